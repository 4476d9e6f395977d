#!/bin/bash
# mta: postfix
# t_91_feed_restart: subguard-feed counts every bounce of the real maillog
# exactly once across batch runs, restarts and a rename rotation. One feed
# name (-n mx1) is used throughout, so each run resumes where the last one
# stopped (subguard:feed:mx1 = dev:ino:offset). rita's tier has the failure
# test made insensitive (90% / 99%, as t_40 does) and no limit that can
# fire, so nothing is quarantined or held: every message and bounce flows.
# After each step, rita's counters field bounced must equal the number of
# status=bounced lines for her queue ids in the maillog(s). Proves:
#  1. -o (batch): a run after the queue drained counts the 15 bounces; a
#     second run over the same file counts nothing (summary counted=0);
#     after more mail a third run counts only the 6 new ones. The position
#     is saved at the end of the file and is what the summary says;
#  2. a follow-mode feed (-f) of the same name resumes at that position
#     (start line resume=..., "resuming at offset") and counts new bounces;
#  3. SIGTERM of the idle follower (exit 0, position = its summary's); a
#     follower resumed there is frozen (SIGSTOP) while 1000 bounces are
#     logged (nothing counted); then Redis is kept busy for 2 s (a Lua
#     script; [redis] timeout 5 s), the feed is let go and, once it has
#     read the backlog and sleeps in its Redis call, gets SIGTERM: it stops
#     in the middle of the backlog (saved position strictly inside it; 0
#     or 1 of the 1000 counted: the call in flight is the position save
#     after its first line, or the first bounce), exit 0,
#     no Redis error, bounced = before + its counted=, position in Redis =
#     the summary's; 6 more bounces while stopped; after the restart
#     (resume=that position) the total is exact: nothing lost, nothing
#     counted twice;
#  4. rename rotation while the feed runs: mv maillog maillog.1, mail
#     bounces into the renamed file (postlogd still has it open), postfix
#     reload (postlogd reopens maillog_file: a new file), more mail: the
#     feed reads the old file to its end, switches ("rotated: reading the
#     new file (inode N)"), and the total over both files is exact;
#  5. after a last SIGTERM, a -o run over the new file counts nothing; the
#     runs' summaries add up to the total (counted) and to 0 unknown qids.
set -euo pipefail
. "$(dirname "$0")/harness.sh"
# Postfix only: postqueue, postlogd's maillog_file and its reopening at
# "postfix reload", Postfix's log lines.
[[ $SG_MTA == postfix ]] || sg_fail "t_91_feed_restart runs on Postfix only, not SG_MTA=$SG_MTA"

# --- helpers for the feed tests ------------------------------------------

FEED_PID=
FEED_LOG=
FEED_NAME=mx1
STALL_PID=

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
    ls -li "$SG_DIR"/maillog* >&2 2>/dev/null || true
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

