/*
 * sync: the synchronization engine (see sync.h). The metadata pipeline is: list identities
 * (GetRevisionIdList) -> diff against the catalog (only missing (id, revision) pairs are
 * fetched, which is what makes a crashed run resumable) -> GetUpdateData batches, several in
 * flight on one curl multi handle -> ingest thread (parse + COPY into the catalog, one
 * transaction per batch) -> anchors committed after the data they cover. A batch the upstream
 * rejects with InternalServerError is bisected down to the bad identity, which is reported and
 * keeps the anchor from moving (so the next sync asks again).
 */
#include "sync.h"
#include "approvals.h"
#include "buf.h"
#include "catalog.h"
#include "content_store.h"
#include "db.h"
#include "download.h"
#include "group.h"
#include "hierarchy.h"
#include "ingest.h"
#include "log.h"
#include "rollup_dss.h"
#include "settings.h"
#include "strutil.h"
#include "sync_history.h"
#include "upstream_state.h"
#include "uss.h"
#include "xmalloc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INFLIGHT        6     /* GetUpdateData calls at once */
#define INGEST_QUEUE    8     /* answers waiting for the ingest's parser (each up to ~2 MB) */
#define DIFF_CHUNK      20000 /* identities per catalog diff query */
#define MAX_NET_RETRIES 2     /* per batch, on a network error */
#define MAX_REAUTH      3     /* InvalidCookie recoveries per run */
#define MAX_MISSING     1000  /* missing identities remembered for the history */

/* upstream_state keys */
#define K_UPSTREAM         "upstream-url"
#define K_CONFIG_ANCHOR    "config-anchor"
#define K_CAT_ANCHOR       "categories-anchor"
#define K_UPD_ANCHOR       "updates-anchor"
#define K_DEP_ANCHOR       "deployments-anchor"
#define SYNC_MAX_LANGUAGES 63 /* Get63LanguageOnly: a DSS asks for at most 63 (MS-WSUSSS 1.7) */
#define K_SYNCED_PRODUCTS  "synced-products"
#define K_SYNCED_CLASSES   "synced-classifications"
#define K_SYNCED_LANGS     "synced-languages"

struct sync_settings {
    /* the proxy and TLS settings are read by sync_open_upstream() */
    char *upstream, *account_name, *mode, *storage, *products, *classifications, *download;
};

struct sync_ctx {
    const struct sync_params *p;
    PGconn *db; /* holds the advisory lock; history and state */
    long hid;
    struct sync_settings set;
    struct uss *u;
    struct ingest *in;
    struct uss_config cfg;
    char phase[32];
    long listed, to_fetch, fetched;
    long missing_n;
    json_t *missing; /* array of {"update_id","revision","title"} */
    json_t *gone;    /* updates whose files the upstream no longer has (catalog.h) */
    struct download_stats dl;
    struct ingest_counts counts; /* last snapshot of the ingest stage */
    int reauths;
    time_t last_progress;
    /* download rate: a moving average over the progress reports (about one a second) */
    double rate, rate_t;
    int64_t rate_bytes;
    /* when the downloader last moved a byte or finished a file (the "progress_at" of detail) */
    time_t moved_at;
    int64_t moved_bytes;
    long moved_files;
    char err[1024];
};

const char *sync_trigger_name(enum sync_trigger t)
{
    switch (t) {
    case SYNC_TRIGGER_SCHEDULE:
        return "schedule";
    case SYNC_TRIGGER_RETRY:
        return "retry";
    case SYNC_TRIGGER_DOWNSTREAM:
        return "downstream";
    default:
        return "manual";
    }
}

static int cancelled(struct sync_ctx *s)
{
    return s->p->cancel != NULL && atomic_load(s->p->cancel) != 0;
}

static const char *cancel_msg(struct sync_ctx *s)
{
    if (s->p->cancel != NULL && atomic_load(s->p->cancel) == SYNC_CANCEL_ADMIN)
        return "synchronization cancelled by an administrator (wsusctl sync cancel); partial "
               "files are kept and the next synchronization resumes them";
    return "synchronization cancelled (wsusd is stopping); the next synchronization resumes it";
}

/* sleep(3) that ends early when the run is cancelled. */
static void nap(struct sync_ctx *s, unsigned seconds)
{
    unsigned i;

    for (i = 0; i < seconds * 10 && !cancelled(s); i++)
        usleep(100000);
}

