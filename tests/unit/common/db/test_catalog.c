/*
 * Tests for catalog (the batch write path and read helpers) against the real test cluster,
 * with the real update documents of tests/data/docs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "fragment_store.h"
#include "testutil.h"
#include "update.h"

static void load_all(struct update *u, struct update **p)
{
    char path[256], err[512];
    size_t i, len;

    for (i = 0; i < TEST_N_DOCS; i++) {
        char *xml;
        snprintf(path, sizeof(path), "docs/%s", test_docs[i]);
        xml = test_read_file(testdata_path(path), &len);
        if (update_parse(&u[i], xml, len, err, sizeof(err)) != 0)
            fail_msg("%s: %s", test_docs[i], err);
        free(xml);
        p[i] = &u[i];
    }
}

static long count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long v;

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

struct seen {
    long n;
    long with_files;
};

static int visit(void *arg, const struct catalog_revision *r)
{
    struct seen *s = arg;

    s->n++;
    if (r->n_files > 0) {
        s->with_files++;
        assert_non_null(r->files[0].file_name);
        assert_true(r->files[0].size > 0);
    }
    assert_true(r->xml_len > 0);
    return 0;
}

static void test_store_is_idempotent(void **state)
{
    char conninfo[256], err[512];
    PGconn *c = testdb_create_migrated("unit_catalog_store", conninfo, sizeof(conninfo));
    struct update u[TEST_N_DOCS], *p[TEST_N_DOCS + 1];
    struct catalog_stats st;
    struct seen seen = {0, 0};
    char *xml, *want;
    size_t len, want_len;
    long seq_before;

    (void)state;
    load_all(u, p);
    p[TEST_N_DOCS] = p[2]; /* the same revision twice in one batch: stored once */
    memset(&st, 0, sizeof(st));
    if (catalog_store(c, p, TEST_N_DOCS + 1, &st, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(st.new_revisions, 9);
    assert_int_equal(st.present_revisions, 1);
    assert_int_equal(st.new_categories, 3);
    assert_int_equal(st.new_updates, 6);
    assert_int_equal(st.new_files, 3);
    assert_int_equal(count(c, "SELECT count(*) FROM revision"), 9);
    assert_int_equal(count(c, "SELECT count(*) FROM file WHERE state = 'absent'"), 3);
    assert_int_equal(count(c, "SELECT count(*) FROM revision WHERE update_type = 'Category' AND "
                              "category_type = 'Company' AND "
                              "update_id = '56309036-4c77-4dd9-951a-99ee9c246a94'"),
                     1);
    /* relations of the bundle a2fef9b0 */
    assert_int_equal(count(c, "SELECT count(*) FROM revision_supersedes s JOIN revision r ON "
                              "r.id = s.revision_id WHERE r.update_id = "
                              "'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe'"),
                     10);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_prerequisite p JOIN revision r ON "
                              "r.id = p.revision_id WHERE p.is_category AND r.update_id = "
                              "'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe'"),
                     2);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_bundle b JOIN revision r ON "
                              "r.id = b.revision_id WHERE b.member_update_id = "
                              "'266f6222-c89d-43f2-9f8a-69340271e677' AND "
                              "b.member_revision_number = 200"),
                     1);
    assert_int_equal(count(c, "SELECT count(*) FROM revision WHERE NOT is_leaf"), 3);
    /* every new revision got its client fragments in the same commit (fragment_store) */
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment_state WHERE error IS NULL"),
                     9);
    /* documents and fragments stored with lz4 (schema 011), not pglz */
    assert_int_equal(
        count(c, "SELECT count(*) FROM revision WHERE "
                 "pg_column_compression(xml) IS DISTINCT FROM 'lz4' AND length(xml) > 4000"),
        0);
    assert_true(count(c, "SELECT count(*) FROM revision WHERE pg_column_compression(xml) = 'lz4'") >
                0);
    /* the COPY path of catalog_store (fragment_store_add_new) stores exactly what the checked
     * path (fragment_store_add, for revisions stored before schema 006) derives */
    {
        struct fragment_store_stats fst;
        PGresult *r = PQexec(c, "CREATE TABLE frag_copy AS SELECT revision_id, kind, language, "
                                "xml FROM revision_fragment;"
                                "DELETE FROM revision_fragment_state");

        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment"), 0);
        memset(&fst, 0, sizeof(fst));
        if (fragment_store_missing(c, &fst, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        assert_int_equal(fst.derived, 9);
        assert_true(count(c, "SELECT count(*) FROM frag_copy") > 9);
        assert_int_equal(count(c, "SELECT count(*) FROM ((SELECT * FROM frag_copy EXCEPT SELECT "
                                  "revision_id, kind, language, xml FROM revision_fragment) UNION "
                                  "ALL (SELECT revision_id, kind, language, xml FROM "
                                  "revision_fragment EXCEPT SELECT * FROM frag_copy)) x"),
                         0);
    }
    /* fragment_store_add_new: a document that cannot be derived is marked with its reason, the
     * others of the same call are stored */
    {
        struct fragment_store_stats fst;
        struct fragment_source src[2];
        char *doc;
        size_t doc_len;
        long a = count(c, "SELECT min(id) FROM revision"),
             b = count(c, "SELECT max(id) FROM revision");
        PGresult *r;

        assert_int_equal(
            catalog_get_xml(c, "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 200, &doc, &doc_len), 1);
        r = PQexec(c, "DELETE FROM revision_fragment_state; BEGIN");
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        memset(src, 0, sizeof(src));
        src[0].revision_id = a;
        src[0].xml = "<NotAnUpdate/>";
        src[0].len = strlen(src[0].xml);
        src[1].revision_id = b;
        src[1].xml = doc;
        src[1].len = doc_len;
        memset(&fst, 0, sizeof(fst));
        if (fragment_store_add_new(c, src, 2, &fst, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        r = PQexec(c, "COMMIT");
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        assert_int_equal(fst.derived, 1);
        assert_int_equal(fst.failed, 1);
        assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment_state WHERE error IS NOT "
                                  "NULL AND error <> '' AND revision_id = (SELECT min(id) FROM "
                                  "revision)"),
                         1);
        assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment WHERE revision_id = "
                                  "(SELECT min(id) FROM revision)"),
                         0);
        assert_true(count(c, "SELECT count(*) FROM revision_fragment WHERE revision_id = (SELECT "
                             "max(id) FROM revision) AND kind = 'core'") == 1);
        /* the checked path skips a revision that is not stored (schema 015: no foreign key,
         * the revision row is read FOR KEY SHARE instead) */
        memset(&fst, 0, sizeof(fst));
        src[1].revision_id = b + 1000;
        if (fragment_store_add(c, &src[1], 1, &fst, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        free(doc);
        assert_int_equal(fst.derived, 0);
        assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment_state WHERE revision_id "
                                  "NOT IN (SELECT id FROM revision)"),
                         0);
        /* the rest derived again by the checked path, as before this block */
        memset(&fst, 0, sizeof(fst));
        if (fragment_store_missing(c, &fst, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        assert_int_equal(fst.derived, 7);
    }
    assert_int_equal(count(c, "SELECT count(*) FROM revision_text t JOIN revision r ON "
                              "r.id = t.revision_id WHERE r.update_id = "
                              "'56309036-4c77-4dd9-951a-99ee9c246a94'"),
                     24);
    assert_int_equal(count(c, "SELECT count(*) FROM file f JOIN revision_file rf USING (sha1) "
                              "WHERE encode(f.sha1, 'hex') = "
                              "'87f5bd0469585006aa5d3a77d1c662fd2895ddcd' AND f.size = 11606440 "
                              "AND length(f.sha256) = 32 AND f.file_name = 'AM_Delta.exe'"),
                     1);

    /* the second time nothing changes, not even change numbers */
    seq_before = count(c, "SELECT max(change_seq) FROM revision");
    memset(&st, 0, sizeof(st));
    assert_int_equal(catalog_store(c, p, TEST_N_DOCS, &st, err, sizeof(err)), 0);
    assert_int_equal(st.new_revisions, 0);
    assert_int_equal(st.present_revisions, 9);
    assert_int_equal(st.new_files, 0);
    assert_int_equal(count(c, "SELECT count(*) FROM revision"), 9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_supersedes"), 10);
    assert_int_equal(count(c, "SELECT max(change_seq) FROM revision"), seq_before);

    /* read helpers */
    assert_int_equal(catalog_get_xml(c, "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 200, &xml, &len),
                     1);
    want = test_read_file(testdata_path("docs/a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml"),
                          &want_len);
    assert_int_equal(len, want_len);
    assert_memory_equal(xml, want, len);
    free(xml);
    free(want);
    assert_int_equal(catalog_get_xml(c, "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe", 199, &xml, &len),
                     0);
    assert_int_equal(catalog_get_xml(c, "56309036-4c77-4dd9-951a-99ee9c246a94", 101, &xml, NULL),
                     1);
    free(xml);
    assert_int_equal(catalog_count_revisions(c), 9);
    assert_int_equal(catalog_foreach_revision(c, visit, &seen, err, sizeof(err)), 0);
    assert_int_equal(seen.n, 9);
    assert_int_equal(seen.with_files, 3);
    {
        /* no file present yet: the sample is any file; afterwards the present one */
        unsigned char sha1[20];
        char name[256];
        int64_t size = 0;

        assert_int_equal(catalog_file_sample(c, sha1, name, sizeof(name), &size), 1);
        assert_true(size >= 2);
        assert_int_equal(catalog_file_set_state(c, u[1].files[0].sha1, "present", NULL), 0);
        assert_true(u[1].files[0].size >= 2);
        assert_int_equal(catalog_file_sample(c, sha1, name, sizeof(name), &size), 1);
        assert_memory_equal(sha1, u[1].files[0].sha1, 20);
        assert_string_equal(name, u[1].files[0].file_name);
        assert_true(size == u[1].files[0].size);
    }
    assert_int_equal(count(c, "SELECT count(*) FROM file WHERE state = 'present' AND stored_at "
                              "IS NOT NULL"),
                     1);

    /* schema 013: the child rows go with their revision (a trigger, not foreign keys) */
    {
        PGresult *r = PQexec(c, "DELETE FROM revision WHERE id = (SELECT min(revision_id) FROM "
                                "revision_prerequisite)");
        long left;

        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        left = count(c, "SELECT count(*) FROM revision_text");
        assert_true(left > 0);
        assert_int_equal(count(c, "SELECT count(*) FROM (SELECT revision_id FROM revision_text"
                                  " UNION SELECT revision_id FROM revision_prerequisite"
                                  " UNION SELECT revision_id FROM revision_bundle"
                                  " UNION SELECT revision_id FROM revision_supersedes"
                                  " UNION SELECT revision_id FROM revision_file"
                                  " UNION SELECT revision_id FROM revision_fragment"
                                  " UNION SELECT revision_id FROM revision_fragment_state) c"
                                  " WHERE revision_id NOT IN (SELECT id FROM revision)"),
                         0);
        r = PQexec(c, "TRUNCATE revision CASCADE");
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        assert_int_equal(count(c, "SELECT (SELECT count(*) FROM revision_text)"
                                  " + (SELECT count(*) FROM revision_prerequisite)"
                                  " + (SELECT count(*) FROM revision_bundle)"
                                  " + (SELECT count(*) FROM revision_supersedes)"
                                  " + (SELECT count(*) FROM revision_file)"
                                  " + (SELECT count(*) FROM revision_fragment)"
                                  " + (SELECT count(*) FROM revision_fragment_state)"),
                         0);
    }

    for (size_t i = 0; i < TEST_N_DOCS; i++)
        update_free(&u[i]);
    testdb_drop(c, "unit_catalog_store");
}

static void test_store_failure_stores_nothing(void **state)
{
    char conninfo[256], err[512];
    PGconn *c = testdb_create_migrated("unit_catalog_fail", conninfo, sizeof(conninfo));
    struct update u[TEST_N_DOCS], *p[TEST_N_DOCS];
    size_t i;

    (void)state;
    load_all(u, p);
    /* a value the database refuses (update_type is NOT NULL) makes the whole batch fail */
    free(u[4].update_type);
    u[4].update_type = NULL;
    assert_int_equal(catalog_store(c, p, TEST_N_DOCS, NULL, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    assert_int_equal(count(c, "SELECT count(*) FROM revision"), 0);
    assert_int_equal(count(c, "SELECT count(*) FROM file"), 0);
    for (i = 0; i < TEST_N_DOCS; i++)
        update_free(&u[i]);
    testdb_drop(c, "unit_catalog_fail");
}

struct store_call {
    PGconn *conn;
    struct update **p;
    size_t n;
    struct catalog_stats st;
    char err[512];
    int rc;
};

static void *store_thread(void *arg)
{
    struct store_call *s = arg;

    s->rc = catalog_store(s->conn, s->p, s->n, &s->st, s->err, sizeof(s->err));
    return NULL;
}

/*
 * A revision of the batch stored by another writer after its ids were taken (here: its
 * transaction commits while our COPY waits on it): the batch falls back to the staging path,
 * the rest is stored with its child rows and fragments, the other writer's revision counts as
 * present, and nothing is stored twice.
 */
static void test_store_conflict_falls_back(void **state)
{
    char conninfo[256], err[512];
    PGconn *c = testdb_create_migrated("unit_catalog_race", conninfo, sizeof(conninfo));
    PGconn *other = PQconnectdb(conninfo);
    struct update u[TEST_N_DOCS], *p[TEST_N_DOCS];
    struct store_call call;
    struct catalog_stats st;
    pthread_t t;
    PGresult *r;
    int waited;

    (void)state;
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    load_all(u, p);
    r = PQexec(other, "BEGIN");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    memset(&st, 0, sizeof(st));
    if (catalog_store_tx(other, &p[2], 1, &st, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(st.new_revisions, 1);
    memset(&call, 0, sizeof(call));
    call.conn = c;
    call.p = p;
    call.n = TEST_N_DOCS;
    assert_int_equal(pthread_create(&t, NULL, store_thread, &call), 0);
    /* our store waits on the other writer's uncommitted row (bounded: only catches a hang) */
    for (waited = 0; waited < 3000; waited++) {
        /* pg_stat_activity is read once per transaction unless cleared */
        r = PQexec(other, "SELECT pg_stat_clear_snapshot()");
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        PQclear(r);
        if (count(other, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND pid <> pg_backend_pid() AND "
                         "wait_event_type = 'Lock' AND query LIKE 'COPY revision %'") == 1)
            break;
        usleep(10000);
    }
    assert_true(waited < 3000);
    r = PQexec(other, "COMMIT");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (call.rc != 0)
        fail_msg("%s", call.err);
    assert_int_equal(call.st.new_revisions, 8);
    assert_int_equal(call.st.present_revisions, 1);
    assert_int_equal(count(c, "SELECT count(*) FROM revision"), 9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment_state WHERE error IS NULL"),
                     9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_supersedes"), 10);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_text t JOIN revision r ON "
                              "r.id = t.revision_id WHERE r.update_id = "
                              "'56309036-4c77-4dd9-951a-99ee9c246a94'"),
                     24);
    assert_int_equal(count(c, "SELECT count(*) FROM revision r WHERE NOT EXISTS (SELECT 1 FROM "
                              "revision_text t WHERE t.revision_id = r.id)"),
                     0);
    assert_int_equal(count(c, "SELECT count(*) FROM file"), 3);
    PQfinish(other);
    for (size_t i = 0; i < TEST_N_DOCS; i++)
        update_free(&u[i]);
    testdb_drop(c, "unit_catalog_race");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_is_idempotent),
        cmocka_unit_test(test_store_failure_stores_nothing),
        cmocka_unit_test(test_store_conflict_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
