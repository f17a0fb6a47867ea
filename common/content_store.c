/*
 * content_store: the WsusContent tree, atomic verified publishing, resumable partial
 * downloads, verification and quarantine. Every file becomes visible only by rename(2) after
 * its digests checked out and its bytes reached the disk (fsync of file and directory).
 * No catalog access, no HTTP.
 */
#include "content_store.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONTENT_IO_CHUNK   (1 << 20)
#define CONTENT_FLUSH_STEP (8 << 20) /* a download's bytes go to disk in steps of this size */

struct content_store {
    char *dir;      /* content_dir */
    char *wsus_dir; /* content_dir/WsusContent */
};

struct content_hash {
    EVP_MD_CTX *sha1;
    EVP_MD_CTX *sha256;
};

struct content_partial {
    struct content_store *cs;
    int fd;
    int broken; /* a write failed: the hashes no longer describe the file */
    int64_t offset;
    int64_t flushed; /* bytes before this offset are being written to disk (sync_file_range) */
    int64_t size;    /* expected, -1 unknown */
    unsigned char sha1[20];
    unsigned char sha256[32];
    int has_sha256;
    char path[4096];  /* the .partial file */
    char final[4096]; /* the published name */
    struct content_hash hash;
};

static void content_hash_init(struct content_hash *h)
{
    h->sha1 = EVP_MD_CTX_new();
    h->sha256 = EVP_MD_CTX_new();
    if (h->sha1 == NULL || h->sha256 == NULL)
        fatalx("out of memory for digest contexts");
    if (EVP_DigestInit_ex(h->sha1, EVP_sha1(), NULL) != 1 ||
        EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL) != 1)
        fatalx("openssl cannot initialise SHA-1/SHA-256");
}

static void content_hash_update(struct content_hash *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->sha1, data, len);
    EVP_DigestUpdate(h->sha256, data, len);
}

static void content_hash_final(struct content_hash *h, unsigned char sha1[20],
                               unsigned char sha256[32])
{
    EVP_DigestFinal_ex(h->sha1, sha1, NULL);
    EVP_DigestFinal_ex(h->sha256, sha256, NULL);
}

static void content_hash_free(struct content_hash *h)
{
    EVP_MD_CTX_free(h->sha1);
    EVP_MD_CTX_free(h->sha256);
    h->sha1 = h->sha256 = NULL;
}

char *content_store_hex(const unsigned char *digest, size_t len, char *out)
{
    return str_hex_encode(digest, len, 1, out);
}

char *content_store_ext(const char *file_name, char *out)
{
    const char *dot = file_name ? strrchr(file_name, '.') : NULL;
    size_t i, n;

    out[0] = '\0';
    if (dot == NULL)
        return out;
    n = strlen(dot + 1);
    if (n == 0 || n > CONTENT_STORE_EXT_MAX)
        return out;
    for (i = 0; i < n; i++) {
        char c = dot[1 + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            out[0] = '\0';
            return out;
        }
        out[i] = c;
    }
    out[n] = '\0';
    return out;
}

/* "name (uid N)" into who, and the bare name (or the uid) into name, for the fix line. */
static void content_user_name(char *who, size_t wholen, char *name, size_t namelen)
{
    struct passwd pw, *res = NULL;
    char pwbuf[1024];
    uid_t uid = geteuid();

    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL) {
        snprintf(who, wholen, "%s (uid %u)", res->pw_name, (unsigned)uid);
        snprintf(name, namelen, "%s", res->pw_name);
    } else {
        snprintf(who, wholen, "uid %u", (unsigned)uid);
        snprintf(name, namelen, "%u", (unsigned)uid);
    }
}

static void content_add_missing(char *missing, size_t len, const char *what)
{
    size_t n = strlen(missing);

    snprintf(missing + n, len - n, "%s%s", n ? ", " : "", what);
}

/* The directory exists (created if missing) and the effective user may read, write, search. */
static int content_check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    char who[300], name[256], missing[64] = "";

    content_user_name(who, sizeof(who), name, sizeof(name));
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT && mkdir(dir, 0755) == 0) {
            log_info("created content directory %s", dir);
            return 0;
        }
        snprintf(err, errlen,
                 "content directory %s cannot be %s by user %s: %s; fix: mkdir -p %s && "
                 "chown -R %s: %s (and make its parent directories searchable), or set "
                 "[storage] content_dir",
                 dir, errno == ENOENT ? "created" : "reached", who, strerror(errno), dir, name,
                 dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "content directory %s is not a directory; fix: set [storage] content_dir to a "
                 "directory",
                 dir);
        return -1;
    }
    if (faccessat(AT_FDCWD, dir, R_OK, AT_EACCESS) < 0)
        content_add_missing(missing, sizeof(missing), "read");
    if (faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) < 0)
        content_add_missing(missing, sizeof(missing), "write");
    if (faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) < 0)
        content_add_missing(missing, sizeof(missing), "search (x)");
    if (missing[0] == '\0')
        return 0;
    snprintf(err, errlen,
             "content directory %s is not usable by user %s: missing %s permission; fix: "
             "chown -R %s: %s && chmod -R u+rwX %s",
             dir, who, missing, name, dir, dir);
    return -1;
}

