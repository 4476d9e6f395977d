#!/bin/bash
# mta: postfix
# t_92_feed_redis_stall: a bounce is counted once even when Redis stalls
# while subguard-feed counts it.
# subguard-feed(8): "While Redis is unreachable the failure at hand is
# retried ... until Redis answers" and the position is saved "in the same
# atomic call that counts a failure, so a restart neither loses nor counts
# a line twice". A call that times out may still have been run by Redis
# (a slow Redis is not a dead one); its retry must then not count the line
# again. Reproduced deterministically:
#  - the feed follows the maillog; sam's first bounce is counted once;
#  - the feed is frozen (SIGSTOP); sam sends 1 bad + 1 good: one
#    status=bounced line is logged;
#  - Redis is kept busy for 1.5 s by a Lua script (a stall, such as a slow
#    command or a fork on a big data set; [redis] timeout is 100 ms);
#  - the feed is let go (SIGCONT): its call for that line times out and is
#    retried ("cannot be counted ... retrying this line"), then succeeds;
#  - the counters field bounced must be 2 and the feed's summary
#    counted=2, whatever number of calls timed out.
set -euo pipefail
. "$(dirname "$0")/harness.sh"
# Postfix only: postqueue, postlogd's maillog_file, Postfix's log lines.
[[ $SG_MTA == postfix ]] || sg_fail "t_92_feed_redis_stall runs on Postfix only, not SG_MTA=$SG_MTA"

# --- helpers ----------------------------------------------------------------

FEED_PID=
FEED_LOG=
STALL_PID=

# sg_diag also shows the feed's log and the Redis state on failure (the
# harness's sg_diag is kept as sg__diag_harness and called first).
eval "sg__diag_harness() $(declare -f sg_diag | tail -n +2)"
sg_diag() {
    sg__diag_harness
    [[ -n $SG_DIR && -d $SG_DIR ]] || return 0
    if [[ -s $FEED_LOG ]]; then
        printf '\n----- last 40 lines of %s -----\n' "$FEED_LOG" >&2
        tail -n 40 "$FEED_LOG" >&2
    fi
    if sg__redis_ping; then
        printf '\n----- redis -----\n' >&2
        printf 'subguard:feed:default = %s\n' "$(sg_redis get subguard:feed:default)" >&2
        printf 'counters = %s\n' "$(sg_redis hgetall 'subguard:{sam@example.net}:counters' | paste -sd' ')" >&2
    fi
}

# feed_log_count ERE - lines of the feed's log that match ERE
feed_log_count() { sg_subguard_log_count "$1" "$FEED_LOG"; }

# feed_caught_up - the saved position is the end of the maillog
feed_caught_up() {
    [[ $(sg_redis get subguard:feed:default) == "$(stat -c '%d:%i:%s' "$SG_DIR/maillog")" ]]
}

# send RCPTS - one message from sam; sets qid
send() {
    local out
    out=$(sg_submit --user sam@example.net --password sam-pw --to "$1") ||
        sg_fail "submit failed: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA"
    qid=$(sg_json 'm["queue_id"]' <<<"$out")
    sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id"
}

# redis_stalled - Redis does not answer PING within 50 ms
redis_stalled() { ! timeout 0.05 redis-cli -s "$SG_REDIS_SOCK" ping >/dev/null 2>&1; }

# A Lua script that keeps Redis busy for ARGV[1] microseconds (under
# busy-reply-threshold, 5 s: other clients just wait).
BUSY='local t = redis.call("TIME")
local s = t[1] * 1000000 + t[2]
repeat
  t = redis.call("TIME")
until t[1] * 1000000 + t[2] - s > tonumber(ARGV[1])
return 1'

# --- the world ----------------------------------------------------------------

t0=$SECONDS
sg_world_up
FEED_LOG=$SG_DIR/feed.log
sg_user sam sam-pw
sg_subguard_conf '[tier default]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 100000/1h
quarantine_failed = 100000/1h
normal_failure = 90%
spam_failure = 99%'
sg_subguard_start
S=sam@example.net

SG_WORLD=$SG_DIR "$SG_BUILD/subguard-feed" -f -c "$SG_DIR/subguard.conf" "$SG_DIR/maillog" \
    </dev/null >>"$FEED_LOG" 2>&1 &
FEED_PID=$!
sg_wait_eq -t 10 1 feed_log_count 'subguard-feed .* started: ' || sg_fail "the feed did not start"

# 1. A first bounce, with Redis well: counted once.
send bad-1@remote.example,ok-1@remote.example
q1=$qid
sg_wait_for sg_queue_empty || sg_fail "message 1 did not leave the queue"
sg_assert_eq 1 "$(grep -c "$q1: to=<bad-1@remote.example>, .*status=bounced" "$SG_DIR/maillog")" "bounce line of $q1"
sg_wait_eq 1 sg_counter "$S" bounced || sg_fail "bounced after message 1: $SG_LAST, want 1"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"

# 2. The feed frozen, a second bounce is logged.
kill -STOP "$FEED_PID"
send bad-2@remote.example,ok-2@remote.example
q2=$qid
sg_wait_for sg_queue_empty || sg_fail "message 2 did not leave the queue"
sg_assert_eq 1 "$(grep -c "$q2: to=<bad-2@remote.example>, .*status=bounced" "$SG_DIR/maillog")" "bounce line of $q2"

# 3. Redis stalls for 1.5 s; the feed goes on meanwhile.
SG_WORLD=$SG_DIR redis-cli -s "$SG_REDIS_SOCK" eval "$BUSY" 0 1500000 >/dev/null 2>&1 &
STALL_PID=$!
sg_wait_for -t 5 redis_stalled || sg_fail "the busy script did not stall Redis"
kill -CONT "$FEED_PID"
sg_wait_for -t 10 sg__dead "$STALL_PID" || sg_fail "the busy script did not end"
wait "$STALL_PID" || sg_fail "the busy script failed"
sg_wait_for -t 20 feed_caught_up || sg_fail "the feed did not reach the end of the maillog after the stall"

# The scenario happened: the feed's call for q2 timed out and was retried.
sg_assert_eq 1 "$(feed_log_count "qid=$q2 class=mailbox cannot be counted: .*no answer within")" \
    "'cannot be counted' line for $q2 (the call timed out)"
sg_assert_eq 1 "$(feed_log_count "qid=$q2 counted after ")" "'counted after' line for $q2"
failed=$(grep -oE 'redis back at .* [0-9]+ calls failed' "$FEED_LOG" | grep -oE '[0-9]+ calls failed' | paste -sd' ')
sg_log "the feed's calls that timed out during the stall: ${failed:-none logged}"

# 4. Counted once.
sg_assert_eq 2 "$(sg_counter "$S" bounced)" \
    "bounced after the stall (one status=bounced line each for $q1 and $q2; timed-out calls: ${failed:-?})"
kill -TERM "$FEED_PID"
sg_wait_for -t 10 sg__dead "$FEED_PID" || sg_fail "the feed ignored SIGTERM"
wait "$FEED_PID" && rc=0 || rc=$?
sg_assert_eq 0 "$rc" "the feed's exit status"
sg_assert_match ' outcomes=2 counted=2 ' "$(grep 'stopped: lines=' "$FEED_LOG")" "the feed's summary"

sg_log "t_92_feed_redis_stall: ok in $((SECONDS - t0)) s"
echo "t_92_feed_redis_stall: ok"
