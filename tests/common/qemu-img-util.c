/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qemu-img from tests: see qemu-img-util.h. */
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "qemu-img-util.h"

bool bt_have_qemu_img(void)
{
    g_autofree char *p = g_find_program_in_path("qemu-img");

    return p != NULL;
}

static int run_tool(const char *tool, char **out, const char *fmt,
                    va_list ap)
{
    g_autofree char *args = g_strdup_vprintf(fmt, ap);
    g_autofree char *cmd = g_strdup_printf("%s %s", tool, args);
    g_autofree char *sout = NULL, *serr = NULL;
    int status = -1;
    GError *gerr = NULL;

    if (!g_spawn_command_line_sync(cmd, &sout, &serr, &status, &gerr)) {
        g_error("cannot run %s: %s", cmd, gerr->message);
    }
    if (out) {
        *out = g_strconcat(sout, serr, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int bt_qemu_img(char **out, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = run_tool("qemu-img", out, fmt, ap);
    va_end(ap);
    return ret;
}

int bt_qemu_io(char **out, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = run_tool("qemu-io", out, fmt, ap);
    va_end(ap);
    return ret;
}

/* qemu-io must succeed, and say nothing of errors or failed patterns. */
static void qemu_io_ok(const char *what, const char *cmd)
{
    g_autofree char *out = NULL;
    int st = bt_qemu_io(&out, "%s", cmd);

    if (st != 0 || strstr(out, "error") || strstr(out, "failed")) {
        g_error("%s: qemu-io %s (status %d):\n%s", what, cmd, st, out);
    }
}

void bt_make_test_chain(const char *base, const char *mid, const char *top)
{
    static const struct {
        int image;          /* 0 base, 1 mid, 2 top */
        const char *io;
    } writes[] = {
        { 0, "write -P 0x11 0 64k" }, { 0, "write -P 0x14 192k 64k" },
        { 0, "write -P 0x15 256k 64k" }, { 1, "write -P 0x22 64k 64k" },
        { 1, "write -z 256k 64k" }, { 2, "write -P 0x33 128k 64k" },
        { 2, "write -P 0x34 192k 64k" },
    };
    const char *paths[] = { base, mid, top };
    g_autofree char *out = NULL;

    for (int i = 0; i < 3; i++) {
        g_clear_pointer(&out, g_free);
        unlink(paths[i]);
        if ((i ? bt_qemu_img(&out, "create -q -f qcow2 -b '%s' -F qcow2 "
                             "'%s' 4M", paths[i - 1], paths[i])
               : bt_qemu_img(&out, "create -q -f qcow2 '%s' 4M",
                             paths[i])) != 0) {
            g_error("qemu-img create %s: %s", paths[i], out);
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(writes); i++) {
        g_autofree char *cmd = g_strdup_printf("-f qcow2 -c '%s' '%s'",
                                               writes[i].io,
                                               paths[writes[i].image]);

        qemu_io_ok("making the test chain", cmd);
    }
}

void bt_check_test_chain_view(const char *target, const char *opts,
                              const uint64_t *writes_at,
                              const uint8_t *writes_pat, int n_writes)
{
    static const uint8_t view[] = { 0x11, 0x22, 0x33, 0x34, 0 };
    g_autoptr(GString) cmd = g_string_new(NULL);

    g_string_append_printf(cmd, "-r -U %s", opts);
    for (uint64_t i = 0; i < 64; i++) {
        uint8_t pat = i < G_N_ELEMENTS(view) ? view[i] : 0;

        for (int w = 0; w < n_writes; w++) {
            if (writes_at[w] == i * 65536) {
                pat = writes_pat[w];
            }
        }
        g_string_append_printf(cmd, " -c 'read -P 0x%x %" G_GUINT64_FORMAT
                               "k 64k'", pat, i * 64);
    }
    g_string_append_printf(cmd, " '%s'", target);
    qemu_io_ok("the chain's view", cmd->str);
}

void bt_qemu_img_check(const char *path)
{
    g_autofree char *out = NULL;
    int st = bt_qemu_img(&out, "check -f qcow2 '%s'", path);

    if (st != 0 || !strstr(out, "No errors were found")) {
        g_error("qemu-img check %s failed (status %d):\n%s", path, st, out);
    }
}
