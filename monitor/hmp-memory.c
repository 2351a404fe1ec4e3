/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP's guest memory commands: xp and x print guest memory as QEMU 7.2's
 * do, line for line (a debugging runbook's output compares as is);
 * pmemsave and memsave dump it to a file through their QMP twins; info
 * memdev lists the memory backends in QEMU 7.2's layout.
 *
 *   xp /fmt addr    fmt = [count][format][size], any order after the count
 *                   format: x hex, d decimal, u unsigned, o octal, c chars
 *                   size:   b 1, h 2, w 4, g 8 bytes
 *
 * Unlike QEMU, a letter left out means its default (x, w; c alone shows
 * bytes), not the last command's: a line's meaning does not depend on
 * what someone typed before it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"

#define HMP_DUMP_MAX (1u << 20)

typedef struct MemFormat {
    uint64_t count;         /* units (for 'c': count * size bytes) */
    char format;            /* x d u o c */
    unsigned size;          /* bytes a unit */
} MemFormat;

/* Reads len bytes at addr; false if any of them cannot be read. */
typedef bool MemReadFn(void *opaque, uint64_t addr, void *buf, size_t len);

/* (monitor-internal.h) Words that are register names or other operators
 * are refused by name. */
bool hmp_parse_expr(const char *text, uint64_t *value, Error **errp)
{
    const char *p = text;
    uint64_t sum = 0;
    int sign = 1;

    for (;;) {
        char *end;
        uint64_t term;

        p += strspn(p, " \t");
        if (!*p) {
            error_setg(errp, "unexpected end of expression");
            return false;
        }
        if (!g_ascii_isdigit(*p)) {
            error_setg(errp, "invalid char '%c' in expression", *p);
            return false;
        }
        errno = 0;
        term = strtoull(p, &end, 0);
        if (errno) {
            error_setg(errp, "number too large in expression");
            return false;
        }
        sum += sign > 0 ? term : -term;
        p = end + strspn(end, " \t");
        if (!*p) {
            *value = sum;
            return true;
        }
        if (*p != '+' && *p != '-') {
            error_setg(errp, "invalid char '%c' in expression", *p);
            return false;
        }
        sign = *p++ == '+' ? 1 : -1;
    }
}

/* "/8xb" (after the slash): count, then format and size letters. */
static bool parse_format(const char *text, MemFormat *f, Error **errp)
{
    const char *p = text;
    bool has_size = false;

    f->count = 1;
    f->format = 'x';
    f->size = 4;
    if (g_ascii_isdigit(*p)) {
        char *end;

        errno = 0;
        f->count = strtoull(p, &end, 10);
        if (errno) {
            f->count = UINT64_MAX;
        }
        p = end;
    }
    for (; *p; p++) {
        switch (*p) {
        case 'x': case 'd': case 'u': case 'o': case 'c':
            f->format = *p;
            break;
        case 'b': case 'h': case 'w': case 'g':
            f->size = *p == 'b' ? 1 : *p == 'h' ? 2 : *p == 'w' ? 4 : 8;
            has_size = true;
            break;
        case 'i':
            error_setg(errp, "format 'i' (instructions) needs a "
                       "disassembler, which Tandem does not have");
            return false;
        default:
            error_setg(errp, "invalid char in format: '%c'", *p);
            return false;
        }
    }
    if (f->format == 'c' && !has_size) {
        f->size = 1;
    }
    /* The text comes back in one reply: a typo's count must not build
     * gigabytes of it (pmemsave writes any size to a file). */
    if (f->count > HMP_DUMP_MAX / f->size) {
        error_setg(errp, "a dump shows at most %u KiB of memory "
                   "(pmemsave saves more to a file)", HMP_DUMP_MAX >> 10);
        return false;
    }
    return true;
}

/* One unit: little-endian, as x86 stores it. */
static uint64_t unit_value(const uint8_t *b, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = size; i-- > 0;) {
        v = v << 8 | b[i];
    }
    return v;
}

static void print_char(HmpContext *hmp, uint8_t c)
{
    switch (c) {
    case '\'':
        hmp_printf(hmp, " '\\''");
        break;
    case '\\':
        hmp_printf(hmp, " '\\\\'");
        break;
    case '\n':
        hmp_printf(hmp, " '\\n'");
        break;
    case '\r':
        hmp_printf(hmp, " '\\r'");
        break;
    default:
        if (c >= 0x20 && c < 0x7f) {
            hmp_printf(hmp, " '%c'", c);
        } else {
            hmp_printf(hmp, " '\\x%02x'", c);
        }
    }
}

/*
 * One unit as QEMU prints it: right-aligned in the width of the largest
 * value of its size. 'd' is signed only for 8-byte units; smaller ones
 * print as read, zero-extended, as QEMU's do.
 */
static void print_unit(HmpContext *hmp, const MemFormat *f, uint64_t v)
{
    static const int dec_width[9] = { [1] = 3, [2] = 5, [4] = 10, [8] = 20 };
    static const int oct_width[9] = { [1] = 3, [2] = 6, [4] = 11, [8] = 22 };

    switch (f->format) {
    case 'x':
        hmp_printf(hmp, " 0x%0*" PRIx64, (int)f->size * 2, v);
        break;
    case 'o':
        hmp_printf(hmp, " %#*" PRIo64, oct_width[f->size], v);
        break;
    case 'd':
        if (f->size == 8) {
            hmp_printf(hmp, " %*" PRId64, dec_width[8], (int64_t)v);
            break;
        }
        /* fall through */
    default:
        hmp_printf(hmp, " %*" PRIu64, dec_width[f->size], v);
    }
}

