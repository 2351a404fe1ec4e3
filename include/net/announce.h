/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gratuitous ARP/RARP announcements from the NICs (net/announce.c).
 */
#ifndef NET_ANNOUNCE_H
#define NET_ANNOUNCE_H

#include <stdbool.h>
#include "qapi/qapi-types.h"
#include "util/error.h"

/* announce-self's range check, in its words. */
bool net_announce_check(const AnnounceParameters *params, Error **errp);
/* The first round at once, the others on the main loop (params copied). */
void net_announce_start(const AnnounceParameters *params);
#endif
