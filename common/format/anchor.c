/*
 * anchor: format and parse "<seq>,<timestamp>" anchors (see anchor.h).
 */
#include "anchor.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void anchor_format(int64_t seq, time_t t, char *out, size_t outlen)
{
    struct tm tm;
    char ts[32];

    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, outlen, "%lld,%s.000", (long long)(seq < 0 ? 0 : seq), ts);
}

/* n digits at p, value into *v; returns p after them or NULL. */
static const char *anchor_digits(const char *p, int n, int *v)
{
    int i, x = 0;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return NULL;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return p + n;
}

int anchor_parse(const char *s, int64_t *seq)
{
    const char *p;
    int64_t v = 0;
    int nd = 0, y, mo, d, h, mi, se, nf = 0;
    size_t len;

    if (s == NULL)
        return -1;
    len = strlen(s);
    if (len > ANCHOR_MAX_LEN)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    for (p = s; isdigit((unsigned char)*p); p++) {
        if (++nd > 18)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (nd == 0 || *p != ',')
        return -1;
    p++;
    if ((p = anchor_digits(p, 4, &y)) == NULL || *p++ != '-' ||
        (p = anchor_digits(p, 2, &mo)) == NULL || *p++ != '-' ||
        (p = anchor_digits(p, 2, &d)) == NULL || *p++ != ' ' ||
        (p = anchor_digits(p, 2, &h)) == NULL || *p++ != ':' ||
        (p = anchor_digits(p, 2, &mi)) == NULL || *p++ != ':' ||
        (p = anchor_digits(p, 2, &se)) == NULL)
        return -1;
    if (y < 1753 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++)
            nf++;
        if (nf < 1 || nf > 7)
            return -1;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '\0')
        return -1;
    *seq = v;
    return 0;
}
