/*
 * wusp_sync: the metadata and content operations of the client web service: SyncUpdates
 * (MS-WUSP 3.1.5.7: the staged scan over the computer's NeededRevisions, client_scan.h),
 * GetExtendedUpdateInfo (3.1.5.9: Extended and LocalizedProperties fragments, and the
 * FileLocations of the requested revisions) and GetFileLocations (3.1.5.10: this server's
 * /Content/ URLs). The driver pass is answered with no drivers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_scan.h"
#include "computer.h"
#include "content_store.h"
#include "fragment_store.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "wusp.h"
#include "xmalloc.h"

int wusp_add_deployment(struct buf *b, const struct client_rev *r, unsigned proto_major,
                        unsigned proto_minor)
{

    buf_printf(b, "<Deployment><ID>%d</ID><Action>%s</Action>", (int)r->deployment_id,
               client_action_name(r->action));
    if (r->deadline[0] != '\0')
        buf_printf(b, "<Deadline>%s</Deadline>", r->deadline);
    buf_printf(b, "<IsAssigned>%s</IsAssigned><LastChangeTime>%s</LastChangeTime>",
               r->is_assigned ? "true" : "false", r->last_change);
    /* MS-WUSP 2.2.2.2.4: only for clients of protocol 1.8 or later, and then 0 */
    if (proto_major > 1 || (proto_major == 1 && proto_minor >= 8))
        buf_add_str(b, "<AutoSelect>0</AutoSelect><AutoDownload>0</AutoDownload>"
                       "<SupersedenceBehavior>0</SupersedenceBehavior>");
    buf_add_str(b, "</Deployment>");
    return buf_failed(b) ? -1 : 0;
}

/* Core fragments of the revisions being sent, by position in ids (sorted). */
struct core_fetch {
    const int64_t *ids;
    size_t n;
    char **xml;
};

