# SPDX-License-Identifier: GPL-2.0-or-later
"""qmp-shell: a small interactive QMP/HMP shell built on qmp.QMPClient.

    qmp-shell [-H] [-p] [-v] [-N] [-t SECONDS] SOCKET|HOST:PORT

QMP mode (prompt "(QEMU) "): a line is either raw JSON (starts with "{"),
sent as it is, or "command key=value ...". A value is JSON when it parses
as JSON (42, true, null, "quoted", {...}, [...]), else a plain string;
'single quotes' also give a string. A dotted key builds nested objects:
"a.b=1 a.c=2" gives {"a": {"b": 1, "c": 2}}. Spaces inside {}, [] or quotes
do not split arguments.

HMP mode (-H, prompt "(HMP) "): every line is run with
human-monitor-command and its text is printed.

Events are printed as they arrive. With stdin not a terminal the shell
reads commands line by line, prints no prompt, writes the banner to stderr
(stdout only carries replies and events) and exits 0 at end of input; it exits 1 if it cannot connect or if a command
is entered after the connection was lost.
"""
import argparse
import json
import os
import sys
import threading

from qmp import QMPClient, QMPConnectionError, QMPError, QMPException


class ParseError(ValueError):
    pass


def split_args(text):
    """Splits on whitespace outside quotes, braces and brackets."""
    out, cur, depth, quote, esc = [], '', 0, None, False
    for ch in text:
        if quote:
            cur += ch
            if esc:
                esc = False
            elif ch == '\\':
                esc = True
            elif ch == quote:
                quote = None
            continue
        if ch in '"\'':
            quote = ch
        elif ch in '{[':
            depth += 1
        elif ch in '}]':
            depth -= 1
        elif ch.isspace() and depth <= 0:
            if cur:
                out.append(cur)
            cur = ''
            continue
        cur += ch
    if quote or depth > 0:
        raise ParseError('unbalanced quotes or brackets')
    if cur:
        out.append(cur)
    return out


def parse_value(text):
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_command(line):
    """'cmd a=1 b.c=x' -> ('cmd', {'a': 1, 'b': {'c': 'x'}})."""
    words = split_args(line)
    if not words:
        raise ParseError('empty command')
    name, args = words[0], {}
    for word in words[1:]:
        key, eq, value = word.partition('=')
        if not eq or not key:
            raise ParseError('expected key=value, got %r' % word)
        *parents, leaf = key.split('.')
        node = args
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ParseError('%r is both a value and an object' % part)
        if leaf in node:
            raise ParseError('%r given twice' % key)
        node[leaf] = parse_value(value)
    return name, args


def parse_address(text):
    """HOST:PORT (port numeric, no such file) -> tuple; else a socket path."""
    host, sep, port = text.rpartition(':')
    if sep and port.isdigit() and not os.path.exists(text):
        return (host.strip('[]') or 'localhost', int(port))
    return text


