/*
 * download: content acquisition (see download.h). Files are read from the catalog in pages
 * (bounded memory whatever the catalog size), fetched `parallel` at a time on a private curl
 * multi handle, streamed into content_store partials and published after verification. The
 * loop only receives: two writer threads write and hash the received blocks (the sink), the
 * publisher threads publish finished files.
 */
#include "download.h"
#include "catalog.h"
#include "db.h"
#include "file_state.h"
#include "log.h"
#include "metrics.h"
#include "strutil.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE            500
#define PUBLISH_QUEUE   256 /* finished files waiting for (or in) their publication, at most */
#define PUBLISH_THREADS 4   /* concurrent disk waits share the file system's journal commits */
#define PUBLISH_BATCH   (PUBLISH_QUEUE / PUBLISH_THREADS)
/* libcurl's receive buffer for content (its default is 16 KiB): fewer reads, polls, writes
   and hash calls per byte */
#define RECV_BUFFER (512L * 1024)
/* The writers: threads that write and hash the received bytes, so that the download loop only
   receives and copies. SINK_MAX_BYTES bounds what waits for them, over all transfers. */
#define SINK_THREADS   2
#define SINK_MAX_BYTES (8L * 1024 * 1024)

/* Received bytes waiting for their write (data holds cap bytes, len used). Blocks of
   RECV_BUFFER bytes are reused (the free list is at most the peak in use: the queued bytes, a
   block filling per transfer, one being written per thread); a fresh one would be mmap'd
   memory (M_MMAP_THRESHOLD) and cost a page fault every 4 KiB. */
struct sink_block {
    struct sink_block *next;
    size_t len, cap;
    char data[];
};

/* One transfer's blocks, written and hashed in the order they arrived (one writer at a time). */
struct sink_q {
    struct sink_q *next_ready;
    struct content_partial *part;
    struct sink_block *head, **tail;
    int scheduled; /* in the ready list or being written: not drained */
    int failed;    /* an append failed (err): later blocks are dropped */
    char err[512];
};

struct sink {
    pthread_t threads[SINK_THREADS];
    int started; /* threads running; 0: on_body appends itself */
    pthread_mutex_t lock;
    pthread_cond_t work; /* a queue is ready, or stop */
    pthread_cond_t room; /* a block was written (bytes went down) or a queue drained */
    struct sink_q *ready, **ready_tail;
    struct sink_block *free_blocks;
    size_t bytes; /* received and not written yet, all transfers */
    int stop;
};

struct dl_file {
    unsigned char sha1[20];
    unsigned char sha256[32];
    int has_sha256;
    int64_t size;
    char *name;
    char *mu_url;
};

struct xfer {
    struct dl_ctx *d;
    CURL *easy;
    struct content_partial *part;
    struct dl_file f;
    int64_t offset;
    long status;
    int started_body;
    int refused;       /* body not for us (an error status) */
    int range_refused; /* a 200 to our Range request under range-fallback never */
    int write_failed;
    int paused;              /* by the rate cap: waits for tokens (see rate_resume) */
    struct sink_q q;         /* received bytes on their way to x->part (x->part is the loop's
                                again only once q is drained: sink_drain) */
    struct sink_block *fill; /* the block being filled, queued once full (libcurl hands over
                                what one socket read got, often much less than RECV_BUFFER) */
    char err[512];
    char curl_err[CURL_ERROR_SIZE];
    struct curl_slist *headers;
    struct uss_watch watch;
};

/* A finished partial on its way to publication (content_store_partial_finish: hash check,
   data on disk, rename, names on disk), and its outcome. */
struct pub_job {
    struct pub_job *next;
    struct content_partial *part;
    struct dl_file f;
    int rc;
    char err[512];
};

/*
 * The publisher: threads that publish finished files, so that waiting for the disk (two
 * fsyncs a file) overlaps the transfers instead of stopping them, and
 * the disk waits of several files share journal commits. They never touch the catalog: outcomes
 * come back to the download loop, which records them (d->db is the loop's).
 */
struct publisher {
    pthread_t threads[PUBLISH_THREADS];
    int started; /* threads running */
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job queued, or stop */
    pthread_cond_t done; /* a job published */
    struct pub_job *todo, **todo_tail;
    struct pub_job *out, **out_tail;
    size_t pending; /* queued, being published, or published and not collected yet */
    int stop;
};

struct dl_ctx {
    PGconn *db;
    struct uss *u;
    struct content_store *cs;
    const struct download_options *o;
    struct download_stats *st;
    CURLM *multi;
    unsigned char (*missing)[20];
    size_t nmissing, capmissing;
    unsigned char (*unrecorded)[20]; /* published while the catalog was unreachable */
    size_t nunrecorded, capunrecorded;
    int lost_noted;
    time_t last_progress;
    int range_warned;
    /* download-max-rate: one token bucket shared by every transfer (bytes may go below 0 by
       the last write of each transfer; the next writes wait until it is paid back) */
    double tokens;
    double burst;
    struct timespec refilled;
    int resume_from; /* round robin over paused transfers */
    struct publisher pub;
    struct sink sink;
};

