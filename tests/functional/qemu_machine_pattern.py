# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for QEMU's Python tooling (`qemu.machine.QEMUMachine`,
`QEMUQtestMachine` and the `qemu.qmp` legacy client they use), written by us
from its documented behaviour, so a test can drive a VMM exactly the way CI
systems do. QEMU's package is not installed here (PyPI is not reachable);
what matters is what it does on the wire and to the process, reproduced
here step by step:

Launch (`launch()`): the command line is
    BINARY -display none -vga none
           -chardev socket,id=mon,fd=N -mon chardev=mon,mode=control
           [-machine M] [-serial null]...
           [-chardev socket,id=console,path=P,server=on,wait=off
            -serial chardev:console]
           [-qtest unix:path=Q -accel qtest]      (QEMUQtestMachine)
           USER ARGS
with no -nodefaults. N is one end of a socketpair (the default), or with
monitor_address=PATH the test listens on PATH and the VMM connects to it as
a client (`path=` without server=on). The qtest socket is likewise the
test's listener: the VMM connects to it. stdin is /dev/null; stdout and
stderr go to one log file, read back into get_log() after shutdown. Once
the process runs, the QMP connection is accepted and negotiated, then the
qtest connection is accepted. A failed launch raises VMLaunchFailure with
the exit code and the log.

QMP (qemu.qmp): the greeting must be an object with `QMP.version` an
object and `QMP.capabilities` an array; negotiation sends
`{"execute": "qmp_capabilities", "arguments": {...}}` WITHOUT an id, with
`"enable": ["oob"]` only if the greeting offered oob, and needs a `return`.
Commands carry ids `__qmp#NNNNN`; a reply with an unknown id is dropped;
an `error` without an id ends the session (the server could not parse us).
Events are queued with their timestamps.

File descriptors: add_fd() adds `-add-fd fd=N,set=S,opaque=O` for an fd
the VMM inherits; send_fd_scm() sends one space byte carrying the fd in
SCM_RIGHTS on the QMP socket, for the next getfd/add-fd to take.

Shutdown (`shutdown()`): close the console socket; unless a quit was
already issued, send `quit`; close QMP; wait up to `timeout` for the
process to exit. Any failure there falls back to SIGKILL and raises
AbnormalShutdown. A process that died of a signal is logged as a warning
(`qemu received signal N`) unless the user asked for the kill.
"""
import json
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

LOG = logging.getLogger('qemu_machine_pattern')


class QEMUMachineError(Exception):
    pass


class VMLaunchFailure(QEMUMachineError):
    def __init__(self, exitcode, command, output):
        super().__init__(exitcode, command, output)
        self.exitcode, self.command, self.output = exitcode, command, output


class AbnormalShutdown(QEMUMachineError):
    pass


class QMPProtocolError(Exception):
    """The server broke QMP's rules (bad greeting, id-less error, EOF)."""


class ExecuteError(Exception):
    def __init__(self, response):
        super().__init__(response['error'].get('desc'))
        self.error_class = response['error'].get('class')
        self.desc = response['error'].get('desc')


# --- qemu.qmp's legacy synchronous client ---------------------------------

