/*
 * ingest: a bounded queue of GetUpdateData answers and the thread that stores them. One
 * answer = one transaction (catalog_store_tx + the attached upstream_state rows). A document
 * that cannot be decoded or parsed is skipped and counted (the sync then reports it and keeps
 * its anchors, so the next sync asks again); a database error stops the stage.
 */
#include "ingest.h"
#include "cab.h"
#include "catalog.h"
#include "db.h"
#include "log.h"
#include "update.h"
#include "upstream_state.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_XML (64u << 20)
/* answers merged into one transaction */
#define MERGE_ITEMS     16
#define MERGE_REVISIONS 1000

struct ingest_item {
    struct uss_update_data d;
    char **keys, **values;
    size_t nkv;
    struct ingest_item *next;
};

/* A batch of answers, merged into one transaction, and their parsed documents. */
struct batch {
    struct ingest_item *items[MERGE_ITEMS];
    size_t nitems;
    struct update **ups; /* one per document of the items, NULL where unusable */
    size_t n;
};

/*
 * Two threads: the parser takes a batch off the queue and decodes, parses and derives it
 * (CPU only), then hands it over in the one-slot `ready`; the writer stores each ready batch
 * in its transaction (libpq: this thread alone uses the connection). So batch N+1 is parsed
 * while PostgreSQL stores batch N. The parser takes its next batch only once the slot is free,
 * so a batch merges what queued meanwhile, as before. Batches commit in queue order.
 */
struct ingest {
    pthread_t parser, writer;
    int have_parser, have_writer;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    PGconn *db;
    char *upstream;
    struct ingest_item *head, *tail;
    size_t queued, max_queued;
    int parsing;         /* the parser holds a batch */
    struct batch *ready; /* parsed, waiting for the writer */
    int parser_done;     /* the parser has exited: nothing more comes into ready */
    int busy;            /* the writer is storing a batch */
    int stopping;        /* drain then exit */
    int aborting;        /* exit at once */
    int failed;
    char error[768];
    struct ingest_counts counts;
    double busy_s;  /* time the writer spent storing, for the log */
    double parse_s; /* time the parser spent parsing */
    char since[64]; /* database clock at the start: revisions stored since are this run's */
};

static void item_free(struct ingest_item *it)
{
    size_t i;

    if (it == NULL)
        return;
    uss_update_data_free(&it->d);
    for (i = 0; i < it->nkv; i++) {
        free(it->keys[i]);
        free(it->values[i]);
    }
    free(it->keys);
    free(it->values);
    free(it);
}

static void note_bad(struct ingest *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_bad(struct ingest *in, const char *fmt, ...)
{
    va_list ap;
    char msg[512];

    va_start(ap, fmt);
    log_vwarnx_keep(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&in->lock);
    if (in->counts.bad_documents++ == 0)
        snprintf(in->counts.first_bad, sizeof(in->counts.first_bad), "%s", msg);
    pthread_mutex_unlock(&in->lock);
}

/* Decode and parse one answer item; NULL when it is unusable (counted). */
static struct update *parse_one(struct ingest *in, struct uss_update *uu,
                                const struct uss_update_data *d)
{
    struct update *u = xmalloc(sizeof(*u));
    char err[512], *xml = uu->xml;
    size_t len = xml ? strlen(xml) : 0, i, j;
    char *decoded = NULL;

    update_init(u);
    if (uu->cab != NULL && xml == NULL) {
        if (cab_blob_decode(uu->cab, uu->cab_len, MAX_XML, &decoded, &len, err, sizeof(err)) < 0) {
            note_bad(in,
                     "upstream %s sent an undecodable compressed document for update %s "
                     "revision %d: %s",
                     in->upstream, uu->id.update_id, (int)uu->id.rev, err);
            free(u);
            return NULL;
        }
        xml = decoded;
    }
    if (update_parse_derive(u, xml, len, err, sizeof(err)) < 0) {
        note_bad(in, "upstream %s sent a malformed document for update %s revision %d: %s",
                 in->upstream, uu->id.update_id, (int)uu->id.rev, err);
        free(decoded);
        free(u);
        return NULL;
    }
    free(decoded);
    if (strcmp(u->update_id, uu->id.update_id) != 0 || u->revision_number != uu->id.rev) {
        note_bad(in, "upstream %s sent the document of %s revision %d as %s revision %d",
                 in->upstream, u->update_id, u->revision_number, uu->id.update_id, (int)uu->id.rev);
        update_free(u);
        free(u);
        return NULL;
    }
    if (uu->cab != NULL) {
        u->xml_cab = uu->cab;
        u->xml_cab_len = uu->cab_len;
        uu->cab = NULL;
    }
    for (i = 0; i < u->n_files; i++)
        for (j = 0; j < d->nurls; j++)
            if (d->urls[j].mu_url != NULL && memcmp(d->urls[j].sha1, u->files[i].sha1, 20) == 0) {
                free(u->files[i].mu_url);
                u->files[i].mu_url = xstrdup(d->urls[j].mu_url);
                break;
            }
    return u;
}

static void batch_free(struct batch *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->n; i++)
        if (b->ups[i] != NULL) {
            update_free(b->ups[i]);
            free(b->ups[i]);
        }
    free(b->ups);
    for (i = 0; i < b->nitems; i++)
        item_free(b->items[i]);
    free(b);
}

