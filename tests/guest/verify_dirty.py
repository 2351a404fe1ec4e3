#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Verify the Tandem test guest's dirty working set in a memory dump.

The dump is raw guest-physical memory starting at address 0 (QMP
"pmemsave 0 SIZE FILE"), taken while the guest was stopped.  The status
page (README.md) says where the working set is and how far the guest got
(dirty_seq = pass << 32 | cursor).  The rule, with n pages, pass P and
cursor k:

  * every page i holds index i at offset 8 and the magic at offset 16;
  * pages [0, k) hold P at offset 0 and at offset 4088 (the tail);
  * pages (k, n) hold P-1 at both places (unchecked while P == 0);
  * page k, if k < n, may be caught mid-write: head and tail are each
    P or P-1 (for P == 0 it is not checked).

A non-zero guest "errors" counter (status page 0x88) also fails the check.
Usable as a script (exit 0 ok, 1 bad, 2 usage; one summary line) or as a
module: verify(data) -> (ok, message).
"""

import struct
import sys

STATUS_ADDR = 0x200000
STATUS_MAGIC = 0x5355544154534754   # "TGSTATUS"
DIRTY_MAGIC = 0x5954524944475400    # "\0TGDIRTY"
WL_DIRTY = 2
PAGE = 4096


def read_status(data):
    """Return the status page fields verify() needs, or raise ValueError."""
    if len(data) < STATUS_ADDR + PAGE:
        raise ValueError("dump too small to hold the status page at 0x%x"
                         % STATUS_ADDR)
    magic, version, workload = struct.unpack_from("<QII", data, STATUS_ADDR)
    if magic != STATUS_MAGIC:
        raise ValueError("no status page magic at 0x%x (found 0x%x)"
                         % (STATUS_ADDR, magic))
    seq, = struct.unpack_from("<Q", data, STATUS_ADDR + 0x20)
    base, size = struct.unpack_from("<QQ", data, STATUS_ADDR + 0x30)
    errors, = struct.unpack_from("<Q", data, STATUS_ADDR + 0x88)
    return {"version": version, "workload": workload, "pass": seq >> 32,
            "cursor": seq & 0xffffffff, "base": base, "size": size,
            "errors": errors}


def verify(data):
    """Check a dump (bytes-like, starting at GPA 0). Returns (ok, message)."""
    try:
        st = read_status(data)
    except ValueError as e:
        return False, "BAD: " + str(e)
    if st["workload"] != WL_DIRTY:
        return False, "BAD: workload id %d is not dirty (%d)" % (
            st["workload"], WL_DIRTY)
    base, n = st["base"], st["size"] // PAGE
    p, k = st["pass"], st["cursor"]
    if n == 0 or k > n:
        return False, "BAD: inconsistent status: %d pages, cursor %d" % (n, k)
    if len(data) < base + n * PAGE:
        return False, "BAD: dump (%d bytes) ends before the working set " \
            "end 0x%x" % (len(data), base + n * PAGE)

    mv = memoryview(data)
    # In pass 0 pages from the cursor on still hold whatever was there.
    for i in range(k if p == 0 else n):
        off = base + i * PAGE
        head, index, magic = struct.unpack_from("<QQQ", mv, off)
        tail, = struct.unpack_from("<Q", mv, off + PAGE - 8)
        if i < k:
            want = (p,)
        elif i == k:
            want = (p, p - 1)
        else:
            want = (p - 1,)
        if index != i or magic != DIRTY_MAGIC or head not in want \
                or tail not in want:
            return False, (
                "BAD: page %d (gpa 0x%x): pass=%d tail=%d index=%d "
                "magic=0x%x; expected index %d, pass %s "
                "(status pass %d cursor %d of %d)" % (
                    i, off, head, tail, index, magic, i,
                    "/".join(str(w) for w in want), p, k, n))
    if st["errors"]:
        return False, ("BAD: memory consistent (pass %d cursor %d) but the "
                       "guest counted %d mismatches earlier" % (
                           p, k, st["errors"]))
    rest = "not yet written (first pass)" if p == 0 else "hold %d" % (p - 1)
    return True, ("OK: %d pages at 0x%x, pass %d cursor %d: pages < %d hold "
                  "%d, the rest %s" % (n, base, p, k, k, p, rest))


def main(argv):
    if len(argv) != 2:
        print("usage: verify_dirty.py DUMP   (raw guest memory from GPA 0)",
              file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        data = f.read()
    ok, msg = verify(data)
    print(msg)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
