#!/bin/bash
# t_00_world: the test world itself, without subguard (no milter).
# mta: postfix sendmail
# Proves: AUTH submission is relayed to the sink; unauthenticated relaying is
# refused 5xx (Postfix at RCPT; Sendmail's MSA already at MAIL FROM); a
# recipient the next hop refuses (bad*) bounces with dsn=5.1.1 and the DSN
# reaches the sender; unknown*@isp.example is refused by the MTA at RCPT;
# wrong passwords fail AUTH; redis answers; the queue drains.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

SG_MILTERS=             # no milter in this test
sg_world_up
sg_user alice 'alice-pw'
sg_assert_eq PONG "$(sg_redis ping)" "redis PING"

# 1. Authenticated submission to two recipients: both delivered.
out=$(sg_submit --user alice@example.net --password alice-pw \
    --to one@remote.example,two@remote.example) || sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["rcpt"]["one@remote.example"][0]' <<<"$out")" "RCPT one"
sg_assert_eq 250 "$(sg_json 'm["rcpt"]["two@remote.example"][0]' <<<"$out")" "RCPT two"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA"
qid=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id"
sg_wait_eq 1 sg_delivered_count one@remote.example || sg_fail "one@: $SG_LAST deliveries"
sg_wait_eq 1 sg_delivered_count two@remote.example || sg_fail "two@: $SG_LAST deliveries"
sg_assert_eq "$qid" "$(sg_delivered_ids one@remote.example)" "sink's id for one@"

# 2. No AUTH: relaying refused by Postfix with 5xx.
out=$(sg_submit --from alice@example.net --to three@remote.example) ||
    sg_fail "unauthenticated submit failed: $out"
if [[ $SG_MTA == sendmail ]]; then
    code=$(sg_json 'm["mail"]' <<<"$out")
else
    code=$(sg_json 'm["rcpt"]["three@remote.example"][0]' <<<"$out")
fi
sg_assert_match '^5[0-9][0-9]$' "$code" "MAIL or RCPT without AUTH"
sg_assert_eq null "$(sg_json 'm["data"]' <<<"$out")" "DATA without AUTH"

# 3. A wrong password: submit.py exits 2.
rc=0
sg_submit --user alice@example.net --password wrong --to four@remote.example \
    >/dev/null 2>&1 || rc=$?
sg_assert_eq 2 "$rc" "submit.py status with a wrong password"

# 4. bad1@remote.example: accepted by Postfix, refused by the next hop,
#    bounced (dsn=5.1.1), the DSN goes back to alice (sender <>).
# 5. unknown@isp.example: refused by Postfix at RCPT with 550 5.1.1.
out=$(sg_submit --user alice@example.net --password alice-pw \
    --to bad1@remote.example,unknown@isp.example,five@remote.example) ||
    sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["rcpt"]["bad1@remote.example"][0]' <<<"$out")" "RCPT bad1"
sg_assert_eq 550 "$(sg_json 'm["rcpt"]["unknown@isp.example"][0]' <<<"$out")" "RCPT unknown"
sg_assert_match '^5\.1\.1 ' "$(sg_json 'm["rcpt"]["unknown@isp.example"][1]' <<<"$out")" \
    "RCPT unknown text"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA (bad1)"
bq=$(sg_json 'm["queue_id"]' <<<"$out")
sg_wait_eq 1 sg_bounced_rcpts "$bq" || sg_fail "no final dsn=5.1.1 line for bad1@remote.example ($bq)"
sg_wait_eq 1 sg_delivered_count five@remote.example || sg_fail "five@: $SG_LAST deliveries"
sg_wait_eq 1 sg_delivered_count alice@example.net || sg_fail "DSN to alice: $SG_LAST"
grep -q ' alice@example.net <>$' "$SG_DIR/sink.log" || sg_fail "the DSN's sender is not <>"
sg_assert_eq 0 "$(sg_delivered_count bad1@remote.example)" "deliveries to bad1"
sg_assert_eq 0 "$(sg_delivered_count unknown@isp.example)" "deliveries to unknown"

# 6. Everything delivered or bounced: the queue drains, nothing held.
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
sg_assert_eq "" "$(sg_held_ids)" "held ids"

echo "t_00_world: ok"
