/*
 * wsusd: the daemon. Reads the config, opens the catalog (applying migrations), binds the
 * listeners, drops privileges, then waits for signals in the main thread: SIGHUP reloads the
 * config (a bad file keeps the old one), SIGTERM/SIGINT drain and exit. Serving and syncing
 * happen in other threads; this file only wires them together.
 */
#include "admin.h"
#include "console.h"
#include "content.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "dbpool.h"
#include "fragment_store.h"
#include "http.h"
#include "log.h"
#include "pgcluster.h"
#include "scheduler.h"
#include "server.h"
#include "wusp_dispatch.h"
#include "xmalloc.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <getopt.h>
#include <pthread.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: wsusd [-c FILE] [-d] [-n] [-v] [-p] [--help] [--version]\n"
            "\n"
            "WSUS-compatible update server: serves the WSUS server-to-server protocol and\n"
            "content, and synchronizes from its own upstream.\n"
            "\n"
            "  -c, --config FILE  configuration file (default %s; a missing default\n"
            "                     file means built-in defaults)\n"
            "  -d, --foreground   stay in the foreground, log to stderr\n"
            "  -n, --check        check the configuration file and exit (\"configuration OK\")\n"
            "  -v, --verbose      debug logging\n"
            "  -p, --print-sample print a sample configuration file with every option and exit\n"
            "  -h, --help         this text\n"
            "  -V, --version      version\n"
            "\n"
            "Signals: SIGHUP reloads the configuration file, SIGTERM stops.\n",
            CONFIG_DEFAULT_PATH);
}

static int load_identity(struct server *s, PGconn *db)
{
    char *id = db_setting_get(db, "server_id", NULL);
    char *key = db_setting_get(db, "cookie_key", NULL);
    int rc = -1, i;

    if (id == NULL || key == NULL || strlen(id) != 36 || strlen(key) != 64)
        goto out;
    snprintf(s->server_id, sizeof(s->server_id), "%s", id);
    for (i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(key + 2 * i, "%2x", &v) != 1)
            goto out;
        s->cookie_key[i] = (unsigned char)v;
    }
    rc = 0;
out:
    free(id);
    free(key);
    return rc;
}

static int open_catalog(struct server *s)
{
    char err[1024], conninfo[1200];
    PGconn *db;
    int applied;

    if (s->cfg.conninfo[0] == '\0') {
        if (pgcluster_ensure(s->cfg.state_dir, conninfo, sizeof(conninfo), err, sizeof(err)) < 0) {
            log_warnx("%s", err);
            return -1;
        }
        s->conninfo = xstrdup(conninfo);
    } else {
        s->conninfo = xstrdup(s->cfg.conninfo);
    }
    db = db_connect(s->conninfo, "wsusd", err, sizeof(err));
    if (db == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    if (db_migrate(db, &applied, err, sizeof(err)) < 0) {
        log_warnx("cannot bring the catalog schema up to date: %s", err);
        db_close(db);
        return -1;
    }
    if (db_ensure_identity(db) < 0 || load_identity(s, db) < 0 ||
        db_catalog_created(db, &s->catalog_created) < 0) {
        log_warnx("cannot load this server's identity from the catalog");
        db_close(db);
        return -1;
    }
    db_close(db);
    s->pool = dbpool_new(s->conninfo, (size_t)s->cfg.threads + 4, err, sizeof(err));
    if (s->pool == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    if (s->cfg.conninfo[0] == '\0')
        dbpool_set_revive_hook(s->pool, pgcluster_revive, s->cfg.state_dir);
    log_info("catalog ready (schema version %d, server id %s)",
             db_migrations[db_migrations_count - 1].version, s->server_id);
    return 0;
}

/*
 * The client fragments of revisions stored before wsusd derived them (a catalog from before
 * schema 005, or imported by an older wsusctl): derived once, in the background on a connection
 * of its own, so the listeners are up at once. Windows clients see those revisions once their
 * fragments are in; nothing else waits. Safe beside a sync (fragment_store_add skips what another
 * session derived).
 */
static void *fragments_backfill(void *arg)
{
    const char *conninfo = arg;
    struct fragment_store_stats st = {0, 0, 0};
    char err[512];
    PGconn *db = db_connect(conninfo, "wsusd fragments", err, sizeof(err));

    if (db == NULL) {
        log_warnx("cannot derive the client fragments of older revisions: %s", err);
        return NULL;
    }
    if (fragment_store_missing(db, &st, err, sizeof(err)) < 0)
        log_warnx("cannot derive the client fragments of older revisions: %s; they are tried again "
                  "at the next start",
                  err);
    else if (st.derived > 0 || st.failed > 0)
        log_info("client fragments derived for %ld revisions stored before wsusd derived them (%ld "
                 "not derivable, each logged)",
                 st.derived, st.failed);
    db_close(db);
    return NULL;
}

static void start_fragments_backfill(const char *conninfo)
{
    pthread_t t;

    if (pthread_create(&t, NULL, fragments_backfill, (void *)conninfo) != 0) {
        log_warnx("cannot start deriving the client fragments of older revisions");
        return;
    }
    pthread_detach(t);
}

/* Whole PEM file as a string (malloc'd), or NULL (logged). Read before privileges drop.
   section and key name the setting in messages ("server", "tls_cert"). */
static char *read_pem(const char *path, const char *section, const char *key)
{
    FILE *f = fopen(path, "r");
    struct buf b;
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        log_warn("cannot read [%s] %s %s", section, key, path);
        return NULL;
    }
    buf_init(&b, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_add(&b, chunk, n) < 0) {
            log_warnx("[%s] %s %s is larger than 1 MB; is it really a PEM file?", section, key,
                      path);
            fclose(f);
            buf_free(&b);
            return NULL;
        }
    }
    fclose(f);
    return buf_detach(&b, NULL);
}

