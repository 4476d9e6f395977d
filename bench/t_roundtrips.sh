#!/bin/bash
#
# NAME
#	t_roundtrips.sh - Redis round trips per message, and key expiry
# SYNOPSIS
#	sh tests/integration/with-redis.sh bash bench/t_roundtrips.sh
# DESCRIPTION
#	The CTest bench_roundtrips. Two properties that do not depend on the
#	machine's speed, checked on a real subguard and a real Redis with
#	sg-milterload playing the MTA (no Postfix needed):
#
#	1. At most two Redis round trips per message, whatever the number
#	   of recipients: 200 messages of 10 recipients (one of them
#	   rejected by the MTA) over 20 logins, 3 messages per milter
#	   connection. Redis's own INFO commandstats must show at most 400
#	   FCALL calls, and MONITOR must show no other command sent by a
#	   client (commands that engine.lua runs inside Redis show as
#	   "lua" and are not round trips).
#	2. Every key subguard wrote expires when idle: after the run every
#	   key has a TTL, except the ones support staff write by hand (a
#	   tier key and a quarantine hash set up before the run),
#	   subguard:feed:* (feed positions) and subguard:events (a capped
#	   stream). The held list of the quarantined login is checked too,
#	   and a counters hash lives no longer than its longest window twice
#	   over, or history_keep when it holds a history profile.
#
#	Needs SG_BUILD and SG_SRC (set by CTest) and SG_REDIS/SG_REDIS_DIR
#	from with-redis.sh.
# DIAGNOSTICS
#	Exit status 0 when both hold; 1 with the reason and the subguard
#	log otherwise.

set -u
: "${SG_BUILD:?set SG_BUILD}" "${SG_SRC:?set SG_SRC}" "${SG_REDIS:?run under with-redis.sh}"
dir=$SG_REDIS_DIR
sock=${SG_REDIS#unix:}
msgs=200 rcpts=10
r() { redis-cli -s "$sock" "$@"; }
pid='' mon=''

fail() {
    echo "FAIL: $*"
    [ -s "$dir/subguard.log" ] && { echo "--- subguard log (tail)"; tail -n 20 "$dir/subguard.log"; }
    finish 1
}
finish() {
    [ -n "$mon" ] && kill "$mon" 2>/dev/null && wait "$mon" 2>/dev/null
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    exit "$1"
}
trap 'finish 1' INT TERM

sed -e "s|@DIR@|$dir|g" -e "s|@REDIS@|$SG_REDIS|g" \
    "$SG_SRC/bench/subguard-bench.conf.in" >"$dir/subguard.conf"

# What support staff set by hand: a business customer, and an account
# quarantined by hand (its mail is held: the held list must expire).
r set 'subguard:{user3@example.net}:tier' business >/dev/null
r hset 'subguard:{user5@example.net}:quarantine' reason manual by support >/dev/null

"$SG_BUILD/subguard" -f -c "$dir/subguard.conf" </dev/null >"$dir/subguard.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$dir/subguard.sock" ] && break; sleep 0.1; done
[ -S "$dir/subguard.sock" ] || fail "subguard did not start"

# One message first: loads the engine (the "Function not found" answer
# and FUNCTION LOAD happen once per Redis, not per message).
"$SG_BUILD/bench/sg-milterload" -s "unix:$dir/subguard.sock" -c 1 -n 1 -r 1 \
    -l 'warm%d@example.net' -k 1 -R >/dev/null || fail "warm-up message failed"
r config resetstat >/dev/null
redis-cli -s "$sock" monitor >"$dir/monitor.txt" 2>/dev/null &
mon=$!
sleep 0.3

out=$("$SG_BUILD/bench/sg-milterload" -s "unix:$dir/subguard.sock" -c 8 \
    -n "$msgs" -r "$rcpts" -x 1 -m 3 -k 20 -R) || fail "sg-milterload: $out"
sleep 0.3
kill "$mon" 2>/dev/null; wait "$mon" 2>/dev/null; mon=
echo "$out"
field() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[ "$(field msgs)" = "$msgs" ] || fail "$(field msgs) messages completed, want $msgs"
[ "$(field errors)" = 0 ] || fail "$(field errors) protocol errors"
[ "$(field tempfail)" = 0 ] || fail "$(field tempfail) messages tempfailed: limits too low for the test"
[ "$(field held)" -gt 0 ] || fail "no message of the quarantined login was held"

# 1. Round trips, from Redis's own counters.
fcall=$(r info commandstats | tr -d '\r' | sed -n 's/^cmdstat_fcall:calls=\([0-9]*\),.*/\1/p')
fcall=${fcall:-0}
echo "FCALL calls: $fcall for $msgs messages of $rcpts recipients"
[ "$fcall" -le $((2 * msgs)) ] || fail "$fcall FCALL calls: more than 2 per message"
[ "$fcall" -ge "$msgs" ] || fail "$fcall FCALL calls for $msgs messages: not counting?"
# MONITOR lines: '<time> [db client] "CMD" ...'; a script's own commands
# show as [db lua]. Everything else is a round trip a client paid for.
other=$(grep -v ' lua\] ' "$dir/monitor.txt" | grep -v '^OK' | grep -vic '"fcall"' || true)
top=$(grep -v ' lua\] ' "$dir/monitor.txt" | grep -ic '"fcall"' || true)
echo "commands from clients seen by MONITOR: $top FCALL, $other other"
[ "$other" = 0 ] || fail "clients sent other commands than FCALL: $(grep -v ' lua\] ' "$dir/monitor.txt" | grep -vi '"fcall"' | head -3)"

# 2. Every key expires, but what support wrote by hand, and the index of
# quarantined accounts: it holds a login only while its quarantine lives
# (a lift removes it; subguardctl list drops one lifted with plain DEL).
n=0 bad=0
while IFS= read -r key; do
    [ -n "$key" ] || continue
    n=$((n + 1))
    case $key in
    *:tier | *:quarantine | subguard:feed:* | subguard:events) continue ;;
    subguard:quarantined)
        [ "$(r zcard "$key")" -le "$(r --scan --pattern 'subguard:{*}:quarantine' | wc -l)" ] ||
            { echo "index larger than the quarantines: $key"; bad=$((bad + 1)); }
        continue ;;
    esac
    ttl=$(r ttl "$key")
    if [ "$ttl" -le 0 ]; then
        echo "no expiry: $key (TTL $ttl, type $(r type "$key"))"
        bad=$((bad + 1))
    fi
done < <(r --scan --pattern '*')
echo "keys: $n, without expiry (not support's): $bad"
[ "$n" -gt "$msgs" ] || fail "only $n keys: counters and queue ids missing?"
[ "$bad" = 0 ] || fail "$bad keys never expire"
held=$(r ttl 'subguard:{user5@example.net}:held')
[ "$held" -gt 0 ] || fail "the held list of the quarantined login has no TTL ($held)"
cnt=$(r ttl 'subguard:{user1@example.net}:counters')
# A history profile (field p, history = on) keeps the hash history_keep
# (30d) after the last message; without one, twice the longest window.
max=172800
[ -z "$(r hget 'subguard:{user1@example.net}:counters' p)" ] || max=2592000
if [ "$cnt" -le 0 ] || [ "$cnt" -gt "$max" ]; then
    fail "counters TTL $cnt: want at most $max (2 x 1d, or history_keep with a profile)"
fi
echo "PASS: at most 2 round trips per message; every key written expires when idle"
finish 0
