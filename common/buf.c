/*
 * buf: bounded growable buffer. Growth doubles; the maximum is checked before any allocation.
 */
#include "buf.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = 0;
}

void buf_free(struct buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void buf_reset(struct buf *b)
{
    buf_truncate(b, 0);
}

void buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len)
        b->len = len;
    if (b->data != NULL)
        b->data[b->len] = '\0';
    b->failed = 0;
}

int buf_failed(const struct buf *b)
{
    return b->failed;
}

static int buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;

    if (b->failed)
        return -1;
    if (extra > b->max || b->len > b->max - extra) {
        b->failed = 1;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->data = xreallocarray(b->data, cap, 1);
    b->cap = cap;
    return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -1;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_add_str(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return -1;
    if (vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap) != n) {
        b->data[b->len] = '\0';
        b->failed = 1;
        return -1;
    }
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

enum xml_esc { ESC_TEXT, ESC_ALL, ESC_ATTR };

/* For each byte, the modes (1 << enum xml_esc) that escape it. */
#define ESC_IN_ALL_MODES ((1 << ESC_TEXT) | (1 << ESC_ALL) | (1 << ESC_ATTR))
static const unsigned char xml_escaped_in[256] = {
    ['&'] = ESC_IN_ALL_MODES,
    ['<'] = ESC_IN_ALL_MODES,
    ['>'] = ESC_IN_ALL_MODES,
    ['\r'] = ESC_IN_ALL_MODES,
    ['"'] = (1 << ESC_ALL) | (1 << ESC_ATTR),
    ['\''] = 1 << ESC_ALL,
    ['\t'] = 1 << ESC_ATTR,
    ['\n'] = 1 << ESC_ATTR,
};

static int buf_add_xml(struct buf *b, const char *s, size_t len, enum xml_esc mode)
{
    const unsigned char bit = (unsigned char)(1u << mode);
    size_t i, start = 0;

    for (i = 0; i < len; i++) {
        const char *rep;

        if ((xml_escaped_in[(unsigned char)s[i]] & bit) == 0)
            continue; /* the bulk: one table look-up a byte */
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            if (mode == ESC_TEXT)
                continue;
            rep = "&quot;";
            break;
        case '\'':
            if (mode != ESC_ALL)
                continue;
            rep = "&apos;";
            break;
        case '\t':
            if (mode != ESC_ATTR)
                continue;
            rep = "&#x9;";
            break;
        case '\n':
            if (mode != ESC_ATTR)
                continue;
            rep = "&#xA;";
            break;
        case '\r':
            rep = "&#xD;";
            break;
        default:
            continue;
        }
        if (buf_add(b, s + start, i - start) < 0 || buf_add_str(b, rep) < 0)
            return -1;
        start = i + 1;
    }
    return buf_add(b, s + start, len - start);
}

int buf_add_xml_escaped(struct buf *b, const char *s, size_t len)
{
    return buf_add_xml(b, s, len, ESC_ALL);
}

int buf_add_xml_text(struct buf *b, const char *s, size_t len)
{
    return buf_add_xml(b, s, len, ESC_TEXT);
}

int buf_add_xml_attr(struct buf *b, const char *s, size_t len)
{
    return buf_add_xml(b, s, len, ESC_ATTR);
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *p = b->data;

    if (p == NULL)
        p = xstrdup("");
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
    return p;
}

const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}
