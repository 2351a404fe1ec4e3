/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO output commit (migration/colo-output.c) without KVM: a guest front
 * end (what the UART is to the chardev layer) attached to a file chardev
 * and writing with chardev_frontend_write(), so its bytes pass the hold
 * stage COLO drives; the checkpoint events delivered by hand through
 * colo_notify(), and the file read back after every step, so each test
 * states exactly which bytes the outside world has seen when. No test
 * calls into COLO to write: like a device, it only writes to its chardev.
 *
 * Most cases are scripts, one token per step:
 *   P / Q      START as primary / secondary
 *   S R L F    CHECKPOINT_STOP, _RECEIVED, _LOADED, FAILOVER
 *   w:TEXT     the guest writes TEXT
 *   =:TEXT     the file now holds exactly TEXT
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "chardev/char.h"
#include "chardev/char-hold.h"
#include "hw/char/serial.h"
#include "migration/colo-output.h"
#include "util/main-loop.h"
/* colo_run_begin/end: a real primary mode for the checkpoint trigger. */
#include "../../migration/colo-internal.h"

static char *tmp_dir;

/* A file chardev and one guest front end on it, the fixture itself. */
typedef struct Fixture {
    char *path;
    Chardev *chr;
    ColoOutput *out;            /* what COLO keeps for the front end */
} Fixture;

/* A front end that only writes: a guest one (as a UART is) or a host
 * one (as a monitor is). */
static void attach_frontend(Chardev *chr, void *opaque, const char *name,
                            bool guest_output)
{
    ChardevFrontend fe = {
        .opaque = opaque,
        .guest_output = guest_output,
        .name = name,
    };

    g_assert_true(chardev_attach_frontend(chr, &fe, &error_abort));
}

static Chardev *new_file_chardev(const char *path)
{
    static unsigned n;
    g_autofree char *opts = g_strdup_printf("file,id=colo-out%u,path=%s",
                                            n++, path);

    return chardev_new_from_opts(opts, &error_abort);
}

static void fixture_init(Fixture *fx)
{
    static unsigned n;

    fx->path = g_strdup_printf("%s/out%u", tmp_dir, n++);
    fx->chr = new_file_chardev(fx->path);
    attach_frontend(fx->chr, fx, "test0", true);
    /* COLO attached by itself: the test never made the output. */
    fx->out = colo_output_find(fx->chr, fx);
    g_assert_nonnull(fx->out);
    /* Device writes and COLO notifiers both hold the BQL. */
    bql_lock();
}

static void fixture_free(Fixture *fx)
{
    bql_unlock();
    chardev_detach_frontend(fx->chr);
    g_assert_null(colo_output_find(fx->chr, fx));
    chardev_close(fx->chr);
    unlink(fx->path);
    g_free(fx->path);
}

/* The guest writes: the ordinary front-end write, all of it taken. */
static void fixture_write(Fixture *fx, const void *buf, size_t len)
{
    g_assert_cmpuint(chardev_frontend_write(fx->chr, fx, buf, len), ==, len);
}

static GByteArray *file_bytes(Fixture *fx)
{
    g_autofree char *text = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(fx->path, &text, &len, NULL));
    return g_byte_array_new_take((guint8 *)g_steal_pointer(&text), len);
}

static void check_file(Fixture *fx, const char *want, const char *script,
                       guint step)
{
    g_autoptr(GByteArray) got = file_bytes(fx);
    g_autofree char *text = g_strndup((const char *)got->data, got->len);

    if (strcmp(text, want)) {
        g_error("script \"%s\", step %u: file holds \"%s\", expected \"%s\"",
                script, step, text, want);
    }
}

static void run_script(const char *script)
{
    g_auto(GStrv) steps = g_strsplit(script, " ", -1);
    COLOMode mode = COLO_MODE_NONE;
    Fixture fx;

    fixture_init(&fx);
    for (guint i = 0; steps[i]; i++) {
        const char *s = steps[i];

        if (g_str_has_prefix(s, "w:")) {
            fixture_write(&fx, s + 2, strlen(s + 2));
        } else if (g_str_has_prefix(s, "=:")) {
            check_file(&fx, s + 2, script, i);
        } else if (!strcmp(s, "P") || !strcmp(s, "Q")) {
            mode = *s == 'P' ? COLO_MODE_PRIMARY : COLO_MODE_SECONDARY;
            colo_notify(COLO_EVENT_START, mode);
        } else if (!strcmp(s, "S")) {
            colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
        } else if (!strcmp(s, "R")) {
            colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
        } else if (!strcmp(s, "L")) {
            colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
        } else if (!strcmp(s, "F")) {
            colo_notify(COLO_EVENT_FAILOVER, mode);
        } else {
            g_error("script \"%s\": bad step \"%s\"", script, s);
        }
    }
    g_assert_cmpuint(colo_output_held(fx.out), ==, 0);
    fixture_free(&fx);
}

