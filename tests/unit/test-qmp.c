/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP server in-process: a socket chardev on one end of a socketpair
 * (fd=N) carries a QMP monitor, the test speaks QMP on the other end.
 * Parsing happens on the monitor I/O thread; in-band commands only run
 * when this thread (which holds the BQL) spins the main loop, so every
 * wait below spins it, bounded by a deadline. Only commands that need no
 * machine are used.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-c/json.h>
#include "chardev/char.h"
#include "monitor/monitor.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "../../migration/colo-internal.h"

#define WAIT_MS 5000

typedef struct Client {
    int fd;             /* the test's end; -1 once hung up */
    int server_fd;      /* the chardev's end (owned by the chardev) */
    Chardev *chr;
    GString *in;        /* received bytes not yet returned as lines */
} Client;

static unsigned client_counter;

/* Moves whatever the monitor wrote into c->in; false on EOF. */
static bool client_pump(Client *c)
{
    char buf[65536];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0) {
            g_string_append_len(c->in, buf, n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return true;
        }
        return false;
    }
}

/* One main-loop iteration plus a short wait for the client socket. */
static void spin(Client *c)
{
    struct pollfd pfd = { .fd = c ? c->fd : -1, .events = POLLIN };

    main_loop_wait(false);
    poll(&pfd, 1, 1);
    if (c) {
        client_pump(c);
    }
}

/* Pops the next complete line (without its CRLF), or NULL. */
static char *client_take_line(Client *c)
{
    char *nl = memchr(c->in->str, '\n', c->in->len);
    char *line;
    size_t len;

    if (!nl) {
        return NULL;
    }
    len = nl - c->in->str + 1;
    g_assert_cmpuint(len, >=, 2);
    /* Every QMP message ends with CRLF. */
    g_assert_cmpint(c->in->str[len - 2], ==, '\r');
    line = g_strndup(c->in->str, len - 2);
    g_string_erase(c->in, 0, len);
    return line;
}

/* The next raw reply line; fails the test after WAIT_MS. */
static char *recv_line(Client *c)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    char *line;

    while (!(line = client_take_line(c))) {
        if (g_get_monotonic_time() > deadline) {
            g_error("no QMP reply within %d ms (have %zu bytes: %.200s)",
                    WAIT_MS, c->in->len, c->in->str);
        }
        spin(c);
    }
    return line;
}

static json_object *parse_line(const char *line)
{
    json_tokener *tok = json_tokener_new_ex(256);
    json_object *obj = json_tokener_parse_ex(tok, line, strlen(line));

    json_tokener_free(tok);

    if (!obj || !json_object_is_type(obj, json_type_object)) {
        g_error("reply is not a JSON object: %s", line);
    }
    return obj;
}

static json_object *recv_json(Client *c)
{
    g_autofree char *line = recv_line(c);

    return parse_line(line);
}

/* Spins for ms and checks that nothing arrived. */
static void expect_silence(Client *c, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        spin(c);
    }
    if (c->in->len) {
        g_error("unexpected output: %s", c->in->str);
    }
}

/* Writes all of buf, spinning the main loop while the socket is full. */
static void send_bytes(Client *c, const void *buf, size_t len)
{
    const char *p = buf;
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n > 0) {
            p += n;
            len -= n;
            continue;
        }
        g_assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        spin(c);
    }
}

static void send_str(Client *c, const char *s)
{
    send_bytes(c, s, strlen(s));
}

static Client *client_new_raw(void)
{
    Client *c = g_new0(Client, 1);
    int sv[2];
    g_autofree char *opts = NULL;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    ==, 0);
    c->fd = sv[1];
    c->server_fd = sv[0];
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->in = g_string_new(NULL);
    opts = g_strdup_printf("socket,id=qmp%u,fd=%d", client_counter++, sv[0]);
    c->chr = chardev_new_from_opts(opts, &error_abort);
    g_assert_nonnull(c->chr);
    g_assert_true(monitor_new_qmp(c->chr, false, &error_abort));
    return c;
}

/* A client that has read the greeting. */
static Client *client_new(void)
{
    Client *c = client_new_raw();
    json_object *greeting = recv_json(c);

    g_assert_true(json_object_object_get_ex(greeting, "QMP", NULL));
    json_object_put(greeting);
    return c;
}

/*
 * Hangs up; the monitor stays registered (monitors live until exit) in
 * the disconnected state.
 */
static void client_free(Client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    /* Let the I/O thread see the hang-up before the next test. */
    for (int i = 0; i < 20; i++) {
        main_loop_wait(false);
        g_usleep(1000);
    }
    g_string_free(c->in, TRUE);
    g_free(c);
}

/* ---- checks on replies ---- */

static json_object *member(json_object *obj, const char *key)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, key, &val)) {
        g_error("member '%s' missing in %s", key,
                json_object_to_json_string(obj));
    }
    return val;
}

static void check_keys(json_object *obj, const char *const *keys)
{
    size_t n = 0;

    g_assert_true(json_object_is_type(obj, json_type_object));
    for (; keys[n]; n++) {
        member(obj, keys[n]);
    }
    if ((size_t)json_object_object_length(obj) != n) {
        g_error("unexpected members in %s", json_object_to_json_string(obj));
    }
}

/* Checks {"return": ..., ["id": id]} and returns the value (borrowed). */
static json_object *check_return(json_object *resp, const char *id_json)
{
    if (!json_object_object_get_ex(resp, "return", NULL)) {
        g_error("expected a return, got %s", json_object_to_json_string(resp));
    }
    if (id_json) {
        g_assert_cmpstr(json_object_to_json_string_ext(member(resp, "id"),
                                                       JSON_C_TO_STRING_PLAIN),
                        ==, id_json);
        check_keys(resp, (const char *const[]){ "return", "id", NULL });
    } else {
        check_keys(resp, (const char *const[]){ "return", NULL });
    }
    return member(resp, "return");
}

/*
 * Checks {"error": {"class": cls, "desc": ...}, ["id": id]}; desc must
 * contain desc_part. id_json is the expected id as compact JSON, NULL for
 * none.
 */
static void check_error(json_object *resp, const char *cls,
                        const char *desc_part, const char *id_json)
{
    json_object *err;
    const char *desc;

    if (!json_object_object_get_ex(resp, "error", &err)) {
        g_error("expected an error, got %s", json_object_to_json_string(resp));
    }
    check_keys(err, (const char *const[]){ "class", "desc", NULL });
    g_assert_cmpstr(json_object_get_string(member(err, "class")), ==, cls);
    desc = json_object_get_string(member(err, "desc"));
    if (!strstr(desc, desc_part)) {
        g_error("error '%s' lacks '%s'", desc, desc_part);
    }
    if (id_json) {
        g_assert_cmpstr(json_object_to_json_string_ext(member(resp, "id"),
                                                       JSON_C_TO_STRING_PLAIN),
                        ==, id_json);
        check_keys(resp, (const char *const[]){ "error", "id", NULL });
    } else {
        check_keys(resp, (const char *const[]){ "error", NULL });
    }
}

/* Sends line and checks the error reply. */
static void expect_error(Client *c, const char *line, const char *cls,
                         const char *desc_part, const char *id_json)
{
    json_object *resp;

    send_str(c, line);
    resp = recv_json(c);
    check_error(resp, cls, desc_part, id_json);
    json_object_put(resp);
}

