# SPDX-License-Identifier: GPL-2.0-or-later
"""virsh dump --memory-only, without libvirt: libvirt 9.0's exact QMP
sequence (query-dump-guest-memory-capability for the format, getfd
"dump" with the file's fd over the socket (SCM_RIGHTS), dump-guest-memory
with paging false, protocol fd:dump, format elf and detach true, then
DUMP_COMPLETED and query-dump) against Tandem under -accel qtest and
against Debian's QEMU 7.2 on the same -m (under TCG with -S: Debian's
QEMU has no qtest accelerator), and the two files compared.

What must agree: both ET_CORE, a PT_NOTE first, PT_LOADs with
p_vaddr = p_paddr, p_flags 0, p_align 0, back to back after the notes;
QEMU's PT_LOADs, once its BIOS flash (the 256 KiB below 4 GiB, not RAM)
is left out and the pieces its PAM regions cut pc.ram into are joined,
are Tandem's. What may differ, and why: QEMU writes EM_386 while its
vCPU is not in long mode (Tandem always writes EM_X86_64), QEMU adds
two section headers, and QEMU's TCG vCPU gives notes where Tandem's
qtest vCPUs have no registers to give. The errors for bad requests are
compared word for word. Then Tandem's file in gdb: the test guest the
loader put at 1 MiB reads back through the core."""
import os
import shutil
import struct
import subprocess
import sys

import pytest

from tandem import GUEST, QEMU, ROOT, Vm, needs_tool

sys.path.insert(0, os.path.join(ROOT, 'scripts', 'qmp'))
from qmp import QMPClient, QMPError  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(QEMU),
                                reason='qemu-system-x86 not installed')

MIB = 1 << 20
GIB = 1 << 30
BIOS = (4 * GIB - 256 * 1024, 256 * 1024)   # QEMU's pc.bios, not RAM
PT_NOTE, PT_LOAD = 4, 1


class Monitored:
    """A VMM with a QMP socket: Tandem under qtest, or QEMU under TCG."""

    def __init__(self, tmp_path, who, mem, extra=()):
        self.sock = str(tmp_path / (who + '-qmp.sock'))
        args = ['-machine', 'pc', '-m', mem,
                '-qmp', 'unix:%s,server=on,wait=off' % self.sock] + list(extra)
        if who == 'qemu':
            self.vm = Vm(tmp_path, args + ['-S'], binary=QEMU, accel='tcg',
                         name=who, serial=False)
        else:
            self.vm = Vm(tmp_path, args, accel='qtest', name=who, serial=False)
        self.vm.start()
        self.qmp = QMPClient(timeout=60)
        self.qmp.connect(self.sock, wait=20)

    def error(self, name, args):
        with pytest.raises(QMPError) as e:
            self.qmp.cmd(name, args)
        return e.value.desc

    def close(self):
        self.qmp.close()
        self.vm.kill()


@pytest.fixture
def vms(request, tmp_path):
    started = []

    def start(who, mem, extra=()):
        m = Monitored(tmp_path, who, mem, extra)
        started.append(m)
        return m
    yield start
    for m in started:
        m.close()


def libvirt_dump(m, path):
    """libvirt 9.0's qemuDumpToFd and qemuDumpWaitForCompletion, as the
    monitor sees them. Returns (the event's data, query-dump's answer)."""
    # libvirt's capability probe: DUMP_COMPLETED in the schema means it
    # may detach and wait for the event.
    schema = m.qmp.cmd('query-qmp-schema')
    assert any(e['name'] == 'DUMP_COMPLETED' for e in schema)
    assert 'elf' in m.qmp.cmd('query-dump-guest-memory-capability')['formats']
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        assert m.qmp.cmd('getfd', {'fdname': 'dump'}, fds=[fd]) == {}
    finally:
        os.close(fd)
    assert m.qmp.cmd('dump-guest-memory', {
        'paging': False, 'protocol': 'fd:dump', 'format': 'elf',
        'detach': True}) == {}
    ev = m.qmp.wait_event('DUMP_COMPLETED', timeout=120)
    return ev.data, m.qmp.cmd('query-dump')


