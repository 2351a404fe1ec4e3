/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the code scripts/qapi-gen.py generates, using the test
 * schema tests/qapi-schema/qapi-schema-test.json (compiled with the
 * "test-" prefix): json-c conversion both ways, every input error path,
 * the command marshallers and table, events and introspection.  Random
 * JSON thrown at every converter and marshaller must never crash.
 */
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include <json-c/json.h>
#include "test-qapi-types.h"
#include "test-qapi-visit.h"
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-introspect.h"

/* ---------------------------------------------------------------- */
/* helpers */

static json_object *parse(const char *text)
{
    json_object *obj = json_tokener_parse(text);

    g_assert_nonnull(obj);
    return obj;
}

/* Asserts that two JSON values are equal, printing both if not. */
static void assert_json_eq(json_object *got, const char *want_text)
{
    json_object *want = parse(want_text);

    if (!json_object_equal(got, want)) {
        g_printerr("got:  %s\nwant: %s\n", json_object_to_json_string(got),
                   json_object_to_json_string(want));
        g_assert_not_reached();
    }
    json_object_put(want);
}

typedef bool ParseFn(json_object *obj, void **out, const char *name,
                     Error **errp);
typedef void FreeFn(void *p);

/* Parses text with fn and expects the error message msg. */
static void expect_error_fn(ParseFn *fn, const char *text, const char *msg)
{
    json_object *obj = json_tokener_parse(text);
    Error *err = NULL;
    void *out = (void *)&err;   /* must be reset to NULL */

    g_assert_false(fn(obj, &out, NULL, &err));
    g_assert_null(out);
    g_assert_nonnull(err);
    if (strcmp(error_get_pretty(err), msg)) {
        g_printerr("input: %s\ngot:  %s\nwant: %s\n", text,
                   error_get_pretty(err), msg);
        g_assert_not_reached();
    }
    error_free(err);
    json_object_put(obj);
}

#define PARSE_FN(T) ((ParseFn *)(void (*)(void))qapi_from_json_##T)
#define expect_error(T, text, msg) expect_error_fn(PARSE_FN(T), text, msg)

static const char *scalars_ok =
    "{\"i8\": -128, \"i16\": 32767, \"i32\": -2147483648, "
    "\"i64\": -9223372036854775808, \"u8\": 255, \"u16\": 65535, "
    "\"u32\": 4294967295, \"u64\": 18446744073709551615, "
    "\"sz\": 9223372036854775808, \"i\": 9223372036854775807, "
    "\"num\": 1.5, \"flag\": true, \"s\": \"hello\", \"color\": \"green-ish\"}";

/* scalars_ok with one member replaced by "key": value. */
static char *scalars_with(const char *key, const char *value)
{
    json_object *obj = parse(scalars_ok);
    json_object *v = value ? json_tokener_parse(value) : NULL;
    char *text;

    json_object_object_add(obj, key, v);
    text = g_strdup(json_object_to_json_string(obj));
    json_object_put(obj);
    return text;
}

static void expect_scalars_error(const char *key, const char *value,
                                 const char *msg)
{
    g_autofree char *text = scalars_with(key, value);

    expect_error(TestScalars, text, msg);
}

static void expect_scalars_ok(const char *key, const char *value)
{
    g_autofree char *text = scalars_with(key, value);
    json_object *obj = parse(text);
    g_autoptr(TestScalars) s = NULL;
    json_object *back;

    g_assert_true(qapi_from_json_TestScalars(obj, &s, NULL, &error_abort));
    back = qapi_to_json_TestScalars(s);
    if (!json_object_is_type(json_object_object_get(obj, key), json_type_int) ||
        strcmp(key, "num")) {
        g_assert_true(json_object_equal(obj, back));
    }
    json_object_put(back);
    json_object_put(obj);
}

/* ---------------------------------------------------------------- */
/* enums */

static void test_enum(void)
{
    TestColor c;
    TestKind k;

    g_assert_cmpint(TC_RED, ==, 0);
    g_assert_cmpint(TC_GREEN_ISH, ==, 1);
    g_assert_cmpint(TC__MAX, ==, 3);
    g_assert_cmpstr(TestColor_str(TC_GREEN_ISH), ==, "green-ish");
    g_assert_null(TestColor_str(TC__MAX));
    g_assert_null(TestColor_str((TestColor)-1));
    g_assert_true(TestColor_parse("blue", &c));
    g_assert_cmpint(c, ==, TC_BLUE);
    g_assert_false(TestColor_parse("green_ish", &c));
    g_assert_false(TestColor_parse(NULL, &c));
    g_assert_true(TestKind_parse("gamma", &k));
    g_assert_cmpint(k, ==, TEST_KIND_GAMMA);
    g_assert_cmpstr(TestKind_str(TEST_KIND_ALPHA), ==, "alpha");
}

/* ---------------------------------------------------------------- */
/* scalars and integer ranges */

static void test_scalars_roundtrip(void)
{
    json_object *obj = parse(scalars_ok);
    g_autoptr(TestScalars) s = NULL;
    json_object *back;

    g_assert_true(qapi_from_json_TestScalars(obj, &s, NULL, &error_abort));
    g_assert_cmpint(s->i8, ==, INT8_MIN);
    g_assert_cmpint(s->i16, ==, INT16_MAX);
    g_assert_cmpint(s->i32, ==, INT32_MIN);
    g_assert_cmpint(s->i64, ==, INT64_MIN);
    g_assert_cmpuint(s->u8, ==, UINT8_MAX);
    g_assert_cmpuint(s->u16, ==, UINT16_MAX);
    g_assert_cmpuint(s->u32, ==, UINT32_MAX);
    g_assert_cmpuint(s->u64, ==, UINT64_MAX);
    g_assert_cmpuint(s->sz, ==, (uint64_t)INT64_MAX + 1);
    g_assert_cmpint(s->i, ==, INT64_MAX);
    g_assert_cmpfloat(s->num, ==, 1.5);
    g_assert_true(s->flag);
    g_assert_cmpstr(s->s, ==, "hello");
    g_assert_cmpint(s->color, ==, TC_GREEN_ISH);
    back = qapi_to_json_TestScalars(s);
    assert_json_eq(back, scalars_ok);
    json_object_put(back);
    json_object_put(obj);
}

