/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The x86 CPU models in-process, against a made-up host (no /dev/kvm):
 * the model table, feature spellings, the -cpu parser and its errors,
 * the CPUID a model becomes (identity, features, filtered features,
 * enforce, kvmclock, leaves left out, XSAVE components), and the vCPU
 * properties qom-get reads.
 */
#include <string.h>
#include "target/i386/cpu-models.h"

/* A Skylake-like Intel host without AVX-512 and TSX, with SGX (leaf
 * 12H) and KVM's leaves; tsc-deadline as cpuid.c adds it (KVM reports
 * it as a capability). */
static const char *const host_features =
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat "
    "pse36 clflush mmx fxsr sse sse2 ss pni pclmulqdq ssse3 fma cx16 pcid "
    "sse4.1 sse4.2 x2apic tsc-deadline movbe popcnt aes xsave avx f16c rdrand "
    "arat fsgsbase tsc-adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx "
    "smap clflushopt spec-ctrl stibp ssbd md-clear xsaveopt xsavec "
    "xgetbv1 kvmclock kvm-nopiodelay kvm-asyncpf kvm-steal-time kvm-pv-eoi "
    "kvm-pv-unhalt kvmclock-stable-bit syscall nx pdpe1gb rdtscp lm "
    "lahf-lm abm 3dnowprefetch invtsc";

static void put(struct kvm_cpuid2 *c, uint32_t leaf, int32_t sub,
                uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    c->entries[c->nent++] = (struct kvm_cpuid_entry2){
        .function = leaf, .index = sub < 0 ? 0 : sub,
        .flags = sub < 0 ? 0 : KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
        .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
    };
}

static struct kvm_cpuid_entry2 *entry(const struct kvm_cpuid2 *c,
                                      uint32_t leaf, uint32_t sub)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        if (c->entries[i].function == leaf && c->entries[i].index == sub) {
            return (struct kvm_cpuid_entry2 *)&c->entries[i];
        }
    }
    return NULL;
}

