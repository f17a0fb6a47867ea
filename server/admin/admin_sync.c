/*
 * admin_sync: "sync now", status and history for wsusctl (see admin_sync.h). Progress of a
 * running sync is read from its sync_history row, so a second wsusd on the same database
 * shows the progress of a sync run by the first.
 */
#include "admin_sync.h"
#include "server.h"
#include "db.h"
#include "log.h"
#include "scheduler.h"
#include "settings.h"
#include "strutil.h"
#include "sync_history.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *rows(PGconn *db, enum sync_history_pick pick, int with_imports, const char *arg)
{
    PGresult *r = sync_history_json(db, pick, with_imports, arg);
    json_t *a;
    int i;

    if (r == NULL)
        return NULL;
    a = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        json_t *j = json_loads(PQgetvalue(r, i, 0), 0, NULL);
        if (j != NULL)
            json_array_append_new(a, j);
    }
    PQclear(r);
    return a;
}

/* The first row into *out (NULL when there is none). 0, or -1 when the query failed. */
static int one_row(PGconn *db, enum sync_history_pick pick, const char *arg, json_t **out)
{
    json_t *a = rows(db, pick, 0, arg);

    *out = NULL;
    if (a == NULL)
        return -1;
    if (json_array_size(a) > 0)
        *out = json_incref(json_array_get(a, 0));
    json_decref(a);
    return 0;
}

/* A query failed: say so rather than answer "never synchronized" (503, the database named). */
static enum MHD_Result history_unreadable(struct http_request *req, PGconn *db)
{
    char msg[400];

    return admin_error(req, MHD_HTTP_SERVICE_UNAVAILABLE,
                       "cannot read the synchronization history from the catalog database (%s); "
                       "check that PostgreSQL runs and [database] conninfo",
                       db_errmsg(db, msg, sizeof(msg)));
}

static json_t *time_or_null(time_t t)
{
    char buf[40];
    struct tm tm;

    if (t <= 0)
        return json_null();
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

enum MHD_Result admin_sync_now(struct http_request *req)
{
    struct server *s = req->app;
    char err[512], id[DB_PARAM_INT_LEN];
    long hid = 0;
    int rc;
    PGconn *db;

    if (s->sched == NULL)
        return admin_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "the scheduler is not running");
    if ((db = admin_db(req)) == NULL)
        return MHD_YES;
    {
        char *up = settings_get(db, "upstream");
        int root;
        if (up == NULL)
            return history_unreadable(req, db);
        root = up[0] == '\0';
        free(up);
        if (root)
            return admin_error(req, MHD_HTTP_CONFLICT,
                               "this server has no upstream (it is a root): there is nothing to "
                               "synchronize from; set one with wsusctl config set upstream "
                               "http://SERVER:8530, or bring updates in with wsusctl import");
    }
    rc = scheduler_sync_now(s->sched, &hid, err, sizeof(err));
    if (rc == 0)
        return admin_reply(req, MHD_HTTP_ACCEPTED, json_pack("{s:I}", "id", (json_int_t)hid));
    if (rc < 0)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
    /* busy: show what runs */
    {
        json_t *running;
        int q;
        if (hid > 0) {
            db_param_int(id, hid);
            q = one_row(db, SYNC_HISTORY_BY_ID, id, &running);
        } else {
            q = one_row(db, SYNC_HISTORY_RUNNING, NULL, &running);
        }
        if (q < 0)
            return history_unreadable(req, db);
        {
            const char *fe = json_string_value(json_object_get(running, "front_end"));
            char msg[512];

            /* behind a load balancer the admin may have reached any front-end: say which one
               holds the sync lock */
            snprintf(msg, sizeof(msg),
                     "a synchronization is already running on %s%s; wsusctl sync status shows "
                     "its progress",
                     fe != NULL && fe[0] != '\0' ? fe : "another wsusd using this database",
                     fe != NULL && strcmp(fe, s->front_end) == 0 ? " (this front-end)" : "");
            return admin_reply(
                req, MHD_HTTP_CONFLICT,
                json_pack("{s:s, s:o}", "error", msg, "running", running ? running : json_null()));
        }
    }
}

