/*
 * soap_req: operation table of the two web services and bounded decoding of their requests
 * (see soap_req.h). Child elements are matched in the operation's namespace only (the WSDL
 * schemas are elementFormDefault="qualified"); unknown elements are ignored, as ASMX does.
 */
#include "soap_req.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "strutil.h"
#include "xmalloc.h"

#define A_SYNC "http://www.microsoft.com/SoftwareDistribution/"

static const struct soap_op_info soapreq_ops[] = {
    {SOAP_OP_GET_AUTH_CONFIG, SOAP_NS_SYNC, "GetAuthConfig", A_SYNC "GetAuthConfig", SOAP_SVC_SYNC},
    {SOAP_OP_GET_AUTHORIZATION_COOKIE, SOAP_NS_DSSAUTH, "GetAuthorizationCookie",
     SOAP_NS_DSSAUTH "/GetAuthorizationCookie", SOAP_SVC_DSSAUTH},
    {SOAP_OP_GET_COOKIE, SOAP_NS_SYNC, "GetCookie", A_SYNC "GetCookie", SOAP_SVC_SYNC},
    {SOAP_OP_GET_CONFIG_DATA, SOAP_NS_SYNC, "GetConfigData", A_SYNC "GetConfigData", SOAP_SVC_SYNC},
    {SOAP_OP_GET_REVISION_ID_LIST, SOAP_NS_SYNC, "GetRevisionIdList", A_SYNC "GetRevisionIdList",
     SOAP_SVC_SYNC},
    {SOAP_OP_GET_UPDATE_DATA, SOAP_NS_SYNC, "GetUpdateData", A_SYNC "GetUpdateData", SOAP_SVC_SYNC},
    {SOAP_OP_GET_UPDATE_DECRYPTION_DATA, SOAP_NS_SYNC, "GetUpdateDecryptionData",
     A_SYNC "GetUpdateDecryptionData", SOAP_SVC_SYNC},
    {SOAP_OP_DOWNLOAD_FILES, SOAP_NS_SYNC, "DownloadFiles", A_SYNC "DownloadFiles", SOAP_SVC_SYNC},
    {SOAP_OP_GET_DEPLOYMENTS, SOAP_NS_SYNC, "GetDeployments", A_SYNC "GetDeployments",
     SOAP_SVC_SYNC},
    {SOAP_OP_GET_RELATED_REVISIONS, SOAP_NS_SYNC, "GetRelatedRevisionsForUpdates",
     A_SYNC "GetRelatedRevisionsForUpdates", SOAP_SVC_SYNC},
    {SOAP_OP_PING, SOAP_NS_MONITOR, "Ping", SOAP_NS_MONITOR "/Ping",
     SOAP_SVC_SYNC | SOAP_SVC_DSSAUTH},
};

const struct soap_op_info *soapreq_lookup(enum soap_service svc, const xmlNode *op)
{
    size_t i;

    for (i = 0; i < sizeof(soapreq_ops) / sizeof(soapreq_ops[0]); i++)
        if ((soapreq_ops[i].services & (int)svc) &&
            xml_is(op, soapreq_ops[i].ns, soapreq_ops[i].name))
            return &soapreq_ops[i];
    return NULL;
}

const struct soap_op_info *soapreq_by_op(enum soap_op op)
{
    size_t i;

    for (i = 0; i < sizeof(soapreq_ops) / sizeof(soapreq_ops[0]); i++)
        if (soapreq_ops[i].op == op)
            return &soapreq_ops[i];
    return NULL;
}

__attribute__((format(printf, 3, 4))) static void
soapreq_bad(struct soap_call *c, enum soap_error e, const char *fmt, ...)
{
    va_list ap;

    if (c->param_err != SOAP_ERR_NONE)
        return; /* keep the first one */
    c->param_err = e;
    va_start(ap, fmt);
    vsnprintf(c->param_msg, sizeof(c->param_msg), fmt, ap);
    va_end(ap);
}

int soapreq_parse_version(const char *s, unsigned *major, unsigned *minor)
{
    unsigned v[2] = {0, 0};
    int part = 0, digits = 0;

    if (s == NULL)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    for (; *s != '\0' && !isspace((unsigned char)*s); s++) {
        if (*s == '.') {
            if (part == 1 || digits == 0)
                return -1;
            part = 1;
            digits = 0;
            continue;
        }
        if (!isdigit((unsigned char)*s) || ++digits > 5)
            return -1;
        v[part] = v[part] * 10 + (unsigned)(*s - '0');
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '\0' || part != 1 || digits == 0)
        return -1;
    *major = v[0];
    *minor = v[1];
    return 0;
}

