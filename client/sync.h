/*
 * sync: one synchronization of this server (the DSS) from its upstream (the USS), following
 * MS-WSUSSS 3.2.4: authorization, GetConfigData, hierarchy checks, categories
 * (GetConfig=true), updates for the selected products and classifications (anchors, Delta per
 * id, bundle closure), deployments in replica mode, then content. Only one sync runs per
 * catalog at a time, across processes (PostgreSQL advisory lock). Every run is a row of
 * sync_history, updated with its progress while it runs and with its result and the exact
 * reason of a failure at the end. A run interrupted at any point (crash, SIGKILL, network cut)
 * leaves a consistent catalog; the next run lists again, skips what is stored and resumes
 * partial files. A run that loses its database connection (PostgreSQL restarted) stops at
 * once, since its advisory lock went with the session: it waits for the database, closes its
 * history row as failed with that reason, and records the files it published (download.h).
 * It does not schedule runs (server/scheduler.c does) or serve anything.
 */
#ifndef WSUS_SYNC_H
#define WSUS_SYNC_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>

#include "uss.h"

/* pg_advisory_lock key held by the running sync ("wsus" in ASCII). */
#define SYNC_LOCK_KEY 0x77737573L

enum sync_trigger {
    SYNC_TRIGGER_MANUAL,
    SYNC_TRIGGER_SCHEDULE,
    SYNC_TRIGGER_RETRY,
    SYNC_TRIGGER_DOWNSTREAM /* a downstream server asked for files (DownloadFiles) */
};
/* "manual" | "schedule" | "retry" | "downstream" (the sync_history.trigger values). */
const char *sync_trigger_name(enum sync_trigger t);

enum sync_outcome {
    SYNC_SUCCEEDED,
    SYNC_FAILED,    /* err says why, in admin words; sync_history has it too */
    SYNC_BUSY,      /* another sync holds the lock (this process or another wsusd) */
    SYNC_CANCELLED, /* *cancel became non-zero (wsusd stopping, or wsusctl sync cancel) */
};

/* Values of *sync_params.cancel: why the run must stop. */
#define SYNC_CANCEL_STOPPING 1 /* wsusd is stopping */
#define SYNC_CANCEL_ADMIN    2 /* an administrator cancelled it */

struct sync_params {
    const char *conninfo;    /* catalog */
    const char *content_dir; /* content store root */
    const char *server_id;   /* our GUID, sent as accountGuid */
    const char *front_end;   /* which wsusd runs it (sync_history.front_end); NULL = none */
    enum sync_trigger trigger;
    atomic_int *cancel; /* polled, also inside every upstream wait; may be NULL */
    /* Called once the lock is held and the history row exists (may be NULL). */
    void (*started)(void *arg, long history_id);
    void *arg;
    /* Seconds after a failure when the caller retries it (0 = no automatic retry): told to the
       admin when the database connection was lost. */
    long retry_in_s;
};

/*
 * Run one synchronization to the end (blocking; minutes to hours). *history_id (may be NULL)
 * gets the sync_history row id, 0 when none was created (BUSY, or no database). err gets one
 * line for the admin on anything but SUCCEEDED (for SUCCEEDED it may hold a warning, such as
 * files the upstream does not have yet, or be empty).
 */
enum sync_outcome sync_run(const struct sync_params *p, long *history_id, char *err, size_t errlen);

/*
 * The reporting rollup on its own, without the steps before it (MS-WSUSSS 3.2.4.5 allows it;
 * `wsusctl rollup`): under the sync lock, with the upstream client of the settings, the
 * upstream's protocol version as the last synchronization recorded it, and the time of the
 * synchronization the last rollup reported. db is the caller's connection (no transaction open). 0
 * done or skipped, 1 a synchronization runs (it reports at its end), -1 failed; msg gets the line.
 */
int sync_rollup_only(PGconn *db, const char *server_id, const atomic_int *cancel, char *msg,
                     size_t msglen);

/*
 * The upstream client exactly as a sync builds it from the settings of db (upstream,
 * account-name, proxy, proxy-user/-domain/-password/-auth, ca-file, the answer and stall
 * timeouts), so a probe (wsusctl checkhealth) goes the same way as the sync. max_timeout_s > 0
 * caps the connect, answer and stall timeouts (a bounded probe); 0 keeps the settings. NULL
 * with err filled when uss_new() refuses the settings. Free with uss_free().
 */
struct uss *sync_open_upstream(PGconn *db, const char *server_id, long max_timeout_s,
                               const atomic_int *cancel, struct uss_error *err);

/* The upstream's GetConfigData language list as the JSON array kept in upstream_state
 * "languages" ([{"lcid", "short", "long", "enabled"}, ...]; what hier_check_languages reads).
 * malloc'd. */
char *sync_languages_json(const struct uss_config *cfg);

/*
 * The storage-option rule of a hierarchy: 1 with the admin's message (both servers, both
 * options, the fix) in msg when storage ("local" | "microsoft-update") disagrees with the
 * upstream's CatalogOnlySync; 0 when they agree or the upstream is Microsoft Update. upstream
 * is the setting as configured, upstream_url the root the client uses (uss_url()).
 */
int sync_storage_differs(const char *account_name, const char *storage, const char *upstream,
                         const char *upstream_url, int catalog_only_sync, char *msg, size_t msglen);

#endif
