/* upstream_state: reads and writes of the upstream_state table (see upstream_state.h). */
#include "upstream_state.h"

#include "db.h"
#include "xmalloc.h"

char *upstream_state_get(PGconn *db, const char *key)
{
    PGresult *r = db_exec1(db, "SELECT value FROM upstream_state WHERE key = $1", key);
    char *v = NULL;

    if (r != NULL && PQntuples(r) == 1)
        v = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

int upstream_state_set(PGconn *db, const char *key, const char *value)
{
    return db_cmd(db,
                  "INSERT INTO upstream_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO "
                  "UPDATE SET value = EXCLUDED.value, changed_at = now()",
                  2, (const char *const[]){key, value});
}

int upstream_state_delete(PGconn *db, const char *key)
{
    const char *p[1] = {key};

    return db_cmd(db, "DELETE FROM upstream_state WHERE key = $1", 1, p);
}

int upstream_state_clear_anchors(PGconn *db)
{
    return db_cmd(db,
                  "DELETE FROM upstream_state WHERE key IN ('config-anchor', 'categories-anchor', "
                  "'updates-anchor', 'deployments-anchor', 'synced-products', "
                  "'synced-classifications', 'synced-languages')",
                  0, NULL);
}
