#!/bin/bash
#
# NAME
#	run-ab.sh - two builds of subguard and the do-nothing milter, side
#	by side on one Redis, no MTA
# SYNOPSIS
#	SG_BUILD=build bash bench/run-ab.sh OLD_BUILD [--rounds N] [--secs S]
#		[--rate R]
# DESCRIPTION
#	Starts a private Redis (unix socket), subguard from OLD_BUILD and
#	from $SG_BUILD (each with the benchmark configuration, its own
#	socket) and sg-nullmilter, warms each up, then drives each in turn
#	with sg-milterload: 32 sessions, one message of one recipient per
#	connection (as submission clients send), S seconds (6), N rounds
#	(4) in alternating order. Prints one RESULT line per run: msgs/s,
#	and the CPU per message of the milter's process and of Redis
#	(/proc). With --rate R the load is open loop at R messages a
#	second instead of flat out: each build then meets the same offered
#	load, as on a relay at a few hundred messages a second, and the
#	CPU per message is the measure. Two builds that call the engine differently (EVALSHA,
#	FCALL) can share the Redis: each loads and calls its own.
#
#	For a change's cost or gain on a shared machine: the two builds
#	meet the same load in the same minutes (docs/PERFORMANCE.md, "What
#	changed", items 6 and 7).
# DIAGNOSTICS
#	Exit 1 if something could not be started.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

old=${1:-}
usage="usage: run-ab.sh OLD_BUILD [--rounds N] [--secs S] [--rate R]"
[[ -n $old && -x $old/subguard ]] || sgb_die "$usage"
shift
rounds=4 secs=6 rate=()
while (($#)); do
    case $1 in
    --rounds) rounds=$2; shift ;;
    --secs) secs=$2; shift ;;
    --rate) rate=(-q "$2"); shift ;;
    *) sgb_die "$usage" ;;
    esac
    shift
done

sgb_need_tools
sgb_init
sgb_redis_start
declare -A pid sock

# start NAME BUILD - subguard of BUILD on $SGB_DIR/NAME.sock
start() {
    sgb_subguard_conf "$SGB_DIR/$1.conf"
    sed -i "s|$SGB_DIR/subguard.sock|$SGB_DIR/$1.sock|" "$SGB_DIR/$1.conf"
    "$2/subguard" -f -c "$SGB_DIR/$1.conf" </dev/null >/dev/null 2>&1 &
    pid[$1]=$!
    sock[$1]=$SGB_DIR/$1.sock
    SGB_PIDS+=("$!")
    sgb_wait_for 10 test -S "${sock[$1]}" || sgb_die "subguard ($2) did not start"
}
start old "$old"
start new "$SG_BUILD"
sgb_null_start
pid[null]=$SGB_NULL_PID
sock[null]=$SGB_NULL_SOCK
hz=$(getconf CLK_TCK)
for w in old new null; do
    "$SGB_BIN/sg-milterload" -s "unix:${sock[$w]}" -c 16 -n 3000 -m 1 -r 1 -R >/dev/null
done
for ((round = 1; round <= rounds; round++)); do
    order="old new null"
    ((round % 2)) || order="null new old"
    for w in $order; do
        r0=$(sgb_cpu_ticks "$SGB_REDIS_PID"); p0=$(sgb_cpu_ticks "${pid[$w]}")
        r=$("$SGB_BIN/sg-milterload" -s "unix:${sock[$w]}" -c 32 -d "$secs" -m 1 -r 1 -R "${rate[@]}")
        r1=$(sgb_cpu_ticks "$SGB_REDIS_PID"); p1=$(sgb_cpu_ticks "${pid[$w]}")
        n=$(sgb_field "$r" msgs)
        echo "RESULT who=$w round=$round msgs=$n mps=$(sgb_field "$r" mps)" \
            "hook_ms=$(sgb_calc "($p1 - $p0) * 1000 / $hz / $n")" \
            "redis_ms=$(sgb_calc "($r1 - $r0) * 1000 / $hz / $n")" \
            "errors=$(sgb_field "$r" errors) tempfail=$(sgb_field "$r" tempfail)"
    done
done
