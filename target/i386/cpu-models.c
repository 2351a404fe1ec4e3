/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The x86 CPU model table and the -cpu parser (include/target/i386/
 * cpu-models.h). The feature bits come from the Intel SDM (vol. 2A,
 * CPUID) and AMD's APM (vol. 3, appendix E); the names are QEMU's
 * property names, which libvirt and users type. Each model is written
 * as the generation it extends plus what that generation added, so the
 * table reads as the history of the line. Checked against what Debian's
 * QEMU 7.2 reports for each model (query-cpu-model-expansion under TCG):
 * identities and feature sets match, except for the TCG-only svm and
 * monitor bits and the MSR-based features (ibrs-all, mds-no, ...) that
 * Tandem does not model.
 */
#include <string.h>
#include "target/i386/cpu-models.h"
#include "util/keyval.h"

enum { R_EAX, R_EBX, R_ECX, R_EDX };

const X86FeatureWordInfo x86_feature_words[FEAT_WORDS] = {
    [FEAT_1_EDX] = { 0x1, -1, R_EDX },
    [FEAT_1_ECX] = { 0x1, -1, R_ECX },
    [FEAT_6_EAX] = { 0x6, -1, R_EAX },
    [FEAT_7_0_EBX] = { 0x7, 0, R_EBX },
    [FEAT_7_0_ECX] = { 0x7, 0, R_ECX },
    [FEAT_7_0_EDX] = { 0x7, 0, R_EDX },
    [FEAT_7_1_EAX] = { 0x7, 1, R_EAX },
    [FEAT_XSAVE] = { 0xd, 1, R_EAX },
    [FEAT_KVM] = { 0x40000001, -1, R_EAX },
    [FEAT_8000_0001_EDX] = { 0x80000001, -1, R_EDX },
    [FEAT_8000_0001_ECX] = { 0x80000001, -1, R_ECX },
    [FEAT_8000_0007_EDX] = { 0x80000007, -1, R_EDX },
    [FEAT_8000_0008_EBX] = { 0x80000008, -1, R_EBX },
};

#define F(n, w, b) { (n), (w), 1u << (b) }

