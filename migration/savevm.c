/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry of migrated state and the writing side of the stream
 * framing: header, START/PART/END sections for live entries, FULL sections
 * for devices, COMMAND records, EOF and the JSON description. Every
 * section's payload is framed (qemu_file_frame_begin/end) so its size is
 * on the wire, and followed by a footer so a loader that lost sync notices
 * at the first section boundary. Formats: docs/devel/migration-stream.md.
 */
#include <string.h>
#include <glib.h>
#include <json-c/json.h>
#include "savevm-internal.h"
#include "trace.h"

static const char *const savevm_record_names[256] = {
    [SAVEVM_REC_START]          = "start",
    [SAVEVM_REC_PART]           = "part",
    [SAVEVM_REC_END]            = "end",
    [SAVEVM_REC_FULL]           = "full",
    [SAVEVM_REC_COMMAND]        = "command",
    [SAVEVM_REC_DESCRIPTION]    = "description",
    [SAVEVM_REC_EOF]            = "eof",
    [SAVEVM_REC_FOOTER]         = "footer",
};

/* Payload layouts are in savevm.h next to each id. */
static const SaveVMCommandInfo savevm_commands[SAVEVM_CMD__MAX] = {
    [SAVEVM_CMD_INVALID]            = { .name = "invalid" },
    [SAVEVM_CMD_OPEN_RETURN_PATH]   = { .name = "open-return-path" },
    [SAVEVM_CMD_PING]               = { .name = "ping", .len = 4 },
    [SAVEVM_CMD_ENABLE_COLO]        = { .name = "enable-colo" },
    [SAVEVM_CMD_POSTCOPY_ADVISE]    = { .name = "postcopy-advise", .len = 16 },
    [SAVEVM_CMD_POSTCOPY_LISTEN]    = { .name = "postcopy-listen" },
    [SAVEVM_CMD_POSTCOPY_RUN]       = { .name = "postcopy-run" },
    [SAVEVM_CMD_SWITCHOVER_START]   = { .name = "switchover-start" },
    [SAVEVM_CMD_SWITCHOVER_ABORT]   = { .name = "switchover-abort" },
    [SAVEVM_CMD_STREAM_CHECKSUM]    = { .name = "stream-checksum", .len = 4 },
    [SAVEVM_CMD_POSTCOPY_PREEMPT_DONE] = { .name = "postcopy-preempt-done" },
    [SAVEVM_CMD_POSTCOPY_RECOVER]   = { .name = "postcopy-recover" },
    [SAVEVM_CMD_POSTCOPY_RESUME]    = { .name = "postcopy-resume" },
    [SAVEVM_CMD_POSTCOPY_LOAD]      = { .name = "postcopy-load", .len = 4 },
};

const char *savevm_record_name(unsigned type)
{
    return type < 256 && savevm_record_names[type] ?
           savevm_record_names[type] : "unknown";
}

const SaveVMCommandInfo *savevm_command_info(unsigned cmd)
{
    return cmd > SAVEVM_CMD_INVALID && cmd < SAVEVM_CMD__MAX ?
           &savevm_commands[cmd] : NULL;
}

/* ---- registry ---- */

static void savevm_entry_free(gpointer p)
{
    SaveVMEntry *se = p;

    g_free(se->idstr);
    g_free(se);
}

SaveVMState *savevm_state_new(void)
{
    SaveVMState *s = g_new0(SaveVMState, 1);

    s->entries = g_ptr_array_new_with_free_func(savevm_entry_free);
    s->expect_channel_end = true;
    return s;
}

void savevm_state_free(SaveVMState *s)
{
    if (s) {
        if (s->devices_desc) {
            json_object_put(s->devices_desc);
        }
        if (s->deferred) {
            qemu_fclose(s->deferred);
        }
        g_ptr_array_unref(s->entries);
        g_free(s);
    }
}

SaveVMEntry *savevm_find(SaveVMState *s, const char *idstr,
                         uint32_t instance_id)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (se->instance_id == instance_id && !strcmp(se->idstr, idstr)) {
            return se;
        }
    }
    return NULL;
}

static uint32_t savevm_next_instance(SaveVMState *s, const char *idstr)
{
    uint32_t next = 0;

    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (!strcmp(se->idstr, idstr) && se->instance_id >= next) {
            next = se->instance_id + 1;
        }
    }
    return next;
}

