/*
 * sync_history: the read side of the sync_history table for health checks (the last finished
 * synchronization, the running one and whether a process holds the sync lock). Rows are
 * written by the sync engine (client/sync.c); this module does not write them.
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

#endif
