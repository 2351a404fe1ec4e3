# SPDX-License-Identifier: GPL-2.0-or-later
"""What the bench/ scripts share: starting a VMM on the test guest with its
COM1 in a file and QMP on a socket, waiting for guest lines, polling
query-migrate, deciding which VMMs can run on this host (KVM or not), a
network namespace with a tap, and printing aligned tables.

Python 3 standard library only (scripts/qmp/qmp.py for QMP): the benches
run with /usr/bin/python3 on a bare Debian install, without pytest, so
tests/functional/tandem.py (which imports pytest) is not used here.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'qmp'))
from qmp import QMPClient, QMPException  # noqa: E402,F401

QEMU = '/usr/bin/qemu-system-x86_64'


class StartError(Exception):
    """A VMM could not be started (or its guest never came up)."""


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build_paths(build):
    """(tandem binary, test guest ELF) of a build directory."""
    return (os.path.join(build, 'tandem-system-x86_64'),
            os.path.join(build, 'tests', 'guest', 'tandem-guest.elf'))


def kvm_unusable_reason():
    """None when /dev/kvm opens read-write, else why it does not."""
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC))
    except FileNotFoundError:
        # The usual case on a development VM: say it plainly rather than
        # with strerror, which reads like a missing file of ours.
        return '/dev/kvm is absent (no KVM on this host)'
    except OSError as e:
        return '/dev/kvm is not usable here: %s' % e.strerror
    return None


def tandem_unusable_reason(binary, devices=()):
    """None when Tandem can run the guest here with these -device types,
    else why not. Tandem has no TCG: without KVM it cannot run a guest."""
    reason = kvm_unusable_reason()
    if reason:
        return 'Tandem runs guests only with KVM and ' + reason
    if not os.path.exists(binary):
        return '%s missing (build first)' % binary
    if not devices:
        return None
    try:
        p = subprocess.run([binary, '-device', 'help'], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return '%s -device help: %s' % (binary, e)
    missing = [d for d in devices if d not in p.stdout + p.stderr]
    if missing:
        return 'Tandem has no %s device' % ', '.join(missing)
    return None


def qemu_unusable_reason(no_qemu):
    """None when Debian's QEMU is to run, else why not (no_qemu: the
    benchmark's --no-qemu)."""
    if no_qemu:
        return '--no-qemu'
    if not os.access(QEMU, os.X_OK):
        return QEMU + ' not found'
    return None


def qemu_accel():
    """(accel, label) for Debian's QEMU: KVM when the host has it, else TCG,
    whose figures measure an emulator and compare with nothing on KVM."""
    if kvm_unusable_reason() is None:
        return 'kvm', 'QEMU'
    return 'tcg', 'QEMU/TCG'