enum MHD_Result admin_sync_cancel(struct http_request *req)
{
    struct server *s = req->app;
    long hid = 0;
    PGconn *db;
    json_t *running;

    if (s->sched == NULL)
        return admin_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "the scheduler is not running");
    if (scheduler_cancel(s->sched, &hid) == 0)
        return admin_reply(req, MHD_HTTP_ACCEPTED, json_pack("{s:I}", "id", (json_int_t)hid));
    /* nothing runs here: maybe in another wsusd on the same database */
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    if (one_row(db, SYNC_HISTORY_RUNNING, NULL, &running) < 0)
        return history_unreadable(req, db);
    if (running != NULL) {
        long id = (long)json_integer_value(json_object_get(running, "id"));
        const char *fe = json_string_value(json_object_get(running, "front_end"));
        enum MHD_Result r;

        if (fe != NULL && fe[0] != '\0')
            r = admin_error(req, MHD_HTTP_CONFLICT,
                            "synchronization %ld runs on %s, not on this front-end (%s); run "
                            "wsusctl sync cancel on %s",
                            id, fe, s->front_end, fe);
        else
            r = admin_error(req, MHD_HTTP_CONFLICT,
                            "synchronization %ld is not run by this wsusd but by another one on "
                            "the same database; cancel it there",
                            id);
        json_decref(running);
        return r;
    }
    return admin_error(req, MHD_HTTP_CONFLICT, "no synchronization is running");
}

enum MHD_Result admin_sync_status(struct http_request *req)
{
    struct server *s = req->app;
    struct scheduler_info info;
    PGconn *db = admin_db(req);
    json_t *running, *last, *j;
    char *sched;

    if (db == NULL)
        return MHD_YES;
    memset(&info, 0, sizeof(info));
    if (s->sched != NULL)
        scheduler_get_info(s->sched, &info);
    if (one_row(db, SYNC_HISTORY_RUNNING, NULL, &running) < 0)
        return history_unreadable(req, db);
    if (one_row(db, SYNC_HISTORY_LAST_FINISHED, NULL, &last) < 0) {
        json_decref(running);
        return history_unreadable(req, db);
    }
    sched = settings_get(db, "schedule");
    if (sched == NULL) {
        json_decref(running);
        json_decref(last);
        return history_unreadable(req, db);
    }
    j = json_pack("{s:o, s:o, s:s, s:o, s:o, s:i, s:o}", "running", running ? running : json_null(),
                  "last", last ? last : json_null(), "schedule", sched, "next_schedule",
                  time_or_null(info.next_schedule), "retry_at", time_or_null(info.retry_at),
                  "retries_done", info.retries_done, "next_rollup", time_or_null(info.next_rollup));
    free(sched);
    return admin_reply(req, MHD_HTTP_OK, j);
}

enum MHD_Result admin_sync_history(struct http_request *req)
{
    const char *lim = http_query(req, "limit");
    const char *id = http_query(req, "id");
    PGconn *db;
    json_t *a;
    long n = 20, v;
    char nbuf[DB_PARAM_INT_LEN];

    if (lim != NULL) {
        if (str_to_long(lim, 1, 100000, &n) < 0)
            return admin_error(req, MHD_HTTP_BAD_REQUEST,
                               "limit must be a number from 1 to 100000");
    }
    if (id != NULL && str_to_long(id, 1, 0x7fffffffffffffffL, &v) < 0)
        return admin_error(req, MHD_HTTP_BAD_REQUEST, "id must be a synchronization number");
    db = admin_db(req);
    if (db == NULL)
        return MHD_YES;
    if (id != NULL) {
        a = rows(db, SYNC_HISTORY_BY_ID, 1, id);
    } else {
        db_param_int(nbuf, n);
        a = rows(db, SYNC_HISTORY_NEWEST, 1, nbuf);
    }
    if (a == NULL)
        return history_unreadable(req, db);
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "history", a));
}
