/*
 * cmd_updates: `wsusctl updates list/show` and the approval verbs (approve, unapprove,
 * decline, undecline, accepteula), all through wsusd's admin API. Text output is for people
 * (one update per line, titles last); --json prints the API's answer unchanged for scripts.
 */
#include "adminapi.h"
#include "buf.h"
#include "ctl.h"
#include "xmalloc.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *jstr(const json_t *o, const char *key)
{
    return adminapi_str(o, key, "");
}

/* Print at most max bytes of s without cutting a UTF-8 sequence, padded to width columns. */
static void print_cut(const char *s, int max)
{
    int n = (int)strlen(s), cols = 0, i;

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    fwrite(s, 1, (size_t)n, stdout);
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            cols++;
    printf("%*s", max - cols, "");
}

/* The answer of GET /api/v1/updates; arg points to an int: 1 for the category listing. */
static void print_update_list(const json_t *ans, void *arg)
{
    int categories = *(const int *)arg;
    const json_t *list = json_object_get(ans, "updates");
    size_t i;

    if (categories)
        printf("%-36s  %-20s  %s\n", "ID", "CATEGORY TYPE", "TITLE");
    else
        printf("%-36s  %5s  %-3s  %-9s  %-22s  %9s  %s\n", "ID", "REV", "A/D", "KB",
               "CLASSIFICATION", "SIZE", "TITLE");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *u = json_array_get(list, i);
        if (categories) {
            printf("%-36s  %-20s  ", jstr(u, "update_id"), jstr(u, "category_type"));
            ctl_put_cell(jstr(u, "title"));
            putchar('\n');
            continue;
        }
        printf("%-36s  %5lld  %c%c   %-9s  ", jstr(u, "update_id"),
               (long long)json_integer_value(json_object_get(u, "revision")),
               json_is_true(json_object_get(u, "approved")) ? 'A' : '-',
               json_is_true(json_object_get(u, "declined")) ? 'D' : '-', jstr(u, "kb"));
        print_cut(jstr(u, "classification"), 22);
        {
            char size[32];
            ctl_human((double)json_integer_value(json_object_get(u, "size")), size, sizeof(size));
            printf("  %9s  ", size);
        }
        ctl_put_cell(jstr(u, "title"));
        putchar('\n');
    }
    {
        long long total = (long long)json_integer_value(json_object_get(ans, "total"));
        size_t n = json_array_size(list);
        if ((long long)n < total)
            printf("%zu of %lld shown; use --limit N or narrow the search to see the rest\n", n,
                   total);
        else
            printf("%zu %s\n", n, categories ? "category(ies)" : "update(s)");
    }
}

static void print_named_list(const char *label, const json_t *arr)
{
    size_t i;

    if (json_array_size(arr) == 0)
        return;
    printf("%s\n", label);
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        printf("  %s  ", jstr(e, "id"));
        ctl_put_cell(jstr(e, "title"));
        putchar('\n');
    }
}

/* The answer of GET /api/v1/updates/failed: one block per update, its files, the remedy. */
static void print_failed_list(const json_t *ans, void *arg)
{
    const json_t *list = json_object_get(ans, "updates");
    size_t i, k;

    (void)arg;
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *u = json_array_get(list, i), *files = json_object_get(u, "missing");
        printf("%s  %s  ", jstr(u, "update_id"), jstr(u, "why"));
        ctl_put_cell(jstr(u, "title"));
        putchar('\n');
        for (k = 0; k < json_array_size(files); k++) {
            const json_t *f = json_array_get(files, k);
            printf("  missing %s (%s): %s\n", jstr(f, "file"), jstr(f, "sha1"), jstr(f, "detail"));
        }
        printf("  remedy: %s\n", jstr(u, "remedy"));
    }
    printf("%zu update(s) with missing files\n", json_array_size(list));
}

