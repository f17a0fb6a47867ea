/*
 * admin_approvals: approvals (deployment rows), declines (declined_update) and accepted EULAs,
 * for `wsusctl approve/unapprove/decline/undecline/accepteula`. Each change is one transaction
 * under an advisory lock and takes a fresh change_seq so downstreams see it; a replaced or
 * removed approval stays as dead = true (DeadDeployments). Replica servers inherit all of this
 * and refuse local changes. It does not check EULA acceptance before approving.
 */
#include "admin_handlers.h"
#include "approvals.h"
#include "catalog.h"
#include "db.h"
#include "group.h"
#include "hierarchy.h"
#include "settings.h"
#include "log.h"
#include "strutil.h"
#include "update_query.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALL_COMPUTERS "a0a08746-4dbe-4a37-9adf-9e7652c0b421"

static const char *const action_names[] = {"install", "uninstall", "scan", "block"};

/* One admin change in progress: the request, its database transaction, what it touches. */
struct change {
    struct http_request *req;
    PGconn *db;
    json_t *body;
    int in_tx;
    enum MHD_Result replied;
    char update_id[37];
    long revision; /* revision number found, or asked for (-1 = latest) */
    char update_type[32];
    char title[512];
    const char *admin;
};

static void change_init(struct change *c, struct http_request *req)
{
    memset(c, 0, sizeof(*c));
    c->req = req;
    c->replied = MHD_YES;
    c->revision = -1;
}

static enum MHD_Result change_finish(struct change *c)
{
    if (c->in_tx)
        db_rollback(c->db);
    json_decref(c->body);
    return c->replied;
}

static void change_dberr(struct change *c)
{
    c->replied = admin_error(c->req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "cannot change the catalog; see the wsusd log");
}

/* The fields of each call: the update (or EULA) id first, "admin" last. */
#define FIELD_ID(name)                                                                             \
    {                                                                                              \
        name, ADMIN_FIELD_STRING, 1, 1, 38                                                         \
    }
#define FIELD_GROUP                                                                                \
    {                                                                                              \
        "group", ADMIN_FIELD_STRING, 0, 1, ADMIN_GROUP_NAME_MAX                                    \
    }
#define FIELD_ADMIN                                                                                \
    {                                                                                              \
        "admin", ADMIN_FIELD_STRING, 0, 1, ADMIN_NAME_MAX                                          \
    }
static const struct admin_field approve_fields[] = {
    FIELD_ID("update_id"),
    {"revision", ADMIN_FIELD_INT, 0, 1, 2147483647LL},
    FIELD_GROUP,
    {"action", ADMIN_FIELD_STRING, 0, 1, 16},
    {"deadline", ADMIN_FIELD_STRING, 0, 1, 64},
    FIELD_ADMIN,
};
static const struct admin_field unapprove_fields[] = {FIELD_ID("update_id"), FIELD_GROUP,
                                                      FIELD_ADMIN};
static const struct admin_field decline_fields[] = {FIELD_ID("update_id"), FIELD_ADMIN};
static const struct admin_field eula_fields[] = {FIELD_ID("eula_id"), FIELD_ADMIN};
#define CHANGE_FIELDS(a) a, sizeof(a) / sizeof(a[0])

/* Read the body and check it against fields; take the admin's name. 0, or -1 after a reply. */
static int change_read(struct change *c, const struct admin_field *fields, size_t nfields)
{
    c->body = admin_body(c->req, &c->replied);
    if (c->body == NULL)
        return -1;
    if (admin_fields(c->req, c->body, fields, nfields, &c->replied) < 0)
        return -1;
    c->admin = json_string_value(json_object_get(c->body, "admin"));
    if (c->admin == NULL)
        c->admin = "wsusctl";
    return 0;
}

/* Open the transaction under the approvals lock and refuse replica mode. 0, or -1 after a
 * reply. */
static int change_open(struct change *c, const char *what)
{
    c->db = admin_db(c->req);
    if (c->db == NULL)
        return -1;
    c->in_tx = 1;
    switch (admin_change_begin(c->req, c->db, "wsusd-approvals", what, &c->replied)) {
    case 0:
        return 0;
    case 1:
        return -1;
    default:
        change_dberr(c);
        return -1;
    }
}

