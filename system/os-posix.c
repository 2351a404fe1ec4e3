/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Daemonizing, the pid file, the process name, termination signals
 * (see the header). */
#include <errno.h>
#include <glib.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "system/os-posix.h"

static int daemon_pipe = -1;
static char *pidfile_path;
static int pidfile_fd = -1;

void os_daemonize_start(void)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        perror("daemonize: pipe");
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        perror("daemonize: fork");
        exit(1);
    }
    if (pid > 0) {
        char status = 1;

        close(fds[1]);
        /* EOF without a byte means the child died during set-up. */
        while (read(fds[0], &status, 1) < 0 && errno == EINTR) {
        }
        exit(status == 0 ? 0 : 1);
    }
    close(fds[0]);
    daemon_pipe = fds[1];
    setsid();
}

void os_daemonize_done(bool keep_stderr)
{
    char ok = 0;
    int null;

    if (daemon_pipe < 0) {
        return;
    }
    null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (!keep_stderr) {
            dup2(null, STDERR_FILENO);
        }
        close(null);
    }
    while (write(daemon_pipe, &ok, 1) < 0 && errno == EINTR) {
    }
    close(daemon_pipe);
    daemon_pipe = -1;
}

bool os_pidfile_create(const char *path, Error **errp)
{
    char buf[32];
    int len;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot open pid file %s", path);
        return false;
    }
    if (lockf(fd, F_TLOCK, 0) < 0) {
        error_setg_errno(errp, errno, "cannot lock pid file %s (is another "
                         "instance running?)", path);
        close(fd);
        return false;
    }
    len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, len) != len) {
        error_setg_errno(errp, errno, "cannot write pid file %s", path);
        close(fd);
        return false;
    }
    pidfile_fd = fd;    /* kept open: the lock lives as long as we do */
    pidfile_path = g_strdup(path);
    return true;
}

void os_pidfile_remove(void)
{
    if (pidfile_path) {
        unlink(pidfile_path);
        close(pidfile_fd);
        g_free(pidfile_path);
        pidfile_path = NULL;
    }
}

void os_set_process_name(const char *name)
{
    char comm[16];

    g_strlcpy(comm, name, sizeof(comm));
    prctl(PR_SET_NAME, comm);
}

bool os_mlock(Error **errp)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
        error_setg_errno(errp, errno, "-overcommit mem-lock=on: locking "
                         "memory failed (mlockall)");
        return false;
    }
    return true;
}

/*
 * Termination signals. The handler writes the signal number to a pipe
 * and notes the sender; the main loop reads the pipe. (GLib's
 * g_unix_signal_add does not tell who sent the signal, which QEMU's
 * "terminating on signal 15 from pid N (NAME)" line needs.)
 */
static int term_pipe[2] = { -1, -1 };
static volatile sig_atomic_t term_pid;
static void (*term_fn)(int sig, pid_t pid);

static void os_term_handler(int sig, siginfo_t *info, void *ctx)
{
    int saved_errno = errno;
    unsigned char c = sig;

    /* si_pid means something only for signals a process sent. */
    term_pid = info->si_code == SI_USER || info->si_code == SI_QUEUE ?
               info->si_pid : 0;
    if (write(term_pipe[1], &c, 1) < 0) {
        /* full pipe: enough signals are already pending */
    }
    errno = saved_errno;
}

static gboolean os_term_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    unsigned char sigs[16];
    ssize_t n = read(fd, sigs, sizeof(sigs));

    for (ssize_t i = 0; i < n; i++) {
        term_fn(sigs[i], term_pid);
    }
    return G_SOURCE_CONTINUE;
}

void os_setup_termination_signals(void (*fn)(int sig, pid_t pid))
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = {
        .sa_sigaction = os_term_handler,
        .sa_flags = SA_SIGINFO | SA_RESTART,
    };

    if (pipe2(term_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        perror("signal pipe");
        exit(1);
    }
    term_fn = fn;
    g_unix_fd_add(term_pipe[0], G_IO_IN, os_term_ready, NULL);
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
}

char *os_get_pid_name(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    char *buf = NULL;
    gsize len;

    /* argv[0] is the text up to the first NUL. */
    if (!g_file_get_contents(path, &buf, &len, NULL) || !len) {
        g_free(buf);
        return NULL;
    }
    return buf;
}
