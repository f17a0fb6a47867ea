/*
 * svc_rollup: the reporting rollup operations of MS-WSUSSS 3.1.4.13-3.1.4.17 on the Reporting
 * web service (dispatched by wusp_svc.c). The caller is a downstream server identified by the
 * server-to-server cookie of its GetCookie (the spec's fixed empty cookie identifies nobody:
 * InvalidCookie). Requests are decoded into bounded structs here, every list counted against
 * its batch size before it is walked; a bad value anywhere refuses the whole request
 * (InvalidParameters naming the field) and nothing is stored. Storage rules: common/rollup.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "downstream_report.h"
#include "log.h"
#include "rollup.h"
#include "settings.h"
#include "strutil.h"
#include "wusp.h"
#include "xmalloc.h"

/* The decoding of one request: the first problem found, in words. */
struct rdec {
    struct wusp_ctx *w;
    int bad;
    char msg[256];
};

static void rdec_fail(struct rdec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rdec_fail(struct rdec *d, const char *fmt, ...)
{
    va_list ap;

    if (d->bad)
        return;
    d->bad = 1;
    va_start(ap, fmt);
    if (vsnprintf(d->msg, sizeof(d->msg), fmt, ap) >= (int)sizeof(d->msg))
        d->msg[sizeof(d->msg) - 1] = '\0';
    va_end(ap);
}

/* 1 if s holds no control character (C0 or DEL). */
static int rdec_printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Text s of field what into out (outlen - 1 bytes at most, printable). */
static void rdec_copy(struct rdec *d, const char *s, const char *what, char *out, size_t outlen)
{
    out[0] = '\0';
    if (s == NULL)
        return;
    if (strlen(s) >= outlen)
        rdec_fail(d, "%s: longer than %zu bytes", what, outlen - 1);
    else if (!rdec_printable(s))
        rdec_fail(d, "%s: holds control characters", what);
    else
        str_copy(out, outlen, s);
}

/* Child element name of parent as text into out; required: absent is an error. */
static void rdec_text(struct rdec *d, const xmlNode *parent, const char *name, int required,
                      char *out, size_t outlen)
{
    const xmlNode *n = wusp_child(d->w, parent, name);
    char *t;

    out[0] = '\0';
    if (n == NULL) {
        if (required)
            rdec_fail(d, "%s: missing", name);
        return;
    }
    t = soap_text(n, outlen - 1);
    if (t == NULL)
        rdec_fail(d, "%s: not a value of at most %zu bytes", name, outlen - 1);
    else
        rdec_copy(d, str_trim(t), name, out, outlen);
    free(t);
}

/* A GUID (lower case) from text s into out; zero_empty: the all-zero GUID becomes "". */
static void rdec_guid_str(struct rdec *d, const char *s, const char *what, int zero_empty,
                          char out[37])
{
    static const unsigned char zero[16];
    unsigned char g[16];

    out[0] = '\0';
    if (s == NULL || soap_guid_parse(s, g) < 0) {
        rdec_fail(d, "%s: not a GUID", what);
        return;
    }
    if (zero_empty && memcmp(g, zero, 16) == 0)
        return;
    str_guid_format(g, out);
}

static void rdec_guid(struct rdec *d, const xmlNode *parent, const char *name, int zero_empty,
                      char out[37])
{
    char t[64];

    out[0] = '\0';
    rdec_text(d, parent, name, 1, t, sizeof(t));
    if (!d->bad)
        rdec_guid_str(d, t, name, zero_empty, out);
}

static void rdec_time_str(struct rdec *d, const char *s, const char *what, char out[40])
{
    out[0] = '\0';
    if (s == NULL || strlen(s) >= 40 || !soap_datetime_valid(s))
        rdec_fail(d, "%s: not an xsd:dateTime (YYYY-MM-DDTHH:MM:SS[.fff][Z])", what);
    else
        str_copy(out, 40, s);
}

static void rdec_time(struct rdec *d, const xmlNode *parent, const char *name, char out[40])
{
    char t[64];

    out[0] = '\0';
    rdec_text(d, parent, name, 1, t, sizeof(t));
    if (!d->bad)
        rdec_time_str(d, t, name, out);
}

static long rdec_long_str(struct rdec *d, const char *s, const char *what, long min, long max)
{
    long v = 0;

    if (s == NULL || soap_int_parse(s, min, max, &v) < 0)
        rdec_fail(d, "%s: not an integer in %ld..%ld", what, min, max);
    return v;
}

static long rdec_long(struct rdec *d, const xmlNode *parent, const char *name, long min, long max)
{
    char t[32];

    rdec_text(d, parent, name, 1, t, sizeof(t));
    return d->bad ? 0 : rdec_long_str(d, t, name, min, max);
}

static int rdec_bool(struct rdec *d, const xmlNode *parent, const char *name)
{
    char t[16];
    int v = 0;

    rdec_text(d, parent, name, 1, t, sizeof(t));
    if (!d->bad && soap_bool_parse(t, &v) < 0)
        rdec_fail(d, "%s: not a boolean", name);
    return v;
}

/* Required attribute name of node ("" is a value; absent is an error), NULL when absent. */
static const char *rdec_attr(struct rdec *d, const xmlNode *node, const char *name)
{
    const char *v = xml_attr(node, name);

    if (v == NULL)
        rdec_fail(d, "%s: missing", name);
    return v;
}

/*
 * The spec's fixed cookie (empty EncryptedData) names nobody: the caller is the one downstream
 * server that authenticated (DssAuth, GetCookie) from the same address within the lifetime of
 * an authorization cookie, as a Windows downstream does in the same synchronization.
 */
static int rollup_auth_fixed(struct wusp_ctx *w, char reporter[37], enum MHD_Result *r)
{
    PGconn *db = soap_svc_db(&w->s, r);
    int f;

    if (db == NULL)
        return -1;
    f = downstream_report_by_address(db, w->s.peer, SOAP_AUTH_COOKIE_LIFETIME, reporter);
    soap_svc_db_put(&w->s, db);
    if (f == 1)
        return 0;
    if (f < 0)
        *r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading the downstreams");
    else
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE,
                            f == 0 ? "cookie: the fixed rollup cookie names no downstream and no "
                                     "downstream server authenticated from %s in the last 24 "
                                     "hours; synchronize first (DssAuth, GetCookie)"
                                   : "cookie: the fixed rollup cookie names no downstream and "
                                     "several downstream servers authenticated from %s; send "
                                     "the cookie of ServerSyncWebService GetCookie instead",
                            w->s.peer);
    return -1;
}

