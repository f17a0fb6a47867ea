/*
 * Tests for range: Range header outcomes (single, suffix, open, multiple, coalescing, cap,
 * unsatisfiable, invalid), HTTP-date in its three forms, entity-tag lists and If-Range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "range.h"

#define SIZE 10000

static enum range_outcome parse(const char *v, int64_t size, struct range_span *s, size_t *n)
{
    return range_parse(v, size, s, RANGE_MAX_PARTS, n);
}

static void test_single_ranges(void **state)
{
    struct range_span s[RANGE_MAX_PARTS];
    size_t n;

    (void)state;
    assert_int_equal(parse("bytes=0-499", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].first, 0);
    assert_int_equal(s[0].last, 499);
    /* open range */
    assert_int_equal(parse("bytes=9500-", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(s[0].first, 9500);
    assert_int_equal(s[0].last, 9999);
    /* suffix range */
    assert_int_equal(parse("bytes=-500", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(s[0].first, 9500);
    assert_int_equal(s[0].last, 9999);
    /* suffix longer than the file: the whole file */
    assert_int_equal(parse("bytes=-20000", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(s[0].first, 0);
    assert_int_equal(s[0].last, 9999);
    /* last past the end is clamped */
    assert_int_equal(parse("bytes=9990-20000", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(s[0].last, 9999);
    /* unit is case-insensitive, OWS around commas */
    assert_int_equal(parse("Bytes=1-2 , ", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 1);
    /* the exact requests Delivery Optimization sent to a real WSUS (tests/data) */
    assert_int_equal(parse("bytes=204472320-204745167", 204745168, s, &n), RANGE_PARTIAL);
    assert_int_equal(s[0].last - s[0].first + 1, 272848);
    assert_int_equal(parse("bytes=0-918943", 918944, s, &n), RANGE_PARTIAL);
    assert_int_equal(s[0].last, 918943);
}

static void test_multiple_and_coalesced(void **state)
{
    struct range_span s[RANGE_MAX_PARTS];
    size_t n;

    (void)state;
    assert_int_equal(parse("bytes=0-9,20-29,-5", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 3);
    assert_int_equal(s[1].first, 20);
    assert_int_equal(s[2].first, 9995);
    /* overlapping and adjacent ranges merge into the first, order otherwise kept */
    assert_int_equal(parse("bytes=100-199,0-9,150-300,10-19", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].first, 100);
    assert_int_equal(s[0].last, 300);
    assert_int_equal(s[1].first, 0);
    assert_int_equal(s[1].last, 19);
    /* a chain that only merges transitively */
    assert_int_equal(parse("bytes=0-5,10-15,5-10", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].last, 15);
    /* unsatisfiable members are dropped, the rest served */
    assert_int_equal(parse("bytes=50000-60000,0-1", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].last, 1);
    /* empty list elements are ignored */
    assert_int_equal(parse("bytes=,0-1,,5-6,", SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, 2);
}

static void test_cap(void **state)
{
    struct range_span s[RANGE_MAX_PARTS];
    char hdr[1024];
    size_t n, i, len;

    (void)state;
    len = (size_t)snprintf(hdr, sizeof(hdr), "bytes=");
    for (i = 0; i < RANGE_MAX_PARTS; i++)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "%s%zu-%zu", i ? "," : "", i * 10,
                                i * 10 + 1);
    assert_int_equal(parse(hdr, SIZE, s, &n), RANGE_PARTIAL);
    assert_int_equal(n, RANGE_MAX_PARTS);
    /* one more range-spec than allowed: Range is ignored, the whole file is sent */
    snprintf(hdr + len, sizeof(hdr) - len, ",900-901");
    assert_int_equal(parse(hdr, SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(n, 0);
}

static void test_unsatisfiable_and_invalid(void **state)
{
    struct range_span s[RANGE_MAX_PARTS];
    size_t n;

    (void)state;
    assert_int_equal(parse("bytes=10000-", SIZE, s, &n), RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=20000-30000", SIZE, s, &n), RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=-0", SIZE, s, &n), RANGE_UNSATISFIABLE);
    assert_int_equal(parse("bytes=99999999999999999999999-", SIZE, s, &n), RANGE_UNSATISFIABLE);
    /* invalid: ignored (200), never an error */
    assert_int_equal(parse(NULL, SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=5-1", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=abc", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=-", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=1-2;3-4", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes = 1-2", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("items=1-2", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=1-2,x", SIZE, s, &n), RANGE_IGNORE);
    assert_int_equal(parse("bytes=--1", SIZE, s, &n), RANGE_IGNORE);
    /* empty file: Range ignored */
    assert_int_equal(parse("bytes=0-", 0, s, &n), RANGE_IGNORE);
}

static void test_http_date(void **state)
{
    char out[RANGE_HTTP_DATE_LEN];
    time_t t;

    (void)state;
    assert_int_equal(range_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(range_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(range_parse_http_date("Sun Nov  6 08:49:37 1994", &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(range_format_http_date(784111777, out, sizeof(out)), 0);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    /* the Last-Modified a real WSUS sent round-trips */
    assert_int_equal(range_parse_http_date("Wed, 02 Sep 2026 08:30:53 GMT", &t), 0);
    assert_int_equal(range_format_http_date(t, out, sizeof(out)), 0);
    assert_string_equal(out, "Wed, 02 Sep 2026 08:30:53 GMT");
    assert_int_equal(range_parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC", &t), -1);
    assert_int_equal(range_parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT", &t), -1);
    assert_int_equal(range_parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT", &t), -1);
    assert_int_equal(range_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT x", &t), -1);
    assert_int_equal(range_parse_http_date("", &t), -1);
    assert_int_equal(range_parse_http_date("\"abc\"", &t), -1);
    assert_int_equal(range_format_http_date(0, out, 10), -1);
}

static void test_etag_lists(void **state)
{
    const char *e = "\"ABC\"";

    (void)state;
    assert_true(range_etag_list_match("\"ABC\"", e, 1));
    assert_true(range_etag_list_match("*", e, 1));
    assert_true(range_etag_list_match(" \"x\", \"ABC\"", e, 0));
    assert_true(range_etag_list_match("W/\"ABC\"", e, 0));  /* weak comparison */
    assert_false(range_etag_list_match("W/\"ABC\"", e, 1)); /* strong comparison */
    assert_false(range_etag_list_match("\"abc\"", e, 0));   /* opaque, case matters */
    assert_false(range_etag_list_match("ABC", e, 0));
    assert_true(range_etag_list_match("junk, \"ABC\"", e, 0));
    assert_false(range_etag_list_match("\"ABC", e, 0));
    assert_false(range_etag_list_match("", e, 0));
    assert_false(range_etag_list_match("*, \"x\"", e, 0));
}

static void test_if_range(void **state)
{
    const char *e = "\"ABC\"";
    time_t lm = 784111777;

    (void)state;
    assert_true(range_if_range_matches(NULL, e, lm));
    assert_true(range_if_range_matches("\"ABC\"", e, lm));
    assert_false(range_if_range_matches("\"OLD\"", e, lm));
    assert_false(range_if_range_matches("W/\"ABC\"", e, lm)); /* weak never matches */
    assert_true(range_if_range_matches("Sun, 06 Nov 1994 08:49:37 GMT", e, lm));
    assert_false(range_if_range_matches("Sun, 06 Nov 1994 08:49:38 GMT", e, lm));
    assert_false(range_if_range_matches("Sun, 06 Nov 1994 08:49:36 GMT", e, lm));
    assert_false(range_if_range_matches("garbage", e, lm));
    assert_false(range_if_range_matches("\"ABC\" x", e, lm));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_ranges), cmocka_unit_test(test_multiple_and_coalesced),
        cmocka_unit_test(test_cap),           cmocka_unit_test(test_unsatisfiable_and_invalid),
        cmocka_unit_test(test_http_date),     cmocka_unit_test(test_etag_lists),
        cmocka_unit_test(test_if_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
