/*
 * wusp_client: the handshake and registration operations of the client web service
 * (MS-WUSP 3.1.5.2-3.1.5.6, 3.1.5.8, 3.1.5.12): GetConfig, GetCookie, RegisterComputer,
 * StartCategoryScan, RefreshCache and SyncPrinterCatalog (answered with no printer drivers:
 * the catalog holds none that this server matches). Answers are shaped as the captured
 * Windows Server 2025 WSUS answers (tests/data/wusp/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client_scan.h"
#include "computer.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "wusp.h"
#include "xmalloc.h"

int wusp_client_group(PGconn *db, const struct cookie_claims *cl, char gid[37], int *use)
{
    char *mode = settings_get(db, "client-targeting");

    *use = 0;
    if (mode == NULL)
        return -1;
    if (strcmp(mode, "client") == 0) {
        *use = 1;
        if (cl->ngroups > 0)
            str_guid_format(cl->groups[0], gid);
        else if (str_copy(gid, 37, COMPUTER_GROUP_UNASSIGNED) < 0)
            *use = 0;
    }
    free(mode);
    return 0;
}

/*
 * What GetConfig and GetCookie both start with: protocolVersion (x.y, else InvalidParameters)
 * into *maj and *min, a connection, this server's LastChange into cur. The connection, or NULL
 * after queuing the fault into *r.
 */
static PGconn *wusp_begin_config(struct wusp_ctx *w, unsigned *maj, unsigned *min, char cur[40],
                                 enum MHD_Result *r)
{
    char *ver = wusp_text(w, w->op, "protocolVersion", 32);
    int64_t since;
    PGconn *db;
    int bad = soapreq_parse_version(ver, maj, min) < 0;

    free(ver);
    if (bad) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                            "protocolVersion: must be a two-part version such as 2.90");
        return NULL;
    }
    db = soap_svc_db(&w->s, r);
    if (db != NULL && client_scan_last_change(db, cur, &since) < 0) {
        soap_svc_db_put(&w->s, db);
        *r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading the settings");
        return NULL;
    }
    return db;
}

enum MHD_Result wusp_get_config(struct wusp_ctx *w)
{
    char last[40];
    unsigned maj, min;
    PGconn *db;
    struct buf b;
    enum MHD_Result r;

    db = wusp_begin_config(w, &maj, &min, last, &r);
    if (db == NULL)
        return r;
    soap_svc_db_put(&w->s, db);
    buf_init(&b, 8192);
    buf_printf(&b,
               "<GetConfigResult><LastChange>%s</LastChange>"
               "<IsRegistrationRequired>true</IsRegistrationRequired><AuthInfo><AuthPlugInInfo>"
               "<PlugInID>SimpleTargeting</PlugInID>"
               "<ServiceUrl>SimpleAuthWebService/SimpleAuth.asmx</ServiceUrl><Parameter/>"
               "</AuthPlugInInfo></AuthInfo><Properties>"
               "<ConfigurationProperty><Name>MaxExtendedUpdatesPerRequest</Name><Value>%d</Value>"
               "</ConfigurationProperty>"
               "<ConfigurationProperty><Name>PackageServerShare</Name><Value></Value>"
               "</ConfigurationProperty>"
               "<ConfigurationProperty><Name>ProtocolVersion</Name><Value>3.2</Value>"
               "</ConfigurationProperty>"
               "<ConfigurationProperty><Name>IsInventoryRequired</Name><Value>0</Value>"
               "</ConfigurationProperty>"
               "<ConfigurationProperty><Name>ClientReportingLevel</Name><Value>2</Value>"
               "</ConfigurationProperty></Properties></GetConfigResult>",
               last, WUSP_MAX_EXTENDED_PER_REQUEST);
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
    return r;
}

/* The one authorization cookie of authCookies, opened. 0, or -1 after queuing the fault. */
static int wusp_auth_cookie(struct wusp_ctx *w, struct cookie_claims *cl, enum MHD_Result *r)
{
    const xmlNode *list = wusp_child(w, w->op, "authCookies");
    const char *ns = w->s.info->ns;
    const xmlNode *ac;
    unsigned char raw[COOKIE_MAX_BYTES], own[16];
    size_t len = 0;
    char *t = NULL;
    int ok = 0;

    if (list != NULL && soap_count(list, ns, "AuthorizationCookie", 2) == 1) {
        ac = xml_child(list, ns, "AuthorizationCookie");
        t = wusp_text(w, ac, "CookieData", COOKIE_MAX_BYTES * 2);
        ok = t != NULL && str_b64_decode(t, raw, sizeof(raw), &len) == 0 &&
             soap_guid_parse(w->s.srv->server_id, own) == 0 &&
             cookie_open(w->s.srv->cookie_key, COOKIE_CLIENT_AUTH, own, raw, len,
                         (int64_t)time(NULL), cl) == COOKIE_OK;
    }
    free(t);
    if (!ok) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_AUTH_COOKIE,
                            "authCookies: must hold exactly one valid authorization cookie of "
                            "this server's SimpleAuth web service");
        return -1;
    }
    return 0;
}

