# SPDX-License-Identifier: GPL-2.0-or-later
"""The built-in guest's network stack (workload=serve) against real clients.
The guest sits behind a tap in a network namespace (10.0.2.15/24 and
fd00::15/64 on its side, 10.0.2.2 and fd00::2 on the namespace's); ping,
socat, curl, wrk, redis-cli, redis-benchmark and a hand-made raw-socket
peer talk to it from the namespace. Other guests take their address by
DHCP from slirp and are reached through hostfwd.

Every test runs on two VMMs with the same ELF and options: Debian's QEMU
with TCG (needs no KVM: this tells guest bugs from VMM bugs), and Tandem
with KVM, which is skipped, saying why, until Tandem has virtio-net-pci
and the machine has KVM."""
import os
import re
import subprocess
import time

import pytest

from tandem import (GUEST, QEMU, TANDEM, NetNs, Vm, free_port, http_count,
                    kvm_unusable_reason, needs_tool, netns_unusable_reason)

GUEST_IP = '10.0.2.15'
GUEST_IP6 = 'fd00::15'
GUEST_MAC = '52:54:00:12:34:56'
SERVE = 'workload=serve ip=%s/24 gw=10.0.2.2 ip6=%s/64' % (GUEST_IP, GUEST_IP6)
BOOT_TIMEOUT = 60           # SeaBIOS and the guest under TCG on a busy host



def tandem_unusable_reason():
    reason = kvm_unusable_reason()
    if reason:
        return reason
    p = subprocess.run([TANDEM, '-device', 'help'], capture_output=True, text=True,
                       timeout=20)
    if 'virtio-net-pci' not in p.stdout + p.stderr:
        return 'Tandem has no virtio-net-pci device yet'
    return None


def vmm_param(name, binary, accel, reason):
    return pytest.param((binary, accel), id=name, marks=pytest.mark.skipif(
        reason is not None, reason=reason or 'usable'))


VMMS = [
    vmm_param('qemu-tcg', QEMU, 'tcg',
              None if os.path.exists(QEMU) else 'qemu-system-x86 not installed'),
    vmm_param('tandem-kvm', TANDEM, 'kvm', tandem_unusable_reason()),
]


@pytest.fixture(params=VMMS)
def vmm(request):
    """(binary, accel) of the VMM a test without the shared guest runs on."""
    return request.param


def qemu_nic(netdev):
    return ['-m', '256', '-kernel', GUEST, '-no-reboot',
            '-device', 'virtio-net-pci,netdev=n0,mac=' + GUEST_MAC, '-netdev', netdev]


@pytest.fixture(scope='module', params=VMMS)
def served(request, tmp_path_factory):
    """One guest serving on a tap in a namespace per VMM, shared by the
    tests below (each of them leaves the guest as it found it:
    connections closed)."""
    binary, accel = request.param
    reason = netns_unusable_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp('net')
    with NetNs() as ns:
        netdev = 'tap,id=n0,ifname=%s,script=no,downscript=no,vhost=off' % ns.tap
        with Vm(tmp, qemu_nic(netdev) + ['-append', SERVE], binary=binary,
                accel=accel, netns=ns, name='serve') as vm:
            vm.wait_for(r'^TG serve ready', timeout=BOOT_TIMEOUT)
            vm.ns = ns
            yield vm
            # Whatever the tests threw at it, the guest must not have faulted.
            assert 'TG FAULT' not in vm.serial()
            assert vm.proc.poll() is None, 'guest exited'


def curl(vm, *urls, extra=()):
    return vm.ns.run(['curl', '-sS', '--max-time', '10', *extra, *urls]).stdout


def stats(vm):
    text = curl(vm, 'http://%s/stats' % GUEST_IP)
    counters = '\n'.join(text.split('\n')[:2])       # then the connection table
    return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', counters)}


