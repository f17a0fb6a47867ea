/*
 * rollup: storage of what downstream servers roll up (see rollup.h). Each store runs in one
 * transaction, checks the branch rules row by row and the per-branch bounds at the end, and
 * rolls everything back on the first refusal.
 */
#include "rollup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "settings.h"
#include "soap.h"
#include "strutil.h"

#define ROLLUP_RESET_KEY "rollup_reset_guid"

int rollup_reset_guid(PGconn *db, char out[37])
{
    char *v = db_setting_get(db, ROLLUP_RESET_KEY, NULL);
    unsigned char g[16];

    if (v == NULL) {
        char fresh[37];

        soap_guid_random(fresh);
        if (db_setting_set(db, ROLLUP_RESET_KEY, fresh) < 0)
            return -1;
        v = db_setting_get(db, ROLLUP_RESET_KEY, NULL);
    }
    if (v == NULL || soap_guid_parse(v, g) < 0) {
        free(v);
        return -1;
    }
    str_guid_format(g, out);
    free(v);
    return 0;
}

static void rollup_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rollup_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(err, errlen, fmt, ap) >= (int)errlen && errlen > 0)
        err[errlen - 1] = '\0';
    va_end(ap);
}

/* Append s as one element of a PostgreSQL array literal ("..." with \ escapes). */
static void rollup_array_add(struct buf *b, const char *s, size_t k)
{
    if (k > 0)
        buf_add_str(b, ",");
    buf_add_str(b, "\"");
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            buf_add_str(b, "\\");
        buf_add(b, s, 1);
    }
    buf_add_str(b, "\"");
}

static long rollup_col(const PGresult *r, int row, int col)
{
    long v = 0;

    if (str_to_long(PQgetvalue(r, row, col), 0, 2147483647L, &v) < 0)
        v = 0;
    return v;
}

/* An integer setting (its default when unreadable). */
static long rollup_setting(PGconn *db, const char *key, long def)
{
    char *v = settings_get(db, key);
    long n = def;

    if (v != NULL && soap_int_parse(v, 0, 2147483647L, &n) < 0)
        n = def;
    free(v);
    return n;
}

/* The clock correction of a request as text (seconds), into out. 0, or -1. */
static int rollup_skew(PGconn *db, const char *client_time, char out[32])
{
    const char *p[1] = {client_time};
    PGresult *r = db_exec(db, "SELECT rollup_skew($1)::text", 1, p);
    int rc = -1;

    if (r != NULL && PQntuples(r) == 1 && str_copy(out, 32, PQgetvalue(r, 0, 0)) == 0)
        rc = 0;
    PQclear(r);
    return rc;
}

/* Is server the reporter itself or a server of its branch? 1, 0, -1. */
static int rollup_in_branch(PGconn *db, const char *reporter, const char *server)
{
    const char *p[2] = {reporter, server};

    if (strcmp(reporter, server) == 0)
        return 1;
    return db_exec_true(db,
                        "SELECT true FROM rollup_server WHERE server_id = $2::uuid"
                        " AND reporter_id = $1::uuid",
                        2, p);
}

/* The branch bound of key over count_sql ($1 = reporter): ROLLUP_OK or ROLLUP_FULL. */
static enum rollup_result rollup_bound(PGconn *db, const char *reporter, const char *count_sql,
                                       const char *key, long def, const char *what, char *err,
                                       size_t errlen)
{
    const char *p[1] = {reporter};
    long max = rollup_setting(db, key, def), have = 0;
    PGresult *r = db_exec(db, count_sql, 1, p);

    if (r == NULL || PQntuples(r) != 1) {
        PQclear(r);
        return ROLLUP_DB_ERROR;
    }
    have = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (have > max) {
        rollup_err(err, errlen,
                   "downstream %s would hold %ld %s, more than %ld (setting %s); nothing stored",
                   reporter, have, what, max, key);
        return ROLLUP_FULL;
    }
    return ROLLUP_OK;
}

/* End of a store: commit on ROLLUP_OK, else roll back. */
static enum rollup_result rollup_finish(PGconn *db, enum rollup_result rc)
{
    if (rc == ROLLUP_OK && db_commit(db) < 0)
        rc = ROLLUP_DB_ERROR;
    if (rc != ROLLUP_OK)
        db_rollback(db);
    return rc;
}

/*
 * A rebuild: server id (new) reports the name of another server old of the same parent that
 * the reporter may replace (one of its branch, or a direct downstream when id is the reporter;
 * a direct one only from the address it last called from, or when it has been silent for a
 * day, so a stranger cannot take over a live branch by naming it).
 * The new id takes over the old one's descendants and computers; the old rows go.
 */
