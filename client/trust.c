/*
 * trust: ca-file certificates added to libcurl's system store, and the words for a
 * certificate that failed verification (see trust.h).
 */
#include "trust.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "xmalloc.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct trust {
    STACK_OF(X509) * certs;
};

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A message into buf; one cut at the buffer's end ends in "..." so it shows. */
static void say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0)
        (void)str_copy_cut(buf, len, "(message could not be formatted)");
    else if ((size_t)n >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

struct trust *trust_load(const char *path, char *err, size_t errlen)
{
    struct trust *t = NULL;
    struct stat st;
    X509 *x;
    FILE *f = fopen(path, "re");

    if (f == NULL || fstat(fileno(f), &st) < 0 || st.st_size > SETTINGS_MAX_CA_FILE) {
        say(err, errlen,
            "cannot read ca-file %s: %s; fix the file, or run wsusctl config reset ca-file", path,
            f == NULL ? strerror(errno) : "it is larger than 64 MiB");
        goto out;
    }
    t = xcalloc(1, sizeof(*t));
    t->certs = sk_X509_new_null();
    if (t->certs == NULL)
        fatalx("out of memory reading ca-file");
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        if (sk_X509_push(t->certs, x) == 0)
            fatalx("out of memory reading ca-file");
    ERR_clear_error();
    if (sk_X509_num(t->certs) == 0) {
        trust_free(t);
        t = NULL;
        say(err, errlen,
            "ca-file %s holds no PEM certificate; give a file with \"-----BEGIN "
            "CERTIFICATE-----\" blocks, or run wsusctl config reset ca-file",
            path);
    }
out:
    if (f != NULL)
        fclose(f);
    return t;
}

void trust_free(struct trust *t)
{
    if (t == NULL)
        return;
    sk_X509_pop_free(t->certs, X509_free);
    free(t);
}

/* CURLOPT_SSL_CTX_FUNCTION: add the certificates to the store libcurl built. */
static CURLcode add_certs(CURL *easy, void *sslctx, void *arg)
{
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);
    const struct trust *t = arg;
    int i;

    (void)easy;
    if (store == NULL)
        return CURLE_SSL_CERTPROBLEM;
    for (i = 0; i < sk_X509_num(t->certs); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(t->certs, i)) != 1)
            ERR_clear_error(); /* already there */
    return CURLE_OK;
}

void trust_apply(const struct trust *t, CURL *easy)
{
    if (t == NULL)
        return;
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, add_certs);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, (void *)t);
    /* the store is extended per connection: never share (and change) a cached one */
    curl_easy_setopt(easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
}

/* The host of a root URL "scheme://host[:port]" into buf (brackets of an IPv6 kept). */
static void host_of(const char *root, char *buf, size_t len)
{
    const char *h = strstr(root, "://");
    size_t n;

    h = h != NULL ? h + 3 : root;
    n = h[0] == '[' ? strcspn(h, "]") + (strchr(h, ']') != NULL) : strcspn(h, ":/");
    if (n >= len)
        n = len - 1;
    memcpy(buf, h, n);
    buf[n] = '\0';
}

/*
 * The subject, issuer and subjectAltName of the certificate the server at url presents,
 * fetched in a second TLS handshake that does not verify it (CURLOPT_CONNECT_ONLY: nothing
 * is sent over it). Only to word an error message, never to go on. 0, or -1 when it failed.
 */
static int peer_names(CURL *easy, const char *url, long timeout_s, char *subject, size_t sublen,
                      char *issuer, size_t isslen, char *names, size_t nameslen)
{
    struct curl_certinfo *ci = NULL;
    struct curl_slist *f;

    subject[0] = issuer[0] = names[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(easy, CURLOPT_CERTINFO, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, timeout_s);
    if (curl_easy_perform(easy) != CURLE_OK ||
        curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
        ci->num_of_certs < 1)
        return -1;
    /* a name cut at the buffer's end still identifies the certificate: truncation is fine */
    for (f = ci->certinfo[0]; f != NULL; f = f->next) {
        if (str_has_prefix_ci(f->data, "Subject:"))
            (void)str_copy_cut(subject, sublen, f->data + 8);
        else if (str_has_prefix_ci(f->data, "Issuer:"))
            (void)str_copy_cut(issuer, isslen, f->data + 7);
        else if (str_has_prefix_ci(f->data, "X509v3 Subject Alternative Name:"))
            (void)str_copy_cut(names, nameslen, f->data + 32);
    }
    return subject[0] != '\0' || names[0] != '\0' ? 0 : -1;
}

int trust_explain(CURL *failed, const char *curl_err, CURL *probe, const char *root,
                  int microsoft_update, long timeout_s, char *msg, size_t msglen)
{
    char subject[200], issuer[200], names[200], host[256];
    const char *url = NULL;
    long vr = X509_V_OK;
    int untrusted, wrong_name;

    curl_easy_getinfo(failed, CURLINFO_EFFECTIVE_URL, &url);
    curl_easy_getinfo(failed, CURLINFO_SSL_VERIFYRESULT, &vr);
    if (url == NULL || peer_names(probe, url, timeout_s, subject, sizeof(subject), issuer,
                                  sizeof(issuer), names, sizeof(names)) < 0)
        return -1;
    host_of(root, host, sizeof(host));
    untrusted = vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                vr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
                vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                vr == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || vr == X509_V_ERR_CERT_UNTRUSTED;
    /* libcurl checks the name itself after the chain: its text says so */
    wrong_name =
        !untrusted &&
        (strstr(curl_err, "subject name") != NULL || strstr(curl_err, "host name") != NULL ||
         vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH);
    if (!untrusted && !wrong_name)
        say(msg, msglen,
            "TLS to %s%s failed: its certificate \"%s\" issued by \"%s\" was refused (%s); "
            "check the certificate on that server",
            microsoft_update ? "Microsoft Update " : "upstream ", root, subject, issuer,
            vr != X509_V_OK ? X509_verify_cert_error_string(vr) : curl_err);
    else if (untrusted && microsoft_update)
        say(msg, msglen,
            "TLS to Microsoft Update (%s) failed: its certificate \"%s\" issued by \"%s\" "
            "is not trusted here (%s); add the CA certificate of \"%s\" to the system store "
            "(update-ca-certificates) or with wsusctl config set ca-file /path/to/ca.pem",
            root, subject, issuer, X509_verify_cert_error_string(vr), issuer);
    else if (untrusted)
        say(msg, msglen,
            "TLS to upstream %s failed: its certificate \"%s\" issued by \"%s\" is not "
            "trusted here (%s); if that issuer is your CA, add its certificate with wsusctl "
            "config set ca-file /path/to/ca.pem",
            root, subject, issuer, X509_verify_cert_error_string(vr));
    else
        say(msg, msglen,
            "TLS to upstream %s failed: its certificate is for %s, not for %s (subject "
            "\"%s\", issued by \"%s\"); set the upstream to a name the certificate holds, or "
            "give the upstream a certificate for %s",
            root, names[0] != '\0' ? names : subject, host, subject, issuer, host);
    return 0;
}
