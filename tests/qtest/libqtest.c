/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqtest: start Tandem for a test and talk qtest and QMP to it (see
 * libqtest.h for the API and the environment it reads).
 *
 * Both connections are UNIX sockets that this process listens on; Tandem
 * connects to them as a client (-qtest unix:PATH and -chardev
 * socket,path=PATH). Each is read through a small line reader with a
 * deadline: qtest replies and QMP messages are one line each. Every
 * failure (timeout, early exit, protocol error) kills the Tandem
 * processes this program started, removes the scratch directory and
 * aborts through g_error(), which GTest reports as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "libqtest.h"

typedef struct LineReader {
    int fd;
    GString *buf;
    size_t scanned;         /* bytes of buf known to hold no '\n' */
} LineReader;

typedef enum {
    READ_OK,
    READ_TIMEOUT,
    READ_EOF,
} ReadResult;

struct QTestState {
    pid_t pid;
    bool reaped;
    int status;
    LineReader qtest;
    LineReader qmp;
    GQueue events;          /* json_object *, oldest first */
    /* "IRQ raise N" / "IRQ lower N" lines seen so far (after
     * irq_intercept_in/out): the level of each line N. */
    bool irq_level[QTEST_IRQ_MAX];
    char *qtest_path;
    char *qmp_path;
};

static GPtrArray *live_states;
static char *scratch_dir;
static unsigned scratch_counter;

int qtest_timeout_ms(void)
{
    const char *env = g_getenv("TANDEM_QTEST_TIMEOUT");
    long secs = env ? strtol(env, NULL, 10) : 0;

    return (secs > 0 ? secs : 30) * 1000;
}

static void scratch_remove(void)
{
    DIR *d;
    struct dirent *e;

    if (!scratch_dir) {
        return;
    }
    d = opendir(scratch_dir);
    if (d) {
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                g_autofree char *p = g_build_filename(scratch_dir, e->d_name,
                                                      NULL);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(scratch_dir);
    g_free(scratch_dir);
    scratch_dir = NULL;
}

/*
 * A failed g_assert() aborts without atexit handlers: remove the scratch
 * files from the SIGABRT handler then, with async-signal-safe calls only
 * (the paths were recorded when they were handed out).
 */
static char *scratch_paths[1024];
static volatile sig_atomic_t nr_scratch_paths;
static char *scratch_dir_copy;

static void scratch_on_abort(int sig)
{
    for (sig_atomic_t i = 0; i < nr_scratch_paths; i++) {
        unlink(scratch_paths[i]);
    }
    if (scratch_dir_copy) {
        rmdir(scratch_dir_copy);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *qtest_scratch_dir(void)
{
    if (!scratch_dir) {
        GError *gerr = NULL;

        scratch_dir = g_dir_make_tmp("tandem-qtest-XXXXXX", &gerr);
        if (!scratch_dir) {
            g_error("cannot create a scratch directory: %s", gerr->message);
        }
        scratch_dir_copy = g_strdup(scratch_dir);
        atexit(scratch_remove);
        signal(SIGABRT, scratch_on_abort);
    }
    return scratch_dir;
}

char *qtest_scratch_path(const char *name)
{
    g_autofree char *base = g_strdup_printf("%u-%s", ++scratch_counter, name);
    char *path = g_build_filename(qtest_scratch_dir(), base, NULL);

    if (nr_scratch_paths < (sig_atomic_t)G_N_ELEMENTS(scratch_paths)) {
        scratch_paths[nr_scratch_paths] = g_strdup(path);
        nr_scratch_paths = nr_scratch_paths + 1;
    }
    return path;
}

/* Kills every Tandem still running, cleans up, and aborts the test. */
static void G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) qt_fail(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    for (guint i = 0; live_states && i < live_states->len; i++) {
        QTestState *s = g_ptr_array_index(live_states, i);
        if (!s->reaped) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->reaped = true;
        }
    }
    scratch_remove();
    g_error("libqtest: %s", msg);
}

static gint64 deadline_after(int timeout_ms)
{
    return g_get_monotonic_time() + (gint64)timeout_ms * 1000;
}

static int decode_status(int wstatus)
{
    if (WIFEXITED(wstatus)) {
        return WEXITSTATUS(wstatus);
    }
    if (WIFSIGNALED(wstatus)) {
        return 128 + WTERMSIG(wstatus);
    }
    return -1;
}

/* Reaps Tandem if it has exited; true if it has. */
static bool qt_poll_exit(QTestState *s)
{
    int wstatus;

    if (s->reaped) {
        return true;
    }
    if (waitpid(s->pid, &wstatus, WNOHANG) == s->pid) {
        s->reaped = true;
        s->status = decode_status(wstatus);
    }
    return s->reaped;
}

static void json_put_notify(gpointer o)
{
    json_object_put(o);
}

/* ---- lines ---- */

static ReadResult reader_line(LineReader *r, gint64 deadline, char **line)
{
    for (;;) {
        char *nl = memchr(r->buf->str + r->scanned, '\n',
                          r->buf->len - r->scanned);
        gint64 left;
        struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
        char chunk[65536];
        ssize_t n;

        if (nl) {
            size_t len = nl - r->buf->str;

            if (len && r->buf->str[len - 1] == '\r') {
                *line = g_strndup(r->buf->str, len - 1);
            } else {
                *line = g_strndup(r->buf->str, len);
            }
            g_string_erase(r->buf, 0, len + 1);
            r->scanned = 0;
            return READ_OK;
        }
        r->scanned = r->buf->len;
        if (r->fd < 0) {
            return READ_EOF;
        }
        left = deadline - g_get_monotonic_time();
        if (left <= 0) {
            return READ_TIMEOUT;
        }
        if (poll(&pfd, 1, MIN(left / 1000 + 1, 200)) < 0 && errno != EINTR) {
            return READ_EOF;
        }
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            continue;
        }
        n = read(r->fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            return READ_EOF;
        }
        g_string_append_len(r->buf, chunk, n);
    }
}