static void test_int_ranges(void)
{
    static const struct {
        const char *key, *type, *min, *max, *below, *above;
    } r[] = {
        { "i8", "int8", "-128", "127", "-129", "128" },
        { "i16", "int16", "-32768", "32767", "-32769", "32768" },
        { "i32", "int32", "-2147483648", "2147483647", "-2147483649",
          "2147483648" },
        { "i64", "int64", "-9223372036854775808", "9223372036854775807",
          NULL, "9223372036854775808" },
        { "i", "int", "-9223372036854775808", "9223372036854775807",
          NULL, "18446744073709551615" },
        { "u8", "uint8", "0", "255", "-1", "256" },
        { "u16", "uint16", "0", "65535", "-1", "65536" },
        { "u32", "uint32", "0", "4294967295", "-1", "4294967296" },
        { "u64", "uint64", "0", "18446744073709551615", "-1", NULL },
        { "sz", "size", "0", "18446744073709551615",
          "-9223372036854775808", NULL },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(r); i++) {
        g_autofree char *msg = g_strdup_printf(
            "Parameter '%s' is out of range for type %s", r[i].key, r[i].type);
        g_autofree char *tmsg = g_strdup_printf(
            "Invalid parameter type for '%s', expected: integer", r[i].key);

        expect_scalars_ok(r[i].key, r[i].min);
        expect_scalars_ok(r[i].key, r[i].max);
        expect_scalars_ok(r[i].key, "0");
        if (r[i].below) {
            expect_scalars_error(r[i].key, r[i].below, msg);
        }
        if (r[i].above) {
            expect_scalars_error(r[i].key, r[i].above, msg);
        }
        expect_scalars_error(r[i].key, "1.0", tmsg);
        expect_scalars_error(r[i].key, "\"1\"", tmsg);
        expect_scalars_error(r[i].key, "true", tmsg);
        expect_scalars_error(r[i].key, NULL, tmsg);
        expect_scalars_error(r[i].key, "{}", tmsg);
        expect_scalars_error(r[i].key, "[1]", tmsg);
    }
    /* json-c saturates what it cannot hold; that is still in range */
    expect_scalars_ok("u64", "18446744073709551616");
    expect_scalars_error("u8", "99999999999999999999999",
                         "Parameter 'u8' is out of range for type uint8");
    expect_scalars_error("u32", "-99999999999999999999999",
                         "Parameter 'u32' is out of range for type uint32");
}

static void test_scalar_types(void)
{
    expect_scalars_ok("num", "7");
    expect_scalars_ok("num", "-1e300");
    expect_scalars_error("num", "\"1.5\"",
                         "Invalid parameter type for 'num', expected: number");
    expect_scalars_error("flag", "1",
                         "Invalid parameter type for 'flag', expected: boolean");
    expect_scalars_error("flag", "\"true\"",
                         "Invalid parameter type for 'flag', expected: boolean");
    expect_scalars_error("s", "5",
                         "Invalid parameter type for 's', expected: string");
    expect_scalars_error("s", NULL,
                         "Invalid parameter type for 's', expected: string");
    expect_scalars_ok("s", "\"\"");
    expect_scalars_ok("s", "\"caf\\u00e9 \\\"q\\\"\"");
    expect_scalars_error("color", "\"purple\"",
                         "Parameter 'color' does not accept value 'purple'");
    expect_scalars_error("color", "\"RED\"",
                         "Parameter 'color' does not accept value 'RED'");
    expect_scalars_error("color", "0",
                         "Invalid parameter type for 'color', expected: string");
    expect_scalars_error("extra", "1", "Parameter 'extra' is unexpected");
}

static void test_struct_missing_unexpected(void)
{
    json_object *obj = parse(scalars_ok);
    char *text;

    json_object_object_del(obj, "u16");
    text = g_strdup(json_object_to_json_string(obj));
    expect_error(TestScalars, text, "Parameter 'u16' is missing");
    g_free(text);
    json_object_put(obj);

    expect_error(TestScalars, "{}", "Parameter 'i8' is missing");
    expect_error(TestScalars, "[]",
                 "Invalid parameter type, expected: object");
    expect_error(TestScalars, "null",
                 "Invalid parameter type, expected: object");
    expect_error(TestScalars, "\"x\"",
                 "Invalid parameter type, expected: object");
    expect_error(TestInner, "{\"name\": \"a\", \"Name\": 1}",
                 "Parameter 'Name' is unexpected");
    expect_error(TestInner, "{\"value\": 1}", "Parameter 'name' is missing");
    /* Optional members still have a type */
    expect_error(TestInner, "{\"name\": \"a\", \"value\": null}",
                 "Invalid parameter type for 'value', expected: integer");
    /* Base members are required too */
    expect_error(TestStruct, "{}", "Parameter 'base-id' is missing");
}

/* ---------------------------------------------------------------- */
/* optional members, lists, nested structs */

static const char *struct_full =
    "{\"base-id\": 7, \"base-note\": \"note\", \"o-int\": -5, "
    "\"o-u64\": 18446744073709551615, \"o-bool\": false, \"o-num\": 0.25, "
    "\"o-str\": \"str\", \"o-enum\": \"blue\", "
    "\"o-struct\": {\"name\": \"in\", \"value\": 3}, "
    "\"o-ilist\": [1, -2, 3], \"o-slist\": [\"a\", \"b\"], "
    "\"o-u8list\": [0, 255], "
    "\"o-list\": [{\"name\": \"x\"}, {\"name\": \"y\", \"value\": 9}], "
    "\"o-elist\": [\"red\", \"blue\"], "
    "\"o-any\": {\"anything\": [1, \"two\", null, {\"x\": false}]}, "
    "\"o-alt\": \"alt-string\", "
    "\"o-union\": {\"kind\": \"beta\", \"common\": \"c\", "
    "              \"nested\": {\"name\": \"deep\"}}, "
    "\"default\": 42, \"unix\": \"/tmp/sock\", \"o-feat\": \"f\"}";