enum MHD_Result wusp_get_cookie(struct wusp_ctx *w)
{
    struct cookie_claims cl, old;
    const xmlNode *oc = wusp_child(w, w->op, "oldCookie");
    const xmlNode *oed = wusp_child(w, oc, "EncryptedData");
    char *last = NULL;
    char cur[40], gid[37], id[37];
    int use;
    PGconn *db = NULL;
    struct buf b;
    enum MHD_Result r;

    if (wusp_auth_cookie(w, &cl, &r) < 0)
        return r;
    if (oed != NULL) {
        unsigned char raw[COOKIE_MAX_BYTES], own[16];
        size_t len = 0;
        char *t = soap_text(oed, COOKIE_MAX_BYTES * 2);
        enum cookie_status st = COOKIE_BAD;

        if (t != NULL && str_b64_decode(t, raw, sizeof(raw), &len) == 0 &&
            soap_guid_parse(w->s.srv->server_id, own) == 0)
            st = cookie_open(w->s.srv->cookie_key, COOKIE_CLIENT, own, raw, len,
                             (int64_t)time(NULL), &old);
        free(t);
        if (st == COOKIE_FOREIGN)
            return soap_svc_fault(&w->s, SOAP_ERR_SERVER_CHANGED,
                                  "oldCookie: issued by another server; this server is %s",
                                  w->s.srv->server_id);
        if (st != COOKIE_OK && st != COOKIE_EXPIRED)
            return soap_svc_fault(&w->s, SOAP_ERR_INVALID_COOKIE,
                                  "oldCookie: EncryptedData is not a cookie this server issued");
    }
    db = wusp_begin_config(w, &cl.proto_major, &cl.proto_minor, cur, &r);
    if (db == NULL)
        return r;
    last = wusp_text(w, w->op, "lastChange", 64);
    if (last != NULL && strcmp(str_trim(last), cur) != 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_CONFIG_CHANGED,
                           "lastChange: the configuration changed at %s; call GetConfig", cur);
        goto out;
    }
    str_guid_format(cl.dss_guid, id);
    if (wusp_client_group(db, &cl, gid, &use) < 0 || computer_touch(db, id, use ? gid : NULL) < 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error recording the computer");
        goto out;
    }
    buf_init(&b, 8192);
    if (wusp_add_cookie(w, db, &b, "GetCookieResult", &cl) < 0) {
        buf_free(&b);
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "cannot seal the cookie");
        goto out;
    }
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
out:
    free(last);
    soap_svc_db_put(&w->s, db);
    return r;
}

/* Text of a computerInfo field into out ("" when absent; cut at outlen - 1 bytes). */
static void info_field(struct wusp_ctx *w, const xmlNode *ci, const char *name, char *out,
                       size_t outlen)
{
    char *t = wusp_text(w, ci, name, COMPUTER_MAX_FIELD);

    out[0] = '\0';
    if (t != NULL && str_copy(out, outlen, str_trim(t)) < 0)
        out[0] = '\0';
    free(t);
}

enum MHD_Result wusp_register_computer(struct wusp_ctx *w)
{
    const xmlNode *ci = wusp_child(w, w->op, "computerInfo");
    struct computer_info info;
    char maj[16], min[16], build[16], sp[16], cmaj[16], cmin[16], cbuild[16], cqfe[16];
    char gid[37], *lim;
    long per_hour = 1000;
    int use, rc;
    PGconn *db;
    enum MHD_Result r;

