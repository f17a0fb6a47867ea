/*
 * rollup_dss: the downstream side of the reporting rollup (see rollup_dss.h). The SQL lives in
 * common/db/rollup_send.c; the SOAP in client/uss*.c. Each step reads a batch of what is due,
 * sends it and records it as sent, so an interrupted rollup resumes where it stopped.
 */
#include "rollup_dss.h"
#include "buf.h"
#include "log.h"
#include "rollup_send.h"
#include "settings.h"
#include "strutil.h"
#include "upstream_state.h"
#include "xmalloc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZERO_GUID "00000000-0000-0000-0000-000000000000"
/* servers per RollupDownstreamServers (the USS bounds its requests; a wsusd at 1000) */
#define SERVERS_PER_REQUEST 500
/* update statuses per RollupComputerStatus, summed over its computers (a request's size) */
#define STATES_PER_REQUEST 100000
/* batches of one step at most: 3 million computers in 1500s, each sent twice */
#define MAX_BATCHES 4000

/* upstream_state keys */
#define K_RESET_GUID   "rollup-reset-guid"
#define K_UPSTREAM_ID  "rollup-upstream-id"
#define K_LAST         "rollup-last"
#define K_LAST_SYNC    "rollup-last-sync"       /* the last synchronization a rollup reported */
#define K_SUMMARY      "rollup-catalog-summary" /* "STATE {seven counts}" (rollup_send_summary) */
#define CATALOG_COUNTS 7 /* the summary's counts read from the catalog, first in the row */

struct run {
    const struct rollup_dss_params *p;
    struct rollup_dss_counts n;
    struct uss_rollup_config cfg;
    char msg[1024];
};

/* The run's one line for the admin (printf-style; cut to its size). */
static void set_msg(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_msg(struct run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(r->msg, sizeof(r->msg), fmt, ap) < 0)
        r->msg[0] = '\0';
    va_end(ap);
}

int rollup_dss_protocol_ok(const char *protocol)
{
    long major, minor;
    char tmp[16];
    char *dot;

    if (protocol == NULL || str_copy(tmp, sizeof(tmp), protocol) < 0)
        return 0;
    dot = strchr(tmp, '.');
    if (dot == NULL)
        return 0;
    *dot = '\0';
    if (str_to_long(tmp, 0, 1000, &major) < 0 || str_to_long(dot + 1, 0, 1000000, &minor) < 0)
        return 0;
    return major > 1 || (major == 1 && minor >= 3);
}

static int cancelled(const struct run *r)
{
    return r->p->cancel != NULL && atomic_load(r->p->cancel) != 0;
}

static void copy_col(char *out, size_t outlen, const PGresult *res, int row, int col)
{
    if (str_copy(out, outlen, PQgetvalue(res, row, col)) < 0)
        out[0] = '\0';
}

static long col_long(const PGresult *res, int row, int col)
{
    long v;

    return str_to_long(PQgetvalue(res, row, col), -2147483647L - 1, 2147483647L, &v) == 0 ? v : 0;
}

/* A failed upstream call: msg says which step, the upstream's words and what to do. */
static int call_failed(struct run *r, const char *step, const struct uss_error *e)
{
    set_msg(r,
            "the reporting rollup to upstream %s stopped at %s: %s; the synchronization itself "
            "succeeded, and the next one sends the rest",
            uss_url(r->p->u), step, e->msg);
    return -1;
}

static int db_failed(struct run *r, const char *what)
{
    set_msg(r,
            "the reporting rollup to upstream %s stopped: could not %s in the catalog (see the "
            "log); the synchronization itself succeeded",
            uss_url(r->p->u), what);
    return -1;
}

static int stopped(struct run *r)
{
    set_msg(r, "the reporting rollup to upstream %s was cancelled", uss_url(r->p->u));
    return -1;
}

