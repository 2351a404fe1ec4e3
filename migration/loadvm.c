/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loading side of the stream framing. The stream comes from a peer and
 * is treated as hostile: each record is checked (type, section id against
 * what was started, idstr/instance against the registry, version against
 * what the entry supports, payload consumed exactly, footer naming the same
 * section, command lengths against the command table, nothing after the
 * end) and every failure is an Error naming the record and the section.
 *
 * With checksums (savevm.h, "Checksums") each record's CRC32C runs from
 * its type byte and its trailer is checked before the record has an
 * effect where that is cheap: commands, device sections (read whole into
 * memory first; they are small) and the description. A live section
 * (RAM) streams into memory the destination does not run until the whole
 * load succeeded, and is checked at its trailer.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include "savevm-internal.h"
#include "trace.h"

typedef struct LoadVMContext {
    SaveVMState *s;
    QEMUFile *f;
    GHashTable *started;        /* peer section id -> SaveVMEntry (live) */
    bool devices_only;          /* COLO device blob: FULL sections only */
    bool first;                 /* the record being read is the first of a
                                   stream (stream-checksum's place) */
} LoadVMContext;

/* Largest device section the checksummed loader buffers. */
#define LOADVM_MAX_DEVICE_SECTION   (64u << 20)

/* A stream error at a record boundary, in words a user can act on. */
static bool loadvm_check_file(QEMUFile *f, const char *what, Error **errp)
{
    int ret = qemu_file_get_error(f, NULL);

    if (!ret) {
        return true;
    }
    if (ret == -ENODATA) {
        error_setg(errp, "truncated stream: %s cut short", what);
    } else {
        error_setg(errp, "%s: %s", what, qemu_file_error_message(f));
    }
    return false;
}

/*
 * The end of a record: with checksums, its CRC32C trailer must match what
 * was read since the record's type byte. Without, it only stops the CRC
 * that ran for the first record (see loadvm_records).
 */
static bool loadvm_record_trailer(QEMUFile *f, Error **errp)
{
    uint32_t computed = qemu_file_crc_end(f);
    uint32_t sent;

    if (!qemu_file_checksums(f)) {
        return true;
    }
    sent = qemu_get_be32(f);
    if (!loadvm_check_file(f, "checksum", errp)) {
        return false;
    }
    if (sent != computed) {
        trace_loadvm_checksum_mismatch(sent, computed);
        error_setg(errp, "checksum mismatch (stream 0x%08" PRIx32
                   ", computed 0x%08" PRIx32 "): the stream is corrupted",
                   sent, computed);
        return false;
    }
    return true;
}

static bool loadvm_footer(QEMUFile *f, SaveVMEntry *se, uint32_t section_id,
                          Error **errp)
{
    uint8_t marker = qemu_get_byte(f);
    uint32_t id = qemu_get_be32(f);

    if (!loadvm_check_file(f, "section footer", errp)) {
        error_prepend(errp, "section '%s' (id %" PRIu32 "): ", se->idstr,
                      section_id);
        return false;
    }
    if (marker != SAVEVM_REC_FOOTER) {
        error_setg(errp, "section '%s' (id %" PRIu32 "): footer mismatch: "
                   "byte 0x%02x where the footer marker belongs", se->idstr,
                   section_id, marker);
        return false;
    }
    if (id != section_id) {
        error_setg(errp, "section '%s' (id %" PRIu32 "): footer mismatch: "
                   "footer names section id %" PRIu32, se->idstr, section_id,
                   id);
        return false;
    }
    return true;
}

/* Loads a payload from f (framed or in memory) into se. */
static bool loadvm_payload(QEMUFile *f, SaveVMEntry *se, int version_id,
                           Error **errp)
{
    if (se->vmsd) {
        return vmstate_load(f, se->vmsd, se->opaque, version_id, errp);
    }
    return se->ops->load_state(f, se->opaque, version_id, errp);
}

/* Judges a payload load: ok, with unread bytes left in f. */
static bool loadvm_payload_done(QEMUFile *f, SaveVMEntry *se, bool ok,
                                uint64_t unread, Error **errp)
{
    ERRP_GUARD();

    /* A live handler that trips over a short payload reports what it
     * expected; the root cause is the stream's, so that is what we say.
     * (vmstate already names the field it was reading.) */
    if (qemu_file_get_error(f, NULL) && (ok || !se->vmsd)) {
        error_free(*errp);
        *errp = NULL;
        loadvm_check_file(f, "section payload", errp);
        ok = false;
    }
    if (ok && unread) {
        error_setg(errp, "%" PRIu64 " bytes of the section left unread",
                   unread);
        ok = false;
    }
    if (!ok) {
        error_prepend(errp, "section '%s' instance %" PRIu32 ": ",
                      se->idstr, se->instance_id);
    }
    return ok;
}

