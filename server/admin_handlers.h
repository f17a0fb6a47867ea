/*
 * admin_handlers: the route handlers of the admin API, one block per admin_*.c file, so the
 * route table in admin.c can name them. Each handler answers exactly once (admin_reply or
 * admin_error) and returns that result; the request/answer shapes are in docs/admin-api.md.
 */
#ifndef WSUS_ADMIN_HANDLERS_H
#define WSUS_ADMIN_HANDLERS_H

#include <libpq-fe.h>

#include "admin.h"

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

/* admin_approvals.c: POST /api/v1/{approve,unapprove,decline,undecline,accepteula} */
enum MHD_Result admin_approve(struct http_request *req);
enum MHD_Result admin_unapprove(struct http_request *req);
enum MHD_Result admin_decline(struct http_request *req);
enum MHD_Result admin_undecline(struct http_request *req);
enum MHD_Result admin_accepteula(struct http_request *req);

/* admin_updates.c: GET /api/v1/updates?..., GET /api/v1/updates/show?id=GUID */
enum MHD_Result admin_updates_list(struct http_request *req);
enum MHD_Result admin_updates_show(struct http_request *req);

/*
 * Shared by the handlers that change approvals, declines and groups: in replica mode these
 * are inherited from the upstream (ARCHITECTURE §5 rule 2). Returns 1 after replying 409 with
 * a message naming the upstream and the fix when this server is a replica, 0 when the change
 * may go ahead, -1 after replying 500 on a database error. what names the change ("approvals").
 */
int admin_refuse_replica(struct http_request *req, PGconn *db, const char *what,
                         enum MHD_Result *replied);

/*
 * Open the transaction of an admin change: BEGIN, the transaction advisory lock named lock
 * (changes of one kind are serialized), then admin_refuse_replica(). 0 to go on; 1 when a reply
 * was queued (replica, or the settings could not be read); -1 on a database error, nothing
 * queued. The caller rolls back on any non-zero result (harmless if BEGIN itself failed).
 */
int admin_change_begin(struct http_request *req, PGconn *db, const char *lock, const char *what,
                       enum MHD_Result *replied);

#endif
