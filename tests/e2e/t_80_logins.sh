#!/bin/bash
# t_80_logins: odd but valid SASL logins (Cyrus sasldb users).
# mta: postfix sendmail
# Proves: each login is counted under the key "subguard -k LOGIN" names (the
# log's login= is the same normalised form): o'brien (quote escaped as %27),
# ALL.CAPS (lower-cased), first+tag (kept), "jane doe" (space escaped),
# a{b}c (braces escaped, so the login cannot change the Redis Cluster hash
# tag {...}), and a login literally named o%27brien, which must not collide
# with o'brien (the escape character is itself escaped: o%2527brien). A tier
# set on the key -k names takes effect. Two sasldb users differing only in
# case (Mixed, mixed: two passwords, two Cyrus accounts) are ONE subguard
# account by design (login_case = lower, the default): their messages add
# up under subguard:{mixed@example.net} and share one message limit.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_subguard_conf '[tier default]
messages = 2/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h

[tier bulk]
messages = 100/1h
recipients = 500/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h'
sg_subguard_start

# keyof LOGIN - the counters key subguard -k prints for LOGIN
keyof() {
    "$SG_BUILD/subguard" -c "$SG_DIR/subguard.conf" -k "$1" |
        awk '$1 == "counters" { gsub(/\047/, "", $2); print $2 }'
}
# normof LOGIN - the normalised login subguard -k prints for LOGIN
normof() {
    "$SG_BUILD/subguard" -c "$SG_DIR/subguard.conf" -k "$1" | awk '$1 == "login" { print $2 }'
}
# send USER PASSWORD [N] - N (default 1) messages; sets out
send() {
    out=$(sg_submit --user "$1@example.net" --password "$2" --from sender@example.net \
        --to "rcpt@remote.example" --count "${3:-1}") || sg_fail "submit as '$1' failed: $out"
}

# name|password|expected normalised login|messages to send
accounts=(
    "o'brien|pw-quote|o%27brien@example.net|1"
    "o%27brien|pw-pct|o%2527brien@example.net|2"
    "ALL.CAPS|pw-caps|all.caps@example.net|2"
    "first+tag|pw-plus|first+tag@example.net|1"
    "jane doe|pw-space|jane%20doe@example.net|1"
    "a{b}c|pw-brace|a%7Bb%7Dc@example.net|1"
)
for a in "${accounts[@]}"; do
    IFS='|' read -r name pw norm n <<<"$a"
    sg_user "$name" "$pw"
done
sg_user Mixed 'pw-Mixed'
sg_user mixed 'pw-mixed'

total=0
for a in "${accounts[@]}"; do
    IFS='|' read -r name pw norm n <<<"$a"
    sg_assert_eq "$norm" "$(normof "$name@example.net")" "subguard -k '$name@example.net': login"
    key=$(keyof "$name@example.net")
    sg_assert_eq "subguard:{$norm}:counters" "$key" "subguard -k '$name@example.net': counters key"
    send "$name" "$pw" "$n"
    sg_assert_eq "$(printf '250 %.0s' $(seq "$n") | sed 's/ $//')" \
        "$(sg_json 'm["data"][0]' <<<"$out" | paste -sd' ')" "end of DATA for '$name'"
    sg_assert_eq "$n" "$(sg_redis hget "$key" msgs)" "msgs under $key for '$name'"
    qid=$(sg_json 'm["queue_id"]' <<<"$out" | sed -n 1p)
    sg_assert_eq 1 "$(sg_subguard_log_count "action=accept stage=eom login=${norm//+/\\+} .*qid=$qid ")" \
        "accept line with login=$norm"
    total=$((total + n))
done

# No two of these accounts share a key: one counters hash each.
keys=$(sg_redis --raw keys 'subguard:{*}:counters' | sort)
sg_assert_eq "${#accounts[@]}" "$(grep -c . <<<"$keys")" "counters keys ($keys)"

# A tier set on the key -k names applies to that login.
tierkey=$("$SG_BUILD/subguard" -c "$SG_DIR/subguard.conf" -k "o'brien@example.net" |
    awk '$1 == "tier" { gsub(/\047/, "", $2); print $2 }')
sg_assert_eq 'subguard:{o%27brien@example.net}:tier' "$tierkey" "tier key of o'brien"
sg_redis set "$tierkey" bulk >/dev/null
send "o'brien" pw-quote
qid=$(sg_json 'm["queue_id"]' <<<"$out")
sg_assert_eq 1 "$(sg_subguard_log_count "action=accept .*login=o%27brien@example\.net .*qid=$qid tier=bulk ")" \
    "o'brien's message under tier bulk"
# ... and only to that login: o%27brien (2 messages already) stays on default.
send "o%27brien" pw-pct
sg_assert_eq 451 "$(sg_json 'm["first"][0]' <<<"$out")" "first RCPT for o%27brien (default tier, 2/1h used)"

# Mixed and mixed: by design the same (lower-case) subguard account.
sg_assert_eq mixed@example.net "$(normof Mixed@example.net)" "subguard -k Mixed@example.net"
send Mixed pw-Mixed
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA for Mixed"
send mixed pw-mixed
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA for mixed"
sg_assert_counter 2 mixed@example.net msgs "msgs of Mixed + mixed"
sg_assert_eq 0 "$(sg_redis exists 'subguard:{Mixed@example.net}:counters')" "a key with upper case"
sg_assert_eq 2 "$(sg_subguard_log_count 'action=accept stage=eom login=mixed@example\.net ')" "accept lines login=mixed@"
# The shared account's limit (2/1h) is reached by the two of them together.
send Mixed pw-Mixed
sg_assert_eq 451 "$(sg_json 'm["first"][0]' <<<"$out")" "first RCPT for Mixed's 2nd message (account shared with mixed)"

sg_wait_eq $((total + 3)) sg_delivered_count rcpt@remote.example ||
    sg_fail "deliveries: $SG_LAST, want $((total + 3))"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain"
echo "t_80_logins: ok"
