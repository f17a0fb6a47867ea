/*
 * pgcopy: COPY FROM STDIN in text format (see pgcopy.h).
 */
#include "pgcopy.h"
#include "db.h"
#include "strutil.h"

#include <stdarg.h>
#include <string.h>

#define COPY_CHUNK (1024 * 1024)
/* One row may hold a 64 MiB document, escaped: at most twice its size, plus the chunk. */
#define COPY_MAX ((size_t)COPY_CHUNK * 160)

static void add(struct pgcopy *c, const void *data, size_t len)
{
    if (buf_add(&c->out, data, len) < 0)
        c->failed = 1;
}

static void flush(struct pgcopy *c)
{
    if (c->out.len == 0 || c->failed)
        return;
    if (PQputCopyData(c->conn, c->out.data, (int)c->out.len) != 1)
        c->failed = 1;
    buf_reset(&c->out);
}

static void sep(struct pgcopy *c, int first)
{
    if (!first)
        add(c, "\t", 1);
}

/* What COPY's text format writes after a backslash for each byte it escapes; 0: as is. */
static const char copy_escape[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};

void pgcopy_text(struct pgcopy *c, const char *s, size_t len, int first)
{
    size_t i, start = 0;

    sep(c, first);
    if (s == NULL) {
        add(c, "\\N", 2);
        return;
    }
    for (i = 0; i < len; i++) {
        char esc[2] = {'\\', copy_escape[(unsigned char)s[i]]};

        if (esc[1] == 0)
            continue; /* the bulk: one table look-up a byte */
        add(c, s + start, i - start);
        add(c, esc, 2);
        start = i + 1;
    }
    add(c, s + start, len - start);
}

void pgcopy_str(struct pgcopy *c, const char *s, int first)
{
    pgcopy_text(c, s, s != NULL ? strlen(s) : 0, first);
}

void pgcopy_bytea(struct pgcopy *c, const unsigned char *b, size_t len, int first)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    sep(c, first);
    if (b == NULL) {
        add(c, "\\N", 2);
        return;
    }
    add(c, "\\\\x", 3);
    while (len > 0) {
        char h[512]; /* hex of up to 256 bytes at a time */
        size_t n = len < sizeof(h) / 2 ? len : sizeof(h) / 2;

        for (i = 0; i < n; i++) {
            h[2 * i] = hex[b[i] >> 4];
            h[2 * i + 1] = hex[b[i] & 15];
        }
        add(c, h, 2 * n);
        b += n;
        len -= n;
    }
}

void pgcopy_fmt(struct pgcopy *c, int first, const char *fmt, ...)
{
    va_list ap;

    sep(c, first);
    va_start(ap, fmt);
    if (buf_vprintf(&c->out, fmt, ap) < 0)
        c->failed = 1;
    va_end(ap);
}

void pgcopy_end_row(struct pgcopy *c)
{
    add(c, "\n", 1);
    if (c->out.len >= COPY_CHUNK)
        flush(c);
}

int pgcopy_begin(struct pgcopy *c, PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;

    PQclear(r);
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    buf_init(&c->out, COPY_MAX);
    if (!ok) {
        db_errmsg(conn, err, errlen);
        buf_free(&c->out);
        return -1;
    }
    return 0;
}

int pgcopy_finish(struct pgcopy *c, char *err, size_t errlen)
{
    PGresult *r;
    int rc = 0;

    flush(c);
    buf_free(&c->out);
    if (PQputCopyEnd(c->conn, c->failed ? "client failed" : NULL) != 1)
        rc = -1;
    while ((r = PQgetResult(c->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (state != NULL && !c->failed)
                str_copy_cut(c->sqlstate, sizeof(c->sqlstate), state);
            rc = -1;
        }
        PQclear(r);
    }
    if (rc < 0 || c->failed) {
        db_errmsg(c->conn, err, errlen);
        return -1;
    }
    return 0;
}
