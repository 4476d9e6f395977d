#!/usr/bin/env python3
"""sg-mklog.py - a synthetic Postfix mail log for the feed benchmark.

    sg-mklog.py --lines N [--bounce 0.03] [--defer 0.02] [--seed 1] > LOG

Writes about N lines as a submission MTA's log looks (syslog format, as
Debian's rsyslog or Postfix's maillog_file writes it): per message, smtpd
connect, the client= line with the SASL login, cleanup's message-id, qmgr's
from=, one delivery line per recipient (status=sent, bounced with
dsn=5.1.1, or deferred with dsn=4.4.1 followed by a later final outcome),
qmgr's removed, smtpd's disconnect. So about 1 line in 7 is a delivery
outcome and a few per cent of those are failures, the only lines that
cost subguard-feed a Redis call.

Message i has queue id "%010X" % ((i * 2654435761) & 0xffffffffff) and
login user<i>@example.net: the queue ids sg-enginefeed -i writes for logins
0..M-1, so bench/run-tools.sh can make every queue id known to Redis, and
each bounce then takes the engine's full path (login lookup, counting, the
failure test). Standard library only.
"""
import argparse
import random
import sys
import time


def qid(i):
    return "%010X" % ((i * 2654435761) & 0xffffffffff)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--bounce", type=float, default=0.03)
    ap.add_argument("--defer", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    out = sys.stdout
    t = time.mktime((2026, 11, 22, 0, 0, 0, 0, 0, -1))
    lines = 0
    i = 0
    w = out.write
    while lines < a.lines:
        q = qid(i)
        login = "user%d@example.net" % i
        ts = time.strftime("%b %d %H:%M:%S", time.localtime(t))
        pid = 1000 + i % 500
        ip = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
        n = 1 if rnd.random() < 0.8 else rnd.randint(2, 5)
        buf = [
            f"{ts} mail postfix/submission/smtpd[{pid}]: connect from client{i}.example[{ip}]\n",
            f"{ts} mail postfix/submission/smtpd[{pid}]: {q}: client=client{i}.example[{ip}], sasl_method=PLAIN, sasl_username={login}\n",
            f"{ts} mail postfix/cleanup[{pid + 1}]: {q}: message-id=<{i}.{q}@example.net>\n",
            f"{ts} mail postfix/qmgr[99]: {q}: from=<{login}>, size={rnd.randint(800, 60000)}, nrcpt={n} (queue active)\n",
        ]
        for r in range(n):
            to = f"r{r}.{i}@remote{rnd.randint(0, 999)}.example"
            x = rnd.random()
            relay = f"relay=mx.remote.example[192.0.2.{r + 1}]:25, delay=0.{rnd.randint(1, 9)}, delays=0.01/0/0.1/0.2"
            if x < a.defer:
                buf.append(f"{ts} mail postfix/smtp[{pid + 2}]: {q}: to=<{to}>, {relay}, dsn=4.4.1, status=deferred (connect to mx.remote.example[192.0.2.1]:25: Connection timed out)\n")
                x = rnd.random() * (1 - a.defer) + a.defer
            if x < a.defer + a.bounce:
                buf.append(f"{ts} mail postfix/smtp[{pid + 2}]: {q}: to=<{to}>, {relay}, dsn=5.1.1, status=bounced (host mx.remote.example[192.0.2.1] said: 550 5.1.1 <{to}>: Recipient address rejected: User unknown (in reply to RCPT TO command))\n")
            else:
                buf.append(f"{ts} mail postfix/smtp[{pid + 2}]: {q}: to=<{to}>, {relay}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {qid(i + 7)})\n")
        buf.append(f"{ts} mail postfix/qmgr[99]: {q}: removed\n")
        buf.append(f"{ts} mail postfix/submission/smtpd[{pid}]: disconnect from client{i}.example[{ip}] ehlo=1 auth=1 mail=1 rcpt={n} data=1 quit=1 commands={5 + n}\n")
        w("".join(buf))
        lines += len(buf)
        i += 1
        t += 0.01
    sys.stderr.write(f"sg-mklog: {lines} lines, {i} messages\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
