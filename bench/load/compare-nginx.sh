#!/usr/bin/env bash
# Measures vwr against nginx on this machine, in the same run, with the same load generator and the
# same load, and prints each vwr figure as a ratio of nginx's (DESIGN.md §7: speed is a ratio to
# nginx, not an absolute number).
#
# Targets, each loaded by wrk for DURATION after a short warm-up:
#   nginx   GET  /                            a fixed JSON body as large as a real status answer
#   status  GET  /api/v1/rooms/poll/status    X-VWR-Ticket: <a real waiting ticket>
#   join    POST /api/v1/rooms/crowd/join     no body; every join is left waiting (flash crowd)
#
# Usage: bench/load/compare-nginx.sh [--json FILE] [--check]
#   --json FILE  also write the results as JSON to FILE
#   --check      exit 1 when a ratio misses its target
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  NGINX_BINARY [/usr/sbin/nginx]  WRK_BINARY [wrk]
#   WRK_THREADS [2]  WRK_CONNECTIONS [64]  DURATION [10s]  WARMUP [2s, 0 = none]
#   VWR_WORKERS [0 = one per core]  STATUS_TARGET [0.8]  JOIN_TARGET [0.5]
#   VWR_STORE [embedded]: "redis" runs vwr with store.kind redis on a redis-server this script
#     starts on a free loopback port (AOF off: the Redis side is not what is measured)
#
# Builds nothing; starts vwr and nginx on free loopback ports in a temporary directory, and stops
# both (and removes the directory) on exit, whatever happens.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}
WRK_BINARY=${WRK_BINARY:-wrk}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
VWR_WORKERS=${VWR_WORKERS:-0}
STATUS_TARGET=${STATUS_TARGET:-0.8}
JOIN_TARGET=${JOIN_TARGET:-0.5}
readonly start_timeout_s=15

json_out=""
check=0
while (($# > 0)); do
  case "$1" in
    --json)
      [[ $# -ge 2 ]] || { echo "--json needs a file name" >&2; exit 2; }
      json_out=$2
      shift 2
      ;;
    --check)
      check=1
      shift
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

die() {
  echo "compare-nginx: $*" >&2
  exit 1
}

# "10s", "2m", "1h" or a plain number of seconds (as wrk reads them) -> whole seconds.
seconds_of() {
  local text=$1
  if [[ $text =~ ^([0-9]+)(s|m|h)?$ ]]; then
    local n=${BASH_REMATCH[1]}
    case "${BASH_REMATCH[2]}" in
      m) echo $((n * 60)) ;;
      h) echo $((n * 3600)) ;;
      *) echo "$n" ;;
    esac
  else
    die "cannot read the duration \"$text\" (use e.g. 10s, 2m)"
  fi
}

duration_s=$(seconds_of "$DURATION")
warmup_s=$(seconds_of "$WARMUP")
((duration_s > 0)) || die "DURATION must be at least 1s"
[[ -x $VWR_BINARY ]] || die "no vwr binary at $VWR_BINARY (build first, or set VWR_BINARY)"
[[ -x $NGINX_BINARY ]] || die "no nginx at $NGINX_BINARY (apt-get install nginx-light, or set NGINX_BINARY)"
command -v "$WRK_BINARY" >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-compare-nginx.XXXXXX")
vwr_pid=""
nginx_pid=""

