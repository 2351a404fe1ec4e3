# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of scripts/qmp (the QMP client library and qmp-shell).

The first part runs the client against a scripted fake server (no VMM):
framing, id matching, events, limits, timeouts. The second part runs the
same QMP conversations against real VMMs through the `vmm` fixture, whose
parameters are Debian's QEMU and Tandem, so both must answer alike.
Every wait is bounded and every VMM process is killed in teardown.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from tandem import GUEST, QEMU, ROOT, TANDEM, needs_kvm

QMP_DIR = os.path.join(ROOT, 'scripts', 'qmp')
SHELL = os.path.join(QMP_DIR, 'qmp-shell')
sys.path.insert(0, QMP_DIR)

from qmp import (MAX_MESSAGE, QMPClient, QMPConnectionError, QMPError,  # noqa: E402
                 QMPProtocolError, QMPTimeoutError)
from qmp_shell import ParseError, parse_address, parse_command  # noqa: E402

GREETING = {'QMP': {'version': {'qemu': {'major': 7, 'minor': 2, 'micro': 0},
                                'package': ''}, 'capabilities': ['oob']}}
TS = {'seconds': 1700000000, 'microseconds': 500000}


# --- fake server ------------------------------------------------------------

class FakeServer:
    """Serves one client over a socketpair from a thread. 'reply' maps a
    received command dict to the bytes to send back (default: an empty
    return with the same id); returning None sends nothing."""

    def __init__(self, greeting=GREETING, reply=None):
        self.server, self.client_sock = socket.socketpair()
        self.received = []
        self.reply = reply or (lambda msg: ok(msg))
        self.thread = threading.Thread(target=self._run, args=(greeting,), daemon=True)
        self.thread.start()

    def _run(self, greeting):
        try:
            self.server.sendall(greeting if isinstance(greeting, bytes)
                                else json.dumps(greeting).encode() + b'\r\n')
            for line in self.server.makefile('rb'):
                msg = json.loads(line)
                self.received.append(msg)
                out = self.reply(msg)
                if out is None:
                    continue
                for chunk in out if isinstance(out, list) else [out]:
                    self.server.sendall(chunk)
        except OSError:
            pass

    def close(self):
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.thread.join(5)


def ok(msg, value=None):
    return json.dumps({'return': {} if value is None else value,
                       'id': msg.get('id')}).encode() + b'\r\n'


@pytest.fixture
def fake():
    servers = []

    def make(**kw):
        servers.append(FakeServer(**kw))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


def test_negotiation_enables_oob_only_when_offered(fake):
    srv = fake()
    with QMPClient(srv.client_sock, timeout=5) as c:
        assert c.oob_enabled and c.version['qemu']['major'] == 7
    assert srv.received[0]['execute'] == 'qmp_capabilities'
    assert srv.received[0]['arguments'] == {'enable': ['oob']}

    srv = fake(greeting={'QMP': {'version': {}, 'capabilities': []}})
    with QMPClient(srv.client_sock, timeout=5) as c:
        assert not c.oob_enabled
    assert 'arguments' not in srv.received[0]

    srv = fake()
    with QMPClient(srv.client_sock, timeout=5, oob=False) as c:
        assert not c.oob_enabled
    assert 'arguments' not in srv.received[0]


def test_bad_greeting(fake):
    srv = fake(greeting={'QMP': {'version': {}}})
    with pytest.raises(QMPProtocolError):
        QMPClient(srv.client_sock, timeout=5)


