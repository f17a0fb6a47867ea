/*
 * Tests for db (migrations, settings, identity, connection health), dbpool and config, against
 * the real test cluster. A server restart is played with pg_terminate_backend(), which is what
 * a restart does to every session (FATAL 57P01, then the socket closes); the shared cluster
 * itself is never restarted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "dbpool.h"
#include "testutil.h"

/* Terminate the session of conn from admin and wait (bounded) until it is gone. */
static void kill_session(PGconn *admin, PGconn *conn)
{
    char pid[16];
    const char *p[1] = {pid};
    int i;

    snprintf(pid, sizeof(pid), "%d", PQbackendPID(conn));
    assert_int_equal(db_cmd(admin, "SELECT pg_terminate_backend($1::int)", 1, p), 0);
    for (i = 0; i < 1000; i++) {
        PGresult *r = db_exec(admin, "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", 1, p);
        int gone = r != NULL && PQntuples(r) == 0;
        PQclear(r);
        if (gone)
            return;
        usleep(10000);
    }
    fail_msg("session %s did not end", pid);
}

static void test_pool_revives_dropped_connections(void **state)
{
    char conninfo[256], err[512];
    PGconn *admin = testdb_create("unit_db_pool", conninfo, sizeof(conninfo));
    struct dbpool *pool = dbpool_new(conninfo, 2, err, sizeof(err));
    PGconn *a, *b;
    int pid_a, pid_b;

    (void)state;
    assert_non_null(pool);
    a = dbpool_get(pool, 1000);
    b = dbpool_get(pool, 1000);
    assert_non_null(a);
    assert_non_null(b);
    pid_a = PQbackendPID(a);
    pid_b = PQbackendPID(b);
    assert_int_equal(db_check(a), 0); /* a healthy idle connection is left alone */
    assert_int_equal(PQbackendPID(a), pid_a);
    dbpool_put(pool, a);
    dbpool_put(pool, b);
    /* the server drops both idle pooled sessions (what a restart does) */
    kill_session(admin, a);
    kill_session(admin, b);
    /* each take hands out a working connection on a new session, no failed first use */
    a = dbpool_get(pool, 1000);
    b = dbpool_get(pool, 1000);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_not_equal(PQbackendPID(a), pid_a);
    assert_int_not_equal(PQbackendPID(b), pid_b);
    assert_int_equal(db_cmd(a, "SELECT 1", 0, NULL), 0);
    assert_int_equal(db_cmd(b, "SELECT 1", 0, NULL), 0);
    dbpool_put(pool, a);
    dbpool_put(pool, b);
    dbpool_free(pool);
    testdb_drop(admin, "unit_db_pool");
}

static void test_read_retried_once_outside_transactions(void **state)
{
    char conninfo[256], err[512];
    PGconn *admin = testdb_create("unit_db_retry", conninfo, sizeof(conninfo));
    PGconn *c = db_connect(conninfo, "unit", err, sizeof(err));
    PGresult *r;
    int pid;

    (void)state;
    assert_non_null(c);
    /* the server dropped the idle session: the retrying read notices, reconnects, answers */
    pid = PQbackendPID(c);
    kill_session(admin, c);
    r = db_exec_retry(c, "SELECT 42", 0, NULL);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    assert_int_not_equal(PQbackendPID(c), pid);
    /* inside a transaction nothing is retried: the transaction's work went with the session */
    assert_int_equal(db_begin(c), 0);
    kill_session(admin, c);
    assert_null(db_exec_retry(c, "SELECT 1", 0, NULL));
    assert_int_equal(db_lost(c), 1);
    /* nor after that failure: the caller decides (it may still think it is in a transaction) */
    assert_null(db_exec_retry(c, "SELECT 1", 0, NULL));
    /* db_revive does it on request: 1 = lost and back, then 0 = fine */
    assert_int_equal(db_revive(c), 1);
    assert_int_equal(db_revive(c), 0);
    assert_int_equal(db_cmd(c, "SELECT 1", 0, NULL), 0);
    db_close(c);
    testdb_drop(admin, "unit_db_retry");
}

