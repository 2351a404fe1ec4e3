/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The little guests and the VM steps around them (see unit-helpers.h).
 */
#include <errno.h>
#include <sys/ioctl.h>
#include "unit-helpers.h"
#include "hw/i386/boot.h"
#include "target/i386/cpu.h"
#include "util/main-loop.h"

static const uint8_t counter_code[] = {
    /* 0x00 outer: */
    0xba, 0x00, 0x01, 0x00, 0x00,       /* mov edx, 256                    */
    /* 0x05 inner: */
    0xff, 0x05, 0x00, 0x30, 0x00, 0x00, /* inc dword [COUNTER_GPA]         */
    0x41,                               /* inc ecx                         */
    0x89, 0xf3,                         /* mov ebx, esi                    */
    /* 0x0e spin: */
    0x4b,                               /* dec ebx                         */
    0x75, 0xfd,                         /* jnz spin (0x0e)                 */
    0x4a,                               /* dec edx                         */
    0x75, 0xf1,                         /* jnz inner (0x05)                */
    0x89, 0xc8,                         /* mov eax, ecx                    */
    0xe7, TEST_GUEST_PORT,              /* out PORT, eax                   */
    0xeb, 0xe6,                         /* jmp outer (0x00)                */
};
_Static_assert(TEST_GUEST_COUNTER_GPA == 0x3000, "inc [0x3000] above");

static const uint8_t writer_code[] = {
    /* 0x00 start: */
    0xbe, 0x00, 0x20, 0x00, 0x00,   /* mov esi, TABLE_GPA                  */
    0x8b, 0x0e,                     /* mov ecx, [esi]      ; count         */
    0x8b, 0x46, 0x04,               /* mov eax, [esi+4]    ; value         */
    0x8b, 0x6e, 0x08,               /* mov ebp, [esi+8]    ; delay (>= 1)  */
    0x83, 0xc6, 0x0c,               /* add esi, 12         ; -> addresses  */
    /* 0x10 loop: */
    0x85, 0xc9,                     /* test ecx, ecx                       */
    0x74, 0x0f,                     /* jz done (0x23)                      */
    0x8b, 0x3e,                     /* mov edi, [esi]      ; next address  */
    0x89, 0x07,                     /* mov [edi], eax      ; the write     */
    0x89, 0xeb,                     /* mov ebx, ebp                        */
    /* 0x1a spin: */
    0x4b,                           /* dec ebx                             */
    0x75, 0xfd,                     /* jnz spin (0x1a)                     */
    0x83, 0xc6, 0x04,               /* add esi, 4                          */
    0x49,                           /* dec ecx                             */
    0xeb, 0xed,                     /* jmp loop (0x10)                     */
    /* 0x23 done: */
    0xe6, TEST_GUEST_PORT,          /* out PORT, al        ; round done    */
    0xeb, 0xd9,                     /* jmp start (0x00)                    */
};
_Static_assert(TEST_GUEST_TABLE_GPA == 0x2000, "mov esi, 0x2000 above");

const TestGuestProgram test_guest_counter = {
    counter_code, sizeof(counter_code),
};
const TestGuestProgram test_guest_writer = {
    writer_code, sizeof(writer_code),
};

void test_vm_kvm_init(KvmState *kvm, uint32_t dirty_ring_size)
{
    KvmOptions opts = { .dirty_ring_size = dirty_ring_size };
    Error *err = NULL;

    if (!kvm_init(kvm, &opts, &err) || !kvm_create_irqchip(kvm, &err)) {
        g_error("KVM setup: %s", error_get_pretty(err));
    }
}

void test_vm_load(KvmState *kvm, GuestMemory *mem,
                  const TestGuestProgram *prog)
{
    Error *err = NULL;

    if (!guest_memory_write(mem, TEST_GUEST_CODE_GPA, prog->code,
                            prog->size, &err) ||
        !kvm_register_memory(kvm, mem, &err)) {
        g_error("guest setup: %s", error_get_pretty(err));
    }
}

void test_vm_vcpu_create(KvmState *kvm, KvmVcpu *vcpu)
{
    X86BootState boot = {
        .mode = X86_BOOT_PROTECTED_FLAT32,
        .rip = TEST_GUEST_CODE_GPA,
    };
    Error *err = NULL;

    if (!kvm_vcpu_create(kvm, 0, vcpu, &err) ||
        !x86_cpu_setup_cpuid(vcpu, 1, &err) ||
        !x86_cpu_set_boot_state(vcpu, &boot, &err)) {
        g_error("vCPU setup: %s", error_get_pretty(err));
    }
}

void test_vm_run_until_port(KvmVcpu *vcpu, unsigned *ring_full_exits)
{
    struct kvm_run *run = vcpu->run;

    for (;;) {
        if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            g_error("KVM_RUN: %s", g_strerror(errno));
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (run->io.direction == KVM_EXIT_IO_OUT &&
                run->io.port == TEST_GUEST_PORT) {
                return;
            }
            x86_cpu_dump_state(vcpu);
            g_error("unexpected port I/O: %s port 0x%x",
                    run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
                    run->io.port);
            break;
        case KVM_EXIT_DIRTY_RING_FULL:
            g_assert_nonnull(vcpu->dirty_gfns);
            if (ring_full_exits) {
                /* A harvest that does not free the ring would loop here. */
                g_assert_cmpuint(++*ring_full_exits, <, 1000);
            }
            kvm_dirty_ring_harvest_vcpu(vcpu);
            break;
        case KVM_EXIT_INTR:
            break;
        default:
            x86_cpu_dump_state(vcpu);
            g_error("unexpected exit reason %u", run->exit_reason);
        }
    }
}

void test_sleep_unlocked(gulong us)
{
    bql_unlock();
    g_usleep(us);
    bql_lock();
}
