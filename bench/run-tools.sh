#!/bin/bash
#
# NAME
#	run-tools.sh - throughput of subguard-feed and subguard-replay
# SYNOPSIS
#	bash bench/run-tools.sh [--lines N] [--events N] [--full] [--out FILE]
# DESCRIPTION
#	Feed: bench/sg-mklog.py writes a synthetic Postfix log of N lines
#	(default 1,000,000; about 1 in 7 a delivery outcome, 3% of those
#	bounces); sg-enginefeed first records every queue id of that log in
#	a private Redis (as the milter would have), so each bounce takes the
#	engine's full path. Then, timed:
#	    subguard-feed -o -f -c CONF LOG
#	(read to the end once, as the man page's batch mode). Reports lines
#	per second and the Redis calls it made (INFO commandstats).
#
#	Replay: tools/subguard-tracegen --seed 1 --scenario classic --out DIR (the standard
#	trace: 20,000 users, 3 days), then, timed, subguard-replay -q on its
#	first N events (default 1,000,000), and with --full on the whole
#	trace. Reports events per second.
#
#	Each program missing from the build is reported as such; the script
#	then goes on with the other.
# DIAGNOSTICS
#	Reports. Exit 1 if Redis or the tools cannot be started.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lines=1000000 events=1000000 full=0 out=
while (($#)); do
    case $1 in
    --lines) lines=$2; shift ;;
    --events) events=$2; shift ;;
    --full) full=1 ;;
    --out) out=$2; shift ;;
    *) sgb_die "usage: run-tools.sh [--lines N] [--events N] [--full] [--out FILE]" ;;
    esac
    shift
done
sgb_need_tools "$SGB_BIN/sg-enginefeed"
sgb_init
report=$SGB_DIR/tools.txt
: >"$report"
say() { echo "$*" | tee -a "$report"; }

# timed CMD... - run, print wall seconds on fd 3
timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    sgb_calc "$t1 - $t0" >&3
}

say "$(sgb_machine)"
if [[ -x $SG_BUILD/subguard-feed ]]; then
    sgb_redis_start
    sgb_subguard_conf "$SGB_DIR/subguard.conf"
    python3 "$SG_SRC/bench/sg-mklog.py" --lines "$lines" >"$SGB_DIR/mail.log" 2>"$SGB_DIR/mklog.txt"
    nmsg=$(sed -n 's/.* \([0-9]*\) messages$/\1/p' "$SGB_DIR/mklog.txt")
    nl=$(wc -l <"$SGB_DIR/mail.log")
    "$SGB_BIN/sg-enginefeed" -c "$SGB_DIR/subguard.conf" -n "$nmsg" -i -t "$(date +%s)" |
        redis-cli -s "$SGB_REDIS_SOCK" --pipe >/dev/null
    sgb_rcli config resetstat >/dev/null
    outcomes=$(grep -c ' to=<' "$SGB_DIR/mail.log" || true)
    bounces=$(grep -c 'status=bounced' "$SGB_DIR/mail.log" || true)
    secs=$( { timed "$SG_BUILD/subguard-feed" -o -f -c "$SGB_DIR/subguard.conf" \
        -n bench "$SGB_DIR/mail.log" >"$SGB_DIR/feed.log" 2>&1; } 3>&1) ||
        say "subguard-feed failed: $(tail -n 3 "$SGB_DIR/feed.log")"
    calls=$(sgb_script_calls)
    say ""
    say "| subguard-feed -o | value |"
    say "|---|---|"
    say "| log | $nl lines, $nmsg messages, $outcomes delivery outcomes, $bounces bounces |"
    say "| wall time | $(printf '%.2f' "$secs") s |"
    say "| **lines/s** (target ≥ 100,000) | **$(awk -v a="$nl" -v b="$secs" 'BEGIN { printf "%.0f", a / b }')** |"
    say "| Redis FCALL calls | $calls (bounces + position saves) |"
    say "| feed summary | $(grep -i 'lines' "$SGB_DIR/feed.log" | tail -n 1 | cut -c1-200) |"
    sgb_redis_stop
else
    say "subguard-feed: not built ($SG_BUILD/subguard-feed missing); script ready"
fi

if [[ -x $SG_BUILD/subguard-replay ]]; then
    tr=$SGB_DIR/trace
    python3 "$SG_SRC/tools/subguard-tracegen" --seed 1 --scenario classic --out "$tr" --quiet >/dev/null 2>&1 ||
        python3 "$SG_SRC/tools/subguard-tracegen" --seed 1 --scenario classic --out "$tr" >/dev/null
    head -n "$events" "$tr/trace.jsonl" >"$tr/head.jsonl"
    ne=$(wc -l <"$tr/head.jsonl")
    ns=$(grep -c '"ev":"submit"' "$tr/head.jsonl" || true)
    secs=$( { timed "$SG_BUILD/subguard-replay" -q "$tr/head.jsonl" \
        >"$SGB_DIR/replay.out" 2>"$SGB_DIR/replay.err"; } 3>&1) ||
        say "subguard-replay failed: $(tail -n 3 "$SGB_DIR/replay.err")"
    say ""
    say "| subguard-replay -q | events | submits | wall s | events/s |"
    say "|---|---|---|---|---|"
    say "| first $ne events of tracegen --seed 1 (target: well under a minute) | $ne | $ns | **$(printf '%.1f' "$secs")** | $(awk -v a="$ne" -v b="$secs" 'BEGIN { printf "%.0f", a / b }') |"
    if ((full)); then
        ne=$(wc -l <"$tr/trace.jsonl")
        ns=$(grep -c '"ev":"submit"' "$tr/trace.jsonl" || true)
        secs=$( { timed "$SG_BUILD/subguard-replay" -q "$tr/trace.jsonl" \
            >"$SGB_DIR/replay.out" 2>"$SGB_DIR/replay.err"; } 3>&1) || true
        say "| whole trace | $ne | $ns | $(printf '%.1f' "$secs") | $(awk -v a="$ne" -v b="$secs" 'BEGIN { printf "%.0f", a / b }') |"
    fi
    say "replay says: $(tail -n 1 "$SGB_DIR/replay.err" | cut -c1-200)"
else
    say "subguard-replay: not built ($SG_BUILD/subguard-replay missing); script ready"
fi
[[ -z $out ]] || cp "$report" "$out"
