/*
 * soap_svc: one SOAP call in progress (struct soap_ctx) and what its operation handler answers
 * with: faults, replies in the envelope, a pooled database connection, the cookie checks, the
 * faultactor and the SOAPAction. Used by the MS-WSUSSS handlers (svc.h) and the MS-WUSP
 * services (wusp.h); the endpoints that dispatch to the handlers are in soap_dispatch.c, so
 * nothing here calls a handler. It holds no SQL.
 */
#ifndef WSUS_SOAP_SVC_H
#define WSUS_SOAP_SVC_H

#include "cookie.h"
#include "http.h"
#include "server.h"
#include "soap.h"
#include "soap_req.h"

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

/* The SOAPAction header without quotes and white space into out ("" when absent). */
void soap_svc_action(struct http_request *req, char *out, size_t outlen);
/* Fill x->actor from public_url or the Host header and the request path. */
void soap_svc_actor(struct soap_ctx *x);
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

#endif