static void fail(struct sync_ctx *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sync_ctx *s, const char *fmt, ...)
{
    va_list ap;

    if (s->err[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

/* ---------- state and history ---------- */

static char *state_get(struct sync_ctx *s, const char *key)
{
    return upstream_state_get(s->db, key);
}

static int state_set(PGconn *db, const char *key, const char *value)
{
    return upstream_state_set(db, key, value);
}

static void state_clear_anchors(struct sync_ctx *s)
{
    (void)upstream_state_clear_anchors(s->db);
}

static json_t *progress_json(struct sync_ctx *s)
{
    json_t *calls = json_object();
    json_t *j;
    int op;

    for (op = 0; s->u != NULL && op < USS_OP_COUNT; op++)
        json_object_set_new(calls, uss_op_name(op), json_integer((json_int_t)uss_calls(s->u, op)));
    j = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}", "phase", s->phase,
        "revisions_listed", (json_int_t)s->listed, "revisions_to_fetch", (json_int_t)s->to_fetch,
        "revisions_fetched", (json_int_t)s->fetched, "files_total", (json_int_t)s->dl.files_total,
        "files_done", (json_int_t)s->dl.files_done, "files_missing_upstream",
        (json_int_t)s->dl.files_missing, "bytes_total", (json_int_t)s->dl.bytes_total, "bytes_done",
        (json_int_t)s->dl.bytes_done, "bytes_resumed", (json_int_t)s->dl.bytes_resumed,
        "range_ignored", s->dl.range_ignored, "calls", calls);
    json_object_set_new(j, "bytes_per_second", json_integer((json_int_t)s->rate));
    json_object_set_new(j, "bytes_present", json_integer((json_int_t)s->dl.bytes_present));
    if (s->moved_at > 0)
        json_object_set_new(j, "progress_at", json_integer((json_int_t)s->moved_at));
    if (s->missing != NULL && json_array_size(s->missing) > 0)
        json_object_set(j, "missing_updates", s->missing);
    json_object_set_new(j, "files_gone_upstream", json_integer((json_int_t)s->dl.files_gone));
    if (s->gone != NULL && json_array_size(s->gone) > 0)
        json_object_set(j, "gone_updates", s->gone);
    return j;
}

static void history_update(struct sync_ctx *s, int force)
{
    struct ingest_counts c;
    json_t *j;
    char *detail;
    time_t now = time(NULL);

    if (s->hid <= 0 || (!force && now == s->last_progress))
        return;
    s->last_progress = now;
    if (s->in != NULL)
        ingest_counts(s->in, &s->counts);
    c = s->counts;
    j = progress_json(s);
    detail = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    sync_history_sync_progress(s->db, s->hid, s->phase, c.new_updates, c.updated, c.categories,
                               s->dl.files_done, s->dl.bytes_done, detail);
    free(detail);
}

static void set_phase(struct sync_ctx *s, const char *phase)
{
    snprintf(s->phase, sizeof(s->phase), "%s", phase);
    log_info("sync: %s", phase);
    history_update(s, 1);
}

/* ---------- settings ---------- */

static char *setting(PGconn *db, const char *key)
{
    char *v = settings_get(db, key);

    return v != NULL ? v : xstrdup("");
}

/* A number setting (settings.c checked its range when it was set); def when unset. */
static long setting_long(PGconn *db, const char *key, long def)
{
    char *v = settings_get(db, key);
    long n = def;

    if (v == NULL || str_to_long(v, 1, 86400, &n) < 0)
        n = def;
    free(v);
    return n;
}

static void settings_load(struct sync_ctx *s)
{
    struct sync_settings *t = &s->set;

    t->upstream = setting(s->db, "upstream");
    t->account_name = setting(s->db, "account-name");
    t->mode = setting(s->db, "mode");
    t->storage = setting(s->db, "storage");
    t->products = setting(s->db, "products");
    t->classifications = setting(s->db, "classifications");
    t->download = setting(s->db, "download");
}

static void settings_release(struct sync_settings *t)
{
    free(t->upstream);
    free(t->account_name);
    free(t->mode);
    free(t->storage);
    free(t->products);
    free(t->classifications);
    free(t->download);
}

/* Split "a,b,c" into idd entries (ids point into the copy *store). Delta when the id was in
 * the synced list and there is an anchor. */
static struct uss_idd *idd_list(const char *list, const char *synced, int have_anchor, size_t *n,
                                char **store)
{
    struct uss_idd *v;
    char *p, *save = NULL, *tok;
    size_t cap = 1;

    for (p = (char *)list; *p; p++)
        cap += *p == ',';
    v = xcalloc(cap, sizeof(*v));
    *n = 0;
    *store = xstrdup(list);
    for (tok = strtok_r(*store, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        str_trim(tok);
        if (*tok == '\0')
            continue;
        v[*n].id = tok;
        v[*n].delta = have_anchor && synced != NULL && strstr(synced, tok) != NULL;
        (*n)++;
    }
    return v;
}

/* ---------- upstream calls with recovery ---------- */

/* Decide what to do after a failed blocking call: 1 = retry, 0 = give up (s->err set). */
static int recover(struct sync_ctx *s, struct uss_error *e, int *tries)
{
    (*tries)++;
    if (cancelled(s)) {
        fail(s, "%s", cancel_msg(s));
        return 0;
    }
    if (e->kind == USS_ERR_FAULT &&
        (strcmp(e->code, "InvalidCookie") == 0 ||
         strcmp(e->code, "InvalidAuthorizationCookie") == 0) &&
        s->reauths < MAX_REAUTH) {
        s->reauths++;
        log_info("upstream %s refused our cookie (%s); authorizing again", uss_url(s->u), e->code);
        uss_drop_cookie(s->u);
        return 1;
    }
    if (e->kind == USS_ERR_FAULT && strcmp(e->code, "ServerBusy") == 0 && *tries <= 3) {
        nap(s, 5);
        return 1;
    }
    /* an upstream that accepts connections but never answers would not answer a retry, and
     * a certificate that failed verification fails it again */
    if (e->kind == USS_ERR_NET && strcmp(e->code, "ConnectionRefused") != 0 &&
        strcmp(e->code, "CouldNotResolve") != 0 && strcmp(e->code, "NoAnswer") != 0 &&
        strcmp(e->code, "TLSVerify") != 0 && *tries <= MAX_NET_RETRIES) {
        log_info("%s; trying again", e->msg);
        nap(s, (unsigned)*tries);
        return 1;
    }
    fail(s, "%s", e->msg);
    return 0;
}

static int ensure_cookie(struct sync_ctx *s)
{
    struct uss_error e;
    int tries = 0;

    while (uss_ensure_cookie(s->u, &e) < 0)
        if (!recover(s, &e, &tries))
            return -1;
    return 0;
}

/* ---------- diff and fetch ---------- */

/*
 * Keep in l only the identities not stored yet (deduplicated), in place: at 1,000,000
 * identities the list is ~20 MB, and a second array for the missing ones would double it.
 * Each chunk's answer is at most the chunk, and is written at or before its start, over
 * identities already sent.
 */
static int diff_missing(struct sync_ctx *s, struct uss_idlist *l)
{
    struct buf a, b;
    size_t i, start, n = l->n, nout = 0;
    int rc = -1;

    buf_init(&a, (size_t)64 << 20);
    buf_init(&b, (size_t)64 << 20);
    for (start = 0; start < n; start += DIFF_CHUNK) {
        size_t end = start + DIFF_CHUNK < n ? start + DIFF_CHUNK : n;
        PGresult *r;
        int k;

        buf_reset(&a);
        buf_reset(&b);
        buf_add_str(&a, "{");
        buf_add_str(&b, "{");
        for (i = start; i < end; i++) {
            struct uss_id id;

            uss_idlist_get(l, i, &id);
            buf_printf(&a, "%s%s", i > start ? "," : "", id.update_id);
            buf_printf(&b, "%s%d", i > start ? "," : "", (int)id.rev);
        }
        buf_add_str(&a, "}");
        buf_add_str(&b, "}");
        r = catalog_revisions_absent(s->db, buf_str(&a), buf_str(&b));
        if (r == NULL) {
            char m[300];
            fail(s, "cannot compare the upstream's list with the catalog: %s",
                 db_errmsg(s->db, m, sizeof(m)));
            goto out;
        }
        for (k = 0; k < PQntuples(r) && nout < end; k++) {
            const char *u = PQgetvalue(r, k, 0);

            if (str_guid_parse(u, strlen(u), l->ids[nout].uuid) < 0)
                continue; /* the catalog's uuid text: cannot happen */
            l->ids[nout].rev = (int32_t)strtol(PQgetvalue(r, k, 1), NULL, 10);
            nout++;
        }
        PQclear(r);
    }
    rc = 0;
out:
    buf_free(&a);
    buf_free(&b);
    l->n = rc < 0 ? 0 : nout;
    if (l->n == 0) {
        uss_idlist_free(l);
    } else if (l->n < l->cap / 2) { /* give back what the fetch does not need */
        l->ids = xreallocarray(l->ids, l->n, sizeof(*l->ids));
        l->cap = l->n;
    }
    return rc;
}

static void note_missing(struct sync_ctx *s, const struct uss_id *id, const char *why)
{
    char rev[DB_PARAM_INT_LEN];
    PGresult *r;
    const char *title = "";

    s->missing_n++;
    if (s->missing == NULL)
        s->missing = json_array();
    if (json_array_size(s->missing) >= MAX_MISSING)
        return;
    /* the title of the bundle that lists it, when we have one */
    db_param_int(rev, (int)id->rev);
    r = catalog_bundle_title(s->db, id->update_id, rev);
    if (r != NULL && PQntuples(r) == 1)
        title = PQgetvalue(r, 0, 0);
    json_array_append_new(s->missing,
                          json_pack("{s:s, s:i, s:s, s:s}", "update_id", id->update_id, "revision",
                                    (int)id->rev, "bundle_title", title, "reason", why));
    log_warnx("upstream %s has no update %s revision %d%s%s%s: %s", uss_url(s->u), id->update_id,
              (int)id->rev, title[0] ? " (part of \"" : "", title, title[0] ? "\")" : "", why);
    PQclear(r);
}

struct range {
    size_t start, len;
    int tries;
};

struct flight {
    struct uss_call *call;
    struct range r;
};

/*
 * Fetch ids (all missing from the catalog) in batches of the upstream's maximum, INFLIGHT at
 * once, handing answers to the ingest stage. keys/values are attached to the last answer when
 * nothing went missing. 0, or -1 with s->err set.
 */
/* GetUpdateData for the identities [start, start + len) of l. */
static struct uss_call *call_update_data(struct sync_ctx *s, const struct uss_idlist *l,
                                         size_t start, size_t len)
{
    struct uss_id *v = xcalloc(len, sizeof(*v));
    struct uss_call *c;
    size_t i;

    for (i = 0; i < len; i++)
        uss_idlist_get(l, start + i, &v[i]);
    c = uss_call_update_data(s->u, v, len); /* the request is built: v is not kept */
    free(v);
    return c;
}

static int fetch_ids(struct sync_ctx *s, const struct uss_idlist *l, const char *const *keys,
                     const char *const *values, size_t nkv)
{
    size_t n = l->n;
    size_t per = (size_t)s->cfg.max_updates_per_request;
    struct range *todo = NULL;
    size_t ntodo = 0, captodo = 0, i;
    struct flight fl[INFLIGHT];
    int nfl = 0, rc = -1;
    long missing_before = s->missing_n;
    struct uss_update_data held;

    memset(fl, 0, sizeof(fl));
    memset(&held, 0, sizeof(held));
    if (per < 1)
        per = 100;
    /* ranges in reverse so popping from the end goes in list order */
    for (i = 0; i < n; i += per) {
        if (ntodo == captodo) {
            captodo = captodo ? captodo * 2 : 64;
            todo = xreallocarray(todo, captodo, sizeof(*todo));
        }
        todo[ntodo].start = i;
        todo[ntodo].len = n - i < per ? n - i : per;
        todo[ntodo].tries = 0;
        ntodo++;
    }
    for (i = 0; i < ntodo / 2; i++) {
        struct range t = todo[i];
        todo[i] = todo[ntodo - 1 - i];
        todo[ntodo - 1 - i] = t;
    }
    while (ntodo > 0 || nfl > 0) {
        int k;

        if (cancelled(s)) {
            fail(s, "%s", cancel_msg(s));
            goto out;
        }
        while (nfl < INFLIGHT && ntodo > 0) {
            if (ensure_cookie(s) < 0)
                goto out;
            fl[nfl].r = todo[--ntodo];
            fl[nfl].call = call_update_data(s, l, fl[nfl].r.start, fl[nfl].r.len);
            nfl++;
        }
        uss_wait(s->u, 200);
        for (k = 0; k < nfl; k++) {
            struct uss_update_data d;
            struct uss_error e;
            struct range r = fl[k].r;

            if (!uss_call_done(fl[k].call))
                continue;
            memset(&d, 0, sizeof(d));
            if (uss_call_result(fl[k].call, &d, &e) == 0) {
                s->fetched += (long)d.n;
                if (d.n < r.len) {
                    /* the spec's wording allows skipping unknown ids: find which */
                    size_t a, b;
                    for (a = r.start; a < r.start + r.len; a++) {
                        struct uss_id id;
                        int found = 0;

                        uss_idlist_get(l, a, &id);
                        for (b = 0; b < d.n && !found; b++)
                            found = strcmp(d.updates[b].id.update_id, id.update_id) == 0 &&
                                    d.updates[b].id.rev == id.rev;
                        if (!found)
                            note_missing(s, &id, "not in its GetUpdateData answer");
                    }
                }
                if (ntodo == 0 && nfl == 1) {
                    held = d; /* the last answer: goes with the anchors */
                } else if (ingest_submit(s->in, &d, NULL, NULL, 0) < 0) {
                    uss_update_data_free(&d);
                    fail(s, "%s", ingest_error(s->in));
                    goto out;
                }
            } else if (e.kind == USS_ERR_FAULT && strcmp(e.code, "InternalServerError") == 0 &&
                       r.len > 1) {
                /* one bad id fails the whole batch on Windows: bisect */
                size_t half = r.len / 2;
                if (ntodo + 2 > captodo) {
                    captodo = captodo * 2 + 2;
                    todo = xreallocarray(todo, captodo, sizeof(*todo));
                }
                todo[ntodo++] = (struct range){r.start + half, r.len - half, 0};
                todo[ntodo++] = (struct range){r.start, half, 0};
            } else if (e.kind == USS_ERR_FAULT && strcmp(e.code, "InternalServerError") == 0) {
                struct uss_id id;

                uss_idlist_get(l, r.start, &id);
                note_missing(s, &id, "GetUpdateData fails for it (InternalServerError)");
            } else if (e.kind == USS_ERR_FAULT && strcmp(e.code, "InvalidParameters") == 0 &&
                       r.len > 1 && per > 1) {
                /* the upstream takes fewer ids than it said: halve the batches */
                per = per / 2;
                todo[ntodo++] = (struct range){r.start + r.len / 2, r.len - r.len / 2, 0};
                todo[ntodo++] = (struct range){r.start, r.len / 2, 0};
            } else {
                int tries = r.tries;
                if (!recover(s, &e, &tries)) {
                    uss_call_free(fl[k].call);
                    fl[k] = fl[--nfl];
                    goto out;
                }
                r.tries = tries;
                if (ntodo == captodo) {
                    captodo = captodo * 2 + 2;
                    todo = xreallocarray(todo, captodo, sizeof(*todo));
                }
                todo[ntodo++] = r;
            }
            uss_call_free(fl[k].call);
            fl[k] = fl[--nfl];
            k--;
        }
        history_update(s, 0);
    }
    if (s->missing_n > missing_before)
        nkv = 0; /* keep the old anchors: the next sync asks again */
    if (ingest_submit(s->in, &held, keys, values, nkv) < 0 || ingest_flush(s->in) < 0) {
        fail(s, "%s", ingest_error(s->in));
        goto out;
    }
    rc = 0;
out:
    for (i = 0; i < (size_t)nfl; i++)
        uss_call_free(fl[i].call);
    uss_update_data_free(&held);
    free(todo);
    return rc;
}

/* List with a filter, diff, fetch. kv (anchors) committed with the data. */
static int list_and_fetch(struct sync_ctx *s, const struct uss_filter *f, char *anchor_out,
                          size_t anchor_len)
{
    struct uss_idlist l;
    struct uss_error e;
    size_t listed;
    int tries = 0, rc = -1;

    memset(&l, 0, sizeof(l));
    for (;;) {
        if (ensure_cookie(s) < 0)
            return -1;
        if (uss_get_revision_ids(s->u, f, &l, &e) == 0)
            break;
        if (!recover(s, &e, &tries))
            return -1;
    }
    listed = l.n;
    s->listed += (long)l.n;
    snprintf(anchor_out, anchor_len, "%s", l.anchor);
    if (diff_missing(s, &l) < 0)
        goto out;
    log_info("sync: upstream listed %zu revisions, %zu not in the catalog yet", listed, l.n);
    s->to_fetch += (long)l.n;
    history_update(s, 1);
    rc = fetch_ids(s, &l, NULL, NULL, 0);
out:
    uss_idlist_free(&l);
    return rc;
}

/* Bundle members referenced by stored revisions but not stored: fetch them (closure). */
static int fetch_closure(struct sync_ctx *s)
{
    int round;

    for (round = 0; round < 8; round++) {
        PGresult *r = catalog_bundle_members_absent(s->db);
        struct uss_idlist ids;
        size_t n, i;
        long before = s->missing_n;
        int rc;

        if (r == NULL) {
            fail(s, "cannot read the bundle relations of the catalog");
            return -1;
        }
        n = (size_t)PQntuples(r);
        if (n == 0) {
            PQclear(r);
            return 0;
        }
        memset(&ids, 0, sizeof(ids));
        for (i = 0; i < n; i++)
            if (uss_idlist_add(&ids, PQgetvalue(r, (int)i, 0),
                               (int32_t)strtol(PQgetvalue(r, (int)i, 1), NULL, 10)) < 0) {
                log_warnx("sync: bundled revision %s not fetched in this run (not a GUID, or "
                          "more than %d to fetch); it is fetched at the next synchronization",
                          PQgetvalue(r, (int)i, 0), USS_MAX_IDS);
                break;
            }
        PQclear(r);
        n = ids.n;
        log_info("sync: %zu bundled revisions were not listed by the upstream; fetching them", n);
        s->to_fetch += (long)n;
        rc = fetch_ids(s, &ids, NULL, NULL, 0);
        uss_idlist_free(&ids);
        if (rc < 0)
            return -1;
        if (s->missing_n - before >= (long)n)
            return 0; /* nothing more can be had */
    }
    return 0;
}

/* Fresh planner statistics after a big ingest, so the queries of this server (and of its own
 * downstream servers) keep their index plans without waiting for autovacuum. */
static void analyze_if_grown(struct sync_ctx *s)
{
    if (s->in != NULL)
        ingest_counts(s->in, &s->counts);
    if (s->counts.stored < 5000)
        return;
    log_info("sync: %ld revisions stored; refreshing the catalog statistics", s->counts.stored);
    if (catalog_analyze(s->db) < 0)
        log_warnx("sync: cannot refresh the catalog statistics; queries may be slow until "
                  "autovacuum does it");
}

/* ---------- phases ---------- */

/*
 * The loop check (common/hierarchy.h): the chain the upstream published is remembered first,
 * even when it closes a loop, so that the other servers of the loop see it too.
 */
static int check_loop(struct sync_ctx *s)
{
    struct hier_chain up;
    struct hier_result res;
    int have = hier_chain_parse(s->cfg.hierarchy, &up) == 0;

    if (hier_remember(s->db, have ? &up : NULL) < 0)
        log_warnx("sync: cannot remember the upstream's chain of servers");
    hier_check_loop(s->p->server_id, s->set.account_name, uss_url(s->u), have ? &up : NULL, &res);
    if (res.verdict != HIER_FAIL) {
        log_info("sync: %s", res.line);
        return 0;
    }
    fail(s, "%s; nothing was synchronized: %s", res.line, res.fix);
    return -1;
}

/*
 * Languages, products and classifications this server asks for must be offered by the
 * upstream (common/hierarchy.h): refused before data moves, by name, with the fix. An
 * upstream that publishes nothing (Windows WSUS) is not checked for products.
 */
static int check_offered(struct sync_ctx *s)
{
    struct hier_result res;
    char *langs = settings_get(s->db, "languages");
    char *up_langs = state_get(s, "languages");

    hier_check_languages(uss_url(s->u), langs, up_langs, &res);
    free(langs);
    free(up_langs);
    if (res.verdict == HIER_FAIL) {
        fail(s, "%s; nothing was synchronized: %s", res.line, res.fix);
        return -1;
    }
    hier_check_offered(s->db, uss_url(s->u), s->cfg.subscription, s->set.products,
                       s->set.classifications, &res);
    if (res.verdict == HIER_FAIL) {
        fail(s, "%s; nothing was synchronized: %s", res.line, res.fix);
        return -1;
    }
    return 0;
}

char *sync_languages_json(const struct uss_config *cfg)
{
    json_t *a = json_array();
    size_t i;
    char *t;

    for (i = 0; i < cfg->nlanguages; i++)
        json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:b}", "lcid", cfg->languages[i].lcid,
                                           "short", cfg->languages[i].short_name, "long",
                                           cfg->languages[i].long_name, "enabled",
                                           cfg->languages[i].enabled));
    t = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (t == NULL)
        fatalx("out of memory");
    return t;
}