def elf_layout(path):
    """(e_type, [(p_type, offset, vaddr, paddr, filesz, memsz, flags,
    align)], file size) from an ELF64 little-endian file."""
    with open(path, 'rb') as f:
        ehdr = f.read(64)
        assert ehdr[:4] == b'\x7fELF' and ehdr[4] == 2 and ehdr[5] == 1
        e_type, = struct.unpack_from('<H', ehdr, 16)
        phoff, = struct.unpack_from('<Q', ehdr, 32)
        phentsize, phnum = struct.unpack_from('<HH', ehdr, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    phdrs = []
    for i in range(phnum):
        p_type, p_flags, off, vaddr, paddr, filesz, memsz, align = \
            struct.unpack_from('<IIQQQQQQ', table, i * phentsize)
        phdrs.append((p_type, off, vaddr, paddr, filesz, memsz, p_flags, align))
    return e_type, phdrs, os.path.getsize(path)


def check_shape(path):
    """What both VMMs' files share; returns the PT_LOADs as (paddr, size)."""
    e_type, phdrs, size = elf_layout(path)
    assert e_type == 4                                  # ET_CORE
    assert phdrs[0][0] == PT_NOTE
    end = phdrs[0][1] + phdrs[0][4]
    loads = []
    for p_type, off, vaddr, paddr, filesz, memsz, flags, align in phdrs[1:]:
        assert p_type == PT_LOAD
        assert vaddr == paddr and filesz == memsz
        assert (flags, align) == (0, 0)
        assert off == end, 'PT_LOADs not back to back in %s' % path
        end += filesz
        loads.append((paddr, filesz))
    assert size >= end
    return loads


def as_ram(qemu_loads):
    """QEMU's PT_LOADs as Tandem's pc has RAM: without the BIOS flash,
    neighbouring pieces joined."""
    out = []
    for paddr, size in qemu_loads:
        if (paddr, size) == BIOS:
            continue
        if out and out[-1][0] + out[-1][1] == paddr:
            out[-1] = (out[-1][0], out[-1][1] + size)
        else:
            out.append((paddr, size))
    return out


def test_libvirt_sequence_matches_qemu(vms, tmp_path):
    results = {}
    for who in ('qemu', 'tandem'):
        m = vms(who, '256')
        path = str(tmp_path / (who + '.elf'))
        event, query = libvirt_dump(m, path)
        assert set(event) == {'result'}, event           # no 'error'
        assert set(event['result']) == {'status', 'completed', 'total'}
        assert event['result']['status'] == 'completed'
        assert event['result']['completed'] == event['result']['total']
        assert query == event['result']
        # The fd is the dump's now; closefd finds no such name.
        assert m.error('closefd', {'fdname': 'dump'}) == \
            "File descriptor named 'dump' not found"
        assert m.qmp.hmp('info dump') == 'Status: completed\r\n'
        loads = check_shape(path)
        assert sum(size for _, size in loads) == query['total']
        results[who] = loads
    assert results['tandem'] == [(0, 256 * MIB)]
    assert as_ram(results['qemu']) == results['tandem'], results


def test_layout_across_4g_matches_qemu(vms, tmp_path):
    """-m 4G (3 GiB below 4 GiB, 1 GiB above, on both): the same
    begin/length over the split, 1 MiB on each side."""
    results = {}
    for who in ('qemu', 'tandem'):
        m = vms(who, '4G')
        path = str(tmp_path / (who + '-4g.elf'))
        m.qmp.cmd('dump-guest-memory', {
            'paging': False, 'protocol': 'file:' + path,
            'begin': 3 * GIB - MIB, 'length': GIB + 2 * MIB}, timeout=60)
        ev = m.qmp.wait_event('DUMP_COMPLETED', timeout=60)
        assert ev.data['result']['status'] == 'completed'
        results[who] = check_shape(path)
    assert results['tandem'] == [(3 * GIB - MIB, MIB), (4 * GIB, MIB)]
    assert as_ram(results['qemu']) == results['tandem'], results


def test_layout_below_3_5g_matches_qemu(vms, tmp_path):
    """-m 3300M: all RAM below 4 GiB on both (QEMU splits only from 3.5
    GiB on), so a dump from 1 MiB below its end to 4 GiB + 1 MiB holds
    that last MiB and nothing above 4 GiB."""
    results = {}
    top = 3300 * MIB
    for who in ('qemu', 'tandem'):
        m = vms(who, '3300M')
        path = str(tmp_path / (who + '-3300m.elf'))
        m.qmp.cmd('dump-guest-memory', {
            'paging': False, 'protocol': 'file:' + path,
            'begin': top - MIB, 'length': 4 * GIB + 2 * MIB - top},
            timeout=60)
        ev = m.qmp.wait_event('DUMP_COMPLETED', timeout=60)
        assert ev.data['result']['status'] == 'completed'
        results[who] = check_shape(path)
    assert results['tandem'] == [(top - MIB, MIB)]
    assert as_ram(results['qemu']) == results['tandem'], results


BAD_REQUESTS = [
    {'protocol': 'foo:bar'},
    {'protocol': 'fd:nosuch'},
    {'protocol': 'file:/nonexistent/dir/x'},
    {'protocol': 'file:/dev/null', 'begin': 0},
    {'protocol': 'file:/dev/null', 'length': 4096},
    {'protocol': 'bad', 'format': 'kdump-lzo'},
    {'protocol': 'bad', 'format': 'kdump-zlib', 'length': 1},
    {'protocol': 'file:/dev/null', 'begin': 0, 'length': 0},
    {'protocol': 'file:/dev/null', 'begin': -1, 'length': 4096},
    {'protocol': 'file:/dev/null', 'begin': 1 << 40, 'length': 4096},
]


def test_errors_match_qemu(vms):
    said = {}
    for who in ('qemu', 'tandem'):
        m = vms(who, '64')
        said[who] = [m.error('dump-guest-memory', dict(paging=False, **a))
                     for a in BAD_REQUESTS]
        said[who].append(m.qmp.hmp('dump-guest-memory /dev/null 0x1000'))
        said[who].append(m.qmp.hmp('dump-guest-memory -l /dev/null'))
    assert said['tandem'] == said['qemu']


@needs_tool('gdb', 'gdb')
def test_gdb_reads_the_dump(vms, tmp_path):
    """The loader put the test guest's first segment at 1 MiB; gdb reads
    it back through the core (p_vaddr = p_paddr: guest-physical)."""
    m = vms('tandem', '64', ['-kernel', GUEST])
    path = str(tmp_path / 'gdb.elf')
    libvirt_dump(m, path)
    with open(GUEST, 'rb') as f:
        image = f.read()
    # The test guest is a 32-bit multiboot ELF: its first PT_LOAD.
    assert image[:5] == b'\x7fELF\x01'
    phoff, = struct.unpack_from('<I', image, 28)
    p_type, off, _, paddr = struct.unpack_from('<IIII', image, phoff)
    assert p_type == PT_LOAD
    want = image[off:off + 16]
    out = subprocess.run(
        [shutil.which('gdb'), '-nx', '-batch', '-ex', 'core-file ' + path,
         '-ex', 'x/16xb 0x%x' % paddr],
        capture_output=True, text=True, timeout=60).stdout
    got = bytes(int(b, 16) for line in out.splitlines()
                if line.startswith('0x%x' % paddr) or line.startswith('0x%x' % (paddr + 8))
                for b in line.split(':', 1)[1].split())
    assert got == want, out
