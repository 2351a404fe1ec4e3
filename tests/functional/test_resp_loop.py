# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/resp-loop.py, the client that `make run`'s network demo keeps
writing through a COLO failover, against the test guest's RESP server
(workload=serve) behind slirp's hostfwd: on Debian's QEMU (TCG) here, on
Tandem where KVM is usable. Its verdicts are what the demo reports, so
both the "ok" and the failure paths are checked."""
import os
import re
import socket
import struct
import subprocess
import sys
import threading

import pytest

from tandem import GUEST, QEMU, ROOT, TANDEM, Vm, free_port, needs_kvm

SCRIPT = os.path.join(ROOT, 'scripts', 'resp-loop.py')
BOOT_TIMEOUT = 60

VMMS = [
    pytest.param((QEMU, 'tcg'), id='qemu-tcg', marks=pytest.mark.skipif(
        not os.path.exists(QEMU), reason='qemu-system-x86 not installed')),
    pytest.param((TANDEM, 'kvm'), id='tandem-kvm', marks=needs_kvm),
]


@pytest.fixture(params=VMMS)
def served(request, tmp_path):
    """(vm, port): the guest serving RESP on 127.0.0.1:port."""
    binary, accel = request.param
    port = free_port()
    vm = Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-append',
                       'workload=serve dhcp netlog=0',
                       '-device', 'virtio-net-pci,netdev=n0',
                       '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:6379' % port],
            binary=binary, accel=accel, name='serve')
    with vm:
        vm.wait_for(r'^TG serve ready', timeout=BOOT_TIMEOUT)
        yield vm, port


def run_loop(*args, stdin=subprocess.DEVNULL, timeout=120):
    return subprocess.run([sys.executable, SCRIPT, *args], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


def test_writes_then_reads_every_key_back(served):
    vm, port = served
    p = run_loop('127.0.0.1', str(port), '--keys', '50', '--interval', '0.2',
                 '--seconds', '1.5')
    lines = p.stdout.splitlines()
    assert p.returncode == 0, p.stdout + p.stderr
    ticks = [int(m.group(1)) for m in
             (re.match(r'^tick acked=(\d+) rate=\d+$', ln) for ln in lines[:-1]) if m]
    assert len(ticks) == len(lines) - 1 and ticks == sorted(ticks), lines
    m = re.match(r'^verify acked=(\d+) keys=(\d+) ok$', lines[-1])
    assert m, lines
    acked, keys = int(m.group(1)), int(m.group(2))
    assert acked >= ticks[-1] and keys == min(50, acked), lines
    # The guest holds what the client says: 50 keys (fewer if it wrote fewer).
    dbsize = socket.create_connection(('127.0.0.1', port), timeout=10)
    with dbsize:
        dbsize.sendall(b'DBSIZE\r\n')
        assert dbsize.recv(64) == b':%d\r\n' % keys


def test_stops_at_end_of_stdin(served):
    """The demo ends the write phase by closing the client's stdin."""
    vm, port = served
    proc = subprocess.Popen([sys.executable, SCRIPT, '127.0.0.1', str(port),
                             '--interval', '0.2'], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith('tick acked='), first
    proc.stdin.close()
    rest = proc.stdout.read()
    assert proc.wait(60) == 0, first + rest
    assert re.search(r'^verify acked=\d+ keys=\d+ ok$', rest, re.M), rest


class ForgetfulServer:
    """A RESP server in a thread that acknowledges every SET but forgets
    key `forget` (GET answers nil): what a failover that lost work shows."""

    def __init__(self, forget):
        self.forget = forget.encode()
        self.srv = socket.socket()
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.store = {}
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.srv.accept()
        buf = b''
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while True:
                    args, buf = self.parse(buf)
                    if args is None:
                        break
                    if args[0] == b'SET':
                        self.store[args[1]] = args[2]
                        conn.sendall(b'+OK\r\n')
                    else:
                        val = None if args[1] == self.forget else self.store.get(args[1])
                        conn.sendall(b'$-1\r\n' if val is None else
                                     b'$%d\r\n%s\r\n' % (len(val), val))

    @staticmethod
    def parse(buf):
        """(arguments, rest) of one complete array command, or (None, buf)."""
        lines = buf.split(b'\r\n')
        if len(lines) < 2:
            return None, buf
        n = int(lines[0][1:])
        if len(lines) < 1 + 2 * n + 1:
            return None, buf
        args = [lines[2 + 2 * k] for k in range(n)]
        return args, b'\r\n'.join(lines[1 + 2 * n:])


def test_a_lost_write_is_reported():
    srv = ForgetfulServer('k3')
    p = run_loop('127.0.0.1', str(srv.port), '--keys', '20', '--interval', '0.2',
                 '--seconds', '0.5', '--timeout', '10')
    assert p.returncode == 1, p.stdout
    last = p.stdout.splitlines()[-1]
    m = re.match(r"^verify acked=(\d+) keys=20 lost=1 first-lost=k3 \(wanted (\d+), got None\)$",
                 last)
    assert m, p.stdout
    assert int(m.group(2)) % 20 == 3 and int(m.group(2)) <= int(m.group(1)), last
    assert srv.store[b'k3'] == m.group(2).encode()


def test_connection_refused_and_reset_are_errors(tmp_path):
    port = free_port()
    p = run_loop('127.0.0.1', str(port), '--timeout', '5')
    assert p.returncode == 1
    assert re.match(r'^error acked=0 cannot connect to 127\.0\.0\.1:%d: ' % port, p.stdout), p.stdout

    # A server that acknowledges three SETs, then resets the connection.
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        buf, answered = b'', 0
        while buf.count(b'SET') < 4:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
            while answered < min(buf.count(b'SET'), 3):
                conn.sendall(b'+OK\r\n')
                answered += 1
        # SO_LINGER with a zero timeout: close() sends a RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        conn.close()
    t = threading.Thread(target=serve)
    t.start()
    p = run_loop('127.0.0.1', str(srv.getsockname()[1]), '--timeout', '10')
    t.join()
    srv.close()
    assert p.returncode == 1, p.stdout
    assert re.match(r'^error acked=3 ', p.stdout.splitlines()[-1]), p.stdout