/* Take id (an update or EULA GUID) as c->update_id. 0, or -1 after a reply. */
static int change_set_id(struct change *c, const char *id)
{
    if (str_guid_canon(id, c->update_id) < 0) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "\"%s\" is not an update id (a GUID); wsusctl updates list "
                                 "shows them",
                                 id != NULL ? id : "");
        return -1;
    }
    return 0;
}

/*
 * Read the body and check it against fields (fields[0] is the id), take the id, open the
 * transaction under the approvals lock and refuse replica mode. 0 to go on, -1 when a reply
 * was queued.
 */
static int change_begin(struct change *c, const struct admin_field *fields, size_t nfields,
                        const char *what)
{
    if (change_read(c, fields, nfields) < 0 ||
        change_set_id(c, json_string_value(json_object_get(c->body, fields[0].name))) < 0)
        return -1;
    return change_open(c, what);
}

/* Look the update up (c->revision or the latest); only software and drivers qualify. */
static int change_find_update(struct change *c, const char *verb)
{
    PGresult *r = update_query_revision(c->db, c->update_id, c->revision);
    int rc = -1;

    if (r == NULL) {
        change_dberr(c);
        return -1;
    }
    if (PQntuples(r) == 0) {
        c->replied = admin_error(c->req, MHD_HTTP_NOT_FOUND,
                                 "update %s is not in the catalog; wsusctl updates list --search "
                                 "TEXT finds update ids",
                                 c->update_id);
        goto out;
    }
    if (c->revision >= 0 && strtol(PQgetvalue(r, 0, 0), NULL, 10) != c->revision) {
        c->replied = admin_error(c->req, MHD_HTTP_NOT_FOUND,
                                 "update %s has no revision %ld; the catalog has revision(s) %s",
                                 c->update_id, c->revision, PQgetvalue(r, 0, 3));
        goto out;
    }
    c->revision = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(c->update_type, sizeof(c->update_type), "%s", PQgetvalue(r, 0, 1));
    snprintf(c->title, sizeof(c->title), "%s", PQgetvalue(r, 0, 2));
    if (strcmp(c->update_type, "Software") != 0 && strcmp(c->update_type, "Driver") != 0) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "%s is a %s (\"%s\"), not an update; only software and driver "
                                 "updates can be %s",
                                 c->update_id, c->update_type, c->title, verb);
        goto out;
    }
    if (strcmp(verb, "approved") == 0 && strcmp(PQgetvalue(r, 0, 4), "t") != 0 &&
        !PQgetisnull(r, 0, 5)) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "%s (\"%s\") is installed only as part of bundle %s; approve "
                                 "that one",
                                 c->update_id, c->title, PQgetvalue(r, 0, 5));
        goto out;
    }
    rc = 0;
out:
    PQclear(r);
    return rc;
}

/* Target group by name or id; "All Computers" when name is NULL. 0, or -1 after a reply. */
static int change_find_group(struct change *c, const char *name, char id[37], char *gname,
                             size_t gnamelen)
{
    const char *key = name != NULL ? name : ALL_COMPUTERS;
    int found = group_find_name(c->db, key, id, gname, gnamelen);

    if (found < 0) {
        change_dberr(c);
        return -1;
    }
    if (found == 0) {
        c->replied = admin_error(c->req, MHD_HTTP_NOT_FOUND,
                                 "no target group \"%s\"; wsusctl groups lists them", key);
        return -1;
    }
    return 0;
}

static int change_is_declined(struct change *c)
{
    return approvals_is_declined(c->db, c->update_id);
}

/* Mark live approvals of the update dead (one group, or all when group_id is NULL). */
static int kill_deployments(struct change *c, const char *group_id, json_t *killed)
{
    return approvals_kill_deployments(c->db, c->update_id, group_id, killed);
}

/* Month, day (with leap years), hour and minute of a string of iso_datetime_shape's form. */
static int valid_date_time(const char *s, size_t len)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long y = strtol(s, NULL, 10), m = strtol(s + 5, NULL, 10), d = strtol(s + 8, NULL, 10);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return 0;
    if (len >= 16 && (strtol(s + 11, NULL, 10) > 23 || strtol(s + 14, NULL, 10) > 59))
        return 0;
    if (len >= 19 && strtol(s + 17, NULL, 10) > 60)
        return 0;
    return 1;
}

