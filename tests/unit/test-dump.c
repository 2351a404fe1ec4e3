/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump-guest-memory in-process, without /dev/kvm (dump/, and the x86
 * notes of target/i386/arch-dump.c):
 *
 * - the ranges a dump covers: blocks that touch merge, begin/length
 *   clip (past the end of RAM, past 2^64), nothing left;
 * - the ELF header and notes, read back through glibc's <elf.h>;
 * - the x86 notes, checked against glibc's own struct elf_prstatus and
 *   user_regs_struct (an independent statement of the layout) and the
 *   documented offsets of QEMU's CPU-state note, and read by gdb (when
 *   installed) from a core built of them: a thread per vCPU with its
 *   registers;
 * - the job on a RAM of two blocks with known patterns, the high one at
 *   4 GiB: a whole dump and a filtered one read back byte for byte; a
 *   detached dump into a pipe (progress, the guest stopped in save-vm
 *   and resumed, stop/cont refused meanwhile); a write error; the exit
 *   path with a writer blocked on a full pipe;
 * - the migration interplay: a dump is refused while a migration runs
 *   (this process migrating to file:/dev/null through an entry that
 *   never converges) and migrate is refused while a dump runs.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/reg.h>
#include <sys/user.h>
#include <unistd.h>
#include <glib.h>
#include "dump/dump.h"
#include "dump/elf-core.h"
#include "migration/migration.h"
#include "migration/savevm.h"
#include "monitor/monitor.h"
#include "qapi/qapi-commands.h"
#include "system/runstate.h"
#include "target/i386/arch-dump.h"
#include "util/main-loop.h"
#include "endless-entry.h"
#include "watchdog.h"

#define MIB             (1024 * 1024ULL)
#define HIGH_GPA        0x100000000ULL
#define TEST_TIMEOUT_S  30

/* Checks that err says want, and frees it. */
static void assert_error(Error **err, const char *want)
{
    g_assert_nonnull(*err);
    g_assert_cmpstr(error_get_pretty(*err), ==, want);
    g_clear_pointer(err, error_free);
}

/* ---- ranges ---- */

static GuestMemory three_blocks(void)
{
    GuestMemory mem = { 0 };

    /* Out of order, and the first two touch. */
    g_assert_nonnull(guest_memory_add_ram(&mem, "high", HIGH_GPA, 2 * MIB,
                                          &error_abort));
    g_assert_nonnull(guest_memory_add_ram(&mem, "b", 8 * MIB, 4 * MIB,
                                          &error_abort));
    g_assert_nonnull(guest_memory_add_ram(&mem, "a", 0, 8 * MIB,
                                          &error_abort));
    return mem;
}

static void check_ranges(GArray *got, const DumpRange *want, unsigned n)
{
    g_assert_cmpuint(got->len, ==, n);
    for (unsigned i = 0; i < n; i++) {
        g_assert_cmphex(g_array_index(got, DumpRange, i).gpa, ==,
                        want[i].gpa);
        g_assert_cmphex(g_array_index(got, DumpRange, i).size, ==,
                        want[i].size);
    }
    g_array_free(got, TRUE);
}

static void test_ranges(void)
{
    GuestMemory mem = three_blocks();

    check_ranges(dump_ranges_collect(&mem, false, 0, 0), (DumpRange[]) {
        { 0, 12 * MIB }, { HIGH_GPA, 2 * MIB } }, 2);
    /* Across the two blocks that touch: still one range. */
    check_ranges(dump_ranges_collect(&mem, true, 8 * MIB - 4096, 8192),
                 (DumpRange[]) { { 8 * MIB - 4096, 8192 } }, 1);
    /* Past the end of low RAM and over the hole to the high block. */
    check_ranges(dump_ranges_collect(&mem, true, 12 * MIB - 4096,
                                     HIGH_GPA),
                 (DumpRange[]) { { 12 * MIB - 4096, 4096 },
                                 { HIGH_GPA, 2 * MIB } }, 2);
    /* Length -1 (QMP's int): to the end, whatever begin is. */
    check_ranges(dump_ranges_collect(&mem, true, 4096, UINT64_MAX),
                 (DumpRange[]) { { 4096, 12 * MIB - 4096 },
                                 { HIGH_GPA, 2 * MIB } }, 2);
    check_ranges(dump_ranges_collect(&mem, true, 1, 16),
                 (DumpRange[]) { { 1, 16 } }, 1);
    check_ranges(dump_ranges_collect(&mem, true, 12 * MIB, HIGH_GPA - 12 * MIB),
                 NULL, 0);
    check_ranges(dump_ranges_collect(&mem, true, 5 * HIGH_GPA, 4096),
                 NULL, 0);
    guest_memory_free(&mem);
}