/* Decode, parse and derive every document of b (the parser thread; no database). */
static void parse_batch(struct ingest *in, struct batch *b)
{
    size_t i, k, total = 0;

    for (k = 0; k < b->nitems; k++)
        total += b->items[k]->d.n;
    b->ups = xcalloc(total ? total : 1, sizeof(*b->ups));
    for (k = 0; k < b->nitems; k++) {
        for (i = 0; i < b->items[k]->d.n; i++)
            b->ups[b->n++] = parse_one(in, &b->items[k]->d.updates[i], &b->items[k]->d);
        /* the parsed updates hold what is stored: the answer's text goes now, not after the
         * commit (a parsed batch waits while the previous one is stored; peak RSS) */
        uss_update_data_free(&b->items[k]->d);
    }
}

/* Store a parsed batch in one transaction (fewer round trips and commits). */
static int store_batch(struct ingest *in, struct batch *b)
{
    struct catalog_stats st;
    char err[512];
    long updated = 0, fresh = 0;
    size_t i, k, n = b->n;
    int rc = -1;

    memset(&st, 0, sizeof(st));
    if (db_begin(in->db) < 0) {
        snprintf(in->error, sizeof(in->error), "cannot start a catalog transaction: %s",
                 db_errmsg(in->db, err, sizeof(err)));
        goto out;
    }
    if (n > 0 && catalog_count_known(in->db, b->ups, n, in->since, &updated, &fresh) < 0) {
        snprintf(in->error, sizeof(in->error), "cannot read the catalog: %s",
                 db_errmsg(in->db, err, sizeof(err)));
        goto out;
    }
    if (n > 0 && catalog_store_tx(in->db, b->ups, n, &st, err, sizeof(err)) < 0) {
        snprintf(in->error, sizeof(in->error), "cannot store updates in the catalog: %s", err);
        goto out;
    }
    for (k = 0; k < b->nitems; k++) {
        const struct ingest_item *it = b->items[k];

        for (i = 0; i < it->nkv; i++) {
            if (upstream_state_set(in->db, it->keys[i], it->values[i]) < 0) {
                snprintf(in->error, sizeof(in->error), "cannot record the sync anchor: %s",
                         db_errmsg(in->db, err, sizeof(err)));
                goto out;
            }
        }
    }
    if (db_commit(in->db) < 0) {
        snprintf(in->error, sizeof(in->error), "cannot commit to the catalog: %s",
                 db_errmsg(in->db, err, sizeof(err)));
        goto out;
    }
    pthread_mutex_lock(&in->lock);
    in->counts.stored += st.new_revisions;
    /* revisions already present (a concurrent writer) count as neither */
    if (st.new_revisions < fresh + updated) {
        long extra = fresh + updated - st.new_revisions;
        fresh -= extra < fresh ? extra : fresh;
    }
    in->counts.new_updates += fresh;
    in->counts.updated += updated;
    in->counts.categories += st.new_categories + st.new_detectoids;
    pthread_mutex_unlock(&in->lock);
    rc = 0;
out:
    if (rc < 0)
        db_rollback(in->db);
    return rc;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The parser thread: queue -> parsed batch -> ready. */
static void *parser_main(void *arg)
{
    struct ingest *in = arg;

    pthread_mutex_lock(&in->lock);
    for (;;) {
        struct batch *b;
        struct timespec t0;
        size_t revs = 0;
        int skip;

        while ((in->head == NULL || in->ready != NULL) && !in->aborting &&
               !(in->head == NULL && in->stopping))
            pthread_cond_wait(&in->cond, &in->lock);
        if (in->aborting || (in->head == NULL && in->stopping))
            break;
        /* everything queued (up to MERGE_REVISIONS) goes into one transaction */
        b = xcalloc(1, sizeof(*b));
        while (in->head != NULL && b->nitems < MERGE_ITEMS &&
               (b->nitems == 0 || revs < MERGE_REVISIONS)) {
            struct ingest_item *it = in->head;
            in->head = it->next;
            in->queued--;
            revs += it->d.n;
            b->items[b->nitems++] = it;
        }
        if (in->head == NULL)
            in->tail = NULL;
        in->parsing = 1;
        skip = in->failed; /* nothing is parsed or stored after a failure */
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->lock);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (!skip)
            parse_batch(in, b);
        in->parse_s += seconds_since(&t0);
        pthread_mutex_lock(&in->lock);
        in->parsing = 0;
        if (in->failed || in->aborting)
            batch_free(b);
        else
            in->ready = b;
        pthread_cond_broadcast(&in->cond);
    }
    in->parser_done = 1;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    return NULL;
}

