# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/colo-compare's driver in a tiny mode against Tandem only
(-machine none, no KVM, a few seconds): the frames it builds are valid
IPv4 with correct checksums, every frame Tandem's colo-compare releases
on outdev is the primary's byte for byte and in the order written
(matched TCP, UDP and ICMP, and TCP cut differently on the two sides),
a differing segment is held while other flows go on, and the benchmark
script itself runs to its table."""
import json
import os
import struct
import subprocess
import sys

import pytest

from inet_checksum import csum
from tandem import BUILD, ROOT, TANDEM

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import colo_compare_driver as drv  # noqa: E402
import colo_compare_frames as cf  # noqa: E402

BENCH = os.path.join(ROOT, 'bench', 'colo-compare')


@pytest.fixture
def vm(tmp_path):
    v = drv.CompareVmm('tandem', TANDEM, str(tmp_path), 't',
                       ',compare_timeout=200,expired_scan_cycle=50').start(30)
    yield v
    v.close()


def l4_sum_ok(frame):
    ihl = (frame[14] & 0xf) * 4
    ip, l4 = frame[14:14 + ihl], frame[14 + ihl:]
    if ip[9] == 1:
        return csum(l4) == 0
    pseudo = ip[12:20] + struct.pack('!BBH', 0, ip[9], len(l4))
    return csum(pseudo + l4) == 0


def test_frames_are_valid_ipv4():
    flow = cf.TcpFlow(1234)
    frames = flow.handshake() + flow.data(cf.payload(1400, 1), 3) + [
        flow.fin(), cf.udp_frame(5, 7, b'odd-length'),
        cf.icmp_echo_frame(1, 2, cf.payload(57, 3))]
    for f in frames:
        assert f[12:14] == b'\x08\x00'
        ip_len = struct.unpack('!H', f[16:18])[0]
        assert ip_len == len(f) - 14
        assert csum(f[14:34]) == 0, f.hex()
        assert l4_sum_ok(f), f.hex()
    # the three segments carry the stream at consecutive sequence numbers
    seqs = [struct.unpack('!I', f[38:42])[0] for f in frames[2:5]]
    lens = [len(f) - 54 for f in frames[2:5]]
    assert seqs == [flow.isn + 1, flow.isn + 1 + lens[0],
                    flow.isn + 1 + lens[0] + lens[1]] and sum(lens) == 1400


def test_decoder_round_trip_and_bad_length():
    frames = [cf.udp_frame(1, 2, b'x' * n) for n in (1, 100, 1400)]
    blob = b''.join(cf.encode(f) for f in frames)
    dec = cf.FrameDecoder()
    got = []
    for i in range(0, len(blob), 7):        # split across reads
        got += dec.feed(blob[i:i + 7])
    assert got == frames
    with pytest.raises(ValueError):
        cf.FrameDecoder().feed(b'\0\0\0\0')


def test_released_frames_identical_and_in_order(vm):
    flow = cf.TcpFlow(4000)
    drv.handshake(vm, flow)
    pri, sec = [], []
    for i, (p, s) in enumerate(((1, 1), (2, 1), (1, 3), (3, 2))):
        fp, fs = flow.resegmented(cf.payload(1400, i), p, s)
        pri += fp
        sec += fs
    other = [cf.udp_frame(5000, 53, cf.payload(80, 7)),
             cf.icmp_echo_frame(9, 1, cf.payload(56, 8))]
    pri += other + [flow.fin()]
    sec += other + [pri[-1]]
    vm.send(drv.SEC, sec)
    vm.send(drv.PRI, pri)
    got = [f for _, f in vm.take(len(pri), 10)]
    assert len(got) == len(pri)
    for i, (g, w) in enumerate(zip(got, pri)):
        assert g == w, 'frame %d differs:\n%s\n%s' % (i, g.hex(), w.hex())


def test_driver_scenarios_tiny(vm):
    for proto in ('tcp', 'udp', 'icmp'):
        r = drv.latency(vm, proto, 6)
        assert r['wrong'] == 0 and r['frames'] == 6, r
    r = drv.resegmented(vm, 4)
    assert r['released'] == r['frames'] and r['wrong'] == 0, r
    r = drv.throughput(vm, 64, 300, window=64, chunk=16)
    assert (r['released'], r['altered'], r['out_of_order'],
            r['duplicated'], r['setup_errors']) == (300, 0, 0, 0, 0), r


def test_differing_segment_held(vm):
    r = drv.mismatch(vm, 0.5)
    assert r['setup_errors'] == 0, r
    assert r['mismatched_ms'] is None and not r['secondary_out'], r
    assert r['after_released'] == 0, r
    assert r['other_ms'] is not None and r['unexpected'] == 0, r
    s = vm.stats()
    assert s['comparing'] and s['mismatched']['tcp'] == 1, s
    assert s['checkpoints']['mismatch'] == 1, s


def test_check_release_counts():
    want = [bytes([i]) for i in range(6)]
    r = drv.check_release([want[0], want[3], want[1], want[2], b'?', want[2]],
                          want)
    assert r == {'released': 6, 'altered': 1, 'out_of_order': 1,
                 'duplicated': 1}


def test_bench_quick_tandem_only(tmp_path):
    out = str(tmp_path / 'cc.json')
    p = subprocess.run(['/usr/bin/python3', BENCH, BUILD, '--quick',
                        '--no-qemu', '--json', out], capture_output=True,
                       text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'QEMU 7.2: SKIPPED: --no-qemu' in p.stdout, p.stdout
    with open(out) as f:
        res = json.load(f)['results']['tandem']
    for key in ('lat_tcp', 'lat_udp', 'lat_icmp', 'reseg'):
        assert 'error' not in res[key] and res[key]['wrong'] == 0, res[key]
    for key in ('tput_1448', 'tput_64'):
        r = res[key]
        assert r['released'] == r['frames'] and r['out_of_order'] == 0, r
    q = res['queue_primary']
    assert q['released'] == q['sent'] and q['out_of_order'] == 0, q
