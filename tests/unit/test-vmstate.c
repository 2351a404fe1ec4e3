/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for vmstate (migration/vmstate.c): a struct with every kind
 * of field saved and loaded back, fields added in a later version,
 * subsections (needed, not needed, COLO send-all, unknown), versions out of
 * range, and the hostile-stream rules: every truncation and every flipped
 * byte ends in an Error or a load, never a crash, and out-of-range lengths
 * are rejected with the field named. And the real "cpu" section,
 * vmstate_x86_cpu of target/i386/machine.c: every part of X86CPUState
 * round-trips through its table, its bounds hold, and its post_load
 * refuses a stream this host cannot take (without KVM: the checks run
 * before anything reaches it).
 */
#include <string.h>
#include <glib.h>
#include <json-c/json.h>
#include "migration/vmstate.h"
#include "target/i386/machine.h"

typedef struct TestInner {
    uint32_t a;
    uint16_t b;
} TestInner;

typedef struct TestState {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    bool flag;
    uint8_t a8[5];
    uint16_t a16[3];
    uint32_t a32[4];
    uint64_t a64[2];
    int32_t ai32[2];
    int64_t ai64[2];
    bool abool[3];
    char buf[10];
    uint32_t vlen;
    uint8_t vbuf[32];
    uint32_t plen;
    uint8_t *pbuf;
    TestInner inner;
    TestInner inners[3];
    uint32_t ninner;
    TestInner vinners[8];
    uint8_t head;               /* post_load: head < ARRAY_SIZE(a8) */
    uint8_t bounded;            /* at most 16 */
    uint32_t since_v2;
    uint32_t sub_val;
    bool sub_needed;
} TestState;

static const VMStateDescription vmstate_inner = {
    .name = "inner",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(a, TestInner),
        VMSTATE_UINT16(b, TestInner),
        VMSTATE_END_OF_LIST()
    },
};

static bool test_sub_needed(void *opaque)
{
    return ((TestState *)opaque)->sub_needed;
}

static const VMStateDescription vmstate_test_sub = {
    .name = "test/sub",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = test_sub_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(sub_val, TestState),
        VMSTATE_END_OF_LIST()
    },
};

/* Only the "newer source" knows this one. */
static const VMStateDescription vmstate_test_extra = {
    .name = "test/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(u8, TestState),
        VMSTATE_END_OF_LIST()
    },
};

static bool test_post_load(void *opaque, int version_id, Error **errp)
{
    TestState *s = opaque;

    if (s->head >= G_N_ELEMENTS(s->a8)) {
        error_setg(errp, "head %u out of range", s->head);
        return false;
    }
    return true;
}

#define TEST_FIELDS_V1                                          \
    VMSTATE_UINT8(u8, TestState),                               \
    VMSTATE_UINT16(u16, TestState),                             \
    VMSTATE_UINT32(u32, TestState),                             \
    VMSTATE_UINT64(u64, TestState),                             \
    VMSTATE_INT8(i8, TestState),                                \
    VMSTATE_INT16(i16, TestState),                              \
    VMSTATE_INT32(i32, TestState),                              \
    VMSTATE_INT64(i64, TestState),                              \
    VMSTATE_BOOL(flag, TestState),                              \
    VMSTATE_UINT8_ARRAY(a8, TestState, 5),                      \
    VMSTATE_UINT16_ARRAY(a16, TestState, 3),                    \
    VMSTATE_UINT32_ARRAY(a32, TestState, 4),                    \
    VMSTATE_UINT64_ARRAY(a64, TestState, 2),                    \
    VMSTATE_INT32_ARRAY(ai32, TestState, 2),                    \
    VMSTATE_INT64_ARRAY(ai64, TestState, 2),                    \
    VMSTATE_BOOL_ARRAY(abool, TestState, 3),                    \
    VMSTATE_BUFFER(buf, TestState),                             \
    VMSTATE_UINT32(vlen, TestState),                            \
    VMSTATE_VBUFFER_UINT32(vbuf, TestState, vlen, 32),          \
    VMSTATE_UINT32(plen, TestState),                            \
    VMSTATE_VBUFFER_ALLOC_UINT32(pbuf, TestState, plen, 4096),  \
    VMSTATE_STRUCT(inner, TestState, vmstate_inner, TestInner), \
    VMSTATE_STRUCT_ARRAY(inners, TestState, 3, vmstate_inner,   \
                         TestInner),                            \
    VMSTATE_UINT32(ninner, TestState),                          \
    VMSTATE_STRUCT_VARRAY_UINT32(vinners, TestState, ninner, 8, \
                                 vmstate_inner, TestInner),     \
    VMSTATE_UNUSED(3),                                          \
    VMSTATE_UINT8(head, TestState),                             \
    VMSTATE_UINT8_LE(bounded, TestState, 16)

