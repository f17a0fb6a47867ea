/*
 * admin_computers: the Windows computers that use this server (MS-WUSP clients), for
 * `wsusctl computers [list|show|move|remove]`: GET /api/v1/computers[?group=NAME][&limit=N
 * &offset=N] (paged for the console),
 * GET /api/v1/computers/show?computer=NAME|ID, POST /api/v1/computers/move
 * {"computer","group"}, POST /api/v1/computers/remove {"computer"}, and the compliance report
 * GET /api/v1/report[?group=NAME&update=ID|KB]. Without a group, the computers of the servers
 * below (rolled up, common/db/rollup.c) are listed too and the report gets their "downstream"
 * part; every computer names the server it gets updates from ("server", "server_id"). The rows
 * and their SQL belong to common/db/computer.c, common/db/client_report.c and common/db/rollup.c;
 * this file only shapes JSON.
 */
#include "admin_handlers.h"
#include "client_report.h"
#include "computer.h"
#include "rollup.h"
#include "settings.h"
#include "strutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define COMPUTER_ARG_MAX 256

static json_t *row_json(const struct computer_row *r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:{s:i, s:i, s:i}}",
                     "id", r->id, "name", r->name, "address", r->address, "os_version",
                     r->os_version, "os_description", r->os_description, "client_version",
                     r->client_version, "first_contact", r->first_contact, "last_contact",
                     r->last_contact, "registered", r->registered[0] ? r->registered : NULL,
                     "last_sync", r->last_sync[0] ? r->last_sync : NULL, "groups", r->groups,
                     "updates", "downloaded", (json_int_t)r->downloaded, "installed",
                     (json_int_t)r->installed, "failed", (json_int_t)r->failed);
}

/* The list of computers being built and the server their own rows name. */
struct list_ctx {
    json_t *list;
    const char *server_id;
    const char *server;
};

static int list_cb(void *arg, const struct computer_row *r)
{
    struct list_ctx *x = arg;
    json_t *o = row_json(r);

    if (x->server != NULL) {
        json_object_set_new(o, "server_id", json_string(x->server_id));
        json_object_set_new(o, "server", json_string(x->server));
        json_object_set_new(o, "rolled_up", json_false());
    }
    return json_array_append_new(x->list, o);
}

/* A computer of a server below, in the shape of row_json plus what only the rollup knows. */
static int rollup_list_cb(void *arg, const struct rollup_computer_row *r)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:s?, s:s, s:{s:i, s:i, s:i, s:i}, s:s, "
        "s:s, s:b, s:s?}",
        "id", r->id, "name", r->name[0] ? r->name : r->id, "address", r->address, "os_version",
        r->os_version, "os_description", r->os_description, "client_version", r->client_version,
        "first_contact", r->received, "last_contact", r->last_sync[0] ? r->last_sync : r->received,
        "registered", "last_sync", r->last_sync[0] ? r->last_sync : NULL, "groups", "", "updates",
        "needed", (json_int_t)r->needed, "downloaded", (json_int_t)r->downloaded, "installed",
        (json_int_t)r->installed, "failed", (json_int_t)r->failed, "server_id", r->server_id,
        "server", r->server[0] ? r->server : r->server_id, "rolled_up", 1, "last_status",
        r->last_status[0] ? r->last_status : NULL);

    return json_array_append_new(arg, o);
}

static int status_cb(void *arg, const struct computer_update_status *st)
{
    return json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "update_id",
                                                st->update_id, "title", st->title, "status",
                                                st->status, "event_id", st->event_id, "hresult",
                                                (json_int_t)st->hresult, "time", st->time));
}

/* The computer a request names: 0 with id, or -1 after replying. */
static int find(struct http_request *req, PGconn *db, const char *what, char id[37],
                enum MHD_Result *replied)
{
    int f;

