/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block job tests' shared helpers (tests/unit/block-job-test-util.h).
 */
#include <string.h>
#include "block-job-test-util.h"
#include "block-test-util.h"

/* ---- a QMP client that keeps the events it reads ---- */

static void mon_keep(Mon *m, json_object *ev)
{
    json_object *data;

    if (!strcmp(json_object_get_string(member(ev, "event")),
                "JOB_STATUS_CHANGE") &&
        json_object_object_get_ex(ev, "data", &data)) {
        g_string_append_printf(m->statuses, "%s%s",
                               m->statuses->len ? "," : "",
                               json_object_get_string(member(data,
                                                             "status")));
    }
    g_queue_push_tail(&m->events, ev);
}

Mon *mon_new(void)
{
    Mon *m = g_new0(Mon, 1);

    m->c = client_new();
    negotiate(m->c, false);
    g_queue_init(&m->events);
    m->statuses = g_string_new(NULL);
    return m;
}

void mon_free(Mon *m)
{
    json_object *ev;

    while ((ev = g_queue_pop_head(&m->events))) {
        json_object_put(ev);
    }
    g_string_free(m->statuses, TRUE);
    client_free(m->c);
    g_free(m);
}

/* Sends a command; returns its reply (owned), keeping events aside. */
json_object * G_GNUC_PRINTF(2, 3) mon_cmd(Mon *m, const char *fmt,
                                                 ...)
{
    va_list ap;
    g_autofree char *line = NULL;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    send_str(m->c, line);
    send_str(m->c, "\n");
    for (;;) {
        json_object *resp = recv_json(m->c);

        if (!json_object_object_get_ex(resp, "event", NULL)) {
            return resp;
        }
        mon_keep(m, resp);
    }
}

void G_GNUC_PRINTF(2, 3) mon_ok(Mon *m, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *line = NULL;
    json_object *resp;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    resp = mon_cmd(m, "%s", line);
    check_return(resp, NULL);
    json_object_put(resp);
}

void G_GNUC_PRINTF(4, 5) mon_err(Mon *m, const char *cls,
                                        const char *part, const char *fmt,
                                        ...)
{
    va_list ap;
    g_autofree char *line = NULL;
    json_object *resp;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    resp = mon_cmd(m, "%s", line);
    check_error(resp, cls, part, NULL);
    json_object_put(resp);
}

/* Takes the first kept event called name, waiting for it (owned). */
json_object *mon_event(Mon *m, const char *name)
{
    int64_t end = g_get_monotonic_time() + EVENT_WAIT_US;

    for (;;) {
        for (GList *l = m->events.head; l; l = l->next) {
            json_object *ev = l->data;

            if (!strcmp(json_object_get_string(member(ev, "event")), name)) {
                g_queue_delete_link(&m->events, l);
                return ev;
            }
        }
        if (g_get_monotonic_time() > end) {
            g_error("no %s event within %d s (statuses: %s)", name,
                    (int)(EVENT_WAIT_US / G_TIME_SPAN_SECOND),
                    m->statuses->str);
        }
        mon_keep(m, recv_json(m->c));
    }
}

bool mon_has_event(Mon *m, const char *name)
{
    for (GList *l = m->events.head; l; l = l->next) {
        if (!strcmp(json_object_get_string(member(l->data, "event")),
                    name)) {
            return true;
        }
    }
    return false;
}

/* The member key of query-block-jobs' (or query-jobs') entry id. */
json_object *job_field(Mon *m, const char *query, const char *id,
                              const char *key, json_object **resp_out)
{
    json_object *resp = mon_cmd(m, "{\"execute\":\"%s\"}", query);
    json_object *list = check_return(resp, NULL);
    const char *idkey = !strcmp(query, "query-jobs") ? "id" : "device";

    *resp_out = resp;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *j = json_object_array_get_idx(list, i);

        if (!strcmp(json_object_get_string(member(j, idkey)), id)) {
            return key ? member(j, key) : j;
        }
    }
    return NULL;
}

char *job_status(Mon *m, const char *id)
{
    json_object *resp;
    json_object *v = job_field(m, "query-jobs", id, "status", &resp);
    char *s = g_strdup(v ? json_object_get_string(v) : "(none)");

    json_object_put(resp);
    return s;
}

/* Spins the main loop until the job's status is want. */
void wait_status(Mon *m, const char *id, const char *want)
{
    int64_t end = g_get_monotonic_time() + EVENT_WAIT_US;

    for (;;) {
        g_autofree char *st = job_status(m, id);

        if (!strcmp(st, want)) {
            return;
        }
        if (g_get_monotonic_time() > end) {
            g_error("job %s stays %s, not %s", id, st, want);
        }
        spin(m->c);
    }
}


