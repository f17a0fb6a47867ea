/*
 * Tests for update (the update document parser), xml (hardening), cab (compressed blobs) and
 * utf16, on the real documents in tests/data/docs and the real GetUpdateData answers in
 * tests/data/exchanges/000013 and 000014 (XmlUpdateBlobCompressed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cab.h"
#include "strutil.h"
#include "testutil.h"
#include "update.h"
#include "utf16.h"
#include "xml.h"

static void load_doc(const char *name, struct update *u)
{
    char path[256], err[512];
    size_t len;
    char *xml;

    snprintf(path, sizeof(path), "docs/%s", name);
    xml = test_read_file(testdata_path(path), &len);
    if (update_parse(u, xml, len, err, sizeof(err)) != 0)
        fail_msg("%s: %s", name, err);
    assert_int_equal(u->xml_len, len);
    assert_memory_equal(u->xml, xml, len); /* verbatim */
    free(xml);
}

static int has_prereq(const struct update *u, const char *id, int is_category)
{
    size_t i;
    for (i = 0; i < u->n_prereqs; i++)
        if (strcmp(u->prereqs[i].update_id, id) == 0 && u->prereqs[i].is_category == is_category)
            return 1;
    return 0;
}

static const struct update_text *text_of(const struct update *u, const char *lang)
{
    size_t i;
    for (i = 0; i < u->n_texts; i++)
        if (strcmp(u->texts[i].language, lang) == 0)
            return &u->texts[i];
    return NULL;
}

static void test_company_category(void **state)
{
    struct update u;

    (void)state;
    load_doc("56309036-4c77-4dd9-951a-99ee9c246a94-r101.xml", &u);
    /* the document writes the id in upper case; we keep it lower case */
    assert_string_equal(u.update_id, "56309036-4c77-4dd9-951a-99ee9c246a94");
    assert_int_equal(u.revision_number, 101);
    assert_string_equal(u.update_type, "Category");
    assert_string_equal(u.category_type, "Company");
    assert_string_equal(u.title, "Microsoft");
    assert_string_equal(u.default_language, "en");
    assert_string_equal(u.publication_state, "Published");
    assert_string_equal(u.creation_date, "2005-09-22T00:05:11.471Z");
    assert_string_equal(u.handler,
                        "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category");
    assert_int_equal(u.n_texts, 24);
    assert_non_null(text_of(&u, "pt-br"));
    assert_int_equal(u.n_prereqs, 0);
    assert_int_equal(u.n_files, 0);
    assert_true(u.is_leaf);
    assert_true(update_is_category(&u));
    update_free(&u);
}

static void test_product_family_and_product(void **state)
{
    struct update u;

    (void)state;
    load_doc("6964aab4-c5b5-43bd-a17d-ffb4346a8e1d-r100.xml", &u);
    assert_string_equal(u.category_type, "ProductFamily");
    assert_string_equal(u.title, "Windows");
    /* parent company through an IsCategory clause */
    assert_int_equal(u.n_prereqs, 1);
    assert_true(has_prereq(&u, "56309036-4c77-4dd9-951a-99ee9c246a94", 1));
    update_free(&u);

    load_doc("dd78b8a1-0b20-45c1-add6-4da72e9364cf-r202.xml", &u);
    assert_int_equal(u.revision_number, 202);
    assert_string_equal(u.category_type, "Product");
    assert_false(u.explicitly_deployable);
    assert_true(has_prereq(&u, "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d", 1));
    update_free(&u);
}

static void test_bundle(void **state)
{
    struct update u;
    size_t i;
    int found = 0;

    (void)state;
    load_doc("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml", &u);
    assert_string_equal(u.update_type, "Software");
    assert_null(u.category_type);
    assert_true(u.explicitly_deployable);
    assert_false(u.is_leaf);
    assert_string_equal(u.kb_article_id, "2267602");
    assert_int_equal(u.n_texts, 35);
    assert_string_equal(u.texts[0].language, "en");
    /* supersedes 10 updates */
    assert_int_equal(u.n_supersedes, 10);
    for (i = 0; i < u.n_supersedes; i++)
        if (strcmp(u.supersedes[i], "ce84983e-b20e-44d7-a412-1fd91fc7bda8") == 0)
            found = 1;
    assert_true(found);
    /* two plain detectoid clauses, then classification and product membership */
    assert_int_equal(u.n_prereqs, 4);
    assert_int_equal(u.prereqs[0].clause, 0);
    assert_string_equal(u.prereqs[0].update_id, "be4048db-157c-4532-9582-7f05099590c9");
    assert_false(u.prereqs[0].is_category);
    assert_true(has_prereq(&u, "e0789628-ce08-4437-be74-2495b842f43b", 1)); /* Definition Updates */
    assert_true(has_prereq(&u, "8c3fcc84-7410-4a95-8b89-a166a0190486", 1)); /* Defender AV */
    assert_int_equal(u.prereqs[3].clause, 3);
    /* bundled leaves with their revision, one AtLeastOne group */
    assert_true(u.n_bundles > 0);
    assert_string_equal(u.bundles[0].update_id, "90f961a9-1756-4493-aade-644c37589961");
    assert_int_equal(u.bundles[0].revision_number, 200);
    assert_int_equal(u.bundles[0].clause, 0);
    found = 0;
    for (i = 0; i < u.n_bundles; i++)
        if (strcmp(u.bundles[i].update_id, "266f6222-c89d-43f2-9f8a-69340271e677") == 0)
            found = 1;
    assert_true(found);
    assert_int_equal(u.n_files, 0);
    update_free(&u);
}

