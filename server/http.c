/*
 * http: request life cycle on top of libmicrohttpd (one thread per connection), body collection
 * with a hard limit, first-match routing, response helpers, and the connection guard: every
 * connection is tracked with the phase it is in (headers, body, handled, idle keep-alive) and a
 * deadline for that phase, which a watchdog thread enforces with shutdown(2); a new connection
 * that finds few free slots evicts the one that has waited longest for a request.
 */
#include "http.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "strutil.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define HTTP_SERVER_HEADER    "wsusd/" WSUSD_VERSION
#define HTTP_WATCHDOG_TICK_MS 250
#define HTTP_EVICT_WARN_EVERY 60    /* seconds between two eviction warnings */
#define HTTP_QUEUE_WAIT_MS    10000 /* a request no worker took by then gets a 503 */
#define HTTP_RETRY_AFTER_S    "5"   /* the Retry-After of a 503 "server busy" */
/* libmicrohttpd's memory per connection (its default 32 KiB), which it zeroes for every
   request: request headers up to about half of it, the read buffer, the response headers */
#define HTTP_CONN_MEMORY (16 * 1024)

/* The phase a connection is in; HEADERS and IDLE connections may be evicted. */
enum http_conn_phase { HTTP_CONN_HEADERS, HTTP_CONN_BODY, HTTP_CONN_HANDLED, HTTP_CONN_IDLE };

/* One open connection (libmicrohttpd's socket context). Lives from the STARTED to the CLOSED
   notification, which libmicrohttpd sends before it closes the socket: while the record is in
   the list (under srv->lock), fd is this connection's socket and shutdown(fd) is safe. */
struct http_conn {
    struct http_conn *prev, *next; /* oldest phase start first */
    int fd;
    enum http_conn_phase phase;
    int64_t deadline_ms; /* CLOCK_MONOTONIC ms; 0 = none */
    int cut;             /* shut down by the guard */
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_options opt;
    int port;
    char *tls_cert;
    char *tls_key;
    char *trusted_proxies; /* opt.trusted_proxies points here; "" = none */
    /* connection guard */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t watchdog;
    int watchdog_running;
    int stopping;
    struct http_conn *head, *tail;
    unsigned nconn;
    unsigned evict_at; /* evict when more connections than this are open */
    unsigned long evicted;
    time_t last_evict_warn;
    struct http_limits lim; /* under lock: changed by http_server_set_limits */
    /* pool threading model: the worker threads and their queue (under lock). The queue needs
       no bound of its own: each connection has at most one request in it. */
    pthread_cond_t job_wake;
    pthread_t *workers;
    unsigned nworkers;
    struct http_request *jobs, *jobs_tail;
    int workers_stop; /* http_server_stop: finish the queue, defer nothing more */
    /* streamed answers in progress (http_respond_stream): opt.stream_set, or own_set */
    struct http_stream_set *ss;
    struct http_stream_set *own_set;
};

/* Streamed answers in progress, under lock: those of one listener or of several. */
struct http_stream_set {
    pthread_mutex_t lock;
    struct http_stream *head;
    unsigned n;
};

struct http_stream_set *http_stream_set_new(void)
{
    struct http_stream_set *ss = xcalloc(1, sizeof(*ss));

    pthread_mutex_init(&ss->lock, NULL);
    return ss;
}

void http_stream_set_free(struct http_stream_set *ss)
{
    if (ss == NULL)
        return;
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

/* http_respond_stream's body. refs: the request, the MHD response and (pool) the worker. */
struct http_stream {
    pthread_mutex_t lock;
    pthread_cond_t room; /* the worker waits here for the reader to drain out */
    http_produce_fn produce;
    void *cls;
    void (*cls_free)(void *);
    struct MHD_Connection *conn;
    struct http_server *srv;
    int pooled;     /* produced by a worker (under lock), drained by the reader */
    struct buf out; /* produced, not yet handed to libmicrohttpd */
    size_t off;
    int eof, failed, cancelled;
    int waiting; /* the reader found out empty and suspended the connection */
    int refs;
    /* in srv->ss (under its lock) until the last reference goes */
    struct http_stream *snext, *sprev;
    char peer[64];        /* the client address the per-address bound counts */
    struct http_conn *hc; /* the connection, cut when the reader stalls (pooled) */
    int64_t last_read_ms; /* the reader last took bytes (under lock) */
};

/* The limits in force now (a copy). */
static struct http_limits http_limits_now(struct http_server *srv)
{
    struct http_limits l;

    pthread_mutex_lock(&srv->lock);
    l = srv->lim;
    pthread_mutex_unlock(&srv->lock);
    return l;
}

void http_server_set_limits(struct http_server *srv, const struct http_limits *lim)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    if (lim->max_body > 0)
        srv->lim.max_body = lim->max_body;
    if (lim->max_large_body > 0)
        srv->lim.max_large_body = lim->max_large_body;
    if (lim->header_timeout > 0)
        srv->lim.header_timeout = lim->header_timeout;
    if (lim->body_timeout > 0)
        srv->lim.body_timeout = lim->body_timeout;
    if (lim->keepalive_timeout > 0)
        srv->lim.keepalive_timeout = lim->keepalive_timeout;
    pthread_mutex_unlock(&srv->lock);
}

