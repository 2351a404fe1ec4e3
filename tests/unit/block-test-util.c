/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for the block unit tests (block-test-util.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <glib/gstdio.h>
#include "block-test-util.h"
#include "qapi/qapi-visit.h"

static char *dir;

static void bt_cleanup(void)
{
    g_autofree char *cmd = NULL;

    if (dir) {
        cmd = g_strdup_printf("rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            g_printerr("could not remove %s\n", dir);
        }
    }
}

const char *bt_dir(void)
{
    if (!dir) {
        dir = g_strdup("/tmp/wt-block-test-XXXXXX");
        g_assert_nonnull(g_mkdtemp(dir));
        atexit(bt_cleanup);
    }
    return dir;
}

char *bt_path(const char *name)
{
    return g_build_filename(bt_dir(), name, NULL);
}

unsigned char bt_pattern(uint64_t i, int seed)
{
    return (unsigned char)((i * 7 + seed + (i >> 12)) & 0xff);
}

void bt_make_pattern_file(const char *path, uint64_t size, int seed)
{
    g_autofree unsigned char *buf = g_malloc(size ? size : 1);

    for (uint64_t i = 0; i < size; i++) {
        buf[i] = bt_pattern(i, seed);
    }
    g_assert_true(g_file_set_contents(path, (char *)buf, size, NULL));
}

BlockdevOptions *bt_opts(const char *json)
{
    json_object *obj = json_tokener_parse(json);
    BlockdevOptions *opts = NULL;
    Error *err = NULL;

    g_assert_nonnull(obj);
    if (!qapi_from_json_BlockdevOptions(obj, &opts, "options", &err)) {
        g_error("bad test options %s: %s", json, error_get_pretty(err));
    }
    json_object_put(obj);
    return opts;
}

BlockDriverState *bt_open(const char *json)
{
    BlockdevOptions *opts = bt_opts(json);
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_blockdev(opts, &err);

    if (!bs) {
        g_error("opening %s failed: %s", json, error_get_pretty(err));
    }
    qapi_free_BlockdevOptions(opts);
    return bs;
}

void bt_open_fails(const char *json, const char *part)
{
    BlockdevOptions *opts = bt_opts(json);
    Error *err = NULL;
    BlockDriverState *bs = bdrv_open_blockdev(opts, &err);

    if (bs) {
        g_error("opening %s succeeded; expected an error with '%s'", json,
                part);
    }
    if (!strstr(error_get_pretty(err), part)) {
        g_error("opening %s: error '%s' lacks '%s'", json,
                error_get_pretty(err), part);
    }
    error_free(err);
    qapi_free_BlockdevOptions(opts);
}

/* The stand-in device: its address is all blk_attach_dev() keeps. */
static char bt_guest;

void bt_attach_guest(BlockBackend *blk)
{
    g_assert_true(blk_attach_dev(blk, &bt_guest, NULL, false,
                                 &error_abort));
}

void bt_detach_guest(BlockBackend *blk)
{
    blk_detach_dev(blk, &bt_guest);
}
