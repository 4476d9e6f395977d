# shellcheck shell=sh
# tests/lib/redis.sh - the one way a script starts a private redis-server
# (a POSIX sh library: sourced by sh and bash scripts alike).
#
#   . "$SG_SRC/tests/lib/redis.sh"
#   sg_redis_server_start DIR || exit 1     # DIR must exist
#   redis-cli -s DIR/redis.sock ping
#   sg_redis_server_stop DIR
#
# Used by tests/integration/with-redis.sh (integration, miltertest),
# tests/e2e/lib/world.sh (the e2e, fault and stress world), the soak
# (tests/stress/soak.sh) and the benchmarks (bench/lib.sh). Two C programs
# start their own servers and stay so: tests/integration/test_redis.c
# (servers it stops, pauses or gives a password) and subguard-replay
# (replay/subguard-replay.c, a private Redis by default).
#
# The server, all in DIR:
#   redis.conf   written by sg_redis_server_start: port 0 (no TCP), the
#                unix socket DIR/redis.sock (mode 777), no disk (save "",
#                appendonly no), logfile DIR/redis.log, then the caller's
#                extra lines (a later line wins, e.g. "unixsocketperm 700")
#   redis.sock   the socket;  redis.log  its log (stdout and stderr too)
#   redis.pid    its pid, written here (redis-server runs in the
#                foreground, as a background child of the calling shell:
#                the caller can "wait" for it, so a killed server does not
#                stay a zombie; a server whose shell has gone is stopped
#                by pid just the same)
# The caller's environment goes with it ("VAR=x sg_redis_server_start"
# too: bash exports such an assignment to what the function starts), but
# redis-server writes its process title over its environment block, so
# /proc/PID/environ does not show it: find the server by DIR/redis.pid.
#
# Functions return a status and print their complaints on stderr; they
# never exit, so each caller fails in its own way. Names: sg_redis_server_*
# is the interface, sg__rs_* internal (POSIX sh has no "local": the
# functions' variables are globals named sg__rs_*). Safe under set -e.

# sg_redis_server_start DIR [LINE...] - write DIR/redis.conf (LINEs
# appended), start redis-server on it, write DIR/redis.pid and wait up to
# 10 s until it answers PING on DIR/redis.sock. Returns 1, with the tail of
# redis.log on stderr and the server stopped, if it does not.
sg_redis_server_start() {
    sg__rs_dir=$1
    shift
    {
        printf '%s\n' 'port 0' "unixsocket $sg__rs_dir/redis.sock" \
            'unixsocketperm 777' 'daemonize no' "dir $sg__rs_dir" \
            "logfile $sg__rs_dir/redis.log" 'save ""' 'appendonly no'
        for sg__rs_line in "$@"; do printf '%s\n' "$sg__rs_line"; done
    } >"$sg__rs_dir/redis.conf" || return 1
    redis-server "$sg__rs_dir/redis.conf" </dev/null >>"$sg__rs_dir/redis.log" 2>&1 &
    sg__rs_pid=$!
    echo "$sg__rs_pid" >"$sg__rs_dir/redis.pid"
    # Every 50 ms: a caller may time what follows from this return (the
    # fault tests count what Redis saw from then on).
    sg__rs_i=0
    while [ "$sg__rs_i" -lt 200 ]; do
        sg_redis_server_ping "$sg__rs_dir" && return 0
        sg__rs_alive "$sg__rs_pid" || break
        sleep 0.05
        sg__rs_i=$((sg__rs_i + 1))
    done
    echo "redis-server ($sg__rs_pid) did not answer PING on $sg__rs_dir/redis.sock; redis.log ends:" >&2
    tail -n 20 "$sg__rs_dir/redis.log" >&2 2>/dev/null || :
    sg_redis_server_stop "$sg__rs_dir" 1 || :
    return 1
}

# sg_redis_server_stop DIR [SECONDS] - SIGTERM the server of DIR (without
# save points it just exits), wait up to SECONDS (default 5) until it is
# gone, SIGKILL it if not, reap it if it is our child, and remove
# redis.pid and redis.sock. Returns 0 if it ended on SIGTERM or was not
# running, 1 if it had to be killed.
sg_redis_server_stop() {
    sg__rs_pid=$(sg_redis_server_pid "$1")
    sg__rs_rc=0
    if sg__rs_alive "$sg__rs_pid"; then
        kill -TERM "$sg__rs_pid" 2>/dev/null || :
        sg__rs_i=0
        while sg__rs_alive "$sg__rs_pid" && [ "$sg__rs_i" -lt $((${2:-5} * 10)) ]; do
            sleep 0.1
            sg__rs_i=$((sg__rs_i + 1))
        done
        if sg__rs_alive "$sg__rs_pid"; then
            echo "redis-server ($sg__rs_pid) ignored SIGTERM for ${2:-5} s: SIGKILL" >&2
            kill -KILL "$sg__rs_pid" 2>/dev/null || :
            sg__rs_rc=1
        fi
    fi
    # Reap our own child (a no-op for anyone else's).
    [ -z "$sg__rs_pid" ] || wait "$sg__rs_pid" 2>/dev/null || :
    rm -f "$1/redis.pid" "$1/redis.sock"
    return "$sg__rs_rc"
}

# sg_redis_server_ping DIR - true if the server of DIR answers PING
sg_redis_server_ping() {
    [ "$(redis-cli -s "$1/redis.sock" ping 2>/dev/null)" = PONG ]
}

# sg_redis_server_pid DIR - print the server's pid from DIR/redis.pid
# (nothing if there is none; whether it still runs is not checked)
sg_redis_server_pid() {
    [ ! -s "$1/redis.pid" ] || cat "$1/redis.pid"
}

# sg__rs_alive PID - true if PID runs and is not a zombie (a killed server
# whose parent has not reaped it yet is gone for our purposes); starts no
# process, as it runs in every poll
sg__rs_alive() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
    IFS= read -r sg__rs_state 2>/dev/null <"/proc/$1/stat" || return 1
    sg__rs_state=${sg__rs_state##*) }
    case $sg__rs_state in
    '' | Z*) return 1 ;;
    esac
}
