#!/bin/bash
# t_500_sessions: 500 concurrent authenticated SMTP sessions through the
# real Postfix and subguard, nothing broken on purpose.
# Load: tests/fault/load.py, 500 sessions (SG_STRESS_SESSIONS=N to change),
# 8 logins, 30 s of new messages, up to 5 messages per session 0.3 s apart,
# then QUIT and a new session; a 4xx is retried (--retries 3, 1 s later).
# Postfix: default_process_limit = 600, so that every client has its own
# smtpd (Postfix's default of 100 would leave 400 clients waiting to be
# served) and each holds its own milter connection to subguard.
# Proves:
#  - reconciled like the fault tests: every message delivered or told 4xx,
#    none lost, no 5xx, no dropped session, no duplicate, no phantom; and
#    at most 1% of the messages needed a retry;
#  - the load was really that wide: at least 95% of SESSIONS SMTP sessions
#    were established at once on the submission port at the busiest sample
#    (sampled every 0.5 s with ss; the smtpd processes are counted too,
#    for the record only: an idle one may linger between sessions);
#  - subguard's resident memory and threads stay bounded (sampled every
#    0.5 s from /proc/PID/status): peak threads <= SESSIONS + 16 (libmilter
#    runs at most one worker per command in flight, plus its own and
#    subguard's few threads), peak RSS <= 64 MB (measured: about 11 MB),
#    and 5 s after the load the threads are back to at most their count
#    before it + 4;
#  - no per-message error line, no Redis outage, subguard still running.
# Figures: FIGURES lines (SG_FAULT_RESULTS=FILE collects them).
set -euo pipefail
. "$(dirname "$0")/../fault/lib.sh"

sessions=${SG_STRESS_SESSIONS:-500}
# Enough smtpd processes for every client, and Postfix's milter timeouts
# well above what a 2-core machine needs to start 500 of them.
SG_PF_MAIN_EXTRA="default_process_limit = $((sessions + 100))"
sg_world_up
fault_users 8
# 1 s: on a 2-core machine running 500 smtpd processes, Redis may not be
# scheduled within the 100 ms default; this test is about width, t_30
# about the timeout.
SG_CONF_REDIS='timeout = 1s'
fault_conf
sg_subguard_start
threads0=$(fault_threads)
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SG_SUBGUARD_PID/status")

# sample - every 0.5 s until the stop file exists: "TIME RSS_KB THREADS
# SESSIONS SMTPD" into $SG_DIR/stress.samples
: >"$SG_DIR/stress.samples"
SG_WORLD=$SG_DIR bash -c '
    pid=$1 port=$2 out=$3 stop=$4
    while [[ ! -e $stop ]]; do
        read -r rss thr < <(awk "/^VmRSS:/ { r = \$2 } /^Threads:/ { t = \$2 } END { print r + 0, t + 0 }" \
            "/proc/$pid/status" 2>/dev/null || echo "0 0")
        est=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
        smtpd=$(pgrep -c -f "^smtpd -n 127.0.0.1:$port " 2>/dev/null || true)
        echo "${EPOCHREALTIME/,/.} $rss $thr $est ${smtpd:-0}" >>"$out"
        sleep 0.5
    done' stress-sampler "$SG_SUBGUARD_PID" "$SG_SUBPORT" "$SG_DIR/stress.samples" \
    "$SG_DIR/stress.stop" </dev/null &
sampler=$!

t0=$(fault_now)
fault_load_start w --sessions "$sessions" --count 100000 --duration 30 \
    --per-session 5 --pace 0.3 --retries 3 --retry-delay 1 --retry-for 60 --timeout 120
fault_load_wait w 240
t1=$(fault_now)
sleep 5
touch "$SG_DIR/stress.stop"
wait "$sampler" 2>/dev/null || true
threads_after=$(fault_threads)
fault_reconcile w

# What the samples say.
read -r peak_rss peak_thr peak_est peak_smtpd n_samples < <(awk \
    '{ if ($2 > r) r = $2; if ($3 > t) t = $3; if ($4 > e) e = $4; if ($5 > s) s = $5; n++ }
     END { print r + 0, t + 0, e + 0, s + 0, n + 0 }' "$SG_DIR/stress.samples")
msgs=$(fault_field w messages)
delivered=$(fault_field w delivered)
tempfailed=$(fault_field w attempts_tempfailed)
secs=$("$SG_PY" -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")
sg_log "samples: $n_samples; peak sessions established $peak_est, smtpd $peak_smtpd; subguard RSS ${rss0} -> peak ${peak_rss} kB, threads ${threads0} -> peak ${peak_thr} -> ${threads_after} after"
fault_note "sessions=$sessions peak_established=$peak_est peak_smtpd=$peak_smtpd messages=$msgs delivered=$delivered attempts_tempfailed=$tempfailed load_secs=$secs rss_kb_before=$rss0 rss_kb_peak=$peak_rss threads_before=$threads0 threads_peak=$peak_thr threads_after=$threads_after"

(( peak_est >= sessions * 95 / 100 )) ||
    sg_fail "at most $peak_est sessions established at once (want >= $((sessions * 95 / 100)) of $sessions)"
(( msgs >= sessions )) || sg_fail "only $msgs messages for $sessions sessions"
sg_assert_eq "$msgs" "$delivered" "messages delivered"
(( tempfailed * 100 <= msgs )) || sg_fail "$tempfailed attempts tempfailed (want <= 1% of $msgs)"
(( peak_thr <= sessions + 16 )) || sg_fail "subguard peaked at $peak_thr threads (want <= $((sessions + 16)))"
(( peak_rss <= 65536 )) || sg_fail "subguard peaked at $peak_rss kB resident (want <= 65536)"
(( threads_after <= threads0 + 4 )) ||
    sg_fail "subguard has $threads_after threads 5 s after the load (before: $threads0)"
sg_assert_eq 0 "$(sg_subguard_log_count 'redis unavailable')" "'redis unavailable' lines"
sg_assert_eq '' "$(fault_error_lines)" "per-message error lines"
sg_subguard_running || sg_fail "subguard is not running at the end"
echo "t_500_sessions: ok"
