# shellcheck shell=bash
# tests/e2e/harness.sh - the end-to-end test world for subguard (bash library).
#
# Source it from a test (tests/e2e/t_*.sh) or a script:
#
#   set -euo pipefail
#   . "$(dirname "$0")/harness.sh"
#   sg_world_up                      # redis + sink + private Postfix or Sendmail
#   sg_user alice secret             # SASL login alice@example.net
#   sg_subguard_conf '[tier default]
#   messages = 3/1h'                 # optional: tiers etc.
#   sg_subguard_start                # the milter under test
#   sg_submit --user alice@example.net --password secret --to a@remote.example
#   sg_wait_for sg_queue_empty || sg_fail "queue not empty"
#   # sg_world_down runs by itself on exit (EXIT trap)
#
# The MTA: SG_MTA=postfix (the default) or SG_MTA=sendmail, read by
# sg_world_up. CTest runs each scenario that says so in its header ("# mta:
# postfix sendmail", see tests/CMakeLists.txt) once per MTA, with SG_MTA set.
# The same test script works on both when it uses only the MTA-neutral
# helpers: sg_submit (queue_id filled in for both), sg_queue_empty,
# sg_queue_ids, sg_held_ids, sg_release, sg_flush, sg_bounced_rcpts,
# sg_feed_start/sg_feed_stop, sg_delivered_*, sg_maillog_has (the MTA's log
# lines differ: branch on $SG_MTA for patterns). Postfix only: sg_postconf,
# sg_submission_add. Sendmail only: sg_sendmail, sg_mailq (the real
# commands, on the world's queue), sg_sendmail_m4.
#
# The world, all in one scratch directory $SG_DIR (mktemp -d /tmp/sg.XXXXXX):
#   redis.sock redis.conf redis.log   private redis-server (port 0, no disk)
#   sink.log sink.err                 next-hop SMTP sink (tests/e2e/sink.py)
#   maillog sasldb2 q/                the MTA's log, SASL users, queue
#   subguard.conf subguard.sock subguard.log        the milter under test
#   Postfix:  pf/ (main.cf master.cf sasl/ recipient_access), data/
#   Sendmail: sm/ (sendmail.mc sendmail.cf sasl/Sendmail.conf
#             service.switch aliases sm_shim.so sendmail.pid)
#
# What the private Postfix does (see sg__postfix_config):
#   - one smtpd: the submission listener 127.0.0.1:$SG_SUBPORT, AUTH PLAIN/LOGIN
#     (Cyrus SASL, sasldb, realm example.net; log in as user@example.net), no
#     TLS, smtpd_relay_restrictions = permit_sasl_authenticated, reject: an
#     unauthenticated client gets "554 5.7.1 ... Relay access denied";
#   - recipients whose address matches unknown*@isp.example are rejected at
#     RCPT by Postfix itself with "550 5.1.1 <addr>: Recipient address
#     rejected: User unknown" (check_recipient_access with a regexp table in
#     smtpd_recipient_restrictions). Postfix still shows such a recipient to
#     the milter when it asks for SMFIP_RCPT_REJ, with {rcpt_mailer}=error and
#     {rcpt_host}=5.1.1;
#   - everything else is relayed to the sink (relayhost = [127.0.0.1]:
#     $SG_SINKPORT, no DNS); the sink answers "550 5.1.1 User unknown" for
#     local parts starting with bad or nouser, so those bounce
#     (status=bounced, dsn=5.1.1) and the DSN goes back to the sender, which
#     the sink accepts and logs with sender <>;
#   - smtpd_milters = unix:$SG_DIR/subguard.sock, milter_default_action =
#     tempfail, milter_protocol = 6, the macros subguard needs;
#   - error limits raised (soft/hard 1000, no error sleep) so a test may send
#     many refused recipients in one session.
#
# What the private Sendmail 8.17 does (see sg__sendmail_config): Debian's
# packages unpacked by tests/e2e/sendmail-prefix.sh into a private prefix
# (not installed: they conflict with postfix), run as "sendmail -bD" with
# an LD_PRELOAD shim (tests/e2e/sm_shim.c) that gives it a qualified host
# name (mail.isp.example) and writes its syslog lines to $SG_DIR/maillog;
# its .cf is built from sm/sendmail.mc, which includes
# contrib/sendmail/subguard.m4 itself, so the tests run the contrib lines:
#   - the MSA 127.0.0.1:$SG_SUBPORT (Name=MSA, M=Ea: AUTH required, an
#     unauthenticated MAIL FROM gets "530 5.7.0 Authentication required"),
#     the only daemon with InputMailFilters=subguard; AUTH PLAIN/LOGIN from
#     the same sasldb as Postfix's (ESASL_CONF_PATH=sm/sasl);
#   - a port-25 stand-in, the MTA daemon 127.0.0.1:$SG_MTAPORT, without
#     subguard (Sendmail lets 127.0.0.1 relay there without AUTH);
#   - isp.example is a local domain and no local user exists, so
#     unknown*@isp.example (any address @isp.example) gets "550 5.1.1
#     <addr>... User unknown" at RCPT; Sendmail shows those to the milter as
#     rejected ({rcpt_mailer}=error), like Postfix;
#   - refused@<anything> is rejected by a check_rcpt rule (Local_check_rcpt)
#     with "550 5.7.1 ... Refused by local policy": Sendmail does NOT show
#     those to the milter;
#   - everything else is relayed to the sink (SMART_HOST relay:[127.0.0.1],
#     port $SG_SINKPORT, no DNS), with the same bounces and DSNs as above;
#     Sendmail logs "to=<bad1@remote.example>, ..., dsn=5.1.1, reply=550
#     5.1.1 ..., stat=User unknown";
#   - milter F=T (tempfail when subguard is down), Milter.LogLevel 9;
#   - the queue is run every $SG_SM_QUEUE_INTERVAL (default 10s, like the
#     Postfix world's queue_run_delay): deferred mail is retried soon;
#     quarantined (hf) mail never moves before sg_release.
#
# Knobs (environment variables read by sg_world_up; set them before it):
#   SG_MTA          postfix (default) or sendmail
#   SG_MILTERS      the milter the submission service uses (unset: the
#                   subguard socket; "": no milter). Postfix's spelling
#                   (unix:/path, inet:host:port); translated for Sendmail
#   SG_MILTER_DEFAULT_ACTION  milter_default_action (default tempfail;
#                   Sendmail: only tempfail, its F=T)
#   SG_PF_MAIN_EXTRA  lines appended to main.cf (later lines win in main.cf)
#   SG_PF_SUBMISSION_OPTS  newline-separated name=value, added as -o options
#                   to the submission service in master.cf (they beat main.cf)
#   SG_SM_MC_EXTRA  lines added to Sendmail's sendmail.mc before MAILER()
#   SG_SM_QUEUE_INTERVAL  Sendmail's queue run interval (-q; default 10s)
#   SG_CONF_SUBGUARD, SG_CONF_REDIS  extra lines for the [subguard] and [redis]
#                   sections of subguard.conf (see sg_subguard_conf)
#   SG_KEEP=1       keep $SG_DIR when the script fails (always: keep it always)
#   SG_WAIT         default timeout of sg_wait_for in seconds (default 20)
#   SG_BUILD, SG_SRC  build and source directories (CTest sets both; defaults:
#                   the checkout this file is in, and its build/)
#
# Variables set by sg_world_up: SG_DIR SG_MTA SG_SUBPORT SG_SINKPORT
# SG_REDIS_SOCK SG_SUBGUARD_SOCK SG_REALM (example.net); Postfix: SG_PF
# (config dir); Sendmail: SG_SM (config dir), SG_SM_PREFIX, SG_SM_CF,
# SG_MTAPORT.
#
# Conventions: functions named sg_* are the interface, sg__* are internal.
# Failures go through sg_fail, which exits the script: never call it (or a
# function that may call it) inside $(...) or a pipeline, where exit only
# leaves a subshell. Waiting is always a poll loop with a deadline.
# The harness owns the EXIT, INT and TERM traps of the script that sources it.

