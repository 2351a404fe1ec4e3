# SPDX-License-Identifier: GPL-2.0-or-later
"""blockdev-create as a libvirt-style script drives it, on the real binary
under -accel qtest, with Debian's QEMU 7.2 as the reference and its tools
(qemu-img, qemu-io) as the judges:

- the same QMP sequence (a host file, then a qcow2 image onto the node
  opened on it; a job that fails) runs against Tandem and against QEMU:
  host files preallocated or not; the JOB_STATUS_CHANGE sequences, the query-jobs entries with their
  errors, and the command errors are the same;
- the images Tandem creates read in `qemu-img info --output=json` as
  asked (virtual size, cluster size, compat, lazy refcounts, backing file
  and format) and as QEMU's own do, and `qemu-img check` finds them
  clean;
- the new image then opens with blockdev-add (its backing file from the
  header): through an NBD export of it, qemu-io reads the backing file's
  data and writes its own, and after quit qemu-io reads both from the
  image."""
import json
import os

import pytest

from tandem import QEMU, QmpVm, io_ok, needs_tool, qemu_img
from qmp import QMPError

pytestmark = [needs_tool('qemu-img', 'qemu-utils'),
              needs_tool('qemu-io', 'qemu-utils')]


def info(path):
    return json.loads(qemu_img('info', '--output=json', path))


def run_job(vm, job_id, options):
    """blockdev-create, then the job's statuses up to concluded, its
    query-jobs entry, and job-dismiss (which must end it)."""
    vm.q('blockdev-create', **{'job-id': job_id, 'options': options})
    statuses = []
    while not statuses or statuses[-1] != 'concluded':
        ev = vm.qmp.wait_event('JOB_STATUS_CHANGE', {'id': job_id},
                               timeout=30)
        statuses.append(ev.data['status'])
    entry = [j for j in vm.q('query-jobs') if j['id'] == job_id]
    vm.q('job-dismiss', id=job_id)
    vm.qmp.wait_event('JOB_STATUS_CHANGE', {'id': job_id, 'status': 'null'},
                      timeout=30)
    assert [j for j in vm.q('query-jobs') if j['id'] == job_id] == []
    return statuses, entry


