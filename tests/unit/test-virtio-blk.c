/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk-pci on the PCI test machine (no KVM), the guest played
 * through config space and BAR MMIO (virtio-pci-test-driver), real disks
 * behind it (null-co, a raw file, a qcow2 image made by qemu-img): the PCI
 * face and configuration, reads and writes with many in flight checked
 * against the file, flush reaching fdatasync (counted by wrapping
 * fdatasync at link time), discard and write-zeroes on the file, GET_ID,
 * errors, hostile rings, the error policies with a real ENOSPC (a small
 * tmpfs mounted in a private mount namespace) and BLOCK_IO_ERROR through a
 * QMP monitor, retry on cont, and migration with requests in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "os-util.h"
#include "block/blockdev.h"
#include "hw/block/virtio-blk.h"
#include "migration/qemu-file.h"
#include "migration/savevm.h"
#include "qapi/qapi-commands.h"
#include "system/runstate.h"
#include "util/main-loop.h"
#include "block-test-util.h"
#include "qmp-test-client.h"
#include "virtio-pci-test-driver.h"

#define NUM         128
#define DEVFN       PCI_DEVFN(3, 0)
#define HDR_GPA     0x40000ULL          /* 32 bytes per request slot */
#define STATUS_GPA  0x42000ULL          /* 1 byte per slot */
#define SEG_GPA     0x43000ULL          /* discard segments, 16 per slot */
#define TABLE_GPA   0x48000ULL          /* an indirect table */
#define DATA_GPA    0x50000ULL          /* 16 KiB per slot */
#define DATA_SLOT   0x4000ULL
#define SLOTS       32
#define DISK_SIZE   (4u << 20)

#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | \
                       VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | \
                       VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | \
                       VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | \
                       VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | \
                       VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

/* ---- fdatasync, counted (linked with --wrap=fdatasync) ---- */

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
static int fdatasyncs;

int __wrap_fdatasync(int fd)
{
    g_atomic_int_inc(&fdatasyncs);
    return __real_fdatasync(fd);
}

/* ---- a small tmpfs for real ENOSPC ---- */

static char *tmpfs_dir;         /* NULL: no private tmpfs here */
static char *tmpfs_why;

static void tmpfs_setup(void)
{
    tmpfs_dir = test_private_tmpfs("test-virtio-blk", "256k", &tmpfs_why);
}

static void tmpfs_teardown(void)
{
    test_private_tmpfs_remove(tmpfs_dir);
}

/* ---- the fixture ---- */

typedef struct Fix {
    TestPciMachine *m;
    PCIDevice *dev;
    VirtIOBlock *s;
    TestVpci t;
    TestDriverQueue q[4];
    unsigned nq;
    char *path;                 /* the image, when a file */
} Fix;

/*
 * The disk: -drive options (a drive "drive0") or, starting with
 * "driver=", -blockdev options of a node "disk0"; a device on it with
 * props. f->path (the image, if any) is kept.
 */
static void fix_plug(Fix *f, const char *disk, const char *props)
{
    bool node = g_str_has_prefix(disk, "driver=");
    g_autofree char *all = g_strdup_printf("drive=%s,addr=3%s%s",
                                           node ? "disk0" : "drive0",
                                           props ? "," : "",
                                           props ? props : "");
    char *path = f->path;

    memset(f, 0, sizeof(*f));
    f->path = path;
    if (node) {
        g_assert_true(blockdev_add_cmdline(disk, &error_abort));
    } else {
        g_assert_nonnull(drive_new(disk, &error_abort));
    }
    f->m = tpci_new();
    f->dev = tpci_add(f->m, TYPE_VIRTIO_BLK_PCI, all);
    f->s = (VirtIOBlock *)((VirtIOPCIProxy *)f->dev)->vdev;
    tvp_init(&f->t, f->m, f->dev);
}

static void fix_start_nq(Fix *f, uint64_t features, unsigned nq)
{
    bool msix = msix_present(f->dev);

    if (msix) {
        tvp_msix_enable(&f->t);
    }
    f->nq = nq;
    g_assert_true(tvp_start(&f->t, features, nq, NUM, msix, f->q));
}

static void fix_start(Fix *f, const char *drive, const char *props,
                      uint64_t features)
{
    fix_plug(f, drive, props);
    fix_start_nq(f, features, 1);
}

/* The device goes, then the drive or node. */
static void fix_free(Fix *f)
{
    tpci_free(f->m);
    if (blk_by_name("drive0")) {
        g_assert_true(drive_del("drive0", &error_abort));
    }
    if (bdrv_find_node("disk0")) {
        qmp_blockdev_del("disk0", &error_abort);
    }
    g_free(f->path);
    f->path = NULL;
}

#define NULL_DISK "driver=null-co,node-name=disk0,size=4194304,read-zeroes=on"


/* A raw file of DISK_SIZE with a pattern; its -drive options. */
static char *raw_drive(Fix *f, const char *name, const char *extra)
{
    f->path = bt_path(name);
    bt_make_pattern_file(f->path, DISK_SIZE, 3);
    return g_strdup_printf("if=none,id=drive0,format=raw,file=%s%s%s",
                           f->path, extra ? "," : "", extra ? extra : "");
}

static void gwrite(Fix *f, uint64_t gpa, const void *buf, size_t len)
{
    g_assert_true(guest_memory_write(&f->m->mem, gpa, buf, len,
                                     &error_abort));
}

static void gread(Fix *f, uint64_t gpa, void *buf, size_t len)
{
    g_assert_true(guest_memory_read(&f->m->mem, gpa, buf, len,
                                    &error_abort));
}

static uint64_t data_gpa(unsigned slot)
{
    return DATA_GPA + slot * DATA_SLOT;
}

/*
 * Queues request slot (descriptors 3 * slot ...) on queue qi: header,
 * then data of len bytes at data_gpa(slot) (out for OUT-like types, in
 * for IN / GET_ID; none when len is 0), then the status byte, set to 0xee
 * so a test sees whether the device wrote it. Not kicked.
 */
static void req_add(Fix *f, unsigned qi, unsigned slot, uint32_t type,
                    uint64_t sector, uint32_t len)
{
    TestDriverQueue *q = &f->q[qi];
    uint8_t hdr[16] = { 0 }, st = 0xee;
    unsigned d = slot * 3;
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    uint64_t sec_le = GUINT64_TO_LE(sector);
    uint32_t type_le = GUINT32_TO_LE(type);

    g_assert_cmpuint(slot, <, SLOTS);
    memcpy(hdr, &type_le, 4);
    memcpy(hdr + 8, &sec_le, 8);
    gwrite(f, HDR_GPA + slot * 32, hdr, sizeof(hdr));
    gwrite(f, STATUS_GPA + slot, &st, 1);
    if (len) {
        tdq_desc(q, d, HDR_GPA + slot * 32, 16, VIRTQ_DESC_F_NEXT, d + 1);
        tdq_desc(q, d + 1, data_gpa(slot), len,
                 VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), d + 2);
    } else {
        tdq_desc(q, d, HDR_GPA + slot * 32, 16, VIRTQ_DESC_F_NEXT, d + 2);
    }
    tdq_desc(q, d + 2, STATUS_GPA + slot, 1, VIRTQ_DESC_F_WRITE, 0);
    tdq_avail_add(q, d);
}

