# Shared by the load benchmarks in bench/load/: sourced, never run. The script that sources it
# sets `bench_name` first (its messages start with it).
# shellcheck shell=bash

die() {
  echo "${bench_name:-bench}: $*" >&2
  exit 1
}

# "500ms", "10s", "2m", "1h" or a plain number of seconds (as wrk reads them) -> whole seconds
# (rounded down); anything else ends the script with a clear message.
seconds_of() {
  local text=$1
  if [[ $text =~ ^([0-9]+)(ms|s|m|h)?$ ]]; then
    local n=${BASH_REMATCH[1]}
    case "${BASH_REMATCH[2]}" in
      ms) echo $((n / 1000)) ;;
      m) echo $((n * 60)) ;;
      h) echo $((n * 3600)) ;;
      *) echo "$n" ;;
    esac
  else
    die "cannot read the duration \"$text\" (use e.g. 10s, 2m)"
  fi
}

# A TCP port free on loopback now (the kernel's choice).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

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
    echo "${bench_name:-bench}: $name did not stop in 5 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

median() {  # values... -> their median (the mean of the middle two for an even count)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print 0; exit }
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
