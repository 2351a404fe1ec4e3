/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -blockdev, -drive, blockdev-add, blockdev-del, block_resize, and
 * drive_add/drive_del: the user's ways into the block graph.
 *
 * -blockdev and blockdev-add create nodes the monitor owns (one reference
 * each, dropped by blockdev-del, which refuses while anything else holds
 * the node). -drive creates a format node over a file node, both with
 * generated names unless node-name= is given, and a named BlockBackend
 * (the drive's id) that owns them; drive_del deletes that backend.
 *
 * Dotted keys become a JSON tree before the QAPI visitor sees them, with
 * the values of the few integer and boolean members converted (keyval
 * has no types; QEMU's keyval visitor does the same by schema).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "block/block_int.h"
#include "block/blockdev.h"
#include "block/blockjob.h"
#include "block/nbd-uri.h"
#include "block/overlay.h"
#include "block/permission.h"
#include "qapi/qapi-commands.h"
#include "qapi/qapi-visit.h"
#include "util/keyval.h"

/* Leaf keys whose values are booleans or integers in BlockdevOptions. */
static const char *const bool_keys[] = {
    "read-only", "auto-read-only", "force-share", "direct", "no-flush",
    "read-zeroes", "x-allow-special", "pass-discard-request", NULL,
};
static const char *const int_keys[] = {
    "size", "offset", "latency-ns", "reconnect-delay", "open-timeout", NULL,
};

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++) {
        if (!strcmp(*list, key)) {
            return true;
        }
    }
    return false;
}

static json_object *keyval_value(const char *key, const char *leaf,
                                 const char *val, Error **errp)
{
    if (in_list(bool_keys, leaf)) {
        if (!strcmp(val, "on") || !strcmp(val, "true")) {
            return json_object_new_boolean(1);
        }
        if (!strcmp(val, "off") || !strcmp(val, "false")) {
            return json_object_new_boolean(0);
        }
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return NULL;
    }
    if (in_list(int_keys, leaf)) {
        uint64_t v;

        if (!parse_uint(val, &v, NULL) || v > INT64_MAX) {
            error_setg(errp, "Parameter '%s' expects a non-negative "
                       "integer", key);
            return NULL;
        }
        return json_object_new_int64((int64_t)v);
    }
    if (!strcmp(leaf, "backing") && !strcmp(val, "null")) {
        return NULL;   /* JSON null: no backing file */
    }
    return json_object_new_string(val);
}

/* "a.b.c=v" puts v at obj["a"]["b"]["c"]. */
static bool keyval_put(json_object *root, const char *key, const char *val,
                       Error **errp)
{
    g_auto(GStrv) parts = g_strsplit(key, ".", -1);
    json_object *obj = root, *v;
    guint n = g_strv_length(parts);

    for (guint i = 0; i + 1 < n; i++) {
        json_object *child;

        if (!*parts[i]) {
            error_setg(errp, "Invalid parameter '%s'", key);
            return false;
        }
        if (!json_object_object_get_ex(obj, parts[i], &child)) {
            child = json_object_new_object();
            json_object_object_add(obj, parts[i], child);
        } else if (!json_object_is_type(child, json_type_object)) {
            error_setg(errp, "Parameter '%s' conflicts with '%s'", key,
                       parts[i]);
            return false;
        }
        obj = child;
    }
    if (!*parts[n - 1] || json_object_object_get_ex(obj, parts[n - 1], NULL)) {
        error_setg(errp, "Parameter '%s' is invalid or repeated", key);
        return false;
    }
    v = keyval_value(key, parts[n - 1], val, errp);
    if (!v && errp && *errp) {
        return false;
    }
    json_object_object_add(obj, parts[n - 1], v);
    return true;
}