int cmd_updates_list(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"type", required_argument, NULL, 't'},
                                             {"categories", no_argument, NULL, 'C'},
                                             {"product", required_argument, NULL, 'p'},
                                             {"classification", required_argument, NULL, 'c'},
                                             {"search", required_argument, NULL, 's'},
                                             {"approved", no_argument, NULL, 'a'},
                                             {"declined", no_argument, NULL, 'd'},
                                             {"limit", required_argument, NULL, 'l'},
                                             {"hidden", no_argument, NULL, 'h'},
                                             {"superseded", no_argument, NULL, 'S'},
                                             {"not-approved", no_argument, NULL, 'n'},
                                             {"failed", no_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
    const char *type = NULL, *product = NULL, *cls = NULL, *search = NULL, *limit = NULL;
    int approved = 0, declined = 0, hidden = 0, superseded = 0, not_approved = 0, failed = 0, ch,
        rc, categories;
    struct buf path;
    size_t i;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1) {
        switch (ch) {
        case 't':
            type = optarg;
            break;
        case 'C':
            type = "category";
            break;
        case 'p':
            product = optarg;
            break;
        case 'c':
            cls = optarg;
            break;
        case 's':
            search = optarg;
            break;
        case 'a':
            approved = 1;
            break;
        case 'd':
            declined = 1;
            break;
        case 'l':
            limit = optarg;
            break;
        case 'h':
            hidden = 1;
            break;
        case 'S':
            superseded = 1;
            break;
        case 'n':
            not_approved = 1;
            break;
        case 'f':
            failed = 1;
            break;
        default:
            return ctl_usage(c);
        }
    }
    if (optind != argc + 1)
        return ctl_usage(c);
    if (failed && (type || product || cls || search || approved || declined || hidden ||
                   superseded || not_approved))
        return ctl_fail("--failed lists every update with missing files; it takes only --limit");
    buf_init(&path, 16384);
    buf_add_str(&path, failed ? "/api/v1/updates/failed?x=1" : "/api/v1/updates?x=1");
    {
        const char *names[] = {"type", "product", "classification", "search", "limit"};
        const char *vals[] = {type, product, cls, search, limit};
        for (i = 0; i < 5; i++) {
            if (vals[i] != NULL) {
                char *e = adminapi_escape(vals[i]);
                if (buf_printf(&path, "&%s=%s", names[i], e) < 0) {
                    free(e);
                    buf_free(&path);
                    return ctl_fail("the search text is too long");
                }
                free(e);
            }
        }
    }
    if (approved)
        buf_add_str(&path, "&approved=1");
    if (declined)
        buf_add_str(&path, "&declined=1");
    if (hidden)
        buf_add_str(&path, "&hidden=1");
    if (superseded)
        buf_add_str(&path, "&superseded=1");
    if (not_approved)
        buf_add_str(&path, "&not_approved=1");
    categories = type != NULL && strcmp(type, "category") == 0;
    rc = adminapi_show(c, "GET", buf_str(&path), NULL,
                       failed ? print_failed_list : print_update_list, &categories);
    buf_free(&path);
    return rc;
}

