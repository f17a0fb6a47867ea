/*
 * admin_updates: read-only views of the catalog for `wsusctl updates list` and
 * `wsusctl updates show`: the latest revision of each update with its classification and
 * product names, approval and decline state, and for one update its files, approvals and
 * supersedence. Lists are bounded (limit, at most UPDATES_LIST_MAX rows). It changes nothing.
 */
#include "admin_handlers.h"
#include "approvals.h"
#include "catalog.h"
#include "db.h"
#include "log.h"
#include "strutil.h"
#include "update_query.h"
#include "xmalloc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPDATES_LIST_DEFAULT 100
#define UPDATES_LIST_MAX     100000

static json_t *str_or_null(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col) || PQgetvalue(r, row, col)[0] == '\0')
        return json_null();
    return json_string(PQgetvalue(r, row, col));
}

static int is_true(PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && strcmp(PQgetvalue(r, row, col), "t") == 0;
}

/* The update_type values a --type name stands for, as a PostgreSQL array, or NULL. */
static const char *types_for(const char *t)
{
    if (t == NULL || strcmp(t, "software") == 0)
        return "{Software,Driver}";
    if (strcmp(t, "driver") == 0)
        return "{Driver}";
    if (strcmp(t, "category") == 0)
        return "{Category}";
    if (strcmp(t, "detectoid") == 0)
        return "{Detectoid}";
    if (strcmp(t, "all") == 0)
        return "{Software,Driver,Category,Detectoid}";
    return NULL;
}

/* "1" or "true" in the query string. */
static int flag_on(const char *v)
{
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

int admin_update_filter(struct http_request *req, PGconn *db, admin_filter_get get, void *src,
                        struct admin_filter *af, enum MHD_Result *replied)
{
    static const char *const texts[] = {"product", "classification", "search"};
    const char *type = get(src, "type"), *v;
    char err[1024];
    size_t i;

    memset(af, 0, sizeof(*af));
    af->f.types = types_for(type);
    af->f.limit = 1;
    if (af->f.types == NULL) {
        *replied =
            admin_error(req, MHD_HTTP_BAD_REQUEST,
                        "type \"%s\" is not software, driver, category, detectoid or all", type);
        return -1;
    }
    for (i = 0; i < 3; i++) {
        v = get(src, texts[i]);
        if (v != NULL && strlen(v) > UPDATE_QUERY_TEXT_MAX) {
            *replied =
                admin_error(req, MHD_HTTP_BAD_REQUEST, "the %s text is too long (at most %d bytes)",
                            texts[i], UPDATE_QUERY_TEXT_MAX);
            return -1;
        }
        if (v != NULL && v[0] != '\0')
            af->given = 1;
    }
    v = get(src, "product");
    if (v != NULL && v[0] != '\0') {
        int rc = update_query_category(db, "product", v, af->product, err, sizeof(err));
        if (rc != 0) {
            *replied = admin_error(
                req, rc < 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_BAD_REQUEST, "%s", err);
            return -1;
        }
        af->f.product = af->product;
    }
    v = get(src, "classification");
    if (v != NULL && v[0] != '\0') {
        int rc =
            update_query_category(db, "classification", v, af->classification, err, sizeof(err));
        if (rc != 0) {
            *replied = admin_error(
                req, rc < 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_BAD_REQUEST, "%s", err);
            return -1;
        }
        af->f.classification = af->classification;
    }
    af->f.search = get(src, "search");
    af->f.hidden = flag_on(get(src, "hidden"));
    af->f.approved = flag_on(get(src, "approved")) ? 1 : flag_on(get(src, "not_approved")) ? -1 : 0;
    af->f.declined = flag_on(get(src, "declined")) ? 1 : 0;
    af->f.superseded = flag_on(get(src, "superseded")) ? 1 : 0;
    if (flag_on(get(src, "approved")) && flag_on(get(src, "not_approved"))) {
        *replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                               "approved and not_approved exclude each other; give one");
        return -1;
    }
    if (af->f.approved != 0 || af->f.declined != 0 || af->f.superseded != 0)
        af->given = 1;
    return 0;
}

static const char *query_get(void *src, const char *name)
{
    return http_query(src, name);
}

