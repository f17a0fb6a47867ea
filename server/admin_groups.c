/*
 * admin_groups: computer target groups for `wsusctl groups [add|remove]`. Groups are found by
 * name (case-insensitive) or id; names are unique. Built-in groups cannot be removed; removing
 * a group marks its approvals dead (so downstreams drop them) and takes a new change number.
 * Replica servers inherit their groups and refuse local changes.
 */
#include "admin_handlers.h"
#include "db.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *group_row(PGresult *r, int i)
{
    return json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:i}", "id", PQgetvalue(r, i, 0), "name",
                     PQgetvalue(r, i, 1), "parent_id",
                     PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), "parent",
                     PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), "builtin",
                     strcmp(PQgetvalue(r, i, 4), "t") == 0, "approvals",
                     (int)strtol(PQgetvalue(r, i, 5), NULL, 10));
}

#define GROUP_SELECT                                                                               \
    "SELECT g.id::text, g.name, g.parent_id::text, p.name, g.is_builtin, "                         \
    "  (SELECT count(*) FROM deployment d WHERE d.target_group_id = g.id AND NOT d.dead) "         \
    "FROM target_group g LEFT JOIN target_group p ON p.id = g.parent_id "

enum MHD_Result admin_groups_list(struct http_request *req)
{
    PGconn *db = admin_db(req);
    PGresult *r;
    json_t *list;
    int i;

    if (db == NULL)
        return MHD_YES;
    r = db_exec(db, GROUP_SELECT "ORDER BY g.is_builtin DESC, lower(g.name)", 0, NULL);
    if (r == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the target groups; see the wsusd log");
    list = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, group_row(r, i));
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "groups", list));
}

/* Find a group by name or id: 1 and id filled, 0 not found, -1 error. */
static int group_find(PGconn *db, const char *name, char id[37], int *builtin)
{
    const char *p[1] = {name};
    PGresult *r = db_exec(db,
                          "SELECT id::text, is_builtin FROM target_group "
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
    }
    PQclear(r);
    return rc;
}

static int valid_group_name(const char *s)
{
    size_t n = strlen(s);
    const char *p;

    if (n == 0 || n > ADMIN_GROUP_NAME_MAX)
        return 0;
    for (p = s; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return s[0] != ' ' && s[n - 1] != ' ';
}

enum MHD_Result admin_groups_add(struct http_request *req)
{
    static const struct admin_field fields[] = {
        {"name", ADMIN_FIELD_STRING, 1, 1, ADMIN_GROUP_NAME_MAX},
        {"parent", ADMIN_FIELD_STRING, 0, 1, ADMIN_GROUP_NAME_MAX},
    };
    enum MHD_Result replied = MHD_YES;
    json_t *body = admin_body(req, &replied);
    const char *name, *parent;
    char parent_id[37], id[37];
    PGresult *r = NULL;
    PGconn *db = NULL;
    int in_tx = 0, f;

    if (body == NULL)
        return replied;
    if (admin_fields(req, body, fields, sizeof(fields) / sizeof(fields[0]), &replied) < 0)
        goto out;
    name = json_string_value(json_object_get(body, "name"));
    parent = json_string_value(json_object_get(body, "parent"));
    if (name == NULL || !valid_group_name(name)) {
        replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                              "a group name is 1 to %d characters on one line, without leading "
                              "or trailing spaces",
                              ADMIN_GROUP_NAME_MAX);
        goto out;
    }
    db = admin_db(req);
    if (db == NULL)
        goto out;
    in_tx = 1;
    f = admin_change_begin(req, db, "wsusd-groups", "target groups", &replied);
    if (f < 0)
        goto dberr;
    if (f > 0)
        goto out;
    f = group_find(db, name, id, NULL);
    if (f < 0)
        goto dberr;
    if (f == 1) {
        replied = admin_error(req, MHD_HTTP_CONFLICT,
                              "a target group named \"%s\" already exists; wsusctl groups "
                              "lists them",
                              name);
        goto out;
    }
    f = group_find(db, parent != NULL ? parent : "All Computers", parent_id, NULL);
    if (f < 0)
        goto dberr;
    if (f == 0) {
        replied = admin_error(req, MHD_HTTP_NOT_FOUND,
                              "no target group \"%s\" to be the parent; wsusctl groups lists "
                              "them",
                              parent != NULL ? parent : "All Computers");
        goto out;
    }
    {
        const char *p[2] = {name, parent_id};
        r = db_exec(db,
                    "INSERT INTO target_group (id, parent_id, name) "
                    "VALUES (gen_random_uuid(), $2::uuid, $1) RETURNING id::text",
                    2, p);
        if (r == NULL || PQntuples(r) != 1)
            goto dberr;
        snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    {
        const char *p[1] = {id};
        r = db_exec(db, GROUP_SELECT "WHERE g.id = $1::uuid", 1, p);
        if (r == NULL || PQntuples(r) != 1)
            goto dberr;
    }
    if (db_commit(db) < 0)
        goto dberr;
    in_tx = 0;
    log_info("target group \"%s\" added", name);
    replied = admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "group", group_row(r, 0)));
    goto out;
