#!/bin/bash
#
# NAME
#	run-postfix.sh - submission throughput through a real Postfix:
#	no milter, the do-nothing milter, subguard
# SYNOPSIS
#	bash bench/run-postfix.sh [--quick] [--reps N] [--secs S]
#		[--sessions N] [--logins K] [--rcpts N] [--size BYTES]
#		[--per-session M] [--deliver discard|sink] [--out FILE]
# DESCRIPTION
#	Builds the end-to-end test world (tests/e2e/harness.sh: private
#	Postfix with Cyrus SASL, Redis, sink; run as root) and adds two more
#	submission listeners to the same Postfix, identical but for
#	smtpd_milters: one with sg-nullmilter (subguard's negotiation, no
#	work), one with no milter at all. sg-smtpload then sends
#	authenticated mail (AUTH PLAIN, SESSIONS concurrent sessions, 50 by
#	default, over LOGINS accounts) to each listener in rotating order,
#	REPS times, waiting for the queue to drain between runs so that no
#	run pays for the previous one's deliveries.
#
#	Delivery: by default every message goes to Postfix's discard(8)
#	transport, so the figures are those of submission (smtpd, cleanup,
#	the queue, the milter) and not of a Python test sink; --deliver sink
#	relays to the harness's sink instead.
#
#	Reports medians of msgs/s and of p99 latency per message (MAIL to
#	the final reply) for the three, and the medians of the per-round
#	ratios subguard/null (the target) and null/none (what being a
#	libmilter milter costs at all). Also FCALL calls per message from
#	Redis's INFO commandstats during the subguard runs.
# DIAGNOSTICS
#	Reports; never fails because the machine is slow. Fails (via the
#	harness) if the world cannot be built.

set -euo pipefail
reps=5 secs=10 sessions=50 logins=200 rcpts=1 size=2048 per_session=1
deliver=discard out=
while (($#)); do
    case $1 in
    --quick) reps=3 secs=5 ;;
    --reps) reps=$2; shift ;;
    --secs) secs=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    --logins) logins=$2; shift ;;
    --rcpts) rcpts=$2; shift ;;
    --size) size=$2; shift ;;
    --per-session) per_session=$2; shift ;;
    --deliver) deliver=$2; shift ;;
    --out) out=$2; shift ;;
    *) echo "usage: run-postfix.sh [--quick] [--reps N] [--secs S] [--sessions N] [--logins K] [--rcpts N] [--size BYTES] [--per-session M] [--deliver discard|sink] [--out FILE]" >&2; exit 2 ;;
    esac
    shift
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SG_SRC:=$(cd "$here/.." && pwd)}"
: "${SG_BUILD:=$SG_SRC/build}"
export SG_SRC SG_BUILD
for t in "$SG_BUILD/subguard" "$SG_BUILD/bench/sg-smtpload" "$SG_BUILD/bench/sg-nullmilter"; do
    [[ -x $t ]] || { echo "run-postfix.sh: $t missing (build first)" >&2; exit 1; }
done
# shellcheck source=../tests/e2e/harness.sh
. "$SG_SRC/tests/e2e/harness.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

if [[ $deliver == discard ]]; then
    SG_PF_MAIN_EXTRA="default_transport = discard:benchmark"
fi
# Many concurrent sessions from 127.0.0.1: raise the per-client limits
# (mynetworks is exempt by default; be explicit).
SG_PF_MAIN_EXTRA="${SG_PF_MAIN_EXTRA:-}
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 200"
export SG_PF_MAIN_EXTRA
sg_world_up

sg_log "creating $logins SASL logins"
for ((i = 0; i < logins; i++)); do
    printf '%s' secret | saslpasswd2 -p -c -f "$SG_DIR/sasldb2" -u "$SG_REALM" "user$i" ||
        sg_fail "saslpasswd2 user$i"
done
chown root:postfix "$SG_DIR/sasldb2"
chmod 640 "$SG_DIR/sasldb2"

sg_subguard_conf "$(sed -n '/^\[tier /,$p' "$SG_SRC/bench/subguard-bench.conf.in")"
sg_subguard_start

# The do-nothing milter, reachable by user postfix.
# SG_WORLD marks it as the world's: the harness stops it whatever happens.
SG_WORLD=$SG_DIR "$SG_BUILD/bench/sg-nullmilter" -p "unix:$SG_DIR/null.sock" -m 0666 </dev/null \
    >"$SG_DIR/null.log" 2>&1 &
null_pid=$!
SGB_PIDS=("$null_pid")
sg_wait_for -t 10 test -S "$SG_DIR/null.sock" || sg_fail "sg-nullmilter did not start"

