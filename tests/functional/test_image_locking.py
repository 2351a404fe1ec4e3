# SPDX-License-Identifier: GPL-2.0-or-later
"""Image locking against Debian's QEMU tools (qemu-img, qemu-io, qemu-nbd
7.2), both ways, on the real binary under -accel qtest (no KVM needed):

- Tandem holds a raw disk writable under a virtio-blk-pci device:
  `qemu-img info` and a read-only qemu-io work, a writing qemu-io is
  refused with QEMU's 'Failed to get "write" lock' and its hint; on a
  qcow2 image, `qemu-img info` is refused as QEMU refuses it, and -U
  (force-share) gets through; when Tandem quits the image is free;
- qemu-nbd holds a qcow2 image: Tandem's -blockdev and QMP blockdev-add
  are refused with the same error; file.locking=off opens it anyway;
- qemu-io holds a raw image writable (sharing writes, as qemu-io does):
  Tandem's guest device, which does not share writing, is refused with
  'Failed to get shared "write" lock'; share-rw=on lets it in, and
  locking=off (-blockdev) or file.locking=off (-drive) skip the locks;
- a mirror's pivot: the target is locked from the mirror's start with
  QEMU's lock bytes (write held, consistent read, write and resize not
  shared), stays locked when the device moves onto it, and the source is
  freed;
- a -drive nobody uses claims what QEMU 7.2's does, consistent read
  only (byte 100): Debian's QEMU with a guest device on the image does
  not stop it, its users claim at attach and are refused then, naming
  node and file (-device at realize, a writable NBD export when added),
  an export's claim goes with it, and a read-only overlay or a qcow2
  whose backing file is the image are accepted as QEMU accepts them;
- under -incoming a drive and its device lock nothing until the node is
  activated, and then what they claim;
- the users of one process are checked on every permission: the same
  graph given to Debian's QEMU and to Tandem is refused with the same
  words (a device on a backing file in use, an overlay in use over a
  written node, a writable export of a backing file, block_resize of an
  exported node or of a format's file) or accepted by both (a snapshot
  under a device and an export);
- block_resize takes the resize lock: qemu-nbd serving the image refuses
  it, and the image keeps its size."""
import json
import os
import subprocess
import time

import pytest

from tandem import QEMU, TANDEM, image_lock_bytes, needs_tool

pytestmark = [needs_tool('qemu-io', 'qemu-utils'),
              needs_tool('qemu-nbd', 'qemu-utils')]

HINT = 'Is another process using the image [%s]?'


def make_image(tmp_path, fmt):
    path = str(tmp_path / ('disk.' + fmt))
    subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, path, '1M'],
                   check=True)
    return path


def disk_args(path, fmt, device=True, file_opts=''):
    args = ['-blockdev', 'driver=file,node-name=f0,filename=%s%s'
            % (path, file_opts),
            '-blockdev', 'driver=%s,node-name=d0,file=f0' % fmt]
    if device:
        args += ['-device', 'virtio-blk-pci,drive=d0']
    return args


TANDEM_ARGV = [TANDEM, '-accel', 'qtest']
# Debian's QEMU as the reference, stopped (-S): no guest runs.
QEMU_ARGV = [QEMU, '-S', '-machine', 'pc', '-accel', 'tcg']