json_t *admin_update_row(PGresult *r, int i)
{
    json_t *u = json_object();

    json_object_set_new(u, "update_id", json_string(PQgetvalue(r, i, UQ_ID)));
    json_object_set_new(u, "revision",
                        json_integer(strtol(PQgetvalue(r, i, UQ_REVISION), NULL, 10)));
    json_object_set_new(u, "type", json_string(PQgetvalue(r, i, UQ_TYPE)));
    json_object_set_new(u, "category_type", str_or_null(r, i, UQ_CATEGORY_TYPE));
    json_object_set_new(u, "title", json_string(PQgetvalue(r, i, UQ_TITLE)));
    json_object_set_new(u, "kb", str_or_null(r, i, UQ_KB));
    json_object_set_new(u, "classification", str_or_null(r, i, UQ_CLASSIFICATION));
    json_object_set_new(u, "products", str_or_null(r, i, UQ_PRODUCTS));
    json_object_set_new(u, "approved", json_boolean(is_true(r, i, UQ_APPROVED)));
    json_object_set_new(u, "declined", json_boolean(is_true(r, i, UQ_DECLINED)));
    json_object_set_new(u, "superseded", json_boolean(is_true(r, i, UQ_SUPERSEDED)));
    json_object_set_new(u, "created", str_or_null(r, i, UQ_CREATED));
    json_object_set_new(u, "size", json_integer(strtoll(PQgetvalue(r, i, UQ_SIZE), NULL, 10)));
    return u;
}

enum MHD_Result admin_updates_list(struct http_request *req)
{
    struct admin_filter af;
    enum MHD_Result replied;
    long limit = UPDATES_LIST_DEFAULT, offset = 0;
    PGresult *r;
    PGconn *db;
    json_t *list;
    long total = 0;
    int i;

    if (admin_page(req, UPDATES_LIST_MAX, "", &limit, &offset, &replied) < 0)
        return replied;
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    if (admin_update_filter(req, db, query_get, req, &af, &replied) < 0)
        return replied;
    af.f.limit = limit;
    af.f.offset = offset;
    r = update_query_list(db, &af.f);
    if (r == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the catalog; see the wsusd log");
    list = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        json_array_append_new(list, admin_update_row(r, i));
        total = strtol(PQgetvalue(r, i, UQ_TOTAL), NULL, 10);
    }
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK,
                       json_pack("{s:I, s:I, s:o}", "total", (json_int_t)total, "count",
                                 (json_int_t)json_array_size(list), "updates", list));
}

enum MHD_Result admin_updates_show(struct http_request *req)
{
    const char *id = http_query(req, "id");
    char uid[37], rev_id[24];
    PGresult *r = NULL;
    PGconn *db;
    json_t *u = NULL, *arr;
    enum MHD_Result replied;
    int i;

