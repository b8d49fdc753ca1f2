#!/usr/bin/env bash
# Measures vwr against nginx on this machine, in the same run, with the same load generator and the
# same load, and prints each vwr figure as a ratio of nginx's (docs/benchmarks.md: speed is a
# ratio to nginx, not an absolute number).
#
# Targets, each loaded by wrk for DURATION after a short warm-up:
#   nginx   GET  /                            a fixed JSON body as large as a real status answer
#   status  GET  /api/v1/rooms/poll/status    X-VWR-Ticket: <a real waiting ticket>
#   tracer  POST /TRACERAPI/inputQueue.do     the legacy client's form: a poll of a waiting identity
#   tracer-bot POST /TRACERAPI/checkBotIp.do  the same form: the legacy client's first call (the
#                                             embedded-store vwr only: it never reaches the store)
#   join    POST /api/v1/rooms/crowd/join     no body; every join is left waiting (flash crowd)
#   status-redis, tracer-redis, join-redis: the same on a vwr whose store is a Redis (VWR_STORES)
#
# Usage: bench/load/compare-nginx.sh [--json FILE] [--check]
#   --json FILE  also write the results as JSON to FILE
#   --check      exit 1 when a ratio misses its target
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  NGINX_BINARY [/usr/sbin/nginx]  WRK_BINARY [wrk]
#   WRK_THREADS [2]  WRK_CONNECTIONS [64]  DURATION [10s]  WARMUP [2s, 0 = none]
#   ROUNDS [1]: run every target this many times, interleaved (nginx, status polls on each
#     store, TRACER polls on each store, joins on each store; then again) and report the median
#     of the rounds: on a shared machine use 3 or more, so that one slow minute does not decide
#   VWR_WORKERS [0 = one per core]  STATUS_TARGET [0.8]  JOIN_TARGET [0.5]
#   TRACER_TARGET [0.6]: TRACER polls as a share of nginx
#   REDIS_STATUS_TARGET [0.9]: status polls on Redis as a share of those on the embedded store
#   REDIS_JOIN_TARGET [0.2]: joins on Redis (one Lua script each) as a share of nginx
#   VWR_STORES ["embedded redis", or "embedded" when redis-server is not installed]: one vwr
#     per store, loaded in turn; "redis" runs vwr with store.kind redis on a redis-server this
#     script starts on a free loopback port (AOF off: the Redis side is not what is measured).
#     Targets on Redis are named status-redis and join-redis.
#
# Builds nothing; starts vwr and nginx on free loopback ports in a temporary directory, and stops
# both (and removes the directory) on exit, whatever happens.
set -euo pipefail

bench_name=compare-nginx
# shellcheck source=bench/load/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
REDIS_STATUS_TARGET=${REDIS_STATUS_TARGET:-0.9}
TRACER_TARGET=${TRACER_TARGET:-0.6}
ROUNDS=${ROUNDS:-1}
REDIS_JOIN_TARGET=${REDIS_JOIN_TARGET:-0.2}
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

duration_s=$(seconds_of "$DURATION")
warmup_s=$(seconds_of "$WARMUP")
((duration_s > 0)) || die "DURATION must be at least 1s"
[[ -x $VWR_BINARY ]] || die "no vwr binary at $VWR_BINARY (build first, or set VWR_BINARY)"
[[ -x $NGINX_BINARY ]] || die "no nginx at $NGINX_BINARY (apt-get install nginx-light, or set NGINX_BINARY)"
command -v "$WRK_BINARY" >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-compare-nginx.XXXXXX")
nginx_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop "$nginx_pid" nginx
  local store
  for store in "${!vwr_pids[@]}"; do
    stop "${vwr_pids[$store]}" "vwr ($store)"
  done
  stop "${redis_pid:-}" redis-server
  if ((rc != 0)); then
    for log in "$tmp"/vwr-*/vwr.log; do
      [[ -f $log ]] || continue
      echo "--- last lines of $(basename "$(dirname "$log")")/vwr.log ---" >&2
      tail -n 20 "$log" >&2 || true
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
declare -A vwr_pids
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# ---------------------------------------------------------------------------------------------
# vwr: two rooms that keep everyone waiting. "poll" holds the ticket whose status is polled;
# "crowd" takes the joins, each of which is issued a waiting ticket (the flash-crowd case).

