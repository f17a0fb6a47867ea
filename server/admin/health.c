/*
 * health: the checks of wsusctl checkhealth (see health.h). The table below is the one list of
 * checks; each function fills one verdict, one line of detail and one line of fix. The
 * upstream checks share one probe (resolve, then authorization and GetConfigData through the
 * sync's own client), run once by the first check that needs it; a check whose step could not
 * be reached is skipped and says which earlier line failed. Slots marked "hier" report "not
 * available in this build" until the hierarchy checks of client/sync.c are wired in.
 */
#include "health.h"
#include "admin_handlers.h"
#include "catalog.h"
#include "config.h"
#include "content_report.h"
#include "content_store.h"
#include "db.h"
#include "hierarchy.h"
#include "probe.h"
#include "scheduler.h"
#include "settings.h"
#include "sync.h"
#include "sync_history.h"
#include "uss.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Each upstream probe's bound, and all SOAP calls together (the Range probe has its own). */
#define HEALTH_TIMEOUT_S     10
#define HEALTH_SOAP_BUDGET_S 20
#define HEALTH_FREE_FAIL     ((int64_t)1 << 30) /* fail under 1 GiB free */
#define HEALTH_FREE_WARN_PC  10                 /* warn under 10% free */
#define HEALTH_STALL_MIN_S   600                /* no byte moved for this long: stalled */

struct health_result {
    enum health_verdict verdict;
    char detail[1536];
    char fix[768];
};

struct health_ctx {
    struct server *s;
    PGconn *db;
    char *upstream, *proxy, *proxy_user, *storage, *account_name, *download, *schedule;
    /* the upstream probe, done once (probed) by the first upstream check */
    int probed;
    struct uss *u;
    struct uss_error err; /* uss_new or the web services call; kind USS_OK when it worked */
    int open_failed;      /* uss_new refused the settings (err says why) */
    int resolved;         /* the resolve check passed */
    struct uss_config cfg;
    int have_cfg;
    atomic_int cancel; /* set by the watchdog when the SOAP calls exceed their budget */
};

/* Sets *cancel once HEALTH_SOAP_BUDGET_S have passed, unless told to stop before. */
struct health_watchdog {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    atomic_int *cancel;
};

static void *watchdog_main(void *arg)
{
    struct health_watchdog *w = arg;
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HEALTH_SOAP_BUDGET_S;
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) {
            atomic_store(w->cancel, 1);
            break;
        }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void result(struct health_result *r, enum health_verdict v, const char *fix, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void result(struct health_result *r, enum health_verdict v, const char *fix, const char *fmt,
                   ...)
{
    va_list ap;

    r->verdict = v;
    va_start(ap, fmt);
    if (vsnprintf(r->detail, sizeof(r->detail), fmt, ap) < 0)
        r->detail[0] = '\0';
    va_end(ap);
    if (snprintf(r->fix, sizeof(r->fix), "%s", fix != NULL ? fix : "") < 0)
        r->fix[0] = '\0';
}

const char *health_verdict_name(enum health_verdict v)
{
    switch (v) {
    case HEALTH_OK:
        return "ok";
    case HEALTH_WARN:
        return "warn";
    case HEALTH_FAIL:
        return "fail";
    default:
        return "skipped";
    }
}

/* ---------- local checks ---------- */

static void check_database(struct health_ctx *c, struct health_result *r)
{
    int have = db_schema_version(c->db);
    int latest = db_migrations_count > 0 ? db_migrations[db_migrations_count - 1].version : 0;
    char m[400];

    if (have < 0)
        result(r, HEALTH_FAIL, "check that PostgreSQL runs and [database] conninfo",
               "cannot read the schema version of the catalog database (%s)",
               db_errmsg(c->db, m, sizeof(m)));
    else if (have < latest)
        result(r, HEALTH_FAIL, "run wsusctl db migrate (or restart wsusd, which migrates)",
               "the catalog database has schema %d, this wsusd expects %d", have, latest);
    else if (have > latest)
        result(r, HEALTH_FAIL, "upgrade this wsusd to the version that wrote the catalog",
               "the catalog database has schema %d, newer than this wsusd knows (%d)", have,
               latest);
    else
        result(r, HEALTH_OK, NULL, "reachable, schema %d is current", have);
}

static void check_content_dir(struct health_ctx *c, struct health_result *r)
{
    char *dir = admin_content_dir(c->s);
    char err[1200];
    struct passwd pw, *res = NULL;
    char pwbuf[1024];

    if (content_store_check(dir, err, sizeof(err)) < 0) {
        /* the message ends with "; fix: ...": split it into detail and fix */
        char *fix = strstr(err, "; fix: ");
        if (fix != NULL) {
            *fix = '\0';
            fix += strlen("; fix: ");
        }
        result(r, HEALTH_FAIL, fix, "%s", err);
    } else {
        getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res);
        result(r, HEALTH_OK, NULL,
               "%s and %s/WsusContent can be read, written and searched by user %s (uid %u), "
               "who runs wsusd and serves /Content/",
               dir, dir, res != NULL ? res->pw_name : "?", (unsigned)geteuid());
    }
    free(dir);
}