    if (what == NULL || what[0] == '\0' || strlen(what) > COMPUTER_ARG_MAX) {
        *replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                               "name the computer by its DNS name or its id (1 to %d characters)",
                               COMPUTER_ARG_MAX);
        return -1;
    }
    f = computer_find(db, what, id);
    if (f < 0) {
        *replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "cannot read the computers; see the wsusd log");
        return -1;
    }
    if (f == 0) {
        *replied = admin_error(req, MHD_HTTP_NOT_FOUND,
                               "no computer \"%s\"; wsusctl computers lists them", what);
        return -1;
    }
    if (f == 2) {
        *replied = admin_error(req, MHD_HTTP_CONFLICT,
                               "more than one computer is named \"%s\"; name it by its id "
                               "(wsusctl computers --json shows the ids)",
                               what);
        return -1;
    }
    return 0;
}

/* A ?group= that names no group gets 404: 1 when it exists, else 0 after replying. */
static int group_exists(struct http_request *req, PGconn *db, const char *group,
                        enum MHD_Result *replied)
{
    char gid[37];
    int f = computer_group_by_name(db, group, gid);

    if (f < 0)
        *replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "cannot read the target groups; see the wsusd log");
    else if (f == 0)
        *replied = admin_error(req, MHD_HTTP_NOT_FOUND,
                               "no target group \"%s\"; wsusctl groups lists them", group);
    return f == 1;
}

/* The most computers one GET computers answer carries when limit is given. */
#define COMPUTERS_LIST_MAX 1000

/*
 * GET computers[?group=NAME][&limit=N&offset=N]: this server's computers then those of the
 * servers below (without a group), each part in name order, with the total of both; a page
 * is taken from that sequence. Without limit, every computer (what wsusctl computers asks).
 */
enum MHD_Result admin_computers_list(struct http_request *req)
{
    const char *group = http_query(req, "group");
    long limit = -1, offset = 0, local, below = 0;
    PGconn *db;
    enum MHD_Result replied = MHD_YES;
    json_t *list;

    if (group != NULL && (group[0] == '\0' || strlen(group) > ADMIN_GROUP_NAME_MAX))
        return admin_error(req, MHD_HTTP_BAD_REQUEST, "group: 1 to %d characters",
                           ADMIN_GROUP_NAME_MAX);
    if (admin_page(req, COMPUTERS_LIST_MAX, " (leave it out for every computer)", &limit, &offset,
                   &replied) < 0)
        return replied;
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    if (group != NULL && !group_exists(req, db, group, &replied))
        return replied;
    local = computer_count(db, group);
    /* the servers below know nothing of this server's target groups */
    if (local >= 0 && group == NULL)
        below = rollup_computer_count(db);
    if (local < 0 || below < 0)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the computers; see the wsusd log");
    list = json_array();
    {
        struct server *srv = req->app;
        char *name = settings_get(db, "account-name");
        struct list_ctx x = {list, srv->server_id, name != NULL ? name : srv->server_id};
        int rc = computer_list(db, group, NULL, limit, offset, list_cb, &x);
        long got = (long)json_array_size(list);

        if (rc == 0 && group == NULL && (limit < 0 || got < limit))
            rc = rollup_computer_list(db, NULL, limit < 0 ? -1 : limit - got,
                                      offset > local ? offset - local : 0, rollup_list_cb, list);
        free(name);
        if (rc < 0) {
            json_decref(list);
            return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "cannot read the computers; see the wsusd log");
        }
    }
    return admin_reply(req, MHD_HTTP_OK,
                       json_pack("{s:I, s:I, s:o}", "total", (json_int_t)(local + below), "count",
                                 (json_int_t)json_array_size(list), "computers", list));
}

static int rollup_status_cb(void *arg, const struct rollup_update_status *st)
{
    return json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s}", "update_id", st->update_id,
                                                "title", st->title, "status", st->status, "time",
                                                st->time));
}

/*
 * The computers/show answer (takes one and updates): the one row of one with its update
 * statuses, or a 500 when reading failed (!ok) or did not find exactly one computer.
 */
static enum MHD_Result show_reply(struct http_request *req, int ok, json_t *one, json_t *updates)
{
    json_t *c;

