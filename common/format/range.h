/*
 * range: RFC 9110 range requests and the validators they depend on, as pure functions (no I/O,
 * no allocation): the Range header (single, suffix, open and multiple ranges, coalescing, a
 * cap on the number of ranges), HTTP-date parsing/formatting, entity-tag list matching for
 * If-Match / If-None-Match and the If-Range decision. It does not decide status codes for a
 * whole request; server/content.c does, in the order RFC 9110 section 13.2.2 gives.
 */
#ifndef WSUS_RANGE_H
#define WSUS_RANGE_H

#include "attr.h"
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* How many ranges one request may ask for before Range is ignored (nginx's max_ranges idea). */
#define RANGE_MAX_PARTS 16
/* Buffer size for range_format_http_date(): "Sun, 06 Nov 1994 08:49:37 GMT" + NUL. */
#define RANGE_HTTP_DATE_LEN 30

/* One satisfiable byte range, both ends inclusive, 0 <= first <= last < size. */
struct range_span {
    int64_t first;
    int64_t last;
};

enum range_outcome {
    /* no usable Range: absent, another unit, invalid syntax, more than max range-specs, or a
       zero-length representation. Send 200 with the whole representation. */
    RANGE_IGNORE,
    /* *n >= 1 satisfiable spans, overlapping/adjacent ones coalesced, in request order:
       send 206 (one span: single part; more: multipart/byteranges) */
    RANGE_PARTIAL,
    /* valid syntax but no range overlaps the representation: send 416 with
       Content-Range: bytes *\/size */
    RANGE_UNSATISFIABLE,
};

/*
 * Evaluate a Range field value (NULL allowed = absent) against a representation of size bytes.
 * spans must hold max entries (max >= 1); a header with more than max range-specs is ignored
 * as a whole. Unsatisfiable specs among satisfiable ones are dropped (RFC 9110 14.2). Numbers
 * too large for int64 saturate (so they are unsatisfiable, not wrapped). *n gets the number of
 * spans (0 unless RANGE_PARTIAL). Never fails; work is linear in the header length plus
 * max^2 for coalescing.
 */
enum range_outcome range_parse(const char *value, int64_t size, struct range_span *spans,
                               size_t max, size_t *n);

/*
 * Parse an HTTP-date in any of the three forms recipients must accept (IMF-fixdate, RFC 850,
 * asctime). 0 and *out in seconds since the epoch (UTC), or -1 (out untouched) on any junk.
 */
int range_parse_http_date(const char *s, time_t *out) WSUS_MUST_USE;
/* Write t as IMF-fixdate into out (at least RANGE_HTTP_DATE_LEN bytes). 0, or -1 if t cannot
 * be represented or outlen is too small. */
int range_format_http_date(time_t t, char *out, size_t outlen) WSUS_MUST_USE;

/*
 * Does the If-Match / If-None-Match field value list match etag (a quoted strong entity-tag,
 * e.g. "\"ABC\"")? "*" matches. strong != 0 uses the strong comparison (If-Match: weak tags
 * never match), 0 the weak one (If-None-Match: W/ is ignored). Malformed list members are
 * skipped. 1 match, 0 no match.
 */
int range_etag_list_match(const char *value, const char *etag, int strong);

/*
 * If-Range (RFC 9110 13.1.5): 1 when the Range header may be honoured, 0 when the whole
 * representation must be sent instead. An entity-tag must match etag strongly; a date must
 * equal last_modified exactly. NULL if_range (absent) gives 1; anything unparsable gives 0.
 */
int range_if_range_matches(const char *if_range, const char *etag, time_t last_modified);

#endif