static void check_free_space(struct health_ctx *c, struct health_result *r)
{
    char *dir = admin_content_dir(c->s);
    struct statvfs v;
    char have[32], total[32];

    if (statvfs(dir, &v) < 0) {
        result(r, HEALTH_SKIPPED, NULL, "cannot look at the file system of %s (%s)", dir,
               strerror(errno));
    } else {
        int64_t avail = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
        int64_t size = (int64_t)v.f_blocks * (int64_t)v.f_frsize;
        int pc = size > 0 ? (int)(avail * 100 / size) : 100;

        snprintf(have, sizeof(have), "%.1f GiB", (double)avail / (double)((int64_t)1 << 30));
        snprintf(total, sizeof(total), "%.1f GiB", (double)size / (double)((int64_t)1 << 30));
        if (avail < HEALTH_FREE_FAIL)
            result(r, HEALTH_FAIL,
                   "free space on that file system, or move the content with wsusctl "
                   "movecontent NEWDIR",
                   "%s free of %s (%d%%) on the file system of %s: downloads fail under 1 GiB",
                   have, total, pc, dir);
        else if (pc < HEALTH_FREE_WARN_PC)
            result(r, HEALTH_WARN,
                   "free space, or move the content with wsusctl movecontent NEWDIR "
                   "(wsusctl content shows what is still to download)",
                   "%s free of %s (%d%%) on the file system of %s", have, total, pc, dir);
        else
            result(r, HEALTH_OK, NULL, "%s free of %s (%d%%) on the file system of %s", have, total,
                   pc, dir);
    }
    free(dir);
}

static void check_files_mode(struct health_ctx *c, struct health_result *r)
{
    char token[SETTINGS_MAX_PATH], msg[1024], fix[SETTINGS_MAX_PATH + 64];
    struct stat st;
    int exposed;

    pthread_mutex_lock(&c->s->cfg_lock);
    snprintf(token, sizeof(token), "%s", c->s->cfg.token_file);
    exposed = config_exposed_secret(&c->s->cfg, msg, sizeof(msg));
    pthread_mutex_unlock(&c->s->cfg_lock);
    if (stat(token, &st) == 0 && (st.st_mode & 077) != 0) {
        snprintf(fix, sizeof(fix), "chmod 600 %s", token);
        result(r, HEALTH_FAIL, fix,
               "the admin token %s can be read or written by other users (mode %04o)", token,
               (unsigned)(st.st_mode & 07777));
    } else if (exposed) {
        char *f = strstr(msg, "; run ");
        if (f != NULL) {
            *f = '\0';
            f += strlen("; run ");
        }
        result(r, HEALTH_FAIL, f, "%s", msg);
    } else {
        result(r, HEALTH_OK, NULL,
               "the admin token %s is private (0600) and the config file "
               "exposes no database password",
               token);
    }
}

/* ---------- the upstream probe ---------- */

static int is_root(const struct health_ctx *c)
{
    return c->upstream[0] == '\0';
}

static const char *code(const struct health_ctx *c)
{
    return c->err.code;
}

static int net_code(const struct health_ctx *c, const char *name)
{
    return c->err.kind == USS_ERR_NET && strcmp(c->err.code, name) == 0;
}

/* Failed before any answer through the proxy arrived (the proxy itself is the problem). */
static int proxy_unreachable(const struct health_ctx *c)
{
    return c->proxy[0] != '\0' &&
           (net_code(c, "ConnectionRefused") || net_code(c, "CouldNotConnect") ||
            net_code(c, "CouldNotResolveProxy"));
}

static int proxy_refused(const struct health_ctx *c)
{
    return c->err.http_status == 407 || strcmp(code(c), "ProxyAuth") == 0;
}

/* The upstream could not be reached (directly, or by the proxy: 502-504). */
static int reach_failed(const struct health_ctx *c)
{
    if (proxy_refused(c))
        return 0;
    if (c->proxy[0] != '\0' && c->err.kind == USS_ERR_HTTP && c->err.http_status >= 502 &&
        c->err.http_status <= 504)
        return 1;
    return net_code(c, "ConnectionRefused") || net_code(c, "CouldNotConnect") ||
           net_code(c, "CouldNotResolve") || net_code(c, "CouldNotResolveProxy") ||
           net_code(c, "Timeout");
}