enum download_range download_range_parse(const char *setting)
{
    if (setting != NULL && strcmp(setting, "always") == 0)
        return DOWNLOAD_RANGE_ALWAYS;
    if (setting != NULL && strcmp(setting, "never") == 0)
        return DOWNLOAD_RANGE_NEVER;
    return DOWNLOAD_RANGE_AUTO;
}

static void file_free(struct dl_file *f)
{
    free(f->name);
    free(f->mu_url);
    memset(f, 0, sizeof(*f));
}

static void note_error(struct dl_ctx *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note_error(struct dl_ctx *d, const char *fmt, ...)
{
    va_list ap;
    char msg[512];

    va_start(ap, fmt);
    log_vwarnx_keep(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->st->first_error[0] == '\0')
        snprintf(d->st->first_error, sizeof(d->st->first_error), "%s", msg);
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    /* bytea text output: \x followed by hex */
    if (strncmp(s, "\\x", 2) != 0)
        return -1;
    return str_hex_decode(s + 2, strlen(s + 2), out, n);
}

/* Totals for the progress bar (one query, before the transfers). */
static void count_selected(struct dl_ctx *d, const char *policy)
{
    (void)file_state_wanted_totals(d->db, policy, &d->st->files_total, &d->st->bytes_total);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    long status;
    char tmp[16];

    if (len > 9 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', len);
        if (sp != NULL && (size_t)(sp - buf) + 4 <= len) {
            memcpy(tmp, sp + 1, 3);
            tmp[3] = '\0';
            if (str_to_long(tmp, 100, 599, &status) == 0)
                x->status = status;
        }
    }
    return len;
}

/* Add the tokens earned since the last refill (capped at the burst). */
static void rate_refill(struct dl_ctx *d)
{
    struct timespec now;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double)(now.tv_sec - d->refilled.tv_sec) + (now.tv_nsec - d->refilled.tv_nsec) / 1e9;
    d->refilled = now;
    if (dt > 0)
        d->tokens += dt * (double)d->o->max_rate;
    if (d->tokens > d->burst)
        d->tokens = d->burst;
}

/*
 * Why not CURLOPT_MAX_RECV_SPEED_LARGE: it caps each transfer, not their sum, and libcurl 7.88
 * (Debian 12) checks it only after a whole round of socket reads, so a file that is already in
 * the socket buffer (loopback, a fast LAN, any small file) arrives at full speed. The write
 * callback pauses the transfer instead while the shared bucket is empty; rate_resume() lets it
 * go on once tokens came back.
 */
static void rate_init(struct dl_ctx *d)
{
    if (d->o->max_rate <= 0)
        return;
    /* a twentieth of a second of traffic, at least one libcurl write */
    d->burst = (double)d->o->max_rate / 20;
    if (d->burst < CURL_MAX_WRITE_SIZE)
        d->burst = CURL_MAX_WRITE_SIZE;
    d->tokens = d->burst;
    clock_gettime(CLOCK_MONOTONIC, &d->refilled);
}

/* Resume paused transfers in turn while there are tokens; how long to wait (ms) for more. */
static long rate_resume(struct dl_ctx *d, struct xfer **fl, int nfl)
{
    int i, k, paused = 0;

    if (d->o->max_rate <= 0 || nfl == 0)
        return 200;
    rate_refill(d);
    for (k = 0; k < nfl; k++) {
        struct xfer *x = fl[(d->resume_from + k) % nfl];
        if (!x->paused)
            continue;
        if (d->tokens <= 0) {
            paused = 1;
            continue;
        }
        x->paused = 0;
        curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may deliver (and pause again) at once */
        paused |= x->paused;
    }
    d->resume_from = (d->resume_from + 1) % nfl;
    for (i = 0; i < nfl && !paused; i++)
        paused = fl[i]->paused;
    if (!paused)
        return 200;
    if (d->tokens > 0)
        return 1;
    /* until the debt is paid back, within 1..200 ms */
    {
        double ms = -d->tokens * 1000.0 / (double)d->o->max_rate + 1;
        return ms > 200 ? 200 : ms < 1 ? 1 : (long)ms;
    }
}

/* A writer: takes a ready queue and writes and hashes its blocks in order until it is empty. */
static void *sink_main(void *arg)
{
    struct sink *s = arg;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct sink_q *q;

        while (s->ready == NULL && !s->stop)
            pthread_cond_wait(&s->work, &s->lock);
        if (s->ready == NULL)
            break;
        q = s->ready;
        s->ready = q->next_ready;
        if (s->ready == NULL)
            s->ready_tail = &s->ready;
        while (q->head != NULL) {
            struct sink_block *b = q->head;
            int failed = q->failed;

            q->head = b->next;
            if (q->head == NULL)
                q->tail = &q->head;
            pthread_mutex_unlock(&s->lock);
            /* q->part and q->err are this thread's while q is scheduled */
            if (!failed &&
                content_store_partial_append(q->part, b->data, b->len, q->err, sizeof(q->err)) < 0)
                failed = 1;
            pthread_mutex_lock(&s->lock);
            q->failed = failed;
            s->bytes -= b->len;
            if (b->cap == RECV_BUFFER) {
                b->next = s->free_blocks;
                s->free_blocks = b;
            } else {
                free(b);
            }
            pthread_cond_broadcast(&s->room);
        }
        q->scheduled = 0;
        pthread_cond_broadcast(&s->room);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void sink_start(struct sink *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->room, NULL);
    s->ready_tail = &s->ready;
    while (s->started < SINK_THREADS &&
           pthread_create(&s->threads[s->started], NULL, sink_main, s) == 0)
        s->started++;
    if (!s->started)
        log_warnx("content: cannot start the writing threads; the download loop writes and "
                  "hashes the files itself");
}

