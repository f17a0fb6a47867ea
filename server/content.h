/*
 * content: the /Content/<XX>/<SHA1HEX>.<ext> endpoint (GET and HEAD), what Windows clients
 * (BITS, Delivery Optimization) and downstream servers download update files from. Only
 * digests the catalog lists as present are served, with RFC 9110 Range (single and multipart),
 * If-Range, conditional GET, strong ETags and zero-copy (sendfile) bodies. It does not write
 * to the store; publishing is content_store.h's job.
 */
#ifndef WSUS_CONTENT_H
#define WSUS_CONTENT_H

#include <stddef.h>

#include "content_store.h"
#include "http.h"

struct server;
struct content_cache;

enum content_url_result {
    CONTENT_URL_OK = 0,
    CONTENT_URL_NOT_FOUND = -1, /* not a content URL we could ever serve: 404 */
    CONTENT_URL_BAD = -2,       /* %-escapes, backslashes, control bytes: 400 */
};

/*
 * Parse a raw (not %-decoded) request path "/Content/XX/HEX[.ext]", case-insensitively. XX must
 * be the last byte of the digest (two hex digits, or one when the byte is below 0x10). On
 * CONTENT_URL_OK, sha1 gets the digest and ext (CONTENT_STORE_EXT_MAX + 1 bytes) the
 * lower-cased extension ("" when none). Pure function; never touches the file system.
 */
enum content_url_result content_url_parse(const char *url, unsigned char sha1[20], char *ext);

/*
 * Open the content store of s->cfg.content_dir (checking the service user's permissions) and
 * the digest cache; sets s->content_store and s->content_cache. Call after dropping
 * privileges. 0, or -1 with the admin-facing message (directory, user, fix) in err.
 */
int content_init(struct server *s, char *err, size_t errlen);
/*
 * Serve from cs (an opened store, taken over) from now on, and make its directory
 * s->cfg.content_dir (`wsusctl movecontent`). Requests under way finish with the old store,
 * which is closed in content_free().
 */
void content_switch(struct server *s, struct content_store *cs);
/* Free what content_init() made. NULL members are fine. */
void content_free(struct server *s);

/* The route handler for GET/HEAD /Content/... (req->app is the struct server). */
enum MHD_Result content_handle(struct http_request *req);

#endif
