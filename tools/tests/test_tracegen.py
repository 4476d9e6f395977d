"""subguard-tracegen: determinism, the trace-format contract, and that the
populations come out as documented.  One 2,000-user one-day trace is made
once for the class (about 2 s) and checked many ways."""

import collections
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
import sgtrace  # noqa: E402

SCRIPT = os.path.join(TOOLS, "subguard-tracegen")


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


class TestDeterminism(unittest.TestCase):
    def run_gen(self, seed, out):
        subprocess.run([sys.executable, SCRIPT, "--seed", str(seed), "--users", "300",
                        "--days", "1", "--out", out, "--quiet"], check=True)

    def test_same_seed_same_bytes_other_seed_differs(self):
        with tempfile.TemporaryDirectory() as d:
            a, b, c = (os.path.join(d, x) for x in "abc")
            self.run_gen(5, a)
            self.run_gen(5, b)
            self.run_gen(6, c)
            for name in ("trace.jsonl", "users.jsonl", "messages.jsonl"):
                self.assertTrue(filecmp.cmp(os.path.join(a, name), os.path.join(b, name),
                                            shallow=False), name)
            self.assertFalse(filecmp.cmp(os.path.join(a, "trace.jsonl"),
                                         os.path.join(c, "trace.jsonl"), shallow=False))

    def test_prints_summary(self):
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([sys.executable, SCRIPT, "--seed", "1", "--users", "50",
                                  "--days", "1", "--out", d],
                                 check=True, capture_output=True, text=True).stdout
            self.assertIn("events=", out)
            self.assertIn("population:", out)


class TestShares(unittest.TestCase):
    def shares(self, scenario, n=4000):
        g = sgtrace.Generator("s", n, 1, scenario)
        g.assign()
        c = collections.Counter(u.cls for u in g.users)
        return {k: c[k] / n for k in sgtrace.CLASSES}, g

    def test_scenarios(self):
        for scen, want in sgtrace.SCENARIOS.items():
            got, g = self.shares(scen)
            for k, v in want.items():
                self.assertAlmostEqual(got[k], v, delta=0.005, msg="%s %s" % (scen, k))
            modes = collections.Counter(u.mode for u in g.users if u.cls == "compromised")
            self.assertLessEqual(max(modes.values()) - min(modes.values()), 1)
        self.assertGreaterEqual(self.shares("attack-heavy")[0]["compromised"], 0.095)
        self.assertGreater(self.shares("bulk-heavy")[0]["bulk"],
                           5 * self.shares("mixed")[0]["bulk"])


