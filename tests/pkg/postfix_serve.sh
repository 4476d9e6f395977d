#!/bin/bash
# postfix_serve: the installed package's daemon, started as its unit starts
# it, serves a real Postfix. Run by t_deb.sh between install and purge (it
# needs the package installed; on its own it fails saying so).
# The e2e world (tests/e2e/harness.sh): a private Redis, the sink and a real
# Postfix whose submission listener's milter is the package's socket,
# unix:/var/spool/postfix/subguard/subguard.sock (absolute: the world's
# Postfix runs unchrooted with its own queue directory, so contrib's
# relative "subguard/subguard.sock" would name another place). The shipped
# /etc/subguard/subguard.conf gets the one change an admin makes, its
# [redis] address (the world's Redis socket); then ExecStartPre and
# ExecStart exactly as the installed unit says, as root with UMask 0077.
# Proves:
#  - the daemon runs as user subguard and Postfix's submissions pass
#    through it: two messages accepted and delivered, counted in Redis
#    (msgs = 2) under the shipped default tier, accept lines logged;
#  - ExecReload (SIGHUP) while Postfix serves: a third message is counted
#    after it (msgs = 3);
#  - the shipped default tier's 50 messages an hour: 47 more pass, the
#    next message gets 451 4.7.1 at its first RCPT;
#  - the feed, run as its unit runs it (-J, user subguard, group
#    systemd-journal), reads the system journal to its end (-o) with the
#    world's Redis and exits 0.
set -euo pipefail
. "$(dirname "$0")/../e2e/harness.sh"
CONF=/etc/subguard/subguard.conf
UNIT=/lib/systemd/system/subguard.service
PKG_SOCK=/var/spool/postfix/subguard/subguard.sock
[[ -x /usr/sbin/subguard && -f $UNIT && -f $CONF ]] ||
    { echo "postfix_serve: the subguard package is not installed (run t_deb.sh)" >&2; exit 1; }
SG_MTA=postfix
SG_MILTERS=unix:$PKG_SOCK
export SG_MILTERS

sg_world_up
sg_user pat pat-pw
grep -qx 'address = 127.0.0.1:6379' "$CONF" || sg_fail "the shipped $CONF has no [redis] address line to change"
sed -i "s|^address = 127.0.0.1:6379\$|address = unix:$SG_REDIS_SOCK|" "$CONF"

unit_cmd() { sed -n "s/^$1=//p" "$UNIT"; }
pre=$(unit_cmd ExecStartPre)
read -ra argv <<<"$(unit_cmd ExecStart)"
out=$(cd / && umask 0077 && eval "$pre" 2>&1) || sg_fail "ExecStartPre ($pre): $out"
(cd / && umask 0077 && exec "${argv[@]}") >/dev/null 2>"$SG_DIR/pkg-daemon.err" &
PID=$!
sg_wait_for -t 10 test -S "$PKG_SOCK" || sg_fail "no socket $PKG_SOCK: $(tail -5 "$SG_DIR/pkg-daemon.err")"
sg_assert_eq subguard "$(ps -o user= -p "$PID")" "user of the installed daemon"

# daemon_log ERE - lines of the daemon's standard error (-f) matching ERE
daemon_log() { grep -cE -- "$1" "$SG_DIR/pkg-daemon.err" || true; }

P=pat@example.net
for i in 1 2; do
    out=$(sg_submit --user "$P" --password pat-pw --to "p$i@remote.example") ||
        sg_fail "submit $i failed: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA of message $i"
done
sg_assert_counter 2 "$P" msgs "msgs after two messages through the package's daemon"
sg_wait_eq -t 5 2 daemon_log "action=accept stage=eom login=pat@example\.net " ||
    sg_fail "accept lines of the installed daemon: $SG_LAST, want 2"
for i in 1 2; do
    sg_wait_eq 1 sg_delivered_count "p$i@remote.example" || sg_fail "p$i: $SG_LAST deliveries"
done

# The unit's reload while Postfix serves.
reload=$(unit_cmd ExecReload)
MAINPID=$PID
(eval "${reload//\$MAINPID/$MAINPID}") || sg_fail "ExecReload ($reload) failed"
out=$(sg_submit --user "$P" --password pat-pw --to p3@remote.example) || sg_fail "submit 3 failed: $out"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA after the reload"
sg_assert_counter 3 "$P" msgs "msgs after the reload"
kill -0 "$PID" || sg_fail "the daemon died at the reload"

# The shipped default tier's 50 messages an hour: 47 more, then one over.
out=$(sg_submit --user "$P" --password pat-pw --to p4@remote.example --count 48) ||
    sg_fail "submit of 48 failed: $out"
sg_assert_eq "$(printf '250 %.0s' {1..47})451" "$(sg_json 'm["first"][0]' <<<"$out" | paste -sd' ')" \
    "first RCPT codes of 48 more messages (the shipped 50/1h)"
sg_assert_match '^4\.7\.1 .*limit of 50 messages per hour' \
    "$(sg_json 'm["first"][1]' <<<"$out" | tail -n 1)" "RCPT text over the limit"

# The feed as its unit runs it (ExecStart of the installed unit: -J, the
# system journal read with a cursor; User=subguard, SupplementaryGroups=
# systemd-journal), once to the end (-o), on the world's Redis.
read -ra fargv <<<"$(sed -n 's/^ExecStart=//p' /lib/systemd/system/subguard-feed.service)"
out=$(cd / && timeout 30 runuser -u subguard -g subguard -G systemd-journal -- \
    "${fargv[@]}" -o 2>&1) || sg_fail "the feed as its unit runs it (${fargv[*]} -o): $out"
sg_assert_match 'subguard-feed .* started: log=journal feed=journal ' "$out" "the feed's start line"
sg_assert_match 'stopped: lines=[0-9]+ ' "$out" "the feed's summary"

kill -TERM "$PID"
wait "$PID" || sg_fail "the installed daemon exited with $? after SIGTERM"
[[ ! -e $PKG_SOCK ]] || sg_fail "socket $PKG_SOCK left after stop"
echo "postfix_serve: ok"
