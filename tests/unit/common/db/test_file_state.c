/*
 * Tests for file_state (the files the downloader fetches; DownloadFiles queueing), against
 * the real PostgreSQL test cluster: known files queued, unknown ones named.
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
#include "file_state.h"
#include "strutil.h"
#include "testutil.h"

#define SHA1_KNOWN   "0102030405060708090a0b0c0d0e0f1011121314"
#define SHA1_UNKNOWN "ffffffffffffffffffffffffffffffffffffffff"

static PGconn *setup(const char *name)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated(name, conninfo, sizeof(conninfo));

    assert_int_equal(
        db_cmd(db, "INSERT INTO file (sha1, file_name) VALUES ('\\x" SHA1_KNOWN "', 'a.cab')", 0,
               NULL),
        0);
    return db;
}

static void test_queue_requested(void **state)
{
    PGconn *db = setup("unit_file_state_queue");
    PGresult *r;
    unsigned char d[2][20];

    (void)state;
    assert_int_equal(str_hex_decode(SHA1_UNKNOWN, 40, d[0], 20), 0);
    assert_int_equal(str_hex_decode(SHA1_KNOWN, 40, d[1], 20), 0);
    r = file_state_queue_requested(db, (const unsigned char(*)[20])d, 2);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), "1"); /* the first digest is unknown */
    PQclear(r);
    r = db_exec(db, "SELECT state, state_detail FROM file", 0, NULL);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "queued");
    assert_string_equal(PQgetvalue(r, 0, 1), "requested by a downstream server (DownloadFiles)");
    PQclear(r);
    assert_int_equal(PQtransactionStatus(db), PQTRANS_IDLE);
    testdb_drop(db, "unit_file_state_queue");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_requested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