dberr:
    replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "cannot change the target groups in the catalog; see the wsusd log");
out:
    if (in_tx)
        db_rollback(db);
    PQclear(r);
    json_decref(body);
    return replied;
}

enum MHD_Result admin_groups_remove(struct http_request *req)
{
    static const struct admin_field fields[] = {
        {"name", ADMIN_FIELD_STRING, 1, 1, ADMIN_GROUP_NAME_MAX},
    };
    enum MHD_Result replied = MHD_YES;
    json_t *body = admin_body(req, &replied);
    const char *name;
    char id[37];
    PGresult *r = NULL;
    PGconn *db = NULL;
    int in_tx = 0, f, builtin = 0, dead = 0;

    if (body == NULL)
        return replied;
    if (admin_fields(req, body, fields, sizeof(fields) / sizeof(fields[0]), &replied) < 0)
        goto out;
    name = json_string_value(json_object_get(body, "name"));
    db = admin_db(req);
    if (db == NULL)
        goto out;
    in_tx = 1;
    f = admin_change_begin(req, db, "wsusd-groups", "target groups", &replied);
    if (f < 0)
        goto dberr;
    if (f > 0)
        goto out;
    f = group_find(db, name, id, &builtin);
    if (f < 0)
        goto dberr;
    if (f == 0) {
        replied = admin_error(req, MHD_HTTP_NOT_FOUND,
                              "no target group \"%s\"; wsusctl groups lists them", name);
        goto out;
    }
    if (builtin) {
        replied = admin_error(req, MHD_HTTP_CONFLICT,
                              "\"%s\" is a built-in WSUS group and cannot be removed", name);
        goto out;
    }
    {
        const char *p[1] = {id};
        r = db_exec(db, "SELECT name FROM target_group WHERE parent_id = $1::uuid ORDER BY name", 1,
                    p);
        if (r == NULL)
            goto dberr;
        if (PQntuples(r) > 0) {
            replied = admin_error(req, MHD_HTTP_CONFLICT,
                                  "target group \"%s\" has subgroups (\"%s\"...); remove them "
                                  "first",
                                  name, PQgetvalue(r, 0, 0));
            goto out;
        }
        PQclear(r);
        r = db_exec(db,
                    "UPDATE deployment SET dead = true, change_seq = nextval('change_seq') "
                    "WHERE target_group_id = $1::uuid AND NOT dead",
                    1, p);
        if (r == NULL)
            goto dberr;
        dead = (int)strtol(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        r = NULL;
        /* the group list travels whole (GetDeployments Groups): a fresh change number is
         * enough for downstreams to see it is gone */
        if (db_cmd(db, "DELETE FROM target_group WHERE id = $1::uuid", 1, p) < 0 ||
            db_cmd(db, "SELECT nextval('change_seq')", 0, NULL) < 0)
            goto dberr;
    }
    if (db_commit(db) < 0)
        goto dberr;
    in_tx = 0;
    log_info("target group \"%s\" removed (%d approvals removed with it)", name, dead);
    replied = admin_reply(
        req, MHD_HTTP_OK,
        json_pack("{s:s, s:s, s:i}", "removed", name, "id", id, "approvals_removed", dead));
    goto out;
dberr:
    replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "cannot change the target groups in the catalog; see the wsusd log");
out:
    if (in_tx)
        db_rollback(db);
    PQclear(r);
    json_decref(body);
    return replied;
}
