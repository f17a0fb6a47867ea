/*
 * admin: the front of the admin listener: the token file, who may call (admin token, console
 * session with CSRF, metrics token) and the route table of the admin API. The handlers of each
 * verb family are in admin_*.c and answer through admin_reply.c; nothing they call is here.
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
    {"GET", "/api/v1/status", 0, admin_status, 0},
    /* settings, groups, approvals, updates: admin_config.c, admin_groups.c,
     * admin_approvals.c, admin_updates.c */
    {"GET", "/api/v1/config", 0, admin_config_get, 0},
    {"POST", "/api/v1/config", 1, admin_config_set, 0},
    {"GET", "/api/v1/groups", 0, admin_groups_list, 0},
    {"POST", "/api/v1/groups/add", 1, admin_groups_add, 0},
    {"POST", "/api/v1/groups/remove", 1, admin_groups_remove, 0},
    {"POST", "/api/v1/approve", 1, admin_approve, 0},
    {"POST", "/api/v1/approve/bulk", 1, admin_approve_bulk, 0},
    {"POST", "/api/v1/unapprove", 1, admin_unapprove, 0},
    {"POST", "/api/v1/decline", 1, admin_decline, 0},
    {"POST", "/api/v1/decline/bulk", 1, admin_decline_bulk, 0},
    {"POST", "/api/v1/undecline", 1, admin_undecline, 0},
    {"POST", "/api/v1/accepteula", 1, admin_accepteula, 0},
    {"GET", "/api/v1/updates", 0, admin_updates_list, 0},
    /* the content store: admin_content.c */
    {"GET", "/api/v1/content", 0, admin_content_report, 0},
    {"POST", "/api/v1/content/switch", 1, admin_content_switch, 0},
    {"GET", "/api/v1/updates/show", 0, admin_updates_show, 0},
    {"GET", "/api/v1/updates/failed", 0, admin_updates_failed, 0},
    {"GET", "/api/v1/categories", 0, admin_categories_list, 0},
    {"GET", "/api/v1/approvals/count", 0, admin_approvals_count, 0},
    {"GET", "/api/v1/approvals/inactive", 0, admin_approvals_inactive, 0},
    {"POST", "/api/v1/approvals/inactive/remove", 0, admin_approvals_inactive_remove, 0},
    /* downstream servers: admin_downstreams.c */
    {"GET", "/api/v1/downstreams", 0, admin_downstreams_list, 0},
    /* wsusctl checkhealth: admin_health.c, health.c */
    {"GET", "/api/v1/health", 0, admin_health, 0},
    {"GET", "/api/v1/computers", 0, admin_computers_list, 0},
    {"GET", "/api/v1/computers/show", 0, admin_computers_show, 0},
    {"POST", "/api/v1/computers/move", 1, admin_computers_move, 0},
    {"POST", "/api/v1/computers/remove", 1, admin_computers_remove, 0},
    {"GET", "/api/v1/report", 0, admin_report, 0},
    /* synchronization: admin_sync.c */
    {"POST", "/api/v1/sync/now", 1, admin_sync_now, 0},
    {"POST", "/api/v1/sync/cancel", 1, admin_sync_cancel, 0},
    {"GET", "/api/v1/sync/status", 0, admin_sync_status, 0},
    {"GET", "/api/v1/sync/history", 0, admin_sync_history, 0},
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

/* Every admin route goes through this gate; the real handler is looked up again by path, with
   the listener's own matching rule (http_route_find: case-insensitive, HEAD as GET). The token
   is checked again here so the routes are safe without the admit hook too. */
static enum MHD_Result admin_gate(struct http_request *req)
{
    enum MHD_Result refused;
    const struct http_route *r;
    int path_known;

    if (admin_refuse(req, &refused))
        return refused;
    r = http_route_find(admin_routes, N_ADMIN_ROUTES, req->method, req->path, &path_known);
    if (r != NULL)
        return r->fn(req);
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
    {NULL, "/api/v1/*", 1, admin_gate, 0},
    {"GET", "/metrics", 0, admin_metrics_gate, 0},
    /* the web console (console.c): its files and login need no token */
    {"GET", "/console", 0, console_redirect, 0},
    {"POST", "/console/login", 1, console_login, 0},
    {"POST", "/console/logout", 0, console_logout, 0},
    {"GET", "/console/session", 0, console_session, 0},
    {"GET", "/console/*", 0, console_file, 0},
};

const struct http_route *server_admin_routes(size_t *n)
{
    *n = sizeof(admin_gate_routes) / sizeof(admin_gate_routes[0]);
    return admin_gate_routes;
}