/* Shape check for an ISO 8601 date[-time]: YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][Z|(+|-)HH[:MM]]. */
static int iso_datetime_shape(const char *s)
{
    static const char *const shapes[] = {"dddd-dd-dd", "dddd-dd-ddTdd:dd", "dddd-dd-ddTdd:dd:dd"};
    size_t n = strlen(s), i, k, best = 0;

    for (k = 0; k < 3; k++) {
        size_t l = strlen(shapes[k]);
        int ok = n >= l;
        for (i = 0; i < l && ok; i++) {
            char want = shapes[k][i];
            ok = want == 'd'   ? isdigit((unsigned char)s[i])
                 : want == 'T' ? (s[i] == 'T' || s[i] == 't' || s[i] == ' ')
                               : s[i] == want;
        }
        if (ok)
            best = l;
    }
    if (best == 0 || !valid_date_time(s, best))
        return 0;
    s += best;
    if (best == 19 && *s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'Z' || *s == 'z')
        return s[1] == '\0';
    if (*s == '+' || *s == '-') {
        s++;
        if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
            return 0;
        s += 2;
        if (*s == ':')
            s++;
        if (*s == '\0')
            return 1;
        return isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == '\0';
    }
    return *s == '\0';
}

/* How to approve: the group (id and name), the action, an optional deadline. */
struct approval {
    char group_id[37];
    char gname[300];
    long act;
    const char *deadline;
    int dry_run; /* check everything, write nothing */
};

/* Read group, action and deadline of c->body into *a. 0, or -1 after a reply. */
static int approval_read(struct change *c, struct approval *a)
{
    const char *group = json_string_value(json_object_get(c->body, "group"));
    const char *action = json_string_value(json_object_get(c->body, "action"));

    memset(a, 0, sizeof(*a));
    a->deadline = json_string_value(json_object_get(c->body, "deadline"));
    a->dry_run = json_is_true(json_object_get(c->body, "dry_run"));
    if (action != NULL) {
        if (strcasecmp(action, "install") == 0)
            a->act = 0;
        else if (strcasecmp(action, "uninstall") == 0)
            a->act = 1;
        else if (strcasecmp(action, "block") == 0)
            a->act = 3;
        else {
            c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                     "action \"%s\" is not install, uninstall or block", action);
            return -1;
        }
    }
    if (a->deadline != NULL && !iso_datetime_shape(a->deadline)) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "deadline \"%s\" is not a date and time; use ISO 8601, e.g. "
                                 "2025-07-01T18:00:00Z",
                                 a->deadline);
        return -1;
    }
    return change_find_group(c, group, a->group_id, a->gname, sizeof(a->gname));
}

/*
 * Approve c->update_id (c->revision, or the latest when -1) as a says, inside the open
 * transaction: the update must be software or a driver, deployable on its own and not
 * declined; the group's live approval is replaced (its deployment_guid appended to replaced).
 * *row gets the new deployment (guid, deadline, change_seq; NULL for a dry run; caller
 * PQclear()s). 0, or -1 after a reply.
 */
static int approve_one(struct change *c, const struct approval *a, json_t *replaced, PGresult **row)
{
    PGresult *r;
    int d;

    *row = NULL;
    if (change_find_update(c, "approved") < 0)
        return -1;
    d = change_is_declined(c);
    if (d < 0) {
        change_dberr(c);
        return -1;
    }
    if (d) {
        c->replied = admin_error(c->req, MHD_HTTP_CONFLICT,
                                 "update %s (\"%s\") is declined; undecline it first (wsusctl "
                                 "undecline %s)",
                                 c->update_id, c->title, c->update_id);
        return -1;
    }
    if (a->dry_run)
        return 0;
    if (kill_deployments(c, a->group_id, replaced) < 0) {
        change_dberr(c);
        return -1;
    }
    r = approvals_deploy(c->db, c->update_id, c->revision, a->group_id, a->act, c->admin,
                         a->deadline);
    if (r == NULL) {
        if (a->deadline != NULL)
            c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                     "cannot store the approval; is the deadline \"%s\" a real "
                                     "date? (see the wsusd log)",
                                     a->deadline);
        else
            change_dberr(c);
        return -1;
    }
    *row = r;
    return 0;
}

