#!/bin/bash
# t_failover: Redis Sentinel failover under load, two subguard nodes.
#
# A master and a replica redis-server and three redis-sentinel processes on
# loopback TCP ports (quorum 2, down-after-milliseconds 1000); two subguard
# nodes (own config, own socket, both [redis] sentinels = ..., no address)
# behind one real private Postfix: the world's submission listener uses
# node A, a second listener (sg_submission_add) node B. Load through both
# listeners (tests/fault/load.py), then the master is killed (SIGKILL).
#
# Measured and printed (FIGURES lines):
#  - seconds from the kill until a sentinel (and all) name the new master, and
#    until each node refuses a login over its limit again (451), and the
#    difference (how promptly a node follows the failover);
#  - messages of the load accepted uncounted (accepted minus counted on the
#    new master), and the over-limit login's messages let through;
# Asserted:
#  - 0 messages lost, 0 answered with 5xx, none dropped (both loads);
#  - a login over its limit gets 451 again on both nodes within 20 s of the
#    kill, each node within 5 s of the first sentinel naming the new master;
#  - uncounted messages no more than those accepted between the kill and
#    the recovery, plus one in flight per session (replication lag);
#  - both nodes logged the new master; the new master has the engine's
#    library (replicated from the old one with FUNCTION LOAD, or loaded on
#    "Function not found");
#  - after the failover one login's limit (3 messages/1h) holds across
#    both nodes: 3 accepted alternately through A and B, then 451 on both;
#  - subguard-feed, started before the kill on the same sentinels, counts
#    a bounce on the new master without a restart.
set -euo pipefail
. "$(dirname "$0")/../fault/lib.sh"

MASTER=sgm
declare -A HA_PIDS=()

# ha_cli PORT ARGS... - redis-cli on a loopback port, raw output
ha_cli() {
    local port=$1
    shift
    redis-cli -h 127.0.0.1 -p "$port" --raw "$@"
}

# ha_start NAME PROGRAM CONF - run a redis-server or redis-sentinel in the
# foreground of a background job carrying SG_WORLD (sg_world_down stops it)
ha_start() {
    SG_WORLD=$SG_DIR "$2" "$3" </dev/null >>"$SG_DIR/ha-$1.out" 2>&1 &
    HA_PIDS[$1]=$!
}

# ha_field PORT FIELD - a field of SENTINEL MASTER (name/value list)
ha_field() {
    ha_cli "$1" SENTINEL MASTER "$MASTER" 2>/dev/null |
        awk -v f="$2" 'prev == f { print; exit } { prev = $0 }'
}

# ha_master_port SENTINELPORT - the master's port as that sentinel says
ha_master_port() {
    ha_cli "$1" SENTINEL get-master-addr-by-name "$MASTER" 2>/dev/null | sed -n 2p
}

