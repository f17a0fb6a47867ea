/*
 * strutil: checked text <-> value conversions and small string helpers (the replacements for
 * atoi & co): decimal numbers with range checks, hex, GUIDs and base64 as the WSUS formats
 * write them, bounded copies. Every parser is strict (whole input, fixed lengths) and never
 * allocates; none of them knows XML, SOAP or SQL.
 */
#ifndef WSUS_STRUTIL_H
#define WSUS_STRUTIL_H

#include "attr.h"
#include <stddef.h>
#include <stdint.h>

/* Parse a whole decimal string into [min, max]. 0, or -1 (out untouched) on any junk. */
int str_to_long(const char *s, long min, long max, long *out) WSUS_MUST_USE;
int str_to_int64(const char *s, int64_t min, int64_t max, int64_t *out) WSUS_MUST_USE;
/* Case-insensitive ASCII prefix test. */
int str_has_prefix_ci(const char *s, const char *prefix);
/* Copy at most outlen-1 bytes, always NUL-terminate. Returns 0, or -1 if truncated. */
int str_copy(char *out, size_t outlen, const char *s) WSUS_MUST_USE;
/*
 * str_copy for text where a cut copy is acceptable (a display field, a status word, a value
 * whose column is already bounded below outlen): the same copy, truncation intended.
 */
void str_copy_cut(char *out, size_t outlen, const char *s);
/*
 * snprintf for text that must be whole (a path, a URL, an SQL parameter): 0, or -1 when it
 * did not fit in outlen bytes or could not be formatted (out then holds "" : a cut path must
 * never be used by mistake).
 */
int str_fmt(char *out, size_t outlen, const char *fmt, ...) WSUS_MUST_USE
    __attribute__((format(printf, 3, 4)));
/* Trim ASCII white space at both ends, in place. Returns s. */
char *str_trim(char *s);

/* Value of one hex digit (either case), or -1. */
int str_hexval(int c);
/*
 * A query-string value as sent (application/x-www-form-urlencoded: "+" is a space, %XX a byte)
 * decoded into a new string (caller frees). "%00" and a "%" not followed by two hex digits stay
 * as they are, so the result holds no NUL before its end.
 */
char *str_url_decode(const char *s);
/*
 * n bytes -> 2n hex digits (upper case when upper, else lower) + NUL into out, which must hold
 * 2n+1 bytes. Returns out.
 */
char *str_hex_encode(const unsigned char *in, size_t n, int upper, char *out);
/* Exactly 2n hex digits (either case) in the slen bytes at s -> n bytes. 0, or -1 on junk. */
int str_hex_decode(const char *s, size_t slen, unsigned char *out, size_t n) WSUS_MUST_USE;

#define STR_GUID_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/*
 * The len bytes at s are a GUID in its 36-character hyphenated form, hex digits of either case
 * (no braces, no white space) -> 16 bytes in text order. 0, or -1 (out untouched) on junk.
 */
int str_guid_parse(const char *s, size_t len, unsigned char out[16]) WSUS_MUST_USE;
/* 16 bytes -> lower-case hyphenated GUID + NUL. */
void str_guid_format(const unsigned char g[16], char out[STR_GUID_LEN + 1]);
/*
 * NUL-terminated GUID text, optionally in braces ("{...}"), either case -> the canonical
 * lower-case 36-character form. NULL s is refused. 0, or -1 on junk.
 */
int str_guid_canon(const char *s, char out[STR_GUID_LEN + 1]) WSUS_MUST_USE;

/*
 * Standard base64 with padding (white space anywhere is skipped) into out (outmax bytes);
 * *outlen gets the decoded length. -1 on bad characters, bad padding, data after the padding,
 * or more than outmax bytes (out may then be partly written).
 */
int str_b64_decode(const char *s, unsigned char *out, size_t outmax, size_t *outlen) WSUS_MUST_USE;
/*
 * Base64 of exactly n bytes, nothing else (no white space): the fixed-size digests of the
 * update formats. NULL s is refused. 0, or -1.
 */
int str_b64_decode_exact(const char *s, unsigned char *out, size_t n) WSUS_MUST_USE;
/* Number of base64 characters for n bytes (padding included, NUL not). */
#define STR_B64_LEN(n) (((n) + 2) / 3 * 4)
/*
 * n bytes -> padded base64 + NUL into out (outlen bytes, at least STR_B64_LEN(n) + 1).
 * 0, or -1 when out is too small (out is then "" if outlen > 0).
 */
int str_b64_encode(const unsigned char *in, size_t n, char *out, size_t outlen) WSUS_MUST_USE;

/*
 * Does entry, an IPv4/IPv6 address or a network "a.b.c.d/n" (n 0..32) or "v6/n" (n 0..128),
 * cover addr (address text, either family)? 1 yes, 0 no (also for a different family or an addr
 * that is not an address), -1 when entry is neither an address nor a network.
 */
int str_addr_match(const char *entry, const char *addr);
/*
 * The first item of a list separated by commas and/or white space at *cursor, copied into out
 * (outlen bytes; a longer item is cut); *cursor moves past it. 1 with an item, 0 at the end.
 */
int str_list_next(const char **cursor, char *out, size_t outlen);

#endif
