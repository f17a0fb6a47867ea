/*
 * uss_request: the SOAP requests of the MS-WSUSSS client, built as text into a bounded buf.
 * One function per operation; values are XML-escaped, identities and digests written in the
 * forms the upstream expects. Sends nothing and decodes nothing (uss_transport.c, uss_answer.c).
 */
#include "uss_internal.h"

#include <string.h>
#include <time.h>

static void req_begin(struct buf *b, const char *op, const char *ns)
{
    buf_printf(b,
               "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
               "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><%s "
               "xmlns=\"%s\">",
               op, ns);
}

static void req_end(struct buf *b, const char *op)
{
    buf_printf(b, "</%s></soap:Body></soap:Envelope>", op);
}

static void req_elem(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, "<%s>", name);
    buf_add_xml_escaped(b, value, strlen(value));
    buf_printf(b, "</%s>", name);
}

static void req_cookie(const struct uss *u, struct buf *b, const char *name)
{
    buf_printf(b, "<%s>", name);
    req_elem(b, "Expiration", u->cookie_expiration_text ? u->cookie_expiration_text : "");
    req_elem(b, "EncryptedData", u->cookie_data ? u->cookie_data : "");
    buf_printf(b, "</%s>", name);
}

static void req_ids(struct buf *b, const char *wrapper, const struct uss_id *ids, size_t n)
{
    size_t i;

    buf_printf(b, "<%s>", wrapper);
    for (i = 0; i < n; i++)
        buf_printf(b,
                   "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%d</RevisionNumber>"
                   "</UpdateIdentity>",
                   ids[i].update_id, (int)ids[i].rev);
    buf_printf(b, "</%s>", wrapper);
}

static void req_idds(struct buf *b, const char *wrapper, const struct uss_idd *v, size_t n)
{
    size_t i;

    buf_printf(b, "<%s>", wrapper);
    for (i = 0; i < n; i++) {
        buf_add_str(b, "<IdAndDelta>");
        req_elem(b, "Id", v[i].id);
        buf_printf(b, "<Delta>%s</Delta></IdAndDelta>", v[i].delta ? "true" : "false");
    }
    buf_printf(b, "</%s>", wrapper);
}

void uss_request_get_auth_config(struct buf *b)
{
    req_begin(b, "GetAuthConfig", NS_SS);
    req_end(b, "GetAuthConfig");
}

void uss_request_get_authorization_cookie(struct buf *b, const struct uss *u)
{
    req_begin(b, "GetAuthorizationCookie", NS_AUTH);
    req_elem(b, "accountName", u->account_name);
    req_elem(b, "accountGuid", u->account_guid);
    req_end(b, "GetAuthorizationCookie");
}

void uss_request_get_cookie(struct buf *b, const struct uss *u)
{
    req_begin(b, "GetCookie", NS_SS);
    buf_add_str(b, "<authCookies><AuthorizationCookie>");
    req_elem(b, "PlugInId", u->auth_plugin ? u->auth_plugin : "DssTargeting");
    req_elem(b, "CookieData", u->auth_cookie_data ? u->auth_cookie_data : "");
    buf_add_str(b, "</AuthorizationCookie></authCookies>");
    if (u->cookie_data != NULL)
        req_cookie(u, b, "oldCookie");
    req_elem(b, "protocolVersion", USS_PROTOCOL_VERSION);
    req_end(b, "GetCookie");
}

void uss_request_get_config_data(struct buf *b, const struct uss *u, const char *config_anchor)
{
    req_begin(b, "GetConfigData", NS_SS);
    req_cookie(u, b, "cookie");
    if (config_anchor != NULL && config_anchor[0] != '\0')
        req_elem(b, "configAnchor", config_anchor);
    req_end(b, "GetConfigData");
}

