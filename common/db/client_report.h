/*
 * client_report: compliance of Windows computers with their approvals (`wsusctl report`), the
 * one owner of its SQL (reads of computer, client_event, computer_status,
 * computer_update_status). For each update approved for install to at least one computer in
 * scope (the computer's groups walked upward as client_scan does; declined updates left out),
 * how many of those computers it is approved for and what each says of it. A computer that
 * sent a status event (EventID 156) gives its own verdict: needed (installable, or downloaded),
 * installed (or installed pending reboot), failed, or not applicable (approved but not in its
 * lists); a later download/install event of the update (162 downloaded, 183 installed, 161/182
 * failed) overrides it. For a computer that never sent one the figures come from its last
 * event of the update, and needed is inferred (approved - installed - failed); "inferred" says
 * how many computers that is. It does not speak SOAP or JSON.
 */
#ifndef WSUS_CLIENT_REPORT_H
#define WSUS_CLIENT_REPORT_H

#include <libpq-fe.h>

#include "computer.h"

/* Days without contact after which a computer counts as not reporting. */
#define CLIENT_REPORT_STALE_DAYS 30

struct client_report_row {
    char update_id[37];
    char title[512];
    char kb[32];
    long approved, needed, downloaded, installed, failed;
    long not_applicable; /* the computer's status does not list it */
    long inferred;       /* of approved: computers without a status event (needed inferred) */
};

struct client_report_totals {
    long computers;     /* in scope */
    long not_reporting; /* of them: never scanned, or no contact for CLIENT_REPORT_STALE_DAYS */
};

/*
 * The report for the computers of group_name (case-insensitive, NULL = all; "Unassigned
 * Computers" holds those in no group) and the updates matching update (an update id or a KB
 * number with or without "KB"; NULL = all), rows streamed to cb by title. 0, or -1 on error.
 */
int client_report(PGconn *db, const char *group_name, const char *update,
                  struct client_report_totals *tot,
                  int (*cb)(void *arg, const struct client_report_row *row), void *arg);

/*
 * What one computer (id) says of each update it mentioned, by the same rule as client_report
 * (its status event, or a later download/install event), streamed to cb by title: status is
 * needed, downloaded, installed, pending_reboot, failed, not_applicable (a status event, then
 * an event of an update it does not list) or reported (only events without a verdict);
 * event_id/hresult of its last event of the update (0 when only the status names it), time
 * of the verdict (UTC). `wsusctl computers show`. 0, or -1 on error (or when cb stopped).
 */
int client_report_computer(PGconn *db, const char *id,
                           int (*cb)(void *arg, const struct computer_update_status *st),
                           void *arg);

/*
 * The hook for reporting rollup (MS-WSUSSS 3.1.4.15 RollupComputers, 3.1.4.17
 * RollupComputerStatus; issue 14): each computer of this server with what it says about its
 * updates, as an upstream wants it.
 */

/* SummarizationState values of MS-WSUSSS 3.1.4.17 ComputerStatusRollupUpdateStatus. */
enum client_rollup_state {
    CLIENT_ROLLUP_NOT_APPLICABLE = 0,
    CLIENT_ROLLUP_NOT_INSTALLED = 2, /* needed */
    CLIENT_ROLLUP_DOWNLOADED = 3,
    CLIENT_ROLLUP_INSTALLED = 4,
    CLIENT_ROLLUP_FAILED = 5,
    CLIENT_ROLLUP_INSTALLED_PENDING_REBOOT = 6,
};

struct client_rollup_update {
    char update_id[37];
    int state;        /* enum client_rollup_state */
    char changed[32]; /* LastChangeTime, UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" */
};

struct client_rollup_computer {
    char computer_id[37];
    char name[256];       /* FullDomainName */
    char address[64];     /* IPAddress */
    char os_version[64];  /* major.minor.build.sp as RegisterComputer sent it */
    char last_sync[32];   /* last SyncUpdates answered (LastSyncTime), "" = never */
    char last_status[32]; /* its last status event (LastReportedStatusTime), "" = never */
    const struct client_rollup_update *updates; /* ordered by update id */
    size_t n;
};

/* Computers per query of client_report_rollup (memory stays bounded by this many computers'
 * statuses). */
#define CLIENT_ROLLUP_PAGE 200

/*
 * Every computer (since NULL: a full rollup, each computer with its whole status) or the
 * computers whose status changed after since (a timestamptz text, e.g. the time of the last
 * rollup: only the entries changed after it), ordered by computer id, streamed to cb. The
 * state of an update is the one `wsusctl report` counts: the computer's last status event (156),
 * or a later download/install event of that update (162 downloaded, 183 installed, 161/182
 * failed), changed = when that was received. Updates a computer never mentioned have no entry
 * (the upstream knows its approvals). cb gets data valid during the call and returns 0 to go
 * on, -1 to stop. 0 when done, -1 on a database error or when cb stopped.
 */
int client_report_rollup(PGconn *db, const char *since,
                         int (*cb)(void *arg, const struct client_rollup_computer *c), void *arg);

#endif
