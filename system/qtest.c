/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qtest server (-qtest DEV): a text protocol with which test programs
 * read and write guest RAM, MMIO and I/O ports while the guest runs under
 * KVM, or with no guest at all under -accel qtest (include/system/accel.h). It is a chardev frontend on the main loop, so every command runs
 * with the BQL held, between vCPU exits of device emulation.
 *
 * One command per line ('\n', an optional '\r' before it is dropped),
 * words separated by spaces or tabs, one reply line per command. Numbers
 * are unsigned decimal or 0x hex (also 0 octal, as strtoull base 0); a
 * sign, trailing junk or overflow is an error. Replies:
 *
 *   endianness                    OK little
 *   outb|outw|outl PORT VALUE     OK             (port I/O bus)
 *   inb                           OK 0x%02x      (width follows the size:
 *   inw                           OK 0x%04x       clients parse the number,
 *   inl                           OK 0x%08x       not its width)
 *   writeb|w|l|q ADDR VALUE       OK             (RAM, else the MMIO bus)
 *   readb|w|l|q ADDR              OK 0x%016x     (always 16 digits)
 *   read ADDR SIZE                OK 0xHEX       (2*SIZE lower-case digits)
 *   write ADDR SIZE 0xHEX         OK             (exactly 2*SIZE digits)
 *   b64read ADDR SIZE             OK BASE64
 *   b64write ADDR SIZE BASE64     OK             (must decode to SIZE bytes)
 *   memset ADDR SIZE BYTE         OK
 *   irq_intercept_in NAME         OK             (see below)
 *   irq_intercept_out NAME        OK
 *
 * Values are little-endian, as in the guest. A VALUE wider than the access
 * is refused. The bulk commands (read, write, b64read, b64write, memset)
 * work on RAM only, at most QTEST_MAX_SIZE bytes per command; read and
 * b64read need SIZE >= 1, while the writes and memset accept 0 (no-op).
 * A scalar access that is not RAM goes to the MMIO bus, and fails when
 * nothing is mapped there either (the in-kernel LAPIC and IOAPIC are not
 * on it). Every error is one line "FAIL REASON", and the connection stays
 * usable: "FAIL Unknown command 'X'", "FAIL readb: expected 1 argument",
 * "FAIL readb: bad number 'zz'", "FAIL readb: guest range ... is not RAM".
 * Empty lines are ignored. A line longer than QTEST_MAX_LINE is dropped
 * and answered with FAIL once its newline arrives.
 *
 * Interrupts (QEMU's protocol): "irq_intercept_in NAME" starts
 * reporting the input lines of the interrupt source NAME (under -accel
 * qtest the pc has "ioapic": the 24 IOAPIC pins, ISA IRQ n on pin n
 * except IRQ 0 on pin 2, PCI INTx through the PIIX3's routing);
 * "irq_intercept_out NAME" its output lines (the ioapic has none under
 * qtest, there being no LAPIC: as in QEMU the interception is accepted
 * and reports nothing). From then on every level change
 * is sent as an asynchronous line, "IRQ raise N" or "IRQ lower N", which
 * may come before the reply of the command that caused it: clients skip
 * (and record) such lines while waiting for a reply. Lines already high
 * when the interception starts are reported at once (QEMU would report
 * them only on their next change). One interception per process:
 * another fails with "FAIL Interception already enabled". Under KVM
 * there is no source to intercept (the irqchip is in the kernel), and
 * NAME is refused as unknown.
 *
 * With -qtest and no -accel (or -machine accel=), the accelerator is
 * qtest, as in QEMU; tests that want a running guest give -accel kvm.
 *
 * Not implemented: clock_step and clock_set (Tandem's timers run on the
 * host's clock, there is no virtual clock to step), and the other
 * commands of QEMU's protocol; they fail as unknown commands.
 *
 * Nothing is sent on connect: clients start with "endianness". When the
 * peer closes, the process shuts down (exit status 0) unless it was never
 * opened.
 *
 * -qtest-log FILE writes every command and reply, prefixed with the
 * seconds since the server started: "[R +0.000123] readb 0x200000" and
 * "[S +0.000130] OK 0x...". Lines above 256 bytes are cut in the log.
 * Without -qtest-log the log goes to stderr, as QEMU's does (tools that
 * capture a VMM's output, like QEMUQtestMachine, see it there);
 * -qtest-log none turns it off.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chardev/char.h"
#include "hw/i386/pc.h"
#include "system/accel.h"
#include "system/qtest.h"
#include "system/runstate.h"

#define QTEST_MAX_SIZE      (64ULL << 20)   /* bytes per bulk command */
#define QTEST_MAX_LINE      (2 * QTEST_MAX_SIZE + 4096)
#define QTEST_LOG_MAX       256

typedef struct QtestServer {
    Chardev *chr;
    GString *in;
    bool discarding;        /* inside an over-long line */
    bool opened;
    FILE *log;
    gint64 start_us;
} QtestServer;

static QtestServer *qtest;

/* Interrupt sources (by the models that own them), and the one a test
 * intercepts. Independent of the server: the machine may register its
 * sources with or without -qtest. */
static GPtrArray *qtest_irq_sources;
static struct {
    QtestIrqSource *src;    /* NULL: nothing intercepted */
    bool out;               /* irq_intercept_out: its output lines */
} qtest_irq_intercept;

typedef struct QtestCommand QtestCommand;
typedef char *QtestFn(const QtestCommand *cmd, char **argv, Error **errp);

struct QtestCommand {
    const char *name;
    unsigned argc;          /* arguments after the name */
    unsigned size;          /* access width for scalar commands */
    QtestFn *fn;
};

bool qtest_enabled(void)
{
    return qtest != NULL;
}

/* Unsigned 64-bit number, decimal or 0x hex; nothing else on the word. */
static bool qtest_parse_u64(const QtestCommand *cmd, const char *word,
                            uint64_t *value, Error **errp)
{
    char *end;

    errno = 0;
    if (!g_ascii_isdigit(word[0])) {
        goto bad;
    }
    *value = strtoull(word, &end, 0);
    if (errno || *end) {
        goto bad;
    }
    return true;
bad:
    error_setg(errp, "%s: bad number '%s'", cmd->name, word);
    return false;
}

static bool qtest_parse_width(const QtestCommand *cmd, const char *word,
                              unsigned size, uint64_t *value, Error **errp)
{
    if (!qtest_parse_u64(cmd, word, value, errp)) {
        return false;
    }
    if (size < 8 && *value >> (size * 8)) {
        error_setg(errp, "%s: value %s does not fit in %u byte%s", cmd->name,
                   word, size, size > 1 ? "s" : "");
        return false;
    }
    return true;
}

/* ADDR SIZE for the bulk commands. */
static bool qtest_parse_range(const QtestCommand *cmd, char **argv,
                              uint64_t *addr, uint64_t *size, Error **errp)
{
    if (!qtest_parse_u64(cmd, argv[0], addr, errp) ||
        !qtest_parse_u64(cmd, argv[1], size, errp)) {
        return false;
    }
    if (*size > QTEST_MAX_SIZE) {
        error_setg(errp, "%s: size %s is too large (at most %llu bytes per "
                   "command)", cmd->name, argv[1], QTEST_MAX_SIZE);
        return false;
    }
    if (*size == 0 && cmd->size) {  /* reads: .size marks "needs data" */
        error_setg(errp, "%s: size must be at least 1", cmd->name);
        return false;
    }
    return true;
}

static PCMachine *qtest_machine(const QtestCommand *cmd, Error **errp)
{
    PCMachine *pcms = pc_machine_current();

    if (!pcms) {
        error_setg(errp, "%s: no machine yet", cmd->name);
    }
    return pcms;
}

static bool qtest_check_ram(const QtestCommand *cmd, PCMachine *pcms,
                            uint64_t addr, uint64_t size, Error **errp)
{
    ERRP_GUARD();
    if (!guest_memory_check_range(&pcms->mem, addr, size, errp)) {
        error_prepend(errp, "%s: ", cmd->name);
        return false;
    }
    return true;
}

static char *qtest_cmd_endianness(const QtestCommand *cmd, char **argv,
                                  Error **errp)
{
    return g_strdup("OK little");
}

static char *qtest_cmd_out(const QtestCommand *cmd, char **argv, Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    uint64_t port, value;

    if (!pcms || !qtest_parse_u64(cmd, argv[0], &port, errp) ||
        !qtest_parse_width(cmd, argv[1], cmd->size, &value, errp)) {
        return NULL;
    }
    if (port > 0xffff) {
        error_setg(errp, "%s: port %s is above 0xffff", cmd->name, argv[0]);
        return NULL;
    }
    /* An unassigned port ignores the write, as on a PC. */
    io_bus_write(&pcms->pio, port, cmd->size, value);
    return g_strdup("OK");
}

static char *qtest_cmd_in(const QtestCommand *cmd, char **argv, Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    uint64_t port, value;

    if (!pcms || !qtest_parse_u64(cmd, argv[0], &port, errp)) {
        return NULL;
    }
    if (port > 0xffff) {
        error_setg(errp, "%s: port %s is above 0xffff", cmd->name, argv[0]);
        return NULL;
    }
    /* An unassigned port reads as all ones. */
    io_bus_read(&pcms->pio, port, cmd->size, &value);
    value &= (1ULL << (cmd->size * 8)) - 1;
    return g_strdup_printf("OK 0x%0*" PRIx64, (int)cmd->size * 2, value);
}

static char *qtest_cmd_write_scalar(const QtestCommand *cmd, char **argv,
                                    Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    uint64_t addr, value;

    if (!pcms || !qtest_parse_u64(cmd, argv[0], &addr, errp) ||
        !qtest_parse_width(cmd, argv[1], cmd->size, &value, errp)) {
        return NULL;
    }
    if (guest_memory_host_ptr(&pcms->mem, addr, cmd->size)) {
        /* x86 hosts are little-endian like the guest. */
        if (!guest_memory_write(&pcms->mem, addr, &value, cmd->size, errp)) {
            return NULL;
        }
    } else if (!io_bus_write(&pcms->mmio, addr, cmd->size, value)) {
        if (qtest_check_ram(cmd, pcms, addr, cmd->size, errp)) {
            error_setg(errp, "%s: 0x%" PRIx64 " is neither RAM nor MMIO",
                       cmd->name, addr);
        }
        return NULL;
    }
    return g_strdup("OK");
}

static char *qtest_cmd_read_scalar(const QtestCommand *cmd, char **argv,
                                   Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    uint64_t addr, value = 0;

    if (!pcms || !qtest_parse_u64(cmd, argv[0], &addr, errp)) {
        return NULL;
    }
    if (guest_memory_host_ptr(&pcms->mem, addr, cmd->size)) {
        if (!guest_memory_read(&pcms->mem, addr, &value, cmd->size, errp)) {
            return NULL;
        }
    } else if (!io_bus_read(&pcms->mmio, addr, cmd->size, &value)) {
        if (qtest_check_ram(cmd, pcms, addr, cmd->size, errp)) {
            error_setg(errp, "%s: 0x%" PRIx64 " is neither RAM nor MMIO",
                       cmd->name, addr);
        }
        return NULL;
    }
    if (cmd->size < 8) {
        value &= (1ULL << (cmd->size * 8)) - 1;
    }
    return g_strdup_printf("OK 0x%016" PRIx64, value);
}

static char *qtest_cmd_read(const QtestCommand *cmd, char **argv,
                            Error **errp)
{
    static const char digits[] = "0123456789abcdef";
    PCMachine *pcms = qtest_machine(cmd, errp);
    g_autofree uint8_t *buf = NULL;
    uint64_t addr, size;
    char *reply, *p;

    if (!pcms || !qtest_parse_range(cmd, argv, &addr, &size, errp) ||
        !qtest_check_ram(cmd, pcms, addr, size, errp)) {
        return NULL;
    }
    buf = g_malloc(size);
    if (!guest_memory_read(&pcms->mem, addr, buf, size, errp)) {
        return NULL;
    }
    reply = g_malloc(5 + 2 * size + 1);
    p = stpcpy(reply, "OK 0x");
    for (uint64_t i = 0; i < size; i++) {
        *p++ = digits[buf[i] >> 4];
        *p++ = digits[buf[i] & 15];
    }
    *p = 0;
    return reply;
}

static char *qtest_cmd_write(const QtestCommand *cmd, char **argv,
                             Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    g_autofree uint8_t *buf = NULL;
    const char *hex = argv[2];
    uint64_t addr, size;

    if (!pcms || !qtest_parse_range(cmd, argv, &addr, &size, errp)) {
        return NULL;
    }
    if (hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X') ||
        strlen(hex + 2) != 2 * size) {
        error_setg(errp, "%s: data must be 0x and %" PRIu64 " hex digits",
                   cmd->name, 2 * size);
        return NULL;
    }
    hex += 2;
    buf = g_malloc(size + 1);
    for (uint64_t i = 0; i < size; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]);
        int lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            error_setg(errp, "%s: bad hex digit in data", cmd->name);
            return NULL;
        }
        buf[i] = hi << 4 | lo;
    }
    if (!qtest_check_ram(cmd, pcms, addr, size, errp) ||
        !guest_memory_write(&pcms->mem, addr, buf, size, errp)) {
        return NULL;
    }
    return g_strdup("OK");
}

