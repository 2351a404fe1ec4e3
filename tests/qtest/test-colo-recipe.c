/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network half of QEMU's documented COLO recipe, object for object
 * (../shared/reference/qemu-colo-surface.md §1.8, with virtio-net-pci in
 * place of rtl8139), run on the real binary as two or three processes
 * under -accel qtest: the test is both guests' driver and the outside
 * world (each NIC's -netdev dgram ends in a socket the test holds).
 *
 * What this proves without KVM: the recipe's command lines are accepted
 * as written and wire up as the recipe means (a frame from outside
 * reaches the primary's guest and, through filter-mirror and the
 * secondary's redirector, the secondary's; the primary guest's output
 * leaves through colo-compare; the secondary guest's never leaves), and
 * both failover runbooks and the re-protect step run as written: the
 * objects and chardevs go in QEMU's order with no error, the survivor's
 * guest then talks to the outside directly, announce-self reaches the
 * outside, and a survivor re-protected with the filters inserted before
 * its rewriter feeds a new secondary. The checkpoints themselves (a COLO
 * run) need vCPUs and are tested with KVM in tests/functional.
 *
 * Left out of the recipe, and why: -S and the secondary's -incoming (no
 * migration under -accel qtest, and with no guest running -S changes
 * nothing here); the disk half (quorum, replication) is the block
 * replication issue's; unix sockets stand in for the recipe's TCP ports
 * so parallel runs cannot collide.
 */
#include <string.h>
#include "libqtest.h"
#include "libqvirtio-net.h"

#define NIC_DEVFN       (2 << 3)
#define NIC_GPA         0x100000ULL
#define FRAME_LEN       60
#define QUIET_MS        300         /* how long "nothing arrives" waits */

/* The chardev sockets the two sides share. */
typedef struct RecipePaths {
    char *mirror;               /* primary mirror0 <- secondary red0 */
    char *compare1;             /* primary compare1 <- secondary red1 */
    char *compare0;             /* primary compare0 <- its compare0-0 */
    char *compare_out;          /* primary compare_out <- compare_out0 */
} RecipePaths;

typedef struct Side {
    QTestState *s;
    QNetWire wire;
    QVirtioNet nic;
} Side;

static void paths_init(RecipePaths *p)
{
    p->mirror = qtest_scratch_path("mirror.sock");
    p->compare1 = qtest_scratch_path("compare1.sock");
    p->compare0 = qtest_scratch_path("compare0.sock");
    p->compare_out = qtest_scratch_path("compare-out.sock");
}

static void paths_free(RecipePaths *p)
{
    g_free(p->mirror);
    g_free(p->compare1);
    g_free(p->compare0);
    g_free(p->compare_out);
}

static void side_start_nic(Side *side)
{
    qvnet_start(&side->nic, side->s, NIC_DEVFN, NIC_GPA, NULL);
}

/* The recipe's secondary: redirectors from and to the primary's ports,
 * and the rewriter. reconnect-ms as in the recipe (shorter, for speed). */
static void secondary_start(Side *side, const char *name,
                            const RecipePaths *p)
{
    qnet_wire_open(&side->wire, name);
    side->s = qtest_initf_accel_qtest(
        "-netdev %s,id=hn0 "
        "-device virtio-net-pci,netdev=hn0,id=nic0,mac=52:54:00:12:34:56 "
        "-chardev socket,id=red0,path=%s,reconnect-ms=100 "
        "-chardev socket,id=red1,path=%s,reconnect-ms=100 "
        "-object filter-redirector,id=f1,netdev=hn0,queue=tx,indev=red0 "
        "-object filter-redirector,id=f2,netdev=hn0,queue=rx,outdev=red1 "
        "-object filter-rewriter,id=rew0,netdev=hn0,queue=all",
        side->wire.netdev_opts, p->mirror, p->compare1);
    side_start_nic(side);
}

/* The recipe's primary. compare1 is server,wait=on: this blocks until
 * the secondary (already started, reconnecting) connects. */
static void primary_start(Side *side, const RecipePaths *p)
{
    qnet_wire_open(&side->wire, "primary");
    side->s = qtest_initf_accel_qtest(
        "-netdev %s,id=hn0 "
        "-device virtio-net-pci,netdev=hn0,id=nic0,mac=52:54:00:12:34:56 "
        "-chardev socket,id=mirror0,path=%s,server=on,wait=off "
        "-chardev socket,id=compare1,path=%s,server=on,wait=on "
        "-chardev socket,id=compare0,path=%s,server=on,wait=off "
        "-chardev socket,id=compare0-0,path=%s "
        "-chardev socket,id=compare_out,path=%s,server=on,wait=off "
        "-chardev socket,id=compare_out0,path=%s "
        "-object filter-mirror,id=m0,netdev=hn0,queue=tx,outdev=mirror0 "
        "-object filter-redirector,netdev=hn0,id=redire0,queue=rx,"
        "indev=compare_out "
        "-object filter-redirector,netdev=hn0,id=redire1,queue=rx,"
        "outdev=compare0 "
        "-object iothread,id=iothread1 "
        "-object colo-compare,id=comp0,primary_in=compare0-0,"
        "secondary_in=compare1,outdev=compare_out0,iothread=iothread1",
        side->wire.netdev_opts, p->mirror, p->compare1, p->compare0,
        p->compare0, p->compare_out, p->compare_out);
    side_start_nic(side);
}

static void side_stop(Side *side)
{
    g_assert_cmpint(qtest_quit(side->s), ==, 0);
    qnet_wire_close(&side->wire);
}

static void side_kill(Side *side)
{
    qtest_kill(side->s);
    qnet_wire_close(&side->wire);
}

/* query-chardev until label is connected (its filename loses the
 * "disconnected:" prefix). */
static void wait_chardev_connected(QTestState *s, const char *label)
{
    gint64 deadline = g_get_monotonic_time() + qtest_timeout_ms() * 1000LL;

    for (;;) {
        json_object *list = qtest_qmp_assert_success(
            s, "{'execute': 'query-chardev'}");
        bool connected = false, found = false;

        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *c = json_object_array_get_idx(list, i);

            if (!strcmp(qt_json_str(c, "label"), label)) {
                found = true;
                connected = !g_str_has_prefix(qt_json_str(c, "filename"),
                                              "disconnected:");
            }
        }
        json_object_put(list);
        g_assert_true(found);
        if (connected) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

static void make_frame(uint8_t *f, uint8_t seed)
{
    static const uint8_t dst[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;       /* local experimental ethertype: no protocol */
    f[13] = 0xb5;
    for (unsigned i = 14; i < FRAME_LEN; i++) {
        f[i] = seed ^ i;
    }
}

/* The guest of to has frame in its posted RX buffer. */
static void expect_rx(Side *to, const uint8_t *frame)
{
    uint8_t got[QVNET_FRAME_MAX];

    g_assert_cmpint(qvnet_rx_wait(&to->nic, got, sizeof(got),
                                  qtest_timeout_ms()), ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, frame, FRAME_LEN);
}

/* The outside of side receives frame next. */
static void expect_wire(Side *side, const uint8_t *frame)
{
    uint8_t got[QVNET_FRAME_MAX];

    g_assert_cmpint(qnet_wire_recv(&side->wire, got, sizeof(got),
                                   qtest_timeout_ms()), ==, FRAME_LEN);
    g_assert_cmpmem(got, FRAME_LEN, frame, FRAME_LEN);
}

static void expect_wire_quiet(Side *side)
{
    uint8_t got[QVNET_FRAME_MAX];

    g_assert_cmpint(qnet_wire_recv(&side->wire, got, sizeof(got), QUIET_MS),
                    ==, -1);
}

/* colo-compare's figures for id, polled until dropped (secondary frames
 * dropped outside a COLO run) reaches want. */
static void wait_compare_dropped(QTestState *s, const char *id, int64_t want)
{
    gint64 deadline = g_get_monotonic_time() + qtest_timeout_ms() * 1000LL;

    for (;;) {
        json_object *st = qtest_qmp_assert_success(
            s, "{'execute': 'query-colo-stats'}");
        json_object *list = qt_json_get(st, "compare");
        int64_t dropped = -1;

        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
            json_object *c = json_object_array_get_idx(list, i);

            if (!strcmp(qt_json_str(c, "id"), id)) {
                dropped = json_object_get_int64(qt_json_get(c, "secondary-dropped"));
            }
        }
        json_object_put(st);
        g_assert_cmpint(dropped, <=, want);
        if (dropped == want) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

/*
 * The protected pair's traffic, primary pri and secondary sec: a frame
 * from outside reaches both guests; the primary guest's answer leaves
 * through colo-compare; the secondary guest's answer reaches
 * colo-compare (dropped there: no COLO run) and never the outside.
 */
static void check_protected(Side *pri, Side *sec, const char *compare_id,
                            int64_t dropped_before, uint8_t seed)
{
    uint8_t in[FRAME_LEN], out_pri[FRAME_LEN], out_sec[FRAME_LEN];

    make_frame(in, seed);
    make_frame(out_pri, seed + 1);
    make_frame(out_sec, seed + 2);
    qvnet_rx_post(&pri->nic);
    qvnet_rx_post(&sec->nic);
    qnet_wire_send(&pri->wire, in, FRAME_LEN);
    expect_rx(pri, in);
    expect_rx(sec, in);

    qvnet_send(&sec->nic, out_sec, FRAME_LEN);
    wait_compare_dropped(pri->s, compare_id, dropped_before + 1);
    qvnet_send(&pri->nic, out_pri, FRAME_LEN);
    expect_wire(pri, out_pri);
    expect_wire_quiet(pri);
    expect_wire_quiet(sec);
}

/* A survivor with no filters left in the way talks to the outside. */
static void check_alone(Side *side, uint8_t seed)
{
    uint8_t in[FRAME_LEN], out[FRAME_LEN];

    make_frame(in, seed);
    make_frame(out, seed + 1);
    qvnet_rx_post(&side->nic);
    qnet_wire_send(&side->wire, in, FRAME_LEN);
    expect_rx(side, in);
    qvnet_send(&side->nic, out, FRAME_LEN);
    expect_wire(side, out);
}

/* announce-self: the outside hears the NIC's MAC (gratuitous ARP or
 * RARP), so switches learn where the guest now is. */
static void check_announce(Side *side)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    uint8_t got[QVNET_FRAME_MAX];
    ssize_t n;
    uint16_t type;

    qtest_qmp_ok(side->s, "{'execute': 'announce-self', 'arguments': "
                 "{'initial': 50, 'max': 100, 'rounds': 1, 'step': 10}}");
    n = qnet_wire_recv(&side->wire, got, sizeof(got), qtest_timeout_ms());
    g_assert_cmpint(n, >=, 14);
    g_assert_cmpmem(got + 6, 6, mac, 6);
    type = got[12] << 8 | got[13];
    g_assert_true(type == 0x0806 || type == 0x8035);
}

/* The netdev's filter chain in order, from `info network`: "a,b,c". */
static char *filter_chain(QTestState *s)
{
    g_autofree char *info = qtest_hmp(s, "info network");
    g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
    GString *ids = g_string_new(NULL);

    for (char **l = lines; *l; l++) {
        const char *colon = strchr(*l, ':');

        if (g_str_has_prefix(*l, "  - ") && colon) {
            g_string_append_printf(ids, "%s%.*s", ids->len ? "," : "",
                                   (int)(colon - *l - 4), *l + 4);
        }
    }
    return g_string_free(ids, FALSE);
}

static void assert_chain(QTestState *s, const char *want)
{
    g_autofree char *chain = filter_chain(s);

    g_assert_cmpstr(chain, ==, want);
}

static void assert_not_in_colo(QTestState *s)
{
    g_autofree char *desc = qtest_qmp_assert_error(
        s, NULL, "{'execute': 'x-colo-lost-heartbeat'}");

    g_test_message("x-colo-lost-heartbeat outside COLO: %s", desc);
}

static void object_del(QTestState *s, const char *id)
{
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': {'id': '%s'}}",
                 id);
}

static void chardev_remove(QTestState *s, const char *id)
{
    qtest_qmp_ok(s, "{'execute': 'chardev-remove', 'arguments': "
                 "{'id': '%s'}}", id);
}

static void wait_pair_connected(Side *pri, Side *sec)
{
    wait_chardev_connected(pri->s, "mirror0");
    wait_chardev_connected(pri->s, "compare1");
    wait_chardev_connected(sec->s, "red0");
    wait_chardev_connected(sec->s, "red1");
}

/* The secondary died: the primary's failover runbook, in its order. */
static void test_primary_failover(void)
{
    RecipePaths p;
    Side pri, sec;
    json_object *st;

    paths_init(&p);
    secondary_start(&sec, "secondary", &p);
    primary_start(&pri, &p);
    wait_pair_connected(&pri, &sec);
    assert_chain(pri.s, "m0,redire0,redire1");
    assert_chain(sec.s, "f1,f2,rew0");
    check_protected(&pri, &sec, "comp0", 0, 0x10);

    side_kill(&sec);
    object_del(pri.s, "comp0");
    object_del(pri.s, "iothread1");
    object_del(pri.s, "m0");
    object_del(pri.s, "redire0");
    object_del(pri.s, "redire1");
    assert_chain(pri.s, "");
    assert_not_in_colo(pri.s);
    st = qtest_qmp_assert_success(pri.s, "{'execute': 'query-colo-stats'}");
    g_assert_false(qt_json_has(st, "compare"));
    json_object_put(st);

    check_alone(&pri, 0x20);
    check_announce(&pri);
    side_stop(&pri);
    paths_free(&p);
}

/*
 * The primary died: the secondary's failover runbook, then re-protect
 * with the survivor as the new primary (its filters inserted before the
 * rewriter it keeps) and a new secondary.
 */
static void test_secondary_failover_reprotect(void)
{
    RecipePaths p, q;
    Side pri, sec, fresh;
    const char *ins = "'insert': 'before', 'position': 'id=rew0'";

    paths_init(&p);
    secondary_start(&sec, "secondary", &p);
    primary_start(&pri, &p);
    wait_pair_connected(&pri, &sec);
    check_protected(&pri, &sec, "comp0", 0, 0x30);

    side_kill(&pri);
    assert_not_in_colo(sec.s);
    object_del(sec.s, "f2");
    object_del(sec.s, "f1");
    chardev_remove(sec.s, "red1");
    chardev_remove(sec.s, "red0");
    assert_chain(sec.s, "rew0");
    check_alone(&sec, 0x40);
    check_announce(&sec);

    /* Re-protect: the primary-side chardev set, a new secondary, the
     * primary's objects inserted before rew0. */
    paths_init(&q);
    qtest_qmp_ok(sec.s, "{'execute': 'chardev-add', 'arguments': "
                 "{'id': 'mirror0', 'backend': {'type': 'socket', 'data': "
                 "{'addr': {'type': 'unix', 'data': {'path': '%s'}}, "
                 "'server': true, 'wait': false}}}}", q.mirror);
    qtest_qmp_ok(sec.s, "{'execute': 'chardev-add', 'arguments': "
                 "{'id': 'compare1', 'backend': {'type': 'socket', 'data': "
                 "{'addr': {'type': 'unix', 'data': {'path': '%s'}}, "
                 "'server': true, 'wait': false}}}}", q.compare1);
    qtest_qmp_ok(sec.s, "{'execute': 'chardev-add', 'arguments': "
                 "{'id': 'compare0', 'backend': {'type': 'socket', 'data': "
                 "{'addr': {'type': 'unix', 'data': {'path': '%s'}}, "
                 "'server': true, 'wait': false}}}}", q.compare0);
    qtest_qmp_ok(sec.s, "{'execute': 'chardev-add', 'arguments': "
                 "{'id': 'compare0-0', 'backend': {'type': 'socket', 'data': "
                 "{'addr': {'type': 'unix', 'data': {'path': '%s'}}, "
                 "'server': false}}}}", q.compare0);
    qtest_qmp_ok(sec.s, "{'execute': 'chardev-add', 'arguments': "
                 "{'id': 'compare_out', 'backend': {'type': 'socket', 'data': "
                 "{'addr': {'type': 'unix', 'data': {'path': '%s'}}, "
                 "'server': true, 'wait': false}}}}", q.compare_out);
    qtest_qmp_ok(sec.s, "{'execute': 'chardev-add', 'arguments': "
                 "{'id': 'compare_out0', 'backend': {'type': 'socket', "
                 "'data': {'addr': {'type': 'unix', 'data': {'path': '%s'}}, "
                 "'server': false}}}}", q.compare_out);
    secondary_start(&fresh, "fresh", &q);
    qtest_qmp_ok(sec.s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'filter-mirror', 'id': 'm0', 'netdev': 'hn0', "
                 "'queue': 'tx', 'outdev': 'mirror0', %s}}", ins);
    qtest_qmp_ok(sec.s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'filter-redirector', 'id': 'redire0', "
                 "'netdev': 'hn0', 'queue': 'rx', 'indev': 'compare_out', "
                 "%s}}", ins);
    qtest_qmp_ok(sec.s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'filter-redirector', 'id': 'redire1', "
                 "'netdev': 'hn0', 'queue': 'rx', 'outdev': 'compare0', "
                 "%s}}", ins);
    qtest_qmp_ok(sec.s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'iothread', 'id': 'iothread1'}}");
    qtest_qmp_ok(sec.s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'colo-compare', 'id': 'comp0', "
                 "'primary_in': 'compare0-0', 'secondary_in': 'compare1', "
                 "'outdev': 'compare_out0', 'iothread': 'iothread1'}}");
    /* Inserted before rew0 one after another: the rewriter stays last,
     * nearest the guest, so it still sees the guest's output first. */
    assert_chain(sec.s, "m0,redire0,redire1,rew0");
    wait_pair_connected(&sec, &fresh);
    check_protected(&sec, &fresh, "comp0", 0, 0x50);

    side_stop(&fresh);
    side_stop(&sec);
    paths_free(&p);
    paths_free(&q);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-recipe/network/primary-failover",
                    test_primary_failover);
    g_test_add_func("/colo-recipe/network/secondary-failover-reprotect",
                    test_secondary_failover_reprotect);
    return g_test_run();
}