class TestTrace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        # The first evaluation's population; issue 14's: test_populations.py.
        g = sgtrace.Generator("7", 2000, 1, "classic").run()
        g.write(d)
        cls.start, cls.end = g.start, g.end
        cls.events = read(os.path.join(d, "trace.jsonl"))
        cls.users = {u["user"]: u for u in read(os.path.join(d, "users.jsonl"))}
        cls.attackers = {m["msg"] for m in read(os.path.join(d, "messages.jsonl"))
                         if m["attacker"]}
        cls.submits = {e["msg"]: e for e in cls.events if e["ev"] == "submit"}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_sorted_by_t(self):
        ts = [e["t"] for e in self.events]
        self.assertTrue(all(a <= b for a, b in zip(ts, ts[1:])))
        self.assertGreater(len(self.events), 100000)

    def test_submit_fields_and_ids(self):
        ids = [e["msg"] for e in self.events if e["ev"] == "submit"]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(ids, sorted(ids))            # numbered in time order
        for e in self.submits.values():
            self.assertIn(e["user"], self.users)
            self.assertRegex(e["client"], r"^\d+\.\d+\.\d+\.\d+$")
            self.assertGreater(e["size"], 0)
            self.assertTrue(e["rcpts"])
            tos = [r["to"] for r in e["rcpts"]]
            self.assertEqual(len(tos), len(set(tos)))
            for r in e["rcpts"]:
                self.assertIn(r["smtp"], (250, 550))
                if r["smtp"] == 550:
                    self.assertEqual(r["dsn"], "5.1.1")
                    self.assertTrue(r["to"].endswith(sgtrace.ISP_SUFFIXES))
            self.assertTrue(self.start <= e["t"] < self.end)

    def test_deliveries_follow_accepted_recipients(self):
        seen = set()
        final = collections.Counter()
        for e in self.events:
            if e["ev"] == "submit":
                seen.add(e["msg"])
                continue
            m = self.submits.get(e["msg"])
            self.assertIsNotNone(m)
            self.assertIn(e["msg"], seen)                  # after its submit
            self.assertGreater(e["t"], m["t"])
            acc = {r["to"] for r in m["rcpts"] if r["smtp"] == 250}
            self.assertIn(e["to"], acc)
            key = (e["msg"], e["to"])
            self.assertEqual(final[key], 0, "event after a final outcome")
            if e["dsn"][0] in "25":
                final[key] += 1
            else:
                self.assertEqual(e["dsn"][0], "4")
        for m in self.submits.values():
            for r in m["rcpts"]:
                self.assertEqual(final[(m["msg"], r["to"])], 1 if r["smtp"] == 250 else 0)

    def test_attacker_labels(self):
        comp = {u for u, v in self.users.items() if v["class"] == "compromised"}
        att_users = collections.Counter()
        new24 = 0
        for mid in self.attackers:
            e = self.submits[mid]
            u = self.users[e["user"]]
            self.assertEqual(u["class"], "compromised")
            self.assertIn(u["mode"], sgtrace.MODES)
            self.assertGreaterEqual(e["t"], u["compromised_at"])
            att_users[e["user"]] += 1
            new24 += e["client"].startswith("198.")
        self.assertEqual(set(att_users), comp)        # every account attacked
        self.assertGreater(new24 / len(self.attackers), 0.5)
        for u, v in self.users.items():
            if v["class"] != "compromised":
                self.assertIsNone(v["compromised_at"])
            else:
                self.assertTrue(self.start <= v["compromised_at"] < self.end)

    def failure_rates(self, pred):
        """Per login: failed (5xx at submission or 5.x.x bounce) / recipients,
        over the messages matching pred."""
        rc, fail = collections.Counter(), collections.Counter()
        picked = {}
        for e in self.submits.values():
            if pred(e):
                picked[e["msg"]] = e["user"]
                rc[e["user"]] += len(e["rcpts"])
                fail[e["user"]] += sum(r["smtp"] >= 500 for r in e["rcpts"])
        for e in self.events:
            if e["ev"] == "delivery" and e["dsn"].startswith("5.") and e["msg"] in picked:
                fail[picked[e["msg"]]] += 1
        return {u: (fail[u], rc[u]) for u in rc}

    def campaign_sizes(self, login):
        """A sender's campaign messages share one size (the same newsletter);
        transactional mail does not: the most common size is the campaign."""
        c = collections.Counter()
        for e in self.submits.values():
            if e["user"] == login:
                c[e["size"]] += len(e["rcpts"])
        return c.most_common(1)[0][0]

    def test_bulk_bounce_band(self):
        bulk = [u for u, v in self.users.items() if v["class"] == "bulk"]
        self.assertEqual(len(bulk), 20)
        tot_f = tot_n = 0
        for u in bulk:
            size = self.campaign_sizes(u)
            (f, n), = self.failure_rates(lambda e: e["user"] == u and e["size"] == size).values()
            self.assertGreaterEqual(n, 1000)
            # exact count per campaign: off the band by rounding only
            self.assertGreaterEqual(f / n, 0.001 - 0.5 / n, u)
            self.assertLessEqual(f / n, 0.02 + 0.5 / n, u)
            (f2, n2), = self.failure_rates(lambda e: e["user"] == u).values()
            tot_f += f2
            tot_n += n2
        self.assertTrue(0.001 <= tot_f / tot_n <= 0.02, tot_f / tot_n)

    def test_stale_bulk_campaign_band(self):
        stale = [u for u, v in self.users.items() if v["class"] == "stale_bulk"]
        self.assertEqual(len(stale), 10)
        for u in stale:
            size = self.campaign_sizes(u)
            (f, n), = self.failure_rates(lambda e: e["user"] == u and e["size"] == size).values()
            self.assertGreaterEqual(f / n, 0.04 - 0.5 / n, u)
            self.assertLessEqual(f / n, 0.08 + 0.5 / n, u)

    def test_class_failure_rates_and_volumes(self):
        by_class = collections.defaultdict(lambda: [0, 0, 0])   # fails, rcpts, msgs
        rates = self.failure_rates(lambda e: e["msg"] not in self.attackers)
        for u, (f, n) in rates.items():
            c = by_class[self.users[u]["class"]]
            c[0] += f
            c[1] += n
        for e in self.submits.values():
            if e["msg"] not in self.attackers:
                by_class[self.users[e["user"]]["class"]][2] += 1
        rate = {k: v[0] / v[1] for k, v in by_class.items()}
        self.assertTrue(0.005 <= rate["consumer"] <= 0.02, rate["consumer"])
        self.assertTrue(0.005 <= rate["business"] <= 0.02, rate["business"])
        self.assertTrue(0.02 <= rate["greeting"] <= 0.06, rate["greeting"])
        n_cons = sum(1 for v in self.users.values() if v["class"] == "consumer")
        per_day = by_class["consumer"][2] / n_cons
        self.assertTrue(1.5 <= per_day <= 6, per_day)             # "a few a day"
        att = self.failure_rates(lambda e: e["msg"] in self.attackers)
        modes = collections.defaultdict(lambda: [0, 0])
        for u, (f, n) in att.items():
            modes[self.users[u]["mode"]][0] += f
            modes[self.users[u]["mode"]][1] += n
        self.assertTrue(0.10 <= modes["burst"][0] / modes["burst"][1] <= 0.40)
        self.assertTrue(0.15 <= modes["sprayer"][0] / modes["sprayer"][1] <= 0.40)
        self.assertTrue(0.10 <= modes["low_and_slow"][0] / modes["low_and_slow"][1] <= 0.30)
        self.assertTrue(0.005 <= modes["phishing"][0] / modes["phishing"][1] <= 0.04)


if __name__ == "__main__":
    unittest.main()