static bool savevm_add(SaveVMState *s, SaveVMEntry *se, Error **errp)
{
    if (strlen(se->idstr) > 255 || !se->idstr[0]) {
        error_setg(errp, "savevm id '%s' must be 1 to 255 bytes", se->idstr);
        savevm_entry_free(se);
        return false;
    }
    if (se->instance_id == SAVEVM_INSTANCE_ANY) {
        se->instance_id = savevm_next_instance(s, se->idstr);
    }
    if (savevm_find(s, se->idstr, se->instance_id)) {
        error_setg(errp, "savevm section '%s' instance %u already registered",
                   se->idstr, se->instance_id);
        savevm_entry_free(se);
        return false;
    }
    se->section_id = s->next_section_id++;
    g_ptr_array_add(s->entries, se);
    trace_savevm_register(se->idstr, se->instance_id, se->section_id,
                          se->ops != NULL);
    return true;
}

bool savevm_register(SaveVMState *s, const char *idstr, uint32_t instance_id,
                     const VMStateDescription *vmsd, void *opaque,
                     Error **errp)
{
    SaveVMEntry *se = g_new0(SaveVMEntry, 1);

    se->idstr = g_strdup(idstr);
    se->instance_id = instance_id;
    se->version_id = vmsd->version_id;
    se->vmsd = vmsd;
    se->opaque = opaque;
    return savevm_add(s, se, errp);
}

bool savevm_register_live(SaveVMState *s, const char *idstr,
                          uint32_t instance_id, int version_id,
                          const SaveVMHandlers *ops, void *opaque,
                          Error **errp)
{
    SaveVMEntry *se = g_new0(SaveVMEntry, 1);

    se->idstr = g_strdup(idstr);
    se->instance_id = instance_id;
    se->version_id = version_id;
    se->ops = ops;
    se->opaque = opaque;
    return savevm_add(s, se, errp);
}

void savevm_unregister(SaveVMState *s, const char *idstr,
                       uint32_t instance_id)
{
    SaveVMEntry *se = savevm_find(s, idstr, instance_id);

    if (se) {
        g_ptr_array_remove(s->entries, se);
    }
}

void loadvm_set_command_handler(SaveVMState *s, SaveVMCommand cmd,
                                LoadVMCommandFn fn, void *opaque)
{
    g_assert(savevm_command_info(cmd));
    s->cmd_handlers[cmd].fn = fn;
    s->cmd_handlers[cmd].opaque = opaque;
}

void loadvm_set_checksum_policy(SaveVMState *s, LoadVMChecksumPolicy p)
{
    s->checksum_policy = p;
}

void loadvm_set_expect_channel_end(SaveVMState *s, bool on)
{
    s->expect_channel_end = on;
}

/* ---- writing ---- */

/* Checksums: a record's trailer, after its last byte. */
static void savevm_record_begin(QEMUFile *f)
{
    if (qemu_file_checksums(f)) {
        qemu_file_crc_begin(f);
    }
}

static void savevm_record_end(QEMUFile *f)
{
    if (qemu_file_checksums(f)) {
        qemu_put_be32(f, qemu_file_crc_end(f));
    }
}

void savevm_state_header(QEMUFile *f)
{
    uint8_t algo[4] = { 0, 0, 0, SAVEVM_CHECKSUM_CRC32C };

    qemu_put_be32(f, SAVEVM_MAGIC);
    qemu_put_be32(f, SAVEVM_VERSION);
    /* First, so the loader knows before anything else depends on it. */
    if (qemu_file_checksums(f)) {
        savevm_send_command(f, SAVEVM_CMD_STREAM_CHECKSUM, algo,
                            sizeof(algo));
    }
}

static void savevm_section_header(QEMUFile *f, SaveVMEntry *se,
                                  SaveVMRecord type)
{
    trace_savevm_section(savevm_record_name(type), se->section_id, se->idstr,
                         se->instance_id);
    savevm_record_begin(f);
    qemu_put_byte(f, type);
    qemu_put_be32(f, se->section_id);
    if (type == SAVEVM_REC_START || type == SAVEVM_REC_FULL) {
        qemu_put_counted_string(f, se->idstr);
        qemu_put_be32(f, se->instance_id);
        qemu_put_be32(f, se->version_id);
    }
    qemu_file_frame_begin(f);
}

static void savevm_section_footer(QEMUFile *f, SaveVMEntry *se)
{
    qemu_file_frame_end(f);
    qemu_put_byte(f, SAVEVM_REC_FOOTER);
    qemu_put_be32(f, se->section_id);
    savevm_record_end(f);
}

/* Handler failures name the section; stream errors come from f. */
static bool savevm_check(QEMUFile *f, SaveVMEntry *se, bool ok,
                         Error **errp)
{
    ERRP_GUARD();

    if (!ok) {
        error_prepend(errp, "section '%s' instance %u: ", se->idstr,
                      se->instance_id);
        return false;
    }
    if (qemu_file_get_error(f, errp)) {
        error_prepend(errp, "section '%s' instance %u: ", se->idstr,
                      se->instance_id);
        return false;
    }
    return true;
}

