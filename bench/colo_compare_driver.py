# SPDX-License-Identifier: GPL-2.0-or-later
"""The driver of bench/colo-compare: starts one VMM with no guest
(-machine none) and a colo-compare object on three socket chardevs, then
plays both guests and the outdev reader: it writes frames into
primary_in and secondary_in and reads what the object releases on
outdev, checking each released frame byte for byte against the
primary's, in order.

The same driver runs Tandem and Debian's QEMU 7.2 identically; only the
binary and, for Tandem, x-compare-outside-colo=on differ (without a COLO
run, which needs KVM, Tandem's object otherwise passes frames uncompared;
QEMU's compares whatever the COLO state). tests/functional/
test_bench_colo_compare.py runs it in a tiny mode against Tandem.

Python 3 standard library only; scripts/qmp/qmp.py for QMP.
"""
import collections
import os
import select
import socket
import subprocess
import threading
import time

from benchlib import (QMPClient, QMPException, StartError, end_process,
                      percentile)
from colo_compare_frames import (FrameDecoder, TcpFlow, encode,
                                 icmp_echo_frame, payload, udp_frame)

# The chardev and object ids of QEMU's COLO recipe (docs/colo.md).
CHARDEVS = ('compare0', 'compare1', 'compare_out')
PRI, SEC, OUT = CHARDEVS


class Lost(Exception):
    """A frame the scenario needed did not come out in time."""


