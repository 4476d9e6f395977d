#!/usr/bin/env python3
"""
NAME
	sg-luacost.py - what engine.lua costs inside Redis, without the network

SYNOPSIS
	python3 bench/sg-luacost.py --redis SOCKET --build DIR [--build DIR2]
		[--iterations N] [--reps R]

DESCRIPTION
	For each build DIR (a build tree of subguard: its bench/sg-enginefeed
	and the engine.lua compiled into it), takes the begin and commit
	calls exactly as lib/sg_engine.c builds them (sg-enginefeed, the
	benchmark configuration with three tiers), then runs engine.lua
	N times (default 2000) inside one EVAL on the private Redis at
	SOCKET, for 100 accounts that already exist: begin alone, commit of
	a clean 10-recipient message, and commit of one with a rejected
	recipient. Redis's own INFO commandstats time per EVAL, divided by
	N, is the cost of one call without reading, parsing or answering a
	command. The loop's own cost (varying the arguments) is measured
	with an engine that returns at once, and taken off.

	A baseline runs in the same way and in the same run: a script with
	one HGET per iteration. Every figure is also given as a multiple of
	that baseline, since absolute times on a shared machine drift. With
	two builds (say the previous commit and this one) their rows
	alternate, R times each (default 5), and medians are reported.

	The engine's source comes from the build's generated C file
	(lib/lua/engine.lua embedded by lib/lua/embed.cmake), so an old
	build measures its own script.

EXIT STATUS
	0, or 1 if Redis or a build cannot be used.
"""
import argparse
import json
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
    """(engine source, begin args, commit args) of one build."""
    feed = os.path.join(build, "bench", "sg-enginefeed")
    if not os.access(feed, os.X_OK):
        die("%s: no bench/sg-enginefeed (build the tree first)" % build)
    out = subprocess.run([feed, "-c", conf, "-n", "1", "-b", "-r", "10",
                          "-x", str(rejected), "-i", "-t", "1732290000"],
                         capture_output=True, check=True).stdout
    cmds = resp_commands(out)
    src = next(c[2] for c in cmds if c[0].upper() == "SCRIPT")
    ev = [c for c in cmds if c[0].upper() == "EVALSHA"]
    begin = next(c for c in ev if "begin" in c)
    commit = next(c for c in ev if "commit" in c)
    return src, begin, commit


def lua_list(xs):
    return "{" + ",".join(json.dumps(x) for x in xs) + "}"


def wrapper(src, begin, commit, n, mode):
    """A script running the engine n times: KEYS/ARGV of the real calls,
    the login and queue id varied over 100 accounts, the clock moving."""
    def split(cmd):
        nk = int(cmd[2])
        return cmd[3:3 + nk], cmd[3 + nk:]
    bk, ba = split(begin)
    ck, ca = split(commit)
    login = ca[2]
    return ("local function engine(KEYS, ARGV)\n" + src + "\nend\n" + """
local bk, ba, ck, ca = %s, %s, %s, %s
local login = %s
local function swap(t, i)
  local out = {}
  for j = 1, #t do
    out[j] = (string.gsub(t[j], login, 'user' .. (i %% 100) .. '@example.net', 1))
  end
  return out
end
for i = 1, %d do
  local now = string.format('%%.3f', 1732290000 + i * 0.5)
  if %s then
    local a = swap(ba, i)
    a[2] = now
    engine(swap(bk, i), a)
  else
    local a = swap(ca, i)
    a[2], a[4] = now, 'Q' .. i
    local k = swap(ck, i)
    k[4] = 'subguard:qid:Q' .. i
    engine(k, a)
  end
end
return 1
""" % (lua_list(bk), lua_list(ba), lua_list(ck), lua_list(ca),
       json.dumps(re.escape(login).replace("\\", "%")), n,
       "true" if mode == "begin" else "false"))


BASELINE = """
for i = 1, %d do
  redis.call('HGET', 'subguard:{user' .. (i %% 100) .. '@example.net}:counters', 'msgs')
end
return 1
"""


def timed_eval(sock, script, n):
    rcli(sock, "CONFIG", "RESETSTAT")
    out = rcli(sock, "EVAL", script, "0")
    if "ERR" in out:
        die("script failed: " + out.strip()[:300])
    st = rcli(sock, "INFO", "commandstats")
    m = re.search(r"cmdstat_eval:calls=\d+,usec=(\d+)", st)
    return int(m.group(1)) / n


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
            # The accounts exist first, as on a running relay.
            timed_eval(a.redis, wrapper(*clean, n, "commit"), n)
            base = timed_eval(a.redis, BASELINE % n, n)
            for what, calls, mode in (("begin", clean, "begin"),
                                      ("commit, clean", clean, "commit"),
                                      ("commit, 1 rejected", failing,
                                       "commit")):
                loop = timed_eval(a.redis, wrapper("do return 1 end",
                                                   *calls[1:], n, mode), n)
                us = timed_eval(a.redis, wrapper(*calls, n, mode), n) - loop
                res.setdefault((b, what), []).append((us, us / base))
            res.setdefault((b, "baseline: one HGET"), []).append((base, 1.0))
    print("| build | call | µs per call (median of %d) | × one HGET |" % a.reps)
    print("|---|---|---|---|")
    for (b, what), v in res.items():
        print("| %s | %s | %.1f | %.0f |" % (
            b, what, statistics.median(x[0] for x in v),
            statistics.median(x[1] for x in v)))


if __name__ == "__main__":
    main()