static void test_script(gconstpointer data)
{
    run_script(data);
}

static const struct {
    const char *name;
    const char *script;
} scripts[] = {
    { "pass-through", "w:a =:a w:bc =:abc" },
    /* A primary releases an epoch when its checkpoint is received. */
    { "primary/checkpoints",
      "w:pre =:pre P w:a =:pre S =:pre R =:prea w:b w:c =:prea "
      "S =:prea R =:preabc F =:preabc w:d =:preabcd" },
    { "primary/empty-epochs", "P S R S R =: w:a S R =:a F =:a" },
    /* Failover in each phase of the primary's cycle. */
    { "primary/failover-at-start", "P w:a =: F =:a w:b =:ab" },
    { "primary/failover-mid-epoch", "P w:a S R w:b =:a F =:ab w:c =:abc" },
    { "primary/failover-after-stop", "P w:a S R w:b S =:a F =:ab w:c =:abc" },
    /* A checkpoint failed after STOP and the guest ran on (the header
     * says FAILOVER comes next; order must hold anyway). */
    { "primary/failover-sealed-and-current",
      "P w:a S w:b =: F =:ab w:c =:abc" },
    { "primary/stop-twice", "P w:a S w:b S =: R =:ab F =:ab" },
    { "primary/ignores-loaded", "P w:a L =: S L R =:a F" },
    /* A secondary's epoch is superseded by each loaded checkpoint. */
    { "secondary/checkpoints",
      "Q w:a =: L =: w:b w:c L =: w:d =: F =:d w:e =:de" },
    { "secondary/failover-at-start", "Q w:a F =:a w:b =:ab" },
    { "secondary/failover-after-load", "Q w:a L F =: w:b =:b" },
    { "secondary/failover-mid-epoch", "Q w:a L w:b w:c =: F =:bc" },
    { "secondary/ignores-primary-events", "Q w:a S R =: F =:a" },
    /* Re-protection: a survivor runs COLO again, in either role. */
    { "rerun", "P w:a S R F w:b =:ab Q w:c L w:d F =:abd P w:e S R =:abde F" },
};

/* ---- the checkpoint trigger ---- */

static void write_n(Fixture *fx, size_t n, uint8_t fill)
{
    g_autofree uint8_t *buf = g_malloc(n);

    memset(buf, fill, n);
    fixture_write(fx, buf, n);
}

static size_t file_size(Fixture *fx)
{
    g_autoptr(GByteArray) got = file_bytes(fx);

    return got->len;
}

static void test_trigger(void)
{
    Fixture fx;

    fixture_init(&fx);
    /* Not a COLO primary (colo.c says so): no trigger can be had. */
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    write_n(&fx, COLO_OUTPUT_TRIGGER_BYTES + 1, 'x');
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==, 0);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&fx), ==, COLO_OUTPUT_TRIGGER_BYTES + 1);

    colo_run_begin(colo_current(), COLO_MODE_PRIMARY, NULL, NULL);
    colo_take_triggers(colo_current());
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    /* Up to the threshold: held, nothing asked. */
    write_n(&fx, COLO_OUTPUT_TRIGGER_BYTES, 'a');
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==, 0);
    /* One byte past it: one request. */
    write_n(&fx, 1, 'b');
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==,
                     1u << COLO_TRIGGER_REQUEST);
    /* Once per epoch, not per write. */
    write_n(&fx, 1000, 'c');
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==, 0);
    g_assert_cmpuint(file_size(&fx), ==, COLO_OUTPUT_TRIGGER_BYTES + 1);
    /* The checkpoint it asked for releases it all. */
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==, 0);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    g_assert_cmpuint(colo_output_held(fx.out), ==, 0);
    g_assert_cmpuint(file_size(&fx),
                     ==, 2 * COLO_OUTPUT_TRIGGER_BYTES + 1 + 1 + 1000);
    /* The next epoch may ask again. */
    write_n(&fx, COLO_OUTPUT_TRIGGER_BYTES + 1, 'd');
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==,
                     1u << COLO_TRIGGER_REQUEST);
    /* Sealed bytes count too: a checkpoint stuck after STOP. */
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    write_n(&fx, 1, 'e');
    g_assert_cmpuint(colo_take_triggers(colo_current()), ==,
                     1u << COLO_TRIGGER_REQUEST);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    colo_run_end(colo_current(), COLO_EXIT_REASON_REQUEST, false);
    g_assert_cmpuint(colo_output_held(fx.out), ==, 0);
    g_assert_cmpuint(file_size(&fx),
                     ==, 3 * COLO_OUTPUT_TRIGGER_BYTES + 1 + 1 + 1000 + 1 + 1);
    fixture_free(&fx);
}