/* The caller: the account GUID of its server-to-server cookie (GetCookie), or with the fixed
 * rollup cookie the downstream of its address (rollup_auth_fixed), into reporter. */
static int rollup_auth(struct wusp_ctx *w, char reporter[37], enum MHD_Result *r)
{
    const xmlNode *ck = wusp_child(w, w->op, "cookie");
    const xmlNode *ed = wusp_child(w, ck, "EncryptedData");
    struct soap_call *call = &w->s.call;
    struct cookie_claims cl;
    char *t = ed != NULL ? soap_text(ed, COOKIE_MAX_BYTES * 2) : NULL;

    memset(call, 0, sizeof(*call));
    if (t != NULL && *str_trim(t) != '\0') {
        call->cookie_present = 1;
        call->cookie_decoded =
            str_b64_decode(t, call->cookie, sizeof(call->cookie), &call->cookie_len) == 0 &&
            call->cookie_len > 0;
    }
    free(t);
    if (!call->cookie_present && ck != NULL)
        return rollup_auth_fixed(w, reporter, r);
    if (!call->cookie_present) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE,
                            "cookie: missing; send the cookie of ServerSyncWebService GetCookie "
                            "or the fixed rollup cookie (MS-WSUSSS 3.2.4.5)");
        return -1;
    }
    if (soap_svc_check(&w->s, &cl, r) < 0)
        return -1;
    str_guid_format(cl.dss_guid, reporter);
    return 0;
}