static struct kvm_cpuid2 *fake_host(void)
{
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + 64 * sizeof(c->entries[0]));
    g_auto(GStrv) names = g_strsplit(host_features, " ", -1);

    put(c, 0, -1, 0x16, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
    put(c, 1, -1, 0x50654, 0, 0, 0);
    put(c, 4, 0, 0x121, 0x1c0003f, 0x3f, 0);
    put(c, 6, -1, 0x77, 0, 0, 0);
    put(c, 7, 0, 0, 0, 0, 0);
    put(c, 0xa, -1, 0x7300404, 0, 0, 0x603);
    put(c, 0xd, 0, 0x7, 0x340, 0x340, 0);
    put(c, 0xd, 1, 0, 0, 0x100, 0);          /* IA32_XSS: PT */
    put(c, 0xd, 2, 256, 576, 0, 0);
    put(c, 0x12, 0, 1, 0, 0, 0);            /* SGX */
    put(c, 0x40000000, -1, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
    put(c, 0x40000001, -1, 0, 0, 0, 0);
    put(c, 0x80000000, -1, 0x80000008, 0, 0, 0);
    put(c, 0x80000001, -1, 0, 0, 0, 0);
    put(c, 0x80000007, -1, 0, 0, 0, 0);
    put(c, 0x80000008, -1, 0x3027, 0, 0, 0);
    for (char **n = names; *n; n++) {
        const X86Feature *f = x86_feature_find(*n);
        const X86FeatureWordInfo *wi = &x86_feature_words[f->word];
        struct kvm_cpuid_entry2 *e = entry(c, wi->leaf,
                                           wi->subleaf < 0 ? 0 : wi->subleaf);
        uint32_t *regs[] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

        *regs[wi->reg] |= f->mask;
    }
    return c;
}

static bool has(const X86FeatureSet fs, const char *name)
{
    const X86Feature *f = x86_feature_find(name);

    g_assert_nonnull(f);
    return (fs[f->word] & f->mask) == f->mask;
}

static bool reg_has(const struct kvm_cpuid2 *c, const char *name)
{
    const X86Feature *f = x86_feature_find(name);
    const X86FeatureWordInfo *wi = &x86_feature_words[f->word];
    struct kvm_cpuid_entry2 *e = entry(c, wi->leaf,
                                       wi->subleaf < 0 ? 0 : wi->subleaf);
    uint32_t regs[4];

    if (!e) {
        return false;
    }
    regs[0] = e->eax;
    regs[1] = e->ebx;
    regs[2] = e->ecx;
    regs[3] = e->edx;
    return (regs[wi->reg] & f->mask) == f->mask;
}

static void parse_ok(X86CPUConfig *cfg, const char *arg)
{
    Error *err = NULL;

    if (!x86_cpu_config_parse(cfg, arg, &err)) {
        g_error("-cpu %s: %s", arg, error_get_pretty(err));
    }
}

static char *parse_error(const char *arg)
{
    X86CPUConfig cfg;
    Error *err = NULL;
    char *msg;

    g_assert_false(x86_cpu_config_parse(&cfg, arg, &err));
    msg = g_strdup(error_get_pretty(err));
    error_free(err);
    x86_cpu_config_clear(&cfg);
    return msg;
}

static struct kvm_cpuid2 *build(const char *arg, X86FeatureSet final,
                                Error **errp)
{
    g_autofree struct kvm_cpuid2 *host = fake_host();
    X86CPUConfig cfg;
    struct kvm_cpuid2 *c;

    parse_ok(&cfg, arg);
    cfg.check = false;          /* keep the test output quiet */
    c = x86_cpu_build_cpuid(&cfg, host, final, errp);
    x86_cpu_config_clear(&cfg);
    return c;
}

/* ---- the table ---- */

static void test_model_table(void)
{
    static const char *const wanted[] = {
        "host", "max", "qemu64", "kvm64", "Nehalem", "Westmere",
        "SandyBridge", "IvyBridge", "Haswell", "Haswell-noTSX",
        "Haswell-IBRS", "Haswell-noTSX-IBRS", "Broadwell",
        "Broadwell-noTSX-IBRS", "Skylake-Client", "Skylake-Client-IBRS",
        "Skylake-Client-noTSX-IBRS", "Skylake-Server",
        "Skylake-Server-IBRS", "Skylake-Server-noTSX-IBRS",
        "Cascadelake-Server", "Cascadelake-Server-noTSX", "Icelake-Server",
        "Icelake-Server-noTSX", "EPYC", "EPYC-IBPB", "EPYC-Rome",
    };
    size_t n;
    const X86CPUModel *m = x86_cpu_models(&n);
    const X86CPUModel *h, *hn, *sk, *cl, *ep;

    for (size_t i = 0; i < G_N_ELEMENTS(wanted); i++) {
        g_assert_nonnull(x86_cpu_model_find(wanted[i]));
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            g_assert_cmpstr(m[i].name, !=, m[j].name);
        }
        if (m[i].kind == X86_MODEL_NAMED) {
            g_assert_cmpuint(strlen(m[i].vendor), ==, 12);
            g_assert_cmpuint(m[i].family, >, 0);
            g_assert_true(has(m[i].features, "lm"));
        }
    }
    g_assert_null(x86_cpu_model_find("Pentium9"));

    /* Variants are their parent plus or minus a few features. */
    h = x86_cpu_model_find("Haswell");
    hn = x86_cpu_model_find("Haswell-noTSX");
    g_assert_true(has(h->features, "hle") && has(h->features, "rtm"));
    g_assert_false(has(hn->features, "hle") || has(hn->features, "rtm"));
    g_assert_true(has(hn->features, "avx2"));
    g_assert_cmpuint(hn->model, ==, 60);
    g_assert_true(has(x86_cpu_model_find("Haswell-noTSX-IBRS")->features,
                      "spec-ctrl"));
    g_assert_false(has(h->features, "spec-ctrl"));
    sk = x86_cpu_model_find("Skylake-Server");
    g_assert_true(has(sk->features, "avx512f"));
    g_assert_false(has(x86_cpu_model_find("Skylake-Client")->features,
                       "avx512f"));
    cl = x86_cpu_model_find("Cascadelake-Server");
    g_assert_true(has(cl->features, "avx512vnni") &&
                  has(cl->features, "avx512f"));
    g_assert_cmpuint(cl->stepping, ==, 6);
    ep = x86_cpu_model_find("EPYC-Rome");
    g_assert_cmpstr(ep->vendor, ==, "AuthenticAMD");
    g_assert_cmpuint(ep->family, ==, 23);
    g_assert_true(has(ep->features, "sha-ni") && has(ep->features, "clzero"));
    g_assert_false(has(x86_cpu_model_find("qemu64")->features, "avx"));

    g_autofree char *t = x86_cpu_type_name("Haswell");
    g_assert_cmpstr(t, ==, "Haswell-x86_64-cpu");
    g_assert_true(x86_cpu_model_from_type(t) == h);
    g_assert_null(x86_cpu_model_from_type("Haswell"));
    g_assert_null(x86_cpu_model_from_type("nosuch-x86_64-cpu"));
}

