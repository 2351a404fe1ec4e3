/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A QMP session on one chardev, per the QMP specification: greeting on
 * connect, capabilities negotiation, execute/exec-oob with id echoed,
 * errors with class and description, events once negotiated.
 *
 * Input is parsed on the monitor I/O thread with json-c's incremental
 * tokener (UTF-8 validated, nesting and size bounded). Garbage gets one
 * "JSON parse error" reply and the parser skips to the next line. A
 * client resynchronises on purpose with EOT, ESC or 0xff (QEMU's resync
 * byte): the partial message is dropped without a reply and parsing
 * starts afresh right after it. Any other control character is invalid
 * JSON: inside a message it is a parse error naming it (and the rest of
 * the line is skipped); between messages it is ignored. In-band requests
 * wait in a bounded queue (reading stops while it is full) and run one at
 * a time on the main loop with the BQL; out-of-band ones run at once on
 * the I/O thread. A client that hangs up
 * mid-command does not cancel it: the command completes and its reply is
 * dropped. Replies and events leave through the session's output queue
 * (qmp-output.h), which never blocks the emitting thread; while it is
 * over its soft bound, reading requests pauses too.
 *
 *   state:  disconnected --connect--> negotiating --qmp_capabilities--> command
 *                ^                        |                                 |
 *                +-------- peer closed ---+---------------------------------+
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include "config-host.h"
#include "monitor-internal.h"
#include "qmp-output.h"
#include "qapi/qmp-dispatch.h"
#include "util/main-loop.h"
#include "trace.h"

#define QMP_MAX_MESSAGE     (16u << 20)  /* bytes in one JSON message */
#define QMP_MAX_DEPTH       128          /* nesting depth */
#define QMP_MAX_QUEUED      8            /* in-band requests in flight */

typedef enum QmpState {
    QMP_STATE_DISCONNECTED,
    QMP_STATE_NEGOTIATING,
    QMP_STATE_COMMAND,
} QmpState;

static const char *const qmp_state_names[] = {
    [QMP_STATE_DISCONNECTED] = "disconnected",
    [QMP_STATE_NEGOTIATING] = "negotiating",
    [QMP_STATE_COMMAND] = "command",
};

/*
 * An in-band item: a request to run, or a reply already decided on the
 * I/O thread (invalid input). Both wait their turn so that replies come
 * back in the order the requests came in, as the QMP spec wants.
 */
typedef struct QmpQueued {
    json_object *req;   /* to execute, or NULL */
    json_object *resp;  /* to send as is, or NULL */
    unsigned session;   /* replies go only to the session that asked */
    GArray *fds;        /* int: fds passed with the request (SCM_RIGHTS) */
} QmpQueued;

struct QmpMonitor {
    Chardev *chr;
    bool pretty;
    QmpOutput *out;         /* every reply and event goes through it */
    GHashTable *named_fds;  /* getfd: name -> fd (qmp-fds.c locks it) */

    /* I/O thread only: */
    json_tokener *tok;
    size_t msg_len;         /* bytes fed to tok for the current message */
    GString *text;          /* those bytes: the message as the client sent it */
    bool skipping;          /* after a parse error: until newline/control */
    char quote;             /* inside a string opened by this quote, or 0 */
    bool escape;            /* inside a string, just after a backslash */

    /* lock guards everything below, and serialises writes to chr. */
    GMutex lock;
    QmpState state;
    bool oob;               /* oob enabled in this session */
    unsigned session;       /* bumped on every connect */
    GQueue queue;           /* QmpQueued, in-band requests */
    bool dispatch_scheduled;
};

static __thread QmpMonitor *qmp_current;

QmpMonitor *qmp_monitor_current(void)
{
    return qmp_current;
}

GHashTable *qmp_monitor_named_fds(QmpMonitor *mon)
{
    return mon->named_fds;
}

static void qmp_set_state_locked(QmpMonitor *mon, QmpState state)
{
    trace_qmp_state(mon->chr->id, qmp_state_names[mon->state],
                    qmp_state_names[state]);
    mon->state = state;
}

/*
 * QMP output is ASCII: non-ASCII UTF-8 sequences become \uXXXX escapes
 * (surrogate pairs above the BMP). json-c already escaped control chars.
 */
