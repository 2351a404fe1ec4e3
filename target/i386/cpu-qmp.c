/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP's CPU model queries, as libvirt's capability probe sends them:
 * query-cpu-definitions (which models, and which of their features this
 * host lacks) and query-cpu-model-expansion (a model as properties).
 * They need no VM: the host's abilities come from /dev/kvm directly
 * (x86_host_cpuid), so they answer under -machine none too. Without
 * /dev/kvm (a qtest accelerator) nothing is reported missing, and the
 * host-following models cannot be expanded.
 */
#include <string.h>
#include "qapi/qapi-commands.h"
#include "target/i386/cpu.h"
#include "target/i386/cpu-models.h"

/* A host on which every feature of every word is there, for a process
 * without /dev/kvm. */
static struct kvm_cpuid2 *cpu_qmp_permissive_host(void)
{
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + (FEAT_WORDS + 2) *
                                     sizeof(c->entries[0]));

    c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = 0,
                                                       .eax = 0xd };
    c->entries[c->nent++] = (struct kvm_cpuid_entry2){
        .function = 0x80000000, .eax = 0x80000008 };
    for (unsigned w = 0; w < FEAT_WORDS; w++) {
        const X86FeatureWordInfo *wi = &x86_feature_words[w];
        struct kvm_cpuid_entry2 e = {
            .function = wi->leaf,
            .index = wi->subleaf < 0 ? 0 : wi->subleaf,
            .flags = wi->subleaf < 0 ? 0 : KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
        };
        uint32_t *regs[] = { &e.eax, &e.ebx, &e.ecx, &e.edx };
        bool dup = false;

        for (uint32_t i = 0; i < c->nent; i++) {
            if (c->entries[i].function == e.function &&
                c->entries[i].index == e.index) {
                regs[0] = &c->entries[i].eax;
                regs[1] = &c->entries[i].ebx;
                regs[2] = &c->entries[i].ecx;
                regs[3] = &c->entries[i].edx;
                dup = true;
            }
        }
        *regs[wi->reg] = ~0u;
        if (!dup) {
            c->entries[c->nent++] = e;
        }
    }
    return c;
}

CpuDefinitionInfoList *qmp_query_cpu_definitions(Error **errp)
{
    const struct kvm_cpuid2 *sup = x86_host_cpuid();
    CpuDefinitionInfoList *head = NULL, **tail = &head;
    size_t n;
    const X86CPUModel *m = x86_cpu_models(&n);

    for (size_t i = 0; i < n; i++) {
        CpuDefinitionInfo *info = g_new0(CpuDefinitionInfo, 1);
        CpuDefinitionInfoList *node = g_new0(CpuDefinitionInfoList, 1);
        strList **ftail = &info->unavailable_features;
        X86FeatureSet filtered = { 0 };
        X86CPUConfig cfg;

        info->name = g_strdup(m[i].name);
        info->typename = x86_cpu_type_name(m[i].name);
        info->has_migration_safe = true;
        info->migration_safe = m[i].migration_safe;
        info->q_static = m[i].kind == X86_MODEL_BASE;
        if (sup && m[i].kind == X86_MODEL_NAMED) {
            g_auto(GStrv) names = NULL;

            x86_cpu_config_init(&cfg, &m[i]);
            x86_cpu_filtered_features(&cfg, sup, filtered);
            names = x86_feature_set_names(filtered);
            for (char **f = names; *f; f++) {
                strList *s = g_new0(strList, 1);

                s->value = g_strdup(*f);
                *ftail = s;
                ftail = &s->next;
            }
        }
        node->value = info;
        *tail = node;
        tail = &node->next;
    }
    return head;
}

