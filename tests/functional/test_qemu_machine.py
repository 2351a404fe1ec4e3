# SPDX-License-Identifier: GPL-2.0-or-later
"""QEMU's own Python tooling drives Tandem unchanged (issue 16, item 1).

Every test runs the usage patterns of CI systems that use QEMUMachine and
QEMUQtestMachine (qemu_machine_pattern.py reproduces what those classes do
on the wire and to the process) against Tandem AND against Debian's
qemu-system-x86_64 with the same test code, so a pass says the two behave
alike for such a user. The variants:

  none   -machine none: QMP only, no RAM or devices (runs everywhere)
  qtest  QEMUQtestMachine, -machine pc -S: Tandem with -accel qtest;
         Debian's QEMU has no qtest accelerator, so it runs -accel tcg
         (-S keeps its BIOS from racing the test on 0xcf8)
  guest  -machine pc with the test guest on COM1 through the console
         socket: Tandem with -accel kvm (skipped without /dev/kvm),
         QEMU with -accel tcg
"""
import os
import signal
import socket
import tempfile
import time

import pytest

from qemu_machine_pattern import (AbnormalShutdown, ExecuteError, QEMUMachine,
                                  QEMUQtestMachine, VMLaunchFailure)
from tandem import GUEST, QEMU, TANDEM, free_port, kvm_unusable_reason

BINARIES = {'tandem': TANDEM, 'qemu': QEMU}
GUEST_ARGS = ['-m', '128', '-kernel', GUEST, '-append', 'workload=count']


def make_vm(kind, variant, extra=(), **kw):
    binary = BINARIES[kind]
    if variant == 'none':
        vm = QEMUMachine(binary, list(extra), **kw)
        vm.set_machine('none')
    elif variant == 'qtest':
        vm = QEMUQtestMachine(binary, ['-S'] + list(extra),
                              accel='qtest' if kind == 'tandem' else 'tcg', **kw)
        vm.set_machine('pc')
        vm.set_console()
    else:
        accel = 'kvm' if kind == 'tandem' else 'tcg'
        vm = QEMUMachine(binary, ['-accel', accel] + GUEST_ARGS + list(extra), **kw)
        vm.set_machine('pc')
        vm.set_console()
    return vm


def skip_reason(kind, variant):
    if kind == 'qemu' and not os.path.exists(QEMU):
        return 'qemu-system-x86 not installed'
    if kind == 'tandem' and variant == 'guest':
        return kvm_unusable_reason()
    return None


def params(variants):
    out = []
    for variant in variants:
        for kind in BINARIES:
            reason = skip_reason(kind, variant)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            out.append(pytest.param((kind, variant), id='%s-%s' % (kind, variant),
                                    marks=marks))
    return out


ALL = params(['none', 'qtest', 'guest'])


@pytest.fixture
def vm(request):
    kind, variant = request.param
    m = make_vm(kind, variant)
    m.kind, m.variant = kind, variant
    yield m
    if m.is_running():
        m.kill()


def launched(vm):
    vm.launch()
    return vm


def initial_status(vm):
    return 'prelaunch' if vm.variant == 'qtest' else 'running'


def read_console(vm, pattern, timeout=30.0):
    """Reads the console socket until pattern (bytes) has been seen."""
    s = vm.console_socket
    got = b''
    deadline = time.monotonic() + timeout
    while pattern not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError('console: no %r within %.0fs, got %r'
                                 % (pattern, timeout, got[-500:]))
        s.settimeout(left)
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        if not data:
            raise AssertionError('console closed, got %r' % got[-500:])
        got += data
    return got


# --- launch, handshake, run state ----------------------------------------

@pytest.mark.parametrize('vm', ALL, indirect=True)
def test_launch_command_line_and_handshake(vm):
    launched(vm)
    args = vm.full_args
    assert args[1:5] == ('-display', 'none', '-vga', 'none')
    assert '-nodefaults' not in args        # QEMUMachine does not pass it
    assert args[args.index('-chardev') + 1].startswith('socket,id=mon,fd=')
    qmp = vm._qmp
    greeting = qmp.greeting['QMP']
    assert set(greeting['version']['qemu']) == {'major', 'minor', 'micro'}
    assert greeting['capabilities'] == ['oob']
    # qemu.qmp negotiates with no id and enables oob since it was offered
    assert qmp.sent[0] == {'execute': 'qmp_capabilities', 'arguments': {'enable': ['oob']}}
    r = vm.qmp('query-status')
    assert r['id'] == '__qmp#00000'
    assert r['return']['status'] == initial_status(vm)
    assert r['return']['running'] is (vm.variant != 'qtest')
    assert vm.cmd('query-version')['qemu'] == greeting['version']['qemu']
    vm.shutdown()
    assert vm.exitcode() == 0 and vm.warnings == []