static int64_t http_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void http_conn_unlink(struct http_server *srv, struct http_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        srv->tail = c->prev;
    c->prev = c->next = NULL;
}

static void http_conn_append(struct http_server *srv, struct http_conn *c)
{
    c->prev = srv->tail;
    c->next = NULL;
    if (srv->tail != NULL)
        srv->tail->next = c;
    else
        srv->head = c;
    srv->tail = c;
}

/* Close a connection from outside its thread: its poll wakes up with EOF. Under srv->lock. */
static void http_conn_cut(struct http_conn *c)
{
    if (c->cut)
        return;
    c->cut = 1;
    shutdown(c->fd, SHUT_RDWR);
}

/* Enter a phase with a deadline timeout_s from now (0 = none); a new waiting phase (IDLE)
   moves the connection to the end of the eviction order. */
static void http_conn_enter(struct http_server *srv, struct http_conn *c,
                            enum http_conn_phase phase, unsigned timeout_s)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    c->phase = phase;
    c->deadline_ms = timeout_s ? http_now_ms() + (int64_t)timeout_s * 1000 : 0;
    if (phase == HTTP_CONN_IDLE && srv->tail != c) {
        http_conn_unlink(srv, c);
        http_conn_append(srv, c);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* The oldest connection still waiting for a request, other than skip; NULL if none. */
static struct http_conn *http_conn_evictable(struct http_server *srv, const struct http_conn *skip)
{
    struct http_conn *c;

    for (c = srv->head; c != NULL; c = c->next)
        if (c != skip && !c->cut && (c->phase == HTTP_CONN_HEADERS || c->phase == HTTP_CONN_IDLE))
            return c;
    return NULL;
}

static void http_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    struct http_conn *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct http_conn *victim;
        time_t now = time(NULL);
        int warn = 0;
        unsigned long evicted = 0;
        unsigned open = 0;

        c = xcalloc(1, sizeof(*c));
        c->fd = ci != NULL ? ci->connect_fd : -1;
        c->phase = HTTP_CONN_HEADERS;
        pthread_mutex_lock(&srv->lock);
        c->deadline_ms = http_now_ms() + (int64_t)srv->lim.header_timeout * 1000;
        http_conn_append(srv, c);
        srv->nconn++;
        if (srv->nconn > srv->evict_at && (victim = http_conn_evictable(srv, c)) != NULL) {
            http_conn_cut(victim);
            srv->evicted++;
            if (now - srv->last_evict_warn >= HTTP_EVICT_WARN_EVERY) {
                srv->last_evict_warn = now;
                warn = 1;
                evicted = srv->evicted;
                open = srv->nconn;
            }
        }
        pthread_mutex_unlock(&srv->lock);
        *socket_context = c;
        if (warn)
            log_warnx("%s: %u connections open (limit %u): closing the ones that waited longest "
                      "without a request (%lu so far); many idle or slow clients, or an attack",
                      srv->opt.name, open, srv->opt.max_connections, evicted);
        return;
    }
    if (c == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    http_conn_unlink(srv, c);
    srv->nconn--;
    pthread_mutex_unlock(&srv->lock);
    free(c);
    *socket_context = NULL;
}

