#!/bin/bash
#
# NAME
#	run-peers.sh - subguard against what a postmaster would install
#	instead, through one real Postfix: no hook, the do-nothing milter,
#	subguard, Rspamd's milter (ratelimit only), postfwd's policy service
# SYNOPSIS
#	bash bench/run-peers.sh [--quick] [--reps N] [--secs S]
#		[--sessions N] [--logins K] [--only LIST] [--out FILE]
#		[--check-only] [--check-limit N]
# DESCRIPTION
#	Builds the end-to-end test world (tests/e2e/harness.sh: private
#	Postfix with Cyrus SASL, Redis; run as root) and gives the same
#	Postfix one submission listener per hook, identical but for it:
#	  none      no milter, no policy service
#	  null      sg-nullmilter (subguard's negotiation, no work)
#	  subguard  subguard (bench/subguard-bench.conf.in)
#	  rspamd    Rspamd 3.4's proxy worker as a milter, only its ratelimit
#	            module, a per-authenticated-user bucket (bench/peers.sh)
#	  postfwd   postfwd2 1.35 as smtpd_end_of_data_restrictions policy
#	            service, a per-sasl_username recipient rate
#	Delivery goes to Postfix's discard(8) transport.
#
#	Before anything is timed, each of subguard, rspamd and postfwd is
#	started with a limit of 3 messages per login per hour and sent 5
#	messages by one login: the run FAILS unless exactly 3 are accepted
#	and the other 2 get a 4xx. Then each is restarted with a limit far
#	above what the benchmark sends (the same code path), and timed.
#
#	sg-smtpload sends authenticated mail (SESSIONS concurrent AUTH PLAIN
#	sessions, 1 message of 1 recipient each, over LOGINS accounts) to
#	each listener in rotating order, REPS rounds, the queue drained
#	between runs. For each run: msgs/s, the median and p99 of the
#	end-of-DATA latency, the CPU per message of each part from /proc
#	(the hook's process tree, Redis, Postfix's master and everything
#	under it, reaped children included; measured from before the load
#	to after the queue drained, and so shared among every message of
#	the run, its warm-up second included), and Redis commands per message (INFO
#	commandstats before and after, INFO itself left out). Reports
#	medians over the rounds, the per-round ratio of msgs/s to "none" of
#	the same round (median and range), and the load average before and
#	after.
#
#	--check-only stops after the enforcement checks (about 1-2 min).
#	--check-limit N gives the hooks a limit of N instead of 3 for the
#	check, which still demands 3 accepted of 5: with N > 3 the run must
#	fail (how to see that the check can fail).
#
#	--only LIST (comma-separated, e.g. none,rspamd) runs a subset; none
#	is always included (the ratios need it). null+STEPS (e.g.
#	null+connect+mailreply, the negotiation before) adds a do-nothing milter asking for other
#	protocol steps (sg-nullmilter -s: connect, mailreply, nomail, nr, nrcont):
#	what each protocol choice costs, measured side by side.
# DIAGNOSTICS
#	Exit 1 (via the harness) if the world or a peer cannot be started,
#	or if a hook does not enforce its limit. Never fails because the
#	machine is slow.

set -euo pipefail
reps=5 secs=10 sessions=50 logins=200 out='' only=none,null,subguard,rspamd,postfwd
check_only=0 check_limit=3
while (($#)); do
    case $1 in
    --quick) reps=2 secs=5 ;;
    --reps) reps=$2; shift ;;
    --secs) secs=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    --logins) logins=$2; shift ;;
    --only) only=none,$2; shift ;;
    --out) out=$2; shift ;;
    --check-only) check_only=1 ;;
    --check-limit) check_limit=$2; shift ;;
    *) echo "usage: run-peers.sh [--quick] [--reps N] [--secs S] [--sessions N] [--logins K] [--only LIST] [--out FILE] [--check-only] [--check-limit N]" >&2; exit 2 ;;
    esac
    shift
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SG_SRC:=$(cd "$here/.." && pwd)}"
: "${SG_BUILD:=$SG_SRC/build}"
export SG_SRC SG_BUILD
for t in "$SG_BUILD/subguard" "$SG_BUILD/bench/sg-smtpload" "$SG_BUILD/bench/sg-nullmilter"; do
    [[ -x $t ]] || { echo "run-peers.sh: $t missing (build first)" >&2; exit 1; }
