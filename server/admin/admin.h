/*
 * admin: the JSON admin API that wsusctl talks to (127.0.0.1:8532 by default). Every call
 * carries "Authorization: Bearer <token>" with the token from [admin] token_file; the token
 * file is created 0600 at start. Requests and answers are JSON objects; errors are
 * {"error": "<one line for the admin, with the fix>"} with a 4xx/5xx status.
 * Route handlers for the verbs live in admin_*.c files and are listed in admin.c; they answer
 * through admin_reply.h (included here for them).
 */
#ifndef WSUS_ADMIN_H
#define WSUS_ADMIN_H

#include <jansson.h>
#include <libpq-fe.h>

#include "admin_reply.h"
#include "http.h"
#include "server.h"

/* Create the token file (random, 0600) unless it exists; load the token. 0 or -1 (logged). */
int admin_token_init(struct server *s);

/* The admin listener's admit hook (http_server_options.admit): a request without the right
 * token is answered 401 from its headers, before any body byte is read. */
int admin_admit(struct http_request *req, enum MHD_Result *result);

#endif