static int tls_failed(const struct health_ctx *c)
{
    return net_code(c, "TLSVerify") || net_code(c, "TLS");
}

/* Open the sync's client and make the web services calls a sync starts with, once. */
static void probe(struct health_ctx *c)
{
    if (c->probed)
        return;
    c->probed = 1;
    memset(&c->err, 0, sizeof(c->err));
    c->u = sync_open_upstream(c->db, c->s->server_id, HEALTH_TIMEOUT_S, &c->cancel, &c->err);
    if (c->u == NULL) {
        c->open_failed = 1;
        return;
    }
    {
        struct health_watchdog w;
        pthread_t t;
        int started;

        memset(&w, 0, sizeof(w));
        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.cond, NULL);
        w.cancel = &c->cancel;
        started = pthread_create(&t, NULL, watchdog_main, &w) == 0;
        if (uss_authorize(c->u, &c->err) == 0 &&
            uss_get_config_data(c->u, NULL, &c->cfg, &c->err) == 0) {
            c->have_cfg = 1;
            memset(&c->err, 0, sizeof(c->err));
        }
        if (started) {
            pthread_mutex_lock(&w.lock);
            w.done = 1;
            pthread_cond_signal(&w.cond);
            pthread_mutex_unlock(&w.lock);
            pthread_join(t, NULL);
        }
        pthread_cond_destroy(&w.cond);
        pthread_mutex_destroy(&w.lock);
    }
    if (atomic_load(&c->cancel) && !c->have_cfg)
        snprintf(c->err.msg, sizeof(c->err.msg),
                 "upstream %s did not finish the authorization and GetConfigData within %d s",
                 uss_url(c->u), HEALTH_SOAP_BUDGET_S);
    atomic_store(&c->cancel, 0); /* the Range probe has its own bound */
}

static const char *upstream_url(const struct health_ctx *c)
{
    return c->u != NULL ? uss_url(c->u) : c->upstream;
}

/* Common preamble of the upstream checks: 1 when r was filled (root, or unusable settings). */
static int upstream_skip(struct health_ctx *c, struct health_result *r)
{
    if (is_root(c)) {
        result(r, HEALTH_SKIPPED, NULL, "this server is a root (no upstream)");
        return 1;
    }
    probe(c);
    if (c->open_failed) {
        result(r, HEALTH_SKIPPED, NULL,
               "not tried: the upstream settings are unusable (see "
               "the upstream name line)");
        return 1;
    }
    return 0;
}

static void check_resolve(struct health_ctx *c, struct health_result *r)
{
    char host[256], addrs[512], err[256], fix[600];

    if (is_root(c)) {
        result(r, HEALTH_SKIPPED, NULL, "this server is a root (no upstream)");
        return;
    }
    probe(c);
    if (c->open_failed) {
        result(r, HEALTH_FAIL, "correct it with wsusctl config set (wsusctl config get shows it)",
               "%s", c->err.msg);
        return;
    }
    if (c->proxy[0] != '\0') {
        if (probe_resolve(c->proxy, host, sizeof(host), addrs, sizeof(addrs), err, sizeof(err)) <
            0) {
            snprintf(fix, sizeof(fix),
                     "check the proxy name and the DNS server, or wsusctl config set proxy "
                     "http://PROXY:PORT");
            result(r, HEALTH_FAIL, fix, "cannot resolve the host name %s of the proxy %s: %s", host,
                   c->proxy, err);
            return;
        }
        c->resolved = 1;
        result(r, HEALTH_OK, NULL,
               "the proxy %s resolves the upstream's name; its own name %s resolves to %s",
               c->proxy, host, addrs);
        return;
    }
    if (probe_resolve(upstream_url(c), host, sizeof(host), addrs, sizeof(addrs), err, sizeof(err)) <
        0) {
        snprintf(fix, sizeof(fix),
                 "check the name and the DNS server (or /etc/hosts), or wsusctl config set "
                 "upstream http://NAME:8530");
        result(r, HEALTH_FAIL, fix, "cannot resolve the host name %s of upstream %s: %s", host,
               upstream_url(c), err);
        return;
    }
    c->resolved = 1;
    result(r, HEALTH_OK, NULL, "%s resolves to %s", host, addrs);
}