enum MHD_Result admin_approve(struct http_request *req)
{
    struct change c;
    struct approval a;
    json_t *jrev, *replaced = json_array();
    PGresult *r = NULL;

    change_init(&c, req);
    if (change_begin(&c, CHANGE_FIELDS(approve_fields), "approvals") < 0)
        goto out;
    jrev = json_object_get(c.body, "revision");
    if (jrev != NULL) /* admin_fields() checked its range */
        c.revision = (long)json_integer_value(jrev);
    if (approval_read(&c, &a) < 0 || approve_one(&c, &a, replaced, &r) < 0)
        goto out;
    if (db_commit(c.db) < 0)
        goto dberr;
    c.in_tx = 0;
    log_info("update %s revision %ld approved for %s (group \"%s\") by %s", c.update_id, c.revision,
             action_names[a.act], a.gname, c.admin);
    c.replied = admin_reply(
        req, MHD_HTTP_OK,
        json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s?, s:O, s:I}", "deployment_guid",
                  PQgetvalue(r, 0, 0), "update_id", c.update_id, "revision", (int)c.revision,
                  "title", c.title, "group", a.gname, "group_id", a.group_id, "action",
                  action_names[a.act], "deadline",
                  PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1), "replaced", replaced,
                  "change_seq", (json_int_t)strtoll(PQgetvalue(r, 0, 2), NULL, 10)));
    goto out;
dberr:
    change_dberr(&c);
out:
    PQclear(r);
    json_decref(replaced);
    return change_finish(&c);
}

enum MHD_Result admin_unapprove(struct http_request *req)
{
    struct change c;
    const char *group;
    char group_id[37], gname[300];
    json_t *killed = json_array();
    int n;

    change_init(&c, req);
    if (change_begin(&c, CHANGE_FIELDS(unapprove_fields), "approvals") < 0)
        goto out;
    group = json_string_value(json_object_get(c.body, "group"));
    if (group != NULL && change_find_group(&c, group, group_id, gname, sizeof(gname)) < 0)
        goto out;
    n = kill_deployments(&c, group != NULL ? group_id : NULL, killed);
    if (n < 0)
        goto dberr;
    if (n == 0) {
        c.replied = admin_error(req, MHD_HTTP_NOT_FOUND, "update %s is not approved%s%s%s",
                                c.update_id, group != NULL ? " for group \"" : "",
                                group != NULL ? gname : "", group != NULL ? "\"" : "");
        goto out;
    }
    if (db_commit(c.db) < 0)
        goto dberr;
    c.in_tx = 0;
    log_info("update %s: %d approval(s) removed by %s", c.update_id, n, c.admin);
    c.replied = admin_reply(req, MHD_HTTP_OK,
                            json_pack("{s:s, s:s?, s:O}", "update_id", c.update_id, "group",
                                      group != NULL ? gname : NULL, "removed", killed));
    goto out;
dberr:
    change_dberr(&c);
out:
    json_decref(killed);
    return change_finish(&c);
}

/*
 * Decline c->update_id inside the open transaction and remove its approvals (their
 * deployment_guids appended to killed). *already: it was declined before. Nothing is written
 * for a dry run. 0, or -1 after a reply.
 */
static int decline_one(struct change *c, int dry_run, json_t *killed, int *already)
{
    int n;

    if (change_find_update(c, "declined") < 0)
        return -1;
    if (dry_run) {
        *already = change_is_declined(c);
        if (*already < 0) {
            change_dberr(c);
            return -1;
        }
        return 0;
    }
    n = approvals_decline(c->db, c->update_id, c->admin, killed);
    if (n < 0) {
        change_dberr(c);
        return -1;
    }
    *already = n == 0;
    return 0;
}

enum MHD_Result admin_decline(struct http_request *req)
{
    struct change c;
    json_t *killed = json_array();
    int already;

    change_init(&c, req);
    if (change_begin(&c, CHANGE_FIELDS(decline_fields), "declines") < 0 ||
        decline_one(&c, 0, killed, &already) < 0)
        goto out;
    if (db_commit(c.db) < 0) {
        change_dberr(&c);
        goto out;
    }
    c.in_tx = 0;
    if (!already)
        log_info("update %s (\"%s\") declined by %s", c.update_id, c.title, c.admin);
    c.replied =
        admin_reply(req, MHD_HTTP_OK,
                    json_pack("{s:s, s:s, s:b, s:O}", "update_id", c.update_id, "title", c.title,
                              "already_declined", already, "approvals_removed", killed));
out:
    json_decref(killed);
    return change_finish(&c);
}

