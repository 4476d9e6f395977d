#!/bin/bash
#
# NAME
#	run-soak.sh - subguard's resident memory under sustained load
# SYNOPSIS
#	bash bench/run-soak.sh [--minutes M] [--rate R] [--sessions N]
#		[--logins K] [--wide N] [--wide-secs S] [--every S] [--out FILE]
# DESCRIPTION
#	Starts a private Redis and subguard (and sg-nullmilter for the 500
#	sessions comparison), then:
#
#	1. Soak: sg-milterload for M minutes (default 10) at R messages per
#	   second (default 1000; 0 = flat out), N sessions (64), 10
#	   recipients of which 1 rejected by the MTA, 5 messages per
#	   connection, over K logins (100,000: accounts come and go). VmRSS
#	   and the thread count of subguard are sampled every S seconds
#	   (default 10). The report compares the RSS after the first minute
#	   (warm) with the end: a leak shows as steady growth.
#	2. Wide: WIDE concurrent sessions (default 500) for WIDE-SECS
#	   (default 30 s), flat out, against subguard and then against the
#	   null milter: peak RSS and threads of each.
# DIAGNOSTICS
#	Reports. Exit 1 if something could not be started.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
minutes=10 rate=1000 sessions=64 logins=100000 wide=500 wide_secs=30 every=10 out=
while (($#)); do
    case $1 in
    --minutes) minutes=$2; shift ;;
    --rate) rate=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    --logins) logins=$2; shift ;;
    --wide) wide=$2; shift ;;
    --wide-secs) wide_secs=$2; shift ;;
    --every) every=$2; shift ;;
    --out) out=$2; shift ;;
    *) sgb_die "usage: run-soak.sh [--minutes M] [--rate R] [--sessions N] [--logins K] [--wide N] [--wide-secs S] [--every S] [--out FILE]" ;;
    esac
    shift
done
sgb_need_tools
sgb_init
sgb_redis_start
sgb_subguard_start
sgb_null_start
report=$SGB_DIR/soak.txt

# sample_while PID WHO - RSS/threads of WHO every $every s while PID runs;
# prints "seconds rss_kB threads" lines
sample_while() {
    local load=$1 who=$2 t0 now
    t0=$(date +%s)
    while sgb_alive "$load"; do
        now=$(date +%s)
        echo "$((now - t0)) $(sgb_rss_kb "$who") $(sgb_threads "$who")"
        for ((k = 0; k < every * 10; k++)); do
            sgb_alive "$load" || break
            sleep 0.1
        done
    done
}

secs=$((minutes * 60))
qarg=()
((rate > 0)) && qarg=(-q "$rate")
{
    sgb_machine
    echo "soak: ${minutes} min, ${rate:-flat out} msgs/s offered, $sessions sessions, 10 rcpts (1 rejected), 5 msgs/conn, $logins logins"
    echo "subguard RSS before load: $(sgb_rss_kb "$SGB_SG_PID") kB, $(sgb_threads "$SGB_SG_PID") threads"
} | tee "$report"

"$SGB_BIN/sg-milterload" -s "unix:$SGB_SG_SOCK" -c "$sessions" -d "$secs" -w 0 \
    -r 10 -x 1 -m 5 -k "$logins" "${qarg[@]}" -L soak >"$SGB_DIR/soak-load.txt" &
load=$!
sample_while "$load" "$SGB_SG_PID" >"$SGB_DIR/soak-samples.txt"
wait "$load" || true
{
    echo
    echo "| minute | RSS kB | threads |"
    echo "|---|---|---|"
    awk -v e="$every" '{ m = int($1 / 60); last[m] = $2; th[m] = $3; if (!(m in seen)) { seen[m] = 1; order[++n] = m } }
        END { for (i = 1; i <= n; i++) printf "| %d | %d | %d |\n", order[i], last[order[i]], th[order[i]] }' \
        "$SGB_DIR/soak-samples.txt"
    awk '$1 >= 60 && !w { w = $2; wt = $1 } { l = $2; lt = $1; if ($2 > mx) mx = $2 }
        END { if (!w) { w = l; wt = lt }
              printf "\nRSS after the first minute %d kB, at the end %d kB, peak %d kB: %+d kB (%+.1f%%) over %.1f min\n",
                     w, l, mx, l - w, w ? 100 * (l - w) / w : 0, (lt - wt) / 60 }' "$SGB_DIR/soak-samples.txt"
    grep '^messages\|^outcome\|^offered' "$SGB_DIR/soak-load.txt"
    echo "Redis after the soak: used_memory $(sgb_info_field memory used_memory_human), keys $(sgb_rcli dbsize)"
    echo
    echo "| $wide concurrent sessions, ${wide_secs}s flat out | peak RSS kB | peak threads | msgs/s |"
    echo "|---|---|---|---|"
} | tee -a "$report"

for who in subguard null; do
    if [[ $who == subguard ]]; then pid=$SGB_SG_PID sock=$SGB_SG_SOCK; else pid=$SGB_NULL_PID sock=$SGB_NULL_SOCK; fi
    "$SGB_BIN/sg-milterload" -s "unix:$sock" -c "$wide" -d "$wide_secs" -r 10 -m 5 \
        -k "$logins" -R -L "wide-$who" >"$SGB_DIR/wide-$who.txt" &
    load=$!
    every=1 sample_while "$load" "$pid" >"$SGB_DIR/wide-$who-samples.txt"
    wait "$load" || true
    printf '| %s | %s | %s | %s |\n' "$who" \
        "$(awk '$2 > m { m = $2 } END { print m }' "$SGB_DIR/wide-$who-samples.txt")" \
        "$(awk '$3 > m { m = $3 } END { print m }' "$SGB_DIR/wide-$who-samples.txt")" \
        "$(sgb_field "$(cat "$SGB_DIR/wide-$who.txt")" mps)" | tee -a "$report"
done
echo "subguard RSS after everything: $(sgb_rss_kb "$SGB_SG_PID") kB, $(sgb_threads "$SGB_SG_PID") threads" | tee -a "$report"
[[ -z $out ]] || cp "$report" "$out"
