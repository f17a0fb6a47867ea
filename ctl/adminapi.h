/*
 * adminapi: the wsusctl side of wsusd's JSON admin API ([admin] listen, bearer token from
 * [admin] token_file). One blocking HTTP call per function call (libcurl), short timeouts,
 * and one-line messages that say what to do when wsusd is not running or the token cannot
 * be read. It does not retry, and it never prints or logs the token.
 */
#ifndef WSUS_CTL_ADMINAPI_H
#define WSUS_CTL_ADMINAPI_H

#include <jansson.h>
#include <stddef.h>

#include "ctl.h"

/* Seconds to wait for the TCP connection, and for a whole answer. */
#define ADMINAPI_CONNECT_TIMEOUT 3
#define ADMINAPI_TIMEOUT         60
/* Largest answer accepted (bytes). */
#define ADMINAPI_MAX_ANSWER (256u << 20)

/*
 * Call wsusd's admin API. method is "GET" or "POST"; path starts with "/api/v1/" and may carry
 * a query string (escape values with adminapi_escape()); body (borrowed, may be NULL) is sent
 * as JSON. *out gets the JSON answer (caller json_decref()s it; NULL when the answer was not
 * JSON). Returns the HTTP status; for a status >= 400 err also holds the server's
 * {"error": ...} message (or a description of the status). Returns -1 with a one-line message
 * in err when no answer came (wsusd not running, token unreadable, timeout, ...).
 */
int adminapi_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out,
                  char *err, size_t errlen);

/*
 * adminapi_call() for verbs: on a 2xx answer that is JSON, *out gets it and 0 is returned;
 * otherwise the message is printed ("wsusctl: ...") and 1 (the exit status) is returned with
 * *out NULL.
 */
int adminapi_run(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out);

/*
 * The whole of a verb that only shows an answer: adminapi_run(), then with --json the answer as
 * indented JSON, otherwise print(ans, arg) (print may be NULL: nothing more to show). body (may
 * be NULL) is consumed. Returns 0, or the exit status after the message was printed.
 */
int adminapi_show(struct ctl *c, const char *method, const char *path, json_t *body,
                  void (*print)(const json_t *ans, void *arg), void *arg);

/* The string member key of o, or def when o has no such string (o may be NULL). */
const char *adminapi_str(const json_t *o, const char *key, const char *def);

/* s %-escaped for a URL query value (malloc'd, never NULL). */
char *adminapi_escape(const char *s);

/* Print j to stdout as indented JSON with a final newline (for --json output). */
void adminapi_print_json(const json_t *j);

#endif