static void set_timeouts(struct http_server_options *o, const struct config *cfg)
{
    o->header_timeout = (unsigned)cfg->header_timeout;
    o->body_timeout = (unsigned)cfg->body_timeout;
    o->keepalive_timeout = (unsigned)cfg->keepalive_timeout;
    o->idle_timeout = (unsigned)cfg->idle_timeout;
}

/* Start the listener of o over HTTPS with the PEM files of [section] tls_cert and tls_key;
   NULL when they cannot be read or do not match (logged with the fix). */
static struct http_server *start_tls_listener(struct http_server_options *o, const char *section,
                                              const char *cert_path, const char *key_path)
{
    char *cert = read_pem(cert_path, section, "tls_cert");
    char *key = read_pem(key_path, section, "tls_key");
    struct http_server *srv = NULL;
    char err[512];

    if (cert != NULL && key != NULL) {
        o->tls_cert_pem = cert;
        o->tls_key_pem = key;
        srv = http_server_start(o, err, sizeof(err));
        o->tls_cert_pem = o->tls_key_pem = NULL;
        if (srv == NULL)
            log_warnx("%s (check that [%s] tls_cert and tls_key are a matching PEM pair)", err,
                      section);
    }
    if (key != NULL)
        OPENSSL_cleanse(key, strlen(key));
    free(cert);
    free(key);
    return srv;
}

static int start_listeners(struct server *s)
{
    struct http_server_options o;
    char err[512];

    memset(&o, 0, sizeof(o));
    o.listen = s->cfg.listen;
    o.routes = server_protocol_routes(&o.nroutes);
    o.max_body = (size_t)s->cfg.max_request_bytes;
    o.max_large_body = (size_t)s->cfg.max_rollup_request_bytes;
    o.large_body = wusp_reporting_large_body;
    o.max_connections = (unsigned)s->cfg.max_connections;
    o.max_per_address = (unsigned)s->cfg.max_connections_per_address;
    if (strcmp(s->cfg.threading, "pool") == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);

        /* an epoll I/O thread per core; the workers run what may wait for the database:
           as many as the catalog connections it may use (dbpool_new: threads + 4) */
        o.io_threads = cores < 1 ? 1 : cores > 16 ? 16 : (unsigned)cores;
        o.workers = (unsigned)s->cfg.threads + 4;
    }
    /* a streamed answer holds a worker (or a connection thread) and a catalog connection
       until its client has read it: at most half of them, two per client address
       (docs/content.md, threading) */
    o.max_streams = ((unsigned)s->cfg.threads + 4) / 2;
    o.max_streams_per_address = 2;
    /* the HTTPS listener shares the catalog pool, so it shares the bounds too */
    if (s->streams == NULL)
        s->streams = http_stream_set_new();
    o.stream_set = s->streams;
    o.trusted_proxies = s->cfg.trusted_proxies;
    set_timeouts(&o, &s->cfg);
    o.app = s;
    o.name = "protocol";
    if (s->cfg.trusted_proxies[0] != '\0' && o.max_per_address > 0)
        log_warnx("[server] max_connections_per_address = %u counts every connection from a "
                  "trusted proxy (%s) as one client\n"
                  "raise it to the balancer's maxconn for this server (or 0) and limit clients "
                  "in the balancer",
                  o.max_per_address, s->cfg.trusted_proxies);
    s->proto = http_server_start(&o, err, sizeof(err));
    if (s->proto == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    if (s->cfg.https_listen[0] != '\0') {
        o.listen = s->cfg.https_listen;
        o.name = "protocol (https)";
        s->proto_tls = start_tls_listener(&o, "server", s->cfg.tls_cert, s->cfg.tls_key);
        if (s->proto_tls == NULL)
            return -1;
    }
    memset(&o, 0, sizeof(o));
    o.listen = s->cfg.admin_listen;
    o.routes = server_admin_routes(&o.nroutes);
    o.max_body = 1 << 20;
    o.max_connections = 32;
    /* no per-address limit: wsusctl and any local user share 127.0.0.1; slots held by idle or
       slow connections are taken back by eviction and the timeouts instead */
    set_timeouts(&o, &s->cfg);
    o.admit = admin_admit;
    o.app = s;
    if (s->cfg.admin_tls_cert[0] != '\0') {
        o.name = "admin (https)";
        s->admin = start_tls_listener(&o, "admin", s->cfg.admin_tls_cert, s->cfg.admin_tls_key);
        return s->admin == NULL ? -1 : 0;
    }
    o.name = "admin";
    s->admin = http_server_start(&o, err, sizeof(err));
    if (s->admin == NULL) {
        log_warnx("%s", err);
        return -1;
    }
    return 0;
}