    if (str_guid_canon(id, uid) < 0)
        return admin_error(req, MHD_HTTP_BAD_REQUEST,
                           "\"%s\" is not an update id (a GUID); wsusctl updates list shows them",
                           id != NULL ? id : "");
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    r = update_query_detail(db, uid);
    if (r == NULL)
        goto dberr;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return admin_error(req, MHD_HTTP_NOT_FOUND,
                           "update %s is not in the catalog; wsusctl updates list --search TEXT "
                           "finds update ids",
                           uid);
    }
    snprintf(rev_id, sizeof(rev_id), "%s", PQgetvalue(r, 0, 0));
    u = json_object();
    json_object_set_new(u, "update_id", json_string(PQgetvalue(r, 0, 1)));
    json_object_set_new(u, "revision", json_integer(strtol(PQgetvalue(r, 0, 2), NULL, 10)));
    json_object_set_new(u, "type", json_string(PQgetvalue(r, 0, 3)));
    json_object_set_new(u, "category_type", str_or_null(r, 0, 4));
    json_object_set_new(u, "title", json_string(PQgetvalue(r, 0, 5)));
    json_object_set_new(u, "kb", str_or_null(r, 0, 6));
    json_object_set_new(u, "security_bulletin", str_or_null(r, 0, 7));
    json_object_set_new(u, "msrc_severity", str_or_null(r, 0, 8));
    json_object_set_new(u, "publication_state", str_or_null(r, 0, 9));
    json_object_set_new(u, "created", str_or_null(r, 0, 10));
    json_object_set_new(u, "explicitly_deployable", json_boolean(is_true(r, 0, 11)));
    json_object_set_new(u, "default_language", str_or_null(r, 0, 12));
    json_object_set_new(u, "description", str_or_null(r, 0, 13));
    arr = json_array();
    {
        const char *s = PQgetvalue(r, 0, 14);
        while (*s != '\0') {
            json_array_append_new(arr, json_integer(strtol(s, NULL, 10)));
            s += strcspn(s, ",");
            if (*s == ',')
                s++;
        }
    }
    json_object_set_new(u, "revisions", arr);
    json_object_set_new(u, "declined", json_boolean(is_true(r, 0, 15)));
    json_object_set_new(u, "change_seq", json_integer(strtoll(PQgetvalue(r, 0, 16), NULL, 10)));
    PQclear(r);
    r = NULL;
    {
        long long size;
        if (update_query_size(db, uid, &size) < 0)
            goto dberr;
        json_object_set_new(u, "size", json_integer(size));
    }
    {
        char eula[37];
        int k = catalog_eula_of(db, rev_id, eula);
        if (k < 0)
            goto dberr;
        json_object_set_new(u, "eula_id", k == 1 ? json_string(eula) : json_null());
    }

    /* categories: classifications, products, parents of a category */
    r = update_query_categories(db, rev_id);
    if (r == NULL)
        goto dberr;
    {
        json_t *cls = json_array(), *prods = json_array(), *other = json_array();
        for (i = 0; i < PQntuples(r); i++) {
            const char *ct = PQgetvalue(r, i, 1);
            json_t *c =
                json_pack("{s:s, s:o}", "id", PQgetvalue(r, i, 0), "title", str_or_null(r, i, 2));
            if (strcmp(ct, "UpdateClassification") == 0)
                json_array_append_new(cls, c);
            else if (strcmp(ct, "Product") == 0 || strcmp(ct, "ProductFamily") == 0)
                json_array_append_new(prods, c);
            else
                json_array_append_new(other, c);
        }
        json_object_set_new(u, "classifications", cls);
        json_object_set_new(u, "products", prods);
        json_object_set_new(u, "other_categories", other);
    }
    PQclear(r);

    r = update_query_files(db, rev_id);
    if (r == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        json_t *f = json_object();
        json_object_set_new(f, "sha1", json_string(PQgetvalue(r, i, 0)));
        json_object_set_new(f, "name", json_string(PQgetvalue(r, i, 1)));
        json_object_set_new(f, "size",
                            PQgetisnull(r, i, 2)
                                ? json_null()
                                : json_integer(strtoll(PQgetvalue(r, i, 2), NULL, 10)));
        json_object_set_new(f, "state", json_string(PQgetvalue(r, i, 3)));
        json_object_set_new(f, "state_detail", str_or_null(r, i, 4));
        json_object_set_new(f, "mu_url", str_or_null(r, i, 5));
        json_array_append_new(arr, f);
    }
    json_object_set_new(u, "files", arr);
    PQclear(r);

    r = approvals_of_update(db, uid);
    if (r == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        static const char *const actions[] = {"install", "uninstall", "scan", "block"};
        long a = strtol(PQgetvalue(r, i, 4), NULL, 10);
        json_t *d = json_object();
        json_object_set_new(d, "deployment_guid", json_string(PQgetvalue(r, i, 0)));
        json_object_set_new(d, "revision", json_integer(strtol(PQgetvalue(r, i, 1), NULL, 10)));
        json_object_set_new(d, "group", str_or_null(r, i, 2));
        json_object_set_new(d, "group_id", json_string(PQgetvalue(r, i, 3)));
        json_object_set_new(d, "action", json_string(a >= 0 && a <= 3 ? actions[a] : "?"));
        json_object_set_new(d, "admin", str_or_null(r, i, 5));
        json_object_set_new(d, "deadline", str_or_null(r, i, 6));
        json_object_set_new(d, "approved_at", str_or_null(r, i, 7));
        json_object_set_new(d, "inherited", json_boolean(is_true(r, i, 8)));
        json_array_append_new(arr, d);
    }
    json_object_set_new(u, "approvals", arr);
    PQclear(r);

    r = update_query_supersedes(db, rev_id);
    if (r == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:o}", "id", PQgetvalue(r, i, 0), "title", str_or_null(r, i, 1)));
    json_object_set_new(u, "supersedes", arr);
    PQclear(r);

    /* newer updates whose latest revision supersedes this one */
    r = update_query_superseded_by(db, uid);
    if (r == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:s}", "id", PQgetvalue(r, i, 0), "title", PQgetvalue(r, i, 1)));
    json_object_set_new(u, "superseded_by", arr);
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "update", u));
dberr:
    json_decref(u);
    replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "cannot read the catalog; see the wsusd log");
    return replied;
}

/* GET /api/v1/updates/failed[?limit=N]: the "red X" list (catalog_failed_updates). */
enum MHD_Result admin_updates_failed(struct http_request *req)
{
    const char *limit_s = http_query(req, "limit");
    long limit = UPDATES_LIST_MAX;
    PGconn *db;
    json_t *list;

    if (limit_s != NULL && str_to_long(limit_s, 1, UPDATES_LIST_MAX, &limit) < 0)
        return admin_error(req, MHD_HTTP_BAD_REQUEST, "limit \"%s\" is not a number from 1 to %d",
                           limit_s, UPDATES_LIST_MAX);
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    list = catalog_failed_updates(db, NULL, limit);
    if (list == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the failed files from the catalog; see the wsusd log");
    return admin_reply(
        req, MHD_HTTP_OK,
        json_pack("{s:o, s:I}", "updates", list, "total", (json_int_t)json_array_size(list)));
}
