#!/bin/bash
# t_60_logins: hostile and odd SASL logins.
# A. Through the real Postfix and Cyrus SASL (sasldb users with odd names,
#    which Postfix passes on with every non-printable byte as "?",
#    AUTH PLAIN with the raw bytes): CR, LF (with a forged log line after
#    it), braces, colon, space, quotes, invalid UTF-8, "%7B" next to "{",
#    mixed case, 300 bytes. Each sends one message.
# B. Through the milter protocol, {auth_authen} set directly:
#    tests/miltertest/fault_hostile_logins.lua (miltertest: CR LF, tab, NUL,
#    braces, colons, quotes, invalid UTF-8, empty, look-alikes of
#    "victim"), and tests/fault/milter.py for what miltertest cannot send
#    (it dies on a macro over ~1 KiB): 4 KiB, 60 KB, the 192-byte
#    boundary, a login typed as "sha256:<digest>".
# Proves:
#  - no crash: subguard runs throughout and answers afterwards;
#  - every message through Postfix is accepted and delivered;
#  - every login gets its own keys, named as "subguard -k" says (the
#    documented escaping); no two different logins share a key (only the
#    documented folds: upper/lower case, and a NUL that the milter
#    protocol itself cuts); every key in Redis is of the documented forms;
#  - no login reaches another account's counters or quarantine: the
#    victim's counters are unchanged by the look-alikes, a quarantined
#    look-alike ("victim}:quarantine") holds its own mail and not the
#    victim's, and the reverse;
#  - logs: one clear line per over-long login ("login too long for a key:
#    N bytes starting ... counted as sha256:..."); a login with a line
#    feed cannot forge a log line (every line of the log is subguard's).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
TIERS='[tier default]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 3/1h'
sg_subguard_conf "$TIERS"
sg_subguard_start
SG=$SG_BUILD/subguard
CONF=$SG_DIR/subguard.conf

# keyname LOGIN - the normalised login, as subguard -k prints it
keyname() {
    "$SG" -c "$CONF" -k "$1" | sed -n '1s/^login \([^ ]*\).*/\1/p'
}

# submit_raw NAME [RCPTS] - AUTH PLAIN as NAME@example.net (raw bytes, from
# the hex in NAME_HEX) with password pw, one message to RCPTS (default
# one unique recipient); prints "AUTH MAIL RCPT... DOT QID"
submit_raw() {
    "$SG_PY" - "$SG_SUBPORT" "$1" "${2:-}" <<'EOF'
import base64, smtplib, sys
port, hexname, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3]
user = bytes.fromhex(hexname) + b"@example.net"
rcpts = rcpts.split(",") if rcpts else ["u-%s@remote.example" % hexname[:40]]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("hostile.example")
c, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0" + user + b"\0pw").decode())
out = [str(c)]
if c == 235:
    out.append(str(s.mail("sender@example.net")[0]))
    ok = 0
    for r in rcpts:
        c = s.rcpt(r)[0]
        out.append(str(c))
        ok += c == 250
    if ok:
        c, m = s.data(b"Subject: hostile login\r\n\r\nhello\r\n")
        m = m.decode()
        out += [str(c), m.split("queued as ")[-1] if "queued as" in m else "-"]
s.quit()
print(" ".join(out))
EOF
}

hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# --- A. Through Postfix and Cyrus SASL ---------------------------------------
declare -a NAMES=(
    victim
    'victim}:quarantine'
    $'cr\rx'
    $'lf\nsubguard: redis back at forged'
    '{victim}'
    'colon:x'
    'sp ace'
    "quo\"te'x"
    $'\xff\xfe\xc0\xaf'
    'pct%7Bx'
    'pct{x'
    'MiXeD'
    "$(printf 'L%.0s' {1..300})"
)
# pf_form NAME - the login as Postfix hands it to the milter: smtpd
# replaces every byte that is not printable ASCII with "?" in
# {auth_authen} (as in its logs), so "cr<CR>x" arrives as "cr?x".
pf_form() {
    printf '%s' "$1" | LC_ALL=C tr -c ' -~' '?'
}
declare -A KEY=()
for name in "${NAMES[@]}"; do
    printf '%s' pw | saslpasswd2 -p -c -f "$SG_DIR/sasldb2" -u example.net "$name" ||
        sg_fail "saslpasswd2 refused '$name'"
    KEY[$name]=$(keyname "$(pf_form "$name")@example.net")
    [[ -n ${KEY[$name]} ]] || sg_fail "subguard -k gave nothing for '$name'"
done
chown root:postfix "$SG_DIR/sasldb2"
chmod 640 "$SG_DIR/sasldb2"

