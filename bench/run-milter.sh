#!/bin/bash
#
# NAME
#	run-milter.sh - subguard next to the do-nothing milter, no MTA
# SYNOPSIS
#	bash bench/run-milter.sh [--quick] [--reps N] [--secs S]
#		[--sessions N] [--rcpts N] [--per-conn "M ..."] [--logins K]
#		[--rate R] [--no-latency | --latency-only] [--scaling]
#		[--out FILE]
# DESCRIPTION
#	Starts a private Redis (unix socket), subguard (bench/subguard-bench
#	.conf.in: three tiers, limits out of reach) and sg-nullmilter (the
#	same negotiation, no work), then drives both with sg-milterload in
#	alternating order (null, subguard, subguard, null, ...) REPS times
#	and reports medians and the median of the per-pair ratios: absolute
#	figures drift on a shared machine, ratios of neighbouring runs much
#	less.
#
#	1. Throughput, flat out: SESSIONS (64) concurrent sessions, RCPTS
#	   (10) recipients per message, for each M in --per-conn (default
#	   "20 1": steady sessions, and one message per connection as most
#	   submission clients do).
#	2. Latency at a fixed offered load (open loop, -q): a quarter of
#	   subguard's flat-out rate unless --rate (where it still has room);
#	   p99 per message of each, and the difference (what subguard adds).
#	   --latency-only skips part 1 (then --rate is needed).
#	3. With --scaling: recipients per message 1/10/50, sessions
#	   8/64/256, active logins 100/10,000/1,000,000.
#
#	"let through uncounted" counts messages subguard accepted at MAIL
#	without counting them: with a login that happens only when the Redis
#	call failed or timed out (on_redis_error = accept).
#
#	For every subguard run it also reads Redis's own counters: FCALL
#	calls per message begun (INFO commandstats) and new Redis
#	connections per message (INFO stats), and the CPU time subguard,
#	Redis and the null milter used per message (/proc).
#
#	--quick: 3 repetitions of 3 s, one connection pattern (the bench
#	target). Defaults: 5 repetitions of 5 s. --out FILE keeps the raw
#	RESULT lines.
# DIAGNOSTICS
#	Reports; never fails because the machine is slow. Exit 1 only if
#	something could not be started.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

reps=5 secs=5 sessions=64 rcpts=10 per_conn="20 1" logins=10000 rate=
latency=1 scaling=0 out='' throughput=1
while (($#)); do
    case $1 in
    --quick) reps=3 secs=3 per_conn=20 ;;
    --reps) reps=$2; shift ;;
    --secs) secs=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    --rcpts) rcpts=$2; shift ;;
    --per-conn) per_conn=$2; shift ;;
    --logins) logins=$2; shift ;;
    --rate) rate=$2; shift ;;
    --no-latency) latency=0 ;;
    --latency-only) throughput=0 ;;
    --scaling) scaling=1 ;;
    --out) out=$2; shift ;;
    *) sgb_die "usage: run-milter.sh [--quick] [--reps N] [--secs S] [--sessions N] [--rcpts N] [--per-conn \"M ...\"] [--logins K] [--rate R] [--no-latency | --latency-only] [--scaling] [--out FILE]" ;;
    esac
    shift
done

sgb_need_tools
sgb_init
sgb_redis_start
sgb_subguard_start
sgb_null_start
results=$SGB_DIR/results.txt
: >"$results"
hz=$(getconf CLK_TCK)

# Warm up: load the script into Redis, let libmilter grow its workers.
for s in "$SGB_NULL_SOCK" "$SGB_SG_SOCK"; do
    "$SGB_BIN/sg-milterload" -s "unix:$s" -c 8 -n 500 -r 2 -R >/dev/null
done

# one_run WHO ARGS... - one sg-milterload run; prints its RESULT line
# followed by cpu=MICROSECONDS_PER_MESSAGE calls=N conns=N
one_run() {
    local who=$1 sock pid c0 r0 c1 r1 e0 e1 n0 n1 u0 u1 line begun
    shift
    if [[ $who == null ]]; then sock=$SGB_NULL_SOCK pid=$SGB_NULL_PID
    else sock=$SGB_SG_SOCK pid=$SGB_SG_PID; fi
    c0=$(sgb_cpu_ticks "$pid"); r0=$(sgb_cpu_ticks "$SGB_REDIS_PID")
    e0=$(sgb_script_calls); n0=$(sgb_info_field stats total_connections_received)
    u0=$(sgb_script_usec)
    line=$("$SGB_BIN/sg-milterload" -s "unix:$sock" -L "$who" -R "$@" | grep '^RESULT')
    c1=$(sgb_cpu_ticks "$pid"); r1=$(sgb_cpu_ticks "$SGB_REDIS_PID")
    e1=$(sgb_script_calls); n1=$(sgb_info_field stats total_connections_received)
    u1=$(sgb_script_usec)
    begun=$(sgb_field "$line" begun)
    ((begun > 0)) || begun=1
    # CPU per message: the milter, and Redis (only subguard uses it).
    line="$line cpu_milter=$(sgb_calc "($c1 - $c0) * 1e6 / $hz / $begun")"
    line="$line cpu_redis=$(sgb_calc "($r1 - $r0) * 1e6 / $hz / $begun")"
    line="$line calls_per_msg=$(sgb_calc "($e1 - $e0) / $begun")"
    line="$line redis_conns_per_msg=$(sgb_calc "($n1 - $n0) / $begun")"
    line="$line call_usec=$(sgb_calc "($u1 - $u0) / (($e1 - $e0) > 0 ? ($e1 - $e0) : 1)")"
    echo "$line" >>"$results"
    echo "$line"
}

