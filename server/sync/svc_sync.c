/*
 * svc_sync: the operations of the Server Sync web service (MS-WSUSSS 3.1.4): GetAuthConfig,
 * GetCookie, GetConfigData, GetRevisionIdList and GetDeployments (streamed from cursors),
 * GetUpdateData (budgeted to ~2 MB), GetUpdateDecryptionData, DownloadFiles,
 * GetRelatedRevisionsForUpdates (ignored, as the spec says) and Ping. Each one validates in the
 * order of the spec's table, then answers in the element order of the WSDL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "anchor.h"
#include "db.h"
#include "downstream_report.h"
#include "hierarchy.h"
#include "log.h"
#include "scheduler.h"
#include "settings.h"
#include "soap_catalog.h"
#include "soap_stream.h"
#include "soap_svc.h"
#include "svc.h"
#include "strutil.h"
#include "sync_query.h"

enum MHD_Result svc_get_auth_config(struct soap_ctx *x)
{
    char ts[32], res[512];
    int n;

    /* the authorization setup never changes: the catalog's creation, the same on every
       front-end sharing the database and across restarts */
    soap_datetime_format(x->srv->catalog_created, 0, ts);
    n = snprintf(res, sizeof(res),
                 "<GetAuthConfigResult><LastChange>%s</LastChange><AuthInfo><AuthPlugInInfo>"
                 "<PlugInID>DssTargeting</PlugInID><ServiceUrl>DssAuthWebService/"
                 "DssAuthWebService.asmx</ServiceUrl><Parameter /></AuthPlugInInfo></AuthInfo>"
                 "</GetAuthConfigResult>",
                 ts);
    return soap_svc_reply(x, res, (size_t)n);
}

enum MHD_Result svc_get_cookie(struct soap_ctx *x)
{
    struct cookie_claims auth, cl;
    unsigned char own[16], sealed[COOKIE_MAX_BYTES];
    char guid[37], ts[32], ver[24];
    size_t slen;
    enum cookie_status st;
    PGconn *db = NULL;
    struct buf b;
    enum MHD_Result r;
    char *name;
    int allowed;
    int64_t now = (int64_t)time(NULL);

    if (x->call.n_auth_cookies != 1)
        return soap_svc_fault(x, SOAP_ERR_INVALID_PARAMETERS,
                              "authCookies: exactly one AuthorizationCookie is expected, got %zu",
                              x->call.n_auth_cookies);
    if (soap_guid_parse(x->srv->server_id, own) < 0)
        return soap_svc_fault(x, SOAP_ERR_INTERNAL, "this server has no valid server id");
    st = x->call.auth_decoded ? cookie_open(x->srv->cookie_key, COOKIE_AUTH, own,
                                            x->call.auth_cookie, x->call.auth_len, now, &auth)
                              : COOKIE_BAD;
    if (st != COOKIE_OK)
        return soap_svc_fault(x, SOAP_ERR_INVALID_AUTH_COOKIE,
                              "authCookies: %s; start again with GetAuthorizationCookie",
                              st == COOKIE_EXPIRED ? "the authorization cookie expired"
                              : st == COOKIE_FOREIGN
                                  ? "the authorization cookie was issued by another server"
                                  : "CookieData is not an authorization cookie of this server");
    if (x->call.proto_major == 0 && x->call.proto_minor == 0)
        return soap_svc_fault(x, SOAP_ERR_INVALID_PARAMETERS,
                              "protocolVersion: must be \"major.minor\", e.g. 1.20");
    if (x->call.proto_major != 1)
        return soap_svc_fault(x, SOAP_ERR_INCOMPATIBLE_PROTOCOL,
                              "protocolVersion: %u.%u; this server speaks 1.x (%s)",
                              x->call.proto_major, x->call.proto_minor, SOAP_PROTOCOL_VERSION);
    str_guid_format(auth.dss_guid, guid);
    db = soap_svc_db(x, &r);
    if (db == NULL)
        return r;
    name = downstream_report_name(db, guid);
    allowed = soapcat_downstream_allowed(db, guid, name, x->peer);
    if (allowed <= 0) {
        r = allowed < 0 ? soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error")
                        : soap_svc_fault(x, SOAP_ERR_INVALID_AUTH_COOKIE,
                                         "authCookies: downstream server %s (%s) is no longer "
                                         "allowed to synchronize from this server",
                                         name ? name : "?", guid);
        free(name);
        goto out;
    }
    free(name);
    snprintf(ver, sizeof(ver), "%u.%u", x->call.proto_major, x->call.proto_minor);
    /* a server pointed at itself is told so by its loop check: not one of its downstreams */
    if (strcasecmp(guid, x->srv->server_id) != 0 && downstream_report_cookie(db, guid, ver) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while recording the downstream");
        goto out;
    }
    cl = auth;
    cl.issued = now;
    cl.expires =
        now + SOAP_COOKIE_LIFETIME < auth.expires ? now + SOAP_COOKIE_LIFETIME : auth.expires;
    cl.proto_major = x->call.proto_major;
    cl.proto_minor = x->call.proto_minor;
    if (cookie_seal(x->srv->cookie_key, COOKIE_SESSION, &cl, sealed, sizeof(sealed), &slen) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "cannot seal the cookie");
        goto out;
    }
    soap_datetime_format((time_t)cl.expires, 0, ts);
    buf_init(&b, 8192);
    buf_printf(&b, "<GetCookieResult><Expiration>%s</Expiration><EncryptedData>", ts);
    soap_b64_append(&b, sealed, slen);
    buf_add_str(&b, "</EncryptedData></GetCookieResult>");
    r = soap_svc_reply(x, b.data, b.len);
    buf_free(&b);