static void test_struct_full(void)
{
    json_object *obj = parse(struct_full);
    g_autoptr(TestStruct) s = NULL;
    json_object *back;

    g_assert_true(qapi_from_json_TestStruct(obj, &s, NULL, &error_abort));
    g_assert_cmpint(s->base_id, ==, 7);
    g_assert_cmpstr(s->base_note, ==, "note");
    g_assert_true(s->has_o_int);
    g_assert_cmpint(s->o_int, ==, -5);
    g_assert_true(s->has_o_u64);
    g_assert_cmpuint(s->o_u64, ==, UINT64_MAX);
    g_assert_true(s->has_o_bool);
    g_assert_false(s->o_bool);
    g_assert_true(s->has_o_enum);
    g_assert_cmpint(s->o_enum, ==, TC_BLUE);
    g_assert_cmpstr(s->o_struct->name, ==, "in");
    g_assert_true(s->o_struct->has_value);
    g_assert_cmpint(s->o_ilist->value, ==, 1);
    g_assert_cmpint(s->o_ilist->next->value, ==, -2);
    g_assert_cmpint(s->o_ilist->next->next->value, ==, 3);
    g_assert_null(s->o_ilist->next->next->next);
    g_assert_cmpstr(s->o_slist->next->value, ==, "b");
    g_assert_cmpuint(s->o_u8list->next->value, ==, 255);
    g_assert_cmpstr(s->o_list->value->name, ==, "x");
    g_assert_false(s->o_list->value->has_value);
    g_assert_cmpint(s->o_list->next->value->value, ==, 9);
    g_assert_cmpint(s->o_elist->next->value, ==, TC_BLUE);
    g_assert_nonnull(s->o_any);
    g_assert_cmpint(s->o_alt->type, ==, QTYPE_QSTRING);
    g_assert_cmpstr(s->o_alt->u.s, ==, "alt-string");
    g_assert_cmpint(s->o_union->kind, ==, TEST_KIND_BETA);
    g_assert_cmpstr(s->o_union->u.beta.nested->name, ==, "deep");
    g_assert_null(s->o_union->u.beta.b);
    g_assert_true(s->has_q_default);
    g_assert_cmpint(s->q_default, ==, 42);
    g_assert_cmpstr(s->q_unix, ==, "/tmp/sock");
    g_assert_cmpstr(s->o_feat, ==, "f");
    back = qapi_to_json_TestStruct(s);
    assert_json_eq(back, struct_full);
    json_object_put(back);
    json_object_put(obj);
}

static void test_struct_minimal(void)
{
    json_object *obj = parse("{\"base-id\": 1}");
    g_autoptr(TestStruct) s = NULL;
    json_object *back;

    g_assert_true(qapi_from_json_TestStruct(obj, &s, NULL, &error_abort));
    g_assert_false(s->has_o_int);
    g_assert_false(s->has_o_enum);
    g_assert_null(s->base_note);
    g_assert_null(s->o_struct);
    g_assert_null(s->o_ilist);
    g_assert_null(s->o_any);
    g_assert_null(s->o_alt);
    back = qapi_to_json_TestStruct(s);
    assert_json_eq(back, "{\"base-id\": 1}");
    json_object_put(back);
    json_object_put(obj);

    /* empty lists are NULL and come back as [] */
    obj = parse("{\"base-id\": 1, \"o-list\": [], \"o-slist\": []}");
    qapi_free_TestStruct(s);
    s = NULL;
    g_assert_true(qapi_from_json_TestStruct(obj, &s, NULL, &error_abort));
    g_assert_null(s->o_list);
    json_object_put(obj);

    /* NULL pointers convert to something valid rather than crashing */
    back = qapi_to_json_TestInner(NULL);
    assert_json_eq(back, "{}");
    json_object_put(back);
    back = qapi_to_json_TestInnerList(NULL);
    assert_json_eq(back, "[]");
    json_object_put(back);
    back = qapi_to_json_str(NULL);
    assert_json_eq(back, "\"\"");
    json_object_put(back);
    g_assert_null(qapi_to_json_TestAlt(NULL));
    qapi_free_TestStruct(NULL);
    qapi_free_TestInnerList(NULL);
    qapi_free_TestAlt(NULL);
    qapi_free_TestUnion(NULL);
}

static void test_nested_errors(void)
{
    expect_error(TestStruct, "{\"base-id\": 1, \"o-struct\": {}}",
                 "Parameter 'o-struct.name' is missing");
    expect_error(TestStruct,
                 "{\"base-id\": 1, \"o-struct\": {\"name\": \"n\", \"x\": 1}}",
                 "Parameter 'o-struct.x' is unexpected");
    expect_error(TestStruct,
                 "{\"base-id\": 1, \"o-list\": [{\"name\": \"a\"}, {}]}",
                 "Parameter 'o-list[1].name' is missing");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-ilist\": [1, \"2\"]}",
                 "Invalid parameter type for 'o-ilist[1]', expected: integer");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-u8list\": [1, 256]}",
                 "Parameter 'o-u8list[1]' is out of range for type uint8");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-elist\": [\"red\", \"x\"]}",
                 "Parameter 'o-elist[1]' does not accept value 'x'");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-list\": {}}",
                 "Invalid parameter type for 'o-list', expected: array");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-list\": [null]}",
                 "Invalid parameter type for 'o-list[0]', expected: object");
    expect_error(TestStruct,
                 "{\"base-id\": 1, \"o-union\": {\"kind\": \"beta\", "
                 "\"common\": \"c\", \"nested\": {\"name\": 1}}}",
                 "Invalid parameter type for 'o-union.nested.name', "
                 "expected: string");
    /* An enum value is named by its member alone, as QEMU does, where
     * the other errors give the path. */
    expect_error(TestStruct, "{\"base-id\": 1, \"o-union\": {\"kind\": "
                 "\"bogus\", \"common\": \"c\"}}",
                 "Parameter 'kind' does not accept value 'bogus'");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-alt\": 1.5}",
                 "Invalid parameter type for 'o-alt', expected: "
                 "string, null, integer, object or boolean");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-alt\": {\"name\": 5}}",
                 "Invalid parameter type for 'o-alt.name', expected: string");
    expect_error(TestStruct, "{\"base-id\": 1, \"o-alt\": 300000000000000000000}",
                 "Parameter 'o-alt' is out of range for type int");
}