static int rollup_rebuild(PGconn *db, const char *self_id, const char *reporter,
                          const struct rollup_server *s, const char *parent)
{
    const char *p[5] = {s->id, s->name, parent, reporter, self_id};
    PGresult *r = db_exec(db,
                          "SELECT server_id::text, server_id = reporter_id FROM rollup_server"
                          " WHERE lower(name) = lower($2) AND parent_id = $3::uuid"
                          " AND server_id <> $1::uuid AND (reporter_id = $4::uuid"
                          " OR ($1::uuid = $4::uuid AND $3::uuid = $5::uuid"
                          " AND server_id = reporter_id AND NOT EXISTS (SELECT 1 FROM"
                          " downstream_server o, downstream_server c WHERE o.account_guid ="
                          " rollup_server.server_id AND c.account_guid = $1::uuid AND"
                          " o.address IS DISTINCT FROM c.address AND o.last_contact > now() -"
                          " interval '1 day'))) AND NOT EXISTS (SELECT 1 FROM rollup_server n"
                          " WHERE n.server_id = $1::uuid)",
                          5, p);
    int i, rc = 0;

    if (r == NULL)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *q[2] = {PQgetvalue(r, i, 0), s->id};
        int direct = strcmp(PQgetvalue(r, i, 1), "t") == 0;

        log_info("rollup: server %s (%s) replaces %s: same name under the same parent", s->id,
                 s->name, q[0]);
        if (db_cmd(db, "UPDATE rollup_server SET parent_id = $2::uuid WHERE parent_id = $1::uuid",
                   2, q) < 0 ||
            db_cmd(db, "UPDATE rollup_computer SET server_id = $2::uuid WHERE server_id = $1::uuid",
                   2, q) < 0 ||
            db_cmd(db, "UPDATE rollup_activity SET server_id = $2::uuid WHERE server_id = $1::uuid",
                   2, q) < 0 ||
            (direct && (db_cmd(db,
                               "UPDATE rollup_server SET reporter_id = $2::uuid"
                               " WHERE reporter_id = $1::uuid",
                               2, q) < 0 ||
                        db_cmd(db,
                               "UPDATE rollup_computer SET reporter_id = $2::uuid"
                               " WHERE reporter_id = $1::uuid",
                               2, q) < 0 ||
                        db_cmd(db,
                               "UPDATE rollup_activity SET reporter_id = $2::uuid"
                               " WHERE reporter_id = $1::uuid",
                               2, q) < 0 ||
                        db_cmd(db, "DELETE FROM downstream_server WHERE account_guid = $1::uuid", 1,
                               q) < 0)) ||
            db_cmd(db, "DELETE FROM rollup_server WHERE server_id = $1::uuid", 1, q) < 0)
            rc = -1;
    }
    PQclear(r);
    return rc;
}

/* The checks of one DownstreamServerRollupInfo before it is stored; parent gets the resolved
 * parent id. */
static enum rollup_result rollup_server_check(PGconn *db, const char *self_id, const char *reporter,
                                              const struct rollup_server *s, char parent[37],
                                              long max_age, char *err, size_t errlen)
{
    char age[24];
    int v;

    if (strcmp(s->id, self_id) == 0 || strcmp(s->id, "00000000-0000-0000-0000-000000000000") == 0) {
        rollup_err(err, errlen, "ServerId %s: this server's own or the all-zero id", s->id);
        return ROLLUP_REFUSED;
    }
    if (s->parent[0] == '\0' || strcmp(s->parent, self_id) == 0) {
        if (strcmp(s->id, reporter) != 0) {
            rollup_err(err, errlen,
                       "ServerId %s names this server as its parent, but the cookie is of %s: a "
                       "downstream reports itself and its own descendants only",
                       s->id, reporter);
            return ROLLUP_REFUSED;
        }
        str_copy_cut(parent, 37, self_id);
        return ROLLUP_OK;
    }
    if (strcmp(s->id, reporter) == 0) {
        rollup_err(err, errlen, "ServerId %s is the caller: its ParentServerId must be all-zero",
                   s->id);
        return ROLLUP_REFUSED;
    }
    str_copy_cut(parent, 37, s->parent);
    v = rollup_in_branch(db, reporter, parent);
    if (v < 0)
        return ROLLUP_DB_ERROR;
    if (v == 0) {
        rollup_err(err, errlen,
                   "ParentServerId %s of server %s is not %s nor one of its descendants (report "
                   "parents before their children)",
                   parent, s->id, reporter);
        return ROLLUP_UNKNOWN_PARENT;
    }
    if (snprintf(age, sizeof(age), "%ld", max_age) >= (int)sizeof(age))
        return ROLLUP_DB_ERROR;
    {
        /* another branch's (fresh) row, a direct downstream of this server, or a loop */
        const char *p[3] = {s->id, reporter, age};

        v = db_exec_true(db,
                         "SELECT EXISTS (SELECT 1 FROM rollup_server WHERE server_id = $1::uuid"
                         " AND reporter_id <> $2::uuid AND received_at > now() - $3::int"
                         " * interval '1 day') OR EXISTS (SELECT 1 FROM downstream_server WHERE"
                         " account_guid = $1::uuid AND last_contact > now() - $3::int"
                         " * interval '1 day')",
                         3, p);
        if (v < 0)
            return ROLLUP_DB_ERROR;
        if (v > 0) {
            rollup_err(err, errlen,
                       "ServerId %s belongs to another branch of this server; %s cannot report "
                       "it",
                       s->id, reporter);
            return ROLLUP_REFUSED;
        }
        const char *q[3] = {s->id, reporter, parent};

        v = db_exec_true(db,
                         "WITH RECURSIVE up(id, depth) AS (SELECT $3::uuid, 0 UNION ALL SELECT"
                         " s.parent_id, up.depth + 1 FROM rollup_server s JOIN up ON s.server_id"
                         " = up.id WHERE up.id <> $2::uuid AND up.depth < 64)"
                         " SELECT bool_or(id = $1::uuid) FROM up",
                         3, q);
        if (v < 0)
            return ROLLUP_DB_ERROR;
        if (v > 0) {
            rollup_err(err, errlen, "server %s would be its own ancestor (ParentServerId %s)",
                       s->id, parent);
            return ROLLUP_REFUSED;
        }
    }
    return ROLLUP_OK;
}

