#!/usr/bin/env bash
# Replays the incident hour (`vwr loadgen --scenario incident-2025-01`) against one fresh
# `vwr serve` (embedded store) on this machine, and keeps its report (docs/capacity.md, "The
# incident hour").
#
# Usage: bench/load/incident.sh [OUT_DIR]
#   OUT_DIR [.]: where incident-SCALE.json and incident-SCALE.html go
#
# The room stands for the protected system of the incident, scaled like the crowd: max_active
# MAX_ACTIVE sessions, admit_rate ADMIT_RATE a second, the default poll bounds (1 s to 30 s).
# The crowd is the preset's (sessions exp:5m, a fifth giving up after 2 minutes, 30 % legacy
# TRACER pages polling every second, half leaving at the end), at SCALE, for DURATION of the
# hour from its top (the flash crowd's rise and peak come in its first minutes), in real time.
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  SCALE [0.1]  DURATION [5m]  MAX_ACTIVE [500]
#   ADMIT_RATE [10]  VWR_WORKERS [0: one per core]  LOADGEN_THREADS [1]  CONNECTIONS [256]
#   NICE [0]: run vwr and loadgen at this nice level (-10 as root on a machine shared with builds)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
SCALE=${SCALE:-0.1}
DURATION=${DURATION:-5m}
MAX_ACTIVE=${MAX_ACTIVE:-500}
ADMIT_RATE=${ADMIT_RATE:-10}
VWR_WORKERS=${VWR_WORKERS:-0}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-256}
NICE=${NICE:-0}
out=${1:-.}
mkdir -p "$out"
[[ -x $VWR_BINARY ]] || { echo "incident: no vwr binary at $VWR_BINARY" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-incident.XXXXXX")
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

# All of the crowd comes from the loopback address: no per-address limits for the rehearsal.
cat >"$tmp/vwr.yaml" <<CONFIG
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
rooms:
  - id: sale
    max_active: $MAX_ACTIVE
    admit_rate: $ADMIT_RATE
    burst: $ADMIT_RATE
    session_timeout: 10m
    claim_grace: 30s
    queue_limit: 0
    protection: { joins_per_ip: 0 }
CONFIG
nice -n "$NICE" "$VWR_BINARY" serve --config "$tmp/vwr.yaml" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --data-dir "$tmp/data" --workers "$VWR_WORKERS" >"$tmp/vwr.log" 2>&1 &
vwr_pid=$!
url=""
for _ in $(seq 150); do
  url=$(sed -n 's/.*public listener on \(http:[^ "]*\).*/\1/p' "$tmp/vwr.log" 2>/dev/null | head -n 1 || true)
  [[ -n $url ]] && grep -q "vwr started" "$tmp/vwr.log" && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$tmp/vwr.log" >&2; echo "incident: vwr did not start" >&2; exit 1; }

nice -n "$NICE" "$VWR_BINARY" loadgen --target "$url" --room sale --scenario incident-2025-01 \
  --scale "$SCALE" --duration "$DURATION" --threads "$LOADGEN_THREADS" \
  --connections "$CONNECTIONS" --json "$out/incident-$SCALE.json" \
  --html "$out/incident-$SCALE.html"
rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$vwr_pid/status")
echo "vwr peak resident memory: $rss MB"
