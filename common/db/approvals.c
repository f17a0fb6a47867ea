/*
 * approvals: writes of the deployment, declined_update and accepted_eula tables (see
 * approvals.h). Parameters only; the caller's transaction.
 */
#include "approvals.h"

#include "db.h"

#include <stdio.h>

/* The one way an approval ends: dead, with a fresh change number for downstreams and clients. */
#define KILL_DEPLOYMENT "UPDATE deployment SET dead = true, change_seq = nextval('change_seq') "

int approvals_kill_deployments(PGconn *conn, const char *update_id, const char *group_id,
                               json_t *killed)
{
    const char *p[2] = {update_id, group_id};
    PGresult *r = db_exec(conn,
                          KILL_DEPLOYMENT "WHERE update_id = $1::uuid AND NOT dead "
                                          "  AND ($2::uuid IS NULL OR target_group_id = $2::uuid) "
                                          "RETURNING deployment_guid::text",
                          2, p);
    int i, n;

    if (r == NULL)
        return -1;
    n = PQntuples(r);
    for (i = 0; i < n && killed != NULL; i++)
        json_array_append_new(killed, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return n;
}

int approvals_kill_group(PGconn *conn, const char *group_id)
{
    const char *p[1] = {group_id};
    PGresult *r =
        db_exec(conn, KILL_DEPLOYMENT "WHERE target_group_id = $1::uuid AND NOT dead", 1, p);
    int n;

    if (r == NULL)
        return -1;
    n = (int)strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return n;
}

int approvals_kill_deployment(PGconn *conn, const char *deployment_guid)
{
    const char *p[1] = {deployment_guid};

    return db_cmd(conn, KILL_DEPLOYMENT "WHERE deployment_guid = $1 AND NOT dead", 1, p);
}

int approvals_inherit(PGconn *conn, const struct approvals_inherited *a)
{
    char rev[DB_PARAM_INT_LEN], action[DB_PARAM_INT_LEN], prio[DB_PARAM_INT_LEN];
    const char *p[10] = {a->deployment_guid,
                         a->update_id,
                         rev,
                         a->target_group_id,
                         action,
                         a->admin_name,
                         a->deadline,
                         a->is_assigned ? "true" : "false",
                         a->go_live_time,
                         prio};

    db_param_int(rev, a->revision);
    db_param_int(action, a->action);
    db_param_int(prio, a->download_priority);
    return db_cmd(conn,
                  "INSERT INTO deployment (deployment_guid, update_id, revision_number, "
                  "target_group_id, action, admin_name, deadline, is_assigned, go_live_time, "
                  "download_priority, inherited, dead) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                  "coalesce($9::timestamptz, now()), $10, true, false) ON CONFLICT "
                  "(deployment_guid) DO UPDATE SET update_id = EXCLUDED.update_id, "
                  "revision_number = EXCLUDED.revision_number, target_group_id = "
                  "EXCLUDED.target_group_id, action = EXCLUDED.action, admin_name = "
                  "EXCLUDED.admin_name, deadline = EXCLUDED.deadline, is_assigned = "
                  "EXCLUDED.is_assigned, go_live_time = EXCLUDED.go_live_time, "
                  "download_priority = EXCLUDED.download_priority, inherited = true, dead = "
                  "false, change_seq = nextval('change_seq')",
                  10, p);
}

int approvals_set_upstream_declines(PGconn *conn, const char *hidden)
{
    const char *p[1] = {hidden};

    if (db_cmd(conn,
               "INSERT INTO declined_update (update_id, admin_name) SELECT u, 'upstream' FROM "
               "unnest($1::uuid[]) AS u ON CONFLICT (update_id) DO NOTHING",
               1, p) < 0)
        return -1;
    return db_cmd(conn,
                  "DELETE FROM declined_update WHERE admin_name = 'upstream' AND update_id <> "
                  "ALL($1::uuid[])",
                  1, p);
}

