/*
 * soap_catalog: the Server Sync web service's catalog answers (see soap_catalog.h). The SQL is
 * in the owner modules (sync_query, file_state, settings); identity lists go to them as array
 * parameters ('{...}' text built from parsed GUIDs and booleans only), never as SQL text.
 */
#include "soap_catalog.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file_state.h"
#include "log.h"
#include "settings.h"
#include "soap.h"
#include "strutil.h"
#include "sync_query.h"
#include "xmalloc.h"

/* '{g1,g2}' and '{t,f}' array literals of an id/delta list. */
static void soapcat_id_arrays(const struct soap_id_delta *v, size_t n, struct buf *ids,
                              struct buf *deltas)
{
    size_t i;
    char g[37];

    buf_add_str(ids, "{");
    buf_add_str(deltas, "{");
    for (i = 0; i < n; i++) {
        str_guid_format(v[i].id, g);
        buf_printf(ids, "%s%s", i ? "," : "", g);
        buf_printf(deltas, "%s%s", i ? "," : "", v[i].delta ? "t" : "f");
    }
    buf_add_str(ids, "}");
    buf_add_str(deltas, "}");
}

/* LCIDs as an int[] literal into out ("{1031,1033}"), or NULL when there are none. */
static const char *soapcat_lcids(const long *v, size_t n, struct buf *out)
{
    size_t i;

    if (n == 0)
        return NULL;
    buf_add_str(out, "{");
    for (i = 0; i < n; i++)
        buf_printf(out, "%s%ld", i ? "," : "", v[i]);
    buf_add_str(out, "}");
    return buf_str(out);
}

int soapcat_open_revisions(PGconn *db, const struct soap_call *c)
{
    char anchor[32];
    struct sync_query_revisions q = {.get_config = c->get_config};
    struct buf ci, cd, li, ld, lc;
    int rc;

    if (snprintf(anchor, sizeof(anchor), "%lld", (long long)c->anchor) >= (int)sizeof(anchor))
        return -1;
    buf_init(&ci, 64 * 1024);
    buf_init(&cd, 16 * 1024);
    buf_init(&li, 64 * 1024);
    buf_init(&ld, 16 * 1024);
    buf_init(&lc, 16 * 1024);
    q.anchor = c->has_anchor ? anchor : NULL;
    if (!c->get_config) {
        size_t i;

        q.nofilter = c->ncategories == 0 && c->nclassifications == 0;
        soapcat_id_arrays(c->categories, c->ncategories, &ci, &cd);
        soapcat_id_arrays(c->classifications, c->nclassifications, &li, &ld);
        for (i = 0; i < c->ncategories; i++)
            q.forced |= !c->categories[i].delta;
        for (i = 0; i < c->nclassifications; i++)
            q.forced |= !c->classifications[i].delta;
        q.category_ids = buf_str(&ci);
        q.category_deltas = buf_str(&cd);
        q.classification_ids = buf_str(&li);
        q.classification_deltas = buf_str(&ld);
        q.lcids = soapcat_lcids(c->languages, c->nlanguages, &lc);
    }
    if (buf_failed(&ci) || buf_failed(&cd) || buf_failed(&li) || buf_failed(&ld) ||
        buf_failed(&lc)) {
        log_warnx("GetRevisionIdList: the filter lists do not fit in their query parameters");
        rc = -1;
    } else {
        rc = sync_query_open_revisions(db, &q);
    }
    buf_free(&ci);
    buf_free(&cd);
    buf_free(&li);
    buf_free(&ld);
    buf_free(&lc);
    return rc;
}

