/*
 * libFuzzer target for the admin settings' syntax checks (settings_normalize): the first byte
 * picks the setting, the rest is the value. Checks that a value is either refused with a
 * one-line message naming the key, or accepted in a normal form that normalizes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct settings_def *d;
    char err[1024], *s, *n, *again;

    if (size < 1 || size > 70000)
        return 0;
    d = settings_at(data[0] % settings_count());
    if (d->type == SETTINGS_PATH)
        return 0; /* touches the file system */
    s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    err[0] = '\0';
    n = settings_normalize(d, s, err, sizeof(err));
    if (n == NULL) {
        if (strncmp(err, d->key, strlen(d->key)) != 0 || strchr(err, '\n') != NULL)
            abort();
    } else {
        again = settings_normalize(d, n, err, sizeof(err));
        if (again == NULL || strcmp(again, n) != 0)
            abort();
        free(again);
        free(n);
    }
    free(s);
    return 0;
}
