/*
 * settings: the table of admin settings, their syntax checks and normal forms, and storage in
 * the `setting` table with the checks that need the catalog (category kinds, languages,
 * replica mode). Callers are the admin API (wsusctl config get/set) and the sync engine.
 * It never logs values: a secret must not reach a log line.
 */
#include "settings.h"
#include "buf.h"
#include "catalog.h"
#include "db.h"
#include "hier_languages.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETTINGS_MAX_ITEMS 4096 /* entries of one list */

static const struct settings_def settings_table[] = {
    {"upstream", SETTINGS_UPSTREAM, "", NULL, 0, 0, NULL,
     "server to synchronize from: http://HOST:8530, https://HOST:8531, microsoft-update, or "
     "empty for a root server"},
    {"upstream-content-url", SETTINGS_URL, "", NULL, 0, 0, NULL,
     "where the upstream serves /Content/ (update files), http://HOST:PORT; empty = derived "
     "from upstream: the same URL for http://, for https://HOST:N plain http://HOST:N-1 "
     "(80 for 443), the WSUS default of SOAP on 8531 and content on 8530"},
    {"account-name", SETTINGS_HOSTNAME, NULL, NULL, 0, 0, NULL,
     "this server's name as sent to the upstream (default: the host's FQDN)"},
    {"mode", SETTINGS_ENUM, "autonomous", "autonomous|replica", 0, 0, NULL,
     "autonomous (own approvals) or replica (approvals, groups, products inherited)"},
    {"storage", SETTINGS_ENUM, "local", "local|microsoft-update", 0, 0, NULL,
     "where clients get content: local store, or microsoft-update (metadata only); the "
     "same on every server of a hierarchy"},
    {"products", SETTINGS_GUID_LIST, "", NULL, 0, 1, "product",
     "product category ids to synchronize, comma-separated (empty = all)"},
    {"classifications", SETTINGS_GUID_LIST, "", NULL, 0, 1, "classification",
     "classification category ids to synchronize, comma-separated (empty = all)"},
    {"languages", SETTINGS_LANG_LIST, "en", NULL, 0, 1, NULL,
     "update languages, comma-separated short names (en,de,...) or all"},
    {"schedule", SETTINGS_SCHEDULE, "manual", NULL, 0, 0, NULL,
     "automatic synchronization: manual, or \"N/day from HH:MM\""},
    {"download", SETTINGS_ENUM, "approved", "approved|all|none", 0, 0, NULL,
     "content to download: approved updates only, all, or none (metadata only)"},
    {"proxy", SETTINGS_URL, "", NULL, 0, 0, NULL,
     "proxy for upstream traffic: http://HOST:PORT (empty = direct)"},
    {"proxy-user", SETTINGS_TEXT, "", NULL, 0, 0, NULL, "proxy user name (empty = none)"},
    {"proxy-password", SETTINGS_TEXT, "", NULL, 1, 0, NULL,
     "proxy password (never shown; set it with: wsusctl config set proxy-password -)"},
    {"proxy-domain", SETTINGS_TEXT, "", NULL, 0, 0, NULL, "proxy NTLM domain (empty = none)"},
    {"proxy-auth", SETTINGS_ENUM, "any", "any|basic|digest|ntlm", 0, 0, NULL,
     "proxy authentication method (basic sends the password in clear text)"},
    {"ca-file", SETTINGS_PATH, "", NULL, 0, 0, NULL,
     "PEM CA certificate(s) trusted for an https upstream in addition to the system store"},
    {"range-fallback", SETTINGS_ENUM, "auto", "auto|always|never", 0, 0, NULL,
     "HTTP Range for resumed downloads: auto (whole file when the path ignores Range), always "
     "(never send Range, whole files), never (a 200 to a Range request fails the file)"},
    {"allowed-downstreams", SETTINGS_HOST_LIST, "", NULL, 0, 0, NULL,
     "host names or addresses (a.b.c.d/n) allowed to sync from us, comma-separated (empty = "
     "any)"},
    {"sync-retry-interval", SETTINGS_INT, "900", "1..604800", 0, 0, NULL,
     "seconds between the two retries of a failed synchronization"},
    {"download-max-rate", SETTINGS_INT, "0", "0..1000000000000", 0, 0, NULL,
     "bytes per second for content downloads from the upstream, all transfers together (0 = "
     "no cap)"},
    {"upstream-answer-timeout", SETTINGS_INT, "60", "1..3600", 0, 0, NULL,
     "seconds the upstream may take to start answering a call or a file download"},
    {"upstream-stall-timeout", SETTINGS_INT, "60", "1..3600", 0, 0, NULL,
     "seconds in which an upstream answer or download must deliver at least 1 KiB (else it "
     "has stalled)"},
    {"client-targeting", SETTINGS_ENUM, "server", "server|client", 0, 0, NULL,
     "where Windows computers get their target group: server (moved by the admin) or client "
     "(the group name their policy sends; unknown names: Unassigned Computers)"},
    {"client-cookie-lifetime", SETTINGS_INT, "14400", "1..604800", 0, 0, NULL,
     "seconds a Windows computer's cookie stays valid (then CookieExpired: it authorizes again)"},
    {"max-new-computers-per-hour", SETTINGS_INT, "1000", "1..1000000", 0, 0, NULL,
     "new Windows computer ids one address may register per hour (beyond: ServerBusy)"},
    {"rollup", SETTINGS_ENUM, "on", "on|off", 0, 0, NULL,
     "report this server, the servers below it and their computers to the upstream after each "
     "synchronization (MS-WSUSSS reporting rollup; upstreams at protocol 1.3 or later)"},
    {"rollup-interval-hours", SETTINGS_INT, "24", "0..8760", 0, 0, NULL,
     "hours after the last reporting rollup that a downstream reports again on its own, without "
     "synchronizing (0 = only at the end of each synchronization)"},
    {"rollup-detailed", SETTINGS_ENUM, "on", "on|off", 0, 0, NULL,
     "DoDetailedRollup: whether downstream servers report their computers and update status "
     "(off: summaries only)"},
    {"rollup-computer-max-age-days", SETTINGS_INT, "30", "1..3650", 0, 0, NULL,
     "days after its last contact with its server that a rolled-up computer is dropped"},
    {"rollup-max-servers", SETTINGS_INT, "1000", "1..100000", 0, 0, NULL,
     "servers one downstream's branch may roll up (beyond: its RollupDownstreamServers fails)"},
    {"rollup-max-computers", SETTINGS_INT, "100000", "1..10000000", 0, 0, NULL,
     "computers one downstream's branch may roll up (beyond: its RollupComputers fails)"},
    {"rollup-max-statuses", SETTINGS_INT, "10000000", "1..1000000000", 0, 0, NULL,
     "update statuses one downstream's branch may roll up (beyond: RollupComputerStatus fails)"},
};