static char *qtest_cmd_b64read(const QtestCommand *cmd, char **argv,
                               Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    g_autofree uint8_t *buf = NULL;
    g_autofree char *b64 = NULL;
    uint64_t addr, size;

    if (!pcms || !qtest_parse_range(cmd, argv, &addr, &size, errp) ||
        !qtest_check_ram(cmd, pcms, addr, size, errp)) {
        return NULL;
    }
    buf = g_malloc(size);
    if (!guest_memory_read(&pcms->mem, addr, buf, size, errp)) {
        return NULL;
    }
    b64 = g_base64_encode(buf, size);
    return g_strconcat("OK ", b64, NULL);
}

/* Standard alphabet, padded to a multiple of 4, '=' only at the end. */
static bool qtest_base64_valid(const char *s)
{
    size_t len = strlen(s), pad = 0;

    if (len % 4) {
        return false;
    }
    while (pad < 2 && pad < len && s[len - 1 - pad] == '=') {
        pad++;
    }
    for (size_t i = 0; i < len - pad; i++) {
        if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/') {
            return false;
        }
    }
    return true;
}

static char *qtest_cmd_b64write(const QtestCommand *cmd, char **argv,
                                Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    g_autofree uint8_t *buf = NULL;
    uint64_t addr, size;
    gsize len = 0;

    if (!pcms || !qtest_parse_range(cmd, argv, &addr, &size, errp)) {
        return NULL;
    }
    if (!qtest_base64_valid(argv[2])) {
        error_setg(errp, "%s: data is not valid base64", cmd->name);
        return NULL;
    }
    buf = g_base64_decode(argv[2], &len);
    if (len != size) {
        error_setg(errp, "%s: data decodes to %" G_GSIZE_FORMAT " bytes, not "
                   "%" PRIu64, cmd->name, len, size);
        return NULL;
    }
    if (!qtest_check_ram(cmd, pcms, addr, size, errp) ||
        !guest_memory_write(&pcms->mem, addr, buf, size, errp)) {
        return NULL;
    }
    return g_strdup("OK");
}