/* The answer of GET /api/v1/updates/show. */
static void print_update(const json_t *ans, void *arg)
{
    const json_t *u = json_object_get(ans, "update"), *arr;
    size_t i;

    (void)arg;
    printf("%s\n", jstr(u, "title"));
    printf("  id:            %s  revision %lld\n", jstr(u, "update_id"),
           (long long)json_integer_value(json_object_get(u, "revision")));
    printf("  type:          %s%s%s\n", jstr(u, "type"),
           json_is_string(json_object_get(u, "category_type")) ? " / " : "",
           jstr(u, "category_type"));
    if (json_is_string(json_object_get(u, "kb")))
        printf("  KB:            %s\n", jstr(u, "kb"));
    if (json_is_string(json_object_get(u, "msrc_severity")))
        printf("  severity:      %s\n", jstr(u, "msrc_severity"));
    if (json_is_string(json_object_get(u, "created")))
        printf("  created:       %s\n", jstr(u, "created"));
    {
        char size[32];
        long long n = (long long)json_integer_value(json_object_get(u, "size"));
        ctl_human((double)n, size, sizeof(size));
        printf("  size:          %s (%lld bytes%s)\n", size, n,
               strcmp(jstr(u, "type"), "Software") == 0 ? ", with its bundled updates" : "");
    }
    printf("  state:         %s%s\n", jstr(u, "publication_state"),
           json_is_true(json_object_get(u, "declined")) ? ", declined" : "");
    if (json_is_string(json_object_get(u, "eula_id")))
        printf("  EULA:          %s (wsusctl accepteula %s)\n", jstr(u, "eula_id"),
               jstr(u, "eula_id"));
    arr = json_object_get(u, "revisions");
    if (json_array_size(arr) > 1) {
        printf("  revisions:    ");
        for (i = 0; i < json_array_size(arr); i++)
            printf(" %lld", (long long)json_integer_value(json_array_get(arr, i)));
        printf("\n");
    }
    print_named_list("classification:", json_object_get(u, "classifications"));
    print_named_list("products:", json_object_get(u, "products"));
    print_named_list("categories:", json_object_get(u, "other_categories"));
    arr = json_object_get(u, "files");
    if (json_array_size(arr) > 0) {
        printf("files:\n");
        for (i = 0; i < json_array_size(arr); i++) {
            const json_t *f = json_array_get(arr, i);
            printf("  %s  %-8s %12lld  %s\n", jstr(f, "sha1"), jstr(f, "state"),
                   (long long)json_integer_value(json_object_get(f, "size")), jstr(f, "name"));
        }
    }
    arr = json_object_get(u, "approvals");
    if (json_array_size(arr) == 0) {
        printf("approvals: none\n");
    } else {
        printf("approvals:\n");
        for (i = 0; i < json_array_size(arr); i++) {
            const json_t *d = json_array_get(arr, i);
            printf("  %-9s %s (revision %lld, by %s%s%s%s)\n", jstr(d, "action"), jstr(d, "group"),
                   (long long)json_integer_value(json_object_get(d, "revision")), jstr(d, "admin"),
                   json_is_string(json_object_get(d, "deadline")) ? ", deadline " : "",
                   jstr(d, "deadline"),
                   json_is_true(json_object_get(d, "inherited")) ? ", inherited" : "");
        }
    }
    print_named_list("supersedes:", json_object_get(u, "supersedes"));
    print_named_list("superseded by:", json_object_get(u, "superseded_by"));
    if (json_is_string(json_object_get(u, "description")))
        printf("description:\n  %s\n", jstr(u, "description"));
}

/* POST body to path; print the JSON answer or the line from print. */

int cmd_updates_show(struct ctl *c, int argc, char **argv)
{
    char *id, *path;
    int rc;

    if (argc != 1)
        return ctl_usage(c);
    id = adminapi_escape(argv[0]);
    path = xasprintf("/api/v1/updates/show?id=%s", id);
    free(id);
    rc = adminapi_show(c, "GET", path, NULL, print_update, NULL);
    free(path);
    return rc;
}

/* POST body (consumed) signed with the admin's name, then show the answer. */
static int post_and_print(struct ctl *c, const char *path, json_t *body,
                          void (*print)(const json_t *ans, void *arg))
{
    json_object_set_new(body, "admin", json_string(ctl_admin_name()));
    return adminapi_show(c, "POST", path, body, print, NULL);
}

static void print_approve(const json_t *a, void *arg)
{
    (void)arg;
    printf("approved %s revision %lld for %s in \"%s\"%s%s (deployment %s)\n", jstr(a, "update_id"),
           (long long)json_integer_value(json_object_get(a, "revision")), jstr(a, "action"),
           jstr(a, "group"), json_is_string(json_object_get(a, "deadline")) ? ", deadline " : "",
           jstr(a, "deadline"), jstr(a, "deployment_guid"));
    if (json_array_size(json_object_get(a, "replaced")) > 0)
        printf("the previous approval for this group was replaced\n");
}

/* The filter options of approve and decline (getopt codes 'P' .. 'y'). */
#define BULK_OPTIONS                                                                               \
    {"product", required_argument, NULL, 'P'}, {"classification", required_argument, NULL, 'C'},   \
        {"search", required_argument, NULL, 's'}, {"superseded", no_argument, NULL, 'S'},          \
        {"not-approved", no_argument, NULL, 'n'}, {"dry-run", no_argument, NULL, 'N'},             \
    {                                                                                              \
        "yes", no_argument, NULL, 'y'                                                              \
    }

