#!/bin/bash
# t_30_tiers: a login's tier comes from Redis at every message.
# mta: postfix sendmail
# Proves: a login over the default tier's message limit (1/1h) is refused
# at its first RCPT; after support sets subguard:{LOGIN}:tier to "bulk" the very next
# message is delivered (same subguard process, no reload) and logged with
# tier=bulk; a tier name the configuration does not know is logged
# ("unknown tier") and the default tier applies again (refused at the first RCPT,
# logged with tier=default); deleting the tier key returns to the default.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user carol 'carol-pw'
sg_subguard_conf '[tier default]
messages = 1/1h
recipients = 10/1h
quarantine_recipients = 100/1d
quarantine_rejected = 50/1h

[tier bulk]
messages = 100/1h
recipients = 1000/1h
quarantine_recipients = 10000/1d
quarantine_rejected = 500/1h'
sg_subguard_start
pid=$SG_SUBGUARD_PID
tierkey='subguard:{carol@example.net}:tier'

# send N - one message from carol to tN@remote.example; sets out, mail
# (the reply to its first RCPT, where subguard decides a message), qid
send() {
    out=$(sg_submit --user carol@example.net --password carol-pw --to "t$1@remote.example") ||
        sg_fail "submit $1 failed: $out"
    mail=$(sg_json 'm["first"][0]' <<<"$out")
    qid=$(sg_json 'm["queue_id"]' <<<"$out")
}

# 1. Default tier: one message an hour.
send 1
sg_assert_eq 250 "$mail" "first RCPT of message 1 (default tier)"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "DATA of message 1"
sg_wait_eq 1 sg_delivered_count t1@remote.example || sg_fail "t1: $SG_LAST deliveries"
send 2
sg_assert_eq 451 "$mail" "first RCPT of message 2 (over the default tier's 1/1h)"
sg_assert_match '^4\.7\.1 .*limit of 1 messages per hour' \
    "$(sg_json 'm["first"][1]' <<<"$out")" "RCPT text of message 2"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=tempfail stage=mail login=carol@example\.net .*tier=default .*limit=messages:1/1h')" \
    "tempfail line, tier default"

# 2. Support moves carol to bulk: the next message goes, no restart.
sg_assert_eq OK "$(sg_redis set "$tierkey" bulk)" "SET tier"
send 3
sg_assert_eq 250 "$mail" "first RCPT of message 3 (tier bulk)"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "DATA of message 3"
sg_wait_eq 1 sg_delivered_count t3@remote.example || sg_fail "t3: $SG_LAST deliveries"
sg_wait_for -t 5 sg_subguard_log_has "action=accept stage=eom login=carol@example\.net .*qid=$qid tier=bulk " ||
    sg_fail "no accept line with tier=bulk for $qid"
sg_assert_eq "$pid" "$SG_SUBGUARD_PID" "subguard pid"
sg_subguard_running || sg_fail "subguard is not running"
sg_assert_eq 1 "$(sg_subguard_log_count '^=== .* start: ')" "subguard starts (no restart)"
sg_assert_eq 0 "$(sg_subguard_log_count 'configuration reloaded')" "reloads"
sg_assert_counter bulk carol@example.net tn "counters tn"

# 3. An unknown tier name: logged, the default tier used.
sg_redis set "$tierkey" platinum >/dev/null
send 4
sg_assert_eq 451 "$mail" "first RCPT of message 4 (unknown tier: default applies, 2 messages > 1/1h)"
sg_assert_eq 1 "$(sg_subguard_log_count 'login=carol@example\.net has unknown tier "platinum"; using default')" \
    "'unknown tier' warning"
sg_assert_eq 1 "$(sg_subguard_log_count 'action=tempfail stage=mail login=carol@example\.net .*tier=default .*limit=messages:1/1h count=2')" \
    "tempfail line of message 4 with tier=default"

# 4. Tier key gone: default again, no warning.
sg_redis del "$tierkey" >/dev/null
send 5
sg_assert_eq 451 "$mail" "first RCPT of message 5 (no tier key: default)"
sg_assert_eq 1 "$(sg_subguard_log_count 'unknown tier')" "'unknown tier' warnings in total"

sg_assert_eq 0 "$(sg_delivered_count t2@remote.example)" "deliveries of message 2"
sg_assert_eq 0 "$(sg_delivered_count t4@remote.example)" "deliveries of message 4"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
echo "t_30_tiers: ok"
