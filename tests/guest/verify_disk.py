#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks a disk image written by the test guest's workload=disk from the
host side: every record up to the highest one acknowledged by a flush
must be in its slot, intact (README.md "Disk workload" has the format and
the rule; tests/guest/disk/record.c and disk.c are the guest's side).

    verify_disk.py IMAGE [--acked N]

IMAGE is raw, or qcow2 (read through `qemu-img convert`). N is the highest
acknowledged record the test saw on the serial line (`TG disk acked=N`);
the superblock's own figure is used when it is higher. Prints one line:
exit 0 `OK: ...`, 1 `BAD: slot S ...` (the first bad slot), 2 usage or an
image that is not one of ours. From Python: verify(data, acked) returns
(ok, message)."""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

BLOCK = 4096
SB_MAGIC = int.from_bytes(b'TGDISKSB', 'little')
REC_MAGIC = int.from_bytes(b'TGRECORD', 'little')
VERSION = 1
SLOTS_MAX = 16384
RAND_MUL = 0x9e3779b97f4a7c15
MASK64 = (1 << 64) - 1
SEQ, RAND = 0, 1


def mix64(x):
    """splitmix64's finaliser, as record.c."""
    x = (x + 0x9e3779b97f4a7c15) & MASK64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & MASK64
    return x ^ (x >> 31)


class Superblock:
    FMT = '<QIIQQIIQQII'            # 0x40 bytes, crc last

    def __init__(self, block):
        (self.magic, self.version, self.block, self.disk_id, self.slots, self.pattern,
         self.window, self.boot, self.acked, _, self.crc) = struct.unpack_from(self.FMT, block)
        self.raw = block[:0x40]

    def problem(self):
        if self.magic != SB_MAGIC:
            return 'no superblock (not a disk of workload=disk)'
        if self.crc != zlib.crc32(self.raw[:0x3c]):
            return 'superblock checksum is wrong'
        if self.version != VERSION or self.block != BLOCK:
            return 'superblock version %d block %d not understood' % (self.version, self.block)
        if not 2 <= self.slots <= SLOTS_MAX or self.slots & (self.slots - 1):
            return 'superblock slot count %d is impossible' % self.slots
        if self.pattern not in (SEQ, RAND):
            return 'superblock pattern %d is unknown' % self.pattern
        return None

    def lap_offset(self, lap):
        return mix64(lap ^ self.disk_id) & (self.slots - 1)

    def slot_of(self, n):
        i, lap = (n - 1) % self.slots, (n - 1) // self.slots
        if self.pattern == SEQ:
            return i
        return (RAND_MUL * i + self.lap_offset(lap)) & (self.slots - 1)

    def rec_for(self, slot, lap):
        """The record number lap `lap` puts in slot."""
        i = slot
        if self.pattern == RAND:
            inv = pow(RAND_MUL, -1, 1 << 64)
            i = (inv * (slot - self.lap_offset(lap))) & (self.slots - 1)
        return lap * self.slots + i + 1

    def expected_in(self, slot, acked):
        """Highest record <= acked that belongs in slot, or 0."""
        if not acked:
            return 0
        lap = (acked - 1) // self.slots
        e = self.rec_for(slot, lap)
        if e <= acked:
            return e
        return self.rec_for(slot, lap - 1) if lap else 0


def record_problem(sb, block, slot):
    """(record number or 0, None if the block is a good record for slot, else why)."""
    magic, n, disk_id, _boot, rslot = struct.unpack_from('<QQQQI', block)
    n_tail, crc = struct.unpack_from('<II', block, BLOCK - 8)
    if magic != REC_MAGIC:
        return 0, 'no record magic'
    if crc != zlib.crc32(block[:BLOCK - 4]):
        return n, 'bad checksum'
    if disk_id != sb.disk_id:
        return n, 'record of another disk'
    if n_tail != n & 0xffffffff or not n:
        return n, 'torn record (head and tail differ)'
    if rslot != slot or sb.slot_of(n) != slot:
        return n, 'record in the wrong slot'
    return n, None


def verify(data, acked=0):
    """Applies the rule to an image's bytes; returns (ok, message)."""
    if len(data) < BLOCK:
        return False, 'image shorter than one block'
    sb = Superblock(data[:BLOCK])
    why = sb.problem()
    if why:
        return False, why
    if len(data) < (1 + sb.slots) * BLOCK:
        return False, 'image too short for %d slots' % sb.slots
    a = max(acked, sb.acked)
    w = sb.window
    present = 0
    for s in range(sb.slots):
        block = data[(1 + s) * BLOCK:(2 + s) * BLOCK]
        e = sb.expected_in(s, a)
        n, why = record_problem(sb, block, s)
        if why is None:
            present += 1
            if n < e:
                return False, 'BAD: slot %d holds record %d, older than acknowledged record %d' % (
                    s, n, e)
            if n > a + w:
                return False, 'BAD: slot %d holds record %d, beyond acked %d + window %d' % (
                    s, n, a, w)
        elif e and sb.rec_for(s, (e - 1) // sb.slots + 1) > a + w:
            return False, 'BAD: slot %d should hold record %d: %s (found %d)' % (s, e, why, n)
    return True, 'OK: acked=%d slots=%d pattern=%s boot=%d records=%d disk_id=%#x' % (
        a, sb.slots, 'rand' if sb.pattern == RAND else 'seq', sb.boot, present, sb.disk_id)


def read_image(path):
    with open(path, 'rb') as f:
        head = f.read(4)
    if head != b'QFI\xfb':
        with open(path, 'rb') as f:
            return f.read()
    fd, raw = tempfile.mkstemp(prefix='verify-disk-', suffix='.raw')
    os.close(fd)
    try:
        subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', path, raw],
                       check=True, capture_output=True)
        with open(raw, 'rb') as f:
            return f.read()
    finally:
        os.unlink(raw)


def main(argv):
    args = argv[1:]
    acked = 0
    if len(args) == 3 and args[1] == '--acked' and args[2].isdigit():
        acked = int(args[2])
        args = args[:1]
    if len(args) != 1:
        print('usage: verify_disk.py IMAGE [--acked N]', file=sys.stderr)
        return 2
    ok, msg = verify(read_image(args[0]), acked)
    print(msg if ok or msg.startswith('BAD') else 'BAD: ' + msg)
    if not ok and not msg.startswith('BAD'):
        return 2
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
