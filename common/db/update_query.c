/*
 * update_query: finding updates in the catalog (see update_query.h). Every statement here is
 * parameterized; names and search words never become SQL text. Categories are matched on the
 * latest revision's title; an update's size counts each file once even when several bundled
 * updates share it.
 */
#include "update_query.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of the files of the revision aliased l and of its bundled revisions, each file once. */
#define UPDATE_SIZE_OF_L                                                                           \
    "(SELECT coalesce(sum(f.size), 0) FROM file f WHERE f.sha1 IN ("                               \
    "   SELECT rf.sha1 FROM revision_file rf WHERE rf.revision_id = l.id "                         \
    "   UNION SELECT rf.sha1 FROM revision_bundle b "                                              \
    "   JOIN revision m ON m.update_id = b.member_update_id "                                      \
    "    AND m.revision_number = b.member_revision_number "                                        \
    "   JOIN revision_file rf ON rf.revision_id = m.id WHERE b.revision_id = l.id))"

/* Names of the categories of kind $kind a revision (alias l) belongs to. */
#define CATEGORY_NAMES(kind)                                                                       \
    "(SELECT string_agg(DISTINCT c.title, ', ') FROM revision_prerequisite p "                     \
    "  JOIN revision c ON c.update_id = p.update_id AND c.update_type = 'Category' "               \
    "   AND c.category_type IN (" kind ") "                                                        \
    " WHERE p.revision_id = l.id AND p.is_category)"

/* The latest revision of every update with the columns the list filters and sorts on:
   revision_latest (kept by triggers, schema/014), narrow, instead of the revision heap */
#define LIST_FROM                                                                                  \
    "WITH sel AS MATERIALIZED (SELECT l.revision_id AS id, l.update_id, l.revision_number, "       \
    "  l.update_type, l.category_type, l.title, l.kb_article_id, l.creation_date "                 \
    "  FROM revision_latest l WHERE l.update_type = ANY($1::text[])"

/* The tri-state tests, on an update id (alias l) */
#define IS_APPROVED                                                                                \
    "EXISTS (SELECT 1 FROM deployment d WHERE d.update_id = l.update_id "                          \
    " AND NOT d.dead AND d.action <> 2)"
#define IS_DECLINED "EXISTS (SELECT 1 FROM declined_update y WHERE y.update_id = l.update_id)"
/* superseded: a latest revision names it (revision_supersedes_target, revision_latest's
   unique revision_id) */
#define IS_SUPERSEDED                                                                              \
    "EXISTS (SELECT 1 FROM revision_supersedes s JOIN revision_latest n "                          \
    " ON n.revision_id = s.revision_id WHERE s.superseded_update_id = l.update_id)"

/* The page (computed before its costly columns: categories, size, the tri-states), then the
   total: a count over the materialized selection, not a window over it. */
static const char list_tail[] =
    "), page AS (SELECT * FROM sel ORDER BY creation_date DESC NULLS LAST, title, update_id "
    "  LIMIT $2::bigint OFFSET $3::bigint) "
    "SELECT l.update_id::text, l.revision_number, l.update_type, l.category_type, "
    "  l.title, l.kb_article_id, " CATEGORY_NAMES("'UpdateClassification'") ", " CATEGORY_NAMES(
        "'Product', 'ProductFamily'") ", " IS_APPROVED ", " IS_DECLINED ", l.creation_date, "
                                      "  (SELECT count(*) FROM sel), " UPDATE_SIZE_OF_L
                                      ", " IS_SUPERSEDED " FROM page l "
                                      "ORDER BY l.creation_date DESC NULLS LAST, l.title, "
                                      "l.update_id";

/* The SQL of a list being built: fixed fragments only, values as parameters. */
struct list_q {
    struct buf sql;
    const char *p[10];
    int n;
};

/* Append fragment pre, a new parameter of value v (as $N::type), then post. */
static void list_param(struct list_q *q, const char *pre, const char *v, const char *type,
                       const char *post)
{
    q->p[q->n++] = v;
    buf_printf(&q->sql, "%s$%d::%s%s", pre, q->n, type, post);
}

/* A tri-state filter: test when v > 0, NOT test when v < 0, nothing when 0. */
static void list_tristate(struct list_q *q, int v, const char *test)
{
    if (v != 0)
        buf_printf(&q->sql, " AND %s%s", v > 0 ? "" : "NOT ", test);
}

