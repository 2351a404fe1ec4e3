# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt manages Tandem: Debian 12's libvirtd (9.0) probes the binary
(`virsh domcapabilities --emulatorbin`), and on a KVM host defines, starts,
pauses, resumes, queries and destroys a domain whose <emulator> is Tandem,
and migrates one live from one private daemon to a second.

The daemon is private: it runs as root in its own mount namespace, where
/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and
/var/log/libvirt are bind mounts of directories under the test's tmp dir
(a privileged libvirtd takes these paths from its build, so a mount
namespace is the one way to give it others). virsh reaches it through the
socket's outside path, qemu+unix:///system?socket=TMP/run/libvirt-sock.
The system's own libvirt, if any, is never touched, and the daemon and any
VM it started are killed when the module ends. The second daemon, for
migration, is another such one under its own tmp dir, with its own host
UUID.

libvirt counts an emulator as able to run `kvm` domains only when its
probe found KVM usable, and as able to run `qemu` ones only when it has
TCG, which Tandem does not: so on a host without /dev/kvm only the probe
can run, and everything from `virsh define` on needs KVM."""
import glob
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from tandem import (GUEST, TANDEM, count_lines, free_ports,
                    kvm_unusable_reason, needs_kvm)

LIBVIRTD = shutil.which('libvirtd') or '/usr/sbin/libvirtd'
VIRSH = shutil.which('virsh')

pytestmark = pytest.mark.skipif(
    not os.path.exists(LIBVIRTD) or not VIRSH,
    reason='libvirt is not installed (libvirt-daemon-driver-qemu, '
           'libvirt-clients: scripts/install-deps.sh installs them)')

DIRS = {'etc': '/etc/libvirt', 'run': '/run/libvirt', 'lib': '/var/lib/libvirt',
        'cache': '/var/cache/libvirt', 'log': '/var/log/libvirt'}

LIBVIRTD_CONF = '''\
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
log_filters = "1:qemu.qemu_monitor 1:qemu.qemu_capabilities 1:qemu.qemu_process 3:*"
log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
'''

# As root, without the host's security drivers, cgroups or per-VM mount
# namespaces, none of which a test needs; the VM's stdout/stderr go to a
# plain file (no virtlogd).
QEMU_CONF = '''\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
'''


class Libvirtd:
    """One private daemon. host_uuid, when given, replaces the host's own
    (SMBIOS) UUID: two daemons that share one refuse a migration between
    them ("Attempt to migrate guest to the same host UUID"). A host
    without SMBIOS data gets a random one per daemon, but one with it
    gives both the same."""
    def __init__(self, root, host_uuid=None):
        self.root = str(root)
        self.path = {k: os.path.join(self.root, k) for k in DIRS}
        for d in self.path.values():
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.path['etc'], 'libvirtd.conf'), 'w') as f:
            f.write(LIBVIRTD_CONF)
            if host_uuid:
                f.write('host_uuid = "%s"\n' % host_uuid)
        with open(os.path.join(self.path['etc'], 'qemu.conf'), 'w') as f:
            f.write(QEMU_CONF)
        self.socket = os.path.join(self.path['run'], 'libvirt-sock')
        self.uri = 'qemu+unix:///system?socket=' + self.socket
        self.log = os.path.join(self.path['log'], 'libvirtd.log')
        self.proc = None

    def start(self):
        script = ['set -e']
        for k, target in DIRS.items():
            script += ['mkdir -p %s' % target,
                       'mount --bind "%s" %s' % (self.path[k], target)]
        script += ['exec "%s" -p /run/libvirt/libvirtd.pid' % LIBVIRTD]
        self.out = open(os.path.join(self.root, 'libvirtd.out'), 'wb')
        # unshare and sh exec in place: self.proc is libvirtd itself.
        self.proc = subprocess.Popen(
            ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
             '\n'.join(script)],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.out)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, 'libvirtd exited: ' + self.output()
            if os.path.exists(self.socket) and \
                    self.virsh('uri', check=False).returncode == 0:
                return self
            assert time.monotonic() < deadline, \
                'libvirtd did not listen within 30 s: ' + self.output()
            time.sleep(0.2)

    def output(self):
        with open(os.path.join(self.root, 'libvirtd.out'), 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
        if os.path.exists(self.log):
            with open(self.log, 'rb') as f:
                text += '\n--- libvirtd.log (tail) ---\n' + \
                    f.read()[-6000:].decode('utf-8', 'replace')
        return text

    def virsh(self, *args, check=True, timeout=60):
        p = subprocess.run([VIRSH, '-c', self.uri, *args], capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert p.returncode == 0, 'virsh %s: %s%s' % (
                ' '.join(args), p.stderr, self.output())
        return p

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            for name in self.virsh('list', '--name', '--all',
                                   check=False).stdout.split():
                self.virsh('destroy', name, check=False)
                self.virsh('undefine', name, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # A VM libvirt started, or a probe it left when it died, outlives
        # the daemon: kill any left by the pid files libvirt gave them.
        pidfiles = glob.glob(os.path.join(self.path['run'], 'qemu', '*.pid'))
        pidfiles += glob.glob(os.path.join(self.path['lib'], 'qemu', 'qmp-*',
                                           'qmp.pid'))
        for pidfile in pidfiles:
            try:
                with open(pidfile) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self.out.close()


@pytest.fixture(scope='module')
def libvirtd(tmp_path_factory):
    # libvirt's QEMU driver refuses to start without its build's default
    # user, which libvirt-daemon-system would create.
    p = subprocess.run(['getent', 'passwd', 'libvirt-qemu'], capture_output=True)
    assert p.returncode == 0, \
        'user libvirt-qemu is missing: run scripts/install-deps.sh'
    d = Libvirtd(tmp_path_factory.mktemp('libvirt'))
    try:
        yield d.start()
    finally:
        d.stop()


@pytest.fixture(scope='module')
def libvirtd_peer(libvirtd, tmp_path_factory):
    """A second private daemon beside `libvirtd`, as another host would
    be: its own directories, socket and host UUID."""
    d = Libvirtd(tmp_path_factory.mktemp('libvirt-peer'), str(uuid.uuid4()))
    try:
        yield d.start()
    finally:
        d.stop()


def probe_cache(d):
    """libvirt's record of its probe: one XML file per emulator."""
    cdir = os.path.join(d.path['cache'], 'qemu', 'capabilities')
    for name in os.listdir(cdir):
        root = ET.parse(os.path.join(cdir, name)).getroot()
        if root.findtext('emulator') == TANDEM:
            return root
    raise AssertionError('no capability cache for %s in %s' % (TANDEM, cdir))