void uss_request_get_revision_id_list(struct buf *b, const struct uss *u,
                                      const struct uss_filter *f)
{
    req_begin(b, "GetRevisionIdList", NS_SS);
    req_cookie(u, b, "cookie");
    buf_add_str(b, "<filter>");
    if (f->anchor != NULL && f->anchor[0] != '\0')
        req_elem(b, "Anchor", f->anchor);
    buf_printf(b, "<GetConfig>%s</GetConfig><Get63LanguageOnly>false</Get63LanguageOnly>",
               f->get_config ? "true" : "false");
    if (!f->get_config && (f->ncategories > 0 || f->nclassifications > 0)) {
        req_idds(b, "Categories", f->categories, f->ncategories);
        req_idds(b, "Classifications", f->classifications, f->nclassifications);
    }
    if (!f->get_config && f->nlanguages > 0) {
        size_t i;

        buf_add_str(b, "<Languages>");
        for (i = 0; i < f->nlanguages; i++)
            buf_printf(b, "<LanguageAndDelta><Id>%ld</Id><Delta>true</Delta></LanguageAndDelta>",
                       f->languages[i]);
        buf_add_str(b, "</Languages>");
    }
    buf_add_str(b, "</filter>");
    req_end(b, "GetRevisionIdList");
}

void uss_request_get_update_data(struct buf *b, const struct uss *u, const struct uss_id *ids,
                                 size_t n)
{
    req_begin(b, "GetUpdateData", NS_SS);
    req_cookie(u, b, "cookie");
    req_ids(b, "updateIds", ids, n);
    req_end(b, "GetUpdateData");
}

void uss_request_get_deployments(struct buf *b, const struct uss *u, const char *deployment_anchor,
                                 const char *sync_anchor)
{
    req_begin(b, "GetDeployments", NS_SS);
    req_cookie(u, b, "cookie");
    if (deployment_anchor != NULL && deployment_anchor[0] != '\0')
        req_elem(b, "deploymentAnchor", deployment_anchor);
    req_elem(b, "syncAnchor", sync_anchor ? sync_anchor : "");
    req_end(b, "GetDeployments");
}

void uss_request_download_files(struct buf *b, const struct uss *u, const unsigned char (*sha1)[20],
                                size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    req_begin(b, "DownloadFiles", NS_SS);
    req_cookie(u, b, "cookie");
    buf_add_str(b, "<fileDigestList>");
    for (i = 0; i < n && i < 100; i++) {
        char enc[29];
        int j, k = 0;
        for (j = 0; j < 18; j += 3) {
            unsigned v =
                (unsigned)sha1[i][j] << 16 | (unsigned)sha1[i][j + 1] << 8 | sha1[i][j + 2];
            enc[k++] = b64[v >> 18 & 63];
            enc[k++] = b64[v >> 12 & 63];
            enc[k++] = b64[v >> 6 & 63];
            enc[k++] = b64[v & 63];
        }
        {
            unsigned v = (unsigned)sha1[i][18] << 16 | (unsigned)sha1[i][19] << 8;
            enc[k++] = b64[v >> 18 & 63];
            enc[k++] = b64[v >> 12 & 63];
            enc[k++] = b64[v >> 6 & 63];
            enc[k++] = '=';
        }
        enc[k] = '\0';
        buf_printf(b, "<base64Binary>%s</base64Binary>", enc);
    }
    buf_add_str(b, "</fileDigestList>");
    req_end(b, "DownloadFiles");
}

/* ---------- reporting rollup ---------- */

const char *uss_rollup_summary_name(int i)
{
    return i >= 0 && i < USS_ROLLUP_SUMMARY_FIELDS ? rollup_summary_names[i] : "?";
}

/*
 * The cookie of the reporting calls: MS-WSUSSS 3.2.4.5 has it "reserved for future use" and fixed
 * (Expiration 9999-12-31T23:59:59.9999999, empty EncryptedData), which a Windows USS ignores; a
 * wsusd USS identifies the downstream by it, so the session's cookie goes when there is one.
 */
static void req_rollup_cookie(struct buf *b, const struct uss *u)
{
    if (u->cookie_data != NULL) {
        req_cookie(u, b, "cookie");
        return;
    }
    buf_add_str(b, "<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration>"
                   "<EncryptedData></EncryptedData></cookie>");
}