/* Sends line and checks for a return; returns the response (owned). */
static json_object *expect_return(Client *c, const char *line,
                                  const char *id_json)
{
    json_object *resp;

    send_str(c, line);
    resp = recv_json(c);
    check_return(resp, id_json);
    return resp;
}

static void negotiate(Client *c, bool oob)
{
    json_object *resp = expect_return(c, oob ?
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n" :
        "{\"execute\":\"qmp_capabilities\"}\n", NULL);

    g_assert_cmpint(json_object_object_length(member(resp, "return")), ==, 0);
    json_object_put(resp);
}

/* query-name with an id: the cheapest full round trip. */
static void check_alive(Client *c, const char *tag)
{
    g_autofree char *req = g_strdup_printf(
        "{\"execute\":\"query-name\",\"id\":\"%s\"}\n", tag);
    g_autofree char *id = g_strdup_printf("\"%s\"", tag);
    json_object *resp = expect_return(c, req, id);

    json_object_put(resp);
}

static bool is_parse_error(json_object *resp)
{
    json_object *err, *desc;

    return json_object_object_get_ex(resp, "error", &err) &&
           json_object_object_get_ex(err, "desc", &desc) &&
           g_str_has_prefix(json_object_get_string(desc), "JSON parse error");
}

/*
 * Reads replies until one with the given string id; every reply before it
 * must be an error without id, e.g. a parse error (counted in *errors).
 * Returns that reply.
 */
static json_object *recv_until_id(Client *c, const char *id, int *errors)
{
    for (;;) {
        json_object *resp = recv_json(c), *rid;

        if (json_object_object_get_ex(resp, "id", &rid) &&
            json_object_is_type(rid, json_type_string) &&
            !strcmp(json_object_get_string(rid), id)) {
            return resp;
        }
        if (!json_object_object_get_ex(resp, "error", NULL) ||
            json_object_object_get_ex(resp, "id", NULL)) {
            g_error("waiting for id %s, got %s", id,
                    json_object_to_json_string(resp));
        }
        (*errors)++;
        json_object_put(resp);
    }
}

/* ---- tests ---- */

static void test_greeting(void)
{
    Client *c = client_new_raw();
    g_autofree char *line = recv_line(c);
    json_object *g = parse_line(line), *qmp, *version, *qemu, *caps;

    check_keys(g, (const char *const[]){ "QMP", NULL });
    qmp = member(g, "QMP");
    check_keys(qmp, (const char *const[]){ "version", "capabilities", NULL });
    version = member(qmp, "version");
    check_keys(version, (const char *const[]){ "qemu", "package", NULL });
    qemu = member(version, "qemu");
    check_keys(qemu, (const char *const[]){ "major", "minor", "micro", NULL });
    g_assert_true(json_object_is_type(member(qemu, "major"), json_type_int));
    g_assert_true(json_object_is_type(member(qemu, "minor"), json_type_int));
    g_assert_true(json_object_is_type(member(qemu, "micro"), json_type_int));
    g_assert_cmpint(json_object_get_int(member(qemu, "major")), >=, 1);
    g_assert_true(json_object_is_type(member(version, "package"),
                                      json_type_string));
    caps = member(qmp, "capabilities");
    g_assert_true(json_object_is_type(caps, json_type_array));
    g_assert_cmpuint(json_object_array_length(caps), ==, 1);
    g_assert_cmpstr(json_object_get_string(json_object_array_get_idx(caps, 0)),
                    ==, "oob");
    /* Nothing else is sent before the client speaks. */
    expect_silence(c, 100);

    /* query-version agrees with the greeting. */
    negotiate(c, false);
    {
        json_object *resp = expect_return(c,
            "{\"execute\":\"query-version\",\"id\":7}\n", "7");
        json_object *ret = member(resp, "return");

        g_assert_cmpstr(json_object_to_json_string(member(ret, "qemu")), ==,
                        json_object_to_json_string(qemu));
        g_assert_cmpstr(json_object_get_string(member(ret, "package")), ==,
                        json_object_get_string(member(version, "package")));
        json_object_put(resp);
    }
    json_object_put(g);
    client_free(c);
}

/* QEMU 7.2's StatusInfo: running, singlestep, status; nothing else. */
static void test_query_status_shape(void)
{
    Client *c = client_new();
    json_object *resp, *ret;

    negotiate(c, false);
    resp = expect_return(c, "{\"execute\":\"query-status\",\"id\":1}\n",
                         "1");
    ret = member(resp, "return");

    check_keys(ret, (const char *const[]){ "running", "singlestep", "status",
                                           NULL });
    g_assert_true(json_object_is_type(member(ret, "running"),
                                      json_type_boolean));
    g_assert_true(json_object_is_type(member(ret, "singlestep"),
                                      json_type_boolean));
    g_assert_false(json_object_get_boolean(member(ret, "singlestep")));
    g_assert_true(json_object_is_type(member(ret, "status"),
                                      json_type_string));
    json_object_put(resp);
    client_free(c);
}

/* postcopy-ram is refused when set, not accepted and then failing every
 * migrate; the set is all or nothing. */
static void test_postcopy_refused_at_set_time(void)
{
    Client *c = client_new();
    json_object *resp, *caps;

    negotiate(c, false);
    expect_error(c, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
                 "{\"capabilities\":[{\"capability\":\"events\",\"state\":"
                 "true},{\"capability\":\"postcopy-ram\",\"state\":true}]}}\n",
                 "GenericError",
                 "capability 'postcopy-ram' is not implemented yet", NULL);
    resp = expect_return(c, "{\"execute\":\"query-migrate-capabilities\"}\n",
                         NULL);
    caps = member(resp, "return");
    for (size_t i = 0; i < json_object_array_length(caps); i++) {
        json_object *cap = json_object_array_get_idx(caps, i);
        const char *name = json_object_get_string(member(cap, "capability"));

        if (!strcmp(name, "postcopy-ram") || !strcmp(name, "events")) {
            g_assert_false(json_object_get_boolean(member(cap, "state")));
        }
    }
    json_object_put(resp);
    client_free(c);
}

/* x-colo-peer-timeout: default, set, read back, bounds. */
static void test_colo_peer_timeout_parameter(void)
{
    static const char query[] = "{\"execute\":\"query-migrate-parameters\"}\n";
    Client *c = client_new();
    json_object *resp;

    negotiate(c, false);
    resp = expect_return(c, query, NULL);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "x-colo-peer-timeout")),
                    ==, 5000);
    json_object_put(resp);
    json_object_put(expect_return(c,
        "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
        "{\"x-colo-peer-timeout\":30000}}\n", NULL));
    resp = expect_return(c, query, NULL);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "x-colo-peer-timeout")),
                    ==, 30000);
    json_object_put(resp);
    expect_error(c, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
                 "{\"x-colo-peer-timeout\":99}}\n", "GenericError",
                 "Parameter 'x-colo-peer-timeout' expects an integer in the "
                 "range of 100 to 3600000 milliseconds", NULL);
    expect_error(c, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
                 "{\"x-colo-peer-timeout\":3600001,\"downtime-limit\":7}}\n",
                 "GenericError", "x-colo-peer-timeout", NULL);
    /* Refused as a whole: neither changed. */
    resp = expect_return(c, query, NULL);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "x-colo-peer-timeout")),
                    ==, 30000);
    g_assert_cmpint(json_object_get_int64(member(member(resp, "return"),
                                                 "downtime-limit")),
                    !=, 7);
    json_object_put(resp);
    json_object_put(expect_return(c,
        "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
        "{\"x-colo-peer-timeout\":5000}}\n", NULL));
    client_free(c);
}

