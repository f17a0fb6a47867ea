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
    long needing;       /* of them: needing one of the updates (CLIENT_REPORT_SQL_NEEDED) */
    long with_errors;   /* of them: with a failed install of one (CLIENT_REPORT_SQL_FAILED) */
    long up_to_date;    /* of them: reported, needing none, none failed */
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
 * The one rule of what a computer says of an update, over l (its last event of the update:
 * event_id, received_at), cs (its computer_status row) and us (its computer_update_status row
 * for the update): a later download/install event overrides its status event's verdict; a
 * computer with a status but no entry for the update: not_applicable; NULL = no verdict.
 */
#define CLIENT_REPORT_SQL_STATE_RULE                                                               \
    " CASE WHEN l.event_id IN (161, 162, 182, 183) AND (cs.reported_at IS NULL OR l.received_at >" \
    " cs.reported_at) THEN CASE WHEN l.event_id = 183 THEN 'installed' WHEN l.event_id = 162"      \
    " THEN 'downloaded' WHEN l.event_id IN (161, 182) THEN 'failed' END WHEN cs.computer_id IS"    \
    " NOT NULL THEN coalesce(us.state, 'not_applicable') END"

/*
 * The compliance rule, one text for `wsusctl report` and the reporting rollup's summary
 * (rollup_send.c), as SQL for the owner modules of common/db/ only.
 *
 * CLIENT_REPORT_SQL_STATES(filter): the CTEs after a CTE scope(id, last_contact, last_sync)
 * of the computers counted, in a WITH RECURSIVE: need(cid, update_id), each update approved
 * for install (action 0) for one of the computer's groups or their parents (the nearest
 * group's approval wins, as client_scan decides; Unassigned Computers for one in no group),
 * not declined, and matching filter (an SQL condition on dep.update_id); st(cid, update_id,
 * verdict, state): verdict = the computer sent a status event (156); state = the state of a
 * later download/install event of the update (162 downloaded, 183 installed, 161/182 failed)
 * or else its status's ('needed', 'downloaded', 'failed', 'installed', 'pending_reboot',
 * 'not_applicable' when its status does not list it), NULL when it has neither.
 */
#define CLIENT_REPORT_SQL_STATES(filter)                                                           \
    "mine(cid, gid) AS (SELECT s.id, g.group_id FROM scope s JOIN computer_group g ON"             \
    " g.computer_id = s.id UNION ALL SELECT s.id, 'b73ca6ed-5727-47f3-84de-015e03f6a88a'::uuid"    \
    " FROM scope s WHERE NOT EXISTS (SELECT 1 FROM computer_group g WHERE g.computer_id ="         \
    " s.id)), chain(cid, gid, depth) AS (SELECT cid, gid, 0 FROM mine UNION SELECT c.cid,"         \
    " t.parent_id, c.depth + 1 FROM chain c JOIN target_group t ON t.id = c.gid WHERE c.depth"     \
    " < 32 AND t.parent_id IS NOT NULL), dep AS (SELECT DISTINCT ON (c.cid, d.update_id) c.cid,"   \
    " d.update_id, d.action FROM deployment d JOIN chain c ON c.gid = d.target_group_id WHERE"     \
    " NOT d.dead ORDER BY c.cid, d.update_id, c.depth, d.action = 3, d.action, d.change_seq"       \
    " DESC), need AS (SELECT dep.cid, dep.update_id FROM dep WHERE dep.action = 0 AND NOT"         \
    " EXISTS (SELECT 1 FROM declined_update x WHERE x.update_id = dep.update_id) AND (" filter     \
    ")), last AS (SELECT DISTINCT ON (e.computer_id, e.update_id) e.computer_id, e.update_id,"     \
    " e.event_id, e.received_at FROM client_event e JOIN need n ON n.cid = e.computer_id AND"      \
    " n.update_id = e.update_id WHERE e.event_id IN (161, 162, 182, 183) ORDER BY e.computer_id, " \
    "e.update_id, e.id DESC), st AS (SELECT"                                                       \
    " n.cid, n.update_id, cs.computer_id IS NOT NULL AS verdict," CLIENT_REPORT_SQL_STATE_RULE     \
    " AS state FROM need n LEFT JOIN last l ON l.computer_id = n.cid AND"                          \
    " l.update_id = n.update_id LEFT JOIN computer_status cs ON cs.computer_id = n.cid LEFT"       \
    " JOIN computer_update_status us ON us.computer_id = n.cid AND us.update_id = n.update_id)"

