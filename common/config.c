/*
 * config: INI parsing with inih into struct config through one option table. Validation of
 * values (ports, numbers, levels) happens here so `wsusd -n` can say exactly what is wrong.
 */
#include "config.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* OPT_LISTEN: host:port (empty only where the default is empty); OPT_CHOICE: one of the
 * words of choices ("a|b|c"); OPT_PATH: an absolute path (empty only where the default is);
 * OPT_NETS: addresses and networks (a.b.c.d/n, v6/n) separated by commas or spaces. */
enum opt_type { OPT_STR, OPT_LONG, OPT_LISTEN, OPT_CHOICE, OPT_PATH, OPT_NETS };

struct config_option {
    const char *section;
    const char *key;
    enum opt_type type;
    size_t offset;
    const char *def;
    long min, max;
    const char *doc;
    const char *choices; /* OPT_CHOICE: "a|b|c" */
};

#define OPT(type, sec, key, field, def, doc, choices)                                              \
    {                                                                                              \
        sec, key, type, offsetof(struct config, field), def, 0, 0, doc, choices                    \
    }
#define STR(sec, key, field, def, doc)    OPT(OPT_STR, sec, key, field, def, doc, NULL)
#define LISTEN(sec, key, field, def, doc) OPT(OPT_LISTEN, sec, key, field, def, doc, NULL)
#define PATH(sec, key, field, def, doc)   OPT(OPT_PATH, sec, key, field, def, doc, NULL)
#define NETS(sec, key, field, def, doc)   OPT(OPT_NETS, sec, key, field, def, doc, NULL)
#define CHOICE(sec, key, field, def, choices)                                                      \
    OPT(OPT_CHOICE, sec, key, field, def, choices, choices)
#define NUM(sec, key, field, def, lo, hi, doc)                                                     \
    {                                                                                              \
        sec, key, OPT_LONG, offsetof(struct config, field), def, lo, hi, doc, NULL                 \
    }

static const struct config_option config_options[] = {
    LISTEN("server", "listen", listen, "0.0.0.0:8530", "protocol + content listener (HTTP)"),
    LISTEN("server", "https_listen", https_listen, "",
           "optional HTTPS listener, e.g. 0.0.0.0:8531"),
    STR("server", "tls_cert", tls_cert, "", "PEM certificate chain for https_listen"),
    STR("server", "tls_key", tls_key, "", "PEM private key for https_listen"),
    STR("server", "user", user, "", "run as this user after binding (empty = do not switch)"),
    STR("server", "public_url", public_url, "",
        "URL downstream servers use to reach this server (empty = from listen)"),
    STR("server", "name", name, "",
        "this front-end's name among several wsusd on one database, shown to admins "
        "(empty = <host name>:<port of listen>)"),
    NETS("server", "trusted_proxies", trusted_proxies, "",
         "load balancers (addresses, a.b.c.d/n) whose X-Forwarded-For names the client "
         "(empty = none)"),
    NUM("server", "max_request_bytes", max_request_bytes, "4194304", 4096, 268435456,
        "largest SOAP request body accepted"),
    NUM("server", "max_rollup_request_bytes", max_rollup_request_bytes, "33554432", 4096, 268435456,
        "largest reporting rollup request (RollupComputerStatus and the other rollup calls of a "
        "downstream server) accepted; the other requests keep max_request_bytes"),
    NUM("server", "threads", threads, "8", 1, 256,
        "requests that may query the catalog at once (database connections)"),
    NUM("server", "max_connections", max_connections, "1000", 1, 100000,
        "open HTTP connections at most"),
    CHOICE("server", "threading", threading, "pool", "pool|per-connection"),
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
    LISTEN("admin", "listen", admin_listen, "127.0.0.1:8532",
           "JSON admin API and web console (another address than loopback needs tls_cert)"),
    STR("admin", "tls_cert", admin_tls_cert, "",
        "PEM certificate chain: serve the admin API over HTTPS (empty = plain HTTP, loopback "
        "only)"),
    STR("admin", "tls_key", admin_tls_key, "", "PEM private key for [admin] tls_cert"),
    STR("admin", "token_file", token_file, "",
        "admin API token, mode 0600, 64 hex digits (empty = <state_dir>/admin.token)"),
    PATH("admin", "console_dir", console_dir, "",
         "the web console's files (empty = the directory wsusd was installed with)"),
    STR("admin", "metrics_token_file", metrics_token_file, "",
        "token file that may only read /metrics, mode 0600, 64 hex digits (empty = none)"),
    STR("database", "conninfo", conninfo, "",
        "libpq connection string; empty = private cluster under state_dir"),
    PATH("storage", "state_dir", state_dir, "/var/lib/wsusd", "state directory"),
    PATH("storage", "content_dir", content_dir, "",
         "content store root (empty = <state_dir>/content)"),
    CHOICE("log", "level", log_level, "info", "error|warn|info|debug"),
};

