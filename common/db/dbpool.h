/*
 * dbpool: a fixed set of PostgreSQL connections shared by HTTP worker threads. A request takes
 * one (waiting if all are busy), uses it alone, and gives it back. Every take checks the
 * connection without a round trip (db_check) and re-establishes one the server dropped (a
 * PostgreSQL restart), so a request never gets a dead connection it could have been spared. It
 * does not run queries itself (db_exec_retry retries a read that lost its connection midway).
 */
#ifndef WSUS_DBPOOL_H
#define WSUS_DBPOOL_H

#include <libpq-fe.h>
#include <stddef.h>

struct dbpool;

/* Open size connections to conninfo. NULL with a message in err on failure. */
struct dbpool *dbpool_new(const char *conninfo, size_t size, char *err, size_t errlen);
/* Close every connection; all must have been returned. NULL is fine. */
void dbpool_free(struct dbpool *pool);
/*
 * Take a connection, waiting up to timeout_ms for a free one. A lost connection is
 * re-established first; when that fails the revive hook (if any) runs and it is tried once more.
 * NULL when none could be had (logged): all busy, or the database is unreachable.
 */
PGconn *dbpool_get(struct dbpool *pool, int timeout_ms);
/* dbpool_get with the reason of a NULL in err, one line for an admin (which database, the fix). */
PGconn *dbpool_take(struct dbpool *pool, int timeout_ms, char *err, size_t errlen);
/* The pool's size and how many of its connections are idle now (for /metrics). Thread-safe. */
void dbpool_usage(struct dbpool *pool, size_t *size, size_t *idle);
/* Give a connection back; an open transaction is rolled back first. NULL is fine. */
void dbpool_put(struct dbpool *pool, PGconn *conn);
/*
 * Called (from the taking thread, without the pool lock) when a lost connection could not be
 * re-established, before the second try; e.g. to start a private cluster that stopped. It must
 * rate-limit itself. NULL removes it. Set it before the pool is shared.
 */
void dbpool_set_revive_hook(struct dbpool *pool, void (*hook)(void *arg), void *arg);
/* The conninfo the pool was opened with (for threads that need their own connection). */
const char *dbpool_conninfo(const struct dbpool *pool);

#endif
