/*
 * cookie: the opaque authorization cookie (GetAuthorizationCookie -> GetCookie) and cookie
 * (GetCookie -> every other call) of MS-WSUSSS 2.2.4.7/2.2.4.8. Both are sealed with
 * AES-256-GCM under the server's cookie key; the two kinds use different associated data, so
 * one can never be passed off as the other. They carry the downstream's account GUID, its
 * target groups, issue and expiry times, the protocol version it declared (cookies only) and
 * this server's id. The server id also travels in clear (authenticated) so a cookie minted by
 * another server is told apart from a forged one (ServerChanged vs InvalidCookie).
 * It does not know SOAP or the database.
 */
#ifndef WSUS_COOKIE_H
#define WSUS_COOKIE_H

#include "attr.h"
#include <stddef.h>
#include <stdint.h>

#define COOKIE_MAX_GROUPS 32
/* Largest sealed cookie: header + nonce + plaintext + tag. */
#define COOKIE_MAX_BYTES (1 + 1 + 16 + 12 + (16 + 8 + 8 + 2 + 2 + 2 + 16 * COOKIE_MAX_GROUPS) + 16)

/* The server-to-server pair, and the MS-WUSP pair (SimpleAuth's authorization cookie and the
 * client web service's cookie; dss_guid holds the client id, groups the client-side target
 * group). Each kind has its own associated data: no kind is accepted as another. */
enum cookie_kind { COOKIE_AUTH = 1, COOKIE_SESSION = 2, COOKIE_CLIENT_AUTH = 3, COOKIE_CLIENT = 4 };

struct cookie_claims {
    unsigned char dss_guid[16]; /* the downstream's accountGuid */
    unsigned char uss_guid[16]; /* the server that minted it */
    int64_t issued;             /* unix seconds */
    int64_t expires;            /* unix seconds */
    unsigned proto_major;       /* protocolVersion the DSS sent to GetCookie (0 in auth cookies) */
    unsigned proto_minor;
    size_t ngroups; /* target groups of the downstream (at most COOKIE_MAX_GROUPS) */
    unsigned char groups[COOKIE_MAX_GROUPS][16];
};

enum cookie_status {
    COOKIE_OK = 0,
    COOKIE_BAD,     /* not ours, truncated, tampered with, wrong kind: InvalidCookie */
    COOKIE_EXPIRED, /* authentic but past its expiry: InvalidCookie too */
    COOKIE_FOREIGN, /* well-formed but minted by another server id: ServerChanged */
};

/*
 * Seal claims (uss_guid included) with key into out (outmax >= COOKIE_MAX_BYTES). *outlen
 * gets the length. 0, or -1 if claims->ngroups is too large or OpenSSL fails (logged).
 */
int cookie_seal(const unsigned char key[32], enum cookie_kind kind,
                const struct cookie_claims *claims, unsigned char *out, size_t outmax,
                size_t *outlen) WSUS_MUST_USE;

/*
 * Open a cookie of the given kind that this server (own_id) minted, checking its tag and its
 * expiry against now. Fills *claims only on COOKIE_OK (and, on COOKIE_EXPIRED, the claims it
 * carried). Any length and any content is safe to pass.
 */
enum cookie_status cookie_open(const unsigned char key[32], enum cookie_kind kind,
                               const unsigned char own_id[16], const unsigned char *data,
                               size_t len, int64_t now, struct cookie_claims *claims) WSUS_MUST_USE;

#endif
