/*
 * metrics: lock-free event counters (see metrics.h). Requests are counted by service (from the
 * request path: a fixed table, so the label set is bounded) and by status (100..599, anything
 * else is "none"); SOAP faults by enum soap_error.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The services of both listeners, by path prefix (case-insensitive, as http.c routes). */
static const struct {
    const char *prefix;
    const char *name;
} metrics_services[] = {
    {"/ServerSyncWebService/", "serversync"},
    {"/DssAuthWebService/", "dssauth"},
    {"/Content/", "content"},
    {"/api/", "admin"},
    {"/console", "console"},
    {"/metrics", "metrics"},
    {"", "other"}, /* last: matches everything */
};

#define METRICS_N_SVC    (sizeof(metrics_services) / sizeof(metrics_services[0]))
#define METRICS_STATUS0  100
#define METRICS_N_STATUS 501 /* 100..599, and the last slot for "none" */
#define METRICS_N_FAULTS (SOAP_ERR_SERVER_BUSY + 1)

static atomic_uint_fast64_t metrics_requests[METRICS_N_SVC][METRICS_N_STATUS];
static atomic_uint_fast64_t metrics_faults[METRICS_N_FAULTS];
static atomic_uint_fast64_t metrics_served;
static atomic_uint_fast64_t metrics_downloaded;

static size_t metrics_service_of(const char *path)
{
    size_t i;

    for (i = 0; i + 1 < METRICS_N_SVC; i++)
        if (path != NULL &&
            strncasecmp(path, metrics_services[i].prefix, strlen(metrics_services[i].prefix)) == 0)
            return i;
    return METRICS_N_SVC - 1;
}

void metrics_request(const char *path, unsigned status)
{
    size_t slot = METRICS_N_STATUS - 1;

    if (status >= METRICS_STATUS0 && status < METRICS_STATUS0 + METRICS_N_STATUS - 1)
        slot = status - METRICS_STATUS0;
    atomic_fetch_add_explicit(&metrics_requests[metrics_service_of(path)][slot], 1,
                              memory_order_relaxed);
}

void metrics_soap_fault(enum soap_error e)
{
    if ((unsigned)e < METRICS_N_FAULTS)
        atomic_fetch_add_explicit(&metrics_faults[e], 1, memory_order_relaxed);
}

void metrics_bytes_served(uint64_t n)
{
    atomic_fetch_add_explicit(&metrics_served, n, memory_order_relaxed);
}

void metrics_bytes_downloaded(uint64_t n)
{
    atomic_fetch_add_explicit(&metrics_downloaded, n, memory_order_relaxed);
}

int metrics_label_value(struct buf *out, const char *s, size_t max)
{
    size_t i;
    int rc = 0;

    for (i = 0; s != NULL && s[i] != '\0' && i < max && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\\' || c == '"')
            rc = buf_printf(out, "\\%c", c);
        else if (c == '\n')
            rc = buf_add_str(out, "\\n");
        else if (c >= 0x20 && c != 0x7f)
            rc = buf_add(out, &s[i], 1);
    }
    return rc;
}

static int metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
    return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_write_counters(struct buf *out)
{
    size_t i, j;

    metrics_family(out, "wsusd_http_requests_total", "counter",
                   "HTTP requests answered, by service and status.");
    for (i = 0; i < METRICS_N_SVC; i++)
        for (j = 0; j < METRICS_N_STATUS; j++) {
            uint64_t v = atomic_load_explicit(&metrics_requests[i][j], memory_order_relaxed);
            char status[8];

            if (v == 0)
                continue;
            if (j == METRICS_N_STATUS - 1)
                snprintf(status, sizeof(status), "none");
            else
                snprintf(status, sizeof(status), "%zu", j + METRICS_STATUS0);
            buf_printf(out, "wsusd_http_requests_total{service=\"%s\",status=\"%s\"} %llu\n",
                       metrics_services[i].name, status, (unsigned long long)v);
        }
    metrics_family(out, "wsusd_soap_faults_total", "counter",
                   "SOAP faults sent to downstream servers and clients, by error code.");
    for (i = 1; i < METRICS_N_FAULTS; i++) {
        uint64_t v = atomic_load_explicit(&metrics_faults[i], memory_order_relaxed);

        if (v > 0)
            buf_printf(out, "wsusd_soap_faults_total{code=\"%s\"} %llu\n",
                       soap_error_name((enum soap_error)i), (unsigned long long)v);
    }
    metrics_family(out, "wsusd_content_served_bytes_total", "counter",
                   "Content file bytes sent from /Content/ (GET answers 200 and 206).");
    buf_printf(out, "wsusd_content_served_bytes_total %llu\n",
               (unsigned long long)atomic_load(&metrics_served));
    metrics_family(out, "wsusd_content_downloaded_bytes_total", "counter",
                   "Content bytes received from the upstream by the downloader.");
    buf_printf(out, "wsusd_content_downloaded_bytes_total %llu\n",
               (unsigned long long)atomic_load(&metrics_downloaded));
    return buf_failed(out) ? -1 : 0;
}