class Vmm:
    """One VMM process on the test guest: COM1 to a file, QMP on a unix
    socket. prefix runs it through another command (ip netns exec NS)."""

    def __init__(self, binary, guest, tmp, name, mem, append, extra=(),
                 accel='kvm', prefix=()):
        self.name = name
        self.serial_path = os.path.join(tmp, name + '-serial.log')
        self.qmp_path = os.path.join(tmp, name + '.qmp')
        self.stderr_path = os.path.join(tmp, name + '-stderr.log')
        self.cmd = list(prefix) + [
            binary, '-accel', accel, '-display', 'none', '-nodefaults',
            '-serial', 'file:' + self.serial_path,
            '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path,
            '-m', mem, '-kernel', guest, '-append', append] + list(extra)
        self.proc = None
        self.qmp = None

    def start(self):
        return self.launch().connect()

    def launch(self):
        """Starts the process only: a VMM whose command line waits for a
        peer (a chardev with wait=on) serves QMP once the peer is there."""
        self._err = open(self.stderr_path, 'wb')
        try:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=self._err)
        except OSError as e:
            raise StartError('%s: %s' % (self.cmd[0], e))
        return self

    def connect(self):
        try:
            self.qmp = QMPClient(self.qmp_path, timeout=30, wait=15)
        except QMPException as e:
            raise StartError('%s: no QMP (%s): %s' % (
                self.name, e, self.stderr()[-500:]))
        return self

    def stderr(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def serial(self):
        try:
            with open(self.serial_path, 'rb') as f:
                return f.read().decode('latin-1')
        except OSError:
            return ''

    def wait_serial(self, pattern, timeout, count=1):
        """Waits until pattern matched count serial lines (multiline)."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(rx.findall(self.serial())) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise StartError('%s: %s serial line(s) /%s/ within %.0f s '
                         '(exit %s): %s' % (
                             self.name, 'no' if count == 1 else
                             'fewer than %d' % count, pattern, timeout,
                             self.proc.poll(),
                             (self.serial()[-300:] +
                              self.stderr()[-500:]).strip()))

    def q(self, name, **kw):
        return self.qmp.cmd(name, **kw)

    def kill(self):
        end_process(self.qmp, self.proc, self._err)


MIGRATE_FINAL = ('completed', 'failed', 'cancelled')


def end_process(qmp, proc, err_file):
    """Closes a VMM's QMP client, kills it if it still runs (waiting up
    to 10 s) and closes the file its stderr went to."""
    if qmp:
        try:
            qmp.close()
        except Exception:
            pass
    if proc and proc.poll() is None:
        proc.kill()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    if proc:
        err_file.close()


def poll_migrate(vm, until, timeout, interval=0.02):
    """query-migrate on vm every interval seconds until until(info) is
    true, the status is final or timeout seconds passed; returns the last
    answer ({} if none)."""
    deadline = time.monotonic() + timeout
    info = {}
    while time.monotonic() < deadline:
        info = vm.q('query-migrate')
        if until(info) or info.get('status') in MIGRATE_FINAL:
            break
        time.sleep(interval)
    return info


def completed_info(vm, info):
    """The source's query-migrate once its figures are in: QEMU 7.2 says
    "completed" a moment before it fills in total-time and downtime, so
    ask again for up to 2 s until both are there."""
    settle = time.monotonic() + 2
    while ('total-time' not in info or 'downtime' not in info) and \
            time.monotonic() < settle:
        time.sleep(0.01)
        info = vm.q('query-migrate')
    return info


def qtest_check(binary, guest, tmp, name, mem, append, extra=(), prefix=()):
    """Starts the VMM with -accel qtest (no vCPU runs, so no KVM is needed)
    and a benchmark's options, then quits it: on a host where Tandem cannot
    run the guest this still tells whether it accepts the command line the
    benchmark would give it. Returns None, or what went wrong."""
    vm = Vmm(binary, guest, tmp, name + '-qtest', mem, append, extra,
             accel='qtest', prefix=prefix)
    try:
        vm.start()
        vm.q('query-status')
        return None
    except (StartError, QMPException) as e:
        return str(e)[:400]
    finally:
        vm.kill()


def netns_unusable_reason():
    """None when this process can make a network namespace with a tap."""
    if os.geteuid() != 0:
        return 'network namespaces need root'
    if not os.path.exists('/dev/net/tun'):
        return '/dev/net/tun is missing'
    if not shutil.which('ip'):
        return 'ip not installed (apt-get install iproute2)'
    return None


class NetNs:
    """A network namespace holding one persistent tap, up, with the host
    side's address: the guest's NIC is the other end of the link, clients
    and the VMM run inside through prefix(). Deleting the namespace removes
    the tap. (The same setup as tests/functional/tandem.py's NetNs.)"""

    def __init__(self, addr='10.0.2.2/24', tap='tbtap0'):
        self.name = 'tandembench%d' % os.getpid()
        self.tap = tap
        subprocess.run(['ip', 'netns', 'add', self.name], check=True,
                       capture_output=True)
        try:
            self.run(['ip', 'link', 'set', 'lo', 'up'])
            self.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'])
            self.run(['ip', 'addr', 'add', addr, 'dev', tap])
            self.run(['ip', 'link', 'set', tap, 'up'])
        except Exception:
            self.close()
            raise

    def prefix(self):
        return ['ip', 'netns', 'exec', self.name]

    def run(self, cmd, timeout=60.0, check=True):
        """Runs cmd in the namespace; returns CompletedProcess (text)."""
        p = subprocess.run(self.prefix() + list(cmd), capture_output=True,
                           text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError('%s failed (%d): %s%s' % (
                ' '.join(cmd), p.returncode, p.stdout[-1000:],
                p.stderr[-1000:]))
        return p

    def close(self):
        subprocess.run(['ip', 'netns', 'del', self.name], capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def percentile(values, p):
    """Nearest-rank percentile (the definition query-colo-stats and the
    test guest use)."""
    if not values:
        return None
    s = sorted(values)
    rank = (p * len(s) + 99) // 100
    return s[max(rank, 1) - 1]


def fmt_num(v):
    """Three significant figures or so, '-' for nothing."""
    if v is None:
        return '-'
    if v >= 100:
        return '%d' % round(v)
    if v >= 10:
        return '%.1f' % v
    return '%.2f' % v if v >= 0.1 else '%.3f' % v


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return '-'
    return '%.1f' % (a / b) if a / b >= 10 else '%.2f' % (a / b)


def print_columns(lines, left=(0,)):
    """Prints rows of cells aligned: columns in left flush left, the others
    right."""
    widths = [max(len(str(l[i])) for l in lines if i < len(l))
              for i in range(max(len(l) for l in lines))]
    for l in lines:
        print('  '.join(str(c).ljust(w) if i in left else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(l, widths))).rstrip())
