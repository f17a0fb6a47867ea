/*
 * rollup_summary_bench: the CPU of PostgreSQL's backend for the reporting rollup's server
 * summary (rollup_send_summary) and for `wsusctl report` (client_report), which evaluate the
 * same compliance rule, on a database given by its conninfo. Run by
 * tests/bench/rollup_summary_bench.sh, which prepares the database.
 *
 * Usage: rollup_summary_bench CONNINFO [ROUNDS]
 * Prints, per call, the best and the median backend CPU (user+sys from /proc/PID/stat, the
 * backend runs on this machine) and wall time of ROUNDS (default 3) calls, and the counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_report.h"
#include "db.h"
#include "rollup_send.h"

#define MAX_ROUNDS 20

/* user+sys CPU seconds of process pid, -1 when unreadable */
static double proc_cpu(int pid)
{
    char path[64], line[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    int n;

    n = snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (n < 0 || (size_t)n >= sizeof(path) || (f = fopen(path, "r")) == NULL)
        return -1;
    p = fgets(line, sizeof(line), f);
    fclose(f);
    if (p == NULL || (p = strrchr(line, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int no_row(void *arg, const struct client_report_row *row)
{
    long *n = arg;

    (void)row;
    (*n)++;
    return 0;
}

/* One call of what: 0 the summary, 1 the report. Its counts into out. 0, or -1. */
static int one(PGconn *db, int what, char *out, size_t outlen)
{
    if (what == 0) {
        PGresult *r = rollup_send_summary(db, 1, NULL); /* counted in full */
        int k, used = 0, n;

        if (r == NULL || PQntuples(r) != 1) {
            PQclear(r);
            return -1;
        }
        out[0] = '\0';
        for (k = 0; k < PQnfields(r); k++) {
            n = snprintf(out + used, outlen - (size_t)used, "%s%s", k ? "," : "",
                         PQgetvalue(r, 0, k));
            if (n < 0 || (size_t)n >= outlen - (size_t)used)
                break;
            used += n;
        }
        PQclear(r);
    } else {
        struct client_report_totals t;
        long rows = 0;
        int n;

        if (client_report(db, NULL, NULL, &t, no_row, &rows) < 0)
            return -1;
        n = snprintf(out, outlen,
                     "%ld updates, %ld computers: %ld needing, %ld with errors, %ld "
                     "up to date",
                     rows, t.computers, t.needing, t.with_errors, t.up_to_date);
        if (n < 0 || (size_t)n >= outlen)
            out[0] = '\0';
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const names[2] = {"rollup_send_summary", "client_report"};
    char err[256], counts[512];
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 3;
    PGconn *db;
    int what, i, pid;

    if (argc < 2) {
        fprintf(stderr, "usage: rollup_summary_bench CONNINFO [ROUNDS]\n");
        return 2;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 3;
    db = db_connect(argv[1], "rollup_summary_bench", err, sizeof(err));
    if (db == NULL) {
        fprintf(stderr, "rollup_summary_bench: %s\n", err);
        return 1;
    }
    pid = PQbackendPID(db);
    for (what = 0; what < 2; what++) {
        double cpu[MAX_ROUNDS], wall[MAX_ROUNDS];

        for (i = 0; i < rounds; i++) {
            double c0 = proc_cpu(pid), w0 = now_s();

            if (one(db, what, counts, sizeof(counts)) < 0) {
                fprintf(stderr, "rollup_summary_bench: %s failed\n", names[what]);
                db_close(db);
                return 1;
            }
            wall[i] = now_s() - w0;
            cpu[i] = proc_cpu(pid) - c0;
        }
        qsort(cpu, (size_t)rounds, sizeof(double), cmp_double);
        qsort(wall, (size_t)rounds, sizeof(double), cmp_double);
        printf("%-20s backend CPU best %.2f s median %.2f s, wall best %.2f s median %.2f s "
               "(%ld rounds)\n  %s\n",
               names[what], cpu[0], cpu[rounds / 2], wall[0], wall[rounds / 2], rounds, counts);
    }
    db_close(db);
    return 0;
}