# pair SCENARIO ARGS... - REPS alternating runs of both; one table row
pair() {
    local scen=$1 i a b first second
    local -a nm sm ratio np sp add cpun cpus cpur ev cn tf us am
    shift
    for ((i = 0; i < reps; i++)); do
        if ((i % 2 == 0)); then first=null second=sg; else first=sg second=null; fi
        a=$(one_run "$first" "$@")
        b=$(one_run "$second" "$@")
        if [[ $first == sg ]]; then local t=$a; a=$b; b=$t; fi
        # a: null, b: subguard
        nm+=("$(sgb_field "$a" mps)"); sm+=("$(sgb_field "$b" mps)")
        ratio+=("$(sgb_calc "$(sgb_field "$b" mps) / $(sgb_field "$a" mps)")")
        np+=("$(sgb_field "$a" msg_p99)"); sp+=("$(sgb_field "$b" msg_p99)")
        add+=("$(sgb_calc "$(sgb_field "$b" msg_p99) - $(sgb_field "$a" msg_p99)")")
        cpun+=("$(sgb_field "$a" cpu_milter)"); cpus+=("$(sgb_field "$b" cpu_milter)")
        cpur+=("$(sgb_field "$b" cpu_redis)")
        ev+=("$(sgb_field "$b" calls_per_msg)"); cn+=("$(sgb_field "$b" redis_conns_per_msg)")
        us+=("$(sgb_field "$b" call_usec)")
        am+=("$(sgb_field "$b" accepted_at_mail)")
        tf+=("$(( $(sgb_field "$b" tempfail) + $(sgb_field "$b" errors) + $(sgb_field "$a" errors) ))")
    done
    printf '| %s | %.0f | %.0f | **%.3f** (%s) | %.0f | %.0f | %.0f | %.3f | %.0f | %.0f | %.0f+%.0f | %.3f | %s | %s |\n' \
        "$scen" "$(sgb_median "${nm[@]}")" "$(sgb_median "${sm[@]}")" \
        "$(sgb_median "${ratio[@]}")" \
        "$(printf '%s\n' "${ratio[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')" \
        "$(sgb_median "${np[@]}")" "$(sgb_median "${sp[@]}")" \
        "$(sgb_median "${add[@]}")" "$(sgb_median "${ev[@]}")" "$(sgb_median "${us[@]}")" \
        "$(sgb_median "${cpun[@]}")" "$(sgb_median "${cpus[@]}")" \
        "$(sgb_median "${cpur[@]}")" "$(sgb_median "${cn[@]}")" \
        "$(printf '%s\n' "${tf[@]}" | awk '{ s += $1 } END { print s + 0 }')" \
        "$(printf '%s\n' "${am[@]}" | awk '{ s += $1 } END { print s + 0 }')"
    LAST_SG_MPS=$(sgb_median "${sm[@]}")
}

header() {
    echo
    echo "$1"
    echo
    echo "| scenario | null msgs/s | subguard msgs/s | ratio (range) | null p99 µs | subguard p99 µs | added p99 µs | FCALL/msg | Redis µs/FCALL | null CPU µs/msg | subguard+Redis CPU µs/msg | new Redis conns/msg | tempfail+errors | let through uncounted |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}

sgb_machine
echo "method: $reps alternating pairs of ${secs}s runs (1 s warm-up each), medians; ratio = median of per-pair subguard/null"
first_sg_mps=
((throughput)) || [[ -n $rate ]] || sgb_die "--latency-only needs --rate"
((throughput)) && header "Throughput, flat out ($sessions sessions, $rcpts recipients per message, $logins logins)"
for m in $per_conn; do
    ((throughput)) || break
    pair "$sessions sessions, $rcpts rcpts, $m msgs/conn" \
        -c "$sessions" -r "$rcpts" -m "$m" -k "$logins" -d "$secs"
    [[ -n $first_sg_mps ]] || first_sg_mps=$LAST_SG_MPS
done

if ((latency)); then
    [[ -n $rate ]] || rate=$(awk -v r="$first_sg_mps" 'BEGIN { r = int(r / 4 / 100) * 100; print (r < 100 ? 100 : r) }')
    m=${per_conn%% *}
    header "Latency at a fixed offered load of $rate msgs/s (open loop; p99 of MAIL..end of message)"
    pair "$rate msgs/s, $sessions sessions, $rcpts rcpts, $m msgs/conn" \
        -c "$sessions" -r "$rcpts" -m "$m" -k "$logins" -d "$secs" -q "$rate"
fi

if ((scaling)); then
    m=${per_conn%% *}
    header "Cost against recipients per message ($sessions sessions, flat out)"
    for r in 1 10 50; do
        pair "$r rcpts/msg" -c "$sessions" -r "$r" -m "$m" -k "$logins" -d "$secs"
    done
    header "Cost against concurrent sessions ($rcpts rcpts, flat out)"
    for c in 8 64 256; do
        pair "$c sessions" -c "$c" -r "$rcpts" -m "$m" -k "$logins" -d "$secs"
    done
    header "Cost against active logins ($sessions sessions, $rcpts rcpts, flat out; 1,000,000: nearly every message a new account)"
    for k in 100 10000 1000000; do
        pair "$k logins" -c "$sessions" -r "$rcpts" -m "$m" -k "$k" -d "$secs"
    done
fi

echo
echo "subguard: RSS $(sgb_rss_kb "$SGB_SG_PID") kB, $(sgb_threads "$SGB_SG_PID") threads; sg-nullmilter: RSS $(sgb_rss_kb "$SGB_NULL_PID") kB, $(sgb_threads "$SGB_NULL_PID") threads; Redis used_memory $(sgb_info_field memory used_memory_human)"
sgb_machine
[[ -z $out ]] || cp "$results" "$out"
