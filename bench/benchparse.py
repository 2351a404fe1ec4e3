# SPDX-License-Identifier: GPL-2.0-or-later
"""Parsers for what bench/net, bench/block and bench/colo-net read: the
test guest's `TG iops` lines, wrk --latency, redis-benchmark --csv, ping,
bench/tcp-bulk.py's result line and QEMU's COLO trace. Each one raises
ValueError when the text is not what it expects, so a changed client or
guest format stops the benchmark with a message instead of giving a
table of wrong numbers. tests/functional/test_bench_parsers.py runs them
on recorded outputs.
"""
import csv
import re
import statistics

# TG iops read=10980 read_p50=247.8us read_p99=2588.6us write=11281
#     write_p50=247.8us write_p99=2785.2us errors=0
IOPS_RX = re.compile(
    r'^TG iops read=(\d+) read_p50=(\d+\.\d)us read_p99=(\d+\.\d)us '
    r'write=(\d+) write_p50=(\d+\.\d)us write_p99=(\d+\.\d)us '
    r'errors=(\d+)\r?$', re.M)
IOPS_START_RX = re.compile(
    r'^TG iops rw=(\w+) bs=(\d+) qd=(\d+) blocks=(\d+)\r?$', re.M)


def iops_start(text):
    """The guest's start line as a dict, or None before it is printed."""
    m = IOPS_START_RX.search(text)
    if not m:
        return None
    return {'rw': m.group(1), 'bs': int(m.group(2)), 'qd': int(m.group(3)),
            'blocks': int(m.group(4))}


def iops_seconds(text):
    """Every once-a-second figures line of workload=iops, in order."""
    rows = []
    for m in IOPS_RX.finditer(text):
        rows.append({'read': int(m.group(1)),
                     'read_p50_us': float(m.group(2)),
                     'read_p99_us': float(m.group(3)),
                     'write': int(m.group(4)),
                     'write_p50_us': float(m.group(5)),
                     'write_p99_us': float(m.group(6)),
                     'errors': int(m.group(7))})
    return rows


def iops_summary(rows, kind):
    """IOPS and latency of kind ('read' or 'write') over the seconds given:
    the mean of the per-second IOPS, and the median of the per-second p50
    and p99 (the guest prints percentiles per second, which cannot be
    merged exactly; the median keeps one disturbed second from deciding).
    errors is the guest's running total at the last second."""
    if kind not in ('read', 'write'):
        raise ValueError('kind must be read or write, not %r' % kind)
    if not rows:
        raise ValueError('no TG iops figures lines')
    return {'iops': statistics.mean(r[kind] for r in rows),
            'p50_us': statistics.median(r[kind + '_p50_us'] for r in rows),
            'p99_us': statistics.median(r[kind + '_p99_us'] for r in rows),
            'errors': rows[-1]['errors'],
            'seconds': len(rows)}


_WRK_UNITS = {'us': 1e-3, 'ms': 1.0, 's': 1e3, 'm': 60e3, 'h': 3600e3}


def _wrk_ms(value, unit):
    return float(value) * _WRK_UNITS[unit]


def wrk(text):
    """wrk --latency's requests/s, latency p50/p99 (ms), request count and
    errors (socket errors plus non-2xx/3xx answers)."""
    m = re.search(r'^Requests/sec:\s+([\d.]+)\s*$', text, re.M)
    if not m:
        raise ValueError('wrk output has no Requests/sec line')
    res = {'rps': float(m.group(1))}
    for pct in ('50', '99'):
        m = re.search(r'^\s+%s%%\s+([\d.]+)(us|ms|s|m|h)\s*$' % pct, text,
                      re.M)
        if not m:
            raise ValueError('wrk output has no %s%% latency line (was '
                             'it run with --latency?)' % pct)
        res['p%s_ms' % pct] = _wrk_ms(m.group(1), m.group(2))
    m = re.search(r'^\s+(\d+) requests in ', text, re.M)
    if not m:
        raise ValueError('wrk output has no "N requests in" line')
    res['requests'] = int(m.group(1))
    errors = 0
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), '
                  r'timeout (\d+)', text)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    if m:
        errors += int(m.group(1))
    res['errors'] = errors
    return res