static char *qmp_ascii_escape(const char *s)
{
    GString *out = g_string_sized_new(strlen(s) + 16);

    for (const char *p = s; *p;) {
        gunichar c;

        if ((unsigned char)*p < 0x80) {
            g_string_append_c(out, *p++);
            continue;
        }
        c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append(out, "\\ufffd");
            p++;
            continue;
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            g_string_append_printf(out, "\\u%04x\\u%04x", 0xd800 + (c >> 10),
                                   0xdc00 + (c & 0x3ff));
        } else {
            g_string_append_printf(out, "\\u%04x", c);
        }
        p = g_utf8_next_char(p);
    }
    return g_string_free(out, FALSE);
}

char *qmp_format_message(json_object *msg, bool pretty)
{
    int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);
    g_autofree char *ascii = qmp_ascii_escape(
        json_object_to_json_string_ext(msg, flags));

    return g_strconcat(ascii, "\r\n", NULL);
}

/* Queues one message if the session that produced it is still there. */
static void qmp_send(QmpMonitor *mon, json_object *msg, unsigned session)
{
    char *text = qmp_format_message(msg, mon->pretty);

    trace_qmp_send(mon->chr->id, text);
    g_mutex_lock(&mon->lock);
    if (mon->state != QMP_STATE_DISCONNECTED && mon->session == session) {
        qmp_output_reply(mon->out, g_steal_pointer(&text));
    }
    g_mutex_unlock(&mon->lock);
    g_free(text);
}

static json_object *qmp_error_object(ErrorClass cls, const char *desc)
{
    static const char *const class_names[] = {
        [ERROR_CLASS_GENERIC_ERROR] = "GenericError",
        [ERROR_CLASS_COMMAND_NOT_FOUND] = "CommandNotFound",
        [ERROR_CLASS_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
        [ERROR_CLASS_DEVICE_NOT_FOUND] = "DeviceNotFound",
        [ERROR_CLASS_KVM_MISSING_CAP] = "KVMMissingCap",
    };
    json_object *err = json_object_new_object();

    json_object_object_add(err, "class",
                           json_object_new_string(class_names[cls]));
    json_object_object_add(err, "desc", json_object_new_string(desc));
    return err;
}

/*
 * Builds {"error": ..., "id": id}; the id is echoed when has_id (json-c
 * represents a JSON null id as NULL).
 */
static json_object *qmp_error_response(Error *err, bool has_id,
                                       json_object *id)
{
    json_object *resp = json_object_new_object();

    json_object_object_add(resp, "error",
                           qmp_error_object(error_get_class(err),
                                            error_get_pretty(err)));
    if (has_id) {
        json_object_object_add(resp, "id", json_object_get(id));
    }
    error_free(err);
    return resp;
}

static json_object *qmp_return_response(json_object *ret, bool has_id,
                                        json_object *id)
{
    json_object *resp = json_object_new_object();

    json_object_object_add(resp, "return", ret ? ret : json_object_new_object());
    if (has_id) {
        json_object_object_add(resp, "id", json_object_get(id));
    }
    return resp;
}

static void qmp_send_greeting(QmpMonitor *mon, unsigned session)
{
    json_object *greeting = json_object_new_object();
    json_object *qmp = json_object_new_object();
    json_object *version = json_object_new_object();
    json_object *qemu = json_object_new_object();
    json_object *caps = json_object_new_array();
    unsigned major, minor, micro;

    sscanf(TANDEM_QEMU_COMPAT_VERSION, "%u.%u.%u", &major, &minor, &micro);
    json_object_object_add(qemu, "major", json_object_new_int(major));
    json_object_object_add(qemu, "minor", json_object_new_int(minor));
    json_object_object_add(qemu, "micro", json_object_new_int(micro));
    json_object_object_add(version, "qemu", qemu);
    json_object_object_add(version, "package",
                           json_object_new_string("Tandem " TANDEM_VERSION));
    json_object_object_add(qmp, "version", version);
    /* Out-of-band really works here: requests are read on the I/O thread. */
    json_object_array_add(caps, json_object_new_string("oob"));
    json_object_object_add(qmp, "capabilities", caps);
    json_object_object_add(greeting, "QMP", qmp);
    qmp_send(mon, greeting, session);
    json_object_put(greeting);
}

/*
 * The checked parts of a request. Validation follows the spec: execute or
 * exec-oob (a string), optional arguments (an object), optional id (any),
 * nothing else.
 */
typedef struct QmpRequest {
    const char *name;
    bool oob;
    json_object *args;      /* borrowed, may be NULL */
    json_object *id;        /* borrowed; NULL when absent or JSON null */
    bool has_id;
} QmpRequest;

static bool qmp_parse_request(QmpMonitor *mon, json_object *req,
                              QmpRequest *r, bool oob_enabled, Error **errp)
{
    /* Presence, not value: json-c gives a JSON null member as NULL. */
    bool has_exec = false, has_exec_oob = false, has_args = false;
    json_object *exec = NULL, *exec_oob = NULL;

    memset(r, 0, sizeof(*r));
    if (!json_object_is_type(req, json_type_object)) {
        error_setg(errp, "QMP input must be a JSON object");
        return false;
    }
    r->has_id = json_object_object_get_ex(req, "id", &r->id);
    json_object_object_foreach(req, key, val) {
        if (!strcmp(key, "execute")) {
            exec = val;
            has_exec = true;
        } else if (!strcmp(key, "exec-oob") && oob_enabled) {
            exec_oob = val;
            has_exec_oob = true;
        } else if (!strcmp(key, "arguments")) {
            r->args = val;
            has_args = true;
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return false;
        }
    }
    if (has_exec && has_exec_oob) {
        error_setg(errp, "QMP input must not contain both 'execute' and "
                   "'exec-oob'");
        return false;
    }
    if (!has_exec && !has_exec_oob) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return false;
    }
    r->oob = has_exec_oob;
    if (!json_object_is_type(r->oob ? exec_oob : exec, json_type_string)) {
        error_setg(errp, "QMP input member '%s' must be a string",
                   r->oob ? "exec-oob" : "execute");
        return false;
    }
    r->name = json_object_get_string(r->oob ? exec_oob : exec);
    if (has_args && !json_object_is_type(r->args, json_type_object)) {
        error_setg(errp, "QMP input member 'arguments' must be an object");
        return false;
    }
    if (r->oob && !r->has_id) {
        error_setg(errp, "Out-of-band commands need an 'id'");
        return false;
    }
    return true;
}