/* Enforce phase deadlines until the server stops. */
static void *http_watchdog(void *arg)
{
    struct http_server *srv = arg;

    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping) {
        struct timespec until;
        int64_t now = http_now_ms();
        struct http_conn *c;

        for (c = srv->head; c != NULL; c = c->next) {
            if (c->deadline_ms != 0 && now >= c->deadline_ms && !c->cut) {
                http_conn_cut(c);
                log_debug("%s: connection closed: no complete %s in time", srv->opt.name,
                          c->phase == HTTP_CONN_BODY ? "request body" : "request headers");
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += HTTP_WATCHDOG_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->wake, &srv->lock, &until);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static struct http_conn *http_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

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

const struct http_route *http_route_find(const struct http_route *routes, size_t n,
                                         const char *method, const char *path, int *path_known)
{
    size_t i;

    *path_known = 0;
    for (i = 0; i < n; i++) {
        const struct http_route *r = &routes[i];
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

/* Content-Length and Transfer-Encoding headers of a request, counted. */
struct http_framing {
    unsigned content_length;
    unsigned transfer_encoding;
};

static enum MHD_Result http_count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                          const char *value)
{
    struct http_framing *f = cls;

    (void)kind;
    (void)value;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->transfer_encoding++;
    return MHD_YES;
}

static enum MHD_Result http_first_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    (void)value;
    *(const char **)cls = key;
    return MHD_NO;
}

/*
 * 1 when the client sent a NUL byte inside the path. libmicrohttpd splits the request line in
 * place and hands us C strings: the URI runs from url up to the NUL that replaced the space
 * before the version, and a '?' becomes a NUL followed by the first query argument. Any other
 * NUL before that end was in the request. (A layout other than this one is not judged.)
 */
static int http_path_has_nul(struct MHD_Connection *conn, const char *url, const char *version)
{
    const char *end, *p, *first = NULL;

    if (version == NULL || version <= url || version - url > 65536)
        return 0;
    end = version - 1;
    p = url + strlen(url);
    if (p >= end || p + 1 == end)
        return 0; /* the path runs to the version, or only "?" / a NUL follows it */
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, http_first_arg, &first);
    return first != p + 1;
}

/*
 * What can be refused from the request headers alone, before any body byte is read (and so
 * without "100 Continue"): ambiguous framing, a declared body over the limit, and whatever the
 * server's admit hook refuses. 1 when a response was queued (its result in *r).
 */
static int http_refuse_early(struct http_request *req, const char *version, enum MHD_Result *r)
{
    struct http_server *srv = req->srv;
    struct http_framing f = {0, 0};
    const char *cl;
    int64_t len;

    if (http_path_has_nul(req->conn, req->url, version)) {
        *r = http_respond_text(req, MHD_HTTP_BAD_REQUEST, "request path contains a NUL byte");
        return 1;
    }
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_count_framing, &f);
    if (f.content_length > 1) {
        *r = http_respond_text(req, MHD_HTTP_BAD_REQUEST,
                               "more than one Content-Length header; send exactly one");
        return 1;
    }
    if (f.content_length == 1 && f.transfer_encoding > 0) {
        *r = http_respond_text(req, MHD_HTTP_BAD_REQUEST,
                               "both Content-Length and Transfer-Encoding; send one of them");
        return 1;
    }
    cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && str_to_int64(cl, 0, INT64_MAX, &len) == 0 && (uint64_t)len > req->max_body) {
        log_warnx("%s: request body for %s declared as %lld bytes, over the %zu-byte limit; "
                  "refused before reading it",
                  srv->opt.name, req->path, (long long)len, req->max_body);
        *r = http_respond_text(req, MHD_HTTP_CONTENT_TOO_LARGE,
                               "request body larger than %zu bytes", req->max_body);
        return 1;
    }
    return srv->opt.admit != NULL && srv->opt.admit(req, r);
}

/* Back on the I/O thread after the worker: queue what the handler queued, or close. */
static enum MHD_Result http_resumed(struct http_request *req)
{
    struct MHD_Response *resp = req->held;
    enum MHD_Result r;

    if (resp == NULL)
        return MHD_NO; /* the handler queued nothing (it failed): close the connection */
    req->held = NULL;
    r = MHD_queue_response(req->conn, req->held_status, resp);
    if (r == MHD_YES)
        req->status = req->held_status;
    MHD_destroy_response(resp);
    return r == MHD_YES ? req->worker_result : MHD_NO;
}

/* Hand req to a worker: the connection sleeps (suspended) until the handler has run. */
static enum MHD_Result http_defer(struct http_request *req)
{
    struct http_server *srv = req->srv;

    pthread_mutex_lock(&srv->lock);
    if (srv->workers_stop) {
        pthread_mutex_unlock(&srv->lock);
        return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");
    }
    req->deferred = 1;
    req->queued_ms = http_now_ms();
    MHD_suspend_connection(req->conn); /* before a worker can resume it */
    req->job_next = NULL;
    if (srv->jobs_tail != NULL)
        srv->jobs_tail->job_next = req;
    else
        srv->jobs = req;
    srv->jobs_tail = req;
    pthread_cond_signal(&srv->job_wake);
    pthread_mutex_unlock(&srv->lock);
    return MHD_YES;
}

int http_may_block(const struct http_request *req)
{
    return req->srv->nworkers == 0 || req->deferred == 1;
}

enum MHD_Result http_continue_blocking(struct http_request *req)
{
    return http_may_block(req) ? req->route->fn(req) : http_defer(req);
}

static void http_stream_release(struct http_stream *st);
static void http_stream_produce(struct http_stream *st);

