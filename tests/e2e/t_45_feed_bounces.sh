#!/bin/bash
# t_45_feed_bounces: a login whose recipients bounce is quarantined by
# subguard-feed reading the MTA's real delivery log, on either MTA.
# mta: postfix sendmail
# One subguard-feed follows the world's maillog (Postfix's maillog_file;
# Sendmail's syslog lines caught by the harness's shim) for the whole
# script. With quarantine_failed = 4/1h (the failure test made insensitive,
# so that the limit under test decides; the net counts failures only
# above spam_failure, 60%, of the hour's recipients: 3 of 4, 5 of 7 are)
# it proves:
#  1. mallory's first message, to 3 addresses the next hop refuses (the
#     sink: 550 5.1.1 for bad*) and 1 good one, is accepted at submission
#     (250 for all); the MTA logs 3 final 5.1.1 failures for its queue id
#     (Postfix: status=bounced; Sendmail: dsn=5.1.1 ... stat=User
#     unknown), the feed counts them (counters bounced = 3) against the
#     login the milter recorded for that queue id; no quarantine (3 <= 4);
#  2. the second message, with 2 more bad recipients: the 5th failure
#     quarantines the login from the feed (source=feed, the feed's log says
#     action=quarantine source=feed login=... qid=<2nd id> class=mailbox);
#     the milter never quarantined it;
#  3. mallory's next message is held (Postfix hold queue / Sendmail
#     quarantine), not delivered; support lifts the quarantine and
#     releases it (sg_release: the documented commands): delivered;
#  4. at SIGTERM the feed exits 0; its summary counted the 5 failures and 1
#     quarantine. Lines it could not parse must be none, except Sendmail's
#     "stat=quarantined" lines of held mail (no dsn=), which
#     lib/sg_logparse.c does not know yet: tolerated and reported here.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

# This test is about counting through the MTA's log: give Redis time on a
# loaded machine (a milter call that times out leaves a queue id without
# its login, a feed call that times out is retried).
# shellcheck disable=SC2034 # read by sg_world_up
SG_CONF_REDIS='timeout = 2s'
sg_world_up
sg_user mallory 'mallory-pw'
sg_subguard_conf '[tier default]
messages = 1000/1h
recipients = 1000/1h
quarantine_recipients = 100000/1d
quarantine_rejected = 1000/1h
quarantine_failed = 4/1h
normal_failure = 50%
spam_failure = 60%'
sg_subguard_start
sg_feed_start
M=mallory@example.net
mq="subguard:{$M}:quarantine"

# send RCPTS - one message from mallory, every recipient accepted; sets qid
send() {
    local out
    out=$(sg_submit --user "$M" --password mallory-pw --to "$1") ||
        sg_fail "submit failed: $out"
    [[ $(sg_json 'sorted(set(v[0] for v in m["rcpt"].values()))' <<<"$out") == '[250]' ]] ||
        sg_fail "a recipient was refused at submission: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA"
    qid=$(sg_json 'm["queue_id"]' <<<"$out")
    sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id"
}
quarantined() { [[ $(sg_redis exists "$mq") == 1 ]]; }
# feed_caught_up - the feed's saved position is the end of the maillog
feed_caught_up() {
    [[ $(sg_redis get subguard:feed:default) == "$(stat -c '%d:%i:%s' "$SG_DIR/maillog")" ]]
}

# --- 1. Three bounces: counted, not yet quarantined ------------------------
send bad1@remote.example,bad2@remote.example,bad3@remote.example,good1@remote.example
q1=$qid
sg_wait_eq 3 sg_bounced_rcpts "$q1" || sg_fail "$q1: $SG_LAST failed recipients in the maillog, want 3"
if [[ $SG_MTA == sendmail ]]; then
    sg_assert_match "$q1: to=<bad[0-9]@remote\\.example>.*, mailer=relay, .*, dsn=5\\.1\\.1, reply=550 5\\.1\\.1 .*, stat=User unknown" \
        "$(grep -m1 "$q1: to=<bad" "$SG_DIR/maillog")" "Sendmail's line for a refused recipient"
