# SPDX-License-Identifier: GPL-2.0-or-later
"""The built-in guest's virtio-blk driver and disk workloads on Debian's
QEMU with TCG (no KVM needed; the same ELF is what Tandem's virtio-blk
will be tested with): workload=disk survives SIGKILL of the VMM (the host
verifies the image, the next boot verifies and continues), workload=iops
prints figures, serve persist=on keeps redis SETs across a kill, and a
failing or too small device is reported on serial, not a guest crash."""
import os
import re
import socket
import subprocess
import time

import pytest

from tandem import (DEBUG_EXIT, GUEST, QEMU, Vm, free_port, guest_disk, needs_tool,
                    verify_disk_image)

pytestmark = pytest.mark.skipif(not os.path.exists(QEMU), reason='qemu-system-x86 not installed')

BOOT_TIMEOUT = 60           # SeaBIOS and the guest under TCG on a busy host
BLOCK = 4096


def qemu_guest(tmp_path, append, extra, name):
    return Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-no-reboot', '-append', append] +
              list(extra), binary=QEMU, accel='tcg', name=name)


def make_image(path, fmt='raw', size='16M'):
    subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, str(path), size], check=True)
    return str(path)


def acked_lines(vm):
    text = '\n'.join(vm.lines())
    return [int(x) for x in re.findall(r'^TG disk acked=(\d+) ', text, re.M)]


def run_disk_until_killed(tmp_path, image, append, extra=(), fmt='raw', name='disk',
                          device_opts='', lines=2, guest=qemu_guest):
    """Boots workload=disk on image, waits for `lines` figures lines, kills
    the VMM with SIGKILL; returns (serial text, last acked figure printed).
    guest(tmp_path, append, extra, name) makes the Vm (QEMU here; Tandem
    in test_guest_disk.py)."""
    with guest(tmp_path, 'workload=disk ' + append,
               guest_disk(image, fmt, device_opts) + list(extra), name) as vm:
        vm.wait_for(r'^TG disk verified ', timeout=BOOT_TIMEOUT)
        deadline = time.monotonic() + 30
        while len(acked_lines(vm)) < lines:
            assert vm.proc.poll() is None and 'TG disk stopped' not in vm.serial(), vm.serial()
            assert time.monotonic() < deadline, vm.serial()
            time.sleep(0.1)
        vm.kill()                   # SIGKILL: no chance to flush anything
        text = '\n'.join(vm.lines())
    assert 'TG FAULT' not in text and 'TG disk stopped' not in text, text
    return text, acked_lines_from(text)[-1]


def acked_lines_from(text):
    return [int(x) for x in re.findall(r'^TG disk acked=(\d+) ', text, re.M)]


def test_disk_survives_sigkill_and_continues(tmp_path):
    image = make_image(tmp_path / 'd.img')
    text, acked = run_disk_until_killed(tmp_path, image, 'flush-every=32 qd=8', name='first')
    assert re.search(r'^TG disk virtio-blk pci=\S+ id=0x10(01|42) sectors=32768 blk_size=512 '
                     r'queues=\d+ qsize=\d+ flush=yes', text, re.M), text
    assert re.search(r'^TG disk format id=0x[0-9a-f]+ slots=2048 pattern=seq boot=0 acked=0',
                     text, re.M), text
    assert acked > 0
    ok, msg = verify_disk_image(image, acked)
    assert ok, msg

    # The next boot checks every slot against what was acknowledged, then
    # continues numbering right after it.
    with qemu_guest(tmp_path, 'workload=disk flush-every=32', guest_disk(image),
                    'second') as vm:
        m = vm.wait_for(r'^TG disk found id=\S+ slots=2048 pattern=seq boot=1 acked=(\d+)$',
                        timeout=BOOT_TIMEOUT)
        sb_acked = int(m.group(1))
        assert sb_acked >= acked
        m = vm.wait_for(r'^TG disk verified slots=2048 acked=(\d+) next=(\d+) bad=0 boot=2$',
                        timeout=30)
        assert int(m.group(2)) > sb_acked
        vm.wait_for(r'^TG disk acked=(\d+) ', timeout=20)
        assert acked_lines(vm)[0] > sb_acked
        assert 'TG disk bad' not in vm.serial()


