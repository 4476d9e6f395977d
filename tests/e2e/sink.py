#!/usr/bin/python3
"""Next-hop SMTP sink for subguard's end-to-end tests (python3-aiosmtpd).

The private Postfix relays everything here (relayhost = [127.0.0.1]:PORT).

  sink.py --port PORT --log FILE [--ready FILE] [--hostname NAME]

RCPT: a recipient whose local part starts with "bad" or "nouser"
(case-insensitive) gets
    550 5.1.1 <addr>: Recipient address rejected: User unknown
so Postfix bounces it (status=bounced, dsn=5.1.1); every other one is
accepted.

DATA: one line per accepted recipient is appended to the log file:
    ID RECIPIENT <SENDER>
ID is the queue id Postfix wrote in the topmost Received: header ("... with
ESMTPSA id 4F2A71C0E3 ..."), i.e. the id the submitting client saw in
"250 2.0.0 Ok: queued as 4F2A71C0E3" (a bounce carries its own id); a
message without one gets "seq-N". SENDER is "<>" for bounces (DSNs).

If a directory FILE.d exists beside the log (a test makes it), each
accepted message is also written there whole, as ID.N.eml (N counts from
1; lines end in LF), for tests that read what was sent (tests/e2e/t_47_notify.sh).

--ready FILE is created once the sink accepts connections. SIGTERM or SIGINT
stops it. Must run under Debian's /usr/bin/python3 (it has aiosmtpd).
"""

import argparse
import email.parser
import os
import re
import signal
import sys

from aiosmtpd.controller import Controller

REJECT = re.compile(r"^(bad|nouser)", re.IGNORECASE)
RECEIVED_ID = re.compile(r"\bid\s+([0-9A-Za-z]+)")


class Sink:
    def __init__(self, logfile):
        self.logfile = logfile
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.rsplit("@", 1)[0]
        if REJECT.match(local):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.seq += 1
        ident = "seq-%d" % self.seq
        try:
            headers = email.parser.BytesHeaderParser().parsebytes(envelope.content)
            received = headers.get_all("Received") or []
            if received:
                m = RECEIVED_ID.search(" ".join(str(received[0]).split()))
                if m:
                    ident = m.group(1)
        except Exception:  # a malformed message still counts as delivered
            pass
        sender = (envelope.mail_from or "").strip("<>")
        lines = "".join("%s %s <%s>\n" % (ident, r, sender) for r in envelope.rcpt_tos)
        with open(self.logfile, "a") as f:
            f.write(lines)
        store = self.logfile + ".d"
        if os.path.isdir(store):
            name = os.path.join(store, "%s.%d.eml" % (ident, self.seq))
            with open(name, "wb") as f:
                f.write(envelope.content.replace(b"\r\n", b"\n"))
        return "250 2.0.0 Ok: queued as %s" % ident


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready")
    ap.add_argument("--hostname", default="sink.example")
    args = ap.parse_args()

    # Block the signals before aiosmtpd starts its thread, then wait for them.
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    open(args.log, "a").close()
    ctl = Controller(Sink(args.log), hostname="127.0.0.1", port=args.port,
                     server_hostname=args.hostname)
    ctl.start()
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("%d\n" % args.port)
    sig = signal.sigwait(stop)
    ctl.stop()
    print("sink: stopped by signal %d" % sig, file=sys.stderr)


if __name__ == "__main__":
    main()