def test_ids_events_and_split_writes(fake):
    def reply(msg):
        if msg['execute'] != 'query-status':
            return ok(msg)
        ev = json.dumps({'event': 'STOP', 'timestamp': TS}).encode() + b'\r\n'
        other = json.dumps({'return': 1, 'id': 'someone-else'}).encode() + b'\r\n'
        mine = ok(msg, {'status': 'paused'})
        data = ev + other + mine
        return [data[i:i + 7] for i in range(0, len(data), 7)]   # dribble
    srv = fake(reply=reply)
    with QMPClient(srv.client_sock, timeout=5) as c:
        assert c.cmd('query-status') == {'status': 'paused'}
        ids = [m['id'] for m in srv.received]
        assert len(set(ids)) == 2 and all(i.startswith('__tandem#') for i in ids)
        ev = c.get_event('STOP', timeout=0)
        assert ev.name == 'STOP' and ev.data == {} and ev.timestamp == 1700000000.5
        assert c.recv_message(timeout=0) == {'return': 1, 'id': 'someone-else'}
        assert c.get_event(timeout=0) is None


def test_error_response_raises(fake):
    def reply(msg):
        if msg['execute'] == 'nope':
            return json.dumps({'error': {'class': 'CommandNotFound', 'desc': 'no'},
                               'id': msg['id']}).encode() + b'\n'
        return ok(msg)
    srv = fake(reply=reply)
    with QMPClient(srv.client_sock, timeout=5) as c:
        with pytest.raises(QMPError) as e:
            c.cmd('nope')
        assert e.value.error_class == 'CommandNotFound' and e.value.desc == 'no'
        assert e.value.response['id'] == srv.received[-1]['id']


def test_pretty_multiline_messages(fake):
    def reply(msg):
        return json.dumps({'return': {'a': [1, 2]}, 'id': msg['id']},
                          indent=4).replace('\n', '\r\n').encode() + b'\r\n'
    srv = fake(reply=reply)
    with QMPClient(srv.client_sock, timeout=5) as c:
        assert c.cmd('x') == {'a': [1, 2]}


def test_wait_event_match_and_timeout(fake):
    def reply(msg):
        if msg['execute'] != 'go':
            return ok(msg)
        evs = [{'event': 'JOB', 'data': {'id': 'a', 'st': {'s': 1}}, 'timestamp': TS},
               {'event': 'JOB', 'data': {'id': 'b', 'st': {'s': 2}}, 'timestamp': TS}]
        return [json.dumps(e).encode() + b'\r\n' for e in evs] + [ok(msg)]
    srv = fake(reply=reply)
    with QMPClient(srv.client_sock, timeout=5) as c:
        c.cmd('go')
        assert c.wait_event('JOB', match={'st': {'s': 2}}, timeout=1).data['id'] == 'b'
        t = time.monotonic()
        with pytest.raises(QMPTimeoutError):
            c.wait_event('JOB', match={'id': 'zzz'}, timeout=0.3)
        assert time.monotonic() - t < 2
        assert [e.data['id'] for e in c.events()] == ['a']


def test_command_timeout(fake):
    srv = fake(reply=lambda msg: ok(msg) if msg['execute'] == 'qmp_capabilities' else None)
    with QMPClient(srv.client_sock, timeout=5) as c:
        t = time.monotonic()
        with pytest.raises(QMPTimeoutError):
            c.cmd('hang', timeout=0.3)
        assert time.monotonic() - t < 2


def test_eof_is_connection_error(fake):
    srv = fake(reply=lambda msg: ok(msg) if msg['execute'] == 'qmp_capabilities' else None)
    c = QMPClient(srv.client_sock, timeout=5)
    srv.close()
    with pytest.raises(QMPConnectionError):
        c.cmd('x')
    assert not c.connected
    with pytest.raises(QMPConnectionError):
        c.cmd('x')
    c.close()


