/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File descriptors passed over a QMP socket (SCM_RIGHTS), as QEMU takes
 * them: a client sends an fd with the bytes of a request; `getfd` gives
 * the fd that came with it a name in this monitor; `closefd` closes it;
 * `migrate fd:NAME` and `migrate-incoming fd:NAME` take it (the migration
 * then owns it). An fd that came with a request nobody took an fd from is
 * closed once that request has run, so a client cannot fill our fd table
 * by sending fds with every command.
 *
 * The fds of a request are collected on the monitor I/O thread when the
 * request's last byte is parsed (qmp.c) and handed to this file while
 * the command runs (qmp_fds_begin_request / qmp_fds_end_request), on that
 * command's thread. Named fds belong to the monitor and live until it
 * goes; in-band commands touch them under the BQL, and migrate-recover
 * (out of band, on the I/O thread) takes one too, so every access holds
 * named_fds_lock.
 */
#include <ctype.h>
#include <unistd.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "trace.h"
#include "util/fdset.h"

static __thread GArray *qmp_request_fds;
static GMutex named_fds_lock;

void qmp_fds_begin_request(GArray *fds)
{
    qmp_request_fds = fds;
}

void qmp_fds_end_request(void)
{
    qmp_request_fds = NULL;
}

void qmp_fds_close_all(GArray *fds)
{
    if (!fds) {
        return;
    }
    for (guint i = 0; i < fds->len; i++) {
        trace_qmp_fd_unclaimed(g_array_index(fds, int, i));
        close(g_array_index(fds, int, i));
    }
    g_array_set_size(fds, 0);
}

/* The oldest fd that came with the current request, or -1. */
static int qmp_fds_take_request_fd(void)
{
    int fd;

    if (!qmp_request_fds || !qmp_request_fds->len) {
        return -1;
    }
    fd = g_array_index(qmp_request_fds, int, 0);
    g_array_remove_index(qmp_request_fds, 0);
    return fd;
}

static GHashTable *qmp_fds_table(Error **errp)
{
    QmpMonitor *mon = qmp_monitor_current();

    if (!mon) {
        error_setg(errp, "file descriptors can only be passed over a QMP "
                   "socket");
        return NULL;
    }
    return qmp_monitor_named_fds(mon);
}

void qmp_getfd(const char *fdname, Error **errp)
{
    GHashTable *named = qmp_fds_table(errp);
    int fd;

    if (!named) {
        return;
    }
    if (isdigit((unsigned char)fdname[0])) {
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                   "with a digit");
        return;
    }
    fd = qmp_fds_take_request_fd();
    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return;
    }
    /* A name given again is given to the new fd; the old one is closed. */
    trace_qmp_getfd(fdname, fd);
    g_mutex_lock(&named_fds_lock);
    g_hash_table_replace(named, g_strdup(fdname), GINT_TO_POINTER(fd));
    g_mutex_unlock(&named_fds_lock);
}

void qmp_closefd(const char *fdname, Error **errp)
{
    GHashTable *named = qmp_fds_table(errp);
    bool found;

    if (!named) {
        return;
    }
    g_mutex_lock(&named_fds_lock);
    found = g_hash_table_remove(named, fdname);
    g_mutex_unlock(&named_fds_lock);
    if (!found) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
    }
}

int monitor_take_named_fd(const char *fdname, Error **errp)
{
    GHashTable *named = qmp_fds_table(errp);
    gpointer key, fd;
    bool found;

    if (!named) {
        return -1;
    }
    g_mutex_lock(&named_fds_lock);
    found = g_hash_table_steal_extended(named, fdname, &key, &fd);
    g_mutex_unlock(&named_fds_lock);
    if (!found) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
        return -1;
    }
    g_free(key);
    return GPOINTER_TO_INT(fd);
}

static void qmp_fds_close_value(gpointer fd)
{
    close(GPOINTER_TO_INT(fd));
}

GHashTable *qmp_fds_table_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                 qmp_fds_close_value);
}

/* ---- fd sets (util/fdset.h) ---- */

AddfdInfo *qmp_add_fd(bool has_fdset_id, int64_t fdset_id, const char *opaque,
                      Error **errp)
{
    AddfdInfo *info;
    int fd;

    if (!qmp_fds_table(errp)) {
        return NULL;
    }
    if (has_fdset_id && fdset_id < 0) {
        error_setg(errp, "Parameter 'fdset-id' expects a non-negative value");
        return NULL;
    }
    fd = qmp_fds_take_request_fd();
    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return NULL;
    }
    if (!has_fdset_id) {
        fdset_id = fdset_free_id();
    }
    fdset_add_fd(fdset_id, fd, opaque);
    info = g_new0(AddfdInfo, 1);
    info->fdset_id = fdset_id;
    info->fd = fd;
    return info;
}

void qmp_remove_fd(int64_t fdset_id, bool has_fd, int64_t fd, Error **errp)
{
    fdset_remove(fdset_id, has_fd ? fd : -1, errp);
}

typedef struct FdsetsCtx {
    FdsetInfoList *head, **tail;
    FdsetInfo *last;            /* the set being filled */
    FdsetFdInfoList **fd_tail;
} FdsetsCtx;

static void qmp_fdsets_one(int64_t set_id, int fd, const char *opaque,
                           void *data)
{
    FdsetsCtx *ctx = data;
    FdsetFdInfoList *f = g_new0(FdsetFdInfoList, 1);

    /* fdset_foreach() gives a set's fds one after another. */
    if (!ctx->last || ctx->last->fdset_id != set_id) {
        FdsetInfoList *node = g_new0(FdsetInfoList, 1);

        node->value = g_new0(FdsetInfo, 1);
        node->value->fdset_id = set_id;
        *ctx->tail = node;
        ctx->tail = &node->next;
        ctx->last = node->value;
        ctx->fd_tail = &node->value->fds;
    }
    f->value = g_new0(FdsetFdInfo, 1);
    f->value->fd = fd;
    f->value->opaque = g_strdup(opaque);
    *ctx->fd_tail = f;
    ctx->fd_tail = &f->next;
}

FdsetInfoList *qmp_query_fdsets(Error **errp)
{
    FdsetsCtx ctx = { 0 };

    ctx.tail = &ctx.head;
    fdset_foreach(qmp_fdsets_one, &ctx);
    return ctx.head;
}
