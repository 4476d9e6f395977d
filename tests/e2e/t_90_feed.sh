#!/bin/bash
# mta: postfix
# t_90_feed: failure-based detection through subguard-feed on real Postfix.
# One subguard-feed follows the maillog (-f, follow mode) for the whole
# script. Proves:
#  1. a compromised login is quarantined from its bounces alone. The tier
#     is loose enough that no limit and no MTA-rejection threshold can
#     fire; the failure test has its defaults (2% / 15% / 0.1% / 1%).
#     mallory sends 20 good recipients (history), then a message of 4
#     bad + 1 good (the sink refuses bad*: status=bounced dsn=5.1.1): 4
#     bounces, score 5.07 < 6.9, not quarantined; then a second one:
#     still not (one message adds at most 4.14 to the test over the last
#     hour, so its 8 failures of 30 weigh 5.43); a third: its 1st or 2nd
#     bounce quarantines (9 or 10 of 35). The quarantine hash has
#     source=feed, by, tier, failed, rcpts=35, a "failure test: 9 of 35
#     ..." reason and qids = the three real queue ids; the feed logs
#     action=quarantine source=feed once; mallory's next message is in
#     the hold queue (postqueue -p "!");
#  2. gina sends 30 good recipients: the delivered
#     lines count nothing, no quarantine;
#  3. a clean bulk login (tier bulk set in Redis, bulk-sized limits)
#     sends 2000 recipients in 20 messages of 100, one bad* in each: 1980
#     delivered, 20 bounced, counters field bounced = 20, no quarantine;
#  4. at SIGTERM the feed exits 0 and its summary counts exactly the 32
#     bounces and 1 quarantine.
set -euo pipefail
. "$(dirname "$0")/harness.sh"
# Postfix only: postqueue, postlogd's maillog_file, Postfix's log lines.
[[ $SG_MTA == postfix ]] || sg_fail "t_90_feed runs on Postfix only, not SG_MTA=$SG_MTA"

# --- helpers for the feed tests ------------------------------------------

FEED_PID=
FEED_LOG=
FEED_NAME=default

# sg_diag also shows the feed's log and the Redis state on failure (the
# harness's sg_diag is kept as sg__diag_harness and called first).
eval "sg__diag_harness() $(declare -f sg_diag | tail -n +2)"
sg_diag() {
    sg__diag_harness
    [[ -n $SG_DIR && -d $SG_DIR ]] || return 0
    local f k
    for f in "$SG_DIR"/feed*.log; do
        [[ -s $f ]] || continue
        printf '\n----- last 40 lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
    if sg__redis_ping; then
        printf '\n----- redis (non-qid keys) -----\n' >&2
        sg_redis --scan 2>/dev/null | grep -v ':qid:' | sort | while read -r k; do
            case $(sg_redis type "$k") in
            hash) printf '%s = %s\n' "$k" "$(sg_redis hgetall "$k" | paste -sd' ')" ;;
            string) printf '%s = %s\n' "$k" "$(sg_redis get "$k")" ;;
            *) printf '%s (%s)\n' "$k" "$(sg_redis type "$k")" ;;
            esac
        done >&2
    fi
}

# feed_start [ARGS...] - subguard-feed -f -c subguard.conf ARGS... in the
# background, output appended to $FEED_LOG; waits for its start line.
feed_start() {
    local n
    [[ -x $SG_BUILD/subguard-feed ]] || sg_fail "no subguard-feed at $SG_BUILD"
    n=$(sg_subguard_log_count 'subguard-feed .* started: ' "$FEED_LOG")
    echo "=== $(date '+%F %T') start: subguard-feed -f -c subguard.conf $*" >>"$FEED_LOG"
    SG_WORLD=$SG_DIR "$SG_BUILD/subguard-feed" -f -c "$SG_DIR/subguard.conf" "$@" \
        </dev/null >>"$FEED_LOG" 2>&1 &
    FEED_PID=$!
    sg_wait_eq -t 10 $((n + 1)) sg_subguard_log_count 'subguard-feed .* started: ' "$FEED_LOG" ||
        sg_fail "subguard-feed did not log its start line"
}

