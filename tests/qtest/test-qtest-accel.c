/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real binary under -accel qtest and -machine none, which need no
 * /dev/kvm and so run on every host: the run state with vCPUs that
 * never run, the QMP sequence of libvirt's capability probe on the none
 * machine, PCI
 * enumeration of the pc over ports 0xCF8/0xCFC (before and after
 * system_reset), and a virtio-net-pci driven end to end by the test as
 * the guest's driver (libqvirtio-pci.c): a frame sent on TX arrives on
 * the -netdev dgram socket the test holds, a frame the test sends lands
 * in a posted RX buffer, and the interrupt is seen as an MSI-X write into
 * guest RAM or, without MSI-X, as "IRQ raise N" on the intercepted
 * ioapic.
 */
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include "kvm-skip.h"
#include "libqtest.h"
#include "libqvirtio-net.h"

#define DEVFN(slot, fn)     ((slot) << 3 | (fn))
#define NET_DEVFN           DEVFN(2, 0)
#define NET_GPA             0x100000ULL     /* QVNET_WINDOW from here */
#define MSI_GPA             0x300000ULL     /* vector v writes at + 4v */
#define MSI_DATA(v)         (0x5a5a0000u + (v))
#define FRAME_LEN           60

/* ---- run state with vCPUs that never run ---- */

