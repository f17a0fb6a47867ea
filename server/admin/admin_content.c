/*
 * admin_content: the content store seen from the admin API. GET /api/v1/content reports the
 * store's directory and filesystem, files and bytes by state, what approved updates still need
 * and the largest updates (`wsusctl content`). POST /api/v1/content/switch is the last step of
 * `wsusctl movecontent`: once every stored file is in the new directory (wsusctl copied and
 * verified them), wsusd serves and downloads there without a restart. It copies nothing and
 * never deletes the old directory.
 */
#include "admin_handlers.h"
#include "content.h"
#include "content_report.h"
#include "log.h"
#include "scheduler.h"
#include "strutil.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static json_int_t cell_int(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : (json_int_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

char *admin_content_dir(struct server *s)
{
    char *d;

    pthread_mutex_lock(&s->cfg_lock);
    d = xstrdup(s->cfg.content_dir);
    pthread_mutex_unlock(&s->cfg_lock);
    return d;
}

enum MHD_Result admin_content_report(struct http_request *req)
{
    struct server *s = req->app;
    PGconn *db = admin_db(req);
    PGresult *r = NULL;
    json_t *ans = NULL, *arr;
    struct statvfs vfs;
    json_int_t stored_files = 0, stored_bytes = 0;
    char *dir;
    int i;

    if (db == NULL)
        return MHD_YES;
    dir = admin_content_dir(s);
    ans = json_pack("{s:s}", "content_dir", dir);
    if (statvfs(dir, &vfs) == 0)
        json_object_set_new(ans, "filesystem",
                            json_pack("{s:I, s:I}", "size",
                                      (json_int_t)vfs.f_blocks * (json_int_t)vfs.f_frsize, "free",
                                      (json_int_t)vfs.f_bavail * (json_int_t)vfs.f_frsize));
    free(dir);
    if ((r = content_report_states(db)) == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++) {
        if (strcmp(PQgetvalue(r, i, 0), "present") == 0) {
            stored_files = cell_int(r, i, 1);
            stored_bytes = cell_int(r, i, 2);
        }
        json_array_append_new(arr,
                              json_pack("{s:s, s:I, s:I}", "state", PQgetvalue(r, i, 0), "files",
                                        cell_int(r, i, 1), "bytes", cell_int(r, i, 2)));
    }
    json_object_set_new(ans, "states", arr);
    json_object_set_new(ans, "stored",
                        json_pack("{s:I, s:I}", "files", stored_files, "bytes", stored_bytes));
    PQclear(r);
    if ((r = content_report_pending(db)) == NULL)
        goto dberr;
    json_object_set_new(
        ans, "to_download",
        json_pack("{s:I, s:I}", "files", cell_int(r, 0, 0), "bytes", cell_int(r, 0, 1)));
    PQclear(r);
    if ((r = update_query_largest(db, 10)) == NULL)
        goto dberr;
    arr = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:I, s:I}", "update_id", PQgetvalue(r, i, 0),
                                        "title", PQgetvalue(r, i, 1), "size", cell_int(r, i, 2),
                                        "stored", cell_int(r, i, 3)));
    json_object_set_new(ans, "largest", arr);
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK, ans);
dberr:
    json_decref(ans);
    return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                       "cannot read the catalog; see the wsusd log");
}

static const struct admin_field switch_fields[] = {
    {"dir", ADMIN_FIELD_STRING, 1, 2, 3000},
    {"admin", ADMIN_FIELD_STRING, 0, 1, ADMIN_NAME_MAX},
};

/*
 * Is every stored file at its place under cs, with its size? 0 with *files counted, 1 with the
 * first missing path in missing, -1 on a database error.
 */
static int switch_check(PGconn *db, struct content_store *cs, long *files, long *n_missing,
                        char *missing, size_t mlen)
{
    PGresult *r = content_report_stored_files(db);
    char path[4096];
    int i;

    *files = 0;
    *n_missing = 0;
    if (r == NULL)
        return -1;
    for (i = 0; i < PQntuples(r); i++) {
        unsigned char sha1[20];
        struct stat st;
        const char *hex = PQgetvalue(r, i, 0);

        if (str_hex_decode(hex, strlen(hex), sha1, sizeof(sha1)) < 0 ||
            content_store_path(cs, sha1, PQgetvalue(r, i, 3), path, sizeof(path)) < 0)
            continue;
        (*files)++;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            (PQgetisnull(r, i, 2) || st.st_size == strtoll(PQgetvalue(r, i, 2), NULL, 10)))
            continue;
        if ((*n_missing)++ == 0)
            snprintf(missing, mlen, "%s", path);
    }
    PQclear(r);
    return *n_missing > 0;
}

enum MHD_Result admin_content_switch(struct http_request *req)
{
    struct server *s = req->app;
    enum MHD_Result replied = MHD_YES;
    struct content_store *cs = NULL;
    json_t *body;
    const char *dir, *admin;
    char err[1024], missing[4096], *old = NULL;
    long files, n_missing;
    PGconn *db;
    int rc;

    body = admin_body(req, &replied);
    if (body == NULL)
        return replied;
    if (admin_fields(req, body, switch_fields, 2, &replied) < 0)
        goto out;
    dir = json_string_value(json_object_get(body, "dir"));
    admin = json_string_value(json_object_get(body, "admin"));
    if (dir[0] != '/') {
        replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "\"%s\" is not an absolute path", dir);
        goto out;
    }
    old = admin_content_dir(s);
    if (strcmp(old, dir) == 0) {
        replied = admin_error(req, MHD_HTTP_CONFLICT, "wsusd already serves from %s", dir);
        goto out;
    }
    if ((db = admin_db(req)) == NULL)
        goto out;
    cs = content_store_open(dir, err, sizeof(err));
    if (cs == NULL) {
        replied = admin_error(req, MHD_HTTP_BAD_REQUEST, "%s", err);
        goto out;
    }
    rc = switch_check(db, cs, &files, &n_missing, missing, sizeof(missing));
    if (rc < 0) {
        replied = admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "cannot read the catalog; see the wsusd log");
        goto out;
    }
    if (rc > 0) {
        replied = admin_error(req, MHD_HTTP_CONFLICT,
                              "%s lacks %ld of the %ld stored files (first: %s); run wsusctl "
                              "movecontent %s again to copy them",
                              dir, n_missing, files, missing, dir);
        goto out;
    }
    if (s->sched != NULL && scheduler_set_content_dir(s->sched, dir) != 0) {
        replied = admin_error(req, MHD_HTTP_CONFLICT,
                              "a synchronization is running; wait for it to end (wsusctl sync "
                              "status) or stop it (wsusctl sync cancel), then run wsusctl "
                              "movecontent %s again",
                              dir);
        goto out;
    }
    content_switch(s, cs);
    cs = NULL;
    log_info("content directory moved from %s to %s by %s (%ld files)", old, dir,
             admin != NULL ? admin : "wsusctl", files);
    replied = admin_reply(req, MHD_HTTP_OK,
                          json_pack("{s:s, s:s, s:I}", "content_dir", dir, "previous", old, "files",
                                    (json_int_t)files));
out:
    content_store_close(cs);
    free(old);
    json_decref(body);
    return replied;
}
