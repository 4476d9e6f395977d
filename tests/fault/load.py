#!/usr/bin/python3
"""Bounded authenticated SMTP load with per-message records, and reconciliation.

Used by the fault tests (tests/fault/t_*.sh) to push mail through the e2e
world's real Postfix while something breaks, then to account for every
message. Standard library only; loopback only.

  load.py run --port P --users FILE --out RECORDS.jsonl --tag T
              [--sessions 10] [--count 300] [--duration 30] [--per-session 5]
              [--rcpts 1] [--pace 0.05] [--timeout 30] [--retries 0]
              [--retry-delay 1] [--retry-for 30] [--stop-file F]

  FILE holds one "login password" per line. SESSIONS threads each open an
  SMTP session (EHLO, AUTH PLAIN as the next login), send up to PER_SESSION
  messages (one transaction each, PACE seconds apart), QUIT, and start over.
  New messages stop after COUNT messages or DURATION seconds (or when
  --stop-file exists), whichever comes first. Message N of tag T goes to
  RCPTS recipients T-N-K@remote.example (K = 1..RCPTS): every recipient
  address is unique, so the sink's log shows each one's fate.

  A message that gets no 2xx (4xx or 5xx anywhere, or a dropped session)
  ends its session. With --retries R, recipients that got a 4xx (or no
  answer) are sent again, as a new attempt in a new session, RETRY_DELAY
  seconds later, at most R times, and never after DURATION + RETRY_FOR
  seconds. A 5xx is never retried: it is final.

  Every attempt is one JSON line in RECORDS: msg, attempt, login, session,
  rcpts (the addresses tried), t_start (session or MAIL), t_mail, t_end
  (wall clock, seconds), lat (MAIL to the final reply), codes and texts per
  stage (session, mail, rcpt{addr: [code, text]}, data, dot), qid (from
  "queued as"), error (an exception text when the server gave no answer).
  The summary goes to standard output as one JSON line.

  load.py reconcile --records RECORDS.jsonl --sink SINK.LOG --tag T
              [--wait 60] [--window NAME:T0:T1 ...] [--json OUT]

  Classifies each attempted recipient: accepted (250 for RCPT and for the
  final dot, with a queue id), tempfailed (a 4xx at connect, AUTH, MAIL,
  RCPT, DATA or the dot), rejected (a 5xx: a wrong answer in every fault
  test), dropped (the session broke without an answer). Waits up to WAIT
  seconds until every accepted (queue id, recipient) is in the sink's log
  ("ID RCPT <SENDER>" lines), then counts lost ones (accepted, never
  delivered), duplicates (delivered twice), phantoms (delivered, though the
  client never got a 2xx for it), and per message: delivered (every
  recipient delivered) or given up (still without 2xx at the end).
  Latency (MAIL to final reply) of messages that reached the dot: overall,
  and per --window for attempts in flight during [T0, T1] (wall clock),
  with "before" = attempts that ended before the first window began.
  Prints one summary JSON line (also to --json); exit status 0 when
  nothing was lost, rejected, dropped, duplicated or phantom, else 1.
"""

import argparse
import base64
import heapq
import json
import os
import smtplib
import socket
import sys
import threading
import time

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return str(b)


def code_class(code):
    if code is None:
        return None
    return code // 100


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------

class Msg:
    def __init__(self, tag, n, nrcpt):
        self.id = "%s-%d" % (tag, n)
        self.n = n
        self.rcpts = ["%s-%d-%d@remote.example" % (tag, n, k)
                      for k in range(1, nrcpt + 1)]
        self.attempt = 0
        self.not_before = 0.0


