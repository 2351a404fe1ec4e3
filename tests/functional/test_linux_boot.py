# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot a stock Debian kernel (linux-image-cloud-amd64, 6.1) with -kernel.

This exercises hw/i386/linux-boot.c end to end: Tandem has no firmware, so
the bzImage is entered directly at its 64-bit entry point with a zero page
we built, and everything the kernel prints about its boot parameters comes
from us: the command line, and the BIOS-e820 map (the pc machine's E820
table copied into boot_params).

How far such a kernel gets on this host, and why the timeouts are long:
the host runs KVM on PVM, where a guest that is not PVM-aware has its
CPL0 code emulated instruction by instruction (on the order of
microseconds each). Observed with this loader (and, within a few seconds,
the same with Debian's qemu-system-x86_64 7.2 booting the same kernel
through SeaBIOS):

  * ~190 s of silence while the decompressor unpacks ~50 MiB (LZ4);
  * then "Linux version 6.1.0-NN-cloud-amd64 ...", "Command line: ...",
    "BIOS-provided physical RAM map:", one "BIOS-e820:" line per entry of
    our map, "printk: bootconsole [earlyser0] enabled", ... ,
    "smpboot: Allowing 1 CPUs", "Memory: ...K/...K available" at ~245 s;
  * then the vCPU stops with a KVM emulation failure (KVM_EXIT_INTERNAL_ERROR,
    suberror 1) on a `lock cmpxchg16b` in the SLUB allocator, right after
    the "Memory:" line. Tandem reports it and exits. That is a limit of
    the host, not of the loader, so the tests stop at "Memory:".

The -smp 2 guest is also given a 1 MiB -initrd; the kernel's early
"RAMDISK: [mem 0x1ff00000-0x1fffffff]" line shows ramdisk_image/size.

SMP: Debian's cloud kernel is built without CONFIG_X86_MPPARSE, so it never
reads our MP table (and Tandem has no ACPI tables). With -smp 2 it prints
"smpboot: Boot CPU (id 0) not listed by BIOS" and "Allowing 1 CPUs"; the
-smp 2 test only checks that the machine with two vCPUs boots the same way
(and that the second vCPU, parked in wait-for-SIPI, does no harm).
The MP table itself is checked structurally by the loader's unit checks.

The kernel comes from linux_kernel.py (apt-get download into
tests/functional/.assets/, cached). If it cannot be obtained the tests
fail with the reason; they skip (with the reason) only where /dev/kvm is
not usable.

Environment: TANDEM (binary, default build/tandem-system-x86_64),
TANDEM_LINUX_KERNEL (use this bzImage), TANDEM_LINUX_BOOT_TIMEOUT (seconds
to wait for the "Memory:" line, default 480).
"""

import os
import re
import subprocess
import threading
import time

import pytest

import linux_kernel
from tandem import needs_kvm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TANDEM = os.environ.get("TANDEM",
                        os.path.join(ROOT, "build", "tandem-system-x86_64"))
TIMEOUT = float(os.environ.get("TANDEM_LINUX_BOOT_TIMEOUT", "480"))

pytestmark = needs_kvm
CMDLINE = "console=ttyS0 earlyprintk=serial"
RAM_MIB = 512
INITRD_SIZE = 2**20

# The last line we wait for; everything the tests check comes before it.
DONE = re.compile(r"\] Memory: \d+K/\d+K available")


class Boot:
    """Serial console (stdout) and stderr of one Tandem run.

    start() launches it; wait() returns once the kernel has printed the
    DONE line, or exited, or the timeout passed, and kills it if needed.
    """

    def __init__(self, argv):
        self.argv = argv
        self.out = []
        self.err = ""
        self.elapsed = None
        self.returncode = None

    def start(self):
        self._start = time.monotonic()
        self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        self._done = threading.Event()
        self._err_chunks = []
        self._threads = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def _read_out(self):
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.out.append(line.replace("\r", ""))
            if DONE.search(line):
                self._done.set()
        self._done.set()

    def _read_err(self):
        self._err_chunks.append(self._proc.stderr.read())

    def wait(self, timeout):
        self._done.wait(max(0.0, timeout - (time.monotonic() - self._start)))
        self.elapsed = time.monotonic() - self._start
        if self._proc.poll() is None:
            self._proc.kill()
        self.returncode = self._proc.wait()
        for t in self._threads:
            t.join(10)
        self.err = b"".join(self._err_chunks).decode("utf-8", "replace")
        return self

    def describe(self):
        tail = "\n".join(self.out[-40:])
        return ("%s\n(exit status %s after %.0f s)\n--- serial (last 40 "
                "lines) ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.argv), self.returncode, self.elapsed, tail,
                   self.err[-3000:]))

    def find(self, pattern):
        rx = re.compile(pattern)
        return [m for m in (rx.search(line) for line in self.out) if m]


def _argv(extra):
    try:
        kernel = linux_kernel.stock_kernel()
    except linux_kernel.KernelUnavailable as e:
        pytest.fail("cannot obtain the stock Debian kernel: %s" % e)
    if not os.access(TANDEM, os.X_OK):
        pytest.fail("%s not built (ninja -C build)" % TANDEM)
    return [TANDEM, "-accel", "kvm", "-m", str(RAM_MIB), "-nographic",
            "-no-reboot", "-kernel", kernel, "-append", CMDLINE] + extra


@pytest.fixture(scope="module")
def boots(tmp_path_factory):
    """Both guests run at once: each spends minutes in emulated CPL0."""
    # The -smp 2 guest also gets an initrd, to check ramdisk_image/size:
    # exactly INITRD_SIZE bytes of filler (the kernel never gets as far as
    # unpacking it), which the loader puts at the top of RAM.
    initrd = tmp_path_factory.mktemp("linux-boot") / "initrd.img"
    initrd.write_bytes(b"\0" * INITRD_SIZE)
    runs = {"up": Boot(_argv([])),
            "smp2": Boot(_argv(["-smp", "2", "-initrd", str(initrd)]))}
    for b in runs.values():
        b.start()
    for b in runs.values():
        b.wait(TIMEOUT)
    return runs


@pytest.fixture
def up(boots):
    return boots["up"]


@pytest.fixture
def smp2(boots):
    return boots["smp2"]


def _e820(boot):
    """[(start, end_inclusive, kind)] from the kernel's BIOS-e820 lines."""
    rx = (r"BIOS-e820: \[mem 0x([0-9a-f]{16})-0x([0-9a-f]{16})\] "
          r"(\S+(?: \S+)?)$")
    return [(int(m.group(1), 16), int(m.group(2), 16), m.group(3))
            for m in boot.find(rx)]


