#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Parse the Tandem test guest's workload=touch lines (README.md, "Memory
latency").  The one reader of that format: tests/functional and
bench/postcopy import it, so a change of the line changes one parser.

  TG touch wss=BYTES pages=N write-pct=P bg-dirty=BYTES          (start)
  TG touch sec=N accesses=A writes=W p50=X.XXXus p99=X.XXXus max=X.XXXus
           pages=P errors=E bg_passes=B bg_errors=F          (each second)

As a script: reads a serial log (file or stdin) and prints one line per
second with the figures, exit 1 if there is none.
"""

import re
import sys

START_RX = re.compile(r'^TG touch wss=(\d+) pages=(\d+) write-pct=(\d+) bg-dirty=(\d+)$', re.M)
LINE_RX = re.compile(r'^TG touch sec=(\d+) accesses=(\d+) writes=(\d+) p50=(\d+\.\d{3})us '
                     r'p99=(\d+\.\d{3})us max=(\d+\.\d{3})us pages=(\d+) errors=(\d+) '
                     r'bg_passes=(\d+) bg_errors=(\d+)$', re.M)
FIELDS = ('sec', 'accesses', 'writes', 'p50', 'p99', 'max', 'pages', 'errors', 'bg_passes',
          'bg_errors')
LATENCIES = ('p50', 'p99', 'max')       # floats, microseconds; the rest are ints


def seconds(text):
    """The once-a-second lines of a serial log, in order, as dicts."""
    return [{k: float(v) if k in LATENCIES else int(v) for k, v in zip(FIELDS, m.groups())}
            for m in LINE_RX.finditer(text.replace('\r', ''))]


def start(text):
    """The start line as a dict (wss, pages, write_pct, bg_dirty), or None."""
    m = START_RX.search(text.replace('\r', ''))
    if not m:
        return None
    return dict(zip(('wss', 'pages', 'write_pct', 'bg_dirty'), map(int, m.groups())))


def main():
    text = open(sys.argv[1], 'rb').read() if len(sys.argv) > 1 else sys.stdin.buffer.read()
    lines = seconds(text.decode('latin-1'))
    for d in lines:
        print(' '.join('%s=%s' % (k, d[k]) for k in FIELDS))
    return 0 if lines else 1


if __name__ == '__main__':
    sys.exit(main())
