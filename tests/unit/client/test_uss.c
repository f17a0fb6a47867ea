/*
 * Tests for the upstream client's answer parsing (uss.c + soapread.c) on the real answers of
 * a Windows Server 2025 WSUS in tests/data/exchanges: order-tolerant config data, both blob
 * forms, file digests and URLs, faults, and streaming in small chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "buf.h"
#include "soapread.h"
#include "strutil.h"
#include "testutil.h"
#include "uss.h"

static struct uss *new_client(void)
{
    struct uss_options o;
    struct uss_error e;
    struct uss *u;

    memset(&o, 0, sizeof(o));
    o.url = "http://wsus.example.test:8530/";
    o.account_name = "branch.example.test";
    o.account_guid = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12";
    u = uss_new(&o, &e);
    assert_non_null(u);
    return u;
}

static char *answer(const char *ex, size_t *len)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "exchanges/%s/response.body", ex);
    return test_read_file(testdata_path(rel), len);
}

static void test_auth_and_cookie(void **state)
{
    struct uss *u = new_client();
    struct uss_error e;
    char out[512];
    size_t len;
    char *b;

    (void)state;
    b = answer("000001", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_AUTH_CONFIG, 200, b, len, out, &e), 0);
    assert_string_equal(out, "DssAuthWebService/DssAuthWebService.asmx");
    free(b);
    b = answer("000003", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_COOKIE, 200, b, len, out, &e), 0);
    assert_string_equal(out, "2026-10-04T20:33:26.65455Z");
    assert_true(uss_parse_datetime(out) == 1791146006);
    free(b);
    assert_string_equal(uss_content_url(u), "http://wsus.example.test:8530");
    uss_free(u);
}

static void test_config_data_any_order(void **state)
{
    struct uss *u = new_client();
    struct uss_config cfg;
    struct uss_error e;
    size_t len;
    char *b;

    (void)state;
    b = answer("000005", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_CONFIG_DATA, 200, b, len, &cfg, &e), 0);
    assert_int_equal(cfg.catalog_only_sync, 0);
    assert_int_equal(cfg.lazy_sync, 1);
    assert_int_equal(cfg.max_updates_per_request, 100);
    assert_string_equal(cfg.protocol_version, "1.20");
    assert_int_equal(cfg.nlanguages, 39);
    assert_int_equal(cfg.languages[0].lcid, 0);
    assert_string_equal(cfg.languages[0].short_name, "all");
    uss_config_free(&cfg);
    free(b);
    /* with an anchor: empty language list means "unchanged" */
    b = answer("000004", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_CONFIG_DATA, 200, b, len, &cfg, &e), 0);
    assert_int_equal(cfg.nlanguages, 0);
    assert_string_equal(cfg.new_config_anchor, "9438,2026-10-04 16:33:26.668");
    uss_config_free(&cfg);
    free(b);
    uss_free(u);
}

#define RENV(x)                                                                                    \
    "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/"          \
    "envelope/\"><soap:Body>" x "</soap:Body></soap:Envelope>"

