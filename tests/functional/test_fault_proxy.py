# SPDX-License-Identifier: GPL-2.0-or-later
"""The TCP fault proxy of tandem.py that the migration and COLO tests put
between two peers, checked here without a guest (those tests need KVM):
a real echo server behind it, and a client in front. Bytes pass through
in both directions and in order; stall holds them (one direction or
both) with the connections open until resume, which delivers everything
held; drop discards from then on without closing; cut closes both
connections; delay slows one direction; the hooks see every chunk and
can rewrite it or act after it went."""
import socket
import threading
import time

import pytest

from tandem import FaultProxy

TIMEOUT = 10


class EchoServer:
    """Accepts one connection and sends back what it reads, recording it."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.lsock.settimeout(TIMEOUT)
        self.port = self.lsock.getsockname()[1]
        self.received = bytearray()
        self.eof = threading.Event()
        self.conn = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            self.conn, _ = self.lsock.accept()
            while True:
                data = self.conn.recv(1 << 16)
                if not data:
                    break
                self.received += data
                self.conn.sendall(data)
        except OSError:
            pass
        self.eof.set()

    def close(self):
        for s in (self.conn, self.lsock):
            if s:
                s.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def connect(proxy):
    c = socket.create_connection(('127.0.0.1', proxy.port), timeout=TIMEOUT)
    assert proxy.connected.wait(TIMEOUT)
    return c


def recv_exactly(sock, n):
    buf = b''
    while len(buf) < n:
        data = sock.recv(n - len(buf))
        if not data:
            break
        buf += data
    return buf


def nothing_arrives(sock, wait=0.3):
    """True if sock has no data (and no EOF) within wait seconds."""
    sock.settimeout(wait)
    try:
        sock.recv(1)
        return False
    except socket.timeout:
        return True
    finally:
        sock.settimeout(TIMEOUT)


def test_pass_through(echo):
    with FaultProxy(echo.port) as proxy:
        c = connect(proxy)
        msg = bytes(range(256)) * 1024         # 256 KiB, several chunks
        t = threading.Thread(target=c.sendall, args=(msg,))
        t.start()
        assert recv_exactly(c, len(msg)) == msg
        t.join(TIMEOUT)
        assert bytes(echo.received) == msg
        # The client's close reaches the server.
        c.close()
        assert echo.eof.wait(TIMEOUT)


def test_stall_and_resume(echo):
    with FaultProxy(echo.port) as proxy:
        c = connect(proxy)
        c.sendall(b'before')
        assert recv_exactly(c, 6) == b'before'
        proxy.stall()
        c.sendall(b'held')
        assert nothing_arrives(c)
        assert bytes(echo.received) == b'before'
        proxy.resume()
        assert recv_exactly(c, 4) == b'held'
        assert bytes(echo.received) == b'beforeheld'


def test_stall_one_direction(echo):
    with FaultProxy(echo.port) as proxy:
        c = connect(proxy)
        proxy.stall('return')
        c.sendall(b'ping')
        # The server got it; its echo is held on the way back.
        deadline = time.monotonic() + TIMEOUT
        while bytes(echo.received) != b'ping':
            assert time.monotonic() < deadline, echo.received
            time.sleep(0.01)
        assert nothing_arrives(c)
        proxy.resume('return')
        assert recv_exactly(c, 4) == b'ping'


def test_drop_keeps_connections_open(echo):
    with FaultProxy(echo.port) as proxy:
        c = connect(proxy)
        c.sendall(b'one')
        assert recv_exactly(c, 3) == b'one'
        proxy.drop()
        assert proxy.dropping
        c.sendall(b'two')
        # Silence, not an end: no data and no EOF on either side.
        assert nothing_arrives(c)
        assert bytes(echo.received) == b'one'
        assert not echo.eof.is_set()


def test_cut_closes_both_sides(echo):
    with FaultProxy(echo.port) as proxy:
        c = connect(proxy)
        c.sendall(b'x')
        assert recv_exactly(c, 1) == b'x'
        proxy.cut()
        assert echo.eof.wait(TIMEOUT)
        c.settimeout(TIMEOUT)
        try:
            assert c.recv(1) == b''
        except ConnectionResetError:
            pass


def test_delay_one_direction(echo):
    with FaultProxy(echo.port) as proxy:
        c = connect(proxy)
        proxy.delay('return', 0.5)
        t0 = time.monotonic()
        c.sendall(b'slow')
        assert recv_exactly(c, 4) == b'slow'
        assert time.monotonic() - t0 >= 0.5
        proxy.delay('return', 0)
        t0 = time.monotonic()
        c.sendall(b'fast')
        assert recv_exactly(c, 4) == b'fast'
        assert time.monotonic() - t0 < 0.5


def test_hooks_rewrite_and_act_after(echo):
    done = threading.Event()

    class Upper(FaultProxy):
        def forward_hook(self, data):
            return data.upper(), None

        def return_hook(self, data):
            return data + b'!', done.set

    with Upper(echo.port) as proxy:
        c = connect(proxy)
        c.sendall(b'abc')
        assert recv_exactly(c, 4) == b'ABC!'
        assert bytes(echo.received) == b'ABC'
        assert done.wait(TIMEOUT)


def test_close_releases_a_stall(echo):
    proxy = FaultProxy(echo.port)
    c = connect(proxy)
    proxy.stall()
    c.sendall(b'held')
    time.sleep(0.2)
    proxy.close()
    # The relay threads let go: the client's connection is gone.
    c.settimeout(TIMEOUT)
    try:
        assert c.recv(1) == b''
    except ConnectionResetError:
        pass
    c.close()
