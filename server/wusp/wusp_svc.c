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
    buf_printf(b, "<%s><Expiration>%s</Expiration><EncryptedData>", name, exp);
    soap_b64_append(b, sealed, slen);
    buf_printf(b, "</EncryptedData></%s>", name);
    return buf_failed(b) ? -1 : 0;
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
    /* the scheme the client came in with: over HTTPS, its files over HTTPS too */
    if (snprintf(out, outlen, "%s://%s", http_is_tls(w->s.req) ? "https" : "http", h) >=
        (int)outlen)
        out[0] = '\0';
}