bool qtest_write_all(int fd, const void *data, size_t len, gint64 deadline)
{
    const char *buf = data;

    while (len) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        gint64 left = deadline - g_get_monotonic_time();
        ssize_t n;

        if (fd < 0 || left <= 0) {
            return false;
        }
        if (poll(&pfd, 1, MIN(left / 1000 + 1, 200)) <= 0) {
            continue;
        }
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= n;
    }
    return true;
}

static const char *read_result_str(ReadResult r)
{
    return r == READ_TIMEOUT ? "timed out" : "connection closed";
}

/* ---- start-up ---- */

static char *build_dir(void)
{
    const char *env = g_getenv("TANDEM_BUILD");
    g_autofree char *exe = NULL;
    g_autofree char *d1 = NULL;
    g_autofree char *d2 = NULL;

    if (env) {
        return g_strdup(env);
    }
    exe = g_file_read_link("/proc/self/exe", NULL);
    if (!exe) {
        qt_fail("cannot read /proc/self/exe");
    }
    /* BUILD/tests/qtest/test-x */
    d1 = g_path_get_dirname(exe);
    d2 = g_path_get_dirname(d1);
    return g_path_get_dirname(d2);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        qt_fail("socket path too long: %s", path);
    }
    strcpy(sa.sun_path, path);
    unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 1) < 0) {
        qt_fail("cannot listen on %s: %s", path, g_strerror(errno));
    }
    return fd;
}

static int accept_timeout(QTestState *s, int lfd, const char *what)
{
    gint64 deadline = deadline_after(qtest_timeout_ms());

    for (;;) {
        struct pollfd pfd = { .fd = lfd, .events = POLLIN };
        int fd;

        if (poll(&pfd, 1, 50) > 0) {
            fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                return fd;
            }
        }
        if (qt_poll_exit(s)) {
            qt_fail("Tandem exited with status %d before connecting to the "
                    "%s socket", s->status, what);
        }
        if (g_get_monotonic_time() > deadline) {
            qt_fail("Tandem did not connect to the %s socket in time", what);
        }
    }
}

/* Whether the greeting's QMP.capabilities lists cap. */
static bool greeting_offers(json_object *greeting, const char *cap)
{
    json_object *caps = qt_json_get(qt_json_get(greeting, "QMP"),
                                    "capabilities");

    for (size_t i = 0; caps && json_object_is_type(caps, json_type_array) &&
                       i < json_object_array_length(caps); i++) {
        if (!g_strcmp0(json_object_get_string(
                           json_object_array_get_idx(caps, i)), cap)) {
            return true;
        }
    }
    return false;
}