# feed_start [ARGS...] - subguard-feed -f -c subguard.conf -n $FEED_NAME
# ARGS... in the background, output appended to $FEED_LOG; waits for its
# start line.
feed_start() {
    local n
    [[ -x $SG_BUILD/subguard-feed ]] || sg_fail "no subguard-feed at $SG_BUILD"
    n=$(feed_log_count 'subguard-feed .* started: ')
    echo "=== $(date '+%F %T') start: subguard-feed -f -c subguard.conf -n $FEED_NAME $*" >>"$FEED_LOG"
    SG_WORLD=$SG_DIR "$SG_BUILD/subguard-feed" -f -c "$SG_DIR/subguard.conf" \
        -n "$FEED_NAME" "$@" </dev/null >>"$FEED_LOG" 2>&1 &
    FEED_PID=$!
    sg_wait_eq -t 10 $((n + 1)) feed_log_count 'subguard-feed .* started: ' ||
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

# feed_once - a batch run (-o -f -n $FEED_NAME) over the maillog, to its
# end, in the foreground; sets FEED_RC.
feed_once() {
    echo "=== $(date '+%F %T') run: subguard-feed -o -f -c subguard.conf -n $FEED_NAME maillog" >>"$FEED_LOG"
    SG_WORLD=$SG_DIR timeout 30 "$SG_BUILD/subguard-feed" -o -f -c "$SG_DIR/subguard.conf" \
        -n "$FEED_NAME" "$SG_DIR/maillog" </dev/null >>"$FEED_LOG" 2>&1 && FEED_RC=0 || FEED_RC=$?
    echo "=== $(date '+%F %T') exited, status $FEED_RC" >>"$FEED_LOG"
}

# feed_log_count ERE - lines of the feed's log that match ERE
feed_log_count() { sg_subguard_log_count "$1" "$FEED_LOG"; }

# feed_last ERE - the last line of the feed's log that matches ERE
feed_last() { grep -E -- "$1" "$FEED_LOG" | tail -n 1; }

# feed_position - the feed's saved position (dev:ino:offset) in Redis
feed_position() { sg_redis get "subguard:feed:$FEED_NAME"; }

# file_end FILE - dev:ino:size of FILE, the position at its end
file_end() { stat -c '%d:%i:%s' "$1"; }

# feed_caught_up [FILE] - the saved position is the end of FILE (default
# the maillog). Poll it once the queue is empty.
feed_caught_up() { [[ $(feed_position) == "$(file_end "${1:-$SG_DIR/maillog}")" ]]; }

# send LOGIN PASSWORD RCPTS - one message; checks 250 for every recipient
# and at DATA; sets qid (and rcpt, data) and appends it to $SG_DIR/qids.
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
    echo "$qid" >>"$SG_DIR/qids"
}

# rcpts PREFIX FROM TO - PREFIXFROM@remote.example,...,PREFIXTO@remote.example
rcpts() {
    local i out=
    for ((i = $2; i <= $3; i++)); do out+=${out:+,}$1$i@remote.example; done
    echo "$out"
}

# batch NAME MESSAGES BAD GOOD - rita sends MESSAGES messages, each to BAD
# recipients the sink refuses and GOOD ones; adds MESSAGES * BAD to WANT.
batch() {
    local k
    for ((k = 1; k <= $2; k++)); do
        send "$R" rita-pw "$(rcpts "bad-$1-$k-" 1 "$3"),$(rcpts "ok-$1-$k-" 1 "$4")"
    done
    WANT=$((WANT + $2 * $3))
}

# bounce_lines - status=bounced lines in maillog.1 and maillog for the
# queue ids rita submitted ($SG_DIR/qids)
bounce_lines() {
    local f=() x
    for x in "$SG_DIR/maillog.1" "$SG_DIR/maillog"; do [[ -e $x ]] && f+=("$x"); done
    awk 'FNR == NR { q[$1]; next }
         / status=bounced / { id = $6; sub(/:$/, "", id); if (id in q) n++ }
         END { print n + 0 }' "$SG_DIR/qids" "${f[@]}"
}

# feed_rchar - bytes the feed has read so far (/proc/PID/io)
feed_rchar() { awk '$1 == "rchar:" { print $2 }' "/proc/$FEED_PID/io"; }

# feed_blocked_after RCHAR - the feed has read more than 32 KiB since RCHAR
# (the backlog) and sleeps: with Redis stalled, in its Redis call
feed_blocked_after() {
    (($(feed_rchar) > $1 + 32768)) &&
        [[ $(sed 's/^.*) //' "/proc/$FEED_PID/stat" | cut -c1) == S ]]
}

# redis_stalled - Redis does not answer PING within 50 ms
redis_stalled() { ! timeout 0.05 redis-cli -s "$SG_REDIS_SOCK" ping >/dev/null 2>&1; }

# redis_stall MICROSECONDS - keep Redis busy that long with a Lua script
# (in the background, under busy-reply-threshold, 5 s: other clients just
# wait); sets STALL_PID and returns once Redis has stopped answering.
redis_stall() {
    SG_WORLD=$SG_DIR redis-cli -s "$SG_REDIS_SOCK" eval 'local t = redis.call("TIME")
local s = t[1] * 1000000 + t[2]
repeat t = redis.call("TIME") until t[1] * 1000000 + t[2] - s > tonumber(ARGV[1])
return 1' 0 "$1" >/dev/null 2>&1 &
    STALL_PID=$!
    sg_wait_for -t 5 redis_stalled || sg_fail "the busy script did not stall Redis"
}

