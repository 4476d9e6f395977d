#!/bin/bash
# t_21_port465: mail through port 465 (implicit TLS, RFC 8314) is counted
# and limited exactly like mail through 587, on one budget.
# mta: postfix sendmail
# The world's submission listener (587's kind) plus a second one with
# implicit TLS set up as contrib says (Postfix: "submissions" with
# smtpd_tls_wrappermode=yes; Sendmail: subguard.m4's SUBGUARD_SMTPS, an MSA
# with M=Eas), a certificate made with openssl at test time, and the same
# subguard. With messages = 3/1h and recipients = 5/1h, proves:
#  - the TLS listener speaks TLS from the first byte: a plain-text client
#    gets no greeting there, and the test client verifies the certificate
#    against the test CA (the MTA's log shows the TLS session);
#  - one message through 587 (1 recipient), then two through 465 (2 + 1):
#    all accepted, and one counter for both ports: msgs = 3, rcpts = 4;
#    the 465 messages have subguard's accept lines with their queue ids;
#  - the budget trips across the ports: a 4th message through 465 gets 451
#    4.7.1 at its first RCPT ("limit of 3 messages per hour"), and so does one
#    through 587; refused = 2;
#  - a second login through 465 alone: 6 recipients in one message, the
#    6th gets 451 4.7.1 ("limit of 5 recipients per hour") exactly as
#    t_20 shows on 587.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user ana ana-pw
sg_user ben ben-pw
sg_subguard_conf '[tier default]
messages = 3/1h
recipients = 5/1h
quarantine_recipients = 100/1d
quarantine_rejected = 50/1h'
sg_subguard_start
P465=$(sg_free_port)
sg_smtps_add "$P465"
CA=$SG_DIR/tls/cert.pem
A=ana@example.net

# submit465 ARGS... - sg_submit through the implicit-TLS listener
submit465() { sg_submit --port "$P465" --smtps "$CA" "$@"; }

# --- TLS from the first byte ---------------------------------------------------
out=$(sg_submit --port "$P465" --timeout 5 --user "$A" --password ana-pw --to x@remote.example 2>&1) &&
    sg_fail "a plain-text session on the TLS port got through: $out"
sg_assert_eq 0 "$(sg_counter "$A" msgs)" "msgs after the plain-text attempt"

# --- 587 and 465 on one budget -------------------------------------------------
out=$(sg_submit --user "$A" --password ana-pw --to a1@remote.example) ||
    sg_fail "submit through 587 failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA through 587"
out=$(submit465 --user "$A" --password ana-pw --to a2@remote.example,a3@remote.example) ||
    sg_fail "submit through 465 failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA through 465 (message 2)"
q2=$(sg_json 'm["queue_id"]' <<<"$out")
out=$(submit465 --user "$A" --password ana-pw --to a4@remote.example) ||
    sg_fail "submit through 465 failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA through 465 (message 3)"
q3=$(sg_json 'm["queue_id"]' <<<"$out")
for q in "$q2" "$q3"; do
    sg_assert_match '^[0-9A-Za-z]+$' "$q" "queue id of a 465 message"
    sg_wait_eq -t 5 1 sg_subguard_log_count "action=accept stage=eom login=ana@example\.net .*qid=$q " ||
        sg_fail "subguard's accept lines for $q (465): $SG_LAST, want 1"
done
sg_assert_counter 3 "$A" msgs "msgs over both ports"
sg_assert_counter 4 "$A" rcpts "rcpts over both ports"
for r in a1 a2 a3 a4; do
    sg_wait_eq 1 sg_delivered_count "$r@remote.example" || sg_fail "$r: $SG_LAST deliveries, want 1"
done
case $SG_MTA in
postfix) tls_line='postfix/submissions/smtpd\[[0-9]+\]: .*TLS connection established from' ;;
sendmail) tls_line='STARTTLS=server, relay=.*version=TLS' ;;
esac
(($(grep -cE "$tls_line" "$SG_DIR/maillog") >= 2)) ||
    sg_fail "the MTA logged no TLS session for the 465 submissions ($tls_line)"

# --- the limit trips across the ports ------------------------------------------
out=$(submit465 --user "$A" --password ana-pw --to a5@remote.example) ||
    sg_fail "submit through 465 failed: $out"
sg_assert_eq 451 "$(sg_json 'm["first"][0]' <<<"$out")" "first RCPT of the 4th message (465)"
sg_assert_match '^4\.7\.1 .*limit of 3 messages per hour' "$(sg_json 'm["first"][1]' <<<"$out")" \
    "RCPT text of the 4th message (465)"
out=$(sg_submit --user "$A" --password ana-pw --to a6@remote.example) ||
    sg_fail "submit through 587 failed: $out"
sg_assert_eq 451 "$(sg_json 'm["first"][0]' <<<"$out")" "first RCPT of the 5th message (587)"
sg_wait_eq -t 5 2 sg_counter "$A" refused || sg_fail "ana's refused: $SG_LAST, want 2"
sg_assert_counter 3 "$A" msgs "msgs after the refusals"
sg_assert_eq 0 "$(sg_delivered_count a5@remote.example)" "deliveries to a5"

# --- the recipient limit on 465 alone ------------------------------------------
rcpts=b1@remote.example,b2@remote.example,b3@remote.example,b4@remote.example,b5@remote.example,b6@remote.example
out=$(submit465 --user ben@example.net --password ben-pw --to "$rcpts") ||
    sg_fail "submit through 465 failed: $out"
for r in b1 b2 b3 b4 b5; do
    sg_assert_eq 250 "$(sg_json "m[\"rcpt\"][\"$r@remote.example\"][0]" <<<"$out")" "RCPT $r (465)"
done
sg_assert_eq 451 "$(sg_json 'm["rcpt"]["b6@remote.example"][0]' <<<"$out")" "RCPT b6 (465)"
sg_assert_match '^4\.7\.1 .*limit of 5 recipients per hour' \
    "$(sg_json 'm["rcpt"]["b6@remote.example"][1]' <<<"$out")" "RCPT b6 text (465)"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA (ben, 465)"
sg_assert_counter 5 ben@example.net rcpts "ben's rcpts"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"

echo "t_21_port465: ok"
