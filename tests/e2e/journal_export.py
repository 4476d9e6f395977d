#!/usr/bin/env python3
"""journal_export.py - syslog lines (Postfix's maillog_file) on standard
input into the journal export format on standard output, one entry per
line, flushed at once, for systemd-journal-remote to write into a private
journal directory (t_93_feed_journal). Each entry gets what journald
itself would attach to a record of Postfix's unit: SYSLOG_IDENTIFIER and
MESSAGE from the line, _COMM (the agent, "smtp" of "postfix/smtp"), _PID,
_SYSTEMD_UNIT (--unit), one boot id (--boot) and increasing monotonic and
wall-clock times. Lines that are not "TIME HOST PROG[PID]: MSG" are
written with SYSLOG_IDENTIFIER=unparsed (they then count nothing)."""
import argparse
import re
import sys
import time

# "Mmm dd hh:mm:ss" (maillog_file's) or an RFC 3339 time, then the header
LINE = re.compile(rb'^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d|\S+) (\S+) '
                  rb'([^\s\[\]:]+)\[(\d+)\]: (.*)$')


def field(name, value):
    """one field, text form, or binary form when value holds a newline"""
    if b'\n' in value:
        return name + b'\n' + len(value).to_bytes(8, 'little') + value + b'\n'
    return name + b'=' + value + b'\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--unit', default='postfix@-.service')
    ap.add_argument('--boot', default='0123456789abcdef0123456789abcdef')
    ap.add_argument('--mono-start', type=int, default=1000000)
    a = ap.parse_args()
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    mono, real = a.mono_start, 0
    for raw in inp:
        raw = raw.rstrip(b'\n')
        m = LINE.match(raw)
        if m:
            host, prog, pid, msg = m.group(2), m.group(3), m.group(4), m.group(5)
        else:
            host, prog, pid, msg = b'localhost', b'unparsed', b'1', raw
        mono += 1
        real = max(real + 1, int(time.time() * 1e6))
        e = b''.join([
            field(b'__REALTIME_TIMESTAMP', str(real).encode()),
            field(b'__MONOTONIC_TIMESTAMP', str(mono).encode()),
            field(b'_BOOT_ID', a.boot.encode()),
            field(b'_HOSTNAME', host),
            field(b'_TRANSPORT', b'syslog'),
            field(b'PRIORITY', b'6'),
            field(b'SYSLOG_FACILITY', b'2'),
            field(b'SYSLOG_IDENTIFIER', prog),
            field(b'SYSLOG_PID', pid),
            field(b'_PID', pid),
            field(b'_COMM', prog.rsplit(b'/', 1)[-1][:15]),
            field(b'_SYSTEMD_UNIT', a.unit.encode()),
            field(b'MESSAGE', msg),
        ])
        out.write(e + b'\n')
        out.flush()


if __name__ == '__main__':
    main()