/* A discard / write-zeroes segment in slot's data (16 bytes). */
static void req_add_dwz(Fix *f, unsigned slot, uint32_t type, uint64_t sector,
                        uint32_t num, uint32_t flags)
{
    uint8_t seg[16];
    uint64_t s = GUINT64_TO_LE(sector);
    uint32_t n = GUINT32_TO_LE(num), fl = GUINT32_TO_LE(flags);

    memcpy(seg, &s, 8);
    memcpy(seg + 8, &n, 4);
    memcpy(seg + 12, &fl, 4);
    gwrite(f, data_gpa(slot), seg, 16);
    req_add(f, 0, slot, type, 0, 16);
}

/* Spins the main loop until queue qi's used index reaches idx. */
static void wait_used(Fix *f, unsigned qi, uint16_t idx)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

    while (tdq_used_idx(&f->q[qi]) != idx) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        main_loop_wait(false);
        g_usleep(50);
    }
}

static uint8_t status_of(Fix *f, unsigned slot)
{
    uint8_t st;

    gread(f, STATUS_GPA + slot, &st, 1);
    return st;
}

/* One request, kicked and waited for; returns its status. */
static uint8_t req_run(Fix *f, unsigned slot, uint32_t type, uint64_t sector,
                       uint32_t len)
{
    uint16_t used = tdq_used_idx(&f->q[0]);

    req_add(f, 0, slot, type, sector, len);
    tvp_kick(&f->t, 0);
    wait_used(f, 0, used + 1);
    return status_of(f, slot);
}

/* Slot i's 4 KiB block, scattered over the 4 MiB disk. */
static uint64_t sector_of(unsigned i)
{
    return (i * 97 % 1024) * 8ULL;
}

static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = seed + i * 13;
    }
}

static uint32_t cfg32(Fix *f, unsigned off)
{
    return tvp_device_read(&f->t, off, 4);
}

/* ---- tests ---- */

/* IDs, features and configuration space, found as a guest finds them. */
static void test_pci_face(void)
{
    g_autofree char *drive = NULL;
    Fix f = { 0 };
    uint64_t feat;

    drive = raw_drive(&f, "face.img", NULL);
    fix_plug(&f, drive, "num-queues=2,logical_block_size=4096,"
             "physical_block_size=8192,max-discard-sectors=1024");
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_VENDOR_ID, 2), ==, 0x1af4);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_DEVICE_ID, 2), ==, 0x1042);
    g_assert_cmphex(tpci_cfg_read(f.m, DEVFN, PCI_CLASS_DEVICE, 2), ==,
                    0x0100);
    feat = tvp_device_features(&f.t);
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    g_assert_true(feat & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    g_assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_BLK_CFG_CAPACITY, 8), ==,
                     DISK_SIZE / 512);
    g_assert_cmpuint(cfg32(&f, VIRTIO_BLK_CFG_SEG_MAX), ==, 254);
    g_assert_cmpuint(cfg32(&f, VIRTIO_BLK_CFG_BLK_SIZE), ==, 4096);
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_BLK_CFG_PHYS_BLOCK_EXP, 1),
                     ==, 1);
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_BLK_CFG_NUM_QUEUES, 2), ==,
                     2);
    g_assert_cmpuint(cfg32(&f, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS), ==, 1024);
    g_assert_cmpuint(cfg32(&f, VIRTIO_BLK_CFG_MAX_DISCARD_SEG), ==, 1);
    g_assert_cmpuint(cfg32(&f, VIRTIO_BLK_CFG_DISCARD_ALIGN), ==, 8);
    g_assert_cmpuint(cfg32(&f, VIRTIO_BLK_CFG_MAX_WZ_SECTORS), ==, 0x3fffff);
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_BLK_CFG_WZ_MAY_UNMAP, 1),
                     ==, 1);
    /* Two queues, and the notify area names them. */
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==,
                     256);
    tvp_common_write(&f.t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
    g_assert_cmpuint(tvp_common_read(&f.t, VIRTIO_PCI_COMMON_Q_SIZE, 2), ==,
                     0);
    fix_free(&f);
}

/* A read-only drive offers RO and refuses writes with IOERR. */
static void test_read_only(void)
{
    g_autofree char *d = NULL;
    Fix f = { 0 };

    d = raw_drive(&f, "ro.img", "readonly=on");
    fix_plug(&f, d, "discard=off,write-zeroes=off");
    g_assert_true(tvp_device_features(&f.t) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    fix_start_nq(&f, (BASE_FEATURES & ~(VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                                       VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES))) |
                     VIRTIO_BIT(VIRTIO_BLK_F_RO), 1);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_OUT, 0, 512), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(req_run(&f, 1, VIRTIO_BLK_T_IN, 0, 512), ==,
                     VIRTIO_BLK_S_OK);
    /* Refused by the device, not failed at the backend. */
    g_assert_cmpuint(f.s->errors, ==, 0);
    fix_free(&f);
}

typedef enum DiskKind { DISK_NULL, DISK_RAW, DISK_QCOW2 } DiskKind;

/*
 * SLOTS writes of 4 KiB to scattered sectors, all kicked at once across
 * two queues (many in flight), then as many reads; the data comes back,
 * and for files the bytes are in the file (raw: at the same offsets;
 * qcow2: through the block layer, and qemu-img check is clean).
 */