static void add_args(GPtrArray *argv, const char *args)
{
    g_auto(GStrv) words = NULL;
    g_autofree char *trimmed = g_strstrip(g_strdup(args ? args : ""));
    GError *gerr = NULL;
    int n;

    if (!*trimmed) {
        /* g_shell_parse_argv() refuses an empty string. */
        return;
    }
    if (!g_shell_parse_argv(args, &n, &words, &gerr)) {
        qt_fail("cannot parse extra arguments '%s': %s", args, gerr->message);
    }
    for (int i = 0; i < n; i++) {
        g_ptr_array_add(argv, g_strdup(words[i]));
    }
}

/* How qtest_start() starts Tandem. */
typedef enum {
    QT_START_KVM,           /* the test guest under KVM */
    QT_START_QTEST,         /* -accel qtest: no guest, no KVM */
} QtStartMode;

char *qtest_guest_path(void)
{
    g_autofree char *build = build_dir();
    const char *env = g_getenv("TANDEM_GUEST");

    return env ? g_strdup(env) : g_build_filename(build, "tests", "guest",
                                                  "tandem-guest.elf", NULL);
}

static QTestState *qtest_start(const char *extra_args, bool oob,
                               QtStartMode mode)
{
    QTestState *s = g_new0(QTestState, 1);
    g_autofree char *build = build_dir();
    g_autofree char *binary = g_strdup(g_getenv("TANDEM_BINARY"));
    g_autofree char *guest = g_strdup(g_getenv("TANDEM_GUEST"));
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *line = NULL;
    json_object *greeting, *rsp;
    int qtest_lfd, qmp_lfd;
    pid_t parent = getpid();

    signal(SIGPIPE, SIG_IGN);
    if (!binary) {
        binary = g_build_filename(build, "tandem-system-x86_64", NULL);
    }
    if (!guest) {
        guest = g_build_filename(build, "tests", "guest", "tandem-guest.elf",
                                 NULL);
    }
    if (access(binary, X_OK) < 0) {
        qt_fail("%s is not executable (set TANDEM_BINARY)", binary);
    }
    s->qtest_path = qtest_scratch_path("qtest.sock");
    s->qmp_path = qtest_scratch_path("qmp.sock");
    qtest_lfd = listen_unix(s->qtest_path);
    qmp_lfd = listen_unix(s->qmp_path);

    g_ptr_array_add(argv, g_strdup(binary));
    add_args(argv, mode == QT_START_QTEST ?
                   "-accel qtest -display none -nodefaults" :
                   "-accel kvm -display none -nodefaults");
    g_ptr_array_add(argv, g_strdup("-qtest"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s", s->qtest_path));
    /* The server logs to stderr unless told otherwise, as QEMU's does. */
    add_args(argv, g_strcmp0(g_getenv("TANDEM_QTEST_LOG"), "1") == 0 ?
                   "-qtest-log /dev/fd/2" : "-qtest-log none");
    g_ptr_array_add(argv, g_strdup("-chardev"));
    g_ptr_array_add(argv, g_strdup_printf("socket,id=char0,path=%s",
                                          s->qmp_path));
    add_args(argv, "-mon chardev=char0,mode=control");
    /* Defaults first: a later -kernel or -append in extra_args wins.
     * Under qtest nothing runs a kernel: none unless the test gives one. */
    if (mode == QT_START_KVM) {
        g_ptr_array_add(argv, g_strdup("-kernel"));
        g_ptr_array_add(argv, g_strdup(guest));
        add_args(argv, "-append workload=idle");
    }
    add_args(argv, extra_args);
    g_ptr_array_add(argv, NULL);

    s->pid = fork();
    if (s->pid < 0) {
        qt_fail("fork: %s", g_strerror(errno));
    }
    if (s->pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);

        /* Never outlive the test program, even when it aborts. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        execv(binary, (char **)argv->pdata);
        fprintf(stderr, "libqtest: exec %s: %s\n", binary, g_strerror(errno));
        _exit(127);
    }
    if (!live_states) {
        live_states = g_ptr_array_new();
    }
    g_ptr_array_add(live_states, s);

    s->qtest.fd = accept_timeout(s, qtest_lfd, "qtest");
    s->qtest.buf = g_string_new(NULL);
    s->qmp.fd = accept_timeout(s, qmp_lfd, "QMP");
    s->qmp.buf = g_string_new(NULL);
    close(qtest_lfd);
    close(qmp_lfd);
    unlink(s->qtest_path);
    unlink(s->qmp_path);
    g_queue_init(&s->events);

    line = qtest_raw(s, "endianness");
    if (strcmp(line, "OK little")) {
        qt_fail("endianness: unexpected reply '%s'", line);
    }
    greeting = qtest_qmp_receive(s);
    if (!qt_json_get(greeting, "QMP")) {
        qt_fail("bad QMP greeting: %s", json_object_to_json_string(greeting));
    }
    if (oob && !greeting_offers(greeting, "oob")) {
        qt_fail("the QMP greeting does not offer oob: %s",
                json_object_to_json_string(greeting));
    }
    json_object_put(greeting);
    rsp = qtest_qmp_assert_success(s, oob ?
        "{'execute': 'qmp_capabilities', 'arguments': {'enable': ['oob']}}" :
        "{'execute': 'qmp_capabilities'}");
    json_object_put(rsp);
    return s;
}

QTestState *qtest_init(const char *extra_args)
{
    return qtest_start(extra_args, false, QT_START_KVM);
}

QTestState *qtest_init_with_oob(const char *extra_args)
{
    return qtest_start(extra_args, true, QT_START_KVM);
}

QTestState *qtest_init_accel_qtest(const char *extra_args)
{
    return qtest_start(extra_args, false, QT_START_QTEST);
}

QTestState *qtest_initf_accel_qtest(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_init_accel_qtest(args);
}

QTestState *qtest_initf(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_init(args);
}

pid_t qtest_pid(QTestState *s)
{
    return s->pid;
}

int qtest_wait_exit(QTestState *s, int timeout_ms)
{
    gint64 deadline = deadline_after(timeout_ms);

    while (!qt_poll_exit(s)) {
        if (g_get_monotonic_time() > deadline) {
            return -1;
        }
        g_usleep(10 * 1000);
    }
    return s->status;
}

void qtest_close_qtest(QTestState *s)
{
    if (s->qtest.fd >= 0) {
        close(s->qtest.fd);
        s->qtest.fd = -1;
    }
}

static void qt_free(QTestState *s)
{
    qtest_close_qtest(s);
    if (s->qmp.fd >= 0) {
        close(s->qmp.fd);
    }
    g_queue_clear_full(&s->events, json_put_notify);
    g_string_free(s->qtest.buf, TRUE);
    g_string_free(s->qmp.buf, TRUE);
    g_ptr_array_remove(live_states, s);
    g_free(s->qtest_path);
    g_free(s->qmp_path);
    g_free(s);
}

int qtest_quit(QTestState *s)
{
    int status;

    if (!qt_poll_exit(s) && s->qmp.fd >= 0) {
        gint64 deadline = deadline_after(qtest_timeout_ms());
        const char *cmd = "{\"execute\": \"quit\"}\n";

        if (qtest_write_all(s->qmp.fd, cmd, strlen(cmd), deadline)) {
            /* Wait for the reply or the hang-up, whichever comes. */
            for (;;) {
                char *line = NULL;
                ReadResult r = reader_line(&s->qmp, deadline, &line);
                bool reply = line && !strstr(line, "\"event\"");

                g_free(line);
                if (r != READ_OK || reply) {
                    break;
                }
            }
        }
    }
    status = qtest_wait_exit(s, qtest_timeout_ms());
    if (status < 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->reaped = true;
        status = -1;
    }
    qt_free(s);
    return status;
}

