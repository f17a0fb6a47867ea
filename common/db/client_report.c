/*
 * client_report: compliance per update for a scope of computers (see client_report.h).
 */
#include "client_report.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "strutil.h"
#include "xmalloc.h"

#define STR_(x)   #x
#define STR_OF(x) STR_(x)

/*
 * The one rule of what a computer says of an update, over l (its last event of the update:
 * event_id, received_at), cs (its computer_status row) and us (its computer_update_status row
 * for the update): a later download/install event overrides its status event's verdict; a
 * computer with a status but no entry for the update: not_applicable; NULL = no verdict.
 */
#define CLIENT_STATE_RULE                                                                          \
    " CASE WHEN l.event_id IS NOT NULL AND (cs.reported_at IS NULL OR l.received_at >"             \
    " cs.reported_at) THEN CASE WHEN l.event_id = 183 THEN 'installed' WHEN l.event_id = 162"      \
    " THEN 'downloaded' WHEN l.event_id IN (161, 182) THEN 'failed' END WHEN cs.computer_id IS"    \
    " NOT NULL THEN coalesce(us.state, 'not_applicable') END"

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
    " e.update_id, e.event_id, e.received_at FROM client_event e JOIN need n ON n.cid ="
    " e.computer_id AND n.update_id = e.update_id ORDER BY e.computer_id, e.update_id, e.id"
    " DESC), st AS (SELECT n.cid, n.update_id, cs.computer_id IS NOT NULL AS "
    "verdict," CLIENT_STATE_RULE " AS state FROM need n LEFT JOIN"
    " last l ON l.computer_id = n.cid AND l.update_id = n.update_id LEFT JOIN computer_status"
    " cs ON cs.computer_id = n.cid LEFT JOIN computer_update_status us ON us.computer_id ="
    " n.cid AND us.update_id = n.update_id), r AS (SELECT update_id, count(*) AS approved,"
    " count(*) FILTER (WHERE state IN ('installed', 'pending_reboot')) AS inst, count(*)"
    " FILTER (WHERE state = 'downloaded') AS dl, count(*) FILTER (WHERE state = 'failed') AS"
    " failed, count(*) FILTER (WHERE state IN ('needed', 'downloaded') OR (state IS NULL AND"
    " NOT verdict)) AS needed, count(*) FILTER (WHERE state = 'not_applicable') AS na,"
    " count(*) FILTER (WHERE NOT verdict) AS inferred FROM st GROUP BY update_id) SELECT"
    " r.update_id::text, coalesce(v.title, ''), coalesce(v.kb_article_id, ''), r.approved,"
    " r.needed, r.dl, r.inst, r.failed, r.na, r.inferred FROM r LEFT JOIN LATERAL (SELECT"
    " title, kb_article_id FROM revision x WHERE x.update_id = r.update_id ORDER BY"
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
        r.not_applicable = col_long(res, i, 8);
        r.inferred = col_long(res, i, 9);
        rc = cb(arg, &r);
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

/* The updates one computer ($1) mentioned (status event or events), each by the rule. */
static const char computer_sql[] =
    "WITH x AS (SELECT update_id FROM computer_update_status WHERE computer_id = $1::uuid"
    " UNION SELECT update_id FROM client_event WHERE computer_id = $1::uuid AND update_id IS"
    " NOT NULL) SELECT x.update_id::text, coalesce((SELECT r.title FROM revision r WHERE"
    " r.update_id = x.update_id ORDER BY r.revision_number DESC LIMIT 1), ''),"
    " coalesce(l.event_id, 0), coalesce(l.hresult, 0), coalesce(to_char(CASE WHEN"
    " cs.reported_at IS NOT NULL AND (l.received_at IS NULL OR cs.reported_at >="
    " l.received_at) THEN cs.reported_at ELSE coalesce(l.time_at_target, l.received_at) END"
    " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce(" CLIENT_STATE_RULE
    ", 'reported') FROM x LEFT JOIN LATERAL (SELECT e.event_id, e.hresult, e.time_at_target,"
    " e.received_at FROM client_event e WHERE e.computer_id = $1::uuid AND e.update_id ="
    " x.update_id ORDER BY e.id DESC LIMIT 1) l ON true LEFT JOIN computer_status cs ON"
    " cs.computer_id = $1::uuid LEFT JOIN computer_update_status us ON us.computer_id ="
    " $1::uuid AND us.update_id = x.update_id ORDER BY 2, 1";