class CompareVmm:
    """One VMM: -machine none, an iothread, three unix socket server
    chardevs (primary_in, secondary_in, outdev) and the colo-compare on
    them; QMP on a fourth socket. props: extra colo-compare properties
    (',k=v...'). trace: QEMU -trace patterns, logged to a file."""

    def __init__(self, kind, binary, tmp, name, props='', trace=()):
        self.kind, self.name = kind, name
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.path = {c: os.path.join(self.dir, c) for c in CHARDEVS}
        self.qmp_path = os.path.join(self.dir, 'qmp')
        self.stderr_path = os.path.join(self.dir, 'stderr.log')
        self.trace_path = os.path.join(self.dir, 'trace.log')
        if kind == 'tandem':
            props = ',x-compare-outside-colo=on' + props
        self.cmd = [binary, '-machine', 'none', '-nodefaults',
                    '-display', 'none',
                    '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path,
                    '-object', 'iothread,id=iothread1']
        for c in CHARDEVS:
            self.cmd += ['-chardev', 'socket,id=%s,path=%s,server=on,'
                         'wait=off' % (c, self.path[c])]
        self.cmd += ['-object', 'colo-compare,id=comp0,primary_in=%s,'
                     'secondary_in=%s,outdev=%s,iothread=iothread1%s' % (
                         PRI, SEC, OUT, props)]
        for t in trace:
            self.cmd += ['-trace', t]
        if trace:
            self.cmd += ['-D', self.trace_path]
        self.proc = self.qmp = None
        self.sock = {}
        self.dec = FrameDecoder()
        self.pending = collections.deque()   # decoded, not yet taken
        self.warm_frames = 0

    # ---- process ----

    def start(self, timeout=30):
        """Starts the VMM and connects; on failure it is killed again
        and StartError says why."""
        self._err = open(self.stderr_path, 'wb')
        try:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=self._err)
        except OSError as e:
            self._err.close()
            raise StartError('%s: %s' % (self.cmd[0], e))
        try:
            self._connect(timeout)
        except (StartError, Lost, OSError) as e:
            self.close()
            if isinstance(e, StartError):
                raise
            raise StartError('%s: %s: %s' % (self.name, e,
                                             self.stderr()[-500:]))
        return self

    def _connect(self, timeout):
        try:
            self.qmp = QMPClient(self.qmp_path, timeout=timeout, wait=15)
        except QMPException as e:
            raise StartError('%s: no QMP (%s): %s' % (
                self.name, e, self.stderr()[-500:]))
        # outdev first, so that nothing is released before its reader is
        # there (QEMU drops what it writes to an unconnected chardev).
        for c in (OUT, PRI, SEC):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock[c] = s
            s.connect(self.path[c])
        self.warm_up(timeout)

    def warm_up(self, timeout):
        """Sends matched UDP pairs on a flow of their own until one comes
        out: the VMM has then accepted all three connections. The frames
        are counted and dropped from what the scenarios read."""
        deadline = time.monotonic() + timeout
        k = 0
        while time.monotonic() < deadline:
            f = udp_frame(9, 9, b'warm-up %d' % k)
            k += 1
            self.send(SEC, [f])
            self.send(PRI, [f])
            if self._read_until(lambda: self.pending, 0.5):
                # later warm-up pairs may still come: let them
                while self._read_until(lambda: False, 0.3):
                    pass
                self.warm_frames = len(self.pending)
                self.pending.clear()
                return
        raise StartError('%s: no warm-up frame came out on outdev in %d s: '
                         '%s' % (self.name, timeout, self.stderr()[-500:]))

    def stderr(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def trace_counts(self):
        """{event: lines} of the -D log (QEMU's log trace backend writes
        'PID@SECONDS:event args' with -msg timestamp, 'event args'
        without)."""
        counts = collections.Counter()
        try:
            with open(self.trace_path, errors='replace') as f:
                for line in f:
                    word = line.split(' ', 1)[0]
                    counts[word.rsplit(':', 1)[-1]] += 1
        except OSError:
            pass
        return dict(counts)

    def cpu_seconds(self):
        """CPU time the VMM's threads have used so far, in seconds: the
        sum of their schedstat run times (ns), or, without schedstat,
        the process's user + system time at the kernel's tick."""
        task_dir = '/proc/%d/task' % self.proc.pid
        try:
            total = 0
            for tid in os.listdir(task_dir):
                with open(os.path.join(task_dir, tid, 'schedstat')) as f:
                    total += int(f.read().split()[0])
            return total / 1e9
        except (OSError, ValueError, IndexError):
            pass
        with open('/proc/%d/stat' % self.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        # utime and stime: fields 14 and 15 of proc(5), after "pid (comm)"
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stats(self):
        """Tandem's query-colo-stats entry for comp0 (QEMU has none)."""
        if self.kind != 'tandem':
            return None
        for c in self.qmp.cmd('query-colo-stats').get('compare', []):
            if c['id'] == 'comp0':
                return c
        return None

    def close(self):
        for s in self.sock.values():
            s.close()
        end_process(self.qmp, self.proc, self._err)

    # ---- frames in and out ----

    def send(self, side, frames):
        self.sock[side].sendall(b''.join(encode(f) for f in frames))

    def _read_until(self, done, timeout):
        """Reads outdev until done() or timeout seconds without it;
        returns whether anything was read. Each decoded frame is queued
        with the time its read returned (ns)."""
        deadline = time.monotonic() + timeout
        got = False
        s = self.sock[OUT]
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data = s.recv(1 << 20)
            t = time.perf_counter_ns()
            if not data:
                raise Lost('%s: outdev closed' % self.name)
            for f in self.dec.feed(data):
                self.pending.append((t, f))
                got = True
        return got

    def take(self, n, timeout):
        """Up to n released frames [(t_ns, frame)], waiting at most
        timeout seconds for them."""
        self._read_until(lambda: len(self.pending) >= n, timeout)
        return [self.pending.popleft()
                for _ in range(min(n, len(self.pending)))]

    def take_quiet(self, quiet, bound):
        """Everything released until quiet seconds pass without a frame
        (or bound seconds in all)."""
        end = time.monotonic() + bound
        while self._read_until(lambda: False, min(quiet, max(
                end - time.monotonic(), 0))):
            pass
        out = list(self.pending)
        self.pending.clear()
        return out


def exchange(vmm, pairs, timeout=5.0):
    """Writes each (primary, secondary) frame list, secondary first, and
    checks that exactly the primary frames come out, in order. Returns the
    number of frames that differed, or raises Lost."""
    want = []
    for p, s in pairs:
        vmm.send(SEC, s)
        vmm.send(PRI, p)
        want += p
    got = vmm.take(len(want), timeout)
    if len(got) < len(want):
        raise Lost('%s: %d of %d frames released in %.0f s' % (
            vmm.name, len(got), len(want), timeout))
    return sum(g[1] != w for g, w in zip(got, want))


def handshake(vmm, flow):
    """The flow's handshake, one matched pair at a time as TCP sends it
    (the guest's ACK answers the SYN-ACK its SYN brought back, so it is
    never written before the SYN is out). Returns frames that differed."""
    return sum(exchange(vmm, [([f], [f])]) for f in flow.handshake())


def check_release(got, want):
    """What came out (got) against the primary frames written (want):
    {'released', 'altered' (equal to no frame written), 'out_of_order'
    (how many released frames must move to restore the written order:
    those outside the longest run in order), 'duplicated'}."""
    index = {f: i for i, f in enumerate(want)}
    seen, tails, altered, dup = set(), [], 0, 0
    for f in got:
        i = index.get(f)
        if i is None:
            altered += 1
            continue
        if i in seen:
            dup += 1
            continue
        seen.add(i)
        # longest increasing subsequence, patience style
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < i:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    return {'released': len(got), 'altered': altered,
            'out_of_order': len(seen) - len(tails), 'duplicated': dup}


# ---- (a) latency, one matched pair at a time ----

SIZES = (64, 512, 1448)


def _traffic(proto, i, flow):
    """The i-th matched frame of a latency run (the same frame for both
    sides)."""
    n = SIZES[i % len(SIZES)]
    if proto == 'tcp':
        return flow.data(payload(n, i))[0]
    if proto == 'udp':
        return udp_frame(40001, 7, payload(n, i), ip_id=i)
    return icmp_echo_frame(0x4242, i & 0xffff, payload(n, i), ip_id=i)


class LatencyRun:
    """Matched pairs written one at a time, alternately the secondary's
    frame first and the primary's first. A pair's latency runs from just
    before its second write to the return of the read that brought the
    released frame, so it includes one write and one read by this driver
    (the same for every VMM). step() runs some pairs, so that two VMMs'
    runs can be interleaved; result() gives {'p50_us', 'p99_us',
    'cpu_us' (the VMM's CPU time per pair), 'frames', 'wrong'}: wrong
    counts the frames released that were not the one expected there."""

    def __init__(self, vmm, proto, timeout=5.0):
        self.vmm, self.proto, self.timeout = vmm, proto, timeout
        self.flow = TcpFlow(40000)
        self.wrong = handshake(vmm, self.flow) if proto == 'tcp' else 0
        self.lat = []
        self.cpu = 0.0

    def step(self, count):
        cpu0 = self.vmm.cpu_seconds()
        try:
            self._step(count)
        finally:
            self.cpu += self.vmm.cpu_seconds() - cpu0

    def _step(self, count):
        vmm = self.vmm
        for _ in range(count):
            i = len(self.lat)
            f = _traffic(self.proto, i, self.flow)
            first, second = (SEC, PRI) if i % 2 == 0 else (PRI, SEC)
            vmm.send(first, [f])
            t0 = time.perf_counter_ns()
            vmm.send(second, [f])
            got = vmm.take(1, self.timeout)
            if not got:
                raise Lost('%s: %s frame %d not released in %.0f s' % (
                    vmm.name, self.proto, i, self.timeout))
            self.lat.append((got[0][0] - t0) / 1000)
            self.wrong += got[0][1] != f

    def result(self):
        return {'p50_us': percentile(self.lat, 50),
                'p99_us': percentile(self.lat, 99),
                'cpu_us': self.cpu / len(self.lat) * 1e6 if self.lat else None,
                'frames': len(self.lat), 'wrong': self.wrong}


def latency(vmm, proto, count, timeout=5.0):
    """count pairs of LatencyRun on one VMM."""
    run = LatencyRun(vmm, proto, timeout)
    run.step(count)
    return run.result()


# ---- (b) throughput at saturation ----

def throughput(vmm, size, count, window=512, chunk=32, timeout=120.0,
               sport=40002):
    """count matched TCP segments of size payload bytes on one
    connection (from port sport), written in chunks of `chunk` pairs
    (secondary's, then primary's) as fast as the VMM takes them, with at
    most `window` written and not yet released (below max_queue_size, so
    that a side read ahead of the other never overflows a queue). A
    reader thread takes outdev. Returns {'fps', 'mbps', 'frames',
    'seconds', 'cpu_seconds' (the VMM's, over the run), 'setup_errors'}
    and check_release()'s figures."""
    flow = TcpFlow(sport)
    setup_errors = handshake(vmm, flow)
    frames = [flow.data(payload(size, i))[0] for i in range(count)]
    encoded = [encode(f) for f in frames]
    got = []
    state = {'t_end': None, 'error': None, 'done': False}
    cond = threading.Condition()
    s_out = vmm.sock[OUT]

    def reader():
        deadline = time.monotonic() + timeout
        try:
            while len(got) < count and time.monotonic() < deadline:
                r, _, _ = select.select([s_out], [], [], 1.0)
                if not r:
                    continue
                data = s_out.recv(1 << 20)
                if not data:
                    raise Lost('outdev closed')
                fs = vmm.dec.feed(data)
                with cond:
                    got.extend(fs)
                    cond.notify()
        except Exception as e:      # reported by the writer
            state['error'] = e
        state['t_end'] = time.perf_counter_ns()
        with cond:
            state['done'] = True
            cond.notify()

    th = threading.Thread(target=reader, daemon=True)
    cpu0 = vmm.cpu_seconds()
    t0 = time.perf_counter_ns()
    th.start()
    sent = 0
    deadline = time.monotonic() + timeout
    while sent < count and time.monotonic() < deadline:
        with cond:
            while (sent - len(got) > window - chunk and not state['done']
                   and time.monotonic() < deadline):
                cond.wait(1.0)
        if state['done']:
            break
        blob = b''.join(encoded[sent:sent + chunk])
        vmm.sock[SEC].sendall(blob)
        vmm.sock[PRI].sendall(blob)
        sent += len(encoded[sent:sent + chunk])
    th.join(timeout + 5)
    cpu = vmm.cpu_seconds() - cpu0
    if state['error']:
        raise Lost('%s: throughput reader: %s' % (vmm.name, state['error']))
    secs = ((state['t_end'] or time.perf_counter_ns()) - t0) / 1e9
    res = check_release(got, frames)
    res.update({'fps': len(got) / secs if secs > 0 else None,
                'mbps': len(got) * size / secs / 1e6 if secs > 0 else None,
                'frames': count, 'setup_errors': setup_errors,
                'seconds': secs, 'cpu_seconds': cpu})
    return res


# ---- different segmentation on the two sides ----

class ResegmentedRun:
    """Rounds on one TCP connection; each writes 1400 bytes cut into
    segments differently on the two sides (2 against 1, 1 against 2,
    3 against 2, 2 against 3), the secondary's first. Every primary
    segment must come out. Latency: from just before the primary's
    write to the read that returned the round's last primary segment.
    result(): {'p50_us', 'p99_us', 'frames', 'released', 'wrong'} (wrong
    as LatencyRun's). A round that does not come out stops the run."""

    CUTS = ((2, 1), (1, 2), (3, 2), (2, 3))

    def __init__(self, vmm, timeout=5.0):
        self.vmm, self.timeout = vmm, timeout
        self.flow = TcpFlow(40003)
        self.wrong = handshake(vmm, self.flow)
        self.lat, self.frames, self.released = [], 0, 0
        self.stuck = False

    def step(self, count):
        vmm = self.vmm
        for _ in range(count):
            if self.stuck:
                return
            i = len(self.lat)
            p_pieces, s_pieces = self.CUTS[i % len(self.CUTS)]
            pri, sec = self.flow.resegmented(payload(1400, i), p_pieces,
                                             s_pieces)
            vmm.send(SEC, sec)
            t0 = time.perf_counter_ns()
            vmm.send(PRI, pri)
            self.frames += len(pri)
            got = vmm.take(len(pri), self.timeout)
            self.released += len(got)
            self.wrong += sum(g[1] != w for g, w in zip(got, pri))
            if len(got) < len(pri):
                self.stuck = True
                return
            self.lat.append((got[-1][0] - t0) / 1000)

    def result(self):
        return {'p50_us': percentile(self.lat, 50),
                'p99_us': percentile(self.lat, 99), 'frames': self.frames,
                'released': self.released, 'wrong': self.wrong}


def resegmented(vmm, count, timeout=5.0):
    """count rounds of ResegmentedRun on one VMM."""
    run = ResegmentedRun(vmm, timeout)
    run.step(count)
    return run.result()


# ---- (c) a mismatch ----

def mismatch(vmm, wait):
    """A TCP connection with matched traffic, then one segment whose
    payload differs between the sides (same length and sequence), then
    three matched segments after it on the same connection and one
    matched UDP pair on another flow. Watches outdev for `wait` seconds
    and says what came out and when (ms after the differing pair was
    written). Returns a dict of those findings."""
    flow = TcpFlow(40004)
    setup_errors = handshake(vmm, flow)
    setup_errors += exchange(vmm, [([f], [f]) for f in
                                   flow.data(payload(200, 1))])
    seq = flow.seq
    p_bad = flow.segment_at(seq, b'P' * 200)
    s_bad = flow.segment_at(seq, b'S' * 200)
    flow.seq += 200
    after = [flow.data(payload(200, 10 + k))[0] for k in range(3)]
    other = udp_frame(40005, 7, payload(300, 99))
    t0 = time.perf_counter_ns()
    vmm.send(SEC, [s_bad])
    vmm.send(PRI, [p_bad])
    vmm.send(SEC, after)
    vmm.send(PRI, after)
    vmm.send(SEC, [other])
    vmm.send(PRI, [other])
    out = vmm.take_quiet(wait, wait)

    def when(frame):
        for t, f in out:
            if f == frame:
                return (t - t0) / 1e6
        return None

    known = [p_bad, s_bad, other] + after
    return {'mismatched_ms': when(p_bad),
            'secondary_out': when(s_bad) is not None,
            'after_released': sum(when(f) is not None for f in after),
            'after_count': len(after),
            'other_ms': when(other),
            'unexpected': sum(f not in known for _, f in out),
            'setup_errors': setup_errors, 'wait_s': wait}


# ---- (d) more than max_queue_size frames queued on one connection ----

def queue_overflow(vmm, count, primary_first, settle=0.5, quiet=1.5,
                   bound=30.0):
    """count 64-byte TCP segments on one connection written to one side
    with nothing from the other, then (after settle seconds) their twins
    to the other side. Collects what comes out until quiet seconds pass
    without a frame. Returns {'sent', 'lost' (sent and not released),
    'early' (released before the twins were written), 'setup_errors'}
    and check_release()'s figures."""
    flow = TcpFlow(40006 if primary_first else 40007)
    setup_errors = handshake(vmm, flow)
    frames = [flow.data(payload(64, i))[0] for i in range(count)]
    first, second = (PRI, SEC) if primary_first else (SEC, PRI)
    vmm.send(first, frames)
    early = vmm.take_quiet(settle, settle)
    vmm.send(second, frames)
    got = [f for _, f in early + vmm.take_quiet(quiet, bound)]
    res = check_release(got, frames)
    res.update({'sent': count, 'early': len(early),
                'lost': count - res['released'] + res['altered'] +
                res['duplicated'], 'setup_errors': setup_errors})
    return res
