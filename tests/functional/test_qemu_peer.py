# SPDX-License-Identifier: GPL-2.0-or-later
"""The built-in guest is a plain multiboot image: Debian's QEMU boots it with
-kernel and prints the same lines. That is how we compare with QEMU, so it
stays tested. (QEMU first runs SeaBIOS, which is emulated on this host and
takes several seconds.)"""
import os

import pytest

from tandem import DEBUG_EXIT, GUEST, QEMU, Vm, count_lines, needs_kvm

pytestmark = [needs_kvm,
              pytest.mark.skipif(not os.path.exists(QEMU),
                                 reason='qemu-system-x86 not installed')]


def test_qemu_prints_count_lines(tmp_path):
    with Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-append', 'workload=count'],
            binary=QEMU) as vm:
        vm.wait_for(r'^TG count=3 ', timeout=300)
        assert count_lines(vm.serial())[:3] == [1, 2, 3]


def test_qemu_smp2_and_debug_exit(tmp_path):
    with Vm(tmp_path, ['-m', '256', '-smp', '2', '-kernel', GUEST, *DEBUG_EXIT,
                       '-append', 'workload=count smp exit-after=2 exit=4'],
            binary=QEMU) as vm:
        assert vm.wait_exit(300) == (4 << 1) | 1
        assert 'TG cpus=2' in vm.lines()


def test_same_lines_as_tandem(tmp_path):
    """Line for line, both VMMs show the same boot banner and workload lines
    (the counter values and TSC figures differ, so compare their shapes)."""
    args = ['-m', '128', '-kernel', GUEST, *DEBUG_EXIT,
            '-append', 'workload=dirty wss=8M exit-after=2 exit=0']
    shapes = []
    for name, binary in (('qemu', QEMU), ('tandem', None)):
        kw = {'binary': binary} if binary else {}
        with Vm(tmp_path, args, name=name, **kw) as vm:
            assert vm.wait_exit(300) == 1
            assert any(line.startswith('TG ') for line in vm.lines()), name
            shapes.append([line.split('=')[0] + ('' if 'tsc' in line else line)
                           for line in vm.lines()])
    assert shapes[0] == shapes[1]
