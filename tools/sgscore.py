"""Scoring of subguard verdicts and baseline policies on a trace: the engine
behind subguard-score.

Why baselines: a detection rate means little alone.  Each baseline here is a
policy a postmaster could deploy today, simulated on the same trace from the
events alone, so subguard's row can be read against them: fixed daily quotas
(cbpolicyd, policyd-rate-limit), a leaky bucket (Rspamd's ratelimit), and two
failure-based quarantines (a failure count, and a SPOT-style failure ratio).

The metric definitions below are the contract; tools/README.md repeats them.

Recipients.  For a submit, n_acc = recipients with smtp 2xx (accepted by the
MTA), n_rej = recipients with smtp 5xx (refused by the MTA at submission, a
failure), n_all = every RCPT of the message.

Per-message outcome of a policy: accept; tempfail with `refused` recipients
(0..n_acc) not let through; blocked (quarantined or rejected).  leaked =
n_acc for accept, n_acc - refused for tempfail, 0 for blocked.  Refused
recipients are taken as not sent (a trace cannot model the client's retry);
their delivery events, and all of a blocked message's, are skipped.

Baselines (per SASL login, on the trace's clock):
  quota500  500 MTA-accepted recipients per UTC calendar day; the recipients
            past it (in RCPT order) are refused; refused ones do not count.
  bucket20  leaky bucket per recipient, 20 recipients/minute, burst 100: the
            level starts empty, drains 1/3 recipient per second, each
            MTA-accepted recipient adds 1 if the level stays <= 100, otherwise
            it is refused.  A message with any recipient refused is a tempfail.
  fail100   failures = 5xx recipients at submission (counted at the submit)
            plus 5.x.x delivery events of messages it let through (counted when
            they arrive); 4.x.x deferrals are not failures.  When 100 failures
            fall within the last hour (t-3600, t] the login is quarantined at t;
            if that happens at a submit, that message is already blocked (the
            milter saw the refused RCPTs before end of message); afterwards
            every message of the login is blocked.
  ratio20   per UTC day of submission: recipients += n_all at each submit,
            failures as for fail100 but each bounce counted (when it arrives)
            against the day its message was submitted; the login is
            quarantined at the first event where that day has recipients >= 50
            and failures >= 20% of recipients, with the same blocking rule.
subguard (from --verdicts): accept; tempfail with the optional "refused" (capped
at n_acc), else all n_acc refused; quarantine and reject are blocked.  A
missing verdict counts as accept (and is reported on stderr).

Detection of a compromised account (per policy).  Quarantined: a baseline
quarantined the login, or subguard gave any of its messages the verdict
quarantine; detection time = that moment.  Otherwise, stopped: looking at
the attacker's messages in time order, there is a point after which none
leaked a recipient and at least one was actively stopped (blocked, or
tempfailed with nothing leaked); detection time = the first actively stopped
message of that final run.  (A message whose recipients the MTA refused
itself neither starts nor breaks the run.)  Time to detection = detection
time - compromised_at, floored at 0.

Leaked attacker recipients per compromised account: for a detected account,
the attacker recipients the policy let through (they all came before the
stop); for an undetected one ALL MTA-accepted attacker recipients, because a
policy that only tempfails an attacker it never stops merely delays his mail.
Median and 95th percentile over compromised accounts, with linear
interpolation between order statistics (numpy's default method).

Legitimate accounts (classes consumer, business, bulk, stale_bulk,
greeting, and issue 14's small_group, greeting_abroad, traveller,
stale_bulk_big): false positives = accounts quarantined or with any message
blocked; message delay share = messages tempfailed / messages; recipient
delay share = refused recipients / MTA-accepted recipients.

Issue 14's measures (JSON; the Markdown table adds the first three columns):
  legit delayed     refused recipients / MTA-accepted recipients over every
                    legitimate class together ("legit_totals").
  greeting worst    per greeting and greeting_abroad account, refused /
                    MTA-accepted recipients; the largest share, and how many
                    accounts are over 10% ("greetings").
  phishing by net   phishing compromises stopped, split by the "net" label
                    (new: a network the account never used; home: its own);
                    compromises also split by the owner's "base".
  spam accepted     attacker recipients the policy let through, in all.
  hurt              legitimate recipients refused (tempfail) plus those of
                    blocked messages: what a policy costs good customers.
  incidents         with --incidents (the generator's incidents.jsonl): the
                    legitimate accounts with a recipient at the refusing
                    domain in a message submitted during an incident ("hit"),
                    those of them blocked at any time from its start
                    ("hit_quarantined"), and the legitimate accounts of any
                    kind whose first block falls in [start, end + 1 h)
                    ("false_positives_during"; the hour is the window in
                    which the refusals still weigh).  For a baseline the
                    block time is its quarantine, or its first blocked
                    message if earlier.
"""

