/*
 * db: thin libpq layer (connect, exec with parameters, transactions, settings) and the
 * migration runner. Query building and row decoding belong to the modules that own the tables.
 */
#include "db.h"
#include "log.h"
#include "strutil.h"
#include "xmalloc.h"

#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Advisory lock key held while migrating: "wsusmigr" as an integer. */
#define DB_MIGRATE_LOCK 0x777375736d696772LL

static void db_oneline(const char *in, char *out, size_t outlen)
{
    size_t i, j = 0;

    for (i = 0; in[i] != '\0' && j + 1 < outlen; i++)
        out[j++] = (in[i] == '\n' || in[i] == '\r' || in[i] == '\t') ? ' ' : in[i];
    while (j > 0 && out[j - 1] == ' ')
        j--;
    out[j] = '\0';
}

#define DB_ROLLED_BACK "the transaction was rolled back: an earlier statement in it failed"

/*
 * The connection whose last COMMIT this thread saw answered "ROLLBACK" (libpq keeps no error
 * for it: the COMMIT itself succeeded as a command), so that db_errmsg can still say why.
 */
static _Thread_local const PGconn *db_rolled_back;

const char *db_errmsg(PGconn *conn, char *out, size_t outlen)
{
    const char *m = conn ? PQerrorMessage(conn) : "no connection";

    if (conn != NULL && m[0] == '\0' && conn == db_rolled_back)
        m = DB_ROLLED_BACK;
    db_oneline(m, out, outlen);
    return out;
}

static void db_quiet_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("database notice: %s", message);
}

PGconn *db_connect(const char *conninfo, const char *appname, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "application_name", "client_encoding", "connect_timeout", NULL};
    const char *vals[] = {conninfo, appname, "UTF8", "10", NULL};
    PGconn *conn;
    char msg[512];

    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        snprintf(err, errlen, "cannot allocate a database connection");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        db_errmsg(conn, msg, sizeof(msg));
        snprintf(err, errlen,
                 "cannot connect to the database: %s; check [database] conninfo and that "
                 "PostgreSQL is running",
                 msg);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, db_quiet_notice, NULL);
    return conn;
}

void db_close(PGconn *conn)
{
    if (conn != NULL)
        PQfinish(conn);
}