const X86Feature x86_features[] = {
    F("fpu", FEAT_1_EDX, 0), F("vme", FEAT_1_EDX, 1),
    F("de", FEAT_1_EDX, 2), F("pse", FEAT_1_EDX, 3),
    F("tsc", FEAT_1_EDX, 4), F("msr", FEAT_1_EDX, 5),
    F("pae", FEAT_1_EDX, 6), F("mce", FEAT_1_EDX, 7),
    F("cx8", FEAT_1_EDX, 8), F("apic", FEAT_1_EDX, 9),
    F("sep", FEAT_1_EDX, 11), F("mtrr", FEAT_1_EDX, 12),
    F("pge", FEAT_1_EDX, 13), F("mca", FEAT_1_EDX, 14),
    F("cmov", FEAT_1_EDX, 15), F("pat", FEAT_1_EDX, 16),
    F("pse36", FEAT_1_EDX, 17), F("pn", FEAT_1_EDX, 18),
    F("clflush", FEAT_1_EDX, 19), F("ds", FEAT_1_EDX, 21),
    F("acpi", FEAT_1_EDX, 22), F("mmx", FEAT_1_EDX, 23),
    F("fxsr", FEAT_1_EDX, 24), F("sse", FEAT_1_EDX, 25),
    F("sse2", FEAT_1_EDX, 26), F("ss", FEAT_1_EDX, 27),
    F("ht", FEAT_1_EDX, 28), F("tm", FEAT_1_EDX, 29),
    F("pbe", FEAT_1_EDX, 31),

    F("pni", FEAT_1_ECX, 0), F("pclmulqdq", FEAT_1_ECX, 1),
    F("dtes64", FEAT_1_ECX, 2), F("monitor", FEAT_1_ECX, 3),
    F("ds-cpl", FEAT_1_ECX, 4), F("vmx", FEAT_1_ECX, 5),
    F("smx", FEAT_1_ECX, 6), F("est", FEAT_1_ECX, 7),
    F("tm2", FEAT_1_ECX, 8), F("ssse3", FEAT_1_ECX, 9),
    F("cid", FEAT_1_ECX, 10), F("fma", FEAT_1_ECX, 12),
    F("cx16", FEAT_1_ECX, 13), F("xtpr", FEAT_1_ECX, 14),
    F("pdcm", FEAT_1_ECX, 15), F("pcid", FEAT_1_ECX, 17),
    F("dca", FEAT_1_ECX, 18), F("sse4.1", FEAT_1_ECX, 19),
    F("sse4.2", FEAT_1_ECX, 20), F("x2apic", FEAT_1_ECX, 21),
    F("movbe", FEAT_1_ECX, 22), F("popcnt", FEAT_1_ECX, 23),
    F("tsc-deadline", FEAT_1_ECX, 24), F("aes", FEAT_1_ECX, 25),
    F("xsave", FEAT_1_ECX, 26), F("avx", FEAT_1_ECX, 28),
    F("f16c", FEAT_1_ECX, 29), F("rdrand", FEAT_1_ECX, 30),
    F("hypervisor", FEAT_1_ECX, 31),

    F("arat", FEAT_6_EAX, 2),

    F("fsgsbase", FEAT_7_0_EBX, 0), F("tsc-adjust", FEAT_7_0_EBX, 1),
    F("bmi1", FEAT_7_0_EBX, 3), F("hle", FEAT_7_0_EBX, 4),
    F("avx2", FEAT_7_0_EBX, 5), F("smep", FEAT_7_0_EBX, 7),
    F("bmi2", FEAT_7_0_EBX, 8), F("erms", FEAT_7_0_EBX, 9),
    F("invpcid", FEAT_7_0_EBX, 10), F("rtm", FEAT_7_0_EBX, 11),
    F("mpx", FEAT_7_0_EBX, 14), F("avx512f", FEAT_7_0_EBX, 16),
    F("avx512dq", FEAT_7_0_EBX, 17), F("rdseed", FEAT_7_0_EBX, 18),
    F("adx", FEAT_7_0_EBX, 19), F("smap", FEAT_7_0_EBX, 20),
    F("avx512ifma", FEAT_7_0_EBX, 21), F("clflushopt", FEAT_7_0_EBX, 23),
    F("clwb", FEAT_7_0_EBX, 24), F("intel-pt", FEAT_7_0_EBX, 25),
    F("avx512pf", FEAT_7_0_EBX, 26), F("avx512er", FEAT_7_0_EBX, 27),
    F("avx512cd", FEAT_7_0_EBX, 28), F("sha-ni", FEAT_7_0_EBX, 29),
    F("avx512bw", FEAT_7_0_EBX, 30), F("avx512vl", FEAT_7_0_EBX, 31),

    F("avx512vbmi", FEAT_7_0_ECX, 1), F("umip", FEAT_7_0_ECX, 2),
    F("pku", FEAT_7_0_ECX, 3), F("waitpkg", FEAT_7_0_ECX, 5),
    F("avx512vbmi2", FEAT_7_0_ECX, 6), F("gfni", FEAT_7_0_ECX, 8),
    F("vaes", FEAT_7_0_ECX, 9), F("vpclmulqdq", FEAT_7_0_ECX, 10),
    F("avx512vnni", FEAT_7_0_ECX, 11), F("avx512bitalg", FEAT_7_0_ECX, 12),
    F("avx512-vpopcntdq", FEAT_7_0_ECX, 14), F("la57", FEAT_7_0_ECX, 16),
    F("rdpid", FEAT_7_0_ECX, 22), F("bus-lock-detect", FEAT_7_0_ECX, 24),
    F("cldemote", FEAT_7_0_ECX, 25), F("movdiri", FEAT_7_0_ECX, 27),
    F("movdir64b", FEAT_7_0_ECX, 28), F("pks", FEAT_7_0_ECX, 31),

    F("avx512-4vnniw", FEAT_7_0_EDX, 2), F("avx512-4fmaps", FEAT_7_0_EDX, 3),
    F("fsrm", FEAT_7_0_EDX, 4), F("avx512-vp2intersect", FEAT_7_0_EDX, 8),
    F("md-clear", FEAT_7_0_EDX, 10), F("serialize", FEAT_7_0_EDX, 14),
    F("tsx-ldtrk", FEAT_7_0_EDX, 16), F("avx512-fp16", FEAT_7_0_EDX, 23),
    F("spec-ctrl", FEAT_7_0_EDX, 26), F("stibp", FEAT_7_0_EDX, 27),
    F("arch-capabilities", FEAT_7_0_EDX, 29),
    F("core-capability", FEAT_7_0_EDX, 30), F("ssbd", FEAT_7_0_EDX, 31),

    F("avx-vnni", FEAT_7_1_EAX, 4), F("avx512-bf16", FEAT_7_1_EAX, 5),

    F("xsaveopt", FEAT_XSAVE, 0), F("xsavec", FEAT_XSAVE, 1),
    F("xgetbv1", FEAT_XSAVE, 2), F("xsaves", FEAT_XSAVE, 3),

    /* kvmclock is both of KVM's clock source bits (old and new MSRs). */
    { "kvmclock", FEAT_KVM, (1u << 0) | (1u << 3) },
    F("kvm-nopiodelay", FEAT_KVM, 1), F("kvm-mmu", FEAT_KVM, 2),
    F("kvm-asyncpf", FEAT_KVM, 4), F("kvm-steal-time", FEAT_KVM, 5),
    F("kvm-pv-eoi", FEAT_KVM, 6), F("kvm-pv-unhalt", FEAT_KVM, 7),
    F("kvm-pv-tlb-flush", FEAT_KVM, 9), F("kvm-asyncpf-vmexit", FEAT_KVM, 10),
    F("kvm-pv-ipi", FEAT_KVM, 11), F("kvm-poll-control", FEAT_KVM, 12),
    F("kvm-pv-sched-yield", FEAT_KVM, 13), F("kvm-asyncpf-int", FEAT_KVM, 14),
    F("kvm-msi-ext-dest-id", FEAT_KVM, 15),
    F("kvmclock-stable-bit", FEAT_KVM, 24),

    F("syscall", FEAT_8000_0001_EDX, 11), F("nx", FEAT_8000_0001_EDX, 20),
    F("mmxext", FEAT_8000_0001_EDX, 22), F("fxsr-opt", FEAT_8000_0001_EDX, 25),
    F("pdpe1gb", FEAT_8000_0001_EDX, 26), F("rdtscp", FEAT_8000_0001_EDX, 27),
    F("lm", FEAT_8000_0001_EDX, 29), F("3dnowext", FEAT_8000_0001_EDX, 30),
    F("3dnow", FEAT_8000_0001_EDX, 31),

    F("lahf-lm", FEAT_8000_0001_ECX, 0), F("cmp-legacy", FEAT_8000_0001_ECX, 1),
    F("svm", FEAT_8000_0001_ECX, 2), F("extapic", FEAT_8000_0001_ECX, 3),
    F("cr8legacy", FEAT_8000_0001_ECX, 4), F("abm", FEAT_8000_0001_ECX, 5),
    F("sse4a", FEAT_8000_0001_ECX, 6), F("misalignsse", FEAT_8000_0001_ECX, 7),
    F("3dnowprefetch", FEAT_8000_0001_ECX, 8), F("osvw", FEAT_8000_0001_ECX, 9),
    F("ibs", FEAT_8000_0001_ECX, 10), F("xop", FEAT_8000_0001_ECX, 11),
    F("skinit", FEAT_8000_0001_ECX, 12), F("wdt", FEAT_8000_0001_ECX, 13),
    F("lwp", FEAT_8000_0001_ECX, 15), F("fma4", FEAT_8000_0001_ECX, 16),
    F("tce", FEAT_8000_0001_ECX, 17), F("nodeid-msr", FEAT_8000_0001_ECX, 19),
    F("tbm", FEAT_8000_0001_ECX, 21), F("topoext", FEAT_8000_0001_ECX, 22),
    F("perfctr-core", FEAT_8000_0001_ECX, 23),
    F("perfctr-nb", FEAT_8000_0001_ECX, 24),

    F("invtsc", FEAT_8000_0007_EDX, 8),

    F("clzero", FEAT_8000_0008_EBX, 0), F("xsaveerptr", FEAT_8000_0008_EBX, 2),
    F("wbnoinvd", FEAT_8000_0008_EBX, 9), F("ibpb", FEAT_8000_0008_EBX, 12),
    F("ibrs", FEAT_8000_0008_EBX, 14), F("amd-stibp", FEAT_8000_0008_EBX, 15),
    F("amd-ssbd", FEAT_8000_0008_EBX, 24), F("virt-ssbd", FEAT_8000_0008_EBX, 25),
    F("amd-no-ssb", FEAT_8000_0008_EBX, 26),
};
const size_t x86_features_count = G_N_ELEMENTS(x86_features);

