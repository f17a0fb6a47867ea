/*
 * libFuzzer target for the XmlUpdateBlobCompressed decoder (cab_blob_decode: libmspack on an
 * in-memory cabinet, size limit, UTF-16LE to UTF-8) followed by the update parser.
 * Seeds: the two real compressed blobs of exchanges 000013 and 000014.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cab.h"
#include "update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], *xml;
    size_t len;
    struct update u;

    if (cab_blob_decode(data, size, 1u << 20, &xml, &len, err, sizeof(err)) == 0) {
        if (update_parse(&u, xml, len, err, sizeof(err)) == 0)
            update_free(&u);
        free(xml);
    }
    return 0;
}