# feed_stop - SIGTERM the feed we started, wait for it (10 s), set FEED_RC.
feed_stop() {
    [[ -n $FEED_PID ]] || sg_fail "feed_stop: no feed running"
    kill -TERM "$FEED_PID" 2>/dev/null || true
    sg_wait_for -t 10 sg__dead "$FEED_PID" || sg_fail "subguard-feed ignored SIGTERM for 10 s"
    wait "$FEED_PID" && FEED_RC=0 || FEED_RC=$?
    FEED_PID=
    echo "=== $(date '+%F %T') stopped, status $FEED_RC" >>"$FEED_LOG"
}

# feed_log_count ERE - lines of the feed's log that match ERE
feed_log_count() { sg_subguard_log_count "$1" "$FEED_LOG"; }

# feed_position - the feed's saved position (dev:ino:offset) in Redis
feed_position() { sg_redis get "subguard:feed:$FEED_NAME"; }

# feed_caught_up [FILE] - the saved position is the end of FILE (default
# the maillog): same inode, offset = size. Poll it once the queue is empty.
feed_caught_up() {
    local f=${1:-$SG_DIR/maillog} pos
    pos=$(feed_position)
    [[ $pos == "$(stat -c '%d:%i:%s' "$f")" ]]
}

# send LOGIN PASSWORD RCPTS - one message; checks 250 for every recipient
# and at DATA; sets qid (and rcpt, data).
send() {
    local out
    out=$(sg_submit --user "$1" --password "$2" --to "$3") ||
        sg_fail "submit from $1 failed: $out"
    # one python for the three checks: every RCPT 250, DATA 250, queue id
    read -r rcpt data qid < <(sg_json '"%s %s %s" % (
        "ok" if all(v[0] == 250 for v in m["rcpt"].values()) else "refused",
        m["data"][0] if m["data"] else None, m["queue_id"])' <<<"$out")
    [[ $rcpt == ok ]] || sg_fail "a recipient was refused at submission: $out"
    sg_assert_eq 250 "$data" "end of DATA from $1 ($out)"
    sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id from $1"
}

# rcpts PREFIX FROM TO [DOMAIN] - PREFIXFROM@DOMAIN,...,PREFIXTO@DOMAIN
rcpts() {
    local i out=
    for ((i = $2; i <= $3; i++)); do out+=${out:+,}$1$i@${4:-remote.example}; done
    echo "$out"
}

# delivered_from SENDER - recipients the sink accepted from SENDER (DSNs,
# sent with <>, are not counted)
delivered_from() { awk -v s="<$1>" '$3 == s' "$SG_DIR/sink.log" | wc -l; }

# quarantined LOGIN - the quarantine hash of LOGIN exists
quarantined() { [[ $(sg_redis exists "subguard:{$1}:quarantine") == 1 ]]; }

# bounced_lines QID... - how many status=bounced lines the maillog has for
# the queue ids
bounced_lines() {
    local q n=0 c
    for q in "$@"; do
        c=$(grep -c "^.* $q: to=<.*, status=bounced " "$SG_DIR/maillog") || true
        n=$((n + c))
    done
    echo "$n"
}

# --- the world ------------------------------------------------------------

t0=$SECONDS
# Redis may answer slowly on a loaded test machine. A feed call that times
# out is retried and, when Redis ran it anyway, counts its bounce again
# (the bug t_92_feed_redis_stall shows). This test is about counting
# through Postfix, so it gives Redis time.
SG_CONF_REDIS='timeout = 2s'
sg_world_up
FEED_LOG=$SG_DIR/feed.log
sg_user mallory mallory-pw
sg_user gina gina-pw
sg_user bulkco bulkco-pw
# default: no limit or MTA-rejection threshold can fire; the failure test
# with its defaults. bulk: sized like the built-in bulk tier.
sg_subguard_conf '[tier default]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 1000/1h
quarantine_failed = 100000/1h
normal_failure = 2%
spam_failure = 15%
false_alarm = 0.1%
missed_alarm = 1%

