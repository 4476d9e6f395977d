#!/bin/bash
# t_60_redis_down: mail while Redis is gone, and Redis coming back.
# mta: postfix sendmail
# Proves:
#  - on_redis_error = accept (the default): with the world's redis-server
#    stopped, 5 messages (5 sessions) are all accepted and delivered;
#    subguard.log has exactly ONE "redis unavailable" warning for the whole
#    outage (and no per-message error lines);
#  - redis started again on the same socket (empty): within 2 s of sending
#    again subguard logs one "redis back" notice and counts again (the
#    counters key exists and counts the message);
#  - on_redis_error = tempfail (SIGHUP): with redis stopped, the first RCPT
#    gets 451 4.3.0 with the [text] redis_error message, nothing is delivered; when
#    redis is back, mail passes again.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user gina 'gina-pw'
TIERS='[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h'
sg_subguard_conf "$TIERS"
sg_subguard_start
cnt='subguard:{gina@example.net}:counters'

# 0. Redis up: counted as usual (also warms subguard's connection pool).
out=$(sg_submit --user gina@example.net --password gina-pw --to up@remote.example) ||
    sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA, redis up"
sg_assert_counter 1 gina@example.net msgs "counters msgs, redis up"

# 1. Redis stopped, on_redis_error = accept: 5 messages all go through.
sg_redis_stop
sg_redis_running && sg_fail "redis still answers after sg_redis_stop"
out=$(sg_submit --user gina@example.net --password gina-pw --to down@remote.example \
    --count 5 --per-session 1) || sg_fail "submit failed: $out"
sg_assert_eq '250 250 250 250 250' "$(sg_json 'm["mail"]' <<<"$out" | paste -sd' ')" "MAIL codes, redis down"
sg_assert_eq '250 250 250 250 250' "$(sg_json 'm["rcpt"]["down@remote.example"][0]' <<<"$out" | paste -sd' ')" \
    "RCPT codes, redis down"
sg_assert_eq '250 250 250 250 250' "$(sg_json 'm["data"][0]' <<<"$out" | paste -sd' ')" "DATA codes, redis down"
sg_wait_eq 5 sg_delivered_count down@remote.example || sg_fail "down@: $SG_LAST deliveries, want 5"
sg_assert_eq 1 "$(sg_subguard_log_count 'redis unavailable')" "'redis unavailable' lines for one outage"
sg_assert_eq 1 "$(sg_subguard_log_count 'redis unavailable at unix:.*redis\.sock')" \
    "'redis unavailable' line names the address"
sg_assert_eq 0 "$(sg_subguard_log_count 'reason=redis-error')" "per-message redis-error lines"
sg_assert_eq 0 "$(sg_subguard_log_count 'redis back')" "'redis back' while redis is down"
sg_subguard_running || sg_fail "subguard died while redis was down"

# 2. Redis back (empty): within 2 s of sending again, "redis back" and
#    counting resumes.
sg_redis_start
sg_assert_eq 0 "$(sg_redis exists "$cnt")" "counters key right after the restart (empty redis)"
sent=0
send_until_counted() {
    sent=$((sent + 1))
    sg_submit --user gina@example.net --password gina-pw --to back@remote.example >/dev/null || return 1
    sg_subguard_log_has 'redis back' && [[ $(sg_redis exists "$cnt") == 1 ]]
}
t0=${EPOCHREALTIME/[.,]/}
sg_wait_for -t 2 send_until_counted ||
    sg_fail "no 'redis back' and counters within 2 s ($sent messages sent): 'redis back' lines: $(sg_subguard_log_count 'redis back'), counters: $(sg_redis exists "$cnt")"
t1=${EPOCHREALTIME/[.,]/}
sg_log "redis back after $(( (t1 - t0) / 1000 )) ms and $sent message(s)"
sg_assert_eq 1 "$(sg_subguard_log_count 'redis back')" "'redis back' lines"
sg_assert_eq 1 "$(sg_subguard_log_count 'redis unavailable')" "'redis unavailable' lines after the recovery"
msgs=$(sg_redis hget "$cnt" msgs)
sg_assert_match '^[1-9][0-9]*$' "$msgs" "counters msgs after the recovery"
(( msgs <= sent )) || sg_fail "counters msgs $msgs > $sent messages sent after the recovery"
sg_wait_eq "$sent" sg_delivered_count back@remote.example || sg_fail "back@: $SG_LAST deliveries, want $sent"

# 3. on_redis_error = tempfail: MAIL gets 451 4.3.0 while redis is down.
SG_CONF_SUBGUARD='on_redis_error = tempfail'
sg_subguard_conf "$TIERS"
sg_subguard_hup
sg_wait_for -t 5 sg_subguard_log_has 'configuration reloaded' || sg_fail "no 'configuration reloaded'"
sg_redis_stop
out=$(sg_submit --user gina@example.net --password gina-pw --to tf@remote.example --count 2) ||
    sg_fail "submit failed: $out"
# subguard decides a message at its first RCPT (MAIL gets no milter reply).
sg_assert_eq '250 250' "$(sg_json 'm["mail"]' <<<"$out" | paste -sd' ')" "MAIL codes, redis down, tempfail"
sg_assert_eq '451 451' "$(sg_json 'm["first"][0]' <<<"$out" | paste -sd' ')" "first RCPT codes, redis down, tempfail"
sg_assert_eq '4.3.0 Temporary local problem, please try again later.' \
    "$(sg_json 'm["first"][1]' <<<"$out" | sed -n 1p)" "RCPT text, redis down, tempfail"
sg_assert_eq 'null null' "$(sg_json 'm["data"]' <<<"$out" | paste -sd' ')" "no DATA after 451 at the first RCPT"
if [[ $SG_MTA == sendmail ]]; then
    sg_wait_for -t 5 sg_maillog_has 'Milter: to=<tf@remote\.example>, reject=451 4\.3\.0 ' ||
        sg_fail "no Milter: to=... reject=451 4.3.0 in maillog"
else
    sg_wait_for -t 5 sg_maillog_has 'milter-reject: RCPT from .* 451 4\.3\.0 ' ||
        sg_fail "no milter-reject 451 4.3.0 in maillog"
fi

# ... and when redis is back, mail passes again.
sg_redis_start
send_until_ok() {
    local o
    o=$(sg_submit --user gina@example.net --password gina-pw --to tf@remote.example) || return 1
    [[ $(sg_json 'm["data"]' <<<"$o") == '[250, '* ]]
}
sg_wait_for -t 3 send_until_ok || sg_fail "mail still refused 3 s after redis came back (tempfail mode)"
sg_assert_eq 2 "$(sg_subguard_log_count 'redis unavailable')" "'redis unavailable' lines (one per outage)"
sg_assert_eq 2 "$(sg_subguard_log_count 'redis back')" "'redis back' lines (one per outage)"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
echo "t_60_redis_down: ok"
