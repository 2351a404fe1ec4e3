# SPDX-License-Identifier: GPL-2.0-or-later
"""The output parsers of bench/net, bench/block and bench/colo-net
(bench/benchparse.py) on
outputs recorded from the real programs (Debian 12's wrk 4.1,
redis-benchmark 7.0, iputils ping, and the test guest's workload=iops under
QEMU), and the scripts' own command lines. No VMM runs: this is cheap
enough for make check, and it is what stops a benchmark from printing a
table of wrong numbers after a client or the guest changes its format."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, 'bench')
sys.path.insert(0, BENCH)

import benchlib  # noqa: E402
import benchparse  # noqa: E402

WRK = """Running 2s test @ http://10.0.2.15/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.63ms   11.40ms  62.44ms   86.93%
    Req/Sec    14.54k    10.47k   25.13k    60.00%
  Latency Distribution
     50%  240.00us
     75%    3.52ms
     90%   22.74ms
     99%   49.51ms
  29376 requests in 2.12s, 8.38MB read
Requests/sec:  13877.49
Transfer/sec:      3.96MB
"""

WRK_ERRORS = """Running 3s test @ http://10.0.2.15/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   102.10ms  300.00ms   1.20s    90.00%
    Req/Sec     1.00k   100.00     1.20k    60.00%
  Latency Distribution
     50%    1.50ms
     75%    3.00ms
     90%   10.00ms
     99%    1.20s
  3000 requests in 3.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 3
Requests/sec:   1000.00
Transfer/sec:    341.33KB
"""

REDIS = (
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
    '"p95_latency_ms","p99_latency_ms","max_latency_ms"\n'
    '"SET","1397.62","13.580","0.184","3.431","55.743","65.247","76.863"\n'
    '"GET","7936.51","2.155","0.288","0.487","9.647","12.439","21.119"\n')

PING = """PING 10.0.2.15 (10.0.2.15) 56(84) bytes of data.
64 bytes from 10.0.2.15: icmp_seq=1 ttl=64 time=24.0 ms
64 bytes from 10.0.2.15: icmp_seq=2 ttl=64 time=44.6 ms
64 bytes from 10.0.2.15: icmp_seq=3 ttl=64 time=21.3 ms
64 bytes from 10.0.2.15: icmp_seq=4 ttl=64 time=8.67 ms
64 bytes from 10.0.2.15: icmp_seq=5 ttl=64 time=4.15 ms

