#!/usr/bin/env bash
# Join throughput of the durable embedded store under each fsync mode, in the same run, as a
# ratio to `never` (the journal written to the OS, never synced). Every join is journaled and
# its answer waits until the record is durable in the mode's sense (docs/operations.md).
#
# Usage: bench/load/journal-fsync.sh
# Environment: VWR_BINARY [<repo>/build/vwr]  WRK_THREADS [2]  WRK_CONNECTIONS [64]
#              DURATION [10s]  MODES ["never interval always"]  INTERVAL_TARGET [0.8]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
DURATION=${DURATION:-10s}
MODES=${MODES:-"never interval always"}
INTERVAL_TARGET=${INTERVAL_TARGET:-0.8}

tmp=$(mktemp -d /tmp/vwr-journal-fsync.XXXXXX)
vwr_pid=""
cleanup() {
  if [[ -n $vwr_pid ]]; then
    kill "$vwr_pid" 2>/dev/null || true
    wait "$vwr_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

declare -A rps
for mode in $MODES; do
  rm -rf "$tmp/data"
  cat >"$tmp/vwr.yaml" <<EOF
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
store: { fsync: $mode, fsync_interval: 10ms }
rooms:
  - id: crowd
    max_active: 1
    admit_rate: 0.001
    burst: 1
EOF
  "$VWR_BINARY" serve --config "$tmp/vwr.yaml" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --data-dir "$tmp/data" 2>"$tmp/vwr.log" &
  vwr_pid=$!
  for _ in $(seq 150); do
    grep -q 'vwr started' "$tmp/vwr.log" && break
    sleep 0.1
  done
  grep -q 'vwr started' "$tmp/vwr.log" || { cat "$tmp/vwr.log" >&2; exit 1; }
  url=$(grep -o 'public listener on http://[^ ]*' "$tmp/vwr.log" | sed 's/.*on //')
  out=$(WRK_METHOD=POST timeout -s INT 60 wrk -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" \
          -d "$DURATION" --timeout 5s -s "$here/wrk.lua" "$url/api/v1/rooms/crowd/join")
  line=$(grep '^WRK_RESULT' <<<"$out")
  rps[$mode]=$(sed 's/.* rps=\([0-9.]*\).*/\1/' <<<"$line")
  p99=$(sed 's/.* p99_us=\([0-9]*\).*/\1/' <<<"$line")
  printf '%-9s joins/s %10.0f   p99 %6.2f ms\n' "$mode" "${rps[$mode]}" "$(bc -l <<<"$p99/1000")"
  kill -TERM "$vwr_pid"
  wait "$vwr_pid" || true
  vwr_pid=""
done

if [[ -n ${rps[never]:-} ]]; then
  for mode in $MODES; do
    [[ $mode == never ]] && continue
    ratio=$(bc -l <<<"${rps[$mode]}/${rps[never]}")
    note=""
    [[ $mode == interval ]] && note=" (target >= $INTERVAL_TARGET)"
    printf '%s/never = %.2f%s\n' "$mode" "$ratio" "$note"
  done
fi
