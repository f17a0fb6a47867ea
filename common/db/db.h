/*
 * db: libpq helpers and schema migrations. Every query goes through parameters (never SQL
 * built from strings). Functions log failures with the server's message and return NULL/-1;
 * they never exit. One PGconn per thread: connections are not shared.
 */
#ifndef WSUS_DB_H
#define WSUS_DB_H

#include "attr.h"
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct db_migration {
    int version;      /* NNN of schema/NNN_name.sql */
    const char *name; /* file name without .sql */
    const char *sql;
};
extern const struct db_migration db_migrations[]; /* generated from schema/, ascending */
extern const int db_migrations_count;

/*
 * Query parameters that are numbers: libpq takes text, so a number is written into a caller's
 * buffer of DB_PARAM_INT_LEN bytes, which holds any long long ("-9223372036854775808" plus
 * the NUL), so truncation cannot happen. This is the one way number parameters are built.
 */
#define DB_PARAM_INT_LEN 24
/*
 * Write v in decimal into buf and return buf (to place in a parameter array). Never fails:
 * the size is checked at compile time and the result once more at run time (abort, a bug).
 */
const char *db_param_int(char buf[DB_PARAM_INT_LEN], long long v);

/*
 * Connect with conninfo (libpq syntax). Returns NULL and a one-line message with the fix in
 * err on failure. The connection uses UTF-8 and application_name = wsusd/wsusctl.
 */
PGconn *db_connect(const char *conninfo, const char *appname, char *err, size_t errlen);
void db_close(PGconn *conn);

/*
 * Apply every migration newer than the recorded version, each in its own transaction, under an
 * advisory lock (several wsusd may start at once on one database). *applied gets how many were
 * applied (may be NULL). 0, or -1 with the failing migration and the server message in err.
 */
int db_migrate(PGconn *conn, int *applied, char *err, size_t errlen) WSUS_MUST_USE;
/* Highest applied migration version, 0 for an empty database, -1 on error. */
int db_schema_version(PGconn *conn);
/* Size of the connected database on disk in bytes (pg_database_size), -1 on error. */
int64_t db_size(PGconn *conn);
/*
 * Other sessions on the connected database whose application_name starts with prefix ("wsusd"
 * counts every wsusd connection: pool, sync, changes), -1 on error.
 */
long db_count_sessions(PGconn *conn, const char *prefix);

/*
 * Run sql with n text parameters (NULL entries are SQL NULL). Returns the result when it is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK (caller PQclear()s it); otherwise logs and returns NULL.
 */
PGresult *db_exec(PGconn *conn, const char *sql, int n, const char *const *params);
/* db_exec() with the one parameter param (NULL is SQL NULL). */
PGresult *db_exec1(PGconn *conn, const char *sql, const char *param);
/* db_exec() with the two parameters a and b (NULL is SQL NULL). */
PGresult *db_exec2(PGconn *conn, const char *sql, const char *a, const char *b);
/*
 * A one-value query (n parameters): 1 when its first row's first column is true ("t"), 0 when
 * it is false or there is no row, -1 on error (logged).
 */
int db_exec_true(PGconn *conn, const char *sql, int n, const char *const *params) WSUS_MUST_USE;
/* Same, for statements whose result is not needed: 0 or -1. */
int db_cmd(PGconn *conn, const char *sql, int n, const char *const *params);
int db_begin(PGconn *conn) WSUS_MUST_USE;
/*
 * COMMIT: 0 when the transaction was committed; -1 (logged) when the COMMIT failed or when
 * PostgreSQL rolled the transaction back instead (an earlier statement in it failed and its
 * error was not acted on: COMMIT then answers "ROLLBACK"; db_errmsg then says so). After -1
 * nothing of it is stored and the connection is outside any transaction.
 */
int db_commit(PGconn *conn) WSUS_MUST_USE;
/* Roll back; harmless outside a transaction. */
void db_rollback(PGconn *conn);
/*
 * End the transaction db_begin opened: commit when ok, roll back when not (and when the commit
 * fails). 0 when committed, -1 when rolled back (a failed commit is logged).
 */
