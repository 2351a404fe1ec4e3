/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secret object (include/qom/secret.h): created as -object creates
 * it, read back through the lookups other objects use; every way of
 * giving it wrong fails with a message and registers nothing.
 */
#include <string.h>
#include <unistd.h>
#include "qom/object.h"
#include "qom/secret.h"

static void check_utf8(const char *id, const char *want)
{
    g_autofree char *got = qcrypto_secret_lookup_as_utf8(id, &error_abort);

    g_assert_cmpstr(got, ==, want);
}

static void check_refused(const char *optarg, const char *msg_part)
{
    Error *err = NULL;

    g_assert_null(object_create_cmdline(optarg, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), msg_part)) {
        g_error("%s: got '%s', wanted '%s'", optarg, error_get_pretty(err),
                msg_part);
    }
    error_free(err);
}

static void test_raw_and_base64(void)
{
    uint8_t *data;
    size_t len;
    g_autofree char *b64 = NULL;

    g_assert_nonnull(object_create_cmdline("secret,id=s1,data=letmein",
                                           &error_abort));
    check_utf8("s1", "letmein");
    /* "pass\0word" as base64: bytes, with the NUL kept. */
    g_assert_nonnull(object_create_cmdline(
        "{\"qom-type\":\"secret\",\"id\":\"s2\",\"format\":\"base64\","
        "\"data\":\"cGFzcwB3b3Jk\"}", &error_abort));
    g_assert_true(qcrypto_secret_lookup("s2", &data, &len, &error_abort));
    g_assert_cmpmem(data, len, "pass\0word", 9);
    g_free(data);
    b64 = qcrypto_secret_lookup_as_base64("s2", &error_abort);
    g_assert_cmpstr(b64, ==, "cGFzcwB3b3Jk");
    g_assert_true(object_delete("s1", &error_abort));
    g_assert_true(object_delete("s2", &error_abort));
}

/* libvirt's master key: a raw file. Its bytes are taken as they are. */
static void test_file(void)
{
    g_autofree char *path = NULL;
    g_autofree char *arg = NULL;
    int fd = g_file_open_tmp("tandem-secret-XXXXXX", &path, NULL);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, "key\n", 4), ==, 4);
    close(fd);
    arg = g_strdup_printf("secret,id=mk,format=raw,file=%s", path);
    g_assert_nonnull(object_create_cmdline(arg, &error_abort));
    check_utf8("mk", "key\n");
    g_assert_true(object_delete("mk", &error_abort));
    unlink(path);
    g_free(arg);
    arg = g_strdup_printf("secret,id=mk,file=%s", path);
    check_refused(arg, "Unable to read");
}

static void test_refused(void)
{
    check_refused("secret,id=a,data=x,file=/etc/hostname",
                  "'data' and 'file' are mutually exclusive");
    check_refused("secret,id=a", "Either 'file' or 'data' must be provided");
    check_refused("secret,id=a,data=x,format=hex",
                  "Parameter 'format' does not accept value 'hex'");
    check_refused("secret,id=a,data=abc,format=base64", "not valid base64");
    check_refused("secret,id=a,data=a=bc,format=base64", "not valid base64");
    check_refused("secret,id=a,data=ab!c,format=base64", "not valid base64");
    check_refused("secret,id=a,data=x,keyid=mk,iv=AAAA",
                  "encrypted secrets (keyid, iv) are not supported yet");
    g_assert_null(object_find("a"));
}

static void test_lookup_errors(void)
{
    Error *err = NULL;

    g_assert_null(qcrypto_secret_lookup_as_utf8("nosuch", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "No secret with id 'nosuch'");
    error_free(err);
    err = NULL;
    g_assert_nonnull(object_create_cmdline("iothread,id=io", &error_abort));
    g_assert_null(qcrypto_secret_lookup_as_utf8("io", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Object 'io' is not a secret");
    error_free(err);
    err = NULL;
    g_assert_true(object_delete("io", &error_abort));
    /* 0xff 0xfe is not UTF-8. */
    g_assert_nonnull(object_create_cmdline("secret,id=bin,format=base64,"
                                           "data=//4=", &error_abort));
    g_assert_null(qcrypto_secret_lookup_as_utf8("bin", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Data from secret bin is not valid UTF-8");
    error_free(err);
    g_assert_true(object_delete("bin", &error_abort));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/secret/raw-and-base64", test_raw_and_base64);
    g_test_add_func("/secret/file", test_file);
    g_test_add_func("/secret/refused", test_refused);
    g_test_add_func("/secret/lookup-errors", test_lookup_errors);
    return g_test_run();
}
