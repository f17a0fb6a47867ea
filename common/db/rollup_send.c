/*
 * rollup_send: the reads and records of the downstream side of the reporting rollup (see
 * rollup_send.h). Every statement of the rollup_sent table and of the rollup's reads is here.
 */
#include "rollup_send.h"
#include "catalog.h"
#include "client_report.h"
#include "db.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* xsd:dateTime text of a timestamptz expression, "" for NULL */
#define TS(x)                                                                                      \
    "coalesce(to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')"

/* a rolled-up computer that is not also one of this server's own (CASE keeps the cast safe) */
#define NOT_OWN(col)                                                                               \
    "CASE WHEN " col " ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "        \
    "THEN NOT EXISTS (SELECT 1 FROM computer c WHERE c.id = (" col ")::uuid) ELSE true END"

/* The classifications of MS-WSUSSS's CriticalOrSecurityUpdatesNotApprovedForInstallCount (their
   UpdateClassification ids in Microsoft's catalog and its "WSUS Classification GUIDs" page). */
#define CLS_CRITICAL "'e6cf1350-c01b-414d-a61f-263d14d133b4'"
#define CLS_SECURITY "'0fa1201d-4330-4fa8-8ae9-b877473b6441'"

/* Updates of classification list (SQL uuid literals), not declined, without a live install
   approval: one count. */
#define NOT_APPROVED_OF(list)                                                                      \
    "(SELECT count(DISTINCT r.update_id) FROM revision_prerequisite p JOIN revision r ON r.id ="   \
    " p.revision_id WHERE p.is_category AND p.update_id IN (" list ") AND r.update_type IN"        \
    " ('Software', 'Driver') AND NOT EXISTS (SELECT 1 FROM d WHERE d.update_id = r.update_id)"     \
    " AND NOT EXISTS (SELECT 1 FROM deployment x WHERE x.update_id = r.update_id AND NOT x.dead"   \
    " AND x.action = 0))"

/*
 * The 18 counts, in the order of MS-WSUSSS 3.1.4.14.3.3 (rollup_summary_names). "Update" is
 * an update of type Software or Driver (categories and detectoids are not counted); the
 * computer side follows the compliance rule of client_report.h (CLIENT_REPORT_SQL_STATES),
 * the one `wsusctl report` counts with; the file side the red-X mapping of catalog.h.
 *  1 UpdateCount: updates.
 *  2 DeclinedUpdateCount: declined ones.
 *  3 ApprovedUpdateCount: not declined, with a live Install or Uninstall approval.
 *  4 NotApprovedUpdateCount: neither declined nor approved.
 *  5 UpdatesWithStaleUpdateApprovalsCount: approved at a revision older than the latest.
 *  6 ExpiredUpdateCount: expired (publication state) and not approved.
 *  7 CriticalOrSecurityUpdatesNotApprovedForInstallCount: of classification Critical Updates
 *    or Security Updates, not declined, without an install approval for any group.
 *  8 WsusInfrastructureUpdatesNotApprovedForInstallCount: 0. WSUS counts the updates it
 *    flags IsWsusInfrastructureUpdate (updates to WSUS itself); that flag is WSUS's own, not in
 *    the update metadata (not in the real export), and it is no classification: 28bc880e-...
 *    is Update Rollups. wsusd has no such updates to leave unapproved.
 *  9 UpdatesWithClientErrorsCount: updates a computer failed to install (CLIENT_REPORT_SQL_
 *    FAILED).
 * 10 UpdatesWithServerErrorsCount: not declined, with a file that failed to download (the red
 *    X "failed" and "gone": file state 'failed').
 * 11 UpdatesNeedingFilesCount: approved for install, not declined, and a file of the approved
 *    revision (or of its bundled updates) is not in the content store: failed, or pending on
 *    the upstream (the red X), or, when this server stores files ($1), not downloaded yet (a
 *    revision for a language not enabled here left out).
 * 12 UpdatesNeededByComputersCount: updates some computer needs (CLIENT_REPORT_SQL_NEEDED).
 * 13 UpdatesUpToDateCount: not declined, no computer needs it, none failed it (counts 1 - 2
 *    less the not declined updates some computer needs or failed: no walk of every update).
 * 14 CustomComputerTargetGroupCount: the groups an admin made.
 * 15 ComputerTargetCount: this server's computers.
 * 16 ComputerTargetsNeedingUpdatesCount: computers needing an update.
 * 17 ComputerTargetsWithUpdateErrorsCount: computers with a failed install.
 * 18 ComputersUpToDateCount: computers that reported, need none, failed none.
 * $2 is the state_detail of a file pending on the upstream (CATALOG_FILE_PENDING). $3: counts
 * 1-7 (the catalog's) when known (rollup_send_catalog_state unchanged), else NULL.
 */
