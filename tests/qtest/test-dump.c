/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump-guest-memory, query-dump, query-dump-guest-memory-capability,
 * DUMP_COMPLETED and HMP dump-guest-memory / info dump on the real
 * binary under -accel qtest: the test writes known bytes into guest RAM
 * over qtest (below and above 4 GiB), dumps, and reads the file back,
 * with readelf for the headers and byte for byte for the PT_LOADs. The
 * errors and texts expected are what Debian's QEMU 7.2 said for the same
 * requests (under TCG with -S; it has no qtest accelerator).
 *
 * A full disk is a private 512 KiB tmpfs (needs root; skipped, saying
 * so, elsewhere).
 *
 * With KVM the test guest is dumped as well: then the notes carry each
 * vCPU's registers, and paging=true is refused while the guest pages.
 */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kvm-skip.h"
#include "libqtest.h"
#include "os-util.h"

#define MIB (1024 * 1024ULL)
#define GIB (1024 * MIB)

typedef struct Mark {
    uint64_t gpa;
    const char *bytes;
} Mark;

/* Where the test writes, -m 256: the first page, the VGA hole (RAM on
 * Tandem's pc), above 1 MiB, across a page boundary, the last bytes. */
static const Mark low_marks[] = {
    { 0x0, "first bytes of RAM" },
    { 0xa0000, "in the legacy VGA window" },
    { 0x100000, "at one MiB" },
    { 0x7fffff8, "across a page" },
    { 256 * MIB - 9, "the end.." },
};

/* -m 4G: 3 GiB below 4 GiB, 1 GiB above. */
static const Mark high_marks[] = {
    { 3 * GIB - 6, "low.." },
    { 4 * GIB, "the first high bytes" },
    { 4 * GIB + 0x12345, "further up" },
    { 5 * GIB - 5, "top.." },
};

static void write_marks(QTestState *s, const Mark *m, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        qtest_memwrite(s, m[i].gpa, m[i].bytes, strlen(m[i].bytes));
    }
}

typedef struct Load {
    uint64_t paddr, size;
} Load;

static char *read_whole(const char *path, gsize *len)
{
    char *data = NULL;

    g_assert_true(g_file_get_contents(path, &data, len, NULL));
    return data;
}

/*
 * Checks the ELF core at path: ET_CORE x86-64, a PT_NOTE of notes_size
 * bytes first, then exactly the PT_LOADs want (p_vaddr = p_paddr),
 * back to back up to the end of the file; and every mark that falls in
 * a PT_LOAD is there. Returns the number of marks found.
 */
static unsigned check_core(const char *path, size_t notes_size,
                           const Load *want, unsigned n,
                           const Mark *marks, unsigned nmarks)
{
    gsize len;
    g_autofree char *data = read_whole(path, &len);
    const Elf64_Ehdr *e = (const Elf64_Ehdr *)data;
    const Elf64_Phdr *ph;
    uint64_t end;
    unsigned found = 0;

    g_assert_cmpuint(len, >=, sizeof(*e));
    g_assert_cmpmem(e->e_ident, SELFMAG, ELFMAG, SELFMAG);
    g_assert_cmpuint(e->e_ident[EI_CLASS], ==, ELFCLASS64);
    g_assert_cmpuint(e->e_type, ==, ET_CORE);
    g_assert_cmpuint(e->e_machine, ==, EM_X86_64);
    g_assert_cmpuint(e->e_phnum, ==, 1 + n);
    ph = (const Elf64_Phdr *)(data + e->e_phoff);
    g_assert_cmpuint(ph[0].p_type, ==, PT_NOTE);
    g_assert_cmpuint(ph[0].p_filesz, ==, notes_size);
    end = ph[0].p_offset + ph[0].p_filesz;
    for (unsigned i = 0; i < n; i++) {
        const Elf64_Phdr *p = &ph[1 + i];

        g_assert_cmpuint(p->p_type, ==, PT_LOAD);
        g_assert_cmphex(p->p_paddr, ==, want[i].paddr);
        g_assert_cmphex(p->p_vaddr, ==, want[i].paddr);
        g_assert_cmphex(p->p_filesz, ==, want[i].size);
        g_assert_cmphex(p->p_memsz, ==, want[i].size);
        g_assert_cmpuint(p->p_offset, ==, end);
        end += p->p_filesz;
        for (unsigned m = 0; m < nmarks; m++) {
            size_t l = strlen(marks[m].bytes);

            if (marks[m].gpa >= p->p_paddr &&
                marks[m].gpa + l <= p->p_paddr + p->p_filesz) {
                g_assert_cmpmem(data + p->p_offset +
                                (marks[m].gpa - p->p_paddr), l,
                                marks[m].bytes, l);
                found++;
            }
        }
    }
    g_assert_cmpuint(len, ==, end);
    return found;
}

