# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/qmp/qmp-shell against a running Tandem guest.

The guest (tests/guest, workload=count) prints "TG count=N" on COM1 every
250 ms; Tandem serves QMP on a UNIX socket (-qmp unix:SOCK,server=on,
wait=off). Commands are piped into qmp-shell, one shell per exchange (the
socket serves one client at a time), and its stdout is checked: QMP mode
prints one JSON line per reply or event, -H mode the HMP text. stop/cont
are checked against the serial output. Every wait is bounded.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from tandem import GUEST, ROOT, Vm, count_lines, needs_kvm

pytestmark = needs_kvm

SHELL = os.path.join(ROOT, 'scripts', 'qmp', 'qmp-shell')
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'qmp'))
from qmp import QMPClient, QMPConnectionError  # noqa: E402

SHELL_TIMEOUT = 30


@pytest.fixture
def vm():
    d = tempfile.mkdtemp(prefix='qmpsh-', dir='/tmp')  # sun_path is 108 bytes
    sock = os.path.join(d, 'qmp.sock')
    v = Vm(d, ['-kernel', GUEST, '-append', 'workload=count',
               '-qmp', 'unix:%s,server=on,wait=off' % sock])
    v.sock = sock
    v.start()
    try:
        # The socket is up once a client gets the greeting.
        deadline = time.monotonic() + 10
        while True:
            try:
                QMPClient(sock, wait=0.2, timeout=10, negotiate=False).close()
                break
            except QMPConnectionError:
                if v.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError('no QMP socket (exit %s):\n%s'
                                         % (v.proc.poll(), v.stderr()))
        v.wait_for(r'^TG count=', timeout=20)
        yield v
    finally:
        v.kill()
        shutil.rmtree(d, ignore_errors=True)


def shell(vm, lines, *opts):
    """Pipes lines into qmp-shell; returns (stdout lines, stderr)."""
    p = subprocess.run([sys.executable, SHELL, *opts, vm.sock],
                       input=''.join(line + '\n' for line in lines),
                       capture_output=True, text=True, timeout=SHELL_TIMEOUT)
    assert p.returncode == 0, 'qmp-shell exit %d\nstdout:\n%s\nstderr:\n%s' % (
        p.returncode, p.stdout, p.stderr)
    return [line for line in p.stdout.splitlines() if line.strip()], p.stderr


def qmp_shell(vm, *commands):
    """QMP mode: returns (replies, events), each a list of dicts in order."""
    out, err = shell(vm, list(commands))
    replies, events = [], []
    for line in out:
        try:
            msg = json.loads(line)
        except ValueError:
            raise AssertionError('not JSON: %r\nstderr:\n%s' % (line, err))
        (events if 'event' in msg else replies).append(msg)
    assert len(replies) == len(commands), (out, err)
    return replies, events


def last_count(vm):
    counts = count_lines(vm.serial())
    return counts[-1] if counts else 0


def wait_count_beyond(vm, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if last_count(vm) > n:
            return last_count(vm)
        time.sleep(0.05)
    raise AssertionError('serial output stuck at count=%d\n%s' % (
        n, vm.serial()[-2000:]))


def test_query_status_running(vm):
    (r,), _ = qmp_shell(vm, 'query-status')
    assert r['return']['status'] == 'running'
    assert r['return']['running'] is True


def test_stop_cont(vm):
    wait_count_beyond(vm, last_count(vm))
    (r_stop, r_status), events = qmp_shell(vm, 'stop', 'query-status')
    assert r_stop['return'] == {}
    assert r_status['return']['status'] == 'paused'
    assert r_status['return']['running'] is False
    # The event may be printed before or after the reply; same shell either way.
    assert [e['event'] for e in events] == ['STOP']
    assert set(events[0]['timestamp']) == {'seconds', 'microseconds'}

    # Paused: no new count lines for over a second (4+ periods).
    time.sleep(0.2)
    frozen = last_count(vm)
    time.sleep(1.2)
    assert last_count(vm) == frozen, 'serial output grew while stopped'

    (r_cont, r_status), events = qmp_shell(vm, 'cont', 'query-status')
    assert r_cont['return'] == {}
    assert r_status['return']['status'] == 'running'
    assert [e['event'] for e in events] == ['RESUME']
    wait_count_beyond(vm, frozen, timeout=5)

    # stop/cont again from one shell, plus cont while running (a no-op).
    (r1, r2, r3), _ = qmp_shell(vm, 'stop', 'cont', 'cont')
    assert r1['return'] == r2['return'] == r3['return'] == {}
    wait_count_beyond(vm, last_count(vm), timeout=5)


def test_hmp_mode_info_status(vm):
    out, err = shell(vm, ['info status'], '-H')
    assert out == ['VM status: running'], (out, err)
    (r,), _ = qmp_shell(vm, 'stop')
    out, err = shell(vm, ['info status'], '-H')
    assert out == ['VM status: paused'], (out, err)
    out, err = shell(vm, ['cont', 'info status'], '-H')
    assert out[-1] == 'VM status: running', (out, err)


def test_human_monitor_command_info_version(vm):
    (r, r2), _ = qmp_shell(vm, 'human-monitor-command command-line="info version"',
                           'query-version')
    text = r['return']
    v = r2['return']
    assert isinstance(text, str)
    assert '%d.%d.%d' % (v['qemu']['major'], v['qemu']['minor'],
                         v['qemu']['micro']) in text
    # The same through the single-quoted spelling.
    (r,), _ = qmp_shell(vm, "human-monitor-command command-line='info version'")
    assert r['return'] == text


def test_query_cpus_fast(vm):
    (r,), _ = qmp_shell(vm, 'query-cpus-fast')
    cpus = r['return']
    assert len(cpus) == 1
    cpu = cpus[0]
    assert cpu['cpu-index'] == 0
    assert cpu['target'] == 'x86_64'
    assert isinstance(cpu['thread-id'], int) and cpu['thread-id'] > 0
    assert cpu['qom-path'].startswith('/machine/')
    # thread-id is a real thread of the Tandem process.
    assert os.path.isdir('/proc/%d/task/%d' % (vm.proc.pid, cpu['thread-id']))


def test_errors_and_raw_json(vm):
    r, _ = qmp_shell(vm, 'no-such-command',
                     '{"execute": "query-name", "id": "raw-1"}',
                     'query-status bogus=1')
    assert r[0]['error']['class'] == 'CommandNotFound'
    assert r[1] == {'return': {}, 'id': 'raw-1'}
    assert r[2]['error']['class'] == 'GenericError'
    # The guest kept running throughout.
    wait_count_beyond(vm, last_count(vm), timeout=5)