/* Stop the writers (every queue drained before: sink_drain) and free the spare blocks. */
static void sink_stop(struct sink *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    while (s->started > 0)
        pthread_join(s->threads[--s->started], NULL);
    while (s->free_blocks != NULL) {
        struct sink_block *b = s->free_blocks;
        s->free_blocks = b->next;
        free(b);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->room);
}

static long recv_buffer(const struct dl_ctx *d);

/* Queue x's filling block (if any) for writing: waits while SINK_MAX_BYTES are queued already.
   0, or -1 when an earlier block of x could not be stored (the block is dropped). */
static int sink_queue(struct sink *s, struct xfer *x)
{
    struct sink_q *q = &x->q;
    struct sink_block *b = x->fill;
    int rc = 0;

    if (b == NULL)
        return 0;
    x->fill = NULL;
    pthread_mutex_lock(&s->lock);
    while (!q->failed && s->bytes > 0 && s->bytes + b->len > (size_t)SINK_MAX_BYTES)
        pthread_cond_wait(&s->room, &s->lock);
    if (q->failed) {
        rc = -1; /* q->err is read once q is drained (xfer_done) */
        b->next = s->free_blocks;
        s->free_blocks = b;
    } else {
        s->bytes += b->len;
        q->part = x->part;
        b->next = NULL;
        *q->tail = b;
        q->tail = &b->next;
        if (!q->scheduled) {
            q->scheduled = 1;
            q->next_ready = NULL;
            *s->ready_tail = q;
            s->ready_tail = &q->next_ready;
            pthread_cond_signal(&s->work);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/*
 * Hand len received bytes of x to the writers (in x->fill; a full block is queued, waiting
 * while SINK_MAX_BYTES are queued already). 0, or -1 when an earlier block of x could not be
 * stored (sink_drain then says why).
 */
static int sink_push(struct sink *s, struct xfer *x, const char *buf, size_t len)
{
    struct sink_block *b;

    if (!s->started)
        return content_store_partial_append(x->part, buf, len, x->err, sizeof(x->err));
    if (x->fill != NULL && x->fill->cap - x->fill->len < len && sink_queue(s, x) < 0)
        return -1;
    if (x->fill == NULL) {
        pthread_mutex_lock(&s->lock);
        b = len <= RECV_BUFFER ? s->free_blocks : NULL;
        if (b != NULL)
            s->free_blocks = b->next;
        pthread_mutex_unlock(&s->lock);
        if (b == NULL) {
            size_t cap = len <= RECV_BUFFER ? RECV_BUFFER : len;
            b = xmalloc(sizeof(*b) + cap);
            b->cap = cap;
        }
        b->len = 0;
        x->fill = b;
    }
    memcpy(x->fill->data + x->fill->len, buf, len);
    x->fill->len += len;
    /* under download-max-rate a delivery is at most the bucket's burst: queue each of them, so
       that the partial on disk is not more than that behind what was received */
    if (x->fill->len >= (size_t)recv_buffer(x->d))
        return sink_queue(s, x);
    return 0;
}

/*
 * Wait until every block of x was written and hashed: x->part is the caller's again. When one
 * could not be stored, x->write_failed is set and x->err says why.
 */
static void sink_drain(struct sink *s, struct xfer *x)
{
    if (!s->started)
        return;
    (void)sink_queue(s, x); /* a failure is in q */
    pthread_mutex_lock(&s->lock);
    while (x->q.scheduled)
        pthread_cond_wait(&s->room, &s->lock);
    if (x->q.failed) {
        x->write_failed = 1;
        snprintf(x->err, sizeof(x->err), "%s", x->q.err);
    }
    pthread_mutex_unlock(&s->lock);
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    struct dl_ctx *d = x->d;
    size_t len = size * n;

    if (d->o->max_rate > 0) {
        rate_refill(d);
        if (d->tokens <= 0) {
            x->paused = 1;
            return CURL_WRITEFUNC_PAUSE; /* libcurl keeps these bytes and hands them over again */
        }
        d->tokens -= (double)len;
    }
    if (!x->started_body) {
        x->started_body = 1;
        if (x->status == 200 && x->offset > 0 && d->o->range == DOWNLOAD_RANGE_NEVER) {
            x->range_refused = 1;
            return 0; /* the partial stays: a path that honours Range can resume it */
        }
        if (x->status == 200 && x->offset > 0) {
            /* the upstream (or a proxy) ignored Range: start over, whole file */
            d->st->range_ignored = 1;
            if (!d->range_warned) {
                d->range_warned = 1;
                log_warnx("upstream %s (or a proxy on the way) answered a Range request with the "
                          "whole file (HTTP 200 instead of 206): interrupted downloads cannot "
                          "resume on this path; downloading whole files instead",
                          uss_content_url(d->u));
            }
            d->st->bytes_resumed -= x->offset;
            if (content_store_partial_restart(x->part, x->err, sizeof(x->err)) < 0) {
                x->write_failed = 1;
                return 0;
            }
            x->offset = 0;
        } else if (x->status != 200 && x->status != 206) {
            x->refused = 1;
            return 0;
        }
    }
    if (sink_push(&d->sink, x, buf, len) < 0) {
        x->write_failed = 1;
        return 0;
    }
    d->st->bytes_done += (int64_t)len;
    metrics_bytes_downloaded(len);
    return len;
}

int download_file_url(const struct uss *u, const unsigned char sha1[20], const char *name,
                      char *url, size_t len)
{
    char hex[41], ext[CONTENT_STORE_EXT_MAX + 1];

    content_store_hex(sha1, 20, hex);
    content_store_ext(name, ext);
    return str_fmt(url, len, "%s/Content/%s/%s%s%s", uss_content_url(u), hex + 38, hex,
                   ext[0] ? "." : "", ext);
}

/* The URL of file f: its Microsoft Update URL (catalog only) or the upstream's. 0 or -1. */
static int file_url(struct dl_ctx *d, const struct dl_file *f, char *url, size_t len)
{
    if (d->o->catalog_only && f->mu_url != NULL)
        return str_fmt(url, len, "%s", f->mu_url);
    return download_file_url(d->u, f->sha1, f->name, url, len);
}

static void digest_list_add(unsigned char (**list)[20], size_t *n, size_t *cap,
                            const unsigned char *sha1)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *list = xreallocarray(*list, *cap, 20);
    }
    memcpy((*list)[(*n)++], sha1, 20);
}

static void set_state(struct dl_ctx *d, const unsigned char *sha1, const char *state,
                      const char *detail)
{
    if (catalog_file_set_state(d->db, sha1, state, detail) == 0)
        return;
    if (db_lost(d->db)) {
        /* a published file must not stay "queued": record it once the catalog is back */
        d->st->db_lost = 1;
        if (strcmp(state, "present") == 0)
            digest_list_add(&d->unrecorded, &d->nunrecorded, &d->capunrecorded, sha1);
        return;
    }
    log_warnx("cannot record the state of a content file in the catalog");
}

/* Record the n published files of digests present, in one statement. */
static void record_present(struct dl_ctx *d, const unsigned char (*digests)[20], size_t n)
{
    size_t i;

    if (n == 0 || file_state_mark_present(d->db, digests, n) == 0)
        return;
    if (db_lost(d->db)) {
        /* published files must not stay "queued": record them once the catalog is back */
        d->st->db_lost = 1;
        for (i = 0; i < n; i++)
            digest_list_add(&d->unrecorded, &d->nunrecorded, &d->capunrecorded, digests[i]);
        return;
    }
    log_warnx("cannot record %zu downloaded content files in the catalog", n);
}

/* 1 when the catalog connection is gone (noted as the first error once), else 0. */
static int catalog_lost(struct dl_ctx *d)
{
    if (!d->st->db_lost && !db_lost(d->db))
        return 0;
    d->st->db_lost = 1;
    if (!d->lost_noted) {
        d->lost_noted = 1;
        note_error(d, "the database connection was lost during the content download "
                      "(PostgreSQL restarted?)");
    }
    return 1;
}

/* After a lost catalog connection: wait for it and record what was published meanwhile. */
static void record_unrecorded(struct dl_ctx *d)
{
    if (d->nunrecorded == 0)
        return;
    if (db_revive_wait(d->db, DOWNLOAD_DB_WAIT_S, d->o->cancel) < 0) {
        log_warnx("%zu downloaded files could not be recorded in the catalog (the database is "
                  "unreachable); the next synchronization records them without downloading "
                  "them again",
                  d->nunrecorded);
        return;
    }
    if (file_state_mark_present(d->db, (const unsigned char(*)[20])d->unrecorded, d->nunrecorded) <
        0) {
        log_warnx("%zu downloaded files could not be recorded in the catalog; the next "
                  "synchronization records them without downloading them again",
                  d->nunrecorded);
        return;
    }
    log_info("recorded the %zu files downloaded while the database was unreachable",
             d->nunrecorded);
}

/* Count and record the outcome of a publication (rc, err: content_store_partial_finish's). */
static void published(struct dl_ctx *d, const struct dl_file *f, int rc, const char *err)
{
    char hex[41];

    if (rc < 0) {
        content_store_hex(f->sha1, 20, hex);
        d->st->files_failed++;
        note_error(d, "file %s (%s) from upstream %s failed verification: %s", f->name, hex,
                   uss_content_url(d->u), err);
        set_state(d, f->sha1, "failed", err);
        return;
    }
    d->st->files_done++;
    set_state(d, f->sha1, "present", NULL);
}

/* Publish a finished partial now; the file struct stays owned by the caller. */
static void finish_file(struct dl_ctx *d, struct xfer *x)
{
    char err[512];
    int rc = content_store_partial_finish(x->part, err, sizeof(err));

    x->part = NULL;
    published(d, &x->f, rc, err);
}

static void *publisher_main(void *arg)
{
    struct publisher *p = arg;
    struct content_partial *parts[PUBLISH_BATCH];
    struct pub_job *batch[PUBLISH_BATCH];
    int rc[PUBLISH_BATCH];
    char err[PUBLISH_BATCH][512];
    size_t n, i;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->todo == NULL && !p->stop)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->todo == NULL)
            break;
        /* what is queued goes as one batch (its share when several threads publish): the
           disk waits are shared */
        for (n = 0; n < PUBLISH_BATCH && p->todo != NULL; n++) {
            batch[n] = p->todo;
            p->todo = batch[n]->next;
            parts[n] = batch[n]->part;
        }
        if (p->todo == NULL)
            p->todo_tail = &p->todo;
        pthread_mutex_unlock(&p->lock);
        content_store_partials_finish(parts, n, rc, err[0], sizeof(err[0]));
        pthread_mutex_lock(&p->lock);
        for (i = 0; i < n; i++) {
            batch[i]->part = NULL;
            batch[i]->rc = rc[i];
            snprintf(batch[i]->err, sizeof(batch[i]->err), "%s", rc[i] < 0 ? err[i] : "");
            batch[i]->next = NULL;
            *p->out_tail = batch[i];
            p->out_tail = &batch[i]->next;
        }
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void publisher_start(struct publisher *p)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->todo_tail = &p->todo;
    p->out_tail = &p->out;
    while (p->started < PUBLISH_THREADS &&
           pthread_create(&p->threads[p->started], NULL, publisher_main, p) == 0)
        p->started++;
    if (!p->started)
        log_warnx("content: cannot start the publishing threads; files are published one by "
                  "one between transfers");
}

