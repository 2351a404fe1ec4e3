/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the QMP input path: the bytes of one input go to a
 * QMP monitor over a UNIX socket, exactly as a client's would, and the
 * main loop runs until the monitor has answered everything.
 *
 * One monitor on a listening socket chardev (fd=N) serves every input;
 * each input connects afresh, so it starts in a new session (greeting,
 * negotiation) and nothing accumulates. Byte 0 picks the setup: bit 0
 * sends qmp_capabilities first, bit 1 enables oob with it, bits 5-7 write
 * the rest in chunks of that many bytes (0: all at once) so that the
 * incremental parser sees different splits.
 *
 * No machine exists here, so the commands that act on one (or on the
 * process, or the file system) are replaced, in the fuzz build only, by
 * stubs that fail (-Wl,--wrap, see meson.build).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "chardev/char.h"
#include "monitor/monitor.h"
#include "block/snapshot.h"
#include "qapi/qapi-commands.h"
#include "util/main-loop.h"

#define DEADLINE_US   (3 * G_USEC_PER_SEC)  /* per input, for the replies */

static int client_fd = -1;
static struct sockaddr_un server_addr;
static socklen_t server_addr_len;
static uint8_t sink[1 << 16];

/* ---- stubs for commands that need a machine (wrapped at link time) ---- */

#define FUZZ_DISABLED(errp) \
    error_setg(errp, "%s is disabled in the fuzzer", __func__)

void __wrap_qmp_cont(Error **errp);
void __wrap_qmp_stop(Error **errp);
void __wrap_qmp_system_reset(Error **errp);
void __wrap_qmp_quit(Error **errp);
void __wrap_qmp_memsave(int64_t val, int64_t size, const char *filename,
                        bool has_cpu_index, int64_t cpu_index, Error **errp);
void __wrap_qmp_pmemsave(int64_t val, int64_t size, const char *filename,
                         Error **errp);
ChardevReturn *__wrap_qmp_chardev_add(const char *id, ChardevBackend *backend,
                                      Error **errp);
void __wrap_qmp_marshal_object_add(json_object *args, json_object **ret,
                                   Error **errp);
/* Creates (and may replace) the image file it is given. */
ExternalSnapshot *__wrap_external_snapshot_sync_prepare(
    const BlockdevSnapshotSync *arg, Error **errp);

void __wrap_qmp_cont(Error **errp) { FUZZ_DISABLED(errp); }
void __wrap_qmp_stop(Error **errp) { FUZZ_DISABLED(errp); }
void __wrap_qmp_system_reset(Error **errp) { FUZZ_DISABLED(errp); }
void __wrap_qmp_quit(Error **errp) { FUZZ_DISABLED(errp); }

void __wrap_qmp_memsave(int64_t val, int64_t size, const char *filename,
                        bool has_cpu_index, int64_t cpu_index, Error **errp)
{
    FUZZ_DISABLED(errp);
}

void __wrap_qmp_pmemsave(int64_t val, int64_t size, const char *filename,
                         Error **errp)
{
    FUZZ_DISABLED(errp);
}

ChardevReturn *__wrap_qmp_chardev_add(const char *id, ChardevBackend *backend,
                                      Error **errp)
{
    FUZZ_DISABLED(errp);
    return NULL;
}

void __wrap_qmp_marshal_object_add(json_object *args, json_object **ret,
                                   Error **errp)
{
    FUZZ_DISABLED(errp);
}

ExternalSnapshot *__wrap_external_snapshot_sync_prepare(
    const BlockdevSnapshotSync *arg, Error **errp)
{
    FUZZ_DISABLED(errp);
    return NULL;
}

/* ---- the client side ---- */

/* One main-loop iteration, a short wait, and replies read and dropped. */
static void spin_once(int wait_ms)
{
    struct pollfd pfd = { .fd = client_fd, .events = POLLIN };

    main_loop_wait(false);
    poll(&pfd, 1, wait_ms);
    while (recv(client_fd, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
    }
}

/*
 * Writes everything, running the main loop while the socket is full (the
 * monitor stops reading while its queue is full).
 */
static void send_all(const uint8_t *buf, size_t len)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    while (len && g_get_monotonic_time() < deadline) {
        ssize_t n = send(client_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return;
        } else {
            spin_once(1);
        }
    }
}