# ha_watch_start - in the background, note the wall-clock time at which
# the first sentinel, then all of them, name the replica as the master
# ("any T" and "all T" lines in $SG_DIR/ha-switch), polling every 50 ms.
ha_watch_start() {
    : >"$SG_DIR/ha-switch"
    # shellcheck disable=SC2016 # the script is for the inner bash
    SG_WORLD=$SG_DIR bash -c '
        rport=$1 out=$2 name=$3 any=""
        shift 3
        end=$(( ${EPOCHREALTIME%[.,]*} + 60 ))
        while (( ${EPOCHREALTIME%[.,]*} < end )); do
            n=0
            for s in "$@"; do
                p=$(redis-cli -h 127.0.0.1 -p "$s" --raw SENTINEL \
                    get-master-addr-by-name "$name" 2>/dev/null | sed -n 2p)
                [[ $p == "$rport" ]] && n=$((n + 1))
            done
            if (( n > 0 )) && [[ -z $any ]]; then
                any=${EPOCHREALTIME/,/.}
                echo "any $any" >>"$out"
            fi
            if (( n == $# )); then
                echo "all ${EPOCHREALTIME/,/.}" >>"$out"
                exit 0
            fi
            sleep 0.05
        done' ha-watch "$RPORT" "$SG_DIR/ha-switch" "$MASTER" "${SPORTS[@]}" </dev/null &
    HA_WATCH=$!
}

# ha_ready - every sentinel sees the other two and one healthy replica
ha_ready() {
    local s
    for s in "${SPORTS[@]}"; do
        [[ $(ha_field "$s" num-other-sentinels) == 2 ]] || return 1
        [[ $(ha_field "$s" num-slaves) == 1 ]] || return 1
    done
    ha_cli "$RPORT" INFO replication | grep -q '^master_link_status:up'
}

# ha_counter PORT LOGIN FIELD - FIELD of LOGIN's counters on that Redis
ha_counter() {
    local v
    v=$(ha_cli "$1" HGET "subguard:{$2}:counters" "$3" 2>/dev/null) || v=
    echo "${v:-0}"
}

# ha_send PORT LOGIN PASSWORD TO - one message; prints "CODE DOTCODE", CODE
# the message's answer: MAIL's if it was refused, else the first RCPT's,
# where subguard decides a message ("CODE -" when refused); never fails
# (safe in $(...))
ha_send() {
    local out
    out=$("$SG_PY" "$SG_E2E/submit.py" --port "$1" --user "$2" --password "$3" \
        --to "$4" 2>/dev/null) || true
    "$SG_PY" -c '
import json, sys
try:
    m = json.loads(sys.stdin.read().strip().splitlines()[-1])
except Exception:
    print("err err"); sys.exit(0)
first = lambda v: v[0] if isinstance(v, list) and v else v
mail = first(m.get("mail"))
if mail == 250:
    mail = first(m.get("first"))
dot = first(m.get("data"))
print(mail if mail is not None else "err", dot if dot is not None else "-")
' <<<"$out"
}

sg_world_up
fault_users 8
sg_user lim lim-pw
sg_user two two-pw
sg_user fb fb-pw

# --- Redis: master, replica, three sentinels ------------------------------
read -r MPORT RPORT S1 S2 S3 <<<"$(sg__free_ports 5)"
SPORTS=("$S1" "$S2" "$S3")
for n in m r; do
    port=$MPORT
    [[ $n == r ]] && port=$RPORT
    mkdir -p "$SG_DIR/ha-$n"
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "save \"\""
        echo "appendonly no"
        echo "dir $SG_DIR/ha-$n"
        echo "logfile $SG_DIR/ha-$n/redis.log"
        [[ $n == r ]] && echo "replicaof 127.0.0.1 $MPORT"
    } >"$SG_DIR/ha-$n/redis.conf"
    ha_start "$n" redis-server "$SG_DIR/ha-$n/redis.conf"
done
i=0
for s in "${SPORTS[@]}"; do
    i=$((i + 1))
    mkdir -p "$SG_DIR/ha-s$i"
    cat >"$SG_DIR/ha-s$i/sentinel.conf" <<EOF
port $s
bind 127.0.0.1
dir $SG_DIR/ha-s$i
logfile $SG_DIR/ha-s$i/sentinel.log
sentinel monitor $MASTER 127.0.0.1 $MPORT 2
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 6000
sentinel parallel-syncs $MASTER 1
EOF
    ha_start "s$i" redis-sentinel "$SG_DIR/ha-s$i/sentinel.conf"
done
t_up=$(fault_now)
sg_wait_for -t 40 ha_ready ||
    sg_fail "sentinels not ready: $(for s in "${SPORTS[@]}"; do echo "$s: others=$(ha_field "$s" num-other-sentinels) replicas=$(ha_field "$s" num-slaves);"; done)"
sg_log "redis master :$MPORT replica :$RPORT sentinels ${SPORTS[*]}: ready after $(fault_ms_since "$t_up") ms"

# --- two subguard nodes on the sentinels ----------------------------------
# lim and two stay in the default tier (3 messages an hour); the load's
# logins are "bulk" (limits never reached), set on the master: the replica
# has them too.
sg_subguard_conf '[tier default]
messages = 3/1h
recipients = 100/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 100/1h
[tier bulk]
messages = 100000/1h
recipients = 100000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 100000/1h'
# Sentinels instead of the harness's address; 500 ms keeps a loaded machine
# from adding timeouts of its own to the one outage under test.
sed -i -e '/^address = /d' -e "s|^\[redis\]\$|[redis]\nsentinels = 127.0.0.1:$S1, 127.0.0.1:$S2 127.0.0.1:$S3\nmaster_name = $MASTER\ntimeout = 500ms|" \
    "$SG_DIR/subguard.conf"
grep -q '^sentinels = ' "$SG_DIR/subguard.conf" || sg_fail "config edit failed"
for ((i = 1; i <= 8; i++)); do
    ha_cli "$MPORT" SET "subguard:{fl$i@example.net}:tier" bulk >/dev/null
done
sg_subguard_start                                   # node A
B_SOCK=$SG_DIR/subguard-b.sock
B_CONF=$SG_DIR/subguard-b.conf
B_LOG=$SG_DIR/subguard-b.log
sed "s|^listen = .*|listen = unix:$B_SOCK|" "$SG_DIR/subguard.conf" >"$B_CONF"
SG_WORLD=$SG_DIR "$SG_BUILD/subguard" -f -c "$B_CONF" </dev/null >>"$B_LOG" 2>&1 &
B_PID=$!
b_ready() { [[ -S $B_SOCK ]] && runuser -u postfix -- test -w "$B_SOCK"; }
sg_wait_for -t 10 b_ready || sg_fail "node B did not open $B_SOCK: $(tail -5 "$B_LOG")"
B_PORT=$(sg_free_port)
sg_submission_add "$B_PORT" "smtpd_milters=unix:$B_SOCK" syslog_name=postfix/submission-b
A_PORT=$SG_SUBPORT
# The feed on the same sentinels, started before the failover: it must
# follow it without a restart.
sg_feed_start

# lim reaches its limit before the failover, through both nodes.
for p in "$A_PORT" "$B_PORT" "$A_PORT"; do
    sg_assert_eq "250 250" "$(ha_send "$p" lim@example.net lim-pw l@remote.example)" "lim before the limit via :$p"
done
sg_wait_eq -t 5 3 ha_counter "$MPORT" lim@example.net msgs || sg_fail "lim's count on the master: $SG_LAST"
for p in "$A_PORT" "$B_PORT"; do
    sg_assert_eq "451 -" "$(ha_send "$p" lim@example.net lim-pw l@remote.example)" "lim over the limit via :$p"
done
sg_wait_eq -t 10 3 ha_counter "$RPORT" lim@example.net msgs || sg_fail "lim's count on the replica: $SG_LAST"

# --- load through both nodes, then the master dies ------------------------
sessions=${SG_HA_SESSIONS:-4}
fault_load_start a --sessions "$sessions" --count 20000 --duration 30 --per-session 5 --pace 0.1
SG_SUBPORT=$B_PORT fault_load_start b --sessions "$sessions" --count 20000 --duration 30 --per-session 5 --pace 0.1
fault_wait_attempts a 30
fault_wait_attempts b 30

ha_watch_start
t_kill=$(fault_now)
kill -KILL "${HA_PIDS[m]}"
wait "${HA_PIDS[m]}" 2>/dev/null || true
sg_log "master :$MPORT killed at $t_kill"

# Poll: the sentinels' answer, and lim through each node until 451.
t_enf_a='' t_enf_b='' lim_through=0 wrong=0
deadline=$(( ${EPOCHREALTIME%[.,]*} + 40 ))
while [[ -z $t_enf_a || -z $t_enf_b ]]; do
    (( ${EPOCHREALTIME%[.,]*} < deadline )) || break
    for node in a b; do
        v=t_enf_$node
        [[ -z ${!v} ]] || continue
        p=$A_PORT
        [[ $node == b ]] && p=$B_PORT
        r=$(ha_send "$p" lim@example.net lim-pw l@remote.example)
        case $r in
        "451 -") printf -v "$v" '%s' "$(fault_now)" ;;
        "250 250") lim_through=$((lim_through + 1)) ;;
        5*|*" 5"*) wrong=$((wrong + 1)); sg_log "lim via $node: $r" ;;
        *) ;;
        esac
    done
    sleep 0.2
