#!/bin/bash
#
# NAME
#	t_metrics.sh - subguard's /metrics against a real Redis, under miltertest
# SYNOPSIS
#	bash tests/integration/t_metrics.sh
# DESCRIPTION
#	A private Redis (with-redis.sh), subguard with [metrics] listen on a
#	free loopback port and stats_interval = 1s, driven by miltertest:
#	  - metrics.lua: each kind of decision moves its counter by exactly
#	    one, a clean message costs exactly two Redis round trips;
#	  - only GET /metrics answers (404 elsewhere, 405 for POST);
#	  - a second subguard on the same metrics port fails at start,
#	    saying why on standard error;
#	  - Redis shut down: one message accepted at MAIL (on_redis_error =
#	    accept) is counted, the outage gauge is 1 and one outage begun;
#	  - the statistics lines in the log add up to the counters.
#	Needs SG_BUILD and SG_SRC (set by CTest), curl and miltertest.
set -u
: "${SG_BUILD:?set SG_BUILD}" "${SG_SRC:?set SG_SRC}"

if [ -z "${SG_REDIS:-}" ]; then
	exec sh "$SG_SRC/tests/integration/with-redis.sh" bash "$0" "$@"
fi
dir=$SG_REDIS_DIR
export SG_MILTER=unix:$dir/milter.sock SG_REDIS_SOCK=${SG_REDIS#unix:}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SG_METRICS=http://127.0.0.1:$port/metrics
pid=

fail() {
	echo "t_metrics: $*" >&2
	[ -f "$dir/subguard.log" ] && tail -n 30 "$dir/subguard.log" >&2
	[ -z "$pid" ] || kill "$pid" 2>/dev/null
	exit 1
}

# conf SOCKET - the configuration, milter on SOCKET
conf() {
	sed -e "s|@DIR@/milter.sock|$1|" -e "s|@DIR@|$dir|g" -e "s|@REDIS@|$SG_REDIS|g" \
		"$SG_SRC/tests/miltertest/subguard.conf"
	printf '\n[metrics]\nlisten = 127.0.0.1:%s\nstats_interval = 1s\n' "$port"
}

# sample SERIES - its value in a scrape now ("" if absent)
sample() {
	curl -sf "$SG_METRICS" | awk -v s="$1" '$1 == s { print $2 }'
}

conf "$dir/milter.sock" >"$dir/subguard.conf"
"$SG_BUILD/subguard" -f -c "$dir/subguard.conf" 2>"$dir/subguard.log" &
pid=$!
for _ in $(seq 100); do
	[ -S "$dir/milter.sock" ] && curl -sf -o /dev/null "$SG_METRICS" && break
	sleep 0.05
done
curl -sf -o /dev/null "$SG_METRICS" || fail "no metrics on $SG_METRICS"

miltertest -s "$SG_SRC/tests/integration/metrics.lua" || fail "metrics.lua failed"

# Only GET (and HEAD) /metrics.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$code" = 404 ] || fail "GET / answered $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$SG_METRICS")
[ "$code" = 405 ] || fail "POST /metrics answered $code, want 405"
type=$(curl -s -o /dev/null -w '%{content_type}' "$SG_METRICS")
case $type in
text/plain\;\ version=0.0.4*) ;;
*) fail "content type \"$type\", want text/plain; version=0.0.4" ;;
esac

# Hostile clients: binary garbage, a 1 MB request line, a request body
# sent to GET, and connections left open mid-request. The listener drops
# or refuses them; a scrape afterwards still answers, and mail goes on.
python3 - "$port" <<'PY' || fail "hostile clients: could not connect"
import socket, sys
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s
for payload in (bytes(range(256)) * 4 + b"\r\n\r\n",
                b"GET /" + b"A" * (1 << 20) + b" HTTP/1.1\r\n\r\n",
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                b"GET /metrics?x=%00%ff HTTP/1.1\r\nHost: x\r\n\r\n"):
    s = conn()
    try:
        s.sendall(payload)
        s.recv(65536)
    except OSError:
        pass
    s.close()
half = [conn() for _ in range(4)]
for s in half:
    s.sendall(b"GET /metr")
PY
curl -sf -m 5 -o /dev/null "$SG_METRICS" || fail "no scrape after hostile clients"
curl -s -m 5 -o /dev/null -w '%{http_code}' "$SG_METRICS?x=1" | grep -qx 200 ||
	fail "a query string on /metrics is not answered 200"
kill -0 "$pid" || fail "subguard died of hostile metrics clients"

# The port in use: a second subguard refuses to start, and says so.
conf "$dir/milter2.sock" >"$dir/subguard2.conf"
if "$SG_BUILD/subguard" -f -c "$dir/subguard2.conf" 2>"$dir/second.err"; then
	fail "a second subguard started on metrics port $port"
fi
grep -q "cannot listen for metrics on 127.0.0.1:$port: Address already in use" "$dir/second.err" ||
	fail "second subguard: $(cat "$dir/second.err")"

# Redis gone: the outage is seen, and the message decided in it counted.
accepted=$(sample 'subguard_decisions_total{action="accept",stage="mail"}')
redis-cli -s "$SG_REDIS_SOCK" shutdown nosave >/dev/null 2>&1
miltertest -s "$SG_SRC/tests/integration/metrics_outage.lua" || fail "metrics_outage.lua failed"
[ "$(sample subguard_redis_outage)" = 1 ] || fail "outage gauge $(sample subguard_redis_outage), want 1"
[ "$(sample subguard_redis_outages_total)" = 1 ] || fail "outages $(sample subguard_redis_outages_total), want 1"
now=$(sample 'subguard_decisions_total{action="accept",stage="mail"}')
[ "$now" = $((accepted + 1)) ] || fail "accept at mail in the outage: $accepted -> $now"

# The statistics lines (every second) add up to the counters.
total() {
	curl -sf "$SG_METRICS" |
		awk -v a="$1" 'index($1, "subguard_decisions_total{action=\"" a "\"") == 1 { n += $2 } END { print n + 0 }'
}
logged() {
	grep -o "stats: interval=1s .*" "$dir/subguard.log" |
		grep -o " $1=[0-9]*" | awk -F= '{ n += $2 } END { print n + 0 }'
}
sleep 2.5
for a in accept tempfail hold quarantine; do
	[ "$(logged "$a")" = "$(total "$a")" ] ||
		fail "stats lines say $a=$(logged "$a"), the counters $(total "$a")"
done
grep -q 'stats: interval=1s .* redis_outage=1 redis_outages=1' "$dir/subguard.log" ||
	fail "no statistics line with the outage"

kill "$pid"
wait "$pid" || { pid=; fail "subguard exited with status $?"; }
exit 0
