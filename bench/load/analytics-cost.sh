#!/usr/bin/env bash
# What recording the traffic analysis costs the hot path: waiting polls per second on a vwr with
# analytics on (the default) against one with `analytics.enabled: false`, in the same run.
#
# Two `vwr serve` (embedded store, the same room, each keeping a ticket waiting) run side by
# side; wrk polls one of them at a time (GET /api/v1/rooms/poll/status with X-VWR-Ticket, as
# console-hot-path.sh does) for DURATION. The two alternate in ROUNDS rounds (off then on in
# odd rounds, on then off in even ones, so that a machine slowing down over the run favours
# neither); the script prints each round's figures, the medians and the ratio of the medians
# (on / off). The target is at least 0.95 (docs/benchmarks.md).
#
# Usage: bench/load/analytics-cost.sh [--json FILE]
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  WRK_BINARY [wrk]  WRK_THREADS [1]  WRK_CONNECTIONS [64]
#   DURATION [10s]  WARMUP [2s, 0 = none]  ROUNDS [5]  VWR_WORKERS [0 = one per core]
#
# Builds nothing; starts both nodes on free loopback ports in a temporary directory and stops
# them on exit, whatever happens. Needs wrk, curl and python3.
set -euo pipefail

bench_name=analytics-cost
# shellcheck source=bench/load/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
WRK_BINARY=${WRK_BINARY:-wrk}
WRK_THREADS=${WRK_THREADS:-1}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-5}
VWR_WORKERS=${VWR_WORKERS:-0}

json_out=""
while (($# > 0)); do
  case "$1" in
    --json)
      [[ $# -ge 2 ]] || { echo "--json needs a file name" >&2; exit 2; }
      json_out=$2
      shift 2
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $1 (try --help)" >&2
      exit 2
      ;;
  esac
done

[[ -x $VWR_BINARY ]] || die "no vwr binary at $VWR_BINARY"
command -v "$WRK_BINARY" >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"

duration_s=$(seconds_of "$DURATION")
warmup_s=$(seconds_of "$WARMUP")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-analytics-bench.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a node with analytics on or off; sets public_<mode> and ticket_<mode>.
start() {
  local mode=$1 enabled=true
  [[ $mode == off ]] && enabled=false
  # One room that keeps everyone waiting: the first join takes the only slot, the next waits.
  cat >"$tmp/$mode.yaml" <<EOF
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
analytics:
  enabled: $enabled
rooms:
  - id: poll
    max_active: 1
    admit_rate: 0.001
    burst: 1
    queue_limit: 0
    session_timeout: 7d
    claim_grace: 1h
EOF
  : >"$tmp/$mode.log"
  VWR_ADMIN_TOKEN=analytics-cost-admin-token "$VWR_BINARY" serve --config "$tmp/$mode.yaml" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$tmp/data-$mode" \
    --workers "$VWR_WORKERS" >"$tmp/$mode.log" 2>&1 &
  pids+=($!)
  printf -v "pid_$mode" '%s' "$!"
  local public=""
  for _ in $(seq 150); do
    public=$(sed -n 's/.*public listener on \(http:[^ "]*\).*/\1/p' "$tmp/$mode.log" | head -n 1)
    [[ -n $public ]] && grep -q "vwr started" "$tmp/$mode.log" && break
    sleep 0.1
  done
  [[ -n $public ]] || { cat "$tmp/$mode.log" >&2; die "vwr ($mode) did not start"; }
  curl -sf -X POST "$public/api/v1/rooms/poll/join" >/dev/null || die "the first join failed"
  local ticket
  ticket=$(curl -sf -X POST "$public/api/v1/rooms/poll/join" |
    python3 -c 'import json, sys; a = json.load(sys.stdin); assert a["status"] == "waiting", a; print(a["ticket"])') ||
    die "the second join did not wait"
  printf -v "public_$mode" '%s' "$public"
  printf -v "ticket_$mode" '%s' "$ticket"
}
start on
start off
grep -q "analytics: off" "$tmp/off.log" || die "the second node did not turn analytics off"

# The CPU time node `mode` has used so far, in clock ticks (user + system, /proc/PID/stat).
cpu_ticks() {
  local pid=pid_$1
  awk '{ print $14 + $15 }' "/proc/${!pid}/stat"
}
# wrk's status polls of node `mode` for `seconds`; prints requests/s and the node's CPU time per
# poll in microseconds (fails on any error). The CPU time per poll is what recording costs the
# node itself, whatever else the machine runs; requests/s also moves with the machine's load.
polls() {
  local mode=$1 seconds=$2 out line public ticket cpu_before cpu_after
  public=public_$mode ticket=ticket_$mode
  cpu_before=$(cpu_ticks "$mode")
  out=$(WRK_METHOD=GET WRK_HEADER="X-VWR-Ticket: ${!ticket}" timeout -s INT $((seconds + 30)) \
    "$WRK_BINARY" -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" -d "${seconds}s" --timeout 5s \
    -s "$here/wrk.lua" "${!public}/api/v1/rooms/poll/status")
  line=$(grep '^WRK_RESULT ' <<<"$out") || die "no WRK_RESULT line from wrk"
  local errors
  errors=$(awk '{ n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^errors_/) { split($i, kv, "="); n += kv[2] } print n }' <<<"$line")
  ((errors == 0)) || die "wrk saw errors: $line"
  cpu_after=$(cpu_ticks "$mode")
  awk -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["rps"], ticks / hz * 1e6 / v["requests"] }' <<<"$line"
}
run() {
  if ((warmup_s > 0)); then polls "$1" "$warmup_s" >/dev/null; fi
  polls "$1" "$duration_s"
}

echo "$("$VWR_BINARY" --version 2>/dev/null | head -n 1), $(nproc) cores; wrk -t$WRK_THREADS" \
  "-c$WRK_CONNECTIONS, $DURATION per run, $ROUNDS rounds"
printf '%-6s %14s %14s %7s %13s %13s\n' round "polls/s off" "polls/s on" "on/off" \
  "CPU µs/poll off" "on"
offs=() ons=() cpu_offs=() cpu_ons=()
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2 == 1)); then
    read -r off cpu_off < <(run off)
    read -r on cpu_on < <(run on)
  else
    read -r on cpu_on < <(run on)
    read -r off cpu_off < <(run off)
  fi
  offs+=("$off") ons+=("$on") cpu_offs+=("$cpu_off") cpu_ons+=("$cpu_on")
  printf '%-6s %14.0f %14.0f %7.3f %13.2f %13.2f\n' "$r" "$off" "$on" \
    "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')" "$cpu_off" "$cpu_on"
done

# The node with analytics on counted every poll it answered.
counted=$(curl -sf -H "Authorization: Bearer analytics-cost-admin-token" \
  "$(sed -n 's/.*admin listener on \(http:[^ "]*\).*/\1/p' "$tmp/on.log" | head -n 1)/admin/api/v1/stats?room=poll&step=1h&metrics=status_polls&from=$(($(date +%s) - 7200))" |
  python3 -c 'import json, sys; print(sum(v for _, v in json.load(sys.stdin)["series"]["status_polls"]))')
