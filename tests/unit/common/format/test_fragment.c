/*
 * Tests for fragment (MS-WUSP fragments from an update document) and fragment_store (derived
 * once, kept): every real reference fragment of tests/data/wusp-reference is reproduced byte
 * for byte from tests/data/docs; hostile documents are refused; the store runs against the
 * real test cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "fragment.h"
#include "fragment_store.h"
#include "testutil.h"
#include "update.h"

#define REDACTED "LinkId=REDACTED"

/* Equal bytes, or fail naming the first differing offset with some context of both sides. */
static void assert_same_bytes(const char *what, const char *want, size_t want_len, const char *got,
                              size_t got_len)
{
    size_t i, n = want_len < got_len ? want_len : got_len, from;

    for (i = 0; i < n && want[i] == got[i]; i++)
        ;
    if (i == n && want_len == got_len)
        return;
    from = i > 40 ? i - 40 : 0;
    print_error("%s: first difference at byte %zu (want %zu bytes, got %zu)\n"
                "  want: ...%.*s...\n  got:  ...%.*s...\n",
                what, i, want_len, got_len, (int)((want_len - from) < 100 ? want_len - from : 100),
                want + from, (int)((got_len - from) < 100 ? got_len - from : 100), got + from);
    fail();
}

/* The references are sanitized upstream (LinkId=REDACTED): redact ours where they did. */
static char *redact_like(const char *want, const char *got, size_t *len)
{
    char *out = malloc(*len + sizeof(REDACTED) + 1), *p;
    const char *q = got;
    size_t o = 0;

    assert_non_null(out);
    if (strstr(want, REDACTED) == NULL || (p = strstr(got, "LinkId=")) == NULL) {
        memcpy(out, got, *len + 1);
        return out;
    }
    memcpy(out, q, (size_t)(p - q));
    o = (size_t)(p - q);
    memcpy(out + o, REDACTED, strlen(REDACTED));
    o += strlen(REDACTED);
    q = p + strlen("LinkId=");
    while (*q >= '0' && *q <= '9')
        q++;
    memcpy(out + o, q, strlen(q) + 1);
    *len = o + strlen(q);
    return out;
}

static char *read_doc(const char *name, size_t *len)
{
    char path[256];

    snprintf(path, sizeof(path), "docs/%s", name);
    return test_read_file(testdata_path(path), len);
}

static void derive_doc(const char *name, struct fragment_set *s)
{
    char err[512];
    size_t len;
    char *xml = read_doc(name, &len);

    fragment_set_init(s);
    if (fragment_derive(s, xml, len, err, sizeof(err)) != 0)
        fail_msg("%s: %s", name, err);
    free(xml);
}

/* Compare one fragment with its reference if there is one; 1 when compared. */
static int check_reference(const char *doc, const char *kind, const char *got, size_t got_len)
{
    char rel[256], base[128], what[300];
    size_t want_len, len = got_len;
    char *want, *ours;

    snprintf(base, sizeof(base), "%.*s", (int)(strlen(doc) - 4), doc); /* without ".xml" */
    snprintf(rel, sizeof(rel), "wusp-reference/%s.%s.xml", base, kind);
    if (access(testdata_path(rel), R_OK) != 0)
        return 0;
    want = test_read_file(testdata_path(rel), &want_len);
    ours = redact_like(want, got, &len);
    snprintf(what, sizeof(what), "%s %s", base, kind);
    assert_same_bytes(what, want, want_len, ours, len);
    free(want);
    free(ours);
    return 1;
}

static void test_reference_fragments(void **state)
{
    int compared = 0;
    size_t i;

    (void)state;
    for (i = 0; i < TEST_N_DOCS; i++) {
        struct fragment_set s;
        const struct fragment_localized *en;

        derive_doc(test_docs[i], &s);
        compared += check_reference(test_docs[i], "core", s.core, s.core_len);
        compared += check_reference(test_docs[i], "extended", s.extended, s.extended_len);
        en = fragment_set_localized(&s, "en");
        assert_non_null(en);
        compared += check_reference(test_docs[i], "localized-en", en->xml, en->len);
        fragment_set_free(&s);
    }
    /* 9 Core, 7 Extended, 9 LocalizedProperties (en): all there are */
    assert_int_equal(compared, 25);
}

