#!/bin/bash
# mta: postfix
# t_93_feed_journal: subguard-feed -J reads the journal itself (sd-journal,
# filtered to Postfix's unit) and saves its cursor in Redis with each
# outcome: a SIGKILL in the middle of a bounce storm, then a restart, loses
# no bounce and counts none twice.
#
# The journal is a private one, so the test needs no journald and touches
# nothing of the machine's: real Postfix logs to its maillog_file as in
# the other feed tests; "tail -F | journal_export.py" turns each line into
# a journal entry in export format with what journald itself would attach
# (SYSLOG_IDENTIFIER, MESSAGE, _COMM = the agent, _PID, _SYSTEMD_UNIT =
# postfix@-.service, a boot id, monotonic and wall-clock times), and
# systemd-journal-remote writes the entries into $SG_DIR/journal as they
# come. The feed reads that directory ([feed] journal_directory) through
# the same sd-journal calls as the system journal. Proves:
#  1. without a saved position the feed starts at the journal's end: the
#     earlier bounces (logged before it started) are not counted;
#  2. then every bounce is counted once, and the saved position is the
#     journal cursor of the last Postfix record (journal:BOOT:MONO:REAL:C);
#     records of another unit (a forged "postfix/smtp" record from
#     logger.service) count nothing;
#  3. a storm of 1000 bounces; SIGKILL of the feed while it counts them
#     (more than 100 counted, fewer than all); the storm goes on; the
#     restarted feed resumes after the saved cursor ("resuming after
#     cursor") and the total is exactly the number of status=bounced lines:
#     nothing lost, nothing counted twice;
#  4. a -o run from the saved position counts nothing.
set -euo pipefail
. "$(dirname "$0")/harness.sh"
[[ $SG_MTA == postfix ]] || sg_fail "t_93_feed_journal runs on Postfix only, not SG_MTA=$SG_MTA"
JREMOTE=/lib/systemd/systemd-journal-remote
[[ -x $JREMOTE ]] || sg_fail "no $JREMOTE (package systemd-journal-remote, scripts/deps.sh)"

FEED_PID=
FEED_LOG=
J=

# feed_start - subguard-feed -f -J -n jr in the background
feed_start() {
    local n
    n=$(feed_log_count 'subguard-feed .* started: ')
    echo "=== $(date '+%F %T') start: subguard-feed -f -J -n jr" >>"$FEED_LOG"
    SG_WORLD=$SG_DIR "$SG_BUILD/subguard-feed" -f -c "$SG_DIR/subguard.conf" -J \
        -n jr </dev/null >>"$FEED_LOG" 2>&1 &
    FEED_PID=$!
    sg_wait_eq -t 10 $((n + 1)) feed_log_count 'subguard-feed .* started: ' ||
        sg_fail "subguard-feed -J did not log its start line"
}

feed_log_count() { sg_subguard_log_count "$1" "$FEED_LOG"; }
feed_last() { grep -E -- "$1" "$FEED_LOG" | tail -n 1; }
feed_position() { sg_redis get "subguard:feed:jr"; }
summary_field() { feed_last 'stopped: lines=' | grep -oE " $1=[^ ]+" | cut -d= -f2; }

# last_cursor - the cursor of the journal's last record of Postfix's unit
last_cursor() {
    journalctl -D "$J" -u postfix@-.service -n 1 -o json --no-pager 2>/dev/null |
        sg_json 'm["__CURSOR"]'
}

has_cursor() { [[ -n $(last_cursor) ]]; }

# caught_up - the saved position ends with the last Postfix record's cursor
caught_up() {
    local p c
    p=$(feed_position) c=$(last_cursor)
    [[ -n $c && $p == *":$c" ]]
}

# journal_has N - the journal holds at least N status=bounced records
journal_has() {
    (($(journalctl -D "$J" -u postfix@-.service -o cat --no-pager 2>/dev/null |
        grep -c ' status=bounced ') >= $1))
}

