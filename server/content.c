/*
 * content: GET/HEAD /Content/<XX>/<SHA1HEX>.<ext>. Path grammar check -> digest lookup (a small
 * cache in front of one prepared statement on a pooled connection) -> open the published file
 * -> preconditions (RFC 9110 13.2.2 order) -> 200, 206 (sendfile), 206 multipart (pread), 304,
 * 412 or 416. Requests never name a file: the path on disk is built from the digest and the
 * catalog's extension. Range parsing itself lives in common/format/range.c.
 */
#include "content.h"
#include "catalog.h"
#include "db.h"
#include "dbpool.h"
#include "log.h"
#include "metrics.h"
#include "strutil.h"
#include "range.h"
#include "server.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONTENT_TYPE        "application/octet-stream"
#define CONTENT_CACHE_SLOTS 4096 /* direct-mapped on the digest's first bits */
#define CONTENT_CACHE_LOCKS 64
#define CONTENT_CACHE_TTL   2 /* seconds a positive catalog answer is reused */
#define CONTENT_DB_WAIT_MS  5000
#define CONTENT_KEPT_SLOTS  4096 /* whole-file answers kept: direct-mapped on digest bytes 2-3 */
#define CONTENT_KEPT_MAX    1024 /* open files they hold at most (fewer under a low fd limit) */
/* Files up to this size only: libmicrohttpd sends a shared response's body under the
   response's one mutex, so connections sending the same file take turns (two sendfile steps
   at most for these), and a larger file's open per request costs little next to its body. */
#define CONTENT_KEPT_MAX_SIZE (256 * 1024)

struct content_cache_entry {
    unsigned char sha1[20];
    int used;
    time_t expires; /* CLOCK_MONOTONIC seconds */
    int64_t size;   /* catalog size, -1 unknown */
    char ext[CONTENT_STORE_EXT_MAX + 1];
};

/* A whole-file 200 answer to GET, built once (headers, open file) and queued to every plain
   GET of its digest while lstat() of its path still finds the very file it was opened from:
   a file deleted, quarantined, replaced or changed on disk is never served from it. */
struct content_kept {
    pthread_mutex_t lock;
    unsigned char sha1[20];
    struct MHD_Response *resp; /* NULL = empty slot; the reference is the slot's */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct content_cache {
    pthread_mutex_t locks[CONTENT_CACHE_LOCKS];
    struct content_cache_entry slots[CONTENT_CACHE_SLOTS];
    struct content_kept kept[CONTENT_KEPT_SLOTS];
    unsigned kept_max; /* slots in use at most: an open file each */
    unsigned kept_n;   /* in use now (atomic) */
};

/* What the catalog says about a digest. */
struct content_known {
    int64_t size;
    char ext[CONTENT_STORE_EXT_MAX + 1];
};

enum content_url_result content_url_parse(const char *url, unsigned char sha1[20], char *ext)
{
    const char *p, *folder, *name;
    size_t flen;

    for (p = url; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%' || c == '\\' || c < 0x20 || c >= 0x7f)
            return CONTENT_URL_BAD;
    }
    if (strncasecmp(url, "/Content/", 9) != 0)
        return CONTENT_URL_NOT_FOUND;
    folder = url + 9;
    for (flen = 0; folder[flen] != '\0' && folder[flen] != '/'; flen++)
        if (str_hexval(folder[flen]) < 0)
            return CONTENT_URL_NOT_FOUND;
    if (folder[flen] != '/' || flen < 1 || flen > 2)
        return CONTENT_URL_NOT_FOUND;
    name = folder + flen + 1;
    if (strnlen(name, 40) < 40 || str_hex_decode(name, 40, sha1, 20) < 0)
        return CONTENT_URL_NOT_FOUND;
    p = name + 40;
    ext[0] = '\0';
    if (*p == '.') {
        size_t n = 0;
        for (p++; *p != '\0'; p++) {
            char c = *p;
            if (n >= CONTENT_STORE_EXT_MAX)
                return CONTENT_URL_NOT_FOUND;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                return CONTENT_URL_NOT_FOUND;
            ext[n++] = c;
        }
        if (n == 0)
            return CONTENT_URL_NOT_FOUND;
        ext[n] = '\0';
    } else if (*p != '\0') {
        return CONTENT_URL_NOT_FOUND;
    }
    /* the folder is the digest's last byte: "0A" (WSUS) or "A" (leading zero dropped) */
    if (flen == 2) {
        if (str_hexval(folder[0]) != (sha1[19] >> 4) || str_hexval(folder[1]) != (sha1[19] & 15))
            return CONTENT_URL_NOT_FOUND;
    } else if (sha1[19] >= 16 || str_hexval(folder[0]) != sha1[19]) {
        return CONTENT_URL_NOT_FOUND;
    }
    return CONTENT_URL_OK;
}

static time_t content_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

static size_t content_slot(const unsigned char sha1[20])
{
    return ((size_t)sha1[0] << 8 | sha1[1]) % CONTENT_CACHE_SLOTS;
}

static int content_cache_get(struct content_cache *c, const unsigned char sha1[20],
                             struct content_known *out)
{
    size_t slot = content_slot(sha1);
    pthread_mutex_t *lock = &c->locks[slot % CONTENT_CACHE_LOCKS];
    struct content_cache_entry *e = &c->slots[slot];
    int hit = 0;

