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
#include "util/main-loop.h"
#include "chardev/char-hold.h"
#include "util/sockets.h"
#include "util/yank.h"
#include "trace.h"

static const ChardevClass *const chardev_classes[] = {
    &chardev_stdio_class,
    &chardev_file_class,
    &chardev_null_class,
    &chardev_socket_class,
    &chardev_pty_class,
    &chardev_mux_class,
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

/* Keys -chardev accepts for every backend, besides the class's own. */
static const char *const chardev_common_options[] = { "id", "backend", NULL };

static bool chardev_key_known(const char *const *list, const char *key)
{
    for (; list && *list; list++) {
        if (!strcmp(*list, key)) {
            return true;
        }
    }
    return false;
}

static bool chardev_check_options(const ChardevClass *cls,
                                  const KeyvalList *opts, Error **errp)
{
    g_autoptr(GPtrArray) known = g_ptr_array_new();

    for (const char *const *k = chardev_common_options; *k; k++) {
        g_ptr_array_add(known, (gpointer)*k);
    }
    for (const char *const *k = cls->options; k && *k; k++) {
        g_ptr_array_add(known, (gpointer)*k);
    }
    g_ptr_array_add(known, NULL);
    for (size_t i = 0; i < keyval_count(opts); i++) {
        const char *key = keyval_key_at(opts, i);
        if (!chardev_key_known((const char *const *)known->pdata, key)) {
            error_setg(errp, "chardev: %s: Invalid parameter '%s'",
                       cls->name, key);
            return false;
        }
    }
    return true;
}

/* The Chardev's own fields, once the backend's state is gone. */
static void chardev_free(Chardev *chr)
{
    g_mutex_clear(&chr->lock);
    g_free(chr->id);
    g_free(chr->label);
    g_free(chr);
}

static void chardev_yank_fn(void *opaque)
{
    Chardev *chr = opaque;

    trace_chardev_yank(chr->id);
    chr->cls->yank(chr);
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
    if (!chardev_check_options(cls, opts, errp)) {
        return NULL;
    }
    chr = g_malloc0(cls->instance_size);
    chr->cls = cls;
    chr->id = g_strdup(id);
    g_mutex_init(&chr->lock);
    if (!cls->open(chr, opts, errp)) {
        chardev_free(chr);
        return NULL;
    }
    /* A yank instance exactly while it is in chardevs (ids are unique). */
    if (cls->yank) {
        if (!yank_register_instance(YANK_KIND_CHARDEV, id, errp)) {
            if (cls->close) {
                cls->close(chr);
            }
            chardev_free(chr);
            return NULL;
        }
        yank_register_function(YANK_KIND_CHARDEV, id, chardev_yank_fn, chr);
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

Chardev *chardev_new_from_opts(const char *optarg, Error **errp)
{
    g_autoptr(KeyvalList) opts = keyval_parse(optarg, "backend", errp);
    const char *backend, *id;

    if (!opts) {
        return NULL;
    }
    backend = keyval_get(opts, "backend");
    id = keyval_get(opts, "id");
    if (!backend || !*backend) {
        error_setg(errp, "chardev: \"backend\" missing");
        return NULL;
    }
    if (!id || !*id) {
        error_setg(errp, "chardev: no id specified");
        return NULL;
    }
    return chardev_new(id, backend, opts, errp);
}

/* Doubles the commas of a value for keyval. */
static char *chardev_keyval_escape(const char *value)
{
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);

    return g_strjoinv(",,", parts);
}

/*
 * Builds socket options from "tcp:HOST:PORT,rest" / "unix:PATH,rest": the
 * address is the socket layer's syntax (util/sockets.h), the rest stays
 * keyval options.
 */
static char *chardev_legacy_socket(const char *spec, Error **errp)
{
    g_autofree char *bare = NULL;
    const char *comma;

    /* QEMU's unix: takes its path as the implied key or spelled out
     * (QEMUQtestMachine passes -qtest unix:path=SOCK). */
    if (g_str_has_prefix(spec, "unix:path=")) {
        bare = g_strconcat("unix:", spec + strlen("unix:path="), NULL);
        spec = bare;
    }
    comma = strchr(spec, ',');
    g_autofree char *str = comma ? g_strndup(spec, comma - spec)
                                 : g_strdup(spec);
    g_autoptr(SocketAddress) addr = socket_parse(str, errp);
    g_autofree char *value = NULL;
    g_autofree char *kv = NULL;

    if (!addr) {
        return NULL;
    }
    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        value = chardev_keyval_escape(addr->u.q_unix.path);
        kv = g_strdup_printf("path=%s", value);
    } else {
        value = chardev_keyval_escape(addr->u.inet.host);
        kv = g_strdup_printf("host=%s,port=%s", value, addr->u.inet.port);
    }
    return comma ? g_strdup_printf("%s,%s", kv, comma + 1)
                 : g_steal_pointer(&kv);
}

Chardev *chardev_new_legacy(const char *id, const char *spec, Error **errp)
{
    g_autoptr(KeyvalList) opts = NULL;
    g_autofree char *kv = NULL;
    const char *backend = spec;

    if (!strcmp(spec, "none")) {
        error_setg(errp, "'%s' is not a usable chardev", spec);
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
        /* A path may contain commas; keyval wants them doubled. */
        g_autofree char *escaped = chardev_keyval_escape(spec + strlen("file:"));
        kv = g_strdup_printf("path=%s", escaped);
        backend = "file";
    } else if (g_str_has_prefix(spec, "tcp:") ||
               g_str_has_prefix(spec, "unix:")) {
        kv = chardev_legacy_socket(spec, errp);
        if (!kv) {
            return NULL;
        }
        backend = "socket";
    } else if (!strcmp(spec, "stdio") || !strcmp(spec, "null") ||
               !strcmp(spec, "pty")) {
        kv = g_strdup("");
    } else {
        error_setg(errp, "'%s' is not a valid char driver name", spec);
        return NULL;
    }
    opts = keyval_parse(kv, NULL, errp);
    if (!opts) {
        return NULL;
    }
    return chardev_new(id, backend, opts, errp);
}

void chardev_close(Chardev *chr)
{
    if (chardevs) {
        g_ptr_array_remove(chardevs, chr);
    }
    chardev_cancel_opened(chr);
    if (chr->cls->yank) {
        /* Waits for a yank running on another thread to finish. */
        yank_unregister_function(YANK_KIND_CHARDEV, chr->id, chardev_yank_fn,
                                 chr);
        yank_unregister_instance(YANK_KIND_CHARDEV, chr->id);
    }
    if (chr->cls->close) {
        chr->cls->close(chr);
    }
    chardev_free(chr);
}

void chardev_foreach(void (*fn)(Chardev *chr, void *opaque), void *opaque)
{
    for (guint i = 0; chardevs && i < chardevs->len; i++) {
        fn(g_ptr_array_index(chardevs, i), opaque);
    }
}

void chardev_close_all(void)
{
    while (chardevs && chardevs->len) {
        chardev_close(g_ptr_array_index(chardevs, chardevs->len - 1));
    }
}

static bool chardev_attach_one(Chardev *chr, const ChardevFrontend *fe,
                               Error **errp)
{
    if (chr->fe_attached) {
        error_setg(errp, "chardev '%s' is already in use", chr->id);
        return false;
    }
    chr->fe = *fe;
    chr->fe_attached = true;
    /* Before accept_input() moves the backend's watches to the frontend's
     * context: until then no connection can come or go behind our back. */
    if (chr->connected) {
        chardev_post_opened(chr);
    }
    chardev_accept_input(chr);
    return true;
}

bool chardev_attach_frontend(Chardev *chr, const ChardevFrontend *fe,
                             Error **errp)
{
    bool ok = chr->cls->attach_frontend ?
              chr->cls->attach_frontend(chr, fe, errp) :
              chardev_attach_one(chr, fe, errp);

    if (ok) {
        chardev_hold_attach(chr, fe);
    }
    return ok;
}

static void chardev_detach_now(Chardev *chr)
{
    chardev_cancel_opened(chr);
    if (chr->fe_attached && chr->cls->detach) {
        chr->cls->detach(chr);
    }
    memset(&chr->fe, 0, sizeof(chr->fe));
    chr->fe_attached = false;
}

static void chardev_detach_cb(void *opaque)
{
    chardev_detach_now(opaque);
}

/*
 * A frontend with its own context may be dispatching a callback on its
 * thread right now. Detach between two of its callbacks: directly if this
 * thread can own the context (it is ours, or nobody runs it), else by
 * running the detach on that thread and waiting for it.
 */
void chardev_detach_frontend(Chardev *chr)
{
    GMainContext *ctx = chr->fe_attached ? chr->fe.context : NULL;

    /* First, here on the main loop under the BQL, where guest frontends
     * live: their hold stages go, and the holder forgets what they kept. */
    chardev_hold_detach(chr);
    if (chr->cls->detach_frontend) {
        /* Multi-frontend backends detach every frontend at once here. */
        chr->cls->detach_frontend(chr, NULL);
        return;
    }
    if (!ctx) {
        chardev_detach_now(chr);        /* the main loop's: we hold it */
        return;
    }
    main_context_run_sync(ctx, chardev_detach_cb, chr);
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

ssize_t chardev_write_nowait(Chardev *chr, const uint8_t *buf, size_t len)
{
    if (!chr->cls->write_nowait) {
        chardev_write_all(chr, buf, len);
        return len;
    }
    return chr->cls->write_nowait(chr, buf, len);
}

bool chardev_watch_writable(Chardev *chr, GMainContext *ctx,
                            void (*fn)(void *opaque), void *opaque)
{
    return chr->cls->watch_writable &&
           chr->cls->watch_writable(chr, ctx, fn, opaque);
}

void chardev_disconnect(Chardev *chr)
{
    /* yank is exactly "shut the peer's connection down now". */
    if (chr->cls->yank) {
        trace_chardev_disconnect(chr->id);
        chr->cls->yank(chr);
    }
}

void chardev_take_fds(Chardev *chr, GArray *fds)
{
    if (chr->cls->take_fds) {
        chr->cls->take_fds(chr, fds);
    }
}

void chardev_accept_input(Chardev *chr)
{
    if (chr->cls->accept_input) {
        chr->cls->accept_input(chr);
    }
}

void chardev_send_event(Chardev *chr, ChardevEvent event)
{
    trace_chardev_event(chr->id, event == CHARDEV_EVENT_OPENED ? "opened"
                                                               : "closed");
    if (chr->fe_attached && chr->fe.event) {
        chr->fe.event(chr->fe.opaque, event);
    }
}

static gboolean chardev_opened_dispatch(gpointer opaque)
{
    Chardev *chr = opaque;
    bool current;

    g_mutex_lock(&chr->lock);
    current = chr->open_event && chr->open_event == g_main_current_source();
    if (current) {
        g_source_unref(chr->open_event);
        chr->open_event = NULL;
    }
    g_mutex_unlock(&chr->lock);
    if (current) {
        chardev_send_event(chr, CHARDEV_EVENT_OPENED);
    }
    return G_SOURCE_REMOVE;
}

void chardev_post_opened(Chardev *chr)
{
    g_mutex_lock(&chr->lock);
    if (chr->fe_attached && chr->fe.event && !chr->open_event) {
        GSource *src = g_idle_source_new();

        /* Before the fd watches of the same context, so OPENED precedes
         * the first receive() and any CLOSED. */
        g_source_set_priority(src, G_PRIORITY_HIGH);
        g_source_set_callback(src, chardev_opened_dispatch, chr, NULL);
        chr->open_event = src;
        g_source_attach(src, chr->fe.context);
    }
    g_mutex_unlock(&chr->lock);
}

bool chardev_cancel_opened(Chardev *chr)
{
    GSource *src;

    g_mutex_lock(&chr->lock);
    src = chr->open_event;
    chr->open_event = NULL;
    g_mutex_unlock(&chr->lock);
    if (src) {
        g_source_destroy(src);
        g_source_unref(src);
    }
    return src != NULL;
}

void chardev_set_label(Chardev *chr, char *label)
{
    char *old;

    g_mutex_lock(&chr->lock);
    old = chr->label;
    chr->label = label;
    g_mutex_unlock(&chr->lock);
    g_free(old);
}

char *chardev_dup_label(Chardev *chr)
{
    char *copy;

    g_mutex_lock(&chr->lock);
    copy = g_strdup(chr->label);
    g_mutex_unlock(&chr->lock);
    return copy;
}

bool chardev_is_connected(Chardev *chr)
{
    return chr->connected;
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
