#!/usr/bin/env bash
# Where the instructions of one request go: vwr (one worker) under callgrind, counters zeroed
# after a warm-up and dumped after exactly REQUESTS requests of each kind, and the dump read
# by component (callgrind_components.py). Instruction and allocation counts do not depend on
# what else the machine runs, unlike requests per second: this is the measure to compare two
# versions of the code with on a shared machine. The kernel's share (syscalls) is not in
# callgrind's count: SYSCALLS=1 also counts the system calls per request with strace, on a vwr
# run without valgrind.
#
# Targets (the same requests as compare-nginx.sh):
#   status  GET  /api/v1/rooms/poll/status  X-VWR-Ticket of a waiting ticket, keep-alive
#   tracer  POST /TRACERAPI/inputQueue.do   the legacy client's poll of a waiting identity
#   join    POST /api/v1/rooms/crowd/join   a join left waiting, journaled (store.fsync FSYNC)
#
# Usage: bench/load/profile-requests.sh [TARGET...]     (default: status tracer join)
# Environment: VWR_BINARY [<repo>/build/vwr]  REQUESTS [5000]  WARMUP_REQUESTS [1000]
#   CONNECTIONS [8]  FSYNC [interval]  TOP [0: the N most expensive functions too]
#   OUT [none: a directory to keep the callgrind files in]  SYSCALLS [0]
set -euo pipefail

bench_name=profile-requests
# shellcheck source=bench/load/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
REQUESTS=${REQUESTS:-5000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-1000}
CONNECTIONS=${CONNECTIONS:-8}
FSYNC=${FSYNC:-interval}
TOP=${TOP:-0}
OUT=${OUT:-}
SYSCALLS=${SYSCALLS:-0}
targets=("$@")
((${#targets[@]} > 0)) || targets=(status tracer join)

command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
[[ -x $VWR_BINARY ]] || die "no vwr binary at $VWR_BINARY"
((SYSCALLS == 0)) || command -v strace >/dev/null || die "strace not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-profile.XXXXXX")
vwr_pid=""
cleanup() {
  if [[ -n $vwr_pid ]] && kill -0 "$vwr_pid" 2>/dev/null; then
    kill -TERM "$vwr_pid" 2>/dev/null || true
    wait "$vwr_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/vwr.yaml" <<EOF
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
store: { fsync: $FSYNC, fsync_interval: 10ms }
rooms:
  - id: poll
    max_active: 1
    admit_rate: 0.001
    burst: 1
    queue_limit: 0
    session_timeout: 7d
    claim_grace: 1h
  - id: crowd
    max_active: 1
    admit_rate: 0.001
    burst: 1
    queue_limit: 0
    session_timeout: 7d
    claim_grace: 1h
    protection: { joins_per_ip: 0 }
EOF
tracer_form="host=shop.example.com&ip=10.1.2.3&loginId=bench-waiter&port=443"
tracer_form+="&pageUrl=https%3A%2F%2Fshop.example.com%2F&userAgent=Mozilla%2F5.0"

start_vwr() {  # wrapper...: starts vwr (one worker) under the given wrapper, sets url
  rm -rf "$tmp/data" "$tmp/vwr.log"
  "$@" "$VWR_BINARY" serve --config "$tmp/vwr.yaml" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --data-dir "$tmp/data" --workers 1 >"$tmp/vwr.log" 2>&1 &
  vwr_pid=$!
  local deadline=$((SECONDS + 180))
  until grep -q 'vwr started' "$tmp/vwr.log" 2>/dev/null; do
    kill -0 "$vwr_pid" 2>/dev/null || { cat "$tmp/vwr.log" >&2; die "vwr exited during start-up"; }
    ((SECONDS < deadline)) || die "vwr did not start within 180 s"
    sleep 0.2
  done
  url="http://$(grep -o 'public listener on http://[^ ]*' "$tmp/vwr.log" | head -n 1 |
    sed 's|.*http://||')"
  curl -sf -X POST "$url/api/v1/rooms/poll/join" >/dev/null || die "the first join failed"
  curl -sf -X POST "$url/api/v1/rooms/crowd/join" >/dev/null || die "the first join failed"
  ticket=$(curl -sf -X POST "$url/api/v1/rooms/poll/join" |
    python3 -c 'import json, sys; a = json.load(sys.stdin); assert a["status"] == "waiting"; print(a["ticket"])')
  curl -sf -d "$tracer_form" "$url/TRACERAPI/inputQueue.do" | grep -q 'isWait" type="String">T<' ||
    die "the TRACER identity is not waiting"
}

stop_vwr() {
  kill -TERM "$vwr_pid" 2>/dev/null || true
  wait "$vwr_pid" 2>/dev/null || true
  vwr_pid=""
}

drive() {  # target requests
  local target=$1 n=$2
  case "$target" in
    status)
      python3 "$here/drive.py" "$url/api/v1/rooms/poll/status" --requests "$n" \
        --connections "$CONNECTIONS" --header "X-VWR-Ticket: $ticket" --contains '"waiting"' ;;
    tracer)
      python3 "$here/drive.py" "$url/TRACERAPI/inputQueue.do" --requests "$n" \
        --connections "$CONNECTIONS" --method POST --body "$tracer_form" \
        --contains 'isWait" type="String">T<' ;;
    join)
      python3 "$here/drive.py" "$url/api/v1/rooms/crowd/join" --requests "$n" \
        --connections "$CONNECTIONS" --method POST --contains '"waiting"' ;;
    *) die "unknown target $target (status, tracer, join)" ;;
  esac
}

echo "vwr: $("$VWR_BINARY" --version 2>&1 | head -n 1), 1 worker, store.fsync $FSYNC;" \
  "$REQUESTS requests per target after $WARMUP_REQUESTS of warm-up, $CONNECTIONS keep-alive connections"
start_vwr valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.%p" --dump-instr=no
for target in "${targets[@]}"; do
  drive "$target" "$WARMUP_REQUESTS" >/dev/null
  callgrind_control -z "$vwr_pid" >/dev/null
  drive "$target" "$REQUESTS" >/dev/null
  callgrind_control -d "$target" "$vwr_pid" >/dev/null
  dump=$(ls -t "$tmp"/callgrind.*.[0-9]* | head -n 1)
  echo
  echo "== $target"
  python3 "$here/callgrind_components.py" "$dump" "$REQUESTS" --top "$TOP"
  [[ -z $OUT ]] || { mkdir -p "$OUT"; cp "$dump" "$OUT/callgrind.$target"; }
done
stop_vwr

if ((SYSCALLS)); then
  start_vwr
  for target in "${targets[@]}"; do
    drive "$target" "$WARMUP_REQUESTS" >/dev/null
    strace -c -f -p "$vwr_pid" -o "$tmp/strace.$target" 2>/dev/null &
    strace_pid=$!
    # The measured requests start once strace traces every thread.
    until ! grep -q '^TracerPid:[[:space:]]*0$' /proc/"$vwr_pid"/task/*/status; do sleep 0.05; done
    drive "$target" "$REQUESTS" >/dev/null
    kill -INT "$strace_pid"
    wait "$strace_pid" 2>/dev/null || true
    echo
    echo "== $target: system calls per request (strace -c, every thread)"
    # Columns: % time, seconds, usecs/call, calls, [errors], syscall.
    awk -v n="$REQUESTS" '$1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / n >= 0.005 {
        printf "  %-14s %.2f\n", $NF, $4 / n }' "$tmp/strace.$target"
  done
  stop_vwr
fi
