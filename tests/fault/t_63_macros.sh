#!/bin/bash
# t_63_macros: macros missing and transactions left half done, through the
# milter protocol (miltertest: tests/miltertest/fault_missing_macros.lua).
# Proves:
#  - {auth_authen} absent: subguard steps aside (SMFIR_ACCEPT at the
#    first RCPT, where it decides a message; MAIL gets no reply), nothing
#    is written; given only at RCPT, the message is counted;
#  - {i} absent at MAIL and at the end: the message is counted, no crash,
#    and no queue-id key is written (not even "subguard:qid:");
#  - {i} given only at the end (Postfix's way): its queue-id key is written;
#  - no {rcpt_mailer} at RCPT: an accepted recipient;
#  - abort after RCPT, a second MAIL while a message is half done, an odd
#    {i}, a connection dropped in the middle: no crash, the counts are
#    those of finished messages (failures before an abort count), the next
#    transaction and the next connection work;
#  - subguard runs and answers through Postfix afterwards, with no error
#    line in its log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_conf
sg_subguard_start
fault_mt fault_missing_macros.lua
sg_subguard_running || sg_fail "subguard died"

# {i} only at the end of the message (Postfix's way), and at neither end:
# miltertest cannot send end-of-message macros, milter.py can.
send() {    # send LOGIN QID QID_AT - one message through milter.py
    local out
    out=$("$SG_PY" "$FAULT_DIR/milter.py" send --socket "$SG_SUBGUARD_SOCK" \
        --login-hex "$(printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n')" --qid "$2" --qid-at "$3") ||
        sg_fail "milter.py send $*: $out"
    sg_assert_eq '{"mail": "-", "rcpt": ["c"], "eom": ["c"], "error": null}' "$out" "milter replies for $*"
}
send eomqid@example.net EOMQ1 eom
sg_assert_counter 1 eomqid@example.net msgs "msgs for {i} at the end"
sg_assert_match '^eomqid@example\.net [0-9]+ 1$' "$(sg_redis get subguard:qid:EOMQ1)" "queue-id key for {i} at the end"
send mailqid@example.net MAILQ1 mail
sg_assert_counter 1 mailqid@example.net msgs "msgs for {i} at MAIL"
sg_assert_match '^mailqid@example\.net [0-9]+ 1$' "$(sg_redis get subguard:qid:MAILQ1)" "queue-id key for {i} at MAIL (Sendmail's way)"
send noqid2@example.net '' both
sg_assert_counter 1 noqid2@example.net msgs "msgs without {i}"
sg_assert_eq 0 "$(sg_redis exists 'subguard:qid:')" "a key for an empty queue id"
sg_assert_eq '' "$(fault_error_lines)" "error lines"
sg_user after 'after-pw'
out=$(sg_submit --user after@example.net --password after-pw --to a@remote.example) || sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "a message through Postfix afterwards"
# The dropped connection's message (no failures) is closed with nothing to
# count; by the time a later message is counted its close has long run.
sg_assert_counter 2 after@example.net msgs "msgs of after@ (miltertest, then Postfix)"
sg_assert_eq 0 "$(sg_redis exists 'subguard:{gone@example.net}:counters')" \
    "counters of the dropped connection's unfinished message"
echo "t_63_macros: ok"
