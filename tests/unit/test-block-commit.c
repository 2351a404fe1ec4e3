/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block-stream and block-commit in-process (no /dev/kvm), over the
 * in-process QMP client, on qcow2 chains made by Debian's qemu-img and
 * qemu-io:
 * - every refusal with QEMU 7.2's class and text (diffed against
 *   qemu-system-x86_64 -machine none on the same chain), nothing started;
 * - a guest-like writer keeps writing the device's image while a stream,
 *   a commit below it and an active commit run (through READY and the
 *   pivot): the disk ends with every write, byte for byte, and with
 *   what the chain held everywhere else;
 * - the active commit's cancel: the device stays on top, the base goes
 *   back to read-only; a forced cancel before READY;
 * - on-error report, ignore and stop on a read the chain cannot serve
 *   (a compressed cluster, which Tandem's qcow2 refuses): BLOCK_JOB_ERROR,
 *   a failed job that leaves the chain as it was, a paused job;
 * - read-only images made writable for the job and read-only again;
 * - HMP commit's refusals.
 * The libvirt command sequences are in tests/qtest/test-block-commit.c.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "block-job-test-util.h"
#include "block-test-util.h"
#include "block/block_int.h"
#include "block/blockdev.h"
#include "block/job.h"
#include "block/permission.h"
#include "util/trace.h"

#define SIZE (4 * MIB)

/* ---- chains ---- */

typedef struct Chain {
    char *base, *mid, *top;
} Chain;

static void qemu_io_ok(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void qemu_io_ok(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;
    g_autofree char *out = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (bt_qemu_io(&out, "%s", args) != 0 || strstr(out, "error") ||
        strstr(out, "failed")) {
        g_error("qemu-io %s:\n%s", args, out);
    }
}

/*
 * A chain with much to copy: base full of a pattern, mid over the
 * second MiB (0x22) and zeroes over half of the fourth, top empty but
 * for a cluster. prefix keeps tests apart.
 */
static void chain_new(Chain *c, const char *prefix)
{
    g_autofree char *raw = g_strdup_printf("%s-base.raw", prefix);
    g_autofree char *rawp = bt_path(raw);
    g_autofree char *out = NULL;
    g_autofree char *b = g_strdup_printf("%s-base.qcow2", prefix);
    g_autofree char *m = g_strdup_printf("%s-mid.qcow2", prefix);
    g_autofree char *t = g_strdup_printf("%s-top.qcow2", prefix);

    c->base = bt_path(b);
    c->mid = bt_path(m);
    c->top = bt_path(t);
    bt_make_pattern_file(rawp, SIZE, 5);
    g_unlink(c->base);
    g_assert_cmpint(bt_qemu_img(&out, "convert -f raw -O qcow2 '%s' '%s'",
                                rawp, c->base), ==, 0);
    g_unlink(c->mid);
    g_clear_pointer(&out, g_free);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s' 4M", c->base, c->mid), ==, 0);
    g_unlink(c->top);
    g_clear_pointer(&out, g_free);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s' 4M", c->mid, c->top), ==, 0);
    qemu_io_ok("-f qcow2 -c 'write -P 0x22 1M 1M' -c 'write -z 3M 512k' "
               "'%s'", c->mid);
    qemu_io_ok("-f qcow2 -c 'write -P 0x33 64k 64k' '%s'", c->top);
}

static void chain_free(Chain *c)
{
    g_unlink(c->base);
    g_unlink(c->mid);
    g_unlink(c->top);
    g_free(c->base);
    g_free(c->mid);
    g_free(c->top);
}

/* Opens the chain as libvirt does: nodes base, mid, top (read-only but
 * top unless rw), each over a file node NAME-f. */
static void chain_open(Mon *m, const Chain *c, bool base_rw)
{
    const char *paths[] = { c->base, c->mid, c->top };
    const char *names[] = { "base", "mid", "top" };

    for (int i = 0; i < 3; i++) {
        g_autofree char *backing = i ? g_strdup_printf("\"%s\"",
                                                       names[i - 1])
                                     : g_strdup("null");

        mon_ok(m, "{\"execute\":\"blockdev-add\",\"arguments\":{"
               "\"driver\":\"qcow2\",\"node-name\":\"%s\",\"read-only\":%s,"
               "\"backing\":%s,\"file\":{\"driver\":\"file\","
               "\"node-name\":\"%s-f\",\"filename\":\"%s\"}}}", names[i],
               i == 2 || (i == 0 && base_rw) ? "false" : "true", backing,
               names[i], paths[i]);
    }
}

static void chain_close(Mon *m)
{
    static const char *const names[] = { "top", "top-f", "mid", "mid-f",
                                         "base", "base-f" };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (bdrv_find_node(names[i])) {
            mon_ok(m, "{\"execute\":\"blockdev-del\",\"arguments\":"
                   "{\"node-name\":\"%s\"}}", names[i]);
        }
    }
}

/* What a reader of node sees, all of it (g_free). */
static uint8_t *node_view(const char *node)
{
    uint8_t *buf = g_malloc(SIZE);

    g_assert_cmpint(bdrv_pread(bdrv_find_node(node), 0, SIZE, buf,
                               &error_abort), ==, 0);
    return buf;
}

static void expect_view(const char *node, const uint8_t *want)
{
    g_autofree uint8_t *have = node_view(node);

    for (uint64_t i = 0; i < SIZE; i++) {
        if (have[i] != want[i]) {
            g_error("node %s: byte %" G_GUINT64_FORMAT " is 0x%02x, want "
                    "0x%02x", node, i, have[i], want[i]);
        }
    }
}

static const char *backing_of(const char *node)
{
    BlockDriverState *b = bdrv_backing_bs(bdrv_find_node(node));

    return b ? bdrv_get_node_name(b) : "";
}

/* The backing file name in path's header, as qemu-img prints it
 * ("backing file: NAME", NAME starting with want), or none. */
static void expect_header(const char *path, const char *want)
{
    g_autofree char *out = NULL;
    g_autofree char *line = want ? g_strdup_printf("backing file: %s",
                                                   want) : NULL;

    g_assert_cmpint(bt_qemu_img(&out, "info -U '%s'", path), ==, 0);
    if (want ? !strstr(out, line) : !!strstr(out, "backing file:")) {
        g_error("qemu-img info %s, want backing '%s':\n%s", path,
                want ? want : "(none)", out);
    }
}

/* ---- refusals ---- */

typedef struct Refusal {
    const char *args;       /* of block-stream / block-commit */
    const char *cls;
    const char *desc;       /* QEMU 7.2's, exactly */
} Refusal;

static void expect_refusal(Mon *m, const char *cmd, const Refusal *r)
{
    json_object *resp = mon_cmd(m, "{\"execute\":\"%s\",\"arguments\":%s}",
                                cmd, r->args);
    json_object *err = member(resp, "error");

    g_assert_cmpstr(json_object_get_string(member(err, "class")), ==,
                    r->cls);
    if (strcmp(json_object_get_string(member(err, "desc")), r->desc)) {
        g_error("%s %s: '%s', want '%s'", cmd, r->args,
                json_object_get_string(member(err, "desc")), r->desc);
    }
    json_object_put(resp);
}

static void test_refusals(void)
{
    static const Refusal stream[] = {
        { "{\"device\":\"top\",\"job-id\":\"j\",\"speed\":-1}",
          "GenericError", "Parameter 'speed' expects a non-negative value" },
        { "{\"device\":\"top\",\"job-id\":\"j\",\"base\":\"nonexist\"}",
          "GenericError", "Can't find 'nonexist' in the backing chain" },
        { "{\"device\":\"top\",\"base-node\":\"nonexist\"}",
          "GenericError", "Cannot find device='' nor node-name='nonexist'" },
        { "{\"device\":\"top\",\"base-node\":\"top\"}",
          "GenericError", "Node 'top' is not a backing image of 'top'" },
        { "{\"device\":\"mid\",\"base-node\":\"top\"}",
          "GenericError", "Node 'top' is not a backing image of 'mid'" },
        { "{\"device\":\"top\",\"base-node\":\"base\",\"base\":\"x\"}",
          "GenericError",
          "'base' and 'base-node' cannot be specified at the same time" },
        { "{\"device\":\"top\",\"bottom\":\"mid\",\"base\":\"x\"}",
          "GenericError",
          "'base' and 'bottom' cannot be specified at the same time" },
        { "{\"device\":\"top\",\"bottom\":\"base\",\"base-node\":\"base\"}",
          "GenericError",
          "'bottom' and 'base-node' cannot be specified at the same time" },
        { "{\"device\":\"nope\"}", "GenericError",
          "Cannot find device='nope' nor node-name='nope'" },
        { "{\"device\":\"top\",\"bottom\":\"nope\"}", "GenericError",
          "Cannot find device='' nor node-name='nope'" },
        { "{\"device\":\"mid\",\"bottom\":\"top\",\"job-id\":\"s\"}",
          "GenericError", "Node 'top' is not in a chain starting from "
          "'mid'" },
        { "{\"device\":\"top\",\"job-id\":\"#x\"}", "GenericError",
          "Invalid job ID '#x'" },
        { "{\"device\":\"top\"}", "GenericError", "Invalid job ID ''" },
        { "{\"device\":\"top\",\"backing-file\":\"foo\"}", "GenericError",
          "backing file specified, but streaming the entire chain" },
        { "{\"device\":\"top\",\"bottom\":\"mid\",\"backing-file\":\"f\"}",
          "GenericError",
          "backing file specified, but streaming the entire chain" },
        { "{\"device\":\"top\",\"job-id\":\"s\",\"filter-node-name\":\"f\"}",
          "GenericError", "Parameter 'filter-node-name' is not supported: "
          "Tandem puts no filter node above the image" },
    };
    static const Refusal commit[] = {
        { "{\"device\":\"nope\",\"job-id\":\"c\"}", "DeviceNotFound",
          "Device 'nope' not found" },
        { "{\"device\":\"mid\",\"job-id\":\"c\"}", "GenericError",
          "Need a root block node" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top-node\":\"mid\","
          "\"base-node\":\"mid\"}", "GenericError",
          "cannot commit an image into itself" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top-node\":\"base\"}",
          "GenericError", "cannot commit an image into itself" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top-node\":\"nope\"}",
          "GenericError", "Cannot find device='' nor node-name='nope'" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"base-node\":\"nope\"}",
          "GenericError", "Cannot find device='' nor node-name='nope'" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top\":\"nope\"}",
          "GenericError", "Top image file nope not found" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"base\":\"nope\"}",
          "GenericError", "Can't find 'nope' in the backing chain" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"base\":\"x\","
          "\"base-node\":\"base\"}", "GenericError",
          "'base-node' and 'base' are mutually exclusive" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top\":\"x\","
          "\"top-node\":\"mid\"}", "GenericError",
          "'top-node' and 'top' are mutually exclusive" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top-node\":\"base\","
          "\"base-node\":\"mid\"}", "GenericError",
          "'mid' is not in this backing file chain" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"top-node\":\"mid\","
          "\"base-node\":\"top\"}", "GenericError",
          "'top' is not in this backing file chain" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"speed\":-1}",
          "GenericError", "Parameter 'speed' expects a non-negative value" },
        { "{\"device\":\"top\",\"job-id\":\"c\",\"backing-file\":\"x\"}",
          "GenericError",
          "'backing-file' specified, but 'top' is the active layer" },
        { "{\"device\":\"top\",\"job-id\":\"#\"}", "GenericError",
          "Invalid job ID '#'" },
        { "{\"device\":\"top\"}", "GenericError", "Invalid job ID ''" },
    };
    Mon *m = mon_new();
    Chain c;

    chain_new(&c, "ref");
    chain_open(m, &c, false);
    for (size_t i = 0; i < G_N_ELEMENTS(stream); i++) {
        expect_refusal(m, "block-stream", &stream[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commit); i++) {
        expect_refusal(m, "block-commit", &commit[i]);
    }
    {
        /* Names by file: a relative top, the chain's own names. */
        g_autofree char *args = g_strdup_printf(
            "{\"device\":\"top\",\"job-id\":\"c\",\"top\":\"%s\","
            "\"base\":\"%s\"}", c.mid, c.mid);
        Refusal r = { args, "GenericError", NULL };
        g_autofree char *desc = g_strdup_printf("Can't find '%s' in the "
                                                "backing chain", c.mid);

        r.desc = desc;
        expect_refusal(m, "block-commit", &r);
    }
    /* Nothing started, nothing changed. */
    g_assert_null(job_next(NULL));
    g_assert_cmpstr(m->statuses->str, ==, "");
    g_assert_cmpstr(backing_of("top"), ==, "mid");
    g_assert_true(bdrv_is_read_only(bdrv_find_node("base")));
    chain_close(m);
    chain_free(&c);
    mon_free(m);
}

/* A job on a node: every other job on the chain is refused, QEMU's way. */
static void test_busy(void)
{
    Mon *m = mon_new();
    Chain c;

    chain_new(&c, "busy");
    chain_open(m, &c, false);
    mon_ok(m, "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"s\",\"base-node\":\"base\",\"speed\":1}}");
    mon_err(m, "GenericError", "Node 'top' is busy: block device is in use "
            "by block job: stream", "{\"execute\":\"block-stream\","
            "\"arguments\":{\"device\":\"top\",\"job-id\":\"s2\"}}");
    mon_err(m, "GenericError", "Node 'mid' is busy: block device is in use "
            "by block job: stream", "{\"execute\":\"block-stream\","
            "\"arguments\":{\"device\":\"mid\",\"job-id\":\"s2\"}}");
    mon_err(m, "GenericError", "Need a root block node",
            "{\"execute\":\"block-commit\",\"arguments\":{\"device\":"
            "\"top\",\"job-id\":\"c\"}}");
    mon_err(m, "GenericError", "Node 'top' is busy: block device is in use "
            "by block job: stream", "{\"execute\":\"block_resize\","
            "\"arguments\":{\"node-name\":\"top\",\"size\":8388608}}");
    /* base is outside the stream: free. */
    mon_ok(m, "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
           "\"base\",\"job-id\":\"s3\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_COMPLETED"));
    mon_err(m, "GenericError", "Job ID 's' already in use",
            "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
            "\"base\",\"job-id\":\"s\"}}");
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":"
           "\"s\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
    wait_status(m, "s", "(none)");
    g_assert_cmpstr(backing_of("top"), ==, "mid");

    /* A commit below the active layer holds the overlay above it too. */
    mon_ok(m, "{\"execute\":\"block-commit\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"c\",\"top-node\":\"mid\",\"speed\":1}}");
    mon_err(m, "GenericError", "Node 'top' is busy: block device is in use "
            "by block job: commit", "{\"execute\":\"block-stream\","
            "\"arguments\":{\"device\":\"top\",\"job-id\":\"s\","
            "\"base-node\":\"mid\"}}");
    mon_err(m, "GenericError", "Node 'base' is busy: block device is in use "
            "by block job: commit", "{\"execute\":\"block-stream\","
            "\"arguments\":{\"device\":\"base\",\"job-id\":\"s\"}}");
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":"
           "\"c\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
    wait_status(m, "c", "(none)");
    /* Cancelled: the chain as it was, base read-only again. */
    g_assert_cmpstr(backing_of("top"), ==, "mid");
    g_assert_true(bdrv_is_read_only(bdrv_find_node("base")));
    chain_close(m);
    chain_free(&c);
    mon_free(m);
}

/* ---- jobs with a guest writing ---- */

/* A writer on the device's image, as a virtio-blk device without
 * share-rw: the disk's whole view is the starting point. */
static BlockBackend *writer_start(Writer *w, const char *node)
{
    BlockBackend *blk = blk_new(NULL, bdrv_find_node(node), true, false,
                                &error_abort);

    writer_init_want(w, blk, node_view(node));
    return blk;
}

/* Writes until name arrives, then a few more. */
static void write_until(Mon *m, Writer *w, const char *name)
{
    json_object_put(event_while_writing(m, w, name));
    for (int i = 0; i < 20; i++) {
        writer_step(w, m);
    }
    writer_drain(w, m);
}

static void test_stream_racing(void)
{
    Mon *m = mon_new();
    Writer w;
    BlockBackend *blk;
    json_object *ev;
    Chain c;

    chain_new(&c, "sr");
    chain_open(m, &c, false);
    blk = writer_start(&w, "top");
    /* 4 MiB at 2 MiB/s: a couple hundred writes race the copy. */
    mon_ok(m, "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"s\",\"speed\":2097152}}");
    json_object_put(event_while_writing(m, &w, "BLOCK_JOB_COMPLETED"));
    writer_drain(&w, m);
    g_assert_cmpuint(w.seq, >, 20);
    g_assert_cmpstr(m->statuses->str, ==, "created,running,waiting,"
                    "pending,concluded,null");
    g_assert_cmpstr(backing_of("top"), ==, "");
    expect_view("top", w.want);
    blk_unref(blk);
    writer_free(&w);
    chain_close(m);
    expect_header(c.top, NULL);
    bt_qemu_img_check(c.top);
    chain_free(&c);

    /* To a base, with the name libvirt would give; then read back. */
    chain_new(&c, "sr2");
    chain_open(m, &c, false);
    blk = writer_start(&w, "top");
    mon_ok(m, "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"s\",\"base-node\":\"base\",\"backing-file\":"
           "\"sr2-base.qcow2\",\"speed\":2097152}}");
    ev = event_while_writing(m, &w, "BLOCK_JOB_COMPLETED");
    /* QEMU's shape: the whole disk is the work. */
    g_assert_cmpint(json_object_get_int64(member(member(ev, "data"), "len")),
                    ==, SIZE);
    json_object_put(ev);
    writer_drain(&w, m);
    g_assert_cmpstr(backing_of("top"), ==, "base");
    expect_view("top", w.want);
    blk_unref(blk);
    writer_free(&w);
    chain_close(m);
    expect_header(c.top, "sr2-base.qcow2 (actual path: ");
    bt_qemu_img_check(c.top);
    chain_free(&c);
    mon_free(m);
}

static void test_commit_below_active(void)
{
    g_autofree uint8_t *mid_view = NULL;
    Mon *m = mon_new();
    Writer w;
    BlockBackend *blk;
    Chain c;

    chain_new(&c, "cb");
    chain_open(m, &c, false);
    mid_view = node_view("mid");
    blk = writer_start(&w, "top");
    mon_ok(m, "{\"execute\":\"block-commit\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"c\",\"top-node\":\"mid\",\"speed\":"
           "1048576}}");
    /* The base is written by the job now. */
    g_assert_false(bdrv_is_read_only(bdrv_find_node("base")));
    json_object_put(event_while_writing(m, &w, "BLOCK_JOB_COMPLETED"));
    writer_drain(&w, m);
    g_assert_cmpstr(backing_of("top"), ==, "base");
    g_assert_true(bdrv_is_read_only(bdrv_find_node("base")));
    expect_view("top", w.want);
    /* mid's data is in base: base alone reads as mid did. */
    expect_view("base", mid_view);
    blk_unref(blk);
    writer_free(&w);
    chain_close(m);
    expect_header(c.top, c.base);
    bt_qemu_img_check(c.top);
    bt_qemu_img_check(c.base);
    chain_free(&c);
    mon_free(m);
}

/*
 * The commit's claim on base passes the guest on top (which does not
 * share write) because the chain it rewrites shows the same bytes
 * throughout; a user of base outside the chain, here a reader of a
 * second overlay, still refuses it. Afterwards the backing edges share
 * as before the job.
 */
static void test_commit_outside_user(void)
{
    g_autofree char *other = bt_path("co-other.qcow2");
    g_autofree char *out = NULL;
    BlockBackend *guest, *reader;
    uint64_t perm, shared;
    Mon *m = mon_new();
    json_object *resp;
    const char *desc;
    Chain c;

    chain_new(&c, "co");
    g_unlink(other);
    g_assert_cmpint(bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F qcow2 "
                                "'%s' 4M", c.base, other), ==, 0);
    chain_open(m, &c, false);
    mon_ok(m, "{\"execute\":\"blockdev-add\",\"arguments\":{"
           "\"driver\":\"qcow2\",\"node-name\":\"other\","
           "\"read-only\":true,\"backing\":\"base\",\"file\":{"
           "\"driver\":\"file\",\"node-name\":\"other-f\","
           "\"filename\":\"%s\"}}}", other);
    guest = blk_new(NULL, bdrv_find_node("top"), true, false, &error_abort);
    /* As a read-only guest device without share-rw. */
    reader = blk_new_perm(NULL, bdrv_find_node("other"),
                          BLK_PERM_CONSISTENT_READ,
                          BLK_PERM_ALL & ~(uint64_t)(BLK_PERM_WRITE |
                                                     BLK_PERM_RESIZE),
                          &error_abort);
    resp = mon_cmd(m, "{\"execute\":\"block-commit\",\"arguments\":{"
                   "\"device\":\"top\",\"job-id\":\"c\","
                   "\"top-node\":\"mid\"}}");
    desc = json_object_get_string(member(member(resp, "error"), "desc"));
    g_assert_nonnull(strstr(desc, "Permission conflict on node 'base': "
                            "permissions 'write' are both required by"));
    g_assert_nonnull(strstr(desc, "unshared by node 'other' (uses node "
                            "'base' as 'backing' child)"));
    json_object_put(resp);
    /* Refused whole: base read-only again, nothing held, no job. */
    g_assert_true(bdrv_is_read_only(bdrv_find_node("base")));
    g_assert_cmpuint(bdrv_find_node("mid")->chain_rewrites, ==, 0);
    g_assert_null(job_next(NULL));

    blk_unref(reader);
    mon_ok(m, "{\"execute\":\"blockdev-del\",\"arguments\":"
           "{\"node-name\":\"other\"}}");
    mon_ok(m, "{\"execute\":\"block-commit\",\"arguments\":{"
           "\"device\":\"top\",\"job-id\":\"c\","
           "\"top-node\":\"mid\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_COMPLETED"));
    g_assert_cmpstr(backing_of("top"), ==, "base");
    g_assert_cmpuint(bdrv_find_node("top")->chain_rewrites, ==, 0);
    /* The guest on top wants base unchanging again. */
    bdrv_get_cumulative_perm(bdrv_find_node("base"), &perm, &shared);
    g_assert_cmphex(shared & BLK_PERM_WRITE, ==, 0);
    blk_unref(guest);
    chain_close(m);
    bt_qemu_img_check(c.top);
    g_unlink(other);
    chain_free(&c);
    mon_free(m);
}

