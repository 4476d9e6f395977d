# shellcheck shell=bash
# bench/peers.sh - the peers subguard is compared with in bench/run-peers.sh
# (bash library, sourced after tests/e2e/harness.sh and sg_world_up).
#
# What a postmaster would install instead of subguard, each run privately in
# the world's directory $SG_DIR, as its own user, on the world's Redis:
#
#   Rspamd 3.4: its proxy worker as a milter (self_scan), every module but
#     ratelimit disabled and the stock rules not loaded (its best case), a
#     per-authenticated-user bucket (rates { user = ... }), counters in the
#     world's Redis. Refuses with 451 4.7.1 at end of DATA.
#   postfwd 1.35 (postfwd2): a Postfix policy service asked at end of DATA,
#     one rule: a per-sasl_username recipient rate. Counters in its cache
#     process (not shared between hosts, lost on restart). Refuses with 450.
#
# peer_rspamd_start LIMIT / peer_rspamd_stop, peer_postfwd_start LIMIT /
# peer_postfwd_stop: LIMIT is the number of messages (of one recipient) a
# login may send per hour. peer_cpu_ticks ROOTPID... prints the CPU time
# (clock ticks) of each process tree, reaped children included. Every
# process is stopped by the pid it was started with (or wrote).

PEER_RSPAMD_PID=
PEER_RSPAMD_SOCK=
PEER_POSTFWD_PORT=
PEER_POSTFWD_PIDFILE=