def redis_benchmark(text):
    """redis-benchmark --csv (redis-tools 7): {TEST: {rps, p50_ms, p99_ms}}
    for every test line."""
    lines = [l for l in text.splitlines() if l.startswith('"')]
    if not lines:
        raise ValueError('redis-benchmark output has no CSV lines')
    rows = list(csv.reader(lines))
    head = rows[0]
    want = ('test', 'rps', 'p50_latency_ms', 'p99_latency_ms')
    if any(w not in head for w in want):
        raise ValueError('redis-benchmark CSV header %s lacks one of %s' % (
            head, want))
    col = {w: head.index(w) for w in want}
    res = {}
    for row in rows[1:]:
        if len(row) != len(head):
            raise ValueError('redis-benchmark CSV line %s does not match '
                             'the header' % row)
        try:
            res[row[col['test']]] = {
                'rps': float(row[col['rps']]),
                'p50_ms': float(row[col['p50_latency_ms']]),
                'p99_ms': float(row[col['p99_latency_ms']])}
        except ValueError:
            raise ValueError('redis-benchmark CSV line %s: not numbers' % row)
    if not res:
        raise ValueError('redis-benchmark printed a header and no results')
    return res


def ping(text):
    """ping's per-reply round trips (ms, in order), packets sent and
    received."""
    rtts = [float(x) for x in
            re.findall(r'^\d+ bytes from .* time=([\d.]+) ms$', text, re.M)]
    m = re.search(r'^(\d+) packets transmitted, (\d+) received', text, re.M)
    if not m:
        raise ValueError('ping output has no "packets transmitted" line')
    sent, received = int(m.group(1)), int(m.group(2))
    if len(rtts) != received:
        raise ValueError('ping says %d received but printed %d replies' % (
            received, len(rtts)))
    return {'rtts_ms': rtts, 'sent': sent, 'received': received}


def bulk(text):
    """bench/tcp-bulk.py's result line: bytes echoed, seconds, MB/s and
    mismatched reads. Its `bulk error:` line raises ValueError with the
    client's words."""
    m = re.search(r'^bulk error: (.*)$', text, re.M)
    if m:
        raise ValueError('bulk client: ' + m.group(1))
    m = re.search(r'^bulk bytes=(\d+) seconds=([\d.]+) mbps=([\d.]+) '
                  r'mismatches=(\d+)$', text, re.M)
    if not m:
        raise ValueError('bulk client printed no result line')
    return {'bytes': int(m.group(1)), 'seconds': float(m.group(2)),
            'mbps': float(m.group(3)), 'mismatches': int(m.group(4))}


# QEMU's trace lines with -msg timestamp=on: PID@SECONDS.MICROS:EVENT ARGS
QEMU_TRACE_RX = re.compile(r'^\d+@(\d+\.\d+):(\w+) ?(.*)$', re.M)
QEMU_STATE_RX = re.compile(r"Change '(\w+)' => '(\w+)'")


def qemu_colo_trace(text, t_from=0.0, t_to=float('inf')):
    """A QEMU primary's COLO checkpoints from its trace (events
    colo_vm_state_change and colo_old_packet_check_found), counting those
    that ended between the wall-clock times t_from and t_to:

    - pauses_ms: each checkpoint's guest pause, from "Change 'run' =>
      'stop'" to the next "Change 'stop' => 'run'" (the first 'stop' =>
      'run', COLO starting the guest after the precopy, has no pair and
      is not a checkpoint);
    - ends: the wall-clock time each of those checkpoints ended;
    - checkpoints: how many;
    - timeouts: colo_old_packet_check_found lines, one per packet that
      waited longer than compare_timeout (each asks for a checkpoint;
      several may be served by one);
    - stopped: True when the last state change left the guest stopped
      (a checkpoint begun and never finished).

    A line cut short (no newline yet) is not read. QEMU 7.2 traces no
    event for a TCP payload mismatch, so checkpoints
    asked for by colo-compare cannot be told from periodic ones here
    beyond the timeouts."""
    pauses, ends, timeouts, stopped = [], [], 0, None
    # The benches read the file while QEMU writes it: a last line without
    # its newline may be cut mid-way and is left for the next read.
    text = text[:text.rfind('\n') + 1]
    for m in QEMU_TRACE_RX.finditer(text):
        t, event, rest = float(m.group(1)), m.group(2), m.group(3)
        if event == 'colo_old_packet_check_found':
            if t_from <= t <= t_to:
                timeouts += 1
        elif event == 'colo_vm_state_change':
            s = QEMU_STATE_RX.search(rest)
            if not s:
                raise ValueError('colo_vm_state_change line without a '
                                 'change: %r' % m.group(0))
            if s.groups() == ('run', 'stop'):
                stopped = t
            elif s.groups() == ('stop', 'run'):
                if stopped is not None and t_from <= t <= t_to:
                    pauses.append((t - stopped) * 1000.0)
                    ends.append(t)
                stopped = None
    return {'pauses_ms': pauses, 'ends': ends, 'checkpoints': len(pauses),
            'timeouts': timeouts, 'stopped': stopped is not None}