/*
 * Prints count units from addr, 16 bytes a line (8 for single bytes
 * other than chars), each line headed by its address; a line that cannot
 * be read ends the dump with "Cannot access memory".
 */
static void memory_dump(HmpContext *hmp, const MemFormat *f, uint64_t addr,
                        MemReadFn *read, void *opaque)
{
    unsigned line_bytes = f->size == 1 && f->format != 'c' ? 8 : 16;
    uint64_t left = f->count * f->size;
    uint8_t buf[16];

    while (left) {
        unsigned len = MIN(left, line_bytes);

        hmp_printf(hmp, "%016" PRIx64 ":", addr);
        if (!read(opaque, addr, buf, len)) {
            hmp_printf(hmp, " Cannot access memory\n");
            return;
        }
        for (unsigned i = 0; i < len; i += f->format == 'c' ? 1 : f->size) {
            if (f->format == 'c') {
                print_char(hmp, buf[i]);
            } else {
                print_unit(hmp, f, unit_value(buf + i, f->size));
            }
        }
        hmp_printf(hmp, "\n");
        addr += len;
        left -= len;
    }
}

/* "/fmt addr" or "addr": the format word is optional, the address an
 * expression that may hold blanks. */
static bool parse_dump_args(const char *args, MemFormat *f, uint64_t *addr,
                            Error **errp)
{
    const char *p = args + strspn(args, " \t");
    g_autofree char *fmt = NULL;

    if (*p == '/') {
        size_t n = strcspn(p, " \t");

        fmt = g_strndup(p + 1, n - 1);
        p += n;
    }
    return parse_format(fmt ? fmt : "", f, errp) &&
           hmp_parse_expr(p, addr, errp);
}

static bool read_physical(void *opaque, uint64_t addr, void *buf, size_t len)
{
    return guest_memory_read(opaque, addr, buf, len, NULL);
}

void hmp_xp(HmpContext *hmp, const char *args)
{
    GuestMemory *mem;
    Error *err = NULL;
    MemFormat f;
    uint64_t addr;

    if (!parse_dump_args(args, &f, &addr, &err) ||
        !(mem = monitor_guest_memory("xp", &err))) {
        hmp_handle_error(hmp, err);
        return;
    }
    memory_dump(hmp, &f, addr, read_physical, mem);
}

static bool read_virtual(void *opaque, uint64_t addr, void *buf, size_t len)
{
    return monitor_read_virtual(opaque, addr, buf, len, NULL);
}

/* Through the page tables of vCPU 0 (HMP has no `cpu` command here). */
void hmp_x(HmpContext *hmp, const char *args)
{
    CPUState *cpu;
    Error *err = NULL;
    MemFormat f;
    uint64_t addr;
    bool was_running;

    if (!parse_dump_args(args, &f, &addr, &err) ||
        !(cpu = monitor_translating_cpu("x", "xp", 0, &err))) {
        hmp_handle_error(hmp, err);
        return;
    }
    was_running = monitor_pause_vcpus();
    memory_dump(hmp, &f, addr, read_virtual, cpu);
    monitor_resume_vcpus(was_running);
}

/* "ADDR SIZE FILE" for pmemsave/memsave: QEMU's order; a file name with
 * blanks in double quotes. */
static bool parse_save_args(HmpContext *hmp, const char *args,
                            const char *usage, uint64_t *addr, uint64_t *size,
                            char **file)
{
    const HmpArgs spec = { .usage = usage, .min = 3, .max = 3 };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    Error *err = NULL;

    if (!w) {
        return false;
    }
    if (!hmp_parse_expr(w[0], addr, &err) ||
        !hmp_parse_expr(w[1], size, &err)) {
        hmp_handle_error(hmp, err);
        return false;
    }
    *file = g_strdup(w[2]);
    return true;
}

void hmp_pmemsave(HmpContext *hmp, const char *args)
{
    g_autofree char *file = NULL;
    uint64_t addr, size;
    Error *err = NULL;

    if (parse_save_args(hmp, args, "pmemsave addr size file", &addr, &size,
                        &file)) {
        qmp_pmemsave(addr, size, file, &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_memsave(HmpContext *hmp, const char *args)
{
    g_autofree char *file = NULL;
    uint64_t addr, size;
    Error *err = NULL;

    if (parse_save_args(hmp, args, "memsave addr size file", &addr, &size,
                        &file)) {
        qmp_memsave(addr, size, file, false, 0, &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_info_memdev(HmpContext *hmp, const char *args)
{
    g_autoptr(MemdevList) list = qmp_query_memdev(NULL);

    for (MemdevList *l = list; l; l = l->next) {
        Memdev *m = l->value;

        hmp_printf(hmp, "memory backend: %s\n", m->id);
        /* QEMU's two spaces after "size:". */
        hmp_printf(hmp, "  size:  %" PRIu64 "\n", m->size);
        hmp_printf(hmp, "  merge: %s\n", m->merge ? "true" : "false");
        hmp_printf(hmp, "  dump: %s\n", m->dump ? "true" : "false");
        hmp_printf(hmp, "  prealloc: %s\n", m->prealloc ? "true" : "false");
        hmp_printf(hmp, "  share: %s\n", m->share ? "true" : "false");
        if (m->has_reserve) {
            hmp_printf(hmp, "  reserve: %s\n",
                       m->reserve ? "true" : "false");
        }
        hmp_printf(hmp, "  policy: %s\n", HostMemPolicy_str(m->policy));
        hmp_printf(hmp, "  host nodes: \n\n");
    }
}
