#!/bin/bash
# t_42_sendmail_quarantine: held mail under Sendmail, step by step, with
# the commands contrib/sendmail/README.md gives support staff.
# mta: sendmail
# Proves, for a manually quarantined login (quarantine_action = hold):
#  1. its message gets 250 at the end of DATA, subguard logs action=hold,
#     and Sendmail quarantines it (smfi_quarantine): the queue file is
#     hfQID (no qfQID), the log says "QID: milter=subguard,
#     quarantine=subguard: manual" and "QID: to=<...>, ...,
#     stat=quarantined"; "mailq" does not list it, "mailq -qQ" does, with
#     the line "QUARANTINE: subguard: manual"; nothing is delivered;
#  2. a queue run ("sendmail -q") leaves it alone;
#  3. "sendmail -Q -qQ -qIQID" releases it: hfQID becomes qfQID, the log
#     says "QID: unquarantine", mailq lists it and mailq -qQ no longer does,
#     and it is still not delivered (this world runs its queue every 30
#     minutes only: SG_SM_QUEUE_INTERVAL) until "sendmail -qIQID" runs the
#     queue for it: then it is delivered with its own queue id;
#  4. "qtool.pl -Q -d" (Debian: /usr/share/sendmail/qtool.pl) deletes a
#     quarantined message: both its files are gone, nothing is delivered;
#  5. "sendmail -Q'reason' -qIQID" quarantines a queued message by hand
#     (a message already queued when the account was found compromised).
set -euo pipefail
. "$(dirname "$0")/harness.sh"

# No periodic queue run may deliver what only the documented commands
# should; Redis is given time on a loaded machine (a timed-out call would
# let a message through unheld: on_redis_error = accept).
# shellcheck disable=SC2034 # both read by sg_world_up
SG_SM_QUEUE_INTERVAL=30m
SG_CONF_REDIS='timeout = 2s'
sg_world_up
sg_user dave 'dave-pw'
sg_subguard_conf '[tier default]
messages = 50/1h
recipients = 50/1h
quarantine_recipients = 1000/1d
quarantine_rejected = 50/1h'
sg_subguard_start
quar='subguard:{dave@example.net}:quarantine'
Q=$SG_DIR/q

# send TO - one message from dave; sets qid, checks 250 at DATA
send() {
    local out
    out=$(sg_submit --user dave@example.net --password dave-pw --to "$1") ||
        sg_fail "submit to $1 failed: $out"
    sg_assert_eq 250 "$(sg_json 'm["data"][0]' <<<"$out")" "end of DATA (to $1)"
    qid=$(sg_json 'm["queue_id"]' <<<"$out")
    sg_assert_match '^[0-9A-Za-z]{14}$' "$qid" "queue id (to $1)"
}
# ids [ARGS] - the queue ids mailq ARGS lists, space-separated
ids() { sg_mailq "$@" | sg__mailq_ids | sort | paste -sd' '; }
# files QID - the queue files of QID (letters before the id), e.g. "df hf"
# shellcheck disable=SC2012 # queue file names are letters and a queue id
files() { (cd "$Q" && ls | sed -n "s/^\\([a-zA-Z]*\\)$1\$/\\1/p" | sort | paste -sd' '); }

sg_redis hset "$quar" reason manual since "$(date +%s)" by support >/dev/null

# --- 1. Quarantined by Sendmail ----------------------------------------------
send held1@remote.example
q1=$qid
sg_wait_for -t 5 sg_subguard_log_has "action=hold stage=eom login=dave@example\.net .*qid=$q1 .*quarantine=\"manual\"" ||
    sg_fail "no action=hold line for $q1"
sg_wait_for -t 10 sg_maillog_has "$q1: to=<held1@remote\.example>, .*stat=quarantined" ||
    sg_fail "no stat=quarantined line for $q1"
sg_maillog_has "$q1: milter=subguard, quarantine=subguard: manual\$" ||
    sg_fail "no milter quarantine line for $q1"
sg_assert_eq "df hf" "$(files "$q1")" "queue files of $q1"
sg_assert_eq "" "$(ids)" "mailq (quarantined mail is not listed)"
sg_assert_eq "$q1" "$(ids -qQ)" "mailq -qQ"
sg_assert_match "QUARANTINE: subguard: manual" "$(sg_mailq -qQ)" "mailq -qQ shows the reason"
sg_assert_eq "$q1" "$(sg_held_ids)" "sg_held_ids"
sg_assert_eq "$q1" "$(sg_redis lrange 'subguard:{dave@example.net}:held' 0 -1)" "held list"

