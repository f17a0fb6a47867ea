/*
 * catalog: batch write path and read helpers of the update catalog (see catalog.h).
 * Batches go through COPY (pgcopy.h); everything else goes through parameters. Staging tables
 * are session-temporary and emptied at each batch; the staged document is compressed with lz4
 * (far cheaper than the default pglz) and kept compressed when it moves into revision.
 */
#include "catalog.h"

#include "approvals.h"
#include "buf.h"
#include "db.h"
#include "fragment_store.h"
#include "log.h"
#include "pgcopy.h"
#include "strutil.h"
#include "xmalloc.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The revision columns a batch writes, in the order of their COPY rows (after the lead column). */
#define REVISION_COLUMNS                                                                           \
    "update_id, revision_number, update_type, category_type, title, default_language,"             \
    " publication_state, creation_date, explicitly_deployable, is_leaf, kb_article_id,"            \
    " security_bulletin_id, msrc_severity, handler, xml, xml_cab, languages"

/*
 * $1 revision ids taken ahead for the direct COPY (ascending: nextval in row order). Nothing
 * probes first whether the batch is stored already: a sync only fetches the revisions it does not
 * have, so a batch meets a stored revision only when another writer stored it meanwhile or an
 * import is repeated, and then the unique index makes the COPY fail and store_staged runs.
 */
static const char ids_sql[] = "SELECT nextval('revision_id_seq') FROM generate_series(1, $1::int)";

static const char direct_sql[] = "COPY revision (id, " REVISION_COLUMNS ") FROM STDIN";

/* The fallback when a revision of the batch was stored by someone else meanwhile. */
static const char stage_sql[] =
    "SET LOCAL client_min_messages = warning;"
    "CREATE TEMP TABLE IF NOT EXISTS catalog_stage ("
    " seq integer, update_id uuid, revision_number integer, update_type text,"
    " category_type text, title text, default_language text, publication_state text,"
    " creation_date text, explicitly_deployable boolean, is_leaf boolean, kb_article_id text,"
    " security_bulletin_id text, msrc_severity text, handler text, xml text COMPRESSION lz4,"
    " xml_cab bytea,"
    " languages text[]);"
    "TRUNCATE catalog_stage";

static const char stage_file_sql[] =
    "SET LOCAL client_min_messages = warning;"
    "CREATE TEMP TABLE IF NOT EXISTS catalog_stage_file ("
    " sha1 bytea, sha256 bytea, size bigint, file_name text, mu_url text, patching_type text,"
    " modified text);"
    "TRUNCATE catalog_stage_file";

static const char insert_sql[] =
    "WITH ins AS (INSERT INTO revision (" REVISION_COLUMNS ")"
    " SELECT " REVISION_COLUMNS " FROM catalog_stage ORDER BY seq"
    " ON CONFLICT (update_id, revision_number) DO NOTHING"
    " RETURNING id, update_id, revision_number)"
    " SELECT s.seq, ins.id FROM ins JOIN catalog_stage s USING (update_id, revision_number)";

static const char file_sql[] =
    "WITH f AS (INSERT INTO file (sha1, sha256, size, file_name, mu_url, patching_type, modified)"
    " SELECT DISTINCT ON (sha1) sha1, sha256, size, file_name, mu_url, patching_type, modified"
    " FROM catalog_stage_file ORDER BY sha1, mu_url NULLS LAST"
    " ON CONFLICT (sha1) DO UPDATE SET mu_url = EXCLUDED.mu_url"
    " WHERE file.mu_url IS NULL AND EXCLUDED.mu_url IS NOT NULL"
    " RETURNING (xmax = 0) AS inserted)"
    " SELECT count(*) FILTER (WHERE inserted) FROM f";

static void copy_languages(struct pgcopy *c, const struct update *u)
{
    struct buf a;
    size_t i;

    if (!update_is_language_specific(u)) {
        pgcopy_str(c, "{}", 0);
        return;
    }
    buf_init(&a, 64 * (UPDATE_MAX_LANGUAGES + 1));
    buf_add_str(&a, "{");
    for (i = 0; i < u->n_languages; i++)
        buf_printf(&a, "%s%s", i ? "," : "", u->languages[i]);
    buf_add_str(&a, "}");
    pgcopy_str(c, buf_str(&a), 0);
    buf_free(&a);
}

static int exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

    PQclear(r);
    if (!ok)
        db_errmsg(conn, err, errlen);
    return ok ? 0 : -1;
}

/*
 * One table filled from a list every update carries (texts, prerequisites, files, ...): the
 * list's length is the size_t at offset count in struct update; row writes its item j as one COPY
 * row (first column first, without the row end) for the revision stored as rev_id.
 */
struct copy_list {
    const char *sql;
    size_t count; /* offsetof the list's length in struct update */
    void (*row)(struct pgcopy *c, long long rev_id, const struct update *u, size_t j);
};

static void row_text(struct pgcopy *c, long long rev_id, const struct update *u, size_t j)
{
    pgcopy_fmt(c, 1, "%lld", rev_id);
    pgcopy_str(c, u->texts[j].language, 0);
    pgcopy_str(c, u->texts[j].title, 0);
    pgcopy_str(c, u->texts[j].description, 0);
}

static void row_prereq(struct pgcopy *c, long long rev_id, const struct update *u, size_t j)
{
    pgcopy_fmt(c, 1, "%lld", rev_id);
    pgcopy_fmt(c, 0, "%d", u->prereqs[j].clause);
    pgcopy_str(c, u->prereqs[j].update_id, 0);
    pgcopy_str(c, u->prereqs[j].is_category ? "t" : "f", 0);
}

static void row_bundle(struct pgcopy *c, long long rev_id, const struct update *u, size_t j)
{
    pgcopy_fmt(c, 1, "%lld", rev_id);
    pgcopy_fmt(c, 0, "%d", u->bundles[j].clause);
    pgcopy_str(c, u->bundles[j].update_id, 0);
    pgcopy_fmt(c, 0, "%d", u->bundles[j].revision_number);
}

