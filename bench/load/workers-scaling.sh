#!/usr/bin/env bash
# Status polls with 1 and with 2 workers, vwr and wrk pinned to core sets with taskset, in
# interleaved rounds; prints requests/s and the server's CPU per request for each layout.
#
# Layouts (VWR_CPUS/WRK_CPUS per layout, as taskset -c lists):
#   1w      one worker on SERVER_CPUS_1, wrk on WRK_CPUS
#   2w      two workers on SERVER_CPUS_2, wrk on WRK_CPUS_2
#   2w-1c   two workers sharing SERVER_CPUS_1 (the same CPU as 1w): what a second worker costs
#           when it brings no core of its own
# On a machine with 4 cores or more, set SERVER_CPUS_2=0,1 WRK_CPUS=2,3 WRK_CPUS_2=2,3 to give
# the load generator a separate core set in every layout (the 2-worker goal is >= 1.8 x 1w).
#
# Usage: bench/load/workers-scaling.sh
# Environment: VWR_BINARY [<repo>/build/vwr]  ROUNDS [3]  DURATION [10s]  CONNECTIONS [64]
#   SERVER_CPUS_1 [0]  SERVER_CPUS_2 [0,1]  WRK_CPUS [1]  WRK_CPUS_2 [0,1]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPUS_1=${SERVER_CPUS_1:-0}
SERVER_CPUS_2=${SERVER_CPUS_2:-0,1}
WRK_CPUS=${WRK_CPUS:-1}
WRK_CPUS_2=${WRK_CPUS_2:-0,1}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-workers.XXXXXX")
vwr_pid=""
cleanup() {
  if [[ -n $vwr_pid ]]; then
    kill -TERM "$vwr_pid" 2>/dev/null || true
    wait "$vwr_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/vwr.yaml" <<'EOF'
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

clk_tck=$(getconf CLK_TCK)
run() {  # layout workers server_cpus wrk_cpus wrk_threads
  local layout=$1 workers=$2 server_cpus=$3 wrk_cpus=$4 threads=$5
  rm -rf "$tmp/data" "$tmp/vwr.log"
  taskset -c "$server_cpus" "$VWR_BINARY" serve --config "$tmp/vwr.yaml" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$tmp/data" \
    --workers "$workers" >"$tmp/vwr.log" 2>&1 &
  vwr_pid=$!
  for _ in $(seq 300); do
    grep -q 'vwr started' "$tmp/vwr.log" 2>/dev/null && break
    sleep 0.05
  done
  local url
  url=$(grep -o 'public listener on http://[^ ]*' "$tmp/vwr.log" | sed 's/.*on //')
  curl -sf -X POST "$url/api/v1/rooms/poll/join" >/dev/null
  local ticket
  ticket=$(curl -sf -X POST "$url/api/v1/rooms/poll/join" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["ticket"])')
  export WRK_HEADER="X-VWR-Ticket: $ticket"
  taskset -c "$wrk_cpus" wrk -t "$threads" -c "$CONNECTIONS" -d 2s -s "$here/wrk.lua" \
    "$url/api/v1/rooms/poll/status" >/dev/null
  local before after line
  before=$(awk '{ print $14 + $15 }' "/proc/$vwr_pid/stat")
  line=$(taskset -c "$wrk_cpus" wrk -t "$threads" -c "$CONNECTIONS" -d "$DURATION" \
    -s "$here/wrk.lua" "$url/api/v1/rooms/poll/status" | grep '^WRK_RESULT')
  after=$(awk '{ print $14 + $15 }' "/proc/$vwr_pid/stat")
  kill -TERM "$vwr_pid"
  wait "$vwr_pid" 2>/dev/null || true
  vwr_pid=""
  local rps requests
  rps=$(sed 's/.* rps=\([0-9.]*\).*/\1/' <<<"$line")
  requests=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")
  printf '%-6s workers %s on cpu %-4s wrk -t%s on cpu %-4s %9.0f polls/s  %5.2f cpu us/poll\n' \
    "$layout" "$workers" "$server_cpus" "$threads" "$wrk_cpus" "$rps" \
    "$(bc -l <<<"($after - $before) * 1000000 / $clk_tck / $requests")"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
for round in $(seq "$ROUNDS"); do
  echo "round $round"
  run 1w 1 "$SERVER_CPUS_1" "$WRK_CPUS" 1
  run 2w 2 "$SERVER_CPUS_2" "$WRK_CPUS_2" 2
  run 2w-1c 2 "$SERVER_CPUS_1" "$WRK_CPUS" 1
done