/* ---------------------------------------------------------------- */
/* unions */

static void test_union(void)
{
    json_object *obj = parse("{\"kind\": \"alpha\", \"common\": \"x\", \"a\": 5}");
    g_autoptr(TestUnion) u = NULL;
    g_autoptr(TestUnion2) u2 = NULL;
    json_object *back;

    g_assert_true(qapi_from_json_TestUnion(obj, &u, NULL, &error_abort));
    g_assert_cmpint(u->kind, ==, TEST_KIND_ALPHA);
    g_assert_cmpint(u->u.alpha.a, ==, 5);
    back = qapi_to_json_TestUnion(u);
    g_assert_true(json_object_equal(back, obj));
    json_object_put(back);
    json_object_put(obj);

    /* a value without a branch: just the base */
    obj = parse("{\"kind\": \"gamma\", \"common\": \"x\"}");
    qapi_free_TestUnion(u);
    u = NULL;
    g_assert_true(qapi_from_json_TestUnion(obj, &u, NULL, &error_abort));
    back = qapi_to_json_TestUnion(u);
    g_assert_true(json_object_equal(back, obj));
    json_object_put(back);
    json_object_put(obj);

    obj = parse("{\"kind\": \"gamma\", \"tag2\": \"t\", \"name\": \"n\"}");
    g_assert_true(qapi_from_json_TestUnion2(obj, &u2, NULL, &error_abort));
    g_assert_cmpstr(u2->u.gamma.name, ==, "n");
    back = qapi_to_json_TestUnion2(u2);
    g_assert_true(json_object_equal(back, obj));
    json_object_put(back);
    json_object_put(obj);
}

static void test_union_errors(void)
{
    expect_error(TestUnion, "{\"kind\": \"delta\", \"common\": \"x\"}",
                 "Parameter 'kind' does not accept value 'delta'");
    expect_error(TestUnion, "{\"common\": \"x\", \"a\": 1}",
                 "Parameter 'kind' is missing");
    expect_error(TestUnion, "{\"kind\": 1, \"common\": \"x\"}",
                 "Invalid parameter type for 'kind', expected: string");
    expect_error(TestUnion, "{\"kind\": null, \"common\": \"x\"}",
                 "Invalid parameter type for 'kind', expected: string");
    expect_error(TestUnion, "{\"kind\": \"alpha\", \"common\": \"x\"}",
                 "Parameter 'a' is missing");
    /* a member of another branch */
    expect_error(TestUnion,
                 "{\"kind\": \"alpha\", \"common\": \"x\", \"a\": 1, \"b\": \"\"}",
                 "Parameter 'b' is unexpected");
    expect_error(TestUnion, "{\"kind\": \"gamma\", \"common\": \"x\", \"a\": 1}",
                 "Parameter 'a' is unexpected");
    expect_error(TestUnion2, "{\"kind\": \"beta\", \"tag2\": \"t\", \"x\": 1}",
                 "Parameter 'x' is unexpected");
    expect_error(TestUnion, "[]", "Invalid parameter type, expected: object");
}

/* ---------------------------------------------------------------- */
/* alternates */

static void test_alternate(void)
{
    static const struct {
        const char *json;
        QType type;
    } cases[] = {
        { "\"s\"", QTYPE_QSTRING },
        { "null", QTYPE_QNULL },
        { "-17", QTYPE_QNUM },
        { "{\"name\": \"n\"}", QTYPE_QDICT },
        { "true", QTYPE_QBOOL },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        json_object *obj = json_tokener_parse(cases[i].json);
        g_autoptr(TestAlt) a = NULL;
        json_object *back;

        g_assert_true(qapi_from_json_TestAlt(obj, &a, NULL, &error_abort));
        g_assert_cmpint(a->type, ==, cases[i].type);
        back = qapi_to_json_TestAlt(a);
        g_assert_true(json_object_equal(back, obj));
        json_object_put(back);
        json_object_put(obj);
    }

    {
        json_object *obj = parse("[1, 2]");
        g_autoptr(TestAlt2) a = NULL;

        g_assert_true(qapi_from_json_TestAlt2(obj, &a, NULL, &error_abort));
        g_assert_cmpint(a->type, ==, QTYPE_QLIST);
        g_assert_cmpint(a->u.l->next->value, ==, 2);
        json_object_put(obj);
        qapi_free_TestAlt2(a);
        a = NULL;

        obj = parse("7");
        g_assert_true(qapi_from_json_TestAlt2(obj, &a, NULL, &error_abort));
        g_assert_cmpint(a->type, ==, QTYPE_QNUM);
        g_assert_cmpfloat(a->u.num, ==, 7.0);
        json_object_put(obj);
        qapi_free_TestAlt2(a);
        a = NULL;

        obj = parse("\"blue\"");
        g_assert_true(qapi_from_json_TestAlt2(obj, &a, NULL, &error_abort));
        g_assert_cmpint(a->u.e, ==, TC_BLUE);
        json_object_put(obj);
    }
    expect_error(TestAlt2, "\"pink\"", "Value 'pink' is not accepted");
    expect_error(TestAlt2, "null", "Invalid parameter type, expected: "
                 "string, number, array or object");
    expect_error(TestAlt2, "{\"kind\": \"x\"}",
                 "Parameter 'kind' does not accept value 'x'");
}

/* ---------------------------------------------------------------- */
/* deep nesting */