/* The rollup answers: batch sizes capped to Windows', attributes read, bounds held. */
static void test_rollup_answers(void **state)
{
    struct uss *u = new_client();
    struct uss_rollup_config cfg;
    struct uss_changed_computers ch;
    struct uss_computer_ids ids;
    struct uss_error e;
    int accepted = 0;
    const char *b;
    struct buf big;
    int i;

    (void)state;
    b = RENV("<GetRollupConfigurationResponse><GetRollupConfigurationResult><DoDetailedRollup>true"
             "</DoDetailedRollup><RollupResetGuid>7C4B5A1E-2F3D-4E5F-8A9B-0C1D2E3F4A5B"
             "</RollupResetGuid><ServerId>1d7c0a2b-3e4f-4a5b-9c6d-7e8f9a0b1c2d</ServerId>"
             "<RollupDownstreamServersMaxBatchSize>99999999</RollupDownstreamServersMaxBatchSize>"
             "<RollupComputersMaxBatchSize>10</RollupComputersMaxBatchSize>"
             "<GetOutOfSyncComputersMaxBatchSize>20000</GetOutOfSyncComputersMaxBatchSize>"
             "<RollupComputerStatusMaxBatchSize>500</RollupComputerStatusMaxBatchSize>"
             "</GetRollupConfigurationResult></GetRollupConfigurationResponse>");
    assert_int_equal(
        uss_parse_answer(u, USS_OP_GET_ROLLUP_CONFIGURATION, 200, b, strlen(b), &cfg, &e), 0);
    assert_int_equal(cfg.do_detailed_rollup, 1);
    assert_string_equal(cfg.reset_guid, "7c4b5a1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(cfg.max_servers, USS_ROLLUP_SERVERS_BATCH);
    assert_int_equal(cfg.max_computers, 10);
    b = RENV("<GetRollupConfigurationResponse><GetRollupConfigurationResult><DoDetailedRollup>true"
             "</DoDetailedRollup><RollupComputersMaxBatchSize>0</RollupComputersMaxBatchSize>"
             "</GetRollupConfigurationResult></GetRollupConfigurationResponse>");
    assert_int_equal(
        uss_parse_answer(u, USS_OP_GET_ROLLUP_CONFIGURATION, 200, b, strlen(b), &cfg, &e), -1);
    assert_string_equal(e.msg, "upstream http://wsus.example.test:8530 sent an unusable "
                               "GetRollupConfiguration answer: RollupComputersMaxBatchSize \"0\" "
                               "is not a number above 0");

    b = RENV("<RollupComputersResponse><RollupComputersResult><ChangedComputer ComputerId=\"a&amp;"
             "b\" Change=\"NewParent\"/><ChangedComputer Change=\"Deleted\" ComputerId=\"c\"/>"
             "</RollupComputersResult></RollupComputersResponse>");
    assert_int_equal(uss_parse_answer(u, USS_OP_ROLLUP_COMPUTERS, 200, b, strlen(b), &ch, &e), 0);
    assert_int_equal(ch.n, 2);
    assert_string_equal(ch.v[0].id, "a&b");
    assert_int_equal(ch.v[0].deleted, 0);
    assert_string_equal(ch.v[1].id, "c");
    assert_int_equal(ch.v[1].deleted, 1);
    uss_changed_computers_free(&ch);
    b = RENV("<RollupComputersResponse><RollupComputersResult><ChangedComputer ComputerId=\"a\" "
             "Change=\"Moved\"/></RollupComputersResult></RollupComputersResponse>");
    assert_int_equal(uss_parse_answer(u, USS_OP_ROLLUP_COMPUTERS, 200, b, strlen(b), &ch, &e), -1);
    assert_non_null(strstr(e.msg, "ChangedComputer a with Change \"Moved\""));
    uss_changed_computers_free(&ch);

    /* an answer naming more computers than asked about is refused */
    buf_init(&big, 4u << 20);
    buf_add_str(&big, RENV("<GetOutOfSyncComputersResponse><GetOutOfSyncComputersResult>"));
    big.len -= strlen("</soap:Body></soap:Envelope>");
    for (i = 0; i <= USS_ROLLUP_OUT_OF_SYNC_BATCH; i++)
        buf_printf(&big, "<string>pc%d</string>", i);
    buf_add_str(&big, "</GetOutOfSyncComputersResult></GetOutOfSyncComputersResponse>"
                      "</soap:Body></soap:Envelope>");
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_OUT_OF_SYNC_COMPUTERS, 200, buf_str(&big),
                                      big.len, &ids, &e),
                     -1);
    assert_non_null(strstr(e.msg, "more out-of-sync computers than were asked about (20000)"));
    uss_computer_ids_free(&ids);
    buf_free(&big);

    b = RENV("<RollupComputerStatusResponse><RollupComputerStatusResult>false"
             "</RollupComputerStatusResult></RollupComputerStatusResponse>");
    accepted = 1;
    assert_int_equal(
        uss_parse_answer(u, USS_OP_ROLLUP_COMPUTER_STATUS, 200, b, strlen(b), &accepted, &e), 0);
    assert_int_equal(accepted, 0);
    b = RENV("<RollupDownstreamServersResponse xmlns=\"http://www.microsoft.com/"
             "SoftwareDistribution\" />");
    assert_int_equal(
        uss_parse_answer(u, USS_OP_ROLLUP_DOWNSTREAM_SERVERS, 200, b, strlen(b), NULL, &e), 0);
    uss_free(u);
}

