/*
 * admin: authentication, JSON helpers and the route table of the admin API. The handlers of
 * each verb family are in admin_*.c; this file holds only what they share.
 */
#include "admin.h"
#include "admin_sync.h"
#include "admin_handlers.h"
#include "config.h"
#include "console.h"
#include "db.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int admin_token_init(struct server *s)
{
    const char *path = s->cfg.token_file;
    char token[CONFIG_TOKEN_LEN + 1], err[1024];
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        unsigned char raw[CONFIG_TOKEN_LEN / 2];
        int ok = RAND_bytes(raw, sizeof(raw)) == 1;

        if (ok) {
            str_hex_encode(raw, sizeof(raw), 0, token);
            token[CONFIG_TOKEN_LEN] = '\n';
            ok = write(fd, token, CONFIG_TOKEN_LEN + 1) == CONFIG_TOKEN_LEN + 1;
        }
        OPENSSL_cleanse(raw, sizeof(raw));
        OPENSSL_cleanse(token, sizeof(token));
        if (close(fd) < 0 || !ok) {
            log_warnx("cannot create the admin token file %s (no random bytes, or a write "
                      "error)",
                      path);
            unlink(path);
            return -1;
        }
        log_info("created admin token file %s", path);
    } else if (errno != EEXIST) {
        log_warn("cannot create the admin token file %s", path);
        return -1;
    }
    if (config_read_token(path, "", token, sizeof(token), err, sizeof(err)) < 0) {
        log_warnx("%s", err);
        return -1;
    }
    free(s->admin_token);
    s->admin_token = xstrdup(token);
    OPENSSL_cleanse(token, sizeof(token));
    if (s->cfg.metrics_token_file[0] != '\0') {
        if (config_read_token(s->cfg.metrics_token_file, "", token, sizeof(token), err,
                              sizeof(err)) < 0) {
            log_warnx("[admin] metrics_token_file: %s", err);
            return -1;
        }
        free(s->metrics_token);
        s->metrics_token = xstrdup(token);
        OPENSSL_cleanse(token, sizeof(token));
    }
    return 0;
}

enum MHD_Result admin_reply(struct http_request *req, unsigned status, json_t *json)
{
    char *text;

    if (json == NULL)
        return http_respond_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"no result\"}");
    text = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
    json_decref(json);
    if (text == NULL)
        return MHD_NO;
    return http_respond_take(req, status, "application/json", text, strlen(text));
}

enum MHD_Result admin_error(struct http_request *req, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return admin_reply(req, status, json_pack("{s:s}", "error", msg));
}

json_t *admin_body(struct http_request *req, enum MHD_Result *replied)
{
    json_error_t jerr;
    json_t *j;

    if (req->body.len == 0)
        return json_object();
    j = json_loadb(req->body.data, req->body.len, 0, &jerr);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        *replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "request body is not a JSON object");
        return NULL;
    }
    return j;
}

/* "a whole number from 1 to 10" etc.: what a field must be, for the 400 message. */
static void admin_field_want(const struct admin_field *f, char *out, size_t outlen)
{
    switch (f->type) {
    case ADMIN_FIELD_STRING:
        snprintf(out, outlen, "a string of %lld to %lld bytes on one line", f->min, f->max);
        break;
    case ADMIN_FIELD_INT:
        snprintf(out, outlen, "a whole number from %lld to %lld", f->min, f->max);
        break;
    case ADMIN_FIELD_BOOL:
        snprintf(out, outlen, "true or false");
        break;
    case ADMIN_FIELD_STRINGS:
        snprintf(out, outlen, "a list of %lld to %lld strings of 1 to %d bytes on one line", f->min,
                 f->max, ADMIN_FIELD_ITEM_MAX);
        break;
    }
}

/* Does the JSON value fit f? */
static int admin_field_fits(const struct admin_field *f, const json_t *v)
{
    switch (f->type) {
    case ADMIN_FIELD_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), i;

        if (s == NULL || (long long)n < f->min || (long long)n > f->max)
            return 0;
        for (i = 0; i < n; i++) /* a \u0000 escape too: jansson keeps it inside the length */
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return 0;
        return 1;
    }
    case ADMIN_FIELD_INT:
        return json_is_integer(v) && json_integer_value(v) >= f->min &&
               json_integer_value(v) <= f->max;
    case ADMIN_FIELD_BOOL:
        return json_is_boolean(v);
    case ADMIN_FIELD_STRINGS: {
        const struct admin_field item = {f->name, ADMIN_FIELD_STRING, 1, 1, ADMIN_FIELD_ITEM_MAX};
        size_t n = json_array_size(v), i;

        if (!json_is_array(v) || (long long)n < f->min || (long long)n > f->max)
            return 0;
        for (i = 0; i < n; i++)
            if (!admin_field_fits(&item, json_array_get(v, i)))
                return 0;
        return 1;
    }
    }
    return 0;
}