static void test_commit_active_pivot(void)
{
    Mon *m = mon_new();
    Writer w;
    BlockBackend *blk;
    json_object *ev;
    Chain c;

    chain_new(&c, "ap");
    chain_open(m, &c, false);
    blk = writer_start(&w, "top");
    /* Unpaced: each small write dirties a 64 KiB granule, so a slow
     * copy would never catch up with the writer. */
    mon_ok(m, "{\"execute\":\"block-commit\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"c\"}}");
    ev = event_while_writing(m, &w, "BLOCK_JOB_READY");
    g_assert_cmpstr(json_object_get_string(member(member(ev, "data"),
                                                  "type")), ==, "commit");
    json_object_put(ev);
    for (int i = 0; i < 20; i++) {
        writer_step(&w, m);
    }
    writer_drain(&w, m);
    mon_ok(m, "{\"execute\":\"block-job-complete\",\"arguments\":"
           "{\"device\":\"c\"}}");
    write_until(m, &w, "BLOCK_JOB_COMPLETED");
    wait_status(m, "c", "(none)");
    g_assert_cmpstr(m->statuses->str, ==, "created,running,ready,waiting,"
                    "pending,concluded,null");
    /* The device is on base, which it writes; base reads every write. */
    g_assert_true(blk_bs(blk) == bdrv_find_node("base"));
    g_assert_false(bdrv_is_read_only(bdrv_find_node("base")));
    expect_view("base", w.want);
    blk_unref(blk);
    writer_free(&w);
    chain_close(m);
    bt_qemu_img_check(c.base);
    chain_free(&c);
    mon_free(m);
}

