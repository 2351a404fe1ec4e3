# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/colo-net end to end in a quick mode, so that the benchmark cannot
rot unseen: QEMU's unprotected run gives every figure, and its COLO run
either gives checkpoints or says plainly that QEMU's COLO hung (what it
does under TCG), within the bound and without hanging the benchmark.
Without KVM the Tandem half must say that it was skipped and why, and its
command lines must still be accepted under -accel qtest; with KVM it runs
and must give figures and checkpoints too. Needs root (a network
namespace), Debian's QEMU, wrk, redis-benchmark and curl (about 1-2 min
under TCG)."""
import json
import os
import subprocess

import pytest

from tandem import BUILD, QEMU, ROOT, kvm_unusable_reason, needs_tool

BENCH = os.path.join(ROOT, 'bench', 'colo-net')
COLO_TIMEOUT = 20

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='network namespaces need root'),
    pytest.mark.skipif(not os.path.exists('/dev/net/tun'), reason='/dev/net/tun is missing'),
    pytest.mark.skipif(not os.access(QEMU, os.X_OK), reason=QEMU + ' not installed'),
    needs_tool('wrk', 'wrk'), needs_tool('redis-benchmark', 'redis-tools'),
    needs_tool('curl', 'curl')]

FIGURES = ('wrk_rps', 'wrk_p50_ms', 'wrk_p99_ms', 'set_rps', 'get_rps', 'bulk_mbps')


def test_quick_run(tmp_path):
    out = str(tmp_path / 'colo-net.json')
    p = subprocess.run(
        ['/usr/bin/python3', BENCH, BUILD, '--quick', '--modes', 'unprotected,colo-100',
         '--seconds', '2', '--requests', '2000', '--bulk-mib', '2',
         '--colo-timeout', str(COLO_TIMEOUT), '--json', out],
        capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    text = p.stdout + p.stderr
    assert p.returncode == 0, text
    assert 'aim (Tandem)' in p.stdout, text
    with open(out) as f:
        results = {(r['vmm'], r['mode']): r for r in json.load(f)['results']}

    q = results[('qemu', 'unprotected')]
    assert q['status'] == 'ok' and not q['notes'], q
    assert all(q[k] > 0 for k in FIGURES), q
    # Under TCG QEMU's COLO hangs, before its first checkpoint or after a
    # few: the bench must say which, and go on.
    q = results[('qemu', 'colo-100')]
    if q['status'] == 'hung':
        assert q['notes'][0].startswith((
            'QEMU COLO did not complete a checkpoint in %d s (hung)' % COLO_TIMEOUT,
            'QEMU COLO hung after ')), q
    else:
        assert q['status'] == 'ok' and q['checkpoints'] >= 1, q

    if kvm_unusable_reason():
        assert 'Tandem: SKIPPED: Tandem runs guests only with KVM' in p.stdout, text
        assert 'are accepted under -accel qtest' in p.stdout, text
        assert not any(vmm == 'tandem' for vmm, _ in results), results
    else:
        for mode in ('unprotected', 'colo-100'):
            t = results[('tandem', mode)]
            assert t['status'] == 'ok' and all(t[k] > 0 for k in FIGURES), t
        t = results[('tandem', 'colo-100')]
        assert t['checkpoints'] >= 1 and t['compare_matched'] > 0, t