static const VMStateDescription vmstate_test = {
    .name = "test",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = test_post_load,
    .fields = (const VMStateField[]) {
        TEST_FIELDS_V1,
        VMSTATE_UINT32_V(since_v2, TestState, 2),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_test_sub,
        NULL
    },
};

/* What an older source (version 1) sends. */
static const VMStateDescription vmstate_test_v1 = {
    .name = "test",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        TEST_FIELDS_V1,
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_test_sub,
        NULL
    },
};

/* A newer source with a subsection we do not know. */
static const VMStateDescription vmstate_test_newer = {
    .name = "test",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        TEST_FIELDS_V1,
        VMSTATE_UINT32_V(since_v2, TestState, 2),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription *const[]) {
        &vmstate_test_sub,
        &vmstate_test_extra,
        NULL
    },
};

static void test_state_fill(TestState *s)
{
    memset(s, 0, sizeof(*s));
    s->u8 = 0xab;
    s->u16 = 0xbeef;
    s->u32 = 0xdeadbeef;
    s->u64 = 0x0123456789abcdefull;
    s->i8 = -5;
    s->i16 = -300;
    s->i32 = -70000;
    s->i64 = -5000000000ll;
    s->flag = true;
    for (int i = 0; i < 5; i++) {
        s->a8[i] = i + 1;
    }
    for (int i = 0; i < 3; i++) {
        s->a16[i] = 1000 + i;
        s->abool[i] = i & 1;
        s->inners[i].a = 100 + i;
        s->inners[i].b = 200 + i;
    }
    for (int i = 0; i < 4; i++) {
        s->a32[i] = 0x10000 * i + 7;
    }
    s->a64[0] = UINT64_MAX;
    s->a64[1] = 42;
    s->ai32[0] = -1;
    s->ai32[1] = INT32_MIN;
    s->ai64[0] = INT64_MIN;
    s->ai64[1] = INT64_MAX;
    memcpy(s->buf, "0123456789", 10);
    s->vlen = 7;
    memcpy(s->vbuf, "abcdefg", 7);
    s->plen = 300;
    s->pbuf = g_malloc(300);
    for (int i = 0; i < 300; i++) {
        s->pbuf[i] = i ^ 0x5a;
    }
    s->inner.a = 11;
    s->inner.b = 22;
    s->ninner = 2;
    s->vinners[0].a = 31;
    s->vinners[1].b = 32;
    s->head = 4;
    s->bounded = 16;
    s->since_v2 = 0x22222222;
    s->sub_val = 0x5b5b;
}

static GBytes *save_bytes(const VMStateDescription *vmsd, void *opaque);

/* Compares what the description covers (struct padding aside) by saving
 * both, plus a few members directly. */
