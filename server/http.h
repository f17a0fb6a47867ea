/*
 * http: libmicrohttpd glue shared by the protocol listener (SOAP + content) and the admin API.
 * It owns connections, request bodies (bounded), routing and per-request memory; handlers
 * only build responses. Everything a handler allocates for a request hangs off the request
 * (req->ctx + req->ctx_free) and is freed in exactly one place, the completion callback.
 * It also guards connections against hostile peers: a per-address limit, deadlines for the
 * request headers, the body and idle keep-alive (counted from when each phase began, so a
 * byte every few seconds does not keep a connection), eviction of the connection that has
 * waited longest for a request when slots run short, and bodies refused from their headers.
 * It does not know SOAP, JSON or files.
 */
#ifndef WSUS_HTTP_H
#define WSUS_HTTP_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct http_server;

struct http_request {
    struct MHD_Connection *conn;
    struct http_server *srv;
    const char *method; /* "GET", "HEAD", "POST", ... */
    const char *url;    /* raw path as sent (not %-decoded), without the query */
    char *path;         /* url with repeated slashes collapsed */
    struct buf body;    /* request body, at most the server's max_body bytes */
    size_t body_bytes;  /* body bytes received so far (kept or not) */
    size_t max_body;    /* the limit in force when the request began */
    const struct http_route *route;
    void *app;                /* the server's application context */
    void *ctx;                /* handler state for this request */
    void (*ctx_free)(void *); /* frees ctx; called once when the request completes */
    struct http_arg *args;    /* http_query's decoded values, freed when the request completes */
    unsigned status;          /* the status queued (http_queue), 0 until then; for metrics */
    int corked;               /* http_queue_stream held the socket's frames back */
    /* http.c's, for the pool threading model: */
    int deferred; /* 0 = handled on the I/O thread, 1 = on a worker now, 2 = worker done */
    struct MHD_Response *held; /* queued by the worker, handed to libmicrohttpd on resume */
    unsigned held_status;
    enum MHD_Result worker_result;
    struct http_request *job_next; /* the worker queue */
    int64_t queued_ms;             /* when it entered the queue (CLOCK_MONOTONIC ms) */
    struct http_stream *stream;    /* http_respond_stream's, released when the request ends */
};

/* A handler queues exactly one response (http_respond_* or MHD_queue_response) and returns
 * its result. */
typedef enum MHD_Result (*http_handler)(struct http_request *req);

/* wants_body of a route whose requests may carry up to max_large_body bytes when the
 * options' large_body says so (the others of the route: max_body) */
#define HTTP_BODY_LARGE 2

struct http_route {
    const char *method; /* exact method, or NULL for any */
    const char *path;   /* case-insensitive; a trailing '*' matches any rest */
    int wants_body;     /* read the body before calling fn (1, or HTTP_BODY_LARGE) */
    http_handler fn;
    /* Under the pool threading model (io_threads > 0): fn never blocks (no database, no
       waits), so it runs on the I/O thread; 0 = it runs on a worker thread. */
    int inline_ok;
};

/*
 * The one matching rule of every route table (the listeners' and the admin API's): the first
 * route of routes[0..n) whose method is method (NULL: any; a GET route also serves HEAD) and
 * whose path equals path case-insensitively (a trailing '*' matches any rest), or NULL;
 * *path_known is set to 1 when some route has the path but not the method (405), else 0.
 */
const struct http_route *http_route_find(const struct http_route *routes, size_t n,
                                         const char *method, const char *path, int *path_known);

