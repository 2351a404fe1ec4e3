#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bulk TCP client for bench/colo-net: streams BYTES through the test
guest's TCP echo service (port 7) on one connection and reads them back,
checking every byte, then prints one line

    bulk bytes=N seconds=S mbps=X mismatches=M

(mbps: MB/s, 10^6 bytes, of payload each way; seconds from the first byte
sent to the last byte echoed). The echo makes the guest send as much as
it receives, so both directions cross colo-compare under COLO.

Exits 1 with a `bulk error:` line when the connection fails, is reset or
stalls for --timeout seconds. usage: tcp-bulk.py HOST [--port P]
[--bytes N] [--timeout S]
"""
import argparse
import socket
import sys
import threading
import time

CHUNK = 65536


def pattern(offset, size):
    """The bytes at offset..offset+size of the stream: a counter that does
    not repeat on a chunk boundary, so a lost, duplicated or reordered
    chunk is a mismatch."""
    return bytes((i * 7 + (i >> 8)) & 0xff for i in range(offset, offset + size))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('host')
    ap.add_argument('--port', type=int, default=7)
    ap.add_argument('--bytes', type=int, default=32 << 20)
    ap.add_argument('--timeout', type=float, default=30)
    args = ap.parse_args()

    # One period of the pattern, reused: computing it per chunk would
    # make the client, not the path, the bottleneck.
    period = pattern(0, 256 * 256 + CHUNK)
    try:
        sock = socket.create_connection((args.host, args.port), args.timeout)
    except OSError as e:
        print('bulk error: connect %s:%d: %s' % (args.host, args.port, e))
        return 1
    sock.settimeout(args.timeout)
    failure = []

    def send():
        sent = 0
        try:
            while sent < args.bytes:
                n = min(CHUNK, args.bytes - sent)
                off = sent % (256 * 256)
                sock.sendall(period[off:off + n])
                sent += n
        except OSError as e:
            failure.append('send after %d bytes: %s' % (sent, e))

    t0 = time.monotonic()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    got, mismatches = 0, 0
    try:
        while got < args.bytes:
            data = sock.recv(CHUNK)
            if not data:
                failure.append('connection closed after %d bytes echoed' % got)
                break
            off = got % (256 * 256)
            if data != period[off:off + len(data)]:
                mismatches += 1
            got += len(data)
    except OSError as e:
        failure.append('receive after %d bytes echoed: %s' % (got, e))
    seconds = time.monotonic() - t0
    sock.close()
    if failure:
        print('bulk error: %s' % failure[0])
        return 1
    print('bulk bytes=%d seconds=%.3f mbps=%.2f mismatches=%d' % (
        got, seconds, got / seconds / 1e6, mismatches))
    return 0


if __name__ == '__main__':
    sys.exit(main())
