/*
 * Tests for update_query against a real catalog with a few hand-made rows: category names
 * (case, white space inside real titles, no match with and without candidates, the same name
 * twice), KB numbers (only updates approvable on their own), title words in any order, the
 * superseded filter, and sizes (a bundle counts its members' files, a shared file once); the
 * latest revision kept by schema/014's triggers through inserts, an update and deletes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "update_query.h"

#define P1 "11111111-0000-0000-0000-000000000001" /* Windows 11 */
#define P2 "11111111-0000-0000-0000-000000000002" /* Windows 10 */
#define P3 "11111111-0000-0000-0000-000000000003" /* "  Office\n   2016 " */
#define C1 "22222222-0000-0000-0000-000000000001" /* Security Updates */
#define C2 "22222222-0000-0000-0000-000000000002" /* Critical Updates */
#define B1 "33333333-0000-0000-0000-000000000001" /* bundle, KB5000001 */
#define L1 "33333333-0000-0000-0000-000000000002" /* its member, KB5000001 too */
#define B2 "33333333-0000-0000-0000-000000000003" /* supersedes B1 */

static const char seed[] =
    "INSERT INTO revision (id, update_id, revision_number, update_type, category_type, title, "
    "  explicitly_deployable, kb_article_id, xml) VALUES "
    "(1, '" P1 "', 1, 'Category', 'Product', 'Windows 11', false, NULL, '<x/>'),"
    "(2, '" P2 "', 1, 'Category', 'Product', 'Windows 10', false, NULL, '<x/>'),"
    "(3, '" P3 "', 1, 'Category', 'Product', E'  Office\\n   2016 ', false, NULL, '<x/>'),"
    "(4, '" C1 "', 1, 'Category', 'UpdateClassification', 'Security Updates', false, NULL, "
    "  '<x/>'),"
    "(5, '" C2 "', 1, 'Category', 'UpdateClassification', 'Critical Updates', false, NULL, "
    "  '<x/>'),"
    "(6, '" B1 "', 200, 'Software', NULL, '2030-01 Security Update for Windows 11 (KB5000001)', "
    "  true, '5000001', '<x/>'),"
    "(7, '" L1 "', 200, 'Software', NULL, '2030-01 Security Update for Windows 11 (KB5000001)', "
    "  false, '5000001', '<x/>'),"
    "(8, '" B2 "', 200, 'Software', NULL, 'Cumulative Update for Windows 10 (KB5000002)', true, "
    "  '5000002', '<x/>');"
    "INSERT INTO revision_prerequisite (revision_id, clause, update_id, is_category) VALUES "
    "(6, 0, '" P1 "', true), (6, 1, '" C1 "', true), (8, 0, '" P2 "', true), "
    "(8, 1, '" C2 "', true);"
    "INSERT INTO revision_bundle VALUES (6, 0, '" L1 "', 200);"
    "INSERT INTO revision_supersedes VALUES (8, '" B1 "');"
    "INSERT INTO file (sha1, size, file_name) VALUES "
    "(decode(repeat('a1', 20), 'hex'), 100, 'a.cab'), "
    "(decode(repeat('b2', 20), 'hex'), 50, 'b.cab'), "
    "(decode(repeat('c3', 20), 'hex'), 7, 'c.cab');"
    "INSERT INTO revision_file VALUES (6, decode(repeat('a1', 20), 'hex')), "
    "(7, decode(repeat('a1', 20), 'hex')), (7, decode(repeat('b2', 20), 'hex')), "
    "(8, decode(repeat('c3', 20), 'hex'));";

static PGconn *open_seeded(const char *name)
{
    char conninfo[512];
    PGconn *c = testdb_create_migrated(name, conninfo, sizeof(conninfo));
    PGresult *r = PQexec(c, seed);

    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return c;
}