static void test_deep_nesting(void)
{
    enum { DEPTH = 3000 };
    json_object *root = json_object_new_object();
    json_object *cur = root;
    g_autoptr(TestTree) tree = NULL;
    TestTree *t;
    json_object *back;
    int i;

    for (i = 0; i < DEPTH; i++) {
        json_object *child = json_object_new_object();
        json_object *arr = json_object_new_array();

        json_object_object_add(cur, "value", json_object_new_int64(i));
        json_object_array_add(arr, child);
        json_object_object_add(cur, "children", arr);
        cur = child;
    }
    json_object_object_add(cur, "value", json_object_new_int64(DEPTH));
    g_assert_true(qapi_from_json_TestTree(root, &tree, NULL, &error_abort));
    for (t = tree, i = 0; t->children; t = t->children->value, i++) {
        g_assert_cmpint(t->value, ==, i);
    }
    g_assert_cmpint(i, ==, DEPTH);
    back = qapi_to_json_TestTree(tree);
    g_assert_true(json_object_equal(back, root));
    json_object_put(back);

    /* an error at the bottom: reports the path, frees everything */
    json_object_object_add(cur, "value", json_object_new_string("bad"));
    {
        TestTree *bad = (TestTree *)&back;
        Error *err = NULL;

        g_assert_false(qapi_from_json_TestTree(root, &bad, NULL, &err));
        g_assert_null(bad);
        g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                       "Invalid parameter type for "
                                       "'children[0].children[0]."));
        g_assert_true(g_str_has_suffix(error_get_pretty(err),
                                       ".value', expected: integer"));
        error_free(err);
    }
    json_object_put(root);
}

/* ---------------------------------------------------------------- */
/* commands */

static int noargs_calls;
static bool fail_next;

TestInner *qmp_test_cmd_args(int64_t a, const char *b, bool has_c, bool c,
                             strList *l, TestColor e, Error **errp)
{
    TestInner *r;
    GString *s = g_string_new(b ? b : "<none>");

    if (fail_next) {
        g_string_free(s, TRUE);
        error_setg(errp, "told to fail");
        return NULL;
    }
    for (; l; l = l->next) {
        g_string_append_printf(s, ",%s", l->value);
    }
    g_string_append_printf(s, ",%s,%s", has_c ? (c ? "c" : "!c") : "-",
                           TestColor_str(e));
    r = g_new0(TestInner, 1);
    r->name = g_string_free(s, FALSE);
    r->has_value = true;
    r->value = a * 2;
    return r;
}

void qmp_test_cmd_noargs(Error **errp)
{
    noargs_calls++;
}

TestInnerList *qmp_test_cmd_boxed(TestUnion *arg, Error **errp)
{
    TestInnerList *l = g_new0(TestInnerList, 1);

    l->value = g_new0(TestInner, 1);
    l->value->name = g_strdup_printf("%s:%s", TestKind_str(arg->kind),
                                     arg->common);
    if (arg->kind == TEST_KIND_ALPHA) {
        l->value->has_value = true;
        l->value->value = arg->u.alpha.a;
    }
    return l;
}

void qmp_test_cmd_oob(Error **errp)
{
}

int64_t qmp_test_cmd_struct_data(const char *name, bool has_value,
                                 int64_t value, Error **errp)
{
    if (!has_value) {
        error_setg(errp, "%s has no value", name);
        return 0;
    }
    return value + 1;
}

char *qmp_test_cmd_str(bool has_cpu_index, int64_t cpu_index, Error **errp)
{
    return has_cpu_index ? g_strdup_printf("cpu %" PRId64, cpu_index)
                         : g_strdup("no cpu");
}

json_object *qmp_test_cmd_any(json_object *v, Error **errp)
{
    json_object *r = json_object_new_array();

    json_object_array_add(r, json_object_get(v));
    return r;
}

TestScalars *qmp_test_cmd_scalars(TestScalars *arg, Error **errp)
{
    TestScalars *r = g_new(TestScalars, 1);

    *r = *arg;
    r->s = g_strdup(arg->s);
    r->u64 = arg->u64 - 1;
    return r;
}

TestColorList *qmp_test_cmd_alt(TestAlt *alt, TestAlt2 *alt2, Error **errp)
{
    TestColorList *l = NULL;

    if (alt) {
        l = g_new0(TestColorList, 1);
        l->value = (TestColor)alt->type % TC__MAX;
    }
    if (alt2 && alt2->type == QTYPE_QSTRING) {
        TestColorList *e = g_new0(TestColorList, 1);

        e->value = alt2->u.e;
        e->next = l;
        l = e;
    }
    return l;
}

TestIncluded *qmp_test_cmd_included(Error **errp)
{
    TestIncluded *r = g_new0(TestIncluded, 1);

    r->x = 99;
    return r;
}

/* The hand-written marshaller of a 'gen': false command. */
void qmp_marshal_test_gen_false(json_object *args, json_object **ret,
                                Error **errp)
{
    json_object *id;

    if (!json_object_object_get_ex(args, "id", &id)) {
        error_setg(errp, "Parameter 'id' is missing");
        return;
    }
    *ret = json_object_new_object();
    json_object_object_add(*ret, "passed", json_object_get(args));
}

/* Runs a command through the table; returns the result or NULL + *msg. */
static json_object *run(const char *name, const char *args_text, char **msg)
{
    const QmpCommand *cmd = qmp_find_command(name);
    json_object *args = args_text ? json_tokener_parse(args_text) : NULL;
    json_object *ret = NULL;
    Error *err = NULL;

    g_assert_nonnull(cmd);
    cmd->fn(args, &ret, &err);
    json_object_put(args);
    if (err) {
        g_assert_null(ret);
        if (msg) {
            *msg = g_strdup(error_get_pretty(err));
        }
        error_free(err);
        return NULL;
    }
    return ret;
}

static void expect_cmd(const char *name, const char *args, const char *want)
{
    char *msg = NULL;
    json_object *ret = run(name, args, &msg);

    if (!ret) {
        g_printerr("%s failed: %s\n", name, msg);
        g_assert_not_reached();
    }
    assert_json_eq(ret, want);
    json_object_put(ret);
}

static void expect_cmd_error(const char *name, const char *args,
                             const char *want)
{
    g_autofree char *msg = NULL;
    json_object *ret = run(name, args, &msg);

    g_assert_null(ret);
    if (strcmp(msg, want)) {
        g_printerr("%s %s\ngot:  %s\nwant: %s\n", name, args, msg, want);
        g_assert_not_reached();
    }
}

