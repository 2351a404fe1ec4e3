/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One test (at least) per QMP command in the schema, run against a real
 * Tandem: booting the test guest under KVM where the command's effect
 * on a guest is checked, else its pc under -accel qtest (no KVM needed,
 * so those run on every host). Each checks what the command returns or
 * does (run state, events, guest memory seen through qtest, files written,
 * sockets created), and its error paths. The schema itself is read from
 * the qapi/ JSON files at run time: query-commands must list exactly its
 * commands, query-qmp-schema must describe them, and /qmp/schema/all-tested
 * fails when a command is added to the schema without any qtest (a C
 * file in tests/qtest) executing it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "config-host.h"
#include "kvm-skip.h"
#include "libqtest.h"

/* ---- the schema, from the qapi/ JSON files ---- */

/* Drops '#' comments (outside strings) so json-c can read the file. */
static char *strip_comments(const char *text)
{
    GString *out = g_string_sized_new(strlen(text));
    char quote = 0;

    for (const char *p = text; *p; p++) {
        if (quote) {
            if (*p == '\\' && p[1]) {
                g_string_append_c(out, *p++);
            } else if (*p == quote) {
                quote = 0;
            }
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '#') {
            while (p[1] && p[1] != '\n') {
                p++;
            }
            continue;
        }
        g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

static void schema_read(const char *file, GHashTable *commands,
                        GHashTable *seen)
{
    g_autofree char *path = g_build_filename(QAPI_DIR, file, NULL);
    g_autofree char *raw = NULL;
    g_autofree char *text = NULL;
    json_tokener *tok = json_tokener_new();
    const char *p;

    if (g_hash_table_contains(seen, file)) {
        json_tokener_free(tok);
        return;
    }
    g_hash_table_add(seen, g_strdup(file));
    g_assert_true(g_file_get_contents(path, &raw, NULL, NULL));
    text = strip_comments(raw);
    p = text;
    for (;;) {
        json_object *expr;

        p += strspn(p, " \t\r\n");
        if (!*p) {
            break;
        }
        expr = json_tokener_parse_ex(tok, p, strlen(p));
        if (!expr) {
            g_error("%s: cannot parse near '%.40s': %s", path, p,
                    json_tokener_error_desc(json_tokener_get_error(tok)));
        }
        p += json_tokener_get_parse_end(tok);
        json_tokener_reset(tok);
        if (qt_json_str(expr, "include")) {
            schema_read(qt_json_str(expr, "include"), commands, seen);
        } else if (qt_json_str(expr, "command")) {
            g_hash_table_add(commands, g_strdup(qt_json_str(expr,
                                                            "command")));
        }
        json_object_put(expr);
    }
    json_tokener_free(tok);
}

static GHashTable *schema_commands(void)
{
    GHashTable *commands = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                 g_free, NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, NULL);

    schema_read("qapi-schema.json", commands, seen);
    return commands;
}

/* All C sources of the qtests, concatenated. */
static char *qtest_sources(void)
{
    GString *all = g_string_new(NULL);
    g_autoptr(GDir) dir = g_dir_open(QTEST_SRC_DIR, 0, NULL);
    const char *name;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(QTEST_SRC_DIR, name, NULL);
        g_autofree char *text = NULL;

        if (g_str_has_suffix(name, ".c") &&
            g_file_get_contents(path, &text, NULL, NULL)) {
            g_string_append(all, text);
        }
    }
    /* Join adjacent string literals: "{'execute': " "'x'}". */
    {
        g_autoptr(GRegex) re = g_regex_new("\"\\s+\"", 0, 0, NULL);
        char *joined = g_regex_replace_literal(re, all->str, -1, 0, "", 0,
                                               NULL);

        g_string_free(all, TRUE);
        return joined;
    }
}

/*
 * Every command of the schema is executed by some qtest: its sources
 * contain "'execute': 'NAME'" (the spelling all tests here use), possibly
 * split across adjacent string literals.
 */
static void test_schema_all_tested(void)
{
    g_autoptr(GHashTable) commands = schema_commands();
    g_autofree char *sources = qtest_sources();
    g_autoptr(GString) missing = g_string_new(NULL);
    GHashTableIter it;
    gpointer name;

    g_assert_cmpuint(g_hash_table_size(commands), >=, 10);
    g_hash_table_iter_init(&it, commands);
    while (g_hash_table_iter_next(&it, &name, NULL)) {
        g_autofree char *needle = g_strdup_printf("'execute': '%s'",
                                                  (char *)name);

        if (!strstr(sources, needle)) {
            g_string_append_printf(missing, "%s%s", missing->len ? " " : "",
                                   (char *)name);
        }
    }
    if (missing->len) {
        g_test_message("QMP commands without a test in %s: %s",
                       QTEST_SRC_DIR, missing->str);
    }
    g_assert_cmpstr(missing->str, ==, "");
}

/* ---- helpers ---- */

static void assert_status(QTestState *s, const char *want, bool running)
{
    bool is_running;

    g_assert_cmpstr(qtest_runstate(s, &is_running), ==, want);
    g_assert_cmpint(is_running, ==, running);
}