/* The setting rollup-detailed: 1 on, 0 off (then the fault is queued into *r), -1. */
static int rollup_detailed(struct wusp_ctx *w, PGconn *db, enum MHD_Result *r)
{
    char *v = settings_get(db, "rollup-detailed");
    int on = v != NULL && strcmp(v, "off") != 0;

    free(v);
    if (!on)
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                            "%s: DoDetailedRollup is false here (setting rollup-detailed off): "
                            "send server summaries only",
                            w->s.info->name);
    return on;
}

/* The fault of a store's result (ROLLUP_OK: none, returns 0); unknown_parent is the ErrorCode
 * of ROLLUP_UNKNOWN_PARENT. */
static int rollup_fault(struct wusp_ctx *w, enum rollup_result rc, const char *err,
                        enum soap_error unknown_parent, enum MHD_Result *r)
{
    switch (rc) {
    case ROLLUP_OK:
        return 0;
    case ROLLUP_UNKNOWN_PARENT:
        *r = soap_svc_fault(&w->s, unknown_parent, "%s", err);
        return -1;
    case ROLLUP_REFUSED:
    case ROLLUP_FULL:
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s", err);
        return -1;
    default:
        *r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error storing the rollup");
        return -1;
    }
}

/* The list element name of op (present: the spec's "MUST be present"), counted: at most max
 * children item. Returns the count, or SIZE_MAX after queuing the fault. */
static size_t rollup_list(struct wusp_ctx *w, const char *name, const char *item, size_t max,
                          const char *limit, const xmlNode **list, enum MHD_Result *r)
{
    size_t n;

    *list = wusp_child(w, w->op, name);
    if (*list == NULL) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s: missing", name);
        return (size_t)-1;
    }
    n = soap_count(*list, w->s.info->ns, item, max);
    if (n > max) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s: more than %zu %s (%s)", name,
                            max, item, limit);
        return (size_t)-1;
    }
    return n;
}

enum MHD_Result rollup_get_configuration(struct wusp_ctx *w)
{
    char reporter[37], reset[37], out[1024];
    enum MHD_Result r;
    PGconn *db;
    int on, n;

    if (rollup_auth(w, reporter, &r) < 0)
        return r;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        return r;
    {
        char *v = settings_get(db, "rollup-detailed");

        on = v != NULL && strcmp(v, "off") != 0;
        free(v);
    }
    n = rollup_reset_guid(db, reset);
    soap_svc_db_put(&w->s, db);
    if (n < 0)
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading RollupResetGuid");
    n = snprintf(out, sizeof(out),
                 "<GetRollupConfigurationResult><DoDetailedRollup>%s</DoDetailedRollup>"
                 "<RollupResetGuid>%s</RollupResetGuid><ServerId>%s</ServerId>"
                 "<RollupDownstreamServersMaxBatchSize>%d</RollupDownstreamServersMaxBatchSize>"
                 "<RollupComputersMaxBatchSize>%d</RollupComputersMaxBatchSize>"
                 "<GetOutOfSyncComputersMaxBatchSize>%d</GetOutOfSyncComputersMaxBatchSize>"
                 "<RollupComputerStatusMaxBatchSize>%d</RollupComputerStatusMaxBatchSize>"
                 "</GetRollupConfigurationResult>",
                 on ? "true" : "false", reset, w->s.srv->server_id, ROLLUP_BATCH_CLIENT_SUMMARIES,
                 ROLLUP_BATCH_COMPUTERS, ROLLUP_BATCH_OUT_OF_SYNC, ROLLUP_BATCH_STATUS);
    if (n < 0 || n >= (int)sizeof(out))
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too long");
    log_debug("rollup: GetRollupConfiguration from %s (%s)", reporter, w->s.peer);
    return soap_svc_reply(&w->s, out, (size_t)n);
}