static int core_cb(void *arg, int64_t id, const char *language, const char *xml, size_t len)
{
    struct core_fetch *f = arg;
    size_t lo = 0, hi = f->n;

    (void)language;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (f->ids[mid] == id) {
            if (f->xml[mid] == NULL)
                f->xml[mid] = xstrndup(xml, len);
            return 0;
        }
        if (f->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static void add_update_info(struct buf *b, const struct client_rev *r, const char *xml,
                            const struct cookie_claims *cl)
{
    buf_printf(b, "<UpdateInfo><ID>%lld</ID>", (long long)r->id);
    wusp_add_deployment(b, r, cl->proto_major, cl->proto_minor);
    buf_printf(b, "<IsLeaf>%s</IsLeaf>", r->is_leaf ? "true" : "false");
    if (xml != NULL) {
        buf_add_str(b, "<Xml>");
        buf_add_xml_escaped(b, xml, strlen(xml));
        buf_add_str(b, "</Xml>");
    }
    buf_add_str(b, "</UpdateInfo>");
}

/* The software pass: NewUpdates, OutOfScopeRevisionIDs, ChangedUpdates, Truncated. */
static int sync_software(struct wusp_ctx *w, PGconn *db, const int64_t *inst, size_t ninst,
                         const int64_t *other, size_t nother, int64_t anchor,
                         const unsigned char (*filter)[16], size_t nfilter, struct buf *b)
{
    struct client_set set;
    struct client_stage st;
    struct core_fetch f;
    int64_t *ids;
    char err[256];
    size_t i, sent = 0;
    int rc = -1;

    if (client_scan_load(db, w->client_id, filter, nfilter, &set) < 0)
        return -1;
    client_scan_stage(&set, inst, ninst, other, nother, anchor, WUSP_MAX_NEW_UPDATES, &st);
    ids = xcalloc(st.nnew + 1, sizeof(*ids));
    for (i = 0; i < st.nnew; i++)
        ids[i] = set.revs[st.new_idx[i]].id;
    f.ids = ids;
    f.n = st.nnew;
    f.xml = xcalloc(st.nnew + 1, sizeof(*f.xml));
    if (st.nnew > 0 && fragment_store_fetch(db, ids, st.nnew, FRAGMENT_STORE_CORE, NULL, 0, core_cb,
                                            &f, err, sizeof(err)) < 0) {
        log_warnx("wusp: cannot read Core fragments: %s", err);
        goto out;
    }
    for (i = 0; i < st.nnew; i++) {
        if (f.xml[i] == NULL) {
            log_warnx("wusp: revision %lld (%s) has no Core fragment; not sent", (long long)ids[i],
                      set.revs[st.new_idx[i]].update_id);
            continue;
        }
        buf_add_str(b, sent++ == 0 ? "<NewUpdates>" : "");
        add_update_info(b, &set.revs[st.new_idx[i]], f.xml[i], &w->cl);
    }
    if (sent > 0)
        buf_add_str(b, "</NewUpdates>");
    if (st.nout > 0) {
        buf_add_str(b, "<OutOfScopeRevisionIDs>");
        for (i = 0; i < st.nout; i++)
            buf_printf(b, "<int>%lld</int>", (long long)st.out_of_scope[i]);
        buf_add_str(b, "</OutOfScopeRevisionIDs>");
    }
    if (st.nchanged > 0) {
        buf_add_str(b, "<ChangedUpdates>");
        for (i = 0; i < st.nchanged; i++)
            add_update_info(b, &set.revs[st.changed_idx[i]], NULL, &w->cl);
        buf_add_str(b, "</ChangedUpdates>");
    }
    buf_printf(b, "<Truncated>%s</Truncated>", st.truncated ? "true" : "false");
    if (computer_synced(db, w->client_id, set.anchor) < 0)
        goto out;
    rc = 0;
out:
    for (i = 0; i < st.nnew; i++)
        free(f.xml[i]);
    free(f.xml);
    free(ids);
    client_stage_free(&st);
    client_set_free(&set);
    return rc;
}

/* parameters/FilterCategoryIds (at most WUSP_MAX_CATEGORIES GUIDs) into *ids; 0, or -1 after
 * queuing InvalidParameters. */
static int sync_filter(struct wusp_ctx *w, const xmlNode *p, unsigned char (**ids)[16], size_t *n,
                       enum MHD_Result *r)
{
    const char *ns = w->s.info->ns;
    const xmlNode *list = wusp_child(w, p, "FilterCategoryIds");
    size_t cnt;
    xmlNodePtr c;

    *n = 0;
    if (list == NULL)
        return 0;
    cnt = soap_count(list, ns, "CategoryIdentifier", WUSP_MAX_CATEGORIES);
    if (cnt > WUSP_MAX_CATEGORIES) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                            "parameters.FilterCategoryIds: more than %d categories",
                            WUSP_MAX_CATEGORIES);
        return -1;
    }
    *ids = xcalloc(cnt + 1, sizeof(**ids));
    for (c = xml_child(list, ns, "CategoryIdentifier"); c != NULL && *n < cnt;
         c = xml_next(c, ns, "CategoryIdentifier")) {
        char *t = wusp_text(w, c, "Id", 64);
        int bad = t == NULL || soap_guid_parse(t, (*ids)[*n]) < 0;

        free(t);
        if (bad) {
            *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                                "parameters.FilterCategoryIds: each Id must be a GUID");
            return -1;
        }
        (*n)++;
    }
    return 0;
}

/* ConfigChanged and RegistrationRequired, as 3.1.5.7 orders them. */
static int sync_checks(struct wusp_ctx *w, PGconn *db, int64_t *anchor, enum MHD_Result *r)
{
    char last[40];
    int64_t since;
    int reg;

    if (client_scan_last_change(db, last, &since) < 0) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading the settings");
        return -1;
    }
    if (since > w->cl.issued) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_CONFIG_CHANGED,
                            "cookie: the configuration changed at %s; call GetConfig", last);
        return -1;
    }
    reg = computer_sync_anchor(db, w->client_id, anchor);
    if (reg < 0) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading the computer");
        return -1;
    }
    if (reg == 0) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_REGISTRATION_REQUIRED,
                            "cookie: computer %s is not registered; call RegisterComputer",
                            w->client_id);
        return -1;
    }
    return 0;
}

enum MHD_Result wusp_sync_updates(struct wusp_ctx *w)
{
    const xmlNode *p = wusp_child(w, w->op, "parameters");
    int64_t *inst = NULL, *other = NULL, *drv = NULL, anchor = 0;
    unsigned char(*filter)[16] = NULL;
    size_t ninst = 0, nother = 0, ndrv = 0, nfilter = 0;
    char *skip_t;
    int skip = 0;
    PGconn *db = NULL;
    struct buf b;
    enum MHD_Result r;