static int drop_privileges(const char *user)
{
    struct passwd *pw;

    if (user[0] == '\0' || geteuid() != 0)
        return 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        log_warnx("[server] user \"%s\" does not exist; create it (adduser --system %s) or "
                  "leave user empty",
                  user, user);
        return -1;
    }
    if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
        log_warn("cannot switch to user %s", user);
        return -1;
    }
    log_info("running as user %s", user);
    return 0;
}

static enum log_level level_of(const char *name)
{
    if (strcmp(name, "debug") == 0)
        return LOG_LEVEL_DEBUG;
    if (strcmp(name, "warn") == 0)
        return LOG_LEVEL_WARN;
    if (strcmp(name, "error") == 0)
        return LOG_LEVEL_ERROR;
    return LOG_LEVEL_INFO;
}

/* The options SIGHUP applies while serving; every other change waits for a restart. */
static const char *const live_options[] = {
    "log level",
    "server public_url",
    "server max_request_bytes",
    "server max_rollup_request_bytes",
    "server header_timeout",
    "server body_timeout",
    "server keepalive_timeout",
};

struct reload {
    char applied[512], restart[1024]; /* "[section] key, ..." */
};

static void reload_note(const char *section, const char *key, void *arg)
{
    struct reload *r = arg;
    char name[96], *list;
    size_t i, used, cap;
    int live = 0;

    snprintf(name, sizeof(name), "%s %s", section, key);
    for (i = 0; i < sizeof(live_options) / sizeof(live_options[0]); i++)
        live |= strcmp(live_options[i], name) == 0;
    list = live ? r->applied : r->restart;
    cap = live ? sizeof(r->applied) : sizeof(r->restart);
    used = strlen(list);
    if (snprintf(list + used, cap - used, "%s[%s] %s", used > 0 ? ", " : "", section, key) >=
        (int)(cap - used))
        list[used] = '\0'; /* too many to list: the log line stays whole */
}

/* SIGHUP: parse and validate the file, apply what can change while serving, and say which
 * changed values need a restart. A file with a mistake changes nothing. */