static void check_reach(struct health_ctx *c, struct health_result *r)
{
    if (upstream_skip(c, r))
        return;
    if (!c->resolved) {
        result(r, HEALTH_SKIPPED, NULL, "not tried: the name does not resolve (see above)");
    } else if (proxy_unreachable(c)) {
        result(r, HEALTH_FAIL,
               "check that the proxy runs and the proxy setting (wsusctl config set proxy "
               "http://PROXY:PORT)",
               "cannot connect to the proxy %s (%s)", c->proxy,
               net_code(c, "ConnectionRefused") ? "it refused the connection"
                                                : "no answer to the connection attempt");
    } else if (reach_failed(c) && c->proxy[0] != '\0') {
        result(r, HEALTH_FAIL, "check the upstream name and port, and that the proxy may reach it",
               "the proxy %s could not reach upstream %s: %s", c->proxy, upstream_url(c),
               c->err.msg);
    } else if (reach_failed(c)) {
        result(r, HEALTH_FAIL,
               "check that wsusd (or WSUS) runs on the upstream, the port (8530 http, 8531 "
               "https) and the firewall; or wsusctl config set upstream http://NAME:PORT",
               "%s", c->err.msg);
    } else if (c->proxy[0] != '\0') {
        result(r, HEALTH_OK, NULL, "upstream %s reached through the proxy %s", upstream_url(c),
               c->proxy);
    } else {
        result(r, HEALTH_OK, NULL, "upstream %s reached directly (no proxy)", upstream_url(c));
    }
}

static void check_proxy(struct health_ctx *c, struct health_result *r)
{
    if (upstream_skip(c, r))
        return;
    if (c->proxy[0] == '\0') {
        result(r, HEALTH_SKIPPED, NULL, "no proxy is configured");
    } else if (proxy_refused(c)) {
        result(r, HEALTH_FAIL,
               "set the password with wsusctl config set proxy-password - (reads standard "
               "input); check proxy-user, proxy-domain and proxy-auth",
               "the proxy %s refused the credentials of proxy-user \"%s\" (HTTP 407)", c->proxy,
               c->proxy_user);
    } else if (!c->resolved || proxy_unreachable(c) || reach_failed(c)) {
        result(r, HEALTH_SKIPPED, NULL,
               "not tried: the proxy or the upstream is not reachable "
               "(see above)");
    } else if (c->proxy_user[0] != '\0') {
        result(r, HEALTH_OK, NULL, "the proxy %s accepted the credentials of proxy-user \"%s\"",
               c->proxy, c->proxy_user);
    } else {
        result(r, HEALTH_OK, NULL, "the proxy %s forwards without credentials", c->proxy);
    }
}

static void check_tls(struct health_ctx *c, struct health_result *r)
{
    if (upstream_skip(c, r))
        return;
    if (strncasecmp(upstream_url(c), "https://", 8) != 0) {
        result(r, HEALTH_SKIPPED, NULL, "upstream %s uses plain HTTP", upstream_url(c));
    } else if (tls_failed(c)) {
        result(r, HEALTH_FAIL,
               "add the issuing CA with wsusctl config set ca-file /path/to/ca.pem (added to "
               "the system store), or set the upstream to a name its certificate holds",
               "%s", c->err.msg);
    } else if (!c->resolved || proxy_unreachable(c) || reach_failed(c) || proxy_refused(c)) {
        result(r, HEALTH_SKIPPED, NULL, "not tried: the upstream is not reachable (see above)");
    } else {
        result(r, HEALTH_OK, NULL, "the certificate of %s verifies (system store and ca-file)",
               upstream_url(c));
    }
}

static void check_web_services(struct health_ctx *c, struct health_result *r)
{
    if (upstream_skip(c, r))
        return;
    if (c->have_cfg) {
        result(r, HEALTH_OK, NULL,
               "%s answered GetAuthConfig, GetAuthorizationCookie, GetCookie and GetConfigData "
               "(protocol %s)",
               upstream_url(c), c->cfg.protocol_version[0] ? c->cfg.protocol_version : "?");
    } else if (!c->resolved || proxy_unreachable(c) || reach_failed(c) || proxy_refused(c) ||
               tls_failed(c)) {
        result(r, HEALTH_SKIPPED, NULL, "not tried: the upstream is not reachable (see above)");
    } else {
        result(r, HEALTH_FAIL,
               "check that the upstream URL points at a WSUS server (wsusd, WSUS or "
               "microsoft-update) and that it is not overloaded",
               "%s", c->err.msg);
    }
}