static char *readelf(const char *opts, const char *path)
{
    g_autofree char *cmd = g_strdup_printf("readelf %s %s", opts, path);
    g_autofree char *err = NULL;
    char *out = NULL;
    int status;

    /* readelf exits 1 when a file has no notes to show (QEMU's dumps
     * without vCPUs too): its output is what is checked. */
    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
    g_assert_cmpstr(err, ==, "");
    return out;
}

static void assert_has(const char *text, const char *needle)
{
    if (!strstr(text, needle)) {
        g_error("'%s' not in:\n%s", needle, text);
    }
}

/* The DUMP_COMPLETED that ends the current dump; checks its result. */
static void expect_completed(QTestState *s, const char *status,
                             int64_t completed, int64_t total,
                             const char *error)
{
    json_object *ev = qtest_qmp_eventwait(s, "DUMP_COMPLETED");
    json_object *data = qt_json_get(ev, "data");
    json_object *result = qt_json_get(data, "result");

    g_assert_cmpstr(qt_json_str(result, "status"), ==, status);
    if (completed >= 0) {
        g_assert_cmpint(json_object_get_int64(qt_json_get(result,
                                                          "completed")),
                        ==, completed);
    }
    g_assert_cmpint(json_object_get_int64(qt_json_get(result, "total")), ==,
                    total);
    g_assert_cmpstr(qt_json_str(data, "error"), ==, error);
    json_object_put(ev);
}

static void expect_query(QTestState *s, const char *status, int64_t total)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': 'query-dump'}");

    g_assert_cmpstr(qt_json_str(r, "status"), ==, status);
    g_assert_cmpint(json_object_get_int64(qt_json_get(r, "total")), ==,
                    total);
    json_object_put(r);
}

static int64_t query_completed(QTestState *s)
{
    json_object *r = qtest_qmp_assert_success(s, "{'execute': 'query-dump'}");
    int64_t c = json_object_get_int64(qt_json_get(r, "completed"));

    json_object_put(r);
    return c;
}

/* ---- the file ---- */

