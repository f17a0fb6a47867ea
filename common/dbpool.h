/*
 * dbpool: a fixed set of PostgreSQL connections shared by HTTP worker threads. A request takes
 * one (waiting if all are busy), uses it alone, and gives it back. Broken connections are
 * reset on the next take. It does not run queries itself.
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
/* Take a connection, waiting up to timeout_ms. NULL when none could be had (logged). */
PGconn *dbpool_get(struct dbpool *pool, int timeout_ms);
/* Give a connection back; an open transaction is rolled back first. NULL is fine. */
void dbpool_put(struct dbpool *pool, PGconn *conn);
/* The conninfo the pool was opened with (for threads that need their own connection). */
const char *dbpool_conninfo(const struct dbpool *pool);

#endif