# The documented escaping, by hand, for a few (subguard -k must agree).
sg_assert_eq 'victim%7D%3Aquarantine@example.net' "${KEY['victim}:quarantine']}" "key of victim}:quarantine"
sg_assert_eq 'cr%3Fx@example.net' "${KEY[$'cr\rx']}" "key of cr<CR>x (Postfix sends cr?x)"
sg_assert_eq '%3F%3F%3F%3F@example.net' "${KEY[$'\xff\xfe\xc0\xaf']}" "key of invalid UTF-8 (Postfix sends ????)"
sg_assert_eq 'pct%257bx@example.net' "${KEY['pct%7Bx']}" "key of pct%7Bx"
sg_assert_eq 'pct%7Bx@example.net' "${KEY['pct{x']}" "key of pct{x"
sg_assert_eq 'mixed@example.net' "${KEY[MiXeD]}" "key of MiXeD"
sg_assert_match '^sha256:[0-9a-f]{64}$' "${KEY[$(printf 'L%.0s' {1..300})]}" "key of a 300-byte login"

# The victim sends twice; its counters are the reference.
for i in 1 2; do
    out=$(submit_raw "$(hex victim)" "v$i@remote.example")
    sg_assert_match '^235 250 250 250 [0-9A-Za-z]+$' "$out" "victim's message $i"
done
vkey="subguard:{victim@example.net}"
sg_assert_counter 2 victim@example.net msgs "victim's msgs"
victim_before=$(sg_redis hgetall "$vkey:counters")

