/*
 * catalog: the write path of the update catalog (revision rows with their XML verbatim, texts,
 * prerequisites, bundles, supersedence, files) and a few read helpers (one revision's XML,
 * all revisions in storage order for export). Writes are idempotent: a revision whose
 * (update_id, revision_number) is already stored is left untouched, children included.
 * Batches go through COPY into a session-temporary staging table and one INSERT ... ON
 * CONFLICT DO NOTHING, so thousands of revisions per second fit. New revisions get their
 * MS-WUSP client fragments in the same commit (fragment_store.h). Does not decide what to
 * sync or approve, and never deletes.
 */
#ifndef WSUS_CATALOG_H
#define WSUS_CATALOG_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "update.h"

/* What one store call did (added to, never reset, so callers can accumulate). */
struct catalog_stats {
    long new_revisions;     /* inserted */
    long present_revisions; /* already stored (or repeated within the batch): untouched */
    long new_categories;    /* of the inserted: UpdateType Category */
    long new_detectoids;    /* of the inserted: UpdateType Detectoid */
    long new_updates;       /* of the inserted: anything else (Software, Driver) */
    long new_files;         /* file rows inserted */
};

/*
 * Store n parsed revisions (u[i] from update_parse; NULL entries are skipped) in ONE
 * transaction of its own. Returns 0 with *st updated (st may be NULL), or -1 with the
 * server's message in err and nothing stored. Must not be called inside a transaction.
 */
int catalog_store(PGconn *conn, struct update *const *u, size_t n, struct catalog_stats *st,
                  char *err, size_t errlen);

/*
 * The same inside the caller's open transaction (so a sync can write its anchor in the same
 * commit). On -1 the transaction is aborted and the caller must roll back.
 */
int catalog_store_tx(PGconn *conn, struct update *const *u, size_t n, struct catalog_stats *st,
                     char *err, size_t errlen);

/*
 * Load the stored XML of (update_id, revision_number). 1 with *xml (malloc'd,
 * NUL-terminated, caller frees) and *len (may be NULL); 0 when not stored; -1 on error.
 */
int catalog_get_xml(PGconn *conn, const char *update_id, int revision_number, char **xml,
                    size_t *len);

struct catalog_file {
    unsigned char sha1[20];
    unsigned char sha256[32];
    int has_sha256;
    int64_t size;          /* -1 unknown */
    const char *file_name; /* valid during the callback */
    const char *modified;  /* NULL when unknown */
    const char *mu_url;    /* NULL when unknown */
};

struct catalog_revision {
    const char *update_id; /* lower case */
    int revision_number;
    const char *update_type;
    const char *xml; /* verbatim, valid during the callback */
    size_t xml_len;
    const struct catalog_file *files;
    size_t n_files;
};

/*
 * Call cb for every stored revision in storage order (revision.id), streaming (memory is
 * bounded by one row). cb returns 0 to go on, -1 to stop (then this returns -1 with err
 * untouched, so cb should say why). 0 when all rows were visited; -1 with err otherwise.
 * The connection must not be used by cb.
 */
int catalog_foreach_revision(PGconn *conn, int (*cb)(void *arg, const struct catalog_revision *r),
                             void *arg, char *err, size_t errlen);

/*
 * Mark a file as published in (or missing from) the content store: state is one of absent,
 * queued, present, failed, quarantined; detail may be NULL. 0, or -1 (unknown file is not an
 * error: 0).
 */
int catalog_file_set_state(PGconn *conn, const unsigned char sha1[20], const char *state,
                           const char *detail);

/* file.state_detail of a 404 file the upstream does not know (DownloadFiles answered
 * FileDigestsMissing: the update was removed there), with state failed; and of one it knows
 * but has not downloaded yet (asked for with DownloadFiles), with state absent. */
#define CATALOG_FILE_GONE                                                                          \
    "gone upstream: the upstream no longer has this file (DownloadFiles answered "                 \
    "FileDigestsMissing)"
#define CATALOG_FILE_PENDING                                                                       \
    "not on the upstream yet; asked it to download the file (DownloadFiles)"

/* Why a file of catalog_failed_updates() is listed ("gone", "pending", "failed"). */
#define CATALOG_WHY_GONE    "gone"
#define CATALOG_WHY_PENDING "pending"
#define CATALOG_WHY_FAILED  "failed"

/*
 * SQL for the owner modules of common/db/: the updates a set of files belongs to, as the red-X
 * list counts them. files is a FROM item aliased b with a sha1 column (e.g. "(SELECT ... FROM
 * file f WHERE ...)"); each row of it once per revision holding the file, with b's columns,
 * uid and rev: the update an admin approves or declines (the bundle for a file of a bundled
 * update) and its revision number, and lang_ok: that revision is for a language enabled here.
 */
