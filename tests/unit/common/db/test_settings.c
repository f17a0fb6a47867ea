/*
 * Tests for settings: the syntax checks and normal forms of every setting type (no database),
 * then storage rules against the real test cluster: category kinds, languages driving the
 * language table, replica mode refusals and the sync engine's bypass, reset to defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "settings.h"
#include "testutil.h"

#define PRODUCT  "a3c2375d-0c8a-42f9-bce0-28333e198407" /* Windows 10 */
#define FAMILY   "6964aab4-c5b5-43bd-a17d-ffb4346a8e1d" /* Windows */
#define SECURITY "0fa1201d-4330-4fa8-8ae9-b877473b6441" /* Security Updates */

/* Normal form of value for key, or NULL; err gets the message. */
static char *norm(const char *key, const char *value, char *err, size_t errlen)
{
    const struct settings_def *d = settings_find(key);

    assert_non_null(d);
    err[0] = '\0';
    return settings_normalize(d, value, err, errlen);
}

static void expect_norm(const char *key, const char *value, const char *want)
{
    char err[512];
    char *v = norm(key, value, err, sizeof(err));

    if (v == NULL)
        fail_msg("%s = \"%s\" refused: %s", key, value, err);
    assert_string_equal(v, want);
    free(v);
}

static void expect_refused(const char *key, const char *value, const char *msg_part)
{
    char err[512];
    char *v = norm(key, value, err, sizeof(err));

    if (v != NULL)
        fail_msg("%s = \"%s\" accepted as \"%s\"", key, value, v);
    if (strstr(err, msg_part) == NULL)
        fail_msg("%s = \"%s\": message \"%s\" lacks \"%s\"", key, value, err, msg_part);
    /* every message names the key first, on one line */
    assert_int_equal(strncmp(err, key, strlen(key)), 0);
    assert_null(strchr(err, '\n'));
}

static void test_table(void **state)
{
    size_t i, j;

    (void)state;
    assert_true(settings_count() >= 15);
    for (i = 0; i < settings_count(); i++) {
        const struct settings_def *d = settings_at(i);
        char *def = settings_default(d);
        char err[512];
        char *n;

        assert_ptr_equal(settings_find(d->key), d);
        assert_non_null(d->doc);
        for (j = 0; j < i; j++)
            assert_string_not_equal(settings_at(j)->key, d->key);
        /* every default is valid and already in normal form */
        n = settings_normalize(d, def, err, sizeof(err));
        if (n == NULL)
            fail_msg("default of %s refused: %s", d->key, err);
        assert_string_equal(n, def);
        free(n);
        free(def);
    }
    assert_null(settings_find("nosuchkey"));
    assert_null(settings_at(settings_count()));
}

static void test_upstream(void **state)
{
    (void)state;
    expect_norm("upstream", "", "");
    expect_norm("upstream", "  Microsoft-Update ", "microsoft-update");
    expect_norm("upstream", "http://wsus1.example.com:8530", "http://wsus1.example.com:8530");
    expect_norm("upstream", "HTTPS://WSUS1.example.com:8531/", "https://WSUS1.example.com:8531");
    expect_norm("upstream", "http://[2001:db8::1]:8530", "http://[2001:db8::1]:8530");
    expect_norm("upstream", "http://10.0.0.5:80", "http://10.0.0.5:80");
    expect_refused("upstream", "wsus1", "is not a URL");
    expect_refused("upstream", "http://wsus1", "has no port");
    expect_refused("upstream", "ftp://wsus1:21", "not supported");
    expect_refused("upstream", "http://wsus1:8530/ClientWebService", "has a path");
    expect_refused("upstream", "http://wsus1:0", "from 1 to 65535");
    expect_refused("upstream", "http://wsus1:85x0", "from 1 to 65535");
    expect_refused("upstream", "http://a b:8530", "not a valid host name");
    expect_refused("upstream", "http://u:p@wsus1:8530", "do not put a user or password");
    expect_refused("upstream", "http://wsus1:8530\nx", "control character");
}

