/*
 * uss_request: the SOAP requests of the MS-WSUSSS client, built as text into a bounded buf.
 * One function per operation; values are XML-escaped, identities and digests written in the
 * forms the upstream expects. Sends nothing and decodes nothing (uss_transport.c, uss_answer.c).
 */
#include "uss_internal.h"

#include <string.h>

static void req_begin(struct buf *b, const char *op, const char *ns)
{
    buf_printf(b,
               "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
               "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><%s "
               "xmlns=\"%s\">",
               op, ns);
}

static void req_end(struct buf *b, const char *op)
{
    buf_printf(b, "</%s></soap:Body></soap:Envelope>", op);
}

static void req_elem(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, "<%s>", name);
    buf_add_xml_escaped(b, value, strlen(value));
    buf_printf(b, "</%s>", name);
}

static void req_cookie(const struct uss *u, struct buf *b, const char *name)
{
    buf_printf(b, "<%s>", name);
    req_elem(b, "Expiration", u->cookie_expiration_text ? u->cookie_expiration_text : "");
    req_elem(b, "EncryptedData", u->cookie_data ? u->cookie_data : "");
    buf_printf(b, "</%s>", name);
}

static void req_ids(struct buf *b, const char *wrapper, const struct uss_id *ids, size_t n)
{
    size_t i;

    buf_printf(b, "<%s>", wrapper);
    for (i = 0; i < n; i++)
        buf_printf(b,
                   "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d</RevisionNumber>"
                   "</UpdateIdentity>",
                   ids[i].update_id, (int)ids[i].rev);
    buf_printf(b, "</%s>", wrapper);
}

static void req_idds(struct buf *b, const char *wrapper, const struct uss_idd *v, size_t n)
{
    size_t i;

    buf_printf(b, "<%s>", wrapper);
    for (i = 0; i < n; i++) {
        buf_add_str(b, "<IdAndDelta>");
        req_elem(b, "Id", v[i].id);
        buf_printf(b, "<Delta>%s</Delta></IdAndDelta>", v[i].delta ? "true" : "false");
    }
    buf_printf(b, "</%s>", wrapper);
}

void uss_request_get_auth_config(struct buf *b)
{
    req_begin(b, "GetAuthConfig", NS_SS);
    req_end(b, "GetAuthConfig");
}

void uss_request_get_authorization_cookie(struct buf *b, const struct uss *u)
{
    req_begin(b, "GetAuthorizationCookie", NS_AUTH);
    req_elem(b, "accountName", u->account_name);
    req_elem(b, "accountGuid", u->account_guid);
    req_end(b, "GetAuthorizationCookie");
}

void uss_request_get_cookie(struct buf *b, const struct uss *u)
{
    req_begin(b, "GetCookie", NS_SS);
    buf_add_str(b, "<authCookies><AuthorizationCookie>");
    req_elem(b, "PlugInId", u->auth_plugin ? u->auth_plugin : "DssTargeting");
    req_elem(b, "CookieData", u->auth_cookie_data ? u->auth_cookie_data : "");
    buf_add_str(b, "</AuthorizationCookie></authCookies>");
    if (u->cookie_data != NULL)
        req_cookie(u, b, "oldCookie");
    req_elem(b, "protocolVersion", USS_PROTOCOL_VERSION);
    req_end(b, "GetCookie");
}

void uss_request_get_config_data(struct buf *b, const struct uss *u, const char *config_anchor)
{
    req_begin(b, "GetConfigData", NS_SS);
    req_cookie(u, b, "cookie");
    if (config_anchor != NULL && config_anchor[0] != '\0')
        req_elem(b, "configAnchor", config_anchor);
    req_end(b, "GetConfigData");
}

void uss_request_get_revision_id_list(struct buf *b, const struct uss *u,
                                      const struct uss_filter *f)
{
    req_begin(b, "GetRevisionIdList", NS_SS);
    req_cookie(u, b, "cookie");
    buf_add_str(b, "<filter>");
    if (f->anchor != NULL && f->anchor[0] != '\0')
        req_elem(b, "Anchor", f->anchor);
    buf_printf(b, "<GetConfig>%s</GetConfig><Get63LanguageOnly>false</Get63LanguageOnly>",
               f->get_config ? "true" : "false");
    if (!f->get_config && (f->ncategories > 0 || f->nclassifications > 0)) {
        req_idds(b, "Categories", f->categories, f->ncategories);
        req_idds(b, "Classifications", f->classifications, f->nclassifications);
    }
    if (!f->get_config && f->nlanguages > 0) {
        size_t i;

        buf_add_str(b, "<Languages>");
        for (i = 0; i < f->nlanguages; i++)
            buf_printf(b, "<LanguageAndDelta><Id>%ld</Id><Delta>true</Delta></LanguageAndDelta>",
                       f->languages[i]);
        buf_add_str(b, "</Languages>");
    }
    buf_add_str(b, "</filter>");
    req_end(b, "GetRevisionIdList");
}

void uss_request_get_update_data(struct buf *b, const struct uss *u, const struct uss_id *ids,
                                 size_t n)
{
    req_begin(b, "GetUpdateData", NS_SS);
    req_cookie(u, b, "cookie");
    req_ids(b, "updateIds", ids, n);
    req_end(b, "GetUpdateData");
}

void uss_request_get_deployments(struct buf *b, const struct uss *u, const char *deployment_anchor,
                                 const char *sync_anchor)
{
    req_begin(b, "GetDeployments", NS_SS);
    req_cookie(u, b, "cookie");
    if (deployment_anchor != NULL && deployment_anchor[0] != '\0')
        req_elem(b, "deploymentAnchor", deployment_anchor);
    req_elem(b, "syncAnchor", sync_anchor ? sync_anchor : "");
    req_end(b, "GetDeployments");
}

void uss_request_download_files(struct buf *b, const struct uss *u, const unsigned char (*sha1)[20],
                                size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    req_begin(b, "DownloadFiles", NS_SS);
    req_cookie(u, b, "cookie");
    buf_add_str(b, "<fileDigestList>");
    for (i = 0; i < n && i < 100; i++) {
        char enc[29];
        int j, k = 0;
        for (j = 0; j < 18; j += 3) {
            unsigned v =
                (unsigned)sha1[i][j] << 16 | (unsigned)sha1[i][j + 1] << 8 | sha1[i][j + 2];
            enc[k++] = b64[v >> 18 & 63];
            enc[k++] = b64[v >> 12 & 63];
            enc[k++] = b64[v >> 6 & 63];
            enc[k++] = b64[v & 63];
        }
        {
            unsigned v = (unsigned)sha1[i][18] << 16 | (unsigned)sha1[i][19] << 8;
            enc[k++] = b64[v >> 18 & 63];
            enc[k++] = b64[v >> 12 & 63];
            enc[k++] = b64[v >> 6 & 63];
            enc[k++] = '=';
        }
        enc[k] = '\0';
        buf_printf(b, "<base64Binary>%s</base64Binary>", enc);
    }
    buf_add_str(b, "</fileDigestList>");
    req_end(b, "DownloadFiles");
}
