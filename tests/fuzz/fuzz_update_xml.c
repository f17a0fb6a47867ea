/*
 * libFuzzer target for the update document parser (update_parse over the hardened xml
 * layer): any input must parse or be refused cleanly, never crash, leak or overrun.
 * Seeds: real documents (tests/fuzz/corpus/fuzz_update_xml).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct update u;
    char err[512];

    if (update_parse(&u, (const char *)data, size, err, sizeof(err)) == 0) {
        /* what the catalog relies on */
        if (strlen(u.update_id) != UPDATE_ID_LEN || u.update_type == NULL || u.title == NULL ||
            u.xml_len != size || (u.n_bundles == 0) != u.is_leaf)
            __builtin_trap();
        update_free(&u);
    }
    return 0;
}