static void test_feature_names(void)
{
    const X86Feature *f = x86_feature_find("sse4.1");

    g_assert_nonnull(f);
    g_assert_true(x86_feature_find("sse4_1") == f);
    g_assert_true(x86_feature_find("sse4-1") == f);
    g_assert_true(x86_feature_find("sse3") == x86_feature_find("pni"));
    g_assert_true(x86_feature_find("lahf_lm") == x86_feature_find("lahf-lm"));
    g_assert_null(x86_feature_find("sse4"));
    g_assert_null(x86_feature_find(""));
    /* Bits from the SDM: CPUID.01H:ECX.VMX[5], CPUID.07H:EBX.AVX2[5]. */
    f = x86_feature_find("vmx");
    g_assert_cmpint(f->word, ==, FEAT_1_ECX);
    g_assert_cmpuint(f->mask, ==, 1u << 5);
    f = x86_feature_find("avx2");
    g_assert_cmpint(f->word, ==, FEAT_7_0_EBX);
    g_assert_cmpuint(f->mask, ==, 1u << 5);
    g_assert_cmpuint(x86_feature_find("x2apic")->mask, ==, 1u << 21);
    g_assert_cmpuint(x86_feature_find("invtsc")->mask, ==, 1u << 8);
    g_assert_cmpuint(x86_feature_find("kvmclock")->mask, ==, 0x9);
    /* Names are unique. */
    for (size_t i = 0; i < x86_features_count; i++) {
        g_assert_true(x86_feature_find(x86_features[i].name) ==
                      &x86_features[i]);
    }
}

/* ---- -cpu ---- */

static void test_parse(void)
{
    X86CPUConfig cfg;
    const X86Feature *vmx = x86_feature_find("vmx");
    const X86Feature *avx2 = x86_feature_find("avx2");
    const X86Feature *pcid = x86_feature_find("pcid");
    const X86Feature *kc = x86_feature_find("kvmclock");

    parse_ok(&cfg, "Haswell,+vmx,-avx2,pcid=off,x2apic=on,kvmclock=off,"
                   "enforce,model-id=Test CPU,family=6,vendor=GenuineIotel");
    g_assert_cmpstr(cfg.model->name, ==, "Haswell");
    g_assert_true(cfg.on[vmx->word] & vmx->mask);
    g_assert_true(cfg.off[avx2->word] & avx2->mask);
    g_assert_true(cfg.off[pcid->word] & pcid->mask);
    g_assert_true(cfg.off[kc->word] & kc->mask);
    g_assert_true(cfg.enforce);
    g_assert_true(cfg.check);
    g_assert_cmpstr(cfg.model_id, ==, "Test CPU");
    g_assert_cmpint(cfg.family, ==, 6);
    g_assert_cmpstr(cfg.vendor, ==, "GenuineIotel");
    x86_cpu_config_clear(&cfg);

    /* -feat wins over +feat whatever the order; feat=on after -feat
     * does not. A bare name is "=on". */
    parse_ok(&cfg, "qemu64,-sse4.1,+sse4_1,vmx");
    g_assert_false(cfg.on[FEAT_1_ECX] & x86_feature_find("sse4.1")->mask);
    g_assert_true(cfg.off[FEAT_1_ECX] & x86_feature_find("sse4.1")->mask);
    g_assert_true(cfg.on[vmx->word] & vmx->mask);
    x86_cpu_config_clear(&cfg);
    parse_ok(&cfg, "qemu64,avx2=on,avx2=off");
    g_assert_true(cfg.off[avx2->word] & avx2->mask);
    g_assert_false(cfg.on[avx2->word] & avx2->mask);
    x86_cpu_config_clear(&cfg);
    parse_ok(&cfg, "host,migratable=on,check=off,pmu=off,kvm=off");
    g_assert_true(cfg.migratable && !cfg.check && !cfg.pmu && !cfg.kvm);
    x86_cpu_config_clear(&cfg);
}

