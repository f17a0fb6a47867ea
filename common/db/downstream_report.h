/*
 * downstream_report: the downstream_server table, what downstream servers told this upstream
 * of themselves. Rows are recorded for the DssAuth and Server Sync services (first contact,
 * cookie, synchronizations: server/sync/svc_dssauth.c, svc_sync.c) and read for /metrics and
 * `wsusctl downstreams`. All SQL of downstream_server is here.
 */
#ifndef WSUS_DOWNSTREAM_REPORT_H
#define WSUS_DOWNSTREAM_REPORT_H

#include <libpq-fe.h>

/* One row: known (every downstream server row), synchronized (those that synchronized once).
 * NULL on a database error (logged). */
PGresult *downstream_report_counts(PGconn *db);

/*
 * The downstream servers that synchronized at least once (the others are bounded by the
 * DssAuth limits but may be strangers), by name, at most limit rows. Columns: account_guid,
 * account_name, last_contact and last_sync as epoch seconds. NULL on a database error (logged).
 */
PGresult *downstream_report_synchronized(PGconn *db, int limit);

/*
 * Every downstream server row, by lower(account_name) then account_guid, for the admin list.
 * Columns: account_guid, account_name, protocol_version (may be NULL), first_contact,
 * last_contact, last_sync (may be NULL) as UTC "YYYY-MM-DDTHH:MI:SSZ" text, address (may be
 * NULL). The caller owns the result (PQclear). NULL on a database error (logged).
 */
PGresult *downstream_report_list(PGconn *db);

/*
 * The one downstream server that called from address within the last max_age seconds (its
 * account GUID into out): 1 found, 0 none, 2 more than one (ambiguous), -1 on a database error.
 * How the Reporting web service tells who sent the spec's fixed, empty rollup cookie.
 */
int downstream_report_by_address(PGconn *db, const char *address, long max_age, char out[37]);
/* The recorded account name of a downstream (malloc'd), or NULL. */
char *downstream_report_name(PGconn *db, const char *guid);
/*
 * Record first contact / refresh a downstream (GetAuthorizationCookie; peer is its address).
 * A known id is refreshed. A new id is refused (1) when its address already created
 * DOWNSTREAM_REPORT_NEW_PER_HOUR rows that never synchronized within the last hour; when
 * DOWNSTREAM_REPORT_MAX_NEW never-synchronized rows exist, the one with the oldest contact
 * is dropped to make room (a downstream that ever synchronized is never dropped). New ids are
 * taken one at a time (a transaction advisory lock), so the counts hold. 0 when recorded, 1
 * when refused, -1 on database errors.
 */
#define DOWNSTREAM_REPORT_NEW_PER_HOUR 10
#define DOWNSTREAM_REPORT_MAX_NEW      1000
int downstream_report_seen(PGconn *db, const char *guid, const char *name, const char *peer);
/* GetCookie: remember the protocol version it declared. 0 or -1. */
int downstream_report_cookie(PGconn *db, const char *guid, const char *version);
/* Any cookie-bearing call: last_contact (at most once a minute); synced: last_sync too. */
int downstream_report_touch(PGconn *db, const char *guid, int synced);

#endif