def test_boot_lines(served):
    lines = served.lines()
    assert any(re.match(r'TG net virtio-net pci=\S+ id=0x10[04]\d mac=%s ' % GUEST_MAC, x)
               for x in lines), lines
    assert 'TG net ip=10.0.2.15/24 gw=10.0.2.2 ip6=fd00::15/64 ll=fe80::5054:ff:fe12:3456' \
        in lines


@needs_tool('ping', 'iputils-ping')
def test_ping_v4(served):
    out = served.ns.run(['ping', '-c', '3', '-i', '0.2', '-W', '3', GUEST_IP]).stdout
    assert '3 received' in out, out


@needs_tool('ping', 'iputils-ping')
def test_ping_v6_global_and_link_local(served):
    out = served.ns.run(['ping', '-6', '-c', '3', '-i', '0.2', '-W', '3', GUEST_IP6]).stdout
    assert '3 received' in out, out
    ll = 'fe80::5054:ff:fe12:3456%' + served.ns.tap
    out = served.ns.run(['ping', '-6', '-c', '2', '-i', '0.2', '-W', '3', ll]).stdout
    assert '2 received' in out, out
    neigh = served.ns.run(['ip', '-6', 'neigh', 'show', GUEST_IP6]).stdout
    assert GUEST_MAC in neigh, neigh       # learned by NDP from the guest


@needs_tool('ping', 'iputils-ping')
def test_ping_large_payload(served):
    # 1472 bytes of data fill a 1500-byte IPv4 packet exactly.
    out = served.ns.run(['ping', '-c', '2', '-i', '0.2', '-W', '3', '-s', '1472',
                         GUEST_IP]).stdout
    assert '2 received' in out, out


def test_tcp_echo_socat_v4_and_v6(served, tmp_path):
    blob = os.urandom(300 * 1024)
    for addr in ('TCP:%s:7' % GUEST_IP, 'TCP6:[%s]:7' % GUEST_IP6):
        out = served.ns.run(['socat', '-T', '10', '-', addr + ',shut-down'],
                            input=blob.hex(), timeout=60).stdout
        assert out == blob.hex(), addr
    # Each connection was reported open, then closed by the FIN exchange.
    opened = re.findall(r'^TG tcp open id=\d+ port=7 peer=10\.0\.2\.2:(\d+) conns=\d+$',
                        '\n'.join(served.lines()), re.M)
    assert opened
    served.wait_for(r'^TG tcp close id=\d+ port=7 peer=10\.0\.2\.2:%s state=LAST_ACK '
                    r'reason=fin conns=\d+$' % opened[-1], timeout=10)


def test_udp_echo(served):
    code = '''
import socket
for fam, addr in ((socket.AF_INET, %r), (socket.AF_INET6, %r)):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    for i in range(3):
        msg = b"datagram-%%d-" %% i + bytes(range(256)) * 4
        s.sendto(msg, (addr, 7))
        data, _ = s.recvfrom(4096)
        assert data == msg, (fam, i)
# From another echo port: no answer, or two echo services would ping-pong.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7))
s.settimeout(1)
s.sendto(b"loop?", (%r, 7))
try:
    s.recvfrom(100)
    print("answered a datagram from port 7")
except socket.timeout:
    print("ok")
''' % (GUEST_IP, GUEST_IP6, GUEST_IP)
    assert served.ns.python(code).strip() == 'ok'


def test_http_keepalive_count_goes_up(served):
    base = 'http://%s' % GUEST_IP
    out = curl(served, base + '/count', base + '/count', base + '/',
               base + '/count', extra=['-w', ' connects=%{num_connects}\n'])
    counts = [int(x) for x in re.findall(r'^(\d+)\n connects=', out, re.M)]
    assert len(counts) == 3 and counts[1] == counts[0] + 1 and counts[2] == counts[1] + 1, out
    assert '<h1>Tandem test guest</h1>' in out
    # One TCP connection for all four requests: keep-alive worked.
    assert re.findall(r'connects=(\d+)', out) == ['1', '0', '0', '0'], out


