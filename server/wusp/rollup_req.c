/*
 * rollup_req: decoding of the reporting rollup requests (see rollup_req.h).
 */
#include "rollup_req.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "soap.h"
#include "strutil.h"
#include "xmalloc.h"

/* The decoding of one request: the first problem found, in words. */
struct rdec {
    const char *ns; /* namespace of the request's elements */
    int bad;
    char msg[256];
};

/* Child element name of parent (NULL parent: none), NULL when absent or nil. */
static const xmlNode *rdec_child(const struct rdec *d, const xmlNode *parent, const char *name)
{
    xmlNodePtr n = parent != NULL ? xml_child(parent, d->ns, name) : NULL;

    return n != NULL && !soap_is_nil(n) ? n : NULL;
}

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

/* Put "what N: " before the message of a failure in the N-th entry of a list. */
static void rdec_prefix(struct rdec *d, const char *what, size_t n)
{
    char m[sizeof(d->msg)];

    if (snprintf(m, sizeof(m), "%s %zu: %s", what, n, d->msg) >= (int)sizeof(m))
        m[sizeof(m) - 1] = '\0';
    str_copy_cut(d->msg, sizeof(d->msg), m);
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
        str_copy_cut(out, outlen, s);
}

/* Child element name of parent as text into out; required: absent is an error. */
static void rdec_text(struct rdec *d, const xmlNode *parent, const char *name, int required,
                      char *out, size_t outlen)
{
    const xmlNode *n = rdec_child(d, parent, name);
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
        str_copy_cut(out, 40, s);
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

/* One DownstreamServerRollupClientSummary: its activity appended to act (room counted). */
static void rollup_decode_summary(struct rdec *d, const xmlNode *cs, struct rollup_activity *act,
                                  size_t *nact)
{
    static const char *const os[5] = {"OSMajorVersion", "OSMinorVersion", "OSBuildNumber",
                                      "OSServicePackMajorNumber", "OSServicePackMinorNumber"};
    const char *it = "DownstreamServerRollupClientActivitySummary";
    const xmlNode *list = rdec_child(d, cs, "ActivitySummaries");
    char locale[64], arch[51], key[128];
    long v[5];
    size_t k;
    xmlNodePtr e;

    for (k = 0; k < 5; k++)
        v[k] = rdec_long(d, cs, os[k], 0, 2147483647L);
    rdec_text(d, cs, "OSLocale", 0, locale, sizeof(locale));
    rdec_long(d, cs, "SuiteMask", -32768, 32767);
    rdec_long(d, cs, "OldProductType", 0, 255);
    rdec_long(d, cs, "NewProductType", -2147483647L - 1, 2147483647L);
    rdec_long(d, cs, "SystemMetrics", -2147483647L - 1, 2147483647L);
    rdec_text(d, cs, "ProcessorArchitecture", 0, arch, sizeof(arch));
    rdec_long(d, cs, "Count", 0, 2147483647L);
    if (d->bad)
        return;
    if (snprintf(key, sizeof(key), "%ld.%ld.%ld.%ld.%ld %s %s", v[0], v[1], v[2], v[3], v[4],
                 locale, arch) >= (int)sizeof(key)) {
        rdec_fail(d, "OSLocale: too long");
        return;
    }
    for (e = list != NULL ? xml_child(list, d->ns, it) : NULL; e != NULL && !d->bad;
         e = xml_next(e, d->ns, it)) {
        struct rollup_activity *a = &act[*nact];

        if (soap_is_nil(e))
            continue;
        rdec_guid(d, e, "UpdateId", 0, a->update_id);
        rdec_long(d, e, "RevisionNumber", 0, 2147483647L);
        a->installs = rdec_long(d, e, "InstallSuccessCount", 0, 2147483647L);
        a->failures = rdec_long(d, e, "InstallFailureCount", 0, 2147483647L);
        str_copy_cut(a->os, sizeof(a->os), key);
        (*nact)++;
    }
}

/* One DownstreamServerRollupInfo into s, its client activity appended to act. */
static void rollup_decode_server(struct rdec *d, const xmlNode *e, struct rollup_server *s,
                                 struct rollup_activity *act, size_t *nact)
{
    const xmlNode *summaries = rdec_child(d, e, "ClientSummaries");
    xmlNodePtr cs;
    const xmlNode *sum = rdec_child(d, e, "ServerSummary");
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
    s->first_activity = *nact;
    for (cs = summaries != NULL ? xml_child(summaries, d->ns, "DownstreamServerRollupClientSummary")
                                : NULL;
         cs != NULL && !d->bad; cs = xml_next(cs, d->ns, "DownstreamServerRollupClientSummary"))
        if (!soap_is_nil(cs))
            rollup_decode_summary(d, cs, act, nact);
    s->nactivity = *nact - s->first_activity;
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
        const char *ns = d->ns;
        const xmlNode *g = rdec_child(d, det, "TargetGroupIdList");
        const xmlNode *names = rdec_child(d, det, "RequestedTargetGroupNames");
        char gid[37];
        xmlNodePtr e;

        if ((g != NULL && soap_count(g, ns, "guid", COOKIE_MAX_GROUPS) > COOKIE_MAX_GROUPS) ||
            (names != NULL &&
             soap_count(names, ns, "string", COOKIE_MAX_GROUPS) > COOKIE_MAX_GROUPS))
            rdec_fail(d, "Details: more than %d target groups", COOKIE_MAX_GROUPS);
        for (e = g != NULL ? xml_child(g, ns, "guid") : NULL; e != NULL && !d->bad;
             e = xml_next(e, ns, "guid")) {
            char *t = soap_text(e, 64);

            rdec_guid_str(d, t != NULL ? str_trim(t) : NULL, "TargetGroupIdList", 0, gid);
            free(t);
        }
        /* 3.1.4.15.3.3: no name longer than 256 characters (4 UTF-8 bytes each at most) */
        for (e = names != NULL ? xml_child(names, ns, "string") : NULL; e != NULL && !d->bad;
             e = xml_next(e, ns, "string")) {
            char *t = soap_text(e, 1024);
            size_t chars = 0;
            const char *q;

            for (q = t; q != NULL && *q != '\0'; q++)
                chars += ((unsigned char)*q & 0xc0) != 0x80;
            if (t == NULL || chars > 256 || !rdec_printable(t))
                rdec_fail(d, "RequestedTargetGroupNames: a name longer than 256 characters or "
                             "holding control characters");
            free(t);
        }
    }
}

