/*
 * svc_rollup: the reporting rollup operations of MS-WSUSSS 3.1.4.13-3.1.4.17 on the Reporting
 * web service (dispatched by wusp_svc.c). The caller is a downstream server identified by the
 * server-to-server cookie of its GetCookie (the spec's fixed empty cookie identifies nobody:
 * InvalidCookie). Requests are decoded by rollup_req.c (bounded; a bad value anywhere refuses
 * the whole request: InvalidParameters naming the field) and nothing is stored then. Storage
 * rules: common/db/rollup.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "downstream_report.h"
#include "log.h"
#include "rollup.h"
#include "rollup_req.h"
#include "settings.h"
#include "strutil.h"
#include "wusp.h"
#include "xmalloc.h"

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
    if (ed != NULL && t == NULL) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE,
                            "cookie: EncryptedData is not a cookie this server issued");
        return -1;
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

/* DoDetailedRollup: the setting rollup-detailed (on unless it reads "off"). */
static int rollup_detailed_on(PGconn *db)
{
    char *v = settings_get(db, "rollup-detailed");
    int on = v != NULL && strcmp(v, "off") != 0;

    free(v);
    return on;
}

/* DoDetailedRollup for the three detailed calls: 1 on, or 0 after queuing the fault into *r. */
static int rollup_detailed(struct wusp_ctx *w, PGconn *db, enum MHD_Result *r)
{
    int on = rollup_detailed_on(db);

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
    on = rollup_detailed_on(db);
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

/* Decode the request of kind into rq: 0, or -1 after queuing InvalidParameters into *r. */
static int rollup_decode(struct wusp_ctx *w, enum rollup_req_op kind, struct rollup_req *rq,
                         enum MHD_Result *r)
{
    if (rollup_req_decode(kind, w->s.info->ns, w->op, rq) == 0)
        return 0;
    *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "%s", rq->msg);
    rollup_req_free(rq);
    return -1;
}

enum MHD_Result rollup_downstream_servers(struct wusp_ctx *w)
{
    struct rollup_req rq;
    char reporter[37], err[512];
    enum rollup_result rc;
    enum MHD_Result r;
    PGconn *db;

    if (rollup_auth(w, reporter, &r) < 0 || rollup_decode(w, ROLLUP_REQ_SERVERS, &rq, &r) < 0)
        return r;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    rc = rollup_servers_store(db, w->s.srv->server_id, reporter, rq.servers, rq.nservers, rq.act,
                              rq.client_time, err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    if (rollup_fault(w, rc, err, SOAP_ERR_INVALID_PARAMETERS, &r) < 0)
        goto out;
    log_info("rollup: %zu servers (%zu client summaries) from downstream %s (%s)", rq.nservers,
             rq.summaries, reporter, w->s.peer);
    r = soap_svc_reply(&w->s, "", 0);
out:
    rollup_req_free(&rq);
    return r;
}

enum MHD_Result rollup_computers(struct wusp_ctx *w)
{
    struct rollup_req rq;
    unsigned char *np = NULL;
    char reporter[37], err[512];
    enum rollup_result rc = ROLLUP_DB_ERROR;
    enum MHD_Result r;
    size_t k, changed = 0;
    struct buf b;
    PGconn *db;
    int on;

