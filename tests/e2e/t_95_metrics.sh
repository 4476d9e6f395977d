#!/bin/bash
# t_95_metrics: /metrics of subguard and subguard-feed move as real mail flows.
# mta: postfix sendmail
# subguard ([metrics] listen) and subguard-feed (feed_listen) on free
# loopback ports, stats_interval = 1s, the MTA's real delivery log. Proves,
# scraping with curl before and after each step:
#  1. one clean message: subguard_decisions_total{action="accept",
#     stage="eom"} +1 exactly, and exactly 2 Redis round trips
#     (subguard_redis_calls_total{result="ok"}, the histogram's count);
#     the feed reads the delivery line (lines_total{kind="delivered"});
#  2. three recipients the next hop refuses: the feed counts exactly 3
#     outcomes and quarantines the login once (quarantine_failed = 2/1h,
#     3 failed of the hour's 5 recipients being over spam_failure, 50%):
#     subguard_quarantines_total{source="feed"} +1 on the feed;
#  3. the login's next message is held: decisions hold/eom +1 on subguard;
#  4. support lifts with redis-cli DEL: the next message is accepted and
#     subguard_lifts_total +1;
#  5. both programs wrote statistics lines, and subguard's add up to its
#     counters; POST is refused (405).
set -euo pipefail
. "$(dirname "$0")/harness.sh"

# Counting through the MTA's log: give Redis time on a loaded machine.
# shellcheck disable=SC2034 # read by sg_world_up
SG_CONF_REDIS='timeout = 2s'
sg_world_up
sg_user erin 'erin-pw'
read -r mport fport < <(sg__free_ports 2)
sg_subguard_conf "[tier default]
messages = 100/1h
recipients = 1000/1h
quarantine_recipients = 100000/1d
quarantine_rejected = 1000/1h
quarantine_failed = 2/1h
normal_failure = 40%
spam_failure = 50%

[metrics]
listen = 127.0.0.1:$mport
feed_listen = 127.0.0.1:$fport
stats_interval = 1s"
sg_subguard_start
sg_feed_start
E=erin@example.net
MU=http://127.0.0.1:$mport/metrics
FU=http://127.0.0.1:$fport/metrics

# sample URL SERIES - the series' value in a scrape now (0 when absent)
sample() {
    local v
    v=$(curl -sf "$1" | awk -v s="$2" '$1 == s { print $2 }') || v=
    echo "${v:-0}"
}
# decision ACTION STAGE - subguard's decisions counter
decision() { sample "$MU" "subguard_decisions_total{action=\"$1\",stage=\"$2\"}"; }
# settled - subguard's commit queue is empty (commits go after the reply)
settled() { [[ $(sample "$MU" subguard_commit_queue_depth) == 0 ]]; }

# send RCPTS - one message from erin, accepted at the end of DATA
send() {
    local out
    out=$(sg_submit --user "$E" --password erin-pw --to "$1") ||
        sg_fail "submit failed: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA"
}

curl -sf -o /dev/null "$MU" || sg_fail "subguard serves no metrics on $MU"
curl -sf -o /dev/null "$FU" || sg_fail "subguard-feed serves no metrics on $FU"

# --- 1. A clean message --------------------------------------------------------
a0=$(decision accept eom)
ok0=$(sample "$MU" 'subguard_redis_calls_total{result="ok"}')
n0=$(sample "$MU" subguard_redis_roundtrip_seconds_count)
d0=$(sample "$FU" 'subguard_feed_lines_total{kind="delivered"}')
send good1@remote.example
sg_wait_eq 1 sg_delivered_count good1@remote.example || sg_fail "good1: $SG_LAST deliveries"
sg_wait_eq $((a0 + 1)) decision accept eom || sg_fail "accept/eom: $SG_LAST, want $((a0 + 1))"
sg_wait_for settled || sg_fail "subguard's commit queue did not empty"
sg_assert_eq $((ok0 + 2)) "$(sample "$MU" 'subguard_redis_calls_total{result="ok"}')" \
    "Redis round trips for one message"
sg_assert_eq $((n0 + 2)) "$(sample "$MU" subguard_redis_roundtrip_seconds_count)" \
    "round-trip histogram count"
sg_assert_eq 0 "$(sample "$MU" subguard_redis_outage)" "outage gauge"
delivered() { (($(sample "$FU" 'subguard_feed_lines_total{kind="delivered"}') > d0)); }
sg_wait_for -t 20 delivered || sg_fail "the feed's delivered lines did not move"

# --- 2. Three bounces: the feed counts them and quarantines --------------------
c0=$(sample "$FU" 'subguard_feed_outcomes_total{result="counted"}')
fq0=$(sample "$FU" 'subguard_quarantines_total{source="feed"}')
send bad1@remote.example,bad2@remote.example,bad3@remote.example,good2@remote.example
sg_wait_eq -t 30 $((c0 + 3)) sample "$FU" 'subguard_feed_outcomes_total{result="counted"}' ||
    sg_fail "feed outcomes counted: $SG_LAST, want $((c0 + 3))"
sg_wait_eq -t 10 $((fq0 + 1)) sample "$FU" 'subguard_quarantines_total{source="feed"}' ||
    sg_fail "feed quarantines: $SG_LAST, want $((fq0 + 1))"
sg_assert_eq 1 "$(sg_redis exists "subguard:{$E}:quarantine")" "quarantine in Redis"
sg_assert_eq 0 "$(sample "$MU" 'subguard_quarantines_total{source="submission"}')" \
    "subguard's own quarantines"

# --- 3. The next message is held ------------------------------------------------
h0=$(decision hold eom)
send good3@remote.example
sg_wait_eq $((h0 + 1)) decision hold eom || sg_fail "hold/eom: $SG_LAST, want $((h0 + 1))"

# --- 4. A lift by redis-cli DEL, seen by the next message -----------------------
l0=$(sample "$MU" subguard_lifts_total)
a1=$(decision accept eom)
sg_assert_eq 1 "$(sg_redis del "subguard:{$E}:quarantine")" "DEL quarantine"
send good4@remote.example
sg_wait_eq 1 sg_delivered_count good4@remote.example || sg_fail "good4: $SG_LAST deliveries"
sg_wait_eq $((l0 + 1)) sample "$MU" subguard_lifts_total || sg_fail "lifts: $SG_LAST, want $((l0 + 1))"
sg_wait_eq $((a1 + 1)) decision accept eom || sg_fail "accept/eom after the lift: $SG_LAST"

# --- 5. Statistics lines, and only GET ------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MU")
sg_assert_eq 405 "$code" "POST /metrics"
# logged ACTION - the sum of ACTION= over subguard's statistics lines
logged() {
    grep -o 'stats: interval=1s .*' "$SG_DIR/subguard.log" | grep -o " $1=[0-9]*" |
        awk -F= '{ n += $2 } END { print n + 0 }'
}
# total ACTION - subguard's decisions of ACTION over all stages
total() {
    curl -sf "$MU" | awk -v a="$1" 'index($1, "subguard_decisions_total{action=\"" a "\"") == 1 { n += $2 } END { print n + 0 }'
}
for a in accept hold lift; do
    sg_wait_eq -t 5 "$(total "$a")" logged "$a" || sg_fail "stats lines say $a=$SG_LAST, counters $(total "$a")"
done
sg_wait_for -t 5 grep -q 'stats: interval=1s lines=' "$SG_DIR/feed.log" ||
    sg_fail "subguard-feed wrote no statistics line"
sg_feed_stop
sg_assert_eq 0 "$SG_FEED_RC" "feed exit status"

echo "t_95_metrics: ok"
