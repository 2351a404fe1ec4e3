# SPDX-License-Identifier: GPL-2.0-or-later
"""The command line: QEMU spellings, one-line errors with exit status 1,
-version/-help, -daemonize/-pidfile, tracing, and a host without KVM."""
import json
import os
import re
import subprocess
import time

import pytest

from tandem import (DEBUG_EXIT, GUEST, TANDEM, Vm, kvm_unusable_reason,
                    needs_kvm, run)

BAD_ARGS = [
    (['-foo'], '-foo: invalid option'),
    (['--bogus-option'], '--bogus-option: invalid option'),
    (['-m'], '-m: requires an argument'),
    (['-m', 'abc'], "-m abc: 'abc' is not a valid size"),
    (['-m', '1'], '-m 1: RAM size 1 is too small: the pc machine needs at least 16 MiB'),
    (['-m', '2'], '-m 2: RAM size 2 is too small: the pc machine needs at least 16 MiB'),
    (['-m', '2M'], '-m 2M: RAM size 2M is too small: the pc machine needs at least 16 MiB'),
    (['-m', '15M'], '-m 15M: RAM size 15M is too small'),
    (['-m', '2T'], '-m 2T: RAM size 2T is out of range (at most 1 TiB)'),
    (['-m', '256,maxmem=1G'], "Invalid parameter 'maxmem'"),
    (['-smp', '0'], '-smp 0: Invalid number of CPUs 0'),
    (['-smp', '2,maxcpus=4'], 'CPU hotplug is not supported'),
    (['-smp', '3,sockets=2'], 'Invalid CPU topology'),
    (['-smp', 'cpus=x'], "Parameter 'cpus' expects an integer"),
    (['-accel', 'tcg'], '-accel tcg: invalid accelerator tcg'),
    (['-accel', 'kvm,dirty-ring-size=abc'], "Parameter 'dirty-ring-size' expects an integer"),
    (['-machine', 'q35'], "unsupported machine type 'q35'"),
    # One machine, QEMU 7.2's pc: older versions promise another guest ABI.
    (['-machine', 'pc-i440fx-2.0'], "unsupported machine type 'pc-i440fx-2.0'"),
    (['-machine', 'pc-i440fx-9.9'], "unsupported machine type 'pc-i440fx-9.9'"),
    (['-vga', 'std'], "VGA card 'std' is not available: Tandem has no display devices"),
    (['-msg', 'timestamp=maybe'], "Parameter 'timestamp' expects 'on' or 'off'"),
    (['-msg', 'guest-name=on'], "Invalid parameter 'guest-name'"),
    (['-uuid', 'not-a-uuid'], '-uuid not-a-uuid: Fail to parse UUID string'),
    (['-machine', 'pc,foo=bar'], "Invalid parameter 'foo'"),
    (['-device', 'e1000'], "'e1000' is not a valid device model name"),
    # -device properties are checked while the command line is parsed.
    (['-device', 'isa-debug-exit,iobase=0x10000'],
     '-device isa-debug-exit,iobase=0x10000: iobase 0x10000 + iosize 0x2 is outside the I/O port space'),
    (['-device', 'isa-debug-exit,foo=1'], "Property 'isa-debug-exit.foo' not found"),
    (['-device', 'isa-debug-exit,iobase=abc'], "Parameter 'iobase' expects an integer"),
    (['-device', 'isa-debug-exit,iosize=0'], 'iosize must not be 0'),
    (['-device', 'isa-serial,index=4'],
     "Property isa-serial.index doesn't take value 4 (minimum: 0, maximum: 3)"),
    (['-device', 'isa-debug-exit,id=a', '-device', 'isa-debug-exit,id=a'],
     "Duplicate ID 'a' for device"),
    (['-device', 'nosuch,help'], "'nosuch' is not a valid device model name"),
    (['-device', 'device'], "Parameter 'driver' expects a non-abstract device type"),
    (['-kernel', GUEST, '-serial', 'bogus'], "'bogus' is not a valid char driver name"),
    (['-display', 'gtk'], "display 'gtk' is not available"),
    (['-name', 'x,foo=1'], "Invalid parameter 'foo'"),
    (['disk.img'], 'disk.img: disk images are not supported'),
    # libvirt's options: what Tandem cannot honour is refused, naming why.
    (['-overcommit', 'cpu-pm=on'], '-overcommit cpu-pm=on: cpu-pm=on is not supported'),
    (['-overcommit', 'mem-lock=maybe'], "Parameter 'mem-lock' expects 'on' or 'off'"),
    (['-overcommit', 'foo=on'], "Invalid parameter 'foo'"),
    (['-rtc', 'base=localtime'], '-rtc base=localtime: base=localtime is not supported: the pc has no RTC'),
    (['-rtc', 'base=2006-06-17T16:01:21'], 'is not supported: the pc has no RTC'),
    (['-rtc', 'clock=vm'], '-rtc clock=vm: clock=vm is not supported'),
    (['-rtc', 'driftfix=bogus'], "Parameter 'driftfix' does not accept value 'bogus'"),
    (['-boot', 'order=c'], '-boot order=c: order= is not supported: Tandem has no firmware'),
    (['-boot', 'c'], 'order= is not supported: Tandem has no firmware'),
    (['-boot', 'once=d'], '-boot once=d: once= is not supported'),
    (['-boot', 'menu=on'], '-boot menu=on: menu=on is not supported'),
    (['-boot', 'reboot-timeout=5'], 'reboot-timeout= is not supported'),
    (['-audiodev', 'pa,id=a'], "-audiodev pa,id=a: audio driver 'pa' is not available: Tandem has no sound devices"),
    (['-audiodev', '{"id":"a","driver":"alsa"}'], "audio driver 'alsa' is not available"),
    (['-audiodev', 'none'], "-audiodev none: Parameter 'id' is missing"),
    (['-audiodev', '{"id":"a","driver":"none","timer-period":5}'], "Parameter 'timer-period' is unexpected"),
    (['-sandbox', 'on'], '-sandbox on: seccomp sandboxing is not supported by Tandem'),
    (['-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'],
     'seccomp sandboxing is not supported by Tandem'),
    (['-global', 'PIIX4_PM.disable_s3=1'], '-global PIIX4_PM.disable_s3=1: -global is not supported yet'),
    (['-object', 'secret,id=s,data=x,keyid=masterKey0,iv=AAAA,format=base64'],
     'encrypted secrets (keyid, iv) are not supported yet'),
    (['-object', 'secret,id=s,data=abc,format=base64'], "secret 's': the data is not valid base64"),
    (['-object', 'secret,id=s,file=/nonexistent/key'], 'Unable to read /nonexistent/key'),
    (['-add-fd', 'fd=1,set=1'], '-add-fd fd=1,set=1: fd cannot be a standard I/O stream'),
    (['-add-fd', 'fd=1000,set=1'], 'fd is not valid or already in use'),
    (['-add-fd', 'set=1'], 'fd option is required and must be non-negative'),
    # -cpu: QEMU's model names and feature names, QEMU's errors.
    (['-cpu', 'Pentium9'], "-cpu Pentium9: unable to find CPU model 'Pentium9'"),
    (['-cpu', 'Haswell,+nosuch'], "-cpu Haswell,+nosuch: Property 'Haswell-x86_64-cpu.nosuch' not found"),
    (['-cpu', 'Haswell,avx2=maybe'], "can't apply global Haswell-x86_64-cpu.avx2=maybe: "
                                     "Parameter 'avx2' expects 'on' or 'off'"),
    (['-cpu', 'Haswell,nosuch=on'], "can't apply global Haswell-x86_64-cpu.nosuch=on: "
                                    "Property 'Haswell-x86_64-cpu.nosuch' not found"),
    # -machine's own properties and the RAM backend object.
    (['-machine', 'pc,usb=on'], 'usb=on is not supported: the pc machine has no USB controller'),
    (['-machine', 'pc,dump-guest-core=maybe'], "Parameter 'dump-guest-core' expects 'on' or 'off'"),
    (['-object', 'memory-backend-ram,id=m,size=0'], "can't create backend with size 0"),
    (['-object', 'memory-backend-ram,id=m,size=64M,merge=on'], 'merge=on is not supported'),
]


