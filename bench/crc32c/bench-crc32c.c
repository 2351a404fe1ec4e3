/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRC32C throughput (util/crc32c.c) in GB/s, for the sizes the migration
 * stream checksums: a 4 KiB page, a 32 KiB stream buffer (what one chunk
 * of a checksummed section holds) and 64 MiB (cache-cold bulk), for the
 * path crc32c() picks on this CPU and for the portable table. Prints a
 * table and, with --json, one JSON object; bench/colo reads the 32 KiB
 * figure to estimate the checksum's cost per checkpoint. Never fails on
 * time.
 *
 * usage: bench-crc32c [--json] [--seconds S]
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "util/crc32c.h"

typedef uint32_t (*Crc32cFn)(uint32_t, const void *, size_t);

/* Bytes per second for repeated crcs of len bytes at buf. */
static double bench_one(Crc32cFn fn, const uint8_t *buf, size_t len,
                        double seconds)
{
    int64_t start = g_get_monotonic_time(), now = start;
    uint64_t bytes = 0;
    volatile uint32_t sink = 0;

    while (now - start < seconds * G_USEC_PER_SEC) {
        /* Enough work between clock reads for the clock not to count. */
        for (size_t done = 0; done < (1u << 24); done += len) {
            sink ^= fn(sink, buf, len);
        }
        bytes += ((1u << 24) + len - 1) / len * len;
        now = g_get_monotonic_time();
    }
    return bytes / ((now - start) / (double)G_USEC_PER_SEC);
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = { 4096, 32768, 64u << 20 };
    static const char *const names[] = { "4K", "32K", "64M" };
    gboolean json = FALSE;
    double seconds = 0.5;
    GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print JSON", NULL },
        { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds,
          "time per measurement (default 0.5)", "S" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- CRC32C GB/s");
    g_autoptr(GError) err = NULL;
    double gbps[2][G_N_ELEMENTS(sizes)];
    uint8_t *buf;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "bench-crc32c: %s\n", err->message);
        return 1;
    }
    buf = g_malloc(sizes[G_N_ELEMENTS(sizes) - 1]);
    for (size_t i = 0; i < sizes[G_N_ELEMENTS(sizes) - 1]; i++) {
        buf[i] = i * 2654435761u >> 13;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        gbps[0][i] = bench_one(crc32c, buf, sizes[i], seconds) / 1e9;
        gbps[1][i] = bench_one(crc32c_table, buf, sizes[i], seconds) / 1e9;
    }
    if (json) {
        printf("{\"accelerated\": %s", crc32c_is_accelerated() ?
               "true" : "false");
        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
            printf(", \"gbps_%s\": %.2f, \"table_gbps_%s\": %.2f", names[i],
                   gbps[0][i], names[i], gbps[1][i]);
        }
        printf("}\n");
    } else {
        printf("crc32c GB/s (crc32c(): %s)\n",
               crc32c_is_accelerated() ? "sse4.2, 3 streams" : "table");
        printf("%-6s %10s %10s\n", "size", "crc32c()", "table");
        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
            printf("%-6s %10.2f %10.2f\n", names[i], gbps[0][i], gbps[1][i]);
        }
    }
    g_free(buf);
    return 0;
}
