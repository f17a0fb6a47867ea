/*
 * downstream_report: read-only views of the downstream_server table, for /metrics and
 * `wsusctl downstreams`. (The rows are written by the DssAuth service, server/soap_catalog.c.)
 * All SQL of these views is here.
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

#endif
