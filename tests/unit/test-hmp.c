/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP commands as an operator types them, through human-monitor-command
 * on an in-process QMP monitor (no /dev/kvm): QEMU's spellings and texts
 * for the QOM, chardev, tracing and fd commands, and the one argument
 * parser every HMP command uses (options, word counts, a rest-of-line
 * value, the usage line on a mistake).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "net/netdev.h"
#include "qmp-test-client.h"

/* The command's output (CRLF kept, as QEMU sends it). */
static char *hmp(Client *c, const char *cmdline)
{
    json_object *req = json_object_new_object();
    json_object *args = json_object_new_object();
    json_object *resp;
    g_autofree char *line = NULL;
    char *out;

    json_object_object_add(req, "execute",
                           json_object_new_string("human-monitor-command"));
    json_object_object_add(args, "command-line",
                           json_object_new_string(cmdline));
    json_object_object_add(req, "arguments", args);
    line = g_strdup_printf("%s\n", json_object_to_json_string_ext(
                               req, JSON_C_TO_STRING_PLAIN));
    json_object_put(req);
    resp = expect_return(c, line, NULL);
    out = g_strdup(json_object_get_string(member(resp, "return")));
    json_object_put(resp);
    return out;
}

/* HMP ends its lines in CRLF; the expectations here are written in LF. */
static char *crlf(const char *text)
{
    g_auto(GStrv) parts = g_strsplit(text, "\n", -1);

    return g_strjoinv("\r\n", parts);
}

static void hmp_is(Client *c, const char *cmdline, const char *want)
{
    g_autofree char *out = hmp(c, cmdline);
    g_autofree char *w = crlf(want);

    if (strcmp(out, w)) {
        g_error("'%s' printed '%s', expected '%s'", cmdline, out, w);
    }
}

static void hmp_has(Client *c, const char *cmdline, const char *part)
{
    g_autofree char *out = hmp(c, cmdline);
    g_autofree char *p = crlf(part);

    if (!strstr(out, p)) {
        g_error("'%s' printed '%s', which lacks '%s'", cmdline, out, p);
    }
}

static void hmp_lacks(Client *c, const char *cmdline, const char *part)
{
    g_autofree char *out = hmp(c, cmdline);
    g_autofree char *p = crlf(part);

    if (strstr(out, p)) {
        g_error("'%s' printed '%s', which has '%s'", cmdline, out, p);
    }
}

/* object_add/object_del, qom-list, qom-get, info qom-tree, info
 * iothreads. */
static void test_objects(void)
{
    Client *c = client_new();

    negotiate(c, false);
    hmp_is(c, "object_add iothread,id=io0,poll-max-ns=1000", "");
    hmp_has(c, "info iothreads", "io0:\n  thread_id=");
    hmp_has(c, "info iothreads", "  poll-max-ns=1000\n");
    hmp_has(c, "qom-list /objects/io0", "poll-max-ns (int)\n");
    hmp_has(c, "qom-list /objects", "io0 (child<iothread>)\n");
    hmp_is(c, "qom-list", "/\n");
    hmp_is(c, "object_add iothread,id=a1", "");
    /* Children in name order, not creation order, as QEMU lists them. */
    hmp_is(c, "info qom-tree /objects",
           "/objects (container)\n  /a1 (iothread)\n  /io0 (iothread)\n");
    hmp_is(c, "object_del a1", "");
    hmp_has(c, "info qom-tree /", "/ (container)\n  /machine (");
    hmp_has(c, "info qom-tree", "/machine (");
    hmp_lacks(c, "info qom-tree", "/objects");
    hmp_is(c, "info qom-tree /nope", "Path '/nope' could not be resolved.\n");
    hmp_is(c, "qom-get /objects/io0 poll-max-ns", "1000\n");
    hmp_is(c, "qom-get /objects/io0 type", "\"iothread\"\n");
    hmp_has(c, "qom-get /objects/io0 nope",
            "Error: Property 'iothread.nope' not found");
    /* The JSON spelling of -object works too. */
    hmp_is(c, "object_add {\"qom-type\": \"iothread\", \"id\": \"io1\"}", "");
    hmp_has(c, "object_add iothread,id=io1", "Error: ");
    hmp_is(c, "object_del io1", "");
    hmp_is(c, "object_del io0", "");
    hmp_has(c, "object_del io0", "Error: ");
    hmp_lacks(c, "info iothreads", "io0");
    client_free(c);
}

