#!/usr/bin/python3
"""A minimal milter-protocol client (the MTA side) for the fault tests.

miltertest(8) cannot send a macro value longer than about 1 KiB; this can
(up to libmilter's 64 KiB packet). Standard library only; unix sockets.

  milter.py send --socket PATH (--login-hex HEX | --login-file F | --no-login)
                 [--qid Q] [--qid-at mail|eom|both] [--rcpts N]
      One connection, one message, offering the milter every protocol
      step and no-reply flag as Postfix 3.7 does and following what it
      asks for: OPTNEG, CONNECT (192.0.2.1; its macros only, if the milter
      skips the step), MAIL with {auth_authen} = the bytes HEX, or the
      bytes of file F (and {auth_type} PLAIN, {client_addr} 192.0.2.1,
      i = Q; no {auth_authen} with --no-login), N recipients, end of
      message (with i = Q and {auth_authen} again, as Postfix sends them;
      --qid-at says where i goes, default both), QUIT.
      Prints one JSON line:
      {"mail": "-", "rcpt": ["c", ...], "eom": ["c"], "error": null}
      (reply letters: - none asked for, c continue, a accept, t tempfail,
      r reject, y reply code, q quarantine, ...).

  milter.py idle --socket PATH --count N --seconds S [--partial]
      Opens N connections and waits up to S seconds, noting when the
      milter closes each. With --partial each connection first negotiates,
      then sends the first 5 bytes of a 100-byte command and stalls (a
      command that never finishes arriving); without it, nothing is sent
      at all. Prints one JSON line: {"closed": [seconds or null, ...]}.
"""

import argparse
import json
import select
import socket
import struct
import sys
import time

SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_RCPT_REJ = 0x800
SMFIP_NR_CONN = 0x1000
SMFIP_NR_MAIL = 0x4000
ACTIONS = 0x1FF          # everything up to SMFIF_SETSYMLIST
PROTOCOL = 0xFFFFF        # every step flag of protocol 6 but SMFIP_HDR_LEADSPC
FINAL = set(b"cartdy")   # replies that end a command (not modifications)


class Milter:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def recv_exact(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("milter closed the connection")
            b += c
        return b

    def packet(self):
        n = struct.unpack(">I", self.recv_exact(4))[0]
        body = self.recv_exact(n)
        return body[:1], body[1:]

    def reply(self):
        """Replies up to a final one; returns the list of letters."""
        out = []
        while True:
            cmd, _ = self.packet()
            out.append(cmd.decode("latin-1"))
            if cmd[0] in FINAL:
                return out

    def negotiate(self):
        self.send(b"O", struct.pack(">III", 6, ACTIONS, PROTOCOL))
        cmd, data = self.packet()
        if cmd != b"O" or len(data) < 12:
            raise RuntimeError("negotiation answered %r" % cmd)
        self.steps = struct.unpack(">III", data[:12])[2]

    def connect(self):
        """CONNECT, or only its macros if the milter skips it (as Postfix)."""
        self.macro(b"C", [(b"{client_addr}", b"192.0.2.1")])
        if self.steps & SMFIP_NOCONNECT:
            return ["-"]
        self.send(b"C", b"client.example\0" + b"4" + struct.pack(">H", 12345) + b"192.0.2.1\0")
        return ["-"] if self.steps & SMFIP_NR_CONN else self.reply()

    def macro(self, for_cmd, pairs):
        self.send(b"D", for_cmd + b"".join(k + b"\0" + v + b"\0" for k, v in pairs))

    def close(self):
        try:
            self.send(b"Q")
        except OSError:
            pass
        self.s.close()


def cmd_send(a):
    res = {"mail": None, "rcpt": [], "eom": None, "error": None}
    m = Milter(a.socket)
    try:
        m.negotiate()
        m.connect()
        qid = [(b"i", a.qid.encode())] if a.qid else []
        pairs = list(qid) if a.qid_at in ("mail", "both") else []
        if not a.no_login:
            if a.login_file:
                with open(a.login_file, "rb") as f:
                    login = f.read()
            else:
                login = bytes.fromhex(a.login_hex)
            pairs += [(b"{auth_authen}", login), (b"{auth_type}", b"PLAIN")]
        m.macro(b"M", pairs + [(b"{client_addr}", b"192.0.2.1")])
        m.send(b"M", b"<sender@example.net>\0")
        res["mail"] = "-" if m.steps & SMFIP_NR_MAIL else "".join(m.reply())
        if res["mail"] in ("c", "-"):
            for i in range(a.rcpts):
                m.macro(b"R", [(b"{rcpt_mailer}", b"smtp"), (b"{rcpt_host}", b"mx.example")])
                m.send(b"R", b"<r%d@remote.example>\0" % i)
                res["rcpt"].append("".join(m.reply()))
            eom = list(qid) if a.qid_at in ("eom", "both") else []
            if not a.no_login:
                eom.append((b"{auth_authen}", login))
            m.macro(b"E", eom)
            m.send(b"E")
            res["eom"] = m.reply()
    except (OSError, EOFError, RuntimeError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    m.close()
    print(json.dumps(res))
    return 0 if res["error"] is None else 1


def cmd_idle(a):
    conns = []
    t0 = time.time()
    for _ in range(a.count):
        m = Milter(a.socket)
        if a.partial:
            m.negotiate()
            m.connect()
            # A MAIL of 100 bytes announced, 4 of them sent.
            m.s.sendall(struct.pack(">I", 101) + b"M" + b"<sta")
        conns.append(m)
    closed = [None] * len(conns)
    deadline = t0 + a.seconds
    while time.time() < deadline and any(c is None for c in closed):
        open_socks = {m.s: i for i, m in enumerate(conns) if closed[i] is None}
        r, _, _ = select.select(list(open_socks), [], [], 0.1)
        for s in r:
            i = open_socks[s]
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed[i] = round(time.time() - t0, 2)
    for m in conns:
        m.s.close()
    print(json.dumps({"closed": closed}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--socket", required=True)
    s.add_argument("--login-hex", default="")
    s.add_argument("--login-file")
    s.add_argument("--no-login", action="store_true")
    s.add_argument("--qid", default="")
    s.add_argument("--qid-at", choices=("mail", "eom", "both"), default="both")
    s.add_argument("--rcpts", type=int, default=1)
    i = sub.add_parser("idle")
    i.add_argument("--socket", required=True)
    i.add_argument("--count", type=int, default=1)
    i.add_argument("--seconds", type=float, default=10)
    i.add_argument("--partial", action="store_true")
    a = ap.parse_args()
    if a.cmd == "idle" and not 1 <= a.count <= 200:
        ap.error("--count: 1..200")
    return cmd_send(a) if a.cmd == "send" else cmd_idle(a)


if __name__ == "__main__":
    sys.exit(main())
