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
 *   documented offsets of QEMU's CPU-state note;
 */
#include <elf.h>
#include <stddef.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/reg.h>
#include <sys/user.h>
#include <glib.h>
#include "dump/elf-core.h"
#include "target/i386/arch-dump.h"

#define MIB             (1024 * 1024ULL)
#define HIGH_GPA        0x100000000ULL

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
    st->sregs.ds.selector = 0x20;
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dump/ranges", test_ranges);
    g_test_add_func("/dump/elf/note-layout", test_note_layout);
    g_test_add_func("/dump/elf/header", test_header);
    g_test_add_func("/dump/x86/prstatus", test_prstatus_layout);
    g_test_add_func("/dump/x86/cpu-state", test_cpu_state_layout);
    return g_test_run();
}