int admin_fields(struct http_request *req, const json_t *body, const struct admin_field *fields,
                 size_t n, enum MHD_Result *replied)
{
    char want[128], names[512];
    const char *key;
    json_t *v;
    size_t i, len = 0;

    names[0] = '\0';
    for (i = 0; i < n; i++) {
        int w = snprintf(names + len, sizeof(names) - len, "%s\"%s\"", i > 0 ? ", " : "",
                         fields[i].name);
        if (w > 0 && (size_t)w < sizeof(names) - len)
            len += (size_t)w;
    }
    json_object_foreach((json_t *)body, key, v)
    {
        for (i = 0; i < n && strcmp(fields[i].name, key) != 0; i++)
            ;
        if (i == n) {
            *replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                                   "unknown field \"%.64s\"; this call takes %s", key,
                                   n > 0 ? names : "no fields");
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        const struct admin_field *f = &fields[i];

        v = json_object_get(body, f->name);
        if ((v == NULL || json_is_null(v)) && !f->required) /* null: absent (wsusctl's s:s?) */
            continue;
        admin_field_want(f, want, sizeof(want));
        if (v == NULL) {
            *replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "\"%s\" is missing; it must be %s",
                                   f->name, want);
            return -1;
        }
        if (!admin_field_fits(f, v)) {
            *replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "\"%s\" must be %s", f->name, want);
            return -1;
        }
    }
    return 0;
}

struct admin_req_ctx {
    struct dbpool *pool;
    PGconn *conn;
};

static void admin_req_ctx_free(void *p)
{
    struct admin_req_ctx *ctx = p;

    dbpool_put(ctx->pool, ctx->conn);
    free(ctx);
}

PGconn *admin_db(struct http_request *req)
{
    struct server *s = req->app;
    struct admin_req_ctx *ctx;
    char err[600];
    PGconn *c = dbpool_take(s->pool, 10000, err, sizeof(err));

    if (c == NULL) {
        admin_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
        return NULL;
    }
    ctx = xcalloc(1, sizeof(*ctx));
    ctx->pool = s->pool;
    ctx->conn = c;
    req->ctx = ctx;
    req->ctx_free = admin_req_ctx_free;
    return c;
}