static void test_command_table(void)
{
    const QmpCommand *c;
    size_t i;

    g_assert_cmpuint(qmp_commands_count, ==, 12);
    for (i = 1; i < qmp_commands_count; i++) {
        g_assert_cmpint(strcmp(qmp_commands[i - 1].name, qmp_commands[i].name),
                        <, 0);
    }
    for (i = 0; i < qmp_commands_count; i++) {
        g_assert_true(qmp_find_command(qmp_commands[i].name) == &qmp_commands[i]);
    }
    g_assert_null(qmp_find_command("no-such-command"));
    g_assert_null(qmp_find_command(""));
    g_assert_null(qmp_find_command(NULL));
    g_assert_null(qmp_find_command("test_cmd_args"));
    c = qmp_find_command("test-cmd-oob");
    g_assert_cmpuint(c->flags, ==, QMP_CMD_ALLOW_OOB | QMP_CMD_UNSTABLE |
                     QMP_CMD_DEPRECATED | QMP_CMD_ALLOW_PRECONFIG);
    g_assert_cmpuint(qmp_find_command("test-cmd-args")->flags, ==, 0);
    g_assert_true(qmp_find_command("test-gen-false")->fn ==
                  qmp_marshal_test_gen_false);
}

static void test_command_marshal(void)
{
    expect_cmd("test-cmd-args",
               "{\"a\": 21, \"b\": \"B\", \"l\": [\"x\", \"y\"], \"e\": \"red\"}",
               "{\"name\": \"B,x,y,-,red\", \"value\": 42}");
    expect_cmd("test-cmd-args",
               "{\"a\": -1, \"c\": false, \"l\": [], \"e\": \"blue\"}",
               "{\"name\": \"<none>,!c,blue\", \"value\": -2}");
    fail_next = true;
    expect_cmd_error("test-cmd-args", "{\"a\": 1, \"l\": [], \"e\": \"red\"}",
                     "told to fail");
    fail_next = false;

    noargs_calls = 0;
    expect_cmd("test-cmd-noargs", "{}", "{}");
    expect_cmd("test-cmd-noargs", NULL, "{}");
    g_assert_cmpint(noargs_calls, ==, 2);
    expect_cmd_error("test-cmd-noargs", "{\"x\": 1}", "Parameter 'x' is unexpected");
    expect_cmd_error("test-cmd-noargs", "[]",
                     "Invalid parameter type, expected: object");
    g_assert_cmpint(noargs_calls, ==, 2);

    expect_cmd("test-cmd-boxed", "{\"kind\": \"alpha\", \"common\": \"c\", \"a\": 3}",
               "[{\"name\": \"alpha:c\", \"value\": 3}]");
    expect_cmd("test-cmd-boxed", "{\"kind\": \"gamma\", \"common\": \"c\"}",
               "[{\"name\": \"gamma:c\"}]");
    expect_cmd_error("test-cmd-boxed", "{\"kind\": \"zeta\", \"common\": \"c\"}",
                     "Parameter 'kind' does not accept value 'zeta'");
    expect_cmd("test-cmd-oob", "{}", "{}");
    expect_cmd("test-cmd-struct-data", "{\"name\": \"n\", \"value\": 41}", "42");
    expect_cmd_error("test-cmd-struct-data", "{\"name\": \"n\"}", "n has no value");
    expect_cmd("test-cmd-str", "{}", "\"no cpu\"");
    expect_cmd("test-cmd-str", "{\"cpu-index\": 3}", "\"cpu 3\"");
    expect_cmd("test-cmd-any", "{\"v\": {\"deep\": [1, 2]}}", "[{\"deep\": [1, 2]}]");
    expect_cmd("test-cmd-any", "{\"v\": null}", "[null]");
    expect_cmd_error("test-cmd-any", "{}", "Parameter 'v' is missing");
    {
        json_object *want = parse(scalars_ok);
        json_object *ret;

        json_object_object_add(want, "u64",
                               json_object_new_uint64(UINT64_MAX - 1));
        ret = run("test-cmd-scalars", scalars_ok, NULL);
        g_assert_true(json_object_equal(ret, want));
        json_object_put(ret);
        json_object_put(want);
    }
    expect_cmd("test-cmd-alt", "{\"alt\": null, \"alt2\": \"green-ish\"}",
               "[\"green-ish\", \"green-ish\"]");
    expect_cmd("test-cmd-alt", "{}", "[]");
    expect_cmd("test-cmd-included", "{}", "{\"x\": 99}");
    expect_cmd("test-gen-false", "{\"id\": \"a\", \"other\": 1}",
               "{\"passed\": {\"id\": \"a\", \"other\": 1}}");

    /* argument errors */
    expect_cmd_error("test-cmd-args", "{\"l\": [], \"e\": \"red\"}",
                     "Parameter 'a' is missing");
    expect_cmd_error("test-cmd-args", "{\"a\": 1, \"l\": [], \"e\": \"red\", "
                     "\"zz\": 0}", "Parameter 'zz' is unexpected");
    expect_cmd_error("test-cmd-args", "{\"a\": \"1\", \"l\": [], \"e\": \"red\"}",
                     "Invalid parameter type for 'a', expected: integer");
    expect_cmd_error("test-cmd-args", "{\"a\": 1, \"l\": [3], \"e\": \"red\"}",
                     "Invalid parameter type for 'l[0]', expected: string");
    expect_cmd_error("test-cmd-args", "{\"a\": 1, \"l\": [], \"e\": \"RED\"}",
                     "Parameter 'e' does not accept value 'RED'");
    expect_cmd_error("test-cmd-args", "[1]",
                     "Invalid parameter type, expected: object");
    expect_cmd_error("test-cmd-args", "\"str\"",
                     "Invalid parameter type, expected: object");
    expect_cmd_error("test-cmd-args", NULL, "Parameter 'a' is missing");
    expect_cmd_error("test-cmd-str", "{\"cpu-index\": 1.5}",
                     "Invalid parameter type for 'cpu-index', expected: integer");
}

/* ---------------------------------------------------------------- */
/* events */

static char *last_event;
static json_object *last_data;
static int events_seen;

void qapi_event_emit(const char *name, json_object *data)
{
    g_free(last_event);
    json_object_put(last_data);
    last_event = g_strdup(name);
    last_data = data;
    events_seen++;
}