    if (wusp_check_cookie(w, &r) < 0)
        return r;
    if (ci == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "computerInfo: missing");
    memset(&info, 0, sizeof(info));
    info_field(w, ci, "DnsName", info.name, sizeof(info.name));
    if (!soapreq_valid_fqdn(info.name))
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "computerInfo: DnsName must be a DNS name");
    info_field(w, ci, "OSMajorVersion", maj, sizeof(maj));
    info_field(w, ci, "OSMinorVersion", min, sizeof(min));
    info_field(w, ci, "OSBuildNumber", build, sizeof(build));
    info_field(w, ci, "OSServicePackMajorNumber", sp, sizeof(sp));
    if (maj[0] != '\0' &&
        snprintf(info.os_version, sizeof(info.os_version), "%s.%s.%s.%s", maj, min[0] ? min : "0",
                 build[0] ? build : "0", sp[0] ? sp : "0") >= (int)sizeof(info.os_version))
        info.os_version[0] = '\0';
    info_field(w, ci, "ClientVersionMajorNumber", cmaj, sizeof(cmaj));
    info_field(w, ci, "ClientVersionMinorNumber", cmin, sizeof(cmin));
    info_field(w, ci, "ClientVersionBuildNumber", cbuild, sizeof(cbuild));
    info_field(w, ci, "ClientVersionQfeNumber", cqfe, sizeof(cqfe));
    if (cmaj[0] != '\0' && snprintf(info.client_version, sizeof(info.client_version), "%s.%s.%s.%s",
                                    cmaj, cmin[0] ? cmin : "0", cbuild[0] ? cbuild : "0",
                                    cqfe[0] ? cqfe : "0") >= (int)sizeof(info.client_version))
        info.client_version[0] = '\0';
    info_field(w, ci, "OSDescription", info.os_description, sizeof(info.os_description));
    info_field(w, ci, "OSLocale", info.os_locale, sizeof(info.os_locale));
    info_field(w, ci, "ProcessorArchitecture", info.architecture, sizeof(info.architecture));
    info_field(w, ci, "ComputerManufacturer", info.manufacturer, sizeof(info.manufacturer));
    info_field(w, ci, "ComputerModel", info.model, sizeof(info.model));
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        return r;
    lim = settings_get(db, "max-new-computers-per-hour");
    if (lim == NULL || str_to_long(lim, 1, 1000000, &per_hour) < 0)
        per_hour = 1000;
    free(lim);
    if (wusp_client_group(db, &w->cl, gid, &use) < 0) {
        rc = -1;
    } else {
        rc = computer_register(db, w->client_id, w->s.peer, &info, use ? gid : NULL, per_hour);
    }
    soap_svc_db_put(&w->s, db);
    if (rc < 0)
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error recording the computer");
    if (rc > 0)
        return soap_svc_fault(&w->s, SOAP_ERR_SERVER_BUSY,
                              "computerInfo: %s registered %ld new computer ids in the last hour "
                              "(setting max-new-computers-per-hour) or the server holds %d "
                              "computers; try again later",
                              w->s.peer, per_hour, COMPUTER_MAX_ROWS);
    log_info("wusp: computer %s (%s) from %s registered", info.name, w->client_id, w->s.peer);
    return soap_svc_reply(&w->s, "", 0);
}

enum MHD_Result wusp_start_category_scan(struct wusp_ctx *w)
{
    const xmlNode *list = wusp_child(w, w->op, "requestedCategories");
    const char *ns = w->s.info->ns;
    unsigned char(*ids)[16] = NULL;
    long *grp = NULL;
    char(*types)[32] = NULL;
    size_t n = 0, i, j;
    xmlNodePtr c;
    PGconn *db = NULL;
    struct buf b;
    enum MHD_Result r;
    int stop = 0;

    if (list == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "requestedCategories: missing");
    n = soap_count(list, ns, "CategoryRelationship", WUSP_MAX_CATEGORIES);
    if (n > WUSP_MAX_CATEGORIES)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "requestedCategories: more than %d categories", WUSP_MAX_CATEGORIES);
    ids = xcalloc(n + 1, sizeof(*ids));
    grp = xcalloc(n + 1, sizeof(*grp));
    types = xcalloc(n + 1, sizeof(*types));
    i = 0;
    for (c = xml_child(list, ns, "CategoryRelationship"); c != NULL && i < n;
         c = xml_next(c, ns, "CategoryRelationship"), i++) {
        char *g = wusp_text(w, c, "CategoryId", 64);
        char *k = wusp_text(w, c, "IndexOfAndGroup", 16);
        int bad = g == NULL || soap_guid_parse(g, ids[i]) < 0 || k == NULL ||
                  soap_int_parse(k, 0, 1000000, &grp[i]) < 0;

        free(g);
        free(k);
        if (bad) {
            r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                               "requestedCategories: each CategoryRelationship needs a "
                               "CategoryId GUID and an IndexOfAndGroup");
            goto out;
        }
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    if (client_scan_category_types(db, (const unsigned char(*)[16])ids, n, types) < 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading categories");
        goto out;
    }
    buf_init(&b, 64 * 1024);
    /* groups with an unknown category are dropped (their ids go to the error list) */
    buf_add_str(&b, "<preferredCategoryIds>");
    for (i = 0; i < n && !stop; i++) {
        int seen = 0, bad = 0, products = 0, classes = 0, members = 0;
        size_t prod = 0;

        for (j = 0; j < i; j++)
            if (grp[j] == grp[i])
                seen = 1;
        if (seen)
            continue;
        for (j = i; j < n; j++) {
            if (grp[j] != grp[i])
                continue;
            members++;
            if (types[j][0] == '\0')
                bad = 1;
            else if (strcmp(types[j], "Product") == 0) {
                products++;
                prod = j;
            } else if (strcmp(types[j], "UpdateClassification") == 0)
                classes++;
        }
        if (bad)
            continue;
        if (products == 1 && (members == 1 || (members == 2 && classes == 1))) {
            char g[37];

            str_guid_format(ids[prod], g);
            buf_printf(&b, "<guid>%s</guid>", g);
        } else {
            /* any other group: the list is cleared and processing stops (3.1.5.6) */
            buf_reset(&b);
            buf_add_str(&b, "<preferredCategoryIds>");
            stop = 1;
        }
    }
    buf_add_str(&b, "</preferredCategoryIds>");
    for (i = 0, j = 0; i < n; i++) {
        char g[37];

        if (types[i][0] != '\0')
            continue;
        str_guid_format(ids[i], g);
        buf_printf(&b, "%s<guid>%s</guid>", j++ ? "" : "<requestedCategoryIdsInError>", g);
    }
    if (j > 0)
        buf_add_str(&b, "</requestedCategoryIdsInError>");
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
out:
    soap_svc_db_put(&w->s, db);
    free(ids);
    free(grp);
    free(types);
    return r;
}

