# SPDX-License-Identifier: GPL-2.0-or-later
"""The command line Debian 12's libvirt (9.0) builds for a Tandem domain,
run without libvirt and without KVM (-accel qtest in place of -accel kvm):
every option must be accepted, and the QMP commands libvirt sends while
starting the domain must answer. test_libvirt.py runs the real libvirtd,
but it can start a domain only on a KVM host; this is the same command
line, taken from libvirtd's log (log/qemu/NAME.log) for the domain XML of
test_libvirt.py, with the fds libvirt passes made here."""
import json
import os
import socket
import subprocess
import time

import pytest

from tandem import GUEST, TANDEM


def libvirt_argv(tmp_path, monitor_fd, serial_fd, accel='qtest'):
    disk = tmp_path / 'disk.img'
    with open(disk, 'wb') as f:
        f.truncate(64 << 20)
    key = tmp_path / 'master-key.aes'
    key.write_bytes(os.urandom(32))
    return [
        TANDEM,
        '-name', 'guest=tandem-test,debug-threads=on',
        '-S',
        '-object', 'secret,id=masterKey0,format=raw,file=%s' % key,
        '-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram',
        '-accel', accel,
        # No -cpu: libvirt passes none for a domain without <cpu>.
        '-m', '128',
        '-object', 'memory-backend-ram,id=pc.ram,size=134217728',
        '-overcommit', 'mem-lock=off',
        '-smp', '1,sockets=1,cores=1,threads=1',
        '-uuid', '624edf94-3e16-4460-a8d5-2433e75289e6',
        '-display', 'none',
        '-no-user-config',
        '-nodefaults',
        # The monitor is a socket libvirt bound and listens on, passed as fd.
        '-chardev', 'socket,id=charmonitor,fd=%d,server=on,wait=off' % monitor_fd,
        '-mon', 'chardev=charmonitor,id=monitor,mode=control',
        '-rtc', 'base=utc',
        '-no-shutdown',
        '-no-acpi',
        '-boot', 'strict=on',
        '-kernel', GUEST,
        '-append', 'workload=count',
        '-blockdev', json.dumps({
            'driver': 'file', 'filename': str(disk),
            'node-name': 'libvirt-1-storage', 'auto-read-only': True,
            'discard': 'unmap'}),
        '-blockdev', json.dumps({
            'node-name': 'libvirt-1-format', 'read-only': False,
            'driver': 'raw', 'file': 'libvirt-1-storage'}),
        '-device', 'virtio-blk-pci,bus=pci.0,addr=0x3,drive=libvirt-1-format,'
                   'id=virtio-disk0,bootindex=1',
        '-netdev', 'user,id=hostnet0',
        '-device', 'virtio-net-pci,netdev=hostnet0,id=net0,'
                   'mac=52:54:00:72:f1:c9,bus=pci.0,addr=0x2',
        '-add-fd', 'set=0,fd=%d,opaque=serial0-source' % serial_fd,
        '-chardev', 'file,id=charserial0,path=/dev/fdset/0,append=on',
        '-device', 'isa-serial,chardev=charserial0,id=serial0,index=0',
        '-audiodev', json.dumps({'id': 'audio1', 'driver': 'none'}),
        '-msg', 'timestamp=on',
    ]


class Qmp:
    def __init__(self, path, proc, timeout=10):
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, 'no monitor socket'
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.f = self.sock.makefile('rw')
        try:
            greeting = self.f.readline()
        except ConnectionResetError:
            greeting = ''       # it exited before accepting us
        if not greeting:
            proc.wait(timeout=timeout)
            raise AssertionError('Tandem exited: ' + proc.stderr.read())
        assert 'QMP' in json.loads(greeting)
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        msg = {'execute': name, 'id': 'libvirt-1'}
        if args:
            msg['arguments'] = args
        self.f.write(json.dumps(msg) + '\n')
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if 'event' not in reply:
                return reply

    def ok(self, name, **args):
        reply = self.cmd(name, **args)
        assert 'return' in reply, (name, reply)
        return reply['return']


@pytest.fixture
def libvirt_domain(tmp_path):
    monitor = str(tmp_path / 'monitor.sock')
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(monitor)
    listener.listen(1)
    serial = os.open(str(tmp_path / 'serial.log'),
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    proc = subprocess.Popen(libvirt_argv(tmp_path, listener.fileno(), serial),
                            pass_fds=[serial, listener.fileno()],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    os.close(serial)
    listener.close()
    try:
        yield proc, monitor
    finally:
        proc.kill()
        proc.wait()


def test_command_line_accepted(libvirt_domain):
    """The whole command line starts (before bootindex was accepted it
    failed on `Property 'virtio-blk-pci.bootindex' not found`)."""
    proc, monitor = libvirt_domain
    qmp = Qmp(monitor, proc)
    assert qmp.ok('query-status')['status'] == 'prelaunch'
    # What libvirt asks while starting the domain, with the shapes it reads.
    chardevs = {c['label']: c for c in qmp.ok('query-chardev')}
    assert chardevs['charserial0']['filename'] == 'file:/dev/fdset/0'
    assert qmp.ok('query-iothreads') == []
    nodes = {n['node-name']: n for n in
             qmp.ok('query-named-block-nodes', flat=True)}
    assert {'libvirt-1-storage', 'libvirt-1-format'} <= set(nodes)
    peripheral = {p['name']: p['type'] for p in
                  qmp.ok('qom-list', path='/machine/peripheral')}
    assert peripheral['virtio-disk0'] == 'child<virtio-blk-pci>'
    assert peripheral['net0'] == 'child<virtio-net-pci>'
    assert peripheral['serial0'] == 'child<isa-serial>'
    # The vCPU libvirt reads after start (it stopped here before the
    # qtest vCPUs existed as objects): its QOM path, then its CPUID view.
    (cpu,) = qmp.ok('query-cpus-fast')
    assert cpu['qom-path'] == '/machine/unattached/device[0]'
    props = {p['name']: p['type'] for p in
             qmp.ok('qom-list', path=cpu['qom-path'])}
    assert props['hypervisor'] == 'bool'
    assert props['feature-words'] == 'X86CPUFeatureWordInfo'
    assert qmp.ok('qom-get', path=cpu['qom-path'], property='hypervisor')
    words = qmp.ok('qom-get', path=cpu['qom-path'], property='feature-words')
    assert {'cpuid-input-eax', 'cpuid-register', 'features'} <= set(words[0])
    assert qmp.ok('qom-get', path=cpu['qom-path'],
                  property='unavailable-features') == []
    qmp.ok('cont')
    assert qmp.ok('query-status')['status'] == 'running'
    qmp.ok('stop')
    assert qmp.ok('query-status')['status'] == 'paused'
    qmp.ok('quit')
    assert proc.wait(timeout=10) == 0


def test_usb_refused_with_the_libvirt_fix(tmp_path):
    """libvirt adds -usb for a pc domain's default USB controller; Tandem
    has none and says what to put in the domain XML instead."""
    p = subprocess.run([TANDEM, '-usb'], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert "-usb: USB is not supported: the pc machine has no USB controller " \
           "(under libvirt: <controller type='usb' model='none'/>)" in p.stderr
