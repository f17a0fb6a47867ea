/*
 * server: the state of one running wsusd, handed to every HTTP handler as req->app.
 * main.c fills it at start; after that only the fields marked "mutable" change, under lock.
 */
#ifndef WSUS_SERVER_H
#define WSUS_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "config.h"
#include "dbpool.h"
#include "http.h"

struct console_sessions;
struct content_store;
struct content_cache;
struct scheduler;

struct server {
    struct config cfg; /* bootstrap config (swapped on SIGHUP, under cfg_lock) */
    pthread_mutex_t cfg_lock;
    char *conninfo;                      /* resolved database connection string */
    struct dbpool *pool;                 /* connections for request handlers */
    char server_id[37];                  /* this server's GUID (setting server_id), lower case */
    char front_end[128];                 /* this wsusd among several on one database */
    time_t catalog_created;              /* db_catalog_created: GetAuthConfig's LastChange */
    unsigned char cookie_key[32];        /* AES-256-GCM key for cookies (setting cookie_key) */
    char *admin_token;                   /* bearer token of the admin API */
    char *metrics_token;                 /* bearer token for GET /metrics only; NULL = none */
    struct console_sessions *console;    /* web console sessions (console.c) */
    struct http_server *proto;           /* protocol + content listener */
    struct http_server *proto_tls;       /* optional HTTPS listener */
    struct http_server *admin;           /* admin API listener */
    struct http_stream_set *streams;     /* streamed answers of proto and proto_tls, counted once */
    struct content_store *content_store; /* WsusContent tree (content_init in content.c) */
    struct content_cache *content_cache; /* digests recently found in the catalog */
    struct scheduler *sched;             /* sync scheduler thread (scheduler.c) */
};

/* Routes of the protocol listener (SOAP services + content), see routes.c. */
const struct http_route *server_protocol_routes(size_t *n);
/* Routes of the admin API listener, see admin.c. */
const struct http_route *server_admin_routes(size_t *n);

#endif