static void test_leaf_with_file(void **state)
{
    static const unsigned char sha1[20] = {0x87, 0xf5, 0xbd, 0x04, 0x69, 0x58, 0x50,
                                           0x06, 0xaa, 0x5d, 0x3a, 0x77, 0xd1, 0xc6,
                                           0x62, 0xfd, 0x28, 0x95, 0xdd, 0xcd};
    unsigned char sha256[32];
    struct update u;

    (void)state;
    load_doc("266f6222-c89d-43f2-9f8a-69340271e677-r200.xml", &u);
    assert_string_equal(u.update_type, "Software");
    assert_true(u.is_leaf);
    assert_false(u.explicitly_deployable);
    assert_int_equal(u.n_files, 1);
    assert_memory_equal(u.files[0].sha1, sha1, 20);
    assert_true(u.files[0].has_sha256);
    assert_int_equal(
        str_b64_decode_exact("Amt0qymy5KsROiwIXm4QIIV75Ju4r+Cl28Pg8gaLXUA=", sha256, 32), 0);
    assert_memory_equal(u.files[0].sha256, sha256, 32);
    assert_string_equal(u.files[0].file_name, "AM_Delta.exe");
    assert_int_equal(u.files[0].size, 11606440);
    assert_string_equal(u.files[0].modified, "2026-10-04T09:39:26Z");
    assert_null(u.files[0].mu_url);
    /* three detectoids and the product (an AtLeastOne without IsCategory) */
    assert_int_equal(u.n_prereqs, 4);
    assert_true(has_prereq(&u, "8c3fcc84-7410-4a95-8b89-a166a0190486", 0));
    update_free(&u);
}

static void test_all_docs_parse(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < TEST_N_DOCS; i++) {
        struct update u;
        char id[37];
        load_doc(test_docs[i], &u);
        memcpy(id, test_docs[i], 36);
        id[36] = '\0';
        assert_string_equal(u.update_id, id);
        assert_int_equal(u.revision_number, (int)strtol(test_docs[i] + 38, NULL, 10));
        assert_true(u.title[0] != '\0');
        update_free(&u);
    }
    {
        struct update u;
        load_doc("ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200.xml", &u);
        assert_int_equal(u.n_bundles, 4);
        assert_string_equal(u.title, "HIDDEN: Defender MpSigStub 1.1.24010.2001 for EngineBroad "
                                     "(Installer 1.1.24010.2001-Q)");
        update_free(&u);
    }
}

/* The base64 XmlUpdateBlobCompressed of an exchange's response, decoded (caller frees). */
static unsigned char *exchange_blob(const char *exchange, size_t *len)
{
    char path[128];
    char *body, *start, *end;
    unsigned char *out;
    size_t b64len;
    int n;

    snprintf(path, sizeof(path), "exchanges/%s/response.body", exchange);
    body = test_read_file(testdata_path(path), NULL);
    start = strstr(body, "<XmlUpdateBlobCompressed>");
    assert_non_null(start);
    start += strlen("<XmlUpdateBlobCompressed>");
    end = strstr(start, "</XmlUpdateBlobCompressed>");
    assert_non_null(end);
    b64len = (size_t)(end - start);
    out = malloc(b64len);
    n = EVP_DecodeBlock(out, (const unsigned char *)start, (int)b64len);
    assert_true(n > 0);
    if (b64len > 0 && start[b64len - 1] == '=')
        n--;
    if (b64len > 1 && start[b64len - 2] == '=')
        n--;
    *len = (size_t)n;
    free(body);
    return out;
}

