# shellcheck shell=bash
# shellcheck disable=SC2153 # SG_PY, SG_SRC and the like are set by harness.sh, which sources this file
# tests/e2e/lib/world.sh - the e2e world itself, whatever the MTA: messages
# and assertions, the world's processes, sg_world_up/sg_world_down, SASL
# users, the world's private Redis, and the MTA-neutral mail and queue
# functions (which call the MTA's part: lib/postfix.sh or lib/sendmail.sh).
#
# Part of the e2e harness: sourced by tests/e2e/harness.sh, never by a test
# (harness.sh documents the whole interface, the knobs and the variables).
# Files, in the world's directory $SG_DIR: .sg-world (the owning shell's
# pid), redis.* (tests/lib/redis.sh: redis.sock redis.conf redis.log
# redis.pid), sink.log sink.err sink.pid sink.ready (tests/e2e/sink.py),
# sasldb2, maillog (written by the MTA).

# ---------------------------------------------------------------------------
# Messages and assertions
# ---------------------------------------------------------------------------

# sg_log MSG... - a progress line on stderr, prefixed with the time.
sg_log() {
    printf '[sg %(%H:%M:%S)T] %s\n' -1 "$*" >&2
}

# sg_diag - print the tails of the world's logs (maillog, subguard.log,
# sink.log, redis.log) and the MTA's queue to stderr. Harmless before
# sg_world_up. sg_fail and a failing exit call it once.
sg_diag() {
    SG__DIAG_DONE=1
    [[ -n $SG_DIR && -d $SG_DIR ]] || return 0
    local f n
    for f in maillog:60 subguard.log:60 sink.log:30 sink.err:10 redis.log:10; do
        n=${f#*:}; f=$SG_DIR/${f%%:*}
        [[ -s $f ]] || continue
        printf '\n----- last %s lines of %s -----\n' "$n" "$f" >&2
        tail -n "$n" "$f" >&2
    done
    if declare -F "sg__${SG_MTA}_diag" >/dev/null; then "sg__${SG_MTA}_diag"; fi
    printf '\n----- end of diagnostics (world: %s) -----\n' "$SG_DIR" >&2
}

# sg_fail MSG... - report a failure with its caller's file:line, print the
# diagnostics (sg_diag) and exit 1 (the EXIT trap then stops the world).
sg_fail() {
    local where="${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}"
    [[ ${FUNCNAME[1]:-} == sg_assert_* ]] &&
        where="${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]}"
    printf '\nFAIL (%s): %s\n' "$where" "$*" >&2
    sg_diag
    exit 1
}

# sg_assert_eq EXPECTED ACTUAL [WHAT] - sg_fail unless the strings are equal.
sg_assert_eq() {
    [[ $1 == "$2" ]] ||
        sg_fail "${3:-value}: expected '$1', got '$2'"
}

# sg_assert_match ERE STRING [WHAT] - sg_fail unless STRING matches the
# extended regular expression ERE (bash =~, unanchored).
sg_assert_match() {
    [[ $2 =~ $1 ]] ||
        sg_fail "${3:-value}: '$2' does not match /$1/"
}

# sg_wait_for [-t SECONDS] CMD [ARGS...] - run CMD every 0.1 s until it
# succeeds (return 0) or SECONDS (default $SG_WAIT) have passed (return 1).
# CMD's output is discarded. Use: sg_wait_for -t 5 test -S "$f" || sg_fail ...
sg_wait_for() {
    local t=$SG_WAIT now deadline
    if [[ ${1:-} == -t ]]; then t=$2; shift 2; fi
    now=${EPOCHREALTIME/[.,]/}
    deadline=$((now + ${t%.*} * 1000000))
    while :; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        now=${EPOCHREALTIME/[.,]/}
        ((now < deadline)) || return 1
        sleep 0.1
    done
}

# sg_wait_eq [-t SECONDS] EXPECTED CMD [ARGS...] - like sg_wait_for, until
# CMD's standard output is EXPECTED. On timeout, returns 1 and leaves CMD's
# last output in SG_LAST. E.g.
#   sg_wait_eq 2 sg_delivered_count a@remote.example || sg_fail "got $SG_LAST"
sg_wait_eq() {
    local t=$SG_WAIT now deadline want
    if [[ ${1:-} == -t ]]; then t=$2; shift 2; fi
    want=$1; shift
    now=${EPOCHREALTIME/[.,]/}
    deadline=$((now + ${t%.*} * 1000000))
    while :; do
        SG_LAST=$("$@" 2>/dev/null) || true
        [[ $SG_LAST == "$want" ]] && return 0
        now=${EPOCHREALTIME/[.,]/}
        ((now < deadline)) || return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------
# Small internals
# ---------------------------------------------------------------------------

# sg__free_ports N - print N distinct free TCP ports on 127.0.0.1.
sg__free_ports() {
    "$SG_PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# sg__alive PID - true if PID exists and is not a zombie.
sg__alive() {
    local st
    [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st:0:1} != Z ]]
}

# sg__dead PID - true once PID has exited (or is a zombie)
sg__dead() {
    ! sg__alive "$1"
}

# sg__world_pids DIR - pids of processes that belong to world DIR: started by
# the harness with SG_WORLD=DIR in their environment, Postfix processes
# with MAIL_CONFIG=DIR/pf, or Sendmail processes working in DIR/q (Sendmail
# overwrites its environment with its process title, but always works in
# its queue directory). Never this shell. One grep over /proc and a stat
# per process: reading /proc is slow in some sandboxes.
sg__world_pids() {
    local d=$1 f p exe me=$BASHPID
    {
        while IFS= read -r f; do
            p=${f#/proc/}
            echo "${p%/environ}"
        done < <(grep -lsxzF -e "SG_WORLD=$d" -e "MAIL_CONFIG=$d/pf" \
            /proc/[0-9]*/environ 2>/dev/null)
        if [[ -d $d/q ]]; then
            for p in /proc/[0-9]*; do
                [[ $p/cwd -ef $d/q ]] || continue
                exe=$(readlink "$p/exe" 2>/dev/null) || continue
                [[ $exe == */sendmail ]] && echo "${p#/proc/}"
            done
        fi
    } | sort -un | grep -vxF -e "$$" -e "$me" || true
}

# sg__kill_world DIR - TERM, then after 5 s KILL, every process of world DIR.
sg__kill_world() {
    local pids i
    pids=$(sg__world_pids "$1")
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086 # a list of pids
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        pids=$(for p in $pids; do if sg__alive "$p"; then echo "$p"; fi; done)
        [[ -n $pids ]] || return 0
        sleep 0.1
    done
    sg_log "killing leftover processes of $1: $pids"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}

# sg__reap_stale - stop the processes of worlds whose owning script died
# without sg_world_down (e.g. killed by a CTest timeout) and remove them.
sg__reap_stale() {
    local d owner
    for d in /tmp/sg.??????; do
        [[ -f $d/.sg-world ]] || continue
        owner=$(<"$d/.sg-world")
        [[ -n $owner ]] && sg__alive "$owner" && continue
        sg_log "reaping stale world $d (owner $owner gone)"
        sg__kill_world "$d"
        rm -f "$d/.sg-world"
        rm -rf "$d"
    done
}

# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------

# sg_world_up - create $SG_DIR and start redis, the sink and the MTA
# ($SG_MTA: Postfix or Sendmail; not subguard: see sg_subguard_start). Writes
# a default subguard.conf. Installs the EXIT/INT/TERM traps that call
# sg_world_down. Fails via sg_fail.
sg_world_up() {
    [[ -z $SG_DIR ]] || sg_fail "sg_world_up called twice"
    local t tools=(saslpasswd2 redis-server redis-cli) more
    case $SG_MTA in
    postfix | sendmail)
        read -ra more < <("sg__${SG_MTA}_tools")
        tools+=("${more[@]}")
        ;;
    *) sg_fail "SG_MTA='$SG_MTA': want postfix or sendmail" ;;
    esac
    for t in "${tools[@]}"; do
        command -v "$t" >/dev/null || sg_fail "$t not installed (scripts/deps.sh)"
    done
    "$SG_PY" -c 'import aiosmtpd' 2>/dev/null ||
        sg_fail "$SG_PY has no aiosmtpd (apt-get install python3-aiosmtpd)"
    [[ $(id -u) == 0 ]] || sg_fail "the e2e world needs root (private Postfix)"
    sg__reap_stale

    SG_DIR=$(mktemp -d /tmp/sg.XXXXXX)
    chmod 755 "$SG_DIR"
    echo "$$" >"$SG_DIR/.sg-world"
    SG__DOWN=
    trap 'sg__on_exit $?' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    SG_PF=$SG_DIR/pf
    SG_SM=$SG_DIR/sm
    SG_REDIS_SOCK=$SG_DIR/redis.sock
    SG_SUBGUARD_SOCK=$SG_DIR/subguard.sock
    read -r SG_SUBPORT SG_SINKPORT SG_MTAPORT < <(sg__free_ports 3)
    [[ -n $SG_MTAPORT ]] || sg_fail "cannot pick free ports"
    export SG_DIR SG_PF SG_SM SG_SUBPORT SG_SINKPORT SG_MTAPORT SG_REDIS_SOCK \
        SG_SUBGUARD_SOCK SG_REALM
    sg_log "world $SG_DIR ($SG_MTA): submission 127.0.0.1:$SG_SUBPORT, sink :$SG_SINKPORT"

    # (a) redis (tests/lib/redis.sh; sg_world_down stops it by redis.pid)
    SG_WORLD=$SG_DIR sg_redis_server_start "$SG_DIR" ||
        sg_fail "redis-server did not answer PING on $SG_REDIS_SOCK"

    # (b) the next-hop sink
    ( cd "$SG_DIR" && SG_WORLD=$SG_DIR exec "$SG_PY" "$SG_E2E/sink.py" \
        --port "$SG_SINKPORT" --log "$SG_DIR/sink.log" \
        --ready "$SG_DIR/sink.ready" </dev/null 2>"$SG_DIR/sink.err" ) &
    echo $! >"$SG_DIR/sink.pid"
    sg_wait_for -t 15 test -e "$SG_DIR/sink.ready" ||
        sg_fail "sink.py did not start on port $SG_SINKPORT"

    # (c) the MTA: lib/postfix.sh or lib/sendmail.sh
    "sg__${SG_MTA}_config"
    "sg__${SG_MTA}_start"

    # (d) a default subguard.conf
    sg_subguard_conf
}