/* Take one filter option into b; 0, or -1 when ch is not one. */
static int bulk_option(struct ctl_bulk *b, int ch)
{
    const char **text = ch == 'P'   ? &b->product
                        : ch == 'C' ? &b->classification
                        : ch == 's' ? &b->search
                                    : NULL;
    int *flag = ch == 'S'   ? &b->superseded
                : ch == 'n' ? &b->not_approved
                : ch == 'A' ? &b->approved
                : ch == 'N' ? &b->dry_run
                : ch == 'y' ? &b->yes
                            : NULL;

    if (text != NULL)
        *text = optarg;
    else if (flag != NULL)
        *flag = 1;
    else
        return -1;
    return 0;
}

/*
 * The update ids left after the options (argv as getopt_long left it) into b. 0, or -1 when
 * there is neither an id nor a filter (the caller shows the usage).
 */
static int bulk_operands(struct ctl_bulk *b, int argc, char **argv)
{
    b->ids = argv + optind - 1;
    b->nids = argc + 1 - optind;
    return b->nids == 0 && !ctl_bulk_has_filter(b) ? -1 : 0;
}

/* Is b one plain update id (the single-update call, as before bulk)? */
static int bulk_is_single(const struct ctl_bulk *b)
{
    char *end;

    if (b->nids != 1 || ctl_bulk_has_filter(b) || b->dry_run || b->yes)
        return 0;
    /* a KB number ("KB5031356" or digits) goes to the bulk call, which resolves it */
    if (strncasecmp(b->ids[0], "kb", 2) == 0)
        return 0;
    (void)strtol(b->ids[0], &end, 10);
    return *end != '\0';
}

int cmd_approve(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"group", required_argument, NULL, 'g'},
                                             {"action", required_argument, NULL, 'a'},
                                             {"deadline", required_argument, NULL, 'd'},
                                             {"revision", required_argument, NULL, 'r'},
                                             BULK_OPTIONS,
                                             {NULL, 0, NULL, 0}};
    struct ctl_bulk b;
    long revision = -1;
    json_t *body;
    int ch;

    memset(&b, 0, sizeof(b));
    b.approving = 1;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1) {
        switch (ch) {
        case 'g':
            b.group = optarg;
            break;
        case 'a':
            b.action = optarg;
            break;
        case 'd':
            b.deadline = optarg;
            break;
        case 'r': {
            char *end;
            revision = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || revision < 0 || revision > 2147483647L)
                return ctl_fail("--revision \"%s\" is not a revision number", optarg);
            break;
        }
        default:
            if (bulk_option(&b, ch) < 0)
                return ctl_usage(c);
        }
    }
    if (bulk_operands(&b, argc, argv) < 0)
        return ctl_usage(c);
    if (!bulk_is_single(&b)) {
        if (revision >= 0)
            return ctl_fail("--revision goes with one update id; several updates are approved "
                            "at their latest revision");
        return ctl_bulk_run(c, &b);
    }
    body = json_pack("{s:s, s:s?, s:s?, s:s?}", "update_id", b.ids[0], "group", b.group, "action",
                     b.action, "deadline", b.deadline);
    if (revision >= 0)
        json_object_set_new(body, "revision", json_integer(revision));
    return post_and_print(c, "/api/v1/approve", body, print_approve);
}

static void print_unapprove(const json_t *a, void *arg)
{
    size_t n = json_array_size(json_object_get(a, "removed"));

    (void)arg;
    printf("removed %zu approval(s) of %s%s%s%s\n", n, jstr(a, "update_id"),
           json_is_string(json_object_get(a, "group")) ? " in \"" : "", jstr(a, "group"),
           json_is_string(json_object_get(a, "group")) ? "\"" : "");
}

int cmd_unapprove(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"group", required_argument, NULL, 'g'},
                                             {NULL, 0, NULL, 0}};
    const char *group = NULL;
    int ch;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1) {
        if (ch == 'g')
            group = optarg;
        else
            return ctl_usage(c);
    }
    if (optind != argc)
        return ctl_usage(c);
    return post_and_print(c, "/api/v1/unapprove",
                          json_pack("{s:s, s:s?}", "update_id", argv[optind - 1], "group", group),
                          print_unapprove);
}

