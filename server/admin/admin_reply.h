/*
 * admin_reply: what every admin API handler (admin_*.c, console.c) answers with: a JSON reply,
 * an {"error": ...} line with its status, the request body as a JSON object, the checks of its
 * fields, and a database connection held for the request. It calls no handler and knows no
 * route (admin.c has the table), so the handlers depend on it and not on each other. The
 * functions keep the admin_ prefix every handler knows them by.
 */
#ifndef WSUS_ADMIN_REPLY_H
#define WSUS_ADMIN_REPLY_H

#include <jansson.h>
#include <libpq-fe.h>

#include "http.h"

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

/*
 * The page of a list call: the query parameters limit (1..max; absent: *limit as given) and
 * offset (0 up; absent: 0). A bad one gets a 400 naming it and what it must be, with
 * limit_note (e.g. " (leave it out for every computer)", or "") after the limit's range.
 * 0, or -1 after replying.
 */
int admin_page(struct http_request *req, long max, const char *limit_note, long *limit,
               long *offset, enum MHD_Result *replied);

/* Take a database connection for this request; it goes back to the pool when the request
 * completes. NULL (after replying 503) if none is available. */
PGconn *admin_db(struct http_request *req);

/*
 * A list call: run query on this request's connection and reply 200 {key: [row(r, 0), ...]},
 * or 500 "cannot read the WHAT; see the wsusd log" when the query fails (503 when no
 * connection is free). Returns the result of the reply.
 */
enum MHD_Result admin_reply_rows(struct http_request *req, PGresult *(*query)(PGconn *db),
                                 const char *what, const char *key,
                                 json_t *(*row)(const PGresult *r, int i));

#endif