static bool loadvm_section_trailer(QEMUFile *f, SaveVMEntry *se,
                                   uint32_t section_id, Error **errp)
{
    if (!loadvm_record_trailer(f, errp)) {
        error_prepend(errp, "section '%s' instance %" PRIu32 " (id %" PRIu32
                      "): ", se->idstr, se->instance_id, section_id);
        return false;
    }
    return true;
}

/*
 * Reads a device section's payload whole into body, then its footer and
 * trailer (the checksum, when the stream has them): nothing of it reaches
 * a device before all of it was read and checked.
 */
static bool loadvm_read_section_whole(LoadVMContext *c, SaveVMEntry *se,
                                      uint32_t section_id, GByteArray *body,
                                      Error **errp)
{
    qemu_file_frame_begin(c->f);
    if (!qemu_file_frame_read_rest(c->f, body, LOADVM_MAX_DEVICE_SECTION)) {
        loadvm_check_file(c->f, "section payload", errp);
        error_prepend(errp, "section '%s' instance %" PRIu32 ": ", se->idstr,
                      se->instance_id);
        return false;
    }
    return loadvm_footer(c->f, se, section_id, errp) &&
           loadvm_section_trailer(c->f, se, section_id, errp);
}

/* A device section with checksums, verified before the device loads it. */
static bool loadvm_section_verified(LoadVMContext *c, SaveVMEntry *se,
                                    uint32_t section_id, int version_id,
                                    Error **errp)
{
    g_autoptr(GByteArray) body = g_byte_array_new();
    QEMUFile *m;
    bool ok;

    if (!loadvm_read_section_whole(c, se, section_id, body, errp)) {
        return false;
    }
    m = qemu_file_new_mem_input(body->data, body->len, 0);
    ok = loadvm_payload(m, se, version_id, errp);
    ok = loadvm_payload_done(m, se, ok, body->len - qemu_file_transferred(m),
                             errp);
    qemu_fclose(m);
    return ok;
}

/* Most device state held back for postcopy's run. */
#define LOADVM_MAX_DEFERRED         (256u << 20)

void loadvm_defer_devices_begin(SaveVMState *s)
{
    if (!s->deferred) {
        s->deferred = qemu_file_new_mem_output();
    }
}

GByteArray *loadvm_defer_devices_take(SaveVMState *s)
{
    GByteArray *blob;
    const uint8_t *data;
    size_t len;

    if (!s->deferred) {
        return NULL;
    }
    qemu_put_byte(s->deferred, SAVEVM_REC_EOF);
    qemu_fflush(s->deferred);
    data = qemu_file_mem_output_data(s->deferred, &len);
    blob = g_byte_array_sized_new(len);
    g_byte_array_append(blob, data, len);
    qemu_fclose(s->deferred);
    s->deferred = NULL;
    return blob;
}

/*
 * Postcopy: a device section read whole and checked, then written again
 * (without checksums: they were checked here) into the held-back blob.
 */
static bool loadvm_section_defer(LoadVMContext *c, SaveVMEntry *se,
                                 uint32_t section_id, int version_id,
                                 Error **errp)
{
    g_autoptr(GByteArray) body = g_byte_array_new();
    QEMUFile *m = c->s->deferred;

    if (!loadvm_read_section_whole(c, se, section_id, body, errp)) {
        return false;
    }
    if (qemu_file_transferred(m) + body->len > LOADVM_MAX_DEFERRED) {
        error_setg(errp, "section '%s' instance %" PRIu32 ": device state "
                   "held for postcopy exceeds %u bytes", se->idstr,
                   se->instance_id, LOADVM_MAX_DEFERRED);
        return false;
    }
    trace_loadvm_section_deferred(se->idstr, se->instance_id, body->len);
    qemu_put_byte(m, SAVEVM_REC_FULL);
    qemu_put_be32(m, section_id);
    qemu_put_counted_string(m, se->idstr);
    qemu_put_be32(m, se->instance_id);
    qemu_put_be32(m, version_id);
    qemu_file_frame_begin(m);
    qemu_put_buffer(m, body->data, body->len);
    qemu_file_frame_end(m);
    qemu_put_byte(m, SAVEVM_REC_FOOTER);
    qemu_put_be32(m, section_id);
    return true;
}

