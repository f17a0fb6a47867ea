/*
 * fuzz_soap: libFuzzer target for the SOAP request path of wsusd's web services: the hardened
 * envelope parser (common/format/soap.c), the operation lookup on both services and the bounded
 * request decoding (server/soap/soap_req.c), the decoding of the reporting rollup requests
 * (server/wusp/rollup_req.c, after the Reporting service's larger-cap parse), plus the anchor and
 * version parsers on every text it decoded. Seed corpus: the 19 real request bodies of
 * tests/data/exchanges and four rollup requests shaped from the spec.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "soap.h"
#include "rollup_req.h"
#include "soap_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct soap_envelope env;
    char err[256];
    int svc;

    if (soap_envelope_parse((const char *)data, size, &env, err, sizeof(err)) < 0)
        return 0;
    for (svc = SOAP_SVC_SYNC; svc <= SOAP_SVC_DSSAUTH; svc++) {
        const struct soap_op_info *info = soapreq_lookup((enum soap_service)svc, env.op);
        struct soap_call call;

        if (info == NULL)
            continue;
        soapreq_decode(info, env.op, &call);
        soapreq_free(&call);
    }
    {
        char *t = soap_text(env.op, 4096);
        int64_t seq;
        unsigned a, b;
        unsigned char g[16];

        if (t != NULL) {
            (void)anchor_parse(t, &seq);
            (void)soapreq_parse_version(t, &a, &b);
            (void)soap_guid_parse(t, g);
            free(t);
        }
    }
    soap_envelope_free(&env);
    if (soap_envelope_parse_large((const char *)data, size, &env, err, sizeof(err)) == 0) {
        int kind;

        for (kind = ROLLUP_REQ_SERVERS; kind <= ROLLUP_REQ_STATUS; kind++) {
            struct rollup_req rq;

            (void)rollup_req_decode((enum rollup_req_op)kind, SOAP_NS_SYNC, env.op, &rq);
            rollup_req_free(&rq);
        }
        soap_envelope_free(&env);
    }
    return 0;
}
