#!/usr/bin/env python3
"""
NAME
	sg-proctree.py - process trees and their CPU time, from /proc

SYNOPSIS
	python3 bench/sg-proctree.py tree PID
	python3 bench/sg-proctree.py ticks ROOTPID...

DESCRIPTION
	tree prints PID and every process below it, one per line, PID first.

	ticks prints, for each ROOTPID, one line: the user+system CPU time
	(clock ticks) of the process tree under it, every live process's own
	time plus the time of the children it has reaped (cutime, cstime),
	so that processes that came and went (Postfix's smtpd) count too.

	Used by bench/peers.sh; standard library only.
"""
import os
import sys


def read_stat():
    """pid -> (ppid, utime + stime + cutime + cstime) of every process."""
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        # after "(comm) ": state ppid ... utime=[11] stime=[12] cutime=[13] cstime=[14]
        v = st[st.rindex(")") + 2:].split()
        out[int(p)] = (int(v[1]), sum(int(x) for x in v[11:15]))
    return out


def tree(stat, root):
    """root and every process below it, root first."""
    kids = {}
    for p, (pp, _) in stat.items():
        kids.setdefault(pp, []).append(p)
    todo, seen = [root], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen


def main(argv):
    if len(argv) < 3 or argv[1] not in ("tree", "ticks") or \
            not all(a.isdigit() for a in argv[2:]) or \
            (argv[1] == "tree" and len(argv) != 3):
        print("usage: sg-proctree.py tree PID | ticks ROOTPID...", file=sys.stderr)
        return 2
    stat = read_stat()
    if argv[1] == "tree":
        print("\n".join(map(str, tree(stat, int(argv[2])))))
    else:
        for root in argv[2:]:
            print(sum(stat[p][1] for p in tree(stat, int(root)) if p in stat))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