def script(vm, d, base):
    """What a management script does to make a new disk over base: the
    answers it sees, in order."""
    seen = []
    disk = os.path.join(d, 'disk.qcow2')
    small = os.path.join(d, 'small.qcow2')
    seen.append(run_job(vm, 'c0', {'driver': 'file', 'filename': disk,
                                   'size': 0}))
    vm.q('blockdev-add', driver='file', **{'node-name': 'f0'},
         filename=disk)
    seen.append(run_job(vm, 'c1', {
        'driver': 'qcow2', 'file': 'f0', 'size': 64 << 20,
        'backing-file': base, 'backing-fmt': 'qcow2',
        'cluster-size': 4096, 'lazy-refcounts': True,
        'preallocation': 'off', 'version': 'v3'}))
    # A v2 image with small clusters, over an existing file (emptied).
    with open(small, 'wb') as f:
        f.write(b'old contents' * 100000)
    seen.append(run_job(vm, 'c2', {'driver': 'file', 'filename': small,
                                   'size': 0}))
    vm.q('blockdev-add', driver='file', **{'node-name': 'f1'},
         filename=small)
    seen.append(run_job(vm, 'c3', {'driver': 'qcow2', 'file': 'f1',
                                   'size': 1 << 30, 'cluster-size': 512,
                                   'version': 'v2'}))
    # Host files with their blocks allocated up front.
    for job_id, mode in (('p0', 'full'), ('p1', 'falloc'),
                         ('e7', 'metadata')):
        seen.append(run_job(vm, job_id, {
            'driver': 'file', 'filename': os.path.join(d, mode + '.img'),
            'size': 1 << 20, 'preallocation': mode}))
    # Failures are the job's.
    seen.append(run_job(vm, 'e0', {'driver': 'qcow2', 'file': 'nosuch',
                                   'size': 1 << 20}))
    seen.append(run_job(vm, 'e1', {'driver': 'qcow2', 'file': 'f1',
                                   'size': 1000}))
    seen.append(run_job(vm, 'e2', {'driver': 'qcow2', 'file': 'f1',
                                   'size': 1 << 20, 'cluster-size': 1000}))
    seen.append(run_job(vm, 'e3', {'driver': 'qcow2', 'file': 'f1',
                                   'size': 1 << 20, 'version': 'v2',
                                   'lazy-refcounts': True}))
    seen.append(run_job(vm, 'e4', {'driver': 'qcow2', 'file': 'f1',
                                   'size': 1 << 20, 'backing-fmt': 'raw'}))
    ro = os.path.join(d, 'ro.img')
    open(ro, 'wb').close()
    vm.q('blockdev-add', driver='file', **{'node-name': 'f2'},
         filename=ro, **{'read-only': True})
    seen.append(run_job(vm, 'e6', {'driver': 'qcow2', 'file': 'f2',
                                   'size': 1 << 20}))
    seen.append(run_job(vm, 'e5', {'driver': 'file',
                                   'filename': os.path.join(d, 'no', 'x'),
                                   'size': 0}))
    # ... and the command's, for what it cannot start.
    for job_id, options in (('c0', {'driver': 'raw'}),
                            ('9x', {'driver': 'file', 'filename': disk,
                                    'size': 0})):
        with pytest.raises(QMPError) as e:
            vm.q('blockdev-create', **{'job-id': job_id, 'options': options})
        seen.append(str(e.value))
    # Two jobs of one name: the second is refused while the first lives.
    vm.q('blockdev-create', **{'job-id': 'd0', 'options': {
        'driver': 'file', 'filename': os.path.join(d, 'd0'), 'size': 0}})
    with pytest.raises(QMPError) as e:
        vm.q('blockdev-create', **{'job-id': 'd0', 'options': {
            'driver': 'file', 'filename': os.path.join(d, 'd1'), 'size': 0}})
    seen.append(str(e.value))
    vm.qmp.wait_event('JOB_STATUS_CHANGE', {'id': 'd0',
                                            'status': 'concluded'},
                      timeout=30)
    vm.q('job-dismiss', id='d0')
    return seen


def fmt_info(path):
    """What the script asked for, as qemu-img reads it."""
    i = info(path)
    spec = i['format-specific']['data']
    return {k: v for k, v in {
        'virtual-size': i['virtual-size'],
        'cluster-size': i['cluster-size'],
        'compat': spec['compat'],
        'lazy-refcounts': spec.get('lazy-refcounts'),
        'refcount-bits': spec['refcount-bits'],
        'backing-filename': i.get('backing-filename'),
        'backing-filename-format': i.get('backing-filename-format'),
    }.items() if v is not None}


def run_script(tmp_path, name, binary):
    d = tmp_path / name
    d.mkdir()
    base = str(d / 'base.qcow2')
    qemu_img('create', '-q', '-f', 'qcow2', base, '64M')
    io_ok(base, 'write -P 0xab 0 64k', '-f', 'qcow2')
    # QEMU takes -accel qtest only with -qtest; with no machine, tcg is
    # as idle.
    kw = {'binary': binary, 'accel': 'tcg'} if binary else {'accel': 'qtest'}
    with QmpVm(d, ['-machine', 'none'], serial=False, **kw) as vm:
        seen = script(vm, str(d), base)
    return str(d), seen