def test_capability_probe(libvirtd):
    """The probe runs to its end (libvirt 9.0 crashed on a DeviceNotFound
    for memory-backend-file or none-machine), and records Tandem as QEMU
    7.2 with its one machine; libvirt's answer then depends on KVM."""
    p = libvirtd.virsh('domcapabilities', '--emulatorbin', TANDEM,
                       '--arch', 'x86_64', '--machine', 'pc',
                       '--virttype', 'kvm', check=False)
    assert libvirtd.alive(), 'libvirtd died probing Tandem: ' + libvirtd.output()
    caps = probe_cache(libvirtd)
    assert caps.findtext('version') == '7002000'
    machines = {m.get('name'): m for m in caps.findall('machine')}
    assert 'pc-i440fx-7.2' in machines, ET.tostring(caps).decode()
    pc = machines['pc-i440fx-7.2']
    assert pc.get('alias') == 'pc' and pc.get('defaultRAMid') == 'pc.ram'
    assert pc.get('maxCpus') == '255'
    if kvm_unusable_reason():
        # The probe ran as TCG would: libvirt has no KVM machines for it.
        assert p.returncode != 0
        assert "the machine 'pc' is not supported" in p.stderr, p.stderr
        assert pc.get('type') == 'tcg'
    else:
        assert p.returncode == 0, p.stderr + libvirtd.output()
        dom = ET.fromstring(p.stdout)
        assert dom.findtext('domain') == 'kvm'
        assert dom.findtext('machine') == 'pc-i440fx-7.2'
        assert dom.findtext('path') == TANDEM
        assert pc.get('type') == 'kvm'

    # Tandem has no TCG, and libvirt knows it from the QOM types. libvirt
    # checks the machine for the virt type first: with KVM the probe's
    # machines are KVM's, so 'pc' is not a TCG machine; without KVM they
    # were recorded as TCG's and the virt type itself is refused.
    p = libvirtd.virsh('domcapabilities', '--emulatorbin', TANDEM,
                       '--arch', 'x86_64', '--machine', 'pc',
                       '--virttype', 'qemu', check=False)
    assert p.returncode != 0
    if kvm_unusable_reason():
        assert "does not support virt type 'qemu'" in p.stderr, p.stderr
    else:
        assert "the machine 'pc' is not supported" in p.stderr, p.stderr


