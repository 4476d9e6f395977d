#!/bin/bash
# t_48_desk: subguardctl, the support desk's control program, on a real MTA.
# mta: postfix sendmail
# Proves, with quarantine_rejected = 3/1h, hold_max = 2, quarantine_action =
# hold, subguardctl reading subguard's own configuration:
#  1. a spray (4 recipients the MTA rejects) quarantines: "list" names the
#     login with its reason and 1 held message (text and --json), "show"
#     the tier with its limits, the evidence and the held queue id, "top"
#     the account with the limit it is nearest;
#  2. "tier LOGIN bussiness" (misspelt) is refused with exit 2 and the
#     tier names, Redis untouched; "tier LOGIN business" sets it; "tiers"
#     lists the names and limits;
#  3. "lift --why" removes the quarantine and the held list at once,
#     records who and why in the events stream, prints how to release the
#     held queue id on Postfix and Sendmail; released, it is delivered; the
#     next message goes through; "list" is empty (exit 1); a --why with
#     a newline (a forged log line) is refused;
#  4. a lift by plain "redis-cli DEL" after a new spray: "list" heals
#     itself; the next spray quarantines again and holds again up to
#     hold_max (the trap of issue 15: the old held list made it refuse);
#  5. "report --since 1h" shows the quarantines with their evidence, the
#     lift with its author, the repeat offender; "events --type lift";
#  6. "trust LOGIN NETWORK --why" makes the client's network known in the
#     account's history profile, recorded; junk, a prefix the history
#     does not keep and a --why with a newline are refused (exit 2) with
#     the profile untouched; "show" lists the network as known;
#  7. a clean sender in a tier with two recipient windows: "show" gives
#     the hour's limit the surge widens it to, marked, with the plan's
#     beside it in --json.
set -euo pipefail
. "$(dirname "$0")/harness.sh"

sg_world_up
sg_user fred 'fred-pw'
SG_CONF_SUBGUARD='hold_max = 2'
sg_subguard_conf '[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 3/1h
normal_failure = 0

[tier business]
messages = 500/1h
recipients = 500/1h, 2000/1d
quarantine_rejected = 3/1h
normal_failure = 0'
sg_subguard_start
login=fred@example.net
quar="subguard:{$login}:quarantine"
held="subguard:{$login}:held"
CTL=$SG_BUILD/subguardctl
[[ -x $CTL ]] || sg_fail "no subguardctl at $CTL (build first)"

# ctl ARGS... - subguardctl on subguard's configuration; sets out and rc
ctl() {
    rc=0
    out=$("$CTL" -c "$SG_DIR/subguard.conf" "$@" 2>&1) || rc=$?
}

# send TO - one message from fred; sets sub (the client's view) and qid
send() {
    sub=$(sg_submit --user "$login" --password fred-pw --to "$1") ||
        sg_fail "submit to $1 failed: $sub"
    qid=$(sg_json 'm["queue_id"]' <<<"$sub")
}

# spray N - 4 rejected recipients and good N: quarantines, held
spray() {
    send "unknown1@isp.example,unknown2@isp.example,unknown3@isp.example,unknown4@isp.example,good$1@remote.example"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$sub")" "end of DATA, spray $1"
    sg_wait_for -t 5 sg_subguard_log_has "action=quarantine .*qid=$qid " ||
        sg_fail "spray $1 ($qid) did not quarantine"
    sg_wait_for -t 5 sg_subguard_log_has "action=hold .*qid=$qid .*held=1 " ||
        sg_fail "spray $1 ($qid) was not held as the first of its quarantine"
}

is_held() { sg_held_ids | grep -qx "$1"; }

# 1. Quarantined: list and show.
ctl list
sg_assert_eq 1 "$rc" "list with nobody quarantined: exit 1 ($out)"
spray 1
q1=$qid
sg_wait_for -t 10 is_held "$q1" || sg_fail "$q1 not held"
ctl list
sg_assert_eq 0 "$rc" "list: exit ($out)"
sg_assert_match "$login +1  4 recipients rejected by the MTA in 1h \(quarantine threshold 3\) \(by subguard\)" \
    "$out" "list"
ctl --json list
sg_assert_eq "$login 1 subguard submission" \
    "$(sg_json '" ".join(str(m[0][k]) for k in ("login", "held", "by", "source"))' <<<"$out")" "list --json"