    pthread_mutex_lock(lock);
    if (e->used && memcmp(e->sha1, sha1, 20) == 0 && e->expires > content_now()) {
        out->size = e->size;
        memcpy(out->ext, e->ext, sizeof(out->ext));
        hit = 1;
    }
    pthread_mutex_unlock(lock);
    return hit;
}

static void content_cache_put(struct content_cache *c, const unsigned char sha1[20],
                              const struct content_known *k)
{
    size_t slot = content_slot(sha1);
    pthread_mutex_t *lock = &c->locks[slot % CONTENT_CACHE_LOCKS];
    struct content_cache_entry *e = &c->slots[slot];

    pthread_mutex_lock(lock);
    memcpy(e->sha1, sha1, 20);
    e->used = 1;
    e->expires = content_now() + CONTENT_CACHE_TTL;
    e->size = k->size;
    memcpy(e->ext, k->ext, sizeof(e->ext));
    pthread_mutex_unlock(lock);
}

static void content_cache_forget(struct content_cache *c, const unsigned char sha1[20])
{
    size_t slot = content_slot(sha1);
    pthread_mutex_t *lock = &c->locks[slot % CONTENT_CACHE_LOCKS];

    pthread_mutex_lock(lock);
    if (memcmp(c->slots[slot].sha1, sha1, 20) == 0)
        c->slots[slot].used = 0;
    pthread_mutex_unlock(lock);
}

static struct content_kept *content_kept_slot(struct content_cache *c, const unsigned char sha1[20])
{
    return &c->kept[((size_t)sha1[2] << 8 | sha1[3]) % CONTENT_KEPT_SLOTS];
}

static int content_same_file(const struct content_kept *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Drop the kept answer of e (under e->lock); connections still sending it keep it alive. */
static void content_kept_drop(struct content_kept *e, unsigned *n_in_use)
{
    if (e->resp == NULL)
        return;
    MHD_destroy_response(e->resp);
    e->resp = NULL;
    __atomic_sub_fetch(n_in_use, 1, __ATOMIC_RELAXED);
}

/*
 * Queue the kept answer of sha1 when there is one and path (lstat) is still the file it was
 * built from, with the catalog's size (-1 unknown). 1 queued (result in *r), 0 not (nothing
 * kept, or the file changed: the kept answer is dropped and the caller opens the file).
 */
static int content_kept_serve(struct http_request *req, struct content_cache *c,
                              const unsigned char sha1[20], const char *path, int64_t size,
                              enum MHD_Result *r)
{
    struct content_kept *e = content_kept_slot(c, sha1);
    struct stat st;
    int served = 0;

    pthread_mutex_lock(&e->lock);
    if (e->resp != NULL && memcmp(e->sha1, sha1, 20) == 0) {
        if (lstat(path, &st) == 0 && content_same_file(e, &st) && (size < 0 || size == e->size)) {
            *r = http_queue_shared(req, MHD_HTTP_OK, e->resp);
            metrics_bytes_served((uint64_t)e->size);
            served = 1;
        } else {
            content_kept_drop(e, &c->kept_n);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return served;
}

/* Keep resp (taken over: the slot's reference) as the answer of sha1, file st. */
static void content_kept_put(struct content_cache *c, const unsigned char sha1[20],
                             const struct stat *st, struct MHD_Response *resp)
{
    struct content_kept *e = content_kept_slot(c, sha1);

    pthread_mutex_lock(&e->lock);
    content_kept_drop(e, &c->kept_n);
    if (__atomic_add_fetch(&c->kept_n, 1, __ATOMIC_RELAXED) > c->kept_max) {
        __atomic_sub_fetch(&c->kept_n, 1, __ATOMIC_RELAXED); /* full: answered, not kept */
        pthread_mutex_unlock(&e->lock);
        MHD_destroy_response(resp);
        return;
    }
    memcpy(e->sha1, sha1, 20);
    e->resp = resp;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = st->st_size;
    e->mtime = st->st_mtim;
    e->ctime = st->st_ctim;
    pthread_mutex_unlock(&e->lock);
}

/* Forget the kept answer of sha1, if any (its file is gone or not to be served). */
static void content_kept_forget(struct content_cache *c, const unsigned char sha1[20])
{
    struct content_kept *e = content_kept_slot(c, sha1);

    pthread_mutex_lock(&e->lock);
    if (e->resp != NULL && memcmp(e->sha1, sha1, 20) == 0)
        content_kept_drop(e, &c->kept_n);
    pthread_mutex_unlock(&e->lock);
}

/* 1 known and present, 0 not, -1 catalog unreachable, 2 not cached and the catalog may not
 * be asked from this thread (may_block 0). */
static int content_lookup(struct server *s, const unsigned char sha1[20], struct content_known *k,
                          int may_block)
{
    PGconn *db;
    PGresult *r;
    int rc = -1;

    if (content_cache_get(s->content_cache, sha1, k))
        return 1;
    if (!may_block)
        return 2;
    db = dbpool_get(s->pool, CONTENT_DB_WAIT_MS);
    if (db == NULL)
        return -1;
    r = catalog_file_present(db, sha1);
    dbpool_put(s->pool, db);
    if (r == NULL)
        return -1;
    rc = 0;
    if (PQntuples(r) == 1) {
        content_store_ext(PQgetvalue(r, 0, 0), k->ext);
        k->size = PQgetisnull(r, 0, 1) ? -1 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        content_cache_put(s->content_cache, sha1, k);
        rc = 1;
    }
    PQclear(r);
    return rc;
}

int content_init(struct server *s, char *err, size_t errlen)
{
    struct content_store *cs;
    struct content_cache *c;
    struct rlimit rl;
    int i;

    cs = content_store_open(s->cfg.content_dir, err, errlen);
    if (cs == NULL)
        return -1;
    c = xcalloc(1, sizeof(*c));
    for (i = 0; i < CONTENT_CACHE_LOCKS; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    for (i = 0; i < CONTENT_KEPT_SLOTS; i++)
        pthread_mutex_init(&c->kept[i].lock, NULL);
    /* a quarter of the open-file limit at most, the rest is the connections' */
    c->kept_max = CONTENT_KEPT_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur / 4 < CONTENT_KEPT_MAX)
        c->kept_max = (unsigned)(rl.rlim_cur / 4);
    /* the listeners already run (privileges are dropped after binding): publish the store
       last, with release order, so a request sees either nothing or everything */
    s->content_cache = c;
    __atomic_store_n(&s->content_store, cs, __ATOMIC_RELEASE);
    log_info("content store %s ready", s->cfg.content_dir);
    return 0;
}

/* Stores and content_dir strings replaced by content_switch(): requests may still hold
 * them, so they live until content_free(). */
static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static struct content_store **retired_stores;
static char **retired_dirs;
static size_t n_retired;

void content_switch(struct server *s, struct content_store *cs)
{
    struct content_store *old;
    char *old_dir;

    pthread_mutex_lock(&retired_lock);
    old = __atomic_exchange_n(&s->content_store, cs, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&s->cfg_lock);
    old_dir = s->cfg.content_dir;
    s->cfg.content_dir = xstrdup(content_store_dir(cs));
    pthread_mutex_unlock(&s->cfg_lock);
    retired_stores = xreallocarray(retired_stores, n_retired + 1, sizeof(*retired_stores));
    retired_dirs = xreallocarray(retired_dirs, n_retired + 1, sizeof(*retired_dirs));
    retired_stores[n_retired] = old;
    retired_dirs[n_retired++] = old_dir;
    pthread_mutex_unlock(&retired_lock);
    log_info("content store switched from %s to %s", old_dir, content_store_dir(cs));
}

void content_free(struct server *s)
{
    int i;

    pthread_mutex_lock(&retired_lock);
    while (n_retired > 0) {
        n_retired--;
        content_store_close(retired_stores[n_retired]);
        free(retired_dirs[n_retired]);
    }
    free(retired_stores);
    free(retired_dirs);
    retired_stores = NULL;
    retired_dirs = NULL;
    pthread_mutex_unlock(&retired_lock);

    if (s->content_cache != NULL) {
        for (i = 0; i < CONTENT_CACHE_LOCKS; i++)
            pthread_mutex_destroy(&s->content_cache->locks[i]);
        for (i = 0; i < CONTENT_KEPT_SLOTS; i++) {
            content_kept_drop(&s->content_cache->kept[i], &s->content_cache->kept_n);
            pthread_mutex_destroy(&s->content_cache->kept[i].lock);
        }
        free(s->content_cache);
        s->content_cache = NULL;
    }
    content_store_close(s->content_store);
    s->content_store = NULL;
}

/* Multipart/byteranges body: text segments and file segments, read with pread. */
struct content_multipart {
    int fd;
    size_t nparts;
    struct range_span spans[RANGE_MAX_PARTS];
    char *heads[RANGE_MAX_PARTS]; /* "--B\r\nContent-Type..\r\nContent-Range..\r\n\r\n" */
    size_t head_len[RANGE_MAX_PARTS];
    char tail[64]; /* "\r\n--B--\r\n" */
    size_t tail_len;
};

static void content_multipart_free(void *cls)
{
    struct content_multipart *m = cls;
    size_t i;

    close(m->fd);
    for (i = 0; i < m->nparts; i++)
        free(m->heads[i]);
    free(m);
}

static ssize_t content_copy_text(const char *text, size_t len, uint64_t off, char *buf, size_t max)
{
    size_t n = len - (size_t)off;

    if (n > max)
        n = max;
    memcpy(buf, text + off, n);
    return (ssize_t)n;
}

static ssize_t content_multipart_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct content_multipart *m = cls;
    uint64_t base = 0;
    size_t i;

    for (i = 0; i < m->nparts; i++) {
        uint64_t dlen = (uint64_t)(m->spans[i].last - m->spans[i].first + 1);
        if (pos < base + m->head_len[i])
            return content_copy_text(m->heads[i], m->head_len[i], pos - base, buf, max);
        base += m->head_len[i];
        if (pos < base + dlen) {
            uint64_t left = base + dlen - pos;
            size_t want = left < max ? (size_t)left : max;
            ssize_t r;
            do
                r = pread(m->fd, buf, want, (off_t)(m->spans[i].first + (int64_t)(pos - base)));
            while (r < 0 && errno == EINTR);
            if (r <= 0) {
                log_warn("content: read error while serving a multipart range");
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            return r;
        }
        base += dlen;
    }
    if (pos < base + m->tail_len)
        return content_copy_text(m->tail, m->tail_len, pos - base, buf, max);
    return MHD_CONTENT_READER_END_OF_STREAM;
}

static void content_common_headers(struct MHD_Response *resp, const char *etag, const char *lm)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
}

/* 206 multipart/byteranges; takes fd. */
static enum MHD_Result content_respond_multipart(struct http_request *req, int fd, int64_t size,
                                                 const struct range_span *spans, size_t n,
                                                 const char *etag, const char *lm)
{
    struct content_multipart *m = xcalloc(1, sizeof(*m));
    unsigned char rnd[12];
    char boundary[32], ctype[80];
    uint64_t total = 0;
    struct MHD_Response *resp;
    size_t i;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* unpredictability is not needed for correctness, only uniqueness against the body */
        uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)m;
        memcpy(rnd, &t, sizeof(t));
        memset(rnd + sizeof(t), 0x5a, sizeof(rnd) - sizeof(t));
    }
    content_store_hex(rnd, sizeof(rnd), boundary);
    m->fd = fd;
    m->nparts = n;
    for (i = 0; i < n; i++) {
        m->spans[i] = spans[i];
        m->heads[i] = xasprintf("%s--%s\r\nContent-Type: " CONTENT_TYPE
                                "\r\nContent-Range: bytes %lld-%lld/%lld\r\n\r\n",
                                i == 0 ? "" : "\r\n", boundary, (long long)spans[i].first,
                                (long long)spans[i].last, (long long)size);
        m->head_len[i] = strlen(m->heads[i]);
        total += m->head_len[i] + (uint64_t)(spans[i].last - spans[i].first + 1);
    }
    snprintf(m->tail, sizeof(m->tail), "\r\n--%s--\r\n", boundary);
    m->tail_len = strlen(m->tail);
    total += m->tail_len;
    resp = MHD_create_response_from_callback(total, 256 * 1024, content_multipart_read, m,
                                             content_multipart_free);
    if (resp == NULL) {
        content_multipart_free(m);
        return MHD_NO;
    }
    content_common_headers(resp, etag, lm);
    snprintf(ctype, sizeof(ctype), "multipart/byteranges; boundary=%s", boundary);
    MHD_del_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    metrics_bytes_served(total);
    return http_queue_stream(req, MHD_HTTP_PARTIAL_CONTENT, resp);
}

/* A response with no body (412, 416) carrying the validators. */
static enum MHD_Result content_respond_empty(struct http_request *req, unsigned status,
                                             const char *etag, const char *lm,
                                             const char *content_range)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
    if (content_range != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
    return http_queue(req, status, resp);
}

/*
 * 304: libmicrohttpd sends no body for it but always adds Content-Length from the response
 * size, and RFC 9110 8.6 allows only the length a 200 would have. So the response is the file
 * itself (never read). Takes fd.
 */
static enum MHD_Result content_respond_not_modified(struct http_request *req, int fd, int64_t size,
                                                    const char *etag, const char *lm)
{
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64((uint64_t)size, fd, 0);

    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, lm);
    return http_queue(req, MHD_HTTP_NOT_MODIFIED, resp);
}

