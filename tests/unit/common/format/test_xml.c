/*
 * Tests for xml's attribute pre-scan (xml_guard_scan): the bounds on attributes per element, in
 * total and on namespace declarations in scope, through xml_parse (whole documents) and the
 * streaming reader client/soapread.c (chunks), with tags split across chunks at every offset and
 * markup that only looks like attributes (comments, CDATA, PIs, attribute values).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "soapread.h"
#include "xml.h"

/* Markup that looks like attributes but is not, and 8 real attributes (3 of them xmlns). */
static const char tricky_head[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<!-- <x a=\"1\" b=\"2\" c=\"3\"> - > -->\n"
    "<?pi a=\"1\" b=\"2\" > c=\"3\" ?>\n"
    "<r xmlns=\"urn:a\" xmlns:p='urn:p' p:k=\"v>w\" q = \"x/>y\" z='\"'>\n"
    " text &gt; with a=\"1\" b=\"2\" c=\"3\"\n"
    " <![CDATA[ <y a=\"1\" b=\"2\" c=\"3\" d=\"4\"/> ]] ]]>\n"
    " <e/><e a=\"1\"/><p:e xmlns:p=\"urn:q\" t=\"1\"></p:e>\n";
#define TRICKY_ATTRS 8

/* tricky_head, an element with nattrs attributes, and the end: a document in b. */
static void tricky_doc(struct buf *b, int nattrs)
{
    int i;

    buf_init(b, 1 << 20);
    buf_add_str(b, tricky_head);
    buf_add_str(b, " <big");
    for (i = 0; i < nattrs; i++)
        buf_printf(b, " a%d=\"%d\"", i, i);
    buf_add_str(b, "/>\n</r>\n");
}

/* n attributes on one element, as an xml_parse'd document; err gets the reason. */
static int parse_ok(const char *doc, const struct xml_limits *lim, char *err, size_t errlen)
{
    xmlDoc *d = xml_parse(doc, strlen(doc), lim, err, errlen);

    xml_doc_free(d);
    return d != NULL;
}

static void test_attrs_per_element(void **state)
{
    const struct xml_limits lim = XML_LIMITS_UPDATE;
    struct buf b;
    char err[256];
    int i;

    (void)state;
    /* the attack of issue 8: 100,000 attributes on one element (24 s of CPU before) */
    buf_init(&b, 8 << 20);
    buf_add_str(&b, "<x");
    for (i = 0; i < 100000; i++)
        buf_printf(&b, " a%d=\"\"", i);
    buf_add_str(&b, "/>");
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: an element has more than 64 attributes");
    buf_free(&b);

    /* 64 is fine, and every one of them is there */
    tricky_doc(&b, 64);
    assert_true(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    {
        xmlDoc *d = xml_parse(buf_str(&b), b.len, &lim, err, sizeof(err));
        assert_non_null(d);
        assert_string_equal(xml_attr(xml_child(xml_root(d), "urn:a", "big"), "a63"), "63");
        xml_doc_free(d);
    }
    buf_free(&b);
    tricky_doc(&b, 65);
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: an element has more than 64 attributes");
    buf_free(&b);
}

static void test_attrs_total(void **state)
{
    const struct xml_limits lim = {1 << 20, 8, 1000, 64, 100};
    /* attribute limits left at 0: the defaults */
    const struct xml_limits old = {.max_bytes = 1 << 20, .max_depth = 8, .max_elements = 1000};
    struct buf b;
    char err[256];
    int i;

    (void)state;
    buf_init(&b, 1 << 20);
    buf_add_str(&b, "<r>");
    for (i = 0; i < 10; i++)
        buf_add_str(&b,
                    "<e a=\"\" b=\"\" c=\"\" d=\"\" e=\"\" f=\"\" g=\"\" h=\"\" i=\"\" j=\"\"/>");
    buf_add_str(&b, "</r>");
    assert_true(parse_ok(buf_str(&b), &lim, err, sizeof(err))); /* exactly 100 */
    buf_reset(&b);
    buf_add_str(&b, "<r z=\"\">");
    for (i = 0; i < 10; i++)
        buf_add_str(&b,
                    "<e a=\"\" b=\"\" c=\"\" d=\"\" e=\"\" f=\"\" g=\"\" h=\"\" i=\"\" j=\"\"/>");
    buf_add_str(&b, "</r>");
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: more than 100 attributes in the document");
    buf_free(&b);

    tricky_doc(&b, 65);
    assert_false(parse_ok(buf_str(&b), &old, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: an element has more than 64 attributes");
    buf_free(&b);
}

/* Append depth elements nested, each declaring per namespaces, around tail. */
static void ns_doc(struct buf *b, int depth, int per, const char *tail)
{
    int i, j;

    for (i = 0; i < depth; i++) {
        buf_add_str(b, "<e");
        for (j = 0; j < per; j++)
            buf_printf(b, " xmlns:p%d_%d=\"urn:%d\"", i, j, j);
        buf_add_str(b, ">");
    }
    buf_add_str(b, tail);
    for (i = 0; i < depth; i++)
        buf_add_str(b, "</e>");
}

static void test_namespaces_in_scope(void **state)
{
    const struct xml_limits lim = XML_LIMITS_UPDATE;
    struct buf b;
    char err[256];
    int i;

    (void)state;
    buf_init(&b, 1 << 20);
    ns_doc(&b, 16, 8, ""); /* 128 in scope */
    assert_true(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    buf_reset(&b);
    ns_doc(&b, 16, 8, "<x xmlns=\"urn:d\"/>"); /* a default declaration counts too */
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: more than 128 namespace declarations in scope");
    /* declarations go out of scope with their element (empty or closed) */
    buf_reset(&b);
    buf_add_str(&b, "<r>");
    for (i = 0; i < 10; i++)
        buf_add_str(&b,
                    "<a xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:c=\"urn:c\" xmlns:d=\"urn:d\" "
                    "xmlns:e=\"urn:e\" xmlns:f=\"urn:f\" xmlns:g=\"urn:g\" xmlns:h=\"urn:h\"/>"
                    "<a xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:c=\"urn:c\" xmlns:d=\"urn:d\" "
                    "xmlns:e=\"urn:e\" xmlns:f=\"urn:f\" xmlns:g=\"urn:g\" xmlns:h=\"urn:h\">"
                    "</a>");
    ns_doc(&b, 15, 8, ""); /* 120 on top of the 160 already out of scope */
    buf_add_str(&b, "</r>");
    assert_true(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    /* attributes named like xmlns are not declarations */
    buf_reset(&b);
    ns_doc(&b, 16, 8, "<x xmlns:a=\"urn:x\"/>");
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    buf_reset(&b);
    ns_doc(&b, 16, 8, "<x xmlnsa=\"\" xmln=\"\" xml:lang=\"en\"/>");
    assert_true(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    buf_free(&b);
}

/* Scan doc in two chunks split at cut; the guard's verdict. */
static int scan_split(const struct buf *doc, size_t cut, const struct xml_limits *lim,
                      struct xml_guard *g)
{
    memset(g, 0, sizeof(*g));
    g->lim = lim;
    if (xml_guard_scan(g, buf_str(doc), cut) < 0)
        return -1;
    return xml_guard_scan(g, buf_str(doc) + cut, doc->len - cut);
}

static void test_scan_split_everywhere(void **state)
{
    const struct xml_limits lim = {0, 48, 0x7fffffffL, 64, 1000};
    struct xml_guard g;
    struct buf ok, bad, head;
    size_t cut;

    (void)state;
    tricky_doc(&ok, 64);
    tricky_doc(&bad, 65);
    for (cut = 0; cut <= ok.len; cut++) {
        if (scan_split(&ok, cut, &lim, &g) != 0)
            fail_msg("refused when split at %zu: %s", cut, g.stop_reason);
        if (g.scan.total_attrs != TRICKY_ATTRS + 64 || g.scan.depth != 0 || g.scan.ns_in_scope != 0)
            fail_msg("split at %zu: %ld attributes, depth %d, %d namespaces in scope", cut,
                     g.scan.total_attrs, g.scan.depth, g.scan.ns_in_scope);
    }
    /* after the head: <r> open with its 2 declarations in scope, all 8 attributes counted */
    buf_init(&head, sizeof(tricky_head));
    buf_add_str(&head, tricky_head);
    for (cut = 0; cut <= head.len; cut++) {
        assert_int_equal(scan_split(&head, cut, &lim, &g), 0);
        if (g.scan.total_attrs != TRICKY_ATTRS || g.scan.depth != 1 || g.scan.ns_in_scope != 2)
            fail_msg("head split at %zu: %ld attributes, depth %d, %d namespaces in scope", cut,
                     g.scan.total_attrs, g.scan.depth, g.scan.ns_in_scope);
    }
    buf_free(&head);
    for (cut = 0; cut <= bad.len; cut++) {
        assert_int_equal(scan_split(&bad, cut, &lim, &g), -1);
        assert_string_equal(g.stop_reason, "an element has more than 64 attributes");
        assert_int_equal(xml_guard_scan(&g, "<x/>", 4), -1); /* stays stopped */
    }
    buf_free(&ok);
    buf_free(&bad);
    /* a NUL after "<!" is an unknown declaration, not the end of the "--" being matched
       (fuzz_uss_answer found the scanner reading past its pattern here) */
    {
        static const char nuls[] = "<r> <!\0<!-\0<![CDATA\0<x a=''/>";
        memset(&g, 0, sizeof(g));
        g.lim = &lim;
        assert_int_equal(xml_guard_scan(&g, nuls, sizeof(nuls) - 1), 0);
    }
    assert_int_equal(g.scan.total_attrs, 0); /* all inside the unknown declaration */
}

/* A document of n attributes on one element, declared in enc (NULL: no declaration). */
static void decl_doc(struct buf *b, const char *bom, const char *enc, int n)
{
    int i;

    buf_init(b, 1 << 20);
    buf_add_str(b, bom);
    if (enc != NULL)
        buf_printf(b, "<?xml version=\"1.0\" encoding=\"%s\"?>", enc);
    buf_add_str(b, "<x");
    for (i = 0; i < n; i++)
        buf_printf(b, " a%d=\"\"", i);
    buf_add_str(b, "/>");
}

/*
 * The attribute count is only true of bytes libxml2 reads as UTF-8: an EBCDIC or UTF-7 body has
 * no '<' byte at all, and libxml2 decodes it anyway (30,000 attributes: 5 s). So the start of
 * the document must be UTF-8.
 */
static void test_encoding(void **state)
{
    const struct xml_limits lim = XML_LIMITS_UPDATE;
    static const struct {
        const char *bom, *enc, *why;
    } cases[] = {
        {"", NULL, NULL},
        {"", "utf-8", NULL},
        {"", "UTF8", NULL},
        {"\xef\xbb\xbf", "UTF-8", NULL},
        {"", "UTF-7", "the document declares encoding \"UTF-7\"; only UTF-8 is accepted"},
        {"", "IBM037", "the document declares encoding \"IBM037\"; only UTF-8 is accepted"},
        {"\xef\xbb\xbf", "ISO-8859-1",
         "the document declares encoding \"ISO-8859-1\"; only UTF-8 is accepted"},
        {"\xff\xfe", NULL, "the document is not UTF-8 (it starts like UTF-16, UCS-4 or EBCDIC)"},
        {"\x4c\x6f\xa7\x94", NULL,
         "the document is not UTF-8 (it starts like UTF-16, UCS-4 or EBCDIC)"},
    };
    char err[256], want[256];
    struct xml_guard g;
    struct buf b;
    size_t i, cut;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        decl_doc(&b, cases[i].bom, cases[i].enc, 10);
        if (cases[i].why == NULL) {
            if (!parse_ok(buf_str(&b), &lim, err, sizeof(err)))
                fail_msg("case %zu refused: %s", i, err);
        } else {
            snprintf(want, sizeof(want), "xml rejected: %s", cases[i].why);
            assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
            assert_string_equal(err, want);
        }
        for (cut = 0; cut <= b.len; cut++) {
            int rc = scan_split(&b, cut, &lim, &g);
            if (cases[i].why == NULL ? rc != 0 : rc != -1 || strcmp(g.stop_reason, cases[i].why))
                fail_msg("case %zu split at %zu: %s", i, cut, g.stop_reason);
        }
        buf_free(&b);
    }
    /* UTF-16 without a byte order mark: every other byte is NUL */
    buf_init(&b, 64);
    buf_add(&b, "<\0x\0/\0>\0", 8);
    assert_int_equal(scan_split(&b, 8, &lim, &g), -1);
    buf_free(&b);
    assert_string_equal(g.stop_reason,
                        "the document is not UTF-8 (it starts like UTF-16, UCS-4 or EBCDIC)");
    /* a declaration libxml2 might read differently is refused, not guessed at */
    buf_init(&b, 1 << 20);
    buf_add_str(&b, "<?xml version=\"1.0\" encoding=UTF-7?><x/>");
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: the XML declaration is malformed");
    buf_reset(&b);
    buf_add_str(&b, "<?xml version=\"1.0\"");
    for (i = 0; i < XML_SCAN_HEAD; i++)
        buf_add_str(&b, " ");
    buf_add_str(&b, "?><x/>");
    assert_false(parse_ok(buf_str(&b), &lim, err, sizeof(err)));
    assert_string_equal(err, "xml rejected: the XML declaration is longer than 256 bytes");
    buf_free(&b);
}

static int no_end(void *arg, struct soapread *r, const char *name, const char *text, size_t n)
{
    (void)arg;
    (void)r;
    (void)name;
    (void)text;
    (void)n;
    return 0;
}

/* The streaming reader, fed in two chunks split at cut (1: byte by byte). */
static int soapread_split(const struct buf *doc, size_t cut, int bytewise, char *err, size_t errlen)
{
    struct soapread *r = soapread_new(no_end, NULL, 1 << 20);
    int rc = 0;
    size_t i;

    if (bytewise) {
        for (i = 0; i < doc->len && rc == 0; i++)
            rc = soapread_feed(r, buf_str(doc) + i, 1);
    } else {
        rc = soapread_feed(r, buf_str(doc), cut);
        if (rc == 0)
            rc = soapread_feed(r, buf_str(doc) + cut, doc->len - cut);
    }
    if (rc == 0)
        rc = soapread_finish(r);
    snprintf(err, errlen, "%s", soapread_error(r));
    soapread_free(r);
    return rc;
}

static void test_soapread_split_everywhere(void **state)
{
    struct buf ok, bad;
    char err[256];
    size_t cut;

    (void)state;
    tricky_doc(&ok, 64);
    tricky_doc(&bad, 65);
    for (cut = 0; cut <= ok.len; cut++)
        if (soapread_split(&ok, cut, 0, err, sizeof(err)) != 0)
            fail_msg("refused when split at %zu: %s", cut, err);
    assert_int_equal(soapread_split(&ok, 0, 1, err, sizeof(err)), 0);
    for (cut = 0; cut <= bad.len; cut++) {
        assert_int_equal(soapread_split(&bad, cut, 0, err, sizeof(err)), -1);
        assert_string_equal(err, "answer refused: an element has more than 64 attributes");
    }
    assert_int_equal(soapread_split(&bad, 0, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "answer refused: an element has more than 64 attributes");
    buf_free(&ok);
    buf_free(&bad);
}

/* "<r>" pre, fill bytes of 'a', post "</r>": one piece of markup of exactly len bytes. */
static int markup_doc(const char *pre, const char *post, long len, char *err, size_t errlen)
{
    struct soapread *r = soapread_new(no_end, NULL, 1 << 20);
    struct buf b;
    size_t off;
    int rc = 0;
    static char fill[4096];
    size_t left = (size_t)len - strlen(pre) - strlen(post);

    memset(fill, 'a', sizeof(fill));
    buf_init(&b, 4 << 20);
    buf_printf(&b, "<r>%s", pre);
    for (; left > 0; left -= off) {
        off = left < sizeof(fill) ? left : sizeof(fill);
        buf_add(&b, fill, off);
    }
    buf_printf(&b, "%s</r>", post);
    for (off = 0; off < b.len && rc == 0; off += 16384) /* as libcurl delivers an answer */
        rc = soapread_feed(r, buf_str(&b) + off, b.len - off < 16384 ? b.len - off : 16384);
    if (rc == 0)
        rc = soapread_finish(r);
    snprintf(err, errlen, "%s", soapread_error(r));
    soapread_free(r);
    buf_free(&b);
    return rc;
}

/* One tag, comment, CDATA section or PI is bounded (libxml2 rescans one past ~10 MB per chunk). */
static void test_markup_bound(void **state)
{
    static const char *const forms[][2] = {
        {"<t a=\"", "\"/>"}, {"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?pi ", "?>"}, {"<", "/>"}};
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if (markup_doc(forms[i][0], forms[i][1], XML_MAX_MARKUP, err, sizeof(err)) != 0)
            fail_msg("%s...%s of %ld bytes refused: %s", forms[i][0], forms[i][1], XML_MAX_MARKUP,
                     err);
        assert_int_equal(markup_doc(forms[i][0], forms[i][1], XML_MAX_MARKUP + 1, err, sizeof(err)),
                         -1);
        assert_string_equal(
            err, "answer refused: a tag, comment, CDATA section or PI longer than 1048576 bytes");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attrs_per_element),
        cmocka_unit_test(test_attrs_total),
        cmocka_unit_test(test_namespaces_in_scope),
        cmocka_unit_test(test_scan_split_everywhere),
        cmocka_unit_test(test_soapread_split_everywhere),
        cmocka_unit_test(test_encoding),
        cmocka_unit_test(test_markup_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