static void test_ascii_output(void)
{
    Client *c = client_new();
    g_autofree char *line = NULL;
    json_object *resp, *id;

    negotiate(c, false);
    /* "ü😀" in UTF-8, as the client sends it. */
    send_str(c, "{\"execute\":\"query-name\",\"id\":\"\xc3\xbc\xf0\x9f\x98\x80\"}\n");
    line = recv_line(c);
    for (const char *p = line; *p; p++) {
        g_assert_cmpint((unsigned char)*p, <, 0x80);
    }
    g_assert_nonnull(strstr(line, "\"\\u00fc\\ud83d\\ude00\""));
    resp = parse_line(line);
    id = member(resp, "id");
    g_assert_cmpstr(json_object_get_string(id), ==,
                    "\xc3\xbc\xf0\x9f\x98\x80");
    json_object_put(resp);

    /* Escapes given by the client come back as the same characters. */
    json_object_put(expect_return(c,
        "{\"execute\":\"query-name\",\"id\":\"\\u00e9\\ud83d\\ude00\"}\n",
        "\"\xc3\xa9\xf0\x9f\x98\x80\""));
    /* Control characters are escaped, not sent raw. */
    send_str(c, "{\"execute\":\"query-name\",\"id\":\"a\\nb\\u0001\"}\n");
    g_free(line);
    line = recv_line(c);
    g_assert_null(strchr(line, '\n'));
    g_assert_null(strchr(line, '\001'));
    resp = parse_line(line);
    g_assert_cmpstr(json_object_get_string(member(resp, "id")), ==, "a\nb\001");
    json_object_put(resp);
    client_free(c);
}

static void test_negotiation(void)
{
    Client *c = client_new();

    expect_error(c, "{\"execute\":\"query-status\",\"id\":\"early\"}\n",
                 "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'",
                 "\"early\"");
    /* Unknown commands are unknown whatever the state. */
    expect_error(c, "{\"execute\":\"no-such-command\",\"id\":1}\n",
                 "CommandNotFound", "The command no-such-command has not been "
                 "found", "1");
    /* An unknown capability is refused and negotiation goes on. */
    expect_error(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":"
                 "{\"enable\":[\"bogus-cap\"]},\"id\":2}\n",
                 "GenericError", "bogus-cap", "2");
    expect_error(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":"
                 "{\"enable\":\"oob\"},\"id\":3}\n",
                 "GenericError", "enable", "3");
    expect_error(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":"
                 "{\"extra\":1},\"id\":4}\n", "GenericError", "extra", "4");
    expect_error(c, "{\"execute\":\"query-status\"}\n", "CommandNotFound",
                 "Expecting capabilities negotiation", NULL);
    /* exec-oob is not even known before oob is enabled. */
    expect_error(c, "{\"exec-oob\":\"qmp_capabilities\",\"id\":5}\n",
                 "GenericError", "QMP input member 'exec-oob' is unexpected",
                 "5");

    json_object_put(expect_return(c,
        "{\"execute\":\"qmp_capabilities\",\"id\":\"neg\"}\n", "\"neg\""));
    expect_error(c, "{\"execute\":\"qmp_capabilities\",\"id\":6}\n",
                 "CommandNotFound", "Capabilities negotiation is already "
                 "complete", "6");
    expect_error(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":"
                 "{\"enable\":[\"oob\"]}}\n", "CommandNotFound",
                 "already complete", NULL);
    /* Without oob enabled, exec-oob is still an unexpected member. */
    expect_error(c, "{\"exec-oob\":\"query-status\",\"id\":7}\n",
                 "GenericError", "QMP input member 'exec-oob' is unexpected",
                 "7");
    check_alive(c, "neg-done");

    /* A new connection negotiates afresh. */
    client_free(c);
    c = client_new();
    expect_error(c, "{\"execute\":\"query-name\",\"id\":8}\n",
                 "CommandNotFound", "Expecting capabilities", "8");
    negotiate(c, false);
    check_alive(c, "again");
    client_free(c);
}

static void test_oob(void)
{
    Client *c = client_new();

    negotiate(c, true);
    /* No command here allows out-of-band execution. */
    expect_error(c, "{\"exec-oob\":\"query-status\",\"id\":\"o1\"}\n",
                 "GenericError", "The command query-status does not support "
                 "OOB", "\"o1\"");
    expect_error(c, "{\"exec-oob\":\"no-such\",\"id\":\"o2\"}\n",
                 "CommandNotFound", "has not been found", "\"o2\"");
    expect_error(c, "{\"exec-oob\":\"query-status\"}\n", "GenericError",
                 "Out-of-band commands need an 'id'", NULL);
    expect_error(c, "{\"exec-oob\":\"query-status\",\"execute\":"
                 "\"query-status\",\"id\":\"o3\"}\n", "GenericError",
                 "must not contain both 'execute' and 'exec-oob'", "\"o3\"");
    expect_error(c, "{\"exec-oob\":[],\"id\":\"o4\"}\n", "GenericError",
                 "QMP input member 'exec-oob' must be a string", "\"o4\"");
    expect_error(c, "{\"exec-oob\":\"qmp_capabilities\",\"id\":\"o5\"}\n",
                 "CommandNotFound", "already complete", "\"o5\"");
    /* In-band still works. */
    check_alive(c, "oob-ib");
    client_free(c);

    /* oob is per session: a new client must ask for it again. */
    c = client_new();
    negotiate(c, false);
    expect_error(c, "{\"exec-oob\":\"query-status\",\"id\":\"o6\"}\n",
                 "GenericError", "QMP input member 'exec-oob' is unexpected",
                 "\"o6\"");
    client_free(c);
}

static void test_request_validation(void)
{
    Client *c = client_new();
    static const char *const not_objects[] = {
        "[1]\n", "\"x\"\n", "1\n", "null\n", "true\n", "[]\n", "-2.5\n",
    };

    negotiate(c, false);
    for (size_t i = 0; i < G_N_ELEMENTS(not_objects); i++) {
        expect_error(c, not_objects[i], "GenericError",
                     "QMP input must be a JSON object", NULL);
    }
    /* An id inside a non-object is not an id. */
    expect_error(c, "[{\"id\":1}]\n", "GenericError",
                 "QMP input must be a JSON object", NULL);
    expect_error(c, "{}\n", "GenericError",
                 "QMP input lacks member 'execute'", NULL);
    expect_error(c, "{\"id\":\"m\"}\n", "GenericError",
                 "QMP input lacks member 'execute'", "\"m\"");
    expect_error(c, "{\"arguments\":{},\"id\":9}\n", "GenericError",
                 "QMP input lacks member 'execute'", "9");
    expect_error(c, "{\"execute\":1,\"id\":10}\n", "GenericError",
                 "QMP input member 'execute' must be a string", "10");
    expect_error(c, "{\"execute\":null,\"id\":11}\n", "GenericError",
                 "QMP input member 'execute' must be a string", "11");
    expect_error(c, "{\"execute\":{\"a\":1}}\n", "GenericError",
                 "QMP input member 'execute' must be a string", NULL);
    expect_error(c, "{\"execute\":\"query-status\",\"arguments\":[],"
                 "\"id\":12}\n", "GenericError",
                 "QMP input member 'arguments' must be an object", "12");
    expect_error(c, "{\"execute\":\"query-status\",\"arguments\":\"x\"}\n",
                 "GenericError",
                 "QMP input member 'arguments' must be an object", NULL);
    expect_error(c, "{\"execute\":\"query-status\",\"foo\":1,\"id\":13}\n",
                 "GenericError", "QMP input member 'foo' is unexpected", "13");
    expect_error(c, "{\"foo\":1,\"execute\":\"query-status\",\"id\":14}\n",
                 "GenericError", "QMP input member 'foo' is unexpected", "14");
    /* Arguments are checked against the schema. */
    expect_error(c, "{\"execute\":\"query-status\",\"arguments\":{\"x\":1},"
                 "\"id\":15}\n", "GenericError", "x", "15");
    expect_error(c, "{\"execute\":\"human-monitor-command\",\"id\":16}\n",
                 "GenericError", "command-line", "16");
    expect_error(c, "{\"execute\":\"human-monitor-command\",\"arguments\":"
                 "{\"command-line\":5},\"id\":17}\n", "GenericError",
                 "command-line", "17");
    /* Null arguments member: not an object either. */
    expect_error(c, "{\"execute\":\"query-status\",\"arguments\":null,"
                 "\"id\":18}\n", "GenericError",
                 "QMP input member 'arguments' must be an object", "18");
    check_alive(c, "valid-done");
    client_free(c);
}