ctl show "$login"
sg_assert_eq 0 "$rc" "show: exit ($out)"
sg_assert_match "tier +default" "$out" "show: tier"
sg_assert_match "held +1: $q1" "$out" "show: held queue id"
sg_assert_match "evidence .*rcpts=5 failed=4 qids=$q1" "$out" "show: evidence"
sg_assert_match $'\n''1h +1/50 +1/50 +4 +0'$'\n' "$out" "show: the hour's use beside its limits"
sg_assert_match "event .* quarantine reason=4 recipients rejected" "$out" "show: events"
ctl top
sg_assert_eq 0 "$rc" "top: exit ($out)"
sg_assert_match "$login +default +1 of 50 (messages|recipients) in 1h" "$out" "top"

# 2. Tiers are checked.
ctl tier "$login" bussiness
sg_assert_eq 2 "$rc" "misspelt tier: exit ($out)"
sg_assert_match 'no tier named "bussiness"; the tiers are: default business' "$out" "misspelt tier"
sg_assert_eq 0 "$(sg_redis exists "subguard:{$login}:tier")" "tier key after a misspelt tier"
ctl tier "$login" business --by anna
sg_assert_eq 0 "$rc" "tier business: exit ($out)"
sg_assert_eq business "$(sg_redis get "subguard:{$login}:tier")" "tier key"
ctl tiers
sg_assert_match 'business'$'\n''  messages 500/1h' "$out" "tiers"

# 3. Lift with a record; the held message released is delivered.
ctl lift "$login"
sg_assert_eq 2 "$rc" "lift without --why: exit ($out)"
sg_assert_eq 1 "$(sg_redis exists "$quar")" "quarantine after a refused lift"
ctl lift "$login" --why $'ok\nsubguard: action=lift forged'
sg_assert_eq 2 "$rc" "lift with a newline in --why: exit ($out)"
sg_assert_eq 1 "$(sg_redis exists "$quar")" "quarantine after a lift with a newline in --why"
ctl lift "$login" --by anna --why 'password changed, PC cleaned'
sg_assert_eq 0 "$rc" "lift: exit ($out)"
sg_assert_match "lifted $login .*by anna: password changed, PC cleaned" "$out" "lift"
sg_assert_match "Postfix: +postsuper -H $q1 && postqueue -i $q1" "$out" "lift: Postfix release"
sg_assert_match "Sendmail: sendmail -Q -qQ -qI$q1 && sendmail -qI$q1" "$out" "lift: Sendmail release"
sg_assert_eq 0 "$(sg_redis exists "$quar" "$held")" "quarantine and held list after the lift"
sg_assert_eq 0 "$(sg_redis zcard subguard:quarantined)" "index after the lift"
sg_release "$q1"
sg_wait_eq 1 sg_delivered_count good1@remote.example || sg_fail "good1: $SG_LAST deliveries after release"
send good2@remote.example
sg_wait_eq 1 sg_delivered_count good2@remote.example || sg_fail "good2 after the lift: $SG_LAST"
ctl list
sg_assert_eq 1 "$rc" "list after the lift: exit ($out)"
ctl lift "$login" --why again
sg_assert_eq 1 "$rc" "lift of a login not quarantined: exit ($out)"
ctl events --type lift
sg_assert_match "lift login=$login by=anna why=password changed, PC cleaned reason=4 recipients .* held=$q1" \
    "$out" "events --type lift"

# 4. A new spray, a lift by plain redis-cli DEL, a new spray: held again.
spray 3
q3=$qid
send good4@remote.example
q4=$qid
sg_wait_for -t 5 sg_subguard_log_has "action=hold .*qid=$q4 .*held=2 " || sg_fail "$q4 not held as 2 of 2"
sg_assert_eq "$q3 $q4" "$(sg_redis lrange "$held" 0 -1 | paste -sd' ')" "held list before the plain DEL"
sg_assert_eq 1 "$(sg_redis del "$quar")" "redis-cli DEL of the quarantine"
ctl --json list
sg_assert_eq 1 "$rc" "list after a plain DEL: exit ($out)"
sg_assert_eq 0 "$(sg_redis zcard subguard:quarantined)" "index healed by list"
spray 5
q5=$qid
send good6@remote.example
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$sub")" "end of DATA, message 6 (held, 2 of 2)"
q6=$qid
sg_wait_for -t 5 sg_subguard_log_has "action=hold .*qid=$q6 .*held=2 " || sg_fail "$q6 not held as 2 of 2"
sg_assert_eq "$q5 $q6" "$(sg_redis lrange "$held" 0 -1 | paste -sd' ')" "held list of the new quarantine"
send good7@remote.example
sg_assert_eq 550 "$(sg_json 'm["data"][0]' <<<"$sub")" "end of DATA, message 7 (over hold_max)"
ctl list
sg_assert_match "$login +2  " "$out" "list: the new quarantine, 2 held"