static void test_state_assert_equal(TestState *a, TestState *b)
{
    g_autoptr(GBytes) sa = NULL, sb = NULL;
    bool needed = b->sub_needed;

    b->sub_needed = a->sub_needed;
    sa = save_bytes(&vmstate_test, a);
    sb = save_bytes(&vmstate_test, b);
    b->sub_needed = needed;
    g_assert_true(g_bytes_equal(sa, sb));
    g_assert_cmpuint(a->u64, ==, b->u64);
    g_assert_cmpint(a->i64, ==, b->i64);
    g_assert_cmpint(a->i8, ==, b->i8);
    g_assert_cmpuint(a->plen, ==, b->plen);
    g_assert_cmpmem(a->pbuf, a->plen, b->pbuf, b->plen);
    g_assert_cmpmem(a->vinners, sizeof(a->vinners[0]),
                    b->vinners, sizeof(b->vinners[0]));
    g_assert_cmpuint(a->vinners[1].b, ==, b->vinners[1].b);
    g_assert_cmpuint(a->sub_val, ==, b->sub_val);
}

static GBytes *save_bytes(const VMStateDescription *vmsd, void *opaque)
{
    QEMUFile *f = qemu_file_new_mem_output();
    const uint8_t *data;
    GBytes *bytes;
    size_t len;

    g_assert_true(vmstate_save(f, vmsd, opaque, NULL, &error_abort));
    data = qemu_file_mem_output_data(f, &len);
    g_assert_cmpint(qemu_file_get_error(f, NULL), ==, 0);
    bytes = g_bytes_new(data, len);
    qemu_fclose(f);
    return bytes;
}

/* COLO's save: every subsection, needed or not. */
static GBytes *save_bytes_all(const VMStateDescription *vmsd, void *opaque)
{
    QEMUFile *f = qemu_file_new_mem_output();
    const uint8_t *data;
    GBytes *bytes;
    size_t len;

    g_assert_true(vmstate_save_all(f, vmsd, opaque, NULL, &error_abort));
    data = qemu_file_mem_output_data(f, &len);
    bytes = g_bytes_new(data, len);
    qemu_fclose(f);
    return bytes;
}

static bool load_bytes(const VMStateDescription *vmsd, void *opaque,
                       const void *data, size_t len, int version,
                       Error **errp)
{
    QEMUFile *f = qemu_file_new_mem_input(data, len, 0);
    bool ok = vmstate_load(f, vmsd, opaque, version, errp);

    qemu_fclose(f);
    return ok;
}

static void test_roundtrip(void)
{
    TestState src, dst = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    size_t len;
    const void *data;

    test_state_fill(&src);
    src.sub_needed = true;
    bytes = save_bytes(&vmstate_test, &src);
    data = g_bytes_get_data(bytes, &len);
    g_assert_true(load_bytes(&vmstate_test, &dst, data, len, 2,
                             &error_abort));
    test_state_assert_equal(&src, &dst);
    g_free(src.pbuf);
    g_free(dst.pbuf);
}

/* A version-1 stream: since_v2 is not on the wire and stays untouched. */
static void test_old_version(void)
{
    TestState src, dst = { 0 };
    g_autoptr(GBytes) v1 = NULL, v2 = NULL;
    size_t len;
    const void *data;

    test_state_fill(&src);
    v1 = save_bytes(&vmstate_test_v1, &src);
    v2 = save_bytes(&vmstate_test, &src);
    g_assert_cmpuint(g_bytes_get_size(v2), ==, g_bytes_get_size(v1) + 4);
    data = g_bytes_get_data(v1, &len);
    dst.since_v2 = 77;
    g_assert_true(load_bytes(&vmstate_test, &dst, data, len, 1,
                             &error_abort));
    g_assert_cmpuint(dst.since_v2, ==, 77);
    g_assert_cmpuint(dst.u64, ==, src.u64);
    g_assert_cmpuint(dst.pbuf[299], ==, src.pbuf[299]);
    g_free(src.pbuf);
    g_free(dst.pbuf);
}