# Like the nginx side: no cap on requests per keep-alive connection, and wrk's many connections
# all come from one address, so no per-IP connection cap either, and no join limit per address
# in the room that takes the joins.
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
    protection: { joins_per_ip: 0 }
EOF

# Which stores to measure, each on its own vwr process started now and loaded in turn.
if [[ -z ${VWR_STORES:-} ]]; then
  case "${VWR_STORE:-}" in
    "") VWR_STORES="embedded$(command -v redis-server >/dev/null && echo " redis")" ;;
    *) VWR_STORES=$VWR_STORE ;;
  esac
fi
read -r -a stores <<<"$VWR_STORES"
((${#stores[@]} > 0)) || die "VWR_STORES names no store"
for store in "${stores[@]}"; do
  [[ $store == embedded || $store == redis ]] ||
    die "VWR_STORES may name embedded and redis, not $store"
done

declare -A vwr_urls tickets status_bodies
# What the legacy client script posts on every poll of a waiting identity.
tracer_form="host=shop.example.com&ip=10.1.2.3&loginId=bench-waiter&port=443"
tracer_form+="&pageUrl=https%3A%2F%2Fshop.example.com%2F&userAgent=Mozilla%2F5.0"
redis_pid=""

start_redis() {  # -> redis_port; AOF and snapshots off: the Redis side is not what is measured
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
  redis_pid=$!
  local deadline=$((SECONDS + start_timeout_s))
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited during start-up"
    ((SECONDS < deadline)) || die "redis-server did not answer within ${start_timeout_s}s"
    sleep 0.05
  done
}

json_field() {  # file key
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

start_vwr() {  # store
  local store=$1 dir=$tmp/vwr-$1 deadline port url
  mkdir -p "$dir"
  cp "$tmp/vwr.yaml" "$dir/vwr.yaml"
  if [[ $store == redis ]]; then
    command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
    start_redis
    printf 'store:\n  kind: redis\n  redis:\n    url: redis://127.0.0.1:%s/0\n' "$redis_port" \
      >>"$dir/vwr.yaml"
  fi
  "$VWR_BINARY" serve --config "$dir/vwr.yaml" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --data-dir "$dir/data" --workers "$VWR_WORKERS" >"$dir/vwr.log" 2>&1 &
  vwr_pids[$store]=$!
  deadline=$((SECONDS + start_timeout_s))
  until grep -q 'vwr started' "$dir/vwr.log" 2>/dev/null; do
    kill -0 "${vwr_pids[$store]}" 2>/dev/null || die "vwr ($store) exited during start-up"
    ((SECONDS < deadline)) || die "vwr ($store) did not log 'vwr started' within ${start_timeout_s}s"
    sleep 0.05
  done
  port=$(sed -n 's|.*public listener on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' \
    "$dir/vwr.log" | head -n 1)
  [[ -n $port ]] || die "no 'public listener on http://127.0.0.1:PORT' line in the vwr log"
  url="http://127.0.0.1:$port"
  vwr_urls[$store]=$url
  # A shared store takes joins once the node has adopted the rooms (its first round trip).
  deadline=$((SECONDS + start_timeout_s))
  until curl -sf -o /dev/null -X POST "$url/api/v1/rooms/poll/join"; do
    ((SECONDS < deadline)) || die "vwr ($store) did not take joins within ${start_timeout_s}s"
    sleep 0.05
  done
  # The first join takes the only slot; the next is left waiting: that ticket is polled.
  curl -sf -X POST "$url/api/v1/rooms/crowd/join" -o "$dir/first-crowd.json" ||
    die "the first join to room crowd failed ($store)"
  curl -sf -X POST "$url/api/v1/rooms/poll/join" -o "$dir/join.json" || die "join failed ($store)"
  [[ $(json_field "$dir/join.json" status) == waiting ]] || die "the join was not left waiting ($store)"
  tickets[$store]=$(json_field "$dir/join.json" ticket)
  curl -sf -H "X-VWR-Ticket: ${tickets[$store]}" "$url/api/v1/rooms/poll/status" \
    -o "$dir/status.json" || die "status poll failed ($store)"
  [[ $(json_field "$dir/status.json" status) == waiting ]] ||
    die "the status answer is not 'waiting' ($store)"
  status_bodies[$store]=$(<"$dir/status.json")
  # A TRACER client's identity waiting in room "poll" (the first room: no rule matches "/").
  curl -sf -d "$tracer_form" "$url/TRACERAPI/inputQueue.do" -o "$dir/tracer.xml" ||
    die "TRACER inputQueue.do failed ($store)"
  grep -q '<Parameter id="isWait" type="String">T</Parameter>' "$dir/tracer.xml" ||
    die "the TRACER identity is not waiting ($store): $(<"$dir/tracer.xml")"
}

for store in "${stores[@]}"; do
  start_vwr "$store"
done
first=${stores[0]}
vwr_url=${vwr_urls[$first]}
ticket=${tickets[$first]}
status_body=${status_bodies[$first]}
body_bytes=$(printf '%s' "$status_body" | wc -c | tr -d ' ')

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
cpu_ticks() {  # pid... (a space-separated list)
  local pid total=0 f root
  for pid in $(for root in $1; do echo "$root"; pgrep -P "$root" || true; done); do
    # Fields after the ") " that ends the command name: state is 1, utime 12, stime 13.
    f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{ print $12 + $13 }' <<<"$f")))
  done
  echo "$total"
}

# Each run appends to the *_runs lists; the reported figure is the median over the rounds.
declare -A rps p50 p90 p99 maxl requests errors cpu_us
declare -A rps_runs p50_runs p90_runs p99_runs maxl_runs cpu_runs
run_wrk() {  # name url method header server_pid [form body]
  local name=$1 url=$2 method=$3 header=$4 server_pid=$5 out before after
  local WRK_BODY=${6:-} WRK_CONTENT_TYPE=""
  [[ -n $WRK_BODY ]] && WRK_CONTENT_TYPE=application/x-www-form-urlencoded
  export WRK_BODY WRK_CONTENT_TYPE
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
  local kv k v run_requests=0
  for kv in ${line#WRK_RESULT }; do
    k=${kv%%=*}
    v=${kv#*=}
    case "$k" in
      rps) rps_runs[$name]+=" $v" ;;
      requests) run_requests=$v ;;
      p50_us) p50_runs[$name]+=" $v" ;;
      p90_us) p90_runs[$name]+=" $v" ;;
      p99_us) p99_runs[$name]+=" $v" ;;
      max_us) maxl_runs[$name]+=" $v" ;;
      errors_*) errors[$name]=$((${errors[$name]:-0} + v)) ;;
    esac
  done
  requests[$name]=$((${requests[$name]:-0} + run_requests))
  # Server CPU per answered request: less sensitive than requests/s to whatever else runs.
  cpu_runs[$name]+=" $(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$run_requests" \
    'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')"
  local store
  for store in "${!vwr_pids[@]}"; do
    kill -0 "${vwr_pids[$store]}" 2>/dev/null || die "vwr ($store) died while loading $name"
  done
  kill -0 "$nginx_pid" 2>/dev/null || die "nginx died while loading $name"
}