/* Add the client activity a[0..n-1] of server id (reporter's branch) to its counts. 0, or -1. */
static int rollup_activity_add(PGconn *db, const char *reporter, const char *id,
                               const struct rollup_activity *a, size_t n)
{
    struct buf u, os, ok, bad;
    size_t k;
    int rc;

    if (n == 0)
        return 0;
    buf_init(&u, n * 40 + 4);
    buf_init(&os, n * (2 * sizeof(a->os) + 4) + 4);
    buf_init(&ok, n * 24 + 4);
    buf_init(&bad, n * 24 + 4);
    buf_add_str(&u, "{");
    buf_add_str(&os, "{");
    buf_add_str(&ok, "{");
    buf_add_str(&bad, "{");
    for (k = 0; k < n; k++) {
        rollup_array_add(&u, a[k].update_id, k);
        rollup_array_add(&os, a[k].os, k);
        buf_printf(&ok, "%s%ld", k > 0 ? "," : "", a[k].installs);
        buf_printf(&bad, "%s%ld", k > 0 ? "," : "", a[k].failures);
    }
    buf_add_str(&u, "}");
    buf_add_str(&os, "}");
    buf_add_str(&ok, "}");
    buf_add_str(&bad, "}");
    {
        const char *p[6] = {id, reporter, buf_str(&u), buf_str(&os), buf_str(&ok), buf_str(&bad)};

        rc = db_cmd(db,
                    "INSERT INTO rollup_activity AS o (server_id, reporter_id, update_id, os,"
                    " installs, failures) SELECT $1::uuid, $2::uuid, x.u::uuid, x.os, sum(x.i),"
                    " sum(x.f) FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[])"
                    " AS x(u, os, i, f) GROUP BY x.u, x.os ON CONFLICT (server_id, update_id, os)"
                    " DO UPDATE SET installs = o.installs + excluded.installs, failures ="
                    " o.failures + excluded.failures",
                    6, p);
    }
    buf_free(&u);
    buf_free(&os);
    buf_free(&ok);
    buf_free(&bad);
    return rc;
}

enum rollup_result rollup_servers_store(PGconn *db, const char *self_id, const char *reporter,
                                        const struct rollup_server *s, size_t n,
                                        const struct rollup_activity *act, const char *client_time,
                                        char *err, size_t errlen)
{
    enum rollup_result rc = ROLLUP_OK;
    long max_age = rollup_setting(db, "rollup-computer-max-age-days", 30);
    char skew[32];
    size_t i;

    err[0] = '\0';
    if (db_begin(db) < 0)
        return ROLLUP_DB_ERROR;
    if (rollup_skew(db, client_time, skew) < 0)
        return rollup_finish(db, ROLLUP_DB_ERROR);
    /* a rebuilt caller takes over its old self first, so its branch is its own */
    for (i = 0; i < n && rc == ROLLUP_OK; i++)
        if (s[i].parent[0] == '\0' && strcmp(s[i].id, reporter) == 0 &&
            rollup_rebuild(db, self_id, reporter, &s[i], self_id) < 0)
            rc = ROLLUP_DB_ERROR;
    for (i = 0; i < n && rc == ROLLUP_OK; i++) {
        char parent[37], sum[ROLLUP_SUMMARY_COUNT * 12 + 4];
        struct buf b;
        size_t k;
        int applied;

        rc = rollup_server_check(db, self_id, reporter, &s[i], parent, max_age, err, errlen);
        if (rc != ROLLUP_OK)
            break;
        if (strcmp(s[i].id, reporter) != 0 &&
            rollup_rebuild(db, self_id, reporter, &s[i], parent) < 0) {
            rc = ROLLUP_DB_ERROR;
            break;
        }
        buf_init(&b, sizeof(sum));
        buf_add_str(&b, "{");
        for (k = 0; k < ROLLUP_SUMMARY_COUNT; k++)
            buf_printf(&b, "%s%ld", k > 0 ? "," : "", s[i].summary[k]);
        buf_add_str(&b, "}");
        k = str_copy(sum, sizeof(sum), buf_str(&b)) == 0;
        buf_free(&b);
        if (!k) {
            rc = ROLLUP_DB_ERROR;
            break;
        }
        {
            const char *p[10] = {s[i].id,
                                 parent,
                                 reporter,
                                 s[i].name,
                                 s[i].version,
                                 s[i].is_replica ? "t" : "f",
                                 s[i].last_sync,
                                 s[i].last_rollup,
                                 sum,
                                 skew};

            applied = db_exec_true(
                db,
                "INSERT INTO rollup_server (server_id, parent_id, reporter_id, name,"
                " version, is_replica, last_sync, last_rollup, summary) VALUES ($1::uuid,"
                " $2::uuid, $3::uuid, $4, nullif($5, ''), $6::boolean,"
                " rollup_ts($7, $10::float8), rollup_ts($8, $10::float8), $9::int[])"
                " ON CONFLICT (server_id) DO UPDATE SET parent_id = excluded.parent_id,"
                " reporter_id = excluded.reporter_id, name = excluded.name,"
                " version = excluded.version, is_replica = excluded.is_replica,"
                " last_sync = excluded.last_sync, last_rollup = excluded.last_rollup,"
                " summary = excluded.summary, received_at = now()"
                " WHERE coalesce(rollup_server.last_rollup, '-infinity')"
                " <= coalesce(excluded.last_rollup, '-infinity')"
                " OR rollup_server.reporter_id <> excluded.reporter_id RETURNING true",
                10, p);
            if (applied < 0 ||
                (applied > 0 && rollup_activity_add(db, reporter, s[i].id,
                                                    act + s[i].first_activity, s[i].nactivity) < 0))
                rc = ROLLUP_DB_ERROR;
        }
    }
    if (rc == ROLLUP_OK)
        rc = rollup_bound(db, reporter,
                          "SELECT count(*) FROM rollup_server WHERE reporter_id = $1::uuid",
                          "rollup-max-servers", 1000, "servers", err, errlen);
    if (rc == ROLLUP_OK) {
        const char *p[1] = {reporter};
        PGresult *r =
            db_exec(db, "SELECT count(*) FROM rollup_activity WHERE reporter_id = $1::uuid", 1, p);
        long have = r != NULL && PQntuples(r) == 1 ? rollup_col(r, 0, 0) : -1;

        PQclear(r);
        if (have < 0)
            rc = ROLLUP_DB_ERROR;
        else if (have > ROLLUP_MAX_ACTIVITY_ROWS) {
            rollup_err(err, errlen,
                       "downstream %s would hold %ld client activity rows, more than %d; "
                       "nothing stored",
                       reporter, have, ROLLUP_MAX_ACTIVITY_ROWS);
            rc = ROLLUP_FULL;
        }
    }
    return rollup_finish(db, rc);
}