def test_message_size_limit(fake):
    def reply(msg):
        if msg['execute'] == 'qmp_capabilities':
            return ok(msg)
        return [b'{"return": "' + b'x' * (1 << 20)] * (MAX_MESSAGE // (1 << 20) + 2)
    srv = fake(reply=reply)
    with QMPClient(srv.client_sock, timeout=10) as c:
        with pytest.raises(QMPProtocolError):
            c.cmd('big')


def test_accept_times_out():
    d = tempfile.mkdtemp(prefix='qmp-', dir='/tmp')
    try:
        c = QMPClient()
        c.listen(os.path.join(d, 'mon.sock'))
        with pytest.raises(QMPTimeoutError):
            c.accept(timeout=0.2)
        assert not os.path.exists(os.path.join(d, 'mon.sock'))
    finally:
        shutil.rmtree(d)


def test_shell_parsing():
    assert parse_command('query-status') == ('query-status', {})
    assert parse_command('cmd a=1 b=true c=x d="1" e=\'two words\' f.g.h=null f.i=[1, 2]') == (
        'cmd', {'a': 1, 'b': True, 'c': 'x', 'd': '1', 'e': 'two words',
                'f': {'g': {'h': None}, 'i': [1, 2]}})
    assert parse_command('x o={"k": "v w"}') == ('x', {'o': {'k': 'v w'}})
    for bad in ('x a', 'x a=1 a=2', 'x a=1 a.b=2', 'x a={'):
        with pytest.raises(ParseError):
            parse_command(bad)
    assert parse_address('localhost:4444') == ('localhost', 4444)
    assert parse_address('/tmp/qmp.sock') == '/tmp/qmp.sock'


# --- real VMMs ---------------------------------------------------------------

class Vmm:
    """Starts QEMU or Tandem paused (-S) with a monitor given by the test."""

    def __init__(self, kind, workdir):
        self.kind, self.dir = kind, workdir
        self.binary = QEMU if kind == 'qemu' else TANDEM
        self.procs = []
        self.sock = os.path.join(workdir, 'qmp.sock')

    def argv(self, *monitor):
        cmd = [self.binary, '-accel', 'kvm', '-display', 'none', '-nodefaults', '-S']
        if self.kind == 'tandem':
            cmd += ['-kernel', GUEST, '-append', 'workload=count']
        return cmd + list(monitor)

    def start(self, *monitor, pass_fds=()):
        err = open(os.path.join(self.dir, 'stderr-%d.log' % len(self.procs)), 'wb')
        proc = subprocess.Popen(self.argv(*monitor), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, pass_fds=pass_fds)
        err.close()
        self.procs.append(proc)
        return proc

    def start_server(self):
        """-qmp unix:SOCK,server=on,wait=off; returns the socket path once
        a connection gets the greeting (so a shell can connect at once)."""
        proc = self.start('-qmp', 'unix:%s,server=on,wait=off' % self.sock)
        deadline = time.monotonic() + 10
        while True:
            try:
                QMPClient(self.sock, wait=0.2, timeout=10, negotiate=False).close()
                return self.sock
            except QMPConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError('%s did not open its QMP socket (exit %s):\n%s'
                                         % (self.kind, proc.poll(), self.stderr()))

    def connect(self, **kw):
        kw.setdefault('timeout', 10)
        return QMPClient(self.sock, wait=10, **kw)

    def stderr(self):
        return ''.join(open(os.path.join(self.dir, f), errors='replace').read()
                       for f in sorted(os.listdir(self.dir)) if f.startswith('stderr'))

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)


@pytest.fixture(params=['qemu', 'tandem'])
def vmm(request):
    if request.param == 'qemu' and not os.path.exists(QEMU):
        pytest.skip('qemu-system-x86 not installed')
    d = tempfile.mkdtemp(prefix='qmp-', dir='/tmp')   # short: sun_path is 108 bytes
    v = Vmm(request.param, d)
    yield v
    v.kill()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def qmp(vmm):
    vmm.start_server()
    with vmm.connect() as c:
        yield c


@needs_kvm
def test_greeting_and_query_version(qmp):
    assert qmp.capabilities == ['oob'] and qmp.oob_enabled
    assert set(qmp.version['qemu']) == {'major', 'minor', 'micro'}
    assert qmp.cmd('query-version') == qmp.version


