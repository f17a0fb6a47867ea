/*
 * pgcluster: the private PostgreSQL cluster wsusd uses when [database] conninfo is empty, so a
 * newcomer needs no database setup. It lives in <state_dir>/pg (data in pg/data, unix socket in
 * pg/sock, no TCP), is created with Debian's initdb on first use and started with pg_ctl when
 * not running. As root it runs as the `postgres` user (PostgreSQL refuses root). It is left
 * running when wsusd exits, like a service; `pgcluster_stop()` stops it (`wsusctl db stop`).
 * Also: its status, and a pg_dump backup of any catalog database (`wsusctl db backup`).
 */
#ifndef WSUS_PGCLUSTER_H
#define WSUS_PGCLUSTER_H

#include <stddef.h>
#include <stdint.h>

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

/* What `wsusctl db status` shows of the private cluster (never started by looking). */
struct pgcluster_status {
    int exists;         /* initdb has run (pg/data/PG_VERSION) */
    int running;        /* pg_ctl status says so */
    long pid;           /* of the postmaster, 0 when unknown */
    int64_t data_bytes; /* on disk under data_dir (what this user may read) */
    char data_dir[1100], socket_dir[1100], log_file[1100];
};
/* Fill *st for the cluster under state_dir. 0, or -1 with err (no PostgreSQL binaries, a
 * state_dir too long for the paths). pgcluster_conninfo() cannot fail after it succeeded. */
int pgcluster_status(const char *state_dir, struct pgcluster_status *st, char *err, size_t errlen);
/* The libpq conninfo of the cluster under state_dir (running or not). 0, or -1 (too long). */
int pgcluster_conninfo(const char *state_dir, char *out, size_t len);

/*
 * pg_dump -Fc of the database conninfo names (private cluster or [database] conninfo) into
 * file, through file.partial renamed at the end (no half-written backup under the name). A
 * password in conninfo reaches pg_dump in its environment, never on its command line.
 * restore gets the command that restores it (conninfo without the password). 0, or -1 with
 * pg_dump's own message in err.
 */
int pgcluster_dump(const char *conninfo, const char *file, char *restore, size_t rlen, char *err,
                   size_t errlen);

#endif