static void test_runstate(void)
{
    QTestState *s = qtest_init_accel_qtest("");
    json_object *r;
    bool running;

    g_assert_cmpstr(qtest_runstate(s, &running), ==, "running");
    g_assert_true(running);
    /* The -smp vCPU is there as an object (it never runs). */
    r = qtest_qmp_assert_success(s, "{'execute': 'query-cpus-fast'}");
    g_assert_cmpuint(json_object_array_length(r), ==, 1);
    json_object_put(r);
    r = qtest_qmp_assert_success(s, "{'execute': 'query-kvm'}");
    g_assert_false(json_object_get_boolean(qt_json_get(r, "enabled")));
    json_object_put(r);

    qtest_qmp_ok(s, "{'execute': 'stop'}");
    json_object_put(qtest_qmp_eventwait(s, "STOP"));
    g_assert_cmpstr(qtest_runstate(s, &running), ==, "paused");
    g_assert_false(running);
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    json_object_put(qtest_qmp_eventwait(s, "RESUME"));
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");

    qtest_qmp_assert_error_contains(s, "GenericError",
                                    "Migration is not supported: the qtest",
                                    "{'execute': 'migrate', 'arguments': "
                                    "{'uri': 'exec:cat >/dev/null'}}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Migration not in expected state: none",
                              "{'execute': 'migrate-continue', 'arguments': "
                              "{'state': 'pre-switchover'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "no register state",
                                    "{'execute': 'memsave', 'arguments': "
                                    "{'val': 0, 'size': 8, "
                                    "'filename': '/dev/null'}}");
    /* RAM is there, and the qtest protocol reaches it. */
    qtest_writeq(s, 0x1000, 0x1122334455667788ULL);
    g_assert_cmphex(qtest_readq(s, 0x1000), ==, 0x1122334455667788ULL);
    /* No PIT under qtest: port 0x61 is unassigned. */
    g_assert_cmphex(qtest_inb(s, 0x61), ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- -kernel is optional, and loaded when given ---- */

/* Whether the MP floating pointer ("_MP_", 16-byte aligned) is in the
 * BIOS area, where the pc's kernel loader puts it. */
static bool has_mp_table(QTestState *s)
{
    g_autofree uint8_t *area = g_malloc(0x2000);

    qtest_bufread(s, 0xf0000, area, 0x2000);
    for (unsigned off = 0; off < 0x2000; off += 16) {
        if (!memcmp(area + off, "_MP_", 4)) {
            return true;
        }
    }
    return false;
}

static void test_kernel_optional(void)
{
    g_autofree char *guest = qtest_guest_path();
    QTestState *s = qtest_init_accel_qtest("");

    g_assert_false(has_mp_table(s));
    g_assert_cmpint(qtest_quit(s), ==, 0);

    s = qtest_initf_accel_qtest("-kernel %s", guest);
    g_assert_true(has_mp_table(s));
    /* Reset loads it again over whatever the "guest" left there. */
    qtest_memset(s, 0xf0000, 0, 0x2000);
    qtest_qmp_ok(s, "{'execute': 'system_reset'}");
    json_object_put(qtest_qmp_eventwait(s, "RESET"));
    g_assert_true(has_mp_table(s));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- -machine none: libvirt's probe ---- */

static bool list_has_name(json_object *list, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        if (!g_strcmp0(qt_json_str(json_object_array_get_idx(list, i),
                                   "name"), name)) {
            return true;
        }
    }
    return false;
}

static void test_machine_none_probe(void)
{
    /* The later accel= wins over the harness's -accel qtest. -vga std is
     * only a warning on the none machine (no VGA either way), as in QEMU;
     * on the pc test_cli.py sees it refused. */
    QTestState *s = qtest_init_accel_qtest("-vga std "
                                           "-machine none,accel=kvm:tcg");
    bool kvm = !test_kvm_unusable_reason();
    g_autofree char *reply = NULL;
    json_object *r;

    r = qtest_qmp_assert_success(s, "{'execute': 'query-version'}");
    g_assert_cmpint(json_object_get_int(qt_json_get(qt_json_get(r, "qemu"),
                                                    "major")), ==, 7);
    json_object_put(r);
    r = qtest_qmp_assert_success(s, "{'execute': 'query-machines'}");
    g_assert_true(list_has_name(r, "none"));
    g_assert_true(list_has_name(r, "pc-i440fx-7.2"));
    json_object_put(r);
    r = qtest_qmp_assert_success(s, "{'execute': 'query-kvm'}");
    g_assert_cmpint(json_object_get_boolean(qt_json_get(r, "enabled")), ==,
                    kvm);
    g_assert_cmpint(json_object_get_boolean(qt_json_get(r, "present")), ==,
                    kvm);
    json_object_put(r);
    /* What needs a machine says so. */
    qtest_qmp_assert_error_contains(s, "GenericError", "none machine",
                                    "{'execute': 'migrate', 'arguments': "
                                    "{'uri': 'exec:cat >/dev/null'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "no guest memory",
                                    "{'execute': 'pmemsave', 'arguments': "
                                    "{'val': 0, 'size': 8, "
                                    "'filename': '/dev/null'}}");
    /* No RAM and no port I/O: qtest accesses fail, the server lives. */
    reply = qtest_raw(s, "readb 0x1000");
    g_assert_true(g_str_has_prefix(reply, "FAIL readb: no machine"));
    g_free(reply);
    reply = qtest_raw(s, "irq_intercept_in ioapic");
    g_assert_true(g_str_has_prefix(reply, "FAIL"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- PCI enumeration ---- */

typedef struct NetRig {
    QTestState *s;
    QNetWire wire;              /* the far end of the NIC's -netdev dgram */
} NetRig;

static void rig_start(NetRig *r, const char *extra)
{
    qnet_wire_open(&r->wire, "net");
    r->s = qtest_initf_accel_qtest(
        "-netdev %s,id=n0 "
        "-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 %s",
        r->wire.netdev_opts, extra ? extra : "");
}

static void rig_stop(NetRig *r)
{
    g_assert_cmpint(qtest_quit(r->s), ==, 0);
    qnet_wire_close(&r->wire);
}

typedef struct PciSnapshot {
    uint32_t bar[6];
    uint16_t command;
    uint8_t irq_line;
} PciSnapshot;

static void pci_snapshot(QTestState *s, unsigned devfn, PciSnapshot *p)
{
    for (unsigned i = 0; i < 6; i++) {
        p->bar[i] = qpci_cfg_read(s, devfn, PCI_BASE_ADDRESS_0 + 4 * i, 4);
    }
    p->command = qpci_cfg_read(s, devfn, PCI_COMMAND, 2);
    p->irq_line = qpci_cfg_read(s, devfn, PCI_INTERRUPT_LINE, 1);
}

/* What the machine's firmware step must have left in the NIC. */
static void check_net_assigned(const PciSnapshot *p)
{
    /* BAR1: MSI-X, 32-bit memory; BAR4/5: the virtio regions, 64-bit. */
    g_assert_cmphex(p->bar[1] & PCI_BASE_ADDRESS_SPACE_IO, ==, 0);
    g_assert_cmphex(p->bar[1] & PCI_BASE_ADDRESS_MEM_MASK, >=, 0xc0000000);
    g_assert_cmphex(p->bar[4] & PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_64);
    g_assert_cmphex(p->bar[4] & PCI_BASE_ADDRESS_MEM_MASK, >=, 0xc0000000);
    g_assert_cmphex(p->bar[5], ==, 0);
    g_assert_cmphex(p->command & PCI_COMMAND_MEMORY, ==, PCI_COMMAND_MEMORY);
    g_assert_cmpuint(p->irq_line, >=, 1);
    g_assert_cmpuint(p->irq_line, <, 16);
}

static void test_pci_enumeration(void)
{
    NetRig r;
    QTestState *s;
    PciSnapshot before, after;

    rig_start(&r, NULL);
    s = r.s;
    /* 00.0 the i440FX, 01.0 the PIIX3 (multi-function), 02.0 the NIC. */
    g_assert_cmphex(qpci_cfg_read(s, DEVFN(0, 0), PCI_VENDOR_ID, 4), ==,
                    0x12378086);
    g_assert_cmphex(qpci_cfg_read(s, DEVFN(1, 0), PCI_VENDOR_ID, 4), ==,
                    0x70008086);
    g_assert_cmphex(qpci_cfg_read(s, DEVFN(1, 0), PCI_HEADER_TYPE, 1) & 0x80,
                    ==, 0x80);
    g_assert_cmphex(qpci_cfg_read(s, NET_DEVFN, PCI_VENDOR_ID, 4), ==,
                    0x10411af4);
    g_assert_cmphex(qpci_cfg_read(s, NET_DEVFN, PCI_CLASS_DEVICE, 2), ==,
                    0x0200);
    g_assert_cmphex(qpci_cfg_read(s, DEVFN(3, 0), PCI_VENDOR_ID, 4), ==,
                    0xffffffff);
    pci_snapshot(s, NET_DEVFN, &before);
    check_net_assigned(&before);

    /* A guest moves and disables things; reset puts them back. */
    qpci_cfg_write(s, NET_DEVFN, PCI_COMMAND, 0, 2);
    qpci_cfg_write(s, NET_DEVFN, PCI_BASE_ADDRESS_4, 0xd0000000, 4);
    qpci_cfg_write(s, NET_DEVFN, PCI_INTERRUPT_LINE, 5, 1);
    g_assert_cmphex(qpci_cfg_read(s, NET_DEVFN, PCI_COMMAND, 2) &
                    PCI_COMMAND_MEMORY, ==, 0);
    qtest_qmp_ok(s, "{'execute': 'system_reset'}");
    json_object_put(qtest_qmp_eventwait(s, "RESET"));
    pci_snapshot(s, NET_DEVFN, &after);
    check_net_assigned(&after);
    for (unsigned i = 0; i < 6; i++) {
        g_assert_cmphex(after.bar[i], ==, before.bar[i]);
    }
    g_assert_cmphex(after.command, ==, before.command);
    g_assert_cmpuint(after.irq_line, ==, before.irq_line);
    rig_stop(&r);
}

/* ---- virtio-net end to end ---- */

static void net_start(NetRig *r, QVirtioNet *n, bool msix)
{
    const QVirtioNetMsi msi = { .gpa = MSI_GPA, .data = MSI_DATA(0) };

    qvnet_start(n, r->s, NET_DEVFN, NET_GPA, msix ? &msi : NULL);
}

static void make_frame(uint8_t *f, uint8_t seed)
{
    static const uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;       /* local experimental ethertype */
    f[13] = 0xb5;
    for (unsigned i = 14; i < FRAME_LEN; i++) {
        f[i] = seed + i;
    }
}

/* The guest sends a frame: it comes out on the wire as it was. */
static void net_tx(NetRig *r, QVirtioNet *n, uint8_t seed)
{
    uint8_t frame[FRAME_LEN], got[2048];

    make_frame(frame, seed);
    qvnet_send(n, frame, FRAME_LEN);
    g_assert_cmpint(qnet_wire_recv(&r->wire, got, sizeof(got),
                                   qtest_timeout_ms()), ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, frame, FRAME_LEN);
}

/* A frame from the wire lands in the posted RX buffer. */
static void net_rx(NetRig *r, QVirtioNet *n, uint8_t seed)
{
    uint8_t frame[FRAME_LEN], got[QVNET_FRAME_MAX];

    make_frame(frame, seed);
    qvnet_rx_post(n);
    qnet_wire_send(&r->wire, frame, FRAME_LEN);
    g_assert_cmpint(qvnet_rx_wait(n, got, sizeof(got), qtest_timeout_ms()),
                    ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, frame, FRAME_LEN);
}

static void test_virtio_net_msix(void)
{
    NetRig r;
    QVirtioNet n;

    rig_start(&r, NULL);
    qtest_memset(r.s, MSI_GPA, 0, 16);
    net_start(&r, &n, true);

    net_tx(&r, &n, 1);
    /* TX completion: vector 1's message, written into RAM. */
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, MSI_DATA(1));

    net_rx(&r, &n, 2);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 8), ==, 0);

    /* A second round trip through the same rings. */
    qtest_memset(r.s, MSI_GPA, 0, 16);
    net_rx(&r, &n, 3);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    net_tx(&r, &n, 4);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, MSI_DATA(1));

    /* A message to where no RAM is (the LAPIC's window) is dropped: the
     * device carries on and nothing lands in RAM. */
    qtest_memset(r.s, MSI_GPA, 0, 16);
    qvp_msix_set_entry(&n.pci, 1, 0xfee00000, MSI_DATA(1));
    net_tx(&r, &n, 7);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, 0);
    net_rx(&r, &n, 8);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    rig_stop(&r);
}

