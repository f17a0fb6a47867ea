/*
 * Tests for sync_history: the last finished and the running synchronization of the table, and
 * whether a session holds the sync lock, against the real PostgreSQL test cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