#undef F

/* "sse4_1", "sse4-1", "lahf_lm" all name one feature: compare with '.'
 * and '_' read as '-'. */
static bool x86_name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = (*a == '_' || *a == '.') ? '-' : *a;
        char cb = (*b == '_' || *b == '.') ? '-' : *b;

        if (ca != cb) {
            return false;
        }
    }
    return !*a && !*b;
}

/* Other names QEMU accepts for a feature. */
static const struct { const char *alias, *name; } x86_feature_aliases[] = {
    { "sse3", "pni" },
    { "ds_cpl", "ds-cpl" },
    { "tsc_deadline", "tsc-deadline" },
    { "tsc_adjust", "tsc-adjust" },
    { "sha_ni", "sha-ni" },
    { "i64", "lm" },
    { "fxsr_opt", "fxsr-opt" },
    { "nrip_save", "nrip-save" },
    { "kvm_nopiodelay", "kvm-nopiodelay" },
    { "kvm_asyncpf", "kvm-asyncpf" },
    { "kvm_steal_time", "kvm-steal-time" },
    { "kvm_pv_eoi", "kvm-pv-eoi" },
    { "kvm_pv_unhalt", "kvm-pv-unhalt" },
};

const X86Feature *x86_feature_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(x86_feature_aliases); i++) {
        if (!strcmp(name, x86_feature_aliases[i].alias)) {
            name = x86_feature_aliases[i].name;
            break;
        }
    }
    for (size_t i = 0; i < x86_features_count; i++) {
        if (x86_name_eq(name, x86_features[i].name)) {
            return &x86_features[i];
        }
    }
    return NULL;
}

/* ---- the models ---- */

#define INTEL "GenuineIntel"
#define AMD "AuthenticAMD"

typedef struct X86ModelDef {
    const char *name;
    const char *parent;     /* inherits features and identity from it */
    const char *vendor;
    uint32_t family, model, stepping, level, xlevel;
    const char *model_id;
    const char *add;        /* space-separated feature names */
    const char *remove;
    const char *desc;
} X86ModelDef;

/* The x86-64 baseline every 64-bit model has. */
#define X86_64_BASE "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca " \
                    "cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm"

static const X86ModelDef x86_model_defs[] = {
    { "qemu64", NULL, AMD, 15, 107, 1, 0xd, 0x8000000a,
      "QEMU Virtual CPU version 2.5+",
      X86_64_BASE " pni cx16 lahf-lm svm", NULL,
      "QEMU Virtual CPU version 2.5+" },
    { "kvm64", NULL, INTEL, 15, 6, 1, 0xd, 0x80000008,
      "Common KVM processor", X86_64_BASE " pni cx16", NULL,
      "Common KVM processor" },
    { "Nehalem", NULL, INTEL, 6, 26, 3, 11, 0x80000008,
      "Intel Core i7 9xx (Nehalem Class Core i7)",
      X86_64_BASE " pni ssse3 cx16 sse4.1 sse4.2 popcnt lahf-lm", NULL,
      "Intel Core i7 9xx (Nehalem Class Core i7)" },
    { "Nehalem-IBRS", "Nehalem", .add = "spec-ctrl",
      .model_id = "Intel Core i7 9xx (Nehalem Core i7, IBRS update)" },
    { "Westmere", "Nehalem", INTEL, 6, 44, 1, 11, 0x80000008,
      "Westmere E56xx/L56xx/X56xx (Nehalem-C)", "aes pclmulqdq arat", NULL,
      "Westmere E56xx/L56xx/X56xx (Nehalem-C)" },
    { "Westmere-IBRS", "Westmere", .add = "spec-ctrl",
      .model_id = "Westmere E56xx/L56xx/X56xx (IBRS update)" },
    { "SandyBridge", "Westmere", INTEL, 6, 42, 1, 0xd, 0x80000008,
      "Intel Xeon E312xx (Sandy Bridge)",
      "x2apic tsc-deadline xsave avx rdtscp xsaveopt", NULL,
      "Intel Xeon E312xx (Sandy Bridge)" },
    { "SandyBridge-IBRS", "SandyBridge", .add = "spec-ctrl",
      .model_id = "Intel Xeon E312xx (Sandy Bridge, IBRS update)" },
    { "IvyBridge", "SandyBridge", INTEL, 6, 58, 9, 0xd, 0x80000008,
      "Intel Xeon E3-12xx v2 (Ivy Bridge)",
      "f16c rdrand fsgsbase smep erms", NULL,
      "Intel Xeon E3-12xx v2 (Ivy Bridge)" },
    { "IvyBridge-IBRS", "IvyBridge", .add = "spec-ctrl",
      .model_id = "Intel Xeon E3-12xx v2 (Ivy Bridge, IBRS)" },
    { "Haswell", "IvyBridge", INTEL, 6, 60, 4, 0xd, 0x80000008,
      "Intel Core Processor (Haswell)",
      "fma pcid movbe bmi1 hle avx2 bmi2 invpcid rtm abm", NULL,
      "Intel Core Processor (Haswell)" },
    { "Haswell-noTSX", "Haswell", .remove = "hle rtm",
      .model_id = "Intel Core Processor (Haswell, no TSX)" },
    { "Haswell-IBRS", "Haswell", .add = "spec-ctrl",
      .model_id = "Intel Core Processor (Haswell, IBRS)" },
    { "Haswell-noTSX-IBRS", "Haswell-IBRS", .remove = "hle rtm",
      .model_id = "Intel Core Processor (Haswell, no TSX, IBRS)" },
    { "Broadwell", "Haswell", INTEL, 6, 61, 2, 0xd, 0x80000008,
      "Intel Core Processor (Broadwell)", "rdseed adx smap 3dnowprefetch",
      NULL, "Intel Core Processor (Broadwell)" },
    { "Broadwell-noTSX", "Broadwell", .remove = "hle rtm",
      .model_id = "Intel Core Processor (Broadwell, no TSX)" },
    { "Broadwell-IBRS", "Broadwell", .add = "spec-ctrl",
      .model_id = "Intel Core Processor (Broadwell, IBRS)" },
    { "Broadwell-noTSX-IBRS", "Broadwell-IBRS", .remove = "hle rtm",
      .model_id = "Intel Core Processor (Broadwell, no TSX, IBRS)" },
    { "Skylake-Client", "Broadwell", INTEL, 6, 94, 3, 0xd, 0x80000008,
      "Intel Core Processor (Skylake)", "xsavec xgetbv1", NULL,
      "Intel Core Processor (Skylake)" },
    { "Skylake-Client-IBRS", "Skylake-Client", .add = "spec-ctrl",
      .model_id = "Intel Core Processor (Skylake, IBRS)" },
    { "Skylake-Client-noTSX-IBRS", "Skylake-Client-IBRS",
      .remove = "hle rtm",
      .model_id = "Intel Core Processor (Skylake, IBRS, no TSX)" },
    { "Skylake-Server", "Skylake-Client", INTEL, 6, 85, 4, 0xd, 0x80000008,
      "Intel Xeon Processor (Skylake)",
      "pdpe1gb clflushopt clwb avx512f avx512dq avx512cd avx512bw "
      "avx512vl pku", NULL, "Intel Xeon Processor (Skylake)" },
    { "Skylake-Server-IBRS", "Skylake-Server", .add = "spec-ctrl",
      .remove = "clflushopt",
      .model_id = "Intel Xeon Processor (Skylake, IBRS)" },
    { "Skylake-Server-noTSX-IBRS", "Skylake-Server-IBRS",
      .remove = "hle rtm",
      .model_id = "Intel Xeon Processor (Skylake, IBRS, no TSX)" },
    { "Cascadelake-Server", "Skylake-Server", INTEL, 6, 85, 6, 0xd,
      0x80000008, "Intel Xeon Processor (Cascadelake)",
      "avx512vnni spec-ctrl ssbd", NULL,
      "Intel Xeon Processor (Cascadelake)" },
    { "Cascadelake-Server-noTSX", "Cascadelake-Server",
      .add = "arch-capabilities", .remove = "hle rtm" },
    { "Icelake-Server", "Cascadelake-Server", INTEL, 6, 134, 0, 0xd,
      0x80000008, "Intel Xeon Processor (Icelake)",
      "avx512vbmi umip avx512vbmi2 gfni vaes vpclmulqdq avx512bitalg "
      "avx512-vpopcntdq la57 wbnoinvd", NULL,
      "Intel Xeon Processor (Icelake)" },
    { "Icelake-Server-noTSX", "Icelake-Server", .remove = "hle rtm" },
    { "EPYC", NULL, AMD, 23, 1, 2, 0xd, 0x8000001e,
      "AMD EPYC Processor",
      X86_64_BASE " pni pclmulqdq ssse3 fma cx16 sse4.1 sse4.2 movbe "
      "popcnt aes xsave avx f16c rdrand rdtscp pdpe1gb fxsr-opt mmxext "
      "lahf-lm svm cr8legacy abm sse4a misalignsse 3dnowprefetch osvw "
      "fsgsbase bmi1 avx2 smep bmi2 rdseed adx smap clflushopt sha-ni "
      "xsaveopt xsavec xgetbv1 arat topoext", NULL, "AMD EPYC Processor" },
    { "EPYC-IBPB", "EPYC", .add = "ibpb",
      .model_id = "AMD EPYC Processor (with IBPB)" },
    { "EPYC-Rome", "EPYC", AMD, 23, 49, 0, 0xd, 0x8000001e,
      "AMD EPYC-Rome Processor",
      "clwb umip rdpid clzero xsaveerptr wbnoinvd ibpb amd-stibp "
      "perfctr-core xsaves",
      NULL, "AMD EPYC-Rome Processor" },
    { "EPYC-Milan", "EPYC-Rome", AMD, 25, 1, 1, 0xd, 0x8000001e,
      "AMD EPYC-Milan Processor",
      "pcid erms invpcid pku fsrm amd-ssbd ibrs", NULL,
      "AMD EPYC-Milan Processor" },
};