[tier bulk]
messages = 50000/1h, 500000/1d
recipients = 50000/1h, 500000/1d
quarantine_recipients = 1000000/1d
quarantine_rejected = 500/1h
quarantine_failed = 1500/1h
normal_failure = 5%
spam_failure = 25%'
sg_subguard_start
feed_start "$SG_DIR/maillog"
sg_assert_match "started: log=$SG_DIR/maillog feed=default resume=- " \
    "$(grep 'started: ' "$FEED_LOG")" "feed start line"

M=mallory@example.net
mq="subguard:{$M}:quarantine"

# --- 1. mallory: quarantined from bounces alone ------------------------------

# History: 2 messages to 10 good recipients each, delivered.
send "$M" mallory-pw "$(rcpts mgood 1 10)"
send "$M" mallory-pw "$(rcpts mgood 11 20)"
sg_wait_for sg_queue_empty || sg_fail "mallory's first messages did not leave the queue"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_counter 20 "$M" rcpts "mallory rcpts after the history"
sg_assert_counter 0 "$M" bounced "mallory bounced after the history"

# Spam 1: 4 bad + 1 good. 4 bounces: score -2.85 - 0.71 + 4 * 2.157 = 5.07,
# under 6.9: no quarantine yet.
send "$M" mallory-pw "$(rcpts bad 1 4),mgood21@remote.example"
q1=$qid
sg_wait_eq 4 bounced_lines "$q1" || sg_fail "spam 1 ($q1): $SG_LAST status=bounced lines, want 4"
sg_assert_match "$q1: to=<bad1@remote.example>, relay=127\.0\.0\.1.*, dsn=5\.1\.1, status=bounced \(host .* said: 550 5\.1\.1 " \
    "$(grep "$q1: to=<bad1@" "$SG_DIR/maillog")" "maillog line of a bounce"
sg_wait_eq 4 sg_counter "$M" bounced || sg_fail "mallory bounced: $SG_LAST, want 4 (spam 1 = $q1)"
sg_wait_for sg_queue_empty || sg_fail "spam 1 did not leave the queue"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_eq 0 "$(sg_redis exists "$mq")" "mallory quarantined after 4 bounces"
sg_assert_counter "$q1" "$M" fq "counters fq after spam 1"
# LOGIN TIME N B TAGS F: 4 of its 5 recipients counted as bounced, each
# by its own tag (no more than 5 could ever count), and the evidence the
# message added uncapped (-0.71 + 4 * 2.157 = 7.92).
sg_assert_match "^$M [0-9]{10} 5 4 [0-9a-f]{8}(,[0-9a-f]{8}){3} 7\.91[0-9]\$" "$(sg_redis get "subguard:qid:$q1")" "qid key of $q1"

# Spam 2: 4 bad + 1 good. One message adds at most 0.6 of the bound (4.14)
# to the test over the last hour, so 8 bounces of 2 messages after 20
# good recipients are -2.85 + 2 * 4.14 = 5.43: not yet (the score alone,
# 12.99, would have quarantined).
send "$M" mallory-pw "$(rcpts bad 5 8),mgood22@remote.example"
q2=$qid
sg_wait_eq 8 sg_counter "$M" bounced || sg_fail "mallory bounced: $SG_LAST, want 8"
sg_wait_for sg_queue_empty || sg_fail "spam 2 did not leave the queue"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_eq 0 "$(sg_redis exists "$mq")" "mallory quarantined after 2 messages"