static void row_supersedes(struct pgcopy *c, long long rev_id, const struct update *u, size_t j)
{
    pgcopy_fmt(c, 1, "%lld", rev_id);
    pgcopy_str(c, u->supersedes[j], 0);
}

/* The file rows go through catalog_stage_file (file_sql merges them), without a revision id. */
static void row_stage_file(struct pgcopy *c, long long rev_id, const struct update *u, size_t j)
{
    const struct update_file *f = &u->files[j];

    (void)rev_id;
    pgcopy_bytea(c, f->sha1, 20, 1);
    pgcopy_bytea(c, f->has_sha256 ? f->sha256 : NULL, 32, 0);
    if (f->size >= 0)
        pgcopy_fmt(c, 0, "%lld", (long long)f->size);
    else
        pgcopy_str(c, NULL, 0);
    pgcopy_str(c, f->file_name, 0);
    pgcopy_str(c, f->mu_url, 0);
    pgcopy_str(c, f->patching_type, 0);
    pgcopy_str(c, f->modified, 0);
}

static void row_revision_file(struct pgcopy *c, long long rev_id, const struct update *u, size_t j)
{
    pgcopy_fmt(c, 1, "%lld", rev_id);
    pgcopy_bytea(c, u->files[j].sha1, 20, 0);
}

static const struct copy_list text_list = {
    "COPY revision_text (revision_id, language, title, description) FROM STDIN",
    offsetof(struct update, n_texts), row_text};
static const struct copy_list prereq_list = {
    "COPY revision_prerequisite (revision_id, clause, update_id, is_category) FROM STDIN",
    offsetof(struct update, n_prereqs), row_prereq};
static const struct copy_list bundle_list = {
    "COPY revision_bundle (revision_id, clause, member_update_id, member_revision_number) "
    "FROM STDIN",
    offsetof(struct update, n_bundles), row_bundle};
static const struct copy_list supersedes_list = {
    "COPY revision_supersedes (revision_id, superseded_update_id) FROM STDIN",
    offsetof(struct update, n_supersedes), row_supersedes};
static const struct copy_list stage_file_list = {"COPY catalog_stage_file FROM STDIN",
                                                 offsetof(struct update, n_files), row_stage_file};
static const struct copy_list revision_file_list = {
    "COPY revision_file (revision_id, sha1) FROM STDIN", offsetof(struct update, n_files),
    row_revision_file};

static size_t copy_list_len(const struct copy_list *t, const struct update *u)
{
    return *(const size_t *)(const void *)((const char *)u + t->count);
}

/*
 * COPY list t of every update stored by this batch (rev_id[i] != 0). Returns the number of rows
 * written (0: nothing to write, no COPY sent), -1 with err set on failure.
 */
/* The rows of list t over the updates stored by this batch (rev_id[i] != 0). */
static long list_rows(const struct copy_list *t, struct update *const *u, size_t n,
                      const long long *rev_id)
{
    size_t i;
    long rows = 0;

    for (i = 0; i < n; i++)
        if (rev_id[i] != 0)
            rows += (long)copy_list_len(t, u[i]);
    return rows;
}

static long copy_lists(PGconn *conn, const struct copy_list *t, struct update *const *u, size_t n,
                       const long long *rev_id, char *err, size_t errlen)
{
    struct pgcopy c;
    size_t i, j;
    long rows = list_rows(t, u, n, rev_id);

    if (rows == 0)
        return 0;
    if (pgcopy_begin(&c, conn, t->sql, err, errlen) < 0)
        return -1;
    for (i = 0; i < n; i++)
        for (j = 0; rev_id[i] != 0 && j < copy_list_len(t, u[i]); j++) {
            t->row(&c, rev_id[i], u[i], j);
            pgcopy_end_row(&c);
        }
    if (pgcopy_finish(&c, err, errlen) < 0)
        return -1;
    return rows;
}

struct ident_ix {
    const struct update *u;
    size_t i;
};