int sync_storage_differs(const char *account_name, const char *storage, const char *upstream,
                         const char *upstream_url, int catalog_only_sync, char *msg, size_t msglen)
{
    int ours_mu = strcmp(storage, "microsoft-update") == 0;
    int from_mu = strcasecmp(upstream, "microsoft-update") == 0 ||
                  strcasecmp(upstream_url, USS_MICROSOFT_UPDATE_URL) == 0;

    if (from_mu || ours_mu == (catalog_only_sync != 0))
        return 0; /* Microsoft Update is metadata-only by nature; a root stores what it wants */
    snprintf(
        msg, msglen,
        "storage options differ: this server (%s) %s (storage=%s) but its upstream %s %s "
        "(CatalogOnlySync=%s); every server of a hierarchy must use the same option: run "
        "wsusctl config set storage %s here, or change the upstream",
        account_name,
        ours_mu ? "sends clients to Microsoft Update for files" : "stores update files locally",
        storage, upstream_url,
        catalog_only_sync ? "stores only metadata and sends clients to Microsoft Update"
                          : "stores update files locally",
        catalog_only_sync ? "true" : "false", catalog_only_sync ? "microsoft-update" : "local");
    return 1;
}

/*
 * Hierarchy rules that can be checked right after GetConfigData (ARCHITECTURE.md §5), before
 * data moves: no loop, the languages, products and classifications asked for are offered,
 * and the storage option must be the same on both ends.
 */
