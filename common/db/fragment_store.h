/*
 * fragment_store: the stored MS-WUSP fragments of each revision (schema 006, tables
 * revision_fragment_state and revision_fragment), the one owner of their SQL. Fragments are
 * derived (fragment.h) once per revision, when the catalog stores it (catalog_store_tx calls
 * fragment_store_add_new: COPY), and kept; fragment_store_missing derives them for revisions
 * stored before (fragment_store_add: checked, safe against concurrent callers). A revision whose
 * document cannot be derived gets a state row with the reason and no fragments, and is not retried.
 * Eula fragments are not stored: fragment_store_eula derives them when asked, from the stored
 * documents that name an EulaFile. Does not speak SOAP or decide what a client may see.
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
    /* fragment_store_add_new: its fragments, already derived from xml (update_parse_derive),
     * borrowed; NULL = derive them here */
    const struct fragment_set *set;
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
 * The same for revisions the caller's open transaction has just inserted (catalog_store_tx):
 * nobody else can have derived them, so the rows go in with COPY, without the "already
 * derived" check of fragment_store_add (a revision derived before makes the COPY fail with a
 * duplicate key), and without checking that the revision rows exist (schema 015: no foreign
 * key): pass only ids this transaction inserted. Same results, same stats, same failed-document
 * handling.
 */
int fragment_store_add_new(PGconn *conn, const struct fragment_source *src, size_t n,
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

/* Bounds of one fragment_store_fetch call. */
#define FRAGMENT_STORE_MAX_IDS       10000
#define FRAGMENT_STORE_MAX_LANGUAGES 64

/*
 * The stored fragments of kind for n revision ids (what SyncUpdates and GetExtendedUpdateInfo
 * send), streamed to cb one row at a time, ordered by revision id then language. For
 * FRAGMENT_STORE_LOCALIZED, every fragment whose language is one of the n_lang requested
 * (case-insensitive) or FRAGMENT_FALLBACK_LANGUAGE, each once: the EN fragment always comes,
 * as MS-WUSP asks of a server; requested names that are not language names are ignored.
 * Revisions without fragments are skipped (the caller sees which ids never came). cb gets
 * strings valid during the call and returns 0 to go on, -1 to stop (then this returns -1 with
 * err untouched). 0 when done; -1 with err on error or on more than FRAGMENT_STORE_MAX_IDS ids
 * or FRAGMENT_STORE_MAX_LANGUAGES languages. conn must not be used by cb.
 */
int fragment_store_fetch(PGconn *conn, const int64_t *ids, size_t n, enum fragment_store_kind kind,
                         const char *const *languages, size_t n_lang,
                         int (*cb)(void *arg, int64_t revision_id, const char *language,
                                   const char *xml, size_t len),
                         void *arg, char *err, size_t errlen);

/* Bounds of one fragment_store_eula call: revisions, and document bytes parsed in all. */
#define FRAGMENT_STORE_EULA_MAX_IDS   64
#define FRAGMENT_STORE_EULA_MAX_BYTES (32u * 1024 * 1024)

/*
 * The Eula fragments (GetExtendedUpdateInfo infoType Eula) of n revisions, for the requested
 * languages and region as fragment_set_eula() picks them, streamed to cb (language = the
 * fragment's) ordered by revision id. Derived now from the stored documents that contain an
 * EulaFile (EULAs are rare and a client asks for them only for updates that name one); a
 * document that cannot be derived is skipped, and documents beyond
 * FRAGMENT_STORE_EULA_MAX_BYTES in all are skipped with a log line. 0 when done; -1 with err on
 * a database error, on more than FRAGMENT_STORE_EULA_MAX_IDS ids or
 * FRAGMENT_STORE_MAX_LANGUAGES languages, or when cb returns -1 (err untouched).
 */
int fragment_store_eula(PGconn *conn, const int64_t *ids, size_t n, const char *const *languages,
                        size_t n_lang, const char *geo_id,
                        int (*cb)(void *arg, int64_t revision_id, const char *language,
                                  const char *xml, size_t len),
                        void *arg, char *err, size_t errlen);

#endif
