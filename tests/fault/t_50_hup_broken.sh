#!/bin/bash
# t_50_hup_broken: SIGHUP with broken configuration files under load, and
# good reloads between them.
# Load: 10 sessions, 8 logins, 22 s. Every broken file would set
# "messages = 1/1h": were any part of one applied, the clients would see
# 451s at the first RCPT, where subguard decides a message.
# Broken files: an unknown parameter, a bad window ("100/5x"), a duplicate
# tier, a bad Redis address, a line of binary bytes, no file at all, a
# directory instead of a file. Between them, a good file (the same limits)
# is reloaded.
# Proves:
#  - each broken file gives one "reload refused" line; each good one one
#    "configuration reloaded"; same pid throughout;
#  - no client saw anything but 250 (no 4xx, no 5xx, no dropped session);
#    nothing lost;
#  - after the last refused reload the previous (good) configuration is in
#    force: a message from a fresh login is accepted (the broken
#    file's 1/1h would let one through, then refuse the second: two are
#    sent).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_users 8
fault_conf
sg_subguard_start
pid=$SG_SUBGUARD_PID
CONF=$SG_DIR/subguard.conf

BROKEN_TIERS='[tier default]
messages = 1/1h
recipients = 1/1h'

# broken KIND - write a broken subguard.conf of KIND
broken() {
    case $1 in
    unknown) sg_subguard_conf "$BROKEN_TIERS
frobnicate = yes" ;;
    window) sg_subguard_conf "[tier default]
messages = 1/1h
recipients = 100/5x" ;;
    duptier) sg_subguard_conf "$BROKEN_TIERS

[tier default]
messages = 1/1h" ;;
    address) sg_subguard_conf "$BROKEN_TIERS"
        sed -i 's|^address = unix:.*|address = nowhere|' "$CONF" ;;
    binary) sg_subguard_conf "$BROKEN_TIERS"
        printf 'messages\001 = \377\376 1/1h\n' >>"$CONF" ;;
    missing) sg_subguard_conf "$BROKEN_TIERS"; mv "$CONF" "$CONF.away" ;;
    directory) sg_subguard_conf "$BROKEN_TIERS"; mv "$CONF" "$CONF.away"; mkdir "$CONF" ;;
    esac
}

# What each refusal must say.
declare -A WANT=(
    [unknown]='subguard\.conf:[0-9]+: unknown parameter "frobnicate"'
    [window]='subguard\.conf:[0-9]+: bad duration "5x" in "100/5x"'
    [duptier]='subguard\.conf:[0-9]+: duplicate tier "default"'
    [address]='subguard\.conf:[0-9]+: address must be unix:/path or host:port'
    [binary]='subguard\.conf:[0-9]+: unknown parameter "messages\\x01"'
    [missing]='subguard\.conf: cannot open: No such file'
    [directory]='subguard\.conf: .*Is a directory'
)

# mend - put a good file back (undoing missing/directory)
mend() {
    [[ -d $CONF ]] && rmdir "$CONF"
    rm -f "$CONF.away"
    fault_conf
}

# hup_expect ERE N - SIGHUP, then wait until ERE has N lines in the log
hup_expect() {
    sg_subguard_hup
    sg_wait_for -t 5 fault__at_least "$2" sg_subguard_log_count "$1" ||
        sg_fail "after SIGHUP: $(sg_subguard_log_count "$1") lines matching '$1', want $2"
}

fault_load_start h --sessions 10 --count 3000 --duration 22 --per-session 5 --pace 0.1
fault_wait_attempts h 40

nbad=0 ngood=0
for kind in unknown window duptier address binary missing directory; do
    broken "$kind"
    nbad=$((nbad + 1))
    hup_expect 'reload refused' "$nbad"
    line=$(grep 'reload refused' "$SG_DIR/subguard.log" | tail -n 1)
    sg_log "broken ($kind): $line"
    sg_assert_match "${WANT[$kind]}" "$line" "'reload refused' line for the $kind file"
    sleep 0.8
    mend
    ngood=$((ngood + 1))
    hup_expect 'configuration reloaded' "$ngood"
    sleep 0.8
done
# End on a broken file: the good one before it must stay in force.
broken unknown
nbad=$((nbad + 1))
hup_expect 'reload refused' "$nbad"
sleep 2

fault_load_wait h
fault_reconcile h

sg_assert_eq 0 "$(fault_field h attempts_tempfailed)" "attempts tempfailed (no session may be hurt)"
sg_assert_eq "$nbad" "$(sg_subguard_log_count 'reload refused')" "'reload refused' lines"
sg_assert_eq "$ngood" "$(sg_subguard_log_count 'configuration reloaded')" "'configuration reloaded' lines"
sg_assert_eq "$pid" "$SG_SUBGUARD_PID" "subguard's pid"
sg_subguard_running || sg_fail "subguard died"
sg_assert_eq '' "$(fault_error_lines)" "per-message error lines"

# The old configuration is in force: two messages from a fresh login pass.
sg_user probe 'probe-pw'
out=$(sg_submit --user probe@example.net --password probe-pw --to p1@remote.example --count 2) ||
    sg_fail "submit failed: $out"
sg_assert_eq '250 250' "$(sg_json 'm["first"][0]' <<<"$out" | paste -sd' ')" "first RCPT codes after the refused reload"
sg_wait_eq 2 sg_delivered_count p1@remote.example || sg_fail "p1: $SG_LAST deliveries, want 2"
fault_note "hups=$((nbad + ngood)) refused=$nbad reloaded=$ngood"
echo "t_50_hup_broken: ok"