if [[ -n ${SG__HARNESS_LOADED:-} ]]; then return 0; fi
SG__HARNESS_LOADED=1

: "${SG_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SG_BUILD:=$SG_SRC/build}"
SG_E2E=$SG_SRC/tests/e2e
SG_PY=/usr/bin/python3          # Debian's python: it has aiosmtpd
SG_REALM=example.net
: "${SG_WAIT:=20}"
: "${SG_MTA:=postfix}"
SG_SM_HOSTNAME=mail.isp.example
SG_DIR=
SG_SUBGUARD_PID=
SG_SUBGUARD_RC=
SG__DOWN=
SG__DIAG_DONE=
export SG_SRC SG_BUILD SG_MTA

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
    if [[ $SG_MTA == postfix && -f $SG_DIR/q/pid/master.pid ]]; then
        printf '\n----- postqueue -p -----\n' >&2
        postqueue -c "$SG_PF" -p 2>&1 | head -n 40 >&2 || true
    fi
    if [[ $SG_MTA == sendmail && -f ${SG_SM_CF:-} ]]; then
        printf '\n----- mailq; mailq -qQ -----\n' >&2
        { sg_mailq; sg_mailq -qQ; } 2>&1 | head -n 40 >&2 || true
    fi
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
    local t tools=(saslpasswd2 redis-server redis-cli)
    case $SG_MTA in
    postfix) tools+=(postfix postconf postqueue postsuper) ;;
    sendmail) tools+=(cc dpkg-deb ss) ;;
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

    # (a) redis
    cat >"$SG_DIR/redis.conf" <<EOF
