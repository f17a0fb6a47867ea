/*
 * file_state: which files the downloader fetches (see file_state.h). Every query pages by
 * SHA-1 ($1 = the last SHA-1 seen, bytea text form).
 */
#include "file_state.h"

#include "buf.h"
#include "catalog.h"
#include "db.h"
#include "strutil.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define STR_(x)    #x
#define STR(x)     STR_(x)
#define PAGE_LIMIT " LIMIT " STR(FILE_STATE_PAGE)

static const char *select_sql(const char *policy)
{
    /* every query pages by sha1 ($1 = last sha1 seen, as bytea hex) */
    if (strcmp(policy, "all") == 0)
        return "SELECT sha1, sha256, size, file_name, mu_url FROM file WHERE state IN ('absent', "
               "'queued', 'failed') AND sha1 > $1::bytea AND (state = 'queued' OR NOT EXISTS ("
               " SELECT 1 FROM revision_file rf WHERE rf.sha1 = file.sha1) OR EXISTS (SELECT 1"
               " FROM revision_file rf JOIN revision r ON r.id = rf.revision_id WHERE rf.sha1 ="
               " file.sha1 AND " CATALOG_SQL_LANG_APPLIES("r") ")) ORDER BY sha1" PAGE_LIMIT;
    if (strcmp(policy, "approved") == 0)
        return "WITH RECURSIVE wanted(id) AS ("
               " SELECT r.id FROM deployment d JOIN revision r ON r.update_id = d.update_id AND "
               " r.revision_number = d.revision_number WHERE d.action = 0 AND NOT d.dead "
               "AND " CATALOG_SQL_LANG_APPLIES(
                   "r") " UNION SELECT m.id FROM wanted w JOIN revision_bundle b ON b.revision_id "
                        "= w.id"
                        " JOIN revision m ON m.update_id = b.member_update_id AND "
                        "m.revision_number = "
                        " b.member_revision_number)"
                        " SELECT f.sha1, f.sha256, f.size, f.file_name, f.mu_url FROM file f WHERE "
                        " f.sha1 > $1::bytea AND (f.state = 'queued' OR (f.state IN ('absent', "
                        "'failed') "
                        " AND EXISTS (SELECT 1 FROM revision_file rf JOIN wanted w ON w.id = "
                        " rf.revision_id WHERE rf.sha1 = f.sha1))) ORDER BY f.sha1" PAGE_LIMIT;
    return "SELECT sha1, sha256, size, file_name, mu_url FROM file WHERE state = 'queued' AND "
           "sha1 > $1::bytea ORDER BY sha1" PAGE_LIMIT;
}

PGresult *file_state_wanted_page(PGconn *db, const char *policy, const char *after)
{
    return db_exec1(db, select_sql(policy), after);
}

int file_state_wanted_totals(PGconn *db, const char *policy, long *files, int64_t *bytes)
{
    const char *sql = select_sql(policy);
    char *q = xasprintf("SELECT count(*), coalesce(sum(size), 0) FROM (%.*s) s",
                        (int)(strstr(sql, " ORDER BY") - sql), sql);
    PGresult *r = db_exec1(db, q, "\\x");
    int rc = -1;

    if (r != NULL && PQntuples(r) == 1) {
        *files = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        *bytes = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        rc = 0;
    }
    PQclear(r);
    free(q);
    return rc;
}

/* digests as one bytea[] literal of "\\x<hex>" items into arr (buf_init'd); 0, or -1 when it
   did not fit (arr freed by the caller either way) */
static int digests_literal(struct buf *arr, const unsigned char (*digests)[20], size_t n)
{
    size_t i;

    buf_add_str(arr, "{");
    for (i = 0; i < n; i++) {
        char hex[41];

        buf_add_str(arr, i ? ",\"\\\\x" : "\"\\\\x");
        buf_add_str(arr, str_hex_encode(digests[i], 20, 0, hex));
        buf_add_str(arr, "\"");
    }
    buf_add_str(arr, "}");
    return buf_failed(arr) ? -1 : 0;
}

PGresult *file_state_queue_requested(PGconn *db, const unsigned char (*digests)[20], size_t n)
{
    const char *p[1];
    PGresult *res = NULL;
    struct buf arr;

    buf_init(&arr, n * 48 + 2);
    if (digests_literal(&arr, digests, n) < 0) {
        buf_free(&arr);
        return NULL;
    }
    p[0] = buf_str(&arr);
    if (db_begin(db) < 0)
        goto out;
    if (db_cmd(db,
               "UPDATE file SET state = 'queued', state_detail = 'requested by a downstream "
               "server (DownloadFiles)' WHERE sha1 = ANY($1::bytea[])"
               " AND state IN ('absent', 'failed')",
               1, p) < 0)
        goto out;
    res = db_exec(db,
                  "SELECT d.i FROM unnest($1::bytea[]) WITH ORDINALITY AS d(sha1, i)"
                  " WHERE NOT EXISTS (SELECT 1 FROM file f WHERE f.sha1 = d.sha1) ORDER BY d.i",
                  1, p);
    if (res == NULL || db_commit(db) < 0)
        goto out;
    buf_free(&arr);
    return res;
out:
    db_rollback(db);
    PQclear(res);
    buf_free(&arr);
    return NULL;
}

int file_state_mark_present(PGconn *db, const unsigned char (*digests)[20], size_t n)
{
    struct buf arr;
    const char *p[1];
    int rc = -1;

    if (n == 0)
        return 0;
    buf_init(&arr, n * 48 + 2);
    if (digests_literal(&arr, digests, n) == 0) {
        p[0] = buf_str(&arr);
        rc = db_cmd(db,
                    "UPDATE file SET state = 'present', state_detail = NULL, stored_at = now()"
                    " WHERE sha1 = ANY($1::bytea[])",
                    1, p);
    }
    buf_free(&arr);
    return rc;
}
