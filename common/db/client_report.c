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

/* The computers in scope: those of group $1 (NULL or "All Computers": all; "Unassigned
   Computers": those in no group). */
#define SCOPE_SQL                                                                                  \
    "scope AS (SELECT c.id, c.last_contact, c.last_sync FROM computer c"                           \
    " WHERE $1::text IS NULL OR lower($1) = 'all computers' OR EXISTS (SELECT 1 FROM"              \
    " target_group t WHERE lower(t.name) = lower($1) AND (t.id IN (SELECT group_id FROM"           \
    " computer_group WHERE computer_id = c.id) OR (t.id ="                                         \
    " 'b73ca6ed-5727-47f3-84de-015e03f6a88a' AND NOT EXISTS (SELECT 1 FROM computer_group"         \
    " WHERE computer_id = c.id)))))"

/* The updates matching $2 (an update id or a KB number; NULL: all), over need's update_id. */
#define UPDATE_FILTER_SQL                                                                          \
    "$2::text IS NULL OR dep.update_id IN (SELECT update_id FROM revision WHERE"                   \
    " update_id::text = lower($2) OR kb_article_id = regexp_replace($2, '^[Kk][Bb]', ''))"

#define STATES_IN_SCOPE CLIENT_REPORT_SQL_STATES(UPDATE_FILTER_SQL)
#define STALE_DAYS_SQL  STR_OF(CLIENT_REPORT_STALE_DAYS)

/* One row per update (update_id NULL when there is none), each with the computer counts of
   the scope: needing an update, with a failed one, up to date (one evaluation of the rule). */
static const char report_sql[] =
    "WITH RECURSIVE " SCOPE_SQL ", " STATES_IN_SCOPE ", " CLIENT_REPORT_SQL_PER_COMPUTER
    ", k AS (SELECT " CLIENT_REPORT_SQL_COMPUTER_COUNTS " FROM pc), r AS (SELECT update_id,"
    " count(*) AS approved, count(*) FILTER (WHERE state IN ('installed', 'pending_reboot')) AS"
    " inst, count(*) FILTER (WHERE state = 'downloaded') AS dl, count(*) FILTER "
    "(WHERE " CLIENT_REPORT_SQL_FAILED
    ") AS failed, count(*) FILTER (WHERE " CLIENT_REPORT_SQL_NEEDED
    ") AS needed, count(*) FILTER (WHERE state = 'not_applicable') AS na, count(*) FILTER"
    " (WHERE NOT verdict) AS inferred FROM st GROUP BY update_id) SELECT r.update_id::text,"
    " coalesce(v.title, ''), coalesce(v.kb_article_id, ''), r.approved, r.needed, r.dl,"
    " r.inst, r.failed, r.na, r.inferred, k.* FROM k LEFT JOIN r ON true LEFT JOIN LATERAL"
    " (SELECT title, kb_article_id FROM revision x WHERE x.update_id = r.update_id ORDER BY"
    " x.revision_number DESC LIMIT 1) v ON true ORDER BY lower(coalesce(v.title, '')),"
    " r.update_id";

/* The computers in scope and those not reporting. */
static const char totals_sql[] =
    "WITH " SCOPE_SQL " SELECT count(*), count(*) FILTER (WHERE last_sync IS NULL OR"
    " last_contact < now() - interval '" STALE_DAYS_SQL " days') FROM scope";

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
    tot->needing = tot->with_errors = tot->up_to_date = 0;
    PQclear(res);
    res = db_exec(db, report_sql, 2, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) > 0) {
        tot->needing = col_long(res, 0, 10);
        tot->with_errors = col_long(res, 0, 11);
        tot->up_to_date = col_long(res, 0, 12);
    }
    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct client_report_row r;

        if (PQgetisnull(res, i, 0))
            continue; /* no update: the row only carries the computer counts */
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
#define STATES_OF_PAGE CLIENT_REPORT_SQL_ROLLUP_STATES("$1::uuid[]")

static const char rollup_updates_sql[] =
    "WITH " STATES_OF_PAGE " SELECT cid::text, uid::text, state, to_char(changed AT TIME ZONE"
    " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM m WHERE $2::timestamptz IS NULL OR"
    " changed > $2::timestamptz ORDER BY cid, uid";

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
