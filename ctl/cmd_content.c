/*
 * cmd_content: `wsusctl content` (the store's size, files by state, what approved updates
 * still need, the largest updates; from wsusd's admin API) and `wsusctl movecontent NEWDIR`
 * (wsusutil movecontent): copy every stored file into NEWDIR/WsusContent, verifying its size
 * and digests while copying (content_store_import_file: fsync, rename), then tell the running
 * wsusd to serve and download there (POST /api/v1/content/switch) and set [storage]
 * content_dir in the config file. The old directory stays until `movecontent --remove-old`.
 * An interrupted move is resumed by running it again: files already verified in NEWDIR are
 * checked, not copied again.
 */
#include "adminapi.h"
#include "config.h"
#include "content_report.h"
#include "content_store.h"
#include "ctl.h"
#include "strutil.h"
#include "xmalloc.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* In NEWDIR after a move: the directory the content came from (for --remove-old). */
#define MOVED_FROM ".wsusd-moved-from"

static long long jnum(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_content(const json_t *a, void *arg)
{
    const json_t *arr = json_object_get(a, "states"), *fs = json_object_get(a, "filesystem");
    char b1[32], b2[32];
    size_t i;

    (void)arg;
    printf("content directory: %s\n", adminapi_str(a, "content_dir", ""));
    if (fs != NULL) {
        ctl_human((double)jnum(fs, "free"), b1, sizeof(b1));
        ctl_human((double)jnum(fs, "size"), b2, sizeof(b2));
        printf("filesystem:        %s free of %s\n", b1, b2);
    }
    ctl_human((double)jnum(json_object_get(a, "stored"), "bytes"), b1, sizeof(b1));
    printf("stored:            %lld files, %s\n", jnum(json_object_get(a, "stored"), "files"), b1);
    ctl_human((double)jnum(json_object_get(a, "to_download"), "bytes"), b1, sizeof(b1));
    printf("to download:       %lld files, %s (for approved updates)\n",
           jnum(json_object_get(a, "to_download"), "files"), b1);
    printf("files by state:\n");
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *s = json_array_get(arr, i);
        ctl_human((double)jnum(s, "bytes"), b1, sizeof(b1));
        printf("  %-12s %8lld  %10s\n", adminapi_str(s, "state", ""), jnum(s, "files"), b1);
    }
    arr = json_object_get(a, "largest");
    if (json_array_size(arr) > 0)
        printf("largest updates:\n");
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *u = json_array_get(arr, i);
        ctl_human((double)jnum(u, "size"), b1, sizeof(b1));
        ctl_human((double)jnum(u, "stored"), b2, sizeof(b2));
        printf("  %-36s  %10s  %10s stored  ", adminapi_str(u, "update_id", ""), b1, b2);
        ctl_put_cell(adminapi_str(u, "title", ""));
        putchar('\n');
    }
}

int cmd_content(struct ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return ctl_usage(c);
    return adminapi_show(c, "GET", "/api/v1/content", NULL, print_content, NULL);
}

/* The content_dir wsusd serves from now (GET /api/v1/status) into out. 0, or the status. */
static int served_dir(struct ctl *c, char *out, size_t outlen)
{
    json_t *ans = NULL;
    int rc = adminapi_run(c, "GET", "/api/v1/status", NULL, &ans);

    if (rc == 0 && str_copy(out, outlen, adminapi_str(ans, "content_dir", "")) < 0)
        rc = ctl_fail("the content directory of wsusd is too long");
    json_decref(ans);
    return rc;
}

/* Absolute, normalized form of dir (which may not exist yet: its nearest existing ancestor is
 * resolved, the rest appended). 0, or -1 with errno. */
static int resolve_dir(const char *dir, char *out, size_t outlen)
{
    char buf[PATH_MAX], real[PATH_MAX], *slash;
    const char *rest = "";

    if (str_copy(buf, sizeof(buf), dir) < 0)
        return -1;
    while (realpath(buf, real) == NULL) {
        if (errno != ENOENT || (slash = strrchr(buf, '/')) == NULL || slash == buf)
            return -1;
        *slash = '\0';
        rest = dir + (slash - buf);
    }
    return snprintf(out, outlen, "%s%s", strcmp(real, "/") == 0 && rest[0] ? "" : real, rest) <
                   (int)outlen
               ? 0
               : -1;
}

/* Is path p inside directory d (or d itself)? Both resolved. */
static int path_within(const char *p, const char *d)
{
    size_t n = strlen(d);

    return strncmp(p, d, n) == 0 && (p[n] == '\0' || p[n] == '/' || strcmp(d, "/") == 0);
}

/* Free bytes for an unprivileged user on the filesystem holding dir (or its nearest existing
 * ancestor). -1 when unknown. */