BlockdevOptions *blockdev_options_parse(const char *str, Error **errp)
{
    ERRP_GUARD();
    json_object *obj;
    BlockdevOptions *opts = NULL;

    if (str[0] == '{') {
        obj = json_tokener_parse(str);
        if (!obj || !json_object_is_type(obj, json_type_object)) {
            error_setg(errp, "invalid JSON");
            json_object_put(obj);
            return NULL;
        }
    } else {
        /* QEMU's implied key: "-blockdev null-co,node-name=n0". */
        g_autoptr(KeyvalList) kv = keyval_parse(str, "driver", errp);

        if (!kv) {
            return NULL;
        }
        obj = json_object_new_object();
        for (size_t i = 0; i < keyval_count(kv); i++) {
            if (!keyval_put(obj, keyval_key_at(kv, i),
                            keyval_value_at(kv, i), errp)) {
                json_object_put(obj);
                return NULL;
            }
        }
    }
    qapi_from_json_BlockdevOptions(obj, &opts, "blockdev", errp);
    json_object_put(obj);
    return opts;
}

/* The monitor's reference on a node it created. */
static bool blockdev_add_owned(const BlockdevOptions *opts, Error **errp)
{
    BlockDriverState *bs;

    if (!opts->node_name) {
        error_setg(errp, "'node-name' must be specified for the root node");
        return false;
    }
    bs = bdrv_open_blockdev(opts, errp);
    if (!bs) {
        return false;
    }
    bs->monitor_owned = true;
    return true;
}

bool blockdev_add_cmdline(const char *str, Error **errp)
{
    g_autoptr(BlockdevOptions) opts = blockdev_options_parse(str, errp);

    return opts && blockdev_add_owned(opts, errp);
}

void qmp_blockdev_add(BlockdevOptions *arg, Error **errp)
{
    blockdev_add_owned(arg, errp);
}

void qmp_blockdev_del(const char *node_name, Error **errp)
{
    BlockDriverState *bs = bdrv_find_node(node_name);

    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'",
                   node_name);
        return;
    }
    if (bdrv_backing_parent(bs)) {
        /* QEMU's words (checked before the owner, as QEMU does): a
         * snapshot's old node is its overlay's backing. */
        error_setg(errp, "Node '%s' is busy: node is used as backing hd "
                   "of '%s'", node_name,
                   bdrv_get_node_name(bdrv_backing_parent(bs)));
        return;
    }
    if (!bs->monitor_owned) {
        error_setg(errp, "Node %s is not owned by the monitor", node_name);
        return;
    }
    if (bdrv_refcount(bs) > 1 && blk_user_of(bs)) {
        error_setg(errp, "Node %s is in use by %s", node_name,
                   blk_user_of(bs));
        return;
    }
    if (bdrv_refcount(bs) > 1) {
        error_setg(errp, "Node %s is in use", node_name);
        return;
    }
    bdrv_drain_all();
    bs->monitor_owned = false;
    bdrv_unref(bs);
}

void qmp_block_resize(const char *device, const char *node_name,
                      int64_t size, Error **errp)
{
    BlockDriverState *bs = NULL;
    BlockBackend *blk = NULL;
    BlockBackend *resizer;

    if (!!device == !!node_name) {
        error_setg(errp, "Exactly one of 'device' and 'node-name' must be "
                   "set");
        return;
    }
    if (device) {
        blk = blk_by_name(device);
        bs = blk ? blk_bs(blk) : NULL;
    } else {
        bs = bdrv_find_node(node_name);
    }
    if (!bs) {
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                   device ? device : "", node_name ? node_name : "");
        return;
    }
    if (size < 0) {
        error_setg(errp, "Parameter 'size' expects a >0 size");
        return;
    }
    /* A job's bitmap, target or base has the size it started with. */
    if (!block_job_check_node(bs, errp)) {
        return;
    }
    /*
     * As QEMU's, resizing is a user of the node while it lasts: refused
     * when another user (an export, a backing link) does not share it.
     */
    resizer = blk_new_perm(NULL, bs, BLK_PERM_RESIZE, BLK_PERM_ALL, errp);
    if (!resizer) {
        return;
    }
    bdrv_drain_all();
    if (bdrv_truncate(bs, (uint64_t)size, errp) == 0) {
        /* Guests learn of it (virtio-blk: a configuration change). */
        blk_notify_resize_all();
    }
    blk_unref(resizer);
}

