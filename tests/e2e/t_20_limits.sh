#!/bin/bash
# t_20_limits: the recipient and message limits of a tier.
# mta: postfix sendmail
# Proves, with recipients = 3/1h and messages = 2/1h:
#  - a message to 5 recipients: the first 3 get 250, the 4th and 5th get
#    451 4.7.1 with the plain-language [text] ("limit of 3 recipients per
#    hour", "try again in"); the message goes to exactly those 3;
#  - the next message is refused at its first RCPT (451 4.7.1);
#  - Redis: rcpts = 3, refused = 3 (2 + 1), msgs = 1;
#  - a second login: messages 1 and 2 pass, the 3rd gets 451 4.7.1 at its
#    first RCPT ("limit of 2 messages per hour"), and the refused attempt shows in
#    Redis (refused = 1, msgs = 2);
#  - the "try again in" a client is told when its own message used up the
#    budget is when one more recipient would really be accepted (the same
#    time the next message is told).
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user alice 'alice-pw'
sg_user bob 'bob-pw'
sg_subguard_conf '[tier default]
messages = 2/1h
recipients = 3/1h
quarantine_recipients = 100/1d
quarantine_rejected = 50/1h'
sg_subguard_start

# --- Recipient limit (alice) ------------------------------------------------
rcpts=r1@remote.example,r2@remote.example,r3@remote.example,r4@remote.example,r5@remote.example
m1_start=${EPOCHREALTIME/[.,]/}
out=$(sg_submit --user alice@example.net --password alice-pw --to "$rcpts") ||
    sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["mail"]' <<<"$out")" "MAIL (message 1)"
for r in r1 r2 r3; do
    sg_assert_eq 250 "$(sg_json "m[\"rcpt\"][\"$r@remote.example\"][0]" <<<"$out")" "RCPT $r"
done
for r in r4 r5; do
    sg_assert_eq 451 "$(sg_json "m[\"rcpt\"][\"$r@remote.example\"][0]" <<<"$out")" "RCPT $r"
    txt=$(sg_json "m[\"rcpt\"][\"$r@remote.example\"][1]" <<<"$out")
    sg_assert_match '^4\.7\.1 ' "$txt" "RCPT $r enhanced code"
    sg_assert_match 'limit of 3 recipients per hour' "$txt" "RCPT $r text"
    sg_assert_match 'try again in [0-9]+ (minute|hour)s?' "$txt" "RCPT $r text"
done
m1_end=${EPOCHREALTIME/[.,]/}
first_text=$(sg_json 'm["rcpt"]["r4@remote.example"][1]' <<<"$out")
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA (message 1)"
qid=$(sg_json 'm["queue_id"]' <<<"$out")
for r in r1 r2 r3; do
    sg_wait_eq 1 sg_delivered_count "$r@remote.example" ||
        sg_fail "$r: $SG_LAST deliveries, want 1"
done
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
for r in r4 r5; do
    sg_assert_eq 0 "$(sg_delivered_count "$r@remote.example")" "deliveries to $r"
done
sg_assert_eq 3 "$(wc -l <"$SG_DIR/sink.log")" "lines in sink.log (exactly 3 deliveries)"
sg_assert_eq 1 "$(sg_subguard_log_count "action=tempfail stage=rcpt login=alice@example\.net .*qid=$qid .*limit=recipients:3/1h")" \
    "tempfail lines for message 1 (one per message, not per recipient)"
sg_assert_eq 1 "$(sg_subguard_log_count "action=accept stage=eom login=alice@example\.net .*qid=$qid .*rcpts=3 rejected=0 refused=2")" \
    "accept line of message 1"

# The next message: refused at its first RCPT, nothing sent.
m2_start=${EPOCHREALTIME/[.,]/}
out=$(sg_submit --user alice@example.net --password alice-pw --to r6@remote.example) ||
    sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["mail"]' <<<"$out")" "MAIL (message 2)"
