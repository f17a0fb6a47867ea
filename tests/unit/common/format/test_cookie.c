/*
 * Tests for common/format/cookie.c and common/format/anchor.c: round trips, expiry, tampering, the
 * two kinds not interchangeable, another server's cookie told apart (ServerChanged), truncation;
 * anchors as Windows and wsusd write them, and junk refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "anchor.h"
#include "cookie.h"

static const unsigned char key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const unsigned char me[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static size_t seal(enum cookie_kind kind, int64_t expires, unsigned char *out)
{
    struct cookie_claims c;
    size_t len = 0;

    memset(&c, 0, sizeof(c));
    memset(c.dss_guid, 0x5a, 16);
    memcpy(c.uss_guid, me, 16);
    c.issued = 1000;
    c.expires = expires;
    c.proto_major = 1;
    c.proto_minor = 20;
    c.ngroups = 2;
    memset(c.groups[1], 7, 16);
    assert_int_equal(cookie_seal(key, kind, &c, out, COOKIE_MAX_BYTES, &len), 0);
    return len;
}

static void test_round_trip(void **state)
{
    unsigned char buf[COOKIE_MAX_BYTES];
    struct cookie_claims c;
    size_t len = seal(COOKIE_SESSION, 5000, buf);

    (void)state;
    assert_int_equal(cookie_open(key, COOKIE_SESSION, me, buf, len, 4999, &c), COOKIE_OK);
    assert_int_equal(c.proto_minor, 20);
    assert_int_equal(c.ngroups, 2);
    assert_int_equal(c.groups[1][15], 7);
    assert_int_equal(c.dss_guid[0], 0x5a);
    assert_int_equal(cookie_open(key, COOKIE_SESSION, me, buf, len, 5000, &c), COOKIE_EXPIRED);
}

static void test_refusals(void **state)
{
    unsigned char buf[COOKIE_MAX_BYTES], other[16], key2[32];
    struct cookie_claims c;
    size_t len = seal(COOKIE_AUTH, 5000, buf), i;

    (void)state;
    /* the other kinds: no kind passes for another (the MS-WUSP pair included) */
    assert_int_equal(cookie_open(key, COOKIE_SESSION, me, buf, len, 1, &c), COOKIE_BAD);
    assert_int_equal(cookie_open(key, COOKIE_CLIENT_AUTH, me, buf, len, 1, &c), COOKIE_BAD);
    assert_int_equal(cookie_open(key, COOKIE_CLIENT, me, buf, len, 1, &c), COOKIE_BAD);
    {
        unsigned char cb[COOKIE_MAX_BYTES];
        size_t clen = seal(COOKIE_CLIENT, 5000, cb);
        enum cookie_kind k;

        assert_int_equal(cookie_open(key, COOKIE_CLIENT, me, cb, clen, 1, &c), COOKIE_OK);
        assert_int_equal(cookie_open(key, COOKIE_CLIENT, me, cb, clen, 5000, &c), COOKIE_EXPIRED);
        for (k = COOKIE_AUTH; k <= COOKIE_CLIENT_AUTH; k++) {
            /* the kind byte rewritten: the associated data no longer matches */
            cb[1] = (unsigned char)k;
            assert_int_equal(cookie_open(key, k, me, cb, clen, 1, &c), COOKIE_BAD);
        }
    }
    /* another server id */
    memcpy(other, me, 16);
    other[0] ^= 1;
    assert_int_equal(cookie_open(key, COOKIE_AUTH, other, buf, len, 1, &c), COOKIE_FOREIGN);
    /* another key (rotated): forged */
    memcpy(key2, key, 32);
    key2[31] ^= 1;
    assert_int_equal(cookie_open(key2, COOKIE_AUTH, me, buf, len, 1, &c), COOKIE_BAD);
    /* every flipped byte and every truncation is refused */
    for (i = 0; i < len; i++) {
        buf[i] ^= 0x40;
        assert_int_not_equal(cookie_open(key, COOKIE_AUTH, me, buf, len, 1, &c), COOKIE_OK);
        buf[i] ^= 0x40;
        assert_int_not_equal(cookie_open(key, COOKIE_AUTH, me, buf, i, 1, &c), COOKIE_OK);
    }
    assert_int_equal(cookie_open(key, COOKIE_AUTH, me, buf, len, 1, &c), COOKIE_OK);
    assert_int_equal(cookie_open(key, COOKIE_AUTH, me, NULL, 0, 1, &c), COOKIE_BAD);
}

static void test_anchors(void **state)
{
    char a[64];
    int64_t seq = -1;

    (void)state;
    assert_int_equal(anchor_parse("9438,2026-10-04 16:33:26.668", &seq), 0);
    assert_int_equal(seq, 9438);
    assert_int_equal(anchor_parse(" 17,2030-01-15 06:00:00 ", &seq), 0);
    assert_int_equal(seq, 17);
    anchor_format(123456789, 0, a, sizeof(a));
    assert_string_equal(a, "123456789,1970-01-01 00:00:00.000");
    assert_int_equal(anchor_parse(a, &seq), 0);
    assert_int_equal(seq, 123456789);
    assert_int_equal(anchor_parse("garbage", &seq), -1);
    assert_int_equal(anchor_parse("", &seq), -1);
    assert_int_equal(anchor_parse("12", &seq), -1);
    assert_int_equal(anchor_parse("-1,2026-10-04 16:33:26", &seq), -1);
    assert_int_equal(anchor_parse("1,2026-13-04 16:33:26", &seq), -1);
    assert_int_equal(anchor_parse("1,2026-10-04 16:33:26.12345678", &seq), -1);
    assert_int_equal(anchor_parse("1234567890123456789,2026-10-04 16:33:26", &seq), -1);
    assert_int_equal(anchor_parse("1,2026-10-04 16:33:26x", &seq), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_anchors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