/*
 * Runs a parsed, permitted request and returns the response. In-band
 * commands run here with the BQL held (main loop); out-of-band ones on
 * the I/O thread without it.
 */
static json_object *qmp_execute(QmpMonitor *mon, const QmpRequest *r,
                                bool negotiated)
{
    const QmpCommand *cmd = qmp_find_command(r->name);
    json_object *args = r->args ? json_object_get(r->args)
                                : json_object_new_object();
    json_object *ret = NULL;
    Error *err = NULL;

    if (!cmd) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "The command %s has not been found", r->name);
    } else if (!negotiated && strcmp(r->name, "qmp_capabilities")) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Expecting capabilities negotiation with "
                  "'qmp_capabilities'");
    } else if (negotiated && !strcmp(r->name, "qmp_capabilities")) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, command "
                  "ignored");
    } else if (r->oob && !(cmd->flags & QMP_CMD_ALLOW_OOB)) {
        error_setg(&err, "The command %s does not support OOB", r->name);
    } else {
        trace_qmp_execute(mon->chr->id, r->name, r->oob);
        qmp_current = mon;
        cmd->fn(args, &ret, &err);
        qmp_current = NULL;
    }
    json_object_put(args);
    if (err) {
        json_object_put(ret);
        return qmp_error_response(err, r->has_id, r->id);
    }
    return qmp_return_response(ret, r->has_id, r->id);
}

static void qmp_dispatch_bh(void *opaque);

/* I/O thread: the fds that came with the bytes of the message just read. */
static GArray *qmp_take_request_fds(QmpMonitor *mon)
{
    GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));

    chardev_take_fds(mon->chr, fds);
    return fds;
}

