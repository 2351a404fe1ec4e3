/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x86 CPU models as QEMU names them (-cpu host, max, qemu64, kvm64,
 * Skylake-Client-IBRS, EPYC-Rome, ...), their features by QEMU's names,
 * and the CPUID a vCPU gets from a model and the host.
 *
 * A feature is one or more bits of a "feature word", one register of one
 * CPUID leaf (QEMU's FEAT_1_ECX and so on). A model is a vendor, a
 * family/model/stepping signature, the highest basic and extended
 * leaves, a brand string and a set of features. What a vCPU is given:
 *
 *   requested = model's features + -cpu +feat/feat=on - -feat/feat=off
 *   filtered  = requested - what KVM supports (KVM_GET_SUPPORTED_CPUID)
 *   CPUID     = requested - filtered, written into the host's leaves
 *
 * A filtered feature is a warning per feature (QEMU's text), and with
 * `enforce` an error: the VM does not start. `host` and `max` request
 * everything KVM supports. All of this is pure code over a supported-
 * CPUID table (the unit tests hand it a made-up host); cpuid.c feeds it
 * KVM's and installs the result.
 */
#ifndef TARGET_I386_CPU_MODELS_H
#define TARGET_I386_CPU_MODELS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "util/error.h"

typedef enum X86FeatureWord {
    FEAT_1_EDX,             /* CPUID.01H:EDX */
    FEAT_1_ECX,             /* CPUID.01H:ECX */
    FEAT_6_EAX,             /* CPUID.06H:EAX (thermal and power) */
    FEAT_7_0_EBX,           /* CPUID.(EAX=07H,ECX=0):EBX */
    FEAT_7_0_ECX,
    FEAT_7_0_EDX,
    FEAT_7_1_EAX,           /* CPUID.(EAX=07H,ECX=1):EAX */
    FEAT_XSAVE,             /* CPUID.(EAX=0DH,ECX=1):EAX */
    FEAT_KVM,               /* CPUID.40000001H:EAX, KVM's paravirt bits */
    FEAT_8000_0001_EDX,
    FEAT_8000_0001_ECX,
    FEAT_8000_0007_EDX,     /* invariant TSC */
    FEAT_8000_0008_EBX,     /* AMD speculation controls */
    FEAT_WORDS,
} X86FeatureWord;

typedef uint32_t X86FeatureSet[FEAT_WORDS];

/* Where a feature word lives in CPUID. */
typedef struct X86FeatureWordInfo {
    uint32_t leaf;
    int32_t subleaf;        /* -1: the leaf has no subleaves */
    unsigned reg;           /* 0 EAX, 1 EBX, 2 ECX, 3 EDX */
} X86FeatureWordInfo;

extern const X86FeatureWordInfo x86_feature_words[FEAT_WORDS];

typedef struct X86Feature {
    const char *name;       /* QEMU's canonical property name */
    X86FeatureWord word;
    uint32_t mask;          /* one bit, except kvmclock (two) */
} X86Feature;

/* Every feature we know, in feature-word and bit order. */
extern const X86Feature x86_features[];
extern const size_t x86_features_count;

/* By QEMU's name or any of its spellings ("sse4.1", "sse4_1", "sse4-1",
 * "sse3" for "pni", "lahf_lm"); NULL if unknown. */
const X86Feature *x86_feature_find(const char *name);

typedef enum X86ModelKind {
    X86_MODEL_NAMED,        /* a fixed set (qemu64, Skylake-Client, ...) */
    X86_MODEL_HOST,         /* everything KVM supports, host's identity */
    X86_MODEL_BASE,         /* QEMU's static "base": no features at all */
} X86ModelKind;

typedef struct X86CPUModel {
    const char *name;
    X86ModelKind kind;
    const char *vendor;     /* 12 characters; NULL: the host's */
    uint32_t family, model, stepping;
    uint32_t level, xlevel;
    const char *model_id;   /* brand string; NULL: the host's */
    X86FeatureSet features;
    bool migration_safe;
    const char *desc;       /* -cpu help */
} X86CPUModel;

/* The model table, built once from the compact definitions. */
const X86CPUModel *x86_cpu_models(size_t *count);
const X86CPUModel *x86_cpu_model_find(const char *name);

/* "Skylake-Client" -> "Skylake-Client-x86_64-cpu" (g_free it). */
char *x86_cpu_type_name(const char *model);
/* The reverse: the model behind a QOM type name, or NULL. */
const X86CPUModel *x86_cpu_model_from_type(const char *type);

/*
 * -cpu MODEL[,+feat][,-feat][,feat=on|off][,prop=value...], parsed. An
 * explicit choice overrides the model; a later one overrides an earlier
 * one, except that -feat wins over +feat, as in QEMU.
 */
typedef struct X86CPUConfig {
    const X86CPUModel *model;
    X86FeatureSet on, off;  /* explicit choices */
    bool enforce;           /* filtered features are an error */
    bool check;             /* filtered features are warned about */
    bool kvm;               /* the KVM signature leaves are there */
    bool pmu;               /* leaf 0AH (host and max: on) */
    bool migratable;        /* host/max: leave out invtsc unless asked */
    char vendor[13];        /* "" or an override */
    char *model_id;         /* NULL or an override */
    int64_t family, model_nr, stepping;     /* -1: the model's */
    int64_t level, xlevel;                  /* -1: the model's */
} X86CPUConfig;

void x86_cpu_config_init(X86CPUConfig *cfg, const X86CPUModel *model);
void x86_cpu_config_clear(X86CPUConfig *cfg);
/* Parses a whole -cpu argument ("help" is the caller's business). */
bool x86_cpu_config_parse(X86CPUConfig *cfg, const char *arg, Error **errp);
/* Sets one property as query-cpu-model-expansion's props give it. */
bool x86_cpu_config_set_json(X86CPUConfig *cfg, const char *name,
                             json_object *value, Error **errp);

/* What KVM (or a test) supports, as feature words. hypervisor is always
 * there: we set it ourselves. */
void x86_cpu_supported_features(const struct kvm_cpuid2 *sup,
                                X86FeatureSet out);

/* The features the config asks for, and the part of them sup lacks. */
void x86_cpu_requested_features(const X86CPUConfig *cfg,
                                const struct kvm_cpuid2 *sup,
                                X86FeatureSet out);
/* Returns true if anything was filtered. */
bool x86_cpu_filtered_features(const X86CPUConfig *cfg,
                               const struct kvm_cpuid2 *sup,
                               X86FeatureSet out);

/* The names of the features set in fs, in table order (g_strfreev). */
char **x86_feature_set_names(const X86FeatureSet fs);

/*
 * The CPUID table for a config on a host that supports sup (before the
 * per-vCPU topology fields, which cpuid.c fills in). Filtered features
 * are warned about (unless check=off) and, with enforce, fail with
 * QEMU's error. *final receives the features the guest gets.
 */
struct kvm_cpuid2 *x86_cpu_build_cpuid(const X86CPUConfig *cfg,
                                       const struct kvm_cpuid2 *sup,
                                       X86FeatureSet final, Error **errp);

/* QEMU's "-cpu help" text. */
char *x86_cpu_help(void);

/*
 * The -cpu of this process: what -cpu gave (host if none, Tandem's
 * default: see docs/compat.md), and once the vCPUs have CPUID, the
 * features they got.
 */
X86CPUConfig *x86_cpu_current_config(void);
bool x86_cpu_current_features(X86FeatureSet final, X86FeatureSet filtered);
void x86_cpu_set_current_features(const X86FeatureSet final,
                                  const X86FeatureSet filtered);

/* QOM-style properties of a vCPU (qom-list/qom-get on
 * /machine/unattached/device[N]) and of the CPU types
 * (qom-list-properties). fn(name, type, opaque) per property. */
void x86_cpu_foreach_prop(void (*fn)(const char *name, const char *type,
                                     void *opaque), void *opaque);
/* The value of one property of the current vCPUs; NULL if there is no
 * such property (the caller words the error). */
json_object *x86_cpu_get_prop(const char *name, unsigned cpu_index);

#endif