static long long free_bytes(const char *dir)
{
    struct statvfs v;
    char buf[PATH_MAX], *slash;

    if (str_copy(buf, sizeof(buf), dir) < 0)
        return -1;
    while (statvfs(buf, &v) < 0) {
        if ((slash = strrchr(buf, '/')) == NULL)
            return -1;
        if (slash == buf) {
            slash[1] = '\0';
            if (statvfs(buf, &v) < 0)
                return -1;
            break;
        }
        *slash = '\0';
    }
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (lchown(path, chown_uid, chown_gid) < 0)
        return -1;
    return 0;
}

struct move_file {
    unsigned char sha1[20], sha256[32];
    int has_sha256;
    int64_t size;
    const char *name;
};

/* Row i of content_report_stored_files() into *f. 0, or -1 when a digest does not parse. */
static int move_row(PGresult *r, int i, struct move_file *f)
{
    const char *s1 = PQgetvalue(r, i, 0), *s2 = PQgetvalue(r, i, 1);

    f->has_sha256 = !PQgetisnull(r, i, 1);
    f->size = PQgetisnull(r, i, 2) ? -1 : strtoll(PQgetvalue(r, i, 2), NULL, 10);
    f->name = PQgetvalue(r, i, 3);
    if (str_hex_decode(s1, strlen(s1), f->sha1, 20) < 0 ||
        (f->has_sha256 && str_hex_decode(s2, strlen(s2), f->sha256, 32) < 0))
        return -1;
    return 0;
}

/* The place of f under the content directory target, given the old store from (whose
 * directory is fromdir): the same relative path. 0, or -1 when it does not fit. */
static int move_dest(const struct content_store *from, const char *fromdir, const char *target,
                     const struct move_file *f, char *out, size_t outlen)
{
    char path[PATH_MAX];
    size_t n = strlen(fromdir);

    if (content_store_path(from, f->sha1, f->name, path, sizeof(path)) < 0 ||
        strncmp(path, fromdir, n) != 0)
        return -1;
    return snprintf(out, outlen, "%s%s", target, path + n) < (int)outlen ? 0 : -1;
}

/* Is the file already at its place under target with its size (copied by an earlier,
 * interrupted run)? It is verified again before it counts as moved. */
