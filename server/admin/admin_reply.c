/*
 * admin_reply: what every admin API handler answers with (see admin_reply.h).
 */
#include "admin_reply.h"
#include "dbpool.h"
#include "server.h"
#include "strutil.h"
#include "xmalloc.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result admin_reply(struct http_request *req, unsigned status, json_t *json)
{
    char *text;

    if (json == NULL)
        return http_respond_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"no result\"}");
    text = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
    json_decref(json);
    if (text == NULL)
        return MHD_NO;
    return http_respond_take(req, status, "application/json", text, strlen(text));
}

enum MHD_Result admin_error(struct http_request *req, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return admin_reply(req, status, json_pack("{s:s}", "error", msg));
}

json_t *admin_body(struct http_request *req, enum MHD_Result *replied)
{
    json_error_t jerr;
    json_t *j;

    if (req->body.len == 0)
        return json_object();
    j = json_loadb(req->body.data, req->body.len, 0, &jerr);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        *replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "request body is not a JSON object");
        return NULL;
    }
    return j;
}

/* "a whole number from 1 to 10" etc.: what a field must be, for the 400 message. */
static void admin_field_want(const struct admin_field *f, char *out, size_t outlen)
{
    switch (f->type) {
    case ADMIN_FIELD_STRING:
        snprintf(out, outlen, "a string of %lld to %lld bytes on one line", f->min, f->max);
        break;
    case ADMIN_FIELD_INT:
        snprintf(out, outlen, "a whole number from %lld to %lld", f->min, f->max);
        break;
    case ADMIN_FIELD_BOOL:
        snprintf(out, outlen, "true or false");
        break;
    case ADMIN_FIELD_STRINGS:
        snprintf(out, outlen, "a list of %lld to %lld strings of 1 to %d bytes on one line", f->min,
                 f->max, ADMIN_FIELD_ITEM_MAX);
        break;
    }
}

/* Does the JSON value fit f? */
static int admin_field_fits(const struct admin_field *f, const json_t *v)
{
    switch (f->type) {
    case ADMIN_FIELD_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), i;

        if (s == NULL || (long long)n < f->min || (long long)n > f->max)
            return 0;
        for (i = 0; i < n; i++) /* a \u0000 escape too: jansson keeps it inside the length */
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return 0;
        return 1;
    }
    case ADMIN_FIELD_INT:
        return json_is_integer(v) && json_integer_value(v) >= f->min &&
               json_integer_value(v) <= f->max;
    case ADMIN_FIELD_BOOL:
        return json_is_boolean(v);
    case ADMIN_FIELD_STRINGS: {
        const struct admin_field item = {f->name, ADMIN_FIELD_STRING, 1, 1, ADMIN_FIELD_ITEM_MAX};
        size_t n = json_array_size(v), i;

        if (!json_is_array(v) || (long long)n < f->min || (long long)n > f->max)
            return 0;
        for (i = 0; i < n; i++)
            if (!admin_field_fits(&item, json_array_get(v, i)))
                return 0;
        return 1;
    }
    }
    return 0;
}

int admin_fields(struct http_request *req, const json_t *body, const struct admin_field *fields,
                 size_t n, enum MHD_Result *replied)
{
    char want[128], names[512];
    const char *key;
    json_t *v;
    size_t i, len = 0;

    names[0] = '\0';
    for (i = 0; i < n; i++) {
        int w = snprintf(names + len, sizeof(names) - len, "%s\"%s\"", i > 0 ? ", " : "",
                         fields[i].name);
        if (w > 0 && (size_t)w < sizeof(names) - len)
            len += (size_t)w;
    }
    json_object_foreach((json_t *)body, key, v)
    {
        for (i = 0; i < n && strcmp(fields[i].name, key) != 0; i++)
            ;
        if (i == n) {
            *replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                                   "unknown field \"%.64s\"; this call takes %s", key,
                                   n > 0 ? names : "no fields");
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        const struct admin_field *f = &fields[i];

        v = json_object_get(body, f->name);
        if ((v == NULL || json_is_null(v)) && !f->required) /* null: absent (wsusctl's s:s?) */
            continue;
        admin_field_want(f, want, sizeof(want));
        if (v == NULL) {
            *replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "\"%s\" is missing; it must be %s",
                                   f->name, want);
            return -1;
        }
        if (!admin_field_fits(f, v)) {
            *replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "\"%s\" must be %s", f->name, want);
            return -1;
        }
    }
    return 0;
}

struct admin_req_ctx {
    struct dbpool *pool;
    PGconn *conn;
};

int admin_page(struct http_request *req, long max, const char *limit_note, long *limit,
               long *offset, enum MHD_Result *replied)
{
    const char *limit_s = http_query(req, "limit");
    const char *offset_s = http_query(req, "offset");

    *offset = 0;
    if (limit_s != NULL && str_to_long(limit_s, 1, max, limit) < 0) {
        *replied =
            admin_error(req, MHD_HTTP_BAD_REQUEST, "limit \"%s\" is not a number from 1 to %ld%s",
                        limit_s, max, limit_note);
        return -1;
    }
    if (offset_s != NULL && str_to_long(offset_s, 0, LONG_MAX, offset) < 0) {
        *replied = admin_error(req, MHD_HTTP_BAD_REQUEST,
                               "offset \"%s\" is not a whole number from 0 up", offset_s);
        return -1;
    }
    return 0;
}

static void admin_req_ctx_free(void *p)
{
    struct admin_req_ctx *ctx = p;

    dbpool_put(ctx->pool, ctx->conn);
    free(ctx);
}

PGconn *admin_db(struct http_request *req)
{
    struct server *s = req->app;
    struct admin_req_ctx *ctx;
    char err[600];
    PGconn *c = dbpool_take(s->pool, 10000, err, sizeof(err));

    if (c == NULL) {
        admin_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
        return NULL;
    }
    ctx = xcalloc(1, sizeof(*ctx));
    ctx->pool = s->pool;
    ctx->conn = c;
    req->ctx = ctx;
    req->ctx_free = admin_req_ctx_free;
    return c;
}

enum MHD_Result admin_reply_rows(struct http_request *req, PGresult *(*query)(PGconn *db),
                                 const char *what, const char *key,
                                 json_t *(*row)(const PGresult *r, int i))
{
    PGconn *db = admin_db(req);
    PGresult *r;
    json_t *list;
    int i;

    if (db == NULL)
        return MHD_YES;
    r = query(db);
    if (r == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the %s; see the wsusd log", what);
    list = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(list, row(r, i));
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", key, list));
}