/* Drop the computers (of every branch: a downstream that stopped reporting too) whose last
 * contact with their server is older than the setting rollup-computer-max-age-days. 0, or -1. */
static int rollup_age_out(PGconn *db)
{
    char age[24];
    const char *p[1] = {age};

    if (snprintf(age, sizeof(age), "%ld", rollup_setting(db, "rollup-computer-max-age-days", 30)) >=
        (int)sizeof(age))
        return -1;
    return db_cmd(db,
                  "DELETE FROM rollup_computer WHERE coalesce(last_sync, received_at) < now() -"
                  " $1::int * interval '1 day'",
                  1, p);
}

enum rollup_result rollup_computers_store(PGconn *db, const char *reporter,
                                          const struct rollup_computer *c, size_t n,
                                          const char *client_time, unsigned char *new_parent,
                                          char *err, size_t errlen)
{
    enum rollup_result rc = ROLLUP_OK;
    char skew[32], checked[37] = "";
    size_t i;

    err[0] = '\0';
    memset(new_parent, 0, n);
    if (db_begin(db) < 0)
        return ROLLUP_DB_ERROR;
    if (rollup_skew(db, client_time, skew) < 0 || rollup_age_out(db) < 0)
        return rollup_finish(db, ROLLUP_DB_ERROR);
    for (i = 0; i < n && rc == ROLLUP_OK; i++) {
        char res[4];
        PGresult *r;

        if (strcmp(checked, c[i].parent) != 0) {
            int v = rollup_in_branch(db, reporter, c[i].parent);

            if (v < 0) {
                rc = ROLLUP_DB_ERROR;
                break;
            }
            if (v == 0) {
                rollup_err(err, errlen,
                           "ParentServerId %s of computer %s is not %s nor one of its "
                           "descendants (RollupDownstreamServers first)",
                           c[i].parent, c[i].id, reporter);
                rc = ROLLUP_UNKNOWN_PARENT;
                break;
            }
            str_copy_cut(checked, sizeof(checked), c[i].parent);
        }
        if (snprintf(res, sizeof(res), "%d", c[i].last_sync_result) >= (int)sizeof(res)) {
            rc = ROLLUP_DB_ERROR;
            break;
        }
        {
            /* $5-$12 the computer_info fields, $13 the address */
            const char *p[19] = {c[i].id,
                                 c[i].parent,
                                 reporter,
                                 c[i].has_details ? "t" : "f",
                                 [12] = c[i].address,
                                 c[i].last_sync,
                                 res,
                                 c[i].last_reboot,
                                 c[i].last_status,
                                 c[i].last_inventory,
                                 skew};

            computer_info_params(&c[i].info, p + 4);

            r = db_exec(
                db,
                "WITH old AS (SELECT server_id FROM rollup_computer WHERE computer_id = $1)"
                " INSERT INTO rollup_computer AS c (computer_id, server_id, reporter_id, name,"
                " address, os_version, os_description, os_locale, architecture, manufacturer,"
                " model, client_version, last_sync, last_sync_result, last_reboot, last_status,"
                " last_inventory) VALUES ($1, $2::uuid, $3::uuid, nullif($5, ''), nullif($13, ''),"
                " nullif($6, ''), nullif($7, ''), nullif($8, ''), nullif($9, ''),"
                " nullif($10, ''), nullif($11, ''), nullif($12, ''), rollup_ts($14, $19::float8),"
                " $15::smallint, rollup_ts($16, $19::float8), rollup_ts($17, $19::float8),"
                " rollup_ts($18, $19::float8))"
                " ON CONFLICT (computer_id) DO UPDATE SET server_id = excluded.server_id,"
                " name = CASE WHEN $4::boolean THEN excluded.name ELSE c.name END,"
                " address = CASE WHEN $4::boolean THEN excluded.address ELSE c.address END,"
                " os_version = CASE WHEN $4::boolean THEN excluded.os_version"
                " ELSE c.os_version END, os_description = CASE WHEN $4::boolean THEN"
                " excluded.os_description ELSE c.os_description END, os_locale = CASE WHEN"
                " $4::boolean THEN excluded.os_locale ELSE c.os_locale END, architecture ="
                " CASE WHEN $4::boolean THEN excluded.architecture ELSE c.architecture END,"
                " manufacturer = CASE WHEN $4::boolean THEN excluded.manufacturer"
                " ELSE c.manufacturer END, model = CASE WHEN $4::boolean THEN excluded.model"
                " ELSE c.model END, client_version = CASE WHEN $4::boolean THEN"
                " excluded.client_version ELSE c.client_version END,"
                " last_sync = excluded.last_sync, last_sync_result = excluded.last_sync_result,"
                " last_reboot = excluded.last_reboot, last_status = excluded.last_status,"
                " last_inventory = excluded.last_inventory, received_at = now()"
                " WHERE c.reporter_id = excluded.reporter_id AND coalesce(c.last_sync,"
                " '-infinity') <= coalesce(excluded.last_sync, '-infinity')"
                " RETURNING (SELECT server_id FROM old) IS DISTINCT FROM $2::uuid",
                19, p);
        }
        if (r == NULL) {
            rc = ROLLUP_DB_ERROR;
            break;
        }
        if (PQntuples(r) == 1 && !c[i].has_details && strcmp(PQgetvalue(r, 0, 0), "t") == 0)
            new_parent[i] = 1;
        PQclear(r);
    }
    if (rc == ROLLUP_OK)
        rc = rollup_bound(db, reporter,
                          "SELECT count(*) FROM rollup_computer WHERE reporter_id = $1::uuid",
                          "rollup-max-computers", 100000, "computers", err, errlen);
    if (rc != ROLLUP_OK)
        memset(new_parent, 0, n);
    return rollup_finish(db, rc);
}

