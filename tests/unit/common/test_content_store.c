/*
 * Tests for content_store on a real temporary directory: WSUS layout, verified import (nothing
 * visible on a bad digest), the partial-download API the downloader uses (resume, restart,
 * lock, verification on finish), verify/quarantine, and the start-up permission check run as
 * an unprivileged user.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "content_store.h"
#include "testutil.h"

#define DATA_LEN (3 * 1024 * 1024 + 17)

struct fixture {
    char *dir;
    char src[4096];
    unsigned char *data;
    unsigned char sha1[20];
    unsigned char sha256[32];
    struct content_store *cs;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[512];
    size_t i;
    FILE *fp;

    f->dir = test_tmpdir();
    f->data = malloc(DATA_LEN);
    for (i = 0; i < DATA_LEN; i++)
        f->data[i] = (unsigned char)(i * 7 + (i >> 9));
    EVP_Digest(f->data, DATA_LEN, f->sha1, NULL, EVP_sha1(), NULL);
    EVP_Digest(f->data, DATA_LEN, f->sha256, NULL, EVP_sha256(), NULL);
    snprintf(f->src, sizeof(f->src), "%s/source.bin", f->dir);
    fp = fopen(f->src, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f->data, 1, DATA_LEN, fp), DATA_LEN);
    fclose(fp);
    {
        char root[4096];
        snprintf(root, sizeof(root), "%s/content", f->dir);
        f->cs = content_store_open(root, err, sizeof(err));
    }
    assert_non_null(f->cs);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    content_store_close(f->cs);
    test_rmtree(f->dir);
    free(f->dir);
    free(f->data);
    free(f);
    return 0;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_layout(void **state)
{
    struct fixture *f = *state;
    unsigned char d[20];
    char path[4096], want[4096], ext[CONTENT_STORE_EXT_MAX + 1];
    size_t i;

    (void)state;
    for (i = 0; i < 20; i++)
        d[i] = (unsigned char)(0xA0 + i);
    d[19] = 0x0B;
    assert_int_equal(content_store_path(f->cs, d, "Windows10-KB1-x64.CAB", path, sizeof(path)), 0);
    snprintf(want, sizeof(want),
             "%s/content/WsusContent/0B/A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B20B.cab", f->dir);
    assert_string_equal(path, want);
    assert_string_equal(content_store_ext("noext", ext), "");
    assert_string_equal(content_store_ext("a.b/../x.e x", ext), "");
    assert_string_equal(content_store_ext("a.PSF", ext), "psf");
    assert_int_equal(content_store_path(f->cs, d, "x.cab", path, 10), -1);
}

static void test_import(void **state)
{
    struct fixture *f = *state;
    unsigned char bad[20];
    char err[512], path[4096];

    assert_int_equal(content_store_path(f->cs, f->sha1, "a.cab", path, sizeof(path)), 0);
    /* wrong SHA-1: refused, nothing visible */
    memcpy(bad, f->sha1, 20);
    bad[0] ^= 1;
    assert_int_equal(
        content_store_import_file(f->cs, f->src, bad, NULL, DATA_LEN, "a.cab", err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "SHA-1 mismatch"));
    /* wrong SHA-256 or size: refused too */
    {
        unsigned char bad256[32];
        memcpy(bad256, f->sha256, 32);
        bad256[31] ^= 1;
        assert_int_equal(content_store_import_file(f->cs, f->src, f->sha1, bad256, DATA_LEN,
                                                   "a.cab", err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "SHA-256 mismatch"));
    }
    assert_int_equal(content_store_import_file(f->cs, f->src, f->sha1, NULL, DATA_LEN - 1, "a.cab",
                                               err, sizeof(err)),
                     -1);
    assert_false(file_exists(path));
    /* right digests: published, verifies */
    assert_int_equal(content_store_import_file(f->cs, f->src, f->sha1, f->sha256, DATA_LEN, "a.cab",
                                               err, sizeof(err)),
                     0);
    assert_true(file_exists(path));
    assert_int_equal(
        content_store_verify(f->cs, f->sha1, f->sha256, DATA_LEN, "a.cab", err, sizeof(err)),
        CONTENT_VERIFY_OK);
    /* importing again is a no-op that still succeeds */
    assert_int_equal(content_store_import_file(f->cs, f->src, f->sha1, f->sha256, DATA_LEN, "a.cab",
                                               err, sizeof(err)),
                     0);
}

