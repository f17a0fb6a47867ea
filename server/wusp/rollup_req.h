/*
 * rollup_req: the decoding of the four reporting rollup requests that carry data (MS-WSUSSS
 * 3.1.4.14-3.1.4.17) into the bounded structs of common/db/rollup.h. Every list is counted against
 * its batch size before it is walked; the first bad value (a missing field, a bad GUID, date,
 * boolean or integer, a text too long or holding control characters) refuses the request with
 * a message naming the entry and the field. No database, no cookie (svc_rollup.c does those).
 */
#ifndef WSUS_ROLLUP_REQ_H
#define WSUS_ROLLUP_REQ_H

#include <stddef.h>

#include "rollup.h"
#include "xml.h"

enum rollup_req_op {
    ROLLUP_REQ_SERVERS,     /* RollupDownstreamServers */
    ROLLUP_REQ_COMPUTERS,   /* RollupComputers */
    ROLLUP_REQ_OUT_OF_SYNC, /* GetOutOfSyncComputers */
    ROLLUP_REQ_STATUS,      /* RollupComputerStatus */
};

/* One decoded request (the arrays are the request's; rollup_req_free releases them). */
struct rollup_req {
    char client_time[40]; /* clientTime (not GetOutOfSyncComputers) */
    char parent[37];      /* parentServerId (GetOutOfSyncComputers, RollupComputerStatus) */
    struct rollup_server *servers;
    size_t nservers, summaries;  /* summaries: DownstreamServerRollupClientSummary counted */
    struct rollup_activity *act; /* the client activity of every servers[i] */
    size_t nact;
    struct rollup_computer *computers;
    size_t ncomputers;
    char (*ids)[ROLLUP_MAX_ID + 1]; /* GetOutOfSyncComputers ComputerId / RollupNumber */
    long *numbers;
    size_t nids;
    struct rollup_computer_status *status;
    size_t nstatus;
    struct rollup_status *st; /* the statuses of every status[i] */
    size_t nst;
    char msg[256]; /* why the request was refused */
};

/*
 * Decode the request element op (elements in namespace ns) of operation kind into rq (which it
 * initialises; free with rollup_req_free() in every case). 0, or -1 with rq->msg set: the
 * message of an InvalidParameters fault.
 */
int rollup_req_decode(enum rollup_req_op kind, const char *ns, const xmlNode *op,
                      struct rollup_req *rq);
void rollup_req_free(struct rollup_req *rq);

#endif
