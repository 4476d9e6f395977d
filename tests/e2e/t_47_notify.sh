#!/bin/bash
# t_47_notify: contrib/notify/subguard-notify as notify_command, end to end.
# mta: postfix
# Proves:
#  - a real quarantine (recipients rejected by Postfix) runs the shipped
#    script once: the customer (the login, a mail address) gets the
#    customer.txt text with the reason filled in, the abuse desk the summary,
#    both delivered by the private Postfix to the sink, submitted through
#    sendmail(1) (so not held by the quarantine itself);
#  - hostile values cannot add headers or recipients: a login and a reason
#    carrying CR/LF and "Bcc:" lines produce no extra recipient and no
#    injected header, and a login that is no plain address is not mailed
#    (the abuse desk is told why);
#  - a broken settings file is refused with its line number.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
mkdir -p "$SG_DIR/sink.log.d"
store=$SG_DIR/sink.log.d
notify=$SG_SRC/contrib/notify/subguard-notify
conf=$SG_DIR/notify.conf
cat >"$conf" <<EOF
from = postmaster@isp.example
abuse = abuse@isp.example
customer = %l
templates = $SG_SRC/contrib/notify
sendmail = $(command -v sendmail)
sendmail_args = -C $SG_PF
isp = Example ISP
helpdesk = the help desk on 0800 000 000
EOF

sg_user frank 'frank-pw'
SG_CONF_SUBGUARD="notify_command = $notify -c $conf"
sg_subguard_conf '[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 3/1h
normal_failure = 0'
sg_subguard_start

# mails_to RCPT - the stored messages delivered to RCPT (file names)
mails_to() {
    local id
    for id in $(sg_delivered_ids "$1"); do
        compgen -G "$store/$id.*.eml" || true
    done
}

# got RCPT N - the sink has at least N messages for RCPT
got() { (($(sg_delivered_count "$1") >= $2)); }
# lines N - the sink's log has at least N lines
lines() { (($(wc -l <"$SG_DIR/sink.log") >= $1)); }

# 1. A real quarantine mails the customer and the abuse desk.
out=$(sg_submit --user frank@example.net --password frank-pw \
    --to unknown1@isp.example,unknown2@isp.example,unknown3@isp.example,unknown4@isp.example,ok@remote.example) ||
    sg_fail "submit failed: $out"
sg_wait_for -t 10 sg_subguard_log_has 'action=quarantine stage=eom login=frank@example\.net' ||
    sg_fail "frank was not quarantined"
sg_wait_for -t 30 got frank@example.net 1 ||
    sg_fail "no notification reached the customer frank@example.net: $(cat "$SG_DIR/sink.log")"
sg_wait_for -t 30 got abuse@isp.example 1 ||
    sg_fail "no notification reached the abuse desk"
sleep 1
sg_assert_eq 1 "$(sg_delivered_count frank@example.net)" "mails to the customer (one quarantine, one mail)"
sg_assert_eq 1 "$(sg_delivered_count abuse@isp.example)" "mails to the abuse desk"
cust=$(mails_to frank@example.net)
[[ -n $cust ]] || sg_fail "the customer's mail was not stored by the sink"
grep -q '^Subject: Your outgoing mail is on hold: please act$' "$cust" || sg_fail "customer subject: $(head -20 "$cust")"
grep -q '^Auto-Submitted: auto-generated$' "$cust" || sg_fail "customer mail without Auto-Submitted"
grep -q '^What we saw: 4 recipients rejected by the MTA in 1h (quarantine threshold 3)$' "$cust" ||
    sg_fail "customer mail without the reason: $(cat "$cust")"
grep -q 'Change the password' "$cust" || sg_fail "customer mail without the advice"
grep -q 'the help desk on 0800 000 000' "$cust" || sg_fail "customer mail without the help desk"
abuse=$(mails_to abuse@isp.example)
grep -q '^Subject: \[subguard\] quarantined: frank@example.net$' "$abuse" || sg_fail "abuse subject: $(head -20 "$abuse")"
grep -q "^Seen by:  submission on " "$abuse" || sg_fail "abuse mail without the source"
grep -q "redis-cli HGETALL 'subguard:{frank@example.net}:quarantine'" "$abuse" ||
    sg_fail "abuse mail without the redis-cli recipe"
grep -q '^The customer was mailed at frank@example.net.$' "$abuse" || sg_fail "abuse mail without the note"
# The notification itself was not held: the hold queue has frank's message only.
sg_assert_eq 1 "$(sg_redis llen 'subguard:{frank@example.net}:held')" "held list"

# 2. Hostile values: header injection through the login or the reason.
before=$(wc -l <"$SG_DIR/sink.log")
SUBGUARD_NOTIFY_CONF=$conf "$notify" $'mallory@example.net\r\nBcc: victim@remote.example' \
    $'spam\r\nBcc: victim2@remote.example\r\n\r\nforged body' submission ||
    sg_fail "subguard-notify failed on a hostile login"
sg_wait_for -t 30 lines $((before + 1)) ||
    sg_fail "no mail for the hostile case"
sleep 2
sg_assert_eq 0 "$(sg_delivered_count victim@remote.example)" "mails to a Bcc: injected by the login"
sg_assert_eq 0 "$(sg_delivered_count victim2@remote.example)" "mails to a Bcc: injected by the reason"
new=$(tail -n +$((before + 1)) "$SG_DIR/sink.log")
sg_assert_eq "abuse@isp.example" "$(awk '{print $2}' <<<"$new" | sort -u | paste -sd' ')" \
    "recipients of the hostile case (the login is no plain address: the abuse desk only)"
id=$(awk '{print $1; exit}' <<<"$new")
m=$(compgen -G "$store/$id.*.eml")
if grep -qi '^Bcc:' "$m"; then sg_fail "an injected Bcc: header reached the mail: $(cat "$m")"; fi
grep -q '^The customer was NOT mailed: "mallory@example.net  Bcc: victim@remote.example" is not a plain mail address.$' "$m" ||
    sg_fail "abuse mail does not say why the customer was not mailed: $(cat "$m")"

# 3. A broken settings file: refused with its line number, exit 2.
printf 'from = a@b.example\nthis is not a setting\n' >"$SG_DIR/bad.conf"
rc=0
err=$(SUBGUARD_NOTIFY_CONF=$SG_DIR/bad.conf "$notify" x y z 2>&1) || rc=$?
sg_assert_eq 2 "$rc" "exit status on a bad settings file"
sg_assert_match "bad.conf:2: not a \"name = value\" line" "$err" "error names the line"

sg_log "PASS t_47_notify"
