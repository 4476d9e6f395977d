"""subguard-score on small hand-made traces whose right answers are worked
out by hand in the comments, so a change to a baseline's semantics shows up
as a failing number rather than a silently different table."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
import sgscore  # noqa: E402

S = 1763337600.0  # a UTC midnight


class TraceBuilder:
    """Writes trace/users/messages (and verdicts) files for one test."""

    def __init__(self, case):
        self.dir = tempfile.TemporaryDirectory()
        case.addCleanup(self.dir.cleanup)
        self.events, self.users, self.attackers, self.verdicts = [], [], [], []
        self.n = 0

    def user(self, login, cls, compromised_at=None, mode=None):
        u = {"user": login, "class": cls, "compromised_at": compromised_at}
        if mode:
            u["mode"] = mode
        self.users.append(u)

    def submit(self, t, login, acc, rej=0, attacker=False, verdict=None, refused=None):
        self.n += 1
        msg = "m%07d" % self.n
        rcpts = [{"to": "r%d-%d@example.org" % (self.n, i), "smtp": 250} for i in range(acc)]
        rcpts += [{"to": "x%d-%d@example.net" % (self.n, i), "smtp": 550, "dsn": "5.1.1"}
                  for i in range(rej)]
        self.events.append({"t": t, "ev": "submit", "user": login, "msg": msg,
                            "client": "192.0.2.1", "size": 1000, "rcpts": rcpts})
        if attacker:
            self.attackers.append(msg)
        if verdict:
            v = {"msg": msg, "verdict": verdict}
            if refused is not None:
                v["refused"] = refused
            self.verdicts.append(v)
        return msg

    def delivery(self, t, msg, i, dsn):
        self.events.append({"t": t, "ev": "delivery", "msg": msg,
                            "to": "r%d-%d@example.org" % (int(msg[1:]), i), "dsn": dsn})

    def paths(self):
        d = self.dir.name
        self.events.sort(key=lambda e: e["t"])  # stable: equal t keep order
        files = {"trace": self.events, "users": self.users,
                 "messages": [{"msg": m, "attacker": True} for m in self.attackers],
                 "verdicts": self.verdicts}
        out = {}
        for name, rows in files.items():
            p = os.path.join(d, name + ".jsonl")
            with open(p, "w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
            out[name] = p
        return out

    def score(self, verdicts=False):
        p = self.paths()
        res, info = sgscore.score(p["trace"], p["users"], p["messages"],
                                  p["verdicts"] if verdicts else None)
        return {r["policy"]: r for r in res}, info


class TestQuota500(unittest.TestCase):
    def test_600_in_a_day_tempfails_exactly_100(self):
        # 6 x 100 recipients on one day: the 6th message is refused whole.
        b = TraceBuilder(self)
        b.user("a@example.net", "consumer")
        for k in range(6):
            b.submit(S + 1000 * k, "a@example.net", 100)
        r = b.score()[0]["quota500"]["legit"]["consumer"]
        self.assertEqual(r["recipients_refused"], 100)
        self.assertEqual(r["messages_tempfailed"], 1)
        self.assertEqual(r["messages"], 6)
        self.assertEqual(r["false_positives"], 0)

    def test_partial_message_and_day_reset(self):
        # 150 x 3 = 450 used; the 4th message of 150: 50 in, 100 refused
        # (one message tempfailed); MTA-refused RCPTs do not count against
        # the quota; the next UTC day starts at 0 again (300 all in).
        b = TraceBuilder(self)
        b.user("a@example.net", "consumer")
        for k in range(3):
            b.submit(S + 3600 * k, "a@example.net", 150, rej=10)
        b.submit(S + 4 * 3600, "a@example.net", 150)
        b.submit(S + 86400 + 1, "a@example.net", 300)
        r = b.score()[0]["quota500"]["legit"]["consumer"]
        self.assertEqual(r["recipients_refused"], 100)
        self.assertEqual(r["messages_tempfailed"], 1)
        self.assertEqual(r["recipients"], 900)   # 3 x 150 + 150 + 300
        self.assertAlmostEqual(r["recipient_delay_share"], 100 / 900)
        self.assertAlmostEqual(r["message_delay_share"], 1 / 5)

    def test_policy_directly(self):
        q = sgscore.Quota500()
        self.assertEqual(q.submit("a", S, 499, 0, 499), (sgscore.ACCEPT, 0))
        self.assertEqual(q.submit("a", S + 1, 2, 0, 2), (sgscore.TEMPFAIL, 1))
        self.assertEqual(q.submit("a", S + 2, 1, 0, 1), (sgscore.TEMPFAIL, 1))
        self.assertEqual(q.submit("b", S + 2, 1, 0, 1), (sgscore.ACCEPT, 0))


class TestBucket20(unittest.TestCase):
    def test_burst_allowance_by_hand(self):
        # Leaky bucket, burst 100, drains 20/min = 1/3 per second.
        # t=0:    90 rcpts, level 0 -> 90, none refused.
        # t=30:   level 90 - 10 = 80, room 20: 30 rcpts -> 20 in, 10 refused.
        # t=60:   level 100 - 10 = 90, room 10: 30 rcpts -> 10 in, 20 refused.
        # t=60.5: level 100 - 0.1667, room 0: 1 rcpt refused (whole message).
        # t=63.5: level 100 - 1.1667 = 98.83, room 1: 1 rcpt in.
        b = TraceBuilder(self)
        b.user("a@example.net", "business")
        b.submit(S, "a@example.net", 90)
        b.submit(S + 30, "a@example.net", 30)
        b.submit(S + 60, "a@example.net", 30)
        b.submit(S + 60.5, "a@example.net", 1)
        b.submit(S + 63.5, "a@example.net", 1)
        r = b.score()[0]["bucket20"]["legit"]["business"]
        self.assertEqual(r["recipients_refused"], 10 + 20 + 1)
        self.assertEqual(r["messages_tempfailed"], 3)
        self.assertEqual(r["recipients"], 152)

    def test_thirty_in_a_minute_within_burst(self):
        # 30 one-recipient messages at t=0,2,..,58: each step drains 2/3 and
        # adds 1, so the level ends at 1 + 29/3 = 10.67 at t=58 and none is
        # refused (30 < burst 100).  At t=60 the level is 10: a message of 80
        # fits (-> 90), one of 10 fits (-> 100), one of 5 is refused whole.
        b = TraceBuilder(self)
        b.user("a@example.net", "consumer")
        for k in range(30):
            b.submit(S + 2 * k, "a@example.net", 1)
        res = b.score()[0]["bucket20"]["legit"]["consumer"]
        self.assertEqual(res["recipients_refused"], 0)
        b.submit(S + 60, "a@example.net", 80)
        b.submit(S + 60, "a@example.net", 10)
        b.submit(S + 60, "a@example.net", 5)
        res = b.score()[0]["bucket20"]["legit"]["consumer"]
        self.assertEqual(res["recipients_refused"], 5)
        self.assertEqual(res["messages_tempfailed"], 1)


class TestFail100(unittest.TestCase):
    def test_100_bounces_in_50_minutes(self):
        # One attacker message of 100 recipients at t0; bounces every 30 s
        # from t0+30: the 100th arrives at t0+3000 (50 min) -> quarantine
        # then. A message at t0+2999 still passes; one at t0+3001 is blocked.
        b = TraceBuilder(self)
        t0 = S + 7200
        b.user("c@example.net", "compromised", compromised_at=t0, mode="burst")
        m = b.submit(t0, "c@example.net", 100, attacker=True)
        for k in range(100):
            b.delivery(t0 + 30 * (k + 1), m, k, "5.1.1")
        b.submit(t0 + 2999, "c@example.net", 7, attacker=True)
        b.submit(t0 + 3001, "c@example.net", 5, attacker=True)
        r = b.score()[0]["fail100"]["compromised"]
        self.assertEqual(r["detected"], 1)
        self.assertEqual(r["ttd_p50_s"], 3000)
        self.assertEqual(r["leaked_p50"], 107)   # 100 + 7, not the last 5

    def test_window_slides(self):
        # Bounces every 40 s: at most 90 fall in any hour -> never.
        f = sgscore.Fail100()
        for k in range(300):
            f.failure("a", S + 40 * k, S)
        self.assertNotIn("a", f.quarantined)
        # 99 in the hour, the 100th an hour after the first: the first has
        # left the window (t-3600, t] -> still not.
        g = sgscore.Fail100()
        g.failure("a", S, S)
        for k in range(98):
            g.failure("a", S + 100 + k, S)
        g.failure("a", S + 3600, S)
        self.assertNotIn("a", g.quarantined)
        g.failure("a", S + 3601, S)   # 98 + 2 = 100 in (1, 3601]
        self.assertEqual(g.quarantined["a"], S + 3601)

    def test_submission_refusals_count_and_block_their_message(self):
        # 60 refused at submission, then 39 bounces: 99. The next message
        # brings 1 more refused RCPT: 100 -> that message is blocked.
        b = TraceBuilder(self)
        b.user("a@example.net", "bulk")
        m = b.submit(S, "a@example.net", 50, rej=60)
        for k in range(39):
            b.delivery(S + 10 + k, m, k, "5.1.1")
        b.delivery(S + 60, m, 45, "4.7.1")           # deferral: not a failure
        b.submit(S + 100, "a@example.net", 3, rej=1)
        b.submit(S + 200, "a@example.net", 2)
        r = b.score()[0]["fail100"]["legit"]["bulk"]
        self.assertEqual(r["false_positives"], 1)
        self.assertEqual(r["messages_blocked"], 2)


class TestRatio20(unittest.TestCase):
    def test_quarantine_at_the_right_message(self):
        # m1..m4: 10 RCPTs each, 3 refused by the MTA: 40 rcpts, 12 failures
        # (30%) but fewer than 50 recipients -> nothing. m5: 10 clean
        # RCPTs -> 50 rcpts, 12 failures = 24% >= 20% -> m5 blocked, m6 too.
        b = TraceBuilder(self)
        t0 = S + 3600
        b.user("c@example.net", "compromised", compromised_at=t0, mode="sprayer")
        for k in range(4):
            b.submit(t0 + 60 * k, "c@example.net", 7, rej=3, attacker=True)
        b.submit(t0 + 240, "c@example.net", 10, attacker=True)
        b.submit(t0 + 300, "c@example.net", 10, attacker=True)
        r = b.score()[0]["ratio20"]["compromised"]
        self.assertEqual(r["detected"], 1)
        self.assertEqual(r["ttd_p50_s"], 240)
        self.assertEqual(r["leaked_p50"], 28)   # 4 x 7; m5, m6 blocked

    def test_bounces_count_on_their_submission_day(self):
        # 60 clean recipients on day 0 (23:00); 11 bounces at 23:30 (11/60 =
        # 18.3%); the 12th arrives the next day at 00:10 and counts against day
        # 0: 12/60 = 20% -> quarantined at 00:10.
        r = sgscore.Ratio20()
        t = S + 23 * 3600
        self.assertEqual(r.submit("a", t, 60, 0, 60), (sgscore.ACCEPT, 0))
        for _ in range(11):
            r.failure("a", t + 1800, t)
        self.assertNotIn("a", r.quarantined)
        r.failure("a", S + 86400 + 600, t)
        self.assertEqual(r.quarantined["a"], S + 86400 + 600)
        # Day 0's late bounces do not count against day 1: there, 49 clean
        # recipients and then a message with 10 MTA-refused RCPTs give 10/59 =
        # 16.9% -> accepted; one more refused RCPT: 11/60 = 18.3% -> accepted;
        # a message with 1 more refused: 12/61 = 19.7% -> accepted; 1 more
        # refused: 13/62 = 20.97% -> blocked.
        r2 = sgscore.Ratio20()
        r2.submit("a", t, 60, 0, 60)
        for _ in range(11):
            r2.failure("a", S + 86400 + 600, t)
        d1 = S + 86400 + 700
        self.assertEqual(r2.submit("a", d1, 49, 0, 49), (sgscore.ACCEPT, 0))
        self.assertEqual(r2.submit("a", d1 + 1, 0, 10, 10), (sgscore.ACCEPT, 0))
        self.assertEqual(r2.submit("a", d1 + 2, 0, 1, 1), (sgscore.ACCEPT, 0))
        self.assertEqual(r2.submit("a", d1 + 3, 0, 1, 1), (sgscore.ACCEPT, 0))
        self.assertEqual(r2.submit("a", d1 + 4, 0, 1, 1), (sgscore.BLOCKED, 0))
        self.assertEqual(r2.quarantined["a"], d1 + 4)


class TestDetectionAndLeaks(unittest.TestCase):
    """Three compromised accounts scored from hand-written subguard verdicts.

    A (burst, from S): a1..a5, 10 recipients each at S+60k; verdicts accept,
      accept, quarantine, quarantine, reject -> quarantined at a3 (S+180):
      detected, TTD 180, leaked 20.
    B (sprayer, from S+1000): b1..b6, 1 recipient each at S+1000+10k;
      accept, tempfail, accept, tempfail, tempfail, tempfail, then b7 whose
      only RCPT the MTA refused (accept: neutral) -> stopped from b4
      (S+1040): detected, TTD 40, leaked 2 (b1, b3).
    C (phishing, from S+2000): c1..c3, 50 recipients each; accept,
      tempfail refused=20, accept -> never stopped: undetected, charged all
      150 MTA-accepted attacker recipients (not the 130 let through).
    Shares: 2/3; per mode burst 1/1, sprayer 1/1, phishing 0/1.
    Leaks sorted [2, 20, 150]: median 20; p95 at rank 0.95*2 = 1.9:
      20 + 0.9*(150-20) = 137.  TTD median of [180, 40] = 110.
    """

    def build(self):
        b = TraceBuilder(self)
        b.user("a@example.net", "compromised", S, "burst")
        b.user("b@example.net", "compromised", S + 1000, "sprayer")
        b.user("c@example.net", "compromised", S + 2000, "phishing")
        b.user("l@example.net", "consumer")
        b.user("w@example.net", "business")
        for k, v in enumerate(("accept", "accept", "quarantine", "quarantine", "reject"), 1):
            b.submit(S + 60 * k, "a@example.net", 10, attacker=True, verdict=v)
        for k, v in enumerate(("accept", "tempfail", "accept", "tempfail", "tempfail",
                               "tempfail"), 1):
            b.submit(S + 1000 + 10 * k, "b@example.net", 1, attacker=True, verdict=v)
        b.submit(S + 1070, "b@example.net", 0, rej=1, attacker=True, verdict="accept")
        b.submit(S + 2100, "c@example.net", 50, attacker=True, verdict="accept")
        b.submit(S + 2200, "c@example.net", 50, attacker=True, verdict="tempfail", refused=20)
        b.submit(S + 2300, "c@example.net", 50, attacker=True, verdict="accept")
        # The owner of C keeps writing: legitimate mail of a compromised
        # account is neither an attack nor a legitimate class's row.
        b.submit(S + 2400, "c@example.net", 1, verdict="accept")
        # Legit consumer: 4 messages, 2 tempfailed; recipients 2+3+4+1 = 10,
        # refused 1 (given) + 4 (all, no field) = 5.
        b.submit(S + 10, "l@example.net", 2, verdict="accept")
        b.submit(S + 20, "l@example.net", 3, verdict="tempfail", refused=1)
        b.submit(S + 30, "l@example.net", 4, verdict="tempfail")
        b.submit(S + 40, "l@example.net", 1, verdict="accept")
        # Legit business: one rejected message -> one false positive.
        b.submit(S + 50, "w@example.net", 1, verdict="reject")
        b.submit(S + 60, "w@example.net", 1)   # no verdict -> accept, reported
        return b

    def test_subguard_row(self):
        res, info = self.build().score(verdicts=True)
        self.assertEqual(info["missing_verdicts"], 1)
        c = res["subguard"]["compromised"]
        self.assertEqual((c["detected"], c["accounts"]), (2, 3))
        self.assertEqual(c["by_mode"]["burst"]["detected"], 1)
        self.assertEqual(c["by_mode"]["sprayer"]["detected"], 1)
        self.assertEqual(c["by_mode"]["phishing"]["detected"], 0)
        self.assertEqual(c["by_mode"]["low_and_slow"]["accounts"], 0)
        self.assertEqual(c["leaked_p50"], 20)
        self.assertAlmostEqual(c["leaked_p95"], 137.0)
        self.assertEqual(c["ttd_p50_s"], 110)
        lc = res["subguard"]["legit"]["consumer"]
        self.assertEqual((lc["messages"], lc["messages_tempfailed"]), (4, 2))
        self.assertEqual((lc["recipients"], lc["recipients_refused"]), (10, 5))
        self.assertEqual(lc["false_positives"], 0)
        self.assertEqual(res["subguard"]["legit"]["business"]["false_positives"], 1)

    def test_percentile(self):
        self.assertEqual(sgscore.percentile([3, 1, 2], 50), 2)
        self.assertEqual(sgscore.percentile([1, 2, 3, 4], 50), 2.5)
        self.assertAlmostEqual(sgscore.percentile(list(range(1, 101)), 95), 95.05)
        self.assertIsNone(sgscore.percentile([], 50))

    def test_cli_markdown_and_json(self):
        b = self.build()
        p = b.paths()
        script = os.path.join(TOOLS, "subguard-score")
        base = [sys.executable, script, "--trace", p["trace"], "--users", p["users"],
                "--messages", p["messages"], "--verdicts", p["verdicts"]]
        md = subprocess.run(base, capture_output=True, text=True, check=True)
        main, issue14 = md.stdout.strip().split("\n\n")   # two tables
        lines = main.split("\n")
        self.assertEqual(len(lines), 2 + 5)   # header, rule, subguard + 4 baselines
        self.assertEqual(len(issue14.split("\n")), 2 + 5)
        self.assertTrue(lines[2].startswith("| subguard | 2/3 (66.7%) | 1/1 | - | 1/1 | 0/1 | 20 | 137 | 1m50s |"))
        self.assertIn("no verdict", md.stderr)
        js = subprocess.run(base + ["--format", "json"], capture_output=True, text=True, check=True)
        doc = json.loads(js.stdout)
        self.assertEqual([r["policy"] for r in doc["policies"]],
                         ["subguard", "quota500", "bucket20", "fail100", "ratio20"])
        no_v = subprocess.run(base[:-2], capture_output=True, text=True, check=True)
        self.assertEqual(len(no_v.stdout.strip().split("\n\n")[0].split("\n")), 2 + 4)


if __name__ == "__main__":
    unittest.main()