static char *qtest_cmd_memset(const QtestCommand *cmd, char **argv,
                              Error **errp)
{
    PCMachine *pcms = qtest_machine(cmd, errp);
    uint64_t addr, size, byte;

    if (!pcms || !qtest_parse_range(cmd, argv, &addr, &size, errp) ||
        !qtest_parse_width(cmd, argv[2], 1, &byte, errp) ||
        !qtest_check_ram(cmd, pcms, addr, size, errp) ||
        !guest_memory_fill(&pcms->mem, addr, byte, size, errp)) {
        return NULL;
    }
    return g_strdup("OK");
}

/* ---- interrupts ---- */

static void qtest_send(QtestServer *s, const char *reply);

void qtest_irq_source_add(QtestIrqSource *src)
{
    if (!qtest_irq_sources) {
        qtest_irq_sources = g_ptr_array_new();
    }
    g_ptr_array_add(qtest_irq_sources, src);
}

void qtest_irq_source_remove(QtestIrqSource *src)
{
    if (qtest_irq_intercept.src == src) {
        qtest_irq_intercept.src = NULL;
    }
    if (qtest_irq_sources) {
        g_ptr_array_remove(qtest_irq_sources, src);
    }
}

static void qtest_irq_send(unsigned n, bool level)
{
    g_autofree char *line = g_strdup_printf("IRQ %s %u",
                                            level ? "raise" : "lower", n);

    if (qtest && qtest->opened) {
        qtest_send(qtest, line);
    }
}