/* ---- the hard cap ---- */

/* Fills to the cap and 100 bytes over; the file sees none of it yet. */
static void fill_over_cap(Fixture *fx)
{
    for (size_t i = 0; i < COLO_OUTPUT_MAX_BYTES / 4096; i++) {
        write_n(fx, 4096, 'a' + i % 26);
    }
    g_assert_cmpuint(colo_output_dropped(fx->out), ==, 0);
    /* Cut in the middle of a write: the head is kept. */
    write_n(fx, 1, '!');
    write_n(fx, 99, '?');
    g_assert_cmpuint(colo_output_held(fx->out), ==, COLO_OUTPUT_MAX_BYTES);
    g_assert_cmpuint(colo_output_dropped(fx->out), ==, 100);
    g_assert_cmpuint(file_size(fx), ==, 0);
}

static void test_cap_primary_run(void)
{
    g_autoptr(GByteArray) got = NULL;
    Fixture fx;

    fixture_init(&fx);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    fill_over_cap(&fx);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    got = file_bytes(&fx);
    g_assert_cmpuint(got->len, ==, COLO_OUTPUT_MAX_BYTES);
    /* What was kept is the head, in order. */
    for (size_t i = 0; i < got->len; i += 4096) {
        g_assert_cmpint(got->data[i], ==, 'a' + (i / 4096) % 26);
    }
    /* Released: room again; a second overflow still warns only once. */
    write_n(&fx, 7, 'z');
    g_assert_cmpuint(colo_output_held(fx.out), ==, 7);
    write_n(&fx, COLO_OUTPUT_MAX_BYTES, 'y');
    g_assert_cmpuint(colo_output_dropped(fx.out), ==, 107);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&fx), ==, 2 * COLO_OUTPUT_MAX_BYTES);
    /* A new run counts afresh. */
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    g_assert_cmpuint(colo_output_dropped(fx.out), ==, 0);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    fixture_free(&fx);
}

static void test_cap_secondary_run(void)
{
    Fixture fx;

    fixture_init(&fx);
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    fill_over_cap(&fx);
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    g_assert_cmpuint(colo_output_held(fx.out), ==, 0);
    g_assert_cmpuint(file_size(&fx), ==, 0);
    write_n(&fx, 5, 's');
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    g_assert_cmpuint(file_size(&fx), ==, 5);
    g_assert_cmpuint(colo_output_dropped(fx.out), ==, 100);
    fixture_free(&fx);
}

/* The warning goes to stderr once a run, whatever the overflow. */
static void test_cap(gconstpointer data)
{
    const char *side = data;

    if (g_test_subprocess()) {
        if (!strcmp(side, "primary")) {
            test_cap_primary_run();
        } else {
            test_cap_secondary_run();
        }
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*test0: more than 16777216 bytes of guest "
                              "output held; dropping output*");
    g_test_trap_assert_stderr_unmatched("*dropping output*dropping output*");
}

/* ---- several outputs, outputs made during a run, quitting ---- */

static void test_two_outputs(void)
{
    Fixture a, b;

    fixture_init(&a);
    bql_unlock();
    fixture_init(&b);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    fixture_write(&a, "A", 1);
    fixture_write(&b, "B", 1);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&a), ==, 1);
    g_assert_cmpuint(file_size(&b), ==, 1);
    /* Freeing one leaves the other on the notifier. */
    fixture_free(&a);
    bql_lock();
    fixture_write(&b, "b", 1);
    g_assert_cmpuint(file_size(&b), ==, 1);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&b), ==, 2);
    fixture_free(&b);
}

