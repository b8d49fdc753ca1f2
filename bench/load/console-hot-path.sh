#!/usr/bin/env bash
# Whether an open operator console costs the public listener anything: waiting polls per second
# on one vwr, with and without consoles polling its admin listener, in the same run.
#
# One `vwr serve` (embedded store) keeps a ticket waiting in room "poll"; wrk polls its status
# (GET /api/v1/rooms/poll/status with X-VWR-Ticket, as compare-nginx.sh's `status` target) for
# DURATION, once with no console and once with CONSOLES consoles open on the room's page. A
# console does what the page does (web/console/console.js, roomView): the live stream
# (GET /admin/api/v1/live) open all along, and every 5 s the room list, the control state, the
# signals, the rules and the last 30 s of the series the stream does not carry. The two runs alternate in ROUNDS rounds (off then on in odd rounds,
# on then off in even ones, so that a machine slowing down over the run favours neither), and
# the script prints each round's figures, the medians and the ratio of the medians (on / off):
# 1.00 means the console costs the hot path nothing. It also reads from /metrics how much handler
# time vwr spent on the consoles' requests per second, which the noise of a shared machine
# does not blur. The consoles run at nice 19 (they stand for browsers elsewhere).
#
# Usage: bench/load/console-hot-path.sh [--json FILE]
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  WRK_BINARY [wrk]  WRK_THREADS [1]  WRK_CONNECTIONS [64]
#   DURATION [10s]  WARMUP [2s, 0 = none]  ROUNDS [5]  CONSOLES [3]
#   VWR_WORKERS [0 = one per core]
#
# Builds nothing; starts vwr on free loopback ports in a temporary directory and stops it (and
# the consoles) on exit, whatever happens. Needs wrk, curl and python3.
set -euo pipefail