PGresult *update_query_list(PGconn *db, const struct update_filter *f)
{
    char limit[DB_PARAM_INT_LEN], offset[DB_PARAM_INT_LEN];
    struct list_q q = {.n = 3};
    PGresult *r = NULL;

    db_param_int(limit, f->limit);
    db_param_int(offset, f->offset > 0 ? f->offset : 0);
    q.p[0] = f->types != NULL ? f->types : "{Software,Driver}";
    q.p[1] = limit;
    q.p[2] = offset;
    buf_init(&q.sql, 16384);
    buf_add_str(&q.sql, LIST_FROM);
    if (!f->hidden)
        buf_add_str(&q.sql, " AND (l.explicitly_deployable OR l.update_type = 'Category' "
                            "  OR l.update_type = 'Detectoid' OR NOT EXISTS (SELECT 1 FROM "
                            "  revision_bundle b WHERE b.member_update_id = l.update_id))");
    if (f->product != NULL)
        list_param(&q,
                   " AND EXISTS (SELECT 1 FROM revision_prerequisite p "
                   "  WHERE p.revision_id = l.revision_id AND p.is_category AND p.update_id = ",
                   f->product, "uuid", ")");
    if (f->classification != NULL)
        list_param(&q,
                   " AND EXISTS (SELECT 1 FROM revision_prerequisite p "
                   "  WHERE p.revision_id = l.revision_id AND p.is_category AND p.update_id = ",
                   f->classification, "uuid", ")");
    /* the id and KB tests fold into constants; the words are split once (an InitPlan), not
       per row */
    if (f->search != NULL && f->search[strspn(f->search, " \t")] != '\0') {
        list_param(&q,
                   " AND (l.update_id = (SELECT CASE WHEN t ~ "
                   "  '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "
                   "  THEN t::uuid END FROM (SELECT lower(",
                   f->search, "text", ")) a(t))");
        list_param(&q, " OR l.kb_article_id = ", f->search, "text", "");
        list_param(&q,
                   " OR l.kb_article_id = (SELECT CASE WHEN t LIKE 'kb%' THEN substr(t, 3) END "
                   "  FROM (SELECT lower(",
                   f->search, "text", ")) a(t))");
        list_param(&q,
                   " OR lower(l.title) LIKE ALL (ARRAY(SELECT '%' || replace(replace(replace("
                   "  w, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' "
                   "  FROM regexp_split_to_table(lower(btrim(",
                   f->search, "text", ")), '\\s+') w)))");
    }
    list_tristate(&q, f->approved, IS_APPROVED);
    list_tristate(&q, f->declined, IS_DECLINED);
    list_tristate(&q, f->superseded, IS_SUPERSEDED);
    buf_add_str(&q.sql, list_tail);
    /* JIT compiling took longer than running the plan (0.4 s at 144k revisions) */
    if (buf_failed(&q.sql))
        log_warnx("update list: the query does not fit");
    else if (db_cmd(db, "SET jit = off", 0, NULL) == 0)
        r = db_exec(db, buf_str(&q.sql), q.n, q.p);
    buf_free(&q.sql);
    return r;
}

PGresult *update_query_counts(PGconn *db)
{
    return db_exec(db, "SELECT count(*), count(DISTINCT update_id) FROM revision", 0, NULL);
}

