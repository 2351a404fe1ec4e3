/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP migration commands: migrate, migrate_cancel, migrate_incoming,
 * migrate_start_postcopy, migrate_continue, migrate_recover, migrate_pause,
 * migrate_set_capability, migrate_set_parameter
 * and the three info commands, each a thin shell over the QMP command, printing QEMU's text.
 * Their rows are in hmp_commands[] (hmp-cmds.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "monitor-internal.h"
#include "qapi/qapi-commands.h"
#include "util/keyval.h"

/* migrate [-d] [-r] URI (-d: do not wait, which is always so here; -r:
 * resume a paused postcopy migration) */
void hmp_migrate(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "migrate [-d] [-r] uri", .flags = "dr", .min = 1, .max = 1,
    };
    bool set[2] = { false, false };     /* -d, -r */
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, set);
    Error *err = NULL;

    if (w) {
        qmp_migrate(w[0], false, false, set[1], set[1], &err);
        hmp_handle_error(hmp, err);
    }
}

void hmp_migrate_recover(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "migrate_recover uri", qmp_migrate_recover);
}

void hmp_migrate_pause(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_migrate_pause(&err);
    hmp_handle_error(hmp, err);
}

void hmp_migrate_cancel(HmpContext *hmp, const char *args)
{
    qmp_migrate_cancel(NULL);
}

void hmp_migrate_start_postcopy(HmpContext *hmp, const char *args)
{
    Error *err = NULL;

    qmp_migrate_start_postcopy(&err);
    hmp_handle_error(hmp, err);
}

/* migrate_continue STATE (pre-switchover) */
void hmp_migrate_continue(HmpContext *hmp, const char *args)
{
    MigrationStatus state;
    Error *err = NULL;

    while (*args == ' ') {
        args++;
    }
    if (!MigrationStatus_parse(args, &state)) {
        hmp_printf(hmp, "Error: Parameter 'state' does not accept value "
                   "'%s'\n", args);
        return;
    }
    qmp_migrate_continue(state, &err);
    hmp_handle_error(hmp, err);
}

void hmp_migrate_incoming(HmpContext *hmp, const char *args)
{
    hmp_one_word(hmp, args, "migrate_incoming uri", qmp_migrate_incoming);
}

void hmp_migrate_set_capability(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "migrate_set_capability NAME on|off", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    MigrationCapabilityStatus st = { 0 };
    MigrationCapabilityStatusList l = { .value = &st };
    Error *err = NULL;

    if (!w) {
        return;
    }
    if (strcmp(w[1], "on") && strcmp(w[1], "off")) {
        hmp_printf(hmp, "Error: usage: %s\n", spec.usage);
        return;
    }
    if (!MigrationCapability_parse(w[0], &st.capability)) {
        hmp_printf(hmp, "Error: Parameter 'capability' does not accept "
                   "value '%s'\n", w[0]);
        return;
    }
    st.state = !strcmp(w[1], "on");
    qmp_migrate_set_capabilities(&l, &err);
    hmp_handle_error(hmp, err);
}

/*
 * A parameter's value in QEMU's HMP units: max-bandwidth is MiB/s
 * without a suffix (QEMU's HMP says so, where QMP takes bytes/s), the
 * other bandwidth is bytes/s; both take k/M/G/T suffixes. The rest are
 * plain integers.
 */
static bool hmp_mig_value(const char *name, const char *text, uint64_t *v,
                          Error **errp)
{
    if (!strcmp(name, "max-bandwidth")) {
        return parse_size(text, 1ULL << 20, v, errp);
    }
    if (!strcmp(name, "max-postcopy-bandwidth")) {
        return parse_size(text, 1, v, errp);
    }
    if (!parse_uint(text, v, NULL)) {
        error_setg(errp, "Parameter '%s' expects an integer, not '%s'", name,
                   text);
        return false;
    }
    return true;
}

/* The millisecond parameters QMP holds in 32 bits. */
static bool hmp_mig_u32(const char *name, uint64_t v, Error **errp)
{
    if (v > UINT32_MAX) {
        error_setg(errp, "Parameter '%s' expects a value up to %u", name,
                   UINT32_MAX);
        return false;
    }
    return true;
}