bench_name=console-hot-path
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
CONSOLES=${CONSOLES:-3}
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-console-bench.XXXXXX")
vwr_pid=""
consoles_pid=""
cleanup() {
  local rc=$?
  for pid in $consoles_pid $vwr_pid; do
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

# One room that keeps everyone waiting: the first join takes the only slot, the next waits.
cat >"$tmp/vwr.yaml" <<EOF
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
rooms:
  - id: poll
    max_active: 1
    admit_rate: 0.001
    burst: 1
    queue_limit: 0
    session_timeout: 7d
    claim_grace: 1h
EOF
admin_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
: >"$tmp/vwr.log"
VWR_ADMIN_TOKEN=$admin_token "$VWR_BINARY" serve --config "$tmp/vwr.yaml" \
  --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$tmp/data" \
  --workers "$VWR_WORKERS" >"$tmp/vwr.log" 2>&1 &
vwr_pid=$!
public="" admin=""
for _ in $(seq 150); do
  public=$(sed -n 's/.*public listener on \(http:[^ "]*\).*/\1/p' "$tmp/vwr.log" | head -n 1)
  admin=$(sed -n 's/.*admin listener on \(http:[^ "]*\).*/\1/p' "$tmp/vwr.log" | head -n 1)
  [[ -n $public && -n $admin ]] && grep -q "vwr started" "$tmp/vwr.log" && break
  kill -0 "$vwr_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $public && -n $admin ]] || { cat "$tmp/vwr.log" >&2; die "vwr did not start"; }

curl -sf -X POST "$public/api/v1/rooms/poll/join" >/dev/null || die "the first join failed"
ticket=$(curl -sf -X POST "$public/api/v1/rooms/poll/join" |
  python3 -c 'import json, sys; a = json.load(sys.stdin); assert a["status"] == "waiting", a; print(a["ticket"])') ||
  die "the second join did not wait"

# The consoles: each does what the room page does (web/console/console.js, roomView): reads
# the last 15 minutes once, keeps GET /admin/api/v1/live open and reads its events, and every
# 5 s asks the room list, the control state, the signals, the rules and the last 30 s of the
# series the live event does not carry. On SIGTERM it prints how many answers and live events
# it had and how many requests were not 200.
cat >"$tmp/consoles.py" <<'EOF'
import http.client, signal, sys, threading, time, urllib.parse

admin, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
series = ("requests_join,status_polls,requests_heartbeat,requests_verify,requests_pages,joins,"
          "admitted_now,admitted_from_line,admit_rate,waiting,active,max_active,wait_time_p50,"
          "wait_time_p95")
side = "requests_join,requests_heartbeat,requests_verify,requests_pages,wait_time_p50,wait_time_p95"
parts = urllib.parse.urlsplit(admin)
headers = {"Authorization": "Bearer " + token}
stop = threading.Event()
answers = [0] * count
events = [0] * count
failed = [0] * count


def connect():
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def stream(i):
    """The live stream, read event by event until stopped."""
    while not stop.is_set():
        conn = connect()
        try:
            conn.request("GET", "/admin/api/v1/live", headers=headers)
            res = conn.getresponse()
            if res.status != 200:
                failed[i] += 1
                res.read()
                stop.wait(1.0)
                continue
            while not stop.is_set():
                line = res.fp.readline()
                if not line:
                    break
                if line.startswith(b"event: stats"):
                    events[i] += 1
        except (OSError, http.client.HTTPException):
            if not stop.is_set():
                failed[i] += 1
        finally:
            conn.close()


def console(i):
    conn = connect()
    threading.Thread(target=stream, args=(i,), daemon=True).start()
    first = True
    while not stop.is_set():
        started = time.monotonic()
        now = int(time.time())
        paths = ["/admin/api/v1/rooms", "/admin/api/v1/control?room=poll&limit=20",
                 "/admin/api/v1/signals", "/admin/api/v1/rules",
                 "/admin/api/v1/stats?room=poll&step=1s&from=%d&to=%d&metrics=%s"
                 % (now - 30, now + 1, side)]
        if first:
            paths.append("/admin/api/v1/stats?room=poll&step=1s&from=%d&to=%d&metrics=%s"
                         % (now - 900, now + 1, series))
            first = False
        for path in paths:
            try:
                conn.request("GET", path, headers=headers)
                res = conn.getresponse()
                res.read()
                answers[i] += 1
                failed[i] += res.status != 200
            except (OSError, http.client.HTTPException):
                failed[i] += 1
                conn.close()
                conn = connect()
        stop.wait(max(0.0, 5.0 - (time.monotonic() - started)))


signal.signal(signal.SIGTERM, lambda *_: stop.set())
threads = [threading.Thread(target=console, args=(i,)) for i in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("CONSOLES answers=%d events=%d failed=%d cpu_s=%.3f"
      % (sum(answers), sum(events), sum(failed), time.process_time()))
EOF

# wrk's status polls for `seconds`; prints requests/s (and fails on any error).
polls() {
  local seconds=$1 out line
  out=$(WRK_METHOD=GET WRK_HEADER="X-VWR-Ticket: $ticket" timeout -s INT $((seconds + 30)) \
    "$WRK_BINARY" -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" -d "${seconds}s" --timeout 5s \
    -s "$here/wrk.lua" "$public/api/v1/rooms/poll/status")
  line=$(grep '^WRK_RESULT ' <<<"$out") || die "no WRK_RESULT line from wrk"
  local errors
  errors=$(awk '{ n = 0; for (i = 2; i <= NF; i++) if ($i ~ /^errors_/) { split($i, kv, "="); n += kv[2] } print n }' <<<"$line")
  ((errors == 0)) || die "wrk saw errors: $line"
  awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "rps") print kv[2] } }' <<<"$line"
}

# Seconds the node's handlers spent on the console's requests so far (the admin room list
# counts as endpoint "policy", the statistics as "stats", signals, rules and control as
# "control"): vwr_http_request_duration_seconds_sum.
console_handler_seconds() {
  curl -sf "$admin/metrics" | awk '/^vwr_http_request_duration_seconds_sum\{endpoint="(stats|policy|control)"\}/ { s += $2 } END { printf "%.6f", s }'
}
console_cpu_s=0   # handler seconds of the console's requests, over every "on" run
console_wall_s=0  # seconds the consoles ran
client_cpu_s=0    # CPU seconds of the consoles' own process (on this machine, unlike a browser's)

