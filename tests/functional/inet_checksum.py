# SPDX-License-Identifier: GPL-2.0-or-later
"""The Internet checksum (RFC 1071) for the hand-made frames of the
network tests. Snippets that run in a network namespace (NetNs.python)
import it through NetNs.python's sys.path entry for this directory."""
import struct


def csum(b):
    """One's complement of the one's complement sum of 16-bit words."""
    if len(b) % 2:
        b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