#define N_SETTINGS (sizeof(settings_table) / sizeof(settings_table[0]))

const struct settings_def *settings_find(const char *key)
{
    size_t i;

    if (key == NULL)
        return NULL;
    for (i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings_table[i].key, key) == 0)
            return &settings_table[i];
    return NULL;
}

size_t settings_count(void)
{
    return N_SETTINGS;
}

const struct settings_def *settings_at(size_t i)
{
    return i < N_SETTINGS ? &settings_table[i] : NULL;
}

static pthread_once_t fqdn_once = PTHREAD_ONCE_INIT;
static char fqdn[256];

static void fqdn_lookup(void)
{
    struct addrinfo hints, *ai = NULL;

    if (gethostname(fqdn, sizeof(fqdn) - 1) < 0) {
        str_copy_cut(fqdn, sizeof(fqdn), "localhost");
        return;
    }
    fqdn[sizeof(fqdn) - 1] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = AI_CANONNAME;
    if (getaddrinfo(fqdn, NULL, &hints, &ai) == 0 && ai != NULL && ai->ai_canonname != NULL &&
        strchr(ai->ai_canonname, '.') != NULL)
        str_copy_cut(fqdn, sizeof(fqdn), ai->ai_canonname);
    if (ai != NULL)
        freeaddrinfo(ai);
}

char *settings_default(const struct settings_def *d)
{
    if (d->def != NULL)
        return xstrdup(d->def);
    pthread_once(&fqdn_once, fqdn_lookup);
    return xstrdup(fqdn);
}

/* ---- syntax ---- */