/* ---- the header and notes ---- */

static void test_note_layout(void)
{
    g_autoptr(GByteArray) notes = g_byte_array_new();
    static const uint8_t desc[5] = { 1, 2, 3, 4, 5 };
    const Elf64_Nhdr *n;

    elf_note_append(notes, "CORE", NT_PRSTATUS, desc, sizeof(desc));
    /* 12-byte header, "CORE\0" padded to 8, 5 bytes padded to 8. */
    g_assert_cmpuint(notes->len, ==, 12 + 8 + 8);
    n = (const Elf64_Nhdr *)notes->data;
    g_assert_cmpuint(n->n_namesz, ==, 5);
    g_assert_cmpuint(n->n_descsz, ==, 5);
    g_assert_cmpuint(n->n_type, ==, NT_PRSTATUS);
    g_assert_cmpmem(notes->data + 12, 8, "CORE\0\0\0\0", 8);
    g_assert_cmpmem(notes->data + 20, 8, "\1\2\3\4\5\0\0\0", 8);
}

static void test_header(void)
{
    GuestMemory mem = three_blocks();
    g_autoptr(GArray) ranges = dump_ranges_collect(&mem, false, 0, 0);
    g_autoptr(GByteArray) notes = g_byte_array_new();
    g_autoptr(GByteArray) h = NULL;
    const Elf64_Ehdr *e;
    const Elf64_Phdr *ph;

    elf_note_append(notes, "QEMU", 0, "abcdefgh", 8);
    h = elf_core_header(ranges, notes);
    e = (const Elf64_Ehdr *)h->data;
    g_assert_cmpmem(e->e_ident, SELFMAG, ELFMAG, SELFMAG);
    g_assert_cmpuint(e->e_ident[EI_CLASS], ==, ELFCLASS64);
    g_assert_cmpuint(e->e_ident[EI_DATA], ==, ELFDATA2LSB);
    g_assert_cmpuint(e->e_ident[EI_VERSION], ==, EV_CURRENT);
    g_assert_cmpuint(e->e_type, ==, ET_CORE);
    g_assert_cmpuint(e->e_machine, ==, EM_X86_64);
    g_assert_cmpuint(e->e_version, ==, EV_CURRENT);
    g_assert_cmpuint(e->e_ehsize, ==, sizeof(Elf64_Ehdr));
    g_assert_cmpuint(e->e_phoff, ==, sizeof(Elf64_Ehdr));
    g_assert_cmpuint(e->e_phentsize, ==, sizeof(Elf64_Phdr));
    g_assert_cmpuint(e->e_phnum, ==, 3);
    g_assert_cmpuint(e->e_shoff, ==, 0);
    g_assert_cmpuint(e->e_shnum, ==, 0);
    ph = (const Elf64_Phdr *)(h->data + e->e_phoff);
    g_assert_cmpuint(ph[0].p_type, ==, PT_NOTE);
    g_assert_cmpuint(ph[0].p_offset, ==, 64 + 3 * 56);
    g_assert_cmpuint(ph[0].p_filesz, ==, notes->len);
    g_assert_cmpmem(h->data + ph[0].p_offset, notes->len, notes->data,
                    notes->len);
    /* The RAM follows the notes, range after range. */
    g_assert_cmpuint(h->len, ==, ph[0].p_offset + notes->len);
    g_assert_cmpuint(ph[1].p_type, ==, PT_LOAD);
    g_assert_cmpuint(ph[1].p_offset, ==, h->len);
    g_assert_cmphex(ph[1].p_paddr, ==, 0);
    g_assert_cmpuint(ph[1].p_filesz, ==, 12 * MIB);
    g_assert_cmpuint(ph[1].p_memsz, ==, 12 * MIB);
    g_assert_cmpuint(ph[2].p_type, ==, PT_LOAD);
    g_assert_cmpuint(ph[2].p_offset, ==, h->len + 12 * MIB);
    g_assert_cmphex(ph[2].p_paddr, ==, HIGH_GPA);
    g_assert_cmphex(ph[2].p_vaddr, ==, HIGH_GPA);
    g_assert_cmpuint(ph[2].p_filesz, ==, 2 * MIB);
    guest_memory_free(&mem);
}

