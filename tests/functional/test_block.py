# SPDX-License-Identifier: GPL-2.0-or-later
"""-blockdev and -drive on the command line: errors are one line with exit
status 1 and name the node and the file; a FIFO never hangs the start; a
good option gets past the block layer (to the missing-KVM or missing-
kernel error that follows). No KVM needed."""
import json
import os
import subprocess

import pytest

from tandem import TANDEM, run


def one_line_error(args):
    p = run(args, timeout=20)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith('tandem-system-x86_64: ')
    return lines[0]


@pytest.fixture
def qcow2(tmp_path):
    path = tmp_path / 'disk.qcow2'
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path), '1M'],
                   check=True)
    return str(path)


def test_drive_missing_file(tmp_path):
    missing = str(tmp_path / 'nope.img')
    line = one_line_error(['-drive', f'file={missing},if=none,id=d0'])
    assert f"(file '{missing}'): Could not open '{missing}': No such file" in line


def test_blockdev_dotted_error_names_node(tmp_path):
    missing = str(tmp_path / 'x.qcow2')
    line = one_line_error(['-blockdev', 'driver=qcow2,node-name=d0,'
                           f'file.driver=file,file.filename={missing}'])
    assert "node '" in line and f"(file '{missing}')" in line


def test_blockdev_json_duplicate_node(qcow2):
    opts = '{"driver":"file","node-name":"f0","filename":"%s"}' % qcow2
    line = one_line_error(['-blockdev', opts, '-blockdev', opts])
    assert "Duplicate nodes with node-name='f0'" in line


@pytest.mark.parametrize('opt,message', [
    ('driver=qcow2,node-name=d0,file.driver=file,file.filename=F,file.aio=bogus',
     "does not accept value 'bogus'"),
    ('driver=file,filename=F', "'node-name' must be specified for the root node"),
    ('driver=file,node-name=9bad,filename=F', "Invalid node-name: '9bad'"),
    ('driver=file,node-name=f,filename=F,aio=native',
     'aio=native was specified, but it requires cache.direct=on'),
    ('driver=file,node-name=f,filename=F,read-only=maybe',
     "Parameter 'read-only' expects 'on' or 'off'"),
])
def test_blockdev_bad_options(qcow2, opt, message):
    line = one_line_error(['-blockdev', opt.replace('=F', '=' + qcow2)])
    assert message in line


@pytest.mark.parametrize('opt,message', [
    ('if=ide', '-drive if=ide is not supported'),
    ('if=none,cache=sometimes', "invalid cache option 'sometimes'"),
    ('if=none,bogus=1', "Invalid parameter 'bogus'"),
    ('if=none,format=vmdk', "does not accept value 'vmdk'"),
])
def test_drive_bad_options(qcow2, opt, message):
    line = one_line_error(['-drive', f'file={qcow2},{opt}'])
    assert message in line


@pytest.mark.parametrize('opt,message', [
    ('driver=null-co,format=raw', "Cannot specify both 'driver' and 'format'"),
    ('driver=null-co,bogus=1', "Parameter 'drive.bogus' is unexpected"),
    ('driver=null-co,snapshot=on', 'snapshot=on needs a file'),
    ('driver=null-co,size=big', "Parameter 'size' expects a non-negative"),
])
def test_drive_driver_bad_options(opt, message):
    line = one_line_error(['-drive', f'if=none,id=d0,{opt}'])
    assert message in line


