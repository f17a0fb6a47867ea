/*
 * sync_history: the sync_history table. Reads for health checks (the last finished
 * synchronization, the running one and whether a process holds the sync lock) and for the
 * admin API's status and history (rows as JSON text). Rows of synchronizations are written for
 * the sync engine (client/sync.c) by sync_history_sync_*; rows of imports by
 * sync_history_import_start/_finish. All SQL of sync_history is here.
 */
#ifndef WSUS_SYNC_HISTORY_H
#define WSUS_SYNC_HISTORY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sync_history_row {
    long id;
    char result[16]; /* running | succeeded | failed | cancelled */
    char phase[32];
    char error[1024];               /* "" when none; cut to fit */
    time_t started_at, finished_at; /* finished_at 0 while running */
    time_t progress_at;             /* detail.progress_at: last byte or file moved; 0 = none */
    long files;
    int64_t bytes;
    char front_end[128]; /* the wsusd that runs or ran it ([server] name); "" = not recorded */
};

/*
 * The newest finished synchronization (kind 'sync', result not 'running') into *out: 1, 0 when
 * there is none, -1 on a database error (logged).
 */
int sync_history_last_finished(PGconn *db, struct sync_history_row *out);
/* The newest row still marked running: 1, 0 when none, -1 on a database error. */
int sync_history_running(PGconn *db, struct sync_history_row *out);
/*
 * Does any session hold the session advisory lock key (pg_locks; the lock is not taken, so a
 * sync starting at the same moment is not disturbed)? 1, 0, or -1 on a database error.
 */
int sync_history_lock_held(PGconn *db, long key);

/* Which rows sync_history_json returns. */
enum sync_history_pick {
    SYNC_HISTORY_BY_ID,         /* the row whose id is arg (decimal text) */
    SYNC_HISTORY_RUNNING,       /* the newest row marked running (arg unused) */
    SYNC_HISTORY_LAST_FINISHED, /* the newest row not marked running (arg unused) */
    SYNC_HISTORY_NEWEST,        /* the newest arg rows (arg: decimal count), newest first */
};

/*
 * Rows of sync_history chosen by pick, one column each: the row as JSON text (row_to_json:
 * id, kind, trigger, started_at, finished_at, result, phase, upstream, new_revisions,
 * updated_revisions, categories, files, bytes, error, detail, seconds, front_end: the wsusd
 * that ran it, null for imports). Only synchronizations
 * (kind 'sync'), or imports too when with_imports. The caller owns the result (PQclear);
 * NULL on a database error (logged).
 */
PGresult *sync_history_json(PGconn *db, enum sync_history_pick pick, int with_imports,
                            const char *arg);

/*
 * Record the start of a `wsusctl import` of package pkg: a sync_history row (kind 'import',
 * trigger 'manual', phase 'importing', upstream pkg). Its id, or -1 on a database error
 * (logged).
 */
long sync_history_import_start(PGconn *db, const char *pkg);
/*
 * Finish import row id: finished now with result ("succeeded", "failed", ...), error (NULL =
 * none), phase cleared, new_revisions, categories, files and detail (a JSON object as text).
 * present (the revisions already there) must be >= 0 for the row to be written. 0, or -1 on a
 * database error (logged).
 */
int sync_history_import_finish(PGconn *db, long id, const char *result, const char *error,
                               long new_revisions, long categories, long files, long present,
                               const char *detail);

/*
 * Close the synchronization rows left 'running' by a process that died (crash, kill, power
 * loss, database restart): result 'failed', finished now unless set, an error saying so unless
 * one is set. Call only while holding the sync lock (nobody else runs one). 0, or -1 (logged).
 */
int sync_history_sync_fail_abandoned(PGconn *db);
/*
 * Record the start of a synchronization: a row (kind 'sync', trigger, upstream URL, phase
 * 'starting', the front-end that runs it: config_front_end_name). Its id, or -1 on a database
 * error (db_errmsg tells which).
 */
long sync_history_sync_start(PGconn *db, const char *trigger, const char *upstream,
                             const char *front_end);
/*
 * The progress of synchronization row id: its phase, counts so far and detail (a JSON object
 * as text). 0, or -1 on a database error (logged).
 */
int sync_history_sync_progress(PGconn *db, long id, const char *phase, long new_revisions,
                               long updated_revisions, long categories, long files, int64_t bytes,
                               const char *detail);
/*
 * Finish synchronization row id: result ("succeeded", "failed", "cancelled"), error (NULL =
 * none), finished now, phase 'done'. 0, or -1 on a database error (logged).
 */
int sync_history_sync_finish(PGconn *db, long id, const char *result, const char *error);

#endif