class Load:
    def __init__(self, a):
        self.a = a
        self.users = []
        with open(a.users) as f:
            for line in f:
                p = line.split()
                if len(p) == 2:
                    self.users.append(p)
        if not self.users:
            raise SystemExit("load.py: no users in %s" % a.users)
        self.lock = threading.Lock()
        self.out = open(a.out, "a")
        self.t0 = time.time()
        self.deadline = self.t0 + a.duration
        self.retry_deadline = self.deadline + a.retry_for
        self.next_new = 0
        self.retry = []            # heap of (not_before, n, Msg)
        self.in_flight = 0
        self.given_up = []
        self.nsession = 0
        self.nuser = 0
        self.stats = {"attempts": 0, "new": 0, "retries": 0, "sessions": 0}

    def stop_new(self, now):
        return (self.next_new >= self.a.count or now >= self.deadline
                or (self.a.stop_file and os.path.exists(self.a.stop_file)))

    def take(self):
        """The next message to send, or None when the run is over."""
        while True:
            with self.lock:
                now = time.time()
                if self.retry and self.retry[0][0] <= now:
                    if now >= self.retry_deadline:
                        while self.retry:
                            self.given_up.append(heapq.heappop(self.retry)[2].id)
                        continue
                    m = heapq.heappop(self.retry)[2]
                    self.in_flight += 1
                    self.stats["retries"] += 1
                    return m
                if not self.stop_new(now):
                    self.next_new += 1
                    m = Msg(self.a.tag, self.next_new, self.a.rcpts)
                    self.in_flight += 1
                    self.stats["new"] += 1
                    return m
                if not self.retry and self.in_flight == 0:
                    return None
                if now >= self.retry_deadline and self.in_flight == 0:
                    while self.retry:
                        self.given_up.append(heapq.heappop(self.retry)[2].id)
                    return None
            time.sleep(0.02)

    def done(self, m, retry_rcpts):
        with self.lock:
            self.in_flight -= 1
            if not retry_rcpts:
                return
            if m.attempt >= self.a.retries or time.time() >= self.retry_deadline:
                self.given_up.append(m.id)
                return
            m.rcpts = retry_rcpts
            m.not_before = time.time() + self.a.retry_delay
            heapq.heappush(self.retry, (m.not_before, m.n, m))

    def record(self, rec):
        line = json.dumps(rec)
        with self.lock:
            self.stats["attempts"] += 1
            self.out.write(line + "\n")
            self.out.flush()

    def login(self):
        with self.lock:
            u = self.users[self.nuser % len(self.users)]
            self.nuser += 1
            self.nsession += 1
            self.stats["sessions"] += 1
            return u, self.nsession

    def open_session(self):
        """(smtp, login, session id) or raise Refused/OSError."""
        (user, pw), sid = self.login()
        s = smtplib.SMTP(self.a.host, self.a.port, local_hostname="load.example",
                         timeout=self.a.timeout)
        code, msg = s.ehlo("load.example")
        if code != 250:
            s.close()
            raise Refused("ehlo", code, text(msg), user, sid)
        plain = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
        code, msg = s.docmd("AUTH", "PLAIN " + plain)
        if code != 235:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                s.close()
            raise Refused("auth", code, text(msg), user, sid)
        return s, user, sid

    def body(self, m, user):
        hdrs = ["From: <%s>" % user,
                "To: %s" % ", ".join("<%s>" % r for r in m.rcpts),
                "Subject: fault load %s attempt %d" % (m.id, m.attempt),
                "Message-ID: <%s.%d.%d@load.example>" % (m.id, m.attempt, os.getpid())]
        return ("\r\n".join(hdrs) + "\r\n\r\n" + ("fault load %s\r\n" % m.id) * 8).encode()

    def transaction(self, s, m, user, rec):
        """One message on session s. Returns (ok_session, retry_rcpts)."""
        rec["t_mail"] = time.time()
        code, msg = s.mail(user)
        rec["mail"] = [code, text(msg)]
        if code_class(code) != 2:
            return False, list(m.rcpts) if code_class(code) == 4 else []
        ok, retry = [], []
        for r in m.rcpts:
            code, msg = s.rcpt(r)
            rec["rcpt"][r] = [code, text(msg)]
            if code_class(code) == 2:
                ok.append(r)
            elif code_class(code) == 4:
                retry.append(r)
        if not ok:
            return False, retry
        try:
            code, msg = s.data(self.body(m, user))
            rec["dot"] = [code, text(msg)]
        except smtplib.SMTPDataError as e:       # DATA itself refused
            code, msg = e.smtp_code, e.smtp_error
            rec["data"] = [code, text(msg)]
        rec["t_end"] = time.time()
        rec["lat"] = rec["t_end"] - rec["t_mail"]
        if code_class(code) == 2:
            msg = text(msg)
            i = msg.find("queued as ")
            rec["qid"] = msg[i + 10:].split()[0] if i >= 0 else None
            return True, retry
        if code_class(code) == 4:
            retry.extend(ok)
        return False, retry

    def worker(self):
        s = None
        user = sid = None
        in_session = 0
        while True:
            m = self.take()
            if m is None:
                break
            m.attempt += 1
            rec = {"msg": m.id, "attempt": m.attempt, "rcpts": list(m.rcpts),
                   "login": None, "session": None, "t_start": time.time(),
                   "t_mail": None, "t_end": None, "lat": None, "conn": None,
                   "mail": None, "rcpt": {}, "data": None, "dot": None,
                   "qid": None, "error": None}
            retry = []
            keep = False
            try:
                if s is None:
                    try:
                        s, user, sid = self.open_session()
                        in_session = 0
                    except Refused as e:
                        rec["login"], rec["session"] = e.user, e.sid
                        rec["conn"] = [e.stage, e.code, e.text]
                        retry = list(m.rcpts) if code_class(e.code) == 4 else []
                        raise
                rec["login"], rec["session"] = user, sid
                keep, retry = self.transaction(s, m, user, rec)
                in_session += 1
            except Refused:
                s = None
            except (OSError, smtplib.SMTPException) as e:
                rec["error"] = "%s: %s" % (type(e).__name__, e)
                retry = [r for r in m.rcpts
                         if code_class((rec["rcpt"].get(r) or [None])[0]) in (None, 2, 4)]
                if rec["dot"] is not None or code_class((rec["data"] or [None])[0]) == 2:
                    retry = []
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
                s = None
                keep = False
            if rec["t_end"] is None:
                rec["t_end"] = time.time()
            self.record(rec)
            self.done(m, retry)
            if s is not None and (not keep or in_session >= self.a.per_session):
                try:
                    s.quit()
                except (OSError, smtplib.SMTPException):
                    try:
                        s.close()
                    except OSError:
                        pass
                s = None
            if self.a.pace:
                time.sleep(self.a.pace)
        if s is not None:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass


class Refused(Exception):
    def __init__(self, stage, code, txt, user, sid):
        Exception.__init__(self, "%s refused: %s %s" % (stage, code, txt))
        self.stage, self.code, self.text, self.user, self.sid = stage, code, txt, user, sid


def cmd_run(a):
    if a.host not in LOOPBACK:
        raise SystemExit("load.py: loopback only (got %s)" % a.host)
    if a.sessions < 1 or a.sessions > 500 or a.count < 1 or a.duration <= 0:
        raise SystemExit("load.py: want 1..500 sessions, count >= 1, duration > 0")
    socket.setdefaulttimeout(a.timeout)
    ld = Load(a)
    threads = [threading.Thread(target=ld.worker, daemon=True) for _ in range(a.sessions)]
    for t in threads:
        t.start()
    # Hard bound: the whole run, retries and one command timeout included.
    hard = ld.retry_deadline + 2 * a.timeout + 10
    for t in threads:
        t.join(max(0.0, hard - time.time()))
    stuck = sum(1 for t in threads if t.is_alive())
    out = dict(ld.stats, tag=a.tag, given_up=len(ld.given_up),
               given_up_ids=ld.given_up[:20], stuck_threads=stuck,
               seconds=round(time.time() - ld.t0, 2))
    print(json.dumps(out), flush=True)
    ld.out.close()
    return 1 if stuck else 0


# ---------------------------------------------------------------------------
# reconcile
# ---------------------------------------------------------------------------

