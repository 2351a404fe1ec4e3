/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP, the human monitor: a prompt on a chardev ("(qemu) ", as scripts
 * expect), a small line editor (printable characters, backspace, Ctrl-U,
 * escape sequences ignored), and command dispatch through the table in
 * hmp-cmds.c. Runs on the main loop with the BQL. Output lines end in
 * CRLF, as QEMU's do, so terminals and human-monitor-command agree.
 */
#include <string.h>
#include "monitor-internal.h"
#include "config-host.h"
#include "trace.h"

#define HMP_PROMPT "(qemu) "
#define HMP_MAX_LINE 4096

typedef enum HmpInputState {
    HMP_INPUT_NORMAL,
    HMP_INPUT_ESC,          /* after ESC */
    HMP_INPUT_CSI,          /* after ESC [ : until a final byte */
} HmpInputState;

typedef struct HmpMonitor {
    Chardev *chr;
    GString *line;
    HmpInputState input;
} HmpMonitor;

void hmp_printf(HmpContext *hmp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_append_vprintf(hmp->out, fmt, ap);
    va_end(ap);
}

void hmp_handle_error(HmpContext *hmp, Error *err)
{
    if (err) {
        hmp_printf(hmp, "Error: %s\n", error_get_pretty(err));
        error_free(err);
    }
}

/* "\n" -> "\r\n" (a "\r\n" already there stays as is). */
static char *hmp_crlf(const char *text)
{
    GString *out = g_string_sized_new(strlen(text) + 8);

    for (const char *p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r')) {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

/*
 * A double-quoted word at *pp, as QEMU's HMP reads one (a URI or a path
 * with blanks: migrate "exec:gzip -c > /tmp/vm"): \\, \", \', \n, \r
 * and \t are escapes. Advances *pp past the closing quote, which must
 * end the word; NULL for an unterminated word or an unknown escape.
 */
static char *hmp_quoted_word(const char **pp)
{
    g_autoptr(GString) w = g_string_new(NULL);
    const char *p = *pp + 1;

    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            g_string_append_c(w, *p);
            continue;
        }
        switch (*++p) {
        case '\\': case '"': case '\'':
            g_string_append_c(w, *p);
            break;
        case 'n':
            g_string_append_c(w, '\n');
            break;
        case 'r':
            g_string_append_c(w, '\r');
            break;
        case 't':
            g_string_append_c(w, '\t');
            break;
        default:
            return NULL;
        }
    }
    if (*p != '"' || (p[1] && !strchr(" \t", p[1]))) {
        return NULL;
    }
    *pp = p + 1;
    return g_string_free(g_steal_pointer(&w), FALSE);
}

char **hmp_args(HmpContext *hmp, const char *args, const HmpArgs *spec,
                bool *set)
{
    GPtrArray *words = g_ptr_array_new_with_free_func(g_free);
    const char *p = args ? args : "";
    bool options = true;

    for (;;) {
        size_t n;

        p += strspn(p, " \t");
        if (!*p) {
            break;
        }
        n = strcspn(p, " \t");
        /* "-x" before the first word is an option (QEMU's rule: a word
         * that starts with '-' later, like a negative number, is not). */
        if (options && n == 2 && p[0] == '-') {
            const char *f = spec->flags ? strchr(spec->flags, p[1]) : NULL;

            if (!f || !p[1]) {
                goto usage;
            }
            set[f - spec->flags] = true;
            p += n;
            continue;
        }
        options = false;
        /* The rest of the line is taken as it stands: a JSON value's
         * quotes are its own. */
        if (spec->rest && words->len + 1 == spec->max) {
            g_autofree char *rest = g_strdup(p);

            g_ptr_array_add(words, g_strdup(g_strchomp(rest)));
            break;
        }
        if (*p == '"') {
            char *w = hmp_quoted_word(&p);

            if (!w) {
                goto usage;
            }
            g_ptr_array_add(words, w);
            continue;
        }
        g_ptr_array_add(words, g_strndup(p, n));
        p += n;
    }
    if (words->len < spec->min || words->len > spec->max) {
        goto usage;
    }
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, FALSE);

usage:
    hmp_printf(hmp, "Error: usage: %s\n", spec->usage);
    g_ptr_array_free(words, TRUE);
    return NULL;
}

void hmp_one_word(HmpContext *hmp, const char *args, const char *usage,
                  HmpQmpWordFn *fn)
{
    const HmpArgs spec = { .usage = usage, .min = 1, .max = 1 };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;

    if (w) {
        fn(w[0], &err);
        hmp_handle_error(hmp, err);
    }
}

static const HmpCommand *hmp_find(const char *name)
{
    for (size_t i = 0; i < hmp_commands_count; i++) {
        g_auto(GStrv) aliases = g_strsplit(hmp_commands[i].name, "|", -1);
        for (char **a = aliases; *a; a++) {
            if (!strcmp(*a, name)) {
                return &hmp_commands[i];
            }
        }
    }
    return NULL;
}

