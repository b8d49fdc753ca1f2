#!/usr/bin/env bash
# Measures how many requests per second `vwr loadgen` drives compared with wrk, against the same
# nginx, on this machine, in the same run: the load generator must never be what limits a
# rehearsal, so its rate is reported as a ratio of wrk's (target >= 0.8).
#
# nginx answers every request with a real-looking waiting status answer whose pollAfterMs is 0,
# so loadgen's people poll again as soon as their answer comes: the fastest a crowd can ask.
#   wrk      -t THREADS -c CONNECTIONS: GET / with an X-VWR-Ticket header (bench/load/wrk.lua)
#   loadgen  --threads THREADS --connections CONNECTIONS, PEOPLE people arriving at once
#            (burst), each joining once (POST) and then polling status (GET, X-VWR-Ticket),
#            many people per keep-alive connection
#
# Usage: bench/load/loadgen-vs-wrk.sh [--json FILE] [--check]
#   --json FILE  also write the results as JSON to FILE
#   --check      exit 1 when loadgen/wrk is below TARGET
#
# Environment (defaults in brackets):
#   VWR_BINARY [<repo>/build/vwr]  NGINX_BINARY [/usr/sbin/nginx]  WRK_BINARY [wrk]
#   THREADS [2]  CONNECTIONS [64]  DURATION [10s]  PEOPLE [4096]  ROUNDS [3]  TARGET [0.8]
#   WARMUP [2s, 0 = none]: an unmeasured wrk run before the first round
#   Each round runs wrk then loadgen; the figures are the medians of the rounds.
#
# Builds nothing; starts nginx on a free loopback port in a temporary directory and stops it
# (and removes the directory) on exit, whatever happens.
set -euo pipefail

bench_name=loadgen-vs-wrk
# shellcheck source=bench/load/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
VWR_BINARY=${VWR_BINARY:-$here/../../build/vwr}
NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}
WRK_BINARY=${WRK_BINARY:-wrk}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
PEOPLE=${PEOPLE:-4096}
ROUNDS=${ROUNDS:-3}
TARGET=${TARGET:-0.8}
WARMUP=${WARMUP:-2s}

json_out=""
check=0
while (($# > 0)); do
  case "$1" in
    --json) json_out=${2:?--json needs a file name}; shift 2 ;;
    --check) check=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

duration_s=$(seconds_of "$DURATION")
warmup_s=$(seconds_of "$WARMUP")
[[ -x $VWR_BINARY ]] || die "no vwr binary at $VWR_BINARY (build first, or set VWR_BINARY)"
[[ -x $NGINX_BINARY ]] || die "no nginx at $NGINX_BINARY (apt-get install nginx-light)"
command -v "$WRK_BINARY" >/dev/null || die "wrk not found (apt-get install wrk)"
command -v python3 >/dev/null || die "python3 not found"
command -v curl >/dev/null || die "curl not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vwr-loadgen-vs-wrk.XXXXXX")
nginx_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $nginx_pid ]] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(free_port)
ticket="AQAAAZP4hWq-JQjX3wFkZq3yGmQ1gq1dZb2w8nqk9Yx3"
body='{"room":"bench","status":"waiting","ticket":"'$ticket'","position":5,"initialPosition":9,"queueSize":9,"etaSeconds":1,"pollAfterMs":0}'
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_timeout 65s;
  keepalive_requests 1000000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/json;
      add_header Cache-Control no-store;
      return 200 '$body';
    }
  }
}
EOF
"$NGINX_BINARY" -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" \
  >"$tmp/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
url="http://127.0.0.1:$port"
deadline=$((SECONDS + 15))
until curl -sf -o /dev/null "$url/"; do
  kill -0 "$nginx_pid" 2>/dev/null || die "nginx exited during start-up"
  ((SECONDS < deadline)) || die "nginx did not answer within 15 s"
  sleep 0.05
done

# CPU seconds (user + system) of a finished command, from /usr/bin/time when it is there.
timed() {  # out-file command...
  local out=$1
  shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f 'CPU_SECONDS %U %S' -o "$out.cpu" "$@"
  else
    "$@"
  fi
}
cpu_of() { awk '/^CPU_SECONDS/ { printf "%.3f", $2 + $3 }' "$1.cpu" 2>/dev/null || echo 0; }