static void test_migrate_is_idempotent(void **state)
{
    char conninfo[256], err[512];
    PGconn *c = testdb_create("unit_db_migrate", conninfo, sizeof(conninfo));
    int applied = -1;
    PGresult *r;

    (void)state;
    assert_int_equal(db_migrate(c, &applied, err, sizeof(err)), 0);
    assert_int_equal(applied, db_migrations_count);
    assert_int_equal(db_schema_version(c), db_migrations[db_migrations_count - 1].version);
    /* second run: nothing to do, nothing changed */
    assert_int_equal(db_migrate(c, &applied, err, sizeof(err)), 0);
    assert_int_equal(applied, 0);
    r = PQexec(c, "SELECT count(*) FROM schema_version");
    assert_int_equal(strtol(PQgetvalue(r, 0, 0), NULL, 10), db_migrations_count);
    PQclear(r);
    /* the built-in target groups and the languages are there */
    r = PQexec(c, "SELECT count(*) FROM target_group WHERE is_builtin");
    assert_string_equal(PQgetvalue(r, 0, 0), "3");
    PQclear(r);
    r = PQexec(c, "SELECT short_name FROM language WHERE enabled");
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), "en");
    PQclear(r);
    testdb_drop(c, "unit_db_migrate");
}

/* Number parameters hold every long long; db_end commits only what went well. */
static void test_param_int_and_end(void **state)
{
    char conninfo[256], buf[DB_PARAM_INT_LEN];
    PGconn *c = testdb_create("unit_db_end", conninfo, sizeof(conninfo));
    PGresult *r;

    (void)state;
    assert_string_equal(db_param_int(buf, -9223372036854775807LL - 1), "-9223372036854775808");
    assert_string_equal(db_param_int(buf, 9223372036854775807LL), "9223372036854775807");
    assert_string_equal(db_param_int(buf, 0), "0");
    assert_int_equal(db_cmd(c, "CREATE TABLE t (v bigint)", 0, NULL), 0);

    assert_int_equal(db_begin(c), 0);
    assert_int_equal(db_cmd(c, "INSERT INTO t VALUES (1)", 0, NULL), 0);
    assert_int_equal(db_end(c, 0), -1);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);

    assert_int_equal(db_begin(c), 0);
    db_param_int(buf, 42);
    {
        const char *p[1] = {buf};
        assert_int_equal(db_cmd(c, "INSERT INTO t VALUES ($1::bigint)", 1, p), 0);
    }
    assert_int_equal(db_end(c, 1), 0);

    r = PQexec(c, "SELECT string_agg(v::text, ',' ORDER BY v) FROM t");
    assert_string_equal(PQgetvalue(r, 0, 0), "42");
    PQclear(r);
    testdb_drop(c, "unit_db_end");
}

/*
 * A statement fails inside a transaction and its caller ignores the error: PostgreSQL answers
 * the COMMIT with ROLLBACK. db_commit and db_end must say the transaction failed (with the
 * message an admin reads), and nothing of it may be stored.
 */
static void test_commit_of_aborted_transaction_fails(void **state)
{
    char conninfo[256], msg[256];
    PGconn *c = testdb_create("unit_db_aborted", conninfo, sizeof(conninfo));
    PGresult *r;

    (void)state;
    assert_int_equal(db_cmd(c, "CREATE TABLE t (v bigint PRIMARY KEY)", 0, NULL), 0);

    assert_int_equal(db_begin(c), 0);
    assert_int_equal(db_cmd(c, "INSERT INTO t VALUES (1)", 0, NULL), 0);
    /* fails, and the error is ignored: the transaction is aborted */
    assert_int_equal(db_cmd(c, "INSERT INTO t VALUES (1)", 0, NULL), -1);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
    assert_int_equal(db_commit(c), -1);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    assert_string_equal(db_errmsg(c, msg, sizeof(msg)),
                        "the transaction was rolled back: an earlier statement in it failed");

    /* the same through db_end(ok) */
    assert_int_equal(db_begin(c), 0);
    assert_string_equal(db_errmsg(c, msg, sizeof(msg)), "");
    assert_int_equal(db_cmd(c, "INSERT INTO t VALUES (2)", 0, NULL), 0);
    assert_int_equal(db_cmd(c, "SELECT 1/0", 0, NULL), -1);
    assert_int_equal(db_end(c, 1), -1);
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);

    r = PQexec(c, "SELECT count(*) FROM t");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);

    /* a good transaction still commits */
    assert_int_equal(db_begin(c), 0);
    assert_int_equal(db_cmd(c, "INSERT INTO t VALUES (3)", 0, NULL), 0);
    assert_int_equal(db_commit(c), 0);
    r = PQexec(c, "SELECT string_agg(v::text, ',') FROM t");
    assert_string_equal(PQgetvalue(r, 0, 0), "3");
    PQclear(r);
    testdb_drop(c, "unit_db_aborted");
}