@pytest.mark.parametrize('args,message', BAD_ARGS, ids=[' '.join(a) for a, _ in BAD_ARGS])
def test_bad_option_is_one_line_and_status_1(args, message):
    p = run(args)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith('tandem-system-x86_64: ')
    assert message in lines[0]


@needs_kvm
def test_bad_device_property_at_creation():
    p = run(['-kernel', GUEST, '-device', 'isa-debug-exit,iobase=0x10000'])
    assert p.returncode == 1
    assert 'outside the I/O port space' in p.stderr


def test_missing_kernel_file():
    p = run(['-kernel', '/nonexistent/kernel'])
    assert p.returncode == 1
    assert "could not load kernel '/nonexistent/kernel'" in p.stderr


def test_kernel_that_is_not_bootable(tmp_path):
    junk = tmp_path / 'junk'
    junk.write_bytes(os.urandom(65536))
    p = run(['-kernel', str(junk)])
    assert p.returncode == 1
    assert 'neither a multiboot image nor a Linux bzImage' in p.stderr


@pytest.mark.parametrize('path', ['/dev/zero', '/dev/null', '/tmp'])
def test_kernel_that_is_not_a_regular_file(path):
    """/dev/zero used to be read without end; all are refused unread."""
    p = run(['-kernel', path])
    assert p.returncode == 1
    assert "could not load kernel '%s': not a regular file" % path in p.stderr