void qtest_kill(QTestState *s)
{
    if (!qt_poll_exit(s)) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->reaped = true;
    }
    qt_free(s);
}

/* ---- QMP ---- */

const char *qt_json_str(json_object *o, const char *key)
{
    json_object *v = qt_json_get(o, key);

    return v && json_object_is_type(v, json_type_string) ?
        json_object_get_string(v) : NULL;
}

json_object *qt_json_get(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v)) {
        return NULL;
    }
    return v;
}

bool qt_json_has(json_object *o, const char *key)
{
    return qt_json_get(o, key) != NULL;
}

/* One QMP message, or NULL with *res telling why. */
static json_object *qmp_read_msg(QTestState *s, gint64 deadline,
                                 ReadResult *res)
{
    for (;;) {
        g_autofree char *line = NULL;
        enum json_tokener_error jerr;
        json_object *o;

        *res = reader_line(&s->qmp, deadline, &line);
        if (*res != READ_OK) {
            return NULL;
        }
        if (!*g_strstrip(line)) {
            continue;
        }
        o = json_tokener_parse_verbose(line, &jerr);
        if (!o || !json_object_is_type(o, json_type_object)) {
            qt_fail("QMP sent something that is not a JSON object (%s): %s",
                    json_tokener_error_desc(jerr), line);
        }
        return o;
    }
}