static void test_identity_is_stable(void **state)
{
    char conninfo[256];
    PGconn *c = testdb_create_migrated("unit_db_identity", conninfo, sizeof(conninfo));
    char *id1, *id2, *key1, *key2;

    (void)state;
    id1 = db_setting_get(c, "server_id", NULL);
    key1 = db_setting_get(c, "cookie_key", NULL);
    assert_non_null(id1);
    assert_int_equal(strlen(id1), 36);
    assert_int_equal(strlen(key1), 64);
    assert_int_equal(db_ensure_identity(c), 0);
    id2 = db_setting_get(c, "server_id", NULL);
    key2 = db_setting_get(c, "cookie_key", NULL);
    assert_string_equal(id1, id2);
    assert_string_equal(key1, key2);
    assert_int_equal(db_setting_set(c, "k", "v1"), 0);
    assert_int_equal(db_setting_set(c, "k", "v2"), 0);
    free(id1);
    id1 = db_setting_get(c, "k", NULL);
    assert_string_equal(id1, "v2");
    free(id1);
    id1 = db_setting_get(c, "missing", "dflt");
    assert_string_equal(id1, "dflt");
    free(id1);
    free(id2);
    free(key1);
    free(key2);
    testdb_drop(c, "unit_db_identity");
}

/* A writer's uncommitted change number must hold back the anchor horizon. */
static void test_change_horizon_waits_for_writers(void **state)
{
    char conninfo[256];
    PGconn *a = testdb_create_migrated("unit_db_horizon", conninfo, sizeof(conninfo));
    PGconn *b = PQconnectdb(conninfo);
    PGresult *r;
    int64_t before, after;

    (void)state;
    assert_int_equal(db_change_horizon(b, &before), 0);
    assert_int_equal(db_begin(a), 0);
    assert_int_equal(db_cmd(a,
                            "INSERT INTO target_group (id, parent_id, name) VALUES "
                            "(gen_random_uuid(), 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'x')",
                            0, NULL),
                     0);
    /* the open writer holds the horizon lock in shared mode: nobody gets it exclusively */
    r = PQexec(b, "SELECT pg_try_advisory_lock(8607352451284625267)");
    assert_string_equal(PQgetvalue(r, 0, 0), "f");
    PQclear(r);
    assert_int_equal(db_commit(a), 0);
    assert_int_equal(db_change_horizon(b, &after), 0);
    assert_true(after > before);
    r = PQexec(b, "SELECT max(change_seq) FROM target_group");
    assert_int_equal(strtoll(PQgetvalue(r, 0, 0), NULL, 10), after);
    PQclear(r);
    PQfinish(b);
    testdb_drop(a, "unit_db_horizon");
}

static char *write_conf(const char *dir, const char *text)
{
    char *path = malloc(512);
    FILE *f;

    snprintf(path, 512, "%s/wsusd.conf", dir);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_config(void **state)
{
    char *dir = test_tmpdir();
    char err[512];
    struct config cfg;
    char *path;

    (void)state;
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, "/nonexistent/wsusd.conf", 1, err, sizeof(err)), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:8530");
    assert_string_equal(cfg.admin_listen, "127.0.0.1:8532");
    assert_string_equal(cfg.token_file, "/var/lib/wsusd/admin.token");
    assert_string_equal(cfg.content_dir, "/var/lib/wsusd/content");
    config_free(&cfg);

    path = write_conf(dir, "[server]\nlisten = 127.0.0.1:18530\n[storage]\nstate_dir = /srv/w\n");
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, 0, err, sizeof(err)), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:18530");
    assert_string_equal(cfg.content_dir, "/srv/w/content");
    config_free(&cfg);
    free(path);

    path = write_conf(dir, "[server]\nlisen = 1\n");
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: unknown option [server] lisen"));
    config_free(&cfg);
    free(path);

    path = write_conf(dir, "[server]\nlisten = 127.0.0.1:99999\n");
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "port must be a number"));
    config_free(&cfg);
    free(path);

    path = write_conf(dir, "[server]\nthreads = lots\n");
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "threads = \"lots\""));
    config_free(&cfg);
    free(path);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_is_idempotent),
        cmocka_unit_test(test_param_int_and_end),
        cmocka_unit_test(test_commit_of_aborted_transaction_fails),
        cmocka_unit_test(test_identity_is_stable),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_change_horizon_waits_for_writers),
        cmocka_unit_test(test_pool_revives_dropped_connections),
        cmocka_unit_test(test_read_retried_once_outside_transactions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