/*
 * Under KVM every named model also gets these, as in QEMU: KVM's
 * paravirt clock and friends, x2APIC (emulated by KVM's in-kernel
 * APIC); never svm (no nested virtualization by default) nor monitor.
 */
static const char *const x86_kvm_default_on =
    "hypervisor kvmclock kvm-nopiodelay kvm-asyncpf kvm-steal-time "
    "kvm-pv-eoi kvmclock-stable-bit x2apic";
static const char *const x86_kvm_default_off = "svm monitor acpi";

static X86CPUModel *x86_models;
static size_t x86_models_count;

static void x86_feature_list_apply(X86FeatureSet fs, const char *list,
                                   bool on)
{
    g_auto(GStrv) names = g_strsplit(list ?: "", " ", -1);

    for (char **n = names; *n; n++) {
        const X86Feature *f;

        if (!**n) {
            continue;
        }
        f = x86_feature_find(*n);
        g_assert(f);        /* a typo in the table above */
        if (on) {
            fs[f->word] |= f->mask;
        } else {
            fs[f->word] &= ~f->mask;
        }
    }
}

static const X86ModelDef *x86_model_def_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(x86_model_defs); i++) {
        if (!strcmp(x86_model_defs[i].name, name)) {
            return &x86_model_defs[i];
        }
    }
    return NULL;
}

/* Resolves a definition: its parent's model, then its own changes. A
 * variant without its own vendor keeps its parent's identity. */
static void x86_model_resolve(const X86ModelDef *d, X86CPUModel *m)
{
    if (d->parent) {
        x86_model_resolve(x86_model_def_find(d->parent), m);
    }
    if (d->vendor) {
        m->vendor = d->vendor;
        m->family = d->family;
        m->model = d->model;
        m->stepping = d->stepping;
        m->level = d->level;
        m->xlevel = d->xlevel;
    }
    if (d->model_id) {
        m->model_id = d->model_id;
    }
    x86_feature_list_apply(m->features, d->add, true);
    x86_feature_list_apply(m->features, d->remove, false);
}

static void x86_models_init(void)
{
    size_t n = G_N_ELEMENTS(x86_model_defs);

    if (x86_models) {
        return;
    }
    x86_models = g_new0(X86CPUModel, n + 3);
    x86_models[0] = (X86CPUModel){
        .name = "host", .kind = X86_MODEL_HOST,
        .desc = "KVM processor with all supported host features",
    };
    x86_models[1] = (X86CPUModel){
        .name = "max", .kind = X86_MODEL_HOST,
        .desc = "Enables all features supported by the accelerator in the "
                "current host",
    };
    x86_models[2] = (X86CPUModel){
        .name = "base", .kind = X86_MODEL_BASE,
        .desc = "base CPU model type with no features enabled",
        .vendor = INTEL, .family = 6, .level = 0xd, .xlevel = 0x80000008,
        .model_id = "", .migration_safe = true,
    };
    for (size_t i = 0; i < n; i++) {
        X86CPUModel *m = &x86_models[3 + i];
        const X86ModelDef *d = &x86_model_defs[i];

        m->name = d->name;
        m->kind = X86_MODEL_NAMED;
        m->migration_safe = true;
        x86_model_resolve(d, m);
        m->desc = d->desc ?: m->model_id;
    }
    x86_models_count = n + 3;
}