/* I/O thread: queues an in-band item (takes req, resp and fds). */
static void qmp_enqueue(QmpMonitor *mon, json_object *req, json_object *resp,
                        GArray *fds)
{
    QmpQueued *q = g_new(QmpQueued, 1);
    bool schedule;

    q->req = req;
    q->resp = resp;
    q->fds = fds;
    g_mutex_lock(&mon->lock);
    q->session = mon->session;
    g_queue_push_tail(&mon->queue, q);
    schedule = !mon->dispatch_scheduled;
    mon->dispatch_scheduled = true;
    g_mutex_unlock(&mon->lock);
    if (schedule) {
        main_loop_schedule_bh(qmp_dispatch_bh, mon);
    }
}

/*
 * I/O thread: a complete JSON value arrived (consumed here). A valid
 * exec-oob runs at once; everything else, errors included, is answered
 * in order from the main loop.
 */
static void qmp_handle_input(QmpMonitor *mon, json_object *req)
{
    QmpRequest r;
    Error *err = NULL;
    unsigned session;
    bool negotiated, oob_enabled;
    json_object *resp;
    GArray *fds = qmp_take_request_fds(mon);

    g_mutex_lock(&mon->lock);
    session = mon->session;
    negotiated = mon->state == QMP_STATE_COMMAND;
    oob_enabled = mon->oob;
    g_mutex_unlock(&mon->lock);

    if (!qmp_parse_request(mon, req, &r, oob_enabled, &err)) {
        qmp_fds_close_all(fds);
        qmp_enqueue(mon, NULL, qmp_error_response(err, r.has_id, r.id), fds);
        json_object_put(req);
        return;
    }
    if (!r.oob) {
        qmp_enqueue(mon, req, NULL, fds);
        return;
    }
    qmp_fds_begin_request(fds);
    resp = qmp_execute(mon, &r, negotiated);
    qmp_fds_end_request();
    qmp_fds_close_all(fds);
    g_array_free(fds, TRUE);
    qmp_send(mon, resp, session);
    json_object_put(resp);
    json_object_put(req);
}

/* Main loop: runs queued in-band requests, one per call, in order. */
static void qmp_dispatch_bh(void *opaque)
{
    QmpMonitor *mon = opaque;
    QmpQueued *q;
    QmpRequest r;
    json_object *resp;
    bool negotiated, more, was_full;

    g_mutex_lock(&mon->lock);
    was_full = g_queue_get_length(&mon->queue) >= QMP_MAX_QUEUED;
    q = g_queue_pop_head(&mon->queue);
    negotiated = mon->state == QMP_STATE_COMMAND && q &&
                 q->session == mon->session;
    g_mutex_unlock(&mon->lock);

    if (q && q->resp) {
        qmp_send(mon, q->resp, q->session);
        json_object_put(q->resp);
    } else if (q) {
        /* Parsed before queueing, so this cannot fail. */
        qmp_parse_request(mon, q->req, &r, false, &error_abort);
        qmp_fds_begin_request(q->fds);
        resp = qmp_execute(mon, &r, negotiated);
        qmp_fds_end_request();
        qmp_send(mon, resp, q->session);
        json_object_put(resp);
        json_object_put(q->req);
    }
    if (q) {
        qmp_fds_close_all(q->fds);
        g_array_free(q->fds, TRUE);
    }
    g_free(q);

    g_mutex_lock(&mon->lock);
    more = !g_queue_is_empty(&mon->queue);
    mon->dispatch_scheduled = more;
    g_mutex_unlock(&mon->lock);
    if (more) {
        main_loop_schedule_bh(qmp_dispatch_bh, mon);
    }
    if (was_full) {
        chardev_accept_input(mon->chr);
    }
}

/* Forgets the partial message (tokener and our string tracking). */
static void qmp_parser_reset(QmpMonitor *mon)
{
    json_tokener_reset(mon->tok);
    mon->msg_len = 0;
    g_string_truncate(mon->text, 0);
    mon->quote = 0;
    mon->escape = false;
}

static void qmp_parse_error(QmpMonitor *mon, const char *what)
{
    Error *err = NULL;
    json_object *resp;
    GArray *fds = qmp_take_request_fds(mon);

    qmp_fds_close_all(fds);     /* nobody takes what came with garbage */
    error_setg(&err, "JSON parse error, %s", what);
    resp = qmp_error_response(err, false, NULL);
    qmp_enqueue(mon, NULL, resp, fds);
    qmp_parser_reset(mon);
    mon->skipping = true;
}

