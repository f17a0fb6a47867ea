/*
 * dbpool: mutex + condition variable over an array of connections.
 */
#include "dbpool.h"
#include "db.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dbpool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    PGconn **idle;
    size_t nidle;
    size_t size;
    char *conninfo;
    void (*revive_hook)(void *arg);
    void *revive_arg;
};

struct dbpool *dbpool_new(const char *conninfo, size_t size, char *err, size_t errlen)
{
    struct dbpool *pool = xcalloc(1, sizeof(*pool));
    size_t i;

    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->cond, NULL);
    pool->idle = xcalloc(size, sizeof(PGconn *));
    pool->size = size;
    pool->conninfo = xstrdup(conninfo);
    for (i = 0; i < size; i++) {
        PGconn *c = db_connect(conninfo, "wsusd", err, errlen);
        if (c == NULL) {
            dbpool_free(pool);
            return NULL;
        }
        pool->idle[pool->nidle++] = c;
    }
    return pool;
}

void dbpool_free(struct dbpool *pool)
{
    size_t i;

    if (pool == NULL)
        return;
    for (i = 0; i < pool->nidle; i++)
        db_close(pool->idle[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->cond);
    free(pool->idle);
    free(pool->conninfo);
    free(pool);
}

PGconn *dbpool_get(struct dbpool *pool, int timeout_ms)
{
    char err[512];

    return dbpool_take(pool, timeout_ms, err, sizeof(err));
}

PGconn *dbpool_take(struct dbpool *pool, int timeout_ms, char *err, size_t errlen)
{
    struct timespec deadline;
    PGconn *c = NULL;
    char msg[400];
    int alive;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool->lock);
    while (pool->nidle == 0) {
        if (pthread_cond_timedwait(&pool->cond, &pool->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (pool->nidle > 0)
        c = pool->idle[--pool->nidle];
    pthread_mutex_unlock(&pool->lock);
    if (c == NULL) {
        snprintf(err, errlen, "all %zu database connections were busy for %d ms; try again",
                 pool->size, timeout_ms);
        log_warnx("%s", err);
        return NULL;
    }
    alive = db_revive(c);
    if (alive < 0 && pool->revive_hook != NULL) {
        pool->revive_hook(pool->revive_arg);
        alive = db_revive(c);
    }
    if (alive < 0) {
        snprintf(err, errlen,
                 "the catalog database is unreachable (%s); check that PostgreSQL runs and "
                 "[database] conninfo",
                 db_errmsg(c, msg, sizeof(msg)));
        dbpool_put(pool, c);
        return NULL;
    }
    return c;
}

void dbpool_set_revive_hook(struct dbpool *pool, void (*hook)(void *arg), void *arg)
{
    pool->revive_hook = hook;
    pool->revive_arg = arg;
}

void dbpool_usage(struct dbpool *pool, size_t *size, size_t *idle)
{
    pthread_mutex_lock(&pool->lock);
    *size = pool->size;
    *idle = pool->nidle;
    pthread_mutex_unlock(&pool->lock);
}

void dbpool_put(struct dbpool *pool, PGconn *conn)
{
    if (conn == NULL)
        return;
    if (!db_lost(conn))
        db_rollback(conn);
    pthread_mutex_lock(&pool->lock);
    pool->idle[pool->nidle++] = conn;
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
}

const char *dbpool_conninfo(const struct dbpool *pool)
{
    return pool->conninfo;
}