out:
    soap_svc_db_put(x, db);
    return r;
}

/* Cookie check + a pooled connection + last_contact. NULL after queuing a fault into *r. */
static PGconn *svc_begin(struct soap_ctx *x, struct cookie_claims *cl, int synced,
                         enum MHD_Result *r)
{
    PGconn *db;
    char guid[37];

    if (soap_svc_check(x, cl, r) < 0)
        return NULL;
    db = soap_svc_db(x, r);
    if (db == NULL)
        return NULL;
    str_guid_format(cl->dss_guid, guid);
    if (downstream_report_touch(db, guid, synced) < 0)
        log_warnx("soap: cannot record the last contact of downstream server %s", guid);
    return db;
}

enum MHD_Result svc_get_config_data(struct soap_ctx *x)
{
    struct cookie_claims cl;
    struct buf langs, b;
    char anchor[64];
    int64_t cfg;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, 0, &r);
    int catalog_only, lazy;
    char *hier, *sub;

    if (db == NULL)
        return r;
    buf_init(&langs, 64 * 1024);
    buf_init(&b, 128 * 1024);
    /* the admin's storage and download settings (common/db/settings.c) */
    catalog_only = settings_stored_is(db, "storage", "microsoft-update", 0);
    lazy = !settings_stored_is(db, "download", "all", 0);
    if (soapcat_languages(db, &langs, &cfg) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while reading languages");
        goto out;
    }
    anchor_format(cfg, time(NULL), anchor, sizeof(anchor));
    buf_printf(&b,
               "<GetConfigDataResult><CatalogOnlySync>%s</CatalogOnlySync><LazySync>%s</LazySync>"
               "<ServerHostsPsfFiles>false</ServerHostsPsfFiles>"
               "<MaxNumberOfComputerIdsInRequest>0</MaxNumberOfComputerIdsInRequest>"
               "<MaxNumberOfDriverSetsPerRequest>0</MaxNumberOfDriverSetsPerRequest>"
               "<MaxNumberOfPnpHardwareIdsInRequest>0</MaxNumberOfPnpHardwareIdsInRequest>"
               "<MaxNumberOfUpdatesPerRequest>%d</MaxNumberOfUpdatesPerRequest>"
               "<NewConfigAnchor>%s</NewConfigAnchor><ProtocolVersion>%s</ProtocolVersion>",
               catalog_only ? "true" : "false", lazy ? "true" : "false", SOAPREQ_MAX_UPDATE_IDS,
               anchor, SOAP_PROTOCOL_VERSION);
    /* with an unchanged config anchor the language list comes back empty, as on Windows */
    if (x->call.has_anchor && x->call.anchor == cfg)
        buf_add_str(&b, "<LanguageUpdateList />");
    else
        buf_printf(&b, "<LanguageUpdateList>%s</LanguageUpdateList>", buf_str(&langs));
    buf_printf(&b,
               "<MaxUpdatesPerRequestInGetUpdateDecryptionData>%d"
               "</MaxUpdatesPerRequestInGetUpdateDecryptionData></GetConfigDataResult>",
               SOAPREQ_MAX_DECRYPTION_IDS);
    /* who we are and what is above us, for the downstream's loop check (not in MS-WSUSSS) */
    hier = hier_publish(db, x->srv->server_id);
    sub = hier_subscription_publish(db);
    x->hierarchy = hier;
    x->subscription = sub;
    r = soap_svc_reply(x, b.data, b.len);
    x->hierarchy = NULL;
    x->subscription = NULL;
    free(hier);
    free(sub);