@pytest.mark.parametrize('vm', ALL, indirect=True)
def test_stop_cont_events_and_hmp(vm):
    launched(vm)
    t0 = time.time()
    assert vm.hmp('info status') == 'VM status: %s\r\n' % (
        'running' if vm.variant != 'qtest' else 'paused (prelaunch)')
    vm.cmd('stop')
    if vm.variant == 'qtest':
        # stop before the first cont: QEMU leaves prelaunch alone, no event
        assert vm.cmd('query-status')['status'] == 'prelaunch'
        assert vm.get_qmp_events() == []
    else:
        ev = vm.event_wait('STOP', timeout=10)
        ts = ev['timestamp']
        assert set(ts) == {'seconds', 'microseconds'} and 0 <= ts['microseconds'] < 10**6
        assert abs(ts['seconds'] + ts['microseconds'] / 1e6 - t0) < 30
        assert vm.cmd('query-status') == {'status': 'paused', 'singlestep': False,
                                          'running': False}
        assert vm.hmp('info status') == 'VM status: paused\r\n'
    vm.cmd('cont')
    assert vm.event_wait('RESUME', timeout=10)['event'] == 'RESUME'
    assert vm.cmd('query-status')['status'] == 'running'
    assert vm.hmp('info status') == 'VM status: running\r\n'
    # HMP errors come back as text in the return, not as a QMP error
    assert vm.hmp('no-such-command') == "unknown command: 'no-such-command'\r\n"
    with pytest.raises(ExecuteError) as e:
        vm.cmd('no-such-command')
    assert e.value.error_class == 'CommandNotFound'
    vm.shutdown()
    assert vm.exitcode() == 0


# --- shutdown paths ------------------------------------------------------

def log_problems(vm):
    """Lines of the captured stdout/stderr that are not the qtest log."""
    return [line for line in vm.get_log().splitlines()
            if not line.startswith(('[I ', '[R ', '[S '))]


@pytest.mark.parametrize('vm', ALL, indirect=True)
def test_shutdown_is_quit_then_exit_zero(vm):
    launched(vm)
    vm.shutdown()
    assert vm.exitcode() == 0
    assert vm._qmp_connection is None
    assert vm.warnings == []
    assert log_problems(vm) == []


@pytest.mark.parametrize('vm', ALL, indirect=True)
def test_quit_event_then_wait(vm):
    launched(vm)
    assert vm.qmp('quit')['return'] == {}
    ev = vm.event_wait('SHUTDOWN', timeout=10)
    assert ev['data'] == {'guest': False, 'reason': 'host-qmp-quit'}
    vm.wait(timeout=10)         # no second quit: it was issued
    assert vm.exitcode() == 0 and vm.warnings == []


@pytest.mark.parametrize('vm', ALL, indirect=True)
def test_kill(vm):
    launched(vm)
    vm.kill()
    assert vm.exitcode() == -signal.SIGKILL
    assert vm.warnings == []    # the user asked for it


@pytest.mark.parametrize('vm', ALL, indirect=True)
def test_hard_kill_fallback(vm):
    """A VMM that does not answer quit is killed and the shutdown reported
    abnormal, with the signal warned about."""
    launched(vm)
    vm._qmp.settimeout(2)
    os.kill(vm.get_pid(), signal.SIGSTOP)
    with pytest.raises(AbnormalShutdown):
        vm.shutdown(timeout=2)
    assert vm.exitcode() == -signal.SIGKILL
    assert len(vm.warnings) == 1 and vm.warnings[0].startswith('qemu received signal 9;')


