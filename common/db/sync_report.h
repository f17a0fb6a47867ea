/*
 * sync_report: read-only summaries of the sync_history table for /metrics (the admin API's
 * status and history rows are built in server/admin/admin_sync.c). All SQL of these summaries is
 * here; the rows are written by the sync engine (client/sync.c).
 */
#ifndef WSUS_SYNC_REPORT_H
#define WSUS_SYNC_REPORT_H

#include <libpq-fe.h>

/*
 * Synchronization runs by result. Columns: result (running, succeeded, failed, cancelled),
 * runs. Imports are not counted. NULL on a database error (logged).
 */
PGresult *sync_report_by_result(PGconn *db);

/*
 * The last finished synchronization and the last successful one. One row, columns: finished
 * (epoch seconds of the last finished run, NULL when none), seconds (its duration), bytes (its
 * downloaded bytes), result, last_success (epoch seconds, NULL when none). NULL on a database
 * error (logged).
 */
PGresult *sync_report_last(PGconn *db);

#endif