/* qom-set: text by the property's type, -j JSON; what cannot change
 * after creation says so. */
static void test_qom_set(void)
{
    Client *c = client_new();
    Error *err = NULL;

    negotiate(c, false);
    g_assert_nonnull(net_netdev_add_cmdline("hubport,id=hp0,hubid=0", &err));
    hmp_is(c, "object_add filter-buffer,id=f0,netdev=hp0,interval=100000",
           "");
    hmp_is(c, "qom-get /objects/f0 status", "\"on\"\n");
    hmp_is(c, "qom-set /objects/f0 status off", "");
    hmp_is(c, "qom-get /objects/f0 status", "\"off\"\n");
    hmp_is(c, "qom-set -j /objects/f0 status \"on\"", "");
    hmp_is(c, "qom-get /objects/f0 status", "\"on\"\n");
    hmp_has(c, "qom-set -j /objects/f0 status {\"x\": ", "Error: VALUE is "
            "not JSON");
    hmp_has(c, "qom-set -j /objects/f0 status 1", "Error: ");
    hmp_has(c, "qom-set /objects/f0 status maybe", "Error: ");
    hmp_has(c, "qom-set /objects/f0 interval 5",
            "Error: Property 'filter-buffer.interval' can't be set after "
            "creation");
    hmp_has(c, "qom-set /objects/nope status off", "Error: ");
    hmp_has(c, "qom-set /objects/f0 status", "Error: usage: qom-set [-j] "
            "PATH PROPERTY VALUE");
    hmp_is(c, "object_del f0", "");
    client_free(c);
}

static void test_chardev(void)
{
    Client *c = client_new();

    negotiate(c, false);
    hmp_is(c, "chardev-add null,id=c0", "");
    hmp_has(c, "info chardev", "c0: filename=null\n");
    hmp_has(c, "chardev-add null,id=c0", "Error: ");
    hmp_has(c, "chardev-add", "Error: usage: chardev-add");
    hmp_is(c, "chardev-remove c0", "");
    hmp_has(c, "chardev-remove c0", "Error: Chardev 'c0' not found");
    hmp_lacks(c, "info chardev", "c0:");
    client_free(c);
}

/* trace-event and info trace-events, on an event that is really there
 * (hmp_execute traces every HMP line), with QMP's state beside it. */
static void test_trace(void)
{
    Client *c = client_new();
    json_object *resp, *list;

    negotiate(c, false);
    hmp_is(c, "info trace-events hmp_execute", "hmp_execute : state 0\n");
    hmp_is(c, "trace-event hmp_execute on", "");
    hmp_is(c, "info trace-events hmp_exec*", "hmp_execute : state 1\n");
    resp = expect_return(c, "{\"execute\":\"trace-event-get-state\","
                         "\"arguments\":{\"name\":\"hmp_execute\"}}\n", NULL);
    list = member(resp, "return");
    g_assert_cmpuint(json_object_array_length(list), ==, 1);
    g_assert_cmpstr(json_object_get_string(
        member(json_object_array_get_idx(list, 0), "state")), ==, "enabled");
    g_assert_false(json_object_get_boolean(
        member(json_object_array_get_idx(list, 0), "vcpu")));
    json_object_put(resp);
    json_object_put(expect_return(c, "{\"execute\":\"trace-event-set-state\","
                                  "\"arguments\":{\"name\":\"hmp_exec*\","
                                  "\"enable\":false}}\n", NULL));
    hmp_is(c, "info trace-events hmp_execute", "hmp_execute : state 0\n");
    /* A name that is no event is a mistake; a pattern may match none. */
    hmp_is(c, "trace-event no_such_event on",
           "Error: unknown event \"no_such_event\"\n");
    hmp_is(c, "trace-event no_such_* on", "");
    expect_error(c, "{\"execute\":\"trace-event-get-state\",\"arguments\":"
                 "{\"name\":\"no_such_event\"}}\n", "GenericError",
                 "unknown event \"no_such_event\"", NULL);
    expect_error(c, "{\"execute\":\"trace-event-set-state\",\"arguments\":"
                 "{\"name\":\"hmp_execute\",\"enable\":true,\"vcpu\":0}}\n",
                 "GenericError", "is not vCPU-specific", NULL);
    hmp_has(c, "trace-event hmp_execute maybe", "Error: ");
    client_free(c);
}