static void test_parse_errors(void)
{
    /* Debian's QEMU 7.2 gives these very texts. */
    static const struct { const char *arg, *msg; } cases[] = {
        { "nosuch", "unable to find CPU model 'nosuch'" },
        { "", "unable to find CPU model ''" },
        { "Haswell,+nosuch", "Property 'Haswell-x86_64-cpu.nosuch' not found" },
        { "Haswell,-nosuch", "Property 'Haswell-x86_64-cpu.nosuch' not found" },
        { "Haswell,avx2=maybe", "can't apply global Haswell-x86_64-cpu."
          "avx2=maybe: Parameter 'avx2' expects 'on' or 'off'" },
        { "Haswell,nosuch=on", "can't apply global Haswell-x86_64-cpu."
          "nosuch=on: Property 'Haswell-x86_64-cpu.nosuch' not found" },
        { "Haswell,nosuch", "can't apply global Haswell-x86_64-cpu."
          "nosuch=on: Property 'Haswell-x86_64-cpu.nosuch' not found" },
        { "Haswell,family=999", "can't apply global Haswell-x86_64-cpu."
          "family=999: Property Haswell-x86_64-cpu.family doesn't take "
          "value 999 (minimum: 0, maximum: 270)" },
        { "Haswell,stepping=x", "can't apply global Haswell-x86_64-cpu."
          "stepping=x: Parameter 'stepping' expects int64" },
        { "Haswell,level=x", "can't apply global Haswell-x86_64-cpu."
          "level=x: Parameter 'level' expects uint32" },
        { "Haswell,vendor=Intel", "can't apply global Haswell-x86_64-cpu."
          "vendor=Intel: Property 'Haswell-x86_64-cpu.vendor' doesn't take "
          "value 'Intel'" },
        { "Haswell,enforce=yes-please", "can't apply global "
          "Haswell-x86_64-cpu.enforce=yes-please: Parameter 'enforce' "
          "expects 'on' or 'off'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = parse_error(cases[i].arg);

        g_assert_cmpstr(msg, ==, cases[i].msg);
    }
}

/* ---- CPUID ---- */

static void test_named_model_cpuid(void)
{
    X86FeatureSet final, filtered;
    g_autofree struct kvm_cpuid2 *host = fake_host();
    g_autofree struct kvm_cpuid2 *c = build("Haswell", final, &error_abort);
    struct kvm_cpuid_entry2 *e;
    X86CPUConfig cfg;
    char vendor[13] = { 0 }, brand[49] = { 0 };

    /* Identity: the model's, not the host's. */
    e = entry(c, 0, 0);
    g_assert_cmpuint(e->eax, ==, 0xd);
    memcpy(vendor, &e->ebx, 4);
    memcpy(vendor + 4, &e->edx, 4);
    memcpy(vendor + 8, &e->ecx, 4);
    g_assert_cmpstr(vendor, ==, "GenuineIntel");
    g_assert_cmpuint(entry(c, 1, 0)->eax, ==, 0x306c4);     /* 6/60/4 */
    for (unsigned i = 0; i < 3; i++) {
        e = entry(c, 0x80000002 + i, 0);
        g_assert_nonnull(e);
        memcpy(brand + 16 * i, &e->eax, 16);
    }
    g_assert_cmpstr(brand, ==, "Intel Core Processor (Haswell)");

    /* Features: the model's and KVM's defaults, less the host's gaps. */
    g_assert_true(reg_has(c, "avx2") && reg_has(c, "pcid") &&
                  reg_has(c, "hypervisor") && reg_has(c, "x2apic") &&
                  reg_has(c, "kvmclock") && reg_has(c, "abm"));
    g_assert_false(reg_has(c, "hle") || reg_has(c, "rtm"));
    g_assert_false(reg_has(c, "adx"));      /* Broadwell's, not Haswell's */
    g_assert_false(reg_has(c, "ss"));       /* the host's, not the model's */
    g_assert_false(reg_has(c, "invtsc"));
    g_assert_true(reg_has(c, "arat"));
    g_assert_true(has(final, "avx2") && !has(final, "hle"));
    parse_ok(&cfg, "Haswell");
    g_assert_true(x86_cpu_filtered_features(&cfg, host, filtered));
    {
        g_auto(GStrv) names = x86_feature_set_names(filtered);

        g_assert_cmpuint(g_strv_length(names), ==, 2);
        g_assert_cmpstr(names[0], ==, "hle");
        g_assert_cmpstr(names[1], ==, "rtm");
    }
    x86_cpu_config_clear(&cfg);

    /* Leaves a named model does not describe are gone; caches stay. */
    g_assert_null(entry(c, 0x12, 0));
    g_assert_null(entry(c, 0xa, 0));
    g_assert_nonnull(entry(c, 4, 0));
    /* No host power management in leaf 06H beyond ARAT. */
    g_assert_cmpuint(entry(c, 6, 0)->eax, ==, 1u << 2);
    /* XSAVE: x87, SSE, AVX; no supervisor states. */
    g_assert_cmpuint(entry(c, 0xd, 0)->eax, ==, 0x7);
    g_assert_cmpuint(entry(c, 0xd, 0)->ecx, ==, 0x340);
    g_assert_cmpuint(entry(c, 0xd, 1)->ecx, ==, 0);
    g_assert_true(reg_has(c, "xsaveopt"));
    g_assert_false(reg_has(c, "xsavec"));   /* Skylake's */
}

static void test_feature_changes(void)
{
    X86FeatureSet final;
    g_autofree struct kvm_cpuid2 *a = NULL, *b = NULL, *k = NULL, *d = NULL;

    a = build("Haswell,-avx,-avx2,+ss,kvmclock=off,-hypervisor", final,
              &error_abort);
    g_assert_false(reg_has(a, "avx") || reg_has(a, "avx2") ||
                   reg_has(a, "hypervisor"));
    g_assert_true(reg_has(a, "ss"));
    g_assert_false(reg_has(a, "kvmclock"));
    g_assert_true(reg_has(a, "kvm-steal-time"));
    /* Without AVX, no AVX state. */
    g_assert_cmpuint(entry(a, 0xd, 0)->eax, ==, 0x3);
    g_assert_null(entry(a, 0xd, 2));

    /* kvm=off hides KVM's leaves. */
    k = build("Haswell,kvm=off", final, &error_abort);
    g_assert_null(entry(k, 0x40000000, 0));
    g_assert_null(entry(k, 0x40000001, 0));

    /* Identity overrides. */
    b = build("qemu64,family=6,model=94,stepping=3,level=7,"
              "model-id=Custom", final, &error_abort);
    g_assert_cmpuint(entry(b, 1, 0)->eax, ==, 0x506e3);
    g_assert_cmpuint(entry(b, 0, 0)->eax, ==, 7);
    g_assert_null(entry(b, 0xd, 0));        /* beyond level 7 */
    g_assert_false(reg_has(b, "svm"));      /* KVM's default: off */

    /* An AMD model on this Intel host: the family above 0xf is encoded
     * in the extended family field. */
    d = build("EPYC-Rome", final, &error_abort);
    g_assert_cmpuint(entry(d, 1, 0)->eax, ==, 0x830f10);
}

static void test_enforce(void)
{
    X86FeatureSet final;
    Error *err = NULL;
    g_autofree struct kvm_cpuid2 *ok = NULL, *ok2 = NULL;

    g_assert_null(build("Haswell,enforce", final, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Host doesn't support requested features");
    error_free(err);
    err = NULL;
    ok = build("Haswell-noTSX,enforce", final, &error_abort);
    g_assert_nonnull(ok);
    g_assert_null(build("host,+avx512f,enforce", final, &err));
    error_free(err);
    err = NULL;
    ok2 = build("Haswell,-hle,-rtm,enforce", final, &error_abort);
    g_assert_nonnull(ok2);
}

static void test_host_model(void)
{
    X86FeatureSet final;
    g_autofree struct kvm_cpuid2 *h = build("host", final, &error_abort);
    g_autofree struct kvm_cpuid2 *i = build("host,+invtsc,pmu=off,-avx2",
                                            final, &error_abort);
    g_autofree struct kvm_cpuid2 *m = build("max,-hypervisor", final,
                                            &error_abort);

    /* Everything the host has, its identity, SGX leaf included. */
    g_assert_true(reg_has(h, "ss") && reg_has(h, "avx2") &&
                  reg_has(h, "hypervisor") && reg_has(h, "kvm-pv-unhalt"));
    g_assert_cmpuint(entry(h, 1, 0)->eax, ==, 0x50654);
    g_assert_cmpuint(entry(h, 0, 0)->eax, ==, 0x16);
    g_assert_nonnull(entry(h, 0x12, 0));
    g_assert_nonnull(entry(h, 0xa, 0));
    /* migratable (the default) leaves invtsc out unless asked for. */
    g_assert_false(reg_has(h, "invtsc"));
    g_assert_true(reg_has(i, "invtsc"));
    g_assert_false(reg_has(i, "avx2"));
    g_assert_null(entry(i, 0xa, 0));
    g_assert_false(reg_has(m, "hypervisor"));
    g_assert_true(reg_has(m, "avx2"));
}

static void test_vcpu_props(void)
{
    X86CPUConfig *cur = x86_cpu_current_config();
    g_autofree struct kvm_cpuid2 *host = fake_host();
    g_autofree struct kvm_cpuid2 *c = NULL;
    X86FeatureSet final, filtered;
    json_object *v, *w;
    bool seen_ecx = false;

    g_assert_cmpstr(cur->model->name, ==, "host");     /* the default */
    x86_cpu_config_clear(cur);
    parse_ok(cur, "Haswell,kvmclock=off");
    cur->check = false;
    c = x86_cpu_build_cpuid(cur, host, final, &error_abort);
    x86_cpu_filtered_features(cur, host, filtered);
    x86_cpu_set_current_features(final, filtered);

    v = x86_cpu_get_prop("avx2", 0);
    g_assert_true(json_object_get_boolean(v));
    json_object_put(v);
    v = x86_cpu_get_prop("hle", 0);
    g_assert_false(json_object_get_boolean(v));
    json_object_put(v);
    v = x86_cpu_get_prop("kvmclock", 0);
    g_assert_false(json_object_get_boolean(v));
    json_object_put(v);
    v = x86_cpu_get_prop("sse4_1", 0);
    g_assert_true(json_object_get_boolean(v));
    json_object_put(v);
    v = x86_cpu_get_prop("model-id", 0);
    g_assert_cmpstr(json_object_get_string(v), ==,
                    "Intel Core Processor (Haswell)");
    json_object_put(v);
    v = x86_cpu_get_prop("family", 0);
    g_assert_cmpint(json_object_get_int(v), ==, 6);
    json_object_put(v);
    v = x86_cpu_get_prop("unavailable-features", 0);
    g_assert_cmpstr(json_object_to_json_string(v), ==, "[ \"hle\", \"rtm\" ]");
    json_object_put(v);
    v = x86_cpu_get_prop("filtered-features", 0);
    g_assert_cmpuint(json_object_array_length(v), ==, FEAT_WORDS);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);

        if (json_object_get_int(json_object_object_get(e, "cpuid-input-eax"))
            == 7 && json_object_object_get(e, "cpuid-input-ecx") &&
            !strcmp(json_object_get_string(
                        json_object_object_get(e, "cpuid-register")),
                    "EBX") &&
            json_object_get_int(json_object_object_get(e, "cpuid-input-ecx"))
            == 0) {
            g_assert_cmpint(json_object_get_int64(
                                json_object_object_get(e, "features")), ==,
                            (1 << 4) | (1 << 11));
            seen_ecx = true;
        }
    }
    g_assert_true(seen_ecx);
    json_object_put(v);
    w = x86_cpu_get_prop("feature-words", 0);
    g_assert_cmpuint(json_object_array_length(w), ==, FEAT_WORDS);
    json_object_put(w);
    g_assert_null(x86_cpu_get_prop("nosuch", 0));
}

static void count_prop(const char *name, const char *type, void *opaque)
{
    unsigned *n = opaque;

    if (!strcmp(name, "avx2") || !strcmp(name, "feature-words") ||
        !strcmp(name, "unavailable-features")) {
        (*n)++;
    }
}

static void test_prop_list(void)
{
    unsigned n = 0;

    x86_cpu_foreach_prop(count_prop, &n);
    g_assert_cmpuint(n, ==, 3);
}

static void test_help(void)
{
    g_autofree char *help = x86_cpu_help();

    g_assert_nonnull(strstr(help, "x86 Skylake-Client-IBRS "));
    g_assert_nonnull(strstr(help, "x86 host "));
    g_assert_nonnull(strstr(help, " avx2"));
    g_assert_nonnull(strstr(help, " kvmclock"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cpu-models/table", test_model_table);
    g_test_add_func("/cpu-models/feature-names", test_feature_names);
    g_test_add_func("/cpu-models/parse", test_parse);
    g_test_add_func("/cpu-models/parse-errors", test_parse_errors);
    g_test_add_func("/cpu-models/named-cpuid", test_named_model_cpuid);
    g_test_add_func("/cpu-models/feature-changes", test_feature_changes);
    g_test_add_func("/cpu-models/enforce", test_enforce);
    g_test_add_func("/cpu-models/host", test_host_model);
    g_test_add_func("/cpu-models/vcpu-props", test_vcpu_props);
    g_test_add_func("/cpu-models/prop-list", test_prop_list);
    g_test_add_func("/cpu-models/help", test_help);
    return g_test_run();
}