#define CATALOG_SQL_FILE_UPDATES(files)                                                            \
    "SELECT b.*, coalesce(t.update_id, r.update_id) AS uid, coalesce(t.revision_number,"           \
    " r.revision_number) AS rev, " CATALOG_SQL_R_LANG_OK " AS lang_ok FROM " files " b JOIN"       \
    " revision_file rf ON rf.sha1 = b.sha1 JOIN revision r ON r.id = rf.revision_id LEFT JOIN"     \
    " revision_bundle rb ON rb.member_update_id = r.update_id AND rb.member_revision_number ="     \
    " r.revision_number LEFT JOIN revision t ON t.id = rb.revision_id"
/* The revision aliased r is for a language enabled here (CATALOG_SQL_LANG_APPLIES). */
#define CATALOG_SQL_R_LANG_OK CATALOG_SQL_LANG_APPLIES("r")

/*
 * The "red X" list: updates that are not declined and have a file that failed, that the
 * upstream no longer has, or that it has not downloaded yet; a file of a bundled update is
 * listed under the bundle (what the admin approved and can decline). One JSON object per
 * update, by title: {"update_id", "revision", "title", "why" (the worst of its files: gone,
 * failed, pending), "remedy" (one line), "missing": [{"file", "sha1", "why", "detail"}]}.
 * why_only (NULL = all) keeps only files of that why. At most limit updates. New reference,
 * or NULL on a database error.
 */
json_t *catalog_failed_updates(PGconn *conn, const char *why_only, long limit);

/*
 * Categories of one kind ("product": Product, ProductFamily and Company; "classification":
 * UpdateClassification), latest revision of each, by title: [{"id", "title", "type"}]. New
 * reference, or NULL on a database error.
 */
json_t *catalog_categories(PGconn *conn, const char *kind);

/*
 * Turn a comma-separated list of category GUIDs and/or titles of one kind (see
 * catalog_categories) into GUIDs: a GUID stays as it is (settings.c checks it), a title is
 * matched case-insensitively against the titles of that kind. *out gets the GUID list
 * (malloc'd). 0; or -1 with one line in err naming the key, the name and the candidates (the
 * matching ids of an ambiguous name, similar titles of an unknown one).
 */
int catalog_category_resolve(PGconn *conn, const char *key, const char *kind, const char *list,
                             char **out, char *err, size_t errlen);

/*
 * "\"Title\" (GUID), ..." for a comma-separated GUID list (the GUID alone when the catalog
 * does not know it). malloc'd, never NULL.
 */
char *catalog_category_names(PGconn *conn, const char *list);

/*
 * Of the comma-separated category GUIDs ours, those that are neither in theirs nor below one
 * of theirs (a product under a selected product family), as a comma-separated list
 * (malloc'd; "" when all are covered); NULL on a database error.
 */
char *catalog_categories_outside(PGconn *conn, const char *ours, const char *theirs);

/*
 * One file of the catalog to probe the upstream's content path with (wsusctl checkhealth):
 * preferably one this server downloaded (state present: the upstream had it), else any file,
 * of at least 2 bytes. sha1 gets its digest, name its file name (cut to namelen), *size its
 * size. 1, 0 when the catalog lists no file, -1 on a database error.
 */
int catalog_file_sample(PGconn *conn, unsigned char sha1[20], char *name, size_t namelen,
                        int64_t *size);

/*
 * SQL condition: the revision row r (an alias) applies to the languages enabled here (the
 * language table): it is language neutral, or one of its languages (schema 007) is enabled.
 * For the queries that select what to download or count.
 */
#define CATALOG_SQL_LANG_APPLIES(r)                                                                \
    "(" r ".languages = '{}' OR EXISTS (SELECT 1 FROM language lg WHERE lg.enabled"                \
    " AND lg.short_name = ANY(" r ".languages)))"

/* Number of stored revisions, -1 on error. */
long catalog_count_revisions(PGconn *conn);

/*
 * The database clock now (timestamptz as text) into buf, for catalog_count_known() of a run
 * that starts: 0, or -1 (buf is then "").
 */
int catalog_clock(PGconn *conn, char *buf, size_t len);

/*
 * Of the n revisions u[i] (NULL entries skipped) about to be stored, how many belong to an
 * update id that had a revision stored before `since` (a catalog_clock() value; NULL = ever)
 * (*known: a new revision of an update this server had) and how many do not (*unknown: new
 * to this server, even when another revision of the same update arrived since then, as in a
 * first sync that fetches several revisions of one update). 0, or -1 on a database error.
 */
