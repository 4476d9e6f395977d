#!/bin/bash
# t_12_sendmail_msa: what Sendmail's MSA gives subguard, and what it keeps.
# mta: sendmail
# The world's sendmail.cf is built from contrib/sendmail/subguard.m4 (see
# harness.sh). Proves, on a real Sendmail 8.17:
#  1. rejected recipients: of one authenticated message to a good address,
#     an unknown local user (550 5.1.1 User unknown, rejected while
#     Sendmail resolves the recipient), a check_rcpt rejection (550 5.7.1,
#     a Local_check_rcpt rule, like access-db or relay refusals), an
#     address that does not parse (553 5.1.3 Hostname required) and one
#     over MaxRecipientsPerMessage (452 4.5.3 Too many recipients), only
#     the unknown user reaches subguard as rejected: its line says
#     rcpts=4 rejected=1; Sendmail logs each refusal itself;
#  2. the queue id: {i} reaches subguard at MAIL FROM already, so even a
#     tempfail at RCPT is logged with the message's queue id (Postfix:
#     qid=-), the one the client is told at the end of DATA;
#  3. subguard only on the MSA (InputMailFilters=subguard): a message
#     through the MTA daemon (the port-25 stand-in) is delivered without
#     a subguard line or Redis key, and unauthenticated relaying there,
#     from 127.0.0.2, is refused by Sendmail itself (550 5.7.1 Relaying
#     denied); on the MSA no MAIL FROM is taken before AUTH (530 5.7.0);
#  4. subguard down (F=T): the MSA tempfails the session at AUTH (454
#     4.3.0) and logs "Milter: initialization failed, temp failing
#     commands"; the MTA daemon keeps delivering; subguard back: the MSA
#     accepts again;
#  5. contrib/sendmail/sendmail.mc, the example, builds with the README's
#     m4 command into a .cf that Sendmail reads without complaint, with
#     subguard on the MSA only.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

# Redis is given time on a loaded machine: this test is about what
# Sendmail shows subguard, not about Redis latency.
# shellcheck disable=SC2034 # read by sg_world_up
SG_CONF_REDIS='timeout = 2s'
# shellcheck disable=SC2034 # read by sg_world_up
SG_SM_MC_EXTRA="define(\`confMAX_RCPTS_PER_MESSAGE', \`4')dnl"
sg_world_up
sg_user alice 'alice-pw'
sg_user carol 'carol-pw'
sg_subguard_conf '[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h
[tier tight]
messages = 50/1h
recipients = 1/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h'
sg_subguard_start

# code OUT RCPT - the reply code RCPT got
code() { sg_json "m[\"rcpt\"][\"$2\"][0]" <<<"$1"; }
# text OUT RCPT - the reply text RCPT got
text() { sg_json "m[\"rcpt\"][\"$2\"][1]" <<<"$1"; }

# --- 1. Which rejected recipients reach subguard ----------------------------
rcpts=good1@remote.example,unknown1@isp.example,refused@remote.example,x@
rcpts+=,good2@remote.example,good3@remote.example,good4@remote.example,good5@remote.example
out=$(sg_submit --user alice@example.net --password alice-pw --to "$rcpts") ||
    sg_fail "submit failed: $out"
for r in good1 good2 good3 good4; do
    sg_assert_eq 250 "$(code "$out" "$r@remote.example")" "RCPT $r"
done
sg_assert_eq 550 "$(code "$out" unknown1@isp.example)" "RCPT unknown1 (unknown local user)"
sg_assert_match '^5\.1\.1 .*User unknown' "$(text "$out" unknown1@isp.example)" "RCPT unknown1 text"
sg_assert_eq 550 "$(code "$out" refused@remote.example)" "RCPT refused (check_rcpt)"
sg_assert_match '^5\.7\.1 .*Refused by local policy' "$(text "$out" refused@remote.example)" "RCPT refused text"
sg_assert_eq 553 "$(code "$out" x@)" "RCPT x@ (does not parse)"
sg_assert_match '^5\.1\.3 .*Hostname required' "$(text "$out" x@)" "RCPT x@ text"
sg_assert_eq 452 "$(code "$out" good5@remote.example)" "RCPT good5 (MaxRecipientsPerMessage 4)"
sg_assert_match '^4\.5\.3 Too many recipients' "$(text "$out" good5@remote.example)" "RCPT good5 text"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA"
qid=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_match '^[0-9A-Za-z]{14}$' "$qid" "Sendmail queue id"
sg_wait_for -t 5 sg_subguard_log_has "action=accept stage=eom login=alice@example\.net .*qid=$qid " ||
    sg_fail "no accept line for $qid"