out:
    buf_free(&langs);
    buf_free(&b);
    soap_svc_db_put(x, db);
    return r;
}

/* "<?xml ...><soap:Body><OpResponse xmlns=...><OpResult>" */
static void svc_stream_head(struct soap_stream *s, const struct soap_ctx *x, const char *extra)
{
    char *head = NULL;
    size_t n = strlen(SOAP_RESPONSE_HEAD) + strlen(x->info->name) * 2 + strlen(x->info->ns) +
               strlen(extra) + 64;

    head = malloc(n);
    if (head == NULL)
        abort();
    snprintf(head, n, "%s<%sResponse xmlns=\"%s\"><%sResult>%s", SOAP_RESPONSE_HEAD, x->info->name,
             x->info->ns, x->info->name, extra);
    soap_stream_text(s, head);
    free(head);
}

static void svc_stream_tail(struct soap_stream *s, const struct soap_ctx *x)
{
    char tail[160];

    snprintf(tail, sizeof(tail), "</%sResult></%sResponse>" SOAP_RESPONSE_TAIL, x->info->name,
             x->info->name);
    soap_stream_text(s, tail);
}

enum MHD_Result svc_get_revision_id_list(struct soap_ctx *x)
{
    struct cookie_claims cl;
    struct soap_stream *s;
    char anchor[64], extra[96];
    int64_t seq;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, !x->call.get_config, &r);

    if (db == NULL)
        return r;
    if (db_change_horizon(db, &seq) < 0 || soapcat_open_revisions(db, &x->call) < 0) {
        soap_svc_db_put(x, db);
        return soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while listing revisions");
    }
    anchor_format(seq, time(NULL), anchor, sizeof(anchor));
    snprintf(extra, sizeof(extra), "<Anchor>%s</Anchor>", anchor);
    s = soap_stream_new(x->srv->pool, db);
    svc_stream_head(s, x, extra);
    soap_stream_cursor(s, "revs", "<NewRevisions>", "</NewRevisions>", "<NewRevisions />",
                       soapcat_row_identity);
    svc_stream_tail(s, x);
    return soap_stream_respond(x->req, s);
}

enum MHD_Result svc_get_update_data(struct soap_ctx *x)
{
    struct cookie_claims cl;
    struct buf b;
    char missing[128];
    size_t served = 0;
    enum soapcat_result res;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, 0, &r);

    if (db == NULL)
        return r;
    buf_init(&b, SOAP_REPLY_MAX - 4096);
    buf_add_str(&b, "<GetUpdateDataResult>");
    res = soapcat_update_data(db, x->call.ids, x->call.nids, &b, &served, missing, sizeof(missing));
    soap_svc_db_put(x, db);
    if (res == SOAPCAT_UNKNOWN)
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL,
                           "updateIds: update %s is not in this server's catalog", missing);
    else if (res != SOAPCAT_OK || buf_add_str(&b, "</GetUpdateDataResult>") < 0)
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while reading update metadata");
    else {
        if (served < x->call.nids)
            log_info("soap: GetUpdateData from %s: answered %zu of %zu updates to stay near "
                     "%u bytes; the downstream asks again for the rest",
                     x->peer, served, x->call.nids, SOAPCAT_UPDATE_DATA_BUDGET);
        r = soap_svc_reply(x, b.data, b.len);
    }
    buf_free(&b);
    return r;
}

enum MHD_Result svc_get_update_decryption_data(struct soap_ctx *x)
{
    struct cookie_claims cl;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, 0, &r);
    static const char res[] = "<GetUpdateDecryptionDataResult><UpdateFileDecryptionData />"
                              "</GetUpdateDecryptionDataResult>";

    if (db == NULL)
        return r;
    soap_svc_db_put(x, db);
    /* this catalog holds no encrypted content, so there is no key to hand out */
    return soap_svc_reply(x, res, sizeof(res) - 1);
}