wrk_rps=() loadgen_rps=() wrk_cpu=() loadgen_cpu=() loadgen_p99=() wrk_p99=()
if ((warmup_s > 0)); then
  WRK_METHOD=GET WRK_HEADER="X-VWR-Ticket: $ticket" timeout -s INT $((warmup_s + 30)) \
    "$WRK_BINARY" -t "$THREADS" -c "$CONNECTIONS" -d "${warmup_s}s" -s "$here/wrk.lua" "$url/" \
    >/dev/null
fi
for round in $(seq "$ROUNDS"); do
  out=$tmp/wrk-$round
  WRK_METHOD=GET WRK_HEADER="X-VWR-Ticket: $ticket" timed "$out" timeout -s INT $((duration_s + 30)) \
    "$WRK_BINARY" -t "$THREADS" -c "$CONNECTIONS" -d "${duration_s}s" -s "$here/wrk.lua" \
    "$url/" >"$out"
  line=$(grep '^WRK_RESULT ' "$out") || die "no WRK_RESULT line from wrk"
  rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
  requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  wrk_rps+=("$rps")
  wrk_p99+=("$(awk -v u="$p99" 'BEGIN { printf "%.2f", u / 1000 }')")
  wrk_cpu+=("$(awk -v c="$(cpu_of "$out")" -v n="$requests" 'BEGIN { printf "%.1f", (n ? c * 1e6 / n : 0) }')")

  out=$tmp/loadgen-$round
  timed "$out" timeout -s INT $((duration_s + 60)) "$VWR_BINARY" loadgen --target "$url" \
    --room bench --arrivals "burst:$PEOPLE" --duration "${duration_s}s" --threads "$THREADS" \
    --connections "$CONNECTIONS" --drain 5s --quiet --json "$out.json" >"$out" ||
    die "loadgen failed: $(cat "$out")"
  read -r rps requests p99 < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%.1f %d %.2f" % (r["requests"] / r["elapsed_s"], r["requests"], r["latency_ms"]["status"]["p99"]))' "$out.json")
  [[ $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$out.json") == 0 ]] ||
    die "loadgen saw errors: $(cat "$out")"
  loadgen_rps+=("$rps")
  loadgen_p99+=("$p99")
  loadgen_cpu+=("$(awk -v c="$(cpu_of "$out")" -v n="$requests" 'BEGIN { printf "%.1f", (n ? c * 1e6 / n : 0) }')")
  echo "round $round: wrk ${wrk_rps[-1]} req/s (${wrk_cpu[-1]} cpu us/req), loadgen ${loadgen_rps[-1]} req/s (${loadgen_cpu[-1]} cpu us/req)"
done

w=$(median "${wrk_rps[@]}")
l=$(median "${loadgen_rps[@]}")
ratio=$(awk -v l="$l" -v w="$w" 'BEGIN { printf "%.2f", (w > 0 ? l / w : 0) }')
nginx_version=$("$NGINX_BINARY" -v 2>&1 | sed 's/^nginx version: //')
echo
echo "nginx $url ($nginx_version, worker_processes auto), $(nproc) cores, ${ROUNDS} rounds of ${duration_s}s"
printf '%-9s %12s %12s %14s\n' client "requests/s" "p99 ms" "cpu us/req"
printf '%-9s %12s %12s %14s\n' wrk "$w" "$(median "${wrk_p99[@]}")" "$(median "${wrk_cpu[@]}")"
printf '%-9s %12s %12s %14s\n' loadgen "$l" "$(median "${loadgen_p99[@]}")" "$(median "${loadgen_cpu[@]}")"
echo "loadgen/wrk: $ratio (target >= $TARGET)"
if [[ -n $json_out ]]; then
  wrk_list=$(IFS=,; echo "${wrk_rps[*]}")
  loadgen_list=$(IFS=,; echo "${loadgen_rps[*]}")
  python3 - "$json_out" <<EOF
import json, sys
json.dump({"wrk_rps": $w, "loadgen_rps": $l, "ratio": $ratio, "target": $TARGET,
           "wrk_rps_rounds": [$wrk_list], "loadgen_rps_rounds": [$loadgen_list],
           "threads": $THREADS, "connections": $CONNECTIONS, "people": $PEOPLE,
           "duration_s": $duration_s}, open(sys.argv[1], "w"), indent=2)
EOF
fi
if ((check)) && awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r < t) }'; then
  echo "loadgen-vs-wrk: loadgen/wrk $ratio is below $TARGET" >&2
  exit 1
fi