@pytest.mark.parametrize('kind', [p for p in BINARIES])
def test_sigterm_without_qmp_exits_zero(kind):
    """With no QMP monitor QEMUMachine ends the VMM with SIGTERM and
    expects a clean exit, and QEMU's line about it in the log."""
    if skip_reason(kind, 'none'):
        pytest.skip(skip_reason(kind, 'none'))
    vm = make_vm(kind, 'none')
    vm.set_qmp_monitor(False)
    pidfile = tempfile.mktemp(prefix='wt-qmachine-pid-')
    vm.add_args('-pidfile', pidfile)
    vm.launch()
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(pidfile):
            assert time.monotonic() < deadline and vm.is_running(), 'no pidfile'
            time.sleep(0.05)
        # QEMU writes its pidfile before it handles SIGTERM: leave it time
        time.sleep(1)
        vm.shutdown(timeout=10)
    finally:
        if vm.is_running():
            vm.kill()
        if os.path.exists(pidfile):
            os.unlink(pidfile)
    assert vm.exitcode() == 0
    # the sender's pid and argv[0], as QEMU writes them
    assert vm.get_log() == '%s: terminating on signal 15 from pid %d (%s)\n' % (
        os.path.basename(BINARIES[kind]), os.getpid(),
        open('/proc/self/cmdline', 'rb').read().split(b'\0')[0].decode())


@pytest.mark.parametrize('kind', [p for p in BINARIES])
@pytest.mark.parametrize('bad, message', [
    (['-no-such-option'], "-no-such-option: invalid option"),
    (['-vga', 'std'], ''),
])
def test_launch_failure(kind, bad, message):
    if skip_reason(kind, 'none'):
        pytest.skip(skip_reason(kind, 'none'))
    vm = make_vm(kind, 'none', bad)
    if bad[0] == '-vga':
        # QEMUMachine's own -vga none comes first; a later -vga std wins.
        # QEMU's none machine has no bus for it and ignores it; Tandem has no
        # display at all and says so: both must leave a clean exit.
        try:
            vm.launch()
        except VMLaunchFailure as e:
            assert kind == 'tandem' and e.exitcode == 1
            assert 'vga' in e.output.lower(), e.output
            return
        vm.shutdown()
        assert vm.exitcode() == 0
        return
    with pytest.raises(VMLaunchFailure) as e:
        vm.launch()
    assert e.value.exitcode == 1
    assert message in e.value.output
    assert e.value.command.split()[0] == BINARIES[kind]


@pytest.mark.parametrize('kind', [p for p in BINARIES])
def test_add_fd_and_send_fd_scm(kind):
    """QEMUMachine.add_fd (-add-fd of an inherited fd) and send_fd_scm
    (an fd riding on one space byte) followed by getfd/closefd."""
    if skip_reason(kind, 'none'):
        pytest.skip(skip_reason(kind, 'none'))
    with tempfile.TemporaryFile() as f:
        vm = make_vm(kind, 'none')
        vm.add_fd(f.fileno(), 3, 'machine-test')
        try:
            vm.launch()
            sets = vm.cmd('query-fdsets')
            assert len(sets) == 1 and sets[0]['fdset-id'] == 3
            assert [fd['opaque'] for fd in sets[0]['fds']] == ['machine-test']
            vm.send_fd_scm(file_path='/dev/null')
            assert vm.qmp('getfd', fdname='passed') == {'return': {}, 'id': '__qmp#00001'}
            assert vm.cmd('closefd', fdname='passed') == {}
            with pytest.raises(ExecuteError) as e:
                vm.cmd('closefd', fdname='passed')
            assert e.value.error_class == 'GenericError'
            assert "File descriptor named 'passed' not found" in e.value.desc
            vm.shutdown()
            assert vm.exitcode() == 0 and vm.get_log() == ''
        finally:
            if vm.is_running():
                vm.kill()


def test_pc_without_kernel_is_a_clean_launch_failure():
    """QEMU boots its firmware; Tandem has none and must say so, not hang
    or crash, so QEMUMachine reports it (docs/compat.md)."""
    vm = QEMUMachine(TANDEM, ['-S'])
    vm.set_machine('pc')
    with pytest.raises(VMLaunchFailure) as e:
        vm.launch()
    assert e.value.exitcode == 1
    assert e.value.output.startswith('tandem-system-x86_64: no kernel given: ')


