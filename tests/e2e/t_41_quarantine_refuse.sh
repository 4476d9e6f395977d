#!/bin/bash
# t_41_quarantine_refuse: what a quarantined login meets beyond the hold.
# mta: postfix sendmail
# Proves:
#  - hold_max = 2: the message that quarantines the login and the next one
#    are held; the 3rd is refused at the end of DATA with 550 5.7.1 and the
#    multi-line [text] quarantine message naming the login and the support
#    contact set in [text] support = ...; it is neither queued nor added to
#    the held list; the log says action=reject stage=eom reason=hold-limit;
#  - quarantine_action = reject (SIGHUP): refused at the first RCPT (where
#    subguard decides a message; MAIL gets no milter reply) with 550 5.7.1
#    and the same text, logged action=reject stage=mail (the decision on
#    the message); no DATA follows;
#  - quarantine_action = tempfail (SIGHUP): refused at the first RCPT with
#    451 4.7.1.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

SUPPORT='the Example ISP abuse desk at abuse@isp.example or 0800 555 0100'
TIERS='[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 3/1h

[text]
support = '"$SUPPORT"

sg_world_up
sg_user erin 'erin-pw'
SG_CONF_SUBGUARD='hold_max = 2'
sg_subguard_conf "$TIERS"
sg_subguard_start
held='subguard:{erin@example.net}:held'

# send TO - one message from erin; sets out
send() {
    out=$(sg_submit --user erin@example.net --password erin-pw --to "$1") ||
        sg_fail "submit to $1 failed: $out"
}

# check_qtext TEXT CODE WHAT - TEXT is the multi-line quarantine message
check_qtext() {
    local t=$1 code=$2 what=$3 n
    n=$(grep -c . <<<"$t")
    (( n >= 2 )) || sg_fail "$what: want a multi-line reply, got '$t'"
    n=$(grep -cv "^$code " <<<"$t") || true
    sg_assert_eq 0 "$n" "$what: lines not starting with $code"
    sg_assert_match 'Your account erin@example\.net appears to be sending mail' "$t" "$what"
    sg_assert_match "Please contact $SUPPORT\." "$(tr '\n' ' ' <<<"$t" | sed "s/ $code / /g")" "$what"
}

# 1. Quarantined by 4 MTA-rejected recipients: held (1 of 2).
send unknown1@isp.example,unknown2@isp.example,unknown3@isp.example,unknown4@isp.example,good1@remote.example
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA, message 1"
q1=$(sg_json 'm["queue_id"]' <<<"$out")
sg_wait_for -t 5 sg_subguard_log_has "action=quarantine .*qid=$q1 " || sg_fail "message 1 did not quarantine"
# 2. Held (2 of 2).
send good2@remote.example
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA, message 2"
q2=$(sg_json 'm["queue_id"]' <<<"$out")
held_sorted() { sg_held_ids | sort | paste -sd' '; }
want=$(printf '%s\n' "$q1" "$q2" | sort | paste -sd' ')
sg_wait_eq -t 10 "$want" held_sorted || sg_fail "held mail: '$SG_LAST', want $want"
sg_assert_eq 2 "$(sg_redis llen "$held")" "held list length"

# 3. Over hold_max: refused at end of DATA with 550 5.7.1 and the text.
send good3@remote.example
sg_assert_eq 250 "$(sg_json 'm["rcpt"]["good3@remote.example"][0]' <<<"$out")" "RCPT good3"
sg_assert_eq 550 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA, message 3 (over hold_max)"
sg_assert_eq null "$(sg_json 'm["queue_id"]' <<<"$out")" "queue id of message 3"
check_qtext "$(sg_json 'm["data"][1]' <<<"$out")" 5.7.1 "DATA reply of message 3"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=reject stage=eom login=erin@example\.net .*reason=hold-limit')" \
    "action=reject stage=eom reason=hold-limit"
sg_assert_eq 2 "$(sg_redis llen "$held")" "held list length after the refusal"
sg_assert_eq 2 "$(sg_queue_ids | wc -l)" "messages in the queue (the 2 held)"
sg_assert_eq 0 "$(sg_delivered_count good3@remote.example)" "deliveries of message 3"

# 4. quarantine_action = reject: refused at the first RCPT.
SG_CONF_SUBGUARD='hold_max = 2
quarantine_action = reject'
sg_subguard_conf "$TIERS"
sg_subguard_hup
sg_wait_for -t 5 sg_subguard_log_has 'configuration reloaded' || sg_fail "no 'configuration reloaded'"
refused0=$(sg_counter erin@example.net refused)
send good4@remote.example
sg_assert_eq 250 "$(sg_json 'm["mail"]' <<<"$out")" "MAIL of message 4"
sg_assert_eq 550 "$(sg_json 'm["first"][0]' <<<"$out")" "first RCPT of message 4 (quarantine_action = reject)"
check_qtext "$(sg_json 'm["first"][1]' <<<"$out")" 5.7.1 "RCPT reply of message 4"
sg_assert_eq null "$(sg_json 'm["data"]' <<<"$out")" "DATA of message 4 (none sent)"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=reject stage=mail login=erin@example\.net .*reason=quarantined')" \
    "action=reject stage=mail"
sg_assert_eq $((refused0 + 1)) "$(sg_counter erin@example.net refused)" "counters refused"

# 5. quarantine_action = tempfail: 451 4.7.1 at the first RCPT.
SG_CONF_SUBGUARD='hold_max = 2
quarantine_action = tempfail'
sg_subguard_conf "$TIERS"
sg_subguard_hup
sg_wait_eq -t 5 2 sg_subguard_log_count 'configuration reloaded' || sg_fail "no second 'configuration reloaded'"
send good5@remote.example
sg_assert_eq 451 "$(sg_json 'm["first"][0]' <<<"$out")" "first RCPT of message 5 (quarantine_action = tempfail)"
check_qtext "$(sg_json 'm["first"][1]' <<<"$out")" 4.7.1 "RCPT reply of message 5"

sg_assert_eq 2 "$(sg_redis llen "$held")" "held list length at the end"
sg_assert_eq 0 "$(sg_delivered_count good2@remote.example)" "deliveries of held message 2"
echo "t_41_quarantine_refuse: ok"