--- 10.0.2.15 ping statistics ---
5 packets transmitted, 5 received, 0% packet loss, time 68ms
rtt min/avg/max/mdev = 4.146/20.546/44.591/14.147 ms, pipe 3
"""

IOPS = (
    'TG boot workload=iops layout=1\r\n'
    'TG tsc_khz=2290766 src=pit\r\n'
    'TG cpus=1\r\n'
    'TG disk virtio-blk pci=00:02.0 id=0x1001 sectors=131072 blk_size=512 '
    'queues=1 qsize=256 flush=yes discard=yes write-zeroes=yes\r\n'
    'TG iops rw=randwrite bs=4096 qd=32 blocks=16384\r\n'
    'TG iops read=0 read_p50=0.0us read_p99=0.0us write=8431 '
    'write_p50=348.1us write_p99=40370.1us errors=0\r\n'
    'TG iops read=0 read_p50=0.0us read_p99=0.0us write=3551 '
    'write_p50=3702.7us write_p99=44564.4us errors=0\r\n'
    'TG iops read=0 read_p50=0.0us read_p99=0.0us write=6111 '
    'write_p50=3244.0us write_p99=58195.9us errors=1\r\n'
    'TG iops read=0 read_p50=0.0us read_p99=0.0us write=67')  # cut mid-line

IOPS_READ = (
    'TG iops rw=randread bs=4096 qd=1 blocks=16384\r\n'
    'TG iops read=464 read_p50=137.2us read_p99=42467.3us write=0 '
    'write_p50=0.0us write_p99=0.0us errors=0\r\n'
    'TG iops read=1321 read_p50=133.1us read_p99=19136.5us write=0 '
    'write_p50=0.0us write_p99=0.0us errors=0\r\n'
    'TG iops read=69 read_p50=190.4us read_p99=148897.7us write=0 '
    'write_p50=0.0us write_p99=0.0us errors=0\r\n')


# bench/tcp-bulk.py's line, and QEMU 7.2's COLO trace with -msg
# timestamp=on (-trace colo_vm_state_change -trace
# colo_old_packet_check_found): COLO starts the guest after the precopy
# (no pair), two checkpoints, a packet past compare_timeout, and a third
# checkpoint begun and never finished, as under TCG.
BULK = 'bulk bytes=8388608 seconds=1.405 mbps=5.97 mismatches=0\n'

QEMU_COLO_TRACE = """\
20417@1764851650.100200:colo_vm_state_change Change 'stop' => 'run'
20417@1764851650.200000:colo_vm_state_change Change 'run' => 'stop'
20417@1764851650.291500:colo_vm_state_change Change 'stop' => 'run'
20417@1764851650.350000:colo_old_packet_check_found 1764851647312
20417@1764851650.391500:colo_vm_state_change Change 'run' => 'stop'
20417@1764851650.483000:colo_vm_state_change Change 'stop' => 'run'
20417@1764851650.583000:colo_vm_state_change Change 'run' => 'stop'
"""


def test_bulk():
    assert benchparse.bulk('noise\n' + BULK) == {
        'bytes': 8388608, 'seconds': 1.405, 'mbps': 5.97, 'mismatches': 0}
    with pytest.raises(ValueError, match='connection closed after 5 bytes'):
        benchparse.bulk('bulk error: connection closed after 5 bytes echoed\n')
    with pytest.raises(ValueError, match='no result'):
        benchparse.bulk('Traceback (most recent call last):\n')


def test_qemu_colo_trace():
    r = benchparse.qemu_colo_trace(QEMU_COLO_TRACE)
    assert r['checkpoints'] == 2
    assert [round(p, 1) for p in r['pauses_ms']] == [91.5, 91.5]
    assert r['timeouts'] == 1 and r['stopped']
    # Only what ended inside the window counts.
    r = benchparse.qemu_colo_trace(QEMU_COLO_TRACE, 1764851650.4, 1764851651)
    assert (r['checkpoints'], r['timeouts'], r['stopped']) == (1, 0, True)
    done = QEMU_COLO_TRACE + \
        "20417@1764851650.700000:colo_vm_state_change Change 'stop' => 'run'\n"
    assert not benchparse.qemu_colo_trace(done)['stopped']
    assert benchparse.qemu_colo_trace('')['checkpoints'] == 0
    # A last line still being written is left for the next read.
    cut = QEMU_COLO_TRACE + "20417@1764851650.700000:colo_vm_state_change Change 'st"
    assert benchparse.qemu_colo_trace(cut)['stopped']
    with pytest.raises(ValueError, match='without a change'):
        benchparse.qemu_colo_trace('1@2.5:colo_vm_state_change Changed\n')


def test_colo_bench_reads_qemu_pauses_through_the_shared_parser(tmp_path):
    colo = load_script('colo')
    trace = tmp_path / 'pri-trace.log'
    trace.write_text(QEMU_COLO_TRACE)
    pauses, ends = colo.qemu_pauses(str(trace), 1764851650.4)
    assert [round(p, 1) for p in pauses] == [91.5] and ends == [1764851650.2915]
    assert colo.qemu_pauses(str(tmp_path / 'missing'), 1e12) == ([], [])


def test_tcp_bulk_client_against_an_echo_server():
    """bench/tcp-bulk.py against a local echo server: its line parses,
    and an echo that corrupts one byte is counted as a mismatch."""
    import socket
    import threading

    def serve(listener, corrupt):
        conn, _ = listener.accept()
        first = True
        while True:
            data = conn.recv(65536)
            if not data:
                break
            if corrupt and first:
                data = bytes([data[0] ^ 0xff]) + data[1:]
            first = False
            conn.sendall(data)
        conn.close()

    for corrupt in (False, True):
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        t = threading.Thread(target=serve, args=(listener, corrupt), daemon=True)
        t.start()
        p = subprocess.run(['/usr/bin/python3', os.path.join(BENCH, 'tcp-bulk.py'),
                            '127.0.0.1', '--port', str(listener.getsockname()[1]),
                            '--bytes', str(3 << 20), '--timeout', '20'],
                           capture_output=True, text=True, timeout=60)
        listener.close()
        assert p.returncode == 0, p.stdout + p.stderr
        r = benchparse.bulk(p.stdout)
        assert r['bytes'] == 3 << 20
        assert r['mismatches'] == (1 if corrupt else 0)


def test_colo_net_table_ratios_and_aims(capsys):
    cnet = load_script('colo-net')
    modes = ['unprotected', 'colo-100']
    keys = [k for k, _, _, _ in cnet.FIGURES]

    def res(vmm, mode, v):
        r = {k: v for k in keys}
        r.update({'vmm': vmm, 'mode': mode, 'status': 'ok', 'notes': []})
        return r
    t_colo = res('tandem', 'colo-100', 8.0)
    t_colo['set_rps'] = 4.0          # 0.40 of unprotected: below the 0.50 aim
    t_colo['compare_p99_us'] = 300.0  # above the 250 us aim
    results = {('tandem', 'unprotected'): res('tandem', 'unprotected', 10.0),
               ('tandem', 'colo-100'): t_colo,
               ('qemu', 'unprotected'): res('qemu', 'unprotected', 5.0),
               ('qemu', 'colo-100'): {'vmm': 'qemu', 'mode': 'colo-100',
                                      'status': 'hung', 'notes': ['x']}}
    cnet.print_table(results, modes, {'tandem': 'Tandem', 'qemu': 'QEMU/TCG'})
    out = capsys.readouterr().out.splitlines()
    rows = {}
    figure = None
    for line in out[1:-1]:
        cells = line.split()
        if cells[0] not in modes:
            figure = line[:22].strip()
            cells = cells[len(figure.split()):]
        rows[(figure, cells[0])] = cells[1:]
    assert rows[('wrk / requests/s', 'unprotected')] == ['10.0', '5.00', '2.00']
    assert rows[('wrk / requests/s', 'colo-100')] == [
        '8.00', 'hung', '-', '0.80', '-', '/unprot', '>=', '0.80', 'met']
    assert rows[('redis SET requests/s', 'colo-100')][-1] == 'MISSED'
    assert rows[('compare added p50 us', 'colo-100')][-3:] == ['<=', '20', 'met']
    assert rows[('compare added p99 us', 'colo-100')][-3:] == ['<=', '250', 'MISSED']
    assert rows[('wrk / latency p50 ms', 'colo-100')][-1] == '-'


def test_wrk():
    r = benchparse.wrk(WRK)
    assert r == {'rps': 13877.49, 'p50_ms': 0.24, 'p99_ms': 49.51,
                 'requests': 29376, 'errors': 0}


def test_wrk_errors_and_second_units():
    r = benchparse.wrk(WRK_ERRORS)
    assert r['p50_ms'] == 1.5 and r['p99_ms'] == 1200.0
    assert r['errors'] == 2 + 5 + 3


def test_wrk_without_latency_distribution_is_refused():
    text = WRK.replace('  Latency Distribution\n     50%  240.00us\n', '')
    with pytest.raises(ValueError, match='50%'):
        benchparse.wrk(text)
    with pytest.raises(ValueError, match='Requests/sec'):
        benchparse.wrk('unable to connect to 10.0.2.15:80 Connection refused\n')


def test_redis_benchmark():
    r = benchparse.redis_benchmark(REDIS + 'WARNING: Could not fetch server CONFIG\n')
    assert r == {'SET': {'rps': 1397.62, 'p50_ms': 3.431, 'p99_ms': 65.247},
                 'GET': {'rps': 7936.51, 'p50_ms': 0.487, 'p99_ms': 12.439}}


def test_redis_benchmark_bad_output_is_refused():
    with pytest.raises(ValueError, match='no CSV'):
        benchparse.redis_benchmark('SET: 1397.62 requests per second\n')
    with pytest.raises(ValueError, match='lacks'):
        benchparse.redis_benchmark('"test","rps"\n"SET","1.0"\n')
    with pytest.raises(ValueError, match='does not match'):
        benchparse.redis_benchmark(REDIS.splitlines()[0] + '\n"SET","1.0"\n')


def test_ping():
    r = benchparse.ping(PING)
    assert r['rtts_ms'] == [24.0, 44.6, 21.3, 8.67, 4.15]
    assert (r['sent'], r['received']) == (5, 5)
    # Nearest rank, as the guest and query-colo-stats count.
    assert benchlib.percentile(r['rtts_ms'], 50) == 21.3
    assert benchlib.percentile(r['rtts_ms'], 99) == 44.6


def test_ping_loss_and_mismatch():
    lossy = PING.replace('5 received, 0%', '4 received, 20%').replace(
        '64 bytes from 10.0.2.15: icmp_seq=3 ttl=64 time=21.3 ms\n', '')
    r = benchparse.ping(lossy)
    assert (r['sent'], r['received'], len(r['rtts_ms'])) == (5, 4, 4)
    with pytest.raises(ValueError, match='received'):
        benchparse.ping(PING.replace('5 received', '6 received'))
    with pytest.raises(ValueError, match='transmitted'):
        benchparse.ping('ping: connect: Network is unreachable\n')


def test_iops_lines():
    assert benchparse.iops_start(IOPS) == {'rw': 'randwrite', 'bs': 4096,
                                           'qd': 32, 'blocks': 16384}
    assert benchparse.iops_start('TG boot workload=iops layout=1\r\n') is None
    rows = benchparse.iops_seconds(IOPS)
    assert len(rows) == 3                     # the cut last line is not one
    assert rows[1] == {'read': 0, 'read_p50_us': 0.0, 'read_p99_us': 0.0,
                       'write': 3551, 'write_p50_us': 3702.7,
                       'write_p99_us': 44564.4, 'errors': 0}
    s = benchparse.iops_summary(rows[1:], 'write')
    assert s == {'iops': (3551 + 6111) / 2, 'p50_us': (3702.7 + 3244.0) / 2,
                 'p99_us': (44564.4 + 58195.9) / 2, 'errors': 1, 'seconds': 2}
    assert benchparse.iops_summary(rows, 'read')['iops'] == 0
    with pytest.raises(ValueError):
        benchparse.iops_summary([], 'write')
    with pytest.raises(ValueError):
        benchparse.iops_summary(rows, 'randwrite')


def test_iops_read_lines():
    rows = benchparse.iops_seconds(IOPS_READ)
    assert [r['read'] for r in rows] == [464, 1321, 69]
    s = benchparse.iops_summary(rows, 'read')
    assert s['iops'] == (464 + 1321 + 69) / 3
    assert (s['p50_us'], s['p99_us']) == (137.2, 42467.3)
    assert benchparse.iops_summary(rows, 'write')['iops'] == 0


def load_script(name):
    loader = importlib.machinery.SourceFileLoader(
        'bench_' + name, os.path.join(BENCH, name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_block_cases():
    block = load_script('block')
    assert len(block.ALL_CASES) == len(set(block.ALL_CASES)) == 16
    assert block.parse_case('qcow2-randwrite-qd32-native') == (
        'qcow2', 'randwrite', 32, 'native')
    assert block.QUICK_CASES == ['raw-randread-qd1-io_uring',
                                 'raw-randread-qd32-io_uring',
                                 'raw-randwrite-qd1-io_uring',
                                 'raw-randwrite-qd32-io_uring']
    assert block.drive('/i', 'qcow2', 'native')[1] == \
        'file=/i,if=none,id=d0,format=qcow2,cache=none,aio=native'


@pytest.mark.parametrize('name', ['net', 'block', 'migration', 'colo', 'colo-net',
                                  'colo-compare'])
def test_scripts_parse_their_options(name):
    p = subprocess.run(['/usr/bin/python3', os.path.join(BENCH, name), '--help'],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert '--quick' in p.stdout


def test_tables_print_ratios_only_when_both_ran(capsys):
    block = load_script('block')
    t = {'vmm': 'tandem', 'status': 'ok', 'iops': 30000.0, 'p50_us': 50.0,
         'p99_us': 400.0}
    q = {'vmm': 'qemu', 'status': 'ok', 'iops': 20000.0, 'p50_us': 100.0,
         'p99_us': 200.0}
    block.print_table([('raw-randread-qd32-io_uring', t, q),
                       ('raw-randread-qd1-io_uring', None, q)], 'QEMU')
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].split() == ['raw-randread-qd32-io_uring', '30000', '50.0',
                               '400', '20000', '100', '200', '1.50', '0.50', '2.00']
    assert rows[2].split() == ['raw-randread-qd1-io_uring', '(skipped)', '20000',
                               '100', '200', '-', '-', '-']

    net = load_script('net')
    t = {k: 2.0 for k, _, _ in net.FIGURES}
    q = {k: 4.0 for k, _, _ in net.FIGURES}
    t['status'] = q['status'] = 'ok'
    net.print_table({'tandem': t, 'qemu': q}, {'tandem': 'Tandem', 'qemu': 'QEMU'})
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-1] == 'T/Q'
    assert len(out) == 1 + len(net.FIGURES) + 1
    assert all(l.split()[-1] == '0.50' for l in out[1:-1])
    net.print_table({'qemu': q}, {'tandem': 'Tandem', 'qemu': 'QEMU/TCG'})
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-1] == 'QEMU/TCG'
    assert all('(skipped)' in l for l in out[1:])


def test_colo_net_tandem_figures_from_query_colo_stats():
    """The Tandem half cannot run without KVM: its reading of
    query-colo-stats runs here on answers shaped as qapi/colo.json says."""
    cnet = load_script('colo-net')

    def counts(tcp, arp=0):
        return {'tcp': tcp, 'udp': 0, 'icmp': 0, 'icmpv6': 0, 'arp': arp,
                'ip-fragment': 0, 'ip-other': 0, 'other': 0, 'malformed': 0}

    def stats(ckpts, periodic, compare, mismatch, matched):
        return {'mode': 'primary', 'checkpoints': ckpts,
                'triggers': {'periodic': periodic, 'compare': compare, 'request': 0},
                'compare': [{'id': 'comp0', 'comparing': True,
                             'matched': counts(matched, 2), 'mismatched': counts(mismatch),
                             'checkpoints': {'mismatch': mismatch, 'timeout': 1,
                                             'queue-full': 0, 'table-full': 0},
                             'held': 0, 'held-max': 9,
                             'latency-p50-ns': 15500, 'latency-p99-ns': 240000}]}

    class Pri:
        def q(self, name, timeout=None):
            assert name in ('query-colo-stats', 'query-migrate')
            return after if name == 'query-colo-stats' else {'status': 'colo'}

    class Pair:
        label = 'tandem'
        pri = Pri()

    before, after = stats(3, 3, 0, 0, 10), stats(20, 14, 6, 5, 5010)
    res = {'notes': []}
    cnet.colo_figures(Pair(), before, 0, 1, 30, res)
    assert res['checkpoints'] == 17
    assert res['triggers'] == {'periodic': 11, 'compare': 6, 'request': 0}
    assert res['compare_reasons'] == {'mismatch': 5, 'timeout': 0, 'queue-full': 0,
                                      'table-full': 0}
    assert (res['compare_p50_us'], res['compare_p99_us']) == (15.5, 240.0)
    assert (res['compare_matched'], res['compare_mismatched'], res['held_max']) == \
        (5012, 5, 9)
    assert res['notes'] == []


def test_colo_net_qemu_hang_after_checkpoints_is_reported(tmp_path):
    """QEMU under TCG may finish a checkpoint or two and then hang in the
    next one, its monitor silent: the mode is reported hung, saying so."""
    cnet = load_script('colo-net')
    trace = benchparse.qemu_colo_trace(QEMU_COLO_TRACE)
    assert trace['stopped']

    class Pri:
        def q(self, name, timeout=None):
            raise benchlib.QMPException('timed out waiting for the server')

    class Pair:
        label = 'qemu'
        pri = Pri()

        def qemu_trace(self, t_from=0.0, t_to=float('inf')):
            return benchparse.qemu_colo_trace(QEMU_COLO_TRACE, t_from, t_to)

    res = {'status': 'no answer', 'notes': ['no answer to one HTTP GET']}
    cnet.colo_figures(Pair(), None, 0, 1764851650.4, 0.1, res)
    assert res['status'] == 'hung'
    assert res['notes'][0] == ('QEMU COLO hung after 2 checkpoint(s): the guest stopped '
                               'for one that did not end in 0.1 s')
    assert res['checkpoints'] == 1 and res['triggers'] == {'compare-timeout': 1}
    assert res['notes'][-1].startswith('QMP did not answer after the clients')
