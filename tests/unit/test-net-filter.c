/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Netfilters (net/filter*.c) between two pretend NICs on a hub, created
 * the way -object and object-add create them (object_create_cmdline),
 * with real socket chardevs on UNIX sockets for mirror and redirector.
 *
 *   guest NIC "g" -- hubport hp0 ==hub== hubport hp1 -- NIC "w" (world)
 *                    filters here
 *
 * A frame the guest sends is rx on hp0 (the netdev receives it); a frame
 * the world sends reaches the guest as tx on hp0 (the netdev sends it).
 * A probe filter type defined here logs its id for every frame it sees,
 * so chain order is read off the log.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "os-util.h"
#include "chardev/char.h"
#include "net-test-nic.h"
#include "net/filter.h"
#include "net/frame-codec.h"
#include "net/netdev.h"
#include "qom/object.h"
#include "util/main-loop.h"
#include "migration/colo.h"
/* colo_run_begin/end: a real primary mode for the checkpoint trigger. */
#include "../../migration/colo-internal.h"

static char *tmp_dir;

/* ---- a probe filter: logs "id:rx" / "id:tx", passes or drops ---- */

static GString *probe_log;

typedef struct Probe {
    NetFilterState nf;
    bool drop;
} Probe;

static ssize_t probe_receive(NetFilterState *nf, NetClientState *sender,
                             NetFilterDirection dir, const struct iovec *iov,
                             int iovcnt)
{
    g_string_append_printf(probe_log, "%s:%s ", nf->parent.id,
                           netfilter_direction_str(dir));
    return ((Probe *)nf)->drop ? (ssize_t)iov[0].iov_len : 0;
}

static const NetFilterOps probe_ops = { .receive_iov = probe_receive };

static bool probe_complete(Object *obj, Error **errp)
{
    return netfilter_complete(obj, &probe_ops, errp);
}

static const ObjectProperty probe_props[] = {
    OBJ_PROP("drop", OBJ_PROP_BOOL, Probe, drop, "consume every frame"),
    { NULL },
};

static const TypeInfo probe_type = {
    .name = "x-test-probe",
    .parent = TYPE_NETFILTER,
    .user_creatable = true,
    .instance_size = sizeof(Probe),
    .props = probe_props,
    .complete = probe_complete,
    .finalize = netfilter_finalize,
};
TYPE_REGISTER(probe_type)

/* ---- the fixture ---- */

typedef struct Fx {
    TestNic *g, *w;
} Fx;

static void fx_init(Fx *fx)
{
    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=hp0,hubid=3",
                                            &error_abort));
    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=hp1,hubid=3",
                                            &error_abort));
    fx->g = test_nic_new("g", "hp0");
    fx->w = test_nic_new("w", "hp1");
    g_string_truncate(probe_log, 0);
}

static void fx_destroy(Fx *fx)
{
    test_nic_free(fx->g);
    test_nic_free(fx->w);
    net_netdev_del("hp0", &error_abort);
    net_netdev_del("hp1", &error_abort);
    object_delete_all();
    chardev_close_all();
}

static Object *obj_add(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static Object *obj_add(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *arg = NULL;

    va_start(ap, fmt);
    arg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return object_create_cmdline(arg, &error_abort);
}

static void obj_add_fails(const char *arg, const char *want)
{
    Error *err = NULL;

    g_assert_null(object_create_cmdline(arg, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), want)) {
        g_test_message("error: %s", error_get_pretty(err));
    }
    g_assert_nonnull(strstr(error_get_pretty(err), want));
    error_free(err);
}

/* A 60-byte frame whose byte 14 tells frames apart. */
static void frame_fill(uint8_t *f, uint8_t tag)
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    f[6] = 0x52;
    f[12] = 0x08;
    f[14] = tag;
}

static void guest_sends(Fx *fx, uint8_t tag)
{
    uint8_t f[60];

    frame_fill(f, tag);
    g_assert_cmpint(test_nic_send(fx->g, f, sizeof(f)), ==, sizeof(f));
}

static void world_sends(Fx *fx, uint8_t tag)
{
    uint8_t f[60];

    frame_fill(f, tag);
    g_assert_cmpint(test_nic_send(fx->w, f, sizeof(f)), ==, sizeof(f));
}

static uint8_t got_tag(TestNic *n, guint i)
{
    g_assert_cmpuint(i, <, n->got->len);
    return ((const uint8_t *)g_bytes_get_data(g_ptr_array_index(n->got, i),
                                              NULL))[14];
}

/* ---- chain order, status, direction ---- */

