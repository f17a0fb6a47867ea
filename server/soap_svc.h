/*
 * soap_svc: the two SOAP endpoints of the protocol listener (Server Sync and DSS
 * Authorization web services): route handlers, dispatch on the body's first element with the
 * SOAPAction as a cross-check, faults, cookie checks, and the per-operation handlers (in
 * svc_sync.c and svc_dssauth.c). It does not build SQL (soap_catalog.c does).
 */
#ifndef WSUS_SOAP_SVC_H
#define WSUS_SOAP_SVC_H

#include "cookie.h"
#include "http.h"
#include "server.h"
#include "soap.h"
#include "soap_req.h"

/* Route handlers (server/routes.c lists them). */
enum MHD_Result soap_svc_serversync(struct http_request *req);
enum MHD_Result soap_svc_dssauth(struct http_request *req);

/* The cookie lifetime (Windows: 240 minutes) and the authorization cookie's. */
#define SOAP_COOKIE_LIFETIME      (240 * 60)
#define SOAP_AUTH_COOKIE_LIFETIME (24 * 60 * 60)
/* Largest non-streamed answer (GetUpdateData is budgeted to ~2 MB; one huge document may
 * exceed that alone). */
#define SOAP_REPLY_MAX (64u << 20)
/* The protocol version this server reports. */
#define SOAP_PROTOCOL_VERSION "1.20"
/* Target group every downstream server belongs to ("Downstream Servers"). */
#define SOAP_GROUP_DOWNSTREAM "d374f42a-9be2-4163-a0fa-3c86a401b7a7"

/* One SOAP call in progress. */
struct soap_ctx {
    struct http_request *req;
    struct server *srv;
    const struct soap_op_info *info;
    struct soap_call call;
    char peer[64];
    char actor[320];          /* faultactor: the service URL as the caller reached it */
    const char *hierarchy;    /* X-Wsusd-Hierarchy of a reply (hierarchy.h), or NULL */
    const char *subscription; /* X-Wsusd-Subscription of a reply (hierarchy.h), or NULL */
};

/* Queue a fault (HTTP 500). message may be NULL; it is logged with the peer. */
enum MHD_Result soap_svc_fault(struct soap_ctx *x, enum soap_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queue 200 with "<OpResponse xmlns=ns>" + result + "</OpResponse>" wrapped in the envelope. */
enum MHD_Result soap_svc_reply(struct soap_ctx *x, const char *result, size_t len);
/* A pooled connection, or NULL after queuing a ServerBusy fault into *r. */
PGconn *soap_svc_db(struct soap_ctx *x, enum MHD_Result *r);
void soap_svc_db_put(struct soap_ctx *x, PGconn *db);
/*
 * Check call->cookie as the validation tables of every cookie-bearing operation say
 * (InvalidCookie, ServerChanged, InvalidParameters, IncompatibleProtocolVersion), then the
 * first parameter error. 0 with *claims filled, or -1 after queuing the fault into *r.
 */
int soap_svc_check(struct soap_ctx *x, struct cookie_claims *claims, enum MHD_Result *r);

/* Operation handlers. */
enum MHD_Result svc_get_auth_config(struct soap_ctx *x);
enum MHD_Result svc_get_authorization_cookie(struct soap_ctx *x);
enum MHD_Result svc_get_cookie(struct soap_ctx *x);
enum MHD_Result svc_get_config_data(struct soap_ctx *x);
enum MHD_Result svc_get_revision_id_list(struct soap_ctx *x);
enum MHD_Result svc_get_update_data(struct soap_ctx *x);
enum MHD_Result svc_get_update_decryption_data(struct soap_ctx *x);
enum MHD_Result svc_download_files(struct soap_ctx *x);
enum MHD_Result svc_get_deployments(struct soap_ctx *x);
enum MHD_Result svc_get_related_revisions(struct soap_ctx *x);
enum MHD_Result svc_ping(struct soap_ctx *x);

#endif