int soapcat_row_identity(struct buf *out, const PGresult *res, int row)
{
    return buf_printf(out,
                      "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%s</RevisionNumber>"
                      "</UpdateIdentity>",
                      PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
}

int soapcat_row_group(struct buf *out, const PGresult *res, int row)
{
    int rc = 0;

    rc |= buf_printf(out,
                     "<ServerSyncTargetGroup><TargetGroupID>%s</TargetGroupID>"
                     "<ParentGroupId>%s</ParentGroupId><Name>",
                     PQgetvalue(res, row, 0), PQgetvalue(res, row, 1));
    rc |= buf_add_xml_escaped(out, PQgetvalue(res, row, 2), (size_t)PQgetlength(res, row, 2));
    rc |= buf_printf(out, "</Name><IsBuiltin>%s</IsBuiltin></ServerSyncTargetGroup>",
                     PQgetvalue(res, row, 3)[0] == 't' ? "true" : "false");
    return rc ? -1 : 0;
}

int soapcat_row_deployment(struct buf *out, const PGresult *res, int row)
{
    int rc = 0;

    rc |= buf_printf(out,
                     "<ServerSyncDeployment><UpdateId>%s</UpdateId><RevisionNumber>%s"
                     "</RevisionNumber><Action>%s</Action>",
                     PQgetvalue(res, row, 0), PQgetvalue(res, row, 1), PQgetvalue(res, row, 2));
    if (!PQgetisnull(res, row, 3)) {
        rc |= buf_add_str(out, "<AdminName>");
        rc |= buf_add_xml_escaped(out, PQgetvalue(res, row, 3), (size_t)PQgetlength(res, row, 3));
        rc |= buf_add_str(out, "</AdminName>");
    }
    rc |= buf_printf(out,
                     "<Deadline>%s</Deadline><IsAssigned>%s</IsAssigned><GoLiveTime>%s"
                     "</GoLiveTime><DeploymentGuid>%s</DeploymentGuid><TargetGroupId>%s"
                     "</TargetGroupId><DownloadPriority>%s</DownloadPriority>"
                     "</ServerSyncDeployment>",
                     PQgetvalue(res, row, 4), PQgetvalue(res, row, 5)[0] == 't' ? "true" : "false",
                     PQgetvalue(res, row, 6), PQgetvalue(res, row, 7), PQgetvalue(res, row, 8),
                     PQgetvalue(res, row, 9));
    return rc ? -1 : 0;
}

int soapcat_row_guid(struct buf *out, const PGresult *res, int row)
{
    return buf_printf(out, "<guid>%s</guid>", PQgetvalue(res, row, 0));
}

/* bytea in PostgreSQL's text (hex) output "\x0a1b..." -> bytes (malloc'd). */
static unsigned char *soapcat_unhex(const char *s, size_t *len)
{
    size_t n;
    unsigned char *b;

    if (s[0] != '\\' || s[1] != 'x')
        return NULL;
    s += 2;
    n = strlen(s);
    if (n % 2 != 0)
        return NULL;
    b = xmalloc(n / 2 + 1);
    if (str_hex_decode(s, n, b, n / 2) < 0) {
        free(b);
        return NULL;
    }
    *len = n / 2;
    return b;
}

/*
 * Append one ServerSyncUpdateData for revision rid from row d of docs (sync_query_revision_docs);
 * its file digests go to files too. 0; -1 when it does not fit or a value is malformed.
 */
static int soapcat_one_update(const PGresult *docs, int d, const char *rid, const char *guid,
                              const char *rev, const PGresult *files, struct buf *out)
{
    int i, nfiles = 0;

    if (buf_printf(out,
                   "<ServerSyncUpdateData><Id><UpdateID>%s</UpdateID><RevisionNumber>%s"
                   "</RevisionNumber></Id>",
                   guid, rev) < 0)
        return -1;
    if (PQgetisnull(docs, d, 2)) {
        if (buf_add_str(out, "<XmlUpdateBlob>") < 0 ||
            buf_add_xml_text(out, PQgetvalue(docs, d, 1), (size_t)PQgetlength(docs, d, 1)) < 0 ||
            buf_add_str(out, "</XmlUpdateBlob>") < 0)
            return -1;
    }
    for (i = 0; i < PQntuples(files); i++) {
        size_t dlen;
        unsigned char *dg;

        if (strcmp(PQgetvalue(files, i, 0), rid) != 0)
            continue;
        dg = soapcat_unhex(PQgetvalue(files, i, 1), &dlen);
        if (dg == NULL)
            return -1;
        if ((nfiles++ == 0 && buf_add_str(out, "<FileDigestList>") < 0) ||
            buf_add_str(out, "<base64Binary>") < 0 || soap_b64_append(out, dg, dlen) < 0 ||
            buf_add_str(out, "</base64Binary>") < 0) {
            free(dg);
            return -1;
        }
        free(dg);
    }
    if (nfiles > 0 && buf_add_str(out, "</FileDigestList>") < 0)
        return -1;
    if (!PQgetisnull(docs, d, 2)) {
        size_t clen;
        unsigned char *cab = soapcat_unhex(PQgetvalue(docs, d, 2), &clen);
        int bad;

        if (cab == NULL)
            return -1;
        bad = buf_add_str(out, "<XmlUpdateBlobCompressed>") < 0 ||
              soap_b64_append(out, cab, clen) < 0 ||
              buf_add_str(out, "</XmlUpdateBlobCompressed>") < 0;
        free(cab);
        if (bad)
            return -1;
    }
    return buf_add_str(out, "</ServerSyncUpdateData>") < 0 ? -1 : 0;
}

/* A digest row of the files result, for sorting. */
struct soapcat_digest_row {
    const char *hex;
    int row;
};

static int soapcat_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int soapcat_cmp_digest_row(const void *a, const void *b)
{
    const struct soapcat_digest_row *x = a, *y = b;
    int c = strcmp(x->hex, y->hex);

    return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

static int soapcat_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/*
 * The rows of files (revision id text, sha1 hex, MUUrl, ...) that go into fileUrls: those of
 * the first included revisions of res (column 0: revision id text), each digest once (its first
 * row), in row order. Sorting keeps this O(F log F) in the F file rows of up to 100 updates
 * (a per-row scan of what was seen cost 0.76 s at 30,000 rows). Returns a malloc'd array of
 * row numbers (caller frees), their count in *n.
 */
static int *soapcat_url_rows(const PGresult *res, size_t included, const PGresult *files, size_t *n)
{
    int nfiles = PQntuples(files), k;
    const char **revs = xcalloc(included + 1, sizeof(*revs));
    struct soapcat_digest_row *rows = xcalloc((size_t)nfiles + 1, sizeof(*rows));
    int *keep = xcalloc((size_t)nfiles + 1, sizeof(*keep));
    size_t i, m = 0;

    for (i = 0; i < included; i++)
        revs[i] = PQgetvalue(res, (int)i, 0);
    qsort(revs, included, sizeof(*revs), soapcat_cmp_str);
    for (k = 0; k < nfiles; k++) {
        const char *rid = PQgetvalue(files, k, 0);
        if (bsearch(&rid, revs, included, sizeof(*revs), soapcat_cmp_str) == NULL)
            continue;
        rows[m].hex = PQgetvalue(files, k, 1);
        rows[m].row = k;
        m++;
    }
    qsort(rows, m, sizeof(*rows), soapcat_cmp_digest_row);
    *n = 0;
    for (i = 0; i < m; i++)
        if (i == 0 || strcmp(rows[i].hex, rows[i - 1].hex) != 0)
            keep[(*n)++] = rows[i].row;
    qsort(keep, *n, sizeof(*keep), soapcat_cmp_int);
    free(revs);
    free(rows);
    return keep;
}

enum soapcat_result soapcat_update_data(PGconn *db, const struct soap_identity *ids, size_t n,
                                        struct buf *out, size_t *served, char *missing,
                                        size_t missinglen)
{
    struct buf gids, revs, rids;
    PGresult *res = NULL, *files = NULL, *docs = NULL;
    enum soapcat_result rc = SOAPCAT_ERROR;
    size_t i, included = 0, mark;
    char g[37];
    int nrows, j;

    *served = 0;
    buf_init(&gids, 64 * 1024);
    buf_init(&revs, 16 * 1024);
    buf_init(&rids, 64 * 1024);
    buf_add_str(&gids, "{");
    buf_add_str(&revs, "{");
    for (i = 0; i < n; i++) {
        str_guid_format(ids[i].id, g);
        buf_printf(&gids, "%s%s", i ? "," : "", g);
        buf_printf(&revs, "%s%d", i ? "," : "", (int)ids[i].rev);
    }
    buf_add_str(&gids, "}");
    buf_add_str(&revs, "}");
    if (buf_failed(&gids) || buf_failed(&revs))
        goto out;
    res = sync_query_revision_ids(db, buf_str(&gids), buf_str(&revs));
    if (res == NULL)
        goto out;
    nrows = PQntuples(res);
    for (j = 0; j < nrows; j++) {
        if (PQgetisnull(res, j, 0)) {
            snprintf(missing, missinglen, "%s revision %s", PQgetvalue(res, j, 1),
                     PQgetvalue(res, j, 2));
            rc = SOAPCAT_UNKNOWN;
            goto out;
        }
    }
    buf_add_str(&rids, "{");
    for (j = 0; j < nrows; j++)
        buf_printf(&rids, "%s%s", j ? "," : "", PQgetvalue(res, j, 0));
    buf_add_str(&rids, "}");
    if (buf_failed(&rids))
        goto out;
    files = sync_query_revision_files(db, buf_str(&rids));
    if (files == NULL)
        goto out;
    /* every document in one query, cut near the budget: not one round trip per revision */
    docs = sync_query_revision_docs(db, buf_str(&rids), SOAPCAT_UPDATE_DATA_BUDGET);
    if (docs == NULL)
        goto out;

    if (buf_add_str(out, "<updates>") < 0)
        goto out;
    for (j = 0; j < nrows; j++) {
        long ord;

        mark = out->len;
        /* no row at this position: the document was cut by the budget, or the revision is
         * gone since the identity lookup; either way the answer stops here */
        if ((int)included >= PQntuples(docs) ||
            str_to_long(PQgetvalue(docs, (int)included, 0), 1, nrows, &ord) < 0 || ord != j + 1 ||
            soapcat_one_update(docs, (int)included, PQgetvalue(res, j, 0), PQgetvalue(res, j, 1),
                               PQgetvalue(res, j, 2), files, out) < 0) {
            if (included == 0)
                goto out;
            buf_truncate(out, mark); /* no room left: stop here */
            break;
        }
        if (out->len > SOAPCAT_UPDATE_DATA_BUDGET && included > 0) {
            buf_truncate(out, mark);
            break;
        }
        included++;
    }
    if (buf_add_str(out, "</updates>") < 0)
        goto out;

    /* fileUrls: one per distinct digest of the updates actually sent */
    {
        size_t nrows_k, r;
        int *keep = soapcat_url_rows(res, included, files, &nrows_k), any = 0, k;

        for (r = 0; r < nrows_k; r++) {
            size_t dlen;
            unsigned char *d;

            k = keep[r];
            d = soapcat_unhex(PQgetvalue(files, k, 1), &dlen);
            if (d == NULL)
                continue;
            if (!any++)
                buf_add_str(out, "<fileUrls>");
            buf_add_str(out, "<ServerSyncUrlData><FileDigest>");
            soap_b64_append(out, d, dlen);
            buf_add_str(out, "</FileDigest>");
            free(d);
            if (!PQgetisnull(files, k, 2) && PQgetlength(files, k, 2) > 0) {
                buf_add_str(out, "<MUUrl>");
                buf_add_xml_escaped(out, PQgetvalue(files, k, 2), (size_t)PQgetlength(files, k, 2));
                buf_add_str(out, "</MUUrl>");
            }
            buf_add_str(out, "<UssUrl /></ServerSyncUrlData>");
        }
        free(keep);
        if (buf_add_str(out, any ? "</fileUrls>" : "<fileUrls />") < 0)
            goto out;
    }
    *served = included;
    rc = SOAPCAT_OK;
out:
    PQclear(res);
    PQclear(files);
    PQclear(docs);
    buf_free(&gids);
    buf_free(&revs);
    buf_free(&rids);
    return rc;
}

int soapcat_queue_files(PGconn *db, const unsigned char (*digests)[20], size_t n,
                        struct buf *missing, size_t *nmissing)
{
    PGresult *res = NULL;
    int rc = -1, j;

    *nmissing = 0;
    res = file_state_queue_requested(db, digests, n);
    if (res == NULL)
        goto out;
    for (j = 0; j < PQntuples(res); j++) {
        long idx;

        if (str_to_long(PQgetvalue(res, j, 0), 1, (long)n, &idx) < 0)
            continue;
        if ((*nmissing)++ > 0)
            buf_add_str(missing, "|");
        soap_b64_append(missing, digests[idx - 1], 20);
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* FNV-1a, 54 bits: the configuration number of the config anchor. */
static uint64_t soapcat_fnv(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int soapcat_languages(PGconn *db, struct buf *out, int64_t *config_seq)
{
    PGresult *res = settings_languages_all(db);
    uint64_t h = 14695981039346656037ULL;
    int i, all = 1, rc = 0;

    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res); i++)
        if (PQgetvalue(res, i, 3)[0] != 't')
            all = 0;
    rc |= buf_printf(out,
                     "<ServerSyncLanguageData><LanguageID>0</LanguageID><ShortLanguage>all"
                     "</ShortLanguage><LongLanguage>all</LongLanguage><Enabled>%s</Enabled>"
                     "</ServerSyncLanguageData>",
                     all && PQntuples(res) > 0 ? "true" : "false");
    for (i = 0; i < PQntuples(res); i++) {
        int en = PQgetvalue(res, i, 3)[0] == 't';

        h = soapcat_fnv(h, PQgetvalue(res, i, 0));
        h = soapcat_fnv(h, en ? ":1;" : ":0;");
        rc |= buf_printf(out, "<ServerSyncLanguageData><LanguageID>%s</LanguageID><ShortLanguage>",
                         PQgetvalue(res, i, 0));
        rc |= buf_add_xml_escaped(out, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
        rc |= buf_add_str(out, "</ShortLanguage><LongLanguage>");
        rc |= buf_add_xml_escaped(out, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
        rc |= buf_printf(out, "</LongLanguage><Enabled>%s</Enabled></ServerSyncLanguageData>",
                         en ? "true" : "false");
    }
    PQclear(res);
    *config_seq = (int64_t)(h & 0x3fffffffffffffULL); /* 54 bits: 17 digits */
    return rc ? -1 : 0;
}

int soapcat_downstream_allowed(PGconn *db, const char *guid, const char *name, const char *peer)
{
    char *list = settings_downstream_allowlist(db), *p, *save = NULL;
    int allowed = 0, any = 0;

    if (list == NULL)
        return -1;
    for (p = strtok_r(list, ", \t", &save); p != NULL; p = strtok_r(NULL, ", \t", &save)) {
        any = 1;
        if (strcasecmp(p, guid) == 0 || (name != NULL && strcasecmp(p, name) == 0) ||
            str_addr_match(p, peer) == 1)
            allowed = 1;
    }
    free(list);
    return any ? allowed : 1;
}
