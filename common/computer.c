/*
 * computer: registration, contact and group membership of Windows computers (see computer.h).
 */
#include "computer.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "strutil.h"

/* Membership becomes exactly group_id; the anchor goes back to 0 when it changed. */
static int computer_set_group(PGconn *db, const char *id, const char *group_id)
{
    const char *p[2] = {id, group_id};
    PGresult *res;
    int changed;

    res = db_exec(db,
                  "SELECT count(*) FILTER (WHERE group_id <> $2::uuid) > 0 OR count(*) = 0"
                  " FROM computer_group WHERE computer_id = $1::uuid",
                  2, p);
    if (res == NULL)
        return -1;
    changed = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!changed)
        return 0;
    if (db_cmd(db, "DELETE FROM computer_group WHERE computer_id = $1::uuid", 1, p) < 0 ||
        db_cmd(db,
               "INSERT INTO computer_group (computer_id, group_id) VALUES ($1::uuid, $2::uuid)"
               " ON CONFLICT DO NOTHING",
               2, p) < 0 ||
        db_cmd(db, "UPDATE computer SET sync_anchor = 0 WHERE id = $1::uuid", 1, p) < 0)
        return -1;
    return 0;
}

int computer_group_by_name(PGconn *db, const char *name, char id[37])
{
    const char *p[1] = {name};
    PGresult *res;
    int rc = 0;

    res = db_exec(db,
                  "SELECT id::text FROM target_group WHERE lower(name) = lower($1)"
                  " AND id <> 'd374f42a-9be2-4163-a0fa-3c86a401b7a7' ORDER BY id LIMIT 1",
                  1, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        rc = str_copy(id, 37, PQgetvalue(res, 0, 0)) == 0 ? 1 : -1;
    }
    PQclear(res);
    return rc;
}

static int computer_update(PGconn *db, const char *id, const struct computer_info *in)
{
    const char *p[9] = {id,
                        in->name,
                        in->os_version,
                        in->os_description,
                        in->os_locale,
                        in->architecture,
                        in->manufacturer,
                        in->model,
                        in->client_version};
    PGresult *res;
    int n;

    res = db_exec(db,
                  "UPDATE computer SET name = $2, os_version = nullif($3, ''),"
                  " os_description = nullif($4, ''), os_locale = nullif($5, ''),"
                  " architecture = nullif($6, ''), manufacturer = nullif($7, ''),"
                  " model = nullif($8, ''), client_version = nullif($9, ''),"
                  " registered_at = now(), last_contact = now()"
                  " WHERE id = $1::uuid RETURNING 1",
                  9, p);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    PQclear(res);
    return n == 1 ? 1 : 0;
}

int computer_register(PGconn *db, const char *id, const char *peer,
                      const struct computer_info *info, const char *group_id, long per_hour)
{
    char lim[24], cap[24];
    PGresult *res;
    int found, full;

    if (db_begin(db) < 0)
        return -1;
    found = computer_update(db, id, info);
    if (found < 0)
        goto fail;
    if (found == 0) {
        const char *p[3] = {peer, lim, cap};

        /* a new id: one at a time, so the counts below hold */
        if (snprintf(lim, sizeof(lim), "%ld", per_hour) >= (int)sizeof(lim) ||
            snprintf(cap, sizeof(cap), "%d", COMPUTER_MAX_ROWS) >= (int)sizeof(cap))
            goto fail;
        if (db_cmd(db, "SELECT pg_advisory_xact_lock(hashtext('wsusd-computers'))", 0, NULL) < 0)
            goto fail;
        res = db_exec(db,
                      "SELECT count(*) >= $2::bigint FROM computer WHERE address = $1"
                      " AND first_contact > now() - interval '1 hour'",
                      2, p);
        if (res == NULL)
            goto fail;
        full = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (full) {
            db_rollback(db);
            return 1;
        }
        /* make room: computers that never scanned go first, the oldest contact first */
        if (db_cmd(db,
                   "DELETE FROM computer WHERE id IN (SELECT id FROM computer"
                   " WHERE last_sync IS NULL ORDER BY last_contact DESC OFFSET $1::int - 1)",
                   1, p + 2) < 0)
            goto fail;
        res = db_exec(db, "SELECT count(*) >= $1::bigint FROM computer", 1, p + 2);
        if (res == NULL)
            goto fail;
        full = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (full) {
            db_rollback(db);
            return 1;
        }
        {
            const char *q[3] = {id, info->name, peer};

            if (db_cmd(db, "INSERT INTO computer (id, name, address) VALUES ($1::uuid, $2, $3)", 3,
                       q) < 0 ||
                computer_update(db, id, info) != 1)
                goto fail;
        }
    }
    if (group_id != NULL && computer_set_group(db, id, group_id) < 0)
        goto fail;
    if (db_commit(db) < 0)
        goto fail;
    return 0;
fail:
    db_rollback(db);
    return -1;
}

int computer_touch(PGconn *db, const char *id, const char *group_id)
{
    const char *p[1] = {id};
    PGresult *res;
    int n;

    if (db_begin(db) < 0)
        return -1;
    res = db_exec(db, "UPDATE computer SET last_contact = now() WHERE id = $1::uuid RETURNING 1", 1,
                  p);
    if (res == NULL)
        goto fail;
    n = PQntuples(res);
    PQclear(res);
    if (n == 1 && group_id != NULL && computer_set_group(db, id, group_id) < 0)
        goto fail;
    if (db_commit(db) < 0)
        goto fail;
    return n == 1 ? 1 : 0;
fail:
    db_rollback(db);
    return -1;
}

int computer_sync_anchor(PGconn *db, const char *id, int64_t *anchor)
{
    const char *p[1] = {id};
    PGresult *res;
    int rc = 0;

    res = db_exec(db, "SELECT sync_anchor FROM computer WHERE id = $1::uuid", 1, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        long long v = 0;

        if (sscanf(PQgetvalue(res, 0, 0), "%lld", &v) != 1)
            v = 0;
        *anchor = (int64_t)v;
        rc = 1;
    }
    PQclear(res);
    return rc;
}

int computer_synced(PGconn *db, const char *id, int64_t anchor)
{
    char a[24];
    const char *p[2] = {id, a};

    if (snprintf(a, sizeof(a), "%lld", (long long)anchor) >= (int)sizeof(a))
        return -1;
    return db_cmd(db,
                  "UPDATE computer SET last_sync = now(), last_contact = now(),"
                  " sync_anchor = $2::bigint WHERE id = $1::uuid",
                  2, p);
}

int computer_move(PGconn *db, const char *id, const char *group_id)
{
    const char *p[1] = {id};
    PGresult *res;
    int n;

    if (db_begin(db) < 0)
        return -1;
    res = db_exec(db, "SELECT 1 FROM computer WHERE id = $1::uuid FOR UPDATE", 1, p);
    if (res == NULL)
        goto fail;
    n = PQntuples(res);
    PQclear(res);
    if (n == 1 && computer_set_group(db, id, group_id) < 0)
        goto fail;
    if (db_commit(db) < 0)
        goto fail;
    return n;
fail:
    db_rollback(db);
    return -1;
}
