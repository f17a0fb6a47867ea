/*
 * sync_query: the catalog reads of the Server Sync web service (MS-WSUSSS, the upstream side:
 * server/sync/svc_sync.c). Revision id lists and the deployment lists are declared as server-side
 * cursors in one read-only repeatable-read snapshot, for the caller to stream and close
 * (COMMIT); GetUpdateData's rows (revision ids of identities, their files, one revision's XML).
 * Tables read: revision, revision_prerequisite, revision_bundle, revision_file, file,
 * target_group, deployment, declined_update, accepted_eula, language; it writes none (their
 * owners: catalog, approvals, group, file_state, settings). Lists arrive as PostgreSQL array
 * literals built from parsed GUIDs, numbers and booleans; peer data never reaches SQL text.
 * All SQL of these reads is here; the SOAP answers are built in server/soap_catalog.c.
 */
#ifndef WSUS_SYNC_QUERY_H
#define WSUS_SYNC_QUERY_H

#include <libpq-fe.h>
#include <stdint.h>

/* What GetRevisionIdList asked for, as query parameters. */
struct sync_query_revisions {
    int get_config;              /* 1: categories and detectoids; the rest is unused */
    const char *anchor;          /* decimal change number; NULL: no anchor (everything) */
    const char *category_ids;    /* uuid[] literal "{g1,g2}" ("{}" when none) */
    const char *category_deltas; /* boolean[] literal "{t,f}", same order (with an anchor) */
    const char *classification_ids;
    const char *classification_deltas;
    int nofilter;      /* 1: no categories and no classifications: every update revision */
    int forced;        /* 1: some id has Delta = false (with an anchor) */
    const char *lcids; /* int[] literal of the Languages filter; NULL: every language */
};

/*
 * Begin a read-only repeatable-read transaction (JIT off: the recursive CTEs' row estimates
 * are far too high) and declare cursor "revs" (update_id text, revision_number) over the
 * revisions q selects (MS-WSUSSS 3.1.4.5, WSUSSS-NOTES 4.5, 4.7; see soapcat_open_revisions).
 * 0, or -1 (logged; the transaction is rolled back).
 */
int sync_query_open_revisions(PGconn *db, const struct sync_query_revisions *q);

/*
 * Begin the transaction and declare cursors "grp", "dep", "dead", "hid", "eula" for
 * GetDeployments: every target group (id, parent id or the zero GUID, name, is_builtin);
 * deployments changed in (dep_anchor, sync_seq] (all live ones up to sync_seq without
 * dep_anchor; columns: update_id, revision_number, action, admin_name, deadline, is_assigned,
 * go_live_time, deployment_guid, target_group_id, download_priority); the deployment_guid of
 * those that died in that window; every declined update id; every accepted EULA id.
 * 0, or -1 (rolled back).
 */
int sync_query_open_deployments(PGconn *db, int has_dep_anchor, int64_t dep_anchor,
                                int64_t sync_seq);

/*
 * GetUpdateData rows; the caller owns each result (PQclear), NULL on a database error
 * (logged). Each is retried once on a connection found lost outside a transaction.
 *
 * sync_query_revision_ids: for identities (update_ids: uuid[] literal, revisions: int[]
 * literal, same order) one row each in request order: revision id (NULL when not held),
 * update_id text, revision number.
 */
PGresult *sync_query_revision_ids(PGconn *db, const char *update_ids, const char *revisions);
/*
 * The files of revisions ids (a bigint[] literal), each (revision, digest) once, by revision
 * then digest. Columns: revision id text, sha1 (bytea text form), mu_url, revision id.
 */
PGresult *sync_query_revision_files(PGconn *db, const char *ids);
/*
 * The documents of revisions ids (a bigint[] literal, duplicates allowed) in one query, in
 * array order: columns position in the array (1-based), xml (NULL when a cabinet is stored),
 * xml_cab (NULL when the XML is stored as text). A revision not held has no row. Rows stop
 * after the first one whose earlier rows' stored sizes (the xml or the cabinet sent) reach
 * budget bytes, so an answer bounded by budget never reads more than about budget plus one
 * document (budget > 0: the first row is always there when held).
 */
PGresult *sync_query_revision_docs(PGconn *db, const char *ids, size_t budget);

#endif
