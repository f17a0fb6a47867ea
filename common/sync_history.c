/*
 * sync_history: reads of the sync_history table (see sync_history.h). Times come back as
 * epoch seconds computed by PostgreSQL, so no time zone handling is needed here.
 */
#include "sync_history.h"
#include "db.h"
#include "strutil.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define ROW_COLUMNS                                                                                \
    "SELECT id, result, coalesce(phase, ''), coalesce(error, ''), "                                \
    "extract(epoch FROM started_at)::bigint, "                                                     \
    "coalesce(extract(epoch FROM finished_at)::bigint, 0), "                                       \
    "coalesce((detail->>'progress_at')::bigint, 0), files, bytes FROM sync_history "

static int history_row(PGconn *db, const char *sql, struct sync_history_row *out)
{
    PGresult *r = db_exec_retry(db, sql, 0, NULL);
    int64_t b;

    memset(out, 0, sizeof(*out));
    if (r == NULL)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    if (str_to_long(PQgetvalue(r, 0, 0), 0, LONG_MAX, &out->id) < 0)
        out->id = 0;
    snprintf(out->result, sizeof(out->result), "%s", PQgetvalue(r, 0, 1));
    snprintf(out->phase, sizeof(out->phase), "%s", PQgetvalue(r, 0, 2));
    snprintf(out->error, sizeof(out->error), "%s", PQgetvalue(r, 0, 3));
    if (str_to_int64(PQgetvalue(r, 0, 4), 0, INT64_MAX, &b) == 0)
        out->started_at = (time_t)b;
    if (str_to_int64(PQgetvalue(r, 0, 5), 0, INT64_MAX, &b) == 0)
        out->finished_at = (time_t)b;
    if (str_to_int64(PQgetvalue(r, 0, 6), 0, INT64_MAX, &b) == 0)
        out->progress_at = (time_t)b;
    if (str_to_int64(PQgetvalue(r, 0, 7), 0, LONG_MAX, &b) == 0)
        out->files = (long)b;
    if (str_to_int64(PQgetvalue(r, 0, 8), 0, INT64_MAX, &b) == 0)
        out->bytes = b;
    PQclear(r);
    return 1;
}

int sync_history_last_finished(PGconn *db, struct sync_history_row *out)
{
    return history_row(db,
                       ROW_COLUMNS "WHERE kind = 'sync' AND result <> 'running' "
                                   "ORDER BY id DESC LIMIT 1",
                       out);
}

int sync_history_running(PGconn *db, struct sync_history_row *out)
{
    return history_row(db,
                       ROW_COLUMNS "WHERE kind = 'sync' AND result = 'running' "
                                   "ORDER BY id DESC LIMIT 1",
                       out);
}

int sync_history_lock_held(PGconn *db, long key)
{
    char k[24];
    const char *p[1] = {k};
    PGresult *r;
    int held;

    if (snprintf(k, sizeof(k), "%ld", key) >= (int)sizeof(k))
        return -1;
    /* a bigint advisory key is recorded as classid = high 32 bits, objid = low 32 bits */
    r = db_exec_retry(db,
                      "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
                      "granted AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE "
                      "datname = current_database()) AND classid::bigint = ($1::bigint >> 32) AND "
                      "objid::bigint = ($1::bigint & 4294967295))",
                      1, p);
    if (r == NULL)
        return -1;
    held = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return held;
}