static void test_new_during_run(void)
{
    Fixture a, b;

    fixture_init(&a);
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    bql_unlock();
    fixture_init(&b);
    /* Born into the run: held like the others. */
    fixture_write(&b, "x", 1);
    g_assert_cmpuint(file_size(&b), ==, 0);
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    fixture_write(&b, "y", 1);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    g_assert_cmpuint(file_size(&b), ==, 1);
    /* After the run: straight through. */
    fixture_free(&b);
    bql_lock();
    fixture_write(&a, "z", 1);
    g_assert_cmpuint(file_size(&a), ==, 1);
    fixture_free(&a);
}

/* A quitting secondary's own output is no one's: dropped, not written.
 * A quitting primary's is the guest's: written. (Subprocess: quitting
 * cannot be undone.) */
static void test_quit(void)
{
    Fixture fx;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
        g_test_trap_assert_passed();
        return;
    }
    colo_begin_quit(colo_current());
    fixture_init(&fx);
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    fixture_write(&fx, "svm", 3);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    g_assert_cmpuint(file_size(&fx), ==, 0);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    fixture_write(&fx, "pvm", 3);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&fx), ==, 3);
    fixture_free(&fx);
}

/* ---- front ends: a second one, host ones, the stage off ---- */

static void expect_file(Fixture *fx, const char *want, guint line)
{
    g_autoptr(GByteArray) got = file_bytes(fx);
    g_autofree char *text = g_strndup((const char *)got->data, got->len);

    if (strcmp(text, want)) {
        g_error("line %u: file holds \"%s\", expected \"%s\"", line, text,
                want);
    }
}

/*
 * A UART and a second guest front end (a console, not a UART) share one
 * file with a host front end (a monitor) through a mux, as -serial
 * mon:stdio shares a terminal between the UART and HMP. Each guest front
 * end is held by the same rules, on its own; the monitor's bytes are the
 * host's and are never held, not even on a secondary.
 */
static void test_second_frontend(void)
{
    g_autofree char *path = g_strdup_printf("%s/mux", tmp_dir);
    Chardev *file = new_file_chardev(path);
    Chardev *mux = chardev_mux_new("colo-mux", file, &error_abort);
    Fixture uart = { path, mux }, console = { path, mux }, mon = { path, mux };

    attach_frontend(mux, &uart, "test0", true);
    attach_frontend(mux, &mon, "monitor0", false);
    attach_frontend(mux, &console, "console1", true);
    uart.out = colo_output_find(mux, &uart);
    console.out = colo_output_find(mux, &console);
    g_assert_nonnull(uart.out);
    g_assert_nonnull(console.out);
    g_assert_true(uart.out != console.out);
    g_assert_null(colo_output_find(mux, &mon));
    bql_lock();

    /* Primary: both held until the checkpoint is received; each front
     * end's bytes stay in order (the outputs go out in attach order). */
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    fixture_write(&uart, "u1", 2);
    fixture_write(&mon, "m1", 2);
    fixture_write(&console, "c1", 2);
    expect_file(&uart, "m1", __LINE__);
    g_assert_cmpuint(colo_output_held(console.out), ==, 2);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    expect_file(&uart, "m1", __LINE__);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    expect_file(&uart, "m1u1c1", __LINE__);
    fixture_write(&console, "c2", 2);
    fixture_write(&uart, "u2", 2);
    fixture_write(&mon, "m2", 2);
    expect_file(&uart, "m1u1c1m2", __LINE__);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    expect_file(&uart, "m1u1c1m2u2c2", __LINE__);
    fixture_write(&console, "c3", 2);
    expect_file(&uart, "m1u1c1m2u2c2c3", __LINE__);

    /* Secondary: both front ends' own epochs superseded at each load. */
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    fixture_write(&uart, "x", 1);
    fixture_write(&console, "y", 1);
    fixture_write(&mon, "M", 1);
    expect_file(&uart, "m1u1c1m2u2c2c3M", __LINE__);
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    g_assert_cmpuint(colo_output_held(uart.out), ==, 0);
    g_assert_cmpuint(colo_output_held(console.out), ==, 0);
    fixture_write(&console, "z", 1);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    expect_file(&uart, "m1u1c1m2u2c2c3Mz", __LINE__);
    bql_unlock();

    /* One detach takes every front end of the mux, and their outputs. */
    chardev_detach_frontend(mux);
    g_assert_null(colo_output_find(mux, &uart));
    g_assert_null(colo_output_find(mux, &console));
    chardev_close(mux);
    chardev_close(file);
    unlink(path);
}

