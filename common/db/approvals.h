/*
 * approvals: owner of the deployment, declined_update and accepted_eula tables (approvals,
 * declines, accepted EULAs). The one rule "an approval that ends is marked dead with a fresh
 * change_seq" lives here, so downstreams and clients see the change. Every function runs in
 * the caller's transaction (it neither begins nor commits) and logs database errors through
 * db_exec(). It checks no permission and no update type: callers do that first.
 */
#ifndef WSUS_APPROVALS_H
#define WSUS_APPROVALS_H

#include <jansson.h>
#include <libpq-fe.h>

/*
 * Mark the live deployments of update_id dead with a fresh change_seq (one group, or all when
 * group_id is NULL), as unapprove does; their guids are appended to killed (may be NULL).
 * Number of rows, or -1 on error. The caller owns the transaction.
 */
int approvals_kill_deployments(PGconn *conn, const char *update_id, const char *group_id,
                               json_t *killed);

/*
 * Mark every live deployment of target group group_id dead with a fresh change_seq (the group
 * is being removed). Number of rows, or -1 on error. The caller owns the transaction.
 */
int approvals_kill_group(PGconn *conn, const char *group_id);

/*
 * Mark the live deployment deployment_guid dead with a fresh change_seq (a replica follows its
 * upstream's dead list). 0 (also when it is unknown or dead already), or -1 on error.
 */
int approvals_kill_deployment(PGconn *conn, const char *deployment_guid);

/* One approval as a replica copies it from its upstream (GetDeployments). */
struct approvals_inherited {
    const char *deployment_guid, *update_id, *target_group_id, *admin_name;
    long revision, action, download_priority;
    const char *deadline;     /* ISO timestamp, or NULL for none */
    const char *go_live_time; /* ISO timestamp, or NULL for now */
    int is_assigned;
};

/*
 * Store (insert, or overwrite the row of the same deployment_guid) an approval inherited from
 * the upstream, live, with a fresh change_seq. 0, or -1 on error.
 */
int approvals_inherit(PGconn *conn, const struct approvals_inherited *a);

/*
 * The upstream's declines (HiddenUpdates) replace those it made before: hidden is a
 * PostgreSQL uuid array ("{id,id}"); declines an admin made here stay. 0, or -1 on error.
 */
int approvals_set_upstream_declines(PGconn *conn, const char *hidden);

/*
 * A replica drops the groups its upstream no longer lists (group_delete_not_in): first their
 * approvals, every deployment of a group that is not built-in and whose id is not in ids (a
 * uuid[] literal "{id,id}"). Deleted, not marked dead: the replica's downstreams learn of the
 * group's end from the group list. 0, or -1 on error (logged).
 */
int approvals_delete_groups_not_in(PGconn *conn, const char *ids);

/*
 * Approve revision of update_id for target group group_id with action (0 install, 1
 * uninstall, 2 scan, 3 block), by admin, with deadline (an ISO timestamp, or NULL for none); a
 * new deployment_guid and change_seq are taken. The caller first ends the approval it
 * replaces (approvals_kill_deployments()). One row: deployment_guid, deadline as
 * "YYYY-MM-DDTHH:MI:SSZ" (NULL when none), change_seq; the caller PQclear()s it. NULL on a
 * database error (for example a deadline PostgreSQL does not accept).
 */
PGresult *approvals_deploy(PGconn *conn, const char *update_id, long revision, const char *group_id,
                           long action, const char *admin, const char *deadline);

/* 1 when update_id is declined, 0 when not, -1 on a database error. */
int approvals_is_declined(PGconn *conn, const char *update_id);

/*
 * Decline update_id (by admin) and end its approvals, as WSUS does (their guids appended to
 * killed, may be NULL). 1 when newly declined, 0 when it was declined already, -1 on a
 * database error.
 */
int approvals_decline(PGconn *conn, const char *update_id, const char *admin, json_t *killed);

/*
 * Undecline update_id; a fresh change number then tells downstreams to look again (their
 * HiddenUpdates list travels whole). 1 when it was declined, 0 when not (nothing changed), -1
 * on a database error.
 */
int approvals_undecline(PGconn *conn, const char *update_id);

/*
 * Record that admin accepted EULA eula_id (the caller checked it is a catalog EULA:
 * catalog_eula_find()). 1 when newly accepted, 0 when it was accepted before, -1 on a
 * database error.
 */
int approvals_accept_eula(PGconn *conn, const char *eula_id, const char *admin);

/*
 * The live approvals of update_id, by group name: deployment_guid, revision_number, group
 * name (NULL for a group that is gone), target_group_id, action (0-3), admin_name, deadline
 * and created_at as "YYYY-MM-DDTHH:MI:SSZ" (NULL when none), inherited ("t"/"f"). NULL on a
 * database error (logged); the caller PQclear()s the result.
 */
PGresult *approvals_of_update(PGconn *db, const char *update_id);

#endif
