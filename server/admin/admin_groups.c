/*
 * admin_groups: computer target groups for `wsusctl groups [add|remove]`. Groups are found by
 * name (case-insensitive) or id; names are unique. Built-in groups cannot be removed; removing
 * a group marks its approvals dead (so downstreams drop them) and takes a new change number.
 * Replica servers inherit their groups and refuse local changes.
 */
#include "admin_handlers.h"
#include "approvals.h"
#include "db.h"
#include "group.h"
#include "log.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *group_row(const PGresult *r, int i)
{
    return json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:i}", "id", PQgetvalue(r, i, 0), "name",
                     PQgetvalue(r, i, 1), "parent_id",
                     PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), "parent",
                     PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), "builtin",
                     strcmp(PQgetvalue(r, i, 4), "t") == 0, "approvals",
                     (int)strtol(PQgetvalue(r, i, 5), NULL, 10));
}

enum MHD_Result admin_groups_list(struct http_request *req)
{
    return admin_reply_rows(req, group_list, "target groups", "groups", group_row);
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

/*
 * A change of the groups: this request's connection in *db, then admin_change_begin under the
 * groups lock (*in_tx set: the caller rolls back). 0; 1 when a reply was queued (no
 * connection, a replica); -1 on a database error.
 */
static int groups_begin(struct http_request *req, PGconn **db, int *in_tx, enum MHD_Result *replied)
{
    *db = admin_db(req);
    if (*db == NULL)
        return 1;
    *in_tx = 1;
    return admin_change_begin(req, *db, "wsusd-groups", "target groups", replied);
}

/* The end of a change groups_begin opened: roll it back unless it was committed (!in_tx). */
static void groups_end(PGconn *db, int in_tx)
{
    if (in_tx)
        db_rollback(db);
}

/* The answer to a database error in a group change (the wsusd log has the server's message). */
static enum MHD_Result groups_dberr(struct http_request *req)
{
    return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                       "cannot change the target groups in the catalog; see the wsusd log");
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
    f = groups_begin(req, &db, &in_tx, &replied);
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
    if (group_insert(db, name, parent_id, id) < 0)
        goto dberr;
    r = group_get(db, id);
    if (r == NULL || PQntuples(r) != 1)
        goto dberr;
    if (db_commit(db) < 0)
        goto dberr;
    in_tx = 0;
    log_info("target group \"%s\" added", name);
    replied = admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "group", group_row(r, 0)));
    goto out;
dberr:
    replied = groups_dberr(req);
out:
    groups_end(db, in_tx);
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
    PGconn *db = NULL;
    int in_tx = 0, f, builtin = 0, dead = 0;

    if (body == NULL)
        return replied;
    if (admin_fields(req, body, fields, sizeof(fields) / sizeof(fields[0]), &replied) < 0)
        goto out;
    name = json_string_value(json_object_get(body, "name"));
    f = groups_begin(req, &db, &in_tx, &replied);
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
        char first[1024];

        f = group_first_child(db, id, first, sizeof(first));
        if (f < 0)
            goto dberr;
        if (f > 0) {
            replied = admin_error(req, MHD_HTTP_CONFLICT,
                                  "target group \"%s\" has subgroups (\"%s\"...); remove them "
                                  "first",
                                  name, first);
            goto out;
        }
        /* the live approvals of the group die with it, each with a fresh change number */
        if ((dead = approvals_kill_group(db, id)) < 0)
            goto dberr;
        if (group_delete(db, id) < 0)
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
    replied = groups_dberr(req);
out:
    groups_end(db, in_tx);
    json_decref(body);
    return replied;
}