static void test_languages_and_fallback(void **state)
{
    struct fragment_set s;
    const struct fragment_localized *l;
    const char *names[] = {"de", "en", "pt-br"};

    (void)state;
    derive_doc("56309036-4c77-4dd9-951a-99ee9c246a94-r101.xml", &s);
    assert_int_equal(s.n_localized, 24);
    l = fragment_set_localized(&s, "pt-BR");
    assert_non_null(l);
    assert_string_equal(l->language, "pt-br");
    assert_string_equal(l->xml,
                        "<LocalizedProperties><Language>pt-br</Language><Title>Microsoft"
                        "</Title><Description>Microsoft</Description></LocalizedProperties>");
    l = fragment_set_localized(&s, "xx-unknown");
    assert_non_null(l);
    assert_string_equal(l->language, "en");
    l = fragment_set_localized(&s, NULL);
    assert_non_null(l);
    assert_string_equal(l->language, "en");
    fragment_set_free(&s);
    fragment_set_free(&s); /* twice is fine */
    fragment_set_free(NULL);

    assert_int_equal(fragment_pick_language(names, 3, "DE"), 0);
    assert_int_equal(fragment_pick_language(names, 3, "fr"), 1);
    assert_int_equal(fragment_pick_language(names, 1, "fr"), -1); /* no en either */
    assert_int_equal(fragment_pick_language(names, 0, "en"), -1);
}

#define UPD_OPEN                                                                                   \
    "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\""                   \
    " xmlns:bar=\"http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules\""              \
    " xmlns:mar=\"http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules\""               \
    " xmlns:drv=\"http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver\">"       \
    "<upd:UpdateIdentity UpdateID=\"00000000-0000-0000-0000-000000000001\" RevisionNumber=\"1\"/>"

static int derive_str(struct fragment_set *s, const char *xml, char *err, size_t errlen)
{
    fragment_set_init(s);
    return fragment_derive(s, xml, strlen(xml), err, errlen);
}

