#!/bin/bash
#
# NAME
#	soak.sh - subguard under steady load for 10 minutes: memory flat, no error
# SYNOPSIS
#	bash tests/stress/soak.sh start|check|run
# DESCRIPTION
#	Not a CTest test: scripts/test.sh starts it ("start" returns at once)
#	before the sanitizer stages and checks it ("check") after them, so
#	the 10 minutes overlap work the run does anyway. "run" is both, in
#	the foreground. Needs SG_BUILD (a build with subguard and
#	bench/sg-milterload) and SG_SRC.
#
#	start: a private redis-server and subguard ($SG_BUILD/subguard, the
#	configuration below: limits far away, so every message takes the
#	full accept path) on unix sockets in $SG_SOAK_DIR, then
#	bench/sg-milterload against subguard's socket, 16 sessions, 2
#	recipients, 5 messages per milter connection, over 5,000 logins:
#	first a burst of SG_SOAK_BURST seconds (10) flat out, then
#	SG_SOAK_MINUTES (10) at a fixed offered rate of SG_SOAK_RATE
#	messages per second (50); and a sampler that writes subguard's VmRSS
#	and thread count every SG_SOAK_EVERY seconds (5) to soak.samples.
#	The burst belongs to the warm-up: it runs as many of libmilter's
#	worker threads as 16 sessions ever need, so their stacks (glibc keeps
#	a finished thread's stack for the next one) and their malloc arenas
#	exist before memory is judged. Without it the RSS floor rose by
#	steps of 100 to 300 kB whenever the machine's other work slowed
#	subguard enough that more commands overlapped than ever before: a
#	high-water mark of concurrency, not a leak.
#	A modest fixed rate keeps the soak light (a few percent of one
#	core) next to the builds and tests that run meanwhile, and makes
#	the number of messages, and so what a leak per message would add,
#	known in advance.
#
#	check: waits for the load to end, stops subguard with SIGTERM (and
#	times it), and fails unless
#	  - sg-milterload completed at least 90% of the offered messages,
#	    every one accepted (in the burst too): no error, timeout,
#	    tempfail, reject or other reply;
#	  - subguard logged no Redis outage and no per-message error, and
#	    stopped cleanly within 1 s of SIGTERM (libmilter alone takes up
#	    to 5 s: see stop_milter in milter/subguard.c);
#	  - resident memory is flat after the warm-up (SG_SOAK_WARMUP, 90 s
#	    from the start: the burst, then 70 s at the steady rate):
#	    the mean of the last 6 samples exceeds the mean of the first 6
#	    after the warm-up by at most SG_SOAK_TOL_KB (512 kB), and the
#	    least-squares slope over all samples after the warm-up is at most
#	    SG_SOAK_SLOPE_KB (64 kB per minute). At 50 messages/s, a leak of
#	    100 bytes per message adds 290 kB a minute, 2.3 MB over the 8
#	    minutes checked: both limits catch it several times over, while
#	    the RSS of a healthy subguard moved by less than 100 kB here
#	    (docs/RELIABILITY.md has the samples).
#	The figures go to standard output (FIGURES lines, as the fault tests
#	write them) and to SG_FAULT_RESULTS when set.
# FILES
#	$SG_SOAK_DIR (default /tmp/sg-soak): redis.*, subguard.conf,
#	subguard.log, load.txt (sg-milterload's report), soak.samples
#	("SECONDS RSS_KB THREADS"), *.pid. Removed by the next "start".
# EXIT STATUS
#	0 when the soak passed (or was started), 1 otherwise.
set -euo pipefail
: "${SG_BUILD:?set SG_BUILD}" "${SG_SRC:?set SG_SRC}"
D=${SG_SOAK_DIR:-/tmp/sg-soak}
MINUTES=${SG_SOAK_MINUTES:-10}
RATE=${SG_SOAK_RATE:-50}
EVERY=${SG_SOAK_EVERY:-5}
BURST=${SG_SOAK_BURST:-10}
WARMUP=${SG_SOAK_WARMUP:-90}
TOL_KB=${SG_SOAK_TOL_KB:-512}
SLOPE_KB=${SG_SOAK_SLOPE_KB:-64}

# shellcheck source=tests/lib/redis.sh
. "$SG_SRC/tests/lib/redis.sh"

say() { printf '[soak %(%H:%M:%S)T] %s\n' -1 "$*"; }
fail() { say "FAIL: $*"; FAILED=1; }
FAILED=0

