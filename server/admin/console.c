/*
 * console: static files of the web console and browser sessions (see console.h). A session is
 * two random 256-bit values: the cookie (HttpOnly, so page scripts never see it) and the CSRF
 * token the page's script sends in X-CSRF-Token; both are compared in constant time.
 */
#include "console.h"
#include "admin_reply.h"
#include "log.h"
#include "server.h"
#include "strutil.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef WSUSD_CONSOLE_DIR
#define WSUSD_CONSOLE_DIR "/usr/local/share/wsusd/console"
#endif

#define CONSOLE_COOKIE   "wsusd_session"
#define CONSOLE_HEX_LEN  64
#define CONSOLE_FILE_MAX (4 * 1024 * 1024)
#define CONSOLE_NAME_MAX 128
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

struct console_session {
    char id[CONSOLE_HEX_LEN + 1];   /* the cookie value; "" = free slot */
    char csrf[CONSOLE_HEX_LEN + 1]; /* what X-CSRF-Token must say */
    time_t created, used;           /* CLOCK_MONOTONIC seconds */
};

struct console_sessions {
    pthread_mutex_t lock;
    struct console_session s[CONSOLE_MAX_SESSIONS];
};

struct console_sessions *console_sessions_new(void)
{
    struct console_sessions *cs = xcalloc(1, sizeof(*cs));

    pthread_mutex_init(&cs->lock, NULL);
    return cs;
}

void console_sessions_free(struct console_sessions *cs)
{
    if (cs == NULL)
        return;
    OPENSSL_cleanse(cs->s, sizeof(cs->s));
    pthread_mutex_destroy(&cs->lock);
    free(cs);
}

static time_t console_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int console_random_hex(char out[CONSOLE_HEX_LEN + 1])
{
    unsigned char raw[CONSOLE_HEX_LEN / 2];
    int ok = RAND_bytes(raw, sizeof(raw)) == 1;

    if (ok)
        str_hex_encode(raw, sizeof(raw), 0, out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok ? 0 : -1;
}

static int console_equal(const char *a, const char *b)
{
    size_t n = strlen(b);

    return a != NULL && strlen(a) == n && CRYPTO_memcmp(a, b, n) == 0;
}

static int console_expired(const struct console_session *x, time_t now)
{
    return x->id[0] == '\0' || now - x->created > CONSOLE_SESSION_MAX_S ||
           now - x->used > CONSOLE_SESSION_IDLE_S;
}

/* The live session of req's cookie, under cs->lock; NULL if none. */
static struct console_session *console_find(struct console_sessions *cs, struct http_request *req)
{
    const char *cookie = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, CONSOLE_COOKIE);
    time_t now = console_now();
    size_t i;

    if (cookie == NULL || strlen(cookie) != CONSOLE_HEX_LEN)
        return NULL;
    for (i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
        struct console_session *x = &cs->s[i];

        if (console_expired(x, now)) {
            OPENSSL_cleanse(x, sizeof(*x));
            continue;
        }
        if (console_equal(cookie, x->id)) {
            x->used = now;
            return x;
        }
    }
    return NULL;
}

static int console_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

enum console_auth console_auth(struct http_request *req)
{
    struct console_sessions *cs = ((struct server *)req->app)->console;
    struct console_session *x;
    enum console_auth a = CONSOLE_AUTH_NONE;

    if (cs == NULL)
        return a;
    pthread_mutex_lock(&cs->lock);
    x = console_find(cs, req);
    if (x != NULL)
        a = console_safe_method(req->method) ||
                    console_equal(http_header(req, "X-CSRF-Token"), x->csrf)
                ? CONSOLE_AUTH_OK
                : CONSOLE_AUTH_BAD_CSRF;
    pthread_mutex_unlock(&cs->lock);
    return a;
}

int console_is_public(const char *path)
{
    return strcasecmp(path, "/console") == 0 || str_has_prefix_ci(path, "/console/");
}

/* The headers every console answer carries. */
static void console_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

/* Answer json (reference stolen) with the console headers and an optional Set-Cookie. */
static enum MHD_Result console_reply(struct http_request *req, unsigned status, json_t *json,
                                     const char *cookie)
{
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII);
    struct MHD_Response *resp;

    json_decref(json);
    if (text == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (cookie != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    console_headers(resp);
    return http_queue(req, status, resp);
}

enum MHD_Result console_redirect(struct http_request *req)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/console/");
    console_headers(resp);
    return http_queue(req, MHD_HTTP_FOUND, resp);
}

/* The Content-Type of a console file by its extension; NULL = not served. */
static const char *console_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
    };
    const char *dot = strrchr(name, '.');
    size_t i;

    for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* Is name (the path after /console/) a file name the console may have: at most two segments
 * of letters, digits, '-' and '_', the last with one extension? No dots elsewhere, no escapes. */
static int console_name_ok(const char *name)
{
    size_t i, n = strlen(name), slashes = 0, dots = 0;

    if (n == 0 || n > CONSOLE_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];

        if (c == '/') {
            if (dots > 0 || ++slashes > 1 || name[i + 1] == '/')
                return 0;
        } else if (c == '.') {
            if (++dots > 1 || i == 0 || name[i - 1] == '/')
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_')) {
            return 0;
        }
    }
    return dots == 1;
}

static enum MHD_Result console_not_found(struct http_request *req)
{
    return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
}