static void test_lists(void **state)
{
    (void)state;
    expect_norm("products", "", "");
    expect_norm("products", " {A3C2375D-0C8A-42F9-BCE0-28333E198407} , " PRODUCT "," FAMILY,
                PRODUCT "," FAMILY);
    expect_norm("classifications", SECURITY " " SECURITY, SECURITY);
    expect_refused("products", "xyz",
                   "products: \"xyz\" is not a GUID; use wsusctl updates list --type category to "
                   "see product ids");
    expect_refused("classifications", PRODUCT ",a3c2375d-0c8a-42f9-bce0", "is not a GUID");
    expect_norm("languages", "EN, de,,fr", "en,de,fr");
    expect_norm("languages", "all", "all");
    expect_norm("languages", "zh-tw", "zh-tw");
    expect_refused("languages", "", "at least one language");
    expect_refused("languages", "en,all", "cannot be combined");
    expect_refused("languages", "e1", "is not a language short name");
    expect_norm("allowed-downstreams", "WSUS2.example.com, 10.1.0.0/16 ,::1",
                "wsus2.example.com,10.1.0.0/16,::1");
    expect_refused("allowed-downstreams", "bad;host", "is not a host name");
    /* networks: a real address and a prefix within the family's range */
    expect_norm("allowed-downstreams", "10.0.0.0/0,10.0.0.0/32,fd00::/8,fd00::/128",
                "10.0.0.0/0,10.0.0.0/32,fd00::/8,fd00::/128");
    expect_refused("allowed-downstreams", "10.0.0.0/33",
                   "allowed-downstreams: \"10.0.0.0/33\": the prefix length of an IPv4 network "
                   "is 0 to 32");
    expect_refused("allowed-downstreams", "fd00::/129", "of an IPv6 network is 0 to 128");
    expect_refused("allowed-downstreams", "10.0.0.0/-1", "is 0 to 32");
    expect_refused("allowed-downstreams", "10.0.0.0/", "is 0 to 32");
    expect_refused("allowed-downstreams", "wsus2/8", "is not a network");
    expect_refused("allowed-downstreams", "10.0.0.300/8", "is not a network");
    expect_refused("allowed-downstreams", "*", "is not a host name");
}

static void test_other_types(void **state)
{
    (void)state;
    expect_norm("schedule", "Manual", "manual");
    expect_norm("schedule", "4/day from 3:05", "4/day from 03:05");
    expect_norm("schedule", "24/DAY FROM 23:59", "24/day from 23:59");
    expect_norm("schedule", "1/day", "1/day from 00:00");
    expect_refused("schedule", "0/day from 01:00", "is not a schedule");
    expect_refused("schedule", "25/day from 01:00", "is not a schedule");
    expect_refused("schedule", "2/day from 24:00", "is not a schedule");
    expect_refused("schedule", "2/day from 01:60", "is not a schedule");
    expect_refused("schedule", "daily", "is not a schedule");
    expect_norm("download", "ALL", "all");
    expect_norm("mode", "Replica", "replica");
    expect_norm("storage", "microsoft-update", "microsoft-update");
    expect_refused("download", "some", "is not one of approved|all|none");
    expect_norm("range-fallback", " Always ", "always");
    expect_norm("range-fallback", "never", "never");
    expect_refused("range-fallback", "sometimes", "is not one of auto|always|never");
    expect_norm("proxy", "", "");
    expect_norm("proxy", "proxy.example.com:3128", "http://proxy.example.com:3128");
    expect_norm("proxy", "socks5://proxy:1080", "socks5://proxy:1080");
    expect_norm("proxy", "http://proxy", "http://proxy");
    expect_refused("proxy", "http://me:pw@proxy:3128", "use proxy-user and proxy-password");
    expect_norm("account-name", " wsus2.example.com ", "wsus2.example.com");
    expect_refused("account-name", "wsus 2", "is not a host name");
    expect_refused("account-name", "", "is not a host name");
    expect_norm("ca-file", "", "");
    expect_norm("ca-file", testdata_path("pem/test-ca.pem"), testdata_path("pem/test-ca.pem"));
    /* a readable file that is not a certificate (a secret, say) is refused, unread */
    expect_refused("ca-file", "/etc/hostname",
                   "ca-file: /etc/hostname holds no PEM certificate (-----BEGIN "
                   "CERTIFICATE-----); give a CA bundle such as "
                   "/etc/ssl/certs/ca-certificates.crt");
    expect_refused("ca-file", "/etc", "ca-file: /etc is not a regular file");
    { /* a FIFO is refused at once, not waited on */
        char *dir = test_tmpdir(), fifo[512];

        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        expect_refused("ca-file", fifo, "is not a regular file of at most 64 MB");
        test_rmtree(dir);
        free(dir);
    }
    expect_refused("ca-file", "/nonexistent/ca.pem", "cannot read /nonexistent/ca.pem");
    expect_refused("ca-file", "ca.pem", "not an absolute path");
    expect_norm("proxy-user", " DOMAIN\\user ", "DOMAIN\\user");
    {
        char *big = malloc(SETTINGS_MAX_TEXT + 2);

        memset(big, 'a', SETTINGS_MAX_TEXT + 1);
        big[SETTINGS_MAX_TEXT + 1] = '\0';
        expect_refused("proxy-user", big, "proxy-user: the value is longer than 1024 bytes");
        expect_refused("proxy-password", big, "the value is longer than 1024 bytes");
        big[SETTINGS_MAX_TEXT] = '\0';
        expect_norm("proxy-domain", big, big);
        memset(big, 'a', 300);
        big[300] = '\0';
        expect_refused("account-name", big, "is not a host name");
        free(big);
    }
}