def test_kernel_fifo_does_not_block(tmp_path):
    """Opening a FIFO with no writer used to block forever."""
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    p = run(['-kernel', str(fifo)])
    assert p.returncode == 1
    assert 'not a regular file' in p.stderr


def test_kernel_larger_than_ram_is_refused_unread(tmp_path):
    big = tmp_path / 'big'
    with open(big, 'wb') as f:
        f.truncate(1 << 30)         # sparse: no disk used
    p = run(['-m', '128', '-kernel', str(big)])
    assert p.returncode == 1
    assert "could not load kernel '%s': its 1073741824 bytes do not fit " \
           "in the guest's 134217728 bytes of RAM" % big in p.stderr


def test_kernel_header_is_judged_first(tmp_path):
    """A sparse file that fits in RAM but has no kernel header is refused
    on its header (zeros), with the format error."""
    big = tmp_path / 'zeros'
    with open(big, 'wb') as f:
        f.truncate(256 << 20)
    p = run(['-m', '512', '-kernel', str(big)])
    assert p.returncode == 1
    assert 'neither a multiboot image nor a Linux bzImage' in p.stderr


@needs_kvm
@pytest.mark.parametrize('path', ['/dev/zero', 'fifo'])
def test_initrd_that_is_not_a_regular_file(tmp_path, path):
    if path == 'fifo':
        path = str(tmp_path / 'fifo')
        os.mkfifo(path)
    p = run(['-kernel', GUEST, '-initrd', path])
    assert p.returncode == 1
    assert "could not load multiboot module '%s': not a regular file" % path \
        in p.stderr


def test_no_kernel_given():
    p = run(['-display', 'none'])
    assert p.returncode == 1
    assert 'no kernel given' in p.stderr
    assert '(a migration destination, -incoming, needs none)' in p.stderr


def test_version():
    p = run(['-version'])
    assert p.returncode == 0
    assert p.stdout.startswith('QEMU emulator version 7.2.0 (Tandem ')


def test_help_lists_options():
    p = run(['-help'])
    assert p.returncode == 0
    for opt in ('-kernel', '-append', '-serial', '-smp', '-daemonize', '-trace'):
        assert '\n' + opt in p.stdout


def test_device_help():
    p = run(['-device', 'help'])
    assert p.returncode == 0, p.stderr
    # QEMU's layout: categories, then one line per type.
    assert 'Misc devices:\nname "isa-debug-exit", bus ISA' in p.stdout
    assert 'Input devices:\nname "isa-serial", bus ISA' in p.stdout
    assert p.stdout.index('Input devices:') < p.stdout.index('Misc devices:')


