# SPDX-License-Identifier: GPL-2.0-or-later
"""-netdev and -nic from the outside: command-line errors (no KVM needed:
they come before the machine), and with KVM the test guest behind a
stream netdev answering a peer that speaks QEMU's stream framing, and
info network / set_link through HMP. The netdev internals are tested in
tests/unit/test-net-*.c (real tap in a netns, slirp, socket pairs,
Debian's QEMU as a stream peer)."""
import socket
import struct
import time

import pytest

from tandem import GUEST, Vm, needs_kvm, run


@pytest.mark.parametrize('args,message', [
    (['-netdev', 'tap,id=n0,vhost=on'], 'vhost=on: vhost-net is not supported'),
    (['-netdev', 'tap,id=n0,script=/etc/qemu-ifup'],
     'Tandem does not run interface scripts'),
    (['-netdev', 'tap,id=n0,queues=2'], 'multiqueue tap is not supported'),
    (['-netdev', 'tap,id=n0,fd=987'], 'fd=987 is not an open file descriptor'),
    (['-netdev', 'vde,id=n0'], "Parameter 'type' does not accept value 'vde'"),
    (['-netdev', 'user'], "Parameter 'id' is missing"),
    (['-netdev', 'user,id=0bad'], "Parameter 'id' expects an identifier"),
    (['-netdev', 'user,id=u,hostfwd=tcp::99999-:80'],
     "Invalid host forwarding rule"),
    (['-netdev', 'user,id=u', '-netdev', 'user,id=u'],
     "Duplicate ID 'u' for netdev"),
    (['-netdev', 'stream,id=s'], "Parameter 'addr.type' is missing"),
    (['-netdev', 'socket,id=s,connect=127.0.0.1:1'], 'Failed to connect'),
    (['-netdev', 'hubport,id=h'], "Parameter 'hubid' is missing"),
    (['-nic', 'user,model=no-such-nic'], "'no-such-nic' is not a valid device"),
])
def test_netdev_errors(args, message):
    p = run(args)
    assert p.returncode == 1, p.stderr
    assert message in p.stderr, p.stderr
    # One line, naming the option as typed.
    assert p.stderr.count('\n') == 1 and ('-netdev' in p.stderr or '-nic' in p.stderr)


def test_help_lists_netdev_and_nic():
    p = run(['-help'])
    assert '-netdev TYPE,id=ID' in p.stdout
    assert '-nic TYPE' in p.stdout


def frame_arp_request(mac, sip, tip):
    return (b'\xff' * 6 + mac + b'\x08\x06' + b'\x00\x01\x08\x00\x06\x04\x00\x01'
            + mac + socket.inet_aton(sip) + b'\x00' * 6 + socket.inet_aton(tip))


@needs_kvm
def test_guest_answers_arp_over_stream(tmp_path):
    """The guest's NIC on -netdev stream,server=on; this test is the other
    VMM: length-prefixed frames, an ARP request in, the reply out."""
    path = str(tmp_path / 'net.sock')
    args = ['-m', '256', '-kernel', GUEST, '-no-reboot',
            '-netdev', 'stream,id=n0,server=on,addr.type=unix,addr.path=' + path,
            '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56',
            '-append', 'workload=serve ip=10.0.2.15/24 gw=10.0.2.2']
    with Vm(tmp_path, args) as vm:
        vm.wait_for(r'serve', timeout=60)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.settimeout(1.0)
        mac = bytes.fromhex('525400aabbcc')
        req = frame_arp_request(mac, '10.0.2.2', '10.0.2.15')
        deadline = time.monotonic() + 30
        buf = b''
        while time.monotonic() < deadline:
            s.sendall(struct.pack('>I', len(req)) + req)
            try:
                buf += s.recv(65536)
            except socket.timeout:
                continue
            while len(buf) >= 4 and len(buf) >= 4 + struct.unpack('>I', buf[:4])[0]:
                n = struct.unpack('>I', buf[:4])[0]
                f, buf = buf[4:4 + n], buf[4 + n:]
                if f[12:14] == b'\x08\x06' and f[21] == 2 and f[28:32] == socket.inet_aton('10.0.2.15'):
                    return
        pytest.fail('no ARP reply from the guest over the stream netdev')