class Tandem:
    """Tandem under -accel qtest with QMP on stdio, one command at a time
    (or, with argv=QEMU_ARGV, Debian's QEMU the same way)."""

    def __init__(self, args, argv=TANDEM_ARGV):
        self.proc = subprocess.Popen(
            argv + ['-display', 'none', '-nodefaults',
                    '-qmp', 'stdio'] + list(args),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        greeting = self.proc.stdout.readline()
        assert 'QMP' in greeting, self.proc.stderr.read()
        assert self.cmd('qmp_capabilities') == {'return': {}}

    def cmd(self, command, **arguments):
        msg = {'execute': command}
        if arguments:
            msg['arguments'] = arguments
        self.proc.stdin.write(json.dumps(msg) + '\n')
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            assert line, 'Tandem exited: ' + self.proc.stderr.read()
            reply = json.loads(line)
            if 'event' not in reply:
                return reply

    def quit(self):
        self.cmd('quit')
        assert self.proc.wait(timeout=20) == 0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tandem_vm():
    vms = []

    def start(args):
        vms.append(Tandem(args))
        return vms[-1]
    yield start
    for vm in vms:
        vm.kill()


def qemu_io(path, fmt, cmd, *extra):
    return subprocess.run(['qemu-io', '-f', fmt] + list(extra) +
                          ['-c', cmd, path], capture_output=True, text=True,
                          timeout=20)


def tandem_fails(args):
    """Tandem refuses args at start: exit 1, one line on stderr."""
    p = subprocess.run([TANDEM, '-accel', 'qtest', '-display', 'none',
                        '-nodefaults'] + list(args), capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stderr
    return p.stderr


@pytest.fixture
def qemu_nbd_holder():
    """qemu-nbd serving an image writable on a unix socket (holding it)."""
    procs = []

    def start(path, fmt, tmp_path):
        sock = str(tmp_path / 'nbd.sock')
        pidfile = str(tmp_path / 'nbd.pid')
        subprocess.run(['qemu-nbd', '--fork', '--pid-file', pidfile,
                        '-k', sock, '-f', fmt, path], check=True, timeout=20)
        with open(pidfile) as f:
            procs.append(int(f.read()))
    yield start
    for pid in procs:
        os.kill(pid, 15)
        for _ in range(100):        # bounded: up to 10 s
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


def test_tandem_writer_refuses_qemu_io_write(tmp_path, tandem_vm):
    path = make_image(tmp_path, 'raw')
    vm = tandem_vm(disk_args(path, 'raw'))
    assert vm.cmd('query-block')['return'][0]['inserted']['ro'] is False
    info = subprocess.run(['qemu-img', 'info', path], capture_output=True,
                          text=True, timeout=20)
    assert info.returncode == 0, info.stderr
    assert 'file format: raw' in info.stdout
    w = qemu_io(path, 'raw', 'write 0 4k')
    assert 'Failed to get "write" lock' in w.stderr, w.stderr + w.stdout
    assert HINT % path in w.stderr
    assert 'wrote' not in w.stdout
    r = qemu_io(path, 'raw', 'read 0 4k', '-r')
    assert r.returncode == 0 and 'read 4096/4096' in r.stdout, r.stderr
    vm.quit()
    w = qemu_io(path, 'raw', 'write 0 4k')
    assert w.returncode == 0 and 'wrote 4096/4096' in w.stdout, w.stderr


def test_tandem_qcow2_refuses_qemu_img_info_like_qemu(tmp_path, tandem_vm):
    path = make_image(tmp_path, 'qcow2')
    vm = tandem_vm(disk_args(path, 'qcow2'))
    info = subprocess.run(['qemu-img', 'info', path], capture_output=True,
                          text=True, timeout=20)
    assert info.returncode != 0
    assert 'Failed to get shared "write" lock' in info.stderr, info.stderr
    info = subprocess.run(['qemu-img', 'info', '-U', path],
                          capture_output=True, text=True, timeout=20)
    assert info.returncode == 0 and 'file format: qcow2' in info.stdout, \
        info.stderr
    vm.quit()
    subprocess.run(['qemu-img', 'check', path], check=True, timeout=20,
                   capture_output=True)


def test_qemu_nbd_holder_refuses_tandem_blockdev(tmp_path, qemu_nbd_holder):
    path = make_image(tmp_path, 'qcow2')
    qemu_nbd_holder(path, 'qcow2', tmp_path)
    err = tandem_fails(disk_args(path, 'qcow2', device=False))
    assert 'Failed to get "write" lock' in err and HINT % path in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_qemu_nbd_holder_refuses_blockdev_add(tmp_path, tandem_vm,
                                              qemu_nbd_holder):
    path = make_image(tmp_path, 'qcow2')
    qemu_nbd_holder(path, 'qcow2', tmp_path)
    vm = tandem_vm([])
    node = {'driver': 'qcow2', 'node-name': 'd0',
            'file': {'driver': 'file', 'filename': path}}
    reply = vm.cmd('blockdev-add', **node)
    assert reply['error']['class'] == 'GenericError'
    assert 'Failed to get "write" lock' in reply['error']['desc'], reply
    assert HINT % path in reply['error']['desc']
    # locking=off: the user takes the risk, as with QEMU.
    node['file']['locking'] = 'off'
    assert vm.cmd('blockdev-add', **node) == {'return': {}}
    vm.quit()


def test_qemu_io_holder_refuses_tandem_device(tmp_path, tandem_vm):
    path = make_image(tmp_path, 'raw')
    holder = subprocess.Popen(['qemu-io', '-f', 'raw', path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        # Once it answers a read it has the image open (and locked).
        holder.stdin.write('read 0 512\n')
        holder.stdin.flush()
        seen = ''
        while 'read 512/512' not in seen:
            chunk = holder.stdout.readline()
            assert chunk, 'qemu-io exited: ' + seen
            seen += chunk
        err = tandem_fails(disk_args(path, 'raw'))
        assert 'Failed to get shared "write" lock' in err, err
        assert HINT % path in err
        # A device that shares writing may join qemu-io (which shares too).
        vm = tandem_vm(disk_args(path, 'raw', device=False) +
                       ['-device', 'virtio-blk-pci,drive=d0,share-rw=on'])
        vm.quit()
        # locking=off bypasses the check altogether.
        vm = tandem_vm(disk_args(path, 'raw', file_opts=',locking=off'))
        vm.quit()
        # The same with -drive, in QEMU's spelling file.locking=.
        drive = 'file=%s,format=raw,if=none,id=d0' % path
        device = ['-device', 'virtio-blk-pci,drive=d0']
        err = tandem_fails(['-drive', drive] + device)
        assert 'Failed to get shared "write" lock' in err, err
        vm = tandem_vm(['-drive', drive + ',file.locking=off'] + device)
        vm.quit()
    finally:
        holder.stdin.close()
        holder.wait(timeout=20)


def wait_jobs(vm, done, what):
    """Polls query-block-jobs until done(jobs) (bounded: 20 s)."""
    for _ in range(200):
        jobs = vm.cmd('query-block-jobs')['return']
        if done(jobs):
            return jobs
        time.sleep(0.1)
    raise AssertionError('%s: still %r after 20 s' % (what, jobs))


def test_mirror_pivot_hands_the_locks_to_the_target(tmp_path, tandem_vm):
    """A mirror holds its target from the start as QEMU's does (written,
    read by no one else); at the pivot the device takes the target over
    (qemu-io still cannot write it) and lets go of the source (qemu-io
    can)."""
    src = make_image(tmp_path, 'raw')
    dst = str(tmp_path / 'target.raw')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', dst, '1M'],
                   check=True)
    vm = tandem_vm(disk_args(src, 'raw'))
    assert vm.cmd('blockdev-add', **{
        'driver': 'raw', 'node-name': 'tgt',
        'file': {'driver': 'file', 'filename': dst}}) == {'return': {}}
    # A node alone locks nothing (as QEMU's -blockdev without a user).
    assert qemu_io(dst, 'raw', 'write 0 4k').returncode == 0
    assert vm.cmd('blockdev-mirror', **{
        'job-id': 'm0', 'device': 'd0', 'target': 'tgt',
        'sync': 'full'}) == {'return': {}}
    wait_jobs(vm, lambda jobs: jobs and jobs[0]['ready'], 'mirror ready')
    # QEMU 7.2's target claim, the bytes its mirror locks on a raw target:
    # write held; consistent read, write and resize not shared (it is no
    # copy yet), so even a reader is refused, on the first of them.
    assert image_lock_bytes(dst) == {101, 200, 201, 203}
    w = qemu_io(dst, 'raw', 'read 0 4k')
    assert 'Failed to get "consistent read" lock' in w.stderr, \
        w.stderr + w.stdout
    assert 'Failed to get "write" lock' in \
        qemu_io(src, 'raw', 'write 0 4k').stderr
    assert vm.cmd('block-job-complete', device='m0') == {'return': {}}
    wait_jobs(vm, lambda jobs: not jobs, 'mirror completion')
    inserted = vm.cmd('query-block')['return'][0]['inserted']
    assert inserted['node-name'] == 'tgt', inserted
    w = qemu_io(dst, 'raw', 'write 0 4k')
    assert 'Failed to get "write" lock' in w.stderr, w.stderr + w.stdout
    assert HINT % dst in w.stderr
    w = qemu_io(src, 'raw', 'write 0 4k')
    assert w.returncode == 0 and 'wrote 4096/4096' in w.stdout, w.stderr
    vm.quit()


@pytest.mark.parametrize('where', ['before', 'after'])
def test_incoming_destination_holds_no_lock(tmp_path, tandem_vm, where):
    """A migration destination's disks open inactive wherever -incoming
    stands on the line (libvirt puts it after -blockdev): the source,
    here qemu-io, keeps writing the image."""
    path = make_image(tmp_path, 'raw')
    disks = disk_args(path, 'raw')
    args = (['-incoming', 'defer'] + disks) if where == 'before' \
        else (disks + ['-incoming', 'defer'])
    vm = tandem_vm(args)
    w = qemu_io(path, 'raw', 'write 0 4k')
    assert w.returncode == 0 and 'wrote 4096/4096' in w.stdout, w.stderr
    vm.quit()


# The lock bytes (docs/block.md, "Image locking"): 100 + bit held,
# 200 + bit not shared; bits 0 consistent read, 1 write, 3 resize.
CONSISTENT_READ, WRITE, NO_WRITE, NO_RESIZE = 100, 101, 201, 203


@pytest.fixture
def qemu_guest_holder():
    """Debian's QEMU with a virtio-blk-pci guest disk on an image (stopped
    with -S under TCG: no guest runs, the device holds the image)."""
    procs = []

    def start(path):
        p = subprocess.Popen(
            [QEMU, '-S', '-machine', 'pc', '-accel', 'tcg', '-display',
             'none', '-nodefaults', '-drive',
             'if=none,id=h0,format=raw,file=%s' % path,
             '-device', 'virtio-blk-pci,drive=h0'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        procs.append(p)
        for _ in range(200):        # bounded: up to 20 s
            if {WRITE, NO_WRITE} <= image_lock_bytes(path):
                return p
            assert p.poll() is None, p.stderr.read()
            time.sleep(0.1)
        raise AssertionError('QEMU did not lock %s' % path)
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=20)


def drive(path, extra=''):
    return ['-drive', 'if=none,id=d0,node-name=n0,format=raw,file=%s%s'
            % (path, extra)]


def test_bare_drive_claims_consistent_read_only(tmp_path, tandem_vm):
    path = make_image(tmp_path, 'raw')
    vm = tandem_vm(drive(path))
    assert image_lock_bytes(path) == {CONSISTENT_READ}
    w = qemu_io(path, 'raw', 'write 0 4k')
    assert w.returncode == 0 and 'wrote 4096/4096' in w.stdout, w.stderr
    vm.quit()
    assert image_lock_bytes(path) == set()


@needs_tool(QEMU, 'qemu-system-x86')
def test_qemu_guest_does_not_stop_a_bare_drive(tmp_path, tandem_vm,
                                               qemu_guest_holder):
    path = make_image(tmp_path, 'raw')
    qemu_guest_holder(path)
    held = image_lock_bytes(path)
    vm = tandem_vm(drive(path))
    assert image_lock_bytes(path) == held
    vm.quit()
    # Tandem's device claims write when it is realized: refused then.
    err = tandem_fails(drive(path) + ['-device', 'virtio-blk-pci,drive=d0'])
    assert err.startswith('tandem-system-x86_64: -device virtio-blk-pci: '
                          "node 'n0' (file '%s'): " % path), err
    assert 'Failed to get "write" lock' in err and HINT % path in err, err
    assert image_lock_bytes(path) == held


@needs_tool(QEMU, 'qemu-system-x86')
def test_nbd_export_claims_when_added(tmp_path, tandem_vm,
                                      qemu_guest_holder):
    path = make_image(tmp_path, 'raw')
    holder = qemu_guest_holder(path)
    held = image_lock_bytes(path)
    vm = tandem_vm([])
    out = vm.cmd('human-monitor-command', **{
        'command-line': 'drive_add 0 if=none,id=d0,node-name=n0,'
                        'format=raw,file=%s' % path})
    assert out == {'return': 'OK\r\n'}, out
    assert vm.cmd('nbd-server-start', addr={
        'type': 'unix', 'data': {'path': str(tmp_path / 'nbd.sock')}}) \
        == {'return': {}}
    reply = vm.cmd('nbd-server-add', device='d0', writable=True)
    desc = reply['error']['desc']
    assert desc.startswith("node 'n0' (file '%s'): " % path), reply
    assert 'Failed to get "write" lock' in desc and HINT % path in desc
    assert image_lock_bytes(path) == held
    # A read-only export reads beside the guest, and does not let the
    # image be resized under its clients (QEMU's byte 203).
    assert vm.cmd('nbd-server-add', device='d0') == {'return': {}}
    assert image_lock_bytes(path) == held | {NO_RESIZE}
    assert vm.cmd('nbd-server-remove', name='d0') == {'return': {}}
    holder.kill()
    holder.wait(timeout=20)
    for _ in range(100):            # bounded: the export goes in a BH
        if image_lock_bytes(path) == {CONSISTENT_READ}:
            break
        time.sleep(0.1)
    assert image_lock_bytes(path) == {CONSISTENT_READ}
    # The guest gone, the writable export takes write (sharing it).
    assert vm.cmd('block-export-add', type='nbd', id='e0', **{
        'node-name': 'n0', 'writable': True}) == {'return': {}}
    assert image_lock_bytes(path) == {CONSISTENT_READ, WRITE, NO_RESIZE}
    assert vm.cmd('block-export-del', id='e0') == {'return': {}}
    for _ in range(100):
        if image_lock_bytes(path) == {CONSISTENT_READ}:
            break
        time.sleep(0.1)
    assert image_lock_bytes(path) == {CONSISTENT_READ}
    vm.quit()


def test_read_only_overlay_on_bare_drive(tmp_path, tandem_vm):
    path = make_image(tmp_path, 'raw')
    ov = str(tmp_path / 'ov.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', path,
                    '-F', 'raw', ov], check=True, timeout=20)
    vm = tandem_vm(drive(path))
    assert vm.cmd('blockdev-add', driver='qcow2', **{
        'node-name': 'ov', 'read-only': True, 'backing': None,
        'file': {'driver': 'file', 'filename': ov}}) == {'return': {}}
    assert vm.cmd('blockdev-snapshot', node='d0', overlay='ov') == \
        {'return': {}}
    inserted = vm.cmd('query-block')['return'][0]['inserted']
    assert inserted['node-name'] == 'ov' and inserted['ro'] is True
    # The base is a backing file its users read, sharing all (QEMU's).
    assert image_lock_bytes(path) == {CONSISTENT_READ}
    assert image_lock_bytes(ov) == {CONSISTENT_READ, NO_WRITE, NO_RESIZE}
    vm.quit()


@needs_tool(QEMU, 'qemu-system-x86')
def test_qcow2_over_a_held_image(tmp_path, tandem_vm, qemu_guest_holder):
    """A qcow2 nobody uses claims nothing of its backing file, so another
    process's guest may hold it (QEMU opens it the same)."""
    path = make_image(tmp_path, 'raw')
    ov = str(tmp_path / 'ov.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', path,
                    '-F', 'raw', ov], check=True, timeout=20)
    qemu_guest_holder(path)
    held = image_lock_bytes(path)
    vm = tandem_vm([])
    assert vm.cmd('blockdev-add', driver='qcow2', **{
        'node-name': 'ov',
        'file': {'driver': 'file', 'filename': ov}}) == {'return': {}}
    assert image_lock_bytes(path) == held
    vm.quit()


def test_incoming_drive_claims_on_activation(tmp_path, tandem_vm):
    path = make_image(tmp_path, 'raw')
    bare = str(tmp_path / 'bare.raw')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', bare, '1M'],
                   check=True, timeout=20)
    vm = tandem_vm(['-incoming', 'defer'] + drive(path) +
                   ['-device', 'virtio-blk-pci,drive=d0',
                    '-drive', 'if=none,id=d1,node-name=n1,format=raw,'
                    'file=%s' % bare])
    assert image_lock_bytes(path) == set()
    assert image_lock_bytes(bare) == set()
    assert vm.cmd('blockdev-set-active', active=True) == {'return': {}}
    # The device lets others write until its guest first runs (the source's
    # mirror writes through an NBD export meanwhile), as QEMU defers a
    # device's shared permissions while incoming: no "unshare write" yet.
    assert image_lock_bytes(path) == {CONSISTENT_READ, WRITE}
    assert image_lock_bytes(bare) == {CONSISTENT_READ}
    assert vm.cmd('blockdev-set-active', active=False) == {'return': {}}
    assert image_lock_bytes(path) == set()
    assert image_lock_bytes(bare) == set()
    vm.quit()


# The users of one process are checked against each other on every
# permission, as QEMU 7.2 checks them: the same graph is refused with the
# same words by Debian's QEMU and by Tandem. Devices come from the command
# line (Tandem has no virtio-blk-pci hotplug yet).

def qcow2_node(tmp_path, name, backing=None):
    path = str(tmp_path / (name + '.qcow2'))
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path, '1M'],
                   check=True)
    opts = ('driver=qcow2,node-name=%s,file.driver=file,'
            'file.node-name=%s-file,file.filename=%s' % (name, name, path))
    if backing:
        opts += ',backing=' + backing
    return ['-blockdev', opts]