read -r port_null port_none < <(sg__free_ports 2)
sg_submission_add "$port_null" "smtpd_milters=unix:$SG_DIR/null.sock"
sg_submission_add "$port_none" "smtpd_milters="
declare -A port=([none]=$port_none [null]=$port_null [subguard]=$SG_SUBPORT)

SGB_REDIS_SOCK=$SG_REDIS_SOCK
results=$SG_DIR/results.txt
: >"$results"

# drained - the queue is empty (deliveries done) or 60 s passed
drained() {
    sg_wait_for -t 60 sg_queue_empty || sg_log "queue not empty after 60 s; going on"
}

# load WHO SECONDS [ARGS] - one sg-smtpload run; prints its RESULT line
load() {
    local who=$1 s=$2 e0 e1 line
    shift 2
    e0=$(sgb_script_calls)
    line=$("$SG_BUILD/bench/sg-smtpload" -s "127.0.0.1:${port[$who]}" -L "$who" -R \
        -c "$sessions" -d "$s" -k "$logins" -p secret -r "$rcpts" -z "$size" \
        -m "$per_session" "$@" | grep '^RESULT')
    e1=$(sgb_script_calls)
    line="$line calls_per_msg=$(sgb_calc "($e1 - $e0) / $(sgb_field "$line" begun)")"
    echo "$line" >>"$results"
    echo "$line"
}

sg_log "warming up each listener"
for who in none null subguard; do
    load "$who" 2 >/dev/null
    drained
done

declare -A mps p99 acc
order=(none null subguard)
r_sn=() r_nn=() r_sx=() ev=() add=()
for ((i = 0; i < reps; i++)); do
    # Rotate the order each round: none null subguard, null subguard none, ...
    declare -A got=()
    for ((j = 0; j < 3; j++)); do
        who=${order[$(((i + j) % 3))]}
        sg_log "round $((i + 1))/$reps: $who"
        line=$(load "$who" "$secs")
        got[$who]=$line
        mps[$who]+="$(sgb_field "$line" mps) "
        p99[$who]+="$(sgb_field "$line" msg_p99) "
        acc[$who]+="$(sgb_field "$line" accepted)/$(sgb_field "$line" msgs) "
        drained
    done
    r_sn+=("$(sgb_calc "$(sgb_field "${got[subguard]}" mps) / $(sgb_field "${got[null]}" mps)")")
    r_nn+=("$(sgb_calc "$(sgb_field "${got[null]}" mps) / $(sgb_field "${got[none]}" mps)")")
    r_sx+=("$(sgb_calc "$(sgb_field "${got[subguard]}" mps) / $(sgb_field "${got[none]}" mps)")")
    add+=("$(sgb_calc "$(sgb_field "${got[subguard]}" msg_p99) - $(sgb_field "${got[null]}" msg_p99)")")
    ev+=("$(sgb_field "${got[subguard]}" calls_per_msg)")
    unset got
done

range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
echo
sgb_machine
echo "method: Postfix $(postconf -d -h mail_version 2>/dev/null) submission, $sessions concurrent AUTH PLAIN sessions, $per_session msg/session, $rcpts rcpt, $size bytes, $logins logins, delivery: $deliver; $reps rounds of ${secs}s per listener in rotating order, queue drained between runs; medians"
echo
echo "| listener | msgs/s (median) | p99 per message µs (median) | accepted/sent per run |"
echo "|---|---|---|---|"
for who in none null subguard; do
    # shellcheck disable=SC2086
    printf '| %s | %.0f | %.0f | %s |\n' "$who" "$(sgb_median ${mps[$who]})" \
        "$(sgb_median ${p99[$who]})" "${acc[$who]}"
done
echo
printf '| ratio (median of rounds, range) | value |\n|---|---|\n'
printf '| subguard / null milter (target ≥ 0.95) | **%.3f** (%s) |\n' "$(sgb_median "${r_sn[@]}")" "$(range "${r_sn[@]}")"
printf '| null milter / no milter (price of any libmilter milter) | %.3f (%s) |\n' "$(sgb_median "${r_nn[@]}")" "$(range "${r_nn[@]}")"
printf '| subguard / no milter | %.3f (%s) |\n' "$(sgb_median "${r_sx[@]}")" "$(range "${r_sx[@]}")"
printf '| p99 added by subguard over the null milter, µs | %.0f |\n' "$(sgb_median "${add[@]}")"
printf '| FCALL per message (Redis INFO commandstats) | %s |\n' "$(sgb_median "${ev[@]}")"
[[ -z $out ]] || cp "$results" "$out"
sgb_stop "$null_pid"