static void test_commit_active_cancel(void)
{
    Mon *m = mon_new();
    Writer w;
    BlockBackend *blk;
    Chain c;

    chain_new(&c, "ac");
    chain_open(m, &c, false);
    blk = writer_start(&w, "top");
    mon_ok(m, "{\"execute\":\"block-commit\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"c\"}}");
    json_object_put(event_while_writing(m, &w, "BLOCK_JOB_READY"));
    /* A cancel of a ready commit completes it without the switch. */
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
           "{\"device\":\"c\"}}");
    write_until(m, &w, "BLOCK_JOB_COMPLETED");
    wait_status(m, "c", "(none)");
    g_assert_false(mon_has_event(m, "BLOCK_JOB_CANCELLED"));
    g_assert_true(blk_bs(blk) == bdrv_find_node("top"));
    g_assert_true(bdrv_is_read_only(bdrv_find_node("base")));
    g_assert_cmpstr(backing_of("top"), ==, "mid");
    expect_view("top", w.want);

    /* Forced, before READY: cancelled, nothing switched. */
    mon_ok(m, "{\"execute\":\"block-commit\",\"arguments\":{\"device\":"
           "\"top\",\"job-id\":\"c\",\"speed\":1}}");
    mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
           "{\"device\":\"c\",\"force\":true}}");
    write_until(m, &w, "BLOCK_JOB_CANCELLED");
    wait_status(m, "c", "(none)");
    g_assert_true(blk_bs(blk) == bdrv_find_node("top"));
    g_assert_true(bdrv_is_read_only(bdrv_find_node("base")));
    expect_view("top", w.want);
    blk_unref(blk);
    writer_free(&w);
    chain_close(m);
    bt_qemu_img_check(c.top);
    bt_qemu_img_check(c.base);
    chain_free(&c);
    mon_free(m);
}