static void test_whole_and_ranges(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 256");
    g_autofree char *whole = qtest_scratch_path("whole.elf");
    g_autofree char *part = qtest_scratch_path("part.elf");
    g_autofree char *hdr = NULL;
    g_autofree char *notes = NULL;
    json_object *r;

    r = qtest_qmp_assert_success(s, "{'execute': "
                                 "'query-dump-guest-memory-capability'}");
    g_assert_cmpuint(json_object_array_length(qt_json_get(r, "formats")),
                     ==, 1);
    g_assert_cmpstr(json_object_get_string(json_object_array_get_idx(
                        qt_json_get(r, "formats"), 0)), ==, "elf");
    json_object_put(r);
    expect_query(s, "none", 0);

    write_marks(s, low_marks, G_N_ELEMENTS(low_marks));
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s'}}", whole);
    expect_completed(s, "completed", 256 * MIB, 256 * MIB, NULL);
    expect_query(s, "completed", 256 * MIB);
    /* The guest was stopped for it and runs again. */
    json_object_put(qtest_qmp_eventwait(s, "STOP"));
    json_object_put(qtest_qmp_eventwait(s, "RESUME"));
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");
    g_assert_cmpuint(check_core(whole, 0, (Load[]) { { 0, 256 * MIB } }, 1,
                                low_marks, G_N_ELEMENTS(low_marks)), ==,
                     G_N_ELEMENTS(low_marks));

    hdr = readelf("-h -l -W", whole);
    assert_has(hdr, "Class:                             ELF64");
    assert_has(hdr, "Type:                              CORE (Core file)");
    assert_has(hdr, "Machine:                           Advanced Micro "
               "Devices X86-64");
    assert_has(hdr, "Number of program headers:         2");
    assert_has(hdr, "  NOTE           0x0000b0 0x0000000000000000 "
               "0x0000000000000000 0x000000 0x000000     0");
    assert_has(hdr, "  LOAD           0x0000b0 0x0000000000000000 "
               "0x0000000000000000 0x10000000 0x10000000     0");
    /* No vCPU registers under qtest: no notes, as QEMU's -machine none. */
    notes = readelf("-n", whole);
    g_assert_cmpstr(notes, ==, "");

    /* begin/length: unaligned, and running past the end of RAM. */
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s', "
                 "'begin': %llu, 'length': 100}}", part, 0xa0000ULL - 50);
    expect_completed(s, "completed", 100, 100, NULL);
    check_core(part, 0, (Load[]) { { 0xa0000 - 50, 100 } }, 1, NULL, 0);
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s', "
                 "'begin': %llu, 'length': %llu}}", part, 256 * MIB - 4096,
                 GIB);
    expect_completed(s, "completed", 4096, 4096, NULL);
    g_assert_cmpuint(check_core(part, 0, (Load[]) { { 256 * MIB - 4096,
                                                      4096 } }, 1,
                                low_marks, G_N_ELEMENTS(low_marks)), ==, 1);
    /* paging=true without vCPU registers: no page tables, the same
     * file (as QEMU's when no vCPU has paging enabled). */
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': true, 'protocol': 'file:%s', "
                 "'begin': 4096, 'length': 8192}}", part);
    expect_completed(s, "completed", 8192, 8192, NULL);
    check_core(part, 0, (Load[]) { { 4096, 8192 } }, 1, NULL, 0);
    /* QEMU's mode for the files it creates. */
    {
        struct stat st;

        g_assert_cmpint(stat(whole, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0777, ==, 0400);
    }
    unlink(whole);
    unlink(part);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Both blocks of a pc with RAM above 4 GiB, through begin/length (a
 * whole 4 GiB file is not worth its time here). */
static void test_above_4g(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 4G");
    g_autofree char *path = qtest_scratch_path("high.elf");

    write_marks(s, high_marks, G_N_ELEMENTS(high_marks));
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s', "
                 "'begin': %llu, 'length': %llu}}", path, 3 * GIB - 4096,
                 GIB + 2 * 4096 + 0x12345);
    /* [3 GiB - 4 KiB, 3 GiB) and [4 GiB, 4 GiB + 4 KiB + 0x12345). */
    expect_completed(s, "completed", -1, 4096 + 4096 + 0x12345, NULL);
    g_assert_cmpuint(check_core(path, 0, (Load[]) {
                                    { 3 * GIB - 4096, 4096 },
                                    { 4 * GIB, 4096 + 0x12345 } }, 2,
                                high_marks, G_N_ELEMENTS(high_marks)), ==,
                     3);
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s', "
                 "'begin': %llu, 'length': %llu}}", path, 5 * GIB - 8192,
                 GIB);
    expect_completed(s, "completed", 8192, 8192, NULL);
    g_assert_cmpuint(check_core(path, 0, (Load[]) { { 5 * GIB - 8192,
                                                      8192 } }, 1,
                                high_marks, G_N_ELEMENTS(high_marks)), ==,
                     1);
    /* In the hole between the two, and above the top: nothing. */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "dump: no guest memory to dump",
                              "{'execute': 'dump-guest-memory', 'arguments': "
                              "{'paging': false, 'protocol': 'file:%s', "
                              "'begin': %llu, 'length': %llu}}", path,
                              3 * GIB, GIB);
    expect_query(s, "failed", 0);
    qtest_qmp_assert_error_is(s, "GenericError",
                              "dump: no guest memory to dump",
                              "{'execute': 'dump-guest-memory', 'arguments': "
                              "{'paging': false, 'protocol': 'file:%s', "
                              "'begin': %llu, 'length': 4096}}", path,
                              5 * GIB);
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- libvirt's sequence: getfd, detach, event, query-dump ---- */