/* Bytes the parser acts on before json-c sees them (see the header). */
static bool qmp_is_control_char(uint8_t c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f ||
           c == 0xff;
}

/* The client asks for a clean slate. */
static bool qmp_is_resync_request(uint8_t c)
{
    return c == 0x04 || c == 0x1b || c == 0xff;
}

/*
 * Some of a message has been read and it is not complete yet: whitespace
 * between messages (blank lines, a CRLF's tail) is not a message begun.
 */
static bool qmp_message_in_progress(QmpMonitor *mon)
{
    if (mon->quote) {
        return true;
    }
    for (size_t i = 0; i < mon->text->len; i++) {
        if (!strchr(" \t\r\n", mon->text->str[i])) {
            return true;
        }
    }
    return false;
}

static void qmp_control_char(QmpMonitor *mon, uint8_t c)
{
    if (qmp_is_resync_request(c)) {
        qmp_parser_reset(mon);
        mon->skipping = false;
    } else if (!mon->skipping && qmp_message_in_progress(mon)) {
        g_autofree char *what = g_strdup_printf(
            "invalid control character 0x%02x%s", c,
            mon->quote ? " inside a string" : "");

        qmp_parse_error(mon, what);
    }
}

/*
 * json-c takes raw newlines inside strings, so one stray quote would pull
 * the following lines into a string and defeat the resync at newlines.
 * Follows strings the way json-c lexes them and returns the offset of the
 * first newline inside one (len if none), with the string state there.
 */
static size_t qmp_scan_strings(const char *buf, size_t len, char *quote,
                               bool *escape)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];

        if (!*quote) {
            if (c == '"' || c == '\'') {
                *quote = c;
            }
        } else if (c == '\n') {
            return i;
        } else if (*escape) {
            *escape = false;
        } else if (c == '\\') {
            *escape = true;
        } else if (c == *quote) {
            *quote = 0;
        }
    }
    return len;
}

/* Every string and key is UTF-8 (overlong forms and surrogates are not). */
static bool qmp_strings_valid(json_object *obj)
{
    switch (json_object_get_type(obj)) {
    case json_type_string: {
        const char *p = json_object_get_string(obj);
        const char *end = p + json_object_get_string_len(obj);

        /* "\u0000" is allowed; g_utf8_validate() stops at NUL. */
        while (p < end) {
            size_t seg = strnlen(p, end - p);

            if (!g_utf8_validate(p, seg, NULL)) {
                return false;
            }
            p += seg + 1;
        }
        return true;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(obj); i++) {
            if (!qmp_strings_valid(json_object_array_get_idx(obj, i))) {
                return false;
            }
        }
        return true;
    case json_type_object: {
        json_object_object_foreach(obj, key, val) {
            if (!g_utf8_validate(key, -1, NULL) || !qmp_strings_valid(val)) {
                return false;
            }
        }
        return true;
    }
    default:
        return true;
    }
}

/*
 * The id must come back exactly as sent (the QMP spec: "the same JSON
 * value"). json-c keeps a number's text for floats but clamps integers
 * (a 5000-digit id came back as 18446744073709551615), so for an integer
 * id the reply carries the id's own text from the message. The scanner
 * walks only the top-level object's members; strings are skipped with
 * their escapes, nesting by brackets. json-c has already accepted the
 * text as valid JSON, which is what makes the simple walk enough.
 */
static size_t qmp_skip_ws(const char *t, size_t i, size_t len)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' ||
                       t[i] == '\n')) {
        i++;
    }
    return i;
}

/* Index just past the string starting at t[i] (a quote). */
static size_t qmp_skip_string(const char *t, size_t i, size_t len)
{
    char q = t[i++];

    while (i < len && t[i] != q) {
        i += t[i] == '\\' ? 2 : 1;
    }
    return i + 1;
}

