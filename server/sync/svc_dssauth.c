/*
 * svc_dssauth: the DSS Authorization web service (MS-WSUSSS 3.1.4.2): GetAuthorizationCookie
 * records the downstream server (first contact creates its row, at most
 * DOWNSTREAM_REPORT_NEW_PER_HOUR new ids per address per hour: the call needs no
 * authentication), applies the optional allow-list (setting allowed_downstreams) and hands out a
 * sealed authorization cookie with the downstream's id and target groups. Ping is shared with the
 * Server Sync service.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "downstream_report.h"
#include "log.h"
#include "soap_catalog.h"
#include "soap_svc.h"
#include "svc.h"
#include "strutil.h"

enum MHD_Result svc_get_authorization_cookie(struct soap_ctx *x)
{
    struct cookie_claims cl;
    unsigned char sealed[COOKIE_MAX_BYTES];
    size_t slen;
    char guid[37];
    struct buf b;
    PGconn *db = NULL;
    enum MHD_Result r;
    int allowed, seen;

    if (x->call.param_err != SOAP_ERR_NONE)
        return soap_svc_fault(x, x->call.param_err, "%s", x->call.param_msg);
    str_guid_format(x->call.account_guid, guid);
    db = soap_svc_db(x, &r);
    if (db == NULL)
        return r;
    allowed = soapcat_downstream_allowed(db, guid, x->call.account_name, x->peer);
    if (allowed < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while checking the downstream");
        goto out;
    }
    if (!allowed) {
        r = soap_svc_fault(x, SOAP_ERR_INVALID_PARAMETERS,
                           "accountGuid: downstream server %s (%s) is not allowed to synchronize "
                           "from this server; add its name or id to the allowed_downstreams "
                           "setting",
                           x->call.account_name, guid);
        goto out;
    }
    /* a server pointed at itself is told so by its loop check: not one of its downstreams */
    seen = strcasecmp(guid, x->srv->server_id) == 0
               ? 0
               : downstream_report_seen(db, guid, x->call.account_name, x->peer);
    if (seen < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while recording the downstream");
        goto out;
    }
    if (seen > 0) {
        r = soap_svc_fault(x, SOAP_ERR_SERVER_BUSY,
                           "accountGuid: %s already introduced %d new downstream server ids in "
                           "the last hour that never synchronized; a downstream server keeps "
                           "one id, so try again later with the same id",
                           x->peer, DOWNSTREAM_REPORT_NEW_PER_HOUR);
        goto out;
    }
    memset(&cl, 0, sizeof(cl));
    memcpy(cl.dss_guid, x->call.account_guid, 16);
    if (soap_guid_parse(x->srv->server_id, cl.uss_guid) < 0 ||
        soap_guid_parse(SOAP_GROUP_DOWNSTREAM, cl.groups[0]) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "this server has no valid server id");
        goto out;
    }
    cl.ngroups = 1;
    cl.issued = (int64_t)time(NULL);
    cl.expires = cl.issued + SOAP_AUTH_COOKIE_LIFETIME;
    if (cookie_seal(x->srv->cookie_key, COOKIE_AUTH, &cl, sealed, sizeof(sealed), &slen) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "cannot seal the authorization cookie");
        goto out;
    }
    log_info("soap: downstream server %s (%s) from %s authorized", x->call.account_name, guid,
             x->peer);
    buf_init(&b, 8192);
    buf_add_str(&b, "<GetAuthorizationCookieResult><PlugInId>DssTargeting</PlugInId><CookieData>");
    soap_b64_append(&b, sealed, slen);
    buf_add_str(&b, "</CookieData></GetAuthorizationCookieResult>");
    r = soap_svc_reply(x, b.data, b.len);
    buf_free(&b);
out:
    soap_svc_db_put(x, db);
    return r;
}
