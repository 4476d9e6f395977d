#!/bin/bash
# tests/e2e/sendmail-prefix.sh - a private Sendmail 8.17 from Debian's
# packages, for the end-to-end tests (SG_MTA=sendmail).
#
#   sendmail-prefix.sh             download if needed, unpack if needed,
#                                  print the prefix directory on stdout
#   sendmail-prefix.sh --download  only make sure the .debs are cached
#   sendmail-prefix.sh --fetch     download the .debs even when cached (CI:
#                                  a package that can no longer be had fails
#                                  every run, not only on a fresh machine)
#
# Debian's sendmail-bin conflicts with postfix as an installed package (both
# are the system MTA), but runs fine unpacked into a directory of its own:
# the .debs are fetched with "apt-get download" (Debian's package registry,
# nothing else) into $SG_SENDMAIL_CACHE/debs and unpacked with "dpkg -x"
# into $SG_SENDMAIL_CACHE/prefix-<version>; nothing is installed and no
# system file is touched. Both steps are skipped when already done, so a
# second call costs a few milliseconds. scripts/deps.sh calls it with
# --download so that CI on a clean machine has the packages.
#
# The prefix, once made:
#   usr/libexec/sendmail/sendmail   the binary, made NOT setgid (the loader
#                                   ignores LD_LIBRARY_PATH and LD_PRELOAD
#                                   for setgid programs)
#   usr/lib/x86_64-linux-gnu        libwrap.so.0, liblockfile.so.1 (point
#                                   LD_LIBRARY_PATH here)
#   usr/bin/m4, usr/share/sendmail/cf/m4/cf.m4   to build a .cf from a .mc
#
# Environment: SG_SENDMAIL_CACHE (default /var/cache/subguard-e2e/sendmail).
# Needs root (apt-get download as root; the tests run as root anyway).
# Exit status 0 on success, 1 with a message on stderr otherwise.
set -euo pipefail

PKGS=(sendmail-bin sendmail-base sendmail-cf libwrap0 liblockfile1 m4)
CACHE=${SG_SENDMAIL_CACHE:-/var/cache/subguard-e2e/sendmail}
DEBS=$CACHE/debs

die() { echo "sendmail-prefix.sh: $*" >&2; exit 1; }

mkdir -p "$DEBS" || die "cannot create $DEBS"
exec 9>"$CACHE/.lock"
flock 9

# have_debs - true when a .deb of every package is in the cache
have_debs() {
    local p
    for p in "${PKGS[@]}"; do
        compgen -G "$DEBS/${p}_*.deb" >/dev/null || return 1
    done
}

if [[ ${1:-} == --fetch ]] || ! have_debs; then
    echo "sendmail-prefix.sh: downloading ${PKGS[*]} into $DEBS" >&2
    # apt-get drops to user _apt for downloads when it can; a root-owned
    # cache directory only draws a warning, so download as root quietly.
    dl() { (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "${PKGS[@]}") >&2; }
    if ! dl; then
        # No package lists yet (a fresh machine): fetch them once, retry.
        apt-get update -q >&2 || die "apt-get update failed"
        dl || die "apt-get download ${PKGS[*]} failed"
    fi
    have_debs || die "apt-get download left packages missing in $DEBS"
fi
[[ ${1:-} == --download || ${1:-} == --fetch ]] && exit 0

# One prefix per set of .debs: a new Debian point release gets a new prefix.
chosen=()
for p in "${PKGS[@]}"; do
    chosen+=("$(compgen -G "$DEBS/${p}_*.deb" | sort -V | tail -n 1)")
done
smver=$(dpkg-deb -f "${chosen[0]}" Version)
sum=$(printf '%s\n' "${chosen[@]##*/}" | md5sum | cut -c1-8)
PREFIX=$CACHE/prefix-${smver//[^0-9A-Za-z.+-]/_}-$sum
if [[ ! -f $PREFIX/.complete ]]; then
    rm -rf "$PREFIX" "$PREFIX.tmp"
    mkdir -p "$PREFIX.tmp"
    for deb in "${chosen[@]}"; do
        dpkg -x "$deb" "$PREFIX.tmp" || die "dpkg -x $deb failed"
    done
    sm=$PREFIX.tmp/usr/libexec/sendmail/sendmail
    [[ -x $sm ]] || die "no $sm in the unpacked packages"
    chmod g-s,u-s "$sm"
    echo "$smver" >"$PREFIX.tmp/.complete"
    mv "$PREFIX.tmp" "$PREFIX"
fi
echo "$PREFIX"