/* Index just past the value starting at t[i]. */
static size_t qmp_skip_value(const char *t, size_t i, size_t len)
{
    int depth = 0;

    while (i < len) {
        char c = t[i];

        if (c == '"' || c == '\'') {
            i = qmp_skip_string(t, i, len);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (!depth) {
                break;          /* the end of the enclosing object */
            }
            depth--;
        } else if (!depth && (c == ',' || c == ' ' || c == '\t' ||
                              c == '\r' || c == '\n')) {
            break;
        }
        i++;
    }
    return i;
}

static void qmp_echo_id_verbatim(json_object *req, const char *t, size_t len)
{
    json_object *id;
    size_t i;

    if (!req || !json_object_object_get_ex(req, "id", &id) ||
        !json_object_is_type(id, json_type_int)) {
        return;
    }
    i = qmp_skip_ws(t, 0, len);
    if (i >= len || t[i] != '{') {
        return;
    }
    i = qmp_skip_ws(t, i + 1, len);
    while (i < len && (t[i] == '"' || t[i] == '\'')) {
        size_t key = i + 1, key_end = qmp_skip_string(t, i, len) - 1;
        size_t val;

        i = qmp_skip_ws(t, key_end + 1, len);
        if (i >= len || t[i] != ':') {
            return;
        }
        val = qmp_skip_ws(t, i + 1, len);
        i = qmp_skip_value(t, val, len);
        if (key_end - key == 2 && !memcmp(t + key, "id", 2)) {
            g_autofree char *raw = g_strndup(t + val, i - val);

            /* A double object serialises as the text it was given. */
            json_object_object_add(req, "id",
                                   json_object_new_double_s(0, raw));
            return;
        }
        i = qmp_skip_ws(t, i, len);
        if (i >= len || t[i] != ',') {
            return;
        }
        i = qmp_skip_ws(t, i + 1, len);
    }
}

/* Feeds a run of bytes that contains no control character. */
static void qmp_feed(QmpMonitor *mon, const char *buf, size_t len)
{
    while (len) {
        json_object *obj;
        enum json_tokener_error jerr;
        size_t used, cut;
        char quote;
        bool escape;

        if (mon->skipping) {
            const char *nl = memchr(buf, '\n', len);
            if (!nl) {
                return;
            }
            len -= nl + 1 - buf;
            buf = nl + 1;
            mon->skipping = false;
            continue;
        }
        quote = mon->quote;
        escape = mon->escape;
        cut = qmp_scan_strings(buf, len, &quote, &escape);
        if (cut == 0) {
            /* A newline inside a string: the skip stops right at it. */
            qmp_parse_error(mon, "newline inside a string");
            continue;
        }
        obj = json_tokener_parse_ex(mon->tok, buf, cut);
        jerr = json_tokener_get_error(mon->tok);
        used = json_tokener_get_parse_end(mon->tok);
        if (jerr == json_tokener_continue) {
            mon->msg_len += cut;
            g_string_append_len(mon->text, buf, cut);
            mon->quote = quote;
            mon->escape = escape;
            buf += cut;
            len -= cut;
            if (mon->msg_len > QMP_MAX_MESSAGE) {
                qmp_parse_error(mon, "message exceeds 16 MiB");
            }
            continue;
        }
        if (jerr != json_tokener_success) {
            qmp_parse_error(mon, json_tokener_error_desc(jerr));
            buf += used;
            len -= used;
            continue;
        }
        g_string_append_len(mon->text, buf, used);
        qmp_echo_id_verbatim(obj, mon->text->str, mon->text->len);
        qmp_parser_reset(mon);
        buf += used;
        len -= used;
        if (!obj) {
            /* A bare JSON null: not an object. */
            obj = json_object_new_null();
        } else if (!qmp_strings_valid(obj)) {
            json_object_put(obj);
            qmp_parse_error(mon, "invalid utf-8 string");
            /* The message was complete: there is nothing to skip. */
            mon->skipping = false;
            continue;
        }
        qmp_handle_input(mon, obj);
    }
}

static void qmp_chr_receive(void *opaque, const uint8_t *buf, size_t len)
{
    QmpMonitor *mon = opaque;
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (!qmp_is_control_char(buf[i])) {
            continue;
        }
        qmp_feed(mon, (const char *)buf + start, i - start);
        qmp_control_char(mon, buf[i]);
        start = i + 1;
    }
    qmp_feed(mon, (const char *)buf + start, len - start);
}

