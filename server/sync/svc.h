/*
 * svc: the operation handlers of the two MS-WSUSSS web services, run by soap_dispatch.c with
 * the call decoded: DSS Authorization (svc_dssauth.c: GetAuthorizationCookie) and Server Sync
 * (svc_sync.c: the others; Ping serves both). Each answers exactly once through soap_svc.h.
 */
#ifndef WSUS_SVC_H
#define WSUS_SVC_H

#include "soap_svc.h"

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
