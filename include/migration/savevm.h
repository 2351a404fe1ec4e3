/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration stream's framing: a registry of what is migrated (device
 * state described by vmstate tables, and iterative "live" entries such as
 * RAM with their own handlers), the writer that turns it into a stream of
 * typed records, and the loader that dispatches them back. The registry is
 * an object (SaveVMState) so that a test can hold a source and a
 * destination in one process; the VMM uses savevm_default().
 *
 * Stream (docs/devel/migration-stream.md has the byte-level tables):
 *
 *     header      be32 magic "TDMS", be32 version 1
 *     START       live entry setup      \
 *     PART ...    live entry iterations  } each: id, payload in chunks,
 *     END         live entry completion  } footer (marker + id)
 *     FULL ...    one per device        /
 *     COMMAND     be16 id, be16 length, payload (anywhere between records)
 *     EOF
 *     DESCRIPTION be32 length, JSON (what the FULL sections contain)
 *
 * Source:  savevm_state_header, savevm_state_setup,
 *          savevm_state_iterate until done (or downtime fits),
 *          savevm_state_complete, savevm_state_cleanup.
 * Strict switchover: savevm_state_complete_devices (FULL only, maybe more
 *          than once), then savevm_state_complete_live (END, EOF).
 * COLO:    savevm_state_save_device_blob / loadvm_load_device_blob
 *          exchange only FULL sections and EOF (a checkpoint's device
 *          blob).
 *
 * Checksums (x-stream-checksum; qemu_file_set_checksums() on the file):
 * the header is followed by a stream-checksum COMMAND (algorithm 1,
 * CRC32C), and every section, COMMAND and DESCRIPTION record then ends
 * with a be32 CRC32C of its wire bytes from its type byte to its last
 * byte (the footer for sections, chunk headers included). The loader
 * checks a COMMAND's before running it and a FULL section's before
 * loading it into the device (it reads the section into memory first);
 * a live section's pages are checked when its trailer arrives (they land
 * in RAM the destination does not run until the load succeeds, or in
 * COLO's cache, which a failed checkpoint never commits). Without the
 * capability none of this is on the wire: the stream is byte for byte
 * what it was before checksums existed. The destination's policy
 * (loadvm_set_checksum_policy): follow what the source announces, or
 * require it on or off, with an error naming the capability when the
 * stream disagrees.
 */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H

#include <stdbool.h>
#include <stdint.h>
#include "migration/qemu-file.h"
#include "migration/vmstate.h"
#include "util/error.h"

#define SAVEVM_MAGIC            0x54444d53u     /* "TDMS" */
#define SAVEVM_VERSION          1
/* savevm_register*: the next free instance of this idstr. */
#define SAVEVM_INSTANCE_ANY     UINT32_MAX
/* Largest DESCRIPTION record the loader accepts. */
#define SAVEVM_MAX_DESCRIPTION  (64u << 20)

/* Record types: the first byte of every record after the header. */
typedef enum SaveVMRecord {
    SAVEVM_REC_START        = 0x01,
    SAVEVM_REC_PART         = 0x02,
    SAVEVM_REC_END          = 0x03,
    SAVEVM_REC_FULL         = 0x04,
    SAVEVM_REC_COMMAND      = 0x05,
    SAVEVM_REC_DESCRIPTION  = 0x06,
    SAVEVM_REC_EOF          = 0x0f,
    SAVEVM_REC_FOOTER       = 0x7e,     /* ends a section, not a record */
} SaveVMRecord;

const char *savevm_record_name(unsigned type);

/* COMMAND ids. The table in savevm.c gives each a name and its payload
 * length; the loader rejects other lengths. */
