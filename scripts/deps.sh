#!/bin/bash
# scripts/deps.sh - install every Debian 12 package that subguard's build and
# tests need. Non-interactive; Postfix gets "No configuration" (the tests run
# their own private instance). After an install, the system Postfix and Redis
# services the packages may have started are stopped and disabled (with or
# without systemd), so that they hold no port.
#
# Run as root, or as a user with sudo. On a machine that already has every
# package it does nothing (no apt-get update), except under CI=true: there it
# always runs "apt-get update" and "apt-get install" over the whole list (apt
# does nothing for what is there) and downloads the Sendmail packages again,
# so that a misspelt or vanished package name, or a broken install line,
# fails CI on a machine that already holds everything, not only on a fresh
# one.
#
# Sendmail 8.17 for the end-to-end tests (SG_MTA=sendmail) is not installed:
# it conflicts with postfix as a package. Its .debs are only downloaded
# (apt-get download, into /var/cache/subguard-e2e/sendmail) by
# tests/e2e/sendmail-prefix.sh, which the tests then unpack into a private
# prefix.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
    # build
    build-essential cmake pkg-config
    libmilter-dev libhiredis-dev libssl-dev libsasl2-dev
    libjson-c-dev libsystemd-dev
    libcmocka-dev
    # metrics: the HTTP listener (daemon/sg_metrics_serve.c), and promtool
    # (package prometheus) and curl for lint_prometheus and the scrapes in
    # the tests; the prometheus service it brings is stopped below
    libmicrohttpd-dev prometheus curl
    # the Debian package and its test (tests/pkg/t_deb.sh): dpkg-buildpackage,
    # dh with the cmake buildsystem and the sysusers sequence, lintian
    debhelper devscripts lintian dpkg-dev
    # the installed package's user (systemd-sysusers) and unit check
    # (systemd-analyze verify): a minimal Debian has no systemd
    systemd
    # t_93_feed_journal: a private journal written from Postfix's maillog
    # (no journald needed), and journalctl to read it back
    systemd-journal-remote
    # integration and end-to-end tests
    redis-server redis-tools redis-sentinel
    postfix sasl2-bin libsasl2-modules swaks
    python3 python3-aiosmtpd
    miltertest
    # the private Sendmail: qtool.pl (support recipe), ss (waiting for ports)
    perl iproute2
    # the sanitizer and fuzzing build (clang, libFuzzer's runtime) and
    # valgrind (tests/fault/sanitizers.sh)
    clang libclang-rt-14-dev valgrind
    # every shell file is checked (tests/lint/shellcheck.sh)
    shellcheck
    # the peers bench/run-peers.sh measures subguard against (it runs
    # private instances): Rspamd's milter and postfwd's policy service; their
    # packaged services are stopped and disabled below
    rspamd postfwd
)

# as_root CMD... - run CMD as root: directly when we are root, else via sudo
# (an array, never an unquoted empty variable in front of the command).
as_root=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null ||
        { echo "deps.sh: run as root (or install sudo)" >&2; exit 1; }
    as_root=(sudo)
fi

# sendmail_debs [--fetch] - make sure the Sendmail .debs are cached
# (--fetch: download them even when they are)
sendmail_debs() {
    "${as_root[@]}" bash tests/e2e/sendmail-prefix.sh "${1:---download}" ||
        { echo "deps.sh: could not fetch Sendmail's packages" >&2; exit 1; }
}

missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ $st == ii* ]] || missing+=("$p")
done
ci=0
[[ ${CI:-} == true ]] && ci=1
if ((${#missing[@]} == 0 && !ci)); then
    sendmail_debs
    echo "deps.sh: all ${#PACKAGES[@]} packages present"
    exit 0
fi
if ((${#missing[@]})); then
    echo "deps.sh: installing ${missing[*]}"
else
    echo "deps.sh: CI=true: apt-get install over all ${#PACKAGES[@]} packages"
fi

echo "postfix postfix/main_mailer_type select No configuration" |
    "${as_root[@]}" debconf-set-selections
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${PACKAGES[@]}"

# Every package must now be installed: apt can succeed and still leave one
# half-configured.
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ $st == ii* ]] || { echo "deps.sh: $p is not installed after apt-get ($st)" >&2; exit 1; }
done

# The packages' own services are not wanted: stop and disable them (only
# when this run installed them: under CI they may be the machine's own).
if ((${#missing[@]})); then
    for svc in postfix redis-server prometheus prometheus-node-exporter rspamd postfwd; do
        if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
            "${as_root[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
        else
            "${as_root[@]}" service "$svc" stop >/dev/null 2>&1 || true
            if command -v update-rc.d >/dev/null; then
                "${as_root[@]}" update-rc.d "$svc" disable >/dev/null 2>&1 || true
            fi
        fi
    done
fi
if ((ci)); then sendmail_debs --fetch; else sendmail_debs; fi
echo "deps.sh: done"
