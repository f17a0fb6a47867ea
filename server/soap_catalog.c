/*
 * soap_catalog: serve-path SQL of the Server Sync web service (see soap_catalog.h).
 * Identity lists go to PostgreSQL as array parameters ('{...}' text built from parsed
 * GUIDs and booleans only), never as SQL text.
 */
#include "soap_catalog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "log.h"
#include "soap.h"
#include "strutil.h"
#include "xmalloc.h"

/* '{g1,g2}' and '{t,f}' array literals of an id/delta list. */
static void soapcat_id_arrays(const struct soap_id_delta *v, size_t n, struct buf *ids,
                              struct buf *deltas)
{
    size_t i;
    char g[37];

    buf_add_str(ids, "{");
    buf_add_str(deltas, "{");
    for (i = 0; i < n; i++) {
        str_guid_format(v[i].id, g);
        buf_printf(ids, "%s%s", i ? "," : "", g);
        buf_printf(deltas, "%s%s", i ? "," : "", v[i].delta ? "t" : "f");
    }
    buf_add_str(ids, "}");
    buf_add_str(deltas, "}");
}

/*
 * The Languages filter on a selected root revision r: language neutral ones always, a
 * language-specific one when one of its languages (schema 007) has an LCID the downstream
 * asked for. The parameter is an int[] of LCIDs, NULL when the filter named no language.
 */
#define SOAPCAT_LANG_OK(param)                                                                     \
    " AND (" param "::int[] IS NULL OR r.languages = '{}' OR EXISTS (SELECT 1"                     \
    "  FROM language g WHERE g.short_name = ANY(r.languages) AND g.lcid = ANY(" param "::int[])))"

/* LCIDs as an int[] literal into out ("{1031,1033}"), or NULL when there are none. */
static const char *soapcat_lcids(const long *v, size_t n, struct buf *out)
{
    size_t i;

    if (n == 0)
        return NULL;
    buf_add_str(out, "{");
    for (i = 0; i < n; i++)
        buf_printf(out, "%s%ld", i ? "," : "", v[i]);
    buf_add_str(out, "}");
    return buf_str(out);
}

/* Every Category and Detectoid revision held ($1 anchor, NULL = none: all of them). */
static const char soapcat_config_sql[] =
    "DECLARE revs NO SCROLL CURSOR FOR "
    "SELECT update_id::text, revision_number FROM revision"
    " WHERE update_type IN ('Category', 'Detectoid')"
    "  AND ($1::bigint IS NULL OR change_seq > $1::bigint) "
    "ORDER BY CASE update_type WHEN 'Category' THEN 0 ELSE 1 END,"
    "  CASE category_type WHEN 'Company' THEN 0 WHEN 'ProductFamily' THEN 1"
    "  WHEN 'Product' THEN 2 WHEN 'UpdateClassification' THEN 3 ELSE 4 END, update_id,"
    "  revision_number";

/*
 * Updates, no anchor: every Software/Driver revision whose own IsCategory prerequisites name
 * a listed category (or one below it) AND a listed classification, plus the exact bundled
 * revisions of each, recursively. $1 category ids, $2 classification ids, $3 true = no
 * filter (every update revision), $4 the Languages filter (SOAPCAT_LANG_OK).
 */
static const char soapcat_updates_sql[] =
    "DECLARE revs NO SCROLL CURSOR FOR "
    "WITH RECURSIVE "
    "cat_tree(id) AS ("
    "  SELECT unnest($1::uuid[])"
    "  UNION"
    "  SELECT r.update_id FROM cat_tree t"
    "  JOIN revision_prerequisite p ON p.update_id = t.id AND p.is_category"
    "  JOIN revision r ON r.id = p.revision_id AND r.update_type = 'Category'),"
    "roots AS ("
    "  SELECT r.id FROM revision r WHERE $3::boolean AND update_type IN ('Software', "
    "'Driver')" SOAPCAT_LANG_OK(
        "$4") "  UNION ALL"
              "  SELECT r.id FROM revision r WHERE NOT $3::boolean"
              "   AND r.update_type IN ('Software', 'Driver')"
              "   AND r.id IN (SELECT p.revision_id FROM revision_prerequisite p"
              "    JOIN cat_tree t ON t.id = p.update_id WHERE p.is_category)"
              "   AND r.id IN (SELECT p.revision_id FROM revision_prerequisite p"
              "    WHERE p.is_category AND p.update_id = ANY($2::uuid[]))" SOAPCAT_LANG_OK(
                  "$4") "),"
                        "closure(id) AS ("
                        "  SELECT id FROM roots"
                        "  UNION"
                        "  SELECT m.id FROM closure c"
                        "  JOIN revision_bundle b ON b.revision_id = c.id"
                        "  JOIN revision m ON m.update_id = b.member_update_id"
                        "   AND m.revision_number = b.member_revision_number) "
                        "SELECT r.update_id::text, r.revision_number FROM closure x JOIN revision "
                        "r ON r.id = x.id "
                        "ORDER BY r.is_leaf DESC, r.id";

