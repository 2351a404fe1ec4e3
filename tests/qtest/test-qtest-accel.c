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
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include "kvm-skip.h"
#include "libqtest.h"
#include "libqvirtio-pci.h"

#define DEVFN(slot, fn)     ((slot) << 3 | (fn))
#define NET_DEVFN           DEVFN(2, 0)
#define RXQ_GPA             0x100000ULL
#define TXQ_GPA             0x110000ULL
#define RXBUF_GPA           0x200000ULL
#define TXBUF_GPA           0x201000ULL
#define MSI_GPA             0x300000ULL     /* vector v writes at + 4v */
#define MSI_DATA(v)         (0x5a5a0000u + (v))
#define HDR_LEN             sizeof(struct virtio_net_hdr_v1)
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
    /* The later accel= wins over the harness's -accel qtest. */
    QTestState *s = qtest_init_accel_qtest("-machine none,accel=kvm:tcg");
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
    int sock;                   /* the far end of -netdev dgram */
    char *tandem_path;          /* Tandem's end (we send there) */
    char *test_path;
} NetRig;

static void rig_start(NetRig *r, const char *extra)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    r->test_path = qtest_scratch_path("net-test.sock");
    r->tandem_path = qtest_scratch_path("net-tandem.sock");
    g_assert_cmpuint(strlen(r->test_path), <, sizeof(sa.sun_path));
    strcpy(sa.sun_path, r->test_path);
    r->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(r->sock, >=, 0);
    g_assert_cmpint(bind(r->sock, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    r->s = qtest_initf_accel_qtest(
        "-netdev dgram,id=n0,local.type=unix,local.path=%s,"
        "remote.type=unix,remote.path=%s "
        "-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 %s",
        r->tandem_path, r->test_path, extra ? extra : "");
}

static void rig_stop(NetRig *r)
{
    g_assert_cmpint(qtest_quit(r->s), ==, 0);
    close(r->sock);
    unlink(r->test_path);
    g_free(r->test_path);
    g_free(r->tandem_path);
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

static void net_start(NetRig *r, QVirtioPci *d, QVirtQueue *rxq,
                      QVirtQueue *txq, bool msix)
{
    uint64_t f;

    qvp_init(d, r->s, NET_DEVFN);
    f = qvp_device_features(d);
    g_assert_cmphex(f & (1ULL << VIRTIO_F_VERSION_1), !=, 0);
    g_assert_true(qvp_negotiate(d, 1ULL << VIRTIO_F_VERSION_1));
    if (msix) {
        for (unsigned v = 0; v < 3; v++) {
            qvp_msix_set_entry(d, v, MSI_GPA + 4 * v, MSI_DATA(v));
        }
        qvp_msix_enable(d);
    }
    qvp_set_config_vector(d, msix ? 2 : QVP_NO_VECTOR);
    qvp_queue_setup(d, rxq, 0, 16, RXQ_GPA, msix ? 0 : QVP_NO_VECTOR);
    qvp_queue_setup(d, txq, 1, 16, TXQ_GPA, msix ? 1 : QVP_NO_VECTOR);
    qvp_driver_ok(d);
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

/* Receives one datagram within the harness timeout. */
static ssize_t sock_recv(int fd, uint8_t *buf, size_t len)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    g_assert_cmpint(poll(&p, 1, qtest_timeout_ms()), ==, 1);
    return recv(fd, buf, len, 0);
}

static void sock_send(NetRig *r, const uint8_t *buf, size_t len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    strcpy(sa.sun_path, r->tandem_path);
    g_assert_cmpint(sendto(r->sock, buf, len, 0, (struct sockaddr *)&sa,
                           sizeof(sa)), ==, (ssize_t)len);
}

static void net_tx(NetRig *r, QVirtQueue *txq, uint8_t seed)
{
    uint8_t frame[FRAME_LEN], got[2048];
    uint8_t hdr[HDR_LEN] = { 0 };
    uint16_t used = qvq_used_idx(txq);
    uint32_t id, len;
    uint16_t head;

    make_frame(frame, seed);
    qtest_memwrite(r->s, TXBUF_GPA, hdr, HDR_LEN);
    qtest_memwrite(r->s, TXBUF_GPA + HDR_LEN, frame, FRAME_LEN);
    head = qvq_add(txq, TXBUF_GPA, HDR_LEN + FRAME_LEN, false);
    qvq_kick(txq);
    g_assert_cmpint(sock_recv(r->sock, got, sizeof(got)), ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, frame, FRAME_LEN);
    g_assert_true(qvq_wait_used(txq, used + 1, qtest_timeout_ms()));
    qvq_used_elem(txq, used, &id, &len);
    g_assert_cmpuint(id, ==, head);
}

/* Posts one RX buffer, sends a frame to Tandem, waits for it there. */
static void net_rx(NetRig *r, QVirtQueue *rxq, uint8_t seed)
{
    uint8_t frame[FRAME_LEN], got[FRAME_LEN];
    uint16_t used = qvq_used_idx(rxq);
    uint32_t id, len;
    uint16_t head;

    make_frame(frame, seed);
    qtest_memset(r->s, RXBUF_GPA, 0xee, 2048);
    head = qvq_add(rxq, RXBUF_GPA, 2048, true);
    qvq_kick(rxq);
    sock_send(r, frame, FRAME_LEN);
    g_assert_true(qvq_wait_used(rxq, used + 1, qtest_timeout_ms()));
    qvq_used_elem(rxq, used, &id, &len);
    g_assert_cmpuint(id, ==, head);
    g_assert_cmpuint(len, ==, HDR_LEN + FRAME_LEN);
    qtest_memread(r->s, RXBUF_GPA + HDR_LEN, got, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, frame, FRAME_LEN);
}

static void test_virtio_net_msix(void)
{
    NetRig r;
    QVirtioPci d;
    QVirtQueue rxq, txq;

    rig_start(&r, NULL);
    qtest_memset(r.s, MSI_GPA, 0, 16);
    net_start(&r, &d, &rxq, &txq, true);

    net_tx(&r, &txq, 1);
    /* TX completion: vector 1's message, written into RAM. */
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, MSI_DATA(1));

    net_rx(&r, &rxq, 2);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 8), ==, 0);

    /* A second round trip through the same rings. */
    qtest_memset(r.s, MSI_GPA, 0, 16);
    net_rx(&r, &rxq, 3);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    net_tx(&r, &txq, 4);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, MSI_DATA(1));

    /* A message to where no RAM is (the LAPIC's window) is dropped: the
     * device carries on and nothing lands in RAM. */
    qtest_memset(r.s, MSI_GPA, 0, 16);
    qvp_msix_set_entry(&d, 1, 0xfee00000, MSI_DATA(1));
    net_tx(&r, &txq, 7);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA + 4), ==, 0);
    net_rx(&r, &rxq, 8);
    g_assert_cmphex(qtest_readl(r.s, MSI_GPA), ==, MSI_DATA(0));
    rig_stop(&r);
}

