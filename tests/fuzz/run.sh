#!/bin/sh
# run.sh TARGET SECONDS - build-tree fuzz target on its seed corpus, for a
# bounded time (CI: a few seconds each; see docs/RELIABILITY.md for longer).
set -eu
target=$1
secs=${2:-10}
dir=$(mktemp -d /tmp/sgfuzz.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp -r "$SG_SRC/tests/fuzz/corpus/$target/." "$dir/"
exec "$SG_BUILD/tests/fuzz_$target" -max_total_time="$secs" -max_len=8192 \
    -print_final_stats=1 "$dir"
