# SPDX-License-Identifier: GPL-2.0-or-later
"""block-stream and block-commit on the real binary under -accel qtest,
judged by Debian's qemu-img and qemu-io 7.2:

- a chain made as libvirt and users make it (qemu-img create -b, each
  image over the one before) with a pattern of its own in every layer,
  opened as libvirt opens it (-blockdev nodes, a virtio-blk-pci device
  on the top one) and exported over NBD, through which qemu-io writes
  while the job runs: the writes go through Tandem's block layer to the
  top image as a guest's would;
- stream of the whole chain, commit of the middle image into the base,
  and the active commit with block-job-complete (virsh blockcommit
  --active --pivot), each at a limited speed so that the writes race
  the copy;
- then every byte of the disk is compared with `qemu-img compare`
  against a raw file that got the same writes, `qemu-img info
  --backing-chain` shows the new chain, `qemu-img check` finds every
  image written clean, and qemu-io from outside finds the images the
  chain dropped free of locks once their nodes are deleted, and the
  base write-locked while a commit writes it."""
import contextlib
import json
import os
import subprocess

from tandem import QmpVm, io_ok, needs_tool, qemu_img, qemu_io

pytestmark = [needs_tool('qemu-img', 'qemu-utils'),
              needs_tool('qemu-io', 'qemu-utils')]

K64 = 64 * 1024
MIB = 1024 * 1024
SPEED = MIB     # bytes/s while the writes race the job