def test_blockdev_create_as_qemu(tmp_path):
    d, seen = run_script(tmp_path, 'tandem', None)
    qd, qseen = run_script(tmp_path, 'qemu', QEMU)
    # The same answers, the paths aside.
    assert json.loads(json.dumps(seen).replace(d, 'D')) == \
        json.loads(json.dumps(qseen).replace(qd, 'D'))

    ok = ['created', 'running', 'waiting', 'pending', 'concluded']
    assert [s for s, _ in seen[:6]] == [ok] * 6
    assert seen[7][1][0]['error'] == \
        "Cannot find device='nosuch' nor node-name='nosuch'"
    assert seen[7][0] == ['created', 'running', 'aborting', 'concluded']
    assert seen[8][1][0]['error'] == \
        'Image size must be a multiple of 512 bytes'

    disk, small = os.path.join(d, 'disk.qcow2'), os.path.join(d, 'small.qcow2')
    for path in (disk, small):
        qemu_img('check', path)
    want = fmt_info(disk)
    assert want == {'virtual-size': 64 << 20, 'cluster-size': 4096,
                    'compat': '1.1', 'lazy-refcounts': True,
                    'refcount-bits': 16,
                    'backing-filename': os.path.join(d, 'base.qcow2'),
                    'backing-filename-format': 'qcow2'}
    assert fmt_info(small) == {'virtual-size': 1 << 30,
                               'cluster-size': 512, 'compat': '0.10',
                               'refcount-bits': 16}
    for mode in ('full', 'falloc'):
        st = os.stat(os.path.join(d, mode + '.img'))
        assert st.st_size == 1 << 20 and st.st_blocks * 512 >= 1 << 20
    assert seen[6][1][0]['error'] == 'Unsupported preallocation mode: metadata'
    # QEMU's images of the same options read the same.
    qwant = fmt_info(os.path.join(qd, 'disk.qcow2'))
    qwant['backing-filename'] = qwant['backing-filename'].replace(qd, d)
    assert qwant == want
    assert fmt_info(os.path.join(qd, 'small.qcow2')) == fmt_info(small)


def test_created_image_in_use(tmp_path):
    """The new image opens with blockdev-add over its backing file and
    takes reads and writes (through an NBD export, with qemu-io)."""
    d = str(tmp_path)
    base = os.path.join(d, 'base.qcow2')
    disk = os.path.join(d, 'disk.qcow2')
    sock = os.path.join(d, 'nbd.sock')
    export = 'nbd+unix:///d0?socket=' + sock
    qemu_img('create', '-q', '-f', 'qcow2', base, '4M')
    io_ok(base, 'write -P 0xab 0 64k', '-f', 'qcow2')
    with QmpVm(tmp_path, ['-machine', 'none'], serial=False,
               accel='qtest') as vm:
        run_job(vm, 'c0', {'driver': 'file', 'filename': disk, 'size': 0})
        vm.q('blockdev-add', driver='file', **{'node-name': 'f0'},
             filename=disk)
        _, entry = run_job(vm, 'c1', {'driver': 'qcow2', 'file': 'f0',
                                      'size': 4 << 20, 'backing-file': base,
                                      'backing-fmt': 'qcow2'})
        assert 'error' not in entry[0]
        vm.q('blockdev-add', driver='qcow2', **{'node-name': 'd0'},
             file='f0')
        vm.q('nbd-server-start',
             addr={'type': 'unix', 'data': {'path': sock}})
        vm.q('block-export-add', type='nbd', id='e0',
             **{'node-name': 'd0'}, writable=True)
        io_ok(export, 'read -P 0xab 0 64k', '-f', 'raw')
        io_ok(export, 'write -P 0xcd 64k 64k', '-f', 'raw')
        io_ok(export, 'read -P 0xcd 64k 64k', '-f', 'raw')
    qemu_img('check', disk)
    io_ok(disk, 'read -P 0xab 0 64k', '-r')
    io_ok(disk, 'read -P 0xcd 64k 64k', '-r')
    io_ok(disk, 'write -P 0xef 128k 4k')
    io_ok(disk, 'read -P 0xef 128k 4k', '-r')
    qemu_img('check', disk)
