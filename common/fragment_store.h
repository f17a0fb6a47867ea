/*
 * fragment_store: the stored MS-WUSP fragments of each revision (schema 006, tables
 * revision_fragment_state and revision_fragment), the one owner of their SQL. Fragments are
 * derived (fragment.h) once per revision, when the catalog stores it (catalog_store_tx calls
 * fragment_store_add), and kept; fragment_store_missing derives them for revisions stored
 * before. A revision whose document cannot be derived gets a state row with the reason and no
 * fragments, and is not retried. Does not speak SOAP, decide what a client may see, or
 * produce Eula fragments.
 */
#ifndef WSUS_FRAGMENT_STORE_H
#define WSUS_FRAGMENT_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "fragment.h"

/* One revision to derive: its revision.id and its stored document. */
struct fragment_source {
    int64_t revision_id;
    const char *xml; /* the document, len bytes (need not be NUL-terminated) */
    size_t len;
    const char *update_id; /* for log lines; may be NULL */
    int revision_number;
};

/* What a call did (added to, never reset, so callers can accumulate). */
struct fragment_store_stats {
    long derived; /* revisions whose fragments were stored now */
    long failed;  /* revisions marked as not derivable now (each logged once) */
    long present; /* already derived before (or not a stored revision): left untouched */
};

enum fragment_store_kind { FRAGMENT_STORE_CORE, FRAGMENT_STORE_EXTENDED, FRAGMENT_STORE_LOCALIZED };

/*
 * Derive and store the fragments of n revisions, skipping those already derived (so it is
 * safe to call twice, and concurrently: a revision is derived by exactly one caller). Works
 * inside the caller's transaction (the fragments commit with it) or in autocommit. src is
 * borrowed. Returns 0 with *st updated (st may be NULL), or -1 with the server's message in err
 * (inside a transaction, the caller must then roll back). A document that cannot be derived is
 * not an error: it is logged, counted in failed and marked.
 */
int fragment_store_add(PGconn *conn, const struct fragment_source *src, size_t n,
                       struct fragment_store_stats *st, char *err, size_t errlen);

/*
 * Derive the fragments of every stored revision that has none yet (a catalog stored before
 * schema 006), in batches of bounded memory, each its own statement. 0 with *st updated (st
 * may be NULL), -1 with err. Must not be called while another query is running on conn.
 */
int fragment_store_missing(PGconn *conn, struct fragment_store_stats *st, char *err, size_t errlen);

/*
 * Load one stored fragment of revision_id. For FRAGMENT_STORE_LOCALIZED, language is the
 * client's locale (NULL: the fallback) and the choice is fragment_pick_language()'s: exact
 * (case-insensitive) else FRAGMENT_FALLBACK_LANGUAGE; used (may be NULL) gets the language
 * picked. Returns 1 with *xml (malloc'd, NUL-terminated, caller frees) and *len (may be NULL);
 * 0 when there is none (not derived, not derivable, or no such language); -1 on error.
 */
int fragment_store_get(PGconn *conn, int64_t revision_id, enum fragment_store_kind kind,
                       const char *language, char **xml, size_t *len,
                       char used[FRAGMENT_MAX_LANG_LEN + 1]);

#endif
