/*
 * client_status: the MiscData lists of a status event (EventID 156, MS-WUSP 2.2.2.3.1) into one
 * verdict per update (common/client_event.c). Pure; the storing and the report are tested by
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
    p += snprintf(p, 3, "U=");
    for (i = 0; i < n; i++)
        p += snprintf(p, 38, "%08zx-0000-4000-8000-000000000000;", i + 1);
    client_status_init(&st);
    assert_int_equal(client_status_add(&st, s), 1);
    assert_int_equal(st.n, CLIENT_STATUS_MAX_IDS);
    assert_int_equal(st.dropped, 5);
    client_status_finish(&st);
    assert_int_equal(st.n, CLIENT_STATUS_MAX_IDS);
    client_status_free(&st);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_and_strongest),
        cmocka_unit_test(test_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
