/*
 * client_event: storage of reported events (see client_event.h).
 */
#include "client_event.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

int client_event_store(PGconn *db, const char *computer_id, const struct client_event *ev, size_t n,
                       size_t *stored)
{
    char keep[16];
    size_t i;

    *stored = 0;
    if (snprintf(keep, sizeof(keep), "%d", CLIENT_EVENT_KEEP) >= (int)sizeof(keep))
        return -1;
    if (db_begin(db) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        char eid[16], ns[16], src[16], rev[16], hr[16];
        const char *p[11] = {computer_id,
                             ev[i].instance_id,
                             eid,
                             ns,
                             src,
                             ev[i].update_id,
                             rev,
                             hr,
                             ev[i].app_name,
                             ev[i].time_at_target,
                             ev[i].replacement};
        PGresult *res;

        if (snprintf(eid, sizeof(eid), "%d", ev[i].event_id) >= (int)sizeof(eid) ||
            snprintf(ns, sizeof(ns), "%d", ev[i].namespace_id) >= (int)sizeof(ns) ||
            snprintf(src, sizeof(src), "%d", ev[i].source_id) >= (int)sizeof(src) ||
            snprintf(rev, sizeof(rev), "%d", ev[i].revision_number) >= (int)sizeof(rev) ||
            snprintf(hr, sizeof(hr), "%d", (int)ev[i].hresult) >= (int)sizeof(hr))
            goto fail;
        res = db_exec(db,
                      "INSERT INTO client_event (computer_id, instance_id, event_id,"
                      " namespace_id, source_id, update_id, revision_number, hresult, app_name,"
                      " time_at_target, replacement) VALUES ($1::uuid, $2::uuid, $3::int,"
                      " $4::int, $5::int, nullif($6, '')::uuid, $7::int, $8::int,"
                      " nullif($9, ''), nullif($10, '')::timestamptz, nullif($11, ''))"
                      " ON CONFLICT (computer_id, instance_id) DO NOTHING RETURNING 1",
                      11, p);
        if (res == NULL)
            goto fail;
        *stored += (size_t)PQntuples(res);
        PQclear(res);
    }
    {
        const char *p[2] = {computer_id, keep};

        if (db_cmd(db,
                   "DELETE FROM client_event WHERE computer_id = $1::uuid AND id <= (SELECT id"
                   " FROM client_event WHERE computer_id = $1::uuid ORDER BY id DESC"
                   " OFFSET $2::int LIMIT 1)",
                   2, p) < 0)
            goto fail;
    }
    if (db_commit(db) < 0)
        goto fail;
    return 0;
fail:
    db_rollback(db);
    *stored = 0;
    return -1;
}
