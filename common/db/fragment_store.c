/*
 * fragment_store: derive and keep the MS-WUSP fragments of stored revisions (see
 * fragment_store.h). Rows go in as two JSON arrays per batch, so one statement stores a whole
 * batch: the state rows first (ON CONFLICT DO NOTHING, which is what makes a revision derived
 * once even with concurrent callers; only for revision rows it locks FOR KEY SHARE, the check
 * that schema 015 took off the table), then the fragments of exactly the revisions whose state
 * row this statement inserted. fragment_store_add_new COPYs both for revisions its own
 * transaction inserted, which need neither check.
 */
#include "fragment_store.h"

#include "buf.h"
#include "db.h"
#include "log.h"
#include "pgcopy.h"
#include "strutil.h"
#include "utf16.h"
#include "xmalloc.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch is flushed at this much fragment text or this many revisions. */
#define BATCH_BYTES     (8u * 1024 * 1024)
#define BATCH_REVISIONS 500
/* Revisions read per query by fragment_store_missing. */
#define MISSING_CHUNK 200
#define STR_(x)       #x
#define STR_OF(x)     STR_(x)

static const char store_sql[] =
    "WITH s AS (INSERT INTO revision_fragment_state (revision_id, error)"
    " SELECT x.revision_id, x.error"
    " FROM json_to_recordset($1::json) AS x(revision_id bigint, error text)"
    " WHERE EXISTS (SELECT 1 FROM revision r WHERE r.id = x.revision_id FOR KEY SHARE)"
    " ON CONFLICT (revision_id) DO NOTHING RETURNING revision_id, error),"
    " f AS (INSERT INTO revision_fragment (revision_id, kind, language, xml)"
    " SELECT y.revision_id, y.kind, y.language, y.xml"
    " FROM json_to_recordset($2::json) AS y(revision_id bigint, kind text, language text,"
    " xml text) JOIN s USING (revision_id) RETURNING 1)"
    " SELECT (SELECT count(*) FROM s WHERE error IS NULL),"
    " (SELECT count(*) FROM s WHERE error IS NOT NULL), (SELECT count(*) FROM f)";

static const char *const kind_name[] = {"core", "extended", "localized"};

struct batch {
    json_t *states;    /* [{revision_id, error}] */
    json_t *fragments; /* [{revision_id, kind, language, xml}] */
    size_t revisions;
    size_t bytes;
};

static void batch_init(struct batch *b)
{
    b->states = json_array();
    b->fragments = json_array();
    b->revisions = 0;
    b->bytes = 0;
    if (b->states == NULL || b->fragments == NULL)
        fatalx("out of memory");
}

static void batch_free(struct batch *b)
{
    json_decref(b->states);
    json_decref(b->fragments);
    b->states = b->fragments = NULL;
}

/* Append one fragment to the local array a; -1 when jansson refuses the text. */
static int add_fragment(json_t *a, int64_t id, const char *kind, const char *language,
                        const char *xml, size_t len)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s%}", "revision_id", (json_int_t)id, "kind", kind,
                          "language", language, "xml", xml, len);

    if (o == NULL)
        return -1;
    return json_array_append_new(a, o);
}

static void add_state(struct batch *b, int64_t id, const char *error)
{
    json_t *o = json_pack("{s:I,s:s?}", "revision_id", (json_int_t)id, "error", error);

    if (o == NULL || json_array_append_new(b->states, o) < 0)
        fatalx("out of memory");
    b->revisions++;
}

static void derive_one(struct batch *b, const struct fragment_source *src)
{
    struct fragment_set s;
    json_t *frags = json_array();
    char err[512];
    size_t i, bytes;
    int bad = 0;

    if (frags == NULL)
        fatalx("out of memory");
    fragment_set_init(&s);
    if (fragment_derive(&s, src->xml, src->len, err, sizeof(err)) == 0) {
        bytes = s.core_len + s.extended_len;
        bad |= add_fragment(frags, src->revision_id, "core", "", s.core, s.core_len);
        bad |= add_fragment(frags, src->revision_id, "extended", "", s.extended, s.extended_len);
        for (i = 0; i < s.n_localized; i++) {
            bad |= add_fragment(frags, src->revision_id, "localized", s.localized[i].language,
                                s.localized[i].xml, s.localized[i].len);
            bytes += s.localized[i].len;
        }
        /* json_pack refuses text that is not UTF-8 (json_array_extend cannot fail here) */
        if (bad == 0 && json_array_extend(b->fragments, frags) == 0) {
            add_state(b, src->revision_id, NULL);
            b->bytes += bytes;
            goto out;
        }
        snprintf(err, sizeof(err), "a fragment is not valid UTF-8");
    }
    log_warnx("cannot derive the client fragments of update %s revision %d: %s",
              src->update_id != NULL ? src->update_id : "?", src->revision_number, err);
    add_state(b, src->revision_id, err);
out:
    fragment_set_free(&s);
    json_decref(frags);
}

