/*
 * hier_verdict: the verdict of one check before data moves (hierarchy.h, hier_languages.h),
 * as a health check prints it: PASS, FAIL or UNKNOWN, one line naming what was found, and the
 * command that fixes it.
 */
#ifndef WSUS_HIER_VERDICT_H
#define WSUS_HIER_VERDICT_H

/* Verdict of one check (a health check prints one line per check). */
enum hier_verdict {
    HIER_PASS,
    HIER_FAIL,
    HIER_UNKNOWN /* not checkable (e.g. the upstream publishes no identity) */
};

struct hier_result {
    enum hier_verdict verdict;
    char line[1024]; /* what was found, naming the servers */
    char fix[512];   /* the command that fixes it ("" on PASS) */
};

/* Set the verdict and the line of *res (printf-style; cut to fit). */
void hier_verdict_set(struct hier_result *res, enum hier_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