/* Serve an open file (fd is ours to close or hand to libmicrohttpd). */
static enum MHD_Result content_serve(struct http_request *req, int fd, const struct stat *st,
                                     const unsigned char sha1[20])
{
    char etag[44], lm[RANGE_HTTP_DATE_LEN], hex[41], crange[96];
    struct range_span spans[RANGE_MAX_PARTS];
    const char *h, *range = NULL;
    int64_t size = st->st_size;
    int is_get = strcmp(req->method, "GET") == 0;
    struct MHD_Response *resp;
    enum range_outcome ro;
    size_t n = 0;
    time_t t;

    snprintf(etag, sizeof(etag), "\"%s\"", content_store_hex(sha1, 20, hex));
    if (range_format_http_date(st->st_mtime, lm, sizeof(lm)) < 0 &&
        range_format_http_date(0, lm, sizeof(lm)) < 0) /* the epoch always fits */
        lm[0] = '\0';

    /* RFC 9110 13.2.2: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since,
       If-Range */
    if ((h = http_header(req, MHD_HTTP_HEADER_IF_MATCH)) != NULL) {
        if (!range_etag_list_match(h, etag, 1))
            goto precondition_failed;
    } else if ((h = http_header(req, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE)) != NULL &&
               range_parse_http_date(h, &t) == 0 && st->st_mtime > t) {
        goto precondition_failed;
    }
    if ((h = http_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH)) != NULL) {
        if (range_etag_list_match(h, etag, 0))
            return content_respond_not_modified(req, fd, size, etag, lm);
    } else if ((h = http_header(req, MHD_HTTP_HEADER_IF_MODIFIED_SINCE)) != NULL &&
               range_parse_http_date(h, &t) == 0 && st->st_mtime <= t) {
        return content_respond_not_modified(req, fd, size, etag, lm);
    }
    /* Range is defined for GET only; HEAD describes the whole file */
    if (is_get &&
        range_if_range_matches(http_header(req, MHD_HTTP_HEADER_IF_RANGE), etag, st->st_mtime))
        range = http_header(req, MHD_HTTP_HEADER_RANGE);
    ro = range_parse(range, size, spans, RANGE_MAX_PARTS, &n);
    if (ro == RANGE_UNSATISFIABLE) {
        close(fd);
        snprintf(crange, sizeof(crange), "bytes */%lld", (long long)size);
        return content_respond_empty(req, MHD_HTTP_RANGE_NOT_SATISFIABLE, etag, lm, crange);
    }
    if (ro == RANGE_PARTIAL && n > 1)
        return content_respond_multipart(req, fd, size, spans, n, etag, lm);
    if (ro == RANGE_PARTIAL) {
        resp = MHD_create_response_from_fd_at_offset64(
            (uint64_t)(spans[0].last - spans[0].first + 1), fd, (uint64_t)spans[0].first);
        if (resp == NULL) {
            close(fd);
            return MHD_NO;
        }
        content_common_headers(resp, etag, lm);
        snprintf(crange, sizeof(crange), "bytes %lld-%lld/%lld", (long long)spans[0].first,
                 (long long)spans[0].last, (long long)size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
        metrics_bytes_served((uint64_t)(spans[0].last - spans[0].first + 1));
        return http_queue_stream(req, MHD_HTTP_PARTIAL_CONTENT, resp);
    }
    resp = MHD_create_response_from_fd_at_offset64((uint64_t)size, fd, 0);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    content_common_headers(resp, etag, lm);
    if (!is_get || size == 0)
        return http_queue(req, MHD_HTTP_OK, resp); /* headers only */
    metrics_bytes_served((uint64_t)size);
    if (http_can_share(req) && size <= CONTENT_KEPT_MAX_SIZE) {
        /* every GET answered 200 gets this very response: keep it for the next ones */
        enum MHD_Result r;

        http_response_stamp(resp);
        r = http_queue_shared(req, MHD_HTTP_OK, resp);
        content_kept_put(((struct server *)req->app)->content_cache, sha1, st, resp);
        return r;
    }
    return http_queue_stream(req, MHD_HTTP_OK, resp);

precondition_failed:
    close(fd);
    return content_respond_empty(req, MHD_HTTP_PRECONDITION_FAILED, etag, lm, NULL);
}