send() {
    local out rcpt data qid
    out=$(sg_submit --user "$1" --password "$2" --to "$3") ||
        sg_fail "submit from $1 failed: $out"
    read -r rcpt data qid < <(sg_json '"%s %s %s" % (
        "ok" if all(v[0] == 250 for v in m["rcpt"].values()) else "refused",
        m["data"][0] if m["data"] else None, m["queue_id"])' <<<"$out")
    [[ $rcpt == ok ]] || sg_fail "a recipient was refused at submission: $out"
    sg_assert_eq 250 "$data" "end of DATA from $1"
    echo "$qid" >>"$SG_DIR/qids"
}

rcpts() {
    local i out=
    for ((i = $2; i <= $3; i++)); do out+=${out:+,}$1$i@remote.example; done
    echo "$out"
}

# batch NAME MESSAGES BAD GOOD - rita's mail; WANT grows by MESSAGES * BAD
batch() {
    local k
    for ((k = 1; k <= $2; k++)); do
        send "$R" rita-pw "$(rcpts "bad-$1-$k-" 1 "$3"),$(rcpts "ok-$1-$k-" 1 "$4")"
    done
    WANT=$((WANT + $2 * $3))
}

# bounce_lines - status=bounced lines of rita's queue ids in the maillog
bounce_lines() {
    awk 'FNR == NR { q[$1]; next }
         / status=bounced / { id = $6; sub(/:$/, "", id); if (id in q) n++ }
         END { print n + 0 }' "$SG_DIR/qids" "$SG_DIR/maillog"
}

settled() {
    sg_wait_for -t 60 sg_queue_empty || sg_fail "the queue did not drain"
    sg_wait_eq -t 10 "$WANT" bounce_lines ||
        sg_fail "status=bounced lines of rita's mail: $SG_LAST, want $WANT"
    sg_wait_for -t 10 journal_has "$WANT" || sg_fail "the journal lacks bounces"
}

bounced() { sg_counter "$R" bounced; }
counted_over() { (($(bounced) > $1)); }

# --- the world and its private journal -----------------------------------

t0=$SECONDS
SG_CONF_REDIS='timeout = 5s'
sg_world_up
FEED_LOG=$SG_DIR/feed.log
J=$SG_DIR/journal
mkdir -p "$J"
: >"$SG_DIR/qids" && : >"$SG_DIR/maillog"
sg_user rita rita-pw
sg_subguard_conf "[feed]
journal_units = postfix@-.service
journal_directory = $J

[tier default]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 100000/1h
quarantine_failed = 100000/1h
normal_failure = 90%
spam_failure = 99%"
sg_subguard_start
mkfifo "$SG_DIR/j1" "$SG_DIR/j2"
tail -n +1 -F "$SG_DIR/maillog" 2>/dev/null >"$SG_DIR/j1" &
python3 "$SG_E2E/journal_export.py" <"$SG_DIR/j1" >"$SG_DIR/j2" &
"$JREMOTE" --output="$J/remote.journal" - <"$SG_DIR/j2" >"$SG_DIR/jremote.log" 2>&1 &
R=rita@example.net
WANT=0

# --- 1. no saved position: from the end ------------------------------------

batch pre 2 3 1
settled
sg_wait_for -t 10 has_cursor || sg_fail "no Postfix record in $J"
feed_start
sg_assert_eq 1 "$(feed_log_count "journal:$J: no saved position: reading from the end")" \
    "start line without a position"
sg_assert_match "started: log=journal feed=jr resume=- " "$(feed_last 'started: ')" "start line"
sg_wait_for -t 2 caught_up && sg_fail "position saved with nothing to read: $(feed_position)"
sg_assert_eq 0 "$(bounced)" "bounces logged before the first start"
WANT=0 && : >"$SG_DIR/qids"

# --- 2. every bounce once; the position is the cursor ------------------------

