/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tandem test guest: TCP echo (port 7).  Sends back what arrives, as fast
 * as the transmit buffer takes it; closes when the peer has closed and
 * everything was echoed.
 */
#include "tcp.h"
#include "services.h"

static void echo_event(struct tcp_conn *c)
{
    u32 n = tcp_rx_len(c);

    if (n > tcp_tx_space(c)) {
        n = tcp_tx_space(c);
    }
    if (n && tcp_write(c, tcp_rx_data(c), n)) {
        tcp_rx_consume(c, n);
    }
    if (tcp_peer_closed(c) && !tcp_rx_len(c)) {
        tcp_close(c);
    }
}

const struct tcp_service echo_service = {
    .name = "echo", .port = 7, .on_event = echo_event,
};
