/*
 * uss: MS-WSUSSS client, the session and the public operations. A struct uss holds the
 * upstream's URLs, the proxy and trust settings and the authorization state (the cookie,
 * renewed before it expires); each operation builds its request (uss_request.c), runs it
 * (uss_transport.c) and hands over what the answer decoding (uss_answer.c) filled in. Cookies
 * and proxy passwords never reach a message or a log line.
 */
#include "uss_internal.h"
#include "log.h"
#include "strutil.h"
#include "trust.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
        uss_err_set(err, USS_ERR_PROTO, "NoUpstream", 0,
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
        uss_err_set(err, USS_ERR_PROTO, "BadUpstream", 0,
                    "upstream \"%s\" is not an http:// or https:// URL", url);
        return NULL;
    }
    root = root_of(url);
    if (root == NULL) {
        uss_err_set(err, USS_ERR_PROTO, "BadUpstream", 0, "upstream \"%s\" has no host name", url);
        return NULL;
    }
    if (strchr(root, '@') != NULL) {
        free(root);
        uss_err_set(err, USS_ERR_PROTO, "BadUpstream", 0,
                    "the upstream URL must not carry a user name or password");
        return NULL;
    }
    if (o->ca_file != NULL && o->ca_file[0] != '\0') {
        char msg[sizeof(err->msg)];
        extra_ca = trust_load(o->ca_file, msg, sizeof(msg));
        if (extra_ca == NULL) {
            uss_err_set(err, USS_ERR_PROTO, "BadCaFile", 0, "%s", msg);
            free(root);
            return NULL;
        }
    }
    u = xcalloc(1, sizeof(*u));
    u->root = root;
    u->extra_ca = extra_ca;
    u->microsoft_update = mu;
    u->ss_url = xasprintf("%s%s", root, PATH_SS);
    u->rep_url = xasprintf("%s%s", root, PATH_REPORTING);
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
    free(u->rep_url);
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
            uss_err_set(
                err, USS_ERR_PROTO, "ForeignAuthUrl", 0,
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
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_COOKIE);
    int rc = -1;
    time_t exp;

    uss_request_get_cookie(&c->req, u);
    if (uss_transport_run(c, u->ss_url, err) < 0)
        goto out;
    exp = uss_parse_datetime(c->expiration);
    if (c->cookie_data == NULL || exp == (time_t)-1) {
        uss_err_set(err, USS_ERR_PROTO, "BadAnswer", 200,
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

    c = uss_transport_new(u, USS_OP_GET_AUTH_CONFIG);
    uss_request_get_auth_config(&c->req);
    if (uss_transport_run(c, u->ss_url, err) < 0)
        goto out;
    if (c->service_url[0] == '\0') {
        uss_err_set(err, USS_ERR_PROTO, "BadAnswer", 200,
                    "upstream %s offers no DssTargeting authorization plug-in", u->root);
        goto out;
    }
    if (resolve_auth_url(u, c->service_url, err) < 0)
        goto out;
    uss_call_free(c);

    c = uss_transport_new(u, USS_OP_GET_AUTHORIZATION_COOKIE);
    uss_request_get_authorization_cookie(&c->req, u);
    if (uss_transport_run(c, u->auth_url, err) < 0)
        goto out;
    if (c->cookie_data == NULL) {
        uss_err_set(err, USS_ERR_PROTO, "BadAnswer", 200,
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
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_CONFIG_DATA);
    size_t langcap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->max_updates_per_request = 100;
    out->max_decryption_per_request = 100;
    c->out = out;
    (void)langcap;
    uss_request_get_config_data(&c->req, u, config_anchor);
    rc = uss_transport_run(c, u->ss_url, err);
    out->hierarchy = c->hierarchy;
    c->hierarchy = NULL;
    out->subscription = c->subscription;
    c->subscription = NULL;
    uss_call_free(c);
    if (rc < 0)
        uss_config_free(out);
    return rc;
}

int uss_get_revision_ids(struct uss *u, const struct uss_filter *f, struct uss_idlist *out,
                         struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_REVISION_ID_LIST);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    uss_request_get_revision_id_list(&c->req, u, f);
    rc = uss_transport_run(c, u->ss_url, err);
    uss_call_free(c);
    if (rc < 0)
        uss_idlist_free(out);
    return rc;
}

struct uss_call *uss_call_update_data(struct uss *u, const struct uss_id *ids, size_t n)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_UPDATE_DATA);

    c->out = &c->upd;
    uss_request_get_update_data(&c->req, u, ids, n);
    uss_transport_start(c, u->ss_url);
    return c;
}

int uss_call_result(struct uss_call *c, struct uss_update_data *out, struct uss_error *err)
{
    if (uss_transport_check(c, err) < 0)
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

int uss_get_deployments(struct uss *u, const char *deployment_anchor, const char *sync_anchor,
                        struct uss_deployments *out, struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_DEPLOYMENTS);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    uss_request_get_deployments(&c->req, u, deployment_anchor, sync_anchor);
    rc = uss_transport_run(c, u->ss_url, err);
    uss_call_free(c);
    if (rc < 0)
        uss_deployments_free(out);
    return rc;
}

int uss_download_files(struct uss *u, const unsigned char (*sha1)[20], size_t n,
                       unsigned char *gone, struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_DOWNLOAD_FILES);
    int rc;

    uss_request_download_files(&c->req, u, sha1, n);
    rc = uss_transport_run(c, u->ss_url, err);
    if (rc < 0 && err->kind == USS_ERR_FAULT && strcmp(err->code, "FileDigestsMissing") == 0) {
        if (gone != NULL)
            uss_answer_digests_named(soapread_error_message(c->rd), sha1, n < 100 ? n : 100, gone);
        rc = 1;
    }
    uss_call_free(c);
    return rc;
}