/* getfd through human-monitor-command takes the fd that came with the
 * QMP request, as QEMU's does; closefd closes it. */
static void test_getfd(void)
{
    Client *c = client_new();
    int p[2];
    char b;

    negotiate(c, false);
    g_assert_cmpint(pipe2(p, O_CLOEXEC | O_NONBLOCK), ==, 0);
    send_str_with_fd(c, "{\"execute\":\"human-monitor-command\",\"arguments\""
                     ":{\"command-line\":\"getfd hp1\"}}\n", p[1]);
    close(p[1]);
    json_object_put(check_return(recv_json(c), NULL));
    g_assert_cmpint(read(p[0], &b, 1), ==, -1);
    g_assert_cmpint(errno, ==, EAGAIN);         /* the monitor holds it */
    hmp_is(c, "closefd hp1", "");
    for (int i = 0; i < 100 && read(p[0], &b, 1) != 0; i++) {
        spin(c);
    }
    g_assert_cmpint(read(p[0], &b, 1), ==, 0);  /* closed: EOF */
    close(p[0]);
    hmp_has(c, "getfd hp2", "Error: No file descriptor supplied via "
            "SCM_RIGHTS");
    hmp_has(c, "closefd", "Error: usage: closefd NAME");
    client_free(c);
}

/* The argument rules, seen through commands that use each of them. */
static void test_args(void)
{
    Client *c = client_new();

    negotiate(c, false);
    /* An option the command does not have, or one after the words. */
    hmp_is(c, "block_job_cancel -x j0",
           "Error: usage: block_job_cancel [-f] device\n");
    hmp_is(c, "block_job_cancel j0 -f",
           "Error: usage: block_job_cancel [-f] device\n");
    /* Too few, too many. */
    hmp_is(c, "block_job_set_speed j0",
           "Error: usage: block_job_set_speed device speed\n");
    hmp_is(c, "set_link a b c", "Error: usage: set_link name on|off\n");
    /* Blanks around and between words do not count. */
    hmp_has(c, "  block_job_complete \t j0  ", "Error: ");
    hmp_lacks(c, "  block_job_complete \t j0  ", "usage");
    /* A double-quoted word holds blanks and QEMU's escapes; a quote left
     * open, or an escape QEMU does not know, is a usage error. */
    hmp_is(c, "chardev-remove \"a b\\\"c\"",
           "Error: Chardev 'a b\"c' not found\n");
    hmp_is(c, "chardev-remove \"a b", "Error: usage: chardev-remove ID\n");
    hmp_is(c, "chardev-remove \"a\\qb\"",
           "Error: usage: chardev-remove ID\n");
    hmp_is(c, "chardev-remove a b", "Error: usage: chardev-remove ID\n");
    /* The rest of the line, blanks and all, is one value. */
    hmp_is(c, "object_add {\"qom-type\":  \"iothread\",  \"id\": \"io9\"}",
           "");
    hmp_is(c, "object_del io9", "");
    /* help lists the new commands in QEMU's form. */
    hmp_has(c, "help qom-set", "qom-set [-j] path property value -- ");
    hmp_has(c, "help", "object_add [qom-type=]type,id=str");
    hmp_has(c, "help", "announce_self [interfaces] [id] -- ");
    hmp_has(c, "help info", "info trace-events [name] -- ");
    client_free(c);
}

