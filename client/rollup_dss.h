/*
 * rollup_dss: the reporting rollup of a downstream (MS-WSUSSS 3.2.4.5, "Reporting Data
 * Synchronization"): after a synchronization this server reports itself, the servers below it
 * and the computers of its whole branch with their update status to its upstream, in the order
 * of the spec and in Windows' batch sizes: GetRollupConfiguration, RollupDownstreamServers,
 * then (when the upstream does a detailed rollup) RollupComputers for the computers new or
 * changed since the last rollup, GetOutOfSyncComputers, RollupComputerStatus for the computers
 * whose status changed or that the upstream found out of sync. What was sent is recorded
 * (common/db/rollup_send.c), so an unchanged computer is not sent again. It stores nothing the
 * upstream tells beyond that, and never fails the synchronization it follows: the caller gets
 * an outcome and one line.
 */
#ifndef WSUS_ROLLUP_DSS_H
#define WSUS_ROLLUP_DSS_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "uss.h"

struct rollup_dss_params {
    PGconn *db;               /* the catalog (no transaction open) */
    struct uss *u;            /* the upstream client */
    const char *server_id;    /* this server's ServerId */
    const char *account_name; /* this server's FQDN (FullDomainName) */
    const char *mode;         /* "replica" or "autonomous" (IsReplica) */
    const char *protocol;     /* the upstream's ProtocolVersion (GetConfigData); "" unknown */
    const char *last_sync;    /* xsd:dateTime of the synchronization just done; NULL or "": a
                                 rollup on its own (the one the last rollup reported) */
    const atomic_int *cancel; /* may be NULL */
};

/* What one rollup sent. */
struct rollup_dss_counts {
    long servers;     /* DownstreamServerRollupInfo, this server included */
    long computers;   /* ComputerRollupInfo */
    long details;     /* of them with Details */
    long out_of_sync; /* computers the upstream found out of sync */
    long statuses;    /* ComputerStatusRollupInfo */
    long requests;    /* reporting calls made */
};

enum rollup_dss_outcome {
    ROLLUP_DSS_DONE,    /* everything went (msg: the summary line) */
    ROLLUP_DSS_SKIPPED, /* the upstream has no rollup (Microsoft Update, protocol < 1.3, HTTP
                           404) or the setting rollup is off (msg says which) */
    ROLLUP_DSS_FAILED,  /* msg: what failed, with the upstream, and what to do */
};

/*
 * Run one rollup (blocking). c (may be NULL) gets what was sent; msg one line for the log and
 * the sync history. The outcome and its line are also kept in upstream_state ("rollup-last").
 */
enum rollup_dss_outcome rollup_dss_run(const struct rollup_dss_params *p,
                                       struct rollup_dss_counts *c, char *msg, size_t msglen);

/*
 * 1 when protocol ("major.minor", minor compared as an integer: 1.20 > 1.8) is at least 1.3,
 * the first version with the reporting rollup; 0 otherwise or when it is not a version.
 */
int rollup_dss_protocol_ok(const char *protocol);

/*
 * When the last rollup (after a synchronization or on its own, whatever its outcome) ended, as
 * rollup_dss_run keeps it in upstream_state: seconds since the epoch, 0 when there was none or
 * the record cannot be read. db: no transaction needed.
 */
time_t rollup_dss_last_time(PGconn *db);

#endif