static void test_id_types(void)
{
    static const char *const ids[] = {
        "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", "[1,\"two\",[3]]", "42",
        "-7", "1.5", "\"str\"", "true", "false", "{}", "[]", "\"\"",
        "12345678901234",
    };
    Client *c = client_new();

    negotiate(c, false);
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        g_autofree char *ok = g_strdup_printf(
            "{\"execute\":\"query-status\",\"id\":%s}\n", ids[i]);
        g_autofree char *bad = g_strdup_printf(
            "{\"execute\":\"nope\",\"id\":%s}\n", ids[i]);
        g_autofree char *invalid = g_strdup_printf(
            "{\"id\":%s,\"execute\":\"query-status\",\"zz\":0}\n", ids[i]);

        json_object_put(expect_return(c, ok, ids[i]));
        expect_error(c, bad, "CommandNotFound", "nope", ids[i]);
        expect_error(c, invalid, "GenericError", "'zz' is unexpected", ids[i]);
    }
    /* A null id is an id too, echoed as such (as QEMU does). */
    json_object_put(expect_return(c,
        "{\"execute\":\"query-status\",\"id\":null}\n", "null"));
    expect_error(c, "{\"execute\":\"nope\",\"id\":null}\n",
                 "CommandNotFound", "nope", "null");
    client_free(c);
}

/*
 * Integer ids come back as the client wrote them, however long: json-c
 * clamps integers (a 5000-digit id used to come back as
 * 18446744073709551615). Checked on the raw reply line, since a JSON
 * parser on this side would clamp them too.
 */
static void test_id_verbatim(void)
{
    g_autofree char *huge = g_strnfill(5000, '7');
    const char *const ids[] = {
        huge, "18446744073709551616", "-9223372036854775809", "-0",
        "123456789012345678901234567890", "1e400",
    };
    Client *c = client_new();

    negotiate(c, false);
    for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
        /* The id last, then first with spaces, after a nested "id". */
        g_autofree char *a = g_strdup_printf(
            "{\"execute\":\"query-status\",\"id\":%s}\n", ids[i]);
        g_autofree char *b = g_strdup_printf(
            "{ \"id\" : %s , \"execute\":\"nope\"}\n", ids[i]);
        g_autofree char *d = g_strdup_printf(
            "{\"arguments\":{\"id\":5},\"execute\":\"query-version\","
            "\"id\":%s}\n", ids[i]);
        const char *reqs[] = { a, b, d };

        for (size_t j = 0; j < G_N_ELEMENTS(reqs); j++) {
            g_autofree char *line = NULL;
            g_autofree char *want = g_strdup_printf("\"id\": %s }", ids[i]);
            g_autofree char *want2 = g_strdup_printf("\"id\":%s}", ids[i]);

            send_str(c, reqs[j]);
            line = recv_line(c);
            if (!strstr(line, want) && !strstr(line, want2)) {
                g_error("id %.40s... not echoed verbatim: %.200s", ids[i],
                        line);
            }
        }
    }
    client_free(c);
}

