#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""COLO for a pair of libvirt domains, through `virsh qemu-monitor-command`.

Each domain's XML carries its half of QEMU's COLO recipe in
<qemu:commandline> (the secondary also its -incoming); docs/colo.md, "COLO
under libvirt", has both. This script runs the QMP half on the domains by
name, one line per step:

  protect PRIMARY SECONDARY --uri tcp:HOST:PORT [--delay MS]
          [--secondary-connect URI]
      x-colo on both, x-checkpoint-delay on the primary, migrate to the
      secondary's -incoming URI; then waits until both report status
      colo in query-migrate (or says why the migration failed).
  failover primary|secondary DOMAIN
      the survivor's runbook, as scripts/colo-failover.py runs it.
  reprotect DOMAIN --host HOST [--ports M,C1,C0,CO] [--rewriter ID]
            [--vnet-hdr-support]
      the survivor's primary chardevs and objects, as colo-failover.py.
  status DOMAIN...
      each domain's query-colo-status and query-migrate status.

--netdev names the netdev the filters attach to: hostnet0, libvirt's id for
a domain's first <interface>, unless told otherwise. --connect is virsh's
-c URI. A step that fails stops the script with the step named (exit
status 1); virsh's own failures (no such domain, domain not running, no
daemon) are reported with virsh's message.

usage: scripts/colo-libvirt.py [--connect URI] [--virsh PATH]
           [--netdev ID] [--timeout S] COMMAND ...
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'qmp'))
from qmp import QMPConnectionError, QMPError, QMPException, \
    QMPProtocolError  # noqa: E402


