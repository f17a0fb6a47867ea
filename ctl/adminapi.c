/*
 * adminapi: libcurl + jansson client of wsusd's admin API. Connects to [admin] listen (a
 * loopback address, or any address over HTTPS when [admin] tls_cert is set: then the server
 * must hold exactly that certificate's key), reads and checks the token file on each call,
 * and turns every transport failure into one line with the fix. No retries, no token in any
 * output.
 */
#include "adminapi.h"
#include "strutil.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int adminapi_curl_ready;

/* The message for a token file that does not exist: wsusd never started with this
 * configuration, or -c names another one. */
static void token_missing(const struct ctl *c, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "the admin token %s does not exist: wsusd creates it when it first starts; start "
             "wsusd (systemctl start wsusd), or pass -c with the configuration file of the "
             "running wsusd (%s%s)",
             c->cfg.token_file, c->config_path,
             access(c->config_path, F_OK) == 0 ? " was read"
                                               : " does not exist, so the defaults apply");
}

/* "http://host:port" of [admin] listen into out ("https://" with [admin] tls_cert; a wildcard
   address is reached on loopback); "where" gets "host:port" for messages. */
static int admin_base(const struct ctl *c, char *out, size_t outlen, char *where, size_t wherelen,
                      char *err, size_t errlen)
{
    char *host = NULL;
    const char *h;
    int port, v6;

    if (config_split_hostport(c->cfg.admin_listen, &host, &port, err, errlen) < 0)
        return -1;
    h = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : strcmp(host, "::") == 0 ? "::1" : host;
    v6 = strchr(h, ':') != NULL;
    if (str_fmt(out, outlen, "http%s://%s%s%s:%d", c->cfg.admin_tls_cert[0] ? "s" : "",
                v6 ? "[" : "", h, v6 ? "]" : "", port) < 0 ||
        str_fmt(where, wherelen, "%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", port) < 0) {
        snprintf(err, errlen, "[admin] listen %s is too long", c->cfg.admin_listen);
        free(host);
        return -1;
    }
    free(host);
    return 0;
}

/* "sha256//<base64>" of the public key of the first certificate in the PEM file path (for
   CURLOPT_PINNEDPUBLICKEY): wsusctl talks only to the server holding that key, whatever name
   its certificate carries. 0, or -1 with the message in err. */
static int admin_pin(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    unsigned char *der = NULL, digest[SHA256_DIGEST_LENGTH], b64[64];
    FILE *f = fopen(path, "r");
    X509 *x = NULL;
    int n = -1;

    if (f == NULL) {
        snprintf(err, errlen,
                 "cannot read [admin] tls_cert %s: %s; run wsusctl as root or as the "
                 "wsusd user",
                 path, strerror(errno));
        return -1;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x != NULL)
        n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    X509_free(x);
    if (n <= 0) {
        snprintf(err, errlen, "[admin] tls_cert %s holds no PEM certificate", path);
        return -1;
    }
    SHA256(der, (size_t)n, digest);
    OPENSSL_free(der);
    EVP_EncodeBlock(b64, digest, sizeof(digest));
    n = snprintf(out, outlen, "sha256//%s", (const char *)b64);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buf *b = userdata;
    size_t n = size * nmemb;

    if (buf_add(b, ptr, n) < 0)
        return 0; /* too large: curl stops with CURLE_WRITE_ERROR */
    return n;
}

static void transport_error(CURLcode cc, long oserr, const char *where, const char *curlmsg,
                            char *err, size_t errlen)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        if (oserr == ECONNREFUSED || oserr == 0)
            snprintf(err, errlen,
                     "wsusd is not running on %s (connection refused); start it with "
                     "systemctl start wsusd",
                     where);
        else
            snprintf(err, errlen,
                     "cannot connect to wsusd on %s (%s); check [admin] listen in the "
                     "configuration and that wsusd runs (systemctl status wsusd)",
                     where, strerror((int)oserr));
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errlen,
                 "wsusd on %s did not answer in time; check that it runs (systemctl status "
                 "wsusd) and its log (journalctl -u wsusd)",
                 where);
        break;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        snprintf(err, errlen,
                 "the server on %s does not hold the key of [admin] tls_cert; pass -c with the "
                 "configuration file of the wsusd listening there",
                 where);
        break;
    case CURLE_WRITE_ERROR:
        snprintf(err, errlen, "the answer of wsusd on %s is larger than %u MiB; narrow the request",
                 where, ADMINAPI_MAX_ANSWER >> 20);
        break;
    default:
        snprintf(err, errlen, "cannot talk to wsusd on %s: %s", where,
                 curlmsg[0] != '\0' ? curlmsg : curl_easy_strerror(cc));
        break;
    }
}