    if (rollup_auth(w, reporter, &r) < 0 || rollup_decode(w, ROLLUP_REQ_COMPUTERS, &rq, &r) < 0)
        return r;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    np = xcalloc(rq.ncomputers + 1, 1);
    on = rollup_detailed(w, db, &r);
    if (on > 0)
        rc = rollup_computers_store(db, reporter, rq.computers, rq.ncomputers, rq.client_time, np,
                                    err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    /* 3.1.4.15: an unknown ParentServerId is InternalServerError */
    if (on <= 0 || rollup_fault(w, rc, err, SOAP_ERR_INTERNAL, &r) < 0)
        goto out;
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<RollupComputersResult>");
    for (k = 0; k < rq.ncomputers; k++)
        if (np[k]) {
            buf_add_str(&b, "<ChangedComputer ComputerId=\"");
            buf_add_xml_attr(&b, rq.computers[k].id, strlen(rq.computers[k].id));
            buf_add_str(&b, "\" Change=\"NewParent\" />");
            changed++;
        }
    if (buf_add_str(&b, "</RollupComputersResult>") < 0)
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too long");
    else
        r = soap_svc_reply(&w->s, buf_str(&b), b.len);
    buf_free(&b);
    log_info("rollup: %zu computers (%zu NewParent) from downstream %s (%s)", rq.ncomputers,
             changed, reporter, w->s.peer);
out:
    free(np);
    rollup_req_free(&rq);
    return r;
}

enum MHD_Result rollup_get_out_of_sync_computers(struct wusp_ctx *w)
{
    struct rollup_req rq;
    unsigned char *out = NULL;
    char reporter[37], err[512];
    enum rollup_result rc = ROLLUP_DB_ERROR;
    enum MHD_Result r;
    size_t k, found = 0;
    struct buf b;
    PGconn *db;
    int on;

    if (rollup_auth(w, reporter, &r) < 0 || rollup_decode(w, ROLLUP_REQ_OUT_OF_SYNC, &rq, &r) < 0)
        return r;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto done;
    out = xcalloc(rq.nids + 1, 1);
    on = rollup_detailed(w, db, &r);
    if (on > 0)
        rc = rollup_out_of_sync(db, reporter, rq.parent, (const char(*)[ROLLUP_MAX_ID + 1]) rq.ids,
                                rq.numbers, rq.nids, out, err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    if (on <= 0 || rollup_fault(w, rc, err, SOAP_ERR_INVALID_PARAMETERS, &r) < 0)
        goto done;
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<GetOutOfSyncComputersResult>");
    for (k = 0; k < rq.nids; k++)
        if (out[k]) {
            buf_add_str(&b, "<string>");
            buf_add_xml_text(&b, rq.ids[k], strlen(rq.ids[k]));
            buf_add_str(&b, "</string>");
            found++;
        }
    if (buf_add_str(&b, "</GetOutOfSyncComputersResult>") < 0)
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too long");
    else
        r = soap_svc_reply(&w->s, buf_str(&b), b.len);
    buf_free(&b);
    log_info("rollup: %zu of %zu computers out of sync for downstream %s (%s)", found, rq.nids,
             reporter, w->s.peer);
done:
    free(out);
    rollup_req_free(&rq);
    return r;
}

enum MHD_Result rollup_computer_status(struct wusp_ctx *w)
{
    static const char res[] = "<RollupComputerStatusResult>true</RollupComputerStatusResult>";
    struct rollup_req rq;
    char reporter[37], err[512];
    enum rollup_result rc = ROLLUP_DB_ERROR;
    enum MHD_Result r;
    PGconn *db;
    int on;

    if (rollup_auth(w, reporter, &r) < 0 || rollup_decode(w, ROLLUP_REQ_STATUS, &rq, &r) < 0)
        return r;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    on = rollup_detailed(w, db, &r);
    if (on > 0)
        rc = rollup_status_store(db, reporter, rq.parent, rq.status, rq.nstatus, rq.st,
                                 rq.client_time, err, sizeof(err));
    soap_svc_db_put(&w->s, db);
    if (on <= 0 || rollup_fault(w, rc, err, SOAP_ERR_INVALID_PARAMETERS, &r) < 0)
        goto out;
    log_info("rollup: status of %zu computers (%zu updates) from downstream %s (%s)", rq.nstatus,
             rq.nst, reporter, w->s.peer);
    r = soap_svc_reply(&w->s, res, sizeof(res) - 1);
out:
    rollup_req_free(&rq);
    return r;
}