def domain_xml(tmp_path, name, with_disk=True, qemu_args=()):
    """A Tandem domain running the built-in guest's count workload; extra
    arguments go through <qemu:commandline>."""
    disk = tmp_path / (name + '.img')
    disk_xml = '''
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='%s'/>
      <target dev='vda' bus='virtio'/>
    </disk>''' % disk if with_disk else ''
    if with_disk and not disk.exists():
        with open(disk, 'wb') as f:
            f.truncate(64 << 20)
    extra = ''.join("\n    <qemu:arg value='%s'/>" % a for a in qemu_args)
    if extra:
        extra = '\n  <qemu:commandline>%s\n  </qemu:commandline>' % extra
    return '''<domain type='kvm'
        xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>%(name)s</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>%(guest)s</kernel>
    <cmdline>workload=count</cmdline>
  </os>
  <devices>
    <emulator>%(tandem)s</emulator>%(disk)s
    <interface type='ethernet'>
      <model type='virtio'/>
      <!-- userspace virtio-net: Tandem has no vhost-net -->
      <driver name='qemu'/>
    </interface>
    <serial type='file'>
      <source path='%(serial)s'/>
      <target port='0'/>
    </serial>
    <!-- Tandem's pc has no USB: without this libvirt passes -usb. -->
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>%(extra)s
</domain>
''' % {'name': name, 'guest': GUEST, 'tandem': TANDEM, 'disk': disk_xml,
       'serial': tmp_path / (name + '-serial.log'), 'extra': extra}


def test_define_without_kvm_is_refused(libvirtd, tmp_path):
    """Without KVM libvirt refuses the domain at define time, naming the
    virt type: that is libvirt's rule (no TCG in Tandem), not a crash."""
    if not kvm_unusable_reason():
        pytest.skip('KVM is usable here: test_define_dumpxml_undefine runs')
    xml = tmp_path / 'dom.xml'
    xml.write_text(domain_xml(tmp_path, 'tandem-nokvm'))
    p = libvirtd.virsh('define', str(xml), check=False)
    assert p.returncode != 0
    assert "does not support virt type 'kvm'" in p.stderr, p.stderr
    assert libvirtd.alive()


@needs_kvm
def test_define_dumpxml_undefine(libvirtd, tmp_path):
    xml = tmp_path / 'dom.xml'
    xml.write_text(domain_xml(tmp_path, 'tandem-def'))
    libvirtd.virsh('define', str(xml))
    try:
        dumped = ET.fromstring(libvirtd.virsh('dumpxml', 'tandem-def').stdout)
        assert dumped.findtext('devices/emulator') == TANDEM
        assert dumped.find('os/type').get('machine') == 'pc-i440fx-7.2'
        assert dumped.find('devices/disk/target').get('bus') == 'virtio'
        assert dumped.find('devices/interface/model').get('type') == 'virtio'
        assert 'tandem-def' in libvirtd.virsh('list', '--all', '--name').stdout
    finally:
        libvirtd.virsh('undefine', 'tandem-def')
    assert 'tandem-def' not in libvirtd.virsh('list', '--all', '--name').stdout


