# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot the built-in test guest under Tandem: console output, vCPUs,
debug-exit status, the dirty workload, both dirty-tracking modes."""
import re

from tandem import DEBUG_EXIT, GUEST, Vm, count_lines, needs_kvm, run

pytestmark = needs_kvm


def test_count_lines_appear_and_grow(tmp_path):
    with Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=6 ')
        counts = count_lines(vm.serial())
        assert counts[:6] == [1, 2, 3, 4, 5, 6]
        # Whole lines only: the file may end in the middle of one.
        counters = [int(x) for x in re.findall(r'counter=(\d+)\r?\n',
                                               vm.serial())]
        assert all(b > a for a, b in zip(counters, counters[1:])), counters


def test_debug_exit_code_becomes_exit_status(tmp_path):
    with Vm(tmp_path, ['-m', '128', '-kernel', GUEST, *DEBUG_EXIT,
                       '-append', 'workload=count exit-after=2 exit=5']) as vm:
        assert vm.wait_exit(30) == (5 << 1) | 1
        assert 'TG exit code=5' in vm.serial()
        # Output written before the exit is not lost.
        assert count_lines(vm.serial()) == [1, 2]


def test_debug_exit_zero_is_status_one(tmp_path):
    with Vm(tmp_path, ['-kernel', GUEST, *DEBUG_EXIT,
                       '-append', 'workload=idle exit-after=1 exit=0']) as vm:
        assert vm.wait_exit(30) == 1


def test_debug_exit_default_port_is_not_0xf4(tmp_path):
    """Without iobase= the device sits at QEMU's 0x501, so the guest's write
    to 0xf4 goes nowhere and the guest keeps running."""
    with Vm(tmp_path, ['-kernel', GUEST, '-device', 'isa-debug-exit',
                       '-append', 'workload=count exit-after=1 exit=5']) as vm:
        vm.wait_for(r'^TG exit code=5')
        assert vm.proc.poll() is None


def test_smp2_runs_both_vcpus(tmp_path):
    with Vm(tmp_path, ['-m', '256', '-smp', '2', '-kernel', GUEST,
                       '-append', 'workload=count smp']) as vm:
        vm.wait_for(r'^TG cpus=2$')
        vm.wait_for(r'^TG count=2 ')


def test_smp1_guest_sees_one_cpu(tmp_path):
    with Vm(tmp_path, ['-kernel', GUEST, '-append', 'workload=count smp']) as vm:
        vm.wait_for(r'^TG cpus=1$')


def test_dirty_workload_verifies_in_guest_memory(tmp_path):
    """The guest checks, before rewriting each page, that it still holds the
    previous pass and its own index: errors=0 after several passes means
    every page of the 64 MiB working set kept exactly what was written."""
    with Vm(tmp_path, ['-m', '256', '-kernel', GUEST,
                       '-append', 'workload=dirty wss=64M']) as vm:
        m = vm.wait_for(r'^TG pass=3 errors=(\d+)', timeout=60)
        assert m.group(1) == '0'


def test_dirty_workload_too_big_for_ram(tmp_path):
    with Vm(tmp_path, ['-m', '64', '-kernel', GUEST, *DEBUG_EXIT,
                       '-append', 'workload=dirty wss=1G']) as vm:
        assert vm.wait_exit(30) == (2 << 1) | 1
        assert 'exceeds RAM' in vm.serial()


def test_dirty_ring_mode_boots(tmp_path):
    with Vm(tmp_path, ['-accel', 'kvm,dirty-ring-size=4096', '-m', '256',
                       '-kernel', GUEST, '-append', 'workload=dirty wss=16M']) as vm:
        m = vm.wait_for(r'^TG pass=2 errors=(\d+)', timeout=60)
        assert m.group(1) == '0'


def test_guest_fault_is_reported(tmp_path):
    with Vm(tmp_path, ['-kernel', GUEST, *DEBUG_EXIT, '-append', 'workload=fault']) as vm:
        assert vm.wait_exit(30) == (3 << 1) | 1
        assert re.search(r'^TG FAULT vec=14 ', vm.serial(), re.M)


def test_pit_calibration_works(tmp_path):
    """Port 0x61 (PIT channel 2 output) is emulated: the guest calibrates its
    TSC against the PIT instead of falling back to a guess."""
    with Vm(tmp_path, ['-kernel', GUEST, '-append', 'workload=idle']) as vm:
        vm.wait_for(r'^TG tsc_khz=\d+ src=pit$')


def test_sigterm_exits_cleanly(tmp_path):
    with Vm(tmp_path, ['-kernel', GUEST, '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')
        assert vm.terminate() == 0
        assert 'terminating on signal 15' in vm.stderr()


def test_serial_on_stdio_with_nographic():
    p = run(['-accel', 'kvm', '-nographic', '-kernel', GUEST, *DEBUG_EXIT,
             '-append', 'workload=count exit-after=3 exit=0'], timeout=30)
    assert p.returncode == 1, p.stderr
    assert count_lines(p.stdout) == [1, 2, 3]


def test_start_paused_runs_nothing(tmp_path):
    """-S creates the VM but never starts the vCPUs (cont arrives with QMP)."""
    import time
    with Vm(tmp_path, ['-S', '-kernel', GUEST, '-append', 'workload=count']) as vm:
        time.sleep(2)
        assert vm.proc.poll() is None
        assert vm.serial() == ''
