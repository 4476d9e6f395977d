#!/bin/bash
# t_70_config: the command line, reloads, stopping, dry-run.
# mta: postfix sendmail
# Proves:
#  - subguard -t -c FILE exits non-zero and prints "FILE:LINE: ..." with the
#    right line for an unknown parameter, a bad window "100/5x" and a
#    duplicate tier; -t on a good file exits 0; -V prints the version;
#    -k 'Bob@Example.NET' prints the normalised login and its four key names;
#  - SIGHUP with a new recipient limit: "configuration reloaded" is logged,
#    the same process applies the new limit to the next message;
#  - SIGHUP with a broken file: "reload refused" (with FILE:LINE) is logged,
#    the daemon keeps running and the old limit still applies;
#  - SIGTERM: exit status 0 by itself, socket removed, "stopped" logged;
#  - mode = dry-run, recipients = 1/1h: a 3-recipient message gets 250 for
#    all 3 and is delivered to all 3, the log says action=tempfail ...
#    dry_run=yes.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
SG=$SG_BUILD/subguard
CFG=$SG_DIR/cfg
mkdir -p "$CFG"

# --- subguard -t / -V / -k --------------------------------------------------
# check_bad FILE LINE ERE - -t fails, and says FILE:LINE: matching ERE
check_bad() {
    local f=$1 line=$2 ere=$3 out rc=0
    out=$("$SG" -t -c "$CFG/$f" 2>&1) || rc=$?
    [[ $rc != 0 ]] || sg_fail "subguard -t -c $f exited 0; output: $out"
    sg_assert_match "(^|[ /])$f:$line: $ere" "$out" "subguard -t -c $f (status $rc)"
    sg_assert_eq 1 "$(grep -c . <<<"$out")" "lines of output of -t -c $f"
}

cat >"$CFG/unknown-param.conf" <<'EOF'
# a comment
[subguard]
mode = enforce

on_redis_error = accept
frobnicate = yes
[tier default]
messages = 10/1h
EOF
check_bad unknown-param.conf 6 'unknown parameter "frobnicate"'

cat >"$CFG/bad-window.conf" <<'EOF'
[subguard]
mode = enforce

[tier default]
messages = 10/1h
; recipients next
recipients = 100/5x
quarantine_rejected = 20/1h
EOF
check_bad bad-window.conf 7 '.*"100/5x"'

cat >"$CFG/dup-tier.conf" <<'EOF'
[tier default]
messages = 10/1h

[tier bulk]
messages = 100/1h

# the same name again
[tier default]
messages = 5/1h
EOF
check_bad dup-tier.conf 8 'duplicate tier "default"'

sg_subguard_conf '[tier default]
messages = 10/1h'
rc=0; out=$("$SG" -t -c "$SG_DIR/subguard.conf" 2>&1) || rc=$?
sg_assert_eq 0 "$rc" "subguard -t on a good file (output: $out)"
sg_assert_match 'configuration is valid' "$out" "subguard -t on a good file"
sg_assert_match 'tier default \(default\): messages 10/1h; ' "$out" \
    "subguard -t names each tier with its limits"

rc=0; out=$("$SG" -V 2>&1) || rc=$?
sg_assert_eq 0 "$rc" "subguard -V status"
sg_assert_match '^subguard [0-9]+\.[0-9]+\.[0-9]+$' "$out" "subguard -V"

rc=0; out=$("$SG" -c "$SG_DIR/subguard.conf" -k 'Bob@Example.NET' 2>&1) || rc=$?
sg_assert_eq 0 "$rc" "subguard -k status"
sg_assert_eq "login bob@example.net
tier       'subguard:{bob@example.net}:tier'
quarantine 'subguard:{bob@example.net}:quarantine'
held       'subguard:{bob@example.net}:held'
counters   'subguard:{bob@example.net}:counters'
resv       'subguard:{bob@example.net}:resv'" "$out" "subguard -k 'Bob@Example.NET'"

# --- SIGHUP -------------------------------------------------------------------
sg_user henry 'henry-pw'
tiers() {   # tiers LIMIT - the tier table with recipients = LIMIT/1h
    printf '[tier default]\nmessages = 50/1h\nrecipients = %s/1h\nquarantine_recipients = 1000/1d\nquarantine_rejected = 50/1h\n' "$1"
}
sg_subguard_conf "$(tiers 1)"
sg_subguard_start
pid=$SG_SUBGUARD_PID