/* A row of st needs its update: its status says needed or downloaded (not installed yet), or
   the computer never sent a status and no event says otherwise (needed inferred). */
#define CLIENT_REPORT_SQL_NEEDED                                                                   \
    "(st.state IN ('needed', 'downloaded') OR (st.state IS NULL AND NOT st.verdict))"

/* A row of st failed: the install failed (status or a later 161/182 event). */
#define CLIENT_REPORT_SQL_FAILED "(st.state = 'failed')"

/* After CLIENT_REPORT_SQL_STATES: pc(id, last_contact, last_sync, needs, errs, reported), one
   row per computer of scope: needs one of its updates, has a failed one, has reported (it
   scanned, or sent a status event). */
#define CLIENT_REPORT_SQL_PER_COMPUTER                                                             \
    "pc AS (SELECT s.id, s.last_contact, s.last_sync, coalesce(bool_or(" CLIENT_REPORT_SQL_NEEDED  \
    "), false) AS needs, coalesce(bool_or(" CLIENT_REPORT_SQL_FAILED "), false) AS errs,"          \
    " s.last_sync IS NOT NULL OR EXISTS (SELECT 1 FROM computer_status x WHERE x.computer_id ="    \
    " s.id) AS reported FROM scope s LEFT JOIN st ON st.cid = s.id GROUP BY s.id,"                 \
    " s.last_contact, s.last_sync)"

/* Over pc: three columns, the computers needing updates, those with update errors (a failed
   install), those up to date (reported, needing none, none failed). */
#define CLIENT_REPORT_SQL_COMPUTER_COUNTS                                                          \
    "count(*) FILTER (WHERE needs), count(*) FILTER (WHERE errs), count(*) FILTER (WHERE"          \
    " reported AND NOT needs AND NOT errs)"

/*
 * CLIENT_REPORT_SQL_ROLLUP_STATES(ids): the CTEs (after WITH) giving m(cid, uid, state,
 * changed) for the computers ids (an SQL uuid[] expression): each update a computer's status
 * event (156) lists or a download/install event (161, 162, 182, 183) names, with the state
 * of the later of the two as an enum client_rollup_state value and when it was received.
 */
#define CLIENT_REPORT_SQL_ROLLUP_STATES(ids)                                                       \
    "ev AS (SELECT DISTINCT ON (e.computer_id, e.update_id) e.computer_id, e.update_id,"           \
    " e.event_id, e.received_at FROM client_event e WHERE e.computer_id = ANY(" ids ") AND"        \
    " e.event_id IN (161, 162, 182, 183) AND e.update_id IS NOT NULL ORDER BY e.computer_id,"      \
    " e.update_id, e.id DESC), st AS (SELECT u.computer_id, u.update_id, u.state,"                 \
    " s.reported_at FROM computer_update_status u JOIN computer_status s USING (computer_id)"      \
    " WHERE u.computer_id = ANY(" ids ")), m AS (SELECT coalesce(st.computer_id,"                  \
    " ev.computer_id) AS cid, coalesce(st.update_id, ev.update_id) AS uid, CASE WHEN"              \
    " ev.event_id IS NOT NULL AND (st.reported_at IS NULL OR ev.received_at > st.reported_at)"     \
    " THEN CASE ev.event_id WHEN 183 THEN 4 WHEN 162 THEN 3 ELSE 5 END ELSE CASE st.state WHEN"    \
    " 'needed' THEN 2 WHEN 'downloaded' THEN 3 WHEN 'failed' THEN 5 WHEN 'installed' THEN 4"       \
    " ELSE 6 END END AS state, CASE WHEN ev.event_id IS NOT NULL AND (st.reported_at IS NULL"      \
    " OR ev.received_at > st.reported_at) THEN ev.received_at ELSE st.reported_at END AS"          \
    " changed FROM st FULL JOIN ev ON ev.computer_id = st.computer_id AND ev.update_id ="          \
    " st.update_id)"

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
