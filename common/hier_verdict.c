/*
 * hier_verdict: the verdict of one check (see hier_verdict.h).
 */
#include "hier_verdict.h"

#include <stdarg.h>
#include <stdio.h>

void hier_verdict_set(struct hier_result *res, enum hier_verdict v, const char *fmt, ...)
{
    va_list ap;

    res->verdict = v;
    va_start(ap, fmt);
    vsnprintf(res->line, sizeof(res->line), fmt, ap);
    va_end(ap);
}