# Spam 3: 4 bad + 1 good. Its 1st or 2nd bounce quarantines: the hour's
# 9 (10) failures of 35 weigh 14.43 (16.59) less the 7.56 the cap took
# from spam 1 and 2: 6.87 (9.03) against 6.90, the first so close that a
# window estimate across an hour's boundary may tip it.
send "$M" mallory-pw "$(rcpts bad 9 12),mgood30@remote.example"
qs3=$qid
sg_wait_for -t 20 quarantined "$M" ||
    sg_fail "mallory not quarantined after spam 3 ($qs3): bounced=$(sg_counter "$M" bounced)"
sg_assert_eq feed "$(sg_redis hget "$mq" source)" "quarantine source"
sg_assert_eq subguard "$(sg_redis hget "$mq" by)" "quarantine by"
sg_assert_eq default "$(sg_redis hget "$mq" tier)" "quarantine tier"
sg_assert_eq "$qs3 $q2 $q1" "$(sg_redis hget "$mq" qids)" "quarantine qids"
sg_assert_match '^(9|10)$' "$(sg_redis hget "$mq" failed)" "quarantine failed"
sg_assert_eq 35 "$(sg_redis hget "$mq" rcpts)" "quarantine rcpts"
reason=$(sg_redis hget "$mq" reason)
sg_assert_match '^failure test: (9|10) of 35 recipients failed in 1[hd] \(2[0-9]\.[0-9]%\), score [0-9]+\.[0-9],? over 6\.9$' \
    "$reason" "quarantine reason"
since=$(sg_redis hget "$mq" since)
now=$(date +%s)
((since <= now && since > now - 60)) || sg_fail "quarantine since $since not within a minute of $now"
sg_wait_eq -t 5 1 feed_log_count "action=quarantine source=feed login=$M qid=$qs3 class=mailbox rcpts=1 reason=\"failure test: " ||
    sg_fail "feed: $SG_LAST action=quarantine lines for $M/$qs3, want 1"
# The last bounces of spam 3 are counted, no second quarantine.
sg_wait_eq 12 sg_counter "$M" bounced || sg_fail "mallory bounced: $SG_LAST, want 12"
sg_assert_eq 12 "$(bounced_lines "$q1" "$q2" "$qs3")" "status=bounced lines of $q1 $q2 $qs3"
sg_assert_counter 35 "$M" rcpts "mallory rcpts (accepted at submission)"
sg_wait_for sg_queue_empty || sg_fail "spam 3 did not leave the queue"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_eq 1 "$(feed_log_count 'action=quarantine')" "action=quarantine lines of the feed"
sg_assert_eq 0 "$(sg_subguard_log_count 'action=quarantine')" "action=quarantine lines of the milter"
sg_assert_eq 23 "$(delivered_from "$M")" "mallory's deliveries at the sink"

# The next message from mallory is held.
send "$M" mallory-pw mgood23@remote.example
q3=$qid
is_held() { sg_held_ids | grep -qx "$1"; }
sg_wait_for -t 10 is_held "$q3" || sg_fail "$q3 (after the quarantine) is not in the hold queue"
sg_assert_eq 1 "$(sg_subguard_log_count "action=hold stage=eom login=$M .*qid=$q3 ")" "action=hold line for $q3"
sg_assert_eq "$q3" "$(sg_redis lrange "subguard:{$M}:held" 0 -1)" "held list"
sg_assert_eq 0 "$(sg_delivered_count mgood23@remote.example)" "deliveries of held $q3"
sg_log "part 1 (mallory quarantined by the feed) done at $((SECONDS - t0)) s"

# --- 2. gina: the same number of good recipients, nothing happens ------------

G=gina@example.net
send "$G" gina-pw "$(rcpts ggood 1 10)"
send "$G" gina-pw "$(rcpts ggood 11 20)"
send "$G" gina-pw "$(rcpts ggood 21 30)"
sg_wait_eq 30 delivered_from "$G" || sg_fail "gina's deliveries at the sink: $SG_LAST, want 30"
sg_wait_eq "$q3" sg_queue_ids || sg_fail "queue: $SG_LAST (want only the held $q3)"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_eq 30 "$(grep -c "to=<ggood[0-9]*@remote.example>, .*status=sent" "$SG_DIR/maillog")" \
    "gina's status=sent lines"
