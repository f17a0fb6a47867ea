/*
 * wusp_svc: request life of the three MS-WUSP endpoints (see wusp.h): parse the bounded body,
 * pick the operation from the body's first element, cross-check SOAPAction, run the handler.
 * Faults are those of soap_svc.c with the ErrorCodes of MS-WUSP 2.2.2.4.
 */
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
static const struct wusp_op reporting_ops[] = {
    REPORTING_OP("ReportEventBatch", wusp_report_event_batch),
    REPORTING_OP("GetRollupConfiguration", rollup_get_configuration),
    REPORTING_OP("RollupDownstreamServers", rollup_downstream_servers),
    REPORTING_OP("RollupComputers", rollup_computers),
    REPORTING_OP("GetOutOfSyncComputers", rollup_get_out_of_sync_computers),
    REPORTING_OP("RollupComputerStatus", rollup_computer_status),
};

static enum MHD_Result wusp_handle(struct http_request *req, const struct wusp_op *ops, size_t nops,
                                   const char *service, int large)
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

enum MHD_Result wusp_client(struct http_request *req)
{
    return wusp_handle(req, client_ops, sizeof(client_ops) / sizeof(client_ops[0]), "Client", 0);
}

enum MHD_Result wusp_simpleauth(struct http_request *req)
{
    return wusp_handle(req, simpleauth_ops, 1, "SimpleAuth", 0);
}

enum MHD_Result wusp_reporting(struct http_request *req)
{
    return wusp_handle(req, reporting_ops, sizeof(reporting_ops) / sizeof(reporting_ops[0]),
                       "Reporting", 1);
}

const xmlNode *wusp_child(const struct wusp_ctx *w, const xmlNode *parent, const char *name)
{
    xmlNodePtr n = parent != NULL ? xml_child(parent, w->s.info->ns, name) : NULL;

    return n != NULL && !soap_is_nil(n) ? n : NULL;
}

char *wusp_text(const struct wusp_ctx *w, const xmlNode *parent, const char *name, size_t max)
{
    const xmlNode *n = wusp_child(w, parent, name);

    return n != NULL ? soap_text(n, max) : NULL;
}

int wusp_ints(struct wusp_ctx *w, const xmlNode *list, const char *param, int64_t **ids, size_t *n,
              size_t max, enum MHD_Result *r)
{
    const char *ns = w->s.info->ns;
    size_t cnt;
    xmlNodePtr c;

    if (list == NULL)
        return 0;
    cnt = soap_count(list, ns, "int", max);
    if (*n + cnt > max) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                            "%s: more than %zu revision ids in one request", param, max);
        return -1;
    }
    *ids = xreallocarray(*ids, *n + cnt + 1, sizeof(**ids));
    for (c = xml_child(list, ns, "int"); c != NULL; c = xml_next(c, ns, "int")) {
        char *t = soap_text(c, 32);
        long v;

        if (t == NULL || soap_int_parse(t, 0, 2147483647L, &v) < 0) {
            free(t);
            *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                                "%s: an element is not a revision id (0..2147483647)", param);
            return -1;
        }
        free(t);
        (*ids)[(*n)++] = v;
    }
    return 0;
}

int wusp_check_cookie(struct wusp_ctx *w, enum MHD_Result *r)
{
    const xmlNode *ck = wusp_child(w, w->op, "cookie");
    const xmlNode *ed = wusp_child(w, ck, "EncryptedData");
    unsigned char raw[COOKIE_MAX_BYTES], own[16];
    size_t len = 0;
    char *t;
    int ok;

    if (ed == NULL) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE, "cookie: missing; call GetCookie");
        return -1;
    }
    t = soap_text(ed, COOKIE_MAX_BYTES * 2);
    ok = t != NULL && str_b64_decode(t, raw, sizeof(raw), &len) == 0 && len > 0;
    free(t);
    if (!ok) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE,
                            "cookie: EncryptedData is not a cookie this server issued");
        return -1;
    }
    if (soap_guid_parse(w->s.srv->server_id, own) < 0) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "this server has no valid server id");
        return -1;
    }
    switch (cookie_open(w->s.srv->cookie_key, COOKIE_CLIENT, own, raw, len, (int64_t)time(NULL),
                        &w->cl)) {
    case COOKIE_OK:
        break;
    case COOKIE_EXPIRED:
        *r = soap_svc_fault(&w->s, SOAP_ERR_COOKIE_EXPIRED,
                            "cookie: expired; call GetAuthorizationCookie and GetCookie");
        return -1;
    case COOKIE_FOREIGN:
        *r = soap_svc_fault(&w->s, SOAP_ERR_SERVER_CHANGED,
                            "cookie: issued by another server; this server is %s",
                            w->s.srv->server_id);
        return -1;
    default:
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE,
                            "cookie: EncryptedData is not a cookie this server issued");
        return -1;
    }
    str_guid_format(w->cl.dss_guid, w->client_id);
    return 0;
}

int wusp_add_cookie(struct wusp_ctx *w, PGconn *db, struct buf *b, const char *name,
                    const struct cookie_claims *claims)
{
    long life = WUSP_COOKIE_LIFETIME;
    struct cookie_claims cl = *claims;
    unsigned char sealed[COOKIE_MAX_BYTES];
    size_t slen;
    char exp[32];
    int rc = 0;

    if (soap_guid_parse(w->s.srv->server_id, cl.uss_guid) < 0)
        return -1;
    if (db != NULL) {
        char *v = settings_get(db, "client-cookie-lifetime");

        if (v == NULL || str_to_long(v, 1, 604800, &life) < 0)
            life = WUSP_COOKIE_LIFETIME;
        free(v);
    }
    cl.issued = (int64_t)time(NULL);
    cl.expires = cl.issued + life;
    if (cookie_seal(w->s.srv->cookie_key, COOKIE_CLIENT, &cl, sealed, sizeof(sealed), &slen) < 0)
        return -1;
    soap_datetime_format((time_t)cl.expires, 0, exp);
    rc |= buf_printf(b, "<%s><Expiration>%s</Expiration><EncryptedData>", name, exp);
    rc |= soap_b64_append(b, sealed, slen);
    rc |= buf_printf(b, "</EncryptedData></%s>", name);
    return rc ? -1 : 0;
}

void wusp_base_url(struct wusp_ctx *w, char *out, size_t outlen)
{
    const char *host = http_header(w->s.req, MHD_HTTP_HEADER_HOST);
    const char *pub;
    char h[128];
    size_t i, n;

    pthread_mutex_lock(&w->s.srv->cfg_lock);
    pub = w->s.srv->cfg.public_url;
    if (pub != NULL && pub[0] != '\0') {
        n = strlen(pub);
        while (n > 0 && pub[n - 1] == '/')
            n--;
        if (snprintf(out, outlen, "%.*s", (int)(n > 200 ? 200 : n), pub) >= (int)outlen)
            out[0] = '\0';
        pthread_mutex_unlock(&w->s.srv->cfg_lock);
        return;
    }
    pthread_mutex_unlock(&w->s.srv->cfg_lock);
    /* the Host header is the peer's: keep only host-name characters */
    if (str_copy(h, sizeof(h), host != NULL ? host : "localhost") < 0)
        h[0] = '\0';
    for (i = 0; h[i] != '\0'; i++)
        if (!(isalnum((unsigned char)h[i]) || strchr(".-:[]_", h[i]) != NULL))
            h[i] = '_';
    if (snprintf(out, outlen, "http://%s", h) >= (int)outlen)
        out[0] = '\0';
}
