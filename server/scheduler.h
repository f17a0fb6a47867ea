/*
 * scheduler: the thread of wsusd that runs synchronizations: on the `schedule` setting
 * ("manual", or "N/day from HH:MM" plus a random offset of up to 30 minutes chosen at start),
 * when an admin asks ("sync now"), and after a failure (retried twice, `sync-retry-interval`
 * seconds apart, default 900, then the next scheduled time, as WSUS does), and a few seconds
 * after a downstream server asked for files with DownloadFiles. On a downstream it also runs
 * the reporting rollup on its own (sync_rollup_only) every `rollup-interval-hours` after the
 * last rollup (0 = only the rollup at the end of each synchronization), skipped while a
 * synchronization runs (it reports at its end), logged either way. A run interrupted
 * by a crash of wsusd is resumed shortly after the next start. Only one sync runs at a time,
 * also across several wsusd on one database (the lock is in sync.c). It does not sync by
 * itself: client/sync.c does the work.
 */
#ifndef WSUS_SCHEDULER_H
#define WSUS_SCHEDULER_H

#include <stddef.h>
#include <time.h>

struct scheduler;

struct scheduler_info {
    int running;          /* a sync runs in this process */
    long running_id;      /* its sync_history id */
    time_t next_schedule; /* 0 = manual */
    time_t retry_at;      /* 0 = no retry pending */
    int retries_done;     /* of the current failure streak */
    time_t next_rollup;   /* the next reporting rollup on its own (rollup-interval-hours); 0 =
                             none */
};

/* Test-only: seconds in one hour of rollup-interval-hours (1..3600), so that a test sees the
 * rollup's own schedule run in seconds. wsusd warns at start when it is set. */
#define SCHEDULER_TEST_HOUR_ENV "WSUSD_TEST_ROLLUP_HOUR_S"

/*
 * Start the thread. conninfo, content_dir, server_id and front_end (this wsusd's name among
 * several on one database, written into the history rows of its runs; never NULL) are copied.
 * NULL (logged) when the thread cannot start.
 */
struct scheduler *scheduler_start(const char *conninfo, const char *content_dir,
                                  const char *server_id, const char *front_end);
/* Cancel a running sync, stop the thread, free. NULL is fine. */
void scheduler_stop(struct scheduler *sc);

/*
 * Start a sync now and wait (at most ~30 s) until it has its history row. 0 with *history_id;
 * 1 when a sync is already running (here or in another wsusd on the same database), with
 * *history_id set to its row when known (0 otherwise); -1 with a message in err.
 */
int scheduler_sync_now(struct scheduler *sc, long *history_id, char *err, size_t errlen);
/*
 * A downstream server asked for files this server does not have yet (DownloadFiles queued
 * them): run a synchronization (its content phase fetches queued files whatever the download
 * policy) SCHEDULER_FILES_DELAY_S seconds from now, as WSUS starts such downloads at once
 * rather than at the next scheduled time. Requests arriving before that run starts, or while a
 * sync runs, coalesce into one run. Never blocks on a running sync. NULL is fine.
 */
#define SCHEDULER_FILES_DELAY_S 5
void scheduler_files_requested(struct scheduler *sc);
/*
 * `wsusctl sync cancel`: ask the sync running in this process to stop (it ends within a few
 * seconds with the history result "cancelled"; partial files are kept for the next run, which
 * resumes them; no retry is scheduled). 0 with *history_id (0 while the run has no row yet),
 * 1 when no sync runs in this process.
 */
int scheduler_cancel(struct scheduler *sc, long *history_id);
/*
 * `wsusctl movecontent`: synchronizations from now on store files under content_dir (copied).
 * 0, or 1 (nothing changed) while a sync runs in this process.
 */
int scheduler_set_content_dir(struct scheduler *sc, const char *content_dir);
/* A snapshot for `wsusctl sync status`. */
void scheduler_get_info(struct scheduler *sc, struct scheduler_info *out);

/*
 * Next time (> now) of a schedule value: "manual" -> 0; "N/day from HH:MM" -> the next of the
 * N equally spaced times of day starting at HH:MM local time, plus offset_s. -1 for a value
 * that does not parse.
 */
time_t scheduler_next(const char *schedule, time_t now, int offset_s);

#endif