/* ---- the x86 notes ---- */

static X86CPUState *sample_cpu(void)
{
    X86CPUState *st = g_new0(X86CPUState, 1);
    uint64_t *gpr = (uint64_t *)&st->regs;

    /* Every general register a value of its own: 0x1100 + its slot. */
    for (size_t i = 0; i < sizeof(st->regs) / 8; i++) {
        gpr[i] = 0x1100 + i;
    }
    st->sregs.cs = (struct kvm_segment) {
        .base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb,
        .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
    };
    st->sregs.ss = (struct kvm_segment) { .selector = 0x18, .type = 3,
                                          .present = 1, .s = 1, .db = 1,
                                          .limit = 0xffffffff, .g = 1 };
    /* An unusable segment that still says present: not present. */
    st->sregs.ds = (struct kvm_segment) { .selector = 0x20, .type = 3,
                                          .present = 1, .s = 1,
                                          .unusable = 1 };
    st->sregs.es.selector = 0x28;
    st->sregs.fs = (struct kvm_segment) { .selector = 0x30,
                                          .base = 0x7f0000001000 };
    st->sregs.gs = (struct kvm_segment) { .selector = 0x38,
                                          .base = 0xffff888000002000 };
    st->sregs.tr = (struct kvm_segment) { .selector = 0x40, .type = 0xb,
                                          .present = 1, .limit = 0x67,
                                          .base = 0xfffffe0000003000 };
    st->sregs.gdt = (struct kvm_dtable) { .base = 0xfffffe0000001000,
                                          .limit = 0x7f };
    st->sregs.idt = (struct kvm_dtable) { .base = 0xfffffe0000000000,
                                          .limit = 0xfff };
    st->sregs.cr0 = 0x80050033;
    st->sregs.cr2 = 0x2222;
    st->sregs.cr3 = 0x3333000;
    st->sregs.cr4 = 0x3406f0;
    st->nr_msrs = 2;
    st->msrs[0] = (struct kvm_msr_entry) { .index = MSR_STAR, .data = 1 };
    st->msrs[1] = (struct kvm_msr_entry) { .index = MSR_KERNEL_GS_BASE,
                                           .data = 0xffff888000005000 };
    return st;
}

static void test_prstatus_layout(void)
{
    g_autofree X86CPUState *st = sample_cpu();
    X86ElfPrstatus pr;
    struct elf_prstatus glibc;
    const struct kvm_regs *r = &st->regs;

    G_STATIC_ASSERT(sizeof(pr) == sizeof(glibc));
    x86_dump_prstatus(st, 2, &pr);
    memcpy(&glibc, &pr, sizeof(glibc));
    g_assert_cmpint(glibc.pr_pid, ==, 3);
    g_assert_cmpint(glibc.pr_info.si_signo, ==, 0);
    g_assert_cmpint(glibc.pr_fpvalid, ==, 0);
    /* <sys/reg.h> indexes elf_gregset_t in user_regs_struct's order. */
    g_assert_cmphex(glibc.pr_reg[R15], ==, r->r15);
    g_assert_cmphex(glibc.pr_reg[R12], ==, r->r12);
    g_assert_cmphex(glibc.pr_reg[RBP], ==, r->rbp);
    g_assert_cmphex(glibc.pr_reg[RBX], ==, r->rbx);
    g_assert_cmphex(glibc.pr_reg[R8], ==, r->r8);
    g_assert_cmphex(glibc.pr_reg[RAX], ==, r->rax);
    g_assert_cmphex(glibc.pr_reg[RCX], ==, r->rcx);
    g_assert_cmphex(glibc.pr_reg[RDX], ==, r->rdx);
    g_assert_cmphex(glibc.pr_reg[RSI], ==, r->rsi);
    g_assert_cmphex(glibc.pr_reg[RDI], ==, r->rdi);
    g_assert_cmphex(glibc.pr_reg[ORIG_RAX], ==, UINT64_MAX);
    g_assert_cmphex(glibc.pr_reg[RIP], ==, r->rip);
    g_assert_cmphex(glibc.pr_reg[EFLAGS], ==, r->rflags);
    g_assert_cmphex(glibc.pr_reg[RSP], ==, r->rsp);
    g_assert_cmphex(glibc.pr_reg[CS], ==, 0x10);
    g_assert_cmphex(glibc.pr_reg[SS], ==, 0x18);
    g_assert_cmphex(glibc.pr_reg[DS], ==, 0x20);
    g_assert_cmphex(glibc.pr_reg[ES], ==, 0x28);
    g_assert_cmphex(glibc.pr_reg[FS], ==, 0x30);
    g_assert_cmphex(glibc.pr_reg[GS], ==, 0x38);
    g_assert_cmphex(glibc.pr_reg[FS_BASE], ==, 0x7f0000001000);
    g_assert_cmphex(glibc.pr_reg[GS_BASE], ==, 0xffff888000002000);
}

