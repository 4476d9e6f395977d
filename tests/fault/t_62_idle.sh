#!/bin/bash
# t_62_idle: sessions that never end, next to normal load.
# milter_timeout = 5s. Load: 10 sessions, 8 logins, 20 s. Meanwhile:
#  - 50 connections to subguard's socket that send nothing at all;
#  - 5 connections that negotiate, then send the first bytes of a command
#    and stall (a command that never finishes arriving);
#  - one SMTP session through Postfix that authenticates, gives MAIL FROM,
#    then says nothing for 8 s (more than milter_timeout, well within
#    Postfix's smtpd_timeout of 300 s) before RCPT and DATA.
# Proves:
#  - other sessions are unaffected: no 4xx, no 5xx, nothing lost, and the
#    slowest message while the idle ones hang took < 1 s more than the
#    slowest before;
#  - idle connections do not hold a thread each: a thread per connection
#    would add 55 threads for as long as they hang; subguard's threads
#    stay (median of the samples while they hang) less than 25 above the
#    count before (half the 50 silent ones), never reach +50, and come
#    back. What may grow: 5 for the stalled commands, each of which a
#    libmilter worker reads, and the worker pool's own ups and downs
#    under the load (the pool adds a worker whenever none is idle): on a
#    loaded CI machine +13, and under ThreadSanitizer a spike of +28 for
#    a fraction of a second when the load's first sessions arrive, which
#    may fall before the idle connections or among them;
#  - libmilter's timeout ends a stalled command: each of the 5 is closed
#    between 5 and 8 s;
#  - the idle SMTP session's message is accepted and delivered.
# What this does not show: Debian's libmilter runs a worker pool
# (_FFR_WORKERS_POOL); a connection that waits for the MTA's next command
# sits in the pool's poll set and is checked against milter_timeout only
# every 600 s (DT_CHECK_OLD_SESSIONS), so the 50 silent connections stay
# open for the length of this test (checked: none is closed before 5 s).
# docs/RELIABILITY.md has the long run that sees them closed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_users 8
sg_user idle 'idle-pw'
SG_CONF_SUBGUARD='milter_timeout = 5s'
fault_conf
sg_subguard_start
fault_sampler_start 60

fault_load_start i --sessions 10 --count 3000 --duration 20 --per-session 5 --pace 0.1
fault_wait_attempts i 40
sleep 1
t_idle=$(fault_now)
th_before=$(fault_threads_max 0 "$t_idle")
SG_WORLD=$SG_DIR "$SG_PY" "$FAULT_DIR/milter.py" idle --socket "$SG_SUBGUARD_SOCK" \
    --count 50 --seconds 14 >"$SG_DIR/idle.json" 2>&1 &
p_idle=$!
SG_WORLD=$SG_DIR "$SG_PY" "$FAULT_DIR/milter.py" idle --socket "$SG_SUBGUARD_SOCK" \
    --count 5 --seconds 14 --partial >"$SG_DIR/partial.json" 2>&1 &
p_partial=$!
SG_WORLD=$SG_DIR "$SG_PY" - "$SG_SUBPORT" >"$SG_DIR/smtp-idle.txt" 2>&1 <<'EOF' &
import base64, smtplib, sys, time
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("idle.example")
out = [s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0idle@example.net\0idle-pw").decode())[0]]
out.append(s.mail("idle@example.net")[0])
time.sleep(8)
out.append(s.rcpt("idle-rcpt@remote.example")[0])
c, m = s.data(b"Subject: idle\r\n\r\nidle\r\n")
out += [c, m.decode().split("queued as ")[-1]]
s.quit()
print(" ".join(map(str, out)))
EOF
p_smtp=$!
sleep 2
th_hang=$(fault_threads)
sg_log "threads: $th_before before, $th_hang with 55 connections hanging"
for p in $p_idle $p_partial $p_smtp; do
    sg_wait_for -t 30 sg__dead "$p" || sg_fail "idle client $p still running after 30 s"
    wait "$p" || sg_fail "idle client $p failed: $(cat "$SG_DIR/idle.json" "$SG_DIR/partial.json" "$SG_DIR/smtp-idle.txt")"
done
t_done=$(fault_now)
sleep 2
th_after=$(fault_threads)

fault_load_wait i
fault_sampler_stop
fault_reconcile i --window idle:"$t_idle":"$t_done"
sg_assert_eq 0 "$(fault_field i attempts_tempfailed)" "attempts tempfailed"
before_max=$(fault_field i latency_before.max)
idle_max=$(fault_field i latency_idle.max)
th_idle=$(fault_threads_max "$t_idle" "$t_done")
(( th_hang > th_idle )) && th_idle=$th_hang
th_mid=$(fault_threads_median "$t_idle" "$t_done")
sg_log "latency: slowest before ${before_max}s, while idle ones hang ${idle_max}s; threads median $th_mid and max $th_idle then, $th_after after"
"$SG_PY" -c 'import sys; sys.exit(0 if float(sys.argv[2]) < float(sys.argv[1]) + 1.0 else 1)' "$before_max" "$idle_max" ||
    sg_fail "a message took ${idle_max}s while the idle sessions hung (slowest before: ${before_max}s)"

# Threads: no thread per idle connection, and back afterwards.
(( th_mid < th_before + 25 )) || sg_fail "threads stayed at $th_mid (from $th_before) with 55 connections hanging"
(( th_idle < th_before + 50 )) || sg_fail "threads rose from $th_before to $th_idle with 55 connections hanging"
(( th_after <= th_before + 3 )) || sg_fail "threads $th_after 2 s after the idle connections, $th_before before"

# The stalled commands: closed by libmilter after milter_timeout.
partial=$(cat "$SG_DIR/partial.json")
sg_log "stalled commands closed after: $partial"
"$SG_PY" -c '
import json, sys
c = json.loads(sys.argv[1])["closed"]
sys.exit(0 if len(c) == 5 and all(x is not None and 5.0 <= x <= 8.0 for x in c) else 1)' "$partial" ||
    sg_fail "stalled commands not closed between 5 and 8 s: $partial"

# The silent connections: never closed before milter_timeout.
idle=$(cat "$SG_DIR/idle.json")
nclosed=$("$SG_PY" -c '
import json, sys
c = json.loads(sys.argv[1])["closed"]
early = [x for x in c if x is not None and x < 5.0]
print(-1 if early or len(c) != 50 else sum(1 for x in c if x is not None))' "$idle")
(( nclosed >= 0 )) || sg_fail "silent connections closed before milter_timeout: $idle"
sg_log "silent connections closed within 14 s: $nclosed of 50"

# The idle SMTP session.
smtp=$(cat "$SG_DIR/smtp-idle.txt")
sg_assert_match '^235 250 250 250 [0-9A-Za-z]+$' "$smtp" "idle SMTP session (AUTH MAIL RCPT DOT QID)"
sg_wait_for -t 20 grep -q "^${smtp##* } idle-rcpt@remote.example" "$SG_DIR/sink.log" ||
    sg_fail "the idle session's message ${smtp##* } was not delivered"
sg_subguard_running || sg_fail "subguard is not running at the end"
fault_note "threads_before=$th_before threads_hanging_55=$th_idle threads_after=$th_after stalled_closed_s=$(tr -d ' ' <<<"$partial") silent_closed_in_14s=$nclosed latency_before_max=$before_max latency_idle_max=$idle_max"
echo "t_62_idle: ok"