json_object *qtest_qmp_receive(QTestState *s)
{
    gint64 deadline = deadline_after(qtest_timeout_ms());

    for (;;) {
        ReadResult r;
        json_object *o = qmp_read_msg(s, deadline, &r);

        if (!o) {
            qt_fail("waiting for a QMP response: %s", read_result_str(r));
        }
        if (qt_json_has(o, "event")) {
            g_queue_push_tail(&s->events, o);
            continue;
        }
        return o;
    }
}

void qtest_qmp_send_raw(QTestState *s, const char *text)
{
    g_autofree char *out = g_strconcat(text, "\n", NULL);

    if (!qtest_write_all(s->qmp.fd, out, strlen(out),
                   deadline_after(qtest_timeout_ms()))) {
        qt_fail("cannot send QMP command: %s", text);
    }
}

static void qtest_vqmp_send(QTestState *s, const char *fmt, va_list ap)
    G_GNUC_PRINTF(2, 0);

static char *qtest_vqmp_format(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);

/* The test's command, checked as JSON and re-serialized: single quotes
 * become double quotes. */
static char *qtest_vqmp_format(const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(text, &jerr);
    char *out;

    if (!o) {
        qt_fail("the test's QMP command is not JSON (%s): %s",
                json_tokener_error_desc(jerr), text);
    }
    out = g_strdup(json_object_to_json_string_ext(
                       o, JSON_C_TO_STRING_PLAIN |
                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return out;
}

static void qtest_vqmp_send(QTestState *s, const char *fmt, va_list ap)
{
    g_autofree char *text = qtest_vqmp_format(fmt, ap);

    qtest_qmp_send_raw(s, text);
}

json_object *qtest_qmp_fd(QTestState *s, int fd, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control = { 0 };
    struct iovec iov;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
    };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    ssize_t n;

    va_start(ap, fmt);
    text = qtest_vqmp_format(fmt, ap);
    va_end(ap);
    text = g_strconcat(g_steal_pointer(&text), "\n", NULL);
    iov = (struct iovec) { .iov_base = text, .iov_len = strlen(text) };
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    /* The fd goes with the first byte; the rest follows if it must. */
    do {
        n = sendmsg(s->qmp.fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        qt_fail("cannot send QMP command with fd %d: %s", fd, text);
    }
    if ((size_t)n < iov.iov_len &&
        !qtest_write_all(s->qmp.fd, text + n, iov.iov_len - n,
                         deadline_after(qtest_timeout_ms()))) {
        qt_fail("cannot send QMP command: %s", text);
    }
    return qtest_qmp_receive(s);
}

void qtest_qmp_send(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qtest_vqmp_send(s, fmt, ap);
    va_end(ap);
}

json_object *qtest_vqmp(QTestState *s, const char *fmt, va_list ap)
{
    qtest_vqmp_send(s, fmt, ap);
    return qtest_qmp_receive(s);
}

json_object *qtest_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    json_object *rsp;

    va_start(ap, fmt);
    rsp = qtest_vqmp(s, fmt, ap);
    va_end(ap);
    return rsp;
}

json_object *qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    json_object *rsp, *ret;

    /* Formatted first, so that a failure shows the command itself. */
    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    rsp = qtest_qmp(s, "%s", cmd);
    ret = qt_json_get(rsp, "return");
    if (!ret || qt_json_has(rsp, "error")) {
        qt_fail("QMP command failed: %s (command: %s)",
                json_object_to_json_string(rsp), cmd);
    }
    json_object_get(ret);
    json_object_put(rsp);
    return ret;
}

void qtest_qmp_ok(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_object_put(qtest_qmp_assert_success(s, "%s", cmd));
}

