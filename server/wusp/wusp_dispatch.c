/*
 * wusp_dispatch: the three MS-WUSP endpoints (see wusp_dispatch.h).
 */
#include "wusp_dispatch.h"
#include "wusp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "xmalloc.h"

typedef enum MHD_Result (*wusp_handler)(struct wusp_ctx *w);

struct wusp_op {
    struct soap_op_info info;
    wusp_handler fn;
};

#define CLIENT_OP(name, fn)                                                                        \
    {                                                                                              \
        {0, WUSP_NS_CLIENT, name, WUSP_NS_CLIENT "/" name, 0}, fn                                  \
    }

static const struct wusp_op client_ops[] = {
    CLIENT_OP("GetConfig", wusp_get_config),
    CLIENT_OP("GetCookie", wusp_get_cookie),
    CLIENT_OP("RegisterComputer", wusp_register_computer),
    CLIENT_OP("StartCategoryScan", wusp_start_category_scan),
    CLIENT_OP("SyncUpdates", wusp_sync_updates),
    CLIENT_OP("SyncPrinterCatalog", wusp_sync_printer_catalog),
    CLIENT_OP("RefreshCache", wusp_refresh_cache),
    CLIENT_OP("GetExtendedUpdateInfo", wusp_get_extended_update_info),
    CLIENT_OP("GetFileLocations", wusp_get_file_locations),
};
static const struct wusp_op simpleauth_ops[] = {
    {{0, WUSP_NS_SIMPLEAUTH, "GetAuthorizationCookie", WUSP_NS_SIMPLEAUTH "/GetAuthorizationCookie",
      0},
     wusp_get_authorization_cookie},
};
#define REPORTING_OP(name, fn)                                                                     \
    {                                                                                              \
        {0, WUSP_NS_REPORTING, name, WUSP_NS_REPORTING "/" name, 0}, fn                            \
    }

/* ReportEventBatch (MS-WUSP) and the reporting rollup of MS-WSUSSS 3.1.4.13-3.1.4.17. */
/* the rollup calls with a downstream's batches (wusp_reporting_large_body) follow the first two */
static const struct wusp_op reporting_ops[] = {
    REPORTING_OP("ReportEventBatch", wusp_report_event_batch),
    REPORTING_OP("GetRollupConfiguration", rollup_get_configuration),
    REPORTING_OP("RollupDownstreamServers", rollup_downstream_servers),
    REPORTING_OP("RollupComputers", rollup_computers),
    REPORTING_OP("GetOutOfSyncComputers", rollup_get_out_of_sync_computers),
    REPORTING_OP("RollupComputerStatus", rollup_computer_status),
};

int wusp_reporting_large_body(struct http_request *req)
{
    char action[256];
    size_t i;

    soap_svc_action(req, action, sizeof(action));
    for (i = 2; i < sizeof(reporting_ops) / sizeof(reporting_ops[0]); i++)
        if (strcasecmp(action, reporting_ops[i].info.action) == 0)
            return 1;
    return 0;
}

static enum MHD_Result wusp_dispatch_handle(struct http_request *req, const struct wusp_op *ops,
                                            size_t nops, const char *service, int large)
{
    struct wusp_ctx *w = xcalloc(1, sizeof(*w));
    struct soap_envelope env;
    char err[256], action[256];
    const struct wusp_op *op = NULL;
    enum MHD_Result r;
    size_t i;

    w->s.req = req;
    w->s.srv = req->app;
    http_peer(req, w->s.peer, sizeof(w->s.peer));
    soap_svc_actor(&w->s);
    memset(&env, 0, sizeof(env));
    if ((large ? soap_envelope_parse_large : soap_envelope_parse)(req->body.data, req->body.len,
                                                                  &env, err, sizeof(err)) < 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "request: %s", err);
        goto out;
    }
    for (i = 0; i < nops && op == NULL; i++)
        if (xml_is(env.op, ops[i].info.ns, ops[i].info.name))
            op = &ops[i];
    if (op == NULL) {
        const char *ns = env.op->ns && env.op->ns->href ? (const char *)env.op->ns->href : "";
        char name[96];

        if (snprintf(name, sizeof(name), "%s", (const char *)env.op->name) >= (int)sizeof(name))
            name[sizeof(name) - 1] = '\0';
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                           "request: {%.120s}%s is not an operation of the %s web service", ns,
                           name, service);
        goto out;
    }
    w->s.info = &op->info;
    soap_svc_action(req, action, sizeof(action));
    if (action[0] != '\0' && strcasecmp(action, op->info.action) != 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                           "SOAPAction: \"%.120s\" does not match the body's %s operation", action,
                           op->info.name);
        goto out;
    }
    w->op = env.op;
    log_debug("wusp: %s from %s", op->info.name, w->s.peer);
    r = op->fn(w);
out:
    soap_envelope_free(&env);
    free(w);
    return r;
}

enum MHD_Result wusp_dispatch_client(struct http_request *req)
{
    return wusp_dispatch_handle(req, client_ops, sizeof(client_ops) / sizeof(client_ops[0]),
                                "Client", 0);
}

enum MHD_Result wusp_dispatch_simpleauth(struct http_request *req)
{
    return wusp_dispatch_handle(req, simpleauth_ops, 1, "SimpleAuth", 0);
}

enum MHD_Result wusp_dispatch_reporting(struct http_request *req)
{
    return wusp_dispatch_handle(req, reporting_ops,
                                sizeof(reporting_ops) / sizeof(reporting_ops[0]), "Reporting", 1);
}