PGresult *approvals_deploy(PGconn *conn, const char *update_id, long revision, const char *group_id,
                           long action, const char *admin, const char *deadline)
{
    char rev[DB_PARAM_INT_LEN], actbuf[DB_PARAM_INT_LEN];
    const char *p[6] = {update_id, rev, group_id, actbuf, admin, deadline};
    PGresult *r;

    db_param_int(rev, revision);
    db_param_int(actbuf, action);
    r = db_exec(conn,
                "INSERT INTO deployment (deployment_guid, update_id, revision_number, "
                "  target_group_id, action, admin_name, deadline) "
                "VALUES (gen_random_uuid(), $1::uuid, $2::int, $3::uuid, $4::smallint, $5, "
                "  $6::timestamptz) "
                "RETURNING deployment_guid::text, "
                "  to_char(deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                "  change_seq",
                6, p);
    if (r != NULL && PQntuples(r) != 1) {
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Rows a statement returns (0 or more), or -1 on error. */
static int rows_of(PGconn *conn, const char *sql, int n, const char *const *p)
{
    PGresult *r = db_exec(conn, sql, n, p);
    int rows;

    if (r == NULL)
        return -1;
    rows = PQntuples(r);
    PQclear(r);
    return rows;
}

int approvals_is_declined(PGconn *conn, const char *update_id)
{
    const char *p[1] = {update_id};
    int n = rows_of(conn, "SELECT 1 FROM declined_update WHERE update_id = $1::uuid", 1, p);

    return n < 0 ? -1 : n > 0;
}

int approvals_decline(PGconn *conn, const char *update_id, const char *admin, json_t *killed)
{
    const char *p[2] = {update_id, admin};
    int n = rows_of(conn,
                    "INSERT INTO declined_update (update_id, admin_name) VALUES ($1::uuid, $2) "
                    "ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
                    2, p);

    if (n < 0)
        return -1;
    /* a declined update keeps no approval, as in WSUS */
    if (approvals_kill_deployments(conn, update_id, NULL, killed) < 0)
        return -1;
    return n > 0;
}

int approvals_undecline(PGconn *conn, const char *update_id)
{
    const char *p[1] = {update_id};
    int n =
        rows_of(conn, "DELETE FROM declined_update WHERE update_id = $1::uuid RETURNING 1", 1, p);

    if (n <= 0)
        return n;
    /* HiddenUpdates travels whole; a fresh change number tells downstreams to look again */
    if (db_cmd(conn, "SELECT nextval('change_seq')", 0, NULL) < 0)
        return -1;
    return 1;
}

int approvals_accept_eula(PGconn *conn, const char *eula_id, const char *admin)
{
    const char *p[2] = {eula_id, admin};
    int n = rows_of(conn,
                    "INSERT INTO accepted_eula (eula_id, admin_name) VALUES ($1::uuid, $2) "
                    "ON CONFLICT (eula_id) DO NOTHING RETURNING 1",
                    2, p);

    return n < 0 ? -1 : n > 0;
}

PGresult *approvals_of_update(PGconn *db, const char *update_id)
{
    return db_exec1(db,
                    "SELECT d.deployment_guid::text, d.revision_number, g.name, "
                    "  d.target_group_id::text, d.action, d.admin_name, "
                    "  to_char(d.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                    "  to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                    "  d.inherited FROM deployment d "
                    "LEFT JOIN target_group g ON g.id = d.target_group_id "
                    "WHERE d.update_id = $1::uuid AND NOT d.dead ORDER BY g.name",
                    update_id);
}

int approvals_delete_groups_not_in(PGconn *conn, const char *ids)
{
    const char *p[1] = {ids};

    return db_cmd(conn,
                  "DELETE FROM deployment WHERE target_group_id IN (SELECT id FROM target_group "
                  "WHERE NOT is_builtin AND id <> ALL($1::uuid[]))",
                  1, p);
}