#define N_OPTIONS (sizeof(config_options) / sizeof(config_options[0]))

/* Is value one of the words of choices ("a|b|c")? */
static int config_is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);
    const char *p = choices;

    while (n > 0 && (p = strstr(p, value)) != NULL) {
        if ((p == choices || p[-1] == '|') && (p[n] == '\0' || p[n] == '|'))
            return 1;
        p += n;
    }
    return 0;
}

/* "a|b|c" as "a, b or c". */
static void config_choices_text(const char *choices, char *out, size_t outlen)
{
    const char *last = strrchr(choices, '|');
    size_t used = 0;
    const char *p;

    for (p = choices; *p != '\0' && used + 4 < outlen; p++) {
        if (*p != '|') {
            out[used++] = *p;
        } else if (p == last) {
            memcpy(out + used, " or ", 4);
            used += 4;
        } else {
            memcpy(out + used, ", ", 2);
            used += 2;
        }
    }
    out[used] = '\0';
}

/* The checks of the typed string options; 0, or -1 with the message in err. */
static int config_check(const struct config_option *o, const char *value, char *err, size_t errlen)
{
    char msg[256], *host = NULL;
    int port;

    if (value[0] == '\0' && o->def[0] == '\0')
        return 0;
    switch (o->type) {
    case OPT_LISTEN:
        if (config_split_hostport(value, &host, &port, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "[%s] %s %s", o->section, o->key, msg);
            return -1;
        }
        free(host);
        return 0;
    case OPT_CHOICE:
        if (!config_is_choice(o->choices, value)) {
            config_choices_text(o->choices, msg, sizeof(msg));
            snprintf(err, errlen, "[%s] %s \"%s\": expected %s", o->section, o->key, value, msg);
            return -1;
        }
        return 0;
    case OPT_NETS: {
        const char *cur = value;
        char item[80];

        while (str_list_next(&cur, item, sizeof(item)))
            if (str_addr_match(item, NULL) < 0) {
                snprintf(err, errlen,
                         "[%s] %s: \"%s\" is not an address or a network; write addresses or "
                         "networks like 10.1.0.0/16, separated by commas",
                         o->section, o->key, item);
                return -1;
            }
        return 0;
    }
    case OPT_PATH:
        if (value[0] != '/') {
            snprintf(err, errlen, "[%s] %s \"%s\": must be an absolute path", o->section, o->key,
                     value);
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

static int config_set(struct config *cfg, const struct config_option *o, const char *value,
                      char *err, size_t errlen)
{
    char *p = (char *)cfg + o->offset;

    if (o->type != OPT_LONG) {
        if (config_check(o, value, err, errlen) < 0)
            return -1;
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
        if (config_options[i].type != OPT_LONG) {
            char **sp = (char **)(void *)((char *)cfg + config_options[i].offset);
            free(*sp);
            *sp = NULL;
        }
    }
    free(cfg->path);
    cfg->path = NULL;
}

/* Parse state: every mistake in the file is reported, each with its own line number. */
struct load_ctx {
    struct config *cfg;
    FILE *f;
    const char *path;
    int line;   /* line the reader last returned */
    int failed; /* number of mistakes reported */
    char *err;  /* "path:line: message" lines, newline-separated */
    size_t errlen;
    size_t used;
};

/* Add "path:line: message" to the report (lines beyond the buffer are dropped). */
static void load_error(struct load_ctx *ctx, int line, const char *msg)
{
    int n;

    if (ctx->used + 1 >= ctx->errlen)
        return;
    n = snprintf(ctx->err + ctx->used, ctx->errlen - ctx->used, "%s%s:%d: %s",
                 ctx->failed > 0 ? "\n" : "", ctx->path, line, msg);
    ctx->failed++;
    if (n < 0 || (size_t)n >= ctx->errlen - ctx->used)
        ctx->used = ctx->errlen - 1;
    else
        ctx->used += (size_t)n;
}

/*
 * inih's line reader, counting lines for the handler and reporting lines that are neither
 * blank, a comment, a [section], a key = value nor a continuation (inih itself reports only the
 * first such line).
 */
static char *config_read_line(char *str, int num, void *stream)
{
    struct load_ctx *ctx = stream;
    const char *p;

    if (fgets(str, num, ctx->f) == NULL)
        return NULL;
    ctx->line++;
    p = str + strspn(str, " \t\r\n");
    if (p == str && *p != '\0' && *p != ';' && *p != '#' &&
        (*p == '[' ? strchr(p, ']') == NULL : strpbrk(p, "=:") == NULL))
        load_error(ctx, ctx->line, "syntax error (expected [section] or key = value)");
    return str;
}

static int config_ini_handler(void *user, const char *section, const char *key, const char *value)
{
    struct load_ctx *ctx = user;
    char msg[512];
    size_t i;

    for (i = 0; i < N_OPTIONS; i++) {
        if (strcmp(config_options[i].section, section) == 0 &&
            strcmp(config_options[i].key, key) == 0) {
            if (config_set(ctx->cfg, &config_options[i], value, msg, sizeof(msg)) < 0) {
                load_error(ctx, ctx->line, msg);
                return 0;
            }
            return 1;
        }
    }
    snprintf(msg, sizeof(msg), "unknown option [%s] %s (see deploy/wsusd.conf.sample)", section,
             key);
    load_error(ctx, ctx->line, msg);
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

/* [admin] tls_cert and tls_key go together; a non-loopback [admin] listen needs them (the
   bearer token and the console's session cookie must not cross a network in clear text). */
static int config_check_admin_listen(const struct config *cfg, const char *path, char *err,
                                     size_t errlen)
{
    char *host = NULL;
    int port = 0, loopback;

    if ((cfg->admin_tls_cert[0] == '\0') != (cfg->admin_tls_key[0] == '\0')) {
        snprintf(err, errlen,
                 "%s: [admin] tls_cert and tls_key go together; set both to PEM files (or "
                 "neither)",
                 path);
        return -1;
    }
    if (cfg->admin_tls_cert[0] != '\0')
        return 0;
    if (config_split_hostport(cfg->admin_listen, &host, &port, err, errlen) < 0)
        return -1; /* checked when read: only the default can get here */
    loopback = config_is_loopback(host);
    free(host);
    if (loopback)
        return 0;
    snprintf(err, errlen,
             "%s: [admin] listen %s is not a loopback address and the admin API has no TLS, so "
             "its bearer token would cross the network in clear text; set [admin] tls_cert and "
             "tls_key to serve it over HTTPS, or use 127.0.0.1:%d (reach it through ssh)",
             path, cfg->admin_listen, port);
    return -1;
}

int config_load(struct config *cfg, const char *path, int missing_ok, char *err, size_t errlen)
{
    struct load_ctx ctx = {cfg, NULL, path, 0, 0, err, errlen, 0};
    int line;

    free(cfg->path);
    cfg->path = xstrdup(path);
    ctx.f = fopen(path, "r");
    if (ctx.f == NULL) {
        if (errno == ENOENT && missing_ok)
            goto derive;
        snprintf(err, errlen, "cannot read configuration file %s: %s", path, strerror(errno));
        return -1;
    }
    err[0] = '\0';
    line = ini_parse_stream(config_read_line, &ctx, config_ini_handler, &ctx);
    fclose(ctx.f);
    if (line != 0 && ctx.failed == 0)
        load_error(&ctx, line, "syntax error (expected [section] or key = value)");
    if (ctx.failed > 0)
        return -1;
derive:
    if (cfg->token_file[0] == '\0') {
        free(cfg->token_file);
        cfg->token_file = xasprintf("%s/admin.token", cfg->state_dir);
    }
    if (cfg->content_dir[0] == '\0') {
        free(cfg->content_dir);
        cfg->content_dir = xasprintf("%s/content", cfg->state_dir);
    }
    if (cfg->https_listen[0] != '\0' && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
        snprintf(err, errlen,
                 "%s: [server] https_listen is set but tls_cert or tls_key is empty; "
                 "set both to PEM files",
                 path);
        return -1;
    }
    return config_check_admin_listen(cfg, path, err, errlen);
}

int config_is_loopback(const char *host)
{
    unsigned char a[16];
    static const unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) == 1)
        return memcmp(a, v6_loopback, 16) == 0;
    return 0;
}

int config_read_token(const char *path, const char *open_hint, char *out, size_t outlen, char *err,
                      size_t errlen)
{
    struct stat st;
    char line[CONFIG_TOKEN_LEN + 3];
    size_t n, i;
    int fd, rc = -1;
    FILE *f;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not hang */
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the admin token %s: %s%s", path, strerror(errno),
                 open_hint);
        return -1;
    }
    f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        snprintf(err, errlen, "cannot read the admin token %s: %s%s", path, strerror(errno),
                 open_hint);
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen,
                 "the admin token %s is not a regular file; delete it and restart "
                 "wsusd to create a new one",
                 path);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen,
                 "the admin token %s can be read or written by other users (mode %04o); run "
                 "chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    for (i = 0; i < n && isxdigit((unsigned char)line[i]); i++)
        ;
    if (n != CONFIG_TOKEN_LEN || i != n || n + 1 > outlen) {
        snprintf(err, errlen,
                 "the admin token %s is not one wsusd generates (%d hex digits, 256 random "
                 "bits); delete it and restart wsusd to create a new one",
                 path, CONFIG_TOKEN_LEN);
        goto out;
    }
    memcpy(out, line, n + 1);
    rc = 0;
