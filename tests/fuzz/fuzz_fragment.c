/*
 * libFuzzer target for fragment_derive (MS-WUSP fragments from an update document, over the
 * hardened xml layer): any input must derive or be refused cleanly, never crash, leak or
 * overrun, and what it derives must keep the module's promises (lengths, bounds, languages).
 * Seeds: the real documents (tests/fuzz/corpus/fuzz_fragment).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fragment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fragment_set s;
    char err[512];
    size_t i;

    fragment_set_init(&s);
    if (fragment_derive(&s, (const char *)data, size, err, sizeof(err)) != 0) {
        if (err[0] == '\0' || s.core != NULL || s.extended != NULL || s.n_localized != 0 ||
            s.n_eula != 0)
            __builtin_trap();
        return 0;
    }
    if (s.core == NULL || strlen(s.core) != s.core_len || s.extended == NULL ||
        strlen(s.extended) != s.extended_len || s.core_len > FRAGMENT_MAX_OUTPUT ||
        s.n_localized > FRAGMENT_MAX_LANGUAGES || s.n_eula > FRAGMENT_MAX_LANGUAGES)
        __builtin_trap();
    for (i = 0; i < s.n_localized; i++) {
        const struct fragment_localized *l = &s.localized[i];
        if (strlen(l->xml) != l->len || l->language[0] == '\0' ||
            strlen(l->language) > FRAGMENT_MAX_LANG_LEN ||
            fragment_set_localized(&s, l->language) != l)
            __builtin_trap();
    }
    for (i = 0; i < s.n_eula; i++) {
        const struct fragment_eula *e = &s.eula[i];
        const char *lang = e->language;
        size_t pick[FRAGMENT_MAX_LANGUAGES], n, k;

        if (strlen(e->xml) != e->len || strncmp(e->xml, "<EulaFile", 9) != 0 ||
            !fragment_language_ok(e->language) ||
            (e->geo_id[0] != '\0' && !fragment_language_ok(e->geo_id)))
            __builtin_trap();
        /* the picks are distinct indices, and this entry's language picks one of its own */
        n = fragment_set_eula(&s, &lang, 1, e->geo_id, pick);
        if (n == 0 && e->geo_id[0] == '\0')
            __builtin_trap();
        for (k = 0; k < n; k++)
            if (pick[k] >= s.n_eula || (k > 0 && pick[k] == pick[0]))
                __builtin_trap();
    }
    fragment_set_free(&s);
    return 0;
}
