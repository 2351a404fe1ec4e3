# SPDX-License-Identifier: GPL-2.0-or-later
"""Live migration without shared storage, as libvirt's
--copy-storage-all does it (KVM only; the mirror half alone runs without
KVM in tests/qtest/test-block-mirror.c): the destination, started with -S
and -incoming, exports its empty disk over NBD; the source mirrors its
disk into the export (blockdev-mirror) while the guest's workload=disk
writes, and once the mirror is ready migrates; on the paused source the
ready mirror is cancelled, which copies the last writes and ends it as
completed; the destination stops its NBD server and is resumed (cont).
The guest keeps writing and verifying its records there, and at the end
every record the destination's guest acknowledged is on the
destination's image (tests/guest/verify_disk.py)."""
import os
import time

from tandem import guest_disk, needs_kvm, verify_disk_image
from test_guest_disk import DiskVm
from test_guest_disk_qemu import acked_lines_from, make_image

pytestmark = needs_kvm

APPEND = 'workload=disk flush-every=16 qd=8'


def wait_acked(vm, more, timeout=60):
    """Waits for `more` new "TG disk acked=" lines on vm's serial."""
    start = len(acked_lines_from(vm.serial()))
    deadline = time.monotonic() + timeout
    while len(acked_lines_from(vm.serial())) < start + more:
        assert 'TG disk bad' not in vm.serial(), vm.serial()[-2000:]
        assert time.monotonic() < deadline, vm.serial()[-2000:]
        time.sleep(0.1)


def wait_migration(vm, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        info = vm.qmp.cmd('query-migrate')
        if info.get('status') in ('completed', 'failed', 'cancelled'):
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.05)


def test_copy_storage_all(tmp_path):
    src_img = make_image(tmp_path / 'src.img')
    dst_img = make_image(tmp_path / 'dst.img')
    sock = os.path.join(str(tmp_path), 'nbd.sock')
    with DiskVm(tmp_path, APPEND, guest_disk(src_img), 'src') as src, \
         DiskVm(tmp_path, APPEND, ['-S', '-incoming', 'tcp:127.0.0.1:0'] +
                guest_disk(dst_img), 'dst') as dst:
        src.wait_for(r'^TG disk verified ', timeout=30)
        wait_acked(src, 1)

        # Destination: its disk exported, writable.
        dst.qmp.cmd('nbd-server-start',
                    addr={'type': 'unix', 'data': {'path': sock}})
        dst.qmp.cmd('nbd-server-add', device='d0', writable=True)
        port = dst.qmp.cmd('query-migrate')['socket-address'][0]['port']

        # Source: mirror into it while the guest writes.
        src.qmp.cmd('blockdev-add', {'driver': 'nbd', 'node-name': 'mig-d0',
                                     'server': {'type': 'unix', 'path': sock},
                                     'export': 'd0'})
        src.qmp.cmd('blockdev-mirror', {'job-id': 'mig-d0', 'device': 'd0',
                                        'target': 'mig-d0', 'sync': 'full'})
        src.qmp.wait_event('BLOCK_JOB_READY', timeout=60)
        wait_acked(src, 1)

        src.qmp.cmd('migrate', uri='tcp:127.0.0.1:%s' % port)
        info = wait_migration(src)
        assert info['status'] == 'completed', info
        assert src.qmp.cmd('query-status')['status'] == 'postmigrate'
        jobs = src.qmp.cmd('query-block-jobs')
        assert [j['status'] for j in jobs] == ['ready'], jobs

        # The source is paused: the cancel copies the last writes.
        src.qmp.cmd('block-job-cancel', device='mig-d0')
        ev = src.qmp.wait_event('BLOCK_JOB_COMPLETED', timeout=60)
        assert 'error' not in ev.data, ev.data
        assert src.qmp.cmd('query-block-jobs') == []

        dst.qmp.cmd('nbd-server-stop')
        dst.qmp.cmd('cont')
        assert dst.qmp.cmd('query-status')['status'] == 'running'
        wait_acked(dst, 2)
        src.kill()
        dst.kill()
        text = dst.serial()
    assert 'TG disk bad' not in text, text[-2000:]
    acked = acked_lines_from(text)
    assert acked, text[-2000:]
    ok, msg = verify_disk_image(dst_img, acked[-1])
    assert ok, msg
