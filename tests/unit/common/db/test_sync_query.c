/*
 * Tests for sync_query (the Server Sync service's catalog reads), against the real PostgreSQL
 * test cluster: identities to revision ids in request order with the unknown ones NULL, a
 * revision's files and XML, the revision and deployment cursors.
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
#include "sync_query.h"
#include "testutil.h"

#define CAT        "aaaaaaaa-0000-4000-8000-000000000001"
#define UPD        "bbbbbbbb-0000-4000-8000-000000000002"
#define UNKNOWN    "cccccccc-0000-4000-8000-000000000003"
#define SHA1_KNOWN "0102030405060708090a0b0c0d0e0f1011121314"

static PGconn *setup(const char *name)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated(name, conninfo, sizeof(conninfo));

    assert_int_equal(db_cmd(db,
                            "INSERT INTO revision (update_id, revision_number, update_type,"
                            " category_type, xml) VALUES ('" CAT "', 10, 'Category', 'Product',"
                            " '<cat/>'), ('" UPD "', 200, 'Software', NULL, '<upd/>')",
                            0, NULL),
                     0);
    assert_int_equal(
        db_cmd(db, "INSERT INTO file (sha1, file_name) VALUES ('\\x" SHA1_KNOWN "', 'a.cab')", 0,
               NULL),
        0);
    assert_int_equal(
        db_cmd(db,
               "INSERT INTO revision_file (revision_id, sha1) SELECT id, '\\x" SHA1_KNOWN
               "' FROM revision WHERE update_id = '" UPD "'",
               0, NULL),
        0);
    return db;
}

static int fetch_all(PGconn *db, const char *cursor)
{
    char sql[64];
    PGresult *r;
    int n;

    assert_true(snprintf(sql, sizeof(sql), "FETCH ALL FROM %s", cursor) < (int)sizeof(sql));
    r = db_exec(db, sql, 0, NULL);
    assert_non_null(r);
    n = PQntuples(r);
    PQclear(r);
    return n;
}

static void test_update_data_rows(void **state)
{
    PGconn *db = setup("unit_sync_query_rows");
    PGresult *r, *f, *x;
    char ids[64];

    (void)state;
    r = sync_query_revision_ids(db, "{" UPD "," UNKNOWN "," UPD "}", "{200,1,200}");
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 3);
    assert_false(PQgetisnull(r, 0, 0));
    assert_string_equal(PQgetvalue(r, 0, 1), UPD);
    assert_true(PQgetisnull(r, 1, 0));
    assert_string_equal(PQgetvalue(r, 1, 1), UNKNOWN);
    assert_string_equal(PQgetvalue(r, 1, 2), "1");
    assert_string_equal(PQgetvalue(r, 2, 0), PQgetvalue(r, 0, 0));
    assert_true(snprintf(ids, sizeof(ids), "{%s}", PQgetvalue(r, 0, 0)) < (int)sizeof(ids));
    f = sync_query_revision_files(db, ids);
    assert_non_null(f);
    assert_int_equal(PQntuples(f), 1);
    assert_string_equal(PQgetvalue(f, 0, 1), "\\x" SHA1_KNOWN);
    /* the documents in array order, duplicates included, a revision not held left out */
    assert_true(snprintf(ids, sizeof(ids), "{%s,999999,%s}", PQgetvalue(r, 0, 0),
                         PQgetvalue(r, 0, 0)) < (int)sizeof(ids));
    x = sync_query_revision_docs(db, ids, 2000000);
    assert_non_null(x);
    assert_int_equal(PQntuples(x), 2);
    assert_string_equal(PQgetvalue(x, 0, 0), "1");
    assert_string_equal(PQgetvalue(x, 0, 1), "<upd/>");
    assert_true(PQgetisnull(x, 0, 2));
    assert_string_equal(PQgetvalue(x, 1, 0), "3");
    assert_string_equal(PQgetvalue(x, 1, 1), "<upd/>");
    PQclear(x);
    /* the budget: the first document always, the next one only while the earlier are below */
    x = sync_query_revision_docs(db, ids, 6);
    assert_int_equal(PQntuples(x), 1);
    assert_string_equal(PQgetvalue(x, 0, 0), "1");
    PQclear(x);
    x = sync_query_revision_docs(db, ids, 7);
    assert_int_equal(PQntuples(x), 2);
    PQclear(x);
    PQclear(f);
    PQclear(r);
    testdb_drop(db, "unit_sync_query_rows");
}

static void test_cursors(void **state)
{
    PGconn *db = setup("unit_sync_query_cursors");
    struct sync_query_revisions config = {.get_config = 1};
    struct sync_query_revisions all = {
        .category_ids = "{}", .classification_ids = "{}", .nofilter = 1};
    struct sync_query_revisions after = all;

    (void)state;
    assert_int_equal(sync_query_open_revisions(db, &config), 0);
    assert_int_equal(fetch_all(db, "revs"), 1); /* the category only */
    assert_int_equal(db_commit(db), 0);
    assert_int_equal(sync_query_open_revisions(db, &all), 0);
    assert_int_equal(fetch_all(db, "revs"), 1); /* the update only */
    assert_int_equal(db_commit(db), 0);
    /* after an anchor past every change: nothing */
    after.anchor = "9223372036854775000";
    after.category_deltas = "{}";
    after.classification_deltas = "{}";
    assert_int_equal(sync_query_open_revisions(db, &after), 0);
    assert_int_equal(fetch_all(db, "revs"), 0);
    assert_int_equal(db_commit(db), 0);

    assert_int_equal(db_cmd(db,
                            "INSERT INTO deployment (deployment_guid, update_id, revision_number,"
                            " target_group_id, action) VALUES (gen_random_uuid(), '" UPD "', 200,"
                            " 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 0)",
                            0, NULL),
                     0);
    assert_int_equal(sync_query_open_deployments(db, 0, 0, INT64_MAX), 0);
    assert_true(fetch_all(db, "grp") >= 2); /* the built-in groups */
    assert_int_equal(fetch_all(db, "dep"), 1);
    assert_int_equal(fetch_all(db, "dead"), 0);
    assert_int_equal(fetch_all(db, "hid"), 0);
    assert_int_equal(fetch_all(db, "eula"), 0);
    assert_int_equal(db_commit(db), 0);
    /* a window that ends before the deployment: none */
    assert_int_equal(sync_query_open_deployments(db, 1, 0, 1), 0);
    assert_int_equal(fetch_all(db, "dep"), 0);
    assert_int_equal(db_commit(db), 0);
    testdb_drop(db, "unit_sync_query_cursors");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_data_rows),
        cmocka_unit_test(test_cursors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
