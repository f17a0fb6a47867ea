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

/* The reporting rollup requests: the fixed cookie before any authorization, attributes escaped. */
static void test_rollup_requests(void **state)
{
    struct uss *u = new_client();
    struct uss_rollup_computer c;
    struct uss_rollup_number num = {"pc\"1", 3};
    struct uss_update_state st = {"2a0e1c7e-6a2b-4c5d-8e9f-0a1b2c3d4e5f", 5,
                                  "2026-11-30T10:00:00.123456Z"};
    struct uss_rollup_status rs;
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    uss_request_get_rollup_configuration(&b, u);
    assert_string_equal(buf_str(&b),
                        ENVELOPE "<GetRollupConfiguration xmlns=\"" NS_SS
                                 "\"><cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration>"
                                 "<EncryptedData></EncryptedData></cookie>"
                                 "</GetRollupConfiguration></soap:Body></soap:Envelope>");
    buf_free(&b);

    memset(&c, 0, sizeof(c));
    memcpy(c.id, "pc\"<1>", 7);
    memcpy(c.parent_id, "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12", 37);
    c.last_sync_result = 1;
    buf_init(&b, 1 << 20);
    uss_request_rollup_computers(&b, u, &c, 1);
    assert_non_null(strstr(buf_str(&b),
                           "<computers><ComputerRollupInfo ComputerId=\"pc&quot;&lt;1&gt;\" "
                           "LastSyncTime=\"" USS_ROLLUP_NEVER "\" LastSyncResult=\"1\" "
                           "LastReportedRebootTime=\"" USS_ROLLUP_NEVER "\""));
    assert_non_null(strstr(buf_str(&b), " ParentServerId=\"6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12\" "
                                        "/></computers>"));
    assert_null(strstr(buf_str(&b), "<Details"));
    buf_free(&b);
    c.with_details = 1;
    c.os_major = 10;
    c.os_build = 26100;
    c.ngroups = 1;
    memcpy(c.groups[0], "b73ca6ed-5727-47f3-84de-015e03f6a88a", 37);
    buf_init(&b, 1 << 20);
    uss_request_rollup_computers(&b, u, &c, 1);
    assert_non_null(strstr(buf_str(&b), " OSMajorVersion=\"10\" OSMinorVersion=\"0\" "
                                        "OSBuildNumber=\"26100\""));
    assert_non_null(strstr(buf_str(&b),
                           "<TargetGroupIdList><guid>b73ca6ed-5727-47f3-84de-015e03f6a88a</guid>"
                           "</TargetGroupIdList><RequestedTargetGroupNames /></Details>"
                           "</ComputerRollupInfo>"));
    buf_free(&b);

    buf_init(&b, 1 << 20);
    uss_request_get_out_of_sync_computers(&b, u, "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12", &num, 1);
    assert_non_null(strstr(buf_str(&b),
                           "<parentServerId>6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12</parentServerId>"
                           "<lastRollupNumbers><ComputerLastRollupNumber><ComputerId>pc&quot;1"
                           "</ComputerId><RollupNumber>3</RollupNumber></ComputerLastRollupNumber>"
                           "</lastRollupNumbers>"));
    buf_free(&b);

    memset(&rs, 0, sizeof(rs));
    memcpy(rs.computer_id, "pc1", 4);
    memcpy(rs.instance_id, "0b5d7a58-2a43-4c5e-9a56-1f6f7e3c2d10", 37);
    rs.rollup_number = 4;
    rs.full = 1;
    rs.states = &st;
    rs.nstates = 1;
    buf_init(&b, 1 << 20);
    uss_request_rollup_computer_status(&b, u, "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12", &rs, 1);
    assert_non_null(strstr(
        buf_str(&b), "<computers><ComputerStatusRollupInfo><InstanceId>0b5d7a58-2a43-4c5e-9a56-"
                     "1f6f7e3c2d10</InstanceId><ComputerId>pc1</ComputerId>"
                     "<EffectiveLastDetectionTime>" USS_ROLLUP_NEVER "</EffectiveLastDetectionTime>"
                     "<RollupNumber>4</RollupNumber><IsFullRollup>true</IsFullRollup><UpdateStatus>"
                     "<ComputerStatusRollupUpdateStatus><UpdateId>2a0e1c7e-6a2b-4c5d-8e9f-"
                     "0a1b2c3d4e5f</UpdateId><SummarizationState>5</SummarizationState>"
                     "<LastChangeTime>2026-11-30T10:00:00.123456Z</LastChangeTime>"));
    buf_free(&b);
    uss_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_download_files),
        cmocka_unit_test(test_rollup_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