static void test_chain_order(void)
{
    Fx fx;

    fx_init(&fx);
    obj_add("x-test-probe,id=b,netdev=hp0");
    obj_add("x-test-probe,id=d,netdev=hp0");                  /* tail */
    obj_add("x-test-probe,id=a,netdev=hp0,position=head");
    obj_add("x-test-probe,id=c,netdev=hp0,position=id=d,insert=before");
    obj_add("x-test-probe,id=e,netdev=hp0,position=id=d");    /* behind */
    /* From the world (tx): in chain order. */
    world_sends(&fx, 1);
    g_assert_cmpstr(probe_log->str, ==, "a:tx b:tx c:tx d:tx e:tx ");
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    /* From the guest (rx): in reverse. */
    g_string_truncate(probe_log, 0);
    guest_sends(&fx, 2);
    g_assert_cmpstr(probe_log->str, ==, "e:rx d:rx c:rx b:rx a:rx ");
    g_assert_cmpuint(fx.w->got->len, ==, 1);
    /* A consuming filter ends the walk; the sender is told it went. */
    g_string_truncate(probe_log, 0);
    obj_add("x-test-probe,id=x,netdev=hp0,position=id=b,drop=on");
    world_sends(&fx, 3);
    guest_sends(&fx, 4);
    g_assert_cmpstr(probe_log->str, ==,
                    "a:tx b:tx x:tx e:rx d:rx c:rx x:rx ");
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    g_assert_cmpuint(fx.w->got->len, ==, 1);
    fx_destroy(&fx);
}

static void test_bad_options(void)
{
    Fx fx;

    fx_init(&fx);
    obj_add("x-test-probe,id=a,netdev=hp0");
    obj_add_fails("x-test-probe,id=b", "netdev");
    obj_add_fails("x-test-probe,id=b,netdev=nope", "expects a network backend");
    obj_add_fails("x-test-probe,id=b,netdev=hp0,queue=up",
                  "does not accept value 'up'");
    obj_add_fails("x-test-probe,id=b,netdev=hp0,status=maybe",
                  "expect 'on' or 'off'");
    obj_add_fails("x-test-probe,id=b,netdev=hp0,position=id=zz",
                  "filter 'zz' not found");
    obj_add_fails("x-test-probe,id=b,netdev=hp1,position=id=a",
                  "belongs to a different netdev");
    obj_add_fails("x-test-probe,id=b,netdev=hp0,position=middle",
                  "'head', 'tail' or 'id=<id>'");
    obj_add_fails("x-test-probe,id=b,netdev=hp0,position=id=a,insert=over",
                  "'before' or 'behind'");
    obj_add_fails("filter-buffer,id=b,netdev=hp0,interval=0",
                  "non-zero interval");
    obj_add_fails("filter-buffer,id=b,netdev=hp0", "interval");
    obj_add_fails("filter-mirror,id=b,netdev=hp0", "'outdev' cannot be empty");
    obj_add_fails("filter-mirror,id=b,netdev=hp0,outdev=nochr",
                  "Device 'nochr' not found");
    obj_add_fails("filter-redirector,id=b,netdev=hp0",
                  "needs 'indev' or 'outdev'");
    obj_add_fails("filter-redirector,id=b,netdev=hp0,indev=c,outdev=c",
                  "could not be same");
    obj_add_fails("netfilter,id=b,netdev=hp0", "isn't supported");
    /* None of the failures joined the chain. */
    world_sends(&fx, 1);
    g_assert_cmpstr(probe_log->str, ==, "a:tx ");
    fx_destroy(&fx);
}

static void test_status(void)
{
    Fx fx;
    Error *err = NULL;
    Object *o;
    json_object *off = json_object_new_string("off");
    json_object *on = json_object_new_string("on");
    json_object *bad = json_object_new_string("half");

    fx_init(&fx);
    o = obj_add("x-test-probe,id=a,netdev=hp0,drop=on");
    obj_add("x-test-probe,id=b,netdev=hp0,status=off");
    world_sends(&fx, 1);
    g_assert_cmpstr(probe_log->str, ==, "a:tx ");
    g_assert_cmpuint(fx.g->got->len, ==, 0);
    /* qom-set status=off: the dropping filter is skipped, live. */
    g_assert_true(object_set_prop_live(o, "status", off, &error_abort));
    g_string_truncate(probe_log, 0);
    world_sends(&fx, 2);
    guest_sends(&fx, 3);
    g_assert_cmpstr(probe_log->str, ==, "");
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    g_assert_cmpuint(fx.w->got->len, ==, 1);
    g_assert_false(object_set_prop_live(o, "status", bad, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "expect 'on' or 'off'"));
    g_clear_pointer(&err, error_free);
    g_assert_false(object_set_prop_live(o, "queue", on, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "can't be set"));
    g_clear_pointer(&err, error_free);
    g_assert_true(object_set_prop_live(o, "status", on, &error_abort));
    world_sends(&fx, 4);
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    json_object_put(off);
    json_object_put(on);
    json_object_put(bad);
    fx_destroy(&fx);
}

/* queue=rx sees guest output only, queue=tx what goes to the guest only,
 * with probes and with a real consuming filter (a redirector). */