static void test_names_namespaces_escaping(void **state)
{
    static const char doc[] = UPD_OPEN
        "<upd:Properties UpdateType=\"Driver\" EulaID=\"e1\" AutoSelectOnWebSites=\"1\""
        " ExplicitlyDeployable=\"false\" PerUser=\"false\" "
        "Weird=\"a&quot;&lt;&amp;&gt;'&#9;&#10;\">"
        "<upd:SupportUrl>x?a=1&amp;b=&lt;2&gt; \"q\"</upd:SupportUrl><!-- c --></upd:Properties>"
        "<upd:ApplicabilityRules><upd:IsInstalled><bar:RegKeyExists Key=\"k\"/>"
        "<mar:MsiProductInstalled/></upd:IsInstalled><upd:Metadata><drv:WindowsDriverMetaData"
        " HardwareID=\"h\"/><assembly xmlns=\"urn:schemas-microsoft-com:asm.v3\" v=\"1\">"
        "<package></package></assembly></upd:Metadata></upd:ApplicabilityRules>"
        "<upd:HandlerSpecificData xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xsi:type=\"drv:WindowsDriver\"><![CDATA[<raw>]]></upd:HandlerSpecificData>"
        "<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>"
        "bad language</upd:Language></upd:LocalizedProperties><upd:LocalizedProperties>"
        "<upd:Language>EN</upd:Language><upd:Title>t</upd:Title></upd:LocalizedProperties>"
        "<upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>second"
        "</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>"
        "</upd:Update>";
    struct fragment_set s;
    char err[512];

    (void)state;
    if (derive_str(&s, doc, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(
        s.core,
        "<UpdateIdentity UpdateID=\"00000000-0000-0000-0000-000000000001\" RevisionNumber=\"1\" />"
        "<Properties UpdateType=\"Driver\" AutoSelectOnWebSites=\"true\" EulaID=\"e1\" />"
        "<ApplicabilityRules><IsInstalled><b.RegKeyExists Key=\"k\" /><m.MsiProductInstalled />"
        "</IsInstalled><Metadata><d.WindowsDriverMetaData HardwareID=\"h\" /><assembly"
        " xmlns=\"urn:schemas-microsoft-com:asm.v3\" v=\"1\"><package /></assembly></Metadata>"
        "</ApplicabilityRules>");
    assert_string_equal(s.extended,
                        "<ExtendedProperties Weird=\"a&quot;&lt;&amp;&gt;'&#x9;&#xA;\">"
                        "<SupportUrl>x?a=1&amp;b=&lt;2&gt; \"q\"</SupportUrl></ExtendedProperties>"
                        "<HandlerSpecificData type=\"drv:WindowsDriver\">&lt;raw&gt;"
                        "</HandlerSpecificData>");
    assert_int_equal(s.core_len, strlen(s.core));
    assert_int_equal(s.extended_len, strlen(s.extended));
    /* an unusable Language is left out; a repeated one keeps the first; names lower-cased */
    assert_int_equal(s.n_localized, 1);
    assert_string_equal(s.localized[0].language, "en");
    assert_string_equal(s.localized[0].xml, "<LocalizedProperties><Language>EN</Language>"
                                            "<Title>t</Title></LocalizedProperties>");
    fragment_set_free(&s);
}

static void expect_refused(const char *xml, size_t len, const char *reason)
{
    struct fragment_set s;
    char err[512] = "";

    fragment_set_init(&s);
    assert_int_equal(fragment_derive(&s, xml, len, err, sizeof(err)), -1);
    if (strstr(err, reason) == NULL)
        fail_msg("expected \"%s\" in the error, got \"%s\"", reason, err);
    assert_null(s.core);
    assert_null(s.extended);
    assert_int_equal(s.n_localized, 0);
}

static void test_hostile_documents(void **state)
{
    static const char dtd[] = "<!DOCTYPE u [<!ENTITY e \"x\">]><u/>";
    static const char noprops[] = UPD_OPEN "</upd:Update>";
    static const char notype[] = UPD_OPEN "<upd:Properties/></upd:Update>";
    size_t big = FRAGMENT_MAX_INPUT + 1, i, n;
    char *buf;

    (void)state;
    expect_refused("<upd:Update", 11, "update document refused: xml error");
    expect_refused("", 0, "update document refused");
    expect_refused(dtd, strlen(dtd), "DOCTYPE");
    expect_refused("<Update/>", 9, "not an update document");
    expect_refused(noprops, strlen(noprops), "without UpdateIdentity or Properties/@UpdateType");
    expect_refused(notype, strlen(notype), "without UpdateIdentity or Properties/@UpdateType");

    /* oversized: refused before parsing */
    buf = malloc(big);
    assert_non_null(buf);
    memset(buf, ' ', big);
    expect_refused(buf, big, "too large");
    free(buf);

    /* deep: 1000 nested rules */
    n = strlen(UPD_OPEN) + 64 + 1000 * 16;
    buf = calloc(1, n + 64);
    assert_non_null(buf);
    snprintf(buf, n, "%s",
             UPD_OPEN "<upd:Properties UpdateType=\"Software\"/><upd:ApplicabilityRules>");
    for (i = 0; i < 1000; i++)
        memcpy(buf + strlen(buf), "<a>", 4);
    expect_refused(buf, strlen(buf), "nested too deeply");
    free(buf);

    /* too many languages */
    n = strlen(UPD_OPEN) + 256 + (FRAGMENT_MAX_LANGUAGES + 1) * 128;
    buf = calloc(1, n);
    assert_non_null(buf);
    snprintf(buf, n, "%s",
             UPD_OPEN "<upd:Properties UpdateType=\"Software\"/>"
                      "<upd:LocalizedPropertiesCollection>");
    for (i = 0; i <= FRAGMENT_MAX_LANGUAGES; i++) {
        size_t l = strlen(buf);
        int w = snprintf(buf + l, n - l,
                         "<upd:LocalizedProperties><upd:Language>l%zu</upd:Language>"
                         "</upd:LocalizedProperties>",
                         i);
        assert_true(w > 0 && (size_t)w < n - l);
    }
    strncat(buf, "</upd:LocalizedPropertiesCollection></upd:Update>", n - strlen(buf) - 1);
    expect_refused(buf, strlen(buf), "languages (limit");
    free(buf);
}

static long count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static char *one_value(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int64_t revision_id(PGconn *c, const char *update_id)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "SELECT id FROM revision WHERE update_id = '%.36s'", update_id);
    return count(c, sql);
}

#define FRAGMENT_ROWS_SNAPSHOT                                                                     \
    "SELECT string_agg(revision_id || ':' || derived_at || ':' || xmin::text, ',' ORDER BY"        \
    " revision_id) || '|' || (SELECT string_agg(revision_id || kind || language || xmin::text,"    \
    " ',' ORDER BY revision_id, kind, language) FROM revision_fragment)"                           \
    " FROM revision_fragment_state"

struct fetched {
    int rows;
    char seen[512];
    int stop_after;
};

static int on_fragment(void *arg, int64_t revision_id, const char *language, const char *xml,
                       size_t len)
{
    struct fetched *f = arg;
    size_t l = strlen(f->seen);

    assert_true(revision_id > 0);
    assert_int_equal(strlen(xml), len);
    snprintf(f->seen + l, sizeof(f->seen) - l, "%s%s", l > 0 ? "," : "", language);
    return ++f->rows == f->stop_after ? -1 : 0;
}

/* The batch read the client web services use. */
static void check_fetch(PGconn *c, const int64_t *ids, size_t n)
{
    const char *locales[] = {"DE", "en-US", "bad lang!", NULL};
    int64_t one[1] = {ids[0]};
    struct fetched f;
    char err[512];

    memset(&f, 0, sizeof(f));
    assert_int_equal(fragment_store_fetch(c, ids, n, FRAGMENT_STORE_CORE, NULL, 0, on_fragment, &f,
                                          err, sizeof(err)),
                     0);
    assert_int_equal(f.rows, (int)n);
    /* a2fef9b0 has de and en (not en-us): each once, the EN one always */
    memset(&f, 0, sizeof(f));
    assert_int_equal(fragment_store_fetch(c, one, 1, FRAGMENT_STORE_LOCALIZED, locales, 4,
                                          on_fragment, &f, err, sizeof(err)),
                     0);
    assert_string_equal(f.seen, "de,en");
    memset(&f, 0, sizeof(f));
    assert_int_equal(fragment_store_fetch(c, one, 1, FRAGMENT_STORE_LOCALIZED, NULL, 0, on_fragment,
                                          &f, err, sizeof(err)),
                     0);
    assert_string_equal(f.seen, "en");
    /* the callback stops it; nothing asked, nothing sent; too many ids refused */
    memset(&f, 0, sizeof(f));
    f.stop_after = 2;
    assert_int_equal(fragment_store_fetch(c, ids, n, FRAGMENT_STORE_EXTENDED, NULL, 0, on_fragment,
                                          &f, err, sizeof(err)),
                     -1);
    assert_int_equal(f.rows, 2);
    assert_int_equal(fragment_store_fetch(c, ids, 0, FRAGMENT_STORE_EXTENDED, NULL, 0, on_fragment,
                                          &f, err, sizeof(err)),
                     0);
    assert_int_equal(fragment_store_fetch(c, ids, FRAGMENT_STORE_MAX_IDS + 1,
                                          FRAGMENT_STORE_EXTENDED, NULL, 0, on_fragment, &f, err,
                                          sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "too large"));
}

/* EulaFile entries (MS-WUSP 3.1.1.1 Eula): stripped, per language and region, picked as a
 * WSUS server picks them. */
static void test_eula_fragments(void **state)
{
    static const char doc[] =
        UPD_OPEN "<upd:Properties UpdateType=\"Software\" EulaID=\"5ea5ea5e-0000-4000-8000-"
                 "00000000e01a\"/><upd:LocalizedPropertiesCollection>"
                 "<upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>T</upd:Title>"
                 "</upd:LocalizedProperties>"
                 "<upd:EulaFile Digest=\"AAAA\" DigestAlgorithm=\"SHA1\" FileName=\"en.txt\""
                 " Size=\"1\" Language=\"EN\"><upd:AdditionalDigest Algorithm=\"SHA256\">BBBB"
                 "</upd:AdditionalDigest></upd:EulaFile>"
                 "<upd:EulaFile Digest=\"CCCC\" DigestAlgorithm=\"SHA1\" FileName=\"us.txt\""
                 " Size=\"1\" Language=\"en\" GeoId=\"USA\"/>"
                 "<upd:EulaFile Digest=\"DDDD\" DigestAlgorithm=\"SHA1\" FileName=\"de.txt\""
                 " Size=\"1\" Language=\"de\"/>"
                 "<upd:EulaFile Digest=\"EEEE\" FileName=\"bad.txt\" Language=\"d e\"/>"
                 "<upd:EulaFile Digest=\"FFFF\" FileName=\"bad.txt\" Language=\"fr\""
                 " GeoId=\"&lt;x&gt;\"/>"
                 "<upd:EulaFile Digest=\"GGGG\" FileName=\"nolang.txt\"/>"
                 "</upd:LocalizedPropertiesCollection></upd:Update>";
    const char *want_de[] = {"de-DE", "de"}, *want_fr[] = {"fr"};
    struct fragment_set s;
    size_t pick[8];
    char err[256];

    (void)state;
    assert_int_equal(derive_str(&s, doc, err, sizeof(err)), 0);
    assert_int_equal(s.n_eula, 3); /* a bad Language or GeoId, or none, is left out */
    assert_string_equal(s.eula[0].language, "en");
    assert_string_equal(s.eula[0].geo_id, "");
    assert_string_equal(s.eula[0].xml,
                        "<EulaFile Digest=\"AAAA\" DigestAlgorithm=\"SHA1\" FileName=\"en.txt\""
                        " Size=\"1\" Language=\"EN\"><AdditionalDigest Algorithm=\"SHA256\">BBBB"
                        "</AdditionalDigest></EulaFile>");
    assert_string_equal(s.eula[1].geo_id, "USA");
    assert_string_equal(s.eula[1].xml, "<EulaFile Digest=\"CCCC\" DigestAlgorithm=\"SHA1\""
                                       " FileName=\"us.txt\" Size=\"1\" Language=\"en\""
                                       " GeoId=\"USA\" />");
    /* de-DE has none, de has one; en always comes; Rest of World without a region */
    assert_int_equal(fragment_set_eula(&s, want_de, 2, NULL, pick), 2);
    assert_int_equal(pick[0], 2);
    assert_int_equal(pick[1], 0);
    /* the region's own EULA replaces the Rest of World one, case-insensitively */
    assert_int_equal(fragment_set_eula(&s, want_de, 2, "usa", pick), 2);
    assert_int_equal(pick[1], 1);
    /* another region: Rest of World */
    assert_int_equal(fragment_set_eula(&s, want_fr, 1, "FRA", pick), 1);
    assert_int_equal(pick[0], 0);
    /* en asked twice: once */
    assert_int_equal(fragment_set_eula(&s, NULL, 0, "", pick), 1);
    fragment_set_free(&s);
}

/* Equal fragment sets: the same fragments, byte for byte, in the same order. */
static void assert_same_set(const char *what, const struct fragment_set *a,
                            const struct fragment_set *b)
{
    size_t i;

    assert_same_bytes(what, a->core, a->core_len, b->core, b->core_len);
    assert_same_bytes(what, a->extended, a->extended_len, b->extended, b->extended_len);
    assert_int_equal(a->n_localized, b->n_localized);
    for (i = 0; i < a->n_localized; i++) {
        assert_string_equal(a->localized[i].language, b->localized[i].language);
        assert_same_bytes(what, a->localized[i].xml, a->localized[i].len, b->localized[i].xml,
                          b->localized[i].len);
    }
    assert_int_equal(a->n_eula, b->n_eula);
    for (i = 0; i < a->n_eula; i++) {
        assert_string_equal(a->eula[i].language, b->eula[i].language);
        assert_string_equal(a->eula[i].geo_id, b->eula[i].geo_id);
        assert_same_bytes(what, a->eula[i].xml, a->eula[i].len, b->eula[i].xml, b->eula[i].len);
    }
}

/* update_parse_derive (one parse, what the sync's ingest uses) derives exactly the fragments
 * fragment_derive derives from the stored text; a document whose fragments cannot be derived
 * still parses, without fragments, and the store's own derive then says why. */
static void test_parse_once(void **state)
{
    struct buf b;
    struct update u;
    struct fragment_set s;
    char err[512];
    size_t i, len;

    (void)state;
    for (i = 0; i < TEST_N_DOCS; i++) {
        char *xml = read_doc(test_docs[i], &len);

        if (update_parse_derive(&u, xml, len, err, sizeof(err)) != 0)
            fail_msg("%s: %s", test_docs[i], err);
        assert_non_null(u.fragments);
        derive_doc(test_docs[i], &s);
        assert_same_set(test_docs[i], &s, u.fragments);
        fragment_set_free(&s);
        update_free(&u);
        assert_null(u.fragments);
        free(xml);
    }
    /* update_parse alone derives nothing */
    {
        char *xml = read_doc(test_docs[0], &len);
        assert_int_equal(update_parse(&u, xml, len, err, sizeof(err)), 0);
        assert_null(u.fragments);
        update_free(&u);
        free(xml);
    }
    /* 257 EulaFiles: a valid update, its fragments refused */
    buf_init(&b, 1u << 20);
    assert_int_equal(buf_add_str(&b, UPD_OPEN "<upd:Properties UpdateType=\"Software\"/>"
                                              "<upd:LocalizedPropertiesCollection>"),
                     0);
    for (i = 0; i <= FRAGMENT_MAX_LANGUAGES; i++)
        assert_int_equal(buf_add_str(&b, "<upd:EulaFile Digest=\"AAAA\" Language=\"en\"/>"), 0);
    assert_int_equal(buf_add_str(&b, "</upd:LocalizedPropertiesCollection></upd:Update>"), 0);
    assert_int_equal(update_parse_derive(&u, b.data, b.len, err, sizeof(err)), 0);
    assert_null(u.fragments);
    assert_int_equal(derive_str(&s, b.data, err, sizeof(err)), -1);
    assert_string_equal(err, "update document lists 257 EULA files (limit 256)");
    update_free(&u);
    buf_free(&b);
}

#define STORED_FRAGMENTS                                                                           \
    "SELECT string_agg(r.update_id || '/' || r.revision_number || '/' || f.kind || '/' ||"         \
    " f.language || '/' || md5(f.xml), ',' ORDER BY r.update_id, r.revision_number, f.kind,"       \
    " f.language) FROM revision_fragment f JOIN revision r ON r.id = f.revision_id"

/* The catalog stores the fragments update_parse_derive derived (borrowed, not derived again)
 * exactly as those it derives itself; a document without them is derived and marked there. */
static void test_store_pre_derived(void **state)
{
    char conninfo[256], err[512];
    PGconn *plain = testdb_create_migrated("unit_fragment_plain", conninfo, sizeof(conninfo));
    PGconn *once = testdb_create_migrated("unit_fragment_once", conninfo, sizeof(conninfo));
    struct update u[TEST_N_DOCS + 1], *p[TEST_N_DOCS + 1];
    struct buf b;
    char *want, *got;
    size_t i, len;

    (void)state;
    for (i = 0; i < TEST_N_DOCS; i++) {
        char *doc = read_doc(test_docs[i], &len);
        if (update_parse(&u[i], doc, len, err, sizeof(err)) != 0)
            fail_msg("%s: %s", test_docs[i], err);
        free(doc);
        p[i] = &u[i];
    }
    assert_int_equal(catalog_store(plain, p, TEST_N_DOCS, NULL, err, sizeof(err)), 0);
    for (i = 0; i < TEST_N_DOCS; i++) {
        char *doc = read_doc(test_docs[i], &len);
        update_free(&u[i]);
        assert_int_equal(update_parse_derive(&u[i], doc, len, err, sizeof(err)), 0);
        assert_non_null(u[i].fragments);
        free(doc);
    }
    buf_init(&b, 1u << 20);
    assert_int_equal(buf_add_str(&b, UPD_OPEN "<upd:Properties UpdateType=\"Software\"/>"
                                              "<upd:LocalizedPropertiesCollection>"),
                     0);
    for (i = 0; i <= FRAGMENT_MAX_LANGUAGES; i++)
        assert_int_equal(buf_add_str(&b, "<upd:EulaFile Digest=\"AAAA\" Language=\"en\"/>"), 0);
    assert_int_equal(buf_add_str(&b, "</upd:LocalizedPropertiesCollection></upd:Update>"), 0);
    assert_int_equal(update_parse_derive(&u[TEST_N_DOCS], b.data, b.len, err, sizeof(err)), 0);
    p[TEST_N_DOCS] = &u[TEST_N_DOCS];
    assert_int_equal(catalog_store(once, p, TEST_N_DOCS + 1, NULL, err, sizeof(err)), 0);
    want = one_value(plain, STORED_FRAGMENTS);
    got = one_value(once, STORED_FRAGMENTS);
    assert_string_equal(want, got);
    free(want);
    free(got);
    got = one_value(once, "SELECT string_agg(error, ',') FROM revision_fragment_state"
                          " WHERE error IS NOT NULL");
    assert_string_equal(got, "update document lists 257 EULA files (limit 256)");
    free(got);
    assert_int_equal(
        count(once, "SELECT count(*) FROM revision_fragment_state WHERE error IS NULL"),
        TEST_N_DOCS);
    for (i = 0; i <= TEST_N_DOCS; i++)
        update_free(&u[i]);
    buf_free(&b);
    testdb_drop(plain, "unit_fragment_plain");
    testdb_drop(once, "unit_fragment_once");
}

static void test_store_once_and_kept(void **state)
{
    char conninfo[256], err[512], used[FRAGMENT_MAX_LANG_LEN + 1];
    PGconn *c = testdb_create_migrated("unit_fragment_store", conninfo, sizeof(conninfo));
    struct update u[TEST_N_DOCS], *p[TEST_N_DOCS];
    struct fragment_store_stats st;
    struct fragment_source src[TEST_N_DOCS];
    struct fragment_set want;
    char *xml, *before, *after;
    size_t i, len;
    int64_t a2;

    (void)state;
    for (i = 0; i < TEST_N_DOCS; i++) {
        char *doc = read_doc(test_docs[i], &len);
        update_init(&u[i]);
        if (update_parse(&u[i], doc, len, err, sizeof(err)) != 0)
            fail_msg("%s: %s", test_docs[i], err);
        free(doc);
        p[i] = &u[i];
    }
    /* the catalog's write path derives the fragments of what it inserts, in its commit */
    if (catalog_store(c, p, TEST_N_DOCS, NULL, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment_state WHERE error IS NULL"),
                     9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment WHERE kind = 'core'"), 9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment WHERE kind = 'extended'"), 9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment WHERE kind = 'localized'"),
                     count(c, "SELECT count(*) FROM revision_text"));

    /* what is stored is what fragment_derive gives (and so the reference bytes) */
    a2 = revision_id(c, "a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe");
    derive_doc("a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml", &want);
    assert_int_equal(fragment_store_get(c, a2, FRAGMENT_STORE_CORE, NULL, &xml, &len, NULL), 1);
    assert_same_bytes("stored core", want.core, want.core_len, xml, len);
    free(xml);
    assert_int_equal(fragment_store_get(c, a2, FRAGMENT_STORE_EXTENDED, "de", &xml, &len, used), 1);
    assert_same_bytes("stored extended", want.extended, want.extended_len, xml, len);
    free(xml);
    assert_int_equal(fragment_store_get(c, a2, FRAGMENT_STORE_LOCALIZED, "DE", &xml, &len, used),
                     1);
    assert_string_equal(used, "de");
    assert_same_bytes("stored localized de", fragment_set_localized(&want, "de")->xml,
                      fragment_set_localized(&want, "de")->len, xml, len);
    free(xml);
    assert_int_equal(
        fragment_store_get(c, a2, FRAGMENT_STORE_LOCALIZED, "x-none", &xml, NULL, used), 1);
    assert_string_equal(used, "en");
    free(xml);
    fragment_set_free(&want);
    assert_int_equal(fragment_store_get(c, a2 + 1000, FRAGMENT_STORE_CORE, NULL, &xml, NULL, NULL),
                     0);
    assert_null(xml);

    /* kept: neither a second store, nor the backfill, nor a direct add recompute anything */
    before = one_value(c, FRAGMENT_ROWS_SNAPSHOT);
    assert_int_equal(catalog_store(c, p, TEST_N_DOCS, NULL, err, sizeof(err)), 0);
    memset(&st, 0, sizeof(st));
    assert_int_equal(fragment_store_missing(c, &st, err, sizeof(err)), 0);
    assert_int_equal(st.derived + st.failed + st.present, 0);
    for (i = 0; i < TEST_N_DOCS; i++) {
        src[i].revision_id = revision_id(c, u[i].update_id);
        src[i].xml = u[i].xml;
        src[i].len = u[i].xml_len;
        src[i].update_id = u[i].update_id;
        src[i].revision_number = u[i].revision_number;
    }
    assert_int_equal(fragment_store_add(c, src, TEST_N_DOCS, &st, err, sizeof(err)), 0);
    assert_int_equal(st.derived, 0);
    assert_int_equal(st.present, 9);
    {
        int64_t ids[TEST_N_DOCS];
        for (i = 0; i < TEST_N_DOCS; i++)
            ids[i] = src[i].revision_id;
        /* a2fef9b0 first */
        for (i = 0; i < TEST_N_DOCS; i++)
            if (ids[i] == a2) {
                ids[i] = ids[0];
                ids[0] = a2;
            }
        check_fetch(c, ids, TEST_N_DOCS);
    }
    after = one_value(c, FRAGMENT_ROWS_SNAPSHOT);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* a catalog stored before schema 005: the backfill derives each revision once */
    assert_int_equal(count(c, "WITH d AS (DELETE FROM revision_fragment_state RETURNING 1)"
                              " SELECT count(*) FROM d"),
                     9);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment"), 0);
    /* and a stored document that cannot be derived is marked, logged, and not retried */
    assert_int_equal(count(c, "WITH i AS (INSERT INTO revision (update_id, revision_number,"
                              " update_type, xml) VALUES ('00000000-0000-0000-0000-0000000000ff',"
                              " 1, 'Software', '<Update/>') RETURNING 1) SELECT count(*) FROM i"),
                     1);
    memset(&st, 0, sizeof(st));
    assert_int_equal(fragment_store_missing(c, &st, err, sizeof(err)), 0);
    assert_int_equal(st.derived, 9);
    assert_int_equal(st.failed, 1);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment_state WHERE error LIKE"
                              " 'not an update document%'"),
                     1);
    assert_int_equal(count(c, "SELECT count(*) FROM revision_fragment WHERE kind = 'core'"), 9);
    memset(&st, 0, sizeof(st));
    assert_int_equal(fragment_store_missing(c, &st, err, sizeof(err)), 0);
    assert_int_equal(st.derived + st.failed + st.present, 0);

    for (i = 0; i < TEST_N_DOCS; i++)
        update_free(&u[i]);
    testdb_drop(c, "unit_fragment_store");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_fragments),
        cmocka_unit_test(test_languages_and_fallback),
        cmocka_unit_test(test_names_namespaces_escaping),
        cmocka_unit_test(test_hostile_documents),
        cmocka_unit_test(test_eula_fragments),
        cmocka_unit_test(test_parse_once),
        cmocka_unit_test(test_store_pre_derived),
        cmocka_unit_test(test_store_once_and_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