#define STATES_OF_ALL     CLIENT_REPORT_SQL_STATES("true")
#define NOT_APPROVED_CRIT NOT_APPROVED_OF(CLS_CRITICAL ", " CLS_SECURITY)
/* Count 10 reads the failed files only (an index range of file_state), never every file
   that is not present (all of them on a server that stores none). */
#define FILES_FAILED      "(SELECT f.sha1, f.state, f.state_detail FROM file f WHERE f.state = 'failed')"
#define UPDATES_OF_FAILED CATALOG_SQL_FILE_UPDATES(FILES_FAILED)
/* Count 11 starts from the live install approvals (few) and walks to their files: the
   approved revision's own and those of its bundled updates' revisions (h.rid holds the file,
   h.uid is what was approved), the same update-to-file mapping as CATALOG_SQL_FILE_UPDATES. */
#define APPROVED_HOLDERS                                                                           \
    "ap AS (SELECT x.update_id, x.revision_number FROM deployment x WHERE NOT x.dead AND"          \
    " x.action = 0 AND NOT EXISTS (SELECT 1 FROM declined_update y WHERE y.update_id ="            \
    " x.update_id)), h AS (SELECT ap.update_id AS uid, t.id AS rid FROM ap JOIN revision t ON"     \
    " t.update_id = ap.update_id AND t.revision_number = ap.revision_number UNION ALL SELECT"      \
    " ap.update_id, m.id FROM ap JOIN revision t ON t.update_id = ap.update_id AND"                \
    " t.revision_number = ap.revision_number JOIN revision_bundle rb ON rb.revision_id = t.id"     \
    " JOIN revision m ON m.update_id = rb.member_update_id AND m.revision_number ="                \
    " rb.member_revision_number)"