/*
 * Record the publications done so far; with wait_for > 0, first wait until at most wait_for - 1
 * are pending (wait_for = 1: all of them). The files published meanwhile are recorded present
 * together (one statement: one commit for the batch, not one a file).
 */
static void publisher_collect(struct dl_ctx *d, size_t wait_for)
{
    struct publisher *p = &d->pub;
    struct pub_job *j, *got;
    unsigned char(*ok)[20] = NULL;
    size_t nok = 0, capok = 0;

    if (!p->started)
        return;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (wait_for > 0 && p->pending >= wait_for && p->out == NULL)
            pthread_cond_wait(&p->done, &p->lock);
        got = p->out;
        p->out = NULL;
        p->out_tail = &p->out;
        for (j = got; j != NULL; j = j->next)
            p->pending--;
        pthread_mutex_unlock(&p->lock);
        while (got != NULL) {
            j = got;
            got = j->next;
            if (j->rc == 0) {
                d->st->files_done++;
                digest_list_add(&ok, &nok, &capok, j->f.sha1);
            } else {
                published(d, &j->f, j->rc, j->err);
            }
            file_free(&j->f);
            free(j);
        }
        pthread_mutex_lock(&p->lock);
        if (wait_for == 0 || p->pending < wait_for)
            break;
    }
    pthread_mutex_unlock(&p->lock);
    record_present(d, (const unsigned char(*)[20])ok, nok);
    free(ok);
}

