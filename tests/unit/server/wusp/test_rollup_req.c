/*
 * Tests for rollup_req (the decoding of the reporting rollup requests, MS-WSUSSS 3.1.4.14-17)
 * and the xsd:dateTime check it shares with ReportEventBatch (soap_datetime_valid): what a
 * downstream sends lands in the structs of common/db/rollup.h, and every malformed value refuses
 * the request with the message a downstream's admin reads.
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
#include "rollup_req.h"
#include "soap.h"

#define NS   "http://www.microsoft.com/SoftwareDistribution"
#define MID  "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12"
#define ZERO "00000000-0000-0000-0000-000000000000"

static void test_datetime(void **state)
{
    static const char *const good[] = {
        "2026-12-01T10:00:00Z",        "2026-12-01T10:00:00",       "1753-01-01T00:00:00",
        "9999-12-31T23:59:59.9999999", "2024-02-29T00:00:00+01:00", "2026-06-30T23:59:60-05:30",
    };
    static const char *const bad[] = {
        "2026-02-29T00:00:00",
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00",
        "2026-00-10T00:00:00",
        "2026-04-31T00:00:00",
        "2026-12-01T24:00:00",
        "2026-12-01 10:00:00",
        "0000-01-01T00:00:00",
        "2026-12-01T10:00:00.",
        "2026-12-01T10:00:00.1234567890",
        "2026-12-01T10:00:00+1:00",
        "2026-12-01T10:00:00ZZ",
        "2026-12-01",
        "",
        "1900-02-29T00:00:00",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(soap_datetime_valid(good[i]));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (soap_datetime_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static const char summary[] =
    "<ServerSummary><UpdateCount>40</UpdateCount><DeclinedUpdateCount>1</DeclinedUpdateCount>"
    "<ApprovedUpdateCount>2</ApprovedUpdateCount><NotApprovedUpdateCount>3</NotApprovedUpdateCount>"
    "<UpdatesWithStaleUpdateApprovalsCount>0</UpdatesWithStaleUpdateApprovalsCount>"
    "<ExpiredUpdateCount>0</ExpiredUpdateCount>"
    "<CriticalOrSecurityUpdatesNotApprovedForInstallCount>0"
    "</CriticalOrSecurityUpdatesNotApprovedForInstallCount>"
    "<WsusInfrastructureUpdatesNotApprovedForInstallCount>0"
    "</WsusInfrastructureUpdatesNotApprovedForInstallCount>"
    "<UpdatesWithClientErrorsCount>0</UpdatesWithClientErrorsCount>"
    "<UpdatesWithServerErrorsCount>0</UpdatesWithServerErrorsCount>"
    "<UpdatesNeedingFilesCount>0</UpdatesNeedingFilesCount>"
    "<UpdatesNeededByComputersCount>0</UpdatesNeededByComputersCount>"
    "<UpdatesUpToDateCount>0</UpdatesUpToDateCount>"
    "<CustomComputerTargetGroupCount>0</CustomComputerTargetGroupCount>"
    "<ComputerTargetCount>7</ComputerTargetCount>"
    "<ComputerTargetsNeedingUpdatesCount>0</ComputerTargetsNeedingUpdatesCount>"
    "<ComputerTargetsWithUpdateErrorsCount>0</ComputerTargetsWithUpdateErrorsCount>"
    "<ComputersUpToDateCount>5</ComputersUpToDateCount></ServerSummary>";

/* Decode body (the inside of the operation element op) as kind: the decoder's result. */
static int decode(const char *op, const char *body, enum rollup_req_op kind, struct rollup_req *rq)
{
    struct soap_envelope env;
    struct buf b;
    char err[256];
    int rc;

    buf_init(&b, 1 << 22);
    buf_printf(&b,
               "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
               "<soap:Body><%s xmlns=\"" NS "\">%s</%s></soap:Body></soap:Envelope>",
               op, body, op);
    assert_int_equal(soap_envelope_parse_large(buf_str(&b), b.len, &env, err, sizeof(err)), 0);
    rc = rollup_req_decode(kind, NS, env.op, rq);
    soap_envelope_free(&env);
    buf_free(&b);
    return rc;
}

