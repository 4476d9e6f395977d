"""subguard-score's issue 14 measures and check-targets v1/v2, on small
hand-made traces whose right answers are worked out in the comments."""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgscore  # noqa: E402
from test_score import S, TraceBuilder  # noqa: E402

CHECK = os.path.join(TOOLS, "check-targets")
SCORE = os.path.join(TOOLS, "subguard-score")
INC_START, INC_END = S + 14 * 3600, S + 16.5 * 3600


class Builder(TraceBuilder):
    """TraceBuilder with net/base labels, recipients at chosen domains and an
    incidents file."""

    def user(self, login, cls, compromised_at=None, mode=None, net=None, base=None):
        super().user(login, cls, compromised_at, mode)
        if net:
            self.users[-1]["net"] = net
        if base:
            self.users[-1]["base"] = base

    def submit_to(self, t, login, tos, verdict="accept", refused=None, attacker=False):
        msg = self.submit(t, login, 0, attacker=attacker, verdict=verdict, refused=refused)
        self.events[-1]["rcpts"] = [{"to": to, "smtp": 250} for to in tos]
        return msg

    def score14(self, incidents=True):
        p = self.paths()
        ip = os.path.join(self.dir.name, "incidents.jsonl")
        with open(ip, "w") as f:
            f.write(json.dumps({"domain": "freemail.example", "start": INC_START,
                                "end": INC_END, "dsn": "5.7.1"}) + "\n")
        res, _ = sgscore.score(p["trace"], p["users"], p["messages"], p["verdicts"],
                               ip if incidents else None)
        return {r["policy"]: r for r in res}, p, ip


def friends(n, dom="example.org", tag="f"):
    return ["%s%d@%s" % (tag, i, dom) for i in range(n)]