/* Hand x's finished partial (and its file struct) to the publisher, or publish it now. */
static void publisher_submit(struct dl_ctx *d, struct xfer *x)
{
    struct publisher *p = &d->pub;
    struct pub_job *j;

    if (!p->started) {
        finish_file(d, x);
        return;
    }
    publisher_collect(d, PUBLISH_QUEUE); /* bounded: each job holds an open file */
    j = xcalloc(1, sizeof(*j));
    j->part = x->part;
    j->f = x->f;
    x->part = NULL;
    memset(&x->f, 0, sizeof(x->f));
    pthread_mutex_lock(&p->lock);
    *p->todo_tail = j;
    p->todo_tail = &j->next;
    p->pending++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* Wait for every publication, record them, stop the thread. */
static void publisher_stop(struct dl_ctx *d)
{
    struct publisher *p = &d->pub;

    if (!p->started)
        return;
    publisher_collect(d, 1);
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    while (p->started > 0)
        pthread_join(p->threads[--p->started], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
}

/* The receive buffer of a transfer: RECV_BUFFER, or under download-max-rate no more than the
   bucket's burst (one write may overdraw the bucket by at most that). */
static long recv_buffer(const struct dl_ctx *d)
{
    if (d->o->max_rate > 0 && d->burst < (double)RECV_BUFFER)
        return (long)d->burst;
    return RECV_BUFFER;
}

/* What a transfer must deliver per stall window: less under a low download-max-rate. */
static long min_window_bytes(const struct download_options *o)
{
    int64_t per = o->max_rate / (o->parallel > 0 ? o->parallel : 4) / 4;

    return o->max_rate > 0 && per < USS_MIN_WINDOW_BYTES ? (per > 0 ? (long)per : 1)
                                                         : USS_MIN_WINDOW_BYTES;
}

static struct xfer *xfer_start(struct dl_ctx *d, struct dl_file *f)
{
    struct xfer *x = xcalloc(1, sizeof(*x));
    char url[4096], range[64], err[512], hex[41];

    x->d = d;
    x->q.tail = &x->q.head;
    x->f = *f;
    memset(f, 0, sizeof(*f));
    content_store_hex(x->f.sha1, 20, hex);
    if (content_store_verify(d->cs, x->f.sha1, x->f.has_sha256 ? x->f.sha256 : NULL, x->f.size,
                             x->f.name, NULL, 0) == CONTENT_VERIFY_OK) {
        /* published by a run that lost the catalog before it could record it */
        d->st->files_done++;
        d->st->bytes_present += x->f.size > 0 ? x->f.size : 0;
        set_state(d, x->f.sha1, "present", NULL);
        file_free(&x->f);
        free(x);
        return NULL;
    }
    x->part = content_store_partial_open(d->cs, x->f.sha1, x->f.has_sha256 ? x->f.sha256 : NULL,
                                         x->f.size, x->f.name, err, sizeof(err));
    if (x->part == NULL) {
        d->st->files_failed++;
        note_error(d, "cannot store file %s (%s): %s", x->f.name, hex, err);
        file_free(&x->f);
        free(x);
        return NULL;
    }
    x->offset = content_store_partial_offset(x->part);
    if (x->offset > 0 && d->o->range == DOWNLOAD_RANGE_ALWAYS &&
        (x->f.size < 0 || x->offset < x->f.size)) {
        /* range-fallback always: no Range request at all, the file comes whole */
        if (content_store_partial_restart(x->part, err, sizeof(err)) < 0) {
            d->st->files_failed++;
            note_error(d, "cannot store file %s (%s): %s", x->f.name, hex, err);
            content_store_partial_abort(x->part);
            file_free(&x->f);
            free(x);
            return NULL;
        }
        x->offset = 0;
    }
    d->st->bytes_resumed += x->offset;
    if (x->f.size >= 0 && x->offset == x->f.size) {
        /* complete on disk already (a crash between the last byte and the rename) */
        finish_file(d, x);
        file_free(&x->f);
        free(x);
        return NULL;
    }
    if (d->o->catalog_only && x->f.mu_url == NULL) {
        content_store_partial_abort(x->part);
        d->st->files_failed++;
        note_error(d, "file %s (%s) has no Microsoft Update URL and the upstream stores no files",
                   x->f.name, hex);
        file_free(&x->f);
        free(x);
        return NULL;
    }
    if (file_url(d, &x->f, url, sizeof(url)) < 0) {
        content_store_partial_abort(x->part);
        d->st->files_failed++;
        note_error(d, "file %s (%s): its URL is longer than %zu bytes", x->f.name, hex,
                   sizeof(url) - 1);
        file_free(&x->f);
        free(x);
        return NULL;
    }
    x->easy = curl_easy_init();
    if (x->easy == NULL)
        fatalx("out of memory creating a curl handle");
    uss_curl_setup(d->u, x->easy);
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, recv_buffer(d));
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->curl_err);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    uss_watch_start(d->u, x->easy, &x->watch, min_window_bytes(d->o));
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "wsusd/" WSUSD_VERSION);
    if (d->o->catalog_only)
        curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
    if (x->offset > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%lld-", (long long)x->offset);
        x->headers = curl_slist_append(x->headers, range);
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
        log_debug("resuming %s at byte %lld", hex, (long long)x->offset);
    }
    if (curl_multi_add_handle(d->multi, x->easy) != CURLM_OK)
        fatalx("cannot add a download to the curl multi handle");
    return x;
}

