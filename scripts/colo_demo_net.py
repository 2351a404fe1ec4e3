# SPDX-License-Identifier: GPL-2.0-or-later
"""The network half of the COLO demo (scripts/colo-demo.py --net), also
bench/colo-net's network: the namespace, the taps and QEMU's recipe.

One host plays the LAN: a network namespace holding a bridge `br0` with
the client's address 10.0.2.2/24, and two taps, `colo-pri` for the
primary's NIC and `colo-sec` for the secondary's. Only the primary's tap
is on the bridge while COLO runs: the secondary's guest gets its input
from the primary's filter-mirror and its output goes to colo-compare, as
on two hosts; at the failover the demo moves the bridge port from the
dead primary's tap to the secondary's (on two hosts the secondary's tap is
on its own host's bridge from the start) and the runbook's announce-self
tells the bridge where the guest's MAC now is.

Both VMMs run in the namespace (`ip netns exec`) with QEMU's documented
COLO network recipe, object for object, on its ports (9001, 9003, 9004,
9005; the migration on 9000), which are free in a fresh namespace.

The client is scripts/resp-loop.py in the namespace: one connection to
the guest's RESP server writing SET after SET through the failover, then
reading every key back.
"""
import os
import shutil
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))

GUEST_IP = '10.0.2.15'
GUEST_MAC = '52:54:00:12:34:56'
GUEST_APPEND = 'workload=serve ip=%s/24 gw=10.0.2.2 netlog=0' % GUEST_IP
CLIENT_ADDR = '10.0.2.2/24'
RESP_PORT = 6379
MIGRATE_PORT = 9000
PRIMARY_TAP = 'colo-pri'
SECONDARY_TAP = 'colo-sec'


def unusable_reason():
    """None when this process can build the demo's namespace; else why not."""
    if os.geteuid() != 0:
        return 'the network demo makes a network namespace and taps: run it as root'
    if not os.path.exists('/dev/net/tun'):
        return '/dev/net/tun is missing (modprobe tun)'
    if not shutil.which('ip'):
        return 'ip is not installed (apt-get install iproute2)'
    return None


def nic_args(tap, vnet_hdr=False):
    # vnet_hdr=off: QEMU's recipe has no vnet_hdr_support on its filters,
    # and frames with virtio-net headers would not be compared
    # (docs/colo.md, "virtio-net headers on the tap"). vnet_hdr=True
    # leaves the tap's default, for bench/colo-net to measure that case.
    return ['-netdev', 'tap,id=hn0,ifname=%s,vhost=off,%sscript=no,'
            'downscript=no' % (tap, '' if vnet_hdr else 'vnet_hdr=off,'),
            '-device', 'virtio-net-pci,netdev=hn0,mac=%s' % GUEST_MAC]


def primary_args(vnet_hdr=False):
    """QEMU's recipe for the primary: the mirror of what the guest gets to
    the secondary (9003), the secondary's output in (9004), colo-compare
    between the primary's output (9001) and the tap (9005)."""
    return nic_args(PRIMARY_TAP, vnet_hdr) + [
        '-chardev', 'socket,id=mirror0,host=127.0.0.1,port=9003,server=on,wait=off',
        '-chardev', 'socket,id=compare1,host=127.0.0.1,port=9004,server=on,wait=on',
        '-chardev', 'socket,id=compare0,host=127.0.0.1,port=9001,server=on,wait=off',
        '-chardev', 'socket,id=compare0-0,host=127.0.0.1,port=9001',
        '-chardev', 'socket,id=compare_out,host=127.0.0.1,port=9005,server=on,wait=off',
        '-chardev', 'socket,id=compare_out0,host=127.0.0.1,port=9005',
        '-object', 'filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0',
        '-object', 'filter-redirector,netdev=hn0,id=redire0,queue=rx,indev=compare_out',
        '-object', 'filter-redirector,netdev=hn0,id=redire1,queue=rx,outdev=compare0',
        '-object', 'iothread,id=iothread1',
        '-object', 'colo-compare,id=comp0,primary_in=compare0-0,secondary_in=compare1,'
                   'outdev=compare_out0,iothread=iothread1',
    ]


