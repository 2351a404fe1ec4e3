# SPDX-License-Identifier: GPL-2.0-or-later
"""Test harness: start Tandem (or Debian's QEMU) on a guest, watch its serial
console through a file, and stop it. Every wait is bounded; a process that
outlives its test is killed. Also what the migration and COLO tests share:
a TCP fault proxy to put between two peers, the check of the dirty
workload's memory in a stopped guest, and of the disk workload's image;
and what the block tests share: Tandem with a QMP socket under -accel
qtest, and qemu-img / qemu-io runs."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('TANDEM_BUILD', os.path.join(ROOT, 'build'))
TANDEM = os.path.join(BUILD, 'tandem-system-x86_64')
GUEST = os.path.join(BUILD, 'tests', 'guest', 'tandem-guest.elf')
QEMU = '/usr/bin/qemu-system-x86_64'
DEBUG_EXIT = ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']

sys.path.insert(0, os.path.join(ROOT, 'scripts', 'qmp'))
from qmp import QMPClient  # noqa: E402


def kvm_unusable_reason():
    """None when /dev/kvm opens read-write, else why it does not."""
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        return '/dev/kvm is not usable here: %s' % e.strerror
    return None


# The one way a test that runs a guest says it could not run: as a
# decorator, or `pytestmark = needs_kvm` for a module whose every test
# runs one. It is reported as skipped with the reason, never dropped.
needs_kvm = pytest.mark.skipif(kvm_unusable_reason() is not None,
                               reason=kvm_unusable_reason() or 'kvm usable')


class Vm:
    """One VMM process whose COM1 goes to a file we poll."""

    def __init__(self, tmp_path, args, binary=TANDEM, name='vm', serial=True,
                 accel='kvm', netns=None, pass_fds=()):
        self.serial_path = os.path.join(str(tmp_path), name + '-serial.log')
        self.stderr_path = os.path.join(str(tmp_path), name + '-stderr.log')
        # In a NetNs the VMM opens its tap there; `ip netns exec` execs
        # the VMM in place, so self.proc is still the VMM itself.
        self.cmd = netns.prefix() if netns else []
        self.cmd += [binary, '-accel', accel, '-display', 'none', '-nodefaults']
        if serial:
            self.cmd += ['-serial', 'file:' + self.serial_path]
        self.cmd += list(args)
        self.pass_fds = tuple(pass_fds)
        self.proc = None

    def start(self):
        self._stderr = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr,
                                     pass_fds=self.pass_fds)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    def serial(self):
        try:
            with open(self.serial_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except FileNotFoundError:
            return ''

    def stderr(self):
        with open(self.stderr_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def lines(self):
        """The serial's complete lines: a line the guest is still writing
        is left for the next call, so no caller parses half of one."""
        text = self.serial()
        return text[:text.rfind('\n') + 1].splitlines()

    def wait_for(self, pattern, timeout=30.0):
        """Waits until a serial line matches; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                m = rx.search(line)
                if m:
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError('no serial line matching %r within %.0fs (exit %s)\n'
                             'serial:\n%s\nstderr:\n%s' % (
                                 pattern, timeout, self.proc.poll(),
                                 self.serial()[-3000:], self.stderr()[-3000:]))

    def wait_exit(self, timeout=30.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('process did not exit within %.0fs' % timeout)

    def terminate(self, timeout=10.0):
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self._stderr.close()


class QmpVm(Vm):
    """A Vm with a QMP socket (NAME.qmp in tmp_path): connected once the
    process starts (unless connect=False: a VMM that waits for a peer
    first), closed when it is killed."""

    def __init__(self, tmp_path, args, name='vm', connect=True, qmp_wait=10,
                 **kw):
        self.qmp_path = os.path.join(str(tmp_path), name + '.qmp')
        super().__init__(tmp_path, list(args) +
                         ['-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path],
                         name=name, **kw)
        self.connect = connect
        self.qmp_wait = qmp_wait
        self.qmp = None

    def start(self):
        super().start()
        if self.connect:
            self.qmp = QMPClient(self.qmp_path, timeout=30, wait=self.qmp_wait)
        return self

    def kill(self):
        if self.qmp:
            self.qmp.close()
        super().kill()

    def q(self, name, timeout=None, **args):
        """Runs one QMP command; returns its "return" or raises QMPError."""
        return self.qmp.cmd(name, args or None, timeout)


# Debian's qemu-img and qemu-io, the independent judges of what the block
# tests wrote.

def qemu_img(*args):
    p = subprocess.run(['qemu-img'] + list(args), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def qemu_io(target, cmd, *extra):
    return subprocess.run(['qemu-io'] + list(extra) + ['-c', cmd, target],
                          capture_output=True, text=True, timeout=30)


def io_ok(target, cmd, *extra):
    p = qemu_io(target, cmd, *extra)
    assert p.returncode == 0 and 'error' not in p.stdout.lower() \
        and 'Pattern verification failed' not in p.stdout, \
        p.stdout + p.stderr
    return p.stdout


def held_bytes(path, offset):
    """qemu-io's alloc: how many of 64 KiB at offset the image itself
    holds (not its backing files)."""
    out = io_ok(path, 'alloc %d %d' % (offset, 65536), '-r', '-U')
    return int(out.split('/')[0])


def netns_unusable_reason():
    """None when this process can make a network namespace with a tap in
    it (root, iproute2, /dev/net/tun), else why not."""
    if os.geteuid() != 0:
        return 'network namespaces need root'
    if not os.path.exists('/dev/net/tun'):
        return '/dev/net/tun is missing'
    if not shutil.which('ip'):
        return 'iproute2 (ip) is not installed'
    name = 'tdprobe%d' % os.getpid()
    p = subprocess.run(['ip', 'netns', 'add', name], capture_output=True, text=True)
    if p.returncode != 0:
        return 'ip netns add failed: %s' % p.stderr.strip()
    subprocess.run(['ip', 'netns', 'del', name], capture_output=True)
    return None


class NetNs:
    """A network namespace with one tap device, up, with the host side's
    addresses (for a guest's NIC to be the other end of the link). Real
    clients run in it through run()/popen(); a VMM started in it (Vm's
    netns=) opens the tap with -netdev tap,ifname=NetNs.tap. Deleting the
    namespace removes the tap too."""

    def __init__(self, addrs=('10.0.2.2/24', 'fd00::2/64'), tap='tdtap0'):
        self.name = 'tandem%d-%d' % (os.getpid(), id(self) % 100000)
        self.tap = tap
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        try:
            self.run(['ip', 'link', 'set', 'lo', 'up'])
            self.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'])
            for a in addrs:
                # nodad: the address is usable at once, not after ~1 s of DAD
                extra = ['nodad'] if ':' in a else []
                self.run(['ip', 'addr', 'add', a, 'dev', tap] + extra)
            self.run(['ip', 'link', 'set', tap, 'up'])
        except Exception:
            self.close()
            raise

    def prefix(self):
        return ['ip', 'netns', 'exec', self.name]

    def run(self, cmd, timeout=30.0, check=True, input=None):
        """Runs cmd in the namespace; returns CompletedProcess (text)."""
        p = subprocess.run(self.prefix() + list(cmd), capture_output=True, text=True,
                           timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError('%s failed (%d):\n%s%s' % (
                ' '.join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        return p

    def python(self, code, timeout=30.0):
        """Runs a Python snippet in the namespace; returns its stdout. It
        can import this directory's modules (inet_checksum)."""
        here = os.path.dirname(os.path.abspath(__file__))
        return self.run([sys.executable, '-c',
                         'import sys; sys.path.insert(0, %r)\n' % here + code],
                        timeout=timeout).stdout

    def close(self):
        subprocess.run(['ip', 'netns', 'del', self.name], capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def needs_tool(name, package):
    """Skips (saying how to install it) a test whose client program is missing."""
    return pytest.mark.skipif(shutil.which(name) is None,
                              reason='%s not installed (apt-get install %s)' % (name, package))


def image_lock_bytes(path):
    """The bytes of path's image locked by anyone (every process, every
    open file description), from /proc/locks: QEMU's scheme puts 100 + bit
    for a permission held and 200 + bit for one not shared
    (docs/block.md, "Image locking")."""
    st = os.stat(path)
    inode = '%02x:%02x:%d' % (os.major(st.st_dev), os.minor(st.st_dev),
                              st.st_ino)
    locked = set()
    with open('/proc/locks') as f:
        for line in f:
            fields = line.split()
            if fields[1] == '->' or fields[5] != inode:  # '->': a waiter
                continue
            start = int(fields[6])
            end = start if fields[7] == 'EOF' else int(fields[7])
            locked.update(range(start, end + 1))
    return locked


def free_ports(n):
    """n distinct TCP ports on 127.0.0.1 nobody listens on right now (all
    bound at once, so they differ)."""
    socks = [socket.socket() for _ in range(n)]
    for sk in socks:
        sk.bind(('127.0.0.1', 0))
    ports = [sk.getsockname()[1] for sk in socks]
    for sk in socks:
        sk.close()
    return ports


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now (for hostfwd=)."""
    return free_ports(1)[0]


def http_count(port):
    """GET /count from the test guest's HTTP server forwarded to port: the
    counter's value (one more per request)."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall(b'GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        data = b''
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b'HTTP/1.1 200 OK\r\n'), data
    return int(data.split(b'\r\n\r\n', 1)[1])


def guest_disk(image, fmt='raw', device_opts='', drive_opts=''):
    """The options that give the test guest image as a virtio-blk-pci disk."""
    return ['-drive', 'file=%s,if=none,id=d0,format=%s%s' % (image, fmt, drive_opts),
            '-device', 'virtio-blk-pci,drive=d0' + device_opts]


def verify_disk_image(path, acked=0):
    """(ok, message) of tests/guest/verify_disk.py on an image the guest's
    workload=disk wrote (raw or qcow2), requiring every record up to
    acked (or the superblock's figure, if higher)."""
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'guest'))
    import verify_disk
    return verify_disk.verify(verify_disk.read_image(path), acked)


def run(args, timeout=20.0, binary=TANDEM):
    """Runs to completion; returns CompletedProcess with text output."""
    return subprocess.run([binary] + list(args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def count_lines(text):
    return [int(m.group(1)) for m in re.finditer(r'^TG count=(\d+)', text, re.M)]


def verify_memory(vm, tmp_path, size=256 << 20):
    """Stops vm (a Vm with a .qmp QMPClient and a .name) running the dirty
    workload, dumps its first `size` bytes of guest memory and checks them
    with tests/guest/verify_dirty.py."""
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'guest'))
    import verify_dirty
    vm.qmp.cmd('stop')
    dump = os.path.join(str(tmp_path), getattr(vm, 'name', 'vm') + '-dump.bin')
    vm.qmp.cmd('pmemsave', {'val': 0, 'size': size, 'filename': dump}, 60)
    try:
        with open(dump, 'rb') as f:
            ok, msg = verify_dirty.verify(f.read())
    finally:
        os.unlink(dump)
    assert ok, msg


class FaultProxy:
    """A TCP relay for one connection: it listens on 127.0.0.1:port and,
    once a client connects, connects to 127.0.0.1:dst_port and copies
    bytes both ways, 'forward' (client -> target) and 'return' (target ->
    client). Faults, each callable at any time from the test:

      delay(direction, seconds)  sleep before passing on each chunk
      stall(direction=None)      hold the data (one or both directions),
                                 connections open, until resume()
      drop()                     discard everything from now on, both
                                 ways; the connections stay open (a
                                 silent partition)
      cut()                      close both connections (each peer sees
                                 its connection end)

    A subclass can look at the data: forward_hook(data) and
    return_hook(data) return (bytes to pass on, callable to run after
    passing them on, or None). They run on the relay's threads, before a
    stall or delay is applied; a hook that decides to drop() may still
    pass on what it returns for the chunk at hand."""

    DIRECTIONS = ('forward', 'return')

    def __init__(self, dst_port, accept_timeout=30):
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(1)
        self.lsock.settimeout(accept_timeout)
        self.port = self.lsock.getsockname()[1]
        self.dst_port = dst_port
        self.connected = threading.Event()
        self.socks = []
        self._lock = threading.Lock()   # socks and _closed
        self._closed = False
        self._dropping = False
        self._delay = dict.fromkeys(self.DIRECTIONS, 0)
        self._flowing = {d: threading.Event() for d in self.DIRECTIONS}
        for ev in self._flowing.values():
            ev.set()
        threading.Thread(target=self._run, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- faults ------------------------------------------------------------

    def delay(self, direction, seconds):
        self._delay[direction] = seconds

    def stall(self, direction=None):
        for d in (direction,) if direction else self.DIRECTIONS:
            self._flowing[d].clear()

    def resume(self, direction=None):
        for d in (direction,) if direction else self.DIRECTIONS:
            self._flowing[d].set()

    def drop(self):
        self._dropping = True

    @property
    def dropping(self):
        return self._dropping

    def cut(self):
        with self._lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        # Shut down before closing: close() alone does not wake a relay
        # thread blocked in recv() on the socket, and the peers would not
        # see the connection end.
        with self._lock:
            self._closed = True
        self.resume()
        self.cut()
        with self._lock:
            socks = [self.lsock] + self.socks
        for s in socks:
            s.close()

    # --- hooks -------------------------------------------------------------

    def forward_hook(self, data):
        return data, None

    def return_hook(self, data):
        return data, None

    # --- the relay ---------------------------------------------------------

    def _run(self):
        try:
            c, _ = self.lsock.accept()
            d = socket.create_connection(('127.0.0.1', self.dst_port))
        except OSError:
            return
        with self._lock:
            self.socks += [c, d]
            closed = self._closed
        if closed:
            # close() ran while we were connecting: it did not see these.
            for s in (c, d):
                s.close()
            return
        self.connected.set()
        threading.Thread(target=self._pump, args=(c, d, 'forward'),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(d, c, 'return'),
                         daemon=True).start()

    def _pump(self, a, b, direction):
        hook = self.forward_hook if direction == 'forward' else self.return_hook
        try:
            while True:
                data = a.recv(1 << 16)
                if not data:
                    break
                if self._dropping:
                    continue
                out, after = hook(data)
                while not self._flowing[direction].wait(0.1):
                    if self._closed:
                        return
                if self._delay[direction]:
                    time.sleep(self._delay[direction])
                if out:
                    b.sendall(out)
                if after:
                    after()
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
