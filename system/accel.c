/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Choosing the accelerator (see include/system/accel.h): the names a
 * command line may give, which of them this host can use, and the one
 * the process runs with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "system/accel.h"
#include "trace.h"

typedef struct AccelInfo {
    const char *name;
    AccelKind kind;         /* ACCEL_NONE: a QEMU accelerator we lack */
} AccelInfo;

static const AccelInfo accel_table[] = {
    { "kvm", ACCEL_KVM },
    { "qtest", ACCEL_QTEST },
    /* Accepted in a list (libvirt probes with accel=kvm:tcg), skipped. */
    { "tcg", ACCEL_NONE },
    { "xen", ACCEL_NONE },
    { "hvf", ACCEL_NONE },
    { "whpx", ACCEL_NONE },
    { "nvmm", ACCEL_NONE },
};

static AccelKind accel_current_kind = ACCEL_NONE;

const char *accel_name(AccelKind kind)
{
    switch (kind) {
    case ACCEL_KVM: return "kvm";
    case ACCEL_QTEST: return "qtest";
    default: return "none";
    }
}

static const AccelInfo *accel_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(accel_table); i++) {
        if (!strcmp(accel_table[i].name, name)) {
            return &accel_table[i];
        }
    }
    return NULL;
}

bool accel_list_check(const char *list, Error **errp)
{
    g_auto(GStrv) names = g_strsplit(list, ":", -1);
    bool any = false;

    for (char **n = names; *n; n++) {
        const AccelInfo *a = accel_find(*n);

        if (!a) {
            error_setg(errp, "invalid accelerator %s", *n);
            return false;
        }
        any |= a->kind != ACCEL_NONE;
    }
    if (!any) {
        error_setg(errp, "invalid accelerator %s (Tandem has kvm and qtest)",
                   list);
        return false;
    }
    return true;
}

const char *accel_kvm_unusable_reason(void)
{
    static char reason[128];
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd >= 0) {
        close(fd);
        return NULL;
    }
    snprintf(reason, sizeof(reason), "/dev/kvm: %s", g_strerror(errno));
    return reason;
}

bool accel_select(const char *list, bool may_be_none, AccelKind *kind,
                  Error **errp)
{
    g_auto(GStrv) names = g_strsplit(list ? list : "kvm", ":", -1);
    g_autoptr(GString) why = g_string_new(NULL);

    for (char **n = names; *n; n++) {
        const AccelInfo *a = accel_find(*n);
        const char *reason;

        if (!a || a->kind == ACCEL_NONE) {
            g_string_append_printf(why, "%s%s: not in this binary",
                                   why->len ? "; " : "", *n);
            continue;
        }
        /* The last hope of a machine that needs one is taken untested:
         * kvm_init() then says exactly what is wrong with /dev/kvm. */
        reason = a->kind == ACCEL_KVM && (n[1] || may_be_none)
                 ? accel_kvm_unusable_reason() : NULL;
        if (reason) {
            g_string_append_printf(why, "%s%s: %s", why->len ? "; " : "",
                                   *n, reason);
            continue;
        }
        *kind = a->kind;
        trace_accel_select(list ? list : "kvm", accel_name(*kind));
        return true;
    }
    if (may_be_none) {
        *kind = ACCEL_NONE;
        trace_accel_select(list ? list : "kvm", "none");
        return true;
    }
    error_setg(errp, "no accelerator found (%s)", why->str);
    return false;
}

void accel_set_current(AccelKind kind)
{
    accel_current_kind = kind;
}

AccelKind accel_current(void)
{
    return accel_current_kind;
}

void accel_print_help(void)
{
    printf("Accelerators supported in Tandem binary:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(accel_table); i++) {
        if (accel_table[i].kind != ACCEL_NONE) {
            printf("%s\n", accel_table[i].name);
        }
    }
}