def wait_serial(path, pattern, timeout=30):
    deadline = time.monotonic() + timeout
    text = ''
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
            m = re.findall(pattern, text, re.M)
            if m:
                return m
        time.sleep(0.1)
    raise AssertionError('no %r on the serial console: %r' % (pattern, text[-2000:]))


@needs_kvm
def test_start_suspend_resume_destroy(libvirtd, tmp_path):
    xml = tmp_path / 'dom.xml'
    xml.write_text(domain_xml(tmp_path, 'tandem-run'))
    serial = str(tmp_path / 'tandem-run-serial.log')
    libvirtd.virsh('define', str(xml))
    try:
        libvirtd.virsh('start', 'tandem-run')
        assert libvirtd.virsh('domstate', 'tandem-run').stdout.strip() == 'running'
        wait_serial(serial, r'^TG count=\d+ ')

        libvirtd.virsh('suspend', 'tandem-run')
        assert libvirtd.virsh('domstate', 'tandem-run').stdout.strip() == 'paused'
        time.sleep(0.5)
        n = len(wait_serial(serial, r'^TG count=\d+ '))
        time.sleep(1.5)
        assert len(wait_serial(serial, r'^TG count=\d+ ')) == n, \
            'the guest ran while paused'
        libvirtd.virsh('resume', 'tandem-run')
        assert libvirtd.virsh('domstate', 'tandem-run').stdout.strip() == 'running'
        deadline = time.monotonic() + 20
        while len(wait_serial(serial, r'^TG count=\d+ ')) == n:
            assert time.monotonic() < deadline, 'the guest did not resume'
            time.sleep(0.1)

        stats = libvirtd.virsh('domstats', 'tandem-run').stdout
        assert 'state.state=1' in stats, stats      # VIR_DOMAIN_RUNNING
        assert 'vcpu.current=1' in stats, stats

        hmp = libvirtd.virsh('qemu-monitor-command', 'tandem-run', '--hmp',
                             'info status').stdout
        assert 'running' in hmp, hmp

        # No ACPI: shutdown --mode acpi cannot work, and says so.
        p = libvirtd.virsh('shutdown', 'tandem-run', '--mode', 'acpi', check=False)
        assert p.returncode != 0, p.stdout
        libvirtd.virsh('destroy', 'tandem-run')
        assert libvirtd.virsh('domstate', 'tandem-run').stdout.strip() == 'shut off'
    finally:
        libvirtd.virsh('destroy', 'tandem-run', check=False)
        libvirtd.virsh('undefine', 'tandem-run', check=False)