static void test_virtio_net_intx(void)
{
    NetRig r;
    QVirtioNet n;
    unsigned line;
    char *reply;

    rig_start(&r, NULL);
    line = qpci_cfg_read(r.s, NET_DEVFN, PCI_INTERRUPT_LINE, 1);
    qtest_irq_intercept_in(r.s, "ioapic");
    /* One interception per process, as in QEMU. */
    reply = qtest_raw(r.s, "irq_intercept_in ioapic");
    g_assert_cmpstr(reply, ==, "FAIL Interception already enabled");
    g_free(reply);
    net_start(&r, &n, false);
    g_assert_false(qtest_get_irq(r.s, line));

    net_rx(&r, &n, 5);
    g_assert_true(qtest_get_irq(r.s, line));
    /* Reading the ISR acknowledges: the line drops. */
    g_assert_cmphex(qvp_isr(&n.pci) & 1, ==, 1);
    g_assert_false(qtest_get_irq(r.s, line));

    net_tx(&r, &n, 6);
    g_assert_true(qtest_get_irq(r.s, line));
    g_assert_cmphex(qvp_isr(&n.pci) & 1, ==, 1);
    g_assert_false(qtest_get_irq(r.s, line));
    rig_stop(&r);
}

/*
 * Bus mastering off: the device reaches no guest memory. Clearing it
 * drops DRIVER_OK (QEMU's behaviour); then a kicked TX buffer is not
 * sent, a frame from outside is not written into the posted RX buffer,
 * and no MSI-X message is written. Once the driver enables bus mastering
 * and sets DRIVER_OK again, a kick sends the TX frame the guest queued,
 * and frames from outside land again (the one sent meanwhile was
 * dropped, as on a NIC whose driver is not ready).
 */