static void test_malformed(void)
{
    Client *c = client_new();
    json_object *resp;
    int errors = 0;

    negotiate(c, false);

    /* Garbage: one parse error, then the next line is read afresh. */
    send_str(c, "}}}garbage{{{\n");
    resp = recv_json(c);
    g_assert_true(is_parse_error(resp));
    check_keys(resp, (const char *const[]){ "error", NULL });
    json_object_put(resp);
    check_alive(c, "after-garbage");

    send_str(c, "{\"execute\" \"query-status\"}\n");
    resp = recv_json(c);
    g_assert_true(is_parse_error(resp));
    json_object_put(resp);
    check_alive(c, "after-colon");

    /* Garbage then a valid command on the same line: skipped with it. */
    send_str(c, "@@@ {\"execute\":\"query-status\",\"id\":\"same-line\"}\n");
    resp = recv_json(c);
    g_assert_true(is_parse_error(resp));
    json_object_put(resp);
    expect_silence(c, 50);
    check_alive(c, "after-same-line");

    /* Invalid UTF-8 inside a string. */
    static const char *const bad_utf8[] = {
        "{\"execute\":\"query-status\",\"id\":\"\xc3\x28\"}\n",
        "{\"execute\":\"query-status\",\"id\":\"\xc0\xaf\"}\n",
        "{\"execute\":\"query-status\",\"id\":\"\x80\"}\n",
        "{\"execute\":\"query-status\",\"id\":\"\xf8\x88\x80\x80\x80\"}\n",
        "{\"execute\":\"query-\xfe\"}\n",
        /* Well-formed bytes that are still not UTF-8: */
        "{\"execute\":\"query-status\",\"id\":\"\xed\xa0\x80\"}\n",
        "{\"execute\":\"query-status\",\"id\":\"\xf4\x90\x80\x80\"}\n",
        "{\"execute\":\"query-status\",\"id\":\"\xe0\x80\xaf\"}\n",
        "{\"execute\":\"query-status\",\"\xc0\xaf\":1}\n",
        "{\"execute\":\"query-status\",\"id\":[{\"x\":\"\xc0\xaf\"}]}\n",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_utf8); i++) {
        g_autofree char *tag = g_strdup_printf("utf8-%zu", i);

        errors = 0;
        send_str(c, bad_utf8[i]);
        {
            g_autofree char *req = g_strdup_printf(
                "{\"execute\":\"query-name\",\"id\":\"%s\"}\n", tag);
            send_str(c, req);
        }
        resp = recv_until_id(c, tag, &errors);
        json_object_put(resp);
        if (errors != 1) {
            g_error("bad UTF-8 case %zu: %d parse errors", i, errors);
        }
    }

    /* An escaped NUL is valid JSON and comes back escaped. */
    {
        g_autofree char *line = NULL;

        send_str(c, "{\"execute\":\"query-name\",\"id\":\"a\\u0000b\"}\n");
        line = recv_line(c);
        g_assert_nonnull(strstr(line, "\"a\\u0000b\""));
    }

    /* Nesting beyond the limit: an error, not a crash. */
    {
        GString *deep = g_string_new(NULL);

        for (int i = 0; i < 200; i++) {
            g_string_append_c(deep, '[');
        }
        for (int i = 0; i < 200; i++) {
            g_string_append_c(deep, ']');
        }
        g_string_append_c(deep, '\n');
        send_str(c, deep->str);
        resp = recv_json(c);
        g_assert_true(is_parse_error(resp));
        json_object_put(resp);
        check_alive(c, "after-deep-array");

        g_string_truncate(deep, 0);
        g_string_append(deep, "{\"execute\":\"query-status\",\"arguments\":");
        for (int i = 0; i < 200; i++) {
            g_string_append(deep, "{\"a\":");
        }
        g_string_append(deep, "1");
        for (int i = 0; i < 201; i++) {
            g_string_append_c(deep, '}');
        }
        g_string_append(deep, "}\n");
        send_str(c, deep->str);
        resp = recv_json(c);
        g_assert_true(is_parse_error(resp));
        json_object_put(resp);
        check_alive(c, "after-deep-object");

        /* Moderate nesting inside an id is fine. */
        g_string_truncate(deep, 0);
        g_string_append(deep, "{\"execute\":\"query-status\",\"id\":");
        for (int i = 0; i < 60; i++) {
            g_string_append_c(deep, '[');
        }
        for (int i = 0; i < 60; i++) {
            g_string_append_c(deep, ']');
        }
        g_string_append(deep, "}\n");
        send_str(c, deep->str);
        resp = recv_json(c);
        member(resp, "return");
        json_object_put(resp);
        g_string_free(deep, TRUE);
    }

    /* Single quotes, as QEMU's parser accepts them. */
    json_object_put(expect_return(c,
        "{'execute':'query-status','id':'sq'}\n", "\"sq\""));
    json_object_put(expect_return(c, "{'execute':'query-status'}\n", NULL));

    /* Two requests in one write; no newline between or after them. */
    send_str(c, "{\"execute\":\"query-name\",\"id\":\"two-a\"}"
                "{\"execute\":\"query-status\",\"id\":\"two-b\"}");
    resp = recv_json(c);
    check_return(resp, "\"two-a\"");
    json_object_put(resp);
    resp = recv_json(c);
    check_return(resp, "\"two-b\"");
    json_object_put(resp);

    /* Whitespace of every kind around and inside a request. */
    json_object_put(expect_return(c,
        " \t\r\n { \"execute\" :\r\n\t\"query-status\" , \"id\" : \"ws\" } \r\n",
        "\"ws\""));

    /* One request split into 1-byte writes. */
    {
        static const char req[] =
            "{\"execute\":\"query-version\",\"arguments\":{},\"id\":\"bytes\"}\n";

        for (size_t i = 0; i < sizeof(req) - 1; i++) {
            send_bytes(c, &req[i], 1);
            if (i % 7 == 0) {
                spin(c);
            }
        }
        resp = recv_json(c);
        check_return(resp, "\"bytes\"");
        json_object_put(resp);
    }
    /* Split inside a multi-byte UTF-8 sequence and an escape. */
    {
        static const char req[] =
            "{\"execute\":\"query-name\",\"id\":\"\xf0\x9f\x98\x80\\u00e9\"}\n";

        for (size_t i = 0; i < sizeof(req) - 1; i++) {
            send_bytes(c, &req[i], 1);
            spin(c);
        }
        resp = recv_json(c);
        g_assert_cmpstr(json_object_get_string(member(resp, "id")), ==,
                        "\xf0\x9f\x98\x80\xc3\xa9");
        json_object_put(resp);
    }
    expect_silence(c, 50);
    client_free(c);
}

/* An unterminated string ends at the newline: the next line is read. */
static void test_unterminated_string(void)
{
    Client *c = client_new();
    json_object *resp;
    int errors = 0;

    negotiate(c, false);
    send_str(c, "{\"execute\":\"query-st\n"
                "{\"execute\":\"query-status\",\"id\":\"after-unterminated\"}\n");
    resp = recv_until_id(c, "after-unterminated", &errors);
    check_return(resp, "\"after-unterminated\"");
    json_object_put(resp);
    g_assert_cmpint(errors, ==, 1);

    /* A stray quote in garbage, and single quotes, likewise. */
    errors = 0;
    send_str(c, "xx\"yy\n{'execute':'query-\n"
                "{\"execute\":\"query-status\",\"id\":\"after-stray\"}\n");
    resp = recv_until_id(c, "after-stray", &errors);
    json_object_put(resp);
    g_assert_cmpint(errors, ==, 2);
    /* An escape right before the newline does not hide it. */
    errors = 0;
    send_str(c, "{\"execute\":\"query-status\\\n"
                "{\"execute\":\"query-status\",\"id\":\"after-esc\"}\n");
    resp = recv_until_id(c, "after-esc", &errors);
    json_object_put(resp);
    g_assert_cmpint(errors, ==, 1);
    /* Split across writes, the string state carries over. */
    errors = 0;
    send_str(c, "{\"execute\":\"que");
    spin(c);
    send_str(c, "ry\n");
    spin(c);
    send_str(c, "{\"execute\":\"query-status\",\"id\":\"after-split\"}\n");
    resp = recv_until_id(c, "after-split", &errors);
    json_object_put(resp);
    g_assert_cmpint(errors, ==, 1);
    /* Quotes inside strings do not confuse the tracking. */
    json_object_put(expect_return(c,
        "{\"execute\":\"query-status\",\"id\":\"it's \\\"q\\\" \\\\\"}\n",
        "\"it's \\\"q\\\" \\\\\""));
    json_object_put(expect_return(c,
        "{'execute':'query-status','id':'a\"b\\\\'}\n", "\"a\\\"b\\\\\""));
    expect_silence(c, 50);
    client_free(c);
}

/* Unterminated value (not a string) then newline then a command. */
static void test_unterminated_object(void)
{
    Client *c = client_new();
    json_object *resp;
    int errors = 0;

    negotiate(c, false);
    send_str(c, "{\"execute\":\"query-status\",\n"
                "{\"execute\":\"query-status\",\"id\":\"after-open\"}\n");
    /* The first object swallows the second: one parse error... */
    resp = recv_json(c);
    g_assert_true(is_parse_error(resp));
    json_object_put(resp);
    /* ...after which the session is usable again. */
    resp = expect_return(c, "{\"execute\":\"query-status\",\"id\":\"x\"}\n",
                         "\"x\"");
    json_object_put(resp);
    (void)errors;
    client_free(c);
}

