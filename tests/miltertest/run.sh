#!/bin/bash
#
# NAME
#	run.sh - drive subguard with one miltertest script, no MTA involved
# SYNOPSIS
#	bash tests/miltertest/run.sh SCRIPT.lua
# DESCRIPTION
#	Starts a private Redis (with-redis.sh) and subguard on a unix socket
#	with tests/miltertest/subguard.conf, then runs miltertest(8) on the
#	script. The script finds the milter socket in SG_MILTER and can run
#	redis-cli on SG_REDIS_SOCK. Needs SG_BUILD and SG_SRC (set by CTest).
set -u
script=$1
: "${SG_BUILD:?set SG_BUILD}" "${SG_SRC:?set SG_SRC}"

if [ -z "${SG_REDIS:-}" ]; then
	exec sh "$SG_SRC/tests/integration/with-redis.sh" bash "$0" "$@"
fi
dir=$SG_REDIS_DIR
export SG_MILTER=unix:$dir/milter.sock SG_REDIS_SOCK=${SG_REDIS#unix:}
sed -e "s|@DIR@|$dir|g" -e "s|@REDIS@|$SG_REDIS|g" \
	"$SG_SRC/tests/miltertest/subguard.conf" >"$dir/subguard.conf"
"$SG_BUILD/subguard" -f -c "$dir/subguard.conf" 2>"$dir/subguard.log" &
pid=$!
pid2=
# A script that says "-- nodes: 2" gets a second subguard on the same
# Redis, its socket in SG_MILTER2: two MTA nodes sharing one Redis.
if grep -q '^-- nodes: 2' "$script"; then
	sed -e "s|milter.sock|milter2.sock|" "$dir/subguard.conf" >"$dir/subguard2.conf"
	"$SG_BUILD/subguard" -f -c "$dir/subguard2.conf" 2>"$dir/subguard2.log" &
	pid2=$!
	export SG_MILTER2=unix:$dir/milter2.sock
fi
for _ in $(seq 100); do
	[ -S "$dir/milter.sock" ] && { [ -z "$pid2" ] || [ -S "$dir/milter2.sock" ]; } && break
	sleep 0.05
done
miltertest -s "$script"
rc=$?
kill "$pid"
wait "$pid"
stop=$?
if [ -n "$pid2" ]; then
	kill "$pid2"
	wait "$pid2" || stop=$?
fi
if [ $rc -ne 0 ] || [ $stop -ne 0 ]; then
	echo "miltertest exit $rc, subguard exit $stop; subguard log:"
	cat "$dir/subguard.log"
	[ -z "$pid2" ] || cat "$dir/subguard2.log"
	[ $rc -ne 0 ] || rc=$stop
fi
exit $rc
