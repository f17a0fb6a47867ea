/*
 * test_uss_request: the SOAP requests of the upstream client (client/uss_request.c) as exact
 * text, and the decoding of a FileDigestsMissing fault's digest list (client/uss_answer.c).
 * No network, no database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "buf.h"
#include "uss_internal.h"

#define ENVELOPE                                                                                   \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "                                    \
    "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
#define NO_COOKIE "<cookie><Expiration></Expiration><EncryptedData></EncryptedData></cookie>"

static struct uss *new_client(void)
{
    struct uss_options o;
    struct uss_error e;
    struct uss *u;

    memset(&o, 0, sizeof(o));
    o.url = "http://wsus.example.test:8530/";
    o.account_name = "branch<&>.example.test";
    o.account_guid = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12";
    u = uss_new(&o, &e);
    assert_non_null(u);
    return u;
}

static void test_requests(void **state)
{
    struct uss *u = new_client();
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    uss_request_get_auth_config(&b);
    assert_string_equal(buf_str(&b), ENVELOPE "<GetAuthConfig xmlns=\"" NS_SS
                                              "\"></GetAuthConfig></soap:Body></soap:Envelope>");
    buf_free(&b);

    buf_init(&b, 1 << 20);
    uss_request_get_authorization_cookie(&b, u);
    assert_string_equal(buf_str(&b),
                        ENVELOPE "<GetAuthorizationCookie xmlns=\"" NS_AUTH
                                 "\"><accountName>branch&lt;&amp;&gt;.example.test</accountName>"
                                 "<accountGuid>6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12</accountGuid>"
                                 "</GetAuthorizationCookie></soap:Body></soap:Envelope>");
    buf_free(&b);

    buf_init(&b, 1 << 20);
    uss_request_get_deployments(&b, u, NULL, "anchor-1");
    assert_string_equal(buf_str(&b), ENVELOPE "<GetDeployments xmlns=\"" NS_SS "\">" NO_COOKIE
                                              "<syncAnchor>anchor-1</syncAnchor></GetDeployments>"
                                              "</soap:Body></soap:Envelope>");
    buf_free(&b);

    buf_init(&b, 1 << 20);
    uss_request_get_config_data(&b, u, "a<b");
    assert_non_null(strstr(buf_str(&b), NO_COOKIE "<configAnchor>a&lt;b</configAnchor>"));
    buf_free(&b);
    uss_free(u);
}

static void test_download_files(void **state)
{
    struct uss *u = new_client();
    unsigned char sha1[2][20];
    unsigned char gone[2];
    struct buf b;

    (void)state;
    memset(sha1[0], 0, 20);
    memset(sha1[1], 0xff, 20);
    buf_init(&b, 1 << 20);
    uss_request_download_files(&b, u, (const unsigned char(*)[20])sha1, 2);
    assert_non_null(strstr(buf_str(&b), "<fileDigestList><base64Binary>AAAAAAAAAAAAAAAAAAAAAAAAAAA="
                                        "</base64Binary><base64Binary>//////////////////////////8="
                                        "</base64Binary></fileDigestList>"));
    buf_free(&b);

    uss_answer_digests_named("junk|//////////////////////////8=", (const unsigned char(*)[20])sha1,
                             2, gone);
    assert_int_equal(gone[0], 0);
    assert_int_equal(gone[1], 1);
    uss_answer_digests_named("nothing we sent", (const unsigned char(*)[20])sha1, 2, gone);
    assert_int_equal(gone[0], 1);
    assert_int_equal(gone[1], 1);
    uss_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_download_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