static int is_hostchar(int c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static int valid_hostname(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if (!is_hostchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* "[v6]" or a host name; n bytes. */
static int valid_host(const char *s, size_t n)
{
    size_t i;

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        for (i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return 0;
        return n > 2;
    }
    return valid_hostname(s, n);
}

/* Check "scheme://host:port[/]" for one of the schemes ("http|https"); normal form in out. */
static char *check_url(const char *key, const char *v, const char *schemes, const char *example,
                       int need_port, char *err, size_t errlen)
{
    const char *p = strstr(v, "://"), *host, *colon, *end;
    char scheme[16];
    size_t sl, hl;
    long port = 0;

    if (p == NULL || (size_t)(p - v) >= sizeof(scheme)) {
        snprintf(err, errlen, "%s: \"%s\" is not a URL; write it like %s", key, v, example);
        return NULL;
    }
    sl = (size_t)(p - v);
    for (size_t i = 0; i < sl; i++)
        scheme[i] = (char)tolower((unsigned char)v[i]);
    scheme[sl] = '\0';
    {
        const char *s = schemes;
        int ok = 0;
        while (*s != '\0') {
            size_t n = strcspn(s, "|");
            if (n == sl && strncmp(s, scheme, n) == 0)
                ok = 1;
            s += n;
            if (*s == '|')
                s++;
        }
        if (!ok) {
            snprintf(err, errlen, "%s: scheme \"%s\" is not supported (use %s); write it like %s",
                     key, scheme, schemes, example);
            return NULL;
        }
    }
    host = p + 3;
    if (strchr(host, '@') != NULL) {
        snprintf(err, errlen,
                 "%s: do not put a user or password in the URL; use proxy-user and "
                 "proxy-password (the password is never shown)",
                 key);
        return NULL;
    }
    end = host + strcspn(host, "/");
    if (*end == '/' && end[1] != '\0') {
        snprintf(err, errlen, "%s: \"%s\" has a path; give only the server and port, like %s", key,
                 v, example);
        return NULL;
    }
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', (size_t)(end - host));
        colon = (rb != NULL && rb + 1 < end && rb[1] == ':') ? rb + 1 : NULL;
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
    }
    hl = colon != NULL ? (size_t)(colon - host) : (size_t)(end - host);
    if (!valid_host(host, hl)) {
        snprintf(err, errlen, "%s: \"%.*s\" is not a valid host name; write it like %s", key,
                 (int)hl, host, example);
        return NULL;
    }
    if (colon != NULL) {
        char ps[8];
        size_t pl = (size_t)(end - colon - 1);
        if (pl == 0 || pl >= sizeof(ps)) {
            snprintf(err, errlen, "%s: bad port in \"%s\"; write it like %s", key, v, example);
            return NULL;
        }
        memcpy(ps, colon + 1, pl);
        ps[pl] = '\0';
        if (str_to_long(ps, 1, 65535, &port) < 0) {
            snprintf(err, errlen, "%s: port \"%s\" is not a number from 1 to 65535", key, ps);
            return NULL;
        }
    } else if (need_port) {
        snprintf(err, errlen,
                 "%s: \"%s\" has no port; WSUS listens on 8530 (http) or 8531 (https): write "
                 "it like %s",
                 key, v, example);
        return NULL;
    }
    if (port > 0)
        return xasprintf("%s://%.*s:%ld", scheme, (int)hl, host, port);
    return xasprintf("%s://%.*s", scheme, (int)hl, host);
}

/*
 * One allow-list entry: a host name (or downstream id), an IPv4/IPv6 address, or a network
 * a.b.c.d/n (n 0..32) or v6/n (n 0..128). 0, or -1 with err.
 */
static int check_host_entry(const char *key, const char *item, char *err, size_t errlen)
{
    const char *slash = strchr(item, '/');
    unsigned char addr[16];
    char net[INET6_ADDRSTRLEN];
    size_t nl = slash != NULL ? (size_t)(slash - item) : strlen(item);
    int v4 = 0, v6 = 0;
    long bits;

    if (nl < sizeof(net)) {
        memcpy(net, item, nl);
        net[nl] = '\0';
        v4 = inet_pton(AF_INET, net, addr) == 1;
        v6 = !v4 && inet_pton(AF_INET6, net, addr) == 1;
    }
    if (slash == NULL) {
        if (v4 || v6 || valid_hostname(item, strlen(item)))
            return 0;
        snprintf(err, errlen, "%s: \"%s\" is not a host name, address or network (a.b.c.d/n)", key,
                 item);
        return -1;
    }
    if (!v4 && !v6) {
        snprintf(err, errlen,
                 "%s: \"%s\" is not a network; write it as an address and a prefix length, "
                 "like 10.1.0.0/16",
                 key, item);
        return -1;
    }
    if (!isdigit((unsigned char)slash[1]) || str_to_long(slash + 1, 0, v4 ? 32 : 128, &bits) < 0) {
        snprintf(err, errlen, "%s: \"%s\": the prefix length of an %s network is 0 to %d", key,
                 item, v4 ? "IPv4" : "IPv6", v4 ? 32 : 128);
        return -1;
    }
    return 0;
}

/*
 * ca-file: an absolute path of a readable regular file that holds at least one PEM
 * certificate (so a secret such as /etc/shadow is refused without a word of its content).
 * 0, or -1 with err.
 */
static int check_ca_file(const char *key, const char *v, char *err, size_t errlen)
{
    struct stat st;
    X509 *x = NULL;
    FILE *f = NULL;
    int fd;

    if (v[0] != '/') {
        snprintf(err, errlen, "%s: \"%s\" is not an absolute path; give the full path", key, v);
        return -1;
    }
    /* O_NONBLOCK: a FIFO must not hang the admin request in open() */
    fd = open(v, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot read %s: %s; give a file the wsusd user can read", key, v,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SETTINGS_MAX_CA_FILE ||
        (f = fdopen(fd, "r")) == NULL) {
        close(fd);
        snprintf(err, errlen, "%s: %s is not a regular file of at most %d MB; give a PEM CA bundle",
                 key, v, SETTINGS_MAX_CA_FILE >> 20);
        return -1;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    if (x == NULL) {
        snprintf(err, errlen,
                 "%s: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----); give a CA "
                 "bundle such as /etc/ssl/certs/ca-certificates.crt",
                 key, v);
        return -1;
    }
    X509_free(x);
    return 0;
}

/* Does the comma-separated list (normal form) already hold item? */
static int list_has(const struct buf *b, const char *item)
{
    const char *s = buf_str(b);
    size_t n = strlen(item);

    while (*s != '\0') {
        size_t l = strcspn(s, ",");
        if (l == n && strncmp(s, item, n) == 0)
            return 1;
        s += l;
        if (*s == ',')
            s++;
    }
    return 0;
}

/*
 * Split a list on commas and white space, lower-case each item, check it with the type's
 * rule, drop duplicates. Returns the normal form or NULL with err.
 */
static char *check_list(const struct settings_def *d, const char *v, char *err, size_t errlen)
{
    struct buf out;
    const char *s = v;
    size_t items = 0;
    char *res = NULL;

    buf_init(&out, SETTINGS_MAX_VALUE);
    while (*s != '\0') {
        char item[256];
        size_t n, i;

        s += strspn(s, ", \t");
        n = strcspn(s, ", \t");
        if (n == 0)
            continue;
        if (n >= sizeof(item)) {
            snprintf(err, errlen, "%s: \"%.40s...\" is too long for one entry", d->key, s);
            goto out;
        }
        for (i = 0; i < n; i++)
            item[i] = (char)tolower((unsigned char)s[i]);
        item[n] = '\0';
        s += n;
        if (d->type == SETTINGS_GUID_LIST) {
            char *g = item;
            size_t gl = n;
            unsigned char raw[16];
            if (gl == 38 && g[0] == '{' && g[37] == '}') {
                g++;
                gl -= 2;
                g[gl] = '\0';
            }
            if (str_guid_parse(g, gl, raw) < 0) {
                snprintf(err, errlen,
                         "%s: \"%s\" is not a GUID; use wsusctl updates list --type category "
                         "to see %s ids",
                         d->key, item, d->category);
                goto out;
            }
            memmove(item, g, gl + 1);
        } else if (d->type == SETTINGS_LANG_LIST) {
            int ok = n >= 2 && n <= 10;
            for (i = 0; i < n && ok; i++)
                ok = islower((unsigned char)item[i]) || item[i] == '-';
            if (!ok) {
                snprintf(err, errlen,
                         "%s: \"%s\" is not a language short name; write them like en,de,fr "
                         "(or all)",
                         d->key, item);
                goto out;
            }
        } else if (check_host_entry(d->key, item, err, errlen) < 0) { /* SETTINGS_HOST_LIST */
            goto out;
        }
        if (list_has(&out, item))
            continue;
        if (++items > SETTINGS_MAX_ITEMS) {
            snprintf(err, errlen, "%s: more than %d entries", d->key, SETTINGS_MAX_ITEMS);
            goto out;
        }
        if ((out.len > 0 && buf_add_str(&out, ",") < 0) || buf_add_str(&out, item) < 0) {
            snprintf(err, errlen, "%s: the list is too long", d->key);
            goto out;
        }
    }
    if (d->type == SETTINGS_LANG_LIST) {
        if (items == 0) {
            snprintf(err, errlen, "%s: at least one language is needed, e.g. en", d->key);
            goto out;
        }
        if (list_has(&out, "all")) {
            if (items > 1) {
                snprintf(err, errlen, "%s: \"all\" cannot be combined with other languages",
                         d->key);
                goto out;
            }
        }
    }
    res = buf_detach(&out, NULL);
out:
    buf_free(&out);
    return res;
}

static int two_digits(const char *s, long max, long *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return -1;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return *out <= max ? 0 : -1;
}

/* A decimal integer within d->choices "MIN..MAX"; normal form without sign or zeros. */
static char *check_int(const struct settings_def *d, const char *v, char *err, size_t errlen)
{
    int64_t min = 0, max = 0, n;
    const char *dots = strstr(d->choices, "..");

    if (dots == NULL || str_to_int64(dots + 2, INT64_MIN, INT64_MAX, &max) < 0) {
        snprintf(err, errlen, "%s: internal error: bad range", d->key);
        return NULL;
    }
    {
        char lo[24];
        size_t l = (size_t)(dots - d->choices);

        if (l >= sizeof(lo)) {
            snprintf(err, errlen, "%s: internal error: bad range", d->key);
            return NULL;
        }
        memcpy(lo, d->choices, l);
        lo[l] = '\0';
        if (str_to_int64(lo, INT64_MIN, INT64_MAX, &min) < 0) {
            snprintf(err, errlen, "%s: internal error: bad range", d->key);
            return NULL;
        }
    }
    if (v[0] == '+' || str_to_int64(v, min, max, &n) < 0) {
        snprintf(err, errlen, "%s: \"%s\" is not a whole number from %lld to %lld", d->key, v,
                 (long long)min, (long long)max);
        return NULL;
    }
    return xasprintf("%lld", (long long)n);
}

static char *check_schedule(const char *key, const char *v, char *err, size_t errlen)
{
    const char *p = v;
    long n = 0, hh, mm;
    int digits = 0;

    if (strcasecmp(v, "manual") == 0)
        return xstrdup("manual");
    while (isdigit((unsigned char)*p) && digits < 3) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || n < 1 || n > 24 || strncasecmp(p, "/day", 4) != 0)
        goto bad;
    p += 4;
    if (*p == '\0')
        return xasprintf("%ld/day from 00:00", n);
    p += strspn(p, " \t");
    if (strncasecmp(p, "from", 4) != 0)
        goto bad;
    p += 4;
    p += strspn(p, " \t");
    if (isdigit((unsigned char)p[0]) && p[1] == ':') { /* H:MM */
        if (p[2] == '\0' || two_digits(p + 2, 59, &mm) < 0 || p[4] != '\0')
            goto bad;
        hh = p[0] - '0';
    } else if (two_digits(p, 23, &hh) < 0 || p[2] != ':' || two_digits(p + 3, 59, &mm) < 0 ||
               p[5] != '\0') {
        goto bad;
    }
    return xasprintf("%ld/day from %02ld:%02ld", n, hh, mm);
bad:
    snprintf(err, errlen,
             "%s: \"%s\" is not a schedule; use manual, or N/day from HH:MM with N from 1 to "
             "24 (e.g. \"4/day from 03:00\")",
             key, v);
    return NULL;
}

char *settings_normalize(const struct settings_def *d, const char *value, char *err, size_t errlen)
{
    char *v, *res = NULL;
    const char *p;

    if (value == NULL)
        value = "";
    if (strlen(value) > SETTINGS_MAX_VALUE) {
        snprintf(err, errlen, "%s: the value is longer than %d bytes", d->key, SETTINGS_MAX_VALUE);
        return NULL;
    }
    for (p = value; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "%s: the value contains a control character (a newline?)",
                     d->key);
            return NULL;
        }
    }
    /* a secret is taken byte for byte: a password may begin or end with a space */
    v = d->secret ? xstrdup(value) : str_trim(xstrdup(value));
    switch (d->type) {
    case SETTINGS_TEXT:
        if (strlen(v) <= SETTINGS_MAX_TEXT)
            res = xstrdup(v);
        else
            snprintf(err, errlen, "%s: the value is longer than %d bytes", d->key,
                     SETTINGS_MAX_TEXT);
        break;
    case SETTINGS_ENUM: {
        const char *s = d->choices;
        while (*s != '\0' && res == NULL) {
            size_t n = strcspn(s, "|");
            if (strlen(v) == n && strncasecmp(s, v, n) == 0)
                res = xstrndup(s, n);
            s += n;
            if (*s == '|')
                s++;
        }
        if (res == NULL)
            snprintf(err, errlen, "%s: \"%s\" is not one of %s", d->key, v, d->choices);
        break;
    }
    case SETTINGS_UPSTREAM:
        if (v[0] == '\0')
            res = xstrdup("");
        else if (strcasecmp(v, "microsoft-update") == 0)
            res = xstrdup("microsoft-update");
        else
            res =
                check_url(d->key, v, "http|https", "http://wsus1.example.com:8530", 1, err, errlen);
        break;
    case SETTINGS_HOSTNAME:
        if (valid_hostname(v, strlen(v)))
            res = xstrdup(v);
        else
            snprintf(err, errlen,
                     "%s: \"%s\" is not a host name; give this server's DNS name, e.g. "
                     "wsus2.example.com",
                     d->key, v);
        break;
    case SETTINGS_GUID_LIST:
    case SETTINGS_LANG_LIST:
    case SETTINGS_HOST_LIST:
        res = check_list(d, v, err, errlen);
        break;
    case SETTINGS_SCHEDULE:
        res = check_schedule(d->key, v, err, errlen);
        break;
    case SETTINGS_INT:
        res = check_int(d, v, err, errlen);
        break;
    case SETTINGS_URL:
        if (v[0] == '\0') {
            res = xstrdup("");
        } else {
            char *u = strstr(v, "://") != NULL ? xstrdup(v) : xasprintf("http://%s", v);
            int content = strcmp(d->key, "upstream-content-url") == 0;

            res = check_url(d->key, u, content ? "http|https" : "http|https|socks4|socks5|socks5h",
                            content ? "http://wsus.example.com:8530"
                                    : "http://proxy.example.com:3128",
                            0, err, errlen);
            free(u);
        }
        break;
    case SETTINGS_PATH:
        if (v[0] == '\0')
            res = xstrdup("");
        else if (strlen(v) > SETTINGS_MAX_PATH)
            snprintf(err, errlen, "%s: the path is longer than %d bytes", d->key,
                     SETTINGS_MAX_PATH);
        else if (check_ca_file(d->key, v, err, errlen) == 0)
            res = xstrdup(v);
        break;
    }
    free(v);
    return res;
}