static gpointer drain(gpointer opaque)
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

/*
 * libvirt's way in: a pipe's write end passed with getfd "dump", then a
 * detached dump into fd:dump. Returns the read end; nobody reads it yet.
 */
static int dump_into_pipe(QTestState *s)
{
    json_object *r;
    int p[2];

    g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
    r = qtest_qmp_fd(s, p[1], "{'execute': 'getfd', "
                     "'arguments': {'fdname': 'dump'}}");
    g_assert_true(qt_json_has(r, "return"));
    json_object_put(r);
    close(p[1]);
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'fd:dump', 'detach': true, "
                 "'format': 'elf'}}");
    return p[0];
}

static void test_detached_fd(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 128");
    g_autofree char *info = NULL;
    g_autofree char *path = qtest_scratch_path("fd.elf");
    GByteArray *file;
    GThread *reader;
    json_object *r;
    int rfd;

    write_marks(s, low_marks, 3);
    rfd = dump_into_pipe(s);
    /* Nobody reads the pipe yet: the dump waits, the monitor answers. */
    expect_query(s, "active", 128 * MIB);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "save-vm");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "There is a dump in process, please wait.",
                              "{'execute': 'dump-guest-memory', 'arguments': "
                              "{'paging': false, 'protocol': 'file:%s'}}",
                              path);
    qtest_qmp_assert_error_is(s, "GenericError",
                              "There is a dump in process, please wait.",
                              "{'execute': 'cont'}");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "There is a dump in process, please wait.",
                              "{'execute': 'stop'}");
    /* The dump took the fd. */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "File descriptor named 'dump' not found",
                              "{'execute': 'closefd', "
                              "'arguments': {'fdname': 'dump'}}");
    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate'}");
    g_assert_cmpstr(json_object_get_string(json_object_array_get_idx(
                        qt_json_get(r, "blocked-reasons"), 0)), ==,
                    "Live migration disabled: dump-guest-memory in progress");
    json_object_put(r);
    info = qtest_hmp(s, "info dump");
    g_assert_true(g_str_has_prefix(info, "Status: active\r\nFinished: "));
    g_assert_true(g_str_has_suffix(info, " %\r\n"));
    g_assert_cmpint(query_completed(s), <, 128 * MIB);

    reader = g_thread_new("drain", drain, GINT_TO_POINTER(rfd));
    expect_completed(s, "completed", 128 * MIB, 128 * MIB, NULL);
    file = g_thread_join(reader);
    g_assert_true(g_file_set_contents(path, (const char *)file->data,
                                      file->len, NULL));
    g_byte_array_free(file, TRUE);
    g_assert_cmpuint(check_core(path, 0, (Load[]) { { 0, 128 * MIB } }, 1,
                                low_marks, 3), ==, 3);
    expect_query(s, "completed", 128 * MIB);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");
    r = qtest_qmp_assert_success(s, "{'execute': 'query-migrate'}");
    g_assert_false(qt_json_has(r, "blocked-reasons"));
    json_object_put(r);
    g_free(info);
    info = qtest_hmp(s, "info dump");
    g_assert_cmpstr(info, ==, "Status: completed\r\n");
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A reader that goes away mid-dump: the dump fails, the VM is fine. */
static void test_reader_gone(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 64");
    g_autofree char *path = qtest_scratch_path("after.elf");
    char buf[4096];
    int rfd = dump_into_pipe(s);

    /* The header came; then the reader goes. */
    g_assert_cmpint(read(rfd, buf, sizeof(buf)), >, 0);
    close(rfd);
    expect_completed(s, "failed", -1, 64 * MIB,
                     "dump: failed to save memory: Broken pipe");
    expect_query(s, "failed", 64 * MIB);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");
    /* And the next one works. */
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s'}}", path);
    expect_completed(s, "completed", 64 * MIB, 64 * MIB, NULL);
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* A small private tmpfs (test_private_tmpfs), made in main() before
 * any thread: NULL with tmpfs_why where it cannot be had. */
static char *tmpfs_dir;
static char *tmpfs_why;

/* ENOSPC after the header: the dump fails, says why, the guest runs on
 * and the next dump works. Detached, as libvirt dumps. */
static void test_disk_full(void)
{
    QTestState *s;
    g_autofree char *full = NULL;
    g_autofree char *ok = qtest_scratch_path("after-full.elf");

    if (!tmpfs_dir) {
        g_test_skip(tmpfs_why);
        return;
    }
    full = g_build_filename(tmpfs_dir, "full.elf", NULL);
    s = qtest_init_accel_qtest("-m 64");
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s', "
                 "'detach': true}}", full);
    expect_completed(s, "failed", -1, 64 * MIB,
                     "dump: failed to save memory: No space left on device");
    g_assert_cmpint(query_completed(s), >, 0);
    g_assert_cmpint(query_completed(s), <, 512 * 1024);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");
    unlink(full);
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s'}}", ok);
    expect_completed(s, "completed", 64 * MIB, 64 * MIB, NULL);
    unlink(ok);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* quit while a detached dump waits on a pipe nobody reads. */
static void test_quit_during_dump(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 64");
    int rfd = dump_into_pipe(s);

    while (query_completed(s) == 0) {
        g_usleep(1000);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
    close(rfd);
}

/* ---- errors, in QEMU 7.2's words ---- */

static void test_errors(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 64");
    g_autofree char *path = qtest_scratch_path("err.elf");
    static const struct {
        const char *args;
        const char *error;
    } early[] = {
        { "'protocol': 'foo:bar'", "Invalid parameter 'protocol'" },
        { "'protocol': '/tmp/x'", "Invalid parameter 'protocol'" },
        { "'protocol': 'fd:nosuch'",
          "File descriptor named 'nosuch' has not been found" },
        { "'protocol': 'fd:3'",
          "File descriptor named '3' has not been found" },
        { "'protocol': 'file:/nonexistent/x'",
          "Could not open '/nonexistent/x': No such file or directory" },
        { "'protocol': 'file:'",
          "Could not open '': No such file or directory" },
        { "'protocol': 'file:/dev/null', 'begin': 0",
          "Parameter 'length' is missing" },
        { "'protocol': 'file:/dev/null', 'length': 4096",
          "Parameter 'begin' is missing" },
        { "'protocol': 'foo', 'format': 'kdump-zlib'",
          "kdump-zlib is not available now" },
        { "'protocol': 'foo', 'format': 'kdump-lzo'",
          "kdump-lzo is not available now" },
        { "'protocol': 'foo', 'format': 'kdump-snappy'",
          "kdump-snappy is not available now" },
        { "'protocol': 'foo', 'format': 'kdump-zlib', 'begin': 0",
          "kdump-compressed format doesn't support paging or filter" },
        { "'protocol': 'foo', 'format': 'kdump-lzo', 'length': 1",
          "kdump-compressed format doesn't support paging or filter" },
        { "'paging': true, 'protocol': 'foo', 'format': 'win-dmp'",
          "kdump-compressed format doesn't support paging or filter" },
        { "'protocol': 'foo', 'format': 'win-dmp', 'begin': 0, "
          "'length': 1",
          "kdump-compressed format doesn't support paging or filter" },
        { "'protocol': 'file:/dev/null', 'format': 'bogus'",
          "Parameter 'format' does not accept value 'bogus'" },
    };
    static const struct {
        const char *args;
        const char *error;
    } after_start[] = {
        { "'begin': 0, 'length': 0", "Invalid parameter 'length'" },
        { "'begin': -1, 'length': 4096", "Invalid parameter 'begin'" },
        { "'begin': 67108864, 'length': 4096",
          "dump: no guest memory to dump" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(early); i++) {
        qtest_qmp_assert_error_is(s, "GenericError", early[i].error,
                                  "{'execute': 'dump-guest-memory', "
                                  "'arguments': {%s%s}}",
                                  strstr(early[i].args, "'paging'")
                                  ? "" : "'paging': false, ",
                                  early[i].args);
        /* Refused before it began: nothing changed. */
        expect_query(s, "none", 0);
    }
    qtest_qmp_assert_error_is(s, "GenericError",
                              "Parameter 'protocol' is missing",
                              "{'execute': 'dump-guest-memory', "
                              "'arguments': {'paging': false}}");
    /* These begin, fail at once, and send no event. */
    for (size_t i = 0; i < G_N_ELEMENTS(after_start); i++) {
        qtest_qmp_assert_error_is(s, "GenericError", after_start[i].error,
                                  "{'execute': 'dump-guest-memory', "
                                  "'arguments': {'paging': false, "
                                  "'protocol': 'file:%s', %s}}", path,
                                  after_start[i].args);
        expect_query(s, "failed", 0);
    }
    g_assert_null(qtest_qmp_eventwait_timeout(s, "DUMP_COMPLETED", 100));
    /* These fail once started: DUMP_COMPLETED says so too. */
    qtest_qmp_assert_error_is(s, "GenericError",
                              "win-dump: invalid vmcoreinfo note size",
                              "{'execute': 'dump-guest-memory', "
                              "'arguments': {'paging': false, 'protocol': "
                              "'file:%s', 'format': 'win-dmp'}}", path);
    expect_completed(s, "failed", 0, 64 * MIB,
                     "win-dump: invalid vmcoreinfo note size");
    qtest_qmp_assert_error_is(s, "GenericError",
                              "dump: failed to write elf header: No space "
                              "left on device",
                              "{'execute': 'dump-guest-memory', "
                              "'arguments': {'paging': false, 'protocol': "
                              "'file:/dev/full'}}");
    expect_completed(s, "failed", 0, 64 * MIB,
                     "dump: failed to write elf header: No space left on "
                     "device");
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:/dev/full', "
                 "'detach': true}}");
    expect_completed(s, "failed", 0, 64 * MIB,
                     "dump: failed to write elf header: No space left on "
                     "device");
    expect_query(s, "failed", 64 * MIB);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Incoming migration pending: QEMU's refusal, before anything else. */
static void test_incoming(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 64 -incoming defer");

    qtest_qmp_assert_error_is(s, "GenericError",
                              "Dump not allowed during incoming migration.",
                              "{'execute': 'dump-guest-memory', "
                              "'arguments': {'paging': false, "
                              "'protocol': 'foo'}}");
    qtest_kill(s);
}

/* -machine none has no RAM here (QEMU's gives it -m of RAM). */
static void test_machine_none(void)
{
    QTestState *s = qtest_init_accel_qtest("-machine none");

    qtest_qmp_assert_error_is(s, "GenericError",
                              "dump: no guest memory to dump",
                              "{'execute': 'dump-guest-memory', "
                              "'arguments': {'paging': false, "
                              "'protocol': 'file:/dev/null'}}");
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- HMP ---- */

static void hmp_is(QTestState *s, const char *cmd, const char *want)
{
    g_autofree char *out = qtest_hmp(s, "%s", cmd);

    if (strcmp(out, want)) {
        g_error("'%s' printed '%s', expected '%s'", cmd, out, want);
    }
}

static void test_hmp(void)
{
    QTestState *s = qtest_init_accel_qtest("-m 64");
    g_autofree char *path = qtest_scratch_path("hmp.elf");
    g_autofree char *cmd = NULL;

    hmp_is(s, "info dump", "Status: none\r\n");
    write_marks(s, low_marks, 2);
    cmd = g_strdup_printf("dump-guest-memory %s", path);
    hmp_is(s, cmd, "");
    expect_completed(s, "completed", 64 * MIB, 64 * MIB, NULL);
    check_core(path, 0, (Load[]) { { 0, 64 * MIB } }, 1, low_marks, 2);
    hmp_is(s, "info dump", "Status: completed\r\n");
    g_free(cmd);
    /* begin and length are expressions, as pmemsave's. */
    cmd = g_strdup_printf("dump-guest-memory -d %s 0x1000+0x10 0x1000", path);
    hmp_is(s, cmd, "");
    expect_completed(s, "completed", 4096, 4096, NULL);
    check_core(path, 0, (Load[]) { { 0x1010, 0x1000 } }, 1, NULL, 0);
    g_free(cmd);
    cmd = g_strdup_printf("dump-guest-memory %s 0x1000", path);
    hmp_is(s, cmd, "Error: Parameter 'length' is missing\r\n");
    g_free(cmd);
    cmd = g_strdup_printf("dump-guest-memory -z -l %s", path);
    hmp_is(s, cmd, "Error: only one of '-z|-l|-s|-w' can be set\r\n");
    g_free(cmd);
    cmd = g_strdup_printf("dump-guest-memory -s %s", path);
    hmp_is(s, cmd, "Error: kdump-snappy is not available now\r\n");
    g_free(cmd);
    cmd = g_strdup_printf("dump-guest-memory -p -z %s", path);
    hmp_is(s, cmd, "Error: kdump-compressed format doesn't support paging "
           "or filter\r\n");
    g_free(cmd);
    cmd = g_strdup_printf("dump-guest-memory %s abc 12", path);
    hmp_is(s, cmd, "Error: invalid char 'a' in expression\r\n");
    hmp_is(s, "dump-guest-memory /nonexistent/x",
           "Error: Could not open '/nonexistent/x': No such file or "
           "directory\r\n");
    hmp_is(s, "dump-guest-memory", "Error: usage: dump-guest-memory [-p] "
           "[-d] [-z|-l|-s|-w] filename [begin length]\r\n");
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* ---- with KVM: the vCPUs' notes ---- */

static void test_kvm_notes(void)
{
    QTestState *s = qtest_init("-smp 2 -m 128");
    g_autofree char *path = qtest_scratch_path("kvm.elf");
    g_autofree char *notes = NULL;
    g_auto(GStrv) lines = NULL;
    unsigned prstatus = 0, qemu = 0;

    qtest_wait_guest_boot(s);
    qtest_qmp_ok(s, "{'execute': 'dump-guest-memory', 'arguments': "
                 "{'paging': false, 'protocol': 'file:%s'}}", path);
    expect_completed(s, "completed", 128 * MIB, 128 * MIB, NULL);
    /* Two vCPUs: 2 x (12 + 8 + 336) + 2 x (12 + 8 + 440) bytes. */
    check_core(path, 2 * (20 + 336) + 2 * (20 + 440),
               (Load[]) { { 0, 128 * MIB } }, 1, NULL, 0);
    notes = readelf("-n -W", path);
    lines = g_strsplit(notes, "\n", -1);
    for (char **l = lines; *l; l++) {
        prstatus += strstr(*l, "CORE") && strstr(*l, "NT_PRSTATUS") &&
                    strstr(*l, "0x00000150");
        qemu += strstr(*l, "QEMU") && strstr(*l, "0x000001b8") != NULL;
    }
    g_assert_cmpuint(prstatus, ==, 2);
    g_assert_cmpuint(qemu, ==, 2);
    /* The test guest runs in long mode with paging: refused, honestly. */
    qtest_qmp_assert_error_contains(s, "GenericError",
                                    "paging=true is not supported",
                                    "{'execute': 'dump-guest-memory', "
                                    "'arguments': {'paging': true, "
                                    "'protocol': 'file:%s'}}", path);
    g_assert_cmpstr(qtest_runstate(s, NULL), ==, "running");
    unlink(path);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpfs_dir = test_private_tmpfs("test-qtest-dump", "512k", &tmpfs_why);
    g_test_add_func("/dump/qtest/whole-and-ranges", test_whole_and_ranges);
    g_test_add_func("/dump/qtest/above-4g", test_above_4g);
    g_test_add_func("/dump/qtest/detached-fd", test_detached_fd);
    g_test_add_func("/dump/qtest/reader-gone", test_reader_gone);
    g_test_add_func("/dump/qtest/disk-full", test_disk_full);
    g_test_add_func("/dump/qtest/quit-during-dump", test_quit_during_dump);
    g_test_add_func("/dump/qtest/errors", test_errors);
    g_test_add_func("/dump/qtest/incoming", test_incoming);
    g_test_add_func("/dump/qtest/machine-none", test_machine_none);
    g_test_add_func("/dump/qtest/hmp", test_hmp);
    test_add_kvm_func("/dump/kvm/notes", test_kvm_notes);
    ret = g_test_run();
    test_private_tmpfs_remove(tmpfs_dir);
    return ret;
}