    if (wusp_check_cookie(w, &r) < 0)
        return r;
    if (p == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "parameters: missing");
    skip_t = wusp_text(w, p, "SkipSoftwareSync", 16);
    if (skip_t != NULL && soap_bool_parse(skip_t, &skip) < 0) {
        free(skip_t);
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "parameters: SkipSoftwareSync is not a boolean");
    }
    free(skip_t);
    if (!skip && wusp_child(w, p, "SystemSpec") != NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "parameters: SystemSpec is only allowed with SkipSoftwareSync");
    /* one bound for all lists together: what one request may name */
    if (wusp_ints(w, wusp_child(w, p, "InstalledNonLeafUpdateIDs"),
                  "parameters.InstalledNonLeafUpdateIDs", &inst, &ninst, WUSP_MAX_CACHED_IDS,
                  &r) < 0 ||
        wusp_ints(w, wusp_child(w, p, "OtherCachedUpdateIDs"), "parameters.OtherCachedUpdateIDs",
                  &other, &nother, WUSP_MAX_CACHED_IDS - ninst, &r) < 0 ||
        wusp_ints(w, wusp_child(w, p, "CachedDriverIDs"), "parameters.CachedDriverIDs", &drv, &ndrv,
                  WUSP_MAX_CACHED_IDS - ninst - nother, &r) < 0 ||
        sync_filter(w, p, &filter, &nfilter, &r) < 0)
        goto out;
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    if (sync_checks(w, db, &anchor, &r) < 0)
        goto out;
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<SyncUpdatesResult>");
    if (!skip) {
        if (sync_software(w, db, inst, ninst, other, nother, anchor,
                          (const unsigned char(*)[16])filter, nfilter, &b) < 0) {
            buf_free(&b);
            r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error computing the updates");
            goto out;
        }
    } else {
        /* the driver pass: this server deploys no drivers, so none is new and every cached
         * driver id is out of scope */
        if (ndrv > 0) {
            size_t i;

            buf_add_str(&b, "<OutOfScopeRevisionIDs>");
            for (i = 0; i < ndrv; i++)
                buf_printf(&b, "<int>%lld</int>", (long long)drv[i]);
            buf_add_str(&b, "</OutOfScopeRevisionIDs>");
        }
        buf_add_str(&b, "<Truncated>false</Truncated>");
    }
    if (wusp_add_cookie(w, db, &b, "NewCookie", &w->cl) < 0 ||
        buf_add_str(&b, "<DriverSyncNotNeeded>true</DriverSyncNotNeeded></SyncUpdatesResult>") <
            0) {
        buf_free(&b);
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too large or cookie not sealed");
        goto out;
    }
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
out:
    soap_svc_db_put(&w->s, db);
    free(inst);
    free(other);
    free(drv);
    free(filter);
    return r;
}

/* Fragments of GetExtendedUpdateInfo, appended as <Update> in the order they come. */
static int ext_cb(void *arg, int64_t id, const char *language, const char *xml, size_t len)
{
    struct buf *b = arg;

    (void)language;
    buf_printf(b, "<Update><ID>%lld</ID><Xml>", (long long)id);
    buf_add_xml_escaped(b, xml, len);
    return buf_add_str(b, "</Xml></Update>");
}

struct loc_ctx {
    struct buf *b;
    char base[256]; /* this server's URL */
    int mu;         /* storage microsoft-update: the files' Microsoft Update URLs */
    size_t n;
};

static void loc_init(struct loc_ctx *l, struct wusp_ctx *w, PGconn *db, struct buf *b)
{
    char *st = settings_get(db, "storage");

    l->b = b;
    l->n = 0;
    l->mu = st != NULL && strcmp(st, "microsoft-update") == 0;
    free(st);
    wusp_base_url(w, l->base, sizeof(l->base));
}

static int loc_cb(void *arg, const unsigned char sha1[20], const char *file_name,
                  const char *mu_url)
{
    struct loc_ctx *l = arg;
    char hex[41], ext[CONTENT_STORE_EXT_MAX + 1];

    str_hex_encode(sha1, 20, 1, hex);
    content_store_ext(file_name, ext);
    buf_add_str(l->b, l->n++ == 0 ? "<FileLocations>" : "");
    buf_add_str(l->b, "<FileLocation><FileDigest>");
    soap_b64_append(l->b, sha1, 20);
    buf_add_str(l->b, "</FileDigest><Url>");
    if (l->mu && mu_url[0] != '\0')
        buf_add_xml_escaped(l->b, mu_url, strlen(mu_url));
    else
        buf_printf(l->b, "%s/Content/%s/%s%s%s", l->base, hex + 38, hex, ext[0] ? "." : "", ext);
    return buf_add_str(l->b, "</Url></FileLocation>");
}

/* GetExtendedUpdateInfo infoTypes (XmlUpdateFragmentType, MS-WUSP 2.2.2.2.6). */
#define INFO_CORE      0x01u
#define INFO_EXTENDED  0x02u
#define INFO_LOCALIZED 0x04u
#define INFO_EULA      0x08u
#define INFO_OTHER     0x10u /* Published, VerificationRule: no fragment of the metadata table */