const X86CPUModel *x86_cpu_models(size_t *count)
{
    x86_models_init();
    *count = x86_models_count;
    return x86_models;
}

const X86CPUModel *x86_cpu_model_find(const char *name)
{
    size_t n;
    const X86CPUModel *m = x86_cpu_models(&n);

    for (size_t i = 0; i < n; i++) {
        if (!strcmp(m[i].name, name)) {
            return &m[i];
        }
    }
    return NULL;
}

#define X86_CPU_TYPE_SUFFIX "-x86_64-cpu"

char *x86_cpu_type_name(const char *model)
{
    return g_strconcat(model, X86_CPU_TYPE_SUFFIX, NULL);
}

const X86CPUModel *x86_cpu_model_from_type(const char *type)
{
    g_autofree char *name = NULL;

    if (!g_str_has_suffix(type, X86_CPU_TYPE_SUFFIX)) {
        return NULL;
    }
    name = g_strndup(type, strlen(type) - strlen(X86_CPU_TYPE_SUFFIX));
    return x86_cpu_model_find(name);
}

/* ---- -cpu ---- */

void x86_cpu_config_init(X86CPUConfig *cfg, const X86CPUModel *model)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->model = model;
    cfg->check = true;
    cfg->kvm = true;
    cfg->pmu = model->kind == X86_MODEL_HOST;
    cfg->migratable = true;
    cfg->family = cfg->model_nr = cfg->stepping = -1;
    cfg->level = cfg->xlevel = -1;
}

void x86_cpu_config_clear(X86CPUConfig *cfg)
{
    g_free(cfg->model_id);
    cfg->model_id = NULL;
}

static void x86_cpu_config_feature(X86CPUConfig *cfg, const X86Feature *f,
                                   bool on)
{
    cfg->on[f->word] &= ~f->mask;
    cfg->off[f->word] &= ~f->mask;
    (on ? cfg->on : cfg->off)[f->word] |= f->mask;
}

/* The non-feature properties of the vCPU type, with their types as
 * qom-list shows them. */
typedef enum X86PropKind {
    X86_PROP_BOOL,
    X86_PROP_INT,
    X86_PROP_STR,
} X86PropKind;

static const struct {
    const char *name;
    X86PropKind kind;
} x86_cpu_props[] = {
    { "enforce", X86_PROP_BOOL }, { "check", X86_PROP_BOOL },
    { "kvm", X86_PROP_BOOL }, { "pmu", X86_PROP_BOOL },
    { "migratable", X86_PROP_BOOL }, { "vendor", X86_PROP_STR },
    { "model-id", X86_PROP_STR }, { "family", X86_PROP_INT },
    { "model", X86_PROP_INT }, { "stepping", X86_PROP_INT },
    { "level", X86_PROP_INT }, { "xlevel", X86_PROP_INT },
};

static bool x86_cpu_config_set_int(X86CPUConfig *cfg, const char *name,
                                   int64_t v, Error **errp)
{
    static const struct { const char *name; int64_t max; } limits[] = {
        { "family", 0xff + 0xf }, { "model", 0xff }, { "stepping", 0xf },
        { "level", 0xffffffff }, { "xlevel", 0xffffffff },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(limits); i++) {
        if (strcmp(name, limits[i].name)) {
            continue;
        }
        if (v < 0 || v > limits[i].max) {
            g_autofree char *type = x86_cpu_type_name(cfg->model->name);

            /* QEMU's text for an out-of-range CPU property. */
            error_setg(errp, "Property %s.%s doesn't take value %" PRId64
                       " (minimum: 0, maximum: %" PRId64 ")",
                       type, name, v, limits[i].max);
            return false;
        }
        *(!strcmp(name, "family") ? &cfg->family :
          !strcmp(name, "model") ? &cfg->model_nr :
          !strcmp(name, "stepping") ? &cfg->stepping :
          !strcmp(name, "level") ? &cfg->level : &cfg->xlevel) = v;
        return true;
    }
    g_assert_not_reached();
}

static bool x86_cpu_config_set_str(X86CPUConfig *cfg, const char *name,
                                   const char *v, Error **errp)
{
    if (!strcmp(name, "vendor")) {
        if (strlen(v) != 12) {
            g_autofree char *type = x86_cpu_type_name(cfg->model->name);

            error_setg(errp, "Property '%s.vendor' doesn't take value '%s'",
                       type, v);
            return false;
        }
        g_strlcpy(cfg->vendor, v, sizeof(cfg->vendor));
    } else {
        g_free(cfg->model_id);
        cfg->model_id = g_strndup(v, 48);
    }
    return true;
}

static void x86_cpu_config_set_bool(X86CPUConfig *cfg, const char *name,
                                    bool v)
{
    *(!strcmp(name, "enforce") ? &cfg->enforce :
      !strcmp(name, "check") ? &cfg->check :
      !strcmp(name, "kvm") ? &cfg->kvm :
      !strcmp(name, "pmu") ? &cfg->pmu : &cfg->migratable) = v;
}

static int x86_cpu_prop_index(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(x86_cpu_props); i++) {
        if (!strcmp(name, x86_cpu_props[i].name)) {
            return i;
        }
    }
    return -1;
}

static void x86_cpu_prop_not_found(const X86CPUConfig *cfg,
                                   const char *name, Error **errp)
{
    g_autofree char *type = x86_cpu_type_name(cfg->model->name);

    /* QEMU's text: -cpu properties are applied as globals of the type. */
    error_setg(errp, "Property '%s.%s' not found", type, name);
}