/* One DownstreamServerRollupInfo into s. */
static void rollup_decode_server(struct rdec *d, const xmlNode *e, struct rollup_server *s)
{
    const xmlNode *sum = wusp_child(d->w, e, "ServerSummary");
    size_t k;

    memset(s, 0, sizeof(*s));
    rdec_guid(d, e, "ServerId", 0, s->id);
    rdec_text(d, e, "FullDomainName", 1, s->name, sizeof(s->name));
    if (!d->bad && s->name[0] == '\0')
        rdec_fail(d, "FullDomainName: empty");
    rdec_time(d, e, "LastSyncTime", s->last_sync);
    rdec_guid(d, e, "ParentServerId", 1, s->parent);
    rdec_text(d, e, "Version", 0, s->version, sizeof(s->version));
    if (!d->bad && s->version[0] != '\0') {
        const char *v = s->version;
        int parts = 1, digits = 0;

        for (; *v != '\0' && parts <= 4; v++)
            if (*v == '.' && digits > 0)
                parts++, digits = 0;
            else if (*v >= '0' && *v <= '9')
                digits++;
            else
                parts = 5;
        if (parts > 4 || digits == 0)
            rdec_fail(d, "Version: \"%s\" is not one to four integers separated by periods",
                      s->version);
    }
    s->is_replica = rdec_bool(d, e, "IsReplica");
    rdec_time(d, e, "LastRollupTime", s->last_rollup);
    if (sum == NULL)
        rdec_fail(d, "ServerSummary: missing");
    for (k = 0; k < ROLLUP_SUMMARY_COUNT && !d->bad; k++)
        s->summary[k] = rdec_long(d, sum, rollup_summary_names[k], 0, 2147483647L);
}

enum MHD_Result rollup_downstream_servers(struct wusp_ctx *w)
{
    const char *ns = w->s.info->ns;
    struct rdec d = {w, 0, ""};
    struct rollup_server *s = NULL;
    char reporter[37], client_time[40], err[512];
    const xmlNode *list;
    enum rollup_result rc;
    enum MHD_Result r;
    size_t n, i = 0, summaries = 0;
    xmlNodePtr e;
    PGconn *db;

    if (rollup_auth(w, reporter, &r) < 0)
        return r;
    rdec_time(&d, w->op, "clientTime", client_time);
    if (d.bad)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s", d.msg);
    n = rollup_list(w, "downstreamServers", "DownstreamServerRollupInfo",
                    ROLLUP_MAX_SERVERS_PER_REQUEST, "servers in one request", &list, &r);
    if (n == (size_t)-1)
        return r;
    for (e = xml_child(list, ns, "DownstreamServerRollupInfo"); e != NULL;
         e = xml_next(e, ns, "DownstreamServerRollupInfo")) {
        const xmlNode *cs = wusp_child(w, e, "ClientSummaries");

        if (cs != NULL)
            summaries += soap_count(cs, ns, "DownstreamServerRollupClientSummary",
                                    ROLLUP_BATCH_CLIENT_SUMMARIES);
        if (summaries > ROLLUP_BATCH_CLIENT_SUMMARIES)
            return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                                  "downstreamServers: more than %d "
                                  "DownstreamServerRollupClientSummary in one request "
                                  "(RollupDownstreamServersMaxBatchSize)",
                                  ROLLUP_BATCH_CLIENT_SUMMARIES);
    }
    s = xcalloc(n + 1, sizeof(*s));
    for (e = xml_child(list, ns, "DownstreamServerRollupInfo"); e != NULL && i < n && !d.bad;
         e = xml_next(e, ns, "DownstreamServerRollupInfo"))
        if (!soap_is_nil(e))
            rollup_decode_server(&d, e, &s[i++]);
    if (d.bad) {
        free(s);
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "downstreamServers: server %zu: %s", i, d.msg);
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL) {
        free(s);
        return r;
    }
    rc = rollup_servers_store(db, w->s.srv->server_id, reporter, s, i, client_time, err,
                              sizeof(err));
    soap_svc_db_put(&w->s, db);
    free(s);
    if (rollup_fault(w, rc, err, SOAP_ERR_INVALID_PARAMETERS, &r) < 0)
        return r;
    log_info("rollup: %zu servers (%zu client summaries) from downstream %s (%s)", i, summaries,
             reporter, w->s.peer);
    return soap_svc_reply(&w->s, "", 0);
}