int content_store_check(const char *content_dir, char *err, size_t errlen)
{
    char *wsus_dir;
    int rc;

    if (content_dir == NULL || content_dir[0] != '/') {
        snprintf(err, errlen, "content directory \"%s\" must be an absolute path",
                 content_dir ? content_dir : "");
        return -1;
    }
    if (content_check_dir(content_dir, err, errlen) < 0)
        return -1;
    wsus_dir = xasprintf("%s/WsusContent", content_dir);
    rc = content_check_dir(wsus_dir, err, errlen);
    free(wsus_dir);
    return rc;
}

struct content_store *content_store_open(const char *content_dir, char *err, size_t errlen)
{
    struct content_store *cs;

    if (content_store_check(content_dir, err, errlen) < 0)
        return NULL;
    cs = xcalloc(1, sizeof(*cs));
    cs->dir = xstrdup(content_dir);
    cs->wsus_dir = xasprintf("%s/WsusContent", content_dir);
    return cs;
}

void content_store_close(struct content_store *cs)
{
    if (cs == NULL)
        return;
    free(cs->dir);
    free(cs->wsus_dir);
    free(cs);
}

const char *content_store_dir(const struct content_store *cs)
{
    return cs->dir;
}

int content_store_path(const struct content_store *cs, const unsigned char sha1[20],
                       const char *file_name, char *out, size_t outlen)
{
    char hex[41], ext[CONTENT_STORE_EXT_MAX + 1];
    int n;

    content_store_hex(sha1, 20, hex);
    content_store_ext(file_name, ext);
    n = snprintf(out, outlen, "%s/%s/%s%s%s", cs->wsus_dir, hex + 38, hex, ext[0] ? "." : "", ext);
    return (n > 0 && (size_t)n < outlen) ? 0 : -1;
}

