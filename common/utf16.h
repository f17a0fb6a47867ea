/*
 * utf16: conversions between UTF-16LE and UTF-8 and UTF-16 length counting, as the WSUS
 * formats need them (XmlUpdateBlobCompressed holds UTF-16LE; wsusutil's metadata.txt counts
 * lengths in UTF-16 code units). Strict: unpaired surrogates and malformed UTF-8 are errors.
 * No locale, no iconv.
 */
#ifndef WSUS_UTF16_H
#define WSUS_UTF16_H

#include <stddef.h>
#include <stdint.h>

/*
 * Convert len bytes of UTF-16LE (no BOM expected; a leading BOM is dropped) to UTF-8.
 * Returns a NUL-terminated malloc'd string (caller frees) and its length in *outlen, or NULL
 * when len is odd or the input holds an unpaired surrogate or a NUL character.
 */
char *utf16le_to_utf8(const unsigned char *in, size_t len, size_t *outlen);

/*
 * Convert UTF-8 to UTF-16LE. Returns a malloc'd buffer (caller frees) with *outlen bytes, or
 * NULL when the input is not valid UTF-8.
 */
unsigned char *utf8_to_utf16le(const char *in, size_t len, size_t *outlen);

/*
 * Number of UTF-16 code units that len bytes of UTF-8 occupy (4-byte sequences count 2).
 * Returns -1 when the input is not valid UTF-8.
 */
int64_t utf8_utf16_units(const char *in, size_t len);

/*
 * Length in bytes of the UTF-8 sequence starting with lead byte c (1-4), or 0 when c cannot
 * start a sequence. Used by streaming readers that count code units as they go.
 */
int utf8_seq_len(unsigned char c);

#endif