static void *http_worker(void *arg)
{
    struct http_server *srv = arg;
    struct http_request *req;
    struct http_stream *st;

    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (srv->jobs == NULL && !srv->workers_stop)
            pthread_cond_wait(&srv->job_wake, &srv->lock);
        if ((req = srv->jobs) == NULL)
            break; /* stopping, and nothing left to do */
        srv->jobs = req->job_next;
        if (srv->jobs == NULL)
            srv->jobs_tail = NULL;
        pthread_mutex_unlock(&srv->lock);
        if (http_now_ms() - req->queued_ms > HTTP_QUEUE_WAIT_MS)
            req->worker_result = http_respond_busy(
                req, "server busy: no worker thread free within %d s, try again later",
                HTTP_QUEUE_WAIT_MS / 1000);
        else
            req->worker_result = req->route->fn(req);
        st = req->stream;
        if (st != NULL && st->pooled) {
            pthread_mutex_lock(&st->lock);
            st->refs++; /* the worker's: taken before the request can end */
            pthread_mutex_unlock(&st->lock);
        } else {
            st = NULL;
        }
        req->deferred = 2;
        MHD_resume_connection(req->conn); /* req belongs to the I/O thread from here on */
        if (st != NULL) {
            http_stream_produce(st);
            http_stream_release(st);
        }
        pthread_mutex_lock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static int http_workers_stopping(struct http_server *srv)
{
    int stop;

    pthread_mutex_lock(&srv->lock);
    stop = srv->workers_stop;
    pthread_mutex_unlock(&srv->lock);
    return stop;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    struct http_conn *hc = http_conn_of(conn);
    enum MHD_Result r;
    int path_known;

    if (req == NULL) {
        struct http_limits lim = http_limits_now(srv);

        req = xcalloc(1, sizeof(*req));
        req->conn = conn;
        req->srv = srv;
        req->method = method;
        req->url = url;
        req->path = http_collapse_slashes(url);
        req->app = srv->opt.app;
        req->max_body = lim.max_body;
        req->route =
            http_route_find(srv->opt.routes, srv->opt.nroutes, method, req->path, &path_known);
        if (req->route != NULL && req->route->wants_body == HTTP_BODY_LARGE &&
            lim.max_large_body > lim.max_body && srv->opt.large_body != NULL &&
            srv->opt.large_body(req))
            req->max_body = lim.max_large_body;
        buf_init(&req->body, req->max_body);
        *con_cls = req;
        /* the headers are in: no longer evictable, the body has its own deadline */
        http_conn_enter(srv, hc, HTTP_CONN_BODY, lim.body_timeout);
        if (req->route == NULL) {
            if (path_known)
                return http_respond_text(req, MHD_HTTP_METHOD_NOT_ALLOWED,
                                         "method %s not allowed here", method);
            return http_respond_text(req, MHD_HTTP_NOT_FOUND, "not found");
        }
        if (http_refuse_early(req, version, &r)) {
            req->route = NULL; /* answered: the rest of the request is not ours to handle */
            return r;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (req->route == NULL)
            return MHD_YES; /* already answered */
        if (n > req->max_body - req->body_bytes) {
            /* a chunked body ran past the limit. libmicrohttpd (0.9.75) cannot queue a
               response in the middle of a body, so the connection is closed at once rather
               than reading the rest */
            log_warnx("%s: chunked request body for %s over the %zu-byte limit; connection "
                      "closed",
                      srv->opt.name, req->path, req->max_body);
            req->route = NULL;
            return MHD_NO;
        }
        req->body_bytes += n;
        if (req->route->wants_body && buf_add(&req->body, upload_data, n) < 0)
            return MHD_NO; /* cannot happen: the buffer holds max_body */
        return MHD_YES;
    }
    if (req->route == NULL)
        return MHD_YES; /* already answered */
    if (req->deferred == 2)
        return http_resumed(req);
    http_conn_enter(srv, hc, HTTP_CONN_HANDLED, 0);
    if (srv->nworkers == 0 || req->route->inline_ok)
        return req->route->fn(req);
    return http_defer(req);
}

/* A decoded query value, kept with the request (the URL and arguments arrive undecoded:
 * http_no_unescape). */
struct http_arg {
    struct http_arg *next;
    char *value;
};

/* Hold (1) or release (0) the partial frames of a connection's socket; 0 or -1. */
static int http_conn_cork(const struct http_conn *c, int on)
{
    if (c == NULL || c->fd < 0)
        return -1;
    return setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_request *req = *con_cls;
    struct http_conn *hc = http_conn_of(conn);

    (void)toe;
    if (req != NULL && req->corked)
        http_conn_cork(hc, 0); /* sends what is held: the end of the body */
    http_conn_enter(cls, hc, HTTP_CONN_IDLE, http_limits_now(cls).keepalive_timeout);
    if (req == NULL)
        return;
    metrics_request(req->path, req->status);
    if (req->held != NULL)
        MHD_destroy_response(req->held);
    if (req->stream != NULL)
        http_stream_release(req->stream);
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
    int port, gai, perr;
    unsigned reserve;
    pthread_condattr_t cattr;
    /*
     * One thread per connection: in this mode libmicrohttpd 0.9.75 hands sendfile() 2 MiB at a
     * time (its event-loop modes use 128 KiB steps), which is what lets content keep up with
     * nginx (docs/content.md). Connections are capped and thread stacks kept small, so memory
     * stays bounded; database work is bounded separately by the connection pool.
     */
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    unsigned i;
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
    srv->trusted_proxies = xstrdup(opt->trusted_proxies != NULL ? opt->trusted_proxies : "");
    srv->opt.trusted_proxies = srv->trusted_proxies;
    if (srv->opt.max_connections == 0)
        srv->opt.max_connections = 100;
    if (srv->opt.header_timeout == 0)
        srv->opt.header_timeout = 10;
    if (srv->opt.body_timeout == 0)
        srv->opt.body_timeout = 60;
    if (srv->opt.keepalive_timeout == 0)
        srv->opt.keepalive_timeout = 15;
    if (srv->opt.idle_timeout == 0)
        srv->opt.idle_timeout = 60;
    srv->lim.max_body = srv->opt.max_body;
    srv->lim.max_large_body = srv->opt.max_large_body;
    srv->lim.header_timeout = srv->opt.header_timeout;
    srv->lim.body_timeout = srv->opt.body_timeout;
    srv->lim.keepalive_timeout = srv->opt.keepalive_timeout;
    /* keep an eighth of the slots (at least one) for clients that send a request at once */
    reserve = srv->opt.max_connections / 8;
    if (reserve == 0 && srv->opt.max_connections > 1)
        reserve = 1;
    srv->evict_at = srv->opt.max_connections - reserve;
    pthread_mutex_init(&srv->lock, NULL);
    srv->ss = opt->stream_set;
    if (srv->ss == NULL)
        srv->ss = srv->own_set = http_stream_set_new();
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC); /* the watchdog's waits */
    pthread_cond_init(&srv->wake, &cattr);
    pthread_condattr_destroy(&cattr);
    pthread_cond_init(&srv->job_wake, NULL);
    if (opt->io_threads > 0) {
        /* epoll, a few I/O threads: no thread sleeps and wakes per request (docs/content.md);
           what may block runs on the workers */
        flags |= MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
        srv->workers = xcalloc(opt->workers ? opt->workers : 4, sizeof(*srv->workers));
        for (i = 0; i < (opt->workers ? opt->workers : 4); i++) {
            if ((perr = pthread_create(&srv->workers[i], NULL, http_worker, srv)) != 0) {
                snprintf(err, errlen, "cannot start the worker threads of %s: %s", opt->name,
                         strerror(perr));
                http_server_stop(srv);
                return NULL;
            }
            srv->nworkers++;
        }
    } else {
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    }
    if (opt->tls_cert_pem != NULL) {
        flags |= MHD_USE_TLS;
        srv->tls_cert = xstrdup(opt->tls_cert_pem);
        srv->tls_key = xstrdup(opt->tls_key_pem);
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, http_access, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, srv, MHD_OPTION_UNESCAPE_CALLBACK,
        http_no_unescape, srv, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, srv,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, srv->opt.idle_timeout,
        MHD_OPTION_CONNECTION_LIMIT, srv->opt.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        srv->opt.max_per_address, MHD_OPTION_THREAD_POOL_SIZE,
        opt->io_threads > 1 ? opt->io_threads : 0u,
        opt->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(err, errlen,
                 "cannot listen on %s (%s): the address is in use, not local, or the port "
                 "needs privileges",
                 opt->listen, opt->name);
        http_server_stop(srv);
        return NULL;
    }
    if ((perr = pthread_create(&srv->watchdog, NULL, http_watchdog, srv)) != 0) {
        snprintf(err, errlen, "cannot start the connection watchdog of %s: %s", opt->name,
                 strerror(perr));
        http_server_stop(srv);
        return NULL;
    }
    srv->watchdog_running = 1;
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    if (srv->nworkers > 0)
        log_info("%s listener on %s (port %d; %u epoll threads, %u workers)", opt->name,
                 opt->listen, srv->port, opt->io_threads, srv->nworkers);
    else
        log_info("%s listener on %s (port %d; a thread per connection)", opt->name, opt->listen,
                 srv->port);
    return srv;
}

void http_server_stop(struct http_server *srv)
{
    unsigned i;

    if (srv == NULL)
        return;
    /* the workers finish what is queued and resume every connection they suspended:
       libmicrohttpd cannot stop with a connection suspended */
    pthread_mutex_lock(&srv->lock);
    srv->workers_stop = 1;
    pthread_cond_broadcast(&srv->job_wake);
    pthread_mutex_unlock(&srv->lock);
    for (i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i], NULL);
    free(srv->workers);
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    if (srv->watchdog_running) {
        pthread_mutex_lock(&srv->lock);
        srv->stopping = 1;
        pthread_cond_signal(&srv->wake);
        pthread_mutex_unlock(&srv->lock);
        pthread_join(srv->watchdog, NULL);
    }
    pthread_mutex_destroy(&srv->lock);
    http_stream_set_free(srv->own_set);
    pthread_cond_destroy(&srv->wake);
    pthread_cond_destroy(&srv->job_wake);
    free(srv->tls_cert);
    free(srv->tls_key);
    free(srv->trusted_proxies);
    free(srv);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

int http_server_is_tls(const struct http_server *srv)
{
    return srv->tls_cert != NULL;
}

unsigned http_server_connections(struct http_server *srv)
{
    unsigned n;

    if (srv == NULL)
        return 0;
    pthread_mutex_lock(&srv->lock);
    n = srv->nconn;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

int http_is_tls(const struct http_request *req)
{
    return req->srv != NULL && req->srv->tls_cert != NULL;
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

/* Is addr one of srv's trusted proxies? */
static int http_trusted_proxy(const struct http_server *srv, const char *addr)
{
    const char *cur = srv->trusted_proxies;
    char item[80];

    while (str_list_next(&cur, item, sizeof(item)))
        if (str_addr_match(item, addr) == 1)
            return 1;
    return 0;
}

#define HTTP_XFF_MAX 8 /* X-Forwarded-For headers looked at (the last ones) */

struct http_xff {
    const char *v[HTTP_XFF_MAX];
    int n;
};

static enum MHD_Result http_xff_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    struct http_xff *x = cls;

    (void)kind;
    if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    if (x->n == HTTP_XFF_MAX) {
        memmove(x->v, x->v + 1, sizeof(x->v[0]) * (HTTP_XFF_MAX - 1));
        x->n--;
    }
    x->v[x->n++] = value;
    return MHD_YES;
}

/* out holds a trusted proxy's address: replace it with the client it forwarded for. */
static void http_forwarded_client(const struct http_request *req, char *out, size_t outlen)
{
    struct http_xff x = {{NULL}, 0};
    char item[INET6_ADDRSTRLEN + 1];

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_xff_collect, &x);
    while (x.n > 0) {
        const char *v = x.v[--x.n], *end = v + strlen(v);

        for (;;) {
            const char *start = end, *stop = end;

            while (start > v && start[-1] != ',')
                start--;
            while (start < stop && (*start == ' ' || *start == '\t'))
                start++;
            while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
                stop--;
            if (stop > start) {
                if ((size_t)(stop - start) >= sizeof(item))
                    return;
                memcpy(item, start, (size_t)(stop - start));
                item[stop - start] = '\0';
                if (str_addr_match(item, item) != 1)
                    return; /* not an address: keep the last trusted hop */
                str_copy_cut(out, outlen, item);
                if (!http_trusted_proxy(req->srv, item))
                    return;
            }
            while (start > v && start[-1] != ',')
                start--;
            if (start == v)
                break;
            end = start - 1;
        }
    }
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
    if (req->srv != NULL && req->srv->trusted_proxies[0] != '\0' &&
        http_trusted_proxy(req->srv, out))
        http_forwarded_client(req, out, outlen);
    return out;
}

void http_response_stamp(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, HTTP_SERVER_HEADER);
}