static int batch_flush(PGconn *conn, struct batch *b, struct fragment_store_stats *st, char *err,
                       size_t errlen)
{
    char *states = NULL, *fragments = NULL;
    const char *params[2];
    PGresult *r = NULL;
    long derived = 0, failed = 0;
    int rc = -1;

    if (b->revisions == 0)
        return 0;
    states = json_dumps(b->states, JSON_COMPACT);
    fragments = json_dumps(b->fragments, JSON_COMPACT);
    if (states == NULL || fragments == NULL)
        fatalx("out of memory");
    params[0] = states;
    params[1] = fragments;
    r = PQexecParams(conn, store_sql, 2, NULL, params, NULL, NULL, 0);
    if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_errmsg(conn, err, errlen);
        goto out;
    }
    if (str_to_long(PQgetvalue(r, 0, 0), 0, LONG_MAX, &derived) < 0 ||
        str_to_long(PQgetvalue(r, 0, 1), 0, LONG_MAX, &failed) < 0) {
        snprintf(err, errlen, "unexpected answer from the fragment insert");
        goto out;
    }
    if (st != NULL) {
        st->derived += derived;
        st->failed += failed;
        st->present += (long)b->revisions - derived - failed;
    }
    rc = 0;
out:
    PQclear(r);
    free(states);
    free(fragments);
    batch_free(b);
    batch_init(b);
    return rc;
}

int fragment_store_add(PGconn *conn, const struct fragment_source *src, size_t n,
                       struct fragment_store_stats *st, char *err, size_t errlen)
{
    struct batch b;
    size_t i;
    int rc = -1;

