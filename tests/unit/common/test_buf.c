/*
 * Tests for buf: bounded appends, sticky failure (a failed append makes every later one fail,
 * so a text is never cut in the middle and completed after), truncation back to a mark, XML
 * escaping. No database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_sticky_failure(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_add_str(&b, "<a>"), 0);
    assert_false(buf_failed(&b));
    assert_int_equal(buf_add_str(&b, "too long"), -1); /* 3 + 8 > 8 */
    assert_true(buf_failed(&b));
    /* a short append that would fit fails too: no "<a></a>" made of a cut document */
    assert_int_equal(buf_add_str(&b, "</a>"), -1);
    assert_int_equal(buf_printf(&b, "%d", 1), -1);
    assert_int_equal(buf_add_xml_escaped(&b, "x", 1), -1);
    assert_string_equal(buf_str(&b), "<a>");
    assert_int_equal(b.len, 3);
    /* truncating to a mark takes appends again */
    buf_truncate(&b, 1);
    assert_false(buf_failed(&b));
    assert_string_equal(buf_str(&b), "<");
    assert_int_equal(buf_add_str(&b, "b/>"), 0);
    assert_string_equal(buf_str(&b), "<b/>");
    /* reset forgets content and failure */
    assert_int_equal(buf_add_str(&b, "123456789"), -1);
    assert_true(buf_failed(&b));
    buf_reset(&b);
    assert_false(buf_failed(&b));
    assert_int_equal(buf_add_str(&b, "12345678"), 0); /* exactly the maximum */
    assert_int_equal(buf_add(&b, "", 0), 0);
    assert_int_equal(buf_add(&b, "9", 1), -1);
    buf_free(&b);
    assert_false(buf_failed(&b));
    assert_int_equal(buf_add_str(&b, "again"), 0);
    assert_string_equal(buf_str(&b), "again");
    buf_free(&b);
}

static void test_printf_and_detach(void **state)
{
    struct buf b;
    char *s;
    size_t n;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_printf(&b, "%64s", "x"), -1);
    assert_true(buf_failed(&b));
    s = buf_detach(&b, &n);
    assert_string_equal(s, "n=42");
    assert_int_equal(n, 4);
    free(s);
    assert_false(buf_failed(&b));
    assert_string_equal(buf_str(&b), "");
    buf_free(&b);
}

static void test_xml_escaping(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(buf_add_xml_escaped(&b, "a<b>&\"'\r", 8), 0);
    assert_string_equal(buf_str(&b), "a&lt;b&gt;&amp;&quot;&apos;&#xD;");
    buf_reset(&b);
    assert_int_equal(buf_add_xml_text(&b, "\"'<\r", 4), 0);
    assert_string_equal(buf_str(&b), "\"'&lt;&#xD;");
    buf_reset(&b);
    assert_int_equal(buf_add_xml_attr(&b, "\t\n'\"", 4), 0);
    assert_string_equal(buf_str(&b), "&#x9;&#xA;'&quot;");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sticky_failure),
        cmocka_unit_test(test_printf_and_detach),
        cmocka_unit_test(test_xml_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