int soapreq_valid_fqdn(const char *s)
{
    size_t n = 0;

    if (s == NULL || s[0] == '\0')
        return 0;
    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (n >= SOAPREQ_MAX_NAME)
            return 0;
        if (!(isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
            return 0;
    }
    return 1;
}

/* Text of (ns, name) under parent; NULL if absent, nil, or too long (*toolong set). */
static char *soapreq_text(const xmlNode *parent, const char *ns, const char *name, size_t max,
                          int *present)
{
    xmlNodePtr n = xml_child(parent, ns, name);

    *present = n != NULL && !soap_is_nil(n);
    if (!*present)
        return NULL;
    return soap_text(n, max);
}

/* base64 element -> bytes; 0 ok, -1 bad/too long. */
static int soapreq_b64(const xmlNode *n, unsigned char *out, size_t max, size_t *len)
{
    char *t = soap_text(n, (max + 2) / 3 * 4 + 256);
    int rc = -1;

    if (t != NULL)
        rc = str_b64_decode(t, out, max, len);
    free(t);
    return rc;
}

/* A Cookie-typed element (cookie, oldCookie): Expiration + EncryptedData. */
static void soapreq_cookie(const xmlNode *op, const char *ns, struct soap_call *c)
{
    xmlNodePtr ck = xml_child(op, ns, "cookie");
    xmlNodePtr ed;

    if (ck == NULL || soap_is_nil(ck))
        return;
    ed = xml_child(ck, ns, "EncryptedData");
    if (ed == NULL || soap_is_nil(ed))
        return;
    c->cookie_present = 1;
    if (soapreq_b64(ed, c->cookie, sizeof(c->cookie), &c->cookie_len) == 0 && c->cookie_len > 0)
        c->cookie_decoded = 1;
}

static void soapreq_anchor(const xmlNode *parent, const char *ns, const char *name,
                           const char *param, struct soap_call *c, int64_t *out, int *has)
{
    int present;
    char *t = soapreq_text(parent, ns, name, ANCHOR_MAX_LEN, &present);
    const char *p;

    *has = 0;
    if (!present)
        return;
    if (t == NULL) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: %s is longer than %d characters", param,
                    name, ANCHOR_MAX_LEN);
        return;
    }
    for (p = t; isspace((unsigned char)*p); p++)
        ;
    if (*p != '\0') {
        if (anchor_parse(t, out) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                        "%s: %s is not an anchor this server issued", param, name);
        else
            *has = 1;
    }
    free(t);
}

static void soapreq_id_deltas(const xmlNode *filter, const char *ns, const char *name,
                              struct soap_call *c, struct soap_id_delta **out, size_t *nout)
{
    xmlNodePtr list = xml_child(filter, ns, name), n;
    size_t cnt, k = 0;

    if (list == NULL || soap_is_nil(list))
        return;
    cnt = soap_count(list, ns, "IdAndDelta", SOAPREQ_MAX_FILTER_IDS);
    if (cnt > SOAPREQ_MAX_FILTER_IDS) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "filter: more than %d %s",
                    SOAPREQ_MAX_FILTER_IDS, name);
        return;
    }
    if (cnt == 0)
        return;
    *out = xcalloc(cnt, sizeof(**out));
    for (n = xml_child(list, ns, "IdAndDelta"); n != NULL && k < cnt;
         n = xml_next(n, ns, "IdAndDelta")) {
        int p1, p2, d;
        char *id = soapreq_text(n, ns, "Id", 64, &p1);
        char *dl = soapreq_text(n, ns, "Delta", 16, &p2);

        if (id == NULL || soap_guid_parse(id, (*out)[k].id) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "filter: %s has an Id that is not a GUID",
                        name);
        else if (dl == NULL || soap_bool_parse(dl, &d) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                        "filter: %s has a Delta that is not true or false", name);
        else {
            (*out)[k].delta = d;
            k++;
        }
        free(id);
        free(dl);
    }
    *nout = k;
}

