/*
 * client_report: compliance of Windows computers with their approvals (`wsusctl report`), the
 * one owner of its SQL. For each update approved for install to at least one computer in scope
 * (the computer's groups walked upward as client_scan does; declined updates left out), how many
 * of those computers it is approved for, and, by the last event each computer reported for it:
 * installed (183), failed (161, 182), downloaded (162); needed = approved - installed - failed.
 * It does not speak SOAP or JSON.
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
