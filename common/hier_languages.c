/*
 * hier_languages: the languages this server enables against those its upstream carries (see
 * hier_languages.h).
 */
#include "hier_languages.h"
#include "buf.h"
#include "upstream_state.h"
#include "xmalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The value of an upstream_state row (malloc'd), NULL when absent or unreadable. */
static char *state_value(PGconn *db, const char *key)
{
    return upstream_state_get(db, key);
}

/*
 * The enabled short names of an upstream language list (the JSON array of upstream_state
 * "languages") appended to out, comma-separated; 1 when the upstream enables "all" (the
 * specific flags are then ignored, MS-WSUSSS 3.1.1), else 0.
 */
static int carried_list(const json_t *a, struct buf *out)
{
    size_t i;
    int all = 0;

    for (i = 0; i < json_array_size(a); i++) {
        const json_t *l = json_array_get(a, i);
        const char *sn = json_string_value(json_object_get(l, "short"));
        int en = json_is_true(json_object_get(l, "enabled"));
        if (sn != NULL && strcmp(sn, "all") == 0 && en)
            all = 1;
        else if (sn != NULL && en)
            buf_printf(out, "%s%s", out->len ? "," : "", sn);
    }
    return all;
}

void hier_check_languages(const char *upstream_url, const char *ours, const char *upstream_json,
                          struct hier_result *res)
{
    json_error_t je;
    json_t *a = upstream_json != NULL ? json_loads(upstream_json, 0, &je) : NULL;
    struct buf missing, carried;
    const char *p = ours != NULL ? ours : "";
    int all = 0;

    memset(res, 0, sizeof(*res));
    if (!json_is_array(a) || json_array_size(a) == 0) {
        json_decref(a);
        hier_verdict_set(res, HIER_UNKNOWN,
                         "the languages of upstream %s are not known yet (no GetConfigData answer "
                         "listed them)",
                         upstream_url);
        return;
    }
    buf_init(&missing, sizeof(res->line) / 2);
    buf_init(&carried, sizeof(res->line) / 2);
    all = carried_list(a, &carried);
    if (all) {
        json_decref(a);
        buf_free(&missing);
        buf_free(&carried);
        hier_verdict_set(res, HIER_PASS, "upstream %s carries all languages", upstream_url);
        return;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ","), k;
        int found = 0;

        for (k = 0; k < json_array_size(a) && !found && n > 0; k++) {
            const json_t *l = json_array_get(a, k);
            const char *sn = json_string_value(json_object_get(l, "short"));
            found = sn != NULL && strlen(sn) == n && strncmp(sn, p, n) == 0 &&
                    json_is_true(json_object_get(l, "enabled"));
        }
        if (!found && n > 0)
            buf_printf(&missing, "%s%.*s", missing.len ? ", " : "", (int)n, p);
        p += n + (p[n] == ',');
    }
    json_decref(a);
    if (missing.len == 0) {
        hier_verdict_set(res, HIER_PASS, "upstream %s carries every language enabled here (%s)",
                         upstream_url, ours != NULL ? ours : "");
    } else {
        hier_verdict_set(
            res, HIER_FAIL,
            "languages enabled here are not carried by upstream %s: %s (it carries %s)",
            upstream_url, buf_str(&missing), carried.len ? buf_str(&carried) : "none");
        snprintf(res->fix, sizeof(res->fix),
                 "enable them on the upstream first (wsusctl config set languages ... there) and "
                 "synchronize it, or enable only languages it carries here (wsusctl config set "
                 "languages %s)",
                 carried.len ? buf_str(&carried) : "...");
    }
    buf_free(&missing);
    buf_free(&carried);
}

void hier_check_languages_stored(PGconn *db, const char *upstream, const char *languages,
                                 struct hier_result *res)
{
    char *url = state_value(db, "upstream-url");
    char *langs = NULL;

    if (url != NULL && strcasecmp(url, upstream) == 0)
        langs = state_value(db, "languages");
    hier_check_languages(upstream, languages, langs, res);
    free(url);
    free(langs);
}

char *hier_upstream_languages(PGconn *db)
{
    char *langs = state_value(db, "languages");
    json_error_t je;
    json_t *a = langs != NULL ? json_loads(langs, 0, &je) : NULL;
    struct buf carried;
    char *out = NULL;

    free(langs);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        json_decref(a);
        return NULL;
    }
    buf_init(&carried, 64 * 1024);
    if (!carried_list(a, &carried))
        out = xstrdup(buf_str(&carried));
    buf_free(&carried);
    json_decref(a);
    return out;
}