enum MHD_Result admin_undecline(struct http_request *req)
{
    struct change c;
    int n;

    change_init(&c, req);
    if (change_begin(&c, CHANGE_FIELDS(decline_fields), "declines") < 0)
        goto out;
    n = approvals_undecline(c.db, c.update_id);
    if (n < 0)
        goto dberr;
    if (n == 0) {
        c.replied = admin_error(req, MHD_HTTP_NOT_FOUND, "update %s is not declined", c.update_id);
        goto out;
    }
    if (db_commit(c.db) < 0)
        goto dberr;
    c.in_tx = 0;
    log_info("update %s undeclined by %s", c.update_id, c.admin);
    c.replied = admin_reply(req, MHD_HTTP_OK,
                            json_pack("{s:s, s:b}", "update_id", c.update_id, "declined", 0));
    goto out;
dberr:
    change_dberr(&c);
out:
    return change_finish(&c);
}

enum MHD_Result admin_accepteula(struct http_request *req)
{
    struct change c;
    int n;

    change_init(&c, req);
    if (change_begin(&c, CHANGE_FIELDS(eula_fields), "accepted EULAs") < 0)
        goto out;
    {
        char of[37];
        int k = catalog_eula_find(c.db, c.update_id, of);
        if (k < 0)
            goto dberr;
        if (k == 0) {
            c.replied = admin_error(req, MHD_HTTP_NOT_FOUND,
                                    "EULA %s is not the license of any update in the catalog; "
                                    "wsusctl updates show UPDATE-ID lists an update's EULA",
                                    c.update_id);
            goto out;
        }
    }
    n = approvals_accept_eula(c.db, c.update_id, c.admin);
    if (n < 0 || db_commit(c.db) < 0)
        goto dberr;
    c.in_tx = 0;
    log_info("EULA %s accepted by %s", c.update_id, c.admin);
    c.replied =
        admin_reply(req, MHD_HTTP_OK,
                    json_pack("{s:s, s:b}", "eula_id", c.update_id, "already_accepted", n == 0));
    goto out;
dberr:
    change_dberr(&c);
out:
    return change_finish(&c);
}

/* ---- bulk: several updates (ids, KB numbers) or a filter, one transaction ---- */

/* Most updates one bulk call changes (a body of this many ids stays well under 1 MiB). */
#define BULK_MAX 10000

#define BULK_FILTER_FIELDS                                                                         \
    {"ids", ADMIN_FIELD_STRINGS, 0, 0, BULK_MAX},                                                  \
        {"product", ADMIN_FIELD_STRING, 0, 1, UPDATE_QUERY_TEXT_MAX},                              \
        {"classification", ADMIN_FIELD_STRING, 0, 1, UPDATE_QUERY_TEXT_MAX},                       \
        {"search", ADMIN_FIELD_STRING, 0, 1, UPDATE_QUERY_TEXT_MAX},                               \
        {"superseded", ADMIN_FIELD_BOOL, 0, 0, 0}, {"not_approved", ADMIN_FIELD_BOOL, 0, 0, 0},    \
        {"dry_run", ADMIN_FIELD_BOOL, 0, 0, 0}, FIELD_ADMIN
static const struct admin_field approve_bulk_fields[] = {
    BULK_FILTER_FIELDS,
    FIELD_GROUP,
    {"action", ADMIN_FIELD_STRING, 0, 1, 16},
    {"deadline", ADMIN_FIELD_STRING, 0, 1, 64},
};
static const struct admin_field decline_bulk_fields[] = {
    BULK_FILTER_FIELDS,
    {"approved", ADMIN_FIELD_BOOL, 0, 0, 0},
};

/* A criterion of the bulk body for admin_update_filter(): strings as they are, true as "1". */
static const char *body_get(void *src, const char *name)
{
    const json_t *v = json_object_get(src, name);

    if (json_is_true(v))
        return "1";
    return json_string_value(v);
}