static void test_virtio_net_bus_master(void)
{
    uint8_t out[FRAME_LEN], in[FRAME_LEN], got[QVNET_FRAME_MAX];
    uint16_t tx_used;
    NetRig r;
    QVirtioNet n;

    rig_start(&r, NULL);
    net_start(&r, &n, true);
    net_tx(&r, &n, 0x10);

    qpci_cfg_write(r.s, NET_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(qvp_status(&n.pci) & VIRTIO_CONFIG_S_DRIVER_OK, ==, 0);
    /* Setting DRIVER_OK while bus mastering is off changes nothing. */
    qvp_driver_ok(&n.pci);
    qtest_memset(r.s, MSI_GPA, 0, 16);

    make_frame(out, 0x20);
    tx_used = qvnet_tx_post(&n, out, FRAME_LEN);
    make_frame(in, 0x30);
    qvnet_rx_post(&n);
    qnet_wire_send(&r.wire, in, FRAME_LEN);
    g_assert_cmpint(qnet_wire_recv(&r.wire, got, sizeof(got), 300), ==, -1);
    g_assert_cmpint(qvnet_rx_wait(&n, got, sizeof(got), 300), ==, -1);
    g_assert_cmpuint(qvq_used_idx(&n.txq), ==, tx_used);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, 0);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, 0);
    g_assert_cmphex(qtest_readb(r.s, n.rx_buf + QVNET_HDR_LEN), ==, 0xee);

    qpci_cfg_write(r.s, NET_DEVFN, PCI_COMMAND,
                   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    qvp_driver_ok(&n.pci);
    qvq_kick(&n.txq);
    g_assert_cmpint(qnet_wire_recv(&r.wire, got, sizeof(got),
                                   qtest_timeout_ms()), ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, out, FRAME_LEN);
    g_assert_true(qvq_wait_used(&n.txq, tx_used + 1, qtest_timeout_ms()));
    make_frame(in, 0x40);
    qnet_wire_send(&r.wire, in, FRAME_LEN);
    g_assert_cmpint(qvnet_rx_wait(&n, got, sizeof(got), qtest_timeout_ms()),
                    ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, in, FRAME_LEN);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    rig_stop(&r);
}