void qtest_irq_changed(QtestIrqSource *src, unsigned n, bool level)
{
    if (src == qtest_irq_intercept.src && !qtest_irq_intercept.out) {
        qtest_irq_send(n, level);
    }
}

void qtest_irq_out_changed(QtestIrqSource *src, unsigned n, bool level)
{
    if (src == qtest_irq_intercept.src && qtest_irq_intercept.out) {
        qtest_irq_send(n, level);
    }
}

static QtestIrqSource *qtest_irq_source_find(const char *name)
{
    for (guint i = 0; qtest_irq_sources && i < qtest_irq_sources->len; i++) {
        QtestIrqSource *src = g_ptr_array_index(qtest_irq_sources, i);

        if (!strcmp(src->name, name)) {
            return src;
        }
    }
    return NULL;
}

/* irq_intercept_in NAME, irq_intercept_out NAME (cmd->size: 1 = out). */
static char *qtest_cmd_irq_intercept(const QtestCommand *cmd, char **argv,
                                     Error **errp)
{
    QtestIrqSource *src = qtest_irq_source_find(argv[0]);
    bool out = cmd->size;
    unsigned nr;
    const bool *levels;

    if (!src) {
        error_setg(errp, "%s: no interrupt source '%s'%s", cmd->name,
                   argv[0], accel_current() == ACCEL_QTEST ? "" :
                   " (interrupts are interceptable under -accel qtest only)");
        return NULL;
    }
    /* A source without lines in that direction is intercepted all the
     * same and never reports, as in QEMU. */
    nr = out ? src->nr_out : src->nr_in;
    levels = out ? src->out_levels : src->in_levels;
    if (qtest_irq_intercept.src) {
        /* QEMU's words, which its clients know. */
        error_setg(errp, "Interception already enabled");
        return NULL;
    }
    qtest_irq_intercept.src = src;
    qtest_irq_intercept.out = out;
    /* Lines high already: the client starts with all low. The reply
     * comes after these, which the client copes with like any IRQ line
     * before a reply. */
    for (unsigned n = 0; n < nr; n++) {
        if (levels[n]) {
            qtest_irq_send(n, true);
        }
    }
    return g_strdup("OK");
}

