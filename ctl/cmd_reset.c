/*
 * wsusctl reset (wsusutil reset): re-read every file the catalog lists as present and compare
 * it with the catalog (size, SHA-1, SHA-256). Corrupt files are moved to
 * <content_dir>/Quarantine/ and, like missing ones, queued (state 'queued') so the next
 * synchronization downloads them again. Works on the catalog and the content directory
 * directly; wsusd may keep running (it stops serving a file the moment it is moved).
 */
#include "catalog.h"
#include "content_store.h"
#include "ctl.h"
#include "db.h"
#include "strutil.h"
#include "xmalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reset_note(json_t *list, const char *hex, const char *name, const char *detail,
                       int json, const char *label)
{
    char up[41];
    size_t i;

    for (i = 0; i < 40 && hex[i]; i++)
        up[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 'a' + 'A' : hex[i]);
    up[i] = '\0';
    if (json)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s}", "sha1", up, "file_name", name, "detail", detail));
    else
        printf("  %-8s %s %s: %s\n", label, up, name, detail);
}

int cmd_reset(struct ctl *c, int argc, char **argv)
{
    PGconn *db;
    PGresult *r = NULL;
    struct content_store *cs = NULL;
    json_t *corrupt_list = json_array(), *missing_list = json_array(), *error_list = json_array();
    long checked = 0, ok = 0, corrupt = 0, missing = 0, errors = 0;
    char err[1024];
    int rc = 1, i, n, progress;

    (void)argv;
    if (argc > 0) {
        rc = ctl_fail("reset takes no arguments (besides --json)");
        goto out;
    }
    cs = content_store_open(c->cfg.content_dir, err, sizeof(err));
    if (cs == NULL) {
        ctl_fail("%s", err);
        goto out;
    }
    db = ctl_db(c);
    r = catalog_files_present(db);
    if (r == NULL) {
        ctl_fail("cannot list the catalog's files: %s", db_errmsg(db, err, sizeof(err)));
        goto out;
    }
    n = PQntuples(r);
    progress = !c->json && ctl_isatty();
    for (i = 0; i < n; i++) {
        const char *hex = PQgetvalue(r, i, 0), *name = PQgetvalue(r, i, 3);
        unsigned char sha1[20], sha256[32];
        int has256 =
            !PQgetisnull(r, i, 1) &&
            str_hex_decode(PQgetvalue(r, i, 1), strlen(PQgetvalue(r, i, 1)), sha256, 32) == 0;
        int64_t size = PQgetisnull(r, i, 2) ? -1 : strtoll(PQgetvalue(r, i, 2), NULL, 10);
        char detail[700], dest[4096], note[4900];

        if (progress)
            fprintf(stderr, "\rchecking %d/%d files", i + 1, n);
        if (str_hex_decode(hex, strlen(hex), sha1, 20) < 0)
            continue;
        checked++;
        switch (content_store_verify(cs, sha1, has256 ? sha256 : NULL, size, name, detail,
                                     sizeof(detail))) {
        case CONTENT_VERIFY_OK:
            ok++;
            continue;
        case CONTENT_VERIFY_MISSING:
            missing++;
            reset_note(missing_list, hex, name, "not in the content store", c->json, "missing");
            if (catalog_file_mark_unstored(
                    db, hex, "queued", "missing from the content store (found by wsusctl reset)") <
                0)
                errors++;
            continue;
        case CONTENT_VERIFY_CORRUPT:
            if (content_store_quarantine(cs, sha1, name, dest, sizeof(dest), err, sizeof(err)) <
                0) {
                errors++;
                reset_note(error_list, hex, name, err, c->json, "error");
                continue;
            }
            corrupt++;
            snprintf(note, sizeof(note), "%s; moved to %s", detail, dest);
            reset_note(corrupt_list, hex, name, note, c->json, "corrupt");
            if (catalog_file_mark_unstored(db, hex, "quarantined", note) < 0)
                errors++;
            continue;
        case CONTENT_VERIFY_ERROR:
            errors++;
            reset_note(error_list, hex, name, detail, c->json, "error");
            continue;
        }
    }
    if (progress)
        fprintf(stderr, "\r%*s\r", 40, "");
    /* quarantined files are downloaded again by the next synchronization */
    if (catalog_files_requeue_quarantined(db) < 0)
        errors++;
    if (c->json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:s, s:O, s:O, s:O}", "checked", (json_int_t)checked, "ok",
            (json_int_t)ok, "corrupt", (json_int_t)corrupt, "missing", (json_int_t)missing,
            "errors", (json_int_t)errors, "content_dir", c->cfg.content_dir, "corrupt_files",
            corrupt_list, "missing_files", missing_list, "error_files", error_list);
        char *text = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        json_decref(o);
    } else {
        printf("checked %ld files in %s: %ld ok, %ld corrupt, %ld missing", checked,
               c->cfg.content_dir, ok, corrupt, missing);
        if (errors > 0)
            printf(", %ld could not be checked", errors);
        printf("\n");
        if (corrupt + missing > 0)
            printf("%ld files queued for download again; the next synchronization fetches "
                   "them (corrupt copies are kept in %s/Quarantine)\n",
                   corrupt + missing, c->cfg.content_dir);
    }
    rc = errors > 0 ? 1 : 0;
out:
    PQclear(r);
    content_store_close(cs);
    json_decref(corrupt_list);
    json_decref(missing_list);
    json_decref(error_list);
    return rc;
}
