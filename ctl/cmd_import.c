/*
 * wsusctl import / export: wsusutil-format packages (wsuspkg.h) into and out of the catalog,
 * without a running wsusd. Import first reads and validates the whole package (every record
 * parsed, bounded memory), so a damaged package changes nothing; only then does it store the
 * records in batches (one transaction each; a rerun after a crash skips what is stored), and
 * with --content publishes the files it finds into the content store.
 */
#include "adminapi.h"
#include "cab.h"
#include "catalog.h"
#include "content_store.h"
#include "ctl.h"
#include "db.h"
#include "log.h"
#include "settings.h"
#include "sync_history.h"
#include "update.h"
#include "wsuspkg.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IMPORT_BATCH 500
/* A large import refreshes the planner statistics (a fresh catalog has none). */
#define IMPORT_ANALYZE_AFTER 1000

struct import_counts {
    long records, categories, detectoids, updates, files_published, files_failed;
};

/* A progress line on a terminal, never with --json (stdout holds one JSON object then). */
static int show_progress;

static void progress(const char *what, const char *pkg, long done, long total)
{
    if (!show_progress)
        return;
    printf("\r%s %s: %ld/%ld records", what, pkg, done, total);
    fflush(stdout);
}

static void progress_end(void)
{
    if (show_progress) {
        printf("\r\033[K");
        fflush(stdout);
    }
}

static void history_finish(PGconn *conn, long id, const char *result, const char *error,
                           const struct catalog_stats *st, const struct import_counts *n)
{
    char detail[256];

    if (id < 0)
        return;
    snprintf(detail, sizeof(detail),
             "{\"records\": %ld, \"already_present\": %ld, \"detectoids\": %ld,"
             " \"updates\": %ld, \"new_files\": %ld}",
             n->records, st->present_revisions, st->new_detectoids, st->new_updates, st->new_files);
    if (sync_history_import_finish(conn, id, result, error, st->new_revisions, st->new_categories,
                                   n->files_published, st->present_revisions, detail) < 0)
        log_warnx("could not record the import in sync_history");
}

static void history_failed(PGconn *conn, const char *pkg, const char *error)
{
    struct catalog_stats st;
    struct import_counts n;

    memset(&st, 0, sizeof(st));
    memset(&n, 0, sizeof(n));
    history_finish(conn, sync_history_import_start(conn, pkg), "failed", error, &st, &n);
}

/* Look for a file under its WSUS content name in dir; 1 with path, 0 when not there. */
static int find_content(const char *dir, const struct update_file *f, char *path, size_t len)
{
    char hex[41], ext[CONTENT_STORE_EXT_MAX + 1];
    const char *sub[2] = {"", "WsusContent/"};
    struct stat sb;
    int i;

    content_store_hex(f->sha1, 20, hex);
    content_store_ext(f->file_name, ext);
    for (i = 0; i < 2; i++) {
        int w = snprintf(path, len, "%s/%s%.2s/%s%s%s", dir, sub[i], hex + 38, hex,
                         ext[0] != '\0' ? "." : "", ext);
        if (w < 0 || (size_t)w >= len)
            continue;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            return 1;
    }
    return 0;
}

static void publish_files(PGconn *conn, struct content_store *cs, const char *dir,
                          struct update *const *batch, size_t n, struct import_counts *cnt)
{
    char path[4096], err[512];
    size_t i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < batch[i]->n_files; j++) {
            const struct update_file *f = &batch[i]->files[j];
            if (!find_content(dir, f, path, sizeof(path)))
                continue;
            if (content_store_import_file(cs, path, f->sha1, f->has_sha256 ? f->sha256 : NULL,
                                          f->size, f->file_name, err, sizeof(err)) < 0) {
                log_warnx("file %s of update %s not published: %s", path, batch[i]->update_id, err);
                cnt->files_failed++;
                continue;
            }
            if (catalog_file_set_state(conn, f->sha1, "present", NULL) < 0) {
                cnt->files_failed++;
                continue;
            }
            cnt->files_published++;
        }
    }
}

static void free_batch(struct update **batch, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        update_free(batch[i]);
        free(batch[i]);
        batch[i] = NULL;
    }
}

/* Parse one record into u and check it against its header. 0, or -1 with err. */
static int parse_record(const struct wsuspkg_record *rec, struct update *u, char *err,
                        size_t errlen)
{
    char e2[512];

    if (update_parse(u, rec->xml, rec->xml_len, e2, sizeof(e2)) < 0) {
        snprintf(err, errlen, "record %ld (UpdateID %s): %s", rec->number, rec->update_id, e2);
        return -1;
    }
    if (strcmp(u->update_id, rec->update_id) != 0 || u->revision_number != rec->revision_number) {
        snprintf(err, errlen,
                 "record %ld (UpdateID %s): header says revision %d but the XML is %s revision %d",
                 rec->number, rec->update_id, rec->revision_number, u->update_id,
                 u->revision_number);
        update_free(u);
        return -1;
    }
    return 0;
}