static void test_rw(gconstpointer data)
{
    DiskKind kind = GPOINTER_TO_INT(data);
    g_autofree char *drive = NULL;
    g_autofree uint8_t *buf = g_malloc(4096);
    g_autofree uint8_t *got = g_malloc(4096);
    Fix f = { 0 };

    switch (kind) {
    case DISK_NULL:
        drive = g_strdup(NULL_DISK);
        break;
    case DISK_RAW:
        drive = raw_drive(&f, "rw.img", "cache=none,aio=io_uring");
        break;
    case DISK_QCOW2:
        if (!bt_have_qemu_img()) {
            g_test_skip("qemu-img is not installed");
            return;
        }
        f.path = bt_path("rw.qcow2");
        unlink(f.path);
        g_assert_cmpint(bt_qemu_img(NULL, "create -q -f qcow2 %s 4M",
                                    f.path), ==, 0);
        drive = g_strdup_printf("if=none,id=drive0,format=qcow2,file=%s",
                                f.path);
        break;
    }
    fix_plug(&f, drive, "num-queues=2");
    fix_start_nq(&f, BASE_FEATURES | VIRTIO_BIT(VIRTIO_BLK_F_MQ), 2);
    for (unsigned i = 0; i < SLOTS; i++) {
        fill_pattern(buf, 4096, i);
        gwrite(&f, data_gpa(i), buf, 4096);
        req_add(&f, i % 2, i, VIRTIO_BLK_T_OUT, sector_of(i), 4096);
    }
    tvp_kick(&f.t, 0);
    tvp_kick(&f.t, 1);
    g_assert_cmpuint(f.s->in_flight, >, 1);
    wait_used(&f, 0, SLOTS / 2);
    wait_used(&f, 1, SLOTS / 2);
    for (unsigned i = 0; i < SLOTS; i++) {
        g_assert_cmpuint(status_of(&f, i), ==, VIRTIO_BLK_S_OK);
        guest_memory_fill(&f.m->mem, data_gpa(i), 0x55, 4096, &error_abort);
        req_add(&f, i % 2, i, VIRTIO_BLK_T_IN, sector_of(i), 4096);
    }
    tvp_kick(&f.t, 0);
    tvp_kick(&f.t, 1);
    wait_used(&f, 0, SLOTS);
    wait_used(&f, 1, SLOTS);
    for (unsigned i = 0; i < SLOTS; i++) {
        g_assert_cmpuint(status_of(&f, i), ==, VIRTIO_BLK_S_OK);
        gread(&f, data_gpa(i), got, 4096);
        fill_pattern(buf, 4096, i);
        if (kind == DISK_NULL) {
            memset(buf, 0, 4096);       /* null-co reads zeroes */
        }
        g_assert_cmpmem(got, 4096, buf, 4096);
        if (kind == DISK_RAW) {
            int fd = open(f.path, O_RDONLY);

            g_assert_cmpint(pread(fd, got, 4096, (off_t)sector_of(i) * 512), ==,
                            4096);
            close(fd);
            g_assert_cmpmem(got, 4096, buf, 4096);
        }
    }
    /* A read of untouched sectors sees the file's own pattern. */
    if (kind == DISK_RAW) {
        g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_IN, 8, 512), ==, 0);
        gread(&f, data_gpa(0), got, 512);
        for (unsigned i = 0; i < 512; i++) {
            g_assert_cmpuint(got[i], ==, bt_pattern(4096 + i, 3));
        }
    }
    {
        g_autofree char *path = g_strdup(f.path);

        fix_free(&f);
        if (kind == DISK_QCOW2) {
            bt_qemu_img_check(path);
        }
    }
}

/*
 * FLUSH reaches the host file as fdatasync with cache=writeback, and not
 * with cache=unsafe; a driver without VIRTIO_BLK_F_FLUSH gets every write
 * synced before it completes.
 */
static void test_flush(void)
{
    g_autofree char *drive = NULL;
    int before;
    Fix f = { 0 };

    drive = raw_drive(&f, "flush.img", "cache=writeback");
    fix_start(&f, drive, NULL, BASE_FEATURES);
    before = g_atomic_int_get(&fdatasyncs);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_OUT, 0, 4096), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&fdatasyncs), ==, before);
    g_assert_cmpuint(req_run(&f, 1, VIRTIO_BLK_T_FLUSH, 0, 0), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&fdatasyncs), ==, before + 1);
    g_assert_cmpuint(blk_get_stats(blk_by_name("drive0"))->nr_ops[
                     BLOCK_ACCT_FLUSH], ==, 1);
    fix_free(&f);

    drive = (g_free(drive), raw_drive(&f, "flush.img", "cache=unsafe"));
    fix_start(&f, drive, NULL, BASE_FEATURES);
    before = g_atomic_int_get(&fdatasyncs);
    g_assert_cmpuint(req_run(&f, 1, VIRTIO_BLK_T_FLUSH, 0, 0), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&fdatasyncs), ==, before);
    fix_free(&f);

    /* No FLUSH negotiated: write-through. */
    drive = (g_free(drive), raw_drive(&f, "flush.img", "cache=writeback"));
    fix_start(&f, drive, NULL,
              BASE_FEATURES & ~VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    before = g_atomic_int_get(&fdatasyncs);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_OUT, 0, 4096), ==, 0);
    g_assert_cmpint(g_atomic_int_get(&fdatasyncs), ==, before + 1);
    /* Reset gives the drive its write cache back. */
    tvp_set_status(&f.t, 0);
    g_assert_true(blk_enable_write_cache(blk_by_name("drive0")));
    fix_free(&f);
}

static bool file_range_is_hole(const char *path, off_t off)
{
    int fd = open(path, O_RDONLY);
    off_t hole = lseek(fd, off, SEEK_HOLE);

    close(fd);
    return hole == off;
}

/* Discard punches a hole (discard=unmap); write-zeroes zeroes, with and
 * without UNMAP; the flags and sizes the spec forbids get their status. */
