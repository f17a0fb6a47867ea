/*
 * Tests for upstream_state (what the upstream last said: key/value rows), against the real
 * PostgreSQL test cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "testutil.h"
#include "upstream_state.h"

static void test_upstream_state(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_upstream_state", conninfo, sizeof(conninfo));
    char *v;

    (void)state;
    assert_null(upstream_state_get(db, "config-anchor"));
    assert_int_equal(upstream_state_set(db, "config-anchor", "one"), 0);
    v = upstream_state_get(db, "config-anchor");
    assert_non_null(v);
    assert_string_equal(v, "one");
    free(v);
    assert_int_equal(upstream_state_set(db, "config-anchor", "two"), 0);
    v = upstream_state_get(db, "config-anchor");
    assert_string_equal(v, "two");
    free(v);
    assert_int_equal(upstream_state_delete(db, "config-anchor"), 0);
    assert_null(upstream_state_get(db, "config-anchor"));
    assert_int_equal(upstream_state_delete(db, "config-anchor"), 0);
    testdb_drop(db, "unit_upstream_state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