stop() {  # pid name: SIGTERM, up to 5 s to exit, then SIGKILL
  local pid=$1 name=$2
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "compare-nginx: $name did not stop in 5 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$nginx_pid" nginx
  stop "$vwr_pid" vwr
  stop "${redis_pid:-}" redis-server
  if ((rc != 0)) && [[ -f $tmp/vwr.log ]]; then
    echo "--- last lines of the vwr log ---" >&2
    tail -n 20 "$tmp/vwr.log" >&2 || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------------------------
# vwr: two rooms that keep everyone waiting. "poll" holds the ticket whose status is polled;
# "crowd" takes the joins, each of which is issued a waiting ticket (the flash-crowd case).

# Like the nginx side: no cap on requests per keep-alive connection, and wrk's many connections
# all come from one address, so no per-IP connection cap either.
cat >"$tmp/vwr.yaml" <<'EOF'
server:
  limits: { max_requests_per_connection: 0, max_connections_per_ip: 0 }
rooms:
  - id: poll
    max_active: 1          # taken by the first join: everyone after it waits
    admit_rate: 0.001      # nobody is called during a run
    burst: 1
    queue_limit: 0         # unlimited
    session_timeout: 7d
    claim_grace: 1h
  - id: crowd
    max_active: 1
    admit_rate: 0.001
    burst: 1
    queue_limit: 0
    session_timeout: 7d
    claim_grace: 1h
EOF

VWR_STORE=${VWR_STORE:-embedded}
redis_pid=""
if [[ $VWR_STORE == redis ]]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
  redis_pid=$!
  deadline=$((SECONDS + start_timeout_s))
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited during start-up"
    ((SECONDS < deadline)) || die "redis-server did not answer within ${start_timeout_s}s"
    sleep 0.05
  done
  printf 'store:\n  kind: redis\n  redis:\n    url: redis://127.0.0.1:%s/0\n' "$redis_port" \
    >>"$tmp/vwr.yaml"
elif [[ $VWR_STORE != embedded ]]; then
  die "VWR_STORE must be embedded or redis, not $VWR_STORE"
fi

"$VWR_BINARY" serve --config "$tmp/vwr.yaml" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --data-dir "$tmp/data" --workers "$VWR_WORKERS" >"$tmp/vwr.log" 2>&1 &
vwr_pid=$!

deadline=$((SECONDS + start_timeout_s))
until grep -q 'vwr started' "$tmp/vwr.log" 2>/dev/null; do
  kill -0 "$vwr_pid" 2>/dev/null || die "vwr exited during start-up"
  ((SECONDS < deadline)) || die "vwr did not log 'vwr started' within ${start_timeout_s}s"
  sleep 0.05
done
vwr_port=$(sed -n 's|.*public listener on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' \
  "$tmp/vwr.log" | head -n 1)
[[ -n $vwr_port ]] || die "no 'public listener on http://127.0.0.1:PORT' line in the vwr log"
vwr_url="http://127.0.0.1:$vwr_port"
# A shared store takes joins once the node has adopted the rooms (its first round trip).
deadline=$((SECONDS + start_timeout_s))
until curl -sf -o /dev/null -X POST "$vwr_url/api/v1/rooms/poll/join"; do
  ((SECONDS < deadline)) || die "vwr did not take joins within ${start_timeout_s}s"
  sleep 0.05
done

# The first join takes the only slot; the second is left waiting: that ticket is polled.
json_field() {  # file key
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
for room in poll crowd; do
  curl -sf -X POST "$vwr_url/api/v1/rooms/$room/join" -o "$tmp/first-$room.json" ||
    die "the first join to room $room failed"
done
curl -sf -X POST "$vwr_url/api/v1/rooms/poll/join" -o "$tmp/join.json" || die "join failed"
[[ $(json_field "$tmp/join.json" status) == waiting ]] || die "the join was not left waiting"
ticket=$(json_field "$tmp/join.json" ticket)

curl -sf -H "X-VWR-Ticket: $ticket" "$vwr_url/api/v1/rooms/poll/status" -o "$tmp/status.json" ||
  die "status poll failed"
[[ $(json_field "$tmp/status.json" status) == waiting ]] || die "the status answer is not 'waiting'"
status_body=$(<"$tmp/status.json")
body_bytes=$(wc -c <"$tmp/status.json" | tr -d ' ')

# ---------------------------------------------------------------------------------------------
# nginx: the same body, byte for byte when it is safe inside an nginx single-quoted string
# (it always is for a status answer: JSON, base64url and digits), else a filler of the same size.

if [[ $status_body =~ ^[][A-Za-z0-9\ \"{},:._-]*$ ]]; then
  nginx_body=$status_body
else
  pad=$((body_bytes - 10))
  nginx_body="{\"pad\":\"$(printf '%*s' "$pad" '' | tr ' ' x)\"}"
fi
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  server_tokens off;
  keepalive_timeout 65s;
  keepalive_requests 1000000000;  # like vwr: never close a busy keep-alive connection
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      default_type application/json;
      add_header Cache-Control no-store;  # vwr sends it too
      return 200 '$nginx_body';
    }
  }
}
EOF
"$NGINX_BINARY" -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" \
  >"$tmp/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
nginx_url="http://127.0.0.1:$nginx_port/"
deadline=$((SECONDS + start_timeout_s))
until curl -sf -o /dev/null "$nginx_url"; do
  if ! kill -0 "$nginx_pid" 2>/dev/null; then
    cat "$tmp/nginx/logs/error.log" >&2 || true
    die "nginx exited during start-up"
  fi
  ((SECONDS < deadline)) || die "nginx did not answer within ${start_timeout_s}s"
  sleep 0.05
done
nginx_bytes=$(curl -sf "$nginx_url" | wc -c | tr -d ' ')

# Whole responses (headers + body) as the client receives them.
response_bytes() {  # url [curl args...]
  local url=$1
  shift
  curl -s -o /dev/null -w '%{size_header} %{size_download}' "$@" "$url" |
    awk '{ print $1 + $2 }'
}
nginx_response_bytes=$(response_bytes "$nginx_url")
status_response_bytes=$(response_bytes "$vwr_url/api/v1/rooms/poll/status" -H "X-VWR-Ticket: $ticket")

# ---------------------------------------------------------------------------------------------
# Load.

# CPU time (user + system, in clock ticks) used so far by a process and its children that are
# still running (nginx: the master and its workers).
clk_tck=$(getconf CLK_TCK)
cpu_ticks() {  # pid
  local pid total=0 f
  for pid in "$1" $(pgrep -P "$1" || true); do
    # Fields after the ") " that ends the command name: state is 1, utime 12, stime 13.
    f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{ print $12 + $13 }' <<<"$f")))
  done
  echo "$total"
}

declare -A rps p50 p90 p99 maxl requests errors cpu_us
run_wrk() {  # name url method header server_pid
  local name=$1 url=$2 method=$3 header=$4 server_pid=$5 out before after
  local -a cmd=("$WRK_BINARY" -t "$WRK_THREADS" -c "$WRK_CONNECTIONS" --timeout 5s
    -s "$here/wrk.lua")
  if ((warmup_s > 0)); then
    WRK_METHOD=$method WRK_HEADER=$header timeout -s INT $((warmup_s + 30)) \
      "${cmd[@]}" -d "${warmup_s}s" "$url" >/dev/null || die "wrk warm-up of $name failed"
  fi
  before=$(cpu_ticks "$server_pid")
  out=$(WRK_METHOD=$method WRK_HEADER=$header timeout -s INT $((duration_s + 30)) \
    "${cmd[@]}" -d "${duration_s}s" "$url") || die "wrk run of $name failed"
  after=$(cpu_ticks "$server_pid")
  local line
  line=$(grep '^WRK_RESULT ' <<<"$out") || die "no WRK_RESULT line from wrk for $name"
  local kv k v
  for kv in ${line#WRK_RESULT }; do
    k=${kv%%=*}
    v=${kv#*=}
    case "$k" in
      rps) rps[$name]=$v ;;
      requests) requests[$name]=$v ;;
      p50_us) p50[$name]=$v ;;
      p90_us) p90[$name]=$v ;;
      p99_us) p99[$name]=$v ;;
      max_us) maxl[$name]=$v ;;
      errors_*) errors[$name]=$((${errors[$name]:-0} + v)) ;;
    esac
  done
  # Server CPU per answered request: less sensitive than requests/s to whatever else runs.
  cpu_us[$name]=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="${requests[$name]}" \
    'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
  kill -0 "$vwr_pid" 2>/dev/null || die "vwr died while loading $name"
  kill -0 "$nginx_pid" 2>/dev/null || die "nginx died while loading $name"
}