/* qtest_qmp_assert_error() on a command already formatted. */
static char *qmp_assert_error_cmd(QTestState *s, char **cls, const char *cmd)
{
    json_object *rsp, *err;
    const char *desc, *klass;
    char *result;

    rsp = qtest_qmp(s, "%s", cmd);
    err = qt_json_get(rsp, "error");
    desc = qt_json_str(err, "desc");
    klass = qt_json_str(err, "class");
    if (!desc || !klass || qt_json_has(rsp, "return")) {
        qt_fail("QMP command did not fail as expected: %s (command: %s)",
                json_object_to_json_string(rsp), cmd);
    }
    result = g_strdup(desc);
    if (cls) {
        *cls = g_strdup(klass);
    }
    json_object_put(rsp);
    return result;
}

char *qtest_qmp_assert_error(QTestState *s, char **cls, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qmp_assert_error_cmd(s, cls, cmd);
}

/* The error's class is cls_want and its desc is (exact) or contains want. */
static void qmp_expect_error(QTestState *s, const char *cls_want,
                             const char *want, bool exact, const char *fmt,
                             va_list ap)
{
    g_autofree char *cmd = g_strdup_vprintf(fmt, ap);
    g_autofree char *cls = NULL;
    g_autofree char *desc = qmp_assert_error_cmd(s, &cls, cmd);

    g_test_message("%s -> %s: %s", cmd, cls, desc);
    g_assert_cmpstr(cls, ==, cls_want);
    if (exact) {
        g_assert_cmpstr(desc, ==, want);
    } else if (!strstr(desc, want)) {
        g_error("error '%s' does not contain '%s' (command: %s)", desc, want,
                cmd);
    }
}

void qtest_qmp_assert_error_is(QTestState *s, const char *cls,
                               const char *desc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qmp_expect_error(s, cls, desc, true, fmt, ap);
    va_end(ap);
}

void qtest_qmp_assert_error_contains(QTestState *s, const char *cls,
                                     const char *needle, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qmp_expect_error(s, cls, needle, false, fmt, ap);
    va_end(ap);
}

const char *qtest_runstate(QTestState *s, bool *running)
{
    static char status[32];
    json_object *r = qtest_qmp_assert_success(s, "{'execute': "
                                              "'query-status'}");

    g_strlcpy(status, qt_json_str(r, "status"), sizeof(status));
    if (running) {
        *running = json_object_get_boolean(qt_json_get(r, "running"));
    }
    json_object_put(r);
    return status;
}

json_object *qtest_qmp_eventwait_timeout(QTestState *s, const char *event,
                                         int timeout_ms)
{
    gint64 deadline = deadline_after(timeout_ms);

    for (GList *l = s->events.head; l; l = l->next) {
        if (!g_strcmp0(qt_json_str(l->data, "event"), event)) {
            json_object *o = l->data;
            g_queue_delete_link(&s->events, l);
            return o;
        }
    }
    for (;;) {
        ReadResult r;
        json_object *o = qmp_read_msg(s, deadline, &r);

        if (!o) {
            return NULL;
        }
        if (!g_strcmp0(qt_json_str(o, "event"), event)) {
            return o;
        }
        if (qt_json_has(o, "event")) {
            g_queue_push_tail(&s->events, o);
        } else {
            g_test_message("dropping an unexpected QMP message: %s",
                           json_object_to_json_string(o));
            json_object_put(o);
        }
    }
}

json_object *qtest_qmp_eventwait(QTestState *s, const char *event)
{
    json_object *o = qtest_qmp_eventwait_timeout(s, event, qtest_timeout_ms());

    if (!o) {
        qt_fail("no QMP event %s in time", event);
    }
    return o;
}

void qtest_qmp_clear_events(QTestState *s)
{
    g_queue_clear_full(&s->events, json_put_notify);
    g_queue_init(&s->events);
}

