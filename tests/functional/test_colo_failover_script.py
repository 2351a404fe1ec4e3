# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/colo-failover.py against the real binary.

Tandem runs under -accel qtest (no KVM, no guest) with the COLO recipe's
objects of one side on its command line (docs/colo.md); the script runs
that side's failover runbook over QMP, and the test then asks Tandem what
is left: no colo-compare in query-colo-stats, no filters (or only the
secondary's rewriter) in `info network`, no redirector chardevs. Outside a
COLO run x-colo-lost-heartbeat answers "COLO is not active", which the
script reports and goes on past; a checkpointing pair needs KVM
(test_colo.py). Also: a second run finds everything gone and succeeds, a
runbook in the wrong order stops at the step that failed, and a socket
nobody listens on is a clear error.
"""
import os
import subprocess

import pytest
import sys
import time

from tandem import ROOT, Vm, free_ports

sys.path.insert(0, os.path.join(ROOT, 'scripts', 'qmp'))
from qmp import QMPClient  # noqa: E402

SCRIPT = os.path.join(ROOT, 'scripts', 'colo-failover.py')


def monitors(d, qmp):
    """The script's QMP socket and the test's own (a QMP socket serves one
    client at a time)."""
    return ['-qmp', 'unix:%s,server=on,wait=off' % qmp,
            '-qmp', 'unix:%s,server=on,wait=off' % os.path.join(str(d),
                                                                'test.sock')]


def own_qmp(d):
    return QMPClient(os.path.join(str(d), 'test.sock'), wait=10)


def primary_args(d, qmp, netdev='hn0'):
    """The recipe's primary objects on netdev (libvirt names it hostnet0)."""
    p = lambda n: os.path.join(str(d), n)  # noqa: E731
    args = [
            '-netdev', 'user,id=%s' % netdev,
            '-device', 'virtio-net-pci,netdev=%s' % netdev,
            '-chardev', 'socket,id=mirror0,path=%s,server=on,wait=off' % p('m'),
            '-chardev', 'socket,id=compare1,path=%s,server=on,wait=off' % p('c1'),
            '-chardev', 'socket,id=compare0,path=%s,server=on,wait=off' % p('c0'),
            '-chardev', 'socket,id=compare0-0,path=%s' % p('c0'),
            '-chardev', 'socket,id=compare_out,path=%s,server=on,wait=off' % p('co'),
            '-chardev', 'socket,id=compare_out0,path=%s' % p('co'),
            '-object', 'filter-mirror,id=m0,netdev=%(n)s,queue=tx,outdev=mirror0',
            '-object', 'filter-redirector,netdev=%(n)s,id=redire0,queue=rx,'
                       'indev=compare_out',
            '-object', 'filter-redirector,netdev=%(n)s,id=redire1,queue=rx,'
                       'outdev=compare0',
            '-object', 'iothread,id=iothread1',
            '-object', 'colo-compare,id=comp0,primary_in=compare0-0,'
                       'secondary_in=compare1,outdev=compare_out0,'
                       'iothread=iothread1']
    return monitors(d, qmp) + [x.replace('%(n)s', netdev) for x in args]


def secondary_args(d, qmp, netdev='hn0', rewriter_opts=''):
    p = lambda n: os.path.join(str(d), n)  # noqa: E731
    # The primary's ports: nobody listens, the chardevs keep reconnecting.
    args = [
            '-netdev', 'user,id=%s' % netdev,
            '-device', 'virtio-net-pci,netdev=%s' % netdev,
            '-chardev', 'socket,id=red0,path=%s,reconnect-ms=1000' % p('m'),
            '-chardev', 'socket,id=red1,path=%s,reconnect-ms=1000' % p('c1'),
            '-object', 'filter-redirector,id=f1,netdev=%(n)s,queue=tx,indev=red0',
            '-object', 'filter-redirector,id=f2,netdev=%(n)s,queue=rx,outdev=red1',
            '-object', 'filter-rewriter,id=rew0,netdev=%(n)s,queue=all' +
            rewriter_opts]
    return monitors(d, qmp) + [x.replace('%(n)s', netdev) for x in args]


def run_script(*args):
    return subprocess.run([sys.executable, SCRIPT] + list(args),
                          capture_output=True, text=True, timeout=60)


def filters(qmp):
    """The filter ids `info network` lists, in chain order."""
    info = qmp.hmp('info network')
    return [line[4:].split(':')[0] for line in info.splitlines()
            if line.startswith('  - ')]


def chardevs(qmp):
    return {c['label'] for c in qmp.cmd('query-chardev')}


def test_primary_runbook(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    with Vm(tmp_path, primary_args(tmp_path, sock), accel='qtest'):
        qmp = own_qmp(tmp_path)
        assert filters(qmp) == ['m0', 'redire0', 'redire1']
        assert 'compare' in qmp.cmd('query-colo-stats')
        r = run_script('primary', sock)
        assert r.returncode == 0, r.stdout + r.stderr
        for step in ('object-del comp0', 'object-del iothread1',
                     'object-del m0', 'object-del redire0',
                     'object-del redire1'):
            assert any(l.startswith(step) and l.endswith(' ok')
                       for l in r.stdout.splitlines()), r.stdout
        assert 'COLO is not active' in r.stdout
        assert filters(qmp) == []
        assert 'compare' not in qmp.cmd('query-colo-stats')
        assert not any(o['name'] == 'iothread1'
                       for o in qmp.cmd('qom-list', {'path': '/objects'}))
        # Again: everything is gone already, and that is done too.
        r = run_script('primary', sock)
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'taken as done' in r.stdout
        qmp.close()


def test_secondary_runbook(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    with Vm(tmp_path, secondary_args(tmp_path, sock), accel='qtest'):
        qmp = own_qmp(tmp_path)
        assert filters(qmp) == ['f1', 'f2', 'rew0']
        assert {'red0', 'red1'} <= chardevs(qmp)
        r = run_script('secondary', sock)
        assert r.returncode == 0, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        order = [l.split()[0] + ' ' + (l.split()[1] if len(l.split()) > 1
                                       else '') for l in lines[:-1]]
        assert [o.strip() for o in order] == [
            'nbd-server-stop NBD', 'x-colo-lost-heartbeat COLO',
            'object-del f2', 'object-del f1', 'chardev-remove red1',
            'chardev-remove red0', 'announce-self ok'], r.stdout
        # The rewriter stays, for the re-protection's insert=before.
        assert filters(qmp) == ['rew0']
        assert not ({'red0', 'red1'} & chardevs(qmp))
        qmp.close()


def test_wrong_order_stops_at_the_failing_step(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    with Vm(tmp_path, primary_args(tmp_path, sock), accel='qtest'):
        qmp = own_qmp(tmp_path)
        r = run_script('primary', sock, '--objects', 'iothread1,comp0')
        assert r.returncode == 1
        assert 'stopped at object-del iothread1' in r.stderr
        assert 'in use' in r.stderr
        # Nothing after the failed step ran.
        assert 'compare' in qmp.cmd('query-colo-stats')
        assert filters(qmp) == ['m0', 'redire0', 'redire1']
        qmp.close()


def test_reprotect_after_secondary_failover(tmp_path):
    """The recipe's re-protection of a survivor that was the secondary:
    after its failover runbook, the primary's chardevs and objects, the
    filters before the rewriter it kept; then a secondary's redirectors
    (here a second Tandem) connect to the new ports."""
    sock = str(tmp_path / 'qmp.sock')
    ports = free_ports(4)
    with Vm(tmp_path, secondary_args(tmp_path, sock), accel='qtest'):
        qmp = own_qmp(tmp_path)
        assert run_script('secondary', sock).returncode == 0
        r = run_script('reprotect', sock, '--host', '127.0.0.1', '--ports',
                       ','.join(map(str, ports)), '--rewriter', 'rew0')
        assert r.returncode == 0, r.stdout + r.stderr
        assert filters(qmp) == ['m0', 'redire0', 'redire1', 'rew0']
        assert {'mirror0', 'compare1', 'compare0', 'compare0-0',
                'compare_out', 'compare_out0'} <= chardevs(qmp)
        assert [c['id'] for c in
                qmp.cmd('query-colo-stats')['compare']] == ['comp0']
        # A new secondary's redirectors reach the new primary's ports.
        new = tmp_path / 'new'
        new.mkdir()
        args = ['-netdev', 'user,id=hn0', '-device',
                'virtio-net-pci,netdev=hn0',
                '-chardev', 'socket,id=red0,host=127.0.0.1,port=%d,'
                'reconnect-ms=100' % ports[0],
                '-chardev', 'socket,id=red1,host=127.0.0.1,port=%d,'
                'reconnect-ms=100' % ports[1],
                '-object', 'filter-redirector,id=f1,netdev=hn0,queue=tx,'
                'indev=red0',
                '-object', 'filter-redirector,id=f2,netdev=hn0,queue=rx,'
                'outdev=red1']
        with Vm(new, args, accel='qtest', name='new-secondary'):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                live = {c['label']: c['filename']
                        for c in qmp.cmd('query-chardev')}
                if not live['mirror0'].startswith('disconnected:') and \
                   not live['compare1'].startswith('disconnected:'):
                    break
                time.sleep(0.05)
            else:
                raise AssertionError('the new secondary never connected: %r'
                                     % live)
        qmp.close()


def vnet_hdr_support(qmp, ids):
    return [qmp.cmd('qom-get', path='/objects/' + i,
                    property='vnet_hdr_support')
            for i in ids]


@pytest.mark.parametrize('how', ['rewriter', 'flag', 'neither'])
def test_reprotect_vnet_hdr_support(tmp_path, how):
    """The filters that join a kept rewriter frame their streams as it
    does (a tap with virtio-net headers needs vnet_hdr_support on every
    filter and colo-compare of the pair); --vnet-hdr-support forces it."""
    sock = str(tmp_path / 'qmp.sock')
    ports = free_ports(4)
    opts = ',vnet_hdr_support=on' if how == 'rewriter' else ''
    flag = ['--vnet-hdr-support'] if how == 'flag' else []
    with Vm(tmp_path, secondary_args(tmp_path, sock, rewriter_opts=opts),
            accel='qtest'):
        qmp = own_qmp(tmp_path)
        assert run_script('secondary', sock).returncode == 0
        r = run_script('reprotect', sock, '--host', '127.0.0.1', '--ports',
                       ','.join(map(str, ports)), '--rewriter', 'rew0',
                       *flag)
        assert r.returncode == 0, r.stdout + r.stderr
        want = how != 'neither'
        assert vnet_hdr_support(qmp, ['m0', 'redire0', 'redire1',
                                      'comp0']) == [want] * 4


def test_reprotect_missing_rewriter(tmp_path):
    """A --rewriter that is not there stops the script before it adds
    anything, naming the step."""
    sock = str(tmp_path / 'qmp.sock')
    with Vm(tmp_path, secondary_args(tmp_path, sock), accel='qtest'):
        qmp = own_qmp(tmp_path)
        r = run_script('reprotect', sock, '--host', '127.0.0.1',
                       '--rewriter', 'nosuch')
        assert r.returncode == 1
        assert 'qom-get nosuch vnet_hdr_support' in r.stdout + r.stderr
        assert 'mirror0' not in chardevs(qmp)


def test_reprotect_arguments():
    r = run_script('reprotect', '/nonexistent.sock')
    assert r.returncode == 2 and 'reprotect needs --host' in r.stderr
    r = run_script('reprotect', '/nonexistent.sock', '--host', 'h',
                   '--ports', '1,2,3')
    assert r.returncode == 2 and '--ports wants four port numbers' in r.stderr


def test_no_qmp_socket(tmp_path):
    r = run_script('primary', str(tmp_path / 'nobody.sock'))
    assert r.returncode == 1
    assert 'cannot reach QMP at' in r.stderr