def secondary_args(reconnect='reconnect-ms=1000', vnet_hdr=False):
    """QEMU's recipe for the secondary: the mirrored input in (9003), the
    guest's output to the primary's colo-compare (9004), the rewriter
    keeping its TCP sequence numbers in step with the primary's.
    reconnect: the chardevs' retry option; QEMU before 9.2 (Debian 12's
    7.2, which bench/colo-net runs) knows only reconnect=SECONDS, which
    Tandem takes too."""
    return nic_args(SECONDARY_TAP, vnet_hdr) + [
        '-chardev', 'socket,id=red0,host=127.0.0.1,port=9003,' + reconnect,
        '-chardev', 'socket,id=red1,host=127.0.0.1,port=9004,' + reconnect,
        '-object', 'filter-redirector,id=f1,netdev=hn0,queue=tx,indev=red0',
        '-object', 'filter-redirector,id=f2,netdev=hn0,queue=rx,outdev=red1',
        '-object', 'filter-rewriter,id=rew0,netdev=hn0,queue=all',
        '-incoming', 'tcp:127.0.0.1:%d' % MIGRATE_PORT,
    ]


class DemoNetwork:
    """The namespace with the bridge, the client's address and both taps;
    close() deletes it and with it everything inside."""

    def __init__(self):
        self.name = 'tandem-colo-demo-%d' % os.getpid()
        subprocess.run(['ip', 'netns', 'add', self.name], check=True,
                       capture_output=True)
        try:
            self.ip('link', 'set', 'lo', 'up')
            self.ip('link', 'add', 'br0', 'type', 'bridge')
            self.ip('addr', 'add', CLIENT_ADDR, 'dev', 'br0')
            self.ip('link', 'set', 'br0', 'up')
            for tap in (PRIMARY_TAP, SECONDARY_TAP):
                self.ip('tuntap', 'add', 'dev', tap, 'mode', 'tap')
                self.ip('link', 'set', tap, 'up')
            self.ip('link', 'set', PRIMARY_TAP, 'master', 'br0')
        except Exception:
            self.close()
            raise

    def prefix(self):
        return ['ip', 'netns', 'exec', self.name]

    def run(self, cmd, timeout=60.0, check=True):
        """Runs cmd in the namespace; returns CompletedProcess (text).
        With check, a failure raises with what it printed (the same
        contract as bench/benchlib.py's NetNs.run)."""
        p = subprocess.run(self.prefix() + list(cmd), capture_output=True,
                           text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError('%s: %s' % (' '.join(cmd),
                                           (p.stderr or p.stdout).strip()))
        return p

    def ip(self, *args):
        self.run(['ip'] + list(args))

    def move_service_to_secondary(self):
        """The bridge port moves from the primary's tap to the secondary's."""
        self.ip('link', 'set', PRIMARY_TAP, 'nomaster')
        self.ip('link', 'set', SECONDARY_TAP, 'master', 'br0')

    def close(self):
        subprocess.run(['ip', 'netns', 'del', self.name], capture_output=True)


class Client:
    """scripts/resp-loop.py in the namespace, its lines read on a thread:
    `tick` holds the latest tick line's figures, `end` its last line once
    it exited."""

    def __init__(self, net, timeout=60):
        self.proc = subprocess.Popen(
            net.prefix() + [sys.executable, os.path.join(HERE, 'resp-loop.py'),
                            GUEST_IP, str(RESP_PORT), '--timeout', str(timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)
        self.tick = None
        self.end = None
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip('\n')
            self.lines.append(line)
            if line.startswith('tick '):
                self.tick = dict(kv.split('=', 1) for kv in line.split()[1:])
            else:
                self.end = line

    def running(self):
        return self.proc.poll() is None

    def stop(self, timeout=120):
        """Ends the write phase (stdin closed), waits for the read-back;
        returns (exit status, last line)."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self.reader.join(5)
        return status, self.end or (self.lines[-1] if self.lines else '(no output)')

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def compare_figures(stats):
    """One short text of the first colo-compare's figures in a
    query-colo-stats answer."""
    compares = stats.get('compare') or []
    if not compares:
        return 'compare: none'
    c = compares[0]
    return ('compare: %d matched %d mismatched, held %d, added p50 %.0f us p99 %.0f us'
            % (sum(c['matched'].values()), sum(c['mismatched'].values()), c['held'],
               c['latency-p50-ns'] / 1000.0, c['latency-p99-ns'] / 1000.0))
