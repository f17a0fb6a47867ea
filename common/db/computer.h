/*
 * computer: the Windows computers that use this server's client web services (MS-WUSP), and
 * their target group membership (schema 007, tables computer and computer_group), the one owner
 * of their SQL. A computer row is created by RegisterComputer only, and bounded: one address
 * may introduce at most the setting max-new-computers-per-hour new ids per hour, and the
 * table never holds more than COMPUTER_MAX_ROWS rows (computers that never scanned are evicted
 * first, oldest contact first). A computer in no group is in "Unassigned Computers". It does
 * not speak SOAP.
 */
#ifndef WSUS_COMPUTER_H
#define WSUS_COMPUTER_H

#include <libpq-fe.h>
#include <stdint.h>

#define COMPUTER_GROUP_ALL        "a0a08746-4dbe-4a37-9adf-9e7652c0b421"
#define COMPUTER_GROUP_UNASSIGNED "b73ca6ed-5727-47f3-84de-015e03f6a88a"
/* Rows of the computer table at most; beyond (and nothing to evict): registration refused. */
#define COMPUTER_MAX_ROWS 500000
/* Longest text kept of each computerInfo field. */
#define COMPUTER_MAX_FIELD 255

/* What RegisterComputer tells about a computer (each field "" when not sent). */
struct computer_info {
    char name[COMPUTER_MAX_FIELD + 1];
    char os_version[64];
    char os_description[COMPUTER_MAX_FIELD + 1];
    char os_locale[64];
    char architecture[64];
    char manufacturer[COMPUTER_MAX_FIELD + 1];
    char model[COMPUTER_MAX_FIELD + 1];
    char client_version[64];
};

/*
 * The fields of in as COMPUTER_INFO_PARAMS query parameters into p, in the order of struct
 * computer_info (name, os_version, ... client_version); the strings stay in.
 */
#define COMPUTER_INFO_PARAMS 8
void computer_info_params(const struct computer_info *in, const char *p[COMPUTER_INFO_PARAMS]);

/* The id of the target group named name (case-insensitive): 1 found, 0 none, -1 error. */
int computer_group_by_name(PGconn *db, const char *name, char id[37]);

/*
 * RegisterComputer: create the computer (id is its client id) or update its row. group_id
 * (may be NULL) is the client-side target group: when set, the computer's membership becomes
 * exactly that group. 0 done; 1 refused because peer already introduced per_hour new ids in
 * the last hour or the table is full; -1 database error.
 */
int computer_register(PGconn *db, const char *id, const char *peer,
                      const struct computer_info *info, const char *group_id, long per_hour);

/*
 * A contact of a known computer (GetCookie): last_contact, and with group_id set, the
 * client-side membership as in computer_register. 1 when the computer exists, 0 when it does
 * not (nothing written), -1 on error.
 */
int computer_touch(PGconn *db, const char *id, const char *group_id);

/* The computer's sync anchor (see computer_synced): 1 registered (*anchor set), 0 not, -1 error. */
int computer_sync_anchor(PGconn *db, const char *id, int64_t *anchor);
/* A SyncUpdates answer was sent: last_sync, last_contact and the anchor it was computed at. */
int computer_synced(PGconn *db, const char *id, int64_t anchor);

/*
 * Set the membership of a computer to the one group group_id (an admin move); the anchor is
 * reset so the next scan sends every cached revision's deployment again. 1 done, 0 no such
 * computer, -1 error.
 */
int computer_move(PGconn *db, const char *id, const char *group_id);

/* One computer as the admin API lists it. Times are UTC ISO 8601, "" when never. */
struct computer_row {
    char id[37];
    char name[COMPUTER_MAX_FIELD + 1];
    char address[64];
    char os_version[64];
    char os_description[COMPUTER_MAX_FIELD + 1];
    char client_version[64];
    char first_contact[32];
    char last_contact[32];
    char registered[32];
    char last_sync[32];
    char groups[1024]; /* group names, ", "-separated ("Unassigned Computers" when none) */
    long downloaded, installed, failed; /* updates by the last event reported for each */
};

/*
 * Computers in name order (lower(name), then id), streamed to cb: all of them, those of
 * group_name (case-insensitive; NULL = any), or only the one id (NULL = any); of those, at most
 * limit (< 0: all) after skipping offset. cb returns 0 to go on. 0, or -1 on error.
 */
int computer_list(PGconn *db, const char *group_name, const char *id, long limit, long offset,
                  int (*cb)(void *arg, const struct computer_row *row), void *arg);
/* How many computers computer_list(db, group_name, NULL, -1, 0, ...) lists; -1 on error. */
long computer_count(PGconn *db, const char *group_name);
/* NAME (case-insensitive) or ID -> id: 1 found, 0 none, 2 more than one has that name, -1 error. */
int computer_find(PGconn *db, const char *name_or_id, char id[37]);
/* Forget a computer, its membership and its events: 1 done, 0 no such computer, -1 error. */
int computer_remove(PGconn *db, const char *id);

/* The status of one update on one computer, from the last event the computer reported for it
 * (162 downloaded, 161 and 182 failed, 183 installed; other events "reported"). */
struct computer_update_status {
    char update_id[37];
    char title[COMPUTER_MAX_FIELD + 1];
    char status[16];
    int event_id;
    int32_t hresult;
    char time[32];
};
int computer_update_statuses(PGconn *db, const char *id,
                             int (*cb)(void *arg, const struct computer_update_status *st),
                             void *arg);

#endif