/* Loads one framed payload into se and checks it was consumed exactly. */
static bool loadvm_section_body(LoadVMContext *c, SaveVMEntry *se,
                                uint32_t section_id, int version_id,
                                Error **errp)
{
    QEMUFile *f = c->f;
    uint64_t unread;
    bool ok;

    if (se->vmsd && c->s->deferred && !c->devices_only) {
        return loadvm_section_defer(c, se, section_id, version_id, errp);
    }
    if (se->vmsd && qemu_file_checksums(f)) {
        return loadvm_section_verified(c, se, section_id, version_id, errp);
    }
    qemu_file_frame_begin(f);
    ok = loadvm_payload(f, se, version_id, errp);
    unread = qemu_file_frame_end(f);
    return loadvm_payload_done(f, se, ok, unread, errp) &&
           loadvm_footer(f, se, section_id, errp) &&
           loadvm_section_trailer(f, se, section_id, errp);
}

static bool loadvm_check_version(SaveVMEntry *se, uint32_t version,
                                 Error **errp)
{
    int min = se->vmsd ? se->vmsd->minimum_version_id : 1;

    if (version > (uint32_t)se->version_id) {
        error_setg(errp, "section '%s' instance %" PRIu32 ": unsupported "
                   "version %" PRIu32 " (newest supported %d)", se->idstr,
                   se->instance_id, version, se->version_id);
        return false;
    }
    if ((int)version < min) {
        error_setg(errp, "section '%s' instance %" PRIu32 ": unsupported "
                   "version %" PRIu32 " (oldest supported %d)", se->idstr,
                   se->instance_id, version, min);
        return false;
    }
    return true;
}

/* START and FULL: the section names itself. */
static bool loadvm_section_start_full(LoadVMContext *c, uint8_t type,
                                      Error **errp)
{
    QEMUFile *f = c->f;
    char idstr[256];
    uint32_t section_id, instance_id, version;
    SaveVMEntry *se;

    section_id = qemu_get_be32(f);
    qemu_get_counted_string(f, idstr);
    instance_id = qemu_get_be32(f);
    version = qemu_get_be32(f);
    if (!loadvm_check_file(f, "section header", errp)) {
        return false;
    }
    trace_loadvm_section(savevm_record_name(type), section_id, idstr,
                         instance_id, version);
    se = savevm_find(c->s, idstr, instance_id);
    if (!se) {
        error_setg(errp, "unknown section '%s' instance %" PRIu32
                   " (id %" PRIu32 ")", idstr, instance_id, section_id);
        return false;
    }
    if (!loadvm_check_version(se, version, errp)) {
        return false;
    }
    if (type == SAVEVM_REC_START) {
        if (!se->ops) {
            error_setg(errp, "section '%s' instance %" PRIu32 ": not a live "
                       "entry but sent as 'start'", idstr, instance_id);
            return false;
        }
        if (g_hash_table_contains(c->started, GUINT_TO_POINTER(section_id))) {
            error_setg(errp, "section '%s': section id %" PRIu32 " started "
                       "twice", idstr, section_id);
            return false;
        }
        g_hash_table_insert(c->started, GUINT_TO_POINTER(section_id), se);
    }
    return loadvm_section_body(c, se, section_id, version, errp);
}

/* PART and END: only the id, which a START must have introduced. */
static bool loadvm_section_part_end(LoadVMContext *c, uint8_t type,
                                    Error **errp)
{
    uint32_t section_id = qemu_get_be32(c->f);
    SaveVMEntry *se;

    if (!loadvm_check_file(c->f, "section header", errp)) {
        return false;
    }
    se = g_hash_table_lookup(c->started, GUINT_TO_POINTER(section_id));
    if (!se) {
        error_setg(errp, "section id mismatch: '%s' record for section id %"
                   PRIu32 ", which no 'start' record opened",
                   savevm_record_name(type), section_id);
        return false;
    }
    trace_loadvm_section(savevm_record_name(type), section_id, se->idstr,
                         se->instance_id, se->version_id);
    return loadvm_section_body(c, se, section_id, se->version_id, errp);
}