/* infoTypes (present) into *want. 0, or -1 after queuing InvalidParameters into *r. */
static int info_types(struct wusp_ctx *w, const xmlNode *types, unsigned *want, enum MHD_Result *r)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {
        {"Core", INFO_CORE}, {"Extended", INFO_EXTENDED}, {"LocalizedProperties", INFO_LOCALIZED},
        {"Eula", INFO_EULA}, {"Published", INFO_OTHER},   {"VerificationRule", INFO_OTHER}};
    const char *ns = WUSP_NS_CLIENT;
    xmlNodePtr c;

    if (soap_count(types, ns, "XmlUpdateFragmentType", WUSP_MAX_INFO_TYPES) > WUSP_MAX_INFO_TYPES) {
        *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "infoTypes: more than %d",
                            WUSP_MAX_INFO_TYPES);
        return -1;
    }
    for (c = xml_child(types, ns, "XmlUpdateFragmentType"); c != NULL;
         c = xml_next(c, ns, "XmlUpdateFragmentType")) {
        char *t = soap_text(c, 64);
        size_t i = 0, nk = sizeof(known) / sizeof(known[0]);

        for (; t != NULL && i < nk; i++)
            if (strcmp(str_trim(t), known[i].name) == 0)
                break;
        if (t == NULL)
            i = nk;
        free(t);
        if (i == nk) {
            *r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                                "infoTypes: not an XmlUpdateFragmentType (Core, Extended, "
                                "LocalizedProperties, Eula, Published, VerificationRule)");
            return -1;
        }
        *want |= known[i].bit;
    }
    return 0;
}

enum MHD_Result wusp_get_extended_update_info(struct wusp_ctx *w)
{
    const char *ns = WUSP_NS_CLIENT;
    const xmlNode *types = wusp_child(w, w->op, "infoTypes");
    const xmlNode *locs = wusp_child(w, w->op, "locales");
    int64_t *ids = NULL, *in = NULL;
    size_t n = 0, nin = 0, nloc = 0, i;
    char *langs[WUSP_MAX_LOCALES];
    unsigned want = 0;
    char *geo = NULL;
    struct client_set set;
    struct loc_ctx lc;
    char err[256];
    xmlNodePtr c;
    PGconn *db = NULL;
    struct buf b;
    enum MHD_Result r;

