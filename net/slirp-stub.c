/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -netdev user when Tandem was built without libslirp (meson option
 * slirp=disabled, or libslirp-dev missing): refused with a clear error.
 */
#include "net/clients.h"
#include "net/netdev.h"

NetClientState *net_init_slirp(const KeyvalList *opts, const char *id,
                               Error **errp)
{
    error_setg(errp, "-netdev user is not available: Tandem was built "
               "without libslirp (install libslirp-dev and reconfigure)");
    return NULL;
}

bool net_slirp_hostfwd_add(const char *netdev, const char *spec,
                           Error **errp)
{
    error_setg(errp, "hostfwd_add is not available: Tandem was built "
               "without libslirp");
    return false;
}

bool net_slirp_hostfwd_remove(const char *netdev, const char *spec,
                              Error **errp)
{
    error_setg(errp, "hostfwd_remove is not available: Tandem was built "
               "without libslirp");
    return false;
}

char *net_slirp_info_usernet(void)
{
    /* Without libslirp there is no user netdev to list. */
    return g_strdup("");
}
