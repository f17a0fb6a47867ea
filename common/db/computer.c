/*
 * computer: registration, contact and group membership of Windows computers (see computer.h).
 */
#include "computer.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "strutil.h"

/* Rows a statement returned (-1 on error). */
static int computer_rows(PGconn *db, const char *sql, int n, const char *const *p)
{
    PGresult *res = db_exec(db, sql, n, p);
    int rows;

    if (res == NULL)
        return -1;
    rows = PQntuples(res);
    PQclear(res);
    return rows;
}

/* Membership becomes exactly group_id; the anchor goes back to 0 when it changed. */
static int computer_set_group(PGconn *db, const char *id, const char *group_id)
{
    const char *p[2] = {id, group_id};
    int changed;

    changed = db_exec_true(db,
                           "SELECT count(*) FILTER (WHERE group_id <> $2::uuid) > 0 OR count(*) = 0"
                           " FROM computer_group WHERE computer_id = $1::uuid",
                           2, p);
    if (changed < 0)
        return -1;
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

void computer_info_params(const struct computer_info *in, const char *p[COMPUTER_INFO_PARAMS])
{
    p[0] = in->name;
    p[1] = in->os_version;
    p[2] = in->os_description;
    p[3] = in->os_locale;
    p[4] = in->architecture;
    p[5] = in->manufacturer;
    p[6] = in->model;
    p[7] = in->client_version;
}

static int computer_update(PGconn *db, const char *id, const struct computer_info *in)
{
    const char *p[1 + COMPUTER_INFO_PARAMS] = {id};
    int n;

    computer_info_params(in, p + 1);

    n = computer_rows(db,
                      "UPDATE computer SET name = $2, os_version = nullif($3, ''),"
                      " os_description = nullif($4, ''), os_locale = nullif($5, ''),"
                      " architecture = nullif($6, ''), manufacturer = nullif($7, ''),"
                      " model = nullif($8, ''), client_version = nullif($9, ''),"
                      " registered_at = now(), last_contact = now()"
                      " WHERE id = $1::uuid RETURNING 1",
                      9, p);
    return n < 0 ? -1 : n == 1;
}

int computer_register(PGconn *db, const char *id, const char *peer,
                      const struct computer_info *info, const char *group_id, long per_hour)
{
    char lim[DB_PARAM_INT_LEN], cap[DB_PARAM_INT_LEN];
    int found, full, ok = 0;

    if (db_begin(db) < 0)
        return -1;
    found = computer_update(db, id, info);
    if (found < 0)
        goto fail;
    if (found == 0) {
        const char *p[3] = {peer, lim, cap};

        /* a new id: one at a time, so the counts below hold */
        db_param_int(lim, per_hour);
        db_param_int(cap, COMPUTER_MAX_ROWS);
        if (db_cmd(db, "SELECT pg_advisory_xact_lock(hashtext('wsusd-computers'))", 0, NULL) < 0)
            goto fail;
        full = db_exec_true(db,
                            "SELECT count(*) >= $2::bigint FROM computer WHERE address = $1"
                            " AND first_contact > now() - interval '1 hour'",
                            2, p);
        /* make room: computers that never scanned go first, the oldest contact first */
        if (full == 0 &&
            db_cmd(db,
                   "DELETE FROM computer WHERE id IN (SELECT id FROM computer"
                   " WHERE last_sync IS NULL ORDER BY last_contact DESC OFFSET $1::int - 1)",
                   1, p + 2) < 0)
            goto fail;
        if (full == 0)
            full = db_exec_true(db, "SELECT count(*) >= $1::bigint FROM computer", 1, p + 2);
        if (full < 0)
            goto fail;
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
    ok = 1;
fail:
    return db_end(db, ok);
}

int computer_touch(PGconn *db, const char *id, const char *group_id)
{
    const char *p[1] = {id};
    int n;

    if (db_begin(db) < 0)
        return -1;
    n = computer_rows(
        db, "UPDATE computer SET last_contact = now() WHERE id = $1::uuid RETURNING 1", 1, p);
    if (n < 0 || (n == 1 && group_id != NULL && computer_set_group(db, id, group_id) < 0) ||
        db_commit(db) < 0) {
        db_rollback(db);
        return -1;
    }
    return n == 1 ? 1 : 0;
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
    char a[DB_PARAM_INT_LEN];
    const char *p[2] = {id, a};

    db_param_int(a, anchor);
    return db_cmd(db,
                  "UPDATE computer SET last_sync = now(), last_contact = now(),"
                  " sync_anchor = $2::bigint WHERE id = $1::uuid",
                  2, p);
}

int computer_move(PGconn *db, const char *id, const char *group_id)
{
    const char *p[1] = {id};
    int n;

    if (db_begin(db) < 0)
        return -1;
    n = computer_rows(db, "SELECT 1 FROM computer WHERE id = $1::uuid FOR UPDATE", 1, p);
    if (n < 0 || (n == 1 && computer_set_group(db, id, group_id) < 0) || db_commit(db) < 0) {
        db_rollback(db);
        return -1;
    }
    return n == 1 ? 1 : 0;
}

/* Computers with their groups and, per update, the last event each reported (162 downloaded,
 * 183 installed, 161/182 failed). */
/* The computers computer_list() and computer_count() select (alias c): $1 a group name or NULL,
   $2 a computer id or NULL; a computer in no group is in Unassigned Computers. The page is
   taken before the per-computer event counts, so a page costs the same at any number of
   computers. */
#define COMPUTER_SELECTED                                                                          \
    "($2::uuid IS NULL OR c.id = $2::uuid) AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM "        \
    " target_group t WHERE lower(t.name) = lower($1) AND (t.id IN (SELECT group_id FROM "          \
    " computer_group WHERE computer_id = c.id) OR (t.id = 'b73ca6ed-5727-47f3-84de-015e03f6a88a'"  \
    " AND NOT EXISTS (SELECT 1 FROM computer_group WHERE computer_id = c.id)))))"

static const char list_sql[] =
    "SELECT c.id::text, c.name, c.address, coalesce(c.os_version, ''),"
    " coalesce(c.os_description, ''), coalesce(c.client_version, ''),"
    " coalesce(to_char(c.first_contact AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce(to_char(c.last_contact AT TIME"
    " ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " coalesce(to_char(c.registered_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce(to_char(c.last_sync AT TIME ZONE"
    " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce((SELECT string_agg(t.name,"
    " ', ' ORDER BY lower(t.name)) FROM computer_group g JOIN target_group t ON t.id ="
    " g.group_id WHERE g.computer_id = c.id), 'Unassigned Computers'), s.downloaded,"
    " s.installed, s.failed FROM (SELECT * FROM computer c WHERE " COMPUTER_SELECTED
    " ORDER BY lower(c.name), c.id LIMIT $3::bigint OFFSET $4::bigint) c"
    " CROSS JOIN LATERAL (SELECT count(*) FILTER"
    " (WHERE l.event_id = 162) AS downloaded, count(*) FILTER (WHERE l.event_id = 183) AS"
    " installed, count(*) FILTER (WHERE l.event_id IN (161, 182)) AS failed FROM (SELECT"
    " DISTINCT ON (e.update_id) e.update_id, e.event_id, e.hresult, e.time_at_target,"
    " e.received_at FROM client_event e WHERE e.computer_id = c.id AND e.update_id IS NOT"
    " NULL ORDER BY e.update_id, e.id DESC) l) s ORDER BY lower(c.name), c.id";

static const char status_sql[] =
    "SELECT l.update_id::text, coalesce((SELECT r.title FROM revision r WHERE r.update_id"
    " = l.update_id ORDER BY r.revision_number DESC LIMIT 1), ''), l.event_id, l.hresult,"
    " coalesce(to_char(coalesce(l.time_at_target, l.received_at) AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') FROM computer c CROSS JOIN LATERAL (SELECT"
    " DISTINCT ON (e.update_id) e.update_id, e.event_id, e.hresult, e.time_at_target,"
    " e.received_at FROM client_event e WHERE e.computer_id = c.id AND e.update_id IS NOT"
    " NULL ORDER BY e.update_id, e.id DESC) l WHERE c.id = $1::uuid ORDER BY 2, 1";

static void copy_col(char *out, size_t outlen, const PGresult *res, int row, int col)
{
    if (str_copy(out, outlen, PQgetvalue(res, row, col)) < 0)
        out[0] = '\0';
}

int computer_list(PGconn *db, const char *group_name, const char *id, long limit, long offset,
                  int (*cb)(void *arg, const struct computer_row *row), void *arg)
{
    char lim[DB_PARAM_INT_LEN], off[DB_PARAM_INT_LEN];
    const char *p[4] = {group_name, id, limit >= 0 ? db_param_int(lim, limit) : NULL,
                        db_param_int(off, offset > 0 ? offset : 0)};
    PGresult *res;
    int i, rc = 0;

    res = db_exec(db, list_sql, 4, p);
    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct computer_row r;
        long v[3];
        int k;

        memset(&r, 0, sizeof(r));
        copy_col(r.id, sizeof(r.id), res, i, 0);
        copy_col(r.name, sizeof(r.name), res, i, 1);
        copy_col(r.address, sizeof(r.address), res, i, 2);
        copy_col(r.os_version, sizeof(r.os_version), res, i, 3);
        copy_col(r.os_description, sizeof(r.os_description), res, i, 4);
        copy_col(r.client_version, sizeof(r.client_version), res, i, 5);
        copy_col(r.first_contact, sizeof(r.first_contact), res, i, 6);
        copy_col(r.last_contact, sizeof(r.last_contact), res, i, 7);
        copy_col(r.registered, sizeof(r.registered), res, i, 8);
        copy_col(r.last_sync, sizeof(r.last_sync), res, i, 9);
        copy_col(r.groups, sizeof(r.groups), res, i, 10);
        for (k = 0; k < 3; k++)
            if (str_to_long(PQgetvalue(res, i, 11 + k), 0, 2147483647L, &v[k]) < 0)
                v[k] = 0;
        r.downloaded = v[0];
        r.installed = v[1];
        r.failed = v[2];
        rc = cb(arg, &r);
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

long computer_count(PGconn *db, const char *group_name)
{
    const char *p[2] = {group_name, NULL};
    PGresult *res = db_exec(db, "SELECT count(*) FROM computer c WHERE " COMPUTER_SELECTED, 2, p);
    long n = -1;

    if (res != NULL && str_to_long(PQgetvalue(res, 0, 0), 0, LONG_MAX, &n) < 0)
        n = -1;
    PQclear(res);
    return n;
}

int computer_find(PGconn *db, const char *name_or_id, char id[37])
{
    const char *p[1] = {name_or_id};
    PGresult *res;
    int n;

    res = db_exec(db,
                  "SELECT id::text FROM computer WHERE id::text = lower($1)"
                  " OR lower(name) = lower($1) ORDER BY id::text = lower($1) DESC LIMIT 2",
                  1, p);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    if (n >= 1 && str_copy(id, 37, PQgetvalue(res, 0, 0)) < 0)
        n = -1;
    if (n == 2 && strcasecmp(PQgetvalue(res, 0, 0), name_or_id) == 0)
        n = 1; /* the id itself */
    PQclear(res);
    return n;
}

int computer_remove(PGconn *db, const char *id)
{
    const char *p[1] = {id};

    return computer_rows(db, "DELETE FROM computer WHERE id = $1::uuid RETURNING 1", 1, p);
}

int computer_update_statuses(PGconn *db, const char *id,
                             int (*cb)(void *arg, const struct computer_update_status *st),
                             void *arg)
{
    const char *p[1] = {id};
    PGresult *res;
    int i, rc = 0;

    res = db_exec(db, status_sql, 1, p);
    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct computer_update_status st;
        long ev = 0, hr = 0;

        memset(&st, 0, sizeof(st));
        copy_col(st.update_id, sizeof(st.update_id), res, i, 0);
        copy_col(st.title, sizeof(st.title), res, i, 1);
        if (str_to_long(PQgetvalue(res, i, 2), 0, 65535, &ev) < 0 ||
            str_to_long(PQgetvalue(res, i, 3), -2147483647L - 1, 2147483647L, &hr) < 0)
            continue;
        st.event_id = (int)ev;
        st.hresult = (int32_t)hr;
        copy_col(st.time, sizeof(st.time), res, i, 4);
        str_copy_cut(st.status, sizeof(st.status),
                     ev == 162                  ? "downloaded"
                     : ev == 183                ? "installed"
                     : (ev == 161 || ev == 182) ? "failed"
                                                : "reported");
        rc = cb(arg, &st);
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}