PGresult *db_exec(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res;
    ExecStatusType st;

    res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[512];
        db_oneline(PQresultErrorMessage(res), msg, sizeof(msg));
        log_warnx("database query failed: %s", msg);
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *db_exec1(PGconn *conn, const char *sql, const char *param)
{
    const char *p[1] = {param};

    return db_exec(conn, sql, 1, p);
}

PGresult *db_exec2(PGconn *conn, const char *sql, const char *a, const char *b)
{
    const char *p[2] = {a, b};

    return db_exec(conn, sql, 2, p);
}

int db_exec_true(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *r = db_exec(conn, sql, n, params);
    int v;

    if (r == NULL)
        return -1;
    v = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return v;
}

int db_cmd(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_exec(conn, sql, n, params);

    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int db_lost(PGconn *conn)
{
    return conn == NULL || PQstatus(conn) == CONNECTION_BAD;
}

/* Reads at most this many times: a goodbye message, then the end of the stream. */
#define DB_CHECK_READS 4

int db_check(PGconn *conn)
{
    int i, got = 0;

    if (db_lost(conn))
        return -1;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return 0; /* busy: a query result may be on its way, nothing to learn here */
    for (i = 0; i < DB_CHECK_READS; i++) {
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

        if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
            break;
        /* an idle session gets data only when the server leaves (FATAL 57P01) or notifies */
        if (!PQconsumeInput(conn) || db_lost(conn))
            return -1;
        got = 1;
    }
    if (got) {
        /* the goodbye may have come without the close yet: one empty query tells for sure
           (rare: wsusd listens to no notifications) */
        PQclear(PQexec(conn, ""));
    }
    return db_lost(conn) ? -1 : 0;
}

static int db_revive_log(PGconn *conn, int log_failure)
{
    char msg[512];

    if (conn == NULL)
        return -1;
    if (db_check(conn) == 0)
        return 0;
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        if (log_failure)
            log_warnx("the database connection was lost and could not be re-established: %s",
                      db_errmsg(conn, msg, sizeof(msg)));
        return -1;
    }
    PQsetNoticeProcessor(conn, db_quiet_notice, NULL);
    log_info("the database connection was lost (server restarted?) and is re-established");
    return 1;
}

int db_revive(PGconn *conn)
{
    return db_revive_log(conn, 1);
}

PGresult *db_exec_retry(PGconn *conn, const char *sql, int n, const char *const *params)
{
    int idle = PQtransactionStatus(conn) == PQTRANS_IDLE;
    PGresult *res;

    if (idle && db_revive(conn) < 0)
        return NULL;
    res = db_exec(conn, sql, n, params);
    if (res == NULL && idle && db_lost(conn) && db_revive(conn) > 0)
        res = db_exec(conn, sql, n, params);
    return res;
}

int db_catalog_created(PGconn *conn, time_t *t)
{
    PGresult *r = db_exec(
        conn, "SELECT floor(extract(epoch FROM min(applied_at)))::bigint FROM schema_version", 0,
        NULL);
    int64_t v;
    int rc = -1;

    if (r == NULL)
        return -1;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
        str_to_int64(PQgetvalue(r, 0, 0), 0, INT64_MAX, &v) == 0) {
        *t = (time_t)v;
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int db_ping(PGconn *conn)
{
    PGresult *r = db_exec_retry(conn, "SELECT 1", 0, NULL);

    if (r == NULL)
        return -1;
    PQclear(r);
    return 0;
}

int db_cmd_retry(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_exec_retry(conn, sql, n, params);

    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int db_revive_wait(PGconn *conn, int max_s, const atomic_int *cancel)
{
    int i, rc;

    for (i = 0;; i++) {
        int last = i >= max_s || (cancel != NULL && atomic_load(cancel) != 0);

        rc = db_revive_log(conn, last);
        if (rc >= 0 || last)
            return rc;
        sleep(1);
    }
}

int db_begin(PGconn *conn)
{
    if (db_rolled_back == conn)
        db_rolled_back = NULL;
    return db_cmd(conn, "BEGIN", 0, NULL);
}

int db_xact_lock(PGconn *conn, const char *name)
{
    const char *p[1] = {name};

    return db_cmd(conn, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, p);
}

_Static_assert(DB_PARAM_INT_LEN > sizeof("-9223372036854775808") - 1,
               "DB_PARAM_INT_LEN must hold any long long");

const char *db_param_int(char buf[DB_PARAM_INT_LEN], long long v)
{
    int n = snprintf(buf, DB_PARAM_INT_LEN, "%lld", v);

    if (n < 0 || n >= DB_PARAM_INT_LEN)
        abort(); /* impossible by the assertion above */
    return buf;
}

int db_session_trylock(PGconn *conn, long key)
{
    char k[DB_PARAM_INT_LEN];
    const char *p[1] = {k};
    PGresult *r;
    int got;

    db_param_int(k, key);
    r = db_exec(conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, p);
    if (r == NULL)
        return -1;
    got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return got;
}

int db_session_unlock(PGconn *conn, long key)
{
    char k[DB_PARAM_INT_LEN];
    const char *p[1] = {k};

    db_param_int(k, key);
    return db_cmd(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, p);
}

int db_commit(PGconn *conn)
{
    PGresult *res = db_exec(conn, "COMMIT", 0, NULL);
    int rc = -1;

    if (res == NULL)
        return -1;
    /* COMMIT of an aborted transaction succeeds as a command but answers "ROLLBACK" */
    if (strcmp(PQcmdStatus(res), "COMMIT") == 0) {
        rc = 0;
    } else {
        db_rolled_back = conn;
        log_warnx("database commit failed: " DB_ROLLED_BACK);
    }
    PQclear(res);
    return rc;
}

void db_rollback(PGconn *conn)
{
    PGresult *res;

    if (PQtransactionStatus(conn) == PQTRANS_IDLE)
        return;
    res = PQexec(conn, "ROLLBACK");
    PQclear(res);
}

int db_end(PGconn *conn, int ok)
{
    if (ok && db_commit(conn) == 0)
        return 0;
    db_rollback(conn);
    return -1;
}

int db_schema_version(PGconn *conn)
{
    PGresult *res;
    long v = -1;

    res = db_exec(conn, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL);
    if (res == NULL)
        return -1;
    if (str_to_long(PQgetvalue(res, 0, 0), 0, 99999, &v) < 0)
        v = -1;
    PQclear(res);
    return (int)v;
}

/* The one value of a one-row query as a number, -1 on error. */
static long long db_one_number(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = db_exec(conn, sql, n, params);
    long long v = -1;

    if (res == NULL)
        return -1;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

int64_t db_size(PGconn *conn)
{
    return (int64_t)db_one_number(conn, "SELECT pg_database_size(current_database())", 0, NULL);
}

long db_count_sessions(PGconn *conn, const char *prefix)
{
    const char *p[1] = {prefix};

    return (long)db_one_number(conn,
                               "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                               "current_database() AND pid <> pg_backend_pid() AND "
                               "starts_with(application_name, $1)",
                               1, p);
}

static int db_exec_script(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    char msg[512];

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        db_oneline(PQresultErrorMessage(res), msg, sizeof(msg));
        snprintf(err, errlen, "%s", msg);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

int db_migrate(PGconn *conn, int *applied, char *err, size_t errlen)
{
    char msg[512];
    char lock[DB_PARAM_INT_LEN];
    const char *lp[1] = {lock};
    int current, i, count = 0, rc = -1;

    if (applied != NULL)
        *applied = 0;
    db_param_int(lock, DB_MIGRATE_LOCK);
    if (db_cmd(conn, "SELECT pg_advisory_lock($1::bigint)", 1, lp) < 0) {
        snprintf(err, errlen, "cannot take the migration lock: %s",
                 db_errmsg(conn, msg, sizeof(msg)));
        return -1;
    }
    if (db_exec_script(conn,
                       "SET client_min_messages = warning;"
                       "CREATE TABLE IF NOT EXISTS schema_version ("
                       " version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       msg, sizeof(msg)) < 0) {
        snprintf(err, errlen, "cannot create the schema_version table: %s", msg);
        goto out;
    }
    current = db_schema_version(conn);
    if (current < 0) {
        snprintf(err, errlen, "cannot read the schema version");
        goto out;
    }
    for (i = 0; i < db_migrations_count; i++) {
        const struct db_migration *m = &db_migrations[i];
        char version[DB_PARAM_INT_LEN];
        const char *p[2] = {version, m->name};

        if (m->version <= current)
            continue;
        db_param_int(version, m->version);
        if (db_begin(conn) < 0 || db_exec_script(conn, m->sql, msg, sizeof(msg)) < 0) {
            db_rollback(conn);
            snprintf(err, errlen, "migration %s failed: %s", m->name, msg);
            goto out;
        }
        if (db_cmd(conn, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", 2, p) < 0 ||
            db_commit(conn) < 0) {
            db_rollback(conn);
            snprintf(err, errlen, "migration %s could not be recorded", m->name);
            goto out;
        }
        log_info("applied schema migration %s", m->name);
        count++;
    }
    if (applied != NULL)
        *applied = count;
    rc = 0;
out:
    db_cmd(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, lp);
    return rc;
}

char *db_setting_get(PGconn *conn, const char *key, const char *def)
{
    const char *p[1] = {key};
    PGresult *res = db_exec(conn, "SELECT value FROM setting WHERE key = $1", 1, p);
    char *v = NULL;

    if (res != NULL && PQntuples(res) == 1)
        v = xstrdup(PQgetvalue(res, 0, 0));
    else if (def != NULL)
        v = xstrdup(def);
    PQclear(res);
    return v;
}

int db_setting_set(PGconn *conn, const char *key, const char *value)
{
    const char *p[2] = {key, value};

    return db_cmd(conn,
                  "INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO "
                  "UPDATE SET value = excluded.value, changed_at = now()",
                  2, p);
}

/* Key of the change-horizon advisory lock ("wsuschgs"); schema/003_change_horizon.sql too. */
#define DB_CHANGE_LOCK "8607352451284625267"

int db_change_horizon(PGconn *conn, int64_t *seq)
{
    PGresult *res;
    int rc = -1;

    if (db_cmd(conn, "SELECT pg_advisory_lock(" DB_CHANGE_LOCK ")", 0, NULL) < 0)
        return -1;
    res = db_exec(conn, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_seq", 0,
                  NULL);
    if (res != NULL && PQntuples(res) == 1 &&
        str_to_int64(PQgetvalue(res, 0, 0), 0, INT64_MAX, seq) == 0)
        rc = 0;
    PQclear(res);
    if (db_cmd(conn, "SELECT pg_advisory_unlock(" DB_CHANGE_LOCK ")", 0, NULL) < 0)
        rc = -1;
    return rc;
}

int db_ensure_identity(PGconn *conn)
{
    unsigned char key[32];
    char hex[65];

    if (db_cmd(conn,
               "INSERT INTO setting (key, value) VALUES ('server_id', gen_random_uuid()::text) "
               "ON CONFLICT (key) DO NOTHING",
               0, NULL) < 0)
        return -1;
    if (RAND_bytes(key, sizeof(key)) != 1) {
        log_warnx("cannot get random bytes for the cookie key");
        return -1;
    }
    str_hex_encode(key, sizeof(key), 0, hex);
    {
        const char *p[1] = {hex};
        if (db_cmd(conn,
                   "INSERT INTO setting (key, value) VALUES ('cookie_key', $1) "
                   "ON CONFLICT (key) DO NOTHING",
                   1, p) < 0)
            return -1;
    }
    return 0;
}