import collections
import json
import math
import sys

DAY = 86400
LEGIT = ("consumer", "business", "bulk", "stale_bulk", "greeting",
         "small_group", "greeting_abroad", "traveller", "stale_bulk_big")
GREETINGS = ("greeting", "greeting_abroad")
NETS = ("new", "home")
BASES = ("consumer", "business")
INCIDENT_TAIL = 3600.0
MODES = ("burst", "low_and_slow", "sprayer", "phishing")
BASELINES = ("quota500", "bucket20", "fail100", "ratio20")

ACCEPT, TEMPFAIL, BLOCKED = 0, 1, 2


# -- baseline policies ------------------------------------------------------

class Quota500:
    """Fixed daily recipient quota (cbpolicyd / policyd-rate-limit style)."""
    name = "quota500"
    wants_failures = False

    def __init__(self, limit=500):
        self.limit = limit
        self.state = {}          # login -> [day, used]
        self.quarantined = {}

    def submit(self, user, t, n_acc, n_rej, n_all):
        day = int(t // DAY)
        s = self.state.get(user)
        if s is None or s[0] != day:
            s = self.state[user] = [day, 0]
        allow = min(n_acc, self.limit - s[1])
        s[1] += allow
        refused = n_acc - allow
        return (TEMPFAIL, refused) if refused else (ACCEPT, 0)


class Bucket20:
    """Leaky bucket per recipient (Rspamd ratelimit style): 20/min, burst 100."""
    name = "bucket20"
    wants_failures = False
    EPS = 1e-9  # float drain arithmetic; a recipient fits when level+1 <= burst

    def __init__(self, per_minute=20, burst=100):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.state = {}          # login -> [level, last_t]
        self.quarantined = {}

    def submit(self, user, t, n_acc, n_rej, n_all):
        s = self.state.get(user)
        if s is None:
            s = self.state[user] = [0.0, t]
        level = max(0.0, s[0] - (t - s[1]) * self.rate)
        room = int(math.floor(self.burst - level + self.EPS))
        allow = max(0, min(n_acc, room))
        s[0], s[1] = level + allow, t
        refused = n_acc - allow
        return (TEMPFAIL, refused) if refused else (ACCEPT, 0)


class Fail100:
    """Quarantine at 100 failed recipients within any hour."""
    name = "fail100"
    wants_failures = True

    def __init__(self, limit=100, window=3600.0):
        self.limit, self.window = limit, window
        self.state = {}          # login -> [deque of (t, n), sum]
        self.quarantined = {}    # login -> t

    def _add(self, user, t, n):
        s = self.state.get(user)
        if s is None:
            s = self.state[user] = [collections.deque(), 0]
        q = s[0]
        if n:
            q.append((t, n))
            s[1] += n
        while q and q[0][0] <= t - self.window:
            s[1] -= q.popleft()[1]
        if s[1] >= self.limit:
            self.quarantined[user] = t
            return True
        return False

    def submit(self, user, t, n_acc, n_rej, n_all):
        if user in self.quarantined:
            return BLOCKED, 0
        if n_rej and self._add(user, t, n_rej):
            return BLOCKED, 0
        return ACCEPT, 0

    def failure(self, user, t, sent_t):
        if user not in self.quarantined:
            self._add(user, t, 1)


class Ratio20:
    """SPOT-style: quarantine at >= 20% failures after >= 50 recipients in a
    UTC day.  A bounce counts against the day its message was submitted (as a
    counter keyed by that day would), so the tail of yesterday's bounces does
    not meet today's first few recipients: without that, clean newsletters
    crossing midnight would be quarantined by an artefact of the baseline."""
    name = "ratio20"
    wants_failures = True

    def __init__(self, ratio_pct=20, min_rcpts=50):
        self.pct, self.min = ratio_pct, min_rcpts
        self.state = {}          # login -> {day: [rcpts, failures]} (last 3 days)
        self.quarantined = {}

    def _day(self, user, day):
        days = self.state.get(user)
        if days is None:
            days = self.state[user] = {}
        s = days.get(day)
        if s is None:
            s = days[day] = [0, 0]
            for old in [d for d in days if d < day - 2]:
                del days[old]
        return s

    def _check(self, user, t, s):
        if s[0] >= self.min and s[1] * 100 >= self.pct * s[0]:
            self.quarantined[user] = t
            return True
        return False

    def submit(self, user, t, n_acc, n_rej, n_all):
        if user in self.quarantined:
            return BLOCKED, 0
        s = self._day(user, int(t // DAY))
        s[0] += n_all
        s[1] += n_rej
        if self._check(user, t, s):
            return BLOCKED, 0
        return ACCEPT, 0

    def failure(self, user, t, sent_t):
        if user not in self.quarantined:
            s = self._day(user, int(sent_t // DAY))
            s[1] += 1
            self._check(user, t, s)


def make_baselines():
    return [Quota500(), Bucket20(), Fail100(), Ratio20()]


# -- input ------------------------------------------------------------------

def read_jsonl(path):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError as e:
                    raise SystemExit("%s:%d: bad JSON: %s" % (path, n, e))


def load_users(path):
    """login -> (class, compromised_at, mode, net, base)."""
    users = {}
    for u in read_jsonl(path):
        users[u["user"]] = (u.get("class"), u.get("compromised_at"), u.get("mode"),
                            u.get("net"), u.get("base"))
    return users


def load_incidents(path):
    """[(suffix "@domain", start, end)] from the generator's incidents.jsonl."""
    out = []
    for n, i in enumerate(read_jsonl(path), 1):
        try:
            out.append(("@" + str(i["domain"]).lower(), float(i["start"]), float(i["end"])))
        except (KeyError, TypeError, ValueError):
            raise SystemExit("%s:%d: an incident needs domain, start and end" % (path, n))
    return out


def load_attackers(path):
    """Messages marked attacker; a file listing all messages works as well."""
    return {m["msg"] for m in read_jsonl(path) if m.get("attacker")}


def load_verdicts(path):
    out = {}
    for v in read_jsonl(path):
        verdict = v.get("verdict")
        if verdict not in ("accept", "tempfail", "quarantine", "reject"):
            raise SystemExit("%s: message %s: unknown verdict %r" % (path, v.get("msg"), verdict))
        out[v["msg"]] = (verdict, v.get("refused"))
    return out


# -- scoring ----------------------------------------------------------------

class Tally:
    """What one policy did to whom."""

    def __init__(self, name):
        self.name = name
        self.legit = {c: {"accounts": 0, "fp": set(), "messages": 0, "tempfailed": 0,
                          "recipients": 0, "refused": 0, "blocked": 0,
                          "rcpts_blocked": 0} for c in LEGIT}
        self.attack = {}         # login -> list of (t, n_acc, leaked, actively_stopped)
        self.quarantined = {}    # login -> t (subguard: first quarantine verdict)
        self.per_greeting = {}   # login -> [MTA-accepted recipients, refused]
        self.first_block = {}    # legitimate login -> t of its first blocked message

    def record(self, user, cls, attacker, t, n_acc, kind, refused):
        leaked = 0 if kind == BLOCKED else n_acc - refused
        if cls in self.legit:
            s = self.legit[cls]
            s["messages"] += 1
            s["recipients"] += n_acc
            if cls in GREETINGS:
                g = self.per_greeting.setdefault(user, [0, 0])
                g[0] += n_acc
                g[1] += refused if kind == TEMPFAIL else 0
            if kind == TEMPFAIL:
                s["tempfailed"] += 1
                s["refused"] += refused
            elif kind == BLOCKED:
                s["blocked"] += 1
                s["rcpts_blocked"] += n_acc
                s["fp"].add(user)
                self.first_block.setdefault(user, t)
        elif attacker:
            self.attack.setdefault(user, []).append(
                (t, n_acc, leaked, kind != ACCEPT and leaked == 0))


def percentile(values, p):
    """Linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(math.floor(k))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def detection(msgs, quarantined_at):
    """(detected, detection time or None, leaked) for one account's attacker
    messages under one policy; see the module docstring."""
    let_through = sum(m[2] for m in msgs)
    if quarantined_at is not None:
        return True, quarantined_at, let_through
    first_stop = None
    for t, n_acc, leaked, stopped in reversed(msgs):
        if leaked:
            break
        if stopped:
            first_stop = t
    if first_stop is not None:
        return True, first_stop, let_through
    return False, None, sum(m[1] for m in msgs)


def summarise(tally, users, incidents=None):
    comp = [(u, v) for u, v in users.items() if v[0] == "compromised"]
    by_mode = {m: [0, 0] for m in MODES}
    by_net = {n: [0, 0] for n in NETS}
    by_base = {b: [0, 0] for b in BASES}
    leaks, ttds = [], []
    spam_accepted = 0
    per_mode_leaks = {m: [] for m in MODES}
    per_mode_ttd = {m: [] for m in MODES}
    for login, (cls, cat, mode, net, base) in comp:
        msgs = tally.attack.get(login, [])
        q = tally.quarantined.get(login)
        det, when, leaked = detection(msgs, q)
        spam_accepted += sum(m[2] for m in msgs)
        key = mode if mode in by_mode else None
        if key:
            by_mode[key][1] += 1
        nk = net if mode == "phishing" and net in by_net else None
        if nk:
            by_net[nk][1] += 1
        if base in by_base:
            by_base[base][1] += 1
        leaks.append(leaked)
        if key:
            per_mode_leaks[key].append(leaked)
        if det:
            if nk:
                by_net[nk][0] += 1
            if base in by_base:
                by_base[base][0] += 1
            if key:
                by_mode[key][0] += 1
            ttd = max(0.0, when - cat) if cat is not None else 0.0
            ttds.append(ttd)
            if key:
                per_mode_ttd[key].append(ttd)
    detected = sum(1 for _ in ttds)
    legit = {}
    for c, s in tally.legit.items():
        legit[c] = {
            "accounts": s["accounts"],
            "false_positives": len(s["fp"]),
            "messages": s["messages"],
            "messages_tempfailed": s["tempfailed"],
            "messages_blocked": s["blocked"],
            "recipients": s["recipients"],
            "recipients_refused": s["refused"],
            "message_delay_share": s["tempfailed"] / s["messages"] if s["messages"] else 0.0,
            "recipient_delay_share": s["refused"] / s["recipients"] if s["recipients"] else 0.0,
            "recipients_blocked": s["rcpts_blocked"],
        }
    n_rc = sum(s["recipients"] for s in tally.legit.values())
    n_ref = sum(s["refused"] for s in tally.legit.values())
    n_blk = sum(s["rcpts_blocked"] for s in tally.legit.values())
    shares = sorted(((g[1] / g[0], u) for u, g in tally.per_greeting.items() if g[0]),
                    reverse=True)
    out_inc = None
    if incidents is not None:
        out_inc = incident_summary(tally, incidents)
    return {
        "policy": tally.name,
        "compromised": {
            "accounts": len(comp),
            "detected": detected,
            "detected_share": detected / len(comp) if comp else None,
            "by_mode": {m: {"accounts": n, "detected": d,
                            "detected_share": d / n if n else None,
                            "leaked_p50": percentile(per_mode_leaks[m], 50),
                            "ttd_p50_s": percentile(per_mode_ttd[m], 50)}
                        for m, (d, n) in by_mode.items()},
            "leaked_p50": percentile(leaks, 50),
            "leaked_p95": percentile(leaks, 95),
            "ttd_p50_s": percentile(ttds, 50),
            "spam_accepted": spam_accepted,
            "phishing_by_net": {n: {"accounts": a, "detected": d,
                                    "detected_share": d / a if a else None}
                                for n, (d, a) in by_net.items()},
            "by_base": {b: {"accounts": a, "detected": d,
                            "detected_share": d / a if a else None}
                        for b, (d, a) in by_base.items()},
        },
        "legit": legit,
        "legit_totals": {
            "accounts": sum(c["accounts"] for c in legit.values()),
            "false_positives": sum(c["false_positives"] for c in legit.values()),
            "recipients": n_rc,
            "recipients_refused": n_ref,
            "recipients_blocked": n_blk,
            "recipient_delay_share": n_ref / n_rc if n_rc else 0.0,
            "hurt": n_ref + n_blk,
        },
        "greetings": {
            "accounts": len(tally.per_greeting),
            "max_delay_share": shares[0][0] if shares else 0.0,
            "worst": shares[0][1] if shares and shares[0][0] > 0 else None,
            "over_10pct": sum(1 for x, _ in shares if x > 0.10),
        },
        "incidents": out_inc,
    }


def incident_summary(tally, incidents):
    """Accounts an incident touched and blocked; see the module docstring."""
    hit, during = tally.incident_hit, set()
    first = dict(tally.first_block)
    for u, t in tally.quarantined.items():
        if u in tally.legit_users and (u not in first or t < first[u]):
            first[u] = t
    hit_q = set()
    for u, t in first.items():
        for suffix, a, b in incidents:
            if a <= t < b + INCIDENT_TAIL:
                during.add(u)
            if u in hit and t >= a:
                hit_q.add(u)
    return {"incidents": len(incidents), "hit": len(hit),
            "hit_quarantined": len(hit_q),
            "false_positives_during": len(during),
            "during_by_class": {c: n for c, n in sorted(collections.Counter(
                tally.legit_users[u] for u in during).items())}}


def score(trace_path, users_path, messages_path, verdicts_path=None, incidents_path=None):
    """Run every policy over the trace; returns (list of summaries, info)."""
    users = load_users(users_path)
    incidents = load_incidents(incidents_path) if incidents_path else None
    incident_hit = set()
    legit_users = {u: v[0] for u, v in users.items() if v[0] in LEGIT}
    attackers = load_attackers(messages_path)
    verdicts = load_verdicts(verdicts_path) if verdicts_path else None
    baselines = make_baselines()
    tallies = ([Tally("subguard")] if verdicts is not None else []) + \
              [Tally(b.name) for b in baselines]
    base_tallies = tallies[-len(baselines):]
    fail_pols = [(i, b) for i, b in enumerate(baselines) if b.wants_failures]
    for t_ in tallies:
        t_.incident_hit, t_.legit_users = incident_hit, legit_users
        for login, v in users.items():
            if v[0] in t_.legit:
                t_.legit[v[0]]["accounts"] += 1
    sent = {}            # msg -> (login, t, "let through" per failure policy)
    info = {"submits": 0, "deliveries": 0, "bounces": 0, "missing_verdicts": 0,
            "unknown_users": 0}
    unknown = set()
    loads = json.loads
    with open(trace_path) as f:
        for line in f:
            # Most events are deliveries that are not 5.x.x: skip them unparsed.
            # (Any 5.x.x dsn contains the text "5. right after a quote.)
            if '"delivery"' in line and '"5.' not in line:
                info["deliveries"] += 1
                continue
            if not line.strip():
                continue
            e = loads(line)
            ev = e.get("ev")
            t = float(e["t"])
            if ev == "delivery":
                info["deliveries"] += 1
                if not str(e.get("dsn", "")).startswith("5."):
                    continue
                info["bounces"] += 1
                s = sent.get(e["msg"])
                if s is None:
                    continue
                login, sent_t, through = s
                for (i, pol), ok in zip(fail_pols, through):
                    if ok:
                        pol.failure(login, t, sent_t)
                continue
            if ev != "submit":
                continue
            info["submits"] += 1
            login = e["user"]
            msg = e["msg"]
            n_acc = n_rej = 0
            rc = e.get("rcpts") or []
            for r in rc:
                code = int(r.get("smtp", 250))
                if 200 <= code < 300:
                    n_acc += 1
                elif code >= 500:
                    n_rej += 1
            n_all = len(rc)
            lab = users.get(login)
            if lab is None:
                unknown.add(login)
                cls = None
            else:
                cls = lab[0]
            att = msg in attackers
            if incidents and cls in LEGIT and login not in incident_hit:
                for suffix, a, b in incidents:
                    if a <= t < b and any(str(r.get("to", "")).lower().endswith(suffix)
                                          for r in rc):
                        incident_hit.add(login)
                        break
            k = 0
            if verdicts is not None:
                v = verdicts.get(msg)
                if v is None:
                    info["missing_verdicts"] += 1
                    kind, refused = ACCEPT, 0
                else:
                    verdict, ref = v
                    if verdict == "accept":
                        kind, refused = ACCEPT, 0
                    elif verdict == "tempfail":
                        kind = TEMPFAIL
                        refused = n_acc if ref is None else max(0, min(n_acc, int(ref)))
                    else:
                        kind, refused = BLOCKED, 0
                        if verdict == "quarantine" and login not in tallies[0].quarantined:
                            tallies[0].quarantined[login] = t
                tallies[0].record(login, cls, att, t, n_acc, kind, refused)
                k = 1
            through = []
            for pol, tl in zip(baselines, base_tallies):
                kind, refused = pol.submit(login, t, n_acc, n_rej, n_all)
                tl.record(login, cls, att, t, n_acc, kind, refused)
                if pol.wants_failures:
                    through.append(kind != BLOCKED)
            if n_acc:
                sent[msg] = (login, t, tuple(through))
    info["unknown_users"] = len(unknown)
    for pol, tl in zip(baselines, base_tallies):
        tl.quarantined = dict(pol.quarantined)
    return [summarise(tl, users, incidents) for tl in tallies], info


# -- output -----------------------------------------------------------------

def fmt_share(d, n):
    if not n:
        return "-"
    return "%d/%d (%.1f%%)" % (d, n, 100.0 * d / n)


def fmt_num(x):
    if x is None:
        return "-"
    if abs(x - round(x)) < 1e-9:
        return "%d" % round(x)
    return "%.1f" % x


def fmt_dur(s):
    if s is None:
        return "-"
    s = int(round(s))
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    return "%dh%02dm" % (s // 3600, (s % 3600) // 60)


def markdown(results):
    """The main table (classes without accounts left out), then issue 14's."""
    classes = [c for c in LEGIT if any(r["legit"][c]["accounts"] for r in results)]
    head = ["policy", "detected", "burst", "low_and_slow", "sprayer", "phishing",
            "leaked p50", "leaked p95", "TTD p50"] + \
           ["%s FP / msg tf / rcpt tf" % c for c in classes]
    rows = [head, ["---"] * len(head)]
    for r in results:
        c = r["compromised"]
        row = [r["policy"], fmt_share(c["detected"], c["accounts"])]
        for m in MODES:
            bm = c["by_mode"][m]
            row.append("%d/%d" % (bm["detected"], bm["accounts"]) if bm["accounts"] else "-")
        row += [fmt_num(c["leaked_p50"]), fmt_num(c["leaked_p95"]), fmt_dur(c["ttd_p50_s"])]
        for cl in classes:
            s = r["legit"][cl]
            row.append("%d / %.2f%% / %.2f%%" % (s["false_positives"],
                                                100 * s["message_delay_share"],
                                                100 * s["recipient_delay_share"]))
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n\n" + markdown14(results)


def markdown14(results):
    """Issue 14's measures, one row per policy."""
    head = ["policy", "spam accepted", "legit FP", "legit rcpts delayed",
            "legit rcpts hurt", "greeting worst / >10%", "phishing new", "phishing home",
            "business-based", "incident hit / quarantined", "FP during incidents"]
    rows = [head, ["---"] * len(head)]
    for r in results:
        c, lt, g, inc = r["compromised"], r["legit_totals"], r["greetings"], r["incidents"]
        row = [r["policy"], "%d" % c["spam_accepted"], "%d" % lt["false_positives"],
               "%.3f%%" % (100 * lt["recipient_delay_share"]), "%d" % lt["hurt"],
               "%.1f%% / %d" % (100 * g["max_delay_share"], g["over_10pct"])]
        for grp in (c["phishing_by_net"]["new"], c["phishing_by_net"]["home"],
                    c["by_base"]["business"]):
            row.append("%d/%d" % (grp["detected"], grp["accounts"]) if grp["accounts"] else "-")
        if inc is None:
            row += ["-", "-"]
        else:
            row += ["%d / %d" % (inc["hit"], inc["hit_quarantined"]),
                    "%d" % inc["false_positives_during"]]
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(
        prog="subguard-score",
        description="Score subguard's verdicts and baseline policies on a trace. "
                    "Metric definitions: tools/README.md.")
    ap.add_argument("--trace", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--messages", required=True)
    ap.add_argument("--verdicts", help="subguard-replay output (JSON Lines)")
    ap.add_argument("--incidents", help="the generator's incidents.jsonl (ground truth)")
    ap.add_argument("--format", choices=("md", "json"), default="md")
    ap.add_argument("--json-out", metavar="FILE",
                    help="also write the JSON (as --format json prints it) to FILE")
    a = ap.parse_args(argv)
    results, info = score(a.trace, a.users, a.messages, a.verdicts, a.incidents)
    if info["missing_verdicts"]:
        print("subguard-score: %d submits had no verdict (counted as accept)"
              % info["missing_verdicts"], file=sys.stderr)
    if info["unknown_users"]:
        print("subguard-score: %d logins in the trace are not in %s"
              % (info["unknown_users"], a.users), file=sys.stderr)
    doc = json.dumps({"trace": info, "policies": results}, indent=1, sort_keys=True)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(doc + "\n")
    if a.format == "json":
        print(doc)
    else:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