/* ComputerRollupDetails into c->info and c->address. */
static void rollup_decode_details(struct rdec *d, const xmlNode *det, struct rollup_computer *c)
{
    static const char *const os[5] = {"OSMajorVersion", "OSMinorVersion", "OSBuildNumber",
                                      "OSServicePackMajorNumber", "OSServicePackMinorNumber"};
    static const char *const ints[4] = {"SuiteMask", "OldProductType", "NewProductType",
                                        "SystemMetrics"};
    static const long lo[4] = {-32768, 0, -2147483647L - 1, -2147483647L - 1};
    static const long hi[4] = {32767, 255, 2147483647L, 2147483647L};
    struct computer_info *in = &c->info;
    long v[5];
    char bios[40];
    size_t k;

    c->has_details = 1;
    rdec_copy(d, xml_attr(det, "IPAddress"), "IPAddress", c->address, sizeof(c->address));
    rdec_copy(d, xml_attr(det, "FullDomainName"), "FullDomainName", in->name, sizeof(in->name));
    for (k = 0; k < 5; k++)
        v[k] = rdec_long_str(d, rdec_attr(d, det, os[k]), os[k], 0, 2147483647L);
    for (k = 0; k < 4; k++)
        rdec_long_str(d, rdec_attr(d, det, ints[k]), ints[k], lo[k], hi[k]);
    rdec_time_str(d, rdec_attr(d, det, "BiosReleaseDate"), "BiosReleaseDate", bios);
    if (snprintf(in->os_version, sizeof(in->os_version), "%ld.%ld.%ld.%ld.%ld", v[0], v[1], v[2],
                 v[3], v[4]) >= (int)sizeof(in->os_version))
        rdec_fail(d, "OSMajorVersion: too long");
    rdec_copy(d, xml_attr(det, "OSLocale"), "OSLocale", in->os_locale, sizeof(in->os_locale));
    rdec_copy(d, xml_attr(det, "OSDescription"), "OSDescription", in->os_description,
              sizeof(in->os_description));
    rdec_copy(d, xml_attr(det, "ComputerMake"), "ComputerMake", in->manufacturer, 65);
    rdec_copy(d, xml_attr(det, "ComputerModel"), "ComputerModel", in->model, 65);
    rdec_copy(d, xml_attr(det, "ProcessorArchitecture"), "ProcessorArchitecture", in->architecture,
              51);
    rdec_copy(d, xml_attr(det, "ClientVersion"), "ClientVersion", in->client_version, 21);
    {
        const char *ns = d->w->s.info->ns;
        const xmlNode *g = wusp_child(d->w, det, "TargetGroupIdList");
        const xmlNode *names = wusp_child(d->w, det, "RequestedTargetGroupNames");

        if ((g != NULL && soap_count(g, ns, "guid", COOKIE_MAX_GROUPS) > COOKIE_MAX_GROUPS) ||
            (names != NULL &&
             soap_count(names, ns, "string", COOKIE_MAX_GROUPS) > COOKIE_MAX_GROUPS))
            rdec_fail(d, "Details: more than %d target groups", COOKIE_MAX_GROUPS);
    }
}