sg_assert_eq 451 "$(sg_json 'm["rcpt"]["r6@remote.example"][0]' <<<"$out")" "first RCPT of message 2"
m2_end=${EPOCHREALTIME/[.,]/}
next_text=$(sg_json 'm["rcpt"]["r6@remote.example"][1]' <<<"$out")
sg_assert_match '^4\.7\.1 .*limit of 3 recipients per hour.*try again in' "$next_text" "RCPT text of message 2"
sg_assert_eq null "$(sg_json 'm["data"]' <<<"$out")" "DATA of message 2"

cnt='subguard:{alice@example.net}:counters'
# The refused message is committed at RSET/abort; wait for that round trip.
sg_wait_eq -t 5 3 sg_counter alice@example.net refused || sg_fail "counters refused: $SG_LAST, want 3"
sg_assert_eq 3 "$(sg_redis hget "$cnt" rcpts)" "counters rcpts"
sg_assert_eq 1 "$(sg_redis hget "$cnt" msgs)" "counters msgs"

# --- Message limit (bob) ----------------------------------------------------
out=$(sg_submit --user bob@example.net --password bob-pw --to b1@remote.example --count 3) ||
    sg_fail "submit failed: $out"
# subguard decides a message at its first RCPT (MAIL gets no milter reply).
codes=$(sg_json 'm["mail"]' <<<"$out" | paste -sd' ')
sg_assert_eq '250 250 250' "$codes" "MAIL codes of bob's 3 messages"
codes=$(sg_json 'm["first"][0]' <<<"$out" | paste -sd' ')
sg_assert_eq '250 250 451' "$codes" "first RCPT codes of bob's 3 messages"
txt=$(sg_json 'm["first"][1]' <<<"$out" | sed -n 3p)
sg_assert_match '^4\.7\.1 .*limit of 2 messages per hour.*try again in [0-9]+ (minute|hour)' "$txt" \
    "RCPT text of message 3"
sg_assert_eq null "$(sg_json 'm["data"]' <<<"$out" | sed -n 3p)" "DATA of message 3 (none sent)"
sg_wait_eq 2 sg_delivered_count b1@remote.example || sg_fail "b1: $SG_LAST deliveries, want 2"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=tempfail stage=mail login=bob@example\.net .*limit=messages:2/1h count=2')" \
    "tempfail line for bob's message"
cnt='subguard:{bob@example.net}:counters'
sg_assert_counter 2 bob@example.net msgs "bob's counters msgs"
sg_assert_eq 1 "$(sg_redis hget "$cnt" refused)" "bob's counters refused"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"

# --- The retry time told to the client --------------------------------------
# Message 1's 4th recipient and message 2's first were refused for the same
# reason: one more recipient becomes possible at the same moment, so both
# must name the same time. Compared in seconds (the retry= of the two
# tempfail lines; the client's text is the same number rounded up to
# minutes): message 1's retry must exceed message 2's by the time that
# passed between the two refusals, as measured around the two submissions
# (plus 2 s for rounding to whole seconds). Message 2's line is the other
# tempfail line at RCPT (Postfix has no queue id there yet, qid=-;
# Sendmail has one from MAIL FROM on).
retry1=$(grep -E "action=tempfail stage=rcpt login=alice@example\.net .*qid=$qid " "$SG_DIR/subguard.log" |
    sed -n 's/.* retry=\([0-9]*\).*/\1/p')
retry2=$(grep -E 'action=tempfail stage=rcpt login=alice@example\.net ' "$SG_DIR/subguard.log" |
    grep -vF " qid=$qid " | sed -n 's/.* retry=\([0-9]*\).*/\1/p')
sg_assert_match '^[0-9]+$' "$retry1" "retry= of message 1's tempfail line"
sg_assert_match '^[0-9]+$' "$retry2" "retry= of message 2's tempfail line"
lo=$(( (m2_start - m1_end) / 1000000 - 2 ))
hi=$(( (m2_end - m1_start + 999999) / 1000000 + 2 ))
(( retry1 - retry2 >= lo && retry1 - retry2 <= hi )) ||
    sg_fail "message 1's 4th recipient was told to retry in ${retry1}s ('$first_text'), message 2" \
        "(sent ${lo}-${hi}s later, allowing 2 s of rounding) in ${retry2}s ('$next_text'):" \
        "they name different times, so the retry for a budget used up within the message" \
        "ignores that message's own recipients"

echo "t_20_limits: ok"
