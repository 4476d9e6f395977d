#!/bin/bash
# scripts/deps.sh - install every Debian 12 package that subguard's build and
# tests need. Idempotent: when dpkg already has all of them it does nothing
# (no apt-get update). Non-interactive; Postfix gets "No configuration" (the
# tests run their own private instance). After an install, the system Postfix
# and Redis services the packages may have started are stopped and disabled
# (with or without systemd), so that they hold no port.
#
# Sendmail 8.17 for the end-to-end tests (SG_MTA=sendmail) is not installed:
# it conflicts with postfix as a package. Its .debs are only downloaded
# (apt-get download, into /var/cache/subguard-e2e/sendmail) by
# tests/e2e/sendmail-prefix.sh, which the tests then unpack into a private
# prefix; that step too does nothing when the files are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
    # build
    build-essential cmake pkg-config
    libmilter-dev libhiredis-dev libinih-dev libssl-dev libsasl2-dev
    libjson-c-dev
    libcmocka-dev
    # integration and end-to-end tests
    redis-server redis-tools
    postfix sasl2-bin libsasl2-modules swaks
    python3 python3-aiosmtpd
    miltertest
    # the private Sendmail: qtool.pl (support recipe), ss (waiting for ports)
    perl iproute2
    # the sanitizer and fuzzing build (clang, libFuzzer's runtime) and
    # valgrind (tests/fault/sanitizers.sh)
    clang libclang-rt-14-dev valgrind
)

# sendmail_debs - make sure the Sendmail .debs are cached (quick when they are)
sendmail_debs() {
    local sudo=
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo bash tests/e2e/sendmail-prefix.sh --download ||
        { echo "deps.sh: could not fetch Sendmail's packages" >&2; exit 1; }
}

missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ $st == ii* ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    sendmail_debs
    echo "deps.sh: all ${#PACKAGES[@]} packages present"
    exit 0
fi
echo "deps.sh: installing ${missing[*]}"

SUDO=
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "deps.sh: run as root (or install sudo)" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" |
    $SUDO debconf-set-selections
$SUDO apt-get update -q
$SUDO -E apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${PACKAGES[@]}"

# The packages' own services are not wanted: stop and disable them.
for svc in postfix redis-server; do
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    else
        $SUDO service "$svc" stop >/dev/null 2>&1 || true
        if command -v update-rc.d >/dev/null; then
            $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
    fi
done
sendmail_debs
echo "deps.sh: done"