static void check_blob(const char *exchange, const char *doc)
{
    char path[256], err[512];
    unsigned char *cab;
    char *xml, *want;
    size_t cab_len, xml_len, want_len;
    struct update u;

    cab = exchange_blob(exchange, &cab_len);
    assert_memory_equal(cab, "MSCF", 4);
    if (cab_blob_decode(cab, cab_len, 16u << 20, &xml, &xml_len, err, sizeof(err)) != 0)
        fail_msg("%s: %s", exchange, err);
    snprintf(path, sizeof(path), "docs/%s", doc);
    want = test_read_file(testdata_path(path), &want_len);
    assert_int_equal(xml_len, want_len);
    assert_memory_equal(xml, want, want_len);
    assert_int_equal(update_parse(&u, xml, xml_len, err, sizeof(err)), 0);
    update_free(&u);
    free(xml);
    /* a limit below the real size is refused before decompressing */
    assert_int_equal(cab_blob_decode(cab, cab_len, 1000, &xml, &xml_len, err, sizeof(err)), -1);
    assert_null(xml);
    /* and a truncated blob is an error, not a crash */
    assert_int_equal(cab_blob_decode(cab, cab_len / 2, 16u << 20, &xml, &xml_len, err, sizeof(err)),
                     -1);
    free(want);
    free(cab);
}

static void test_compressed_blobs(void **state)
{
    (void)state;
    check_blob("000013", "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml");
    check_blob("000014", "266f6222-c89d-43f2-9f8a-69340271e677-r200.xml");
}

static void test_blob_encode_roundtrip(void **state)
{
    char err[512], *xml, *back;
    unsigned char *cab;
    size_t len, cab_len, back_len;

    (void)state;
    xml = test_read_file(testdata_path("docs/6964aab4-c5b5-43bd-a17d-ffb4346a8e1d-r100.xml"), &len);
    assert_int_equal(cab_blob_encode(xml, len, &cab, &cab_len, err, sizeof(err)), 0);
    assert_int_equal(cab_blob_decode(cab, cab_len, 1u << 20, &back, &back_len, err, sizeof(err)),
                     0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, xml, len);
    free(back);
    free(cab);
    free(xml);
}

