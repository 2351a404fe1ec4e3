# SPDX-License-Identifier: GPL-2.0-or-later
"""The built-in guest's disk workloads on Tandem's virtio-blk-pci (KVM
only): workload=disk survives SIGKILL of the VMM on raw and on qcow2
with two queues (the host checks the image with tests/guest/verify_disk.py,
qemu-img check the qcow2), the next boot continues, workload=iops prints
figures, and a disk that fills up with werror=stop pauses the guest
(BLOCK_IO_ERROR, io-error) until space is freed and cont resumes it, with
every acknowledged record on disk. The same checks on Debian's QEMU are in
test_guest_disk_qemu.py, whose helpers these reuse."""
import os
import re
import subprocess
import tempfile
import time

import pytest

from tandem import DEBUG_EXIT, GUEST, QmpVm, guest_disk, needs_kvm, verify_disk_image
from test_guest_disk_qemu import acked_lines_from, make_image, run_disk_until_killed

pytestmark = needs_kvm

BOOT_TIMEOUT = 30


class DiskVm(QmpVm):
    """Tandem on the test guest with a disk, and a QMP socket."""

    def __init__(self, tmp_path, append, extra, name):
        super().__init__(tmp_path, ['-m', '256', '-kernel', GUEST, '-no-reboot',
                                    '-append', append] + list(extra), name=name)


def run_disk(tmp_path, image, append, **kw):
    return run_disk_until_killed(tmp_path, image, append, guest=DiskVm, **kw)


def test_disk_survives_sigkill_and_continues(tmp_path):
    image = make_image(tmp_path / 'd.img')
    text, acked = run_disk(tmp_path, image, 'flush-every=32 qd=8', name='first')
    assert re.search(r'^TG disk virtio-blk pci=\S+ id=0x1042 sectors=32768 blk_size=512 '
                     r'queues=1 qsize=256 flush=yes', text, re.M), text
    assert acked > 0
    ok, msg = verify_disk_image(image, acked)
    assert ok, msg
    with DiskVm(tmp_path, 'workload=disk flush-every=32', guest_disk(image), 'second') as vm:
        m = vm.wait_for(r'^TG disk verified slots=2048 acked=(\d+) next=(\d+) bad=0 boot=2$',
                        timeout=BOOT_TIMEOUT)
        assert int(m.group(1)) >= acked
        vm.wait_for(r'^TG disk acked=(\d+) ', timeout=20)
        assert 'TG disk bad' not in vm.serial()


def test_disk_rand_qcow2_two_queues(tmp_path):
    image = make_image(tmp_path / 'd.qcow2', 'qcow2')
    text, acked = run_disk(tmp_path, image, 'pattern=rand qd=32 flush-every=16',
                           fmt='qcow2', device_opts=',num-queues=2')
    assert re.search(r'^TG disk virtio-blk .* queues=2 ', text, re.M), text
    ok, msg = verify_disk_image(image, acked)
    assert ok and 'pattern=rand' in msg, msg
    check = subprocess.run(['qemu-img', 'check', image], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_iops_prints_figures(tmp_path):
    image = make_image(tmp_path / 'd.img', size='64M')
    with DiskVm(tmp_path, 'workload=iops qd=8 rw=randrw exit-after=3 exit=0',
                guest_disk(image, 'raw', '') + DEBUG_EXIT, 'iops') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == 1
        text = '\n'.join(vm.lines())
    rows = re.findall(r'^TG iops read=(\d+) .* write=(\d+) .* errors=0$', text, re.M)
    assert len(rows) == 3, text
    assert all(int(r) > 0 and int(w) > 0 for r, w in rows[1:]), rows


@pytest.mark.skipif(os.geteuid() != 0, reason='mounting a small tmpfs needs root')
def test_full_disk_stops_and_cont_resumes(tmp_path):
    """werror=stop on a 2 MiB tmpfs: the disk fills, the guest pauses in
    io-error with BLOCK_IO_ERROR (nospace), and after the filler is
    deleted cont resumes it; every record acknowledged is on the image.
    discard=unmap lets the guest's format zero its record area by punching
    holes: with QEMU's default (discard=ignore) the zeroes themselves would
    fill the tmpfs before the first record. disk-size=2M gives a record
    area of 1 MiB: more than the 512 KiB left beside the filler, less
    than the whole tmpfs once the filler is gone."""
    mnt = tempfile.mkdtemp(prefix='tandem-full-')
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], check=True)
    try:
        image = os.path.join(mnt, 'd.img')
        subprocess.run(['truncate', '-s', '16M', image], check=True)
        filler = os.path.join(mnt, 'filler')
        subprocess.run(['dd', 'if=/dev/zero', 'of=' + filler, 'bs=64k', 'count=24'],
                       check=True, capture_output=True)
        with DiskVm(tmp_path, 'workload=disk flush-every=8 qd=4 disk-size=2097152',
                    guest_disk(image, 'raw', ',werror=stop', drive_opts=',discard=unmap'), 'full') as vm:
            ev = vm.qmp.wait_event('BLOCK_IO_ERROR', timeout=60)
            assert ev.data['device'] == 'd0' and ev.data['operation'] == 'write'
            assert ev.data['action'] == 'stop' and ev.data['nospace'] is True
            vm.qmp.wait_event('STOP', timeout=10)
            assert vm.qmp.cmd('query-status')['status'] == 'io-error'
            os.unlink(filler)
            vm.qmp.cmd('cont')
            assert vm.qmp.cmd('query-status')['status'] == 'running'
            n = len(acked_lines_from(vm.serial()))
            deadline = time.monotonic() + 30
            while len(acked_lines_from(vm.serial())) < n + 2:
                assert 'TG disk stopped' not in vm.serial(), vm.serial()
                assert time.monotonic() < deadline, vm.serial()
                time.sleep(0.1)
            vm.kill()
            text = '\n'.join(vm.lines())
        ok, msg = verify_disk_image(image, acked_lines_from(text)[-1])
        assert ok, msg
    finally:
        subprocess.run(['umount', '-l', mnt], check=False)
        os.rmdir(mnt)