int http_can_share(const struct http_request *req)
{
    return req->deferred == 0 && req->srv != NULL && req->srv->tls_cert == NULL;
}

enum MHD_Result http_queue_shared(struct http_request *req, unsigned status,
                                  struct MHD_Response *resp)
{
    enum MHD_Result r;

    if (resp == NULL || !http_can_share(req))
        return MHD_NO;
    if (!req->corked && http_conn_cork(http_conn_of(req->conn), 1) == 0)
        req->corked = 1;
    r = MHD_queue_response(req->conn, status, resp);
    if (r == MHD_YES)
        req->status = status;
    return r;
}

enum MHD_Result http_queue(struct http_request *req, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result r;

    if (resp == NULL)
        return MHD_NO;
    http_response_stamp(resp);
    if (req->deferred == 1) {
        /* on a worker: libmicrohttpd takes it on the I/O thread when the connection resumes */
        if (req->held != NULL)
            MHD_destroy_response(req->held);
        req->held = resp;
        req->held_status = status;
        return MHD_YES;
    }
    r = MHD_queue_response(req->conn, status, resp);
    if (r == MHD_YES)
        req->status = status;
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result http_queue_stream(struct http_request *req, unsigned status,
                                  struct MHD_Response *resp)
{
    if (resp != NULL && !req->corked && http_conn_cork(http_conn_of(req->conn), 1) == 0)
        req->corked = 1;
    return http_queue(req, status, resp);
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

/* fmt and ap formatted, with a newline, into a new string (its length in *len) */
static char *text_line(size_t *len, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static char *text_line(size_t *len, const char *fmt, va_list ap)
{
    struct buf b;

    buf_init(&b, 4096);
    buf_vprintf(&b, fmt, ap);
    buf_add_str(&b, "\n");
    return buf_detach(&b, len);
}

enum MHD_Result http_respond_text(struct http_request *req, unsigned status, const char *fmt, ...)
{
    va_list ap;
    size_t len;
    char *data;

    va_start(ap, fmt);
    data = text_line(&len, fmt, ap);
    va_end(ap);
    return http_respond_take(req, status, "text/plain; charset=utf-8", data, len);
}

enum MHD_Result http_respond_busy(struct http_request *req, const char *fmt, ...)
{
    struct MHD_Response *resp;
    va_list ap;
    size_t len;
    char *data;

    va_start(ap, fmt);
    data = text_line(&len, fmt, ap);
    va_end(ap);
    resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, HTTP_RETRY_AFTER_S);
    return http_queue(req, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
}

/* The socket send buffer of a streamed answer's connection (the kernel doubles it). */
#define HTTP_STREAM_SNDBUF (128 * 1024)

/* The stream of the pool model sits this long at most between two looks at a server stop. */
#define HTTP_STREAM_TICK_MS 250

static void http_stream_release(struct http_stream *st)
{
    int last;

    pthread_mutex_lock(&st->lock);
    st->cancelled = 1; /* whoever lets go first: nobody reads any more, or nobody writes */
    pthread_cond_signal(&st->room);
    last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (!last)
        return;
    pthread_mutex_lock(&st->srv->ss->lock);
    if (st->sprev != NULL)
        st->sprev->snext = st->snext;
    else
        st->srv->ss->head = st->snext;
    if (st->snext != NULL)
        st->snext->sprev = st->sprev;
    st->srv->ss->n--;
    pthread_mutex_unlock(&st->srv->ss->lock);
    if (st->cls_free != NULL)
        st->cls_free(st->cls);
    buf_free(&st->out);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->room);
    free(st);
}

static void http_stream_free_cb(void *p)
{
    http_stream_release(p);
}

/*
 * Under st->lock, the worker waiting for room: 1 when the reader took nothing for the idle
 * bound ([server] idle_timeout); the connection is then cut (its request completes and ends
 * the stream), so a client that stops reading holds a worker and a catalog connection for
 * that long at most.
 */
static int http_stream_stalled(struct http_stream *st)
{
    struct http_server *srv = st->srv;
    int64_t idle_ms = (int64_t)srv->opt.idle_timeout * 1000;

    if (http_now_ms() - st->last_read_ms < idle_ms)
        return 0;
    log_warnx("%s: streamed answer to %s ended: the client read nothing for %u s "
              "([server] idle_timeout)",
              srv->opt.name, st->peer, srv->opt.idle_timeout);
    pthread_mutex_lock(&srv->lock);
    if (st->hc != NULL) /* the request has not completed (cancelled is 0): hc is open */
        http_conn_cut(st->hc);
    pthread_mutex_unlock(&srv->lock);
    return 1;
}

/* The worker's loop: produce ahead of the reader, at most HTTP_STREAM_AHEAD bytes. */
static void http_stream_produce(struct http_stream *st)
{
    struct buf chunk;
    struct timespec until;
    int r = 1;

    buf_init(&chunk, st->out.max);
    while (r > 0) {
        pthread_mutex_lock(&st->lock);
        while (!st->cancelled && st->out.len - st->off >= HTTP_STREAM_AHEAD) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += HTTP_STREAM_TICK_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&st->room, &st->lock, &until);
            if (http_workers_stopping(st->srv))
                break;
            if (!st->cancelled && http_stream_stalled(st)) {
                st->failed = 1;
                break;
            }
        }
        if (st->cancelled || st->failed) {
            if (st->waiting) { /* a stalled stream: let the reader see the end */
                st->waiting = 0;
                MHD_resume_connection(st->conn);
            }
            pthread_mutex_unlock(&st->lock);
            break;
        }
        pthread_mutex_unlock(&st->lock);
        buf_reset(&chunk);
        r = http_workers_stopping(st->srv) ? -1 : st->produce(st->cls, &chunk);
        pthread_mutex_lock(&st->lock);
        if (r > 0) {
            if (st->off > 0) { /* keep out from growing: drop what the reader took */
                memmove(st->out.data, st->out.data + st->off, st->out.len - st->off);
                buf_truncate(&st->out, st->out.len - st->off);
                st->off = 0;
            }
            if (chunk.len > 0 && buf_add(&st->out, chunk.data, chunk.len) < 0)
                r = -1;
        }
        if (r == 0)
            st->eof = 1;
        else if (r < 0)
            st->failed = 1;
        if (st->waiting) {
            st->waiting = 0;
            MHD_resume_connection(st->conn); /* suspended by the reader: alive until resumed */
        }
        pthread_mutex_unlock(&st->lock);
    }
    buf_free(&chunk);
}