enum MHD_Result wusp_sync_printer_catalog(struct wusp_ctx *w)
{
    struct buf b;
    enum MHD_Result r;

    PGconn *db;
    int rc;

    if (wusp_check_cookie(w, &r) < 0)
        return r;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        return r;
    buf_init(&b, 8192);
    buf_add_str(&b, "<SyncPrinterCatalogResult><Truncated>false</Truncated>");
    rc = wusp_add_cookie(w, db, &b, "NewCookie", &w->cl);
    soap_svc_db_put(&w->s, db);
    if (rc < 0) {
        buf_free(&b);
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "cannot seal the cookie");
    }
    buf_add_str(&b, "</SyncPrinterCatalogResult>");
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
    return r;
}

static int cmp_rev_update(const void *a, const void *b)
{
    const struct client_rev *x = *(const struct client_rev *const *)a;
    const struct client_rev *y = *(const struct client_rev *const *)b;

    return strcasecmp(x->update_id, y->update_id);
}

enum MHD_Result wusp_refresh_cache(struct wusp_ctx *w)
{
    const xmlNode *list = wusp_child(w, w->op, "globalIDs");
    const char *ns = w->s.info->ns;
    struct client_set set;
    const struct client_rev **byid = NULL;
    xmlNodePtr c;
    PGconn *db;
    struct buf b;
    size_t n, i;
    enum MHD_Result r;

    if (wusp_check_cookie(w, &r) < 0)
        return r;
    if (list == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "globalIDs: missing");
    n = soap_count(list, ns, "UpdateIdentity", WUSP_MAX_GLOBAL_IDS);
    if (n > WUSP_MAX_GLOBAL_IDS)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "globalIDs: more than %d update identities", WUSP_MAX_GLOBAL_IDS);
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        return r;
    if (client_scan_load(db, w->client_id, NULL, 0, &set) < 0) {
        soap_svc_db_put(&w->s, db);
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error computing the updates");
    }
    soap_svc_db_put(&w->s, db);
    byid = xcalloc(set.n + 1, sizeof(*byid));
    for (i = 0; i < set.n; i++)
        byid[i] = &set.revs[i];
    qsort(byid, set.n, sizeof(*byid), cmp_rev_update);
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<RefreshCacheResult>");
    for (c = xml_child(list, ns, "UpdateIdentity"); c != NULL;
         c = xml_next(c, ns, "UpdateIdentity")) {
        char *u = wusp_text(w, c, "UpdateID", 64), *rn = wusp_text(w, c, "RevisionNumber", 16);
        unsigned char g[16];
        long rev;
        struct client_rev key;
        const struct client_rev *kp = &key, **hit = NULL;

        if (u != NULL && rn != NULL && soap_guid_parse(u, g) == 0 &&
            soap_int_parse(rn, 0, 2147483647L, &rev) == 0) {
            str_guid_format(g, key.update_id);
            hit = bsearch(&kp, byid, set.n, sizeof(*byid), cmp_rev_update);
        }
        if (hit != NULL) {
            buf_printf(&b,
                       "<RefreshCacheResult><RevisionID>%lld</RevisionID><GlobalID>"
                       "<UpdateID>%s</UpdateID><RevisionNumber>%ld</RevisionNumber></GlobalID>"
                       "<IsLeaf>%s</IsLeaf>",
                       (long long)(*hit)->id, key.update_id, rev,
                       (*hit)->is_leaf ? "true" : "false");
            wusp_add_deployment(&b, *hit, w->cl.proto_major, w->cl.proto_minor);
            buf_add_str(&b, "</RefreshCacheResult>");
        }
        free(u);
        free(rn);
    }
    buf_add_str(&b, "</RefreshCacheResult>");
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
    free(byid);
    client_set_free(&set);
    return r;
}
