#!/bin/bash
# t_evidence.sh - evidence weighed the way it arises (issue 14), replayed
# through the real engine on a private Redis with the default
# configuration (contrib/subguard.conf). A hand-made trace of five cases:
#  1. oldgroup: one message to 11 old friends, 5 gone (5.1.1): not
#     quarantined (one message is one observation);
#  2. greeting: one message to an address book of 56, 7 gone: not
#     quarantined;
#  3. campaign (bulk tier): an old list of 30,000 in an hour at 6% bounces,
#     1,800 failures over quarantine_failed = 1500/1h: not quarantined
#     (the net counts only above spam_failure of the hour);
#  4. incident: 15 customers each refused by policy (5.7.1) by
#     bigmail.example, 4 of 4 recipients, then again and again for two
#     hours: the replay reports action=incident state=start, and later
#     state=end; none is quarantined;
#  5. mallory, during the incident: 4 of his 20 recipients a message are
#     refused by bigmail.example (no evidence then), 6 are dead addresses
#     elsewhere: quarantined, from the dead addresses, within 3 messages.
# Each case is also a login whose verdicts the check reads; a case that
# the engine got wrong fails the test with its name.
set -euo pipefail
: "${SG_BUILD:?}" "${SG_SRC:?}"
dir=$(mktemp -d /tmp/sgevid.XXXXXX)
trap '[[ -n ${SG_KEEP:-} ]] || rm -rf "$dir"' EXIT

python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
T0 = 1763337600.0
ev, users, n = [], [], [0]

def msg(t, user, rcpts, dead=(), dsn="5.1.1", after=20.0):
    n[0] += 1
    m = "m%06d" % n[0]
    ev.append({"t": t, "ev": "submit", "user": user, "msg": m,
               "client": "100.64.0.1",
               "rcpts": [{"to": r, "smtp": 250} for r in rcpts]})
    for i, r in enumerate(rcpts):
        if r in dead:
            code = dsn(r) if callable(dsn) else dsn
            ev.append({"t": t + after + i, "ev": "delivery", "msg": m,
                       "to": r, "dsn": code})
    return m

def history(user, t, k=20):
    for i in range(k):
        msg(t + i * 600, user, ["h%d.%s" % (i, user.replace("@", ".at."))])

def user(name, tier="default"):
    users.append({"user": name, "tier": tier})

# 1. an old group
user("oldgroup@example.net")
history("oldgroup@example.net", T0)
rc = ["friend%d@isp%d.example" % (i, i % 4) for i in range(11)]
msg(T0 + 14000, "oldgroup@example.net", rc, dead=rc[:5])
for i in range(3):
    msg(T0 + 15000 + 600 * i, "oldgroup@example.net", ["kid%d@home.example" % i])
# 2. a greeting to an address book
user("greeting@example.net")
history("greeting@example.net", T0)
rc = ["contact%d@mail%d.example" % (i, i % 7) for i in range(56)]
msg(T0 + 14000, "greeting@example.net", rc, dead=rc[::8])
for i in range(3):
    msg(T0 + 15000 + 600 * i, "greeting@example.net", ["aunt%d@home.example" % i])
# 3. an old list of 30,000 in an hour, 6 of every 100 gone
user("campaign@example.net", "bulk")
for k in range(300):
    rc = ["sub%d.%d@list%d.example" % (k, i, i % 13) for i in range(100)]
    msg(T0 + 3600 + k * 12, "campaign@example.net", rc, dead=rc[:6],
        after=60.0)
# 4. a receiver incident: bigmail.example refuses everyone's mail
T1 = T0 + 30000
for c in range(15):
    u = "cust%d@example.net" % c
    user(u)
    history(u, T0 + 60 * c)
    for round_ in range(6):
        rc = ["pal%d.%d.%d@bigmail.example" % (c, round_, i) for i in range(4)]
        msg(T1 + round_ * 1200 + c * 30, u, rc, dead=rc, dsn="5.7.1")
# 5. an attacker during the incident
user("mallory@example.net")
history("mallory@example.net", T0)
for k in range(6):
    rc = ["v%d.%d@bigmail.example" % (k, i) for i in range(4)] + \
         ["x%d.%d@gone%d.example" % (k, i, i) for i in range(6)] + \
         ["y%d.%d@ok%d.example" % (k, i, i) for i in range(10)]
    msg(T1 + 2400 + k * 300, "mallory@example.net", rc, dead=rc[:10],
        dsn=lambda r: "5.7.1" if "bigmail" in r else "5.1.1")
# long after: one more bounce ends the quiet incident
m = msg(T1 + 30000, "oldgroup@example.net", ["z@zz.example"], dead=["z@zz.example"])
ev.sort(key=lambda e: e["t"])
with open(d + "/trace.jsonl", "w") as f:
    for e in ev:
        f.write(json.dumps(e) + "\n")
with open(d + "/users.jsonl", "w") as f:
    for u in users:
        f.write(json.dumps(u) + "\n")
EOF

"$SG_BUILD/subguard-replay" -j 1 -c "$SG_SRC/contrib/subguard.conf" \
    -t "$dir/users.jsonl" "$dir/trace.jsonl" >"$dir/verdicts.jsonl" \
    2>"$dir/replay.err"

python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
owner = {}
for line in open(d + "/trace.jsonl"):
    e = json.loads(line)
    if e["ev"] == "submit":
        owner[e["msg"]] = e["user"]
caught, order = {}, {}
for line in open(d + "/verdicts.jsonl"):
    v = json.loads(line)
    u = owner[v["msg"]]
    order[u] = order.get(u, 0) + (u not in caught)
    if v["verdict"] == "quarantine" or (v["verdict"] != "accept" and
            v.get("reason", "") not in ("", "messages", "recipients")):
        caught.setdefault(u, (order[u], v.get("reason", "")))
err = open(d + "/replay.err").read()
bad = []
for u in ["oldgroup", "greeting", "campaign"] + ["cust%d" % c for c in range(15)]:
    if u + "@example.net" in caught:
        bad.append("%s quarantined: %s" % (u, caught[u + "@example.net"][1]))
m = caught.get("mallory@example.net")
if m is None:
    bad.append("mallory not quarantined during the incident")
elif m[0] > 20 + 3:
    bad.append("mallory caught only at his message %d" % (m[0] - 20))
if "action=incident domain=bigmail.example state=start" not in err:
    bad.append("no incident start reported: " + err[-300:])
if "action=incident domain=bigmail.example state=end" not in err:
    bad.append("no incident end reported")
for b in bad:
    print("FAIL", b)
print("ok" if not bad else "%d failures" % len(bad), "- mallory:", m)
sys.exit(1 if bad else 0)
EOF