@needs_kvm
def test_negotiation_required_first(vmm):
    vmm.start_server()
    with vmm.connect(negotiate=False) as c:
        with pytest.raises(QMPError) as e:
            c.cmd('query-status')
        assert e.value.error_class == 'CommandNotFound'
        assert e.value.response['id'] == '__tandem#1'
        c.negotiate(oob=False)
        assert not c.oob_enabled
        assert c.cmd('query-status')['running'] is False
        with pytest.raises(QMPError) as e:
            c.cmd('qmp_capabilities')
        assert e.value.error_class == 'CommandNotFound'
        with pytest.raises(QMPError):            # oob was not enabled
            c.exec_oob('query-status')
        assert c.cmd('query-status')['running'] is False


@needs_kvm
def test_stop_cont_events(qmp):
    st = qmp.cmd('query-status')
    assert st['status'] == 'prelaunch' and st['running'] is False
    t = time.time()
    assert qmp.cmd('cont') == {}
    ev = qmp.wait_event('RESUME', timeout=10)
    assert abs(ev.timestamp - t) < 60
    assert qmp.cmd('query-status')['status'] == 'running'
    assert qmp.cmd('stop') == {}
    qmp.wait_event('STOP', timeout=10)
    st = qmp.cmd('query-status')
    assert st['status'] == 'paused' and st['running'] is False


@needs_kvm
def test_command_not_found(qmp):
    with pytest.raises(QMPError) as e:
        qmp.cmd('bogus-command')
    assert e.value.error_class == 'CommandNotFound'
    assert 'bogus-command' in e.value.desc
    assert qmp.cmd('query-status')['running'] is False


@needs_kvm
def test_hmp(qmp):
    assert qmp.hmp('info status').startswith('VM status: paused (prelaunch)')


@needs_kvm
def test_query_commands(qmp):
    names = {c['name'] for c in qmp.cmd('query-commands')}
    assert {'qmp_capabilities', 'query-status', 'cont', 'stop', 'quit',
            'human-monitor-command', 'query-commands'} <= names


@needs_kvm
def test_exec_oob_of_inband_command(qmp):
    cid = qmp.send_command('query-status', oob=True)
    resp = qmp.get_response(cid, timeout=10)
    assert resp['id'] == cid and resp['error']['class'] == 'GenericError'
    with pytest.raises(QMPError):
        qmp.exec_oob('query-status')
    assert qmp.cmd('query-status')['running'] is False


@pytest.mark.parametrize('raw,has_id', [
    (b'{"execute": }\n', False),                         # JSON syntax error
    (b'[1, 2]\n', False),                                # not an object
    (b'{"execute": "query-status", "bogus": 1, "id": 7}\n', True),
    (b'{"execute": "query-status", "arguments": [], "id": 7}\n', True),
    (b'{"id": 7}\n', True),                              # no execute
])
@needs_kvm
def test_malformed_input(qmp, raw, has_id):
    qmp.send_raw(raw)
    resp = qmp.recv_message(timeout=10)
    assert resp['error']['class'] == 'GenericError', resp
    assert ('id' in resp) == has_id and resp.get('id', 7) == 7
    assert qmp.cmd('query-status')['running'] is False


@needs_kvm
def test_single_quotes_and_any_id(qmp):
    qmp.send_raw(b"{'execute': 'query-status', 'id': {'any': ['json', 1]}}\r\n")
    assert qmp.recv_message(timeout=10) == {'return': qmp.cmd('query-status'),
                                            'id': {'any': ['json', 1]}}


@needs_kvm
def test_quit(vmm, qmp):
    assert qmp.cmd('quit') == {}
    ev = qmp.wait_event('SHUTDOWN', timeout=10)
    assert ev.data.get('guest') is False
    with pytest.raises(QMPConnectionError):
        qmp.cmd('query-status', timeout=10)
    assert vmm.procs[0].wait(10) == 0


