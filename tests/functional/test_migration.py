# SPDX-License-Identifier: GPL-2.0-or-later
"""Live migration between two Tandem processes running the test guest's
dirty workload: every transport, statistics, cancel, failures on either
side, hostile stream files, and the x-strict-downtime SLA. The guest checks
its own memory on every pass ("TG pass=N errors=0"); after migration those
lines keep coming on the destination's serial file, and a memory dump of the
stopped destination passes tests/guest/verify_dirty.py."""
import os
import re
import socket
import threading
import time

import pytest

from tandem import GUEST, FaultProxy, QmpVm, needs_kvm, verify_memory

pytestmark = needs_kvm

from qmp import QMPError

WORKLOAD = ['-m', '256', '-kernel', GUEST, '-append', 'workload=dirty wss=64M']
FAST = {'max-bandwidth': 10 << 30, 'downtime-limit': 500}


class MigVm(QmpVm):
    """The dirty workload with a QMP socket."""

    def __init__(self, tmp_path, name, extra=(), pass_fds=(), connect=True,
                 kernel=True):
        # kernel=False: a destination as QEMU's functional tests start
        # one, with no -kernel (the guest comes by migration).
        workload = WORKLOAD if kernel else WORKLOAD[:2]
        super().__init__(tmp_path, list(workload) + list(extra), name=name,
                         connect=connect, pass_fds=pass_fds)

    def passes(self):
        return [(int(a), int(b)) for a, b in
                re.findall(r'^TG pass=(\d+) errors=(\d+)', '\n'.join(self.lines()),
                           re.M)]

    def wait_status(self, want, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.q('query-migrate')
            if info.get('status') in want:
                return info
            time.sleep(0.05)
        raise AssertionError('migration status %s, wanted %s' % (info, want))

    def wait_more_passes(self, n=3, timeout=30):
        """New verified passes appear: the guest runs and sees no errors."""
        start = len(self.passes())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.passes()
            if len(p) >= start + n:
                assert all(e == 0 for _, e in p), p[-5:]
                return p
            time.sleep(0.1)
        raise AssertionError('no new passes on %s:\n%s\n%s' % (
            self.serial_path, self.serial()[-500:], self.stderr()[-2000:]))


def dst_port(dst):
    info = dst.q('query-migrate')
    assert info['status'] == 'setup', info
    return info['socket-address'][0]['port']


def set_params(vm, **params):
    vm.q('migrate-set-parameters', **params)


def passes(vm):
    text = '\n'.join(vm.lines())
    return [int(p) for p in re.findall(r'^TG pass=(\d+) errors=0', text, re.M)]


def check_migrated(src, dst, tmp_path):
    info = src.wait_status(('completed', 'failed'))
    assert info['status'] == 'completed', info
    assert dst.wait_status(('completed',))['status'] == 'completed'
    assert dst.q('query-status')['status'] == 'running'
    assert src.q('query-status')['status'] == 'postmigrate'
    dst.wait_more_passes(3)
    # The guest's pass counter continues where the source left it: it never
    # goes backwards, and every pass reported errors=0 on both sides.
    before, after = passes(src), passes(dst)
    assert before and after, (before, after)
    assert after[0] >= before[-1], (before[-3:], after[:3])
    assert after == sorted(after) and before == sorted(before)
    text = '\n'.join(dst.lines())     # complete lines only
    assert 'errors=0' in text and ' errors=' not in \
        text.replace('errors=0', '')
    verify_memory(dst, tmp_path)
    return info


def test_tcp_smp2(tmp_path):
    with MigVm(tmp_path, 'src', ['-smp', '2']) as src, \
         MigVm(tmp_path, 'dst', ['-smp', '2', '-incoming', 'tcp:127.0.0.1:0']) as dst:
        src.wait_more_passes(2)
        set_params(src, **FAST)
        src.q('migrate-set-capabilities',
                capabilities=[{'capability': 'events', 'state': True}])
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        info = check_migrated(src, dst, tmp_path)
        assert info['total-time'] > 0 and info['downtime'] > 0
        assert info['downtime'] <= info['total-time']
        ram = info['ram']
        assert ram['transferred'] > 0 and ram['total'] == 256 << 20
        assert ram['normal'] > 0 and ram['duplicate'] > 0
        assert ram['dirty-sync-count'] >= 1 and ram['mbps'] > 0
        events = [e.data['status'] for e in src.qmp.events()
                  if e.name == 'MIGRATION']
        assert events[:2] == ['setup', 'active'] and events[-1] == 'completed'
        hmp = src.qmp.hmp('info migrate')
        assert 'Migration status: completed\r\n' in hmp
        assert 'downtime: %d ms\r\n' % info['downtime'] in hmp


def test_destination_without_kernel(tmp_path):
    """A destination started without -kernel, as QEMU's functional tests
    start theirs: the guest comes by migration and runs on; a reset is
    then refused (no firmware to reboot through), the guest left stopped
    with the reason on stderr."""
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0'], kernel=False) as dst:
        src.wait_more_passes(2)
        set_params(src, **FAST)
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        check_migrated(src, dst, tmp_path)
        dst.q('system_reset')
        deadline = time.monotonic() + 10
        while dst.q('query-status')['status'] != 'internal-error':
            assert time.monotonic() < deadline, dst.q('query-status')
            time.sleep(0.05)
        assert 'system reset failed: no kernel to boot' in dst.stderr()


@pytest.mark.parametrize('kind', ['unix', 'exec', 'fd'])
def test_transports(tmp_path, kind):
    pass_src, pass_dst = (), ()
    if kind == 'unix':
        path = os.path.join(str(tmp_path), 'mig.sock')
        src_uri, dst_uri = 'unix:' + path, 'unix:' + path
    elif kind == 'exec':
        fifo = os.path.join(str(tmp_path), 'fifo')
        os.mkfifo(fifo)
        src_uri, dst_uri = 'exec:cat > ' + fifo, 'exec:cat ' + fifo
    else:
        a, b = socket.socketpair()
        pass_src, pass_dst = (a.fileno(),), (b.fileno(),)
        src_uri, dst_uri = 'fd:%d' % a.fileno(), 'fd:%d' % b.fileno()
    with MigVm(tmp_path, 'src', pass_fds=pass_src) as src, \
         MigVm(tmp_path, 'dst', ['-incoming', dst_uri], pass_fds=pass_dst) as dst:
        src.wait_more_passes(2)
        set_params(src, **FAST)
        src.q('migrate', uri=src_uri)
        check_migrated(src, dst, tmp_path)


def test_file_save_restore(tmp_path):
    path = os.path.join(str(tmp_path), 'state.bin')
    with MigVm(tmp_path, 'src') as src:
        src.wait_more_passes(2)
        src.q('stop')
        src.q('migrate', uri='file:' + path)
        assert src.wait_status(('completed', 'failed'))['status'] == 'completed'
        last = src.passes()[-1][0]
    with MigVm(tmp_path, 'dst', ['-incoming', 'defer']) as dst:
        assert dst.q('query-status')['status'] == 'inmigrate'
        dst.q('migrate-incoming', uri='file:' + path)
        dst.wait_status(('completed',))
        # The saved guest was paused: it stays paused, as in QEMU... unless
        # autostart: the destination starts it (no -S given).
        p = dst.wait_more_passes(2)
        assert p[0][0] > last - 2
        verify_memory(dst, tmp_path)


def test_hostile_stream_files(tmp_path):
    path = os.path.join(str(tmp_path), 'state.bin')
    with MigVm(tmp_path, 'src') as src:
        set_params(src, **FAST)
        src.wait_more_passes(1)
        src.q('migrate', uri='file:' + path)
        assert src.wait_status(('completed', 'failed'))['status'] == 'completed'
    data = open(path, 'rb').read()
    bad = os.path.join(str(tmp_path), 'bad.bin')
    for name, blob in [('truncated', data[:len(data) // 2]),
                       ('header', data[:6]),
                       ('corrupt', data[:100] + bytes([data[100] ^ 0xff]) + data[101:]),
                       ('garbage', b'\x00' * 4096)]:
        with open(bad, 'wb') as f:
            f.write(blob)
        vm = MigVm(tmp_path, 'dst-' + name, ['-incoming', 'file:' + bad],
                   connect=False)
        vm.start()
        try:
            assert vm.wait_exit(30) == 1, name
            assert 'load of migration failed' in vm.stderr(), vm.stderr()
        finally:
            vm.kill()


def test_connect_failure_keeps_running(tmp_path):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    with MigVm(tmp_path, 'src') as src:
        src.q('migrate', uri='tcp:127.0.0.1:%d' % port)
        info = src.wait_status(('failed',))
        assert 'connect' in info['error-desc'].lower(), info
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(2)


def test_cancel_during_iteration(tmp_path):
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        set_params(src, **{'max-bandwidth': 4 << 20})
        # The dirty workload must be running: with nothing but memfd holes
        # to send, migration is over in milliseconds.
        src.wait_more_passes(1)
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        src.wait_status(('active',))
        time.sleep(1)
        src.q('migrate_cancel')
        assert src.wait_status(('cancelled',))['status'] == 'cancelled'
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(3)
        # QEMU's destination gives up on a broken stream.
        assert dst.wait_exit(30) == 1


def test_cancel_in_setup(tmp_path):
    """A peer that accepts but never reads: cancel unblocks the writer."""
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)
    with MigVm(tmp_path, 'src') as src:
        set_params(src, **FAST)
        src.q('migrate', uri='tcp:127.0.0.1:%d' % lsock.getsockname()[1])
        time.sleep(1)
        src.q('migrate_cancel')
        assert src.wait_status(('cancelled',))['status'] == 'cancelled'
        src.wait_more_passes(2)
    lsock.close()


def test_destination_dies(tmp_path):
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        set_params(src, **{'max-bandwidth': 8 << 20})
        # The dirty workload must be running: with nothing but memfd holes
        # to send, migration is over in milliseconds.
        src.wait_more_passes(1)
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        src.wait_status(('active',))
        time.sleep(1)
        dst.proc.kill()
        info = src.wait_status(('failed',), timeout=30)
        assert info['error-desc'], info
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(3)


def test_capabilities_and_parameters(tmp_path):
    with MigVm(tmp_path, 'src') as src:
        caps = {c['capability']: c['state']
                for c in src.q('query-migrate-capabilities')}
        assert 'x-strict-downtime' in caps and 'mapped-ram' in caps
        assert not any(caps.values())
        with pytest.raises(QMPError, match="capability 'xbzrle' is not "
                           "supported by Tandem"):
            src.q('migrate-set-capabilities',
                    capabilities=[{'capability': 'xbzrle', 'state': True}])
        p = src.q('query-migrate-parameters')
        assert p == {'downtime-limit': 300, 'max-bandwidth': 128 << 20,
                     'max-postcopy-bandwidth': 0, 'x-checkpoint-delay': 20000,
                     'x-colo-peer-timeout': 5000,
                     'x-switchover-resume-timeout': 30000,
                     'announce-initial': 50, 'announce-max': 550,
                     'announce-rounds': 5, 'announce-step': 100}
        src.qmp.hmp('migrate_set_parameter downtime-limit 42')
        assert src.q('query-migrate-parameters')['downtime-limit'] == 42
        src.qmp.hmp('migrate_set_capability x-colo on')
        assert 'x-colo: on' in src.qmp.hmp('info migrate_capabilities')
        with pytest.raises(QMPError, match='x-colo needs a return path'):
            src.q('migrate', uri='exec:cat >/dev/null')
        out = src.qmp.hmp('migrate_set_capability postcopy-ram on')
        assert 'x-colo and postcopy-ram cannot be used together' in out
        assert 'postcopy-ram: off' in src.qmp.hmp('info migrate_capabilities')
        src.qmp.hmp('migrate_set_capability x-colo off')
        with pytest.raises(QMPError, match="'-incoming' was not specified"):
            src.q('migrate-incoming', uri='tcp:127.0.0.1:0')


def strict_on(vm, limit):
    vm.q('migrate-set-capabilities',
           capabilities=[{'capability': 'x-strict-downtime', 'state': True},
                         {'capability': 'events', 'state': True}])
    set_params(vm, **{'max-bandwidth': 10 << 30, 'downtime-limit': limit})


def test_strict_downtime_met(tmp_path):
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        strict_on(src, 400)
        # The dirty workload must be running: with nothing but memfd holes
        # to send, migration is over in milliseconds.
        src.wait_more_passes(1)
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        info = src.wait_status(('completed', 'failed'), timeout=120)
        if info['status'] == 'failed':
            assert 'cannot be met' in info['error-desc'], info
            pytest.skip('host too slow for a 400 ms switchover: %s' %
                        info['error-desc'])
        assert info['downtime'] <= 400, info
        dst.wait_more_passes(3)
        verify_memory(dst, tmp_path)


def test_strict_downtime_aborts_then_fails(tmp_path):
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        # A destination that answers slowly: its return path lags 0.5 s.
        proxy = FaultProxy(int(dst_port(dst)))
        proxy.delay('return', 0.5)
        strict_on(src, 200)
        # The dirty workload must be running: with nothing but memfd holes
        # to send, migration is over in milliseconds.
        src.wait_more_passes(1)
        src.q('migrate', uri='tcp:127.0.0.1:%d' % proxy.port)
        info = src.wait_status(('completed', 'failed'), timeout=120)
        assert info['status'] == 'failed', info
        assert re.match(r'downtime-limit of 200 ms cannot be met \(last '
                        r'switchover needed \d+ ms\)', info['error-desc']), info
        assert info['x-strict-aborts'] == 3
        assert info['x-strict-last-overrun'] > 200
        aborts = [e for e in src.qmp.events()
                  if e.name == 'X_MIGRATION_SWITCHOVER_ABORTED']
        assert [e.data['aborts'] for e in aborts] == [1, 2, 3]
        # The guest kept running on the source; the destination never ran.
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(3)
        assert dst.passes() == []


class SinkPeer:
    """A 'destination' that accepts the stream, reads and discards every
    byte, and never answers on the return path: the source gets through
    iteration, stops its guest for the switchover and then waits for a
    "resumed" that never comes."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.lsock.settimeout(60)
        self.port = self.lsock.getsockname()[1]
        self.received = 0
        self.eof = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            c, _ = self.lsock.accept()
            c.settimeout(120)
            while True:
                data = c.recv(1 << 20)
                if not data:
                    break
                self.received += len(data)
            c.close()
        except OSError:
            pass
        self.eof.set()

    def close(self):
        self.lsock.close()


def test_cancel_during_switchover(tmp_path):
    sink = SinkPeer()
    try:
        with MigVm(tmp_path, 'src') as src:
            src.wait_more_passes(2)
            set_params(src, **FAST)
            src.q('migrate-set-capabilities',
                  capabilities=[{'capability': 'events', 'state': True}])
            src.q('migrate', uri='tcp:127.0.0.1:%d' % sink.port)
            # Wait for the switchover: guest stopped, migration still active.
            deadline = time.monotonic() + 60
            while True:
                run = src.q('query-status')['status']
                info = src.q('query-migrate')
                if run == 'finish-migrate' and info['status'] == 'active':
                    break
                assert info['status'] in ('setup', 'active'), info
                assert time.monotonic() < deadline, (run, info)
                time.sleep(0.02)
            # Stays there: nobody will ever send "resumed".
            time.sleep(0.5)
            assert src.q('query-status')['status'] == 'finish-migrate'
            assert src.q('query-migrate')['status'] == 'active'
            assert sink.received > 64 << 20
            t0 = time.monotonic()
            src.qmp.cmd('migrate_cancel', timeout=5)
            assert time.monotonic() - t0 < 5
            info = src.wait_status(('cancelled', 'failed'), timeout=10)
            assert info['status'] in ('cancelled', 'failed'), info
            # The source resumed its guest, which still sees its memory intact.
            deadline = time.monotonic() + 10
            while src.q('query-status')['status'] != 'running':
                assert time.monotonic() < deadline, src.q('query-status')
                time.sleep(0.05)
            src.wait_more_passes(3)
            assert sink.eof.wait(10), 'the source did not close the stream'
            events = [e.data['status'] for e in src.qmp.events()
                      if e.name == 'MIGRATION']
            assert events[-1] in ('cancelled', 'failed'), events
    finally:
        sink.close()


def _migration_events_until_eof(vm):
    statuses = []
    while True:
        try:
            ev = vm.qmp.get_event('MIGRATION', timeout=10)
        except Exception:       # the connection closed: all events read
            break
        if ev is None:
            break
        statuses.append(ev.data['status'])
    return statuses


def test_quit_during_migration(tmp_path):
    """quit on either side while RAM is still moving: the migration on that
    side is stopped and its thread joined before guest RAM is freed (seen
    as its final MIGRATION event, sent before the monitor closes), and the
    process exits cleanly."""
    events = [{'capability': 'events', 'state': True}]
    for quitter in ('src', 'dst'):
        d = tmp_path / quitter
        d.mkdir()
        with MigVm(d, 'src') as src, \
             MigVm(d, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
            src.q('migrate-set-capabilities', capabilities=events)
            dst.q('migrate-set-capabilities', capabilities=events)
            set_params(src, **{'max-bandwidth': 8 << 20})
            src.wait_more_passes(1)
            src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
            src.wait_status(('active',))
            dst.wait_status(('active',))
            time.sleep(0.5)
            vm, other = (src, dst) if quitter == 'src' else (dst, src)
            vm.qmp.cmd('quit')
            final = _migration_events_until_eof(vm)
            assert vm.wait_exit(30) == 0, vm.stderr()[-2000:]
            if quitter == 'src':
                assert final and final[-1] == 'cancelled', final
                # The destination loses its peer mid-load: QEMU's rule, exit 1.
                assert other.wait_exit(30) == 1
            else:
                assert final and final[-1] == 'failed', final
                info = src.wait_status(('failed',), timeout=30)
                assert info['error-desc'], info
                assert src.q('query-status')['status'] == 'running'


class FakeDestination:
    """A TCP peer that takes the migration stream and answers only what
    the test says: drains everything, optionally writes raw bytes on the
    return path once it has read `after` bytes. Never says "resumed"."""

    def __init__(self, reply=b'', after=0):
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.reply, self.after = reply, after
        self.received = 0
        self.replied = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.lsock.accept()
        except OSError:
            return          # closed before the source connected
        with conn:
            while True:
                try:
                    data = conn.recv(1 << 16)
                except OSError:
                    return  # the source reset the connection
                if not data:
                    return
                self.received += len(data)
                if self.reply and not self.replied.is_set() and \
                        self.received >= self.after:
                    conn.sendall(self.reply)
                    self.replied.set()

    def close(self):
        self.lsock.close()
        self.thread.join(10)


def test_silent_destination_resume_timeout(tmp_path):
    """Issue 10, 6a: a destination that takes the whole stream and never
    reports running keeps the source guest stopped only for
    x-switchover-resume-timeout; then the migration fails, naming it, and
    the guest runs on."""
    dst = FakeDestination()
    with MigVm(tmp_path, 'src') as src:
        set_params(src, **FAST)
        set_params(src, **{'x-switchover-resume-timeout': 1000})
        assert src.q('query-migrate-parameters')[
            'x-switchover-resume-timeout'] == 1000
        src.wait_more_passes(1)
        t0 = time.monotonic()
        src.q('migrate', uri='tcp:127.0.0.1:%d' % dst.port)
        info = src.wait_status(('failed', 'completed'), timeout=20)
        assert info['status'] == 'failed', info
        assert info['error-desc'] == (
            'the destination did not report its guest running within '
            '1000 ms (x-switchover-resume-timeout)'), info
        assert time.monotonic() - t0 < 15
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(2)
    dst.close()


def test_return_path_garbage_while_sending(tmp_path):
    """Issue 10, 6b: garbage on the return path while RAM is still sent
    fails the migration at once (not at the end), and the source guest
    never stops."""
    dst = FakeDestination(reply=b'\x00\x07\x00\x00', after=1 << 20)
    with MigVm(tmp_path, 'src') as src:
        set_params(src, **{'max-bandwidth': 4 << 20})
        src.wait_more_passes(1)
        src.q('migrate', uri='tcp:127.0.0.1:%d' % dst.port)
        assert dst.replied.wait(30)
        t0 = time.monotonic()
        info = src.wait_status(('failed', 'completed'), timeout=10)
        assert info['status'] == 'failed', info
        assert time.monotonic() - t0 < 3, info
        assert info['error-desc'] == \
            'return path: bad message type 7 length 0', info
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(2)
    dst.close()


# ---- postcopy (docs/migration.md, "Postcopy") ----

# Slow enough that the dirty guest never converges in precopy.
POSTCOPY_SLOW = {'max-bandwidth': 32 << 20, 'downtime-limit': 1}


def postcopy_on(*vms):
    for vm in vms:
        vm.q('migrate-set-capabilities',
             capabilities=[{'capability': 'events', 'state': True},
                           {'capability': 'postcopy-ram', 'state': True}])


def migration_statuses(vm):
    return [e.data['status'] for e in vm.qmp.events() if e.name == 'MIGRATION']


def check_postcopy_events(src, dst):
    s, d = migration_statuses(src), migration_statuses(dst)
    assert s[:2] == ['setup', 'active'], s
    assert s[-2:] == ['postcopy-active', 'completed'], s
    assert 'postcopy-active' in d and d[-1] == 'completed', d
    assert d.index('postcopy-active') < d.index('completed'), d


@pytest.mark.parametrize('when', ['after-migrate', 'before-migrate'])
def test_postcopy_dirty_guest(tmp_path, when):
    """libvirt's sequence (postcopy-ram on both sides, migrate,
    migrate-start-postcopy, wait for completed) with a guest dirtying
    64 MiB faster than 32 MiB/s carries: it only completes through
    postcopy; the guest's pattern checks on and the memory dump of the
    destination verifies. Before migrate, the switch still waits for a
    first full pass."""
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        src.wait_more_passes(2)
        set_params(src, **POSTCOPY_SLOW)
        postcopy_on(src, dst)
        dst.q('migrate-set-capabilities',
              capabilities=[{'capability': 'postcopy-blocktime',
                             'state': True}])
        if when == 'before-migrate':
            src.q('migrate-start-postcopy')
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        if when == 'after-migrate':
            src.wait_status(('active',))
            src.q('migrate-start-postcopy')
        info = check_migrated(src, dst, tmp_path)
        check_postcopy_events(src, dst)
        ram = info['ram']
        # Everything went once before the switch.
        assert ram['normal'] + ram['duplicate'] >= (256 << 20) // 4096, ram
        assert ram['postcopy-requests'] > 0, ram
        assert info['downtime'] <= info['total-time']
        assert 'postcopy request count: %d\r\n' % ram['postcopy-requests'] \
            in src.qmp.hmp('info migrate')
        # The destination's blocktime: one vCPU (-smp 1), which waited.
        dinfo = dst.q('query-migrate')
        assert len(dinfo['postcopy-vcpu-blocktime']) == 1, dinfo
        assert dinfo['postcopy-blocktime'] <= \
            dinfo['postcopy-vcpu-blocktime'][0], dinfo
        assert 0 < dinfo['x-postcopy-latency-p50'] <= \
            dinfo['x-postcopy-latency-p99'] <= \
            dinfo['x-postcopy-latency-max'], dinfo
        assert 'postcopy vcpu blocktime: %d\r\n' % \
            dinfo['postcopy-vcpu-blocktime'][0] in dst.qmp.hmp('info migrate')


def test_postcopy_destination_without_capability(tmp_path):
    """The destination did not set postcopy-ram: it refuses the source's
    advise by name and exits 1; the source fails and its guest runs on."""
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        src.wait_more_passes(2)
        set_params(src, **POSTCOPY_SLOW)
        postcopy_on(src)
        src.q('migrate-start-postcopy')
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        info = src.wait_status(('failed', 'completed'))
        assert info['status'] == 'failed', info
        assert dst.proc.wait(timeout=20) == 1
        assert "the source uses postcopy, but capability 'postcopy-ram' " \
            "is off here" in dst.stderr()
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(2)


def test_postcopy_cancel_before_switch(tmp_path):
    """postcopy-ram set but no switch yet: migrate_cancel cancels as in
    precopy and the source's guest runs on."""
    with MigVm(tmp_path, 'src') as src, \
         MigVm(tmp_path, 'dst', ['-incoming', 'tcp:127.0.0.1:0']) as dst:
        src.wait_more_passes(2)
        set_params(src, **POSTCOPY_SLOW)
        postcopy_on(src, dst)
        src.q('migrate', uri='tcp:127.0.0.1:%s' % dst_port(dst))
        src.wait_status(('active',))
        src.q('migrate_cancel')
        assert src.wait_status(('cancelled',))['status'] == 'cancelled'
        assert 'postcopy-active' not in migration_statuses(src)
        assert src.q('query-status')['status'] == 'running'
        src.wait_more_passes(2)
