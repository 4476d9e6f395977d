#!/bin/bash
# t_40_quarantine_hold: quarantine by rejected recipients, and held mail.
# mta: postfix sendmail
# Proves, with quarantine_rejected = 3/1h and quarantine_action = hold:
#  - a message to 4 recipients the MTA itself rejects (unknown*@isp.example,
#    550 5.1.1 User unknown; both MTAs show them to the milter as rejected)
#    and 1 good one: subguard logs action=quarantine and action=hold, the
#    client still gets 250 at the end of DATA, the message is held
#    (Postfix: the hold queue, postqueue -p "!"; Sendmail: quarantined,
#    mailq -qQ) and is not delivered, subguard:{LOGIN}:held lists its
#    queue id, the quarantine hash has since, reason and by;
#  - the login's next message is held too (client sees 250);
#  - after support deletes the quarantine hash, the next message is
#    delivered normally, and the lift it sees empties the held list and
#    drops the login from the index subguard:quarantined; releasing the held ones with the documented
#    commands (sg_release: postsuper -H / sendmail -Q -qQ -qI, then a
#    queue run) delivers them;
#  - a manual quarantine (HSET ... reason manual) holds mail as well.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user dave 'dave-pw'
sg_subguard_conf '[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 3/1h
# The failure test off (it would otherwise quarantine first, 4 failures
# of 5), so that what quarantines is quarantine_rejected, the limit under
# test, as a plain count.
normal_failure = 0'
sg_subguard_start
quar='subguard:{dave@example.net}:quarantine'
held='subguard:{dave@example.net}:held'

# send TO - one message from dave; sets out and qid, checks 250 at DATA
send() {
    out=$(sg_submit --user dave@example.net --password dave-pw --to "$1") ||
        sg_fail "submit to $1 failed: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA (to $1)"
    qid=$(sg_json 'm["queue_id"]' <<<"$out")
    sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id (to $1)"
}

# is_held QID - QID is in the hold queue
is_held() { sg_held_ids | grep -qx "$1"; }

# 1. 4 recipients rejected by Postfix + 1 good: quarantined and held.
send unknown1@isp.example,unknown2@isp.example,unknown3@isp.example,unknown4@isp.example,good1@remote.example
for i in 1 2 3 4; do
    sg_assert_eq 550 "$(sg_json "m[\"rcpt\"][\"unknown$i@isp.example\"][0]" <<<"$out")" "RCPT unknown$i"
done
sg_assert_eq 250 "$(sg_json 'm["rcpt"]["good1@remote.example"][0]' <<<"$out")" "RCPT good1"
q1=$qid
sg_wait_for -t 5 sg_subguard_log_has "action=quarantine stage=eom login=dave@example\.net .*qid=$q1 .*rcpts=1 rejected=4 " ||
    sg_fail "no action=quarantine line for $q1"
sg_assert_match 'recipients rejected by the MTA' "$(grep 'action=quarantine' "$SG_DIR/subguard.log")" \
    "quarantine reason in the log"
sg_assert_eq 1 "$(sg_subguard_log_count "action=hold stage=eom login=dave@example\.net .*qid=$q1 .*held=1 ")" \
    "action=hold line for $q1"
sg_wait_for -t 10 is_held "$q1" || sg_fail "$q1 is not in the hold queue: $(sg_queue_ids | paste -sd' ')"
if [[ $SG_MTA == sendmail ]]; then
    sg_wait_for -t 10 sg_maillog_has "$q1: milter=subguard, quarantine=subguard: 4 recipients rejected" ||
        sg_fail "no milter quarantine line for $q1 in maillog"
else
    sg_wait_for -t 10 sg_maillog_has "$q1: milter-hold: END-OF-MESSAGE" ||
        sg_fail "no milter-hold line for $q1 in maillog"
fi
sg_assert_eq "$q1" "$(sg_redis lrange "$held" 0 -1)" "held list"
since=$(sg_redis hget "$quar" since)
sg_assert_match '^[0-9]{10}$' "$since" "quarantine since"
now=$(date +%s)
(( since <= now && since > now - 60 )) || sg_fail "quarantine since $since is not within the last minute of $now"
sg_assert_match '^4 recipients rejected by the MTA in 1h \(quarantine threshold 3\)$' \
    "$(sg_redis hget "$quar" reason)" "quarantine reason"
sg_assert_eq subguard "$(sg_redis hget "$quar" by)" "quarantine by"

# 2. The next message from the login is held too; the client sees 250.
send good2@remote.example
q2=$qid
sg_assert_eq 250 "$(sg_json 'm["rcpt"]["good2@remote.example"][0]' <<<"$out")" "RCPT good2"
sg_wait_for -t 10 is_held "$q2" || sg_fail "$q2 (second message) is not held"
sg_assert_eq 1 "$(sg_subguard_log_count "action=hold stage=eom .*qid=$q2 .*held=2 ")" "action=hold for $q2"
sg_assert_eq "$q1 $q2" "$(sg_redis lrange "$held" 0 -1 | paste -sd' ')" "held list"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=quarantine')" "quarantine lines (only once)"

# 3. Support lifts the quarantine: the next message is delivered.
sg_assert_eq 1 "$(sg_redis del "$quar")" "DEL quarantine"
send good3@remote.example
q3=$qid
sg_wait_eq 1 sg_delivered_count good3@remote.example || sg_fail "good3: $SG_LAST deliveries after the lift"
sg_assert_eq 1 "$(sg_subguard_log_count "action=accept stage=eom .*qid=$q3 ")" "accept line for $q3"
sg_assert_eq 0 "$(sg_redis exists "$held")" "held list after the lift was seen"
sg_assert_eq 0 "$(sg_redis zcard subguard:quarantined)" "index after the lift was seen"
sg_assert_eq 0 "$(sg_delivered_count good1@remote.example)" "deliveries of held $q1 before release"
sg_assert_eq 0 "$(sg_delivered_count good2@remote.example)" "deliveries of held $q2 before release"

# ... and releasing the held messages delivers them.
sg_release "$q1" "$q2"
sg_wait_eq 1 sg_delivered_count good1@remote.example || sg_fail "good1: $SG_LAST deliveries after release"
sg_wait_eq 1 sg_delivered_count good2@remote.example || sg_fail "good2: $SG_LAST deliveries after release"
sg_assert_eq "$q1" "$(sg_delivered_ids good1@remote.example)" "sink's id for good1"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain after the release"

# 4. A manual quarantine holds mail too.
sg_redis hset "$quar" reason manual since "$(date +%s)" by support >/dev/null
send good4@remote.example
q4=$qid
sg_wait_for -t 10 is_held "$q4" || sg_fail "$q4 (manual quarantine) is not held"
sg_assert_eq 1 "$(sg_subguard_log_count "action=hold stage=eom .*qid=$q4 .*quarantine=\"manual\"")" \
    "action=hold line for $q4 (manual)"
sg_assert_eq "$q4" "$(sg_redis lrange "$held" 0 -1 | paste -sd' ')" "held list (a new quarantine's)"
sg_assert_eq dave@example.net "$(sg_redis zrange subguard:quarantined 0 -1)" \
    "index after a message of an account quarantined with redis-cli"
sg_assert_eq 0 "$(sg_delivered_count good4@remote.example)" "deliveries of $q4"
sg_assert_eq "$q4" "$(sg_held_ids)" "hold queue"

echo "t_40_quarantine_hold: ok"
