/*
 * Tests for hierarchy: parsing the X-Wsusd-Hierarchy value an upstream sends (bounded,
 * strict), formatting it back, and the loop check's verdicts and messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hierarchy.h"

#define A "0a0a0a0a-0000-4000-8000-00000000000a"
#define B "0b0b0b0b-0000-4000-8000-00000000000b"
#define C "0c0c0c0c-0000-4000-8000-00000000000c"

static void test_parse(void **state)
{
    struct hier_chain c;
    char out[HIER_MAX_VALUE + 1];

    (void)state;
    assert_int_equal(hier_chain_parse(B " b.test, " C " c.test", &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.s[0].id, B);
    assert_string_equal(c.s[1].name, "c.test");
    assert_int_equal(hier_chain_format(&c, out, sizeof(out)), 0);
    assert_string_equal(out, B " b.test, " C " c.test");
    /* upper-case GUIDs are made canonical */
    assert_int_equal(hier_chain_parse("0B0B0B0B-0000-4000-8000-00000000000B x", &c), 0);
    assert_string_equal(c.s[0].id, B);
    /* junk is no chain at all */
    assert_int_equal(hier_chain_parse(NULL, &c), -1);
    assert_int_equal(hier_chain_parse("", &c), -1);
    assert_int_equal(hier_chain_parse(B, &c), -1);
    assert_int_equal(hier_chain_parse(B " ", &c), -1);
    assert_int_equal(hier_chain_parse("not-a-guid-0000-4000-8000-00000000000b b", &c), -1);
    assert_int_equal(hier_chain_parse(B " b<script>", &c), -1);
    assert_int_equal(hier_chain_parse(B " b.test,", &c), -1);
    assert_int_equal(c.n, 0);
    /* a too small output buffer fails cleanly */
    assert_int_equal(hier_chain_parse(B " b.test", &c), 0);
    assert_int_equal(hier_chain_format(&c, out, 10), -1);
    assert_string_equal(out, "");
}

static void test_bounds(void **state)
{
    struct hier_chain c;
    char *v = malloc(HIER_MAX_VALUE + 64);
    size_t i, used = 0;

    (void)state;
    /* 20 entries: kept up to HIER_MAX_SERVERS */
    for (i = 0; i < 20; i++)
        used += (size_t)snprintf(v + used, HIER_MAX_VALUE + 64 - used, "%s" B " s%zu",
                                 i ? ", " : "", i);
    assert_int_equal(hier_chain_parse(v, &c), 0);
    assert_int_equal(c.n, HIER_MAX_SERVERS);
    /* longer than HIER_MAX_VALUE: refused whole */
    memset(v, 'a', HIER_MAX_VALUE + 1);
    memcpy(v, B " ", 37);
    v[HIER_MAX_VALUE + 1] = '\0';
    assert_int_equal(hier_chain_parse(v, &c), -1);
    free(v);
}

static void test_loop(void **state)
{
    struct hier_chain c;
    struct hier_result r;

    (void)state;
    hier_check_loop(A, "a.test", "http://u:8530", NULL, &r);
    assert_int_equal(r.verdict, HIER_UNKNOWN);
    assert_int_equal(hier_chain_parse(B " b.test, " C " c.test", &c), 0);
    hier_check_loop(A, "a.test", "http://b:8530", &c, &r);
    assert_int_equal(r.verdict, HIER_PASS);
    assert_string_equal(r.fix, "");
    assert_int_equal(hier_chain_parse(A " a.test", &c), 0);
    hier_check_loop(A, "a.test", "http://a:8530", &c, &r);
    assert_int_equal(r.verdict, HIER_FAIL);
    assert_string_equal(r.line, "upstream http://a:8530 is this server itself (a.test, server id " A
                                "): a server cannot synchronize from itself");
    assert_int_equal(hier_chain_parse(B " b.test, " C " c.test, " A " a.test, " B " b.test", &c),
                     0);
    hier_check_loop(A, "a.test", "http://b:8530", &c, &r);
    assert_int_equal(r.verdict, HIER_FAIL);
    assert_string_equal(r.line, "synchronization loop: this server (a.test) synchronizes from "
                                "b.test (http://b:8530), which synchronizes from c.test, which "
                                "synchronizes from a.test");
    assert_true(strstr(r.fix, "must end at a root") != NULL);
}

static void test_languages(void **state)
{
    struct hier_result r;
    static const char up[] = "[{\"lcid\":0,\"short\":\"all\",\"enabled\":false},"
                             "{\"lcid\":1033,\"short\":\"en\",\"enabled\":true},"
                             "{\"lcid\":1031,\"short\":\"de\",\"enabled\":false},"
                             "{\"lcid\":1036,\"short\":\"fr\",\"enabled\":true}]";
    static const char all[] = "[{\"lcid\":0,\"short\":\"all\",\"enabled\":true},"
                              "{\"lcid\":1031,\"short\":\"de\",\"enabled\":false}]";

    (void)state;
    hier_check_languages("http://u:8530", "en,fr", up, &r);
    assert_int_equal(r.verdict, HIER_PASS);
    hier_check_languages("http://u:8530", "en,de,ja", up, &r);
    assert_int_equal(r.verdict, HIER_FAIL);
    assert_string_equal(r.line, "languages enabled here are not carried by upstream "
                                "http://u:8530: de, ja (it carries en,fr)");
    assert_true(strstr(r.fix, "wsusctl config set languages en,fr") != NULL);
    hier_check_languages("http://u:8530", "de", all, &r);
    assert_int_equal(r.verdict, HIER_PASS);
    hier_check_languages("http://u:8530", "de", NULL, &r);
    assert_int_equal(r.verdict, HIER_UNKNOWN);
    hier_check_languages("http://u:8530", "de", "{not json", &r);
    assert_int_equal(r.verdict, HIER_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
