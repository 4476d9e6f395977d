#!/bin/bash
# mta: postfix
# t_46_feed_forged: a client cannot make subguard-feed count a bounce
# against somebody else's queue id by making Postfix log the text of one
# (issue 13, section 1), while a real bounce in the same log counts. Proves:
#  1. victim sends one clean message (queue id V, delivered); her counters
#     (subguard:{victim@example.net}:counters) are read;
#  2. an attacker connects to Postfix's smtpd and, before the greeting,
#     sends "V: to=<a@b.example>, dsn=5.1.1, status=bounced (x)"; then
#     again, pipelined after an EHLO: the real maillog then holds smtpd's
#     lines quoting it ("non-SMTP command from ...: V: to=...", "improper
#     command pipelining after EHLO from ...: V: to=...");
#     the attacker also logs in and names recipients whose quoted local
#     parts hold the same record: smtpd's and the smtp agent's lines carry
#     it in a recipient address;
#  3. mallory sends to a recipient the next hop refuses: a real bounce;
#  4. a follow-mode feed reads the real maillog (log_format = syslog, the
#     default): mallory's bounced counter is 1; victim's counters are
#     exactly what they were, no quarantine; the feed's summary: 1 outcome,
#     no unparsable line, no line out of format;
#  5. the same log as rsyslog would write it in RFC 5424 and journalctl -o
#     json (the real lines re-rendered: program from the tag, message after
#     it), read with -F rfc5424 and -F journal-json: in each, 1 outcome
#     (mallory's bounce), nothing for victim; the message text alone (what
#     "journalctl -o cat" gave, and what an earlier feed counted the forged
#     record from) read as syslog or journal-json: every line out of
#     format, nothing counted.
set -euo pipefail
. "$(dirname "$0")/harness.sh"
[[ $SG_MTA == postfix ]] || sg_fail "t_46_feed_forged runs on Postfix only, not SG_MTA=$SG_MTA"

# shellcheck disable=SC2034 # read by sg_world_up
SG_CONF_REDIS='timeout = 2s'
sg_world_up
sg_user victim 'victim-pw'
sg_user mallory 'mallory-pw'
sg_user attacker 'attacker-pw'
# The failure test and the limits out of the way: one failure must show
# as a counter, not be hidden by a quarantine decision.
sg_subguard_conf '[tier default]
messages = 1000/1h
recipients = 1000/1h
quarantine_recipients = 100000/1d
quarantine_rejected = 1000/1h
quarantine_failed = 1000/1h
normal_failure = 90%
spam_failure = 99%'
sg_subguard_start
V=victim@example.net
M=mallory@example.net
A=attacker@example.net

# send LOGIN PASSWORD RCPTS - one message, every recipient accepted; sets qid
send() {
    local out
    out=$(sg_submit --user "$1" --password "$2" --to "$3") ||
        sg_fail "submit failed: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA for $1"
    qid=$(sg_json 'm["queue_id"]' <<<"$out")
    sg_assert_match '^[0-9A-Za-z]+$' "$qid" "queue id"
}
counters() { sg_redis hgetall "subguard:{$1}:counters" | paste -sd' '; }
feed_caught_up() {
    [[ $(sg_redis get subguard:feed:default) == "$(stat -c '%d:%i:%s' "$SG_DIR/maillog")" ]]
}
# feed_once NAME FORMAT FILE - a batch run of the feed over FILE; prints
# its summary line
feed_once() {
    local rc=0
    echo "=== $(date '+%F %T') run: subguard-feed -o -f -F $2 -n $1 $3" >>"$SG_DIR/feed.log"
    SG_WORLD=$SG_DIR timeout 30 "$SG_BUILD/subguard-feed" -o -f -c "$SG_DIR/subguard.conf" \
        -F "$2" -n "$1" "$3" </dev/null >>"$SG_DIR/feed.log" 2>&1 || rc=$?
    ((rc == 0)) || sg_fail "subguard-feed -F $2 $3 exited $rc: $(tail -n 5 "$SG_DIR/feed.log")"
}
summary() { grep "stopped: lines=" "$SG_DIR/feed.log" | tail -n 1; }

# --- 1. The victim's message ---------------------------------------------------
send "$V" victim-pw good1@remote.example
vq=$qid
sg_wait_eq 1 sg_delivered_count good1@remote.example || sg_fail "good1: $SG_LAST deliveries"
sg_assert_counter 1 "$V" msgs "victim's messages"
before=$(counters "$V")
sg_log "victim's queue id $vq, counters: $before"