enum MHD_Result svc_download_files(struct soap_ctx *x)
{
    struct cookie_claims cl;
    struct buf missing;
    size_t nmissing = 0;
    int queued = 0;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, 0, &r);

    if (db == NULL)
        return r;
    buf_init(&missing, 64 * 1024);
    if (soapcat_queue_files(db, (const unsigned char(*)[20])x->call.digests, x->call.ndigests,
                            &missing, &nmissing) < 0) {
        r = soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while queuing downloads");
    } else {
        queued = nmissing < x->call.ndigests; /* known digests were queued */
        if (nmissing > 0) {
            r = soap_svc_fault(x, SOAP_ERR_FILE_DIGESTS_MISSING, "%s", buf_str(&missing));
        } else {
            log_info("soap: DownloadFiles from %s: %zu file(s) queued for download", x->peer,
                     x->call.ndigests);
            r = soap_svc_reply(x, "", 0);
        }
    }
    if (queued) {
        /* fetch the known ones from our own upstream soon, not at the next scheduled sync */
        char *up = settings_get(db, "upstream");
        if (up != NULL && up[0] != '\0')
            scheduler_files_requested(x->srv->sched);
        free(up);
    }
    buf_free(&missing);
    soap_svc_db_put(x, db);
    return r;
}

enum MHD_Result svc_get_deployments(struct soap_ctx *x)
{
    struct cookie_claims cl;
    struct soap_stream *s;
    char anchor[64], extra[96];
    int64_t seq, sync, out_anchor;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, 0, &r);

    if (db == NULL)
        return r;
    if (db_change_horizon(db, &seq) < 0) {
        soap_svc_db_put(x, db);
        return soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while reading deployments");
    }
    /* deployments are sent up to the revision list the downstream already has (syncAnchor) */
    sync = x->call.sync_anchor < seq ? x->call.sync_anchor : seq;
    out_anchor = x->call.has_anchor && x->call.anchor > sync ? x->call.anchor : sync;
    if (sync_query_open_deployments(db, x->call.has_anchor, x->call.anchor, sync) < 0) {
        soap_svc_db_put(x, db);
        return soap_svc_fault(x, SOAP_ERR_INTERNAL, "catalog error while reading deployments");
    }
    anchor_format(out_anchor, time(NULL), anchor, sizeof(anchor));
    snprintf(extra, sizeof(extra), "<Anchor>%s</Anchor>", anchor);
    s = soap_stream_new(x->srv->pool, db);
    svc_stream_head(s, x, extra);
    soap_stream_cursor(s, "grp", "<Groups>", "</Groups>", "<Groups />", soapcat_row_group);
    soap_stream_cursor(s, "dep", "<Deployments>", "</Deployments>", "<Deployments />",
                       soapcat_row_deployment);
    soap_stream_cursor(s, "dead", "<DeadDeployments>", "</DeadDeployments>", "<DeadDeployments />",
                       soapcat_row_guid);
    soap_stream_cursor(s, "hid", "<HiddenUpdates>", "</HiddenUpdates>", "<HiddenUpdates />",
                       soapcat_row_guid);
    soap_stream_cursor(s, "eula", "<AcceptedEulas>", "</AcceptedEulas>", "<AcceptedEulas />",
                       soapcat_row_guid);
    svc_stream_tail(s, x);
    return soap_stream_respond(x->req, s);
}

enum MHD_Result svc_get_related_revisions(struct soap_ctx *x)
{
    struct cookie_claims cl;
    enum MHD_Result r;
    PGconn *db = svc_begin(x, &cl, 0, &r);
    static const char res[] = "<GetRelatedRevisionsForUpdatesResult />";

    if (db == NULL)
        return r;
    soap_svc_db_put(x, db);
    /* "This method is not used in the protocol. The USS MUST ignore it" (3.1.4.9) */
    return soap_svc_reply(x, res, sizeof(res) - 1);
}

enum MHD_Result svc_ping(struct soap_ctx *x)
{
    char now[32], res[1024];
    struct timespec ts;
    int n;

    if (x->call.param_err != SOAP_ERR_NONE)
        return soap_svc_fault(x, x->call.param_err, "%s", x->call.param_msg);
    clock_gettime(CLOCK_REALTIME, &ts);
    soap_datetime_format(ts.tv_sec, ts.tv_nsec / 1000000, now);
    n = snprintf(res, sizeof(res),
                 "<PingResult><SuccessFlag>true</SuccessFlag><ServicesTime>%s</ServicesTime>"
                 "<ServicesName>wsusd</ServicesName><IsHttps>false</IsHttps>"
                 "<RequestContentType>text/xml</RequestContentType>"
                 "<ConfigFileLastModifiedTime>%s</ConfigFileLastModifiedTime>"
                 "<ConfigFileVersion>%s</ConfigFileVersion>"
                 "<ConfigFileNextExpirationTime>9999-12-31T23:59:59.999Z"
                 "</ConfigFileNextExpirationTime>"
                 "<ConfigFileExpirationModuloInMinutes>0</ConfigFileExpirationModuloInMinutes>"
                 "</PingResult>",
                 now, now, WSUSD_VERSION);
    return soap_svc_reply(x, res, (size_t)n);
}
