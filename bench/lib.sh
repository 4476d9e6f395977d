# shellcheck shell=bash
# bench/lib.sh - what the benchmark scripts share (bash library).
#
# Source it from bench/run-*.sh. It gives a scratch directory $SGB_DIR
# (mktemp -d /tmp/sgb.XXXXXX, removed on exit unless SGB_KEEP=1), starts
# and stops the processes of a benchmark (each by its own pid, never by
# name), and does the arithmetic of the reports (medians, ratios).
#
# Environment:
#   SG_SRC    the source tree (default: the checkout this file is in)
#   SG_BUILD  the build directory with subguard and the bench tools
#             (default: $SG_SRC/build)
#   SGB_KEEP=1  keep $SGB_DIR (logs, raw RESULT lines) after the run
#
# Every wait is a poll loop with a deadline; every load tool runs for a
# bounded time.

if [[ -n ${SGB__LOADED:-} ]]; then return 0; fi
SGB__LOADED=1

: "${SG_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SG_BUILD:=$SG_SRC/build}"
SGB_BIN=$SG_BUILD/bench
SGB_DIR=
SGB_PIDS=()
SGB_REDIS_PID=
export SG_SRC SG_BUILD
# shellcheck source=tests/lib/redis.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/redis.sh"

# sgb_log MSG... - progress on stderr
sgb_log() {
    printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2
}

# sgb_die MSG... - give up
sgb_die() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}

# sgb_need_tools - the binaries the benchmarks run
# shellcheck disable=SC2120 # its arguments are optional: most callers pass none
sgb_need_tools() {
    local t
    for t in "$SG_BUILD/subguard" "$SGB_BIN/sg-milterload" \
        "$SGB_BIN/sg-nullmilter" "$@"; do
        [[ -x $t ]] || sgb_die "$t missing: cmake --build $SG_BUILD --target bench-tools (or build all)"
    done
    command -v redis-server >/dev/null || sgb_die "redis-server not installed"
    command -v redis-cli >/dev/null || sgb_die "redis-cli not installed"
}

# sgb_init - the scratch directory and the exit trap
sgb_init() {
    SGB_DIR=$(mktemp -d /tmp/sgb.XXXXXX)
    chmod 755 "$SGB_DIR"
    trap 'sgb__cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

sgb__cleanup() {
    local p
    set +e
    for p in "${SGB_PIDS[@]}"; do
        sgb_stop "$p"
    done
    sgb_redis_stop
    if [[ -n $SGB_DIR && -d $SGB_DIR ]]; then
        if [[ ${SGB_KEEP:-} == 1 ]]; then
            sgb_log "kept $SGB_DIR"
        else
            rm -rf "$SGB_DIR"
        fi
    fi
}

# sgb_alive PID - running and not a zombie
sgb_alive() {
    local st
    [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st:0:1} != Z ]]
}

