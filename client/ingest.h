/*
 * ingest: the storing stage of the sync pipeline, in two threads of its own (a parser, and a
 * writer with its own database connection), so GetUpdateData batches keep arriving while
 * earlier ones are parsed and stored, and one batch is parsed while the previous is stored.
 * Each submitted batch (one GetUpdateData answer) is decoded (cabinet -> UTF-8), parsed once
 * for its rows and client fragments (update_parse_derive) and stored with catalog_store_tx()
 * in ONE transaction (merged with what queued meanwhile, in queue order), together with the
 * upstream_state values (anchors) attached to it, so an anchor is never committed before the
 * data it covers. The queue is bounded (submit blocks when it is full), which bounds memory.
 * It does not talk to the upstream or decide what to fetch.
 */
#ifndef WSUS_INGEST_H
#define WSUS_INGEST_H

#include <stddef.h>

#include "uss.h"

struct ingest;

struct ingest_counts {
    long stored;         /* revisions inserted */
    long new_updates;    /* inserted revisions of update ids we did not have before this run */
    long updated;        /* inserted revisions of update ids we had before it (a new revision) */
    long categories;     /* inserted categories (incl. classifications) and detectoids */
    long bad_documents;  /* documents that could not be decoded or parsed (skipped) */
    char first_bad[512]; /* the first such problem, for the history */
};

/* Start the threads, the writer with a new connection to conninfo. NULL with err on failure. */
struct ingest *ingest_start(const char *conninfo, const char *upstream, size_t queue_len, char *err,
                            size_t errlen);
/*
 * Hand over one answer (its content is moved out of *d, which is left empty). keys/values
 * (n pairs, may be 0; copied) are written to upstream_state in the same transaction.
 * Blocks while the queue is full. -1 once the stage has failed (see ingest_error).
 */
int ingest_submit(struct ingest *in, struct uss_update_data *d, const char *const *keys,
                  const char *const *values, size_t n);
/* Wait until everything submitted so far is committed. 0, or -1 if the stage failed. */
int ingest_flush(struct ingest *in);
/* A snapshot of the counters (thread-safe). */
void ingest_counts(struct ingest *in, struct ingest_counts *out);
/* Why the stage failed (a database error), "" if it did not. */
const char *ingest_error(struct ingest *in);
/* Stop the threads (after the queue drained, or at once if abort) and free. NULL is fine. */
void ingest_stop(struct ingest *in, int abort);

#endif