static void test_direction(void)
{
    Fx fx;

    fx_init(&fx);
    obj_add("x-test-probe,id=r,netdev=hp0,queue=rx");
    obj_add("x-test-probe,id=t,netdev=hp0,queue=tx");
    guest_sends(&fx, 1);
    g_assert_cmpstr(probe_log->str, ==, "r:rx ");
    g_string_truncate(probe_log, 0);
    world_sends(&fx, 2);
    g_assert_cmpstr(probe_log->str, ==, "t:tx ");
    fx_destroy(&fx);

    /* A dropping filter with queue=rx: the guest's frames vanish, the
     * world's reach the guest. */
    fx_init(&fx);
    obj_add("x-test-probe,id=d,netdev=hp0,queue=rx,drop=on");
    guest_sends(&fx, 1);
    world_sends(&fx, 2);
    g_assert_cmpuint(fx.w->got->len, ==, 0);
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    g_assert_cmpuint(got_tag(fx.g, 0), ==, 2);
    fx_destroy(&fx);

    /* And queue=tx: the other way round. */
    fx_init(&fx);
    obj_add("x-test-probe,id=d,netdev=hp0,queue=tx,drop=on");
    guest_sends(&fx, 1);
    world_sends(&fx, 2);
    g_assert_cmpuint(fx.w->got->len, ==, 1);
    g_assert_cmpuint(got_tag(fx.w, 0), ==, 1);
    g_assert_cmpuint(fx.g->got->len, ==, 0);
    fx_destroy(&fx);
}

/* ---- filter-buffer ---- */

static void test_buffer(void)
{
    Fx fx;
    Object *o;
    NetFilterState *nf;
    int64_t t0, t1;
    json_object *off = json_object_new_string("off");

    fx_init(&fx);
    /* 200 ms, guest output only. */
    o = obj_add("filter-buffer,id=fb,netdev=hp0,queue=rx,interval=200000");
    obj_add("x-test-probe,id=p,netdev=hp0,position=head");
    nf = (NetFilterState *)o;
    t0 = g_get_monotonic_time();
    guest_sends(&fx, 1);
    guest_sends(&fx, 2);
    world_sends(&fx, 3);        /* tx: not buffered */
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    g_assert_cmpuint(fx.w->got->len, ==, 0);
    g_assert_cmpuint(filter_buffer_held(nf), ==, 2);
    /* The probe sits before the buffer in chain order, so guest output
     * meets it after the buffer: only once the buffer releases. */
    g_assert_cmpstr(probe_log->str, ==, "p:tx ");
    test_net_spin(50);
    g_assert_cmpuint(fx.w->got->len, ==, 0);
    while (fx.w->got->len < 2 && g_get_monotonic_time() - t0 < 2000000) {
        main_loop_wait(false);
    }
    t1 = g_get_monotonic_time();
    g_assert_cmpuint(fx.w->got->len, ==, 2);
    g_assert_cmpuint(got_tag(fx.w, 0), ==, 1);
    g_assert_cmpuint(got_tag(fx.w, 1), ==, 2);
    g_assert_cmpint(t1 - t0, >=, 190000);
    g_assert_cmpint(t1 - t0, <, 1000000);
    g_assert_cmpstr(probe_log->str, ==, "p:tx p:rx p:rx ");
    /* status=off releases at once and stops holding. */
    guest_sends(&fx, 4);
    g_assert_cmpuint(fx.w->got->len, ==, 2);
    g_assert_true(object_set_prop_live(o, "status", off, &error_abort));
    g_assert_cmpuint(fx.w->got->len, ==, 3);
    guest_sends(&fx, 5);
    g_assert_cmpuint(fx.w->got->len, ==, 4);
    json_object_put(off);
    fx_destroy(&fx);
}

/* object-del mid-traffic: what the buffer holds goes on, nothing after. */
static void test_object_del(void)
{
    Fx fx;

    fx_init(&fx);
    obj_add("filter-buffer,id=fb,netdev=hp0,interval=10000000");
    for (int i = 0; i < 5; i++) {
        guest_sends(&fx, i);
        world_sends(&fx, 100 + i);
    }
    g_assert_cmpuint(fx.w->got->len + fx.g->got->len, ==, 0);
    g_assert_true(object_delete("fb", &error_abort));
    g_assert_cmpuint(fx.w->got->len, ==, 5);
    g_assert_cmpuint(fx.g->got->len, ==, 5);
    for (int i = 0; i < 5; i++) {
        g_assert_cmpuint(got_tag(fx.w, i), ==, i);
        g_assert_cmpuint(got_tag(fx.g, i), ==, 100 + i);
    }
    guest_sends(&fx, 9);
    g_assert_cmpuint(fx.w->got->len, ==, 6);
    g_assert_null(object_find("fb"));

    /* A netdev deleted under its filters takes them with it (QEMU). */
    obj_add("filter-buffer,id=fb2,netdev=hp0,interval=10000000");
    guest_sends(&fx, 10);
    test_nic_free(fx.g);
    fx.g = NULL;
    g_assert_true(net_netdev_del("hp0", &error_abort));
    g_assert_null(object_find("fb2"));
    test_nic_free(fx.w);
    net_netdev_del("hp1", &error_abort);
    object_delete_all();
}