def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return round(v[min(len(v) - 1, int(p / 100.0 * len(v)))], 3)


def lat_stats(v):
    return {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99),
            "max": round(max(v), 3) if v else None}


def read_sink(path, tag):
    got = {}                     # rcpt -> list of ids
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) >= 2 and p[1].lower().startswith(tag.lower() + "-"):
                    got.setdefault(p[1].lower(), []).append(p[0])
    except FileNotFoundError:
        pass
    return got


def classify(rec):
    """{rcpt: outcome} for one attempt; outcome one of accepted, tempfail,
    rejected, dropped, plus the stage that decided it."""
    res = {}
    conn = rec.get("conn")
    for r in rec["rcpts"]:
        if conn:
            c = code_class(conn[1])
            res[r] = ("tempfail" if c == 4 else "rejected" if c == 5 else "dropped",
                      conn[0])
            continue
        mail = rec.get("mail")
        if mail is None:
            res[r] = ("dropped", "session")
            continue
        c = code_class(mail[0])
        if c != 2:
            res[r] = ("tempfail" if c == 4 else "rejected" if c == 5 else "dropped", "mail")
            continue
        rc = rec["rcpt"].get(r)
        if rc is None:
            res[r] = ("dropped", "rcpt")
            continue
        c = code_class(rc[0])
        if c != 2:
            res[r] = ("tempfail" if c == 4 else "rejected" if c == 5 else "dropped", "rcpt")
            continue
        fin = rec.get("dot") or rec.get("data")
        if fin is None:
            res[r] = ("dropped", "dot")
            continue
        c = code_class(fin[0])
        stage = "dot" if rec.get("dot") else "data"
        if c == 2:
            res[r] = ("accepted", stage)
        else:
            res[r] = ("tempfail" if c == 4 else "rejected" if c == 5 else "dropped", stage)
    return res