def test_device_type_help():
    p = run(['-device', 'isa-debug-exit,help'])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == 'isa-debug-exit options:'
    assert any(ln.startswith('  iobase=<uint32>') and '(default: 0x501)' in ln for ln in lines)
    assert any(ln.startswith('  iosize=<uint32>') for ln in lines)
    p = run(['-device', 'isa-serial,help'])
    assert p.returncode == 0, p.stderr
    for prop in ('index=<uint32>', 'iobase=<uint32>', 'irq=<uint32>', 'chardev=<string>'):
        assert '  ' + prop in p.stdout


@needs_kvm
def test_device_isa_serial_is_com1(tmp_path):
    """-device isa-serial,chardev=ID is COM1 just as -serial is."""
    vm = Vm(tmp_path, ['-chardev', 'file,id=com,path=%s' % (tmp_path / 'vm-serial.log'),
                       '-device', 'isa-serial,chardev=com', '-kernel', GUEST,
                       *DEBUG_EXIT, '-append', 'workload=count exit-after=1'], serial=False)
    with vm:
        assert vm.wait_exit(30) == 1
        assert 'TG count=1 ' in vm.serial(), vm.stderr()


@needs_kvm
def test_device_realize_error_names_the_device():
    p = run(['-kernel', GUEST, '-device', 'isa-debug-exit,iobase=0x3f8,id=d'])
    assert p.returncode == 1
    assert "-device isa-debug-exit (id 'd'): " in p.stderr and 'overlaps' in p.stderr


def test_help_lists_device_option():
    p = run(['-help'])
    assert '-device DRIVER[,prop=value,...]' in p.stdout


@needs_kvm
def test_double_dash_spelling(tmp_path):
    with Vm(tmp_path, ['--kernel', GUEST, '--append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')


@needs_kvm
def test_enable_kvm_and_machine_accel(tmp_path):
    with Vm(tmp_path, ['-enable-kvm', '-machine', 'pc,accel=kvm', '-m', 'size=128M',
                       '-kernel', GUEST, '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')


def test_no_kvm_gives_clear_error():
    """In a mount namespace with an empty /dev, /dev/kvm does not exist."""
    cmd = ['unshare', '-m', 'sh', '-c',
           'mount -t tmpfs none /dev && exec "$0" -kernel "$1"', TANDEM, GUEST]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, p.stderr
    assert 'Could not access KVM kernel module (/dev/kvm): No such file or directory' in p.stderr


@needs_kvm
def test_daemonize_and_pidfile(tmp_path):
    pidfile = tmp_path / 'tandem.pid'
    serial = tmp_path / 'serial.log'
    p = run(['-accel', 'kvm', '-display', 'none', '-nodefaults', '-daemonize',
             '-pidfile', str(pidfile), '-serial', 'file:%s' % serial,
             '-kernel', GUEST, '-append', 'workload=count'])
    # The parent returns only once the VM is set up.
    assert p.returncode == 0, p.stderr
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, 0)
        deadline = time.monotonic() + 20
        while 'TG count=1 ' not in (serial.read_text() if serial.exists() else ''):
            assert time.monotonic() < deadline, 'daemon printed nothing'
            time.sleep(0.1)
        # A second instance cannot take the same pid file.
        p2 = run(['-pidfile', str(pidfile), '-kernel', GUEST, '-display', 'none'])
        assert p2.returncode == 1 and 'cannot lock pid file' in p2.stderr
    finally:
        os.kill(pid, 15)
    deadline = time.monotonic() + 10
    while pidfile.exists():
        assert time.monotonic() < deadline, 'pid file not removed at exit'
        time.sleep(0.05)


def test_daemonize_failure_reported_by_parent():
    p = run(['-daemonize', '-display', 'none', '-kernel', '/nonexistent'])
    assert p.returncode == 1


def test_daemonize_refuses_stdio():
    p = run(['-daemonize', '-nographic', '-kernel', GUEST])
    assert p.returncode == 1 and '-nographic cannot be used with -daemonize' in p.stderr


def test_daemonize_nographic_without_defaults(tmp_path):
    """libvirt's capability probe: -nographic with -nodefaults puts nothing
    on stdio, so it goes with -daemonize (as in QEMU). Needs no KVM."""
    sock, pidfile = tmp_path / 'qmp.sock', tmp_path / 'probe.pid'
    p = run(['-S', '-no-user-config', '-nodefaults', '-nographic',
             '-machine', 'none,accel=kvm:tcg',
             '-qmp', 'unix:%s,server=on,wait=off' % sock,
             '-pidfile', str(pidfile), '-daemonize'])
    assert p.returncode == 0, p.stderr
    pid = int(pidfile.read_text())
    try:
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(sock))
            f = s.makefile('rw')
            assert 'QMP' in json.loads(f.readline())
            for cmd in ('qmp_capabilities', 'query-target'):
                f.write(json.dumps({'execute': cmd}) + '\n')
                f.flush()
                reply = json.loads(f.readline())
            assert reply == {'return': {'arch': 'x86_64'}}, reply
    finally:
        os.kill(pid, 15)


