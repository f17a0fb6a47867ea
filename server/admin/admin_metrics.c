/*
 * admin_metrics: GET /metrics on the admin listener, in the Prometheus text format 0.0.4. The
 * event counters come from common/metrics.c; what the catalog knows (sync runs, the last sync,
 * revisions, files, downstream servers) is read at scrape time through the report modules
 * (sync_report, update_query, content_report, downstream_report); connections and the database
 * pool from the running server. A catalog that cannot be read gives 503, never made-up zeros.
 */
#include "admin_handlers.h"
#include "client_scan.h"
#include "content_report.h"
#include "downstream_report.h"
#include "metrics.h"
#include "sync_report.h"
#include "update_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_BYTES       (4 * 1024 * 1024)
#define METRICS_MAX_DOWNSTREAMS 1000

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *cell(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* The sync_history families; -1 when a query failed. */
static int metrics_sync(struct buf *b, PGconn *db)
{
    static const char *const results[] = {"succeeded", "failed", "cancelled"};
    PGresult *r = sync_report_by_result(db);
    long long running = 0;
    size_t k;
    int i;

    if (r == NULL)
        return -1;
    family(b, "wsusd_sync_runs_total", "counter",
           "Synchronizations recorded in the catalog, by result.");
    for (k = 0; k < sizeof(results) / sizeof(results[0]); k++) {
        long long n = 0;

        for (i = 0; i < PQntuples(r); i++)
            if (strcmp(PQgetvalue(r, i, 0), results[k]) == 0)
                n = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        buf_printf(b, "wsusd_sync_runs_total{result=\"%s\"} %lld\n", results[k], n);
    }
    for (i = 0; i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), "running") == 0)
            running = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    PQclear(r);
    family(b, "wsusd_sync_running", "gauge", "Synchronizations running now.");
    buf_printf(b, "wsusd_sync_running %lld\n", running);

    if ((r = sync_report_last(db)) == NULL)
        return -1;
    if (PQntuples(r) == 1 && cell(r, 0, 0) != NULL) {
        family(b, "wsusd_sync_last_finished_timestamp_seconds", "gauge",
               "When the last synchronization ended (any result), Unix time.");
        buf_printf(b, "wsusd_sync_last_finished_timestamp_seconds %s\n", cell(r, 0, 0));
        family(b, "wsusd_sync_last_duration_seconds", "gauge",
               "How long the last finished synchronization took.");
        buf_printf(b, "wsusd_sync_last_duration_seconds %s\n", cell(r, 0, 1));
        family(b, "wsusd_sync_last_downloaded_bytes", "gauge",
               "Content bytes the last finished synchronization downloaded.");
        buf_printf(b, "wsusd_sync_last_downloaded_bytes %s\n", cell(r, 0, 2));
        family(b, "wsusd_sync_last_succeeded", "gauge",
               "1 when the last finished synchronization succeeded, else 0.");
        buf_printf(b, "wsusd_sync_last_succeeded %d\n", strcmp(cell(r, 0, 3), "succeeded") == 0);
    }
    if (PQntuples(r) == 1 && cell(r, 0, 4) != NULL) {
        family(b, "wsusd_sync_last_success_timestamp_seconds", "gauge",
               "When the last successful synchronization ended, Unix time.");
        buf_printf(b, "wsusd_sync_last_success_timestamp_seconds %s\n", cell(r, 0, 4));
    }
    PQclear(r);
    return 0;
}