static uint64_t le64_at(const void *base, size_t off)
{
    uint64_t v;

    memcpy(&v, (const uint8_t *)base + off, sizeof(v));
    return GUINT64_FROM_LE(v);
}

static uint32_t le32_at(const void *base, size_t off)
{
    uint32_t v;

    memcpy(&v, (const uint8_t *)base + off, sizeof(v));
    return GUINT32_FROM_LE(v);
}

/* Offsets as arch-dump.h documents them (QEMU's note, version 1). */
static void test_cpu_state_layout(void)
{
    g_autofree X86CPUState *st = sample_cpu();
    X86DumpCpuState cs;
    const size_t seg = 152, cr = 392;

    x86_dump_cpu_state(st, &cs);
    g_assert_cmpuint(le32_at(&cs, 0), ==, 1);
    g_assert_cmpuint(le32_at(&cs, 4), ==, 440);
    g_assert_cmphex(le64_at(&cs, 8), ==, st->regs.rax);
    g_assert_cmphex(le64_at(&cs, 8 + 6 * 8), ==, st->regs.rsp);
    g_assert_cmphex(le64_at(&cs, 8 + 15 * 8), ==, st->regs.r15);
    g_assert_cmphex(le64_at(&cs, 8 + 16 * 8), ==, st->regs.rip);
    g_assert_cmphex(le64_at(&cs, 8 + 17 * 8), ==, st->regs.rflags);
    /* cs: a present 64-bit ring-0 code segment, G set. */
    g_assert_cmphex(le32_at(&cs, seg), ==, 0x10);
    g_assert_cmphex(le32_at(&cs, seg + 4), ==, 0xffffffff);
    g_assert_cmphex(le32_at(&cs, seg + 8), ==, 0xa09b00);
    /* ss (sixth): a 32-bit-default writable data segment. */
    g_assert_cmphex(le32_at(&cs, seg + 5 * 24), ==, 0x18);
    g_assert_cmphex(le32_at(&cs, seg + 5 * 24 + 8), ==, 0xc09300);
    /* ds (second): unusable, so P is clear. */
    g_assert_cmphex(le32_at(&cs, seg + 24), ==, 0x20);
    g_assert_cmphex(le32_at(&cs, seg + 24 + 8), ==, 0x1300);
    g_assert_cmphex(le64_at(&cs, seg + 3 * 24 + 16), ==, 0x7f0000001000);
    g_assert_cmphex(le64_at(&cs, seg + 4 * 24 + 16), ==, 0xffff888000002000);
    /* tr (eighth), gdt and idt (ninth, tenth: base and limit only). */
    g_assert_cmphex(le32_at(&cs, seg + 7 * 24 + 4), ==, 0x67);
    g_assert_cmphex(le64_at(&cs, seg + 7 * 24 + 16), ==, 0xfffffe0000003000);
    g_assert_cmphex(le32_at(&cs, seg + 8 * 24 + 4), ==, 0x7f);
    g_assert_cmphex(le32_at(&cs, seg + 8 * 24 + 8), ==, 0);
    g_assert_cmphex(le64_at(&cs, seg + 8 * 24 + 16), ==, 0xfffffe0000001000);
    g_assert_cmphex(le64_at(&cs, seg + 9 * 24 + 16), ==, 0xfffffe0000000000);
    g_assert_cmphex(le64_at(&cs, cr), ==, 0x80050033);
    g_assert_cmphex(le64_at(&cs, cr + 8), ==, 0);
    g_assert_cmphex(le64_at(&cs, cr + 16), ==, 0x2222);
    g_assert_cmphex(le64_at(&cs, cr + 24), ==, 0x3333000);
    g_assert_cmphex(le64_at(&cs, cr + 32), ==, 0x3406f0);
    g_assert_cmphex(le64_at(&cs, 432), ==, 0xffff888000005000);
    g_assert_true(x86_dump_paging_enabled(st));
    st->sregs.cr0 = 0x60000010;
    g_assert_false(x86_dump_paging_enabled(st));
}