def test_disk_rand_qcow2_two_queues(tmp_path):
    image = make_image(tmp_path / 'd.qcow2', 'qcow2')
    text, acked = run_disk_until_killed(tmp_path, image, 'pattern=rand qd=32 flush-every=16',
                                        fmt='qcow2', device_opts=',num-queues=2')
    assert re.search(r'^TG disk virtio-blk .* queues=2 ', text, re.M), text
    ok, msg = verify_disk_image(image, acked)
    assert ok and 'pattern=rand' in msg, msg
    check = subprocess.run(['qemu-img', 'check', image], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def corrupt_record(image, slot):
    with open(image, 'r+b') as f:
        f.seek((1 + slot) * BLOCK + 1000)
        b = f.read(1)
        f.seek((1 + slot) * BLOCK + 1000)
        f.write(bytes([b[0] ^ 0xff]))


def test_lost_record_is_caught_by_host_and_guest(tmp_path):
    """A flipped byte in an acknowledged record: the host verifier and the
    next boot's check both name the slot; the guest stops its disk work
    with a line, it does not crash or carry on."""
    image = make_image(tmp_path / 'd.img', size='1M')     # 128 slots
    text, acked = run_disk_until_killed(tmp_path, image, 'flush-every=8', lines=1)
    assert acked > 255, text                              # every slot acknowledged
    ok, msg = verify_disk_image(image, acked)
    assert ok, msg
    # Not one of the last window's records (2 * flush-every + qd = 24):
    # those may have been in flight, a torn one is allowed.
    newest = int(re.search(r'acked=(\d+)', msg).group(1))
    slot = (newest - 10 - 1) % 128
    corrupt_record(image, slot)
    ok, msg = verify_disk_image(image, acked)
    assert not ok and msg.startswith('BAD: slot %d should hold record %d: bad checksum' % (
        slot, newest - 10)), msg
    with qemu_guest(tmp_path, 'workload=disk', guest_disk(image), 'corrupt') as vm:
        vm.wait_for(r'^TG disk bad slot=%d expected=%d found=%d: bad checksum$' % (
            slot, newest - 10, newest - 10), timeout=BOOT_TIMEOUT)
        vm.wait_for(r'^TG disk stopped: records acknowledged by a flush are missing or bad',
                    timeout=10)
        assert vm.proc.poll() is None and 'TG FAULT' not in vm.serial()


def test_iops_prints_sane_figures(tmp_path):
    image = make_image(tmp_path / 'd.img', size='64M')
    with qemu_guest(tmp_path, 'workload=iops qd=8 rw=randrw exit-after=3 exit=0',
                    guest_disk(image) + DEBUG_EXIT, 'iops') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == 1
        text = '\n'.join(vm.lines())
    assert re.search(r'^TG iops rw=randrw bs=4096 qd=8 blocks=16384$', text, re.M), text
    rows = re.findall(r'^TG iops read=(\d+) read_p50=([\d.]+)us read_p99=([\d.]+)us '
                      r'write=(\d+) write_p50=([\d.]+)us write_p99=([\d.]+)us errors=0$',
                      text, re.M)
    assert len(rows) == 3, text
    for row in rows[1:]:                      # the first second includes start-up
        r, r50, r99, w, w50, w99 = (float(x) for x in row)
        assert r > 50 and w > 50, row
        assert 0.5 * r < w < 2 * r, row        # a 50/50 mix
        assert 0 < r50 <= r99 < 1e6 and 0 < w50 <= w99 < 1e6, row


def test_write_error_is_reported_not_a_crash(tmp_path):
    """blkdebug fails every write to record slot 0: the device answers
    IOERR, the guest says so and stops its disk work, and stays up."""
    image = make_image(tmp_path / 'd.img', size='1M')
    drive = ('driver=raw,node-name=d0,file.driver=blkdebug,file.image.driver=file,'
             'file.image.filename=%s,file.inject-error.0.event=pwritev,'
             'file.inject-error.0.errno=5,file.inject-error.0.sector=8' % image)
    with qemu_guest(tmp_path, 'workload=disk',
                    ['-blockdev', drive, '-device', 'virtio-blk-pci,drive=d0,werror=report'],
                    'ioerr') as vm:
        vm.wait_for(r'^TG disk error: record write sector=8 status=IOERR$', timeout=BOOT_TIMEOUT)
        vm.wait_for(r'^TG disk stopped: write failed acked=0$', timeout=10)
        assert vm.proc.poll() is None and 'TG FAULT' not in vm.serial()


def test_too_small_device_is_a_clear_error(tmp_path):
    image = make_image(tmp_path / 'd.img', size='8K')
    with qemu_guest(tmp_path, 'workload=disk', guest_disk(image) + DEBUG_EXIT, 'small') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert ('TG error: disk: device has 16 sectors, the disk workload needs at least 24'
                in vm.lines()), vm.serial()


def test_shrunk_device_is_a_clear_error(tmp_path):
    """A disk formatted at 1 MiB (128 slots), then cut to 256 KiB under the
    guest's feet: the superblock promises more than the device has. Also
    a device without discard and write-zeroes: formatting does without."""
    image = make_image(tmp_path / 'd.img', size='1M')
    text, acked = run_disk_until_killed(tmp_path, image, '', lines=1,
                                        device_opts=',discard=off,write-zeroes=off')
    assert re.search(r'^TG disk virtio-blk .* discard=no write-zeroes=no', text, re.M), text
    subprocess.run(['qemu-img', 'resize', '-q', '-f', 'raw', '--shrink', image, '256K'],
                   check=True)
    with qemu_guest(tmp_path, 'workload=disk', guest_disk(image) + DEBUG_EXIT, 'shrunk') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert ('TG error: disk: the superblock has slots for 1032 sectors, the device only 512'
                in vm.lines()), vm.serial()


def test_no_disk_is_a_clear_error(tmp_path):
    with qemu_guest(tmp_path, 'workload=disk', DEBUG_EXIT, 'nodisk') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert 'TG error: disk: no virtio-blk PCI device on bus 0' in vm.lines(), vm.serial()


def big(i):
    return (b'%04d' % i) * 250            # 1000 bytes: a 3-sector log entry


@needs_tool('redis-cli', 'redis-tools')
def test_resp_persist_survives_sigkill(tmp_path):
    """serve persist=on: a SET is acknowledged only once it is flushed to
    the disk log, so whatever redis-cli saw acknowledged is there after
    SIGKILL and a new boot replays it."""
    image = make_image(tmp_path / 'kv.img', size='4M')
    port = free_port()
    extra = guest_disk(image) + [
        '-device', 'virtio-net-pci,netdev=n0',
        '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:6379' % port]
    append = 'workload=serve ip=10.0.2.15/24 gw=10.0.2.2 persist=on'

    def cli(*args):
        p = subprocess.run(['redis-cli', '-p', str(port), *args], capture_output=True,
                           text=True, timeout=15)
        return p.stdout.strip()

    with qemu_guest(tmp_path, append, extra, 'kv1') as vm:
        vm.wait_for(r'^TG kvlog created id=0x[0-9a-f]+ entries=0 keys=0 ', timeout=BOOT_TIMEOUT)
        vm.wait_for(r'^TG serve ready', timeout=30)
        assert cli('SET', 'greeting', 'hello world') == 'OK'
        assert cli('SET', 'gone', 'x') == 'OK'
        assert cli('INCR', 'n') == '1'
        assert cli('INCR', 'n') == '2'
        assert cli('DEL', 'gone') == '1'
        for i in range(20):
            assert cli('SET', 'k%d' % i, 'v%d' % i) == 'OK'
        # 150 pipelined SETs of 3-sector entries: the replay reads the log
        # in 128-sector chunks, so entries straddle chunk ends.
        with socket.create_connection(('127.0.0.1', port), timeout=30) as s:
            s.sendall(b''.join(b'SET big%d %s\r\n' % (i, big(i)) for i in range(150)))
            want, got = b'+OK\r\n' * 150, b''
            while len(got) < len(want):
                chunk = s.recv(4096)
                assert chunk, got
                got += chunk
            assert got == want
        vm.kill()
    with qemu_guest(tmp_path, append, extra, 'kv2') as vm:
        vm.wait_for(r'^TG kvlog replayed id=0x[0-9a-f]+ entries=175 keys=172 ',
                    timeout=BOOT_TIMEOUT)
        vm.wait_for(r'^TG serve ready', timeout=30)
        assert cli('GET', 'greeting') == 'hello world'
        assert cli('GET', 'n') == '2'
        assert cli('GET', 'gone') == ''
        assert cli('GET', 'k19') == 'v19'
        assert cli('DBSIZE') == '172'
        for i in (0, 42, 43, 85, 149):
            assert cli('GET', 'big%d' % i) == big(i).decode()
        assert 'TG FAULT' not in vm.serial()