vwr_version=$("$VWR_BINARY" --version 2>&1 | head -n 1)
nginx_version=$("$NGINX_BINARY" -v 2>&1 | head -n 1 | sed 's/^nginx version: //')
wrk_version=$({ "$WRK_BINARY" -v 2>&1 || true; } | head -n 1 | awk '{ print $2 }')  # -v exits 1

echo "vwr $vwr_url (${vwr_version}, store: $VWR_STORE, workers: ${VWR_WORKERS} = $([[ $VWR_WORKERS == 0 ]] && echo "one per core" || echo "$VWR_WORKERS"))"
echo "nginx $nginx_url (${nginx_version}, worker_processes auto)"
echo "wrk ${wrk_version}: -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION, warm-up $WARMUP; $(nproc) cores shared by all three"
echo "status answer: $body_bytes bytes of body ($status_response_bytes with headers); nginx: $nginx_bytes ($nginx_response_bytes)"
echo

run_wrk nginx "$nginx_url" GET "" "$nginx_pid"
run_wrk status "$vwr_url/api/v1/rooms/poll/status" GET "X-VWR-Ticket: $ticket" "$vwr_pid"
run_wrk join "$vwr_url/api/v1/rooms/crowd/join" POST "" "$vwr_pid"

# The joins must have produced waiting tickets, and the polled ticket must still be waiting.
curl -sf -X POST "$vwr_url/api/v1/rooms/crowd/join" -o "$tmp/last-join.json" || die "join failed"
[[ $(json_field "$tmp/last-join.json" status) == waiting ]] || die "joins stopped waiting"
curl -sf -H "X-VWR-Ticket: $ticket" "$vwr_url/api/v1/rooms/poll/status" -o "$tmp/status2.json" ||
  die "status poll failed after the load"
