/*
 * xmalloc: abort-on-OOM allocation. Nothing else: no pools, no accounting.
 */
#include "xmalloc.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        fatalx("out of memory allocating %zu bytes", size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (p == NULL)
        fatalx("out of memory allocating %zu x %zu bytes", nmemb, size);
    return p;
}

void *xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    void *p;

    if (size != 0 && nmemb > (size_t)-1 / size)
        fatalx("allocation of %zu x %zu bytes overflows", nmemb, size);
    p = realloc(ptr, (nmemb * size) != 0 ? nmemb * size : 1);
    if (p == NULL)
        fatalx("out of memory allocating %zu x %zu bytes", nmemb, size);
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (p == NULL)
        fatalx("out of memory duplicating a string");
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (p == NULL)
        fatalx("out of memory duplicating a string");
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        fatalx("out of memory formatting a string");
    return p;
}