/* name=value from the command line (value as typed). */
static bool x86_cpu_config_set_text(X86CPUConfig *cfg, const char *name,
                                    const char *value, Error **errp)
{
    const X86Feature *f = x86_feature_find(name);
    int pi = x86_cpu_prop_index(name);
    bool b;

    if (f || (pi >= 0 && x86_cpu_props[pi].kind == X86_PROP_BOOL)) {
        if (!parse_bool(value, &b, NULL)) {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
            return false;
        }
        if (f) {
            x86_cpu_config_feature(cfg, f, b);
        } else {
            x86_cpu_config_set_bool(cfg, name, b);
        }
        return true;
    }
    if (pi < 0) {
        x86_cpu_prop_not_found(cfg, name, errp);
        return false;
    }
    if (x86_cpu_props[pi].kind == X86_PROP_INT) {
        uint64_t v;

        if (!parse_uint(value, &v, NULL) || v > INT64_MAX) {
            /* QEMU's text, naming the property's QAPI type. */
            error_setg(errp, "Parameter '%s' expects %s", name,
                       !strcmp(name, "level") || !strcmp(name, "xlevel") ?
                       "uint32" : "int64");
            return false;
        }
        return x86_cpu_config_set_int(cfg, name, v, errp);
    }
    return x86_cpu_config_set_str(cfg, name, value, errp);
}

bool x86_cpu_config_set_json(X86CPUConfig *cfg, const char *name,
                             json_object *value, Error **errp)
{
    const X86Feature *f = x86_feature_find(name);
    int pi = x86_cpu_prop_index(name);
    X86PropKind kind;

    if (!f && pi < 0) {
        x86_cpu_prop_not_found(cfg, name, errp);
        return false;
    }
    kind = f ? X86_PROP_BOOL : x86_cpu_props[pi].kind;
    switch (kind) {
    case X86_PROP_BOOL:
        if (!json_object_is_type(value, json_type_boolean)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "boolean", name);
            return false;
        }
        if (f) {
            x86_cpu_config_feature(cfg, f, json_object_get_boolean(value));
        } else {
            x86_cpu_config_set_bool(cfg, name,
                                    json_object_get_boolean(value));
        }
        return true;
    case X86_PROP_INT:
        if (!json_object_is_type(value, json_type_int)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "integer", name);
            return false;
        }
        return x86_cpu_config_set_int(cfg, name,
                                      json_object_get_int64(value), errp);
    case X86_PROP_STR:
        if (!json_object_is_type(value, json_type_string)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "string", name);
            return false;
        }
        return x86_cpu_config_set_str(cfg, name,
                                      json_object_get_string(value), errp);
    }
    g_assert_not_reached();
}

bool x86_cpu_config_parse(X86CPUConfig *cfg, const char *arg, Error **errp)
{
    ERRP_GUARD();
    g_auto(GStrv) parts = g_strsplit(arg, ",", -1);
    const X86CPUModel *model;
    X86FeatureSet minus = { 0 };

    memset(cfg, 0, sizeof(*cfg));
    model = parts[0] ? x86_cpu_model_find(parts[0]) : NULL;
    if (!model) {
        error_setg(errp, "unable to find CPU model '%s'", parts[0] ?: "");
        return false;
    }
    x86_cpu_config_init(cfg, model);
    for (char **p = parts + 1; *p; p++) {
        const char *eq = strchr(*p, '=');
        const X86Feature *f;

        if ((**p == '+' || **p == '-') && !eq) {
            f = x86_feature_find(*p + 1);
            if (!f) {
                /* QEMU 7.2's text for a +/- feature it does not know. */
                x86_cpu_prop_not_found(cfg, *p + 1, errp);
                return false;
            }
            x86_cpu_config_feature(cfg, f, **p == '+');
            if (**p == '-') {
                minus[f->word] |= f->mask;
            }
        } else if (**p) {
            /* A bare name is "name=on" (QEMU's legacy spelling). */
            g_autofree char *name = eq ? g_strndup(*p, eq - *p)
                                       : g_strdup(*p);

            if (!x86_cpu_config_set_text(cfg, name, eq ? eq + 1 : "on",
                                         errp)) {
                g_autofree char *type = x86_cpu_type_name(model->name);

                /* QEMU applies these as global properties of the type. */
                error_prepend(errp, "can't apply global %s.%s=%s: ", type,
                              name, eq ? eq + 1 : "on");
                return false;
            }
        }
    }
    /* "-feat" wins over "+feat" wherever they stand, as in QEMU. */
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        cfg->on[w] &= ~minus[w];
        cfg->off[w] |= minus[w];
    }
    return true;
}

/* ---- features against the host ---- */

static const struct kvm_cpuid_entry2 *
x86_cpuid_find(const struct kvm_cpuid2 *c, uint32_t leaf, int32_t subleaf)
{
    for (uint32_t i = 0; c && i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == leaf &&
            (subleaf < 0 || e->index == (uint32_t)subleaf)) {
            return e;
        }
    }
    return NULL;
}

static uint32_t *x86_cpuid_reg(struct kvm_cpuid_entry2 *e, unsigned reg)
{
    switch (reg) {
    case R_EAX:
        return &e->eax;
    case R_EBX:
        return &e->ebx;
    case R_ECX:
        return &e->ecx;
    default:
        return &e->edx;
    }
}

void x86_cpu_supported_features(const struct kvm_cpuid2 *sup,
                                X86FeatureSet out)
{
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        const X86FeatureWordInfo *wi = &x86_feature_words[w];
        const struct kvm_cpuid_entry2 *e = x86_cpuid_find(sup, wi->leaf,
                                                          wi->subleaf);
        struct kvm_cpuid_entry2 copy;

        out[w] = 0;
        if (e) {
            copy = *e;
            out[w] = *x86_cpuid_reg(&copy, wi->reg);
        }
    }
    out[FEAT_1_ECX] |= x86_feature_find("hypervisor")->mask;
}

void x86_cpu_requested_features(const X86CPUConfig *cfg,
                                const struct kvm_cpuid2 *sup,
                                X86FeatureSet out)
{
    const X86CPUModel *m = cfg->model;

    if (m->kind == X86_MODEL_HOST) {
        x86_cpu_supported_features(sup, out);
        if (cfg->migratable) {
            out[FEAT_8000_0007_EDX] &= ~x86_feature_find("invtsc")->mask;
        }
    } else {
        memcpy(out, m->features, sizeof(X86FeatureSet));
        if (m->kind == X86_MODEL_NAMED) {
            x86_feature_list_apply(out, x86_kvm_default_on, true);
            x86_feature_list_apply(out, x86_kvm_default_off, false);
        }
    }
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        out[w] = (out[w] | cfg->on[w]) & ~cfg->off[w];
    }
    if (!cfg->kvm) {
        out[FEAT_KVM] = 0;
    }
}

bool x86_cpu_filtered_features(const X86CPUConfig *cfg,
                               const struct kvm_cpuid2 *sup,
                               X86FeatureSet out)
{
    X86FeatureSet want, have;
    bool any = false;

    x86_cpu_requested_features(cfg, sup, want);
    x86_cpu_supported_features(sup, have);
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        out[w] = want[w] & ~have[w];
        any |= out[w] != 0;
    }
    return any;
}

