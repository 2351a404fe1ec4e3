/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqtest: the client side of Tandem's qtest and QMP protocols, for C
 * tests written with GTest. qtest_init() starts tandem-system-x86_64 on
 * the test guest with a qtest socket and a QMP monitor, both listened on
 * by the test (Tandem connects as a client), negotiates QMP, and hands
 * back a QTestState. Helpers then poke memory and ports over qtest and
 * run QMP commands, keeping events that arrive meanwhile for
 * qtest_qmp_eventwait().
 *
 * Every wait is bounded (TANDEM_QTEST_TIMEOUT seconds, default 30): a hung
 * or dead Tandem makes the test fail, never hang. Failures abort the test
 * program with a message (GTest reports it); Tandem is started with
 * PR_SET_PDEATHSIG so it never outlives the test program.
 *
 * Environment: TANDEM_BINARY (default: ../../tandem-system-x86_64 from
 * the test binary, i.e. the build directory), TANDEM_GUEST (default:
 * tests/guest/tandem-guest.elf in the build directory),
 * TANDEM_QTEST_LOG=1 (pass -qtest-log /dev/fd/2), TANDEM_QTEST_TIMEOUT.
 */
#ifndef TESTS_QTEST_LIBQTEST_H
#define TESTS_QTEST_LIBQTEST_H

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct QTestState QTestState;

/* The test guest's status page (tests/guest/README.md). */
#define TG_STATUS_ADDR      0x200000ULL
#define TG_STATUS_MAGIC     0x5355544154534754ULL   /* "TGSTATUS" */

/*
 * Starts Tandem with extra_args (split like a shell would) after the
 * harness's own options. Unless extra_args has -kernel, the test guest is
 * booted; unless it has -append, with "workload=idle".
 */
QTestState *qtest_init(const char *extra_args);
QTestState *qtest_initf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * Starts Tandem with -accel qtest (no KVM, no vCPUs, no guest: the test
 * drives the devices over qtest) and extra_args; no -kernel unless
 * extra_args has one. These run on hosts without /dev/kvm, so a case
 * using them is registered with plain g_test_add_func().
 */