/* Revisions and files held; -1 when a query failed. */
static int metrics_catalog(struct buf *b, PGconn *db)
{
    PGresult *r = update_query_counts(db);
    int i;

    if (r == NULL)
        return -1;
    family(b, "wsusd_revisions", "gauge", "Update revisions in the catalog.");
    buf_printf(b, "wsusd_revisions %s\n", PQgetvalue(r, 0, 0));
    family(b, "wsusd_updates", "gauge", "Distinct updates in the catalog.");
    buf_printf(b, "wsusd_updates %s\n", PQgetvalue(r, 0, 1));
    PQclear(r);
    if ((r = content_report_states(db)) == NULL)
        return -1;
    family(b, "wsusd_files", "gauge", "Content files the catalog lists, by state.");
    for (i = 0; i < PQntuples(r); i++)
        buf_printf(b, "wsusd_files{state=\"%s\"} %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    family(b, "wsusd_file_bytes", "gauge", "Bytes of the content files, by state.");
    for (i = 0; i < PQntuples(r); i++)
        buf_printf(b, "wsusd_file_bytes{state=\"%s\"} %s\n", PQgetvalue(r, i, 0),
                   PQgetvalue(r, i, 2));
    PQclear(r);
    return 0;
}

/* Downstream servers; -1 when a query failed. */
static int metrics_downstreams(struct buf *b, PGconn *db)
{
    PGresult *r = downstream_report_counts(db);
    int i, k;

    if (r == NULL)
        return -1;
    family(b, "wsusd_downstream_servers", "gauge",
           "Downstream servers known (authenticated once) and those that synchronized.");
    buf_printf(b, "wsusd_downstream_servers{state=\"known\"} %s\n", PQgetvalue(r, 0, 0));
    buf_printf(b, "wsusd_downstream_servers{state=\"synchronized\"} %s\n", PQgetvalue(r, 0, 1));
    PQclear(r);
    if ((r = downstream_report_synchronized(db, METRICS_MAX_DOWNSTREAMS)) == NULL)
        return -1;
    for (k = 0; k < 2; k++) {
        const char *name = k == 0 ? "wsusd_downstream_last_contact_timestamp_seconds"
                                  : "wsusd_downstream_last_sync_timestamp_seconds";

        family(b, name, "gauge",
               k == 0 ? "Last contact of each downstream server that synchronized, Unix time."
                      : "Last update pass of each downstream server, Unix time.");
        for (i = 0; i < PQntuples(r); i++) {
            buf_printf(b, "%s{account_guid=\"%s\",account_name=\"", name, PQgetvalue(r, i, 0));
            metrics_label_value(b, PQgetvalue(r, i, 1), 255);
            buf_printf(b, "\"} %s\n", PQgetvalue(r, i, 2 + k));
        }
    }
    PQclear(r);
    return 0;
}

/* The NeededRevisions cache of the client web services (common/db/client_scan.c). */
static void metrics_scan_cache(struct buf *b)
{
    struct client_scan_stats st;

    client_scan_cache_stats(&st);
    family(b, "wsusd_client_scan_cache_total", "counter",
           "Windows client scans by what the NeededRevisions cache did: hit, miss (computed), "
           "invalidated (a kept set outdated by a change), evicted (least recently used).");
    buf_printf(b, "wsusd_client_scan_cache_total{result=\"hit\"} %llu\n",
               (unsigned long long)st.hits);
    buf_printf(b, "wsusd_client_scan_cache_total{result=\"miss\"} %llu\n",
               (unsigned long long)st.misses);
    buf_printf(b, "wsusd_client_scan_cache_total{result=\"invalidated\"} %llu\n",
               (unsigned long long)st.invalidated);
    buf_printf(b, "wsusd_client_scan_cache_total{result=\"evicted\"} %llu\n",
               (unsigned long long)st.evicted);
    family(b, "wsusd_client_scan_cache_sets", "gauge", "NeededRevisions sets kept.");
    buf_printf(b, "wsusd_client_scan_cache_sets %zu\n", st.entries);
    family(b, "wsusd_client_scan_cache_bytes", "gauge", "Bytes of the NeededRevisions sets kept.");
    buf_printf(b, "wsusd_client_scan_cache_bytes %zu\n", st.bytes);
}

/* Connections and the database pool (no catalog needed). */
static void metrics_server(struct buf *b, struct server *s)
{
    size_t size, idle;

    family(b, "wsusd_http_connections", "gauge", "Open HTTP connections, by listener.");
    buf_printf(b, "wsusd_http_connections{listener=\"protocol\"} %u\n",
               http_server_connections(s->proto));
    if (s->proto_tls != NULL)
        buf_printf(b, "wsusd_http_connections{listener=\"protocol_https\"} %u\n",
                   http_server_connections(s->proto_tls));
    buf_printf(b, "wsusd_http_connections{listener=\"admin\"} %u\n",
               http_server_connections(s->admin));
    dbpool_usage(s->pool, &size, &idle);
    family(b, "wsusd_db_pool_connections", "gauge",
           "Catalog database connections of the request pool, by state.");
    /* this scrape holds one of the busy ones */
    buf_printf(b, "wsusd_db_pool_connections{state=\"busy\"} %zu\n", size - idle);
    buf_printf(b, "wsusd_db_pool_connections{state=\"idle\"} %zu\n", idle);
    family(b, "wsusd_db_pool_size", "gauge", "Connections in the request pool ([server] threads).");
    buf_printf(b, "wsusd_db_pool_size %zu\n", size);
    metrics_scan_cache(b);
}

enum MHD_Result admin_metrics(struct http_request *req)
{
    struct server *s = req->app;
    PGconn *db = admin_db(req);
    struct buf b;
    char *text;
    size_t len;

    if (db == NULL)
        return MHD_YES;
    buf_init(&b, METRICS_MAX_BYTES);
    family(&b, "wsusd_info", "gauge", "This wsusd: version and server id (always 1).");
    buf_printf(&b, "wsusd_info{version=\"%s\",server_id=\"%s\"} 1\n", WSUSD_VERSION, s->server_id);
    if (metrics_sync(&b, db) < 0 || metrics_catalog(&b, db) < 0 ||
        metrics_downstreams(&b, db) < 0) {
        buf_free(&b);
        return admin_error(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "cannot read the catalog database for /metrics; see the wsusd log "
                           "and check that PostgreSQL runs");
    }
    metrics_server(&b, s);
    if (metrics_write_counters(&b) < 0) {
        buf_free(&b);
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "the metrics are larger than %d bytes", METRICS_MAX_BYTES);
    }
    text = buf_detach(&b, &len);
    return http_respond_take(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                             len);
}