/*
 * Runs the main loop, dropping replies, until `needle` shows up in the
 * output or the deadline passes.
 */
static bool wait_for(const char *needle)
{
    gint64 deadline = g_get_monotonic_time() + DEADLINE_US;
    size_t keep = strlen(needle);
    GString *tail = g_string_new(NULL);
    bool seen = false;

    while (!seen && g_get_monotonic_time() < deadline) {
        struct pollfd pfd = { .fd = client_fd, .events = POLLIN };
        ssize_t n;

        main_loop_wait(false);
        poll(&pfd, 1, 1);
        while ((n = recv(client_fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0) {
            g_string_append_len(tail, (const char *)sink, n);
            if (strstr(tail->str, needle)) {
                seen = true;
            }
            /* Keep only enough to find the needle across reads. */
            if (tail->len > keep) {
                g_string_erase(tail, 0, tail->len - keep);
            }
        }
    }
    g_string_free(tail, TRUE);
    return seen;
}

/* Hangs up (if connected) and connects again: a new session. */
static void reconnect(void)
{
    if (client_fd >= 0) {
        close(client_fd);
    }
    client_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client_fd < 0 ||
        connect(client_fd, (struct sockaddr *)&server_addr,
                server_addr_len) < 0) {
        perror("fuzz-qmp: connect");
        abort();
    }
    fcntl(client_fd, F_SETFL, fcntl(client_fd, F_GETFL) | O_NONBLOCK);
    /* The server takes us once it has seen the previous client leave. */
    if (!wait_for("{\"QMP\":")) {
        fprintf(stderr, "fuzz-qmp: no greeting\n");
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int lfd;
    char opts[64];
    Chardev *chr;

    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    bql_lock();
    monitor_init_globals();
    monitor_register_events();

    /* An abstract UNIX address: nothing to clean up in the file system. */
    memset(&server_addr, 0, sizeof(server_addr));
    server_addr.sun_family = AF_UNIX;
    snprintf(server_addr.sun_path + 1, sizeof(server_addr.sun_path) - 1,
             "tandem-fuzz-qmp-%d", (int)getpid());
    server_addr_len = offsetof(struct sockaddr_un, sun_path) + 1 +
                      strlen(server_addr.sun_path + 1);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 ||
        bind(lfd, (struct sockaddr *)&server_addr, server_addr_len) < 0 ||
        listen(lfd, 4) < 0) {
        perror("fuzz-qmp: listen");
        abort();
    }
    snprintf(opts, sizeof(opts), "socket,id=fuzz,fd=%d", lfd);
    chr = chardev_new_from_opts(opts, &error_abort);
    if (!monitor_new_qmp(chr, false, &error_abort)) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /*
     * The marker's reply comes after the replies to everything before it
     * (in-band replies are ordered); ESC and the newline end whatever
     * partial message the input left.
     */
    static const char marker[] = "\x1b\n{\"execute\":\"query-name\","
                                 "\"id\":\"fuzz-marker\"}\n";
    static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
    static const char caps_oob[] = "{\"execute\":\"qmp_capabilities\","
                                   "\"arguments\":{\"enable\":[\"oob\"]}}\n";
    uint8_t mode;
    size_t chunk;

    if (!size) {
        return 0;
    }
    mode = data[0];
    data++;
    size--;
    reconnect();
    if (mode & 1) {
        if (mode & 2) {
            send_all((const uint8_t *)caps_oob, sizeof(caps_oob) - 1);
        } else {
            send_all((const uint8_t *)caps, sizeof(caps) - 1);
        }
    }
    chunk = (mode >> 5) ? (size_t)(mode >> 5) : size;
    for (size_t off = 0; off < size; off += chunk) {
        send_all(data + off, MIN(chunk, size - off));
        if (chunk < size) {
            spin_once(0);
        }
    }
    send_all((const uint8_t *)marker, sizeof(marker) - 1);
    if (!wait_for("\"fuzz-marker\"")) {
        /* Every input must leave the monitor answering. */
        fprintf(stderr, "fuzz-qmp: the monitor stopped answering\n");
        abort();
    }
    return 0;
}
