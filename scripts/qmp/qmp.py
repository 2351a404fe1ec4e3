# SPDX-License-Identifier: GPL-2.0-or-later
"""Synchronous QMP (QEMU Machine Protocol) client, standard library only.

Written from the QMP specification (docs/interop/qmp-spec.rst): the server
greets with {"QMP": {"version": ..., "capabilities": [...]}}, the client
negotiates with qmp_capabilities, then sends {"execute"|"exec-oob": NAME,
"arguments": {...}, "id": ID} and receives {"return": ...} or {"error":
{"class", "desc"}} carrying the same id, interleaved with {"event": ...}
messages. Every server message is one JSON object ended by CRLF (or spread
over several lines when the monitor runs with pretty=on).

    from qmp import QMPClient
    with QMPClient('/tmp/qmp.sock') as qmp:
        print(qmp.cmd('query-status'))

Every blocking call takes a timeout (default: the client's ``timeout``);
nothing waits forever.
"""
import collections
import json
import os
import select
import socket
import time

__all__ = ['QMPClient', 'QMPEvent', 'QMPException', 'QMPError',
           'QMPConnectionError', 'QMPProtocolError', 'QMPTimeoutError',
           'MAX_MESSAGE']

MAX_MESSAGE = 16 * 1024 * 1024      # longest message we accept, in bytes
ID_PREFIX = '__tandem#'


class QMPException(Exception):
    """Base class of everything this module raises."""


class QMPError(QMPException):
    """The server answered a command with {"error": ...}."""

    def __init__(self, response):
        err = response.get('error') or {}
        self.response = response
        self.error_class = err.get('class')
        self.desc = err.get('desc')
        super().__init__('%s: %s' % (self.error_class, self.desc))


class QMPConnectionError(QMPException, ConnectionError):
    """Not connected, connection refused, or the server closed it (EOF)."""


class QMPProtocolError(QMPException):
    """The server sent something that is not valid QMP."""


class QMPTimeoutError(QMPException, TimeoutError):
    """A bounded wait ran out."""


class QMPEvent(dict):
    """One event message; still the raw dict, plus attribute access."""

    @property
    def name(self):
        return self.get('event')

    @property
    def data(self):
        return self.get('data', {})

    @property
    def timestamp(self):
        """Seconds since the epoch as a float (None if the server gave -1)."""
        ts = self.get('timestamp') or {}
        sec, usec = ts.get('seconds', -1), ts.get('microseconds', -1)
        if sec < 0:
            return None
        return sec + usec / 1e6


