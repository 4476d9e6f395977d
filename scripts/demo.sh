#!/bin/bash
# scripts/demo.sh [--no-deps] [--no-build] - subguard in action, end to end.
#
# Installs the dependencies (scripts/deps.sh), builds build/ (Release), then,
# with the e2e test world (tests/e2e/harness.sh: a private Postfix with SASL
# submission, a private Redis, a next-hop SMTP sink, all in /tmp/sg.XXXXXX),
# runs subguard and sends mail as three customers:
#   alice   - an ordinary customer (tier default) who sends a bit too much;
#   bob     - a newsletter sender on the bulk tier (set in Redis);
#   mallory - a compromised account spraying recipients, many of them unknown.
# It prints what happened to each message (delivered / tempfailed with the
# 451 text / held in the hold queue), then the commands support uses to look
# at a quarantine, lift it and release the held mail, and stops the world.
# Runs as root (the private Postfix needs it). Nothing on the system's own
# Postfix or Redis is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

deps=1 build=1
for a in "$@"; do
    case $a in
    --no-deps) deps=0 ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--no-deps] [--no-build]" >&2; exit 1 ;;
    esac
done
((deps == 0)) || bash scripts/deps.sh
if ((build)); then
    if [[ -f build/CMakeCache.txt ]] &&
        ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$PWD" build/CMakeCache.txt; then
        rm -rf build        # configured for another checkout
    fi
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build --parallel "$(nproc)" >/dev/null
fi
export SG_SRC=$SRC SG_BUILD=$SRC/build
"$SG_BUILD/subguard" -V >/dev/null 2>&1 ||
    { echo "demo: $SG_BUILD/subguard -V does not work (not built yet?)" >&2; exit 1; }

. tests/e2e/harness.sh

if [[ -t 1 ]]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi
# For readers: the limits below are far tighter than contrib/subguard.conf's
# defaults (default tier: 300 recipients/1h, quarantine after 20 rejected
# recipients/1h) so the story fits in a few messages.
TIERS='[tier default]
messages = 20/1h
recipients = 10/1h
quarantine_recipients = 500/1d
quarantine_rejected = 5/1h

[tier bulk]
messages = 5000/1h
recipients = 20000/1h
quarantine_recipients = 1000000/1d
quarantine_rejected = 500/1h

[text]
support = support@isp.example or +1 555 0100'

