/*
 * uss_internal: what the four files of the MS-WSUSSS client share, and nothing for its callers
 * (they include uss.h). uss_request.c builds the SOAP requests, uss_answer.c decodes the answers
 * through soapread, uss_transport.c runs them on the curl multi handle (timeouts, proxy, TLS,
 * errors in words), uss.c holds the session (cookies) and the public operations. Layering:
 * uss.c -> uss_transport.c -> uss_answer.c; uss_request.c stands alone; no file calls back up.
 */
#ifndef WSUS_USS_INTERNAL_H
#define WSUS_USS_INTERNAL_H

#include "buf.h"
#include "soapread.h"
#include "uss.h"

#include <stddef.h>

#define NS_SS          "http://www.microsoft.com/SoftwareDistribution"
#define NS_AUTH        "http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"
#define PATH_SS        "/ServerSyncWebService/ServerSyncWebService.asmx"
#define PATH_REPORTING "/ReportingWebService/ReportingWebService.asmx"

#define MAX_REQUEST  (64u << 20)
#define MAX_COOKIE   8192
#define RENEW_BEFORE 300 /* seconds before Expiration we renew the cookie */

struct uss {
    char *root;        /* scheme://host[:port], no trailing slash */
    char *content_url; /* base for /Content/ */
    char *ss_url;      /* root + PATH_SS */
    char *rep_url;     /* root + PATH_REPORTING */
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
    size_t max_list;             /* rollup answers: at most this many computers (those asked) */
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

/* ---------- uss_request.c: the SOAP request of each operation, appended to b ---------- */

/*
 * Each appends the whole envelope of one operation to b (bounded at its init; a failed append
 * leaves b as buf.h says). The session's cookie, account and authorization cookie are read from
 * u, never kept. Arrays may be NULL when their count is 0.
 */
void uss_request_get_auth_config(struct buf *b);
void uss_request_get_authorization_cookie(struct buf *b, const struct uss *u);
void uss_request_get_cookie(struct buf *b, const struct uss *u);
void uss_request_get_config_data(struct buf *b, const struct uss *u, const char *config_anchor);
void uss_request_get_revision_id_list(struct buf *b, const struct uss *u,
                                      const struct uss_filter *f);
void uss_request_get_update_data(struct buf *b, const struct uss *u, const struct uss_id *ids,
                                 size_t n);
void uss_request_get_deployments(struct buf *b, const struct uss *u, const char *deployment_anchor,
                                 const char *sync_anchor);
/* At most the first 100 of the n digests go into one request (the server's limit). */
void uss_request_download_files(struct buf *b, const struct uss *u, const unsigned char (*sha1)[20],
                                size_t n);

/* The reporting rollup requests (MS-WSUSSS 3.1.4.13-17), with the session's cookie (or the
 * fixed one of 3.2.4.5 when there is none). */
void uss_request_get_rollup_configuration(struct buf *b, const struct uss *u);
void uss_request_rollup_downstream_servers(struct buf *b, const struct uss *u,
                                           const struct uss_rollup_server *v, size_t n);
void uss_request_rollup_computers(struct buf *b, const struct uss *u,
                                  const struct uss_rollup_computer *v, size_t n);
void uss_request_get_out_of_sync_computers(struct buf *b, const struct uss *u,
                                           const char *parent_id, const struct uss_rollup_number *v,
                                           size_t n);
void uss_request_rollup_computer_status(struct buf *b, const struct uss *u, const char *parent_id,
                                        const struct uss_rollup_status *v, size_t n);

/* ---------- uss_answer.c: decoding the answers (results freed by the uss.h frees) ---------- */

/*
 * The soapread end-element callback of every call (arg is the struct uss_call): fills c->out,
 * or the call's own fields for the authorization answers, by c->op. 0, or -1 with the reason
 * in c->bad (the reader then stops and the transfer fails with CURLE_WRITE_ERROR).
 */
int uss_answer_on_end(void *arg, struct soapread *r, const char *name, const char *text,
                      size_t len);
/* Records why the answer is refused in c->bad (printf-style, cut to its size); returns -1. */
int uss_answer_reject(struct uss_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Sets gone[i] for each of the n digests named in m, the "|"-separated base64 list of a
 * FileDigestsMissing fault; all of them when none is named. m and gone not NULL.
 */
void uss_answer_digests_named(const char *m, const unsigned char (*sha1)[20], size_t n,
                              unsigned char *gone);

/* ---------- uss_transport.c: one call on the curl multi handle ---------- */

/* Fills e (may be NULL: then nothing), printf-style message cut to e->msg's size. */
void uss_err_set(struct uss_error *e, enum uss_err_kind kind, const char *code, long status,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * A new call of op on u with an empty request buffer (MAX_REQUEST) and its answer reader.
 * Never NULL (aborts on OOM); the caller frees it with uss_call_free.
 */
struct uss_call *uss_transport_new(struct uss *u, enum uss_op op);
/* Adds c, its request built, to u's multi handle as a POST to url; uss_wait drives it. */
void uss_transport_start(struct uss_call *c, const char *url);
/* A finished transfer as 0, or -1 with err filled (network, HTTP, fault or bad answer). */
int uss_transport_check(struct uss_call *c, struct uss_error *err);
/* uss_transport_start, wait until done, uss_transport_check. */
int uss_transport_run(struct uss_call *c, const char *url, struct uss_error *err);

#endif
