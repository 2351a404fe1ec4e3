# SPDX-License-Identifier: GPL-2.0-or-later
"""Two guests on one link ping each other (issue 12 item 7): the test
guest's ping client (`ping=ADDR` under workload=serve) in two VMMs joined
by a socket netdev, QEMU's spellings: `socket` listen/connect (stream
framing) and `dgram` (one datagram per frame). Each guest pings the other
(one over IPv4, the other over IPv6, so ARP and NDP both run) and must
see its own replies, none twice. Debian's QEMU on both ends runs here
(TCG); Tandem on both ends, and Tandem against QEMU on the same link,
need KVM."""
import os
import re
import time

import pytest

from tandem import GUEST, QEMU, TANDEM, Vm, free_ports, needs_kvm

BOOT_TIMEOUT = 90           # SeaBIOS and the guest under TCG on a busy host
WANT_REPLIES = 20           # two seconds of replies at 10 per second
PING_LINE = re.compile(r'^TG ping to=(\S+) sent=(\d+) received=(\d+) dup=(\d+) '
                       r'rtt_p50=[\d.]+us rtt_p99=[\d.]+us rtt_max=[\d.]+us$')

have_qemu = pytest.mark.skipif(not os.path.exists(QEMU), reason='qemu-system-x86 not installed')
PAIRS = [
    pytest.param(((QEMU, 'tcg'), (QEMU, 'tcg')), id='qemu-qemu', marks=have_qemu),
    pytest.param(((TANDEM, 'kvm'), (TANDEM, 'kvm')), id='tandem-tandem', marks=needs_kvm),
    pytest.param(((TANDEM, 'kvm'), (QEMU, 'tcg')), id='tandem-qemu',
                 marks=[needs_kvm, have_qemu]),
]


def netdevs(kind, ports):
    """The two ends' -netdev values for kind."""
    a, b = ports
    if kind == 'socket':
        return ('socket,id=n0,listen=127.0.0.1:%d' % a,
                'socket,id=n0,connect=127.0.0.1:%d' % a)
    end = 'dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=%d,' \
          'remote.type=inet,remote.host=127.0.0.1,remote.port=%d'
    return end % (a, b), end % (b, a)


def wait_listening(vm, port, timeout=30):
    """Until a socket on 127.0.0.1:port listens (/proc/net/tcp, state 0A)."""
    local = '0100007F:%04X' % port
    deadline = time.monotonic() + timeout
    while True:
        with open('/proc/net/tcp') as f:
            if any(row.split()[1] == local and row.split()[3] == '0A'
                   for row in list(f)[1:]):
                return
        assert vm.proc.poll() is None, vm.stderr()
        assert time.monotonic() < deadline, 'nothing listens on port %d' % port
        time.sleep(0.05)


def ping_lines(vm):
    return [PING_LINE.match(ln) for ln in vm.lines() if PING_LINE.match(ln)]


def wait_replies(vm, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        lines = ping_lines(vm)
        if lines and int(lines[-1].group(3)) >= want:
            return lines
        assert vm.proc.poll() is None, vm.serial()[-2000:]
        assert time.monotonic() < deadline, vm.serial()[-2000:]
        time.sleep(0.2)


@pytest.mark.parametrize('kind', ['socket', 'dgram'])
@pytest.mark.parametrize('pair', PAIRS)
def test_two_guests_ping_each_other(tmp_path, pair, kind):
    ends = netdevs(kind, free_ports(2))
    guests = [('ip=10.0.3.1/24 ip6=fd00:3::1/64 ping=10.0.3.2', '52:54:00:00:03:01'),
              ('ip=10.0.3.2/24 ip6=fd00:3::2/64 ping=fd00:3::1', '52:54:00:00:03:02')]
    vms = []
    try:
        for i, ((binary, accel), netdev, (opts, mac)) in enumerate(zip(pair, ends, guests)):
            vm = Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-no-reboot',
                               '-append', 'workload=serve netlog=0 ' + opts,
                               '-device', 'virtio-net-pci,netdev=n0,mac=' + mac,
                               '-netdev', netdev],
                    binary=binary, accel=accel, name='g%d' % i)
            vm.start()
            vms.append(vm)
            if i == 0 and kind == 'socket':
                # connect= fails at once if nobody listens yet; a probe
                # connection would be taken as the peer, so look instead.
                wait_listening(vm, int(ends[0].rsplit(':', 1)[1]))
        for vm, target in zip(vms, ('10.0.3.2', 'fd00:3::1')):
            lines = wait_replies(vm, WANT_REPLIES, BOOT_TIMEOUT)
            last = lines[-1]
            assert last.group(1) == target, last.group(0)
            sent, received, dup = (int(last.group(k)) for k in (2, 3, 4))
            assert dup == 0 and received <= sent, last.group(0)
    finally:
        for vm in vms:
            vm.kill()


def test_bad_ping_option(tmp_path):
    vm = Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-no-reboot',
                       '-append', 'workload=serve ip=10.0.3.1/24 ping=10.0.3',
                       '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
            binary=QEMU, accel='tcg', name='badping')
    if not os.path.exists(QEMU):
        pytest.skip('qemu-system-x86 not installed')
    with vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert "TG error: bad option 'ping=10.0.3'" in vm.lines(), vm.serial()
