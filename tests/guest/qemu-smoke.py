#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Smoke-test the Tandem test guest on the distribution's QEMU.

Ad-hoc developer check (the real tests live in tests/functional): boots
tandem-guest.elf under qemu-system-x86_64 (-accel kvm where /dev/kvm
works, else tcg; ACCEL=kvm|tcg chooses) and checks the count,
smp, dirty (including a QMP pmemsave dump fed to verify_dirty.py),
exit-after/debug-exit, wss-too-large and fault behaviour.

usage: qemu-smoke.py [path/to/tandem-guest.elf]   (stdlib only)
"""

import json
import os
import queue
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import verify_dirty  # noqa: E402

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
ACCEL = os.environ.get("ACCEL") or (
    "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg")
BOOT_TIMEOUT = 60       # SeaBIOS runs emulated on PVM hosts: be generous


class Guest:
    def __init__(self, elf, append, extra=(), mem=256):
        self.tmp = tempfile.mkdtemp(prefix="tg-")
        self.sock = os.path.join(self.tmp, "qmp.sock")
        cmd = ["timeout", "180", QEMU, "-accel", ACCEL, "-m", str(mem),
               "-nographic", "-no-reboot", "-kernel", elf,
               "-append", append,
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-qmp", "unix:%s,server=on,wait=off" % self.sock] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._reader, daemon=True).start()
        self.qmp_sock = None

    def _reader(self):
        for raw in self.proc.stdout:
            text = raw.decode("latin-1")
            i = text.find("TG ")
            if i >= 0:
                self.lines.put((time.time(), text[i:].strip()))
        self.lines.put((time.time(), None))

    def expect(self, pattern, timeout=BOOT_TIMEOUT):
        end = time.time() + timeout
        while time.time() < end:
            try:
                self.stamp, line = self.lines.get(
                    timeout=max(0.1, end - time.time()))
            except queue.Empty:
                break
            if line is None:
                break
            self.log.append(line)
            m = re.match(pattern, line)
            if m:
                return m
        raise AssertionError("no %r; got %r" % (pattern, self.log[-5:]))

    def qmp(self, cmd, **args):
        if self.qmp_sock is None:
            self.qmp_sock = socket.socket(socket.AF_UNIX)
            self.qmp_sock.connect(self.sock)
            self.qmp_file = self.qmp_sock.makefile("rw")
            json.loads(self.qmp_file.readline())        # greeting
            self.qmp("qmp_capabilities")
        self.qmp_file.write(json.dumps({"execute": cmd, "arguments": args}))
        self.qmp_file.flush()
        while True:
            reply = json.loads(self.qmp_file.readline())
            if "event" not in reply:
                if "error" in reply:
                    raise AssertionError("QMP %s: %s" % (cmd, reply))
                return reply.get("return")

    def dump(self, addr, size):
        path = os.path.join(self.tmp, "dump")
        self.qmp("pmemsave", val=addr, size=size, filename=path)
        with open(path, "rb") as f:
            return f.read()

    def wait_exit(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        # SIGTERM: timeout(1) forwards it to QEMU (SIGKILL would orphan it).
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def check(name, fn, elf):
    t = time.time()
    try:
        fn(elf)
    except Exception as e:          # report and continue with the next test
        print("FAIL %-10s %s" % (name, e))
        return False
    print("ok   %-10s (%.1fs)" % (name, time.time() - t))
    return True


def t_count(elf):
    g = Guest(elf, "workload=count")
    try:
        g.expect(r"TG boot workload=count layout=1$")
        g.expect(r"TG cpus=1$")
        for n in range(1, 6):
            g.expect(r"TG count=%d counter=\d+$" % n, timeout=5)
    finally:
        g.kill()


def t_smp(elf):
    g = Guest(elf, "workload=idle smp", extra=["-smp", "2"])
    try:
        g.expect(r"TG cpus=2$")
        g.expect(r"TG idle$")
        hb = []
        for _ in range(3):
            hb.append(struct.unpack_from("<Q", g.dump(0x200000, 4096),
                                         0x240)[0])
            time.sleep(0.2)
        assert hb[2] > hb[1] > hb[0] > 0, "AP heartbeat not moving: %r" % hb
    finally:
        g.kill()


def t_dirty(elf):
    g = Guest(elf, "workload=dirty wss=64M")
    try:
        for n in range(3):
            g.expect(r"TG pass=%d errors=0$" % n, timeout=30)
        for _ in range(3):
            g.qmp("stop")
            ok, msg = verify_dirty.verify(g.dump(0, 256 << 20))
            assert ok, msg
            g.qmp("cont")
            time.sleep(0.3)
        print("     " + msg)
        # A corrupted page must be caught (self-test of the verifier).
        g.qmp("stop")
        data = bytearray(g.dump(0, 256 << 20))
        struct.pack_into("<Q", data, 0x1000000 + 5 * 4096 + 8, 4)
        ok, msg = verify_dirty.verify(bytes(data))
        assert not ok and "page 5 " in msg, msg
    finally:
        g.kill()


def t_rate(elf):
    # 4096 pages at 10000 pages/s: ~0.41 s per pass, so dumps land mid-pass
    # (and the first one inside pass 0, whose tail is unchecked).
    g = Guest(elf, "workload=dirty wss=16M rate=10000")
    try:
        g.expect(r"TG cpus=1$")
        msgs = []
        for _ in range(4):
            time.sleep(0.25)
            g.qmp("stop")
            ok, msg = verify_dirty.verify(g.dump(0, 256 << 20))
            assert ok, msg
            msgs.append(msg)
            g.qmp("cont")
        assert any("cursor 4096" not in m for m in msgs), msgs
        g.expect(r"TG pass=3 errors=0$", timeout=10)
        t = g.stamp
        g.expect(r"TG pass=4 errors=0$", timeout=5)
        dt = g.stamp - t
        assert 0.3 < dt < 0.6, "pass took %.2fs, expected ~0.41s" % dt
        print("     " + msgs[0])
        print("     pass time %.3fs" % dt)
    finally:
        g.kill()


def t_exit(elf):
    g = Guest(elf, "workload=count interval=50 exit-after=3 exit=5")
    try:
        g.expect(r"TG count=3 ")
        g.expect(r"TG exit code=5$", timeout=5)
        rc = g.wait_exit()
        assert rc == (5 << 1) | 1, "exit status %d" % rc
    finally:
        g.kill()


def t_toobig(elf):
    g = Guest(elf, "workload=dirty wss=1G")
    try:
        g.expect(r"TG error: wss 0x40000000 at 0x1000000 exceeds RAM")
        rc = g.wait_exit()
        assert rc == (2 << 1) | 1, "exit status %d" % rc
    finally:
        g.kill()


def t_fault(elf):
    g = Guest(elf, "workload=fault")
    try:
        g.expect(r"TG FAULT vec=14 rip=0x[0-9a-f]+ err=0x4 cr2=0x4000000000")
        rc = g.wait_exit()
        assert rc == (3 << 1) | 1, "exit status %d" % rc
    finally:
        g.kill()


def main():
    elf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "../../build/tests/guest/tandem-guest.elf")
    tests = [("count", t_count), ("smp", t_smp), ("dirty", t_dirty),
             ("rate", t_rate),
             ("exit", t_exit), ("toobig", t_toobig), ("fault", t_fault)]
    only = os.environ.get("TG_ONLY")
    results = [check(n, f, elf) for n, f in tests if not only or n == only]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
