#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`make run`: the COLO fault-tolerance demo on localhost.

Starts a primary and a secondary Tandem with the built-in test guest
(workload=count: a `TG count=N counter=M` line every 250 ms on COM1),
brings COLO up over QMP (x-colo on both sides, x-checkpoint-delay on the
primary, migrate), and shows a live line of the primary's checkpoint figures
(query-colo-stats) beside the guest's latest count line. After --before
seconds it kills the primary with SIGKILL, tells the secondary the heartbeat
is lost (x-colo-lost-heartbeat: the secondary never fails over by itself),
and shows the guest's count carrying on from the secondary. After --after
more seconds, or on Ctrl-C, it kills both VMMs, removes its temporary
directory and exits 0.

On a terminal the live line is rewritten in place; otherwise (a pipe, a
log, CI) it prints one plain line per refresh.

The hand-over is judged by the count numbers: the primary's last line
against the secondary's first one after x-colo-lost-heartbeat. With the
serial output commit, the primary's file holds only output a checkpoint
covers and the secondary writes nothing of its own before the failover, so
the second follows the first with no count missing or repeated. The demo
still reads the secondary's file only from where it ended when the failover
was asked for, so that on a build without the output commit it shows the
same thing (and the repeated lines) rather than the SVM's discarded runs.

usage: scripts/colo-demo.py [BUILD] [--before S] [--after S] [--mem MIB]
       [--delay MS] [--keep]