const char *settings_warning(const char *key, const char *value)
{
    if (strcmp(key, "proxy-auth") == 0 && value != NULL && strcasecmp(value, "basic") == 0)
        return "basic proxy authentication sends the proxy password in clear text";
    return NULL;
}

const char *settings_display(const struct settings_def *d, const char *value)
{
    if (d->secret)
        return (value != NULL && value[0] != '\0') ? "(set)" : "";
    return value != NULL ? value : "";
}

/* ---- storage ---- */

size_t settings_language_lcids(PGconn *db, long *out, size_t max)
{
    PGresult *res = db_exec(db, "SELECT lcid FROM language WHERE enabled ORDER BY lcid", 0, NULL);
    size_t n = 0;
    int i;

    for (i = 0; res != NULL && i < PQntuples(res) && n < max; i++)
        if (str_to_long(PQgetvalue(res, i, 0), 0, 2147483647L, &out[n]) == 0)
            n++;
    PQclear(res);
    return n;
}

PGresult *settings_languages_all(PGconn *db)
{
    return db_exec_retry(db,
                         "SELECT lcid, short_name, long_name, enabled FROM language"
                         " ORDER BY lcid",
                         0, NULL);
}

int settings_stored_is(PGconn *db, const char *key, const char *value, int def)
{
    const char *p[1] = {key};
    PGresult *res = db_exec(db, "SELECT value FROM setting WHERE key = $1", 1, p);
    int r = def;

    if (res != NULL)
        r = PQntuples(res) == 1 && strcasecmp(PQgetvalue(res, 0, 0), value) == 0;
    PQclear(res);
    return r;
}