/* The compact list: 20 bytes an identity, the text form back in lower case; junk refused. */
static void test_idlist_compact(void **state)
{
    struct uss_idlist l;
    struct uss_id id;

    (void)state;
    memset(&l, 0, sizeof(l));
    assert_int_equal(sizeof(l.ids[0]), 20);
    assert_int_equal(uss_idlist_add(&l, "E6CF1350-C01B-414D-A61F-263D14D133B4", 7), 0);
    assert_int_equal(uss_idlist_add(&l, "not-a-guid", 1), -1);
    assert_int_equal(l.n, 1);
    uss_idlist_get(&l, 0, &id);
    assert_string_equal(id.update_id, "e6cf1350-c01b-414d-a61f-263d14d133b4");
    assert_int_equal(id.rev, 7);
    uss_idlist_free(&l);
    assert_int_equal(l.n, 0);
}

static void test_revision_list(void **state)
{
    struct uss *u = new_client();
    struct uss_idlist l;
    struct uss_id id;
    struct uss_error e;
    size_t len;
    char *b;

    (void)state;
    b = answer("000006", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_REVISION_ID_LIST, 200, b, len, &l, &e), 0);
    assert_int_equal(l.n, 30);
    assert_string_equal(l.anchor, "9438,2026-10-04 16:33:26.671");
    /* the same UpdateID with two revisions */
    uss_idlist_get(&l, 0, &id);
    assert_string_equal(id.update_id, "e6cf1350-c01b-414d-a61f-263d14d133b4");
    assert_int_equal(id.rev, 100);
    uss_idlist_get(&l, 1, &id);
    assert_string_equal(id.update_id, "e6cf1350-c01b-414d-a61f-263d14d133b4");
    assert_int_equal(id.rev, 1);
    uss_idlist_free(&l);
    free(b);
    b = answer("000007", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_REVISION_ID_LIST, 200, b, len, &l, &e), 0);
    assert_int_equal(l.n, 0);
    uss_idlist_free(&l);
    free(b);
    uss_free(u);
}

static void test_update_data_both_forms(void **state)
{
    struct uss *u = new_client();
    struct uss_update_data d;
    struct uss_error e;
    size_t len;
    char *b;

    (void)state;
    /* compressed blob with one file and its URL */
    b = answer("000014", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_UPDATE_DATA, 200, b, len, &d, &e), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.updates[0].id.update_id, "266f6222-c89d-43f2-9f8a-69340271e677");
    assert_int_equal(d.updates[0].id.rev, 200);
    assert_null(d.updates[0].xml);
    assert_non_null(d.updates[0].cab);
    assert_memory_equal(d.updates[0].cab, "MSCF", 4);
    assert_int_equal(d.updates[0].ndigests, 1);
    assert_int_equal(d.updates[0].digests[0][0], 0x87);
    assert_int_equal(d.nurls, 1);
    assert_memory_equal(d.urls[0].sha1, d.updates[0].digests[0], 20);
    assert_non_null(d.urls[0].mu_url);
    assert_non_null(strstr(d.urls[0].mu_url, "download.windowsupdate.com"));
    uss_update_data_free(&d);
    free(b);
    /* plain blob, unescaped */
    b = answer("000015", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_UPDATE_DATA, 200, b, len, &d, &e), 0);
    assert_int_equal(d.n, 1);
    assert_non_null(d.updates[0].xml);
    assert_true(strncmp(d.updates[0].xml, "<upd:Update ", 12) == 0);
    assert_null(d.updates[0].cab);
    uss_update_data_free(&d);
    free(b);
    uss_free(u);
}

static void test_faults(void **state)
{
    struct uss *u = new_client();
    struct uss_update_data d;
    struct uss_idlist l;
    struct uss_error e;
    size_t len;
    char *b;

    (void)state;
    b = answer("000017", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_UPDATE_DATA, 500, b, len, &d, &e), -1);
    assert_int_equal(e.kind, USS_ERR_FAULT);
    assert_string_equal(e.code, "InternalServerError");
    free(b);
    b = answer("000018", &len);
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_REVISION_ID_LIST, 500, b, len, &l, &e), -1);
    assert_string_equal(e.code, "InvalidParameters");
    free(b);
    /* not XML at all */
    assert_int_equal(uss_parse_answer(u, USS_OP_GET_UPDATE_DATA, 200, "<html>oops", 10, &d, &e),
                     -1);
    assert_int_equal(e.kind, USS_ERR_PROTO);
    /* a DTD is refused */
    {
        const char *evil = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
        assert_int_equal(
            uss_parse_answer(u, USS_OP_GET_UPDATE_DATA, 200, evil, strlen(evil), &d, &e), -1);
    }
    uss_free(u);
}

