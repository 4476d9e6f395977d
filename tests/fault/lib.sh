# shellcheck shell=bash
# tests/fault/lib.sh - helpers for the fault tests (bash library).
#
# Source it from a fault test (tests/fault/t_*.sh) instead of harness.sh:
#
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"       # also sources tests/e2e/harness.sh
#   sg_world_up
#   fault_users 8                    # SASL logins fl1..fl8@example.net
#   fault_conf                       # subguard.conf with limits far away
#   sg_subguard_start
#   fault_load_start T1 --sessions 10 --duration 20
#   ... break something, mend it ...
#   fault_load_wait T1
#   fault_reconcile T1               # every message delivered or 4xx, none lost
#
# Everything the harness offers (sg_*) is used as is; harness.sh is owned by
# the e2e tests and not changed for these. Helpers here are fault_*.
# The load client is tests/fault/load.py (see its docstring); its files are
# in $SG_DIR: fault-TAG.jsonl (one line per attempt), fault-TAG.run (its
# summary), fault-TAG.json (the reconciliation).
#
# SG_FAULT_RESULTS=FILE appends each scenario's figures to FILE (one
# "FIGURES ..." line per reconciliation), for docs/RELIABILITY.md.

# shellcheck source=../e2e/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/harness.sh"

FAULT_DIR=$SG_SRC/tests/fault
FAULT_LOAD=$FAULT_DIR/load.py
FAULT_MT=$SG_SRC/tests/miltertest    # the fault_*.lua scripts fault_mt runs
FAULT_USERS=
FAULT_NAME=$(basename "$0" .sh)
declare -A FAULT_LOAD_PIDS=()

# fault_now - wall-clock time in seconds with microseconds (load.py's clock)
fault_now() {
    printf '%s\n' "${EPOCHREALTIME/,/.}"
}

