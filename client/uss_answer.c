/*
 * uss_answer: decoding the upstream's answers as soapread streams them, one end-element
 * callback per operation, every list and text bounded where it is kept. Owns the result
 * structs' frees. Does no I/O and builds no requests (uss_transport.c feeds it).
 */
#include "uss_internal.h"
#include "strutil.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------- small parsers ---------- */

time_t uss_parse_datetime(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0;

    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return (time_t)-1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return (time_t)-1;
    return timegm(&tm);
}

static int parse_bool(const char *t)
{
    return strcmp(t, "true") == 0 || strcmp(t, "1") == 0;
}

static long parse_long(const char *t, long min, long max, long def)
{
    long v;
    char tmp[32];

    if (str_copy(tmp, sizeof(tmp), t) < 0)
        return def;
    str_trim(tmp);
    return str_to_long(tmp, min, max, &v) == 0 ? v : def;
}

/* ---------- answer parsing ---------- */

static int grow(void **arr, size_t *cap, size_t n, size_t size, size_t max)
{
    size_t nc;

    if (n < *cap)
        return 0;
    if (n >= max)
        return -1;
    nc = *cap ? *cap * 2 : 16;
    if (nc > max)
        nc = max;
    *arr = xreallocarray(*arr, nc, size);
    *cap = nc;
    return 0;
}

int uss_answer_reject(struct uss_call *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->bad, sizeof(c->bad), fmt, ap);
    va_end(ap);
    return -1;
}