static void test_discard_write_zeroes(void)
{
    g_autofree char *drive = NULL;
    g_autofree uint8_t *got = g_malloc(65536);
    uint16_t used;
    Fix f = { 0 };

    drive = raw_drive(&f, "dwz.img", "discard=unmap");
    fix_start(&f, drive, "max-discard-sectors=256", BASE_FEATURES);
    g_assert_false(file_range_is_hole(f.path, 65536));
    used = tdq_used_idx(&f.q[0]);
    req_add_dwz(&f, 0, VIRTIO_BLK_T_DISCARD, 128, 128, 0);
    req_add_dwz(&f, 1, VIRTIO_BLK_T_WRITE_ZEROES, 1024, 16, 0);
    req_add_dwz(&f, 2, VIRTIO_BLK_T_WRITE_ZEROES, 2048, 128,
                VIRTIO_BLK_DWZ_F_UNMAP);
    /* Discard with UNMAP: unsupported (spec 5.2.6.2). */
    req_add_dwz(&f, 3, VIRTIO_BLK_T_DISCARD, 0, 8, VIRTIO_BLK_DWZ_F_UNMAP);
    /* Past max-discard-sectors, past the end, unknown flags. */
    req_add_dwz(&f, 4, VIRTIO_BLK_T_DISCARD, 0, 512, 0);
    req_add_dwz(&f, 5, VIRTIO_BLK_T_WRITE_ZEROES, DISK_SIZE / 512 - 8, 16, 0);
    req_add_dwz(&f, 6, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 2);
    tvp_kick(&f.t, 0);
    wait_used(&f, 0, used + 7);
    g_assert_cmpuint(status_of(&f, 0), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(status_of(&f, 1), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(status_of(&f, 2), ==, VIRTIO_BLK_S_OK);
    g_assert_cmpuint(status_of(&f, 3), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(status_of(&f, 4), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(status_of(&f, 5), ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(status_of(&f, 6), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(f.s->errors, ==, 0);   /* all refused by the device */
    /* The file: a hole where discarded, zeroes where zeroed, the pattern
     * around them. */
    g_assert_true(file_range_is_hole(f.path, 65536));
    {
        int fd = open(f.path, O_RDONLY);

        g_assert_cmpint(pread(fd, got, 65536, 65536), ==, 65536);
        for (unsigned i = 0; i < 65536; i++) {
            g_assert_cmpuint(got[i], ==, 0);
        }
        g_assert_cmpint(pread(fd, got, 8192 + 2, 1024 * 512 - 1), ==,
                        8192 + 2);
        g_assert_cmpuint(got[0], ==, bt_pattern(1024 * 512 - 1, 3));
        for (unsigned i = 1; i <= 8192; i++) {
            g_assert_cmpuint(got[i], ==, 0);
        }
        g_assert_cmpuint(got[8193], ==, bt_pattern(1024 * 512 + 8192, 3));
        g_assert_cmpint(pread(fd, got, 65536, 2048 * 512), ==, 65536);
        for (unsigned i = 0; i < 65536; i++) {
            g_assert_cmpuint(got[i], ==, 0);
        }
        close(fd);
    }
    fix_free(&f);

    /* Not negotiated: unsupported, and the file is untouched. */
    drive = (g_free(drive), raw_drive(&f, "dwz.img", "discard=unmap"));
    fix_start(&f, drive, NULL,
              BASE_FEATURES & ~(VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
                                VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)));
    used = tdq_used_idx(&f.q[0]);
    req_add_dwz(&f, 0, VIRTIO_BLK_T_DISCARD, 128, 128, 0);
    req_add_dwz(&f, 1, VIRTIO_BLK_T_WRITE_ZEROES, 1024, 16, 0);
    tvp_kick(&f.t, 0);
    wait_used(&f, 0, used + 2);
    g_assert_cmpuint(status_of(&f, 0), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(status_of(&f, 1), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_false(file_range_is_hole(f.path, 65536));
    fix_free(&f);
}

/* GET_ID: the serial, NUL-padded, cut at 20 bytes and at the buffer. */
static void test_get_id(void)
{
    char id[VIRTIO_BLK_ID_BYTES + 4];
    Fix f = { 0 };

    fix_start(&f, NULL_DISK,
              "serial=tandem-disk-01", BASE_FEATURES);
    memset(id, 'x', sizeof(id));
    gwrite(&f, data_gpa(0), id, sizeof(id));
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_GET_ID, 0, 20), ==, 0);
    gread(&f, data_gpa(0), id, sizeof(id));
    g_assert_cmpmem(id, 20, "tandem-disk-01\0\0\0\0\0\0", 20);
    g_assert_cmpuint((uint8_t)id[20], ==, 'x');
    /* A buffer of 4 bytes gets 4. */
    memset(id, 'x', sizeof(id));
    gwrite(&f, data_gpa(1), id, sizeof(id));
    g_assert_cmpuint(req_run(&f, 1, VIRTIO_BLK_T_GET_ID, 0, 4), ==, 0);
    gread(&f, data_gpa(1), id, 8);
    g_assert_cmpmem(id, 8, "tandxxxx", 8);
    fix_free(&f);

    fix_start(&f, NULL_DISK,
              "serial=0123456789abcdefghijKLMN", BASE_FEATURES);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_GET_ID, 0, 20), ==, 0);
    gread(&f, data_gpa(0), id, 20);
    g_assert_cmpmem(id, 20, "0123456789abcdefghij", 20);
    fix_free(&f);
}

/* Sectors past the end (also wrapping), misaligned with 4 KiB blocks,
 * unknown types, lengths not whole sectors: a status, never a crash. */
static void test_errors(void)
{
    uint64_t end = DISK_SIZE / 512;
    Fix f = { 0 };

    fix_start(&f, NULL_DISK,
              "logical_block_size=4096", BASE_FEATURES);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_IN, end - 8, 4096), ==, 0);
    g_assert_cmpuint(req_run(&f, 1, VIRTIO_BLK_T_IN, end - 8, 8192), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(req_run(&f, 2, VIRTIO_BLK_T_OUT, end, 4096), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(req_run(&f, 3, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 4096),
                     ==, VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(req_run(&f, 4, VIRTIO_BLK_T_IN, 1ULL << 60, 4096), ==,
                     VIRTIO_BLK_S_IOERR);
    g_assert_cmpuint(req_run(&f, 5, VIRTIO_BLK_T_IN, 1, 4096), ==,
                     VIRTIO_BLK_S_IOERR);   /* not on a 4 KiB block */
    g_assert_cmpuint(req_run(&f, 6, VIRTIO_BLK_T_OUT, 0, 512), ==,
                     VIRTIO_BLK_S_IOERR);   /* not a whole block */
    g_assert_cmpuint(req_run(&f, 7, VIRTIO_BLK_T_GET_LIFETIME, 0, 16), ==,
                     VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(req_run(&f, 8, 0x7777, 0, 0), ==, VIRTIO_BLK_S_UNSUPP);
    g_assert_cmpuint(req_run(&f, 9, VIRTIO_BLK_T_IN, 0, 0), ==,
                     VIRTIO_BLK_S_OK);      /* nothing to read */
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, ==, 0);
    g_assert_cmpuint(f.s->errors, ==, 0);
    g_assert_cmpuint(blk_get_stats(f.s->blk)->invalid_ops[
                     BLOCK_ACCT_READ], ==, 3);
    fix_free(&f);
}

static void put_indirect(Fix *f, unsigned i, uint64_t addr, uint32_t len,
                         uint16_t flags, uint16_t next)
{
    uint8_t d[16];
    uint64_t a = GUINT64_TO_LE(addr);
    uint32_t l = GUINT32_TO_LE(len);
    uint16_t fl = GUINT16_TO_LE(flags), n = GUINT16_TO_LE(next);

    memcpy(d, &a, 8);
    memcpy(d + 8, &l, 4);
    memcpy(d + 12, &fl, 2);
    memcpy(d + 14, &n, 2);
    gwrite(f, TABLE_GPA + i * 16ULL, d, 16);
}

typedef enum Hostile {
    HOSTILE_NO_HEADER,          /* 8 readable bytes only */
    HOSTILE_HEADER_WRITABLE,    /* the header in a device-writable buffer */
    HOSTILE_NO_STATUS,          /* no writable byte at all */
    HOSTILE_STATUS_READABLE,    /* the status byte device-readable */
    HOSTILE_LOOP,               /* a descriptor chain that loops */
    HOSTILE_INDIRECT_LONG,      /* an indirect table longer than the queue */
    HOSTILE__MAX,
} Hostile;

static const char *const hostile_names[] = {
    [HOSTILE_NO_HEADER] = "no-header",
    [HOSTILE_HEADER_WRITABLE] = "header-writable",
    [HOSTILE_NO_STATUS] = "no-status",
    [HOSTILE_STATUS_READABLE] = "status-readable",
    [HOSTILE_LOOP] = "loop",
    [HOSTILE_INDIRECT_LONG] = "indirect-long",
};

/*
 * Each hostile request: the device goes to NEEDS_RESET, nothing was
 * submitted, the disk is untouched; after a reset the driver starts
 * again and a request works.
 */
static void test_hostile(gconstpointer data)
{
    Hostile h = GPOINTER_TO_INT(data);
    TestDriverQueue *q;
    Fix f = { 0 };

    fix_start(&f, NULL_DISK, NULL,
              BASE_FEATURES | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    q = &f.q[0];
    req_add(&f, 0, 0, VIRTIO_BLK_T_IN, 0, 512);     /* then rewritten */
    switch (h) {
    case HOSTILE_NO_HEADER:
        tdq_desc(q, 0, HDR_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
        break;
    case HOSTILE_HEADER_WRITABLE:
        tdq_desc(q, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
                 1);
        break;
    case HOSTILE_NO_STATUS:
        tdq_desc(q, 0, HDR_GPA, 16, 0, 0);
        break;
    case HOSTILE_STATUS_READABLE:
        tdq_desc(q, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
        tdq_desc(q, 2, STATUS_GPA, 1, 0, 0);
        break;
    case HOSTILE_LOOP:
        tdq_desc(q, 2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
                 1);
        break;
    case HOSTILE_INDIRECT_LONG:
        /* NUM + 1 entries (with the direct one, NUM + 2): the header,
         * NUM - 1 data sectors, the status. */
        put_indirect(&f, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
        for (unsigned i = 1; i < NUM; i++) {
            put_indirect(&f, i, data_gpa(0) + (i - 1) * 512, 512,
                         VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, i + 1);
        }
        put_indirect(&f, NUM, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
        tdq_desc(q, 0, TABLE_GPA, (NUM + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
        break;
    default:
        g_assert_not_reached();
    }
    tvp_kick(&f.t, 0);
    main_loop_wait(false);
    g_assert_cmphex(tvp_status(&f.t) & VIRTIO_STATUS_NEEDS_RESET, ==,
                    VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmpuint(f.s->requests, ==, 0);
    g_assert_cmpuint(tdq_used_idx(q), ==, 0);
    g_assert_cmpuint(status_of(&f, 0), ==, 0xee);
    /* Reset, start again: the queue works. */
    fix_start_nq(&f, BASE_FEATURES, 1);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_IN, 0, 512), ==, 0);
    fix_free(&f);
}

/* Many segments: an indirect chain with as many data segments as the
 * queue allows (the table and its direct descriptor count together) is
 * one request and works. */
static void test_many_segments(void)
{
    enum { SEGS = NUM - 2 };    /* + header + status = NUM, + 1 direct */
    g_autofree uint8_t *buf = g_malloc(SEGS * 512);
    g_autofree uint8_t *got = g_malloc(SEGS * 512);
    TestDriverQueue *q;
    Fix f = { 0 };

    fix_start(&f, NULL_DISK, NULL,
              BASE_FEATURES | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    q = &f.q[0];
    put_indirect(&f, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    for (unsigned i = 1; i <= SEGS; i++) {
        put_indirect(&f, i, data_gpa(0) + (i - 1) * 512, 512,
                     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, i + 1);
    }
    put_indirect(&f, SEGS + 1, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    req_add(&f, 0, 0, VIRTIO_BLK_T_IN, 0, 512);     /* header, status */
    tdq_desc(q, 0, TABLE_GPA, (SEGS + 2) * 16, VIRTQ_DESC_F_INDIRECT, 0);
    memset(buf, 0xab, SEGS * 512);
    gwrite(&f, data_gpa(0), buf, SEGS * 512);
    tvp_kick(&f.t, 0);
    wait_used(&f, 0, 1);
    g_assert_cmpuint(status_of(&f, 0), ==, VIRTIO_BLK_S_OK);
    gread(&f, data_gpa(0), got, SEGS * 512);
    memset(buf, 0, SEGS * 512);
    g_assert_cmpmem(got, SEGS * 512, buf, SEGS * 512);
    fix_free(&f);
}

/* ---- error policies with a real ENOSPC ---- */

/* A 1 MiB sparse image on the 256 KiB tmpfs, and a filler file that
 * leaves room for 16 KiB more. */
static char *full_disk(Fix *f, char **filler)
{
    g_autofree char *img = g_build_filename(tmpfs_dir, "disk.img", NULL);
    int fd;
    ssize_t n;
    g_autofree uint8_t *buf = g_malloc0(4096);

    *filler = g_build_filename(tmpfs_dir, "filler", NULL);
    unlink(img);
    unlink(*filler);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    fd = open(*filler, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    do {
        n = write(fd, buf, 4096);
    } while (n == 4096);
    g_assert_cmpint(errno, ==, ENOSPC);
    close(fd);
    /* Room for exactly four pages. */
    g_assert_cmpint(truncate(*filler, 0), ==, 0);
    fd = open(*filler, O_WRONLY);
    for (unsigned i = 0; i < 60; i++) {
        g_assert_cmpint(write(fd, buf, 4096), ==, 4096);
    }
    close(fd);
    return g_strdup_printf("if=none,id=drive0,format=raw,file=%s", img);
}

/* Reads events until name; returns its data (put it). */
static json_object *wait_event(Client *c, const char *name)
{
    for (;;) {
        json_object *o = recv_json(c);
        json_object *ev = json_object_object_get(o, "event");

        if (ev && !strcmp(json_object_get_string(ev), name)) {
            json_object *data = json_object_object_get(o, "data");

            json_object_get(data);
            json_object_put(o);
            return data;
        }
        json_object_put(o);
    }
}

/* Runs a command whose reply may follow events (cont: RESUME first). */
static void command_ok(Client *c, const char *line)
{
    send_str(c, line);
    for (;;) {
        json_object *o = recv_json(c);

        if (json_object_object_get(o, "event")) {
            json_object_put(o);
            continue;
        }
        check_return(o, NULL);
        json_object_put(o);
        return;
    }
}

static const char *jstr(json_object *o, const char *key)
{
    return json_object_get_string(member(o, key));
}

/* Writes 8 pages to the full disk, all at once; 4 fit. */
static void write_pages(Fix *f, unsigned first_slot, unsigned n)
{
    g_autofree uint8_t *buf = g_malloc(4096);

    for (unsigned i = first_slot; i < first_slot + n; i++) {
        fill_pattern(buf, 4096, i);
        gwrite(f, data_gpa(i), buf, 4096);
        req_add(f, 0, i, VIRTIO_BLK_T_OUT, (uint64_t)i * 8 * 16, 4096);
    }
    tvp_kick(&f->t, 0);
}

/*
 * The full disk with werror=policy (drive-POLICY: on the -drive), a
 * started driver, a QMP client, the
 * VM running, and 8 page writes of which 4 fit submitted. False (the
 * test skipped) without a private tmpfs.
 */
static bool full_disk_start(Fix *f, const char *policy, char **filler,
                            Client **c)
{
    g_autofree char *drive = NULL;
    g_autofree char *props = NULL;

    if (!tmpfs_dir) {
        g_test_skip(tmpfs_why);
        return false;
    }
    drive = full_disk(f, filler);
    if (g_str_has_prefix(policy, "drive-")) {
        /* -drive werror=, the device's werror left at auto. */
        char *d = g_strdup_printf("%s,werror=%s", drive, policy + 6);

        g_free(drive);
        drive = d;
        props = g_strdup("id=vd0");
    } else {
        props = g_strdup_printf("id=vd0,werror=%s", policy);
    }
    fix_start(f, drive, props, BASE_FEATURES);
    *c = client_new();
    negotiate(*c, false);
    runstate_set(RUN_STATE_RUNNING);
    write_pages(f, 0, 8);
    return true;
}

/*
 * werror=stop: a write that meets ENOSPC stops the VM (io-error, STOP)
 * with BLOCK_IO_ERROR in QEMU's shape; the request is not answered.
 * Space is freed, cont: the parked request runs again and succeeds, and
 * its data is in the file.
 */
static void test_werror_stop(gconstpointer data)
{
    g_autofree char *filler = NULL;
    g_autofree uint8_t *got = g_malloc(4096);
    g_autofree uint8_t *want = g_malloc(4096);
    json_object *ev;
    unsigned answered = 0;
    int status;
    Client *c;
    Fix f = { 0 };

    if (!full_disk_start(&f, data, &filler, &c)) {
        return;
    }
    ev = wait_event(c, "BLOCK_IO_ERROR");
    g_assert_cmpstr(jstr(ev, "device"), ==, "drive0");
    g_assert_nonnull(jstr(ev, "node-name"));
    g_assert_cmpstr(jstr(ev, "operation"), ==, "write");
    g_assert_cmpstr(jstr(ev, "action"), ==, "stop");
    g_assert_true(json_object_get_boolean(member(ev, "nospace")));
    g_assert_cmpstr(jstr(ev, "reason"), ==, "No space left on device");
    check_keys(ev, (const char *const[]){ "device", "node-name", "operation",
                                          "action", "nospace", "reason",
                                          NULL });
    json_object_put(ev);
    /* Everything else finishes; the main loop's request stops the VM. */
    blk_drain(f.s->blk);
    g_assert_false(main_loop_check_requests(&status));
    json_object_put(wait_event(c, "STOP"));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_IO_ERROR);
    /* The failed ones are parked, not answered. */
    for (unsigned i = 0; i < 8; i++) {
        answered += status_of(&f, i) != 0xee;
        g_assert_cmpuint(status_of(&f, i), !=, VIRTIO_BLK_S_IOERR);
    }
    g_assert_cmpuint(answered, <, 8);
    g_assert_cmpuint(answered + g_queue_get_length(&f.s->parked), ==, 8);
    g_assert_cmpuint(tdq_used_idx(&f.q[0]), ==, answered);

    /* Room again; cont retries, everything is answered OK. */
    unlink(filler);
    command_ok(c, "{\"execute\":\"cont\"}\n");
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    wait_used(&f, 0, 8);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpuint(status_of(&f, i), ==, VIRTIO_BLK_S_OK);
    }
    {
        g_autofree char *img = g_build_filename(tmpfs_dir, "disk.img", NULL);
        int fd = open(img, O_RDONLY);

        for (unsigned i = 0; i < 8; i++) {
            g_assert_cmpint(pread(fd, got, 4096, (off_t)i * 8 * 16 * 512),
                            ==, 4096);
            fill_pattern(want, 4096, i);
            g_assert_cmpmem(got, 4096, want, 4096);
        }
        close(fd);
    }
    client_free(c);
    runstate_set(RUN_STATE_PAUSED);
    fix_free(&f);
}

/* werror=report: IOERR and the event with action report; ignore: OK
 * and action ignore. The VM keeps running. */
static void test_werror_report_ignore(gconstpointer data)
{
    const char *policy = data;
    /* drive-report: the -drive's werror=report beats the default. */
    const char *action = g_str_has_prefix(policy, "drive-") ? policy + 6
                                                            : policy;
    bool ignore = !strcmp(action, "ignore");
    g_autofree char *filler = NULL;
    json_object *ev;
    unsigned errs = 0;
    Client *c;
    int status;
    Fix f = { 0 };

    if (!full_disk_start(&f, policy, &filler, &c)) {
        return;
    }
    ev = wait_event(c, "BLOCK_IO_ERROR");
    g_assert_cmpstr(jstr(ev, "action"), ==, action);
    g_assert_true(json_object_get_boolean(member(ev, "nospace")));
    json_object_put(ev);
    wait_used(&f, 0, 8);
    for (unsigned i = 0; i < 8; i++) {
        errs += status_of(&f, i) == VIRTIO_BLK_S_IOERR;
    }
    g_assert_cmpuint(errs, ==, ignore ? 0 : f.s->errors);
    g_assert_cmpuint(f.s->errors, >, 0);
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    main_loop_wait(false);
    g_assert_false(main_loop_check_requests(&status));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    client_free(c);
    runstate_set(RUN_STATE_PAUSED);
    fix_free(&f);
}

/* ---- migration ---- */

static GBytes *save_devices(Fix *f)
{
    return tpci_save_devices(f->m);
}

static bool load_devices(Fix *f, GBytes *b, Error **errp)
{
    return tpci_load_devices(f->m, b, errp);
}

/*
 * Requests in flight when the state is saved are finished by the save
 * (drained, answered, their data on disk) before it returns, from this
 * thread and from a helper thread holding the BQL as the migration
 * thread does.
 */
typedef struct SaveJob {
    Fix *f;
    GBytes *saved;
} SaveJob;

static gpointer save_thread(gpointer opaque)
{
    SaveJob *j = opaque;

    bql_lock();
    j->saved = save_devices(j->f);
    bql_unlock();
    return NULL;
}

static void test_migration_drains(gconstpointer data)
{
    bool helper = GPOINTER_TO_INT(data);
    g_autofree char *drive = NULL;
    g_autofree uint8_t *buf = g_malloc(4096);
    g_autofree uint8_t *got = g_malloc(4096);
    SaveJob j = { 0 };
    Fix f = { 0 };

    drive = raw_drive(&f, "mig.img", NULL);
    fix_start(&f, drive, NULL, BASE_FEATURES);
    j.f = &f;
    for (unsigned i = 0; i < SLOTS; i++) {
        fill_pattern(buf, 4096, i + 100);
        gwrite(&f, data_gpa(i), buf, 4096);
        req_add(&f, 0, i, VIRTIO_BLK_T_OUT, (uint64_t)i * 8, 4096);
    }
    tvp_kick(&f.t, 0);
    g_assert_cmpuint(f.s->in_flight, >, 0);
    if (helper) {
        GThread *t;

        /* The BQL goes to the helper; this thread waits without it and
         * does not run the main loop meanwhile. */
        bql_unlock();
        t = g_thread_new("save", save_thread, &j);
        g_thread_join(t);
        bql_lock();
    } else {
        j.saved = save_devices(&f);
    }
    g_assert_cmpuint(f.s->in_flight, ==, 0);
    g_assert_cmpuint(tdq_used_idx(&f.q[0]), ==, SLOTS);
    {
        int fd = open(f.path, O_RDONLY);

        for (unsigned i = 0; i < SLOTS; i++) {
            g_assert_cmpuint(status_of(&f, i), ==, VIRTIO_BLK_S_OK);
            g_assert_cmpint(pread(fd, got, 4096, (off_t)i * 4096), ==, 4096);
            fill_pattern(buf, 4096, i + 100);
            g_assert_cmpmem(got, 4096, buf, 4096);
        }
        close(fd);
    }
    g_bytes_unref(j.saved);
    /* Bottom halves of requests the drain ran must be harmless. */
    for (unsigned i = 0; i < 10; i++) {
        main_loop_wait(false);
    }
    g_assert_cmpuint(tdq_used_idx(&f.q[0]), ==, SLOTS);
    fix_free(&f);
}

/*
 * A request parked by werror=stop travels as in flight: the destination
 * (a fresh machine on the same, now roomier, disk) submits it again when
 * it runs, and the guest gets its answer there.
 */
static void test_migration_parked(void)
{
    g_autofree char *filler = NULL;
    g_autofree char *drive = NULL;
    g_autofree uint8_t *ram = g_malloc(TPCI_RAM_SIZE);
    g_autoptr(GBytes) saved = NULL;
    TestDriverQueue q[1];
    unsigned parked;
    int status;
    Fix f = { 0 };

    if (!tmpfs_dir) {
        g_test_skip(tmpfs_why);
        return;
    }
    drive = full_disk(&f, &filler);
    fix_start(&f, drive, "werror=stop", BASE_FEATURES);
    runstate_set(RUN_STATE_RUNNING);
    write_pages(&f, 0, 8);
    blk_drain(f.s->blk);
    g_assert_false(main_loop_check_requests(&status));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_IO_ERROR);
    parked = g_queue_get_length(&f.s->parked);
    g_assert_cmpuint(parked, >, 0);
    saved = save_devices(&f);
    gread(&f, 0, ram, TPCI_RAM_SIZE);
    memcpy(q, f.q, sizeof(q));
    tpci_free(f.m);             /* the source goes; the drive stays */
    unlink(filler);

    f.m = tpci_new();
    f.dev = tpci_add(f.m, TYPE_VIRTIO_BLK_PCI, "drive=drive0,addr=3");
    f.s = (VirtIOBlock *)((VirtIOPCIProxy *)f.dev)->vdev;
    tvp_init(&f.t, f.m, f.dev);
    gwrite(&f, 0, ram, TPCI_RAM_SIZE);
    g_assert_true(load_devices(&f, saved, &error_abort));
    memcpy(f.q, q, sizeof(q));
    f.q[0].mem = &f.m->mem;
    f.q[0].vq = virtio_queue(&f.s->vdev, 0);
    g_assert_cmpuint(tdq_used_idx(&f.q[0]), ==, 8 - parked);
    runstate_set(RUN_STATE_PAUSED);
    runstate_set(RUN_STATE_RUNNING);   /* cont on the destination */
    wait_used(&f, 0, 8);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpuint(status_of(&f, i), ==, VIRTIO_BLK_S_OK);
    }
    runstate_set(RUN_STATE_PAUSED);
    fix_free(&f);
}

/*
 * A COLO secondary loads over its running device: what the device had
 * parked is dropped (the loaded state says what is in flight), and when
 * the VM runs every request is answered exactly once.
 */
static void test_load_over_running(void)
{
    g_autofree char *filler = NULL;
    g_autoptr(GBytes) saved = NULL;
    int status;
    Client *c;
    Fix f = { 0 };

    if (!full_disk_start(&f, "stop", &filler, &c)) {
        return;
    }
    blk_drain(f.s->blk);
    g_assert_false(main_loop_check_requests(&status));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_IO_ERROR);
    g_assert_cmpuint(g_queue_get_length(&f.s->parked), >, 0);
    saved = save_devices(&f);
    g_assert_true(load_devices(&f, saved, &error_abort));
    g_assert_cmpuint(g_queue_get_length(&f.s->parked), ==, 0);
    unlink(filler);
    runstate_set(RUN_STATE_RUNNING);
    wait_used(&f, 0, 8);
    for (unsigned i = 0; i < 20; i++) {
        main_loop_wait(false);
    }
    blk_drain(f.s->blk);
    g_assert_cmpuint(tdq_used_idx(&f.q[0]), ==, 8);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpuint(status_of(&f, i), ==, VIRTIO_BLK_S_OK);
    }
    client_free(c);
    runstate_set(RUN_STATE_PAUSED);
    fix_free(&f);
}

/* ---- the device registry ---- */

/* drive= names nothing, a drive taken twice, bad sizes: refused with
 * the reason; drive_del of a drive in use is refused. */
static void test_props(void)
{
    TestPciMachine *m;
    g_autofree char *e = NULL;
    Error *err = NULL;

    g_autofree char *path = bt_path("props.img");
    g_autofree char *drive = g_strdup_printf("if=none,id=drive0,format=raw,"
                                             "file=%s", path);

    bt_make_pattern_file(path, DISK_SIZE, 1);
    g_assert_null(drive_new("if=none,id=bad,file=/x,werror=sometimes", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'sometimes' invalid write error action");
    g_clear_pointer(&err, error_free);
    /* QEMU's -drive refuses these too (auto is for devices; a read
     * cannot run out of space). */
    g_assert_null(drive_new("if=none,id=bad,file=/x,rerror=enospc", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'enospc' invalid read error action");
    g_clear_pointer(&err, error_free);
    g_assert_null(drive_new("if=none,id=bad,file=/x,werror=auto", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'auto' invalid write error action");
    g_clear_pointer(&err, error_free);
    g_assert_null(drive_new("if=none,id=bad,file=/x,rerror=auto", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "'auto' invalid read error action");
    g_clear_pointer(&err, error_free);
    g_assert_nonnull(drive_new(drive, &error_abort));
    m = tpci_new();
    e = tpci_add_error(m, TYPE_VIRTIO_BLK_PCI, "drive=nosuch");
    g_assert_nonnull(strstr(e, "can't find value 'nosuch'"));
    g_free(e);
    e = tpci_add_error(m, TYPE_VIRTIO_BLK_PCI, "drive=drive0,queue-size=100");
    g_assert_nonnull(strstr(e, "power of 2"));
    g_free(e);
    e = tpci_add_error(m, TYPE_VIRTIO_BLK_PCI,
                       "drive=drive0,logical_block_size=4096,"
                       "physical_block_size=512");
    g_assert_nonnull(strstr(e, "physical_block_size"));
    g_free(e);
    e = tpci_add_error(m, TYPE_VIRTIO_BLK_PCI, "drive=drive0,werror=sometimes");
    g_assert_nonnull(strstr(e, "Parameter 'werror' does not accept value "
                            "'sometimes'"));
    g_free(e);
    tpci_add(m, TYPE_VIRTIO_BLK_PCI, "drive=drive0,addr=3");
    e = tpci_add_error(m, TYPE_VIRTIO_BLK_PCI, "drive=drive0,addr=4");
    g_assert_nonnull(strstr(e, "already in use"));
    g_assert_false(drive_del("drive0", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "in use"));
    error_free(err);
    tpci_free(m);
    g_assert_true(drive_del("drive0", &error_abort));
}

/* A -blockdev node: the device makes its own backend; the event then
 * names no drive but the node. */
static void test_blockdev_node(void)
{
    Fix f = { 0 };

    g_assert_true(blockdev_add_cmdline("driver=null-co,node-name=nc0,"
                                       "size=1048576", &error_abort));
    f.m = tpci_new();
    f.dev = tpci_add(f.m, TYPE_VIRTIO_BLK_PCI, "drive=nc0,addr=3");
    f.s = (VirtIOBlock *)((VirtIOPCIProxy *)f.dev)->vdev;
    tvp_init(&f.t, f.m, f.dev);
    fix_start_nq(&f, BASE_FEATURES, 1);
    g_assert_cmpstr(blk_name(f.s->blk), ==, "");
    g_assert_cmpuint(tvp_device_read(&f.t, VIRTIO_BLK_CFG_CAPACITY, 8), ==,
                     2048);
    g_assert_cmpuint(req_run(&f, 0, VIRTIO_BLK_T_OUT, 0, 4096), ==, 0);
    tpci_free(f.m);
    qmp_blockdev_del("nc0", &error_abort);
}

/* The qdev member of query-block's entry for drive0 (NULL: none). */
static char *query_block_qdev(Client *c)
{
    json_object *resp = expect_return(c, "{\"execute\":\"query-block\"}\n",
                                      NULL);
    json_object *ret = member(resp, "return"), *q = NULL;
    char *qdev = NULL;

    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *b = json_object_array_get_idx(ret, i);

        if (!strcmp(jstr(b, "device"), "drive0") &&
            json_object_object_get_ex(b, "qdev", &q)) {
            qdev = g_strdup(json_object_get_string(q));
        }
    }
    json_object_put(resp);
    return qdev;
}

/*
 * query-block names the device on a drive as QEMU does, and forgets it
 * when the device goes. device_add is refused as for every PCI device:
 * the machine has no PCI hotplug controller yet.
 */
static void test_query_block_qdev(void)
{
    g_autofree char *path = bt_path("qdev.img");
    g_autofree char *drive = g_strdup_printf("if=none,id=drive0,format=raw,"
                                             "file=%s", path);
    g_autofree char *qdev = NULL;
    TestPciMachine *m;
    Client *c;

    bt_make_pattern_file(path, DISK_SIZE, 2);
    g_assert_nonnull(drive_new(drive, &error_abort));
    m = tpci_new();
    c = client_new();
    negotiate(c, false);
    tpci_add(m, TYPE_VIRTIO_BLK_PCI, "id=vd0,drive=drive0,addr=5");
    qdev = query_block_qdev(c);
    g_assert_cmpstr(qdev, ==, "/machine/peripheral/vd0/virtio-backend");
    expect_error(c, "{\"execute\":\"device_add\",\"arguments\":"
                 "{\"driver\":\"virtio-blk-pci\",\"id\":\"vd1\","
                 "\"drive\":\"drive0\"}}\n", "GenericError",
                 "does not support hotplugging", NULL);
    tpci_free(m);
    g_free(qdev);
    qdev = query_block_qdev(c);
    g_assert_null(qdev);
    client_free(c);
    g_assert_true(drive_del("drive0", &error_abort));
}

/* device-list-properties shows the properties with their types. */
static void test_list_properties(void)
{
    Client *c = client_new();
    json_object *resp, *ret;
    bool seen_werror = false, seen_drive = false, seen_nq = false;

    negotiate(c, false);
    resp = expect_return(c, "{\"execute\":\"device-list-properties\","
                         "\"arguments\":{\"typename\":\"virtio-blk-pci\"}}\n",
                         NULL);
    ret = member(resp, "return");
    for (size_t i = 0; i < json_object_array_length(ret); i++) {
        json_object *p = json_object_array_get_idx(ret, i);
        const char *name = jstr(p, "name");

        if (!strcmp(name, "werror")) {
            g_assert_cmpstr(jstr(p, "type"), ==, "BlockdevOnError");
            seen_werror = true;
        } else if (!strcmp(name, "drive")) {
            seen_drive = true;
        } else if (!strcmp(name, "num-queues")) {
            seen_nq = true;
        }
    }
    g_assert_true(seen_werror && seen_drive && seen_nq);
    json_object_put(resp);
    client_free(c);
}

int main(int argc, char **argv)
{
    int rc;

    tmpfs_setup();
    qmp_test_init(&argc, &argv);
    g_test_add_func("/virtio-blk/pci-face", test_pci_face);
    g_test_add_func("/virtio-blk/read-only", test_read_only);
    g_test_add_data_func("/virtio-blk/rw/null-co", GINT_TO_POINTER(DISK_NULL),
                         test_rw);
    g_test_add_data_func("/virtio-blk/rw/raw", GINT_TO_POINTER(DISK_RAW),
                         test_rw);
    g_test_add_data_func("/virtio-blk/rw/qcow2", GINT_TO_POINTER(DISK_QCOW2),
                         test_rw);
    g_test_add_func("/virtio-blk/flush", test_flush);
    g_test_add_func("/virtio-blk/discard-write-zeroes",
                    test_discard_write_zeroes);
    g_test_add_func("/virtio-blk/get-id", test_get_id);
    g_test_add_func("/virtio-blk/errors", test_errors);
    for (unsigned h = 0; h < HOSTILE__MAX; h++) {
        g_autofree char *path = g_strdup_printf("/virtio-blk/hostile/%s",
                                                hostile_names[h]);

        g_test_add_data_func(path, GINT_TO_POINTER(h), test_hostile);
    }
    g_test_add_func("/virtio-blk/many-segments", test_many_segments);
    g_test_add_data_func("/virtio-blk/werror/stop", "stop", test_werror_stop);
    g_test_add_data_func("/virtio-blk/werror/enospc", "enospc",
                         test_werror_stop);
    g_test_add_data_func("/virtio-blk/werror/drive-report", "drive-report",
                         test_werror_report_ignore);
    g_test_add_data_func("/virtio-blk/werror/report", "report",
                         test_werror_report_ignore);
    g_test_add_data_func("/virtio-blk/werror/ignore", "ignore",
                         test_werror_report_ignore);
    g_test_add_data_func("/virtio-blk/migration/drains",
                         GINT_TO_POINTER(0), test_migration_drains);
    g_test_add_data_func("/virtio-blk/migration/drains-helper-thread",
                         GINT_TO_POINTER(1), test_migration_drains);
    g_test_add_func("/virtio-blk/migration/parked", test_migration_parked);
    g_test_add_func("/virtio-blk/migration/load-over-running",
                    test_load_over_running);
    g_test_add_func("/virtio-blk/props", test_props);
    g_test_add_func("/virtio-blk/blockdev-node", test_blockdev_node);
    g_test_add_func("/virtio-blk/query-block-qdev", test_query_block_qdev);
    g_test_add_func("/virtio-blk/device-list-properties",
                    test_list_properties);
    rc = qmp_test_run();
    tmpfs_teardown();
    return rc;
}
