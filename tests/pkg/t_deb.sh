#!/bin/bash
# t_deb: the Debian package, built, checked, installed, run and purged.
# Needs root (installs and purges the package on this machine). Starts no
# MTA and leaves the system Postfix alone (it only gains, then loses, the
# directory /var/spool/postfix/subguard).
# Proves:
#  - dpkg-buildpackage -us -uc -b builds subguard_*.deb from a copy of the
#    tree; lintian reports no E: tag (W: and I: are printed);
#  - the .deb holds the programs, man pages, the units, the sysusers.d and
#    tmpfiles.d files, README.md uncompressed where the man pages say, and
#    /etc/subguard/subguard.conf as a conffile;
#  - apt-get install ./subguard_*.deb: the user subguard exists (no login
#    shell), /var/spool/postfix/subguard is subguard:postfix 0750, and
#    "subguard -t -c /etc/subguard/subguard.conf" passes at once;
#  - systemd-analyze verify accepts the installed units;
#  - the daemon started as the unit starts it (ExecStartPre, then ExecStart,
#    read from the installed unit, with $NOTIFY_SOCKET as systemd sets it):
#    says READY=1 only once the socket is there, subguard:postfix 0660, and
#    it runs as subguard; user postfix can connect, user nobody cannot;
#    ExecReload (SIGHUP) gives RELOADING=1 then READY=1; SIGTERM gives
#    STOPPING=1, exit 0 and the socket removed; the feed's unit reads the
#    journal (-J) as user subguard with group systemd-journal;
#  - the installed daemon, started as the unit starts it, serves a real
#    Postfix, is reloaded while it does, and enforces the shipped default
#    tier (tests/pkg/postfix_serve.sh);
#  - apt-get purge: every file of the package is gone, /etc/subguard and the
#    socket directory too, the unit's enablement links, and no file on the
#    system belongs to the user subguard.
set -euo pipefail