static void xfer_free(struct xfer *x)
{
    if (x == NULL)
        return;
    sink_drain(&x->d->sink, x);
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    content_store_partial_abort(x->part);
    file_free(&x->f);
    free(x);
}

static void xfer_done(struct dl_ctx *d, struct xfer *x, CURLcode res)
{
    char hex[41];

    sink_drain(&d->sink, x); /* every byte received is written and hashed */
    content_store_hex(x->f.sha1, 20, hex);
    if (x->write_failed) {
        d->st->files_failed++;
        note_error(d, "cannot store file %s (%s): %s", x->f.name, hex, x->err);
        content_store_partial_discard(x->part);
        x->part = NULL;
        set_state(d, x->f.sha1, "failed", x->err);
        return;
    }
    if (x->status == 404) {
        /* the upstream does not have it (yet): ask it to fetch it, retry next sync */
        digest_list_add(&d->missing, &d->nmissing, &d->capmissing, x->f.sha1);
        d->st->files_missing++;
        if (x->offset == 0) {
            /* nothing to resume: leave no empty partial behind while the upstream fetches it */
            content_store_partial_discard(x->part);
            x->part = NULL;
        }
        return;
    }
    if (res == CURLE_ABORTED_BY_CALLBACK && x->watch.why == USS_WATCH_CANCELLED)
        return; /* the partial stays for the next synchronization */
    if (x->range_refused) {
        d->st->files_failed++;
        d->st->range_ignored = 1;
        note_error(d,
                   "upstream %s (or a proxy on the way) answered the Range request for file %s "
                   "(%s) with the whole file (HTTP 200 instead of 206), and range-fallback is "
                   "never: allow HTTP Range through the proxy or firewall, or run wsusctl config "
                   "set range-fallback auto",
                   uss_content_url(d->u), x->f.name, hex);
        return; /* the partial stays for a path that honours Range */
    }
    if (res != CURLE_OK && !x->refused) {
        d->st->files_failed++;
        if (res == CURLE_ABORTED_BY_CALLBACK && x->watch.why == USS_WATCH_NO_ANSWER)
            note_error(d,
                       "upstream %s accepted the connection but did not answer for file %s (%s) "
                       "within %ld s",
                       uss_content_url(d->u), x->f.name, hex, uss_answer_timeout(d->u));
        else if (res == CURLE_ABORTED_BY_CALLBACK && x->watch.why == USS_WATCH_STALLED)
            note_error(d,
                       "upstream %s stopped sending file %s (%s): less than %ld bytes in %ld s; "
                       "the partial file is kept and the next synchronization resumes it",
                       uss_content_url(d->u), x->f.name, hex, x->watch.min_bytes,
                       uss_stall_timeout(d->u));
        else if (res == CURLE_COULDNT_CONNECT)
            note_error(d, "upstream %s refused the connection while downloading %s",
                       uss_content_url(d->u), x->f.name);
        else if (uss_tls_got_plain_http(res, x->curl_err) ||
                 (res == CURLE_SSL_CONNECT_ERROR &&
                  uss_port_answers_http(d->u, uss_content_url(d->u))))
            note_error(d,
                       "upstream %s answers plain HTTP on that port: use http:// or the HTTPS "
                       "port (8531)",
                       uss_content_url(d->u));
        else
            note_error(d, "downloading %s (%s) from upstream %s failed: %s", x->f.name, hex,
                       uss_content_url(d->u),
                       x->curl_err[0] ? x->curl_err : curl_easy_strerror(res));
        return; /* the partial stays for the next attempt */
    }
    if (x->status >= 300 && x->status < 400) {
        char *to = NULL;
        d->st->files_failed++;
        curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &to);
        note_error(d,
                   "upstream %s redirected file %s (%s) to %.200s (HTTP %ld); content is only "
                   "taken from the upstream itself, so the file was not downloaded",
                   uss_content_url(d->u), x->f.name, hex, to ? to : "(no Location)", x->status);
        return;
    }
    if (x->status != 200 && x->status != 206) {
        d->st->files_failed++;
        note_error(d, "upstream %s answered HTTP %ld for file %s (%s)", uss_content_url(d->u),
                   x->status, x->f.name, hex);
        return;
    }
    publisher_submit(d, x);
}