static int end_auth_config(struct uss_call *c, const char *name, const char *text)
{
    if (strcmp(name, "PlugInID") == 0) {
        snprintf(c->plugin, sizeof(c->plugin), "%s", text);
    } else if (strcmp(name, "ServiceUrl") == 0) {
        if (strlen(text) >= sizeof(c->service_url))
            return uss_answer_reject(c, "%s", "ServiceUrl too long");
        if (strcasecmp(c->plugin, "DssTargeting") == 0 || !c->have_dss)
            snprintf(c->service_url, sizeof(c->service_url), "%s", text);
    } else if (strcmp(name, "AuthPlugInInfo") == 0) {
        if (strcasecmp(c->plugin, "DssTargeting") == 0)
            c->have_dss = 1;
        c->plugin[0] = '\0';
    } else if (strcmp(name, "GetAuthConfigResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int end_cookie(struct uss_call *c, const char *name, const char *text, size_t len)
{
    if (strcmp(name, "PlugInId") == 0) {
        snprintf(c->plugin, sizeof(c->plugin), "%s", text);
    } else if (strcmp(name, "CookieData") == 0 || strcmp(name, "EncryptedData") == 0) {
        if (len > MAX_COOKIE)
            return uss_answer_reject(c, "%s", "cookie larger than 8 KiB");
        free(c->cookie_data);
        c->cookie_data = xstrdup(text);
    } else if (strcmp(name, "Expiration") == 0) {
        snprintf(c->expiration, sizeof(c->expiration), "%s", text);
    } else if (strcmp(name, "GetAuthorizationCookieResult") == 0 ||
               strcmp(name, "GetCookieResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int end_config(struct uss_call *c, const char *name, const char *text)
{
    struct uss_config *o = c->out;

    if (strcmp(name, "CatalogOnlySync") == 0)
        o->catalog_only_sync = parse_bool(text);
    else if (strcmp(name, "LazySync") == 0)
        o->lazy_sync = parse_bool(text);
    else if (strcmp(name, "ServerHostsPsfFiles") == 0)
        o->hosts_psf_files = parse_bool(text);
    else if (strcmp(name, "MaxNumberOfUpdatesPerRequest") == 0)
        o->max_updates_per_request = (int)parse_long(text, 1, 1000, 100);
    else if (strcmp(name, "MaxUpdatesPerRequestInGetUpdateDecryptionData") == 0)
        o->max_decryption_per_request = (int)parse_long(text, 1, 1000, 100);
    else if (strcmp(name, "NewConfigAnchor") == 0) {
        if (strlen(text) >= sizeof(o->new_config_anchor))
            return uss_answer_reject(c, "%s", "NewConfigAnchor too long");
        snprintf(o->new_config_anchor, sizeof(o->new_config_anchor), "%s", text);
    } else if (strcmp(name, "ProtocolVersion") == 0)
        snprintf(o->protocol_version, sizeof(o->protocol_version), "%s", text);
    else if (strcmp(name, "LanguageID") == 0)
        c->cur_lang.lcid = (int)parse_long(text, 0, 1 << 30, -1);
    else if (strcmp(name, "ShortLanguage") == 0)
        snprintf(c->cur_lang.short_name, sizeof(c->cur_lang.short_name), "%s", text);
    else if (strcmp(name, "LongLanguage") == 0)
        snprintf(c->cur_lang.long_name, sizeof(c->cur_lang.long_name), "%s", text);
    else if (strcmp(name, "Enabled") == 0)
        c->cur_lang.enabled = parse_bool(text);
    else if (strcmp(name, "ServerSyncLanguageData") == 0) {
        if (grow((void **)&o->languages, &c->max_items, o->nlanguages, sizeof(*o->languages),
                 4096) < 0)
            return uss_answer_reject(c, "%s", "too many languages");
        o->languages[o->nlanguages++] = c->cur_lang;
        memset(&c->cur_lang, 0, sizeof(c->cur_lang));
    } else if (strcmp(name, "GetConfigDataResult") == 0)
        c->have_result = 1;
    return 0;
}

static int end_idlist(struct uss_call *c, struct soapread *r, const char *name, const char *text)
{
    struct uss_idlist *o = c->out;

    if (strcmp(name, "UpdateID") == 0) {
        if (str_guid_canon(text, c->cur.id.update_id) < 0)
            return uss_answer_reject(c, "bad UpdateID \"%.40s\"", text);
    } else if (strcmp(name, "RevisionNumber") == 0) {
        c->cur.id.rev = (int32_t)parse_long(text, 0, 0x7fffffff, -1);
        if (c->cur.id.rev < 0)
            return uss_answer_reject(c, "bad RevisionNumber \"%.20s\"", text);
    } else if (strcmp(name, "UpdateIdentity") == 0) {
        if (c->cur.id.update_id[0] == '\0')
            return uss_answer_reject(c, "%s", "UpdateIdentity without UpdateID");
        if (uss_idlist_add(o, c->cur.id.update_id, c->cur.id.rev) < 0)
            return uss_answer_reject(c, "%s", "more identities than this server accepts");
        memset(&c->cur.id, 0, sizeof(c->cur.id));
    } else if (strcmp(name, "Anchor") == 0 && soapread_depth(r) == 4) {
        if (strlen(text) >= sizeof(o->anchor))
            return uss_answer_reject(c, "%s", "Anchor too long");
        snprintf(o->anchor, sizeof(o->anchor), "%s", text);
    } else if (strcmp(name, "GetRevisionIdListResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int end_update_data(struct uss_call *c, struct soapread *r, const char *name,
                           const char *text, size_t len)
{
    struct uss_update_data *o = c->out;
    const char *parent = soapread_parent(r, 1);

    if (strcmp(parent, "Id") == 0 && strcmp(name, "UpdateID") == 0) {
        if (str_guid_canon(text, c->cur.id.update_id) < 0)
            return uss_answer_reject(c, "bad UpdateID \"%.40s\"", text);
    } else if (strcmp(parent, "Id") == 0 && strcmp(name, "RevisionNumber") == 0) {
        c->cur.id.rev = (int32_t)parse_long(text, 0, 0x7fffffff, -1);
        if (c->cur.id.rev < 0)
            return uss_answer_reject(c, "bad RevisionNumber \"%.20s\"", text);
    } else if (strcmp(name, "XmlUpdateBlob") == 0) {
        if (len > 0) {
            free(c->cur.xml);
            c->cur.xml = xstrndup(text, len);
        }
    } else if (strcmp(name, "XmlUpdateBlobCompressed") == 0) {
        if (len > 0) {
            size_t cap = len / 4 * 3 + 3, n;
            free(c->cur.cab);
            c->cur.cab = xmalloc(cap);
            if (str_b64_decode(text, c->cur.cab, cap, &n) < 0 || n == 0)
                return uss_answer_reject(c, "%s", "XmlUpdateBlobCompressed is not base64");
            c->cur.cab_len = n;
        }
    } else if (strcmp(name, "base64Binary") == 0 && strcmp(parent, "FileDigestList") == 0) {
        unsigned char d[64];
        size_t n;
        if (str_b64_decode(text, d, sizeof(d), &n) < 0 || n != 20)
            return 0; /* not a SHA-1: ignore rather than fail the batch */
        if (grow((void **)&c->cur.digests, &c->max_items, c->cur.ndigests, 20, 100000) < 0)
            return uss_answer_reject(c, "%s", "too many file digests");
        memcpy(c->cur.digests[c->cur.ndigests++], d, 20);
    } else if (strcmp(name, "ServerSyncUpdateData") == 0) {
        if (c->cur.id.update_id[0] == '\0')
            return uss_answer_reject(c, "%s", "ServerSyncUpdateData without Id");
        if (c->cur.xml == NULL && c->cur.cab == NULL)
            return uss_answer_reject(c, "update %s came without its document", c->cur.id.update_id);
        if (grow((void **)&o->updates, &o->cap, o->n, sizeof(*o->updates), 100000) < 0)
            return uss_answer_reject(c, "%s", "too many updates in one answer");
        o->updates[o->n++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
        c->max_items = 0;
    } else if (strcmp(name, "FileDigest") == 0) {
        unsigned char d[64];
        size_t n;
        if (str_b64_decode(text, d, sizeof(d), &n) == 0 && n == 20)
            memcpy(c->cur_url.sha1, d, 20);
    } else if (strcmp(name, "MUUrl") == 0) {
        free(c->cur_url.mu_url);
        c->cur_url.mu_url = len > 0 && len < 4096 ? xstrndup(text, len) : NULL;
    } else if (strcmp(name, "ServerSyncUrlData") == 0) {
        if (grow((void **)&o->urls, &o->capurls, o->nurls, sizeof(*o->urls), 1000000) < 0)
            return uss_answer_reject(c, "%s", "too many file URLs in one answer");
        o->urls[o->nurls++] = c->cur_url;
        memset(&c->cur_url, 0, sizeof(c->cur_url));
    } else if (strcmp(name, "GetUpdateDataResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

static int push_guid(char (**arr)[37], size_t *n, size_t *cap, const char *text, struct uss_call *c)
{
    char g[37];

    if (str_guid_canon(text, g) < 0)
        return uss_answer_reject(c, "bad GUID \"%.40s\"", text);
    if (grow((void **)arr, cap, *n, 37, 1000000) < 0)
        return uss_answer_reject(c, "%s", "too many GUIDs");
    memcpy((*arr)[(*n)++], g, 37);
    return 0;
}

static int end_deployments(struct uss_call *c, struct soapread *r, const char *name,
                           const char *text, size_t len)
{
    struct uss_deployments *o = c->out;
    const char *parent = soapread_parent(r, 1);
    struct uss_group *g = &c->cur_group;
    struct uss_deployment *d = &c->cur_dep;

    if (strcmp(parent, "ServerSyncTargetGroup") == 0) {
        if (strcmp(name, "TargetGroupID") == 0 && str_guid_canon(text, g->id) < 0)
            return uss_answer_reject(c, "bad TargetGroupID \"%.40s\"", text);
        if (strcmp(name, "ParentGroupId") == 0 && str_guid_canon(text, g->parent_id) < 0)
            return uss_answer_reject(c, "bad ParentGroupId \"%.40s\"", text);
        if (strcmp(name, "Name") == 0) {
            free(g->name);
            g->name = xstrndup(text, len > 512 ? 512 : len);
        }
        if (strcmp(name, "IsBuiltin") == 0)
            g->is_builtin = parse_bool(text);
    } else if (strcmp(name, "ServerSyncTargetGroup") == 0) {
        if (grow((void **)&o->groups, &o->capgroups, o->ngroups, sizeof(*g), 100000) < 0)
            return uss_answer_reject(c, "%s", "too many groups");
        o->groups[o->ngroups++] = *g;
        memset(g, 0, sizeof(*g));
    } else if (strcmp(parent, "ServerSyncDeployment") == 0) {
        if (strcmp(name, "UpdateId") == 0 && str_guid_canon(text, d->update_id) < 0)
            return uss_answer_reject(c, "bad UpdateId \"%.40s\"", text);
        if (strcmp(name, "RevisionNumber") == 0)
            d->rev = (int32_t)parse_long(text, 0, 0x7fffffff, 0);
        if (strcmp(name, "Action") == 0)
            d->action = (int)parse_long(text, 0, 3, 2);
        if (strcmp(name, "AdminName") == 0) {
            free(d->admin_name);
            d->admin_name = xstrndup(text, len > 256 ? 256 : len);
        }
        if (strcmp(name, "Deadline") == 0)
            snprintf(d->deadline, sizeof(d->deadline), "%s", text);
        if (strcmp(name, "IsAssigned") == 0)
            d->is_assigned = parse_bool(text);
        if (strcmp(name, "GoLiveTime") == 0)
            snprintf(d->go_live_time, sizeof(d->go_live_time), "%s", text);
        if (strcmp(name, "DeploymentGuid") == 0 && str_guid_canon(text, d->deployment_guid) < 0)
            return uss_answer_reject(c, "bad DeploymentGuid \"%.40s\"", text);
        if (strcmp(name, "TargetGroupId") == 0 && str_guid_canon(text, d->target_group_id) < 0)
            return uss_answer_reject(c, "bad TargetGroupId \"%.40s\"", text);
        if (strcmp(name, "DownloadPriority") == 0)
            d->download_priority = (int)parse_long(text, 0, 255, 1);
    } else if (strcmp(name, "ServerSyncDeployment") == 0) {
        if (d->deployment_guid[0] == '\0' || d->update_id[0] == '\0')
            return uss_answer_reject(c, "%s", "deployment without DeploymentGuid or UpdateId");
        if (grow((void **)&o->deployments, &o->capdeployments, o->ndeployments, sizeof(*d),
                 4000000) < 0)
            return uss_answer_reject(c, "%s", "too many deployments");
        o->deployments[o->ndeployments++] = *d;
        memset(d, 0, sizeof(*d));
    } else if (strcmp(name, "guid") == 0 && strcmp(parent, "DeadDeployments") == 0) {
        return push_guid(&o->dead, &o->ndead, &o->capdead, text, c);
    } else if (strcmp(name, "guid") == 0 && strcmp(parent, "HiddenUpdates") == 0) {
        return push_guid(&o->hidden, &o->nhidden, &o->caphidden, text, c);
    } else if (strcmp(name, "guid") == 0 && strcmp(parent, "AcceptedEulas") == 0) {
        return push_guid(&o->eulas, &o->neulas, &o->capeulas, text, c);
    } else if (strcmp(name, "Anchor") == 0 && soapread_depth(r) == 4) {
        if (strlen(text) >= sizeof(o->anchor))
            return uss_answer_reject(c, "%s", "Anchor too long");
        snprintf(o->anchor, sizeof(o->anchor), "%s", text);
    } else if (strcmp(name, "GetDeploymentsResult") == 0) {
        c->have_result = 1;
    }
    return 0;
}

/* A batch size of GetRollupConfiguration: > 0 (MS-WSUSSS 3.1.4.13.3.1), capped to Windows'. */
static int rollup_batch(struct uss_call *c, const char *name, const char *text, int windows,
                        int *out)
{
    long v = parse_long(text, 1, 0x7fffffff, -1);

    if (v < 1)
        return uss_answer_reject(c, "%s \"%.20s\" is not a number above 0", name, text);
    *out = v > windows ? windows : (int)v;
    return 0;
}

static int end_rollup_config(struct uss_call *c, const char *name, const char *text)
{
    struct uss_rollup_config *o = c->out;

    if (strcmp(name, "DoDetailedRollup") == 0)
        o->do_detailed_rollup = parse_bool(text);
    else if (strcmp(name, "RollupResetGuid") == 0) {
        if (str_guid_canon(text, o->reset_guid) < 0)
            return uss_answer_reject(c, "bad RollupResetGuid \"%.40s\"", text);
    } else if (strcmp(name, "ServerId") == 0) {
        if (str_guid_canon(text, o->server_id) < 0)
            return uss_answer_reject(c, "bad ServerId \"%.40s\"", text);
    } else if (strcmp(name, "RollupDownstreamServersMaxBatchSize") == 0)
        return rollup_batch(c, name, text, USS_ROLLUP_SERVERS_BATCH, &o->max_servers);
    else if (strcmp(name, "RollupComputersMaxBatchSize") == 0)
        return rollup_batch(c, name, text, USS_ROLLUP_COMPUTERS_BATCH, &o->max_computers);
    else if (strcmp(name, "GetOutOfSyncComputersMaxBatchSize") == 0)
        return rollup_batch(c, name, text, USS_ROLLUP_OUT_OF_SYNC_BATCH, &o->max_out_of_sync);
    else if (strcmp(name, "RollupComputerStatusMaxBatchSize") == 0)
        return rollup_batch(c, name, text, USS_ROLLUP_STATUS_BATCH, &o->max_status);
    else if (strcmp(name, "GetRollupConfigurationResult") == 0) {
        if (o->reset_guid[0] == '\0' || o->server_id[0] == '\0' || o->max_servers == 0 ||
            o->max_computers == 0 || o->max_out_of_sync == 0 || o->max_status == 0)
            return uss_answer_reject(c, "%s",
                                     "rollup configuration without its GUIDs or batch sizes");
        c->have_result = 1;
    }
    return 0;
}

/* A ComputerId of a rollup answer: not empty, not longer than we send. */
static int rollup_computer_id(struct uss_call *c, const char *id,
                              char out[USS_ROLLUP_MAX_COMPUTER_ID + 1])
{
    if (id == NULL || id[0] == '\0')
        return uss_answer_reject(c, "%s", "a computer without ComputerId");
    if (str_copy(out, USS_ROLLUP_MAX_COMPUTER_ID + 1, id) < 0)
        return uss_answer_reject(c, "ComputerId \"%.40s...\" longer than %d characters", id,
                                 USS_ROLLUP_MAX_COMPUTER_ID);
    return 0;
}

static int end_rollup_computers(struct uss_call *c, struct soapread *r, const char *name)
{
    struct uss_changed_computers *o = c->out;
    const char *change;
    struct uss_changed_computer one;

    if (strcmp(name, "RollupComputersResult") == 0 && soapread_depth(r) == 3) {
        c->have_result = 1;
        return 0;
    }
    if (strcmp(name, "ChangedComputer") != 0)
        return 0;
    memset(&one, 0, sizeof(one));
    if (rollup_computer_id(c, soapread_attr(r, "ComputerId"), one.id) < 0)
        return -1;
    change = soapread_attr(r, "Change");
    if (change != NULL && strcmp(change, "Deleted") == 0)
        one.deleted = 1;
    else if (change == NULL || strcmp(change, "NewParent") != 0)
        return uss_answer_reject(c, "ChangedComputer %.40s with Change \"%.20s\"", one.id,
                                 change ? change : "");
    if (grow((void **)&o->v, &o->cap, o->n, sizeof(*o->v), c->max_list) < 0)
        return uss_answer_reject(c, "more changed computers (%zu) than were sent", c->max_list);
    o->v[o->n++] = one;
    return 0;
}

static int end_out_of_sync(struct uss_call *c, struct soapread *r, const char *name,
                           const char *text)
{
    struct uss_computer_ids *o = c->out;

    if (strcmp(name, "GetOutOfSyncComputersResult") == 0 && soapread_depth(r) == 3) {
        c->have_result = 1;
        return 0;
    }
    if (strcmp(name, "string") != 0 ||
        strcmp(soapread_parent(r, 1), "GetOutOfSyncComputersResult") != 0)
        return 0;
    if (grow((void **)&o->ids, &o->cap, o->n, sizeof(*o->ids), c->max_list) < 0)
        return uss_answer_reject(c, "more out-of-sync computers than were asked about (%zu)",
                                 c->max_list);
    if (rollup_computer_id(c, text, o->ids[o->n]) < 0)
        return -1;
    o->n++;
    return 0;
}

static int end_rollup_status(struct uss_call *c, struct soapread *r, const char *name,
                             const char *text)
{
    int *accepted = c->out;

    if (strcmp(name, "RollupComputerStatusResult") == 0 && soapread_depth(r) == 3) {
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0 && strcmp(text, "1") != 0 &&
            strcmp(text, "0") != 0)
            return uss_answer_reject(c, "RollupComputerStatusResult \"%.20s\" is not a boolean",
                                     text);
        if (accepted != NULL)
            *accepted = parse_bool(text);
        c->have_result = 1;
    }
    return 0;
}

int uss_answer_on_end(void *arg, struct soapread *r, const char *name, const char *text, size_t len)
{
    struct uss_call *c = arg;

    /* answers without a result, and two whose empty array .NET may leave out */
    if (soapread_depth(r) == 2 && (strcmp(name, "DownloadFilesResponse") == 0 ||
                                   strcmp(name, "RollupDownstreamServersResponse") == 0 ||
                                   strcmp(name, "RollupComputersResponse") == 0 ||
                                   strcmp(name, "GetOutOfSyncComputersResponse") == 0))
        c->have_result = 1;
    switch (c->op) {
    case USS_OP_GET_AUTH_CONFIG:
        return end_auth_config(c, name, text);
    case USS_OP_GET_AUTHORIZATION_COOKIE:
    case USS_OP_GET_COOKIE:
        return end_cookie(c, name, text, len);
    case USS_OP_GET_CONFIG_DATA:
        return end_config(c, name, text);
    case USS_OP_GET_REVISION_ID_LIST:
        return end_idlist(c, r, name, text);
    case USS_OP_GET_UPDATE_DATA:
        return end_update_data(c, r, name, text, len);
    case USS_OP_GET_DEPLOYMENTS:
        return end_deployments(c, r, name, text, len);
    case USS_OP_GET_ROLLUP_CONFIGURATION:
        return end_rollup_config(c, name, text);
    case USS_OP_ROLLUP_COMPUTERS:
        return end_rollup_computers(c, r, name);
    case USS_OP_GET_OUT_OF_SYNC_COMPUTERS:
        return end_out_of_sync(c, r, name, text);
    case USS_OP_ROLLUP_COMPUTER_STATUS:
        return end_rollup_status(c, r, name, text);
    default:
        return 0;
    }
}

/* ---------- results ---------- */

void uss_config_free(struct uss_config *c)
{
    if (c == NULL)
        return;
    free(c->languages);
    c->languages = NULL;
    c->nlanguages = 0;
    free(c->hierarchy);
    c->hierarchy = NULL;
    free(c->subscription);
    c->subscription = NULL;
}

int uss_idlist_add(struct uss_idlist *l, const char *update_id, int32_t rev)
{
    unsigned char g[16];

    if (str_guid_parse(update_id, strlen(update_id), g) < 0 ||
        grow((void **)&l->ids, &l->cap, l->n, sizeof(*l->ids), USS_MAX_IDS) < 0)
        return -1;
    memcpy(l->ids[l->n].uuid, g, sizeof(g));
    l->ids[l->n].rev = rev;
    l->n++;
    return 0;
}

void uss_idlist_get(const struct uss_idlist *l, size_t i, struct uss_id *out)
{
    str_guid_format(l->ids[i].uuid, out->update_id);
    out->rev = l->ids[i].rev;
}

void uss_idlist_free(struct uss_idlist *l)
{
    if (l == NULL)
        return;
    free(l->ids);
    l->ids = NULL;
    l->n = l->cap = 0;
}

void uss_update_free(struct uss_update *u)
{
    if (u == NULL)
        return;
    free(u->xml);
    free(u->cab);
    free(u->digests);
    memset(u, 0, sizeof(*u));
}

void uss_update_data_free(struct uss_update_data *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++)
        uss_update_free(&d->updates[i]);
    for (i = 0; i < d->nurls; i++)
        free(d->urls[i].mu_url);
    free(d->updates);
    free(d->urls);
    memset(d, 0, sizeof(*d));
}

void uss_deployments_free(struct uss_deployments *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->ngroups; i++)
        free(d->groups[i].name);
    for (i = 0; i < d->ndeployments; i++)
        free(d->deployments[i].admin_name);
    free(d->groups);
    free(d->deployments);
    free(d->dead);
    free(d->hidden);
    free(d->eulas);
    memset(d, 0, sizeof(*d));
}

void uss_changed_computers_free(struct uss_changed_computers *l)
{
    if (l == NULL)
        return;
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void uss_computer_ids_free(struct uss_computer_ids *l)
{
    if (l == NULL)
        return;
    free(l->ids);
    memset(l, 0, sizeof(*l));
}

void uss_answer_digests_named(const char *m, const unsigned char (*sha1)[20], size_t n,
                              unsigned char *gone)
{
    const char *p = m;
    size_t i, named = 0;

    memset(gone, 0, n);
    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        unsigned char d[20];
        char one[64];

        if (len < sizeof(one) && snprintf(one, sizeof(one), "%.*s", (int)len, p) == (int)len &&
            str_b64_decode_exact(one, d, 20) == 0)
            for (i = 0; i < n; i++)
                if (!gone[i] && memcmp(sha1[i], d, 20) == 0) {
                    gone[i] = 1;
                    named++;
                }
        p += len + (bar != NULL);
    }
    if (named == 0)
        memset(gone, 1, n);
}
