/*
 * strutil: checked number parsing and small string helpers (the replacements for atoi & co).
 */
#ifndef WSUS_STRUTIL_H
#define WSUS_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parse a whole decimal string into [min, max]. 0, or -1 (out untouched) on any junk. */
int str_to_long(const char *s, long min, long max, long *out);
int str_to_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Case-insensitive ASCII prefix test. */
int str_has_prefix_ci(const char *s, const char *prefix);
/* Copy at most outlen-1 bytes, always NUL-terminate. Returns 0, or -1 if truncated. */
int str_copy(char *out, size_t outlen, const char *s);
/* Trim ASCII white space at both ends, in place. Returns s. */
char *str_trim(char *s);

#endif