static size_t qmp_chr_can_receive(void *opaque)
{
    QmpMonitor *mon = opaque;
    size_t queued;

    g_mutex_lock(&mon->lock);
    queued = g_queue_get_length(&mon->queue);
    g_mutex_unlock(&mon->lock);
    /* A client that does not read its replies sends no more requests. */
    if (queued >= QMP_MAX_QUEUED || qmp_output_backlogged(mon->out)) {
        return 0;
    }
    return 4096;
}

static void qmp_chr_event(void *opaque, ChardevEvent event)
{
    QmpMonitor *mon = opaque;
    unsigned session;

    qmp_parser_reset(mon);
    mon->skipping = false;
    g_mutex_lock(&mon->lock);
    mon->oob = false;
    qmp_output_reset(mon->out);
    if (event == CHARDEV_EVENT_OPENED) {
        session = ++mon->session;
        qmp_set_state_locked(mon, QMP_STATE_NEGOTIATING);
    } else {
        mon->session++;
        qmp_set_state_locked(mon, QMP_STATE_DISCONNECTED);
    }
    g_mutex_unlock(&mon->lock);
    if (event == CHARDEV_EVENT_OPENED) {
        qmp_send_greeting(mon, session);
    }
}

bool qmp_monitor_negotiate(QmpMonitor *mon, bool enable_oob, Error **errp)
{
    g_mutex_lock(&mon->lock);
    mon->oob = enable_oob;
    qmp_set_state_locked(mon, QMP_STATE_COMMAND);
    g_mutex_unlock(&mon->lock);
    return true;
}

/* Any thread: queues the event, never waits for the client. */
void qmp_monitor_emit_event(QmpMonitor *mon, json_object *event)
{
    char *text = qmp_format_message(event, mon->pretty);
    json_object *name = NULL;

    json_object_object_get_ex(event, "event", &name);
    g_mutex_lock(&mon->lock);
    if (mon->state == QMP_STATE_COMMAND) {
        qmp_output_event(mon->out, g_steal_pointer(&text),
                         name ? json_object_get_string(name) : "");
    }
    g_mutex_unlock(&mon->lock);
    g_free(text);
}

QmpMonitor *qmp_monitor_new(Chardev *chr, bool pretty, Error **errp)
{
    QmpMonitor *mon = g_new0(QmpMonitor, 1);
    ChardevFrontend fe = {
        .can_receive = qmp_chr_can_receive,
        .receive = qmp_chr_receive,
        .event = qmp_chr_event,
        .opaque = mon,
        .context = monitor_iothread_context(),
    };

    mon->chr = chr;
    mon->pretty = pretty;
    mon->out = qmp_output_new(chr, monitor_iothread_context());
    mon->named_fds = qmp_fds_table_new();
    /*
     * No JSON_TOKENER_VALIDATE_UTF8: json-c 0.16 rejects a character split
     * across two parse calls (i.e. two reads), and lets overlong forms
     * through. Strings are checked once the message is complete instead.
     */
    mon->tok = json_tokener_new_ex(QMP_MAX_DEPTH);
    mon->text = g_string_new(NULL);
    g_mutex_init(&mon->lock);
    g_queue_init(&mon->queue);
    mon->state = QMP_STATE_DISCONNECTED;
    monitor_register_qmp(mon);
    /* An already-connected chardev queues OPENED: we greet from there. */
    if (!chardev_attach_frontend(chr, &fe, errp)) {
        return NULL;    /* registered: freed with the others at exit */
    }
    return mon;
}

void qmp_monitor_free(QmpMonitor *mon)
{
    QmpQueued *q;

    if (mon->chr) {
        chardev_detach_frontend(mon->chr);
    }
    while ((q = g_queue_pop_head(&mon->queue))) {
        json_object_put(q->req);
        json_object_put(q->resp);
        qmp_fds_close_all(q->fds);
        g_array_free(q->fds, TRUE);
        g_free(q);
    }
    g_hash_table_destroy(mon->named_fds);
    qmp_output_free(mon->out);
    json_tokener_free(mon->tok);
    g_string_free(mon->text, TRUE);
    g_mutex_clear(&mon->lock);
    g_free(mon);
}