int db_end(PGconn *conn, int ok) WSUS_MUST_USE;
/*
 * Take the transaction-scoped advisory lock named name (hashtext(name)), waiting for it; it
 * is released at COMMIT or ROLLBACK. Call inside a transaction. 0 or -1 (logged).
 */
int db_xact_lock(PGconn *conn, const char *name);
/*
 * Session advisory lock key (held until db_session_unlock or the session ends; the sync lock):
 * try to take it without waiting. 1 when taken, 0 when another session holds it, -1 on a
 * database error (db_errmsg tells which).
 */
int db_session_trylock(PGconn *conn, long key) WSUS_MUST_USE;
/* Release session advisory lock key taken by db_session_trylock. 0 or -1 (logged). */
int db_session_unlock(PGconn *conn, long key);
/*
 * The last error of conn as one line (no trailing newline); "" if none. After a db_commit
 * that PostgreSQL answered with ROLLBACK (in this thread, no transaction begun since): "the
 * transaction was rolled back: an earlier statement in it failed".
 */
const char *db_errmsg(PGconn *conn, char *out, size_t outlen);

/*
 * Connection health. A connection whose server restarted or closed it stays CONNECTION_OK in
 * libpq until it is used; these helpers find that out without a round trip and repair it.
 *
 * db_lost: 1 when libpq knows conn is broken (a query failed for that reason), else 0.
 * db_check: look, without waiting, whether the server sent anything while conn sat idle (its
 * goodbye when it shut down, or the closed socket) and let libpq read it. 0 when conn still
 * looks usable, -1 when it is lost. Harmless on a busy or broken connection.
 * db_revive: when conn is lost (db_check), re-establish it in place (PQreset: a new session,
 * so session state such as advisory locks and prepared statements is gone). 0 = it was fine,
 * 1 = it was lost and works again, -1 = still lost (logged with the server's message).
 */
int db_lost(PGconn *conn);
int db_check(PGconn *conn);
int db_revive(PGconn *conn);

/*
 * db_exec/db_cmd for a statement that is safe to run twice (a read, or BEGIN) issued outside a
 * transaction: when it fails because the connection was lost, the connection is revived once
 * and the statement runs again. Inside a transaction, or on a connection already known to be
 * lost (an earlier statement failed: it may have been in a transaction), they behave like
 * db_exec/db_cmd: the caller has to start over (db_revive).
 */
PGresult *db_exec_retry(PGconn *conn, const char *sql, int n, const char *const *params);
int db_cmd_retry(PGconn *conn, const char *sql, int n, const char *const *params);

/*
 * db_revive, trying again once a second for up to max_s seconds (a server that is restarting),
 * stopping early when *cancel (may be NULL) becomes non-zero. Same results as db_revive.
 */
int db_revive_wait(PGconn *conn, int max_s, const atomic_int *cancel);

/*
 * One round trip to the server (a readiness probe: a connection that looks fine may belong to a
 * server that has gone). Revives a lost connection once, like db_exec_retry. 0, or -1 (logged).
 */
int db_ping(PGconn *conn);

/*
 * When the catalog was created (its first migration was applied), Unix time, into *t: the same
 * on every wsusd sharing the database and across restarts. 0, or -1 (logged) on a database
 * error or an empty schema_version.
 */
int db_catalog_created(PGconn *conn, time_t *t);

/* Setting value for key (malloc'd), or a copy of def (NULL allowed) when the key is absent. */
char *db_setting_get(PGconn *conn, const char *key, const char *def);
/* Insert or replace a setting. 0 or -1. */
int db_setting_set(PGconn *conn, const char *key, const char *value);

/*
 * The change number up to which every change is committed and visible: waits for open
 * transactions that write change-numbered tables (schema 003: they hold a shared advisory lock)
 * and then reads the change_seq sequence. Anchors handed to downstream servers must come from
 * here, read BEFORE the query that lists the changes. 0 or -1; *seq is 0 on a new catalog.
 * Must not be called inside a transaction that itself wrote change-numbered rows.
 */
int db_change_horizon(PGconn *conn, int64_t *seq) WSUS_MUST_USE;

/*
 * Make sure this server has an identity: a server_id GUID and a 32-byte cookie_key, created
 * on first use and never changed afterwards. 0 or -1.
 */
int db_ensure_identity(PGconn *conn);

#endif