static const QtestCommand qtest_commands[] = {
    { "endianness", 0, 0, qtest_cmd_endianness },
    { "outb", 2, 1, qtest_cmd_out },
    { "outw", 2, 2, qtest_cmd_out },
    { "outl", 2, 4, qtest_cmd_out },
    { "inb", 1, 1, qtest_cmd_in },
    { "inw", 1, 2, qtest_cmd_in },
    { "inl", 1, 4, qtest_cmd_in },
    { "writeb", 2, 1, qtest_cmd_write_scalar },
    { "writew", 2, 2, qtest_cmd_write_scalar },
    { "writel", 2, 4, qtest_cmd_write_scalar },
    { "writeq", 2, 8, qtest_cmd_write_scalar },
    { "readb", 1, 1, qtest_cmd_read_scalar },
    { "readw", 1, 2, qtest_cmd_read_scalar },
    { "readl", 1, 4, qtest_cmd_read_scalar },
    { "readq", 1, 8, qtest_cmd_read_scalar },
    /* For the bulk commands, size 1 means "SIZE must not be 0". */
    { "read", 2, 1, qtest_cmd_read },
    { "write", 3, 0, qtest_cmd_write },
    { "b64read", 2, 1, qtest_cmd_b64read },
    { "b64write", 3, 0, qtest_cmd_b64write },
    { "memset", 3, 0, qtest_cmd_memset },
    /* size: 0 for the inputs, 1 for the outputs. */
    { "irq_intercept_in", 1, 0, qtest_cmd_irq_intercept },
    { "irq_intercept_out", 1, 1, qtest_cmd_irq_intercept },
};

