/*
 * admin_updates: read-only views of the catalog for `wsusctl updates list` and
 * `wsusctl updates show`: the latest revision of each update with its classification and
 * product names, approval and decline state, and for one update its files, approvals and
 * supersedence. Lists are bounded (limit, at most UPDATES_LIST_MAX rows). It changes nothing.
 */
#include "admin_handlers.h"
#include "catalog.h"
#include "db.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPDATES_LIST_DEFAULT 100
#define UPDATES_LIST_MAX     100000

/* Names of the categories of kind $kind a revision (alias l) belongs to. */
#define CATEGORY_NAMES(kind)                                                                       \
    "(SELECT string_agg(DISTINCT c.title, ', ') FROM revision_prerequisite p "                     \
    "  JOIN revision c ON c.update_id = p.update_id AND c.update_type = 'Category' "               \
    "   AND c.category_type IN (" kind ") "                                                        \
    " WHERE p.revision_id = l.id AND p.is_category)"

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

static int query_flag(struct http_request *req, const char *name)
{
    const char *v = http_query(req, name);

    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

enum MHD_Result admin_updates_list(struct http_request *req)
{
    const char *type = http_query(req, "type"), *types = types_for(type);
    const char *product = http_query(req, "product");
    const char *classification = http_query(req, "classification");
    const char *search = http_query(req, "search");
    const char *limit_s = http_query(req, "limit");
    char prod[37], cls[37], limit_buf[16];
    long limit = UPDATES_LIST_DEFAULT;
    PGresult *r;
    PGconn *db;
    json_t *list;
    long total = 0;
    int i;

    if (types == NULL)
        return admin_error(req, MHD_HTTP_BAD_REQUEST,
                           "type \"%s\" is not software, driver, category, detectoid or all", type);
    if (product != NULL && str_guid_canon(product, prod) < 0)
        return admin_error(req, MHD_HTTP_BAD_REQUEST,
                           "product \"%s\" is not a GUID; wsusctl updates list --type category "
                           "shows product ids",
                           product);
    if (classification != NULL && str_guid_canon(classification, cls) < 0)
        return admin_error(req, MHD_HTTP_BAD_REQUEST,
                           "classification \"%s\" is not a GUID; wsusctl updates list --type "
                           "category shows classification ids",
                           classification);
    if (limit_s != NULL && str_to_long(limit_s, 1, UPDATES_LIST_MAX, &limit) < 0)
        return admin_error(req, MHD_HTTP_BAD_REQUEST, "limit \"%s\" is not a number from 1 to %d",
                           limit_s, UPDATES_LIST_MAX);
    if (search != NULL && strlen(search) > 1000)
        return admin_error(req, MHD_HTTP_BAD_REQUEST, "the search text is too long");
    snprintf(limit_buf, sizeof(limit_buf), "%ld", limit);
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    {
        const char *p[8] = {types,
                            product != NULL ? prod : NULL,
                            classification != NULL ? cls : NULL,
                            search != NULL && search[0] != '\0' ? search : NULL,
                            query_flag(req, "approved") ? "t" : "f",
                            query_flag(req, "declined") ? "t" : "f",
                            limit_buf,
                            query_flag(req, "hidden") ? "t" : "f"};
        r = db_exec(
            db,
            "WITH latest AS (SELECT DISTINCT ON (update_id) * FROM revision "
            "  ORDER BY update_id, revision_number DESC), "
            "sel AS (SELECT l.*, "
            "  EXISTS (SELECT 1 FROM deployment d WHERE d.update_id = l.update_id "
            "          AND NOT d.dead AND d.action <> 2) AS approved, "
            "  EXISTS (SELECT 1 FROM declined_update x WHERE x.update_id = l.update_id) "
            "    AS declined "
            "  FROM latest l WHERE l.update_type = ANY($1::text[]) "
            "  AND ($8::boolean OR l.explicitly_deployable OR l.update_type = 'Category' "
            "       OR l.update_type = 'Detectoid' OR NOT EXISTS (SELECT 1 FROM "
            "       revision_bundle b WHERE b.member_update_id = l.update_id)) "
            "  AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM revision_prerequisite p "
            "       WHERE p.revision_id = l.id AND p.is_category AND p.update_id = $2::uuid)) "
            "  AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM revision_prerequisite p "
            "       WHERE p.revision_id = l.id AND p.is_category AND p.update_id = $3::uuid)) "
            "  AND ($4::text IS NULL OR strpos(lower(l.title), lower($4)) > 0 "
            "       OR l.update_id::text = lower($4) OR l.kb_article_id = $4 "
            "       OR 'kb' || l.kb_article_id = lower($4))) "
            "SELECT l.update_id::text, l.revision_number, l.update_type, l.category_type, "
            "  l.title, l.kb_article_id, " CATEGORY_NAMES("'UpdateClassification'") ", " //
            CATEGORY_NAMES(
                "'Product', 'ProductFamily'") ", "
                                              "  l.approved, l.declined, l.creation_date, count(*) "
                                              "OVER () "
                                              "FROM sel l WHERE (NOT $5::boolean OR l.approved) "
                                              "AND (NOT $6::boolean OR l.declined) "
                                              "ORDER BY l.creation_date DESC NULLS LAST, l.title, "
                                              "l.update_id LIMIT $7::int",
            8, p);
    }
    if (r == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the catalog; see the wsusd log");
    list = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        json_t *u = json_object();

        json_object_set_new(u, "update_id", json_string(PQgetvalue(r, i, 0)));
        json_object_set_new(u, "revision", json_integer(strtol(PQgetvalue(r, i, 1), NULL, 10)));
        json_object_set_new(u, "type", json_string(PQgetvalue(r, i, 2)));
        json_object_set_new(u, "category_type", str_or_null(r, i, 3));
        json_object_set_new(u, "title", json_string(PQgetvalue(r, i, 4)));
        json_object_set_new(u, "kb", str_or_null(r, i, 5));
        json_object_set_new(u, "classification", str_or_null(r, i, 6));
        json_object_set_new(u, "products", str_or_null(r, i, 7));
        json_object_set_new(u, "approved", json_boolean(is_true(r, i, 8)));
        json_object_set_new(u, "declined", json_boolean(is_true(r, i, 9)));
        json_object_set_new(u, "created", str_or_null(r, i, 10));
        json_array_append_new(list, u);
        total = strtol(PQgetvalue(r, i, 11), NULL, 10);
    }
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK,
                       json_pack("{s:I, s:I, s:o}", "total", (json_int_t)total, "count",
                                 (json_int_t)json_array_size(list), "updates", list));
}