def cmd_reconcile(a):
    recs = []
    with open(a.records) as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    windows = []
    for w in a.window or []:
        name, t0, t1 = w.split(":")
        windows.append((name, float(t0), float(t1)))

    accepted = {}                # rcpt -> qid of the accepted attempt
    outcome_count = {"accepted": 0, "tempfail": 0, "rejected": 0, "dropped": 0}
    tempfail_stage = {}
    codes = {}
    bad = []
    msgs = {}
    for rec in recs:
        msgs.setdefault(rec["msg"], set()).update(rec["rcpts"])
        res = classify(rec)
        oc = set()
        for r, (o, stage) in res.items():
            oc.add(o)
            if o == "accepted":
                if r.lower() in accepted:
                    bad.append("accepted twice: %s" % r)
                accepted[r.lower()] = rec.get("qid")
            elif o == "tempfail":
                tempfail_stage[stage] = tempfail_stage.get(stage, 0) + 1
        # Per attempt: the worst outcome of its recipients.
        for o in ("rejected", "dropped", "tempfail", "accepted"):
            if o in oc:
                outcome_count[o] += 1
                break
        for st in ("mail", "data", "dot"):
            v = rec.get(st)
            if v and code_class(v[0]) != 2 and v[0] != 354:
                k = "%s %d %s" % (st, v[0], " ".join(v[1].split()[:3]))
                codes[k] = codes.get(k, 0) + 1
        for r, v in rec["rcpt"].items():
            if code_class(v[0]) != 2:
                k = "rcpt %d %s" % (v[0], " ".join(v[1].split()[:3]))
                codes[k] = codes.get(k, 0) + 1
        if rec.get("conn"):
            k = "%s %s %s" % (rec["conn"][0], rec["conn"][1], " ".join(str(rec["conn"][2]).split()[:3]))
            codes[k] = codes.get(k, 0) + 1
        if rec.get("error"):
            k = "error %s" % rec["error"][:60]
            codes[k] = codes.get(k, 0) + 1
        if any(o in ("rejected", "dropped") for o in oc):
            bad.append("attempt %s#%d: %s" % (rec["msg"], rec["attempt"], json.dumps(
                {k: rec[k] for k in ("conn", "mail", "rcpt", "data", "dot", "error")})))

    # Wait (bounded) for the sink to show every accepted recipient.
    deadline = time.time() + a.wait
    while True:
        sink = read_sink(a.sink, a.tag)
        missing = [r for r in accepted if r not in sink]
        if not missing or time.time() >= deadline:
            break
        time.sleep(0.5)
    lost = []
    for r, q in accepted.items():
        ids = sink.get(r, [])
        if not ids:
            lost.append("%s (qid %s)" % (r, q))
        elif q and q not in ids:
            lost.append("%s (qid %s, sink has %s)" % (r, q, ",".join(ids)))
    dup = ["%s x%d" % (r, len(v)) for r, v in sink.items() if len(v) > 1]
    phantom = ["%s (ids %s)" % (r, ",".join(v)) for r, v in sink.items() if r not in accepted]

    delivered = 0
    given_up = []
    for m, rcpts in msgs.items():
        if all(r.lower() in accepted and r.lower() in sink for r in rcpts):
            delivered += 1
        elif not all(r.lower() in accepted for r in rcpts):
            given_up.append(m)

    lat_all = [r["lat"] for r in recs if r.get("lat") is not None]
    out = {
        "tag": a.tag,
        "messages": len(msgs),
        "attempts": len(recs),
        "recipients": sum(len(v) for v in msgs.values()),
        "attempts_accepted": outcome_count["accepted"],
        "attempts_tempfailed": outcome_count["tempfail"],
        "attempts_rejected_5xx": outcome_count["rejected"],
        "attempts_dropped": outcome_count["dropped"],
        "tempfail_stage": tempfail_stage,
        "recipients_accepted": len(accepted),
        "delivered": delivered,
        "given_up": len(given_up),
        "lost": len(lost),
        "duplicates": len(dup),
        "phantoms": len(phantom),
        "codes": codes,
        "latency": lat_stats(lat_all),
    }
    if windows:
        first = min(w[1] for w in windows)
        out["latency_before"] = lat_stats([r["lat"] for r in recs if r.get("lat") is not None
                                           and r["t_end"] < first])
        for name, t0, t1 in windows:
            v = [r["lat"] for r in recs if r.get("lat") is not None
                 and r["t_mail"] <= t1 and r["t_end"] >= t0]
            out["latency_" + name] = lat_stats(v)
            out["attempts_" + name] = sum(1 for r in recs if r.get("t_mail") and
                                          r["t_mail"] <= t1 and r["t_end"] >= t0)
    out["examples"] = {"lost": lost[:5], "duplicates": dup[:5], "phantoms": phantom[:5],
                       "bad": bad[:5], "given_up": given_up[:5]}
    line = json.dumps(out, sort_keys=True)
    print(line, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            f.write(line + "\n")
    ok = not (lost or dup or phantom or outcome_count["rejected"] or outcome_count["dropped"])
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--users", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--tag", required=True)
    r.add_argument("--sessions", type=int, default=10)
    r.add_argument("--count", type=int, default=300)
    r.add_argument("--duration", type=float, default=30)
    r.add_argument("--per-session", type=int, default=5)
    r.add_argument("--rcpts", type=int, default=1)
    r.add_argument("--pace", type=float, default=0.05)
    r.add_argument("--timeout", type=float, default=30)
    r.add_argument("--retries", type=int, default=0)
    r.add_argument("--retry-delay", type=float, default=1.0)
    r.add_argument("--retry-for", type=float, default=30)
    r.add_argument("--stop-file")
    c = sub.add_parser("reconcile")
    c.add_argument("--records", required=True)
    c.add_argument("--sink", required=True)
    c.add_argument("--tag", required=True)
    c.add_argument("--wait", type=float, default=60)
    c.add_argument("--window", action="append")
    c.add_argument("--json")
    a = ap.parse_args()
    return cmd_run(a) if a.cmd == "run" else cmd_reconcile(a)


if __name__ == "__main__":
    sys.exit(main())
