/*
 * downstream_report: the downstream_server views (see downstream_report.h).
 */
#include "downstream_report.h"
#include "db.h"

#include <stdio.h>

#include "strutil.h"

PGresult *downstream_report_counts(PGconn *db)
{
    return db_exec(db, "SELECT count(*), count(last_sync) FROM downstream_server", 0, NULL);
}

PGresult *downstream_report_synchronized(PGconn *db, int limit)
{
    char n[16];
    const char *p[1] = {n};

    snprintf(n, sizeof(n), "%d", limit > 0 ? limit : 1);
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

int downstream_report_by_address(PGconn *db, const char *address, long max_age, char out[37])
{
    char age[24];
    const char *p[2] = {address, age};
    PGresult *r;
    int rc;

    if (snprintf(age, sizeof(age), "%ld", max_age) >= (int)sizeof(age))
        return -1;
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
