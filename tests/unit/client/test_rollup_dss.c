/*
 * Tests for rollup_dss: which upstream protocol versions take the reporting rollup (1.3 and
 * later, the minor compared as a number). The exchange itself runs against real wsusd in
 * tests/integration/test_rollup.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rollup_dss.h"

static void test_protocol(void **state)
{
    (void)state;
    assert_true(rollup_dss_protocol_ok("1.3"));
    assert_true(rollup_dss_protocol_ok("1.8"));
    assert_true(rollup_dss_protocol_ok("1.20")); /* WSUS 10: 20 > 3, not "1.2" */
    assert_true(rollup_dss_protocol_ok("1.21"));
    assert_true(rollup_dss_protocol_ok("2.0"));
    assert_false(rollup_dss_protocol_ok("1.2"));
    assert_false(rollup_dss_protocol_ok("1.1"));
    assert_false(rollup_dss_protocol_ok("1"));
    assert_false(rollup_dss_protocol_ok(""));
    assert_false(rollup_dss_protocol_ok(NULL));
    assert_false(rollup_dss_protocol_ok("1.x"));
    assert_false(rollup_dss_protocol_ok("one.three"));
    assert_false(rollup_dss_protocol_ok("1.99999999999999999999"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
