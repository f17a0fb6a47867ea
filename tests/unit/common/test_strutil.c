/*
 * Tests for strutil: checked decimal parsing, and the hex, GUID and base64 codecs every wire
 * and file format of wsusd goes through (digests in SOAP and package.xml, GUIDs in requests,
 * settings and admin calls, bytea hex from PostgreSQL, content URLs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static void test_numbers(void **state)
{
    long v = 7;

    (void)state;
    assert_int_equal(str_to_long("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(str_to_long("101", 0, 100, &v), -1);
    assert_int_equal(str_to_long(" 1", 0, 100, &v), -1);
    assert_int_equal(str_to_long("1x", 0, 100, &v), -1);
    assert_int_equal(str_to_long("", 0, 100, &v), -1);
    assert_int_equal(v, 42);
}

static void test_url_decode(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"Cumulative%20Update", "Cumulative Update"},
        {"Cumulative+Update", "Cumulative Update"},
        {"C%2B%2B", "C++"},
        {"caf%C3%A9", "caf\xc3\xa9"},
        {"a%00b", "a%00b"}, /* never a NUL inside */
        {"100%", "100%"},
        {"%4", "%4"},
        {"%zz%41", "%zzA"},
        {"", ""},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = str_url_decode(cases[i].in);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

static void test_hex(void **state)
{
    const unsigned char bytes[4] = {0x00, 0x0a, 0xbc, 0xff};
    unsigned char out[4];
    char hex[9];

    (void)state;
    assert_string_equal(str_hex_encode(bytes, 4, 0, hex), "000abcff");
    assert_string_equal(str_hex_encode(bytes, 4, 1, hex), "000ABCFF");
    assert_string_equal(str_hex_encode(bytes, 0, 1, hex), "");
    assert_int_equal(str_hex_decode("000AbcfF", 8, out, 4), 0);
    assert_memory_equal(out, bytes, 4);
    assert_int_equal(str_hex_decode("000abcf", 7, out, 4), -1);     /* short */
    assert_int_equal(str_hex_decode("000abcff00", 10, out, 4), -1); /* long */
    assert_int_equal(str_hex_decode("000abcfg", 8, out, 4), -1);    /* not hex */
    assert_int_equal(str_hex_decode(" 00abcff", 8, out, 4), -1);    /* no white space */
    assert_int_equal(str_hexval('F'), 15);
    assert_int_equal(str_hexval('g'), -1);
}

static void test_guid(void **state)
{
    const char *canon = "ccb78947-6453-4ecc-9de8-bc0305c98f2d";
    unsigned char g[16], g2[16];
    char text[STR_GUID_LEN + 1];

    (void)state;
    assert_int_equal(str_guid_parse(canon, strlen(canon), g), 0);
    assert_int_equal(g[0], 0xcc);
    assert_int_equal(g[15], 0x2d);
    str_guid_format(g, text);
    assert_string_equal(text, canon);
    assert_int_equal(str_guid_parse("CCB78947-6453-4ECC-9DE8-BC0305C98F2D", 36, g2), 0);
    assert_memory_equal(g, g2, 16);
    /* only the len bytes count: a GUID inside a longer list */
    assert_int_equal(str_guid_parse("ccb78947-6453-4ecc-9de8-bc0305c98f2d,x", 36, g2), 0);
    assert_int_equal(str_guid_parse("ccb78947-6453-4ecc-9de8-bc0305c98f2", 35, g2), -1);
    assert_int_equal(str_guid_parse("ccb7894-76453-4ecc-9de8-bc0305c98f2d", 36, g2), -1);
    assert_int_equal(str_guid_parse("ccb78947-6453-4ecc-9de8-bc0305c98f2g", 36, g2), -1);
    assert_int_equal(str_guid_parse("{ccb78947-6453-4ecc-9de8-bc0305c98f2d}", 38, g2), -1);
    assert_int_equal(str_guid_parse(NULL, 36, g2), -1);

    assert_int_equal(str_guid_canon("{CCB78947-6453-4ECC-9DE8-BC0305C98F2D}", text), 0);
    assert_string_equal(text, canon);
    assert_int_equal(str_guid_canon("CCB78947-6453-4ECC-9DE8-BC0305C98F2D", text), 0);
    assert_string_equal(text, canon);
    assert_int_equal(str_guid_canon("{ccb78947-6453-4ecc-9de8-bc0305c98f2d", text), -1);
    assert_int_equal(str_guid_canon(" ccb78947-6453-4ecc-9de8-bc0305c98f2d", text), -1);
    assert_int_equal(str_guid_canon("", text), -1);
    assert_int_equal(str_guid_canon(NULL, text), -1);
}