done
wait "$HA_WATCH" || sg_fail "the sentinels did not all name :$RPORT within 60 s"
t_switch=$(awk '$1 == "any" { print $2 }' "$SG_DIR/ha-switch")
t_all=$(awk '$1 == "all" { print $2 }' "$SG_DIR/ha-switch")
secs() { "$SG_PY" -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
switch_s=$(secs "$t_kill" "$t_switch")
all_s=$(secs "$t_kill" "$t_all")
[[ -n $t_enf_a ]] || sg_fail "node A did not refuse lim again within 40 s of the kill (switch after ${switch_s}s)"
[[ -n $t_enf_b ]] || sg_fail "node B did not refuse lim again within 40 s of the kill (switch after ${switch_s}s)"
enf_a=$(secs "$t_kill" "$t_enf_a")
enf_b=$(secs "$t_kill" "$t_enf_b")
t_enf=$t_enf_a
[[ $(secs "$t_enf_a" "$t_enf_b") == -* ]] || t_enf=$t_enf_b
follow_a=$(secs "$t_switch" "$t_enf_a")
follow_b=$(secs "$t_switch" "$t_enf_b")
sg_log "kill -> a sentinel names the new master: ${switch_s}s (all three: ${all_s}s); -> 451 again: A ${enf_a}s, B ${enf_b}s (A ${follow_a}s, B ${follow_b}s after the switch); lim let through meanwhile: $lim_through"
fault_note "switch_s=$switch_s switch_all_s=$all_s enforced_a_s=$enf_a enforced_b_s=$enf_b follow_a_s=$follow_a follow_b_s=$follow_b lim_over_limit_accepted=$lim_through"
sg_assert_eq 0 "$wrong" "5xx answers to lim during the failover"
for f in "$enf_a" "$enf_b"; do
    "$SG_PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 20 else 1)' "$f" ||
        sg_fail "limits enforced again only ${f}s after the kill (want <= 20 s)"
done
for f in "$follow_a" "$follow_b"; do
    "$SG_PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 5 else 1)' "$f" ||
        sg_fail "a node followed the new master only ${f}s after the sentinels named it (want <= 5 s)"
done

# --- account for the load --------------------------------------------------
fault_load_wait a
fault_load_wait b
fault_reconcile a --window failover:"$t_kill":"$t_enf"
SG_SUBPORT=$B_PORT fault_reconcile b --window failover:"$t_kill":"$t_enf"
for t in a b; do
    sg_assert_eq 0 "$(fault_field "$t" lost)" "load $t: messages lost"
    sg_assert_eq 0 "$(fault_field "$t" attempts_rejected_5xx)" "load $t: 5xx answers"
done

# Uncounted: accepted by the load minus counted on the new master. Bound:
# what was accepted from the kill to the recovery, plus one message in
# flight per session (commits and replication a moment behind the reply).
read -r accepted in_outage <<<"$("$SG_PY" -c '
import json, sys
n = w = 0
for f in sys.argv[3:]:
    for l in open(f):
        r = json.loads(l)
        if r.get("dot") and r["dot"][0] == 250:
            n += 1
            if float(sys.argv[1]) <= r["t_mail"] <= float(sys.argv[2]):
                w += 1
print(n, w)' "$t_kill" "$t_enf" "$SG_DIR/fault-a.jsonl" "$SG_DIR/fault-b.jsonl")"
counted=0
for ((i = 1; i <= 8; i++)); do
    counted=$((counted + $(ha_counter "$RPORT" "fl$i@example.net" msgs)))
done
uncounted=$((accepted - counted))
sg_log "load: accepted $accepted, counted on the new master $counted, uncounted $uncounted (accepted during the outage: $in_outage)"
fault_note "accepted=$accepted counted=$counted uncounted=$uncounted accepted_during_outage=$in_outage sessions=$((2 * sessions))"
(( counted > 0 )) || sg_fail "nothing counted on the new master"
(( uncounted >= 0 )) || sg_fail "counted $counted > accepted $accepted"
(( uncounted <= in_outage + 2 * sessions )) ||
    sg_fail "uncounted $uncounted > accepted during the outage $in_outage + $((2 * sessions)) in flight"

# Both nodes followed the new master, which has the engine's library.
sg_assert_eq 1 "$(sg_subguard_log_count "redis master $MASTER now at 127\.0\.0\.1:$RPORT")" "node A's new-master lines"
sg_assert_eq 1 "$(sg_subguard_log_count "redis master $MASTER now at 127\.0\.0\.1:$RPORT" "$B_LOG")" "node B's new-master lines"
loads=$(ha_cli "$RPORT" INFO commandstats | awk -F'[=:,]' '/^cmdstat_function\|load:/ { print $3 }')
libs=$(ha_cli "$RPORT" FUNCTION LIST | grep -c '^sg_' || true)
sg_log "the engine's library on the new master: $libs (FUNCTION LOAD calls there: ${loads:-0})"
(( libs >= 1 )) || sg_fail "the new master has no engine library"

# One login's limit across both nodes, after the failover.
got=
for p in "$A_PORT" "$B_PORT" "$A_PORT" "$B_PORT" "$A_PORT"; do
    got+="$(ha_send "$p" two@example.net two-pw t@remote.example | cut -d' ' -f1) "
    sg_wait_eq -t 5 "$(grep -o 250 <<<"$got" | grep -c . || true)" ha_counter "$RPORT" two@example.net msgs ||
        sg_fail "two's count on the new master: $SG_LAST after $got"
done
sg_assert_eq "250 250 250 451 451 " "$got" "codes of 'two' alternating A, B after the failover (3/1h)"

# The feed counts a bounce on the new master, without a restart.
sg_assert_eq "250 250" "$(ha_send "$A_PORT" fb@example.net fb-pw bad1@remote.example)" "fb's message to a bouncing recipient"
sg_wait_eq -t 30 1 ha_counter "$RPORT" fb@example.net bounced ||
    sg_fail "the feed did not count fb's bounce on the new master: $SG_LAST; $(tail -n 5 "$SG_DIR/feed.log")"
sg_assert_eq 1 "$(sg_subguard_log_count "redis master $MASTER now at 127\.0\.0\.1:$RPORT" "$SG_DIR/feed.log")" "the feed's new-master lines"
sg_feed_stop
sg_assert_eq 0 "$SG_FEED_RC" "the feed's exit status on SIGTERM"

sg__alive "$B_PID" || sg_fail "node B died"
sg_subguard_running || sg_fail "node A died"
kill -TERM "$B_PID"
wait "$B_PID" || true
echo "t_failover: ok"
