/*
 * sync_query: the catalog reads of the Server Sync web service (see sync_query.h).
 */
#include "sync_query.h"

#include <stdio.h>

#include "db.h"

/*
 * The Languages filter on a selected root revision r: language neutral ones always, a
 * language-specific one when one of its languages (schema 007) has an LCID the downstream
 * asked for. The parameter is an int[] of LCIDs, NULL when the filter named no language.
 */
#define SYNC_QUERY_LANG_OK(param)                                                                  \
    " AND (" param "::int[] IS NULL OR r.languages = '{}' OR EXISTS (SELECT 1"                     \
    "  FROM language g WHERE g.short_name = ANY(r.languages) AND g.lcid = ANY(" param "::int[])))"

/* Every Category and Detectoid revision held ($1 anchor, NULL = none: all of them). */
static const char sync_query_config_sql[] =
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
 * filter (every update revision), $4 the Languages filter (SYNC_QUERY_LANG_OK). The closure
 * carries the columns of the answer (functions of id, so UNION still keeps one row per
 * revision): joining it back to revision cost one more pass over the catalog and a hash of
 * it (~40% of the statement at 101,978 revisions).
 */
static const char sync_query_updates_sql[] =
    "DECLARE revs NO SCROLL CURSOR FOR "
    "WITH RECURSIVE "
    "cat_tree(id) AS ("
    "  SELECT unnest($1::uuid[])"
    "  UNION"
    "  SELECT r.update_id FROM cat_tree t"
    "  JOIN revision_prerequisite p ON p.update_id = t.id AND p.is_category"
    "  JOIN revision r ON r.id = p.revision_id AND r.update_type = 'Category'),"
    "roots AS ("
    "  SELECT r.id, r.update_id, r.revision_number, r.is_leaf FROM revision r WHERE $3::boolean"
    "   AND update_type IN ('Software', 'Driver')" SYNC_QUERY_LANG_OK(
        "$4") "  UNION ALL"
              "  SELECT r.id, r.update_id, r.revision_number, r.is_leaf FROM revision r"
              "   WHERE NOT $3::boolean"
              "   AND r.update_type IN ('Software', 'Driver')"
              "   AND r.id IN (SELECT p.revision_id FROM revision_prerequisite p"
              "    JOIN cat_tree t ON t.id = p.update_id WHERE p.is_category)"
              "   AND r.id IN (SELECT p.revision_id FROM revision_prerequisite p"
              "    WHERE p.is_category AND p.update_id = ANY($2::uuid[]))" SYNC_QUERY_LANG_OK(
                  "$4") "),"
                        "closure(id, update_id, revision_number, is_leaf) AS ("
                        "  SELECT * FROM roots"
                        "  UNION"
                        "  SELECT m.id, m.update_id, m.revision_number, m.is_leaf FROM closure c"
                        "  JOIN revision_bundle b ON b.revision_id = c.id"
                        "  JOIN revision m ON m.update_id = b.member_update_id"
                        "   AND m.revision_number = b.member_revision_number) "
                        "SELECT update_id::text, revision_number FROM closure "
                        "ORDER BY is_leaf DESC, id";

/*
 * Updates after an anchor: the same selection, restricted to (a) everything reached from a
 * revision that matches through an id sent with Delta = false (the closure of those "forced"
 * roots), and (b) revisions changed after the anchor that are selected: the few changed rows
 * (change_seq index) are walked up through the bundles that contain them, and kept when they
 * or one of their bundles match the filter. Nothing is computed for the unchanged catalog, so
 * a no-change sync costs a few index probes whatever the catalog size.
 * $1 anchor, $2/$3 category ids/deltas, $4/$5 classification ids/deltas, $6 true = no filter,
 * $7 true = some id has Delta = false, $8 the Languages filter (SYNC_QUERY_LANG_OK).
 */