def test_http_over_ipv6_and_errors(served):
    base = 'http://[%s]' % GUEST_IP6
    out = curl(served, base + '/count', extra=['-g'])
    assert re.fullmatch(r'\d+\n', out), out
    out = curl(served, base + '/nothing-here', extra=['-g', '-o', '/dev/null',
                                                      '-w', '%{http_code}'])
    assert out == '404'
    out = curl(served, 'http://%s/' % GUEST_IP, extra=['-X', 'POST', '-o', '/dev/null',
                                                        '-w', '%{http_code}'])
    assert out == '405'


def test_http_tsc_moves(served):
    base = 'http://%s' % GUEST_IP
    out = curl(served, base + '/tsc', base + '/tsc')
    values = [int(x) for x in re.findall(r'^tsc=(\d+)$', out, re.M)]
    assert len(values) == 2 and values[1] > values[0], out


@needs_tool('wrk', 'wrk')
def test_wrk_short(served):
    out = served.ns.run(['wrk', '-t1', '-c4', '-d2s', 'http://%s/' % GUEST_IP],
                        timeout=30).stdout
    m = re.search(r'(\d+) requests in', out)
    assert m and int(m.group(1)) > 100, out
    assert 'Non-2xx' not in out and 'Socket errors' not in out, out


@needs_tool('redis-cli', 'redis-tools')
def test_redis_cli_commands(served):
    def cli(*args):
        return served.ns.run(['redis-cli', '-h', GUEST_IP, *args], timeout=10).stdout.strip()

    assert cli('FLUSHDB') == 'OK'
    assert cli('PING') == 'PONG'
    assert cli('SET', 'greeting', 'hello world') == 'OK'
    assert cli('GET', 'greeting') == 'hello world'
    assert cli('GET', 'missing') == ''
    assert cli('INCR', 'n') == '1'
    assert cli('INCR', 'n') == '2'
    assert cli('DBSIZE') == '2'
    assert cli('DEL', 'greeting', 'missing') == '1'
    assert cli('DBSIZE') == '1'
    assert 'not an integer' in cli('INCR', 'n2') + cli('SET', 'n2', 'x') + cli('INCR', 'n2')
    assert 'unknown command' in cli('NOSUCHCOMMAND')
    out = served.ns.run(['redis-cli', '-h', GUEST_IP6, 'GET', 'n'], timeout=10).stdout
    assert out.strip() == '2'


@needs_tool('redis-benchmark', 'redis-tools')
def test_redis_benchmark_short(served):
    out = served.ns.run(['redis-benchmark', '-h', GUEST_IP, '-t', 'set,get', '-n', '3000',
                         '-c', '10', '-r', '100', '-q'], timeout=60).stdout
    rates = dict(re.findall(r'(SET|GET): ([\d.]+) requests per second', out))
    assert set(rates) == {'SET', 'GET'} and all(float(v) > 0 for v in rates.values()), out
    dbsize = served.ns.run(['redis-cli', '-h', GUEST_IP, 'DBSIZE']).stdout.strip()
    assert 1 <= int(dbsize) <= 102, dbsize      # -r 100 random keys, plus 'n'


