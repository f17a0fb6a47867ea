/*
 * downstream_report: the downstream_server table (see downstream_report.h).
 */
#include "downstream_report.h"
#include "db.h"
#include "xmalloc.h"

#include <stdio.h>
#include <string.h>

#include "strutil.h"

PGresult *downstream_report_counts(PGconn *db)
{
    return db_exec(db, "SELECT count(*), count(last_sync) FROM downstream_server", 0, NULL);
}

PGresult *downstream_report_synchronized(PGconn *db, int limit)
{
    char n[DB_PARAM_INT_LEN];
    const char *p[1] = {n};

    db_param_int(n, limit > 0 ? limit : 1);
    return db_exec(db,
                   "SELECT account_guid::text, account_name, "
                   "extract(epoch FROM last_contact)::bigint, "
                   "extract(epoch FROM last_sync)::bigint FROM downstream_server "
                   "WHERE last_sync IS NOT NULL ORDER BY account_name, account_guid LIMIT $1",
                   1, p);
}

PGresult *downstream_report_list(PGconn *db)
{
    return db_exec(
        db,
        "SELECT account_guid::text, account_name, protocol_version, "
        "  to_char(first_contact AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "  to_char(last_contact AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "  to_char(last_sync AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), address "
        "FROM downstream_server ORDER BY lower(account_name), account_guid",
        0, NULL);
}

char *downstream_report_name(PGconn *db, const char *guid)
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

int downstream_report_seen(PGconn *db, const char *guid, const char *name, const char *peer)
{
    char lim[DB_PARAM_INT_LEN], cap[DB_PARAM_INT_LEN];
    const char *p[5] = {guid, name, peer, lim, cap};
    PGresult *res;
    int rc = -1;

    db_param_int(lim, DOWNSTREAM_REPORT_NEW_PER_HOUR);
    db_param_int(cap, DOWNSTREAM_REPORT_MAX_NEW);
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

int downstream_report_cookie(PGconn *db, const char *guid, const char *version)
{
    const char *p[2] = {guid, version};

    return db_cmd(db,
                  "INSERT INTO downstream_server (account_guid, account_name, protocol_version)"
                  " VALUES ($1, '', $2) ON CONFLICT (account_guid) DO UPDATE SET"
                  " protocol_version = EXCLUDED.protocol_version, last_contact = now()",
                  2, p);
}

int downstream_report_touch(PGconn *db, const char *guid, int synced)
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

int downstream_report_by_address(PGconn *db, const char *address, long max_age, char out[37])
{
    char age[DB_PARAM_INT_LEN];
    const char *p[2] = {address, age};
    PGresult *r;
    int rc;

    db_param_int(age, max_age);
    r = db_exec(db,
                "SELECT account_guid::text FROM downstream_server WHERE address = $1 AND"
                " last_contact > now() - $2::int * interval '1 second' LIMIT 2",
                2, p);
    if (r == NULL)
        return -1;
    rc = PQntuples(r) == 1 ? 1 : PQntuples(r) == 0 ? 0 : 2;
    if (rc == 1 && str_copy(out, 37, PQgetvalue(r, 0, 0)) < 0)
        rc = -1;
    PQclear(r);
    return rc;
}
