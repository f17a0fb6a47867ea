/*
 * strutil: number parsing with range checks, hex/GUID/base64 codecs and bounded string copies
 * (see strutil.h). Pure functions: no allocation, no locale beyond isspace/isdigit on ASCII.
 */
#include "strutil.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

int str_fmt(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (outlen == 0)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
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

void str_copy_cut(char *out, size_t outlen, const char *s)
{
    if (str_copy(out, outlen, s) < 0) {
        /* truncation intended: the caller takes a cut copy */
    }
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

int str_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *str_url_decode(const char *s)
{
    size_t n = strlen(s), i, j = 0;
    char *out = xmalloc(n + 1);

    for (i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%' && (hi = str_hexval(s[i + 1])) >= 0 &&
                   (lo = str_hexval(s[i + 2])) >= 0 && (hi | lo) != 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

char *str_hex_encode(const unsigned char *in, size_t n, int upper, char *out)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

int str_hex_decode(const char *s, size_t slen, unsigned char *out, size_t n)
{
    size_t i;

    if (slen != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = str_hexval((unsigned char)s[2 * i]), lo = str_hexval((unsigned char)s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int str_guid_hyphen(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

int str_guid_parse(const char *s, size_t len, unsigned char out[16])
{
    unsigned char g[16];
    size_t i;
    int k = 0;

    if (s == NULL || len != STR_GUID_LEN)
        return -1;
    for (i = 0; i < STR_GUID_LEN;) {
        int hi, lo;

        if (str_guid_hyphen(i)) {
            if (s[i] != '-')
                return -1;
            i++;
            continue;
        }
        hi = str_hexval((unsigned char)s[i]);
        lo = str_hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        g[k++] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    memcpy(out, g, 16);
    return 0;
}

void str_guid_format(const unsigned char g[16], char out[STR_GUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    int i, o = 0;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[g[i] >> 4];
        out[o++] = hex[g[i] & 15];
    }
    out[o] = '\0';
}

int str_guid_canon(const char *s, char out[STR_GUID_LEN + 1])
{
    unsigned char g[16];
    size_t len;

    if (s == NULL)
        return -1;
    len = strlen(s);
    if (len == STR_GUID_LEN + 2 && s[0] == '{' && s[len - 1] == '}') {
        s++;
        len -= 2;
    }
    if (str_guid_parse(s, len, g) < 0)
        return -1;
    str_guid_format(g, out);
    return 0;
}

static int str_b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int str_b64_decode(const char *s, unsigned char *out, size_t outmax, size_t *outlen)
{
    unsigned quad[4];
    size_t n = 0, o = 0;
    int pad = 0;

    for (; *s != '\0'; s++) {
        int v;

        if (isspace((unsigned char)*s))
            continue;
        if (*s == '=') {
            if (n < 2)
                return -1;
            pad++;
            quad[n++] = 0;
        } else {
            if (pad)
                return -1; /* data after padding */
            v = str_b64val((unsigned char)*s);
            if (v < 0)
                return -1;
            quad[n++] = (unsigned)v;
        }
        if (n == 4) {
            size_t k = (size_t)(3 - pad);

            if (o + k > outmax)
                return -1;
            out[o++] = (unsigned char)(quad[0] << 2 | quad[1] >> 4);
            if (k > 1)
                out[o++] = (unsigned char)((quad[1] & 15) << 4 | quad[2] >> 2);
            if (k > 2)
                out[o++] = (unsigned char)((quad[2] & 3) << 6 | quad[3]);
            n = 0;
            if (pad)
                break;
        }
    }
    if (n != 0)
        return -1;
    /* only white space may follow the padding */
    if (pad) {
        for (s++; *s != '\0'; s++)
            if (!isspace((unsigned char)*s))
                return -1;
    }
    *outlen = o;
    return 0;
}

int str_b64_decode_exact(const char *s, unsigned char *out, size_t n)
{
    size_t i, len, got;

    if (s == NULL)
        return -1;
    len = strlen(s);
    if (len != STR_B64_LEN(n))
        return -1;
    for (i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]))
            return -1;
    if (str_b64_decode(s, out, n, &got) < 0 || got != n)
        return -1;
    return 0;
}

int str_b64_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0, o = 0;

    if (outlen < STR_B64_LEN(n) + 1) {
        if (outlen > 0)
            out[0] = '\0';
        return -1;
    }
    while (i < n) {
        unsigned v = (unsigned)in[i] << 16;
        size_t rem = n - i;

        if (rem > 1)
            v |= (unsigned)in[i + 1] << 8;
        if (rem > 2)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = rem > 1 ? tbl[(v >> 6) & 63] : '=';
        out[o++] = rem > 2 ? tbl[v & 63] : '=';
        i += rem > 3 ? 3 : rem;
    }
    out[o] = '\0';
    return 0;
}

/* addr text -> family and 16 bytes (IPv4 in the first 4). 0, or -1 when it is no address. */
static int str_addr_parse(const char *addr, int *family, unsigned char out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, addr, out) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, addr, out) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

int str_addr_match(const char *entry, const char *addr)
{
    const char *slash = strchr(entry, '/');
    unsigned char net[16], a[16];
    char text[64];
    int nfam, afam;
    long bits, i;

    if (str_copy(text, sizeof(text), entry) < 0)
        return -1;
    if (slash != NULL)
        text[slash - entry] = '\0';
    if (str_addr_parse(text, &nfam, net) < 0)
        return -1;
    bits = nfam == AF_INET ? 32 : 128;
    if (slash != NULL &&
        (!isdigit((unsigned char)slash[1]) || str_to_long(slash + 1, 0, bits, &bits) < 0))
        return -1;
    if (addr == NULL || str_addr_parse(addr, &afam, a) < 0 || afam != nfam)
        return 0;
    for (i = 0; i < bits / 8; i++)
        if (net[i] != a[i])
            return 0;
    if (bits % 8 != 0) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
        if ((net[i] & mask) != (a[i] & mask))
            return 0;
    }
    return 1;
}

int str_list_next(const char **cursor, char *out, size_t outlen)
{
    const char *p = *cursor;
    size_t n;

    while (*p == ',' || isspace((unsigned char)*p))
        p++;
    if (*p == '\0') {
        *cursor = p;
        return 0;
    }
    n = strcspn(p, ", \t\r\n");
    if (outlen > 0) {
        size_t k = n < outlen - 1 ? n : outlen - 1;
        memcpy(out, p, k);
        out[k] = '\0';
    }
    *cursor = p + n;
    return 1;
}