static int sync_check_hierarchy(struct sync_ctx *s)
{
    char msg[1024];
    int from_mu = strcasecmp(s->set.upstream, "microsoft-update") == 0 ||
                  strcasecmp(uss_url(s->u), USS_MICROSOFT_UPDATE_URL) == 0;

    if (check_loop(s) < 0)
        return -1;
    if (from_mu)
        return 0; /* Microsoft Update is metadata-only by nature; a root stores what it wants */
    if (check_offered(s) < 0)
        return -1;
    if (sync_storage_differs(s->set.account_name, s->set.storage, s->set.upstream, uss_url(s->u),
                             s->cfg.catalog_only_sync, msg, sizeof(msg))) {
        fail(s, "%s", msg);
        return -1;
    }
    return 0;
}

/*
 * A replica takes its languages from the upstream, as products and approvals (WSUS greys them
 * out there): the languages it carries by the GetConfigData list just stored. Approvals of
 * updates of a language it dropped become inactive here (listinactiveapprovals).
 */
static void inherit_languages(struct sync_ctx *s)
{
    char *carried, *ours;
    char err[512];

    if (strcmp(s->set.mode, "replica") != 0 || (carried = hier_upstream_languages(s->db)) == NULL)
        return;
    ours = settings_get(s->db, "languages");
    if (carried[0] != '\0' && ours != NULL && strcmp(ours, carried) != 0) {
        if (settings_set(s->db, "languages", carried, SETTINGS_FROM_UPSTREAM, err, sizeof(err)) < 0)
            log_warnx("sync: cannot take the upstream's languages %s: %s", carried, err);
        else
            log_info("sync: languages %s, as upstream %s (replica)", carried, uss_url(s->u));
    }
    free(ours);
    free(carried);
}