/* -drive cache= modes: host cache use and the guest-visible write cache. */
typedef struct DriveCacheMode {
    const char *name;
    bool direct;
    bool no_flush;
    bool writeback;
} DriveCacheMode;

static const DriveCacheMode cache_modes[] = {
    { "writeback",    false, false, true },
    { "none",         true,  false, true },
    { "writethrough", false, false, false },
    { "directsync",   true,  false, false },
    { "unsafe",       false, true,  true },
};

static unsigned drive_auto_id;

const char *blockdev_probe_format(json_object *fobj, Error **errp)
{
    /* Probe, read-only, through a throwaway protocol node. */
    json_object *pobj = NULL;
    BlockdevOptions *popts = NULL;
    BlockDriverState *probe;
    unsigned char magic[4] = { 0 };

    json_object_deep_copy(fobj, &pobj, NULL);
    json_object_object_add(pobj, "read-only", json_object_new_boolean(1));
    json_object_object_del(pobj, "discard");
    json_object_object_del(pobj, "aio");
    if (!qapi_from_json_BlockdevOptions(pobj, &popts, "drive", errp)) {
        json_object_put(pobj);
        return NULL;
    }
    json_object_put(pobj);
    probe = bdrv_open_blockdev(popts, errp);
    qapi_free_BlockdevOptions(popts);
    if (!probe) {
        return NULL;
    }
    bdrv_pread(probe, 0, 4, magic, NULL);
    bdrv_unref(probe);
    return !memcmp(magic, "QFI\xfb", 4) ? "qcow2" : "raw";
}

static char *drive_snapshot_overlay(const char *file, const char *format,
                                    uint64_t size, Error **errp)
{
    const char *tmp = g_getenv("TMPDIR") ? g_getenv("TMPDIR") : "/var/tmp";
    g_autofree char *path = g_build_filename(tmp, "tandem-snapshot-XXXXXX",
                                             NULL);
    g_autofree char *abs = NULL;
    int fd = g_mkstemp(path);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create a temporary "
                         "overlay in %s", tmp);
        return NULL;
    }
    close(fd);
    unlink(path);
    /* The backing name recorded in the overlay: a path, or an NBD URI. */
    abs = g_path_is_absolute(file) || nbd_uri_is_nbd(file)
          ? g_strdup(file) : g_canonicalize_filename(file, NULL);
    if (!qcow2_create_overlay(path, size, abs, format, errp)) {
        return NULL;
    }
    return g_steal_pointer(&path);
}

BlockBackend *drive_new(const char *str, Error **errp)
{
    return drive_new_cmdline(str, false, errp);
}