static void reload_config(struct server *s)
{
    struct config fresh;
    struct reload r = {"", ""};
    struct http_limits lim;
    char err[1024];
    char *old;

    config_defaults(&fresh);
    if (config_load(&fresh, s->cfg.path, 1, err, sizeof(err)) < 0) {
        log_warnx("reload refused, keeping the running configuration: %s", err);
        config_free(&fresh);
        return;
    }
    config_each_changed(&s->cfg, &fresh, reload_note, &r);
    pthread_mutex_lock(&s->cfg_lock);
    log_set_level(level_of(fresh.log_level));
    old = s->cfg.log_level;
    s->cfg.log_level = fresh.log_level;
    fresh.log_level = old;
    old = s->cfg.public_url;
    s->cfg.public_url = fresh.public_url;
    fresh.public_url = old;
    s->cfg.max_request_bytes = fresh.max_request_bytes;
    s->cfg.max_rollup_request_bytes = fresh.max_rollup_request_bytes;
    s->cfg.header_timeout = fresh.header_timeout;
    s->cfg.body_timeout = fresh.body_timeout;
    s->cfg.keepalive_timeout = fresh.keepalive_timeout;
    pthread_mutex_unlock(&s->cfg_lock);
    memset(&lim, 0, sizeof(lim));
    lim.header_timeout = (unsigned)fresh.header_timeout;
    lim.body_timeout = (unsigned)fresh.body_timeout;
    lim.keepalive_timeout = (unsigned)fresh.keepalive_timeout;
    http_server_set_limits(s->admin, &lim); /* the admin API keeps its own body limit */
    lim.max_body = (size_t)fresh.max_request_bytes;
    lim.max_large_body = (size_t)fresh.max_rollup_request_bytes;
    http_server_set_limits(s->proto, &lim);
    if (s->proto_tls != NULL)
        http_server_set_limits(s->proto_tls, &lim);
    if (config_exposed_secret(&fresh, err, sizeof(err)))
        log_warnx("%s", err);
    config_free(&fresh);
    if (r.restart[0] != '\0')
        log_warnx("reload: changed, but taking effect only after a restart: %s", r.restart);
    log_info("configuration reloaded%s%s", r.applied[0] != '\0' ? "; applied: " : "", r.applied);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'd'},
        {"check", no_argument, NULL, 'n'},        {"verbose", no_argument, NULL, 'v'},
        {"print-sample", no_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    const char *conf = CONFIG_DEFAULT_PATH;
    int conf_given = 0, foreground = 0, check_only = 0, verbose = 0, ch, rc = 1;
    struct server s;
    char err[1024];
    sigset_t sigs;

    /* SOAP answers and the sync's answer buffers (up to a few MB each) come and go all the
     * time; glibc's dynamic mmap threshold moves such blocks into the heaps after the first
     * free, where they stay as peak RSS. A fixed threshold keeps every block of 256 KiB or more
     * in a mapping of its own, returned when freed (docs/performance.md, "Memory"). */
    (void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    while ((ch = getopt_long(argc, argv, "c:dnvphV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            conf = optarg;
            conf_given = 1;
            break;
        case 'd':
            foreground = 1;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'p':
            config_print_sample(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("wsusd %s\n", WSUSD_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.cfg_lock, NULL);
    config_defaults(&s.cfg);
    if (config_load(&s.cfg, conf, !conf_given, err, sizeof(err)) < 0) {
        fprintf(stderr, "wsusd: %s\n", err);
        config_free(&s.cfg);
        return 1;
    }
    if (check_only) {
        if (config_exposed_secret(&s.cfg, err, sizeof(err)))
            fprintf(stderr, "wsusd: warning: %s\n", err);
        printf("configuration OK\n");
        config_free(&s.cfg);
        return 0;
    }
    log_init("wsusd", foreground, verbose ? LOG_LEVEL_DEBUG : level_of(s.cfg.log_level));
    if (config_exposed_secret(&s.cfg, err, sizeof(err)))
        log_warnx("%s", err);
    if (!foreground && daemon(0, 0) < 0)
        fatal("cannot detach from the terminal");

    /* libmicrohttpd and worker threads inherit this mask; only this thread takes signals */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (mkdir(s.cfg.state_dir, 0755) < 0 && errno != EEXIST) {
        log_warn("cannot create state_dir %s", s.cfg.state_dir);
        goto out;
    }
    s.console = console_sessions_new();
    if (open_catalog(&s) < 0 || admin_token_init(&s) < 0 || start_listeners(&s) < 0 ||
        drop_privileges(s.cfg.user) < 0)
        goto out;
    /* as the service user, so the permission check is the one that matters */
    if (content_init(&s, err, sizeof(err)) < 0) {
        log_warnx("%s", err);
        goto out;
    }
    config_front_end_name(&s.cfg, s.front_end, sizeof(s.front_end));
    s.sched = scheduler_start(s.conninfo, s.cfg.content_dir, s.server_id, s.front_end);
    if (s.sched == NULL)
        goto out;
    start_fragments_backfill(s.conninfo);
    log_info("wsusd %s ready (front-end %s)", WSUSD_VERSION, s.front_end);

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&sigs, &si);

        if (sig < 0) {
            if (errno == EINTR)
                continue;
            log_warn("sigwaitinfo");
            break;
        }
        if (sig == SIGHUP) {
            reload_config(&s);
            continue;
        }
        log_info("signal %d: stopping", sig);
        break;
    }
    rc = 0;
out:
    scheduler_stop(s.sched);
    http_server_stop(s.admin);
    http_server_stop(s.proto_tls);
    http_server_stop(s.proto);
    http_stream_set_free(s.streams);
    content_free(&s);
    dbpool_free(s.pool);
    free(s.conninfo);
    free(s.admin_token);
    free(s.metrics_token);
    console_sessions_free(s.console);
    config_free(&s.cfg);
    if (rc != 0)
        log_warnx("wsusd did not start; the line above says why");
    return rc;
}