/* Store a JSON value through one of rollup_send's recorders (takes the reference). */
static int record(struct run *r, int (*fn)(PGconn *, const char *), json_t *j, const char *what)
{
    char *t = json_dumps(j, JSON_COMPACT);
    int rc;

    json_decref(j);
    if (t == NULL)
        fatalx("out of memory encoding JSON");
    rc = fn(r->p->db, t);
    free(t);
    return rc < 0 ? db_failed(r, what) : 0;
}

/* ---------- step 1: the configuration, and a new upstream ---------- */

static int step_config(struct run *r)
{
    struct uss_error e;
    char *guid, *id;
    int rc = 0;

    if (uss_ensure_cookie(r->p->u, &e) < 0)
        return call_failed(r, "the authorization", &e);
    if (uss_get_rollup_configuration(r->p->u, &r->cfg, &e) < 0) {
        r->n.requests++;
        if (e.kind == USS_ERR_HTTP && e.http_status == 404) {
            set_msg(r,
                    "upstream %s has no reporting web service (HTTP 404 on "
                    "/ReportingWebService/ReportingWebService.asmx): reporting rollup skipped",
                    uss_url(r->p->u));
            return 1;
        }
        return call_failed(r, "GetRollupConfiguration", &e);
    }
    r->n.requests++;
    guid = upstream_state_get(r->p->db, K_RESET_GUID);
    id = upstream_state_get(r->p->db, K_UPSTREAM_ID);
    if (guid == NULL || id == NULL || strcmp(guid, r->cfg.reset_guid) != 0 ||
        strcmp(id, r->cfg.server_id) != 0) {
        log_info("rollup: upstream %s (server %s) asks for a full rollup: sending every computer",
                 uss_url(r->p->u), r->cfg.server_id);
        if (rollup_send_reset(r->p->db) < 0 ||
            upstream_state_set(r->p->db, K_RESET_GUID, r->cfg.reset_guid) < 0 ||
            upstream_state_set(r->p->db, K_UPSTREAM_ID, r->cfg.server_id) < 0)
            rc = db_failed(r, "record the upstream's rollup configuration");
    }
    free(guid);
    free(id);
    return rc;
}

/* ---------- step 2: this server and the servers below it ---------- */

static void server_from_row(struct uss_rollup_server *s, const PGresult *res, int i)
{
    int k;

    memset(s, 0, sizeof(*s));
    copy_col(s->server_id, sizeof(s->server_id), res, i, 0);
    copy_col(s->parent_id, sizeof(s->parent_id), res, i, 1);
    copy_col(s->name, sizeof(s->name), res, i, 2);
    copy_col(s->version, sizeof(s->version), res, i, 3);
    s->is_replica = strcmp(PQgetvalue(res, i, 4), "t") == 0;
    copy_col(s->last_sync, sizeof(s->last_sync), res, i, 5);
    copy_col(s->last_rollup, sizeof(s->last_rollup), res, i, 6);
    for (k = 0; k < USS_ROLLUP_SUMMARY_FIELDS; k++)
        s->summary[k] = col_long(res, i, 7 + k);
}