# One measured run, with the consoles off or on: leaves its polls/s in $rps (not run in a
# subshell, so that the cleanup knows the consoles' pid).
rps=""
run() {
  local mode=$1
  local cpu_before started
  if [[ $mode == on ]]; then
    cpu_before=$(console_handler_seconds)
    started=$(date +%s.%N)
    # At nice 19: the consoles stand for browsers on the operators' own machines, so their
    # client side should not take CPU from vwr and wrk here; what vwr spends on their requests
    # is what is measured.
    nice -n 19 python3 "$tmp/consoles.py" "$admin" "$admin_token" "$CONSOLES" \
      >"$tmp/consoles.out" &
    consoles_pid=$!
    sleep 1  # the consoles' first requests are out before the measured run begins
  fi
  ((warmup_s > 0)) && polls "$warmup_s" >/dev/null
  rps=$(polls "$duration_s")
  if [[ $mode == on ]]; then
    local answers events failed
    kill -TERM "$consoles_pid"
    wait "$consoles_pid"
    consoles_pid=""
    console_cpu_s=$(awk -v a="$console_cpu_s" -v b="$cpu_before" -v c="$(console_handler_seconds)" 'BEGIN { printf "%.6f", a + c - b }')
    console_wall_s=$(awk -v a="$console_wall_s" -v t0="$started" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.3f", a + t1 - t0 }')""
    local client_s
    read -r answers events failed client_s < <(sed -n 's/^CONSOLES answers=\([0-9]*\) events=\([0-9]*\) failed=\([0-9]*\) cpu_s=\([0-9.]*\)$/\1 \2 \3 \4/p' "$tmp/consoles.out")
    client_cpu_s=$(awk -v a="$client_cpu_s" -v b="$client_s" 'BEGIN { printf "%.3f", a + b }')
    ((failed == 0)) || die "the consoles had $failed failed requests"
    ((events >= CONSOLES * (duration_s - 1))) ||
      die "the consoles had only $events live events in ${duration_s}s"
    ((answers >= CONSOLES * (duration_s / 5))) ||
      die "the consoles made only $answers requests in ${duration_s}s"
  fi
}

echo "$("$VWR_BINARY" --version 2>/dev/null | head -n 1), $(nproc) cores; wrk -t$WRK_THREADS" \
  "-c$WRK_CONNECTIONS, $DURATION per run; $CONSOLES consoles on the room page, $ROUNDS rounds"
printf '%-6s %14s %14s %7s\n' round "polls/s off" "polls/s on" "on/off"
offs=() ons=()
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2 == 1)); then
    run off && off=$rps
    run on && on=$rps
  else
    run on && on=$rps
    run off && off=$rps
  fi
  offs+=("$off")
  ons+=("$on")
  printf '%-6s %14.0f %14.0f %7.3f\n' "$r" "$off" "$on" "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')"
done
curl -sf -H "X-VWR-Ticket: $ticket" "$public/api/v1/rooms/poll/status" | grep -q '"status":"waiting"' ||
  die "the polled ticket stopped waiting"

python3 - "$json_out" "$CONSOLES" "$DURATION" "${offs[*]}" "${ons[*]}" "$console_cpu_s" \
  "$console_wall_s" "$client_cpu_s" <<'EOF'
import json, statistics, sys
out, consoles, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3]
off = [float(x) for x in sys.argv[4].split()]
on = [float(x) for x in sys.argv[5].split()]
cpu_s, wall_s, client_s = float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
m_off, m_on = statistics.median(off), statistics.median(on)
ratios = [b / a for a, b in zip(off, on)]
print("median %14.0f %14.0f %7.3f   (ratio of the medians)" % (m_off, m_on, m_on / m_off))
print("per-round ratios: median %.3f, from %.3f to %.3f"
      % (statistics.median(ratios), min(ratios), max(ratios)))
share = cpu_s / wall_s if wall_s > 0 else 0.0
print("the consoles' requests took %.1f ms of handler time per second they ran (%.2f %% of one "
      "core); the consoles' own process took %.1f ms of CPU per second"
      % (share * 1000, share * 100, client_s / wall_s * 1000 if wall_s > 0 else 0.0))
if out:
    with open(out, "w") as f:
        json.dump({"consoles": consoles, "duration": duration, "polls_per_s_off": off,
                   "polls_per_s_on": on, "median_off": m_off, "median_on": m_on,
                   "ratio": m_on / m_off, "round_ratios": ratios,
                   "median_round_ratio": statistics.median(ratios),
                   "console_handler_ms_per_s": share * 1000,
                   "console_client_cpu_ms_per_s": client_s / wall_s * 1000 if wall_s else 0.0},
                  f, indent=2)
EOF
