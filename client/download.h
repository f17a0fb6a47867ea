/*
 * download: the content phase of a sync. Picks the files this server needs (download policy
 * "approved": files of updates with an Install approval, directly or through a bundle;
 * "all": every file of the catalog; "none": nothing; plus files a downstream asked for with
 * DownloadFiles, state 'queued'), fetches several at once (curl multi) from the upstream's
 * /Content/XX/HEX.ext (or the MU URL when the upstream is metadata-only), resumes partial
 * files with Range, verifies size/SHA-1/SHA-256 and publishes atomically (content_store.h),
 * then marks the file 'present'. A 404 means the upstream does not have the file: it is
 * asked for with DownloadFiles and retried on the next sync; when DownloadFiles answers
 * FileDigestsMissing the file is gone upstream (state failed, CATALOG_FILE_GONE) rather than
 * on its way (state absent, CATALOG_FILE_PENDING). An upstream or proxy that
 * answers 200 to a Range request is detected, reported in plain words, and the file is then
 * downloaded whole (range-fallback auto; "always" never sends Range, "never" fails the file
 * instead). It does not touch metadata.
 */
#ifndef WSUS_DOWNLOAD_H
#define WSUS_DOWNLOAD_H

#include "attr.h"
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "content_store.h"
#include "uss.h"

struct download_stats {
    long files_total;   /* files selected at the start */
    long files_done;    /* published */
    long files_failed;  /* verification failures and errors */
    long files_missing; /* 404 upstream, and it knows them: requested with DownloadFiles */
    long files_gone;    /* 404 upstream, and it does not know them (FileDigestsMissing) */
    int64_t bytes_total;
    int64_t bytes_done;    /* bytes received this run */
    int64_t bytes_resumed; /* bytes that were already in partial files */
    int64_t bytes_present; /* bytes of files found published already (by a run that lost the
                              catalog before recording them): nothing fetched */
    int range_ignored;     /* the upstream/proxy answered 200 to a Range request */
    int cancelled;         /* *cancel stopped the run (partials kept) */
    int db_lost;           /* the catalog connection was lost: the run stopped (see download_run) */
    char first_error[512];
};

/* The range-fallback setting: what to do about paths that ignore HTTP Range. */
enum download_range {
    DOWNLOAD_RANGE_AUTO,   /* resume with Range; a 200 to it restarts the file whole */
    DOWNLOAD_RANGE_ALWAYS, /* never send Range: partial files restart at 0 */
    DOWNLOAD_RANGE_NEVER   /* resume with Range; a 200 to it fails the file (partial kept) */
};
/* "auto" | "always" | "never" (the setting's values); anything else, NULL too, is auto. */
enum download_range download_range_parse(const char *setting);

struct download_options {
    const char *policy;        /* "approved" | "all" | "none" */
    int catalog_only;          /* upstream CatalogOnlySync: fetch MU URLs instead */
    int parallel;              /* transfers at once (default 4) */
    int64_t max_rate;          /* bytes/s over all transfers, 0 = unlimited */
    enum download_range range; /* range-fallback (default auto) */
    const atomic_int *cancel;  /* polled; may be NULL. Partial files are kept on cancel. */
    /* Called about once a second with the running totals (may be NULL). */
    void (*progress)(void *arg, const struct download_stats *st);
    void *arg;
};

/*
 * Download what is needed. db is used for the file list and state updates (not inside a
 * transaction). 0 when every selected file is present or waits for the upstream (404),
 * -1 when some failed (st->first_error says the first reason) or on cancel.
 *
 * When db is lost (a PostgreSQL restart) the run stops at once with st->db_lost set (partial
 * files stay for the resume), waits up to DOWNLOAD_DB_WAIT_S for db to come back (it is then
 * a NEW session: session advisory locks are gone) and records the files it published in the
 * meantime. Whatever could not be recorded is found on the next run: a selected file that is
 * already published and verifies is recorded present without a download.
 */
#define DOWNLOAD_DB_WAIT_S 30
/*
 * The URL a file is fetched from on the upstream u: <content url>/Content/XX/HEX.ext, XX the
 * last byte of the SHA-1, ext from name (content_store_ext()). 0, or -1 when it does not fit
 * in len bytes (url is then "").
 */
int download_file_url(const struct uss *u, const unsigned char sha1[20], const char *name,
                      char *url, size_t len) WSUS_MUST_USE;
int download_run(PGconn *db, struct uss *u, struct content_store *cs,
                 const struct download_options *o, struct download_stats *st);

#endif
