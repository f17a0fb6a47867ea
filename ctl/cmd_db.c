/*
 * wsusctl db migrate / status / stop / backup: the catalog database itself, without a running
 * wsusd. With [database] conninfo empty the catalog lives in the private PostgreSQL cluster
 * under state_dir (pgcluster.h): status shows it without starting it, stop stops it (refused
 * while wsusd uses it, unless --force), backup pg_dumps it. With a conninfo database, status
 * and backup work through libpq and pg_dump; stop is refused (wsusctl does not stop a shared
 * server).
 */
#include "adminapi.h"
#include "ctl.h"
#include "db.h"
#include "pgcluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MB(v) ((double)(v) / (1024.0 * 1024.0))

int cmd_db_migrate(struct ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return ctl_usage(c);
    ctl_db(c);
    if (c->json) {
        json_t *o = json_pack("{s:i}", "schema_version", db_schema_version(c->db));
        adminapi_print_json(o);
        json_decref(o);
    } else {
        printf("catalog schema at version %d\n", db_schema_version(c->db));
    }
    return 0;
}

static int is_private(const struct ctl *c)
{
    return c->cfg.conninfo[0] == '\0';
}

/* What the catalog database says about itself (o gets the fields; text lines when !json). */
static void catalog_facts(struct ctl *c, PGconn *db, json_t *o)
{
    int64_t size = db_size(db);
    long wsusd = db_count_sessions(db, "wsusd");
    int version = db_schema_version(db);

    json_object_set_new(o, "database", json_string(PQdb(db)));
    json_object_set_new(o, "database_bytes", json_integer((json_int_t)size));
    json_object_set_new(o, "schema_version", json_integer(version));
    json_object_set_new(o, "wsusd_connections", json_integer((json_int_t)wsusd));
    if (!c->json)
        printf("  catalog:  database %s, %.1f MB, schema version %d, %ld wsusd connection%s\n",
               PQdb(db), MB(size), version, wsusd, wsusd == 1 ? "" : "s");
}

int cmd_db_status(struct ctl *c, int argc, char **argv)
{
    json_t *o = json_object();
    char err[1024] = "state_dir path too long", ci[1200];
    PGconn *db = NULL;
    int rc = 0;

    (void)argv;
    if (argc != 0) {
        json_decref(o);
        return ctl_usage(c);
    }
    if (is_private(c)) {
        struct pgcluster_status st;
        if (pgcluster_status(c->cfg.state_dir, &st, err, sizeof(err)) < 0 ||
            pgcluster_conninfo(c->cfg.state_dir, ci, sizeof(ci)) < 0) {
            json_decref(o);
            return ctl_fail("%s", err);
        }
        json_object_set_new(o, "kind", json_string("private"));
        json_object_set_new(o, "exists", json_boolean(st.exists));
        json_object_set_new(o, "running", json_boolean(st.running));
        json_object_set_new(o, "pid", st.pid > 0 ? json_integer(st.pid) : json_null());
        json_object_set_new(o, "data_dir", json_string(st.data_dir));
        json_object_set_new(o, "data_bytes", json_integer((json_int_t)st.data_bytes));
        json_object_set_new(o, "socket_dir", json_string(st.socket_dir));
        json_object_set_new(o, "log_file", json_string(st.log_file));
        if (!c->json) {
            printf("database: private PostgreSQL cluster ([database] conninfo is empty)\n");
            if (!st.exists)
                printf("  state:    not created yet (wsusd or any wsusctl verb that needs the "
                       "catalog creates it)\n");
            else if (st.running)
                printf("  state:    running (pid %ld)\n", st.pid);
            else
                printf("  state:    stopped (wsusd, or a wsusctl verb that needs the catalog, "
                       "starts it)\n");
            printf("  data:     %s (%.1f MB on disk)\n", st.data_dir, MB(st.data_bytes));
            printf("  socket:   %s\n", st.socket_dir);
            printf("  log:      %s\n", st.log_file);
        }
        if (st.running && (db = db_connect(ci, "wsusctl", err, sizeof(err))) != NULL)
            catalog_facts(c, db, o);
    } else {
        json_object_set_new(o, "kind", json_string("conninfo"));
        db = db_connect(c->cfg.conninfo, "wsusctl", err, sizeof(err));
        json_object_set_new(o, "running", json_boolean(db != NULL));
        if (!c->json)
            printf("database: the PostgreSQL server of [database] conninfo\n");
        if (db == NULL) {
            json_object_set_new(o, "error", json_string(err));
            if (!c->json)
                printf("  state:    unreachable: %s\n", err);
            rc = 1;
        } else {
            json_object_set_new(o, "host", json_string(PQhost(db)));
            json_object_set_new(o, "port", json_string(PQport(db)));
            json_object_set_new(o, "user", json_string(PQuser(db)));
            json_object_set_new(o, "server_version", json_integer(PQserverVersion(db)));
            if (!c->json)
                printf("  state:    reachable (host %s, port %s, user %s, PostgreSQL %d.%d)\n",
                       PQhost(db), PQport(db), PQuser(db), PQserverVersion(db) / 10000,
                       PQserverVersion(db) % 10000);
            catalog_facts(c, db, o);
        }
    }
    if (c->json)
        adminapi_print_json(o);
    json_decref(o);
    db_close(db);
    return rc;
}