/* One ComputerRollupInfo into c. */
static void rollup_decode_computer(struct rdec *d, const xmlNode *e, struct rollup_computer *c)
{
    const xmlNode *det = wusp_child(d->w, e, "Details");

    memset(c, 0, sizeof(*c));
    rdec_copy(d, rdec_attr(d, e, "ComputerId"), "ComputerId", c->id, sizeof(c->id));
    if (!d->bad && c->id[0] == '\0')
        rdec_fail(d, "ComputerId: empty");
    rdec_time_str(d, rdec_attr(d, e, "LastSyncTime"), "LastSyncTime", c->last_sync);
    c->last_sync_result =
        (int)rdec_long_str(d, rdec_attr(d, e, "LastSyncResult"), "LastSyncResult", 0, 2);
    rdec_time_str(d, rdec_attr(d, e, "LastReportedRebootTime"), "LastReportedRebootTime",
                  c->last_reboot);
    rdec_time_str(d, rdec_attr(d, e, "LastReportedStatusTime"), "LastReportedStatusTime",
                  c->last_status);
    rdec_time_str(d, rdec_attr(d, e, "LastInventoryTime"), "LastInventoryTime", c->last_inventory);
    rdec_guid_str(d, rdec_attr(d, e, "ParentServerId"), "ParentServerId", 1, c->parent);
    if (!d->bad && c->parent[0] == '\0')
        rdec_fail(d, "ParentServerId: the all-zero id (name the server the computer uses)");
    if (det != NULL && !d->bad)
        rollup_decode_details(d, det, c);
}

enum MHD_Result rollup_computers(struct wusp_ctx *w)
{
    const char *ns = w->s.info->ns;
    struct rdec d = {w, 0, ""};
    struct rollup_computer *c = NULL;
    unsigned char *np = NULL;
    char reporter[37], client_time[40], err[512];
    const xmlNode *list;
    enum rollup_result rc = ROLLUP_DB_ERROR;
    enum MHD_Result r;
    size_t n, i = 0, k, changed = 0;
    xmlNodePtr e;
    struct buf b;
    PGconn *db;
    int on;

    if (rollup_auth(w, reporter, &r) < 0)
        return r;
    rdec_time(&d, w->op, "clientTime", client_time);
    if (d.bad)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s", d.msg);
    n = rollup_list(w, "computers", "ComputerRollupInfo", ROLLUP_BATCH_COMPUTERS,
                    "RollupComputersMaxBatchSize", &list, &r);
    if (n == (size_t)-1)
        return r;
    c = xcalloc(n + 1, sizeof(*c));
    for (e = xml_child(list, ns, "ComputerRollupInfo"); e != NULL && i < n && !d.bad;
         e = xml_next(e, ns, "ComputerRollupInfo"))
        if (!soap_is_nil(e))
            rollup_decode_computer(&d, e, &c[i++]);
    if (d.bad) {
        free(c);
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "computers: computer %zu: %s", i,
                              d.msg);
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL) {
        free(c);
        return r;
    }
    np = xcalloc(i + 1, 1);
    on = rollup_detailed(w, db, &r);
    if (on > 0)
        rc = rollup_computers_store(db, reporter, c, i, client_time, np, err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    /* 3.1.4.15: an unknown ParentServerId is InternalServerError */
    if (on <= 0 || rollup_fault(w, rc, err, SOAP_ERR_INTERNAL, &r) < 0) {
        free(c);
        free(np);
        return r;
    }
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<RollupComputersResult>");
    for (k = 0; k < i; k++)
        if (np[k]) {
            buf_add_str(&b, "<ChangedComputer ComputerId=\"");
            buf_add_xml_attr(&b, c[k].id, strlen(c[k].id));
            buf_add_str(&b, "\" Change=\"NewParent\" />");
            changed++;
        }
    if (buf_add_str(&b, "</RollupComputersResult>") < 0) {
        buf_free(&b);
        free(c);
        free(np);
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too long");
    }
    log_info("rollup: %zu computers (%zu NewParent) from downstream %s (%s)", i, changed, reporter,
             w->s.peer);
    r = soap_svc_reply(&w->s, buf_str(&b), b.len);
    buf_free(&b);
    free(c);
    free(np);
    return r;
}

