# SPDX-License-Identifier: GPL-2.0-or-later
"""Test harness: start Tandem (or Debian's QEMU) on a guest, watch its serial
console through a file, and stop it. Every wait is bounded; a process that
outlives its test is killed."""
import os
import re
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('TANDEM_BUILD', os.path.join(ROOT, 'build'))
TANDEM = os.path.join(BUILD, 'tandem-system-x86_64')
GUEST = os.path.join(BUILD, 'tests', 'guest', 'tandem-guest.elf')
QEMU = '/usr/bin/qemu-system-x86_64'
DEBUG_EXIT = ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']


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

    def __init__(self, tmp_path, args, binary=TANDEM, name='vm', serial=True):
        self.serial_path = os.path.join(str(tmp_path), name + '-serial.log')
        self.stderr_path = os.path.join(str(tmp_path), name + '-stderr.log')
        self.cmd = [binary, '-accel', 'kvm', '-display', 'none', '-nodefaults']
        if serial:
            self.cmd += ['-serial', 'file:' + self.serial_path]
        self.cmd += list(args)
        self.proc = None

    def start(self):
        self._stderr = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
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
        return self.serial().splitlines()

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


def run(args, timeout=20.0, binary=TANDEM):
    """Runs to completion; returns CompletedProcess with text output."""
    return subprocess.run([binary] + list(args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def count_lines(text):
    return [int(m.group(1)) for m in re.finditer(r'^TG count=(\d+)', text, re.M)]
