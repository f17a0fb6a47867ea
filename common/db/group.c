/*
 * group: the target_group table (see group.h).
 */
#include "group.h"
#include "db.h"

#include <stdio.h>
#include <string.h>

#define GROUP_SELECT                                                                               \
    "SELECT g.id::text, g.name, g.parent_id::text, p.name, g.is_builtin, "                         \
    "  (SELECT count(*) FROM deployment d WHERE d.target_group_id = g.id AND NOT d.dead) "         \
    "FROM target_group g LEFT JOIN target_group p ON p.id = g.parent_id "

PGresult *group_list(PGconn *db)
{
    return db_exec(db, GROUP_SELECT "ORDER BY g.is_builtin DESC, lower(g.name)", 0, NULL);
}

PGresult *group_get(PGconn *db, const char *id)
{
    const char *p[1] = {id};

    return db_exec(db, GROUP_SELECT "WHERE g.id = $1::uuid", 1, p);
}

/*
 * The one group named name_or_id (case-insensitive, preferred) or with that id: 1 with id,
 * *builtin and name (each may be NULL) filled, 0 when there is none, -1 on a database error.
 */
static int group_pick(PGconn *db, const char *name_or_id, char id[37], int *builtin, char *name,
                      size_t namelen)
{
    const char *p[1] = {name_or_id};
    PGresult *r = db_exec(db,
                          "SELECT id::text, is_builtin, name FROM target_group "
                          "WHERE lower(name) = lower($1) OR id::text = lower($1) "
                          "ORDER BY (lower(name) = lower($1)) DESC LIMIT 1",
                          1, p);
    int rc;

    if (r == NULL)
        return -1;
    rc = PQntuples(r) == 1;
    if (rc) {
        snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
        if (builtin != NULL)
            *builtin = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
        if (name != NULL)
            snprintf(name, namelen, "%s", PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return rc;
}

int group_find(PGconn *db, const char *name_or_id, char id[37], int *builtin)
{
    return group_pick(db, name_or_id, id, builtin, NULL, 0);
}

int group_find_name(PGconn *db, const char *name_or_id, char id[37], char *name, size_t namelen)
{
    return group_pick(db, name_or_id, id, NULL, name, namelen);
}

int group_insert(PGconn *db, const char *name, const char *parent_id, char id[37])
{
    const char *p[2] = {name, parent_id};
    PGresult *r = db_exec(db,
                          "INSERT INTO target_group (id, parent_id, name) "
                          "VALUES (gen_random_uuid(), $2::uuid, $1) RETURNING id::text",
                          2, p);

    if (r == NULL || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

int group_first_child(PGconn *db, const char *id, char *first, size_t firstlen)
{
    const char *p[1] = {id};
    PGresult *r =
        db_exec(db, "SELECT name FROM target_group WHERE parent_id = $1::uuid ORDER BY name", 1, p);
    int rc;

    if (r == NULL)
        return -1;
    rc = PQntuples(r) > 0;
    if (rc && firstlen > 0)
        snprintf(first, firstlen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

int group_delete(PGconn *db, const char *id)
{
    const char *p[1] = {id};

    if (db_cmd(db, "DELETE FROM target_group WHERE id = $1::uuid", 1, p) < 0 ||
        db_cmd(db, "SELECT nextval('change_seq')", 0, NULL) < 0)
        return -1;
    return 0;
}

int group_replicate(PGconn *db, const char *id, const char *parent_id, const char *name,
                    int is_builtin)
{
    const char *p[4] = {id, parent_id, name, is_builtin ? "true" : "false"};

    return db_cmd(db,
                  "INSERT INTO target_group (id, parent_id, name, is_builtin) VALUES ($1, $2, "
                  "$3, $4) ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, name "
                  "= EXCLUDED.name, change_seq = nextval('change_seq') WHERE target_group.name "
                  "IS DISTINCT FROM EXCLUDED.name OR target_group.parent_id IS DISTINCT FROM "
                  "EXCLUDED.parent_id",
                  4, p);
}

int group_delete_not_in(PGconn *db, const char *ids)
{
    const char *p[1] = {ids};

    return db_cmd(db, "DELETE FROM target_group WHERE NOT is_builtin AND id <> ALL($1::uuid[])", 1,
                  p);
}