@pytest.mark.parametrize('kind', [p for p in BINARIES])
def test_monitor_address_vmm_connects(kind):
    """monitor_address=PATH: the test listens, the VMM connects as a client
    (-chardev socket,id=mon,path=PATH without server=on)."""
    if skip_reason(kind, 'none'):
        pytest.skip(skip_reason(kind, 'none'))
    d = tempfile.mkdtemp(prefix='wt-qmachine-')
    path = os.path.join(d, 'mon.sock')
    vm = make_vm(kind, 'none', monitor_address=path)
    try:
        vm.launch()
        assert 'socket,id=mon,path=%s' % path in vm.full_args
        assert vm.cmd('query-status')['status'] == 'running'
        vm.shutdown()
        assert vm.exitcode() == 0
    finally:
        if vm.is_running():
            vm.kill()
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(d)


# --- QEMUQtestMachine ----------------------------------------------------

QTEST = params(['qtest'])


@pytest.mark.parametrize('vm', QTEST, indirect=True)
def test_qtest_host_bridge_and_memory(vm):
    launched(vm)
    assert '-qtest' in vm.full_args
    assert vm.qtest('outl 0xcf8 0x80000000') == 'OK\n'
    assert vm.qtest('inl 0xcfc') == 'OK 0x12378086\n'      # i440FX host bridge
    assert vm.qtest('writel 0x7000000 0xdeadbeef') == 'OK\n'
    assert vm.qtest('readl 0x7000000') == 'OK 0x00000000deadbeef\n'
    assert vm.qtest('readw 0x7000002') == 'OK 0x000000000000dead\n'
    assert vm.qtest('no-such-command') == "FAIL Unknown command 'no-such-command'\n"
    vm.shutdown()
    assert vm.exitcode() == 0
    # the qtest log goes to stderr, i.e. into the captured log
    assert '[R +' in vm.get_log() and 'inl 0xcfc' in vm.get_log()


@pytest.mark.parametrize('kind', [p for p in BINARIES])
def test_qtest_log_none(kind):
    vm = make_vm(kind, 'qtest', ['-qtest-log', 'none'])
    try:
        vm.launch()
        assert vm.qtest('inl 0xcfc').startswith('OK ')
        vm.shutdown()
    finally:
        if vm.is_running():
            vm.kill()
    assert vm.exitcode() == 0 and vm.get_log() == ''


@pytest.mark.parametrize('vm', QTEST, indirect=True)
def test_qtest_serial_to_console(vm):
    launched(vm)
    vm.console_socket
    # the VMM accepts the console connection in its main loop: a QMP
    # round trip orders our write after it
    vm.cmd('query-status')
    assert vm.qtest('outb 0x3f8 0x41') == 'OK\n'
    assert read_console(vm, b'A', timeout=10) == b'A'
    vm.shutdown()
    assert vm.exitcode() == 0


def test_qtest_migration_refused_cleanly():
    """Under -accel qtest Tandem refuses migration by design (no guest, no
    dirty tracking): a QMP error, and the VM carries on. Debian's QEMU,
    running -accel tcg here, would migrate: docs/compat.md says so."""
    vm = make_vm('tandem', 'qtest')
    try:
        vm.launch()
        r = vm.qmp('migrate', uri='exec:cat >/dev/null')
        assert r['error'] == {
            'class': 'GenericError',
            'desc': 'Migration is not supported: the qtest accelerator runs no guest '
                    '(and tracks no dirty pages)'}
        assert r['id'].startswith('__qmp#')
        assert vm.cmd('query-status')['status'] == 'prelaunch'
        assert vm.qtest('inl 0xcfc') in ('OK 0x12378086\n', 'OK 0x00000000\n',
                                         'OK 0xffffffff\n')
        vm.shutdown()
        assert vm.exitcode() == 0
    finally:
        if vm.is_running():
            vm.kill()


# --- guest: console and QEMU's functional-test migration sequences --------

GUEST_ONLY = params(['guest'])


@pytest.mark.parametrize('vm', GUEST_ONLY, indirect=True)
def test_guest_console(vm):
    launched(vm)
    read_console(vm, b'TG count=', timeout=60)
    vm.shutdown()
    assert vm.exitcode() == 0