vwr_version=$("$VWR_BINARY" --version 2>&1 | head -n 1)
nginx_version=$("$NGINX_BINARY" -v 2>&1 | head -n 1 | sed 's/^nginx version: //')
wrk_version=$({ "$WRK_BINARY" -v 2>&1 || true; } | head -n 1 | awk '{ print $2 }')  # -v exits 1

for store in "${stores[@]}"; do
  echo "vwr ${vwr_urls[$store]} (${vwr_version}, store: $store, workers: ${VWR_WORKERS} = $([[ $VWR_WORKERS == 0 ]] && echo "one per core" || echo "$VWR_WORKERS"))"
done
echo "nginx $nginx_url (${nginx_version}, worker_processes auto)"
echo "wrk ${wrk_version}: -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION, warm-up $WARMUP, $ROUNDS round(s), median reported; $(nproc) cores shared by all"
echo "status answer: $body_bytes bytes of body ($status_response_bytes with headers); nginx: $nginx_bytes ($nginx_response_bytes)"
echo

# Target names: status, tracer and join on the embedded store; status-redis, tracer-redis and
# join-redis on Redis.
suffix() { [[ $1 == embedded ]] && echo "" || echo "-$1"; }
server_pids() {  # store: on Redis, redis-server's CPU counts too (it does the work of a join)
  local pids=${vwr_pids[$1]}
  [[ $1 == redis ]] && pids="$pids $redis_pid"
  echo "$pids"
}
# One kind of load on every store back to back, so that the ratios between stores compare runs
# a minute apart at most; joins last, since they grow the crowd room for good.
names=(nginx)
for store in "${stores[@]}"; do names+=("status$(suffix "$store")"); done
for store in "${stores[@]}"; do names+=("tracer$(suffix "$store")"); done
names+=(tracer-bot)
for store in "${stores[@]}"; do names+=("join$(suffix "$store")"); done
for ((round = 1; round <= ROUNDS; round++)); do
  ((ROUNDS == 1)) || echo "round $round of $ROUNDS"
  run_wrk nginx "$nginx_url" GET "" "$nginx_pid"
  for store in "${stores[@]}"; do
    run_wrk "status$(suffix "$store")" "${vwr_urls[$store]}/api/v1/rooms/poll/status" GET \
      "X-VWR-Ticket: ${tickets[$store]}" "$(server_pids "$store")"
  done
  for store in "${stores[@]}"; do
    run_wrk "tracer$(suffix "$store")" "${vwr_urls[$store]}/TRACERAPI/inputQueue.do" POST "" \
      "$(server_pids "$store")" "$tracer_form"
  done
  run_wrk tracer-bot "$vwr_url/TRACERAPI/checkBotIp.do" POST "" "${vwr_pids[$first]}" "$tracer_form"
  for store in "${stores[@]}"; do
    run_wrk "join$(suffix "$store")" "${vwr_urls[$store]}/api/v1/rooms/crowd/join" POST "" \
      "$(server_pids "$store")"
  done
