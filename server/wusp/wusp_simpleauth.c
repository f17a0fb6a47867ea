/*
 * wusp_simpleauth: the SimpleAuth web service (MS-WUSP 2.2.2.1, 3.1.5.3).
 * GetAuthorizationCookie checks clientId (a GUID) and dnsName (an FQDN) and hands out a sealed
 * authorization cookie with the client id and, when the setting client-targeting is client and
 * targetGroupName names a group, that group. It writes nothing: a computer row is created by
 * RegisterComputer (bounded there), so this unauthenticated call cannot grow any table.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "computer.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "wusp.h"

enum MHD_Result wusp_get_authorization_cookie(struct wusp_ctx *w)
{
    char *client = wusp_text(w, w->op, "clientId", 64);
    char *dns = wusp_text(w, w->op, "dnsName", 256);
    char *group = wusp_text(w, w->op, "targetGroupName", 256);
    struct cookie_claims cl;
    unsigned char sealed[COOKIE_MAX_BYTES];
    size_t slen;
    char gid[37];
    struct buf b;
    PGconn *db = NULL;
    enum MHD_Result r;

    memset(&cl, 0, sizeof(cl));
    if (client == NULL || soap_guid_parse(client, cl.dss_guid) < 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                           "clientId: must be the client's id (a GUID)");
        goto out;
    }
    if (dns == NULL || !soapreq_valid_fqdn(dns)) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                           "dnsName: must be a DNS name of at most 255 characters");
        goto out;
    }
    if (group != NULL && group[0] != '\0') {
        char *mode;
        int found = 0;

        db = soap_svc_db(&w->s, &r);
        if (db == NULL)
            goto out;
        mode = settings_get(db, "client-targeting");
        if (mode != NULL && strcmp(mode, "client") == 0)
            found = computer_group_by_name(db, group, gid);
        free(mode);
        if (mode == NULL || found < 0) {
            r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading target groups");
            goto out;
        }
        if (found == 1 && soap_guid_parse(gid, cl.groups[0]) == 0)
            cl.ngroups = 1;
    }
    if (soap_guid_parse(w->s.srv->server_id, cl.uss_guid) < 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "this server has no valid server id");
        goto out;
    }
    cl.issued = (int64_t)time(NULL);
    cl.expires = cl.issued + WUSP_AUTH_COOKIE_LIFETIME;
    if (cookie_seal(w->s.srv->cookie_key, COOKIE_CLIENT_AUTH, &cl, sealed, sizeof(sealed), &slen) <
        0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "cannot seal the authorization cookie");
        goto out;
    }
    buf_init(&b, 8192);
    buf_add_str(&b, "<GetAuthorizationCookieResult><PlugInId>SimpleTargeting</PlugInId>"
                    "<CookieData>");
    soap_b64_append(&b, sealed, slen);
    buf_add_str(&b, "</CookieData></GetAuthorizationCookieResult>");
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
out:
    soap_svc_db_put(&w->s, db);
    free(client);
    free(dns);
    free(group);
    return r;
}
