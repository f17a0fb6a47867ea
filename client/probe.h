/*
 * probe: the short upstream probes of wsusctl checkhealth that the SOAP calls do not cover:
 * the host name resolved as libcurl resolves it (getaddrinfo, with the addresses found), and
 * HTTP Range on the whole path to the upstream's content (one small Range request for a real
 * file, through the proxy and TLS setup of the sync: uss_curl_setup()). Each probe is bounded
 * in time and reads a bounded answer. It stores nothing and decides no verdict
 * (server/admin/health.c does).
 */
#ifndef WSUS_PROBE_H
#define WSUS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "uss.h"

/* Seconds one probe may take at most. */
#define PROBE_TIMEOUT_S 10

/*
 * The host of url ("http://h:8530"; IPv6 without brackets) into host, and every address
 * getaddrinfo() gives for it, comma-separated, into addrs. 0, or -1 with the resolver's
 * message in err (host is filled whenever the URL has one).
 */
int probe_resolve(const char *url, char *host, size_t hostlen, char *addrs, size_t addrslen,
                  char *err, size_t errlen);

enum probe_range_result {
    PROBE_RANGE_OK,      /* 206 with Content-Range bytes 0-N/size */
    PROBE_RANGE_IGNORED, /* 200: the upstream or a proxy on the way dropped the Range header */
    PROBE_RANGE_MISSING, /* 404: the upstream does not have the file (yet) */
    PROBE_RANGE_WRONG,   /* 206 with a Content-Range for other bytes or another size */
    PROBE_RANGE_ERROR    /* no usable answer (network, proxy, TLS, another status) */
};

/*
 * Ask the upstream u for the first bytes (at most 1 KiB) of the file sha1/name of size bytes
 * with a Range header, set up like the downloader's transfers (proxy, TLS). msg gets one line
 * saying what was asked and what came back (the URL, the status, the Content-Range).
 */
enum probe_range_result probe_range(const struct uss *u, const unsigned char sha1[20],
                                    const char *name, int64_t size, char *msg, size_t msglen);

#endif