def _subset(want, have):
    """True if every key of dict 'want' is in 'have' with a matching value
    (dicts compared recursively, anything else with ==)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and _subset(v, have[k]) for k, v in want.items())
    return want == have


class QMPClient:
    """One QMP session. Not thread-safe: use it from one thread at a time.

    address: a UNIX socket path (str/bytes/PathLike), a (host, port) tuple,
    a connected socket.socket, or an int fd of a connected stream socket.
    With an address the constructor connects (see connect()); without one,
    call connect() or listen() + accept() later."""

    def __init__(self, address=None, *, timeout=30.0, negotiate=True,
                 oob=True, wait=0.0):
        self.timeout = timeout
        self.greeting = None
        self.oob_enabled = False
        self._sock = None
        self._listener = None
        self._listen_path = None
        self._buf = bytearray()   # grows in place: += on bytes copies it all
        self._next_id = 0
        self._events = collections.deque()
        self._unmatched = collections.deque()   # responses nobody waits for
        if address is not None:
            self.connect(address, negotiate=negotiate, oob=oob, wait=wait)

    # --- connection set-up -------------------------------------------------

    def connect(self, address, *, negotiate=True, oob=True, wait=0.0,
                timeout=None):
        """Connects, reads the greeting and (unless negotiate=False)
        negotiates. wait: keep retrying for this many seconds while the
        socket does not exist yet or refuses (the VMM is still starting)."""
        if isinstance(address, socket.socket):
            sock = address
        elif isinstance(address, int):
            sock = socket.socket(fileno=address)
        else:
            sock = self._dial(address, wait)
        self._attach(sock)
        return self._start(negotiate, oob, timeout)

    def _dial(self, address, wait):
        deadline = time.monotonic() + wait
        while True:
            try:
                if isinstance(address, tuple):
                    return socket.create_connection(address, self._timeout(None))
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(os.fspath(address))
                except BaseException:
                    sock.close()
                    raise
                return sock
            except (FileNotFoundError, ConnectionRefusedError) as e:
                if time.monotonic() >= deadline:
                    raise QMPConnectionError('cannot connect to %r: %s' % (address, e)) from e
                time.sleep(0.05)
            except OSError as e:
                raise QMPConnectionError('cannot connect to %r: %s' % (address, e)) from e

    def listen(self, path):
        """Server mode, step 1: create a listening UNIX socket at 'path'
        (the VMM connects to it, e.g. -chardev socket,id=mon,path=PATH
        -mon chardev=mon,mode=control). Then start the VMM and accept()."""
        path = os.fspath(path)
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            lst.bind(path)
            lst.listen(1)
        except OSError:
            lst.close()
            raise
        self._listener, self._listen_path = lst, path

    def accept(self, timeout=None, *, negotiate=True, oob=True):
        """Server mode, step 2: accept one connection (bounded by timeout),
        then read the greeting and negotiate. Closes the listening socket."""
        if self._listener is None:
            raise QMPConnectionError('accept() without listen()')
        self._listener.settimeout(self._timeout(timeout))
        try:
            sock, _ = self._listener.accept()
        except socket.timeout as e:
            raise QMPTimeoutError('nobody connected to %s' % self._listen_path) from e
        finally:
            self._close_listener()
        self._attach(sock)
        return self._start(negotiate, oob, timeout)

    def _attach(self, sock):
        if self._sock is not None:
            self._sock.close()
        sock.setblocking(False)
        self._sock, self._buf = sock, bytearray()

    def _start(self, negotiate, oob, timeout):
        msg = self._read_message(self._deadline(timeout))
        qmp = msg.get('QMP')
        if (not isinstance(qmp, dict) or not isinstance(qmp.get('version'), dict)
                or not isinstance(qmp.get('capabilities'), list)):
            self.close()
            raise QMPProtocolError('bad greeting: %r' % (msg,))
        self.greeting = msg
        if negotiate:
            self.negotiate(oob=oob, timeout=timeout)
        return msg

    def negotiate(self, oob=True, timeout=None):
        """Sends qmp_capabilities, enabling oob iff offered and wanted."""
        args = {}
        if oob and 'oob' in self.capabilities:
            args['enable'] = ['oob']
        self.cmd('qmp_capabilities', args, timeout=timeout)
        self.oob_enabled = 'enable' in args

    @property
    def capabilities(self):
        return self.greeting['QMP']['capabilities'] if self.greeting else []

    @property
    def version(self):
        """The greeting's version object (same shape as query-version)."""
        return self.greeting['QMP']['version'] if self.greeting else None

    @property
    def connected(self):
        return self._sock is not None

    def close(self):
        """Closes the session (and a listening socket); safe to repeat."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
        self._close_listener()

    def _close_listener(self):
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            try:
                os.unlink(self._listen_path)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fileno(self):
        return self._sock.fileno() if self._sock else -1

    # --- commands ----------------------------------------------------------

    def send_command(self, name, args=None, *, oob=False, fds=()):
        """Sends one command without waiting; returns its id. fds: file
        descriptors passed along (SCM_RIGHTS, UNIX sockets only), e.g. for
        getfd/add-fd."""
        self._next_id += 1
        cid = '%s%d' % (ID_PREFIX, self._next_id)
        msg = {'exec-oob' if oob else 'execute': name, 'id': cid}
        if args:
            msg['arguments'] = args
        self.send_raw(json.dumps(msg, separators=(',', ':')).encode() + b'\r\n', fds=fds)
        return cid

    def get_response(self, cid, timeout=None):
        """Waits for the response carrying id 'cid'; queues events and
        keeps responses to other ids for later."""
        deadline = self._deadline(timeout)
        for i, msg in enumerate(self._unmatched):
            if msg.get('id') == cid:
                del self._unmatched[i]
                return msg
        while True:
            msg = self._read_message(deadline)
            if 'event' in msg:
                self._events.append(QMPEvent(msg))
            elif msg.get('id') == cid:
                return msg
            else:
                self._unmatched.append(msg)

    def cmd_raw(self, name, args=None, timeout=None, *, oob=False, fds=()):
        """Runs one command; returns the whole response dict."""
        deadline = self._deadline(timeout)
        cid = self.send_command(name, args, oob=oob, fds=fds)
        return self.get_response(cid, deadline - time.monotonic())

    def cmd(self, name, args=None, timeout=None, *, oob=False, fds=(), **kwargs):
        """Runs one command; returns its "return" value or raises QMPError.
        Arguments come from 'args' and/or keyword arguments."""
        if kwargs:
            args = dict(args or {}, **kwargs)
        resp = self.cmd_raw(name, args, timeout, oob=oob, fds=fds)
        if 'error' in resp:
            raise QMPError(resp)
        if 'return' not in resp:
            raise QMPProtocolError('response has neither return nor error: %r' % (resp,))
        return resp['return']

    def exec_oob(self, name, args=None, timeout=None):
        """Runs a command out-of-band (exec-oob); returns like cmd()."""
        return self.cmd(name, args, timeout, oob=True)

    def hmp(self, command_line, cpu_index=None, timeout=None):
        """Runs a human-monitor command; returns its output text."""
        args = {'command-line': command_line}
        if cpu_index is not None:
            args['cpu-index'] = cpu_index
        return self.cmd('human-monitor-command', args, timeout)

    # --- events ------------------------------------------------------------

    def get_event(self, name=None, timeout=None):
        """Returns the first queued or arriving event (named 'name' if
        given), or None when the timeout runs out (timeout=0 only polls).
        Events skipped because of 'name' stay queued."""
        return self._find_event(lambda ev: name is None or ev.name == name, timeout)

    def wait_event(self, name, match=None, timeout=None):
        """Like get_event(name) but 'match' must be a subset of the event's
        data (recursively), and a timeout raises QMPTimeoutError."""
        ev = self._find_event(lambda e: e.name == name and _subset(match or {}, e.data),
                              timeout)
        if ev is None:
            raise QMPTimeoutError('no %s event%s' % (name, ' matching %r' % match if match else ''))
        return ev

    def events(self):
        """Drains and returns all events queued or readable right now."""
        try:
            self._pump(0)
        except QMPConnectionError:
            if not self._events:
                raise
        out = list(self._events)
        self._events.clear()
        return out

    def clear_events(self):
        self._events.clear()

    def _find_event(self, pred, timeout):
        deadline = self._deadline(timeout)
        while True:
            for i, ev in enumerate(self._events):
                if pred(ev):
                    del self._events[i]
                    return ev
            if not self._pump(deadline - time.monotonic(), one=True):
                return None

    def _pump(self, timeout, one=False):
        """Reads messages that arrive within 'timeout' seconds, routing them
        to the event queue or the unmatched responses. Returns whether it
        read anything. timeout=0 reads only what is already buffered or
        readable without waiting."""
        deadline = time.monotonic() + max(0.0, timeout)
        got = False
        while True:
            try:
                msg = self._read_message(deadline, poll=(timeout <= 0))
            except QMPTimeoutError:
                return got
            if msg is None:
                return got
            got = True
            if 'event' in msg:
                self._events.append(QMPEvent(msg))
            else:
                self._unmatched.append(msg)
            if one:
                return got

    # --- wire --------------------------------------------------------------

    def send_raw(self, data, fds=()):
        """Sends bytes (or str) as they are: for malformed-input tests."""
        if self._sock is None:
            raise QMPConnectionError('not connected')
        if isinstance(data, str):
            data = data.encode()
        try:
            self._sock.settimeout(self._timeout(None))
            if fds:
                sent = socket.send_fds(self._sock, [data], list(fds))
                data = data[sent:]
            self._sock.sendall(data)
        except socket.timeout as e:
            raise QMPTimeoutError('send timed out') from e
        except OSError as e:
            self.close()
            raise QMPConnectionError('send failed: %s' % e) from e
        finally:
            if self._sock is not None:
                self._sock.setblocking(False)

    def recv_message(self, timeout=None, skip_events=True):
        """Returns the next message that is not routed elsewhere: first any
        response nobody claimed (e.g. an id-less parse error), else the next
        one read from the wire. Events are queued unless skip_events=False,
        in which case they are returned too. Raises QMPTimeoutError."""
        if self._unmatched:
            return self._unmatched.popleft()
        deadline = self._deadline(timeout)
        while True:
            msg = self._read_message(deadline)
            if skip_events and 'event' in msg:
                self._events.append(QMPEvent(msg))
                continue
            return QMPEvent(msg) if 'event' in msg else msg

    def _read_message(self, deadline, poll=False):
        """Reads one JSON object. Normally one line; with pretty=on output
        an object spans lines, so lines are joined until they parse."""
        start = 0
        while True:
            nl = self._buf.find(b'\n', start)
            if nl >= 0:
                text = self._buf[:nl + 1]
                try:
                    text = text.decode('utf-8')
                except UnicodeDecodeError as e:
                    self._buf = self._buf[nl + 1:]
                    raise QMPProtocolError('server sent invalid UTF-8') from e
                if not text.strip():
                    self._buf = self._buf[nl + 1:]
                    start = 0
                    continue
                try:
                    msg = json.loads(text)
                except json.JSONDecodeError as e:
                    if e.pos >= len(text.rstrip()):     # incomplete: read more
                        start = nl + 1
                        continue
                    self._buf = self._buf[nl + 1:]
                    raise QMPProtocolError('server sent bad JSON: %s: %r' % (e, text[:200])) from e
                self._buf = self._buf[nl + 1:]
                if not isinstance(msg, dict):
                    raise QMPProtocolError('server sent a non-object: %r' % (msg,))
                return msg
            if len(self._buf) > MAX_MESSAGE:
                self.close()
                raise QMPProtocolError('message longer than %d bytes' % MAX_MESSAGE)
            start = len(self._buf)
            if not self._fill(deadline, poll):
                return None

    def _fill(self, deadline, poll):
        """Appends what the socket has to the buffer. Returns False if
        polling and nothing is available; raises on timeout and EOF."""
        if self._sock is None:
            raise QMPConnectionError('not connected')
        while True:
            wait = 0 if poll else deadline - time.monotonic()
            if wait < 0:
                raise QMPTimeoutError('timed out waiting for the server')
            r, _, _ = select.select([self._sock], [], [], wait)
            if not r:
                if poll:
                    return False
                continue
            try:
                data = self._sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                self.close()
                raise QMPConnectionError('receive failed: %s' % e) from e
            if not data:
                self.close()
                raise QMPConnectionError('connection closed by the server')
            self._buf += data
            return True

    # --- helpers -----------------------------------------------------------

    def _timeout(self, timeout):
        return self.timeout if timeout is None else timeout

    def _deadline(self, timeout):
        return time.monotonic() + self._timeout(timeout)