# peer__rspamd_conf DIR LIMIT - the private configuration (local.d and
# override.d of DIR; the package's /etc/rspamd for the rest)
peer__rspamd_conf() {
    local d=$1 limit=$2 f m
    mkdir -p "$d/local.d" "$d/override.d" "$d/run" "$d/db" "$d/log"
    cat >"$d/override.d/worker-proxy.inc" <<EOF
bind_socket = "$d/milter.sock mode=0666";
milter = yes;
timeout = 120s;
upstream "local" {
  default = yes;
  self_scan = yes;
}
count = 1;
EOF
    for f in normal controller fuzzy; do
        echo 'enabled = false;' >"$d/override.d/worker-$f.inc"
    done
    cat >"$d/override.d/logging.inc" <<EOF
type = "file";
filename = "$d/log/rspamd.log";
level = "error";
EOF
    # Every module off but ratelimit (and redis, its connection settings).
    for f in /etc/rspamd/modules.d/*.conf; do
        m=$(basename "$f" .conf)
        [[ $m == ratelimit || $m == redis ]] && continue
        echo 'enabled = false;' >"$d/local.d/$m.conf"
    done
    cat >"$d/local.d/classifier-bayes.conf" <<EOF
backend = "redis";
servers = "$SG_REDIS_SOCK";
EOF
    cat >"$d/local.d/ratelimit.conf" <<EOF
servers = "$SG_REDIS_SOCK";
rates {
  user = {
    bucket = {
      burst = $limit;
      rate = "$limit / 1h";
    }
  }
}
EOF
    # The stock rule files are not loaded: an empty rule set.
    echo '-- no rules: bench/peers.sh' >"$d/minimal.lua"
    echo "lua = \"\$LOCAL_CONFDIR/minimal.lua\";" >"$d/rspamd.conf.local.override"
    chown -R _rspamd:_rspamd "$d"
}

# peer_rspamd_start LIMIT - Rspamd's milter on $SG_DIR/rspamd/milter.sock
# (sets PEER_RSPAMD_SOCK and PEER_RSPAMD_PID)
peer_rspamd_start() {
    local d=$SG_DIR/rspamd
    peer__rspamd_conf "$d" "$1"
    PEER_RSPAMD_SOCK=$d/milter.sock
    rm -f "$PEER_RSPAMD_SOCK"
    SG_WORLD=$SG_DIR rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf \
        --var="LOCAL_CONFDIR=$d" --var="RUNDIR=$d/run" --var="DBDIR=$d/db" \
        --var="LOGDIR=$d/log" </dev/null >>"$d/stdout.log" 2>&1 &
    PEER_RSPAMD_PID=$!
    sg_wait_for -t 120 test -S "$PEER_RSPAMD_SOCK" ||
        sg_fail "rspamd did not open $PEER_RSPAMD_SOCK (see $d/log/rspamd.log)"
    # The proxy worker is forked after the socket is bound: wait for it.
    sg_wait_for -t 30 peer__has_children "$PEER_RSPAMD_PID" ||
        sg_fail "rspamd started no worker"
}

# peer__has_children PID - PID has at least one child process
peer__has_children() {
    [[ -n $(peer__descendants "$1" | tail -n +2) ]]
}

# peer__stop_pid PID - TERM, up to 10 s, then KILL; that pid only
peer__stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
    sg__alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        sg__alive "$pid" || return 0
        sleep 0.1
    done
    sg_log "pid $pid ignored SIGTERM for 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# peer_rspamd_stop - stop it (its main process stops its workers)
peer_rspamd_stop() {
    [[ -n $PEER_RSPAMD_PID ]] || return 0
    peer__stop_pid "$PEER_RSPAMD_PID"
    wait "$PEER_RSPAMD_PID" 2>/dev/null || true
    PEER_RSPAMD_PID=
}

# peer_postfwd_start LIMIT - postfwd2 on 127.0.0.1:$PEER_POSTFWD_PORT (a
# free port picked on the first start), one rule
peer_postfwd_start() {
    local d=$SG_DIR/postfwd limit=$1
    mkdir -p "$d"
    [[ -n $PEER_POSTFWD_PORT ]] || read -r PEER_POSTFWD_PORT < <(sg__free_ports 1)
    cat >"$d/postfwd.cf" <<EOF
id=RCPT_PER_LOGIN; protocol_state==END-OF-MESSAGE; sasl_username=~.; action=rcpt(sasl_username/$limit/3600/450 4.7.1 limit)
EOF
    chown -R postfw:postfw "$d"
    PEER_POSTFWD_PIDFILE=$d/postfwd.pid
    rm -f "$PEER_POSTFWD_PIDFILE"
    SG_WORLD=$SG_DIR postfwd2 -d -f "$d/postfwd.cf" -i 127.0.0.1 -p "$PEER_POSTFWD_PORT" \
        -u postfw -g postfw --pidfile="$PEER_POSTFWD_PIDFILE" \
        --cache_socket="unix::$d/cache.sock" --summary=600 --cache=600 \
        --cache-rdomain-only --cache-no-size </dev/null >>"$d/stdout.log" 2>&1 ||
        sg_fail "postfwd2 did not start: $(tail -5 "$d/stdout.log")"
    sg_wait_for -t 30 test -s "$PEER_POSTFWD_PIDFILE" ||
        sg_fail "postfwd2 wrote no pid file"
    sg_wait_for -t 30 peer__listening "$PEER_POSTFWD_PORT" ||
        sg_fail "postfwd2 does not listen on $PEER_POSTFWD_PORT"
}

# peer__listening PORT - something listens on 127.0.0.1:PORT
peer__listening() {
    [[ -n $(ss -Hltn "sport = :$1") ]]
}

# peer__closed PORT - nothing listens on 127.0.0.1:PORT
peer__closed() {
    ! peer__listening "$1"
}

# peer_postfwd_pid - the pid in its pid file
peer_postfwd_pid() {
    [[ -s ${PEER_POSTFWD_PIDFILE:-} ]] && awk '{ print $1; exit }' "$PEER_POSTFWD_PIDFILE"
}

# peer_postfwd_stop - TERM the pid it wrote, wait until its port is closed
peer_postfwd_stop() {
    local pid
    pid=$(peer_postfwd_pid) || return 0
    [[ -n $pid ]] || return 0
    peer__stop_pid "$pid"
    sg_wait_for -t 10 peer__closed "$PEER_POSTFWD_PORT" ||
        sg_log "postfwd2's port $PEER_POSTFWD_PORT still open"
    rm -f "$PEER_POSTFWD_PIDFILE"
}

# peer__descendants PID - PID and every process below it (from /proc)
peer__descendants() {
    "$SG_PY" "$SG_SRC/bench/sg-proctree.py" tree "$1"
}

# peer_cpu_ticks ROOTPID... - for each, the user+system CPU (clock ticks)
# of the process tree under it, reaped children included (sg-proctree.py).
# One line per root.
peer_cpu_ticks() {
    "$SG_PY" "$SG_SRC/bench/sg-proctree.py" ticks "$@"
}

# peer_redis_calls - Redis commands executed so far (INFO commandstats, the
# INFO commands themselves left out), then script calls (FCALL: subguard's
# engine; EVALSHA: Rspamd's), on one line
peer_redis_calls() {
    sg_redis info commandstats | tr -d '\r' | awk -F'[:=,]' '
        /^cmdstat_/ && $1 != "cmdstat_info" { all += $3 }
        $1 == "cmdstat_evalsha" || $1 == "cmdstat_fcall" { ev += $3 }
        END { print all + 0, ev + 0 }'
}