BlockBackend *drive_new_cmdline(const char *str, bool snapshot_default,
                                Error **errp)
{
    ERRP_GUARD();
    static const char *const known[] = {
        "id", "file", "format", "if", "cache", "aio", "readonly", "snapshot",
        "node-name", "discard", "media", "werror", "rerror", "driver",
        "file.locking", NULL,
    };
    BlockdevOnError on_error[2] = { BLOCKDEV_ON_ERROR_AUTO,
                                    BLOCKDEV_ON_ERROR_AUTO };
    g_autoptr(KeyvalList) kv = keyval_parse(str, "file", errp);
    const DriveCacheMode *cache = &cache_modes[0];
    g_autofree char *id = NULL, *overlay = NULL, *json = NULL;
    const char *file, *format, *driver, *s;
    bool readonly, snapshot;
    BlockDriverState *bs;
    BlockBackend *blk;
    json_object *fobj, *obj;
    BlockdevOptions *opts = NULL;

    /*
     * With driver= (QEMU's other spelling of format=), the keys -drive
     * does not know are that driver's options, as in QEMU:
     * -drive if=none,id=d0,driver=null-co,size=1M,read-zeroes=on.
     */
    driver = kv ? keyval_get(kv, "driver") : NULL;
    if (!kv || (!driver && !keyval_check_known(kv, known, "-drive", errp)) ||
        !keyval_get_bool(kv, "readonly", false, &readonly, errp) ||
        !keyval_get_bool(kv, "snapshot", snapshot_default, &snapshot,
                         errp)) {
        return NULL;
    }
    s = keyval_get(kv, "if");
    if (s && strcmp(s, "none")) {
        error_setg(errp, "-drive if=%s is not supported: use if=none and a "
                   "device (no disk controller model exists yet)", s);
        return NULL;
    }
    if (keyval_get(kv, "media") && strcmp(keyval_get(kv, "media"), "disk")) {
        error_setg(errp, "-drive media=%s is not supported",
                   keyval_get(kv, "media"));
        return NULL;
    }
    if (driver && keyval_get(kv, "format")) {
        error_setg(errp, "Cannot specify both 'driver' and 'format'");
        return NULL;
    }
    file = keyval_get(kv, "file");
    if ((!file || !*file) && !driver) {
        error_setg(errp, "-drive: Parameter 'file' is missing (empty drives "
                   "are not supported)");
        return NULL;
    }
    if ((!file || !*file) && snapshot) {
        /* -snapshot protects images; a drive without one has none. */
        if (!keyval_get(kv, "snapshot")) {
            snapshot = false;
        } else {
            error_setg(errp, "-drive: snapshot=on needs a file");
            return NULL;
        }
    }
    if ((s = keyval_get(kv, "cache"))) {
        cache = NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(cache_modes); i++) {
            if (!strcmp(cache_modes[i].name, s)) {
                cache = &cache_modes[i];
            }
        }
        if (!cache) {
            error_setg(errp, "invalid cache option '%s'", s);
            return NULL;
        }
    }
    /*
     * The device's werror=auto / rerror=auto take these (QEMU's -drive
     * werror=, rerror=). As in QEMU, "auto" is the devices' word only
     * (the drive's own policy is what auto means), and a read cannot
     * run out of space: rerror=enospc is refused.
     */
    for (unsigned i = 0; i < 2; i++) {
        const char *key = i ? "werror" : "rerror";

        if ((s = keyval_get(kv, key)) &&
            (!BlockdevOnError_parse(s, &on_error[i]) ||
             on_error[i] == BLOCKDEV_ON_ERROR_AUTO ||
             (!i && on_error[i] == BLOCKDEV_ON_ERROR_ENOSPC))) {
            error_setg(errp, "'%s' invalid %s action", s,
                       i ? "write error" : "read error");
            return NULL;
        }
    }
    id = g_strdup(keyval_get(kv, "id"));
    if (!id) {
        id = g_strdup_printf("none%u", drive_auto_id++);
    }
    if (blk_by_name(id)) {
        error_setg(errp, "Duplicate ID '%s' for drive", id);
        return NULL;
    }

    /*
     * The protocol node (file, or nbd for an NBD URI), then the format
     * node over it, as JSON options.
     */
    if (!file || !*file) {
        fobj = NULL;                /* driver= alone: null-co, nbd, ... */
    } else if (nbd_uri_is_nbd(file)) {
        fobj = nbd_uri_to_json(file, errp);
        if (!fobj) {
            return NULL;
        }
    } else {
        fobj = json_object_new_object();
        json_object_object_add(fobj, "driver", json_object_new_string("file"));
        json_object_object_add(fobj, "filename", json_object_new_string(file));
        if ((s = keyval_get(kv, "aio"))) {
            json_object_object_add(fobj, "aio", json_object_new_string(s));
        }
        /* QEMU's spelling for the protocol node's image locking. */
        if ((s = keyval_get(kv, "file.locking"))) {
            json_object_object_add(fobj, "locking",
                                   json_object_new_string(s));
        }
    }
    if ((s = keyval_get(kv, "discard")) && fobj) {
        /* QEMU's -drive takes discard=on|off|unmap|ignore. */
        json_object_object_add(fobj, "discard", json_object_new_string(
            !strcmp(s, "on") || !strcmp(s, "unmap") ? "unmap" : "ignore"));
    }
    format = driver ? driver : keyval_get(kv, "format");
    if (!format && !(format = blockdev_probe_format(fobj, errp))) {
        json_object_put(fobj);
        return NULL;
    }
    obj = json_object_new_object();
    json_object_object_add(obj, "driver", json_object_new_string(format));
    if ((s = keyval_get(kv, "node-name"))) {
        json_object_object_add(obj, "node-name", json_object_new_string(s));
    }
    json_object_object_add(obj, "read-only",
                           json_object_new_boolean(readonly || snapshot));
    {
        json_object *c = json_object_new_object();

        json_object_object_add(c, "direct",
                               json_object_new_boolean(cache->direct));
        json_object_object_add(c, "no-flush",
                               json_object_new_boolean(cache->no_flush));
        json_object_object_add(obj, "cache", c);
    }
    if (fobj) {
        json_object_object_add(obj, "file", fobj);
    }
    for (size_t i = 0; driver && i < keyval_count(kv); i++) {
        if (!in_list(known, keyval_key_at(kv, i)) &&
            !keyval_put(obj, keyval_key_at(kv, i), keyval_value_at(kv, i),
                        errp)) {
            json_object_put(obj);
            return NULL;
        }
    }
    if (!qapi_from_json_BlockdevOptions(obj, &opts, "drive", errp)) {
        json_object_put(obj);
        return NULL;
    }
    json_object_put(obj);
    bs = bdrv_open_blockdev(opts, errp);
    qapi_free_BlockdevOptions(opts);
    if (!bs) {
        return NULL;
    }

    if (snapshot) {
        /* A temporary qcow2 overlay takes the writes; deleted at once. */
        BlockdevOptions o = { .driver = BLOCKDEV_DRIVER_QCOW2 };
        BlockdevOptions fo = { .driver = BLOCKDEV_DRIVER_FILE };
        BlockdevRef fref = { .type = QTYPE_QDICT, .u.definition = &fo };
        BlockdevRefOrNull bref = { .type = QTYPE_QSTRING };
        int64_t size = bdrv_getlength(bs);
        BlockDriverState *top;

        overlay = size < 0 ? NULL
                  : drive_snapshot_overlay(file, format, size, errp);
        if (!overlay) {
            if (size < 0) {
                error_setg_errno(errp, (int)-size, "Could not get the size "
                                 "of '%s'", file);
            }
            bdrv_unref(bs);
            return NULL;
        }
        fo.u.file.filename = overlay;
        bref.u.reference = bs->node_name;
        o.u.qcow2.file = &fref;
        o.u.qcow2.backing = &bref;
        top = bdrv_open_blockdev(&o, errp);
        unlink(overlay);
        bdrv_unref(bs);
        if (!top) {
            return NULL;
        }
        bs = top;
    }
    /*
     * As QEMU's, a drive alone claims consistent read and shares
     * everything: until a device attaches (and claims what it needs) it
     * blocks no other user, here or in another process.
     */
    blk = blk_new_perm(id, bs, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL, errp);
    bdrv_unref(bs);
    if (!blk) {
        return NULL;
    }
    blk_set_enable_write_cache(blk, cache->writeback);
    blk_set_on_error(blk, on_error[0], on_error[1]);
    return blk;
}

bool drive_del(const char *id, Error **errp)
{
    BlockBackend *blk = blk_by_name(id);

    if (!blk) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
                  id);
        return false;
    }
    /* The device holds the backend: unplug it first (device_del). */
    if (blk_get_attached_dev(blk)) {
        error_setg(errp, "Drive '%s' is in use by a device; remove the "
                   "device first", id);
        return false;
    }
    blk_unref(blk);
    return true;
}