done
for t in rspamd postfwd2; do
    command -v "$t" >/dev/null || { echo "run-peers.sh: $t not installed (scripts/deps.sh)" >&2; exit 1; }
done
# shellcheck source=../tests/e2e/harness.sh
. "$SG_SRC/tests/e2e/harness.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=peers.sh
. "$here/peers.sh"

IFS=, read -ra who_all <<<"$only"
declare -A want=()
order=()
for w in "${who_all[@]}"; do
    case $w in
    none | null | subguard | rspamd | postfwd) ;;
    null+*) [[ $w =~ ^null(\+(connect|mailreply|nomail|nr|nrcont))+$ ]] ||
        { echo "run-peers.sh: unknown steps in '$w'" >&2; exit 2; } ;;
    *) echo "run-peers.sh: unknown listener '$w'" >&2; exit 2 ;;
    esac
    [[ -n ${want[$w]:-} ]] || order+=("$w")
    want[$w]=1
done
n=${#order[@]}
[[ $check_limit =~ ^[0-9]+$ ]] || { echo "run-peers.sh: --check-limit wants a number" >&2; exit 2; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
SG_PF_MAIN_EXTRA="default_transport = discard:benchmark
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 200"
export SG_PF_MAIN_EXTRA
sg_world_up
# The peers do not all keep SG_WORLD in their environment (Rspamd and
# perl rewrite their process titles over it): stop them first on exit.
# shellcheck disable=SC2154 # peers_rc is set inside the trap
trap 'peers_rc=$?; set +e; peer_rspamd_stop; peer_postfwd_stop; sg__on_exit "$peers_rc"' EXIT

sg_log "creating $logins SASL logins and 3 check logins"
for ((i = 0; i < logins; i++)); do
    printf '%s' secret | saslpasswd2 -p -c -f "$SG_DIR/sasldb2" -u "$SG_REALM" "user$i" ||
        sg_fail "saslpasswd2 user$i"
done
for i in 0 1 2; do
    printf '%s' secret | saslpasswd2 -p -c -f "$SG_DIR/sasldb2" -u "$SG_REALM" "check$i" ||
        sg_fail "saslpasswd2 check$i"
done
chown root:postfix "$SG_DIR/sasldb2"
chmod 640 "$SG_DIR/sasldb2"

bench_tiers=$(sed -n '/^\[tier /,$p' "$SG_SRC/bench/subguard-bench.conf.in")
check_tiers="[tier default]
messages = $check_limit/1h"

# Every listener is added before anything is timed (each addition restarts
# Postfix).
declare -A port=([subguard]=$SG_SUBPORT) check_idx=([subguard]=0 [rspamd]=1 [postfwd]=2)
declare -A null_pid=()
for who in "${order[@]}"; do
    [[ $who == null* ]] || continue
    steps=${who#null}
    steps=${steps#+}
    sock=$SG_DIR/$who.sock
    SG_WORLD=$SG_DIR "$SG_BUILD/bench/sg-nullmilter" -p "unix:$sock" -m 0666 \
        ${steps:+-s "${steps//+/,}"} </dev/null >"$SG_DIR/$who.log" 2>&1 &
    null_pid[$who]=$!
    sg_wait_for -t 10 test -S "$sock" || sg_fail "sg-nullmilter ($who) did not start"
    port[$who]=$(sg__free_ports 1)
    sg_submission_add "${port[$who]}" "smtpd_milters=unix:$sock"
done
port[none]=$(sg__free_ports 1)
sg_submission_add "${port[none]}" "smtpd_milters="
if [[ -n ${want[rspamd]:-} ]]; then
    peer_rspamd_start "$check_limit"
    port[rspamd]=$(sg__free_ports 1)
    sg_submission_add "${port[rspamd]}" "smtpd_milters=unix:$PEER_RSPAMD_SOCK"
fi
if [[ -n ${want[postfwd]:-} ]]; then
    peer_postfwd_start "$check_limit"
    port[postfwd]=$(sg__free_ports 1)
    sg_submission_add "${port[postfwd]}" "smtpd_milters=" \
        "smtpd_end_of_data_restrictions=check_policy_service,inet:127.0.0.1:$PEER_POSTFWD_PORT"
fi

# restart WHO LIMIT - (re)start the hook of WHO with LIMIT messages/login/h
# (check: the limit of the enforcement check)
restart() {
    local lim=$2
    [[ $lim == check ]] && lim=$check_limit
    case $1 in
    subguard)
        sg_subguard_stop || true
        if [[ $2 == check ]]; then sg_subguard_conf "$check_tiers"; else sg_subguard_conf "$bench_tiers"; fi
        sg_subguard_start
        ;;
    rspamd) peer_rspamd_stop; peer_rspamd_start "$lim" ;;
    postfwd) peer_postfwd_stop; peer_postfwd_start "$lim" ;;
    esac
}

# hook_pid WHO - the root of the hook's process tree (empty: none)
hook_pid() {
    case $1 in
    null*) echo "${null_pid[$1]}" ;;
    subguard) echo "$SG_SUBGUARD_PID" ;;
    rspamd) echo "$PEER_RSPAMD_PID" ;;
    postfwd) peer_postfwd_pid ;;
    *) echo "" ;;
    esac
}

