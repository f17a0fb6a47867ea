/*
 * catalog: batch write path and read helpers of the update catalog (see catalog.h).
 * COPY data is escaped here (text format: backslash, tab, newline, CR); everything else goes
 * through parameters. Staging tables are session-temporary and emptied at each batch.
 */
#include "catalog.h"

#include "buf.h"
#include "db.h"
#include "fragment_store.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (1024 * 1024)

static const char stage_sql[] =
    "SET LOCAL client_min_messages = warning;"
    "CREATE TEMP TABLE IF NOT EXISTS catalog_stage ("
    " seq integer, update_id uuid, revision_number integer, update_type text,"
    " category_type text, title text, default_language text, publication_state text,"
    " creation_date text, explicitly_deployable boolean, is_leaf boolean, kb_article_id text,"
    " security_bulletin_id text, msrc_severity text, handler text, xml text, xml_cab bytea);"
    "CREATE TEMP TABLE IF NOT EXISTS catalog_stage_file ("
    " sha1 bytea, sha256 bytea, size bigint, file_name text, mu_url text, patching_type text,"
    " modified text);"
    "TRUNCATE catalog_stage, catalog_stage_file";

static const char insert_sql[] =
    "WITH ins AS (INSERT INTO revision (update_id, revision_number, update_type, category_type,"
    " title, default_language, publication_state, creation_date, explicitly_deployable,"
    " is_leaf, kb_article_id, security_bulletin_id, msrc_severity, handler, xml, xml_cab)"
    " SELECT update_id, revision_number, update_type, category_type, title, default_language,"
    " publication_state, creation_date, explicitly_deployable, is_leaf, kb_article_id,"
    " security_bulletin_id, msrc_severity, handler, xml, xml_cab FROM catalog_stage ORDER BY seq"
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

/* A COPY in progress: rows are escaped into out and flushed in chunks. */
struct copy {
    PGconn *conn;
    struct buf out;
    int failed;
};

static void copy_flush(struct copy *c)
{
    if (c->out.len == 0 || c->failed)
        return;
    if (PQputCopyData(c->conn, c->out.data, (int)c->out.len) != 1)
        c->failed = 1;
    buf_reset(&c->out);
}

static void copy_sep(struct copy *c, int first)
{
    if (!first)
        buf_add(&c->out, "\t", 1);
}

static void copy_text(struct copy *c, const char *s, size_t len, int first)
{
    size_t i, start = 0;

    copy_sep(c, first);
    if (s == NULL) {
        buf_add(&c->out, "\\N", 2);
        return;
    }
    for (i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        buf_add(&c->out, s + start, i - start);
        buf_add(&c->out, esc, 2);
        start = i + 1;
    }
    buf_add(&c->out, s + start, len - start);
}

static void copy_str(struct copy *c, const char *s, int first)
{
    copy_text(c, s, s != NULL ? strlen(s) : 0, first);
}

static void copy_bytea(struct copy *c, const unsigned char *b, size_t len, int first)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    copy_sep(c, first);
    if (b == NULL) {
        buf_add(&c->out, "\\N", 2);
        return;
    }
    buf_add(&c->out, "\\\\x", 3);
    for (i = 0; i < len; i++) {
        char h[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        buf_add(&c->out, h, 2);
    }
}

