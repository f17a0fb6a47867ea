/*
 * hierarchy: what a server knows of the chain of servers above it, and the checks on it that
 * must pass before a synchronization moves data (loops: a server whose upstream is itself, or
 * a chain that comes back to a server already in it). A wsusd publishes its chain in the
 * X-Wsusd-Hierarchy header of its GetConfigData answers: itself first ("GUID NAME"), then the
 * chain its last synchronization learned from its own upstream. MS-WSUSSS has no field for a
 * server's identity, so a Windows WSUS or Microsoft Update publishes nothing and the chain
 * stops there (loops through them are not seen). Each check returns a verdict and one line
 * with the fix (hier_verdict.h), so that a health check can call it as it is. The language
 * checks are in hier_languages.h (settings.c calls them, and this module reads settings).
 * This module owns the upstream_state row "upstream-chain"; it does not talk to the network.
 */
#ifndef WSUS_HIERARCHY_H
#define WSUS_HIERARCHY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "hier_languages.h"
#include "hier_verdict.h"

#define HIER_HEADER      "X-Wsusd-Hierarchy"
#define HIER_MAX_SERVERS 16  /* entries of a chain; a longer chain is cut (and still checked) */
#define HIER_MAX_NAME    255 /* bytes of a server name (a DNS name) */
/* Bytes of a published value: a longer header is not a chain (ignored). */
#define HIER_MAX_VALUE (HIER_MAX_SERVERS * (36 + 1 + HIER_MAX_NAME + 2))

struct hier_server {
    char id[37]; /* lower-case GUID */
    char name[HIER_MAX_NAME + 1];
};

struct hier_chain {
    struct hier_server s[HIER_MAX_SERVERS];
    size_t n;
};

/*
 * Parse a published value (peer-controlled: bounded, every GUID checked, names restricted to
 * DNS characters) into *c; entries past HIER_MAX_SERVERS are dropped. 0, or -1 (c->n = 0) when
 * value is NULL, empty, too long or malformed.
 */
int hier_chain_parse(const char *value, struct hier_chain *c);

/* "GUID NAME, GUID NAME" of c into out. 0, or -1 when it does not fit. */
int hier_chain_format(const struct hier_chain *c, char *out, size_t outlen);

/*
 * The loop check, before data moves: own_id / own_name are this server's, upstream_url its
 * upstream as configured, up the chain the upstream published (NULL when it published none:
 * a Windows WSUS, Microsoft Update or an older wsusd). FAIL when the first entry is this
 * server (it synchronizes from itself) or this server appears further up (a loop, every
 * server of it named in order); UNKNOWN when up is NULL; PASS otherwise. Never fails itself.
 */
void hier_check_loop(const char *own_id, const char *own_name, const char *upstream_url,
                     const struct hier_chain *up, struct hier_result *res);

/*
 * The value this server publishes: itself (own_id, its account-name setting), then the chain
 * remembered from its upstream, cut where own_id comes back and at HIER_MAX_SERVERS; only
 * itself when it has no upstream. malloc'd; NULL on a database error.
 */
char *hier_publish(PGconn *db, const char *own_id);

/* Remember the chain the upstream published (NULL or empty: forget it). 0 or -1. */
int hier_remember(PGconn *db, const struct hier_chain *up);

/*
 * What a wsusd synchronizes itself, published in the X-Wsusd-Subscription header of its
 * GetConfigData answers: "products=GUID,GUID; classifications=GUID" (empty = everything).
 */
#define HIER_SUBSCRIPTION_HEADER "X-Wsusd-Subscription"
#define HIER_MAX_SUBSCRIPTION    (2 * 65536 + 64) /* bytes of a published value */

/* The value this server publishes: its products and classifications settings; everything
 * for a root (no upstream: it offers what it holds). malloc'd; NULL on a database error. */
char *hier_subscription_publish(PGconn *db);

/*
 * Products and classifications this server selects (comma-separated GUIDs, empty = all) that
 * its upstream does not synchronize, by its published subscription (NULL: not published, a
 * Windows WSUS: UNKNOWN). A selected category is offered when the upstream selects it or a
 * category above it (a product family), or selects everything. FAIL names each missing one
 * by title and GUID (db: this server's catalog, for the titles) with the fix.
 */
void hier_check_offered(PGconn *db, const char *upstream_url, const char *published,
                        const char *products, const char *classifications, struct hier_result *res);

/*
 * What catalog_inactive_approvals() judges by on this server: *upstream the upstream setting
 * (malloc'd, NULL on a database error) and *carried the languages the upstream carries on a
 * replica (hier_upstream_languages), else NULL (autonomous: only the languages enabled here).
 */
void hier_inactive_scope(PGconn *db, char **carried, char **upstream);

#endif