static void check_storage(struct health_ctx *c, struct health_result *r)
{
    char msg[1024], fix[200];

    if (upstream_skip(c, r))
        return;
    if (!c->have_cfg) {
        result(r, HEALTH_SKIPPED, NULL, "not tried: the upstream did not answer GetConfigData");
        return;
    }
    if (sync_storage_differs(c->account_name, c->storage, c->upstream, upstream_url(c),
                             c->cfg.catalog_only_sync, msg, sizeof(msg))) {
        /* the rule's message carries its fix after "every server of a hierarchy ..." */
        char *cut = strstr(msg, "; every server");

        snprintf(fix, sizeof(fix), "wsusctl config set storage %s here, or change the upstream",
                 c->cfg.catalog_only_sync ? "microsoft-update" : "local");
        if (cut != NULL)
            *cut = '\0';
        result(r, HEALTH_FAIL, fix, "%s", msg);
        return;
    }
    if (strcasecmp(c->upstream, "microsoft-update") == 0 ||
        strcasecmp(upstream_url(c), USS_MICROSOFT_UPDATE_URL) == 0)
        result(r, HEALTH_OK, NULL,
               "the upstream is Microsoft Update, which suits either option (this server has "
               "storage=%s)",
               c->storage);
    else
        result(r, HEALTH_OK, NULL, "this server has storage=%s and its upstream CatalogOnlySync=%s",
               c->storage, c->cfg.catalog_only_sync ? "true" : "false");
}

/* The content path fails: name the content URL in use, where it comes from and the setting. */
static void content_url_fail(struct health_ctx *c, struct health_result *r, const char *msg)
{
    char *set = settings_get(c->db, "upstream-content-url");

    if (set != NULL && set[0] != '\0')
        result(r, HEALTH_FAIL,
               "correct it with wsusctl config set upstream-content-url http://HOST:PORT (empty "
               "= derived from the upstream URL)",
               "the upstream's content URL %s (upstream-content-url) does not answer: %s",
               uss_content_url(c->u), msg);
    else
        result(r, HEALTH_FAIL,
               "if the upstream serves /Content/ elsewhere, set it with wsusctl config set "
               "upstream-content-url http://HOST:PORT",
               "the upstream's content URL %s (derived from upstream %s; WSUS serves content over "
               "plain HTTP, on port N-1 of an https://HOST:N upstream) does not answer: %s",
               uss_content_url(c->u), upstream_url(c), msg);
    free(set);
}

static void check_range(struct health_ctx *c, struct health_result *r)
{
    unsigned char sha1[20];
    char name[256], msg[1200], hex[41];
    int64_t size = 0;
    int have;

    if (upstream_skip(c, r))
        return;
    if (strcmp(c->storage, "microsoft-update") == 0 || (c->have_cfg && c->cfg.catalog_only_sync)) {
        result(r, HEALTH_SKIPPED, NULL,
               "update files come from Microsoft Update, not from the upstream");
        return;
    }
    if (!c->have_cfg) {
        result(r, HEALTH_SKIPPED, NULL, "not tried: the upstream is not usable (see above)");
        return;
    }
    have = catalog_file_sample(c->db, sha1, name, sizeof(name), &size);
    if (have <= 0) {
        result(r, HEALTH_SKIPPED, NULL,
               "the catalog lists no file to ask for yet (synchronize "
               "first)");
        return;
    }
    content_store_hex(sha1, 20, hex);
    switch (probe_range(c->u, sha1, name, size, msg, sizeof(msg))) {
    case PROBE_RANGE_OK:
        result(r, HEALTH_OK, NULL, "%s", msg);
        break;
    case PROBE_RANGE_IGNORED:
        result(r, HEALTH_FAIL,
               "allow HTTP Range through the proxy or firewall (turn off \"block HTTP range\"); "
               "range-fallback auto then resumes downloads again",
               "upstream %s%s does not honour HTTP Range: for file %s (%s) %s", upstream_url(c),
               c->proxy[0] ? " or the proxy on the way" : " or a device on the way", name, hex,
               msg);
        break;
    case PROBE_RANGE_MISSING:
        result(r, HEALTH_WARN,
               "approve an update with files on the upstream (or set its download policy to "
               "all), then run checkhealth again",
               "cannot test Range: %s (file %s, %s)", msg, name, hex);
        break;
    case PROBE_RANGE_WRONG:
        result(r, HEALTH_FAIL, "find the proxy or cache that rewrites Range answers and bypass it",
               "%s (file %s)", msg, name);
        break;
    default:
        content_url_fail(c, r, msg);
        break;
    }
}

static long setting_num(PGconn *db, const char *key, long def)
{
    char *v = settings_get(db, key);
    char *end = NULL;
    long n = v != NULL ? strtol(v, &end, 10) : def;

    if (v == NULL || end == v || *end != '\0' || n <= 0)
        n = def;
    free(v);
    return n;
}

/* Files in state queued (content_report_states()); 0 when none or unreadable. */
static long queued_files(PGconn *db)
{
    PGresult *r = content_report_states(db);
    long n = 0;
    int i;

    for (i = 0; r != NULL && i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), "queued") == 0)
            n = strtol(PQgetvalue(r, i, 1), NULL, 10);
    PQclear(r);
    return n;
}