/* clientTime: now, UTC. */
static void req_client_time(struct buf *b)
{
    char t[40];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    if (strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        t[0] = '\0';
    req_elem(b, "clientTime", t);
}

/* name="value" with the value escaped for an attribute. */
static void req_attr(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, " %s=\"", name);
    buf_add_xml_attr(b, value, strlen(value));
    buf_add_str(b, "\"");
}

void uss_request_get_rollup_configuration(struct buf *b, const struct uss *u)
{
    req_begin(b, "GetRollupConfiguration", NS_SS);
    req_rollup_cookie(b, u);
    req_end(b, "GetRollupConfiguration");
}

void uss_request_rollup_downstream_servers(struct buf *b, const struct uss *u,
                                           const struct uss_rollup_server *v, size_t n)
{
    size_t i;
    int k;

    req_begin(b, "RollupDownstreamServers", NS_SS);
    req_rollup_cookie(b, u);
    req_client_time(b);
    buf_add_str(b, "<downstreamServers>");
    for (i = 0; i < n; i++) {
        buf_add_str(b, "<DownstreamServerRollupInfo>");
        req_elem(b, "ServerId", v[i].server_id);
        req_elem(b, "FullDomainName", v[i].name);
        req_elem(b, "LastSyncTime", v[i].last_sync[0] ? v[i].last_sync : USS_ROLLUP_NEVER);
        req_elem(b, "ParentServerId", v[i].parent_id);
        req_elem(b, "Version", v[i].version);
        buf_printf(b, "<IsReplica>%s</IsReplica>", v[i].is_replica ? "true" : "false");
        req_elem(b, "LastRollupTime", v[i].last_rollup[0] ? v[i].last_rollup : USS_ROLLUP_NEVER);
        buf_add_str(b, "<ServerSummary>");
        for (k = 0; k < USS_ROLLUP_SUMMARY_FIELDS; k++)
            buf_printf(b, "<%s>%ld</%s>", rollup_summary_names[k], v[i].summary[k],
                       rollup_summary_names[k]);
        buf_add_str(b, "</ServerSummary><ClientSummaries />");
        buf_add_str(b, "</DownstreamServerRollupInfo>");
    }
    buf_add_str(b, "</downstreamServers>");
    req_end(b, "RollupDownstreamServers");
}

static void req_computer_details(struct buf *b, const struct uss_rollup_computer *c)
{
    int k;

    buf_add_str(b, "<Details");
    req_attr(b, "IPAddress", c->ip);
    req_attr(b, "FullDomainName", c->name);
    buf_printf(b,
               " OSMajorVersion=\"%d\" OSMinorVersion=\"%d\" OSBuildNumber=\"%d\""
               " OSServicePackMajorNumber=\"%d\" OSServicePackMinorNumber=\"%d\"",
               c->os_major, c->os_minor, c->os_build, c->sp_major, c->sp_minor);
    req_attr(b, "OSLocale", c->os_locale);
    req_attr(b, "OSFamily", "Windows");
    req_attr(b, "OSDescription", c->os_description);
    req_attr(b, "ComputerMake", c->make);
    req_attr(b, "ComputerModel", c->model);
    req_attr(b, "BiosVersion", c->bios_version);
    req_attr(b, "BiosName", c->bios_name);
    req_attr(b, "BiosReleaseDate", c->bios_date[0] ? c->bios_date : USS_ROLLUP_NEVER);
    req_attr(b, "ProcessorArchitecture", c->architecture);
    buf_printf(b,
               " SuiteMask=\"%d\" OldProductType=\"%d\" NewProductType=\"%d\""
               " SystemMetrics=\"%d\"",
               c->suite_mask, c->old_product_type, c->new_product_type, c->system_metrics);
    req_attr(b, "ClientVersion", c->client_version);
    buf_add_str(b, "><TargetGroupIdList>");
    for (k = 0; k < c->ngroups && k < 8; k++)
        req_elem(b, "guid", c->groups[k]);
    buf_add_str(b, "</TargetGroupIdList><RequestedTargetGroupNames /></Details>");
}