static char *server_xml(const char *id, const char *parent, const char *version, const char *count)
{
    struct buf b;

    buf_init(&b, 1 << 16);
    buf_printf(&b,
               "<DownstreamServerRollupInfo><ServerId>%s</ServerId><FullDomainName>mid.example.test"
               "</FullDomainName><LastSyncTime>1753-01-01T00:00:00</LastSyncTime><ParentServerId>"
               "%s</ParentServerId><Version>%s</Version><IsReplica>true</IsReplica>"
               "<LastRollupTime>2026-12-01T10:00:00Z</LastRollupTime>%s<ClientSummaries>"
               "<DownstreamServerRollupClientSummary><OSMajorVersion>10</OSMajorVersion>"
               "<OSMinorVersion>0</OSMinorVersion><OSBuildNumber>19045</OSBuildNumber>"
               "<OSServicePackMajorNumber>0</OSServicePackMajorNumber><OSServicePackMinorNumber>0"
               "</OSServicePackMinorNumber><OSLocale>en-US</OSLocale><SuiteMask>256</SuiteMask>"
               "<OldProductType>1</OldProductType><NewProductType>48</NewProductType>"
               "<SystemMetrics>0</SystemMetrics><ProcessorArchitecture>Amd64Compatible"
               "</ProcessorArchitecture><Count>3</Count><ActivitySummaries>"
               "<DownstreamServerRollupClientActivitySummary><UpdateId>" MID "</UpdateId>"
               "<RevisionNumber>200</RevisionNumber><InstallSuccessCount>4</InstallSuccessCount>"
               "<InstallFailureCount>1</InstallFailureCount>"
               "</DownstreamServerRollupClientActivitySummary></ActivitySummaries>"
               "</DownstreamServerRollupClientSummary></ClientSummaries>"
               "</DownstreamServerRollupInfo>",
               id, parent, version, count);
    return buf_detach(&b, NULL);
}

static int servers(const char *id, const char *parent, const char *version, const char *count,
                   struct rollup_req *rq)
{
    char *one = server_xml(id, parent, version, count), body[8192];
    int rc;

    snprintf(body, sizeof(body),
             "<clientTime>2026-12-01T10:00:00Z</clientTime><downstreamServers>%s"
             "</downstreamServers>",
             one);
    free(one);
    rc = decode("RollupDownstreamServers", body, ROLLUP_REQ_SERVERS, rq);
    return rc;
}

static void test_servers(void **state)
{
    struct rollup_req rq;

    (void)state;
    assert_int_equal(
        servers("6F1C2F6E-3F0B-4D3A-9B1E-0D2F6A1C5E12", ZERO, "3.2.7600.226", summary, &rq), 0);
    assert_int_equal(rq.nservers, 1);
    assert_int_equal(rq.summaries, 1);
    assert_string_equal(rq.servers[0].id, MID);    /* lower case */
    assert_string_equal(rq.servers[0].parent, ""); /* the all-zero id: this server */
    assert_int_equal(rq.servers[0].is_replica, 1);
    assert_int_equal(rq.servers[0].summary[0], 40);
    assert_int_equal(rq.servers[0].summary[14], 7);
    assert_int_equal(rq.servers[0].summary[17], 5);
    assert_string_equal(rq.client_time, "2026-12-01T10:00:00Z");
    assert_int_equal(rq.nact, 1);
    assert_int_equal(rq.servers[0].first_activity, 0);
    assert_int_equal(rq.servers[0].nactivity, 1);
    assert_string_equal(rq.act[0].os, "10.0.19045.0.0 en-US Amd64Compatible");
    assert_int_equal(rq.act[0].installs, 4);
    assert_int_equal(rq.act[0].failures, 1);
    rollup_req_free(&rq);

    assert_int_equal(servers(MID, ZERO, "3.2.x", summary, &rq), -1);
    assert_string_equal(rq.msg, "downstreamServers: server 1: Version: \"3.2.x\" is not one to "
                                "four integers separated by periods");
    rollup_req_free(&rq);
    assert_int_equal(servers(MID, ZERO, "1.2.3.4.5", summary, &rq), -1);
    rollup_req_free(&rq);
    assert_int_equal(servers(MID, "nope", "1.0", summary, &rq), -1);
    assert_string_equal(rq.msg, "downstreamServers: server 1: ParentServerId: not a GUID");
    rollup_req_free(&rq);
    assert_int_equal(servers(MID, ZERO, "1.0", "", &rq), -1);
    assert_string_equal(rq.msg, "downstreamServers: server 1: ServerSummary: missing");
    rollup_req_free(&rq);
    assert_int_equal(decode("RollupDownstreamServers",
                            "<clientTime>2026-12-01T10:00:00Z"
                            "</clientTime>",
                            ROLLUP_REQ_SERVERS, &rq),
                     -1);
    assert_string_equal(rq.msg, "downstreamServers: missing");
    rollup_req_free(&rq);
}

/* The second computer of the test_computers body has LastSyncResult 3: make it 2. */
static void p_fix_result(char *s)
{
    char *p = strstr(s, "LastSyncResult=\"3\"");

    if (p != NULL)
        p[16] = '2';
}

