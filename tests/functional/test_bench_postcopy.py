# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/postcopy without running a migration: on a host without KVM it
says that the Tandem half is skipped and why (and still exits 0), it
refuses sizes that do not fit, and it picks the guest's figures for the
table from the destination's touch lines as bench/README.md says."""
import importlib.machinery
import importlib.util
import os
import subprocess

import pytest

from tandem import BUILD, ROOT, kvm_unusable_reason

BENCH = os.path.join(ROOT, 'bench', 'postcopy')


def run_bench(*args):
    return subprocess.run(['/usr/bin/python3', BENCH, BUILD] + list(args), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def load_bench():
    loader = importlib.machinery.SourceFileLoader('bench_postcopy', BENCH)
    spec = importlib.util.spec_from_loader('bench_postcopy', loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not kvm_unusable_reason(), reason='KVM usable: the Tandem half would run')
def test_tandem_half_skipped_without_kvm():
    r = run_bench('--quick', '--no-qemu')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'Tandem half SKIPPED: Tandem runs guests only with KVM and /dev/kvm ' in r.stdout, \
        r.stdout
    assert 'QEMU half skipped: --no-qemu' in r.stdout, r.stdout
    assert 'nothing ran' in r.stdout, r.stdout


@pytest.mark.parametrize('args,want', [
    (['--wss', '1G'], 'wss + bg-dirty + 16M (the guest below its working set) exceed mem'),
    (['--mem', '1T'], "bad size '1T'"),
    (['--modes', 'precopy'], 'unknown mode(s) precopy'),
])
def test_bad_arguments_refused(args, want):
    r = run_bench(*args)
    assert r.returncode == 2 and want in r.stderr, r.stdout + r.stderr


def line(sec, acc, p50, p99, mx):
    return ('TG touch sec=%d accesses=%d writes=%d p50=%.3fus p99=%.3fus max=%.3fus '
            'pages=131072 errors=0 bg_passes=%d bg_errors=0\r\n' % (sec, acc, acc // 2, p50, p99,
                                                                     mx, sec))


def test_guest_figures_are_the_worst_second():
    bench = load_bench()
    dst = line(7, 90000, 0.2, 3.0, 900.0) + line(8, 40, 20.5, 45000.0, 52000.0) + \
        line(9, 300000, 0.1, 0.6, 31000.0)
    g = bench.guest_figures(dst)
    assert (g['g_lines'], g['g_p50'], g['g_p99'], g['g_max'], g['g_accesses']) == \
        (3, 20.5, 45000.0, 52000.0, 390040), g
    assert bench.guest_figures('TG touch wss=1 pages=1 write-pct=50 bg-dirty=0\r\n') == {}
    base = bench.baseline(bench.touch_lines(line(1, 5, 0.1, 0.5, 9.0) + line(2, 5, 0.3, 0.9, 9.0)))
    assert base == {'base_p50': 0.3, 'base_p99': 0.9}, base