char **x86_feature_set_names(const X86FeatureSet fs)
{
    GPtrArray *names = g_ptr_array_new();

    for (size_t i = 0; i < x86_features_count; i++) {
        const X86Feature *f = &x86_features[i];

        if (fs[f->word] & f->mask) {
            g_ptr_array_add(names, g_strdup(f->name));
        }
    }
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

static const char *const x86_reg_names[] = { "EAX", "EBX", "ECX", "EDX" };

/* QEMU's warning, one per missing feature. */
static void x86_cpu_warn_filtered(const X86FeatureSet filtered)
{
    for (size_t i = 0; i < x86_features_count; i++) {
        const X86Feature *f = &x86_features[i];
        const X86FeatureWordInfo *wi = &x86_feature_words[f->word];

        if (!(filtered[f->word] & f->mask)) {
            continue;
        }
        /* QEMU names the leaf only, not the subleaf. */
        warn_report("host doesn't support requested feature: "
                    "CPUID.%02XH:%s.%s [bit %d]", wi->leaf,
                    x86_reg_names[wi->reg], f->name,
                    __builtin_ctz(f->mask));
    }
}

/* ---- building CPUID ---- */

/* Leaves a named model keeps from the host (caches, topology, XSAVE
 * layout); the others (SGX, PT, AMX, ...) describe features no model
 * here has. */
static bool x86_named_keeps_leaf(uint32_t leaf)
{
    static const uint32_t basic[] = { 0x0, 0x1, 0x2, 0x4, 0x6, 0x7, 0xb,
                                      0xd };

    if (leaf >= 0x40000000 && leaf < 0x80000000) {
        return true;
    }
    if (leaf >= 0x80000000) {
        return leaf != 0x8000001f;      /* SEV */
    }
    for (size_t i = 0; i < G_N_ELEMENTS(basic); i++) {
        if (basic[i] == leaf) {
            return true;
        }
    }
    return false;
}

static struct kvm_cpuid_entry2 *x86_cpuid_get(GArray *t, uint32_t leaf,
                                              int32_t subleaf)
{
    struct kvm_cpuid_entry2 e = { .function = leaf };

    for (guint i = 0; i < t->len; i++) {
        struct kvm_cpuid_entry2 *x = &g_array_index(t, struct
                                                    kvm_cpuid_entry2, i);

        if (x->function == leaf &&
            (subleaf < 0 || x->index == (uint32_t)subleaf)) {
            return x;
        }
    }
    if (subleaf >= 0) {
        e.index = subleaf;
        e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    }
    g_array_append_val(t, e);
    return &g_array_index(t, struct kvm_cpuid_entry2, t->len - 1);
}

static void x86_cpuid_drop(GArray *t, bool (*drop)(const struct
                                                    kvm_cpuid_entry2 *e,
                                                    const void *opaque),
                           const void *opaque)
{
    for (guint i = t->len; i-- > 0;) {
        if (drop(&g_array_index(t, struct kvm_cpuid_entry2, i), opaque)) {
            g_array_remove_index(t, i);
        }
    }
}

typedef struct X86Levels {
    uint32_t level, xlevel;
    bool kvm, named, pmu;
    uint64_t xcr0;
} X86Levels;

static bool x86_drop_beyond(const struct kvm_cpuid_entry2 *e,
                            const void *opaque)
{
    const X86Levels *l = opaque;
    uint32_t f = e->function;

    if (f >= 0x40000000 && f < 0x80000000) {
        return !l->kvm;
    }
    if (l->named && !x86_named_keeps_leaf(f)) {
        return true;
    }
    if (f == 0xa && !l->pmu) {
        return true;
    }
    /* XSAVE components the features leave out. */
    if (f == 0xd && e->index >= 2 && e->index < 64 &&
        !(l->xcr0 & (1ull << e->index))) {
        return true;
    }
    return f >= 0x80000000 ? f > l->xlevel : f > l->level;
}

static void x86_cpuid_set_vendor(GArray *t, uint32_t leaf,
                                 const char *vendor)
{
    struct kvm_cpuid_entry2 *e = x86_cpuid_get(t, leaf, -1);

    memcpy(&e->ebx, vendor, 4);
    memcpy(&e->edx, vendor + 4, 4);
    memcpy(&e->ecx, vendor + 8, 4);
}

static void x86_cpuid_set_brand(GArray *t, const char *id)
{
    char brand[48] = { 0 };

    strncpy(brand, id, sizeof(brand) - 1);
    for (unsigned i = 0; i < 3; i++) {
        struct kvm_cpuid_entry2 *e = x86_cpuid_get(t, 0x80000002 + i, -1);

        memcpy(&e->eax, brand + 16 * i, 4);
        memcpy(&e->ebx, brand + 16 * i + 4, 4);
        memcpy(&e->ecx, brand + 16 * i + 8, 4);
        memcpy(&e->edx, brand + 16 * i + 12, 4);
    }
}

/* Family/model/stepping as CPUID.01H:EAX encodes them. */
static uint32_t x86_signature(uint32_t family, uint32_t model,
                              uint32_t stepping)
{
    uint32_t eax = stepping & 0xf;

    eax |= (model & 0xf) << 4 | ((model >> 4) & 0xf) << 16;
    if (family > 0xf) {
        eax |= 0xf << 8 | ((family - 0xf) & 0xff) << 20;
    } else {
        eax |= family << 8;
    }
    return eax;
}

/* The XCR0 components the features allow: x87 and SSE always, AVX with
 * avx, MPX with mpx, the AVX-512 states with avx512f, PKRU with pku. */
static uint64_t x86_xcr0_allowed(const X86FeatureSet fs)
{
    uint64_t x = 0x3;

    if (fs[FEAT_1_ECX] & x86_feature_find("avx")->mask) {
        x |= 1ull << 2;
    }
    if (fs[FEAT_7_0_EBX] & x86_feature_find("mpx")->mask) {
        x |= 3ull << 3;
    }
    if (fs[FEAT_7_0_EBX] & x86_feature_find("avx512f")->mask) {
        x |= 7ull << 5;
    }
    if (fs[FEAT_7_0_ECX] & x86_feature_find("pku")->mask) {
        x |= 1ull << 9;
    }
    return x;
}

static void x86_cpuid_fix_xsave(GArray *t, uint64_t xcr0, bool xsave)
{
    struct kvm_cpuid_entry2 *e0 = x86_cpuid_get(t, 0xd, 0);
    struct kvm_cpuid_entry2 *e1 = x86_cpuid_get(t, 0xd, 1);
    uint64_t mask = ((uint64_t)e0->edx << 32 | e0->eax) & xcr0;
    uint32_t max = 512 + 64;

    if (!xsave) {
        mask = 0;
    }
    e0->eax = mask;
    e0->edx = mask >> 32;
    for (guint i = 0; i < t->len; i++) {
        struct kvm_cpuid_entry2 *e = &g_array_index(t, struct
                                                    kvm_cpuid_entry2, i);

        if (e->function == 0xd && e->index >= 2 && e->index < 64 &&
            (mask & (1ull << e->index))) {
            max = MAX(max, e->ebx + e->eax);
        }
    }
    e0->ecx = mask ? max : 0;
    /* Supervisor states (IA32_XSS) belong to features no model has. */
    e1->ecx = e1->edx = 0;
}

struct kvm_cpuid2 *x86_cpu_build_cpuid(const X86CPUConfig *cfg,
                                       const struct kvm_cpuid2 *sup,
                                       X86FeatureSet final, Error **errp)
{
    const X86CPUModel *m = cfg->model;
    bool host = m->kind == X86_MODEL_HOST;
    g_autoptr(GArray) t = g_array_new(FALSE, TRUE,
                                      sizeof(struct kvm_cpuid_entry2));
    X86FeatureSet want, filtered;
    X86Levels lv = { .kvm = cfg->kvm, .named = !host, .pmu = cfg->pmu };
    const struct kvm_cpuid_entry2 *h0 = x86_cpuid_find(sup, 0, -1);
    const struct kvm_cpuid_entry2 *h8 = x86_cpuid_find(sup, 0x80000000, -1);
    struct kvm_cpuid2 *out;

    x86_cpu_requested_features(cfg, sup, want);
    if (x86_cpu_filtered_features(cfg, sup, filtered)) {
        if (cfg->check || cfg->enforce) {
            x86_cpu_warn_filtered(filtered);
        }
        if (cfg->enforce) {
            error_setg(errp, "Host doesn't support requested features");
            return NULL;
        }
    }
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        final[w] = want[w] & ~filtered[w];
    }

    g_array_append_vals(t, sup->entries, sup->nent);
    lv.level = cfg->level >= 0 ? cfg->level :
               host ? (h0 ? h0->eax : 0) : m->level;
    lv.xlevel = cfg->xlevel >= 0 ? cfg->xlevel :
                host ? (h8 ? h8->eax : 0x80000000) : m->xlevel;
    lv.xcr0 = x86_xcr0_allowed(final);
    /* The leaves a feature word lives in exist whatever the host has. */
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        const X86FeatureWordInfo *wi = &x86_feature_words[w];

        if (final[w]) {
            x86_cpuid_get(t, wi->leaf, wi->subleaf);
        }
    }
    if (!host) {
        /* A named model's leaves 06H and 80000007H say only its
         * features (no host power management). */
        memset(&x86_cpuid_get(t, 0x6, -1)->eax, 0, 16);
        memset(&x86_cpuid_get(t, 0x80000007, -1)->eax, 0, 16);
    }
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        const X86FeatureWordInfo *wi = &x86_feature_words[w];

        for (guint i = 0; i < t->len; i++) {
            struct kvm_cpuid_entry2 *x = &g_array_index(
                t, struct kvm_cpuid_entry2, i);

            if (x->function == wi->leaf &&
                (wi->subleaf < 0 || x->index == (uint32_t)wi->subleaf)) {
                *x86_cpuid_reg(x, wi->reg) = final[w];
            }
        }
    }
    if (!host || cfg->vendor[0]) {
        const char *vendor = cfg->vendor[0] ? cfg->vendor : m->vendor;

        x86_cpuid_set_vendor(t, 0, vendor);
        x86_cpuid_set_vendor(t, 0x80000000, vendor);
    }
    x86_cpuid_get(t, 0, -1)->eax = lv.level;
    x86_cpuid_get(t, 0x80000000, -1)->eax = lv.xlevel;
    if (!host || cfg->family >= 0 || cfg->model_nr >= 0 ||
        cfg->stepping >= 0) {
        struct kvm_cpuid_entry2 *e1 = x86_cpuid_get(t, 1, -1);
        uint32_t hfam = ((e1->eax >> 8) & 0xf) + ((e1->eax >> 20) & 0xff);
        uint32_t hmod = ((e1->eax >> 4) & 0xf) | ((e1->eax >> 12) & 0xf0);

        e1->eax = x86_signature(
            cfg->family >= 0 ? cfg->family : host ? hfam : m->family,
            cfg->model_nr >= 0 ? cfg->model_nr : host ? hmod : m->model,
            cfg->stepping >= 0 ? cfg->stepping :
            host ? (e1->eax & 0xf) : m->stepping);
    }
    if ((cfg->model_id || (!host && m->model_id)) &&
        lv.xlevel >= 0x80000004) {
        x86_cpuid_set_brand(t, cfg->model_id ?: m->model_id);
    }
    if (final[FEAT_7_1_EAX]) {
        struct kvm_cpuid_entry2 *e7 = x86_cpuid_get(t, 7, 0);

        e7->eax = MAX(e7->eax, 1);
    }
    x86_cpuid_fix_xsave(t, lv.xcr0,
                        final[FEAT_1_ECX] & x86_feature_find("xsave")->mask);
    x86_cpuid_drop(t, x86_drop_beyond, &lv);

    out = g_malloc0(sizeof(*out) + t->len * sizeof(out->entries[0]));
    out->nent = t->len;
    memcpy(out->entries, t->data, t->len * sizeof(out->entries[0]));
    return out;
}

/* ---- -cpu help ---- */

char *x86_cpu_help(void)
{
    GString *s = g_string_new("Available CPUs:\n");
    size_t n;
    const X86CPUModel *m = x86_cpu_models(&n);

    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(s, "x86 %-26s %s\n", m[i].name, m[i].desc);
    }
    g_string_append(s, "\nRecognized CPUID flags:\n");
    for (size_t i = 0; i < x86_features_count; i++) {
        g_string_append_printf(s, "%s%s", i % 8 ? " " : "  ",
                               x86_features[i].name);
        if (i % 8 == 7 || i + 1 == x86_features_count) {
            g_string_append_c(s, '\n');
        }
    }
    return g_string_free(s, FALSE);
}
