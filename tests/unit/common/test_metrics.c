/*
 * Tests for metrics: requests land in the series of their service (by path prefix, any case)
 * and status, odd statuses in "none"; faults by code; byte counters add up; label values are
 * escaped as the Prometheus text format wants, and bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *counters(void)
{
    struct buf b;

    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_write_counters(&b), 0);
    return buf_detach(&b, NULL);
}

static void test_requests(void **state)
{
    char *text;

    (void)state;
    metrics_request("/ServerSyncWebService/ServerSyncWebService.asmx", 200);
    metrics_request("/serversyncwebservice/ServerSyncWebService.asmx", 200);
    metrics_request("/Content/ab/ABCDEF.cab", 206);
    metrics_request("/nowhere", 404);
    metrics_request(NULL, 999);
    metrics_request("/api/v1/status", 0);
    text = counters();
    assert_non_null(
        strstr(text, "\nwsusd_http_requests_total{service=\"serversync\",status=\"200\"} 2\n"));
    assert_non_null(
        strstr(text, "\nwsusd_http_requests_total{service=\"content\",status=\"206\"} 1\n"));
    assert_non_null(
        strstr(text, "\nwsusd_http_requests_total{service=\"other\",status=\"404\"} 1\n"));
    assert_non_null(
        strstr(text, "\nwsusd_http_requests_total{service=\"other\",status=\"none\"} 1\n"));
    assert_non_null(
        strstr(text, "\nwsusd_http_requests_total{service=\"admin\",status=\"none\"} 1\n"));
    assert_null(strstr(text, "service=\"dssauth\""));
    free(text);
}

static void test_faults_and_bytes(void **state)
{
    char *text;

    (void)state;
    metrics_soap_fault(SOAP_ERR_INVALID_COOKIE);
    metrics_soap_fault(SOAP_ERR_INVALID_COOKIE);
    metrics_soap_fault(SOAP_ERR_NONE);         /* not a fault: not counted */
    metrics_soap_fault((enum soap_error)1000); /* out of range: ignored */
    metrics_bytes_served(1000);
    metrics_bytes_served(24);
    metrics_bytes_downloaded(5);
    text = counters();
    assert_non_null(strstr(text, "\nwsusd_soap_faults_total{code=\"InvalidCookie\"} 2\n"));
    assert_non_null(strstr(text, "# TYPE wsusd_soap_faults_total counter\n"));
    assert_non_null(strstr(text, "\nwsusd_content_served_bytes_total 1024\n"));
    assert_non_null(strstr(text, "\nwsusd_content_downloaded_bytes_total 5\n"));
    free(text);
}

static void test_label_value(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(metrics_label_value(&b, "a\"b\\c\nd\te", 100), 0);
    assert_string_equal(buf_str(&b), "a\\\"b\\\\c\\nde");
    buf_reset(&b);
    assert_int_equal(metrics_label_value(&b, "branch1.example.org", 7), 0);
    assert_string_equal(buf_str(&b), "branch1");
    buf_reset(&b);
    assert_int_equal(metrics_label_value(&b, NULL, 7), 0);
    assert_string_equal(buf_str(&b), "");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_faults_and_bytes),
        cmocka_unit_test(test_label_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