SG_SRC=${SG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PKG=subguard
CONF=/etc/subguard/subguard.conf
SOCKDIR=/var/spool/postfix/subguard
UNIT=/lib/systemd/system/subguard.service

fail() {
    printf '\nFAIL (t_deb): %s\n' "$*" >&2
    [[ -s ${work:-/nonexistent}/notify.log ]] &&
        { echo "--- sd_notify messages"; cat "$work/notify.log"; } >&2
    [[ -s ${work:-/nonexistent}/daemon.err ]] &&
        { echo "--- daemon stderr"; tail -20 "$work/daemon.err"; } >&2
    exit 1
}
assert_eq() { [[ $1 == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"; }
# wait_for SECONDS CMD... - run CMD every 0.1 s until it succeeds
wait_for() {
    local n=$(($1 * 10))
    shift
    while ((n-- > 0)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

[[ $(id -u) == 0 ]] || fail "needs root (installs and purges the package)"
for t in dpkg-buildpackage dh lintian apt-get python3 systemd-sysusers; do
    command -v "$t" >/dev/null || fail "$t missing: run scripts/deps.sh"
done
getent group postfix >/dev/null ||
    fail "no group postfix: the shipped configuration needs Postfix (scripts/deps.sh)"

work=$(mktemp -d /tmp/sg.deb.XXXXXX)
daemon_pid=
listener_pid=
user_made=0
cleanup() {
    [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null
    [[ -n $listener_pid ]] && kill "$listener_pid" 2>/dev/null
    if dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^[ir]'; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$PKG" >/dev/null 2>&1 || true
    fi
    # The package keeps its system user on purge (Debian's practice); this
    # test made it, so it takes it away again.
    ((user_made)) && userdel subguard 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# A clean start: no package, and no user left by an interrupted run (the
# "user exists" check below would prove nothing).
if dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^[ir]'; then
    echo "t_deb: purging an installed $PKG first"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$PKG" >/dev/null
fi
# Only a user the package made (its GECOS) is taken away; anyone else's
# subguard account stops the test instead.
if getent passwd subguard >/dev/null; then
    gecos=$(getent passwd subguard | cut -d: -f5)
    [[ $gecos == "subguard submission milter" ]] ||
        fail "a user subguard not made by the package exists (GECOS '$gecos'): remove it first"
    echo "t_deb: removing the user subguard left by an earlier run"
    userdel subguard
fi
getent group subguard >/dev/null && { groupdel subguard || true; }
user_made=1

# --- build ---------------------------------------------------------------
# A copy of the tree without build directories or git metadata: what a
# source package would hold.
mkdir "$work/src"
tar -C "$SG_SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
    --exclude=./debian/subguard --exclude=./debian/.debhelper \
    --exclude=./debian/tmp --exclude='./debian/*.substvars' \
    --exclude=./debian/files --exclude=./debian/debhelper-build-stamp \
    -cf - . | tar -C "$work/src" -xf -
echo "t_deb: dpkg-buildpackage -us -uc -b ($SECONDS s)"
# nocheck: the unit tests run as their own ctest tests.
if ! (cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
    dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
    tail -40 "$work/build.log" >&2
    fail "dpkg-buildpackage failed (log above)"
fi
shopt -s nullglob
debs=("$work/${PKG}"_*.deb)
changes=("$work/${PKG}"_*.changes)
shopt -u nullglob
assert_eq 1 "${#debs[@]}" "number of ${PKG}_*.deb built"
deb=${debs[0]}

# --- lintian -------------------------------------------------------------
echo "t_deb: lintian ($SECONDS s)"
# Non-zero: an E: tag, or lintian could not check the package at all.
rc=0
lintian --fail-on error -I "${changes[0]}" >"$work/lintian.log" 2>&1 || rc=$?
cat "$work/lintian.log"
((rc == 0)) || fail "lintian: status $rc (errors above)"

# --- the contents --------------------------------------------------------
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/subguard ./usr/sbin/subguard-feed ./usr/bin/subguard-replay \
    ./usr/sbin/subguardctl ./usr/share/man/man8/subguardctl.8.gz \
    ./usr/share/man/man8/subguard.8.gz ./usr/share/man/man8/subguard-feed.8.gz \
    ./usr/share/man/man5/subguard.conf.5.gz ./usr/share/man/man1/subguard-replay.1.gz \
    ./lib/systemd/system/subguard.service ./lib/systemd/system/subguard-feed.service \
    ./usr/lib/sysusers.d/subguard.conf ./usr/lib/tmpfiles.d/subguard.conf \
    ./usr/share/doc/subguard/README.md ./usr/share/doc/subguard/NEWS.gz \
    ./usr/share/doc/subguard/copyright ./etc/subguard/subguard.conf \
    ./usr/share/subguard/subguard-notify ./etc/subguard/notify.conf \
    ./etc/subguard/notify/customer.txt ./etc/subguard/notify/abuse.txt; do
    grep -qxF "$f" <<<"$contents" || fail "$f is not in $(basename "$deb")"
done
assert_eq "/etc/subguard/notify.conf /etc/subguard/notify/abuse.txt /etc/subguard/notify/customer.txt /etc/subguard/subguard.conf" \
    "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | sort | paste -sd' ')" "conffiles"

# --- install -------------------------------------------------------------
echo "t_deb: apt-get install ./$(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "$deb" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "apt-get install failed"; }
dpkg-query -L "$PKG" >"$work/files"

out=$(subguard -t -c "$CONF" 2>&1) || fail "subguard -t -c $CONF after install: $out"
echo "t_deb: $out"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd subguard) ||
    fail "no user subguard after install"
((uid < 1000)) || fail "user subguard has uid $uid, not a system uid"
assert_eq /usr/sbin/nologin "$shell" "login shell of subguard"
[[ ! -e $home ]] || fail "home $home of subguard exists"
assert_eq "subguard postfix 750" "$(stat -c '%U %G %a' "$SOCKDIR")" "$SOCKDIR"
[[ -r /usr/share/doc/subguard/README.md ]] || fail "README.md not installed"

man=--man=no
command -v man >/dev/null && man=--man=yes
systemd-analyze verify "$man" "$UNIT" /lib/systemd/system/subguard-feed.service \
    >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log" >&2; fail "systemd-analyze verify of the units"; }

# --- the daemon as the unit starts it ------------------------------------
# ExecStartPre and ExecStart exactly as the installed unit says, run the way
# systemd runs them (as root, UMask 0077, $NOTIFY_SOCKET set). The listener
# stands in for systemd and logs each datagram, one line per field.
unit_cmd() { sed -n "s/^$1=//p" "$UNIT"; }
pre=$(unit_cmd ExecStartPre)
start=$(unit_cmd ExecStart)
reload=$(unit_cmd ExecReload)
[[ -n $pre && -n $start && -n $reload ]] || fail "the unit lacks an Exec line"
assert_eq notify "$(unit_cmd Type)" "the unit's Type"
chmod 0755 "$work"
python3 -u - "$work/notify" >"$work/notify.log" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)  # the daemon sends after dropping to its user
while True:
    msg, _ = s.recvfrom(4096)
    for field in msg.decode(errors="replace").split("\n"):
        print(field)
EOF
listener_pid=$!
wait_for 5 test -S "$work/notify" || fail "notify listener did not start"

# notified FIELD [N] - the listener logged FIELD at least N times (default 1)
notified() { (($(grep -cx "$1" "$work/notify.log") >= ${2:-1})); }

out=$(cd / && umask 0077 && eval "$pre" 2>&1) || fail "ExecStartPre ($pre): $out"
# The unit runs ExecStart directly, not through a shell: split it the same way.
read -ra argv <<<"$start"
(cd / && umask 0077 && NOTIFY_SOCKET=$work/notify exec "${argv[@]}") \
    >/dev/null 2>"$work/daemon.err" &
daemon_pid=$!
wait_for 10 notified READY=1 || fail "no READY=1 from $start"
sock=$(sed -n 's/^listen = unix://p' "$CONF")
assert_eq "$SOCKDIR/subguard.sock" "$sock" "the shipped configuration's socket"
[[ -S $sock ]] || fail "READY=1 came before the socket $sock"
assert_eq "subguard postfix 660" "$(stat -c '%U %G %a' "$sock")" "the socket"
assert_eq subguard "$(ps -o user= -p "$daemon_pid")" "user of the running daemon"

# connect_as USER - USER can open a connection to the milter socket
connect_as() {
    runuser -u "$1" -- python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock"
}
connect_as postfix || fail "user postfix cannot connect to $sock"
connect_as nobody 2>/dev/null && fail "user nobody can connect to $sock"

MAINPID=$daemon_pid
export MAINPID
(eval "${reload//\$MAINPID/$MAINPID}") || fail "ExecReload ($reload) failed"
wait_for 10 notified READY=1 2 || fail "no READY=1 after the reload"
notified RELOADING=1 || fail "no RELOADING=1 before it"
order=$(grep -xE 'READY=1|RELOADING=1|STOPPING=1' "$work/notify.log" | tr '\n' ' ')
assert_eq "READY=1 RELOADING=1 READY=1 " "$order" "sd_notify states so far"

kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
assert_eq 0 "$rc" "exit status after SIGTERM"
notified STOPPING=1 || fail "no STOPPING=1"
[[ ! -e $sock ]] || fail "socket $sock left after stop"
# The feed's unit: the journal read with a cursor (-J), user subguard with
# the journal's group.
FEED_UNIT=/lib/systemd/system/subguard-feed.service
feed_start=$(sed -n 's/^ExecStart=//p' "$FEED_UNIT")
[[ $feed_start == *" -J "* || $feed_start == *" -J" ]] ||
    fail "the feed's unit does not read the journal (-J): $feed_start"
assert_eq systemd-journal "$(sed -n 's/^SupplementaryGroups=//p' "$FEED_UNIT")" \
    "the feed unit's SupplementaryGroups"
# The feed reads its position from Redis before it starts: it is run as
# its unit runs it by postfix_serve.sh below, where there is a Redis.
kill "$listener_pid" 2>/dev/null
listener_pid=

# --- the installed daemon serves a real Postfix -----------------------------
# tests/pkg/postfix_serve.sh: the e2e world's Postfix with the package's
# socket as its milter, the daemon started from the installed unit's lines.
echo "t_deb: the installed daemon serving a real Postfix ($SECONDS s)"
env SG_SRC="$SG_SRC" bash "$SG_SRC/tests/pkg/postfix_serve.sh" >"$work/serve.log" 2>&1 ||
    { tail -n 60 "$work/serve.log" >&2; fail "the installed daemon did not serve Postfix (tests/pkg/postfix_serve.sh)"; }

# --- purge ---------------------------------------------------------------
echo "t_deb: apt-get purge $PKG ($SECONDS s)"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$PKG" >"$work/purge.log" 2>&1 ||
    { cat "$work/purge.log" >&2; fail "apt-get purge failed"; }
dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null | grep -q '^[ir]' &&
    fail "$PKG still known to dpkg after purge"
while read -r f; do
    if [[ -d $f ]]; then
        # Only the package's own directories must go (/usr/sbin stays).
        [[ $f == */subguard || $f == */subguard/* ]] && fail "$f left after purge"
    elif [[ -e $f || -L $f ]]; then
        fail "$f left after purge"
    fi
done <"$work/files"
for f in /etc/subguard "$SOCKDIR" /run/subguard \
    /etc/systemd/system/multi-user.target.wants/subguard.service \
    /var/lib/systemd/deb-systemd-helper-enabled/subguard.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/subguard.service; do
    [[ -e $f || -L $f ]] && fail "$f left after purge"
done
left=$(find /etc /var /run /tmp /srv /opt /home -xdev \
    \( -user subguard -o -group subguard \) -print 2>/dev/null | head -5)
[[ -z $left ]] || fail "files of the user subguard left after purge: $left"
echo "t_deb: ok ($SECONDS s)"