else
    sg_assert_match "$q1: to=<bad[0-9]@remote\\.example>, relay=.*, dsn=5\\.1\\.1, status=bounced " \
        "$(grep -m1 "$q1: to=<bad" "$SG_DIR/maillog")" "Postfix's line for a refused recipient"
fi
sg_wait_eq 3 sg_counter "$M" bounced || sg_fail "bounced: $SG_LAST, want 3"
sg_wait_eq 1 sg_delivered_count good1@remote.example || sg_fail "good1: $SG_LAST deliveries"
sg_wait_for sg_queue_empty || sg_fail "message 1 and its DSN did not leave the queue"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_eq 0 "$(sg_redis exists "$mq")" "quarantined after 3 failures"

# --- 2. Two more: the feed quarantines ----------------------------------------
send bad4@remote.example,bad5@remote.example,good2@remote.example
q2=$qid
sg_wait_for -t 20 quarantined || sg_fail "not quarantined after $q2: bounced=$(sg_counter "$M" bounced)"
sg_assert_eq feed "$(sg_redis hget "$mq" source)" "quarantine source"
sg_assert_match '^5 failed recipients in 1h \(quarantine threshold 4\)$' \
    "$(sg_redis hget "$mq" reason)" "quarantine reason"
sg_wait_eq -t 5 1 sg_feed_log_count "action=quarantine source=feed login=$M qid=$q2 class=mailbox " ||
    sg_fail "feed: $SG_LAST action=quarantine lines for $q2, want 1"
sg_wait_eq 5 sg_counter "$M" bounced || sg_fail "bounced: $SG_LAST, want 5"
sg_assert_eq 0 "$(sg_subguard_log_count 'action=quarantine')" "the milter's quarantine lines"

# --- 3. The next message is held; lift and release ------------------------------
send good3@remote.example
q3=$qid
is_held() { sg_held_ids | grep -qx "$1"; }
sg_wait_for -t 10 is_held "$q3" || sg_fail "$q3 is not held: $(sg_queue_ids | paste -sd' ')"
sg_assert_eq 1 "$(sg_subguard_log_count "action=hold stage=eom login=$M .*qid=$q3 ")" "action=hold line"
sg_assert_eq 0 "$(sg_delivered_count good3@remote.example)" "deliveries of held $q3"
sg_assert_eq 1 "$(sg_redis del "$mq")" "support lifts the quarantine"
sg_release "$q3"
sg_wait_eq 1 sg_delivered_count good3@remote.example || sg_fail "good3: $SG_LAST deliveries after release"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"

# --- 4. The feed's summary --------------------------------------------------------
sg_feed_stop
sg_assert_eq 0 "$SG_FEED_RC" "subguard-feed exit status after SIGTERM"
summary=$(grep 'stopped: lines=' "$SG_DIR/feed.log")
sg_assert_match " counted=5 unknown_qid=0 quarantined=1 " "$summary" "feed summary"
bad=$(sed -n 's/.* unparsable=\([0-9]*\).*/\1/p' <<<"$summary")
held_lines=$(grep -c ', stat=quarantined$' "$SG_DIR/maillog" || true)
samples=$(grep 'unparsable line' "$SG_DIR/feed.log" || true)
if [[ $SG_MTA == sendmail ]]; then
    ((bad <= held_lines)) ||
        sg_fail "feed: $bad unparsable lines, more than the $held_lines stat=quarantined lines: $samples"
    if [[ -n $samples ]]; then
        grep 'unparsable line' "$SG_DIR/feed.log" | grep -vq 'stat=quarantined"$' &&
            sg_fail "feed: an unparsable line other than stat=quarantined: $samples"
        sg_log "KNOWN GAP: subguard-feed counts Sendmail's 'stat=quarantined' lines" \
            "($held_lines here) as unparsable: $bad"
    fi
else
    sg_assert_eq 0 "$bad" "feed: unparsable lines ($samples)"
fi

echo "t_45_feed_bounces: ok"