/* ---- errors during the job ---- */

/*
 * mid gets a compressed cluster, which Tandem's qcow2 cannot read (nor
 * tell the allocation of): a stream of the whole chain meets it at 2M.
 */
static void compressed_in_mid(const Chain *c)
{
    qemu_io_ok("-f qcow2 -c 'write -c -P 0x44 2M 64k' '%s'", c->mid);
}

static void test_stream_on_error(void)
{
    static const char *const policies[] = { "report", "ignore", "stop" };
    Mon *m = mon_new();

    for (size_t i = 0; i < G_N_ELEMENTS(policies); i++) {
        const char *policy = policies[i];
        g_autofree char *prefix = g_strdup_printf("err-%s", policy);
        json_object *ev, *data;
        Chain c;

        chain_new(&c, prefix);
        compressed_in_mid(&c);
        chain_open(m, &c, false);
        mon_ok(m, "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
               "\"top\",\"job-id\":\"s\",\"on-error\":\"%s\"}}", policy);
        ev = mon_event(m, "BLOCK_JOB_ERROR");
        data = member(ev, "data");
        g_assert_cmpstr(json_object_get_string(member(data, "operation")),
                        ==, "read");
        g_assert_cmpstr(json_object_get_string(member(data, "action")), ==,
                        policy);
        json_object_put(ev);
        if (!strcmp(policy, "stop")) {
            json_object *resp;
            json_object *io;

            wait_status(m, "s", "paused");
            io = job_field(m, "query-block-jobs", "s", "io-status", &resp);
            g_assert_cmpstr(json_object_get_string(io), ==, "failed");
            json_object_put(resp);
            mon_ok(m, "{\"execute\":\"block-job-cancel\",\"arguments\":"
                   "{\"device\":\"s\"}}");
            json_object_put(mon_event(m, "BLOCK_JOB_CANCELLED"));
        } else {
            /* Failed either way: the data of 2M never reached top. */
            ev = mon_event(m, "BLOCK_JOB_COMPLETED");
            g_assert_nonnull(strstr(json_object_get_string(
                member(member(ev, "data"), "error")), "not supported"));
            json_object_put(ev);
        }
        wait_status(m, "s", "(none)");
        g_assert_cmpstr(backing_of("top"), ==, "mid");
        chain_close(m);
        expect_header(c.top, c.mid);
        bt_qemu_img_check(c.top);
        /* ignore copied what comes after the stretch (up to 1 MiB) of
         * the bad cluster: mid's zeroes at 3M are top's own now; report
         * and stop ended there. */
        {
            g_autofree char *out = NULL;

            g_assert_cmpint(bt_qemu_io(&out, "-r -U -f qcow2 -c 'alloc 3M "
                                       "512k' '%s'", c.top), ==, 0);
            if (!strstr(out, !strcmp(policy, "ignore")
                             ? "524288/524288 bytes allocated"
                             : "0/524288 bytes allocated")) {
                g_error("on-error=%s: %s", policy, out);
            }
        }
        chain_free(&c);
    }
    mon_free(m);
}