@needs_kvm
def test_trace_to_log_file(tmp_path):
    log = tmp_path / 'trace.log'
    with Vm(tmp_path, ['-trace', 'runstate_set', '-trace', 'enable=kvm_vcpu_create',
                       '-D', str(log), '-kernel', GUEST, *DEBUG_EXIT,
                       '-append', 'workload=count exit-after=1']) as vm:
        assert vm.wait_exit(30) == 1
    text = log.read_text()
    assert 'runstate_set prelaunch -> running' in text
    assert ':kvm_vcpu_create vcpu 0 fd ' in text
    # The log line format: PID@SECONDS.MICROSECONDS:NAME ARGS
    first = text.splitlines()[0]
    assert first.split('@')[0].isdigit() and ':' in first


def test_trace_help_lists_events():
    p = run(['-trace', 'help'])
    assert p.returncode == 0
    for ev in ('kvm_dirty_sync_slot', 'runstate_set', 'serial_write', 'cpu_park'):
        assert ev in p.stdout.split()


@needs_kvm
def test_debug_threads_names_vcpu_threads(tmp_path):
    with Vm(tmp_path, ['-name', 'guest=demo,debug-threads=on', '-smp', '2',
                       '-kernel', GUEST, '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')
        task = '/proc/%d/task' % vm.proc.pid
        names = {open(os.path.join(task, t, 'comm')).read().strip() for t in os.listdir(task)}
        assert {'CPU 0/KVM', 'CPU 1/KVM'} <= names, names


KVM_MISSING = ('tandem-system-x86_64: Could not access KVM kernel module '
               '(/dev/kvm): ')


def check_accepted(tmp_path, args):
    """The options are taken: with KVM the guest boots with them; without,
    the run gets past the whole command line to opening /dev/kvm (every
    option is parsed and checked before that)."""
    if kvm_unusable_reason():
        p = run(args + ['-display', 'none', '-kernel', GUEST])
        assert p.returncode == 1
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(KVM_MISSING), p.stderr
        return
    with Vm(tmp_path, args + ['-kernel', GUEST, '-append',
                              'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')


# What libvirt and QEMUMachine always pass (docs/compat.md says why each
# is exact for Tandem).
ACCEPTED = [
    ['-no-user-config'],
    ['-no-acpi'],
    ['-vga', 'none'],
    ['-msg', 'timestamp=off'],
    ['-uuid', '550e8400-e29b-41d4-a716-446655440000'],
    ['-machine', 'pc-i440fx-7.2'],
    ['-M', 'pc'],
    ['-overcommit', 'mem-lock=off'],
    ['-overcommit', 'mem-lock=on'],
    ['-rtc', 'base=utc'],
    ['-rtc', 'base=utc,clock=host,driftfix=slew'],
    ['-boot', 'strict=on'],
    ['-boot', 'menu=off'],
    ['-audiodev', 'none,id=audio1'],
    ['-audiodev', '{"id":"audio1","driver":"none"}'],
    ['-sandbox', 'off'],
    ['-cpu', 'qemu64'],
    ['-cpu', 'host,migratable=on'],
    ['-cpu', 'kvm64,+sse4.1,-hypervisor,kvmclock=on'],
    ['-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=off'],
    ['-m', '128M', '-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":134217728}',
     '-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram'],
]


@pytest.mark.parametrize('args', ACCEPTED, ids=[' '.join(a) for a in ACCEPTED])
def test_libvirt_and_qemumachine_options_accepted(tmp_path, args):
    check_accepted(tmp_path, args)


def test_msg_timestamp_prefixes_errors():
    p = run(['-msg', 'timestamp=on', '-m', 'abc'])
    assert p.returncode == 1
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z '
                    r"tandem-system-x86_64: -m abc: 'abc' is not a valid size ",
                    p.stderr.strip()), p.stderr


def test_cpu_help_lists_models_and_flags():
    p = run(['-cpu', 'help'])
    assert p.returncode == 0
    for name in ['host', 'max', 'qemu64', 'kvm64', 'Skylake-Client-IBRS',
                 'Cascadelake-Server-noTSX', 'EPYC-Rome', 'Haswell-noTSX-IBRS']:
        assert re.search(r'^x86 %s ' % re.escape(name), p.stdout, re.M), name
    assert 'Recognized CPUID flags:' in p.stdout
    assert re.search(r'\bavx2\b', p.stdout)


@needs_kvm
def test_memory_backend_size_must_match_m():
    p = run(['-kernel', GUEST, '-m', '256M',
             '-object', 'memory-backend-ram,id=pc.ram,size=128M',
             '-machine', 'pc,memory-backend=pc.ram'])
    assert p.returncode == 1
    assert ("Size specified by -m option must match size of explicitly "
            "specified 'memory-backend' property") in p.stderr


@needs_kvm
def test_memory_backend_not_found():
    p = run(['-kernel', GUEST, '-machine', 'pc,memory-backend=nosuch'])
    assert p.returncode == 1
    assert "Memory backend 'nosuch' not found" in p.stderr


@needs_kvm
def test_cpu_enforce_refuses_missing_features():
    """A feature no host has (PVM has no VMX): warned about, and with
    enforce the VM does not start."""
    p = run(['-kernel', GUEST, '-cpu', 'kvm64,+vmx,+svm,enforce'])
    assert p.returncode == 1
    assert "warning: host doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]" in p.stderr \
        or "CPUID.80000001H:ECX.svm [bit 2]" in p.stderr
    assert "Host doesn't support requested features" in p.stderr


def test_machine_help_lists_qemu_names():
    p = run(['-machine', 'help'])
    assert p.returncode == 0
    assert p.stdout.splitlines() == [
        'Supported machines are:',
        'none                 empty machine',
        'pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)',
        'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)',
    ]


def test_overcommit_mem_lock_calls_mlockall():
    """mem-lock=on is done, not ignored: without CAP_IPC_LOCK and with a
    zero RLIMIT_MEMLOCK, mlockall fails and Tandem says so; with
    mem-lock=off the same run gets as far as opening /dev/kvm."""
    def jailed(lock):
        cmd = ['setpriv', '--bounding-set', '-ipc_lock', 'prlimit', '--memlock=0:0',
               TANDEM, '-overcommit', 'mem-lock=' + lock, '-display', 'none',
               '-kernel', GUEST, *DEBUG_EXIT, '-append', 'workload=count exit-after=1']
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    p = jailed('on')
    assert p.returncode == 1
    assert '-overcommit mem-lock=on: locking memory failed (mlockall)' in p.stderr, p.stderr
    p = jailed('off')
    assert 'mlockall' not in p.stderr, p.stderr


@needs_kvm
def test_overcommit_mem_lock_locks_guest_ram(tmp_path):
    with Vm(tmp_path, ['-overcommit', 'mem-lock=on', '-m', '64', '-kernel', GUEST,
                       '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')
        status = open('/proc/%d/status' % vm.proc.pid).read()
        locked_kb = int(re.search(r'^VmLck:\s+(\d+) kB', status, re.M).group(1))
        assert locked_kb >= 64 * 1024, status


def test_secret_objects_accepted(tmp_path):
    """libvirt's master key (a raw file, JSON form) and an inline secret."""
    key = tmp_path / 'master-key.aes'
    key.write_bytes(os.urandom(32))
    check_accepted(tmp_path, [
        '-object', '{"qom-type":"secret","id":"masterKey0","format":"raw","file":"%s"}' % key,
        '-object', 'secret,id=pw,data=cGFzc3dvcmQ=,format=base64'])


def run_with_fd(path, args):
    """Tandem with path open (read-only, inherited) as fd N; args may
    say {fd}."""
    fd = os.open(path, os.O_RDONLY)
    try:
        cmd = [TANDEM, '-display', 'none'] + [a.format(fd=fd) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                              pass_fds=[fd])
    finally:
        os.close(fd)


def test_add_fd_kernel_from_fdset():
    """libvirt's way: the kernel opened by the manager, named
    /dev/fdset/N. Without KVM the run gets past loading it (the kernel
    is read before /dev/kvm is opened); naming a set that does not
    exist fails on the kernel."""
    p = run_with_fd(GUEST, ['-add-fd', 'fd={fd},set=3,opaque=rdonly:guest',
                            '-kernel', '/dev/fdset/3', *DEBUG_EXIT,
                            '-append', 'workload=count exit-after=1'])
    if kvm_unusable_reason():
        assert p.returncode == 1
        assert p.stderr.startswith(KVM_MISSING), p.stderr
    else:
        assert 'could not load' not in p.stderr, p.stderr
    p = run_with_fd(GUEST, ['-add-fd', 'fd={fd},set=4', '-kernel', '/dev/fdset/3'])
    assert p.returncode == 1
    assert "could not load kernel '/dev/fdset/3': No such file or directory" in p.stderr, p.stderr


def test_accel_help_lists_kvm_and_qtest():
    p = run(['-accel', 'help'])
    assert p.returncode == 0
    assert p.stdout.splitlines() == [
        'Accelerators supported in Tandem binary:', 'kvm', 'qtest']


def qmp_session(args, commands):
    """Runs Tandem with a QMP monitor on stdio, sends commands (after
    qmp_capabilities) and quit; returns the replies, events left out."""
    lines = ['{"execute": "qmp_capabilities"}'] + commands + ['{"execute": "quit"}']
    p = subprocess.run([TANDEM, '-display', 'none', '-qmp', 'stdio'] + args,
                       input='\n'.join(lines) + '\n', capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    replies = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    return [r for r in replies if 'event' not in r and 'QMP' not in r]


def test_qtest_without_accel_chooses_qtest(tmp_path):
    """As in QEMU, -qtest with no accelerator given runs the qtest
    accelerator: no /dev/kvm, no kernel needed, and the -smp vCPU is an
    object that never runs (its thread-id is the main thread's)."""
    sock = os.path.join(str(tmp_path), 'qtest.sock')
    replies = qmp_session(['-qtest', 'unix:%s,server=on,wait=off' % sock],
                          ['{"execute": "query-kvm"}',
                           '{"execute": "query-cpus-fast"}'])
    assert replies[1] == {'return': {'enabled': False,
                                     'present': kvm_unusable_reason() is None}}
    (cpu,) = replies[2]['return']
    assert isinstance(cpu.pop('thread-id'), int)
    assert cpu == {'cpu-index': 0, 'target': 'x86_64',
                   'qom-path': '/machine/unattached/device[0]',
                   'props': {'socket-id': 0, 'core-id': 0, 'thread-id': 0}}


def test_machine_none_probe_without_kvm():
    """libvirt's probe: -machine none,accel=kvm:tcg serves QMP whether or
    not /dev/kvm is usable, and query-kvm says which."""
    kvm = kvm_unusable_reason() is None
    replies = qmp_session(['-machine', 'none,accel=kvm:tcg', '-nodefaults'],
                          ['{"execute": "query-kvm"}',
                           '{"execute": "query-status"}'])
    assert replies[1] == {'return': {'enabled': kvm, 'present': kvm}}
    assert replies[2]['return']['status'] == 'running'