sg_assert_match "rcpts=4 rejected=1 refused=0\$" \
    "$(grep "action=accept stage=eom .*qid=$qid " "$SG_DIR/subguard.log")" \
    "what subguard saw: 4 accepted, only the unknown user as rejected"
sg_assert_counter 1 alice@example.net rejected "counters rejected"
sg_assert_counter 4 alice@example.net rcpts "counters rcpts"
# Sendmail logs the refusals itself, with the queue id.
sg_maillog_has "$qid: <unknown1@isp\.example>\.\.\. User unknown" || sg_fail "no User unknown line"
sg_maillog_has "$qid: ruleset=check_rcpt, arg1=<refused@remote\.example>, .*reject=550 5\.7\.1 " ||
    sg_fail "no check_rcpt reject line"
sg_maillog_has "$qid: <x@>\.\.\. Hostname required" || sg_fail "no Hostname required line"
for r in good1 good2 good3 good4; do
    sg_wait_eq 1 sg_delivered_count "$r@remote.example" || sg_fail "$r: $SG_LAST deliveries"
done
sg_assert_eq 0 "$(sg_delivered_count good5@remote.example)" "deliveries to good5"

# --- 2. The queue id at RCPT ------------------------------------------------
sg_assert_eq OK "$(sg_redis set 'subguard:{carol@example.net}:tier' tight)" "SET tier"
out=$(sg_submit --user carol@example.net --password carol-pw --to c1@remote.example,c2@remote.example) ||
    sg_fail "submit failed: $out"
sg_assert_eq 250 "$(code "$out" c1@remote.example)" "RCPT c1"
sg_assert_eq 451 "$(code "$out" c2@remote.example)" "RCPT c2 (over 1/1h)"
sg_assert_match '^4\.7\.1 .*limit of 1 recipients per hour' "$(text "$out" c2@remote.example)" "RCPT c2 text"
cq=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_match '^[0-9A-Za-z]{14}$' "$cq" "carol's queue id"
sg_assert_eq 1 "$(sg_subguard_log_count "action=tempfail stage=rcpt login=carol@example\.net .*qid=$cq tier=tight ")" \
    "tempfail line at RCPT with the queue id"
sg_maillog_has "$cq: Milter: to=<c2@remote\.example>, reject=451 4\.7\.1 " ||
    sg_fail "no Milter reject line for c2 in maillog"
sg_wait_eq 1 sg_delivered_count c1@remote.example || sg_fail "c1: $SG_LAST deliveries"

# --- 3. Port 25 stand-in: no subguard; relaying refused by Sendmail ---------
out=$(sg_submit --port "$SG_MTAPORT" --user alice@example.net --password alice-pw --to mta1@remote.example) ||
    sg_fail "submit to the MTA daemon failed: $out"
mq=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_match '^[0-9A-Za-z]{14}$' "$mq" "queue id from the MTA daemon"
sg_wait_eq 1 sg_delivered_count mta1@remote.example || sg_fail "mta1: $SG_LAST deliveries"
sg_maillog_has "$mq: from=<alice@example\.net>, .*daemon=MTA," || sg_fail "$mq did not come in through daemon=MTA"
sg_assert_eq 0 "$(sg_subguard_log_count "qid=$mq")" "subguard lines about $mq"
sg_assert_eq "" "$(sg_redis get "subguard:qid:$mq")" "subguard:qid:$mq"
sg_assert_counter 1 alice@example.net msgs "alice's msgs (only the MSA's message)"

# Unauthenticated relaying from 127.0.0.2 (127.0.0.1 is trusted to relay).
relay=$("$SG_PY" - "$SG_MTAPORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP(source_address=("127.0.0.2", 0), timeout=30)
s.connect("127.0.0.1", int(sys.argv[1]))
s.ehlo("outside.example")
s.mail("someone@outside.example")
code, msg = s.rcpt("victim@remote.example")
print(code, msg.decode())
s.quit()
EOF
) || sg_fail "relay attempt from 127.0.0.2 failed: $relay"
sg_assert_match '^550 5\.7\.1 <victim@remote\.example>\.\.\. Relaying denied' "$relay" \
    "unauthenticated relaying on the MTA daemon"