static const char summary_sql[] =
    "WITH RECURSIVE scope AS (SELECT c.id, c.last_contact, c.last_sync FROM computer "
    "c), " STATES_OF_ALL ", " CLIENT_REPORT_SQL_PER_COMPUTER ","
    " u AS (SELECT DISTINCT update_id FROM revision WHERE update_type IN ('Software', 'Driver')),"
    " d AS (SELECT update_id FROM declined_update),"
    " a AS (SELECT DISTINCT update_id FROM deployment WHERE NOT dead AND action IN (0, 1)),"
    " nf AS (" UPDATES_OF_FAILED "), " APPROVED_HOLDERS ","
    " bad AS (SELECT DISTINCT st.update_id FROM st WHERE " CLIENT_REPORT_SQL_NEEDED
    " OR " CLIENT_REPORT_SQL_FAILED "),"
    " k AS (SELECT " CLIENT_REPORT_SQL_COMPUTER_COUNTS " FROM pc)"
    " SELECT coalesce(($3::bigint[])[1], (SELECT count(*) FROM u)),"
    " coalesce(($3::bigint[])[2], (SELECT count(*) FROM u JOIN d USING (update_id))),"
    " coalesce(($3::bigint[])[3], (SELECT count(*) FROM u JOIN a USING (update_id) WHERE NOT"
    "  EXISTS (SELECT 1 FROM d WHERE d.update_id = u.update_id))),"
    " coalesce(($3::bigint[])[4], (SELECT count(*) FROM u WHERE NOT EXISTS (SELECT 1 FROM d"
    "  WHERE d.update_id = u.update_id) AND NOT EXISTS (SELECT 1 FROM a WHERE a.update_id ="
    "  u.update_id))),"
    " coalesce(($3::bigint[])[5], (SELECT count(DISTINCT p.update_id) FROM deployment p WHERE"
    "  NOT p.dead AND p.action IN (0, 1) AND EXISTS (SELECT 1 FROM revision r WHERE"
    "  r.update_id = p.update_id AND r.revision_number > p.revision_number))),"
    " coalesce(($3::bigint[])[6], (SELECT count(DISTINCT r.update_id) FROM revision r WHERE"
    "  r.publication_state = 'Expired' AND r.update_type IN ('Software', 'Driver') AND NOT"
    "  EXISTS (SELECT 1 FROM a WHERE a.update_id = r.update_id))),"
    " coalesce(($3::bigint[])[7], " NOT_APPROVED_CRIT "), 0,"
    " (SELECT count(DISTINCT st.update_id) FROM st WHERE " CLIENT_REPORT_SQL_FAILED "),"
    " (SELECT count(DISTINCT nf.uid) FROM nf WHERE nf.state = 'failed' AND NOT EXISTS (SELECT 1"
    "  FROM d WHERE d.update_id = nf.uid) AND EXISTS (SELECT 1 FROM revision r WHERE"
    "  r.update_id = nf.uid AND r.update_type IN ('Software', 'Driver'))),"
    " (SELECT count(DISTINCT h.uid) FROM h JOIN revision_file rf ON rf.revision_id = h.rid"
    "  JOIN file f ON f.sha1 = rf.sha1 JOIN revision r ON r.id = h.rid WHERE f.state <>"
    "  'present' AND (f.state = 'failed' OR (f.state = 'absent' AND f.state_detail = $2) OR"
    "  ($1::boolean AND " CATALOG_SQL_R_LANG_OK "))),"
    " (SELECT count(DISTINCT st.update_id) FROM st WHERE " CLIENT_REPORT_SQL_NEEDED "),"
    " coalesce(($3::bigint[])[1] - ($3::bigint[])[2], (SELECT count(*) FROM u WHERE NOT"
    "  EXISTS (SELECT 1 FROM d WHERE d.update_id = u.update_id))) - (SELECT count(*) FROM bad"
    "  WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.update_id = bad.update_id) AND EXISTS (SELECT"
    "  1 FROM revision r WHERE r.update_id = bad.update_id AND r.update_type IN ('Software',"
    "  'Driver'))),"
    " (SELECT count(*) FROM target_group WHERE NOT is_builtin),"
    " (SELECT count(*) FROM computer), k.* FROM k";

PGresult *rollup_send_summary(PGconn *db, int stores_files, const char *catalog_counts)
{
    const char *p[3] = {stores_files ? "t" : "f", CATALOG_FILE_PENDING, catalog_counts};

    if (db_cmd(db, "SET jit = off", 0, NULL) < 0) /* as client_report: short, many CTEs */
        return NULL;
    /* COALESCE evaluates a subquery only when the count was not given: a given one costs
     * nothing, an unknown one reads the whole catalog */
    return db_exec(db, summary_sql, 3, p);
}