char *settings_downstream_allowlist(PGconn *db)
{
    PGresult *res = db_exec(db,
                            "SELECT value FROM setting WHERE key IN ('allowed-downstreams',"
                            " 'allowed_downstreams') ORDER BY key",
                            0, NULL);
    struct buf all;
    int i;

    if (res == NULL)
        return NULL;
    buf_init(&all, 1 << 20);
    for (i = 0; i < PQntuples(res); i++) {
        buf_add_str(&all, PQgetvalue(res, i, 0));
        buf_add_str(&all, ",");
    }
    PQclear(res);
    return buf_detach(&all, NULL);
}

char *settings_get(PGconn *db, const char *key)
{
    const struct settings_def *d = settings_find(key);
    const char *p[1] = {key};
    PGresult *res;
    char *v = NULL;

    if (d == NULL)
        return NULL;
    if (d->type == SETTINGS_LANG_LIST) {
        res = db_exec(db,
                      "SELECT coalesce(string_agg(short_name, ',' ORDER BY lcid), '') "
                      "FROM language WHERE enabled",
                      0, NULL);
        if (res != NULL && PQntuples(res) == 1)
            v = xstrdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        return v;
    }
    res = db_exec(db, "SELECT value FROM setting WHERE key = $1", 1, p);
    if (res == NULL)
        return NULL;
    if (PQntuples(res) == 1)
        v = xstrdup(PQgetvalue(res, 0, 0));
    else
        v = settings_default(d);
    PQclear(res);
    return v;
}