# sg_user NAME PASSWORD - create (or reset) the SASL login NAME@example.net
# in the world's sasldb (NAME may also be given as NAME@REALM).
sg_user() {
    local name=$1 pw=$2 realm=$SG_REALM
    if [[ $name == *@* ]]; then realm=${name#*@}; name=${name%@*}; fi
    printf '%s' "$pw" |
        saslpasswd2 -p -c -f "$SG_DIR/sasldb2" -u "$realm" "$name" ||
        sg_fail "saslpasswd2 failed for $name@$realm"
    chown root:postfix "$SG_DIR/sasldb2"
    chmod 640 "$SG_DIR/sasldb2"
}

# sg_world_down [RC] - stop subguard, the MTA, the sink and redis, make sure no
# process of the world is left, and remove $SG_DIR unless SG_KEEP=always, or
# SG_KEEP=1 and RC (default 0) is non-zero. Idempotent; runs from the EXIT trap.
sg_world_down() {
    local rc=${1:-0} p
    [[ -n $SG_DIR && -z $SG__DOWN ]] || return 0
    SG__DOWN=1
    sg_subguard_stop >/dev/null 2>&1 || true
    "sg__${SG_MTA}_stop"
    for p in "$SG_DIR/sink.pid" "$SG_DIR/redis.pid"; do
        if [[ -s $p ]]; then kill -TERM "$(<"$p")" 2>/dev/null || true; fi
    done
    sg__kill_world "$SG_DIR"
    # A bare "wait" would hang on any child that ignored TERM (a fresh
    # test run once spent its whole CTest timeout here): end our own
    # background jobs for good first, then reap them.
    for p in $(jobs -p); do
        kill -KILL "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -f "$SG_DIR/.sg-world"
    if [[ ${SG_KEEP:-} == always || ( ${SG_KEEP:-} == 1 && $rc != 0 ) ]]; then
        sg_log "kept world directory $SG_DIR"
    else
        rm -rf "$SG_DIR"
    fi
}

# sg__on_exit RC - the EXIT trap: diagnostics if RC is not 0 (and sg_fail
# did not print them already), sg_world_down, exit RC.
sg__on_exit() {
    local rc=$1
    set +e
    trap - EXIT INT TERM
    if [[ $rc != 0 && -z $SG__DIAG_DONE ]]; then
        printf '\nFAIL: script exited with status %s\n' "$rc" >&2
        sg_diag
    fi
    sg_world_down "$rc"
    exit "$rc"
}

# ---------------------------------------------------------------------------
# The world's Redis
# ---------------------------------------------------------------------------

# sg_redis ARGS... - redis-cli on the world's private redis.
sg_redis() {
    redis-cli -s "$SG_REDIS_SOCK" "$@"
}

# sg_redis_running - true while the world's redis answers PING.
sg_redis_running() {
    sg__redis_ping
}

# sg__redis_ping - true if the world's redis answers PING
sg__redis_ping() {
    sg_redis_server_ping "$SG_DIR"
}

# sg_redis_stop - stop the world's redis-server (SIGTERM: no save points,
# nothing is kept) and wait up to 10 s until its process is gone. Fails via
# sg_fail.
sg_redis_stop() {
    local pid
    pid=$(sg_redis_server_pid "$SG_DIR")
    sg__alive "$pid" || sg_fail "sg_redis_stop: redis-server is not running"
    sg_redis_server_stop "$SG_DIR" 10 || sg_fail "redis-server ($pid) did not stop"
}

# sg_redis_start - start the world's redis-server again, as sg_world_up did
# (same redis.conf, same socket $SG_REDIS_SOCK, empty: no disk), and wait up
# to 10 s until it answers PING. Fails via sg_fail.
sg_redis_start() {
    if sg__redis_ping; then sg_fail "sg_redis_start: redis already answers"; fi
    SG_WORLD=$SG_DIR sg_redis_server_start "$SG_DIR" ||
        sg_fail "redis-server did not answer PING on $SG_REDIS_SOCK after a restart"
}

# ---------------------------------------------------------------------------
# Mail and queue (MTA-neutral: each calls sg__${SG_MTA}_NAME)
# ---------------------------------------------------------------------------

# sg_submit ARGS... - tests/e2e/submit.py --port $SG_SUBPORT ARGS...: one JSON
# line per message on stdout; status 0 ok, 2 connection/AUTH failure.
# submit.py takes "queue_id" from Postfix's "250 2.0.0 Ok: queued as QID";
# for Sendmail ("250 2.0.0 QID Message accepted for delivery") it is filled
# in by lib/sendmail.sh, so tests read m["queue_id"] whatever the MTA.
sg_submit() {
    "sg__${SG_MTA}_submit" "$@"
}

# sg_json EXPR - for each JSON line on stdin, print the Python expression
# EXPR evaluated with m = the parsed line (lists and dicts as JSON, None as
# "null"). E.g. sg_submit ... | sg_json 'm["rcpt"]["a@x.example"][0]'
sg_json() {
    "$SG_PY" -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    m = json.loads(line)
    v = eval(sys.argv[1], {"m": m, "json": json})
    print(v if isinstance(v, str) else json.dumps(v))
' "$1"
}

# sg_delivered_count RCPT - how many messages the sink accepted for RCPT
# (bounces sent to RCPT included; compare case-insensitively).
sg_delivered_count() {
    awk -v r="$1" 'tolower($2) == tolower(r) { n++ } END { print n + 0 }' \
        "$SG_DIR/sink.log"
}

# sg_delivered_ids RCPT - the queue ids (first column of sink.log) of the
# messages delivered to RCPT, one per line.
sg_delivered_ids() {
    awk -v r="$1" 'tolower($2) == tolower(r) { print $1 }' "$SG_DIR/sink.log"
}

# sg_queue_empty - true if the MTA's queue is empty: Postfix's every queue,
# hold included; Sendmail's queue, quarantined (hf) messages included.
sg_queue_empty() {
    "sg__${SG_MTA}_queue_empty"
}

# sg_queue_ids - every queue id in the MTA's queue (held or quarantined
# ones included), one per line.
sg_queue_ids() {
    "sg__${SG_MTA}_queue_ids"
}

# sg_held_ids - queue ids of held mail: Postfix's hold queue (marked "!" by
# postqueue -p), Sendmail's quarantined messages (mailq -qQ).
sg_held_ids() {
    "sg__${SG_MTA}_held_ids"
}

# sg_release QID... - release held messages and ask for their delivery now,
# with the commands contrib/*/README.md give support staff: Postfix
# "postsuper -H QID; postqueue -i QID"; Sendmail "sendmail -Q -qQ -qIQID"
# (remove the quarantine: hf file back to qf) then "sendmail -qIQID" (a
# queue run for that message).
sg_release() {
    local q
    for q in "$@"; do
        "sg__${SG_MTA}_release" "$q"
    done
}

# sg_flush - ask the MTA to retry all deferred mail now (Postfix postqueue
# -f, Sendmail sendmail -q). Quarantined Sendmail mail stays.
sg_flush() {
    "sg__${SG_MTA}_flush"
}

# sg_maillog_has ERE - true if a maillog line matches ERE (grep -E). Wait for
# one with: sg_wait_for sg_maillog_has 'to=<x@y>.*status=sent'
sg_maillog_has() {
    grep -qE -- "$1" "$SG_DIR/maillog"
}

# sg_bounced_rcpts QID - how many recipients of QID the MTA's log reports
# as finally failed with a 5.x.x DSN: Postfix "QID: to=<r>, ..., dsn=5.1.1,
# status=bounced (...)", one recipient a line; Sendmail "QID: to=<a>,<b>,
# ..., dsn=5.1.1, ..., stat=User unknown", possibly several a line.
sg_bounced_rcpts() {
    "sg__${SG_MTA}_bounced_rcpts" "$1"
}

# sg_submission_add PORT [NAME=VALUE...] - add a second submission listener
# on 127.0.0.1:PORT to master.cf, the same as the first one (main.cf's
# settings: AUTH, restrictions, milters) but with the given -o NAME=VALUE
# overrides (e.g. smtpd_milters=unix:$SG_DIR/other.sock), and restart
# Postfix. Send through it with: sg_submit --port PORT ... (the last --port
# wins). Queued and held mail stay. Sendmail: a second MSA daemon on PORT
# (M=Ea) with its own filter; of the NAME=VALUEs only smtpd_milters (the
# filter's socket, Postfix's spelling; default: the world's subguard) is
# understood, the others are Postfix's and ignored.
sg_submission_add() {
    "sg__${SG_MTA}_submission_add" "$@"
}

# sg_smtps_add PORT - add a submission listener with implicit TLS (what
# port 465 is, RFC 8314) on 127.0.0.1:PORT, with the same subguard as the
# first, as contrib sets it up: Postfix a "submissions" smtpd with
# smtpd_tls_wrappermode=yes (sg_submission_add), Sendmail contrib's
# subguard.m4 with SUBGUARD_SMTPS (M=Eas). The certificate is made now by
# sg_tls_cert. Send through it with sg_submit --port PORT --smtps
# "$SG_DIR/tls/cert.pem".
sg_smtps_add() {
    sg_tls_cert
    "sg__${SG_MTA}_smtps_add" "$1"
}

# sg_tls_cert - a self-signed test certificate for mail.isp.example and
# 127.0.0.1 in $SG_DIR/tls/cert.pem, its key in key.pem (made with openssl
# at test time; made once per world)
sg_tls_cert() {
    local out
    [[ -s $SG_DIR/tls/cert.pem ]] && return 0
    mkdir -p "$SG_DIR/tls"
    chmod 755 "$SG_DIR/tls"
    out=$(openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mail.isp.example \
        -addext 'subjectAltName=DNS:mail.isp.example,IP:127.0.0.1' \
        -keyout "$SG_DIR/tls/key.pem" -out "$SG_DIR/tls/cert.pem" 2>&1) ||
        sg_fail "openssl could not make the test certificate: $out"
    chmod 600 "$SG_DIR/tls/key.pem"
    chmod 644 "$SG_DIR/tls/cert.pem"
}

# sg_free_port - print one free TCP port on 127.0.0.1 (never fails; safe in
# $(...)).
sg_free_port() {
    sg__free_ports 1
}