static ssize_t http_stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct http_stream *st = cls;
    size_t n;
    int r;

    (void)pos;
    if (!st->pooled) {
        while (st->off >= st->out.len) {
            buf_reset(&st->out);
            st->off = 0;
            r = st->produce(st->cls, &st->out);
            if (r < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            if (r == 0)
                return MHD_CONTENT_READER_END_OF_STREAM;
        }
        n = st->out.len - st->off < max ? st->out.len - st->off : max;
        memcpy(out, st->out.data + st->off, n);
        st->off += n;
        return (ssize_t)n;
    }
    pthread_mutex_lock(&st->lock);
    if (st->off < st->out.len) {
        n = st->out.len - st->off < max ? st->out.len - st->off : max;
        memcpy(out, st->out.data + st->off, n);
        st->off += n;
        st->last_read_ms = http_now_ms();
        pthread_cond_signal(&st->room);
        pthread_mutex_unlock(&st->lock);
        return (ssize_t)n;
    }
    r = st->failed ? -1 : st->eof ? 0 : 1;
    if (r > 0) {
        /* nothing yet: sleep until the worker has more (it resumes us), no busy loop */
        st->waiting = 1;
        MHD_suspend_connection(st->conn);
    }
    pthread_mutex_unlock(&st->lock);
    if (r < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return r == 0 ? MHD_CONTENT_READER_END_OF_STREAM : 0;
}

/*
 * Under srv->ss->lock: may one more stream go to peer? 0, or -1 with the refusal in msg. The
 * bounds keep slow readers of streamed answers (each holds a worker or a connection thread
 * and a catalog connection until it has read everything) from starving every other call.
 */
static int http_stream_admit(struct http_server *srv, const char *peer, char *msg, size_t len)
{
    const struct http_stream *o;
    unsigned mine = 0;

    if (srv->opt.max_streams > 0 && srv->ss->n >= srv->opt.max_streams) {
        snprintf(msg, len,
                 "server busy: %u streamed answers in progress (at most %u at once), try again "
                 "later",
                 srv->ss->n, srv->opt.max_streams);
        return -1;
    }
    for (o = srv->ss->head; o != NULL; o = o->snext)
        mine += strcmp(o->peer, peer) == 0;
    if (srv->opt.max_streams_per_address > 0 && mine >= srv->opt.max_streams_per_address) {
        snprintf(msg, len,
                 "server busy: %u streamed answers to %s in progress (at most %u per address), "
                 "try again later",
                 mine, peer, srv->opt.max_streams_per_address);
        return -1;
    }
    return 0;
}

enum MHD_Result http_respond_stream(struct http_request *req, unsigned status,
                                    const char *const *headers, http_produce_fn produce, void *cls,
                                    void (*cls_free)(void *))
{
    struct http_server *srv = req->srv;
    struct http_stream *st;
    struct MHD_Response *resp;
    char peer[64], msg[256];
    int refused;

    http_peer(req, peer, sizeof(peer));
    st = xcalloc(1, sizeof(*st));
    str_copy_cut(st->peer, sizeof(st->peer), peer);
    pthread_mutex_lock(&srv->ss->lock);
    refused = http_stream_admit(srv, st->peer, msg, sizeof(msg));
    if (!refused) {
        st->snext = srv->ss->head;
        if (srv->ss->head != NULL)
            srv->ss->head->sprev = st;
        srv->ss->head = st;
        srv->ss->n++;
    }
    pthread_mutex_unlock(&srv->ss->lock);
    if (refused) {
        free(st);
        if (cls_free != NULL)
            cls_free(cls);
        log_warnx("%s: %s refused: %s", srv->opt.name, req->path, msg);
        return http_respond_busy(req, "%s", msg);
    }
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->room, NULL);
    st->produce = produce;
    st->cls = cls;
    st->cls_free = cls_free;
    st->conn = req->conn;
    st->srv = srv;
    st->hc = http_conn_of(req->conn);
    st->last_read_ms = http_now_ms();
    if (st->hc != NULL && st->hc->fd >= 0) {
        /* the stream buffer bounds what a client that stops reading costs us: keep the
           kernel from holding megabytes more for it (autotuning would), so the stream and
           its worker stay bound to the client's pace and the idle bound can end it */
        int sndbuf = HTTP_STREAM_SNDBUF;

        setsockopt(st->hc->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    }
    st->pooled = req->deferred == 1;
    buf_init(&st->out, (size_t)64 << 20);
    st->refs = 1; /* the request's */
    if (req->stream != NULL)
        http_stream_release(req->stream);
    req->stream = st;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, http_stream_reader, st,
                                             http_stream_free_cb);
    if (resp == NULL)
        return MHD_NO;
    st->refs++; /* the response's */
    while (headers != NULL && headers[0] != NULL) {
        MHD_add_response_header(resp, headers[0], headers[1]);
        headers += 2;
    }
    return http_queue(req, status, resp);
}
