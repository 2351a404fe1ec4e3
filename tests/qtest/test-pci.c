/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI on the real pc machine: Tandem with an x-pci-test function, driven
 * through the qtest protocol as a guest would (config mechanism #1 on
 * ports 0xCF8/0xCFC, the BARs the machine assigned as a BIOS would, MMIO
 * and port I/O into them), query-pci and info pci agreeing with what
 * config space says, and the function's state (config, BAR placement,
 * device registers) surviving a migration through a file. Config space
 * and reset run under -accel qtest (no guest, no KVM); the migrations
 * need a guest, so /dev/kvm, and are skipped without it.
 */
#include <string.h>
#include "kvm-skip.h"
#include "libqtest.h"
#include "migration-helpers.h"

#define DEVFN_TEST      (5 << 3)
#define CFG_ADDR        0xcf8
#define CFG_DATA        0xcfc
#define REG_SCRATCH     0x00

static uint32_t cfg_readl(QTestState *s, unsigned devfn, unsigned reg)
{
    qtest_outl(s, CFG_ADDR, 0x80000000u | devfn << 8 | reg);
    return qtest_inl(s, CFG_DATA);
}

static void cfg_writel(QTestState *s, unsigned devfn, unsigned reg,
                       uint32_t v)
{
    qtest_outl(s, CFG_ADDR, 0x80000000u | devfn << 8 | reg);
    qtest_outl(s, CFG_DATA, v);
}

#define PCI_ARGS "-serial null -device x-pci-test,addr=5,id=t0"

static QTestState *start(const char *extra)
{
    return qtest_initf(PCI_ARGS " %s", extra ? extra : "");
}

/* The same machine under -accel qtest: no guest runs, no KVM needed. */
static QTestState *start_qtest(void)
{
    return qtest_init_accel_qtest(PCI_ARGS);
}

/* The regions query-pci reports for slot 5. */
static json_object *query_regions(QTestState *s)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': 'query-pci'}");
    json_object *devs = qt_json_get(json_object_array_get_idx(r, 0),
                                    "devices");

    for (size_t i = 0; i < json_object_array_length(devs); i++) {
        json_object *d = json_object_array_get_idx(devs, i);

        if (json_object_get_int(qt_json_get(d, "slot")) == 5) {
            json_object *regions = json_object_get(qt_json_get(d,
                                                               "regions"));
            json_object_put(r);
            return regions;
        }
    }
    g_error("slot 5 missing from query-pci");
}

