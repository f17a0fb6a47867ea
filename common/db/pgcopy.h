/*
 * pgcopy: COPY ... FROM STDIN in PostgreSQL's text format, for the bulk write paths of the
 * owner modules (catalog.c, fragment_store.c). Values are escaped here (backslash, tab,
 * newline, CR; NULL as \N; bytea as \\x hex) and sent in chunks of about 1 MiB, so memory is
 * bounded by one chunk plus one row. The SQL (the COPY statement) stays in the owner module
 * that passes it. Does not retry, and does not open or close transactions.
 */
#ifndef WSUS_PGCOPY_H
#define WSUS_PGCOPY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "buf.h"

/* One COPY in progress (fields private). */
struct pgcopy {
    PGconn *conn;
    struct buf out;
    int failed;       /* a send failed or a row did not fit: pgcopy_finish aborts the COPY */
    char sqlstate[6]; /* after a failed pgcopy_finish: the server's SQLSTATE, or "" */
};

/*
 * Send sql (a COPY ... FROM STDIN) on conn and prepare c. 0, or -1 with the server's message in
 * err (c then needs no pgcopy_finish).
 */
int pgcopy_begin(struct pgcopy *c, PGconn *conn, const char *sql, char *err, size_t errlen);

/* Append one column: len bytes of text (s NULL: SQL NULL). first: the row's first column. */
void pgcopy_text(struct pgcopy *c, const char *s, size_t len, int first);
/* The same for a NUL-terminated string (NULL: SQL NULL). */
void pgcopy_str(struct pgcopy *c, const char *s, int first);
/* A bytea column of len bytes (b NULL: SQL NULL). */
void pgcopy_bytea(struct pgcopy *c, const unsigned char *b, size_t len, int first);
/* A column formatted with printf (numbers: nothing to escape). */
void pgcopy_fmt(struct pgcopy *c, int first, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* End the row (sends the chunk when it is full). */
void pgcopy_end_row(struct pgcopy *c);

/*
 * Send what is left and end the COPY (aborted when anything failed before). 0 when the server
 * accepted every row, -1 with its message in err and its SQLSTATE in c->sqlstate ("" when the
 * client failed; inside a transaction, the caller must then roll back, or roll back to a
 * savepoint). Frees the buffer c holds in both cases.
 */
int pgcopy_finish(struct pgcopy *c, char *err, size_t errlen);

#endif