/* The parent check of GetOutOfSyncComputers and RollupComputerStatus: 1 in the branch, 0
 * unknown to this server, -2 another branch's (err set), -1 error. */
static int rollup_parent(PGconn *db, const char *reporter, const char *parent, char *err,
                         size_t errlen)
{
    const char *p[1] = {parent};
    int v = rollup_in_branch(db, reporter, parent);

    if (v != 0)
        return v;
    v = db_exec_true(db,
                     "SELECT EXISTS (SELECT 1 FROM rollup_server WHERE server_id = $1::uuid) OR"
                     " EXISTS (SELECT 1 FROM downstream_server WHERE account_guid = $1::uuid)",
                     1, p);
    if (v > 0) {
        rollup_err(err, errlen, "parentServerId %s belongs to another branch than %s's", parent,
                   reporter);
        return -2;
    }
    return v;
}

enum rollup_result rollup_out_of_sync(PGconn *db, const char *reporter, const char *parent,
                                      const char (*ids)[ROLLUP_MAX_ID + 1], const long *numbers,
                                      size_t n, unsigned char *out, char *err, size_t errlen)
{
    struct buf a, nums;
    PGresult *r = NULL;
    int v, i;
    enum rollup_result rc = ROLLUP_DB_ERROR;
    size_t k;

    err[0] = '\0';
    memset(out, 0, n);
    v = rollup_parent(db, reporter, parent, err, errlen);
    if (v < 0)
        return v == -2 ? ROLLUP_REFUSED : ROLLUP_DB_ERROR;
    if (v == 0 || n == 0)
        return ROLLUP_OK;
    buf_init(&a, (size_t)n * (2 * ROLLUP_MAX_ID + 4) + 4);
    buf_init(&nums, (size_t)n * 12 + 4);
    buf_add_str(&a, "{");
    buf_add_str(&nums, "{");
    for (k = 0; k < n; k++) {
        rollup_array_add(&a, ids[k], k);
        buf_printf(&nums, "%s%ld", k > 0 ? "," : "", numbers[k]);
    }
    buf_add_str(&a, "}");
    buf_add_str(&nums, "}");
    {
        const char *p[4] = {reporter, parent, buf_str(&a), buf_str(&nums)};

        r = db_exec(db,
                    "WITH RECURSIVE sub(id) AS (SELECT $2::uuid UNION SELECT s.server_id FROM"
                    " rollup_server s JOIN sub ON s.parent_id = sub.id WHERE s.reporter_id ="
                    " $1::uuid) SELECT x.ord FROM unnest($3::text[], $4::int[]) WITH ORDINALITY"
                    " AS x(cid, num, ord) JOIN rollup_computer c ON c.computer_id = x.cid"
                    " WHERE c.reporter_id = $1::uuid AND c.server_id IN (SELECT id FROM sub)"
                    " AND coalesce(c.rollup_number, 0) <> x.num",
                    4, p);
    }
    if (r != NULL) {
        for (i = 0; i < PQntuples(r); i++) {
            long ord = strtol(PQgetvalue(r, i, 0), NULL, 10);

            if (ord >= 1 && (size_t)ord <= n)
                out[ord - 1] = 1;
        }
        rc = ROLLUP_OK;
    }
    PQclear(r);
    buf_free(&a);
    buf_free(&nums);
    return rc;
}

