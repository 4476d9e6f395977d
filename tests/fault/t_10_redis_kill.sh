#!/bin/bash
# t_10_redis_kill: Redis crashes (SIGKILL) in the middle of load, and returns.
# Load: 10 sessions (SG_FAULT_SESSIONS=N for a stress run), 8 logins, up to
# 20 s, through the real Postfix (AUTH
# PLAIN). on_redis_error = accept (the default); [redis] timeout = 500ms.
# Proves:
#  - mail keeps flowing while Redis is gone: messages accepted during the
#    outage, not one 4xx or 5xx for the whole run, nothing lost (every 250
#    at the dot is in the sink's log under its queue id);
#  - subguard logs the outage once ("redis unavailable" exactly 1) and no
#    per-message error line; "redis back" exactly 1, within 2 s of Redis
#    answering PING again;
#  - counting resumes on the new, empty Redis: the fault logins' counters
#    exist again and count no more messages than were accepted after the
#    restart.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_users 8
# A crash is seen at once (connection refused or closed), whatever the
# command timeout; 500 ms instead of 100 keeps a machine loaded by other
# work from adding timeouts of its own to the one outage counted here.
# (t_30_redis_slow is the test of the timeout.)
SG_CONF_REDIS='timeout = 500ms'
fault_conf
sg_subguard_start
fault_stamp_start

sessions=${SG_FAULT_SESSIONS:-10}
fault_load_start r --sessions "$sessions" --count 20000 --duration 20 --per-session 5 --pace 0.1
fault_wait_attempts r 40

# Redis crashes.
t_kill=$(fault_now)
fault_redis_kill
sg_wait_for -t 5 sg_subguard_log_has 'redis unavailable' ||
    sg_fail "no 'redis unavailable' within 5 s of killing Redis"
sg_log "redis unavailable logged $(fault_ms_since "$t_kill") ms after the kill"

# Down for 4 s with mail going on.
n0=$(fault_accepted r)
sleep 4
n1=$(fault_accepted r)
sg_log "accepted while Redis was down: $((n1 - n0)) in 4 s"
(( n1 - n0 >= 10 )) || sg_fail "only $((n1 - n0)) messages accepted in 4 s without Redis (want >= 10)"
sg_subguard_running || sg_fail "subguard died while Redis was down"

# Redis returns, empty.
sg_redis_start
t_back=$(fault_now)
sg_wait_for -t 5 sg_subguard_log_has 'redis back' || sg_fail "no 'redis back' within 5 s"
sg_log "redis back: t_kill=$t_kill t_back=$t_back"
back_ms=$(fault_ms_since "$t_back")
sg_log "'redis back' logged $back_ms ms after Redis answered PING"
fault_note "redis_back_ms=$back_ms accepted_while_down_4s=$((n1 - n0))"
(( back_ms <= 2000 )) || sg_fail "'redis back' came $back_ms ms after Redis returned (want <= 2000)"

fault_load_wait r
fault_reconcile r --window down:"$t_kill":"$t_back"

sg_assert_eq 0 "$(fault_field r attempts_tempfailed)" "attempts tempfailed (on_redis_error = accept)"
# The crash is one outage: one warning, one notice. (On a machine loaded by
# other work a command may also miss the 100 ms timeout at some other
# moment: that is an outage of its own, reported on its own, and it must
# end with its own "redis back".)
fault_stamp_stop
t_end=$("$SG_PY" -c 'import sys; print(float(sys.argv[1]) + 2.5)' "$t_back")
sg_log "outage lines (kill at $t_kill, Redis back at $t_back):"$'\n'"$(fault_stamped 'redis (unavailable|back)' | cut -c1-200)"
sg_assert_eq 1 "$(fault_stamped_count 'redis unavailable' "$t_kill" "$t_end")" \
    "'redis unavailable' lines from the crash to 2.5 s after Redis returned"
crash_line=$(fault_stamped 'redis unavailable' "$t_kill" "$t_end")
sg_log "the crash as subguard reported it: ${crash_line#* }"
# The first call to notice may find the server gone (connection refused)
# or its connection closed under it: either, but not a timeout.
sg_assert_eq 1 "$(fault_stamped_count 'redis unavailable.*(refused|No such file|closed|EOF|reset|Broken pipe)' "$t_kill" "$t_end")" \
    "'redis unavailable' lines saying Redis is gone (not a timeout)"
sg_assert_eq 1 "$(fault_stamped_count 'redis back' "$t_kill" "$t_end")" \
    "'redis back' lines from the crash to 2.5 s after Redis returned"
fault_outages_ended ||
    sg_fail "outages without 'redis back': $(sg_subguard_log_count 'redis unavailable') 'redis unavailable', $(sg_subguard_log_count 'redis back') 'redis back'"
other=$(sg_subguard_log_count 'redis unavailable')
if (( other > 1 )); then
    sg_log "other outages: $(fault_stamped 'redis unavailable|redis back' "$t_end")"
    fault_note "other_outages=$((other - 1)) (timeouts on a loaded machine, each ended with 'redis back')"
    sg_assert_eq "$((other - 1))" "$(fault_stamped_count 'redis unavailable.*no answer within' "$t_end")" \
        "outages after the recovery that are not timeouts"
fi
sg_assert_eq '' "$(fault_error_lines)" "per-message error lines"

# Counting resumed: messages accepted after the restart were counted.
after=$("$SG_PY" -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("dot") and r["dot"][0] == 250 and r["t_mail"] >= float(sys.argv[2]):
        n += 1
print(n)' "$SG_DIR/fault-r.jsonl" "$t_back")
counted=0
for ((i = 1; i <= 8; i++)); do
    counted=$((counted + $(sg_counter "fl$i@example.net" msgs)))
done
sg_log "accepted after the restart: $after, counted in the new Redis: $counted"
fault_note "accepted_after_restart=$after counted_in_new_redis=$counted"
(( after > 0 )) || sg_fail "no message accepted after Redis came back"
(( counted > 0 )) || sg_fail "nothing counted in the new Redis"
# Sent just before t_back, a message may be counted too: allow the ones
# in flight (at most one per session).
(( counted <= after + sessions )) || sg_fail "counted $counted > $after accepted after the restart (+$sessions in flight)"
sg_subguard_running || sg_fail "subguard is not running at the end"
echo "t_10_redis_kill: ok"