HOSTILE = r'''
import os, random, socket, struct
from inet_checksum import csum

TAP, GUEST_MAC, GIP, GIP6 = %r, %r, %r, %r
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((TAP, 0))
me = s.getsockname()[4]
dst = bytes(int(x, 16) for x in GUEST_MAC.split(':'))
src_ip, gip = socket.inet_aton('10.0.2.2'), socket.inet_aton(GIP)

def eth(t, payload):
    return dst + me + struct.pack('!H', t) + payload

def ip4(proto, payload, tot=None, ihl=5, frag=0, fix=True):
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, tot or 20 + len(payload), 1, frag,
                    64, proto, 0, src_ip, gip)
    if fix:
        h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload

def tcp(payload_opts, flags=0x02, doff=None, good=True):
    opts = payload_opts
    d = doff if doff is not None else (20 + len(opts)) // 4
    h = struct.pack('!HHIIBBHHH', 40000, 80, 1, 0, d << 4, flags, 65535, 0, 0) + opts
    if good:
        ph = src_ip + gip + struct.pack('!BBH', 0, 6, len(h))
        h = h[:16] + struct.pack('!H', csum(ph + h)) + h[18:]
    return h

frames = [
    eth(0x0800, b''),                                       # no IP header at all
    eth(0x0800, ip4(1, b'\x08\0\0\0\0\0\0\0')[:12]),        # truncated header
    eth(0x0800, ip4(1, b'\x08' + b'\0' * 7, ihl=15)),       # ihl past the packet
    eth(0x0800, ip4(1, b'\x08' + b'\0' * 7, tot=1400)),     # total length past frame
    eth(0x0800, ip4(1, b'\x08' + b'\0' * 7, fix=False)),    # bad header checksum
    eth(0x0800, ip4(1, b'\x08' + b'\0' * 7, frag=0x2000)),  # a fragment
    eth(0x0800, ip4(1, b'\x08\0\x12\x34' + b'\0' * 60)),    # ICMP bad checksum
    eth(0x0800, ip4(6, tcp(b'\x02\x00\x05\xb4'))),          # MSS option length 0
    eth(0x0800, ip4(6, tcp(b'\x03\x09\x01\x01'))),          # option runs past header
    eth(0x0800, ip4(6, tcp(b'', doff=3))),                  # data offset < 5
    eth(0x0800, ip4(6, tcp(b'', doff=15))),                 # data offset past segment
    eth(0x0800, ip4(6, tcp(b'\x02\x04\x05\xb4', good=False))),  # TCP bad checksum
    eth(0x0800, ip4(17, struct.pack('!HHHH', 5000, 7, 500, 0) + b'x' * 8)),  # UDP len
    eth(0x86dd, struct.pack('!IHBB', 0x60000000, 1000, 58, 64) +
        socket.inet_pton(socket.AF_INET6, 'fd00::2') +
        socket.inet_pton(socket.AF_INET6, GIP6) + b'\x80\0\0\0\0\0\0\0'),  # v6 length
    eth(0x0806, b'\0\1\x08\0\6\4\0\1' + b'\0' * 4),         # ARP truncated
    eth(0x1234, b'\0' * 50),                                # unknown ethertype
]
for f in frames:
    s.send(f)
rnd = random.Random(12)
for i in range(300):
    t = rnd.choice((0x0800, 0x86dd, 0x0806))
    body = bytearray(rnd.randbytes(rnd.randrange(0, 1500)))
    if t == 0x0800 and len(body) > 20:
        body[0] = 0x45                  # get past the first check more often
    s.send(eth(t, bytes(body)))
print(len(frames))
'''


def test_hostile_frames_are_dropped(served):
    """Malformed frames (short, bad lengths, bad checksums, TCP option
    garbage, random bytes) are counted as dropped; the guest keeps serving."""
    before = stats(served)['rx_dropped']
    n = int(served.ns.python(HOSTILE % (served.ns.tap, GUEST_MAC, GUEST_IP, GUEST_IP6)))
    deadline = time.monotonic() + 10
    while stats(served)['rx_dropped'] < before + n and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stats(served)['rx_dropped'] >= before + n
    assert re.fullmatch(r'\d+\n', curl(served, 'http://%s/count' % GUEST_IP))
    assert 'peer=10.0.2.2:40000' not in served.serial()   # no connection from garbage


