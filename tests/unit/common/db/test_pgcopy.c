/*
 * test_pgcopy: COPY FROM STDIN in text format against the real test cluster: every character
 * that needs escaping, NULLs, bytea and numbers come back exactly; rows beyond one chunk are
 * sent in several; a COPY the server refuses reports its message and stores nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcopy.h"
#include "testutil.h"

static PGresult *must(PGconn *c, const char *sql, ExecStatusType want)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != want)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    return r;
}

static void test_values_round_trip(void **state)
{
    static const char tricky[] = "a\tb\nc\rd\\e \\N f\\\\tg";
    static const unsigned char bin[] = {0, 1, '\\', '\t', '\n', 0xff};
    char conninfo[256], err[512];
    PGconn *c = testdb_create("unit_pgcopy", conninfo, sizeof(conninfo));
    struct pgcopy cp;
    PGresult *r;
    int i;

    (void)state;
    PQclear(must(c, "CREATE TABLE t (n bigint, s text, b bytea, z text)", PGRES_COMMAND_OK));
    assert_int_equal(pgcopy_begin(&cp, c, "COPY t (n, s, b, z) FROM STDIN", err, sizeof(err)), 0);
    for (i = 0; i < 3000; i++) { /* ~3 MB: several chunks */
        char big[1024];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        pgcopy_fmt(&cp, 1, "%d", i);
        pgcopy_text(&cp, tricky, strlen(tricky), 0);
        pgcopy_bytea(&cp, i == 0 ? NULL : bin, sizeof(bin), 0);
        pgcopy_str(&cp, i == 1 ? NULL : big, 0);
        pgcopy_end_row(&cp);
    }
    if (pgcopy_finish(&cp, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    r = must(c,
             "SELECT count(*), count(*) FILTER (WHERE s = E'a\\tb\\nc\\rd\\\\e \\\\N f\\\\\\\\tg'),"
             " count(b), count(*) FILTER (WHERE b = '\\x00015c090aff'::bytea), count(z),"
             " sum(n), min(length(z)) FROM t",
             PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "3000");
    assert_string_equal(PQgetvalue(r, 0, 1), "3000");
    assert_string_equal(PQgetvalue(r, 0, 2), "2999");
    assert_string_equal(PQgetvalue(r, 0, 3), "2999");
    assert_string_equal(PQgetvalue(r, 0, 4), "2999");
    assert_string_equal(PQgetvalue(r, 0, 5), "4498500");
    assert_string_equal(PQgetvalue(r, 0, 6), "1023");
    PQclear(r);

    /* a bytea longer than the encoder's 256-byte step, every byte value: back exactly */
    {
        unsigned char blob[1000];
        char sql[2200 + 64];
        size_t k, o;

        for (k = 0; k < sizeof(blob); k++)
            blob[k] = (unsigned char)(k * 7 + k / 256);
        PQclear(must(c, "CREATE TABLE t2 (b bytea)", PGRES_COMMAND_OK));
        assert_int_equal(pgcopy_begin(&cp, c, "COPY t2 (b) FROM STDIN", err, sizeof(err)), 0);
        pgcopy_bytea(&cp, blob, sizeof(blob), 1);
        pgcopy_end_row(&cp);
        if (pgcopy_finish(&cp, err, sizeof(err)) != 0)
            fail_msg("%s", err);
        o = (size_t)snprintf(sql, sizeof(sql), "SELECT count(*) FROM t2 WHERE b = '\\x");
        for (k = 0; k < sizeof(blob); k++)
            o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%02x", blob[k]);
        assert_true(o + 12 < sizeof(sql));
        memcpy(sql + o, "'::bytea", 9);
        r = must(c, sql, PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), "1");
        PQclear(r);
    }

    /* refused by the server (not a number): its message, nothing stored, connection usable */
    assert_int_equal(pgcopy_begin(&cp, c, "COPY t (n) FROM STDIN", err, sizeof(err)), 0);
    pgcopy_fmt(&cp, 1, "%d", 7);
    pgcopy_end_row(&cp);
    pgcopy_str(&cp, "seven", 1);
    pgcopy_end_row(&cp);
    assert_int_equal(pgcopy_finish(&cp, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid input syntax for type bigint"));
    r = must(c, "SELECT count(*) FROM t", PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "3000");
    PQclear(r);

    /* a COPY statement the server does not accept: begin fails with its message */
    assert_int_equal(pgcopy_begin(&cp, c, "COPY nosuch FROM STDIN", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nosuch"));
    testdb_drop(c, "unit_pgcopy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