int cmd_import(struct ctl *c, int argc, char **argv)
{
    const char *pkg = NULL, *content = NULL;
    struct wsuspkg_reader *rd = NULL;
    struct content_store *cs = NULL;
    struct update *batch[IMPORT_BATCH];
    struct wsuspkg_record rec;
    struct catalog_stats st;
    struct import_counts cnt;
    char err[1024];
    size_t nb = 0, i;
    long hist = -1, done = 0;
    PGconn *conn;
    int rc = 1, k;

    memset(&st, 0, sizeof(st));
    memset(&cnt, 0, sizeof(cnt));
    memset(batch, 0, sizeof(batch));
    for (k = 0; k < argc; k++) {
        if (strcmp(argv[k], "--content") == 0 && k + 1 < argc)
            content = argv[++k];
        else if (argv[k][0] != '-' && pkg == NULL)
            pkg = argv[k];
        else
            return ctl_usage(c);
    }
    if (pkg == NULL)
        return ctl_usage(c);
    show_progress = ctl_isatty() && !c->json;
    conn = ctl_db(c);
    if ((rd = wsuspkg_open(pkg, err, sizeof(err))) == NULL) {
        ctl_fail("cannot import %s: %s", pkg, err);
        fprintf(stderr, "nothing was imported; check that the file is a complete `wsusutil "
                        "export` package (copy it again if it was truncated)\n");
        history_failed(conn, pkg, err);
        return 1;
    }
    if (content != NULL) {
        struct stat sb;
        if (stat(content, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
            ctl_fail("--content %s is not a directory", content);
            goto out;
        }
        if ((cs = content_store_open(c->cfg.content_dir, err, sizeof(err))) == NULL) {
            ctl_fail("%s", err);
            goto out;
        }
    }
    /* pass 1: every record must parse before anything is stored */
    for (;;) {
        struct update u;
        int got = wsuspkg_next(rd, &rec, err, sizeof(err));
        if (got == 0)
            break;
        if (got < 0 || parse_record(&rec, &u, err, sizeof(err)) < 0)
            goto invalid;
        cnt.records++;
        if (update_is_category(&u))
            cnt.categories++;
        else if (update_is_detectoid(&u))
            cnt.detectoids++;
        else
            cnt.updates++;
        update_free(&u);
        progress("checking", pkg, cnt.records, wsuspkg_info(rd)->n_updates);
    }
    if (wsuspkg_info(rd)->n_updates != cnt.records) {
        snprintf(err, sizeof(err),
                 "package.xml lists %ld updates but metadata.txt holds %ld records",
                 wsuspkg_info(rd)->n_updates, cnt.records);
        goto invalid;
    }
    /* pass 2: store in batches */
    hist = sync_history_import_start(conn, pkg);
    if (wsuspkg_rewind(rd) < 0) {
        snprintf(err, sizeof(err), "cannot reread the extracted package");
        goto failed;
    }
    for (;;) {
        int got = wsuspkg_next(rd, &rec, err, sizeof(err));
        if (got < 0)
            goto failed;
        if (got > 0) {
            batch[nb] = xmalloc(sizeof(*batch[nb]));
            if (parse_record(&rec, batch[nb], err, sizeof(err)) < 0) {
                free(batch[nb]);
                batch[nb] = NULL;
                goto failed;
            }
            for (i = 0; i < batch[nb]->n_files; i++) {
                const struct wsuspkg_file *pf = wsuspkg_find_file(rd, batch[nb]->files[i].sha1);
                if (pf != NULL && pf->mu_url != NULL && batch[nb]->files[i].mu_url == NULL)
                    batch[nb]->files[i].mu_url = xstrdup(pf->mu_url);
            }
            nb++;
        }
        if (nb == IMPORT_BATCH || (got == 0 && nb > 0)) {
            if (catalog_store(conn, batch, nb, &st, err, sizeof(err)) < 0)
                goto failed;
            if (cs != NULL)
                publish_files(conn, cs, content, batch, nb, &cnt);
            done += (long)nb;
            free_batch(batch, nb);
            nb = 0;
            progress("importing", pkg, done, cnt.records);
        }
        if (got == 0)
            break;
    }
    progress_end();
    if (st.new_revisions >= IMPORT_ANALYZE_AFTER)
        catalog_analyze(conn);
    history_finish(conn, hist, "succeeded", NULL, &st, &cnt);
    if (c->json) {
        json_t *o =
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "package", pkg,
                      "records", (json_int_t)cnt.records, "categories", (json_int_t)cnt.categories,
                      "detectoids", (json_int_t)cnt.detectoids, "updates", (json_int_t)cnt.updates,
                      "new_revisions", (json_int_t)st.new_revisions, "already_present",
                      (json_int_t)st.present_revisions, "new_files", (json_int_t)st.new_files,
                      "files_published", (json_int_t)cnt.files_published, "files_failed",
                      (json_int_t)cnt.files_failed, "history_id", (json_int_t)hist);
        adminapi_print_json(o);
        json_decref(o);
        rc = cnt.files_failed > 0 ? 1 : 0;
        goto out;
    }
    printf("imported %s: %ld records (%ld categories, %ld detectoids, %ld updates): %ld new, "
           "%ld already present; %ld new files, %ld files published to the content store\n",
           pkg, cnt.records, cnt.categories, cnt.detectoids, cnt.updates, st.new_revisions,
           st.present_revisions, st.new_files, cnt.files_published);
    if (cnt.files_failed > 0)
        printf("%ld files could not be published (see the messages above)\n", cnt.files_failed);
    rc = cnt.files_failed > 0 ? 1 : 0;
    goto out;
invalid:
    progress_end();
    ctl_fail("cannot import %s: %s", pkg, err);
    fprintf(stderr, "nothing was imported; the package is damaged or was not written by "
                    "`wsusutil export` (export it again on the source server)\n");
    history_failed(conn, pkg, err);
    goto out;
failed:
    progress_end();
    ctl_fail("import of %s stopped: %s", pkg, err);
    fprintf(stderr,
            "%ld records were stored before the failure; run the same import again "
            "to finish (stored records are skipped)\n",
            st.new_revisions + st.present_revisions);
    history_finish(conn, hist, "failed", err, &st, &cnt);
out:
    free_batch(batch, nb);
    content_store_close(cs);
    wsuspkg_close(rd);
    return rc;
}