def colo_domains(tmp_path, ports):
    """QEMU's COLO recipe (network half) as two domains on this host: the
    objects through <qemu:commandline> on libvirt's netdev hostnet0, the
    secondary waiting with -incoming (docs/colo.md, "COLO under
    libvirt"). libvirt opens a virtio NIC's tap with virtio-net headers,
    so every filter and colo-compare says vnet_hdr_support=on. No disk:
    block replication is not part of this recipe."""
    mirror, compare1, compare0, compare_out, incoming = ports
    tcp = 'socket,id=%s,host=127.0.0.1,port=%d'
    primary = []
    for cid, port, server in (('mirror0', mirror, True),
                              ('compare1', compare1, True),
                              ('compare0', compare0, True),
                              ('compare0-0', compare0, False),
                              ('compare_out', compare_out, True),
                              ('compare_out0', compare_out, False)):
        primary += ['-chardev', tcp % (cid, port) +
                    (',server=on,wait=off' if server else '')]
    primary += [
        '-object', 'filter-mirror,id=m0,netdev=hostnet0,queue=tx,'
                   'outdev=mirror0,vnet_hdr_support=on',
        '-object', 'filter-redirector,netdev=hostnet0,id=redire0,queue=rx,'
                   'indev=compare_out,vnet_hdr_support=on',
        '-object', 'filter-redirector,netdev=hostnet0,id=redire1,queue=rx,'
                   'outdev=compare0,vnet_hdr_support=on',
        '-object', 'iothread,id=iothread1',
        '-object', 'colo-compare,id=comp0,primary_in=compare0-0,'
                   'secondary_in=compare1,outdev=compare_out0,'
                   'iothread=iothread1,vnet_hdr_support=on']
    secondary = [
        '-chardev', tcp % ('red0', mirror) + ',reconnect-ms=1000',
        '-chardev', tcp % ('red1', compare1) + ',reconnect-ms=1000',
        '-object', 'filter-redirector,id=f1,netdev=hostnet0,queue=tx,'
                   'indev=red0,vnet_hdr_support=on',
        '-object', 'filter-redirector,id=f2,netdev=hostnet0,queue=rx,'
                   'outdev=red1,vnet_hdr_support=on',
        '-object', 'filter-rewriter,id=rew0,netdev=hostnet0,queue=all,'
                   'vnet_hdr_support=on',
        '-incoming', 'tcp:127.0.0.1:%d' % incoming]
    return (domain_xml(tmp_path, 'colo-a', False, primary),
            domain_xml(tmp_path, 'colo-b', False, secondary))


def colo_script(libvirtd, *args):
    script = os.path.join(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))), 'scripts',
        'colo-libvirt.py')
    return subprocess.run(['python3', script, '-c', libvirtd.uri] +
                          list(args), capture_output=True, text=True,
                          timeout=120)