static void test_base64(void **state)
{
    const unsigned char data[5] = {'h', 'e', 'l', 'l', 'o'};
    unsigned char out[32];
    char text[64];
    size_t n;

    (void)state;
    assert_int_equal(str_b64_encode(data, 5, text, sizeof(text)), 0);
    assert_string_equal(text, "aGVsbG8=");
    assert_int_equal(str_b64_encode(data, 3, text, sizeof(text)), 0);
    assert_string_equal(text, "aGVs");
    assert_int_equal(str_b64_encode(data, 4, text, sizeof(text)), 0);
    assert_string_equal(text, "aGVsbA==");
    assert_int_equal(str_b64_encode(data, 0, text, sizeof(text)), 0);
    assert_string_equal(text, "");
    assert_int_equal(str_b64_encode(data, 5, text, 8), -1); /* no room for the NUL */
    assert_string_equal(text, "");

    assert_int_equal(str_b64_decode(" aGVs\r\nbG8= \n", out, sizeof(out), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, data, 5);
    assert_int_equal(str_b64_decode("aGVsbG8=", out, 4, &n), -1);          /* over outmax */
    assert_int_equal(str_b64_decode("aGVsbG8", out, sizeof(out), &n), -1); /* no padding */
    assert_int_equal(str_b64_decode("aGVsbG8=x", out, sizeof(out), &n), -1);
    assert_int_equal(str_b64_decode("aG=sbG8=", out, sizeof(out), &n), -1);
    assert_int_equal(str_b64_decode("a===", out, sizeof(out), &n), -1);
    assert_int_equal(str_b64_decode("%%%%", out, sizeof(out), &n), -1);
    assert_int_equal(str_b64_decode("", out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);

    /* exact: the digest fields of update documents and package.xml */
    assert_int_equal(str_b64_decode_exact("aGVsbG8=", out, 5), 0);
    assert_memory_equal(out, data, 5);
    assert_int_equal(str_b64_decode_exact("aGVsbG8=", out, 4), -1);
    assert_int_equal(str_b64_decode_exact("aGVsbG8=", out, 6), -1);
    assert_int_equal(str_b64_decode_exact("aGVs bG8", out, 5), -1); /* no white space */
    assert_int_equal(str_b64_decode_exact(NULL, out, 5), -1);
    assert_int_equal(str_b64_decode_exact("", out, 0), 0);
}

static void test_addr_match(void **state)
{
    const char *cur = " 10.0.0.0/8,, 127.0.0.3\t::1 ";
    char item[16];

    (void)state;
    assert_int_equal(str_addr_match("127.0.0.3", "127.0.0.3"), 1);
    assert_int_equal(str_addr_match("127.0.0.3", "127.0.0.4"), 0);
    assert_int_equal(str_addr_match("10.0.0.0/8", "10.200.1.2"), 1);
    assert_int_equal(str_addr_match("10.0.0.0/8", "11.0.0.1"), 0);
    assert_int_equal(str_addr_match("10.1.2.0/23", "10.1.3.255"), 1);
    assert_int_equal(str_addr_match("10.1.2.0/23", "10.1.4.0"), 0);
    assert_int_equal(str_addr_match("0.0.0.0/0", "192.0.2.1"), 1);
    assert_int_equal(str_addr_match("fd00::/8", "fd12:3456::1"), 1);
    assert_int_equal(str_addr_match("fd00::/8", "fe80::1"), 0);
    assert_int_equal(str_addr_match("::1", "0:0:0:0:0:0:0:1"), 1);
    /* another family, or no address at all: no match */
    assert_int_equal(str_addr_match("10.0.0.0/8", "::1"), 0);
    assert_int_equal(str_addr_match("10.0.0.0/8", "wsus.example.com"), 0);
    assert_int_equal(str_addr_match("10.0.0.0/8", NULL), 0);
    /* entries that are neither address nor network */
    assert_int_equal(str_addr_match("wsus.example.com", "10.0.0.1"), -1);
    assert_int_equal(str_addr_match("10.0.0.0/33", "10.0.0.1"), -1);
    assert_int_equal(str_addr_match("10.0.0.0/", "10.0.0.1"), -1);
    assert_int_equal(str_addr_match("10.0.0.0/-1", "10.0.0.1"), -1);
    assert_int_equal(str_addr_match("::/129", "::1"), -1);
    assert_int_equal(str_addr_match("", "10.0.0.1"), -1);

    assert_int_equal(str_list_next(&cur, item, sizeof(item)), 1);
    assert_string_equal(item, "10.0.0.0/8");
    assert_int_equal(str_list_next(&cur, item, sizeof(item)), 1);
    assert_string_equal(item, "127.0.0.3");
    assert_int_equal(str_list_next(&cur, item, 3), 1); /* cut to fit */
    assert_string_equal(item, "::");
    assert_int_equal(str_list_next(&cur, item, sizeof(item)), 0);
    assert_int_equal(str_list_next(&cur, item, sizeof(item)), 0);
}

/* str_fmt: whole or nothing (a cut path must not be used). */
static void test_fmt(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(str_fmt(out, sizeof(out), "%s/%d", "ab", 42), 0);
    assert_string_equal(out, "ab/42");
    assert_int_equal(str_fmt(out, sizeof(out), "%s/x", "1234567"), -1);
    assert_string_equal(out, "");
    assert_int_equal(str_fmt(out, sizeof(out), "%s", "1234567"), 0); /* exactly fits */
    assert_int_equal(str_fmt(out, 0, "x"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers), cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_hex),     cmocka_unit_test(test_guid),
        cmocka_unit_test(test_base64),  cmocka_unit_test(test_addr_match),
        cmocka_unit_test(test_fmt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
