/*
 * wusp: the MS-WUSP web services Windows Update clients call on the protocol listener:
 * SimpleAuth (wusp_simpleauth.c), the client web service (wusp_client.c: handshake and
 * registration; wusp_sync.c: SyncUpdates, GetExtendedUpdateInfo, GetFileLocations) and
 * Reporting (wusp_report.c). wusp_dispatch.c parses the envelope with the shared SOAP machinery
 * (common/format/soap.c) and picks the operation; wusp_svc.c (with server/soap/soap_svc.c faults
 * and replies) checks cookies and reads bounded values for the handlers. Unknown request elements
 * are ignored (WUSP-NOTES.md). No SQL here: the tables belong to common/db/computer.c,
 * common/db/client_event.c and common/db/client_scan.c.
 */
#ifndef WSUS_WUSP_H
#define WSUS_WUSP_H

#include <stdint.h>

#include "cookie.h"
#include "soap_svc.h"

#define WUSP_NS_CLIENT "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"
#define WUSP_NS_SIMPLEAUTH                                                                         \
    "http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService"
#define WUSP_NS_REPORTING "http://www.microsoft.com/SoftwareDistribution"

/* Limits (MS-WUSP where it gives one; beyond them: InvalidParameters). */
#define WUSP_MAX_EXTENDED_PER_REQUEST 50         /* GetConfig MaxExtendedUpdatesPerRequest */
#define WUSP_MAX_NEW_UPDATES          200        /* SyncUpdates NewUpdates per answer (<55>) */
#define WUSP_MAX_CATEGORIES           199        /* StartCategoryScan (<52>: less than 200) */
#define WUSP_MAX_CACHED_IDS           20000      /* InstalledNonLeaf + OtherCached + CachedDriver */
#define WUSP_MAX_DIGESTS              1000       /* GetFileLocations fileDigests */
#define WUSP_MAX_GLOBAL_IDS           20000      /* RefreshCache globalIDs */
#define WUSP_MAX_LOCALES              32         /* GetExtendedUpdateInfo locales */
#define WUSP_MAX_INFO_TYPES           16         /* GetExtendedUpdateInfo infoTypes */
#define WUSP_COOKIE_LIFETIME          (240 * 60) /* default of client-cookie-lifetime */
#define WUSP_AUTH_COOKIE_LIFETIME     (8 * 60 * 60)

/* One call of the client services. */
struct wusp_ctx {
    struct soap_ctx s;       /* req, srv, info (name, namespace, SOAPAction), peer, actor */
    const xmlNode *op;       /* the operation element */
    struct cookie_claims cl; /* the client cookie, after wusp_check_cookie */
    char client_id[37];
};

/* Child element name of the operation element (in its namespace), or NULL. */
const xmlNode *wusp_child(const struct wusp_ctx *w, const xmlNode *parent, const char *name);
/* Text of child name of parent (malloc'd, at most max bytes), NULL when absent/nil/too long. */
char *wusp_text(const struct wusp_ctx *w, const xmlNode *parent, const char *name, size_t max);
/*
 * The <int> children of list (may be NULL: 0 ids) appended to *ids (grown, *n updated), at
 * most max in all. 0, or -1 after queuing InvalidParameters (param names the list) into *r.
 */
int wusp_ints(struct wusp_ctx *w, const xmlNode *list, const char *param, int64_t **ids, size_t *n,
              size_t max, enum MHD_Result *r);

/*
 * The cookie element of the call (cookie) checked as every cookie-bearing operation's
 * validation table says: absent or not ours -> InvalidCookie, another server id ->
 * ServerChanged, expired -> CookieExpired. 0 with w->cl and w->client_id set, or -1 after
 * queuing the fault into *r.
 */
int wusp_check_cookie(struct wusp_ctx *w, enum MHD_Result *r);
/* Append <name><Expiration>..</Expiration><EncryptedData>..</EncryptedData></name> holding a
 * fresh client cookie for claims (re-sealed with a new expiry: the setting
 * client-cookie-lifetime read on db, the default when db is NULL). 0, or -1. */
int wusp_add_cookie(struct wusp_ctx *w, PGconn *db, struct buf *b, const char *name,
                    const struct cookie_claims *claims);
/* The base URL of this server's content, no trailing slash: [server] public_url when set, else
 * the request's scheme (https when it came in over HTTPS) and its Host header (host-name
 * characters only), e.g. "https://wsus.example.org:8531". */
void wusp_base_url(struct wusp_ctx *w, char *out, size_t outlen);

struct client_rev;
/* Append <name> (Deployment) of a needed revision, shaped as the real server writes it. */
int wusp_add_deployment(struct buf *b, const struct client_rev *r, unsigned proto_major,
                        unsigned proto_minor);
/*
 * The target group a client-side targeting client asked for (its cookie's group, else
 * Unassigned Computers) into gid, and *use = 1; *use = 0 when client-targeting is server.
 * 0, or -1 on a database error.
 */
int wusp_client_group(PGconn *db, const struct cookie_claims *cl, char gid[37], int *use);

/* Operation handlers. */
enum MHD_Result wusp_get_authorization_cookie(struct wusp_ctx *w);
enum MHD_Result wusp_get_config(struct wusp_ctx *w);
enum MHD_Result wusp_get_cookie(struct wusp_ctx *w);
enum MHD_Result wusp_register_computer(struct wusp_ctx *w);
enum MHD_Result wusp_start_category_scan(struct wusp_ctx *w);
enum MHD_Result wusp_sync_updates(struct wusp_ctx *w);
enum MHD_Result wusp_sync_printer_catalog(struct wusp_ctx *w);
enum MHD_Result wusp_refresh_cache(struct wusp_ctx *w);
enum MHD_Result wusp_get_extended_update_info(struct wusp_ctx *w);
enum MHD_Result wusp_get_file_locations(struct wusp_ctx *w);
enum MHD_Result wusp_report_event_batch(struct wusp_ctx *w);

/*
 * The reporting rollup of MS-WSUSSS 3.1.4.13-3.1.4.17 on the same Reporting web service
 * (svc_rollup.c): a downstream server authenticated by its server-to-server cookie (GetCookie)
 * reports itself, its descendants and their computers; storage in common/db/rollup.c.
 */
enum MHD_Result rollup_get_configuration(struct wusp_ctx *w);
enum MHD_Result rollup_downstream_servers(struct wusp_ctx *w);
enum MHD_Result rollup_computers(struct wusp_ctx *w);
enum MHD_Result rollup_get_out_of_sync_computers(struct wusp_ctx *w);
enum MHD_Result rollup_computer_status(struct wusp_ctx *w);

#endif
