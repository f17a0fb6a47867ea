/*
 * libFuzzer target for what an upstream sends in the X-Wsusd-Hierarchy header (common/
 * hierarchy.h): the parse must stay within its bounds, keep only canonical GUIDs and DNS-safe
 * names, format back to a value that parses to the same chain, and the loop check must give
 * a verdict for any chain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hierarchy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char *out = malloc(HIER_MAX_VALUE + 1);
    struct hier_chain c, back;
    struct hier_result res;
    size_t i;

    memcpy(s, data, size);
    s[size] = '\0';
    if (hier_chain_parse(s, &c) == 0) {
        if (c.n < 1 || c.n > HIER_MAX_SERVERS)
            abort();
        for (i = 0; i < c.n; i++)
            if (strlen(c.s[i].id) != 36 || strlen(c.s[i].name) < 1 ||
                strpbrk(c.s[i].name, " ,;\r\n<>\"") != NULL)
                abort();
        if (hier_chain_format(&c, out, HIER_MAX_VALUE + 1) != 0 ||
            hier_chain_parse(out, &back) != 0 || back.n != c.n)
            abort();
        for (i = 0; i < c.n; i++)
            if (strcmp(back.s[i].id, c.s[i].id) != 0 || strcmp(back.s[i].name, c.s[i].name) != 0)
                abort();
        hier_check_loop("0a0a0a0a-0000-4000-8000-00000000000a", "a.test", "http://u:8530", &c,
                        &res);
        if (res.verdict != HIER_PASS && res.verdict != HIER_FAIL)
            abort();
    } else if (c.n != 0) {
        abort();
    }
    hier_check_languages("http://u:8530", "en,de", s, &res);
    free(out);
    free(s);
    return 0;
}
