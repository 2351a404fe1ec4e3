/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The in-process QMP test client; see qmp-test-client.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "chardev/char.h"
#include "monitor/monitor.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "qmp-test-client.h"

void qmp_test_init(int *argc, char ***argv)
{
    g_test_init(argc, argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    bql_lock();
    monitor_init_globals();
    monitor_register_events();
}

int qmp_test_run(void)
{
    int rc = g_test_run();

    monitor_cleanup();
    chardev_close_all();
    bql_unlock();
    return rc;
}


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
void spin(Client *c)
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
char *recv_line(Client *c)
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

char *recv_line_stuck(Client *c)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    char *line;

    while (!(line = client_take_line(c))) {
        if (g_get_monotonic_time() > deadline) {
            g_error("no QMP reply within %d ms while the main loop did not "
                    "run (have %zu bytes: %.200s)", WAIT_MS, c->in->len,
                    c->in->str);
        }
        poll(&pfd, 1, 10);
        client_pump(c);
    }
    return line;
}

json_object *parse_line(const char *line)
{
    json_tokener *tok = json_tokener_new_ex(256);
    json_object *obj = json_tokener_parse_ex(tok, line, strlen(line));

    json_tokener_free(tok);

    if (!obj || !json_object_is_type(obj, json_type_object)) {
        g_error("reply is not a JSON object: %s", line);
    }
    return obj;
}

json_object *recv_json(Client *c)
{
    g_autofree char *line = recv_line(c);

    return parse_line(line);
}

/* Spins for ms and checks that nothing arrived. */
void expect_silence(Client *c, int ms)
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
void send_bytes(Client *c, const void *buf, size_t len)
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

void send_str(Client *c, const char *s)
{
    send_bytes(c, s, strlen(s));
}

void send_str_with_fd(Client *c, const char *s, int fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control = { 0 };
    struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    /* Small enough to go in one piece into an empty socket. */
    g_assert_cmpint(sendmsg(c->fd, &msg, MSG_NOSIGNAL), ==, (ssize_t)iov.iov_len);
}

Client *client_new_raw(void)
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
Client *client_new(void)
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
void client_free(Client *c)
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

json_object *member(json_object *obj, const char *key)
{
    json_object *val = NULL;

    if (!json_object_object_get_ex(obj, key, &val)) {
        g_error("member '%s' missing in %s", key,
                json_object_to_json_string(obj));
    }
    return val;
}

void check_keys(json_object *obj, const char *const *keys)
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
json_object *check_return(json_object *resp, const char *id_json)
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
void check_error(json_object *resp, const char *cls,
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
void expect_error(Client *c, const char *line, const char *cls,
                         const char *desc_part, const char *id_json)
{
    json_object *resp;

    send_str(c, line);
    resp = recv_json(c);
    check_error(resp, cls, desc_part, id_json);
    json_object_put(resp);
}

/* Sends line and checks for a return; returns the response (owned). */
json_object *expect_return(Client *c, const char *line,
                                  const char *id_json)
{
    json_object *resp;

    send_str(c, line);
    resp = recv_json(c);
    check_return(resp, id_json);
    return resp;
}

void expect_ok(Client *c, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *line = NULL;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object_put(expect_return(c, line, NULL));
}

void negotiate(Client *c, bool oob)
{
    json_object *resp = expect_return(c, oob ?
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n" :
        "{\"execute\":\"qmp_capabilities\"}\n", NULL);

    g_assert_cmpint(json_object_object_length(member(resp, "return")), ==, 0);
    json_object_put(resp);
}

/* query-name with an id: the cheapest full round trip. */
void check_alive(Client *c, const char *tag)
{
    g_autofree char *req = g_strdup_printf(
        "{\"execute\":\"query-name\",\"id\":\"%s\"}\n", tag);
    g_autofree char *id = g_strdup_printf("\"%s\"", tag);
    json_object *resp = expect_return(c, req, id);

    json_object_put(resp);
}

bool is_parse_error(json_object *resp)
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
json_object *recv_until_id(Client *c, const char *id, int *errors)
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
