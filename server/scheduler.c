/*
 * scheduler: one thread, one mutex, one condition variable. The thread sleeps until the
 * earliest of: an admin request, a pending retry, the next scheduled time, or 30 s (to pick
 * up a changed schedule); then runs sync_run() itself with the mutex released.
 */
#include "scheduler.h"
#include "db.h"
#include "log.h"
#include "rollup_dss.h"
#include "settings.h"
#include "strutil.h"
#include "sync.h"
#include "sync_history.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECHECK_S       30
#define MAX_RETRIES     2
#define DEFAULT_RETRY_S 900
#define MAX_OFFSET_S    1800
#define START_WAIT_S    30

struct scheduler {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *conninfo, *content_dir, *server_id, *front_end;
    char **old_dirs; /* earlier content_dir values, freed at stop (a run may hold one) */
    size_t n_old_dirs;
    atomic_int cancel; /* read by sync_run (SYNC_CANCEL_*) */
    int stopping;
    int requested;     /* "sync now" pending */
    unsigned long gen; /* bumped when a requested run started or was refused */
    int refused_busy;  /* the last requested run found another sync running */
    char refuse_msg[1024];
    int running;
    long running_id;
    long last_started_id; /* kept after the run ends, for scheduler_sync_now */
    time_t next_schedule, retry_at;
    time_t files_at; /* a downstream asked for files: sync then (0 = no request) */
    int retries_done;
    int offset_s;
    time_t started_at;   /* when the scheduler started (a first rollup's base) */
    time_t next_rollup;  /* the next rollup on its own (0 = none: interval 0, root, rollup off) */
    time_t rollup_floor; /* not before: a rollup ran (on its own or after a sync) until then */
    long rollup_every_s; /* rollup-interval-hours in seconds (0 = only after synchronizations) */
    long hour_s;         /* seconds in an hour of rollup-interval-hours (SCHEDULER_TEST_HOUR_ENV) */
};

time_t scheduler_next(const char *schedule, time_t now, int offset_s)
{
    long n, hh, mm;
    char sched[64];
    struct tm tm;
    time_t day0, best = 0;
    int d, k;

    if (schedule == NULL || strcasecmp(schedule, "manual") == 0 || schedule[0] == '\0')
        return 0;
    if (str_copy(sched, sizeof(sched), schedule) < 0 ||
        sscanf(sched, "%ld/day from %ld:%ld", &n, &hh, &mm) != 3 || n < 1 || n > 24 || hh < 0 ||
        hh > 23 || mm < 0 || mm > 59)
        return (time_t)-1;
    localtime_r(&now, &tm);
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    day0 = mktime(&tm);
    for (d = -1; d <= 1 && best == 0; d++) {
        for (k = 0; k < n; k++) {
            time_t t =
                day0 + (time_t)d * 86400 + hh * 3600 + mm * 60 + (time_t)k * 86400 / n + offset_s;
            if (t > now && (best == 0 || t < best))
                best = t;
        }
    }
    return best;
}

