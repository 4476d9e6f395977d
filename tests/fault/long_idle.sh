#!/bin/bash
# long_idle.sh - the long run behind docs/RELIABILITY.md "Idle sessions"
# (about 11 minutes; not registered in CTest: run it by hand).
#
#   SG_BUILD=build SG_SRC=. bash tests/fault/long_idle.sh
#
# Debian's libmilter runs a worker pool: a connection waiting for the MTA's
# next command is checked against milter_timeout only every 600 s
# (DT_CHECK_OLD_SESSIONS). With subguard's default milter_timeout = 30s,
# this shows what that sweep does, 600-610 s after subguard starts, to:
#  - 3 connections to subguard's socket that never send anything;
#  - "slow": a client uploading its message slowly through Postfix (a body
#    line every 20 s, well within smtpd_timeout) from second 5 to 640:
#    Postfix talks to the milter at RCPT and then only at end of data
#    (subguard asks for no headers and no body), so subguard's side of the
#    session is idle for the whole upload;
#  - "quick": the same upload finishing at second 120 (before the sweep);
#  - "after": a normal message at second 650.
# Prints the replies and when the silent connections were closed. It
# asserts nothing: the expectations are in docs/RELIABILITY.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
sg_user slow 'slow-pw'
fault_conf
sg_subguard_start
t0=$(fault_now)
SG_WORLD=$SG_DIR "$SG_PY" "$FAULT_DIR/milter.py" idle --socket "$SG_SUBGUARD_SOCK" \
    --count 3 --seconds 700 >"$SG_DIR/silent.json" 2>&1 &
p_silent=$!

upload() {  # upload NAME SECONDS - AUTH, MAIL, RCPT, DATA, body for SECONDS, dot
    SG_WORLD=$SG_DIR "$SG_PY" - "$SG_SUBPORT" "$1" "$2" <<'EOF'
import base64, smtplib, sys, time
port, name, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
t0 = time.time()
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("slow.example")
s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0slow@example.net\0slow-pw").decode())
print(name, "MAIL", s.mail("slow@example.net")[0], "RCPT", s.rcpt(name + "@remote.example")[0],
      "DATA", s.docmd("DATA")[0], flush=True)
s.send(b"Subject: slow upload\r\n\r\n")
while time.time() - t0 < secs:
    time.sleep(min(20, max(0.1, secs - (time.time() - t0))))
    s.send(b"a line of a slow upload\r\n")
s.send(b".\r\n")
c, m = s.getreply()
print(name, "after %.0f s: final reply %d %s" % (time.time() - t0, c, m.decode()), flush=True)
s.quit()
EOF
}
upload slow 635 >"$SG_DIR/slow.txt" 2>&1 &
p_slow=$!
upload quick 115 >"$SG_DIR/quick.txt" 2>&1 &
p_quick=$!
sleep 650
out=$(sg_submit --user slow@example.net --password slow-pw --to after@remote.example) || true
wait "$p_slow" "$p_quick" "$p_silent" || true
echo "subguard started $t0; now $(fault_ms_since "$t0") ms later"
cat "$SG_DIR/quick.txt" "$SG_DIR/slow.txt"
echo "after: $(sg_json '[m["mail"], m["data"]]' <<<"$out")"
echo "silent connections closed after (s): $(cat "$SG_DIR/silent.json")"
grep -E 'milter|451|4\.7\.1' "$SG_DIR/maillog" | grep -v 'connect from' | tail -n 5 || true
