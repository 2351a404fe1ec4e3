/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO output commit (migration/colo-output.c) without KVM: a ColoOutput
 * on a file chardev, the checkpoint events delivered by hand through
 * colo_notify(), and the file read back after every step, so each test
 * states exactly which bytes the outside world has seen when.
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
#include "migration/colo-output.h"
#include "util/main-loop.h"
/* colo_run_begin/end: a real primary mode for the checkpoint trigger. */
#include "../../migration/colo-internal.h"

static char *tmp_dir;

typedef struct Fixture {
    char *path;
    Chardev *chr;
    ColoOutput *out;
} Fixture;

static void fixture_init(Fixture *fx)
{
    static unsigned n;
    g_autofree char *opts = NULL;

    fx->path = g_strdup_printf("%s/out%u", tmp_dir, n);
    opts = g_strdup_printf("file,id=colo-out%u,path=%s", n, fx->path);
    n++;
    fx->chr = chardev_new_from_opts(opts, &error_abort);
    fx->out = colo_output_new(fx->chr, "test0");
    /* Device writes and COLO notifiers both hold the BQL. */
    bql_lock();
}

static void fixture_free(Fixture *fx)
{
    bql_unlock();
    colo_output_free(fx->out);
    chardev_close(fx->chr);
    unlink(fx->path);
    g_free(fx->path);
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
            colo_output_write(fx.out, (const uint8_t *)s + 2, strlen(s + 2));
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
    colo_output_write(fx->out, buf, n);
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
    colo_output_write(a.out, (const uint8_t *)"A", 1);
    colo_output_write(b.out, (const uint8_t *)"B", 1);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_CHECKPOINT_RECEIVED, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&a), ==, 1);
    g_assert_cmpuint(file_size(&b), ==, 1);
    /* Freeing one leaves the other on the notifier. */
    fixture_free(&a);
    bql_lock();
    colo_output_write(b.out, (const uint8_t *)"b", 1);
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
    colo_output_write(b.out, (const uint8_t *)"x", 1);
    g_assert_cmpuint(file_size(&b), ==, 0);
    colo_notify(COLO_EVENT_CHECKPOINT_LOADED, COLO_MODE_SECONDARY);
    colo_output_write(b.out, (const uint8_t *)"y", 1);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    g_assert_cmpuint(file_size(&b), ==, 1);
    /* After the run: straight through. */
    fixture_free(&b);
    bql_lock();
    colo_output_write(a.out, (const uint8_t *)"z", 1);
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
    colo_output_write(fx.out, (const uint8_t *)"svm", 3);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_SECONDARY);
    g_assert_cmpuint(file_size(&fx), ==, 0);
    colo_notify(COLO_EVENT_START, COLO_MODE_PRIMARY);
    colo_output_write(fx.out, (const uint8_t *)"pvm", 3);
    colo_notify(COLO_EVENT_CHECKPOINT_STOP, COLO_MODE_PRIMARY);
    colo_notify(COLO_EVENT_FAILOVER, COLO_MODE_PRIMARY);
    g_assert_cmpuint(file_size(&fx), ==, 3);
    fixture_free(&fx);
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
    rc = g_test_run();
    rmdir(tmp_dir);
    g_free(tmp_dir);
    return rc;
}