/* Add update id to the selection (a JSON object used as an ordered set) with its title. */
static void bulk_add(json_t *sel, const char *id)
{
    if (json_object_get(sel, id) == NULL)
        json_object_set_new(sel, id, json_true());
}

/*
 * The updates a bulk body names: its "ids" (update GUIDs or KB numbers, each KB standing for
 * every update that carries it) or its filter (software and drivers that can be approved on
 * their own; for approve not declined ones, for decline not declined ones). Fills sel (keys:
 * canonical update ids, in order). 0, or -1 after a reply.
 */
static int bulk_select(struct change *c, int approving, json_t *sel)
{
    const json_t *ids = json_object_get(c->body, "ids");
    struct admin_filter af;
    PGresult *r;
    size_t i;
    int k;

    if (admin_update_filter(c->req, c->db, body_get, c->body, &af, &c->replied) < 0)
        return -1;
    if (json_array_size(ids) > 0 && af.given) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "give update ids or KB numbers, or a filter, not both");
        return -1;
    }
    if (json_array_size(ids) == 0 && !af.given) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "give update ids or KB numbers, or a filter (product, "
                                 "classification, search, superseded, %s)",
                                 approving ? "not_approved" : "approved, not_approved");
        return -1;
    }
    for (i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        char canon[37];
        int not_kb;

        if (str_guid_canon(id, canon) == 0) {
            bulk_add(sel, canon);
            continue;
        }
        r = update_query_kb(c->db, id, &not_kb);
        if (not_kb) {
            c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                     "\"%s\" is neither an update id (a GUID) nor a KB number "
                                     "(KB5031356)",
                                     id);
            return -1;
        }
        if (r == NULL) {
            change_dberr(c);
            return -1;
        }
        if (PQntuples(r) == 0) {
            PQclear(r);
            c->replied = admin_error(c->req, MHD_HTTP_NOT_FOUND,
                                     "no update that can be %s on its own has KB number %s; "
                                     "wsusctl updates list --search %s shows what the catalog has",
                                     approving ? "approved" : "declined", id, id);
            return -1;
        }
        for (k = 0; k < PQntuples(r); k++)
            bulk_add(sel, PQgetvalue(r, k, 0));
        PQclear(r);
    }
    if (json_array_size(ids) > 0)
        goto check;
    af.f.declined = -1;
    af.f.limit = BULK_MAX + 1;
    r = update_query_list(c->db, &af.f);
    if (r == NULL) {
        change_dberr(c);
        return -1;
    }
    for (k = 0; k < PQntuples(r); k++)
        bulk_add(sel, PQgetvalue(r, k, UQ_ID));
    PQclear(r);
check:
    if (json_object_size(sel) > BULK_MAX) {
        c->replied = admin_error(c->req, MHD_HTTP_BAD_REQUEST,
                                 "this selects more than %d updates; narrow the filter "
                                 "(--product, --classification, --search)",
                                 BULK_MAX);
        return -1;
    }
    return 0;
}

/* The approve or decline of one bulk call: read, select, change each, commit, answer. */
static enum MHD_Result bulk_change(struct http_request *req, int approving)
{
    struct change c;
    struct approval a;
    json_t *sel = json_object(), *done = json_array(), *v;
    const char *id;
    int dry_run;