static void test_virtio_net_intx(void)
{
    NetRig r;
    QVirtioPci d;
    QVirtQueue rxq, txq;
    unsigned line;
    char *reply;

    rig_start(&r, NULL);
    line = qpci_cfg_read(r.s, NET_DEVFN, PCI_INTERRUPT_LINE, 1);
    qtest_irq_intercept_in(r.s, "ioapic");
    /* One interception per process, as in QEMU. */
    reply = qtest_raw(r.s, "irq_intercept_in ioapic");
    g_assert_cmpstr(reply, ==, "FAIL Interception already enabled");
    g_free(reply);
    net_start(&r, &d, &rxq, &txq, false);
    g_assert_false(qtest_get_irq(r.s, line));

    net_rx(&r, &rxq, 5);
    g_assert_true(qtest_get_irq(r.s, line));
    /* Reading the ISR acknowledges: the line drops. */
    g_assert_cmphex(qvp_isr(&d) & 1, ==, 1);
    g_assert_false(qtest_get_irq(r.s, line));

    net_tx(&r, &txq, 6);
    g_assert_true(qtest_get_irq(r.s, line));
    g_assert_cmphex(qvp_isr(&d) & 1, ==, 1);
    g_assert_false(qtest_get_irq(r.s, line));
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest-accel/runstate", test_runstate);
    g_test_add_func("/qtest-accel/kernel-optional", test_kernel_optional);
    g_test_add_func("/qtest-accel/machine-none-probe",
                    test_machine_none_probe);
    g_test_add_func("/qtest-accel/pci-enumeration", test_pci_enumeration);
    g_test_add_func("/qtest-accel/virtio-net/msix", test_virtio_net_msix);
    g_test_add_func("/qtest-accel/virtio-net/intx", test_virtio_net_intx);
    g_test_add_func("/qtest-accel/irq-intercept-errors",
                    test_irq_intercept_errors);
    return g_test_run();
}