/* A GET content_serve answers with the whole file, 200, whatever the file: no Range, no
 * precondition (If-Range matters only with a Range). */
static int content_plain_get(struct http_request *req)
{
    static const char *const conditional[] = {
        MHD_HTTP_HEADER_RANGE, MHD_HTTP_HEADER_IF_MATCH, MHD_HTTP_HEADER_IF_NONE_MATCH,
        MHD_HTTP_HEADER_IF_MODIFIED_SINCE, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE};
    size_t i;

    if (!http_can_share(req) || strcmp(req->method, "GET") != 0)
        return 0;
    for (i = 0; i < sizeof(conditional) / sizeof(conditional[0]); i++)
        if (http_header(req, conditional[i]) != NULL)
            return 0;
    return 1;
}

enum MHD_Result content_handle(struct http_request *req)
{
    struct server *s = req->app;
    unsigned char sha1[20];
    char ext[CONTENT_STORE_EXT_MAX + 1], name[CONTENT_STORE_EXT_MAX + 3], path[4096];
    struct content_known k;
    struct stat st;
    enum MHD_Result r;
    int fd, known;

    switch (content_url_parse(req->url, sha1, ext)) {
    case CONTENT_URL_OK:
        break;
    case CONTENT_URL_BAD:
        return http_respond_text(req, MHD_HTTP_BAD_REQUEST,
                                 "content paths are /Content/XX/SHA1.ext, without escapes");
    default:
        return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
    }
    if (__atomic_load_n(&s->content_store, __ATOMIC_ACQUIRE) == NULL)
        return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE, "content store not open");
    /* a cache miss waits for a catalog connection: not on an I/O thread serving others */
    known = content_lookup(s, sha1, &k, http_may_block(req));
    if (known == 2)
        return http_continue_blocking(req);
    if (known < 0)
        return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "catalog unavailable, try again later");
    if (known == 0 || strcmp(k.ext, ext) != 0) {
        /* no longer listed: its file may go (a wrong extension says nothing of the file, and
           must not let a client drop what is kept) */
        if (known == 0)
            content_kept_forget(s->content_cache, sha1);
        return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
    }
    /* the path comes from the digest and the catalog's extension, never from the URL text */
    snprintf(name, sizeof(name), "f%s%s", k.ext[0] ? "." : "", k.ext);
    if (content_store_path(s->content_store, sha1, name, path, sizeof(path)) < 0)
        return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
    if (content_plain_get(req) && content_kept_serve(req, s->content_cache, sha1, path, k.size, &r))
        return r;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT)
            log_warn("content: cannot open %s", path);
        content_cache_forget(s->content_cache, sha1);
        content_kept_forget(s->content_cache, sha1);
        return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (k.size >= 0 && st.st_size != k.size)) {
        log_warnx("content: %s does not have the %lld bytes the catalog says; not serving it "
                  "(run wsusctl reset)",
                  path, (long long)k.size);
        close(fd);
        content_cache_forget(s->content_cache, sha1);
        content_kept_forget(s->content_cache, sha1);
        return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
    }
    return content_serve(req, fd, &st, sha1);
}
