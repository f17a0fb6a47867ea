/*
 * soap_stream: steps played through MHD_create_response_from_callback (see soap_stream.h).
 */
#include "soap_stream.h"
#include "strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "xmalloc.h"

enum soap_step_kind { SOAP_STEP_TEXT, SOAP_STEP_CURSOR };

struct soap_step {
    enum soap_step_kind kind;
    char *text;
    char *cursor;
    char *open;
    char *close;
    char *empty;
    soap_stream_row_fn row;
};

struct soap_stream {
    struct dbpool *pool;
    PGconn *conn;
    struct soap_step *steps;
    size_t nsteps;
    size_t cur;       /* step being played */
    long cursor_rows; /* rows emitted by the current cursor step */
    int cursor_done;
    int finished;
};

struct soap_stream *soap_stream_new(struct dbpool *pool, PGconn *conn)
{
    struct soap_stream *s = xcalloc(1, sizeof(*s));

    s->pool = pool;
    s->conn = conn;
    return s;
}

static struct soap_step *soap_stream_add(struct soap_stream *s)
{
    s->steps = xreallocarray(s->steps, s->nsteps + 1, sizeof(*s->steps));
    memset(&s->steps[s->nsteps], 0, sizeof(s->steps[0]));
    return &s->steps[s->nsteps++];
}

void soap_stream_text(struct soap_stream *s, const char *text)
{
    struct soap_step *st = soap_stream_add(s);

    st->kind = SOAP_STEP_TEXT;
    st->text = xstrdup(text);
}

void soap_stream_cursor(struct soap_stream *s, const char *cursor, const char *open,
                        const char *close, const char *empty, soap_stream_row_fn row)
{
    struct soap_step *st = soap_stream_add(s);

    st->kind = SOAP_STEP_CURSOR;
    st->cursor = xstrdup(cursor);
    st->open = xstrdup(open);
    st->close = xstrdup(close);
    st->empty = xstrdup(empty);
    st->row = row;
}

void soap_stream_free(struct soap_stream *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->nsteps; i++) {
        free(s->steps[i].text);
        free(s->steps[i].cursor);
        free(s->steps[i].open);
        free(s->steps[i].close);
        free(s->steps[i].empty);
    }
    free(s->steps);
    if (s->conn != NULL) {
        if (!s->finished)
            db_rollback(s->conn);
        dbpool_put(s->pool, s->conn);
    }
    free(s);
}

static void soap_stream_free_cb(void *p)
{
    soap_stream_free(p);
}

/* Produce the next piece of output into out. 1 = produced, 0 = all done, -1 = error. */
static int soap_stream_advance(struct soap_stream *s, struct buf *out)
{
    struct soap_step *st;
    char sql[128];
    PGresult *res;
    int i, n;

    while (s->cur < s->nsteps) {
        st = &s->steps[s->cur];
        if (st->kind == SOAP_STEP_TEXT) {
            s->cur++;
            if (buf_add_str(out, st->text) < 0)
                return -1;
            return 1;
        }
        if (s->cursor_done) {
            s->cur++;
            s->cursor_done = 0;
            s->cursor_rows = 0;
            continue;
        }
        if (str_fmt(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", SOAP_STREAM_FETCH, st->cursor) <
            0)
            return -1;
        res = db_exec(s->conn, sql, 0, NULL);
        if (res == NULL)
            return -1;
        n = PQntuples(res);
        if (s->cursor_rows == 0 && n > 0 && buf_add_str(out, st->open) < 0)
            goto fail;
        for (i = 0; i < n; i++)
            if (st->row(out, res, i) < 0)
                goto fail;
        s->cursor_rows += n;
        if (n < SOAP_STREAM_FETCH) {
            s->cursor_done = 1;
            if (buf_add_str(out, s->cursor_rows == 0 ? st->empty : st->close) < 0)
                goto fail;
        }
        PQclear(res);
        if (out->len > 0)
            return 1;
        continue;
    fail:
        PQclear(res);
        return -1;
    }
    if (!s->finished) {
        s->finished = 1;
        if (db_commit(s->conn) < 0)
            return -1;
    }
    return 0;
}

/* http_produce_fn: the next piece, or the end; a database error ends the connection. */
static int soap_stream_produce(void *cls, struct buf *out)
{
    int r = soap_stream_advance(cls, out);

    if (r < 0)
        log_warnx("soap: database error while streaming a response; connection aborted");
    return r;
}

enum MHD_Result soap_stream_respond(struct http_request *req, struct soap_stream *s)
{
    static const char *const headers[] = {MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml; charset=utf-8",
                                          MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=0",
                                          NULL};

    return http_respond_stream(req, MHD_HTTP_OK, headers, soap_stream_produce, s,
                               soap_stream_free_cb);
}
