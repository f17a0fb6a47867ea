/*
 * testutil: per-test databases in the throwaway cluster, test data paths, temp dirs.
 */
#include "testutil.h"
#include "db.h"
#include "xmalloc.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PGconn *testdb_admin(void)
{
    PGconn *c = PQconnectdb("dbname=postgres");

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "testutil: cannot reach the test cluster (PGHOST=%s): %s\n",
                getenv("PGHOST") ? getenv("PGHOST") : "(unset)", PQerrorMessage(c));
        exit(1);
    }
    return c;
}

static void testdb_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "testutil: %s: %s\n", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

PGconn *testdb_create(const char *name, char *conninfo, size_t len)
{
    PGconn *admin = testdb_admin();
    char sql[256];
    PGconn *c;

    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    testdb_sql(admin, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
    testdb_sql(admin, sql);
    PQfinish(admin);
    snprintf(conninfo, len, "dbname=%s", name);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "testutil: cannot connect to %s: %s\n", name, PQerrorMessage(c));
        exit(1);
    }
    return c;
}

PGconn *testdb_create_migrated(const char *name, char *conninfo, size_t len)
{
    PGconn *c = testdb_create(name, conninfo, len);
    char err[512];

    if (db_migrate(c, NULL, err, sizeof(err)) < 0 || db_ensure_identity(c) < 0) {
        fprintf(stderr, "testutil: migrate %s: %s\n", name, err);
        exit(1);
    }
    return c;
}

void testdb_drop(PGconn *conn, const char *name)
{
    PGconn *admin;
    char sql[256];

    if (conn != NULL)
        PQfinish(conn);
    admin = testdb_admin();
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
    testdb_sql(admin, sql);
    PQfinish(admin);
}

const char *const test_docs[TEST_N_DOCS] = {
    "1f9bd9bb-7390-4aa3-bbdb-ded99fac2583-r200.xml",
    "266f6222-c89d-43f2-9f8a-69340271e677-r200.xml",
    "56309036-4c77-4dd9-951a-99ee9c246a94-r101.xml",
    "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d-r100.xml",
    "7366a74a-ef29-44e1-b738-570b516aca1f-r200.xml",
    "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml",
    "ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200.xml",
    "dd78b8a1-0b20-45c1-add6-4da72e9364cf-r202.xml",
    "ff36f0b5-dded-4780-8664-cd78af8b62c1-r200.xml",
};

const char *testdata_path(const char *rel)
{
    static char path[4096];
    const char *base = getenv("WSUS_TEST_DATA");

    snprintf(path, sizeof(path), "%s/%s", base ? base : WSUS_SOURCE_DIR "/tests/data", rel);
    return path;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "testutil: cannot read %s\n", path);
        exit(1);
    }
    data = xmalloc((size_t)n + 1);
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "testutil: short read on %s\n", path);
        exit(1);
    }
    data[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return data;
}

char *test_tmpdir(void)
{
    char *t = xstrdup("/tmp/wsusd-test-XXXXXX");

    if (mkdtemp(t) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    return t;
}

static int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_rmtree(const char *path)
{
    nftw(path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
