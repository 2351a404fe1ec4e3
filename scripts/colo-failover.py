#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QEMU's COLO failover runbooks, run over QMP, step by step.

The steps are those of QEMU's documented recipe (docs/colo.md, "Failover
and re-protection with the network: the runbook"), with its object and
chardev ids unless told otherwise:

  primary    the secondary died: object-del comp0, iothread1, m0, redire0,
             redire1; then x-colo-lost-heartbeat.
  secondary  the primary died: nbd-server-stop (if an NBD server runs),
             x-colo-lost-heartbeat, object-del f2, f1, chardev-remove red1,
             red0, then announce-self so the switches learn the new place.
  reprotect  the survivor becomes a primary again: chardev-add of the
             primary's set (mirror0, compare1, compare0, compare0-0,
             compare_out, compare_out0 on HOST and the recipe's ports
             9003, 9004, 9001, 9005 or --ports), object-add filter-mirror
             m0, filter-redirector redire0 and redire1 (before the
             rewriter the survivor kept, --rewriter, when it was the
             secondary), iothread iothread1 and colo-compare comp0. Then
             start a new secondary and migrate with x-colo (printed).
             The new filters and comp0 get vnet_hdr_support=on when the
             kept rewriter has it (qom-get) or with --vnet-hdr-support:
             a tap whose frames carry virtio-net headers (libvirt opens
             its taps so) needs it on every filter of the pair.

Each step prints one line: what was sent and what came back. A step whose
object is already gone ("not found") counts as done, so the script can be
run again after a partial run. x-colo-lost-heartbeat on a VM whose COLO
run already ended ("COLO is not active") is reported, not fatal: the
takeover happened, or there was nothing to take over. Any other error
stops the script with its step named, exit status 1; the steps before it
stay done.

usage: scripts/colo-failover.py {primary,secondary} QMP-SOCKET
           [--objects ID,...] [--chardevs ID,...] [--no-announce]
           [--timeout S]
       scripts/colo-failover.py reprotect QMP-SOCKET --host HOST
           [--ports MIRROR,COMPARE1,COMPARE0,COMPARE_OUT] [--rewriter ID]
           [--netdev ID] [--vnet-hdr-support]

scripts/colo-libvirt.py runs the same steps on libvirt domains.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'qmp'))
from qmp import QMPClient, QMPError, QMPException  # noqa: E402

PRIMARY_OBJECTS = ['comp0', 'iothread1', 'm0', 'redire0', 'redire1']
SECONDARY_OBJECTS = ['f2', 'f1']
SECONDARY_CHARDEVS = ['red1', 'red0']
# QEMU's announce-* migration parameter defaults.
ANNOUNCE = {'initial': 50, 'max': 550, 'rounds': 5, 'step': 100}


class StepFailed(Exception):
    pass


def step(qmp, what, cmd, args=None, tolerate=()):
    """Runs one command; returns 'ok', or the tolerated error's text."""
    try:
        qmp.cmd(cmd, args)
        print('%-40s ok' % what, flush=True)
        return 'ok'
    except QMPError as e:
        desc = e.desc or str(e)
        for needle in tolerate:
            if needle in desc:
                print('%-40s %s (taken as done)' % (what, desc), flush=True)
                return desc
        print('%-40s FAILED: %s' % (what, desc), flush=True)
        raise StepFailed('%s: %s' % (what, desc))


def lost_heartbeat(qmp):
    step(qmp, 'x-colo-lost-heartbeat', 'x-colo-lost-heartbeat',
         tolerate=('COLO is not active',))


def primary(qmp, objects):
    for obj in objects:
        step(qmp, 'object-del %s' % obj, 'object-del', {'id': obj},
             tolerate=('not found',))
    lost_heartbeat(qmp)


def secondary(qmp, objects, chardevs, announce):
    step(qmp, 'nbd-server-stop', 'nbd-server-stop',
         tolerate=('not running', 'NBD server not running'))
    lost_heartbeat(qmp)
    for obj in objects:
        step(qmp, 'object-del %s' % obj, 'object-del', {'id': obj},
             tolerate=('not found',))
    for chardev in chardevs:
        step(qmp, 'chardev-remove %s' % chardev, 'chardev-remove',
             {'id': chardev}, tolerate=('not found',))
    if announce:
        step(qmp, 'announce-self', 'announce-self', ANNOUNCE)


def socket_backend(host, port, server):
    data = {'addr': {'type': 'inet', 'data': {'host': host,
                                              'port': str(port)}},
            'server': server}
    if server:
        data['wait'] = False
    return {'type': 'socket', 'data': data}


def parse_ports(text):
    """Four port numbers 'M,C1,C0,CO', or None."""
    try:
        ports = [int(p) for p in text.split(',')]
    except ValueError:
        return None
    if len(ports) != 4 or not all(0 < p < 65536 for p in ports):
        return None
    return ports


def rewriter_vnet_hdr_support(qmp, rewriter):
    """Whether the kept rewriter frames its stream with vnet headers: the
    filters that join it must agree."""
    try:
        return bool(qmp.cmd('qom-get', {'path': '/objects/' + rewriter,
                                        'property': 'vnet_hdr_support'}))
    except QMPError as e:
        raise StepFailed('qom-get %s vnet_hdr_support: %s'
                         % (rewriter, e.desc or e))


