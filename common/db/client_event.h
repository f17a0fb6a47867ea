/*
 * client_event: the events Windows computers report with ReportEventBatch (MS-WUSP 2.2.2.3.1),
 * schema 006 table client_event, and what their status events (EventID 156) say about each
 * update, schema 009 tables computer_status and computer_update_status: the one owner of
 * their writes. Events are kept per computer (at
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

/* The status event (AGENT_STATUS_30) and its bound: update ids kept of one status event. */
#define CLIENT_STATUS_EVENT   156
#define CLIENT_STATUS_MAX_IDS 20000

/* A computer's own verdict on an update (MiscData tags of MS-WUSP 2.2.2.3.1), weakest first: an
 * update listed under several tags keeps the strongest. */
enum client_state {
    CLIENT_STATE_NEEDED = 1,     /* U InstallableUpdateIDs */
    CLIENT_STATE_DOWNLOADED,     /* h DownloadedUpdateIDs */
    CLIENT_STATE_FAILED,         /* g FailedUpdateIDs */
    CLIENT_STATE_PENDING_REBOOT, /* W InstalledPendingRebootIDs */
    CLIENT_STATE_INSTALLED,      /* V InstalledUpdateIDs */
};
/* "needed", "downloaded", "failed", "pending_reboot", "installed" (as stored), or NULL. */
const char *client_state_name(int state);

struct client_status_entry {
    char update_id[37];
    int state; /* enum client_state */
};

/* The update lists of one status event. */
struct client_status {
    char instance_id[37]; /* its EventInstanceID */
    struct client_status_entry *e;
    size_t n, cap;
    size_t dropped; /* ids over CLIENT_STATUS_MAX_IDS, and ids that are not GUIDs */
};

void client_status_init(struct client_status *st);
void client_status_free(struct client_status *st);
/*
 * One MiscData string of a status event: "U=id;id;..." (also V, W, g, h; ids are GUIDs, in any
 * case, blanks around them ignored, the all-zero id skipped) adds its ids with that state; any
 * other tag is ignored. Pure, bounded: at most CLIENT_STATUS_MAX_IDS ids in all, the rest
 * counted in dropped. Returns 1 when misc was a status tag, else 0.
 */
int client_status_add(struct client_status *st, const char *misc);
/* Sort by update id and keep one entry per update, the strongest state. */
void client_status_finish(struct client_status *st);

/*
 * Replace computer_id's status (which must be a computer row) with st (finished) in one
 * transaction: its update list is exactly st's afterwards. 0, or -1 on a database error
 * (the previous status kept).
 */
int client_status_store(PGconn *db, const char *computer_id, const struct client_status *st);

#endif