def migration_uris(kind, tmp):
    port = free_port()
    return {
        'tcp': ('tcp:127.0.0.1:%d' % port, 'tcp:127.0.0.1:%d' % port),
        'unix': ('unix:' + os.path.join(tmp, 'mig.sock'),) * 2,
        'exec': ('exec:cat > %s' % os.path.join(tmp, 'mig.bin'),
                 'exec:cat %s' % os.path.join(tmp, 'mig.bin')),
    }


def wait_migration(vm, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        st = vm.cmd('query-migrate').get('status')
        if st in ('completed', 'failed', 'cancelled'):
            return st
        assert time.monotonic() < deadline, 'migration still %s' % st
        time.sleep(0.1)


# `info migrate` as QEMU 7.2 (what Tandem's query-version claims) prints
# it, label by label in its order; a label whose figure is 0 is left out.
# tests/unit/test-postcopy-migration.c holds Tandem's text to the same.
INFO_MIGRATE_72_ORDER = [
    'Migration status', 'total time', 'expected downtime', 'downtime',
    'setup', 'transferred ram', 'throughput', 'remaining ram', 'total ram',
    'duplicate', 'skipped', 'normal', 'normal bytes', 'dirty sync count',
    'page size', 'multifd bytes', 'pages-per-second', 'dirty pages rate',
    'postcopy request count', 'precopy ram', 'downtime ram', 'postcopy ram',
]


def check_info_migrate_72(text):
    """The lines of a completed source's `info migrate` (QEMU's "globals:"
    block and its property lines skipped: Tandem has none of those)."""
    lines = text.split('\r\n')
    if lines[0] == 'globals:':
        lines = lines[[l.split(':')[0] for l in lines].index('Migration status'):]
    labels = [l.split(':')[0] for l in lines if l]
    at = 0
    for label in labels:
        assert label in INFO_MIGRATE_72_ORDER[at:], (label, text)
        at = INFO_MIGRATE_72_ORDER.index(label, at) + 1
    assert labels[:2] == ['Migration status', 'total time'], text
    assert 'Migration status: completed' in lines, text
    assert 'pages-per-second' in labels, text


@pytest.mark.parametrize('kind', [pytest.param(k, marks=[pytest.mark.skip(
    reason=skip_reason(k, 'guest'))] if skip_reason(k, 'guest') else [])
    for k in BINARIES])
@pytest.mark.parametrize('transport', ['tcp', 'unix', 'exec', 'defer'])
def test_migration_sequence(kind, transport):
    """QEMU's functional migration test: destination with -incoming (or
    -incoming defer + migrate-incoming), source migrates, both report
    completed, the source is postmigrate and the destination runs on."""
    tmp = tempfile.mkdtemp(prefix='wt-qmachine-mig-')
    uris = migration_uris(kind, tmp)
    src_uri, dst_uri = uris['tcp' if transport == 'defer' else transport]
    src = make_vm(kind, 'guest', name='src')
    incoming = 'defer' if transport == 'defer' else dst_uri
    dst = make_vm(kind, 'guest', ['-incoming', incoming], name='dst')
    try:
        src.launch()
        read_console(src, b'TG count=', timeout=60)
        if transport == 'exec':
            # exec: the stream goes through a file, so the source runs first
            src.cmd('migrate', uri=src_uri)
            assert wait_migration(src) == 'completed'
            dst.launch()
            dst.console_socket
        else:
            dst.launch()
            # connected at once, as console users do: Debian's QEMU sends
            # nothing to a console first connected after the migration
            dst.console_socket
            if transport == 'defer':
                assert dst.cmd('query-status')['status'] == 'inmigrate'
                dst.cmd('migrate-incoming', uri=dst_uri)
            src.cmd('migrate', uri=src_uri)
            assert wait_migration(src) == 'completed'
        assert wait_migration(dst) == 'completed'
        assert src.cmd('query-status')['status'] == 'postmigrate'
        check_info_migrate_72(src.hmp('info migrate'))
        deadline = time.monotonic() + 30
        while dst.cmd('query-status')['status'] != 'running':
            assert time.monotonic() < deadline
            time.sleep(0.1)
        read_console(dst, b'TG count=', timeout=60)
        for vm in (src, dst):
            vm.shutdown()
            assert vm.exitcode() == 0
    finally:
        for vm in (src, dst):
            if vm.is_running():
                vm.kill()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