/* The integer settings the sync engine reads: range from the table, plain decimal form. */
static void test_integers(void **state)
{
    (void)state;
    expect_norm("sync-retry-interval", " 60 ", "60");
    expect_norm("sync-retry-interval", "0900", "900");
    expect_norm("sync-retry-interval", "604800", "604800");
    expect_refused("sync-retry-interval", "0", "from 1 to 604800");
    expect_refused("sync-retry-interval", "604801", "from 1 to 604800");
    expect_refused("sync-retry-interval", "15m", "not a whole number");
    expect_refused("sync-retry-interval", "", "not a whole number");
    expect_refused("sync-retry-interval", "+5", "not a whole number");
    expect_norm("download-max-rate", "0", "0");
    expect_norm("download-max-rate", "1000000", "1000000");
    expect_refused("download-max-rate", "-1", "from 0 to");
    expect_refused("download-max-rate", "99999999999999999999", "not a whole number");
    assert_int_equal(settings_find("download-max-rate")->type, SETTINGS_INT);
}

static void test_secret_display_and_warning(void **state)
{
    const struct settings_def *pw = settings_find("proxy-password");
    const struct settings_def *up = settings_find("upstream");

    (void)state;
    assert_true(pw->secret);
    assert_string_equal(settings_display(pw, "hunter2"), "(set)");
    assert_string_equal(settings_display(pw, ""), "");
    assert_string_equal(settings_display(up, "http://a:1"), "http://a:1");
    /* a secret is kept byte for byte: spaces around a password are part of it */
    expect_norm("proxy-password", " pass word ", " pass word ");
    assert_non_null(settings_warning("proxy-auth", "basic"));
    assert_null(settings_warning("proxy-auth", "ntlm"));
    assert_null(settings_warning("upstream", "http://a:1"));
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static char *one(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *v;

    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    v = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "(none)");
    PQclear(r);
    return v;
}

