#!/bin/sh
#
# NAME
#	with-redis.sh - run a command next to a private, throwaway redis-server
# SYNOPSIS
#	sh tests/integration/with-redis.sh command [args...]
# DESCRIPTION
#	Starts redis-server in a fresh scratch directory /tmp/sgr.XXXXXX
#	the one way every script does (tests/lib/redis.sh): a unix socket
#	only (port 0), persistence off, answering PING. The command then
#	runs with
#
#	    SG_REDIS=unix:DIR/redis.sock	(the [redis] address syntax)
#	    SG_REDIS_DIR=DIR			(scratch space; removed afterwards)
#
#	Redis is stopped and DIR removed however the command ends, and the
#	script exits with the command's status. Tests that need to stop,
#	restart or reconfigure Redis start their own server instead of
#	touching this one, so one test cannot spoil the next.
# DIAGNOSTICS
#	Exit status 1 with a message when redis-server does not come up; the
#	tail of its log is shown when the command fails.

set -u

dir=$(mktemp -d /tmp/sgr.XXXXXX) || exit 1
sock=$dir/redis.sock
# shellcheck source=../lib/redis.sh
. "$(dirname "$0")/../lib/redis.sh"

# cleanup - stop redis and wait until it is gone (sg_redis_server_stop),
# so that it does not write into a directory that is being removed; then
# remove the scratch directory.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	sg_redis_server_stop "$dir"
	rm -rf "$dir"
}
child=
# stop - forward a signal to the command, then exit (cleanup runs on EXIT)
# shellcheck disable=SC2317 # called by the signal traps
stop() {
	[ -n "$child" ] && kill -"$1" "$child" 2>/dev/null
	exit "$2"
}
trap cleanup EXIT
trap 'stop HUP 129' HUP
trap 'stop INT 130' INT
trap 'stop TERM 143' TERM

# tests/lib/redis.sh: port 0, the unix socket $dir/redis.sock, no disk.
sg_redis_server_start "$dir" || exit 1

SG_REDIS=unix:$sock
SG_REDIS_DIR=$dir
export SG_REDIS SG_REDIS_DIR

# In the background so that a signal interrupts "wait" at once. sh points
# a background command's stdin at /dev/null (dash even with <&0), so pass
# the real one through descriptor 3.
exec 3<&0
"$@" <&3 3<&- &
child=$!
wait "$child"
status=$?
child=
if [ $status -ne 0 ] && [ -s "$dir/redis.log" ]; then
	echo "with-redis.sh: $1 exited with $status; redis.log ends:" >&2
	tail -n 20 "$dir/redis.log" >&2
fi
exit $status
