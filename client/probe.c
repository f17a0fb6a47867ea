/*
 * probe: name resolution and the Range probe of wsusctl checkhealth (see probe.h). The Range
 * probe reads at most PROBE_MAX_BODY bytes of the answer and PROBE_MAX_HEADER of its
 * Content-Range, whatever the upstream or a proxy sends.
 */
#include "probe.h"
#include "download.h"
#include "log.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PROBE_RANGE_BYTES 1024
#define PROBE_MAX_BODY    (64 * 1024) /* more than this to a Range request: the whole file */
#define PROBE_MAX_HEADER  256

int probe_resolve(const char *url, char *host, size_t hostlen, char *addrs, size_t addrslen,
                  char *err, size_t errlen)
{
    CURLU *h = curl_url();
    char *part = NULL;
    struct addrinfo hints, *res = NULL, *ai;
    size_t n = 0;
    int rc = -1, g;

    host[0] = addrs[0] = '\0';
    if (h == NULL)
        fatalx("out of memory parsing a URL");
    if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_HOST, &part, 0) != CURLUE_OK) {
        snprintf(err, errlen, "\"%s\" is not a URL with a host name", url);
        goto out;
    }
    if (part[0] == '[' && part[strlen(part) - 1] == ']') {
        part[strlen(part) - 1] = '\0';
        snprintf(host, hostlen, "%s", part + 1);
    } else {
        snprintf(host, hostlen, "%s", part);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    g = getaddrinfo(host, NULL, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "%s", gai_strerror(g));
        goto out;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        char a[INET6_ADDRSTRLEN] = "";
        const void *p = ai->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        int w;

        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            inet_ntop(ai->ai_family, p, a, sizeof(a)) == NULL || strstr(addrs, a) != NULL)
            continue;
        w = snprintf(addrs + n, addrslen - n, "%s%s", n ? ", " : "", a);
        if (w < 0 || (size_t)w >= addrslen - n)
            break; /* the list is cut; the first addresses are what matters */
        n += (size_t)w;
    }
    rc = 0;
out:
    if (res != NULL)
        freeaddrinfo(res);
    curl_free(part);
    curl_url_cleanup(h);
    return rc;
}

struct range_answer {
    size_t body;
    char content_range[PROBE_MAX_HEADER];
};

static size_t range_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct range_answer *a = arg;

    (void)data;
    a->body += size * nmemb;
    return a->body > PROBE_MAX_BODY ? 0 : size * nmemb; /* 0 stops a whole file */
}

static size_t range_header(char *line, size_t size, size_t nmemb, void *arg)
{
    struct range_answer *a = arg;
    size_t n = size * nmemb, k = strlen("Content-Range:");

    if (n > k && strncasecmp(line, "Content-Range:", k) == 0) {
        size_t i = k, j = n;
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        while (j > i && (line[j - 1] == '\r' || line[j - 1] == '\n' || line[j - 1] == ' '))
            j--;
        if (j - i >= sizeof(a->content_range))
            j = i + sizeof(a->content_range) - 1;
        memcpy(a->content_range, line + i, j - i);
        a->content_range[j - i] = '\0';
    }
    return n;
}

enum probe_range_result probe_range(const struct uss *u, const unsigned char sha1[20],
                                    const char *name, int64_t size, char *msg, size_t msglen)
{
    CURL *easy = curl_easy_init();
    struct range_answer a;
    char url[2048], range[64], want[128], curl_err[CURL_ERROR_SIZE] = "";
    int64_t last = (size < PROBE_RANGE_BYTES ? size : PROBE_RANGE_BYTES) - 1;
    enum probe_range_result rc;
    CURLcode cres;
    long status = 0;

    if (easy == NULL)
        fatalx("out of memory creating a curl handle");
    memset(&a, 0, sizeof(a));
    if (download_file_url(u, sha1, name, url, sizeof(url)) < 0) {
        curl_easy_cleanup(easy);
        snprintf(msg, msglen, "the content URL of upstream %s is too long", uss_url(u));
        return PROBE_RANGE_ERROR;
    }
    snprintf(range, sizeof(range), "0-%lld", (long long)last);
    snprintf(want, sizeof(want), "bytes 0-%lld/%lld", (long long)last, (long long)size);
    uss_curl_setup(u, easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_RANGE, range);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, range_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, range_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)PROBE_TIMEOUT_S);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    cres = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    if (status == 206 && strcmp(a.content_range, want) == 0) {
        snprintf(msg, msglen, "GET %s with Range: bytes=%s answered 206 (Content-Range: %s)", url,
                 range, a.content_range);
        rc = PROBE_RANGE_OK;
    } else if (status == 206) {
        snprintf(msg, msglen,
                 "GET %s with Range: bytes=%s answered 206 with Content-Range \"%s\" instead of "
                 "\"%s\"",
                 url, range, a.content_range, want);
        rc = PROBE_RANGE_WRONG;
    } else if (status == 200) {
        snprintf(msg, msglen,
                 "GET %s with Range: bytes=%s answered with the whole file (HTTP 200 instead of "
                 "206)",
                 url, range);
        rc = PROBE_RANGE_IGNORED;
    } else if (status == 404) {
        snprintf(msg, msglen, "GET %s answered 404: the upstream does not have this file", url);
        rc = PROBE_RANGE_MISSING;
    } else if (status != 0) {
        snprintf(msg, msglen, "GET %s with Range: bytes=%s answered HTTP %ld%s", url, range, status,
                 status == 407 ? " (the proxy refused our credentials)" : "");
        rc = PROBE_RANGE_ERROR;
    } else {
        snprintf(msg, msglen, "GET %s failed: %s", url,
                 curl_err[0] ? curl_err : curl_easy_strerror(cres));
        rc = PROBE_RANGE_ERROR;
    }
    return rc;
}
