/*
 * soap_svc: request life of the two SOAP endpoints (see soap_svc.h): parse the bounded body,
 * pick the operation from the body's first element, cross-check SOAPAction, decode, run the
 * operation handler. Every refusal is a SOAP 1.1 fault with an MS-WSUSSS ErrorCode.
 */
#include "soap_svc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hierarchy.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

#define SOAP_DB_WAIT_MS 10000

void soap_svc_actor(struct soap_ctx *x)
{
    const char *host = http_header(x->req, MHD_HTTP_HEADER_HOST);
    const char *pub;
    char h[128];
    size_t i;

    pthread_mutex_lock(&x->srv->cfg_lock);
    pub = x->srv->cfg.public_url;
    if (pub != NULL && pub[0] != '\0') {
        size_t n = strlen(pub);
        snprintf(x->actor, sizeof(x->actor), "%.*s%s", (int)(n > 200 ? 200 : n), pub, x->req->path);
        pthread_mutex_unlock(&x->srv->cfg_lock);
        return;
    }
    pthread_mutex_unlock(&x->srv->cfg_lock);
    /* the Host header is the peer's: keep only host-name characters */
    snprintf(h, sizeof(h), "%s", host != NULL ? host : "localhost");
    for (i = 0; h[i] != '\0'; i++)
        if (!(isalnum((unsigned char)h[i]) || strchr(".-:[]_", h[i]) != NULL))
            h[i] = '_';
    snprintf(x->actor, sizeof(x->actor), "http://%s%.160s", h, x->req->path);
}

enum MHD_Result soap_svc_fault(struct soap_ctx *x, enum soap_error e, const char *fmt, ...)
{
    char msg[512] = "";
    struct buf b;
    size_t len;
    char *data;
    struct MHD_Response *resp;

    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    metrics_soap_fault(e);
    if (e == SOAP_ERR_INTERNAL || e == SOAP_ERR_SERVER_BUSY)
        log_warnx("soap: %s from %s: %s %s", x->info ? x->info->name : "request", x->peer,
                  soap_error_name(e), msg);
    else
        log_info("soap: %s from %s refused: %s %s", x->info ? x->info->name : "request", x->peer,
                 soap_error_name(e), msg);
    buf_init(&b, 16 * 1024);
    if (soap_fault_build(&b, e, fmt != NULL ? msg : NULL, x->actor,
                         x->info ? x->info->action : NULL) < 0) {
        buf_free(&b);
        return MHD_NO;
    }
    data = buf_detach(&b, &len);
    resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private");
    return http_queue(x->req, MHD_HTTP_INTERNAL_SERVER_ERROR, resp);
}

enum MHD_Result soap_svc_reply(struct soap_ctx *x, const char *result, size_t len)
{
    struct buf b;
    size_t outlen;
    char *data;
    struct MHD_Response *resp;

    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, SOAP_RESPONSE_HEAD);
    buf_printf(&b, "<%sResponse xmlns=\"%s\">", x->info->name, x->info->ns);
    buf_add(&b, result, len);
    buf_printf(&b, "</%sResponse>" SOAP_RESPONSE_TAIL, x->info->name);
    if (buf_failed(&b)) {
        buf_free(&b);
        return soap_svc_fault(x, SOAP_ERR_INTERNAL, "answer larger than %u bytes", SOAP_REPLY_MAX);
    }
    data = buf_detach(&b, &outlen);
    resp = MHD_create_response_from_buffer_with_free_callback(outlen, data, free);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=0");
    if (x->hierarchy != NULL)
        MHD_add_response_header(resp, HIER_HEADER, x->hierarchy);
    if (x->subscription != NULL)
        MHD_add_response_header(resp, HIER_SUBSCRIPTION_HEADER, x->subscription);
    return http_queue(x->req, MHD_HTTP_OK, resp);
}

PGconn *soap_svc_db(struct soap_ctx *x, enum MHD_Result *r)
{
    PGconn *db = dbpool_get(x->srv->pool, SOAP_DB_WAIT_MS);

    if (db == NULL)
        *r = soap_svc_fault(x, SOAP_ERR_SERVER_BUSY,
                            "the server has no free catalog connection; try again later");
    return db;
}

void soap_svc_db_put(struct soap_ctx *x, PGconn *db)
{
    if (db != NULL)
        dbpool_put(x->srv->pool, db);
}

int soap_svc_check(struct soap_ctx *x, struct cookie_claims *claims, enum MHD_Result *r)
{
    unsigned char own[16];
    enum cookie_status st;

    if (!x->call.cookie_present) {
        *r = soap_svc_fault(x, SOAP_ERR_INVALID_COOKIE, NULL);
        return -1;
    }
    if (!x->call.cookie_decoded) {
        *r = soap_svc_fault(x, SOAP_ERR_INVALID_COOKIE,
                            "cookie: EncryptedData is not a cookie this server issued");
        return -1;
    }
    if (soap_guid_parse(x->srv->server_id, own) < 0) {
        *r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "this server has no valid server id");
        return -1;
    }
    st = cookie_open(x->srv->cookie_key, COOKIE_SESSION, own, x->call.cookie, x->call.cookie_len,
                     (int64_t)time(NULL), claims);
    switch (st) {
    case COOKIE_OK:
        break;
    case COOKIE_EXPIRED:
        *r = soap_svc_fault(x, SOAP_ERR_INVALID_COOKIE,
                            "cookie: expired; get a new one with GetCookie");
        return -1;
    case COOKIE_FOREIGN:
        *r = soap_svc_fault(x, SOAP_ERR_SERVER_CHANGED,
                            "cookie: issued by another server id; this server is %s",
                            x->srv->server_id);
        return -1;
    default:
        *r = soap_svc_fault(x, SOAP_ERR_INVALID_COOKIE,
                            "cookie: EncryptedData is not a cookie this server issued");
        return -1;
    }
    if (claims->proto_major != 1) {
        *r = soap_svc_fault(x, SOAP_ERR_INCOMPATIBLE_PROTOCOL,
                            "protocolVersion: %u.%u; this server speaks 1.x", claims->proto_major,
                            claims->proto_minor);
        return -1;
    }
    if (x->call.param_err != SOAP_ERR_NONE) {
        *r = soap_svc_fault(x, x->call.param_err, "%s", x->call.param_msg);
        return -1;
    }
    return 0;
}

/* The SOAPAction header without quotes and white space, into out ("" when absent). */
void soap_svc_action(struct http_request *req, char *out, size_t outlen)
{
    const char *a = http_header(req, "SOAPAction");
    size_t n;

    out[0] = '\0';
    if (a == NULL)
        return;
    while (isspace((unsigned char)*a) || *a == '"')
        a++;
    n = strlen(a);
    while (n > 0 && (isspace((unsigned char)a[n - 1]) || a[n - 1] == '"'))
        n--;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, a, n);
    out[n] = '\0';
}