char *rollup_send_catalog_state(PGconn *db)
{
    PGresult *r;
    int64_t seq;
    char *out = NULL;

    /* the horizon: every change numbered up to it is committed (a later commit moves it) */
    if (db_change_horizon(db, &seq) < 0)
        return NULL;
    r = db_exec(db,
                "SELECT (SELECT count(*) FROM declined_update) || '/' ||"
                " (SELECT count(*) FROM deployment)",
                0, NULL);
    if (r != NULL && PQntuples(r) == 1)
        out = xasprintf("%lld/%s", (long long)seq, PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

PGresult *rollup_send_servers(PGconn *db, const char *self_id)
{
    const char *p[1] = {self_id};

    return db_exec(
        db,
        "WITH RECURSIVE t AS (SELECT s.server_id, 1 AS depth FROM rollup_server s WHERE "
        "s.parent_id = $1::uuid UNION ALL SELECT s.server_id, t.depth + 1 FROM rollup_server s "
        "JOIN t ON s.parent_id = t.server_id WHERE t.depth < 64 AND s.server_id <> $1::uuid) "
        "SELECT s.server_id::text, s.parent_id::text, s.name, coalesce(s.version, ''), "
        "s.is_replica, " TS("s.last_sync") ", " TS(
            "s.last_rollup") ", "
                             "s.summary[1], s.summary[2], s.summary[3], s.summary[4], "
                             "s.summary[5], s.summary[6], "
                             "s.summary[7], s.summary[8], s.summary[9], s.summary[10], "
                             "s.summary[11], s.summary[12], "
                             "s.summary[13], s.summary[14], s.summary[15], s.summary[16], "
                             "s.summary[17], "
                             "s.summary[18] FROM (SELECT server_id, min(depth) AS depth FROM t "
                             "GROUP BY server_id) o "
                             "JOIN rollup_server s USING (server_id) ORDER BY o.depth, s.server_id",
        1, p);
}

PGresult *rollup_send_computers(PGconn *db, const char *self_id, long limit)
{
    char lim[DB_PARAM_INT_LEN];
    const char *p[2] = {self_id, lim};

    db_param_int(lim, limit > 0 ? limit : 1);
    return db_exec(
        db,
        "WITH o AS ("
        " SELECT c.id::text AS id, $1::text AS parent, c.last_sync, "
        "  CASE WHEN c.last_sync IS NULL THEN 0 ELSE 1 END AS result, NULL::timestamptz AS "
        "  reboot, (SELECT max(e.received_at) FROM client_event e WHERE e.computer_id = c.id) "
        "  AS status, NULL::timestamptz AS inventory, c.address, c.name, c.os_version, "
        "  c.os_locale, c.os_description, c.manufacturer, c.model, c.architecture, "
        "  c.client_version, (SELECT string_agg(g.group_id::text, ',' ORDER BY g.group_id) "
        "  FROM computer_group g WHERE g.computer_id = c.id) AS groups FROM computer c "
        " UNION ALL "
        " SELECT r.computer_id, r.server_id::text, r.last_sync, r.last_sync_result, "
        "  r.last_reboot, r.last_status, r.last_inventory, r.address, r.name, r.os_version, "
        "  r.os_locale, r.os_description, r.manufacturer, r.model, r.architecture, "
        "  r.client_version, NULL FROM rollup_computer r WHERE " NOT_OWN(
            "r.computer_id") "), "
                             "f AS (SELECT o.*, md5(row(o.parent, o.last_sync, o.result, o.reboot, "
                             "o.status, "
                             " o.inventory)::text) AS fp, md5(row(o.address, o.name, o.os_version, "
                             "o.os_locale, "
                             " o.os_description, o.manufacturer, o.model, o.architecture, "
                             "o.client_version, "
                             " o.groups)::text) AS dfp FROM o) "
                             "SELECT f.id, f.parent, " TS("f.last_sync") ", f.result, " TS(
                                 "f.reboot") ", " TS("f.status") ", " TS("f.inventory") ", "
                                                                                        "coalesce("
                                                                                        "f.address,"
                                                                                        " ''), "
                                                                                        "coalesce("
                                                                                        "f.name, "
                                                                                        "''), "
                                                                                        "coalesce("
                                                                                        "f.os_"
                                                                                        "version, "
                                                                                        "''), "
                                                                                        "coalesce("
                                                                                        "f.os_"
                                                                                        "locale, "
                                                                                        "''), "
                                                                                        "coalesce("
                                                                                        "f.os_"
                                                                                        "descriptio"
                                                                                        "n, ''), "
                                                                                        "coalesce("
                                                                                        "f."
                                                                                        "manufactur"
                                                                                        "er, ''), "
                                                                                        "coalesce("
                                                                                        "f.model, "
                                                                                        "''), "
                                                                                        "coalesce("
                                                                                        "f."
                                                                                        "architectu"
                                                                                        "re, ''), "
                                                                                        "coalesce("
                                                                                        "f.client_"
                                                                                        "version, "
                                                                                        "''), "
                                                                                        "coalesce("
                                                                                        "f.groups, "
                                                                                        "''), "
                                                                                        "f.fp, "
                                                                                        "f.dfp, "
                                                                                        "s.details "
                                                                                        "IS "
                                                                                        "DISTINCT "
                                                                                        "FROM "
                                                                                        "f.dfp "
                                                                                        "FROM f "
                                                                                        "LEFT JOIN "
                                                                                        "rollup_"
                                                                                        "sent s ON "
                                                                                        "s."
                                                                                        "computer_"
                                                                                        "id = f.id "
                                                                                        "WHERE NOT "
                                                                                        "coalesce("
                                                                                        "s."
                                                                                        "excluded, "
                                                                                        "false) "
                                                                                        "AND "
                                                                                        "(s."
                                                                                        "computer_"
                                                                                        "id IS "
                                                                                        "NULL OR "
                                                                                        "s."
                                                                                        "fingerprin"
                                                                                        "t <> "
                                                                                        "f.fp OR "
                                                                                        "s.details "
                                                                                        "IS "
                                                                                        "DISTINCT "
                                                                                        "FROM "
                                                                                        "f.dfp) "
                                                                                        "ORDER BY "
                                                                                        "f.id "
                                                                                        "LIMIT "
                                                                                        "$2::"
                                                                                        "bigint",
        2, p);
}

int rollup_send_computers_sent(PGconn *db, const char *json)
{
    const char *p[1] = {json};

    return db_cmd(db,
                  "INSERT INTO rollup_sent (computer_id, fingerprint, details) SELECT x->>'id', "
                  "x->>'fp', x->>'details' FROM json_array_elements($1::json) x ON CONFLICT "
                  "(computer_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, details = "
                  "coalesce(EXCLUDED.details, rollup_sent.details), sent_at = now()",
                  1, p);
}

int rollup_send_details_needed(PGconn *db, const char *json)
{
    const char *p[1] = {json};

    return db_cmd(db,
                  "UPDATE rollup_sent SET details = NULL WHERE computer_id IN (SELECT "
                  "json_array_elements_text($1::json))",
                  1, p);
}

int rollup_send_exclude(PGconn *db, const char *json)
{
    const char *p[1] = {json};

    return db_cmd(db,
                  "UPDATE rollup_sent SET excluded = true WHERE computer_id IN (SELECT "
                  "json_array_elements_text($1::json))",
                  1, p);
}

/* the computers sent once, with the time of their latest status change (NULL: none) */
#define CHANGED                                                                                    \
    "SELECT s.computer_id AS id, c.id IS NOT NULL AS own, s.rollup_number, s.status_time, "        \
    "CASE WHEN c.id IS NOT NULL THEN greatest((SELECT max(e.received_at) FROM client_event e "     \
    "WHERE e.computer_id = c.id AND e.update_id IS NOT NULL), (SELECT cs.reported_at FROM "        \
    "computer_status cs WHERE cs.computer_id = c.id)) ELSE (SELECT max(st.last_change) FROM "      \
    "rollup_status st WHERE st.computer_id = s.computer_id) END AS changed, "                      \
    "(SELECT r.effective_detection FROM rollup_computer r WHERE r.computer_id = s.computer_id) "   \
    "AS effective FROM rollup_sent s LEFT JOIN computer c ON c.id::text = s.computer_id "          \
    "WHERE NOT s.excluded"

PGresult *rollup_send_numbers(PGconn *db)
{
    return db_exec(db,
                   "SELECT x.id, x.rollup_number FROM (" CHANGED ") x WHERE x.changed IS NOT "
                   "NULL ORDER BY x.id",
                   0, NULL);
}

int rollup_send_out_of_sync(PGconn *db, const char *json)
{
    const char *p[1] = {json};

    return db_cmd(db,
                  "UPDATE rollup_sent SET status_time = NULL WHERE computer_id IN (SELECT "
                  "json_array_elements_text($1::json))",
                  1, p);
}

PGresult *rollup_send_status_due(PGconn *db, long limit)
{
    static const char sql[] = "SELECT x.id, x.own, x.rollup_number + 1, x.status_time IS NULL, " TS(
        "x.status_time") ", gen_random_uuid()::text, " TS("x.effective") ", " TS("x.changed") " FRO"
                                                                                              "M "
                                                                                              "(" CHANGED
                                                                                              ") x "
                                                                                              "WHER"
                                                                                              "E "
                                                                                              "x."
                                                                                              "chan"
                                                                                              "ged "
                                                                                              "IS "
                                                                                              "NOT "
                                                                                              "NULL"
                                                                                              " AND"
                                                                                              " (x."
                                                                                              "stat"
                                                                                              "us_"
                                                                                              "time"
                                                                                              " IS "
                                                                                              "NULL"
                                                                                              " OR "
                                                                                              "x."
                                                                                              "chan"
                                                                                              "ged "
                                                                                              "> "
                                                                                              "x."
                                                                                              "stat"
                                                                                              "us_"
                                                                                              "time"
                                                                                              ") "
                                                                                              "ORDE"
                                                                                              "R "
                                                                                              "BY "
                                                                                              "x."
                                                                                              "id "
                                                                                              "LIMI"
                                                                                              "T "
                                                                                              "$1::"
                                                                                              "bigi"
                                                                                              "nt";
    char lim[DB_PARAM_INT_LEN];
    const char *p[1] = {lim};

    db_param_int(lim, limit > 0 ? limit : 1);
    return db_exec(db, sql, 1, p);
}

#define STATES_OF_ONE CLIENT_REPORT_SQL_ROLLUP_STATES("ARRAY[$1::uuid]")
#define CHANGED_TIME  TS("changed")

/* The states of own computer $1 changed after $2 (NULL: all). */
static const char own_states_sql[] =
    "WITH " STATES_OF_ONE " SELECT uid::text, state, " CHANGED_TIME " FROM m WHERE"
    " $2::timestamptz IS NULL OR changed > $2::timestamptz ORDER BY 1";

PGresult *rollup_send_states(PGconn *db, const char *id, int own, const char *since)
{
    const char *p[2] = {id, since != NULL && since[0] != '\0' ? since : NULL};

    if (own) /* the states `wsusctl report` counts: status event (156), later events */
        return db_exec(db, own_states_sql, 2, p);
    return db_exec(db,
                   "SELECT update_id::text, state, " TS(
                       "last_change") " FROM rollup_status WHERE computer_id = $1 AND "
                                      "($2::timestamptz IS NULL OR "
                                      "last_change > $2::timestamptz) ORDER BY 1",
                   2, p);
}

int rollup_send_status_sent(PGconn *db, const char *json)
{
    const char *p[1] = {json};

    return db_cmd(db,
                  "UPDATE rollup_sent s SET rollup_number = (x->>'number')::integer, status_time "
                  "= coalesce((x->>'time')::timestamptz, s.status_time, now()), status_sent_at = "
                  "now() FROM json_array_elements($1::json) x WHERE s.computer_id = x->>'id'",
                  1, p);
}

int rollup_send_forget_gone(PGconn *db)
{
    return db_cmd(db,
                  "DELETE FROM rollup_sent s WHERE NOT EXISTS (SELECT 1 FROM rollup_computer r "
                  "WHERE r.computer_id = s.computer_id) AND CASE WHEN s.computer_id ~ "
                  "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN NOT "
                  "EXISTS (SELECT 1 FROM computer c WHERE c.id = s.computer_id::uuid) ELSE true "
                  "END",
                  0, NULL);
}

int rollup_send_reset(PGconn *db)
{
    return db_cmd(db, "DELETE FROM rollup_sent", 0, NULL);
}

long rollup_send_count(PGconn *db)
{
    PGresult *res = db_exec(db, "SELECT count(*) FROM rollup_sent", 0, NULL);
    long n;

    if (res == NULL)
        return -1;
    n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}