static void expect_get(PGconn *c, const char *key, const char *want)
{
    char *v = settings_get(c, key);

    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void test_storage_rules(void **state)
{
    char conninfo[256], err[1024];
    PGconn *c = testdb_create_migrated("unit_settings", conninfo, sizeof(conninfo));
    char *v;

    (void)state;
    /* defaults before anything is stored */
    expect_get(c, "mode", "autonomous");
    expect_get(c, "languages", "en");
    assert_int_equal(settings_is_set(c, "mode"), 0);
    assert_null(settings_get(c, "nosuchkey"));
    assert_int_equal(settings_set(c, "nosuchkey", "1", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown setting \"nosuchkey\""));

    /* an empty catalog cannot refuse a category id */
    assert_int_equal(settings_set(c, "products", PRODUCT, 0, err, sizeof(err)), 0);
    expect_get(c, "products", PRODUCT);
    /* once categories exist, kinds are checked */
    exec_ok(c, "INSERT INTO revision (update_id, revision_number, update_type, category_type, "
               "title, xml) VALUES ('" PRODUCT "', 200, 'Category', 'Product', 'Windows 10', "
               "'<x/>'), ('" FAMILY "', 100, 'Category', 'ProductFamily', 'Windows', '<x/>'), "
               "('" SECURITY "', 200, 'Category', 'UpdateClassification', 'Security Updates', "
               "'<x/>')");
    assert_int_equal(settings_set(c, "products", PRODUCT "," FAMILY, 0, err, sizeof(err)), 0);
    assert_int_equal(settings_set(c, "products", SECURITY, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is a classification \"Security Updates\", not a product"));
    assert_int_equal(settings_set(c, "classifications", FAMILY, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is a product family \"Windows\", not a classification"));
    assert_int_equal(settings_set(c, "classifications", "11111111-2222-3333-4444-555555555555", 0,
                                  err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "is not in the catalog"));
    expect_get(c, "products", PRODUCT "," FAMILY); /* unchanged after refusals */
    assert_int_equal(settings_set(c, "classifications", SECURITY, 0, err, sizeof(err)), 0);

    /* languages drive the language table */
    assert_int_equal(settings_set(c, "languages", "fr,de", 0, err, sizeof(err)), 0);
    v = one(c, "SELECT string_agg(short_name, ',' ORDER BY short_name) FROM language "
               "WHERE enabled");
    assert_string_equal(v, "de,fr");
    free(v);
    expect_get(c, "languages", "de,fr"); /* in LCID order */
    assert_int_equal(settings_set(c, "languages", "de,qq", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"qq\" is not a language WSUS knows; known: ar, bg"));
    expect_get(c, "languages", "de,fr");
    assert_int_equal(settings_set(c, "languages", "all", 0, err, sizeof(err)), 0);
    v = one(c, "SELECT count(*) FILTER (WHERE NOT enabled) FROM language");
    assert_string_equal(v, "0");
    free(v);
    assert_int_equal(settings_reset(c, "languages", 0, err, sizeof(err)), 0);
    expect_get(c, "languages", "en");

    /* replica mode needs an upstream WSUS, then locks what it inherits */
    assert_int_equal(settings_set(c, "mode", "replica", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "this server has no upstream"));
    assert_int_equal(settings_set(c, "upstream", "microsoft-update", 0, err, sizeof(err)), 0);
    assert_int_equal(settings_set(c, "mode", "replica", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Microsoft Update is not one"));
    assert_int_equal(settings_set(c, "upstream", "http://up:8530", 0, err, sizeof(err)), 0);
    assert_int_equal(settings_set(c, "mode", "replica", 0, err, sizeof(err)), 0);
    assert_int_equal(settings_set(c, "products", PRODUCT, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "products: this server is a replica of http://up:8530"));
    assert_non_null(strstr(err, "wsusctl config set mode autonomous"));
    assert_int_equal(settings_set(c, "languages", "de", 0, err, sizeof(err)), -1);
    assert_int_equal(settings_reset(c, "classifications", 0, err, sizeof(err)), -1);
    assert_int_equal(settings_set(c, "upstream", "", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a replica needs an upstream"));
    /* the sync engine writes what the upstream says, even ids not (yet) in the catalog */
    assert_int_equal(settings_set(c, "products", "99999999-2222-3333-4444-555555555555",
                                  SETTINGS_FROM_UPSTREAM, err, sizeof(err)),
                     0);
    assert_int_equal(settings_set(c, "languages", "ja", SETTINGS_FROM_UPSTREAM, err, sizeof(err)),
                     0);
    expect_get(c, "languages", "ja");
    /* other settings stay local */
    assert_int_equal(settings_set(c, "schedule", "2/day from 01:00", 0, err, sizeof(err)), 0);
    assert_int_equal(settings_set(c, "mode", "autonomous", 0, err, sizeof(err)), 0);
    assert_int_equal(settings_set(c, "products", "", 0, err, sizeof(err)), 0);

    /* reset forgets the stored value */
    assert_int_equal(settings_is_set(c, "schedule"), 1);
    assert_int_equal(settings_reset(c, "schedule", 0, err, sizeof(err)), 0);
    assert_int_equal(settings_is_set(c, "schedule"), 0);
    expect_get(c, "schedule", "manual");

    /* the secret is stored as given */
    assert_int_equal(settings_set(c, "proxy-password", "p@ss word", 0, err, sizeof(err)), 0);
    expect_get(c, "proxy-password", "p@ss word");
    testdb_drop(c, "unit_settings");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),         cmocka_unit_test(test_upstream),
        cmocka_unit_test(test_lists),         cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_integers),      cmocka_unit_test(test_secret_display_and_warning),
        cmocka_unit_test(test_storage_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