void hmp_migrate_set_parameter(HmpContext *hmp, const char *args)
{
    static const HmpArgs spec = {
        .usage = "migrate_set_parameter NAME VALUE", .min = 2, .max = 2,
    };
    g_auto(GStrv) w = hmp_args(hmp, args, &spec, NULL);
    MigrateSetParameters p = { 0 };
    Error *err = NULL;
    uint64_t v;

    if (!w) {
        return;
    }
    if (!hmp_mig_value(w[0], w[1], &v, &err)) {
        hmp_handle_error(hmp, err);
        return;
    }
    if (!strcmp(w[0], "downtime-limit")) {
        p.has_downtime_limit = true;
        p.downtime_limit = v;
    } else if (!strcmp(w[0], "max-bandwidth")) {
        p.has_max_bandwidth = true;
        p.max_bandwidth = v;
    } else if (!strcmp(w[0], "max-postcopy-bandwidth")) {
        p.has_max_postcopy_bandwidth = true;
        p.max_postcopy_bandwidth = v;
    } else if (!strcmp(w[0], "x-checkpoint-delay")) {
        if (!hmp_mig_u32(w[0], v, &err)) {
            hmp_handle_error(hmp, err);
            return;
        }
        p.has_x_checkpoint_delay = true;
        p.x_checkpoint_delay = v;
    } else if (!strcmp(w[0], "x-colo-peer-timeout")) {
        if (!hmp_mig_u32(w[0], v, &err)) {
            hmp_handle_error(hmp, err);
            return;
        }
        p.has_x_colo_peer_timeout = true;
        p.x_colo_peer_timeout = v;
    } else if (!strcmp(w[0], "x-switchover-resume-timeout")) {
        if (!hmp_mig_u32(w[0], v, &err)) {
            hmp_handle_error(hmp, err);
            return;
        }
        p.has_x_switchover_resume_timeout = true;
        p.x_switchover_resume_timeout = v;
    } else if (!strcmp(w[0], "announce-initial")) {
        p.has_announce_initial = true;
        p.announce_initial = v;
    } else if (!strcmp(w[0], "announce-max")) {
        p.has_announce_max = true;
        p.announce_max = v;
    } else if (!strcmp(w[0], "announce-rounds")) {
        p.has_announce_rounds = true;
        p.announce_rounds = v;
    } else if (!strcmp(w[0], "announce-step")) {
        p.has_announce_step = true;
        p.announce_step = v;
    } else {
        hmp_printf(hmp, "Error: unknown parameter '%s'\n", w[0]);
        return;
    }
    qmp_migrate_set_parameters(&p, &err);
    hmp_handle_error(hmp, err);
}

/* A line for a RAM figure that QEMU 7.2 prints only when it is not zero. */
static void hmp_migrate_nonzero(HmpContext *hmp, const char *label,
                                int64_t value, const char *unit)
{
    if (value) {
        hmp_printf(hmp, "%s: %" PRId64 " %s\n", label, value, unit);
    }
}

static void hmp_info_migrate_ram(HmpContext *hmp, const MigrationStats *r)
{
    hmp_printf(hmp, "transferred ram: %" PRId64 " kbytes\n"
               "throughput: %0.2f mbps\n"
               "remaining ram: %" PRId64 " kbytes\n"
               "total ram: %" PRId64 " kbytes\n"
               "duplicate: %" PRId64 " pages\n"
               /* QEMU's "skipped" has been 0 since it stopped skipping
                * pages, and no byte goes by multifd here: both lines
                * state a true 0 for scripts that read them. */
               "skipped: 0 pages\n"
               "normal: %" PRId64 " pages\n"
               "normal bytes: %" PRId64 " kbytes\n"
               "dirty sync count: %" PRId64 "\n"
               "page size: %" PRId64 " kbytes\n"
               "multifd bytes: 0 kbytes\n"
               "pages-per-second: %" PRId64 "\n",
               r->transferred >> 10, r->mbps, r->remaining >> 10,
               r->total >> 10, r->duplicate, r->normal,
               r->normal_bytes >> 10, r->dirty_sync_count,
               r->page_size >> 10, r->pages_per_second);
    hmp_migrate_nonzero(hmp, "dirty pages rate", r->dirty_pages_rate,
                        "pages");
    if (r->postcopy_requests) {
        hmp_printf(hmp, "postcopy request count: %" PRId64 "\n",
                   r->postcopy_requests);
    }
    hmp_migrate_nonzero(hmp, "precopy ram", r->precopy_bytes >> 10,
                        "kbytes");
    hmp_migrate_nonzero(hmp, "downtime ram", r->downtime_bytes >> 10,
                        "kbytes");
    hmp_migrate_nonzero(hmp, "postcopy ram", r->postcopy_bytes >> 10,
                        "kbytes");
}

/*
 * QEMU 7.2's text, line for line (what query-version claims, and what
 * Debian 12's operators and their scripts read), without its "globals:"
 * block of QEMU-internal properties we do not have. Tandem's own figures
 * (postcopy fault-to-page latency, strict downtime aborts) come last.
 */
