/*
 * soap_dispatch: the two SOAP endpoints of the protocol listener (see soap_dispatch.h).
 */
#include "soap_dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "soap_svc.h"
#include "svc.h"
#include "xmalloc.h"

static enum MHD_Result soap_dispatch_run(struct soap_ctx *x)
{
    switch (x->info->op) {
    case SOAP_OP_GET_AUTH_CONFIG:
        return svc_get_auth_config(x);
    case SOAP_OP_GET_AUTHORIZATION_COOKIE:
        return svc_get_authorization_cookie(x);
    case SOAP_OP_GET_COOKIE:
        return svc_get_cookie(x);
    case SOAP_OP_GET_CONFIG_DATA:
        return svc_get_config_data(x);
    case SOAP_OP_GET_REVISION_ID_LIST:
        return svc_get_revision_id_list(x);
    case SOAP_OP_GET_UPDATE_DATA:
        return svc_get_update_data(x);
    case SOAP_OP_GET_UPDATE_DECRYPTION_DATA:
        return svc_get_update_decryption_data(x);
    case SOAP_OP_DOWNLOAD_FILES:
        return svc_download_files(x);
    case SOAP_OP_GET_DEPLOYMENTS:
        return svc_get_deployments(x);
    case SOAP_OP_GET_RELATED_REVISIONS:
        return svc_get_related_revisions(x);
    case SOAP_OP_PING:
        return svc_ping(x);
    }
    return soap_svc_fault(x, SOAP_ERR_INTERNAL, "operation not implemented");
}

static enum MHD_Result soap_dispatch_handle(struct http_request *req, enum soap_service svc)
{
    struct soap_ctx *x = xcalloc(1, sizeof(*x));
    struct soap_envelope env;
    char err[256], action[256];
    enum MHD_Result r;

    x->req = req;
    x->srv = req->app;
    http_peer(req, x->peer, sizeof(x->peer));
    soap_svc_actor(x);
    memset(&env, 0, sizeof(env));
    if (soap_envelope_parse(req->body.data, req->body.len, &env, err, sizeof(err)) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INVALID_PARAMETERS, "request: %s", err);
        goto out;
    }
    x->info = soapreq_lookup(svc, env.op);
    if (x->info == NULL) {
        const char *ns = env.op->ns && env.op->ns->href ? (const char *)env.op->ns->href : "";
        char name[96];

        snprintf(name, sizeof(name), "%s", (const char *)env.op->name);
        r = soap_svc_fault(x, SOAP_ERR_INVALID_PARAMETERS,
                           "request: {%.120s}%s is not an operation of the %s web service", ns,
                           name, svc == SOAP_SVC_SYNC ? "Server Sync" : "DSS Authorization");
        goto out;
    }
    soap_svc_action(req, action, sizeof(action));
    if (action[0] != '\0' && strcasecmp(action, x->info->action) != 0) {
        r = soap_svc_fault(x, SOAP_ERR_INVALID_PARAMETERS,
                           "SOAPAction: \"%.120s\" does not match the body's %s operation", action,
                           x->info->name);
        goto out;
    }
    soapreq_decode(x->info, env.op, &x->call);
    /* the document is not needed past decoding: free it before any database work */
    soap_envelope_free(&env);
    log_debug("soap: %s from %s", x->info->name, x->peer);
    r = soap_dispatch_run(x);
out:
    soap_envelope_free(&env);
    soapreq_free(&x->call);
    free(x);
    return r;
}

enum MHD_Result soap_dispatch_serversync(struct http_request *req)
{
    return soap_dispatch_handle(req, SOAP_SVC_SYNC);
}

enum MHD_Result soap_dispatch_dssauth(struct http_request *req)
{
    return soap_dispatch_handle(req, SOAP_SVC_DSSAUTH);
}