/*
 * A write every WRITER_GAP_US at most, of up to 16 sectors: slower than
 * the copy at the tests' speeds, so a job converges, fast enough that
 * dozens of writes race the first pass.
 */
#define WRITER_GAP_US 10000

typedef struct WriteReq {
    Writer *w;
    struct iovec one;
    BlockIov qiov;
    uint8_t *buf;
} WriteReq;

static void writer_done(void *opaque, int ret, const Error *err)
{
    WriteReq *r = opaque;

    if (ret < 0) {
        g_test_message("guest write failed: %s",
                       err ? error_get_pretty(err) : "?");
        r->w->failed = true;
    }
    r->w->in_flight--;
    g_free(r->buf);
    g_free(r);
}

/* Submits one write of 512 B .. 8 KiB at a random sector. */
void writer_submit(Writer *w)
{
    WriteReq *r = g_new0(WriteReq, 1);
    uint64_t len = 512 * (uint64_t)g_rand_int_range(w->rand, 1, 17);
    uint64_t off = 512 * (uint64_t)g_rand_int_range(
        w->rand, 0, (gint32)((w->size - len) / 512 + 1));

    r->w = w;
    r->buf = g_malloc(len);
    w->seq++;
    for (uint64_t i = 0; i < len; i++) {
        r->buf[i] = (uint8_t)(w->seq * 31 + i);
    }
    /* Writes in flight never overlap: the order between two would be
     * undefined on any disk. */
    memcpy(w->want + off, r->buf, len);
    block_iov_init_buf(&r->qiov, &r->one, r->buf, len);
    w->in_flight++;
    blk_aio_pwritev(w->blk, off, &r->qiov, 0, writer_done, r);
}

void writer_init_want(Writer *w, BlockBackend *blk, uint8_t *want)
{
    memset(w, 0, sizeof(*w));
    w->blk = blk;
    w->size = (uint64_t)blk_getlength(blk);
    w->want = want;
    w->rand = g_rand_new_with_seed(42);
}

void writer_init(Writer *w, BlockBackend *blk, const char *image)
{
    gsize len;
    gchar *data;

    g_assert_true(g_file_get_contents(image, &data, &len, NULL));
    g_assert_cmpuint(len, ==, (uint64_t)blk_getlength(blk));
    writer_init_want(w, blk, (uint8_t *)data);
}

/* One step: a write when fewer than one is in flight (serial, so no two
 * overlap), and a main loop iteration. */
void writer_step(Writer *w, Mon *m)
{
    if (w->in_flight == 0 &&
        g_get_monotonic_time() - w->last_us >= WRITER_GAP_US) {
        w->last_us = g_get_monotonic_time();
        writer_submit(w);
    }
    spin(m->c);
}

void writer_drain(Writer *w, Mon *m)
{
    while (w->in_flight) {
        spin(m->c);
    }
    g_assert_false(w->failed);
}

void writer_free(Writer *w)
{
    g_rand_free(w->rand);
    g_free(w->want);
}

/* The file at path holds exactly want[0, size). */
void check_file(const char *path, const uint8_t *want, uint64_t size)
{
    g_autofree gchar *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, ==, size);
    for (uint64_t i = 0; i < size; i++) {
        if ((uint8_t)data[i] != want[i]) {
            g_error("%s: byte %" G_GUINT64_FORMAT " is 0x%02x, want 0x%02x",
                    path, i, (uint8_t)data[i], want[i]);
        }
    }
}

/* Waits for an event while the writer keeps writing. */
json_object *event_while_writing(Mon *m, Writer *w, const char *name)
{
    int64_t end = g_get_monotonic_time() + EVENT_WAIT_US;

    while (!mon_has_event(m, name)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        writer_step(w, m);
        {
            json_object *resp = mon_cmd(m, "{\"execute\":\"query-name\"}");

            json_object_put(resp);
        }
    }
    return mon_event(m, name);
}

/* human-monitor-command; returns its output (g_free). */
char *mon_hmp(Mon *m, const char *cmd)
{
    json_object *resp = mon_cmd(m, "{\"execute\":\"human-monitor-command\","
                                "\"arguments\":{\"command-line\":\"%s\"}}",
                                cmd);
    char *out = g_strdup(json_object_get_string(check_return(resp, NULL)));

    json_object_put(resp);
    return out;
}
