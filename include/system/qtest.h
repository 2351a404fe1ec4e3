/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qtest server: a line-based test protocol on a chardev (-qtest DEV)
 * that lets a test program poke guest RAM, MMIO and I/O ports beside KVM,
 * while the vCPUs run, or drive the devices with no vCPU at all under
 * -accel qtest (then it also reports interrupt lines: irq_intercept_in).
 * Every command is one line and gets one reply line (interrupt lines
 * aside), "OK [VALUE]" or "FAIL REASON"; system/qtest.c documents them.
 * It runs on the main loop with the BQL held. When the test's end of the
 * connection closes, Tandem shuts down (exit status 0), as QEMU does when
 * its test harness goes away.
 */
#ifndef SYSTEM_QTEST_H
#define SYSTEM_QTEST_H

#include <stdbool.h>
#include "util/error.h"

/*
 * -qtest SPEC [-qtest-log LOGFILE]: SPEC is a legacy chardev spelling
 * (unix:PATH, unix:PATH,server=on,wait=off, tcp:..., chardev:ID).
 * LOGFILE may be NULL, a path, or /dev/fd/N (a duplicate of fd N is used,
 * so /dev/fd/2 logs to stderr without truncating it).
 */
bool qtest_server_init(const char *spec, const char *logfile, Error **errp);
/* Detaches from the chardev and closes the log; before chardev_close_all. */
void qtest_server_cleanup(void);
bool qtest_enabled(void);

/*
 * Interrupt sources a test may intercept (irq_intercept_in NAME,
 * irq_intercept_out NAME), as QEMU's qtest intercepts a device's GPIO
 * lines. A source is owned by its model (e.g. hw/i386/qtest-irq.c, the
 * "ioapic" of the pc under -accel qtest), which reports every level
 * change; the server sends "IRQ raise N" / "IRQ lower N" to the client
 * for the intercepted source only. One interception per process, as in
 * QEMU.
 */
typedef struct QtestIrqSource {
    const char *name;
    unsigned nr_in;             /* input lines (irq_intercept_in) */
    const bool *in_levels;      /* [nr_in], the levels now */
    unsigned nr_out;            /* output lines (irq_intercept_out) */
    const bool *out_levels;     /* [nr_out] */
} QtestIrqSource;

void qtest_irq_source_add(QtestIrqSource *src);
void qtest_irq_source_remove(QtestIrqSource *src);
/* Input line n of src is now level (the model changed it). */
void qtest_irq_changed(QtestIrqSource *src, unsigned n, bool level);
/* Output line n of src is now level. */
void qtest_irq_out_changed(QtestIrqSource *src, unsigned n, bool level);

/*
 * Runs one command line (without its newline) and returns the reply line
 * (without its newline). Exposed for tests; the server uses it per line.
 */
char *qtest_process_line(const char *line);

#endif