def test_drive_driver_options_reach_the_node():
    """-drive driver=X: the keys -drive does not know are the driver's
    options (QEMU's iotests spelling), here on the real binary under
    -accel qtest."""
    qmp = ('{"execute":"qmp_capabilities"}\n{"execute":"query-block"}\n'
           '{"execute":"quit"}\n')
    p = subprocess.run([TANDEM, '-accel', 'qtest', '-display', 'none',
                        '-nodefaults', '-qmp', 'stdio', '-drive',
                        'if=none,id=d0,driver=null-co,size=1048576,'
                        'read-zeroes=on'],
                       input=qmp, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    block = json.loads(p.stdout.splitlines()[2])['return']
    assert [b['device'] for b in block] == ['d0']
    assert block[0]['inserted']['drv'] == 'null-co'
    assert block[0]['inserted']['image']['virtual-size'] == 1048576


def test_fifo_is_refused_at_once(tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    line = one_line_error(['-blockdev',
                           f'driver=file,node-name=f0,filename={fifo}'])
    assert "'file' driver requires" in line and 'regular file' in line


def test_good_options_pass_the_block_layer(qcow2):
    """A valid -drive and -blockdev do not stop the start: whatever error
    comes next (no kernel, no KVM) is not the block layer's."""
    p = run(['-drive', f'file={qcow2},if=none,id=d0,cache=none,aio=io_uring',
             '-blockdev', 'driver=null-co,node-name=n0'], timeout=20)
    assert p.returncode == 1
    assert 'no kernel given' in p.stderr, p.stderr


def named_nodes(*args):
    """query-named-block-nodes of Tandem started with args (-accel
    qtest): {node-name: (drv, file, backing_file)}."""
    qmp = ('{"execute":"qmp_capabilities"}\n'
           '{"execute":"query-named-block-nodes"}\n{"execute":"quit"}\n')
    p = subprocess.run([TANDEM, '-accel', 'qtest', '-display', 'none',
                        '-nodefaults', '-qmp', 'stdio'] + list(args),
                       input=qmp, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    nodes = json.loads(p.stdout.splitlines()[2])['return']
    return {n['node-name']: (n['drv'], n['file'], n.get('backing_file'))
            for n in nodes}


def overlays_of(nodes, image):
    return [n for n in nodes.values() if n[0] == 'qcow2' and n[2] == image]


@pytest.mark.parametrize('where', ['before', 'after'])
def test_snapshot_gives_every_drive_an_overlay(tmp_path, where):
    """-snapshot anywhere on the line (QEMU applies it after the parse):
    each -drive with an image gets a temporary qcow2 overlay whose
    backing file is the image, so the image is never written; a -drive
    without an image (driver=null-co) has nothing to protect."""
    a, b = str(tmp_path / 'a.raw'), str(tmp_path / 'b.raw')
    for path in (a, b):
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', path, '1M'],
                       check=True)
    drives = ['-drive', f'file={a},format=raw,if=none,id=d0',
              '-drive', f'file={b},format=raw,if=none,id=d1',
              '-drive', 'if=none,id=d2,driver=null-co']
    args = (['-snapshot'] + drives) if where == 'before' \
        else (drives + ['-snapshot'])
    nodes = named_nodes(*args)
    assert len(overlays_of(nodes, a)) == 1, nodes
    assert len(overlays_of(nodes, b)) == 1, nodes
    assert not [n for n in nodes.values() if n[2] is None and n[0] == 'qcow2']


def test_snapshot_off_wins_and_blockdev_is_left_alone(tmp_path):
    """As in QEMU: snapshot=off on a -drive overrides -snapshot, and
    -blockdev nodes are not -snapshot's business."""
    a, b = str(tmp_path / 'a.raw'), str(tmp_path / 'b.raw')
    for path in (a, b):
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', path, '1M'],
                       check=True)
    nodes = named_nodes('-snapshot',
                        '-drive', f'file={a},format=raw,if=none,id=d0,'
                        'snapshot=off',
                        '-blockdev', f'driver=file,node-name=f1,filename={b}')
    assert not overlays_of(nodes, a) and not overlays_of(nodes, b), nodes
    assert nodes['f1'] == ('file', b, None)


def test_without_snapshot_no_overlay(tmp_path):
    a = str(tmp_path / 'a.raw')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', a, '1M'],
                   check=True)
    nodes = named_nodes('-drive', f'file={a},format=raw,if=none,id=d0')
    assert not overlays_of(nodes, a), nodes
