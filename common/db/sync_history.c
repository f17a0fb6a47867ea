/*
 * sync_history: reads of the sync_history table (see sync_history.h). Times come back as
 * epoch seconds computed by PostgreSQL, so no time zone handling is needed here.
 */
#include "sync_history.h"
#include "db.h"
#include "xmalloc.h"
#include "strutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_COLUMNS                                                                                \
    "SELECT id, result, coalesce(phase, ''), coalesce(error, ''), "                                \
    "extract(epoch FROM started_at)::bigint, "                                                     \
    "coalesce(extract(epoch FROM finished_at)::bigint, 0), "                                       \
    "coalesce((detail->>'progress_at')::bigint, 0), files, bytes, coalesce(front_end, '') "        \
    "FROM sync_history "

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
    str_copy_cut(out->front_end, sizeof(out->front_end), PQgetvalue(r, 0, 9));
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
    char k[DB_PARAM_INT_LEN];
    const char *p[1] = {k};
    PGresult *r;
    int held;

    db_param_int(k, key);
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

#define JSON_ROW_SQL                                                                               \
    "SELECT row_to_json(h)::text FROM (SELECT id, kind, trigger, started_at, finished_at, "        \
    "result, phase, upstream, new_revisions, updated_revisions, categories, files, bytes, "        \
    "error, detail, round(extract(epoch FROM (coalesce(finished_at, now()) - started_at)), "       \
    "3)::float8 AS seconds, front_end FROM sync_history WHERE "

PGresult *sync_history_json(PGconn *db, enum sync_history_pick pick, int with_imports,
                            const char *arg)
{
    /* status, cancel and "already running" are about synchronizations; the history shows
     * imports */
    const char *kinds = with_imports ? "kind IN ('sync', 'import') " : "kind = 'sync' ";
    const char *where_order = NULL;
    const char *p[1] = {arg};
    int n = 0;
    char *sql;
    PGresult *r;

    switch (pick) {
    case SYNC_HISTORY_BY_ID:
        where_order = "AND id = $1::bigint";
        n = 1;
        break;
    case SYNC_HISTORY_RUNNING:
        where_order = "AND result = 'running' ORDER BY id DESC LIMIT 1";
        break;
    case SYNC_HISTORY_LAST_FINISHED:
        where_order = "AND result <> 'running' ORDER BY id DESC LIMIT 1";
        break;
    case SYNC_HISTORY_NEWEST:
        where_order = "ORDER BY id DESC LIMIT $1::bigint";
        n = 1;
        break;
    }
    if (where_order == NULL)
        return NULL;
    sql = xasprintf("%s%s%s) h", JSON_ROW_SQL, kinds, where_order);
    r = db_exec(db, sql, n, n > 0 ? p : NULL);
    free(sql);
    return r;
}

long sync_history_import_start(PGconn *db, const char *pkg)
{
    const char *params[1] = {pkg};
    PGresult *r = db_exec(db,
                          "INSERT INTO sync_history (kind, trigger, phase, upstream)"
                          " VALUES ('import', 'manual', 'importing', $1) RETURNING id",
                          1, params);
    long id = -1;

    if (r != NULL && PQntuples(r) == 1)
        id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

int sync_history_import_finish(PGconn *db, long id, const char *result, const char *error,
                               long new_revisions, long categories, long files, long present,
                               const char *detail)
{
    char sid[DB_PARAM_INT_LEN], nr[DB_PARAM_INT_LEN], cat[DB_PARAM_INT_LEN], fl[DB_PARAM_INT_LEN],
        upd[DB_PARAM_INT_LEN];
    const char *params[8] = {sid, result, error, nr, cat, fl, upd, detail};

    db_param_int(sid, id);
    db_param_int(nr, new_revisions);
    db_param_int(cat, categories);
    db_param_int(fl, files);
    db_param_int(upd, present);
    return db_cmd(db,
                  "UPDATE sync_history SET finished_at = now(), result = $2, error = $3,"
                  " phase = NULL, new_revisions = $4, categories = $5, files = $6,"
                  " detail = $8::jsonb WHERE id = $1 AND $7::int >= 0",
                  8, params);
}

int sync_history_sync_fail_abandoned(PGconn *db)
{
    return db_cmd(db,
                  "UPDATE sync_history SET result = 'failed', finished_at = coalesce(finished_at, "
                  "now()), error = coalesce(error, 'wsusd stopped or lost its database during this "
                  "synchronization (crash, kill, power loss or database restart); the next "
                  "synchronization resumed it') WHERE result = 'running' "
                  "AND kind = 'sync'",
                  0, NULL);
}

long sync_history_sync_start(PGconn *db, const char *trigger, const char *upstream,
                             const char *front_end)
{
    const char *p[3] = {trigger, upstream, front_end};
    PGresult *r = db_exec(db,
                          "INSERT INTO sync_history (kind, trigger, upstream, phase, front_end) "
                          "VALUES ('sync', $1, $2, 'starting', $3) RETURNING id",
                          3, p);
    long id = -1;

    if (r != NULL && PQntuples(r) == 1)
        id = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

int sync_history_sync_progress(PGconn *db, long id, const char *phase, long new_revisions,
                               long updated_revisions, long categories, long files, int64_t bytes,
                               const char *detail)
{
    char hid[DB_PARAM_INT_LEN], nrev[DB_PARAM_INT_LEN], upd[DB_PARAM_INT_LEN],
        cats[DB_PARAM_INT_LEN], fl[DB_PARAM_INT_LEN], by[DB_PARAM_INT_LEN];
    const char *p[8] = {hid, phase, nrev, upd, cats, fl, by, detail};

    db_param_int(hid, id);
    db_param_int(nrev, new_revisions);
    db_param_int(upd, updated_revisions);
    db_param_int(cats, categories);
    db_param_int(fl, files);
    db_param_int(by, bytes);
    return db_cmd(db,
                  "UPDATE sync_history SET phase = $2, new_revisions = $3, updated_revisions = $4, "
                  "categories = $5, files = $6, bytes = $7, detail = $8::jsonb WHERE id = $1",
                  8, p);
}

int sync_history_sync_finish(PGconn *db, long id, const char *result, const char *error)
{
    char hid[DB_PARAM_INT_LEN];
    const char *p[3] = {hid, result, error};

    db_param_int(hid, id);
    return db_cmd(db,
                  "UPDATE sync_history SET result = $2, error = $3, finished_at = now(), phase = "
                  "'done' WHERE id = $1",
                  3, p);
}