static int phase_config(struct sync_ctx *s, char **config_anchor)
{
    struct uss_error e;
    char *old_upstream = state_get(s, K_UPSTREAM);
    int tries = 0;
    char v[DB_PARAM_INT_LEN];

    if (old_upstream == NULL || strcmp(old_upstream, uss_url(s->u)) != 0) {
        /* anchors belong to one upstream */
        if (old_upstream != NULL)
            log_info("upstream changed from %s to %s: listing everything again", old_upstream,
                     uss_url(s->u));
        state_clear_anchors(s);
        state_set(s->db, K_UPSTREAM, uss_url(s->u));
    }
    free(old_upstream);
    *config_anchor = NULL;
    set_phase(s, "authorizing");
    if (ensure_cookie(s) < 0)
        return -1;
    set_phase(s, "configuration");
    {
        char *anchor = state_get(s, K_CONFIG_ANCHOR);
        for (;;) {
            if (ensure_cookie(s) < 0) {
                free(anchor);
                return -1;
            }
            if (uss_get_config_data(s->u, anchor, &s->cfg, &e) == 0)
                break;
            if (e.kind == USS_ERR_FAULT && strcmp(e.code, "ServerChanged") == 0 && anchor) {
                log_info("upstream %s was rebuilt (ServerChanged): resetting anchors",
                         uss_url(s->u));
                state_clear_anchors(s);
                free(anchor);
                anchor = NULL;
                continue;
            }
            if (!recover(s, &e, &tries)) {
                free(anchor);
                return -1;
            }
        }
        free(anchor);
    }
    *config_anchor = xstrdup(s->cfg.new_config_anchor);
    db_param_int(v, s->cfg.catalog_only_sync);
    state_set(s->db, "catalog-only-sync", v);
    db_param_int(v, s->cfg.lazy_sync);
    state_set(s->db, "lazy-sync", v);
    db_param_int(v, s->cfg.max_updates_per_request);
    state_set(s->db, "max-updates-per-request", v);
    state_set(s->db, "protocol-version", s->cfg.protocol_version);
    if (s->cfg.nlanguages > 0) {
        char *t = sync_languages_json(&s->cfg);
        state_set(s->db, "languages", t);
        free(t);
    }
    inherit_languages(s);
    return sync_check_hierarchy(s);
}

static int phase_categories(struct sync_ctx *s)
{
    struct uss_filter f;
    char *anchor = state_get(s, K_CAT_ANCHOR);
    char newanchor[USS_MAX_ANCHOR];
    const char *keys[1] = {K_CAT_ANCHOR};
    const char *vals[1] = {newanchor};
    struct uss_idlist l;
    struct uss_error e;
    int tries = 0, rc = -1;

    set_phase(s, "categories");
    memset(&f, 0, sizeof(f));
    f.get_config = 1;
    f.anchor = anchor;
    memset(&l, 0, sizeof(l));
    for (;;) {
        if (ensure_cookie(s) < 0)
            goto out;
        if (uss_get_revision_ids(s->u, &f, &l, &e) == 0)
            break;
        if (!recover(s, &e, &tries))
            goto out;
    }
    s->listed += (long)l.n;
    snprintf(newanchor, sizeof(newanchor), "%s", l.anchor);
    if (diff_missing(s, &l) < 0)
        goto out;
    s->to_fetch += (long)l.n;
    log_info("sync: upstream listed %ld categories and detectoids, %zu not in the catalog yet",
             s->listed, l.n);
    rc = fetch_ids(s, &l, keys, vals, newanchor[0] ? 1 : 0);
out:
    uss_idlist_free(&l);
    free(anchor);
    return rc;
}

static int phase_updates(struct sync_ctx *s, const char *config_anchor)
{
    struct uss_filter f;
    char *anchor = state_get(s, K_UPD_ANCHOR);
    char *synced_p = state_get(s, K_SYNCED_PRODUCTS);
    char *synced_c = state_get(s, K_SYNCED_CLASSES);
    char *store_p = NULL, *store_c = NULL;
    char newanchor[USS_MAX_ANCHOR] = "";
    struct uss_idd *cats = NULL, *classes = NULL;
    size_t ncats = 0, nclasses = 0;
    long missing_before = s->missing_n;
    long lcids[SYNC_MAX_LANGUAGES];
    char *synced_l = state_get(s, K_SYNCED_LANGS);
    struct buf langs;
    size_t i;
    int rc = -1;

    buf_init(&langs, 16 * SYNC_MAX_LANGUAGES);

    set_phase(s, "updates");
    /* from a filtered subscription to "everything": list everything again */
    if ((s->set.products[0] == '\0' || s->set.classifications[0] == '\0') &&
        ((synced_p != NULL && synced_p[0] != '\0') || (synced_c != NULL && synced_c[0] != '\0'))) {
        free(anchor);
        anchor = NULL;
    }
    memset(&f, 0, sizeof(f));
    f.anchor = anchor;
    if (s->set.products[0] != '\0' && s->set.classifications[0] != '\0') {
        cats = idd_list(s->set.products, synced_p, anchor != NULL, &ncats, &store_p);
        classes = idd_list(s->set.classifications, synced_c, anchor != NULL, &nclasses, &store_c);
        f.categories = cats;
        f.ncategories = ncats;
        f.classifications = classes;
        f.nclassifications = nclasses;
    }
    /* only the language-specific updates of the languages enabled here (neutral ones always);
     * a language enabled since the last listing needs its older updates: list everything */
    f.languages = lcids;
    f.nlanguages = settings_language_lcids(s->db, lcids, SYNC_MAX_LANGUAGES);
    for (i = 0; i < f.nlanguages; i++)
        buf_printf(&langs, "%s%ld", i ? "," : "", lcids[i]);
    if (f.anchor != NULL && (synced_l == NULL || strcmp(synced_l, buf_str(&langs)) != 0)) {
        log_info("sync: the languages changed since the last listing: listing everything again");
        f.anchor = NULL;
    }
    if (list_and_fetch(s, &f, newanchor, sizeof(newanchor)) < 0)
        goto out;
    {
        /* the closure query reads all bundle relations: skip it when nothing arrived since
         * the last complete one */
        char *done = state_get(s, "closure-complete");
        int skip = s->to_fetch == 0 && done != NULL && strcmp(done, "1") == 0;
        free(done);
        if (!skip) {
            state_set(s->db, "closure-complete", "0");
            if (fetch_closure(s) < 0)
                goto out;
            if (s->missing_n == missing_before)
                state_set(s->db, "closure-complete", "1");
        }
    }
    analyze_if_grown(s);
    if (s->missing_n == missing_before) {
        const char *keys[5] = {K_UPD_ANCHOR, K_SYNCED_PRODUCTS, K_SYNCED_CLASSES, K_CONFIG_ANCHOR,
                               K_SYNCED_LANGS};
        const char *vals[5] = {newanchor, s->set.products, s->set.classifications,
                               config_anchor ? config_anchor : "", buf_str(&langs)};
        /* all data above is committed (ingest_flush); the anchors follow in their own commit */
        if (ingest_submit(s->in, NULL, keys, vals, newanchor[0] ? 5 : 0) < 0 ||
            ingest_flush(s->in) < 0) {
            fail(s, "%s", ingest_error(s->in));
            goto out;
        }
    }
    rc = 0;
out:
    free(anchor);
    free(synced_p);
    free(synced_c);
    free(synced_l);
    buf_free(&langs);
    free(store_p);
    free(store_c);
    free(cats);
    free(classes);
    return rc;
}