# 5. The abuse desk's report.
ctl report --since 1h
sg_assert_eq 0 "$rc" "report: exit ($out)"
sg_assert_match 'new quarantines: 3' "$out" "report: quarantines"
sg_assert_match "qids=|queue ids with failures: $q1" "$out" "report: evidence"
sg_assert_match "lifts: 2" "$out" "report: lifts (by anna, and the DEL seen)"
sg_assert_match "$login +by anna: password changed, PC cleaned" "$out" "report: lift by anna"
sg_assert_match "$login +3 times" "$out" "report: repeat offender"
sg_assert_match 'business +3' "$out" "report: quarantines by tier"
ctl --json report --since 1h
sg_assert_eq "3 2" "$(sg_json 'str(len(m["quarantines"])) + " " + str(len(m["lifts"]))' <<<"$out")" "report --json"

# 6. Support confirms the network the customer writes from.
counters="subguard:{$login}:counters"
before=$(sg_redis hget "$counters" p)
# The quarantines above forgot every network not yet known (a quarantine
# starts the profile's clean history again).
[[ $before != *7f0000* ]] || sg_fail "profile before trust knows 127.0.0.0/24: $before"
ctl trust "$login" 'not-an-address' --why x
sg_assert_eq 2 "$rc" "trust junk: exit ($out)"
sg_assert_match 'not an address or network' "$out" "trust junk"
ctl trust "$login" 127.0.0.0/16 --why x
sg_assert_eq 2 "$rc" "trust /16: exit ($out)"
ctl trust "$login" 127.0.0.1 --why $'ok\nsubguard: action=trust forged'
sg_assert_eq 2 "$rc" "trust with a newline in --why: exit ($out)"
sg_assert_eq "$before" "$(sg_redis hget "$counters" p)" "profile after refused trusts"
ctl trust "$login" 127.0.0.0/24 --by anna --why 'writes from the office'
sg_assert_eq 0 "$rc" "trust: exit ($out)"
sg_assert_match "network 127.0.0.0/24 is known from now on \(was new; 1 known\), by anna: writes from the office" "$out" "trust"
sg_assert_match '7f0000\.' "$(sg_redis hget "$counters" p)" "profile: 127.0.0.0/24 known"
# What support sees of it: the history's networks in show.
ctl show "$login"
sg_assert_eq 0 "$rc" "show after trust: exit ($out)"
sg_assert_match "network +127\.0\.0\.0/24 +known, last used $(date -u +%F)" "$out" "show: the trusted network"
ctl --json show "$login"
sg_assert_eq "127.0.0.0/24 known" "$(sg_json 'm["history"]["networks"][0]["network"] + " " + m["history"]["networks"][0]["state"]' <<<"$out")" "show --json: history.networks"
ctl --json events --type trust
sg_assert_match '"network": *"127.0.0.0/24"' "$out" "events --type trust"
sg_assert_match '"by": *"anna"' "$out" "events --type trust: by"

# 7. A clean sender on the business tier (500/1h, 2000/1d, surge 2): the
# hour's window binds at 1000 while its failures stay low.
sg_user gina 'gina-pw'
ctl tier gina@example.net business --by anna
sg_assert_eq 0 "$rc" "tier gina business: exit ($out)"
sub=$(sg_submit --user gina@example.net --password gina-pw --to friend@remote.example) ||
    sg_fail "gina's message: $sub"
sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$sub")" "end of DATA, gina"
sg_wait_for -t 5 sg_subguard_log_has "action=accept .*login=gina@example.net " ||
    sg_fail "gina's message not accepted"
ctl show gina@example.net
sg_assert_eq 0 "$rc" "show gina: exit ($out)"
sg_assert_match 'surge +on: 2x' "$out" "show gina: the surge applies"
sg_assert_match $'\n''1h +1/500 +1/1000\* ' "$out" "show gina: the hour's limit widened, marked"
sg_assert_match $'\n''1d +-/- +1/2000 ' "$out" "show gina: the day's limit as planned"
sg_assert_match 'widened by the surge now' "$out" "show gina: the mark explained"
ctl --json show gina@example.net
sg_assert_eq "500 1000" "$(sg_json 'str([w for w in m["windows"] if w["seconds"] == 3600][0]["recipients_limit"]) + " " + str([w for w in m["windows"] if w["seconds"] == 3600][0]["recipients_limit_now"])' <<<"$out")" "show --json: the plan's limit and the one that binds now"

echo "t_48_desk: ok"
