/*
 * upstream_state: owner of the upstream_state table, the key/value notes a replica or
 * downstream keeps about its upstream between synchronizations (anchors, the upstream's URL,
 * chain, languages, what was synchronized). The keys' meaning belongs to their users
 * (client/sync.c, common/hierarchy.c); this module only stores them.
 */
#ifndef WSUS_UPSTREAM_STATE_H
#define WSUS_UPSTREAM_STATE_H

#include <libpq-fe.h>

/* The value of key (malloc'd; the caller frees it), NULL when absent or on a database error. */
char *upstream_state_get(PGconn *db, const char *key);

/* Store value under key (inserted or replaced; its changed_at is now). 0, or -1 on error. */
int upstream_state_set(PGconn *db, const char *key, const char *value);

/* Remove key (nothing when absent). 0, or -1 on error. */
int upstream_state_delete(PGconn *db, const char *key);

/*
 * Forget the anchors and the synchronized products, classifications and languages, so the
 * next synchronization starts from nothing (a new upstream). 0, or -1 on error.
 */
int upstream_state_clear_anchors(PGconn *db);

#endif