def _check_common(boot):
    assert boot.find(r"Linux version 6\.1\.\S+-cloud-amd64"), boot.describe()
    # The command line came through our cmd_line_ptr.
    assert boot.find(r"\] Command line: " + re.escape(CMDLINE) + "$"), \
        boot.describe()
    # E820 from our zero page.
    assert boot.find(r"BIOS-provided physical RAM map:"), boot.describe()
    e820 = _e820(boot)
    assert e820, boot.describe()
    # The pc machine's map for 512 MiB (hw/i386/pc.c): conventional memory
    # up to the EBDA, the EBDA and BIOS area reserved (the MP table lives
    # at 0xf0000), then RAM from 1 MiB to the end of RAM.
    assert (0x0, 0x9fbff, "usable") in e820, boot.describe()
    assert any(s <= 0xf0000 and e >= 0xfffff and k == "reserved"
               for s, e, k in e820), boot.describe()
    assert (0x100000, RAM_MIB * 2**20 - 1, "usable") in e820, boot.describe()
    usable = sum(e - s + 1 for s, e, k in e820 if k == "usable")
    assert RAM_MIB * 2**20 - 2**20 <= usable <= RAM_MIB * 2**20, e820
    assert boot.find(r"printk: bootconsole \[earlyser0\] enabled"), \
        boot.describe()
    # The kernel's own view of memory after parsing our map.
    assert boot.find(r"Faking a node at \[mem 0x0000000000000000-"
                     r"0x%016x\]" % (RAM_MIB * 2**20 - 1)), boot.describe()
    # The command line as the kernel core saw it.
    assert boot.find(r"\] Kernel command line: " + re.escape(CMDLINE)), \
        boot.describe()
    assert boot.find(DONE.pattern), boot.describe()


def test_linux_boot_up(up):
    _check_common(up)
    assert up.find(r"smpboot: Allowing 1 CPUs"), up.describe()


def test_linux_boot_smp2(smp2):
    _check_common(smp2)
    # CONFIG_X86_MPPARSE=n and no ACPI: the kernel sees only the boot CPU
    # (see the module docstring); anything else means it found a CPU list
    # we did not expect.
    assert smp2.find(r"smpboot: Allowing 1 CPUs"), smp2.describe()


def test_linux_initrd(smp2):
    # linux-boot.c puts the initrd page-aligned at the top of low RAM,
    # below initrd_addr_max; the kernel reports what boot_params says.
    end = RAM_MIB * 2**20
    assert smp2.find(r"\] RAMDISK: \[mem 0x%08x-0x%08x\]"
                     % (end - INITRD_SIZE, end - 1)), smp2.describe()
