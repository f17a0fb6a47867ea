/*
 * admin_config: the admin API calls behind `wsusctl config get/set`, plus the helpers the
 * other admin_*.c handlers share (the replica-mode refusal). Validation and
 * storage are settings.c's; this file only maps them to JSON and HTTP statuses. Secrets are
 * shown as "(set)", never as their value.
 */
#include "admin_handlers.h"
#include "catalog.h"
#include "db.h"
#include "log.h"
#include "settings.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int admin_refuse_replica(struct http_request *req, PGconn *db, const char *what,
                         enum MHD_Result *replied)
{
    char *mode = settings_get(db, "mode");
    char *up = settings_get(db, "upstream");
    int rc = 0;

    if (mode == NULL || up == NULL) {
        *replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "cannot read the settings from the catalog; see the wsusd log");
        rc = -1;
    } else if (strcmp(mode, "replica") == 0) {
        *replied = admin_error(req, MHD_HTTP_CONFLICT,
                               "this server is a replica of %s: %s are inherited from it and "
                               "cannot be changed here; make the change on the upstream, or "
                               "make this server autonomous (wsusctl config set mode autonomous)",
                               up, what);
        rc = 1;
    }
    free(mode);
    free(up);
    return rc;
}

int admin_change_lock(PGconn *db, const char *lock)
{
    if (db_begin(db) < 0 || db_xact_lock(db, lock) < 0)
        return -1;
    return 0;
}

int admin_change_begin(struct http_request *req, PGconn *db, const char *lock, const char *what,
                       enum MHD_Result *replied)
{
    if (admin_change_lock(db, lock) < 0)
        return -1;
    return admin_refuse_replica(req, db, what, replied) != 0 ? 1 : 0;
}

/* {"key","value","default","is_default","type","doc",...} for one setting. */
static json_t *setting_json(PGconn *db, const struct settings_def *d)
{
    static const char *const type_names[] = {
        [SETTINGS_TEXT] = "text",           [SETTINGS_ENUM] = "enum",
        [SETTINGS_UPSTREAM] = "upstream",   [SETTINGS_HOSTNAME] = "hostname",
        [SETTINGS_GUID_LIST] = "guid-list", [SETTINGS_LANG_LIST] = "language-list",
        [SETTINGS_SCHEDULE] = "schedule",   [SETTINGS_URL] = "url",
        [SETTINGS_PATH] = "path",           [SETTINGS_HOST_LIST] = "host-list",
        [SETTINGS_INT] = "integer",
    };
    char *value = settings_get(db, d->key);
    char *def = settings_default(d);
    int is_set = settings_is_set(db, d->key);
    json_t *j = NULL;

    if (value == NULL || is_set < 0)
        goto out;
    j = json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:b, s:s}", "key", d->key, "value",
                  settings_display(d, value), "default", settings_display(d, def), "is_default",
                  !is_set, "type", type_names[d->type], "secret", d->secret, "inherited_in_replica",
                  d->replica_locked, "doc", d->doc);
    if (j != NULL && d->choices != NULL)
        json_object_set_new(j, d->type == SETTINGS_INT ? "range" : "choices",
                            json_string(d->choices));
out:
    free(value);
    free(def);
    return j;
}

enum MHD_Result admin_config_get(struct http_request *req)
{
    const char *key = http_query(req, "key");
    PGconn *db = admin_db(req);
    json_t *list;
    size_t i;

    if (db == NULL)
        return MHD_YES;
    if (key != NULL && settings_find(key) == NULL)
        return admin_error(req, MHD_HTTP_NOT_FOUND,
                           "unknown setting \"%s\"; wsusctl config get lists them", key);
    list = json_array();
    for (i = 0; i < settings_count(); i++) {
        const struct settings_def *d = settings_at(i);
        json_t *j;

        if (key != NULL && strcmp(key, d->key) != 0)
            continue;
        j = setting_json(db, d);
        if (j == NULL) {
            json_decref(list);
            return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "cannot read the settings from the catalog; see the wsusd log");
        }
        json_array_append_new(list, j);
    }
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "settings", list));
}

enum MHD_Result admin_config_set(struct http_request *req)
{
    static const struct admin_field fields[] = {
        {"key", ADMIN_FIELD_STRING, 1, 1, 64},
        {"value", ADMIN_FIELD_STRING, 0, 0, SETTINGS_MAX_VALUE},
        {"reset", ADMIN_FIELD_BOOL, 0, 0, 0},
    };
    enum MHD_Result replied = MHD_YES;
    json_t *body = admin_body(req, &replied), *jv, *ans = NULL;
    const struct settings_def *d;
    const char *key, *warning;
    char err[1024];
    PGconn *db;
    int reset;

    if (body == NULL)
        return replied;
    if (admin_fields(req, body, fields, sizeof(fields) / sizeof(fields[0]), &replied) < 0)
        goto out;
    key = json_string_value(json_object_get(body, "key"));
    jv = json_object_get(body, "value");
    reset = json_is_true(json_object_get(body, "reset"));
    if (key == NULL || (!reset && !json_is_string(jv))) {
        replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                              "expected {\"key\": KEY, \"value\": TEXT} or {\"key\": KEY, "
                              "\"reset\": true}");
        goto out;
    }
    d = settings_find(key);
    if (d == NULL) {
        replied = admin_error(req, MHD_HTTP_NOT_FOUND,
                              "unknown setting \"%s\"; wsusctl config get lists them", key);
        goto out;
    }
    db = admin_db(req);
    if (db == NULL)
        goto out;
    if ((reset ? settings_reset(db, key, 0, err, sizeof(err))
               : settings_set(db, key, json_string_value(jv), 0, err, sizeof(err))) < 0) {
        replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "%s", err);
        goto out;
    }
    ans = setting_json(db, d);
    if (ans == NULL) {
        replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "the setting was stored but cannot be read back; see the log");
        goto out;
    }
    warning = settings_warning(key, json_string_value(json_object_get(ans, "value")));
    if (warning != NULL) {
        json_object_set_new(ans, "warning", json_string(warning));
        log_warnx("setting %s: %s", key, warning);
    }
    log_info("setting %s %s", key, reset ? "reset to its default" : "changed");
    replied = admin_reply(req, MHD_HTTP_OK, ans);
out:
    json_decref(body);
    return replied;
}

/*
 * GET /api/v1/categories?kind=product|classification: what the catalog offers, with what the
 * products / classifications setting selects (an empty setting selects everything).
 */
enum MHD_Result admin_categories_list(struct http_request *req)
{
    const char *kind = http_query(req, "kind");
    const char *key;
    PGconn *db;
    json_t *list;
    char *sel;
    size_t i;

    if (kind == NULL || (strcmp(kind, "product") != 0 && strcmp(kind, "classification") != 0))
        return admin_error(req, MHD_HTTP_BAD_REQUEST, "kind must be product or classification");
    key = strcmp(kind, "product") == 0 ? "products" : "classifications";
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    sel = settings_get(db, key);
    list = sel != NULL ? catalog_categories(db, kind) : NULL;
    if (list == NULL) {
        free(sel);
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the categories from the catalog; see the wsusd log");
    }
    for (i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(c, "id"));
        json_object_set_new(c, "selected", json_boolean(sel[0] == '\0' || strstr(sel, id)));
    }
    {
        json_t *j = json_pack("{s:s, s:s, s:b, s:o}", "kind", kind, "setting", key, "all_selected",
                              sel[0] == '\0', "categories", list);
        free(sel);
        return admin_reply(req, MHD_HTTP_OK, j);
    }
}