"""
import argparse
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'qmp'))
from qmp import QMPClient, QMPException  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import colo_demo_net as demonet  # noqa: E402

COUNT_RX = re.compile(r'TG count=(\d+) counter=(\d+)')
REFRESH_S = 0.5


class DemoError(Exception):
    """The demo cannot go on; the text says what went wrong."""


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Vmm:
    """One Tandem process with its serial file, QMP socket and stderr log."""

    def __init__(self, binary, guest, tmp, name, mem, extra=(),
                 append='workload=count', prefix=(), accel='kvm'):
        self.name = name
        self.serial_path = os.path.join(tmp, name + '-serial.log')
        self.qmp_path = os.path.join(tmp, name + '.qmp')
        self.stderr_path = os.path.join(tmp, name + '-stderr.log')
        self.cmd = list(prefix) + [
            binary, '-accel', accel, '-display', 'none', '-nodefaults',
            '-m', str(mem), '-kernel', guest, '-append', append,
            '-serial', 'file:' + self.serial_path,
            '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path
        ] + list(extra)
        self.proc = None
        self.qmp = None

    def start(self):
        self.launch()
        self.connect()

    def launch(self):
        with open(self.stderr_path, 'wb') as err:
            # A session of its own: Ctrl-C reaches only the demo, which then
            # stops both VMMs in order.
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=err, start_new_session=True)

    def connect(self):
        """QMP, once the process serves it (the primary of the network
        recipe only does once the secondary's chardevs connected)."""
        try:
            self.qmp = QMPClient(self.qmp_path, timeout=10, wait=15)
        except QMPException as e:
            raise DemoError('%s: no QMP socket (%s); %s' % (
                self.name, e, self.stderr_tail()))

    def stderr_tail(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace').strip()
        except OSError:
            return ''
        return 'stderr: ' + text[-400:] if text else 'no stderr'

    def serial(self, offset=0):
        try:
            with open(self.serial_path, 'rb') as f:
                f.seek(offset)
                return f.read().decode('latin-1')
        except OSError:
            return ''

    def serial_size(self):
        try:
            return os.path.getsize(self.serial_path)
        except OSError:
            return 0

    def q(self, name, **kw):
        return self.qmp.cmd(name, **kw)

    def kill(self):
        """SIGKILL and reap; safe to repeat."""
        if self.qmp:
            self.qmp.close()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass


def counts(text):
    """(count, counter) of every complete count line in text."""
    return [(int(a), int(b)) for a, b in
            COUNT_RX.findall(text[:text.rfind('\n') + 1])]


def wait_for(what, pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise DemoError('%s within %.0f s' % (what, timeout))


class Screen:
    """The live line: rewritten in place on a terminal, plain lines
    otherwise."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.open = False

    def live(self, text):
        if self.tty:
            width = shutil.get_terminal_size((100, 24)).columns - 1
            sys.stdout.write('\r' + text[:width] + '\x1b[K')
            self.open = True
        else:
            sys.stdout.write(text + '\n')
        sys.stdout.flush()

    def say(self, text):
        if self.open:
            sys.stdout.write('\n')
            self.open = False
        sys.stdout.write(text + '\n')
        sys.stdout.flush()


def ms(us):
    return '%.2f' % (us / 1000.0)


def figures(pri):
    st = pri.q('query-colo-stats')
    c = counts(pri.serial())
    guest = 'TG count=%d counter=%d' % c[-1] if c else '(no count line yet)'
    return ('primary: %4d checkpoints  last %s ms  p50 %s ms  p99 %s ms'
            '  | %s' % (st['checkpoints'], ms(st['last-pause-us']),
                        ms(st['p50-pause-us']), ms(st['p99-pause-us']),
                        guest))


def bring_up(pri, sec, port, delay):
    for vm in (pri, sec):
        vm.q('migrate-set-capabilities',
             capabilities=[{'capability': 'x-colo', 'state': True},
                           {'capability': 'events', 'state': True}])
    pri.q('migrate-set-parameters', **{'x-checkpoint-delay': delay,
                                       'max-bandwidth': 10 << 30})
    pri.q('migrate', uri='tcp:127.0.0.1:%d' % port)

    def both_colo():
        st = pri.q('query-migrate').get('status')
        if st in ('failed', 'cancelled', 'completed'):
            raise DemoError('migration to the secondary %s: %s' % (
                st, pri.q('query-migrate').get('error-desc', '')))
        return st == 'colo' and sec.q('query-migrate').get('status') == 'colo'
    wait_for('primary and secondary did not reach status colo', both_colo, 30)


def take_over(pri, sec, screen):
    """Kills the primary, fails over to the secondary; returns the
    secondary's serial offset at the takeover."""
    last = counts(pri.serial())
    screen.say('*** kill -9 the primary (pid %d)' % pri.proc.pid)
    pri.kill()
    # The primary's serial file now holds all it ever printed.
    last = counts(pri.serial()) or last
    screen.say('    primary gone; its last guest line: %s' % (
        'TG count=%d counter=%d' % last[-1] if last else '(none)'))

    # The secondary notices the lost peer and stops the SVM; only what it
    # writes after that is post-takeover output.
    def svm_stopped():
        return sec.q('query-status')['status'] != 'running'
    wait_for('the secondary did not stop after losing the primary',
             svm_stopped, 10, 0.02)
    offset = sec.serial_size()
    screen.say('    secondary stopped (%s), waiting for the operator' %
               sec.q('query-status')['status'])
    screen.say('*** x-colo-lost-heartbeat -> secondary')
    sec.q('x-colo-lost-heartbeat')
    ev = sec.qmp.wait_event('COLO_EXIT', timeout=10)
    wait_for('the secondary did not run the guest after the failover',
             lambda: sec.q('query-status')['status'] == 'running', 10)
    screen.say('    COLO_EXIT %s; secondary status running' % (
        ', '.join('%s=%s' % kv for kv in sorted(ev.data.items()))))
    return last[-1][0] if last else None, offset


def follow(sec, offset, last_pri, seconds, screen):
    """Shows the secondary's new count lines; returns the first count."""
    first = None
    shown = 0
    deadline = time.monotonic() + seconds
    while True:
        new = counts(sec.serial(offset))
        if new and first is None:
            first = new[0][0]
            if last_pri is None:
                verdict = ''
            elif first == last_pri + 1:
                verdict = ': carries on, none missing, none repeated'
            elif first <= last_pri:
                verdict = ': %d line(s) repeated' % (last_pri - first + 1)
            else:
                verdict = ': %d count(s) missing' % (first - last_pri - 1)
            screen.say('    primary last count=%s, secondary first count=%d%s'
                       % (last_pri, first, verdict))
        for c in new[shown:]:
            screen.say('secondary: TG count=%d counter=%d' % c)
        shown = len(new)
        if time.monotonic() >= deadline:
            break
        time.sleep(REFRESH_S)
    if first is None:
        raise DemoError('the secondary printed no count line in %.0f s' %
                        seconds)
    return first


def load_failover_runbooks():
    """scripts/colo-failover.py, whose secondary runbook the network demo
    runs at the takeover (the same steps an operator would)."""
    spec = importlib.util.spec_from_file_location(
        'colo_failover', os.path.join(ROOT, 'scripts', 'colo-failover.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def net_figures(pri, client):
    st = pri.q('query-colo-stats')
    tick = client.tick
    who = ('client: %s SETs acked, %s/s' % (tick['acked'], tick['rate'])
           if tick else 'client: connecting')
    return '%s | primary: %d checkpoints (%d by compare) | %s' % (
        who, st['checkpoints'], st['triggers'].get('compare', 0),
        demonet.compare_figures(st))


def net_take_over(pri, sec, net, screen):
    """Kills the primary; the secondary takes over with the network runbook."""
    screen.say('*** kill -9 the primary (pid %d)' % pri.proc.pid)
    pri.kill()
    wait_for('the secondary did not stop after losing the primary',
             lambda: sec.q('query-status')['status'] != 'running', 10, 0.02)
    screen.say('    secondary stopped (%s); the bridge port moves to its tap'
               % sec.q('query-status')['status'])
    try:
        net.move_service_to_secondary()
    except RuntimeError as e:
        raise DemoError('cannot move the bridge port: %s' % e)
    screen.say('*** the secondary runbook (scripts/colo-failover.py secondary):')
    runbooks = load_failover_runbooks()
    try:
        runbooks.secondary(sec.qmp, runbooks.SECONDARY_OBJECTS,
                           runbooks.SECONDARY_CHARDEVS, announce=True)
    except runbooks.StepFailed as e:
        raise DemoError('the failover runbook stopped: %s' % e)
    wait_for('the secondary did not run the guest after the failover',
             lambda: sec.q('query-status')['status'] == 'running', 10)
    screen.say('    secondary status running')


def run_net(args, tmp, screen, binary, guest):
    reason = demonet.unusable_reason()
    if reason:
        raise DemoError(reason)
    try:
        net = demonet.DemoNetwork()
    except (RuntimeError, subprocess.CalledProcessError) as e:
        raise DemoError('cannot build the demo network: %s' % e)
    pri = Vmm(binary, guest, tmp, 'primary', args.mem, demonet.primary_args(),
              append=demonet.GUEST_APPEND, prefix=net.prefix())
    sec = Vmm(binary, guest, tmp, 'secondary', args.mem, demonet.secondary_args(),
              append=demonet.GUEST_APPEND, prefix=net.prefix())
    client = None
    try:
        screen.say('COLO network demo: the guest serves RESP at %s:%d on a bridge in '
                   'namespace %s; checkpoint every %d ms'
                   % (demonet.GUEST_IP, demonet.RESP_PORT, net.name, args.delay))
        # The recipe's primary waits (compare1, wait=on) for the
        # secondary's redirector before it serves QMP.
        pri.launch()
        sec.start()
        pri.connect()
        wait_for('the primary guest did not start serving',
                 lambda: 'TG serve ready' in pri.serial(), 30)
        bring_up(pri, sec, demonet.MIGRATE_PORT, args.delay)
        screen.say('COLO is up; a client writes SET after SET on one connection '
                   '(scripts/resp-loop.py); the primary is killed in %.0f s' % args.before)
        client = demonet.Client(net)
        deadline = time.monotonic() + args.before
        while time.monotonic() < deadline and client.running():
            screen.live(net_figures(pri, client))
            time.sleep(REFRESH_S)
        if not client.running():
            raise DemoError('the client stopped before the failover: %s' % client.stop()[1])
        before = client.tick
        net_take_over(pri, sec, net, screen)
        deadline = time.monotonic() + args.after
        while time.monotonic() < deadline and client.running():
            tick = client.tick
            screen.live('client: %s SETs acked, %s/s (on the secondary)'
                        % (tick['acked'], tick['rate']) if tick else 'client: -')
            time.sleep(REFRESH_S)
        status, last = client.stop()
        screen.say('client: %s' % last)
        if status != 0:
            raise DemoError('the client saw the failover: %s' % last)
        screen.say('the connection survived the primary: %s SETs acknowledged before the '
                   'kill, every acknowledged SET read back from the secondary'
                   % (before['acked'] if before else 0))
        screen.say('the guest runs on the secondary, unprotected; stopping the demo')
    finally:
        if client:
            client.kill()
        for vm in (pri, sec):
            vm.kill()
        net.close()


def run(args, tmp, screen):
    binary = os.path.join(args.build, 'tandem-system-x86_64')
    guest = os.path.join(args.build, 'tests', 'guest', 'tandem-guest.elf')
    for f in (binary, guest):
        if not os.path.exists(f):
            raise DemoError('%s missing (build first)' % f)
    if args.net:
        return run_net(args, tmp, screen, binary, guest)
    port = free_port()
    sec = Vmm(binary, guest, tmp, 'secondary', args.mem,
              ['-incoming', 'tcp:127.0.0.1:%d' % port])
    pri = Vmm(binary, guest, tmp, 'primary', args.mem)
    vms = (pri, sec)
    try:
        screen.say('COLO demo: primary and secondary Tandem on localhost, '
                   'guest workload=count, %d MiB, checkpoint every %d ms'
                   % (args.mem, args.delay))
        sec.start()
        pri.start()
        wait_for('the primary guest printed no count line',
                 lambda: counts(pri.serial()), 30)
        bring_up(pri, sec, port, args.delay)
        screen.say('COLO is up (query-migrate status colo on both sides); '
                   'the primary is killed in %.0f s' % args.before)
        deadline = time.monotonic() + args.before
        while time.monotonic() < deadline:
            screen.live(figures(pri))
            time.sleep(REFRESH_S)
        screen.live(figures(pri))
        last_pri, offset = take_over(pri, sec, screen)
        follow(sec, offset, last_pri, args.after, screen)
        screen.say('the guest runs on the secondary, unprotected; stopping '
                   'the demo')
    finally:
        for vm in vms:
            vm.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('build', nargs='?', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--before', type=float, default=10,
                    help='seconds of COLO before the primary is killed '
                    '(default 10)')
    ap.add_argument('--after', type=float, default=5,
                    help='seconds shown after the takeover (default 5)')
    ap.add_argument('--mem', type=int, default=256, help='guest MiB (256)')
    ap.add_argument('--delay', type=int, default=100,
                    help='x-checkpoint-delay, ms (default 100)')
    ap.add_argument('--net', action='store_true',
                    help='protect a network service instead: the guest serves '
                    'RESP on a bridge in a network namespace (root), a client '
                    'writes through the failover (scripts/colo_demo_net.py)')
    ap.add_argument('--keep', action='store_true',
                    help='keep the temporary directory (serial files, QMP '
                    'sockets, stderr logs)')
    args = ap.parse_args()
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        # Both VMMs would fail the same way; say it once, before starting them.
        print('colo-demo: Tandem runs guests on KVM and /dev/kvm is not usable '
              'here (%s); `make check` still runs every test that needs no KVM'
              % ('missing' if not os.path.exists('/dev/kvm') else 'no read/write access'),
              file=sys.stderr)
        return 1

    # Ctrl-C (even when started in the background, where SIGINT comes in
    # ignored) and SIGTERM end the demo: both VMMs killed, files removed.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    screen = Screen()
    tmp = tempfile.mkdtemp(prefix='tandem-colo-demo-')
    status = 0
    try:
        run(args, tmp, screen)
    except KeyboardInterrupt:
        screen.say('interrupted; both VMMs stopped')
    except (DemoError, QMPException) as e:
        screen.say('colo-demo: %s' % e)
        args.keep = True
        status = 1
    finally:
        if args.keep:
            screen.say('files kept in %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
