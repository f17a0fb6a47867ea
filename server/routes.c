/*
 * routes: the URL table of the protocol listener. Paths are matched case-insensitively after
 * repeated slashes are collapsed (http.c); the SOAP services dispatch on the body's first
 * element. Handlers live in their own modules; this file only lists them.
 */
#include "content.h"
#include "server.h"
#include "soap_dispatch.h"
#include "wusp_dispatch.h"

#include <stddef.h>

static enum MHD_Result route_root(struct http_request *req)
{
    return http_respond_text(req, MHD_HTTP_OK,
                             "wsusd %s: WSUS server-to-server protocol at "
                             "/ServerSyncWebService/ServerSyncWebService.asmx, Windows Update "
                             "clients at /ClientWebService/client.asmx",
                             WSUSD_VERSION);
}

static const struct http_route protocol_routes[] = {
    {"GET", "/", 0, route_root},
    {"GET", "/Content/*", 0, content_handle},
    {"POST", "/ServerSyncWebService/ServerSyncWebService.asmx", 1, soap_dispatch_serversync},
    {"POST", "/DssAuthWebService/DssAuthWebService.asmx", 1, soap_dispatch_dssauth},
    {"POST", "/ClientWebService/client.asmx", 1, wusp_dispatch_client},
    {"POST", "/SimpleAuthWebService/SimpleAuth.asmx", 1, wusp_dispatch_simpleauth},
    {"POST", "/ReportingWebService/ReportingWebService.asmx", 1, wusp_dispatch_reporting},
};

const struct http_route *server_protocol_routes(size_t *n)
{
    *n = sizeof(protocol_routes) / sizeof(protocol_routes[0]);
    return protocol_routes;
}