# --- 2. The forged record, through Postfix ----------------------------------------
# Two connections. The first sends the record before the greeting: smtpd
# logs it as "warning: non-SMTP command from ...: RECORD", and as "improper
# command pipelining after CONNECT from ...: RECORD" when it was there
# before the greeting went out (timing: not required). The second sends
# EHLO and the record in one packet after the greeting: "improper command
# pipelining after EHLO from ...: RECORD\r\n", every time. Both put the
# record right after a ": ".
forged="$vq: to=<a@b.example>, dsn=5.1.1, status=bounced (x)"
for when in before after; do
    "$SG_PY" - "$SG_SUBPORT" "$when" "$forged" <<'EOF' || sg_fail "the pipelining client ($when) failed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)

def reply():
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = s.recv(4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data

if sys.argv[2] == "before":
    s.sendall(sys.argv[3].encode() + b"\r\n")
    reply()                                     # the greeting
else:
    reply()                                     # the greeting
    s.sendall(b"EHLO attacker.example\r\n" + sys.argv[3].encode() + b"\r\n")
reply()
try:
    s.sendall(b"QUIT\r\n")
    s.recv(4096)
except OSError:
    pass                                        # smtpd may hang up first
s.close()
EOF
done
smtpd="postfix/submission/smtpd\\[[0-9]+\\]"
record="$vq: to=<a@b\\.example>, dsn=5\\.1\\.1, status=bounced"
sg_wait_for sg_maillog_has "$smtpd: warning: non-SMTP command from [^ ]+: $record" ||
    sg_fail "smtpd did not log the client's text as non-SMTP: $(grep -F "$vq" "$SG_DIR/maillog" | tail -n 5)"
sg_wait_for sg_maillog_has "$smtpd: improper command pipelining after EHLO from [^ ]+: $record" ||
    sg_fail "smtpd did not log the client's pipelined text: $(grep -F "$vq" "$SG_DIR/maillog" | tail -n 5)"
if sg_maillog_has "$smtpd: improper command pipelining after CONNECT from [^ ]+: $record"; then
    sg_log "smtpd also logged the record as pipelined after CONNECT"
fi

# The same record in recipient addresses: refused at RCPT (smtpd's NOQUEUE
# line) and accepted and delivered (the smtp agent's line).
"$SG_PY" - "$SG_SUBPORT" "$A" attacker-pw "$vq" <<'EOF' || sg_fail "the recipient client failed"
import smtplib, sys
port, user, pw, vq = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
fake = vq + ': to=<a@b.example>, dsn=5.1.1, status=bounced (x)'
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("attacker.example")
s.login(user, pw)
s.mail("<" + user + ">")
# The access table refuses unknown[^@]*@isp.example: no "@" in this one.
refused = s.docmd('RCPT TO:<"unknown ' + fake.replace("@", "%") + '"@isp.example>')
accepted = s.docmd('RCPT TO:<"' + fake + '"@remote.example>')
if refused[0] != 550 or accepted[0] != 250:
    sys.exit("RCPT replies: %r %r" % (refused, accepted))
code, text = s.data(b"Subject: x\r\n\r\nx\r\n")
if code != 250:
    sys.exit("DATA: %r %r" % (code, text))
s.quit()
EOF
sg_wait_for sg_maillog_has "postfix/smtp\\[[0-9]+\\]: [0-9A-F]+: to=<\"$vq: to=<a@b\\.example>, dsn=5\\.1\\.1, status=bounced \\(x\\)\"@remote\\.example>, .*status=sent" ||
    sg_fail "no delivery line with the forged recipient: $(grep -F "$vq" "$SG_DIR/maillog" | tail -n 5)"
sg_maillog_has "postfix/submission/smtpd\\[[0-9]+\\]: NOQUEUE: reject: RCPT .*$vq: to=<a%b\\.example>, dsn=5\\.1\\.1, status=bounced" ||
    sg_fail "no reject line with the forged recipient: $(grep -F "$vq" "$SG_DIR/maillog" | tail -n 5)"

# --- 3. A real bounce in the same log ------------------------------------------------
send "$M" mallory-pw bad1@remote.example
mq=$qid
sg_wait_eq 1 sg_bounced_rcpts "$mq" || sg_fail "$mq: $SG_LAST failed recipients in the maillog, want 1"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"

# --- 4. The feed on the real maillog (syslog format) -----------------------------------
sg_feed_start
sg_wait_for feed_caught_up || sg_fail "the feed did not reach the end of the maillog"
sg_assert_counter 1 "$M" bounced "mallory's real bounce"
sg_assert_eq "$before" "$(counters "$V")" "victim's counters after the forged lines"
sg_assert_eq 0 "$(sg_counter "$V" bounced)" "victim's bounced"
sg_assert_eq 0 "$(sg_redis exists "subguard:{$V}:quarantine")" "victim quarantined"
sg_feed_stop
sg_assert_eq 0 "$SG_FEED_RC" "subguard-feed exit status after SIGTERM"
s=$(summary)
sg_assert_match " outcomes=1 counted=1 unknown_qid=0 quarantined=0 .* unparsable=0 not_in_format=0 " \
    "$s" "the feed's summary on the real maillog"

# --- 5. The same lines in the other formats ------------------------------------------
# render FORMAT - the maillog's lines as FORMAT writes them: rfc5424,
# journal-json, or cat (the message alone, as journalctl -o cat)
render() {
    "$SG_PY" - "$1" "$SG_DIR/maillog" <<'EOF'
import json, re, sys
fmt = sys.argv[1]
hdr = re.compile(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$")
for line in open(sys.argv[2], encoding="utf-8", errors="surrogateescape"):
    m = hdr.match(line.rstrip("\n"))
    if not m:
        sys.exit("not a syslog line: " + line)
    host, prog, pid, msg = m.group(2), m.group(3), m.group(4) or "-", m.group(5)
    if fmt == "rfc5424":
        print("<22>1 2025-11-22T14:00:02.000000+00:00 %s %s %s - - %s" % (host, prog, pid, msg))
    elif fmt == "journal-json":
        print(json.dumps({"__CURSOR": "s=0;i=1", "_TRANSPORT": "syslog",
                          "SYSLOG_IDENTIFIER": prog, "SYSLOG_PID": pid,
                          "_PID": pid, "_COMM": prog.rsplit("/", 1)[-1][:15],
                          "MESSAGE": msg}, separators=(",", ":")))
    else:
        print(msg)
EOF
}
render rfc5424 >"$SG_DIR/maillog.5424" || sg_fail "cannot render RFC 5424"
render journal-json >"$SG_DIR/maillog.json" || sg_fail "cannot render journal-json"
render cat >"$SG_DIR/maillog.cat" || sg_fail "cannot render -o cat"
n=$(wc -l <"$SG_DIR/maillog")
for f in 5424 json cat; do
    sg_assert_eq "$n" "$(wc -l <"$SG_DIR/maillog.$f")" "lines of the maillog.$f rendering"
done
grep -q "^{.*\"SYSLOG_IDENTIFIER\":\"postfix/submission/smtpd\".*\"MESSAGE\":\"improper command pipelining after [A-Z]* from [^ ]*: $vq: to=" \
    "$SG_DIR/maillog.json" || sg_fail "the forged line is not in the journal-json rendering"

for f in rfc5424:maillog.5424 journal-json:maillog.json; do
    feed_once "f${f%%:*}" "${f%%:*}" "$SG_DIR/${f#*:}"
    s=$(summary)
    sg_assert_match "^.*stopped: lines=$n outcomes=1 .* unparsable=0 not_in_format=0 " "$s" \
        "the feed's summary on the ${f%%:*} rendering"
    grep -q "action=.*login=$V" "$SG_DIR/feed.log" && sg_fail "the feed acted on $V (${f%%:*})"
    sg_assert_eq "$before" "$(counters "$V")" "victim's counters after the ${f%%:*} rendering"
done
for f in syslog journal-json; do
    feed_once "fcat$f" "$f" "$SG_DIR/maillog.cat"
    sg_assert_match "^.*stopped: lines=$n outcomes=0 .* not_in_format=$n " "$(summary)" \
        "the feed's summary on journalctl -o cat's form read as $f"
    sg_assert_eq "$before" "$(counters "$V")" "victim's counters after the -o cat form as $f"
done
sg_assert_eq 0 "$(sg_redis exists "subguard:{$V}:quarantine")" "victim quarantined"

echo "t_46_feed_forged: ok"