port 0
unixsocket $SG_REDIS_SOCK
unixsocketperm 777
daemonize no
dir $SG_DIR
pidfile $SG_DIR/redis.pid
logfile $SG_DIR/redis.log
save ""
appendonly no
EOF
    SG_WORLD=$SG_DIR redis-server "$SG_DIR/redis.conf" </dev/null &
    echo $! >"$SG_DIR/redis.pid.harness"
    sg_wait_for -t 10 sg__redis_ping ||
        sg_fail "redis-server did not answer PING on $SG_REDIS_SOCK"

    # (b) the next-hop sink
    ( cd "$SG_DIR" && SG_WORLD=$SG_DIR exec "$SG_PY" "$SG_E2E/sink.py" \
        --port "$SG_SINKPORT" --log "$SG_DIR/sink.log" \
        --ready "$SG_DIR/sink.ready" </dev/null 2>"$SG_DIR/sink.err" ) &
    echo $! >"$SG_DIR/sink.pid"
    sg_wait_for -t 15 test -e "$SG_DIR/sink.ready" ||
        sg_fail "sink.py did not start on port $SG_SINKPORT"

    # (c) the MTA
    if [[ $SG_MTA == sendmail ]]; then
        sg__sendmail_config
        sg__sendmail_start
    else
        sg__postfix_config
        sg__postfix_start
    fi

    # (d) a default subguard.conf
    sg_subguard_conf
}

sg__redis_ping() {
    [[ $(redis-cli -s "$SG_REDIS_SOCK" ping 2>/dev/null) == PONG ]]
}

# sg__postfix_config - write $SG_PF/{main.cf,master.cf,sasl/smtpd.conf,
# recipient_access} and create the directories Postfix needs.
sg__postfix_config() {
    mkdir -p "$SG_PF/sasl" "$SG_DIR/q" "$SG_DIR/data"
    chown postfix "$SG_DIR/data"
    : >"$SG_DIR/maillog"
    local milters=unix:$SG_SUBGUARD_SOCK
    [[ ${SG_MILTERS+set} ]] && milters=$SG_MILTERS

    cat >"$SG_PF/main.cf" <<EOF
# Written by tests/e2e/harness.sh for world $SG_DIR
compatibility_level = 3.6
queue_directory = $SG_DIR/q
data_directory = $SG_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.isp.example
mydomain = isp.example
myorigin = isp.example
# Nothing is local: every recipient is relayed to the sink.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SG_SINKPORT
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
append_dot_mydomain = no
readme_directory = no
maillog_file = $SG_DIR/maillog
maillog_file_prefixes = /tmp, /var
# A test may send many refused recipients in one session.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 100000
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 30s
delay_warning_time = 0
# Submission policy (the only smtpd is the submission listener).
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
# unknown*@isp.example: refused by Postfix at RCPT (550 5.1.1), and shown to
# the milter as a rejected recipient (SMFIP_RCPT_REJ, {rcpt_mailer}=error).
smtpd_recipient_restrictions = check_recipient_access regexp:$SG_PF/recipient_access
# The milter under test.
smtpd_milters = $milters
non_smtpd_milters =
milter_default_action = ${SG_MILTER_DEFAULT_ACTION:-tempfail}
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 30s
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}
milter_end_of_data_macros = i {auth_authen}
${SG_PF_MAIN_EXTRA:-}
EOF

    cat >"$SG_PF/recipient_access" <<'EOF'
