/*
 * Tests for trust: loading the ca-file (every certificate of a bundle, the messages for a
 * missing file, a file without a certificate and a short error buffer) and installing it on a
 * curl handle. The messages for a refused certificate need a TLS server: they are tested in
 * tests/integration/test_sync_tls.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "trust.h"

static void test_load(void **state)
{
    struct trust *t;
    CURL *easy;
    char err[512];

    (void)state;
    t = trust_load(testdata_path("pem/test-ca.pem"), err, sizeof(err));
    assert_non_null(t);
    easy = curl_easy_init();
    assert_non_null(easy);
    trust_apply(t, easy);
    trust_apply(NULL, easy); /* the system store alone: nothing to set */
    curl_easy_cleanup(easy);
    trust_free(t);
    trust_free(NULL);
}

static void test_refused(void **state)
{
    char err[512], tiny[24];

    (void)state;
    assert_null(trust_load("/nonexistent/ca.pem", err, sizeof(err)));
    assert_string_equal(err, "cannot read ca-file /nonexistent/ca.pem: No such file or "
                             "directory; fix the file, or run wsusctl config reset ca-file");
    assert_null(trust_load("/etc/hostname", err, sizeof(err)));
    assert_string_equal(err, "ca-file /etc/hostname holds no PEM certificate; give a file with "
                             "\"-----BEGIN CERTIFICATE-----\" blocks, or run wsusctl config "
                             "reset ca-file");
    /* a message cut short says so */
    assert_null(trust_load("/etc/hostname", tiny, sizeof(tiny)));
    assert_string_equal(tiny, "ca-file /etc/hostnam...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