@needs_kvm
def test_vmm_connects_to_listening_client(vmm):
    """QEMUMachine style: the test listens, the VMM connects."""
    with QMPClient(timeout=10) as c:
        c.listen(vmm.sock)
        vmm.start('-chardev', 'socket,id=mon,path=%s' % vmm.sock,
                  '-mon', 'chardev=mon,mode=control')
        c.accept(timeout=10)
        assert c.cmd('query-status')['running'] is False


@needs_kvm
def test_socketpair_fd(vmm):
    """QEMUMachine's other style: one end of a socketpair passed as fd=N."""
    ours, theirs = socket.socketpair()
    vmm.start('-chardev', 'socket,id=mon,fd=%d' % theirs.fileno(),
              '-mon', 'chardev=mon,mode=control', pass_fds=[theirs.fileno()])
    theirs.close()
    with QMPClient(ours, timeout=10) as c:
        assert c.cmd('query-status')['running'] is False


@needs_kvm
def test_tcp(vmm):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    vmm.start('-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off' % port)
    with QMPClient(('127.0.0.1', port), wait=10, timeout=10) as c:
        assert c.cmd('query-status')['running'] is False


@needs_kvm
def test_pretty_monitor(vmm):
    vmm.start('-chardev', 'socket,id=mon,path=%s,server=on,wait=off' % vmm.sock,
              '-mon', 'chardev=mon,mode=control,pretty=on')
    with vmm.connect() as c:
        assert c.cmd('query-status')['running'] is False
        c.cmd('cont')
        c.wait_event('RESUME', timeout=10)


def shell(args, text, timeout=30):
    return subprocess.run([SHELL] + args, input=text, capture_output=True, text=True,
                          timeout=timeout)


@needs_kvm
def test_shell_piped(vmm):
    sock = vmm.start_server()
    r = shell([sock], 'query-status\nbogus\nhuman-monitor-command command-line="info status"\n'
              'cont\n')
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0]['return']['running'] is False
    assert lines[1]['error']['class'] == 'CommandNotFound'
    assert lines[2]['return'].startswith('VM status: paused')
    assert lines[3]['return'] == {}
    assert re.search(r'^Connected to QEMU \d+\.\d+\.\d+', r.stderr, re.M), r.stderr


@needs_kvm
def test_shell_hmp_pretty_verbose(vmm):
    sock = vmm.start_server()
    r = shell(['-H', sock], 'info status\n')
    assert r.returncode == 0 and r.stdout.startswith('VM status: paused'), r
    r = shell(['-p', '-v', sock], '{"execute": "query-status", "id": "raw"}\n')
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout[r.stdout.index('}\n') + 2:])
    assert out['id'] == 'raw' and out['return']['running'] is False
    assert '\n    "return": {\n' in r.stdout
    r = shell(['-N', sock], 'query-status\nqmp_capabilities\nquery-status\n')
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert out[0]['error']['class'] == 'CommandNotFound'
    assert out[2]['return']['running'] is False


@needs_kvm
def test_shell_quit_and_after(vmm):
    sock = vmm.start_server()
    r = shell([sock], 'quit\n')
    assert r.returncode == 0
    assert json.loads(r.stdout.splitlines()[0])['return'] == {}
    assert vmm.procs[0].wait(10) == 0
    assert shell([sock], 'query-status\n').returncode == 1


@needs_kvm
def test_shell_interactive(vmm):
    """On a terminal: banner, prompt, tab completion from query-commands."""
    import pty
    import select
    sock = vmm.start_server()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(SHELL, [SHELL, sock])

    def read_until(text, timeout=10):
        out, end = b'', time.monotonic() + timeout
        while text not in out.decode(errors='replace') and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return out.decode(errors='replace')
    try:
        assert '(QEMU) ' in read_until('(QEMU) ')
        os.write(fd, b'query-versio\t\n')
        assert '"micro"' in read_until('(QEMU) ')
        os.write(fd, b'\x04')
        read_until('\n')
        _, status = os.waitpid(pid, 0)
        pid = None
        assert status == 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
