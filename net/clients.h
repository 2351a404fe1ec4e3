/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netdev backends' constructors, called by net/netdev.c with the
 * options already parsed into a KeyvalList (include/net/netdev.h). Each
 * checks its own keys (unknown ones are "Invalid parameter 'X'") and
 * returns the new endpoint, registered under id, or NULL with errp set.
 */
#ifndef NET_CLIENTS_H
#define NET_CLIENTS_H

#include <glib-unix.h>
#include "net/net.h"
#include "util/keyval.h"

typedef NetClientState *NetInitFn(const KeyvalList *opts, const char *id,
                                  Error **errp);

NetInitFn net_init_tap;
NetInitFn net_init_slirp;      /* slirp.c, or slirp-stub.c */
NetInitFn net_init_socket;
NetInitFn net_init_stream;
NetInitFn net_init_dgram;
NetInitFn net_init_hubport;

/* Checks opts against known (NULL-terminated) plus "type" and "id". */
bool net_opts_check(const KeyvalList *opts, const char *const *known,
                    Error **errp);

/*
 * A backend's fd watch on the main loop, for exactly cond: kept when cond
 * did not change, replaced when it did, none when cond is 0. *watch and
 * *cur are the backend's; fn(fd, cond, opaque) is the callback.
 */
void net_fd_watch_set(GSource **watch, GIOCondition *cur, int fd,
                      GIOCondition cond, GUnixFDSourceFunc fn, void *opaque);

/* hub.c: writes the hubs and their ports for `info network`. */
void net_hub_info(GString *out);
/* The hub a port belongs to, or -1 when nc is not a hub port. */
int net_hub_id_of(const NetClientState *nc);
/* One "NAME: index=0,type=T,INFO" line (no indent). */
void net_info_client(GString *out, const NetClientState *nc);

#endif
