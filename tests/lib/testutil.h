/*
 * testutil: helpers for unit tests that need the real PostgreSQL test cluster (started by the
 * "pg" ctest fixture, reached through PGHOST/PGUSER in the environment) and test data files.
 */
#ifndef WSUS_TESTUTIL_H
#define WSUS_TESTUTIL_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * Create a fresh, empty database for this test (dropping any leftover of the same name),
 * write its conninfo into conninfo, and return a connection to it. Aborts the test program
 * on failure. name should be unique per test executable.
 */
PGconn *testdb_create(const char *name, char *conninfo, size_t len);
/* Same, with every migration applied. */
PGconn *testdb_create_migrated(const char *name, char *conninfo, size_t len);
/* Drop the database (closing conn first). */
void testdb_drop(PGconn *conn, const char *name);
/* The 9 real update documents of tests/data/docs ("<UpdateID>-r<revision>.xml"), sorted. */
#define TEST_N_DOCS 9
extern const char *const test_docs[TEST_N_DOCS];
/* Absolute path of a file under tests/data, in a static buffer. */
const char *testdata_path(const char *rel);
/* Read a whole file; aborts on failure. *len may be NULL. Caller frees. */
char *test_read_file(const char *path, size_t *len);
/* A fresh temporary directory (mkdtemp under /tmp); caller removes it with test_rmtree. */
char *test_tmpdir(void);
void test_rmtree(const char *path);

#endif