static int apply_deployments(struct sync_ctx *s, const struct uss_deployments *d)
{
    char m[300];
    size_t i;
    struct buf ids;

    buf_init(&ids, (size_t)64 << 20);
    if (db_begin(s->db) < 0)
        goto fail;
    buf_add_str(&ids, "{");
    for (i = 0; i < d->ngroups; i++) {
        const struct uss_group *g = &d->groups[i];

        if (group_replicate(s->db, g->id, g->parent_id[0] ? g->parent_id : NULL,
                            g->name ? g->name : "", g->is_builtin) < 0)
            goto fail;
        buf_printf(&ids, "%s%s", i ? "," : "", g->id);
    }
    buf_add_str(&ids, "}");
    if (d->ngroups > 0) {
        if (approvals_delete_groups_not_in(s->db, buf_str(&ids)) < 0 ||
            group_delete_not_in(s->db, buf_str(&ids)) < 0)
            goto fail;
    }
    for (i = 0; i < d->ndead; i++)
        if (approvals_kill_deployment(s->db, d->dead[i]) < 0)
            goto fail;
    for (i = 0; i < d->ndeployments; i++) {
        const struct uss_deployment *x = &d->deployments[i];
        struct approvals_inherited a = {
            .deployment_guid = x->deployment_guid,
            .update_id = x->update_id,
            .revision = (int)x->rev,
            .target_group_id = x->target_group_id,
            .action = x->action,
            .admin_name = x->admin_name,
            .deadline =
                (x->deadline[0] && strncmp(x->deadline, "9999-", 5) != 0) ? x->deadline : NULL,
            .is_assigned = x->is_assigned,
            .go_live_time = x->go_live_time[0] ? x->go_live_time : NULL,
            .download_priority = x->download_priority,
        };
        if (approvals_inherit(s->db, &a) < 0)
            goto fail;
    }
    buf_reset(&ids);
    buf_add_str(&ids, "{");
    for (i = 0; i < d->nhidden; i++)
        buf_printf(&ids, "%s%s", i ? "," : "", d->hidden[i]);
    buf_add_str(&ids, "}");
    if (approvals_set_upstream_declines(s->db, buf_str(&ids)) < 0)
        goto fail;
    for (i = 0; i < d->neulas; i++)
        if (approvals_accept_eula(s->db, d->eulas[i], "upstream") < 0)
            goto fail;
    if (d->anchor[0] && state_set(s->db, K_DEP_ANCHOR, d->anchor) < 0)
        goto fail;
    if (db_commit(s->db) < 0)
        goto fail;
    buf_free(&ids);
    log_info("sync: replica state: %zu groups, %zu approvals changed, %zu removed, %zu declined",
             d->ngroups, d->ndeployments, d->ndead, d->nhidden);
    return 0;
fail:
    fail(s, "cannot store the upstream's approvals: %s", db_errmsg(s->db, m, sizeof(m)));
    db_rollback(s->db);
    buf_free(&ids);
    return -1;
}

static int phase_deployments(struct sync_ctx *s)
{
    struct uss_deployments d;
    struct uss_error e;
    char *dep_anchor, *upd_anchor;
    int tries = 0, rc = -1;

    if (strcmp(s->set.mode, "replica") != 0)
        return 0;
    set_phase(s, "approvals");
    dep_anchor = state_get(s, K_DEP_ANCHOR);
    upd_anchor = state_get(s, K_UPD_ANCHOR);
    for (;;) {
        if (ensure_cookie(s) < 0)
            goto out;
        if (uss_get_deployments(s->u, dep_anchor, upd_anchor, &d, &e) == 0)
            break;
        if (!recover(s, &e, &tries))
            goto out;
    }
    rc = apply_deployments(s, &d);
    uss_deployments_free(&d);
out:
    free(dep_anchor);
    free(upd_anchor);
    return rc;
}

static void dl_progress(void *arg, const struct download_stats *st)
{
    struct sync_ctx *s = arg;

    struct timespec ts;
    double t, dt;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    dt = t - s->rate_t;
    if (s->rate_t == 0) {
        s->rate_t = t;
        s->rate_bytes = st->bytes_done;
    } else if (dt >= 0.5) {
        double inst = (double)(st->bytes_done - s->rate_bytes) / dt;
        /* weight by elapsed time: about the last 5 s count */
        double w = dt / 5.0 > 1.0 ? 1.0 : dt / 5.0;
        s->rate = s->rate_bytes == 0 && s->rate == 0 ? inst : (1.0 - w) * s->rate + w * inst;
        s->rate_t = t;
        s->rate_bytes = st->bytes_done;
    }
    if (s->moved_at == 0 || st->bytes_done != s->moved_bytes || st->files_done != s->moved_files) {
        s->moved_at = time(NULL);
        s->moved_bytes = st->bytes_done;
        s->moved_files = st->files_done;
    }
    s->dl = *st;
    history_update(s, 0);
}

/*
 * Files the upstream no longer has (DownloadFiles answered FileDigestsMissing): not a
 * transient miss. The run fails naming the updates by title and id, with the two remedies;
 * the history detail lists them all (gone_updates), wsusctl updates list --failed too.
 */
static void report_gone(struct sync_ctx *s)
{
    struct buf b;
    size_t i, n, files = 0;

    if (s->dl.files_gone <= 0)
        return;
    json_decref(s->gone);
    s->gone = catalog_failed_updates(s->db, CATALOG_WHY_GONE, MAX_MISSING);
    n = s->gone != NULL ? json_array_size(s->gone) : 0;
    for (i = 0; i < n; i++)
        files += json_array_size(json_object_get(json_array_get(s->gone, i), "missing"));
    if (n == 0)
        return; /* only files of declined updates (download all): nothing to do about them */
    buf_init(&b, sizeof(s->err));
    buf_printf(&b,
               "upstream %s no longer has %zu file%s of %zu update%s (DownloadFiles answered "
               "FileDigestsMissing: removed there, e.g. its product is no longer synchronized "
               "there):",
               uss_url(s->u), files, files == 1 ? "" : "s", n, n == 1 ? "" : "s");
    for (i = 0; i < n && i < 3; i++) {
        json_t *u = json_array_get(s->gone, i);
        buf_printf(&b, "%s \"%.120s\" (%s)", i ? "," : "",
                   json_string_value(json_object_get(u, "title")),
                   json_string_value(json_object_get(u, "update_id")));
    }
    if (n > 3)
        buf_printf(&b, " and %zu more", n - 3);
    buf_add_str(&b, "; decline them here (wsusctl updates list --failed lists them, wsusctl "
                    "decline ID), or add their product upstream and synchronize both servers");
    fail(s, "%s", buf_str(&b));
    buf_free(&b);
}