static void ask_upstream(struct dl_ctx *d)
{
    size_t i;

    for (i = 0; i < d->nmissing; i += 100) {
        struct uss_error e;
        size_t n = d->nmissing - i < 100 ? d->nmissing - i : 100;
        size_t k;

        unsigned char gone[100];
        int rc;

        memset(gone, 0, sizeof(gone));
        rc = uss_ensure_cookie(d->u, &e);
        if (rc == 0)
            rc = uss_download_files(d->u, (const unsigned char(*)[20])d->missing + i, n, gone, &e);
        if (rc < 0) {
            log_warnx("could not ask upstream %s for %zu missing files: %s", uss_url(d->u), n,
                      e.msg);
            continue;
        }
        for (k = 0; k < n; k++) {
            if (gone[k]) {
                /* the upstream does not know the file: the update is gone there */
                d->st->files_missing--;
                d->st->files_gone++;
                set_state(d, d->missing[i + k], "failed", CATALOG_FILE_GONE);
            } else {
                set_state(d, d->missing[i + k], "absent", CATALOG_FILE_PENDING);
            }
        }
    }
    if (d->st->files_missing > 0)
        log_info("%ld files are not on upstream %s yet; asked it to download them, they follow "
                 "with the next synchronization",
                 d->st->files_missing, uss_url(d->u));
    if (d->st->files_gone > 0)
        log_warnx("upstream %s no longer has %ld files (DownloadFiles: FileDigestsMissing)",
                  uss_url(d->u), d->st->files_gone);
}

