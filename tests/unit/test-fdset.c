/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd sets (util/fdset.h) in-process, no KVM: /dev/fdset/N opened by the
 * loader, a file chardev, a secret's file= and plain fdset_open() (access modes, errors);
 * -add-fd's checks as QEMU words them; QMP add-fd, remove-fd and
 * query-fdsets with fds passed over the socket as libvirt passes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "chardev/char.h"
#include "hw/core/loader.h"
#include "qom/object.h"
#include "qom/secret.h"
#include "system/vl.h"
#include "util/fdset.h"
#include "qmp-test-client.h"

/* A temporary file holding text, opened with flags; its path in *path. */
static int tmp_file(const char *text, int flags, char **path)
{
    int fd = g_file_open_tmp("tandem-fdset-XXXXXX", path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
    close(fd);
    fd = open(*path, flags);
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

static void test_open(void)
{
    g_autofree char *path = NULL;
    int ro = tmp_file("hello", O_RDONLY | O_CLOEXEC, &path);
    int dup;
    char buf[8] = { 0 };

    fdset_add_fd(7, ro, "rdonly");
    dup = fdset_open("/dev/fdset/7", O_RDONLY, 0);
    g_assert_cmpint(dup, >=, 0);
    g_assert_cmpint(dup, !=, ro);
    g_assert_true(fcntl(dup, F_GETFD) & FD_CLOEXEC);
    g_assert_cmpint(read(dup, buf, sizeof(buf)), ==, 5);
    g_assert_cmpstr(buf, ==, "hello");
    close(dup);
    /* A second open starts at the beginning again. */
    dup = fdset_open("/dev/fdset/7", O_RDONLY, 0);
    g_assert_cmpint(read(dup, buf, 1), ==, 1);
    g_assert_cmpint(buf[0], ==, 'h');
    close(dup);

    errno = 0;
    g_assert_cmpint(fdset_open("/dev/fdset/7", O_WRONLY, 0), ==, -1);
    g_assert_cmpint(errno, ==, EACCES);
    g_assert_cmpint(fdset_open("/dev/fdset/8", O_RDONLY, 0), ==, -1);
    g_assert_cmpint(errno, ==, ENOENT);
    g_assert_cmpint(fdset_open("/dev/fdset/x", O_RDONLY, 0), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    /* Other paths are plain opens. */
    dup = fdset_open(path, O_RDONLY, 0);
    g_assert_cmpint(dup, >=, 0);
    close(dup);

    /* A handed-out duplicate outlives the set. */
    dup = fdset_open("/dev/fdset/7", O_RDONLY, 0);
    g_assert_true(fdset_remove(7, -1, &error_abort));
    g_assert_false(fdset_exists(7));
    g_assert_cmpint(fcntl(ro, F_GETFD), ==, -1);        /* closed */
    g_assert_cmpint(pread(dup, buf, 5, 0), ==, 5);
    close(dup);
    unlink(path);
}

/* The loader (kernel, initrd) and a file chardev take /dev/fdset/N. */
static void test_users(void)
{
    g_autofree char *kpath = NULL;
    g_autofree char *cpath = NULL;
    g_autofree char *out = NULL;
    int kfd = tmp_file("KERNEL", O_RDONLY | O_CLOEXEC, &kpath);
    int cfd = tmp_file("", O_WRONLY | O_CLOEXEC, &cpath);
    LoaderImageSpec spec = { .what = "kernel", .max_size = 1 << 20 };
    uint8_t *data;
    size_t size;
    Chardev *chr;

    fdset_add_fd(3, kfd, NULL);
    g_assert_true(loader_read_image("/dev/fdset/3", &spec, &data, &size,
                                    &error_abort));
    g_assert_cmpmem(data, size, "KERNEL", 6);
    g_free(data);

    fdset_add_fd(4, cfd, NULL);
    chr = chardev_new_from_opts("file,id=fdsetfile,path=/dev/fdset/4",
                                &error_abort);
    g_assert_cmpuint(chardev_write_all(chr, (const uint8_t *)"out", 3), ==,
                     3);
    chardev_close(chr);
    g_assert_true(g_file_get_contents(cpath, &out, NULL, NULL));
    g_assert_cmpstr(out, ==, "out");
    /* A secret's file= (libvirt's master key) too. */
    {
        g_autofree char *spath = NULL;
        g_autofree char *got = NULL;
        int sfd = tmp_file("s3cret", O_RDONLY | O_CLOEXEC, &spath);

        fdset_add_fd(5, sfd, NULL);
        g_assert_nonnull(object_create_cmdline("secret,id=fs,file=/dev/fdset/5",
                                               &error_abort));
        got = qcrypto_secret_lookup_as_utf8("fs", &error_abort);
        g_assert_cmpstr(got, ==, "s3cret");
        g_assert_true(object_delete("fs", &error_abort));
        unlink(spath);
    }
    fdset_clear();
    unlink(kpath);
    unlink(cpath);
}

static char *parse_error(const char *arg)
{
    char *argv[] = { "tandem", "-add-fd", (char *)arg, NULL };
    SystemConfig cfg;
    Error *err = NULL;
    char *msg = NULL;

    if (!vl_parse_args(3, argv, &cfg, &err)) {
        msg = g_strdup(error_get_pretty(err));
        error_free(err);
    }
    vl_config_free(&cfg);
    return msg;
}

static void check_add_fd_refused(const char *arg, const char *want)
{
    g_autofree char *msg = parse_error(arg);

    g_assert_nonnull(msg);
    if (!strstr(msg, want)) {
        g_error("-add-fd %s: got '%s', wanted '%s'", arg, msg, want);
    }
}

/* The descriptor is inherited (no FD_CLOEXEC) as a manager passes it. */
static void test_add_fd_option(void)
{
    g_autofree char *path = NULL;
    g_autofree char *arg = NULL;
    g_autofree char *cloexec_arg = NULL;
    int fd = tmp_file("x", O_RDONLY, &path);
    int cloexec = open(path, O_RDONLY | O_CLOEXEC);
    int dup;

    check_add_fd_refused("fd=1,set=1", "fd cannot be a standard I/O stream");
    check_add_fd_refused("set=1", "fd option is required and must be "
                         "non-negative");
    arg = g_strdup_printf("fd=%d", fd);
    check_add_fd_refused(arg, "set option is required and must be "
                         "non-negative");
    cloexec_arg = g_strdup_printf("fd=%d,set=1", cloexec);
    check_add_fd_refused(cloexec_arg, "fd is not valid or already in use");
    check_add_fd_refused("fd=1000,set=1", "fd is not valid or already in "
                         "use");
    check_add_fd_refused("fd=5,set=1,bogus=1", "Invalid parameter 'bogus'");
    g_free(arg);
    arg = g_strdup_printf("fd=%d,set=9,opaque=rdonly:%s", fd, path);
    g_assert_null(parse_error(arg));
    /* Taken: the inherited number is closed, the set holds a copy. */
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    dup = fdset_open("/dev/fdset/9", O_RDONLY, 0);
    g_assert_cmpint(dup, >=, 0);
    close(dup);
    close(cloexec);
    fdset_clear();
    unlink(path);
}

/* A pipe whose read end goes to the monitor with request. */
static int send_read_end(Client *c, const char *request)
{
    int p[2];

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    send_str_with_fd(c, request, p[0]);
    close(p[0]);
    return p[1];
}

static void test_qmp(void)
{
    Client *c = client_new();
    json_object *resp, *ret, *set, *fds;
    int w1, w2, fd1;
    char b;

    negotiate(c, false);
    expect_error(c, "{\"execute\":\"add-fd\"}\n", "GenericError",
                 "No file descriptor supplied via SCM_RIGHTS", NULL);
    expect_error(c, "{\"execute\":\"add-fd\",\"arguments\":"
                 "{\"fdset-id\":-1}}\n", "GenericError",
                 "Parameter 'fdset-id' expects a non-negative value", NULL);

    w1 = send_read_end(c, "{\"execute\":\"add-fd\",\"arguments\":"
                          "{\"fdset-id\":2,\"opaque\":\"rdonly:pipe\"}}\n");
    resp = recv_json(c);
    ret = check_return(resp, NULL);
    check_keys(ret, (const char *const[]){ "fdset-id", "fd", NULL });
    g_assert_cmpint(json_object_get_int(member(ret, "fdset-id")), ==, 2);
    fd1 = json_object_get_int(member(ret, "fd"));
    json_object_put(resp);
    /* Without an id: the lowest free one. */
    w2 = send_read_end(c, "{\"execute\":\"add-fd\"}\n");
    resp = recv_json(c);
    ret = check_return(resp, NULL);
    g_assert_cmpint(json_object_get_int(member(ret, "fdset-id")), ==, 0);
    json_object_put(resp);

    resp = expect_return(c, "{\"execute\":\"query-fdsets\"}\n", NULL);
    ret = member(resp, "return");
    g_assert_cmpuint(json_object_array_length(ret), ==, 2);
    set = json_object_array_get_idx(ret, 1);
    check_keys(set, (const char *const[]){ "fdset-id", "fds", NULL });
    g_assert_cmpint(json_object_get_int(member(set, "fdset-id")), ==, 2);
    fds = member(set, "fds");
    g_assert_cmpuint(json_object_array_length(fds), ==, 1);
    g_assert_cmpint(json_object_get_int(member(json_object_array_get_idx(
                        fds, 0), "fd")), ==, fd1);
    g_assert_cmpstr(json_object_get_string(member(json_object_array_get_idx(
                        fds, 0), "opaque")), ==, "rdonly:pipe");
    json_object_put(resp);

    /* The set's fd is what /dev/fdset/2 opens: bytes written to the
     * pipe come out of it. */
    {
        int r = fdset_open("/dev/fdset/2", O_RDONLY, 0);

        g_assert_cmpint(r, >=, 0);
        g_assert_cmpint(write(w1, "z", 1), ==, 1);
        g_assert_cmpint(read(r, &b, 1), ==, 1);
        g_assert_cmpint(b, ==, 'z');
        close(r);
    }

    expect_error(c, "{\"execute\":\"remove-fd\",\"arguments\":"
                 "{\"fdset-id\":2,\"fd\":9999}}\n", "GenericError",
                 "File descriptor named 'fdset-id:2, fd:9999' not found",
                 NULL);
    expect_error(c, "{\"execute\":\"remove-fd\",\"arguments\":"
                 "{\"fdset-id\":5}}\n", "GenericError",
                 "File descriptor named 'fdset-id:5' not found", NULL);
    {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\":\"remove-fd\",\"arguments\":"
            "{\"fdset-id\":2,\"fd\":%d}}\n", fd1);

        json_object_put(expect_return(c, req, NULL));
    }
    json_object_put(expect_return(c, "{\"execute\":\"remove-fd\","
                                  "\"arguments\":{\"fdset-id\":0}}\n", NULL));
    resp = expect_return(c, "{\"execute\":\"query-fdsets\"}\n", NULL);
    g_assert_cmpuint(json_object_array_length(member(resp, "return")), ==, 0);
    json_object_put(resp);
    /* Both read ends are closed: writing fails. */
    g_assert_cmpint(write(w1, "z", 1), ==, -1);
    g_assert_cmpint(errno, ==, EPIPE);
    g_assert_cmpint(write(w2, "z", 1), ==, -1);
    close(w1);
    close(w2);
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/fdset/open", test_open);
    g_test_add_func("/fdset/users", test_users);
    g_test_add_func("/fdset/add-fd-option", test_add_fd_option);
    g_test_add_func("/fdset/qmp", test_qmp);
    return qmp_test_run();
}