    memset(&set, 0, sizeof(set));
    if (wusp_check_cookie(w, &r) < 0)
        return r;
    if (wusp_ints(w, wusp_child(w, w->op, "revisionIDs"), "revisionIDs", &ids, &n,
                  WUSP_MAX_EXTENDED_PER_REQUEST, &r) < 0)
        goto out;
    if (types == NULL) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "infoTypes: missing");
        goto out;
    }
    if (info_types(w, types, &want, &r) < 0)
        goto out;
    if (want & (INFO_LOCALIZED | INFO_EULA)) {
        if (locs == NULL) {
            r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                               "locales: required with LocalizedProperties or Eula");
            goto out;
        }
        if (soap_count(locs, ns, "string", WUSP_MAX_LOCALES) > WUSP_MAX_LOCALES) {
            r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "locales: more than %d",
                               WUSP_MAX_LOCALES);
            goto out;
        }
        for (c = xml_child(locs, ns, "string"); c != NULL && nloc < WUSP_MAX_LOCALES;
             c = xml_next(c, ns, "string")) {
            char *t = soap_text(c, 32);

            if (t != NULL)
                langs[nloc++] = str_trim(t);
        }
    }
    if (wusp_child(w, w->op, "GeoId") != NULL) {
        geo = wusp_text(w, w->op, "GeoId", 64);
        if (geo == NULL || (str_trim(geo)[0] != '\0' && !fragment_language_ok(str_trim(geo)))) {
            r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                               "GeoId: an ISO-3166 region code (letters, digits, '-', at most "
                               "%d)",
                               FRAGMENT_MAX_LANG_LEN);
            goto out;
        }
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    if (client_scan_load(db, w->client_id, NULL, 0, &set) < 0) {
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error computing the updates");
        goto out;
    }
    in = xcalloc(n + 1, sizeof(*in));
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<GetExtendedUpdateInfoResult>");
    for (i = 0; i < n; i++)
        if (client_set_find(&set, ids[i]) != NULL)
            in[nin++] = ids[i];
    if (nin > 0 && (want & (INFO_CORE | INFO_EXTENDED | INFO_LOCALIZED | INFO_EULA))) {
        buf_add_str(&b, "<Updates>");
        if (((want & INFO_CORE) && fragment_store_fetch(db, in, nin, FRAGMENT_STORE_CORE, NULL, 0,
                                                        ext_cb, &b, err, sizeof(err)) < 0) ||
            ((want & INFO_EXTENDED) &&
             fragment_store_fetch(db, in, nin, FRAGMENT_STORE_EXTENDED, NULL, 0, ext_cb, &b, err,
                                  sizeof(err)) < 0) ||
            ((want & INFO_LOCALIZED) &&
             fragment_store_fetch(db, in, nin, FRAGMENT_STORE_LOCALIZED, (const char *const *)langs,
                                  nloc, ext_cb, &b, err, sizeof(err)) < 0) ||
            ((want & INFO_EULA) && fragment_store_eula(db, in, nin, (const char *const *)langs,
                                                       nloc, geo != NULL ? str_trim(geo) : NULL,
                                                       ext_cb, &b, err, sizeof(err)) < 0)) {
            buf_free(&b);
            log_warnx("wusp: cannot read fragments: %s", err);
            r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading fragments");
            goto out;
        }
        buf_add_str(&b, "</Updates>");
    }
    loc_init(&lc, w, db, &b);
    if (nin > 0 && client_scan_files(db, in, nin, loc_cb, &lc) < 0) {
        buf_free(&b);
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading files");
        goto out;
    }
    if (lc.n > 0)
        buf_add_str(&b, "</FileLocations>");
    if (nin < n) {
        buf_add_str(&b, "<OutOfScopeRevisionIDs>");
        for (i = 0; i < n; i++)
            if (client_set_find(&set, ids[i]) == NULL)
                buf_printf(&b, "<int>%lld</int>", (long long)ids[i]);
        buf_add_str(&b, "</OutOfScopeRevisionIDs>");
    }
    if (buf_add_str(&b, "</GetExtendedUpdateInfoResult>") < 0) {
        buf_free(&b);
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer larger than %u bytes", SOAP_REPLY_MAX);
        goto out;
    }
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
out:
    for (i = 0; i < nloc; i++)
        free(langs[i]);
    free(geo);
    soap_svc_db_put(&w->s, db);
    client_set_free(&set);
    free(ids);
    free(in);
    return r;
}

enum MHD_Result wusp_get_file_locations(struct wusp_ctx *w)
{
    const char *ns = WUSP_NS_CLIENT;
    const xmlNode *list = wusp_child(w, w->op, "fileDigests");
    unsigned char(*d)[20] = NULL;
    size_t n = 0, cnt;
    struct loc_ctx lc;
    xmlNodePtr c;
    PGconn *db = NULL;
    struct buf b;
    enum MHD_Result r;

    if (wusp_check_cookie(w, &r) < 0)
        return r;
    if (list == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "fileDigests: missing");
    cnt = soap_count(list, ns, "base64Binary", WUSP_MAX_DIGESTS);
    if (cnt > WUSP_MAX_DIGESTS)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                              "fileDigests: more than %d digests", WUSP_MAX_DIGESTS);
    d = xcalloc(cnt + 1, sizeof(*d));
    for (c = xml_child(list, ns, "base64Binary"); c != NULL && n < cnt;
         c = xml_next(c, ns, "base64Binary")) {
        char *t = soap_text(c, 64);
        size_t len = 0;
        int ok = t != NULL && str_b64_decode(t, d[n], 20, &len) == 0 && len == 20;

        free(t);
        if (!ok) {
            r = soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                               "fileDigests: each digest must be 20 bytes (SHA-1) in base64");
            goto out;
        }
        n++;
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL)
        goto out;
    buf_init(&b, SOAP_REPLY_MAX);
    buf_add_str(&b, "<GetFileLocationsResult>");
    loc_init(&lc, w, db, &b);
    if (n > 0 && client_scan_digests(db, (const unsigned char(*)[20])d, n, loc_cb, &lc) < 0) {
        buf_free(&b);
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error reading files");
        goto out;
    }
    if (lc.n > 0)
        buf_add_str(&b, "</FileLocations>");
    if (wusp_add_cookie(w, db, &b, "NewCookie", &w->cl) < 0) {
        buf_free(&b);
        r = soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "cannot seal the cookie");
        goto out;
    }
    buf_add_str(&b, "</GetFileLocationsResult>");
    r = soap_svc_reply(&w->s, b.data, b.len);
    buf_free(&b);
out:
    soap_svc_db_put(&w->s, db);
    free(d);
    return r;
}