static void print_decline(const json_t *a, void *arg)
{
    size_t n = json_array_size(json_object_get(a, "approvals_removed"));

    (void)arg;
    if (json_is_true(json_object_get(a, "already_declined")))
        printf("%s was already declined\n", jstr(a, "update_id"));
    else
        printf("declined %s (%s)\n", jstr(a, "update_id"), jstr(a, "title"));
    if (n > 0)
        printf("removed %zu approval(s) of it\n", n);
}

int cmd_decline(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        BULK_OPTIONS, {"approved", no_argument, NULL, 'A'}, {NULL, 0, NULL, 0}};
    struct ctl_bulk b;
    int ch;

    memset(&b, 0, sizeof(b));
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1)
        if (bulk_option(&b, ch) < 0)
            return ctl_usage(c);
    if (bulk_operands(&b, argc, argv) < 0)
        return ctl_usage(c);
    if (!bulk_is_single(&b))
        return ctl_bulk_run(c, &b);
    return post_and_print(c, "/api/v1/decline", json_pack("{s:s}", "update_id", b.ids[0]),
                          print_decline);
}

static void print_undecline(const json_t *a, void *arg)
{
    (void)arg;
    printf("%s is no longer declined\n", jstr(a, "update_id"));
}

/* A verb of one argument posted as {key: argument} to path, its answer printed by print. */
static int post_one(struct ctl *c, int argc, char **argv, const char *path, const char *key,
                    void (*print)(const json_t *ans, void *arg))
{
    if (argc != 1)
        return ctl_usage(c);
    return post_and_print(c, path, json_pack("{s:s}", key, argv[0]), print);
}

int cmd_undecline(struct ctl *c, int argc, char **argv)
{
    return post_one(c, argc, argv, "/api/v1/undecline", "update_id", print_undecline);
}

static void print_accepteula(const json_t *a, void *arg)
{
    (void)arg;
    if (json_is_true(json_object_get(a, "already_accepted")))
        printf("EULA %s was already accepted\n", jstr(a, "eula_id"));
    else
        printf("accepted EULA %s\n", jstr(a, "eula_id"));
}

int cmd_accepteula(struct ctl *c, int argc, char **argv)
{
    return post_one(c, argc, argv, "/api/v1/accepteula", "eula_id", print_accepteula);
}

static void print_approvals_count(const json_t *ans, void *arg)
{
    (void)arg;
    printf("%lld\n", (long long)json_integer_value(json_object_get(ans, "active")));
}

int cmd_approvals_count(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return ctl_fail("approvals count takes no arguments (got \"%s\")", argv[0]), 2;
    return adminapi_show(c, "GET", "/api/v1/approvals/count", NULL, print_approvals_count, NULL);
}

/* One line per inactive approval, then the count (listinactiveapprovals, remove...). */
static void print_inactive(const json_t *ans, const char *verb)
{
    const json_t *list = json_object_get(ans, "approvals");
    size_t i;

    for (i = 0; i < json_array_size(list); i++) {
        const json_t *a = json_array_get(list, i);
        printf("%s (%s) %s for \"%s\", languages %s: %s\n", jstr(a, "title"), jstr(a, "update_id"),
               jstr(a, "action"), jstr(a, "group"), jstr(a, "languages"), jstr(a, "why"));
    }
    printf("%lld inactive approval(s) %s\n",
           (long long)json_integer_value(json_object_get(ans, "count")), verb);
}

static void print_listinactive(const json_t *ans, void *arg)
{
    (void)arg;
    print_inactive(ans, "found");
}

static void print_removeinactive(const json_t *ans, void *arg)
{
    (void)arg;
    print_inactive(ans, "removed");
}

int cmd_listinactiveapprovals(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return ctl_fail("listinactiveapprovals takes no arguments (got \"%s\")", argv[0]), 2;
    return adminapi_show(c, "GET", "/api/v1/approvals/inactive", NULL, print_listinactive, NULL);
}

int cmd_removeinactiveapprovals(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return ctl_fail("removeinactiveapprovals takes no arguments (got \"%s\")", argv[0]), 2;
    return post_and_print(c, "/api/v1/approvals/inactive/remove", json_object(),
                          print_removeinactive);
}