static int load_page(struct dl_ctx *d, const char *policy, char *last_hex, struct dl_file **files,
                     size_t *n)
{
    PGresult *r = file_state_wanted_page(d->db, policy, last_hex);
    int i;

    *files = NULL;
    *n = 0;
    if (r == NULL) {
        char m[300];
        note_error(d, "cannot read the file list from the catalog: %s",
                   db_errmsg(d->db, m, sizeof(m)));
        return -1;
    }
    if (PQntuples(r) > 0)
        *files = xcalloc((size_t)PQntuples(r), sizeof(**files));
    for (i = 0; i < PQntuples(r); i++) {
        struct dl_file *f = &(*files)[*n];
        if (unhex(PQgetvalue(r, i, 0), f->sha1, 20) < 0)
            continue;
        f->has_sha256 = !PQgetisnull(r, i, 1) && unhex(PQgetvalue(r, i, 1), f->sha256, 32) == 0;
        f->size = PQgetisnull(r, i, 2) ? -1 : strtoll(PQgetvalue(r, i, 2), NULL, 10);
        f->name = xstrdup(PQgetvalue(r, i, 3));
        f->mu_url = PQgetisnull(r, i, 4) ? NULL : xstrdup(PQgetvalue(r, i, 4));
        (*n)++;
    }
    if (PQntuples(r) > 0)
        snprintf(last_hex, 64, "%s", PQgetvalue(r, PQntuples(r) - 1, 0));
    PQclear(r);
    return 0;
}

int download_run(PGconn *db, struct uss *u, struct content_store *cs,
                 const struct download_options *o, struct download_stats *st)
{
    struct dl_ctx d;
    const char *policy = o->policy ? o->policy : "approved";
    int parallel = o->parallel > 0 ? o->parallel : 4;
    struct xfer **fl = xcalloc((size_t)parallel, sizeof(*fl));
    struct dl_file *page = NULL;
    size_t npage = 0, ipage = 0;
    char last[64] = "\\x";
    int nfl = 0, more = 1, rc = -1, i;

    memset(&d, 0, sizeof(d));
    memset(st, 0, sizeof(*st));
    d.db = db;
    d.u = u;
    d.cs = cs;
    d.o = o;
    d.st = st;
    d.multi = curl_multi_init();
    if (d.multi == NULL)
        fatalx("out of memory creating a curl multi handle");
    rate_init(&d);
    publisher_start(&d.pub);
    sink_start(&d.sink);
    count_selected(&d, policy);
    if (st->files_total > 0)
        log_info("content: %ld files to download (%lld bytes)", st->files_total,
                 (long long)st->bytes_total);
    for (;;) {
        int running, left;
        long wait_ms;
        CURLMsg *m;

        if (o->cancel != NULL && atomic_load(o->cancel) != 0) {
            st->cancelled = 1;
            note_error(&d, "download cancelled; partial files are kept for the next "
                           "synchronization");
            goto out;
        }
        while (nfl < parallel) {
            struct xfer *x;
            if (ipage == npage) {
                for (; ipage < npage; ipage++)
                    file_free(&page[ipage]);
                free(page);
                page = NULL;
                npage = ipage = 0;
                if (!more || load_page(&d, policy, last, &page, &npage) < 0 || npage == 0) {
                    more = 0;
                    break;
                }
                if (npage < PAGE)
                    more = 0;
            }
            x = xfer_start(&d, &page[ipage++]);
            if (x != NULL)
                fl[nfl++] = x;
        }
        if (nfl == 0) {
            publisher_collect(&d, 1);
            break;
        }
        curl_multi_perform(d.multi, &running);
        while ((m = curl_multi_info_read(d.multi, &left)) != NULL) {
            struct xfer *x = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(d.multi, m->easy_handle);
            xfer_done(&d, x, m->data.result);
            for (i = 0; i < nfl; i++)
                if (fl[i] == x) {
                    fl[i] = fl[--nfl];
                    break;
                }
            xfer_free(x);
        }
        publisher_collect(&d, 0);
        wait_ms = rate_resume(&d, fl, nfl);
        if (running > 0)
            curl_multi_poll(d.multi, NULL, 0, (int)wait_ms, NULL);
        if (time(NULL) != d.last_progress) {
            d.last_progress = time(NULL);
            if (o->progress != NULL)
                o->progress(o->arg, st);
            if (db_check(db) < 0)
                st->db_lost = 1;
        }
        if (catalog_lost(&d))
            goto out;
    }
    if (catalog_lost(&d))
        goto out;
    ask_upstream(&d);
    rc = st->files_failed > 0 || catalog_lost(&d) ? -1 : 0;
out:
    for (i = 0; i < nfl; i++) {
        curl_multi_remove_handle(d.multi, fl[i]->easy);
        xfer_free(fl[i]);
    }
    sink_stop(&d.sink); /* every transfer was drained (xfer_free) */
    publisher_stop(&d); /* what was finished is published and recorded, cancelled or not */
    for (; ipage < npage; ipage++)
        file_free(&page[ipage]);
    free(page);
    free(fl);
    if (st->db_lost)
        record_unrecorded(&d);
    free(d.unrecorded);
    free(d.missing);
    curl_multi_cleanup(d.multi);
    if (o->progress != NULL)
        o->progress(o->arg, st);
    return rc;
}
