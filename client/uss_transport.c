/*
 * uss_transport: one MS-WSUSSS call on the client's curl multi handle, blocking or not, so
 * every call reuses the connections to the upstream. Sets up proxy, TLS trust and timeouts,
 * watches for silence and stalls, bounds the answer and feeds it to the reader (uss_answer.c),
 * and turns every failure into words that name the upstream and say what to check. Cookies and
 * proxy passwords never reach a message or a log line. Builds no requests (uss_request.c).
 */
#include "uss_internal.h"
#include "hierarchy.h"
#include "log.h"
#include "strutil.h"
#include "trust.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const op_names[USS_OP_COUNT] = {
    "GetAuthConfig",          "GetAuthorizationCookie",  "GetCookie",       "GetConfigData",
    "GetRevisionIdList",      "GetUpdateData",           "GetDeployments",  "DownloadFiles",
    "GetRollupConfiguration", "RollupDownstreamServers", "RollupComputers", "GetOutOfSyncComputers",
    "RollupComputerStatus"};

const char *uss_op_name(enum uss_op op)
{
    return (op >= 0 && op < USS_OP_COUNT) ? op_names[op] : "?";
}

/* ---------- errors ---------- */

void uss_err_set(struct uss_error *e, enum uss_err_kind kind, const char *code, long status,
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
    uss_err_set(e, USS_ERR_NET, "TLSVerify", 0, "%s", msg);
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
        uss_err_set(e, USS_ERR_NET, "PlainHttp", 0,
                    "upstream %s answers plain HTTP on that port: use http:// or the HTTPS port "
                    "(8531)",
                    u->root);
        return;
    }
    switch (c->cres) {
    case CURLE_COULDNT_CONNECT:
        if (oserr == ECONNREFUSED)
            uss_err_set(e, USS_ERR_NET, "ConnectionRefused", 0,
                        "upstream %s refused the connection (%s); check that it runs and that the "
                        "port is right",
                        u->root, op);
        else
            uss_err_set(e, USS_ERR_NET, "CouldNotConnect", 0,
                        "cannot connect to upstream %s (%s): %s", u->root, op,
                        c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        uss_err_set(e, USS_ERR_NET, "CouldNotResolve", 0,
                    "cannot resolve the host name of upstream %s; check the name and the DNS "
                    "server",
                    u->root);
        break;
    case CURLE_COULDNT_RESOLVE_PROXY:
        uss_err_set(e, USS_ERR_NET, "CouldNotResolveProxy", 0,
                    "cannot resolve the proxy host name; check the proxy setting");
        break;
    case CURLE_OPERATION_TIMEDOUT:
        uss_err_set(e, USS_ERR_NET, "Timeout", 0, "upstream %s did not answer %s in time", u->root,
                    op);
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        uss_err_set(e, USS_ERR_NET, "ConnectionLost", 0,
                    "upstream %s closed the connection during %s (%s)", u->root, op,
                    c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        if (tls_explain(c, e) == 0)
            break;
        /* FALLTHROUGH */
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
        uss_err_set(e, USS_ERR_NET, "TLS", 0,
                    "TLS to upstream %s failed: %s; check its certificate and the CA file setting",
                    u->root, c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        if (c->watch.why == USS_WATCH_NO_ANSWER)
            uss_err_set(e, USS_ERR_NET, "NoAnswer", 0,
                        "upstream %s accepted the connection but did not answer %s within %ld s; "
                        "check that it is a WSUS server and not overloaded",
                        u->root, op, u->answer_timeout_s);
        else if (c->watch.why == USS_WATCH_STALLED)
            uss_err_set(e, USS_ERR_NET, "Stalled", 0,
                        "upstream %s stopped sending its %s answer (less than %d bytes in %ld s)",
                        u->root, op, USS_MIN_WINDOW_BYTES, u->stall_timeout_s);
        else
            uss_err_set(e, USS_ERR_NET, "Cancelled", 0, "%s to upstream %s was cancelled", op,
                        u->root);
        break;
    case CURLE_WRITE_ERROR:
        uss_err_set(e, USS_ERR_PROTO, "BadAnswer", 0, "upstream %s sent an unusable %s answer: %s",
                    u->root, op, c->bad[0] ? c->bad : soapread_error(c->rd));
        break;
    default:
        uss_err_set(e, USS_ERR_NET, curl_easy_strerror(c->cres), 0, "%s to upstream %s failed: %s",
                    op, u->root, c->curl_err[0] ? c->curl_err : curl_easy_strerror(c->cres));
        break;
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
        uss_answer_reject(c, "the answer is larger than the %zu MiB this server accepts for %s",
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

struct uss_call *uss_transport_new(struct uss *u, enum uss_op op)
{
    struct uss_call *c = xcalloc(1, sizeof(*c));

    c->u = u;
    c->op = op;
    buf_init(&c->req, MAX_REQUEST);
    c->rd = soapread_new(uss_answer_on_end, c, USS_MAX_TEXT);
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

void uss_transport_start(struct uss_call *c, const char *url)
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
int uss_transport_check(struct uss_call *c, struct uss_error *err)
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
        uss_err_set(err, USS_ERR_HTTP, "ProxyAuth", status,
                    "the proxy refused our credentials when calling upstream %s (HTTP 407); check "
                    "proxy-user, proxy-password and proxy-auth",
                    u->root);
        return -1;
    }
    if (c->non_soap || (soapread_finish(c->rd) < 0 && !soapread_is_fault(c->rd))) {
        if (status != 200)
            uss_err_set(
                err, USS_ERR_HTTP, "", status,
                "upstream %s answered %s with HTTP %ld; check that the URL points at a WSUS "
                "server (it should end at the host:port)",
                u->root, op, status);
        else
            uss_err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                        "upstream %s sent an unusable %s answer: %s", u->root, op,
                        c->bad[0] ? c->bad : soapread_error(c->rd));
        return -1;
    }
    if (soapread_is_fault(c->rd)) {
        const char *code = soapread_error_code(c->rd);
        const char *m = soapread_error_message(c->rd);
        uss_err_set(err, USS_ERR_FAULT, code, status, "upstream %s refused %s: %s%s%s%s", u->root,
                    op, code[0] ? code : "fault without ErrorCode", m[0] ? " (" : "", m,
                    m[0] ? ")" : "");
        if (!code[0] && soapread_fault_string(c->rd)[0])
            snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg), ": %s",
                     soapread_fault_string(c->rd));
        return -1;
    }
    if (status != 200) {
        uss_err_set(err, USS_ERR_HTTP, "", status, "upstream %s answered %s with HTTP %ld", u->root,
                    op, status);
        return -1;
    }
    if (!c->have_result) {
        uss_err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                    "upstream %s sent a %s answer without a result", u->root, op);
        return -1;
    }
    return 0;
}

/* Start c on url and wait for it. */
int uss_transport_run(struct uss_call *c, const char *url, struct uss_error *err)
{
    uss_transport_start(c, url);
    while (!c->done)
        uss_wait(c->u, 1000);
    return uss_transport_check(c, err);
}
