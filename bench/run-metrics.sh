#!/bin/bash
#
# NAME
#	run-metrics.sh - what the metrics cost per message: subguard with
#	[metrics] on (and scraped every second) against subguard with them off
# SYNOPSIS
#	bash bench/run-metrics.sh [--reps N] [--secs S] [--sessions N]
# DESCRIPTION
#	One private Redis, two subguards on it with the benchmark
#	configuration (bench/subguard-bench.conf.in): "off" without
#	[metrics] listen and with stats_interval = 0, "on" with listen on a
#	loopback port and stats_interval = 1s, while curl scrapes it every
#	second (a busier scraper than Prometheus's usual 15 s). sg-milterload
#	drives each in turn (off, on, on, off, ...) REPS times with SESSIONS
#	sessions of 20 messages of 10 recipients; the report is the median
#	of the per-pair ratios on/off of messages per second and of the
#	milter's CPU per message, and the FCALL calls per message of each
#	(the round trips: the metrics add none).
#
#	Every store call is timed either way (two clock_gettime calls and a
#	histogram update); what [metrics] adds is the listener's thread, the
#	scrapes and the statistics line.
# DIAGNOSTICS
#	Reports; never fails because the machine is slow.

set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

reps=5 secs=5 sessions=32
while (($#)); do
    case $1 in
    --reps) reps=$2; shift ;;
    --secs) secs=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    *) sgb_die "usage: run-metrics.sh [--reps N] [--secs S] [--sessions N]" ;;
    esac
    shift
done
command -v curl >/dev/null || sgb_die "curl not installed"
sgb_need_tools
sgb_init
sgb_redis_start
hz=$(getconf CLK_TCK)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# start NAME EXTRA - a subguard on $SGB_DIR/NAME.sock; prints its pid
start() {
    sgb_subguard_conf "$SGB_DIR/$1.conf" "$2"
    sed -i "s|$SGB_DIR/subguard.sock|$SGB_DIR/$1.sock|" "$SGB_DIR/$1.conf"
    "$SG_BUILD/subguard" -f -c "$SGB_DIR/$1.conf" </dev/null >/dev/null 2>&1 &
    echo $!
}
off_pid=$(start off $'[metrics]\nstats_interval = 0')
on_pid=$(start on "$(printf '[metrics]\nlisten = 127.0.0.1:%s\nstats_interval = 1s' "$port")")
SGB_PIDS+=("$off_pid" "$on_pid")
sgb_wait_for 10 test -S "$SGB_DIR/off.sock" || sgb_die "subguard (off) did not start"
sgb_wait_for 10 test -S "$SGB_DIR/on.sock" || sgb_die "subguard (on) did not start"
sgb_wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" ||
    sgb_die "subguard (on) serves no metrics"
(while :; do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; sleep 1; done) &
SGB_PIDS+=("$!")
for s in off on; do
    "$SGB_BIN/sg-milterload" -s "unix:$SGB_DIR/$s.sock" -c 8 -n 500 -r 2 -R >/dev/null
done

# one_run NAME - one load run; prints "mps cpu_us_per_msg calls_per_msg"
one_run() {
    local pid c0 c1 e0 e1 line begun
    if [[ $1 == on ]]; then pid=$on_pid; else pid=$off_pid; fi
    c0=$(sgb_cpu_ticks "$pid"); e0=$(sgb_script_calls)
    line=$("$SGB_BIN/sg-milterload" -s "unix:$SGB_DIR/$1.sock" -L "$1" -R \
        -c "$sessions" -d "$secs" -m 20 -r 10 | grep '^RESULT')
    c1=$(sgb_cpu_ticks "$pid"); e1=$(sgb_script_calls)
    begun=$(sgb_field "$line" begun)
    ((begun > 0)) || begun=1
    echo "$(sgb_field "$line" mps) $(sgb_calc "($c1 - $c0) * 1e6 / $hz / $begun") $(sgb_calc "($e1 - $e0) / $begun")"
}

ratio_mps=() ratio_cpu=() ev_on=() ev_off=()
for ((i = 0; i < reps; i++)); do
    if ((i % 2 == 0)); then a=$(one_run off); b=$(one_run on)
    else b=$(one_run on); a=$(one_run off); fi
    read -r am ac ae <<<"$a"
    read -r bm bc be <<<"$b"
    sgb_log "off: $am msg/s, ${ac} us CPU/msg, $ae FCALL/msg; on: $bm msg/s, ${bc} us CPU/msg, $be FCALL/msg"
    ratio_mps+=("$(sgb_calc "$bm / $am")")
    ratio_cpu+=("$(sgb_calc "$bc / ($ac > 0 ? $ac : 1)")")
    ev_off+=("$ae") ev_on+=("$be")
done
printf 'metrics on/off, %d pairs of %ds, %d sessions x 20 messages x 10 recipients:\n' "$reps" "$secs" "$sessions"
printf '  messages/s ratio (median): %.3f (range %s)\n' "$(sgb_median "${ratio_mps[@]}")" \
    "$(printf '%s\n' "${ratio_mps[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')"
printf '  milter CPU per message ratio (median): %.3f\n' "$(sgb_median "${ratio_cpu[@]}")"
printf '  FCALL per message: off %.3f, on %.3f\n' "$(sgb_median "${ev_off[@]}")" "$(sgb_median "${ev_on[@]}")"
