/*
 * buf: a growable byte buffer with a hard maximum set at init (curl dynbuf style).
 * The content is always NUL-terminated (the NUL is not counted in len), so text can be used
 * as a C string. Errors are sticky: an append past the maximum fails with -1 and marks the
 * buffer failed; every later append is then a no-op that fails too, so a document is never
 * silently cut in the middle and completed after. Build the whole text, then check once with
 * buf_failed() (or check each append: the first failure is the one that counts). buf_reset,
 * buf_truncate, buf_free and buf_detach clear the failure.
 */
#ifndef WSUS_BUF_H
#define WSUS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NULL until the first append */
    size_t len; /* bytes used, without the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* the most len may ever be */
    int failed; /* an append failed since the last reset (sticky) */
};

/* Initialise an empty buffer that will refuse to grow beyond max bytes. */
void buf_init(struct buf *b, size_t max);
/* Release the memory; the buffer is empty again (and reusable with the same max). */
void buf_free(struct buf *b);
/* Forget the content (and a failure) but keep the allocation. */
void buf_reset(struct buf *b);
/*
 * Cut the content back to its first len bytes (len <= b->len) and clear a failure: drop a part
 * that did not fit (its appends failed) and go on appending after what was there before it.
 */
void buf_truncate(struct buf *b, size_t len);
/* 1 if an append failed since the buffer was initialised, reset or truncated, else 0. */
int buf_failed(const struct buf *b);
/* Append len bytes. 0, or -1 if the maximum would be exceeded or the buffer already failed. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_add_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s with the five XML special characters escaped (&<>"'), and CR as &#xD;: safe in
 * attribute values and text. */
int buf_add_xml_escaped(struct buf *b, const char *s, size_t len);
/* Append s as XML character data: & < > escaped, CR as &#xD; (so text round-trips byte for
 * byte), quotes left alone (as Windows writes XmlUpdateBlob). */
int buf_add_xml_text(struct buf *b, const char *s, size_t len);
/* Append s as a double-quoted attribute value as .NET writes one: & < > " escaped, and TAB, LF,
 * CR as character references (so they survive attribute normalization); ' left alone. */
int buf_add_xml_attr(struct buf *b, const char *s, size_t len);
/* Hand the content over to the caller (who frees it); the buffer becomes empty. Never NULL. */
char *buf_detach(struct buf *b, size_t *len);
/* Content as a C string ("" when empty). Valid until the next change. */
const char *buf_str(const struct buf *b);

#endif
