/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qemu-img from tests: see qemu-img-util.h. */
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include "qemu-img-util.h"

bool bt_have_qemu_img(void)
{
    g_autofree char *p = g_find_program_in_path("qemu-img");

    return p != NULL;
}

int bt_qemu_img(char **out, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *args = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *sout = NULL, *serr = NULL;
    int status = -1;
    GError *gerr = NULL;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cmd = g_strdup_printf("qemu-img %s", args);
    if (!g_spawn_command_line_sync(cmd, &sout, &serr, &status, &gerr)) {
        g_error("cannot run %s: %s", cmd, gerr->message);
    }
    if (out) {
        *out = g_strconcat(sout, serr, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void bt_qemu_img_check(const char *path)
{
    g_autofree char *out = NULL;
    int st = bt_qemu_img(&out, "check -f qcow2 '%s'", path);

    if (st != 0 || !strstr(out, "No errors were found")) {
        g_error("qemu-img check %s failed (status %d):\n%s", path, st, out);
    }
}