# enforce WHO - the hook runs with a limit of 3: 5 messages by one login
# must give exactly 3 accepted and 2 refused with a 4xx; else fail
enforce() {
    local who=$1 line acc tf
    restart "$who" check
    line=$("$SG_BUILD/bench/sg-smtpload" -s "127.0.0.1:${port[$who]}" -L "check-$who" -R \
        -c 1 -n 5 -m 1 -k 1 -K "${check_idx[$who]}" -l 'check%d@example.net' -p secret \
        -r 1 -z 2048 | grep '^RESULT' || true)
    acc=$(sgb_field "$line" accepted) tf=$(sgb_field "$line" tempfail)
    sg_log "enforcement check $who (limit $check_limit, 5 messages): accepted=$acc tempfail=$tf"
    [[ $acc == 3 && $tf == 2 ]] ||
        sg_fail "$who did not enforce its per-login limit of 3: accepted=$acc tempfail=$tf ($line)"
    echo "| $who | limit $check_limit/h, 5 messages by one login | accepted $acc, 4xx $tf |" >>"$SG_DIR/enforce.txt"
    restart "$who" 100000000
}

: >"$SG_DIR/enforce.txt"
for who in subguard rspamd postfwd; do
    [[ -n ${want[$who]:-} ]] || continue
    enforce "$who"
done
# subguard's own listener needs subguard running even if it is not timed.
sg_subguard_running || { sg_subguard_conf "$bench_tiers"; sg_subguard_start; }
if ((check_only)); then
    echo "| hook | enforcement check | outcome |"
    echo "|---|---|---|"
    cat "$SG_DIR/enforce.txt"
    exit 0
fi

results=$SG_DIR/results.txt
: >"$results"

drained() {
    sg_wait_for -t 60 sg_queue_empty || sg_log "queue not empty after 60 s; going on"
}

master_pid() {
    awk '{ print $1; exit }' "$SG_DIR/q/pid/master.pid"
}