int adminapi_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out,
                  char *err, size_t errlen)
{
    char token[256], base[300], where[300], auth[300], pin[80], curlerr[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    struct buf answer;
    char *url = NULL, *text = NULL;
    CURL *h = NULL;
    CURLcode cc;
    long status = 0, oserr = 0;
    int rc = -1;

    *out = NULL;
    buf_init(&answer, ADMINAPI_MAX_ANSWER);
    if (admin_base(c, base, sizeof(base), where, sizeof(where), err, errlen) < 0)
        goto out;
    if (c->cfg.admin_tls_cert[0] != '\0' &&
        admin_pin(c->cfg.admin_tls_cert, pin, sizeof(pin), err, errlen) < 0)
        goto out;
    if (access(c->cfg.token_file, F_OK) < 0 && errno == ENOENT) {
        token_missing(c, err, errlen);
        goto out;
    }
    if (config_read_token(c->cfg.token_file, "; run wsusctl as root or as the wsusd user", token,
                          sizeof(token), err, errlen) < 0)
        goto out;
    if (!adminapi_curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "cannot initialise libcurl");
            goto out;
        }
        adminapi_curl_ready = 1;
    }
    h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "cannot initialise libcurl");
        goto out;
    }
    url = xasprintf("%s%s", base, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    explicit_bzero(token, sizeof(token));
    hdrs = curl_slist_append(hdrs, auth);
    explicit_bzero(auth, sizeof(auth));
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL) {
            snprintf(err, errlen, "cannot encode the request as JSON");
            goto out;
        }
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    }
    curlerr[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)ADMINAPI_CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)ADMINAPI_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "wsusctl/" WSUSD_VERSION);
    if (c->cfg.admin_tls_cert[0] != '\0') {
        /* the key is pinned: no CA and no name to check */
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pin);
    }
    if (text != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    log_debug("admin api: %s %s", method, path);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
        transport_error(cc, oserr, where, curlerr, err, errlen);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (answer.len > 0) {
        json_error_t jerr;
        *out = json_loadb(answer.data, answer.len, 0, &jerr);
    }
    if (status >= 400) {
        json_t *e = *out != NULL ? json_object_get(*out, "error") : NULL;
        if (json_is_string(e))
            snprintf(err, errlen, "%s", json_string_value(e));
        else
            snprintf(err, errlen,
                     "wsusd on %s answered HTTP %ld to %s %s; see the wsusd log (journalctl -u "
                     "wsusd)",
                     where, status, method, path);
    } else if (*out == NULL) {
        snprintf(err, errlen,
                 "the answer from %s is not JSON (HTTP %ld); does [admin] listen point at wsusd?",
                 where, status);
    }
    rc = (int)status;
out:
    explicit_bzero(auth, sizeof(auth));
    curl_slist_free_all(hdrs);
    if (h != NULL)
        curl_easy_cleanup(h);
    free(url);
    free(text);
    buf_free(&answer);
    return rc;
}

int adminapi_run(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out)
{
    char err[1024];
    int st = adminapi_call(c, method, path, body, out, err, sizeof(err));

    if (st >= 200 && st < 300 && *out != NULL)
        return 0;
    json_decref(*out);
    *out = NULL;
    return ctl_fail("%s", err);
}

char *adminapi_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i, o = 0;
    char *r = xmalloc(3 * n + 1);

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            r[o++] = (char)ch;
        } else {
            r[o++] = '%';
            r[o++] = hex[ch >> 4];
            r[o++] = hex[ch & 15];
        }
    }
    r[o] = '\0';
    return r;
}

void adminapi_print_json(const json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
}

int adminapi_show(struct ctl *c, const char *method, const char *path, json_t *body,
                  void (*print)(const json_t *ans, void *arg), void *arg)
{
    json_t *ans = NULL;
    int rc = adminapi_run(c, method, path, body, &ans);

    json_decref(body);
    if (rc != 0)
        return rc;
    if (c->json)
        adminapi_print_json(ans);
    else if (print != NULL)
        print(ans, arg);
    json_decref(ans);
    return 0;
}

const char *adminapi_str(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? s : def;
}