    if (!ok || json_array_size(one) != 1) {
        json_decref(one);
        json_decref(updates);
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the computer; see the wsusd log");
    }
    c = json_incref(json_array_get(one, 0));
    json_decref(one);
    json_object_set_new(c, "update_status", updates);
    return admin_reply(req, MHD_HTTP_OK, c);
}

/* computers/show of a computer a server below rolled up. */
static enum MHD_Result rollup_show(struct http_request *req, PGconn *db, const char *id)
{
    json_t *one = json_array(), *updates = json_array();
    int ok = rollup_computer_list(db, id, -1, 0, rollup_list_cb, one) >= 0 &&
             rollup_computer_statuses(db, id, rollup_status_cb, updates) >= 0;

    return show_reply(req, ok, one, updates);
}

enum MHD_Result admin_computers_show(struct http_request *req)
{
    PGconn *db = admin_db(req);
    enum MHD_Result replied = MHD_YES;
    const char *what = http_query(req, "computer");
    json_t *one, *updates;
    char id[37], rid[ROLLUP_MAX_ID + 1];
    int ok;

    if (db == NULL)
        return MHD_YES;
    /* not one of this server's own: one a server below rolled up? */
    if (what != NULL && what[0] != '\0' && strlen(what) <= COMPUTER_ARG_MAX &&
        computer_find(db, what, id) == 0 && rollup_computer_find(db, what, rid) == 1)
        return rollup_show(req, db, rid);
    if (find(req, db, http_query(req, "computer"), id, &replied) < 0)
        return replied;
    one = json_array();
    updates = json_array();
    ok = computer_list(db, NULL, id, -1, 0, list_cb, &(struct list_ctx){one, NULL, NULL}) >= 0 &&
         client_report_computer(db, id, status_cb, updates) >= 0;
    return show_reply(req, ok, one, updates);
}

/*
 * The start of a change to one computer: the body checked against fields, a connection, the
 * computer its "computer" field names. The body (caller json_decref()s it), or NULL after
 * replying into *replied; *db and id are set on success.
 */
static json_t *computer_change(struct http_request *req, const struct admin_field *fields,
                               size_t nfields, PGconn **db, char id[37], enum MHD_Result *replied)
{
    json_t *body = admin_body(req, replied);

    if (body == NULL)
        return NULL;
    if (admin_fields(req, body, fields, nfields, replied) < 0 || (*db = admin_db(req)) == NULL ||
        find(req, *db, json_string_value(json_object_get(body, "computer")), id, replied) < 0) {
        json_decref(body);
        return NULL;
    }
    return body;
}

enum MHD_Result admin_computers_move(struct http_request *req)
{
    static const struct admin_field fields[] = {
        {"computer", ADMIN_FIELD_STRING, 1, 1, COMPUTER_ARG_MAX},
        {"group", ADMIN_FIELD_STRING, 1, 1, ADMIN_GROUP_NAME_MAX},
    };
    enum MHD_Result replied = MHD_YES;
    const char *group;
    char id[37], gid[37];
    PGconn *db = NULL;
    json_t *body = computer_change(req, fields, 2, &db, id, &replied);
    int f;

    if (body == NULL)
        return replied;
    group = json_string_value(json_object_get(body, "group"));
    f = computer_group_by_name(db, group, gid);
    if (f == 0)
        replied =
            admin_error(req, MHD_HTTP_NOT_FOUND,
                        "no target group \"%s\" for computers; wsusctl groups lists them", group);
    else if (f == 1 && strcmp(gid, COMPUTER_GROUP_ALL) == 0)
        replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                              "every computer is in All Computers; move it to a group below it");
    else if (f < 0 || computer_move(db, id, gid) < 0)
        replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "cannot move the computer; see the wsusd log");
    else
        replied = admin_reply(req, MHD_HTTP_OK,
                              json_pack("{s:s, s:s, s:s}", "id", id, "group", group, "note",
                                        "with client-targeting client, the computer's own policy "
                                        "sets its group again at its next contact"));
    json_decref(body);
    return replied;
}

