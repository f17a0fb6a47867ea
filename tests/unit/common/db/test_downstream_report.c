/*
 * Tests for downstream_report (the downstream_server table), against the real PostgreSQL test
 * cluster: first contact, refresh, the per-address limit on new ids, the protocol version of
 * GetCookie, last contact and last sync, the admin list.
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
#include "downstream_report.h"
#include "testutil.h"

#define DSS "3f1e0d6a-1111-4222-8333-444455556666"

static void test_record_and_read(void **state)
{
    char conninfo[512], guid[37];
    PGconn *db = testdb_create_migrated("unit_downstream_report", conninfo, sizeof(conninfo));
    PGresult *r;
    char *name;
    int i;

    (void)state;
    assert_null(downstream_report_name(db, DSS));
    assert_int_equal(downstream_report_seen(db, DSS, "dss1", "127.0.0.2"), 0);
    name = downstream_report_name(db, DSS);
    assert_non_null(name);
    assert_string_equal(name, "dss1");
    free(name);
    /* a known id is refreshed: a new name and address, still one row */
    assert_int_equal(downstream_report_seen(db, DSS, "dss1-renamed", "127.0.0.3"), 0);
    name = downstream_report_name(db, DSS);
    assert_string_equal(name, "dss1-renamed");
    free(name);
    assert_int_equal(downstream_report_cookie(db, DSS, "1.20"), 0);
    assert_int_equal(downstream_report_touch(db, DSS, 1), 0);
    r = downstream_report_list(db);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "dss1-renamed");
    assert_string_equal(PQgetvalue(r, 0, 2), "1.20");
    assert_false(PQgetisnull(r, 0, 5)); /* synchronized */
    assert_string_equal(PQgetvalue(r, 0, 6), "127.0.0.3");
    PQclear(r);

    /* one address introduces at most DOWNSTREAM_REPORT_NEW_PER_HOUR new ids an hour */
    for (i = 0; i < DOWNSTREAM_REPORT_NEW_PER_HOUR; i++) {
        snprintf(guid, sizeof(guid), "00000000-0000-4000-8000-%012d", i);
        assert_int_equal(downstream_report_seen(db, guid, "stranger", "127.0.0.9"), 0);
    }
    assert_int_equal(
        downstream_report_seen(db, "00000000-0000-4000-8000-999999999999", "one more", "127.0.0.9"),
        1);
    /* a known one from that address is still refreshed, another address still welcome */
    assert_int_equal(downstream_report_seen(db, guid, "stranger", "127.0.0.9"), 0);
    assert_int_equal(downstream_report_seen(db, "00000000-0000-4000-8000-999999999999", "elsewhere",
                                            "127.0.0.8"),
                     0);
    r = downstream_report_counts(db);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "12");
    assert_string_equal(PQgetvalue(r, 0, 1), "1");
    PQclear(r);
    testdb_drop(db, "unit_downstream_report");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