struct http_server_options {
    const char *listen;              /* host:port; port 0 picks a free port */
    const struct http_route *routes; /* matched in order */
    size_t nroutes;
    size_t max_body;       /* bytes; larger bodies get 413 */
    size_t max_large_body; /* bytes, for the requests of HTTP_BODY_LARGE routes that
                              large_body admits; 0 or below max_body = max_body */
    /* Called with the headers of a request to an HTTP_BODY_LARGE route: 1 when its body may
       have max_large_body bytes, 0 for max_body. NULL = max_body for every request. */
    int (*large_body)(struct http_request *req);
    unsigned max_connections;   /* open connections at most (each has its own thread) */
    unsigned max_per_address;   /* open connections from one address at most; 0 = no limit */
    unsigned header_timeout;    /* s from accept to complete request headers; 0 = 10 */
    unsigned body_timeout;      /* s from the headers to the complete body; 0 = 60 */
    unsigned keepalive_timeout; /* s an idle keep-alive connection waits for the next request
                                   (complete headers); 0 = 15 */
    unsigned idle_timeout;      /* s without a byte in either direction; 0 = 60 */
    /* Called once the headers of a request are in, before its body is read: 0 to go on, or
       1 after queueing a refusal (http_respond_*), its result in *result; the body is then
       never read and the connection is closed. NULL = every request goes on. */
    int (*admit)(struct http_request *req, enum MHD_Result *result);
    void *app;                /* handed to handlers as req->app */
    const char *tls_cert_pem; /* PEM text (not a path) to serve HTTPS; NULL = HTTP */
    const char *tls_key_pem;
    const char *name; /* for log lines: "protocol", "admin" */
    /* Addresses and networks (str_addr_match entries, comma or space separated) of load
       balancers whose X-Forwarded-For http_peer believes; copied; NULL or "" = none. */
    const char *trusted_proxies;
    /* Threading model. 0: one thread per connection (every handler runs on it). > 0: this many
       epoll I/O threads serve all connections; the routes that are not inline_ok run on
       `workers` worker threads while their connection is suspended, and http_respond_stream
       bodies are produced by the worker into a bounded buffer the I/O thread drains. */
    unsigned io_threads;
    unsigned workers; /* 0 = 4; used when io_threads > 0 */
    /* Streamed answers (http_respond_stream) in progress at most, in all and to one client
       address (http_peer); 0 = no bound. Beyond them a stream is refused at once with a 503
       and Retry-After (http_respond_busy) rather than holding a worker the others wait for. */
    unsigned max_streams;
    unsigned max_streams_per_address;
    /* Where those streams are counted: listeners that share one catalog pool (HTTP and HTTPS)
       share one set (http_stream_set_new), so the bounds hold for them together; NULL = this
       listener's own. */
    struct http_stream_set *stream_set;
};

/* A count of streamed answers shared by several listeners (see stream_set above). Free it
   after every listener using it has stopped. */
struct http_stream_set *http_stream_set_new(void);
void http_stream_set_free(struct http_stream_set *ss);

/* Bind and start serving. NULL with a one-line message (address, reason) in err on failure. */
struct http_server *http_server_start(const struct http_server_options *opt, char *err,
                                      size_t errlen);
/* Stop accepting, finish in-flight requests, free. NULL is fine. */
void http_server_stop(struct http_server *srv);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* 1 when srv speaks HTTPS (started with tls_cert_pem), else 0. */
int http_server_is_tls(const struct http_server *srv);
/* Connections open now (for /metrics). NULL srv: 0. Thread-safe. */
unsigned http_server_connections(struct http_server *srv);

/* The limits that can change while serving (SIGHUP). */
struct http_limits {
    size_t max_body;            /* as http_server_options */
    size_t max_large_body;      /* as http_server_options; 0 keeps the current value */
    unsigned header_timeout;    /* s; 0 keeps the current value */
    unsigned body_timeout;      /* s; 0 keeps the current value */
    unsigned keepalive_timeout; /* s; 0 keeps the current value */
};
/* Apply new limits (max_body 0 keeps the current one). Requests and connection phases that
 * begin after the call use them; those under way keep theirs. Thread-safe; NULL srv is fine. */
void http_server_set_limits(struct http_server *srv, const struct http_limits *lim);

/* Did req come in over HTTPS (a server started with tls_cert_pem)? 1 or 0. */
int http_is_tls(const struct http_request *req);
/* Request header value, or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* Query argument value, %-decoded ("+" and %20 are spaces; see str_url_decode), or NULL. The
 * string lives as long as the request. */
const char *http_query(struct http_request *req, const char *name);
/*
 * The client's address as text into out (returned; "?" when unknown): the connection's peer,
 * or, when that is one of the server's trusted_proxies, the rightmost address of the
 * X-Forwarded-For headers (all of them, in order) that is not itself a trusted proxy. A
 * forwarded item that is not an address ends the walk at the last trusted hop.
 */