/* ---- read-only images and HMP ---- */

static void test_read_only_top(void)
{
    Mon *m = mon_new();
    Chain c;

    chain_new(&c, "ro");
    chain_open(m, &c, false);
    /* A stream of a read-only image (mid into itself from base). */
    mon_ok(m, "{\"execute\":\"block-stream\",\"arguments\":{\"device\":"
           "\"mid\",\"job-id\":\"s\"}}");
    json_object_put(mon_event(m, "BLOCK_JOB_COMPLETED"));
    wait_status(m, "s", "(none)");
    g_assert_true(bdrv_is_read_only(bdrv_find_node("mid")));
    g_assert_cmpstr(backing_of("mid"), ==, "");
    g_assert_cmpstr(backing_of("top"), ==, "mid");
    chain_close(m);
    expect_header(c.mid, NULL);
    bt_qemu_img_check(c.mid);
    chain_free(&c);
    mon_free(m);
}

static void test_hmp_commit(void)
{
    Mon *m = mon_new();
    g_autofree char *opt = NULL;
    char *out;
    Chain c;

    chain_new(&c, "hmp");
    opt = g_strdup_printf("if=none,id=hd0,file=%s,format=qcow2,"
                          "readonly=on", c.top);
    g_assert_nonnull(drive_new(opt, &error_abort));
    out = mon_hmp(m, "commit hd0");
    g_assert_cmpstr(out, ==, "Block node is read-only\r\n'commit' error "
                    "for 'hd0': Operation not permitted\r\n");
    g_free(out);
    g_assert_true(drive_del("hd0", &error_abort));
    g_free(opt);
    opt = g_strdup_printf("if=none,id=hd0,file=%s,format=qcow2", c.base);
    g_assert_nonnull(drive_new(opt, &error_abort));
    out = mon_hmp(m, "commit hd0");
    g_assert_cmpstr(out, ==, "'commit' error for 'hd0': Operation not "
                    "supported\r\n");
    g_free(out);
    /* all skips a drive without a backing file. */
    out = mon_hmp(m, "commit all");
    g_assert_cmpstr(out, ==, "");
    g_free(out);
    out = mon_hmp(m, "commit");
    g_assert_cmpstr(out, ==, "Error: usage: commit device|all\r\n");
    g_free(out);
    g_assert_true(drive_del("hd0", &error_abort));
    chain_free(&c);
    mon_free(m);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    if (g_getenv("TBC_TRACE")) {
        trace_enable_pattern(g_getenv("TBC_TRACE"));
    }
    if (!bt_have_qemu_img()) {
        g_printerr("qemu-img not found: install qemu-utils\n");
        return 1;
    }
    g_test_add_func("/block/commit/refusals", test_refusals);
    g_test_add_func("/block/commit/busy", test_busy);
    g_test_add_func("/block/commit/stream-racing", test_stream_racing);
    g_test_add_func("/block/commit/below-active", test_commit_below_active);
    g_test_add_func("/block/commit/outside-user", test_commit_outside_user);
    g_test_add_func("/block/commit/active-pivot", test_commit_active_pivot);
    g_test_add_func("/block/commit/active-cancel",
                    test_commit_active_cancel);
    g_test_add_func("/block/commit/stream-on-error", test_stream_on_error);
    g_test_add_func("/block/commit/read-only-top", test_read_only_top);
    g_test_add_func("/block/commit/hmp", test_hmp_commit);
    return qmp_test_run();
}
