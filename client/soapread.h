/*
 * soapread: a streaming reader for SOAP 1.1/1.2 responses (libxml2 SAX2 push parser), fed
 * chunk by chunk as bytes arrive from libcurl, so a 30 MB GetRevisionIdList answer never sits
 * in memory whole. It tracks the element path, collects the text of the current element
 * (bounded) and calls the owner on each element end. It recognises a soap:Fault and collects
 * faultcode, faultstring, ErrorCode and Message itself (SOAP 1.1 detail and 1.2 Detail).
 * It does not know any WSUSSS operation (uss.c does), never loads DTDs or the network, and
 * refuses documents with a DTD (no entity expansion attacks).
 */
#ifndef WSUS_SOAPREAD_H
#define WSUS_SOAPREAD_H

#include <stddef.h>

#define SOAPREAD_MAX_DEPTH 48

struct soapread;

/*
 * Called at the end of every element outside a fault. name is the local name (namespaces are
 * ignored: WSUSSS element names are unique within each answer); text/len is the element's own
 * character data (NUL-terminated, valid only during the call). Return 0 to continue, -1 to stop
 * the parse (the owner then reports its own error).
 */
typedef int (*soapread_end_fn)(void *arg, struct soapread *r, const char *name, const char *text,
                               size_t len);

/* New reader. max_text bounds the text of one element (a larger one fails the parse). */
struct soapread *soapread_new(soapread_end_fn end, void *arg, size_t max_text);
/* NULL is fine. */
void soapread_free(struct soapread *r);
/* Feed the next chunk. 0, or -1 once the document is known bad (see soapread_error). */
int soapread_feed(struct soapread *r, const void *data, size_t len);
/* End of input. 0 if the whole document was well formed and no callback stopped it. */
int soapread_finish(struct soapread *r);
/* Why the parse failed (one line), "" if it did not. */
const char *soapread_error(const struct soapread *r);
/* Name of the k-th ancestor of the element being ended (k=1 is the parent), or "". */
const char *soapread_parent(const struct soapread *r, int k);
/*
 * The value of attribute name (local name) of the element being ended, or NULL when it has
 * none; valid only during the callback. All attributes of the open elements together are bounded
 * (64 KiB; more fails the parse).
 */
const char *soapread_attr(const struct soapread *r, const char *name);
/* Depth of the element being ended: Envelope is 0, Body 1, the operation response 2. */
int soapread_depth(const struct soapread *r);

/* Was the body a soap:Fault? Then these hold its parts ("" when absent). */
int soapread_is_fault(const struct soapread *r);
const char *soapread_fault_code(const struct soapread *r);   /* faultcode, e.g. soap:Client */
const char *soapread_fault_string(const struct soapread *r); /* faultstring / Reason Text */
const char *soapread_error_code(const struct soapread *r);   /* detail/ErrorCode */
/* detail/Message, up to 4095 bytes (a FileDigestsMissing list of 100 digests) */
const char *soapread_error_message(const struct soapread *r);

#endif