done

for name in "${names[@]}"; do
  # shellcheck disable=SC2086 # space-separated numbers
  {
    rps[$name]=$(median ${rps_runs[$name]})
    p50[$name]=$(median ${p50_runs[$name]})
    p90[$name]=$(median ${p90_runs[$name]})
    p99[$name]=$(median ${p99_runs[$name]})
    maxl[$name]=$(median ${maxl_runs[$name]})
    cpu_us[$name]=$(median ${cpu_runs[$name]})
  }
done

# The joins must have produced waiting tickets, and the polled ticket must still be waiting.
declare -A queued
for store in "${stores[@]}"; do
  url=${vwr_urls[$store]}
  curl -sf -X POST "$url/api/v1/rooms/crowd/join" -o "$tmp/last-join.json" ||
    die "join failed ($store)"
  [[ $(json_field "$tmp/last-join.json" status) == waiting ]] || die "joins stopped waiting ($store)"
  curl -sf -H "X-VWR-Ticket: ${tickets[$store]}" "$url/api/v1/rooms/poll/status" \
    -o "$tmp/status2.json" || die "status poll failed after the load ($store)"
  [[ $(json_field "$tmp/status2.json" status) == waiting ]] ||
    die "the polled ticket stopped waiting ($store)"
  curl -sf -d "$tracer_form" "$url/TRACERAPI/inputQueue.do" -o "$tmp/tracer2.xml" ||
    die "TRACER poll failed after the load ($store)"
  grep -q '<Parameter id="isWait" type="String">T</Parameter>' "$tmp/tracer2.xml" ||
    die "the TRACER identity stopped waiting ($store)"
  queued[$store]=$(json_field "$tmp/last-join.json" queueSize)
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 >= t + 0 ? "ok" : "MISSED") }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# Each ratio: name, numerator target, denominator target, the target ratio.
declare -a ratio_names
declare -A ratio_value ratio_target ratio_ok
add_ratio() {  # name num den target
  [[ -n ${rps[$2]:-} && -n ${rps[$3]:-} ]] || return 0
  ratio_names+=("$1")
  ratio_value[$1]=$(ratio "${rps[$2]}" "${rps[$3]}")
  ratio_target[$1]=$4
  ratio_ok[$1]=$(meets "${ratio_value[$1]}" "$4")
}
add_ratio "status/nginx" status nginx "$STATUS_TARGET"
add_ratio "join/nginx" join nginx "$JOIN_TARGET"
add_ratio "status-redis/nginx" status-redis nginx "$STATUS_TARGET"
add_ratio "join-redis/nginx" join-redis nginx "$REDIS_JOIN_TARGET"
add_ratio "status-redis/status" status-redis status "$REDIS_STATUS_TARGET"
add_ratio "tracer/nginx" tracer nginx "$TRACER_TARGET"
add_ratio "tracer-redis/nginx" tracer-redis nginx "$TRACER_TARGET"