char *qtest_process_line(const char *line)
{
    g_auto(GStrv) words = g_strsplit_set(line, " \t", -1);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const QtestCommand *cmd = NULL;
    Error *err = NULL;
    char *reply;

    for (char **w = words; *w; w++) {
        if (**w) {
            g_ptr_array_add(argv, *w);
        }
    }
    if (!argv->len) {
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(qtest_commands); i++) {
        if (!strcmp(qtest_commands[i].name, g_ptr_array_index(argv, 0))) {
            cmd = &qtest_commands[i];
            break;
        }
    }
    if (!cmd) {
        return g_strdup_printf("FAIL Unknown command '%s'",
                               (char *)g_ptr_array_index(argv, 0));
    }
    if (argv->len - 1 != cmd->argc) {
        return g_strdup_printf("FAIL %s: expected %u argument%s, got %u",
                               cmd->name, cmd->argc,
                               cmd->argc == 1 ? "" : "s", argv->len - 1);
    }
    g_ptr_array_add(argv, NULL);
    reply = cmd->fn(cmd, (char **)argv->pdata + 1, &err);
    if (!reply) {
        g_assert(err);
        reply = g_strdup_printf("FAIL %s", error_get_pretty(err));
        error_free(err);
    }
    return reply;
}

static void qtest_log(QtestServer *s, char dir, const char *line)
{
    gint64 us;
    size_t len;

    if (!s->log) {
        return;
    }
    us = g_get_monotonic_time() - s->start_us;
    len = strlen(line);
    fprintf(s->log, "[%c +%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT
            "] %.*s%s\n", dir, us / G_USEC_PER_SEC, us % G_USEC_PER_SEC,
            (int)MIN(len, QTEST_LOG_MAX), line,
            len > QTEST_LOG_MAX ? "..." : "");
    fflush(s->log);
}

static void qtest_send(QtestServer *s, const char *reply)
{
    size_t len = strlen(reply);
    g_autofree char *out = g_malloc(len + 1);

    qtest_log(s, 'S', reply);
    memcpy(out, reply, len);
    out[len] = '\n';
    chardev_write_all(s->chr, (const uint8_t *)out, len + 1);
}

static void qtest_run_line(QtestServer *s, char *line)
{
    size_t len = strlen(line);
    g_autofree char *reply = NULL;

    if (len && line[len - 1] == '\r') {
        line[len - 1] = 0;
    }
    reply = qtest_process_line(line);
    if (reply) {
        qtest_log(s, 'R', line);
        qtest_send(s, reply);
    }
}