static void now_text(char out[40])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    if (strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

/* This server keeps update files: storage local and a download policy other than none. */
static int stores_files(PGconn *db)
{
    char *storage = settings_get(db, "storage"), *download = settings_get(db, "download");
    int yes = (storage == NULL || strcmp(storage, "microsoft-update") != 0) &&
              (download == NULL || strcmp(download, "none") != 0);

    free(storage);
    free(download);
    return yes;
}

/*
 * The summary of this server (rollup_send_summary). Its catalog counts read every revision
 * (~3 s at 1,000,000): they are kept in upstream_state with the catalog state they were
 * counted at, and counted again only when that state moved.
 */
static PGresult *summary_read(struct run *r)
{
    PGconn *db = r->p->db;
    char *state = rollup_send_catalog_state(db);
    char *kept = state != NULL ? upstream_state_get(db, K_SUMMARY) : NULL;
    size_t n = state != NULL ? strlen(state) : 0;
    const char *counts = NULL;
    PGresult *sum;

    if (kept != NULL && strncmp(kept, state, n) == 0 && kept[n] == ' ' && kept[n + 1] == '{')
        counts = kept + n + 1;
    sum = rollup_send_summary(db, stores_files(db), counts);
    if (sum != NULL && PQntuples(sum) == 1 && counts == NULL && state != NULL) {
        struct buf b;
        int k;

        buf_init(&b, 1024);
        buf_printf(&b, "%s {", state);
        for (k = 0; k < CATALOG_COUNTS; k++)
            buf_printf(&b, "%s%ld", k ? "," : "", col_long(sum, 0, k));
        buf_add_str(&b, "}");
        if (!buf_failed(&b) && upstream_state_set(db, K_SUMMARY, buf_str(&b)) < 0)
            log_warnx("rollup: cannot keep the catalog counts; the next rollup counts again");
        buf_free(&b);
    }
    free(kept);
    free(state);
    return sum;
}

static int step_servers(struct run *r)
{
    PGresult *below = rollup_send_servers(r->p->db, r->p->server_id);
    PGresult *sum = NULL;
    struct uss_rollup_server *v = NULL;
    struct uss_error e;
    int i, n, k, rc = -1;
    size_t off;

    if (below == NULL)
        return db_failed(r, "read the servers below this one");
    sum = summary_read(r);
    if (sum == NULL || PQntuples(sum) != 1) {
        rc = db_failed(r, "count this server's updates and computers");
        goto out;
    }
    n = PQntuples(below);
    v = xcalloc((size_t)n + 1, sizeof(*v));
    for (i = 0; i < n; i++)
        server_from_row(&v[i], below, i);
    /* this server itself comes last (3.2.4.5 step 2.3) */
    str_copy_cut(v[n].server_id, sizeof(v[n].server_id), r->p->server_id);
    str_copy_cut(v[n].parent_id, sizeof(v[n].parent_id), ZERO_GUID);
    if (str_copy(v[n].name, sizeof(v[n].name), r->p->account_name) < 0)
        v[n].name[0] = '\0';
    str_copy_cut(v[n].version, sizeof(v[n].version), WSUSD_VERSION);
    v[n].is_replica = r->p->mode != NULL && strcmp(r->p->mode, "replica") == 0;
    if (r->p->last_sync != NULL && r->p->last_sync[0] != '\0') {
        if (str_copy(v[n].last_sync, sizeof(v[n].last_sync), r->p->last_sync) < 0 ||
            upstream_state_set(r->p->db, K_LAST_SYNC, v[n].last_sync) < 0)
            v[n].last_sync[0] = '\0';
    } else {
        /* a rollup on its own: the synchronization the last rollup reported */
        char *t = upstream_state_get(r->p->db, K_LAST_SYNC);
        if (t == NULL || str_copy(v[n].last_sync, sizeof(v[n].last_sync), t) < 0)
            v[n].last_sync[0] = '\0';
        free(t);
    }
    now_text(v[n].last_rollup);
    for (k = 0; k < USS_ROLLUP_SUMMARY_FIELDS; k++)
        v[n].summary[k] = col_long(sum, 0, k);
    /* no client activity summaries go (empty ClientSummaries), so only the server count
       bounds a request */
    for (off = 0; off < (size_t)n + 1; off += SERVERS_PER_REQUEST) {
        size_t cnt = (size_t)n + 1 - off;
        if (cnt > SERVERS_PER_REQUEST)
            cnt = SERVERS_PER_REQUEST;
        if (cancelled(r)) {
            rc = stopped(r);
            goto out;
        }
        r->n.requests++;
        if (uss_rollup_downstream_servers(r->p->u, v + off, cnt, &e) < 0) {
            rc = call_failed(r, "RollupDownstreamServers", &e);
            goto out;
        }
        r->n.servers += (long)cnt;
    }
    rc = 0;
out:
    free(v);
    PQclear(below);
    PQclear(sum);
    return rc;
}

/* ---------- step 3: computers ---------- */

/* "10.0.19045.2" or "10.0.19045.2.0" into the five numbers (missing ones 0). */
static void parse_os_version(const char *s, int *v)
{
    int k;

    for (k = 0; k < 5; k++)
        v[k] = 0;
    for (k = 0; k < 5 && s[0] != '\0'; k++) {
        char part[16];
        size_t len = strcspn(s, ".");
        long x;
        if (len < sizeof(part)) {
            memcpy(part, s, len);
            part[len] = '\0';
            if (str_to_long(part, 0, 0x7fffffff, &x) == 0)
                v[k] = (int)x;
        }
        s += len;
        if (*s == '.')
            s++;
    }
}

static void computer_from_row(struct uss_rollup_computer *c, const PGresult *res, int i)
{
    int os[5];
    const char *g;

    memset(c, 0, sizeof(*c));
    copy_col(c->id, sizeof(c->id), res, i, 0);
    copy_col(c->parent_id, sizeof(c->parent_id), res, i, 1);
    copy_col(c->last_sync, sizeof(c->last_sync), res, i, 2);
    c->last_sync_result = (int)col_long(res, i, 3);
    if (c->last_sync_result < 0 || c->last_sync_result > 2)
        c->last_sync_result = 0;
    copy_col(c->last_reboot, sizeof(c->last_reboot), res, i, 4);
    copy_col(c->last_reported_status, sizeof(c->last_reported_status), res, i, 5);
    copy_col(c->last_inventory, sizeof(c->last_inventory), res, i, 6);
    c->with_details = strcmp(PQgetvalue(res, i, 19), "t") == 0;
    copy_col(c->ip, sizeof(c->ip), res, i, 7);
    copy_col(c->name, sizeof(c->name), res, i, 8);
    parse_os_version(PQgetvalue(res, i, 9), os);
    c->os_major = os[0];
    c->os_minor = os[1];
    c->os_build = os[2];
    c->sp_major = os[3];
    c->sp_minor = os[4];
    copy_col(c->os_locale, sizeof(c->os_locale), res, i, 10);
    copy_col(c->os_description, sizeof(c->os_description), res, i, 11);
    copy_col(c->make, sizeof(c->make), res, i, 12);
    copy_col(c->model, sizeof(c->model), res, i, 13);
    copy_col(c->architecture, sizeof(c->architecture), res, i, 14);
    copy_col(c->client_version, sizeof(c->client_version), res, i, 15);
    for (g = PQgetvalue(res, i, 16); *g != '\0' && c->ngroups < 8;) {
        size_t len = strcspn(g, ",");
        if (len == 36) {
            memcpy(c->groups[c->ngroups], g, 36);
            c->groups[c->ngroups++][36] = '\0';
        }
        g += len;
        if (*g == ',')
            g++;
    }
}

/* One RollupComputers batch of the computers due: 0 sent, 1 nothing was due, -1 failed. */
static int computers_batch(struct run *r)
{
    PGresult *res = rollup_send_computers(r->p->db, r->p->server_id, r->cfg.max_computers);
    struct uss_rollup_computer *v = NULL;
    struct uss_changed_computers ch;
    struct uss_error e;
    json_t *sent, *fresh, *gone;
    int i, n, rc = -1;
    size_t k;

    memset(&ch, 0, sizeof(ch));
    if (res == NULL)
        return db_failed(r, "read the computers to report");
    n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        return 1;
    }
    v = xcalloc((size_t)n, sizeof(*v));
    for (i = 0; i < n; i++)
        computer_from_row(&v[i], res, i);
    r->n.requests++;
    if (uss_rollup_computers(r->p->u, v, (size_t)n, &ch, &e) < 0) {
        rc = call_failed(r, "RollupComputers", &e);
        goto out;
    }
    sent = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(sent, json_pack("{s:s, s:s, s:s?}", "id", v[i].id, "fp",
                                              PQgetvalue(res, i, 17), "details",
                                              v[i].with_details ? PQgetvalue(res, i, 18) : NULL));
        r->n.computers++;
        r->n.details += v[i].with_details;
    }
    if (record(r, rollup_send_computers_sent, sent, "record the computers sent") < 0)
        goto out;
    fresh = json_array();
    gone = json_array();
    for (k = 0; k < ch.n; k++) {
        if (!ch.v[k].deleted) {
            /* NewParent asks for the Details: one that had them is not sent again (no loop) */
            for (i = 0; i < n && strcmp(v[i].id, ch.v[k].id) != 0; i++)
                ;
            if (i == n || v[i].with_details)
                continue;
        }
        json_array_append_new(ch.v[k].deleted ? gone : fresh, json_string(ch.v[k].id));
    }
    if (json_array_size(gone) > 0)
        log_info("rollup: upstream %s wants no more reports of %zu computers (Deleted)",
                 uss_url(r->p->u), json_array_size(gone));
    if (record(r, rollup_send_details_needed, fresh, "mark computers for their details") < 0) {
        json_decref(gone);
        goto out;
    }
    if (record(r, rollup_send_exclude, gone, "record the computers the upstream dropped") < 0)
        goto out;
    rc = 0;