static void test_version_range(void)
{
    TestState src, dst = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    Error *err = NULL;
    size_t len;
    const void *data;

    test_state_fill(&src);
    bytes = save_bytes(&vmstate_test, &src);
    data = g_bytes_get_data(bytes, &len);
    g_assert_false(load_bytes(&vmstate_test, &dst, data, len, 3, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vmstate 'test': version 3 is newer than supported 2");
    g_clear_pointer(&err, error_free);
    g_assert_false(load_bytes(&vmstate_test, &dst, data, len, 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vmstate 'test': version 0 is older than minimum 1");
    error_free(err);
    g_free(src.pbuf);
    g_free(dst.pbuf);
}

static void test_subsections(void)
{
    TestState src, dst;
    g_autoptr(GBytes) with = NULL, without = NULL, all = NULL;
    size_t len;
    const void *data;

    test_state_fill(&src);
    src.sub_needed = true;
    with = save_bytes(&vmstate_test, &src);
    src.sub_needed = false;
    without = save_bytes(&vmstate_test, &src);
    all = save_bytes_all(&vmstate_test, &src);
    g_assert_true(g_bytes_equal(with, all));
    g_assert_cmpuint(g_bytes_get_size(without), <, g_bytes_get_size(with));

    /* Needed: loaded. */
    memset(&dst, 0, sizeof(dst));
    data = g_bytes_get_data(with, &len);
    g_assert_true(load_bytes(&vmstate_test, &dst, data, len, 2,
                             &error_abort));
    g_assert_cmpuint(dst.sub_val, ==, 0x5b5b);
    g_clear_pointer(&dst.pbuf, g_free);

    /* Not needed: absent, and the destination keeps its value. */
    memset(&dst, 0, sizeof(dst));
    dst.sub_val = 1;
    data = g_bytes_get_data(without, &len);
    g_assert_true(load_bytes(&vmstate_test, &dst, data, len, 2,
                             &error_abort));
    g_assert_cmpuint(dst.sub_val, ==, 1);
    g_clear_pointer(&dst.pbuf, g_free);
    g_free(src.pbuf);
}

static void test_unknown_subsection(void)
{
    TestState src, dst = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    Error *err = NULL;
    size_t len;
    const void *data;

    test_state_fill(&src);
    bytes = save_bytes(&vmstate_test_newer, &src);
    data = g_bytes_get_data(bytes, &len);
    g_assert_false(load_bytes(&vmstate_test, &dst, data, len, 2, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vmstate 'test': unknown subsection 'test/extra'");
    error_free(err);
    g_free(src.pbuf);
    g_free(dst.pbuf);
}

/* Every prefix of a valid stream fails with an error, never a crash. */
static void test_truncate_everywhere(void)
{
    TestState src;
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *data;
    size_t len;

    test_state_fill(&src);
    src.sub_needed = true;
    bytes = save_bytes(&vmstate_test, &src);
    data = g_bytes_get_data(bytes, &len);
    for (size_t cut = 0; cut < len; cut++) {
        TestState dst = { 0 };
        Error *err = NULL;

        g_assert_false(load_bytes(&vmstate_test, &dst, data, cut, 2, &err));
        g_assert_nonnull(err);
        g_assert_true(g_str_has_prefix(error_get_pretty(err), "vmstate '"));
        g_assert_nonnull(strstr(error_get_pretty(err), "truncated"));
        error_free(err);
        g_free(dst.pbuf);
    }
    g_free(src.pbuf);
}

/* Every byte flipped: a clean error or a load, never a crash or an
 * out-of-bounds write (valgrind and the sanitizers watch this one). */
static void test_flip_every_byte(void)
{
    TestState src;
    g_autoptr(GBytes) bytes = NULL;
    const uint8_t *data;
    size_t len;
    unsigned failed = 0;

    test_state_fill(&src);
    src.sub_needed = true;
    bytes = save_bytes(&vmstate_test, &src);
    data = g_bytes_get_data(bytes, &len);
    for (size_t i = 0; i < len; i++) {
        static const uint8_t masks[] = { 0xff, 0x80, 0x01 };

        for (size_t m = 0; m < G_N_ELEMENTS(masks); m++) {
            g_autofree uint8_t *bad = g_memdup2(data, len);
            TestState dst = { 0 };
            Error *err = NULL;

            bad[i] ^= masks[m];
            if (!load_bytes(&vmstate_test, &dst, bad, len, 2, &err)) {
                g_assert_nonnull(err);
                g_assert_true(g_str_has_prefix(error_get_pretty(err),
                                               "vmstate '"));
                error_free(err);
                failed++;
            } else {
                g_assert_null(err);
                g_assert_cmpuint(dst.vlen, <=, 32);
                g_assert_cmpuint(dst.ninner, <=, 8);
                g_assert_cmpuint(dst.plen, <=, 4096);
                g_assert_cmpuint(dst.bounded, <=, 16);
                g_assert_cmpuint(dst.head, <, 5);
            }
            g_free(dst.pbuf);
        }
    }
    g_assert_cmpuint(failed, >, 0);
    g_free(src.pbuf);
}

/* Offset of a be32 field in the saved bytes: decrement it (its low byte
 * is non-zero, and a smaller length stays within its buffer) and see which
 * byte of the stream changes first (its last byte). */
static size_t find_offset(TestState *src, uint32_t *field)
{
    g_autoptr(GBytes) a = save_bytes(&vmstate_test, src);
    g_autoptr(GBytes) b = NULL;
    uint32_t saved = *field;
    const uint8_t *pa, *pb;
    size_t la, lb;

    g_assert_cmpuint(saved & 0xff, !=, 0);
    *field = saved - 1;
    b = save_bytes(&vmstate_test, src);
    *field = saved;
    pa = g_bytes_get_data(a, &la);
    pb = g_bytes_get_data(b, &lb);
    for (size_t i = 0; i < MIN(la, lb); i++) {
        if (pa[i] != pb[i]) {
            g_assert_cmpuint(i, >=, 3);
            return i - 3;
        }
    }
    g_assert_not_reached();
}

static void expect_load_error(const uint8_t *data, size_t len,
                              const char *msg)
{
    TestState dst = { 0 };
    Error *err = NULL;

    g_assert_false(load_bytes(&vmstate_test, &dst, data, len, 2, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    g_free(dst.pbuf);
}

/* Out-of-range values on the wire: rejected with the field named. */
static void test_bad_values(void)
{
    TestState src;
    g_autoptr(GBytes) bytes = NULL;
    g_autofree uint8_t *bad = NULL;
    const uint8_t *data;
    size_t len;

    test_state_fill(&src);
    bytes = save_bytes(&vmstate_test, &src);
    data = g_bytes_get_data(bytes, &len);

    /* Lengths: be32 values, located by diffing two saves. */
    struct {
        uint32_t *field;
        uint32_t value;
        const char *msg;
    } lens[] = {
        { &src.vlen, 40, "vmstate 'test' field 'vlen': value 40 exceeds 32" },
        { &src.plen, 5000,
          "vmstate 'test' field 'plen': value 5000 exceeds 4096" },
        { &src.ninner, 9, "vmstate 'test' field 'ninner': value 9 exceeds 8" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(lens); i++) {
        size_t off = find_offset(&src, lens[i].field);

        bad = g_memdup2(data, len);
        bad[off] = lens[i].value >> 24;
        bad[off + 1] = lens[i].value >> 16;
        bad[off + 2] = lens[i].value >> 8;
        bad[off + 3] = lens[i].value;
        expect_load_error(bad, len, lens[i].msg);
        g_clear_pointer(&bad, g_free);
    }

    /* A bool that is 2, a bounded byte above its bound, a post_load
     * invariant: single bytes, found the same way. */
    {
        const size_t flag_off = 1 + 2 + 4 + 8 + 1 + 2 + 4 + 8;

        bad = g_memdup2(data, len);
        g_assert_cmpuint(bad[flag_off], ==, 1);
        bad[flag_off] = 2;
        expect_load_error(bad, len,
                          "vmstate 'test' field 'flag': value 2 is not a "
                          "boolean");
        g_clear_pointer(&bad, g_free);
    }
    {
        /* bounded, head: the two bytes before since_v2 (4) and the
         * subsection count (1) at the end. */
        size_t bounded_off = len - 1 - 4 - 1;

        bad = g_memdup2(data, len);
        g_assert_cmpuint(bad[bounded_off], ==, 16);
        bad[bounded_off] = 40;
        expect_load_error(bad, len,
                          "vmstate 'test' field 'bounded': value 40 exceeds "
                          "16");
        bad[bounded_off] = 16;
        g_assert_cmpuint(bad[bounded_off - 1], ==, 4);
        bad[bounded_off - 1] = 5;
        expect_load_error(bad, len, "vmstate 'test': head 5 out of range");
        g_clear_pointer(&bad, g_free);
    }
    g_free(src.pbuf);
}

static void test_describe(void)
{
    struct json_object *d = vmstate_describe(&vmstate_test);
    g_autofree char *s = g_strdup(json_object_to_json_string_ext(
        d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

    g_assert_nonnull(strstr(s, "\"name\":\"test\""));
    g_assert_nonnull(strstr(s, "\"count_field\":\"ninner\""));
    g_assert_nonnull(strstr(s, "\"type\":\"struct\""));
    g_assert_nonnull(strstr(s, "\"name\":\"test/sub\""));
    json_object_put(d);
}

/* ---- the real "cpu" section: vmstate_x86_cpu (target/i386/machine.c) ---- */

/*
 * vmstate_x86_cpu's own field table without its hooks: pre_save fetches
 * the state from KVM and post_load puts it there, the table itself needs
 * neither. A copy of the table here would pass whatever machine.c says.
 */
static VMStateDescription x86_cpu_fields_only(void)
{
    VMStateDescription d = vmstate_x86_cpu;

    d.pre_save = NULL;
    d.post_load = NULL;
    return d;
}

/* Every byte of st a distinct-ish value, with the counts and bounded
 * fields set to what a real vCPU has. */
static void x86_state_fill(X86CPUState *st, uint32_t xsave_size)
{
    uint8_t *p = (uint8_t *)st;

    for (size_t i = 0; i < offsetof(X86CPUState, xsave_size); i++) {
        p[i] = (uint8_t)(i * 13 + 7);
    }
    st->xcrs.nr_xcrs = 1;
    st->mp_state.mp_state = KVM_MP_STATE_HALTED;
    st->nr_msrs = 3;
    st->msrs[0].index = MSR_IA32_TSC;
    st->msrs[1].index = MSR_STAR;
    st->msrs[2].index = MSR_EFER;
    st->msrs[2].data = 0xd01;
    st->events.flags = KVM_VCPUEVENT_VALID_SHADOW;
    st->xsave_size = xsave_size;
    st->xsave = g_malloc(xsave_size);
    for (uint32_t i = 0; i < xsave_size; i++) {
        st->xsave[i] = (uint8_t)(i * 7 + 1);
    }
}

/* Every part of X86CPUState round-trips through the real table. */
static void test_x86_cpu_roundtrip(void)
{
    const VMStateDescription vmsd = x86_cpu_fields_only();
    X86CPUState src, dst = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GBytes) again = NULL;
    const uint8_t *data;
    size_t len;

    x86_state_fill(&src, 4096 + 64);
    dst.xsave_size = 4096;
    dst.xsave = g_malloc0(4096);

    bytes = save_bytes(&vmsd, &src);
    data = g_bytes_get_data(bytes, &len);
    g_assert_true(load_bytes(&vmsd, &dst, data, len, 1, &error_abort));
    /* What the table carries, compared member by member. */
    g_assert_cmpmem(&src.regs, sizeof(src.regs), &dst.regs, sizeof(dst.regs));
    g_assert_cmpuint(dst.sregs.cs.selector, ==, src.sregs.cs.selector);
    g_assert_cmpuint(dst.sregs.ldt.unusable, ==, src.sregs.ldt.unusable);
    g_assert_cmpuint(dst.sregs.idt.limit, ==, src.sregs.idt.limit);
    g_assert_cmpuint(dst.sregs.cr8, ==, src.sregs.cr8);
    g_assert_cmpuint(dst.sregs.apic_base, ==, src.sregs.apic_base);
    g_assert_cmpmem(src.sregs.interrupt_bitmap,
                    sizeof(src.sregs.interrupt_bitmap),
                    dst.sregs.interrupt_bitmap,
                    sizeof(dst.sregs.interrupt_bitmap));
    g_assert_cmpuint(dst.xcrs.nr_xcrs, ==, 1);
    g_assert_cmpuint(dst.xcrs.xcrs[0].value, ==, src.xcrs.xcrs[0].value);
    g_assert_cmpmem(src.lapic.regs, sizeof(src.lapic.regs), dst.lapic.regs,
                    sizeof(dst.lapic.regs));
    g_assert_cmpuint(dst.events.flags, ==, KVM_VCPUEVENT_VALID_SHADOW);
    g_assert_cmpuint(dst.events.exception_payload, ==,
                     src.events.exception_payload);
    g_assert_cmpuint(dst.events.smi.latched_init, ==,
                     src.events.smi.latched_init);
    g_assert_cmpuint(dst.mp_state.mp_state, ==, KVM_MP_STATE_HALTED);
    /* (reserved is not carried) */
    g_assert_cmpmem(&src.debugregs, offsetof(struct kvm_debugregs, reserved),
                    &dst.debugregs, offsetof(struct kvm_debugregs, reserved));
    g_assert_cmpuint(dst.nr_msrs, ==, 3);
    for (unsigned i = 0; i < 3; i++) {
        g_assert_cmphex(dst.msrs[i].index, ==, src.msrs[i].index);
        g_assert_cmphex(dst.msrs[i].data, ==, src.msrs[i].data);
    }
    g_assert_cmpuint(dst.xsave_size, ==, 4096 + 64);
    g_assert_cmpmem(src.xsave, src.xsave_size, dst.xsave, dst.xsave_size);
    /* And whatever else it describes: saved again, the same bytes. */
    again = save_bytes(&vmsd, &dst);
    g_assert_true(g_bytes_equal(bytes, again));
    g_free(src.xsave);
    g_free(dst.xsave);
}

/* The real table's bounds: counts and sizes a stream cannot inflate. */
static void test_x86_cpu_bounds(void)
{
    const VMStateDescription vmsd = x86_cpu_fields_only();
    X86CPUState src, dst = { 0 };
    g_autoptr(GBytes) bytes = NULL;
    g_autofree uint8_t *bad = NULL;
    const uint8_t *data;
    Error *err = NULL;
    size_t len, xs_off, nr_off;

    x86_state_fill(&src, 4096);
    bytes = save_bytes(&vmsd, &src);
    data = g_bytes_get_data(bytes, &len);
    /* The stream ends with xsave_size, xsave and the subsection count;
     * before that nr_msrs and 3 MSRs (index, data, subsection count). */
    xs_off = len - 1 - src.xsave_size - 4;
    nr_off = xs_off - 3 * 13 - 4;
    bad = g_memdup2(data, len);
    g_assert_cmpuint(bad[nr_off + 3], ==, 3);
    bad[nr_off + 3] = 40;
    g_assert_false(load_bytes(&vmsd, &dst, bad, len, 1, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vmstate 'cpu' field 'nr_msrs': value 40 exceeds 32");
    g_clear_pointer(&err, error_free);
    memcpy(bad, data, len);
    g_assert_cmpuint(bad[xs_off + 2], ==, 0x10);       /* 4096, be32 */
    bad[xs_off] = 0x7f;
    g_assert_false(load_bytes(&vmsd, &dst, bad, len, 1, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vmstate 'cpu' field 'xsave_size': value 2130710528 "
                    "exceeds 65536");
    g_clear_pointer(&err, error_free);
    g_assert_false(load_bytes(&vmsd, &dst, data, len - 100, 1, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "vmstate 'cpu' field 'xsave': truncated");
    g_clear_pointer(&err, error_free);
    g_free(src.xsave);
    g_free(dst.xsave);
}

/*
 * post_load's checks against this host run before anything reaches KVM,
 * so a host described by hand (an MSR list, an XSAVE size) shows them:
 * each refuses the stream with the reason.
 */
static void test_x86_cpu_post_load_checks(void)
{
    const VMStateDescription fields = x86_cpu_fields_only();
    g_autofree struct kvm_msr_list *list =
        g_malloc0(sizeof(*list) + 2 * sizeof(list->indices[0]));
    KvmState kvm = { .msr_list = list };
    KvmVcpu vcpu = { .kvm = &kvm };
    X86CPUState host = { .xsave_size = 4096 };
    X86CPUMigration m = { .vcpu = &vcpu, .host = &host };
    static const struct {
        uint32_t xsave_size, msr, flags;
        const char *msg;
    } cases[] = {
        { 4096 + 64, MSR_EFER, 0,
          "vmstate 'cpu': xsave size 4160 does not match this host's 4096 (the hosts' "
          "XSAVE features differ)" },
        { 4096, 0xdeadbeef, 0,
          "vmstate 'cpu': msrs[2]: MSR 0xdeadbeef is not supported by this host's KVM" },
        { 4096, MSR_EFER, 1u << 30,
          "vmstate 'cpu': vcpu_events: unknown flags 0x40000000" },
    };

    list->nmsrs = 2;
    list->indices[0] = MSR_IA32_TSC;
    list->indices[1] = MSR_EFER;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        X86CPUState src;
        g_autoptr(GBytes) bytes = NULL;
        const uint8_t *data;
        Error *err = NULL;
        size_t len;

        x86_state_fill(&src, cases[i].xsave_size);
        src.nr_msrs = 3;
        src.msrs[1].index = MSR_IA32_TSC;
        src.msrs[2].index = cases[i].msr;
        src.events.flags = cases[i].flags;
        bytes = save_bytes(&fields, &src);
        data = g_bytes_get_data(bytes, &len);
        g_assert_false(load_bytes(&vmstate_x86_cpu, &m, data, len, 1, &err));
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==, cases[i].msg);
        error_free(err);
        g_free(src.xsave);
        g_clear_pointer(&m.state.xsave, g_free);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/roundtrip", test_roundtrip);
    g_test_add_func("/vmstate/old-version", test_old_version);
    g_test_add_func("/vmstate/version-range", test_version_range);
    g_test_add_func("/vmstate/subsections", test_subsections);
    g_test_add_func("/vmstate/unknown-subsection", test_unknown_subsection);
    g_test_add_func("/vmstate/truncate-everywhere", test_truncate_everywhere);
    g_test_add_func("/vmstate/flip-every-byte", test_flip_every_byte);
    g_test_add_func("/vmstate/bad-values", test_bad_values);
    g_test_add_func("/vmstate/describe", test_describe);
    g_test_add_func("/vmstate/x86-cpu/roundtrip", test_x86_cpu_roundtrip);
    g_test_add_func("/vmstate/x86-cpu/bounds", test_x86_cpu_bounds);
    g_test_add_func("/vmstate/x86-cpu/post-load-checks",
                    test_x86_cpu_post_load_checks);
    return g_test_run();
}