static int phase_content(struct sync_ctx *s)
{
    struct content_store *cs;
    struct download_options o;
    char err[512];
    int rc;

    if (strcmp(s->set.storage, "microsoft-update") == 0)
        return 0; /* clients fetch files from Microsoft Update */
    set_phase(s, "content");
    cs = content_store_open(s->p->content_dir, err, sizeof(err));
    if (cs == NULL) {
        fail(s, "%s", err);
        return -1;
    }
    memset(&o, 0, sizeof(o));
    o.policy = s->set.download;
    o.catalog_only = s->cfg.catalog_only_sync;
    o.parallel = 4;
    {
        /* bandwidth cap for slow links, bytes/s (0 = none) */
        char *v = settings_get(s->db, "download-max-rate");
        int64_t rate = 0;
        if (v != NULL && str_to_int64(v, 0, INT64_MAX, &rate) == 0)
            o.max_rate = rate;
        free(v);
    }
    {
        char *v = settings_get(s->db, "range-fallback");
        o.range = download_range_parse(v);
        free(v);
    }
    o.cancel = s->p->cancel;
    o.progress = dl_progress;
    o.arg = s;
    rc = download_run(s->db, s->u, cs, &o, &s->dl);
    content_store_close(cs);
    if (rc == 0 && !cancelled(s))
        report_gone(s);
    s->rate = 0; /* not downloading any more */
    history_update(s, 1);
    if (rc < 0 && cancelled(s))
        fail(s, "%s", cancel_msg(s));
    else if (rc < 0)
        fail(s, "%s", s->dl.first_error[0] ? s->dl.first_error : "content download failed");
    return rc;
}

/* ---------- run ---------- */

/*
 * The reporting rollup after a successful synchronization (MS-WSUSSS 3.2.4.5): its failure never
 * fails the synchronization; it becomes the run's warning (kept in the history) and a log line.
 */
static void phase_rollup(struct sync_ctx *s, char *warn, size_t warnlen)
{
    struct rollup_dss_params rp;
    char msg[1024], at[40];
    time_t now = time(NULL);
    struct tm tm;
    size_t used = strlen(warn);

    set_phase(s, "rollup");
    gmtime_r(&now, &tm);
    if (strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        at[0] = '\0';
    memset(&rp, 0, sizeof(rp));
    rp.db = s->db;
    rp.u = s->u;
    rp.server_id = s->p->server_id;
    rp.account_name = s->set.account_name;
    rp.mode = s->set.mode;
    rp.protocol = s->cfg.protocol_version;
    rp.last_sync = at;
    rp.cancel = s->p->cancel;
    if (rollup_dss_run(&rp, NULL, msg, sizeof(msg)) != ROLLUP_DSS_FAILED) {
        log_info("sync: %s", msg);
        return;
    }
    log_warnx("sync: %s", msg);
    if (used + 3 < warnlen && snprintf(warn + used, warnlen - used, "%s%s", used > 0 ? "; " : "",
                                       msg) >= (int)(warnlen - used))
        log_debug("sync: the warning was cut to %zu bytes", warnlen);
}

/* The sync lock of this session: 0 taken, 1 another session holds it, -1 error (err). */
static int sync_lock(PGconn *db, char *err, size_t errlen)
{
    char m[300];
    int got = db_session_trylock(db, SYNC_LOCK_KEY);

    if (got < 0) {
        snprintf(err, errlen, "cannot take the sync lock: %s", db_errmsg(db, m, sizeof(m)));
        return -1;
    }
    return got ? 0 : 1;
}

static void sync_unlock(PGconn *db)
{
    db_session_unlock(db, SYNC_LOCK_KEY);
}

static int lock_and_start(struct sync_ctx *s, char *err, size_t errlen)
{
    char m[300];
    int got = sync_lock(s->db, err, errlen);

    if (got != 0)
        return got;
    /* rows left 'running' by a process that died: nobody else holds the lock */
    sync_history_sync_fail_abandoned(s->db);
    s->hid = sync_history_sync_start(s->db, sync_trigger_name(s->p->trigger), s->set.upstream,
                                     s->p->front_end);
    if (s->hid < 0) {
        snprintf(err, errlen, "cannot record the synchronization: %s",
                 db_errmsg(s->db, m, sizeof(m)));
        return -1;
    }
    return 0;
}

static void history_finish(struct sync_ctx *s, const char *result, const char *error)
{
    history_update(s, 1);
    sync_history_sync_finish(s->db, s->hid, result, error && error[0] ? error : NULL);
}

/*
 * Was the connection (and with it the advisory lock) lost during the run? Then say so in
 * place of whatever failed because of it, and wait for the database so that the history row
 * can be closed (on a new session: the lock is not taken again, the run is over). 1 or 0.
 */
static int sync_db_lost(struct sync_ctx *s)
{
    char when[64] = "";

    if (!s->dl.db_lost && db_check(s->db) == 0)
        return 0;
    if (s->p->retry_in_s > 0) {
        time_t t = time(NULL) + s->p->retry_in_s;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "it is retried at %H:%M", &tm);
    } else {
        snprintf(when, sizeof(when), "run wsusctl sync now once it is back");
    }
    snprintf(s->err, sizeof(s->err),
             "the database connection was lost during the synchronization (phase %s; "
             "PostgreSQL restarted?); %s",
             s->phase[0] ? s->phase : "starting", when);
    if (db_revive_wait(s->db, DOWNLOAD_DB_WAIT_S, s->p->cancel) < 0)
        log_warnx("synchronization %ld: the database is still unreachable; its history row is "
                  "closed by the next synchronization",
                  s->hid);
    return 1;
}

struct uss *sync_open_upstream(PGconn *db, const char *server_id, long max_timeout_s,
                               const atomic_int *cancel, struct uss_error *err)
{
    struct uss_options o;
    struct uss *u;
    char *url = setting(db, "upstream"), *account = setting(db, "account-name");
    char *proxy = setting(db, "proxy"), *proxy_user = setting(db, "proxy-user");
    char *password = setting(db, "proxy-password"), *domain = setting(db, "proxy-domain");
    char *auth = setting(db, "proxy-auth"), *ca_file = setting(db, "ca-file");
    char *content_url = setting(db, "upstream-content-url");
    char *user = NULL;

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.account_name = account;
    o.account_guid = server_id;
    o.proxy_url = proxy;
    if (proxy_user[0] != '\0') {
        user = domain[0] != '\0' ? xasprintf("%s\\%s", domain, proxy_user) : xstrdup(proxy_user);
        o.proxy_user = user;
        o.proxy_password = password;
        o.proxy_auth = auth;
    }
    o.ca_file = ca_file;
    o.content_url = content_url; /* "" = derived from url */
    o.answer_timeout_s = setting_long(db, "upstream-answer-timeout", 60);
    o.stall_timeout_s = setting_long(db, "upstream-stall-timeout", 60);
    if (max_timeout_s > 0) {
        o.connect_timeout_s = max_timeout_s;
        if (o.answer_timeout_s > max_timeout_s)
            o.answer_timeout_s = max_timeout_s;
        if (o.stall_timeout_s > max_timeout_s)
            o.stall_timeout_s = max_timeout_s;
    }
    o.cancel = cancel;
    u = uss_new(&o, err);
    explicit_bzero(password, strlen(password));
    free(password);
    free(url);
    free(account);
    free(proxy);
    free(proxy_user);
    free(domain);
    free(auth);
    free(ca_file);
    free(content_url);
    free(user);
    return u;
}