static void copy_fmt(struct copy *c, int first, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void copy_fmt(struct copy *c, int first, const char *fmt, ...)
{
    va_list ap;

    copy_sep(c, first);
    va_start(ap, fmt);
    buf_vprintf(&c->out, fmt, ap);
    va_end(ap);
}

static void copy_end_row(struct copy *c)
{
    buf_add(&c->out, "\n", 1);
    if (c->out.len >= COPY_CHUNK)
        copy_flush(c);
}

static int copy_begin(struct copy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;

    PQclear(r);
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    buf_init(&c->out, (size_t)COPY_CHUNK * 64);
    if (!ok) {
        db_errmsg(conn, err, errlen);
        buf_free(&c->out);
        return -1;
    }
    return 0;
}

static int copy_finish(struct copy *c, char *err, size_t errlen)
{
    PGresult *r;
    int rc = 0;

    copy_flush(c);
    buf_free(&c->out);
    if (PQputCopyEnd(c->conn, c->failed ? "client failed" : NULL) != 1)
        rc = -1;
    while ((r = PQgetResult(c->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = -1;
        PQclear(r);
    }
    if (rc < 0 || c->failed) {
        db_errmsg(c->conn, err, errlen);
        return -1;
    }
    return 0;
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
    void (*row)(struct copy *c, long long rev_id, const struct update *u, size_t j);
};

static void row_text(struct copy *c, long long rev_id, const struct update *u, size_t j)
{
    copy_fmt(c, 1, "%lld", rev_id);
    copy_str(c, u->texts[j].language, 0);
    copy_str(c, u->texts[j].title, 0);
    copy_str(c, u->texts[j].description, 0);
}

static void row_prereq(struct copy *c, long long rev_id, const struct update *u, size_t j)
{
    copy_fmt(c, 1, "%lld", rev_id);
    copy_fmt(c, 0, "%d", u->prereqs[j].clause);
    copy_str(c, u->prereqs[j].update_id, 0);
    copy_str(c, u->prereqs[j].is_category ? "t" : "f", 0);
}

static void row_bundle(struct copy *c, long long rev_id, const struct update *u, size_t j)
{
    copy_fmt(c, 1, "%lld", rev_id);
    copy_fmt(c, 0, "%d", u->bundles[j].clause);
    copy_str(c, u->bundles[j].update_id, 0);
    copy_fmt(c, 0, "%d", u->bundles[j].revision_number);
}

static void row_supersedes(struct copy *c, long long rev_id, const struct update *u, size_t j)
{
    copy_fmt(c, 1, "%lld", rev_id);
    copy_str(c, u->supersedes[j], 0);
}

/* The file rows go through catalog_stage_file (file_sql merges them), without a revision id. */
static void row_stage_file(struct copy *c, long long rev_id, const struct update *u, size_t j)
{
    const struct update_file *f = &u->files[j];

    (void)rev_id;
    copy_bytea(c, f->sha1, 20, 1);
    copy_bytea(c, f->has_sha256 ? f->sha256 : NULL, 32, 0);
    if (f->size >= 0)
        copy_fmt(c, 0, "%lld", (long long)f->size);
    else
        copy_str(c, NULL, 0);
    copy_str(c, f->file_name, 0);
    copy_str(c, f->mu_url, 0);
    copy_str(c, f->patching_type, 0);
    copy_str(c, f->modified, 0);
}

static void row_revision_file(struct copy *c, long long rev_id, const struct update *u, size_t j)
{
    copy_fmt(c, 1, "%lld", rev_id);
    copy_bytea(c, u->files[j].sha1, 20, 0);
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
static long copy_lists(PGconn *conn, const struct copy_list *t, struct update *const *u, size_t n,
                       const long long *rev_id, char *err, size_t errlen)
{
    struct copy c;
    size_t i, j;
    long rows = 0;

    for (i = 0; i < n; i++)
        if (rev_id[i] != 0)
            rows += (long)copy_list_len(t, u[i]);
    if (rows == 0)
        return 0;
    if (copy_begin(&c, conn, t->sql, err, errlen) < 0)
        return -1;
    for (i = 0; i < n; i++)
        for (j = 0; rev_id[i] != 0 && j < copy_list_len(t, u[i]); j++) {
            t->row(&c, rev_id[i], u[i], j);
            copy_end_row(&c);
        }
    if (copy_finish(&c, err, errlen) < 0)
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
        k++;
    }
    rc = fragment_store_add(conn, src, k, NULL, err, errlen);
    free(src);
    return rc;
}

int catalog_store_tx(PGconn *conn, struct update *const *u, size_t n, struct catalog_stats *st,
                     char *err, size_t errlen)
{
    struct ident_ix *ix = NULL;
    unsigned char *skip = NULL;
    long long *rev_id = NULL;
    struct catalog_stats local;
    struct copy c;
    PGresult *r = NULL;
    size_t i, j, m = 0;
    long nf;
    int rc = -1, row;

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
    if (exec_ok(conn, stage_sql, err, errlen) < 0)
        goto out;
    if (copy_begin(&c, conn, "COPY catalog_stage FROM STDIN", err, errlen) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        const struct update *x = u[i];
        if (skip[i])
            continue;
        copy_fmt(&c, 1, "%zu", i);
        copy_str(&c, x->update_id, 0);
        copy_fmt(&c, 0, "%d", x->revision_number);
        copy_str(&c, x->update_type, 0);
        copy_str(&c, x->category_type, 0);
        copy_str(&c, x->title != NULL ? x->title : "", 0);
        copy_str(&c, x->default_language, 0);
        copy_str(&c, x->publication_state != NULL ? x->publication_state : "Published", 0);
        copy_str(&c, x->creation_date, 0);
        copy_str(&c, x->explicitly_deployable ? "t" : "f", 0);
        copy_str(&c, x->is_leaf ? "t" : "f", 0);
        copy_str(&c, x->kb_article_id, 0);
        copy_str(&c, x->security_bulletin_id, 0);
        copy_str(&c, x->msrc_severity, 0);
        copy_str(&c, x->handler, 0);
        copy_text(&c, x->xml, x->xml_len, 0);
        copy_bytea(&c, x->xml_cab, x->xml_cab_len, 0);
        copy_end_row(&c);
    }
    if (copy_finish(&c, err, errlen) < 0)
        goto out;
    if ((r = PQexec(conn, insert_sql)) == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_errmsg(conn, err, errlen);
        goto out;
    }
    for (row = 0; row < PQntuples(r); row++) {
        long seq;
        int64_t id;
        if (str_to_long(PQgetvalue(r, row, 0), 0, (long)n - 1, &seq) < 0 ||
            str_to_int64(PQgetvalue(r, row, 1), 1, INT64_MAX, &id) < 0) {
            snprintf(err, errlen, "unexpected answer from the catalog insert");
            goto out;
        }
        rev_id[seq] = id;
    }
    PQclear(r);
    r = NULL;
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
    if (st != NULL) {
        st->new_revisions += local.new_revisions;
        st->present_revisions += local.present_revisions;
        st->new_categories += local.new_categories;
        st->new_detectoids += local.new_detectoids;
        st->new_updates += local.new_updates;
        st->new_files += local.new_files;
    }
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
    if (st != NULL) {
        st->new_revisions += local.new_revisions;
        st->present_revisions += local.present_revisions;
        st->new_categories += local.new_categories;
        st->new_detectoids += local.new_detectoids;
        st->new_updates += local.new_updates;
        st->new_files += local.new_files;
    }
    return 0;
}

int catalog_get_xml(PGconn *conn, const char *update_id, int revision_number, char **xml,
                    size_t *len)
{
    char rev[16];
    const char *params[2] = {update_id, rev};
    PGresult *r;
    int rc;

    *xml = NULL;
    snprintf(rev, sizeof(rev), "%d", revision_number);
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

long catalog_count_revisions(PGconn *conn)
{
    PGresult *r = db_exec(conn, "SELECT count(*) FROM revision", 0, NULL);
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
            str_to_long(PQgetvalue(r, 0, 1), 0, 0x7fffffff, &rn);
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
