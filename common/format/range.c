/*
 * range: RFC 9110 Range / If-Range / entity-tag / HTTP-date handling as pure functions.
 * Everything a peer sends is parsed with explicit bounds; nothing here allocates, logs or
 * touches files. The caller (server/content.c) turns the outcomes into status codes.
 */
#include "range.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int range_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int range_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Read 1*DIGIT at *p, saturating at INT64_MAX. 0, or -1 when there is no digit. */
static int range_read_number(const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;

    if (!range_is_digit(*s))
        return -1;
    while (range_is_digit(*s)) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            v = INT64_MAX;
        else
            v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int range_touch(const struct range_span *a, const struct range_span *b)
{
    /* overlapping or adjacent (a.last + 1 == b.first); last < INT64_MAX always holds */
    return b->first <= a->last + 1 && a->first <= b->last + 1;
}

/* Merge overlapping/adjacent spans into the earliest of them, keeping request order. */
static size_t range_coalesce(struct range_span *spans, size_t n)
{
    int merged = 1;
    size_t i, j;

    while (merged) {
        merged = 0;
        for (i = 0; i < n && !merged; i++) {
            for (j = i + 1; j < n; j++) {
                if (!range_touch(&spans[i], &spans[j]))
                    continue;
                if (spans[j].first < spans[i].first)
                    spans[i].first = spans[j].first;
                if (spans[j].last > spans[i].last)
                    spans[i].last = spans[j].last;
                memmove(&spans[j], &spans[j + 1], (n - j - 1) * sizeof(spans[0]));
                n--;
                merged = 1;
                break;
            }
        }
    }
    return n;
}

enum range_outcome range_parse(const char *value, int64_t size, struct range_span *spans,
                               size_t max, size_t *n)
{
    const char *p = value;
    size_t count = 0, specs = 0;

    *n = 0;
    if (value == NULL || size <= 0 || max == 0)
        return RANGE_IGNORE;
    while (range_is_ows(*p))
        p++;
    if (strncasecmp(p, "bytes=", 6) != 0)
        return RANGE_IGNORE;
    p += 6;
    for (;;) {
        int64_t first = 0, last = 0;
        int suffix = 0, has_last = 0;

        while (range_is_ows(*p))
            p++;
        if (*p == ',') { /* empty list element: ignored (RFC 9110 5.6.1.2) */
            p++;
            continue;
        }
        if (*p == '\0')
            break;
        if (*p == '-') {
            p++;
            suffix = 1;
            if (range_read_number(&p, &last) < 0)
                return RANGE_IGNORE;
            first = 0;
        } else {
            if (range_read_number(&p, &first) < 0 || *p != '-')
                return RANGE_IGNORE;
            p++;
            if (range_is_digit(*p)) {
                if (range_read_number(&p, &last) < 0)
                    return RANGE_IGNORE;
                has_last = 1;
                if (last < first)
                    return RANGE_IGNORE; /* invalid range-spec makes the header invalid */
            }
        }
        while (range_is_ows(*p))
            p++;
        if (*p != ',' && *p != '\0')
            return RANGE_IGNORE;
        if (++specs > max)
            return RANGE_IGNORE;
        /* resolve against size; keep only satisfiable ones */
        if (suffix) {
            if (last > 0) {
                spans[count].first = last >= size ? 0 : size - last;
                spans[count].last = size - 1;
                count++;
            }
        } else if (first < size) {
            spans[count].first = first;
            spans[count].last = (!has_last || last >= size) ? size - 1 : last;
            count++;
        }
    }
    if (specs == 0)
        return RANGE_IGNORE;
    if (count == 0)
        return RANGE_UNSATISFIABLE;
    *n = range_coalesce(spans, count);
    return RANGE_PARTIAL;
}

static const char *const range_months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const range_wdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

static int range_month_of(const char *s)
{
    int i;

    for (i = 0; i < 12; i++)
        if (strncmp(s, range_months[i], 3) == 0)
            return i;
    return -1;
}

/* Exactly ndigits digits at *p into *out. 0 or -1. */
static int range_fixed_digits(const char **p, int ndigits, int *out)
{
    int v = 0, i;

    for (i = 0; i < ndigits; i++) {
        if (!range_is_digit((*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += ndigits;
    *out = v;
    return 0;
}

static int range_expect(const char **p, const char *lit)
{
    size_t n = strlen(lit);

    if (strncmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

/* "HH:MM:SS" */
static int range_read_time(const char **p, struct tm *tm)
{
    if (range_fixed_digits(p, 2, &tm->tm_hour) < 0 || range_expect(p, ":") < 0 ||
        range_fixed_digits(p, 2, &tm->tm_min) < 0 || range_expect(p, ":") < 0 ||
        range_fixed_digits(p, 2, &tm->tm_sec) < 0)
        return -1;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
        return -1;
    return 0;
}

static int range_read_month(const char **p, struct tm *tm)
{
    tm->tm_mon = range_month_of(*p);
    if (tm->tm_mon < 0)
        return -1;
    *p += 3;
    return 0;
}

int range_parse_http_date(const char *s, time_t *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm;
    const char *p = s, *comma;
    size_t wlen = 0;
    int year = 0;
    time_t t;

    if (s == NULL)
        return -1;
    memset(&tm, 0, sizeof(tm));
    while ((p[wlen] >= 'A' && p[wlen] <= 'Z') || (p[wlen] >= 'a' && p[wlen] <= 'z'))
        wlen++;
    if (wlen < 3 || wlen > 9)
        return -1;
    comma = p + wlen;
    if (*comma == ',' && wlen == 3) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        p = comma + 1;
        if (range_expect(&p, " ") < 0 || range_fixed_digits(&p, 2, &tm.tm_mday) < 0 ||
            range_expect(&p, " ") < 0 || range_read_month(&p, &tm) < 0 ||
            range_expect(&p, " ") < 0 || range_fixed_digits(&p, 4, &year) < 0 ||
            range_expect(&p, " ") < 0 || range_read_time(&p, &tm) < 0 ||
            range_expect(&p, " GMT") < 0)
            return -1;
    } else if (*comma == ',') {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        struct tm now;
        time_t tnow = time(NULL);
        p = comma + 1;
        if (range_expect(&p, " ") < 0 || range_fixed_digits(&p, 2, &tm.tm_mday) < 0 ||
            range_expect(&p, "-") < 0 || range_read_month(&p, &tm) < 0 ||
            range_expect(&p, "-") < 0 || range_fixed_digits(&p, 2, &year) < 0 ||
            range_expect(&p, " ") < 0 || range_read_time(&p, &tm) < 0 ||
            range_expect(&p, " GMT") < 0)
            return -1;
        /* a two-digit year more than 50 years ahead is in the past century (RFC 9110 5.6.7) */
        if (gmtime_r(&tnow, &now) == NULL)
            return -1;
        year += (now.tm_year + 1900) / 100 * 100;
        if (year > now.tm_year + 1900 + 50)
            year -= 100;
    } else if (*comma == ' ' && wlen == 3) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        p = comma + 1;
        if (range_read_month(&p, &tm) < 0 || range_expect(&p, " ") < 0)
            return -1;
        if (*p == ' ') {
            p++;
            if (range_fixed_digits(&p, 1, &tm.tm_mday) < 0)
                return -1;
        } else if (range_fixed_digits(&p, 2, &tm.tm_mday) < 0) {
            return -1;
        }
        if (range_expect(&p, " ") < 0 || range_read_time(&p, &tm) < 0 ||
            range_expect(&p, " ") < 0 || range_fixed_digits(&p, 4, &year) < 0)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0' || year < 1900 || tm.tm_mday < 1 || tm.tm_mday > mdays[tm.tm_mon])
        return -1;
    tm.tm_year = year - 1900;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t;
    return 0;
}

int range_format_http_date(time_t t, char *out, size_t outlen)
{
    struct tm tm;
    int n;

    if (outlen < RANGE_HTTP_DATE_LEN || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
        tm.tm_year + 1900 < 0)
        return -1;
    n = snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT", range_wdays[tm.tm_wday],
                 tm.tm_mday, range_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
    return (n > 0 && (size_t)n < outlen) ? 0 : -1;
}

/*
 * Read one entity-tag at *p: [W/]"etagc*". On success *weak is set, [*tag, *tag+*len) is the
 * opaque tag with its quotes, and *p moves past it. -1 if there is no valid tag.
 */
static int range_read_etag(const char **p, int *weak, const char **tag, size_t *len)
{
    const char *s = *p, *q;

    *weak = 0;
    if (s[0] == 'W' && s[1] == '/') {
        *weak = 1;
        s += 2;
    }
    if (*s != '"')
        return -1;
    q = s + 1;
    /* etagc = %x21 / %x23-7E / obs-text */
    while (*q != '\0' && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x21 || c == 0x7f)
            return -1;
        q++;
    }
    if (*q != '"')
        return -1;
    *tag = s;
    *len = (size_t)(q + 1 - s);
    *p = q + 1;
    return 0;
}

int range_etag_list_match(const char *value, const char *etag, int strong)
{
    const char *p = value;
    size_t elen;
    int etag_weak = 0;

    if (value == NULL || etag == NULL)
        return 0;
    if (etag[0] == 'W' && etag[1] == '/') {
        etag_weak = 1;
        etag += 2;
    }
    elen = strlen(etag);
    while (range_is_ows(*p))
        p++;
    if (p[0] == '*') {
        const char *r = p + 1;
        while (range_is_ows(*r))
            r++;
        if (*r == '\0')
            return 1;
    }
    while (*p != '\0') {
        const char *tag;
        size_t len;
        int weak;

        while (range_is_ows(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (range_read_etag(&p, &weak, &tag, &len) == 0) {
            if (len == elen && memcmp(tag, etag, len) == 0 && (!strong || (!weak && !etag_weak)))
                return 1;
        } else {
            /* skip the malformed member up to the next comma */
            while (*p != '\0' && *p != ',')
                p++;
        }
    }
    return 0;
}

int range_if_range_matches(const char *if_range, const char *etag, time_t last_modified)
{
    const char *p = if_range;
    time_t t;

    if (if_range == NULL)
        return 1;
    while (range_is_ows(*p))
        p++;
    if (*p == '"' || (p[0] == 'W' && p[1] == '/')) {
        const char *tag, *r;
        size_t len;
        int weak;

        r = p;
        if (range_read_etag(&r, &weak, &tag, &len) < 0 || weak || etag == NULL)
            return 0;
        while (range_is_ows(*r))
            r++;
        if (*r != '\0' || (etag[0] == 'W' && etag[1] == '/'))
            return 0;
        return len == strlen(etag) && memcmp(tag, etag, len) == 0;
    }
    if (range_parse_http_date(p, &t) < 0)
        return 0;
    return t == last_modified;
}
