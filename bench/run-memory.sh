#!/bin/bash
#
# NAME
#	run-memory.sh - Redis memory per active login, and key expiry
# SYNOPSIS
#	bash bench/run-memory.sh [--logins N] [--out FILE]
# DESCRIPTION
#	Drives engine.lua directly: sg-enginefeed builds, with the daemon's
#	own argument code (lib/sg_engine.c) and the benchmark configuration,
#	one message per login as FCALL commands, and redis-cli --pipe
#	sends them to a private, empty Redis. Memory is Redis's own
#	INFO memory used_memory, before and after, divided by the number of
#	logins. Phases, each on fresh logins:
#
#	  A  N logins (default 1,000,000), one clean message each, no queue
#	     id, each from a client address (-a): the counters hash alone,
#	     history profile included, what an active login costs.
#	  B  N/10 logins, one message each with a queue id: counters plus
#	     subguard:qid:QID (one per message, kept queue_id_ttl = 6 days).
#	  C  N/10 logins, 10 recipients of which 3 rejected by the MTA, with
#	     a queue id: a failing sender's counters (more fields, the recent
#	     failing queue ids) plus the queue id key.
#	  D  the logins of A again, 5 more messages each: does an account
#	     grow with its traffic?
#
#	Per key type it also prints MEMORY USAGE, the encoding and the TTL
#	of a sample key, and from INFO keyspace how many keys have no expiry
#	(must be 0: every key subguard writes expires when idle).
# DIAGNOSTICS
#	Reports. Exit 1 if Redis or the tools cannot be started.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=1000000 out=
while (($#)); do
    case $1 in
    --logins) n=$2; shift ;;
    --out) out=$2; shift ;;
    *) sgb_die "usage: run-memory.sh [--logins N] [--out FILE]" ;;
    esac
    shift
done
sgb_need_tools "$SGB_BIN/sg-enginefeed"
sgb_init
sgb_redis_start
sgb_subguard_conf "$SGB_DIR/subguard.conf"
report=$SGB_DIR/memory.txt

mem() { sgb_info_field memory used_memory; }
keys() { sgb_rcli info keyspace | tr -d '\r' | sed -n 's/^db0://p'; }

# phase NAME COUNT FEED-ARGS... - feed COUNT logins, print bytes/login
phase() {
    local name=$1 count=$2 m0 m1 t0 t1 res
    shift 2
    m0=$(mem)
    t0=$(date +%s.%N)
    res=$("$SGB_BIN/sg-enginefeed" -c "$SGB_DIR/subguard.conf" -n "$count" "$@" |
        redis-cli -s "$SGB_REDIS_SOCK" --pipe 2>&1 | tail -n 1)
    t1=$(date +%s.%N)
    m1=$(mem)
    printf '| %s | %s | %.1f | %s | %.0f |\n' "$name" "$count" \
        "$(sgb_calc "($m1 - $m0) / $count")" "$(keys)" \
        "$(sgb_calc "$count / ($t1 - $t0)")"
    [[ $res == *"errors: 0"* ]] || sgb_log "redis-cli --pipe: $res"
}

sample() {
    local key=$1
    # shellcheck disable=SC2016 # the backquotes are Markdown, not a command
    printf '| `%s` | %s | %s | %s | %s | %s |\n' "$key" "$(sgb_rcli type "$key")" \
        "$(sgb_rcli object encoding "$key")" "$(sgb_rcli memory usage "$key" samples 0)" \
        "$(sgb_rcli ttl "$key")" "$( [[ $(sgb_rcli type "$key") == hash ]] && sgb_rcli hlen "$key" || echo -)"
}

tenth=$((n / 10 > 0 ? n / 10 : 1))
fresh() { sgb_rcli flushall >/dev/null; sgb_rcli memory purge >/dev/null; }
{
    sgb_machine
    echo "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), engine.lua calls from sg-enginefeed through redis-cli --pipe; each phase on an emptied Redis (FLUSHALL) but D"
    echo
    echo "| phase | logins | used_memory delta / login (bytes) | keyspace after | calls/s |"
    echo "|---|---|---|---|---|"
    fresh
    phase "A: counters only (1 clean message)" "$n" -r 1 -a
    m0=$(mem)
    for k in 1 2 3 4 5; do
        "$SGB_BIN/sg-enginefeed" -c "$SGB_DIR/subguard.conf" -n "$n" -r 3 -a -t "$(($(date +%s) + 60 * k))" |
            redis-cli -s "$SGB_REDIS_SOCK" --pipe >/dev/null 2>&1
    done
    printf '| D: the logins of A, 5 more messages each | %s | %+.1f (growth per login) | %s | - |\n' \
        "$n" "$(sgb_calc "($(mem) - $m0) / $n")" "$(keys)"
    s_a=$(sample 'subguard:{user1@example.net}:counters')
    fresh
    phase "B: counters + qid key (1 message)" "$tenth" -K 10000000 -r 1 -i
    s_q=$(sample "subguard:qid:$(printf '%010lX' $(( (10000001 * 2654435761) & 0xffffffffff )))")
    fresh
    phase "C: failing sender: 10 rcpts, 3 rejected, + qid" "$tenth" -K 20000000 -r 10 -x 3 -i
    s_c=$(sample 'subguard:{user20000001@example.net}:counters')
    echo
    echo "| sample key | type | encoding | MEMORY USAGE | TTL s | fields |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "$s_a" "$s_c" "$s_q"
    echo
    total=$(sgb_rcli dbsize)
    expires=$(keys | sed -n 's/.*expires=\([0-9]*\).*/\1/p')
    echo "keys without expiry after C: $((total - expires)) of $total (must be 0; A and B checked the same way in their keyspace column)"
    echo "used_memory $(sgb_info_field memory used_memory_human), used_memory_rss $(sgb_info_field memory used_memory_rss_human), fragmentation $(sgb_info_field memory mem_fragmentation_ratio)"
    echo "hash-max-listpack-entries $(sgb_rcli config get hash-max-listpack-entries | tail -n 1), hash-max-listpack-value $(sgb_rcli config get hash-max-listpack-value | tail -n 1)"
} | tee "$report"
[[ -z $out ]] || cp "$report" "$out"