static int count_end(void *arg, struct soapread *r, const char *name, const char *text, size_t n)
{
    (void)r;
    (void)text;
    (void)n;
    if (strcmp(name, "UpdateIdentity") == 0)
        (*(int *)arg)++;
    return 0;
}

/* The streaming reader refuses what xml_parse refuses: a DTD, entities, deep nesting. */
static int soapread_refuses(const char *doc, const char *why)
{
    int n = 0, rc;
    struct soapread *r = soapread_new(count_end, &n, 1 << 20);

    rc = soapread_feed(r, doc, strlen(doc)) == 0 && soapread_finish(r) == 0;
    if (!rc && why != NULL && strstr(soapread_error(r), why) == NULL) {
        fprintf(stderr, "soapread said \"%s\", expected \"%s\"\n", soapread_error(r), why);
        rc = 1;
    }
    soapread_free(r);
    return !rc;
}

static void test_stream_hardening(void **state)
{
    struct buf deep;
    int i;

    (void)state;
    assert_true(soapread_refuses("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>", "DOCTYPE"));
    assert_true(
        soapread_refuses("<!DOCTYPE x SYSTEM \"http://127.0.0.1:9/x.dtd\"><x/>", "DOCTYPE"));
    assert_true(soapread_refuses("<x>&undeclared;</x>", NULL));
    /* predefined and character references are plain text */
    assert_false(soapread_refuses("<x>a &amp; b &#65;</x>", NULL));
    buf_init(&deep, 1 << 20);
    for (i = 0; i < SOAPREAD_MAX_DEPTH; i++)
        buf_add_str(&deep, "<e>");
    for (i = 0; i < SOAPREAD_MAX_DEPTH; i++)
        buf_add_str(&deep, "</e>");
    assert_false(soapread_refuses(buf_str(&deep), NULL));
    buf_reset(&deep);
    for (i = 0; i < SOAPREAD_MAX_DEPTH + 1; i++)
        buf_add_str(&deep, "<e>");
    for (i = 0; i < SOAPREAD_MAX_DEPTH + 1; i++)
        buf_add_str(&deep, "</e>");
    assert_true(soapread_refuses(buf_str(&deep), "nested too deeply"));
    buf_free(&deep);
}

static void test_stream_in_tiny_chunks(void **state)
{
    size_t len, i;
    char *b = answer("000006", &len);
    int n = 0;
    struct soapread *r = soapread_new(count_end, &n, 1 << 20);

    (void)state;
    for (i = 0; i < len; i += 7)
        assert_int_equal(soapread_feed(r, b + i, len - i < 7 ? len - i : 7), 0);
    assert_int_equal(soapread_finish(r), 0);
    assert_int_equal(n, 30);
    soapread_free(r);
    free(b);
}

static void test_helpers(void **state)
{
    unsigned char out[32];
    char g[37];
    size_t n;

    (void)state;
    /* the parsers uss.c reads answers with (strutil.h) */
    assert_int_equal(str_guid_canon("56309036-4C77-4DD9-951A-99EE9C246A94", g), 0);
    assert_string_equal(g, "56309036-4c77-4dd9-951a-99ee9c246a94");
    assert_int_equal(str_guid_canon("56309036x4C77-4DD9-951A-99EE9C246A94", g), -1);
    assert_int_equal(str_b64_decode("h/W9BGlYUAaqXTp30cZi/SiV3c0=", out, sizeof(out), &n), 0);
    assert_int_equal(n, 20);
    assert_int_equal(out[0], 0x87);
    assert_int_equal(out[19], 0xcd);
    assert_int_equal(str_b64_decode("h/W9*", out, sizeof(out), &n), -1);
    assert_true(uss_parse_datetime("junk") == (time_t)-1);
}

static void test_urls(void **state)
{
    struct uss_options o;
    struct uss_error e;
    struct uss *u;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.url = "https://wsus.example.test:8531";
    u = uss_new(&o, &e);
    assert_string_equal(uss_content_url(u), "http://wsus.example.test:8530");
    uss_free(u);
    o.url = "microsoft-update";
    u = uss_new(&o, &e);
    assert_string_equal(uss_url(u), "https://sws.update.microsoft.com");
    assert_string_equal(uss_content_url(u), "http://sws.update.microsoft.com");
    uss_free(u);
    o.url = "ftp://x";
    assert_null(uss_new(&o, &e));
    o.url = "";
    assert_null(uss_new(&o, &e));
    assert_non_null(strstr(e.msg, "wsusctl config set upstream"));
}

