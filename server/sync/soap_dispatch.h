/*
 * soap_dispatch: the two SOAP endpoints of the protocol listener (Server Sync and DSS
 * Authorization web services, MS-WSUSSS): parse the envelope, find the operation from the
 * body's first element with the SOAPAction as a cross-check, decode its parameters
 * (soap_req.h) and run its handler (svc.h: svc_sync.c, svc_dssauth.c). The handlers answer
 * through soap_svc.h (context, faults, replies, cookie checks), which never calls back here.
 */
#ifndef WSUS_SOAP_DISPATCH_H
#define WSUS_SOAP_DISPATCH_H

#include "http.h"

/* Route handlers (server/routes.c lists them). */
enum MHD_Result soap_dispatch_serversync(struct http_request *req);
enum MHD_Result soap_dispatch_dssauth(struct http_request *req);

#endif