/* Store the statuses st[0..n-1] of computer id (known to be the reporter's). 0, or -1. */
static int rollup_status_rows(PGconn *db, const char *id, const struct rollup_status *st, size_t n,
                              const char *skew)
{
    struct buf u, s, t;
    size_t k;
    int rc;

    if (n == 0)
        return 0;
    buf_init(&u, n * 40 + 4);
    buf_init(&s, n * 12 + 4);
    buf_init(&t, n * 44 + 4);
    buf_add_str(&u, "{");
    buf_add_str(&s, "{");
    buf_add_str(&t, "{");
    for (k = 0; k < n; k++) {
        rollup_array_add(&u, st[k].update_id, k);
        buf_printf(&s, "%s%d", k > 0 ? "," : "", st[k].state);
        rollup_array_add(&t, st[k].last_change, k);
    }
    buf_add_str(&u, "}");
    buf_add_str(&s, "}");
    buf_add_str(&t, "}");
    {
        const char *p[5] = {id, buf_str(&u), buf_str(&s), buf_str(&t), skew};

        rc = db_cmd(db,
                    "INSERT INTO rollup_status AS o (computer_id, update_id, state, last_change)"
                    " SELECT DISTINCT ON (x.u) $1, x.u::uuid, x.s::smallint, rollup_ts(x.t,"
                    " $5::float8) FROM unnest($2::text[], $3::int[], $4::text[]) AS x(u, s, t)"
                    " ORDER BY x.u, rollup_ts(x.t, 0) DESC NULLS LAST"
                    " ON CONFLICT (computer_id, update_id) DO UPDATE SET state = excluded.state,"
                    " last_change = excluded.last_change WHERE coalesce(o.last_change,"
                    " '-infinity') <= coalesce(excluded.last_change, 'infinity')",
                    5, p);
    }
    buf_free(&u);
    buf_free(&s);
    buf_free(&t);
    return rc;
}

enum rollup_result rollup_status_store(PGconn *db, const char *reporter, const char *parent,
                                       const struct rollup_computer_status *c, size_t n,
                                       const struct rollup_status *st, const char *client_time,
                                       char *err, size_t errlen)
{
    enum rollup_result rc = ROLLUP_OK;
    char skew[32];
    size_t i;
    int v;

    err[0] = '\0';
    v = rollup_parent(db, reporter, parent, err, errlen);
    if (v < 0)
        return v == -2 ? ROLLUP_REFUSED : ROLLUP_DB_ERROR;
    if (v == 0) {
        rollup_err(err, errlen, "parentServerId %s is unknown here (RollupDownstreamServers first)",
                   parent);
        return ROLLUP_UNKNOWN_PARENT;
    }
    if (db_begin(db) < 0)
        return ROLLUP_DB_ERROR;
    if (rollup_skew(db, client_time, skew) < 0)
        return rollup_finish(db, ROLLUP_DB_ERROR);
    for (i = 0; i < n && rc == ROLLUP_OK; i++) {
        char num[24];
        const char *p[5] = {c[i].id, reporter, num, c[i].effective_detection, skew};
        int known;

        if (snprintf(num, sizeof(num), "%ld", c[i].rollup_number) >= (int)sizeof(num)) {
            rc = ROLLUP_DB_ERROR;
            break;
        }
        known = db_exec_true(db,
                             "UPDATE rollup_computer SET rollup_number = $3::int,"
                             " effective_detection = rollup_ts($4, $5::float8), received_at ="
                             " now() WHERE computer_id = $1 AND reporter_id = $2::uuid"
                             " RETURNING true",
                             5, p);
        if (known < 0) {
            rc = ROLLUP_DB_ERROR;
            break;
        }
        if (known == 0)
            continue;
        if ((c[i].full &&
             db_cmd(db, "DELETE FROM rollup_status WHERE computer_id = $1", 1, p) < 0) ||
            rollup_status_rows(db, c[i].id, st + c[i].first, c[i].n, skew) < 0 ||
            db_cmd(db,
                   "UPDATE rollup_computer SET status_count = (SELECT count(*) FROM"
                   " rollup_status WHERE computer_id = $1) WHERE computer_id = $1",
                   1, p) < 0)
            rc = ROLLUP_DB_ERROR;
    }
    if (rc == ROLLUP_OK)
        rc = rollup_bound(db, reporter,
                          "SELECT coalesce(sum(status_count), 0) FROM rollup_computer"
                          " WHERE reporter_id = $1::uuid",
                          "rollup-max-statuses", 10000000, "update statuses", err, errlen);
    return rollup_finish(db, rc);
}

/* A timestamptz column as UTC "YYYY-MM-DDTHH:MI:SSZ" text, "" for NULL. */
#define ROLLUP_TS(col)                                                                             \
    "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"

/* Column col of row into out (cut to outlen - 1 bytes when longer: never for bounded rows). */
static void rollup_get(const PGresult *r, int row, int col, char *out, size_t outlen)
{
    if (str_copy(out, outlen, PQgetvalue(r, row, col)) < 0)
        out[0] = '\0';
}