/*
 * gdb on a core built from these pieces: one thread per vCPU, each with
 * the registers of its NT_PRSTATUS, and memory at its physical address.
 * The one check of the notes by a reader that is not ours (no KVM here
 * to dump real vCPUs).
 */
static void test_gdb_reads_notes(void)
{
    g_autofree char *gdb = g_find_program_in_path("gdb");
    g_autofree char *dir = NULL, *path = NULL, *cmd = NULL, *out = NULL;
    g_autofree X86CPUState *cpu0 = sample_cpu();
    g_autofree X86CPUState *cpu1 = sample_cpu();
    g_autoptr(GByteArray) notes = g_byte_array_new();
    g_autoptr(GByteArray) file = NULL;
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(DumpRange));
    X86ElfPrstatus pr;
    X86DumpCpuState cs;
    uint8_t ram[4096];
    int status;

    if (!gdb) {
        g_test_skip("gdb is not installed");
        return;
    }
    cpu1->regs.rip = 0xffffffff81000123;
    cpu1->regs.rsp = 0xffffc90000007ff8;
    for (unsigned i = 0; i < 2; i++) {
        x86_dump_prstatus(i ? cpu1 : cpu0, i, &pr);
        elf_note_append(notes, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
    }
    for (unsigned i = 0; i < 2; i++) {
        x86_dump_cpu_state(i ? cpu1 : cpu0, &cs);
        elf_note_append(notes, "QEMU", 0, &cs, sizeof(cs));
    }
    g_array_append_val(ranges, ((DumpRange){ 0x100000, sizeof(ram) }));
    for (size_t i = 0; i < sizeof(ram); i++) {
        ram[i] = i * 3;
    }
    file = elf_core_header(ranges, notes);
    g_byte_array_append(file, ram, sizeof(ram));
    dir = g_dir_make_tmp("test-dump-gdb-XXXXXX", NULL);
    path = g_build_filename(dir, "core", NULL);
    g_assert_true(g_file_set_contents(path, (const char *)file->data,
                                      file->len, NULL));
    cmd = g_strdup_printf("%s -nx -batch -ex 'core-file %s' "
                          "-ex 'info threads' -ex 'thread 2' "
                          "-ex 'p/x $rip' -ex 'p/x $rsp' -ex 'thread 1' "
                          "-ex 'p/x $rip' -ex 'p/x $r15' "
                          "-ex 'x/4xb 0x100004'", gdb, path);
    g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &status, NULL));
    g_assert_true(strstr(out, "LWP 1"));
    g_assert_true(strstr(out, "LWP 2"));
    g_assert_true(strstr(out, "0xffffffff81000123"));
    g_assert_true(strstr(out, "0xffffc90000007ff8"));
    /* kvm_regs order: rip is the 17th word, r15 the 16th. */
    g_assert_true(strstr(out, "= 0x1110"));
    g_assert_true(strstr(out, "= 0x110f"));
    g_assert_true(strstr(out, "0x100004:\t0x0c\t0x0f\t0x12\t0x15"));
    unlink(path);
    rmdir(dir);
}

/* ---- the job ---- */

/* The machine of the job tests: 16 MiB low, 1 MiB at 4 GiB. */
static GuestMemory job_mem;

/* A byte per address that differs from its neighbours' and between
 * blocks, so a misplaced range shows. */
static uint8_t pattern(uint64_t gpa)
{
    return (uint8_t)(gpa * 7 + (gpa >> 12) * 13 + (gpa >> 32) * 101);
}

static void job_mem_fill(void)
{
    for (unsigned i = 0; i < job_mem.nr_blocks; i++) {
        RamBlock *b = &job_mem.blocks[i];

        for (uint64_t off = 0; off < b->size; off++) {
            b->host[off] = pattern(b->gpa + off);
        }
    }
}

static DumpRequest request(bool detach)
{
    return (DumpRequest) { .detach = detach,
                           .format = DUMP_GUEST_MEMORY_FORMAT_ELF };
}

/*
 * Checks a dump: the header, no notes (these vCPUs have no registers),
 * and every PT_LOAD's bytes against the pattern.
 */