/^unknown[^@]*@isp\.example$/   550 5.1.1 User unknown
EOF

    local opts='' kv
    while IFS= read -r kv; do
        [[ -n $kv ]] && opts+="  -o $kv"$'\n'
    done <<<"${SG_PF_SUBMISSION_OPTS:-}"
    # Every service unchrooted (column 5 = n): the world lives in /tmp.
    cat >"$SG_PF/master.cf" <<EOF
# Written by tests/e2e/harness.sh for world $SG_DIR
127.0.0.1:$SG_SUBPORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
${opts}pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

    # Debian's Postfix reads Cyrus SASL settings from $config_directory/sasl.
    cat >"$SG_PF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SG_DIR/sasldb2
EOF
}

# sg__postfix_start - start the private Postfix and wait until it runs.
sg__postfix_start() {
    local out
    if ! out=$(postfix -c "$SG_PF" check 2>&1); then
        sg_fail "postfix check failed: $out"
    fi
    if ! out=$(SG_WORLD=$SG_DIR postfix -c "$SG_PF" start 2>&1 </dev/null); then
        sg_fail "postfix start failed: $out"
    fi
    sg_wait_for -t 10 test -s "$SG_DIR/q/pid/master.pid" ||
        sg_fail "Postfix master did not write its pid file"
}

# sg__postfix_stop - stop the private Postfix (postfix stop waits up to 5 s
# for master), then wait for its remaining processes.
sg__postfix_stop() {
    [[ -n $SG_PF && -f $SG_PF/main.cf ]] || return 0
    if [[ -s $SG_DIR/q/pid/master.pid ]] &&
        sg__alive "$(awk '{print $1; exit}' "$SG_DIR/q/pid/master.pid")"; then
        postfix -c "$SG_PF" stop >/dev/null 2>&1 || true
    fi
}

# sg_postconf NAME=VALUE... - change main.cf parameters of the running world
# (postconf -e) and restart Postfix so that every new session sees them (a
# restart, not a reload: no old smtpd can take the next connection). Queued
# and held mail stay.
sg_postconf() {
    local out
    [[ $SG_MTA == postfix ]] || sg_fail "sg_postconf: Postfix only (SG_MTA=$SG_MTA)"
    out=$(postconf -c "$SG_PF" -e "$@" 2>&1) || sg_fail "postconf -e $*: $out"
    sg__postfix_stop
    sg_wait_for -t 10 sg__master_gone || sg_fail "Postfix did not stop"
    sg__postfix_start
}

sg__master_gone() {
    ! postfix -c "$SG_PF" status >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# Sendmail (SG_MTA=sendmail)
# ---------------------------------------------------------------------------

# sg__sendmail_milter - the S= equate of subguard's filter for $SG_MILTERS
# (Postfix's spelling: unix:/path or inet:host:port), empty for no milter.
sg__sendmail_milter() {
    local m=unix:$SG_SUBGUARD_SOCK hp
    [[ ${SG_MILTERS+set} ]] && m=$SG_MILTERS
    case $m in
    '') echo '' ;;
    unix:*) echo "local:${m#unix:}" ;;
    inet:*:*) hp=${m#inet:}; echo "inet:${hp##*:}@${hp%:*}" ;;
    *) return 1 ;;
    esac
}