# fault_ms_since T - milliseconds since fault_now printed T (safe in $(...))
fault_ms_since() {
    local now=${EPOCHREALTIME/[.,]/} t=${1/[.,]/}
    echo $(( (now - 10#$t) / 1000 ))
}

# fault_users N - create the SASL logins fl1..flN@example.net (password
# "pw-flK") and the users file the load client reads ($FAULT_USERS).
fault_users() {
    local i
    FAULT_USERS=$SG_DIR/fault-users
    : >"$FAULT_USERS"
    for ((i = 1; i <= $1; i++)); do
        sg_user "fl$i" "pw-fl$i"
        echo "fl$i@example.net pw-fl$i" >>"$FAULT_USERS"
    done
}

# FAULT_TIERS - a default tier whose limits no fault test reaches: only the
# fault decides what the clients see.
FAULT_TIERS='[tier default]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 100000/1h'

# fault_conf [TEXT] - subguard.conf with FAULT_TIERS (and TEXT after it)
# shellcheck disable=SC2120 # its arguments are optional: most callers pass none
fault_conf() {
    sg_subguard_conf "$FAULT_TIERS
${1:-}"
}

# fault_load_start TAG ARGS... - run load.py in the background against the
# world's submission port as the fault users; ARGS go to "load.py run".
# The process carries SG_WORLD, so sg_world_down stops it whatever happens.
fault_load_start() {
    local tag=$1
    shift
    [[ -n $FAULT_USERS ]] || sg_fail "fault_load_start: call fault_users first"
    : >"$SG_DIR/fault-$tag.jsonl"
    SG_WORLD=$SG_DIR "$SG_PY" "$FAULT_LOAD" run --port "$SG_SUBPORT" \
        --users "$FAULT_USERS" --out "$SG_DIR/fault-$tag.jsonl" --tag "$tag" "$@" \
        </dev/null >"$SG_DIR/fault-$tag.run" 2>"$SG_DIR/fault-$tag.err" &
    FAULT_LOAD_PIDS[$tag]=$!
    sg_log "load $tag started (pid ${FAULT_LOAD_PIDS[$tag]}): $*"
}

# fault_attempts TAG - attempts recorded so far by load TAG (safe in $(...))
fault_attempts() {
    local n
    n=$(grep -c . "$SG_DIR/fault-$1.jsonl" 2>/dev/null) || true
    echo "${n:-0}"
}

# fault_accepted TAG - attempts of load TAG that got 250 at the dot so far
fault_accepted() {
    local n
    n=$(grep -c '"dot": \[250' "$SG_DIR/fault-$1.jsonl" 2>/dev/null) || true
    echo "${n:-0}"
}

# fault_wait_attempts TAG N [SECONDS] - wait until load TAG recorded N
# attempts (default 30 s); fails via sg_fail.
fault_wait_attempts() {
    local tag=$1 want=$2 t=${3:-30}
    sg_wait_for -t "$t" fault__at_least "$want" fault_attempts "$tag" ||
        sg_fail "load $tag: $(fault_attempts "$tag") attempts after $t s, want $want"
}

fault__at_least() {
    local want=$1
    shift
    (( $("$@") >= want ))
}

# fault_load_wait TAG [SECONDS] - wait for load TAG to end by itself (it is
# bounded; default 120 s more), then check that it ran to its end.
fault_load_wait() {
    local tag=$1 t=${2:-120} pid=${FAULT_LOAD_PIDS[$1]} rc=0
    if ! sg_wait_for -t "$t" sg__dead "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        sg_fail "load $tag still running after $t s more"
    fi
    wait "$pid" || rc=$?
    [[ $rc == 0 ]] || sg_fail "load $tag exited with $rc: $(tail -n 5 "$SG_DIR/fault-$tag.err")"
    sg_log "load $tag done: $(cat "$SG_DIR/fault-$tag.run")"
}

# fault_reconcile TAG [load.py reconcile ARGS...] - account for every
# message of load TAG against the sink's log (waits for the queue to drain
# first); fails unless nothing was lost, rejected with 5xx, dropped,
# duplicated or delivered behind the client's back. The result (JSON) is
# in $SG_DIR/fault-TAG.json; read fields with fault_field.
fault_reconcile() {
    local tag=$1 rc=0 out
    shift
    sg_flush
    sg_wait_for -t 60 sg_queue_empty || sg_log "queue not empty after 60 s (reconciling anyway)"
    out=$("$SG_PY" "$FAULT_LOAD" reconcile --records "$SG_DIR/fault-$tag.jsonl" \
        --sink "$SG_DIR/sink.log" --tag "$tag" --wait 30 \
        --json "$SG_DIR/fault-$tag.json" "$@") || rc=$?
    sg_log "reconciled $tag: $out"
    [[ -s $SG_DIR/fault-$tag.json ]] || sg_fail "reconciliation of $tag produced nothing (status $rc)"
    fault_figures "$tag"
    [[ $rc == 0 ]] || sg_fail "reconciliation of $tag: lost $(fault_field "$tag" lost), 5xx $(fault_field "$tag" attempts_rejected_5xx), dropped $(fault_field "$tag" attempts_dropped), duplicates $(fault_field "$tag" duplicates), phantoms $(fault_field "$tag" phantoms); examples: $(fault_field "$tag" examples)"
}

# fault_field TAG KEY[.KEY...] - a field of the reconciliation of TAG
# (JSON for lists and dicts, "null" for none). Safe in $(...).
fault_field() {
    "$SG_PY" - "$SG_DIR/fault-$1.json" "$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# fault_figures TAG - one "FIGURES" line for docs/RELIABILITY.md, on stderr
# and appended to $SG_FAULT_RESULTS when set.
fault_figures() {
    local line
    line=$("$SG_PY" - "$SG_DIR/fault-$1.json" "$FAULT_NAME" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
lat = v.get("latency") or {}
print("FIGURES %s %s messages=%d attempts=%d recipients=%d delivered=%d "
      "attempts_tempfailed=%d given_up=%d lost=%d rejected_5xx=%d dropped=%d "
      "duplicates=%d phantoms=%d lat_p50=%s lat_max=%s codes=%s" % (
      sys.argv[2], v["tag"], v["messages"], v["attempts"], v["recipients"],
      v["delivered"], v["attempts_tempfailed"], v["given_up"], v["lost"],
      v["attempts_rejected_5xx"], v["attempts_dropped"], v["duplicates"],
      v["phantoms"], lat.get("p50"), lat.get("max"),
      json.dumps(v["codes"], sort_keys=True)))
EOF
    )
    printf '%s\n' "$line" >&2
    if [[ -n ${SG_FAULT_RESULTS:-} ]]; then
        printf '%s %s\n' "$(date '+%F %T')" "$line" >>"$SG_FAULT_RESULTS"
    fi
}

# fault_note TEXT - an extra figure line (same destinations as fault_figures)
fault_note() {
    printf 'FIGURES %s note %s\n' "$FAULT_NAME" "$*" >&2
    if [[ -n ${SG_FAULT_RESULTS:-} ]]; then
        printf '%s FIGURES %s note %s\n' "$(date '+%F %T')" "$FAULT_NAME" "$*" >>"$SG_FAULT_RESULTS"
    fi
}

# fault_threads [PID] - the Threads: line of /proc/PID/status (default
# subguard), 0 when gone. Safe in $(...).
# shellcheck disable=SC2120 # its arguments are optional: most callers pass none
fault_threads() {
    local p=${1:-$SG_SUBGUARD_PID} n
    n=$(awk '/^Threads:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || true
    echo "${n:-0}"
}

# fault_sampler_start SECONDS - sample subguard's thread count every 0.1 s
# for at most SECONDS into $SG_DIR/threads.log ("TIME THREADS" lines).
# Stop it with fault_sampler_stop.
fault_sampler_start() {
    : >"$SG_DIR/threads.log"
    # A process of its own with SG_WORLD in its environment: sg_world_down
    # stops it should the test end early.
    SG_WORLD=$SG_DIR bash -c '
        pid=$1 out=$2 end=$(( ${EPOCHREALTIME%[.,]*} + $3 ))
        while (( ${EPOCHREALTIME%[.,]*} < end )); do
            n=$(awk "/^Threads:/ { print \$2 }" "/proc/$pid/status" 2>/dev/null) || n=0
            echo "${EPOCHREALTIME/,/.} ${n:-0}" >>"$out"
            sleep 0.1
        done' fault-sampler "$SG_SUBGUARD_PID" "$SG_DIR/threads.log" "$1" </dev/null &
    FAULT_SAMPLER_PID=$!
}

# fault_sampler_stop - stop the sampler (if still running)
fault_sampler_stop() {
    [[ -n ${FAULT_SAMPLER_PID:-} ]] || return 0
    kill "$FAULT_SAMPLER_PID" 2>/dev/null || true
    wait "$FAULT_SAMPLER_PID" 2>/dev/null || true
    FAULT_SAMPLER_PID=
}

# fault_threads_max [T0 [T1]] - the largest sample in threads.log taken in
# [T0, T1] (wall clock; default: all). Safe in $(...).
fault_threads_max() {
    awk -v a="${1:-0}" -v b="${2:-1e12}" '$1 >= a && $1 <= b && $2 > m { m = $2 } END { print m + 0 }' \
        "$SG_DIR/threads.log"
}

# fault_threads_median [T0 [T1]] - the median of the samples in [T0, T1]:
# what the thread count stays at, past the worker pool's brief spikes.
fault_threads_median() {
    awk -v a="${1:-0}" -v b="${2:-1e12}" '$1 >= a && $1 <= b { print $2 }' \
        "$SG_DIR/threads.log" | sort -n |
        awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'
}

# fault_redis_pid - the world's redis-server pid (tests/lib/redis.sh's
# record, $SG_DIR/redis.pid)
fault_redis_pid() {
    sg_redis_server_pid "$SG_DIR"
}

# fault_redis_kill - SIGKILL the world's redis-server (a crash: no
# shutdown, the socket file stays) and reap it.
fault_redis_kill() {
    local pid
    pid=$(fault_redis_pid)
    sg__alive "$pid" || sg_fail "fault_redis_kill: redis-server is not running"
    kill -KILL "$pid"
    sg_wait_for -t 10 sg__dead "$pid" || sg_fail "redis-server ($pid) survived SIGKILL"
    wait "$pid" 2>/dev/null || true
}

# fault_subguard_kill - SIGKILL subguard (a crash: its socket file stays)
# and reap it; SG_SUBGUARD_PID is cleared.
fault_subguard_kill() {
    local pid=$SG_SUBGUARD_PID
    sg__alive "$pid" || sg_fail "fault_subguard_kill: subguard is not running"
    kill -KILL "$pid"
    sg_wait_for -t 10 sg__dead "$pid" || sg_fail "subguard ($pid) survived SIGKILL"
    wait "$pid" 2>/dev/null || true
    SG_SUBGUARD_PID=
    echo "=== $(date '+%F %T') killed with SIGKILL by $FAULT_NAME" >>"$SG_DIR/subguard.log"
}

# fault_cmdstat CMD - calls of Redis command CMD so far (INFO commandstats,
# subcommands as "script|load";
# 0 when never called). Safe in $(...).
fault_cmdstat() {
    local n
    n=$(redis-cli -s "$SG_REDIS_SOCK" info commandstats 2>/dev/null |
        tr -d '\r' | awk -F'[:=,]' -v c="cmdstat_$1" '$1 == c { print $3 }') || true
    echo "${n:-0}"
}

# fault_mt SCRIPT.lua - run miltertest on SCRIPT (a bare name is one of
# the $FAULT_MT/fault_*.lua, which live with the other miltertest
# scripts) against the world's subguard (SG_MILTER, SG_REDIS_SOCK set for
# tests/miltertest/common.lua); fails with miltertest's output.
fault_mt() {
    local out rc=0 script=$1
    [[ $script == */* ]] || script=$FAULT_MT/$script
    out=$(SG_MILTER=unix:$SG_SUBGUARD_SOCK SG_REDIS_SOCK=$SG_REDIS_SOCK \
        SG_WORLD=$SG_DIR timeout 240 miltertest -s "$script" 2>&1) || rc=$?
    [[ $rc == 0 ]] || sg_fail "miltertest $(basename "$1") failed ($rc): $out"
    [[ -z $out ]] || printf '%s\n' "$out" >&2
}

# fault_stamp_start - copy each new line of subguard.log, prefixed with the
# wall-clock time it was seen (0.1 s resolution), into
# $SG_DIR/subguard.stamped (subguard's own lines carry no time with -f).
fault_stamp_start() {
    : >"$SG_DIR/subguard.stamped"
    SG_WORLD=$SG_DIR bash -c '
        log=$1 out=$2 n=0 end=$(( ${EPOCHREALTIME%[.,]*} + 900 ))
        while (( ${EPOCHREALTIME%[.,]*} < end )); do
            m=$(wc -l <"$log" 2>/dev/null) || exit 0
            if (( m > n )); then
                t=${EPOCHREALTIME/,/.}
                sed -n "$((n + 1)),${m}p" "$log" | sed "s/^/$t /" >>"$out"
                n=$m
            fi
            sleep 0.1
        done' fault-stamp "$SG_DIR/subguard.log" "$SG_DIR/subguard.stamped" </dev/null &
    FAULT_STAMP_PID=$!
}

# fault_stamp_stop - stop the log stamper
fault_stamp_stop() {
    [[ -n ${FAULT_STAMP_PID:-} ]] || return 0
    kill "$FAULT_STAMP_PID" 2>/dev/null || true
    wait "$FAULT_STAMP_PID" 2>/dev/null || true
    FAULT_STAMP_PID=
}

# fault_stamped ERE [T0 [T1]] - "TIME line" for the lines of subguard.log
# matching ERE, as stamped so far (see fault_stamp_start), seen in [T0, T1]
fault_stamped() {
    grep -E -- "$1" "$SG_DIR/subguard.stamped" 2>/dev/null |
        awk -v a="${2:-0}" -v b="${3:-1e12}" '$1 >= a && $1 <= b' || true
}

# fault_stamped_count ERE [T0 [T1]] - how many such lines (safe in $(...))
fault_stamped_count() {
    fault_stamped "$@" | grep -c . || true
}

# fault_outages_ended [SECONDS] - true once every "redis unavailable" in
# subguard.log has its "redis back". The pool only notices recovery on a
# call, so an outage that began as the load ended needs one: send a
# message (as fl1) every 0.5 s until the counts agree (default 10 s).
# shellcheck disable=SC2120 # its arguments are optional: most callers pass none
fault_outages_ended() {
    local t=${1:-10} i
    for ((i = 0; i < t * 2; i++)); do
        [[ $(sg_subguard_log_count 'redis unavailable') == "$(sg_subguard_log_count 'redis back')" ]] &&
            return 0
        sg_submit --user fl1@example.net --password pw-fl1 --to probe@remote.example >/dev/null 2>&1 || true
        sleep 0.5
    done
    return 1
}

# fault_error_lines - subguard.log lines that report an error of a message
# (redis-error decisions, script errors): should be none in most tests.
fault_error_lines() {
    grep -E 'reason=redis-error|NOSCRIPT|not found|ERR |script .*:' "$SG_DIR/subguard.log" || true
}