out:
    uss_changed_computers_free(&ch);
    free(v);
    PQclear(res);
    return rc;
}

static int step_computers(struct run *r)
{
    int k, rc = 0;

    if (rollup_send_forget_gone(r->p->db) < 0)
        return db_failed(r, "forget the computers this server no longer holds");
    /* NewParent answers make a computer due again, with its Details (3.2.4.5 step 4.4) */
    for (k = 0; k < MAX_BATCHES && rc == 0; k++) {
        if (cancelled(r))
            return stopped(r);
        rc = computers_batch(r);
    }
    return rc < 0 ? -1 : 0;
}

/* ---------- step 4: who is out of sync ---------- */

static int step_out_of_sync(struct run *r)
{
    PGresult *res = rollup_send_numbers(r->p->db);
    struct uss_rollup_number *v = NULL;
    int i, n, rc = -1;
    size_t off;

    if (res == NULL)
        return db_failed(r, "read the computers' rollup numbers");
    n = PQntuples(res);
    v = xcalloc((size_t)n + 1, sizeof(*v));
    for (i = 0; i < n; i++) {
        v[i].computer_id = PQgetvalue(res, i, 0);
        v[i].rollup_number = (int)col_long(res, i, 1);
    }
    for (off = 0; off < (size_t)n; off += (size_t)r->cfg.max_out_of_sync) {
        size_t cnt = (size_t)n - off, k;
        struct uss_computer_ids ids;
        struct uss_error e;
        json_t *j;

        if (cnt > (size_t)r->cfg.max_out_of_sync)
            cnt = (size_t)r->cfg.max_out_of_sync;
        if (cancelled(r)) {
            rc = stopped(r);
            goto out;
        }
        r->n.requests++;
        if (uss_get_out_of_sync_computers(r->p->u, r->p->server_id, v + off, cnt, &ids, &e) < 0) {
            rc = call_failed(r, "GetOutOfSyncComputers", &e);
            goto out;
        }
        j = json_array();
        for (k = 0; k < ids.n; k++)
            json_array_append_new(j, json_string(ids.ids[k]));
        r->n.out_of_sync += (long)ids.n;
        uss_computer_ids_free(&ids);
        if (record(r, rollup_send_out_of_sync, j, "mark computers out of sync") < 0)
            goto out;
    }
    rc = 0;
out:
    free(v);
    PQclear(res);
    return rc;
}