enum MHD_Result rollup_get_out_of_sync_computers(struct wusp_ctx *w)
{
    const char *ns = w->s.info->ns;
    struct rdec d = {w, 0, ""};
    char reporter[37], parent[37], err[512];
    char(*ids)[ROLLUP_MAX_ID + 1] = NULL;
    long *nums = NULL;
    unsigned char *out = NULL;
    const xmlNode *list;
    enum rollup_result rc = ROLLUP_DB_ERROR;
    enum MHD_Result r;
    size_t n, i = 0, k, found = 0;
    xmlNodePtr e;
    struct buf b;
    PGconn *db;
    int on;

    if (rollup_auth(w, reporter, &r) < 0)
        return r;
    rdec_guid(&d, w->op, "parentServerId", 0, parent);
    if (d.bad)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s", d.msg);
    n = rollup_list(w, "lastRollupNumbers", "ComputerLastRollupNumber", ROLLUP_BATCH_OUT_OF_SYNC,
                    "GetOutOfSyncComputersMaxBatchSize", &list, &r);
    if (n == (size_t)-1)
        return r;
    ids = xcalloc(n + 1, sizeof(*ids));
    nums = xcalloc(n + 1, sizeof(*nums));
    for (e = xml_child(list, ns, "ComputerLastRollupNumber"); e != NULL && i < n && !d.bad;
         e = xml_next(e, ns, "ComputerLastRollupNumber")) {
        if (soap_is_nil(e))
            continue;
        rdec_text(&d, e, "ComputerId", 1, ids[i], sizeof(ids[i]));
        nums[i] = rdec_long(&d, e, "RollupNumber", 0, 2147483647L);
        i++;
    }
    if (d.bad) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "lastRollupNumbers: entry %zu: %s",
                           i, d.msg);
        goto out;
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    out = xcalloc(i + 1, 1);
    on = rollup_detailed(w, db, &r);
    if (on > 0)
        rc = rollup_out_of_sync(db, reporter, parent, (const char(*)[ROLLUP_MAX_ID + 1]) ids, nums,
                                i, out, err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    if (on <= 0 || rollup_fault(w, rc, err, SOAP_ERR_INVALID_PARAMETERS, &r) < 0)
        goto out;
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<GetOutOfSyncComputersResult>");
    for (k = 0; k < i; k++)
        if (out[k]) {
            buf_add_str(&b, "<string>");
            buf_add_xml_text(&b, ids[k], strlen(ids[k]));
            buf_add_str(&b, "</string>");
            found++;
        }
    if (buf_add_str(&b, "</GetOutOfSyncComputersResult>") < 0)
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too long");
    else
        r = soap_svc_reply(&w->s, buf_str(&b), b.len);
    buf_free(&b);
    log_info("rollup: %zu of %zu computers out of sync for downstream %s (%s)", found, i, reporter,
             w->s.peer);
out:
    free(ids);
    free(nums);
    free(out);
    return r;
}

/* One ComputerStatusRollupInfo into c, its statuses appended to st (room checked before). */
static void rollup_decode_status(struct rdec *d, const xmlNode *e, struct rollup_computer_status *c,
                                 struct rollup_status *st, size_t *nst)
{
    const char *ns = d->w->s.info->ns;
    const xmlNode *us = wusp_child(d->w, e, "UpdateStatus");
    char inst[37];
    xmlNodePtr u;

