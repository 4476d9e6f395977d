#!/bin/bash
# t_40_milter_kill: subguard crashes (SIGKILL) under load, twice, and is
# started again. Postfix: milter_default_action = tempfail (the harness's
# default, and contrib/postfix's).
# Load: 10 sessions, 8 logins, 20 s of new messages; a message that gets a
# 4xx is sent again 1 s later in a new session, as an MTA client would,
# for up to 30 s more.
# Proves:
#  - while subguard is down, clients get 4xx (counted: there must be some,
#    or the test tested nothing), never a 5xx, and no session is dropped
#    without an answer;
#  - nothing is lost: every 250 at the dot is in the sink's log under its
#    queue id, no message is delivered behind a client's back (a 4xx
#    answer, yet delivered) and none twice;
#  - after each restart mail flows again: every message is finally
#    delivered (none given up), and messages begun 2 s after the second
#    restart all got 250 at the first try.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

sg_world_up
fault_users 8
fault_conf
sg_subguard_start
fault_stamp_start

# restarted N - subguard has logged its N-th "started on" line
restarted() {
    (( $(sg_subguard_log_count 'started on unix:') >= $1 ))
}

fault_load_start k --sessions 10 --count 3000 --duration 20 --per-session 5 --pace 0.1 \
    --retries 40 --retry-delay 1 --retry-for 30
fault_wait_attempts k 40

declare -a t_kills t_ups
for round in 1 2; do
    t_kill=$(fault_now)
    fault_subguard_kill
    sg_log "round $round: subguard killed; socket file left: $( [[ -S $SG_SUBGUARD_SOCK ]] && echo yes || echo no)"
    sleep 3
    sg_subguard_start
    sg_wait_for -t 10 restarted "$((round + 1))" || sg_fail "subguard did not log its start (round $round)"
    t_up=$(fault_now)
    sg_log "round $round: subguard running again (pid $SG_SUBGUARD_PID), down for $(( $(fault_ms_since "$t_kill") - $(fault_ms_since "$t_up") )) ms"
    t_kills[round]=$t_kill
    t_ups[round]=$t_up
    sleep 4
done

fault_load_wait k
fault_stamp_stop
fault_reconcile k --window down1:"${t_kills[1]}":"${t_ups[1]}" --window down2:"${t_kills[2]}":"${t_ups[2]}"

tf=$(fault_field k attempts_tempfailed)
sg_log "tempfailed attempts: $tf; by stage: $(fault_field k tempfail_stage); replies: $(fault_field k codes)"
(( tf > 0 )) || sg_fail "no client saw a 4xx while subguard was down: did the kill happen under load?"
sg_assert_eq 0 "$(fault_field k given_up)" "messages never delivered (given up after retries)"
sg_assert_eq "$(fault_field k messages)" "$(fault_field k delivered)" "messages delivered in the end"

# Every 4xx is the milter-unavailable tempfail, nothing else.
bad=$("$SG_PY" -c '
import json, sys
codes = json.load(open(sys.argv[1]))["codes"]
print(" ".join(k for k in codes if not k.split()[1].startswith("4")))' "$SG_DIR/fault-k.json")
sg_assert_eq '' "$bad" "replies other than 4xx"

# After the second restart (+2 s): every message at its first try got 250.
late=$("$SG_PY" -c '
import json, sys
t = float(sys.argv[2]) + 2
n = bad = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["attempt"] == 1 and r["t_start"] >= t:
        n += 1
        if not (r.get("dot") and r["dot"][0] == 250):
            bad += 1
print(n, bad)' "$SG_DIR/fault-k.jsonl" "${t_ups[2]}")
sg_log "messages begun 2 s after the second restart: ${late% *}, not accepted at once: ${late#* }"
(( ${late% *} >= 20 )) || sg_fail "only ${late% *} messages begun after the second restart"
sg_assert_eq 0 "${late#* }" "messages refused after the second restart"
fault_note "kills=2 tempfailed_attempts=$tf retried_messages=$(grep -c '"attempt": 2,' "$SG_DIR/fault-k.jsonl") after_restart_first_try=${late% *}"
sg_subguard_running || sg_fail "subguard is not running at the end"
echo "t_40_milter_kill: ok"
