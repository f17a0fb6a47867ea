/*
 * client_event: the events Windows computers report with ReportEventBatch (MS-WUSP 2.2.2.3.1),
 * schema 007 table client_event, the one owner of its SQL. Events are kept per computer (at
 * most CLIENT_EVENT_KEEP, the newest; an EventInstanceID already stored is ignored), so a
 * client cannot grow the table without bound. It does not speak SOAP.
 */
#ifndef WSUS_CLIENT_EVENT_H
#define WSUS_CLIENT_EVENT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_EVENT_KEEP      2000 /* events kept per computer */
#define CLIENT_EVENT_MAX_BATCH 1000 /* events of one ReportEventBatch */
#define CLIENT_EVENT_MAX_TEXT  1024 /* bytes kept of AppName and of the replacement strings */

struct client_event {
    char instance_id[37]; /* EventInstanceID */
    int event_id;
    int namespace_id;
    int source_id;
    char update_id[37]; /* "" for the all-zero id */
    int revision_number;
    int32_t hresult;
    char time_at_target[40]; /* the client's dateTime text, "" when absent or odd */
    char app_name[CLIENT_EVENT_MAX_TEXT + 1];
    char replacement[CLIENT_EVENT_MAX_TEXT + 1]; /* ReplacementStrings, one per line */
};

/*
 * Store n events of computer_id (which must be a computer row) in one transaction, then trim
 * that computer's events to CLIENT_EVENT_KEEP. *stored gets the number of new rows. 0, or -1
 * on a database error (nothing stored).
 */
int client_event_store(PGconn *db, const char *computer_id, const struct client_event *ev, size_t n,
                       size_t *stored);

#endif