/* ---- chardevs: a UNIX server chardev and a raw peer ---- */

static char *sock_path(const char *name)
{
    return g_strdup_printf("%s/%s.sock", tmp_dir, name);
}

static Chardev *server_chardev(const char *id, char **path)
{
    g_autofree char *opts = NULL;

    *path = sock_path(id);
    opts = g_strdup_printf("socket,id=%s,path=%s,server=on,wait=off", id,
                           *path);
    return chardev_new_from_opts(opts, &error_abort);
}

static bool chr_connected(void *opaque)
{
    return chardev_is_connected(opaque);
}

/* A raw peer of a server chardev, once the chardev saw it. */
static int connect_peer(Chardev *chr, const char *path)
{
    int fd = test_unix_connect(path);

    g_assert_true(test_net_spin_until(chr_connected, chr, 2000));
    return fd;
}

typedef struct Frames {
    GPtrArray *frames;          /* GBytes */
    GArray *vnet;               /* size_t */
} Frames;

static void frames_got(void *opaque, const uint8_t *frame, size_t len,
                       size_t vnet_hdr_len)
{
    Frames *f = opaque;

    g_ptr_array_add(f->frames, g_bytes_new(frame, len));
    g_array_append_val(f->vnet, vnet_hdr_len);
}

/* Reads what the peer fd has now (spinning the main loop meanwhile) and
 * decodes it; returns the raw bytes too. */
static GByteArray *read_peer(int fd, size_t want, int ms)
{
    GByteArray *b = g_byte_array_new();
    int64_t end = g_get_monotonic_time() + ms * 1000;
    uint8_t buf[4096];

    while (b->len < want && g_get_monotonic_time() < end) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0) {
            g_byte_array_append(b, buf, n);
        } else {
            main_loop_wait(false);
        }
    }
    return b;
}

static void decode(GByteArray *b, bool vnet, Frames *f)
{
    NetFrameDecoder d;

    f->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    f->vnet = g_array_new(FALSE, FALSE, sizeof(size_t));
    net_frame_decoder_init(&d, vnet, NET_MAX_FRAME);
    g_assert_true(net_frame_decoder_feed(&d, b->data, b->len, frames_got, f,
                                         &error_abort));
    net_frame_decoder_destroy(&d);
}

static void frames_free(Frames *f)
{
    g_ptr_array_free(f->frames, TRUE);
    g_array_free(f->vnet, TRUE);
}

static void test_mirror_framing(gconstpointer opaque)
{
    bool vnet = GPOINTER_TO_INT(opaque);
    Fx fx;
    g_autofree char *path = NULL;
    Chardev *chr;
    int peer;
    uint8_t f1[60], f2[100];
    g_autoptr(GByteArray) raw = NULL;
    Frames fr;
    size_t want;

    fx_init(&fx);
    chr = server_chardev("mir", &path);
    if (vnet) {
        /* Both ends carry a 12-byte virtio-net header. */
        fx.g->nc->peer->vnet_hdr_len = 12;
        fx.g->nc->vnet_hdr_len = 12;
    }
    obj_add("filter-mirror,id=m0,netdev=hp0,queue=tx,outdev=mir%s",
            vnet ? ",vnet_hdr_support=on" : "");
    peer = connect_peer(chr, path);
    frame_fill(f1, 1);
    frame_fill(f2, 2);
    f2[99] = 0xee;
    test_nic_send(fx.w, f1, sizeof(f1));
    test_nic_send(fx.w, f2, sizeof(f2));
    guest_sends(&fx, 3);                /* rx: not mirrored */
    /* The frames went on to the guest as well. */
    g_assert_cmpuint(fx.g->got->len, ==, 2);
    want = (vnet ? 8 : 4) * 2 + sizeof(f1) + sizeof(f2);
    raw = read_peer(peer, want, 2000);
    g_assert_cmpuint(raw->len, ==, want);
    /* Byte-exact: the first header by hand, then the codec. */
    g_assert_cmpuint(raw->data[0] << 24 | raw->data[1] << 16 |
                     raw->data[2] << 8 | raw->data[3], ==, sizeof(f1));
    if (vnet) {
        g_assert_cmpuint(raw->data[4] << 24 | raw->data[5] << 16 |
                         raw->data[6] << 8 | raw->data[7], ==, 12);
    }
    decode(raw, vnet, &fr);
    g_assert_cmpuint(fr.frames->len, ==, 2);
    g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(fr.frames, 0), NULL),
                    g_bytes_get_size(g_ptr_array_index(fr.frames, 0)),
                    f1, sizeof(f1));
    g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(fr.frames, 1), NULL),
                    g_bytes_get_size(g_ptr_array_index(fr.frames, 1)),
                    f2, sizeof(f2));
    g_assert_cmpuint(g_array_index(fr.vnet, size_t, 1), ==, vnet ? 12 : 0);
    frames_free(&fr);
    close(peer);
    fx_destroy(&fx);
}

