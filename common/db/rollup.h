/*
 * rollup: what downstream servers report to this server through the reporting rollup of
 * MS-WSUSSS 3.1.4.13-3.1.4.17 (schema 010: rollup_server, rollup_activity, rollup_computer,
 * rollup_status), the one owner of their SQL. Every row belongs to the branch of one direct
 * downstream (the reporter: the account GUID of its cookie); a reporter writes only rows of its own
 * branch and never more than the per-branch bounds (settings rollup-max-servers,
 * rollup-max-computers, rollup-max-statuses). A new server id reporting the name of a server of the
 * same parent is a rebuild: it takes over the old one's computers and descendants, no duplicate
 * stays. Computers whose last contact with their server is older than rollup-computer-max-age-days
 * are aged out. Every store runs in one transaction: a refused request stores nothing.
 * It does not speak SOAP (server/wusp/svc_rollup.c decodes the requests).
 */
#ifndef WSUS_ROLLUP_H
#define WSUS_ROLLUP_H

#include <libpq-fe.h>
#include <stddef.h>

#include "computer.h"
#include "rollup_summary.h"

/* The batch sizes this server announces in GetRollupConfiguration: Windows' (<46>-<49>). */
#define ROLLUP_BATCH_CLIENT_SUMMARIES 5000  /* RollupDownstreamServersMaxBatchSize */
#define ROLLUP_BATCH_COMPUTERS        1500  /* RollupComputersMaxBatchSize */
#define ROLLUP_BATCH_OUT_OF_SYNC      20000 /* GetOutOfSyncComputersMaxBatchSize */
#define ROLLUP_BATCH_STATUS           500   /* RollupComputerStatusMaxBatchSize */
/* Bounds the spec leaves open (beyond them: InvalidParameters). */
#define ROLLUP_MAX_SERVERS_PER_REQUEST    1000    /* DownstreamServerRollupInfo in one request */
#define ROLLUP_MAX_STATUSES_PER_REQUEST   200000  /* ComputerStatusRollupUpdateStatus in one */
#define ROLLUP_MAX_ACTIVITIES_PER_REQUEST 100000  /* ...ClientActivitySummary in one request */
#define ROLLUP_MAX_ACTIVITY_ROWS          1000000 /* rollup_activity rows of one branch */
#define ROLLUP_MAX_ID                     256     /* bytes of a ComputerId */
#define ROLLUP_MAX_NAME                   255     /* bytes of a FullDomainName */
#define ROLLUP_MAX_VERSION                32      /* Version: "one to four integers", 32 chars */

/* The DownstreamServerRollupServerSummary counts: ROLLUP_SUMMARY_COUNT, rollup_summary_names. */

/* One DownstreamServerRollupClientActivitySummary with the OS group of its client summary. */
struct rollup_activity {
    char update_id[37];
    char os[128]; /* "major.minor.build.spmajor.spminor locale architecture" */
    long installs, failures;
};

/* One DownstreamServerRollupInfo (text fields bounded and checked by the decoder); its client
 * activity is act[first_activity .. first_activity + nactivity - 1] of the request. */
struct rollup_server {
    char id[37];     /* ServerId, lower case */
    char parent[37]; /* ParentServerId; "" for the all-zero id (this server) */
    char name[ROLLUP_MAX_NAME + 1];
    char version[ROLLUP_MAX_VERSION + 1];
    int is_replica;
    char last_sync[40]; /* xsd:dateTime as sent */
    char last_rollup[40];
    long summary[ROLLUP_SUMMARY_COUNT];
    size_t first_activity, nactivity;
};

/* One ComputerRollupInfo. */
struct rollup_computer {
    char id[ROLLUP_MAX_ID + 1];
    char parent[37]; /* ParentServerId: the server it gets updates from */
    char last_sync[40], last_reboot[40], last_status[40], last_inventory[40];
    int last_sync_result; /* 0 unknown, 1 succeeded, 2 failed */
    int has_details;      /* Details present: info and address are set */
    struct computer_info info;
    char address[64];
};

/* One ComputerStatusRollupUpdateStatus. */
struct rollup_status {
    char update_id[37];
    int state; /* SummarizationState 0..6 */
    char last_change[40];
};

/* One ComputerStatusRollupInfo: its statuses are st[first .. first + n - 1]. */
struct rollup_computer_status {
    char id[ROLLUP_MAX_ID + 1];
    char effective_detection[40];
    long rollup_number;
    int full;
    size_t first, n;
};

enum rollup_result {
    ROLLUP_OK = 0,
    ROLLUP_REFUSED,        /* a row of another branch, this server's own id, a loop: err says */
    ROLLUP_UNKNOWN_PARENT, /* a ParentServerId this branch does not hold: err says */
    ROLLUP_FULL,           /* the branch would pass a per-branch bound: err names the setting */
    ROLLUP_DB_ERROR = -1,
};

/* The RollupResetGuid: created on first use, kept in the setting table. 0, or -1. */
int rollup_reset_guid(PGconn *db, char out[37]);

/*
 * RollupDownstreamServers from the direct downstream reporter (self_id: this server's id):
 * each entry in order, as 3.1.4.14 says (an existing row is replaced only when its
 * LastRollupTime is not newer). client_time (xsd:dateTime) corrects the clock difference as
 * Windows does (<50>: beyond one minute). An entry with the all-zero parent must be the reporter
 * itself; any other parent must be the reporter or a server of its branch (maybe earlier in the
 * same request). The client activity (act, see struct rollup_server) of an entry that was
 * stored is added to the server's install success and failure counts per update and OS (the
 * counts are what happened since the downstream's last report). Returns ROLLUP_OK or another
 * result with a one-line message in err (nothing stored).
 */