bool savevm_state_setup(SaveVMState *s, QEMUFile *f, Error **errp)
{
    ERRP_GUARD();

    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);
        bool ok = true;

        if (!se->ops) {
            continue;
        }
        se->done = false;
        savevm_section_header(f, se, SAVEVM_REC_START);
        if (se->ops->save_setup) {
            ok = se->ops->save_setup(f, se->opaque, errp);
        }
        savevm_section_footer(f, se);
        /* Live payloads may reference guest memory (nocopy). */
        qemu_fflush(f);
        if (!savevm_check(f, se, ok, errp)) {
            return false;
        }
    }
    return true;
}

static bool savevm_live_has_work(SaveVMEntry *se)
{
    return !se->done ||
           (se->ops->save_pending && se->ops->save_pending(se->opaque));
}

bool savevm_state_iterate(SaveVMState *s, QEMUFile *f, bool *all_done,
                          Error **errp)
{
    ERRP_GUARD();

    *all_done = true;
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);
        bool ok;

        if (!se->ops || !se->ops->save_iterate || !savevm_live_has_work(se)) {
            continue;
        }
        if (qemu_file_rate_limit(f)) {
            *all_done = false;
            break;
        }
        savevm_section_header(f, se, SAVEVM_REC_PART);
        ok = se->ops->save_iterate(f, se->opaque, &se->done, errp);
        savevm_section_footer(f, se);
        qemu_fflush(f);
        if (!savevm_check(f, se, ok, errp)) {
            return false;
        }
        *all_done &= se->done;
    }
    return true;
}

uint64_t savevm_state_pending(SaveVMState *s)
{
    uint64_t total = 0;

    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (se->ops && se->ops->save_pending) {
            total += se->ops->save_pending(se->opaque);
        }
    }
    return total;
}

static bool savevm_save_full(QEMUFile *f, SaveVMEntry *se,
                             struct json_object *sections,
                             bool every_subsection, Error **errp)
{
    ERRP_GUARD();
    struct json_object *sec = NULL, *vmsd = NULL;
    bool ok;

    if (sections) {
        sec = json_object_new_object();
        vmsd = json_object_new_object();
        json_object_object_add(sec, "idstr", json_object_new_string(se->idstr));
        json_object_object_add(sec, "instance_id",
                               json_object_new_int64(se->instance_id));
        json_object_object_add(sec, "section_id",
                               json_object_new_int64(se->section_id));
        json_object_object_add(sec, "version",
                               json_object_new_int(se->version_id));
        json_object_object_add(sec, "vmsd", vmsd);
        json_object_array_add(sections, sec);
    }
    savevm_section_header(f, se, SAVEVM_REC_FULL);
    ok = every_subsection ?
         vmstate_save_all(f, se->vmsd, se->opaque, vmsd, errp) :
         vmstate_save(f, se->vmsd, se->opaque, vmsd, errp);
    savevm_section_footer(f, se);
    return savevm_check(f, se, ok, errp);
}

/* A FULL section per device entry, each described in sections if set. */
static bool savevm_put_device_sections(SaveVMState *s, QEMUFile *f,
                                       struct json_object *sections,
                                       bool every_subsection, Error **errp)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (se->vmsd &&
            !savevm_save_full(f, se, sections, every_subsection, errp)) {
            return false;
        }
    }
    return true;
}

static void savevm_put_description(QEMUFile *f, struct json_object *desc)
{
    size_t len;
    const char *json = json_object_to_json_string_length(
        desc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

    trace_savevm_description(len);
    savevm_record_begin(f);
    qemu_put_byte(f, SAVEVM_REC_DESCRIPTION);
    qemu_put_be32(f, len);
    qemu_put_buffer(f, json, len);
    savevm_record_end(f);
}

static struct json_object *savevm_live_description(SaveVMEntry *se)
{
    struct json_object *sec = json_object_new_object();

    json_object_object_add(sec, "idstr", json_object_new_string(se->idstr));
    json_object_object_add(sec, "instance_id",
                           json_object_new_int64(se->instance_id));
    json_object_object_add(sec, "section_id",
                           json_object_new_int64(se->section_id));
    json_object_object_add(sec, "version", json_object_new_int(se->version_id));
    json_object_object_add(sec, "live", json_object_new_boolean(true));
    return sec;
}

static struct json_object *savevm_description_new(struct json_object **sections)
{
    struct json_object *desc = json_object_new_object();

    *sections = json_object_new_array();
    json_object_object_add(desc, "magic", json_object_new_string("TDMS"));
    json_object_object_add(desc, "version",
                           json_object_new_int(SAVEVM_VERSION));
    json_object_object_add(desc, "sections", *sections);
    return desc;
}

/* END sections for every live entry; each described in sections. */
static bool savevm_complete_live_entries(SaveVMState *s, QEMUFile *f,
                                         struct json_object *sections,
                                         Error **errp)
{
    ERRP_GUARD();

    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);
        bool done = true;

        if (!se->ops) {
            continue;
        }
        json_object_array_add(sections, savevm_live_description(se));
        savevm_section_header(f, se, SAVEVM_REC_END);
        if (se->ops->save_complete) {
            done = se->ops->save_complete(f, se->opaque, errp);
        }
        savevm_section_footer(f, se);
        qemu_fflush(f);
        if (!savevm_check(f, se, done, errp)) {
            return false;
        }
    }
    return true;
}

