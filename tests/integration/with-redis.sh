#!/bin/sh
#
# NAME
#	with-redis.sh - run a command next to a private, throwaway redis-server
# SYNOPSIS
#	sh tests/integration/with-redis.sh command [args...]
# DESCRIPTION
#	Starts redis-server in a fresh scratch directory /tmp/sgr.XXXXXX,
#	listening on a unix socket only (port 0), with persistence off, and
#	waits until it answers PING. The command then runs with
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

# cleanup - stop redis (SIGTERM: no save points, so it just exits) and
# remove the scratch directory, waiting for redis so that it does not
# write into a directory that is being removed.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -s "$dir/redis.pid" ]; then
		pid=$(cat "$dir/redis.pid")
		kill "$pid" 2>/dev/null
		i=0
		# Redis removes its pid file on the way out; a zombie is
		# still "alive" to kill -0 when nobody reaps it.
		while [ -e "$dir/redis.pid" ] && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		[ -e "$dir/redis.pid" ] && kill -9 "$pid" 2>/dev/null
	fi
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

cat >"$dir/redis.conf" <<EOF
port 0
unixsocket $sock
unixsocketperm 777
save ""
appendonly no
daemonize yes
pidfile $dir/redis.pid
dir $dir
logfile $dir/redis.log
EOF

if ! redis-server "$dir/redis.conf"; then
	echo "with-redis.sh: redis-server did not start" >&2
	exit 1
fi
i=0
until [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "with-redis.sh: redis-server is not answering on $sock" >&2
		tail -n 20 "$dir/redis.log" >&2 2>/dev/null
		exit 1
	fi
	sleep 0.1
done

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