static void loadvm_checksum_missing(Error **errp)
{
    error_setg(errp, "the source sends no checksums, but x-stream-checksum "
               "is on here: set it the same on both sides");
}

/* stream-checksum: the source's checksums start with its own trailer. */
static bool loadvm_checksum_announced(LoadVMContext *c, const uint8_t *data,
                                      Error **errp)
{
    uint32_t algo = (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 |
                    data[3];

    if (!c->first) {
        error_setg(errp, "command 'stream-checksum' after the first record");
        return false;
    }
    if (c->s->checksum_policy == LOADVM_CHECKSUM_REFUSE) {
        error_setg(errp, "the source sends checksums (x-stream-checksum is "
                   "on there), but it is off here: set it the same on both "
                   "sides");
        return false;
    }
    if (algo != SAVEVM_CHECKSUM_CRC32C) {
        error_setg(errp, "command 'stream-checksum': unknown algorithm %"
                   PRIu32 " (this build knows %u, CRC32C)", algo,
                   SAVEVM_CHECKSUM_CRC32C);
        return false;
    }
    trace_loadvm_checksum_announced(algo, c->s->checksum_policy);
    qemu_file_set_checksums(c->f, true);
    return true;
}

static LoadVMCommandResult loadvm_command(LoadVMContext *c, Error **errp)
{
    QEMUFile *f = c->f;
    uint16_t cmd = qemu_get_be16(f);
    uint16_t len = qemu_get_be16(f);
    const SaveVMCommandInfo *info = savevm_command_info(cmd);
    LoadVMCommandHandler *h;
    uint8_t data[256];      /* every table length is smaller */

    if (!loadvm_check_file(f, "command header", errp)) {
        return LOADVM_CMD_ERROR;
    }
    if (!info) {
        error_setg(errp, "unknown command %u", cmd);
        return LOADVM_CMD_ERROR;
    }
    if (len != info->len) {
        error_setg(errp, "command '%s': length %u, expected %u", info->name,
                   len, info->len);
        return LOADVM_CMD_ERROR;
    }
    if (c->first && cmd != SAVEVM_CMD_STREAM_CHECKSUM &&
        c->s->checksum_policy == LOADVM_CHECKSUM_REQUIRE) {
        loadvm_checksum_missing(errp);
        return LOADVM_CMD_ERROR;
    }
    qemu_get_buffer(f, data, len);
    if (!loadvm_check_file(f, "command payload", errp)) {
        return LOADVM_CMD_ERROR;
    }
    if (cmd == SAVEVM_CMD_STREAM_CHECKSUM &&
        !loadvm_checksum_announced(c, data, errp)) {
        return LOADVM_CMD_ERROR;
    }
    if (!loadvm_record_trailer(f, errp)) {
        error_prepend(errp, "command '%s': ", info->name);
        return LOADVM_CMD_ERROR;
    }
    trace_loadvm_command(info->name, len);
    h = &c->s->cmd_handlers[cmd];
    if (!h->fn) {
        return LOADVM_CMD_CONTINUE;
    }
    return h->fn(data, len, h->opaque, errp);
}

/* After EOF: the optional description, then nothing. */
static bool loadvm_trailer(LoadVMContext *c, Error **errp)
{
    QEMUFile *f = c->f;
    uint8_t type;
    uint32_t len;

    if (qemu_file_at_eof(f)) {
        return loadvm_check_file(f, "stream end", errp);
    }
    if (qemu_file_checksums(f)) {
        qemu_file_crc_begin(f);
    }
    type = qemu_get_byte(f);
    if (type != SAVEVM_REC_DESCRIPTION) {
        error_setg(errp, "trailing garbage after the EOF record "
                   "(byte 0x%02x)", type);
        return false;
    }
    len = qemu_get_be32(f);
    if (!loadvm_check_file(f, "description record", errp)) {
        return false;
    }
    if (len > SAVEVM_MAX_DESCRIPTION) {
        error_setg(errp, "description record of %" PRIu32 " bytes exceeds %u",
                   len, SAVEVM_MAX_DESCRIPTION);
        return false;
    }
    /* The description is for tools; the loader trusts its own tables. */
    qemu_file_skip(f, len);
    if (!loadvm_check_file(f, "description record", errp)) {
        return false;
    }
    if (!loadvm_record_trailer(f, errp)) {
        error_prepend(errp, "description record: ");
        return false;
    }
    if (c->s->expect_channel_end && !qemu_file_at_eof(f)) {
        error_setg(errp, "trailing garbage after the description record");
        return false;
    }
    return loadvm_check_file(f, "stream end", errp);
}

static bool loadvm_header(QEMUFile *f, Error **errp);

/* One record. *quit: a command handler ended loading; *eof: EOF read. */
static bool loadvm_record(LoadVMContext *c, bool *quit, bool *eof,
                          Error **errp)
{
    QEMUFile *f = c->f;

    {
        uint8_t type;
        bool ok;

        /* The first record may be stream-checksum, whose own trailer is
         * the first checksum: its CRC runs before we know. */
        if (qemu_file_checksums(f) || c->first) {
            qemu_file_crc_begin(f);
        }
        type = qemu_get_byte(f);
        if (!loadvm_check_file(f, "record", errp)) {
            return false;
        }
        if (c->first && type != SAVEVM_REC_COMMAND &&
            c->s->checksum_policy == LOADVM_CHECKSUM_REQUIRE) {
            loadvm_checksum_missing(errp);
            return false;
        }
        if (c->devices_only && type != SAVEVM_REC_FULL &&
            type != SAVEVM_REC_EOF) {
            error_setg(errp, "unexpected '%s' record (0x%02x) in a "
                       "device-state stream", savevm_record_name(type), type);
            return false;
        }
        switch (type) {
        case SAVEVM_REC_START:
        case SAVEVM_REC_FULL:
            ok = loadvm_section_start_full(c, type, errp);
            break;
        case SAVEVM_REC_PART:
        case SAVEVM_REC_END:
            ok = loadvm_section_part_end(c, type, errp);
            break;
        case SAVEVM_REC_COMMAND:
            switch (loadvm_command(c, errp)) {
            case LOADVM_CMD_ERROR:
                return false;
            case LOADVM_CMD_QUIT:
                *quit = true;
                return true;
            case LOADVM_CMD_CONTINUE:
                break;
            }
            ok = true;
            break;
        case SAVEVM_REC_EOF:
            trace_loadvm_record("eof");
            qemu_file_crc_end(f);
            *eof = true;
            return true;
        default:
            error_setg(errp, "unknown record type 0x%02x at stream offset %"
                       PRIu64, type, qemu_file_transferred(f) - 1);
            return false;
        }
        if (!ok) {
            return false;
        }
        c->first = false;
        return true;
    }
}

/*
 * Postcopy recovery: the stream broke (its channel, not its content) and
 * the recover hook gave another (and closed the broken one). It starts
 * with a header and, with x-stream-checksum, its own stream-checksum
 * command. A new stream that breaks or is no stream before its header
 * ends is asked again.
 */
static bool loadvm_recover(LoadVMContext *c, Error **errp)
{
    ERRP_GUARD();
    bool bad_header = false;

    /* A connection that is not a migration stream (a wrong peer) is
     * refused like a broken one: the guest runs here, and the right
     * source may still come. */
    while (c->s->recover_fn && !c->devices_only &&
           (bad_header || qemu_file_transport_failed(c->f))) {
        QEMUFile *f;

        trace_loadvm_recover(error_get_pretty(*errp));
        f = c->s->recover_fn(c->s->recover_opaque, c->f, errp);
        if (!f) {
            return false;
        }
        error_free(*errp);
        *errp = NULL;
        /* A stream of its own: stream-checksum may open it again, and
         * the checksum policy applies to it as to the first. */
        c->f = f;
        c->first = true;
        if (loadvm_header(f, errp)) {
            return true;
        }
        bad_header = true;
    }
    return false;
}

/* Reads records up to EOF. *quit: a command handler ended loading. */
static bool loadvm_records(LoadVMContext *c, bool *quit, Error **errp)
{
    bool eof = false;

    *quit = false;
    while (!eof && !*quit) {
        if (!loadvm_record(c, quit, &eof, errp) && !loadvm_recover(c, errp)) {
            return false;
        }
    }
    return true;
}

static void loadvm_cleanup(SaveVMState *s)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (se->ops && se->ops->load_cleanup) {
            se->ops->load_cleanup(se->opaque);
        }
    }
}