static void test_config_and_bars(void)
{
    QTestState *s = start_qtest();
    json_object *regions;
    uint32_t bar0, bar1;
    g_autofree char *info = NULL;

    /* The two bridges, then ours. */
    g_assert_cmphex(cfg_readl(s, 0, 0), ==, 0x12378086);
    g_assert_cmphex(cfg_readl(s, 1 << 3, 0), ==, 0x70008086);
    g_assert_cmphex(cfg_readl(s, DEVFN_TEST, 0), ==, 0x74651234);
    g_assert_cmphex(cfg_readl(s, 2 << 3, 0), ==, 0xffffffff);

    /* Assigned and decoding, as a BIOS leaves them. */
    g_assert_cmphex(cfg_readl(s, DEVFN_TEST, 0x04) & 3, ==, 3);
    bar0 = cfg_readl(s, DEVFN_TEST, 0x10) & ~3u;
    bar1 = cfg_readl(s, DEVFN_TEST, 0x14) & ~0xfu;
    g_assert_cmphex(bar0, >=, 0xc000);
    g_assert_cmphex(bar1, >=, 0xc0000000);
    regions = query_regions(s);
    g_assert_cmpint(json_object_get_int64(qt_json_get(
        json_object_array_get_idx(regions, 0), "address")), ==, bar0);
    g_assert_cmpint(json_object_get_int64(qt_json_get(
        json_object_array_get_idx(regions, 1), "address")), ==, bar1);
    json_object_put(regions);

    /* The same registers through both BARs. */
    qtest_writel(s, bar1 + REG_SCRATCH, 0xcafef00d);
    g_assert_cmphex(qtest_inl(s, bar0 + REG_SCRATCH), ==, 0xcafef00d);

    /* Slot 5, INTA# -> PIRQA -> IRQ 10. */
    info = qtest_hmp(s, "info pci");
    g_assert_nonnull(strstr(info, "Class 65280: PCI device 1234:7465"));
    g_assert_nonnull(strstr(info, "IRQ 10, pin A"));
    g_assert_nonnull(strstr(info, "id \"t0\""));

    /* Memory decode off: the BAR is gone (query-pci says -1). */
    cfg_writel(s, DEVFN_TEST, 0x04, 1);
    regions = query_regions(s);
    g_assert_cmpint(json_object_get_int64(qt_json_get(
        json_object_array_get_idx(regions, 1), "address")), ==, -1);
    json_object_put(regions);
    g_assert_cmphex(qtest_inl(s, bar0 + REG_SCRATCH), ==, 0xcafef00d);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_reset_reassigns(void)
{
    QTestState *s = start_qtest();
    uint32_t bar1 = cfg_readl(s, DEVFN_TEST, 0x14);

    cfg_writel(s, DEVFN_TEST, 0x14, 0xd0000000);
    cfg_writel(s, DEVFN_TEST, 0x04, 0);
    json_object_put(qtest_qmp_assert_success(s,
                                             "{'execute': 'system_reset'}"));
    qtest_qmp_eventwait(s, "RESET");
    g_assert_cmphex(cfg_readl(s, DEVFN_TEST, 0x14), ==, bar1);
    g_assert_cmphex(cfg_readl(s, DEVFN_TEST, 0x04) & 3, ==, 3);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_migrate(void)
{
    g_autofree char *path = qtest_scratch_path("pci-state.bin");
    QTestState *src = start(NULL), *dst;
    uint32_t bar1;

    /* The guest moves BAR1 and writes a register. */
    cfg_writel(src, DEVFN_TEST, 0x14, 0xd0000000);
    bar1 = cfg_readl(src, DEVFN_TEST, 0x14);
    g_assert_cmphex(bar1, ==, 0xd0000000);
    qtest_writel(src, bar1 + REG_SCRATCH, 0x5eed);
    cfg_writel(src, DEVFN_TEST, 0x3c, 0x0b);
    json_object_put(qtest_qmp_assert_success(src, "{'execute': 'stop'}"));
    json_object_put(qtest_qmp_assert_success(src,
        "{'execute': 'migrate', 'arguments': {'uri': 'file:%s'}}", path));
    migrate_wait_status(src, "completed");
    qtest_quit(src);

    dst = start("-incoming defer");
    json_object_put(qtest_qmp_assert_success(dst,
        "{'execute': 'migrate-incoming', 'arguments': {'uri': 'file:%s'}}",
        path));
    migrate_wait_status(dst, "completed");
    g_assert_cmphex(cfg_readl(dst, DEVFN_TEST, 0x14), ==, 0xd0000000);
    g_assert_cmphex(cfg_readl(dst, DEVFN_TEST, 0x3c) & 0xff, ==, 0x0b);
    g_assert_cmphex(qtest_readl(dst, 0xd0000000 + REG_SCRATCH), ==, 0x5eed);
    qtest_quit(dst);
}

/* A destination whose function differs refuses the stream. */
static void test_migrate_mismatch(void)
{
    g_autofree char *path = qtest_scratch_path("pci-state.bin");
    QTestState *src = start(NULL), *dst;

    json_object_put(qtest_qmp_assert_success(src, "{'execute': 'stop'}"));
    json_object_put(qtest_qmp_assert_success(src,
        "{'execute': 'migrate', 'arguments': {'uri': 'file:%s'}}", path));
    migrate_wait_status(src, "completed");
    qtest_quit(src);

    dst = qtest_initf("-serial null -device x-pci-test,addr=5,vectors=0 "
                      "-incoming defer");
    qtest_qmp_send(dst, "{'execute': 'migrate-incoming', 'arguments': "
                   "{'uri': 'file:%s'}}", path);
    /* The destination exits on a failed incoming migration
     * (docs/migration.md); it must not start the guest. */
    g_assert_cmpint(qtest_wait_exit(dst, qtest_timeout_ms()), ==, 1);
    qtest_kill(dst);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/qtest/config-and-bars", test_config_and_bars);
    g_test_add_func("/pci/qtest/reset-reassigns", test_reset_reassigns);
    test_add_kvm_func("/pci/qtest/migrate", test_migrate);
    test_add_kvm_func("/pci/qtest/migrate-mismatch", test_migrate_mismatch);
    return g_test_run();
}
