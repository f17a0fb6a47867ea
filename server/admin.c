/*
 * admin: authentication, JSON helpers and the route table of the admin API. The handlers of
 * each verb family are in admin_*.c; this file holds only what they share.
 */
#include "admin.h"
#include "admin_sync.h"
#include "admin_handlers.h"
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
#include <sys/stat.h>
#include <unistd.h>

int admin_token_init(struct server *s)
{
    const char *path = s->cfg.token_file;
    char token[65];
    FILE *f;
    int fd;

    f = fopen(path, "r");
    if (f == NULL && errno == ENOENT) {
        unsigned char raw[32];

        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            log_warnx("cannot get random bytes for the admin token");
            return -1;
        }
        str_hex_encode(raw, sizeof(raw), 0, token);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || write(fd, token, 64) != 64 || write(fd, "\n", 1) != 1) {
            log_warn("cannot create the admin token file %s", path);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
        log_info("created admin token file %s", path);
        f = fopen(path, "r");
    }
    if (f == NULL) {
        log_warn("cannot read the admin token file %s", path);
        return -1;
    }
    if (fgets(token, sizeof(token), f) == NULL || strlen(token) < 32) {
        fclose(f);
        log_warnx("admin token file %s is empty or too short; delete it and restart wsusd to "
                  "create a new one",
                  path);
        return -1;
    }
    fclose(f);
    token[strcspn(token, "\r\n")] = '\0';
    free(s->admin_token);
    s->admin_token = xstrdup(token);
    return 0;
}

enum MHD_Result admin_reply(struct http_request *req, unsigned status, json_t *json)
{
    char *text;

    if (json == NULL)
        return http_respond_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"no result\"}");
    text = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII);
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

/* Wrap every handler: constant-time token check first. */
static int admin_authorized(struct http_request *req)
{
    struct server *s = req->app;
    const char *h = http_header(req, "Authorization");
    size_t n;

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    n = strlen(s->admin_token);
    return strlen(h) == n && CRYPTO_memcmp(h, s->admin_token, n) == 0;
}

static enum MHD_Result admin_status(struct http_request *req)
{
    struct server *s = req->app;
    PGconn *db = admin_db(req);
    json_t *j;

    if (db == NULL)
        return MHD_YES;
    j = json_pack("{s:s, s:s, s:i, s:s}", "version", WSUSD_VERSION, "server_id", s->server_id,
                  "schema_version", db_schema_version(db), "content_dir", s->cfg.content_dir);
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
    {"POST", "/api/v1/unapprove", 1, admin_unapprove},
    {"POST", "/api/v1/decline", 1, admin_decline},
    {"POST", "/api/v1/undecline", 1, admin_undecline},
    {"POST", "/api/v1/accepteula", 1, admin_accepteula},
    {"GET", "/api/v1/updates", 0, admin_updates_list},
    {"GET", "/api/v1/updates/show", 0, admin_updates_show},
    /* downstream servers: admin_downstreams.c */
    {"GET", "/api/v1/downstreams", 0, admin_downstreams_list},
    /* synchronization: admin_sync.c */
    {"POST", "/api/v1/sync/now", 1, admin_sync_now},
    {"GET", "/api/v1/sync/status", 0, admin_sync_status},
    {"GET", "/api/v1/sync/history", 0, admin_sync_history},
};

#define N_ADMIN_ROUTES (sizeof(admin_routes) / sizeof(admin_routes[0]))

/* Every admin route goes through this gate; the real handler is looked up again by path. */
static enum MHD_Result admin_gate(struct http_request *req)
{
    size_t i;

    if (!admin_authorized(req))
        return admin_error(req, MHD_HTTP_UNAUTHORIZED,
                           "missing or wrong admin token; wsusctl reads it from [admin] "
                           "token_file (run it as a user who can read that file)");
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

static const struct http_route admin_gate_routes[] = {
    {NULL, "/api/v1/*", 1, admin_gate},
};

const struct http_route *server_admin_routes(size_t *n)
{
    *n = 1;
    return admin_gate_routes;
}