int client_report_computer(PGconn *db, const char *id,
                           int (*cb)(void *arg, const struct computer_update_status *st), void *arg)
{
    const char *p[1] = {id};
    PGresult *res;
    int i, rc = 0;

    res = db_exec(db, computer_sql, 1, p);
    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct computer_update_status st;
        long ev = 0, hr = 0;

        memset(&st, 0, sizeof(st));
        if (str_copy(st.update_id, sizeof(st.update_id), PQgetvalue(res, i, 0)) < 0 ||
            str_to_long(PQgetvalue(res, i, 2), 0, 65535, &ev) < 0 ||
            str_to_long(PQgetvalue(res, i, 3), -2147483647L - 1, 2147483647L, &hr) < 0)
            continue;
        str_copy_cut(st.title, sizeof(st.title), PQgetvalue(res, i, 1));
        st.event_id = (int)ev;
        st.hresult = (int32_t)hr;
        str_copy_cut(st.time, sizeof(st.time), PQgetvalue(res, i, 4));
        str_copy_cut(st.status, sizeof(st.status), PQgetvalue(res, i, 5));
        rc = cb(arg, &st);
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

/* A page of computers after $1 (by id): the ones with an entry changed after $2 (NULL: all). */
static const char rollup_computers_sql[] =
    "SELECT c.id::text, c.name, c.address, coalesce(c.os_version, ''),"
    " coalesce(to_char(c.last_sync AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''),"
    " coalesce(to_char(s.reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')"
    " FROM computer c LEFT JOIN computer_status s ON s.computer_id = c.id"
    " WHERE ($1::uuid IS NULL OR c.id > $1::uuid) AND ($2::timestamptz IS NULL OR s.reported_at > "
    "$2::timestamptz"
    " OR EXISTS (SELECT 1 FROM client_event e WHERE e.computer_id = c.id AND e.event_id IN"
    " (161, 162, 182, 183) AND e.update_id IS NOT NULL AND e.received_at > $2::timestamptz))"
    " ORDER BY c.id LIMIT " STR_OF(CLIENT_ROLLUP_PAGE);

/* The effective state of each update of the computers $1 (uuid[]) changed after $2. */
static const char rollup_updates_sql[] =
    "WITH ev AS (SELECT DISTINCT ON (e.computer_id, e.update_id) e.computer_id, e.update_id,"
    " e.event_id, e.received_at FROM client_event e WHERE e.computer_id = ANY($1::uuid[]) AND"
    " e.event_id IN (161, 162, 182, 183) AND e.update_id IS NOT NULL ORDER BY e.computer_id,"
    " e.update_id, e.id DESC), st AS (SELECT u.computer_id, u.update_id, u.state,"
    " s.reported_at FROM computer_update_status u JOIN computer_status s USING (computer_id)"
    " WHERE u.computer_id = ANY($1::uuid[])), m AS (SELECT coalesce(st.computer_id,"
    " ev.computer_id) AS cid, coalesce(st.update_id, ev.update_id) AS uid, CASE WHEN"
    " ev.event_id IS NOT NULL AND (st.reported_at IS NULL OR ev.received_at > st.reported_at)"
    " THEN CASE ev.event_id WHEN 183 THEN 4 WHEN 162 THEN 3 ELSE 5 END ELSE CASE st.state WHEN"
    " 'needed' THEN 2 WHEN 'downloaded' THEN 3 WHEN 'failed' THEN 5 WHEN 'installed' THEN 4"
    " ELSE 6 END END AS state, CASE WHEN ev.event_id IS NOT NULL AND (st.reported_at IS NULL"
    " OR ev.received_at > st.reported_at) THEN ev.received_at ELSE st.reported_at END AS"
    " changed FROM st FULL JOIN ev ON ev.computer_id = st.computer_id AND ev.update_id ="
    " st.update_id) SELECT cid::text, uid::text, state, to_char(changed AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM m WHERE $2::timestamptz IS NULL OR changed >"
    " $2::timestamptz ORDER BY cid, uid";

/* Rows of rollup_updates_sql for one page: the updates of each computer. */
static int rollup_page(PGconn *db, PGresult *comps, const char *since,
                       int (*cb)(void *arg, const struct client_rollup_computer *c), void *arg)
{
    int nc = PQntuples(comps), i, k = 0, nu, rc = 0;
    struct client_rollup_update *u;
    struct buf ids;
    const char *p[2];
    PGresult *res;

    buf_init(&ids, 16 + (size_t)nc * 38);
    buf_add_str(&ids, "{");
    for (i = 0; i < nc; i++)
        buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(comps, i, 0));
    buf_add_str(&ids, "}");
    p[0] = buf_str(&ids);
    p[1] = since;
    res = db_exec(db, rollup_updates_sql, 2, p);
    buf_free(&ids);
    if (res == NULL)
        return -1;
    nu = PQntuples(res);
    u = xcalloc((size_t)nu + 1, sizeof(*u));
    for (i = 0; i < nc && rc == 0; i++) {
        struct client_rollup_computer c;
        const char *id = PQgetvalue(comps, i, 0);
        int first = k;
        long st;

        memset(&c, 0, sizeof(c));
        str_copy_cut(c.computer_id, sizeof(c.computer_id), id);
        if (str_copy(c.name, sizeof(c.name), PQgetvalue(comps, i, 1)) < 0)
            c.name[0] = '\0';
        if (str_copy(c.address, sizeof(c.address), PQgetvalue(comps, i, 2)) < 0)
            c.address[0] = '\0';
        if (str_copy(c.os_version, sizeof(c.os_version), PQgetvalue(comps, i, 3)) < 0)
            c.os_version[0] = '\0';
        str_copy_cut(c.last_sync, sizeof(c.last_sync), PQgetvalue(comps, i, 4));
        str_copy_cut(c.last_status, sizeof(c.last_status), PQgetvalue(comps, i, 5));
        for (; k < nu && strcmp(PQgetvalue(res, k, 0), id) == 0; k++) {
            struct client_rollup_update *x = &u[k];

            if (str_copy(x->update_id, sizeof(x->update_id), PQgetvalue(res, k, 1)) < 0 ||
                str_to_long(PQgetvalue(res, k, 2), 0, 6, &st) < 0)
                continue;
            x->state = (int)st;
            str_copy_cut(x->changed, sizeof(x->changed), PQgetvalue(res, k, 3));
        }
        c.updates = u + first;
        c.n = (size_t)(k - first);
        rc = cb(arg, &c);
    }
    free(u);
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

int client_report_rollup(PGconn *db, const char *since,
                         int (*cb)(void *arg, const struct client_rollup_computer *c), void *arg)
{
    char after[37] = "";

    for (;;) {
        const char *p[2] = {after[0] ? after : NULL, since};
        PGresult *comps = db_exec(db, rollup_computers_sql, 2, p);
        int n, rc;

        if (comps == NULL)
            return -1;
        n = PQntuples(comps);
        if (n == 0) {
            PQclear(comps);
            return 0;
        }
        str_copy_cut(after, sizeof(after), PQgetvalue(comps, n - 1, 0));
        rc = rollup_page(db, comps, since, cb, arg);
        PQclear(comps);
        if (rc < 0 || n < CLIENT_ROLLUP_PAGE)
            return rc;
    }
}