static void check_downloader(struct health_ctx *c, struct health_result *r)
{
    struct sync_history_row h;
    int running, held;
    long queued, stall = 3 * setting_num(c->db, "upstream-stall-timeout", 60);
    time_t now = time(NULL), since;

    if (stall < HEALTH_STALL_MIN_S)
        stall = HEALTH_STALL_MIN_S;
    if (strcmp(c->storage, "microsoft-update") == 0) {
        result(r, HEALTH_SKIPPED, NULL,
               "storage=microsoft-update: clients fetch files from "
               "Microsoft Update");
        return;
    }
    running = sync_history_running(c->db, &h);
    held = sync_history_lock_held(c->db, SYNC_LOCK_KEY);
    if (running < 0 || held < 0) {
        result(r, HEALTH_FAIL, "check that PostgreSQL runs",
               "cannot read the synchronization history");
    } else if (running == 1 && !held) {
        result(r, HEALTH_FAIL,
               "restart wsusd (systemctl restart wsusd) or run wsusctl sync now: the next "
               "synchronization closes that row and resumes the partial files",
               "synchronization %ld is marked running (phase %s) but no wsusd holds the sync "
               "lock: the process that ran it%s%s%s is gone",
               h.id, h.phase[0] ? h.phase : "starting", h.front_end[0] ? " (front-end " : "",
               h.front_end, h.front_end[0] ? ")" : "");
    } else if (running == 1 && strcmp(h.phase, "content") == 0 &&
               now - (since = h.progress_at > 0 ? h.progress_at : h.started_at) > stall) {
        result(r, HEALTH_FAIL,
               "wsusctl sync cancel, then wsusctl sync now; if it stalls again, check the path "
               "to the upstream's content (the Range and proxy lines)",
               "synchronization %ld has moved no byte for %ld min in its content phase (%ld "
               "files, %lld bytes so far)",
               h.id, (long)(now - since) / 60, h.files, (long long)h.bytes);
    } else if (running == 1) {
        result(r, HEALTH_OK, NULL, "synchronization %ld runs (phase %s, %ld files, %lld bytes)%s%s",
               h.id, h.phase, h.files, (long long)h.bytes, h.front_end[0] ? " on " : "",
               h.front_end);
    } else if ((queued = queued_files(c->db)) > 0) {
        result(r, HEALTH_WARN,
               "wsusctl sync now (its content phase fetches queued files whatever the download "
               "policy); files that stay queued are not on the upstream: see wsusctl sync history",
               "no synchronization runs and %ld files wait in state queued (asked for by a "
               "downstream server, or not on the upstream at the last synchronization)",
               queued);
    } else if (strcmp(c->download, "none") == 0) {
        result(r, HEALTH_WARN,
               "wsusctl config set download approved (files of approved updates) or all",
               "download policy none: no update file is ever downloaded");
    } else {
        result(r, HEALTH_OK, NULL,
               "no synchronization runs now; each one downloads the files of policy %s",
               c->download);
    }
}

