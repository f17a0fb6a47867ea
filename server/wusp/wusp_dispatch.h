/*
 * wusp_dispatch: the three MS-WUSP endpoints of the protocol listener (SimpleAuth, Client,
 * Reporting web services): parse the envelope, pick the operation from the body's first
 * element with the SOAPAction as a cross-check, and run its handler (wusp.h: wusp_simpleauth.c,
 * wusp_client.c, wusp_sync.c, wusp_report.c). The handlers answer through wusp_svc.c and
 * soap_svc.c, which never call back here.
 */
#ifndef WSUS_WUSP_DISPATCH_H
#define WSUS_WUSP_DISPATCH_H

#include "http.h"

/* Route handlers (server/routes.c lists them). */
enum MHD_Result wusp_dispatch_client(struct http_request *req);
enum MHD_Result wusp_dispatch_simpleauth(struct http_request *req);
enum MHD_Result wusp_dispatch_reporting(struct http_request *req);

/*
 * The protocol listener's large_body (http.h) for the Reporting route: 1 when the request's
 * SOAPAction names one of the four rollup calls that carry a downstream's batches
 * (RollupDownstreamServers, RollupComputers, GetOutOfSyncComputers, RollupComputerStatus), so
 * that its body is bounded by [server] max_rollup_request_bytes; 0 for the rest (a client's
 * ReportEventBatch keeps max_request_bytes). The dispatch refuses a body whose operation does
 * not match its SOAPAction, so no other operation gets the larger bound.
 */
int wusp_reporting_large_body(struct http_request *req);

#endif
