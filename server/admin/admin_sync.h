/*
 * admin_sync: the admin API of synchronization (routes listed in admin.c):
 *   POST /api/v1/sync/now      -> 202 {"id": N} | 409 {"error", "running": {row}}
 *   POST /api/v1/sync/cancel   -> 202 {"id": N} | 409 {"error"} (none runs in this wsusd)
 *   GET  /api/v1/sync/status   -> {"running": row|null, "last": row|null, "schedule",
 *                                  "next_schedule", "retry_at"}
 *   GET  /api/v1/sync/history[?limit=N][&id=N] -> {"history": [row, ...]} newest first
 * A row is a sync_history row as JSON (detail holds the live progress while it runs).
 */
#ifndef WSUS_ADMIN_SYNC_H
#define WSUS_ADMIN_SYNC_H

#include "admin_reply.h"

enum MHD_Result admin_sync_now(struct http_request *req);
/* POST /api/v1/sync/cancel: 202 {"id"} (the run stops within seconds), 409 when none runs. */
enum MHD_Result admin_sync_cancel(struct http_request *req);
enum MHD_Result admin_sync_status(struct http_request *req);
enum MHD_Result admin_sync_history(struct http_request *req);

#endif