static void check_dump(const uint8_t *data, size_t len, const char *what,
                       const DumpRange *want, unsigned n)
{
    const Elf64_Ehdr *e;
    const Elf64_Phdr *ph;
    uint64_t expect_end;

    g_assert_cmpuint(len, >=, sizeof(*e));
    e = (const Elf64_Ehdr *)data;
    g_assert_cmpmem(e->e_ident, SELFMAG, ELFMAG, SELFMAG);
    g_assert_cmpuint(e->e_type, ==, ET_CORE);
    g_assert_cmpuint(e->e_phnum, ==, 1 + n);
    ph = (const Elf64_Phdr *)(data + e->e_phoff);
    g_assert_cmpuint(ph[0].p_type, ==, PT_NOTE);
    g_assert_cmpuint(ph[0].p_filesz, ==, 0);
    expect_end = ph[0].p_offset;
    for (unsigned i = 0; i < n; i++) {
        const Elf64_Phdr *p = &ph[1 + i];

        g_assert_cmpuint(p->p_type, ==, PT_LOAD);
        g_assert_cmphex(p->p_paddr, ==, want[i].gpa);
        g_assert_cmphex(p->p_filesz, ==, want[i].size);
        g_assert_cmpuint(p->p_offset, ==, expect_end);
        for (uint64_t off = 0; off < p->p_filesz; off++) {
            if (data[p->p_offset + off] != pattern(p->p_paddr + off)) {
                g_error("%s: byte at 0x%" G_GINT64_MODIFIER "x is 0x%02x, "
                        "not 0x%02x", what, p->p_paddr + off,
                        data[p->p_offset + off], pattern(p->p_paddr + off));
            }
        }
        expect_end = p->p_offset + p->p_filesz;
    }
    g_assert_cmpuint(len, ==, expect_end);
}

static void check_dump_file(const char *path, const DumpRange *want,
                            unsigned n)
{
    g_autofree char *data = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    check_dump((const uint8_t *)data, len, path, want, n);
}

static int open_out(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

static void test_job_sync(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-dump-XXXXXX", NULL);
    g_autofree char *whole = g_build_filename(dir, "whole.elf", NULL);
    g_autofree char *part = g_build_filename(dir, "part.elf", NULL);
    DumpState *ds = dump_current();
    DumpRequest req = request(false);
    g_autoptr(DumpQueryResult) r = NULL;
    g_autoptr(DumpQueryResult) r2 = NULL;

    BQL_LOCK_GUARD();
    vm_start();
    g_assert_true(dump_start(ds, open_out(whole), &req, &error_abort));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    r = dump_query(ds);
    g_assert_cmpint(r->status, ==, DUMP_STATUS_COMPLETED);
    g_assert_cmpint(r->total, ==, 17 * MIB);
    g_assert_cmpint(r->completed, ==, 17 * MIB);
    check_dump_file(whole, (DumpRange[]) { { 0, 16 * MIB },
                                           { HIGH_GPA, MIB } }, 2);

    /* Unaligned, from the end of low RAM over the hole into high RAM. */
    req.filter = true;
    req.begin = 16 * MIB - 100;
    req.length = HIGH_GPA - 16 * MIB + 100 + 5000;
    g_assert_true(dump_start(ds, open_out(part), &req, &error_abort));
    r2 = dump_query(ds);
    g_assert_cmpint(r2->total, ==, 100 + 5000);
    check_dump_file(part, (DumpRange[]) { { 16 * MIB - 100, 100 },
                                          { HIGH_GPA, 5000 } }, 2);
    unlink(whole);
    unlink(part);
    rmdir(dir);
}

/* QEMU's words for a range that leaves nothing, and for bad values;
 * the status says failed, no event, the guest runs on. */
static void test_job_refusals(void)
{
    DumpState *ds = dump_current();
    DumpRequest req = request(false);
    Error *err = NULL;
    static const struct {
        int64_t begin, length;
        const char *error;
    } cases[] = {
        { 0, 0, "Invalid parameter 'length'" },
        { -1, 4096, "Invalid parameter 'begin'" },
        { 16 * MIB, 4096, "dump: no guest memory to dump" },
        { INT64_MAX, INT64_MAX, "dump: no guest memory to dump" },
    };

    BQL_LOCK_GUARD();
    vm_start();
    req.filter = true;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(DumpQueryResult) r = NULL;

        req.begin = cases[i].begin;
        req.length = cases[i].length;
        g_assert_false(dump_start(ds, open_out("/dev/null"), &req, &err));
        assert_error(&err, cases[i].error);
        r = dump_query(ds);
        g_assert_cmpint(r->status, ==, DUMP_STATUS_FAILED);
        g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    }
    /* win-dmp gets past the checks and fails as QEMU's does without a
     * vmcoreinfo note: the whole RAM counted, nothing written. */
    req = request(false);
    req.format = DUMP_GUEST_MEMORY_FORMAT_WIN_DMP;
    g_assert_false(dump_start(ds, open_out("/dev/null"), &req, &err));
    assert_error(&err, "win-dump: invalid vmcoreinfo note size");
}

