/*
 * http: request life cycle on top of libmicrohttpd (thread pool + epoll), body collection with
 * a hard limit, first-match routing, and response helpers.
 */
#include "http.h"
#include "config.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define HTTP_SERVER_HEADER "wsusd/" WSUSD_VERSION

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_options opt;
    int port;
    char *tls_cert;
    char *tls_key;
};

static char *http_collapse_slashes(const char *url)
{
    size_t n = strlen(url), i, j = 0;
    char *p = xmalloc(n + 1);

    for (i = 0; i < n; i++) {
        if (url[i] == '/' && j > 0 && p[j - 1] == '/')
            continue;
        p[j++] = url[i];
    }
    p[j] = '\0';
    return p;
}

static int http_route_matches(const struct http_route *r, const char *method, const char *path)
{
    size_t n = strlen(r->path);

    if (r->method != NULL && strcmp(r->method, method) != 0) {
        /* HEAD is served by the GET route of a path */
        if (!(strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0))
            return 0;
    }
    if (n > 0 && r->path[n - 1] == '*')
        return strncasecmp(r->path, path, n - 1) == 0;
    return strcasecmp(r->path, path) == 0;
}

static const struct http_route *http_find_route(const struct http_server *srv, const char *method,
                                                const char *path, int *path_known)
{
    size_t i;

    *path_known = 0;
    for (i = 0; i < srv->opt.nroutes; i++) {
        const struct http_route *r = &srv->opt.routes[i];
        if (http_route_matches(r, method, path))
            return r;
        {
            struct http_route any = *r;
            any.method = NULL;
            if (http_route_matches(&any, method, path))
                *path_known = 1;
        }
    }
    return NULL;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    int path_known;

    if (req == NULL) {
        req = xcalloc(1, sizeof(*req));
        req->conn = conn;
        req->srv = srv;
        req->method = method;
        req->url = url;
        req->path = http_collapse_slashes(url);
        req->app = srv->opt.app;
        buf_init(&req->body, srv->opt.max_body);
        req->route = http_find_route(srv, method, req->path, &path_known);
        *con_cls = req;
        if (req->route == NULL) {
            if (path_known)
                return http_respond_text(req, MHD_HTTP_METHOD_NOT_ALLOWED,
                                         "method %s not allowed here", method);
            return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (req->route != NULL && req->route->wants_body && !req->body_too_large &&
            buf_add(&req->body, upload_data, *upload_data_size) < 0)
            req->body_too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->route == NULL)
        return MHD_YES; /* already answered */
    if (req->body_too_large) {
        log_warnx("%s: request body for %s over the %zu-byte limit, refused", srv->opt.name,
                  req->path, srv->opt.max_body);
        return http_respond_text(req, MHD_HTTP_CONTENT_TOO_LARGE,
                                 "request body larger than %zu bytes", srv->opt.max_body);
    }
    return req->route->fn(req);
}

/* A decoded query value, kept with the request (the URL and arguments arrive undecoded:
 * http_no_unescape). */
struct http_arg {
    struct http_arg *next;
    char *value;
};

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_request *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (req == NULL)
        return;
    if (req->ctx_free != NULL && req->ctx != NULL)
        req->ctx_free(req->ctx);
    while (req->args != NULL) {
        struct http_arg *next = req->args->next;
        free(req->args->value);
        free(req->args);
        req->args = next;
    }
    buf_free(&req->body);
    free(req->path);
    free(req);
    *con_cls = NULL;
}

/* Keep the URL exactly as sent: the content handler must see %-escapes to refuse them. */
static size_t http_no_unescape(void *cls, struct MHD_Connection *c, char *uri)
{
    (void)cls;
    (void)c;
    return strlen(uri);
}

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_debug("%s: %s", ((struct http_server *)cls)->opt.name, msg);
}

struct http_server *http_server_start(const struct http_server_options *opt, char *err,
                                      size_t errlen)
{
    struct http_server *srv;
    struct addrinfo hints, *ai = NULL;
    char *host = NULL;
    char portstr[16];
    int port, gai;
    /*
     * One thread per connection: in this mode libmicrohttpd 0.9.75 hands sendfile() 2 MiB at a
     * time (its event-loop modes use 128 KiB steps), which is what lets content keep up with
     * nginx (docs/content.md). Connections are capped and thread stacks kept small, so memory
     * stays bounded; database work is bounded separately by the connection pool.
     */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    struct sockaddr_storage ss;
    socklen_t sslen;
    const union MHD_DaemonInfo *info;

    if (config_split_hostport(opt->listen, &host, &port, err, errlen) < 0)
        return NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    gai = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve listen address %s: %s", opt->listen,
                 gai_strerror(gai));
        free(host);
        return NULL;
    }
    free(host);
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    sslen = ai->ai_addrlen;
    (void)sslen;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    freeaddrinfo(ai);

    srv = xcalloc(1, sizeof(*srv));
    srv->opt = *opt;
    if (opt->tls_cert_pem != NULL) {
        flags |= MHD_USE_TLS;
        srv->tls_cert = xstrdup(opt->tls_cert_pem);
        srv->tls_key = xstrdup(opt->tls_key_pem);
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, http_access, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, http_no_unescape, srv, MHD_OPTION_EXTERNAL_LOGGER,
        http_mhd_log, srv, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(opt->max_connections ? opt->max_connections : 100),
        opt->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(err, errlen,
                 "cannot listen on %s (%s): the address is in use, not local, or the port "
                 "needs privileges",
                 opt->listen, opt->name);
        free(srv->tls_cert);
        free(srv->tls_key);
        free(srv);
        return NULL;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    log_info("%s listener on %s (port %d)", opt->name, opt->listen, srv->port);
    return srv;
}

void http_server_stop(struct http_server *srv)
{
    if (srv == NULL)
        return;
    MHD_stop_daemon(srv->daemon);
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_request *req, const char *name)
{
    const char *raw = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    struct http_arg *a;

    if (raw == NULL)
        return NULL;
    a = xmalloc(sizeof(*a));
    a->value = str_url_decode(raw);
    a->next = req->args;
    req->args = a;
    return a->value;
}

const char *http_peer(const struct http_request *req, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    snprintf(out, outlen, "?");
    if (ci == NULL || ci->client_addr == NULL)
        return out;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  out, (socklen_t)outlen);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)outlen);
    return out;
}

enum MHD_Result http_queue(struct http_request *req, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result r;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, HTTP_SERVER_HEADER);
    r = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result http_respond_take(struct http_request *req, unsigned status,
                                  const char *content_type, void *data, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);

    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    if (content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return http_queue(req, status, resp);
}

enum MHD_Result http_respond(struct http_request *req, unsigned status, const char *content_type,
                             const void *data, size_t len)
{
    void *copy = xmalloc(len);

    memcpy(copy, data, len);
    return http_respond_take(req, status, content_type, copy, len);
}

enum MHD_Result http_respond_text(struct http_request *req, unsigned status, const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    size_t len;
    char *data;

    buf_init(&b, 4096);
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_add_str(&b, "\n");
    data = buf_detach(&b, &len);
    return http_respond_take(req, status, "text/plain; charset=utf-8", data, len);
}
