/*
 * group: the target_group table, the computer target groups (WSUS "Computers" node). Names
 * are unique and matched case-insensitively; built-in groups (All Computers, Unassigned
 * Computers) are never removed. Approvals of a group live in the deployment table (their
 * owner marks them dead when a group goes). All SQL of target_group is here, except the
 * group membership of computers (computer.c).
 */
#ifndef WSUS_GROUP_H
#define WSUS_GROUP_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * Every group, built-in first then by lower(name). Columns: id, name, parent_id (NULL for a
 * root), parent name (NULL), is_builtin ("t"/"f"), live approvals (deployments not dead).
 * The caller owns the result (PQclear); NULL on a database error (logged).
 */
PGresult *group_list(PGconn *db);
/* The one group id (text UUID) with group_list's columns (0 rows when absent); as above. */
PGresult *group_get(PGconn *db, const char *id);

/*
 * Find a group by name (case-insensitive, preferred) or by id: 1 with id (36 characters and
 * NUL) filled and *builtin (may be NULL) set, 0 when there is none, -1 on a database error.
 */
int group_find(PGconn *db, const char *name_or_id, char id[37], int *builtin);
/*
 * group_find for the approvals API: the same match, with the group's stored name (cut to fit
 * namelen) in place of the built-in flag. 1, 0 when there is none, -1 on a database error.
 */
int group_find_name(PGconn *db, const char *name_or_id, char id[37], char *name, size_t namelen);

/*
 * Add group name under parent_id with a new random id, written into id. 0, or -1 on a
 * database error (a name taken meanwhile included). The caller owns the transaction.
 */
int group_insert(PGconn *db, const char *name, const char *parent_id, char id[37]);

/*
 * Does group id have subgroups? 1 with the first subgroup's name (by name, cut to fit)
 * in first, 0 when none, -1 on a database error.
 */
int group_first_child(PGconn *db, const char *id, char *first, size_t firstlen);

/*
 * Delete group id and take a fresh change number: the group list travels whole
 * (GetDeployments Groups), so a new change_seq is enough for downstreams to see it is gone.
 * Its live approvals must be marked dead first. 0, or -1 on a database error. The caller
 * owns the transaction.
 */
int group_delete(PGconn *db, const char *id);

/*
 * A replica takes its upstream's group: insert group id (text UUID) under parent_id (NULL for
 * a root) with name and is_builtin, or update the row of that id when its name or parent
 * changed (with a fresh change number; an unchanged row keeps its number). The caller owns the
 * transaction. 0, or -1 on a database error (logged).
 */
int group_replicate(PGconn *db, const char *id, const char *parent_id, const char *name,
                    int is_builtin);
/*
 * A replica drops the groups its upstream no longer lists: every group that is not built-in
 * and whose id is not in ids (a uuid[] literal "{id,id}"). Their approvals must go first
 * (approvals_delete_groups_not_in). The caller owns the transaction. 0, or -1 (logged).
 */
int group_delete_not_in(PGconn *db, const char *ids);

#endif
