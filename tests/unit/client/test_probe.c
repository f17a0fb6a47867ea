/*
 * Tests for probe_resolve(): the host of an upstream URL and the addresses getaddrinfo gives
 * for it (loopback names only: no DNS is needed), and the messages for junk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "probe.h"

static void test_resolve_addresses(void **state)
{
    char host[64], addrs[128], err[128];

    (void)state;
    assert_int_equal(probe_resolve("http://127.0.0.1:8530", host, sizeof(host), addrs,
                                   sizeof(addrs), err, sizeof(err)),
                     0);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(addrs, "127.0.0.1");
    assert_int_equal(probe_resolve("https://[::1]:8531", host, sizeof(host), addrs, sizeof(addrs),
                                   err, sizeof(err)),
                     0);
    assert_string_equal(host, "::1");
    assert_string_equal(addrs, "::1");
}

static void test_resolve_failures(void **state)
{
    char host[64], addrs[128], err[128];

    (void)state;
    assert_int_equal(
        probe_resolve("not a url", host, sizeof(host), addrs, sizeof(addrs), err, sizeof(err)), -1);
    assert_string_equal(err, "\"not a url\" is not a URL with a host name");
    assert_int_equal(probe_resolve("http://wsusd-unit.invalid:8530", host, sizeof(host), addrs,
                                   sizeof(addrs), err, sizeof(err)),
                     -1);
    assert_string_equal(host, "wsusd-unit.invalid");
    assert_string_equal(addrs, "");
    assert_true(err[0] != '\0');
}

static void test_resolve_small_buffer(void **state)
{
    char host[64], addrs[4], err[128];

    (void)state;
    /* the list is cut, never overflowed */
    assert_int_equal(probe_resolve("http://127.0.0.1:8530", host, sizeof(host), addrs,
                                   sizeof(addrs), err, sizeof(err)),
                     0);
    assert_true(strlen(addrs) < sizeof(addrs));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_addresses),
        cmocka_unit_test(test_resolve_failures),
        cmocka_unit_test(test_resolve_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
