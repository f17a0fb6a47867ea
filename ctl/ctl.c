/*
 * ctl: what every wsusctl verb shares (see ctl.h): one-line failures, usage lines, table cells,
 * sizes in words, the terminal test, the catalog connection and who makes a change. The verb
 * table is in main.c and the verbs in cmd_*.c; nothing here calls either.
 */
#include "ctl.h"
#include "db.h"
#include "pgcluster.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("wsusctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

void ctl_put_cell(const char *s)
{
    size_t n = strlen(s), i;

    while (n > 0 && ((unsigned char)s[n - 1] <= ' ' || s[n - 1] == 0x7f))
        n--;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        putchar(ch < ' ' || ch == 0x7f ? ' ' : ch);
    }
}

void ctl_human(double v, char *out, size_t len)
{
    const char *u[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;

    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(out, len, i == 0 ? "%.0f %s" : "%.1f %s", v, u[i]);
}

int ctl_isatty(void)
{
    return isatty(STDOUT_FILENO);
}

PGconn *ctl_db(struct ctl *c)
{
    char err[1024], conninfo[1200];
    const char *ci = c->cfg.conninfo;

    if (c->db != NULL)
        return c->db;
    if (ci[0] == '\0') {
        if (pgcluster_ensure(c->cfg.state_dir, conninfo, sizeof(conninfo), err, sizeof(err)) < 0) {
            ctl_fail("%s", err);
            exit(1);
        }
        ci = conninfo;
    }
    c->db = db_connect(ci, "wsusctl", err, sizeof(err));
    if (c->db == NULL) {
        ctl_fail("%s", err);
        exit(1);
    }
    if (db_migrate(c->db, NULL, err, sizeof(err)) < 0 || db_ensure_identity(c->db) < 0) {
        ctl_fail("cannot prepare the catalog schema: %s", err);
        exit(1);
    }
    return c->db;
}

void ctl_verb_usage(const struct ctl_verb *v, FILE *out, const char *prefix)
{
    fprintf(out, "%swsusctl %s%s%s\n", prefix, v->name, v->args[0] != '\0' ? " " : "", v->args);
}

int ctl_usage(const struct ctl *c)
{
    ctl_verb_usage(c->verb, stderr, "wsusctl: usage: ");
    if (c->verb->note != NULL)
        fprintf(stderr, "%s\n", c->verb->note);
    return 2;
}

const char *ctl_admin_name(void)
{
    const char *s = getenv("SUDO_USER");
    struct passwd *pw;

    if (s != NULL && s[0] != '\0')
        return s;
    pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_name : "wsusctl";
}