[[ $(json_field "$tmp/status2.json" status) == waiting ]] || die "the polled ticket stopped waiting"
queued=$(json_field "$tmp/last-join.json" queueSize)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0 ? "ok" : "MISSED") }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

status_ratio=$(ratio "${rps[status]}" "${rps[nginx]}")
join_ratio=$(ratio "${rps[join]}" "${rps[nginx]}")
status_ok=$(meets "$status_ratio" "$STATUS_TARGET")
join_ok=$(meets "$join_ratio" "$JOIN_TARGET")

printf '%-8s %12s %8s %8s %8s %7s %12s  %s\n' target "requests/s" "p50 ms" "p90 ms" "p99 ms" errors \
  "cpu us/req" "ratio to nginx (requests/s)"
for name in nginx status join; do
  case $name in
    nginx) r="1.00" ;;
    status) r="$status_ratio (target >= $STATUS_TARGET: $status_ok)" ;;
    join) r="$join_ratio (target >= $JOIN_TARGET: $join_ok)" ;;
  esac
  printf '%-8s %12.0f %8s %8s %8s %7s %12s  %s\n' "$name" "${rps[$name]}" "$(ms "${p50[$name]}")" \
    "$(ms "${p90[$name]}")" "$(ms "${p99[$name]}")" "${errors[$name]:-0}" "${cpu_us[$name]}" "$r"
done
echo
echo "status/nginx = $status_ratio"
echo "join/nginx = $join_ratio"
echo "(cpu us/req: CPU time of the server's processes per answered request; the crowd room"
echo " held $queued waiting tickets after the join run)"

if [[ -n $json_out ]]; then
  {
    printf '{\n'
    printf '  "vwr": "%s", "nginx": "%s", "wrk": "%s", "cores": %d,\n' \
      "$vwr_version" "$nginx_version" "$wrk_version" "$(nproc)"
    printf '  "threads": %d, "connections": %d, "duration_s": %d, "body_bytes": %d,\n' \
      "$WRK_THREADS" "$WRK_CONNECTIONS" "$duration_s" "$body_bytes"
    printf '  "results": {\n'
    sep=""
    for name in nginx status join; do
      printf '%s    "%s": {"rps": %s, "requests": %s, "p50_us": %s, "p90_us": %s, "p99_us": %s, "max_us": %s, "errors": %s, "server_cpu_us_per_request": %s}' \
        "$sep" "$name" "${rps[$name]}" "${requests[$name]}" "${p50[$name]}" "${p90[$name]}" \
        "${p99[$name]}" "${maxl[$name]}" "${errors[$name]:-0}" "${cpu_us[$name]}"
      sep=$',\n'
    done
    printf '\n  },\n'
    printf '  "ratios": {"status": %s, "join": %s},\n' "$status_ratio" "$join_ratio"
    printf '  "targets": {"status": %s, "join": %s}\n' "$STATUS_TARGET" "$JOIN_TARGET"
    printf '}\n'
  } >"$json_out"
  echo "results written to $json_out"
fi

if ((check)) && [[ $status_ok != ok || $join_ok != ok ]]; then
  exit 1
fi