static void test_job_write_error(void)
{
    DumpState *ds = dump_current();
    DumpRequest req = request(false);
    g_autoptr(DumpQueryResult) r = NULL;
    Error *err = NULL;

    BQL_LOCK_GUARD();
    vm_start();
    g_assert_false(dump_start(ds, open_out("/dev/full"), &req, &err));
    assert_error(&err, "dump: failed to write elf header: No space left on "
                 "device");
    r = dump_query(ds);
    g_assert_cmpint(r->status, ==, DUMP_STATUS_FAILED);
    g_assert_cmpint(r->completed, ==, 0);
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
}

static int64_t dump_progress(DumpState *ds)
{
    g_autoptr(DumpQueryResult) r = dump_query(ds);

    return r->completed;
}

/* Runs the main loop until the dump is no longer active. */
static void wait_dump_end(DumpState *ds)
{
    while (dump_in_progress(ds)) {
        main_loop_wait(true);
    }
}

/* Reads the pipe to its end; returns what came as a GByteArray. */
static gpointer drain_pipe(gpointer opaque)
{
    int fd = GPOINTER_TO_INT(opaque);
    GByteArray *all = g_byte_array_new();
    uint8_t buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_byte_array_append(all, buf, n);
    }
    close(fd);
    return all;
}

static void test_job_detached(void)
{
    DumpState *ds = dump_current();
    DumpRequest req = request(true);
    g_autoptr(DumpQueryResult) r = NULL;
    g_autoptr(GByteArray) file = g_byte_array_new();
    g_autoptr(GByteArray) rest = NULL;
    GThread *reader;
    Error *err = NULL;
    int p[2];
    uint8_t first[4096];

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    bql_lock();
    vm_start();
    g_assert_true(dump_start(ds, p[1], &req, &error_abort));
    /* The pipe is not read yet: the writer waits, the monitor answers. */
    g_assert_true(dump_in_progress(ds));
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_SAVE_VM);
    qmp_stop(&err);
    assert_error(&err, "There is a dump in process, please wait.");
    qmp_cont(&err);
    assert_error(&err, "There is a dump in process, please wait.");
    g_assert_false(dump_start(ds, open_out("/dev/null"), &req, &err));
    assert_error(&err, "There is a dump in process, please wait.");

    /* Progress counts RAM bytes as they leave: some, not all, while
     * the pipe is full. */
    while (dump_progress(ds) == 0) {
        g_usleep(1000);
    }
    g_assert_cmpint(dump_progress(ds), <, 17 * MIB);
    g_assert_cmpint(read(p[0], first, sizeof(first)), ==, sizeof(first));
    g_byte_array_append(file, first, sizeof(first));
    reader = g_thread_new("reader", drain_pipe, GINT_TO_POINTER(p[0]));
    wait_dump_end(ds);
    r = dump_query(ds);
    g_assert_cmpint(r->status, ==, DUMP_STATUS_COMPLETED);
    g_assert_cmpint(r->completed, ==, 17 * MIB);
    g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
    bql_unlock();
    rest = g_thread_join(reader);
    g_byte_array_append(file, rest->data, rest->len);
    check_dump(file->data, file->len, "the pipe",
               (DumpRange[]) { { 0, 16 * MIB }, { HIGH_GPA, MIB } }, 2);
    test_watchdog_disarm();
}

/* At exit a writer blocked on a pipe nobody reads is woken and joined. */
static void test_job_shutdown(void)
{
    DumpState *ds = dump_current();
    DumpRequest req = request(true);
    g_autoptr(DumpQueryResult) r = NULL;
    g_autoptr(MigrationInfo) info = NULL;
    int p[2];

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    BQL_LOCK_GUARD();
    vm_start();
    g_assert_true(dump_start(ds, p[1], &req, &error_abort));
    /* It fills the pipe, then waits for room that never comes. */
    while (dump_progress(ds) == 0) {
        g_usleep(1000);
    }
    dump_shutdown(ds);
    r = dump_query(ds);
    g_assert_cmpint(r->status, ==, DUMP_STATUS_FAILED);
    g_assert_cmpint(r->completed, <, 17 * MIB);
    close(p[0]);
    /* The blocker went with it. */
    info = qmp_query_migrate(&error_abort);
    g_assert_null(info->blocked_reasons);
    test_watchdog_disarm();
}