QTestState *qtest_init_accel_qtest(const char *extra_args);
QTestState *qtest_initf_accel_qtest(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * The same, negotiating QMP's "oob" capability: commands the schema marks
 * allow-oob (yank) may then be sent as {'exec-oob': NAME, 'id': ID}.
 * Their response can overtake the response of an in-band command still
 * running, so send one only when no other command is outstanding.
 */
QTestState *qtest_init_with_oob(const char *extra_args);
/*
 * Sends quit (if Tandem still runs), waits for it to exit, and frees s.
 * Returns the exit status (128 + signal when killed; -1 if it had to be
 * killed after the timeout).
 */
int qtest_quit(QTestState *s);
/* SIGKILL, reap, free. */
void qtest_kill(QTestState *s);
/* Waits up to timeout_ms for exit; returns the status or -1. */
int qtest_wait_exit(QTestState *s, int timeout_ms);
/* Closes the qtest connection (Tandem then exits). */
void qtest_close_qtest(QTestState *s);
pid_t qtest_pid(QTestState *s);

/* The test guest (TANDEM_GUEST or the build's), for -kernel. */
char *qtest_guest_path(void);

/* A per-process scratch directory, removed at exit; and a path in it. */
const char *qtest_scratch_dir(void);
char *qtest_scratch_path(const char *name);   /* unique: adds a counter */

/* The harness's default timeout in milliseconds. */
int qtest_timeout_ms(void);

/* ---- QMP ---- */

/*
 * Formats a command (single quotes allowed, as json-c accepts them),
 * sends it and returns the response ("return" or "error" object). The
 * caller owns the result (json_object_put). Events read meanwhile are
 * queued for qtest_qmp_eventwait().
 */
json_object *qtest_qmp(QTestState *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
json_object *qtest_vqmp(QTestState *s, const char *fmt, va_list ap)
    G_GNUC_PRINTF(2, 0);
/* Sends without waiting; then qtest_qmp_receive() for the response. */
void qtest_qmp_send(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void qtest_qmp_send_raw(QTestState *s, const char *text);
json_object *qtest_qmp_receive(QTestState *s);
/* Fails the test on an error response; returns a new ref to "return". */
json_object *qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/*
 * Fails the test unless the response is an error; returns its "desc"
 * (g_free) and stores "class" in *cls (g_free) when cls is not NULL.
 */
char *qtest_qmp_assert_error(QTestState *s, char **cls, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* qtest_qmp_assert_success() for a command whose return does not matter. */
void qtest_qmp_ok(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Fails the test unless the command fails with class cls and a "desc"
 * that is desc (_is) or contains needle (_contains). */
void qtest_qmp_assert_error_is(QTestState *s, const char *cls,
                               const char *desc, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
void qtest_qmp_assert_error_contains(QTestState *s, const char *cls,
                                     const char *needle, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/*
 * Sends one QMP command (like qtest_qmp: single quotes allowed) with fd
 * attached (SCM_RIGHTS), as libvirt passes fds for getfd; returns the
 * response (caller owns it).
 */
json_object *qtest_qmp_fd(QTestState *s, int fd, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* query-status: the run state (valid until the next call) and, unless
 * running is NULL, whether the guest runs. */
const char *qtest_runstate(QTestState *s, bool *running);
/* Waits for event name (queued or new); returns it, caller owns it. */
json_object *qtest_qmp_eventwait(QTestState *s, const char *event);
/* Same, but NULL after timeout_ms. */
json_object *qtest_qmp_eventwait_timeout(QTestState *s, const char *event,
                                         int timeout_ms);
/* Drops queued events. */
void qtest_qmp_clear_events(QTestState *s);
/* human-monitor-command; returns its output (g_free). */
char *qtest_hmp(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Small json-c helpers: NULL when absent or of another type. */
const char *qt_json_str(json_object *o, const char *key);
json_object *qt_json_get(json_object *o, const char *key);
bool qt_json_has(json_object *o, const char *key);

/* ---- qtest ---- */

/* Sends one raw command line; returns the reply line without "\n". */
char *qtest_raw(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * Interrupts under -accel qtest (system/qtest.c): after intercepting a
 * source ("ioapic": its 24 pins), the server sends "IRQ raise N" and
 * "IRQ lower N" lines whenever a line changes; every command's wait
 * records them. qtest_get_irq() returns line n's level as of now.
 */
#define QTEST_IRQ_MAX 256
void qtest_irq_intercept_in(QTestState *s, const char *name);
void qtest_irq_intercept_out(QTestState *s, const char *name);
bool qtest_get_irq(QTestState *s, unsigned n);

uint8_t qtest_readb(QTestState *s, uint64_t addr);
uint16_t qtest_readw(QTestState *s, uint64_t addr);
uint32_t qtest_readl(QTestState *s, uint64_t addr);
uint64_t qtest_readq(QTestState *s, uint64_t addr);
void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value);
void qtest_writew(QTestState *s, uint64_t addr, uint16_t value);
void qtest_writel(QTestState *s, uint64_t addr, uint32_t value);
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value);
/* read/write (hex) */
void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t size);
void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size);
/* b64read/b64write */
void qtest_bufread(QTestState *s, uint64_t addr, void *buf, size_t size);
void qtest_bufwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size);
void qtest_memset(QTestState *s, uint64_t addr, uint8_t byte, size_t size);

void qtest_outb(QTestState *s, uint16_t port, uint8_t value);
void qtest_outw(QTestState *s, uint16_t port, uint16_t value);
void qtest_outl(QTestState *s, uint16_t port, uint32_t value);
uint8_t qtest_inb(QTestState *s, uint16_t port);
uint16_t qtest_inw(QTestState *s, uint16_t port);
uint32_t qtest_inl(QTestState *s, uint16_t port);

/*
 * Sends all of buf on fd (a socket), polling while it is full; false if
 * the peer is gone or deadline (monotonic us) passes first.
 */
bool qtest_write_all(int fd, const void *buf, size_t len, gint64 deadline);

/* Polls the status page until the test guest has booted. */
void qtest_wait_guest_boot(QTestState *s);

/* Polls a file until it holds at least count copies of needle. */
bool qtest_wait_file_count(const char *path, const char *needle,
                           unsigned count, int timeout_ms);
unsigned qtest_file_count(const char *path, const char *needle);

#endif