int settings_is_set(PGconn *db, const char *key)
{
    const char *p[1] = {key};
    PGresult *res = db_exec(db, "SELECT 1 FROM setting WHERE key = $1", 1, p);
    int rc;

    if (res == NULL)
        return -1;
    rc = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

/* "{a,b,c}" from a validated list (items need no quoting: GUIDs, language names). */
static char *pg_array(const char *list)
{
    return xasprintf("{%s}", list);
}

/* Refuse products/classifications that are not categories of the right kind. */
static int check_categories(PGconn *db, const struct settings_def *d, const char *list, char *err,
                            size_t errlen)
{
    int product = strcmp(d->category, "product") == 0;
    const char *kinds = product ? "{Product,ProductFamily,Company}" : "{UpdateClassification}";
    char *arr = pg_array(list);
    const char *p[2] = {arr, kinds};
    PGresult *res = NULL;
    int rc = -1;

    res = db_exec(db, "SELECT 1 FROM revision WHERE update_type = 'Category' LIMIT 1", 0, NULL);
    if (res == NULL)
        goto dberr;
    if (PQntuples(res) == 0 || list[0] == '\0') { /* empty catalog: nothing to check against */
        rc = 0;
        goto out;
    }
    PQclear(res);
    res = db_exec(db,
                  "SELECT g::text, (SELECT CASE r.category_type "
                  "   WHEN 'UpdateClassification' THEN 'classification' "
                  "   WHEN 'ProductFamily' THEN 'product family' "
                  "   WHEN 'Product' THEN 'product' WHEN 'Company' THEN 'company' "
                  "   ELSE lower(r.update_type) END || ' \"' || r.title || '\"' "
                  "   FROM revision r WHERE r.update_id = g "
                  "   ORDER BY r.revision_number DESC LIMIT 1) "
                  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(g, n) "
                  "WHERE NOT EXISTS (SELECT 1 FROM revision r WHERE r.update_id = g "
                  "   AND r.update_type = 'Category' AND r.category_type = ANY($2::text[])) "
                  "ORDER BY n LIMIT 1",
                  2, p);
    if (res == NULL)
        goto dberr;
    if (PQntuples(res) == 0) {
        rc = 0;
        goto out;
    }
    if (PQgetisnull(res, 0, 1))
        snprintf(err, errlen,
                 "%s: %s is not in the catalog; use wsusctl updates list --type category to see "
                 "%s ids (synchronize first if the list is empty)",
                 d->key, PQgetvalue(res, 0, 0), d->category);
    else
        snprintf(err, errlen,
                 "%s: %s is a %s, not a %s; use wsusctl updates list --type category to see "
                 "%s ids",
                 d->key, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), d->category, d->category);
    goto out;
dberr:
    snprintf(err, errlen, "%s: cannot read the catalog; see the wsusd log", d->key);
out:
    PQclear(res);
    free(arr);
    return rc;
}

