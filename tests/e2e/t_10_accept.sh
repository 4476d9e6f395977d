#!/bin/bash
# t_10_accept: subguard in the path, nothing over any limit.
# mta: postfix sendmail
# Proves: mail without AUTH is none of subguard's business (the MTA itself
# refuses it: Postfix the relaying at RCPT with 554 5.7.1, Sendmail's MSA
# (M=a) already the MAIL FROM with 530 5.7.0; subguard writes no Redis key
# and logs no decision); an authenticated user's message to three
# recipients is delivered to all three, subguard logs one action=accept
# line for it with the login, tier, counts and the queue id the client was
# told, and the client's address (from {client_addr}: subguard skips the
# CONNECT step), and counts it in Redis (msgs, rcpts) and remembers the
# queue id's login and time.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user alice 'alice-pw'
sg_subguard_conf '[tier default]
messages = 10/1h
recipients = 10/1h
quarantine_recipients = 100/1d
quarantine_rejected = 10/1h'
sg_subguard_start

# 1. No AUTH: the MTA refuses it itself; subguard stays out.
out=$(sg_submit --from alice@example.net --to one@remote.example,two@remote.example) ||
    sg_fail "unauthenticated submit failed: $out"
if [[ $SG_MTA == sendmail ]]; then
    # M=a on the MSA: no MAIL FROM before AUTH, so no RCPT is even tried.
    sg_assert_eq 530 "$(sg_json 'm["mail"]' <<<"$out")" "MAIL without AUTH"
    sg_assert_match '^5\.7\.0 Authentication required' "$(sg_json 'm["mail_text"]' <<<"$out")" \
        "MAIL without AUTH (text)"
    sg_assert_eq '{}' "$(sg_json 'm["rcpt"]' <<<"$out")" "RCPTs without AUTH"
else
    for r in one@remote.example two@remote.example; do
        sg_assert_eq 554 "$(sg_json "m[\"rcpt\"][\"$r\"][0]" <<<"$out")" "RCPT $r without AUTH"
        sg_assert_match '^5\.7\.1 ' "$(sg_json "m[\"rcpt\"][\"$r\"][1]" <<<"$out")" \
            "RCPT $r without AUTH (text)"
    done
    sg_wait_for -t 5 sg_maillog_has 'NOQUEUE: reject: RCPT from .* 554 5\.7\.1 <two@remote\.example>' ||
        sg_fail "no Postfix reject line for the unauthenticated RCPT"
fi
sg_assert_eq null "$(sg_json 'm["data"]' <<<"$out")" "DATA without AUTH"
# Postfix asked the milter (MAIL FROM came through it), Sendmail did not;
# either way nothing was decided.
sg_assert_eq "" "$(sg_redis --raw keys 'subguard:*')" "Redis keys after unauthenticated mail"
sg_assert_eq 0 "$(sg_subguard_log_count 'action=')" "decision lines after unauthenticated mail"
sg_assert_eq 0 "$(sg_delivered_count one@remote.example)" "deliveries to one@ without AUTH"

# 2. AUTH: delivered to every recipient, one accept line, counted.
rcpts=a1@remote.example,a2@remote.example,a3@remote.example
out=$(sg_submit --user alice@example.net --password alice-pw --to "$rcpts") ||
    sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["mail"]' <<<"$out")" "MAIL"
for r in ${rcpts//,/ }; do
    sg_assert_eq 250 "$(sg_json "m[\"rcpt\"][\"$r\"][0]" <<<"$out")" "RCPT $r"
done
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA"
qid=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id"
for r in ${rcpts//,/ }; do
    sg_wait_eq 1 sg_delivered_count "$r" || sg_fail "$r: $SG_LAST deliveries, want 1"
    sg_assert_eq "$qid" "$(sg_delivered_ids "$r")" "sink's queue id for $r"
done
sg_wait_for -t 5 sg_subguard_log_has "action=accept stage=eom login=alice@example\.net .*qid=$qid tier=default rcpts=3 rejected=0 refused=0" ||
    sg_fail "no action=accept line for $qid"
# subguard skips the CONNECT step: the client's address comes as the
# macro {client_addr} at MAIL, from either MTA.
sg_assert_eq 1 "$(sg_subguard_log_count "action=accept stage=eom login=alice@example\.net client=127\.0\.0\.1 qid=$qid ")" \
    "the accept line names the client's address"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=')" "decision lines in total"
sg_assert_eq 0 "$(sg_subguard_log_count 'action=(tempfail|hold|quarantine|reject)')" \
    "refusing decisions"

cnt='subguard:{alice@example.net}:counters'
sg_assert_counter 1 alice@example.net msgs "counters msgs"
sg_assert_eq 1 "$(sg_redis exists "$cnt")" "counters key exists"
sg_assert_counter 3 alice@example.net rcpts "counters rcpts"
sg_assert_counter 0 alice@example.net refused "counters refused"
# subguard:qid:QID holds "LOGIN TIME N" (for the delivery-log feed: N,
# the recipients accepted, caps the bounces that can count).
sent=$(sg_redis get "subguard:qid:$qid")
sg_assert_match '^alice@example\.net [0-9]{10} 3$' "$sent" "subguard:qid:$qid (login, time sent, recipients)"
at=${sent#* }
at=${at%% *}
(( at <= $(date +%s) && at > $(date +%s) - 60 )) ||
    sg_fail "subguard:qid:$qid: time sent $at is not within the last minute"
ttl=$(sg_redis ttl "$cnt")
sg_assert_match '^[1-9][0-9]*$' "$ttl" "TTL of the counters key (it must expire)"
sg_assert_eq 0 "$(sg_redis exists 'subguard:{alice@example.net}:quarantine')" "quarantine key"

sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
echo "t_10_accept: ok"
