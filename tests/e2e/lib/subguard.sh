# shellcheck shell=bash
# shellcheck disable=SC2153 # SG_PY, SG_SRC and the like are set by harness.sh, which sources this file
# tests/e2e/lib/subguard.sh - the programs under test in the e2e world:
# subguard (the milter) and subguard-feed, their logs, and the counters
# they leave in the world's Redis.
#
# Part of the e2e harness: sourced by tests/e2e/harness.sh, never by a test.
# MTA-neutral: both the Postfix and the Sendmail world talk to the same
# subguard on $SG_SUBGUARD_SOCK. Files, in the world's directory $SG_DIR:
# subguard.conf (sg_subguard_conf), subguard.sock, subguard.log and
# subguard.pid (sg_subguard_start), feed.log (sg_feed_start).
#
# Variables: SG_SUBGUARD_PID, SG_SUBGUARD_RC (sg_subguard_start/stop),
# SG_FEED_PID, SG_FEED_RC (sg_feed_start/stop); knobs SG_CONF_SUBGUARD,
# SG_CONF_REDIS (see sg_subguard_conf).

SG_SUBGUARD_PID=
SG_SUBGUARD_RC=
SG_FEED_PID=
SG_FEED_RC=

# ---------------------------------------------------------------------------
# subguard
# ---------------------------------------------------------------------------

# sg_subguard_conf [TEXT] - (re)write $SG_DIR/subguard.conf: a [subguard]
# section (listen = unix:$SG_DIR/subguard.sock, socket_owner root,
# socket_group postfix, socket_mode 0660, user/group empty, then the lines of
# $SG_CONF_SUBGUARD), a [redis] section (address = unix:$SG_DIR/redis.sock,
# then $SG_CONF_REDIS), then TEXT verbatim (tiers, [text], ...). To change
# [subguard] or [redis] keys, use those two variables rather than TEXT: the
# file must not repeat a section. Takes effect at sg_subguard_start or
# sg_subguard_hup.
# shellcheck disable=SC2120 # its arguments are optional: most callers pass none
sg_subguard_conf() {
    cat >"$SG_DIR/subguard.conf" <<EOF
# Written by tests/e2e/harness.sh for world $SG_DIR
[subguard]
listen = unix:$SG_SUBGUARD_SOCK
socket_owner = root
socket_group = postfix
socket_mode = 0660
user =
group =
${SG_CONF_SUBGUARD:-}

[redis]
address = unix:$SG_REDIS_SOCK
${SG_CONF_REDIS:-}

${1:-}
EOF
}

# sg_subguard_start [ARGS...] - start "$SG_BUILD/subguard -f -c
# $SG_DIR/subguard.conf ARGS..." in the background (stdout and stderr appended
# to $SG_DIR/subguard.log), wait up to 10 s until its socket exists and user
# postfix may connect to it. Sets SG_SUBGUARD_PID. Fails (with the log tail)
# if subguard exits or the socket does not appear.
# shellcheck disable=SC2120 # its arguments are optional: most callers pass none
sg_subguard_start() {
    local bin=$SG_BUILD/subguard i rc
    [[ -x $bin ]] || sg_fail "no subguard binary at $bin (build first)"
    if sg__alive "$SG_SUBGUARD_PID"; then sg_fail "subguard already running"; fi
    echo "=== $(date '+%F %T') start: $bin -f -c $SG_DIR/subguard.conf $*" \
        >>"$SG_DIR/subguard.log"
    SG_WORLD=$SG_DIR "$bin" -f -c "$SG_DIR/subguard.conf" "$@" \
        </dev/null >>"$SG_DIR/subguard.log" 2>&1 &
    SG_SUBGUARD_PID=$!
    SG_SUBGUARD_RC=
    echo "$SG_SUBGUARD_PID" >"$SG_DIR/subguard.pid"
    for ((i = 0; i < 100; i++)); do
        if [[ -S $SG_SUBGUARD_SOCK ]] &&
            runuser -u postfix -- test -r "$SG_SUBGUARD_SOCK" -a -w "$SG_SUBGUARD_SOCK" 2>/dev/null; then
            return 0
        fi
        if ! sg__alive "$SG_SUBGUARD_PID"; then
            wait "$SG_SUBGUARD_PID" 2>/dev/null && rc=0 || rc=$?
            SG_SUBGUARD_RC=$rc
            sg_fail "subguard exited with status $rc before its socket was ready"
        fi
        sleep 0.1
    done
    if [[ -S $SG_SUBGUARD_SOCK ]]; then
        sg_fail "user postfix cannot connect to $SG_SUBGUARD_SOCK: $(stat -c '%U:%G %a' "$SG_SUBGUARD_SOCK")"
    fi
    sg_fail "subguard's socket $SG_SUBGUARD_SOCK did not appear within 10 s"
}

# sg_subguard_running - true while the subguard started by sg_subguard_start
# runs.
sg_subguard_running() {
    sg__alive "$SG_SUBGUARD_PID"
}

