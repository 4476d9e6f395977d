#!/bin/bash
# t_50_two_nodes: two subguard instances sharing one Redis enforce one limit.
# mta: postfix sendmail
# The world gets a second submission listener whose milter is a second
# subguard (own config file and socket, same Redis): node A is the world's
# usual listener + subguard, node B the added pair (sg_submission_add:
# Postfix a second smtpd with its own smtpd_milters, Sendmail a second MSA
# daemon with its own filter). Both listeners are the same MTA, which is
# fine: what is under test is that the two milter processes count one
# login in one place.
# Proves, with recipients = 4/1h: 3 recipients through A (all 250), then 3
# through B: exactly 1 of B's accepted, the other 2 get 451 4.7.1 "limit of
# 4 recipients"; A's log has the accept, B's log has the tempfail (so the
# message really went through B); Redis holds rcpts = 4 for the login; one
# more message through A is refused at its first RCPT.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user frank 'frank-pw'
sg_subguard_conf '[tier default]
messages = 50/1h
recipients = 4/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h'
sg_subguard_start                                   # node A

# Node B: the same configuration on another socket.
B_SOCK=$SG_DIR/subguard-b.sock
B_CONF=$SG_DIR/subguard-b.conf
B_LOG=$SG_DIR/subguard-b.log
sed "s|^listen = .*|listen = unix:$B_SOCK|" "$SG_DIR/subguard.conf" >"$B_CONF"
grep -q "^address = unix:$SG_REDIS_SOCK\$" "$B_CONF" || sg_fail "node B's config does not use the world's Redis"
SG_WORLD=$SG_DIR "$SG_BUILD/subguard" -f -c "$B_CONF" </dev/null >>"$B_LOG" 2>&1 &
B_PID=$!
b_ready() { [[ -S $B_SOCK ]] && runuser -u postfix -- test -w "$B_SOCK"; }
sg_wait_for -t 10 b_ready || sg_fail "node B did not open $B_SOCK: $(tail -5 "$B_LOG")"
B_PORT=$(sg_free_port)
sg_submission_add "$B_PORT" "smtpd_milters=unix:$B_SOCK" syslog_name=postfix/submission-b
sg_log "node B: subguard $B_PID on $B_SOCK, submission 127.0.0.1:$B_PORT"

# 1. Node A: 3 recipients, all accepted.
out=$(sg_submit --user frank@example.net --password frank-pw \
    --to a1@remote.example,a2@remote.example,a3@remote.example) || sg_fail "submit via A failed: $out"
for r in a1 a2 a3; do
    sg_assert_eq 250 "$(sg_json "m[\"rcpt\"][\"$r@remote.example\"][0]" <<<"$out")" "RCPT $r via A"
done
qa=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_eq 1 "$(sg_subguard_log_count "action=accept stage=eom login=frank@example\.net .*qid=$qa .*rcpts=3 ")" \
    "node A's accept line"

# 2. Node B: 3 recipients, exactly one accepted.
out=$(sg_submit --port "$B_PORT" --user frank@example.net --password frank-pw \
    --to b1@remote.example,b2@remote.example,b3@remote.example) || sg_fail "submit via B failed: $out"
codes=$(for r in b1 b2 b3; do sg_json "m[\"rcpt\"][\"$r@remote.example\"][0]" <<<"$out"; done | paste -sd' ')
sg_assert_eq '250 451 451' "$codes" "RCPT codes via B (4/1h shared: 3 used on A)"
sg_assert_match '^4\.7\.1 .*limit of 4 recipients per hour' \
    "$(sg_json 'm["rcpt"]["b2@remote.example"][1]' <<<"$out")" "RCPT b2 text"
qb=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA via B"
sg_assert_eq 1 "$(sg_subguard_log_count "action=tempfail stage=rcpt login=frank@example\.net .*qid=$qb .*limit=recipients:4/1h count=4" "$B_LOG")" \
    "node B's tempfail line"
sg_assert_eq 1 "$(sg_subguard_log_count "action=accept stage=eom .*qid=$qb .*rcpts=1 rejected=0 refused=2" "$B_LOG")" \
    "node B's accept line"
sg_assert_eq 0 "$(sg_subguard_log_count "qid=$qb" "$SG_DIR/subguard.log")" "node A's lines about $qb"
sg_assert_eq 0 "$(sg_subguard_log_count "qid=$qa" "$B_LOG")" "node B's lines about $qa"
sg_assert_counter 4 frank@example.net rcpts "counters rcpts (both nodes)"

sg_wait_eq 1 sg_delivered_count b1@remote.example || sg_fail "b1: $SG_LAST deliveries"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
sg_assert_eq 4 "$(wc -l <"$SG_DIR/sink.log")" "deliveries in total (4 = the shared limit)"

# 3. Back on node A: the budget is spent there too.
out=$(sg_submit --user frank@example.net --password frank-pw --to a4@remote.example) ||
    sg_fail "submit via A failed: $out"
sg_assert_eq 451 "$(sg_json 'm["rcpt"]["a4@remote.example"][0]' <<<"$out")" "RCPT a4 via A after B"

sg__alive "$B_PID" || sg_fail "node B died"
kill -TERM "$B_PID"
rc=0; wait "$B_PID" || rc=$?
sg_assert_eq 0 "$rc" "node B's exit status on SIGTERM"
echo "t_50_two_nodes: ok"