const char *http_peer(const struct http_request *req, char *out, size_t outlen);

/* Respond with a copy of data. content_type may be NULL. */
enum MHD_Result http_respond(struct http_request *req, unsigned status, const char *content_type,
                             const void *data, size_t len);
/* Respond taking ownership of data (freed with free()). */
enum MHD_Result http_respond_take(struct http_request *req, unsigned status,
                                  const char *content_type, void *data, size_t len);
/* Respond with a short text/plain message (one line + newline). */
enum MHD_Result http_respond_text(struct http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Respond 503 with Retry-After (a few seconds) and a short text/plain message (one line +
 * newline): the server is busy, the request may be sent again as it is. */
enum MHD_Result http_respond_busy(struct http_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Queue a prepared response (adds the Server header) and drop our reference to it. */
enum MHD_Result http_queue(struct http_request *req, unsigned status, struct MHD_Response *resp);
/*
 * http_queue for a response whose body libmicrohttpd sends with calls of its own after the
 * headers (a file: MHD_create_response_from_fd*, or a content reader callback). libmicrohttpd
 * 0.9.75 pushes the headers of such a response in a packet of their own, so the client gets
 * and wakes up for them apart from the body. This holds the socket's partial frames back
 * (TCP_CORK) until the request completes, so headers and body leave together in full
 * segments (what nginx's tcp_nopush does); the kernel sends anything held after 200 ms at the
 * latest. Use http_queue for a response without a body (HEAD, 304, empty).
 */
enum MHD_Result http_queue_stream(struct http_request *req, unsigned status,
                                  struct MHD_Response *resp);

/*
 * For a response built once and queued to many requests (content.c's kept whole-file answers):
 * 1 when req may take one now (http_queue_shared), 0 when not: on a worker of the pool model
 * (the response would be held past the caller's reference) or on an HTTPS listener (where a
 * file body is read into the response's one shared buffer, not sent with sendfile).
 */
int http_can_share(const struct http_request *req);
/* Add the headers http_queue adds to every response (Server) to resp, once, when it is built
 * for http_queue_shared. */
void http_response_stamp(struct MHD_Response *resp);
/*
 * Queue resp (stamped with http_response_stamp) without taking the caller's reference:
 * libmicrohttpd holds its own until the body is sent, so the caller may queue it to other
 * requests at the same time and destroy it whenever it likes. Frames corked as with
 * http_queue_stream. Only where http_can_share(req).
 */
enum MHD_Result http_queue_shared(struct http_request *req, unsigned status,
                                  struct MHD_Response *resp);

/* May this handler wait (for the database, a lock held long)? 1 under the per-connection model
 * or on a worker, 0 on an I/O thread of the pool model (an inline_ok route). */
int http_may_block(const struct http_request *req);
/* For an inline_ok handler that finds it must wait after all (a cache miss): hands req to a
 * worker, which calls the route's fn again from the start (nothing must be queued yet);
 * returns as a handler does. Where the handler may block already it calls fn at once. */
enum MHD_Result http_continue_blocking(struct http_request *req);

/*
 * A response body made by produce, which may block (it reads a database cursor): each call
 * appends the next piece to out and returns 1, or returns 0 at the end, -1 on an error (the
 * connection is then aborted). Under the pool threading model a worker calls it ahead of the
 * client, at most HTTP_STREAM_AHEAD bytes ahead; else the connection's thread calls it as the
 * client reads. cls_free(cls) is called once, when neither needs cls any longer. headers:
 * name, value pairs ending with NULL, or NULL. Queues the response (status) like http_queue.
 * Over the server's max_streams or max_streams_per_address it frees cls at once and answers
 * 503 with Retry-After instead. A pooled stream whose client reads nothing for idle_timeout s
 * while the worker waits for room is ended (the connection is cut).
 */
typedef int (*http_produce_fn)(void *cls, struct buf *out);
#define HTTP_STREAM_AHEAD (256u * 1024)
enum MHD_Result http_respond_stream(struct http_request *req, unsigned status,
                                    const char *const *headers, http_produce_fn produce, void *cls,
                                    void (*cls_free)(void *));

#endif