static int move_present(const struct content_store *from, const char *fromdir, const char *target,
                        const struct move_file *f)
{
    char path[PATH_MAX];
    struct stat st;

    return move_dest(from, fromdir, target, f, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
           S_ISREG(st.st_mode) && (f->size < 0 || st.st_size == f->size);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOTEMPTY && errno != EEXIST ? -1 : 0;
    return unlink(path) < 0 ? -1 : 0;
}

/* `movecontent --remove-old`: delete the WsusContent tree the server moved away from. */
static int movecontent_remove_old(struct ctl *c)
{
    char cur[PATH_MAX], marker[PATH_MAX + 32], old[PATH_MAX], tree[PATH_MAX + 16];
    FILE *f;
    int rc;

    if ((rc = served_dir(c, cur, sizeof(cur))) != 0)
        return rc;
    if ((size_t)snprintf(marker, sizeof(marker), "%s/%s", cur, MOVED_FROM) >= sizeof(marker))
        return ctl_fail("the content directory %s is too long", cur);
    f = fopen(marker, "r");
    if (f == NULL)
        return ctl_fail("%s has no record of a move (%s: %s); nothing to remove", cur, marker,
                        strerror(errno));
    if (fgets(old, sizeof(old), f) == NULL) {
        fclose(f);
        return ctl_fail("cannot read %s; remove the old content directory by hand", marker);
    }
    fclose(f);
    old[strcspn(old, "\n")] = '\0';
    if (old[0] != '/' || strcmp(old, cur) == 0)
        return ctl_fail("%s names \"%s\", which wsusd serves from; nothing removed", marker, old);
    if ((size_t)snprintf(tree, sizeof(tree), "%s/WsusContent", old) >= sizeof(tree))
        return ctl_fail("the old content directory %s is too long", old);
    if (access(tree, F_OK) == 0 && nftw(tree, remove_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return ctl_fail("cannot remove %s: %s", tree, strerror(errno));
    if (unlink(marker) < 0)
        return ctl_fail("removed %s but not %s: %s", tree, marker, strerror(errno));
    printf("removed %s (the content before the move to %s)\n", tree, cur);
    return 0;
}

int cmd_movecontent(struct ctl *c, int argc, char **argv)
{
    char old[PATH_MAX], oldreal[PATH_MAX], target[PATH_MAX], err[1024], src[PATH_MAX];
    struct content_store *from = NULL, *to = NULL;
    PGresult *r = NULL;
    json_t *ans = NULL;
    long long need = 0, avail, copied_bytes = 0;
    long copied = 0, kept = 0;
    int rc = 1, i, n;
    struct stat st;

    if (argc == 1 && strcmp(argv[0], "--remove-old") == 0)
        return movecontent_remove_old(c);
    if (argc != 1 || argv[0][0] == '-')
        return ctl_usage(c);
    if ((rc = served_dir(c, old, sizeof(old))) != 0)
        return rc;
    rc = 1;
    if (realpath(old, oldreal) == NULL)
        return ctl_fail("cannot resolve the content directory %s: %s", old, strerror(errno));
    if (argv[0][0] != '/')
        return ctl_fail("\"%s\" is not an absolute path; give NEWDIR from /", argv[0]);
    if (resolve_dir(argv[0], target, sizeof(target)) < 0)
        return ctl_fail("cannot resolve %s: %s", argv[0], strerror(errno));
    if (strcmp(target, oldreal) == 0)
        return ctl_fail("wsusd already serves from %s; nothing to move", target);
    if (path_within(target, oldreal))
        return ctl_fail("%s is inside the content directory %s; choose a directory outside it",
                        target, oldreal);
    from = content_store_open(oldreal, err, sizeof(err));
    if (from == NULL) {
        ctl_fail("%s", err);
        goto out;
    }
    r = content_report_stored_files(ctl_db(c));
    if (r == NULL) {
        ctl_fail("cannot read the catalog's file list; see the messages above");
        goto out;
    }
    n = PQntuples(r);
    /* the room check comes before anything is created in NEWDIR */
    for (i = 0; i < n; i++) {
        struct move_file f;
        if (move_row(r, i, &f) == 0 && !move_present(from, oldreal, target, &f) && f.size > 0)
            need += f.size;
    }
    avail = free_bytes(target);
    if (avail >= 0 && avail < need + (need / 20)) {
        char b1[32], b2[32];
        ctl_human((double)need, b1, sizeof(b1));
        ctl_human((double)avail, b2, sizeof(b2));
        ctl_fail("%s has %s free; the %d stored files need %s more (and 5%% to spare); free "
                 "space or choose another directory",
                 target, b2, n, b1);
        goto out;
    }
    to = content_store_open(target, err, sizeof(err));
    if (to == NULL) {
        ctl_fail("%s", err);
        goto out;
    }
    for (i = 0; i < n; i++) {
        struct move_file f;

        if (move_row(r, i, &f) < 0) {
            ctl_fail("the catalog holds a file digest that does not parse (%s)",
                     PQgetvalue(r, i, 0));
            goto out;
        }
        if (move_present(from, oldreal, target, &f)) {
            if (content_store_verify(to, f.sha1, f.has_sha256 ? f.sha256 : NULL, f.size, f.name,
                                     err, sizeof(err)) == CONTENT_VERIFY_OK) {
                kept++;
                continue;
            }
        }
        if (content_store_path(from, f.sha1, f.name, src, sizeof(src)) < 0 ||
            content_store_import_file(to, src, f.sha1, f.has_sha256 ? f.sha256 : NULL, f.size,
                                      f.name, err, sizeof(err)) < 0) {
            ctl_fail("cannot copy %s: %s; nothing was switched (wsusctl reset re-checks the "
                     "old directory; run movecontent again to resume)",
                     src, err);
            goto out;
        }
        copied++;
        copied_bytes += f.size > 0 ? f.size : 0;
    }
    if (geteuid() == 0 && stat(oldreal, &st) == 0 && st.st_uid != 0) {
        /* the files belong to the service user, as in the old directory */
        chown_uid = st.st_uid;
        chown_gid = st.st_gid;
        if (nftw(target, chown_one, 32, FTW_PHYS) != 0) {
            ctl_fail("cannot give %s to the owner of %s: %s", target, oldreal, strerror(errno));
            goto out;
        }
    }
    {
        char marker[PATH_MAX + 32];
        FILE *mf;
        mf = (size_t)snprintf(marker, sizeof(marker), "%s/%s", target, MOVED_FROM) < sizeof(marker)
                 ? fopen(marker, "w")
                 : NULL;
        if (mf == NULL || fprintf(mf, "%s\n", oldreal) < 0 || fclose(mf) != 0) {
            ctl_fail("cannot write %s: %s", marker, strerror(errno));
            goto out;
        }
    }
    {
        json_t *body = json_pack("{s:s, s:s}", "dir", target, "admin", ctl_admin_name());
        rc = adminapi_run(c, "POST", "/api/v1/content/switch", body, &ans);
        json_decref(body);
        if (rc != 0)
            goto out;
        rc = 1;
    }
    {
        char b[32];
        ctl_human((double)copied_bytes, b, sizeof(b));
        printf("copied and verified %ld files (%s), %ld were already in place\n", copied, b, kept);
    }
    printf("wsusd serves from %s now\n", target);
    if (config_set_option(c->config_path, "storage", "content_dir", target, err, sizeof(err)) < 0)
        fprintf(stderr,
                "wsusctl: %s; set \"content_dir = %s\" in [storage] of %s by hand, or the "
                "next start serves from %s again\n",
                err, target, c->config_path, oldreal);
    else
        printf("%s: [storage] content_dir = %s\n", c->config_path, target);
    printf("the old copy stays in %s; remove it with wsusctl movecontent --remove-old\n", oldreal);
    rc = 0;
out:
    json_decref(ans);
    PQclear(r);
    content_store_close(from);
    content_store_close(to);
    return rc;
}