# The guest's writes while a job runs: (offset, pattern), 64 KiB each,
# over data of every layer, over the middle image's zeroes, over an
# unallocated stretch, and across the streamed stretches' boundaries.
RACING = [(1 * MIB, 0xa1), (3 * MIB + K64, 0xa2), (6 * MIB, 0xa3),
          (2 * MIB, 0xa4), (MIB - K64 // 2, 0xa5), (4 * MIB - 4096, 0xa6)]


class Chain:
    """base <- mid <- top, 8 MiB each, and the disk as the guest sees
    it in a raw file that follows every write."""

    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.base = os.path.join(self.dir, 'base.qcow2')
        self.mid = os.path.join(self.dir, 'mid.qcow2')
        self.top = os.path.join(self.dir, 'top.qcow2')
        self.expected = os.path.join(self.dir, 'expected.raw')
        qemu_img('create', '-q', '-f', 'qcow2', self.base, '8M')
        qemu_img('create', '-q', '-f', 'qcow2', '-b', self.base, '-F',
                 'qcow2', self.mid, '8M')
        qemu_img('create', '-q', '-f', 'qcow2', '-b', self.mid, '-F',
                 'qcow2', self.top, '8M')
        io_ok(self.base, 'write -P 0x11 0 4M', '-f', 'qcow2')
        io_ok(self.mid, 'write -P 0x22 1M 1M', '-f', 'qcow2')
        io_ok(self.mid, 'write -z 3M 512k', '-f', 'qcow2')
        io_ok(self.top, 'write -P 0x33 2M 64k', '-f', 'qcow2')
        qemu_img('convert', '-f', 'qcow2', '-O', 'raw', self.top,
                 self.expected)

    def view_of(self, image, name):
        """What a reader of image (with its chain) sees, as a raw file."""
        path = os.path.join(self.dir, name)
        qemu_img('convert', '-U', '-f', 'qcow2', '-O', 'raw', image, path)
        return path

    def note_write(self, offset, pattern, length=K64):
        with open(self.expected, 'r+b') as f:
            f.seek(offset)
            f.write(bytes([pattern]) * length)


@contextlib.contextmanager
def started(tmp_path, chain):
    """Tandem on the chain as libvirt opens it, the top exported over
    NBD for writing: (vm, export URI), killed at the end."""
    args = []
    for n, path, ro, backing in (('base', chain.base, True, None),
                                 ('mid', chain.mid, True, 'base'),
                                 ('top', chain.top, False, 'mid')):
        args += ['-blockdev', json.dumps({
            'driver': 'qcow2', 'node-name': n, 'read-only': ro,
            'backing': backing,
            'file': {'driver': 'file', 'node-name': n + '-f',
                     'filename': path}})]
    args += ['-device', 'virtio-blk-pci,id=vd0,drive=top,share-rw=on']
    with QmpVm(tmp_path, args, serial=False, accel='qtest') as vm:
        sock = os.path.join(str(tmp_path), 'nbd.sock')
        vm.q('nbd-server-start',
             addr={'type': 'unix', 'data': {'path': sock}})
        vm.q('block-export-add', type='nbd', id='e0',
             **{'node-name': 'top'}, writable=True)
        yield vm, 'nbd+unix:///top?socket=' + sock


def guest_writes(chain, export, writes):
    for offset, pattern in writes:
        io_ok(export, 'write -P 0x%x %d 64k' % (pattern, offset), '-f',
              'raw')
        chain.note_write(offset, pattern)


def still_running(vm, job_type):
    """The job had not finished when the writes were done: they raced
    it."""
    jobs = vm.q('query-block-jobs')
    assert [(j['type'], j['status']) for j in jobs] == \
        [(job_type, 'running')], jobs
    assert jobs[0]['offset'] < jobs[0]['len'], jobs


def wait_event(vm, name):
    ev = vm.qmp.wait_event(name, timeout=60)
    assert 'error' not in ev.data, ev.data
    return ev.data


def backing_files(image):
    """The backing file names along image's chain, as qemu-img reads
    them."""
    chain = json.loads(qemu_img('info', '-U', '--backing-chain',
                                '--output=json', image))
    return [i['filename'] for i in chain], \
        [i.get('backing-filename') for i in chain]


def same_disk(image, raw):
    p = subprocess.run(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F',
                        'raw', image, raw], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def check(image):
    out = qemu_img('check', image)
    assert 'No errors were found on the image.' in out, out


def write_lock_refused(path):
    """Another process cannot open the file for writing (its image
    locks); the file alone, as raw, nothing written."""
    p = qemu_io(path, 'read 0 512', '-f', 'raw')
    if p.returncode == 0:
        return False
    assert 'Failed to get "write" lock' in p.stderr, p.stderr
    return True


def delete_image_nodes(vm, *names):
    """blockdev-del of images that left the chain (their file nodes,
    defined inside them, go with them)."""
    for n in names:
        vm.q('blockdev-del', **{'node-name': n})


def test_stream(tmp_path):
    chain = Chain(tmp_path)
    with started(tmp_path, chain) as (vm, export):
        vm.q('block-stream', device='top', **{'job-id': 's'}, speed=SPEED)
        guest_writes(chain, export, RACING)
        still_running(vm, 'stream')
        assert vm.q('query-block-jobs')[0]['len'] == 8 * MIB
        vm.q('block-job-set-speed', device='s', speed=0)
        data = wait_event(vm, 'BLOCK_JOB_COMPLETED')
        assert (data['type'], data['len'], data['offset']) == \
            ('stream', 8 * MIB, 8 * MIB)
        blk = vm.q('query-block')[0]['inserted']
        assert (blk['node-name'], blk['backing_file_depth']) == ('top', 0)
        guest_writes(chain, export, [(5 * MIB, 0xb1)])
        # The dropped images are ours until their nodes go.
        assert write_lock_refused(chain.mid)
        delete_image_nodes(vm, 'mid', 'base')
        assert not write_lock_refused(chain.mid)
        assert not write_lock_refused(chain.base)
        assert write_lock_refused(chain.top)
        vm.q('quit')
        assert vm.wait_exit() == 0

    assert backing_files(chain.top) == ([chain.top], [None])
    check(chain.top)
    same_disk(chain.top, chain.expected)


def test_commit_below_active(tmp_path):
    chain = Chain(tmp_path)
    mid_view = chain.view_of(chain.mid, 'mid-view.raw')
    with started(tmp_path, chain) as (vm, export):
        vm.q('block-commit', device='top', **{'job-id': 'c',
                                              'top-node': 'mid',
                                              'base-node': 'base'},
             speed=SPEED)
        # The job writes the base: nobody else may.
        assert write_lock_refused(chain.base)
        guest_writes(chain, export, RACING)
        still_running(vm, 'commit')
        vm.q('block-job-set-speed', device='c', speed=0)
        data = wait_event(vm, 'BLOCK_JOB_COMPLETED')
        assert (data['type'], data['len']) == ('commit', 8 * MIB)
        assert vm.q('query-block')[0]['inserted']['backing_file_depth'] == 1
        delete_image_nodes(vm, 'mid')
        assert not write_lock_refused(chain.mid)
        # A backing file again: readers only, no writer.
        assert write_lock_refused(chain.base)
        vm.q('quit')
        assert vm.wait_exit() == 0

    assert backing_files(chain.top) == ([chain.top, chain.base],
                                        [chain.base, None])
    check(chain.top)
    check(chain.base)
    same_disk(chain.top, chain.expected)
    # The base alone holds what mid showed.
    same_disk(chain.base, mid_view)


def test_active_commit_pivot(tmp_path):
    chain = Chain(tmp_path)
    with started(tmp_path, chain) as (vm, export):
        vm.q('block-commit', device='top', **{'job-id': 'c'}, speed=SPEED)
        assert write_lock_refused(chain.base)
        guest_writes(chain, export, RACING[:3])
        still_running(vm, 'commit')
        vm.q('block-job-set-speed', device='c', speed=0)
        data = wait_event(vm, 'BLOCK_JOB_READY')
        assert data['type'] == 'commit'
        # Ready: the job follows every write into the base.
        guest_writes(chain, export, RACING[3:])
        vm.q('block-job-complete', device='c')
        data = wait_event(vm, 'BLOCK_JOB_COMPLETED')
        assert data['type'] == 'commit'
        blk = vm.q('query-block')[0]
        assert blk['qdev'].startswith('/machine/peripheral/vd0')
        assert (blk['inserted']['node-name'],
                blk['inserted']['backing_file_depth']) == ('base', 0)
        assert vm.q('query-block-exports')[0]['node-name'] == 'base'
        # The guest writes the base now.
        guest_writes(chain, export, [(7 * MIB, 0xb2)])
        delete_image_nodes(vm, 'top', 'mid')
        assert not write_lock_refused(chain.top)
        assert not write_lock_refused(chain.mid)
        assert write_lock_refused(chain.base)
        vm.q('quit')
        assert vm.wait_exit() == 0

    assert backing_files(chain.base) == ([chain.base], [None])
    check(chain.base)
    same_disk(chain.base, chain.expected)