/*
 * A netdev whose frames carry a virtio-net header, mirrored without
 * vnet_hdr_support: the reader would take the header for the Ethernet
 * header, so the filter says so, once, naming both ways out. With
 * vnet_hdr_support=on it has nothing to say.
 */
static void test_mirror_vnet_hdr_warning(gconstpointer opaque)
{
    bool support = GPOINTER_TO_INT(opaque);
    Fx fx;
    g_autofree char *path = NULL;
    g_autofree char *log = NULL;
    g_autoptr(GByteArray) raw = NULL;
    Chardev *chr;
    uint8_t f[60];
    int peer;
    size_t want;
    const char *first;
    TestStderrCapture *cap;

    fx_init(&fx);
    chr = server_chardev("mir", &path);
    fx.g->nc->peer->vnet_hdr_len = 12;
    fx.g->nc->vnet_hdr_len = 12;
    obj_add("filter-mirror,id=m0,netdev=hp0,queue=tx,outdev=mir%s",
            support ? ",vnet_hdr_support=on" : "");
    peer = connect_peer(chr, path);
    frame_fill(f, 1);
    cap = test_stderr_capture_start();
    for (int i = 0; i < 3; i++) {
        test_nic_send(fx.w, f, sizeof(f));
    }
    want = 3 * ((support ? 8 : 4) + sizeof(f));
    raw = read_peer(peer, want, 2000);
    log = test_stderr_capture_end(cap);
    g_assert_cmpuint(raw->len, ==, want);   /* the frames still go out */
    first = strstr(log, "vnet_hdr_support is off");
    if (support) {
        g_assert_null(first);
    } else {
        g_assert_nonnull(first);
        g_assert_nonnull(strstr(log, "m0: netdev 'hp0' frames carry a "
                                     "12-byte virtio-net header"));
        g_assert_nonnull(strstr(log, "vnet_hdr=off on the tap"));
        g_assert_null(strstr(first + 1, "vnet_hdr_support is off"));
    }
    close(peer);
    fx_destroy(&fx);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* A reader that never reads: the sender never waits, overflow counted;
 * on a COLO primary it asks for a checkpoint instead. */
static void test_mirror_stalled(gconstpointer opaque)
{
    bool colo = GPOINTER_TO_INT(opaque);
    Fx fx;
    g_autofree char *path = NULL;
    Chardev *chr;
    NetFilterState *nf;
    FilterOutStats st;
    int peer;
    uint8_t f[1500] = { 0 };
    int64_t worst = 0;
    g_autofree int64_t *lat = NULL;
    const int n = 3000;     /* 4.5 MB against a 64 KiB buffer */

    fx_init(&fx);
    chr = server_chardev("slow", &path);
    nf = (NetFilterState *)obj_add("filter-mirror,id=m0,netdev=hp0,"
                                   "queue=tx,outdev=slow,"
                                   "x-buffer-size=65536");
    peer = connect_peer(chr, path);
    if (colo) {
        colo_run_begin(colo_current(), COLO_MODE_PRIMARY, NULL, NULL);
        colo_take_triggers(colo_current());
    }
    lat = g_new(int64_t, n);
    for (int i = 0; i < n; i++) {
        int64_t t = g_get_monotonic_time();

        f[14] = i;
        g_assert_cmpint(test_nic_send(fx.w, f, sizeof(f)), ==, sizeof(f));
        lat[i] = g_get_monotonic_time() - t;
        worst = MAX(worst, lat[i]);
    }
    qsort(lat, n, sizeof(*lat), cmp_i64);
    /* A send that waited for the reader would take the socket chardev's
     * write timeout (1 s); the bound leaves room for a loaded host. */
    g_test_message("send latency with a stalled mirror reader: p50 %" PRId64
                   " us, p99 %" PRId64 " us, max %" PRId64 " us",
                   lat[n / 2], lat[n * 99 / 100], worst);
    /* Every frame reached the guest, none waited for the reader. */
    g_assert_cmpuint(fx.g->got->len, ==, n);
    g_assert_cmpint(worst, <, 500000);
    g_assert_true(filter_out_stats(nf, &st));
    g_assert_cmpuint(st.buffered, <=, 65536);
    if (colo) {
        g_assert_cmpuint(st.overflow_checkpoints, >, 0);
        g_assert_cmpuint(st.overflow_drops, ==, 0);
        g_assert_cmpuint(colo_take_triggers(colo_current()), ==,
                         1u << COLO_TRIGGER_REQUEST);
        colo_run_end(colo_current(), COLO_EXIT_REASON_REQUEST, false);
    } else {
        g_assert_cmpuint(st.overflow_drops, >, 0);
        g_assert_cmpuint(st.overflow_checkpoints, ==, 0);
    }
    g_assert_cmpuint(st.frames + st.overflow_drops +
                     st.overflow_checkpoints, ==, n);
    close(peer);
    fx_destroy(&fx);
}

/* object-del mid-traffic, a frame half written: the peer sees the stream
 * end (EOF after whole frames and a cut one), not silence, and never
 * the next writer's bytes as the rest of the frame. */
static void test_mirror_del_midframe(void)
{
    Fx fx;
    g_autofree char *path = NULL;
    Chardev *chr;
    NetFilterState *nf;
    FilterOutStats st = { 0 };
    int peer;
    uint8_t f[1500] = { 0 };

    fx_init(&fx);
    chr = server_chardev("midf", &path);
    /* Large enough that one flush spans several socket buffers' worth,
     * so the kernel takes part of it. */
    nf = (NetFilterState *)obj_add("filter-mirror,id=m0,netdev=hp0,"
                                   "queue=tx,outdev=midf,"
                                   "x-buffer-size=4M");
    peer = connect_peer(chr, path);
    for (int i = 0; i < 2000; i++) {
        test_nic_send(fx.w, f, sizeof(f));
    }
    /* The reader takes a little at a time until a write stops
     * mid-frame. */
    g_assert_true(filter_out_stats(nf, &st));
    for (int i = 0; i < 500 && !st.mid_frame; i++) {
        uint8_t some[4096];

        recv(peer, some, sizeof(some), MSG_DONTWAIT);
        test_net_spin(2);
        g_assert_true(filter_out_stats(nf, &st));
    }
    g_assert_true(st.mid_frame);
    g_assert_cmpuint(st.buffered, >, 0);
    g_assert_true(object_delete("m0", &error_abort));
    {
        int64_t end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
        uint8_t buf[65536];
        ssize_t r = -1;

        while (g_get_monotonic_time() < end) {
            r = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
            if (r == 0) {
                break;
            }
            main_loop_wait(false);
        }
        g_assert_cmpint(r, ==, 0);
    }
    close(peer);
    fx_destroy(&fx);
}

/* Redirector: outdev takes guest output instead of the world; indev's
 * frames are injected after it, into the guest (queue=tx). */
static void test_redirector(void)
{
    Fx fx;
    g_autofree char *opath = NULL, *ipath = NULL;
    Chardev *co, *ci;
    int opeer, ipeer;
    uint8_t f[60], hdr[NET_FRAME_HDR_MAX];
    size_t hl;
    g_autoptr(GByteArray) raw = NULL;
    Frames fr;

    fx_init(&fx);
    co = server_chardev("rout", &opath);
    ci = server_chardev("rin", &ipath);
    obj_add("filter-redirector,id=r1,netdev=hp0,queue=rx,outdev=rout");
    obj_add("filter-redirector,id=r0,netdev=hp0,queue=tx,indev=rin");
    /* Behind r0 in the chain: an injected frame (tx) meets it. */
    obj_add("x-test-probe,id=p,netdev=hp0");
    opeer = connect_peer(co, opath);
    ipeer = connect_peer(ci, ipath);

    guest_sends(&fx, 7);
    g_assert_cmpuint(fx.w->got->len, ==, 0);
    raw = read_peer(opeer, 4 + 60, 2000);
    decode(raw, false, &fr);
    g_assert_cmpuint(fr.frames->len, ==, 1);
    g_assert_cmpuint(((const uint8_t *)g_bytes_get_data(
                          g_ptr_array_index(fr.frames, 0), NULL))[14], ==, 7);
    frames_free(&fr);
    /* The probe sits behind r1 in rx order: it never saw the frame. */
    g_assert_cmpstr(probe_log->str, ==, "p:rx ");

    /* Inject two frames, the second split across writes. */
    g_string_truncate(probe_log, 0);
    frame_fill(f, 21);
    hl = net_frame_encode_header(hdr, sizeof(f), false, 0);
    g_assert_cmpint(write(ipeer, hdr, hl), ==, hl);
    g_assert_cmpint(write(ipeer, f, sizeof(f)), ==, sizeof(f));
    frame_fill(f, 22);
    g_assert_cmpint(write(ipeer, hdr, 2), ==, 2);
    test_net_spin(20);
    g_assert_cmpint(write(ipeer, hdr + 2, hl - 2), ==, hl - 2);
    g_assert_cmpint(write(ipeer, f, sizeof(f)), ==, sizeof(f));
    for (int i = 0; i < 200 && fx.g->got->len < 2; i++) {
        test_net_spin(10);
    }
    g_assert_cmpuint(fx.g->got->len, ==, 2);
    g_assert_cmpuint(got_tag(fx.g, 0), ==, 21);
    g_assert_cmpuint(got_tag(fx.g, 1), ==, 22);
    g_assert_cmpstr(probe_log->str, ==, "p:tx p:tx ");
    g_assert_cmpuint(fx.w->got->len, ==, 0);

    /* A peer that breaks the framing is dropped; a new one works. */
    memset(hdr, 0xff, 4);
    g_assert_cmpint(write(ipeer, hdr, 4), ==, 4);
    for (int i = 0; i < 200 && chardev_is_connected(ci); i++) {
        test_net_spin(10);
    }
    g_assert_false(chardev_is_connected(ci));
    close(ipeer);
    ipeer = connect_peer(ci, ipath);
    frame_fill(f, 23);
    hl = net_frame_encode_header(hdr, sizeof(f), false, 0);
    g_assert_cmpint(write(ipeer, hdr, hl), ==, hl);
    g_assert_cmpint(write(ipeer, f, sizeof(f)), ==, sizeof(f));
    for (int i = 0; i < 200 && fx.g->got->len < 3; i++) {
        test_net_spin(10);
    }
    g_assert_cmpuint(fx.g->got->len, ==, 3);
    g_assert_cmpuint(got_tag(fx.g, 2), ==, 23);
    close(ipeer);
    close(opeer);
    fx_destroy(&fx);
}

/* The reader goes away and comes back: frames in the gap are dropped
 * and counted, the new connection starts at a frame boundary. */
static void test_mirror_reconnect(void)
{
    Fx fx;
    g_autofree char *path = NULL;
    Chardev *chr;
    NetFilterState *nf;
    FilterOutStats st;
    int peer;
    g_autoptr(GByteArray) raw = NULL;
    Frames fr;

    fx_init(&fx);
    chr = server_chardev("rc", &path);
    nf = (NetFilterState *)obj_add("filter-mirror,id=m0,netdev=hp0,"
                                   "queue=tx,outdev=rc");
    world_sends(&fx, 1);        /* nobody connected yet */
    peer = connect_peer(chr, path);
    close(peer);
    for (int i = 0; i < 200 && chardev_is_connected(chr); i++) {
        test_net_spin(10);
    }
    world_sends(&fx, 2);        /* in the gap */
    peer = connect_peer(chr, path);
    world_sends(&fx, 3);
    raw = read_peer(peer, 64, 2000);
    decode(raw, false, &fr);
    g_assert_cmpuint(fr.frames->len, ==, 1);
    g_assert_cmpuint(((const uint8_t *)g_bytes_get_data(
                          g_ptr_array_index(fr.frames, 0), NULL))[14], ==, 3);
    frames_free(&fr);
    g_assert_true(filter_out_stats(nf, &st));
    g_assert_cmpuint(st.disconnected_drops, ==, 2);
    g_assert_cmpuint(fx.g->got->len, ==, 3);
    g_clear_pointer(&raw, g_byte_array_unref);

    /* A reader that stalls, then goes: what was buffered (a frame cut in
     * the middle, most likely) is dropped with it, and the next reader's
     * stream starts at a frame boundary. */
    for (int i = 0; i < 400; i++) {
        uint8_t big[1500] = { 0 };

        big[14] = 4;
        test_nic_send(fx.w, big, sizeof(big));
    }
    g_assert_true(filter_out_stats(nf, &st));
    g_assert_cmpuint(st.buffered, >, 0);
    close(peer);
    for (int i = 0; i < 200 && chardev_is_connected(chr); i++) {
        test_net_spin(10);
    }
    peer = connect_peer(chr, path);
    world_sends(&fx, 5);
    raw = read_peer(peer, 64, 2000);
    decode(raw, false, &fr);
    g_assert_cmpuint(fr.frames->len, ==, 1);
    g_assert_cmpuint(((const uint8_t *)g_bytes_get_data(
                          g_ptr_array_index(fr.frames, 0), NULL))[14], ==, 5);
    frames_free(&fr);
    g_assert_true(filter_out_stats(nf, &st));
    g_assert_cmpuint(st.buffered, ==, 0);
    g_assert_cmpuint(st.disconnected_drops, >, 2);
    close(peer);
    fx_destroy(&fx);
}

/* The secondary's side: a client chardev with reconnect-ms feeding a
 * redirector's indev. The peer (here the test, as the primary's mirror
 * server) drops the connection mid-frame; the half frame is forgotten,
 * the client reconnects by itself, and the next stream is read from its
 * start. */
static void test_redirector_reconnect_client(void)
{
    Fx fx;
    g_autofree char *path = sock_path("rcl");
    g_autofree char *opts = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd, conn;
    Chardev *ci;
    uint8_t f[60], hdr[NET_FRAME_HDR_MAX];
    size_t hl;

    fx_init(&fx);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 4), ==, 0);
    opts = g_strdup_printf("socket,id=rcl,path=%s,reconnect-ms=50", path);
    ci = chardev_new_from_opts(opts, &error_abort);
    obj_add("filter-redirector,id=f1,netdev=hp0,queue=tx,indev=rcl");
    conn = accept(lfd, NULL, NULL);     /* connected at creation */
    g_assert_cmpint(conn, >=, 0);
    g_assert_true(test_net_spin_until(chr_connected, ci, 2000));

    /* Half a frame, then the connection drops. */
    frame_fill(f, 41);
    hl = net_frame_encode_header(hdr, sizeof(f), false, 0);
    g_assert_cmpint(write(conn, hdr, hl), ==, hl);
    g_assert_cmpint(write(conn, f, 20), ==, 20);
    test_net_spin(20);
    close(conn);
    for (int i = 0; i < 200 && chardev_is_connected(ci); i++) {
        test_net_spin(10);
    }
    g_assert_false(chardev_is_connected(ci));
    /* It comes back by itself (its timer runs on the main loop); a
     * whole frame on the new connection. */
    conn = -1;
    for (int i = 0; i < 300 && conn < 0; i++) {
        conn = accept(lfd, NULL, NULL);
        if (conn < 0) {
            test_net_spin(10);
        }
    }
    g_assert_cmpint(conn, >=, 0);
    g_assert_true(test_net_spin_until(chr_connected, ci, 2000));
    frame_fill(f, 42);
    g_assert_cmpint(write(conn, hdr, hl), ==, hl);
    g_assert_cmpint(write(conn, f, sizeof(f)), ==, sizeof(f));
    for (int i = 0; i < 200 && fx.g->got->len < 1; i++) {
        test_net_spin(10);
    }
    test_net_spin(20);
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    g_assert_cmpuint(got_tag(fx.g, 0), ==, 42);
    close(conn);
    close(lfd);
    fx_destroy(&fx);
    unlink(path);
}

