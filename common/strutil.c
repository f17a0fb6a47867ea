/*
 * strutil: number parsing with range checks and bounded string copies.
 */
#include "strutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int str_to_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int str_to_long(const char *s, long min, long max, long *out)
{
    int64_t v;

    if (str_to_int64(s, min, max, &v) < 0)
        return -1;
    *out = (long)v;
    return 0;
}

int str_has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int str_copy(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);

    if (outlen == 0)
        return -1;
    if (n >= outlen) {
        memcpy(out, s, outlen - 1);
        out[outlen - 1] = '\0';
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

char *str_trim(char *s)
{
    size_t n = strlen(s);
    size_t start = 0;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[start]))
        start++;
    if (start > 0)
        memmove(s, s + start, n - start + 1);
    return s;
}