static const char sync_query_updates_delta_sql[] =
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
    "  WHERE (a.force OR b.force)" SYNC_QUERY_LANG_OK(
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
              "    WHERE p.revision_id = r.id AND p.is_category)))" SYNC_QUERY_LANG_OK(
                  "$8") ") "
                        "SELECT r.update_id::text, r.revision_number FROM ("
                        "  SELECT id FROM forced UNION SELECT id FROM changed) x "
                        "JOIN revision r ON r.id = x.id "
                        "ORDER BY r.is_leaf DESC, r.id";

static int sync_query_begin(PGconn *db)
{
    return db_cmd_retry(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
}

int sync_query_open_revisions(PGconn *db, const struct sync_query_revisions *q)
{
    const char *p[8];
    int rc = -1;

    /* the recursive CTEs' row estimates are far too high: JIT would cost ~0.4 s per call */
    if (sync_query_begin(db) < 0 || db_cmd(db, "SET LOCAL jit = off", 0, NULL) < 0)
        goto out;
    if (q->get_config) {
        p[0] = q->anchor;
        if (db_cmd(db, sync_query_config_sql, 1, p) < 0)
            goto out;
    } else if (q->anchor != NULL) {
        p[0] = q->anchor;
        p[1] = q->category_ids;
        p[2] = q->category_deltas;
        p[3] = q->classification_ids;
        p[4] = q->classification_deltas;
        p[5] = q->nofilter ? "true" : "false";
        p[6] = q->forced && !q->nofilter ? "true" : "false";
        p[7] = q->lcids;
        if (db_cmd(db, sync_query_updates_delta_sql, 8, p) < 0)
            goto out;
    } else {
        p[0] = q->category_ids;
        p[1] = q->classification_ids;
        p[2] = q->nofilter ? "true" : "false";
        p[3] = q->lcids;
        if (db_cmd(db, sync_query_updates_sql, 4, p) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        db_rollback(db);
    return rc;
}

int sync_query_open_deployments(PGconn *db, int has_dep_anchor, int64_t dep_anchor,
                                int64_t sync_seq)
{
    char a[DB_PARAM_INT_LEN], s[DB_PARAM_INT_LEN];
    const char *p[2];

    db_param_int(a, has_dep_anchor ? dep_anchor : -1);
    db_param_int(s, sync_seq);
    p[0] = a;
    p[1] = s;
    if (sync_query_begin(db) < 0)
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

PGresult *sync_query_revision_ids(PGconn *db, const char *update_ids, const char *revisions)
{
    const char *p[2] = {update_ids, revisions};

    return db_exec_retry(
        db,
        "SELECT r.id, i.uid::text, i.rev FROM unnest($1::uuid[], $2::int[])"
        " WITH ORDINALITY AS i(uid, rev, ord)"
        " LEFT JOIN revision r ON r.update_id = i.uid AND r.revision_number = i.rev"
        " ORDER BY i.ord",
        2, p);
}

PGresult *sync_query_revision_files(PGconn *db, const char *ids)
{
    const char *p[1] = {ids};

    /* one index probe per id (the LATERAL with OFFSET 0 is not flattened): with "= ANY" the
     * planner hashed a sequential scan of revision_file and of file at every call */
    return db_exec_retry(db,
                         "SELECT DISTINCT rf.revision_id::text, rf.sha1, rf.mu_url, rf.revision_id"
                         " FROM (SELECT DISTINCT unnest($1::bigint[]) AS id) i CROSS JOIN LATERAL ("
                         "  SELECT x.revision_id, f.sha1, f.mu_url FROM revision_file x"
                         "  JOIN file f ON f.sha1 = x.sha1 WHERE x.revision_id = i.id OFFSET 0) rf"
                         " ORDER BY rf.revision_id, rf.sha1",
                         1, p);
}

PGresult *sync_query_revision_docs(PGconn *db, const char *ids, size_t budget)
{
    char b[32];
    const char *p[2] = {ids, b};

    if (snprintf(b, sizeof(b), "%zu", budget) < 0)
        return NULL;
    /* octet_length of a stored value reads its size from the TOAST header: no detoasting */
    return db_exec_retry(
        db,
        "SELECT s.ord, CASE WHEN r.xml_cab IS NULL THEN r.xml END, r.xml_cab FROM ("
        " SELECT i.ord, i.id, sum(CASE WHEN r.xml_cab IS NULL THEN octet_length(r.xml)"
        "  ELSE octet_length(r.xml_cab) END) OVER (ORDER BY i.ord ROWS UNBOUNDED PRECEDING)"
        "  - CASE WHEN r.xml_cab IS NULL THEN octet_length(r.xml)"
        "  ELSE octet_length(r.xml_cab) END AS before"
        " FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, ord)"
        " JOIN revision r ON r.id = i.id) s"
        " JOIN revision r ON r.id = s.id WHERE s.before < $2::bigint ORDER BY s.ord",
        2, p);
}
