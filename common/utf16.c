/*
 * utf16: strict UTF-16LE <-> UTF-8 conversion and UTF-16 length counting (see utf16.h).
 * Does not normalise, does not accept CESU-8 or overlong forms.
 */
#include "utf16.h"

#include "buf.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

int utf8_seq_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0;
}

/* Decode one UTF-8 sequence at s (n bytes available). Returns its length, 0 when invalid. */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    int len = utf8_seq_len(s[0]), i;
    uint32_t v;

    if (len == 0 || (size_t)len > n)
        return 0;
    if (len == 1) {
        *cp = s[0];
        return 1;
    }
    v = s[0] & (0x7f >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

int64_t utf8_utf16_units(const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    int64_t units = 0;
    uint32_t cp;

    while (i < len) {
        int n = utf8_decode(s + i, len - i, &cp);
        if (n == 0)
            return -1;
        units += cp >= 0x10000 ? 2 : 1;
        i += (size_t)n;
    }
    return units;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    unsigned char o[4];
    size_t n;

    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        o[0] = (unsigned char)(0xf0 | (cp >> 18));
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_add(b, o, n);
}

char *utf16le_to_utf8(const unsigned char *in, size_t len, size_t *outlen)
{
    struct buf b;
    size_t i = 0;

    if (len % 2 != 0)
        return NULL;
    /* worst case 3 UTF-8 bytes per code unit */
    buf_init(&b, len / 2 * 3 + 1);
    if (len >= 2 && in[0] == 0xff && in[1] == 0xfe)
        i = 2;
    buf_add(&b, "", 0);
    while (i < len) {
        uint32_t u = (uint32_t)in[i] | ((uint32_t)in[i + 1] << 8);
        i += 2;
        if (u == 0)
            goto fail;
        if (u >= 0xd800 && u <= 0xdbff) {
            uint32_t lo;
            if (i + 2 > len)
                goto fail;
            lo = (uint32_t)in[i] | ((uint32_t)in[i + 1] << 8);
            if (lo < 0xdc00 || lo > 0xdfff)
                goto fail;
            i += 2;
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            goto fail;
        }
        put_utf8(&b, u);
    }
    return buf_detach(&b, outlen);
fail:
    buf_free(&b);
    return NULL;
}

unsigned char *utf8_to_utf16le(const char *in, size_t len, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *out = xmalloc(len * 2 + 2);
    size_t i = 0, o = 0;
    uint32_t cp;

    while (i < len) {
        int n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            free(out);
            return NULL;
        }
        i += (size_t)n;
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000, hi = 0xd800 + (v >> 10), lo = 0xdc00 + (v & 0x3ff);
            out[o++] = (unsigned char)(hi & 0xff);
            out[o++] = (unsigned char)(hi >> 8);
            out[o++] = (unsigned char)(lo & 0xff);
            out[o++] = (unsigned char)(lo >> 8);
        } else {
            out[o++] = (unsigned char)(cp & 0xff);
            out[o++] = (unsigned char)(cp >> 8);
        }
    }
    *outlen = o;
    return out;
}
