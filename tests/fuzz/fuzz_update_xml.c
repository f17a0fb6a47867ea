/*
 * libFuzzer target for the update document parser (update_parse over the hardened xml
 * layer): any input must parse or be refused cleanly, never crash, leak or overrun. And the
 * one-parse path of the sync (update_parse_derive) must agree with the two parses it replaces:
 * the same verdict as update_parse, and exactly the fragments fragment_derive derives from the
 * same bytes (none where fragment_derive refuses them).
 * Seeds: real documents (tests/fuzz/corpus/fuzz_update_xml).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fragment.h"
#include "update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static int same_set(const struct fragment_set *a, const struct fragment_set *b)
{
    size_t i;

    if (!same_bytes(a->core, a->core_len, b->core, b->core_len) ||
        !same_bytes(a->extended, a->extended_len, b->extended, b->extended_len) ||
        a->n_localized != b->n_localized || a->n_eula != b->n_eula)
        return 0;
    for (i = 0; i < a->n_localized; i++)
        if (strcmp(a->localized[i].language, b->localized[i].language) != 0 ||
            !same_bytes(a->localized[i].xml, a->localized[i].len, b->localized[i].xml,
                        b->localized[i].len))
            return 0;
    for (i = 0; i < a->n_eula; i++)
        if (strcmp(a->eula[i].language, b->eula[i].language) != 0 ||
            strcmp(a->eula[i].geo_id, b->eula[i].geo_id) != 0 ||
            !same_bytes(a->eula[i].xml, a->eula[i].len, b->eula[i].xml, b->eula[i].len))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct update u, once;
    struct fragment_set s;
    char err[512], err2[512];
    int rc = update_parse(&u, (const char *)data, size, err, sizeof(err));

    if (update_parse_derive(&once, (const char *)data, size, err2, sizeof(err2)) != rc)
        __builtin_trap();
    if (rc != 0) {
        if (strcmp(err, err2) != 0 || once.fragments != NULL)
            __builtin_trap();
        return 0;
    }
    /* what the catalog relies on */
    if (strlen(u.update_id) != UPDATE_ID_LEN || u.update_type == NULL || u.title == NULL ||
        u.xml_len != size || (u.n_bundles == 0) != u.is_leaf || u.fragments != NULL ||
        strcmp(u.update_id, once.update_id) != 0 || u.n_files != once.n_files)
        __builtin_trap();
    fragment_set_init(&s);
    if (fragment_derive(&s, (const char *)data, size, err, sizeof(err)) == 0) {
        if (once.fragments == NULL || !same_set(&s, once.fragments))
            __builtin_trap();
    } else if (once.fragments != NULL) {
        __builtin_trap();
    }
    fragment_set_free(&s);
    update_free(&u);
    update_free(&once);
    return 0;
}