static void check_last_sync(struct health_ctx *c, struct health_result *r)
{
    struct sync_history_row h;
    int found;
    time_t now = time(NULL), n1, n2;
    char when[40];
    struct tm tm;

    if (is_root(c)) {
        result(r, HEALTH_SKIPPED, NULL, "this server is a root (no upstream)");
        return;
    }
    found = sync_history_last_finished(c->db, &h);
    if (found < 0) {
        result(r, HEALTH_FAIL, "check that PostgreSQL runs",
               "cannot read the synchronization history");
        return;
    }
    if (found == 0) {
        result(r, HEALTH_WARN, "wsusctl sync now", "this server has never synchronized");
        return;
    }
    gmtime_r(&h.finished_at, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    if (strcmp(h.result, "succeeded") != 0) {
        result(r, HEALTH_WARN,
               "fix what the lines above report, then wsusctl sync now (wsusctl sync history "
               "shows every run)",
               "the last synchronization (%ld, %s) %s: %s", h.id, when, h.result,
               h.error[0] ? h.error : "no reason recorded");
        return;
    }
    n1 = scheduler_next(c->schedule, now, 0);
    n2 = n1 > 0 ? scheduler_next(c->schedule, n1, 0) : 0;
    if (n1 > 0 && n2 > n1 && now - h.finished_at > 2 * (n2 - n1)) {
        result(r, HEALTH_WARN,
               "wsusctl sync now; check that wsusd runs and wsusctl sync status for the next "
               "scheduled time",
               "the last synchronization (%ld) succeeded at %s, more than twice the schedule "
               "interval (%s) ago",
               h.id, when, c->schedule);
        return;
    }
    result(r, HEALTH_OK, NULL, "the last synchronization (%ld) succeeded at %s (%ld min ago)", h.id,
           when, (long)(now - h.finished_at) / 60);
}

/* ---------- the hierarchy checks (common/hierarchy.h), as the sync runs them ---------- */

/* A verdict of common/hierarchy.h as a health result. */
static void from_hier(const struct hier_result *h, struct health_result *r)
{
    if (h->verdict == HIER_PASS)
        result(r, HEALTH_OK, NULL, "%s", h->line);
    else if (h->verdict == HIER_FAIL)
        result(r, HEALTH_FAIL, h->fix, "%s", h->line);
    else
        result(r, HEALTH_SKIPPED, NULL, "%s", h->line);
}

/* Skip (with the reason) unless the upstream answered GetConfigData. */
static int config_skip(struct health_ctx *c, struct health_result *r)
{
    if (upstream_skip(c, r))
        return 1;
    if (!c->have_cfg) {
        result(r, HEALTH_SKIPPED, NULL, "not tried: the upstream did not answer GetConfigData");
        return 1;
    }
    return 0;
}

static void check_languages(struct health_ctx *c, struct health_result *r)
{
    struct hier_result h;
    char *ours, *theirs;

    if (config_skip(c, r))
        return;
    if ((ours = settings_get(c->db, "languages")) == NULL) {
        result(r, HEALTH_FAIL, "check that PostgreSQL runs", "cannot read the languages setting");
        return;
    }
    theirs = sync_languages_json(&c->cfg);
    hier_check_languages(upstream_url(c), ours, theirs, &h);
    free(ours);
    free(theirs);
    from_hier(&h, r);
}

static void check_offered(struct health_ctx *c, struct health_result *r)
{
    struct hier_result h;
    char *products, *classifications;

    if (config_skip(c, r))
        return;
    products = settings_get(c->db, "products");
    classifications = settings_get(c->db, "classifications");
    if (products == NULL || classifications == NULL)
        result(r, HEALTH_FAIL, "check that PostgreSQL runs",
               "cannot read the products and classifications settings");
    else {
        hier_check_offered(c->db, upstream_url(c), c->cfg.subscription, products, classifications,
                           &h);
        from_hier(&h, r);
    }
    free(products);
    free(classifications);
}

static void check_loop(struct health_ctx *c, struct health_result *r)
{
    struct hier_chain up;
    struct hier_result h;
    int have;

    if (config_skip(c, r))
        return;
    have = hier_chain_parse(c->cfg.hierarchy, &up) == 0;
    hier_check_loop(c->s->server_id, c->account_name, upstream_url(c), have ? &up : NULL, &h);
    from_hier(&h, r);
}

/* The "red X" list (wsusctl updates list --failed): gone upstream fails, the rest warns. */
static void check_failed_updates(struct health_ctx *c, struct health_result *r)
{
    json_t *all = catalog_failed_updates(c->db, NULL, 100000);
    size_t i, gone = 0, n;

    if (all == NULL) {
        result(r, HEALTH_FAIL, "check that PostgreSQL runs", "cannot read the failed files");
        return;
    }
    n = json_array_size(all);
    for (i = 0; i < n; i++) {
        const char *why = json_string_value(json_object_get(json_array_get(all, i), "why"));
        gone += why != NULL && strcmp(why, CATALOG_WHY_GONE) == 0;
    }
    if (gone > 0)
        result(
            r, HEALTH_FAIL,
            "wsusctl updates list --failed names them: decline them here (wsusctl decline ID), "
            "or add their product upstream and synchronize both servers",
            "%zu update(s) have files the upstream no longer has (%zu with missing files in all)",
            gone, n);
    else if (n > 0)
        result(r, HEALTH_WARN, "wsusctl updates list --failed shows each with its remedy",
               "%zu update(s) have files that failed or are not on the upstream yet", n);
    else
        result(r, HEALTH_OK, NULL, "no update has a missing file");
    json_decref(all);
}

/* Approvals kept for updates only of languages no longer enabled here or carried upstream. */
static void check_inactive_approvals(struct health_ctx *c, struct health_result *r)
{
    char *carried, *up;
    json_t *list;

    hier_inactive_scope(c->db, &carried, &up);
    list = catalog_inactive_approvals(c->db, carried, up);
    free(carried);
    free(up);
    if (list == NULL)
        result(r, HEALTH_FAIL, "check that PostgreSQL runs", "cannot list the inactive approvals");
    else if (json_array_size(list) > 0)
        result(r, HEALTH_WARN,
               "wsusctl listinactiveapprovals lists them; wsusctl removeinactiveapprovals "
               "removes them",
               "%zu approval(s) are of updates only for languages no longer enabled here or "
               "carried by the upstream",
               json_array_size(list));
    else
        result(r, HEALTH_OK, NULL, "no approval is of an update only for another language");
    json_decref(list);
}

/* The figure to compare with the upstream's (the protocol has no call that reads it there). */
static void check_approval_count(struct health_ctx *c, struct health_result *r)
{
    char *mode = settings_get(c->db, "mode");
    int replica = mode != NULL && strcmp(mode, "replica") == 0;
    long n = catalog_count_active_approvals(c->db, replica);

    free(mode);
    if (n < 0)
        result(r, HEALTH_FAIL, "check that PostgreSQL runs", "cannot count the approvals");
    else if (replica)
        result(r, HEALTH_OK, NULL,
               "%ld active approval(s) here; wsusctl approvals count on the upstream must print "
               "the same (a difference after a language change: the inactive approvals line)",
               n);
    else
        result(r, HEALTH_OK, NULL, "%ld active approval(s)", n);
}

/* ---------- the table ---------- */

struct health_check {
    const char *id;
    const char *title;
    void (*run)(struct health_ctx *c, struct health_result *r);
};

static const struct health_check health_checks[] = {
    {"database", "database", check_database},
    {"content-dir", "content directory", check_content_dir},
    {"free-space", "free space", check_free_space},
    {"file-modes", "token and config file", check_files_mode},
    {"upstream-name", "upstream name", check_resolve},
    {"upstream-reach", "upstream connection", check_reach},
    {"proxy-credentials", "proxy credentials", check_proxy},
    {"tls", "TLS", check_tls},
    {"web-services", "upstream web services", check_web_services},
    {"storage", "storage option", check_storage},
    {"languages", "languages offered upstream", check_languages},
    {"products", "products and classifications offered upstream", check_offered},
    {"loop", "hierarchy loop", check_loop},
    {"range", "HTTP Range to the upstream's content", check_range},
    {"downloader", "downloader", check_downloader},
    {"last-sync", "last synchronization", check_last_sync},
    {"failed-updates", "updates failed or missing upstream", check_failed_updates},
    {"inactive-approvals", "inactive approvals", check_inactive_approvals},
    {"approval-counts", "approval count", check_approval_count},
};

#define N_CHECKS (sizeof(health_checks) / sizeof(health_checks[0]))

size_t health_count(void)
{
    return N_CHECKS;
}

const char *health_id(size_t i)
{
    return i < N_CHECKS ? health_checks[i].id : NULL;
}

/* s as a JSON string; a text quoting bytes that are not UTF-8 (a path, a peer's words) is
 * replaced by a note rather than lost. */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);

    return j != NULL ? j : json_string("(not shown: the text is not valid UTF-8)");
}