out:
    explicit_bzero(line, sizeof(line));
    fclose(f);
    return rc;
}

int config_exposed_secret(const struct config *cfg, char *msg, size_t msglen)
{
    PQconninfoOption *opts, *o;
    struct stat st;
    int has_password = 0;

    if (cfg->conninfo[0] == '\0' || stat(cfg->path, &st) < 0 || (st.st_mode & S_IROTH) == 0)
        return 0;
    opts = PQconninfoParse(cfg->conninfo, NULL);
    for (o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
            has_password = 1;
    PQconninfoFree(opts);
    if (!has_password)
        return 0;
    snprintf(msg, msglen,
             "%s can be read by every user (mode %04o) and its [database] conninfo holds a "
             "password; run chown root:wsusd %s && chmod 640 %s, or move the password to "
             "~/.pgpass of the wsusd user",
             cfg->path, (unsigned)(st.st_mode & 07777), cfg->path, cfg->path);
    return 1;
}

void config_each_changed(const struct config *a, const struct config *b,
                         void (*fn)(const char *section, const char *key, void *arg), void *arg)
{
    size_t i;

    for (i = 0; i < N_OPTIONS; i++) {
        const struct config_option *o = &config_options[i];
        const char *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;
        int same;

        if (o->type == OPT_LONG)
            same = *(const long *)(const void *)pa == *(const long *)(const void *)pb;
        else
            same = strcmp(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb) == 0;
        if (!same)
            fn(o->section, o->key, arg);
    }
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

/* Is line (without its newline) the header of [section]? *is_header: it is some header. */
static int config_line_section(const char *line, size_t n, const char *section, int *is_header)
{
    size_t sl = strlen(section);

    while (n > 0 && isspace((unsigned char)*line)) {
        line++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    *is_header = n >= 2 && line[0] == '[' && line[n - 1] == ']';
    return *is_header && n - 2 == sl && strncasecmp(line + 1, section, sl) == 0;
}

/* Is line "key = ..." (key in any case, spaces around)? */
static int config_line_key(const char *line, size_t n, const char *key)
{
    size_t kl = strlen(key), i = 0;

    while (i < n && isspace((unsigned char)line[i]))
        i++;
    if (n - i < kl || strncasecmp(line + i, key, kl) != 0)
        return 0;
    i += kl;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < n && (line[i] == '=' || line[i] == ':');
}

int config_set_option(const char *path, const char *section, const char *key, const char *value,
                      char *err, size_t errlen)
{
    FILE *in = NULL, *out = NULL;
    char *tmp = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct stat st;
    int rc = -1, in_section = 0, done = 0, fd = -1;

    if (strchr(value, '\n') != NULL || strchr(value, '\r') != NULL) {
        snprintf(err, errlen, "the value for %s is not one line", key);
        return -1;
    }
    in = fopen(path, "r");
    if (in == NULL || fstat(fileno(in), &st) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    tmp = xasprintf("%s.wsusd-new", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 07777);
    if (fd < 0 || (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0) ||
        (out = fdopen(fd, "w")) == NULL) {
        snprintf(err, errlen, "cannot write next to %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    while ((n = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)n;
        int header;

        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (config_line_section(line, len, section, &header)) {
            in_section = 1;
            fputs(line, out);
            if (line[n - 1] != '\n')
                fputc('\n', out);
            continue;
        }
        if (header && in_section && !done) {
            fprintf(out, "%s = %s\n", key, value);
            done = 1;
        }
        if (header)
            in_section = 0;
        if (in_section && config_line_key(line, len, key)) {
            if (!done)
                fprintf(out, "%s = %s\n", key, value);
            done = 1;
            continue;
        }
        fputs(line, out);
        if (line[n - 1] != '\n')
            fputc('\n', out);
    }
    if (!done && in_section)
        fprintf(out, "%s = %s\n", key, value);
    else if (!done)
        fprintf(out, "\n[%s]\n%s = %s\n", section, key, value);
    if (ferror(in) || fflush(out) != 0 || fsync(fileno(out)) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(out) != 0) {
        out = NULL;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    out = NULL;
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (out != NULL)
        fclose(out);
    if (in != NULL)
        fclose(in);
    if (rc < 0 && tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(line);
    return rc;
}

void config_front_end_name(const struct config *cfg, char *out, size_t outlen)
{
    char host[256], err[128], *lhost = NULL;
    int port = 0;

    if (cfg->name != NULL && cfg->name[0] != '\0') {
        str_copy_cut(out, outlen, cfg->name);
        return;
    }
    if (gethostname(host, sizeof(host)) < 0)
        str_copy_cut(host, sizeof(host), "wsusd");
    host[sizeof(host) - 1] = '\0';
    if (config_split_hostport(cfg->listen, &lhost, &port, err, sizeof(err)) < 0)
        port = 0;
    free(lhost);
    if (snprintf(out, outlen, "%s:%d", host, port) >= (int)outlen && outlen > 0)
        out[outlen - 1] = '\0';
}