# bounced - rita's counters field bounced
bounced() { sg_counter "$R" bounced; }

# settled - the queue is empty and WANT bounces are in the maillog(s)
settled() {
    sg_wait_for -t 30 sg_queue_empty || sg_fail "the queue did not drain"
    sg_wait_eq -t 10 "$WANT" bounce_lines ||
        sg_fail "status=bounced lines of rita's mail: $SG_LAST, want $WANT"
}

# summary_field NAME - NAME=VALUE of the feed's last "stopped:" line
summary_field() {
    feed_last 'stopped: lines=' | grep -oE " $1=[^ ]+" | cut -d= -f2
}

# --- the world ------------------------------------------------------------

t0=$SECONDS
# Redis may answer slowly on a loaded test machine, and part 3 stalls it
# for 2 s on purpose. A feed call that times out is retried and, when
# Redis ran it anyway, counts its bounce again (the bug
# t_92_feed_redis_stall shows). This test is about counting through
# Postfix, restarts and rotation, so it gives Redis time.
SG_CONF_REDIS='timeout = 5s'
sg_world_up
FEED_LOG=$SG_DIR/feed.log
: >"$SG_DIR/qids"
sg_user rita rita-pw
# No limit can fire, and the failure test is made insensitive (it cannot
# be switched off): this test is about counting, nothing may be held.
sg_subguard_conf '[tier default]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 100000/1h
quarantine_failed = 100000/1h
normal_failure = 90%
spam_failure = 99%'
sg_subguard_start
R=rita@example.net
WANT=0
COUNTED=0    # sum of the runs' counted=, checked against WANT at the end

# --- 1. -o batch runs ---------------------------------------------------------

batch o1 3 5 5
settled
sg_assert_eq 0 "$(bounced)" "bounced before any feed ran"
end1=$(file_end "$SG_DIR/maillog")
feed_once
sg_assert_eq 0 "$FEED_RC" "exit status of the first -o run"
sg_assert_match "started: log=$SG_DIR/maillog feed=$FEED_NAME resume=- .* once=yes\$" \
    "$(feed_last 'started: ')" "start line of the first -o run"
