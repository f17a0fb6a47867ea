/*
 * file_state: the downloader's reads of the file table (which files to fetch, under each
 * download policy, and how many) and its one batch write: the files a publication batch made
 * durable, recorded present together. Other state changes stay with catalog_file_set_state().
 * It downloads nothing and holds no policy of its own beyond choosing the rows.
 */
#ifndef WSUS_FILE_STATE_H
#define WSUS_FILE_STATE_H

#include <libpq-fe.h>
#include <stdint.h>

/* Most rows one file_state_wanted_page() returns. */
#define FILE_STATE_PAGE 500

/*
 * The next page (at most FILE_STATE_PAGE rows, by SHA-1) of files to download under policy
 * ("all": every absent, queued or failed file of a revision for a language enabled here, or of
 * no revision; "approved": queued ones and those of live install approvals and their bundled
 * updates; anything else: queued ones only), after the SHA-1 after (bytea text form, "\\x" for
 * the first page). Columns: sha1, sha256 (bytea text form), size, file_name, mu_url. NULL on a
 * database error (logged); the caller PQclear()s the result.
 */
PGresult *file_state_wanted_page(PGconn *db, const char *policy, const char *after);

/*
 * Number and total size of every file file_state_wanted_page() would return for policy,
 * into *files and *bytes (left alone on failure). 0, or -1 on a database error.
 */
int file_state_wanted_totals(PGconn *db, const char *policy, long *files, int64_t *bytes);

/*
 * DownloadFiles from a downstream: in one transaction, queue (state 'queued', a detail
 * saying who asked) every file of the n digests that is absent or failed, and return the
 * 1-based positions in digests of those the catalog does not know, ascending (one column). The
 * caller owns the result (PQclear); NULL on a database error (logged; rolled back).
 */
PGresult *file_state_queue_requested(PGconn *db, const unsigned char (*digests)[20], size_t n);

/*
 * Record the n files of digests as present (state 'present', no detail, stored_at now) in one
 * statement: the publications of a batch cost one commit, not one a file. The caller has made
 * every one of them durable under its published name first. 0, or -1 on a database error
 * (logged; nothing recorded).
 */
int file_state_mark_present(PGconn *db, const unsigned char (*digests)[20], size_t n);

#endif