static int open_client(struct sync_ctx *s)
{
    struct uss_error e;

    s->u = sync_open_upstream(s->db, s->p->server_id, 0, s->p->cancel, &e);
    if (s->u == NULL) {
        fail(s, "%s", e.msg);
        return -1;
    }
    return 0;
}

enum sync_outcome sync_run(const struct sync_params *p, long *history_id, char *err, size_t errlen)
{
    struct sync_ctx s;
    enum sync_outcome out = SYNC_FAILED;
    char *config_anchor = NULL;
    char m[512];
    int lk, lost;

    memset(&s, 0, sizeof(s));
    s.p = p;
    err[0] = '\0';
    if (history_id != NULL)
        *history_id = 0;
    s.db = db_connect(p->conninfo, "wsusd-sync", m, sizeof(m));
    if (s.db == NULL) {
        snprintf(err, errlen, "%s", m);
        return SYNC_FAILED;
    }
    settings_load(&s);
    lk = lock_and_start(&s, err, errlen);
    if (lk != 0) {
        settings_release(&s.set);
        db_close(s.db);
        if (lk > 0) {
            snprintf(err, errlen, "a synchronization is already running");
            return SYNC_BUSY;
        }
        return SYNC_FAILED;
    }
    if (history_id != NULL)
        *history_id = s.hid;
    if (p->started != NULL)
        p->started(p->arg, s.hid);
    log_info("synchronization %ld started (%s) from %s", s.hid, sync_trigger_name(p->trigger),
             s.set.upstream[0] ? s.set.upstream : "(no upstream)");
    if (open_client(&s) < 0)
        goto done;
    s.in = ingest_start(p->conninfo, uss_url(s.u), INGEST_QUEUE, m, sizeof(m));
    if (s.in == NULL) {
        fail(&s, "%s", m);
        goto done;
    }
    if (phase_config(&s, &config_anchor) < 0 || phase_categories(&s) < 0 ||
        phase_updates(&s, config_anchor) < 0)
        goto done;
    if (phase_deployments(&s) < 0 || phase_content(&s) < 0)
        goto done;
    {
        struct ingest_counts c;
        ingest_counts(s.in, &c);
        if (c.bad_documents > 0)
            fail(&s, "%ld update documents from the upstream could not be read; the first: %s",
                 c.bad_documents, c.first_bad);
    }
    if (s.err[0] == '\0' && s.missing_n > 0) {
        json_t *first = json_array_get(s.missing, 0);
        const char *title = json_string_value(json_object_get(first, "bundle_title"));
        char more[48] = "";
        if (s.missing_n > 1)
            snprintf(more, sizeof(more), " and %ld more", s.missing_n - 1);
        fail(&s,
             "upstream %s has no update %s revision %d%s%s%s%s; add its product upstream and "
             "synchronize again, or decline it here",
             uss_url(s.u), json_string_value(json_object_get(first, "update_id")),
             (int)json_integer_value(json_object_get(first, "revision")),
             title && title[0] ? " (part of \"" : "", title ? title : "",
             title && title[0] ? "\")" : "", more);
    }
done:
    if (cancelled(&s)) /* whatever a phase said when it stopped, this is why */
        snprintf(s.err, sizeof(s.err), "%s", cancel_msg(&s));
    if (s.in != NULL) {
        ingest_stop(s.in, s.err[0] != '\0');
        s.in = NULL;
    }
    if (s.err[0] == '\0' && s.dl.range_ignored)
        snprintf(err, errlen,
                 "upstream %s (or a proxy on the way) ignores HTTP Range requests, so "
                 "interrupted downloads cannot resume and files were downloaded whole",
                 uss_url(s.u));
    if (s.err[0] == '\0' && s.dl.files_missing > 0)
        snprintf(err, errlen,
                 "%ld files are not on upstream %s yet; it was asked to download them "
                 "(DownloadFiles) and the next synchronization fetches them",
                 s.dl.files_missing, uss_url(s.u));
    lost = sync_db_lost(&s);
    if (s.err[0] != '\0') {
        out = cancelled(&s) ? SYNC_CANCELLED : SYNC_FAILED;
        snprintf(err, errlen, "%s", s.err);
        log_warnx("synchronization %ld failed: %s", s.hid, s.err);
    } else {
        out = SYNC_SUCCEEDED;
        if (!lost)
            phase_rollup(&s, err, errlen);
        log_info("synchronization %ld succeeded", s.hid);
    }
    history_finish(&s,
                   out == SYNC_SUCCEEDED   ? "succeeded"
                   : out == SYNC_CANCELLED ? "cancelled"
                                           : "failed",
                   out == SYNC_SUCCEEDED ? err : s.err);
    if (!lost)
        sync_unlock(s.db);
    free(config_anchor);
    json_decref(s.missing);
    json_decref(s.gone);
    uss_config_free(&s.cfg);
    uss_free(s.u);
    settings_release(&s.set);
    db_close(s.db);
    return out;
}

int sync_rollup_only(PGconn *db, const char *server_id, const atomic_int *cancel, char *msg,
                     size_t msglen)
{
    struct rollup_dss_params rp;
    struct uss_error e;
    struct uss *u = NULL;
    char *protocol = NULL, *account = NULL, *mode = NULL;
    int rc = -1, lk;

    lk = sync_lock(db, msg, msglen);
    if (lk > 0)
        snprintf(msg, msglen,
                 "a synchronization is running; it reports to the upstream at its "
                 "end");
    if (lk != 0)
        return lk;
    u = sync_open_upstream(db, server_id, 0, cancel, &e);
    if (u == NULL) {
        snprintf(msg, msglen, "%s", e.msg);
        goto out;
    }
    protocol = upstream_state_get(db, "protocol-version");
    if (protocol == NULL) {
        snprintf(msg, msglen,
                 "this server has not synchronized from upstream %s yet; run wsusctl sync now "
                 "(it reports at its end)",
                 uss_url(u));
        goto out;
    }
    account = setting(db, "account-name");
    mode = setting(db, "mode");
    memset(&rp, 0, sizeof(rp));
    rp.db = db;
    rp.u = u;
    rp.server_id = server_id;
    rp.account_name = account;
    rp.mode = mode;
    rp.protocol = protocol;
    rp.last_sync = NULL;
    rp.cancel = cancel;
    rc = rollup_dss_run(&rp, NULL, msg, msglen) == ROLLUP_DSS_FAILED ? -1 : 0;
out:
    free(protocol);
    free(account);
    free(mode);
    uss_free(u);
    sync_unlock(db);
    return rc;
}