sg_assert_eq 15 "$(bounced)" "bounced after the first -o run"
sg_assert_eq "$WANT" "$(bounced)" "bounced = bounce lines after the first -o run"
sg_assert_eq 15 "$(summary_field counted)" "counted= of the first -o run"
sg_assert_eq 0 "$(summary_field unknown_qid)" "unknown_qid= of the first -o run"
COUNTED=$((COUNTED + $(summary_field counted)))
pos=$(feed_position)
sg_assert_eq "$pos" "$(summary_field position)" "saved position = the summary's"
[[ ${pos%:*} == "${end1%:*}" && ${pos##*:} -ge ${end1##*:} ]] ||
    sg_fail "position $pos is not at or past the end $end1 seen before the run"

# Again over the same file: nothing new.
feed_once
sg_assert_eq 0 "$FEED_RC" "exit status of the second -o run"
sg_assert_match "resume=$pos " "$(feed_last 'started: ')" "start line of the second -o run"
sg_assert_eq 0 "$(summary_field counted)" "counted= of the second -o run"
sg_assert_eq 0 "$(summary_field outcomes)" "outcomes= of the second -o run"
sg_assert_eq 15 "$(bounced)" "bounced after the second -o run (same file)"

# More mail, a third run: only the new bounces.
batch o2 2 3 2
settled
feed_once
sg_assert_eq 0 "$FEED_RC" "exit status of the third -o run"
sg_assert_eq 6 "$(summary_field counted)" "counted= of the third -o run"
COUNTED=$((COUNTED + $(summary_field counted)))
sg_assert_eq 21 "$(bounced)" "bounced after the third -o run"
sg_assert_eq "$WANT" "$(bounced)" "bounced = bounce lines after the third -o run"
sg_log "part 1 (-o) done at $((SECONDS - t0)) s"

# --- 2. follow mode resumes where -o stopped ----------------------------------

pos=$(feed_position)
feed_start "$SG_DIR/maillog"
sg_assert_match "started: log=$SG_DIR/maillog feed=$FEED_NAME resume=$pos " \
    "$(feed_last 'started: ')" "start line of the follow feed"
sg_assert_eq 1 "$(feed_log_count "resuming at offset ${pos##*:}\$")" "resuming line"
batch f1 2 4 1
settled
sg_wait_eq "$WANT" bounced || sg_fail "bounced (follow mode): $SG_LAST, want $WANT"
sg_wait_for feed_caught_up || sg_fail "the follow feed did not reach the end of the maillog"
sg_assert_eq 29 "$(bounced)" "bounced after the follow feed's first batch"
sg_log "part 2 (follow resumes) done at $((SECONDS - t0)) s"

# --- 3. SIGTERM in the middle of a backlog, restart -------------------------

# Stop the idle follower: its position is the end of the log.
feed_stop
sg_assert_eq 0 "$FEED_RC" "exit status after SIGTERM (idle)"
COUNTED=$((COUNTED + $(summary_field counted)))
sg_assert_eq 8 "$(summary_field counted)" "counted= of the first follow run"
sg_assert_eq "$(feed_position)" "$(summary_field position)" "saved position = the summary's (idle stop)"
# A follower again, caught up, then frozen (SIGSTOP): 1000 bounces are
# logged meanwhile.
pos=$(feed_position)
feed_start "$SG_DIR/maillog"
sg_assert_match "resume=$pos " "$(feed_last 'started: ')" "start line of the second follow run"
sg_wait_for feed_caught_up || sg_fail "the second follower did not reach the end of the maillog"
kill -STOP "$FEED_PID"
backlog_from=$(feed_position)
batch s1 10 100 10      # 91% failures: under the gate of this tier
settled
sg_assert_eq 29 "$(bounced)" "bounced while the feed is frozen"
# SIGTERM in the middle of the backlog, while a Redis call is in flight:
# Redis is kept busy for 2 s (timeout 5 s: no call times out), the feed is
# let go, and once it has read the backlog and sleeps (in its call), it
# gets SIGTERM. The call completes, then the feed stops.
redis_stall 2000000
rchar=$(feed_rchar)
kill -CONT "$FEED_PID"
sg_wait_for -t 5 feed_blocked_after "$rchar" || sg_fail "the feed did not read the backlog and wait for Redis"
kill -TERM "$FEED_PID"
sg_wait_for -t 10 sg__dead "$STALL_PID" || sg_fail "the busy script did not end"
wait "$STALL_PID" || sg_fail "the busy script failed"
feed_stop
sg_assert_eq 0 "$FEED_RC" "exit status after SIGTERM (busy)"
sg_assert_eq 0 "$(feed_log_count 'cannot be counted|cannot save position|redis unavailable')" \
    "Redis errors in the feed's log (timeout 5 s, stall 2 s)"
at_stop=$(bounced)
run=$(summary_field counted)
COUNTED=$((COUNTED + run))
sg_assert_eq $((29 + run)) "$at_stop" "bounced after the busy run (29 + its counted=)"
pos=$(feed_position)
sg_assert_eq "$pos" "$(summary_field position)" "saved position = the summary's (busy stop)"
sg_log "SIGTERM during a Redis call with $run of the 1000 bounces of s1 counted, position $pos of $(file_end "$SG_DIR/maillog")"
((run <= 1)) || sg_fail "the feed counted $run bounces after SIGTERM during its call (want 0 or 1)"
backlog_to=$(file_end "$SG_DIR/maillog")
((${pos##*:} > ${backlog_from##*:} && ${pos##*:} < ${backlog_to##*:})) ||
    sg_fail "position $pos is not inside the backlog (${backlog_from##*:} .. ${backlog_to##*:})"
# More mail while it is stopped, then the restart.
batch s2 2 3 1
settled
sg_assert_eq "$at_stop" "$(bounced)" "bounced while the feed is stopped again"
feed_start "$SG_DIR/maillog"
sg_assert_match "resume=$pos " "$(feed_last 'started: ')" "start line after the restart"
sg_wait_eq "$WANT" bounced || sg_fail "bounced after the restart: $SG_LAST, want $WANT"
sg_wait_for feed_caught_up || sg_fail "the restarted feed did not reach the end of the maillog"
sg_assert_eq 1035 "$(bounced)" "bounced after the restart (29 + 1000 + 6)"
sg_log "part 3 (SIGTERM, restart) done at $((SECONDS - t0)) s"

# --- 4. rename rotation while the feed runs -----------------------------------

old_ino=$(stat -c %i "$SG_DIR/maillog")
batch r1 2 5 1           # being delivered while the log is renamed
mv "$SG_DIR/maillog" "$SG_DIR/maillog.1"
batch r2 2 5 1           # postlogd still writes to the renamed file
sg_wait_for -t 20 sg_queue_empty || sg_fail "r1/r2 did not leave the queue"
sg_wait_eq -t 5 1 feed_log_count "$SG_DIR/maillog: gone: " ||
    sg_fail "the feed logged $SG_LAST 'gone' lines for the renamed maillog, want 1"
sg_assert_eq 0 "$(test -e "$SG_DIR/maillog" && echo 1 || echo 0)" "a maillog before the reload"
reload=$(postfix -c "$SG_PF" reload 2>&1) || sg_fail "postfix reload: $reload"
batch r3 2 5 1           # postlogd reopens maillog_file: into the new file
settled
[[ -s $SG_DIR/maillog ]] || sg_fail "no new $SG_DIR/maillog after the reload"
new_ino=$(stat -c %i "$SG_DIR/maillog")
[[ $new_ino != "$old_ino" ]] || sg_fail "the maillog after the reload has the old inode $old_ino"
sg_wait_eq "$WANT" bounced || sg_fail "bounced after the rotation: $SG_LAST, want $WANT"
sg_assert_eq 1065 "$(bounced)" "bounced after the rotation (1035 + 3 * 10)"
old_n=$(awk '/ status=bounced /' "$SG_DIR/maillog.1" | wc -l)
new_n=$(awk '/ status=bounced /' "$SG_DIR/maillog" | wc -l)
sg_assert_eq 10 "$new_n" "bounce lines in the new maillog (r3)"
sg_assert_eq 1055 "$old_n" "bounce lines in the renamed maillog.1 (1035 + r1 + r2)"
sg_assert_eq 1 "$(feed_log_count "$SG_DIR/maillog: rotated: reading the new file \(inode $new_ino\)")" \
    "rotated line"
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the new maillog"
sg_log "part 4 (rotation) done at $((SECONDS - t0)) s"

# --- 5. stop; a -o run over the new file counts nothing ------------------------

feed_stop
sg_assert_eq 0 "$FEED_RC" "exit status after the last SIGTERM"
COUNTED=$((COUNTED + $(summary_field counted)))
pos=$(feed_position)
sg_assert_eq "$(file_end "$SG_DIR/maillog")" "$pos" "position at the last stop"
feed_once
sg_assert_eq 0 "$FEED_RC" "exit status of the last -o run"
sg_assert_match "resume=$pos " "$(feed_last 'started: ')" "start line of the last -o run"
sg_assert_eq 0 "$(summary_field counted)" "counted= of the last -o run"
sg_assert_eq "$WANT" "$(bounced)" "bounced at the end"
sg_assert_eq "$WANT" "$COUNTED" "the runs' counted= added up"
sg_assert_eq 0 "$(grep -c 'unknown_qid=[1-9]' "$FEED_LOG")" "runs with unknown queue ids"
sg_assert_eq 0 "$(grep -c 'unparsable=[1-9]' "$FEED_LOG")" "runs with unparsable lines"
sg_assert_eq 0 "$(sg_redis exists "subguard:{$R}:quarantine")" "rita quarantined"
sg_assert_eq 0 "$(feed_log_count 'action=quarantine')" "action=quarantine lines"

sg_log "t_91_feed_restart: ok in $((SECONDS - t0)) s"
echo "t_91_feed_restart: ok"