/* Run a query with one parameter; NULL on error (logged). */
static PGresult *show_query(PGconn *db, const char *sql, const char *param)
{
    const char *p[1] = {param};

    return db_exec(db, sql, 1, p);
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
    {
        const char *p[1] = {uid};
        r = db_exec(db,
                    "SELECT l.id, l.update_id::text, l.revision_number, l.update_type, "
                    "  l.category_type, l.title, l.kb_article_id, l.security_bulletin_id, "
                    "  l.msrc_severity, l.publication_state, l.creation_date, "
                    "  l.explicitly_deployable, l.default_language, "
                    "  (SELECT description FROM revision_text t WHERE t.revision_id = l.id "
                    "    ORDER BY (t.language = 'en') DESC, t.language LIMIT 1), "
                    "  (SELECT string_agg(revision_number::text, ',' ORDER BY revision_number) "
                    "    FROM revision WHERE update_id = l.update_id), "
                    "  EXISTS (SELECT 1 FROM declined_update x WHERE x.update_id = l.update_id), "
                    "  l.change_seq "
                    "FROM revision l WHERE l.update_id = $1::uuid "
                    "ORDER BY l.revision_number DESC LIMIT 1",
                    1, p);
    }
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
    {
        char eula[37];
        int k = catalog_eula_of(db, rev_id, eula);
        r = NULL;
        if (k < 0)
            goto dberr;
        json_object_set_new(u, "eula_id", k == 1 ? json_string(eula) : json_null());
    }

    /* categories: classifications, products, parents of a category */
    r = show_query(db,
                   "SELECT p.update_id::text, c.category_type, c.title FROM revision_prerequisite "
                   "p LEFT JOIN LATERAL (SELECT category_type, title FROM revision "
                   "  WHERE update_id = p.update_id ORDER BY revision_number DESC LIMIT 1) c "
                   "  ON true WHERE p.revision_id = $1::bigint AND p.is_category "
                   " ORDER BY c.category_type, c.title",
                   rev_id);
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

    r = show_query(db,
                   "SELECT upper(encode(f.sha1, 'hex')), f.file_name, f.size, f.state, "
                   "  f.state_detail, f.mu_url FROM revision_file rf JOIN file f USING (sha1) "
                   "WHERE rf.revision_id = $1::bigint ORDER BY f.file_name",
                   rev_id);
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

    r = show_query(db,
                   "SELECT d.deployment_guid::text, d.revision_number, g.name, "
                   "  d.target_group_id::text, d.action, d.admin_name, "
                   "  to_char(d.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                   "  to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                   "  d.inherited FROM deployment d "
                   "LEFT JOIN target_group g ON g.id = d.target_group_id "
                   "WHERE d.update_id = $1::uuid AND NOT d.dead ORDER BY g.name",
                   uid);
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

    r = show_query(db,
                   "SELECT s.superseded_update_id::text, "
                   "  (SELECT title FROM revision WHERE update_id = s.superseded_update_id "
                   "   ORDER BY revision_number DESC LIMIT 1) "
                   "FROM revision_supersedes s WHERE s.revision_id = $1::bigint ORDER BY 1",
                   rev_id);
    if (r == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:o}", "id", PQgetvalue(r, i, 0), "title", str_or_null(r, i, 1)));
    json_object_set_new(u, "supersedes", arr);
    PQclear(r);

    /* newer updates whose latest revision supersedes this one */
    r = show_query(db,
                   "SELECT DISTINCT l.update_id::text, l.title FROM revision_supersedes s "
                   "JOIN revision l ON l.id = s.revision_id "
                   "WHERE s.superseded_update_id = $1::uuid "
                   "  AND l.revision_number = (SELECT max(revision_number) FROM revision "
                   "    WHERE update_id = l.update_id) ORDER BY 1",
                   uid);
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
