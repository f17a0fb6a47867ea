/*
 * Tests for the check table of health.c (ids unique and in the documented order, verdict
 * names) and for the storage rule it shares with the sync (sync_storage_differs()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "health.h"
#include "sync.h"

static void test_table(void **state)
{
    size_t i, j;

    (void)state;
    assert_true(health_count() >= 15);
    assert_string_equal(health_id(0), "database");
    assert_null(health_id(health_count()));
    for (i = 0; i < health_count(); i++)
        for (j = i + 1; j < health_count(); j++)
            assert_true(strcmp(health_id(i), health_id(j)) != 0);
    assert_string_equal(health_verdict_name(HEALTH_OK), "ok");
    assert_string_equal(health_verdict_name(HEALTH_WARN), "warn");
    assert_string_equal(health_verdict_name(HEALTH_FAIL), "fail");
    assert_string_equal(health_verdict_name(HEALTH_SKIPPED), "skipped");
}

static void test_storage_rule(void **state)
{
    char msg[1024] = "";

    (void)state;
    assert_int_equal(
        sync_storage_differs("b1", "local", "http://u:8530", "http://u:8530", 0, msg, sizeof(msg)),
        0);
    assert_int_equal(sync_storage_differs("b1", "microsoft-update", "microsoft-update",
                                          "https://sws.update.microsoft.com", 1, msg, sizeof(msg)),
                     0);
    assert_int_equal(
        sync_storage_differs("b1", "local", "http://u:8530", "http://u:8530", 1, msg, sizeof(msg)),
        1);
    assert_string_equal(msg, "storage options differ: this server (b1) stores update files "
                             "locally (storage=local) but its upstream http://u:8530 stores only "
                             "metadata and sends clients to Microsoft Update "
                             "(CatalogOnlySync=true); every server of a hierarchy must use the "
                             "same option: run wsusctl config set storage microsoft-update here, "
                             "or change the upstream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_storage_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
