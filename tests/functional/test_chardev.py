# SPDX-License-Identifier: GPL-2.0-or-later
"""The guest's serial console over socket and pty chardevs: -chardev socket
(server, client, reconnecting client), the legacy -serial unix:/tcp:/pty
spellings, and a console client that comes and goes while the guest keeps
running. Every wait is bounded."""
import os
import re
import socket
import time

import pytest

from tandem import GUEST, Vm, count_lines, free_port, needs_kvm, run

COUNT = ['-m', '128', '-kernel', GUEST, '-append', 'workload=count']


def wait_path(path, vm, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if vm.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError('%s never appeared (exit %s)\nstderr:\n%s' % (
                path, vm.proc.poll(), vm.stderr()))
        time.sleep(0.02)


def connect_unix(path, vm):
    wait_path(path, vm)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def connect_tcp(port, vm, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(('127.0.0.1', port), timeout=10)
        except ConnectionRefusedError:
            if vm.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError('nothing listens on port %d\nstderr:\n%s'
                                     % (port, vm.stderr()))
            time.sleep(0.02)


def read_counts(read, n, timeout=30.0):
    """Reads until n complete 'TG count=' lines arrived; returns them."""
    buf = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = read()
        except (socket.timeout, BlockingIOError):
            continue
        if not chunk:
            break
        buf += chunk
        counts = count_lines(buf.decode('utf-8', 'replace'))
        if len(counts) >= n:
            return counts
    raise AssertionError('wanted %d count lines, got %r' % (n, buf[-500:]))


def sock_reader(s):
    return lambda: s.recv(4096)


def reconnect_keeps_flowing(vm, connect):
    """Two client sessions in a row: both see increasing counts, the second
    starting after the first; the guest never stops."""
    s = connect()
    first = read_counts(sock_reader(s), 2)
    s.close()
    time.sleep(0.3)
    assert vm.proc.poll() is None
    s = connect()
    second = read_counts(sock_reader(s), 2)
    s.close()
    assert second[-1] > first[-1], (first, second)
    assert all(b == a + 1 for a, b in zip(second, second[1:])), second
    assert vm.proc.poll() is None


@needs_kvm
def test_chardev_unix_server(tmp_path):
    sock = str(tmp_path / 'console.sock')
    with Vm(tmp_path, ['-chardev', 'socket,id=s0,path=%s,server=on,wait=off' % sock,
                       '-serial', 'chardev:s0', *COUNT], serial=False) as vm:
        reconnect_keeps_flowing(vm, lambda: connect_unix(sock, vm))
        assert vm.terminate() == 0
    assert not os.path.exists(sock)


@needs_kvm
def test_serial_unix_legacy(tmp_path):
    sock = str(tmp_path / 'console.sock')
    with Vm(tmp_path, ['-serial', 'unix:%s,server=on,wait=off' % sock, *COUNT],
            serial=False) as vm:
        reconnect_keeps_flowing(vm, lambda: connect_unix(sock, vm))


@needs_kvm
def test_serial_unix_old_spelling(tmp_path):
    sock = str(tmp_path / 'console.sock')
    with Vm(tmp_path, ['-serial', 'unix:%s,server,nowait' % sock, *COUNT],
            serial=False) as vm:
        s = connect_unix(sock, vm)
        read_counts(sock_reader(s), 2)
        s.close()


@needs_kvm
def test_serial_tcp_legacy(tmp_path):
    port = free_port()
    with Vm(tmp_path, ['-serial', 'tcp:127.0.0.1:%d,server=on,wait=off' % port,
                       *COUNT], serial=False) as vm:
        reconnect_keeps_flowing(vm, lambda: connect_tcp(port, vm))


@needs_kvm
def test_chardev_server_wait_on(tmp_path):
    """wait=on: nothing runs until the console client connects, so the very
    first line reaches it."""
    sock = str(tmp_path / 'console.sock')
    with Vm(tmp_path, ['-chardev', 'socket,id=s0,path=%s,server=on' % sock,
                       '-serial', 'chardev:s0', *COUNT], serial=False) as vm:
        wait_path(sock, vm)
        deadline = time.monotonic() + 10
        while 'waiting for connection' not in vm.stderr():
            assert time.monotonic() < deadline, vm.stderr()
            time.sleep(0.02)
        assert 'disconnected:unix:%s,server=on' % sock in vm.stderr()
        s = connect_unix(sock, vm)
        counts = read_counts(sock_reader(s), 2)
        assert counts[:2] == [1, 2]
        s.close()


@needs_kvm
def test_chardev_client_reconnect(tmp_path):
    """Tandem as the socket client (how libqtest and QEMUMachine attach a
    console): started before anyone listens, it connects when the listener
    appears and comes back after the listener drops it."""
    sock = str(tmp_path / 'console.sock')
    with Vm(tmp_path, ['-chardev', 'socket,id=s0,path=%s,reconnect-ms=100' % sock,
                       '-serial', 'chardev:s0', *COUNT], serial=False) as vm:
        time.sleep(0.3)
        assert vm.proc.poll() is None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as lsock:
            lsock.bind(sock)
            lsock.listen(1)
            lsock.settimeout(10)
            conn, _ = lsock.accept()
            conn.settimeout(10)
            first = read_counts(sock_reader(conn), 2)
            conn.close()
            conn, _ = lsock.accept()
            conn.settimeout(10)
            second = read_counts(sock_reader(conn), 2)
            conn.close()
        assert second[-1] > first[-1]
        assert vm.proc.poll() is None


def test_chardev_client_without_listener_fails(tmp_path):
    sock = str(tmp_path / 'nobody.sock')
    r = run(['-display', 'none', '-nodefaults', '-kernel', GUEST,
             '-chardev', 'socket,id=s0,path=%s' % sock, '-serial', 'chardev:s0'])
    assert r.returncode == 1
    assert 'Failed to connect' in r.stderr, r.stderr


@needs_kvm
def test_serial_pty(tmp_path):
    with Vm(tmp_path, ['-serial', 'pty', *COUNT], serial=False) as vm:
        deadline = time.monotonic() + 10
        m = None
        while not m:
            assert time.monotonic() < deadline, vm.stderr()
            m = re.search(r'char device redirected to (/dev/pts/\d+) \(label serial0\)',
                          vm.stderr())
            time.sleep(0.02)
        for _ in range(2):
            fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                counts = read_pty_counts(fd, 2)
                assert counts == sorted(counts)
            finally:
                os.close(fd)
            assert vm.proc.poll() is None


def read_pty_counts(fd, n, timeout=30.0):
    buf = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            buf += os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.02)
            continue
        counts = count_lines(buf.decode('utf-8', 'replace'))
        if len(counts) >= n:
            return counts
    raise AssertionError('pty: wanted %d count lines, got %r' % (n, buf[-500:]))


@pytest.mark.parametrize('args,message', [
    (['-chardev', 'socket,path=/tmp/x,server=on,wait=off'], 'no id specified'),
    (['-chardev', 'socket,id=s0,path=/tmp/x,server=maybe'],
     "Parameter 'server' expects 'on' or 'off'"),
    (['-chardev', 'socket,id=s0,host=127.0.0.1,port=70000,server=on'],
     "invalid port '70000'"),
    (['-chardev', 'socket,id=s0,path=/tmp/x,telnet=on'], "Invalid parameter 'telnet'"),
    (['-chardev', 'nosuch,id=s0'], "'nosuch' is not a valid char driver name"),
    (['-serial', 'chardev:nope'], "chardev 'nope' not found"),
    (['-serial', 'bogus'], "'bogus' is not a valid char driver name"),
])
def test_bad_chardev_options(args, message):
    r = run(['-display', 'none', '-nodefaults', '-kernel', GUEST, *args])
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
