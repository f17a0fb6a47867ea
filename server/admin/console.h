/*
 * console: the browser side of the admin listener. It serves the web console's static files
 * under /console/ (from [admin] console_dir) with a strict Content-Security-Policy, and turns
 * the admin token into a browser session: POST /console/login checks the token and sets an
 * HttpOnly SameSite=Strict session cookie; every state-changing admin API call made with
 * that cookie must carry the session's CSRF token in X-CSRF-Token. Sessions live in memory
 * (a restart logs everyone out). It holds no rule of the admin API: the console's pages call
 * the same /api/v1/ routes as wsusctl.
 */
#ifndef WSUS_CONSOLE_H
#define WSUS_CONSOLE_H

#include "http.h"

struct console_sessions;

/* At most this many browser sessions at once; a new login drops the oldest. */
#define CONSOLE_MAX_SESSIONS 32
/* A session ends this long after login, or after this long without a request. */
#define CONSOLE_SESSION_MAX_S  (12 * 3600)
#define CONSOLE_SESSION_IDLE_S (2 * 3600)

struct console_sessions *console_sessions_new(void);
/* Forget every session; NULL is fine. */
void console_sessions_free(struct console_sessions *cs);

/* How a request without a bearer token is authenticated by its session cookie. */
enum console_auth {
    CONSOLE_AUTH_NONE,     /* no cookie, or not a live session */
    CONSOLE_AUTH_OK,       /* a live session; for a state-changing method the CSRF token too */
    CONSOLE_AUTH_BAD_CSRF, /* a live session, but a POST without its X-CSRF-Token */
};
/* The 403 message for a console request without the right X-CSRF-Token. */
#define CONSOLE_CSRF_MESSAGE                                                                       \
    "missing or wrong X-CSRF-Token header for this console session; the console page sends "       \
    "it: reload the page (scripts use the bearer token instead)"

/* Judge req's session cookie (and for methods other than GET and HEAD, its X-CSRF-Token);
 * refreshes the session's idle time. Thread-safe. */
enum console_auth console_auth(struct http_request *req);

/* Is path one the console answers itself, without the admin token (its files, login)? */
int console_is_public(const char *path);

/* The console's route handlers, listed in the admin listener's table (admin.c):
 * GET /console (redirect to /console/), GET /console/NAME (a static file), POST /console/login
 * ({"token"} -> {"csrf"} and the cookie), GET /console/session ({"csrf"} of the cookie's
 * session, or 401), POST /console/logout (ends the session; needs the CSRF token). */
enum MHD_Result console_redirect(struct http_request *req);
enum MHD_Result console_file(struct http_request *req);
enum MHD_Result console_login(struct http_request *req);
enum MHD_Result console_session(struct http_request *req);
enum MHD_Result console_logout(struct http_request *req);

#endif