/* vnet_hdr_support on input: a frame whose header length word differs
 * from the netdev's would be misread, so it is dropped and counted. */
static void test_redirector_vnet(void)
{
    Fx fx;
    g_autofree char *path = NULL;
    Chardev *ci;
    NetFilterState *nf;
    FilterOutStats st;
    int peer;
    uint8_t f[72], hdr[NET_FRAME_HDR_MAX];
    size_t hl;

    fx_init(&fx);
    fx.g->nc->peer->vnet_hdr_len = 12;
    fx.g->nc->vnet_hdr_len = 12;
    ci = server_chardev("rvin", &path);
    nf = (NetFilterState *)obj_add("filter-redirector,id=r0,netdev=hp0,"
                                   "queue=tx,indev=rvin,"
                                   "vnet_hdr_support=on");
    peer = connect_peer(ci, path);
    memset(f, 0, 12);
    frame_fill(f + 12, 31);
    hl = net_frame_encode_header(hdr, sizeof(f), true, 10);
    g_assert_cmpint(write(peer, hdr, hl), ==, hl);
    g_assert_cmpint(write(peer, f, sizeof(f)), ==, sizeof(f));
    hl = net_frame_encode_header(hdr, sizeof(f), true, 12);
    g_assert_cmpint(write(peer, hdr, hl), ==, hl);
    g_assert_cmpint(write(peer, f, sizeof(f)), ==, sizeof(f));
    for (int i = 0; i < 200 && fx.g->got->len < 1; i++) {
        test_net_spin(10);
    }
    test_net_spin(20);
    g_assert_cmpuint(fx.g->got->len, ==, 1);
    g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(fx.g->got, 0)), ==,
                     sizeof(f));
    g_assert_true(filter_out_stats(nf, &st));
    g_assert_cmpuint(st.in_bad, ==, 1);
    g_assert_cmpuint(st.injected, ==, 1);
    close(peer);
    fx_destroy(&fx);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    main_loop_init();
    bql_lock();
    probe_log = g_string_new("");
    tmp_dir = g_dir_make_tmp("test-net-filter-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    g_test_add_func("/net/filter/chain-order", test_chain_order);
    g_test_add_func("/net/filter/bad-options", test_bad_options);
    g_test_add_func("/net/filter/status", test_status);
    g_test_add_func("/net/filter/direction", test_direction);
    g_test_add_func("/net/filter/buffer", test_buffer);
    g_test_add_func("/net/filter/object-del", test_object_del);
    g_test_add_data_func("/net/filter/mirror-framing", GINT_TO_POINTER(0),
                         test_mirror_framing);
    g_test_add_data_func("/net/filter/mirror-framing-vnet",
                         GINT_TO_POINTER(1), test_mirror_framing);
    g_test_add_data_func("/net/filter/mirror-vnet-hdr-warning",
                         GINT_TO_POINTER(0), test_mirror_vnet_hdr_warning);
    g_test_add_data_func("/net/filter/mirror-vnet-hdr-no-warning",
                         GINT_TO_POINTER(1), test_mirror_vnet_hdr_warning);
    g_test_add_data_func("/net/filter/mirror-stalled", GINT_TO_POINTER(0),
                         test_mirror_stalled);
    g_test_add_data_func("/net/filter/mirror-stalled-colo",
                         GINT_TO_POINTER(1), test_mirror_stalled);
    g_test_add_func("/net/filter/mirror-reconnect", test_mirror_reconnect);
    g_test_add_func("/net/filter/mirror-del-midframe",
                    test_mirror_del_midframe);
    g_test_add_func("/net/filter/redirector", test_redirector);
    g_test_add_func("/net/filter/redirector-vnet", test_redirector_vnet);
    g_test_add_func("/net/filter/redirector-reconnect-client",
                    test_redirector_reconnect_client);
    ret = g_test_run();
    rmdir(tmp_dir);
    return ret;
}