# send RCPTS - one message from henry; sets out and codes (RCPT codes)
send() {
    out=$(sg_submit --user henry@example.net --password henry-pw --to "$1") ||
        sg_fail "submit to $1 failed: $out"
    codes=$(for r in ${1//,/ }; do sg_json "m[\"rcpt\"][\"$r\"][0]" <<<"$out"; done | paste -sd' ')
}
send h1@remote.example,h2@remote.example
sg_assert_eq '250 451' "$codes" "RCPT codes under recipients = 1/1h"

sg_subguard_conf "$(tiers 3)"
sg_subguard_hup
sg_wait_for -t 5 sg_subguard_log_has "configuration reloaded from $SG_DIR/subguard\.conf" ||
    sg_fail "no 'configuration reloaded' after SIGHUP"
send h3@remote.example,h4@remote.example
sg_assert_eq '250 250' "$codes" "RCPT codes after reloading recipients = 3/1h (1 used)"
sg_assert_eq "$pid" "$SG_SUBGUARD_PID" "subguard pid after SIGHUP"

# A broken file: refused, old configuration (3/1h) kept. The broken file
# would allow 10/1h, so a 250 below would mean it was (partly) applied.
sg_subguard_conf "$(tiers 10)
frobnicate = yes"
badline=$(grep -n '^frobnicate' "$SG_DIR/subguard.conf" | cut -d: -f1)
sg_subguard_hup
sg_wait_for -t 5 sg_subguard_log_has 'reload refused' || sg_fail "no 'reload refused' after SIGHUP with a broken file"
sg_assert_match "reload refused.*subguard\.conf:$badline: unknown parameter \"frobnicate\"" \
    "$(grep 'reload refused' "$SG_DIR/subguard.log")" "'reload refused' line"
sg_assert_eq 1 "$(sg_subguard_log_count 'configuration reloaded')" "reloads (the broken one is not)"
sg_subguard_running || sg_fail "subguard died on SIGHUP with a broken file"
send h5@remote.example
sg_assert_eq 451 "$codes" "RCPT after the refused reload (old limit 3/1h, 3 used)"
sg_assert_match 'limit of 3 recipients per hour' "$(sg_json 'm["rcpt"]["h5@remote.example"][1]' <<<"$out")" \
    "RCPT text after the refused reload"

# --- SIGTERM ------------------------------------------------------------------
forced=0; sg_subguard_stop || forced=1
sg_assert_eq 0 "$forced" "subguard had to be killed (it ignored SIGTERM)"
sg_assert_eq 0 "$SG_SUBGUARD_RC" "subguard's exit status on SIGTERM"
[[ ! -e $SG_SUBGUARD_SOCK ]] || sg_fail "socket $SG_SUBGUARD_SOCK still there after SIGTERM"
sg_subguard_log_has '^subguard: stopped$' || sg_fail "no 'stopped' line"

# --- dry-run ------------------------------------------------------------------
sg_user ivy 'ivy-pw'
SG_CONF_SUBGUARD='mode = dry-run'
sg_subguard_conf "$(tiers 1)"
sg_subguard_start
sg_subguard_log_has 'started on .*mode=dry-run' || sg_fail "subguard did not start in dry-run mode"
out=$(sg_submit --user ivy@example.net --password ivy-pw \
    --to d1@remote.example,d2@remote.example,d3@remote.example) || sg_fail "submit failed: $out"
for r in d1 d2 d3; do
    sg_assert_eq 250 "$(sg_json "m[\"rcpt\"][\"$r@remote.example\"][0]" <<<"$out")" "RCPT $r in dry-run"
done
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA in dry-run"
qid=$(sg_json 'm["queue_id"]' <<<"$out")
for r in d1 d2 d3; do
    sg_wait_eq 1 sg_delivered_count "$r@remote.example" || sg_fail "$r: $SG_LAST deliveries in dry-run"
done
sg_assert_eq 1 "$(sg_subguard_log_count "action=tempfail stage=rcpt login=ivy@example\.net .*qid=$qid .*limit=recipients:1/1h .*dry_run=yes\$")" \
    "action=tempfail ... dry_run=yes"
n=$(grep 'action=.*login=ivy@' "$SG_DIR/subguard.log" | grep -vc ' dry_run=yes$') || true
sg_assert_eq 0 "$n" "ivy's decision lines without dry_run=yes"
# Counted in Redis as usual.
sg_assert_counter 1 ivy@example.net msgs "ivy's counters msgs in dry-run"

sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
echo "t_70_config: ok"
