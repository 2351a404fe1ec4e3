# SPDX-License-Identifier: GPL-2.0-or-later
"""Monitors from the command line: -nographic's mon:stdio mux (Ctrl-A c to
the monitor, Ctrl-A x to quit), -monitor and -mon on sockets, -qmp-pretty,
-object, and their errors."""
import json
import os
import socket
import subprocess
import time

from tandem import GUEST, TANDEM, Vm, needs_kvm, run


def _read_until(sock, needle, timeout=10.0):
    sock.settimeout(0.2)
    data = b''
    deadline = time.monotonic() + timeout
    while needle.encode() not in data:
        assert time.monotonic() < deadline, 'no %r in %r' % (needle, data[-500:])
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        assert chunk, 'connection closed; got %r' % data[-500:]
        data += chunk
    return data.decode('utf-8', 'replace')


def _connect(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            assert time.monotonic() < deadline, 'cannot connect to %s' % path
            time.sleep(0.05)


@needs_kvm
def test_nographic_mux_switches_to_monitor_and_quits():
    p = subprocess.Popen([TANDEM, '-accel', 'kvm', '-nographic', '-kernel', GUEST,
                          '-append', 'workload=count'], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        # Ctrl-A c: the HMP monitor gets the keyboard; Ctrl-A x quits.
        p.stdin.write(b'\x01cinfo status\r\x01cignored\x01x')
        p.stdin.flush()
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    text = out.decode('utf-8', 'replace')
    assert p.returncode == 0, err
    assert 'TG count=1 ' in text
    assert 'QEMU 7.2.0 monitor' in text and '(qemu) ' in text
    assert 'VM status: running' in text
    assert 'Tandem: terminated' in text


@needs_kvm
def test_monitor_on_unix_socket(tmp_path):
    sock_path = str(tmp_path / 'hmp.sock')
    with Vm(tmp_path, ['-monitor', 'unix:%s,server=on,wait=off' % sock_path,
                       '-kernel', GUEST, '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')
        s = _connect(sock_path)
        _read_until(s, '(qemu) ')
        s.sendall(b'info status\r\n')
        assert 'VM status: running' in _read_until(s, 'running')
        s.sendall(b'stop\r\ninfo status\r\n')
        _read_until(s, 'VM status: paused')
        s.sendall(b'cont\r\nquit\r\n')
        assert vm.wait_exit(20) == 0
        s.close()


@needs_kvm
def test_mon_pretty_qmp(tmp_path):
    sock_path = str(tmp_path / 'qmp.sock')
    with Vm(tmp_path, ['-chardev', 'socket,id=m0,path=%s,server=on,wait=off' % sock_path,
                       '-mon', 'chardev=m0,mode=control,pretty=on',
                       '-kernel', GUEST, '-append', 'workload=idle']) as vm:
        s = _connect(sock_path)
        greeting = _read_until(s, 'capabilities')
        assert '\n' in greeting.strip('\r\n'), 'pretty output spans lines'
        s.close()
        vm.kill()


@needs_kvm
def test_object_iothread_and_errors(tmp_path):
    with Vm(tmp_path, ['-object', 'iothread,id=io0,poll-max-ns=32768',
                       '-object', '{"qom-type": "iothread", "id": "io1"}',
                       '-kernel', GUEST, '-append', 'workload=count']) as vm:
        vm.wait_for(r'^TG count=1 ')
        task = '/proc/%d/task' % vm.proc.pid
        names = {open(os.path.join(task, t, 'comm')).read().strip() for t in os.listdir(task)}
        assert {'IO io0', 'IO io1'} <= names, names
    bad = [
        (['-object', 'nosuch,id=x'], 'invalid object type: nosuch'),
        (['-object', 'iothread'], "Parameter 'id' is missing"),
        (['-object', 'iothread,id=x,bogus=1'], "Property 'iothread.bogus' not found"),
        (['-object', 'iothread,id=x,poll-max-ns=abc'], "expects an integer"),
        (['-object', 'iothread,id=1x'], "Parameter 'id' expects an identifier"),
        (['-mon', 'chardev=nope'], 'chardev "nope" not found'),
        (['-mon', 'chardev=x,mode=bogus'], 'chardev "x" not found'),
        (['-qmp', 'bogus:thing'], "'bogus:thing' is not a valid char driver name"),
    ]
    for args, message in bad:
        p = run(['-kernel', GUEST, '-display', 'none'] + args)
        assert p.returncode == 1, (args, p.stderr)
        assert message in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr


@needs_kvm
def test_qmp_stdio_monitor():
    """-qmp stdio, as the COLO guide's command lines use it."""
    p = subprocess.run([TANDEM, '-accel', 'kvm', '-display', 'none', '-nodefaults',
                        '-S', '-kernel', GUEST, '-qmp', 'stdio'],
                       input=b'{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n'
                             b'{"execute":"quit"}\n',
                       capture_output=True, timeout=20)
    lines = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert 'QMP' in lines[0]
    assert {'return': {'running': False, 'singlestep': False,
                       'status': 'prelaunch'}} in lines
    assert p.returncode == 0
