/*
 * rollup_send: the reads and records of the downstream side of the reporting rollup (see
 * rollup_send.h). Every statement of the rollup_sent table and of the rollup's reads is here.
 */
#include "rollup_send.h"
#include "db.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* xsd:dateTime text of a timestamptz expression, "" for NULL */
#define TS(x)                                                                                      \
    "coalesce(to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')"

/* the last event of each (computer, update): what the status of an update on a computer is */
#define LAST_EVENTS                                                                                \
    "SELECT DISTINCT ON (e.computer_id, e.update_id) e.computer_id, e.update_id, e.event_id, "     \
    "e.received_at FROM client_event e WHERE e.update_id IS NOT NULL "                             \
    "ORDER BY e.computer_id, e.update_id, e.id DESC"

/* a rolled-up computer that is not also one of this server's own (CASE keeps the cast safe) */
#define NOT_OWN(col)                                                                               \
    "CASE WHEN " col " ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "        \
    "THEN NOT EXISTS (SELECT 1 FROM computer c WHERE c.id = (" col ")::uuid) ELSE true END"

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

PGresult *rollup_send_summary(PGconn *db, const char *catalog_counts)
{
    const char *p[1] = {catalog_counts};

    /* COALESCE evaluates a subquery only when the count was not given: a given one costs
     * nothing, an unknown one reads the whole catalog */
    return db_exec(
        db,
        "WITH u AS (SELECT DISTINCT update_id FROM revision WHERE update_type IN "
        "('Software', 'Driver')), "
        "d AS (SELECT update_id FROM declined_update), "
        "a AS (SELECT DISTINCT update_id FROM deployment WHERE NOT dead AND action IN (0, 1)), "
        "l AS (" LAST_EVENTS ") "
        "SELECT coalesce(($1::bigint[])[1], (SELECT count(*) FROM u)), "
        " coalesce(($1::bigint[])[2], (SELECT count(*) FROM u JOIN d USING (update_id))), "
        " coalesce(($1::bigint[])[3], (SELECT count(*) FROM u JOIN a USING (update_id) WHERE NOT "
        "  EXISTS (SELECT 1 FROM d WHERE d.update_id = u.update_id))), "
        " coalesce(($1::bigint[])[4], (SELECT count(*) FROM u WHERE NOT EXISTS (SELECT 1 FROM d "
        "  WHERE d.update_id = u.update_id) AND NOT EXISTS (SELECT 1 FROM a WHERE a.update_id = "
        "  u.update_id))), "
        " coalesce(($1::bigint[])[5], (SELECT count(DISTINCT p.update_id) FROM deployment p WHERE "
        "  NOT p.dead AND p.action IN (0, 1) AND EXISTS (SELECT 1 FROM revision r WHERE "
        "  r.update_id = p.update_id AND r.revision_number > p.revision_number))), "
        " coalesce(($1::bigint[])[6], (SELECT count(DISTINCT r.update_id) FROM revision r WHERE "
        "  r.publication_state = 'Expired' AND r.update_type IN ('Software', 'Driver') AND NOT "
        "  EXISTS (SELECT 1 FROM a WHERE a.update_id = r.update_id))), "
        " 0, 0, "
        " (SELECT count(DISTINCT update_id) FROM l WHERE event_id IN (161, 182)), "
        " 0, 0, 0, 0, "
        " (SELECT count(*) FROM target_group WHERE NOT is_builtin), "
        " (SELECT count(*) FROM computer), "
        " 0, "
        " (SELECT count(DISTINCT computer_id) FROM l WHERE event_id IN (161, 182)), "
        " 0",
        1, p);
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
    "CASE WHEN c.id IS NOT NULL THEN (SELECT max(e.received_at) FROM client_event e WHERE "        \
    "e.computer_id = c.id AND e.update_id IS NOT NULL) ELSE (SELECT max(st.last_change) FROM "     \
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

PGresult *rollup_send_states(PGconn *db, const char *id, int own, const char *since)
{
    const char *p[2] = {id, since != NULL && since[0] != '\0' ? since : NULL};

    if (own)
        return db_exec(
            db,
            "SELECT l.update_id::text, CASE l.event_id WHEN 183 THEN 4 WHEN 162 THEN 3 "
            "WHEN 161 THEN 5 WHEN 182 THEN 5 ELSE 0 END, " TS(
                "l.received_at") " FROM (SELECT DISTINCT ON (e.update_id) e.update_id, e.event_id, "
                                 "e.received_at FROM client_event e WHERE e.computer_id = $1::uuid "
                                 "AND "
                                 "e.update_id IS NOT NULL ORDER BY e.update_id, e.id DESC) l WHERE "
                                 "$2::timestamptz IS NULL OR l.received_at > $2::timestamptz ORDER "
                                 "BY 1",
            2, p);
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
