/*
 * cmd_bulk: `wsusctl approve` / `wsusctl decline` over several updates at once: ids, KB
 * numbers or a filter (classification, product, title words, superseded, approval state),
 * done by wsusd in one transaction. A filter is confirmed on a terminal (the list, then
 * "approve 37 updates for All Computers? [y/N]") and needs --yes in scripts; what is
 * confirmed is exactly what changes (the confirmed ids are sent, not the filter again).
 */
#include "adminapi.h"
#include "ctl.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_bulk_has_filter(const struct ctl_bulk *b)
{
    return b->product != NULL || b->classification != NULL || b->search != NULL || b->superseded ||
           b->approved || b->not_approved;
}

/* Set o[k] to the string v, or to true when on; nothing when v is NULL / on is 0. */
static void set_str(json_t *o, const char *k, const char *v)
{
    if (v != NULL)
        json_object_set_new(o, k, json_string(v));
}

static void set_flag(json_t *o, const char *k, int on)
{
    if (on)
        json_object_set_new(o, k, json_true());
}

/* The request body for b: ids (or the ones given) or the filter. */
static json_t *bulk_body(const struct ctl_bulk *b, const json_t *ids, int dry_run)
{
    json_t *body = json_object();
    int i;

    if (ids != NULL) {
        json_object_set(body, "ids", (json_t *)ids);
    } else if (b->nids > 0) {
        json_t *arr = json_array();
        for (i = 0; i < b->nids; i++)
            json_array_append_new(arr, json_string(b->ids[i]));
        json_object_set_new(body, "ids", arr);
    } else {
        set_str(body, "product", b->product);
        set_str(body, "classification", b->classification);
        set_str(body, "search", b->search);
        set_flag(body, "superseded", b->superseded);
        set_flag(body, "approved", b->approved);
        set_flag(body, "not_approved", b->not_approved);
    }
    if (b->approving) {
        set_str(body, "group", b->group);
        set_str(body, "action", b->action);
        set_str(body, "deadline", b->deadline);
    }
    set_flag(body, "dry_run", dry_run);
    json_object_set_new(body, "admin", json_string(ctl_admin_name()));
    return body;
}

/* adminapi_run() with body consumed. */
static int bulk_post(struct ctl *c, const char *path, json_t *body, json_t **ans)
{
    int rc = adminapi_run(c, "POST", path, body, ans);

    json_decref(body);
    return rc;
}

/* "approved 3 update(s) for install in "All Computers":" and one line per update. */
static void bulk_print(const struct ctl_bulk *b, const json_t *ans)
{
    const json_t *list = json_object_get(ans, "updates");
    long long n = (long long)json_integer_value(json_object_get(ans, "count"));
    int dry = json_is_true(json_object_get(ans, "dry_run"));
    size_t i;

    if (n == 0) {
        printf("no update matches; nothing was changed\n");
        return;
    }
    if (b->approving)
        printf("%s %lld update(s) for %s in \"%s\":\n", dry ? "would approve" : "approved", n,
               adminapi_str(ans, "action", ""), adminapi_str(ans, "group", ""));
    else
        printf("%s %lld update(s):\n", dry ? "would decline" : "declined", n);
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *u = json_array_get(list, i);
        printf("  %-36s  %5lld  ", adminapi_str(u, "update_id", ""),
               (long long)json_integer_value(json_object_get(u, "revision")));
        ctl_put_cell(adminapi_str(u, "title", ""));
        if (!b->approving && json_is_true(json_object_get(u, "already_declined")))
            fputs("  (already declined)", stdout);
        putchar('\n');
    }
    if (dry)
        printf("dry run: nothing was changed\n");
}

/* Print the answer (consumed): --json as it is, else bulk_print(). Returns 0. */
static int bulk_show(struct ctl *c, const struct ctl_bulk *b, json_t *ans)
{
    if (c->json)
        adminapi_print_json(ans);
    else
        bulk_print(b, ans);
    json_decref(ans);
    return 0;
}

/* Ask on the terminal; 1 for yes. */
static int bulk_confirm(const struct ctl_bulk *b, const json_t *ans)
{
    char line[64];
    long long n = (long long)json_integer_value(json_object_get(ans, "count"));

    if (b->approving)
        fprintf(stderr, "approve %lld update(s) for %s? [y/N] ", n, adminapi_str(ans, "group", ""));
    else
        fprintf(stderr, "decline %lld update(s)? [y/N] ", n);
    fflush(stderr);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return 0;
    return line[0] == 'y' || line[0] == 'Y';
}

int ctl_bulk_run(struct ctl *c, const struct ctl_bulk *b)
{
    const char *path = b->approving ? "/api/v1/approve/bulk" : "/api/v1/decline/bulk";
    const char *verb = b->approving ? "approving" : "declining";
    int filter = ctl_bulk_has_filter(b), tty = isatty(STDIN_FILENO), rc;
    json_t *ans = NULL, *ids = NULL;
    size_t i;

    if (filter && b->nids > 0)
        return ctl_fail("give update ids or KB numbers, or a filter, not both");
    if (filter && !b->dry_run && !b->yes && !tty)
        return ctl_fail("%s by a filter needs --yes when not run on a terminal; see the updates "
                        "it selects first with --dry-run",
                        verb);
    if (b->dry_run || (tty && !b->yes)) {
        rc = bulk_post(c, path, bulk_body(b, NULL, 1), &ans);
        if (rc != 0)
            return rc;
        if (b->dry_run || json_integer_value(json_object_get(ans, "count")) == 0)
            return bulk_show(c, b, ans);
        bulk_print(b, ans);
        if (!bulk_confirm(b, ans)) {
            json_decref(ans);
            return ctl_fail("cancelled; nothing was changed");
        }
        /* change exactly what was shown, even if the catalog moved meanwhile */
        ids = json_array();
        for (i = 0; i < json_array_size(json_object_get(ans, "updates")); i++)
            json_array_append_new(
                ids, json_string(adminapi_str(json_array_get(json_object_get(ans, "updates"), i),
                                              "update_id", "")));
        json_decref(ans);
        ans = NULL;
    }
    rc = bulk_post(c, path, bulk_body(b, ids, 0), &ans);
    json_decref(ids);
    if (rc != 0)
        return rc;
    return bulk_show(c, b, ans);
}