int cmd_db_stop(struct ctl *c, int argc, char **argv)
{
    struct pgcluster_status st;
    char err[1024] = "state_dir path too long", ci[1200];
    int force = 0, i;
    long wsusd = 0;
    PGconn *db;
    json_t *o;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else
            return ctl_usage(c);
    }
    if (!is_private(c))
        return ctl_fail("the catalog is in the PostgreSQL server of [database] conninfo, not in "
                        "a private cluster; wsusctl stops only its own cluster: stop that server "
                        "with its service (systemctl stop postgresql)");
    if (pgcluster_status(c->cfg.state_dir, &st, err, sizeof(err)) < 0 ||
        pgcluster_conninfo(c->cfg.state_dir, ci, sizeof(ci)) < 0)
        return ctl_fail("%s", err);
    if (st.running && (db = db_connect(ci, "wsusctl", err, sizeof(err))) != NULL) {
        wsusd = db_count_sessions(db, "wsusd");
        db_close(db);
    }
    if (st.running && wsusd > 0 && !force)
        return ctl_fail("wsusd is using the private PostgreSQL cluster in %s (%ld connection%s) "
                        "and would start it again when a request needs the catalog; stop wsusd "
                        "first (systemctl stop wsusd), or use --force",
                        st.data_dir, wsusd, wsusd == 1 ? "" : "s");
    if (st.running && pgcluster_stop(c->cfg.state_dir) < 0)
        return ctl_fail("pg_ctl stop of the private PostgreSQL cluster in %s failed; see %s",
                        st.data_dir, st.log_file);
    o = json_pack("{s:s, s:b, s:b}", "data_dir", st.data_dir, "was_running", st.running, "running",
                  0);
    if (c->json)
        adminapi_print_json(o);
    else if (!st.running)
        printf("the private PostgreSQL cluster in %s is not running\n", st.data_dir);
    else
        printf("stopped the private PostgreSQL cluster in %s%s\n", st.data_dir,
               wsusd > 0 ? "; the running wsusd starts it again when a request needs the catalog"
                         : "");
    json_decref(o);
    return 0;
}

int cmd_db_backup(struct ctl *c, int argc, char **argv)
{
    char err[2300], ci[1200], restore[8192];
    const char *conninfo = c->cfg.conninfo;
    struct stat sb;
    json_t *o;

    if (argc != 1 || argv[0][0] == '-')
        return ctl_usage(c);
    if (is_private(c)) {
        /* pg_dump needs it running: started as any verb that needs the catalog starts it */
        if (pgcluster_ensure(c->cfg.state_dir, ci, sizeof(ci), err, sizeof(err)) < 0)
            return ctl_fail("%s", err);
        conninfo = ci;
    }
    if (pgcluster_dump(conninfo, argv[0], restore, sizeof(restore), err, sizeof(err)) < 0)
        return ctl_fail("cannot back up the catalog to %s: %s", argv[0], err);
    if (stat(argv[0], &sb) < 0)
        sb.st_size = 0;
    o = json_pack("{s:s, s:I, s:s, s:s}", "file", argv[0], "bytes", (json_int_t)sb.st_size,
                  "format", "pg_dump custom", "restore", restore);
    if (c->json) {
        adminapi_print_json(o);
    } else {
        printf("backed up the catalog to %s (%lld bytes, pg_dump custom format)\n", argv[0],
               (long long)sb.st_size);
        printf("restore it (wsusd stopped) with:\n  %s\n", restore);
    }
    json_decref(o);
    return 0;
}