def test_colo_domain_xml_validates(libvirtd, tmp_path):
    """The pair's XML is what libvirt takes: its schema accepts both
    (virt-xml-validate), <qemu:commandline> included."""
    validate = shutil.which('virt-xml-validate')
    if not validate:
        pytest.skip('virt-xml-validate is not installed (libvirt-clients)')
    for i, xml in enumerate(colo_domains(tmp_path, free_ports(5))):
        path = tmp_path / ('colo%d.xml' % i)
        path.write_text(xml)
        p = subprocess.run([validate, str(path), 'domain'],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr


@needs_kvm
def test_colo_pair(libvirtd, tmp_path):
    """A COLO pair as two libvirt domains: started by virsh (the
    secondary's cont in inmigrate is accepted), protected by
    scripts/colo-libvirt.py, the primary destroyed, the secondary's
    failover runbook run through virsh, and the guest counts on."""
    ports = free_ports(5)
    pxml, sxml = colo_domains(tmp_path, ports)
    (tmp_path / 'a.xml').write_text(pxml)
    (tmp_path / 'b.xml').write_text(sxml)
    pserial = str(tmp_path / 'colo-a-serial.log')
    sserial = str(tmp_path / 'colo-b-serial.log')
    try:
        libvirtd.virsh('define', str(tmp_path / 'b.xml'))
        libvirtd.virsh('define', str(tmp_path / 'a.xml'))
        libvirtd.virsh('start', 'colo-b')
        libvirtd.virsh('start', 'colo-a')
        r = colo_script(libvirtd, 'protect', 'colo-a', 'colo-b', '--uri',
                        'tcp:127.0.0.1:%d' % ports[4], '--delay', '200')
        assert r.returncode == 0, r.stdout + r.stderr + libvirtd.output()
        r = colo_script(libvirtd, 'status', 'colo-a', 'colo-b')
        assert 'colo-a: colo mode primary' in r.stdout, r.stdout
        assert 'colo-b: colo mode secondary' in r.stdout, r.stdout
        # The guest's output comes out of the primary once checkpointed;
        # the secondary holds its copy until it takes over (docs/colo.md,
        # "Output commit").
        wait_serial(pserial, r'^TG count=\d+ ')
        assert os.path.getsize(sserial) == 0
        libvirtd.virsh('destroy', 'colo-a')
        r = colo_script(libvirtd, 'failover', 'secondary', 'colo-b')
        assert r.returncode == 0, r.stdout + r.stderr
        assert libvirtd.virsh('domstate', 'colo-b').stdout.strip() == \
            'running'
        n = len(wait_serial(sserial, r'^TG count=\d+ '))
        deadline = time.monotonic() + 20
        while len(wait_serial(sserial, r'^TG count=\d+ ')) == n:
            assert time.monotonic() < deadline, \
                'the survivor does not run the guest'
            time.sleep(0.1)
        r = colo_script(libvirtd, 'status', 'colo-b')
        assert 'colo-b: colo mode none, last secondary' in r.stdout, r.stdout
    finally:
        for name in ('colo-a', 'colo-b'):
            libvirtd.virsh('destroy', name, check=False)
            libvirtd.virsh('undefine', name, check=False)


def wait_state(d, name, state, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        now = d.virsh('domstate', name, check=False).stdout.strip()
        if now == state:
            return
        assert time.monotonic() < deadline, \
            '%s is %r, not %r: %s' % (name, now, state, d.output())
        time.sleep(0.2)


def wait_counts_after(path, n, timeout=20):
    """The serial log's TG counts once it has one above n."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, 'rb') as f:
            counts = count_lines(f.read().decode('utf-8', 'replace'))
        if counts and counts[-1] > n:
            return counts
        assert time.monotonic() < deadline, \
            'no TG count above %d in %s: %r' % (n, path, counts[-5:])
        time.sleep(0.1)


class watch_lifecycle:
    """`virsh event --loop` on a domain's lifecycle events, into a file.
    A suspend and resume before returning show it is listening."""
    def __init__(self, d, name, path):
        self.path = path
        self.out = open(path, 'w')
        self.proc = subprocess.Popen(
            [VIRSH, '-c', d.uri, 'event', name, '--event', 'lifecycle',
             '--loop'], stdout=self.out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while 'Resumed' not in self.path.read_text():
            assert time.monotonic() < deadline, \
                'virsh event saw no resume: ' + self.path.read_text()
            d.virsh('suspend', name)
            d.virsh('resume', name)
            time.sleep(0.2)

    def wait_for(self, text, timeout=20):
        deadline = time.monotonic() + timeout
        while text not in self.path.read_text():
            assert time.monotonic() < deadline, \
                'no %r event: %s' % (text, self.path.read_text())
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.out.close()


# virsh migrate's options per mode. tunnelled carries the stream over
# the daemons' own connection, so it takes no --migrateuri; copy-storage
# mirrors the disk to another file, which the destination's XML names;
# postcopy switches after the first pass (virsh sends migrate-start-postcopy
# on the second MIGRATION_PASS), precopy held at 1 MiB/s.
MIGRATE_MODES = {
    'plain': ['--unsafe', '--migrateuri', 'tcp://127.0.0.1:%(port)d'],
    'p2p': ['--p2p', '--unsafe', '--migrateuri', 'tcp://127.0.0.1:%(port)d'],
    'tunnelled': ['--p2p', '--tunnelled', '--unsafe'],
    'postcopy': ['--postcopy', '--postcopy-after-precopy', '--bandwidth', '1',
                 '--unsafe', '--migrateuri', 'tcp://127.0.0.1:%(port)d'],
    'copy-storage': ['--copy-storage-all',
                     '--migrateuri', 'tcp://127.0.0.1:%(port)d'],
}


@needs_kvm
@pytest.mark.parametrize('mode', list(MIGRATE_MODES))
def test_migrate_live(libvirtd, libvirtd_peer, tmp_path, mode):
    """virsh migrate --live between two daemons on this host, client-driven
    (plain), daemon-to-daemon (--p2p), tunnelled through the daemons,
    switched to postcopy (the source's "Suspended Post-copy" event shows
    it did), and with the disk copied (--copy-storage-all). Without the
    copy the disk is one file both sides open, which is shared storage on
    one host; libvirt cannot tell (it trusts only network and cluster
    file systems to be shared), so --unsafe says we know. The destination
    gets the domain's migratable XML with another serial log (and,
    copying, another disk), where the guest's count must go on from the
    source's last line."""
    src, dst = libvirtd, libvirtd_peer
    name = 'tandem-mig-' + mode
    src_serial = str(tmp_path / (name + '-serial.log'))
    dst_serial = str(tmp_path / (name + '-dst-serial.log'))
    src_disk = str(tmp_path / (name + '.img'))
    dst_disk = str(tmp_path / (name + '-dst.img'))
    # Data spread over the disk (domain_xml keeps an image that exists),
    # for the copy to be compared with.
    with open(src_disk, 'wb') as f:
        f.truncate(64 << 20)
        for off in range(0, 64 << 20, 4 << 20):
            f.seek(off + 4096 * (off >> 20))
            f.write(os.urandom(64 << 10))
    (tmp_path / 'dom.xml').write_text(domain_xml(tmp_path, name))
    port = free_ports(1)[0]
    events = None
    try:
        src.virsh('define', str(tmp_path / 'dom.xml'))
        src.virsh('start', name)
        wait_counts_after(src_serial, 2)
        xml = src.virsh('dumpxml', '--migratable', name).stdout
        assert src_serial in xml and src_disk in xml, xml
        xml = xml.replace(src_serial, dst_serial)
        if mode == 'copy-storage':
            # libvirt creates no image outside a storage pool: the copy's
            # target must be there, as large as the source (and empty).
            with open(dst_disk, 'wb') as f:
                f.truncate(64 << 20)
            xml = xml.replace(src_disk, dst_disk)
        (tmp_path / 'dst.xml').write_text(xml)

        args = ['migrate', '--live', '--verbose', name, dst.uri,
                '--xml', str(tmp_path / 'dst.xml')] + \
            [a % {'port': port} for a in MIGRATE_MODES[mode]]
        if mode == 'postcopy':
            # The count guest dirties a few pages a second: precopy would
            # converge and finish without the switch virsh asks for after
            # the first pass. A 1 ms downtime limit keeps it from that.
            src.virsh('migrate-setmaxdowntime', name, '1')
            events = watch_lifecycle(src, name, tmp_path / 'events.txt')
        p = src.virsh(*args, check=False, timeout=120)
        assert p.returncode == 0, 'virsh %s: %s\n--- source ---\n%s\n' \
            '--- destination ---\n%s' % (' '.join(args), p.stdout + p.stderr,
                                         src.output(), dst.output())

        # The source keeps the persistent definition, shut off; the
        # destination runs the domain as a transient one.
        wait_state(src, name, 'shut off')
        wait_state(dst, name, 'running')
        if events:
            events.wait_for('Suspended Post-copy')
        assert name in dst.virsh('list', '--transient', '--name').stdout
        with open(src_serial, 'rb') as f:
            last = count_lines(f.read().decode('utf-8', 'replace'))[-1]
        counts = wait_counts_after(dst_serial, last + 3)
        # One line may be cut in two by the switchover, so the first whole
        # one on the destination is the next or the one after.
        assert last < counts[0] <= last + 2, (last, counts[:5])
        assert counts == list(range(counts[0], counts[0] + len(counts))), \
            counts
        with open(src_serial, 'rb') as f:
            assert count_lines(f.read().decode('utf-8', 'replace'))[-1] == \
                last, 'the source guest ran after the migration'

        if mode == 'copy-storage':
            with open(src_disk, 'rb') as a, open(dst_disk, 'rb') as b:
                assert a.read() == b.read(), 'the disk copy differs'

        dst.virsh('destroy', name)
        assert name not in dst.virsh('list', '--all', '--name').stdout
    finally:
        if events:
            events.stop()
        for d in (dst, src):
            d.virsh('destroy', name, check=False)
            d.virsh('undefine', name, check=False)
