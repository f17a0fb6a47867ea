/*
 * anchor: the opaque sync anchors this server hands to downstream servers (GetConfigData,
 * GetRevisionIdList, GetDeployments). Shape as on Windows, "<number>,<yyyy-MM-dd HH:mm:ss.fff>"
 * (UTC), where the number is the catalog's change_seq (or a configuration hash); only the
 * number is read back. Windows anchors parse too (their counter is read as a number).
 * It does not query the database.
 */
#ifndef WSUS_ANCHOR_H
#define WSUS_ANCHOR_H

#include "attr.h"
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest anchor text accepted from a peer. */
#define ANCHOR_MAX_LEN 64

/* Write "<seq>,<UTC time of t>" into out (at least 48 bytes). seq must be >= 0. */
void anchor_format(int64_t seq, time_t t, char *out, size_t outlen);

/*
 * Parse an anchor: a decimal number (0..2^62), a comma, and a timestamp
 * "yyyy-MM-dd HH:mm:ss" with an optional fraction of 1-7 digits. Surrounding white space is
 * ignored. 0 with *seq set, or -1 for anything else (the caller answers InvalidParameters).
 */
int anchor_parse(const char *s, int64_t *seq) WSUS_MUST_USE;

#endif