static void expect_reject(const char *doc, const char *needle)
{
    char err[512];
    struct update u;

    assert_int_equal(update_parse(&u, doc, strlen(doc), err, sizeof(err)), -1);
    if (strstr(err, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
    assert_null(u.xml);
}

#define UPD_NS "xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\""

static void test_hostile_documents(void **state)
{
    struct buf b;
    int i;

    (void)state;
    expect_reject("<!DOCTYPE upd:Update [<!ENTITY a \"aaaa\">]><upd:Update " UPD_NS
                  "><upd:UpdateIdentity UpdateID=\"56309036-4c77-4dd9-951a-99ee9c246a94\" "
                  "RevisionNumber=\"1\"/></upd:Update>",
                  "DOCTYPE");
    expect_reject("<!DOCTYPE x SYSTEM \"http://127.0.0.1:9/x.dtd\"><x/>", "DOCTYPE");
    expect_reject("<upd:Update " UPD_NS ">&xxe;</upd:Update>", "xml");
    expect_reject("<upd:Update " UPD_NS "><upd:UpdateIdentity", "xml error");
    expect_reject("<upd:Update " UPD_NS "><upd:Properties UpdateType=\"Software\"/></upd:Update>",
                  "UpdateIdentity");
    expect_reject("<upd:Update " UPD_NS "><upd:UpdateIdentity UpdateID=\"not-a-guid\" "
                  "RevisionNumber=\"1\"/></upd:Update>",
                  "UpdateID");
    expect_reject("<upd:Update " UPD_NS "><upd:UpdateIdentity "
                  "UpdateID=\"56309036-4c77-4dd9-951a-99ee9c246a94\" RevisionNumber=\"1\"/>"
                  "<upd:Properties UpdateType=\"Software\"/><upd:Files><upd:File Digest=\"abc\" "
                  "FileName=\"a.exe\"/></upd:Files></upd:Update>",
                  "Digest");
    expect_reject("<upd:Update " UPD_NS "><upd:UpdateIdentity "
                  "UpdateID=\"56309036-4c77-4dd9-951a-99ee9c246a94\" RevisionNumber=\"1\"/>"
                  "<upd:Properties UpdateType=\"Software\"/><upd:Files><upd:File "
                  "Digest=\"h/W9BGlYUAaqXTp30cZi/SiV3c0=\" FileName=\"../../etc/passwd\"/>"
                  "</upd:Files></upd:Update>",
                  "FileName");
    /* nesting deeper than the limit */
    buf_init(&b, 1u << 20);
    buf_add_str(&b, "<upd:Update " UPD_NS ">");
    for (i = 0; i < 500; i++)
        buf_add_str(&b, "<a>");
    for (i = 0; i < 500; i++)
        buf_add_str(&b, "</a>");
    buf_add_str(&b, "</upd:Update>");
    expect_reject(buf_str(&b), "deeply");
    buf_free(&b);
}

/* A document with the given Properties children (UPD_NS, a Software update). */
static char *props_doc(const char *children)
{
    struct buf b;
    char *out;

    buf_init(&b, 1u << 16);
    buf_printf(&b,
               "<upd:Update " UPD_NS "><upd:UpdateIdentity "
               "UpdateID=\"11111111-2222-3333-4444-555555555555\" RevisionNumber=\"200\" />"
               "<upd:Properties UpdateType=\"Software\">%s</upd:Properties>"
               "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en"
               "</upd:Language><upd:Title>t</upd:Title></upd:LocalizedProperties>"
               "</upd:LocalizedPropertiesCollection></upd:Update>",
               children);
    out = strdup(buf_str(&b));
    buf_free(&b);
    return out;
}

/* Properties/Language: language-specific updates; "all"/NeutralLanguage mark neutral ones. */
static void test_languages(void **state)
{
    static const struct {
        const char *children;
        const char *want; /* languages joined by ',' */
    } cases[] = {
        {"", ""},
        {"<upd:Language>de</upd:Language>", "de"},
        {"<upd:Language> FR </upd:Language><upd:Language>de</upd:Language>"
         "<upd:Language>fr</upd:Language>",
         "fr,de"},
        {"<upd:Language>all</upd:Language>", ""},
        {"<upd:Language>NeutralLanguage</upd:Language>", ""},
        {"<upd:Language>pt-br</upd:Language><upd:Language>not a name!</upd:Language>"
         "<upd:Language></upd:Language>",
         "pt-br"},
    };
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *doc = props_doc(cases[i].children), err[256], got[256] = "";
        struct update u;

        update_init(&u);
        assert_int_equal(update_parse(&u, doc, strlen(doc), err, sizeof(err)), 0);
        for (k = 0; k < u.n_languages; k++) {
            strncat(got, k ? "," : "", sizeof(got) - strlen(got) - 1);
            strncat(got, u.languages[k], sizeof(got) - strlen(got) - 1);
        }
        assert_string_equal(got, cases[i].want);
        assert_int_equal(update_is_language_specific(&u), cases[i].want[0] != '\0');
        update_free(&u);
        free(doc);
    }
    {
        struct buf many;
        char *doc;

        buf_init(&many, 1u << 16);
        for (i = 0; i <= UPDATE_MAX_LANGUAGES; i++)
            buf_printf(&many, "<upd:Language>l%zu</upd:Language>", i);
        doc = props_doc(buf_str(&many));
        expect_reject(doc, "more than 64 Properties/Language elements");
        free(doc);
        buf_free(&many);
    }
}

static void test_xml_size_limit(void **state)
{
    const struct xml_limits lim = {64, 8, 100, 8, 100};
    char err[256];
    xmlDoc *d;

    (void)state;
    d = xml_parse("<a><b x=\"1\">t</b></a>", 22, &lim, err, sizeof(err));
    assert_non_null(d);
    assert_string_equal(xml_attr(xml_child(xml_root(d), NULL, "b"), "x"), "1");
    assert_null(xml_child(xml_root(d), "urn:x", "b"));
    xml_doc_free(d);
    d = xml_parse("<a>0123456789012345678901234567890123456789012345678901234567890123</a>", 71,
                  &lim, err, sizeof(err));
    assert_null(d);
    assert_non_null(strstr(err, "too large"));
}

static void test_utf16(void **state)
{
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀 */
    unsigned char *u16;
    size_t n, back_len;
    char *back;

    (void)state;
    assert_int_equal(utf8_utf16_units(s, strlen(s)), 5);
    assert_int_equal(utf8_utf16_units("\xc3", 1), -1);
    u16 = utf8_to_utf16le(s, strlen(s), &n);
    assert_int_equal(n, 10);
    back = utf16le_to_utf8(u16, n, &back_len);
    assert_string_equal(back, s);
    free(back);
    /* an unpaired surrogate is refused */
    assert_null(utf16le_to_utf8((const unsigned char *)"\x00\xd8\x41\x00", 4, &back_len));
    free(u16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_company_category),
        cmocka_unit_test(test_product_family_and_product),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_leaf_with_file),
        cmocka_unit_test(test_all_docs_parse),
        cmocka_unit_test(test_compressed_blobs),
        cmocka_unit_test(test_blob_encode_roundtrip),
        cmocka_unit_test(test_hostile_documents),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_xml_size_limit),
        cmocka_unit_test(test_utf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