# --- 2. A queue run does not touch it ------------------------------------------
out=$(sg_sendmail -q 2>&1) || sg_fail "sendmail -q failed: $out"
sleep 1
sg_assert_eq "df hf" "$(files "$q1")" "queue files of $q1 after a queue run"
sg_assert_eq 0 "$(sg_delivered_count held1@remote.example)" "deliveries of $q1 after a queue run"

# --- 3. Release: unquarantine, then a queue run ---------------------------------
sg_assert_eq 1 "$(sg_redis del "$quar")" "support lifts the quarantine"
out=$(sg_sendmail -Q -qQ -qI"$q1" 2>&1) || sg_fail "sendmail -Q -qQ -qI$q1 failed: $out"
sg_assert_eq "df qf" "$(files "$q1")" "queue files of $q1 after sendmail -Q -qQ -qI"
sg_maillog_has "$q1: unquarantine\$" || sg_fail "no unquarantine line for $q1"
sg_assert_eq "$q1" "$(ids)" "mailq after the release"
sg_assert_eq "" "$(ids -qQ)" "mailq -qQ after the release"
sleep 1
sg_assert_eq 0 "$(sg_delivered_count held1@remote.example)" "deliveries of $q1 before the queue run"
out=$(sg_sendmail -qI"$q1" 2>&1) || sg_fail "sendmail -qI$q1 failed: $out"
sg_wait_eq 1 sg_delivered_count held1@remote.example || sg_fail "held1: $SG_LAST deliveries after the queue run"
sg_assert_eq "$q1" "$(sg_delivered_ids held1@remote.example)" "sink's queue id for held1"
sg_wait_for sg_maillog_has "$q1: to=<held1@remote\.example>, .*dsn=2\.0\.0, stat=Sent" ||
    sg_fail "no stat=Sent line for $q1"
sg_wait_for sg_queue_empty || sg_fail "the queue did not drain after the release"

# --- 4. Delete quarantined mail with qtool.pl -------------------------------------
sg_redis hset "$quar" reason manual since "$(date +%s)" by support >/dev/null
send spam1@remote.example
q2=$qid
sg_wait_for -t 10 sg_maillog_has "$q2: to=<spam1@remote\.example>, .*stat=quarantined" ||
    sg_fail "$q2 was not quarantined"
sg_assert_eq "$q2" "$(sg_held_ids)" "held before the deletion"
out=$(perl "$SG_SM_PREFIX/usr/share/sendmail/qtool.pl" -C "$SG_SM_CF" -Q -d "$Q/hf$q2" 2>&1) ||
    sg_fail "qtool.pl -Q -d failed: $out"
sg_assert_eq "" "$(files "$q2")" "queue files of $q2 after qtool.pl -Q -d"
sg_assert_eq "" "$(sg_held_ids)" "held after the deletion"
sg_assert_eq 0 "$(sg_delivered_count spam1@remote.example)" "deliveries of the deleted $q2"

# --- 5. Quarantine a queued message by hand ----------------------------------------
# A message that is already queued (here: deferred, its next hop down).
sg_redis del "$quar" >/dev/null
kill -TERM "$(<"$SG_DIR/sink.pid")"
sg_wait_for -t 10 sg__dead "$(<"$SG_DIR/sink.pid")" || sg_fail "the sink did not stop"
send late1@remote.example
q3=$qid
sg_wait_for -t 10 sg_maillog_has "$q3: to=<late1@remote\.example>, .*stat=Deferred" ||
    sg_fail "$q3 was not deferred"
out=$(sg_sendmail -Q'compromised: held by support' -qI"$q3" 2>&1) ||
    sg_fail "sendmail -Q... -qI$q3 failed: $out"
sg_assert_eq "df hf" "$(files "$q3")" "queue files of $q3 after sendmail -Q'reason'"
sg_assert_match "QUARANTINE: compromised: held by support" "$(sg_mailq -qQ)" "mailq -qQ reason"
sg_assert_eq "$q3" "$(sg_held_ids)" "held by hand"

echo "t_42_sendmail_quarantine: ok"
