/*
 * client_report: compliance per update for a scope of computers (see client_report.h).
 */
#include "client_report.h"

#include <string.h>

#include "db.h"
#include "strutil.h"

static const char report_sql[] =
    "WITH RECURSIVE scope AS (SELECT c.id, c.last_contact, c.last_sync FROM computer c"
    " WHERE $1::text IS NULL OR lower($1) = 'all computers' OR EXISTS (SELECT 1 FROM"
    " target_group t WHERE lower(t.name) = lower($1) AND (t.id IN (SELECT group_id FROM"
    " computer_group WHERE computer_id = c.id) OR (t.id ="
    " 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND NOT EXISTS (SELECT 1 FROM computer_group"
    " WHERE computer_id = c.id))))), mine(cid, gid) AS (SELECT s.id, g.group_id FROM"
    " scope s JOIN computer_group g ON g.computer_id = s.id UNION ALL SELECT s.id,"
    " 'b73ca6ed-5727-47f3-84de-015e03f6a88a'::uuid FROM scope s WHERE NOT EXISTS (SELECT"
    " 1 FROM computer_group g WHERE g.computer_id = s.id)), chain(cid, gid, depth) AS"
    " (SELECT cid, gid, 0 FROM mine UNION SELECT c.cid, t.parent_id, c.depth + 1 FROM"
    " chain c JOIN target_group t ON t.id = c.gid WHERE c.depth < 32 AND t.parent_id IS"
    " NOT NULL), dep AS (SELECT DISTINCT ON (c.cid, d.update_id) c.cid, d.update_id,"
    " d.action FROM deployment d JOIN chain c ON c.gid = d.target_group_id WHERE NOT"
    " d.dead ORDER BY c.cid, d.update_id, c.depth, d.action = 3, d.action, d.change_seq"
    " DESC), need AS (SELECT dep.cid, dep.update_id FROM dep WHERE dep.action = 0 AND NOT"
    " EXISTS (SELECT 1 FROM declined_update x WHERE x.update_id = dep.update_id) AND"
    " ($2::text IS NULL OR dep.update_id IN (SELECT update_id FROM revision WHERE"
    " update_id::text = lower($2) OR kb_article_id = regexp_replace($2, '^[Kk][Bb]',"
    " '')))), last AS (SELECT DISTINCT ON (e.computer_id, e.update_id) e.computer_id,"
    " e.update_id, e.event_id FROM client_event e JOIN need n ON n.cid = e.computer_id"
    " AND n.update_id = e.update_id ORDER BY e.computer_id, e.update_id, e.id DESC), r AS"
    " (SELECT n.update_id, count(*) AS approved, count(*) FILTER (WHERE l.event_id = 183)"
    " AS inst, count(*) FILTER (WHERE l.event_id = 162) AS dl, count(*) FILTER (WHERE"
    " l.event_id IN (161, 182)) AS failed FROM need n LEFT JOIN last l ON l.computer_id ="
    " n.cid AND l.update_id = n.update_id GROUP BY n.update_id) SELECT r.update_id::text,"
    " coalesce(v.title, ''), coalesce(v.kb_article_id, ''), r.approved, r.approved -"
    " r.inst - r.failed, r.dl, r.inst, r.failed FROM r LEFT JOIN LATERAL (SELECT title,"
    " kb_article_id FROM revision x WHERE x.update_id = r.update_id ORDER BY"
    " x.revision_number DESC LIMIT 1) v ON true ORDER BY lower(coalesce(v.title, '')),"
    " r.update_id";

static const char totals_sql[] =
    "WITH scope AS (SELECT c.id, c.last_contact, c.last_sync FROM computer c WHERE"
    " $1::text IS NULL OR lower($1) = 'all computers' OR EXISTS (SELECT 1 FROM"
    " target_group t WHERE lower(t.name) = lower($1) AND (t.id IN (SELECT group_id FROM"
    " computer_group WHERE computer_id = c.id) OR (t.id ="
    " 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND NOT EXISTS (SELECT 1 FROM computer_group"
    " WHERE computer_id = c.id))))) SELECT count(*), count(*) FILTER (WHERE last_sync IS"
    " NULL OR last_contact < now() - interval '30 days') FROM scope";

static long col_long(const PGresult *res, int row, int col)
{
    long v = 0;

    if (str_to_long(PQgetvalue(res, row, col), 0, 2147483647L, &v) < 0)
        v = 0;
    return v;
}

int client_report(PGconn *db, const char *group_name, const char *update,
                  struct client_report_totals *tot,
                  int (*cb)(void *arg, const struct client_report_row *row), void *arg)
{
    const char *p[2] = {group_name, update};
    PGresult *res;
    int i, rc = 0;

    if (db_cmd(db, "SET jit = off", 0, NULL) < 0) /* see client_scan_load */
        return -1;
    res = db_exec(db, totals_sql, 1, p);
    if (res == NULL)
        return -1;
    tot->computers = col_long(res, 0, 0);
    tot->not_reporting = col_long(res, 0, 1);
    PQclear(res);
    res = db_exec(db, report_sql, 2, p);
    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct client_report_row r;

        memset(&r, 0, sizeof(r));
        if (str_copy(r.update_id, sizeof(r.update_id), PQgetvalue(res, i, 0)) < 0)
            continue;
        if (str_copy(r.title, sizeof(r.title), PQgetvalue(res, i, 1)) < 0)
            r.title[0] = '\0';
        if (str_copy(r.kb, sizeof(r.kb), PQgetvalue(res, i, 2)) < 0)
            r.kb[0] = '\0';
        r.approved = col_long(res, i, 3);
        r.needed = col_long(res, i, 4);
        r.downloaded = col_long(res, i, 5);
        r.installed = col_long(res, i, 6);
        r.failed = col_long(res, i, 7);
        rc = cb(arg, &r);
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}
