/*
 * config: INI parsing with inih into struct config through one option table. Validation of
 * values (ports, numbers, levels) happens here so `wsusd -n` can say exactly what is wrong.
 */
#include "config.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { OPT_STR, OPT_LONG };

struct config_option {
    const char *section;
    const char *key;
    enum opt_type type;
    size_t offset;
    const char *def;
    long min, max;
    const char *doc;
};

#define STR(sec, key, field, def, doc)                                                             \
    {                                                                                              \
        sec, key, OPT_STR, offsetof(struct config, field), def, 0, 0, doc                          \
    }
#define NUM(sec, key, field, def, lo, hi, doc)                                                     \
    {                                                                                              \
        sec, key, OPT_LONG, offsetof(struct config, field), def, lo, hi, doc                       \
    }

static const struct config_option config_options[] = {
    STR("server", "listen", listen, "0.0.0.0:8530", "protocol + content listener (HTTP)"),
    STR("server", "https_listen", https_listen, "", "optional HTTPS listener, e.g. 0.0.0.0:8531"),
    STR("server", "tls_cert", tls_cert, "", "PEM certificate chain for https_listen"),
    STR("server", "tls_key", tls_key, "", "PEM private key for https_listen"),
    STR("server", "user", user, "", "run as this user after binding (empty = do not switch)"),
    STR("server", "public_url", public_url, "",
        "URL downstream servers use to reach this server (empty = from listen)"),
    NUM("server", "max_request_bytes", max_request_bytes, "4194304", 4096, 268435456,
        "largest SOAP request body accepted"),
    NUM("server", "threads", threads, "8", 1, 256,
        "requests that may query the catalog at once (database connections)"),
    NUM("server", "max_connections", max_connections, "1000", 1, 100000,
        "open HTTP connections at most (one thread each)"),
    NUM("server", "max_connections_per_address", max_connections_per_address, "64", 0, 100000,
        "open protocol connections from one client address at most (0 = no limit)"),
    NUM("server", "header_timeout", header_timeout, "10", 1, 3600,
        "seconds from connect to complete request headers (both listeners)"),
    NUM("server", "body_timeout", body_timeout, "60", 1, 86400,
        "seconds from the request headers to the complete request body"),
    NUM("server", "keepalive_timeout", keepalive_timeout, "15", 1, 3600,
        "seconds an idle keep-alive connection waits for its next request"),
    NUM("server", "idle_timeout", idle_timeout, "60", 1, 86400,
        "seconds without a byte either way before a connection is closed"),
    STR("admin", "listen", admin_listen, "127.0.0.1:8532", "JSON admin API used by wsusctl"),
    STR("admin", "token_file", token_file, "",
        "admin API token, mode 0600 (empty = <state_dir>/admin.token)"),
    STR("database", "conninfo", conninfo, "",
        "libpq connection string; empty = private cluster under state_dir"),
    STR("storage", "state_dir", state_dir, "/var/lib/wsusd", "state directory"),
    STR("storage", "content_dir", content_dir, "",
        "content store root (empty = <state_dir>/content)"),
    STR("log", "level", log_level, "info", "error | warn | info | debug"),
};

#define N_OPTIONS (sizeof(config_options) / sizeof(config_options[0]))

static int config_set(struct config *cfg, const struct config_option *o, const char *value,
                      char *err, size_t errlen)
{
    char *p = (char *)cfg + o->offset;

    if (o->type == OPT_STR) {
        char **sp = (char **)(void *)p;
        free(*sp);
        *sp = xstrdup(value);
        return 0;
    } else {
        char *end;
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < o->min || v > o->max) {
            snprintf(err, errlen, "[%s] %s = \"%s\": expected a whole number from %ld to %ld",
                     o->section, o->key, value, o->min, o->max);
            return -1;
        }
        *(long *)(void *)p = v;
        return 0;
    }
}

void config_defaults(struct config *cfg)
{
    size_t i;
    char err[64];

    memset(cfg, 0, sizeof(*cfg));
    for (i = 0; i < N_OPTIONS; i++)
        if (config_set(cfg, &config_options[i], config_options[i].def, err, sizeof(err)) < 0)
            fatalx("bad built-in default for %s", config_options[i].key);
}

void config_free(struct config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < N_OPTIONS; i++) {
        if (config_options[i].type == OPT_STR) {
            char **sp = (char **)(void *)((char *)cfg + config_options[i].offset);
            free(*sp);
            *sp = NULL;
        }
    }
    free(cfg->path);
    cfg->path = NULL;
}

