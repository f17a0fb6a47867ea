/*
 * pgcluster: the private PostgreSQL cluster wsusd uses when [database] conninfo is empty, so a
 * newcomer needs no database setup. It lives in <state_dir>/pg (data in pg/data, unix socket in
 * pg/sock, no TCP), is created with Debian's initdb on first use and started with pg_ctl when
 * not running. As root it runs as the `postgres` user (PostgreSQL refuses root). It is left
 * running when wsusd exits, like a service; `pgcluster_stop()` stops it.
 */
#ifndef WSUS_PGCLUSTER_H
#define WSUS_PGCLUSTER_H

#include <stddef.h>

/*
 * Make sure the cluster under state_dir exists and runs, and that database "wsusd" exists.
 * Writes the libpq conninfo to reach it into conninfo (size len). 0, or -1 with a one-line
 * message (what failed, the log file to read) in err.
 */
int pgcluster_ensure(const char *state_dir, char *conninfo, size_t len, char *err, size_t errlen);
/*
 * A running wsusd found its private cluster unreachable (dbpool revive hook; arg is the
 * state_dir string, owned by the caller and alive as long as the pool): when the cluster is
 * stopped, start it again (logged, and so is a failure with the log file to read). Threads
 * arriving while it starts wait for it; the check runs at most once every
 * PGCLUSTER_REVIVE_S seconds, calls in between return at once.
 */
#define PGCLUSTER_REVIVE_S 5
void pgcluster_revive(void *state_dir);
/* Stop the private cluster if it runs. 0 or -1. */
int pgcluster_stop(const char *state_dir);

#endif
