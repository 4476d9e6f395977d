#!/usr/bin/env python3
"""
NAME
	sg-luacost.py - what engine.lua costs inside Redis, per call

SYNOPSIS
	python3 bench/sg-luacost.py --redis SOCKET --build DIR [--build DIR2]
		[--iterations N] [--reps R]

DESCRIPTION
	For each build DIR (a build tree of subguard: its bench/sg-enginefeed
	and the engine compiled into it), takes the begin and commit calls
	exactly as lib/sg_engine.c builds them (sg-enginefeed, the benchmark
	configuration with three tiers) and sends N of each (default 2000)
	to the private Redis at SOCKET with redis-cli --pipe, for 100
	accounts that already exist, the clock moving: begin alone, commit
	of a clean 10-recipient message, and commit of one with a rejected
	recipient. Redis's own INFO commandstats time per call is the cost
	of one call inside Redis: parsing its arguments and running the
	script, not reading it from the socket or answering it.

	A build since the engine became a Functions library is called as
	the daemon calls it, with FCALL after FUNCTION LOAD; an older build
	with EVALSHA after SCRIPT LOAD (what sg-enginefeed writes tells
	which). So two builds compare the two ways of calling as well as
	the two engines.

	A baseline runs in the same way and in the same run: N HGETs. Every
	figure is also given as a multiple of that baseline, since absolute
	times on a shared machine drift. With two builds (say the previous
	commit and this one) their rows alternate, R times each (default
	5), and medians are reported.

EXIT STATUS
	0, or 1 if Redis or a build cannot be used.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

CONF = """[subguard]
listen = unix:/tmp/sg-luacost.sock
socket_owner =
socket_group =
socket_mode = 0666
user =
group =
quarantine_action = hold
[redis]
address = unix:{sock}
"""


def die(msg):
    print("sg-luacost: " + msg, file=sys.stderr)
    sys.exit(1)


def rcli(sock, *args):
    p = subprocess.run(["redis-cli", "-s", sock] + list(args),
                       capture_output=True, text=True)
    if p.returncode != 0:
        die("redis-cli %s: %s" % (args[0], p.stderr.strip()))
    return p.stdout


def resp_commands(data):
    """The commands of a RESP stream, as lists of str."""
    i, out = 0, []
    while i < len(data):
        if data[i:i + 1] != b"*":
            die("sg-enginefeed wrote something that is not RESP")
        j = data.index(b"\r\n", i)
        n, i, args = int(data[i + 1:j]), j + 2, []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            ln = int(data[i + 1:j])
            i = j + 2
            args.append(data[i:i + ln].decode())
            i += ln + 2
        out.append(args)
    return out


def calls_of(build, sock, conf, rejected):
    """(load command, begin command, commit command) of one build."""
    feed = os.path.join(build, "bench", "sg-enginefeed")
    if not os.access(feed, os.X_OK):
        die("%s: no bench/sg-enginefeed (build the tree first)" % build)
    out = subprocess.run([feed, "-c", conf, "-n", "1", "-b", "-r", "10",
                          "-x", str(rejected), "-i", "-t", "1732290000"],
                         capture_output=True, check=True).stdout
    cmds = resp_commands(out)
    load = next(c for c in cmds if c[0].upper() in ("SCRIPT", "FUNCTION"))
    calls = [c for c in cmds if c[0].upper() in ("EVALSHA", "FCALL")]
    begin = next(c for c in calls if "begin" in c)
    commit = next(c for c in calls if "commit" in c)
    return load, begin, commit


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for x in args:
        x = x.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(x), x))
    return b"".join(out)


def stream(cmd, n, mode):
    """n copies of a begin or commit call: the login varied over 100
    accounts, the clock moving, each commit with its own queue id"""
    nk = int(cmd[2])
    keys, args = cmd[3:3 + nk], cmd[3 + nk:]
    login = args[2] if mode == "commit" else None
    if login is None:
        login = re.search(r"\{([^}]*)\}", keys[0]).group(1)
    out = []
    for i in range(n):
        who = "user%d@example.net" % (i % 100)
        k = [x.replace(login, who) for x in keys]
        a = [x.replace(login, who) for x in args]
        a[1] = "%.3f" % (1732290000 + i * 0.5)
        if mode == "commit":
            a[3] = "Q%d" % i
            k = [("subguard:qid:Q%d" % i) if x.startswith("subguard:qid:")
                 else x for x in k]
        out.append(resp(cmd[:3] + k + a))
    return b"".join(out)


def timed(sock, data, command):
    """Redis's own microseconds per call of command for a --pipe stream"""
    rcli(sock, "CONFIG", "RESETSTAT")
    p = subprocess.run(["redis-cli", "-s", sock, "--pipe"], input=data,
                       capture_output=True)
    m = re.search(rb"errors: (\d+), replies: (\d+)", p.stdout)
    if p.returncode != 0 or m is None or m.group(1) != b"0":
        die("%s calls failed: %s" % (command, p.stdout.decode()[-300:]))
    st = rcli(sock, "INFO", "commandstats")
    m = re.search(r"cmdstat_%s:calls=(\d+),usec=(\d+)" % command, st)
    return int(m.group(2)) / int(m.group(1))


def baseline(sock, n):
    return timed(sock, b"".join(
        resp(["HGET", "subguard:{user%d@example.net}:counters" % (i % 100),
              "msgs"]) for i in range(n)), "hget")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", required=True)
    ap.add_argument("--build", action="append", required=True)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    conf = "/tmp/sg-luacost.%d.conf" % os.getpid()
    with open(conf, "w") as f:
        f.write(CONF.format(sock=a.redis))
        with open(os.path.join(os.path.dirname(__file__),
                               "subguard-bench.conf.in")) as t:
            f.write(t.read().split("[redis]")[1].split("\n", 2)[2])
    builds = []
    for b in a.build:
        clean = calls_of(b, a.redis, conf, 0)
        failing = calls_of(b, a.redis, conf, 1)
        builds.append((b, clean, failing))
    os.unlink(conf)
    n = a.iterations
    res = {}
    for _ in range(a.reps):
        for b, clean, failing in builds:
            rcli(a.redis, "FLUSHALL")
            rcli(a.redis, "FUNCTION", "FLUSH")
            rcli(a.redis, "SCRIPT", "FLUSH")
            out = rcli(a.redis, *clean[0])
            if "ERR" in out:
                die("%s: loading the engine: %s" % (b, out.strip()[:300]))
            command = clean[1][0].lower()
            # The accounts exist first, as on a running relay.
            timed(a.redis, stream(clean[2], n, "commit"), command)
            base = baseline(a.redis, n)
            for what, calls, mode in (("begin", clean, "begin"),
                                      ("commit, clean", clean, "commit"),
                                      ("commit, 1 rejected", failing,
                                       "commit")):
                us = timed(a.redis, stream(calls[1 if mode == "begin" else 2],
                                           n, mode), command)
                res.setdefault((b, what + " (" + command.upper() + ")"),
                               []).append((us, us / base))
            res.setdefault((b, "baseline: one HGET"), []).append((base, 1.0))
    print("| build | call | µs per call inside Redis (median of %d) | × one HGET |"
          % a.reps)
    print("|---|---|---|---|")
    for (b, what), v in res.items():
        print("| %s | %s | %.1f | %.0f |" % (
            b, what, statistics.median(x[0] for x in v),
            statistics.median(x[1] for x in v)))


if __name__ == "__main__":
    main()