bool hmp_execute_line(HmpContext *hmp, const char *line, Error **errp)
{
    g_autofree char *copy = g_strstrip(g_strdup(line));
    g_autofree char *name = NULL;
    const char *args;
    const HmpCommand *cmd;
    size_t n;

    if (!*copy) {
        return true;
    }
    n = strcspn(copy, " \t");
    args = copy + n + strspn(copy + n, " \t");
    if (n == 4 && !strncmp(copy, "info", 4) && *args) {
        /* "info status": the subcommand is part of the name. */
        size_t m = strcspn(args, " \t");
        name = g_strdup_printf("info %.*s", (int)m, args);
        args += m + strspn(args + m, " \t");
    } else {
        name = g_strndup(copy, n);
    }
    cmd = hmp_find(name);
    if (!cmd) {
        error_setg(errp, "unknown command: '%s'", name);
        return false;
    }
    trace_hmp_execute(name, args);
    cmd->fn(hmp, args);
    return true;
}

char *hmp_run_command(const char *cmdline, Error **errp)
{
    HmpContext hmp = { .out = g_string_new(NULL) };
    Error *err = NULL;
    g_autofree char *text = NULL;

    if (!hmp_execute_line(&hmp, cmdline, &err)) {
        /* QEMU prints unknown-command errors as output, not QMP errors. */
        hmp_printf(&hmp, "%s\n", error_get_pretty(err));
        error_free(err);
    }
    text = g_string_free(hmp.out, FALSE);
    return hmp_crlf(text);
}

static void hmp_write(HmpMonitor *mon, const char *text)
{
    chardev_write_all(mon->chr, (const uint8_t *)text, strlen(text));
}

static void hmp_run_input_line(HmpMonitor *mon)
{
    g_autofree char *out = NULL;

    hmp_write(mon, "\r\n");
    out = hmp_run_command(mon->line->str, NULL);
    g_string_truncate(mon->line, 0);
    hmp_write(mon, out);
    hmp_write(mon, HMP_PROMPT);
}

static void hmp_input_byte(HmpMonitor *mon, uint8_t c)
{
    switch (mon->input) {
    case HMP_INPUT_ESC:
        mon->input = c == '[' || c == 'O' ? HMP_INPUT_CSI : HMP_INPUT_NORMAL;
        return;
    case HMP_INPUT_CSI:
        if (c >= 0x40 && c <= 0x7e) {
            mon->input = HMP_INPUT_NORMAL;
        }
        return;
    case HMP_INPUT_NORMAL:
        break;
    }
    if (c == 0x1b) {
        mon->input = HMP_INPUT_ESC;
    } else if (c == '\r' || c == '\n') {
        /* "\r\n" from a terminal: run once, on the first of the pair. */
        if (c == '\n' && mon->line->len == 0) {
            return;
        }
        hmp_run_input_line(mon);
    } else if (c == 0x7f || c == 0x08) {
        if (mon->line->len) {
            g_string_truncate(mon->line, mon->line->len - 1);
            hmp_write(mon, "\b \b");
        }
    } else if (c == 0x15) {     /* Ctrl-U: kill the line */
        while (mon->line->len) {
            g_string_truncate(mon->line, mon->line->len - 1);
            hmp_write(mon, "\b \b");
        }
    } else if (c >= 0x20 && mon->line->len < HMP_MAX_LINE) {
        char echo[2] = { (char)c, 0 };
        g_string_append_c(mon->line, c);
        hmp_write(mon, echo);
    }
}

static size_t hmp_can_receive(void *opaque)
{
    return 256;
}

static void hmp_receive(void *opaque, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        hmp_input_byte(opaque, buf[i]);
    }
}

static void hmp_event(void *opaque, ChardevEvent event)
{
    HmpMonitor *mon = opaque;

    g_string_truncate(mon->line, 0);
    mon->input = HMP_INPUT_NORMAL;
    if (event == CHARDEV_EVENT_OPENED) {
        hmp_write(mon, "QEMU " TANDEM_QEMU_COMPAT_VERSION " monitor - type "
                  "'help' for more information\r\n" HMP_PROMPT);
    }
}

bool monitor_new_hmp(Chardev *chr, Error **errp)
{
    HmpMonitor *mon = g_new0(HmpMonitor, 1);
    ChardevFrontend fe = {
        .can_receive = hmp_can_receive,
        .receive = hmp_receive,
        .event = hmp_event,
        .opaque = mon,
    };

    mon->chr = chr;
    mon->line = g_string_new(NULL);
    if (!chardev_attach_frontend(chr, &fe, errp)) {
        g_string_free(mon->line, TRUE);
        g_free(mon);
        return false;
    }
    return true;
}