static bool loadvm_setup(SaveVMState *s, Error **errp)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (se->ops && se->ops->load_setup &&
            !se->ops->load_setup(se->opaque, errp)) {
            error_prepend(errp, "section '%s' instance %" PRIu32 ": ",
                          se->idstr, se->instance_id);
            return false;
        }
    }
    return true;
}

static bool loadvm_header(QEMUFile *f, Error **errp)
{
    uint32_t magic = qemu_get_be32(f);
    uint32_t version = qemu_get_be32(f);

    if (!loadvm_check_file(f, "stream header", errp)) {
        return false;
    }
    if (magic != SAVEVM_MAGIC) {
        error_setg(errp, "bad magic 0x%08" PRIx32 ": not a migration stream",
                   magic);
        return false;
    }
    if (version != SAVEVM_VERSION) {
        error_setg(errp, "unsupported stream version %" PRIu32
                   " (this build reads %d)", version, SAVEVM_VERSION);
        return false;
    }
    return true;
}

bool loadvm_state(SaveVMState *s, QEMUFile *f, Error **errp)
{
    LoadVMContext c = { .s = s, .f = f, .first = true };
    bool quit = false;
    bool ok;

    if (!loadvm_header(f, errp)) {
        return false;
    }
    c.started = g_hash_table_new(NULL, NULL);
    ok = loadvm_setup(s, errp) && loadvm_records(&c, &quit, errp) &&
         (quit || loadvm_trailer(&c, errp));
    if (s->deferred) {
        if (ok) {
            error_setg(errp, "the stream ended with device state held back "
                       "for a postcopy-run that never came");
            ok = false;
        }
        qemu_fclose(s->deferred);
        s->deferred = NULL;
    }
    loadvm_cleanup(s);
    g_hash_table_unref(c.started);
    trace_loadvm_state_done(ok);
    return ok;
}

