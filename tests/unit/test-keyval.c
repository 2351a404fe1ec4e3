/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/keyval.c: the option syntax (implied keys, ",,"
 * escapes, bare flags, duplicates, odd commas) and the number, size and
 * boolean parsers. Bad input must give a readable Error, never a crash.
 */
#include <glib.h>
#include "util/keyval.h"

/* Parses str and expects failure with exactly msg. */
static void keyval_expect_error(const char *str, const char *implied,
                                const char *msg)
{
    Error *err = NULL;
    KeyvalList *kv = keyval_parse(str, implied, &err);

    g_assert_null(kv);
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_keyval_implied_key(void)
{
    g_autoptr(KeyvalList) kv = keyval_parse("pc,accel=kvm", "type",
                                            &error_abort);

    g_assert_cmpuint(keyval_count(kv), ==, 2);
    g_assert_cmpstr(keyval_key_at(kv, 0), ==, "type");
    g_assert_cmpstr(keyval_value_at(kv, 0), ==, "pc");
    g_assert_cmpstr(keyval_key_at(kv, 1), ==, "accel");
    g_assert_cmpstr(keyval_get(kv, "accel"), ==, "kvm");
    g_assert_null(keyval_get(kv, "nope"));

    /* The implied key may also be spelled out. */
    g_autoptr(KeyvalList) kv2 = keyval_parse("type=q35", "type", &error_abort);
    g_assert_cmpuint(keyval_count(kv2), ==, 1);
    g_assert_cmpstr(keyval_get(kv2, "type"), ==, "q35");

    /* Only the first element may use it: "b" later is a flag. */
    g_autoptr(KeyvalList) kv3 = keyval_parse("a,b", "type", &error_abort);
    g_assert_cmpstr(keyval_get(kv3, "type"), ==, "a");
    g_assert_cmpstr(keyval_get(kv3, "b"), ==, "on");

    /* Without an implied key a bare first element is an error. */
    keyval_expect_error("pc", NULL, "Expected '=' after parameter 'pc'");
    /* ...and spelling out the implied key twice is a duplicate. */
    keyval_expect_error("pc,type=q35", "type",
                        "Parameter 'type' given more than once");
}

static void test_keyval_escapes(void)
{
    g_autoptr(KeyvalList) kv = keyval_parse("path=a,,b,,,x=1", NULL,
                                            &error_abort);

    g_assert_cmpuint(keyval_count(kv), ==, 2);
    g_assert_cmpstr(keyval_get(kv, "path"), ==, "a,b,");
    g_assert_cmpstr(keyval_get(kv, "x"), ==, "1");

    g_autoptr(KeyvalList) kv2 = keyval_parse("a,,b", "file", &error_abort);
    g_assert_cmpuint(keyval_count(kv2), ==, 1);
    g_assert_cmpstr(keyval_get(kv2, "file"), ==, "a,b");

    /* "=" inside a value stays; only the first '=' splits. */
    g_autoptr(KeyvalList) kv3 = keyval_parse("k=a=b,,c", NULL, &error_abort);
    g_assert_cmpstr(keyval_get(kv3, "k"), ==, "a=b,c");

    /* A value ending in an escaped comma. */
    g_autoptr(KeyvalList) kv4 = keyval_parse("k=x,,", NULL, &error_abort);
    g_assert_cmpstr(keyval_get(kv4, "k"), ==, "x,");

    /* Empty value is fine. */
    g_autoptr(KeyvalList) kv5 = keyval_parse("k=", NULL, &error_abort);
    g_assert_cmpstr(keyval_get(kv5, "k"), ==, "");

    /* A key cannot contain a comma. */
    keyval_expect_error("a=1,b,,c=2", NULL, "Invalid parameter name 'b,c=2'");
}

static void test_keyval_flags(void)
{
    g_autoptr(KeyvalList) kv = keyval_parse("isa-debug-exit,iobase=0xf4,"
                                            "verbose", "driver",
                                            &error_abort);

    g_assert_cmpuint(keyval_count(kv), ==, 3);
    g_assert_cmpstr(keyval_get(kv, "driver"), ==, "isa-debug-exit");
    g_assert_cmpstr(keyval_key_at(kv, 2), ==, "verbose");
    g_assert_cmpstr(keyval_value_at(kv, 2), ==, "on");

    bool b = false;
    g_assert_true(keyval_get_bool(kv, "verbose", false, &b, &error_abort));
    g_assert_true(b);

    /* Flags work without an implied key too, after the first element. */
    g_autoptr(KeyvalList) kv2 = keyval_parse("a=1,quiet", NULL, &error_abort);
    g_assert_cmpstr(keyval_get(kv2, "quiet"), ==, "on");

    keyval_expect_error("a=1,quiet,quiet", NULL,
                        "Parameter 'quiet' given more than once");
}

static void test_keyval_duplicates(void)
{
    keyval_expect_error("a=1,b=2,a=3", NULL,
                        "Parameter 'a' given more than once");
    keyval_expect_error("a=1,a=1", NULL,
                        "Parameter 'a' given more than once");
}

static void test_keyval_commas_and_empty(void)
{
    g_autoptr(KeyvalList) kv = keyval_parse("", "type", &error_abort);
    g_assert_cmpuint(keyval_count(kv), ==, 0);

    g_autoptr(KeyvalList) kv2 = keyval_parse("a=1,", NULL, &error_abort);
    g_assert_cmpuint(keyval_count(kv2), ==, 1);
    g_assert_cmpstr(keyval_get(kv2, "a"), ==, "1");

    g_autoptr(KeyvalList) kv3 = keyval_parse("pc,", "type", &error_abort);
    g_assert_cmpuint(keyval_count(kv3), ==, 1);
    g_assert_cmpstr(keyval_get(kv3, "type"), ==, "pc");

    keyval_expect_error(",a=1", "type", "Expected a parameter before ','");
    keyval_expect_error(",", NULL, "Expected a parameter before ','");
    keyval_expect_error("=1", NULL, "Parameter name is empty (before '=1')");
    keyval_expect_error("a=1,=2", NULL,
                        "Parameter name is empty (before '=2')");
    keyval_expect_error("=", "type", "Parameter name is empty (before '=')");

    /* NULL errp: the failure is still reported through the result. */
    g_assert_null(keyval_parse("a=1,a=2", NULL, NULL));
}

static void test_keyval_order(void)
{
    g_autoptr(KeyvalList) kv = keyval_parse("z=1,a=2,m=3", NULL,
                                            &error_abort);

    g_assert_cmpuint(keyval_count(kv), ==, 3);
    g_assert_cmpstr(keyval_key_at(kv, 0), ==, "z");
    g_assert_cmpstr(keyval_key_at(kv, 1), ==, "a");
    g_assert_cmpstr(keyval_key_at(kv, 2), ==, "m");
    g_assert_cmpstr(keyval_value_at(kv, 2), ==, "3");
}

static void test_keyval_getters(void)
{
    g_autoptr(KeyvalList) kv = keyval_parse("n=42,h=0x10,o=010,b=no,"
                                            "bad=abc,neg=-1,s=1.5G,"
                                            "big=18446744073709551616,"
                                            "yes=maybe", NULL, &error_abort);
    Error *err = NULL;
    uint64_t u;
    bool b;

    g_assert_true(keyval_get_u64(kv, "n", 7, &u, &error_abort));
    g_assert_cmpuint(u, ==, 42);
    g_assert_true(keyval_get_u64(kv, "h", 7, &u, &error_abort));
    g_assert_cmpuint(u, ==, 16);
    g_assert_true(keyval_get_u64(kv, "o", 7, &u, &error_abort));
    g_assert_cmpuint(u, ==, 8);
    g_assert_true(keyval_get_u64(kv, "absent", 7, &u, &error_abort));
    g_assert_cmpuint(u, ==, 7);

    g_assert_false(keyval_get_u64(kv, "bad", 7, &u, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'bad' expects an integer");
    error_free(err);
    err = NULL;
    g_assert_false(keyval_get_u64(kv, "neg", 7, &u, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'neg' expects an integer");
    error_free(err);
    err = NULL;
    g_assert_false(keyval_get_u64(kv, "big", 7, &u, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;

    g_assert_true(keyval_get_bool(kv, "b", true, &b, &error_abort));
    g_assert_false(b);
    g_assert_true(keyval_get_bool(kv, "absent", true, &b, &error_abort));
    g_assert_true(b);
    g_assert_false(keyval_get_bool(kv, "yes", false, &b, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'yes' expects 'on' or 'off'");
    error_free(err);
    err = NULL;

    g_assert_true(keyval_get_size(kv, "s", 0, &u, &error_abort));
    g_assert_cmpuint(u, ==, 3ULL << 29);
    g_assert_true(keyval_get_size(kv, "n", 0, &u, &error_abort));
    g_assert_cmpuint(u, ==, 42);   /* bare sizes are bytes */
    g_assert_true(keyval_get_size(kv, "absent", 99, &u, &error_abort));
    g_assert_cmpuint(u, ==, 99);
    g_assert_false(keyval_get_size(kv, "bad", 0, &u, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "Parameter 'bad' expects a size"));
    error_free(err);
}

static void test_keyval_check_known(void)
{
    static const char *const known[] = { "type", "accel", NULL };
    g_autoptr(KeyvalList) kv = keyval_parse("pc,accel=kvm", "type",
                                            &error_abort);
    g_autoptr(KeyvalList) bad = keyval_parse("pc,acel=kvm,zzz=1", "type",
                                             &error_abort);
    Error *err = NULL;

    g_assert_true(keyval_check_known(kv, known, "-machine", &error_abort));
    g_assert_false(keyval_check_known(bad, known, "-machine", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "-machine: Invalid parameter 'acel'");
    error_free(err);
    err = NULL;
    g_assert_false(keyval_check_known(bad, known, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'acel'");
    error_free(err);
}

static void test_parse_uint(void)
{
    Error *err = NULL;
    uint64_t u = 1;

    g_assert_true(parse_uint("0", &u, &error_abort));
    g_assert_cmpuint(u, ==, 0);
    g_assert_true(parse_uint("18446744073709551615", &u, &error_abort));
    g_assert_cmpuint(u, ==, UINT64_MAX);
    g_assert_true(parse_uint("0xFFffFFffFFffFFff", &u, &error_abort));
    g_assert_cmpuint(u, ==, UINT64_MAX);
    g_assert_true(parse_uint("0x3f8", &u, &error_abort));
    g_assert_cmpuint(u, ==, 0x3f8);
    g_assert_true(parse_uint("0777", &u, &error_abort));
    g_assert_cmpuint(u, ==, 0777);

    /* Each of these must fail and leave *out alone. */
    static const char *const bad[] = {
        "", "abc", "-1", "+1", " 1", "1 ", "12x", "0x", "0x10000000000000000",
        "18446744073709551616", "99999999999999999999999", "08", "1.0",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        u = 12345;
        g_assert_false(parse_uint(bad[i], &u, &err));
        g_assert_nonnull(err);
        g_assert_cmpuint(u, ==, 12345);
        error_free(err);
        err = NULL;
    }

    g_assert_false(parse_uint("abc", &u, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "'abc' is not a valid number");
    error_free(err);
    err = NULL;
    g_assert_false(parse_uint("18446744073709551616", &u, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "'18446744073709551616' is too large"));
    error_free(err);
}

static void test_parse_size(void)
{
    const uint64_t MiB = 1ULL << 20;
    Error *err = NULL;
    uint64_t u;

    g_assert_true(parse_size("256", MiB, &u, &error_abort));
    g_assert_cmpuint(u, ==, 256 * MiB);
    g_assert_true(parse_size("256", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 256);
    g_assert_true(parse_size("1G", MiB, &u, &error_abort));
    g_assert_cmpuint(u, ==, 1ULL << 30);
    g_assert_true(parse_size("1g", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 1ULL << 30);
    g_assert_true(parse_size("1.5G", MiB, &u, &error_abort));
    g_assert_cmpuint(u, ==, 3ULL << 29);
    g_assert_true(parse_size("0.5K", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 512);
    g_assert_true(parse_size("4096B", MiB, &u, &error_abort));
    g_assert_cmpuint(u, ==, 4096);
    g_assert_true(parse_size("2k", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 2048);
    g_assert_true(parse_size("3M", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 3 * MiB);
    g_assert_true(parse_size("1T", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 1ULL << 40);
    g_assert_true(parse_size("1.5", MiB, &u, &error_abort));
    g_assert_cmpuint(u, ==, MiB + MiB / 2);
    g_assert_true(parse_size("15E", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, 15ULL << 60);
    g_assert_true(parse_size("18446744073709551615", 1, &u, &error_abort));
    g_assert_cmpuint(u, ==, UINT64_MAX);

    static const char *const bad[] = {
        "", "G", "-1G", "+1", " 1G", "1G ", "1GB", "1KiB", "1X", "1.G",
        ".5G", "1..5G", "0x10", "16E", "17179869184G", "18446744073709551616",
        "1.5", "1.5B",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        u = 12345;
        /* "1.5" is fine in MiB, but not in bytes */
        g_assert_false(parse_size(bad[i], 1, &u, &err));
        g_assert_nonnull(err);
        g_assert_cmpuint(u, ==, 12345);
        error_free(err);
        err = NULL;
    }

    g_assert_false(parse_size("16E", 1, &u, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'16E' is too large (the limit is 16 EiB - 1)");
    error_free(err);
    err = NULL;
    g_assert_false(parse_size("1X", 1, &u, &err));
    g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                   "'1X' is not a valid size"));
    error_free(err);
    err = NULL;
    /* 16E is overflow even via the default unit. */
    g_assert_false(parse_size("17592186044416", MiB, &u, &err));
    error_free(err);
}

static void test_parse_bool(void)
{
    static const char *const yes[] = { "on", "yes", "true" };
    static const char *const no[] = { "off", "no", "false" };
    Error *err = NULL;
    bool b;

    for (size_t i = 0; i < 3; i++) {
        b = false;
        g_assert_true(parse_bool(yes[i], &b, &error_abort));
        g_assert_true(b);
        b = true;
        g_assert_true(parse_bool(no[i], &b, &error_abort));
        g_assert_false(b);
    }
    g_assert_false(parse_bool("x", &b, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'x' is not a valid boolean, use on or off");
    error_free(err);
    err = NULL;
    g_assert_false(parse_bool("", &b, &err));
    error_free(err);
    err = NULL;
    g_assert_false(parse_bool("ON", &b, &err));
    error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/keyval/implied-key", test_keyval_implied_key);
    g_test_add_func("/keyval/escapes", test_keyval_escapes);
    g_test_add_func("/keyval/flags", test_keyval_flags);
    g_test_add_func("/keyval/duplicates", test_keyval_duplicates);
    g_test_add_func("/keyval/commas-and-empty", test_keyval_commas_and_empty);
    g_test_add_func("/keyval/order", test_keyval_order);
    g_test_add_func("/keyval/getters", test_keyval_getters);
    g_test_add_func("/keyval/check-known", test_keyval_check_known);
    g_test_add_func("/keyval/parse-uint", test_parse_uint);
    g_test_add_func("/keyval/parse-size", test_parse_size);
    g_test_add_func("/keyval/parse-bool", test_parse_bool);
    return g_test_run();
}