echo "polls counted by the node with analytics on: $counted"

python3 - "$json_out" "$DURATION" "${offs[*]}" "${ons[*]}" "${cpu_offs[*]}" "${cpu_ons[*]}" <<'EOF'
import json, statistics, sys
out, duration = sys.argv[1], sys.argv[2]
off = [float(x) for x in sys.argv[3].split()]
on = [float(x) for x in sys.argv[4].split()]
cpu_off = [float(x) for x in sys.argv[5].split()]
cpu_on = [float(x) for x in sys.argv[6].split()]
m_off, m_on = statistics.median(off), statistics.median(on)
ratios = [b / a for a, b in zip(off, on)]
print("median %14.0f %14.0f %7.3f   (ratio of the medians)" % (m_off, m_on, m_on / m_off))
print("per-round ratios: median %.3f, from %.3f to %.3f"
      % (statistics.median(ratios), min(ratios), max(ratios)))
c_off, c_on = statistics.median(cpu_off), statistics.median(cpu_on)
print("CPU time per poll: median %.2f µs off, %.2f µs on: polls per CPU second on/off %.3f"
      % (c_off, c_on, c_off / c_on))
if out:
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"duration": duration, "polls_per_second_off": off, "polls_per_second_on": on,
                   "median_off": m_off, "median_on": m_on, "ratio_of_medians": m_on / m_off,
                   "round_ratios": ratios, "cpu_us_per_poll_off": cpu_off,
                   "cpu_us_per_poll_on": cpu_on, "cpu_ratio": c_off / c_on}, f, indent=2)
EOF