    batch_init(&b);
    for (i = 0; i < n; i++) {
        derive_one(&b, &src[i]);
        if ((b.bytes >= BATCH_BYTES || b.revisions >= BATCH_REVISIONS) &&
            batch_flush(conn, &b, st, err, errlen) < 0)
            goto out;
    }
    if (batch_flush(conn, &b, st, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    batch_free(&b);
    return rc;
}

/* A fragment COPY can store: valid UTF-8 without NUL (what the JSON path checks too). */
static int storable(const char *s, size_t len)
{
    return memchr(s, '\0', len) == NULL && utf8_utf16_units(s, len) >= 0;
}

static int set_storable(const struct fragment_set *s)
{
    size_t i;

    if (!storable(s->core, s->core_len) || !storable(s->extended, s->extended_len))
        return 0;
    for (i = 0; i < s->n_localized; i++)
        if (!storable(s->localized[i].xml, s->localized[i].len))
            return 0;
    return 1;
}

static void copy_fragment(struct pgcopy *c, int64_t id, const char *kind, const char *language,
                          const char *xml, size_t len)
{
    pgcopy_fmt(c, 1, "%lld", (long long)id);
    pgcopy_str(c, kind, 0);
    pgcopy_str(c, language, 0);
    pgcopy_text(c, xml, len, 0);
    pgcopy_end_row(c);
}

/* COPY the state rows then the fragments of sets[0..n) (ok[i]: derived, else err[i]). */
static int copy_batch(PGconn *conn, const struct fragment_source *src,
                      const struct fragment_set *sets, char (*errs)[256], const unsigned char *ok,
                      size_t n, char *err, size_t errlen)
{
    struct pgcopy c;
    size_t i, j;

    if (pgcopy_begin(&c, conn, "COPY revision_fragment_state (revision_id, error) FROM STDIN", err,
                     errlen) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        pgcopy_fmt(&c, 1, "%lld", (long long)src[i].revision_id);
        pgcopy_str(&c, ok[i] ? NULL : errs[i], 0);
        pgcopy_end_row(&c);
    }
    if (pgcopy_finish(&c, err, errlen) < 0)
        return -1;
    if (pgcopy_begin(&c, conn,
                     "COPY revision_fragment (revision_id, kind, language, xml) FROM STDIN", err,
                     errlen) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        copy_fragment(&c, src[i].revision_id, "core", "", sets[i].core, sets[i].core_len);
        copy_fragment(&c, src[i].revision_id, "extended", "", sets[i].extended,
                      sets[i].extended_len);
        for (j = 0; j < sets[i].n_localized; j++)
            copy_fragment(&c, src[i].revision_id, "localized", sets[i].localized[j].language,
                          sets[i].localized[j].xml, sets[i].localized[j].len);
    }
    return pgcopy_finish(&c, err, errlen);
}

int fragment_store_add_new(PGconn *conn, const struct fragment_source *src, size_t n,
                           struct fragment_store_stats *st, char *err, size_t errlen)
{
    struct fragment_set *sets;
    char(*errs)[256];
    unsigned char *ok;
    size_t done = 0, i, k, bytes;
    long derived = 0, failed = 0;
    int rc = 0;

    if (n == 0)
        return 0;
    k = n < BATCH_REVISIONS ? n : BATCH_REVISIONS;
    sets = xcalloc(k, sizeof(*sets));
    errs = xcalloc(k, sizeof(*errs));
    ok = xcalloc(k, 1);
    while (rc == 0 && done < n) {
        size_t m = 0;

        for (bytes = 0; done + m < n && m < k && bytes < BATCH_BYTES; m++) {
            const struct fragment_source *s = &src[done + m];

            fragment_set_init(&sets[m]);
            if (s->set != NULL) {
                sets[m] = *s->set; /* borrowed: not freed below */
                ok[m] = 1;
            } else {
                ok[m] = fragment_derive(&sets[m], s->xml, s->len, errs[m], sizeof(errs[m])) == 0;
            }
            if (ok[m] && !set_storable(&sets[m])) {
                if (s->set == NULL)
                    fragment_set_free(&sets[m]);
                fragment_set_init(&sets[m]);
                snprintf(errs[m], sizeof(errs[m]), "a fragment is not valid UTF-8");
                ok[m] = 0;
            }
            if (!ok[m]) {
                log_warnx("cannot derive the client fragments of update %s revision %d: %s",
                          s->update_id != NULL ? s->update_id : "?", s->revision_number, errs[m]);
                failed++;
                continue;
            }
            derived++;
            bytes += sets[m].core_len + sets[m].extended_len;
            for (i = 0; i < sets[m].n_localized; i++)
                bytes += sets[m].localized[i].len;
        }
        rc = copy_batch(conn, &src[done], sets, errs, ok, m, err, errlen);
        for (i = 0; i < m; i++)
            if (src[done + i].set == NULL)
                fragment_set_free(&sets[i]);
        done += m;
    }
    if (rc == 0 && st != NULL) {
        st->derived += derived;
        st->failed += failed;
    }
    free(sets);
    free(errs);
    free(ok);
    return rc;
}

int fragment_store_missing(PGconn *conn, struct fragment_store_stats *st, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT r.id, r.xml, r.update_id, r.revision_number FROM revision r"
        " WHERE r.id > $1 AND NOT EXISTS"
        " (SELECT 1 FROM revision_fragment_state s WHERE s.revision_id = r.id)"
        " ORDER BY r.id LIMIT " STR_OF(MISSING_CHUNK);
    struct fragment_source src[MISSING_CHUNK];
    char after[DB_PARAM_INT_LEN] = "0";
    const char *params[1] = {after};

    for (;;) {
        PGresult *r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
        int i, rows;

        if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
            db_errmsg(conn, err, errlen);
            PQclear(r);
            return -1;
        }
        rows = PQntuples(r);
        for (i = 0; i < rows; i++) {
            int64_t id = 0;
            long rn = 0;
            if (str_to_int64(PQgetvalue(r, i, 0), 1, INT64_MAX, &id) < 0 ||
                str_to_long(PQgetvalue(r, i, 3), LONG_MIN, LONG_MAX, &rn) < 0) {
                snprintf(err, errlen, "unexpected answer from the revision query");
                PQclear(r);
                return -1;
            }
            src[i].revision_id = id;
            src[i].xml = PQgetvalue(r, i, 1);
            src[i].len = (size_t)PQgetlength(r, i, 1);
            src[i].update_id = PQgetvalue(r, i, 2);
            src[i].revision_number = (int)rn;
        }
        if (rows == 0) {
            PQclear(r);
            return 0;
        }
        db_param_int(after, src[rows - 1].revision_id);
        if (fragment_store_add(conn, src, (size_t)rows, st, err, errlen) < 0) {
            PQclear(r);
            return -1;
        }
        PQclear(r);
    }
}

int fragment_store_get(PGconn *conn, int64_t revision_id, enum fragment_store_kind kind,
                       const char *language, char **xml, size_t *len,
                       char used[FRAGMENT_MAX_LANG_LEN + 1])
{
    char id[DB_PARAM_INT_LEN];
    const char *params[3] = {id, kind_name[kind], language != NULL ? language : ""};
    const char *names[2];
    PGresult *r;
    int rows, i, k, rc = -1;

    *xml = NULL;
    if (used != NULL)
        used[0] = '\0';
    if ((unsigned)kind > FRAGMENT_STORE_LOCALIZED)
        return -1;
    db_param_int(id, revision_id);
    r = db_exec(conn,
                "SELECT language, xml FROM revision_fragment WHERE revision_id = $1 AND kind = $2"
                " AND (kind <> 'localized' OR language IN (lower($3), '" FRAGMENT_FALLBACK_LANGUAGE
                "')) ORDER BY language",
                3, params);
    if (r == NULL)
        return -1;
    rows = PQntuples(r);
    if (rows > 2) {
        log_warnx("fragment_store: %d %s fragments for revision %lld", rows, kind_name[kind],
                  (long long)revision_id);
        goto out;
    }
    for (i = 0; i < rows; i++)
        names[i] = PQgetvalue(r, i, 0);
    k = kind == FRAGMENT_STORE_LOCALIZED ? fragment_pick_language(names, (size_t)rows, language)
                                         : (rows == 1 ? 0 : -1);
    rc = 0;
    if (k < 0)
        goto out;
    {
        size_t l = (size_t)PQgetlength(r, k, 1);
        *xml = xmalloc(l + 1);
        memcpy(*xml, PQgetvalue(r, k, 1), l);
        (*xml)[l] = '\0';
        if (len != NULL)
            *len = l;
        if (used != NULL)
            str_copy_cut(used, FRAGMENT_MAX_LANG_LEN + 1, names[k]);
    }
    rc = 1;
out:
    PQclear(r);
    return rc;
}

/* "{a,b,c}" from n ids: a PostgreSQL array literal of numbers. */
static void ids_literal(struct buf *b, const int64_t *ids, size_t n)
{
    size_t i;

    buf_add_str(b, "{");
    for (i = 0; i < n; i++)
        buf_printf(b, "%s%lld", i > 0 ? "," : "", (long long)ids[i]);
    buf_add_str(b, "}");
}

/* "{en,...}": the fallback and the usable requested names, lower case. */
static void languages_literal(struct buf *b, const char *const *languages, size_t n)
{
    size_t i, j;

    buf_add_str(b, "{" FRAGMENT_FALLBACK_LANGUAGE);
    for (i = 0; i < n; i++) {
        if (languages[i] == NULL || !fragment_language_ok(languages[i]))
            continue;
        buf_add_str(b, ",");
        for (j = 0; languages[i][j] != '\0'; j++) {
            char c = languages[i][j];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            buf_add(b, &c, 1);
        }
    }
    buf_add_str(b, "}");
}

int fragment_store_fetch(PGconn *conn, const int64_t *ids, size_t n, enum fragment_store_kind kind,
                         const char *const *languages, size_t n_lang,
                         int (*cb)(void *arg, int64_t revision_id, const char *language,
                                   const char *xml, size_t len),
                         void *arg, char *err, size_t errlen)
{
    static const char sql[] = "SELECT revision_id, language, xml FROM revision_fragment"
                              " WHERE revision_id = ANY($1::bigint[]) AND kind = $2"
                              " AND (kind <> 'localized' OR language = ANY($3::text[]))"
                              " ORDER BY revision_id, language";
    struct buf idl, langl;
    const char *params[3];
    PGresult *r;
    int rc = 0, stopped = 0;

    if (n > FRAGMENT_STORE_MAX_IDS || n_lang > FRAGMENT_STORE_MAX_LANGUAGES ||
        (unsigned)kind > FRAGMENT_STORE_LOCALIZED) {
        snprintf(err, errlen, "fragment request too large (%zu revisions, %zu languages)", n,
                 n_lang);
        return -1;
    }
    if (n == 0)
        return 0;
    /* 20 digits and a comma per id; FRAGMENT_MAX_LANG_LEN and a comma per language */
    buf_init(&idl, 32 + n * 21);
    buf_init(&langl, 32 + (n_lang + 1) * (FRAGMENT_MAX_LANG_LEN + 1));
    ids_literal(&idl, ids, n);
    languages_literal(&langl, languages, n_lang);
    params[0] = buf_str(&idl);
    params[1] = kind_name[kind];
    params[2] = buf_str(&langl);
    if (!PQsendQueryParams(conn, sql, 3, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(conn)) {
        db_errmsg(conn, err, errlen);
        rc = -1;
        goto out;
    }
    while ((r = PQgetResult(conn)) != NULL) {
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_SINGLE_TUPLE && !stopped) {
            int64_t id = 0;
            if (str_to_int64(PQgetvalue(r, 0, 0), 1, INT64_MAX, &id) < 0) {
                snprintf(err, errlen, "unexpected answer from the fragment query");
                stopped = 1;
                rc = -1;
            } else if (cb(arg, id, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                          (size_t)PQgetlength(r, 0, 2)) < 0) {
                stopped = 1;
                rc = -1;
            }
        } else if (s != PGRES_SINGLE_TUPLE && s != PGRES_TUPLES_OK && !stopped) {
            db_errmsg(conn, err, errlen);
            stopped = 1;
            rc = -1;
        }
        PQclear(r);
    }
out:
    buf_free(&idl);
    buf_free(&langl);
    return rc;
}

int fragment_store_eula(PGconn *conn, const int64_t *ids, size_t n, const char *const *languages,
                        size_t n_lang, const char *geo_id,
                        int (*cb)(void *arg, int64_t revision_id, const char *language,
                                  const char *xml, size_t len),
                        void *arg, char *err, size_t errlen)
{
    static const char sql[] = "SELECT id, xml FROM revision WHERE id = ANY($1::bigint[])"
                              " AND strpos(xml, 'EulaFile') > 0 AND octet_length(xml) <= $2"
                              " ORDER BY id";
    char maxb[DB_PARAM_INT_LEN];
    const char *params[2] = {NULL, maxb};
    size_t used = 0, *pick = NULL;
    struct buf idl;
    PGresult *r;
    int i, rc = 0;

    if (n > FRAGMENT_STORE_EULA_MAX_IDS || n_lang > FRAGMENT_STORE_MAX_LANGUAGES) {
        snprintf(err, errlen, "EULA request too large (%zu revisions, %zu languages)", n, n_lang);
        return -1;
    }
    if (n == 0)
        return 0;
    buf_init(&idl, 32 + n * 21);
    ids_literal(&idl, ids, n);
    params[0] = buf_str(&idl);
    db_param_int(maxb, FRAGMENT_MAX_INPUT);
    r = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
    buf_free(&idl);
    if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_errmsg(conn, err, errlen);
        PQclear(r);
        return -1;
    }
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct fragment_set s;
        int64_t id = 0;
        size_t len = (size_t)PQgetlength(r, i, 1), k, np;
        char derr[256];

        if (str_to_int64(PQgetvalue(r, i, 0), 1, INT64_MAX, &id) < 0)
            continue;
        if (used + len > FRAGMENT_STORE_EULA_MAX_BYTES) {
            log_warnx("EULA fragments of revision %lld not sent: over %u document bytes in "
                      "one request",
                      (long long)id, FRAGMENT_STORE_EULA_MAX_BYTES);
            continue;
        }
        used += len;
        fragment_set_init(&s);
        if (fragment_derive(&s, PQgetvalue(r, i, 1), len, derr, sizeof(derr)) < 0)
            continue;
        pick = xreallocarray(pick, s.n_eula + 1, sizeof(*pick));
        np = fragment_set_eula(&s, languages, n_lang, geo_id, pick);
        for (k = 0; k < np && rc == 0; k++)
            rc = cb(arg, id, s.eula[pick[k]].language, s.eula[pick[k]].xml, s.eula[pick[k]].len);
        fragment_set_free(&s);
    }
    free(pick);
    PQclear(r);
    return rc;
}