# sg__sendmail_config - find (or make) the Sendmail prefix, build the shim,
# write $SG_SM/{sendmail.mc,sendmail.cf,sasl/Sendmail.conf,service.switch,
# aliases} and create the queue directory.
sg__sendmail_config() {
    local out milter tab=$'\t'
    if ! SG_SM_PREFIX=$(bash "$SG_E2E/sendmail-prefix.sh"); then
        sg_fail "no private Sendmail (tests/e2e/sendmail-prefix.sh failed; scripts/deps.sh fetches the packages)"
    fi
    SG_SM_CF=$SG_SM/sendmail.cf
    export SG_SM_PREFIX SG_SM_CF
    [[ ${SG_MILTER_DEFAULT_ACTION:-tempfail} == tempfail ]] ||
        sg_fail "SG_MILTER_DEFAULT_ACTION=$SG_MILTER_DEFAULT_ACTION: the Sendmail world has only F=T (tempfail)"
    milter=$(sg__sendmail_milter) ||
        sg_fail "SG_MILTERS='$SG_MILTERS': the Sendmail world takes one unix: or inet: milter"
    mkdir -p "$SG_SM/sasl" "$SG_DIR/q"
    chmod 700 "$SG_DIR/q"
    [[ -e $SG_DIR/maillog ]] || : >"$SG_DIR/maillog"
    if ! out=$(cc -shared -fPIC -O2 -Wall -o "$SG_SM/sm_shim.so" "$SG_E2E/sm_shim.c" 2>&1); then
        sg_fail "cannot build the LD_PRELOAD shim: $out"
    fi
    : >"$SG_SM/aliases"
    printf 'hosts files\naliases files\npasswd files\n' >"$SG_SM/service.switch"
    printf '%s\n' 'pwcheck_method: auxprop' 'auxprop_plugin: sasldb' \
        'mech_list: PLAIN LOGIN' "sasldb_path: $SG_DIR/sasldb2" \
        >"$SG_SM/sasl/Sendmail.conf"
    {
        sg__mc "dnl # Written by tests/e2e/harness.sh for world $SG_DIR
VERSIONID(\`subguard e2e world')dnl
OSTYPE(\`linux')dnl
dnl # Private paths; /tmp is world-writable but sticky.
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`QUEUE_DIR', \`$SG_DIR/q')dnl
define(\`confPID_FILE', \`$SG_SM/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SG_SM/statistics')dnl
define(\`ALIAS_FILE', \`$SG_SM/aliases')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SG_SM/service.switch')dnl
dnl # No DNS, no interface probing, no ident, no load-average throttling.
define(\`confDOMAIN_NAME', \`$SG_SM_HOSTNAME')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confQUEUE_LA', \`100')dnl
define(\`confREFUSE_LA', \`100')dnl
define(\`confDELAY_LA', \`0')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`nocanonify')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confMILTER_LOG_LEVEL', \`9')dnl
dnl # AUTH without TLS (loopback only); authenticated clients may relay.
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
dnl # Everything not local goes to the sink.
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SG_SINKPORT')dnl
dnl # isp.example is local and has no users: 550 5.1.1 User unknown.
LOCAL_DOMAIN(\`isp.example')dnl
dnl # The port-25 stand-in: no subguard here.
DAEMON_OPTIONS(\`Port=$SG_MTAPORT, Addr=127.0.0.1, Name=MTA')dnl"
        if [[ -n $milter ]]; then
            sg__mc "dnl # The MSA with subguard: the contrib's own lines.
define(\`SUBGUARD_SOCKET', \`$milter')dnl
define(\`SUBGUARD_MSA', \`Port=$SG_SUBPORT, Addr=127.0.0.1')dnl
include(\`$SG_SRC/contrib/sendmail/subguard.m4')dnl"
        else
            sg__mc "dnl # The MSA without any milter.
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=$SG_SUBPORT, Addr=127.0.0.1, Name=MSA, M=Ea')dnl"
        fi
        [[ -n ${SG_SM_MC_EXTRA:-} ]] && sg__mc "$SG_SM_MC_EXTRA"
        [[ -n ${SG__SM_ADDED:-} ]] && sg__mc "$SG__SM_ADDED"
        sg__mc "MAILER(\`local')dnl
MAILER(\`smtp')dnl
LOCAL_CONFIG
ESASL_CONF_PATH=$SG_SM/sasl
LOCAL_RULESETS
SLocal_check_rcpt
R\$* refused @ \$*$tab\$#error \$@ 5.7.1 \$: \"550 Refused by local policy\""
    } >"$SG_SM/sendmail.mc"
    sg_sendmail_m4 "$SG_SM/sendmail.mc" "$SG_SM_CF"
}

# sg_sendmail_m4 MC CF - build CF from MC the way contrib/sendmail/README.md
# says ("m4 .../cf/m4/cf.m4 sendmail.mc > sendmail.cf", with the prefix's
# m4 and cf.m4); fails if m4 fails or prints anything.
sg_sendmail_m4() {
    local out
    if ! out=$("$SG_SM_PREFIX/usr/bin/m4" "$SG_SM_PREFIX/usr/share/sendmail/cf/m4/cf.m4" \
        "$1" 2>&1 >"$2") || [[ -n $out ]]; then
        sg_fail "m4 could not build $2 from $1: $out"
    fi
}

# sg__mc TEXT - TEXT and a newline (a piece of sendmail.mc)
sg__mc() {
    printf '%s\n' "$1"
}

# sg__sendmail_env - the environment the private Sendmail runs in, one
# NAME=VALUE a line
sg__sendmail_env() {
    local lib
    lib=$(compgen -G "$SG_SM_PREFIX/usr/lib/*-linux-gnu" | head -n 1)
    printf '%s\n' "LD_LIBRARY_PATH=$lib" "LD_PRELOAD=$SG_SM/sm_shim.so" \
        "SG_SHIM_LOG=$SG_DIR/maillog" "SG_SHIM_HOSTNAME=$SG_SM_HOSTNAME" \
        "SG_WORLD=$SG_DIR"
}

# sg_sendmail ARGS... - the world's Sendmail binary with its .cf, for the
# commands support staff use (e.g. sg_sendmail -Q -qQ -qIQID). Prints what
# it prints; returns its status. SG_MTA=sendmail only.
sg_sendmail() {
    local e
    mapfile -t e < <(sg__sendmail_env)
    env "${e[@]}" "$SG_SM_PREFIX/usr/libexec/sendmail/sendmail" -C "$SG_SM_CF" "$@"
}

# sg_mailq ARGS... - mailq (Sendmail's -bp, called by that name) on the
# world's queue: sg_mailq lists the queue, sg_mailq -qQ the quarantined
# messages. SG_MTA=sendmail only.
sg_mailq() {
    local e
    mapfile -t e < <(sg__sendmail_env)
    env "${e[@]}" "$SG_SM_PREFIX/usr/libexec/sendmail/mailq" -C "$SG_SM_CF" "$@"
}

# sg__listening PORT... - true if something listens on every TCP PORT
sg__listening() {
    local p
    for p in "$@"; do
        [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]] || return 1
    done
}

# sg__sendmail_start - run "sendmail -bD -q$SG_SM_QUEUE_INTERVAL" (the
# daemon, not detached, in a background job) and wait until both daemons
# listen.
sg__sendmail_start() {
    local e pid
    mapfile -t e < <(sg__sendmail_env)
    env "${e[@]}" "$SG_SM_PREFIX/usr/libexec/sendmail/sendmail" -C "$SG_SM_CF" \
        -bD -q"${SG_SM_QUEUE_INTERVAL:-10s}" </dev/null >>"$SG_SM/sendmail.out" 2>&1 &
    pid=$!
    echo "$pid" >"$SG_SM/daemon.pid"
    if ! sg_wait_for -t 15 sg__listening "$SG_SUBPORT" "$SG_MTAPORT"; then
        sg__alive "$pid" ||
            sg_fail "sendmail -bD exited: $(tail -n 5 "$SG_SM/sendmail.out" "$SG_DIR/maillog" 2>&1)"
        sg_fail "Sendmail does not listen on $SG_SUBPORT and $SG_MTAPORT after 15 s"
    fi
}

# sg__sendmail_stop - SIGTERM the daemon and wait up to 10 s for it (the
# sessions and deliveries it forked are left to sg__kill_world).
sg__sendmail_stop() {
    local pid=
    [[ -s ${SG_SM:-}/daemon.pid ]] && pid=$(<"$SG_SM/daemon.pid")
    sg__alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    sg_wait_for -t 10 sg__dead "$pid" || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
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
    if [[ $SG_MTA == sendmail ]]; then sg__sendmail_stop; else sg__postfix_stop; fi
    for p in "$SG_DIR/sink.pid" "$SG_DIR/redis.pid.harness"; do
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

# ---------------------------------------------------------------------------
# Mail and queue
# ---------------------------------------------------------------------------

# sg_submit ARGS... - tests/e2e/submit.py --port $SG_SUBPORT ARGS...: one JSON
# line per message on stdout; status 0 ok, 2 connection/AUTH failure.
# submit.py takes "queue_id" from Postfix's "250 2.0.0 Ok: queued as QID";
# for Sendmail ("250 2.0.0 QID Message accepted for delivery") it is filled
# in here, so tests read m["queue_id"] whatever the MTA.
sg_submit() {
    if [[ $SG_MTA != sendmail ]]; then
        "$SG_PY" "$SG_E2E/submit.py" --port "$SG_SUBPORT" "$@"
        return
    fi
    local out rc=0
    out=$("$SG_PY" "$SG_E2E/submit.py" --port "$SG_SUBPORT" "$@") || rc=$?
    printf '%s\n' "$out" | "$SG_PY" -c '
import json, re, sys
for line in sys.stdin:
    if not line.strip():
        continue
    m = json.loads(line)
    d = m.get("data")
    if m.get("queue_id") is None and d and d[0] == 250:
        q = re.match(r"2\.0\.0 ([0-9A-Za-z]+) Message accepted", d[1])
        m["queue_id"] = q.group(1) if q else None
    print(json.dumps(m), flush=True)
'
    return "$rc"
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
    local out
    if [[ $SG_MTA == sendmail ]]; then
        out=$(sg_mailq 2>/dev/null) || return 1
        [[ $out == *"Total requests: 0"* ]] || return 1
        out=$(sg_mailq -qQ 2>/dev/null) || return 1
        [[ $out == *"Total requests: 0"* ]]
        return
    fi
    out=$(postqueue -c "$SG_PF" -p 2>/dev/null) || return 1
    [[ $out == "Mail queue is empty"* ]]
}

# sg__mailq_ids - the queue ids in Sendmail's mailq listing on stdin (the
# id may carry a mark: "*" being delivered, "X" load too high, "-" locked)
sg__mailq_ids() {
    awk '/^[0-9A-Za-z]+[*X-]?[ \t]/ { id = $1; sub(/[*X-]$/, "", id); print id }'
}

# sg_queue_ids - every queue id in the MTA's queue (held or quarantined
# ones included), one per line.
sg_queue_ids() {
    if [[ $SG_MTA == sendmail ]]; then
        { sg_mailq; sg_mailq -qQ; } 2>/dev/null | sg__mailq_ids
        return 0
    fi
    postqueue -c "$SG_PF" -p 2>/dev/null |
        awk '/^[0-9A-Za-z]+[*!]?[ \t]/ { id = $1; sub(/[*!]$/, "", id); print id }'
}

# sg_held_ids - queue ids of held mail: Postfix's hold queue (marked "!" by
# postqueue -p), Sendmail's quarantined messages (mailq -qQ).
sg_held_ids() {
    if [[ $SG_MTA == sendmail ]]; then
        sg_mailq -qQ 2>/dev/null | sg__mailq_ids
        return 0
    fi
    postqueue -c "$SG_PF" -p 2>/dev/null |
        awk '/^[0-9A-Za-z]+![ \t]/ { id = $1; sub(/!$/, "", id); print id }'
}

# sg_release QID... - release held messages and ask for their delivery now,
# with the commands contrib/*/README.md give support staff: Postfix
# "postsuper -H QID; postqueue -i QID"; Sendmail "sendmail -Q -qQ -qIQID"
# (remove the quarantine: hf file back to qf) then "sendmail -qIQID" (a
# queue run for that message).
sg_release() {
    local q out
    for q in "$@"; do
        if [[ $SG_MTA == sendmail ]]; then
            out=$(sg_sendmail -Q -qQ -qI"$q" 2>&1) || sg_fail "sendmail -Q -qQ -qI$q failed: $out"
            out=$(sg_sendmail -qI"$q" 2>&1) || sg_fail "sendmail -qI$q failed: $out"
            continue
        fi
        postsuper -c "$SG_PF" -H "$q" >/dev/null 2>&1 || sg_fail "postsuper -H $q failed"
        postqueue -c "$SG_PF" -i "$q" >/dev/null 2>&1 || true
    done
}

# sg_flush - ask the MTA to retry all deferred mail now (Postfix postqueue
# -f, Sendmail sendmail -q). Quarantined Sendmail mail stays.
sg_flush() {
    if [[ $SG_MTA == sendmail ]]; then
        sg_sendmail -q >/dev/null 2>&1 || true
        return 0
    fi
    postqueue -c "$SG_PF" -f >/dev/null 2>&1 || true
}

# sg_maillog_has ERE - true if a maillog line matches ERE (grep -E). Wait for
# one with: sg_wait_for sg_maillog_has 'to=<x@y>.*status=sent'
sg_maillog_has() {
    grep -qE -- "$1" "$SG_DIR/maillog"
}

# sg_redis ARGS... - redis-cli on the world's private redis.
sg_redis() {
    redis-cli -s "$SG_REDIS_SOCK" "$@"
}

# ---------------------------------------------------------------------------
# Added for the scenario tests (t_10 ... t_80)
# ---------------------------------------------------------------------------

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

# sg_free_port - print one free TCP port on 127.0.0.1 (never fails; safe in
# $(...)).
sg_free_port() {
    sg__free_ports 1
}

# sg_redis_running - true while the world's redis answers PING.
sg_redis_running() {
    sg__redis_ping
}

sg__dead() {
    ! sg__alive "$1"
}

# sg_redis_stop - stop the world's redis-server (SHUTDOWN NOSAVE: nothing is
# kept) and wait up to 10 s until its process is gone. Fails via sg_fail.
sg_redis_stop() {
    local pid=
    [[ -s $SG_DIR/redis.pid.harness ]] && pid=$(<"$SG_DIR/redis.pid.harness")
    sg__alive "$pid" || sg_fail "sg_redis_stop: redis-server is not running"
    redis-cli -s "$SG_REDIS_SOCK" shutdown nosave >/dev/null 2>&1 || true
    sg_wait_for -t 10 sg__dead "$pid" || sg_fail "redis-server ($pid) did not stop"
    wait "$pid" 2>/dev/null || true
    rm -f "$SG_REDIS_SOCK"
}

# sg_redis_start - start the world's redis-server again, as sg_world_up did
# (same redis.conf, same socket $SG_REDIS_SOCK, empty: no disk), and wait up
# to 10 s until it answers PING. Fails via sg_fail.
sg_redis_start() {
    if sg__redis_ping; then sg_fail "sg_redis_start: redis already answers"; fi
    SG_WORLD=$SG_DIR redis-server "$SG_DIR/redis.conf" </dev/null &
    echo $! >"$SG_DIR/redis.pid.harness"
    sg_wait_for -t 10 sg__redis_ping ||
        sg_fail "redis-server did not answer PING on $SG_REDIS_SOCK after a restart"
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
    local port=$1 kv
    shift
    if [[ $SG_MTA == sendmail ]]; then
        sg__sendmail_submission_add "$port" "$@"
        return
    fi
    [[ $port =~ ^[0-9]+$ ]] || sg_fail "sg_submission_add: bad port '$port'"
    {
        echo "127.0.0.1:$port inet n - n - - smtpd"
        echo "  -o syslog_name=postfix/submission"
        for kv in "$@"; do echo "  -o $kv"; done
    } >>"$SG_PF/master.cf"
    sg__postfix_stop
    sg_wait_for -t 10 sg__master_gone || sg_fail "Postfix did not stop"
    sg__postfix_start
}

# sg__sendmail_submission_add PORT [NAME=VALUE...] - see sg_submission_add
sg__sendmail_submission_add() {
    local port=$1 kv sock name
    shift
    sock=$(SG_MILTERS=unix:$SG_SUBGUARD_SOCK sg__sendmail_milter)
    for kv in "$@"; do
        if [[ $kv == smtpd_milters=* ]]; then
            sock=$(SG_MILTERS=${kv#smtpd_milters=} sg__sendmail_milter) ||
                sg_fail "sg_submission_add: $kv: one unix: or inet: milter"
        fi
    done
    name=msa$port
    SG__SM_ADDED+="MAIL_FILTER(\`sg_$name', \`S=$sock, F=T, T=C:10s;S:10s;R:10s;E:1m')dnl
DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=$name, M=Ea, InputMailFilters=sg_$name')dnl
"
    sg__sendmail_stop
    sg__sendmail_config
    sg__sendmail_start
    sg_wait_for -t 15 sg__listening "$port" || sg_fail "Sendmail does not listen on $port"
}

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
# subguard-feed and the MTA's delivery log (both MTAs)
# ---------------------------------------------------------------------------

SG_FEED_PID=
SG_FEED_RC=

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

# sg_bounced_rcpts QID - how many recipients of QID the MTA's log reports
# as finally failed with a 5.x.x DSN: Postfix "QID: to=<r>, ..., dsn=5.1.1,
# status=bounced (...)", one recipient a line; Sendmail "QID: to=<a>,<b>,
# ..., dsn=5.1.1, ..., stat=User unknown", possibly several a line.
sg_bounced_rcpts() {
    local q=$1
    if [[ $SG_MTA == sendmail ]]; then
        sed -n "s/^.* $q: to=\\(<[^ ]*>\\), .*, dsn=5\\.[0-9]*\\.[0-9]*, .*stat=.*\$/\\1/p" \
            "$SG_DIR/maillog" | tr -cd '<' | wc -c
    else
        grep -cE " $q: to=<[^>]*>, .*, dsn=5\\.[0-9]+\\.[0-9]+, status=bounced " \
            "$SG_DIR/maillog" || true
    fi
}