static void test_control_resync(void)
{
    Client *c = client_new();
    json_object *resp;
    int errors = 0;

    negotiate(c, false);
    /* A partial request abandoned with ESC: no reply for it. */
    send_str(c, "{\"execute\":\"query-status\",\"id\":\"partial\"\x1b"
                "{\"execute\":\"query-status\",\"id\":\"full\"}");
    resp = recv_until_id(c, "full", &errors);
    check_return(resp, "\"full\"");
    json_object_put(resp);
    g_assert_cmpint(errors, <=, 1);
    expect_silence(c, 100);

    /* Resync after a parse error without a newline. */
    errors = 0;
    send_str(c, "xyz\x04{\"execute\":\"query-status\",\"id\":\"eot\"}");
    resp = recv_until_id(c, "eot", &errors);
    json_object_put(resp);
    g_assert_cmpint(errors, ==, 1);

    /*
     * Any other control character inside a message is one error that
     * names it, and the rest of its line is skipped. A NUL inside a
     * string used to be reported as "newline inside a string" (the
     * closing quote, parsed afresh, opened a new string).
     */
    {
        static const char nul_line[] =
            "{\"execute\":\"query-status\",\"id\":\"a\0b\"}\n";

        send_bytes(c, nul_line, sizeof(nul_line) - 1);
        resp = recv_json(c);
        check_error(resp, "GenericError", "JSON parse error, invalid control "
                    "character 0x00 inside a string", NULL);
        json_object_put(resp);
    }
    expect_error(c, "{\"execute\":\"query-status\",\"id\":\"a\x01\"}\n",
                 "GenericError", "invalid control character 0x01 inside a "
                 "string", NULL);
    expect_error(c, "{\"execute\":\x7f\"query-status\"}\n", "GenericError",
                 "invalid control character 0x7f", NULL);
    resp = expect_return(c, "{\"execute\":\"query-status\",\"id\":\"after\"}"
                         "\n", "\"after\"");
    json_object_put(resp);
    expect_silence(c, 100);

    /* Between messages a control character is ignored, also after
     * blank lines (whitespace is not a message begun). */
    {
        static const char between[] =
            "\0\x01{\"execute\":\"query-status\",\"id\":\"between\"}\n"
            "\n \r\n\0{\"execute\":\"query-status\",\"id\":\"blank\"}\n";

        send_bytes(c, between, sizeof(between) - 1);
        resp = recv_json(c);
        check_return(resp, "\"between\"");
        json_object_put(resp);
        resp = recv_json(c);
        check_return(resp, "\"blank\"");
        json_object_put(resp);
    }

    /* 0xff too (QEMU's resync byte). */
    errors = 0;
    send_str(c, "{\"execute\":\"qu\xff{\"execute\":\"query-status\","
                "\"id\":\"ff\"}");
    resp = recv_until_id(c, "ff", &errors);
    json_object_put(resp);
    g_assert_cmpint(errors, <=, 1);
    expect_silence(c, 100);
    client_free(c);
}

static void test_huge_message(void)
{
    Client *c = client_new();
    const size_t body = 17u << 20;
    static const char head[] =
        "{\"execute\":\"query-status\",\"arguments\":{\"x\":\"";
    char *big = g_malloc(body + 1);
    json_object *resp, *err;
    int errors = 0;

    negotiate(c, false);
    memset(big, 'A', body);
    send_str(c, head);
    send_bytes(c, big, body);
    send_str(c, "\"}}\n{\"execute\":\"query-status\",\"id\":\"after-big\"}\n");
    g_free(big);
    resp = recv_json(c);
    g_assert_true(is_parse_error(resp));
    g_assert_true(json_object_object_get_ex(resp, "error", &err));
    g_assert_nonnull(strstr(json_object_get_string(member(err, "desc")),
                            "exceeds"));
    json_object_put(resp);
    resp = recv_until_id(c, "after-big", &errors);
    check_return(resp, "\"after-big\"");
    json_object_put(resp);
    g_assert_cmpint(errors, ==, 0);

    /*
     * A large but legal message goes through. (Its reply must fit in the
     * socket buffer: this thread both runs the main loop, which writes
     * the reply, and reads it.)
     */
    {
        size_t n = 100u << 10;
        GString *req = g_string_sized_new(n + 64);
        g_autofree char *line = NULL;

        g_string_append(req, "{\"execute\":\"query-name\",\"id\":\"");
        for (size_t i = 0; i < n; i++) {
            g_string_append_c(req, 'b');
        }
        g_string_append(req, "\"}\n");
        send_bytes(c, req->str, req->len);
        g_string_free(req, TRUE);
        line = recv_line(c);
        g_assert_cmpuint(strlen(line), >, n);
        resp = parse_line(line);
        g_assert_cmpuint(json_object_get_string_len(member(resp, "id")), ==, n);
        json_object_put(resp);
    }
    check_alive(c, "after-large");
    client_free(c);
}

static void test_ordering(void)
{
    Client *c = client_new();
    static const char *const expect[][2] = {
        /* id, "r" return / "e" error */
        { "1", "r" }, { NULL, "e" }, { "2", "e" }, { "3", "e" },
        { NULL, "p" }, { "4", "r" }, { "5", "e" }, { "6", "r" },
    };

    negotiate(c, false);
    send_str(c,
             "{\"execute\":\"query-status\",\"id\":1}"
             "[1]"
             "{\"execute\":\"nope\",\"id\":2}"
             "{\"execute\":\"query-name\",\"bogus\":1,\"id\":3}\n"
             "!!!\n"
             "{\"execute\":\"query-version\",\"id\":4}"
             "{\"execute\":5,\"id\":5}"
             "{\"execute\":\"query-kvm\",\"id\":6}\n");
    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
        json_object *resp = recv_json(c), *id = NULL;
        const char *kind = expect[i][1];

        json_object_object_get_ex(resp, "id", &id);
        if (expect[i][0]) {
            g_assert_nonnull(id);
            g_assert_cmpstr(json_object_to_json_string(id), ==, expect[i][0]);
        } else {
            g_assert_null(id);
        }
        if (kind[0] == 'r') {
            g_assert_true(json_object_object_get_ex(resp, "return", NULL));
        } else {
            g_assert_true(json_object_object_get_ex(resp, "error", NULL));
            g_assert_true(kind[0] != 'p' || is_parse_error(resp));
        }
        json_object_put(resp);
    }
    expect_silence(c, 100);
    client_free(c);
}

static void test_events(void)
{
    Client *a = client_new(), *b = client_new(), *d = client_new();
    json_object *ev, *ts;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    negotiate(a, false);
    negotiate(d, true);
    /* b never negotiates; it gets no events. */
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_PRELAUNCH);
    runstate_set(RUN_STATE_RUNNING);
    for (int i = 0; i < 2; i++) {
        Client *c = i ? d : a;

        ev = recv_json(c);
        check_keys(ev, (const char *const[]){ "timestamp", "event", NULL });
        g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==,
                        "RESUME");
        ts = member(ev, "timestamp");
        check_keys(ts, (const char *const[]){ "seconds", "microseconds",
                                              NULL });
        g_assert_true(json_object_is_type(member(ts, "seconds"),
                                          json_type_int));
        g_assert_true(json_object_is_type(member(ts, "microseconds"),
                                          json_type_int));
        g_assert_cmpint(json_object_get_int64(member(ts, "seconds")), >=,
                        now - 1);
        g_assert_cmpint(json_object_get_int64(member(ts, "seconds")), <=,
                        now + 60);
        g_assert_cmpint(json_object_get_int64(member(ts, "microseconds")), >=,
                        0);
        g_assert_cmpint(json_object_get_int64(member(ts, "microseconds")), <,
                        1000000);
        json_object_put(ev);
    }
    {
        json_object *resp = expect_return(a,
            "{\"execute\":\"query-status\",\"id\":\"st\"}\n", "\"st\"");
        json_object *ret = member(resp, "return");

        g_assert_true(json_object_get_boolean(member(ret, "running")));
        g_assert_cmpstr(json_object_get_string(member(ret, "status")), ==,
                        "running");
        json_object_put(resp);
    }

    runstate_set(RUN_STATE_PAUSED);
    ev = recv_json(a);
    g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==, "STOP");
    check_keys(ev, (const char *const[]){ "timestamp", "event", NULL });
    json_object_put(ev);
    ev = recv_json(d);
    g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==, "STOP");
    json_object_put(ev);

    expect_silence(b, 100);
    /* b can still negotiate, and then gets the next event. */
    negotiate(b, false);
    runstate_set(RUN_STATE_RUNNING);
    ev = recv_json(b);
    g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==,
                    "RESUME");
    json_object_put(ev);
    runstate_set(RUN_STATE_PAUSED);
    ev = recv_json(b);
    g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==, "STOP");
    json_object_put(ev);
    /* An event between a request and its reply does not confuse ids. */
    check_alive(b, "after-events");

    /* A hung-up client is skipped without harm. */
    client_free(a);
    runstate_set(RUN_STATE_RUNNING);
    ev = recv_json(d);
    g_assert_cmpstr(json_object_get_string(member(ev, "event")), ==,
                    "RESUME");
    json_object_put(ev);
    runstate_set(RUN_STATE_PAUSED);
    ev = recv_json(d);
    json_object_put(ev);
    ev = recv_json(b);
    json_object_put(ev);
    ev = recv_json(b);
    json_object_put(ev);
    client_free(b);
    client_free(d);
}