sg_maillog_has 'ruleset=check_rcpt, arg1=<victim@remote\.example>, relay=\[127\.0\.0\.2\].*Relaying denied' ||
    sg_fail "no Relaying denied line in maillog"
out=$(sg_submit --from someone@outside.example --to victim@remote.example) ||
    sg_fail "unauthenticated submit to the MSA failed: $out"
sg_assert_eq 530 "$(sg_json 'm["mail"]' <<<"$out")" "MAIL without AUTH on the MSA"
sg_assert_eq 0 "$(sg_delivered_count victim@remote.example)" "deliveries to victim@"

# --- 4. subguard down: F=T ---------------------------------------------------
sg_subguard_stop || sg_fail "subguard did not stop on SIGTERM"
rc=0
out=$(sg_submit --user alice@example.net --password alice-pw --to down1@remote.example 2>/dev/null) || rc=$?
sg_assert_eq 2 "$rc" "submit.py status while subguard is down"
sg_assert_eq '[454, "4.3.0 Please try again later"]' "$(sg_json 'm["session"]' <<<"$out")" \
    "the MSA's answer to AUTH while subguard is down"
sg_wait_for -t 5 sg_maillog_has 'Milter: initialization failed, temp failing commands' ||
    sg_fail "no 'initialization failed' line in maillog"
# The socket is gone: Sendmail's file check says so before connecting.
sg_maillog_has "Milter \\(subguard\\): local socket name $SG_SUBGUARD_SOCK unsafe" ||
    sg_fail "no line naming the subguard filter's missing socket"
sg_maillog_has 'Milter \(subguard\): to error state' || sg_fail "no 'to error state' line"
out=$(sg_submit --port "$SG_MTAPORT" --user alice@example.net --password alice-pw --to down2@remote.example) ||
    sg_fail "submit to the MTA daemon while subguard is down failed: $out"
sg_wait_eq 1 sg_delivered_count down2@remote.example || sg_fail "down2 (MTA daemon): $SG_LAST deliveries"
sg_assert_eq 0 "$(sg_delivered_count down1@remote.example)" "deliveries to down1"

sg_subguard_start
out=$(sg_submit --user alice@example.net --password alice-pw --to up1@remote.example) ||
    sg_fail "submit after subguard's restart failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA after the restart"
sg_wait_eq 1 sg_delivered_count up1@remote.example || sg_fail "up1: $SG_LAST deliveries"
sg_assert_counter 2 alice@example.net msgs "alice's msgs after the restart"

sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"

# --- 5. The example .mc ---------------------------------------------------------
sed "s|/etc/mail/subguard.m4|$SG_SRC/contrib/sendmail/subguard.m4|" \
    "$SG_SRC/contrib/sendmail/sendmail.mc" >"$SG_DIR/example.mc"
sg_sendmail_m4 "$SG_DIR/example.mc" "$SG_DIR/example.cf"
sg_assert_eq 'Xsubguard, S=local:/run/subguard/subguard.sock, F=T, T=C:10s;S:10s;R:10s;E:1m' \
    "$(grep '^Xsubguard' "$SG_DIR/example.cf")" "the example's filter line"
sg_assert_eq 'O DaemonPortOptions=Family=inet, Name=MTA, Port=smtp
O DaemonPortOptions=Port=submission, Family=inet, Name=MSA, M=Ea, InputMailFilters=subguard
O DaemonPortOptions=Port=465, Family=inet, Name=MSA-TLS, M=Eas, InputMailFilters=subguard' \
    "$(grep '^O DaemonPortOptions' "$SG_DIR/example.cf")" "the example's daemons (587 and 465)"
sg_assert_eq "" "$(grep '^O InputMailFilters' "$SG_DIR/example.cf")" "a global InputMailFilters"
mapfile -t env_sm < <(sg__sendmail_env)
out=$(env "${env_sm[@]}" "$SG_SM_PREFIX/usr/libexec/sendmail/sendmail" -C "$SG_DIR/example.cf" \
    -bt -d0.1 </dev/null 2>&1) || sg_fail "sendmail -bt on the example .cf failed: $out"
sg_assert_match 'Version 8\.17' "$out" "sendmail -bt -d0.1 on the example"
if grep -E 'example\.cf: line [0-9]+:' <<<"$out"; then
    sg_fail "Sendmail complains about the example .cf: $out"
fi

echo "t_12_sendmail_msa: ok"