def test_connection_table_is_bounded(served):
    """140 connections at once: the guest takes at most its table's worth
    (128), refuses the rest with a RST, and serves again once they close."""
    code = '''
import socket
ok, refused, socks = 0, 0, []
for i in range(140):
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect((%r, 7))
        socks.append(s)
        ok += 1
    except ConnectionRefusedError:
        refused += 1
socks[0].sendall(b"still-echoing")
assert socks[0].recv(100) == b"still-echoing"
for s in socks:
    s.close()
print(ok, refused)
''' % GUEST_IP
    ok, refused = map(int, served.ns.python(code, timeout=60).split())
    assert ok <= 128 and refused >= 12 and ok + refused == 140, (ok, refused)
    assert stats(served)['refused'] >= refused
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not re.search(r'^\d+ \w+ 7 ', curl(served, 'http://%s/stats' % GUEST_IP), re.M):
            break
        time.sleep(0.3)
    else:
        raise AssertionError('echo connections still open: ' + curl(
            served, 'http://%s/stats' % GUEST_IP))
    out = served.ns.run(['socat', '-T', '5', '-', 'TCP:%s:7' % GUEST_IP],
                        input='again\n').stdout
    assert out == 'again\n'


RAW_PEER = r"""
import json, select, socket, struct, time
from inet_checksum import csum

TAP, GUEST_MAC, GIP = %r, %r, %r
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((TAP, 0))
me = s.getsockname()[4]
dst = bytes(int(x, 16) for x in GUEST_MAC.split(':'))
# An address the namespace does not own: its kernel drops the guest's
# answers quietly instead of resetting a connection it does not know.
src_ip, gip = socket.inet_aton('10.0.2.99'), socket.inet_aton(GIP)
SPORT, DPORT = 41000, 7

def send(seq, ack, flags, win, data=b'', opts=b''):
    h = struct.pack('!HHIIBBHHH', SPORT, DPORT, seq, ack, (20 + len(opts)) // 4 << 4,
                    flags, win, 0, 0) + opts + data
    h = h[:16] + struct.pack('!H', csum(src_ip + gip + struct.pack('!BBH', 0, 6, len(h)) + h)) + h[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(h), 0, 0, 64, 6, 0, src_ip, gip)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    s.send(dst + me + b'\x08\x00' + ip + h)

def collect(seconds):
    out, end = [], time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return out
        f = s.recv(2048)
        ip = f[14:]
        if f[12:14] != b'\x08\x00' or ip[9] != 6 or ip[12:16] != gip or ip[16:20] != src_ip:
            continue
        t = ip[(ip[0] & 15) * 4:struct.unpack('!H', ip[2:4])[0]]
        sp, dp, seq, ack, off, fl, win = struct.unpack('!HHIIBBH', t[:16])
        if dp == SPORT:
            out.append(dict(t=time.monotonic(), seq=seq, ack=ack, flags=fl, win=win,
                            data=t[(off >> 4) * 4:].hex()))

r = {}
send(1000, 0, 0x02, 65535, opts=b'\x02\x04\x05\xb4')       # SYN, MSS 1460
synacks = [x for x in collect(1.7) if x['flags'] & 0x12 == 0x12]
r['synack_times'] = [x['t'] - synacks[0]['t'] for x in synacks]
iss = synacks[0]['seq']
send(1001, iss + 1, 0x10, 100)                              # ACK, window 100
send(1001, iss + 1, 0x18, 100, b'x' * 1000)                 # 1000 bytes to echo
segs = collect(1.2)
data = [x for x in segs if x['data']]
r['sent_beyond_window'] = max(x['seq'] + len(x['data']) // 2 for x in data) - (iss + 1 + 100)
r['copies_of_first'] = sum(1 for x in data if x['seq'] == iss + 1)
send(1001 + 1000, iss + 101, 0x10, 0)                       # ack 100, window 0
probes = [x for x in collect(1.5) if x['data']]
r['probe_lengths'] = [len(x['data']) // 2 for x in probes]
r['probe_seqs_ok'] = all(x['seq'] == iss + 101 for x in probes)
send(1001 + 1000, iss + 101, 0x10, 65535)                   # window open again
got, end = 100, time.monotonic() + 5
while got < 1000 and time.monotonic() < end:
    for x in collect(0.3):
        top = x['seq'] + len(x['data']) // 2 - (iss + 1)
        if top > got:
            got = top
    send(1001 + 1000, iss + 1 + got, 0x10, 65535)
r['echoed'] = got
send(1001 + 1000, 0, 0x04, 0)                               # RST: done
print(json.dumps(r))
"""