static void test_partial_resume(void **state)
{
    struct fixture *f = *state;
    struct content_partial *p, *q;
    char err[512], path[4096];
    size_t half = DATA_LEN / 2;

    assert_int_equal(content_store_path(f->cs, f->sha1, "b.exe", path, sizeof(path)), 0);
    p = content_store_partial_open(f->cs, f->sha1, f->sha256, DATA_LEN, "b.exe", err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(content_store_partial_offset(p), 0);
    /* a second downloader of the same digest is refused while the first holds it */
    q = content_store_partial_open(f->cs, f->sha1, f->sha256, DATA_LEN, "b.exe", err, sizeof(err));
    assert_null(q);
    assert_non_null(strstr(err, "another"));
    assert_int_equal(content_store_partial_append(p, f->data, half, err, sizeof(err)), 0);
    content_store_partial_abort(p); /* connection lost */
    assert_false(file_exists(path));

    /* a later run resumes where the bytes stop */
    p = content_store_partial_open(f->cs, f->sha1, f->sha256, DATA_LEN, "b.exe", err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(content_store_partial_offset(p), (int64_t)half);
    /* more bytes than the catalog says are refused */
    assert_int_equal(content_store_partial_append(p, f->data, DATA_LEN, err, sizeof(err)), -1);
    content_store_partial_abort(p);
    p = content_store_partial_open(f->cs, f->sha1, f->sha256, DATA_LEN, "b.exe", err, sizeof(err));
    assert_int_equal(content_store_partial_offset(p), (int64_t)half);
    assert_int_equal(
        content_store_partial_append(p, f->data + half, DATA_LEN - half, err, sizeof(err)), 0);
    assert_false(file_exists(path));
    assert_int_equal(content_store_partial_finish(p, err, sizeof(err)), 0);
    assert_true(file_exists(path));
    assert_int_equal(content_store_verify(f->cs, f->sha1, f->sha256, DATA_LEN, "b.exe", NULL, 0),
                     CONTENT_VERIFY_OK);
}

static void test_partial_bad_bytes(void **state)
{
    struct fixture *f = *state;
    struct content_partial *p;
    char err[512], path[4096], part[4200];
    unsigned char *junk = malloc(DATA_LEN);

    memcpy(junk, f->data, DATA_LEN);
    junk[DATA_LEN / 3] ^= 0xff;
    assert_int_equal(content_store_path(f->cs, f->sha1, "c.cab", path, sizeof(path)), 0);
    snprintf(part, sizeof(part), "%s.partial", path);
    p = content_store_partial_open(f->cs, f->sha1, NULL, DATA_LEN, "c.cab", err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(content_store_partial_append(p, junk, 1000, err, sizeof(err)), 0);
    /* upstream ignored Range (200): start again from zero */
    assert_int_equal(content_store_partial_restart(p, err, sizeof(err)), 0);
    assert_int_equal(content_store_partial_offset(p), 0);
    assert_int_equal(content_store_partial_append(p, junk, DATA_LEN, err, sizeof(err)), 0);
    assert_int_equal(content_store_partial_finish(p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SHA-1 mismatch"));
    assert_false(file_exists(path)); /* never visible */
    assert_false(file_exists(part)); /* bad bytes are not resumed */
    free(junk);
}

/* Several partials published at once: each gets its own outcome, the good ones their names. */
static void test_partials_batch(void **state)
{
    struct fixture *f = *state;
    struct content_partial *p[3];
    unsigned char small[4096], sha1_small[20], sha1_bad[20];
    char err[3][512], path[3][4096], part[4200];
    int rc[3];
    size_t i;

    for (i = 0; i < sizeof(small); i++)
        small[i] = (unsigned char)(i * 13);
    EVP_Digest(small, sizeof(small), sha1_small, NULL, EVP_sha1(), NULL);
    memcpy(sha1_bad, sha1_small, 20);
    sha1_bad[0] ^= 0x01; /* the bytes of small do not have this digest */
    p[0] = content_store_partial_open(f->cs, f->sha1, f->sha256, DATA_LEN, "a.cab", err[0], 512);
    p[1] = content_store_partial_open(f->cs, sha1_small, NULL, sizeof(small), "s.exe", err[1], 512);
    p[2] = content_store_partial_open(f->cs, sha1_bad, NULL, sizeof(small), "x.exe", err[2], 512);
    assert_non_null(p[0]);
    assert_non_null(p[1]);
    assert_non_null(p[2]);
    assert_int_equal(content_store_partial_append(p[0], f->data, DATA_LEN, err[0], 512), 0);
    assert_int_equal(content_store_partial_append(p[1], small, sizeof(small), err[1], 512), 0);
    assert_int_equal(content_store_partial_append(p[2], small, sizeof(small), err[2], 512), 0);
    assert_int_equal(content_store_path(f->cs, f->sha1, "a.cab", path[0], 4096), 0);
    assert_int_equal(content_store_path(f->cs, sha1_small, "s.exe", path[1], 4096), 0);
    assert_int_equal(content_store_path(f->cs, sha1_bad, "x.exe", path[2], 4096), 0);
    content_store_partials_finish(p, 3, rc, err[0], sizeof(err[0]));
    assert_int_equal(rc[0], 0);
    assert_int_equal(rc[1], 0);
    assert_int_equal(rc[2], -1);
    assert_non_null(strstr(err[2], "SHA-1 mismatch"));
    assert_true(file_exists(path[0]));
    assert_true(file_exists(path[1]));
    assert_false(file_exists(path[2]));
    snprintf(part, sizeof(part), "%s.partial", path[2]);
    assert_false(file_exists(part)); /* bad bytes are not resumed */
    assert_int_equal(content_store_verify(f->cs, f->sha1, f->sha256, DATA_LEN, "a.cab", NULL, 0),
                     CONTENT_VERIFY_OK);
    assert_int_equal(content_store_verify(f->cs, sha1_small, NULL, sizeof(small), "s.exe", NULL, 0),
                     CONTENT_VERIFY_OK);
}

/* A batch of 12 with one bad digest: the good files published, the bad one not. */
static void test_partials_big_batch(void **state)
{
    struct fixture *f = *state;
    enum { N = 12, LEN = 32768 };
    struct content_partial *p[N];
    unsigned char *bytes = malloc((size_t)N * LEN), sha1[N][20];
    char err[N][512], path[N][4096], part[4200], name[32];
    int rc[N];
    size_t i, k;

    assert_non_null(bytes);
    for (k = 0; k < N; k++) {
        for (i = 0; i < LEN; i++)
            bytes[k * LEN + i] = (unsigned char)(i * 31 + k * 7 + (i >> 8));
        EVP_Digest(bytes + k * LEN, LEN, sha1[k], NULL, EVP_sha1(), NULL);
    }
    sha1[5][19] ^= 0x01; /* file 5's bytes do not have this digest */
    for (k = 0; k < N; k++) {
        snprintf(name, sizeof(name), "f%zu.cab", k);
        p[k] = content_store_partial_open(f->cs, sha1[k], NULL, LEN, name, err[k], 512);
        assert_non_null(p[k]);
        assert_int_equal(content_store_partial_append(p[k], bytes + k * LEN, LEN, err[k], 512), 0);
        assert_int_equal(content_store_path(f->cs, sha1[k], name, path[k], 4096), 0);
    }
    content_store_partials_finish(p, N, rc, err[0], sizeof(err[0]));
    for (k = 0; k < N; k++) {
        snprintf(name, sizeof(name), "f%zu.cab", k);
        snprintf(part, sizeof(part), "%s.partial", path[k]);
        assert_false(file_exists(part));
        if (k == 5) {
            assert_int_equal(rc[k], -1);
            assert_non_null(strstr(err[k], "SHA-1 mismatch"));
            assert_false(file_exists(path[k]));
            continue;
        }
        assert_int_equal(rc[k], 0);
        assert_int_equal(content_store_verify(f->cs, sha1[k], NULL, LEN, name, NULL, 0),
                         CONTENT_VERIFY_OK);
    }
    free(bytes);
}

static void test_verify_and_quarantine(void **state)
{
    struct fixture *f = *state;
    char err[512], path[4096], dest[4096];
    int fd;

    assert_int_equal(
        content_store_verify(f->cs, f->sha1, NULL, DATA_LEN, "d.cab", err, sizeof(err)),
        CONTENT_VERIFY_MISSING);
    assert_int_equal(content_store_import_file(f->cs, f->src, f->sha1, NULL, DATA_LEN, "d.cab", err,
                                               sizeof(err)),
                     0);
    assert_int_equal(content_store_path(f->cs, f->sha1, "d.cab", path, sizeof(path)), 0);
    /* flip one byte in place: same size, wrong digest */
    fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 12345), 1);
    close(fd);
    assert_int_equal(
        content_store_verify(f->cs, f->sha1, NULL, DATA_LEN, "d.cab", err, sizeof(err)),
        CONTENT_VERIFY_CORRUPT);
    assert_non_null(strstr(err, "SHA-1 mismatch"));
    assert_int_equal(
        content_store_verify(f->cs, f->sha1, NULL, DATA_LEN + 1, "d.cab", err, sizeof(err)),
        CONTENT_VERIFY_CORRUPT);
    assert_non_null(strstr(err, "size mismatch"));
    assert_int_equal(
        content_store_quarantine(f->cs, f->sha1, "d.cab", dest, sizeof(dest), err, sizeof(err)), 0);
    assert_false(file_exists(path));
    assert_true(file_exists(dest));
    assert_non_null(strstr(dest, "/content/Quarantine/"));
    assert_int_equal(
        content_store_quarantine(f->cs, f->sha1, "d.cab", dest, sizeof(dest), err, sizeof(err)),
        -1);
}

/*
 * The start-up check, as the service user: a directory that user cannot write is refused with
 * a message naming the directory, the user and the fix. As root (CI) the child switches to
 * "nobody" first, so the check is real and not waved through by root's privileges.
 */
static void test_permission_check(void **state)
{
    struct fixture *f = *state;
    char dir[4096];
    int pipefd[2], status;
    pid_t pid;

    snprintf(dir, sizeof(dir), "%s/locked", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chmod(f->dir, 0711), 0); /* reachable, so the message is about dir */
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[1024];
        struct content_store *cs;
        close(pipefd[0]);
        if (geteuid() == 0) {
            struct passwd *pw = getpwnam("nobody");
            if (pw == NULL || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
                _exit(3);
        } else if (chmod(dir, 0500) < 0) {
            _exit(3);
        }
        cs = content_store_open(dir, err, sizeof(err));
        if (cs != NULL)
            _exit(2);
        if (write(pipefd[1], err, strlen(err)) < 0)
            _exit(3);
        _exit(0);
    }
    close(pipefd[1]);
    {
        char msg[1024] = "";
        ssize_t n = read(pipefd[0], msg, sizeof(msg) - 1);
        close(pipefd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true(n > 0);
        msg[n] = '\0';
        assert_non_null(strstr(msg, dir));
        assert_non_null(strstr(msg, "write"));
        assert_non_null(strstr(msg, "fix: chown"));
        if (geteuid() == 0)
            assert_non_null(strstr(msg, "nobody"));
    }
    chmod(dir, 0755);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_bad_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partials_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partials_big_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_and_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