say "Starting the demo world (private Postfix, Redis, next-hop sink)"
sg_world_up
sg_subguard_conf "$TIERS"
sg_subguard_start
for u in alice bob mallory; do sg_user "$u" "$u-secret"; done
sg_redis SET 'subguard:{bob@example.net}:tier' bulk >/dev/null
cat <<EOF
World: $SG_DIR
Submission (port 587's stand-in): 127.0.0.1:$SG_SUBPORT, AUTH PLAIN as LOGIN@example.net
subguard: $SG_BUILD/subguard -f -c $SG_DIR/subguard.conf (log: $SG_DIR/subguard.log)
This demo's tiers (tighter than the shipped defaults, to keep the story short):
    ${TIERS//$'\n'/$'\n'    }
bob is on the bulk tier:  redis-cli SET 'subguard:{bob@example.net}:tier' bulk
EOF

# send USER ARGS... - submit as USER, keep the JSON lines in $SG_DIR/USER.json
send() {
    local u=$1; shift
    sg_submit --user "$u@example.net" --password "$u-secret" "$@" \
        >>"$SG_DIR/$u.json" || true
}

say "alice (tier default, 10 recipients/1h) sends 4 messages to 3 friends each"
send alice --to ann@remote.example,ben@remote.example,cat@remote.example --count 4

say "bob (tier bulk) sends the same 4 messages to 3 subscribers each"
send bob --to s1@remote.example,s2@remote.example,s3@remote.example --count 4

say "mallory (stolen password) sprays: unknown local users, dead addresses, then more mail"
spray=()
for i in 1 2 3 4 5 6 7; do spray+=("unknown$i@isp.example"); done
spray+=(bad1@remote.example badguess@remote.example nouser7@remote.example)
spray+=(v1@remote.example v2@remote.example)
send mallory --to "$(IFS=,; echo "${spray[*]}")"
send mallory --to v3@remote.example,v4@remote.example --count 3

# Let Postfix deliver or bounce everything that is not held.
settled() { [[ $(sg_queue_ids | sort) == "$(sg_held_ids | sort)" ]]; }
sg_wait_for -t 30 settled || echo "(some mail is still in the queue after 30 s)"

say "What happened"
sg_held_ids >"$SG_DIR/held.ids"
"$SG_PY" - "$SG_DIR" alice bob mallory <<'EOF'
import json, re, sys
d, users = sys.argv[1], sys.argv[2:]
held = set(open(d + "/held.ids").read().split())
delivered = set()
for line in open(d + "/sink.log"):
    f = line.split()
    if len(f) >= 2:
        delivered.add((f[0], f[1].lower()))
status = {}
for line in open(d + "/maillog"):
    m = re.search(r"\]: ([0-9A-Za-z]+): to=<([^>]*)>,.*status=(\w+)", line)
    if m:
        status[(m.group(1), m.group(2).lower())] = m.group(3)
for u in users:
    try:
        msgs = [json.loads(l) for l in open("%s/%s.json" % (d, u)) if l.strip()]
    except FileNotFoundError:
        msgs = []
    tot = {"delivered": 0, "bounced": 0, "held": 0, "tempfailed": 0, "rejected": 0}
    print("\n%s@example.net:" % u)
    for n, m in enumerate(msgs, 1):
        qid, out = m.get("queue_id"), []
        if m.get("error"):
            out.append("connection lost (%s)" % m["error"])
        if m.get("mail") and m["mail"] // 100 != 2:
            out.append("MAIL refused: %s %s" % (m["mail"], m.get("mail_text") or ""))
        acc = []
        for r, (code, text) in m["rcpt"].items():
            if code // 100 == 4:
                tot["tempfailed"] += 1
                out.append("TEMPFAILED %s: %d %s" % (r, code, " / ".join(text.splitlines())))
            elif code // 100 == 5:
                tot["rejected"] += 1
                out.append("rejected %s: %d %s" % (r, code, text.splitlines()[0]))
            else:
                acc.append(r)
        data = m.get("data")
        if data and data[0] // 100 != 2:
            out.append("message refused at end of data: %d %s"
                       % (data[0], " / ".join(data[1].splitlines())))
        elif qid in held:
            tot["held"] += 1
            out.append("HELD in the hold queue as %s (for %s)"
                       % (qid, ", ".join(acc)))
        elif qid:
            dl = [r for r in acc if (qid, r.lower()) in delivered]
            bo = [r for r in acc if status.get((qid, r.lower())) == "bounced"]
            rest = [r for r in acc if r not in dl and r not in bo]
            tot["delivered"] += len(dl)
            tot["bounced"] += len(bo)
            if dl:
                out.append("delivered to %s" % ", ".join(dl))
            if bo:
                out.append("bounced by the next hop (user unknown): %s" % ", ".join(bo))
            if rest:
                out.append("still queued for %s" % ", ".join(rest))
        print("  message %d%s:" % (n, " (%s)" % qid if qid else ""))
        for o in out:
            print("      " + o)
    print("  => %(delivered)d recipients delivered, %(bounced)d bounced, "
          "%(tempfailed)d tempfailed, %(rejected)d rejected, "
          "%(held)d messages held" % tot)
EOF

say "Support: looking at mallory's account"
K='subguard:{mallory@example.net}'
RC="redis-cli"      # add -h HOST -p PORT (or -s SOCKET) for your Redis
echo "\$ $RC HGETALL '$K:quarantine'      # why and since when"
sg_redis HGETALL "$K:quarantine" | sed 's/^/    /'
echo "\$ $RC LRANGE '$K:held' 0 -1        # queue ids of the held mail"
sg_redis LRANGE "$K:held" 0 -1 | sed 's/^/    /'
echo "\$ postqueue -p | grep '!'            # the hold queue (! = held)"
postqueue -c "$SG_PF" -p | grep '!' | sed 's/^/    /' || echo "    (nothing held)"

say "Support: lifting the quarantine and releasing the held mail"
echo "(once the customer has a new password and a clean computer)"
echo "\$ $RC DEL '$K:quarantine'"
sg_redis DEL "$K:quarantine" | sed 's/^/    /'
held=$(sg_held_ids)
for q in $held; do
    echo "\$ postsuper -H $q"
    sg_release "$q"
done
[[ -n $held ]] || echo "(no held mail to release)"
echo "Or, to throw held mail away instead:  postsuper -d QID hold"
if [[ -n $held ]]; then
    sg_wait_for -t 30 sg_queue_empty && echo "Released mail delivered; the queue is empty." ||
        echo "(released mail still queued after 30 s)"
    for q in $held; do
        printf '    %s delivered to: %s\n' "$q" \
            "$(awk -v q="$q" '$1 == q { printf "%s ", $2 }' "$SG_DIR/sink.log")"
    done
fi
cat <<EOF

(In this demo every command also names the private instance: Postfix's as
 postqueue/postsuper -c $SG_PF, Redis's as redis-cli -s $SG_REDIS_SOCK.)
EOF

say "Stopping the world"
sg_world_down
echo "done"