enum MHD_Result admin_computers_remove(struct http_request *req)
{
    static const struct admin_field fields[] = {
        {"computer", ADMIN_FIELD_STRING, 1, 1, COMPUTER_ARG_MAX},
    };
    enum MHD_Result replied = MHD_YES;
    char id[37];
    PGconn *db = NULL;
    json_t *body = computer_change(req, fields, 1, &db, id, &replied);

    if (body == NULL)
        return replied;
    if (computer_remove(db, id) < 0)
        replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "cannot remove the computer; see the wsusd log");
    else
        replied = admin_reply(req, MHD_HTTP_OK, json_pack("{s:s}", "removed", id));
    json_decref(body);
    return replied;
}

static int report_cb(void *arg, const struct client_report_row *r)
{
    return json_array_append_new(
        arg, json_pack("{s:s, s:s, s:s?, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "update_id",
                       r->update_id, "title", r->title, "kb", r->kb[0] ? r->kb : NULL, "approved",
                       (json_int_t)r->approved, "needed", (json_int_t)r->needed, "downloaded",
                       (json_int_t)r->downloaded, "installed", (json_int_t)r->installed, "failed",
                       (json_int_t)r->failed, "not_applicable", (json_int_t)r->not_applicable,
                       "inferred", (json_int_t)r->inferred));
}

/* One update of the rolled-up computers' report. */
static int rollup_report_cb(void *arg, const struct rollup_report_row *r)
{
    return json_array_append_new(
        arg, json_pack("{s:s, s:s, s:s?, s:i, s:i, s:i, s:i, s:i, s:i}", "update_id", r->update_id,
                       "title", r->title, "kb", r->kb[0] ? r->kb : NULL, "computers",
                       (json_int_t)r->computers, "needed", (json_int_t)r->needed, "downloaded",
                       (json_int_t)r->downloaded, "installed", (json_int_t)r->installed, "failed",
                       (json_int_t)r->failed, "not_applicable", (json_int_t)r->not_applicable));
}

enum MHD_Result admin_report(struct http_request *req)
{
    const char *group = http_query(req, "group"), *update = http_query(req, "update");
    struct client_report_totals tot;
    PGconn *db = admin_db(req);
    enum MHD_Result replied = MHD_YES;
    json_t *rows, *down, *ans;
    long below = 0;

    if (db == NULL)
        return MHD_YES;
    if ((group != NULL && (group[0] == '\0' || strlen(group) > ADMIN_GROUP_NAME_MAX)) ||
        (update != NULL && (update[0] == '\0' || strlen(update) > 64)))
        return admin_error(req, MHD_HTTP_BAD_REQUEST,
                           "group: 1 to %d characters; update: an update id or a KB number",
                           ADMIN_GROUP_NAME_MAX);
    if (group != NULL && !group_exists(req, db, group, &replied))
        return replied;
    rows = json_array();
    down = json_array();
    if (client_report(db, group, update, &tot, report_cb, rows) < 0 ||
        (group == NULL && rollup_report(db, update, &below, rollup_report_cb, down) < 0)) {
        json_decref(rows);
        json_decref(down);
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot compute the report; see the wsusd log");
    }
    ans = json_pack("{s:s?, s:s?, s:i, s:i, s:i, s:i, s:i, s:i, s:o}", "group", group, "update",
                    update, "computers", (json_int_t)tot.computers, "not_reporting",
                    (json_int_t)tot.not_reporting, "stale_days",
                    (json_int_t)CLIENT_REPORT_STALE_DAYS, "needing_updates",
                    (json_int_t)tot.needing, "with_errors", (json_int_t)tot.with_errors,
                    "up_to_date", (json_int_t)tot.up_to_date, "updates", rows);
    if (group == NULL)
        json_object_set_new(
            ans, "downstream",
            json_pack("{s:i, s:o}", "computers", (json_int_t)below, "updates", down));
    else
        json_decref(down);
    return admin_reply(req, MHD_HTTP_OK, ans);
}