int rollup_server_list(PGconn *db, int (*cb)(void *arg, const struct rollup_server_row *row),
                       void *arg)
{
    static const char sql[] =
        "SELECT s.server_id::text, s.parent_id::text, s.reporter_id::text, s.name,"
        " coalesce(s.version, ''), s.is_replica, " ROLLUP_TS("s.last_sync") ", " ROLLUP_TS(
            "s.last_rollup") ", " ROLLUP_TS("s.received_at") ","
                                                             " array_to_string(s.summary, ','),"
                                                             " (SELECT count(*) FROM "
                                                             "rollup_computer c WHERE c.server_id "
                                                             "= s.server_id),"
                                                             " (SELECT coalesce(sum(a.installs), "
                                                             "0) || ',' || "
                                                             "coalesce(sum(a.failures), 0)"
                                                             " FROM rollup_activity a WHERE "
                                                             "a.server_id = s.server_id)"
                                                             " FROM rollup_server s ORDER BY "
                                                             "lower(s.name), s.server_id";
    PGresult *r = db_exec(db, sql, 0, NULL);
    int i, rc = 0;

    if (r == NULL)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct rollup_server_row s;
        const char *sum = PQgetvalue(r, i, 9);
        size_t k;

        memset(&s, 0, sizeof(s));
        rollup_get(r, i, 0, s.id, sizeof(s.id));
        rollup_get(r, i, 1, s.parent, sizeof(s.parent));
        rollup_get(r, i, 2, s.reporter, sizeof(s.reporter));
        rollup_get(r, i, 3, s.name, sizeof(s.name));
        rollup_get(r, i, 4, s.version, sizeof(s.version));
        s.is_replica = strcmp(PQgetvalue(r, i, 5), "t") == 0;
        rollup_get(r, i, 6, s.last_sync, sizeof(s.last_sync));
        rollup_get(r, i, 7, s.last_rollup, sizeof(s.last_rollup));
        rollup_get(r, i, 8, s.received, sizeof(s.received));
        for (k = 0; k < ROLLUP_SUMMARY_COUNT && *sum != '\0'; k++) {
            char *end;

            s.summary[k] = strtol(sum, &end, 10);
            sum = *end == ',' ? end + 1 : end;
        }
        s.computers = rollup_col(r, i, 10);
        if (sscanf(PQgetvalue(r, i, 11), "%lld,%lld", &s.installs, &s.failures) != 2)
            s.installs = s.failures = 0;
        rc = cb(arg, &s);
    }
    PQclear(r);
    return rc < 0 ? -1 : 0;
}

int rollup_computer_list(PGconn *db, const char *id, long limit, long offset,
                         int (*cb)(void *arg, const struct rollup_computer_row *row), void *arg)
{
    char lim[DB_PARAM_INT_LEN], off[DB_PARAM_INT_LEN];
    const char *p[3] = {id, limit >= 0 ? db_param_int(lim, limit) : NULL,
                        db_param_int(off, offset > 0 ? offset : 0)};
    /* the page first, then the status counts of its computers only */
    static const char sql[] =
        "SELECT c.computer_id, coalesce(c.name, ''), coalesce(c.address, ''),"
        " coalesce(c.os_version, ''), coalesce(c.os_description, ''),"
        " coalesce(c.client_version, ''), " ROLLUP_TS("c.last_sync") ", " ROLLUP_TS(
            "c.last_status") ", " ROLLUP_TS("c.received_at") ", c.server_id::text,"
                                                             " coalesce(s.name, ''), u.needed,"
                                                             " u.downloaded, u.installed, u.failed"
                                                             " FROM (SELECT * FROM rollup_computer"
                                                             " WHERE $1::text IS NULL OR"
                                                             " computer_id = $1 ORDER BY"
                                                             " lower(coalesce(name, computer_id)),"
                                                             " computer_id LIMIT $2::bigint"
                                                             " OFFSET $3::bigint) c"
                                                             " LEFT JOIN rollup_server s ON"
                                                             " s.server_id = c.server_id"
                                                             " CROSS JOIN LATERAL (SELECT"
                                                             " count(*) FILTER (WHERE u.state = 2)"
                                                             " AS needed, count(*) FILTER (WHERE"
                                                             " u.state = 3) AS downloaded,"
                                                             " count(*) FILTER (WHERE u.state IN"
                                                             " (4, 6)) AS installed, count(*)"
                                                             " FILTER (WHERE u.state = 5) AS"
                                                             " failed FROM rollup_status u WHERE"
                                                             " u.computer_id = c.computer_id) u"
                                                             " ORDER BY lower(coalesce(c.name,"
                                                             " c.computer_id)), c.computer_id";
    PGresult *r = db_exec(db, sql, 3, p);
    int i, rc = 0;

    if (r == NULL)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct rollup_computer_row c;

        memset(&c, 0, sizeof(c));
        rollup_get(r, i, 0, c.id, sizeof(c.id));
        rollup_get(r, i, 1, c.name, sizeof(c.name));
        rollup_get(r, i, 2, c.address, sizeof(c.address));
        rollup_get(r, i, 3, c.os_version, sizeof(c.os_version));
        rollup_get(r, i, 4, c.os_description, sizeof(c.os_description));
        rollup_get(r, i, 5, c.client_version, sizeof(c.client_version));
        rollup_get(r, i, 6, c.last_sync, sizeof(c.last_sync));
        rollup_get(r, i, 7, c.last_status, sizeof(c.last_status));
        rollup_get(r, i, 8, c.received, sizeof(c.received));
        rollup_get(r, i, 9, c.server_id, sizeof(c.server_id));
        rollup_get(r, i, 10, c.server, sizeof(c.server));
        c.needed = rollup_col(r, i, 11);
        c.downloaded = rollup_col(r, i, 12);
        c.installed = rollup_col(r, i, 13);
        c.failed = rollup_col(r, i, 14);
        rc = cb(arg, &c);
    }
    PQclear(r);
    return rc < 0 ? -1 : 0;
}