class TestIssue14Measures(unittest.TestCase):
    def build(self):
        b = Builder(self)
        # Phishing from a new network, stopped (quarantined at its 2nd
        # message after 20 leaked); phishing from home never stopped (60
        # leaked); a sprayer on a business owner, stopped by tempfail after 5.
        b.user("pn@x", "compromised", S + 1000, "phishing", "new", "consumer")
        b.user("ph@x", "compromised", S + 1000, "phishing", "home", "consumer")
        b.user("sb@x", "compromised", S + 1000, "sprayer", base="business")
        b.submit(S + 1000, "pn@x", 20, attacker=True, verdict="accept")
        b.submit(S + 1100, "pn@x", 20, attacker=True, verdict="quarantine")
        b.submit(S + 1000, "ph@x", 30, attacker=True, verdict="accept")
        b.submit(S + 1100, "ph@x", 30, attacker=True, verdict="accept")
        for i in range(5):
            b.submit(S + 1000 + i, "sb@x", 1, attacker=True, verdict="accept")
        b.submit(S + 1010, "sb@x", 1, attacker=True, verdict="tempfail")
        # Greetings: 3 of 20 recipients refused (15%), and 1 of 20 (5%).
        b.user("g1@x", "greeting")
        b.user("g2@x", "greeting_abroad")
        b.submit(S + 2000, "g1@x", 10, verdict="accept")
        b.submit(S + 2001, "g1@x", 10, verdict="tempfail", refused=3)
        b.submit(S + 2000, "g2@x", 10, verdict="accept")
        b.submit(S + 2001, "g2@x", 10, verdict="tempfail", refused=1)
        # A consumer who mails freemail.example during the incident and is
        # quarantined 30 min later; a business account that mails it too and
        # is left alone; a traveller blocked in the hour after the incident
        # (counts as during); a small_group account blocked 2 h after it (not).
        b.user("c@x", "consumer")
        b.user("b@x", "business")
        b.user("t@x", "traveller")
        b.user("s@x", "small_group")
        b.submit_to(INC_START + 600, "c@x", friends(4, "freemail.example") + friends(6))
        b.submit_to(INC_START + 2400, "c@x", friends(2, tag="g"), verdict="quarantine")
        b.submit_to(INC_START + 700, "b@x", friends(3, "Freemail.Example"))
        b.submit_to(INC_END - 10, "t@x", friends(1))
        b.submit_to(INC_END + 1800, "t@x", friends(5), verdict="reject")
        b.submit_to(INC_END + 7200, "s@x", friends(8), verdict="quarantine")
        # before the incident: not hit
        b.submit_to(INC_START - 1, "s@x", friends(1, "freemail.example"))
        return b

    def test_measures(self):
        b = self.build()
        res, _, _ = b.score14()
        sg = res["subguard"]
        c = sg["compromised"]
        self.assertEqual(c["phishing_by_net"]["new"],
                         {"accounts": 1, "detected": 1, "detected_share": 1.0})
        self.assertEqual(c["phishing_by_net"]["home"],
                         {"accounts": 1, "detected": 0, "detected_share": 0.0})
        self.assertEqual(c["by_base"]["business"]["detected"], 1)
        self.assertEqual(c["by_base"]["consumer"],
                         {"accounts": 2, "detected": 1, "detected_share": 0.5})
        # let through: pn 20, ph 60, sb 5
        self.assertEqual(c["spam_accepted"], 85)
        g = sg["greetings"]
        self.assertEqual((g["accounts"], g["over_10pct"], g["worst"]), (2, 1, "g1@x"))
        self.assertAlmostEqual(g["max_delay_share"], 0.15)
        lt = sg["legit_totals"]
        # legit recipients: g1 20, g2 20, c 10+2, b 3, t 1+5, s 8+1 = 70;
        # refused 3+1; blocked c's 2, t's 5, s's 8 -> hurt 4 + 15
        self.assertEqual((lt["recipients"], lt["recipients_refused"],
                          lt["recipients_blocked"], lt["hurt"]), (70, 4, 15, 19))
        self.assertAlmostEqual(lt["recipient_delay_share"], 4 / 70)
        self.assertEqual(lt["false_positives"], 3)
        inc = sg["incidents"]
        self.assertEqual(inc, {"incidents": 1, "hit": 2, "hit_quarantined": 1,
                               "false_positives_during": 2,
                               "during_by_class": {"consumer": 1, "traveller": 1}})
        # The baselines see the same incident accounts and block nobody here.
        self.assertEqual(res["fail100"]["incidents"]["hit"], 2)
        self.assertEqual(res["fail100"]["incidents"]["false_positives_during"], 0)
        self.assertEqual(res["quota500"]["compromised"]["spam_accepted"], 106)

    def test_without_incidents_file(self):
        res, _, _ = self.build().score14(incidents=False)
        self.assertIsNone(res["subguard"]["incidents"])

    def test_baseline_quarantine_time_counts_for_incidents(self):
        # fail100 quarantines a consumer at the 100th bounce, which arrives
        # during the incident: a false positive during it, though the
        # account's next (blocked) message comes a day later.
        b = Builder(self)
        b.user("c@x", "consumer")
        m = b.submit_to(INC_START + 60, "c@x", friends(100, "freemail.example"))
        for i in range(100):
            b.events.append({"t": INC_START + 70 + i, "ev": "delivery", "msg": m,
                             "to": "f%d@freemail.example" % i, "dsn": "5.7.1"})
        b.submit_to(INC_START + 86400, "c@x", friends(1))
        res, _, _ = b.score14()
        inc = res["fail100"]["incidents"]
        self.assertEqual((inc["hit"], inc["hit_quarantined"], inc["false_positives_during"]),
                         (1, 1, 1))

    def test_cli_json_out_and_second_table(self):
        b = self.build()
        _, p, ip = b.score14()
        out = os.path.join(b.dir.name, "score.json")
        args = [sys.executable, SCORE, "--trace", p["trace"], "--users", p["users"],
                "--messages", p["messages"], "--verdicts", p["verdicts"], "--incidents", ip]
        md = subprocess.run(args + ["--json-out", out], capture_output=True, text=True,
                            check=True).stdout
        js = subprocess.run(args + ["--format", "json"], capture_output=True, text=True,
                            check=True).stdout
        with open(out) as f:
            self.assertEqual(f.read(), js)
        t14 = md.split("\n\n")[1].split("\n")
        self.assertTrue(t14[2].startswith("| subguard | 85 | 3 | 5.714% | 19 | 15.0% / 1 | "
                                          "1/1 | 0/1 | 1/1 | 2 / 1 | 2 |"), t14[2])
        self.assertIn("small_group FP", md)
        self.assertNotIn("stale_bulk_big FP", md)     # no such accounts here


