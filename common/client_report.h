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

#endif
