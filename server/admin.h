/*
 * admin: the JSON admin API that wsusctl talks to (127.0.0.1:8532 by default). Every call
 * carries "Authorization: Bearer <token>" with the token from [admin] token_file; the token
 * file is created 0600 at start. Requests and answers are JSON objects; errors are
 * {"error": "<one line for the admin, with the fix>"} with a 4xx/5xx status.
 * Route handlers for the verbs live in admin_*.c files and are listed in admin.c.
 */
#ifndef WSUS_ADMIN_H
#define WSUS_ADMIN_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"
#include "server.h"

/* Create the token file (random, 0600) unless it exists; load the token. 0 or -1 (logged). */
int admin_token_init(struct server *s);

/* The admin listener's admit hook (http_server_options.admit): a request without the right
 * token is answered 401 from its headers, before any body byte is read. */
int admin_admit(struct http_request *req, enum MHD_Result *result);

/* Reply with json (reference stolen; NULL -> 500). */
enum MHD_Result admin_reply(struct http_request *req, unsigned status, json_t *json);
/* Reply {"error": msg} with status. */
enum MHD_Result admin_error(struct http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse the request body as a JSON object; NULL (after replying 400) if it is not one. */
json_t *admin_body(struct http_request *req, enum MHD_Result *replied);
/* What one field of a request body must be (admin_fields()). */
enum admin_field_type {
    ADMIN_FIELD_STRING,  /* a JSON string of 1 to max bytes (0 allowed when min is 0) on one line */
    ADMIN_FIELD_INT,     /* a JSON integer (no fraction, no string) from min to max */
    ADMIN_FIELD_BOOL,    /* true or false */
    ADMIN_FIELD_STRINGS, /* a JSON array of min to max strings, each 1 to ADMIN_FIELD_ITEM_MAX
                            bytes on one line */
};

/* Longest element of an ADMIN_FIELD_STRINGS array (an update id, a KB number). */
#define ADMIN_FIELD_ITEM_MAX 64

struct admin_field {
    const char *name;
    enum admin_field_type type;
    int required;
    long long min, max; /* STRING: length in bytes; INT: value; STRINGS: number of elements */
};

/*
 * Check body against the fields every handler of one call accepts: an unknown field, a missing
 * required one, a wrong JSON type, a string out of its length bounds or holding a control
 * character, an integer out of its range or a null for a required field get a 400 naming the
 * field and what it must be (e.g. "revision" must be a whole number from 1 to 2147483647). A
 * null optional field counts as absent. 0 when body is good, -1 after replying.
 */
int admin_fields(struct http_request *req, const json_t *body, const struct admin_field *fields,
                 size_t n, enum MHD_Result *replied);

/* Take a database connection for this request; it goes back to the pool when the request
 * completes. NULL (after replying 503) if none is available. */
PGconn *admin_db(struct http_request *req);

#endif
