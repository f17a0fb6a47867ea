/*
 * xmalloc: allocation wrappers that abort on out-of-memory, so callers never check for NULL.
 * Sizes that a peer controls must be bounded by the caller before they get here.
 */
#ifndef WSUS_XMALLOC_H
#define WSUS_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* Like reallocarray(3): overflow of nmemb * size aborts too. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* asprintf that aborts on failure; the result is the caller's to free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