static void soapreq_filter(const xmlNode *op, const char *ns, struct soap_call *c)
{
    xmlNodePtr f = xml_child(op, ns, "filter"), langs;
    int present, b;
    char *t;

    if (f == NULL || soap_is_nil(f)) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "filter: missing");
        return;
    }
    soapreq_anchor(f, ns, "Anchor", "filter", c, &c->anchor, &c->has_anchor);
    t = soapreq_text(f, ns, "GetConfig", 16, &present);
    if (t == NULL || soap_bool_parse(t, &b) < 0)
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "filter: GetConfig must be true or false");
    else
        c->get_config = b;
    free(t);
    t = soapreq_text(f, ns, "Get63LanguageOnly", 16, &present);
    if (present && (t == NULL || soap_bool_parse(t, &b) < 0))
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                    "filter: Get63LanguageOnly must be true or false");
    free(t);
    soapreq_id_deltas(f, ns, "Categories", c, &c->categories, &c->ncategories);
    soapreq_id_deltas(f, ns, "Classifications", c, &c->classifications, &c->nclassifications);
    /* Languages: the LCIDs whose language-specific updates are wanted (bounded) */
    langs = xml_child(f, ns, "Languages");
    if (langs != NULL) {
        xmlNodePtr n;
        size_t cnt = soap_count(langs, ns, "LanguageAndDelta", SOAPREQ_MAX_FILTER_IDS);

        if (cnt > SOAPREQ_MAX_FILTER_IDS)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "filter: more than %d Languages",
                        SOAPREQ_MAX_FILTER_IDS);
        for (n = xml_child(langs, ns, "LanguageAndDelta");
             n != NULL && cnt <= SOAPREQ_MAX_FILTER_IDS; n = xml_next(n, ns, "LanguageAndDelta")) {
            long v;
            char *id = soapreq_text(n, ns, "Id", 32, &present);

            if (id == NULL || soap_int_parse(id, -2147483647L - 1, 2147483647L, &v) < 0) {
                soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                            "filter: Languages has an Id that is not an int");
            } else {
                c->languages =
                    xreallocarray(c->languages, c->nlanguages + 1, sizeof(*c->languages));
                c->languages[c->nlanguages++] = v;
            }
            free(id);
        }
    }
}

static void soapreq_identities(const xmlNode *op, const char *ns, const char *name, size_t max,
                               struct soap_call *c)
{
    xmlNodePtr list = xml_child(op, ns, name), n;
    size_t cnt, k = 0;

    if (list == NULL || soap_is_nil(list)) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: missing", name);
        return;
    }
    cnt = soap_count(list, ns, "UpdateIdentity", max);
    if (cnt > max) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                    "%s: more than %zu update identities in one request (the limit "
                    "GetConfigData announces)",
                    name, max);
        return;
    }
    if (cnt == 0) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: empty", name);
        return;
    }
    c->ids = xcalloc(cnt, sizeof(*c->ids));
    for (n = xml_child(list, ns, "UpdateIdentity"); n != NULL && k < cnt;
         n = xml_next(n, ns, "UpdateIdentity")) {
        int p1, p2;
        long rev;
        char *id = soapreq_text(n, ns, "UpdateID", 64, &p1);
        char *rv = soapreq_text(n, ns, "RevisionNumber", 32, &p2);

        if (id == NULL || soap_guid_parse(id, c->ids[k].id) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: an UpdateID is not a GUID", name);
        else if (rv == NULL || soap_int_parse(rv, -2147483647L - 1, 2147483647L, &rev) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: a RevisionNumber is not an int", name);
        else {
            c->ids[k].rev = (int32_t)rev;
            k++;
        }
        free(id);
        free(rv);
    }
    c->nids = k;
}

static void soapreq_digests(const xmlNode *op, const char *ns, struct soap_call *c)
{
    xmlNodePtr list = xml_child(op, ns, "fileDigestList"), n;
    size_t cnt, k = 0;

    if (list == NULL || soap_is_nil(list)) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "fileDigestList: missing");
        return;
    }
    cnt = soap_count(list, ns, "base64Binary", SOAPREQ_MAX_DIGESTS);
    if (cnt > SOAPREQ_MAX_DIGESTS) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "fileDigestList: more than %d digests",
                    SOAPREQ_MAX_DIGESTS);
        return;
    }
    if (cnt == 0)
        return;
    c->digests = xcalloc(cnt, sizeof(*c->digests));
    for (n = xml_child(list, ns, "base64Binary"); n != NULL && k < cnt;
         n = xml_next(n, ns, "base64Binary")) {
        size_t len = 0;

        if (soapreq_b64(n, c->digests[k], 20, &len) < 0 || len != 20)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                        "fileDigestList: an entry is not the base64 of a 20-byte SHA-1 digest");
        else
            k++;
    }
    c->ndigests = k;
}

static void soapreq_guid_list(const xmlNode *op, const char *ns, const char *name,
                              struct soap_call *c, int required)
{
    xmlNodePtr list = xml_child(op, ns, name), n;
    size_t cnt;

    if (list == NULL || soap_is_nil(list)) {
        if (required)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: missing", name);
        return;
    }
    cnt = soap_count(list, ns, "guid", SOAPREQ_MAX_GUIDS);
    if (cnt > SOAPREQ_MAX_GUIDS) {
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: more than %d GUIDs", name,
                    SOAPREQ_MAX_GUIDS);
        return;
    }
    for (n = xml_child(list, ns, "guid"); n != NULL; n = xml_next(n, ns, "guid")) {
        unsigned char g[16];
        char *t = soap_text(n, 64);

        if (t == NULL || soap_guid_parse(t, g) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "%s: an entry is not a GUID", name);
        free(t);
    }
    c->nguids = cnt;
}