class Shell:
    def __init__(self, client, hmp=False, pretty=False, verbose=False, out=sys.stdout):
        self.client = client
        self.hmp_mode = hmp
        self.pretty = pretty
        self.verbose = verbose
        self.out = out
        self.lock = threading.Lock()     # the client is not thread-safe
        self.words = []
        self.prompt = '(HMP) ' if hmp else '(QEMU) '
        self.interactive = False

    def show(self, obj):
        if self.pretty:
            text = json.dumps(obj, indent=4)
        else:
            text = json.dumps(obj)
        self.write(text + '\n')

    def write(self, text):
        self.out.write(text)
        self.out.flush()

    def load_completions(self):
        try:
            if self.hmp_mode:
                words = set()
                for line in self.client.hmp('help').splitlines():
                    if line.strip():
                        words.update(line.split()[0].split('|'))
                for line in self.client.hmp('info').splitlines():
                    parts = line.split()
                    if len(parts) > 1 and parts[0] == 'info':
                        words.add('info ' + parts[1])
                self.words = sorted(words)
            else:
                self.words = sorted(c['name'] for c in self.client.cmd('query-commands'))
        except QMPException:
            self.words = []

    def complete(self, text, state):
        import readline
        before = readline.get_line_buffer()[:readline.get_begidx()].lstrip()
        if before and not self.hmp_mode:     # QMP: only command names
            return None
        matches = [w[len(before):] for w in self.words if w.startswith(before + text)]
        return (matches + [None])[state]

    def flush_events(self):
        """Prints queued events; returns False once the connection is gone."""
        with self.lock:
            if not self.client.connected:
                return False
            try:
                events = self.client.events()
            except QMPConnectionError:
                events = None
        for ev in events or []:
            self.show(dict(ev))
        if events is None:
            sys.stderr.write('qmp-shell: connection closed by the server\n')
            return False
        return True

    def run_line(self, line):
        """Runs one input line and prints its reply and any events."""
        line = line.strip()
        if not line or line.startswith('#'):
            return True
        with self.lock:
            try:
                if self.hmp_mode:
                    if self.verbose:
                        self.show({'execute': 'human-monitor-command',
                                   'arguments': {'command-line': line}})
                    self.write(self.client.hmp(line))
                elif line.startswith('{'):
                    msg = json.loads(line)
                    if self.verbose:
                        self.show(msg)
                    self.client.send_raw(json.dumps(msg).encode() + b'\n')
                    self.show(self.client.recv_message())
                else:
                    name, args = parse_command(line)
                    if self.verbose:
                        self.show(dict({'execute': name}, **({'arguments': args} if args else {})))
                    self.show(self.client.cmd_raw(name, args))
            except (ParseError, ValueError) as e:
                sys.stderr.write('qmp-shell: %s\n' % e)
            except QMPError as e:
                sys.stderr.write('qmp-shell: %s\n' % e)
            except QMPConnectionError as e:
                sys.stderr.write('qmp-shell: %s\n' % e)
                return
            except QMPException as e:
                sys.stderr.write('qmp-shell: %s\n' % e)
        self.flush_events()

    def banner(self, out):
        v = self.client.version or {}
        q = v.get('qemu', {})
        out.write('Welcome to the QMP low-level shell!\n'
                  'Connected to QEMU %s.%s.%s%s\n' % (
                       q.get('major', '?'), q.get('minor', '?'), q.get('micro', '?'),
                      ' (%s)' % v['package'] if v.get('package') else ''))
        out.flush()

    def loop_interactive(self):
        import readline
        readline.set_completer(self.complete)
        readline.set_completer_delims(' \t')
        readline.parse_and_bind('tab: complete')
        self.interactive = True
        stop = threading.Event()

        def watch():                   # print events while at the prompt
            while not stop.wait(0.2):
                with self.lock:
                    try:
                        evs = self.client.events() if self.client.connected else []
                    except QMPException:
                        evs = []
                for ev in evs:
                    text = json.dumps(dict(ev), indent=4 if self.pretty else None)
                    self.write('\r\x1b[K%s\n%s%s' % (text, self.prompt,
                                                      readline.get_line_buffer()))
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        try:
            while True:
                try:
                    line = input(self.prompt)
                except EOFError:
                    self.write('\n')
                    return 0
                except KeyboardInterrupt:
                    self.write('\n')
                    continue
                if not self.client.connected and line.strip():
                    sys.stderr.write('qmp-shell: not connected\n')
                    return 1
                self.run_line(line)
        finally:
            stop.set()
            t.join(1)

    def loop_batch(self, stream):
        for line in stream:
            if not self.client.connected and line.strip() and not line.lstrip().startswith('#'):
                sys.stderr.write('qmp-shell: not connected\n')
                return 1
            self.run_line(line)
        self.flush_events()
        return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog='qmp-shell', description='Interactive QMP/HMP shell.')
    ap.add_argument('-H', '--hmp', action='store_true', help='HMP mode: lines are monitor commands')
    ap.add_argument('-p', '--pretty', action='store_true', help='pretty-print JSON')
    ap.add_argument('-v', '--verbose', action='store_true', help='echo the JSON sent')
    ap.add_argument('-N', '--skip-negotiation', action='store_true',
                    help='do not send qmp_capabilities')
    ap.add_argument('-t', '--timeout', type=float, default=60.0,
                    help='seconds to wait for each reply (default 60)')
    ap.add_argument('address', help='UNIX socket path or HOST:PORT')
    opts = ap.parse_args(argv)

    client = QMPClient(timeout=opts.timeout)
    try:
        client.connect(parse_address(opts.address), negotiate=not opts.skip_negotiation)
    except QMPException as e:
        sys.stderr.write('qmp-shell: %s\n' % e)
        return 1
    with client:
        shell = Shell(client, hmp=opts.hmp, pretty=opts.pretty, verbose=opts.verbose)
        interactive = sys.stdin.isatty()
        if interactive:
            shell.banner(sys.stdout)
            if not opts.skip_negotiation:
                shell.load_completions()
            return shell.loop_interactive()
        shell.banner(sys.stderr)          # keep stdout for replies
        return shell.loop_batch(sys.stdin)