/* ---------- step 5: update status ---------- */

struct status_batch {
    struct uss_rollup_status *v;
    struct uss_update_state **states; /* one array per computer */
    size_t n, nstates;
};

static void status_batch_free(struct status_batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        free(b->states[i]);
    free(b->states);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

/* The statuses of computer row i of due into b (bounded by STATES_PER_REQUEST). 0, 1 full, -1. */
static int status_add(struct run *r, struct status_batch *b, const PGresult *due, int i)
{
    struct uss_rollup_status *s = &b->v[b->n];
    PGresult *st;
    int k, n;

    memset(s, 0, sizeof(*s));
    copy_col(s->computer_id, sizeof(s->computer_id), due, i, 0);
    s->rollup_number = (int)col_long(due, i, 2);
    s->full = strcmp(PQgetvalue(due, i, 3), "t") == 0;
    copy_col(s->instance_id, sizeof(s->instance_id), due, i, 5);
    copy_col(s->effective_detection, sizeof(s->effective_detection), due, i, 6);
    st = rollup_send_states(r->p->db, s->computer_id, strcmp(PQgetvalue(due, i, 1), "t") == 0,
                            s->full ? NULL : PQgetvalue(due, i, 4));
    if (st == NULL)
        return db_failed(r, "read a computer's update status");
    n = PQntuples(st);
    if (b->n > 0 && b->nstates + (size_t)n > STATES_PER_REQUEST) {
        PQclear(st);
        return 1;
    }
    b->states[b->n] = xcalloc((size_t)n + 1, sizeof(struct uss_update_state));
    for (k = 0; k < n; k++) {
        struct uss_update_state *u = &b->states[b->n][k];
        copy_col(u->update_id, sizeof(u->update_id), st, k, 0);
        u->state = (int)col_long(st, k, 1);
        copy_col(u->changed, sizeof(u->changed), st, k, 2);
    }
    s->states = b->states[b->n];
    s->nstates = (size_t)n;
    b->nstates += (size_t)n;
    b->n++;
    PQclear(st);
    return 0;
}

/* One RollupComputerStatus batch: 0 sent, 1 nothing was due, 2 the upstream is busy, -1. */
static int status_batch(struct run *r)
{
    PGresult *due = rollup_send_status_due(r->p->db, r->cfg.max_status);
    struct status_batch b;
    struct uss_error e;
    json_t *sent;
    int i, n, accepted = 0, rc = -1;
    size_t k;

    memset(&b, 0, sizeof(b));
    if (due == NULL)
        return db_failed(r, "read the computers whose status changed");
    n = PQntuples(due);
    if (n == 0) {
        PQclear(due);
        return 1;
    }
    b.v = xcalloc((size_t)n, sizeof(*b.v));
    b.states = xcalloc((size_t)n, sizeof(*b.states));
    for (i = 0; i < n; i++) {
        int a = status_add(r, &b, due, i);
        if (a < 0)
            goto out;
        if (a > 0)
            break;
    }
    r->n.requests++;
    if (uss_rollup_computer_status(r->p->u, r->p->server_id, b.v, b.n, &accepted, &e) < 0) {
        rc = call_failed(r, "RollupComputerStatus", &e);
        goto out;
    }
    if (!accepted) {
        rc = 2;
        goto out;
    }
    sent = json_array();
    for (k = 0; k < b.n; k++) {
        /* no state read (changed in between): the change seen, so it is not due forever */
        const char *latest = PQgetvalue(due, (int)k, 7);
        size_t j;
        for (j = 0; j < b.v[k].nstates; j++)
            if (j == 0 || strcmp(b.v[k].states[j].changed, latest) > 0)
                latest = b.v[k].states[j].changed;
        json_array_append_new(sent, json_pack("{s:s, s:i, s:s?}", "id", b.v[k].computer_id,
                                              "number", b.v[k].rollup_number, "time", latest));
    }
    r->n.statuses += (long)b.n;
    rc = record(r, rollup_send_status_sent, sent, "record the statuses sent");
out:
    status_batch_free(&b);
    PQclear(due);
    return rc;
}

static int step_status(struct run *r)
{
    int k, rc = 0;

    for (k = 0; k < MAX_BATCHES && rc == 0; k++) {
        if (cancelled(r))
            return stopped(r);
        rc = status_batch(r);
    }
    if (rc == 2) {
        /* MS-WSUSSS 3.2.4.5: wait at least a minute; the next rollup goes on from here */
        set_msg(r,
                "upstream %s is too busy to take the computers' status (RollupComputerStatus "
                "answered false); the next synchronization sends the rest",
                uss_url(r->p->u));
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

/* ---------- the run ---------- */

static void keep_outcome(const struct run *r, const char *result)
{
    char at[40];
    json_t *j;
    char *t;

    now_text(at);
    j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "at", at, "result", result, "message",
                  r->msg, "servers", (json_int_t)r->n.servers, "computers",
                  (json_int_t)r->n.computers, "details", (json_int_t)r->n.details, "statuses",
                  (json_int_t)r->n.statuses, "out_of_sync", (json_int_t)r->n.out_of_sync);
    t = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    if (t != NULL)
        (void)upstream_state_set(r->p->db, K_LAST, t);
    free(t);
    json_decref(j);
}

enum rollup_dss_outcome rollup_dss_run(const struct rollup_dss_params *p,
                                       struct rollup_dss_counts *c, char *msg, size_t msglen)
{
    struct run r;
    enum rollup_dss_outcome out = ROLLUP_DSS_FAILED;
    char *setting = settings_get(p->db, "rollup");
    int rc;

    memset(&r, 0, sizeof(r));
    r.p = p;
    if (setting != NULL && strcmp(setting, "off") == 0) {
        set_msg(&r, "reporting rollup is off (setting rollup)");
        out = ROLLUP_DSS_SKIPPED;
        goto done;
    }
    if (uss_is_microsoft_update(p->u)) {
        set_msg(&r, "the upstream is Microsoft Update, which takes no reporting rollup: skipped");
        out = ROLLUP_DSS_SKIPPED;
        goto done;
    }
    if (!rollup_dss_protocol_ok(p->protocol)) {
        set_msg(&r,
                "upstream %s speaks protocol %s; the reporting rollup needs 1.3 or later: "
                "skipped",
                uss_url(p->u), p->protocol && p->protocol[0] ? p->protocol : "(unknown)");
        out = ROLLUP_DSS_SKIPPED;
        goto done;
    }
    rc = step_config(&r);
    if (rc > 0) {
        out = ROLLUP_DSS_SKIPPED;
        goto done;
    }
    if (rc < 0 || step_servers(&r) < 0)
        goto done;
    if (r.cfg.do_detailed_rollup &&
        (step_computers(&r) < 0 || step_out_of_sync(&r) < 0 || step_status(&r) < 0))
        goto done;
    set_msg(&r,
            "reporting rollup to upstream %s: %ld servers, %ld computers (%ld with details), "
            "%ld out of sync, %ld statuses in %ld requests%s",
            uss_url(p->u), r.n.servers, r.n.computers, r.n.details, r.n.out_of_sync, r.n.statuses,
            r.n.requests,
            r.cfg.do_detailed_rollup ? "" : " (the upstream takes no computer details)");
    out = ROLLUP_DSS_DONE;
done:
    free(setting);
    keep_outcome(&r, out == ROLLUP_DSS_DONE      ? "succeeded"
                     : out == ROLLUP_DSS_SKIPPED ? "skipped"
                                                 : "failed");
    if (c != NULL)
        *c = r.n;
    if (snprintf(msg, msglen, "%s", r.msg) >= (int)msglen)
        log_debug("rollup: message cut to %zu bytes", msglen);
    return out;
}

time_t rollup_dss_last_time(PGconn *db)
{
    char *v = upstream_state_get(db, K_LAST);
    json_t *j = v != NULL ? json_loads(v, 0, NULL) : NULL;
    time_t t = uss_parse_datetime(json_string_value(json_object_get(j, "at")));

    json_decref(j);
    free(v);
    return t > 0 ? t : 0;
}