/* Is the request's bearer token want (constant time)? */
static int admin_bearer_is(struct http_request *req, const char *want)
{
    const char *h = http_header(req, "Authorization");
    size_t n;

    if (want == NULL || h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    n = strlen(want);
    return strlen(h) == n && CRYPTO_memcmp(h, want, n) == 0;
}

/* Wrap every handler: the admin token (wsusctl, scripts), else a console session with its
 * CSRF token for state-changing calls; GET /metrics also takes the scrape token. */
static enum console_auth admin_access(struct http_request *req)
{
    struct server *s = req->app;

    if (admin_bearer_is(req, s->admin_token))
        return CONSOLE_AUTH_OK;
    if (strcasecmp(req->path, "/metrics") == 0 && admin_bearer_is(req, s->metrics_token))
        return CONSOLE_AUTH_OK;
    return console_auth(req);
}

static enum MHD_Result admin_status(struct http_request *req)
{
    struct server *s = req->app;
    PGconn *db = admin_db(req);
    json_t *j;

    if (db == NULL)
        return MHD_YES;
    pthread_mutex_lock(&s->cfg_lock); /* movecontent may switch content_dir */
    j = json_pack("{s:s, s:s, s:i, s:s}", "version", WSUSD_VERSION, "server_id", s->server_id,
                  "schema_version", db_schema_version(db), "content_dir", s->cfg.content_dir);
    pthread_mutex_unlock(&s->cfg_lock);
    return admin_reply(req, MHD_HTTP_OK, j);
}

static const struct http_route admin_routes[] = {
    {"GET", "/api/v1/status", 0, admin_status},
    /* settings, groups, approvals, updates: admin_config.c, admin_groups.c,
     * admin_approvals.c, admin_updates.c */
    {"GET", "/api/v1/config", 0, admin_config_get},
    {"POST", "/api/v1/config", 1, admin_config_set},
    {"GET", "/api/v1/groups", 0, admin_groups_list},
    {"POST", "/api/v1/groups/add", 1, admin_groups_add},
    {"POST", "/api/v1/groups/remove", 1, admin_groups_remove},
    {"POST", "/api/v1/approve", 1, admin_approve},
    {"POST", "/api/v1/approve/bulk", 1, admin_approve_bulk},
    {"POST", "/api/v1/unapprove", 1, admin_unapprove},
    {"POST", "/api/v1/decline", 1, admin_decline},
    {"POST", "/api/v1/decline/bulk", 1, admin_decline_bulk},
    {"POST", "/api/v1/undecline", 1, admin_undecline},
    {"POST", "/api/v1/accepteula", 1, admin_accepteula},
    {"GET", "/api/v1/updates", 0, admin_updates_list},
    /* the content store: admin_content.c */
    {"GET", "/api/v1/content", 0, admin_content_report},
    {"POST", "/api/v1/content/switch", 1, admin_content_switch},
    {"GET", "/api/v1/updates/show", 0, admin_updates_show},
    {"GET", "/api/v1/updates/failed", 0, admin_updates_failed},
    {"GET", "/api/v1/categories", 0, admin_categories_list},
    {"GET", "/api/v1/approvals/count", 0, admin_approvals_count},
    /* downstream servers: admin_downstreams.c */
    {"GET", "/api/v1/downstreams", 0, admin_downstreams_list},
    /* wsusctl checkhealth: admin_health.c, health.c */
    {"GET", "/api/v1/health", 0, admin_health},
    /* synchronization: admin_sync.c */
    {"POST", "/api/v1/sync/now", 1, admin_sync_now},
    {"POST", "/api/v1/sync/cancel", 1, admin_sync_cancel},
    {"GET", "/api/v1/sync/status", 0, admin_sync_status},
    {"GET", "/api/v1/sync/history", 0, admin_sync_history},
};

#define N_ADMIN_ROUTES (sizeof(admin_routes) / sizeof(admin_routes[0]))

static enum MHD_Result admin_unauthorized(struct http_request *req)
{
    return admin_error(req, MHD_HTTP_UNAUTHORIZED,
                       "missing or wrong admin token; wsusctl reads it from [admin] "
                       "token_file (run it as a user who can read that file)");
}

/* Answer a request admin_access() did not let through; 1, or 0 when it may go on. */
static int admin_refuse(struct http_request *req, enum MHD_Result *result)
{
    switch (admin_access(req)) {
    case CONSOLE_AUTH_OK:
        return 0;
    case CONSOLE_AUTH_BAD_CSRF:
        *result = admin_error(req, MHD_HTTP_FORBIDDEN, "%s", CONSOLE_CSRF_MESSAGE);
        return 1;
    case CONSOLE_AUTH_NONE:
        break;
    }
    *result = admin_unauthorized(req);
    return 1;
}

int admin_admit(struct http_request *req, enum MHD_Result *result)
{
    if (console_is_public(req->path))
        return 0;
    return admin_refuse(req, result);
}

/* Every admin route goes through this gate; the real handler is looked up again by path. The
   token is checked again here so the routes are safe without the admit hook too. */
static enum MHD_Result admin_gate(struct http_request *req)
{
    enum MHD_Result refused;
    size_t i;

    if (admin_refuse(req, &refused))
        return refused;
    for (i = 0; i < N_ADMIN_ROUTES; i++) {
        const struct http_route *r = &admin_routes[i];
        size_t n = strlen(r->path);
        int match = (n > 0 && r->path[n - 1] == '*') ? strncmp(r->path, req->path, n - 1) == 0
                                                     : strcmp(r->path, req->path) == 0;
        if (match && strcmp(r->method, req->method) == 0)
            return r->fn(req);
    }
    return admin_error(req, MHD_HTTP_NOT_FOUND, "no admin API call %s %s", req->method, req->path);
}

static enum MHD_Result admin_metrics_gate(struct http_request *req)
{
    enum MHD_Result refused;

    if (admin_refuse(req, &refused))
        return refused;
    return admin_metrics(req);
}

static const struct http_route admin_gate_routes[] = {
    {NULL, "/api/v1/*", 1, admin_gate},
    {"GET", "/metrics", 0, admin_metrics_gate},
    /* the web console (console.c): its files and login need no token */
    {"GET", "/console", 0, console_redirect},
    {"POST", "/console/login", 1, console_login},
    {"POST", "/console/logout", 0, console_logout},
    {"GET", "/console/session", 0, console_session},
    {"GET", "/console/*", 0, console_file},
};

const struct http_route *server_admin_routes(size_t *n)
{
    *n = sizeof(admin_gate_routes) / sizeof(admin_gate_routes[0]);
    return admin_gate_routes;
}
