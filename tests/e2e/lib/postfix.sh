# shellcheck shell=bash
# shellcheck disable=SC2153 # SG_PY, SG_SRC and the like are set by harness.sh, which sources this file
# tests/e2e/lib/postfix.sh - the e2e world's private Postfix (SG_MTA=postfix).
#
# Part of the e2e harness: sourced by tests/e2e/harness.sh, never by a test.
# It holds the Postfix side of the MTA interface the harness's MTA-neutral
# functions call (see "The MTA interface" in harness.sh): sg__postfix_tools,
# _config, _start, _stop, _diag, _submit, _queue_empty, _queue_ids,
# _held_ids, _release, _flush, _bounced_rcpts, _submission_add; and the
# Postfix-only public function sg_postconf.
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
# Files, in the world's directory $SG_DIR: pf/ (main.cf master.cf sasl/
# recipient_access; $SG_PF), q/ (queue_directory), data/, maillog.

# sg__postfix_tools - the commands the Postfix world needs besides the
# world's own (sg_world_up checks them)
sg__postfix_tools() {
    echo postfix postconf postqueue postsuper
}

# ---------------------------------------------------------------------------
# Configuration, start and stop
# ---------------------------------------------------------------------------

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

# sg__master_gone - true once the private Postfix (its master) is not running
sg__master_gone() {
    ! postfix -c "$SG_PF" status >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# Mail and queue (the MTA interface)
# ---------------------------------------------------------------------------

# sg__postfix_diag - "postqueue -p" (its first 40 lines) on stderr, for
# sg_diag; nothing before the world's Postfix started.
sg__postfix_diag() {
    [[ -f $SG_DIR/q/pid/master.pid ]] || return 0
    printf '\n----- postqueue -p -----\n' >&2
    postqueue -c "$SG_PF" -p 2>&1 | head -n 40 >&2 || true
}

# sg__postfix_submit ARGS... - submit.py on the submission port (it fills
# in queue_id from Postfix's "250 2.0.0 Ok: queued as QID" itself)
sg__postfix_submit() {
    "$SG_PY" "$SG_E2E/submit.py" --port "$SG_SUBPORT" "$@"
}

# sg__postfix_queue_empty - true if every queue, hold included, is empty
sg__postfix_queue_empty() {
    local out
    out=$(postqueue -c "$SG_PF" -p 2>/dev/null) || return 1
    [[ $out == "Mail queue is empty"* ]]
}

# sg__postfix_queue_ids - every queue id of postqueue -p (marked "*"
# active or "!" held), one per line
sg__postfix_queue_ids() {
    postqueue -c "$SG_PF" -p 2>/dev/null |
        awk '/^[0-9A-Za-z]+[*!]?[ \t]/ { id = $1; sub(/[*!]$/, "", id); print id }'
}

# sg__postfix_held_ids - the queue ids of the hold queue ("!" in postqueue -p)
sg__postfix_held_ids() {
    postqueue -c "$SG_PF" -p 2>/dev/null |
        awk '/^[0-9A-Za-z]+![ \t]/ { id = $1; sub(/!$/, "", id); print id }'
}

# sg__postfix_release QID - "postsuper -H QID; postqueue -i QID"
sg__postfix_release() {
    postsuper -c "$SG_PF" -H "$1" >/dev/null 2>&1 || sg_fail "postsuper -H $1 failed"
    postqueue -c "$SG_PF" -i "$1" >/dev/null 2>&1 || true
}

# sg__postfix_flush - postqueue -f
sg__postfix_flush() {
    postqueue -c "$SG_PF" -f >/dev/null 2>&1 || true
}

# sg__postfix_bounced_rcpts QID - lines "QID: to=<r>, ..., dsn=5.x.x,
# status=bounced (...)" of the maillog (one recipient a line)
sg__postfix_bounced_rcpts() {
    grep -cE " $1: to=<[^>]*>, .*, dsn=5\\.[0-9]+\\.[0-9]+, status=bounced " \
        "$SG_DIR/maillog" || true
}

# sg__postfix_smtps_add PORT - see sg_smtps_add: contrib/postfix/master.cf's
# "submissions" service (implicit TLS) with the test certificate
sg__postfix_smtps_add() {
    sg__postfix_submission_add "$1" syslog_name=postfix/submissions \
        smtpd_tls_wrappermode=yes smtpd_tls_security_level=encrypt \
        "smtpd_tls_cert_file=$SG_DIR/tls/cert.pem" \
        "smtpd_tls_key_file=$SG_DIR/tls/key.pem" smtpd_tls_loglevel=1
}

# sg__postfix_submission_add PORT [NAME=VALUE...] - see sg_submission_add:
# a second smtpd line in master.cf, then a restart
sg__postfix_submission_add() {
    local port=$1 kv
    shift
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