static void test_misc(void)
{
    Client *c = client_new();

    negotiate(c, false);
    hmp_is(c, "info uuid", "00000000-0000-0000-0000-000000000000\n");
    hmp_is(c, "announce_self", "");
    hmp_is(c, "announce_self nic0,nic1 a0", "");
    hmp_has(c, "announce_self a b c", "Error: usage: announce_self");
    hmp_has(c, "block_resize nope 1M", "Error: ");
    hmp_has(c, "block_resize nope lots", "Error: invalid size 'lots'");
    /* A speed is bytes/s with QEMU's suffixes: past the parse, the job
     * is looked up (and is not there). */
    hmp_has(c, "block_job_set_speed nope 10M", "Error: ");
    hmp_lacks(c, "block_job_set_speed nope 10M", "invalid speed");
    hmp_has(c, "block_job_set_speed nope fast", "invalid speed 'fast'");
    client_free(c);
}

static uint64_t mig_param(Client *c, const char *name)
{
    json_object *resp = expect_return(
        c, "{\"execute\":\"query-migrate-parameters\"}\n", NULL);
    uint64_t v = json_object_get_uint64(member(member(resp, "return"), name));

    json_object_put(resp);
    return v;
}

/*
 * migrate_set_parameter in QEMU's HMP units: a runbook's
 * "max-bandwidth 100" is 100 MiB/s (QMP's bytes would crawl), the
 * postcopy bandwidth is bytes; a value out of a parameter's range says
 * so rather than calling the parameter unknown.
 */
static void test_migrate_set_parameter_units(void)
{
    Client *c = client_new();
    g_autofree char *restore = NULL;
    uint64_t bw, pc_bw;

    negotiate(c, false);
    bw = mig_param(c, "max-bandwidth");
    pc_bw = mig_param(c, "max-postcopy-bandwidth");
    hmp_is(c, "migrate_set_parameter max-bandwidth 100", "");
    g_assert_cmpuint(mig_param(c, "max-bandwidth"), ==, 100ULL << 20);
    hmp_is(c, "migrate_set_parameter max-bandwidth 1G", "");
    g_assert_cmpuint(mig_param(c, "max-bandwidth"), ==, 1ULL << 30);
    hmp_is(c, "migrate_set_parameter max-bandwidth 4096B", "");
    g_assert_cmpuint(mig_param(c, "max-bandwidth"), ==, 4096);
    hmp_is(c, "migrate_set_parameter max-postcopy-bandwidth 100", "");
    g_assert_cmpuint(mig_param(c, "max-postcopy-bandwidth"), ==, 100);
    hmp_is(c, "migrate_set_parameter max-postcopy-bandwidth 2M", "");
    g_assert_cmpuint(mig_param(c, "max-postcopy-bandwidth"), ==, 2ULL << 20);
    hmp_has(c, "migrate_set_parameter max-bandwidth fast", "Error: ");
    hmp_is(c, "migrate_set_parameter downtime-limit 1M",
           "Error: Parameter 'downtime-limit' expects an integer, not '1M'\n");
    hmp_is(c, "migrate_set_parameter x-checkpoint-delay 5000000000",
           "Error: Parameter 'x-checkpoint-delay' expects a value up to "
           "4294967295\n");
    hmp_is(c, "migrate_set_parameter no-such 1",
           "Error: unknown parameter 'no-such'\n");
    restore = g_strdup_printf(
        "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
        "{\"max-bandwidth\":%" PRIu64 ",\"max-postcopy-bandwidth\":%"
        PRIu64 "}}\n", bw, pc_bw);
    json_object_put(expect_return(c, restore, NULL));
    client_free(c);
}

int main(int argc, char **argv)
{
    qmp_test_init(&argc, &argv);
    g_test_add_func("/hmp/objects", test_objects);
    g_test_add_func("/hmp/qom-set", test_qom_set);
    g_test_add_func("/hmp/chardev", test_chardev);
    g_test_add_func("/hmp/trace", test_trace);
    g_test_add_func("/hmp/getfd", test_getfd);
    g_test_add_func("/hmp/args", test_args);
    g_test_add_func("/hmp/misc", test_misc);
    g_test_add_func("/hmp/migrate-set-parameter/units",
                    test_migrate_set_parameter_units);
    return qmp_test_run();
}