static void test_computers(void **state)
{
    static const char body[] =
        "<clientTime>2026-12-01T10:00:00Z</clientTime><computers>"
        "<ComputerRollupInfo ComputerId=\"pc-1\" LastSyncTime=\"2026-12-01T08:00:00Z\" "
        "LastSyncResult=\"1\" LastReportedRebootTime=\"1753-01-01T00:00:00\" "
        "LastReportedStatusTime=\"1753-01-01T00:00:00\" LastInventoryTime=\"1753-01-01T00:00:00\" "
        "ParentServerId=\"" MID "\"><Details IPAddress=\"10.0.0.5\" FullDomainName=\"pc-1.x\" "
        "OSMajorVersion=\"10\" OSMinorVersion=\"0\" OSBuildNumber=\"19045\" "
        "OSServicePackMajorNumber=\"0\" OSServicePackMinorNumber=\"0\" ComputerMake=\"C\" "
        "BiosReleaseDate=\"2020-01-01T00:00:00\" SuiteMask=\"256\" OldProductType=\"1\" "
        "NewProductType=\"48\" SystemMetrics=\"0\" ClientVersion=\"10.0\" /></ComputerRollupInfo>"
        "<ComputerRollupInfo ComputerId=\"pc-2\" LastSyncTime=\"2026-12-01T08:00:00Z\" "
        "LastSyncResult=\"3\" LastReportedRebootTime=\"1753-01-01T00:00:00\" "
        "LastReportedStatusTime=\"1753-01-01T00:00:00\" LastInventoryTime=\"1753-01-01T00:00:00\" "
        "ParentServerId=\"" MID "\" /></computers>";
    struct rollup_req rq;

    (void)state;
    assert_int_equal(decode("RollupComputers", body, ROLLUP_REQ_COMPUTERS, &rq), -1);
    assert_string_equal(rq.msg, "computers: computer 2: LastSyncResult: not an integer in 0..2");
    rollup_req_free(&rq);
    {
        char *fixed = strdup(body), *p = strstr(fixed, "LastSyncResult=\"3\"");

        p[16] = '2';
        assert_int_equal(decode("RollupComputers", fixed, ROLLUP_REQ_COMPUTERS, &rq), 0);
        free(fixed);
    }
    assert_int_equal(rq.ncomputers, 2);
    assert_true(rq.computers[0].has_details);
    assert_string_equal(rq.computers[0].info.os_version, "10.0.19045.0.0");
    assert_string_equal(rq.computers[0].info.name, "pc-1.x");
    assert_string_equal(rq.computers[0].address, "10.0.0.5");
    assert_false(rq.computers[1].has_details);
    assert_string_equal(rq.computers[1].parent, MID);
    rollup_req_free(&rq);
    {
        char name[258], *big = malloc(sizeof(body) + 512), *at;
        size_t head;

        memset(name, 'g', 257);
        name[257] = '\0';
        at = strstr(body, " /></ComputerRollupInfo>");
        head = (size_t)(at - body);
        snprintf(big, sizeof(body) + 512,
                 "%.*s><RequestedTargetGroupNames><string>%s</string></RequestedTargetGroupNames>"
                 "</Details>%s",
                 (int)head, body, name, at + strlen(" />"));
        p_fix_result(big);
        assert_int_equal(decode("RollupComputers", big, ROLLUP_REQ_COMPUTERS, &rq), -1);
        assert_string_equal(rq.msg, "computers: computer 1: RequestedTargetGroupNames: a name "
                                    "longer than 256 characters or holding control characters");
        rollup_req_free(&rq);
        snprintf(big, sizeof(body) + 512,
                 "%.*s><TargetGroupIdList><guid>nope</guid></TargetGroupIdList></Details>%s",
                 (int)head, body, at + strlen(" />"));
        p_fix_result(big);
        assert_int_equal(decode("RollupComputers", big, ROLLUP_REQ_COMPUTERS, &rq), -1);
        assert_string_equal(rq.msg, "computers: computer 1: TargetGroupIdList: not a GUID");
        rollup_req_free(&rq);
        free(big);
    }
}