static void on_started(void *arg, long history_id)
{
    struct scheduler *sc = arg;

    pthread_mutex_lock(&sc->lock);
    sc->running_id = history_id;
    sc->last_started_id = history_id;
    sc->gen++;
    pthread_cond_broadcast(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
}

/* The sync-retry-interval setting (settings.c checks its range when it is set). */
static long retry_interval(PGconn *db)
{
    char *v = settings_get(db, "sync-retry-interval");
    long s = DEFAULT_RETRY_S;

    if (v != NULL && str_to_long(v, 1, 86400 * 7, &s) < 0)
        s = DEFAULT_RETRY_S;
    free(v);
    return s;
}

/*
 * The rollup on its own schedule (rollup-interval-hours): due interval after the last rollup
 * (after a synchronization or on its own; the scheduler's start when there was none); none on
 * a root, with the interval 0 or the setting rollup off.
 */
static void refresh_rollup(struct scheduler *sc, PGconn *db, const char *up, time_t now)
{
    char *hours = settings_get(db, "rollup-interval-hours"), *on = settings_get(db, "rollup");
    long h = 0, every;
    time_t last, next = 0;

    if (hours != NULL && str_to_long(hours, 0, 8760, &h) < 0)
        h = 0;
    every = h * sc->hour_s;
    if (every > 0 && up != NULL && up[0] != '\0' && on != NULL && strcmp(on, "off") != 0) {
        last = rollup_dss_last_time(db);
        next = (last > 0 ? last : sc->started_at) + every;
        if (next < now)
            next = now;
    }
    free(hours);
    free(on);
    pthread_mutex_lock(&sc->lock);
    if (next > 0 && next < sc->rollup_floor)
        next = sc->rollup_floor; /* the last attempt recorded no time (it failed early) */
    sc->rollup_every_s = every;
    sc->next_rollup = next;
    pthread_mutex_unlock(&sc->lock);
}

/* Read the schedule (and whether a run was left unfinished) with a short-lived connection. */
static void refresh(struct scheduler *sc, int at_start)
{
    char err[512];
    PGconn *db = db_connect(sc->conninfo, "wsusd-scheduler", err, sizeof(err));
    char *sched, *up;
    time_t now = time(NULL);

    if (db == NULL) {
        log_warnx("scheduler: %s", err);
        return;
    }
    sched = settings_get(db, "schedule");
    up = settings_get(db, "upstream");
    sc->next_schedule = scheduler_next(sched, now, sc->offset_s);
    if (sc->next_schedule == (time_t)-1) {
        log_warnx("scheduler: cannot read the schedule \"%s\"; automatic synchronization is off",
                  sched ? sched : "");
        sc->next_schedule = 0;
    }
    if (up != NULL && up[0] == '\0')
        sc->next_schedule = 0; /* a root: nothing to synchronize from */
    refresh_rollup(sc, db, up, now);
    free(sched);
    free(up);
    if (at_start) {
        struct sync_history_row row;

        if (sync_history_running(db, &row) == 1) {
            log_info("scheduler: the last synchronization did not finish; resuming it");
            sc->retry_at = now + 2;
        }
    }
    db_close(db);
}

static void run_one(struct scheduler *sc, enum sync_trigger trigger, int requested)
{
    struct sync_params p;
    enum sync_outcome o;
    char err[1024];
    long hid = 0, interval = DEFAULT_RETRY_S;

    memset(&p, 0, sizeof(p));
    p.conninfo = sc->conninfo;
    p.content_dir = sc->content_dir;
    p.server_id = sc->server_id;
    p.front_end = sc->front_end;
    p.trigger = trigger;
    p.cancel = &sc->cancel;
    p.started = on_started;
    p.arg = sc;
    atomic_store(&sc->cancel, sc->stopping ? SYNC_CANCEL_STOPPING : 0);
    sc->running = 1;
    sc->running_id = 0;
    pthread_mutex_unlock(&sc->lock);
    {
        char e2[256];
        PGconn *db = db_connect(sc->conninfo, "wsusd-scheduler", e2, sizeof(e2));
        if (db != NULL) {
            interval = retry_interval(db);
            db_close(db);
        }
    }
    /* only this thread changes retries_done: no lock needed to read it */
    p.retry_in_s = sc->retries_done < MAX_RETRIES ? interval : 0;
    o = sync_run(&p, &hid, err, sizeof(err));
    pthread_mutex_lock(&sc->lock);
    sc->running = 0;
    sc->running_id = 0;
    if (o == SYNC_BUSY || (o == SYNC_FAILED && hid == 0)) {
        if (requested) {
            sc->refused_busy = o == SYNC_BUSY;
            snprintf(sc->refuse_msg, sizeof(sc->refuse_msg), "%s", err);
            sc->gen++;
            pthread_cond_broadcast(&sc->cond);
        }
        if (o == SYNC_FAILED)
            log_warnx("scheduler: %s", err);
        else if (!requested)
            log_info("scheduler: %s synchronization skipped: another wsusd on this database "
                     "is synchronizing (it holds the sync lock)",
                     sync_trigger_name(trigger));
        return;
    }
    if (o == SYNC_FAILED) {
        if (sc->retries_done < MAX_RETRIES) {
            sc->retries_done++;
            sc->retry_at = time(NULL) + interval;
            log_info("scheduler: synchronization failed; retry %d of %d in %ld s", sc->retries_done,
                     MAX_RETRIES, interval);
        } else {
            sc->retries_done = 0;
            sc->retry_at = 0;
            log_info("scheduler: synchronization failed %d times; waiting for the next "
                     "scheduled time",
                     MAX_RETRIES + 1);
        }
    } else if (o == SYNC_SUCCEEDED) {
        sc->retries_done = 0;
        sc->retry_at = 0;
        sc->rollup_floor = time(NULL) + sc->rollup_every_s; /* it reported at its end */
        if (sc->rollup_every_s > 0)
            sc->next_rollup = sc->rollup_floor;
    }
}

/* The rollup on its own (sync_rollup_only), called and returning with the lock held. */
static void rollup_one(struct scheduler *sc)
{
    char err[256], msg[1024];
    PGconn *db;
    int rc;

    atomic_store(&sc->cancel, sc->stopping ? SYNC_CANCEL_STOPPING : 0);
    pthread_mutex_unlock(&sc->lock);
    db = db_connect(sc->conninfo, "wsusd-scheduler", err, sizeof(err));
    if (db == NULL) {
        log_warnx("scheduler: the scheduled reporting rollup cannot run: %s", err);
    } else {
        rc = sync_rollup_only(db, sc->server_id, &sc->cancel, msg, sizeof(msg));
        if (rc == 0)
            log_info("scheduler: scheduled reporting rollup (rollup-interval-hours): %s", msg);
        else if (rc > 0)
            log_info("scheduler: scheduled reporting rollup skipped: %s", msg);
        else
            log_warnx("scheduler: scheduled reporting rollup failed: %s", msg);
        db_close(db);
    }
    pthread_mutex_lock(&sc->lock);
    sc->rollup_floor = time(NULL) + sc->rollup_every_s;
}

static void *scheduler_main(void *arg)
{
    struct scheduler *sc = arg;
    time_t last_refresh = 0;

    pthread_mutex_lock(&sc->lock);
    pthread_mutex_unlock(&sc->lock);
    refresh(sc, 1);
    last_refresh = time(NULL);
    pthread_mutex_lock(&sc->lock);
    while (!sc->stopping) {
        time_t now = time(NULL), wake;
        struct timespec ts;

        if (now - last_refresh >= RECHECK_S) {
            pthread_mutex_unlock(&sc->lock);
            refresh(sc, 0);
            pthread_mutex_lock(&sc->lock);
            last_refresh = now;
        }
        if (sc->requested) {
            sc->requested = 0;
            run_one(sc, SYNC_TRIGGER_MANUAL, 1);
            continue;
        }
        if (sc->retry_at != 0 && now >= sc->retry_at) {
            sc->retry_at = 0;
            run_one(sc, SYNC_TRIGGER_RETRY, 0);
            continue;
        }
        if (sc->files_at != 0 && now >= sc->files_at) {
            sc->files_at = 0;
            run_one(sc, SYNC_TRIGGER_DOWNSTREAM, 0);
            continue;
        }
        if (sc->next_schedule > 0 && now >= sc->next_schedule) {
            sc->next_schedule = 0;
            sc->retries_done = 0;
            run_one(sc, SYNC_TRIGGER_SCHEDULE, 0);
            last_refresh = 0; /* compute the next slot */
            continue;
        }
        if (sc->next_rollup > 0 && now >= sc->next_rollup) {
            sc->next_rollup = 0;
            rollup_one(sc);
            last_refresh = 0; /* the next one counts from this one */
            continue;
        }
        wake = now + RECHECK_S;
        if (sc->retry_at != 0 && sc->retry_at < wake)
            wake = sc->retry_at;
        if (sc->next_schedule > 0 && sc->next_schedule < wake)
            wake = sc->next_schedule;
        if (sc->files_at != 0 && sc->files_at < wake)
            wake = sc->files_at;
        if (sc->next_rollup > 0 && sc->next_rollup < wake)
            wake = sc->next_rollup;
        ts.tv_sec = wake;
        ts.tv_nsec = 0;
        pthread_cond_timedwait(&sc->cond, &sc->lock, &ts);
    }
    pthread_mutex_unlock(&sc->lock);
    return NULL;
}

struct scheduler *scheduler_start(const char *conninfo, const char *content_dir,
                                  const char *server_id, const char *front_end)
{
    struct scheduler *sc = xcalloc(1, sizeof(*sc));
    pthread_condattr_t ca;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

    sc->conninfo = xstrdup(conninfo);
    sc->content_dir = xstrdup(content_dir);
    sc->server_id = xstrdup(server_id);
    sc->front_end = xstrdup(front_end);
    sc->offset_s = (int)(rand_r(&seed) % MAX_OFFSET_S);
    sc->started_at = time(NULL);
    sc->hour_s = 3600;
    {
        const char *t = getenv(SCHEDULER_TEST_HOUR_ENV);
        long v;

        if (t != NULL && str_to_long(t, 1, 3600, &v) == 0) {
            sc->hour_s = v;
            log_warnx("scheduler: %s=%ld: an hour of rollup-interval-hours is %ld s (tests only)",
                      SCHEDULER_TEST_HOUR_ENV, v, v);
        }
    }
    pthread_mutex_init(&sc->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_cond_init(&sc->cond, &ca); /* CLOCK_REALTIME: wake times are wall-clock */
    pthread_condattr_destroy(&ca);
    if (pthread_create(&sc->thread, NULL, scheduler_main, sc) != 0) {
        log_warnx("cannot start the scheduler thread");
        free(sc->conninfo);
        free(sc->content_dir);
        free(sc->server_id);
        free(sc->front_end);
        free(sc);
        return NULL;
    }
    return sc;
}

void scheduler_stop(struct scheduler *sc)
{
    if (sc == NULL)
        return;
    pthread_mutex_lock(&sc->lock);
    sc->stopping = 1;
    atomic_store(&sc->cancel, SYNC_CANCEL_STOPPING);
    pthread_cond_broadcast(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
    pthread_join(sc->thread, NULL);
    pthread_mutex_destroy(&sc->lock);
    pthread_cond_destroy(&sc->cond);
    free(sc->conninfo);
    free(sc->content_dir);
    while (sc->n_old_dirs > 0)
        free(sc->old_dirs[--sc->n_old_dirs]);
    free(sc->old_dirs);
    free(sc->server_id);
    free(sc->front_end);
    free(sc);
}

int scheduler_set_content_dir(struct scheduler *sc, const char *content_dir)
{
    int rc = 1;

    pthread_mutex_lock(&sc->lock);
    if (!sc->running) {
        sc->old_dirs = xreallocarray(sc->old_dirs, sc->n_old_dirs + 1, sizeof(*sc->old_dirs));
        sc->old_dirs[sc->n_old_dirs++] = sc->content_dir;
        sc->content_dir = xstrdup(content_dir);
        rc = 0;
    }
    pthread_mutex_unlock(&sc->lock);
    return rc;
}

int scheduler_sync_now(struct scheduler *sc, long *history_id, char *err, size_t errlen)
{
    unsigned long gen;
    struct timespec ts;
    int rc = -1;

    *history_id = 0;
    pthread_mutex_lock(&sc->lock);
    if (sc->running) {
        *history_id = sc->running_id;
        pthread_mutex_unlock(&sc->lock);
        snprintf(err, errlen, "a synchronization is already running");
        return 1;
    }
    sc->requested = 1;
    sc->refused_busy = 0;
    sc->refuse_msg[0] = '\0';
    sc->last_started_id = 0;
    gen = sc->gen;
    pthread_cond_broadcast(&sc->cond);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += START_WAIT_S;
    while (sc->gen == gen) {
        if (pthread_cond_timedwait(&sc->cond, &sc->lock, &ts) != 0)
            break;
    }
    if (sc->gen == gen) {
        snprintf(err, errlen, "the synchronization did not start within %d s; see the wsusd log",
                 START_WAIT_S);
    } else if (sc->last_started_id > 0) {
        *history_id = sc->last_started_id;
        rc = 0;
    } else if (sc->refused_busy) {
        snprintf(err, errlen,
                 "a synchronization is already running (on this or another wsusd "
                 "using the same database)");
        rc = 1;
    } else if (sc->refuse_msg[0] != '\0') {
        snprintf(err, errlen, "%s", sc->refuse_msg);
    } else {
        snprintf(err, errlen, "the synchronization could not start; see the wsusd log");
    }
    pthread_mutex_unlock(&sc->lock);
    return rc;
}

void scheduler_files_requested(struct scheduler *sc)
{
    if (sc == NULL)
        return;
    pthread_mutex_lock(&sc->lock);
    if (sc->files_at == 0) {
        sc->files_at = time(NULL) + SCHEDULER_FILES_DELAY_S;
        log_info("scheduler: a downstream server asked for files; synchronizing in %d s",
                 SCHEDULER_FILES_DELAY_S);
        pthread_cond_broadcast(&sc->cond);
    }
    pthread_mutex_unlock(&sc->lock);
}

int scheduler_cancel(struct scheduler *sc, long *history_id)
{
    int rc = 1;

    pthread_mutex_lock(&sc->lock);
    *history_id = sc->running_id;
    if (sc->running) {
        atomic_store(&sc->cancel, SYNC_CANCEL_ADMIN);
        log_info("scheduler: an administrator cancelled synchronization %ld", sc->running_id);
        rc = 0;
    }
    pthread_mutex_unlock(&sc->lock);
    return rc;
}

void scheduler_get_info(struct scheduler *sc, struct scheduler_info *out)
{
    pthread_mutex_lock(&sc->lock);
    out->running = sc->running;
    out->running_id = sc->running_id;
    out->next_schedule = sc->next_schedule;
    out->retry_at = sc->retry_at;
    out->retries_done = sc->retries_done;
    out->next_rollup = sc->next_rollup;
    pthread_mutex_unlock(&sc->lock);
}
