# SPDX-License-Identifier: GPL-2.0-or-later
"""`make run`'s network demo (scripts/colo-demo.py --net, issue 14 item 8).

Here without KVM: the demo's namespace, bridge and taps, and QEMU's COLO
recipe exactly as the demo gives it to both VMMs, started in that
namespace under -accel qtest (no vCPU runs): the primary waits for the
secondary's redirector before serving QMP, colo-compare is there, the
bridge port moves and the secondary's failover runbook runs. With KVM:
the whole demo, the primary killed under a writing client."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tandem import BUILD, GUEST, ROOT, TANDEM, needs_kvm

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import colo_demo_net as demonet  # noqa: E402

DEMO = os.path.join(ROOT, 'scripts', 'colo-demo.py')
needs_netns = pytest.mark.skipif(demonet.unusable_reason() is not None,
                                 reason=str(demonet.unusable_reason()))


def load_demo():
    spec = importlib.util.spec_from_file_location('colo_demo', DEMO)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bridge_ports(net):
    out = subprocess.run(net.prefix() + ['ip', '-o', 'link', 'show', 'master', 'br0'],
                         capture_output=True, text=True, check=True).stdout
    return sorted(re.findall(r'^\d+: ([^:@]+)', out, re.M))


@needs_netns
def test_recipe_in_the_demo_namespace(tmp_path):
    demo = load_demo()
    net = demonet.DemoNetwork()
    vms = []
    try:
        assert bridge_ports(net) == [demonet.PRIMARY_TAP]
        pri = demo.Vmm(TANDEM, GUEST, str(tmp_path), 'primary', 64, demonet.primary_args(),
                       append=demonet.GUEST_APPEND, prefix=net.prefix(), accel='qtest')
        # -accel qtest takes no migration but waits for one with defer.
        sec_args = demonet.secondary_args()
        assert sec_args[-2:] == ['-incoming', 'tcp:127.0.0.1:%d' % demonet.MIGRATE_PORT]
        sec = demo.Vmm(TANDEM, GUEST, str(tmp_path), 'secondary', 64,
                       sec_args[:-1] + ['defer'], append=demonet.GUEST_APPEND,
                       prefix=net.prefix(), accel='qtest')
        vms = [pri, sec]
        pri.launch()
        sec.start()
        pri.connect()
        assert sec.q('query-status')['status'] == 'inmigrate'
        stats = pri.q('query-colo-stats')
        assert [c['id'] for c in stats['compare']] == ['comp0'], stats
        assert demonet.compare_figures(stats).startswith('compare: 0 matched 0 mismatched'), stats
        # Both NICs on their taps, with the one MAC the guest keeps.
        for vm, tap in ((pri, demonet.PRIMARY_TAP), (sec, demonet.SECONDARY_TAP)):
            info = vm.q('human-monitor-command', **{'command-line': 'info network'})
            assert 'ifname=%s' % tap in info and demonet.GUEST_MAC in info, info

        net.move_service_to_secondary()
        assert bridge_ports(net) == [demonet.SECONDARY_TAP]
        # The runbook the demo runs at the takeover: without a COLO run the
        # heartbeat step is reported, the redirectors and chardevs go.
        runbooks = demo.load_failover_runbooks()
        runbooks.secondary(sec.qmp, runbooks.SECONDARY_OBJECTS,
                           runbooks.SECONDARY_CHARDEVS, announce=True)
        ids = {o['name'] for o in sec.q('qom-list', path='/objects')}
        assert 'rew0' in ids and not ids & {'f1', 'f2'}, ids
        chardevs = {c['label'] for c in sec.q('query-chardev')}
        assert not chardevs & {'red0', 'red1'}, chardevs
    finally:
        for vm in vms:
            vm.kill()
        net.close()
    gone = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True).stdout
    assert net.name not in gone


def test_net_demo_says_why_it_cannot_run_without_root_or_kvm():
    """Without KVM (or as a user) the demo stops before starting anything,
    saying why."""
    env = dict(os.environ)
    p = subprocess.run([sys.executable, DEMO, BUILD, '--net'], capture_output=True,
                       text=True, timeout=60, env=env)
    if os.access('/dev/kvm', os.R_OK | os.W_OK) and demonet.unusable_reason() is None:
        pytest.skip('KVM and namespaces are usable here: test_net_demo runs the demo')
    assert p.returncode == 1
    assert ('/dev/kvm is not usable' in p.stderr or
            demonet.unusable_reason() in p.stdout), p.stdout + p.stderr


@needs_kvm
@needs_netns
def test_net_demo():
    p = subprocess.run([sys.executable, DEMO, BUILD, '--net', '--before', '6', '--after', '4'],
                       capture_output=True, text=True, timeout=240)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    assert 'COLO is up' in out and 'kill -9 the primary' in out, out
    assert re.search(r'^client: verify acked=\d+ keys=\d+ ok$', out, re.M), out
    assert 'every acknowledged SET read back from the secondary' in out, out
    assert re.search(r'checkpoints \(\d+ by compare\) \| compare: [1-9]\d* matched', out), out
