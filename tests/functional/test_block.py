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
