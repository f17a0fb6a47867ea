/*
 * uss: MS-WSUSSS client. Requests are built as text (buf), answers parsed as they stream in
 * (soapread). Every call goes through the client's curl multi handle, blocking or not, so
 * connections to the upstream are reused by everything. Error messages name the upstream and
 * say what to check; cookies and proxy passwords never reach a message or a log line.
 */
#include "uss.h"
#include "buf.h"
#include "hierarchy.h"
#include "log.h"
#include "soapread.h"
#include "strutil.h"
#include "trust.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS_SS   "http://www.microsoft.com/SoftwareDistribution"
#define NS_AUTH "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
#define PATH_SS "/ServerSyncWebService/ServerSyncWebService.asmx"

#define MAX_REQUEST  (64u << 20)
#define MAX_COOKIE   8192
#define RENEW_BEFORE 300 /* seconds before Expiration we renew the cookie */

static const char *const op_names[USS_OP_COUNT] = {
    "GetAuthConfig",     "GetAuthorizationCookie", "GetCookie",      "GetConfigData",
    "GetRevisionIdList", "GetUpdateData",          "GetDeployments", "DownloadFiles"};

struct uss {
    char *root;        /* scheme://host[:port], no trailing slash */
    char *content_url; /* base for /Content/ */
    char *ss_url;      /* root + PATH_SS */
    char *auth_url;    /* resolved DssAuth ServiceUrl, NULL until GetAuthConfig */
    char *account_name, *account_guid;
    char *proxy_url, *proxy_user, *proxy_password;
    struct trust *extra_ca; /* ca-file, added to the system store; NULL = none */
    int microsoft_update;   /* the upstream is Microsoft Update (for messages) */
    long proxy_auth;
    long connect_timeout_s, answer_timeout_s, stall_timeout_s;
    const atomic_int *cancel;
    CURLM *multi;
    /* authorization state */
    char *auth_plugin;      /* PlugInId of the authorization cookie */
    char *auth_cookie_data; /* base64 text, as received */
    char *cookie_expiration_text;
    char *cookie_data; /* EncryptedData, base64 text */
    time_t cookie_expires;
    unsigned long calls[USS_OP_COUNT];
};

struct uss_call {
    struct uss *u;
    enum uss_op op;
    CURL *easy;
    struct curl_slist *headers;
    struct buf req;
    struct soapread *rd;
    int started, done;
    int non_soap; /* the body was not for the SOAP parser (an HTTP error page) */
    CURLcode cres;
    char curl_err[CURL_ERROR_SIZE];
    struct uss_watch watch;
    size_t received, max_answer; /* bytes of the answer body so far, and its bound */
    size_t max_items;            /* bound on list items in the answer */
    void *out;                   /* the blocking caller's result struct */
    struct uss_update_data upd;
    /* items being assembled */
    struct uss_update cur;
    struct uss_fileurl cur_url;
    struct uss_group cur_group;
    struct uss_deployment cur_dep;
    struct uss_language cur_lang;
    /* GetAuthConfig / GetAuthorizationCookie / GetCookie answers */
    char plugin[64];
    char service_url[512];
    int have_dss;
    char *cookie_data;
    char expiration[64];
    int have_result;
    char bad[256];      /* why a callback rejected the answer */
    char *hierarchy;    /* X-Wsusd-Hierarchy of a GetConfigData answer, or NULL */
    char *subscription; /* X-Wsusd-Subscription of a GetConfigData answer, or NULL */
};

const char *uss_op_name(enum uss_op op)
{
    return (op >= 0 && op < USS_OP_COUNT) ? op_names[op] : "?";
}

/* ---------- small parsers ---------- */

time_t uss_parse_datetime(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0;

    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return (time_t)-1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return (time_t)-1;
    return timegm(&tm);
}

static int parse_bool(const char *t)
{
    return strcmp(t, "true") == 0 || strcmp(t, "1") == 0;
}

static long parse_long(const char *t, long min, long max, long def)
{
    long v;
    char tmp[32];

    if (str_copy(tmp, sizeof(tmp), t) < 0)
        return def;
    str_trim(tmp);
    return str_to_long(tmp, min, max, &v) == 0 ? v : def;
}

/* ---------- errors ---------- */

