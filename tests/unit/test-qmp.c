/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP protocol in-process (qmp-test-client.h): greeting, negotiation,
 * ids, out-of-band, malformed input, ordering, events, hang-ups and the
 * input queue bound. Command shapes are in test-qmp-commands.c, output
 * flow control in test-qmp-flow.c.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "system/runstate.h"
#include "util/main-loop.h"
#include "qmp-test-client.h"

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
    /* query-status does not allow out-of-band execution. */
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

    /* migrate-recover answers while the main loop is stuck (this thread
     * holds the BQL and does not run it): here with its error, as no
     * postcopy migration is paused. */
    c = client_new();
    negotiate(c, true);
    send_str(c, "{\"exec-oob\":\"migrate-recover\",\"arguments\":"
             "{\"uri\":\"tcp:127.0.0.1:0\"},\"id\":\"r1\"}\n");
    {
        g_autofree char *line = recv_line_stuck(c);
        json_object *resp = parse_line(line);

        check_error(resp, "GenericError", "Migrate recover can only be run "
                    "when postcopy is paused.", "\"r1\"");
        json_object_put(resp);
    }
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

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);

    g_test_add_func("/qmp/greeting", test_greeting);
    g_test_add_func("/qmp/id-verbatim", test_id_verbatim);
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

    return qmp_test_run();
}