static void soapreq_auth(const xmlNode *op, const char *ns, struct soap_call *c)
{
    int present;
    char *t;

    t = soapreq_text(op, ns, "accountName", SOAPREQ_MAX_NAME, &present);
    if (t == NULL || !soapreq_valid_fqdn(t))
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                    "accountName: must be the downstream server's DNS name (letters, digits, "
                    "'-', '.'; at most %d)",
                    SOAPREQ_MAX_NAME);
    else {
        c->account_name = t;
        t = NULL;
    }
    free(t);
    t = soapreq_text(op, ns, "accountGuid", 64, &present);
    if (t == NULL || soap_guid_parse(t, c->account_guid) < 0)
        soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                    "accountGuid: must be the downstream server's id, a GUID");
    free(t);
    soapreq_guid_list(op, ns, "programKeys", c, 0);
}

static void soapreq_get_cookie(const xmlNode *op, const char *ns, struct soap_call *c)
{
    xmlNodePtr list = xml_child(op, ns, "authCookies"), ac, cd;
    int present;
    char *t;

    if (list != NULL)
        c->n_auth_cookies = soap_count(list, ns, "AuthorizationCookie", 8);
    ac = xml_child(list, ns, "AuthorizationCookie");
    cd = xml_child(ac, ns, "CookieData");
    if (cd != NULL && !soap_is_nil(cd) &&
        soapreq_b64(cd, c->auth_cookie, sizeof(c->auth_cookie), &c->auth_len) == 0 &&
        c->auth_len > 0)
        c->auth_decoded = 1;
    t = soapreq_text(op, ns, "protocolVersion", 32, &present);
    if (t == NULL || soapreq_parse_version(t, &c->proto_major, &c->proto_minor) < 0) {
        c->proto_major = 0;
        c->proto_minor = 0;
    }
    free(t);
}

void soapreq_decode(const struct soap_op_info *info, const xmlNode *op, struct soap_call *c)
{
    const char *ns = info->ns;
    int present;
    char *t;

    memset(c, 0, sizeof(*c));
    c->info = info;
    switch (info->op) {
    case SOAP_OP_GET_AUTH_CONFIG:
        break;
    case SOAP_OP_GET_AUTHORIZATION_COOKIE:
        soapreq_auth(op, ns, c);
        break;
    case SOAP_OP_GET_COOKIE:
        soapreq_get_cookie(op, ns, c);
        break;
    case SOAP_OP_GET_CONFIG_DATA:
        soapreq_cookie(op, ns, c);
        soapreq_anchor(op, ns, "configAnchor", "configAnchor", c, &c->anchor, &c->has_anchor);
        break;
    case SOAP_OP_GET_REVISION_ID_LIST:
        soapreq_cookie(op, ns, c);
        soapreq_filter(op, ns, c);
        break;
    case SOAP_OP_GET_UPDATE_DATA:
        soapreq_cookie(op, ns, c);
        soapreq_identities(op, ns, "updateIds", SOAPREQ_MAX_UPDATE_IDS, c);
        break;
    case SOAP_OP_GET_UPDATE_DECRYPTION_DATA:
        soapreq_cookie(op, ns, c);
        soapreq_identities(op, ns, "updateIds", SOAPREQ_MAX_DECRYPTION_IDS, c);
        break;
    case SOAP_OP_DOWNLOAD_FILES:
        soapreq_cookie(op, ns, c);
        soapreq_digests(op, ns, c);
        break;
    case SOAP_OP_GET_DEPLOYMENTS: {
        int has_sync = 0;

        soapreq_cookie(op, ns, c);
        soapreq_anchor(op, ns, "deploymentAnchor", "deploymentAnchor", c, &c->anchor,
                       &c->has_anchor);
        soapreq_anchor(op, ns, "syncAnchor", "syncAnchor", c, &c->sync_anchor, &has_sync);
        if (!has_sync)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS,
                        "syncAnchor: missing (send the Anchor of the last GetRevisionIdList)");
        break;
    }
    case SOAP_OP_GET_RELATED_REVISIONS:
        soapreq_cookie(op, ns, c);
        soapreq_guid_list(op, ns, "updateIDs", c, 0);
        break;
    case SOAP_OP_PING:
        t = soapreq_text(op, ns, "pingLevel", 32, &present);
        if (t == NULL || soap_int_parse(t, -2147483647L - 1, 2147483647L, &c->ping_level) < 0)
            soapreq_bad(c, SOAP_ERR_INVALID_PARAMETERS, "pingLevel: must be an int");
        free(t);
        break;
    }
}

void soapreq_free(struct soap_call *c)
{
    if (c == NULL)
        return;
    free(c->account_name);
    free(c->categories);
    free(c->classifications);
    free(c->languages);
    free(c->ids);
    free(c->digests);
    memset(c, 0, sizeof(*c));
}