struct load_ctx {
    struct config *cfg;
    char *err;
    size_t errlen;
    int failed;
};

static int config_ini_handler(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx *ctx = user;
    size_t i;

    for (i = 0; i < N_OPTIONS; i++) {
        if (strcmp(config_options[i].section, section) == 0 &&
            strcmp(config_options[i].key, key) == 0) {
            if (config_set(ctx->cfg, &config_options[i], value, ctx->err, ctx->errlen) < 0) {
                ctx->failed = 1;
                return 0;
            }
            return 1;
        }
    }
    snprintf(ctx->err, ctx->errlen, "unknown option [%s] %s (see deploy/wsusd.conf.sample)",
             section, key);
    ctx->failed = 1;
    return 0;
}

int config_split_hostport(const char *hp, char **host, int *port, char *err, size_t errlen)
{
    const char *colon;
    char *end;
    long p;

    *host = NULL;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, errlen, "\"%s\": expected [address]:port", hp);
            return -1;
        }
        colon = close + 1;
        *host = xstrndup(hp + 1, (size_t)(close - hp - 1));
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL || colon == hp) {
            snprintf(err, errlen, "\"%s\": expected host:port, e.g. 0.0.0.0:8530", hp);
            return -1;
        }
        *host = xstrndup(hp, (size_t)(colon - hp));
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535) {
        snprintf(err, errlen, "\"%s\": port must be a number from 0 to 65535", hp);
        free(*host);
        *host = NULL;
        return -1;
    }
    *port = (int)p;
    return 0;
}

int config_load(struct config *cfg, const char *path, int missing_ok, char *err, size_t errlen)
{
    struct load_ctx ctx = {cfg, err, errlen, 0};
    char msg[512] = "";
    FILE *f;
    int line;
    char *host = NULL;
    int port;

    free(cfg->path);
    cfg->path = xstrdup(path);
    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT && missing_ok)
            goto derive;
        snprintf(err, errlen, "cannot read configuration file %s: %s", path, strerror(errno));
        return -1;
    }
    ctx.err = msg;
    ctx.errlen = sizeof(msg);
    line = ini_parse_file(f, config_ini_handler, &ctx);
    fclose(f);
    if (line != 0) {
        if (ctx.failed)
            snprintf(err, errlen, "%s:%d: %s", path, line, msg);
        else
            snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path,
                     line);
        return -1;
    }
derive:
    if (cfg->token_file[0] == '\0') {
        free(cfg->token_file);
        cfg->token_file = xasprintf("%s/admin.token", cfg->state_dir);
    }
    if (cfg->content_dir[0] == '\0') {
        free(cfg->content_dir);
        cfg->content_dir = xasprintf("%s/content", cfg->state_dir);
    }
    if (config_split_hostport(cfg->listen, &host, &port, msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s: [server] listen %s", path, msg);
        return -1;
    }
    free(host);
    if (config_split_hostport(cfg->admin_listen, &host, &port, msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "%s: [admin] listen %s", path, msg);
        return -1;
    }
    free(host);
    if (cfg->https_listen[0] != '\0') {
        if (config_split_hostport(cfg->https_listen, &host, &port, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s: [server] https_listen %s", path, msg);
            return -1;
        }
        free(host);
        if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0') {
            snprintf(err, errlen,
                     "%s: [server] https_listen is set but tls_cert or tls_key is empty; "
                     "set both to PEM files",
                     path);
            return -1;
        }
    }
    if (strcmp(cfg->log_level, "error") != 0 && strcmp(cfg->log_level, "warn") != 0 &&
        strcmp(cfg->log_level, "info") != 0 && strcmp(cfg->log_level, "debug") != 0) {
        snprintf(err, errlen, "%s: [log] level \"%s\": expected error, warn, info or debug", path,
                 cfg->log_level);
        return -1;
    }
    if (cfg->state_dir[0] != '/' || cfg->content_dir[0] != '/') {
        snprintf(err, errlen, "%s: [storage] state_dir and content_dir must be absolute paths",
                 path);
        return -1;
    }
    return 0;
}

void config_print_sample(void *stream)
{
    FILE *out = stream;
    const char *section = "";
    size_t i;

    fprintf(out, "; wsusd configuration (bootstrap settings only; admin settings live in the\n"
                 "; database and are changed with `wsusctl config set`).\n");
    for (i = 0; i < N_OPTIONS; i++) {
        const struct config_option *o = &config_options[i];
        if (strcmp(section, o->section) != 0) {
            section = o->section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "; %s\n%s = %s\n", o->doc, o->key, o->def);
    }
}