static int cmp_ident(const void *a, const void *b)
{
    const struct ident_ix *x = a, *y = b;
    int c = strcmp(x->u->update_id, y->u->update_id);

    if (c != 0)
        return c;
    if (x->u->revision_number != y->u->revision_number)
        return x->u->revision_number < y->u->revision_number ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The one place new revisions get their client fragments (MS-WUSP), in the same commit. */
static int store_fragments(PGconn *conn, struct update *const *u, size_t n, const long long *rev_id,
                           char *err, size_t errlen)
{
    struct fragment_source *src = xcalloc(n, sizeof(*src));
    size_t i, k = 0;
    int rc;

    for (i = 0; i < n; i++) {
        if (rev_id[i] == 0)
            continue;
        src[k].revision_id = rev_id[i];
        src[k].xml = u[i]->xml;
        src[k].len = u[i]->xml_len;
        src[k].update_id = u[i]->update_id;
        src[k].revision_number = u[i]->revision_number;
        src[k].set = u[i]->fragments;
        k++;
    }
    rc = fragment_store_add_new(conn, src, k, NULL, err, errlen);
    free(src);
    return rc;
}

/* One COPY row of revision: lead (the id, or the batch position when staged), then the columns. */
static void copy_revision_row(struct pgcopy *c, long long lead, const struct update *x)
{
    pgcopy_fmt(c, 1, "%lld", lead);
    pgcopy_str(c, x->update_id, 0);
    pgcopy_fmt(c, 0, "%d", x->revision_number);
    pgcopy_str(c, x->update_type, 0);
    pgcopy_str(c, x->category_type, 0);
    pgcopy_str(c, x->title != NULL ? x->title : "", 0);
    pgcopy_str(c, x->default_language, 0);
    pgcopy_str(c, x->publication_state != NULL ? x->publication_state : "Published", 0);
    pgcopy_str(c, x->creation_date, 0);
    pgcopy_str(c, x->explicitly_deployable ? "t" : "f", 0);
    pgcopy_str(c, x->is_leaf ? "t" : "f", 0);
    pgcopy_str(c, x->kb_article_id, 0);
    pgcopy_str(c, x->security_bulletin_id, 0);
    pgcopy_str(c, x->msrc_severity, 0);
    pgcopy_str(c, x->handler, 0);
    pgcopy_text(c, x->xml, x->xml_len, 0);
    pgcopy_bytea(c, x->xml_cab, x->xml_cab_len, 0);
    copy_languages(c, x);
    pgcopy_end_row(c);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

/*
 * ids_sql for the rows of the batch not skipped: rev_id[i] gets a fresh id each, ascending in
 * batch order (as the staged INSERT ... ORDER BY seq gave them). 0, or -1 with err set.
 */
static int take_ids(PGconn *conn, size_t n, const unsigned char *skip, long long *rev_id, char *err,
                    size_t errlen)
{
    char count[DB_PARAM_INT_LEN];
    const char *params[1] = {count};
    long long *ids;
    PGresult *r;
    size_t i, k = 0;
    int row, rc = -1;

    for (i = 0; i < n; i++)
        k += !skip[i];
    if (k == 0)
        return 0;
    if (str_fmt(count, sizeof(count), "%zu", k) < 0) {
        snprintf(err, errlen, "batch too large");
        return -1;
    }
    r = PQexecParams(conn, ids_sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQntuples(r) != k) {
        db_errmsg(conn, err, errlen);
        PQclear(r);
        return -1;
    }
    ids = xcalloc(k, sizeof(*ids));
    for (row = 0; row < (int)k; row++) {
        int64_t id;
        if (str_to_int64(PQgetvalue(r, row, 0), 1, INT64_MAX, &id) < 0) {
            snprintf(err, errlen, "unexpected answer from the revision id sequence");
            goto out;
        }
        ids[row] = id;
    }
    qsort(ids, k, sizeof(*ids), cmp_ll);
    for (i = 0, k = 0; i < n; i++)
        if (!skip[i])
            rev_id[i] = ids[k++];
    rc = 0;
out:
    PQclear(r);
    free(ids);
    return rc;
}

/*
 * COPY the revisions with an id taken ahead (rev_id[i] != 0) straight into revision, under a
 * savepoint. 0 when stored; 1 when one of them is stored already (unique violation: stored by
 * another writer, or an import repeated): rolled back to the savepoint, every rev_id[] reset to
 * 0, for store_staged; -1 with err set on any other failure.
 */
static int store_direct(PGconn *conn, struct update *const *u, size_t n, long long *rev_id,
                        char *err, size_t errlen)
{
    struct pgcopy c;
    size_t i, rows = 0;

    for (i = 0; i < n; i++)
        rows += rev_id[i] != 0;
    if (rows == 0)
        return 0;
    if (exec_ok(conn, "SAVEPOINT catalog_direct", err, errlen) < 0 ||
        pgcopy_begin(&c, conn, direct_sql, err, errlen) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (rev_id[i] != 0)
            copy_revision_row(&c, rev_id[i], u[i]);
    if (pgcopy_finish(&c, err, errlen) == 0)
        return exec_ok(conn, "RELEASE SAVEPOINT catalog_direct", err, errlen);
    if (strcmp(c.sqlstate, "23505") != 0 ||
        exec_ok(conn, "ROLLBACK TO SAVEPOINT catalog_direct", err, errlen) < 0)
        return -1;
    log_debug("catalog: a revision of this batch is stored already; merging it through the "
              "staging table");
    memset(rev_id, 0, n * sizeof(*rev_id));
    return 1;
}

/*
 * The fallback of store_direct: COPY the batch (rows not skipped) into catalog_stage and
 * INSERT ... ON CONFLICT DO NOTHING from it; rev_id[i] gets the id of each row inserted, 0 for
 * those stored already. 0, or -1 with err set.
 */
static int store_staged(PGconn *conn, struct update *const *u, size_t n, const unsigned char *skip,
                        long long *rev_id, char *err, size_t errlen)
{
    struct pgcopy c;
    PGresult *r;
    size_t i;
    int row;

    if (exec_ok(conn, stage_sql, err, errlen) < 0 ||
        pgcopy_begin(&c, conn, "COPY catalog_stage FROM STDIN", err, errlen) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (!skip[i])
            copy_revision_row(&c, (long long)i, u[i]);
    if (pgcopy_finish(&c, err, errlen) < 0)
        return -1;
    r = PQexec(conn, insert_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_errmsg(conn, err, errlen);
        PQclear(r);
        return -1;
    }
    for (row = 0; row < PQntuples(r); row++) {
        long seq;
        int64_t id;
        if (str_to_long(PQgetvalue(r, row, 0), 0, (long)n - 1, &seq) < 0 ||
            str_to_int64(PQgetvalue(r, row, 1), 1, INT64_MAX, &id) < 0) {
            snprintf(err, errlen, "unexpected answer from the catalog insert");
            PQclear(r);
            return -1;
        }
        rev_id[seq] = id;
    }
    PQclear(r);
    return 0;
}

/* Add the counts of one store (add) to *st; st may be NULL (nobody counts). */
static void stats_add(struct catalog_stats *st, const struct catalog_stats *add)
{
    if (st == NULL)
        return;
    st->new_revisions += add->new_revisions;
    st->present_revisions += add->present_revisions;
    st->new_categories += add->new_categories;
    st->new_detectoids += add->new_detectoids;
    st->new_updates += add->new_updates;
    st->new_files += add->new_files;
}

int catalog_store_tx(PGconn *conn, struct update *const *u, size_t n, struct catalog_stats *st,
                     char *err, size_t errlen)
{
    struct ident_ix *ix = NULL;
    unsigned char *skip = NULL;
    long long *rev_id = NULL;
    struct catalog_stats local;
    PGresult *r = NULL;
    size_t i, j, m = 0;
    long nf;
    int rc = -1, direct;

    memset(&local, 0, sizeof(local));
    if (n == 0)
        goto done;
    /* one row per identity: later repeats in the batch count as already present */
    ix = xcalloc(n, sizeof(*ix));
    skip = xcalloc(n, 1);
    rev_id = xcalloc(n, sizeof(*rev_id));
    for (i = 0; i < n; i++) {
        if (u[i] == NULL) {
            skip[i] = 1;
            continue;
        }
        ix[m].u = u[i];
        ix[m].i = i;
        m++;
    }
    qsort(ix, m, sizeof(*ix), cmp_ident);
    for (j = 1; j < m; j++) {
        if (strcmp(ix[j].u->update_id, ix[j - 1].u->update_id) == 0 &&
            ix[j].u->revision_number == ix[j - 1].u->revision_number) {
            skip[ix[j].i] = 1;
            local.present_revisions++;
        }
    }
    if (take_ids(conn, n, skip, rev_id, err, errlen) < 0)
        goto out;
    direct = store_direct(conn, u, n, rev_id, err, errlen);
    if (direct < 0 || (direct > 0 && store_staged(conn, u, n, skip, rev_id, err, errlen) < 0))
        goto out;
    for (i = 0; i < n; i++) {
        if (skip[i])
            continue;
        if (rev_id[i] == 0) {
            local.present_revisions++;
            continue;
        }
        local.new_revisions++;
        if (update_is_category(u[i]))
            local.new_categories++;
        else if (update_is_detectoid(u[i]))
            local.new_detectoids++;
        else
            local.new_updates++;
    }
    nf = copy_lists(conn, &text_list, u, n, rev_id, err, errlen);
    if (nf >= 0)
        nf = copy_lists(conn, &prereq_list, u, n, rev_id, err, errlen);
    if (nf >= 0)
        nf = copy_lists(conn, &bundle_list, u, n, rev_id, err, errlen);
    if (nf >= 0)
        nf = copy_lists(conn, &supersedes_list, u, n, rev_id, err, errlen);
    if (nf >= 0 && list_rows(&stage_file_list, u, n, rev_id) > 0 &&
        exec_ok(conn, stage_file_sql, err, errlen) < 0)
        nf = -1;
    if (nf >= 0)
        nf = copy_lists(conn, &stage_file_list, u, n, rev_id, err, errlen);
    if (nf < 0)
        goto out;
    if (nf > 0) {
        if ((r = PQexec(conn, file_sql)) == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
            db_errmsg(conn, err, errlen);
            goto out;
        }
        if (str_to_long(PQgetvalue(r, 0, 0), 0, LONG_MAX, &nf) == 0)
            local.new_files += nf;
        PQclear(r);
        r = NULL;
        if (copy_lists(conn, &revision_file_list, u, n, rev_id, err, errlen) < 0)
            goto out;
    }
    if (store_fragments(conn, u, n, rev_id, err, errlen) < 0)
        goto out;
done:
    stats_add(st, &local);
    rc = 0;
out:
    PQclear(r);
    free(ix);
    free(skip);
    free(rev_id);
    return rc;
}

int catalog_store(PGconn *conn, struct update *const *u, size_t n, struct catalog_stats *st,
                  char *err, size_t errlen)
{
    struct catalog_stats local;

    memset(&local, 0, sizeof(local));
    if (exec_ok(conn, "BEGIN", err, errlen) < 0)
        return -1;
    if (catalog_store_tx(conn, u, n, &local, err, errlen) < 0 ||
        exec_ok(conn, "COMMIT", err, errlen) < 0) {
        db_rollback(conn);
        return -1;
    }
    stats_add(st, &local);
    return 0;
}

int catalog_get_xml(PGconn *conn, const char *update_id, int revision_number, char **xml,
                    size_t *len)
{
    char rev[DB_PARAM_INT_LEN];
    const char *params[2] = {update_id, rev};
    PGresult *r;
    int rc;

    *xml = NULL;
    db_param_int(rev, revision_number);
    r = db_exec(conn, "SELECT xml FROM revision WHERE update_id = $1 AND revision_number = $2", 2,
                params);
    if (r == NULL)
        return -1;
    rc = PQntuples(r) > 0;
    if (rc) {
        size_t l = (size_t)PQgetlength(r, 0, 0);
        *xml = xmalloc(l + 1);
        memcpy(*xml, PQgetvalue(r, 0, 0), l);
        (*xml)[l] = '\0';
        if (len != NULL)
            *len = l;
    }
    PQclear(r);
    return rc;
}

/* The count(*) of a query without parameters, -1 on error. */
static long count_of(PGconn *conn, const char *sql)
{
    PGresult *r = db_exec(conn, sql, 0, NULL);
    long v = -1;

    if (r == NULL)
        return -1;
    if (str_to_long(PQgetvalue(r, 0, 0), 0, LONG_MAX, &v) < 0)
        v = -1;
    PQclear(r);
    return v;
}

int catalog_clock(PGconn *conn, char *buf, size_t len)
{
    PGresult *r = db_exec(conn, "SELECT now()::text", 0, NULL);
    int rc = -1;

    buf[0] = '\0';
    if (r != NULL && PQntuples(r) == 1 && (size_t)PQgetlength(r, 0, 0) < len) {
        snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int catalog_count_known(PGconn *conn, struct update *const *u, size_t n, const char *since,
                        long *known, long *unknown)
{
    struct buf arr;
    PGresult *r;
    size_t i;
    int k, rc = -1;
    const char *params[2];

    *known = *unknown = 0;
    buf_init(&arr, (size_t)64 << 20);
    buf_add_str(&arr, "{");
    for (i = 0; i < n; i++)
        if (u[i] != NULL)
            buf_printf(&arr, "%s%s", arr.len > 1 ? "," : "", u[i]->update_id);
    buf_add_str(&arr, "}");
    params[0] = buf_str(&arr);
    params[1] = since != NULL && since[0] != '\0' ? since : NULL;
    r = db_exec(conn,
                "SELECT DISTINCT update_id::text FROM revision WHERE update_id = ANY($1::uuid[]) "
                "AND ($2::timestamptz IS NULL OR stored_at < $2::timestamptz)",
                2, params);
    if (r == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        int found = 0;
        if (u[i] == NULL)
            continue;
        for (k = 0; k < PQntuples(r) && !found; k++)
            found = strcmp(PQgetvalue(r, k, 0), u[i]->update_id) == 0;
        if (found)
            (*known)++;
        else
            (*unknown)++;
    }
    PQclear(r);
    rc = 0;
out:
    buf_free(&arr);
    return rc;
}

/* The GUID of EulaID="..." (either quote) in a stored document. */
#define EULA_OF_XML "lower(substring(xml from 'EulaID\\s*=\\s*[\"'']([0-9A-Fa-f-]{36})[\"'']'))"

/* One GUID from a one-column query into out: 1, 0 when no row or NULL, -1 on error. */
static int one_guid(PGconn *conn, const char *sql, const char *param, char out[37])
{
    const char *p[1] = {param};
    PGresult *r = db_exec(conn, sql, 1, p);
    int rc = -1;

    out[0] = '\0';
    if (r == NULL)
        return -1;
    rc = 0;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) && PQgetlength(r, 0, 0) == 36) {
        memcpy(out, PQgetvalue(r, 0, 0), 37);
        rc = 1;
    }
    PQclear(r);
    return rc;
}

int catalog_eula_of(PGconn *conn, const char *revision_id, char out[37])
{
    return one_guid(conn, "SELECT " EULA_OF_XML " FROM revision WHERE id = $1::bigint", revision_id,
                    out);
}

int catalog_eula_find(PGconn *conn, const char *eula_id, char out[37])
{
    return one_guid(
        conn,
        "SELECT update_id::text FROM revision WHERE strpos(xml, 'EulaID') > 0 AND " EULA_OF_XML
        " = lower($1) ORDER BY update_id LIMIT 1",
        eula_id, out);
}

long catalog_count_revisions(PGconn *conn)
{
    return count_of(conn, "SELECT count(*) FROM revision");
}

/*
 * The deployment d's revision r applies here: language neutral, or specific to a language
 * enabled in the language table and (when $1 is not NULL: a replica's upstream list) one of
 * the comma-separated languages $1 (CATALOG_SQL_LANG_APPLIES with the upstream's list).
 */
#define APPLIES_HERE                                                                               \
    "(r.languages = '{}' OR EXISTS (SELECT 1 FROM unnest(r.languages) AS l(s)"                     \
    " JOIN language g ON g.short_name = l.s AND g.enabled"                                         \
    " WHERE $1::text IS NULL OR l.s = ANY(string_to_array($1::text, ','))))"

long catalog_count_active_approvals(PGconn *conn, int every_live)
{
    /* action 2 (Scan) is "not approved"; a deployment of an unknown revision counts */
    if (every_live)
        return count_of(conn, "SELECT count(*) FROM deployment WHERE NOT dead AND action <> 2");
    return count_of(
        conn, "SELECT count(*) FROM deployment d LEFT JOIN revision r ON"
              " r.update_id = d.update_id AND r.revision_number = d.revision_number"
              " WHERE NOT d.dead AND d.action <> 2 AND (r.id IS NULL OR " CATALOG_SQL_LANG_APPLIES(
                  "r") ")");
}

static const char *const approval_actions[] = {"install", "uninstall", "scan", "block"};

json_t *catalog_inactive_approvals(PGconn *conn, const char *carried, const char *upstream_url)
{
    const char *p[1] = {carried};
    json_t *out;
    PGresult *r;
    int i;

    r = db_exec(conn,
                "SELECT d.update_id::text, d.revision_number, r.title,"
                " d.target_group_id::text, coalesce(g.name, ''), d.action,"
                " array_to_string(r.languages, ','), d.deployment_guid::text,"
                " $1::text IS NOT NULL AND NOT r.languages && string_to_array($1::text, ',')"
                " FROM deployment d JOIN revision r ON r.update_id = d.update_id"
                "  AND r.revision_number = d.revision_number"
                " LEFT JOIN target_group g ON g.id = d.target_group_id"
                " WHERE NOT d.dead AND d.action <> 2 AND NOT " APPLIES_HERE
                " ORDER BY r.title, d.update_id, g.name, d.deployment_guid LIMIT 100000",
                1, p);
    if (r == NULL)
        return NULL;
    out = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        long action = 0, rev = 0;
        const char *langs = PQgetvalue(r, i, 6);
        int gone_upstream = strcmp(PQgetvalue(r, i, 8), "t") == 0;
        char *why;

        /* the columns are constrained; an unreadable value keeps the 0 default */
        if (str_to_long(PQgetvalue(r, i, 5), 0, 3, &action) < 0)
            action = 0;
        if (str_to_long(PQgetvalue(r, i, 1), 0, INT_MAX, &rev) < 0)
            rev = 0;
        /* not bounded by a buffer: a revision may list UPDATE_MAX_LANGUAGES languages */
        if (gone_upstream)
            why = xasprintf("the update is only for %s, which upstream %s no longer carries", langs,
                            upstream_url != NULL ? upstream_url : "");
        else
            why = xasprintf("the update is only for %s, which is not enabled here", langs);
        json_array_append_new(out, json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                             "update_id", PQgetvalue(r, i, 0), "revision", (int)rev,
                                             "title", PQgetvalue(r, i, 2), "group_id",
                                             PQgetvalue(r, i, 3), "group", PQgetvalue(r, i, 4),
                                             "action", approval_actions[action], "languages", langs,
                                             "deployment_guid", PQgetvalue(r, i, 7), "why", why));
        free(why);
    }
    PQclear(r);
    return out;
}

json_t *catalog_remove_inactive_approvals(PGconn *conn, const char *carried,
                                          const char *upstream_url)
{
    json_t *list = catalog_inactive_approvals(conn, carried, upstream_url);
    size_t i;

    for (i = 0; list != NULL && i < json_array_size(list); i++) {
        const json_t *a = json_array_get(list, i);
        if (approvals_kill_deployments(conn, json_string_value(json_object_get(a, "update_id")),
                                       json_string_value(json_object_get(a, "group_id")),
                                       NULL) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

int catalog_file_set_state(PGconn *conn, const unsigned char sha1[20], const char *state,
                           const char *detail)
{
    char hex[48];
    const char *params[3] = {hex, state, detail};

    memcpy(hex, "\\x", 2);
    str_hex_encode(sha1, 20, 0, hex + 2);
    return db_cmd(conn,
                  "UPDATE file SET state = $2, state_detail = $3,"
                  " stored_at = CASE WHEN $2 = 'present' THEN now() ELSE stored_at END"
                  " WHERE sha1 = $1::bytea",
                  3, params);
}

/* The one-line remedy of a catalog_failed_updates() entry. */
static const char *failed_remedy(const char *why)
{
    if (strcmp(why, CATALOG_WHY_GONE) == 0)
        return "decline it here (wsusctl decline ID), or add its product upstream and "
               "synchronize both servers";
    if (strcmp(why, CATALOG_WHY_FAILED) == 0)
        return "see the reason; wsusctl sync now tries again";
    return "nothing to do: the upstream was asked to download it (DownloadFiles) and the next "
           "synchronization fetches it";
}

/* Rank of a why: the update shows its worst file. */
static int why_rank(const char *why)
{
    return strcmp(why, CATALOG_WHY_GONE) == 0 ? 2 : strcmp(why, CATALOG_WHY_FAILED) == 0;
}

/* The updates of the files of bad, those of why $3 (NULL: all). */
#define FAILED_OWNER                                                                               \
    "owner AS (SELECT * FROM (" CATALOG_SQL_FILE_UPDATES("bad") ") o WHERE $3::text IS NULL"       \
                                                                " OR o.why = $3::text)"

json_t *catalog_failed_updates(PGconn *conn, const char *why_only, long limit)
{
    char lim[DB_PARAM_INT_LEN];
    const char *p[5] = {CATALOG_FILE_GONE, CATALOG_FILE_PENDING, why_only, lim, NULL};
    json_t *out, *cur = NULL;
    PGresult *r;
    int i;

    db_param_int(lim, limit > 0 ? limit : 1);
    r = db_exec(conn,
                "WITH bad AS (SELECT f.sha1, f.file_name, f.state_detail, CASE"
                "   WHEN f.state = 'failed' AND f.state_detail = $1 THEN 'gone'"
                "   WHEN f.state = 'failed' THEN 'failed' ELSE 'pending' END AS why"
                "  FROM file f WHERE f.state = 'failed'"
                "   OR (f.state = 'absent' AND f.state_detail = $2)),"
                " " FAILED_OWNER ","
                " upd AS (SELECT uid, max(rev) AS rev FROM owner o WHERE NOT EXISTS"
                "   (SELECT 1 FROM declined_update x WHERE x.update_id = o.uid)"
                "  GROUP BY uid),"
                " top AS (SELECT u.uid, u.rev, v.title FROM upd u JOIN revision v"
                "   ON v.update_id = u.uid AND v.revision_number = u.rev"
                "  ORDER BY v.title, u.uid LIMIT $4::int)"
                " SELECT DISTINCT t.uid::text, t.rev, t.title, o.file_name,"
                "  encode(o.sha1, 'hex'), o.why, coalesce(o.state_detail, '')"
                " FROM top t JOIN owner o ON o.uid = t.uid ORDER BY 3, 1, 4, 5",
                4, p);
    if (r == NULL)
        return NULL;
    out = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        const char *why = PQgetvalue(r, i, 5);
        if (cur == NULL || strcmp(json_string_value(json_object_get(cur, "update_id")),
                                  PQgetvalue(r, i, 0)) != 0) {
            cur =
                json_pack("{s:s, s:i, s:s, s:s, s:s, s:[]}", "update_id", PQgetvalue(r, i, 0),
                          "revision", (int)strtol(PQgetvalue(r, i, 1), NULL, 10), "title",
                          PQgetvalue(r, i, 2), "why", why, "remedy", failed_remedy(why), "missing");
            json_array_append_new(out, cur);
        } else if (why_rank(why) > why_rank(json_string_value(json_object_get(cur, "why")))) {
            json_object_set_new(cur, "why", json_string(why));
            json_object_set_new(cur, "remedy", json_string(failed_remedy(why)));
        }
        json_array_append_new(json_object_get(cur, "missing"),
                              json_pack("{s:s, s:s, s:s, s:s}", "file", PQgetvalue(r, i, 3), "sha1",
                                        PQgetvalue(r, i, 4), "why", why, "detail",
                                        PQgetvalue(r, i, 6)));
    }
    PQclear(r);
    return out;
}

/* category_type values of a kind, as a PostgreSQL array. */
static const char *category_kinds(const char *kind)
{
    return strcmp(kind, "classification") == 0 ? "{UpdateClassification}"
                                               : "{Product,ProductFamily,Company}";
}

#define LATEST_CATEGORIES                                                                          \
    "SELECT DISTINCT ON (update_id) update_id, title, category_type FROM revision"                 \
    " WHERE update_type = 'Category' AND category_type = ANY($1::text[])"                          \
    " ORDER BY update_id, revision_number DESC"

json_t *catalog_categories(PGconn *conn, const char *kind)
{
    const char *p[1] = {category_kinds(kind)};
    PGresult *r = db_exec(conn,
                          "SELECT update_id::text, title, category_type FROM (" LATEST_CATEGORIES
                          ") c ORDER BY lower(title), update_id",
                          1, p);
    json_t *out;
    int i;

    if (r == NULL)
        return NULL;
    out = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "id", PQgetvalue(r, i, 0), "title",
                                             PQgetvalue(r, i, 1), "type", PQgetvalue(r, i, 2)));
    PQclear(r);
    return out;
}

/* One name: its GUID into out (37 bytes); -1 with the message in err. */
static int resolve_one(PGconn *conn, const char *key, const char *kind, const char *name, char *out,
                       char *err, size_t errlen)
{
    const char *p[2] = {category_kinds(kind), name};
    PGresult *r = db_exec(conn,
                          "SELECT update_id::text, title FROM (" LATEST_CATEGORIES ") c"
                          " WHERE lower(title) = lower($2) ORDER BY update_id",
                          2, p);
    struct buf b;
    int i, rc = -1;

    if (r == NULL) {
        snprintf(err, errlen, "%s: cannot read the catalog; see the wsusd log", key);
        return -1;
    }
    buf_init(&b, 2048);
    if (PQntuples(r) == 1) {
        snprintf(out, 37, "%s", PQgetvalue(r, 0, 0));
        rc = 0;
        goto out;
    }
    if (PQntuples(r) > 1) {
        for (i = 0; i < PQntuples(r); i++)
            buf_printf(&b, "%s%s", i ? ", " : "", PQgetvalue(r, i, 0));
        snprintf(err, errlen, "%s: \"%s\" is the name of %d %ss (%s); give the GUID", key, name,
                 PQntuples(r), kind, buf_str(&b));
        goto out;
    }
    PQclear(r);
    r = db_exec(conn,
                "SELECT title FROM (" LATEST_CATEGORIES ") c WHERE strpos(lower(title), "
                "lower($2)) > 0 OR strpos(lower($2), lower(title)) > 0 ORDER BY lower(title) "
                "LIMIT 5",
                2, p);
    for (i = 0; r != NULL && i < PQntuples(r); i++)
        buf_printf(&b, "%s\"%s\"", i ? ", " : "", PQgetvalue(r, i, 0));
    snprintf(err, errlen, "%s: no %s is called \"%s\"%s%s; wsusctl %ss lists them", key, kind, name,
             b.len > 0 ? "; similar: " : "", buf_str(&b), kind);
out:
    PQclear(r);
    buf_free(&b);
    return rc;
}

int catalog_category_resolve(PGconn *conn, const char *key, const char *kind, const char *list,
                             char **out, char *err, size_t errlen)
{
    struct buf b;
    const char *p = list;
    int rc = -1, first = 1;

    *out = NULL;
    buf_init(&b, (size_t)1 << 20);
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char *item = str_trim(xstrndup(p, n));
        char g[37];

        if (item[0] != '\0') {
            if (str_guid_canon(item, g) == 0 ||
                (strlen(item) >= 32 && strspn(item, "0123456789abcdefABCDEF-{}") == strlen(item))) {
                buf_printf(&b, "%s%s", first ? "" : ",", item); /* settings.c judges it */
            } else if (resolve_one(conn, key, kind, item, g, err, errlen) == 0) {
                buf_printf(&b, "%s%s", first ? "" : ",", g);
            } else {
                free(item);
                goto out;
            }
            first = 0;
        }
        free(item);
        p += n + (p[n] == ',');
    }
    *out = buf_detach(&b, NULL);
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

char *catalog_category_names(PGconn *conn, const char *list)
{
    struct buf b;
    const char *p = list;

    buf_init(&b, (size_t)1 << 20);
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char *item = str_trim(xstrndup(p, n));

        if (item[0] != '\0') {
            const char *q[1] = {item};
            PGresult *r = db_exec(conn,
                                  "SELECT title FROM revision WHERE update_id = $1::uuid AND "
                                  "update_type = 'Category' ORDER BY revision_number DESC LIMIT 1",
                                  1, q);
            if (r != NULL && PQntuples(r) == 1)
                buf_printf(&b, "%s\"%s\" (%s)", b.len ? ", " : "", PQgetvalue(r, 0, 0), item);
            else
                buf_printf(&b, "%s%s", b.len ? ", " : "", item);
            PQclear(r);
        }
        free(item);
        p += n + (p[n] == ',');
    }
    return buf_detach(&b, NULL);
}

char *catalog_categories_outside(PGconn *conn, const char *ours, const char *theirs)
{
    char *a = xasprintf("{%s}", ours), *b = xasprintf("{%s}", theirs), *out = NULL;
    const char *p[2] = {a, b};
    PGresult *r =
        db_exec(conn,
                "WITH RECURSIVE up(start, cat) AS ("
                "  SELECT g, g FROM unnest($1::uuid[]) g"
                "  UNION SELECT up.start, q.update_id FROM up"
                "  JOIN revision c ON c.update_id = up.cat AND c.update_type = 'Category'"
                "  JOIN revision_prerequisite q ON q.revision_id = c.id AND q.is_category)"
                " SELECT coalesce(string_agg(g::text, ',' ORDER BY n), '')"
                " FROM unnest($1::uuid[]) WITH ORDINALITY AS s(g, n)"
                " WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.start = s.g"
                "  AND up.cat = ANY($2::uuid[]))",
                2, p);

    if (r != NULL && PQntuples(r) == 1)
        out = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    free(a);
    free(b);
    return out;
}

int catalog_file_sample(PGconn *conn, unsigned char sha1[20], char *name, size_t namelen,
                        int64_t *size)
{
    PGresult *r = db_exec_retry(conn,
                                "SELECT encode(sha1, 'hex'), file_name, size FROM file WHERE "
                                "size >= 2 ORDER BY state = 'present' DESC, size LIMIT 1",
                                0, NULL);
    int rc = -1;

    if (r == NULL)
        return -1;
    if (PQntuples(r) == 0) {
        rc = 0;
    } else if (str_hex_decode(PQgetvalue(r, 0, 0), 40, sha1, 20) == 0 &&
               str_to_int64(PQgetvalue(r, 0, 2), 2, INT64_MAX, size) == 0) {
        snprintf(name, namelen, "%s", PQgetvalue(r, 0, 1));
        rc = 1;
    }
    PQclear(r);
    return rc;
}

/* files of one row: a JSON array [{"sha1":hex,"sha256":hex,"size":n,"name":s,...}] */
static size_t parse_files_json(const char *js, json_t **root, struct catalog_file **files)
{
    json_error_t je;
    json_t *a, *o;
    size_t i, n = 0;

    *files = NULL;
    *root = NULL;
    if (js == NULL || js[0] == '\0')
        return 0;
    a = json_loads(js, 0, &je);
    if (a == NULL || !json_is_array(a)) {
        json_decref(a);
        return 0;
    }
    *root = a;
    *files = xcalloc(json_array_size(a) + 1, sizeof(**files));
    json_array_foreach(a, i, o)
    {
        struct catalog_file *f = &(*files)[n];
        json_t *sz = json_object_get(o, "size");
        const char *sha1 = json_string_value(json_object_get(o, "sha1"));
        const char *sha256 = json_string_value(json_object_get(o, "sha256"));

        if (sha1 == NULL || str_hex_decode(sha1, strlen(sha1), f->sha1, 20) < 0)
            continue;
        f->size = json_is_integer(sz) ? (int64_t)json_integer_value(sz) : -1;
        f->file_name = json_string_value(json_object_get(o, "name"));
        f->modified = json_string_value(json_object_get(o, "modified"));
        f->has_sha256 =
            sha256 != NULL && str_hex_decode(sha256, strlen(sha256), f->sha256, 32) == 0;
        f->mu_url = json_string_value(json_object_get(o, "mu_url"));
        n++;
    }
    return n;
}

int catalog_foreach_revision(PGconn *conn, int (*cb)(void *arg, const struct catalog_revision *r),
                             void *arg, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT r.update_id, r.revision_number, r.update_type, r.xml,"
        " (SELECT json_agg(json_build_object('sha1', encode(f.sha1, 'hex'), 'size', f.size,"
        "   'name', f.file_name, 'mu_url', f.mu_url, 'modified', f.modified,"
        "   'sha256', encode(f.sha256, 'hex')) ORDER BY f.sha1)"
        "  FROM revision_file rf JOIN file f ON f.sha1 = rf.sha1 WHERE rf.revision_id = r.id)"
        " FROM revision r ORDER BY r.id";
    PGresult *r;
    int rc = 0, stopped = 0;

    if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0) || !PQsetSingleRowMode(conn)) {
        db_errmsg(conn, err, errlen);
        return -1;
    }
    while ((r = PQgetResult(conn)) != NULL) {
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_SINGLE_TUPLE && !stopped) {
            struct catalog_revision rev;
            struct catalog_file *files = NULL;
            json_t *root = NULL;
            long rn = 0;

            memset(&rev, 0, sizeof(rev));
            rev.update_id = PQgetvalue(r, 0, 0);
            if (str_to_long(PQgetvalue(r, 0, 1), 0, 0x7fffffff, &rn) < 0)
                rn = 0; /* a constrained column: keeps the 0 default */
            rev.revision_number = (int)rn;
            rev.update_type = PQgetvalue(r, 0, 2);
            rev.xml = PQgetvalue(r, 0, 3);
            rev.xml_len = (size_t)PQgetlength(r, 0, 3);
            rev.n_files =
                parse_files_json(PQgetisnull(r, 0, 4) ? NULL : PQgetvalue(r, 0, 4), &root, &files);
            rev.files = files;
            if (cb(arg, &rev) < 0) {
                stopped = 1;
                rc = -1;
            }
            free(files);
            json_decref(root);
        } else if (s != PGRES_SINGLE_TUPLE && s != PGRES_TUPLES_OK) {
            if (!stopped) {
                db_errmsg(conn, err, errlen);
                rc = -1;
                stopped = 1;
            }
        }
        PQclear(r);
    }
    return rc;
}