# load WHO SECONDS - one run; prints its RESULT line plus the CPU per
# message of each part (ms) and Redis commands per message
load() {
    local who=$1 s=$2 hp c0 c1 r0 r1 line msgs t
    hp=$(hook_pid "$who")
    local roots=("$(master_pid)" "$(<"$SG_DIR/redis.pid")")
    [[ -n $hp ]] && roots+=("$hp")
    mapfile -t c0 < <(peer_cpu_ticks "${roots[@]}")
    r0=$(peer_redis_calls)
    line=$("$SG_BUILD/bench/sg-smtpload" -s "127.0.0.1:${port[$who]}" -L "$who" -R \
        -c "$sessions" -d "$s" -k "$logins" -p secret -r 1 -z 2048 -m 1 | grep '^RESULT' || true)
    [[ -n $line ]] || sg_fail "sg-smtpload gave no RESULT for $who"
    drained
    mapfile -t c1 < <(peer_cpu_ticks "${roots[@]}")
    r1=$(peer_redis_calls)
    # The CPU and Redis counters cover the whole run, its warm-up second
    # and its tail included, so they are shared among all its messages.
    msgs=$(sgb_field "$line" all)
    ((msgs > 0)) || msgs=1
    t=$(getconf CLK_TCK)
    line+=" cpu_postfix_ms=$(sgb_calc "(${c1[0]} - ${c0[0]}) * 1000 / $t / $msgs")"
    line+=" cpu_redis_ms=$(sgb_calc "(${c1[1]} - ${c0[1]}) * 1000 / $t / $msgs")"
    if [[ -n $hp ]]; then
        line+=" cpu_hook_ms=$(sgb_calc "(${c1[2]} - ${c0[2]}) * 1000 / $t / $msgs")"
    else
        line+=" cpu_hook_ms=0"
    fi
    line+=" redis_cmds=$(sgb_calc "(${r1% *} - ${r0% *}) / $msgs")"
    line+=" evalsha=$(sgb_calc "(${r1#* } - ${r0#* }) / $msgs")"
    echo "$line" >>"$results"
    echo "$line"
}

sg_log "warming up each listener"
for who in "${order[@]}"; do
    load "$who" 2 >/dev/null
done

declare -A col
for ((i = 0; i < reps; i++)); do
    declare -A got=()
    for ((j = 0; j < n; j++)); do
        who=${order[$(((i + j) % n))]}
        sg_log "round $((i + 1))/$reps: $who"
        got[$who]=$(load "$who" "$secs")
    done
    for who in "${order[@]}"; do
        line=${got[$who]}
        for f in mps dot_p50 dot_p99 cpu_hook_ms cpu_redis_ms cpu_postfix_ms redis_cmds evalsha; do
            col[$who.$f]+="$(sgb_field "$line" "$f") "
        done
        col[$who.ratio]+="$(sgb_calc "$(sgb_field "$line" mps) / $(sgb_field "${got[none]}" mps)") "
        col[$who.acc]+="$(sgb_field "$line" accepted)/$(sgb_field "$line" msgs) "
    done
    unset got
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
echo
sgb_machine
echo "load average before: $load_before; after: $load_after"
echo "method: Postfix $(postconf -d -h mail_version 2>/dev/null), rspamd $(rspamd --version 2>/dev/null | awk '{ print $NF; exit }'), postfwd2 $(dpkg-query -W -f='${Version}' postfwd 2>/dev/null); $sessions concurrent AUTH PLAIN sessions, 1 msg/session, 1 rcpt, 2048 bytes, $logins logins, discard transport; $reps rounds of ${secs}s per listener in rotating order, queue drained between runs; medians of rounds"
echo
echo "| hook | enforcement check | outcome |"
echo "|---|---|---|"
cat "$SG_DIR/enforce.txt"
echo
echo "| listener | msgs/s ratio to none (median, range) | msgs/s | end-of-DATA p50 / p99 ms | hook CPU ms/msg | Redis CPU ms/msg | Postfix CPU ms/msg | Redis cmds/msg (script calls: FCALL or EVALSHA) | accepted/sent per run |"
echo "|---|---|---|---|---|---|---|---|---|"
for who in "${order[@]}"; do
    # shellcheck disable=SC2086 # lists of numbers
    printf '| %s | %.3f (%s) | %.0f | %.1f / %.1f | %.2f | %.3f | %.2f | %.1f (%.1f) | %s |\n' "$who" \
        "$(sgb_median ${col[$who.ratio]})" "$(range ${col[$who.ratio]})" \
        "$(sgb_median ${col[$who.mps]})" \
        "$(sgb_calc "$(sgb_median ${col[$who.dot_p50]}) / 1000")" \
        "$(sgb_calc "$(sgb_median ${col[$who.dot_p99]}) / 1000")" \
        "$(sgb_median ${col[$who.cpu_hook_ms]})" "$(sgb_median ${col[$who.cpu_redis_ms]})" \
        "$(sgb_median ${col[$who.cpu_postfix_ms]})" \
        "$(sgb_median ${col[$who.redis_cmds]})" "$(sgb_median ${col[$who.evalsha]})" \
        "${col[$who.acc]}"
done
[[ -z $out ]] || cp "$results" "$out"
peer_rspamd_stop
peer_postfwd_stop
for p in "${null_pid[@]}"; do sgb_stop "$p"; done