/* Name -> the ChardevInfo of query-chardev (NULL if absent); owned. */
static json_object *find_chardev(QTestState *s, const char *label)
{
    json_object *list = qtest_qmp_assert_success(s, "{'execute': "
                                                 "'query-chardev'}");
    json_object *found = NULL;

    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *c = json_object_array_get_idx(list, i);
        if (!g_strcmp0(qt_json_str(c, "label"), label)) {
            found = json_object_get(c);
        }
    }
    json_object_put(list);
    return found;
}

static json_object *array_find_str(json_object *list, const char *key,
                                   const char *value)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        if (!g_strcmp0(qt_json_str(e, key), value)) {
            return e;
        }
    }
    return NULL;
}

/* ---- tests ---- */

static void test_capabilities_again(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);

    qtest_qmp_assert_error_contains(s, "CommandNotFound", "already complete",
        "{'execute': 'qmp_capabilities'}");
    /* The monitor is still in command mode. */
    assert_status(s, "running", true);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_version(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-version'}");
    json_object *q = qt_json_get(ret, "qemu");
    g_autofree char *v = NULL;

    g_assert_nonnull(q);
    v = g_strdup_printf("%d.%d.%d",
                        json_object_get_int(qt_json_get(q, "major")),
                        json_object_get_int(qt_json_get(q, "minor")),
                        json_object_get_int(qt_json_get(q, "micro")));
    g_assert_cmpstr(v, ==, TANDEM_QEMU_COMPAT_VERSION);
    g_assert_nonnull(qt_json_str(ret, "package"));
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * trace-event-get-state and -set-state on the real binary: they see what
 * -trace enabled, and switching an event changes what the -D log gets.
 */
static void test_trace_event_state(void)
{
    g_autofree char *log = qtest_scratch_path("trace.log");
    QTestState *s = qtest_initf_accel_qtest("-trace enable=hmp_execute "
                                            "-D %s", log);
    json_object *ret, *ev;
    g_autofree char *text = NULL;

    ret = qtest_qmp_assert_success(s, "{'execute': 'trace-event-get-state', "
                                   "'arguments': {'name': 'hmp_execute'}}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 1);
    ev = json_object_array_get_idx(ret, 0);
    g_assert_cmpstr(qt_json_str(ev, "name"), ==, "hmp_execute");
    g_assert_cmpstr(qt_json_str(ev, "state"), ==, "enabled");
    json_object_put(ret);
    g_free(qtest_hmp(s, "info version"));
    qtest_qmp_ok(s, "{'execute': 'trace-event-set-state', 'arguments': "
                 "{'name': 'hmp_*', 'enable': false}}");
    g_free(qtest_hmp(s, "info name"));
    qtest_qmp_ok(s, "{'execute': 'trace-event-set-state', 'arguments': "
                 "{'name': 'hmp_execute', 'enable': true}}");
    g_free(qtest_hmp(s, "info uuid"));
    qtest_qmp_assert_error_contains(s, "GenericError",
        "unknown event \"no_such_event\"",
        "{'execute': 'trace-event-set-state', 'arguments': "
        "{'name': 'no_such_event', 'enable': true}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "hmp_execute info version"));
    g_assert_null(strstr(text, "hmp_execute info name"));
    g_assert_nonnull(strstr(text, "hmp_execute info uuid"));
}

/* libvirt's probe questions, asked of a running process. */
static void test_machine_probe(void)
{
    QTestState *s = qtest_init_accel_qtest("-M pc-i440fx-7.2 "
                               "-uuid 550e8400-e29b-41d4-a716-446655440000");
    json_object *ret, *m;

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-target'}");
    g_assert_cmpstr(qt_json_str(ret, "arch"), ==, "x86_64");
    json_object_put(ret);
    /* The pc, and QEMU's empty machine "none". */
    ret = qtest_qmp_assert_success(s, "{'execute': 'query-machines'}");
    g_assert_cmpuint(json_object_array_length(ret), ==, 2);
    m = json_object_array_get_idx(ret, 0);
    g_assert_cmpstr(qt_json_str(m, "name"), ==, "none");
    g_assert_null(qt_json_get(m, "alias"));
    m = json_object_array_get_idx(ret, 1);
    g_assert_cmpstr(qt_json_str(m, "name"), ==, "pc-i440fx-7.2");
    g_assert_cmpstr(qt_json_str(m, "alias"), ==, "pc");
    json_object_put(ret);
    ret = qtest_qmp_assert_success(s, "{'execute': 'query-uuid'}");
    g_assert_cmpstr(qt_json_str(ret, "UUID"), ==,
                    "550e8400-e29b-41d4-a716-446655440000");
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_commands(void)
{
    g_autoptr(GHashTable) schema = schema_commands();
    g_autoptr(GHashTable) listed = g_hash_table_new(g_str_hash, g_str_equal);
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-commands'}");
    GHashTableIter it;
    gpointer name;

    g_assert_true(json_object_is_type(ret, json_type_array));
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        const char *n = qt_json_str(json_object_array_get_idx(ret, i),
                                    "name");
        g_assert_nonnull(n);
        g_assert_false(g_hash_table_contains(listed, n));   /* no dups */
        g_hash_table_add(listed, (gpointer)n);
        if (!g_hash_table_contains(schema, n)) {
            g_test_message("%s is listed but not in the schema", n);
        }
        g_assert_true(g_hash_table_contains(schema, n));
    }
    g_hash_table_iter_init(&it, schema);
    while (g_hash_table_iter_next(&it, &name, NULL)) {
        if (!g_hash_table_contains(listed, name)) {
            g_test_message("%s is in the schema but not listed",
                           (char *)name);
        }
        g_assert_true(g_hash_table_contains(listed, name));
    }
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_qmp_schema(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *cmds = qtest_qmp_assert_success(s, "{'execute': "
                                                 "'query-commands'}");
    json_object *schema = qtest_qmp_assert_success(s, "{'execute': "
                                                   "'query-qmp-schema'}");
    static const char *const events[] = { "STOP", "RESUME", "SHUTDOWN",
                                          "RESET" };

    g_assert_true(json_object_is_type(schema, json_type_array));
    for (size_t i = 0; i < json_object_array_length(cmds); i++) {
        const char *n = qt_json_str(json_object_array_get_idx(cmds, i),
                                    "name");
        json_object *e = array_find_str(schema, "name", n);

        if (!e) {
            g_test_message("%s is not in query-qmp-schema", n);
        }
        g_assert_nonnull(e);
        g_assert_cmpstr(qt_json_str(e, "meta-type"), ==, "command");
        /* arg-type and ret-type name entries of the schema. */
        g_assert_nonnull(array_find_str(schema, "name",
                                        qt_json_str(e, "arg-type")));
        g_assert_nonnull(array_find_str(schema, "name",
                                        qt_json_str(e, "ret-type")));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
        json_object *e = array_find_str(schema, "name", events[i]);
        g_assert_nonnull(e);
        g_assert_cmpstr(qt_json_str(e, "meta-type"), ==, "event");
    }
    json_object_put(cmds);
    json_object_put(schema);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_status_prelaunch(void)
{
    QTestState *s = qtest_init("-S");
    json_object *ev;

    assert_status(s, "prelaunch", false);
    /* Not started: the guest has not written its status page. */
    g_assert_cmphex(qtest_readq(s, TG_STATUS_ADDR), !=, TG_STATUS_MAGIC);
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    ev = qtest_qmp_eventwait(s, "RESUME");
    json_object_put(ev);
    assert_status(s, "running", true);
    qtest_wait_guest_boot(s);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_stop_cont(void)
{
    QTestState *s = qtest_init(NULL);
    uint64_t hb1, hb2;

    qtest_wait_guest_boot(s);
    qtest_qmp_ok(s, "{'execute': 'stop'}");
    json_object_put(qtest_qmp_eventwait(s, "STOP"));
    assert_status(s, "paused", false);
    /* Paused vCPUs do not move the heartbeat. */
    hb1 = qtest_readq(s, TG_STATUS_ADDR + 0x200);
    g_usleep(50 * 1000);
    hb2 = qtest_readq(s, TG_STATUS_ADDR + 0x200);
    g_assert_cmphex(hb1, ==, hb2);
    /* stop again: no error, no second event. */
    qtest_qmp_ok(s, "{'execute': 'stop'}");
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    json_object_put(qtest_qmp_eventwait(s, "RESUME"));
    g_assert_null(qtest_qmp_eventwait_timeout(s, "STOP", 100));
    assert_status(s, "running", true);
    g_usleep(50 * 1000);
    g_assert_cmphex(qtest_readq(s, TG_STATUS_ADDR + 0x200), !=, hb2);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_system_reset(void)
{
    g_autofree char *serial = qtest_scratch_path("serial.log");
    QTestState *s = qtest_initf("-serial file:%s", serial);
    json_object *ev, *data;

    g_assert_true(qtest_wait_file_count(serial, "TG boot", 1,
                                        qtest_timeout_ms()));
    g_assert_true(qtest_wait_file_count(serial, "TG idle", 1,
                                        qtest_timeout_ms()));
    qtest_wait_guest_boot(s);
    /* Spoil the status page: the rebooted guest must write it again. */
    qtest_writeq(s, TG_STATUS_ADDR, 0);
    qtest_qmp_ok(s, "{'execute': 'system_reset'}");
    ev = qtest_qmp_eventwait(s, "RESET");
    data = qt_json_get(ev, "data");
    g_assert_false(json_object_get_boolean(qt_json_get(data, "guest")));
    g_assert_cmpstr(qt_json_str(data, "reason"), ==, "host-qmp-system-reset");
    json_object_put(ev);
    g_assert_true(qtest_wait_file_count(serial, "TG boot", 2,
                                        qtest_timeout_ms()));
    g_assert_true(qtest_wait_file_count(serial, "TG idle", 2,
                                        qtest_timeout_ms()));
    qtest_wait_guest_boot(s);
    assert_status(s, "running", true);
    g_assert_cmpuint(qtest_file_count(serial, "TG boot"), ==, 2);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_quit(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *ret, *ev, *data;

    ret = qtest_qmp_assert_success(s, "{'execute': 'quit'}");
    g_assert_true(json_object_is_type(ret, json_type_object));
    g_assert_cmpint(json_object_object_length(ret), ==, 0);
    json_object_put(ret);
    ev = qtest_qmp_eventwait(s, "SHUTDOWN");
    data = qt_json_get(ev, "data");
    g_assert_false(json_object_get_boolean(qt_json_get(data, "guest")));
    g_assert_cmpstr(qt_json_str(data, "reason"), ==, "host-qmp-quit");
    json_object_put(ev);
    g_assert_cmpint(qtest_wait_exit(s, qtest_timeout_ms()), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static uint8_t *read_file(const char *path, gsize *len)
{
    char *data = NULL;

    g_assert_true(g_file_get_contents(path, &data, len, NULL));
    return (uint8_t *)data;
}

static void test_pmemsave(void)
{
    g_autofree char *dump = qtest_scratch_path("pmem.bin");
    g_autofree char *bad = qtest_scratch_path("pmem-bad.bin");
    g_autofree uint8_t *data = NULL;
    g_autofree uint8_t *live = g_malloc(4096);
    QTestState *s = qtest_init(NULL);
    uint64_t magic;
    gsize len;

    qtest_wait_guest_boot(s);
    qtest_qmp_ok(s, "{'execute': 'stop'}");
    qtest_qmp_clear_events(s);
    json_object_put(qtest_qmp_assert_success(
        s, "{'execute': 'pmemsave', 'arguments': {'val': %d, 'size': 4096, "
        "'filename': '%s'}}", 0x200000, dump));
    data = read_file(dump, &len);
    g_assert_cmpuint(len, ==, 4096);
    memcpy(&magic, data, 8);
    g_assert_cmphex(magic, ==, TG_STATUS_MAGIC);
    /* The dump matches what qtest reads. */
    qtest_bufread(s, TG_STATUS_ADDR, live, 4096);
    g_assert_cmpmem(data, len, live, 4096);
    /* Not RAM: an error, and no file left behind. */
    qtest_qmp_assert_error_contains(s, "GenericError", "not RAM",
        "{'execute': 'pmemsave', 'arguments': {'val': %u, 'size': 4096, "
        "'filename': '%s'}}", 0xfee00000, bad);
    g_assert_false(g_file_test(bad, G_FILE_TEST_EXISTS));
    qtest_qmp_assert_error_contains(s, "GenericError",
        "Invalid parameter 'size'",
        "{'execute': 'pmemsave', 'arguments': {'val': 0, "
        "'size': -1, 'filename': '%s'}}", bad);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* pmemsave needs no vCPU: under -accel qtest it dumps what qtest wrote. */
static void test_pmemsave_no_vcpu(void)
{
    g_autofree char *dump = qtest_scratch_path("pmem-qtest.bin");
    g_autofree uint8_t *data = NULL;
    QTestState *s = qtest_init_accel_qtest(NULL);
    uint8_t pattern[4096];
    gsize len;

    for (unsigned i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i * 7 + 3);
    }
    qtest_bufwrite(s, 0x300000, pattern, sizeof(pattern));
    json_object_put(qtest_qmp_assert_success(
        s, "{'execute': 'pmemsave', 'arguments': {'val': %d, 'size': 4096, "
        "'filename': '%s'}}", 0x300000, dump));
    data = read_file(dump, &len);
    g_assert_cmpmem(data, len, pattern, sizeof(pattern));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* memsave translates through a vCPU's page tables: with vCPU objects but
 * no vCPU state (-accel qtest) it is refused, pointing at pmemsave, and no
 * file is left behind. */
static void test_memsave_no_vcpu_state(void)
{
    g_autofree char *bad = qtest_scratch_path("vmem-qtest.bin");
    QTestState *s = qtest_init_accel_qtest("-smp 2");

    qtest_qmp_assert_error_contains(s, "GenericError",
        "have no register state to translate the address with (use pmemsave)",
        "{'execute': 'memsave', 'arguments': {'val': 0, 'size': 16, "
        "'filename': '%s'}}", bad);
    g_assert_false(g_file_test(bad, G_FILE_TEST_EXISTS));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_memsave(void)
{
    g_autofree char *vdump = qtest_scratch_path("vmem.bin");
    g_autofree char *pdump = qtest_scratch_path("pmem.bin");
    g_autofree char *bad = qtest_scratch_path("vmem-bad.bin");
    g_autofree uint8_t *vdata = NULL;
    g_autofree uint8_t *pdata = NULL;
    QTestState *s = qtest_init("-smp 2");
    gsize vlen, plen;

    qtest_wait_guest_boot(s);
    /* Stopped so both dumps see the same heartbeat. */
    qtest_qmp_ok(s, "{'execute': 'stop'}");
    json_object_put(qtest_qmp_assert_success(
        s, "{'execute': 'memsave', 'arguments': {'val': %d, 'size': 8192, "
        "'filename': '%s', 'cpu-index': 0}}", 0x200000, vdump));
    json_object_put(qtest_qmp_assert_success(
        s, "{'execute': 'pmemsave', 'arguments': {'val': %d, 'size': 8192, "
        "'filename': '%s'}}", 0x200000, pdump));
    vdata = read_file(vdump, &vlen);
    pdata = read_file(pdump, &plen);
    g_assert_cmpmem(vdata, vlen, pdata, plen);
    g_assert_cmpuint(vlen, ==, 8192);
    /* cpu-index defaults to 0; the VM stays paused. */
    json_object_put(qtest_qmp_assert_success(
        s, "{'execute': 'memsave', 'arguments': {'val': %d, 'size': 16, "
        "'filename': '%s'}}", 0x200000, vdump));
    assert_status(s, "paused", false);
    qtest_qmp_assert_error_contains(s, "GenericError", "cpu-index",
        "{'execute': 'memsave', 'arguments': {'val': 0, 'size': 16, "
        "'filename': '%s', 'cpu-index': 2}}", bad);
    qtest_qmp_assert_error_contains(s, "GenericError", "cpu-index",
        "{'execute': 'memsave', 'arguments': {'val': 0, 'size': 16, "
        "'filename': '%s', 'cpu-index': -1}}", bad);
    /* The guest identity-maps 4 GiB only. */
    qtest_qmp_assert_error_contains(s, "GenericError", "not mapped",
        "{'execute': 'memsave', 'arguments': {'val': %llu, 'size': 16, "
        "'filename': '%s'}}", 0x4000000000ULL, bad);
    /* HMP's x reads through the same page tables: the identity map
     * shows what xp shows; an unmapped address ends the dump. */
    {
        g_autofree char *x = qtest_hmp(s, "x /4xg 0x200000");
        g_autofree char *xp = qtest_hmp(s, "xp /4xg 0x200000");
        g_autofree char *unmapped = qtest_hmp(s, "x /2x 0x4000000000");

        g_assert_cmpstr(x, ==, xp);
        g_assert_true(g_str_has_prefix(x, "0000000000200000: 0x"));
        g_assert_cmpstr(unmapped, ==,
                        "0000004000000000: Cannot access memory\r\n");
    }
    /* While running too: memsave pauses and resumes around the copy. */
    qtest_qmp_ok(s, "{'execute': 'cont'}");
    json_object_put(qtest_qmp_assert_success(
        s, "{'execute': 'memsave', 'arguments': {'val': %d, 'size': 8, "
        "'filename': '%s', 'cpu-index': 1}}", 0x200000, vdump));
    g_free(vdata);
    vdata = read_file(vdump, &vlen);
    g_assert_cmpuint(vlen, ==, 8);
    g_assert_cmpmem(vdata, 8, pdata, 8);
    assert_status(s, "running", true);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_hmp(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    g_autofree char *out1 = qtest_hmp(s, "info status");
    g_autofree char *out2 = NULL;
    g_autofree char *out3 = NULL;

    g_assert_cmpstr(out1, ==, "VM status: running\r\n");
    qtest_qmp_ok(s, "{'execute': 'stop'}");
    out2 = qtest_hmp(s, "info status");
    g_assert_cmpstr(out2, ==, "VM status: paused\r\n");
    out3 = qtest_hmp(s, "no-such-command");
    g_assert_nonnull(strstr(out3, "no-such-command"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_name(void)
{
    QTestState *s = qtest_init_accel_qtest("-name tandem-qtest-guest");
    QTestState *s2;
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-name'}");

    g_assert_cmpstr(qt_json_str(ret, "name"), ==, "tandem-qtest-guest");
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);

    s2 = qtest_init_accel_qtest(NULL);
    ret = qtest_qmp_assert_success(s2, "{'execute': 'query-name'}");
    g_assert_false(qt_json_has(ret, "name"));
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s2), ==, 0);
}

static void test_query_kvm(void)
{
    QTestState *s = qtest_init(NULL);
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-kvm'}");

    g_assert_true(json_object_get_boolean(qt_json_get(ret, "enabled")));
    g_assert_true(json_object_get_boolean(qt_json_get(ret, "present")));
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_cpus_fast(void)
{
    QTestState *s = qtest_init("-smp 2");
    json_object *ret = qtest_qmp_assert_success(s, "{'execute': "
                                                "'query-cpus-fast'}");
    int64_t tid[2];

    g_assert_cmpuint(json_object_array_length(ret), ==, 2);
    for (int i = 0; i < 2; i++) {
        json_object *c = json_object_array_get_idx(ret, i);

        g_assert_cmpint(json_object_get_int(qt_json_get(c, "cpu-index")), ==,
                        i);
        tid[i] = json_object_get_int64(qt_json_get(c, "thread-id"));
        g_assert_cmpint(tid[i], >, 0);
        g_assert_cmpint(tid[i], !=, qtest_pid(s));
        g_assert_cmpstr(qt_json_str(c, "target"), ==, "x86_64");
        g_assert_nonnull(qt_json_str(c, "qom-path"));
    }
    g_assert_cmpint(tid[0], !=, tid[1]);
    json_object_put(ret);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_query_chardev(void)
{
    g_autofree char *serial = qtest_scratch_path("serial.log");
    g_autofree char *want = NULL;
    QTestState *s = qtest_initf_accel_qtest("-serial file:%s", serial);
    json_object *c;

    c = find_chardev(s, "serial0");
    g_assert_nonnull(c);
    want = g_strdup_printf("file:%s", serial);
    g_assert_cmpstr(qt_json_str(c, "filename"), ==, want);
    g_assert_true(json_object_get_boolean(qt_json_get(c, "frontend-open")));
    json_object_put(c);
    c = find_chardev(s, "char0");
    g_assert_nonnull(c);
    g_assert_true(g_str_has_prefix(qt_json_str(c, "filename"), "unix:"));
    json_object_put(c);
    c = find_chardev(s, "qtest");
    g_assert_nonnull(c);
    json_object_put(c);
    g_assert_null(find_chardev(s, "serial1"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_chardev_add(void)
{
    g_autofree char *file = qtest_scratch_path("chr-file.log");
    g_autofree char *sock = qtest_scratch_path("chr.sock");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *ret, *c;
    int fd;

    ret = qtest_qmp_assert_success(s, "{'execute': 'chardev-add', "
        "'arguments': {'id': 'f0', 'backend': {'type': 'file', 'data': "
        "{'out': '%s'}}}}", file);
    g_assert_false(qt_json_has(ret, "pty"));
    json_object_put(ret);
    g_assert_true(g_file_test(file, G_FILE_TEST_EXISTS));
    c = find_chardev(s, "f0");
    g_assert_nonnull(c);
    json_object_put(c);

    qtest_qmp_ok(s, "{'execute': 'chardev-add', 'arguments': "
        "{'id': 's0', 'backend': {'type': 'socket', 'data': {'addr': "
        "{'type': 'unix', 'data': {'path': '%s'}}, 'server': true, "
        "'wait': false}}}}", sock);
    /* The server listens: we can connect. */
    g_strlcpy(sa.sun_path, sock, sizeof(sa.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    close(fd);

    qtest_qmp_ok(s, "{'execute': 'chardev-add', 'arguments': {'id': 'n0', "
                 "'backend': {'type': 'null', 'data': {}}}}");
    c = find_chardev(s, "n0");
    g_assert_nonnull(c);
    g_assert_cmpstr(qt_json_str(c, "filename"), ==, "null");
    json_object_put(c);

    ret = qtest_qmp_assert_success(s, "{'execute': 'chardev-add', "
        "'arguments': {'id': 'p0', 'backend': {'type': 'pty', 'data': {}}}}");
    g_assert_nonnull(qt_json_str(ret, "pty"));
    g_assert_true(g_str_has_prefix(qt_json_str(ret, "pty"), "/dev/pts/"));
    g_assert_true(g_file_test(qt_json_str(ret, "pty"), G_FILE_TEST_EXISTS));
    json_object_put(ret);

    /* Errors: a taken id, an unknown backend type. */
    qtest_qmp_assert_error_contains(s, "GenericError", "n0",
        "{'execute': 'chardev-add', 'arguments': "
        "{'id': 'n0', 'backend': {'type': 'null', "
        "'data': {}}}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "",
        "{'execute': 'chardev-add', 'arguments': "
        "{'id': 'x0', 'backend': {'type': 'spice', "
        "'data': {}}}}");
    g_assert_null(find_chardev(s, "x0"));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_chardev_remove(void)
{
    QTestState *s = qtest_init_accel_qtest("-serial null");
    json_object *c;

    qtest_qmp_ok(s, "{'execute': 'chardev-add', 'arguments': {'id': 'n1', "
                 "'backend': {'type': 'null', 'data': {}}}}");
    c = find_chardev(s, "n1");
    g_assert_nonnull(c);
    json_object_put(c);
    qtest_qmp_ok(s, "{'execute': 'chardev-remove', 'arguments': "
                 "{'id': 'n1'}}");
    g_assert_null(find_chardev(s, "n1"));
    /* The id can be used again. */
    qtest_qmp_ok(s, "{'execute': 'chardev-add', 'arguments': {'id': 'n1', "
                 "'backend': {'type': 'null', 'data': {}}}}");

    qtest_qmp_assert_error_contains(s, "GenericError", "not found",
        "{'execute': 'chardev-remove', 'arguments': "
        "{'id': 'nope'}}");
    /* In use by this very monitor, by a UART. */
    qtest_qmp_assert_error_contains(s, "GenericError", "busy",
        "{'execute': 'chardev-remove', 'arguments': "
        "{'id': 'char0'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "busy",
        "{'execute': 'chardev-remove', 'arguments': "
        "{'id': 'serial0'}}");
    c = find_chardev(s, "char0");
    g_assert_nonnull(c);
    json_object_put(c);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_object_add_del(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);

    qtest_qmp_ok(s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'iothread', 'id': 'io0'}}");
    qtest_qmp_ok(s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'iothread', 'id': 'io1', "
                 "'poll-max-ns': 1000}}");
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': {'id': 'io0'}}");
    /* Gone: deleting again fails, and the id is free again. */
    qtest_qmp_assert_error_contains(s, "GenericError", "io0",
        "{'execute': 'object-del', 'arguments': "
        "{'id': 'io0'}}");
    qtest_qmp_ok(s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'iothread', 'id': 'io0'}}");
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': {'id': 'io0'}}");
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': {'id': 'io1'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "not found",
        "{'execute': 'object-del', 'arguments': "
        "{'id': 'never-was'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_object_add_errors(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);

    qtest_qmp_assert_error_contains(s, "GenericError", "no-such-type",
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'no-such-type', 'id': 'x'}}");
    qtest_qmp_ok(s, "{'execute': 'object-add', 'arguments': "
                 "{'qom-type': 'iothread', 'id': 'dup'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "dup",
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'iothread', 'id': 'dup'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "poll-max-ns",
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'iothread', 'id': 'io2', "
        "'poll-max-ns': 'lots'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "colour",
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'iothread', 'id': 'io3', "
        "'colour': 'red'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "id",
        "{'execute': 'object-add', 'arguments': "
        "{'qom-type': 'iothread'}}");
    /* None of the failed ones exists. */
    qtest_qmp_assert_error_contains(s, "GenericError", "not found",
        "{'execute': 'object-del', 'arguments': "
        "{'id': 'io2'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "not found",
        "{'execute': 'object-del', 'arguments': "
        "{'id': 'io3'}}");
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': {'id': 'dup'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_qom_list_types(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    json_object *all = qtest_qmp_assert_success(s, "{'execute': "
                                                "'qom-list-types'}");
    json_object *uc = qtest_qmp_assert_success(s, "{'execute': "
        "'qom-list-types', 'arguments': {'implements': 'user-creatable'}}");
    json_object *none = qtest_qmp_assert_success(s, "{'execute': "
        "'qom-list-types', 'arguments': {'implements': 'no-such-iface'}}");

    g_assert_nonnull(array_find_str(all, "name", "iothread"));
    g_assert_nonnull(array_find_str(uc, "name", "iothread"));
    g_assert_cmpuint(json_object_array_length(uc), <=,
                     json_object_array_length(all));
    /* Everything user-creatable is a type in the full list. */
    for (size_t i = 0; i < json_object_array_length(uc); i++) {
        const char *n = qt_json_str(json_object_array_get_idx(uc, i), "name");
        g_assert_nonnull(array_find_str(all, "name", n));
    }
    g_assert_cmpuint(json_object_array_length(none), ==, 0);
    json_object_put(all);
    json_object_put(uc);
    json_object_put(none);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* No device type supports hotplug yet: device_add checks the driver and
 * the properties like -device, then refuses with QEMU's text; device_del
 * refuses a -device device and does not know other ids. */
static void test_device_add_del(void)
{
    static const struct {
        const char *cls, *needle, *request;
    } refusals[] = {
        { "GenericError", "Device 'isa-debug-exit' does not support hotplugging",
          "{'execute': 'device_add', 'arguments': {'driver': "
          "'isa-debug-exit', 'id': 'd2', 'iobase': 1280}}" },
        { "GenericError", "Device 'isa-serial' does not support hotplugging",
          "{'execute': 'device_add', 'arguments': {'driver': 'isa-serial'}}" },
        { "GenericError", "'e1000' is not a valid device model name",
          "{'execute': 'device_add', 'arguments': "
          "{'driver': 'e1000'}}" },
        { "GenericError", "Property 'isa-debug-exit.colour' not found",
          "{'execute': 'device_add', 'arguments': {'driver': "
          "'isa-debug-exit', 'colour': 'red'}}" },
        { "GenericError", "'iobase', expected: uint32",
          "{'execute': 'device_add', 'arguments': {'driver': "
          "'isa-debug-exit', 'iobase': 'x'}}" },
        { "GenericError", "Duplicate ID 'dbg'",
          "{'execute': 'device_add', 'arguments': {'driver': "
          "'isa-debug-exit', 'id': 'dbg'}}" },
        { "GenericError", "Parameter 'driver' is missing",
          "{'execute': 'device_add', 'arguments': {'id': 'x'}}" },
        { "GenericError", "Device 'isa-debug-exit' does not support hotplugging",
          "{'execute': 'device_del', 'arguments': {'id': 'dbg'}}" },
        { "DeviceNotFound", "Device 'd2' not found",
          "{'execute': 'device_del', 'arguments': {'id': 'd2'}}" },
    };
    QTestState *s = qtest_init_accel_qtest("-device isa-debug-exit,id=dbg,"
                                           "iobase=0x510");
    json_object *types;

    for (size_t i = 0; i < G_N_ELEMENTS(refusals); i++) {
        qtest_qmp_assert_error_contains(s, refusals[i].cls,
                                        refusals[i].needle, "%s",
                                        refusals[i].request);
    }
    /* The device types are QOM types. */
    types = qtest_qmp_assert_success(s, "{'execute': 'qom-list-types', "
                                     "'arguments': {'implements': 'device'}}");
    g_assert_nonnull(array_find_str(types, "name", "isa-debug-exit"));
    g_assert_nonnull(array_find_str(types, "name", "isa-serial"));
    g_assert_null(array_find_str(types, "name", "iothread"));
    json_object_put(types);
    /* Still there: the failed device_del did not remove it. */
    qtest_qmp_assert_error_contains(s, "GenericError", "Duplicate ID 'dbg'",
                                    "%s", refusals[5].request);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_system_powerdown(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);

    qtest_qmp_assert_error_contains(s, "GenericError", "ACPI",
        "{'execute': 'system_powerdown'}");
    /* Nothing happened to the VM. */
    g_assert_null(qtest_qmp_eventwait_timeout(s, "SHUTDOWN", 100));
    assert_status(s, "running", true);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* inject-nmi needs KVM vCPUs; under qtest there are none: QEMU's error
 * over QMP, and HMP nmi says it too; the VM runs on. */
static void test_inject_nmi_no_vcpu(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);
    g_autofree char *hmp = NULL;

    qtest_qmp_assert_error_is(s, "GenericError",
                              "this feature or command is not currently "
                              "supported", "{'execute': 'inject-nmi'}");
    hmp = qtest_hmp(s, "nmi");
    g_assert_cmpstr(hmp, ==, "Error: this feature or command is not "
                    "currently supported\r\n");
    assert_status(s, "running", true);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_bad_arguments(void)
{
    QTestState *s = qtest_init_accel_qtest(NULL);

    qtest_qmp_assert_error_contains(s, "CommandNotFound", "no-such-command",
        "{'execute': 'no-such-command'}");
    qtest_qmp_assert_error_contains(s, "GenericError",
        "Parameter 'filename' is missing",
        "{'execute': 'pmemsave', 'arguments': "
        "{'val': 0, 'size': 16}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "Parameter 'bogus' is "
        "unexpected", "{'execute': 'query-status', "
        "'arguments': {'bogus': 1}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "'val'",
        "{'execute': 'pmemsave', 'arguments': "
        "{'val': 'zero', 'size': 16, 'filename': "
        "'/nonexistent/x'}}");
    qtest_qmp_assert_error_contains(s, "GenericError", "'id'",
        "{'execute': 'chardev-remove', 'arguments': "
        "{'id': 42}}");
    qtest_qmp_assert_error_contains(s, "GenericError",
        "Parameter 'command-line' is missing",
        "{'execute': 'human-monitor-command'}");
    qtest_qmp_assert_error_contains(s, "GenericError", "arguments",
        "{'execute': 'query-status', 'arguments': [1]}");
    /* Bad arguments have no side effects: still running. */
    qtest_qmp_assert_error_contains(s, "GenericError", "unexpected",
        "{'execute': 'stop', 'arguments': {'now': true}}");
    assert_status(s, "running", true);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/schema/all-tested", test_schema_all_tested);
    g_test_add_func("/qmp/qmp_capabilities/again", test_capabilities_again);
    g_test_add_func("/qmp/query-version", test_query_version);
    g_test_add_func("/qmp/machine-probe", test_machine_probe);
    g_test_add_func("/qmp/query-commands", test_query_commands);
    g_test_add_func("/qmp/query-qmp-schema", test_query_qmp_schema);
    test_add_kvm_func("/qmp/query-status/prelaunch",
                    test_query_status_prelaunch);
    test_add_kvm_func("/qmp/stop-cont", test_stop_cont);
    test_add_kvm_func("/qmp/system_reset", test_system_reset);
    g_test_add_func("/qmp/quit", test_quit);
    test_add_kvm_func("/qmp/pmemsave", test_pmemsave);
    test_add_kvm_func("/qmp/memsave", test_memsave);
    g_test_add_func("/qmp/pmemsave/no-vcpu", test_pmemsave_no_vcpu);
    g_test_add_func("/qmp/memsave/no-vcpu-state", test_memsave_no_vcpu_state);
    g_test_add_func("/qmp/human-monitor-command", test_hmp);
    g_test_add_func("/qmp/query-name", test_query_name);
    test_add_kvm_func("/qmp/query-kvm", test_query_kvm);
    test_add_kvm_func("/qmp/query-cpus-fast", test_query_cpus_fast);
    g_test_add_func("/qmp/query-chardev", test_query_chardev);
    g_test_add_func("/qmp/chardev-add", test_chardev_add);
    g_test_add_func("/qmp/chardev-remove", test_chardev_remove);
    g_test_add_func("/qmp/object-add-del", test_object_add_del);
    g_test_add_func("/qmp/object-add/errors", test_object_add_errors);
    g_test_add_func("/qmp/qom-list-types", test_qom_list_types);
    g_test_add_func("/qmp/device_add-del", test_device_add_del);
    g_test_add_func("/qmp/system_powerdown", test_system_powerdown);
    g_test_add_func("/qmp/inject-nmi/no-vcpu", test_inject_nmi_no_vcpu);
    g_test_add_func("/qmp/bad-arguments", test_bad_arguments);
    g_test_add_func("/qmp/trace-event-state", test_trace_event_state);
    return g_test_run();
}