struct export_ctx {
    struct wsuspkg_writer *w;
    long records, files;
    char err[1024];
};

static int export_one(void *arg, const struct catalog_revision *r)
{
    struct export_ctx *x = arg;
    struct wsuspkg_file *files = NULL;
    size_t i;
    int rc;

    if (r->n_files > 0) {
        files = xcalloc(r->n_files, sizeof(*files));
        for (i = 0; i < r->n_files; i++) {
            memcpy(files[i].sha1, r->files[i].sha1, 20);
            memcpy(files[i].sha256, r->files[i].sha256, 32);
            files[i].has_sha256 = r->files[i].has_sha256;
            files[i].size = r->files[i].size;
            files[i].file_name = (char *)r->files[i].file_name;
            files[i].modified = (char *)r->files[i].modified;
            files[i].mu_url = (char *)r->files[i].mu_url;
        }
    }
    rc = wsuspkg_writer_add(x->w, r->update_id, r->revision_number, r->xml, r->xml_len, files,
                            r->n_files, x->err, sizeof(x->err));
    free(files);
    if (rc == 0) {
        x->records++;
        x->files += (long)r->n_files;
        if (x->records % 500 == 0)
            progress("exporting", "", x->records, x->records);
    }
    return rc;
}

int cmd_export(struct ctl *c, int argc, char **argv)
{
    struct export_ctx x;
    PGconn *conn;
    PGresult *r;
    char *server_id;
    int i, rc = 1;

    if (argc != 1 || argv[0][0] == '-')
        return ctl_usage(c);
    memset(&x, 0, sizeof(x));
    show_progress = ctl_isatty() && !c->json;
    conn = ctl_db(c);
    server_id = db_setting_get(conn, "server_id", "");
    x.w = wsuspkg_writer_new(server_id, x.err, sizeof(x.err));
    free(server_id);
    if (x.w == NULL)
        return ctl_fail("cannot export: %s", x.err);
    r = settings_languages_all(conn);
    for (i = 0; r != NULL && i < PQntuples(r); i++)
        wsuspkg_writer_add_language(x.w, strtol(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                                    PQgetvalue(r, i, 2), strcmp(PQgetvalue(r, i, 3), "t") == 0);
    PQclear(r);
    if (catalog_foreach_revision(conn, export_one, &x, x.err, sizeof(x.err)) < 0) {
        progress_end();
        ctl_fail("cannot export to %s: %s", argv[0], x.err);
        goto out;
    }
    progress_end();
    if (wsuspkg_writer_finish(x.w, argv[0], x.err, sizeof(x.err)) < 0) {
        ctl_fail("cannot write %s: %s", argv[0], x.err);
        goto out;
    }
    if (c->json) {
        json_t *o = json_pack("{s:s, s:I, s:I}", "package", argv[0], "revisions",
                              (json_int_t)x.records, "file_references", (json_int_t)x.files);
        adminapi_print_json(o);
        json_decref(o);
    } else {
        printf("exported %ld revisions (%ld file references) to %s\n", x.records, x.files, argv[0]);
    }
    rc = 0;
out:
    wsuspkg_writer_free(x.w);
    return rc;
}