def _load_runbook():
    """scripts/colo-failover.py, whose steps this script runs too."""
    spec = importlib.util.spec_from_file_location(
        'colo_failover', os.path.join(HERE, 'colo-failover.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


runbook = _load_runbook()


class VirshMonitor:
    """QMP of one domain, each command a `virsh qemu-monitor-command`.
    cmd() answers as QMPClient.cmd() does: the return value, or QMPError
    for an error reply; a virsh that fails raises QMPConnectionError with
    its message."""

    def __init__(self, domain, connect=None, virsh='virsh', timeout=30.0):
        self.domain = domain
        self.base = [virsh] + (['-c', connect] if connect else [])
        self.timeout = timeout

    def cmd(self, name, args=None):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        argv = self.base + ['qemu-monitor-command', self.domain,
                            json.dumps(msg)]
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=self.timeout, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise QMPConnectionError('%s not found (libvirt-clients)' %
                                     self.base[0])
        except subprocess.TimeoutExpired:
            raise QMPConnectionError('virsh gave no answer for %s within '
                                     '%g s' % (self.domain, self.timeout))
        if p.returncode != 0:
            why = p.stderr.strip() or 'exit status %d' % p.returncode
            raise QMPConnectionError('%s: %s' % (self.domain, why))
        try:
            resp = json.loads(p.stdout)
        except ValueError:
            raise QMPProtocolError('%s: virsh printed no QMP reply: %r' %
                                   (self.domain, p.stdout[:200]))
        if not isinstance(resp, dict):
            raise QMPProtocolError('%s: not a QMP reply: %r' %
                                   (self.domain, resp))
        if 'error' in resp:
            raise QMPError(resp)
        if 'return' not in resp:
            raise QMPProtocolError('%s: reply has neither return nor '
                                   'error: %r' % (self.domain, resp))
        return resp['return']

    def close(self):
        pass


def colo_on(mon, who):
    runbook.step(mon, '%s: x-colo on' % who, 'migrate-set-capabilities',
                 {'capabilities': [{'capability': 'x-colo', 'state': True}]})


def protect(pri, sec, uri, delay, timeout):
    colo_on(sec, 'secondary')
    colo_on(pri, 'primary')
    runbook.step(pri, 'primary: x-checkpoint-delay %d' % delay,
                 'migrate-set-parameters', {'x-checkpoint-delay': delay})
    runbook.step(pri, 'primary: migrate %s' % uri, 'migrate', {'uri': uri})
    deadline = time.monotonic() + timeout
    last = None
    while True:
        p = pri.cmd('query-migrate')
        s = sec.cmd('query-migrate')
        now = (p.get('status'), s.get('status'))
        if now != last:
            print('%-40s primary %s, secondary %s' %
                  ('query-migrate', now[0], now[1]), flush=True)
            last = now
        if now == ('colo', 'colo'):
            return
        if now[0] in ('failed', 'cancelled', 'completed'):
            raise runbook.StepFailed('migrate: the primary ended in %s: %s' %
                                     (now[0], p.get('error-desc', '')))
        if time.monotonic() >= deadline:
            raise runbook.StepFailed('no COLO within %g s (primary %s, '
                                     'secondary %s)' % (timeout, now[0],
                                                        now[1]))
        time.sleep(0.2)


def status(mons):
    for mon in mons:
        colo = mon.cmd('query-colo-status')
        mig = mon.cmd('query-migrate')
        print('%s: colo mode %s, last %s (%s); migration %s' %
              (mon.domain, colo.get('mode'), colo.get('last-mode'),
               colo.get('reason'), mig.get('status', 'none')), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description='COLO for a pair of libvirt domains, over virsh '
                    'qemu-monitor-command.')
    ap.add_argument('--connect', '-c', help="virsh's connection URI")
    ap.add_argument('--virsh', default='virsh', help='the virsh to run')
    ap.add_argument('--netdev', default='hostnet0',
                    help="the filters' netdev (default: libvirt's first, "
                    'hostnet0)')
    ap.add_argument('--timeout', type=float, default=30.0,
                    help='seconds for each virsh, and for protect to reach '
                    'colo (default 30)')
    sub = ap.add_subparsers(dest='command', required=True)
    p = sub.add_parser('protect', help='start COLO from primary to secondary')
    p.add_argument('primary')
    p.add_argument('secondary')
    p.add_argument('--uri', required=True,
                   help="the secondary's -incoming address, as the primary "
                   'reaches it (tcp:HOST:PORT)')
    p.add_argument('--delay', type=int, default=100,
                   help='x-checkpoint-delay in ms (default 100)')
    p.add_argument('--secondary-connect', metavar='URI',
                   help="the secondary's libvirt, when it is another host's "
                   '(qemu+ssh://hostB/system; default: --connect)')
    p = sub.add_parser('failover', help="the survivor's failover runbook")
    p.add_argument('role', choices=['primary', 'secondary'],
                   help='the side that survived')
    p.add_argument('domain')
    p = sub.add_parser('reprotect', help='make the survivor a primary again')
    p.add_argument('domain')
    runbook.add_reprotect_options(p, host_required=True)
    p = sub.add_parser('status', help='COLO and migration status')
    p.add_argument('domains', nargs='+')
    a = ap.parse_args(argv)

    def mon(domain, connect=a.connect):
        return VirshMonitor(domain, connect, a.virsh, a.timeout)

    try:
        if a.command == 'protect':
            protect(mon(a.primary),
                    mon(a.secondary, a.secondary_connect or a.connect),
                    a.uri, a.delay, a.timeout)
        elif a.command == 'failover' and a.role == 'primary':
            runbook.primary(mon(a.domain), runbook.PRIMARY_OBJECTS)
        elif a.command == 'failover':
            runbook.secondary(mon(a.domain), runbook.SECONDARY_OBJECTS,
                              runbook.SECONDARY_CHARDEVS, True)
        elif a.command == 'reprotect':
            ports = runbook.parse_ports(a.ports)
            if not ports:
                ap.error('--ports wants four port numbers: %s' % a.ports)
            runbook.reprotect(mon(a.domain), a.host, ports, a.rewriter,
                              a.netdev, a.vnet_hdr_support)
        else:
            status([mon(d) for d in a.domains])
    except runbook.StepFailed as e:
        print('colo-libvirt: stopped at %s' % e, file=sys.stderr)
        return 1
    except QMPException as e:
        print('colo-libvirt: %s' % e, file=sys.stderr)
        return 1
    print('colo-libvirt: %s done' % a.command, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