enum MHD_Result console_file(struct http_request *req)
{
    struct server *s = req->app;
    const char *name = req->path + strlen("/console/");
    const char *type;
    char path[4096];
    struct MHD_Response *resp;
    struct stat st;
    int fd, w;

    if (*name == '\0')
        name = "index.html";
    if (!console_name_ok(name) || (type = console_type(name)) == NULL)
        return console_not_found(req);
    pthread_mutex_lock(&s->cfg_lock);
    w = snprintf(path, sizeof(path), "%s/%s",
                 s->cfg.console_dir[0] ? s->cfg.console_dir : WSUSD_CONSOLE_DIR, name);
    pthread_mutex_unlock(&s->cfg_lock);
    if (w < 0 || (size_t)w >= sizeof(path))
        return console_not_found(req);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT && strcmp(name, "index.html") == 0)
            log_warnx("console: %s is missing; set [admin] console_dir to the directory holding "
                      "the console's files (deploy/install.sh installs them)",
                      path);
        return console_not_found(req);
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONSOLE_FILE_MAX) {
        close(fd);
        return console_not_found(req);
    }
    resp = MHD_create_response_from_fd_at_offset64((uint64_t)st.st_size, fd, 0);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    console_headers(resp);
    return http_queue(req, MHD_HTTP_OK, resp);
}

enum MHD_Result console_login(struct http_request *req)
{
    static const struct admin_field fields[] = {
        {"token", ADMIN_FIELD_STRING, 1, 1, 256},
    };
    struct server *s = req->app;
    struct console_sessions *cs = s->console;
    struct console_session fresh, *slot = NULL;
    char peer[64], cookie[200];
    enum MHD_Result replied;
    json_t *body = admin_body(req, &replied);
    size_t i;
    int ok;

    if (body == NULL)
        return replied;
    if (admin_fields(req, body, fields, 1, &replied) < 0) {
        json_decref(body);
        return replied;
    }
    ok = console_equal(json_string_value(json_object_get(body, "token")), s->admin_token);
    json_decref(body);
    if (!ok) {
        log_warnx("console: failed login from %s (wrong admin token)",
                  http_peer(req, peer, sizeof(peer)));
        return console_reply(req, MHD_HTTP_UNAUTHORIZED,
                             json_pack("{s:s}", "error",
                                       "wrong admin token; it is the 64 hex digits in the file "
                                       "[admin] token_file names on the server (default "
                                       "/var/lib/wsusd/admin.token)"),
                             NULL);
    }
    memset(&fresh, 0, sizeof(fresh));
    if (console_random_hex(fresh.id) < 0 || console_random_hex(fresh.csrf) < 0)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "no random bytes for a session");
    fresh.created = fresh.used = console_now();
    pthread_mutex_lock(&cs->lock);
    for (i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
        struct console_session *x = &cs->s[i];

        if (console_expired(x, fresh.created)) {
            slot = x;
            break;
        }
        if (slot == NULL || x->used < slot->used)
            slot = x; /* the least recently used one makes room */
    }
    *slot = fresh;
    pthread_mutex_unlock(&cs->lock);
    /* over HTTPS the browser must never send the cookie in clear text */
    ok = snprintf(cookie, sizeof(cookie), CONSOLE_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s",
                  fresh.id, http_server_is_tls(req->srv) ? "; Secure" : "");
    OPENSSL_cleanse(fresh.id, sizeof(fresh.id));
    if (ok < 0 || (size_t)ok >= sizeof(cookie))
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "session cookie too long");
    log_info("console: login from %s", http_peer(req, peer, sizeof(peer)));
    return console_reply(
        req, MHD_HTTP_OK,
        json_pack("{s:s, s:i}", "csrf", fresh.csrf, "expires_in", CONSOLE_SESSION_MAX_S), cookie);
}

enum MHD_Result console_session(struct http_request *req)
{
    struct console_sessions *cs = ((struct server *)req->app)->console;
    struct console_session *x;
    json_t *j = NULL;

    pthread_mutex_lock(&cs->lock);
    x = console_find(cs, req);
    if (x != NULL)
        j = json_pack("{s:s}", "csrf", x->csrf);
    pthread_mutex_unlock(&cs->lock);
    if (j == NULL)
        return console_reply(req, MHD_HTTP_UNAUTHORIZED,
                             json_pack("{s:s}", "error", "not logged in"), NULL);
    return console_reply(req, MHD_HTTP_OK, j, NULL);
}

enum MHD_Result console_logout(struct http_request *req)
{
    struct console_sessions *cs = ((struct server *)req->app)->console;
    struct console_session *x;
    int found = 0, csrf_ok = 0;

    pthread_mutex_lock(&cs->lock);
    x = console_find(cs, req);
    if (x != NULL) {
        found = 1;
        csrf_ok = console_equal(http_header(req, "X-CSRF-Token"), x->csrf);
        if (csrf_ok)
            OPENSSL_cleanse(x, sizeof(*x));
    }
    pthread_mutex_unlock(&cs->lock);
    if (found && !csrf_ok)
        return console_reply(req, MHD_HTTP_FORBIDDEN,
                             json_pack("{s:s}", "error", CONSOLE_CSRF_MESSAGE), NULL);
    return console_reply(req, MHD_HTTP_OK, json_pack("{s:b}", "logged_out", found),
                         CONSOLE_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}