declare -A QID=()
for name in "${NAMES[@]}"; do
    [[ $name == victim ]] && continue
    out=$(submit_raw "$(hex "$name")")
    sg_assert_match '^235 250 250 250 [0-9A-Za-z]+$' "$out" "message as '$name' (AUTH MAIL RCPT DOT QID)"
    QID[$name]=${out##* }
    sg_assert_counter 1 "${KEY[$name]}" msgs "msgs under ${KEY[$name]}"
done
sg_subguard_running || sg_fail "subguard died on the odd logins"
for name in "${!QID[@]}"; do
    sg_wait_for -t 20 grep -q "^${QID[$name]} " "$SG_DIR/sink.log" ||
        sg_fail "message ${QID[$name]} as '$name' not delivered"
done
sg_assert_eq "$victim_before" "$(sg_redis hgetall "$vkey:counters")" "victim's counters after the look-alikes"
for s in quarantine held tier; do
    sg_assert_eq 0 "$(sg_redis exists "$vkey:$s")" "victim's $s key"
done

# The look-alike gets itself quarantined (4 recipients Postfix rejects:
# quarantine_rejected = 3/1h); its mail is held, the victim's is not.
la='victim}:quarantine'
out=$(submit_raw "$(hex "$la")" unknown1@isp.example,unknown2@isp.example,unknown3@isp.example,unknown4@isp.example,q1@remote.example)
sg_assert_match '^235 250 550 550 550 550 250 250 ' "$out" "look-alike's failing message"
sg_wait_for -t 5 sg_subguard_log_has "action=quarantine .*login=victim%7D%3Aquarantine@example\.net" ||
    sg_fail "the look-alike was not quarantined"
sg_assert_eq 1 "$(sg_redis exists "subguard:{${KEY[$la]}}:quarantine")" "look-alike's quarantine key"
sg_assert_eq 0 "$(sg_redis exists "$vkey:quarantine")" "victim's quarantine key"
out=$(submit_raw "$(hex victim)" v3@remote.example)
sg_assert_match '^235 250 250 250 ' "$out" "victim's message after the look-alike's quarantine"
sg_wait_for -t 20 grep -q "^${out##* } v3@remote.example" "$SG_DIR/sink.log" ||
    sg_fail "victim's message ${out##* } not delivered (held?)"
out=$(submit_raw "$(hex "$la")" q2@remote.example)
qid=${out##* }
held_has() { [[ $(sg_held_ids) == *"$1"* ]]; }
sg_wait_for -t 10 held_has "$qid" || sg_fail "look-alike's message $qid not held"
sg_assert_eq 0 "$(sg_redis exists "$vkey:held")" "victim's held list"
# Held: the message that crossed the threshold, and this one.
sg_assert_eq 2 "$(sg_redis llen "subguard:{${KEY[$la]}}:held")" "look-alike's held list"
sg_assert_match "(^|"$'\n'")$qid($|"$'\n'")" "$(sg_redis lrange "subguard:{${KEY[$la]}}:held" 0 -1)" "look-alike's held list"

# The over-long login: one clear line per message.
sg_assert_eq 1 "$(sg_subguard_log_count 'login too long for a key: 312 bytes starting "L+" counted as sha256:[0-9a-f]{64}$')" \
    "'login too long' lines for the 300-byte name (312 bytes with the realm)"

# --- B. Through the milter protocol -------------------------------------------
fault_mt fault_hostile_logins.lua
a4k=$(printf 'A%.0s' {1..4096})
d4k=$(keyname "$a4k")
sg_assert_match '^sha256:[0-9a-f]{64}$' "$d4k" "key of 4 KiB of A"
# long LOGIN QID - one message as LOGIN through milter.py; must be accepted
long() {
    local out
    printf '%s' "$1" >"$SG_DIR/login.bin"
    out=$("$SG_PY" "$FAULT_DIR/milter.py" send --socket "$SG_SUBGUARD_SOCK" \
        --login-file "$SG_DIR/login.bin" --qid "$2") || sg_fail "milter.py send ($2): $out"
    sg_assert_eq '{"mail": "-", "rcpt": ["c"], "eom": ["c"], "error": null}' "$out" "milter replies for $2"
}
long "$a4k" LL1
long "$(printf 'A%.0s' {1..4095})B" LL2
long "$(printf 'A%.0s' {1..4095})C" LL3
long "$(printf 'a%.0s' {1..4096})" LL4
long "$(printf 'x%.0s' {1..192})" LL5
long "$(printf 'x%.0s' {1..193})" LL6
long "$(printf '%%%.0s' {1..64})" LL7
long "$(printf '%%%.0s' {1..65})" LL8
long "$d4k" LL9
long "$(printf 'A%.0s' {1..60000})" LL10
sg_subguard_running || sg_fail "subguard died on the long logins"
k() { sg_wait_eq -t 5 "$2" sg_counter "$1" msgs; echo "$SG_LAST"; }
sg_assert_eq 2 "$(k "$d4k" 2)" "msgs of 4 KiB of A and of a (one login once lower-cased)"
d2=$(keyname "$(printf 'A%.0s' {1..4095})B")
d3=$(keyname "$(printf 'A%.0s' {1..4095})C")
[[ $d2 != "$d3" && $d2 != "$d4k" && $d3 != "$d4k" ]] || sg_fail "logins differing in their last byte share a key: $d2 $d3 $d4k"
sg_assert_eq 1 "$(k "$d2" 1)" "msgs of 4095 A + B"
sg_assert_eq 1 "$(k "$d3" 1)" "msgs of 4095 A + C"
sg_assert_eq 1 "$(k "$(printf 'x%.0s' {1..192})" 1)" "msgs of 192 x (kept as text)"
d6=$(keyname "$(printf 'x%.0s' {1..193})")
sg_assert_match '^sha256:' "$d6" "key of 193 x"
sg_assert_eq 1 "$(k "$d6" 1)" "msgs of 193 x"
sg_assert_eq 1 "$(k "$(printf '%%25%.0s' {1..64})" 1)" "msgs of 64 % (escaped: 192 bytes)"
d8=$(keyname "$(printf '%%%.0s' {1..65})")
sg_assert_match '^sha256:' "$d8" "key of 65 %"
sg_assert_eq 1 "$(k "$d8" 1)" "msgs of 65 %"
sg_assert_eq 1 "$(k "sha256%3A${d4k#sha256:}" 1)" "msgs of the login typed as sha256:<digest>"
d10=$(keyname "$(printf 'A%.0s' {1..60000})")
sg_assert_eq 1 "$(k "$d10" 1)" "msgs of 60000 A"
n=$(sg_subguard_log_count 'login too long for a key: (4096|60000|193|65) bytes starting "[Aax%25]+" counted as sha256:[0-9a-f]{64}$')
sg_assert_eq 7 "$n" "'login too long' lines for the 7 over-long logins sent by milter.py"

# --- The key space and the log ---------------------------------------------------
badkeys=$(sg_redis --scan --pattern '*' | grep -vE '^subguard:(\{(([a-z0-9@._+=-]|%[0-9A-F]{2})+|sha256:[0-9a-f]{64})\}:(counters|quarantine|held|tier)|qid:[0-9A-Za-z]+|events|quarantined)$' || true)
sg_assert_eq '' "$badkeys" "keys not of the documented forms"
# As many counters keys as distinct logins: A (13 names, MiXeD among them),
# hostile_logins.lua (victim + 18), milter.py (10 logins, LL1 and LL4 the same).
sg_assert_eq $((13 + 19 + 9)) "$(sg_redis --scan --pattern 'subguard:{*}:counters' | wc -l)" "counters keys"
badlines=$(grep -avE '^(subguard: |=== )' "$SG_DIR/subguard.log" || true)
sg_assert_eq '' "$badlines" "log lines not written by subguard (forged by a login?)"
sg_assert_eq 0 "$(sg_subguard_log_count '^subguard: redis back at forged')" "forged 'redis back' line"
sg_assert_eq '' "$(fault_error_lines)" "error lines"
sg_subguard_running || sg_fail "subguard is not running at the end"
out=$(sg_submit --user victim@example.net --password pw --to end@remote.example) || sg_fail "submit failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "a message at the end"
fault_note "postfix_logins=${#NAMES[@]} milter_logins=$((19 + 1 + 10)) counters_keys=$((13 + 19 + 9)) long_login_lines=$((n + 1))"
echo "t_60_logins: ok"