char *qtest_hmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmdline = NULL;
    json_object *args, *cmd, *ret;
    char *out;

    va_start(ap, fmt);
    cmdline = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* Built with json-c so the command line needs no escaping here. */
    args = json_object_new_object();
    json_object_object_add(args, "command-line",
                           json_object_new_string(cmdline));
    cmd = json_object_new_object();
    json_object_object_add(cmd, "execute",
                           json_object_new_string("human-monitor-command"));
    json_object_object_add(cmd, "arguments", args);
    ret = qtest_qmp_assert_success(s, "%s", json_object_to_json_string_ext(
                                       cmd, JSON_C_TO_STRING_PLAIN));
    json_object_put(cmd);
    if (!json_object_is_type(ret, json_type_string)) {
        qt_fail("human-monitor-command returned %s",
                json_object_to_json_string(ret));
    }
    out = g_strdup(json_object_get_string(ret));
    json_object_put(ret);
    return out;
}

/* ---- qtest ---- */

/* "IRQ raise N" or "IRQ lower N". */
static void qt_irq_line(QTestState *s, const char *line)
{
    g_auto(GStrv) w = g_strsplit(line, " ", -1);
    char *end;
    unsigned long n;

    if (g_strv_length(w) != 3 || (strcmp(w[1], "raise") &&
                                  strcmp(w[1], "lower"))) {
        qt_fail("qtest: malformed interrupt line '%s'", line);
    }
    n = strtoul(w[2], &end, 10);
    if (*end || end == w[2] || n >= QTEST_IRQ_MAX) {
        qt_fail("qtest: bad line number in '%s'", line);
    }
    s->irq_level[n] = !strcmp(w[1], "raise");
}

static char *G_GNUC_PRINTF(2, 3) qt_cmd(QTestState *s, const char *fmt, ...);

char *qtest_raw(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    gint64 deadline = deadline_after(qtest_timeout_ms());

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    out = g_strconcat(cmd, "\n", NULL);
    if (!qtest_write_all(s->qtest.fd, out, strlen(out), deadline)) {
        qt_fail("qtest: cannot send '%.80s'", cmd);
    }
    for (;;) {
        char *line = NULL;
        ReadResult r = reader_line(&s->qtest, deadline, &line);

        if (r != READ_OK) {
            qt_fail("qtest: no reply to '%.80s': %s", cmd,
                    read_result_str(r));
        }
        /* Asynchronous interrupt lines: recorded, not a reply. */
        if (g_str_has_prefix(line, "IRQ ")) {
            qt_irq_line(s, line);
            g_free(line);
            continue;
        }
        return line;
    }
}

void qtest_irq_intercept_in(QTestState *s, const char *name)
{
    g_free(qt_cmd(s, "irq_intercept_in %s", name));
}

void qtest_irq_intercept_out(QTestState *s, const char *name)
{
    g_free(qt_cmd(s, "irq_intercept_out %s", name));
}

bool qtest_get_irq(QTestState *s, unsigned n)
{
    g_assert(n < QTEST_IRQ_MAX);
    /* A command with no effect: its reply comes after every IRQ line the
     * server sent before it, so the levels are up to date. */
    g_free(qt_cmd(s, "endianness"));
    return s->irq_level[n];
}

/* Runs a command that must succeed; returns what follows "OK". */
static char *G_GNUC_PRINTF(2, 3) qt_cmd(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *cmd = NULL;
    g_autofree char *reply = NULL;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    reply = qtest_raw(s, "%s", cmd);
    if (strcmp(reply, "OK") && !g_str_has_prefix(reply, "OK ")) {
        qt_fail("qtest: '%.80s' failed: %s", cmd, reply);
    }
    return g_strdup(reply[2] ? reply + 3 : "");
}

static uint64_t qt_cmd_value(QTestState *s, const char *cmd, uint64_t addr)
{
    g_autofree char *v = qt_cmd(s, "%s 0x%" PRIx64, cmd, addr);
    char *end;
    uint64_t value;

    errno = 0;
    value = strtoull(v, &end, 16);
    if (errno || end == v || *end || !g_str_has_prefix(v, "0x")) {
        qt_fail("qtest: %s: bad value '%s'", cmd, v);
    }
    return value;
}

static void qt_cmd_write(QTestState *s, const char *cmd, uint64_t addr,
                         uint64_t value)
{
    g_free(qt_cmd(s, "%s 0x%" PRIx64 " 0x%" PRIx64, cmd, addr, value));
}

uint8_t qtest_readb(QTestState *s, uint64_t addr)
{
    return qt_cmd_value(s, "readb", addr);
}

uint16_t qtest_readw(QTestState *s, uint64_t addr)
{
    return qt_cmd_value(s, "readw", addr);
}