/* Reads the identity a CPUID table gives the guest. */
static void cpu_qmp_identity(const struct kvm_cpuid2 *c, json_object *props)
{
    char vendor[13] = { 0 }, brand[49] = { 0 };

    for (uint32_t i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];
        uint32_t fam, mod;

        switch (e->function) {
        case 0:
            memcpy(vendor, &e->ebx, 4);
            memcpy(vendor + 4, &e->edx, 4);
            memcpy(vendor + 8, &e->ecx, 4);
            json_object_object_add(props, "level",
                                   json_object_new_int64(e->eax));
            break;
        case 1:
            fam = (e->eax >> 8) & 0xf;
            if (fam == 0xf) {
                fam += (e->eax >> 20) & 0xff;
            }
            mod = ((e->eax >> 4) & 0xf) | ((e->eax >> 12) & 0xf0);
            json_object_object_add(props, "family",
                                   json_object_new_int64(fam));
            json_object_object_add(props, "model",
                                   json_object_new_int64(mod));
            json_object_object_add(props, "stepping",
                                   json_object_new_int64(e->eax & 0xf));
            break;
        case 0x80000000:
            json_object_object_add(props, "xlevel",
                                   json_object_new_int64(e->eax));
            break;
        case 0x80000002:
        case 0x80000003:
        case 0x80000004: {
            char *p = brand + 16 * (e->function - 0x80000002);

            memcpy(p, &e->eax, 4);
            memcpy(p + 4, &e->ebx, 4);
            memcpy(p + 8, &e->ecx, 4);
            memcpy(p + 12, &e->edx, 4);
            break;
        }
        default:
            break;
        }
    }
    json_object_object_add(props, "vendor", json_object_new_string(vendor));
    json_object_object_add(props, "model-id",
                           json_object_new_string(g_strchug(brand)));
}

CpuModelExpansionInfo *qmp_query_cpu_model_expansion(
    CpuModelExpansionType type, CpuModelInfo *model, Error **errp)
{
    const X86CPUModel *m = x86_cpu_model_find(model->name);
    const struct kvm_cpuid2 *kvm_sup = x86_host_cpuid();
    g_autofree struct kvm_cpuid2 *permissive = NULL;
    g_autofree struct kvm_cpuid2 *table = NULL;
    const struct kvm_cpuid2 *sup;
    X86FeatureSet final;
    X86CPUConfig cfg;
    CpuModelExpansionInfo *info;
    json_object *props;

    if (!m) {
        error_setg(errp, "CPU model '%s' not found", model->name);
        return NULL;
    }
    if (!kvm_sup && m->kind == X86_MODEL_HOST) {
        error_setg(errp, "CPU model '%s' requires KVM", model->name);
        return NULL;
    }
    sup = kvm_sup ?: (permissive = cpu_qmp_permissive_host());
    x86_cpu_config_init(&cfg, m);
    if (model->props) {
        if (!json_object_is_type(model->props, json_type_object)) {
            error_setg(errp, "Invalid parameter type for 'model.props', "
                       "expected: dict");
            return NULL;
        }
        json_object_object_foreach(model->props, key, val) {
            if (!x86_cpu_config_set_json(&cfg, key, val, errp)) {
                x86_cpu_config_clear(&cfg);
                return NULL;
            }
        }
    }
    /* What a vCPU would get, quietly: filtered features drop out. */
    cfg.check = cfg.enforce = false;
    table = x86_cpu_build_cpuid(&cfg, sup, final, errp);
    if (!table) {
        x86_cpu_config_clear(&cfg);
        return NULL;
    }
    props = json_object_new_object();
    for (size_t i = 0; i < x86_features_count; i++) {
        const X86Feature *f = &x86_features[i];

        json_object_object_add(props, f->name, json_object_new_boolean(
                                   (final[f->word] & f->mask) != 0));
    }
    cpu_qmp_identity(table, props);
    if (type == CPU_MODEL_EXPANSION_TYPE_FULL) {
        json_object_object_add(props, "pmu",
                               json_object_new_boolean(cfg.pmu));
        json_object_object_add(props, "kvm",
                               json_object_new_boolean(cfg.kvm));
        json_object_object_add(props, "migratable",
                               json_object_new_boolean(cfg.migratable));
    }
    x86_cpu_config_clear(&cfg);
    info = g_new0(CpuModelExpansionInfo, 1);
    info->model = g_new0(CpuModelInfo, 1);
    info->model->name = g_strdup(type == CPU_MODEL_EXPANSION_TYPE_STATIC ?
                                 "base" : model->name);
    info->model->props = props;
    return info;
}
