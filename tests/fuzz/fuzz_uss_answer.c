/*
 * fuzz_uss_answer: libFuzzer target for the downstream's parser of upstream answers, the bytes a
 * (possibly hostile) upstream sends: the streaming reader (client/soapread.c, over the xml guard
 * and its attribute pre-scan) and the answer decoding of every operation (client/uss_answer.c,
 * entered through uss_parse_answer in client/uss.c, the same code a live transfer feeds). Input:
 * byte 0 picks the operation, byte 1 the HTTP status (bit 7: 500, else 200) and the chunk size of a
 * second, chunked pass through the reader (low 7 bits + 1), the rest is the answer body. Seed
 * corpus: the real answers of tests/data/exchanges with their operation, GetDeployments and
 * DownloadFiles answers (and a fault) of a real wsusd (no capture has them), the five reporting
 * rollup answers (wsusd-GetRollupConfiguration.bin ...: written from MS-WSUSSS 3.1.4.13-17, no
 * capture has them either), and regress-* (past findings).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "soapread.h"
#include "uss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct uss *fuzz_client(void)
{
    static struct uss *u;
    struct uss_options o;
    struct uss_error e;

    if (u == NULL) {
        memset(&o, 0, sizeof(o));
        o.url = "http://127.0.0.1:9";
        o.account_name = "fuzz.example.test";
        o.account_guid = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12";
        u = uss_new(&o, &e);
        if (u == NULL)
            __builtin_trap();
    }
    return u;
}

static int check_end(void *arg, struct soapread *r, const char *name, const char *text, size_t len)
{
    (void)arg;
    (void)r;
    if (name == NULL || text[len] != '\0') /* the owner may use text as a C string */
        __builtin_trap();
    return 0;
}

/* The whole answer of op, decoded; checks what sync.c relies on in a success. */
static void decode(enum uss_op op, long status, const char *body, size_t len)
{
    union {
        struct uss_config config;
        struct uss_idlist ids;
        struct uss_update_data upd;
        struct uss_deployments dep;
        struct uss_rollup_config rollup;
        struct uss_changed_computers changed;
        struct uss_computer_ids ids_out;
        int accepted;
        char text[512];
    } out;
    struct uss_error err;
    size_t i;
    int rc;

    memset(&out, 0, sizeof(out));
    rc = uss_parse_answer(fuzz_client(), op, status, body, len,
                          op == USS_OP_DOWNLOAD_FILES ? NULL : &out, &err);
    if (rc != 0 && err.msg[0] == '\0')
        __builtin_trap(); /* every refusal says why */
    switch (op) {
    case USS_OP_GET_CONFIG_DATA:
        if (rc == 0 &&
            (out.config.max_updates_per_request < 1 || out.config.max_updates_per_request > 1000))
            __builtin_trap();
        uss_config_free(&out.config);
        break;
    case USS_OP_GET_REVISION_ID_LIST:
        for (i = 0; rc == 0 && i < out.ids.n; i++) {
            struct uss_id id;

            uss_idlist_get(&out.ids, i, &id);
            if (strlen(id.update_id) != 36 || id.rev < 0)
                __builtin_trap();
        }
        uss_idlist_free(&out.ids);
        break;
    case USS_OP_GET_UPDATE_DATA:
        for (i = 0; rc == 0 && i < out.upd.n; i++)
            if (strlen(out.upd.updates[i].id.update_id) != 36 ||
                (out.upd.updates[i].xml == NULL && out.upd.updates[i].cab == NULL))
                __builtin_trap();
        uss_update_data_free(&out.upd);
        break;
    case USS_OP_GET_DEPLOYMENTS:
        uss_deployments_free(&out.dep);
        break;
    case USS_OP_GET_ROLLUP_CONFIGURATION: /* batch sizes the rollup loops on: 1..Windows' */
        if (rc == 0 &&
            (out.rollup.max_servers < 1 || out.rollup.max_servers > USS_ROLLUP_SERVERS_BATCH ||
             out.rollup.max_computers < 1 ||
             out.rollup.max_computers > USS_ROLLUP_COMPUTERS_BATCH ||
             out.rollup.max_out_of_sync < 1 ||
             out.rollup.max_out_of_sync > USS_ROLLUP_OUT_OF_SYNC_BATCH ||
             out.rollup.max_status < 1 || out.rollup.max_status > USS_ROLLUP_STATUS_BATCH ||
             strlen(out.rollup.reset_guid) != 36 || strlen(out.rollup.server_id) != 36))
            __builtin_trap();
        break;
    case USS_OP_ROLLUP_COMPUTERS:
        if (out.changed.n > USS_ROLLUP_OUT_OF_SYNC_BATCH)
            __builtin_trap();
        for (i = 0; i < out.changed.n; i++)
            if (out.changed.v[i].id[0] == '\0')
                __builtin_trap();
        uss_changed_computers_free(&out.changed);
        break;
    case USS_OP_GET_OUT_OF_SYNC_COMPUTERS:
        if (out.ids_out.n > USS_ROLLUP_OUT_OF_SYNC_BATCH)
            __builtin_trap();
        for (i = 0; i < out.ids_out.n; i++)
            if (out.ids_out.ids[i][0] == '\0')
                __builtin_trap();
        uss_computer_ids_free(&out.ids_out);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data + 2;
    size_t len, off, chunk;
    struct soapread *r;
    long status;

    if (size < 2)
        return 0;
    len = size - 2;
    status = (data[1] & 0x80) ? 500 : 200;
    decode((enum uss_op)(data[0] % USS_OP_COUNT), status, body, len);

    /* the same bytes in small chunks, as libcurl may deliver them */
    chunk = (size_t)(data[1] & 0x7f) + 1;
    r = soapread_new(check_end, NULL, 1 << 20);
    for (off = 0; off < len; off += chunk)
        if (soapread_feed(r, body + off, len - off < chunk ? len - off : chunk) < 0)
            break;
    if (off >= len)
        (void)soapread_finish(r);
    soapread_free(r);
    return 0;
}