/* One ComputerRollupInfo into c. */
static void rollup_decode_computer(struct rdec *d, const xmlNode *e, struct rollup_computer *c)
{
    const xmlNode *det = rdec_child(d, e, "Details");

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

/* One ComputerStatusRollupInfo into c, its statuses appended to st (room checked before). */
static void rollup_decode_status(struct rdec *d, const xmlNode *e, struct rollup_computer_status *c,
                                 struct rollup_status *st, size_t *nst)
{
    const char *ns = d->ns;
    const xmlNode *us = rdec_child(d, e, "UpdateStatus");
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

/* The list element name of op ("MUST be present"), its item children counted against max. */
static const xmlNode *rdec_list(struct rdec *d, const xmlNode *op, const char *name,
                                const char *item, size_t max, const char *limit, size_t *n)
{
    const xmlNode *list = rdec_child(d, op, name);

    *n = 0;
    if (list == NULL) {
        rdec_fail(d, "%s: missing", name);
        return NULL;
    }
    *n = soap_count(list, d->ns, item, max);
    if (*n > max)
        rdec_fail(d, "%s: more than %zu %s (%s)", name, max, item, limit);
    return d->bad ? NULL : list;
}

static void rdec_servers(struct rdec *d, const xmlNode *op, struct rollup_req *rq)
{
    const char *it = "DownstreamServerRollupInfo";
    size_t n, activities = 0;
    const xmlNode *list = rdec_list(d, op, "downstreamServers", it, ROLLUP_MAX_SERVERS_PER_REQUEST,
                                    "servers in one request", &n);
    xmlNodePtr e;

    if (list == NULL)
        return;
    for (e = xml_child(list, d->ns, it); e != NULL; e = xml_next(e, d->ns, it)) {
        const char *csn = "DownstreamServerRollupClientSummary";
        const xmlNode *cs = rdec_child(d, e, "ClientSummaries");
        xmlNodePtr c;

        if (cs != NULL)
            rq->summaries += soap_count(cs, d->ns, csn, ROLLUP_BATCH_CLIENT_SUMMARIES);
        for (c = cs != NULL && rq->summaries <= ROLLUP_BATCH_CLIENT_SUMMARIES
                     ? xml_child(cs, d->ns, csn)
                     : NULL;
             c != NULL && activities <= ROLLUP_MAX_ACTIVITIES_PER_REQUEST;
             c = xml_next(c, d->ns, csn)) {
            const xmlNode *as = rdec_child(d, c, "ActivitySummaries");

            if (as != NULL)
                activities += soap_count(as, d->ns, "DownstreamServerRollupClientActivitySummary",
                                         ROLLUP_MAX_ACTIVITIES_PER_REQUEST);
        }
        if (activities > ROLLUP_MAX_ACTIVITIES_PER_REQUEST) {
            rdec_fail(d,
                      "downstreamServers: more than %d "
                      "DownstreamServerRollupClientActivitySummary in one request",
                      ROLLUP_MAX_ACTIVITIES_PER_REQUEST);
            return;
        }
        if (rq->summaries > ROLLUP_BATCH_CLIENT_SUMMARIES) {
            rdec_fail(d,
                      "downstreamServers: more than %d DownstreamServerRollupClientSummary in "
                      "one request (RollupDownstreamServersMaxBatchSize)",
                      ROLLUP_BATCH_CLIENT_SUMMARIES);
            return;
        }
    }
    rq->servers = xcalloc(n + 1, sizeof(*rq->servers));
    rq->act = xcalloc(activities + 1, sizeof(*rq->act));
    for (e = xml_child(list, d->ns, it); e != NULL && rq->nservers < n && !d->bad;
         e = xml_next(e, d->ns, it))
        if (!soap_is_nil(e))
            rollup_decode_server(d, e, &rq->servers[rq->nservers++], rq->act, &rq->nact);
    if (d->bad)
        rdec_prefix(d, "downstreamServers: server", rq->nservers);
}

static void rdec_computers(struct rdec *d, const xmlNode *op, struct rollup_req *rq)
{
    const char *it = "ComputerRollupInfo";
    size_t n;
    const xmlNode *list = rdec_list(d, op, "computers", it, ROLLUP_BATCH_COMPUTERS,
                                    "RollupComputersMaxBatchSize", &n);
    xmlNodePtr e;

    if (list == NULL)
        return;
    rq->computers = xcalloc(n + 1, sizeof(*rq->computers));
    for (e = xml_child(list, d->ns, it); e != NULL && rq->ncomputers < n && !d->bad;
         e = xml_next(e, d->ns, it))
        if (!soap_is_nil(e))
            rollup_decode_computer(d, e, &rq->computers[rq->ncomputers++]);
    if (d->bad)
        rdec_prefix(d, "computers: computer", rq->ncomputers);
}

static void rdec_out_of_sync(struct rdec *d, const xmlNode *op, struct rollup_req *rq)
{
    const char *it = "ComputerLastRollupNumber";
    size_t n;
    const xmlNode *list = rdec_list(d, op, "lastRollupNumbers", it, ROLLUP_BATCH_OUT_OF_SYNC,
                                    "GetOutOfSyncComputersMaxBatchSize", &n);
    xmlNodePtr e;

    if (list == NULL)
        return;
    rq->ids = xcalloc(n + 1, sizeof(*rq->ids));
    rq->numbers = xcalloc(n + 1, sizeof(*rq->numbers));
    for (e = xml_child(list, d->ns, it); e != NULL && rq->nids < n && !d->bad;
         e = xml_next(e, d->ns, it)) {
        if (soap_is_nil(e))
            continue;
        rdec_text(d, e, "ComputerId", 1, rq->ids[rq->nids], sizeof(rq->ids[rq->nids]));
        rq->numbers[rq->nids] = rdec_long(d, e, "RollupNumber", 0, 2147483647L);
        rq->nids++;
    }
    if (d->bad)
        rdec_prefix(d, "lastRollupNumbers: entry", rq->nids);
}

static void rdec_statuses(struct rdec *d, const xmlNode *op, struct rollup_req *rq)
{
    const char *it = "ComputerStatusRollupInfo", *us = "ComputerStatusRollupUpdateStatus";
    size_t n, total = 0;
    const xmlNode *list = rdec_list(d, op, "computers", it, ROLLUP_BATCH_STATUS,
                                    "RollupComputerStatusMaxBatchSize", &n);
    xmlNodePtr e;

    if (list == NULL)
        return;
    for (e = xml_child(list, d->ns, it); e != NULL; e = xml_next(e, d->ns, it)) {
        const xmlNode *u = rdec_child(d, e, "UpdateStatus");

        if (u != NULL)
            total += soap_count(u, d->ns, us, ROLLUP_MAX_STATUSES_PER_REQUEST);
        if (total > ROLLUP_MAX_STATUSES_PER_REQUEST) {
            rdec_fail(d, "computers: more than %d update statuses in one request",
                      ROLLUP_MAX_STATUSES_PER_REQUEST);
            return;
        }
    }
    rq->status = xcalloc(n + 1, sizeof(*rq->status));
    rq->st = xcalloc(total + 1, sizeof(*rq->st));
    for (e = xml_child(list, d->ns, it); e != NULL && rq->nstatus < n && !d->bad;
         e = xml_next(e, d->ns, it))
        if (!soap_is_nil(e))
            rollup_decode_status(d, e, &rq->status[rq->nstatus++], rq->st, &rq->nst);
    if (d->bad)
        rdec_prefix(d, "computers: computer", rq->nstatus);
}

int rollup_req_decode(enum rollup_req_op kind, const char *ns, const xmlNode *op,
                      struct rollup_req *rq)
{
    struct rdec d;

    memset(rq, 0, sizeof(*rq));
    memset(&d, 0, sizeof(d));
    d.ns = ns;
    if (kind != ROLLUP_REQ_OUT_OF_SYNC)
        rdec_time(&d, op, "clientTime", rq->client_time);
    if (kind == ROLLUP_REQ_OUT_OF_SYNC || kind == ROLLUP_REQ_STATUS)
        rdec_guid(&d, op, "parentServerId", 0, rq->parent);
    if (!d.bad) {
        switch (kind) {
        case ROLLUP_REQ_SERVERS:
            rdec_servers(&d, op, rq);
            break;
        case ROLLUP_REQ_COMPUTERS:
            rdec_computers(&d, op, rq);
            break;
        case ROLLUP_REQ_OUT_OF_SYNC:
            rdec_out_of_sync(&d, op, rq);
            break;
        case ROLLUP_REQ_STATUS:
            rdec_statuses(&d, op, rq);
            break;
        }
    }
    if (!d.bad)
        return 0;
    str_copy_cut(rq->msg, sizeof(rq->msg), d.msg);
    return -1;
}

void rollup_req_free(struct rollup_req *rq)
{
    free(rq->servers);
    free(rq->act);
    free(rq->computers);
    free(rq->ids);
    free(rq->numbers);
    free(rq->status);
    free(rq->st);
    memset(rq, 0, sizeof(*rq));
}
