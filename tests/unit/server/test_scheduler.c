/*
 * Tests for scheduler_next(): when the next automatic synchronization runs for a schedule
 * value ("manual", "N/day from HH:MM") and an offset, in local time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler.h"

static time_t local(int y, int mo, int d, int h, int mi)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

static void test_manual_and_junk(void **state)
{
    (void)state;
    assert_true(scheduler_next("manual", local(2030, 1, 15, 10, 0), 0) == 0);
    assert_true(scheduler_next("", local(2030, 1, 15, 10, 0), 0) == 0);
    assert_true(scheduler_next("often", local(2030, 1, 15, 10, 0), 0) == (time_t)-1);
    assert_true(scheduler_next("0/day from 03:00", local(2030, 1, 15, 10, 0), 0) == (time_t)-1);
    assert_true(scheduler_next("2/day from 25:00", local(2030, 1, 15, 10, 0), 0) == (time_t)-1);
}

static void test_once_a_day(void **state)
{
    (void)state;
    /* before the time: today; after it: tomorrow */
    assert_true(scheduler_next("1/day from 03:00", local(2030, 1, 15, 2, 0), 0) ==
                local(2030, 1, 15, 3, 0));
    assert_true(scheduler_next("1/day from 03:00", local(2030, 1, 15, 3, 0), 0) ==
                local(2030, 1, 16, 3, 0));
    assert_true(scheduler_next("1/day from 03:00", local(2030, 1, 15, 23, 59), 0) ==
                local(2030, 1, 16, 3, 0));
}

static void test_several_a_day_with_offset(void **state)
{
    (void)state;
    /* 4/day from 03:00 = 03:00, 09:00, 15:00, 21:00 */
    assert_true(scheduler_next("4/day from 03:00", local(2030, 1, 15, 10, 0), 0) ==
                local(2030, 1, 15, 15, 0));
    assert_true(scheduler_next("4/day from 03:00", local(2030, 1, 15, 22, 0), 0) ==
                local(2030, 1, 16, 3, 0));
    /* a slot that wraps past midnight: 21:00 + 6 h = 03:00 next day */
    assert_true(scheduler_next("4/day from 21:00", local(2030, 1, 15, 1, 0), 0) ==
                local(2030, 1, 15, 3, 0));
    /* the random offset shifts every slot */
    assert_true(scheduler_next("4/day from 03:00", local(2030, 1, 15, 10, 0), 600) ==
                local(2030, 1, 15, 15, 10));
    assert_true(scheduler_next("4/day from 03:00", local(2030, 1, 15, 15, 5), 600) ==
                local(2030, 1, 15, 15, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manual_and_junk),
        cmocka_unit_test(test_once_a_day),
        cmocka_unit_test(test_several_a_day_with_offset),
    };
    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
