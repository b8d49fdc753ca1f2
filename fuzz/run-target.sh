#!/usr/bin/env bash
# Runs one fuzz target for FUZZ_SECONDS (default 60) and fails if it finds a crash.
#
#   run-target.sh <target binary> <name> <fuzz source dir> <build dir>
#
# The committed seeds (fuzz/corpus/<name>/) are copied into a scratch corpus in the build tree
# (<build dir>/corpus/<name>/), which keeps what earlier runs found; libFuzzer writes its new
# inputs there, never into the committed corpus. A crash, leak or timeout is saved as
# <build dir>/artifacts/<name>-crash-<sha1> (or -leak-, -timeout-, -oom-).
set -euo pipefail

target=$1
name=$2
source_dir=$3
build_dir=$4
seconds=${FUZZ_SECONDS:-60}

corpus="$build_dir/corpus/$name"
artifacts="$build_dir/artifacts"
mkdir -p "$corpus" "$artifacts"
cp -n "$source_dir/corpus/$name"/* "$corpus"/ 2>/dev/null || true

options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         -artifact_prefix="$artifacts/$name-")
if [ -f "$source_dir/$name.dict" ]; then
  options+=(-dict="$source_dir/$name.dict")
fi

# Undefined behaviour is fatal (the build sets -fno-sanitize-recover); print its stack too.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "run-target: $name for ${seconds}s on $corpus" >&2
exec "$target" "${options[@]}" "$corpus"
