/*
 * rollup_send: what this server reads and records to report itself, the servers below it and
 * the computers of its whole branch to its upstream in the reporting rollup (MS-WSUSSS 3.2.4.5,
 * the DSS side; client/rollup.c runs the exchange). The one owner of the rollup_sent table
 * (schema 012: what was last sent about each computer) and of the rollup's reads of this
 * server's catalog, computers and events and of the rolled-up tables of common/db/rollup.c
 * (rollup_server, rollup_computer, rollup_status: what this server's own downstreams
 * reported). It writes nothing else and speaks no SOAP. Rows are returned as PGresult with
 * the columns documented here; times are xsd:dateTime text in UTC with microseconds, "" when
 * never.
 */
#ifndef WSUS_ROLLUP_SEND_H
#define WSUS_ROLLUP_SEND_H

#include <libpq-fe.h>

/* The counters of DownstreamServerRollupServerSummary (the same 18, in the same order). */
#define ROLLUP_SEND_SUMMARY_FIELDS 18

/*
 * This server's DownstreamServerRollupServerSummary: one row of 18 integer columns in the
 * order of MS-WSUSSS 3.1.4.14.3.3, each defined at summary_sql in rollup_send.c (and in
 * docs/sync.md, "Reporting rollup"). The computer counts follow the compliance rule of
 * `wsusctl report` (client_report.h: approvals through the group tree, the computer's status
 * event 156 and later install events), so the upstream shows what the report here says.
 * stores_files: this server keeps update files (storage local and download not none), so an
 * approved update whose files are not downloaded yet needs files; otherwise only its failed
 * files and those pending on the upstream do. The first seven counts (the catalog's: they
 * read every revision) are taken from catalog_counts when it is not NULL, a bigint[] literal
 * of seven numbers that an earlier call returned while rollup_send_catalog_state was the
 * same; the others are counted at each call. NULL on error (logged).
 */
PGresult *rollup_send_summary(PGconn *db, int stores_files, const char *catalog_counts);

/*
 * What the seven catalog counts of the summary depend on, as a short text (malloc'd; the
 * caller frees it; NULL on error, logged): the change horizon (db_change_horizon: every
 * revision, deployment and decline written takes a change number) and the number of
 * declines and deployments (rows deleted). Index lookups and counts of small tables only.
 * wsusd inserts revisions and never updates or deletes them (client_scan relies on it too),
 * so an unchanged state means unchanged counts. Read it before the summary: a change
 * committed in between gives a later state, and the next call counts again.
 */
char *rollup_send_catalog_state(PGconn *db);

/*
 * The servers below self_id that its downstreams rolled up (rollup_server), each after its
 * parent (MS-WSUSSS 3.2.4.5 step 2.2), at most 64 levels. Columns: server_id, parent_id, name,
 * version, is_replica ("t"/"f"), last_sync, last_rollup, then the 18 summary counters. NULL on
 * error (logged).
 */
PGresult *rollup_send_servers(PGconn *db, const char *self_id);

/*
 * The computers to send in RollupComputers: this server's own (parent self_id) and those its
 * downstreams rolled up (parent: the server they get updates from), new or changed since they
 * were last sent (recorded with rollup_send_computers_sent), leaving out those the upstream
 * answered Deleted for, by id, at most limit. Columns: 0 id, 1 parent_id, 2 last_sync,
 * 3 last_sync_result, 4 last_reboot, 5 last_status, 6 last_inventory, 7 address, 8 name,
 * 9 os_version ("major.minor.build.sp[.spminor]"), 10 os_locale, 11 os_description,
 * 12 manufacturer, 13 model, 14 architecture, 15 client_version, 16 group ids (","-separated),
 * 17 fingerprint, 18 details fingerprint, 19 with_details ("t" when the Details must go too).
 * NULL on error (logged).
 */
PGresult *rollup_send_computers(PGconn *db, const char *self_id, long limit);

/*
 * Record computers as sent: json is an array of {"id", "fp", "details"} (details null when
 * the Details did not go). 0, or -1 on error.
 */
int rollup_send_computers_sent(PGconn *db, const char *json);
/* The upstream answered NewParent for these ids (a JSON array of strings): send their Details
 * next time. 0, or -1. */
int rollup_send_details_needed(PGconn *db, const char *json);
/* The upstream answered Deleted for these ids (a JSON array): report them no more. 0, or -1. */
int rollup_send_exclude(PGconn *db, const char *json);

/*
 * The computers sent once that have reported a status, with their LastSentStatusRollupNumber,
 * for GetOutOfSyncComputers. Columns: id, rollup_number. NULL on error (logged).
 */
PGresult *rollup_send_numbers(PGconn *db);
/* GetOutOfSyncComputers named these ids (a JSON array): a full status rollup next. 0, or -1. */
int rollup_send_out_of_sync(PGconn *db, const char *json);

/*
 * The computers whose status must go in RollupComputerStatus: sent once, not excluded, and
 * either marked for a full rollup or with a status changed since the last one, by id, at most
 * limit. Columns: 0 id, 1 own ("t": this server's computer), 2 rollup_number (the next one),
 * 3 full ("t"/"f"), 4 since (the LastStatusRollupTime, "" for full), 5 instance_id (a new
 * GUID), 6 effective_detection, 7 changed (its latest status change). NULL on error (logged).
 */
PGresult *rollup_send_status_due(PGconn *db, long limit);

/*
 * The update statuses of computer id (own: one of this server's, else a rolled-up one)
 * changed after since ("" or NULL: all of them). Columns: update_id, state (enum
 * client_rollup_state: 2 needed, 3 downloaded, 4 installed, 5 failed, 6 installed pending
 * reboot), last_change. An own computer's come from its status event (156) and later
 * download/install events, as `wsusctl report` counts them (CLIENT_REPORT_SQL_ROLLUP_STATES).
 * NULL on error (logged).
 */
PGresult *rollup_send_states(PGconn *db, const char *id, int own, const char *since);

/*
 * Record statuses as sent: json is an array of {"id", "number", "time"} (time: the latest
 * LastChangeTime sent, null when none went). 0, or -1 on error.
 */
int rollup_send_status_sent(PGconn *db, const char *json);

/* Forget the records of computers this server holds no more (removed, aged out). 0, or -1. */
int rollup_send_forget_gone(PGconn *db);

/* A new upstream or RollupResetGuid: forget everything sent, the next rollup is full. 0, or -1. */
int rollup_send_reset(PGconn *db);

/* How many computers are recorded as sent (for messages and tests). -1 on error. */
long rollup_send_count(PGconn *db);

#endif