/*
 * A stopped VM (paused, a switchover, a COLO checkpoint) gets nothing
 * written into its RAM: a frame from outside waits in the network core
 * and a kicked TX buffer is not taken, so device state captured then
 * agrees with RAM. On cont both go through, nothing lost.
 */
static void test_virtio_net_stopped(void)
{
    uint8_t out[FRAME_LEN], in[FRAME_LEN], got[QVNET_FRAME_MAX];
    uint16_t tx_used;
    NetRig r;
    QVirtioNet n;

    rig_start(&r, NULL);
    net_start(&r, &n, true);
    qtest_qmp_ok(r.s, "{'execute': 'stop'}");
    json_object_put(qtest_qmp_eventwait(r.s, "STOP"));

    make_frame(in, 0x50);
    qvnet_rx_post(&n);
    qnet_wire_send(&r.wire, in, FRAME_LEN);
    make_frame(out, 0x60);
    tx_used = qvnet_tx_post(&n, out, FRAME_LEN);
    g_assert_cmpint(qvnet_rx_wait(&n, got, sizeof(got), 300), ==, -1);
    g_assert_cmpint(qnet_wire_recv(&r.wire, got, sizeof(got), 300), ==, -1);
    g_assert_cmpuint(qvq_used_idx(&n.txq), ==, tx_used);
    g_assert_cmphex(qtest_readb(r.s, n.rx_buf + QVNET_HDR_LEN), ==, 0xee);

    qtest_qmp_ok(r.s, "{'execute': 'cont'}");
    g_assert_cmpint(qvnet_rx_wait(&n, got, sizeof(got), qtest_timeout_ms()),
                    ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, in, FRAME_LEN);
    g_assert_cmpint(qnet_wire_recv(&r.wire, got, sizeof(got),
                                   qtest_timeout_ms()), ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, out, FRAME_LEN);
    g_assert_true(qvq_wait_used(&n.txq, tx_used + 1, qtest_timeout_ms()));
    rig_stop(&r);
}

static void test_irq_intercept_errors(void)
{
    QTestState *s = qtest_init_accel_qtest("");
    char *reply;

    reply = qtest_raw(s, "irq_intercept_in nosuch");
    g_assert_cmpstr(reply, ==,
                    "FAIL irq_intercept_in: no interrupt source 'nosuch'");
    g_free(reply);
    reply = qtest_raw(s, "irq_intercept_in");
    g_assert_true(g_str_has_prefix(reply, "FAIL irq_intercept_in: expected"));
    g_free(reply);
    /* The ioapic has no output lines under qtest: accepted, as by QEMU,
     * and it counts as the one interception. */
    qtest_irq_intercept_out(s, "ioapic");
    reply = qtest_raw(s, "irq_intercept_in ioapic");
    g_assert_cmpstr(reply, ==, "FAIL Interception already enabled");
    g_free(reply);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * cont while waiting for an incoming migration (libvirt sends it to every
 * domain it starts with -S): accepted as in QEMU, the VM keeps waiting
 * (the vCPUs start once the migration is in: test-migration, KVM).
 */
static void test_cont_inmigrate(void)
{
    QTestState *s = qtest_init_accel_qtest("-S -incoming defer");
    bool running = true;

    g_assert_cmpstr(qtest_runstate(s, &running), ==, "inmigrate");
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    g_assert_cmpstr(qtest_runstate(s, &running), ==, "inmigrate");
    g_assert_false(running);
    {
        g_autofree char *out = qtest_hmp(s, "cont");

        g_assert_cmpstr(out, ==, "");
    }
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "inmigrate");
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest-accel/runstate", test_runstate);
    g_test_add_func("/qtest-accel/cont-inmigrate", test_cont_inmigrate);
    g_test_add_func("/qtest-accel/kernel-optional", test_kernel_optional);
    g_test_add_func("/qtest-accel/machine-none-probe",
                    test_machine_none_probe);
    g_test_add_func("/qtest-accel/pci-enumeration", test_pci_enumeration);
    g_test_add_func("/qtest-accel/virtio-net/msix", test_virtio_net_msix);
    g_test_add_func("/qtest-accel/virtio-net/intx", test_virtio_net_intx);
    g_test_add_func("/qtest-accel/virtio-net/bus-master",
                    test_virtio_net_bus_master);
    g_test_add_func("/qtest-accel/virtio-net/stopped",
                    test_virtio_net_stopped);
    g_test_add_func("/qtest-accel/irq-intercept-errors",
                    test_irq_intercept_errors);
    return g_test_run();
}
