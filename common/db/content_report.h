/*
 * content_report: what the catalog's file table says about the content store, for
 * `wsusctl content` and `wsusctl movecontent`: files and bytes by state, what approved updates
 * still need downloaded, and the list of stored files with their digests. Read only; the
 * states are written by the downloader, import and reset. All SQL of these reports is here.
 */
#ifndef WSUS_CONTENT_REPORT_H
#define WSUS_CONTENT_REPORT_H

#include <libpq-fe.h>

/* Files and bytes by state (absent, queued, present, failed, quarantined). Columns: state,
 * files, bytes (unknown sizes count 0). NULL on a database error (logged). */
PGresult *content_report_states(PGconn *db);

/*
 * Files not stored yet that approved updates need (the files of the approved revision and of
 * its bundled updates). Columns: files, bytes. NULL on a database error (logged).
 */
PGresult *content_report_pending(PGconn *db);

/*
 * The files the catalog lists as stored (state 'present'), in SHA-1 order. Columns: sha1 hex,
 * sha256 hex (NULL when unknown), size (NULL when unknown), file_name. NULL on a database
 * error (logged).
 */
PGresult *content_report_stored_files(PGconn *db);

#endif
