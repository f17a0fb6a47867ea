/*
 * routes: the URL table of the protocol listener. Paths are matched case-insensitively after
 * repeated slashes are collapsed (http.c); the SOAP services dispatch on the body's first
 * element. Handlers live in their own modules; this file only lists them.
 */
#include "content.h"
#include "db.h"
#include "dbpool.h"
#include "server.h"
#include "soap_dispatch.h"
#include "wusp_dispatch.h"

#include <stddef.h>

#define READY_DB_WAIT_MS 2000 /* a pool busy longer than this is not ready either */

static enum MHD_Result route_root(struct http_request *req)
{
    return http_respond_text(req, MHD_HTTP_OK,
                             "wsusd %s: WSUS server-to-server protocol at "
                             "/ServerSyncWebService/ServerSyncWebService.asmx, Windows Update "
                             "clients at /ClientWebService/client.asmx",
                             WSUSD_VERSION);
}

/*
 * GET /ready: the load balancer's health check (docs/admin-guide.md). Unauthenticated and cheap:
 * 200 "ready" when a catalog connection answers a round trip, else 503 with the reason (a
 * front-end that cannot reach the shared database is taken out of the pool).
 */
static enum MHD_Result route_ready(struct http_request *req)
{
    struct server *s = req->app;
    PGconn *db = dbpool_get(s->pool, READY_DB_WAIT_MS);
    int ok = db != NULL && db_ping(db) == 0;

    dbpool_put(s->pool, db);
    if (db == NULL)
        return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "not ready: no catalog connection within %d s (the database is "
                                 "unreachable or every connection is busy)",
                                 READY_DB_WAIT_MS / 1000);
    if (!ok)
        return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                                 "not ready: the catalog database does not answer");
    return http_respond_text(req, MHD_HTTP_OK, "ready");
}

static const struct http_route protocol_routes[] = {
    {"GET", "/", 0, route_root, 1},
    {"GET", "/ready", 0, route_ready, 0}, /* waits for a catalog connection */
    {"GET", "/Content/*", 0, content_handle, 1},
    {"POST", "/ServerSyncWebService/ServerSyncWebService.asmx", 1, soap_dispatch_serversync, 0},
    {"POST", "/DssAuthWebService/DssAuthWebService.asmx", 1, soap_dispatch_dssauth, 0},
    {"POST", "/ClientWebService/client.asmx", 1, wusp_dispatch_client, 0},
    {"POST", "/SimpleAuthWebService/SimpleAuth.asmx", 1, wusp_dispatch_simpleauth, 0},
    /* the rollup calls of a downstream may be larger: wusp_reporting_large_body */
    {"POST", "/ReportingWebService/ReportingWebService.asmx", HTTP_BODY_LARGE,
     wusp_dispatch_reporting, 0},
};

const struct http_route *server_protocol_routes(size_t *n)
{
    *n = sizeof(protocol_routes) / sizeof(protocol_routes[0]);
    return protocol_routes;
}
