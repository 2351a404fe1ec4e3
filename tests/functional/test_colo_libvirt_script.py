# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/colo-libvirt.py against the real binary, through a stand-in virsh.

libvirt cannot start a Tandem domain without KVM (it refuses virt type
kvm; Tandem has no TCG), so here `virsh` is a stand-in on PATH that does
what `virsh qemu-monitor-command DOMAIN JSON` does, for domains that are
Tandem processes under -accel qtest: it sends the command to the domain's
QMP socket and prints the reply as virsh 9.0 prints it (compact JSON with
libvirt's id, then a blank line; an error reply is printed the same way
with exit status 0; an unknown domain is `error: failed to get domain
'X'` on stderr, exit status 1 — read off a real libvirtd running Debian's
QEMU here). With KVM, test_libvirt.py's test_colo_pair runs the script
through real libvirt.

The domains carry the recipe's objects on libvirt's netdev name hostnet0.
The failover runbooks and the re-protection leave what test_colo_failover_
script.py expects; protect gets as far as the migrate, which -accel qtest
refuses, and the script stops there, naming the step.
"""
import json
import os
import stat
import subprocess
import sys

from tandem import ROOT, Vm
from test_colo_failover_script import (chardevs, filters, free_ports,
                                       own_qmp, primary_args, secondary_args)

SCRIPT = os.path.join(ROOT, 'scripts', 'colo-libvirt.py')

FAKE_VIRSH = '''#!%(python)s
import json, os, sys
sys.path.insert(0, %(qmp_dir)r)
from qmp import QMPClient
args = sys.argv[1:]
uri = ''
if args[:1] == ['-c']:
    uri, args = args[1], args[2:]
if len(args) != 3 or args[0] != 'qemu-monitor-command':
    sys.stderr.write('stand-in virsh: only qemu-monitor-command DOMAIN JSON\\n')
    sys.exit(2)
with open(os.environ['FAKE_VIRSH_DOMAINS']) as f:
    domains = json.load(f)
# A domain of a given connection: "URI/NAME"; of any: "NAME".
sock = domains.get(uri + '/' + args[1], domains.get(args[1]))
if sock is None:
    sys.stderr.write("error: failed to get domain '%%s'\\n" %% args[1])
    sys.exit(1)
msg = json.loads(args[2])
qmp = QMPClient(sock, wait=10)
resp = qmp.cmd_raw(msg['execute'], msg.get('arguments'))
qmp.close()
resp.pop('id', None)
resp['id'] = 'libvirt-%%d' %% os.getpid()
print(json.dumps(resp, separators=(',', ':')) + '\\n')
'''


def fake_virsh(tmp_path, domains):
    """A stand-in virsh on PATH for domains {name: QMP socket}."""
    bindir = tmp_path / 'bin'
    bindir.mkdir(exist_ok=True)
    virsh = bindir / 'virsh'
    virsh.write_text(FAKE_VIRSH % {
        'python': sys.executable,
        'qmp_dir': os.path.join(ROOT, 'scripts', 'qmp')})
    virsh.chmod(virsh.stat().st_mode | stat.S_IXUSR)
    table = tmp_path / 'domains.json'
    table.write_text(json.dumps(domains))
    env = dict(os.environ, FAKE_VIRSH_DOMAINS=str(table),
               PATH='%s:%s' % (bindir, os.environ.get('PATH', '')))
    return env


def run_script(env, *args):
    return subprocess.run([sys.executable, SCRIPT, '-c', 'qemu:///system']
                          + list(args), capture_output=True, text=True,
                          timeout=60, env=env)


def test_secondary_failover_then_reprotect(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    env = fake_virsh(tmp_path, {'colo-b': sock})
    ports = free_ports(4)
    with Vm(tmp_path, secondary_args(tmp_path, sock, 'hostnet0'),
            accel='qtest'):
        qmp = own_qmp(tmp_path)
        assert filters(qmp) == ['f1', 'f2', 'rew0']
        r = run_script(env, 'failover', 'secondary', 'colo-b')
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'colo-libvirt: failover done' in r.stdout
        assert 'COLO is not active' in r.stdout      # no COLO run here
        assert filters(qmp) == ['rew0']
        assert not ({'red0', 'red1'} & chardevs(qmp))
        r = run_script(env, 'reprotect', 'colo-b', '--host', '127.0.0.1',
                       '--ports', ','.join(map(str, ports)),
                       '--rewriter', 'rew0')
        assert r.returncode == 0, r.stdout + r.stderr
        # On libvirt's netdev, before the rewriter.
        assert filters(qmp) == ['m0', 'redire0', 'redire1', 'rew0']
        info = qmp.hmp('info network')
        m0 = [l for l in info.splitlines() if l.startswith('  - m0:')]
        assert m0 and 'netdev=hostnet0' in m0[0], info
        assert [c['id'] for c in
                qmp.cmd('query-colo-stats')['compare']] == ['comp0']
        qmp.close()


def test_primary_failover_and_status(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    env = fake_virsh(tmp_path, {'colo-a': sock})
    with Vm(tmp_path, primary_args(tmp_path, sock, 'hostnet0'),
            accel='qtest'):
        qmp = own_qmp(tmp_path)
        r = run_script(env, 'status', 'colo-a')
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'colo-a: colo mode none' in r.stdout, r.stdout
        r = run_script(env, 'failover', 'primary', 'colo-a')
        assert r.returncode == 0, r.stdout + r.stderr
        assert filters(qmp) == []
        assert 'compare' not in qmp.cmd('query-colo-stats')
        qmp.close()


def test_protect_stops_at_the_refused_migrate(tmp_path):
    """Both sides get x-colo, the primary its delay; the migrate is
    refused (no guest under -accel qtest) and the script stops there."""
    a, b = tmp_path / 'a', tmp_path / 'b'
    a.mkdir()
    b.mkdir()
    sa, sb = str(a / 'qmp.sock'), str(b / 'qmp.sock')
    # Two hosts' libvirts: each domain only on its own connection.
    env = fake_virsh(tmp_path, {'qemu:///system/colo-a': sa,
                                'qemu+ssh://hostb/system/colo-b': sb})
    with Vm(a, primary_args(a, sa, 'hostnet0'), accel='qtest', name='pvm'), \
            Vm(b, secondary_args(b, sb, 'hostnet0'), accel='qtest',
               name='svm'):
        r = run_script(env, 'protect', 'colo-a', 'colo-b', '--uri',
                       'tcp:127.0.0.1:9998', '--delay', '200')
        assert r.returncode == 1
        assert "failed to get domain 'colo-b'" in r.stderr, r.stderr
        r = run_script(env, 'protect', 'colo-a', 'colo-b', '--uri',
                       'tcp:127.0.0.1:9998', '--delay', '200',
                       '--secondary-connect', 'qemu+ssh://hostb/system')
        assert r.returncode == 1, r.stdout + r.stderr
        assert 'stopped at primary: migrate tcp:127.0.0.1:9998' in r.stderr
        assert 'Migration is not supported' in r.stderr
        for d in (a, b):
            qmp = own_qmp(d)
            caps = {c['capability']: c['state']
                    for c in qmp.cmd('query-migrate-capabilities')}
            assert caps['x-colo'] is True
            if d == a:
                assert qmp.cmd('query-migrate-parameters')[
                    'x-checkpoint-delay'] == 200
            qmp.close()


def test_virsh_errors_are_reported(tmp_path):
    env = fake_virsh(tmp_path, {})
    r = run_script(env, 'failover', 'secondary', 'no-such-domain')
    assert r.returncode == 1
    assert "failed to get domain 'no-such-domain'" in r.stderr, r.stderr
    # No virsh at all: said so.
    r = subprocess.run([sys.executable, SCRIPT, '--virsh',
                        str(tmp_path / 'nothing-here'), 'status', 'x'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert 'not found' in r.stderr, r.stderr
    r = run_script(env, 'reprotect', 'x', '--host', 'h', '--ports', '1,2')
    assert r.returncode == 2
    assert '--ports wants four port numbers' in r.stderr