/* A setting's value (malloc'd), or def when it cannot be read. */
static char *setting_or(PGconn *db, const char *key, const char *def)
{
    char *v = settings_get(db, key);

    return v != NULL ? v : xstrdup(def);
}

json_t *health_run(struct server *s, PGconn *db)
{
    struct health_ctx c;
    json_t *list = json_array();
    json_int_t counts[4] = {0, 0, 0, 0};
    size_t i;

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.db = db;
    c.upstream = setting_or(db, "upstream", "");
    c.proxy = setting_or(db, "proxy", "");
    c.proxy_user = setting_or(db, "proxy-user", "");
    c.storage = setting_or(db, "storage", "local");
    c.account_name = setting_or(db, "account-name", "this server");
    c.download = setting_or(db, "download", "approved");
    c.schedule = setting_or(db, "schedule", "manual");
    for (i = 0; i < N_CHECKS; i++) {
        struct health_result r;
        json_t *j;

        memset(&r, 0, sizeof(r));
        health_checks[i].run(&c, &r);
        counts[r.verdict]++;
        j = json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", health_checks[i].id, "title",
                      health_checks[i].title, "verdict", health_verdict_name(r.verdict), "detail",
                      text(r.detail), "fix", text(r.fix));
        json_array_append_new(list, j);
    }
    if (c.have_cfg)
        uss_config_free(&c.cfg);
    uss_free(c.u);
    free(c.upstream);
    free(c.proxy);
    free(c.proxy_user);
    free(c.storage);
    free(c.account_name);
    free(c.download);
    free(c.schedule);
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:b}", "checks", list, "ok", counts[HEALTH_OK],
                     "warn", counts[HEALTH_WARN], "fail", counts[HEALTH_FAIL], "skipped",
                     counts[HEALTH_SKIPPED], "healthy", counts[HEALTH_FAIL] == 0);
}
