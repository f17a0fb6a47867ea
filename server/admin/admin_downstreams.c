/*
 * admin_downstreams: the downstream servers that synchronize from this server, for
 * `wsusctl downstreams` (the "Downstream Servers" node of the WSUS console). Rows are written
 * by the DSS Authorization service at first contact and updated on every call; this file only
 * reads them (downstream_report_list). "tree" adds the servers below as the downstream servers
 * rolled them up (MS-WSUSSS 3.1.4.14, common/db/rollup.c): each with its mode, last sync, last
 * rollup, summary counts and children.
 */
#include "admin_handlers.h"
#include "downstream_report.h"
#include "rollup.h"

#include <stdlib.h>
#include <string.h>

/* Every rolled-up server as JSON, in one object keyed by server id. */
static int tree_cb(void *arg, const struct rollup_server_row *r)
{
    json_t *sum = json_object();
    size_t k;

    for (k = 0; k < ROLLUP_SUMMARY_COUNT; k++)
        json_object_set_new(sum, rollup_summary_names[k], json_integer(r->summary[k]));
    return json_object_set_new(
        arg, r->id,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s, s:i, s:I, s:I, s:o, s:[]}",
                  "server_id", r->id, "name", r->name, "parent_id", r->parent, "reporter_id",
                  r->reporter, "mode", r->is_replica ? "replica" : "autonomous", "version",
                  r->version[0] ? r->version : NULL, "last_sync",
                  r->last_sync[0] ? r->last_sync : NULL, "last_rollup",
                  r->last_rollup[0] ? r->last_rollup : NULL, "received", r->received, "computers",
                  (json_int_t)r->computers, "install_successes", (json_int_t)r->installs,
                  "install_failures", (json_int_t)r->failures, "summary", sum, "children"));
}

/* Is anc an ancestor of (or) node id in byid (at most 64 levels up)? */
static int tree_above(json_t *byid, const char *id, const char *anc)
{
    int depth;

    for (depth = 0; id != NULL && depth < 64; depth++) {
        json_t *n = json_object_get(byid, id);

        if (strcmp(id, anc) == 0)
            return 1;
        id = n != NULL ? json_string_value(json_object_get(n, "parent_id")) : NULL;
    }
    return id != NULL;
}

/* The rolled-up servers as a tree (roots: those whose parent is not rolled up, normally this
 * server), children by name; NULL on a database error. */
static json_t *downstreams_tree(PGconn *db)
{
    json_t *byid = json_object(), *roots = json_array(), *order = json_array();
    const char *id;
    json_t *n;
    size_t i;

    if (rollup_server_list(db, tree_cb, byid) < 0) {
        json_decref(byid);
        json_decref(roots);
        json_decref(order);
        return NULL;
    }
    /* rollup_server_list streams by name; json objects keep insertion order */
    json_object_foreach(byid, id, n) json_array_append(order, n);
    for (i = 0; i < json_array_size(order); i++) {
        json_t *node = json_array_get(order, i), *parent;
        const char *pid = json_string_value(json_object_get(node, "parent_id"));

        parent = json_object_get(byid, pid);
        if (parent != NULL &&
            !tree_above(byid, pid, json_string_value(json_object_get(node, "server_id"))))
            json_array_append(json_object_get(parent, "children"), node);
        else
            json_array_append(roots, node);
    }
    json_decref(order);
    json_decref(byid);
    return roots;
}

/* One downstream server row of downstream_report_list as the API shows it. */
static json_t *downstream_row(const PGresult *r, int i)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:s?}", "account_guid", PQgetvalue(r, i, 0),
                     "account_name", PQgetvalue(r, i, 1), "protocol_version",
                     PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), "first_contact",
                     PQgetvalue(r, i, 3), "last_contact", PQgetvalue(r, i, 4), "last_sync",
                     PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5), "address",
                     PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6));
}

enum MHD_Result admin_downstreams_list(struct http_request *req)
{
    PGconn *db = admin_db(req);
    PGresult *r;
    json_t *list, *tree;
    int i;

    if (db == NULL)
        return MHD_YES;
    r = downstream_report_list(db);
    if (r == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the downstream servers; see the wsusd log");
    list = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, downstream_row(r, i));
    PQclear(r);
    tree = downstreams_tree(db);
    if (tree == NULL) {
        json_decref(list);
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the rolled-up servers; see the wsusd log");
    }
    return admin_reply(req, MHD_HTTP_OK,
                       json_pack("{s:o, s:o}", "downstreams", list, "tree", tree));
}