# sg_subguard_stop - send SIGTERM, wait up to 10 s, then SIGKILL. Sets
# SG_SUBGUARD_RC to its exit status. Returns 0 if it exited by itself on
# SIGTERM, 1 if it had to be killed; 0 if it was not running.
sg_subguard_stop() {
    local pid=$SG_SUBGUARD_PID i forced=0
    [[ -n $pid ]] || return 0
    if sg__alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            sg__alive "$pid" || break
            sleep 0.1
        done
        if sg__alive "$pid"; then
            sg_log "subguard ($pid) ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            forced=1
        fi
    fi
    wait "$pid" 2>/dev/null && SG_SUBGUARD_RC=0 || SG_SUBGUARD_RC=$?
    SG_SUBGUARD_PID=
    echo "=== $(date '+%F %T') stopped, status $SG_SUBGUARD_RC" >>"$SG_DIR/subguard.log"
    return $forced
}

# sg_subguard_hup - send SIGHUP (reload the configuration) to the running
# subguard. Returns at once: wait for the effect (e.g. a log line) yourself.
sg_subguard_hup() {
    sg__alive "$SG_SUBGUARD_PID" || sg_fail "sg_subguard_hup: subguard is not running"
    kill -HUP "$SG_SUBGUARD_PID"
}

# sg_subguard_log_has ERE - true if a line of subguard.log matches ERE
# (grep -E). Wait for one with: sg_wait_for sg_subguard_log_has 'action=hold'
sg_subguard_log_has() {
    grep -qE -- "$1" "$SG_DIR/subguard.log"
}

# sg_subguard_log_count ERE [FILE] - print how many lines of subguard.log
# (or FILE) match ERE; 0 if none or no file.
sg_subguard_log_count() {
    local f=${2:-$SG_DIR/subguard.log} n
    n=$(grep -cE -- "$1" "$f" 2>/dev/null) || true
    echo "${n:-0}"
}

# ---------------------------------------------------------------------------
# Counters in Redis
# ---------------------------------------------------------------------------

# sg_counter LOGIN FIELD - print FIELD of the counters hash of the
# normalised LOGIN (subguard:{LOGIN}:counters), 0 when the field or the key
# is absent: the engine does not store fields that are zero. Safe in $(...).
sg_counter() {
    local v
    v=$(redis-cli -s "$SG_REDIS_SOCK" --raw hget "subguard:{$1}:counters" "$2" 2>/dev/null) || v=
    echo "${v:-0}"
}

# sg_assert_counter WANT LOGIN FIELD WHAT - FIELD of LOGIN's counters
# reaches WANT within 5 s, or fail saying WHAT. A clean message's commit
# reaches Redis a moment after the MTA has its reply (milter/sg_commitq.c):
# read counts of mail just sent this way, not with sg_counter alone.
sg_assert_counter() {
    sg_wait_eq -t 5 "$1" sg_counter "$2" "$3" ||
        sg_fail "$4: $SG_LAST, want $1 (subguard:{$2}:counters $3)"
}

# ---------------------------------------------------------------------------
# subguard-feed
# ---------------------------------------------------------------------------

# sg_feed_start [ARGS...] - start "$SG_BUILD/subguard-feed -f -c
# $SG_DIR/subguard.conf ARGS..." (default ARGS: the world's maillog, which
# both MTAs write) in the background, output appended to $SG_DIR/feed.log,
# and wait up to 10 s for its start line. Sets SG_FEED_PID.
sg_feed_start() {
    local bin=$SG_BUILD/subguard-feed n
    [[ -x $bin ]] || sg_fail "no subguard-feed binary at $bin (build first)"
    (($# > 0)) || set -- "$SG_DIR/maillog"
    n=$(sg_subguard_log_count 'subguard-feed .* started: ' "$SG_DIR/feed.log")
    echo "=== $(date '+%F %T') start: $bin -f -c $SG_DIR/subguard.conf $*" >>"$SG_DIR/feed.log"
    SG_WORLD=$SG_DIR "$bin" -f -c "$SG_DIR/subguard.conf" "$@" \
        </dev/null >>"$SG_DIR/feed.log" 2>&1 &
    SG_FEED_PID=$!
    sg_wait_eq -t 10 $((n + 1)) sg_subguard_log_count 'subguard-feed .* started: ' "$SG_DIR/feed.log" ||
        sg_fail "subguard-feed did not log its start line: $(tail -n 5 "$SG_DIR/feed.log")"
}

# sg_feed_stop - SIGTERM the feed sg_feed_start started, wait up to 10 s,
# set SG_FEED_RC to its exit status.
sg_feed_stop() {
    [[ -n $SG_FEED_PID ]] || sg_fail "sg_feed_stop: no feed running"
    kill -TERM "$SG_FEED_PID" 2>/dev/null || true
    sg_wait_for -t 10 sg__dead "$SG_FEED_PID" || sg_fail "subguard-feed ignored SIGTERM for 10 s"
    wait "$SG_FEED_PID" && SG_FEED_RC=0 || SG_FEED_RC=$?
    SG_FEED_PID=
    echo "=== $(date '+%F %T') stopped, status $SG_FEED_RC" >>"$SG_DIR/feed.log"
}

# sg_feed_log_count ERE - lines of $SG_DIR/feed.log matching ERE
sg_feed_log_count() {
    sg_subguard_log_count "$1" "$SG_DIR/feed.log"
}