static void test_category(void **state)
{
    PGconn *c = open_seeded("unit_uq_category");
    char id[37], err[1024];

    (void)state;
    assert_int_equal(update_query_category(c, "product", "windows 11", id, err, sizeof(err)), 0);
    assert_string_equal(id, P1);
    assert_int_equal(update_query_category(c, "product", P2, id, err, sizeof(err)), 0);
    assert_string_equal(id, P2);
    assert_int_equal(update_query_category(c, "product", "OFFICE  2016", id, err, sizeof(err)), 0);
    assert_string_equal(id, P3);
    assert_int_equal(
        update_query_category(c, "classification", "security updates", id, err, sizeof(err)), 0);
    assert_string_equal(id, C1);

    assert_int_equal(update_query_category(c, "product", "WINDOWS", id, err, sizeof(err)), 1);
    assert_string_equal(err, "no product is named \"WINDOWS\"; did you mean one of \"Windows 10\" "
                             "(" P2 "), \"Windows 11\" (" P1 ")?");
    assert_int_equal(update_query_category(c, "classification", "critical", id, err, sizeof(err)),
                     1);
    assert_string_equal(err, "no classification is named \"critical\"; did you mean \"Critical "
                             "Updates\" (" C2 ")?");
    /* a product name is not a classification */
    assert_int_equal(update_query_category(c, "classification", "Windows 11", id, err, sizeof(err)),
                     1);
    assert_string_equal(err, "no classification is named \"Windows 11\"; wsusctl updates list "
                             "--type category --search TEXT lists them");
    /* the same title twice */
    {
        PGresult *r = PQexec(c, "UPDATE revision SET title = 'Windows 11' WHERE id = 2");
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    assert_int_equal(update_query_category(c, "product", "Windows 11", id, err, sizeof(err)), 1);
    assert_string_equal(err, "several products are named \"Windows 11\": \"Windows 11\" (" P1
                             "), \"Windows 11\" (" P2 "); give the id");
    testdb_drop(c, "unit_uq_category");
}

static void test_kb_and_size(void **state)
{
    PGconn *c = open_seeded("unit_uq_kb");
    PGresult *r;
    long long size;
    int not_kb;

    (void)state;
    r = update_query_kb(c, "kb5000001", &not_kb);
    assert_non_null(r);
    assert_int_equal(not_kb, 0);
    assert_int_equal(PQntuples(r), 1); /* the member L1 is not approvable on its own */
    assert_string_equal(PQgetvalue(r, 0, 0), B1);
    PQclear(r);
    r = update_query_kb(c, "5000002", &not_kb);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), B2);
    PQclear(r);
    assert_null(update_query_kb(c, "KB", &not_kb));
    assert_int_equal(not_kb, 1);
    assert_null(update_query_kb(c, "KB12x", &not_kb));
    assert_int_equal(not_kb, 1);

    assert_int_equal(update_query_size(c, B1, &size), 0);
    assert_int_equal(size, 150); /* a.cab (its own and its member's) once, b.cab */
    assert_int_equal(update_query_size(c, L1, &size), 0);
    assert_int_equal(size, 150);
    assert_int_equal(update_query_size(c, B2, &size), 0);
    assert_int_equal(size, 7);
    assert_int_equal(update_query_size(c, P1, &size), 0);
    assert_int_equal(size, 0);
    testdb_drop(c, "unit_uq_kb");
}

/* The update ids of update_query_list(f), in its order, ","-joined into out. */
static void list_ids(PGconn *c, struct update_filter *f, char *out, size_t outlen)
{
    PGresult *r;
    size_t used = 0;
    int i;

    f->limit = 100;
    r = update_query_list(c, f);
    assert_non_null(r);
    out[0] = '\0';
    for (i = 0; i < PQntuples(r); i++) {
        int w =
            snprintf(out + used, outlen - used, "%s%s", i > 0 ? "," : "", PQgetvalue(r, i, UQ_ID));
        assert_true(w > 0 && (size_t)w < outlen - used);
        used += (size_t)w;
    }
    PQclear(r);
}

