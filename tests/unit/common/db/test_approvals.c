/*
 * Tests for approvals against a real database: an approval that ends is dead with a fresh
 * change_seq (once), a decline ends every approval and counts once, an undecline takes a new
 * change number, an inherited approval comes back to life, EULAs are accepted once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approvals.h"
#include "testutil.h"

#define U1 "44444444-0000-0000-0000-000000000001"
#define E1 "55555555-0000-0000-0000-000000000001"

static long long seq_now(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT last_value FROM change_seq");
    long long v;

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void all_computers(PGconn *c, char id[37])
{
    PGresult *r = PQexec(c, "SELECT id::text FROM target_group WHERE is_builtin ORDER BY name "
                            "LIMIT 1");

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void test_deploy_kill(void **state)
{
    char conninfo[512], group[37], guid[37];
    PGconn *c = testdb_create_migrated("unit_approvals_kill", conninfo, sizeof(conninfo));
    json_t *killed = json_array();
    PGresult *r;
    long long seq;

    (void)state;
    all_computers(c, group);
    r = approvals_deploy(c, U1, 200, group, 0, "admin", NULL);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_true(PQgetisnull(r, 0, 1));
    snprintf(guid, sizeof(guid), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = approvals_of_update(c, U1);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    PQclear(r);
    seq = seq_now(c);
    assert_int_equal(approvals_kill_deployments(c, U1, NULL, killed), 1);
    assert_int_equal(json_array_size(killed), 1);
    assert_string_equal(json_string_value(json_array_get(killed, 0)), guid);
    assert_true(seq_now(c) > seq);
    assert_int_equal(approvals_kill_deployments(c, U1, group, NULL), 0);
    r = approvals_of_update(c, U1);
    assert_int_equal(PQntuples(r), 0);
    PQclear(r);
    /* a replica's upstream brings it back, and ends it again */
    {
        struct approvals_inherited a = {.deployment_guid = guid,
                                        .update_id = U1,
                                        .target_group_id = group,
                                        .admin_name = "upstream admin",
                                        .revision = 201,
                                        .download_priority = 1};
        assert_int_equal(approvals_inherit(c, &a), 0);
    }
    r = approvals_of_update(c, U1);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "201");
    assert_string_equal(PQgetvalue(r, 0, 8), "t");
    PQclear(r);
    seq = seq_now(c);
    assert_int_equal(approvals_kill_deployment(c, guid), 0);
    assert_true(seq_now(c) > seq);
    r = approvals_of_update(c, U1);
    assert_int_equal(PQntuples(r), 0);
    PQclear(r);
    json_decref(killed);
    testdb_drop(c, "unit_approvals_kill");
}

static void test_decline_eula(void **state)
{
    char conninfo[512], group[37];
    PGconn *c = testdb_create_migrated("unit_approvals_decline", conninfo, sizeof(conninfo));
    json_t *killed = json_array();
    PGresult *r;
    long long seq;

    (void)state;
    all_computers(c, group);
    r = approvals_deploy(c, U1, 200, group, 0, "admin", "2030-01-02T03:04:05Z");
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 1), "2030-01-02T03:04:05Z");
    PQclear(r);
    assert_int_equal(approvals_is_declined(c, U1), 0);
    assert_int_equal(approvals_decline(c, U1, "admin", killed), 1);
    assert_int_equal(json_array_size(killed), 1);
    assert_int_equal(approvals_is_declined(c, U1), 1);
    assert_int_equal(approvals_decline(c, U1, "admin", NULL), 0);
    seq = seq_now(c);
    assert_int_equal(approvals_undecline(c, U1), 1);
    assert_true(seq_now(c) > seq);
    assert_int_equal(approvals_undecline(c, U1), 0);
    assert_int_equal(approvals_set_upstream_declines(c, "{" U1 "}"), 0);
    assert_int_equal(approvals_is_declined(c, U1), 1);
    assert_int_equal(approvals_set_upstream_declines(c, "{}"), 0);
    assert_int_equal(approvals_is_declined(c, U1), 0);
    assert_int_equal(approvals_accept_eula(c, E1, "admin"), 1);
    assert_int_equal(approvals_accept_eula(c, E1, "admin"), 0);
    json_decref(killed);
    testdb_drop(c, "unit_approvals_decline");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deploy_kill),
        cmocka_unit_test(test_decline_eula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