static bool savevm_put_eof(QEMUFile *f, struct json_object *desc,
                           Error **errp)
{
    trace_savevm_record("eof");
    qemu_put_byte(f, SAVEVM_REC_EOF);
    savevm_put_description(f, desc);
    qemu_fflush(f);
    return !qemu_file_get_error(f, errp);
}

bool savevm_state_complete(SaveVMState *s, QEMUFile *f, Error **errp)
{
    struct json_object *sections;
    struct json_object *desc = savevm_description_new(&sections);
    bool ok;

    ok = savevm_complete_live_entries(s, f, sections, errp) &&
         savevm_put_device_sections(s, f, sections, false, errp) &&
         savevm_put_eof(f, desc, errp);
    json_object_put(desc);
    return ok;
}

bool savevm_state_complete_devices(SaveVMState *s, QEMUFile *f,
                                   bool every_subsection, Error **errp)
{
    struct json_object *sections = json_object_new_array();
    bool ok = savevm_put_device_sections(s, f, sections, every_subsection,
                                         errp);

    qemu_fflush(f);
    ok = ok && !qemu_file_get_error(f, errp);
    if (s->devices_desc) {
        json_object_put(s->devices_desc);
    }
    s->devices_desc = sections;
    return ok;
}

bool savevm_state_complete_live(SaveVMState *s, QEMUFile *f, Error **errp)
{
    struct json_object *sections;
    struct json_object *desc = savevm_description_new(&sections);
    bool ok = savevm_complete_live_entries(s, f, sections, errp);

    /* The device sections went out earlier; describe what was sent. */
    for (size_t i = 0; ok && s->devices_desc &&
         i < json_object_array_length(s->devices_desc); i++) {
        json_object_array_add(sections, json_object_get(
            json_object_array_get_idx(s->devices_desc, i)));
    }
    ok = ok && savevm_put_eof(f, desc, errp);
    json_object_put(desc);
    return ok;
}

bool savevm_state_save_device_blob(SaveVMState *s, QEMUFile *f,
                                   bool every_subsection, Error **errp)
{
    if (!savevm_put_device_sections(s, f, NULL, every_subsection, errp)) {
        return false;
    }
    trace_savevm_record("eof");
    qemu_put_byte(f, SAVEVM_REC_EOF);
    qemu_fflush(f);
    return !qemu_file_get_error(f, errp);
}

bool savevm_state_send_part(SaveVMState *s, QEMUFile *f, const char *idstr,
                            uint32_t instance_id, SaveVMPartFn *fn,
                            void *opaque, Error **errp)
{
    SaveVMEntry *se = savevm_find(s, idstr, instance_id);
    bool ok;

    if (!se || !se->ops) {
        error_setg(errp, "no live section '%s' instance %u", idstr,
                   instance_id);
        return false;
    }
    savevm_section_header(f, se, SAVEVM_REC_PART);
    ok = fn(f, opaque, errp);
    savevm_section_footer(f, se);
    qemu_fflush(f);
    return savevm_check(f, se, ok, errp);
}

void savevm_state_cleanup(SaveVMState *s)
{
    for (guint i = 0; i < s->entries->len; i++) {
        SaveVMEntry *se = g_ptr_array_index(s->entries, i);

        if (se->ops && se->ops->save_cleanup) {
            se->ops->save_cleanup(se->opaque);
        }
    }
}

void savevm_send_command(QEMUFile *f, SaveVMCommand cmd, const void *data,
                         uint16_t len)
{
    const SaveVMCommandInfo *info = savevm_command_info(cmd);

    g_assert(info && info->len == len);
    trace_savevm_command(info->name, len);
    savevm_record_begin(f);
    qemu_put_byte(f, SAVEVM_REC_COMMAND);
    qemu_put_be16(f, cmd);
    qemu_put_be16(f, len);
    qemu_put_buffer(f, data, len);
    savevm_record_end(f);
}

void savevm_send_ping(QEMUFile *f, uint32_t value)
{
    uint8_t b[4] = { value >> 24, value >> 16, value >> 8, value };

    savevm_send_command(f, SAVEVM_CMD_PING, b, sizeof(b));
}
