/*
 * libFuzzer target for everything the content endpoint parses from a request: the Range header
 * (against several representation sizes), HTTP-dates, entity-tag lists, If-Range and the
 * /Content/ URL grammar. Checks the invariants the handler relies on, not just "no crash".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_ranges(const char *s, int64_t len)
{
    struct range_span spans[RANGE_MAX_PARTS];
    size_t n = 0, i, j;
    enum range_outcome o = range_parse(s, len, spans, RANGE_MAX_PARTS, &n);

    if (o != RANGE_PARTIAL) {
        if (n != 0)
            abort();
        return;
    }
    if (n < 1 || n > RANGE_MAX_PARTS)
        abort();
    for (i = 0; i < n; i++) {
        if (spans[i].first < 0 || spans[i].first > spans[i].last || spans[i].last >= len)
            abort();
        /* coalesced: no two spans overlap or touch */
        for (j = i + 1; j < n; j++)
            if (spans[j].first <= spans[i].last + 1 && spans[i].first <= spans[j].last + 1)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    unsigned char sha1[20];
    char ext[CONTENT_STORE_EXT_MAX + 1], out[RANGE_HTTP_DATE_LEN];
    time_t t;

    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_check_ranges(s, 1);
    fuzz_check_ranges(s, 10000);
    fuzz_check_ranges(s, 204745168);
    fuzz_check_ranges(s, INT64_MAX);
    if (range_parse_http_date(s, &t) == 0 && range_format_http_date(t, out, sizeof(out)) == 0) {
        time_t back;
        if (range_parse_http_date(out, &back) != 0 || back != t)
            abort();
    }
    range_etag_list_match(s, "\"0123456789ABCDEF0123456789ABCDEF01234567\"", 0);
    range_etag_list_match(s, "\"0123456789ABCDEF0123456789ABCDEF01234567\"", 1);
    range_if_range_matches(s, "\"0123456789ABCDEF0123456789ABCDEF01234567\"", 784111777);
    if (content_url_parse(s, sha1, ext) == CONTENT_URL_OK) {
        size_t i, n = strlen(ext);
        if (n > CONTENT_STORE_EXT_MAX || strstr(s, "..") != NULL || strchr(s, '%') != NULL)
            abort();
        for (i = 0; i < n; i++)
            if (!((ext[i] >= 'a' && ext[i] <= 'z') || (ext[i] >= '0' && ext[i] <= '9')))
                abort();
    }
    free(s);
    return 0;
}