typedef enum SaveVMCommand {
    SAVEVM_CMD_INVALID = 0,
    SAVEVM_CMD_OPEN_RETURN_PATH,    /* no payload */
    SAVEVM_CMD_PING,                /* be32 value, echoed on return path */
    SAVEVM_CMD_ENABLE_COLO,         /* no payload */
    SAVEVM_CMD_POSTCOPY_ADVISE,     /* be64 page size, be64 page bits */
    SAVEVM_CMD_POSTCOPY_LISTEN,     /* no payload */
    SAVEVM_CMD_POSTCOPY_RUN,        /* no payload */
    SAVEVM_CMD_SWITCHOVER_START,    /* no payload */
    SAVEVM_CMD_SWITCHOVER_ABORT,    /* no payload: strict SLA, see below */
    SAVEVM_CMD_STREAM_CHECKSUM,     /* be32 algorithm: checksums, below */
    SAVEVM_CMD_POSTCOPY_PREEMPT_DONE, /* no payload: the preempt channel
                                         ended (include/migration/
                                         postcopy.h) */
    SAVEVM_CMD_POSTCOPY_RECOVER,    /* no payload: a recovering source
                                       asks for the received bitmap */
    SAVEVM_CMD_POSTCOPY_RESUME,     /* no payload: recovery done, the
                                       source sends again (postcopy.h) */
    SAVEVM_CMD_POSTCOPY_LOAD,       /* be32 attempt: strict postcopy
                                       switch, load the device state now,
                                       pong(attempt) once loaded, vCPUs
                                       stay parked (postcopy.h) */
    SAVEVM_CMD__MAX,
} SaveVMCommand;

typedef struct SaveVMCommandInfo {
    const char *name;
    uint16_t len;                   /* exact payload length */
} SaveVMCommandInfo;

const SaveVMCommandInfo *savevm_command_info(unsigned cmd);

typedef struct SaveVMState SaveVMState;

/*
 * An iterative entry. Payloads are opaque to the framing (each is one
 * framed section, so the loader knows its size). Save side: save_setup
 * writes the START payload, save_iterate one PART payload per call and
 * says whether it has nothing left for now, save_complete the END payload
 * (the guest is stopped), save_pending estimates the bytes still to send.
 * Load side: load_setup before the first record, load_state once per
 * START/PART/END (it must consume exactly its payload), load_cleanup
 * after the last (also on failure).
 */
typedef struct SaveVMHandlers {
    bool (*save_setup)(QEMUFile *f, void *opaque, Error **errp);
    bool (*save_iterate)(QEMUFile *f, void *opaque, bool *done,
                         Error **errp);
    bool (*save_complete)(QEMUFile *f, void *opaque, Error **errp);
    uint64_t (*save_pending)(void *opaque);
    void (*save_cleanup)(void *opaque);
    bool (*load_setup)(void *opaque, Error **errp);
    bool (*load_state)(QEMUFile *f, void *opaque, int version_id,
                       Error **errp);
    void (*load_cleanup)(void *opaque);
} SaveVMHandlers;

/* A COMMAND handler on the loading side. */
typedef enum LoadVMCommandResult {
    LOADVM_CMD_ERROR = -1,
    LOADVM_CMD_CONTINUE = 0,
    LOADVM_CMD_QUIT = 1,            /* stop loading, successfully */
} LoadVMCommandResult;
typedef LoadVMCommandResult (*LoadVMCommandFn)(const uint8_t *data,
                                               uint16_t len, void *opaque,
                                               Error **errp);

SaveVMState *savevm_state_new(void);
void savevm_state_free(SaveVMState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SaveVMState, savevm_state_free)
/* The process's registry, for devices: the one of the migration object
 * migration_current() (migration/migration.c). */
SaveVMState *savevm_default(void);

/* idstr: at most 255 bytes; (idstr, instance_id) must be unique. */
bool savevm_register(SaveVMState *s, const char *idstr, uint32_t instance_id,
                     const VMStateDescription *vmsd, void *opaque,
                     Error **errp);
bool savevm_register_live(SaveVMState *s, const char *idstr,
                          uint32_t instance_id, int version_id,
                          const SaveVMHandlers *ops, void *opaque,
                          Error **errp);
void savevm_unregister(SaveVMState *s, const char *idstr,
                       uint32_t instance_id);

/* Known commands without a handler are traced and ignored. */
void loadvm_set_command_handler(SaveVMState *s, SaveVMCommand cmd,
                                LoadVMCommandFn fn, void *opaque);
/* What the loader accepts; see "Checksums" above. AUTO is the default. */
typedef enum LoadVMChecksumPolicy {
    LOADVM_CHECKSUM_AUTO,           /* whatever the source announces */
    LOADVM_CHECKSUM_REQUIRE,        /* x-stream-checksum set on here */
    LOADVM_CHECKSUM_REFUSE,         /* x-stream-checksum set off here */
} LoadVMChecksumPolicy;
void loadvm_set_checksum_policy(SaveVMState *s, LoadVMChecksumPolicy p);
#define SAVEVM_CHECKSUM_CRC32C  1   /* stream-checksum's algorithm */