/* ---- migration ---- */

static MigrationStatus migration_status_now(void)
{
    g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

    return info->has_status ? info->status : MIGRATION_STATUS_NONE;
}

static void test_refused_during_migration(void)
{
    SaveVMState *vs = savevm_default();
    DumpState *ds = dump_current();
    DumpRequest req = request(false);
    g_autoptr(DumpQueryResult) before = NULL;
    g_autoptr(DumpQueryResult) after = NULL;
    Error *err = NULL;

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    bql_lock();
    vm_start();
    g_assert_true(savevm_register_live(vs, ENDLESS_ENTRY_ID, 0, 1,
                                       &endless_entry_ops, NULL,
                                       &error_abort));
    qmp_migrate("file:/dev/null", false, false, false, false, &error_abort);
    g_assert_cmpint(migration_status_now(), !=, MIGRATION_STATUS_NONE);
    before = dump_query(ds);
    g_assert_false(dump_start(ds, open_out("/dev/null"), &req, &err));
    assert_error(&err, "disallowing migration blocker (migration/snapshot in "
                 "progress) for: " DUMP_MIGRATION_BLOCKER);
    /* Refused before it began: the last dump's result stands. */
    after = dump_query(ds);
    g_assert_cmpint(after->status, ==, before->status);
    qmp_migrate_cancel(&error_abort);
    while (migration_status_now() != MIGRATION_STATUS_CANCELLED) {
        bql_unlock();
        g_usleep(10 * 1000);
        bql_lock();
        main_loop_wait(false);
    }
    savevm_unregister(vs, ENDLESS_ENTRY_ID, 0);
    bql_unlock();
    test_watchdog_disarm();
}

static void test_blocks_migrate(void)
{
    DumpState *ds = dump_current();
    DumpRequest req = request(true);
    Error *err = NULL;
    GThread *reader;
    int p[2];

    test_watchdog_arm(g_test_get_path(), TEST_TIMEOUT_S);
    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    bql_lock();
    g_assert_true(dump_start(ds, p[1], &req, &error_abort));
    qmp_migrate("file:/dev/null", false, false, false, false, &err);
    assert_error(&err, DUMP_MIGRATION_BLOCKER);
    {
        g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

        g_assert_nonnull(info->blocked_reasons);
        g_assert_cmpstr(info->blocked_reasons->value, ==,
                        DUMP_MIGRATION_BLOCKER);
        g_assert_null(info->blocked_reasons->next);
    }
    reader = g_thread_new("reader", drain_pipe, GINT_TO_POINTER(p[0]));
    wait_dump_end(ds);
    bql_unlock();
    g_byte_array_free(g_thread_join(reader), TRUE);
    {
        g_autoptr(MigrationInfo) info = qmp_query_migrate(&error_abort);

        g_assert_null(info->blocked_reasons);
    }
    test_watchdog_disarm();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();
    monitor_init_globals();
    g_assert_nonnull(guest_memory_add_ram(&job_mem, "pc.ram", 0, 16 * MIB,
                                          &error_abort));
    g_assert_nonnull(guest_memory_add_ram(&job_mem, "pc.ram.high", HIGH_GPA,
                                          MIB, &error_abort));
    job_mem_fill();
    dump_set_machine(dump_current(), &job_mem, NULL);

    g_test_add_func("/dump/ranges", test_ranges);
    g_test_add_func("/dump/elf/note-layout", test_note_layout);
    g_test_add_func("/dump/elf/header", test_header);
    g_test_add_func("/dump/x86/prstatus", test_prstatus_layout);
    g_test_add_func("/dump/x86/cpu-state", test_cpu_state_layout);
    g_test_add_func("/dump/x86/gdb", test_gdb_reads_notes);
    g_test_add_func("/dump/job/sync", test_job_sync);
    g_test_add_func("/dump/job/refusals", test_job_refusals);
    g_test_add_func("/dump/job/write-error", test_job_write_error);
    g_test_add_func("/dump/job/detached", test_job_detached);
    g_test_add_func("/dump/job/shutdown", test_job_shutdown);
    g_test_add_func("/dump/migration/refuses-dump",
                    test_refused_during_migration);
    g_test_add_func("/dump/migration/blocked", test_blocks_migrate);
    return g_test_run();
}