int catalog_analyze(PGconn *conn)
{
    return db_cmd(conn,
                  "ANALYZE revision, revision_text, revision_prerequisite, revision_bundle, "
                  "revision_supersedes, revision_file, file",
                  0, NULL);
}

#define FILE_PRESENT_STMT "wsusd_content_lookup"
#define FILE_PRESENT_SQL  "SELECT file_name, size FROM file WHERE sha1 = $1 AND state = 'present'"

/* The content lookup runs as a prepared statement, prepared on first use on each connection. */
PGresult *catalog_file_present(PGconn *db, const unsigned char sha1[20])
{
    const char *values[1] = {(const char *)sha1};
    const int lengths[1] = {20};
    const int formats[1] = {1};
    PGresult *r;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        const char *state;
        r = PQexecPrepared(db, FILE_PRESENT_STMT, 1, values, lengths, formats, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            return r;
        state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* not prepared on this session yet, or the server restarted under this read (a
           re-established session has no prepared statements either): prepare, run again */
        if (attempt == 0 &&
            (db_lost(db) ? db_revive(db) > 0 : state != NULL && strcmp(state, "26000") == 0)) {
            PQclear(r);
            r = PQprepare(db, FILE_PRESENT_STMT, FILE_PRESENT_SQL, 1, NULL);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                break;
            PQclear(r);
            continue;
        }
        break;
    }
    log_warnx("content lookup failed: %s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

PGresult *catalog_files_present(PGconn *conn)
{
    return db_exec(conn,
                   "SELECT encode(sha1, 'hex'), encode(sha256, 'hex'), size, file_name FROM file "
                   "WHERE state = 'present' ORDER BY sha1",
                   0, NULL);
}

int catalog_file_mark_unstored(PGconn *conn, const char *sha1_hex, const char *state,
                               const char *detail)
{
    const char *params[3] = {sha1_hex, state, detail};

    return db_cmd(conn,
                  "UPDATE file SET state = $2, state_detail = $3, stored_at = NULL WHERE sha1 = "
                  "decode($1, 'hex')",
                  3, params);
}

int catalog_files_requeue_quarantined(PGconn *conn)
{
    return db_cmd(conn, "UPDATE file SET state = 'queued' WHERE state = 'quarantined'", 0, NULL);
}

PGresult *catalog_revisions_absent(PGconn *conn, const char *update_ids, const char *revisions)
{
    return db_exec2(conn,
                    "SELECT DISTINCT t.u::text, t.r FROM unnest($1::uuid[], $2::int[]) AS t(u, r) "
                    "WHERE NOT EXISTS (SELECT 1 FROM revision v WHERE v.update_id = t.u AND "
                    "v.revision_number = t.r)",
                    update_ids, revisions);
}

PGresult *catalog_bundle_title(PGconn *conn, const char *update_id, const char *revision)
{
    return db_exec2(conn,
                    "SELECT v.title FROM revision_bundle b JOIN revision v ON v.id = b.revision_id "
                    "WHERE b.member_update_id = $1::uuid AND b.member_revision_number = $2::int "
                    "LIMIT 1",
                    update_id, revision);
}

PGresult *catalog_bundle_members_absent(PGconn *conn)
{
    return db_exec(conn,
                   "SELECT DISTINCT b.member_update_id::text, b.member_revision_number "
                   "FROM revision_bundle b WHERE NOT EXISTS (SELECT 1 FROM revision v "
                   "WHERE v.update_id = b.member_update_id AND v.revision_number = "
                   "b.member_revision_number) LIMIT 100000",
                   0, NULL);
}