# sgb_stop PID - SIGTERM, up to 10 s, then SIGKILL; only that pid
sgb_stop() {
    local pid=$1 i
    sgb_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        sgb_alive "$pid" || break
        sleep 0.1
    done
    if sgb_alive "$pid"; then
        sgb_log "pid $pid ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# sgb_wait_for SECONDS CMD... - poll CMD every 0.05 s until it succeeds
sgb_wait_for() {
    local t=$1 i
    shift
    for ((i = 0; i < t * 20; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    return 1
}

# sgb_redis_start - a private redis-server in $SGB_DIR, started the one way
# every script does (tests/lib/redis.sh): the unix socket
# $SGB_DIR/redis.sock, no TCP, no persistence. Sets SGB_REDIS_SOCK and
# SGB_REDIS_PID; sgb_redis_stop (or the exit) stops it.
sgb_redis_start() {
    SGB_REDIS_SOCK=$SGB_DIR/redis.sock
    sg_redis_server_start "$SGB_DIR" || sgb_die "redis-server did not start"
    SGB_REDIS_PID=$(sg_redis_server_pid "$SGB_DIR")
}

# sgb_redis_stop - stop it and wait until it is gone
sgb_redis_stop() {
    [[ -n ${SGB_REDIS_PID:-} ]] || return 0
    sg_redis_server_stop "$SGB_DIR" 10 || true
    SGB_REDIS_PID=
}

# sgb_rcli ARGS... - redis-cli on the private Redis
sgb_rcli() {
    redis-cli -s "$SGB_REDIS_SOCK" "$@"
}

# sgb_info_field SECTION FIELD - one INFO field (e.g. stats
# total_connections_received, memory used_memory)
sgb_info_field() {
    sgb_rcli info "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

# sgb_script_calls - top-level script calls so far (INFO commandstats):
# FCALL (subguard's engine, a Functions library) and EVALSHA (Rspamd's)
sgb_script_calls() {
    sgb_rcli info commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_\(fcall\|evalsha\):calls=\([0-9]*\),.*/\2/p' |
        awk '{ n += $1 } END { print n + 0 }'
}

# sgb_script_usec - microseconds Redis spent in those calls so far
sgb_script_usec() {
    sgb_rcli info commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_\(fcall\|evalsha\):calls=[0-9]*,usec=\([0-9]*\),.*/\2/p' |
        awk '{ n += $1 } END { print n + 0 }'
}

# sgb_subguard_conf FILE [EXTRA] - the benchmark configuration
sgb_subguard_conf() {
    sed -e "s|@DIR@|$SGB_DIR|g" -e "s|@REDIS@|unix:$SGB_REDIS_SOCK|g" \
        "$SG_SRC/bench/subguard-bench.conf.in" >"$1"
    [[ -z ${2:-} ]] || printf '%s\n' "$2" >>"$1"
}

# sgb_subguard_start - subguard -f on $SGB_DIR/subguard.sock. Its log
# (one line per message) goes to /dev/null unless SGB_LOG=1. Sets
# SGB_SG_PID and SGB_SG_SOCK.
sgb_subguard_start() {
    local log=/dev/null
    [[ ${SGB_LOG:-} == 1 ]] && log=$SGB_DIR/subguard.log
    SGB_SG_SOCK=$SGB_DIR/subguard.sock
    sgb_subguard_conf "$SGB_DIR/subguard.conf"
    "$SG_BUILD/subguard" -t -c "$SGB_DIR/subguard.conf" >/dev/null ||
        sgb_die "subguard -t refused $SGB_DIR/subguard.conf"
    "$SG_BUILD/subguard" -f -c "$SGB_DIR/subguard.conf" </dev/null >"$log" 2>&1 &
    SGB_SG_PID=$!
    SGB_PIDS+=("$SGB_SG_PID")
    sgb_wait_for 10 test -S "$SGB_SG_SOCK" || sgb_die "subguard did not start"
}

# sgb_null_start - the do-nothing milter on $SGB_DIR/null.sock. Sets
# SGB_NULL_PID and SGB_NULL_SOCK.
sgb_null_start() {
    SGB_NULL_SOCK=$SGB_DIR/null.sock
    "$SGB_BIN/sg-nullmilter" -p "unix:$SGB_NULL_SOCK" </dev/null \
        >"$SGB_DIR/null.log" 2>&1 &
    SGB_NULL_PID=$!
    SGB_PIDS+=("$SGB_NULL_PID")
    sgb_wait_for 10 test -S "$SGB_NULL_SOCK" || sgb_die "sg-nullmilter did not start"
}

# sgb_field LINE KEY - the value of KEY=value in a RESULT line
sgb_field() {
    local kv
    for kv in $1; do
        [[ $kv == "$2="* ]] && { echo "${kv#*=}"; return 0; }
    done
    echo ""
}

# sgb_median NUMBERS... - the median (mean of the middle two if even)
sgb_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]
        else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# sgb_minmax NUMBERS... - "min-max"
sgb_minmax() {
    printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
        END { printf "%s-%s\n", lo, hi }'
}

# sgb_calc EXPR - floating point arithmetic (awk)
sgb_calc() {
    awk "BEGIN { printf \"%.6g\\n\", $1 }"
}

# sgb_cpu_ticks PID - user+system CPU time in clock ticks
sgb_cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# sgb_rss_kb PID - resident set size in kB
sgb_rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# sgb_threads PID - number of threads
sgb_threads() {
    awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# sgb_machine - one line about where the figures were measured
sgb_machine() {
    local rev
    if [[ -n ${SGB_REV:-} ]]; then
        rev=$SGB_REV
    else
        rev=$(git -C "$SG_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
        git -C "$SG_SRC" diff --quiet HEAD -- lib milter redis 2>/dev/null || rev="$rev+local changes"
    fi
    printf 'machine: %s CPUs (%s), %s; load average %s; subguard %s\n' \
        "$(nproc)" "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
        "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$rev"
}