enum rollup_result rollup_servers_store(PGconn *db, const char *self_id, const char *reporter,
                                        const struct rollup_server *s, size_t n,
                                        const struct rollup_activity *act, const char *client_time,
                                        char *err, size_t errlen);

/*
 * RollupComputers from reporter: each computer's parent must be a server of its branch
 * (ROLLUP_UNKNOWN_PARENT otherwise). A new computer or one whose server changed is stored; an
 * existing one is replaced when its LastSyncTime is not newer; a computer another branch
 * holds is left alone. new_parent[i] (n entries) is set to 1 for the entries without Details
 * that were new or changed server (the NewParent answer). Ages out old computers (of every
 * branch) first. ROLLUP_OK or another result with err set (nothing stored).
 */
enum rollup_result rollup_computers_store(PGconn *db, const char *reporter,
                                          const struct rollup_computer *c, size_t n,
                                          const char *client_time, unsigned char *new_parent,
                                          char *err, size_t errlen);

/*
 * GetOutOfSyncComputers: out[i] = 1 for each ids[i] held under parent (a server of reporter's
 * branch, or the reporter) or its descendants whose last received RollupNumber differs from
 * numbers[i]. A parent this server does not know: every out[i] = 0 (3.1.4.16). ROLLUP_OK,
 * ROLLUP_REFUSED (parent of another branch, err set) or ROLLUP_DB_ERROR.
 */
enum rollup_result rollup_out_of_sync(PGconn *db, const char *reporter, const char *parent,
                                      const char (*ids)[ROLLUP_MAX_ID + 1], const long *numbers,
                                      size_t n, unsigned char *out, char *err, size_t errlen);

/*
 * RollupComputerStatus: for each computer of reporter's branch (others ignored) record its
 * RollupNumber and EffectiveLastDetectionTime, drop its statuses on a full rollup, then store
 * st[first..] unless a stored status changed later. parent must be the reporter or a server
 * of its branch. ROLLUP_OK or another result with err set (nothing stored).
 */
enum rollup_result rollup_status_store(PGconn *db, const char *reporter, const char *parent,
                                       const struct rollup_computer_status *c, size_t n,
                                       const struct rollup_status *st, const char *client_time,
                                       char *err, size_t errlen);

/* Reads for the admin API (`wsusctl downstreams`, `computers`, `report`). Times are UTC
 * "YYYY-MM-DDTHH:MI:SSZ", "" when unknown. */

/* One rolled-up server. */
struct rollup_server_row {
    char id[37], parent[37], reporter[37];
    char name[ROLLUP_MAX_NAME + 1];
    char version[ROLLUP_MAX_VERSION + 1];
    int is_replica;
    char last_sync[32], last_rollup[32], received[32];
    long summary[ROLLUP_SUMMARY_COUNT];
    long computers;               /* rolled-up computers that get updates from it */
    long long installs, failures; /* client install successes / failures it reported */
};

/* Every rolled-up server by lower(name), streamed to cb (returns 0 to go on). 0, or -1. */
int rollup_server_list(PGconn *db, int (*cb)(void *arg, const struct rollup_server_row *row),
                       void *arg);

/* One rolled-up computer with its status counts (SummarizationState: 2 needed, 3 downloaded,
 * 4 and 6 installed, 5 failed). */
struct rollup_computer_row {
    char id[ROLLUP_MAX_ID + 1];
    char name[COMPUTER_MAX_FIELD + 1];
    char address[64];
    char os_version[64];
    char os_description[COMPUTER_MAX_FIELD + 1];
    char client_version[64];
    char last_sync[32], last_status[32], received[32];
    char server_id[37];
    char server[ROLLUP_MAX_NAME + 1]; /* the name of the server it gets updates from */
    long needed, downloaded, installed, failed;
};

/* The rolled-up computers by lower(name) then id (all, or only the one id when id is not NULL;
 * of those at most limit (< 0: all) after skipping offset), streamed to cb. 0, or -1. */
int rollup_computer_list(PGconn *db, const char *id, long limit, long offset,
                         int (*cb)(void *arg, const struct rollup_computer_row *row), void *arg);
/* How many rolled-up computers there are; -1 on error. */
long rollup_computer_count(PGconn *db);

/* A rolled-up computer by its name (case-insensitive) or id into id: 1 found, 0 none, 2 several
 * have that name, -1 on error. */
int rollup_computer_find(PGconn *db, const char *name_or_id, char id[ROLLUP_MAX_ID + 1]);

/* One update status of a rolled-up computer: its SummarizationState in words ("not
 * applicable", "needed", "downloaded", "installed", "failed", "installed, reboot", "unknown"). */
struct rollup_update_status {
    char update_id[37];
    char title[COMPUTER_MAX_FIELD + 1];
    char status[24];
    char time[32]; /* LastChangeTime */
};

/* The update statuses of rolled-up computer id by title, streamed to cb. 0, or -1. */
int rollup_computer_statuses(PGconn *db, const char *id,
                             int (*cb)(void *arg, const struct rollup_update_status *st),
                             void *arg);

/* Compliance of the rolled-up computers with one update, from their reported statuses. */
struct rollup_report_row {
    char update_id[37];
    char title[512];
    char kb[32];
    long computers; /* with a status for it */
    long needed, downloaded, installed, failed, not_applicable;
};

/*
 * The rolled-up computers' status per update (update: an update id or a KB number with or
 * without "KB"; NULL = all), by title, streamed to cb; *computers gets the number of rolled-up
 * computers. 0, or -1 on error.
 */
int rollup_report(PGconn *db, const char *update, long *computers,
                  int (*cb)(void *arg, const struct rollup_report_row *row), void *arg);

#endif
