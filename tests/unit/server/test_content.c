/*
 * Tests for the /Content/ URL grammar of server/content.c: what maps to a digest, what is a
 * 404 and what is refused as a malformed (escaped, backslashed) request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "content.h"

#define HEX "2F88DF42DA48AA980FB748D13BAA2DE49CD154AB"

static enum content_url_result parse(const char *url, char *ext)
{
    unsigned char sha1[20];
    return content_url_parse(url, sha1, ext);
}

static void test_url_grammar(void **state)
{
    unsigned char sha1[20];
    char ext[CONTENT_STORE_EXT_MAX + 1];

    (void)state;
    /* the URL a real Delivery Optimization client asked a Windows WSUS for */
    assert_int_equal(content_url_parse("/Content/AB/" HEX ".exe", sha1, ext), CONTENT_URL_OK);
    assert_int_equal(sha1[0], 0x2F);
    assert_int_equal(sha1[19], 0xAB);
    assert_string_equal(ext, "exe");
    /* case-insensitive everywhere, extension lower-cased */
    assert_int_equal(parse("/content/ab/2f88df42da48aa980fb748d13baa2de49cd154ab.EXE", ext),
                     CONTENT_URL_OK);
    assert_string_equal(ext, "exe");
    /* no extension */
    assert_int_equal(parse("/Content/AB/" HEX, ext), CONTENT_URL_OK);
    assert_string_equal(ext, "");
    /* one-digit folder only for a last byte below 0x10 */
    assert_int_equal(parse("/Content/8/6103D9F6BF95C772C8B7EE89AEE370CDCA464208.cab", ext),
                     CONTENT_URL_OK);
    assert_int_equal(parse("/Content/08/6103D9F6BF95C772C8B7EE89AEE370CDCA464208.cab", ext),
                     CONTENT_URL_OK);
    assert_int_equal(parse("/Content/B/" HEX ".exe", ext), CONTENT_URL_NOT_FOUND);
    /* wrong folder, short/long digest, bad extension, extra path */
    assert_int_equal(parse("/Content/AC/" HEX ".exe", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/" HEX "0.exe", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/2F88.exe", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/" HEX ".", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/" HEX ".exe.partial", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/" HEX ".abcdefghijklmnopq", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/" HEX ".exe/", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB//" HEX ".exe", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/../AB/" HEX ".exe", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/AB/../../../etc/passwd", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Contents/AB/" HEX ".exe", ext), CONTENT_URL_NOT_FOUND);
    assert_int_equal(parse("/Content/", ext), CONTENT_URL_NOT_FOUND);
    /* escapes and backslashes are refused outright */
    assert_int_equal(parse("/Content/AB/%2e%2e/x", ext), CONTENT_URL_BAD);
    assert_int_equal(parse("/Content/AB/" HEX "%2Eexe", ext), CONTENT_URL_BAD);
    assert_int_equal(parse("/Content/AB\\..\\" HEX ".exe", ext), CONTENT_URL_BAD);
    assert_int_equal(parse("/Content/AB/" HEX ".exe\x01", ext), CONTENT_URL_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_grammar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