int update_query_size(PGconn *db, const char *update_id, long long *size)
{
    const char *p[1] = {update_id};
    PGresult *r =
        db_exec(db,
                "SELECT " UPDATE_SIZE_OF_L " FROM revision l WHERE l.update_id = $1::uuid "
                "ORDER BY l.revision_number DESC LIMIT 1",
                1, p);

    if (r == NULL)
        return -1;
    *size = PQntuples(r) > 0 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

/*
 * Set-based, over revision_latest (schema 014): the files of every latest revision that can be
 * approved on its own, its own and its bundled updates' (UPDATE_SIZE_OF_L's measure, a file
 * counted once per update), summed in one pass instead of two subqueries per update.
 */
PGresult *update_query_largest(PGconn *db, int n)
{
    char lim[DB_PARAM_INT_LEN];
    const char *p[1] = {lim};

    db_param_int(lim, n);
    return db_exec(
        db,
        "WITH l AS (SELECT revision_id AS id, update_id, title FROM revision_latest x WHERE"
        " update_type IN ('Software', 'Driver') AND (explicitly_deployable OR NOT EXISTS (SELECT"
        " 1 FROM revision_bundle b WHERE b.member_update_id = x.update_id))),"
        " holds AS (SELECT l.id AS lid, rf.sha1 FROM l JOIN revision_file rf ON rf.revision_id ="
        " l.id UNION SELECT l.id, rf.sha1 FROM l JOIN revision_bundle b ON b.revision_id = l.id"
        " JOIN revision m ON m.update_id = b.member_update_id AND m.revision_number ="
        " b.member_revision_number JOIN revision_file rf ON rf.revision_id = m.id),"
        " sz AS (SELECT h.lid, coalesce(sum(f.size), 0) AS size, coalesce(sum(f.size) FILTER"
        " (WHERE f.state = 'present'), 0) AS stored FROM holds h JOIN file f USING (sha1) GROUP"
        " BY h.lid)"
        " SELECT l.update_id::text, l.title, sz.size, sz.stored FROM l JOIN sz ON sz.lid = l.id"
        " WHERE sz.size > 0 ORDER BY sz.size DESC, l.title, l.update_id LIMIT $1::int",
        1, p);
}

/* Append "TITLE (GUID)" of every row of r to out, ", "-separated, as far as it fits. */
static void category_candidates(PGresult *r, char *out, size_t outlen)
{
    size_t used = 0;
    int i, w;

    out[0] = '\0';
    for (i = 0; i < PQntuples(r); i++) {
        w = snprintf(out + used, outlen - used, "%s\"%s\" (%s)", i > 0 ? ", " : "",
                     PQgetvalue(r, i, 1), PQgetvalue(r, i, 0));
        if (w < 0 || (size_t)w >= outlen - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
}

int update_query_category(PGconn *db, const char *kind, const char *name, char id[37], char *err,
                          size_t errlen)
{
    const char *kinds =
        strcmp(kind, "product") == 0 ? "{Product,ProductFamily}" : "{UpdateClassification}";
    const char *p[3] = {kinds, name, NULL};
    char canon[37], cands[640];
    PGresult *r;
    int rc = 1;

    if (str_guid_canon(name, canon) == 0)
        p[2] = canon;
    /* exact title or id first; when none, the titles that contain the text */
    /* titles compared with runs of white space as one space: the real catalog has titles
     * with line breaks and indentation inside */
    r = db_exec(db,
                "WITH c AS (SELECT DISTINCT ON (update_id) update_id, "
                "  btrim(regexp_replace(title, '\\s+', ' ', 'g')) AS title FROM revision "
                "  WHERE update_type = 'Category' AND category_type = ANY($1::text[]) "
                "  ORDER BY update_id, revision_number DESC), "
                "q AS (SELECT lower(btrim(regexp_replace($2, '\\s+', ' ', 'g'))) AS name), "
                "exact AS (SELECT c.* FROM c, q WHERE lower(c.title) = q.name "
                "  OR c.update_id = $3::uuid) "
                "SELECT update_id::text, title, true FROM exact "
                "UNION ALL (SELECT update_id::text, title, false FROM c, q "
                "  WHERE NOT EXISTS (SELECT 1 FROM exact) "
                "  AND strpos(lower(c.title), q.name) > 0 ORDER BY title LIMIT 10) "
                "ORDER BY 2, 1",
                3, p);
    if (r == NULL) {
        snprintf(err, errlen, "cannot read the catalog; see the log");
        return -1;
    }
    if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
        rc = str_copy(id, 37, PQgetvalue(r, 0, 0)) < 0 ? -1 : 0; /* a uuid's text: 36 bytes */
        if (rc < 0)
            snprintf(err, errlen, "the catalog returned an odd category id");
    } else if (PQntuples(r) == 0) {
        snprintf(err, errlen,
                 "no %s is named \"%s\"; wsusctl updates list --type category --search TEXT "
                 "lists them",
                 kind, name);
    } else {
        category_candidates(r, cands, sizeof(cands));
        if (strcmp(PQgetvalue(r, 0, 2), "t") == 0)
            snprintf(err, errlen, "several %ss are named \"%s\": %s; give the id", kind, name,
                     cands);
        else
            snprintf(err, errlen, "no %s is named \"%s\"; did you mean %s%s?", kind, name,
                     PQntuples(r) > 1 ? "one of " : "", cands);
    }
    PQclear(r);
    return rc;
}

PGresult *update_query_kb(PGconn *db, const char *text, int *not_kb)
{
    const char *p[1];
    const char *s = text;
    size_t n;

    *not_kb = 0;
    if (strncasecmp(s, "kb", 2) == 0)
        s += 2;
    n = strlen(s);
    if (n == 0 || n > 12 || strspn(s, "0123456789") != n) {
        *not_kb = 1;
        return NULL;
    }
    p[0] = s;
    return db_exec(db,
                   "WITH latest AS (SELECT DISTINCT ON (update_id) * FROM revision "
                   "  ORDER BY update_id, revision_number DESC) "
                   "SELECT l.update_id::text, l.title FROM latest l "
                   "WHERE l.kb_article_id = $1 AND l.update_type IN ('Software', 'Driver') "
                   "  AND (l.explicitly_deployable OR NOT EXISTS (SELECT 1 FROM revision_bundle b "
                   "       WHERE b.member_update_id = l.update_id)) "
                   "ORDER BY l.title, l.update_id",
                   1, p);
}

PGresult *update_query_revision(PGconn *db, const char *update_id, long revision)
{
    char rev[DB_PARAM_INT_LEN];
    const char *p[2] = {update_id, NULL};

    if (revision >= 0) {
        db_param_int(rev, revision);
        p[1] = rev;
    }
    return db_exec(db,
                   "SELECT revision_number, update_type, title, "
                   "  (SELECT string_agg(revision_number::text, ', ' ORDER BY revision_number) "
                   "   FROM revision WHERE update_id = $1::uuid), explicitly_deployable, "
                   "  (SELECT r2.update_id::text FROM revision_bundle b "
                   "   JOIN revision r2 ON r2.id = b.revision_id "
                   "   WHERE b.member_update_id = $1::uuid ORDER BY r2.revision_number DESC "
                   "   LIMIT 1) "
                   "FROM revision WHERE update_id = $1::uuid "
                   "ORDER BY (revision_number = $2::int) DESC NULLS LAST, revision_number DESC "
                   "LIMIT 1",
                   2, p);
}

PGresult *update_query_detail(PGconn *db, const char *uid)
{
    return db_exec1(db,
                    "SELECT l.id, l.update_id::text, l.revision_number, l.update_type, "
                    "  l.category_type, l.title, l.kb_article_id, l.security_bulletin_id, "
                    "  l.msrc_severity, l.publication_state, l.creation_date, "
                    "  l.explicitly_deployable, l.default_language, "
                    "  (SELECT description FROM revision_text t WHERE t.revision_id = l.id "
                    "    ORDER BY (t.language = 'en') DESC, t.language LIMIT 1), "
                    "  (SELECT string_agg(revision_number::text, ',' ORDER BY revision_number) "
                    "    FROM revision WHERE update_id = l.update_id), "
                    "  EXISTS (SELECT 1 FROM declined_update x WHERE x.update_id = l.update_id), "
                    "  l.change_seq "
                    "FROM revision l WHERE l.update_id = $1::uuid "
                    "ORDER BY l.revision_number DESC LIMIT 1",
                    uid);
}

PGresult *update_query_categories(PGconn *db, const char *revision_id)
{
    return db_exec1(db,
                    "SELECT p.update_id::text, c.category_type, c.title FROM revision_prerequisite "
                    "p LEFT JOIN LATERAL (SELECT category_type, title FROM revision "
                    "  WHERE update_id = p.update_id ORDER BY revision_number DESC LIMIT 1) c "
                    "  ON true WHERE p.revision_id = $1::bigint AND p.is_category "
                    " ORDER BY c.category_type, c.title",
                    revision_id);
}

PGresult *update_query_files(PGconn *db, const char *revision_id)
{
    return db_exec1(db,
                    "SELECT upper(encode(f.sha1, 'hex')), f.file_name, f.size, f.state, "
                    "  f.state_detail, f.mu_url FROM revision_file rf JOIN file f USING (sha1) "
                    "WHERE rf.revision_id = $1::bigint ORDER BY f.file_name",
                    revision_id);
}

PGresult *update_query_supersedes(PGconn *db, const char *revision_id)
{
    return db_exec1(db,
                    "SELECT s.superseded_update_id::text, "
                    "  (SELECT title FROM revision WHERE update_id = s.superseded_update_id "
                    "   ORDER BY revision_number DESC LIMIT 1) "
                    "FROM revision_supersedes s WHERE s.revision_id = $1::bigint ORDER BY 1",
                    revision_id);
}

PGresult *update_query_superseded_by(PGconn *db, const char *update_id)
{
    return db_exec1(db,
                    "SELECT DISTINCT l.update_id::text, l.title FROM revision_supersedes s "
                    "JOIN revision l ON l.id = s.revision_id "
                    "WHERE s.superseded_update_id = $1::uuid "
                    "  AND l.revision_number = (SELECT max(revision_number) FROM revision "
                    "    WHERE update_id = l.update_id) ORDER BY 1",
                    update_id);
}