/* A loopback listener whose connections the kernel accepts (backlog) but nobody answers. */
static int silent_listener(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A hung upstream fails the call after the answer timeout (not 900 s), and the cancel flag
 * stops a call at once, each with its own message. */
static void test_hung_upstream(void **state)
{
    struct uss_options o;
    struct uss_error e;
    struct uss *u;
    atomic_int cancel = 0;
    char url[64], want[512];
    int port, fd = silent_listener(&port);
    time_t t0;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.answer_timeout_s = 1;
    o.cancel = &cancel;
    u = uss_new(&o, &e);
    assert_non_null(u);
    t0 = time(NULL);
    assert_int_equal(uss_authorize(u, &e), -1);
    assert_true(time(NULL) - t0 < 30); /* only catches a hang */
    assert_string_equal(e.code, "NoAnswer");
    snprintf(want, sizeof(want),
             "upstream %s accepted the connection but did not answer GetAuthConfig within 1 s; "
             "check that it is a WSUS server and not overloaded",
             url);
    assert_string_equal(e.msg, want);
    atomic_store(&cancel, 1);
    assert_int_equal(uss_authorize(u, &e), -1);
    assert_string_equal(e.code, "Cancelled");
    snprintf(want, sizeof(want), "GetAuthConfig to upstream %s was cancelled", url);
    assert_string_equal(e.msg, want);
    uss_free(u);
    close(fd);
}

/* OpenSSL's words for an HTTP answer to a ClientHello, and nothing else, mean "plain HTTP" */
static void test_tls_plain_http(void **state)
{
    (void)state;
    assert_int_equal(uss_tls_got_plain_http(CURLE_SSL_CONNECT_ERROR,
                                            "error:0A00010B:SSL routines::wrong version number"),
                     1);
    assert_int_equal(uss_tls_got_plain_http(CURLE_SSL_CONNECT_ERROR,
                                            "error:1408F10B:SSL routines:ssl3_get_record:"
                                            "packet length too long"),
                     1);
    assert_int_equal(
        uss_tls_got_plain_http(CURLE_SSL_CONNECT_ERROR, "OpenSSL SSL_connect: SSL_ERROR_SYSCALL"),
        0);
    assert_int_equal(uss_tls_got_plain_http(CURLE_PEER_FAILED_VERIFICATION, "wrong version number"),
                     0);
    assert_int_equal(uss_tls_got_plain_http(CURLE_SSL_CONNECT_ERROR, NULL), 0);
}

/* A plain HTTP server that hangs up on a TLS ClientHello without a word (as a busy HTTP
 * server may): serves until it has answered one plain request. */
static void *hangup_on_tls(void *arg)
{
    int lfd = *(int *)arg, answered = 0;

    while (!answered) {
        unsigned char b[2048];
        int c = accept(lfd, NULL, NULL);
        ssize_t n;
        if (c < 0)
            break;
        n = read(c, b, sizeof(b));
        if (n > 0 && b[0] != 0x16) {
            static const char ans[] =
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            answered = write(c, ans, sizeof(ans) - 1) > 0;
        }
        close(c);
    }
    return NULL;
}

/* https:// to a plain HTTP port that closes the TLS handshake silently: the plain HTTP probe
 * finds it out, and the message names the scheme or the port, not the certificate */
static void test_tls_to_plain_http_port(void **state)
{
    struct uss_options o;
    struct uss_error e;
    struct uss *u;
    char url[64], want[256];
    int port, fd = silent_listener(&port);
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, hangup_on_tls, &fd), 0);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.answer_timeout_s = 5;
    u = uss_new(&o, &e);
    assert_non_null(u);
    assert_int_equal(uss_authorize(u, &e), -1);
    snprintf(want, sizeof(want),
             "upstream %s answers plain HTTP on that port: use http:// or the HTTPS port (8531)",
             url);
    assert_string_equal(e.msg, want);
    assert_int_equal(pthread_join(t, NULL), 0);
    uss_free(u);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_and_cookie),
        cmocka_unit_test(test_config_data_any_order),
        cmocka_unit_test(test_revision_list),
        cmocka_unit_test(test_idlist_compact),
        cmocka_unit_test(test_rollup_answers),
        cmocka_unit_test(test_update_data_both_forms),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_stream_in_tiny_chunks),
        cmocka_unit_test(test_stream_hardening),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_hung_upstream),
        cmocka_unit_test(test_tls_plain_http),
        cmocka_unit_test(test_tls_to_plain_http_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
