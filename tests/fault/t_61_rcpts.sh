#!/bin/bash
# t_61_rcpts: ten thousand recipients in one message (through the milter
# protocol with miltertest: Postfix itself stops at smtpd_recipient_limit,
# 1000 by default). See tests/miltertest/fault_many_rcpts.lua.
# Proves:
#  - every recipient is decided in memory: two Redis commands per message
#    (INFO commandstats) and about log2(N / reserve_recipients) "reserve"
#    calls, whether all 10000 are accepted or 9900 of them refused by the
#    limit; the counts are right (rcpts 10000; 100 and refused 9900);
#  - one log line per message, not per recipient: one action=tempfail
#    stage=rcpt line for the 9900 refusals;
#  - subguard's memory does not keep what the messages needed: VmRSS after
#    both messages is within 8 MB of before; it runs and answers afterwards.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_conf '[tier small]
messages = 100000/1h
recipients = 100/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 100000/1h'
sg_subguard_start

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SG_SUBGUARD_PID/status"; }
rss0=$(rss)
t0=$(fault_now)
fault_mt fault_many_rcpts.lua
ms=$(fault_ms_since "$t0")
rss1=$(rss)
sg_log "2 x 10000 recipients in $ms ms; VmRSS $rss0 kB before, $rss1 kB after"
sg_subguard_running || sg_fail "subguard died"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=tempfail stage=rcpt login=few@example\.net .*limit=recipients:100/1h')" \
    "tempfail lines for 9900 refused recipients"
sg_assert_eq 0 "$(sg_subguard_log_count 'action=tempfail stage=rcpt login=many@')" "tempfail lines for many@"
# (Not under AddressSanitizer: its quarantine keeps freed memory.)
libs=$(ldd "$SG_BUILD/subguard" 2>/dev/null) || libs=
if [[ $libs != *libasan* ]]; then
    (( rss1 - rss0 < 8192 )) || sg_fail "VmRSS grew from $rss0 kB to $rss1 kB"
fi
sg_assert_eq '' "$(fault_error_lines)" "error lines"

# Still answering through Postfix.
sg_user after 'after-pw'
out=$(sg_submit --user after@example.net --password after-pw --to a@remote.example) || sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "a message afterwards"
fault_note "rcpts=2x10000 redis_commands_per_message=2 ms=$ms vmrss_kb_before=$rss0 after=$rss1"
echo "t_61_rcpts: ok"