/* ---------- reporting rollup ---------- */

int uss_is_microsoft_update(const struct uss *u)
{
    return u->microsoft_update;
}

int uss_get_rollup_configuration(struct uss *u, struct uss_rollup_config *out,
                                 struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_ROLLUP_CONFIGURATION);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    uss_request_get_rollup_configuration(&c->req, u);
    rc = uss_transport_run(c, u->rep_url, err);
    uss_call_free(c);
    return rc;
}

int uss_rollup_downstream_servers(struct uss *u, const struct uss_rollup_server *v, size_t n,
                                  struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_ROLLUP_DOWNSTREAM_SERVERS);
    int rc;

    uss_request_rollup_downstream_servers(&c->req, u, v, n);
    rc = uss_transport_run(c, u->rep_url, err);
    uss_call_free(c);
    return rc;
}

int uss_rollup_computers(struct uss *u, const struct uss_rollup_computer *v, size_t n,
                         struct uss_changed_computers *out, struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_ROLLUP_COMPUTERS);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    c->max_list = n;
    uss_request_rollup_computers(&c->req, u, v, n);
    rc = uss_transport_run(c, u->rep_url, err);
    uss_call_free(c);
    if (rc < 0)
        uss_changed_computers_free(out);
    return rc;
}

int uss_get_out_of_sync_computers(struct uss *u, const char *parent_id,
                                  const struct uss_rollup_number *v, size_t n,
                                  struct uss_computer_ids *out, struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_GET_OUT_OF_SYNC_COMPUTERS);
    int rc;

    memset(out, 0, sizeof(*out));
    c->out = out;
    c->max_list = n;
    uss_request_get_out_of_sync_computers(&c->req, u, parent_id, v, n);
    rc = uss_transport_run(c, u->rep_url, err);
    uss_call_free(c);
    if (rc < 0)
        uss_computer_ids_free(out);
    return rc;
}

int uss_rollup_computer_status(struct uss *u, const char *parent_id,
                               const struct uss_rollup_status *v, size_t n, int *accepted,
                               struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, USS_OP_ROLLUP_COMPUTER_STATUS);
    int rc;

    *accepted = 0;
    c->out = accepted;
    uss_request_rollup_computer_status(&c->req, u, parent_id, v, n);
    rc = uss_transport_run(c, u->rep_url, err);
    uss_call_free(c);
    return rc;
}

int uss_parse_answer(struct uss *u, enum uss_op op, long status, const char *body, size_t len,
                     void *out, struct uss_error *err)
{
    struct uss_call *c = uss_transport_new(u, op);
    int rc = -1;

    c->out = op == USS_OP_GET_UPDATE_DATA ? &c->upd : out;
    if (op == USS_OP_GET_CONFIG_DATA) {
        memset(out, 0, sizeof(struct uss_config));
        ((struct uss_config *)out)->max_updates_per_request = 100;
    } else if (op == USS_OP_GET_REVISION_ID_LIST) {
        memset(out, 0, sizeof(struct uss_idlist));
    } else if (op == USS_OP_GET_DEPLOYMENTS) {
        memset(out, 0, sizeof(struct uss_deployments));
    } else if (op == USS_OP_GET_ROLLUP_CONFIGURATION) {
        memset(out, 0, sizeof(struct uss_rollup_config));
    } else if (op == USS_OP_ROLLUP_COMPUTERS) {
        memset(out, 0, sizeof(struct uss_changed_computers));
    } else if (op == USS_OP_GET_OUT_OF_SYNC_COMPUTERS) {
        memset(out, 0, sizeof(struct uss_computer_ids));
    }
    c->max_list = USS_ROLLUP_OUT_OF_SYNC_BATCH;
    c->easy = curl_easy_init();
    c->done = 1;
    c->cres = soapread_feed(c->rd, body, len) < 0 && !soapread_is_fault(c->rd) ? CURLE_WRITE_ERROR
                                                                               : CURLE_OK;
    if (c->cres == CURLE_OK) {
        /* a fake status for call_check */
        if (status != 200) {
            if (soapread_finish(c->rd) == 0 && soapread_is_fault(c->rd)) {
                const char *code = soapread_error_code(c->rd);
                uss_err_set(err, USS_ERR_FAULT, code, status, "upstream %s refused %s: %s", u->root,
                            uss_op_name(op), code[0] ? code : "fault without ErrorCode");
            } else {
                uss_err_set(err, USS_ERR_HTTP, "", status, "upstream %s answered %s with HTTP %ld",
                            u->root, uss_op_name(op), status);
            }
            goto out;
        }
        if (soapread_finish(c->rd) < 0) {
            uss_err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                        "upstream %s sent an unusable %s answer: %s", u->root, uss_op_name(op),
                        c->bad[0] ? c->bad : soapread_error(c->rd));
            goto out;
        }
        if (soapread_is_fault(c->rd)) {
            uss_err_set(err, USS_ERR_FAULT, soapread_error_code(c->rd), status,
                        "upstream %s refused %s: %s", u->root, uss_op_name(op),
                        soapread_error_code(c->rd));
            goto out;
        }
        if (!c->have_result) {
            uss_err_set(err, USS_ERR_PROTO, "BadAnswer", status,
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
        uss_err_set(err, USS_ERR_PROTO, "BadAnswer", status,
                    "upstream %s sent an unusable %s answer: %s", u->root, uss_op_name(op),
                    c->bad[0] ? c->bad : soapread_error(c->rd));
    }
out:
    uss_call_free(c);
    return rc;
}