void hmp_info_migrate(HmpContext *hmp, const char *args)
{
    g_autoptr(MigrationInfo) info = qmp_query_migrate(NULL);

    if (info->has_status) {
        hmp_printf(hmp, "Migration status: %s",
                   MigrationStatus_str(info->status));
        if (info->error_desc) {
            hmp_printf(hmp, " (%s)", info->error_desc);
        }
        hmp_printf(hmp, "\n");
    }
    if (info->has_total_time) {
        hmp_printf(hmp, "total time: %" PRId64 " ms\n", info->total_time);
    }
    if (info->has_expected_downtime) {
        hmp_printf(hmp, "expected downtime: %" PRId64 " ms\n",
                   info->expected_downtime);
    }
    if (info->has_downtime) {
        hmp_printf(hmp, "downtime: %" PRId64 " ms\n", info->downtime);
    }
    if (info->has_setup_time) {
        hmp_printf(hmp, "setup: %" PRId64 " ms\n", info->setup_time);
    }
    if (info->socket_address) {
        hmp_printf(hmp, "socket address: [\n");
        for (SocketAddressList *l = info->socket_address; l; l = l->next) {
            if (l->value->type == SOCKET_ADDRESS_TYPE_INET) {
                hmp_printf(hmp, "\ttcp:%s:%s\n", l->value->u.inet.host,
                           l->value->u.inet.port);
            } else if (l->value->type == SOCKET_ADDRESS_TYPE_UNIX) {
                hmp_printf(hmp, "\tunix:%s\n", l->value->u.q_unix.path);
            }
        }
        hmp_printf(hmp, "]\n");
    }
    if (info->ram) {
        hmp_info_migrate_ram(hmp, info->ram);
    }
    if (info->has_postcopy_blocktime) {
        hmp_printf(hmp, "postcopy blocktime: %" PRIu32 "\n"
                   "postcopy vcpu blocktime: ", info->postcopy_blocktime);
        for (uint32List *e = info->postcopy_vcpu_blocktime; e; e = e->next) {
            hmp_printf(hmp, "%" PRIu32 "%s", e->value, e->next ? "," : "");
        }
        hmp_printf(hmp, "\n");
    }
    if (info->has_x_postcopy_latency_p50) {
        hmp_printf(hmp, "postcopy fault to page: p50=%" PRId64
                   " us, p99=%" PRId64 " us, max=%" PRId64 " us\n",
                   info->x_postcopy_latency_p50, info->x_postcopy_latency_p99,
                   info->x_postcopy_latency_max);
    }
    if (info->has_x_strict_aborts) {
        hmp_printf(hmp, "strict downtime aborts: %" PRId64
                   ", last overrun: %" PRId64 " ms\n", info->x_strict_aborts,
                   info->x_strict_last_overrun);
    }
}

void hmp_info_migrate_capabilities(HmpContext *hmp, const char *args)
{
    g_autoptr(MigrationCapabilityStatusList) caps =
        qmp_query_migrate_capabilities(NULL);

    for (MigrationCapabilityStatusList *l = caps; l; l = l->next) {
        hmp_printf(hmp, "%s: %s\n", MigrationCapability_str(l->value->capability),
                   l->value->state ? "on" : "off");
    }
}

void hmp_info_migrate_parameters(HmpContext *hmp, const char *args)
{
    g_autoptr(MigrationParameters) p = qmp_query_migrate_parameters(NULL);

    hmp_printf(hmp, "downtime-limit: %" PRIu64 " ms\n", p->downtime_limit);
    hmp_printf(hmp, "max-bandwidth: %" PRIu64 " bytes/second\n",
               p->max_bandwidth);
    hmp_printf(hmp, "max-postcopy-bandwidth: %" PRIu64 " bytes/second\n",
               p->max_postcopy_bandwidth);
    hmp_printf(hmp, "x-checkpoint-delay: %u ms\n", p->x_checkpoint_delay);
    hmp_printf(hmp, "x-colo-peer-timeout: %u ms\n", p->x_colo_peer_timeout);
    hmp_printf(hmp, "x-switchover-resume-timeout: %u ms\n",
               p->x_switchover_resume_timeout);
    hmp_printf(hmp, "announce-initial: %" PRIu64 " ms\n",
               p->announce_initial);
    hmp_printf(hmp, "announce-max: %" PRIu64 " ms\n", p->announce_max);
    hmp_printf(hmp, "announce-rounds: %" PRIu64 "\n", p->announce_rounds);
    hmp_printf(hmp, "announce-step: %" PRIu64 " ms\n", p->announce_step);
}