void uss_request_rollup_computers(struct buf *b, const struct uss *u,
                                  const struct uss_rollup_computer *v, size_t n)
{
    size_t i;

    req_begin(b, "RollupComputers", NS_SS);
    req_rollup_cookie(b, u);
    req_client_time(b);
    buf_add_str(b, "<computers>");
    for (i = 0; i < n; i++) {
        const struct uss_rollup_computer *c = &v[i];

        buf_add_str(b, "<ComputerRollupInfo");
        req_attr(b, "ComputerId", c->id);
        req_attr(b, "LastSyncTime", c->last_sync[0] ? c->last_sync : USS_ROLLUP_NEVER);
        buf_printf(b, " LastSyncResult=\"%d\"", c->last_sync_result);
        req_attr(b, "LastReportedRebootTime",
                 c->last_reboot[0] ? c->last_reboot : USS_ROLLUP_NEVER);
        req_attr(b, "LastReportedStatusTime",
                 c->last_reported_status[0] ? c->last_reported_status : USS_ROLLUP_NEVER);
        req_attr(b, "LastInventoryTime",
                 c->last_inventory[0] ? c->last_inventory : USS_ROLLUP_NEVER);
        req_attr(b, "ParentServerId", c->parent_id);
        if (c->with_details) {
            buf_add_str(b, ">");
            req_computer_details(b, c);
            buf_add_str(b, "</ComputerRollupInfo>");
        } else {
            buf_add_str(b, " />");
        }
    }
    buf_add_str(b, "</computers>");
    req_end(b, "RollupComputers");
}

void uss_request_get_out_of_sync_computers(struct buf *b, const struct uss *u,
                                           const char *parent_id, const struct uss_rollup_number *v,
                                           size_t n)
{
    size_t i;

    req_begin(b, "GetOutOfSyncComputers", NS_SS);
    req_rollup_cookie(b, u);
    req_elem(b, "parentServerId", parent_id);
    buf_add_str(b, "<lastRollupNumbers>");
    for (i = 0; i < n; i++) {
        buf_add_str(b, "<ComputerLastRollupNumber>");
        req_elem(b, "ComputerId", v[i].computer_id);
        buf_printf(b, "<RollupNumber>%d</RollupNumber></ComputerLastRollupNumber>",
                   v[i].rollup_number);
    }
    buf_add_str(b, "</lastRollupNumbers>");
    req_end(b, "GetOutOfSyncComputers");
}

void uss_request_rollup_computer_status(struct buf *b, const struct uss *u, const char *parent_id,
                                        const struct uss_rollup_status *v, size_t n)
{
    size_t i, k;

    req_begin(b, "RollupComputerStatus", NS_SS);
    req_rollup_cookie(b, u);
    req_client_time(b);
    req_elem(b, "parentServerId", parent_id);
    buf_add_str(b, "<computers>");
    for (i = 0; i < n; i++) {
        buf_add_str(b, "<ComputerStatusRollupInfo>");
        req_elem(b, "InstanceId", v[i].instance_id);
        req_elem(b, "ComputerId", v[i].computer_id);
        req_elem(b, "EffectiveLastDetectionTime",
                 v[i].effective_detection[0] ? v[i].effective_detection : USS_ROLLUP_NEVER);
        buf_printf(b, "<RollupNumber>%d</RollupNumber><IsFullRollup>%s</IsFullRollup>",
                   v[i].rollup_number, v[i].full ? "true" : "false");
        buf_add_str(b, "<UpdateStatus>");
        for (k = 0; k < v[i].nstates; k++) {
            const struct uss_update_state *st = &v[i].states[k];
            buf_add_str(b, "<ComputerStatusRollupUpdateStatus>");
            req_elem(b, "UpdateId", st->update_id);
            buf_printf(b, "<SummarizationState>%d</SummarizationState>", st->state);
            req_elem(b, "LastChangeTime", st->changed[0] ? st->changed : USS_ROLLUP_NEVER);
            buf_add_str(b, "</ComputerStatusRollupUpdateStatus>");
        }
        buf_add_str(b, "</UpdateStatus></ComputerStatusRollupInfo>");
    }
    buf_add_str(b, "</computers>");
    req_end(b, "RollupComputerStatus");
}
