/*
 * Tests for sync_history: the last finished and the running synchronization of the table, and
 * whether a session holds the sync lock, against the real PostgreSQL test cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sync_history.h"
#include "testutil.h"

#define KEY 0x77737573L

static void test_rows_and_lock(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_sync_history", conninfo, sizeof(conninfo));
    PGconn *other;
    struct sync_history_row h;
    char err[256];

    (void)state;
    assert_int_equal(sync_history_last_finished(db, &h), 0);
    assert_int_equal(sync_history_running(db, &h), 0);
    assert_int_equal(db_cmd(db,
                            "INSERT INTO sync_history (kind, result, phase, error, finished_at, "
                            "files, bytes) VALUES ('sync', 'failed', 'done', 'the reason', "
                            "now(), 3, 4096), ('import', 'succeeded', 'done', NULL, now(), 0, 0)",
                            0, NULL),
                     0);
    assert_int_equal(sync_history_last_finished(db, &h), 1);
    assert_string_equal(h.result, "failed");
    assert_string_equal(h.error, "the reason");
    assert_int_equal(h.files, 3);
    assert_true(h.bytes == 4096);
    assert_true(h.finished_at > 0 && h.started_at > 0);
    assert_int_equal(db_cmd(db,
                            "INSERT INTO sync_history (kind, phase, detail) VALUES ('sync', "
                            "'content', '{\"progress_at\": 1700000000}')",
                            0, NULL),
                     0);
    assert_int_equal(sync_history_running(db, &h), 1);
    assert_string_equal(h.phase, "content");
    assert_true(h.progress_at == 1700000000);
    assert_int_equal(h.finished_at, 0);

    assert_int_equal(sync_history_lock_held(db, KEY), 0);
    other = db_connect(conninfo, "unit", err, sizeof(err));
    assert_non_null(other);
    assert_int_equal(db_cmd(other, "SELECT pg_advisory_lock(2004055411)", 0, NULL), 0);
    assert_int_equal(sync_history_lock_held(db, KEY), 1);
    assert_int_equal(sync_history_lock_held(db, KEY + 1), 0);
    /* released by its holder (a closed session's locks go when its backend exits, later) */
    assert_int_equal(db_cmd(other, "SELECT pg_advisory_unlock(2004055411)", 0, NULL), 0);
    assert_int_equal(sync_history_lock_held(db, KEY), 0);
    db_close(other);
    testdb_drop(db, "unit_sync_history");
}

static int json_rows(PGconn *db, enum sync_history_pick pick, int with_imports, const char *arg,
                     const char *want)
{
    PGresult *r = sync_history_json(db, pick, with_imports, arg);
    int n;

    assert_non_null(r);
    n = PQntuples(r);
    if (n > 0 && want != NULL)
        assert_non_null(strstr(PQgetvalue(r, 0, 0), want));
    PQclear(r);
    return n;
}

static void test_imports_and_json(void **state)
{
    char conninfo[512], sid[24];
    PGconn *db = testdb_create_migrated("unit_sync_history_json", conninfo, sizeof(conninfo));
    struct sync_history_row h;
    long id;

    (void)state;
    id = sync_history_import_start(db, "pkg.tar.cab");
    assert_true(id > 0);
    snprintf(sid, sizeof(sid), "%ld", id);
    /* an import is not a synchronization */
    assert_int_equal(sync_history_running(db, &h), 0);
    assert_int_equal(json_rows(db, SYNC_HISTORY_BY_ID, 0, sid, NULL), 0);
    assert_int_equal(json_rows(db, SYNC_HISTORY_BY_ID, 1, sid, "\"phase\":\"importing\""), 1);
    assert_int_equal(
        sync_history_import_finish(db, id, "succeeded", NULL, 5, 2, 3, 1, "{\"records\": 6}"), 0);
    assert_int_equal(json_rows(db, SYNC_HISTORY_BY_ID, 1, sid, "\"result\":\"succeeded\""), 1);
    assert_int_equal(json_rows(db, SYNC_HISTORY_BY_ID, 1, sid, "\"new_revisions\":5"), 1);
    assert_int_equal(json_rows(db, SYNC_HISTORY_BY_ID, 1, sid, "\"records\": 6"), 1);

    assert_int_equal(db_cmd(db,
                            "INSERT INTO sync_history (kind, result, finished_at) VALUES "
                            "('sync', 'failed', now()), ('sync', 'running', NULL)",
                            0, NULL),
                     0);
    assert_int_equal(json_rows(db, SYNC_HISTORY_RUNNING, 0, NULL, "\"result\":\"running\""), 1);
    assert_int_equal(json_rows(db, SYNC_HISTORY_LAST_FINISHED, 0, NULL, "\"result\":\"failed\""),
                     1);
    assert_int_equal(json_rows(db, SYNC_HISTORY_NEWEST, 1, "10", NULL), 3);
    assert_int_equal(json_rows(db, SYNC_HISTORY_NEWEST, 1, "2", "\"kind\":\"sync\""), 2);
    assert_int_equal(json_rows(db, SYNC_HISTORY_NEWEST, 0, "10", NULL), 2);
    testdb_drop(db, "unit_sync_history_json");
}