static size_t qtest_can_receive(void *opaque)
{
    return 64 * 1024;
}

static void qtest_receive(void *opaque, const uint8_t *buf, size_t len)
{
    QtestServer *s = opaque;

    while (len) {
        const uint8_t *nl = memchr(buf, '\n', len);
        size_t chunk = nl ? (size_t)(nl - buf) : len;

        if (!s->discarding) {
            if (memchr(buf, 0, chunk)) {
                /* A NUL would cut the line short: refuse it whole. */
                s->discarding = true;
                g_string_truncate(s->in, 0);
            } else if (s->in->len + chunk > QTEST_MAX_LINE) {
                s->discarding = true;
                g_string_truncate(s->in, 0);
            } else {
                g_string_append_len(s->in, (const char *)buf, chunk);
            }
        }
        if (!nl) {
            return;
        }
        if (s->discarding) {
            s->discarding = false;
            qtest_log(s, 'R', "(line too long or not text)");
            qtest_send(s, "FAIL line too long or contains NUL");
        } else {
            qtest_run_line(s, s->in->str);
        }
        g_string_truncate(s->in, 0);
        buf += chunk + 1;
        len -= chunk + 1;
    }
}

static void qtest_event(void *opaque, ChardevEvent event)
{
    QtestServer *s = opaque;

    g_string_truncate(s->in, 0);
    s->discarding = false;
    switch (event) {
    case CHARDEV_EVENT_OPENED:
        s->opened = true;
        /* QEMU's log lines for these two events, word for word */
        qtest_log(s, 'I', "OPENED");
        break;
    case CHARDEV_EVENT_CLOSED:
        qtest_log(s, 'I', "CLOSED");
        if (s->opened) {
            s->opened = false;
            system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
        }
        break;
    }
}

static FILE *qtest_open_log(const char *path, Error **errp)
{
    FILE *f;
    int fd;

    if (g_str_has_prefix(path, "/dev/fd/")) {
        char *end;
        long n = strtol(path + 8, &end, 10);

        if (*end || end == path + 8 || n < 0 || n > INT_MAX) {
            error_setg(errp, "-qtest-log %s: bad file descriptor", path);
            return NULL;
        }
        fd = fcntl((int)n, F_DUPFD_CLOEXEC, 3);
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        error_setg_errno(errp, errno, "-qtest-log %s", path);
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        error_setg_errno(errp, errno, "-qtest-log %s", path);
        close(fd);
    }
    return f;
}

bool qtest_server_init(const char *spec, const char *logfile, Error **errp)
{
    QtestServer *s;
    ChardevFrontend fe = {
        .can_receive = qtest_can_receive,
        .receive = qtest_receive,
        .event = qtest_event,
    };

    g_assert(!qtest);
    s = g_new0(QtestServer, 1);
    s->in = g_string_new(NULL);
    s->start_us = g_get_monotonic_time();
    if (!logfile) {
        logfile = "/dev/fd/2";
    }
    if (strcmp(logfile, "none") != 0) {
        s->log = qtest_open_log(logfile, errp);
        if (!s->log) {
            goto fail;
        }
    }
    s->chr = chardev_new_legacy("qtest", spec, errp);
    if (!s->chr) {
        goto fail;
    }
    fe.opaque = s;
    if (!chardev_attach_frontend(s->chr, &fe, errp)) {
        goto fail;
    }
    qtest = s;
    return true;
fail:
    if (s->log) {
        fclose(s->log);
    }
    g_string_free(s->in, TRUE);
    g_free(s);
    return false;
}

void qtest_server_cleanup(void)
{
    QtestServer *s = qtest;

    if (!s) {
        return;
    }
    chardev_detach_frontend(s->chr);
    if (s->log) {
        fclose(s->log);
    }
    g_string_free(s->in, TRUE);
    g_free(s);
    qtest = NULL;
}