static void test_events(void)
{
    TestInner inner = { .name = (char *)"in", .has_value = true, .value = 1 };
    TestUnion u = { .kind = TEST_KIND_ALPHA, .common = (char *)"c",
                    .u.alpha.a = 8 };

    qapi_event_send_test_event_a();
    g_assert_cmpstr(last_event, ==, "TEST_EVENT_A");
    g_assert_null(last_data);

    qapi_event_send_test_event_b(5, NULL, true, false, &inner, false, TC_RED);
    g_assert_cmpstr(last_event, ==, "TEST_EVENT_B");
    assert_json_eq(last_data, "{\"a\": 5, \"c\": false, "
                   "\"inner\": {\"name\": \"in\", \"value\": 1}}");

    qapi_event_send_test_event_b(-5, "bee", false, true, &inner, true, TC_BLUE);
    assert_json_eq(last_data, "{\"a\": -5, \"b\": \"bee\", \"color\": \"blue\", "
                   "\"inner\": {\"name\": \"in\", \"value\": 1}}");

    qapi_event_send_test_event_boxed(&u);
    g_assert_cmpstr(last_event, ==, "TEST_EVENT_BOXED");
    assert_json_eq(last_data, "{\"kind\": \"alpha\", \"common\": \"c\", \"a\": 8}");

    qapi_event_send_test_event_struct("n", false, 0);
    g_assert_cmpstr(last_event, ==, "TEST_EVENT_STRUCT");
    assert_json_eq(last_data, "{\"name\": \"n\"}");
    g_assert_cmpint(events_seen, ==, 5);

    g_clear_pointer(&last_event, g_free);
    g_clear_pointer(&last_data, json_object_put);
}

/* ---------------------------------------------------------------- */
/* introspection */

static json_object *schema_find(json_object *schema, const char *name)
{
    size_t i;

    for (i = 0; i < json_object_array_length(schema); i++) {
        json_object *e = json_object_array_get_idx(schema, i);
        json_object *n;

        if (json_object_object_get_ex(e, "name", &n) &&
            !strcmp(json_object_get_string(n), name)) {
            return e;
        }
    }
    return NULL;
}

static const char *member_str(json_object *e, const char *key)
{
    json_object *v;

    g_assert_true(json_object_object_get_ex(e, key, &v));
    return json_object_get_string(v);
}

static void test_introspection(void)
{
    json_object *schema = parse(qapi_introspection_json);
    json_object *e, *ret;
    size_t i;

    g_assert_true(json_object_is_type(schema, json_type_array));
    /* every referenced type name is itself in the list */
    for (i = 0; i < json_object_array_length(schema); i++) {
        json_object *ent = json_object_array_get_idx(schema, i);
        const char *meta = member_str(ent, "meta-type");

        if (!strcmp(meta, "command")) {
            g_assert_nonnull(schema_find(schema, member_str(ent, "arg-type")));
            g_assert_nonnull(schema_find(schema, member_str(ent, "ret-type")));
        } else if (!strcmp(meta, "event")) {
            g_assert_nonnull(schema_find(schema, member_str(ent, "arg-type")));
        } else if (!strcmp(meta, "array")) {
            g_assert_nonnull(schema_find(schema, member_str(ent, "element-type")));
        } else if (!strcmp(meta, "object")) {
            json_object *members;
            size_t j;

            g_assert_true(json_object_object_get_ex(ent, "members", &members));
            for (j = 0; j < json_object_array_length(members); j++) {
                json_object *m = json_object_array_get_idx(members, j);

                g_assert_nonnull(schema_find(schema, member_str(m, "type")));
            }
        }
    }
    e = schema_find(schema, "test-cmd-args");
    g_assert_cmpstr(member_str(e, "meta-type"), ==, "command");
    g_assert_cmpstr(member_str(e, "ret-type"), ==, "TestInner");
    e = schema_find(schema, member_str(e, "arg-type"));
    assert_json_eq(json_object_object_get(e, "members"),
                   "[{\"name\": \"a\", \"type\": \"int\"}, "
                   "{\"name\": \"b\", \"type\": \"str\", \"default\": null}, "
                   "{\"name\": \"c\", \"type\": \"bool\", \"default\": null}, "
                   "{\"name\": \"l\", \"type\": \"[str]\"}, "
                   "{\"name\": \"e\", \"type\": \"TestColor\"}]");
    e = schema_find(schema, "test-cmd-oob");
    assert_json_eq(e, "{\"name\": \"test-cmd-oob\", \"meta-type\": \"command\", "
                   "\"arg-type\": \"q_empty\", \"ret-type\": \"q_empty\", "
                   "\"allow-oob\": true, \"features\": [\"unstable\", "
                   "\"deprecated\"]}");
    assert_json_eq(schema_find(schema, "q_empty"),
                   "{\"name\": \"q_empty\", \"meta-type\": \"object\", "
                   "\"members\": []}");
    assert_json_eq(schema_find(schema, "TestColor"),
                   "{\"name\": \"TestColor\", \"meta-type\": \"enum\", "
                   "\"members\": [{\"name\": \"red\"}, {\"name\": \"green-ish\"}, "
                   "{\"name\": \"blue\", \"features\": [\"deprecated\"]}], "
                   "\"values\": [\"red\", \"green-ish\", \"blue\"]}");
    assert_json_eq(schema_find(schema, "int"),
                   "{\"name\": \"int\", \"meta-type\": \"builtin\", "
                   "\"json-type\": \"int\"}");
    assert_json_eq(schema_find(schema, "[TestInner]"),
                   "{\"name\": \"[TestInner]\", \"meta-type\": \"array\", "
                   "\"element-type\": \"TestInner\"}");
    e = schema_find(schema, "TestUnion");
    g_assert_cmpstr(member_str(e, "tag"), ==, "kind");
    assert_json_eq(json_object_object_get(e, "variants"),
                   "[{\"case\": \"alpha\", \"type\": \"TestBranchA\"}, "
                   "{\"case\": \"beta\", \"type\": \"TestBranchB\"}]");
    assert_json_eq(schema_find(schema, "TestAlt"),
                   "{\"name\": \"TestAlt\", \"meta-type\": \"alternate\", "
                   "\"members\": [{\"type\": \"str\"}, {\"type\": \"null\"}, "
                   "{\"type\": \"int\"}, {\"type\": \"TestInner\"}, "
                   "{\"type\": \"bool\"}]}");
    e = schema_find(schema, "TestScalars");
    g_assert_nonnull(e);
    assert_json_eq(schema_find(schema, "TEST_EVENT_A"),
                   "{\"name\": \"TEST_EVENT_A\", \"meta-type\": \"event\", "
                   "\"arg-type\": \"q_empty\"}");
    e = schema_find(schema, "TestStruct");
    g_assert_null(e);   /* not reachable from any command or event */
    g_assert_null(schema_find(schema, "uint8"));   /* shown as int */

    /* the generated marshaller of query-qmp-schema returns the same */
    ret = run("query-qmp-schema", "{}", NULL);
    g_assert_true(json_object_equal(ret, schema));
    json_object_put(ret);
    expect_cmd_error("query-qmp-schema", "{\"x\": 1}",
                     "Parameter 'x' is unexpected");
    expect_cmd_error("query-qmp-schema", "[]",
                     "Invalid parameter type, expected: object");
    json_object_put(schema);
}