/* Directory of a path (in place copy into out). */
static void content_dirname(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

static int content_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* mkdir of the XX directory of final path. */
static int content_make_parent(const char *final, char *err, size_t errlen)
{
    char dir[4096];

    content_dirname(final, dir, sizeof(dir));
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int content_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Compare computed digests with expectations; 0, or -1 with the mismatch in err. */
static int content_compare(const unsigned char sha1[20], const unsigned char *sha256, int64_t size,
                           const unsigned char got1[20], const unsigned char got256[32],
                           int64_t got_size, char *err, size_t errlen)
{
    char a[65], b[65];

    if (size >= 0 && got_size != size) {
        snprintf(err, errlen, "size mismatch: catalog says %lld bytes, file has %lld",
                 (long long)size, (long long)got_size);
        return -1;
    }
    if (memcmp(sha1, got1, 20) != 0) {
        snprintf(err, errlen, "SHA-1 mismatch: expected %s, file has %s",
                 content_store_hex(sha1, 20, a), content_store_hex(got1, 20, b));
        return -1;
    }
    if (sha256 != NULL && memcmp(sha256, got256, 32) != 0) {
        snprintf(err, errlen, "SHA-256 mismatch: expected %s, file has %s",
                 content_store_hex(sha256, 32, a), content_store_hex(got256, 32, b));
        return -1;
    }
    return 0;
}

/* Hash fd from its current position to EOF. Bytes read go to *total. 0 or -1 (errno). */
static int content_hash_fd(int fd, struct content_hash *h, int64_t *total)
{
    char *buf = xmalloc(CONTENT_IO_CHUNK);
    int rc = -1;

    *total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CONTENT_IO_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        if (r == 0)
            break;
        content_hash_update(h, buf, (size_t)r);
        *total += r;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

enum content_verify content_store_verify(const struct content_store *cs,
                                         const unsigned char sha1[20], const unsigned char *sha256,
                                         int64_t size, const char *file_name, char *detail,
                                         size_t detaillen)
{
    char path[4096], dummy[8], msg[512];
    struct content_hash h;
    unsigned char got1[20], got256[32];
    struct stat st;
    int64_t total;
    enum content_verify rc = CONTENT_VERIFY_ERROR;
    int fd;

    if (detail == NULL) {
        detail = dummy;
        detaillen = sizeof(dummy);
    }
    detail[0] = '\0';
    if (content_store_path(cs, sha1, file_name, path, sizeof(path)) < 0) {
        snprintf(detail, detaillen, "path too long");
        return CONTENT_VERIFY_ERROR;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(detail, detaillen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? CONTENT_VERIFY_MISSING : CONTENT_VERIFY_ERROR;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(detail, detaillen, "%s: not a regular file", path);
        close(fd);
        return CONTENT_VERIFY_CORRUPT;
    }
    if (size >= 0 && st.st_size != size) {
        snprintf(detail, detaillen, "size mismatch: catalog says %lld bytes, file has %lld",
                 (long long)size, (long long)st.st_size);
        close(fd);
        return CONTENT_VERIFY_CORRUPT;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    content_hash_init(&h);
    if (content_hash_fd(fd, &h, &total) < 0) {
        snprintf(detail, detaillen, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    content_hash_final(&h, got1, got256);
    if (content_compare(sha1, sha256, size, got1, got256, total, msg, sizeof(msg)) < 0) {
        snprintf(detail, detaillen, "%s", msg);
        rc = CONTENT_VERIFY_CORRUPT;
        goto out;
    }
    rc = CONTENT_VERIFY_OK;
out:
    content_hash_free(&h);
    close(fd);
    return rc;
}

int content_store_import_file(struct content_store *cs, const char *src_path,
                              const unsigned char sha1[20], const unsigned char *sha256,
                              int64_t size, const char *file_name, char *err, size_t errlen)
{
    char final[4096], tmp[4096], msg[512];
    char *buf = NULL;
    struct content_hash h;
    unsigned char got1[20], got256[32];
    int64_t total = 0;
    int in = -1, out = -1, rc = -1, n;

    memset(&h, 0, sizeof(h));
    if (content_store_path(cs, sha1, file_name, final, sizeof(final)) < 0) {
        snprintf(err, errlen, "content path too long under %s", cs->dir);
        return -1;
    }
    if (content_store_verify(cs, sha1, sha256, size, file_name, NULL, 0) == CONTENT_VERIFY_OK)
        return 0;
    in = open(src_path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(err, errlen, "cannot open %s: %s", src_path, strerror(errno));
        return -1;
    }
    if (content_make_parent(final, err, errlen) < 0)
        goto out;
    n = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", final);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, errlen, "content path too long under %s", cs->dir);
        goto out;
    }
    out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0) {
        snprintf(err, errlen, "cannot create a temporary file next to %s: %s", final,
                 strerror(errno));
        goto out;
    }
    fchmod(out, 0644);
    posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
    content_hash_init(&h);
    buf = xmalloc(CONTENT_IO_CHUNK);
    for (;;) {
        ssize_t r = read(in, buf, CONTENT_IO_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "cannot read %s: %s", src_path, strerror(errno));
            goto out_unlink;
        }
        if (r == 0)
            break;
        content_hash_update(&h, buf, (size_t)r);
        total += r;
        if (size >= 0 && total > size) {
            snprintf(err, errlen, "%s: larger than the %lld bytes the catalog says", src_path,
                     (long long)size);
            goto out_unlink;
        }
        if (content_write_all(out, buf, (size_t)r) < 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto out_unlink;
        }
    }
    content_hash_final(&h, got1, got256);
    if (content_compare(sha1, sha256, size, got1, got256, total, msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s: %s", src_path, msg);
        goto out_unlink;
    }
    if (fsync(out) < 0 || rename(tmp, final) < 0) {
        snprintf(err, errlen, "cannot publish %s: %s", final, strerror(errno));
        goto out_unlink;
    }
    content_dirname(final, tmp, sizeof(tmp));
    content_fsync_dir(tmp);
    rc = 0;
    goto out;
out_unlink:
    unlink(tmp);
out:
    free(buf);
    content_hash_free(&h);
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    return rc;
}

int content_store_quarantine(struct content_store *cs, const unsigned char sha1[20],
                             const char *file_name, char *dest, size_t destlen, char *err,
                             size_t errlen)
{
    char path[4096], qdir[4096], target[4096], hex[41], ext[CONTENT_STORE_EXT_MAX + 1];
    int n;

    if (content_store_path(cs, sha1, file_name, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "content path too long under %s", cs->dir);
        return -1;
    }
    if (str_fmt(qdir, sizeof(qdir), "%s/Quarantine", cs->dir) < 0) {
        snprintf(err, errlen, "quarantine directory path too long under %s", cs->dir);
        return -1;
    }
    if (mkdir(qdir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", qdir, strerror(errno));
        return -1;
    }
    content_store_hex(sha1, 20, hex);
    content_store_ext(file_name, ext);
    n = snprintf(target, sizeof(target), "%s/%s%s%s.%lld", qdir, hex, ext[0] ? "." : "", ext,
                 (long long)time(NULL));
    if (n < 0 || (size_t)n >= sizeof(target)) {
        snprintf(err, errlen, "quarantine path too long under %s", qdir);
        return -1;
    }
    if (rename(path, target) < 0) {
        snprintf(err, errlen, "cannot move %s to %s: %s", path, target, strerror(errno));
        return -1;
    }
    content_fsync_dir(qdir);
    if (dest != NULL) /* where it went, for the admin's message */
        str_copy_cut(dest, destlen, target);
    return 0;
}

struct content_partial *content_store_partial_open(struct content_store *cs,
                                                   const unsigned char sha1[20],
                                                   const unsigned char *sha256, int64_t size,
                                                   const char *file_name, char *err, size_t errlen)
{
    struct content_partial *p = xcalloc(1, sizeof(*p));
    struct stat st;
    int n;

    p->cs = cs;
    p->fd = -1;
    p->size = size;
    memcpy(p->sha1, sha1, 20);
    if (sha256 != NULL) {
        memcpy(p->sha256, sha256, 32);
        p->has_sha256 = 1;
    }
    if (content_store_path(cs, sha1, file_name, p->final, sizeof(p->final)) < 0)
        goto toolong;
    n = snprintf(p->path, sizeof(p->path), "%s.partial", p->final);
    if (n < 0 || (size_t)n >= sizeof(p->path))
        goto toolong;
    if (content_make_parent(p->final, err, errlen) < 0)
        goto fail;
    p->fd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (p->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", p->path, strerror(errno));
        goto fail;
    }
    if (flock(p->fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "%s is being downloaded by another process or thread", p->path);
        goto fail;
    }
    if (fstat(p->fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat %s: %s", p->path, strerror(errno));
        goto fail;
    }
    content_hash_init(&p->hash);
    if (size >= 0 && st.st_size > size) {
        log_warnx("%s is longer than the %lld bytes expected, starting it again", p->path,
                  (long long)size);
        if (ftruncate(p->fd, 0) < 0) {
            snprintf(err, errlen, "cannot truncate %s: %s", p->path, strerror(errno));
            goto fail;
        }
    }
    if (content_hash_fd(p->fd, &p->hash, &p->offset) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", p->path, strerror(errno));
        goto fail;
    }
    p->flushed = p->offset;
    return p;
toolong:
    snprintf(err, errlen, "content path too long under %s", cs->dir);
fail:
    content_store_partial_abort(p);
    return NULL;
}

int64_t content_store_partial_offset(const struct content_partial *p)
{
    return p->offset;
}

int content_store_partial_append(struct content_partial *p, const void *data, size_t len, char *err,
                                 size_t errlen)
{
    if (p->broken) {
        snprintf(err, errlen, "%s: an earlier write failed; abort and reopen", p->path);
        return -1;
    }
    if (p->size >= 0 && (int64_t)len > p->size - p->offset) {
        snprintf(err, errlen, "%s: upstream sent more than the %lld bytes the catalog says",
                 p->path, (long long)p->size);
        p->broken = 1;
        return -1;
    }
    if (content_write_all(p->fd, data, len) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", p->path, strerror(errno));
        p->broken = 1;
        return -1;
    }
    content_hash_update(&p->hash, data, len);
    p->offset += (int64_t)len;
    if (p->offset - p->flushed >= CONTENT_FLUSH_STEP) {
        /* start writing what came so far: the disk works while the rest arrives, and the
           fsync of the publication waits for the last step only, not for the whole file */
        (void)sync_file_range(p->fd, p->flushed, p->offset - p->flushed, SYNC_FILE_RANGE_WRITE);
        p->flushed = p->offset;
    }
    return 0;
}

int content_store_partial_restart(struct content_partial *p, char *err, size_t errlen)
{
    if (ftruncate(p->fd, 0) < 0 || lseek(p->fd, 0, SEEK_SET) < 0) {
        snprintf(err, errlen, "cannot truncate %s: %s", p->path, strerror(errno));
        p->broken = 1;
        return -1;
    }
    content_hash_free(&p->hash);
    content_hash_init(&p->hash);
    p->offset = 0;
    p->flushed = 0;
    p->broken = 0;
    return 0;
}

/* The checks of a publication that need no disk wait: 0, or -1 with p consumed and err set. */
static int content_partial_check(struct content_partial *p, char *err, size_t errlen)
{
    unsigned char got1[20], got256[32];
    char msg[512];

    if (p->broken) {
        snprintf(err, errlen, "%s: an earlier write failed, not publishing it", p->path);
        content_store_partial_abort(p);
        return -1;
    }
    content_hash_final(&p->hash, got1, got256);
    if (content_compare(p->sha1, p->has_sha256 ? p->sha256 : NULL, p->size, got1, got256, p->offset,
                        msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s: %s; the partial download was deleted", p->final, msg);
        content_store_partial_discard(p);
        return -1;
    }
    return 0;
}

int content_store_partial_finish(struct content_partial *p, char *err, size_t errlen)
{
    int rc;

    content_store_partials_finish(&p, 1, &rc, err, errlen);
    return rc;
}

/* Publishing p[i] failed (errno says why): its message in err[i], the partial removed. */
static void publish_failed(struct content_partial **p, int *rc, char *err, size_t errlen, size_t i)
{
    snprintf(err + i * errlen, errlen, "cannot publish %s: %s", p[i]->final, strerror(errno));
    content_store_partial_abort(p[i]);
    p[i] = NULL;
    rc[i] = -1;
}

/* The first partial of the batch still being published, or NULL. */
static struct content_partial *content_first_left(struct content_partial **p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != NULL)
            return p[i];
    return NULL;
}

/* The batch's data on disk, one fsync a file (the writes started together first). */
static void content_flush_each(struct content_partial **p, size_t n, int *rc, char *err,
                               size_t errlen)
{
    size_t i;

    /* start writing every file's data at once: the fsyncs below then wait for writes already
       under way, and the first one's journal commit carries the others' block allocations */
    for (i = 0; i < n; i++)
        if (p[i] != NULL)
            (void)sync_file_range(p[i]->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    for (i = 0; i < n; i++) {
        if (p[i] != NULL && fsync(p[i]->fd) < 0)
            publish_failed(p, rc, err, errlen, i);
    }
}

/* The renames of the batch on disk: each directory fsync'd once. */
static void content_flush_dirs(struct content_partial **p, size_t n)
{
    char dir[4096], done[4096];
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (p[i] == NULL)
            continue;
        content_dirname(p[i]->final, dir, sizeof(dir));
        for (j = 0; j < i; j++) {
            if (p[j] == NULL)
                continue;
            content_dirname(p[j]->final, done, sizeof(done));
            if (strcmp(done, dir) == 0)
                break;
        }
        if (j == i)
            content_fsync_dir(dir);
    }
}

void content_store_partials_finish(struct content_partial **p, size_t n, int *rc, char *err,
                                   size_t errlen)
{
    size_t i;

    for (i = 0; i < n; i++) {
        rc[i] = content_partial_check(p[i], err + i * errlen, errlen);
        if (rc[i] < 0)
            p[i] = NULL;
    }
    if (content_first_left(p, n) == NULL)
        return;
    /* syncfs(2) of the whole file system was measured no faster for batches of 32 KiB files
       (docs/sync.md), and it also waits for whatever other programs left dirty there */
    content_flush_each(p, n, rc, err, errlen);
    /* every file's bytes are on disk before any of them gets its published name */
    for (i = 0; i < n; i++) {
        if (p[i] != NULL && rename(p[i]->path, p[i]->final) < 0)
            publish_failed(p, rc, err, errlen, i);
    }
    if (content_first_left(p, n) == NULL)
        return;
    /* the renames on disk before this returns (and the catalog records the files) */
    content_flush_dirs(p, n);
    for (i = 0; i < n; i++) {
        if (p[i] != NULL) {
            rc[i] = 0;
            content_store_partial_abort(p[i]); /* closes and frees; the file has its name */
        }
    }
}

void content_store_partial_abort(struct content_partial *p)
{
    if (p == NULL)
        return;
    if (p->fd >= 0)
        close(p->fd);
    content_hash_free(&p->hash);
    free(p);
}

void content_store_partial_discard(struct content_partial *p)
{
    if (p == NULL)
        return;
    if (p->fd >= 0)
        unlink(p->path);
    content_store_partial_abort(p);
}