int rollup_report(PGconn *db, const char *update, long *computers,
                  int (*cb)(void *arg, const struct rollup_report_row *row), void *arg)
{
    const char *p[1] = {update};
    PGresult *r = db_exec(db, "SELECT count(*) FROM rollup_computer", 0, NULL);
    int i, rc = 0;

    if (r == NULL || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    *computers = rollup_col(r, 0, 0);
    PQclear(r);
    r = db_exec(
        db,
        "WITH s AS (SELECT update_id, count(*) AS n, count(*) FILTER (WHERE state = 2)"
        " AS need, count(*) FILTER (WHERE state = 3) AS dl, count(*) FILTER (WHERE"
        " state IN (4, 6)) AS inst, count(*) FILTER (WHERE state = 5) AS failed,"
        " count(*) FILTER (WHERE state IN (0, 1)) AS na FROM rollup_status WHERE $1::text IS"
        " NULL OR update_id::text = lower($1) OR update_id IN (SELECT update_id FROM"
        " revision WHERE kb_article_id = regexp_replace($1, '^[Kk][Bb]', '')) GROUP BY"
        " update_id) SELECT s.update_id::text, coalesce(v.title, ''),"
        " coalesce(v.kb_article_id, ''), s.n, s.need, s.dl, s.inst, s.failed, s.na FROM"
        " s LEFT JOIN LATERAL (SELECT title, kb_article_id FROM revision x WHERE"
        " x.update_id = s.update_id ORDER BY x.revision_number DESC LIMIT 1) v ON true"
        " ORDER BY lower(coalesce(v.title, '')), s.update_id",
        1, p);
    if (r == NULL)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct rollup_report_row u;

        memset(&u, 0, sizeof(u));
        rollup_get(r, i, 0, u.update_id, sizeof(u.update_id));
        rollup_get(r, i, 1, u.title, sizeof(u.title));
        rollup_get(r, i, 2, u.kb, sizeof(u.kb));
        u.computers = rollup_col(r, i, 3);
        u.needed = rollup_col(r, i, 4);
        u.downloaded = rollup_col(r, i, 5);
        u.installed = rollup_col(r, i, 6);
        u.failed = rollup_col(r, i, 7);
        u.not_applicable = rollup_col(r, i, 8);
        rc = cb(arg, &u);
    }
    PQclear(r);
    return rc < 0 ? -1 : 0;
}

long rollup_computer_count(PGconn *db)
{
    PGresult *r = db_exec(db, "SELECT count(*) FROM rollup_computer", 0, NULL);
    long n = r != NULL ? rollup_col(r, 0, 0) : -1;

    PQclear(r);
    return n;
}

int rollup_computer_find(PGconn *db, const char *name_or_id, char id[ROLLUP_MAX_ID + 1])
{
    const char *p[1] = {name_or_id};
    PGresult *r = db_exec(db,
                          "SELECT computer_id FROM rollup_computer WHERE computer_id = $1 UNION ALL"
                          " (SELECT computer_id FROM rollup_computer WHERE lower(name) = lower($1)"
                          " AND NOT EXISTS (SELECT 1 FROM rollup_computer WHERE computer_id = $1)"
                          " LIMIT 2)",
                          1, p);
    int rc;

    if (r == NULL)
        return -1;
    rc = PQntuples(r) == 0 ? 0 : PQntuples(r) == 1 ? 1 : 2;
    if (rc == 1)
        rollup_get(r, 0, 0, id, ROLLUP_MAX_ID + 1);
    PQclear(r);
    return rc;
}

int rollup_computer_statuses(PGconn *db, const char *id,
                             int (*cb)(void *arg, const struct rollup_update_status *st), void *arg)
{
    const char *p[1] = {id};
    PGresult *r = db_exec(
        db,
        "SELECT u.update_id::text, coalesce(v.title, ''), CASE u.state WHEN 0 THEN 'not"
        " applicable' WHEN 1 THEN 'not applicable' WHEN 2 THEN 'needed' WHEN 3 THEN"
        " 'downloaded' WHEN 4 THEN 'installed' WHEN 5 THEN 'failed' WHEN 6 THEN 'installed,"
        " reboot' ELSE 'unknown' END, " ROLLUP_TS(
            "u.last_change") " FROM rollup_status u LEFT"
                             " JOIN LATERAL (SELECT title FROM revision x WHERE x.update_id = "
                             "u.update_id ORDER BY"
                             " x.revision_number DESC LIMIT 1) v ON true WHERE u.computer_id = $1"
                             " ORDER BY lower(coalesce(v.title, '')), u.update_id",
        1, p);
    int i, rc = 0;

    if (r == NULL)
        return -1;
    for (i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct rollup_update_status st;

        memset(&st, 0, sizeof(st));
        rollup_get(r, i, 0, st.update_id, sizeof(st.update_id));
        rollup_get(r, i, 1, st.title, sizeof(st.title));
        rollup_get(r, i, 2, st.status, sizeof(st.status));
        rollup_get(r, i, 3, st.time, sizeof(st.time));
        rc = cb(arg, &st);
    }
    PQclear(r);
    return rc < 0 ? -1 : 0;
}