def test_tcp_retransmission_and_window(served):
    """A hand-made peer (AF_PACKET) that never ACKs in time: the guest sends
    its SYN-ACK again with a doubling timeout, never sends past the
    window the peer gave, retransmits unacknowledged data, probes a zero
    window with one byte, and sends the rest once the window opens."""
    import json
    r = json.loads(served.ns.python(RAW_PEER % (served.ns.tap, GUEST_MAC, GUEST_IP),
                                    timeout=30))
    t = r['synack_times']
    assert len(t) >= 3, r                           # at 0, ~0.3 and ~0.9 s
    assert t[2] - t[1] > 1.5 * (t[1] - t[0]), r     # the timeout doubles
    assert r['sent_beyond_window'] <= 0, r
    assert r['copies_of_first'] >= 2, r             # retransmitted, not acked
    assert r['probe_lengths'] and set(r['probe_lengths']) == {1} and r['probe_seqs_ok'], r
    assert r['echoed'] == 1000, r
    served.wait_for(r'^TG tcp close id=\d+ port=7 peer=10\.0\.2\.99:41000 '
                    r'state=ESTABLISHED reason=rst', timeout=10)


@pytest.mark.parametrize('pci,mmio', [('firmware', 'direct'), ('assign', 'svc')])
def test_dhcp_from_slirp_and_hostfwd(tmp_path, vmm, pci, mmio):
    """pci=assign: the guest places the BARs itself, as it must where no
    firmware ran (a VMM's direct multiboot load): the window at 0xe0000000.
    mmio=svc: device registers through the CPL0 services (the fallback for
    a host where CPL3 MMIO would not reach the VMM)."""
    port = free_port()
    netdev = 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80' % port
    append = 'workload=serve dhcp pci=%s mmio=%s' % (pci, mmio)
    with Vm(tmp_path, qemu_nic(netdev) + ['-append', append],
            binary=vmm[0], accel=vmm[1], name='dhcp') as vm:
        m = vm.wait_for(r'^TG net virtio-net .* common=(0x[0-9a-f]+)( mmio=svc)?$',
                        timeout=BOOT_TIMEOUT)
        assert (int(m.group(1), 16) & ~0xfff == 0xe0000000) == (pci == 'assign'), m.group(0)
        assert bool(m.group(2)) == (mmio == 'svc'), m.group(0)
        vm.wait_for(r'^TG serve ready', timeout=BOOT_TIMEOUT)
        lines = vm.lines()
        assert lines.index('TG dhcp selecting') < lines.index('TG dhcp requesting') \
            < lines.index('TG dhcp bound')
        assert 'TG net ip=10.0.2.15/24 gw=10.0.2.2 ll=fe80::5054:ff:fe12:3456' in lines
        counts = [http_count(port) for _ in range(2)]
        assert counts[1] == counts[0] + 1


def test_serve_needs_an_address(tmp_path, vmm):
    with Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-append', 'workload=serve',
                       '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
            binary=vmm[0], accel=vmm[1], name='noaddr') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert 'TG error: serve needs ip=, ip6= or dhcp' in vm.lines()


def test_serve_without_nic_is_a_clear_error(tmp_path, vmm):
    with Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-append', 'workload=serve ip=10.0.2.15/24',
                       '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
            binary=vmm[0], accel=vmm[1], name='nonic') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert 'TG error: net: no virtio-net PCI device on bus 0' in vm.lines()


@pytest.mark.parametrize('opt', ['ip=10.0.2.300/24', 'ip6=fd00::1::2/64'])
def test_bad_net_option(tmp_path, vmm, opt):
    with Vm(tmp_path, ['-m', '256', '-kernel', GUEST, '-append', 'workload=serve ' + opt,
                       '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
            binary=vmm[0], accel=vmm[1], name='badopt') as vm:
        assert vm.wait_exit(BOOT_TIMEOUT) == (2 << 1) | 1
        assert "TG error: bad option '%s'" % opt in vm.lines()