static void test_hangup(void)
{
    for (int round = 0; round < 3; round++) {
        Client *c = client_new();

        negotiate(c, false);
        if (round == 0) {
            send_str(c, "{\"execute\":\"query-status\",\"id\":1}\n");
        } else if (round == 1) {
            /* Several queued, then hang up before they run. */
            for (int i = 0; i < 20; i++) {
                send_str(c, "{\"execute\":\"query-qmp-schema\"}\n");
            }
        } else {
            /* Mid-message. */
            send_str(c, "{\"execute\":\"query-sta");
        }
        close(c->fd);
        c->fd = -1;
        /* The queued work completes and its replies are dropped. */
        for (int i = 0; i < 200; i++) {
            main_loop_wait(false);
            g_usleep(500);
        }
        client_free(c);
    }
    /* Hang up before even reading the greeting. */
    {
        Client *c = client_new_raw();

        close(c->fd);
        c->fd = -1;
        client_free(c);
    }
    /* New monitors still work. */
    {
        Client *c = client_new();

        negotiate(c, false);
        check_alive(c, "after-hangup");
        client_free(c);
    }
}

/* Fills the queue without reading replies; all of them come in order. */
static void test_queue_bound(void)
{
    Client *c = client_new();
    GString *reqs = g_string_new(NULL);
    int n;

    negotiate(c, false);
    for (int i = 0; i < 50; i++) {
        g_string_append_printf(reqs, "{\"execute\":\"%s\",\"id\":%d}\n",
                               i % 3 == 2 ? "bad-cmd" : "query-status", i);
    }
    send_bytes(c, reqs->str, reqs->len);
    for (int i = 0; i < 50; i++) {
        json_object *resp = recv_json(c);

        g_assert_cmpint(json_object_get_int(member(resp, "id")), ==, i);
        g_assert_true(json_object_object_get_ex(resp,
                                                i % 3 == 2 ? "error" : "return",
                                                NULL));
        json_object_put(resp);
    }

    /*
     * Requests larger than one read (4 KiB) each: without the main loop
     * running, the I/O thread stops reading once 8 are queued, so input
     * stays in the socket.
     */
    g_string_truncate(reqs, 0);
    for (int i = 0; i < 20; i++) {
        g_string_append_printf(reqs, "%*s{\"execute\":\"query-name\","
                               "\"id\":%d}\n", 5000, "", i);
    }
    g_assert_cmpint(send(c->fd, reqs->str, reqs->len, MSG_DONTWAIT), ==,
                    (ssize_t)reqs->len);
    {
        gint64 end = g_get_monotonic_time() + 300 * 1000;
        int pending = 0, last = -1;

        /* Wait (without the main loop) for the reader to settle. */
        while (g_get_monotonic_time() < end) {
            g_usleep(20 * 1000);
            g_assert_cmpint(ioctl(c->server_fd, FIONREAD, &pending), ==, 0);
            if (pending == last) {
                break;
            }
            last = pending;
        }
        /* At most 8 requests (plus one partial read) were taken. */
        g_assert_cmpint(pending, >, (int)reqs->len - 10 * 5040);
        g_assert_cmpint(pending, >, 0);
    }
    n = 0;
    while (n < 20) {
        json_object *resp = recv_json(c);

        g_assert_cmpint(json_object_get_int(member(resp, "id")), ==, n);
        n++;
        json_object_put(resp);
    }
    expect_silence(c, 50);
    g_string_free(reqs, TRUE);
    client_free(c);
}

/* Machine-free commands answer with the right shapes. */
static void test_commands(void)
{
    Client *c = client_new();
    json_object *resp, *ret;
    bool found;

    negotiate(c, false);

    resp = expect_return(c, "{\"execute\":\"query-commands\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(ret, json_type_array));
    found = false;
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *e = json_object_array_get_idx(ret, i);
        found |= !strcmp(json_object_get_string(member(e, "name")),
                         "query-status");
    }
    g_assert_true(found);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-qmp-schema\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(ret, json_type_array));
    g_assert_cmpuint(json_object_array_length(ret), >, 10);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-status\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(member(ret, "running"),
                                      json_type_boolean));
    g_assert_true(json_object_is_type(member(ret, "status"),
                                      json_type_string));
    json_object_put(resp);

    json_object_put(expect_return(c, "{\"execute\":\"query-name\"}\n", NULL));

    resp = expect_return(c, "{\"execute\":\"query-kvm\"}\n", NULL);
    ret = member(resp, "return");
    check_keys(ret, (const char *const[]){ "enabled", "present", NULL });
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-chardev\"}\n", NULL);
    ret = member(resp, "return");
    found = false;
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *e = json_object_array_get_idx(ret, i);
        found |= !strcmp(json_object_get_string(member(e, "label")),
                         c->chr->id);
    }
    g_assert_true(found);
    json_object_put(resp);

    /* The monitor's own chardev cannot be pulled from under it. */
    {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"%s\"}}\n",
            c->chr->id);

        expect_error(c, req, "GenericError", "is busy", NULL);
    }

    resp = expect_return(c, "{\"execute\":\"qom-list-types\"}\n", NULL);
    g_assert_true(json_object_is_type(member(resp, "return"),
                                      json_type_array));
    json_object_put(resp);

    json_object_put(expect_return(c, "{\"execute\":\"object-add\",\"arguments\":"
                                  "{\"qom-type\":\"iothread\",\"id\":\"io-t\"}}\n",
                                  NULL));
    expect_error(c, "{\"execute\":\"object-add\",\"arguments\":"
                 "{\"qom-type\":\"iothread\",\"id\":\"io-t\"}}\n",
                 "GenericError", "io-t", NULL);
    json_object_put(expect_return(c, "{\"execute\":\"object-del\",\"arguments\":"
                                  "{\"id\":\"io-t\"}}\n", NULL));
    expect_error(c, "{\"execute\":\"object-del\",\"arguments\":"
                 "{\"id\":\"io-t\"}}\n", "GenericError", "io-t", NULL);
    expect_error(c, "{\"execute\":\"object-add\",\"arguments\":"
                 "{\"qom-type\":\"no-such-type\",\"id\":\"x\"}}\n",
                 "GenericError", "no-such-type", NULL);
    /* No device type is hotpluggable yet (tests/unit/test-qdev.c). */
    expect_error(c, "{\"execute\":\"device_add\",\"arguments\":"
                 "{\"driver\":\"isa-debug-exit\",\"iobase\":1280}}\n",
                 "GenericError", "Device 'isa-debug-exit' does not support "
                 "hotplugging", NULL);
    expect_error(c, "{\"execute\":\"device_del\",\"arguments\":"
                 "{\"id\":\"nope\"}}\n",
                 "DeviceNotFound", "Device 'nope' not found", NULL);

    resp = expect_return(c, "{\"execute\":\"human-monitor-command\","
                         "\"arguments\":{\"command-line\":\"info version\"}}\n",
                         NULL);
    ret = member(resp, "return");
    g_assert_true(json_object_is_type(ret, json_type_string));
    g_assert_cmpuint(json_object_get_string_len(ret), >, 0);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"human-monitor-command\","
                         "\"arguments\":{\"command-line\":\"help\"}}\n", NULL);
    ret = member(resp, "return");
    g_assert_nonnull(strstr(json_object_get_string(ret), "info version"));
    json_object_put(resp);
    client_free(c);
}