void loadvm_set_recover(SaveVMState *s, LoadVMRecoverFn *fn, void *opaque)
{
    s->recover_fn = fn;
    s->recover_opaque = opaque;
}

bool loadvm_load_device_blob(SaveVMState *s, QEMUFile *f, Error **errp)
{
    LoadVMContext c = { .s = s, .f = f, .devices_only = true };
    bool quit;
    bool ok;

    c.started = g_hash_table_new(NULL, NULL);
    ok = loadvm_records(&c, &quit, errp);
    g_hash_table_unref(c.started);
    return ok;
}

/* One FULL section of a blob, walked by its framing: header, payload
 * skipped, footer, trailer. */
static bool loadvm_verify_section(QEMUFile *f, Error **errp)
{
    char idstr[256];
    uint32_t section_id, instance_id;
    uint8_t marker;

    section_id = qemu_get_be32(f);
    qemu_get_counted_string(f, idstr);
    instance_id = qemu_get_be32(f);
    qemu_get_be32(f);                   /* version: the load judges it */
    if (!loadvm_check_file(f, "section header", errp)) {
        return false;
    }
    qemu_file_frame_begin(f);
    qemu_file_frame_end(f);
    marker = qemu_get_byte(f);
    if (qemu_get_be32(f) != section_id || marker != SAVEVM_REC_FOOTER) {
        qemu_file_set_error(f, -EINVAL, "footer mismatch");
    }
    if (!loadvm_check_file(f, "section", errp) ||
        !loadvm_record_trailer(f, errp)) {
        error_prepend(errp, "section '%s' instance %" PRIu32 " (id %" PRIu32
                      "): ", idstr, instance_id, section_id);
        return false;
    }
    return true;
}

bool loadvm_verify_device_blob(const uint8_t *blob, size_t len, Error **errp)
{
    g_autoptr(QEMUFile) f = qemu_file_new_mem_input(blob, len, 0);

    qemu_file_set_checksums(f, true);
    for (;;) {
        uint8_t type;

        qemu_file_crc_begin(f);
        type = qemu_get_byte(f);
        if (!loadvm_check_file(f, "record", errp)) {
            return false;
        }
        if (type == SAVEVM_REC_EOF) {
            break;
        }
        if (type != SAVEVM_REC_FULL) {
            error_setg(errp, "unexpected '%s' record (0x%02x) at offset %"
                       PRIu64 " of a device-state stream",
                       savevm_record_name(type), type,
                       qemu_file_transferred(f) - 1);
            return false;
        }
        if (!loadvm_verify_section(f, errp)) {
            return false;
        }
    }
    qemu_file_crc_end(f);
    if (!qemu_file_at_eof(f)) {
        error_setg(errp, "trailing bytes after the device state's EOF record");
        return false;
    }
    return true;
}
