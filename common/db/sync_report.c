/*
 * sync_report: the sync_history summaries of /metrics (see sync_report.h).
 */
#include "sync_report.h"
#include "db.h"

#include <stddef.h>

PGresult *sync_report_by_result(PGconn *db)
{
    return db_exec(db,
                   "SELECT result, count(*) FROM sync_history WHERE kind = 'sync' "
                   "GROUP BY result ORDER BY result",
                   0, NULL);
}

PGresult *sync_report_last(PGconn *db)
{
    return db_exec(db,
                   "SELECT extract(epoch FROM l.finished_at)::bigint, "
                   "extract(epoch FROM (l.finished_at - l.started_at))::float8, l.bytes, l.result, "
                   "(SELECT extract(epoch FROM max(finished_at))::bigint FROM sync_history "
                   "WHERE kind = 'sync' AND result = 'succeeded') "
                   "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM sync_history "
                   "WHERE kind = 'sync' AND finished_at IS NOT NULL "
                   "ORDER BY finished_at DESC LIMIT 1) l ON true",
                   0, NULL);
}
