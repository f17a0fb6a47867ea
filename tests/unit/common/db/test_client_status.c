/*
 * client_status: the MiscData lists of a status event (EventID 156, MS-WUSP 2.2.2.3.1) into one
 * verdict per update (common/db/client_event.c). Pure; the storing and the report are tested by
 * tests/integration/test_wusp.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client_event.h"
#include "client_report.h"
#include "strutil.h"
#include "testutil.h"

#define A "1594b429-a8c5-4b0d-ac86-79b0a826a847"
#define B "391d3487-e6f5-4bd0-a607-7e29f9fbd88e"
#define C "e45b26c2-278f-48f3-97d1-aa0fd57423d5"

static void test_tags_and_strongest(void **state)
{
    struct client_status st;

    (void)state;
    client_status_init(&st);
    /* the capture's form: upper case, ';' separated; blanks, empty items and the zero id */
    assert_int_equal(client_status_add(&st, "U=1594B429-A8C5-4B0D-AC86-79B0A826A847; " B
                                            " ;;00000000-0000-0000-0000-000000000000"),
                     1);
    assert_int_equal(client_status_add(&st, "g=" B), 1);
    assert_int_equal(client_status_add(&st, "V=" C ";" A), 1);
    /* other tags, and things that are not tags */
    assert_int_equal(client_status_add(&st, "G=1507.2601.30012.0"), 0);
    assert_int_equal(client_status_add(&st, "Q=1"), 0);
    assert_int_equal(client_status_add(&st, "U"), 0);
    assert_int_equal(client_status_add(&st, ""), 0);
    assert_int_equal(client_status_add(&st, NULL), 0);
    assert_int_equal(client_status_add(&st, "h=not-a-guid;" A "x"), 1);
    assert_int_equal(st.dropped, 2);
    client_status_finish(&st);
    assert_int_equal(st.n, 3);
    /* A: installable and installed -> installed; B: installable and failed -> failed */
    assert_string_equal(st.e[0].update_id, A);
    assert_int_equal(st.e[0].state, CLIENT_STATE_INSTALLED);
    assert_string_equal(st.e[1].update_id, B);
    assert_int_equal(st.e[1].state, CLIENT_STATE_FAILED);
    assert_string_equal(st.e[2].update_id, C);
    assert_string_equal(client_state_name(st.e[2].state), "installed");
    assert_string_equal(client_state_name(CLIENT_STATE_PENDING_REBOOT), "pending_reboot");
    assert_null(client_state_name(0));
    client_status_free(&st);
    client_status_free(&st); /* twice is fine */
}

static void test_bounded(void **state)
{
    struct client_status st;
    size_t n = CLIENT_STATUS_MAX_IDS + 5, i;
    char *s = malloc(2 + n * 37 + 1), *p = s;

    (void)state;
    assert_non_null(s);
    memcpy(p, "U=", 2);
    p += 2;
    for (i = 0; i < n; i++) {
        int k = snprintf(p, 38, "%08zx-0000-4000-8000-000000000000;", i + 1);

        assert_int_equal(k, 37);
        p += k;
    }
    client_status_init(&st);
    assert_int_equal(client_status_add(&st, s), 1);
    assert_int_equal(st.n, CLIENT_STATUS_MAX_IDS);
    assert_int_equal(st.dropped, 5);
    client_status_finish(&st);
    assert_int_equal(st.n, CLIENT_STATUS_MAX_IDS);
    client_status_free(&st);
    free(s);
}

static void sql_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
}

struct seen {
    int computers;
    char id[4][37];
    size_t n[4];
    struct client_rollup_update u[4][4];
    char last_status[4][32];
};

static int seen_cb(void *arg, const struct client_rollup_computer *c)
{
    struct seen *s = arg;
    size_t i;

    assert_true(s->computers < 4 && c->n <= 4);
    memcpy(s->id[s->computers], c->computer_id, 37);
    memcpy(s->last_status[s->computers], c->last_status, 32);
    s->n[s->computers] = c->n;
    for (i = 0; i < c->n; i++)
        s->u[s->computers][i] = c->updates[i];
    s->computers++;
    return 0;
}

/* The rollup hook: a computer's status event, then a later install event of one update; a
 * computer without status; a delta after a time. */
static void test_rollup_hook(void **state)
{
    char conninfo[256];
    PGconn *c = testdb_create_migrated("unit_client_rollup", conninfo, sizeof(conninfo));
    struct client_status st;
    struct client_event ev;
    struct seen s;
    size_t stored;
    PGresult *r;
    char mark[64];

    (void)state;
    sql_ok(c, "INSERT INTO computer (id, name, address) VALUES"
              " ('00000000-0000-4000-8000-000000000001', 'a.test', '127.0.0.1'),"
              " ('00000000-0000-4000-8000-000000000002', 'b.test', '127.0.0.2')");
    client_status_init(&st);
    assert_int_equal(
        str_copy(st.instance_id, sizeof(st.instance_id), "0e000000-0000-4000-8000-000000000001"),
        0);
    assert_int_equal(client_status_add(&st, "U=" A ";" B), 1);
    assert_int_equal(client_status_add(&st, "W=" C), 1);
    client_status_finish(&st);
    assert_int_equal(client_status_store(c, "00000000-0000-4000-8000-000000000001", &st), 0);
    client_status_free(&st);
    r = PQexec(c, "SELECT now()");
    assert_int_equal(str_copy(mark, sizeof(mark), PQgetvalue(r, 0, 0)), 0);
    PQclear(r);

    memset(&ev, 0, sizeof(ev));
    assert_int_equal(
        str_copy(ev.instance_id, sizeof(ev.instance_id), "0e000000-0000-4000-8000-000000000002"),
        0);
    ev.event_id = 183;
    ev.namespace_id = 1;
    ev.source_id = 101;
    assert_int_equal(str_copy(ev.update_id, sizeof(ev.update_id), B), 0);
    assert_int_equal(client_event_store(c, "00000000-0000-4000-8000-000000000001", &ev, 1, &stored),
                     0);
    assert_int_equal(stored, 1);

    memset(&s, 0, sizeof(s));
    assert_int_equal(client_report_rollup(c, NULL, seen_cb, &s), 0);
    assert_int_equal(s.computers, 2); /* a full rollup: every computer */
    assert_string_equal(s.id[0], "00000000-0000-4000-8000-000000000001");
    assert_int_equal(s.n[0], 3);
    assert_string_equal(s.u[0][0].update_id, A);
    assert_int_equal(s.u[0][0].state, CLIENT_ROLLUP_NOT_INSTALLED);
    assert_string_equal(s.u[0][1].update_id, B);
    assert_int_equal(s.u[0][1].state, CLIENT_ROLLUP_INSTALLED); /* the later event */
    assert_int_equal(s.u[0][2].state, CLIENT_ROLLUP_INSTALLED_PENDING_REBOOT);
    assert_int_equal(strlen(s.u[0][0].changed), 24);
    assert_true(s.last_status[0][0] != '\0');
    assert_int_equal(s.n[1], 0); /* b never reported */
    assert_string_equal(s.last_status[1], "");

    /* after the status: only what changed since, of the computers that changed */
    memset(&s, 0, sizeof(s));
    assert_int_equal(client_report_rollup(c, mark, seen_cb, &s), 0);
    assert_int_equal(s.computers, 1);
    assert_int_equal(s.n[0], 1);
    assert_string_equal(s.u[0][0].update_id, B);
    testdb_drop(c, "unit_client_rollup");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_and_strongest),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_rollup_hook),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
