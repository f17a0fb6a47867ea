/*
 * Tests for group (the target_group table), against the real PostgreSQL test cluster: find by
 * name or id, insert, subgroups, delete with a fresh change number; a replica's copy of its
 * upstream's groups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "approvals.h"
#include "db.h"
#include "group.h"
#include "testutil.h"

#define ALL_COMPUTERS "a0a08746-4dbe-4a37-9adf-9e7652c0b421"

static long change_seq(PGconn *db)
{
    PGresult *r = db_exec(db, "SELECT last_value FROM change_seq", 0, NULL);
    long v;

    assert_non_null(r);
    v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void test_groups(void **state)
{
    char conninfo[512], id[37], child[37], first[64];
    PGconn *db = testdb_create_migrated("unit_group", conninfo, sizeof(conninfo));
    PGresult *r;
    int builtin = 0, n;
    long seq;

    (void)state;
    assert_int_equal(group_find(db, "all computers", id, &builtin), 1);
    assert_string_equal(id, ALL_COMPUTERS);
    assert_int_equal(builtin, 1);
    assert_int_equal(group_find(db, ALL_COMPUTERS, id, NULL), 1);
    assert_int_equal(group_find(db, "no such group", id, NULL), 0);

    r = group_list(db);
    assert_non_null(r);
    n = PQntuples(r);
    assert_true(n >= 3);
    assert_string_equal(PQgetvalue(r, 0, 4), "t");
    PQclear(r);

    assert_int_equal(group_insert(db, "Servers", ALL_COMPUTERS, id), 0);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(group_find(db, "SERVERS", child, &builtin), 1);
    assert_string_equal(child, id);
    assert_int_equal(builtin, 0);
    r = group_get(db, id);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "Servers");
    assert_string_equal(PQgetvalue(r, 0, 2), ALL_COMPUTERS);
    assert_string_equal(PQgetvalue(r, 0, 3), "All Computers");
    assert_string_equal(PQgetvalue(r, 0, 5), "0");
    PQclear(r);
    r = group_list(db);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), n + 1);
    PQclear(r);

    assert_int_equal(group_first_child(db, id, first, sizeof(first)), 0);
    assert_int_equal(group_insert(db, "Web", id, child), 0);
    assert_int_equal(group_first_child(db, id, first, sizeof(first)), 1);
    assert_string_equal(first, "Web");

    seq = change_seq(db);
    assert_int_equal(group_delete(db, child), 0);
    assert_true(change_seq(db) > seq);
    assert_int_equal(group_find(db, "Web", child, NULL), 0);
    assert_int_equal(group_first_child(db, id, first, sizeof(first)), 0);
    r = group_get(db, child);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 0);
    PQclear(r);
    testdb_drop(db, "unit_group");
}

static long count(PGconn *db, const char *sql)
{
    PGresult *r = db_exec(db, sql, 0, NULL);
    long v;

    assert_non_null(r);
    v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

#define G1 "11111111-1111-1111-1111-111111111111"
#define G2 "22222222-2222-2222-2222-222222222222"

/* A replica's groups: the upstream's ids, renamed in place, dropped with their approvals. */
static void test_replica_groups(void **state)
{
    char conninfo[512], id[37], name[8];
    PGconn *db = testdb_create_migrated("unit_group_replica", conninfo, sizeof(conninfo));
    long seq;

    (void)state;
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(group_replicate(db, G1, ALL_COMPUTERS, "Upstream Servers", 0), 0);
    assert_int_equal(group_replicate(db, G2, NULL, "Top", 0), 0);
    assert_int_equal(db_commit(db), 0);
    assert_int_equal(group_find_name(db, "upstream servers", id, name, sizeof(name)), 1);
    assert_string_equal(id, G1);
    assert_string_equal(name, "Upstrea"); /* cut to fit */
    assert_int_equal(group_find_name(db, G2, id, name, sizeof(name)), 1);
    assert_string_equal(name, "Top");
    assert_int_equal(group_find_name(db, "nothing", id, name, sizeof(name)), 0);

    /* the same row again keeps its change number; a new name takes a fresh one */
    seq = count(db, "SELECT change_seq FROM target_group WHERE id = '" G1 "'");
    assert_int_equal(group_replicate(db, G1, ALL_COMPUTERS, "Upstream Servers", 0), 0);
    assert_int_equal(count(db, "SELECT change_seq FROM target_group WHERE id = '" G1 "'"), seq);
    assert_int_equal(group_replicate(db, G1, ALL_COMPUTERS, "Renamed", 0), 0);
    assert_true(count(db, "SELECT change_seq FROM target_group WHERE id = '" G1 "'") > seq);
    assert_int_equal(group_find_name(db, "renamed", id, name, sizeof(name)), 1);
    assert_string_equal(id, G1);

    /* the upstream lists only G2: G1 and its approvals go, built-in groups stay */
    assert_int_equal(db_cmd(db,
                            "INSERT INTO deployment (deployment_guid, update_id, revision_number,"
                            " target_group_id, action) VALUES (gen_random_uuid(),"
                            " gen_random_uuid(), 1, '" G1 "', 0), (gen_random_uuid(),"
                            " gen_random_uuid(), 1, '" ALL_COMPUTERS "', 0)",
                            0, NULL),
                     0);
    assert_int_equal(db_begin(db), 0);
    assert_int_equal(approvals_delete_groups_not_in(db, "{" G2 "}"), 0);
    assert_int_equal(group_delete_not_in(db, "{" G2 "}"), 0);
    assert_int_equal(db_commit(db), 0);
    assert_int_equal(group_find(db, G1, id, NULL), 0);
    assert_int_equal(group_find(db, G2, id, NULL), 1);
    assert_int_equal(group_find(db, ALL_COMPUTERS, id, NULL), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM deployment WHERE target_group_id = '" G1 "'"),
                     0);
    assert_int_equal(count(db, "SELECT count(*) FROM deployment"), 1);
    testdb_drop(db, "unit_group_replica");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_replica_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
