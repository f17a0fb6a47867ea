/*
 * admin_handlers: the route handlers of the admin API, one block per admin_*.c file, so the
 * route table in admin.c can name them. Each handler answers exactly once (admin_reply or
 * admin_error) and returns that result; the request/answer shapes are in docs/admin-api.md.
 */
#ifndef WSUS_ADMIN_HANDLERS_H
#define WSUS_ADMIN_HANDLERS_H

#include <libpq-fe.h>

#include "admin_reply.h"
#include "server.h"
#include "update_query.h"

/* Longest target group name, and longest admin name recorded with a change. */
#define ADMIN_GROUP_NAME_MAX 256
#define ADMIN_NAME_MAX       256

/* admin_config.c: GET /api/v1/config[?key=K], POST /api/v1/config {"key","value"|"reset"} */
enum MHD_Result admin_config_get(struct http_request *req);
enum MHD_Result admin_config_set(struct http_request *req);

/* admin_downstreams.c: GET /api/v1/downstreams */
enum MHD_Result admin_downstreams_list(struct http_request *req);

/* admin_computers.c: GET /api/v1/computers[?group=NAME], GET /api/v1/computers/show?computer=X,
 * POST /api/v1/computers/move {"computer","group"}, POST /api/v1/computers/remove {"computer"} */
enum MHD_Result admin_computers_list(struct http_request *req);
enum MHD_Result admin_computers_show(struct http_request *req);
enum MHD_Result admin_computers_move(struct http_request *req);
enum MHD_Result admin_computers_remove(struct http_request *req);
/* GET /api/v1/report[?group=NAME&update=ID|KB]: compliance per approved update */
enum MHD_Result admin_report(struct http_request *req);

/* admin_groups.c: GET /api/v1/groups, POST /api/v1/groups/add, POST /api/v1/groups/remove */
enum MHD_Result admin_groups_list(struct http_request *req);
enum MHD_Result admin_groups_add(struct http_request *req);
enum MHD_Result admin_groups_remove(struct http_request *req);

/* admin_approvals.c: POST /api/v1/{approve,unapprove,decline,undecline,accepteula}, and
 * POST /api/v1/{approve,decline}/bulk (ids, KB numbers or a filter; one transaction) */
enum MHD_Result admin_approve(struct http_request *req);
enum MHD_Result admin_approve_bulk(struct http_request *req);
enum MHD_Result admin_decline_bulk(struct http_request *req);
enum MHD_Result admin_unapprove(struct http_request *req);
enum MHD_Result admin_decline(struct http_request *req);
enum MHD_Result admin_undecline(struct http_request *req);
enum MHD_Result admin_accepteula(struct http_request *req);

/* admin_updates.c: GET /api/v1/updates?..., GET /api/v1/updates/show?id=GUID */
enum MHD_Result admin_updates_list(struct http_request *req);
enum MHD_Result admin_updates_show(struct http_request *req);
enum MHD_Result admin_updates_failed(struct http_request *req);
enum MHD_Result admin_categories_list(struct http_request *req);
enum MHD_Result admin_approvals_count(struct http_request *req);
/*
 * GET /api/v1/approvals/inactive and POST /api/v1/approvals/inactive/remove: approvals of
 * updates specific only to languages not enabled here (on a replica also: not carried by the
 * upstream), listed / marked dead (catalog.h). Allowed on a replica, as wsusutil
 * removeinactiveapprovals is run there.
 */
enum MHD_Result admin_approvals_inactive(struct http_request *req);
enum MHD_Result admin_approvals_inactive_remove(struct http_request *req);

/* admin_content.c: GET /api/v1/content (sizes, files by state, largest updates, what is
 * still to download), POST /api/v1/content/switch {"dir"} (movecontent's last step) */
enum MHD_Result admin_content_report(struct http_request *req);
/* content_dir of the running server s, copied under the config lock (movecontent may switch
 * it); the caller frees it. */
char *admin_content_dir(struct server *s);
enum MHD_Result admin_content_switch(struct http_request *req);

/* admin_health.c: GET /api/v1/health (wsusctl checkhealth; health.h) */
enum MHD_Result admin_health(struct http_request *req);

/* A filter over updates as the list and the bulk calls take it, with the storage of the
 * resolved category ids. given: at least one criterion besides the type was given. */
struct admin_filter {
    struct update_filter f;
    char product[37], classification[37];
    int given;
};

/* Where admin_update_filter() reads a criterion: the value of name ("1" for a set flag), or
 * NULL when absent. */
typedef const char *(*admin_filter_get)(void *src, const char *name);

/*
 * Read the filter criteria type, product, classification (names or GUIDs, resolved with
 * update_query_category()), search, hidden, approved, not_approved, declined and superseded
 * through get into *af (limit 1; the caller sets it). 0, or -1 after replying 400 (a name that
 * matches no category or several, with the candidates) or 500.
 */
int admin_update_filter(struct http_request *req, PGconn *db, admin_filter_get get, void *src,
                        struct admin_filter *af, enum MHD_Result *replied);

/* Row i of an update_query_list() result as the JSON object the list call answers with. */
json_t *admin_update_row(PGresult *r, int i);

/*
 * Shared by the handlers that change approvals, declines and groups: in replica mode these
 * are inherited from the upstream (ARCHITECTURE §5 rule 2). Returns 1 after replying 409 with
 * a message naming the upstream and the fix when this server is a replica, 0 when the change
 * may go ahead, -1 after replying 500 on a database error. what names the change ("approvals").
 */
int admin_refuse_replica(struct http_request *req, PGconn *db, const char *what,
                         enum MHD_Result *replied);

/* GET /metrics: the Prometheus text format (admin_metrics.c). */
enum MHD_Result admin_metrics(struct http_request *req);

/*
 * Open the transaction of an admin change: BEGIN, the transaction advisory lock named lock
 * (changes of one kind are serialized), then admin_refuse_replica(). 0 to go on; 1 when a reply
 * was queued (replica, or the settings could not be read); -1 on a database error, nothing
 * queued. The caller rolls back on any non-zero result (harmless if BEGIN itself failed).
 */
int admin_change_begin(struct http_request *req, PGconn *db, const char *lock, const char *what,
                       enum MHD_Result *replied);
/* BEGIN and the transaction advisory lock named lock, without the replica refusal. 0 or -1. */
int admin_change_lock(PGconn *db, const char *lock);

#endif