/* The writer thread: ready -> one transaction. */
static void *writer_main(void *arg)
{
    struct ingest *in = arg;

    pthread_mutex_lock(&in->lock);
    for (;;) {
        struct batch *b;
        struct timespec t0;
        int rc;

        while (in->ready == NULL && !in->parser_done && !in->aborting)
            pthread_cond_wait(&in->cond, &in->lock);
        if (in->aborting || in->ready == NULL)
            break;
        b = in->ready;
        in->ready = NULL;
        in->busy = 1;
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->lock);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = in->failed ? -1 : store_batch(in, b);
        in->busy_s += seconds_since(&t0);
        batch_free(b);
        pthread_mutex_lock(&in->lock);
        in->busy = 0;
        if (rc < 0 && !in->failed) {
            in->failed = 1;
            log_warnx("%s", in->error);
        }
        pthread_cond_broadcast(&in->cond);
    }
    pthread_mutex_unlock(&in->lock);
    return NULL;
}

struct ingest *ingest_start(const char *conninfo, const char *upstream, size_t queue_len, char *err,
                            size_t errlen)
{
    struct ingest *in = xcalloc(1, sizeof(*in));

    in->db = db_connect(conninfo, "wsusd-sync", err, errlen);
    if (in->db == NULL) {
        free(in);
        return NULL;
    }
    if (catalog_clock(in->db, in->since, sizeof(in->since)) < 0)
        log_warnx("cannot read the database clock: revisions of updates fetched in this "
                  "synchronization may count as updated rather than new");
    in->upstream = xstrdup(upstream);
    in->max_queued = queue_len ? queue_len : 4;
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->cond, NULL);
    in->have_parser = pthread_create(&in->parser, NULL, parser_main, in) == 0;
    in->have_writer = in->have_parser && pthread_create(&in->writer, NULL, writer_main, in) == 0;
    if (!in->have_writer) {
        snprintf(err, errlen, "cannot start the catalog writer threads");
        ingest_stop(in, 1);
        return NULL;
    }
    return in;
}

int ingest_submit(struct ingest *in, struct uss_update_data *d, const char *const *keys,
                  const char *const *values, size_t n)
{
    struct ingest_item *it = xcalloc(1, sizeof(*it));
    size_t i;

    if (d != NULL) {
        it->d = *d;
        memset(d, 0, sizeof(*d));
    }
    if (n > 0) {
        it->keys = xcalloc(n, sizeof(char *));
        it->values = xcalloc(n, sizeof(char *));
        for (i = 0; i < n; i++) {
            it->keys[i] = xstrdup(keys[i]);
            it->values[i] = xstrdup(values[i]);
        }
        it->nkv = n;
    }
    pthread_mutex_lock(&in->lock);
    while (in->queued >= in->max_queued && !in->failed)
        pthread_cond_wait(&in->cond, &in->lock);
    if (in->failed) {
        pthread_mutex_unlock(&in->lock);
        item_free(it);
        return -1;
    }
    if (in->tail != NULL)
        in->tail->next = it;
    else
        in->head = it;
    in->tail = it;
    in->queued++;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    return 0;
}

int ingest_flush(struct ingest *in)
{
    int rc;

    pthread_mutex_lock(&in->lock);
    while ((in->head != NULL || in->parsing || in->ready != NULL || in->busy) && !in->failed)
        pthread_cond_wait(&in->cond, &in->lock);
    rc = in->failed ? -1 : 0;
    pthread_mutex_unlock(&in->lock);
    return rc;
}

void ingest_counts(struct ingest *in, struct ingest_counts *out)
{
    pthread_mutex_lock(&in->lock);
    *out = in->counts;
    pthread_mutex_unlock(&in->lock);
}

const char *ingest_error(struct ingest *in)
{
    return in->failed ? in->error : "";
}

void ingest_stop(struct ingest *in, int abort)
{
    struct ingest_item *it;

    if (in == NULL)
        return;
    pthread_mutex_lock(&in->lock);
    if (abort)
        in->aborting = 1;
    in->stopping = 1;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    if (in->have_parser)
        pthread_join(in->parser, NULL);
    if (in->have_writer)
        pthread_join(in->writer, NULL);
    if (in->have_writer)
        log_info("sync: catalog writer stored %ld revisions, busy %.2f s (parsing, on its own "
                 "thread: %.2f s)",
                 in->counts.stored, in->busy_s, in->parse_s);
    batch_free(in->ready);
    while ((it = in->head) != NULL) {
        in->head = it->next;
        item_free(it);
    }
    db_close(in->db);
    pthread_mutex_destroy(&in->lock);
    pthread_cond_destroy(&in->cond);
    free(in->upstream);
    free(in);
}