def reprotect(qmp, host, ports, rewriter, netdev='hn0', vnet_hdr=False):
    mirror, compare1, compare0, compare_out = ports
    if rewriter and not vnet_hdr:
        vnet_hdr = rewriter_vnet_hdr_support(qmp, rewriter)
    framing = {'vnet_hdr_support': True} if vnet_hdr else {}
    for cid, port, server, on in (
            ('mirror0', mirror, True, host),
            ('compare1', compare1, True, host),
            ('compare0', compare0, True, '127.0.0.1'),
            ('compare0-0', compare0, False, '127.0.0.1'),
            ('compare_out', compare_out, True, '127.0.0.1'),
            ('compare_out0', compare_out, False, '127.0.0.1')):
        step(qmp, 'chardev-add %s' % cid, 'chardev-add',
             {'id': cid, 'backend': socket_backend(on, port, server)})
    where = {'insert': 'before', 'position': 'id=' + rewriter} \
        if rewriter else {}
    for what, args in (
            ('filter-mirror m0', {'qom-type': 'filter-mirror', 'id': 'm0',
                                  'netdev': netdev, 'queue': 'tx',
                                  'outdev': 'mirror0'}),
            ('filter-redirector redire0',
             {'qom-type': 'filter-redirector', 'id': 'redire0',
              'netdev': netdev, 'queue': 'rx', 'indev': 'compare_out'}),
            ('filter-redirector redire1',
             {'qom-type': 'filter-redirector', 'id': 'redire1',
              'netdev': netdev, 'queue': 'rx', 'outdev': 'compare0'})):
        step(qmp, 'object-add ' + what, 'object-add',
             dict(args, **where, **framing))
    step(qmp, 'object-add iothread iothread1', 'object-add',
         {'qom-type': 'iothread', 'id': 'iothread1'})
    step(qmp, 'object-add colo-compare comp0', 'object-add',
         {'qom-type': 'colo-compare', 'id': 'comp0',
          'primary_in': 'compare0-0', 'secondary_in': 'compare1',
          'outdev': 'compare_out0', 'iothread': 'iothread1', **framing})
    print('next: start a new secondary (docs/colo.md), then here: '
          'migrate-set-capabilities x-colo on both sides and migrate',
          flush=True)


def add_reprotect_options(p, prefix='', host_required=False):
    """reprotect's options, here and in colo-libvirt.py."""
    p.add_argument('--host', required=host_required,
                   help=prefix + 'the address the new secondary connects '
                   "to (the recipe's 0.0.0.0)")
    p.add_argument('--ports', default='9003,9004,9001,9005',
                   help=prefix + "mirror0, compare1, compare0 and "
                   "compare_out's ports (default: the recipe's)")
    p.add_argument('--rewriter', help=prefix + 'the filter-rewriter this '
                   'survivor kept as a secondary: insert before it')
    p.add_argument('--vnet-hdr-support', action='store_true',
                   help=prefix + 'the tap carries virtio-net headers: '
                   'vnet_hdr_support=on on the new filters (default: as '
                   'the --rewriter has it, else off)')


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run QEMU's COLO failover runbook on one side over QMP.")
    ap.add_argument('role', choices=['primary', 'secondary', 'reprotect'],
                    help='the side that survived, or reprotect it')
    ap.add_argument('qmp', help="the survivor's QMP UNIX socket")
    ap.add_argument('--objects', help='object ids to delete, in order '
                    '(default: the recipe\'s for the role)')
    ap.add_argument('--chardevs', help='secondary: chardev ids to remove, '
                    'in order (default: red1,red0)')
    ap.add_argument('--no-announce', action='store_true',
                    help='secondary: skip announce-self')
    add_reprotect_options(ap, 'reprotect: ')
    ap.add_argument('--netdev', default='hn0',
                    help="reprotect: the filters' netdev (default: the "
                    "recipe's hn0)")
    ap.add_argument('--timeout', type=float, default=30.0,
                    help='seconds to wait for each reply (default 30)')
    a = ap.parse_args(argv)
    ports = None
    if a.role == 'reprotect':
        if not a.host:
            ap.error('reprotect needs --host')
        ports = parse_ports(a.ports)
        if not ports:
            ap.error('--ports wants four port numbers: %s' % a.ports)

    def ids(text, default):
        return [i for i in text.split(',') if i] if text is not None \
            else default

    try:
        qmp = QMPClient(a.qmp, timeout=a.timeout)
    except (OSError, QMPException) as e:
        print('colo-failover: cannot reach QMP at %s: %s' % (a.qmp, e),
              file=sys.stderr)
        return 1
    try:
        if a.role == 'primary':
            primary(qmp, ids(a.objects, PRIMARY_OBJECTS))
        elif a.role == 'reprotect':
            reprotect(qmp, a.host, ports, a.rewriter, a.netdev,
                      a.vnet_hdr_support)
        else:
            secondary(qmp, ids(a.objects, SECONDARY_OBJECTS),
                      ids(a.chardevs, SECONDARY_CHARDEVS),
                      not a.no_announce)
    except StepFailed as e:
        print('colo-failover: stopped at %s' % e, file=sys.stderr)
        return 1
    except QMPException as e:
        print('colo-failover: QMP failed: %s' % e, file=sys.stderr)
        return 1
    finally:
        qmp.close()
    print('colo-failover: %s done' % a.role, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
