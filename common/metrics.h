/*
 * metrics: the event counters of /metrics (Prometheus text format), kept in C11 atomics so any
 * thread may count without a lock. Each counter is bumped from the one place that sees its
 * event: HTTP answers from http.c's completion, SOAP faults from soap_svc's fault path, content
 * bytes from content.c, downloaded bytes from the downloader. Values that live in the catalog
 * (sync runs, revisions, files, downstream servers) are read at scrape time by the handler
 * (server/admin/admin_metrics.c), not counted here. Counters start at 0 with the process.
 */
#ifndef WSUS_METRICS_H
#define WSUS_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "soap.h"

/* One answered HTTP request: path is the request path (after slash collapsing), status the
 * HTTP status sent (0 when none was queued; counted as "none"). Thread-safe. */
void metrics_request(const char *path, unsigned status);
/* One SOAP fault sent to a client, by its error code. Thread-safe. */
void metrics_soap_fault(enum soap_error e);
/* Content body bytes handed to libmicrohttpd for a GET of /Content/ (200 and 206). */
void metrics_bytes_served(uint64_t n);
/* Body bytes received from the upstream while downloading content. */
void metrics_bytes_downloaded(uint64_t n);

/* Append every counter family (HELP, TYPE and one line per non-zero series) to out in the
 * Prometheus text format 0.0.4. 0, or -1 when out is full. */
int metrics_write_counters(struct buf *out);

/* Append s to out as a Prometheus label value (\\, \" and \n escaped; other control bytes
 * dropped), at most max bytes of s. 0 or -1 (out full). */
int metrics_label_value(struct buf *out, const char *s, size_t max);

#endif
