/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The -cpu of this process and the vCPU properties QOM shows for it:
 * qom-list and qom-get on /machine/unattached/device[N] (libvirt reads
 * every feature's boolean, "feature-words", "filtered-features" and
 * "unavailable-features" after start to learn what the guest got), and
 * qom-list-properties on the NAME-x86_64-cpu types.
 *
 * All vCPUs share one -cpu, so one config and one feature set serve
 * them all; the set is recorded when CPUID is built (cpuid.c).
 */
#include <string.h>
#include "target/i386/cpu-models.h"

static X86CPUConfig x86_current;
static bool x86_current_set;
static X86FeatureSet x86_final, x86_filtered;
static bool x86_features_known;

X86CPUConfig *x86_cpu_current_config(void)
{
    if (!x86_current_set) {
        /* Tandem's default, "host" (see docs/compat.md). */
        x86_cpu_config_init(&x86_current, x86_cpu_model_find("host"));
        x86_current_set = true;
    }
    return &x86_current;
}

void x86_cpu_set_current_features(const X86FeatureSet final,
                                  const X86FeatureSet filtered)
{
    memcpy(x86_final, final, sizeof(x86_final));
    memcpy(x86_filtered, filtered, sizeof(x86_filtered));
    x86_features_known = true;
}

bool x86_cpu_current_features(X86FeatureSet final, X86FeatureSet filtered)
{
    if (!x86_features_known) {
        return false;
    }
    memcpy(final, x86_final, sizeof(x86_final));
    memcpy(filtered, x86_filtered, sizeof(x86_filtered));
    return true;
}

/* ---- properties ---- */

/* The non-feature properties, with the types qom-list shows. */
static const struct {
    const char *name;
    const char *type;
} x86_cpu_qom_props[] = {
    { "family", "int" }, { "model", "int" }, { "stepping", "int" },
    { "level", "uint32" }, { "xlevel", "uint32" },
    { "vendor", "string" }, { "model-id", "string" },
    { "enforce", "bool" }, { "check", "bool" }, { "kvm", "bool" },
    { "pmu", "bool" }, { "migratable", "bool" },
    { "feature-words", "X86CPUFeatureWordInfo" },
    { "filtered-features", "X86CPUFeatureWordInfo" },
    { "unavailable-features", "strList" },
};

void x86_cpu_foreach_prop(void (*fn)(const char *name, const char *type,
                                     void *opaque), void *opaque)
{
    for (size_t i = 0; i < G_N_ELEMENTS(x86_cpu_qom_props); i++) {
        fn(x86_cpu_qom_props[i].name, x86_cpu_qom_props[i].type, opaque);
    }
    for (size_t i = 0; i < x86_features_count; i++) {
        fn(x86_features[i].name, "bool", opaque);
    }
}

static const char *const x86_reg_names[] = { "EAX", "EBX", "ECX", "EDX" };

/* QEMU's X86CPUFeatureWordInfo list: one entry per feature word. */
static json_object *x86_feature_words_json(const X86FeatureSet fs)
{
    json_object *list = json_object_new_array();

    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        const X86FeatureWordInfo *wi = &x86_feature_words[w];
        json_object *e = json_object_new_object();

        json_object_object_add(e, "cpuid-input-eax",
                               json_object_new_int64(wi->leaf));
        if (wi->subleaf >= 0) {
            json_object_object_add(e, "cpuid-input-ecx",
                                   json_object_new_int64(wi->subleaf));
        }
        json_object_object_add(e, "cpuid-register",
                               json_object_new_string(
                                   x86_reg_names[wi->reg]));
        json_object_object_add(e, "features", json_object_new_int64(fs[w]));
        json_object_array_add(list, e);
    }
    return list;
}

/* The identity the guest sees: an override, else the model's; for
 * host and max the host's, which only CPUID holds (not read back). */
static json_object *x86_cpu_identity_json(const X86CPUConfig *cfg,
                                          const char *name)
{
    const X86CPUModel *m = cfg->model;
    bool host = m->kind == X86_MODEL_HOST;

    if (!strcmp(name, "vendor")) {
        return json_object_new_string(cfg->vendor[0] ? cfg->vendor :
                                      m->vendor ?: "");
    }
    if (!strcmp(name, "model-id")) {
        return json_object_new_string(cfg->model_id ?: m->model_id ?: "");
    }
    if (!strcmp(name, "family")) {
        return json_object_new_int64(cfg->family >= 0 ? cfg->family :
                                     host ? 0 : m->family);
    }
    if (!strcmp(name, "model")) {
        return json_object_new_int64(cfg->model_nr >= 0 ? cfg->model_nr :
                                     host ? 0 : m->model);
    }
    if (!strcmp(name, "stepping")) {
        return json_object_new_int64(cfg->stepping >= 0 ? cfg->stepping :
                                     host ? 0 : m->stepping);
    }
    if (!strcmp(name, "level")) {
        return json_object_new_int64(cfg->level >= 0 ? cfg->level :
                                     m->level);
    }
    if (!strcmp(name, "xlevel")) {
        return json_object_new_int64(cfg->xlevel >= 0 ? cfg->xlevel :
                                     m->xlevel);
    }
    return NULL;
}

json_object *x86_cpu_get_prop(const char *name, unsigned cpu_index)
{
    const X86CPUConfig *cfg = x86_cpu_current_config();
    X86FeatureSet final = { 0 }, filtered = { 0 };
    const X86Feature *f;
    json_object *v;

    (void)cpu_index;        /* one -cpu for all vCPUs */
    x86_cpu_current_features(final, filtered);
    f = x86_feature_find(name);
    if (f) {
        return json_object_new_boolean((final[f->word] & f->mask) != 0);
    }
    if (!strcmp(name, "feature-words")) {
        return x86_feature_words_json(final);
    }
    if (!strcmp(name, "filtered-features")) {
        return x86_feature_words_json(filtered);
    }
    if (!strcmp(name, "unavailable-features")) {
        g_auto(GStrv) names = x86_feature_set_names(filtered);
        json_object *list = json_object_new_array();

        for (char **n = names; *n; n++) {
            json_object_array_add(list, json_object_new_string(*n));
        }
        return list;
    }
    v = x86_cpu_identity_json(cfg, name);
    if (v) {
        return v;
    }
    if (!strcmp(name, "enforce")) {
        return json_object_new_boolean(cfg->enforce);
    }
    if (!strcmp(name, "check")) {
        return json_object_new_boolean(cfg->check);
    }
    if (!strcmp(name, "kvm")) {
        return json_object_new_boolean(cfg->kvm);
    }
    if (!strcmp(name, "pmu")) {
        return json_object_new_boolean(cfg->pmu);
    }
    if (!strcmp(name, "migratable")) {
        return json_object_new_boolean(cfg->migratable);
    }
    return NULL;
}