# alive PID - true while PID runs (and is not a zombie)
alive() {
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null &&
        [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# stop_pidfile FILE - SIGTERM the process in FILE, if it runs
stop_pidfile() {
    local p
    p=$(cat "$1" 2>/dev/null) || return 0
    if alive "$p"; then kill -TERM "$p" 2>/dev/null || true; fi
}

start() {
    local i
    for f in load sampler subguard; do stop_pidfile "$D/$f.pid"; done
    sg_redis_server_stop "$D" || true
    rm -rf "$D"
    mkdir -p "$D"
    [[ -x $SG_BUILD/subguard && -x $SG_BUILD/bench/sg-milterload ]] ||
        { say "no subguard or bench/sg-milterload in $SG_BUILD"; exit 1; }
    # tests/lib/redis.sh: $D/redis.sock, no TCP, no disk; only root may
    # connect. It outlives this "start" (check stops it).
    sg_redis_server_start "$D" 'unixsocketperm 700' || { say "redis-server did not start"; exit 1; }
    # Limits far away: every message takes begin, decisions and commit.
    # timeout 1s: the soak shares 2 cores with compilers and valgrind; it
    # is about memory (t_30_redis_slow is the test of the timeout).
    cat >"$D/subguard.conf" <<EOF
# Written by tests/stress/soak.sh
[subguard]
listen = unix:$D/subguard.sock
socket_owner =
socket_group =
socket_mode = 0600
user =
group =

[redis]
address = unix:$D/redis.sock
timeout = 1s

[tier default]
messages = 1000000/1h, 10000000/1d
recipients = 10000000/1h, 100000000/1d
quarantine_recipients = 1000000000/1d
quarantine_rejected = 1000000/1h
EOF
    "$SG_BUILD/subguard" -f -c "$D/subguard.conf" </dev/null >"$D/subguard.log" 2>&1 &
    echo $! >"$D/subguard.pid"
    for ((i = 0; i < 100; i++)); do
        [[ -S $D/subguard.sock ]] && break
        sleep 0.1
    done
    [[ -S $D/subguard.sock ]] || { say "subguard did not start: $(tail -n 5 "$D/subguard.log")"; exit 1; }
    (
        load=("$SG_BUILD/bench/sg-milterload" -s "unix:$D/subguard.sock" -c 16
            -w 0 -r 2 -x 0 -m 5 -k 5000 -T 30)
        if ((BURST > 0)); then
            "${load[@]}" -d "$BURST" -L burst >"$D/burst.txt" 2>"$D/burst.err" || true
        fi
        exec "${load[@]}" -d "$((MINUTES * 60))" -q "$RATE" -L soak \
            >"$D/load.txt" 2>"$D/load.err"
    ) </dev/null &
    echo $! >"$D/load.pid"
    # The sampler: subguard's VmRSS and threads every $EVERY s while the
    # load runs (and a little after, to see it settle).
    bash -c '
        pid=$1 load=$2 out=$3 every=$4 t0=${EPOCHREALTIME%[.,]*}
        while kill -0 "$load" 2>/dev/null; do
            read -r rss thr < <(awk "/^VmRSS:/ { r = \$2 } /^Threads:/ { t = \$2 } END { print r + 0, t + 0 }" \
                "/proc/$pid/status" 2>/dev/null || echo "0 0")
            echo "$(( ${EPOCHREALTIME%[.,]*} - t0 )) $rss $thr" >>"$out"
            sleep "$every"
        done' soak-sampler "$(cat "$D/subguard.pid")" "$(cat "$D/load.pid")" \
        "$D/soak.samples" "$EVERY" </dev/null >/dev/null 2>&1 &
    echo $! >"$D/sampler.pid"
    date +%s >"$D/started"
    say "started in $D: $MINUTES min at $RATE msgs/s (subguard $(cat "$D/subguard.pid"), load $(cat "$D/load.pid"))"
}

figures() {
    printf 'FIGURES soak %s\n' "$*"
    if [[ -n ${SG_FAULT_RESULTS:-} ]]; then
        printf '%s FIGURES soak %s\n' "$(date '+%F %T')" "$*" >>"$SG_FAULT_RESULTS"
    fi
}

check() {
    local load sg t0 i rc stop_ms res
    [[ -s $D/load.pid ]] || { say "no soak started in $D"; exit 1; }
    load=$(cat "$D/load.pid")
    sg=$(cat "$D/subguard.pid")
    say "waiting for the load to end (started $(( $(date +%s) - $(cat "$D/started") )) s ago)"
    # sg-milterload ends by itself at MINUTES + its timeout + 5 s.
    for ((i = 0; i < (MINUTES * 60 + BURST + 120) * 10; i++)); do
        alive "$load" || break
        sleep 0.1
    done
    if alive "$load"; then
        kill -TERM "$load" 2>/dev/null || true
        fail "sg-milterload still running $((MINUTES * 60 + 120)) s after the start"
    fi
    sleep 1
    stop_pidfile "$D/sampler.pid"

    # SIGTERM: subguard must exit, promptly and with status 0.
    rc=gone
    if alive "$sg"; then
        t0=${EPOCHREALTIME/[.,]/}
        kill -TERM "$sg"
        for ((i = 0; i < 100; i++)); do
            alive "$sg" || break
            sleep 0.05
        done
        stop_ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
        if alive "$sg"; then
            kill -KILL "$sg" 2>/dev/null || true
            fail "subguard still running 5 s after SIGTERM"
        elif ((stop_ms > 1000)); then
            fail "subguard took $stop_ms ms to stop after SIGTERM (want <= 1000)"
        fi
        wait "$sg" 2>/dev/null || true		# not our child: see the log
        grep -q '^subguard: stopped' "$D/subguard.log" && rc=0 || rc=1
    else
        fail "subguard died during the soak: $(tail -n 5 "$D/subguard.log")"
        stop_ms=-1
    fi
    sg_redis_server_stop "$D" || true

    # field KEY - a value of the RESULT line in $res
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$res"; }
    local msgs accepted want burst_msgs=0 part
    for part in burst load; do
        [[ $part == burst ]] && ((BURST == 0)) && continue
        res=$(grep '^RESULT' "$D/$part.txt" 2>/dev/null || true)
        say "$part: $(grep -E '^(messages|offered|outcome)' "$D/$part.txt" 2>/dev/null | paste -sd';')"
        [[ -n $res ]] || { fail "sg-milterload ($part) wrote no RESULT line: $(tail -n 5 "$D/$part.err")"; continue; }
        msgs=$(field msgs)
        accepted=$(field accepted)
        [[ ${accepted:-x} == "${msgs:-y}" ]] || fail "$part: accepted $accepted of $msgs messages"
        for k in errors timeouts tempfail reject other rcpt_tempfail held; do
            [[ $(field "$k") == 0 ]] || fail "sg-milterload ($part): $k=$(field "$k")"
        done
        [[ $part == burst ]] && burst_msgs=${msgs:-0}
    done
    want=$((MINUTES * 60 * RATE * 9 / 10))
    (( ${msgs:-0} >= want )) || fail "only ${msgs:-0} messages completed at the steady rate (want >= $want)"

    local errs
    errs=$(grep -E 'redis unavailable|reason=redis-error|NOSCRIPT|not found|ERR |error|fatal|panic' "$D/subguard.log" || true)
    [[ -z $errs ]] || fail "error lines in subguard.log: $(head -n 3 <<<"$errs")"
    [[ $rc == 0 ]] || fail "subguard did not stop cleanly: $(tail -n 3 "$D/subguard.log")"

    # Memory: flat after the warm-up.
    local verdict
    verdict=$(python3 - "$D/soak.samples" "$WARMUP" "$TOL_KB" "$SLOPE_KB" <<'EOF'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 3]
warm, tol, slope_max = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [r for r in rows if r[1] > 0]
post = [r for r in rows if r[0] >= warm]
if len(post) < 12:
    print("FAIL only %d samples after the warm-up" % len(post))
    sys.exit()
first = sum(r[1] for r in post[:6]) / 6
last = sum(r[1] for r in post[-6:]) / 6
n = len(post)
mt = sum(r[0] for r in post) / n
mr = sum(r[1] for r in post) / n
slope = (sum((r[0] - mt) * (r[1] - mr) for r in post)
         / sum((r[0] - mt) ** 2 for r in post)) * 60
by_min = {}
for t, rss, thr in rows:
    by_min.setdefault(int(t // 60), (rss, thr))
ok = last - first <= tol and slope <= slope_max
print("%s samples=%d start_kb=%d warm_kb=%d end_kb=%d peak_kb=%d growth_kb=%+.0f "
      "slope_kb_per_min=%+.1f threads_peak=%d per_minute=%s" % (
      "OK" if ok else "FAIL", len(rows), rows[0][1], first, last,
      max(r[1] for r in rows), last - first, slope, max(r[2] for r in rows),
      ",".join("%d:%d" % (m, v[0]) for m, v in sorted(by_min.items()))))
EOF
    )
    say "memory: $verdict"
    [[ $verdict == OK* ]] ||
        fail "resident memory not flat after ${WARMUP} s (tolerance +$TOL_KB kB, slope <= $SLOPE_KB kB/min): $verdict"
    figures "minutes=$MINUTES rate=$RATE burst_messages=$burst_msgs messages=${msgs:-0} accepted=${accepted:-0}" \
        "errors=$(field errors) tempfail=$(field tempfail) sigterm_ms=$stop_ms ${verdict#* }"
    if ((FAILED)); then
        say "soak FAILED (files in $D)"
        exit 1
    fi
    say "soak passed"
}

case ${1:-} in
start) start ;;
check) check ;;
run) start; check ;;
*) echo "usage: soak.sh start|check|run" >&2; exit 2 ;;
esac