/*
 * Postcopy: from begin() on, the loader reads device (FULL) sections
 * whole into memory, checked as far as the framing goes (footer,
 * checksum trailer), instead of loading them: the thread reading the
 * stream must not run a device's post_load, which may touch guest RAM
 * that only that same thread can bring in. take() ends it and returns
 * them as a device blob (FULL sections, EOF) for
 * loadvm_load_device_blob() on another thread; NULL if begin() was not
 * called. A stream that ends while they are held fails the load.
 */
void loadvm_defer_devices_begin(SaveVMState *s);
GByteArray *loadvm_defer_devices_take(SaveVMState *s);

/*
 * Postcopy recovery. When the stream loadvm_state() reads breaks (its
 * channel failed: qemu_file_transport_failed(), not a bad record), fn is
 * asked for another, on the loading thread: it returns a new input that
 * carries on where the source resumes (a stream header, then records;
 * broken may be closed by then), or NULL to fail the load with *errp,
 * which holds what broke (fn may replace it with the real reason).
 * Whatever record was cut short is dropped: a recovering source sends
 * nothing that depends on it (include/migration/postcopy.h,
 * "Recovery").
 */
typedef QEMUFile *LoadVMRecoverFn(void *opaque, QEMUFile *broken,
                                  Error **errp);
void loadvm_set_recover(SaveVMState *s, LoadVMRecoverFn *fn, void *opaque);

/* Whether loadvm_state() requires the channel to end after the
 * description (default true; a channel that carries more, like COLO's,
 * turns it off). */
void loadvm_set_expect_channel_end(SaveVMState *s, bool on);

/* Saving. Stream errors are sticky in f; the bool results include them. */
void savevm_state_header(QEMUFile *f);
bool savevm_state_setup(SaveVMState *s, QEMUFile *f, Error **errp);
bool savevm_state_iterate(SaveVMState *s, QEMUFile *f, bool *all_done,
                          Error **errp);
uint64_t savevm_state_pending(SaveVMState *s);
bool savevm_state_complete(SaveVMState *s, QEMUFile *f, Error **errp);
/*
 * A COLO checkpoint's device blob: FULL sections and EOF. For this and
 * complete_devices, every_subsection: each device section carries all
 * its subsections whatever their needed() says (vmstate_save_all), for a
 * destination that loads on top of state it already has.
 */
bool savevm_state_save_device_blob(SaveVMState *s, QEMUFile *f,
                                   bool every_subsection, Error **errp);
/*
 * The completion in two halves (migration's switchover): the device
 * sections alone (FULL records, no EOF), which the plain switchover
 * captures in memory and the strict one may send more than once with
 * switchover-abort commands and more PART records in between, then
 * savevm_state_complete_live(): END for each live entry, EOF and the
 * description of the devices last written by complete_devices.
 */
bool savevm_state_complete_devices(SaveVMState *s, QEMUFile *f,
                                   bool every_subsection, Error **errp);
bool savevm_state_complete_live(SaveVMState *s, QEMUFile *f, Error **errp);
void savevm_state_cleanup(SaveVMState *s);
/*
 * One PART section of the live entry (idstr, instance_id) with fn's
 * payload, outside the iteration (postcopy's discard list).
 */
typedef bool SaveVMPartFn(QEMUFile *f, void *opaque, Error **errp);
bool savevm_state_send_part(SaveVMState *s, QEMUFile *f, const char *idstr,
                            uint32_t instance_id, SaveVMPartFn *fn,
                            void *opaque, Error **errp);
/* len must match the command's table entry. */
void savevm_send_command(QEMUFile *f, SaveVMCommand cmd, const void *data,
                         uint16_t len);
void savevm_send_ping(QEMUFile *f, uint32_t value);

/* Loading. */
bool loadvm_state(SaveVMState *s, QEMUFile *f, Error **errp);
bool loadvm_load_device_blob(SaveVMState *s, QEMUFile *f, Error **errp);
/*
 * Checks every checksum of a device blob (written with checksums on)
 * without loading anything: COLO verifies a whole checkpoint before it
 * applies any of it. Needs no registry: sections are walked by their
 * framing. The error names the section whose trailer does not match.
 */
bool loadvm_verify_device_blob(const uint8_t *blob, size_t len,
                               Error **errp);

#endif