/*
 * Updates after an anchor: the same selection, restricted to (a) everything reached from a
 * revision that matches through an id sent with Delta = false (the closure of those "forced"
 * roots), and (b) revisions changed after the anchor that are selected: the few changed rows
 * (change_seq index) are walked up through the bundles that contain them, and kept when they
 * or one of their bundles match the filter. Nothing is computed for the unchanged catalog, so
 * a no-change sync costs a few index probes whatever the catalog size.
 * $1 anchor, $2/$3 category ids/deltas, $4/$5 classification ids/deltas, $6 true = no filter,
 * $7 true = some id has Delta = false, $8 the Languages filter (SOAPCAT_LANG_OK).
 */
static const char soapcat_updates_delta_sql[] =
    "DECLARE revs NO SCROLL CURSOR FOR "
    "WITH RECURSIVE "
    "cat_tree(id, delta) AS ("
    "  SELECT t.id, t.delta FROM unnest($2::uuid[], $3::boolean[]) AS t(id, delta)"
    "  UNION"
    "  SELECT r.update_id, t.delta FROM cat_tree t"
    "  JOIN revision_prerequisite p ON p.update_id = t.id AND p.is_category"
    "  JOIN revision r ON r.id = p.revision_id AND r.update_type = 'Category'),"
    "cls_sel AS (SELECT * FROM unnest($4::uuid[], $5::boolean[]) AS t(id, delta)),"
    "forced_roots AS ("
    "  SELECT a.revision_id AS id FROM ("
    "    SELECT p.revision_id, bool_or(NOT t.delta) AS force FROM revision_prerequisite p"
    "    JOIN cat_tree t ON t.id = p.update_id WHERE $7::boolean AND p.is_category"
    "    GROUP BY p.revision_id) a"
    "  JOIN ("
    "    SELECT p.revision_id, bool_or(NOT t.delta) AS force FROM revision_prerequisite p"
    "    JOIN cls_sel t ON t.id = p.update_id WHERE $7::boolean AND p.is_category"
    "    GROUP BY p.revision_id) b ON b.revision_id = a.revision_id"
    "  JOIN revision r ON r.id = a.revision_id AND r.update_type IN ('Software', 'Driver')"
    "  WHERE (a.force OR b.force)" SOAPCAT_LANG_OK(
        "$8") "),"
              "forced(id) AS ("
              "  SELECT id FROM forced_roots"
              "  UNION"
              "  SELECT m.id FROM forced c"
              "  JOIN revision_bundle b ON b.revision_id = c.id"
              "  JOIN revision m ON m.update_id = b.member_update_id"
              "   AND m.revision_number = b.member_revision_number),"
              "up(start, id) AS ("
              "  SELECT id, id FROM revision WHERE change_seq > $1::bigint"
              "  UNION"
              "  SELECT u.start, b.revision_id FROM up u JOIN revision m ON m.id = u.id"
              "  JOIN revision_bundle b ON b.member_update_id = m.update_id"
              "   AND b.member_revision_number = m.revision_number),"
              "changed AS ("
              "  SELECT DISTINCT u.start AS id FROM up u JOIN revision r ON r.id = u.id"
              "  WHERE r.update_type IN ('Software', 'Driver') AND ($6::boolean OR ("
              "   EXISTS (SELECT 1 FROM revision_prerequisite p JOIN cat_tree t ON t.id = "
              "p.update_id"
              "    WHERE p.revision_id = r.id AND p.is_category)"
              "   AND EXISTS (SELECT 1 FROM revision_prerequisite p JOIN cls_sel t ON t.id = "
              "p.update_id"
              "    WHERE p.revision_id = r.id AND p.is_category)))" SOAPCAT_LANG_OK(
                  "$8") ") "
                        "SELECT r.update_id::text, r.revision_number FROM ("
                        "  SELECT id FROM forced UNION SELECT id FROM changed) x "
                        "JOIN revision r ON r.id = x.id "
                        "ORDER BY r.is_leaf DESC, r.id";

