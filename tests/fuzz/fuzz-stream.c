/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what a migration source (or a COLO primary) can
 * send to a destination: the whole incoming stream (header, sections,
 * vmstate fields and subsections, the RAM entry's page records, the end
 * marker and the JSON description), a COLO checkpoint's device blob,
 * and a run of COLO control messages. Every input is hostile; the load
 * must fail with an error or succeed, never crash, hang or leak (ASan,
 * UBSan and LeakSanitizer watch).
 *
 * The destination is built once: 2 MiB of guest RAM (memfd, no KVM) as
 * the "ram" entry, and devices whose tables use every kind of field the
 * real ones use (scalars, fixed and variable arrays, buffers, a pointer
 * buffer reallocated on load, nested structs, struct arrays, unused
 * bytes, a subsection). Byte 0 of an input picks what the rest feeds:
 * (& 7) 0-5 the full stream (the loader follows its stream-checksum
 * announcement, if any), 6 the device blob, with bit 3 set a blob with
 * checksums as the COLO secondary takes it (verified whole, then loaded),
 * 7 COLO messages.
 *
 * Seeds are made by the same binary, so they always match the current
 * format: with FUZZ_STREAM_SEEDS=DIR it writes a valid stream (RAM and
 * devices), a valid device blob and a valid message run into DIR and
 * exits (tests/fuzz/run-fuzz.sh does this before fuzzing).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "migration/colo-message.h"
#include "migration/qemu-file.h"
#include "migration/ram.h"
#include "migration/savevm.h"
#include "migration/vmstate.h"
#include "system/memory.h"

typedef struct FuzzReg {
    uint16_t index;
    uint64_t value;
} FuzzReg;

typedef struct FuzzDev {
    uint8_t mode;
    int32_t level;
    bool enabled;
    uint32_t words[4];
    uint8_t fifo[16];
    uint32_t fifo_len;
    uint8_t *blob;              /* g_malloc'd, blob_len bytes */
    uint32_t blob_len;
    FuzzReg regs[8];
    uint32_t nr_regs;
    FuzzReg fixed[2];
    FuzzReg one;
    bool extra_needed;
    uint64_t extra;
} FuzzDev;

static const VMStateDescription vmstate_fuzz_reg = {
    .name = "fuzz-reg",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(index, FuzzReg),
        VMSTATE_UINT64(value, FuzzReg),
        VMSTATE_END_OF_LIST()
    },
};

static bool fuzz_extra_needed(void *opaque)
{
    return ((FuzzDev *)opaque)->extra_needed;
}

static const VMStateDescription vmstate_fuzz_extra = {
    .name = "fuzz-dev/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = fuzz_extra_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(extra, FuzzDev),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_fuzz_dev = {
    .name = "fuzz-dev",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(mode, FuzzDev),
        VMSTATE_INT32(level, FuzzDev),
        VMSTATE_BOOL(enabled, FuzzDev),
        VMSTATE_UINT32_ARRAY(words, FuzzDev, 4),
        VMSTATE_UINT32(fifo_len, FuzzDev),
        VMSTATE_VBUFFER_UINT32(fifo, FuzzDev, fifo_len, 16),
        VMSTATE_UINT32(blob_len, FuzzDev),
        VMSTATE_VBUFFER_ALLOC_UINT32(blob, FuzzDev, blob_len, 4096),
        VMSTATE_UINT32(nr_regs, FuzzDev),
        VMSTATE_STRUCT_VARRAY_UINT32(regs, FuzzDev, nr_regs, 8,
                                     vmstate_fuzz_reg, FuzzReg),
        VMSTATE_STRUCT_ARRAY(fixed, FuzzDev, 2, vmstate_fuzz_reg, FuzzReg),
        VMSTATE_STRUCT(one, FuzzDev, vmstate_fuzz_reg, FuzzReg),
        VMSTATE_UNUSED_V(2, 4),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_fuzz_extra,
        NULL
    },
};

static GuestMemory mem;
static SaveVMState *dst;
static FuzzDev devs[2];

static void fuzz_setup(void)
{
    Error *err = NULL;

    dst = savevm_state_new();
    if (!guest_memory_add_ram(&mem, "pc.ram", 0, 2 << 20, &err) ||
        !ram_migration_register(dst, &mem, NULL, &err) ||
        !savevm_register(dst, "fuzz-dev", 0, &vmstate_fuzz_dev, &devs[0],
                         &err) ||
        !savevm_register(dst, "fuzz-dev", 1, &vmstate_fuzz_dev, &devs[1],
                         &err)) {
        g_error("fuzz-stream setup: %s", error_get_pretty(err));
    }
}