uint32_t qtest_readl(QTestState *s, uint64_t addr)
{
    return qt_cmd_value(s, "readl", addr);
}

uint64_t qtest_readq(QTestState *s, uint64_t addr)
{
    return qt_cmd_value(s, "readq", addr);
}

void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value)
{
    qt_cmd_write(s, "writeb", addr, value);
}

void qtest_writew(QTestState *s, uint64_t addr, uint16_t value)
{
    qt_cmd_write(s, "writew", addr, value);
}

void qtest_writel(QTestState *s, uint64_t addr, uint32_t value)
{
    qt_cmd_write(s, "writel", addr, value);
}

void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value)
{
    qt_cmd_write(s, "writeq", addr, value);
}

void qtest_outb(QTestState *s, uint16_t port, uint8_t value)
{
    qt_cmd_write(s, "outb", port, value);
}

void qtest_outw(QTestState *s, uint16_t port, uint16_t value)
{
    qt_cmd_write(s, "outw", port, value);
}

void qtest_outl(QTestState *s, uint16_t port, uint32_t value)
{
    qt_cmd_write(s, "outl", port, value);
}

uint8_t qtest_inb(QTestState *s, uint16_t port)
{
    return qt_cmd_value(s, "inb", port);
}

uint16_t qtest_inw(QTestState *s, uint16_t port)
{
    return qt_cmd_value(s, "inw", port);
}

uint32_t qtest_inl(QTestState *s, uint16_t port)
{
    return qt_cmd_value(s, "inl", port);
}

void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *v = NULL;
    uint8_t *p = buf;

    if (!size) {
        return;
    }
    v = qt_cmd(s, "read 0x%" PRIx64 " %zu", addr, size);
    if (!g_str_has_prefix(v, "0x") || strlen(v + 2) != 2 * size) {
        qt_fail("qtest: read: %zu bytes wanted, got '%.80s'", size, v);
    }
    for (size_t i = 0; i < size; i++) {
        int hi = g_ascii_xdigit_value(v[2 + 2 * i]);
        int lo = g_ascii_xdigit_value(v[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            qt_fail("qtest: read: bad hex in reply");
        }
        p[i] = hi << 4 | lo;
    }
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = buf;
    g_autofree char *hex = g_malloc(2 * size + 1);

    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[2 * size] = 0;
    g_free(qt_cmd(s, "write 0x%" PRIx64 " %zu 0x%s", addr, size, hex));
}

void qtest_bufread(QTestState *s, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *v = NULL;
    g_autofree uint8_t *data = NULL;
    gsize len = 0;

    if (!size) {
        return;
    }
    v = qt_cmd(s, "b64read 0x%" PRIx64 " %zu", addr, size);
    data = g_base64_decode(v, &len);
    if (len != size) {
        qt_fail("qtest: b64read: %zu bytes wanted, got %zu", size,
                (size_t)len);
    }
    memcpy(buf, data, size);
}

void qtest_bufwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size)
{
    g_autofree char *b64 = g_base64_encode(buf, size);

    g_free(qt_cmd(s, "b64write 0x%" PRIx64 " %zu %s", addr, size, b64));
}

void qtest_memset(QTestState *s, uint64_t addr, uint8_t byte, size_t size)
{
    g_free(qt_cmd(s, "memset 0x%" PRIx64 " %zu 0x%02x", addr, size, byte));
}

void qtest_wait_guest_boot(QTestState *s)
{
    gint64 deadline = deadline_after(qtest_timeout_ms());

    while (qtest_readq(s, TG_STATUS_ADDR) != TG_STATUS_MAGIC) {
        if (g_get_monotonic_time() > deadline) {
            qt_fail("the test guest did not boot in time (no status page)");
        }
        g_usleep(5 * 1000);
    }
}

unsigned qtest_file_count(const char *path, const char *needle)
{
    g_autofree char *text = NULL;
    unsigned n = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return 0;
    }
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) {
        n++;
    }
    return n;
}

bool qtest_wait_file_count(const char *path, const char *needle,
                           unsigned count, int timeout_ms)
{
    gint64 deadline = deadline_after(timeout_ms);

    while (qtest_file_count(path, needle) < count) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_usleep(10 * 1000);
    }
    return true;
}
