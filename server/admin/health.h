/*
 * health: wsusctl checkhealth, run inside wsusd (GET /api/v1/health). One table of checks
 * {id, title, function}: the seed troubleshooting guide step by step (docs/troubleshooting.md)
 * plus what a senior admin adds: the database and its schema, the content directory and its
 * free space, the token and config file modes, then the path to the upstream exactly as the
 * sync takes it (its resolver, proxy, credentials, TLS and SOAP client: sync_open_upstream()),
 * the storage option, HTTP Range on a real file, the downloader, the last synchronization.
 * Every probe is bounded (a whole run stays well under 30 s). It changes nothing (beyond
 * creating a missing content directory, as wsusd does at start).
 */
#ifndef WSUS_HEALTH_H
#define WSUS_HEALTH_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "server.h"

enum health_verdict { HEALTH_OK, HEALTH_WARN, HEALTH_FAIL, HEALTH_SKIPPED };

/* "ok" | "warn" | "fail" | "skipped" (the verdict of the API's answer). */
const char *health_verdict_name(enum health_verdict v);

/* Number of checks in the table, and the id of the i-th (for tests and docs). */
size_t health_count(void);
const char *health_id(size_t i);

/*
 * Run every check against the server s with the database connection db (a pool connection of
 * the request). Returns the API's answer (never NULL): {"checks": [{"id", "title", "verdict",
 * "detail", "fix"}, ...] in table order, "ok", "warn", "fail", "skipped" (counts), "healthy"
 * (true when no check failed)}. No secret ever appears in it.
 */
json_t *health_run(struct server *s, PGconn *db);

#endif
