/*
 * soap_stream: a SOAP response produced while it is sent. A list of steps (fixed text, or a
 * server-side cursor whose rows become XML array items) is played through a libmicrohttpd
 * content-reader callback with chunked encoding, fetching SOAP_STREAM_FETCH rows at a time,
 * so a 25,000-identity GetRevisionIdList costs one small buffer, not the whole answer.
 * The stream owns a pooled database connection inside a read-only transaction for its whole
 * life and gives it back (rolling back) when the request completes. A database error in the
 * middle of a stream aborts the connection: the downstream sees a truncated body, never a
 * well-formed wrong answer. It does not build the queries.
 */
#ifndef WSUS_SOAP_STREAM_H
#define WSUS_SOAP_STREAM_H

#include <libpq-fe.h>

#include "buf.h"
#include "dbpool.h"
#include "http.h"

#define SOAP_STREAM_FETCH 1000

struct soap_stream;

/* Format row `row` of res as one array item into out. 0, or -1 to abort the stream. */
typedef int (*soap_stream_row_fn)(struct buf *out, const PGresult *res, int row);

/*
 * A new stream over conn, taken from pool (conn goes back to pool when the stream is freed).
 * The caller has begun a transaction on conn and declared the cursors the steps name.
 */
struct soap_stream *soap_stream_new(struct dbpool *pool, PGconn *conn);
/* Append a fixed text step (copied). */
void soap_stream_text(struct soap_stream *s, const char *text);
/*
 * Append a cursor step: `open` before the first row, `close` after the last, `empty` instead
 * of both when the cursor has no row (e.g. "<NewRevisions>", "</NewRevisions>",
 * "<NewRevisions />"). cursor must be a name the caller declared (not peer text).
 */
void soap_stream_cursor(struct soap_stream *s, const char *cursor, const char *open,
                        const char *close, const char *empty, soap_stream_row_fn row);
/*
 * Queue the stream as the 200 response of req (text/xml; charset=utf-8, chunked), played by
 * http_respond_stream (on a worker under the pool threading model). The stream is freed once
 * the response is done, or failed (MHD_NO returned), not before the request completes.
 */
enum MHD_Result soap_stream_respond(struct http_request *req, struct soap_stream *s);
/* Free a stream that was never queued (gives the connection back). NULL is fine. */
void soap_stream_free(struct soap_stream *s);

#endif
