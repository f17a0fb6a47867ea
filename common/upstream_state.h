/*
 * upstream_state: the upstream_state table, what this server last learned from its upstream
 * (sync anchors, the upstream chain, its languages; one text value per key). All SQL of the
 * table outside the sync engine (client/sync.c, still to move) is here.
 */
#ifndef WSUS_UPSTREAM_STATE_H
#define WSUS_UPSTREAM_STATE_H

#include <libpq-fe.h>

/*
 * The value stored under key: malloc'd, the caller frees it. NULL when the key is absent or
 * on a database error (logged).
 */
char *upstream_state_get(PGconn *db, const char *key);
/* Store value under key (insert or replace; changed_at = now()). 0, or -1 (logged). */
int upstream_state_set(PGconn *db, const char *key, const char *value);
/* Forget key (absent is not an error). 0, or -1 (logged). */
int upstream_state_delete(PGconn *db, const char *key);

#endif
