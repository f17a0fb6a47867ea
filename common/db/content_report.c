/*
 * content_report: read-only reports over the file table (see content_report.h). Sizes the
 * catalog does not know count 0; a file shared by several updates counts once.
 */
#include "content_report.h"
#include "db.h"

PGresult *content_report_states(PGconn *db)
{
    return db_exec(db,
                   "SELECT state, count(*), coalesce(sum(size), 0) FROM file GROUP BY state "
                   "ORDER BY state",
                   0, NULL);
}

PGresult *content_report_pending(PGconn *db)
{
    return db_exec(
        db,
        "WITH dep AS (SELECT DISTINCT r.id FROM deployment d JOIN revision r "
        "  ON r.update_id = d.update_id AND r.revision_number = d.revision_number "
        "  WHERE NOT d.dead AND d.action <> 2), "
        "need AS (SELECT rf.sha1 FROM revision_file rf JOIN dep ON dep.id = rf.revision_id "
        "  UNION SELECT rf.sha1 FROM revision_bundle b JOIN dep ON dep.id = b.revision_id "
        "  JOIN revision m ON m.update_id = b.member_update_id "
        "   AND m.revision_number = b.member_revision_number "
        "  JOIN revision_file rf ON rf.revision_id = m.id) "
        "SELECT count(*), coalesce(sum(f.size), 0) FROM file f JOIN need USING (sha1) "
        "WHERE f.state <> 'present'",
        0, NULL);
}

PGresult *content_report_stored_files(PGconn *db)
{
    return db_exec(db,
                   "SELECT encode(sha1, 'hex'), encode(sha256, 'hex'), size, file_name FROM file "
                   "WHERE state = 'present' ORDER BY sha1",
                   0, NULL);
}