static void test_list(void **state)
{
    PGconn *c = open_seeded("unit_uq_list");
    struct update_filter f;
    char ids[1024];

    (void)state;
    memset(&f, 0, sizeof(f));
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1 "," B2); /* by title; the member is hidden */
    f.search = "windows SECURITY";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    f.search = "11 cumulative"; /* each word somewhere, but not in one title */
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, "");
    f.search = "  update\twindows  ";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1 "," B2);
    f.search = "KB5000002";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);
    f.search = NULL;
    f.superseded = 1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    f.superseded = -1;
    f.product = P2;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);
    f.product = NULL;
    f.superseded = 0;
    f.hidden = 1;
    f.classification = C1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    testdb_drop(c, "unit_uq_list");
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

/* The latest revision (revision_latest, kept by schema/014's triggers) through inserts of a
 * newer and an older revision, an UPDATE and deletes; the id and kb searches; approved and
 * declined; the total over the whole selection with a page of 1. */
static void test_latest(void **state)
{
    PGconn *c = open_seeded("unit_uq_latest");
    struct update_filter f;
    char ids[1024];
    PGresult *r;

    (void)state;
    memset(&f, 0, sizeof(f));
    /* B2's revision 201 no longer supersedes B1 and is renamed; 199 (older) changes nothing */
    exec_ok(c, "INSERT INTO revision (id, update_id, revision_number, update_type, title, "
               "  explicitly_deployable, kb_article_id, creation_date, xml) VALUES "
               "(9, '" B2 "', 201, 'Software', 'Another Update (KB5000003)', true, '5000003', "
               "  '2031-01-01', '<x/>'), "
               "(10, '" B2 "', 199, 'Software', 'Zzz old', true, '5000002', NULL, '<x/>')");
    f.limit = 1;
    r = update_query_list(c, &f);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, UQ_ID), B2);
    assert_string_equal(PQgetvalue(r, 0, UQ_REVISION), "201");
    assert_string_equal(PQgetvalue(r, 0, UQ_TITLE), "Another Update (KB5000003)");
    assert_string_equal(PQgetvalue(r, 0, UQ_TOTAL), "2");
    assert_string_equal(PQgetvalue(r, 0, UQ_SUPERSEDED), "f");
    PQclear(r);
    f.superseded = 1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, ""); /* only B2's old revision names B1 */
    f.superseded = 0;
    f.search = "kb5000003";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);
    f.search = "KB5000002"; /* the old revisions' KB */
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, "");
    f.search = "33333333-0000-0000-0000-000000000001";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    f.search = "50%_"; /* LIKE's wildcards are plain characters */
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, "");
    f.search = NULL;

    exec_ok(c, "UPDATE revision SET title = 'Renamed' WHERE id = 9");
    f.search = "renamed";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);
    f.search = NULL;

    /* the latest revision goes: the one below it is the latest again */
    exec_ok(c, "DELETE FROM revision WHERE id = 9");
    f.superseded = 1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    f.superseded = 0;
    f.search = "KB5000002";
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);
    f.search = NULL;

    exec_ok(c, "INSERT INTO deployment (deployment_guid, update_id, revision_number, "
               "  target_group_id, action) VALUES "
               "('44444444-0000-0000-0000-000000000001', '" B2 "', 200, "
               "  'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 0);"
               "INSERT INTO declined_update (update_id) VALUES ('" B1 "')");
    f.approved = 1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);
    f.approved = -1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    f.approved = 0;
    f.declined = -1;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B2);

    /* every revision of an update goes: it is no longer listed */
    exec_ok(c, "DELETE FROM revision WHERE update_id = '" B2 "'");
    f.declined = 0;
    list_ids(c, &f, ids, sizeof(ids));
    assert_string_equal(ids, B1);
    testdb_drop(c, "unit_uq_latest");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_category),
        cmocka_unit_test(test_kb_and_size),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_latest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