batch j1 2 5 5
settled
sg_wait_eq -t 20 "$WANT" bounced || sg_fail "bounced: $SG_LAST, want $WANT"
sg_wait_for -t 10 caught_up || sg_fail "position $(feed_position) is not the last cursor $(last_cursor)"
sg_assert_match '^journal:0123456789abcdef0123456789abcdef:[0-9]+:[0-9]+:s=' "$(feed_position)" \
    "the saved position's form"
# A forged delivery record from another unit counts nothing.
qid=$(head -n 1 "$SG_DIR/qids")
printf '%s mx postfix/smtp[99]: %s: to=<forged@remote.example>, relay=x[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (forged)\n' \
    "$(date -u +%FT%T.000000+00:00)" "$qid" |
    python3 "$SG_E2E/journal_export.py" --unit logger.service --mono-start 1 |
    "$JREMOTE" --output="$J/forged.journal" - >>"$SG_DIR/jremote.log" 2>&1
batch j2 1 2 1
settled
sg_wait_eq -t 20 "$WANT" bounced || sg_fail "bounced after the forged record: $SG_LAST, want $WANT"
sg_wait_for -t 10 caught_up || sg_fail "not caught up after the forged record"
sg_assert_eq 12 "$(bounced)" "bounced (10 + 2; the forged record of logger.service not counted)"
sg_log "part 2 done at $((SECONDS - t0)) s"

# --- 3. SIGKILL in the middle of a storm, restart ----------------------------

before=$(bounced)
batch s1 10 100 10 &
STORM=$!
sg_wait_for -t 60 counted_over $((before + 100)) ||
    sg_fail "the feed did not count 100 bounces of the storm"
kill -KILL "$FEED_PID"
wait "$FEED_PID" 2>/dev/null || true
at_kill=$(bounced)
wait "$STORM" || sg_fail "the storm's submissions failed"
WANT=$((WANT + 1000))
sg_log "SIGKILL with $((at_kill - before)) of the storm's 1000 bounces counted"
((at_kill < WANT)) || sg_fail "the feed had counted everything ($at_kill) before the SIGKILL: not mid-storm"
pos=$(feed_position)
settled
sg_assert_eq "$at_kill" "$(bounced)" "bounced while the feed is dead"
feed_start
sg_assert_match "resume=$pos " "$(feed_last 'started: ')" "start line after the SIGKILL"
sg_assert_eq 1 "$(feed_log_count "resuming after cursor ${pos##*:}\$")" "resuming line"
sg_wait_eq -t 60 "$WANT" bounced || sg_fail "bounced after the restart: $SG_LAST, want $WANT"
sg_wait_for -t 20 caught_up || sg_fail "the restarted feed did not reach the last cursor"
sleep 1
sg_assert_eq "$WANT" "$(bounced)" "bounced after the restart: every status=bounced line once"
sg_assert_eq 1012 "$(bounced)" "bounced after the storm (12 + 1000)"
kill -TERM "$FEED_PID"
wait "$FEED_PID" || sg_fail "the feed exited with $? after SIGTERM"
sg_assert_eq "$((WANT - at_kill))" "$(summary_field counted)" "counted= of the restarted feed"
sg_log "part 3 done at $((SECONDS - t0)) s"

# --- 4. a -o run counts nothing ------------------------------------------------

SG_WORLD=$SG_DIR timeout 30 "$SG_BUILD/subguard-feed" -o -f -c "$SG_DIR/subguard.conf" -J -n jr \
    </dev/null >>"$FEED_LOG" 2>&1 || sg_fail "the -o run failed"
sg_assert_eq 0 "$(summary_field counted)" "counted= of the -o run"
sg_assert_eq "$WANT" "$(bounced)" "bounced at the end"
sg_assert_eq 0 "$(grep -c 'unparsable=[1-9]' "$FEED_LOG")" "runs with unparsable records"

sg_log "t_93_feed_journal: ok in $((SECONDS - t0)) s"
echo "t_93_feed_journal: ok"