def vd(node, n):
    return ['-device', 'virtio-blk-pci,drive=%s,id=vd%d' % (node, n)]


def start_refusal(argv, args):
    """What the binary says refusing args at start (after 'prog: ')."""
    p = subprocess.run(argv + ['-display', 'none', '-nodefaults'] + args,
                       capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stderr
    return p.stderr.strip().split(': ', 1)[1]


START_CONFLICTS = {
    # A device writing a node that an overlay in use reads as its backing.
    'device-over-backing': lambda t: (
        qcow2_node(t, 'base') + qcow2_node(t, 'ov', 'base') + vd('ov', 0) +
        vd('base', 1)),
    # An overlay in use over a node a device writes without share-rw.
    'overlay-over-written-node': lambda t: (
        qcow2_node(t, 'base') + vd('base', 1) + qcow2_node(t, 'ov', 'base') +
        vd('ov', 0)),
}


@needs_tool(QEMU, 'qemu-system-x86')
@pytest.mark.parametrize('case', sorted(START_CONFLICTS))
def test_start_conflict_as_qemu(tmp_path, case):
    args = START_CONFLICTS[case](tmp_path)
    want = start_refusal(QEMU_ARGV, args)
    assert want.startswith('-device virtio-blk-pci,drive='), want
    assert 'Permission conflict on node' in want, want
    got = start_refusal(TANDEM_ARGV, args)
    # The option is named in Tandem's words ("-device virtio-blk-pci (id
    # 'vd1')"), the refusal in QEMU's.
    assert got.startswith('-device virtio-blk-pci'), got
    assert got.split(': ', 1)[1] == want.split(': ', 1)[1]


def both_answer(tmp_path, args, commands):
    """Runs commands on QEMU and on Tandem started with args; their
    answers, which must be the same (an error by its text)."""
    answers = []
    for argv in (QEMU_ARGV, TANDEM_ARGV):
        sock = str(tmp_path / 'nbd.sock')
        vm = Tandem(args, argv)
        got = []
        try:
            for command, arguments in commands:
                arguments = json.loads(json.dumps(arguments).replace(
                    '@SOCK@', sock))
                reply = vm.cmd(command, **arguments)
                got.append(reply['error']['desc'] if 'error' in reply
                           else reply['return'])
            vm.quit()
        finally:
            vm.kill()
        answers.append(got)
    return answers


NBD_START = ('nbd-server-start',
             {'addr': {'type': 'unix', 'data': {'path': '@SOCK@'}}})

QMP_CONFLICTS = {
    # A writable export of a node an overlay in use reads as its backing;
    # a read-only one is fine.
    'writable-export-of-backing': (
        lambda t: qcow2_node(t, 'base') + qcow2_node(t, 'ov', 'base') +
        vd('ov', 0),
        [NBD_START,
         ('nbd-server-add', {'device': 'base', 'writable': True}),
         ('nbd-server-add', {'device': 'base'})]),
    # An export's clients were told a size: block_resize is refused.
    'resize-exported-node': (
        lambda t: qcow2_node(t, 'base'),
        [NBD_START,
         ('nbd-server-add', {'device': 'base'}),
         ('block_resize', {'node-name': 'base', 'size': 2 << 20}),
         ('nbd-server-remove', {'name': 'base'}),
         ('block_resize', {'node-name': 'base', 'size': 2 << 20})]),
    # A format's file is the format's to size.
    'resize-format-file': (
        lambda t: qcow2_node(t, 'base'),
        [('block_resize', {'node-name': 'base', 'size': 2 << 20}),
         ('block_resize', {'node-name': 'base-file', 'size': 8 << 20})]),
    # A snapshot under a device and an export moves both, refusing none;
    # the base, now a backing file, may still be read by an export.
    'snapshot-under-export': (
        lambda t: qcow2_node(t, 'base') + vd('base', 1) +
        qcow2_node(t, 'snap'),
        [NBD_START,
         ('nbd-server-add', {'device': 'base'}),
         ('blockdev-snapshot', {'node': 'base', 'overlay': 'snap'}),
         ('nbd-server-add', {'device': 'base', 'name': 'again'})]),
}


@needs_tool(QEMU, 'qemu-system-x86')
@pytest.mark.parametrize('case', sorted(QMP_CONFLICTS))
def test_qmp_conflict_as_qemu(tmp_path, case):
    make_args, commands = QMP_CONFLICTS[case]
    qemu, tandem = both_answer(tmp_path, make_args(tmp_path), commands)
    assert any(isinstance(a, str) for a in qemu) or \
        case.startswith('snapshot'), qemu
    assert tandem == qemu


def test_block_resize_takes_the_resize_lock(tmp_path, tandem_vm,
                                            qemu_nbd_holder):
    """qemu-nbd serves the image and does not let it be resized (its
    clients were told a size): Tandem's block_resize is refused by the
    lock, as QEMU's is, and the image keeps its size."""
    path = make_image(tmp_path, 'raw')
    qemu_nbd_holder(path, 'raw', tmp_path)
    vm = tandem_vm(['-blockdev', 'driver=file,node-name=f0,filename=%s'
                    % path])
    reply = vm.cmd('block_resize', **{'node-name': 'f0', 'size': 2 << 20})
    desc = reply['error']['desc']
    assert 'Failed to get "resize" lock' in desc and HINT % path in desc, \
        reply
    assert os.path.getsize(path) == 1 << 20
    # The refused resizer left no lock behind (resize held: byte 103).
    assert CONSISTENT_READ + 3 not in image_lock_bytes(path)
    vm.quit()