/* ---------------------------------------------------------------- */
/* random input never crashes */

static json_object *random_json(GRand *r, int depth)
{
    static const char *const strings[] = {
        "red", "blue", "alpha", "beta", "gamma", "name", "", "x", "a", "kind",
    };
    static const char *const keys[] = {
        "a", "b", "c", "l", "e", "v", "name", "value", "kind", "common",
        "nested", "i8", "u64", "s", "children", "id", "cpu-index", "alt",
        "alt2", "color", "flag", "num", "extra",
    };
    int kind = g_rand_int_range(r, 0, depth > 4 ? 6 : 8);
    json_object *o;
    int i, n;

    switch (kind) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_boolean(g_rand_boolean(r));
    case 2: {
        static const int64_t ints[] = { 0, 1, -1, 127, 128, 255, 256, INT64_MAX,
                                        INT64_MIN, 65536, -129 };
        return json_object_new_int64(ints[g_rand_int_range(r, 0, G_N_ELEMENTS(ints))]);
    }
    case 3:
        return g_rand_boolean(r) ? json_object_new_uint64(UINT64_MAX)
                                 : json_object_new_double(g_rand_double(r));
    case 4:
    case 5:
        return json_object_new_string(strings[g_rand_int_range(r, 0, G_N_ELEMENTS(strings))]);
    case 6:
        o = json_object_new_array();
        n = g_rand_int_range(r, 0, 4);
        for (i = 0; i < n; i++) {
            json_object_array_add(o, random_json(r, depth + 1));
        }
        return o;
    default:
        o = json_object_new_object();
        n = g_rand_int_range(r, 0, 7);
        for (i = 0; i < n; i++) {
            json_object_object_add(o, keys[g_rand_int_range(r, 0, G_N_ELEMENTS(keys))],
                                   random_json(r, depth + 1));
        }
        return o;
    }
}

static void test_random_input(void)
{
    GRand *r = g_rand_new_with_seed(20240601);
    int iter;

    for (iter = 0; iter < 4000; iter++) {
        json_object *in = random_json(r, 0);
        size_t i;

        for (i = 0; i < qmp_commands_count; i++) {
            json_object *ret = NULL;
            Error *err = NULL;

            if (qmp_commands[i].fn == qmp_marshal_test_gen_false) {
                continue;   /* hand-written, assumes an object */
            }
            qmp_commands[i].fn(in, &ret, &err);
            g_assert_true((ret == NULL) != (err == NULL));
            json_object_put(ret);
            error_free(err);
        }
#define TRY(T) do {                                                    \
            T *out = NULL;                                             \
            Error *err = NULL;                                         \
            if (qapi_from_json_##T(in, &out, NULL, &err)) {            \
                json_object *back = qapi_to_json_##T(out);             \
                g_assert_null(err);                                    \
                json_object_put(back);                                 \
                qapi_free_##T(out);                                    \
            } else {                                                   \
                g_assert_nonnull(err);                                 \
                g_assert_null(out);                                    \
                error_free(err);                                       \
            }                                                          \
        } while (0)
        TRY(TestStruct);
        TRY(TestUnion);
        TRY(TestUnion2);
        TRY(TestAlt);
        TRY(TestAlt2);
        TRY(TestTree);
        TRY(TestInnerList);
        TRY(strList);
        TRY(TestScalars);
#undef TRY
        json_object_put(in);
    }
    g_rand_free(r);
}

static void test_autoptr(void)
{
    g_autoptr(TestInner) in = g_new0(TestInner, 1);
    g_autoptr(strList) sl = g_new0(strList, 1);
    g_autoptr(intList) il = g_new0(intList, 1);

    in->name = g_strdup("freed automatically");
    sl->value = g_strdup("also");
    il->value = 3;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/enum", test_enum);
    g_test_add_func("/qapi/scalars/roundtrip", test_scalars_roundtrip);
    g_test_add_func("/qapi/scalars/int-ranges", test_int_ranges);
    g_test_add_func("/qapi/scalars/types", test_scalar_types);
    g_test_add_func("/qapi/struct/missing-unexpected", test_struct_missing_unexpected);
    g_test_add_func("/qapi/struct/full", test_struct_full);
    g_test_add_func("/qapi/struct/minimal", test_struct_minimal);
    g_test_add_func("/qapi/struct/nested-errors", test_nested_errors);
    g_test_add_func("/qapi/union/roundtrip", test_union);
    g_test_add_func("/qapi/union/errors", test_union_errors);
    g_test_add_func("/qapi/alternate", test_alternate);
    g_test_add_func("/qapi/deep-nesting", test_deep_nesting);
    g_test_add_func("/qapi/commands/table", test_command_table);
    g_test_add_func("/qapi/commands/marshal", test_command_marshal);
    g_test_add_func("/qapi/events", test_events);
    g_test_add_func("/qapi/introspection", test_introspection);
    g_test_add_func("/qapi/random-input", test_random_input);
    g_test_add_func("/qapi/autoptr", test_autoptr);
    return g_test_run();
}