/* Enable exactly the listed languages ("all" = every one). */
static int apply_languages(PGconn *db, const char *list, char *err, size_t errlen)
{
    char *arr = pg_array(list);
    const char *p[1] = {arr};
    PGresult *res = NULL;
    int rc = -1;

    if (strcmp(list, "all") == 0) {
        rc = db_cmd(db, "UPDATE language SET enabled = true WHERE NOT enabled", 0, NULL);
        if (rc < 0)
            snprintf(err, errlen, "languages: cannot update the language table; see the log");
        goto out;
    }
    res = db_exec(db,
                  "SELECT s, (SELECT string_agg(short_name, ', ' ORDER BY short_name) "
                  "FROM language) FROM unnest($1::text[]) WITH ORDINALITY AS u(s, n) "
                  "WHERE NOT EXISTS (SELECT 1 FROM language WHERE short_name = s) ORDER BY n",
                  1, p);
    if (res == NULL) {
        snprintf(err, errlen, "languages: cannot read the language table; see the wsusd log");
        goto out;
    }
    if (PQntuples(res) > 0) {
        snprintf(err, errlen, "languages: \"%s\" is not a language WSUS knows; known: %s",
                 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
        goto out;
    }
    if (db_cmd(db,
               "UPDATE language SET enabled = (short_name = ANY($1::text[])) "
               "WHERE enabled IS DISTINCT FROM (short_name = ANY($1::text[]))",
               1, p) < 0) {
        snprintf(err, errlen, "languages: cannot update the language table; see the wsusd log");
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    free(arr);
    return rc;
}

/* A downstream enables only languages its upstream carries (as its last sync saw them). */
static int check_upstream_languages(PGconn *db, const char *list, char *err, size_t errlen)
{
    char *up = settings_get(db, "upstream");
    struct hier_result res;
    int rc = 0;

    if (up != NULL && up[0] != '\0' && strcmp(up, "microsoft-update") != 0) {
        hier_check_languages_stored(db, up, list, &res);
        if (res.verdict == HIER_FAIL) {
            snprintf(err, errlen, "languages: %s; %s", res.line, res.fix);
            rc = -1;
        }
    }
    free(up);
    return rc;
}

/* The checks that involve other settings (replica mode, upstream). */
static int check_rules(PGconn *db, const struct settings_def *d, const char *value, unsigned flags,
                       char *err, size_t errlen)
{
    char *mode = NULL, *up = NULL;
    int rc = -1;

    mode = settings_get(db, "mode");
    up = settings_get(db, "upstream");
    if (mode == NULL || up == NULL) {
        snprintf(err, errlen, "%s: cannot read the settings; see the wsusd log", d->key);
        goto out;
    }
    if (d->replica_locked && !(flags & SETTINGS_FROM_UPSTREAM) && strcmp(mode, "replica") == 0) {
        snprintf(err, errlen,
                 "%s: this server is a replica of %s, so products, classifications and "
                 "languages are inherited from it; change them there, or make this server "
                 "autonomous first (wsusctl config set mode autonomous)",
                 d->key, up);
        goto out;
    }
    if (strcmp(d->key, "mode") == 0 && value != NULL && strcmp(value, "replica") == 0 &&
        (up[0] == '\0' || strcmp(up, "microsoft-update") == 0)) {
        snprintf(err, errlen,
                 "mode: a replica copies approvals from an upstream WSUS server, and %s; set "
                 "one first (wsusctl config set upstream http://HOST:8530)",
                 up[0] == '\0' ? "this server has no upstream" : "Microsoft Update is not one");
        goto out;
    }
    if (strcmp(d->key, "upstream") == 0 && strcmp(mode, "replica") == 0 &&
        (value == NULL || value[0] == '\0' || strcmp(value, "microsoft-update") == 0)) {
        snprintf(err, errlen,
                 "upstream: a replica needs an upstream WSUS server; make this server "
                 "autonomous first (wsusctl config set mode autonomous)");
        goto out;
    }
    rc = 0;
out:
    free(mode);
    free(up);
    return rc;
}

static int settings_store(PGconn *db, const char *key, const char *value, unsigned flags, char *err,
                          size_t errlen)
{
    const struct settings_def *d = settings_find(key);
    char *norm = NULL, *def = NULL;
    const char *effective;
    int rc = -1, in_tx = 0;

    if (d == NULL) {
        snprintf(err, errlen, "unknown setting \"%s\"; wsusctl config get lists them",
                 key != NULL ? key : "");
        return -1;
    }
    if (value != NULL && d->type == SETTINGS_GUID_LIST && !(flags & SETTINGS_FROM_UPSTREAM)) {
        /* products and classifications by name as well as by GUID */
        char *ids = NULL;
        if (catalog_category_resolve(db, d->key, d->category, value, &ids, err, errlen) < 0)
            return -1;
        norm = settings_normalize(d, ids, err, errlen);
        free(ids);
        if (norm == NULL)
            return -1;
    } else if (value != NULL) {
        norm = settings_normalize(d, value, err, errlen);
        if (norm == NULL)
            return -1;
    }
    def = settings_default(d);
    effective = norm != NULL ? norm : def;
    if (db_begin(db) < 0)
        goto dberr;
    in_tx = 1;
    /* one admin change at a time: the checks below read other settings */
    if (db_cmd(db, "SELECT pg_advisory_xact_lock(hashtext('wsusd-settings'))", 0, NULL) < 0)
        goto dberr;
    if (check_rules(db, d, effective, flags, err, errlen) < 0)
        goto out;
    if (d->type == SETTINGS_GUID_LIST && !(flags & SETTINGS_FROM_UPSTREAM) &&
        check_categories(db, d, effective, err, errlen) < 0)
        goto out;
    if (d->type == SETTINGS_LANG_LIST && !(flags & SETTINGS_FROM_UPSTREAM) &&
        check_upstream_languages(db, effective, err, errlen) < 0)
        goto out;
    if (d->type == SETTINGS_LANG_LIST && apply_languages(db, effective, err, errlen) < 0)
        goto out;
    if (norm != NULL) {
        const char *p[2] = {key, norm};
        if (db_cmd(db,
                   "INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO "
                   "UPDATE SET value = excluded.value, changed_at = now()",
                   2, p) < 0)
            goto dberr;
    } else {
        const char *p[1] = {key};
        if (db_cmd(db, "DELETE FROM setting WHERE key = $1", 1, p) < 0)
            goto dberr;
    }
    if (db_commit(db) < 0)
        goto dberr;
    in_tx = 0;
    rc = 0;
    goto out;
dberr:
    snprintf(err, errlen, "%s: cannot store the setting in the catalog; see the wsusd log", key);
out:
    if (in_tx)
        db_rollback(db);
    free(norm);
    free(def);
    return rc;
}

int settings_set(PGconn *db, const char *key, const char *value, unsigned flags, char *err,
                 size_t errlen)
{
    return settings_store(db, key, value != NULL ? value : "", flags, err, errlen);
}

int settings_reset(PGconn *db, const char *key, unsigned flags, char *err, size_t errlen)
{
    return settings_store(db, key, NULL, flags, err, errlen);
}