static void err_set(struct uss_error *e, enum uss_err_kind kind, const char *code, long status,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void err_set(struct uss_error *e, enum uss_err_kind kind, const char *code, long status,
                    const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return;
    e->kind = kind;
    snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
    e->http_status = status;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

/*
 * A failed certificate check in words (trust.h), with a second handshake on a handle set up
 * like every other (same proxy). 0, or -1 to fall back to curl's text.
 */
static int tls_explain(struct uss_call *c, struct uss_error *e)
{
    struct uss *u = c->u;
    CURL *probe = curl_easy_init();
    char msg[sizeof(e->msg)];
    int rc;

    if (probe == NULL)
        fatalx("out of memory creating a curl handle");
    uss_curl_setup(u, probe);
    rc = trust_explain(c->easy, c->curl_err, probe, u->root, u->microsoft_update,
                       u->connect_timeout_s, msg, sizeof(msg));
    curl_easy_cleanup(probe);
    if (rc < 0)
        return -1;
    err_set(e, USS_ERR_NET, "TLSVerify", 0, "%s", msg);
    return 0;
}

static void err_from_curl(struct uss_call *c, struct uss_error *e)
{
    struct uss *u = c->u;
    const char *op = uss_op_name(c->op);
    long oserr = 0;

    curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr);
    if (uss_tls_got_plain_http(c->cres, c->curl_err) ||
        (c->cres == CURLE_SSL_CONNECT_ERROR && uss_port_answers_http(u, u->root))) {
        err_set(e, USS_ERR_NET, "PlainHttp", 0,
                "upstream %s answers plain HTTP on that port: use http:// or the HTTPS port "
                "(8531)",
                u->root);
        return;
    }
    switch (c->cres) {
    case CURLE_COULDNT_CONNECT:
        if (oserr == ECONNREFUSED)
            err_set(e, USS_ERR_NET, "ConnectionRefused", 0,
                    "upstream %s refused the connection (%s); check that it runs and that the "
                    "port is right",
                    u->root, op);
        else
            err_set(e, USS_ERR_NET, "CouldNotConnect", 0, "cannot connect to upstream %s (%s): %s",
                    u->root, op, c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        err_set(e, USS_ERR_NET, "CouldNotResolve", 0,
                "cannot resolve the host name of upstream %s; check the name and the DNS "
                "server",
                u->root);
        break;
    case CURLE_COULDNT_RESOLVE_PROXY:
        err_set(e, USS_ERR_NET, "CouldNotResolveProxy", 0,
                "cannot resolve the proxy host name; check the proxy setting");
        break;
    case CURLE_OPERATION_TIMEDOUT:
        err_set(e, USS_ERR_NET, "Timeout", 0, "upstream %s did not answer %s in time", u->root, op);
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        err_set(e, USS_ERR_NET, "ConnectionLost", 0,
                "upstream %s closed the connection during %s (%s)", u->root, op,
                c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        if (tls_explain(c, e) == 0)
            break;
        /* FALLTHROUGH */
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
        err_set(e, USS_ERR_NET, "TLS", 0,
                "TLS to upstream %s failed: %s; check its certificate and the CA file setting",
                u->root, c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        if (c->watch.why == USS_WATCH_NO_ANSWER)
            err_set(e, USS_ERR_NET, "NoAnswer", 0,
                    "upstream %s accepted the connection but did not answer %s within %ld s; "
                    "check that it is a WSUS server and not overloaded",
                    u->root, op, u->answer_timeout_s);
        else if (c->watch.why == USS_WATCH_STALLED)
            err_set(e, USS_ERR_NET, "Stalled", 0,
                    "upstream %s stopped sending its %s answer (less than %d bytes in %ld s)",
                    u->root, op, USS_MIN_WINDOW_BYTES, u->stall_timeout_s);
        else
            err_set(e, USS_ERR_NET, "Cancelled", 0, "%s to upstream %s was cancelled", op, u->root);
        break;
    case CURLE_WRITE_ERROR:
        err_set(e, USS_ERR_PROTO, "BadAnswer", 0, "upstream %s sent an unusable %s answer: %s",
                u->root, op, c->bad[0] ? c->bad : soapread_error(c->rd));
        break;
    default:
        err_set(e, USS_ERR_NET, curl_easy_strerror(c->cres), 0, "%s to upstream %s failed: %s", op,
                u->root, c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    }
}

/* ---------- request building ---------- */

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

static void req_cookie(struct uss *u, struct buf *b, const char *name)
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

/* ---------- answer parsing ---------- */

static int grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
    size_t nc;

    if (n < *cap)
        return 0;
    if (n >= max)
        return -1;
    nc = *cap ? *cap * 2 : 16;
    if (nc > max)
        nc = max;
    *arr = xreallocarray(*arr, nc, size);
    *cap = nc;
    return 0;
}

static int reject(struct uss_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int reject(struct uss_call *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->bad, sizeof(c->bad), fmt, ap);
    va_end(ap);
    return -1;
}

static int end_auth_config(struct uss_call *c, const char *name, const char *text)
{
    if (strcmp(name, "PlugInID") == 0) {
        snprintf(c->plugin, sizeof(c->plugin), "%s", text);
    } else if (strcmp(name, "ServiceUrl") == 0) {
        if (strlen(text) >= sizeof(c->service_url))
            return reject(c, "%s", "ServiceUrl too long");
        if (strcasecmp(c->plugin, "DssTargeting") == 0 || !c->have_dss)
            snprintf(c->service_url, sizeof(c->service_url), "%s", text);
    } else if (strcmp(name, "AuthPlugInInfo") == 0) {
        if (strcasecmp(c->plugin, "DssTargeting") == 0)
            c->have_dss = 1;
        c->plugin[0] = '\0';
    } else if (strcmp(name, "GetAuthConfigResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int end_cookie(struct uss_call *c, const char *name, const char *text, size_t len)
{
    if (strcmp(name, "PlugInId") == 0) {
        snprintf(c->plugin, sizeof(c->plugin), "%s", text);
    } else if (strcmp(name, "CookieData") == 0 || strcmp(name, "EncryptedData") == 0) {
        if (len > MAX_COOKIE)
            return reject(c, "%s", "cookie larger than 8 KiB");
        free(c->cookie_data);
        c->cookie_data = xstrdup(text);
    } else if (strcmp(name, "Expiration") == 0) {
        snprintf(c->expiration, sizeof(c->expiration), "%s", text);
    } else if (strcmp(name, "GetAuthorizationCookieResult") == 0 ||
               strcmp(name, "GetCookieResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int end_config(struct uss_call *c, const char *name, const char *text)
{
    struct uss_config *o = c->out;

    if (strcmp(name, "CatalogOnlySync") == 0)
        o->catalog_only_sync = parse_bool(text);
    else if (strcmp(name, "LazySync") == 0)
        o->lazy_sync = parse_bool(text);
    else if (strcmp(name, "ServerHostsPsfFiles") == 0)
        o->hosts_psf_files = parse_bool(text);
    else if (strcmp(name, "MaxNumberOfUpdatesPerRequest") == 0)
        o->max_updates_per_request = (int)parse_long(text, 1, 1000, 100);
    else if (strcmp(name, "MaxUpdatesPerRequestInGetUpdateDecryptionData") == 0)
        o->max_decryption_per_request = (int)parse_long(text, 1, 1000, 100);
    else if (strcmp(name, "NewConfigAnchor") == 0) {
        if (strlen(text) >= sizeof(o->new_config_anchor))
            return reject(c, "%s", "NewConfigAnchor too long");
        snprintf(o->new_config_anchor, sizeof(o->new_config_anchor), "%s", text);
    } else if (strcmp(name, "ProtocolVersion") == 0)
        snprintf(o->protocol_version, sizeof(o->protocol_version), "%s", text);
    else if (strcmp(name, "LanguageID") == 0)
        c->cur_lang.lcid = (int)parse_long(text, 0, 1 << 30, -1);
    else if (strcmp(name, "ShortLanguage") == 0)
        snprintf(c->cur_lang.short_name, sizeof(c->cur_lang.short_name), "%s", text);
    else if (strcmp(name, "LongLanguage") == 0)
        snprintf(c->cur_lang.long_name, sizeof(c->cur_lang.long_name), "%s", text);
    else if (strcmp(name, "Enabled") == 0)
        c->cur_lang.enabled = parse_bool(text);
    else if (strcmp(name, "ServerSyncLanguageData") == 0) {
        if (grow((void **)&o->languages, &c->max_items, o->nlanguages, sizeof(*o->languages),
                 4096) < 0)
            return reject(c, "%s", "too many languages");
        o->languages[o->nlanguages++] = c->cur_lang;
        memset(&c->cur_lang, 0, sizeof(c->cur_lang));
    } else if (strcmp(name, "GetConfigDataResult") == 0)
        c->have_result = 1;
    return 0;
}

static int end_idlist(struct uss_call *c, struct soapread *r, const char *name, const char *text)
{
    struct uss_idlist *o = c->out;

    if (strcmp(name, "UpdateID") == 0) {
        if (str_guid_canon(text, c->cur.id.update_id) < 0)
            return reject(c, "bad UpdateID \"%.40s\"", text);
    } else if (strcmp(name, "RevisionNumber") == 0) {
        c->cur.id.rev = (int32_t)parse_long(text, 0, 0x7fffffff, -1);
        if (c->cur.id.rev < 0)
            return reject(c, "bad RevisionNumber \"%.20s\"", text);
    } else if (strcmp(name, "UpdateIdentity") == 0) {
        if (c->cur.id.update_id[0] == '\0')
            return reject(c, "%s", "UpdateIdentity without UpdateID");
        if (grow((void **)&o->ids, &o->cap, o->n, sizeof(*o->ids), USS_MAX_IDS) < 0)
            return reject(c, "%s", "more identities than this server accepts");
        o->ids[o->n++] = c->cur.id;
        memset(&c->cur.id, 0, sizeof(c->cur.id));
    } else if (strcmp(name, "Anchor") == 0 && soapread_depth(r) == 4) {
        if (strlen(text) >= sizeof(o->anchor))
            return reject(c, "%s", "Anchor too long");
        snprintf(o->anchor, sizeof(o->anchor), "%s", text);
    } else if (strcmp(name, "GetRevisionIdListResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int end_update_data(struct uss_call *c, struct soapread *r, const char *name,
                           const char *text, size_t len)
{
    struct uss_update_data *o = c->out;
    const char *parent = soapread_parent(r, 1);

    if (strcmp(parent, "Id") == 0 && strcmp(name, "UpdateID") == 0) {
        if (str_guid_canon(text, c->cur.id.update_id) < 0)
            return reject(c, "bad UpdateID \"%.40s\"", text);
    } else if (strcmp(parent, "Id") == 0 && strcmp(name, "RevisionNumber") == 0) {
        c->cur.id.rev = (int32_t)parse_long(text, 0, 0x7fffffff, -1);
        if (c->cur.id.rev < 0)
            return reject(c, "bad RevisionNumber \"%.20s\"", text);
    } else if (strcmp(name, "XmlUpdateBlob") == 0) {
        if (len > 0) {
            free(c->cur.xml);
            c->cur.xml = xstrndup(text, len);
        }
    } else if (strcmp(name, "XmlUpdateBlobCompressed") == 0) {
        if (len > 0) {
            size_t cap = len / 4 * 3 + 3, n;
            free(c->cur.cab);
            c->cur.cab = xmalloc(cap);
            if (str_b64_decode(text, c->cur.cab, cap, &n) < 0 || n == 0)
                return reject(c, "%s", "XmlUpdateBlobCompressed is not base64");
            c->cur.cab_len = n;
        }
    } else if (strcmp(name, "base64Binary") == 0 && strcmp(parent, "FileDigestList") == 0) {
        unsigned char d[64];
        size_t n;
        if (str_b64_decode(text, d, sizeof(d), &n) < 0 || n != 20)
            return 0; /* not a SHA-1: ignore rather than fail the batch */
        if (grow((void **)&c->cur.digests, &c->max_items, c->cur.ndigests, 20, 100000) < 0)
            return reject(c, "%s", "too many file digests");
        memcpy(c->cur.digests[c->cur.ndigests++], d, 20);
    } else if (strcmp(name, "ServerSyncUpdateData") == 0) {
        if (c->cur.id.update_id[0] == '\0')
            return reject(c, "%s", "ServerSyncUpdateData without Id");
        if (c->cur.xml == NULL && c->cur.cab == NULL)
            return reject(c, "update %s came without its document", c->cur.id.update_id);
        if (grow((void **)&o->updates, &o->cap, o->n, sizeof(*o->updates), 100000) < 0)
            return reject(c, "%s", "too many updates in one answer");
        o->updates[o->n++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
        c->max_items = 0;
    } else if (strcmp(name, "FileDigest") == 0) {
        unsigned char d[64];
        size_t n;
        if (str_b64_decode(text, d, sizeof(d), &n) == 0 && n == 20)
            memcpy(c->cur_url.sha1, d, 20);
    } else if (strcmp(name, "MUUrl") == 0) {
        free(c->cur_url.mu_url);
        c->cur_url.mu_url = len > 0 && len < 4096 ? xstrndup(text, len) : NULL;
    } else if (strcmp(name, "ServerSyncUrlData") == 0) {
        if (grow((void **)&o->urls, &o->capurls, o->nurls, sizeof(*o->urls), 1000000) < 0)
            return reject(c, "%s", "too many file URLs in one answer");
        o->urls[o->nurls++] = c->cur_url;
        memset(&c->cur_url, 0, sizeof(c->cur_url));
    } else if (strcmp(name, "GetUpdateDataResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int push_guid(char (**arr)[37], size_t *n, size_t *cap, const char *text, struct uss_call *c)
{
    char g[37];

    if (str_guid_canon(text, g) < 0)
        return reject(c, "bad GUID \"%.40s\"", text);
    if (grow((void **)arr, cap, *n, 37, 1000000) < 0)
        return reject(c, "%s", "too many GUIDs");
    memcpy((*arr)[(*n)++], g, 37);
    return 0;
}

static int end_deployments(struct uss_call *c, struct soapread *r, const char *name,
                           const char *text, size_t len)
{
    struct uss_deployments *o = c->out;
    const char *parent = soapread_parent(r, 1);
    struct uss_group *g = &c->cur_group;
    struct uss_deployment *d = &c->cur_dep;

    if (strcmp(parent, "ServerSyncTargetGroup") == 0) {
        if (strcmp(name, "TargetGroupID") == 0 && str_guid_canon(text, g->id) < 0)
            return reject(c, "bad TargetGroupID \"%.40s\"", text);
        if (strcmp(name, "ParentGroupId") == 0 && str_guid_canon(text, g->parent_id) < 0)
            return reject(c, "bad ParentGroupId \"%.40s\"", text);
        if (strcmp(name, "Name") == 0) {
            free(g->name);
            g->name = xstrndup(text, len > 512 ? 512 : len);
        }
        if (strcmp(name, "IsBuiltin") == 0)
            g->is_builtin = parse_bool(text);
    } else if (strcmp(name, "ServerSyncTargetGroup") == 0) {
        if (grow((void **)&o->groups, &o->capgroups, o->ngroups, sizeof(*g), 100000) < 0)
            return reject(c, "%s", "too many groups");
        o->groups[o->ngroups++] = *g;
        memset(g, 0, sizeof(*g));
    } else if (strcmp(parent, "ServerSyncDeployment") == 0) {
        if (strcmp(name, "UpdateId") == 0 && str_guid_canon(text, d->update_id) < 0)
            return reject(c, "bad UpdateId \"%.40s\"", text);
        if (strcmp(name, "RevisionNumber") == 0)
            d->rev = (int32_t)parse_long(text, 0, 0x7fffffff, 0);
        if (strcmp(name, "Action") == 0)
            d->action = (int)parse_long(text, 0, 3, 2);
        if (strcmp(name, "AdminName") == 0) {
            free(d->admin_name);
            d->admin_name = xstrndup(text, len > 256 ? 256 : len);
        }
        if (strcmp(name, "Deadline") == 0)
            snprintf(d->deadline, sizeof(d->deadline), "%s", text);
        if (strcmp(name, "IsAssigned") == 0)
            d->is_assigned = parse_bool(text);
        if (strcmp(name, "GoLiveTime") == 0)
            snprintf(d->go_live_time, sizeof(d->go_live_time), "%s", text);
        if (strcmp(name, "DeploymentGuid") == 0 && str_guid_canon(text, d->deployment_guid) < 0)
            return reject(c, "bad DeploymentGuid \"%.40s\"", text);
        if (strcmp(name, "TargetGroupId") == 0 && str_guid_canon(text, d->target_group_id) < 0)
            return reject(c, "bad TargetGroupId \"%.40s\"", text);
        if (strcmp(name, "DownloadPriority") == 0)
            d->download_priority = (int)parse_long(text, 0, 255, 1);
    } else if (strcmp(name, "ServerSyncDeployment") == 0) {
        if (d->deployment_guid[0] == '\0' || d->update_id[0] == '\0')
            return reject(c, "%s", "deployment without DeploymentGuid or UpdateId");
        if (grow((void **)&o->deployments, &o->capdeployments, o->ndeployments, sizeof(*d),
                 4000000) < 0)
            return reject(c, "%s", "too many deployments");
        o->deployments[o->ndeployments++] = *d;
        memset(d, 0, sizeof(*d));
    } else if (strcmp(name, "guid") == 0 && strcmp(parent, "DeadDeployments") == 0) {
        return push_guid(&o->dead, &o->ndead, &o->capdead, text, c);
    } else if (strcmp(name, "guid") == 0 && strcmp(parent, "HiddenUpdates") == 0) {
        return push_guid(&o->hidden, &o->nhidden, &o->caphidden, text, c);
    } else if (strcmp(name, "guid") == 0 && strcmp(parent, "AcceptedEulas") == 0) {
        return push_guid(&o->eulas, &o->neulas, &o->capeulas, text, c);
    } else if (strcmp(name, "Anchor") == 0 && soapread_depth(r) == 4) {
        if (strlen(text) >= sizeof(o->anchor))
            return reject(c, "%s", "Anchor too long");
        snprintf(o->anchor, sizeof(o->anchor), "%s", text);
    } else if (strcmp(name, "GetDeploymentsResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int call_on_end(void *arg, struct soapread *r, const char *name, const char *text,
                       size_t len)
{
    struct uss_call *c = arg;

    if (soapread_depth(r) == 2 && strcmp(name, "DownloadFilesResponse") == 0)
        c->have_result = 1;
    switch (c->op) {
    case USS_OP_GET_AUTH_CONFIG:
        return end_auth_config(c, name, text);
    case USS_OP_GET_AUTHORIZATION_COOKIE:
    case USS_OP_GET_COOKIE:
        return end_cookie(c, name, text, len);
    case USS_OP_GET_CONFIG_DATA:
        return end_config(c, name, text);
    case USS_OP_GET_REVISION_ID_LIST:
        return end_idlist(c, r, name, text);
    case USS_OP_GET_UPDATE_DATA:
        return end_update_data(c, r, name, text, len);
    case USS_OP_GET_DEPLOYMENTS:
        return end_deployments(c, r, name, text, len);
    default:
        return 0;
    }
}

static size_t call_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct uss_call *c = arg;
    size_t n = size * nmemb;
    long status = 0;

    /* only 200 answers and 500 faults are SOAP; other bodies (proxy pages) are dropped */
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    c->received += n;
    if (c->received > c->max_answer) {
        reject(c, "the answer is larger than the %zu MiB this server accepts for %s",
               c->max_answer >> 20, uss_op_name(c->op));
        return 0;
    }
    if (status != 200 && status != 500) {
        c->non_soap = 1;
        return n;
    }
    if (soapread_feed(c->rd, ptr, n) < 0)
        return 0; /* CURLE_WRITE_ERROR; the reason is in rd / c->bad */
    return n;
}

/* ---------- calls ---------- */

static struct uss_call *call_new(struct uss *u, enum uss_op op)
{
    struct uss_call *c = xcalloc(1, sizeof(*c));

    c->u = u;
    c->op = op;
    buf_init(&c->req, MAX_REQUEST);
    c->rd = soapread_new(call_on_end, c, USS_MAX_TEXT);
    return c;
}

int uss_port_answers_http(const struct uss *u, const char *https_url)
{
    char url[1024];
    const char *rest;
    long status = 0;
    CURL *easy;
    int n;

    /* through a proxy the answer could be the proxy's own: no verdict then */
    if (u->proxy_url != NULL || !str_has_prefix_ci(https_url, "https://"))
        return 0;
    rest = https_url + strlen("https://");
    n = snprintf(url, sizeof(url), "http://%.*s/", (int)strcspn(rest, "/?#"), rest);
    if (n < 0 || (size_t)n >= sizeof(url))
        return 0;
    easy = curl_easy_init();
    if (easy == NULL)
        fatalx("out of memory creating a curl handle");
    uss_curl_setup(u, easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "wsusd/" WSUSD_VERSION);
    if (curl_easy_perform(easy) == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    return status >= 100 && status <= 599;
}

int uss_tls_got_plain_http(CURLcode res, const char *curl_err)
{
    /* OpenSSL's words for a server hello that is not TLS (an HTTP answer to the ClientHello) */
    static const char *const words[] = {"wrong version number", "packet length too long",
                                        "unexpected TLS packet", "record layer failure"};
    size_t i;

    if (res != CURLE_SSL_CONNECT_ERROR || curl_err == NULL)
        return 0;
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(curl_err, words[i]) != NULL)
            return 1;
    return 0;
}

void uss_curl_setup(const struct uss *u, CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, u->connect_timeout_s);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
    trust_apply(u->extra_ca, easy);
    if (u->proxy_url != NULL) {
        curl_easy_setopt(easy, CURLOPT_PROXY, u->proxy_url);
        if (u->proxy_user != NULL) {
            curl_easy_setopt(easy, CURLOPT_PROXYUSERNAME, u->proxy_user);
            curl_easy_setopt(easy, CURLOPT_PROXYPASSWORD,
                             u->proxy_password ? u->proxy_password : "");
            curl_easy_setopt(easy, CURLOPT_PROXYAUTH, u->proxy_auth);
        }
    } else {
        curl_easy_setopt(easy, CURLOPT_PROXY, ""); /* ignore http_proxy from the environment */
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int uss_cancelled(const struct uss *u)
{
    return u->cancel != NULL && atomic_load(u->cancel) != 0;
}

long uss_answer_timeout(const struct uss *u)
{
    return u->answer_timeout_s;
}

long uss_stall_timeout(const struct uss *u)
{
    return u->stall_timeout_s;
}

static int watch_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
    struct uss_watch *w = arg;
    double t = now_s();
    long status = 0;

    (void)ultotal;
    (void)ulnow;
    if (uss_cancelled(w->u)) {
        w->why = USS_WATCH_CANCELLED;
        return 1;
    }
    if (!w->answered) {
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 0 && dlnow == 0) {
            if (t - w->start < (double)w->u->answer_timeout_s)
                return 0;
            w->why = USS_WATCH_NO_ANSWER;
            return 1;
        }
        w->answered = 1;
        w->window_start = t;
        w->window_bytes = dlnow;
        return 0;
    }
    if (dltotal > 0 && dlnow >= dltotal)
        return 0;
    if (t - w->window_start < (double)w->u->stall_timeout_s)
        return 0;
    if (dlnow - w->window_bytes < (curl_off_t)w->min_bytes) {
        w->why = USS_WATCH_STALLED;
        return 1;
    }
    w->window_start = t;
    w->window_bytes = dlnow;
    return 0;
}

void uss_watch_start(const struct uss *u, CURL *easy, struct uss_watch *w, long min_bytes)
{
    memset(w, 0, sizeof(*w));
    w->u = u;
    w->easy = easy;
    w->min_bytes = min_bytes > 0 ? min_bytes : USS_MIN_WINDOW_BYTES;
    w->start = now_s();
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, watch_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, w);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
}

/* Value of header name in the header line data (len bytes), or NULL; *vl gets its length. */
static const char *header_value(const char *data, size_t len, const char *name, size_t *vl)
{
    size_t nl = strlen(name);
    const char *v;

    if (len <= nl || strncasecmp(data, name, nl) != 0 || data[nl] != ':')
        return NULL;
    v = data + nl + 1;
    *vl = len - nl - 1;
    while (*vl > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        (*vl)--;
    }
    while (*vl > 0 && (v[*vl - 1] == '\r' || v[*vl - 1] == '\n' || v[*vl - 1] == ' '))
        (*vl)--;
    return v;
}

/* Keeps the X-Wsusd-* headers (hierarchy.h) of the answer, when they are not too long. */
static size_t call_header(char *data, size_t size, size_t n, void *arg)
{
    struct uss_call *c = arg;
    size_t len = size * n, vl = 0;
    const char *v;

    if ((v = header_value(data, len, HIER_SUBSCRIPTION_HEADER, &vl)) != NULL) {
        free(c->subscription);
        c->subscription = vl <= HIER_MAX_SUBSCRIPTION ? xstrndup(v, vl) : NULL;
        return len;
    }
    v = header_value(data, len, HIER_HEADER, &vl);
    if (v == NULL)
        return len;
    free(c->hierarchy);
    c->hierarchy = vl <= HIER_MAX_VALUE ? xstrndup(v, vl) : NULL;
    return len;
}

static void call_start(struct uss_call *c, const char *url)
{
    struct uss *u = c->u;
    char action[256];
    const char *ns = c->op == USS_OP_GET_AUTHORIZATION_COOKIE ? NS_AUTH : NS_SS;

    c->easy = curl_easy_init();
    if (c->easy == NULL)
        fatalx("out of memory creating a curl handle");
    snprintf(action, sizeof(action), "SOAPAction: \"%s/%s\"", ns, uss_op_name(c->op));
    c->headers = curl_slist_append(c->headers, "Content-Type: text/xml; charset=utf-8");
    c->headers = curl_slist_append(c->headers, action);
    c->headers = curl_slist_append(c->headers, "Expect:");
    uss_curl_setup(u, c->easy);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, buf_str(&c->req));
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.len);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, call_write);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->curl_err);
    if (c->op == USS_OP_GET_CONFIG_DATA) {
        curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, call_header);
        curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    }
    c->max_answer = c->op == USS_OP_GET_REVISION_ID_LIST || c->op == USS_OP_GET_UPDATE_DATA ||
                            c->op == USS_OP_GET_DEPLOYMENTS
                        ? USS_MAX_ANSWER
                        : USS_MAX_SMALL_ANSWER;
    uss_watch_start(u, c->easy, &c->watch, 0);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "wsusd/" WSUSD_VERSION);
    if (curl_multi_add_handle(u->multi, c->easy) != CURLM_OK)
        fatalx("cannot add a transfer to the curl multi handle");
    c->started = 1;
    log_debug("upstream call %s (%zu bytes)", uss_op_name(c->op), c->req.len);
}

void uss_call_free(struct uss_call *c)
{
    if (c == NULL)
        return;
    if (c->easy != NULL) {
        if (c->started && !c->done)
            curl_multi_remove_handle(c->u->multi, c->easy);
        curl_easy_cleanup(c->easy);
    }
    curl_slist_free_all(c->headers);
    buf_free(&c->req);
    soapread_free(c->rd);
    uss_update_data_free(&c->upd);
    uss_update_free(&c->cur);
    free(c->cur_url.mu_url);
    free(c->cur_group.name);
    free(c->cur_dep.admin_name);
    free(c->cookie_data);
    free(c->hierarchy);
    free(c->subscription);
    free(c);
}

int uss_wait(struct uss *u, int timeout_ms)
{
    int running = 0, left;
    CURLMsg *m;

    curl_multi_perform(u->multi, &running);
    while ((m = curl_multi_info_read(u->multi, &left)) != NULL) {
        struct uss_call *c = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        curl_multi_remove_handle(u->multi, m->easy_handle);
        if (c != NULL) {
            c->cres = m->data.result;
            c->done = 1;
            if (c->op >= 0 && c->op < USS_OP_COUNT)
                u->calls[c->op]++;
        }
    }
    if (running > 0 && timeout_ms > 0)
        curl_multi_poll(u->multi, NULL, 0, timeout_ms, NULL);
    return running;
}

int uss_call_done(const struct uss_call *c)
{
    return c->done;
}

/* Turn a finished transfer into 0 or an error. */
static int call_check(struct uss_call *c, struct uss_error *err)
{
    struct uss *u = c->u;
    const char *op = uss_op_name(c->op);
    long status = 0;

    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (c->cres != CURLE_OK && !(c->cres == CURLE_WRITE_ERROR && soapread_is_fault(c->rd))) {
        err_from_curl(c, err);
        err->http_status = status;
        return -1;
    }
    if (status == 407) {
        err_set(err, USS_ERR_HTTP, "ProxyAuth", status,
                "the proxy refused our credentials when calling upstream %s (HTTP 407); check "
                "proxy-user, proxy-password and proxy-auth",
                u->root);
        return -1;
    }
    if (c->non_soap || (soapread_finish(c->rd) < 0 && !soapread_is_fault(c->rd))) {
        if (status != 200)
            err_set(err, USS_ERR_HTTP, "", status,
                    "upstream %s answered %s with HTTP %ld; check that the URL points at a WSUS "
                    "server (it should end at the host:port)",
                    u->root, op, status);
        else
            err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                    "upstream %s sent an unusable %s answer: %s", u->root, op,
                    c->bad[0] ? c->bad : soapread_error(c->rd));
        return -1;
    }
    if (soapread_is_fault(c->rd)) {
        const char *code = soapread_error_code(c->rd);
        const char *m = soapread_error_message(c->rd);
        err_set(err, USS_ERR_FAULT, code, status, "upstream %s refused %s: %s%s%s%s", u->root, op,
                code[0] ? code : "fault without ErrorCode", m[0] ? " (" : "", m, m[0] ? ")" : "");
        if (!code[0] && soapread_fault_string(c->rd)[0])
            snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg), ": %s",
                     soapread_fault_string(c->rd));
        return -1;
    }
    if (status != 200) {
        err_set(err, USS_ERR_HTTP, "", status, "upstream %s answered %s with HTTP %ld", u->root, op,
                status);
        return -1;
    }
    if (!c->have_result) {
        err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                "upstream %s sent a %s answer without a result", u->root, op);
        return -1;
    }
    return 0;
}

/* Start c on url and wait for it. */
static int call_run(struct uss_call *c, const char *url, struct uss_error *err)
{
    call_start(c, url);
    while (!c->done)
        uss_wait(c->u, 1000);
    return call_check(c, err);
}

/* ---------- client ---------- */

static char *root_of(const char *url)
{
    const char *p = strstr(url, "://");
    size_t n;

    if (p == NULL)
        return NULL;
    p += 3;
    n = strcspn(p, "/?#");
    if (n == 0)
        return NULL;
    return xstrndup(url, (size_t)(p - url) + n);
}

static char *derive_content_url(const char *root)
{
    const char *hostp = strstr(root, "://") + 3;
    const char *colon;
    long port;

    if (strncasecmp(root, "https://", 8) != 0)
        return xstrdup(root);
    /* WSUSSS 2.1: services on HTTPS port N serve content over HTTP on N-1 (443 -> 80) */
    colon = strrchr(hostp, ':');
    if (colon != NULL && strchr(colon, ']') == NULL && str_to_long(colon + 1, 1, 65535, &port) == 0)
        return port == 443 ? xasprintf("http://%.*s", (int)(colon - hostp), hostp)
                           : xasprintf("http://%.*s:%ld", (int)(colon - hostp), hostp, port - 1);
    return xasprintf("http://%s", hostp);
}

struct uss *uss_new(const struct uss_options *o, struct uss_error *err)
{
    struct uss *u;
    const char *url = o->url;
    struct trust *extra_ca = NULL;
    char *root;
    int mu = 0;

    if (url == NULL || url[0] == '\0') {
        err_set(err, USS_ERR_PROTO, "NoUpstream", 0,
                "no upstream server is configured; set one with wsusctl config set upstream "
                "http://HOST:8530");
        return NULL;
    }
    if (strcasecmp(url, "microsoft-update") == 0) {
        const char *test_url = getenv(USS_TEST_MU_URL_ENV);
        url = USS_MICROSOFT_UPDATE_URL;
        if (test_url != NULL && test_url[0] != '\0') {
            log_warnx("%s is set: upstream microsoft-update goes to %s instead (for tests only)",
                      USS_TEST_MU_URL_ENV, test_url);
            url = test_url;
        }
        mu = 1;
    }
    if (!str_has_prefix_ci(url, "http://") && !str_has_prefix_ci(url, "https://")) {
        err_set(err, USS_ERR_PROTO, "BadUpstream", 0,
                "upstream \"%s\" is not an http:// or https:// URL", url);
        return NULL;
    }
    root = root_of(url);
    if (root == NULL) {
        err_set(err, USS_ERR_PROTO, "BadUpstream", 0, "upstream \"%s\" has no host name", url);
        return NULL;
    }
    if (strchr(root, '@') != NULL) {
        free(root);
        err_set(err, USS_ERR_PROTO, "BadUpstream", 0,
                "the upstream URL must not carry a user name or password");
        return NULL;
    }
    if (o->ca_file != NULL && o->ca_file[0] != '\0') {
        char msg[sizeof(err->msg)];
        extra_ca = trust_load(o->ca_file, msg, sizeof(msg));
        if (extra_ca == NULL) {
            err_set(err, USS_ERR_PROTO, "BadCaFile", 0, "%s", msg);
            free(root);
            return NULL;
        }
    }
    u = xcalloc(1, sizeof(*u));
    u->root = root;
    u->extra_ca = extra_ca;
    u->microsoft_update = mu;
    u->ss_url = xasprintf("%s%s", root, PATH_SS);
    if (o->content_url != NULL && o->content_url[0] != '\0') {
        u->content_url = xstrdup(o->content_url);
        if (u->content_url[strlen(u->content_url) - 1] == '/')
            u->content_url[strlen(u->content_url) - 1] = '\0';
    } else {
        u->content_url = derive_content_url(root);
    }
    u->account_name = xstrdup(o->account_name ? o->account_name : "wsusd.localdomain");
    u->account_guid = xstrdup(o->account_guid ? o->account_guid : "");
    u->proxy_url = o->proxy_url && o->proxy_url[0] ? xstrdup(o->proxy_url) : NULL;
    u->proxy_user = o->proxy_user && o->proxy_user[0] ? xstrdup(o->proxy_user) : NULL;
    u->proxy_password = o->proxy_password ? xstrdup(o->proxy_password) : NULL;
    u->proxy_auth = CURLAUTH_ANY;
    if (o->proxy_auth != NULL) {
        if (strcasecmp(o->proxy_auth, "basic") == 0)
            u->proxy_auth = CURLAUTH_BASIC;
        else if (strcasecmp(o->proxy_auth, "digest") == 0)
            u->proxy_auth = CURLAUTH_DIGEST;
        else if (strcasecmp(o->proxy_auth, "ntlm") == 0)
            u->proxy_auth = CURLAUTH_NTLM;
    }
    u->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 30;
    u->answer_timeout_s = o->answer_timeout_s > 0 ? o->answer_timeout_s : 60;
    u->stall_timeout_s = o->stall_timeout_s > 0 ? o->stall_timeout_s : 60;
    u->cancel = o->cancel;
    u->multi = curl_multi_init();
    if (u->multi == NULL)
        fatalx("out of memory creating a curl multi handle");
    curl_multi_setopt(u->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    return u;
}

void uss_free(struct uss *u)
{
    if (u == NULL)
        return;
    curl_multi_cleanup(u->multi);
    free(u->root);
    free(u->content_url);
    free(u->ss_url);
    free(u->auth_url);
    free(u->account_name);
    free(u->account_guid);
    free(u->proxy_url);
    free(u->proxy_user);
    if (u->proxy_password != NULL) {
        explicit_bzero(u->proxy_password, strlen(u->proxy_password));
        free(u->proxy_password);
    }
    trust_free(u->extra_ca);
    free(u->auth_plugin);
    free(u->auth_cookie_data);
    free(u->cookie_expiration_text);
    free(u->cookie_data);
    free(u);
}

const char *uss_url(const struct uss *u)
{
    return u->root;
}

const char *uss_content_url(const struct uss *u)
{
    return u->content_url;
}

unsigned long uss_calls(const struct uss *u, enum uss_op op)
{
    return (op >= 0 && op < USS_OP_COUNT) ? u->calls[op] : 0;
}

/* Resolve GetAuthConfig's ServiceUrl against the root; absolute URLs must keep the origin. */
static int resolve_auth_url(struct uss *u, const char *service_url, struct uss_error *err)
{
    const char *p = service_url;

    free(u->auth_url);
    u->auth_url = NULL;
    if (strstr(p, "://") != NULL) {
        char *r = root_of(p);
        int same = r != NULL && strcasecmp(r, u->root) == 0;
        free(r);
        if (!same) {
            err_set(err, USS_ERR_PROTO, "ForeignAuthUrl", 0,
                    "upstream %s sent an authorization URL on another server (%.200s); refusing "
                    "to send our identity there",
                    u->root, service_url);
            return -1;
        }
        p = strstr(p, "://") + 3;
        p += strcspn(p, "/");
    }
    while (*p == '/')
        p++;
    u->auth_url = xasprintf("%s/%s", u->root, p);
    return 0;
}

static int do_get_cookie(struct uss *u, struct uss_error *err)
{
    struct uss_call *c = call_new(u, USS_OP_GET_COOKIE);
    int rc = -1;
    time_t exp;

    req_begin(&c->req, "GetCookie", NS_SS);
    buf_add_str(&c->req, "<authCookies><AuthorizationCookie>");
    req_elem(&c->req, "PlugInId", u->auth_plugin ? u->auth_plugin : "DssTargeting");
    req_elem(&c->req, "CookieData", u->auth_cookie_data ? u->auth_cookie_data : "");
    buf_add_str(&c->req, "</AuthorizationCookie></authCookies>");
    if (u->cookie_data != NULL)
        req_cookie(u, &c->req, "oldCookie");
    req_elem(&c->req, "protocolVersion", USS_PROTOCOL_VERSION);
    req_end(&c->req, "GetCookie");
    if (call_run(c, u->ss_url, err) < 0)
        goto out;
    exp = uss_parse_datetime(c->expiration);
    if (c->cookie_data == NULL || exp == (time_t)-1) {
        err_set(err, USS_ERR_PROTO, "BadAnswer", 200,
                "upstream %s sent a cookie without data or expiration", u->root);
        goto out;
    }
    free(u->cookie_data);
    u->cookie_data = c->cookie_data;
    c->cookie_data = NULL;
    free(u->cookie_expiration_text);
    u->cookie_expiration_text = xstrdup(c->expiration);
    u->cookie_expires = exp;
    log_debug("upstream %s: cookie valid until %s", u->root, c->expiration);
    rc = 0;
out:
    uss_call_free(c);
    return rc;
}

int uss_authorize(struct uss *u, struct uss_error *err)
{
    struct uss_call *c;
    int rc = -1;

    c = call_new(u, USS_OP_GET_AUTH_CONFIG);
    req_begin(&c->req, "GetAuthConfig", NS_SS);
    req_end(&c->req, "GetAuthConfig");
    if (call_run(c, u->ss_url, err) < 0)
        goto out;
    if (c->service_url[0] == '\0') {
        err_set(err, USS_ERR_PROTO, "BadAnswer", 200,
                "upstream %s offers no DssTargeting authorization plug-in", u->root);
        goto out;
    }
    if (resolve_auth_url(u, c->service_url, err) < 0)
        goto out;
    uss_call_free(c);

    c = call_new(u, USS_OP_GET_AUTHORIZATION_COOKIE);
    req_begin(&c->req, "GetAuthorizationCookie", NS_AUTH);
    req_elem(&c->req, "accountName", u->account_name);
    req_elem(&c->req, "accountGuid", u->account_guid);
    req_end(&c->req, "GetAuthorizationCookie");
    if (call_run(c, u->auth_url, err) < 0)
        goto out;
    if (c->cookie_data == NULL) {
        err_set(err, USS_ERR_PROTO, "BadAnswer", 200,
                "upstream %s sent an authorization cookie without data", u->root);
        goto out;
    }
    free(u->auth_plugin);
    u->auth_plugin = xstrdup(c->plugin[0] ? c->plugin : "DssTargeting");
    free(u->auth_cookie_data);
    u->auth_cookie_data = c->cookie_data;
    c->cookie_data = NULL;
    uss_call_free(c);
    c = NULL;
    rc = do_get_cookie(u, err);
out:
    uss_call_free(c);
    return rc;
}

void uss_drop_cookie(struct uss *u)
{
    free(u->cookie_data);
    u->cookie_data = NULL;
    u->cookie_expires = 0;
}

int uss_ensure_cookie(struct uss *u, struct uss_error *err)
{
    if (u->cookie_data != NULL && u->cookie_expires - time(NULL) > RENEW_BEFORE)
        return 0;
    if (u->auth_cookie_data != NULL) {
        if (do_get_cookie(u, err) == 0)
            return 0;
        if (err->kind != USS_ERR_FAULT)
            return -1;
        log_info("upstream %s refused to renew the cookie (%s); authorizing again", u->root,
                 err->code);
    }
    return uss_authorize(u, err);
}

int uss_get_config_data(struct uss *u, const char *config_anchor, struct uss_config *out,
                        struct uss_error *err)
{
    struct uss_call *c = call_new(u, USS_OP_GET_CONFIG_DATA);
    size_t langcap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->max_updates_per_request = 100;
    out->max_decryption_per_request = 100;
    c->out = out;
    (void)langcap;
    req_begin(&c->req, "GetConfigData", NS_SS);
    req_cookie(u, &c->req, "cookie");
    if (config_anchor != NULL && config_anchor[0] != '\0')
        req_elem(&c->req, "configAnchor", config_anchor);
    req_end(&c->req, "GetConfigData");
    rc = call_run(c, u->ss_url, err);
    out->hierarchy = c->hierarchy;
    c->hierarchy = NULL;
    out->subscription = c->subscription;
    c->subscription = NULL;
    uss_call_free(c);
    if (rc < 0)
        uss_config_free(out);
    return rc;
}

void uss_config_free(struct uss_config *c)
{
    if (c == NULL)
        return;
    free(c->languages);
    c->languages = NULL;
    c->nlanguages = 0;
    free(c->hierarchy);
    c->hierarchy = NULL;
    free(c->subscription);
    c->subscription = NULL;
}

int uss_get_revision_ids(struct uss *u, const struct uss_filter *f, struct uss_idlist *out,
                         struct uss_error *err)
{
    struct uss_call *c = call_new(u, USS_OP_GET_REVISION_ID_LIST);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    req_begin(&c->req, "GetRevisionIdList", NS_SS);
    req_cookie(u, &c->req, "cookie");
    buf_add_str(&c->req, "<filter>");
    if (f->anchor != NULL && f->anchor[0] != '\0')
        req_elem(&c->req, "Anchor", f->anchor);
    buf_printf(&c->req, "<GetConfig>%s</GetConfig><Get63LanguageOnly>false</Get63LanguageOnly>",
               f->get_config ? "true" : "false");
    if (!f->get_config && (f->ncategories > 0 || f->nclassifications > 0)) {
        req_idds(&c->req, "Categories", f->categories, f->ncategories);
        req_idds(&c->req, "Classifications", f->classifications, f->nclassifications);
    }
    if (!f->get_config && f->nlanguages > 0) {
        size_t i;

        buf_add_str(&c->req, "<Languages>");
        for (i = 0; i < f->nlanguages; i++)
            buf_printf(&c->req,
                       "<LanguageAndDelta><Id>%ld</Id><Delta>true</Delta></LanguageAndDelta>",
                       f->languages[i]);
        buf_add_str(&c->req, "</Languages>");
    }
    buf_add_str(&c->req, "</filter>");
    req_end(&c->req, "GetRevisionIdList");
    rc = call_run(c, u->ss_url, err);
    uss_call_free(c);
    if (rc < 0)
        uss_idlist_free(out);
    return rc;
}

void uss_idlist_free(struct uss_idlist *l)
{
    if (l == NULL)
        return;
    free(l->ids);
    l->ids = NULL;
    l->n = l->cap = 0;
}

void uss_update_free(struct uss_update *u)
{
    if (u == NULL)
        return;
    free(u->xml);
    free(u->cab);
    free(u->digests);
    memset(u, 0, sizeof(*u));
}

void uss_update_data_free(struct uss_update_data *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++)
        uss_update_free(&d->updates[i]);
    for (i = 0; i < d->nurls; i++)
        free(d->urls[i].mu_url);
    free(d->updates);
    free(d->urls);
    memset(d, 0, sizeof(*d));
}

struct uss_call *uss_call_update_data(struct uss *u, const struct uss_id *ids, size_t n)
{
    struct uss_call *c = call_new(u, USS_OP_GET_UPDATE_DATA);

    c->out = &c->upd;
    req_begin(&c->req, "GetUpdateData", NS_SS);
    req_cookie(u, &c->req, "cookie");
    req_ids(&c->req, "updateIds", ids, n);
    req_end(&c->req, "GetUpdateData");
    call_start(c, u->ss_url);
    return c;
}

int uss_call_result(struct uss_call *c, struct uss_update_data *out, struct uss_error *err)
{
    if (call_check(c, err) < 0)
        return -1;
    *out = c->upd;
    memset(&c->upd, 0, sizeof(c->upd));
    return 0;
}

int uss_get_update_data(struct uss *u, const struct uss_id *ids, size_t n,
                        struct uss_update_data *out, struct uss_error *err)
{
    struct uss_call *c = uss_call_update_data(u, ids, n);
    int rc;

    while (!c->done)
        uss_wait(u, 1000);
    rc = uss_call_result(c, out, err);
    uss_call_free(c);
    return rc;
}

void uss_deployments_free(struct uss_deployments *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->ngroups; i++)
        free(d->groups[i].name);
    for (i = 0; i < d->ndeployments; i++)
        free(d->deployments[i].admin_name);
    free(d->groups);
    free(d->deployments);
    free(d->dead);
    free(d->hidden);
    free(d->eulas);
    memset(d, 0, sizeof(*d));
}

int uss_get_deployments(struct uss *u, const char *deployment_anchor, const char *sync_anchor,
                        struct uss_deployments *out, struct uss_error *err)
{
    struct uss_call *c = call_new(u, USS_OP_GET_DEPLOYMENTS);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    req_begin(&c->req, "GetDeployments", NS_SS);
    req_cookie(u, &c->req, "cookie");
    if (deployment_anchor != NULL && deployment_anchor[0] != '\0')
        req_elem(&c->req, "deploymentAnchor", deployment_anchor);
    req_elem(&c->req, "syncAnchor", sync_anchor ? sync_anchor : "");
    req_end(&c->req, "GetDeployments");
    rc = call_run(c, u->ss_url, err);
    uss_call_free(c);
    if (rc < 0)
        uss_deployments_free(out);
    return rc;
}

/* Mark in gone the digests of the "|"-separated base64 list m; all of them when none match. */
static void digests_named(const char *m, const unsigned char (*sha1)[20], size_t n,
                          unsigned char *gone)
{
    const char *p = m;
    size_t i, named = 0;

    memset(gone, 0, n);
    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        unsigned char d[20];
        char one[64];

        if (len < sizeof(one) && snprintf(one, sizeof(one), "%.*s", (int)len, p) == (int)len &&
            str_b64_decode_exact(one, d, 20) == 0)
            for (i = 0; i < n; i++)
                if (!gone[i] && memcmp(sha1[i], d, 20) == 0) {
                    gone[i] = 1;
                    named++;
                }
        p += len + (bar != NULL);
    }
    if (named == 0)
        memset(gone, 1, n);
}

int uss_download_files(struct uss *u, const unsigned char (*sha1)[20], size_t n,
                       unsigned char *gone, struct uss_error *err)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct uss_call *c = call_new(u, USS_OP_DOWNLOAD_FILES);
    size_t i;
    int rc;

    req_begin(&c->req, "DownloadFiles", NS_SS);
    req_cookie(u, &c->req, "cookie");
    buf_add_str(&c->req, "<fileDigestList>");
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
        buf_printf(&c->req, "<base64Binary>%s</base64Binary>", enc);
    }
    buf_add_str(&c->req, "</fileDigestList>");
    req_end(&c->req, "DownloadFiles");
    rc = call_run(c, u->ss_url, err);
    if (rc < 0 && err->kind == USS_ERR_FAULT && strcmp(err->code, "FileDigestsMissing") == 0) {
        if (gone != NULL)
            digests_named(soapread_error_message(c->rd), sha1, n < 100 ? n : 100, gone);
        rc = 1;
    }
    uss_call_free(c);
    return rc;
}

int uss_parse_answer(struct uss *u, enum uss_op op, long status, const char *body, size_t len,
                     void *out, struct uss_error *err)
{
    struct uss_call *c = call_new(u, op);
    int rc = -1;

    c->out = op == USS_OP_GET_UPDATE_DATA ? &c->upd : out;
    if (op == USS_OP_GET_CONFIG_DATA) {
        memset(out, 0, sizeof(struct uss_config));
        ((struct uss_config *)out)->max_updates_per_request = 100;
    } else if (op == USS_OP_GET_REVISION_ID_LIST) {
        memset(out, 0, sizeof(struct uss_idlist));
    } else if (op == USS_OP_GET_DEPLOYMENTS) {
        memset(out, 0, sizeof(struct uss_deployments));
    }
    c->easy = curl_easy_init();
    c->done = 1;
    c->cres = soapread_feed(c->rd, body, len) < 0 && !soapread_is_fault(c->rd) ? CURLE_WRITE_ERROR
                                                                               : CURLE_OK;
    if (c->cres == CURLE_OK) {
        /* a fake status for call_check */
        if (status != 200) {
            if (soapread_finish(c->rd) == 0 && soapread_is_fault(c->rd)) {
                const char *code = soapread_error_code(c->rd);
                err_set(err, USS_ERR_FAULT, code, status, "upstream %s refused %s: %s", u->root,
                        uss_op_name(op), code[0] ? code : "fault without ErrorCode");
            } else {
                err_set(err, USS_ERR_HTTP, "", status, "upstream %s answered %s with HTTP %ld",
                        u->root, uss_op_name(op), status);
            }
            goto out;
        }
        if (soapread_finish(c->rd) < 0) {
            err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                    "upstream %s sent an unusable %s answer: %s", u->root, uss_op_name(op),
                    c->bad[0] ? c->bad : soapread_error(c->rd));
            goto out;
        }
        if (soapread_is_fault(c->rd)) {
            err_set(err, USS_ERR_FAULT, soapread_error_code(c->rd), status,
                    "upstream %s refused %s: %s", u->root, uss_op_name(op),
                    soapread_error_code(c->rd));
            goto out;
        }
        if (!c->have_result) {
            err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                    "upstream %s sent a %s answer without a result", u->root, uss_op_name(op));
            goto out;
        }
        if (op == USS_OP_GET_UPDATE_DATA) {
            *(struct uss_update_data *)out = c->upd;
            memset(&c->upd, 0, sizeof(c->upd));
        } else if (op == USS_OP_GET_AUTH_CONFIG && out != NULL) {
            snprintf(out, 512, "%s", c->service_url);
        } else if ((op == USS_OP_GET_COOKIE || op == USS_OP_GET_AUTHORIZATION_COOKIE) &&
                   out != NULL) {
            snprintf(out, 512, "%s", c->expiration[0] ? c->expiration : c->plugin);
        }
        rc = 0;
    } else {
        err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                "upstream %s sent an unusable %s answer: %s", u->root, uss_op_name(op),
                c->bad[0] ? c->bad : soapread_error(c->rd));
    }
out:
    uss_call_free(c);
    return rc;
}