    memset(c, 0, sizeof(*c));
    rdec_guid(d, e, "InstanceId", 0, inst);
    rdec_text(d, e, "ComputerId", 1, c->id, sizeof(c->id));
    if (!d->bad && c->id[0] == '\0')
        rdec_fail(d, "ComputerId: empty");
    rdec_time(d, e, "EffectiveLastDetectionTime", c->effective_detection);
    c->rollup_number = rdec_long(d, e, "RollupNumber", 1, 2147483647L);
    c->full = rdec_bool(d, e, "IsFullRollup");
    c->first = *nst;
    for (u = us != NULL ? xml_child(us, ns, "ComputerStatusRollupUpdateStatus") : NULL;
         u != NULL && !d->bad; u = xml_next(u, ns, "ComputerStatusRollupUpdateStatus")) {
        struct rollup_status *s = &st[*nst];

        if (soap_is_nil(u))
            continue;
        rdec_guid(d, u, "UpdateId", 0, s->update_id);
        s->state = (int)rdec_long(d, u, "SummarizationState", 0, 6);
        rdec_time(d, u, "LastChangeTime", s->last_change);
        (*nst)++;
    }
    c->n = *nst - c->first;
}

enum MHD_Result rollup_computer_status(struct wusp_ctx *w)
{
    const char *ns = w->s.info->ns;
    struct rdec d = {w, 0, ""};
    struct rollup_computer_status *c = NULL;
    struct rollup_status *st = NULL;
    char reporter[37], parent[37], client_time[40], err[512];
    const xmlNode *list;
    enum rollup_result rc = ROLLUP_DB_ERROR;
    enum MHD_Result r;
    size_t n, i = 0, nst = 0, total = 0;
    xmlNodePtr e;
    PGconn *db;
    int on;

    if (rollup_auth(w, reporter, &r) < 0)
        return r;
    rdec_time(&d, w->op, "clientTime", client_time);
    rdec_guid(&d, w->op, "parentServerId", 0, parent);
    if (d.bad)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s", d.msg);
    n = rollup_list(w, "computers", "ComputerStatusRollupInfo", ROLLUP_BATCH_STATUS,
                    "RollupComputerStatusMaxBatchSize", &list, &r);
    if (n == (size_t)-1)
        return r;
    for (e = xml_child(list, ns, "ComputerStatusRollupInfo"); e != NULL;
         e = xml_next(e, ns, "ComputerStatusRollupInfo")) {
        const xmlNode *us = wusp_child(w, e, "UpdateStatus");

        if (us != NULL)
            total += soap_count(us, ns, "ComputerStatusRollupUpdateStatus",
                                ROLLUP_MAX_STATUSES_PER_REQUEST);
        if (total > ROLLUP_MAX_STATUSES_PER_REQUEST)
            return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                                  "computers: more than %d update statuses in one request",
                                  ROLLUP_MAX_STATUSES_PER_REQUEST);
    }
    c = xcalloc(n + 1, sizeof(*c));
    st = xcalloc(total + 1, sizeof(*st));
    for (e = xml_child(list, ns, "ComputerStatusRollupInfo"); e != NULL && i < n && !d.bad;
         e = xml_next(e, ns, "ComputerStatusRollupInfo"))
        if (!soap_is_nil(e))
            rollup_decode_status(&d, e, &c[i++], st, &nst);
    if (d.bad) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "computers: computer %zu: %s", i,
                           d.msg);
        goto out;
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    on = rollup_detailed(w, db, &r);
    if (on > 0)
        rc = rollup_status_store(db, reporter, parent, c, i, st, client_time, err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    if (on <= 0 || rollup_fault(w, rc, err, SOAP_ERR_INVALID_PARAMETERS, &r) < 0)
        goto out;
    log_info("rollup: status of %zu computers (%zu updates) from downstream %s (%s)", i, nst,
             reporter, w->s.peer);
    {
        static const char res[] = "<RollupComputerStatusResult>true</RollupComputerStatusResult>";

        r = soap_svc_reply(&w->s, res, sizeof(res) - 1);
    }
out:
    free(c);
    free(st);
    return r;
}
