#!/usr/bin/env bash
# How many waiting people one node holds: runs `vwr loadgen` against one `vwr serve` for each
# crowd size given, everybody kept waiting and polling at one fixed interval, and prints the
# poll rate and p99 poll latency of each run (docs/capacity.md).
#
# Usage: bench/load/capacity.sh INTERVAL N [N ...]
#   e.g. bench/load/capacity.sh 5s 50000 100000 150000
#
# Each run: a fresh vwr (embedded store, one room: max_active 1, admit_rate 0.001, poll.min =
# poll.max = INTERVAL, so pollAfterMs is INTERVAL ±10 %), N people joining evenly over two poll
# intervals (or faster than JOIN_RATE a second: longer), so that their polls are spread over the
# interval as a day's arrivals spread them, then everybody polling until HOLD seconds after the
# last join. The p99 is over every poll of the run, the joining included. vwr and loadgen are
# pinned to different cores (taskset), so that neither steals the other's CPU and the figure is
# one core of vwr's.
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  VWR_CPU [0]  LOADGEN_CPU [1]  VWR_WORKERS [1]
#   LOADGEN_THREADS [1]  CONNECTIONS [256]  JOIN_RATE [20000]  HOLD [30]
#   FSYNC [interval]: store.fsync of the node
#   OUT [none]: a directory to keep each run's JSON and HTML report in
#   PIN [1]: 0 runs both without taskset, free to move between the cores (then VWR_WORKERS 2
#     is the node's default: one worker per core)
#   NICE [0]: run vwr and loadgen at this nice level; on a machine shared with builds, -10 (as
#     root) keeps them from waiting behind the compilers on their pinned cores
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
VWR_CPU=${VWR_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
VWR_WORKERS=${VWR_WORKERS:-1}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-256}
JOIN_RATE=${JOIN_RATE:-20000}
HOLD=${HOLD:-30}
FSYNC=${FSYNC:-interval}
OUT=${OUT:-}
NICE=${NICE:-0}
PIN=${PIN:-1}

(($# >= 2)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
interval=$1
shift
[[ -x $VWR_BINARY ]] || { echo "capacity: no vwr binary at $VWR_BINARY" >&2; exit 1; }
command -v taskset >/dev/null || { echo "capacity: taskset not found (util-linux)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-capacity.XXXXXX")
vwr_pid=""
cleanup() {
  local rc=$?
  if [[ -n $vwr_pid ]] && kill -0 "$vwr_pid" 2>/dev/null; then
    kill -TERM "$vwr_pid" 2>/dev/null || true
    wait "$vwr_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat >"$tmp/vwr.yaml" <<EOF
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
store:
  fsync: $FSYNC
rooms:
  - id: hold
    max_active: 1
    admit_rate: 0.001
    burst: 1
    queue_limit: 0
    session_timeout: 7d
    claim_grace: 1h
    poll: { min: $interval, max: $interval }
    protection: { joins_per_ip: 0 }
EOF

printf '%-9s %9s %10s %10s %10s %10s %8s %10s\n' interval people "polls/s" "p50 ms" "p99 ms" \
  "join p99" errors "vwr RSS MB"
for n in "$@"; do
  rm -rf "$tmp/data"
  vwr_on=(taskset -c "$VWR_CPU")
  loadgen_on=(taskset -c "$LOADGEN_CPU")
  if [[ $PIN == 0 ]]; then vwr_on=(); loadgen_on=(); fi
  nice -n "$NICE" "${vwr_on[@]}" "$VWR_BINARY" serve --config "$tmp/vwr.yaml" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --data-dir "$tmp/data" --workers "$VWR_WORKERS" \
    >"$tmp/vwr.log" 2>&1 &
  vwr_pid=$!
  url=""
  for _ in $(seq 150); do
    url=$(sed -n 's/.*public listener on \(http:[^ "]*\).*/\1/p' "$tmp/vwr.log" 2>/dev/null |
      head -n 1 || true)
    [[ -n $url ]] && grep -q "vwr started" "$tmp/vwr.log" && break
    sleep 0.1
  done
  [[ -n $url ]] || { cat "$tmp/vwr.log" >&2; echo "capacity: vwr did not start" >&2; exit 1; }
  interval_s=$(awk -v t="$interval" 'BEGIN { v = t + 0; if (t ~ /ms$/) v /= 1000; else if (t ~ /m$/) v *= 60; print v }')
  join_s=$(awk -v n="$n" -v r="$JOIN_RATE" -v i="$interval_s" 'BEGIN { s = n / r; if (s < 2 * i) s = 2 * i; printf "%d", s + 0.999 }')
  rate=$(awk -v n="$n" -v s="$join_s" 'BEGIN { printf "%.3f", n / s }')
  nice -n "$NICE" "${loadgen_on[@]}" "$VWR_BINARY" loadgen --target "$url" --room hold \
    --arrivals "poisson:$rate" --people "$n" --duration "$((join_s + HOLD))s" \
    --threads "$LOADGEN_THREADS" --connections "$CONNECTIONS" --quiet \
    --json "$tmp/report.json" ${OUT:+--html "$OUT/capacity-$interval-$n.html"} >"$tmp/loadgen.log"
  rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$vwr_pid/status")
  if [[ -n $OUT ]]; then cp "$tmp/report.json" "$OUT/capacity-$interval-$n.json"; fi
  python3 - "$tmp/report.json" "$interval" "$n" "$HOLD" "$rss" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
interval, n, hold, rss = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = r["series"]["by_endpoint"]["status"]
steady = s[-hold:-1] if len(s) > hold else s  # the seconds after the last join
polls = sum(steady) / max(1, len(steady))
st = r["latency_ms"].get("status", {})
jn = r["latency_ms"].get("join", {})
print("%-9s %9d %10.0f %10.2f %10.2f %10.2f %8d %10s" % (
    interval, r["arrived"], polls, st.get("p50", 0), st.get("p99", 0), jn.get("p99", 0),
    r["errors"], rss))
EOF
  kill -TERM "$vwr_pid" 2>/dev/null || true
  wait "$vwr_pid" 2>/dev/null || true
  vwr_pid=""
done