printf '%-13s %12s %8s %8s %8s %7s %12s  %s\n' target "requests/s" "p50 ms" "p90 ms" "p99 ms" \
  errors "cpu us/req" "ratio to nginx (requests/s)"
for name in "${names[@]}"; do
  printf '%-13s %12.0f %8s %8s %8s %7s %12s  %s\n' "$name" "${rps[$name]}" "$(ms "${p50[$name]}")" \
    "$(ms "${p90[$name]}")" "$(ms "${p99[$name]}")" "${errors[$name]:-0}" "${cpu_us[$name]}" \
    "$(ratio "${rps[$name]}" "${rps[nginx]}")"
done
echo
for r in "${ratio_names[@]}"; do
  echo "$r = ${ratio_value[$r]} (target >= ${ratio_target[$r]}: ${ratio_ok[$r]})"
done
echo "(cpu us/req: CPU time of the server's processes per answered request, redis-server's"
echo " included on Redis)"
for store in "${stores[@]}"; do
  echo "the crowd room held ${queued[$store]} waiting tickets after the join run ($store store)"
done

if [[ -n $json_out ]]; then
  {
    printf '{\n'
    printf '  "vwr": "%s", "nginx": "%s", "wrk": "%s", "cores": %d, "stores": "%s",\n' \
      "$vwr_version" "$nginx_version" "$wrk_version" "$(nproc)" "${stores[*]}"
    printf '  "threads": %d, "connections": %d, "duration_s": %d, "rounds": %d,\n' \
      "$WRK_THREADS" "$WRK_CONNECTIONS" "$duration_s" "$ROUNDS"
    printf '  "body_bytes": %d,\n' "$body_bytes"
    printf '  "results": {\n'
    sep=""
    for name in "${names[@]}"; do
      # shellcheck disable=SC2086 # space-separated numbers
      printf '%s    "%s": {"rps": %s, "requests": %s, "p50_us": %s, "p90_us": %s, "p99_us": %s, "max_us": %s, "errors": %s, "server_cpu_us_per_request": %s, "rps_rounds": [%s], "cpu_us_rounds": [%s]}' \
        "$sep" "$name" "${rps[$name]}" "${requests[$name]}" "${p50[$name]}" "${p90[$name]}" \
        "${p99[$name]}" "${maxl[$name]}" "${errors[$name]:-0}" "${cpu_us[$name]}" \
        "$(printf '%s\n' ${rps_runs[$name]} | paste -sd, -)" \
        "$(printf '%s\n' ${cpu_runs[$name]} | paste -sd, -)"
      sep=$',\n'
    done
    printf '\n  },\n  "ratios": {'
    sep=""
    for r in "${ratio_names[@]}"; do
      printf '%s"%s": %s' "$sep" "$r" "${ratio_value[$r]}"
      sep=", "
    done
    printf '},\n  "targets": {'
    sep=""
    for r in "${ratio_names[@]}"; do
      printf '%s"%s": %s' "$sep" "$r" "${ratio_target[$r]}"
      sep=", "
    done
    printf '}\n}\n'
  } >"$json_out"
  echo "results written to $json_out"
fi

if ((check)); then
  for r in "${ratio_names[@]}"; do
    [[ ${ratio_ok[$r]} == ok ]] || exit 1
  done
fi
