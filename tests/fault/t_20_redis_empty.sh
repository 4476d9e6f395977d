#!/bin/bash
# t_20_redis_empty: Redis forgets everything under load.
# Load: 10 sessions, 8 logins, 24 s. Three times Redis loses the engine
# (a Functions library):
#  a) FUNCTION FLUSH (keys kept),
#  b) FLUSHALL + FUNCTION FLUSH (an empty Redis, same server),
#  c) a fresh server (SHUTDOWN NOSAVE, started again at once: empty).
# Proves:
#  - the calls after each one work: FCALL's "Function not found" is
#    answered by loading the library again (FUNCTION LOAD seen in INFO
#    commandstats), and subguard logs no error line for it (no
#    reason=redis-error, no "not found");
#  - counters are recreated: after b) and c) the logins' counters come back
#    within 3 s;
#  - no client saw a 4xx or a 5xx, nothing was lost;
#  - c) is at most one outage, ended with "redis back".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_users 8
fault_conf
sg_subguard_start
fault_stamp_start

# counters_back - every fault login has its counters key again
counters_back() {
    local i
    for ((i = 1; i <= 8; i++)); do
        [[ $(sg_redis exists "subguard:{fl$i@example.net}:counters") == 1 ]] || return 1
    done
}

fault_load_start e --sessions 10 --count 3000 --duration 24 --per-session 5 --pace 0.1
fault_wait_attempts e 40
sg_wait_for -t 5 counters_back || sg_fail "counters not there before any fault"

# a) FUNCTION FLUSH: keys stay, the library goes.
loads0=$(fault_cmdstat 'function|load')
c0=$(sg_counter fl1@example.net msgs)
sg_assert_eq OK "$(sg_redis function flush)" "FUNCTION FLUSH"
t_a=$(fault_now)
sg_wait_for -t 5 fault__at_least "$((loads0 + 1))" fault_cmdstat 'function|load' ||
    sg_fail "no FUNCTION LOAD within 5 s of FUNCTION FLUSH"
sg_wait_for -t 3 fault__at_least "$((c0 + 2))" sg_counter fl1@example.net msgs ||
    sg_fail "fl1's counter stuck at $(sg_counter fl1@example.net msgs) after FUNCTION FLUSH (was $c0)"
loads_a=$(( $(fault_cmdstat 'function|load') - loads0 ))
sg_log "a) FUNCTION FLUSH: counting goes on; FUNCTION LOAD calls since: $loads_a"
sleep 3

# b) FLUSHALL + FUNCTION FLUSH: an empty Redis under the running milter.
loads1=$(fault_cmdstat 'function|load')
sg_assert_eq OK "$(sg_redis flushall)" "FLUSHALL"
sg_assert_eq OK "$(sg_redis function flush)" "FUNCTION FLUSH"
t_b=$(fault_now)
sg_wait_for -t 3 counters_back || sg_fail "counters not recreated within 3 s of FLUSHALL + FUNCTION FLUSH"
sg_log "b) FLUSHALL: counters of all 8 logins back after $(fault_ms_since "$t_b") ms"
loads_b=$(( $(fault_cmdstat 'function|load') - loads1 ))
sleep 3

# c) A fresh server, started again at once.
t_c0=$(fault_now)
sg_redis_stop
sg_redis_start
t_c=$(fault_now)
sg_log "c) fresh Redis: down for $(( $(fault_ms_since "$t_c0") - $(fault_ms_since "$t_c") )) ms"
sg_wait_for -t 3 counters_back || sg_fail "counters not recreated within 3 s of a fresh Redis"
back_c=$(fault_ms_since "$t_c")
loads_c=$(fault_cmdstat 'function|load')
sg_log "c) fresh Redis: counters of all 8 logins back after $back_c ms; FUNCTION LOAD calls: $loads_c"
fault_note "script_calls_after_flush=$loads_a script_calls_after_flushall=$loads_b script_calls_fresh_server=$loads_c counters_back_fresh_ms=$back_c"

fault_load_wait e
fault_stamp_stop
fault_reconcile e --window flush:"$t_a":"$t_b" --window fresh:"$t_c0":"$t_c"

sg_assert_eq 0 "$(fault_field e attempts_tempfailed)" "attempts tempfailed"
sg_assert_eq '' "$(fault_error_lines)" "error lines (a missing library must be handled silently)"
(( loads_a >= 1 && loads_b >= 1 && loads_c >= 1 )) ||
    sg_fail "FUNCTION LOAD calls after the flushes: $loads_a, $loads_b, $loads_c (want >= 1 each)"
# a) and b) are no outage at all; c) at most one. Timeouts on a loaded
# machine aside (see t_10), every outage ends with "redis back".
sg_assert_eq 0 "$(fault_stamped_count 'redis unavailable.*(refused|No such file|EOF|closed)' 0 "$t_c0")" \
    "outage lines before the fresh server"
n=$(fault_stamped_count 'redis unavailable.*(refused|No such file|EOF|closed|reset|Broken)')
(( n <= 1 )) || sg_fail "$n outages for one restart: $(fault_stamped 'redis unavailable')"
fault_outages_ended ||
    sg_fail "outages without 'redis back': $(sg_subguard_log_count 'redis unavailable') 'redis unavailable', $(sg_subguard_log_count 'redis back') 'redis back'"
fault_note "outages_on_fresh_server=$n all_outage_lines=$(sg_subguard_log_count 'redis unavailable')"
sg_subguard_running || sg_fail "subguard is not running at the end"
echo "t_20_redis_empty: ok"