class QEMUMonitorProtocol:
    """One QMP session. With sock= it talks over an existing socket (the
    socketpair end); with address= and server=True it listens before the
    VMM starts and accept() takes the VMM's connection."""

    MAX_MESSAGE = 10 << 20   # qemu.qmp's read limit per message

    def __init__(self, address=None, sock=None, server=False, timeout=30.0):
        self._timeout = timeout
        self._listener = None
        self._sock = sock
        self._buf = b''
        self._events = []
        self._next_id = 0
        self.greeting = None
        self.sent = []          # every message we sent, for the tests to inspect
        if address is not None and server:
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(address)
            self._listener.listen(1)

    def accept(self, timeout):
        if self._listener is not None:
            self._listener.settimeout(timeout)
            self._sock, _ = self._listener.accept()
            self._listener.close()
            self._listener = None
        self._sock.settimeout(timeout)
        self._negotiate()

    # -- wire

    def _send(self, msg):
        self.sent.append(msg)
        self._sock.sendall(json.dumps(msg).encode() + b'\n')

    def _read(self, timeout):
        """Next message from the server (an object), or raise."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b'\n' not in self._buf:
            if len(self._buf) > self.MAX_MESSAGE:
                raise QMPProtocolError('message longer than 10 MiB')
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError('no QMP message within %.1fs' % timeout)
                self._sock.settimeout(left)
            else:
                self._sock.settimeout(None)
            data = self._sock.recv(65536)
            if not data:
                raise EOFError('QMP connection closed by the server')
            self._buf += data
        line, self._buf = self._buf.split(b'\n', 1)
        if not line.strip():
            return self._read(timeout)
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise QMPProtocolError('QMP message is not an object: %r' % line)
        return msg

    def _negotiate(self):
        g = self._read(self._timeout)
        qmp = g.get('QMP')
        if not (isinstance(qmp, dict) and isinstance(qmp.get('version'), dict)
                and isinstance(qmp.get('capabilities'), list)):
            raise QMPProtocolError('bad greeting: %r' % g)
        self.greeting = g
        args = {}
        if 'oob' in qmp['capabilities']:
            args['enable'] = ['oob']
        self._send({'execute': 'qmp_capabilities', 'arguments': args})
        reply = self._reply(None, self._timeout)
        if 'return' not in reply:
            raise QMPProtocolError('negotiation failed: %r' % reply)

    def _reply(self, cid, timeout):
        """Reads until the answer carrying id cid (None: the id-less one)."""
        while True:
            msg = self._read(timeout)
            if 'event' in msg:
                self._events.append(msg)
                continue
            if msg.get('id') == cid and ('return' in msg or 'error' in msg):
                return msg
            if 'id' not in msg and 'error' in msg:
                raise QMPProtocolError('server could not parse a command: %r' % msg)
            # an answer to nobody we know: dropped, as qemu.qmp does

    # -- API

    def cmd_obj(self, msg):
        if 'id' not in msg:
            msg = dict(msg, id='__qmp#%05d' % self._next_id)
            self._next_id += 1
        self._send(msg)
        return self._reply(msg['id'], self._timeout)

    def cmd(self, name, args=None):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        return self.cmd_obj(msg)

    def command(self, name, **args):
        r = self.cmd(name, args)
        if 'error' in r:
            raise ExecuteError(r)
        return r['return']

    def pull_event(self, wait=False):
        """One event: None if none is queued and wait is false; wait=True
        waits for ever, a number that many seconds (TimeoutError after)."""
        if not self._events and wait:
            msg = self._read(None if wait is True else float(wait))
            while 'event' not in msg:      # an answer nobody waits for
                msg = self._read(None if wait is True else float(wait))
            self._events.append(msg)
        return self._events.pop(0) if self._events else None

    def get_events(self, wait=False):
        if not self._events and wait:
            self.pull_event(wait)
            ev, self._events = self._events, []
            return ev
        ev, self._events = self._events, []
        return ev

    def send_fd_scm(self, fd):
        """qemu.qmp's way: one space byte carrying the fd (SCM_RIGHTS);
        the next command (getfd, add-fd) takes it."""
        self._sock.sendmsg([b' '], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                     struct.pack('@i', fd))])

    def settimeout(self, timeout):
        self._timeout = timeout

    def close(self):
        for s in (self._sock, self._listener):
            if s is not None:
                s.close()
        self._sock = self._listener = None


# --- qemu.machine --------------------------------------------------------

class QEMUMachine:
    def __init__(self, binary, args=(), name=None, base_temp_dir='/tmp',
                 monitor_address=None, qmp_timer=30.0):
        self._binary = binary
        self._args = list(args)
        self._name = name or 'vm%x' % id(self)
        self._base_temp_dir = base_temp_dir
        self._temp_dir = None
        self._monitor_address = monitor_address
        self._qmp_timer = qmp_timer
        self._machine = None
        self._qmp_set = True
        self._console_set = False
        self._console_index = 0
        self._console_device_type = None
        self._console_socket = None
        self._sock_pair = None
        self._qmp_connection = None
        self._popen = None
        self._log_path = None
        self._log_file = None
        self._iolog = None
        self._events = []
        self._full_args = ()
        self._launched = False
        self._quit_issued = False
        self._user_killed = False
        self.warnings = []      # what QEMUMachine would LOG.warning

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    # -- configuration

    @property
    def temp_dir(self):
        if self._temp_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix='qm-', dir=self._base_temp_dir)
        return self._temp_dir

    @property
    def _console_address(self):
        return os.path.join(self.temp_dir, self._name + '.con')

    def add_args(self, *args):
        self._args.extend(args)

    def add_fd(self, fd, fdset, opaque, opts=''):
        """-add-fd for an fd the VMM inherits (QEMUMachine launches with
        close_fds=False and makes the fd inheritable)."""
        os.set_inheritable(fd, True)
        self._args += ['-add-fd', ','.join(['fd=%d' % fd, 'set=%d' % fdset,
                                            'opaque=%s' % opaque] + ([opts] if opts else []))]
        return self

    def send_fd_scm(self, fd=None, file_path=None):
        if file_path is not None:
            with open(file_path, 'rb') as f:
                self._qmp.send_fd_scm(f.fileno())
        else:
            self._qmp.send_fd_scm(fd)
        return 0

    def set_qmp_monitor(self, enabled=True):
        self._qmp_set = enabled

    def set_machine(self, machine):
        self._machine = machine

    def set_console(self, device_type=None, console_index=0):
        self._console_set = True
        self._console_device_type = device_type
        self._console_index = console_index

    @property
    def _base_args(self):
        args = ['-display', 'none', '-vga', 'none']
        if self._qmp_set:
            if self._sock_pair:
                moncdev = 'socket,id=mon,fd=%d' % self._sock_pair[0].fileno()
            else:
                moncdev = 'socket,id=mon,path=%s' % self._monitor_address
            args += ['-chardev', moncdev, '-mon', 'chardev=mon,mode=control']
        if self._machine is not None:
            args += ['-machine', self._machine]
        for _ in range(self._console_index):
            args += ['-serial', 'null']
        if self._console_set:
            args += ['-chardev', 'socket,id=console,path=%s,server=on,wait=off'
                     % self._console_address]
            if self._console_device_type is None:
                args += ['-serial', 'chardev:console']
            else:
                args += ['-device', '%s,chardev=console' % self._console_device_type]
        return args

    @property
    def full_args(self):
        return self._full_args

    # -- launch

    def _pre_launch(self):
        if self._qmp_set:
            sock = None
            if self._monitor_address is None:
                self._sock_pair = socket.socketpair()
                os.set_inheritable(self._sock_pair[0].fileno(), True)
                sock = self._sock_pair[1]
            self._qmp_connection = QEMUMonitorProtocol(
                address=self._monitor_address, sock=sock, server=True,
                timeout=self._qmp_timer)
        self._log_path = os.path.join(self.temp_dir, self._name + '.log')
        self._log_file = open(self._log_path, 'wb')
        self._iolog = None
        self._full_args = tuple([self._binary] + self._base_args + self._args)

    def _post_launch(self):
        if self._sock_pair:
            self._sock_pair[0].close()
        if self._qmp_connection:
            self._qmp_connection.accept(self._qmp_timer)

    def launch(self):
        if self._launched:
            raise QEMUMachineError('VM already launched')
        try:
            self._pre_launch()
            self._popen = subprocess.Popen(self._full_args, stdin=subprocess.DEVNULL,
                                           stdout=self._log_file,
                                           stderr=subprocess.STDOUT, close_fds=False)
            self._launched = True
            self._post_launch()
        except BaseException as exc:
            if self._launched:
                self.wait()
            else:
                self._post_shutdown()
            if isinstance(exc, Exception):
                raise VMLaunchFailure(self.exitcode(), ' '.join(self._full_args),
                                      self._iolog) from exc
            raise

    # -- process

    def exitcode(self):
        return None if self._popen is None else self._popen.poll()

    def is_running(self):
        return self._popen is not None and self._popen.poll() is None

    def get_pid(self):
        return self._popen.pid if self.is_running() else None

    def get_log(self):
        return self._iolog

    @property
    def console_socket(self):
        if self._console_socket is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self._console_address)
            self._console_socket = s
        return self._console_socket

    # -- QMP

    @property
    def _qmp(self):
        if self._qmp_connection is None:
            raise QEMUMachineError('Attempt to access QMP with no connection')
        return self._qmp_connection

    def qmp(self, cmd, args_dict=None, **args):
        if args_dict is None:
            args_dict = {k.replace('_', '-'): v for k, v in args.items()}
        r = self._qmp.cmd(cmd, args_dict)
        if cmd == 'quit' and 'return' in r:
            self._quit_issued = True
        return r

    def cmd(self, cmd, **args):
        r = self._qmp.command(cmd, **{k.replace('_', '-'): v for k, v in args.items()})
        if cmd == 'quit':
            self._quit_issued = True
        return r

    command = cmd

    def hmp(self, command_line):
        return self.cmd('human-monitor-command', command_line=command_line)

    def get_qmp_event(self, wait=False):
        if self._events:
            return self._events.pop(0)
        return self._qmp.pull_event(wait=wait)

    def get_qmp_events(self, wait=False):
        ev = self._qmp.get_events(wait=wait) + self._events
        self._events = []
        return ev

    @staticmethod
    def event_match(event, match):
        if match is None:
            return True
        try:
            return all(k in event and QEMUMachine.event_match(event[k], match[k])
                       for k in match)
        except TypeError:
            return match == event

    def event_wait(self, name, timeout=60.0, match=None):
        for ev in self._events:
            if ev['event'] == name and self.event_match(ev, match):
                self._events.remove(ev)
                return ev
        while True:
            ev = self._qmp.pull_event(wait=timeout)
            if ev is None:
                return None
            if ev['event'] == name and self.event_match(ev, match):
                return ev
            self._events.append(ev)

    # -- shutdown

    def _close_qmp_connection(self):
        if self._qmp_connection is not None:
            self._qmp_connection.close()
            self._qmp_connection = None

    def _early_cleanup(self):
        # An open console nobody reads could block the VMM's exit.
        if self._console_socket is not None:
            self._console_socket.close()
            self._console_socket = None

    def _hard_shutdown(self):
        self._early_cleanup()
        self._popen.kill()
        self._popen.wait(timeout=60)

    def _soft_shutdown(self, timeout):
        self._early_cleanup()
        if self._qmp_connection:
            try:
                if not self._quit_issued:
                    self.qmp('quit')
            finally:
                self._close_qmp_connection()
        elif not self._quit_issued:
            self._popen.terminate()
        self._popen.wait(timeout=timeout)

    def _post_shutdown(self):
        self._close_qmp_connection()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._log_path is not None:
            with open(self._log_path, 'r', errors='replace') as f:
                self._iolog = f.read()
            self._log_path = None
        code = self.exitcode()
        if (code is not None and code < 0
                and not (self._user_killed and code == -signal.SIGKILL)):
            self.warnings.append('qemu received signal %d; command: "%s"'
                                 % (-code, ' '.join(self._full_args)))
            LOG.warning(self.warnings[-1])
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        self._quit_issued = self._user_killed = self._launched = False

    def shutdown(self, hard=False, timeout=30):
        if not self._launched:
            return
        try:
            if hard:
                self._user_killed = True
                self._hard_shutdown()
            else:
                try:
                    self._soft_shutdown(timeout)
                except Exception as exc:
                    self._hard_shutdown()
                    raise AbnormalShutdown('Could not perform graceful shutdown') from exc
        finally:
            self._post_shutdown()

    def kill(self):
        self.shutdown(hard=True)

    def wait(self, timeout=30):
        self._quit_issued = True
        self.shutdown(timeout=timeout)


# --- qemu.machine.qtest --------------------------------------------------

class QEMUQtestProtocol:
    def __init__(self, path):
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(1)
        self._sock = None
        self._file = None

    def accept(self, timeout=30.0):
        self._listener.settimeout(timeout)
        self._sock, _ = self._listener.accept()
        self._listener.close()
        self._sock.settimeout(timeout)
        self._file = self._sock.makefile('r')

    def cmd(self, line):
        self._sock.sendall((line + '\n').encode())
        return self._file.readline()

    def close(self):
        for s in (self._file, self._sock, self._listener):
            if s is not None:
                s.close()


class QEMUQtestMachine(QEMUMachine):
    # accel: QEMUQtestMachine always passes `-accel qtest`. Debian's QEMU
    # is built without the qtest accelerator (`invalid accelerator qtest`);
    # -qtest works with any accelerator, so the QEMU side of a comparison
    # runs the same pattern with accel='tcg'.
    def __init__(self, binary, args=(), name=None, base_temp_dir='/tmp', qmp_timer=30.0,
                 accel='qtest'):
        super().__init__(binary, args, name=name, base_temp_dir=base_temp_dir,
                         qmp_timer=qmp_timer)
        self._qtest = None
        self._accel = accel

    @property
    def _qtest_path(self):
        return os.path.join(self.temp_dir, self._name + '-qtest.sock')

    @property
    def _base_args(self):
        return super()._base_args + ['-qtest', 'unix:path=%s' % self._qtest_path,
                                     '-accel', self._accel]

    def _pre_launch(self):
        super()._pre_launch()
        self._qtest = QEMUQtestProtocol(self._qtest_path)

    def _post_launch(self):
        super()._post_launch()
        self._qtest.accept(self._qmp_timer)

    def _post_shutdown(self):
        super()._post_shutdown()
        if self._qtest is not None:
            self._qtest.close()
            self._qtest = None

    def qtest(self, line):
        if self._qtest is None:
            raise RuntimeError('qtest socket not available')
        return self._qtest.cmd(line)
