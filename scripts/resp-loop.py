#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A RESP client that proves no acknowledged write is lost.

On one long-lived TCP connection it sends `SET k<i mod KEYS> <i>` for
i = 1, 2, 3, ..., one at a time, and counts a SET as acknowledged when
its `+OK` arrives. Every --interval seconds it prints one line

    tick acked=N rate=R

(R: acknowledged SETs per second over the last interval). When its stdin
reaches end of file (or after --seconds), it stops writing and, on the
same connection, reads every key back with GET: each key must hold the
last value acknowledged for it. It prints one last line and exits 0 when
everything checks:

    verify acked=N keys=K ok
    verify acked=N keys=K lost=L first-lost=k7:1207 (wanted ..., got ...)

A connection reset, a closed connection, an unexpected reply or no reply
within --timeout seconds ends it at once with exit status 1 and a line

    error acked=N <what happened>

This is what a COLO failover must not show: scripts/colo-demo.py --net
runs it against the test guest's RESP server (workload=serve, port 6379)
while the primary is killed. Any RESP server works (redis-server too).

usage: scripts/resp-loop.py HOST [PORT] [--keys K] [--interval S]
           [--seconds S] [--timeout S]
"""
import argparse
import select
import socket
import sys
import time


class ReplyError(Exception):
    """The server answered something other than what the protocol says."""


class RespConnection:
    """One TCP connection speaking RESP2: commands as arrays of bulk
    strings, replies read exactly."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''

    @staticmethod
    def encode(*args):
        out = [b'*%d\r\n' % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b'$%d\r\n%s\r\n' % (len(a), a))
        return b''.join(out)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError('the server closed the connection')
        self.buf += chunk

    def _line(self):
        while b'\r\n' not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def reply(self):
        """One reply: str for +simple, int for :integer, bytes or None for
        a bulk string; -errors raise ReplyError."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b'+':
            return rest.decode('latin-1')
        if kind == b':':
            return int(rest)
        if kind == b'-':
            raise ReplyError(rest.decode('latin-1'))
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        raise ReplyError('unexpected reply %r' % line[:60])

    def close(self):
        self.sock.close()


def stdin_closed():
    """True once stdin is at end of file (never blocks)."""
    if sys.stdin is None or sys.stdin.closed:
        return True
    ready, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(ready) and sys.stdin.buffer.read1(4096) == b''


class Progress:
    """What the server acknowledged so far: how many SETs, and the last
    value of every key."""

    def __init__(self):
        self.acked = 0
        self.last = {}


def write_loop(conn, keys, interval, seconds, progress):
    """SETs until stdin closes or seconds pass, counting in progress."""
    start = tick = time.monotonic()
    tick_acked = 0
    i = 0
    while True:
        now = time.monotonic()
        if now - tick >= interval:
            print('tick acked=%d rate=%.0f' % (progress.acked,
                                               (progress.acked - tick_acked) / (now - tick)),
                  flush=True)
            tick, tick_acked = now, progress.acked
            if (seconds and now - start >= seconds) or stdin_closed():
                return
        i += 1
        key = 'k%d' % (i % keys)
        conn.send(conn.encode('SET', key, i))
        answer = conn.reply()
        if answer != 'OK':
            raise ReplyError('SET %s %d answered %r' % (key, i, answer))
        progress.last[key] = i
        progress.acked += 1


def verify(conn, last, batch=100):
    """GETs every key written (pipelined by batch); returns the list of
    (key, wanted, got) that differ."""
    lost = []
    names = sorted(last)
    for at in range(0, len(names), batch):
        part = names[at:at + batch]
        conn.send(b''.join(conn.encode('GET', k) for k in part))
        for k in part:
            got = conn.reply()
            if got != str(last[k]).encode():
                lost.append((k, last[k], got))
    return lost


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('host')
    ap.add_argument('port', nargs='?', type=int, default=6379)
    ap.add_argument('--keys', type=int, default=1000,
                    help='distinct keys written round robin (default 1000)')
    ap.add_argument('--interval', type=float, default=0.5,
                    help='seconds between tick lines (default 0.5)')
    ap.add_argument('--seconds', type=float, default=0,
                    help='stop writing after this long (default: at end of stdin)')
    ap.add_argument('--timeout', type=float, default=60,
                    help='seconds to wait for the connection or any reply (default 60)')
    args = ap.parse_args(argv)
    if args.keys < 1 or args.interval <= 0:
        ap.error('--keys must be at least 1 and --interval above 0')

    progress = Progress()
    try:
        conn = RespConnection(args.host, args.port, args.timeout)
    except OSError as e:
        print('error acked=0 cannot connect to %s:%d: %s' % (args.host, args.port, e),
              flush=True)
        return 1
    try:
        write_loop(conn, args.keys, args.interval, args.seconds, progress)
        lost = verify(conn, progress.last)
    except socket.timeout:
        print('error acked=%d no reply in %.0f s' % (progress.acked, args.timeout),
              flush=True)
        return 1
    except (OSError, ReplyError, ValueError) as e:
        print('error acked=%d %s' % (progress.acked, e), flush=True)
        return 1
    finally:
        conn.close()
    if lost:
        k, wanted, got = lost[0]
        print('verify acked=%d keys=%d lost=%d first-lost=%s (wanted %d, got %r)'
              % (progress.acked, len(progress.last), len(lost), k, wanted, got), flush=True)
        return 1
    print('verify acked=%d keys=%d ok' % (progress.acked, len(progress.last)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
