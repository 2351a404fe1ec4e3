/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * colo-compare from the command line of the real binary (its pc under
 * -accel qtest: no KVM, no guest): -object colo-compare given before the -chardevs and
 * the iothread it names (it is created after them), its figures in
 * query-colo-stats, a frame passing through outside a COLO run, the
 * comparison x-compare-outside-colo=on turns on without one (no KVM is
 * needed to run it), and the deletion order of QEMU's failover steps
 * (compare, then iothread). The
 * object's behaviour in detail is tested in-process by
 * tests/unit/test-colo-compare-object.c.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "os-util.h"
#include "libqtest.h"

static void read_all(int fd, uint8_t *buf, size_t len)
{
    while (len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        g_assert_cmpint(poll(&pfd, 1, qtest_timeout_ms()), ==, 1);
        n = read(fd, buf, len);
        g_assert_cmpint(n, >, 0);
        buf += n;
        len -= n;
    }
}

static void test_cmdline(void)
{
    g_autofree char *pri = qtest_scratch_path("pri");
    g_autofree char *sec = qtest_scratch_path("sec");
    g_autofree char *out = qtest_scratch_path("out");
    /* a framed 60-byte frame: outside a COLO run it only passes */
    uint8_t frame[4 + 60] = { 0, 0, 0, 60 }, got[sizeof(frame)];
    json_object *ret, *list;
    QTestState *s;
    int fd_pri, fd_out;

    for (size_t i = 4; i < sizeof(frame); i++) {
        frame[i] = i * 13;
    }
    s = qtest_initf_accel_qtest("-object colo-compare,id=comp0,primary_in=pri,"
                    "secondary_in=sec,outdev=out,iothread=io0 "
                    "-object iothread,id=io0 "
                    "-chardev socket,id=pri,path=%s,server=on,wait=off "
                    "-chardev socket,id=sec,path=%s,server=on,wait=off "
                    "-chardev socket,id=out,path=%s,server=on,wait=off",
                    pri, sec, out);
    ret = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
    list = qt_json_get(ret, "compare");
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    g_assert_cmpstr(qt_json_str(json_object_array_get_idx(list, 0), "id"),
                    ==, "comp0");
    json_object_put(ret);

    fd_out = test_unix_connect(out);
    fd_pri = test_unix_connect(pri);
    g_assert_cmpint(write(fd_pri, frame, sizeof(frame)), ==, sizeof(frame));
    read_all(fd_out, got, sizeof(got));
    g_assert_cmpmem(got, sizeof(got), frame, sizeof(frame));

    qtest_qmp_assert_error_is(s, "GenericError", "iothread 'io0' is in use",
                              "{'execute': 'object-del', 'arguments': "
                              "{'id': 'io0'}}");
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': "
                 "{'id': 'comp0'}}");
    qtest_qmp_ok(s, "{'execute': 'object-del', 'arguments': {'id': 'io0'}}");
    ret = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
    g_assert_false(qt_json_has(ret, "compare"));
    json_object_put(ret);
    close(fd_pri);
    close(fd_out);
    qtest_quit(s);
}

/*
 * A framed IPv4 UDP frame 10.0.0.1:sport -> 10.0.0.2:7 carrying 8 bytes
 * of tag (checksums left zero: colo-compare does not check them).
 */
static size_t udp_frame(uint8_t *buf, uint16_t sport, uint8_t tag)
{
    static const uint8_t l2_l3[] = {
        0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 17, 0, 0,
        10, 0, 0, 1, 10, 0, 0, 2,
    };
    size_t len = sizeof(l2_l3) + 8 + 8;

    memset(buf, 0, 4 + len);
    buf[3] = len;
    memcpy(buf + 4, l2_l3, sizeof(l2_l3));
    buf[4 + sizeof(l2_l3)] = sport >> 8;
    buf[4 + sizeof(l2_l3) + 1] = sport & 0xff;
    buf[4 + sizeof(l2_l3) + 3] = 7;
    buf[4 + sizeof(l2_l3) + 5] = 16;
    memset(buf + 4 + sizeof(l2_l3) + 8, tag, 8);
    return 4 + len;
}

/*
 * x-compare-outside-colo=on: no COLO run, yet a primary frame waits for
 * its twin. The frame of connection 1 is written first and has none
 * until the end; connection 2's pair, written after it, must come out
 * first. Passing (the default outside a run) would release 1 first.
 */
static void test_compare_outside_colo(void)
{
    g_autofree char *pri = qtest_scratch_path("pri");
    g_autofree char *sec = qtest_scratch_path("sec");
    g_autofree char *out = qtest_scratch_path("out");
    uint8_t f1[64], f2[64], got[128];
    size_t n1 = udp_frame(f1, 1001, 0x11), n2 = udp_frame(f2, 1002, 0x22);
    json_object *ret, *info;
    QTestState *s;
    int fd_pri, fd_sec, fd_out;

    s = qtest_initf_accel_qtest("-object iothread,id=io0 "
                    "-chardev socket,id=pri,path=%s,server=on,wait=off "
                    "-chardev socket,id=sec,path=%s,server=on,wait=off "
                    "-chardev socket,id=out,path=%s,server=on,wait=off "
                    "-object colo-compare,id=comp0,primary_in=pri,"
                    "secondary_in=sec,outdev=out,iothread=io0,"
                    "x-compare-outside-colo=on", pri, sec, out);
    fd_out = test_unix_connect(out);
    fd_pri = test_unix_connect(pri);
    fd_sec = test_unix_connect(sec);
    g_assert_cmpint(write(fd_pri, f1, n1), ==, n1);
    g_assert_cmpint(write(fd_pri, f2, n2), ==, n2);
    g_assert_cmpint(write(fd_sec, f2, n2), ==, n2);
    read_all(fd_out, got, n2);
    g_assert_cmpmem(got, n2, f2, n2);
    g_assert_cmpint(write(fd_sec, f1, n1), ==, n1);
    read_all(fd_out, got, n1);
    g_assert_cmpmem(got, n1, f1, n1);

    ret = qtest_qmp_assert_success(s, "{'execute': 'query-colo-stats'}");
    info = json_object_array_get_idx(qt_json_get(ret, "compare"), 0);
    g_assert_true(json_object_get_boolean(qt_json_get(info, "comparing")));
    g_assert_cmpint(json_object_get_int64(
                    qt_json_get(qt_json_get(info, "matched"), "udp")), ==, 2);
    json_object_put(ret);
    close(fd_pri);
    close(fd_sec);
    close(fd_out);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/colo-compare/qtest/cmdline", test_cmdline);
    g_test_add_func("/colo-compare/qtest/compare-outside-colo",
                    test_compare_outside_colo);
    return g_test_run();
}
