/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chardev registry and the frontend plumbing every backend shares:
 * creation by backend name (or by the legacy -serial spelling), lookup by
 * id, and delivery of input bytes to whatever frontend is attached.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "chardev/char.h"
#include "trace.h"

static const ChardevClass *const chardev_classes[] = {
    &chardev_stdio_class,
    &chardev_file_class,
    &chardev_null_class,
};

/* id -> Chardev*, in creation order for query-chardev. */
static GPtrArray *chardevs;

static const ChardevClass *chardev_class_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(chardev_classes); i++) {
        if (!strcmp(chardev_classes[i]->name, name)) {
            return chardev_classes[i];
        }
    }
    return NULL;
}

Chardev *chardev_find(const char *id)
{
    for (guint i = 0; chardevs && i < chardevs->len; i++) {
        Chardev *chr = g_ptr_array_index(chardevs, i);
        if (!strcmp(chr->id, id)) {
            return chr;
        }
    }
    return NULL;
}

Chardev *chardev_new(const char *id, const char *backend,
                     const KeyvalList *opts, Error **errp)
{
    const ChardevClass *cls = chardev_class_find(backend);
    Chardev *chr;

    if (!cls) {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        return NULL;
    }
    if (chardev_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return NULL;
    }
    chr = g_malloc0(cls->instance_size);
    chr->cls = cls;
    chr->id = g_strdup(id);
    if (!cls->open(chr, opts, errp)) {
        g_free(chr->id);
        g_free(chr->label);
        g_free(chr);
        return NULL;
    }
    if (!chr->label) {
        chr->label = g_strdup(cls->name);
    }
    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    g_ptr_array_add(chardevs, chr);
    trace_chardev_new(id, chr->label);
    return chr;
}

Chardev *chardev_new_legacy(const char *id, const char *spec, Error **errp)
{
    g_autoptr(KeyvalList) opts = NULL;

    if (!strcmp(spec, "none")) {
        return NULL;
    }
    if (g_str_has_prefix(spec, "chardev:")) {
        Chardev *chr = chardev_find(spec + strlen("chardev:"));
        if (!chr) {
            error_setg(errp, "chardev '%s' not found",
                       spec + strlen("chardev:"));
        }
        return chr;
    }
    if (g_str_has_prefix(spec, "file:")) {
        g_autofree char *escaped = NULL;
        g_auto(GStrv) parts = g_strsplit(spec + strlen("file:"), ",", -1);
        /* A path may contain commas; keyval wants them doubled. */
        escaped = g_strjoinv(",,", parts);
        g_autofree char *kv = g_strdup_printf("path=%s", escaped);
        opts = keyval_parse(kv, NULL, errp);
        if (!opts) {
            return NULL;
        }
        return chardev_new(id, "file", opts, errp);
    }
    if (!strcmp(spec, "stdio") || !strcmp(spec, "null")) {
        opts = keyval_parse("", NULL, errp);
        if (!opts) {
            return NULL;
        }
        return chardev_new(id, spec, opts, errp);
    }
    error_setg(errp, "'%s' is not a valid char driver name", spec);
    return NULL;
}

void chardev_close(Chardev *chr)
{
    if (chardevs) {
        g_ptr_array_remove(chardevs, chr);
    }
    if (chr->cls->close) {
        chr->cls->close(chr);
    }
    g_free(chr->id);
    g_free(chr->label);
    g_free(chr);
}

void chardev_close_all(void)
{
    while (chardevs && chardevs->len) {
        chardev_close(g_ptr_array_index(chardevs, chardevs->len - 1));
    }
}

bool chardev_attach_frontend(Chardev *chr, const ChardevFrontend *fe,
                             Error **errp)
{
    if (chr->fe_attached) {
        error_setg(errp, "chardev '%s' is already in use", chr->id);
        return false;
    }
    chr->fe = *fe;
    chr->fe_attached = true;
    chardev_accept_input(chr);
    return true;
}

void chardev_detach_frontend(Chardev *chr)
{
    memset(&chr->fe, 0, sizeof(chr->fe));
    chr->fe_attached = false;
}

size_t chardev_write_all(Chardev *chr, const uint8_t *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = chr->cls->write(chr, buf + done, len - done);
        if (n == -EINTR) {
            continue;
        }
        if (n <= 0) {
            trace_chardev_write_failed(chr->id, (int)-n);
            break;
        }
        done += n;
    }
    return done;
}

void chardev_accept_input(Chardev *chr)
{
    if (chr->cls->accept_input) {
        chr->cls->accept_input(chr);
    }
}

size_t chardev_frontend_room(Chardev *chr)
{
    if (!chr->fe_attached || !chr->fe.can_receive) {
        return 0;
    }
    return chr->fe.can_receive(chr->fe.opaque);
}

size_t chardev_deliver_input(Chardev *chr, const uint8_t *buf, size_t len)
{
    size_t n = MIN(len, chardev_frontend_room(chr));

    if (n) {
        chr->fe.receive(chr->fe.opaque, buf, n);
    }
    return n;
}