sg_assert_eq 0 "$(sg_redis exists "subguard:{$G}:quarantine")" "gina quarantined"
sg_assert_counter 0 "$G" bounced "gina bounced"
sg_assert_counter 30 "$G" rcpts "gina rcpts"
sg_assert_eq 0 "$(feed_log_count "login=$G")" "feed lines about gina"
sg_log "part 2 (gina clean) done at $((SECONDS - t0)) s"

# --- 3. a clean bulk sender: 2000 recipients, 20 bounces, no quarantine -------

B=bulkco@example.net
sg_assert_eq OK "$(sg_redis set "subguard:{$B}:tier" bulk)" "SET bulk tier"
tb=$SECONDS
bq=()
for ((k = 0; k < 20; k++)); do
    # 99 good recipients and one bad one, at a different place each time.
    list=$(rcpts "c${k}r" 1 99)
    IFS=, read -r -a a <<<"$list"
    a=("${a[@]:0:$((k * 5))}" "bad-c${k}@remote.example" "${a[@]:$((k * 5))}")
    send "$B" bulkco-pw "$(IFS=,; echo "${a[*]}")"
    bq+=("$qid")
done
sg_log "bulk: 20 messages of 100 recipients submitted in $((SECONDS - tb)) s"
sg_wait_eq -t 60 1980 delivered_from "$B" || sg_fail "bulk deliveries at the sink: $SG_LAST, want 1980"
sg_wait_eq -t 30 20 bounced_lines "${bq[@]}" || sg_fail "bulk status=bounced lines: $SG_LAST, want 20"
sg_wait_eq -t 30 20 sg_counter "$B" bounced || sg_fail "bulk bounced counter: $SG_LAST, want 20"
sg_log "bulk: delivered and counted $((SECONDS - tb)) s after the first submission"
# Only mallory's held message is left in the queue once the DSNs are out.
sg_wait_eq -t 30 "$q3" sg_queue_ids || sg_fail "queue: $SG_LAST (want only the held $q3)"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_counter 20 "$B" bounced "bulk bounced after the queue drained"
sg_assert_counter 2000 "$B" rcpts "bulk rcpts"
sg_assert_counter 20 "$B" msgs "bulk msgs"
sg_assert_counter bulk "$B" tn "bulk tier used"
sg_assert_eq 0 "$(sg_redis exists "subguard:{$B}:quarantine")" "bulk login quarantined"
sg_assert_eq 0 "$(feed_log_count "login=$B")" "feed lines about the bulk login"
for ((k = 0; k < 20; k++)); do
    sg_maillog_has "${bq[k]}: to=<bad-c${k}@remote.example>, .*dsn=5\.1\.1, status=bounced " ||
        sg_fail "no bounce line for bad-c$k in ${bq[k]}"
done
sg_log "part 3 (bulk) done at $((SECONDS - t0)) s"

# --- 4. the feed's summary -----------------------------------------------------

feed_stop
sg_assert_eq 0 "$FEED_RC" "subguard-feed exit status after SIGTERM"
summary=$(grep 'stopped: lines=' "$FEED_LOG")
sg_assert_match " outcomes=32 counted=32 unknown_qid=0 quarantined=1 " "$summary" "feed summary"
sg_assert_match " position=$(stat -c '%d:%i:%s' "$SG_DIR/maillog")\$" "$summary" "feed summary position"
sg_assert_eq "$(stat -c '%d:%i:%s' "$SG_DIR/maillog")" "$(feed_position)" "saved position"

sg_log "t_90_feed: ok in $((SECONDS - t0)) s"
echo "t_90_feed: ok"