int catalog_count_known(PGconn *conn, struct update *const *u, size_t n, const char *since,
                        long *known, long *unknown);

/*
 * The license an update names (EulaID on its Properties, stored in the revision's XML).
 * catalog_eula_of: of revision row revision_id (decimal text); catalog_eula_find: which update
 * names license eula_id (a canonical lower-case GUID). Both write a lower-case GUID into
 * out[37]: 1 when found, 0 when not, -1 on a database error. catalog_eula_find reads every
 * document that names a license (an admin's check, not a serve-path query).
 */
int catalog_eula_of(PGconn *conn, const char *revision_id, char out[37]);
int catalog_eula_find(PGconn *conn, const char *eula_id, char out[37]);

/*
 * Number of active approvals: deployment rows that are not dead and approve (install,
 * uninstall, block; not Scan) of updates that apply to a language enabled here (neutral ones
 * always; the revision's languages, schema 007). With every_live (a replica: it copies every
 * live deployment of its upstream) all of them are counted, so approvals the replica keeps for
 * a language its upstream dropped show as a difference from the upstream's figure until
 * removeinactiveapprovals; once consistent both print the same figure. -1 on error.
 */
long catalog_count_active_approvals(PGconn *conn, int every_live);

/*
 * Inactive approvals (wsusutil listinactiveapprovals): live, approving deployments (not Scan)
 * whose revision is specific only to languages that are not enabled here (the language table)
 * or, when carried is not NULL (a replica: hier_upstream_languages()), not among the
 * comma-separated languages the upstream carries. By title: [{"update_id", "revision",
 * "title", "group_id", "group", "action", "languages" ("de,fr"), "deployment_guid", "why"
 * (one line naming the languages and upstream_url)}]. At most 100000. New reference, or NULL
 * on a database error.
 */
json_t *catalog_inactive_approvals(PGconn *conn, const char *carried, const char *upstream_url);

/*
 * removeinactiveapprovals: catalog_inactive_approvals(), then each of them marked dead with
 * approvals_kill_deployments(). The list removed, or NULL on a database error (the caller
 * rolls back its transaction).
 */
json_t *catalog_remove_inactive_approvals(PGconn *conn, const char *carried,
                                          const char *upstream_url);

/*
 * Refresh the planner statistics of the catalog tables after a big write (import, first sync),
 * so the serve-path queries keep their index plans without waiting for autovacuum. 0 or -1.
 */
int catalog_analyze(PGconn *conn);

/*
 * The content lookup of the serve path: the file row of digest sha1 (20 raw bytes) when its
 * state is 'present'. Columns: file_name, size (may be NULL); 0 rows when not known or not
 * present. Runs as a prepared statement (prepared on first use on conn, again after a
 * reconnect). The caller owns the result (PQclear); NULL on a database error (logged).
 */
PGresult *catalog_file_present(PGconn *conn, const unsigned char sha1[20]);

/*
 * wsusctl reset: every file row in state 'present', by sha1. Columns: sha1 and sha256 as hex
 * (sha256 may be NULL), size (may be NULL), file_name. The caller owns the result (PQclear);
 * NULL on a database error (logged).
 */
PGresult *catalog_files_present(PGconn *conn);
/*
 * Set the state of file sha1_hex (40 hex digits) to state with state_detail detail (NULL =
 * none) and forget its stored_at (a file found missing or corrupt). 0, or -1 on a database
 * error (logged).
 */
int catalog_file_mark_unstored(PGconn *conn, const char *sha1_hex, const char *state,
                               const char *detail);
/* Every quarantined file queued again for download by the next synchronization. 0 or -1. */
int catalog_files_requeue_quarantined(PGconn *conn);

/*
 * The sync engine's catalog lookups (client/sync.c). The caller owns each result (PQclear);
 * NULL on a database error (logged; db_errmsg tells which).
 *
 * catalog_revisions_absent: which of the identities (update_ids: a uuid[] literal
 * "{g1,g2}", revisions: the int[] literal of their revision numbers, same order) are not
 * stored, each once. Columns: update_id, revision_number.
 */
PGresult *catalog_revisions_absent(PGconn *conn, const char *update_ids, const char *revisions);
/* The title of a stored revision that bundles update_id revision (0 or 1 row, one column). */
PGresult *catalog_bundle_title(PGconn *conn, const char *update_id, const char *revision);
/*
 * Bundle members that stored revisions list but the catalog does not hold (at most 100,000
 * rows). Columns: member update_id, member revision_number.
 */
PGresult *catalog_bundle_members_absent(PGconn *conn);

#endif