def doc(**over):
    """A v2-passing score document; `over` patches the subguard row."""
    def pol(name, spam, hurt, detected):
        legit = {c: {"accounts": 10, "false_positives": 0, "recipients": 1000,
                     "recipients_refused": 0, "recipient_delay_share": 0.0}
                 for c in sgscore.LEGIT}
        by_mode = {m: {"accounts": 10, "detected": detected, "detected_share": detected / 10}
                   for m in sgscore.MODES}
        return {"policy": name, "legit": legit,
                "compromised": {"by_mode": by_mode, "leaked_p50": 40,
                                "detected": 4 * detected, "spam_accepted": spam},
                "legit_totals": {"recipients": 9000, "recipients_refused": 0,
                                 "recipient_delay_share": 0.0, "hurt": hurt},
                "greetings": {"accounts": 10, "over_10pct": 0, "max_delay_share": 0.0,
                              "worst": None},
                "incidents": {"false_positives_during": 0, "during_by_class": {},
                              "hit": 5, "hit_quarantined": 0}}
    sg = pol("subguard", 100, 0, 10)
    for path, v in over.items():
        node = sg
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = v
    return {"policies": [sg, pol("quota500", 500, 10, 5), pol("fail100", 900, 0, 3)]}


class TestCheckTargets(unittest.TestCase):
    def run_check(self, d, targets="v2"):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(d, f)
        self.addCleanup(os.unlink, f.name)
        return subprocess.run([sys.executable, CHECK, "--targets", targets, f.name],
                              capture_output=True, text=True)

    def test_v2_pass(self):
        r = self.run_check(doc())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("FAIL", r.stdout)

    def test_v2_each_miss(self):
        misses = {
            "incidents__false_positives_during": (1, "quarantined during incidents"),
            "legit_totals__recipient_delay_share": (0.0006, "legitimate recipients delayed"),
            "greetings__over_10pct": (1, "greeting accounts over 10% delayed"),
            "legit_totals__hurt": (1, "legitimate recipients hurt"),
            "compromised__leaked_p50": (51, "median leak"),
            "compromised__spam_accepted": (500, "less spam accepted than quota500"),
        }
        for path, (val, name) in misses.items():
            r = self.run_check(doc(**{path: val}))
            self.assertEqual(r.returncode, 1, path)
            self.assertIn("FAIL " + name, r.stdout, path)
            self.assertIn("1 of ", r.stderr, path)
            self.assertIn("- " + name, r.stderr, path)

    def test_v2_mode_and_class_misses(self):
        d = doc()
        sg = d["policies"][0]
        sg["compromised"]["by_mode"]["phishing"]["detected_share"] = 0.5   # < 60%
        sg["compromised"]["by_mode"]["low_and_slow"]["detected_share"] = 0.94
        sg["legit"]["small_group"]["false_positives"] = 2
        r = self.run_check(d)
        self.assertEqual(r.returncode, 1)
        for name in ("phishing stopped", "low_and_slow stopped", "small_group quarantined"):
            self.assertIn("FAIL " + name, r.stdout)
        self.assertIn("3 of ", r.stderr)
        # v1 asks 90% of low-and-slow and nothing of phishing
        self.assertNotIn("FAIL low_and_slow", self.run_check(d, "v1").stdout)
        self.assertNotIn("phishing", self.run_check(d, "v1").stdout)

    def test_v2_without_incidents_is_a_miss_and_bad_input(self):
        d = doc()
        d["policies"][0]["incidents"] = None
        r = self.run_check(d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--incidents", r.stdout)
        r = self.run_check({"policies": []})
        self.assertEqual(r.returncode, 2)
        d = copy.deepcopy(doc())
        del d["policies"][0]["legit_totals"]
        self.assertEqual(self.run_check(d).returncode, 2)


if __name__ == "__main__":
    unittest.main()
