#!/usr/bin/python3
"""SMTP submission client for subguard's end-to-end tests (stdlib only).

  submit.py --port P [--host H] [--user U --password PW] [--from A]
            --to a,b,c [--count N] [--per-session K] [--helo H]
            [--subject S]

Sends N messages (default 1), each to every --to address, over SMTP sessions
of at most K messages each (default: all N in one session), with AUTH PLAIN
when --user is given. Never raises on 4xx/5xx replies: it records them and
goes on. Prints one JSON line per message on stdout:

  {"n": 1, "mail": 250, "mail_text": "2.1.0 Ok",
   "rcpt": {"a@x": [250, "2.1.5 Ok"], "b@y": [451, "4.7.1 ..."]},
   "first": [250, "2.1.5 Ok"] or null,
   "data": [250, "2.0.0 Ok: queued as 4F2A71C0E3"] or null,
   "queue_id": "4F2A71C0E3" or null}

"first" is the reply to the first RCPT (null if none was sent): where a
milter that decides a message at its first recipient, as subguard does,
answers for the whole message.

"data" is null when no DATA was sent (MAIL refused, or no recipient
accepted: the transaction is then RSET). When the DATA command itself is
refused (no 354), "data" holds that reply. "queue_id" comes from Postfix's
"queued as QID". If the server drops the connection in the middle of a
message, that message's line also has "error": "disconnected: ..." and the
next message starts a new session. If a session cannot be opened
(connection refused, EHLO or AUTH refused), the line of the message it was
for has "error" and "session": [code, "text"] of the refusing reply (or
null), and nothing more is sent.

Exit status: 0 when every message's SMTP conversation completed (whatever
the replies were), 2 on a connection or AUTH failure or a dropped
connection (with a message on stderr), 1 on bad usage.
"""

import argparse
import email.utils
import json
import os
import re
import smtplib
import sys
import ssl
import time

QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")


def text(b):
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return str(b)


class Failure(Exception):
    """A session could not be opened; code/text: the refusing reply, if any."""
    def __init__(self, msg, code=None, text=None):
        Exception.__init__(self, msg)
        self.code, self.text = code, text


def open_session(args):
    try:
        if args.smtps:
            # implicit TLS (port 465, RFC 8314), the test certificate
            # verified against CAFILE, for the address connected to
            ctx = ssl.create_default_context(cafile=args.smtps)
            s = smtplib.SMTP_SSL(args.host, args.port, local_hostname=args.helo,
                                 timeout=args.timeout, context=ctx)
        else:
            s = smtplib.SMTP(args.host, args.port, local_hostname=args.helo,
                             timeout=args.timeout)
        code, msg = s.ehlo(args.helo)
        if code != 250:
            raise Failure("EHLO refused: %d %s" % (code, text(msg)), code, text(msg))
    except Failure:
        raise
    except (OSError, smtplib.SMTPException) as e:
        raise Failure("cannot connect to %s:%d: %s" % (args.host, args.port, e))
    if args.user is not None:
        if not s.has_extn("auth"):
            raise Failure("server offers no AUTH")
        s.user, s.password = args.user, args.password or ""
        try:
            s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            s.close()
            raise Failure("AUTH PLAIN as %s failed: %d %s"
                          % (args.user, e.smtp_code, text(e.smtp_error)),
                          e.smtp_code, text(e.smtp_error))
        except (OSError, smtplib.SMTPException) as e:
            raise Failure("AUTH PLAIN as %s failed: %s" % (args.user, e))
    return s


def build_message(args, n):
    hdrs = [
        "From: <%s>" % args.sender,
        "To: %s" % ", ".join("<%s>" % a for a in args.to),
        "Subject: %s %d/%d" % (args.subject, n, args.count),
        "Date: %s" % email.utils.formatdate(localtime=True),
        "Message-ID: <sg.%d.%d.%d@submit.example>" % (time.time(), os.getpid(), n),
    ]
    body = ["Test message %d of %d from %s." % (n, args.count, args.sender)]
    return ("\r\n".join(hdrs) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode()


def one_message(s, args, n, rec):
    """One transaction on session s; fills rec as it goes."""
    code, msg = s.mail(args.sender)
    rec["mail"], rec["mail_text"] = code, text(msg)
    if code // 100 != 2:
        s.rset()
        return
    ok = 0
    for a in args.to:
        code, msg = s.rcpt(a)
        rec["rcpt"][a] = [code, text(msg)]
        if rec["first"] is None:
            rec["first"] = [code, text(msg)]
        if code // 100 == 2:
            ok += 1
    if ok == 0:
        s.rset()
        return
    try:
        code, msg = s.data(build_message(args, n))
    except smtplib.SMTPDataError as e:   # DATA itself refused (no 354)
        code, msg = e.smtp_code, e.smtp_error
        s.rset()
    rec["data"] = [code, text(msg)]
    m = QUEUED.search(text(msg)) if code == 250 else None
    rec["queue_id"] = m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--from", dest="sender")
    ap.add_argument("--to", required=True, help="comma-separated recipients")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--per-session", type=int, default=0,
                    help="messages per SMTP session (0: all in one)")
    ap.add_argument("--helo", default="client.example")
    ap.add_argument("--smtps", metavar="CAFILE",
                    help="implicit TLS from the first byte, the server's "
                    "certificate checked against CAFILE")
    ap.add_argument("--subject", default="subguard test")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    args.to = [a.strip() for a in args.to.split(",") if a.strip()]
    if not args.to or args.count < 1:
        ap.error("need at least one --to address and --count >= 1")
    if args.sender is None:
        args.sender = args.user if args.user and "@" in args.user else "nobody@example.net"

    s, in_session, status = None, 0, 0
    try:
        for n in range(1, args.count + 1):
            if s is None:
                s, in_session = open_session(args), 0
            rec = {"n": n, "mail": None, "mail_text": None, "rcpt": {}, "first": None,
                   "data": None, "queue_id": None}
            try:
                one_message(s, args, n, rec)
            except (smtplib.SMTPServerDisconnected, OSError) as e:
                rec["error"] = "disconnected: %s" % e
                status = 2
                print("submit.py: message %d: connection lost: %s" % (n, e),
                      file=sys.stderr)
                s = None
            print(json.dumps(rec), flush=True)
            in_session += 1
            if s is not None and args.per_session and in_session >= args.per_session:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass
                s = None
    except Failure as e:
        # One line for the message that could not be sent, then give up.
        print(json.dumps({"n": n, "error": str(e),
                          "session": [e.code, e.text] if e.code else None,
                          "mail": None, "mail_text": None, "rcpt": {}, "first": None,
                          "data": None, "queue_id": None}), flush=True)
        print("submit.py: %s" % e, file=sys.stderr)
        return 2
    if s is not None:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return status


if __name__ == "__main__":
    sys.exit(main())