/* A guest front end's stage is off outside a run: straight through. */
static void test_stage_inactive(void)
{
    ChardevHoldStage *stage;
    Fixture fx;

    fixture_init(&fx);
    stage = chardev_hold_find(fx.chr, &fx);
    g_assert_nonnull(stage);
    g_assert_cmpstr(chardev_hold_name(stage), ==, "test0");
    g_assert_false(chardev_hold_active(stage));
    fixture_write(&fx, "a", 1);
    expect_file(&fx, "a", __LINE__);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    g_assert_true(chardev_hold_active(stage));
    fixture_write(&fx, "b", 1);
    expect_file(&fx, "a", __LINE__);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    g_assert_false(chardev_hold_active(stage));
    expect_file(&fx, "ab", __LINE__);
    fixture_write(&fx, "c", 1);
    expect_file(&fx, "abc", __LINE__);
    fixture_free(&fx);
}

/* A host front end (guest_output unset) has no stage: during a run on
 * either side its bytes go straight through, as monitors' replies must. */
static void test_host_frontend(void)
{
    g_autofree char *path = g_strdup_printf("%s/host", tmp_dir);
    Fixture fx = { path, new_file_chardev(path) };

    attach_frontend(fx.chr, &fx, NULL, false);
    g_assert_null(chardev_hold_find(fx.chr, &fx));
    g_assert_null(colo_output_find(fx.chr, &fx));
    bql_lock();
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    fixture_write(&fx, "q", 1);
    expect_file(&fx, "q", __LINE__);
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    fixture_write(&fx, "p", 1);
    expect_file(&fx, "qp", __LINE__);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    expect_file(&fx, "qp", __LINE__);
    bql_unlock();
    chardev_detach_frontend(fx.chr);
    chardev_close(fx.chr);
    unlink(path);
}

/*
 * The real UART, which calls nothing of COLO: the guest's THR writes are
 * held all the same, because it attached as a guest front end.
 */
static void test_uart(void)
{
    g_autofree char *path = g_strdup_printf("%s/uart", tmp_dir);
    Fixture fx = { path, new_file_chardev(path) };
    IoBus pio = { .name = "pio" };
    SerialState *uart;

    bql_lock();
    uart = serial_isa_new(&pio, 0x3f8, (IrqLine){ 0 }, fx.chr, "serial0",
                          &error_abort);
    fx.out = colo_output_find(fx.chr, uart);
    g_assert_nonnull(fx.out);
    io_bus_write(&pio, 0x3f8, 1, 'h');
    expect_file(&fx, "h", __LINE__);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    io_bus_write(&pio, 0x3f8, 1, 'i');
    expect_file(&fx, "h", __LINE__);
    g_assert_cmpuint(colo_output_held(fx.out), ==, 1);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    expect_file(&fx, "hi", __LINE__);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_START, COLO_MODE_SECONDARY);
    io_bus_write(&pio, 0x3f8, 1, 'x');
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    io_bus_write(&pio, 0x3f8, 1, '!');
    expect_file(&fx, "hi", __LINE__);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    expect_file(&fx, "hi!", __LINE__);
    serial_free(uart);
    g_assert_null(colo_output_find(fx.chr, uart));
    bql_unlock();
    io_bus_free(&pio);
    chardev_close(fx.chr);
    unlink(path);
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp("test-colo-output-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    for (size_t i = 0; i < G_N_ELEMENTS(scripts); i++) {
        g_autofree char *path = g_strdup_printf("/colo-output/%s",
                                                scripts[i].name);

        g_test_add_data_func(path, scripts[i].script, test_script);
    }
    g_test_add_func("/colo-output/trigger", test_trigger);
    g_test_add_data_func("/colo-output/cap/primary", "primary", test_cap);
    g_test_add_data_func("/colo-output/cap/secondary", "secondary", test_cap);
    g_test_add_func("/colo-output/two-outputs", test_two_outputs);
    g_test_add_func("/colo-output/new-during-run", test_new_during_run);
    g_test_add_func("/colo-output/quit", test_quit);
    g_test_add_func("/colo-output/second-frontend", test_second_frontend);
    g_test_add_func("/colo-output/stage-inactive", test_stage_inactive);
    g_test_add_func("/colo-output/host-frontend", test_host_frontend);
    g_test_add_func("/colo-output/uart", test_uart);
    rc = g_test_run();
    rmdir(tmp_dir);
    g_free(tmp_dir);
    return rc;
}