static void test_statuses(void **state)
{
    struct rollup_req rq;
    struct buf b;
    int i;

    (void)state;
    buf_init(&b, 1 << 20);
    buf_printf(&b, "<clientTime>2026-12-01T10:00:00Z</clientTime><parentServerId>" MID
                   "</parentServerId><computers>");
    for (i = 0; i < 2; i++) {
        int k;

        buf_printf(&b,
                   "<ComputerStatusRollupInfo><InstanceId>" MID "</InstanceId><ComputerId>pc-%d"
                   "</ComputerId><EffectiveLastDetectionTime>1753-01-01T00:00:00"
                   "</EffectiveLastDetectionTime><RollupNumber>%d</RollupNumber><IsFullRollup>"
                   "%s</IsFullRollup><UpdateStatus>",
                   i, i + 1, i ? "false" : "1");
        for (k = 0; k <= i; k++)
            buf_printf(&b,
                       "<ComputerStatusRollupUpdateStatus><UpdateId>" MID
                       "</UpdateId><SummarizationState>%d</SummarizationState><LastChangeTime>"
                       "2026-11-30T00:00:00Z</LastChangeTime></ComputerStatusRollupUpdateStatus>",
                       4 + k);
        buf_printf(&b, "</UpdateStatus></ComputerStatusRollupInfo>");
    }
    buf_printf(&b, "</computers>");
    assert_int_equal(decode("RollupComputerStatus", buf_str(&b), ROLLUP_REQ_STATUS, &rq), 0);
    assert_int_equal(rq.nstatus, 2);
    assert_int_equal(rq.nst, 3);
    assert_int_equal(rq.status[0].first, 0);
    assert_int_equal(rq.status[0].n, 1);
    assert_int_equal(rq.status[0].full, 1);
    assert_int_equal(rq.status[1].first, 1);
    assert_int_equal(rq.status[1].n, 2);
    assert_int_equal(rq.status[1].full, 0);
    assert_int_equal(rq.st[2].state, 5);
    assert_string_equal(rq.parent, MID);
    rollup_req_free(&rq);
    buf_free(&b);

    /* RollupNumber 0 (the spec: 1 or greater), SummarizationState 7 */
    assert_int_equal(decode("RollupComputerStatus",
                            "<clientTime>2026-12-01T10:00:00Z</clientTime><parentServerId>" MID
                            "</parentServerId><computers><ComputerStatusRollupInfo><InstanceId>" MID
                            "</InstanceId><ComputerId>pc</ComputerId><EffectiveLastDetectionTime>"
                            "1753-01-01T00:00:00</EffectiveLastDetectionTime><RollupNumber>0"
                            "</RollupNumber><IsFullRollup>true</IsFullRollup>"
                            "</ComputerStatusRollupInfo></computers>",
                            ROLLUP_REQ_STATUS, &rq),
                     -1);
    assert_string_equal(rq.msg, "computers: computer 1: RollupNumber: not an integer in "
                                "1..2147483647");
    rollup_req_free(&rq);
}

static void test_out_of_sync(void **state)
{
    struct rollup_req rq;
    struct buf b;
    int i;

    (void)state;
    buf_init(&b, 1 << 22);
    buf_printf(&b, "<parentServerId>" MID "</parentServerId><lastRollupNumbers>");
    for (i = 0; i < 20001; i++)
        buf_printf(&b,
                   "<ComputerLastRollupNumber><ComputerId>c%d</ComputerId><RollupNumber>0"
                   "</RollupNumber></ComputerLastRollupNumber>",
                   i);
    buf_printf(&b, "</lastRollupNumbers>");
    assert_int_equal(decode("GetOutOfSyncComputers", buf_str(&b), ROLLUP_REQ_OUT_OF_SYNC, &rq), -1);
    assert_string_equal(rq.msg, "lastRollupNumbers: more than 20000 ComputerLastRollupNumber "
                                "(GetOutOfSyncComputersMaxBatchSize)");
    rollup_req_free(&rq);
    /* Windows' batch size exactly: accepted (the Reporting service's larger element cap) */
    buf_reset(&b);
    buf_printf(&b, "<parentServerId>" MID "</parentServerId><lastRollupNumbers>");
    for (i = 0; i < 20000; i++)
        buf_printf(&b,
                   "<ComputerLastRollupNumber><ComputerId>c%d</ComputerId><RollupNumber>%d"
                   "</RollupNumber></ComputerLastRollupNumber>",
                   i, i);
    buf_printf(&b, "</lastRollupNumbers>");
    assert_int_equal(decode("GetOutOfSyncComputers", buf_str(&b), ROLLUP_REQ_OUT_OF_SYNC, &rq), 0);
    assert_int_equal(rq.nids, 20000);
    assert_string_equal(rq.ids[19999], "c19999");
    assert_int_equal(rq.numbers[19999], 19999);
    rollup_req_free(&rq);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime),    cmocka_unit_test(test_servers),
        cmocka_unit_test(test_computers),   cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_out_of_sync),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