/* Reads one event named name (no reply may come first); returns data. */
static json_object *expect_event(Client *c, const char *name,
                                 json_object **ev)
{
    *ev = recv_json(c);
    g_assert_cmpstr(json_object_get_string(member(*ev, "event")), ==, name);
    return member(*ev, "data");
}

static json_object *query_colo_status(Client *c, json_object **resp)
{
    *resp = expect_return(c, "{\"execute\":\"query-colo-status\"}\n", NULL);
    return member(*resp, "return");
}

/*
 * A COLO secondary that lost its primary (issue 10, 5b and 9d): it says
 * so in X_COLO_PEER_LOST, in query-colo-status (reason error and
 * x-peer-lost while it waits) and in info colo; the operator's command
 * then ends the run with COLO_EXIT reason error, as QEMU reports it.
 * Without a loss the command's reason is request and the reply keeps
 * QEMU's three members. (The COLO loops themselves need KVM: test-colo
 * and test_colo.py drive them.)
 */
static void test_colo_peer_lost(void)
{
    static const char why[] = "the primary sent nothing for 5000 ms";
    ColoState *colo = colo_current();
    Client *c = client_new();
    json_object *ev, *resp, *st, *data;
    g_autofree char *info = NULL;

    negotiate(c, false);
    colo_run_begin(colo, COLO_MODE_SECONDARY, NULL, NULL);
    colo_peer_lost(colo, why);
    data = expect_event(c, "X_COLO_PEER_LOST", &ev);
    check_keys(data, (const char *const[]){ "mode", "error", NULL });
    g_assert_cmpstr(json_object_get_string(member(data, "mode")), ==,
                    "secondary");
    g_assert_cmpstr(json_object_get_string(member(data, "error")), ==, why);
    json_object_put(ev);

    st = query_colo_status(c, &resp);
    check_keys(st, (const char *const[]){ "mode", "last-mode", "reason",
                                          "x-peer-lost", NULL });
    g_assert_cmpstr(json_object_get_string(member(st, "mode")), ==,
                    "secondary");
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==,
                    "error");
    g_assert_cmpstr(json_object_get_string(member(st, "x-peer-lost")), ==,
                    why);
    json_object_put(resp);
    info = hmp_run_command("info colo", &error_abort);
    g_assert_nonnull(strstr(info, "COLO mode: secondary"));
    g_assert_nonnull(strstr(info, "reason: error"));
    g_assert_nonnull(strstr(info, "peer: lost (the primary sent nothing "
                            "for 5000 ms)"));

    /* The operator's command: the failover ends the run with error. */
    json_object_put(expect_return(c,
        "{\"execute\":\"x-colo-lost-heartbeat\"}\n", NULL));
    g_assert_cmpint(colo_failover_exit_reason(colo), ==,
                    COLO_EXIT_REASON_ERROR);
    colo_run_end(colo, colo_failover_exit_reason(colo), false);
    data = expect_event(c, "COLO_EXIT", &ev);
    g_assert_cmpstr(json_object_get_string(member(data, "reason")), ==,
                    "error");
    json_object_put(ev);
    st = query_colo_status(c, &resp);
    g_assert_cmpstr(json_object_get_string(member(st, "mode")), ==, "none");
    g_assert_cmpstr(json_object_get_string(member(st, "last-mode")), ==,
                    "secondary");
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==,
                    "error");
    g_assert_cmpstr(json_object_get_string(member(st, "x-peer-lost")), ==,
                    why);
    json_object_put(resp);

    /* A new run forgets the loss; a failover by command is request. */
    colo_run_begin(colo, COLO_MODE_SECONDARY, NULL, NULL);
    st = query_colo_status(c, &resp);
    check_keys(st, (const char *const[]){ "mode", "last-mode", "reason",
                                          NULL });
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==, "none");
    json_object_put(resp);
    json_object_put(expect_return(c,
        "{\"execute\":\"x-colo-lost-heartbeat\"}\n", NULL));
    g_assert_cmpint(colo_failover_exit_reason(colo), ==,
                    COLO_EXIT_REASON_REQUEST);
    colo_run_end(colo, colo_failover_exit_reason(colo), false);
    data = expect_event(c, "COLO_EXIT", &ev);
    g_assert_cmpstr(json_object_get_string(member(data, "reason")), ==,
                    "request");
    json_object_put(ev);
    st = query_colo_status(c, &resp);
    check_keys(st, (const char *const[]){ "mode", "last-mode", "reason",
                                          NULL });
    g_assert_cmpstr(json_object_get_string(member(st, "reason")), ==,
                    "request");
    json_object_put(resp);
    client_free(c);
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    bql_lock();
    monitor_init_globals();
    monitor_register_events();

    g_test_add_func("/qmp/greeting", test_greeting);
    g_test_add_func("/qmp/query-status/shape", test_query_status_shape);
    g_test_add_func("/qmp/id-verbatim", test_id_verbatim);
    g_test_add_func("/qmp/migrate-set-parameters/x-colo-peer-timeout",
                    test_colo_peer_timeout_parameter);
    g_test_add_func("/qmp/migrate-set-capabilities/postcopy-refused",
                    test_postcopy_refused_at_set_time);
    g_test_add_func("/qmp/ascii-output", test_ascii_output);
    g_test_add_func("/qmp/negotiation", test_negotiation);
    g_test_add_func("/qmp/oob", test_oob);
    g_test_add_func("/qmp/request-validation", test_request_validation);
    g_test_add_func("/qmp/id-types", test_id_types);
    g_test_add_func("/qmp/malformed", test_malformed);
    g_test_add_func("/qmp/malformed/unterminated-string",
                    test_unterminated_string);
    g_test_add_func("/qmp/malformed/unterminated-object",
                    test_unterminated_object);
    g_test_add_func("/qmp/malformed/control-resync", test_control_resync);
    g_test_add_func("/qmp/malformed/huge", test_huge_message);
    g_test_add_func("/qmp/ordering", test_ordering);
    g_test_add_func("/qmp/events", test_events);
    g_test_add_func("/qmp/hangup", test_hangup);
    g_test_add_func("/qmp/queue-bound", test_queue_bound);
    g_test_add_func("/qmp/commands", test_commands);
    g_test_add_func("/qmp/colo/peer-lost", test_colo_peer_lost);

    rc = g_test_run();
    monitor_cleanup();
    chardev_close_all();
    bql_unlock();
    return rc;
}
