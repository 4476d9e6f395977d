# shellcheck shell=bash
# shellcheck disable=SC2153 # SG_PY, SG_SRC and the like are set by harness.sh, which sources this file
# tests/e2e/lib/sendmail.sh - the e2e world's private Sendmail (SG_MTA=sendmail).
#
# Part of the e2e harness: sourced by tests/e2e/harness.sh, never by a test.
# It holds the Sendmail side of the MTA interface the harness's MTA-neutral
# functions call (see "The MTA interface" in harness.sh): sg__sendmail_tools,
# _config, _start, _stop, _diag, _submit, _queue_empty, _queue_ids,
# _held_ids, _release, _flush, _bounced_rcpts, _submission_add; and the
# Sendmail-only public functions sg_sendmail, sg_mailq (the real commands,
# on the world's queue) and sg_sendmail_m4.
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
# Files, in the world's directory $SG_DIR: sm/ (sendmail.mc sendmail.cf
# sasl/Sendmail.conf service.switch aliases sm_shim.so sendmail.pid
# daemon.pid sendmail.out; $SG_SM), q/ (the queue), maillog. Knobs:
# SG_SM_MC_EXTRA, SG_SM_QUEUE_INTERVAL (see harness.sh). Variables set by
# sg__sendmail_config: SG_SM_PREFIX, SG_SM_CF.

SG_SM_HOSTNAME=mail.isp.example

# sg__sendmail_tools - the commands the Sendmail world needs besides the
# world's own (sg_world_up checks them)
sg__sendmail_tools() {
    echo cc dpkg-deb ss
}

# ---------------------------------------------------------------------------
# Configuration, start and stop
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
${SG__SM_SMTPS:-}include(\`$SG_SRC/contrib/sendmail/subguard.m4')dnl"
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

# ---------------------------------------------------------------------------
# Mail and queue (the MTA interface)
# ---------------------------------------------------------------------------

# sg__sendmail_diag - mailq and mailq -qQ (their first 40 lines) on stderr,
# for sg_diag; nothing before the world's sendmail.cf exists.
sg__sendmail_diag() {
    [[ -f ${SG_SM_CF:-} ]] || return 0
    printf '\n----- mailq; mailq -qQ -----\n' >&2
    { sg_mailq; sg_mailq -qQ; } 2>&1 | head -n 40 >&2 || true
}

# sg__sendmail_submit ARGS... - submit.py on the submission port, with
# "queue_id" filled in from Sendmail's "250 2.0.0 QID Message accepted for
# delivery" (submit.py only knows Postfix's reply); submit.py's status
sg__sendmail_submit() {
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

# sg__mailq_ids - the queue ids in Sendmail's mailq listing on stdin (the
# id may carry a mark: "*" being delivered, "X" load too high, "-" locked)
sg__mailq_ids() {
    awk '/^[0-9A-Za-z]+[*X-]?[ \t]/ { id = $1; sub(/[*X-]$/, "", id); print id }'
}

# sg__sendmail_queue_empty - true if the queue and the quarantined
# messages (hf files) are both empty
sg__sendmail_queue_empty() {
    local out
    out=$(sg_mailq 2>/dev/null) || return 1
    [[ $out == *"Total requests: 0"* ]] || return 1
    out=$(sg_mailq -qQ 2>/dev/null) || return 1
    [[ $out == *"Total requests: 0"* ]]
}

# sg__sendmail_queue_ids - every queue id, quarantined ones included
sg__sendmail_queue_ids() {
    { sg_mailq; sg_mailq -qQ; } 2>/dev/null | sg__mailq_ids
    return 0
}

# sg__sendmail_held_ids - the queue ids of quarantined messages (mailq -qQ)
sg__sendmail_held_ids() {
    sg_mailq -qQ 2>/dev/null | sg__mailq_ids
    return 0
}

# sg__sendmail_release QID - "sendmail -Q -qQ -qIQID" (hf file back to
# qf), then "sendmail -qIQID" (a queue run for that message)
sg__sendmail_release() {
    local q=$1 out
    out=$(sg_sendmail -Q -qQ -qI"$q" 2>&1) || sg_fail "sendmail -Q -qQ -qI$q failed: $out"
    out=$(sg_sendmail -qI"$q" 2>&1) || sg_fail "sendmail -qI$q failed: $out"
}

# sg__sendmail_flush - sendmail -q (quarantined mail stays)
sg__sendmail_flush() {
    sg_sendmail -q >/dev/null 2>&1 || true
}

# sg__sendmail_bounced_rcpts QID - the recipients in lines "QID:
# to=<a>,<b>,..., dsn=5.x.x, ..., stat=..." of the maillog (possibly
# several a line)
sg__sendmail_bounced_rcpts() {
    local q=$1
    sed -n "s/^.* $q: to=\\(<[^ ]*>\\), .*, dsn=5\\.[0-9]*\\.[0-9]*, .*stat=.*\$/\\1/p" \
        "$SG_DIR/maillog" | tr -cd '<' | wc -c
}

# sg__sendmail_smtps_add PORT - see sg_smtps_add: contrib's subguard.m4 with
# SUBGUARD_SMTPS (an MSA with M=Eas on PORT) and the test certificate
sg__sendmail_smtps_add() {
    local port=$1
    [[ $port =~ ^[0-9]+$ ]] || sg_fail "sg_smtps_add: bad port '$port'"
    SG__SM_SMTPS="define(\`SUBGUARD_SMTPS', \`Port=$port, Addr=127.0.0.1')dnl
define(\`confCACERT_PATH', \`$SG_DIR/tls')dnl
define(\`confCACERT', \`$SG_DIR/tls/cert.pem')dnl
define(\`confSERVER_CERT', \`$SG_DIR/tls/cert.pem')dnl
define(\`confSERVER_KEY', \`$SG_DIR/tls/key.pem')dnl
"
    sg__sendmail_stop
    sg__sendmail_config
    sg__sendmail_start
    sg_wait_for -t 15 sg__listening "$port" || sg_fail "Sendmail does not listen on $port"
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