static int soapcat_begin(PGconn *db)
{
    return db_cmd_retry(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
}

int soapcat_open_revisions(PGconn *db, const struct soap_call *c)
{
    char anchor[32];
    const char *p[8];
    struct buf ci, cd, li, ld, lc;
    int rc = -1;

    snprintf(anchor, sizeof(anchor), "%lld", (long long)c->anchor);
    buf_init(&ci, 64 * 1024);
    buf_init(&cd, 16 * 1024);
    buf_init(&li, 64 * 1024);
    buf_init(&ld, 16 * 1024);
    buf_init(&lc, 16 * 1024);
    /* the recursive CTEs' row estimates are far too high: JIT would cost ~0.4 s per call */
    if (soapcat_begin(db) < 0 || db_cmd(db, "SET LOCAL jit = off", 0, NULL) < 0)
        goto out;
    if (c->get_config) {
        p[0] = c->has_anchor ? anchor : NULL;
        if (db_cmd(db, soapcat_config_sql, 1, p) < 0)
            goto out;
    } else {
        int nofilter = c->ncategories == 0 && c->nclassifications == 0;

        soapcat_id_arrays(c->categories, c->ncategories, &ci, &cd);
        soapcat_id_arrays(c->classifications, c->nclassifications, &li, &ld);
        if (c->has_anchor) {
            int forced = 0;
            size_t i;

            for (i = 0; i < c->ncategories; i++)
                forced |= !c->categories[i].delta;
            for (i = 0; i < c->nclassifications; i++)
                forced |= !c->classifications[i].delta;
            p[0] = anchor;
            p[1] = buf_str(&ci);
            p[2] = buf_str(&cd);
            p[3] = buf_str(&li);
            p[4] = buf_str(&ld);
            p[5] = nofilter ? "true" : "false";
            p[6] = forced && !nofilter ? "true" : "false";
            p[7] = soapcat_lcids(c->languages, c->nlanguages, &lc);
            if (db_cmd(db, soapcat_updates_delta_sql, 8, p) < 0)
                goto out;
        } else {
            p[0] = buf_str(&ci);
            p[1] = buf_str(&li);
            p[2] = nofilter ? "true" : "false";
            p[3] = soapcat_lcids(c->languages, c->nlanguages, &lc);
            if (db_cmd(db, soapcat_updates_sql, 4, p) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0)
        db_rollback(db);
    buf_free(&ci);
    buf_free(&cd);
    buf_free(&li);
    buf_free(&ld);
    buf_free(&lc);
    return rc;
}

int soapcat_row_identity(struct buf *out, const PGresult *res, int row)
{
    return buf_printf(out,
                      "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%s</RevisionNumber>"
                      "</UpdateIdentity>",
                      PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
}

int soapcat_open_deployments(PGconn *db, int has_dep_anchor, int64_t dep_anchor, int64_t sync_seq)
{
    char a[32], s[32];
    const char *p[2];

    snprintf(a, sizeof(a), "%lld", (long long)(has_dep_anchor ? dep_anchor : -1));
    snprintf(s, sizeof(s), "%lld", (long long)sync_seq);
    p[0] = a;
    p[1] = s;
    if (soapcat_begin(db) < 0)
        return -1;
    if (db_cmd(db,
               "DECLARE grp NO SCROLL CURSOR FOR SELECT id::text,"
               " coalesce(parent_id, '00000000-0000-0000-0000-000000000000')::text, name,"
               " is_builtin FROM target_group ORDER BY parent_id NULLS FIRST, name, id",
               0, NULL) < 0 ||
        db_cmd(db,
               "DECLARE dep NO SCROLL CURSOR FOR SELECT update_id::text, revision_number,"
               " action, admin_name,"
               " coalesce(to_char(deadline AT TIME ZONE 'UTC',"
               "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '9999-12-31T23:59:59.9999999'),"
               " is_assigned,"
               " to_char(go_live_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
               " deployment_guid::text, target_group_id::text,"
               " least(greatest(download_priority, 0), 255)"
               " FROM deployment WHERE NOT dead AND change_seq > $1::bigint"
               " AND change_seq <= $2::bigint ORDER BY change_seq",
               2, p) < 0 ||
        db_cmd(db,
               "DECLARE dead NO SCROLL CURSOR FOR SELECT deployment_guid::text FROM deployment"
               " WHERE dead AND $1::bigint >= 0 AND change_seq > $1::bigint"
               " AND change_seq <= $2::bigint ORDER BY change_seq",
               2, p) < 0 ||
        db_cmd(db,
               "DECLARE hid NO SCROLL CURSOR FOR SELECT update_id::text FROM declined_update"
               " ORDER BY update_id",
               0, NULL) < 0 ||
        db_cmd(db,
               "DECLARE eula NO SCROLL CURSOR FOR SELECT eula_id::text FROM accepted_eula"
               " ORDER BY eula_id",
               0, NULL) < 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

int soapcat_row_group(struct buf *out, const PGresult *res, int row)
{
    int rc = 0;

    rc |= buf_printf(out,
                     "<ServerSyncTargetGroup><TargetGroupID>%s</TargetGroupID>"
                     "<ParentGroupId>%s</ParentGroupId><Name>",
                     PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
    rc |= buf_add_xml_escaped(out, PQgetvalue(res, row, 2), (size_t)PQgetlength(res, row, 2));
    rc |= buf_printf(out, "</Name><IsBuiltin>%s</IsBuiltin></ServerSyncTargetGroup>",
                     PQgetvalue(res, row, 3)[0] == 't' ? "true" : "false");
    return rc ? -1 : 0;
}

int soapcat_row_deployment(struct buf *out, const PGresult *res, int row)
{
    int rc = 0;

    rc |= buf_printf(out,
                     "<ServerSyncDeployment><UpdateId>%s</UpdateId><RevisionNumber>%s"
                     "</RevisionNumber><Action>%s</Action>",
                     PQgetvalue(res, row, 0), PQgetvalue(res, row, 1), PQgetvalue(res, row, 2));
    if (!PQgetisnull(res, row, 3)) {
        rc |= buf_add_str(out, "<AdminName>");
        rc |= buf_add_xml_escaped(out, PQgetvalue(res, row, 3), (size_t)PQgetlength(res, row, 3));
        rc |= buf_add_str(out, "</AdminName>");
    }
    rc |= buf_printf(out,
                     "<Deadline>%s</Deadline><IsAssigned>%s</IsAssigned><GoLiveTime>%s"
                     "</GoLiveTime><DeploymentGuid>%s</DeploymentGuid><TargetGroupId>%s"
                     "</TargetGroupId><DownloadPriority>%s</DownloadPriority>"
                     "</ServerSyncDeployment>",
                     PQgetvalue(res, row, 4), PQgetvalue(res, row, 5)[0] == 't' ? "true" : "false",
                     PQgetvalue(res, row, 6), PQgetvalue(res, row, 7), PQgetvalue(res, row, 8),
                     PQgetvalue(res, row, 9));
    return rc ? -1 : 0;
}

int soapcat_row_guid(struct buf *out, const PGresult *res, int row)
{
    return buf_printf(out, "<guid>%s</guid>", PQgetvalue(res, row, 0));
}

/* bytea in PostgreSQL's text (hex) output "\x0a1b..." -> bytes (malloc'd). */
static unsigned char *soapcat_unhex(const char *s, size_t *len)
{
    size_t n;
    unsigned char *b;

    if (s[0] != '\\' || s[1] != 'x')
        return NULL;
    s += 2;
    n = strlen(s);
    if (n % 2 != 0)
        return NULL;
    b = xmalloc(n / 2 + 1);
    if (str_hex_decode(s, n, b, n / 2) < 0) {
        free(b);
        return NULL;
    }
    *len = n / 2;
    return b;
}

/*
 * Append one ServerSyncUpdateData for revision rid; its file digests go to files too. 0; -1
 * when it does not fit (or the row is gone); -2 when the catalog failed (the answer must not
 * go out short: the downstream would take the missing updates for absent upstream).
 */
static int soapcat_one_update(PGconn *db, const char *rid, const char *guid, const char *rev,
                              const PGresult *files, struct buf *out)
{
    const char *p[1] = {rid};
    PGresult *res =
        db_exec_retry(db, "SELECT xml, xml_cab FROM revision WHERE id = $1::bigint", 1, p);
    int rc = -1, i, nfiles = 0;

    if (res == NULL)
        return -2;
    if (PQntuples(res) != 1)
        goto out;
    if (buf_printf(out,
                   "<ServerSyncUpdateData><Id><UpdateID>%s</UpdateID><RevisionNumber>%s"
                   "</RevisionNumber></Id>",
                   guid, rev) < 0)
        goto out;
    if (PQgetisnull(res, 0, 1)) {
        if (buf_add_str(out, "<XmlUpdateBlob>") < 0 ||
            buf_add_xml_text(out, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0)) < 0 ||
            buf_add_str(out, "</XmlUpdateBlob>") < 0)
            goto out;
    }
    for (i = 0; i < PQntuples(files); i++) {
        size_t dlen;
        unsigned char *d;

        if (strcmp(PQgetvalue(files, i, 0), rid) != 0)
            continue;
        d = soapcat_unhex(PQgetvalue(files, i, 1), &dlen);
        if (d == NULL)
            goto out;
        if ((nfiles++ == 0 && buf_add_str(out, "<FileDigestList>") < 0) ||
            buf_add_str(out, "<base64Binary>") < 0 || soap_b64_append(out, d, dlen) < 0 ||
            buf_add_str(out, "</base64Binary>") < 0) {
            free(d);
            goto out;
        }
        free(d);
    }
    if (nfiles > 0 && buf_add_str(out, "</FileDigestList>") < 0)
        goto out;
    if (!PQgetisnull(res, 0, 1)) {
        size_t clen;
        unsigned char *cab = soapcat_unhex(PQgetvalue(res, 0, 1), &clen);
        int bad;

        if (cab == NULL)
            goto out;
        bad = buf_add_str(out, "<XmlUpdateBlobCompressed>") < 0 ||
              soap_b64_append(out, cab, clen) < 0 ||
              buf_add_str(out, "</XmlUpdateBlobCompressed>") < 0;
        free(cab);
        if (bad)
            goto out;
    }
    if (buf_add_str(out, "</ServerSyncUpdateData>") < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* A digest row of the files result, for sorting. */
struct soapcat_digest_row {
    const char *hex;
    int row;
};

static int soapcat_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int soapcat_cmp_digest_row(const void *a, const void *b)
{
    const struct soapcat_digest_row *x = a, *y = b;
    int c = strcmp(x->hex, y->hex);

    return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

static int soapcat_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/*
 * The rows of files (revision id text, sha1 hex, MUUrl, ...) that go into fileUrls: those of
 * the first included revisions of res (column 0: revision id text), each digest once (its first
 * row), in row order. Sorting keeps this O(F log F) in the F file rows of up to 100 updates
 * (a per-row scan of what was seen cost 0.76 s at 30,000 rows). Returns a malloc'd array of
 * row numbers (caller frees), their count in *n.
 */
static int *soapcat_url_rows(const PGresult *res, size_t included, const PGresult *files, size_t *n)
{
    int nfiles = PQntuples(files), k;
    const char **revs = xcalloc(included + 1, sizeof(*revs));
    struct soapcat_digest_row *rows = xcalloc((size_t)nfiles + 1, sizeof(*rows));
    int *keep = xcalloc((size_t)nfiles + 1, sizeof(*keep));
    size_t i, m = 0;

    for (i = 0; i < included; i++)
        revs[i] = PQgetvalue(res, (int)i, 0);
    qsort(revs, included, sizeof(*revs), soapcat_cmp_str);
    for (k = 0; k < nfiles; k++) {
        const char *rid = PQgetvalue(files, k, 0);
        if (bsearch(&rid, revs, included, sizeof(*revs), soapcat_cmp_str) == NULL)
            continue;
        rows[m].hex = PQgetvalue(files, k, 1);
        rows[m].row = k;
        m++;
    }
    qsort(rows, m, sizeof(*rows), soapcat_cmp_digest_row);
    *n = 0;
    for (i = 0; i < m; i++)
        if (i == 0 || strcmp(rows[i].hex, rows[i - 1].hex) != 0)
            keep[(*n)++] = rows[i].row;
    qsort(keep, *n, sizeof(*keep), soapcat_cmp_int);
    free(revs);
    free(rows);
    return keep;
}

enum soapcat_result soapcat_update_data(PGconn *db, const struct soap_identity *ids, size_t n,
                                        struct buf *out, size_t *served, char *missing,
                                        size_t missinglen)
{
    struct buf gids, revs, rids;
    PGresult *res = NULL, *files = NULL;
    enum soapcat_result rc = SOAPCAT_ERROR;
    const char *p[2];
    size_t i, included = 0, mark;
    char g[37];
    int nrows, j;

    *served = 0;
    buf_init(&gids, 64 * 1024);
    buf_init(&revs, 16 * 1024);
    buf_init(&rids, 64 * 1024);
    buf_add_str(&gids, "{");
    buf_add_str(&revs, "{");
    for (i = 0; i < n; i++) {
        str_guid_format(ids[i].id, g);
        buf_printf(&gids, "%s%s", i ? "," : "", g);
        buf_printf(&revs, "%s%d", i ? "," : "", (int)ids[i].rev);
    }
    buf_add_str(&gids, "}");
    buf_add_str(&revs, "}");
    p[0] = buf_str(&gids);
    p[1] = buf_str(&revs);
    res = db_exec_retry(db,
                        "SELECT r.id, i.uid::text, i.rev FROM unnest($1::uuid[], $2::int[])"
                        " WITH ORDINALITY AS i(uid, rev, ord)"
                        " LEFT JOIN revision r ON r.update_id = i.uid AND r.revision_number = i.rev"
                        " ORDER BY i.ord",
                        2, p);
    if (res == NULL)
        goto out;
    nrows = PQntuples(res);
    for (j = 0; j < nrows; j++) {
        if (PQgetisnull(res, j, 0)) {
            snprintf(missing, missinglen, "%s revision %s", PQgetvalue(res, j, 1),
                     PQgetvalue(res, j, 2));
            rc = SOAPCAT_UNKNOWN;
            goto out;
        }
    }
    buf_add_str(&rids, "{");
    for (j = 0; j < nrows; j++)
        buf_printf(&rids, "%s%s", j ? "," : "", PQgetvalue(res, j, 0));
    buf_add_str(&rids, "}");
    p[0] = buf_str(&rids);
    files =
        db_exec_retry(db,
                      "SELECT DISTINCT rf.revision_id::text, f.sha1, f.mu_url, rf.revision_id"
                      " FROM revision_file rf JOIN file f ON f.sha1 = rf.sha1"
                      " WHERE rf.revision_id = ANY($1::bigint[]) ORDER BY rf.revision_id, f.sha1",
                      1, p);
    if (files == NULL)
        goto out;

    if (buf_add_str(out, "<updates>") < 0)
        goto out;
    for (j = 0; j < nrows; j++) {
        int one;

        mark = out->len;
        one = soapcat_one_update(db, PQgetvalue(res, j, 0), PQgetvalue(res, j, 1),
                                 PQgetvalue(res, j, 2), files, out);
        if (one < 0) {
            if (included == 0 || one == -2)
                goto out;
            out->len = mark; /* no room left: stop here */
            out->data[mark] = '\0';
            break;
        }
        if (out->len > SOAPCAT_UPDATE_DATA_BUDGET && included > 0) {
            out->len = mark;
            out->data[mark] = '\0';
            break;
        }
        included++;
    }
    if (buf_add_str(out, "</updates>") < 0)
        goto out;

    /* fileUrls: one per distinct digest of the updates actually sent */
    {
        size_t nrows_k, r;
        int *keep = soapcat_url_rows(res, included, files, &nrows_k), any = 0, k;

        for (r = 0; r < nrows_k; r++) {
            size_t dlen;
            unsigned char *d;

            k = keep[r];
            d = soapcat_unhex(PQgetvalue(files, k, 1), &dlen);
            if (d == NULL)
                continue;
            if (!any++)
                buf_add_str(out, "<fileUrls>");
            buf_add_str(out, "<ServerSyncUrlData><FileDigest>");
            soap_b64_append(out, d, dlen);
            buf_add_str(out, "</FileDigest>");
            free(d);
            if (!PQgetisnull(files, k, 2) && PQgetlength(files, k, 2) > 0) {
                buf_add_str(out, "<MUUrl>");
                buf_add_xml_escaped(out, PQgetvalue(files, k, 2), (size_t)PQgetlength(files, k, 2));
                buf_add_str(out, "</MUUrl>");
            }
            buf_add_str(out, "<UssUrl /></ServerSyncUrlData>");
        }
        free(keep);
        if (buf_add_str(out, any ? "</fileUrls>" : "<fileUrls />") < 0)
            goto out;
    }
    *served = included;
    rc = SOAPCAT_OK;
out:
    PQclear(res);
    PQclear(files);
    buf_free(&gids);
    buf_free(&revs);
    buf_free(&rids);
    return rc;
}

int soapcat_queue_files(PGconn *db, const unsigned char (*digests)[20], size_t n,
                        struct buf *missing, size_t *nmissing)
{
    struct buf arr;
    const char *p[1];
    PGresult *res = NULL;
    size_t i;
    int rc = -1, j;

    *nmissing = 0;
    buf_init(&arr, 64 * 1024);
    buf_add_str(&arr, "{");
    for (i = 0; i < n; i++) {
        char hex[41];

        buf_add_str(&arr, i ? ",\"\\\\x" : "\"\\\\x");
        buf_add_str(&arr, str_hex_encode(digests[i], 20, 0, hex));
        buf_add_str(&arr, "\"");
    }
    buf_add_str(&arr, "}");
    p[0] = buf_str(&arr);
    if (db_begin(db) < 0)
        goto out;
    if (db_cmd(db,
               "UPDATE file SET state = 'queued', state_detail = 'requested by a downstream "
               "server (DownloadFiles)' WHERE sha1 = ANY($1::bytea[])"
               " AND state IN ('absent', 'failed')",
               1, p) < 0)
        goto out;
    res = db_exec(db,
                  "SELECT d.i FROM unnest($1::bytea[]) WITH ORDINALITY AS d(sha1, i)"
                  " WHERE NOT EXISTS (SELECT 1 FROM file f WHERE f.sha1 = d.sha1) ORDER BY d.i",
                  1, p);
    if (res == NULL || db_commit(db) < 0)
        goto out;
    for (j = 0; j < PQntuples(res); j++) {
        long idx;

        if (str_to_long(PQgetvalue(res, j, 0), 1, (long)n, &idx) < 0)
            continue;
        if ((*nmissing)++ > 0)
            buf_add_str(missing, "|");
        soap_b64_append(missing, digests[idx - 1], 20);
    }
    rc = 0;
out:
    if (rc < 0)
        db_rollback(db);
    PQclear(res);
    buf_free(&arr);
    return rc;
}

/* FNV-1a, 54 bits: the configuration number of the config anchor. */
static uint64_t soapcat_fnv(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int soapcat_languages(PGconn *db, struct buf *out, int64_t *config_seq)
{
    PGresult *res = db_exec_retry(db,
                                  "SELECT lcid, short_name, long_name, enabled FROM language"
                                  " ORDER BY lcid",
                                  0, NULL);
    uint64_t h = 14695981039346656037ULL;
    int i, all = 1, rc = 0;

    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res); i++)
        if (PQgetvalue(res, i, 3)[0] != 't')
            all = 0;
    rc |= buf_printf(out,
                     "<ServerSyncLanguageData><LanguageID>0</LanguageID><ShortLanguage>all"
                     "</ShortLanguage><LongLanguage>all</LongLanguage><Enabled>%s</Enabled>"
                     "</ServerSyncLanguageData>",
                     all && PQntuples(res) > 0 ? "true" : "false");
    for (i = 0; i < PQntuples(res); i++) {
        int en = PQgetvalue(res, i, 3)[0] == 't';

        h = soapcat_fnv(h, PQgetvalue(res, i, 0));
        h = soapcat_fnv(h, en ? ":1;" : ":0;");
        rc |= buf_printf(out, "<ServerSyncLanguageData><LanguageID>%s</LanguageID><ShortLanguage>",
                         PQgetvalue(res, i, 0));
        rc |= buf_add_xml_escaped(out, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
        rc |= buf_add_str(out, "</ShortLanguage><LongLanguage>");
        rc |= buf_add_xml_escaped(out, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
        rc |= buf_printf(out, "</LongLanguage><Enabled>%s</Enabled></ServerSyncLanguageData>",
                         en ? "true" : "false");
    }
    PQclear(res);
    *config_seq = (int64_t)(h & 0x3fffffffffffffULL); /* 54 bits: 17 digits */
    return rc ? -1 : 0;
}

int soapcat_setting_is(PGconn *db, const char *key, const char *value, int def)
{
    const char *p[1] = {key};
    PGresult *res = db_exec(db, "SELECT value FROM setting WHERE key = $1", 1, p);
    int r = def;

    if (res != NULL)
        r = PQntuples(res) == 1 && strcasecmp(PQgetvalue(res, 0, 0), value) == 0;
    PQclear(res);
    return r;
}

int soapcat_downstream_allowed(PGconn *db, const char *guid, const char *name, const char *peer)
{
    PGresult *res = db_exec(db,
                            "SELECT value FROM setting WHERE key IN ('allowed-downstreams',"
                            " 'allowed_downstreams') ORDER BY key",
                            0, NULL);
    struct buf all;
    char *list, *p, *save = NULL;
    int allowed = 0, any = 0, i;

    if (res == NULL)
        return -1;
    buf_init(&all, 1 << 20);
    for (i = 0; i < PQntuples(res); i++) {
        buf_add_str(&all, PQgetvalue(res, i, 0));
        buf_add_str(&all, ",");
    }
    PQclear(res);
    list = buf_detach(&all, NULL);
    for (p = strtok_r(list, ", \t", &save); p != NULL; p = strtok_r(NULL, ", \t", &save)) {
        any = 1;
        if (strcasecmp(p, guid) == 0 || (name != NULL && strcasecmp(p, name) == 0) ||
            str_addr_match(p, peer) == 1)
            allowed = 1;
    }
    free(list);
    return any ? allowed : 1;
}

char *soapcat_downstream_name(PGconn *db, const char *guid)
{
    const char *p[1] = {guid};
    PGresult *res =
        db_exec(db, "SELECT account_name FROM downstream_server WHERE account_guid = $1", 1, p);
    char *name = NULL;

    if (res != NULL && PQntuples(res) == 1)
        name = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return name;
}

int soapcat_downstream_seen(PGconn *db, const char *guid, const char *name, const char *peer)
{
    char lim[16], cap[16];
    const char *p[5] = {guid, name, peer, lim, cap};
    PGresult *res;
    int rc = -1;

    snprintf(lim, sizeof(lim), "%d", SOAPCAT_NEW_DOWNSTREAMS_PER_HOUR);
    snprintf(cap, sizeof(cap), "%d", SOAPCAT_MAX_NEW_DOWNSTREAMS);
    res = db_exec(db,
                  "UPDATE downstream_server SET account_name = $2, address = $3,"
                  " last_contact = now() WHERE account_guid = $1::uuid RETURNING 1",
                  3, p);
    if (res == NULL)
        return -1;
    rc = PQntuples(res) == 1 ? 0 : -1;
    PQclear(res);
    if (rc == 0)
        return 0;
    /* an id never seen: one new id at a time, so the counts below hold */
    if (db_begin(db) < 0 ||
        db_cmd(db, "SELECT pg_advisory_xact_lock(hashtext('wsusd-downstreams'))", 0, NULL) < 0)
        goto out;
    res = db_exec(db,
                  "SELECT count(*) >= $2::int FROM downstream_server WHERE last_sync IS NULL"
                  " AND address = $1 AND first_contact > now() - interval '1 hour'",
                  2, (const char *const[]){peer, lim});
    if (res == NULL)
        goto out;
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        PQclear(res);
        rc = 1;
        goto out;
    }
    PQclear(res);
    /* never-synchronized rows beyond the cap make room: the oldest contact goes first */
    if (db_cmd(db,
               "DELETE FROM downstream_server WHERE account_guid IN (SELECT account_guid"
               " FROM downstream_server WHERE last_sync IS NULL ORDER BY last_contact DESC"
               " OFFSET $1::int - 1)",
               1, (const char *const[]){cap}) < 0 ||
        db_cmd(db,
               "INSERT INTO downstream_server (account_guid, account_name, address)"
               " VALUES ($1::uuid, $2, $3) ON CONFLICT (account_guid) DO UPDATE SET"
               " account_name = EXCLUDED.account_name, address = EXCLUDED.address,"
               " last_contact = now()",
               3, p) < 0 ||
        db_commit(db) < 0)
        goto out;
    return 0;
out:
    db_rollback(db);
    return rc == 1 ? 1 : -1;
}

int soapcat_downstream_cookie(PGconn *db, const char *guid, const char *version)
{
    const char *p[2] = {guid, version};

    return db_cmd(db,
                  "INSERT INTO downstream_server (account_guid, account_name, protocol_version)"
                  " VALUES ($1, '', $2) ON CONFLICT (account_guid) DO UPDATE SET"
                  " protocol_version = EXCLUDED.protocol_version, last_contact = now()",
                  2, p);
}

int soapcat_downstream_touch(PGconn *db, const char *guid, int synced)
{
    const char *p[1] = {guid};

    if (synced)
        return db_cmd(db,
                      "UPDATE downstream_server SET last_contact = now(), last_sync = now()"
                      " WHERE account_guid = $1",
                      1, p);
    return db_cmd(db,
                  "UPDATE downstream_server SET last_contact = now() WHERE account_guid = $1"
                  " AND last_contact < now() - interval '1 minute'",
                  1, p);
}