static void fuzz_colo_messages(QEMUFile *f)
{
    static const ColoMessage any[] = {
        COLO_MESSAGE_CHECKPOINT_READY, COLO_MESSAGE_CHECKPOINT_REQUEST,
        COLO_MESSAGE_CHECKPOINT_REPLY, COLO_MESSAGE_VMSTATE_SEND,
        COLO_MESSAGE_VMSTATE_SIZE, COLO_MESSAGE_VMSTATE_RECEIVED,
        COLO_MESSAGE_VMSTATE_LOADED, COLO_MESSAGE_X_RAM_PRESEND,
    };

    for (int i = 0; i < 64; i++) {
        ColoMessage got;
        uint64_t value;
        Error *err = NULL;

        if (!colo_receive_one_of(f, any, G_N_ELEMENTS(any), &got, &value,
                                 &err)) {
            error_free(err);
            return;
        }
    }
}

/* Writes mode byte + what f holds to DIR/NAME. */
static void fuzz_write_seed(const char *dir, const char *name, uint8_t mode,
                            QEMUFile *f)
{
    size_t len;
    const uint8_t *data = qemu_file_mem_output_data(f, &len);
    g_autofree uint8_t *buf = g_malloc(len + 1);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *gerr = NULL;

    buf[0] = mode;
    memcpy(buf + 1, data, len);
    if (!g_file_set_contents(path, (const char *)buf, len + 1, &gerr)) {
        g_error("%s: %s", path, gerr->message);
    }
    qemu_fclose(f);
}

/* A source like the destination, with RAM and devices worth sending. */
static void fuzz_make_seeds(const char *dir)
{
    static GuestMemory src_mem;
    static FuzzDev src_devs[2];
    SaveVMState *src = savevm_state_new();
    QEMUFile *f;
    Error *err = NULL;
    bool done = false;

    for (int i = 0; i < 2; i++) {
        FuzzDev *d = &src_devs[i];

        d->mode = 3 + i;
        d->level = -7;
        d->enabled = true;
        d->fifo_len = 5;
        memcpy(d->fifo, "hello", 5);
        d->blob_len = 8;
        d->blob = g_malloc0(8);
        d->nr_regs = 3;
        d->extra_needed = i;
        d->extra = 0x1234;
    }
    if (!guest_memory_add_ram(&src_mem, "pc.ram", 0, 2 << 20, &err) ||
        !ram_migration_register(src, &src_mem, NULL, &err) ||
        !savevm_register(src, "fuzz-dev", 0, &vmstate_fuzz_dev, &src_devs[0],
                         &err) ||
        !savevm_register(src, "fuzz-dev", 1, &vmstate_fuzz_dev, &src_devs[1],
                         &err)) {
        g_error("fuzz-stream seeds: %s", error_get_pretty(err));
    }
    guest_memory_mark_dirty(&src_mem, 0, 2 << 20);
    memset(guest_memory_host_ptr(&src_mem, 0x10000, 4096), 0x5a, 4096);

    for (int checksums = 0; checksums < 2; checksums++) {
        f = qemu_file_new_mem_output();
        qemu_file_set_checksums(f, checksums);
        savevm_state_header(f);
        done = false;
        if (!savevm_state_setup(src, f, &err)) {
            g_error("fuzz-stream seeds: %s", error_get_pretty(err));
        }
        while (!done) {
            if (!savevm_state_iterate(src, f, &done, &err)) {
                g_error("fuzz-stream seeds: %s", error_get_pretty(err));
            }
        }
        if (!savevm_state_complete(src, f, &err)) {
            g_error("fuzz-stream seeds: %s", error_get_pretty(err));
        }
        savevm_state_cleanup(src);
        fuzz_write_seed(dir, checksums ? "stream-checksum" : "stream", 0, f);

        f = qemu_file_new_mem_output();
        qemu_file_set_checksums(f, checksums);
        if (!savevm_state_save_device_blob(src, f, true, &err)) {
            g_error("fuzz-stream seeds: %s", error_get_pretty(err));
        }
        fuzz_write_seed(dir, checksums ? "device-blob-checksum" :
                        "device-blob", checksums ? 6 | 8 : 6, f);
    }

    f = qemu_file_new_mem_output();
    colo_send_message(f, COLO_MESSAGE_CHECKPOINT_REQUEST, NULL);
    colo_send_message(f, COLO_MESSAGE_VMSTATE_SEND, NULL);
    colo_send_message_value(f, COLO_MESSAGE_VMSTATE_SIZE, 4096, NULL);
    colo_send_message(f, COLO_MESSAGE_X_RAM_PRESEND, NULL);
    fuzz_write_seed(dir, "colo-messages", 7, f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_STREAM_SEEDS");

    if (dir) {
        fuzz_make_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QEMUFile *f;
    Error *err = NULL;

    if (!dst) {
        fuzz_setup();
    }
    if (!size) {
        return 0;
    }
    f = qemu_file_new_mem_input(data + 1, size - 1, 0);
    switch (data[0] & 7) {
    case 6:
        if (data[0] & 8) {
            qemu_file_set_checksums(f, true);
            if (!loadvm_verify_device_blob(data + 1, size - 1, &err)) {
                break;
            }
        }
        loadvm_load_device_blob(dst, f, &err);
        break;
    case 7:
        fuzz_colo_messages(f);
        break;
    default:
        loadvm_state(dst, f, &err);
        break;
    }
    error_free(err);
    qemu_fclose(f);
    return 0;
}