    memset(&a, 0, sizeof(a));
    change_init(&c, req);
    if ((approving ? change_read(&c, CHANGE_FIELDS(approve_bulk_fields))
                   : change_read(&c, CHANGE_FIELDS(decline_bulk_fields))) < 0 ||
        change_open(&c, approving ? "approvals" : "declines") < 0 ||
        (approving && approval_read(&c, &a) < 0) || bulk_select(&c, approving, sel) < 0)
        goto out;
    dry_run = json_is_true(json_object_get(c.body, "dry_run"));
    json_object_foreach(sel, id, v)
    {
        json_t *removed = json_array(), *row;
        PGresult *r = NULL;
        int already = 0, rc;

        if (str_copy(c.update_id, sizeof(c.update_id), id) < 0) { /* keys are canonical GUIDs */
            change_dberr(&c);
            json_decref(removed);
            goto out;
        }
        c.revision = -1;
        rc = approving ? approve_one(&c, &a, removed, &r)
                       : decline_one(&c, dry_run, removed, &already);
        if (rc < 0) {
            json_decref(removed);
            goto out;
        }
        row =
            json_pack("{s:s, s:i, s:s, s:I}", "update_id", c.update_id, "revision", (int)c.revision,
                      "title", c.title, approving ? "replaced" : "approvals_removed",
                      (json_int_t)json_array_size(removed));
        if (r != NULL)
            json_object_set_new(row, "deployment_guid", json_string(PQgetvalue(r, 0, 0)));
        if (!approving)
            json_object_set_new(row, "already_declined", json_boolean(already));
        json_array_append_new(done, row);
        json_decref(removed);
        PQclear(r);
    }
    if (dry_run) {
        db_rollback(c.db);
    } else if (db_commit(c.db) < 0) {
        change_dberr(&c);
        goto out;
    }
    c.in_tx = 0;
    if (!dry_run && approving)
        log_info("%zu update(s) approved for %s (group \"%s\") by %s in one change",
                 json_array_size(done), action_names[a.act], a.gname, c.admin);
    else if (!dry_run)
        log_info("%zu update(s) declined by %s in one change", json_array_size(done), c.admin);
    v = json_pack("{s:b, s:I, s:O}", "dry_run", dry_run, "count", (json_int_t)json_array_size(done),
                  "updates", done);
    if (approving) {
        json_object_set_new(v, "group", json_string(a.gname));
        json_object_set_new(v, "group_id", json_string(a.group_id));
        json_object_set_new(v, "action", json_string(action_names[a.act]));
    }
    c.replied = admin_reply(req, MHD_HTTP_OK, v);
out:
    json_decref(sel);
    json_decref(done);
    return change_finish(&c);
}

enum MHD_Result admin_approve_bulk(struct http_request *req)
{
    return bulk_change(req, 1);
}

enum MHD_Result admin_decline_bulk(struct http_request *req)
{
    return bulk_change(req, 0);
}

/* GET /api/v1/approvals/count: the number of active approvals (catalog.h). */
enum MHD_Result admin_approvals_count(struct http_request *req)
{
    PGconn *db = admin_db(req);
    char *mode;
    long n;

    if (db == NULL)
        return MHD_YES;
    mode = settings_get(db, "mode");
    n = catalog_count_active_approvals(db, mode != NULL && strcmp(mode, "replica") == 0);
    free(mode);
    if (n < 0)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot count the approvals in the catalog; see the wsusd log");
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:I}", "active", (json_int_t)n));
}

/* {"count", "approvals": [...]} for a list of catalog_inactive_approvals(). */
static enum MHD_Result inactive_reply(struct http_request *req, json_t *list)
{
    return admin_reply(
        req, MHD_HTTP_OK,
        json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(list), "approvals", list));
}

enum MHD_Result admin_approvals_inactive(struct http_request *req)
{
    PGconn *db = admin_db(req);
    char *carried, *up;
    json_t *list;

    if (db == NULL)
        return MHD_YES;
    hier_inactive_scope(db, &carried, &up);
    list = catalog_inactive_approvals(db, carried, up);
    free(carried);
    free(up);
    if (list == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot list the inactive approvals; see the wsusd log");
    return inactive_reply(req, list);
}

enum MHD_Result admin_approvals_inactive_remove(struct http_request *req)
{
    static const struct admin_field fields[] = {FIELD_ADMIN};
    PGconn *db;
    char *carried = NULL, *up = NULL;
    json_t *list = NULL;
    struct change c;

    change_init(&c, req);
    if (change_read(&c, fields, sizeof(fields) / sizeof(fields[0])) < 0)
        return change_finish(&c);
    if ((db = admin_db(req)) == NULL)
        return change_finish(&c);
    if (admin_change_lock(db, "wsusd-approvals") == 0) {
        hier_inactive_scope(db, &carried, &up);
        list = catalog_remove_inactive_approvals(db, carried, up);
        if (list != NULL && db_commit(db) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    free(carried);
    free(up);
    if (list == NULL) {
        db_rollback(db);
        c.replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "cannot remove the inactive approvals; see the wsusd log");
        return change_finish(&c);
    }
    log_info("%zu inactive approval(s) removed by %s", json_array_size(list), c.admin);
    c.replied = inactive_reply(req, list);
    return change_finish(&c);
}