/* The sync engine's rows: start, progress, finish; rows a dead process left are closed. */
static void test_sync_rows(void **state)
{
    char conninfo[512], err[256];
    PGconn *db = testdb_create_migrated("unit_sync_history_rows", conninfo, sizeof(conninfo));
    PGconn *other;
    struct sync_history_row h;
    long id, dead;
    PGresult *r;

    (void)state;
    dead = sync_history_sync_start(db, "manual", "http://up.example:8530", "fe1");
    assert_true(dead > 0);
    assert_int_equal(sync_history_sync_fail_abandoned(db), 0);
    assert_int_equal(sync_history_last_finished(db, &h), 1);
    assert_int_equal(h.id, dead);
    assert_string_equal(h.result, "failed");
    assert_non_null(strstr(h.error, "wsusd stopped or lost its database during this"));

    id = sync_history_sync_start(db, "schedule", "http://up.example:8530", "fe2");
    assert_true(id > dead);
    assert_int_equal(sync_history_running(db, &h), 1);
    assert_int_equal(h.id, id);
    assert_string_equal(h.phase, "starting");
    assert_int_equal(sync_history_sync_progress(db, id, "content", 5, 2, 1, 7, 123456789012LL,
                                                "{\"progress_at\": 1700000001}"),
                     0);
    assert_int_equal(sync_history_running(db, &h), 1);
    assert_string_equal(h.phase, "content");
    assert_int_equal(h.files, 7);
    assert_true(h.bytes == 123456789012LL);
    assert_true(h.progress_at == 1700000001);
    assert_int_equal(sync_history_sync_finish(db, id, "succeeded", NULL), 0);
    assert_int_equal(sync_history_running(db, &h), 0);
    assert_int_equal(sync_history_last_finished(db, &h), 1);
    assert_int_equal(h.id, id);
    assert_string_equal(h.result, "succeeded");
    assert_string_equal(h.phase, "done");
    assert_string_equal(h.error, "");
    r = sync_history_json(db, SYNC_HISTORY_NEWEST, 0, "1");
    assert_non_null(r);
    assert_non_null(strstr(PQgetvalue(r, 0, 0), "\"trigger\":\"schedule\""));
    assert_non_null(strstr(PQgetvalue(r, 0, 0), "\"new_revisions\":5"));
    PQclear(r);

    /* the session lock: one holder at a time, free again once released */
    other = db_connect(conninfo, "unit", err, sizeof(err));
    assert_non_null(other);
    assert_int_equal(db_session_trylock(db, KEY), 1);
    assert_int_equal(sync_history_lock_held(other, KEY), 1);
    assert_int_equal(db_session_trylock(other, KEY), 0);
    assert_int_equal(db_session_unlock(db, KEY), 0);
    assert_int_equal(db_session_trylock(other, KEY), 1);
    assert_int_equal(db_session_unlock(other, KEY), 0);
    db_close(other);
    testdb_drop(db, "unit_sync_history_rows");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_rows),
        cmocka_unit_test(test_rows_and_lock),
        cmocka_unit_test(test_imports_and_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
