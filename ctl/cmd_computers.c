/*
 * cmd_computers: `wsusctl computers [--group NAME]`, `computers show NAME|ID`,
 * `computers move NAME|ID --group NAME`, `computers remove NAME|ID`: the Windows computers
 * that use this server, and `wsusctl report [--group NAME] [--update ID|KB]`, their compliance
 * with the approvals, from the admin API (/api/v1/computers..., /api/v1/report).
 */
#include "adminapi.h"
#include "ctl.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_or(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL && s[0] != '\0' ? s : def;
}

static long long updates_n(const json_t *c, const char *key)
{
    return (long long)json_integer_value(json_object_get(json_object_get(c, "updates"), key));
}

static void print_computers(const json_t *ans, void *arg)
{
    const json_t *list = json_object_get(ans, "computers");
    size_t i;

    (void)arg;
    if (json_array_size(list) == 0) {
        printf("no computer has registered with this server%s\n",
               arg ? " in that group" : " or a server below it");
        return;
    }
    printf("%-30s  %-36s  %-16s  %-20s  %-5s  %-5s  %-5s  %-24s  %s\n", "NAME", "ID", "OS",
           "LAST SYNC", "DOWNL", "INST", "FAIL", "GROUPS", "SERVER");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *c = json_array_get(list, i);

        printf("%-30s  %-36s  %-16s  %-20s  %-5lld  %-5lld  %-5lld  ", str_or(c, "name", "-"),
               str_or(c, "id", "-"), str_or(c, "os_version", "-"), str_or(c, "last_sync", "never"),
               updates_n(c, "downloaded"), updates_n(c, "installed"), updates_n(c, "failed"));
        printf("%-24s  ", str_or(c, "groups", "-"));
        ctl_put_cell(str_or(c, "server", "-"));
        putchar('\n');
    }
}

/* The --group NAME option of argv (after the verb); 0, or -1 on anything else. */
static int group_option(int argc, char **argv, const char **group)
{
    static const struct option longopts[] = {{"group", required_argument, NULL, 'g'},
                                             {NULL, 0, NULL, 0}};
    int ch;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1) {
        if (ch != 'g')
            return -1;
        *group = optarg;
    }
    return 0;
}

/* Every computer: GET computers without limit (the console pages it with limit/offset). */
int cmd_computers(struct ctl *c, int argc, char **argv)
{
    const char *group = NULL;
    char path[600];

    if (group_option(argc, argv, &group) < 0)
        return ctl_usage(c);
    if (optind - 1 != argc)
        return ctl_fail("unknown computers command \"%s\"; use wsusctl computers, computers "
                        "show, computers move or computers remove",
                        argv[optind - 1]),
               2;
    if (group != NULL) {
        char *g = adminapi_escape(group);
        int n = snprintf(path, sizeof(path), "/api/v1/computers?group=%s", g);

        free(g);
        if (n < 0 || (size_t)n >= sizeof(path))
            return ctl_fail("the group name is too long"), 2;
    } else if (snprintf(path, sizeof(path), "/api/v1/computers") >= (int)sizeof(path)) {
        return 1;
    }
    return adminapi_show(c, "GET", path, NULL, print_computers, (void *)group);
}

static void print_computer(const json_t *ans, void *arg)
{
    const json_t *st = json_object_get(ans, "update_status");
    size_t i;

    (void)arg;
    printf("name:            %s\n", str_or(ans, "name", "-"));
    printf("id:              %s\n", str_or(ans, "id", "-"));
    printf("groups:          %s\n", str_or(ans, "groups", "-"));
    printf("os:              %s (%s)\n", str_or(ans, "os_description", "-"),
           str_or(ans, "os_version", "-"));
    printf("agent:           %s\n", str_or(ans, "client_version", "-"));
    printf("address:         %s\n", str_or(ans, "address", "-"));
    printf("first contact:   %s\n", str_or(ans, "first_contact", "-"));
    printf("last contact:    %s\n", str_or(ans, "last_contact", "-"));
    printf("registered:      %s\n", str_or(ans, "registered", "never"));
    printf("last sync:       %s\n", str_or(ans, "last_sync", "never"));
    if (json_is_true(json_object_get(ans, "rolled_up")))
        printf("server:          %s (reported by the reporting rollup)\n",
               str_or(ans, "server", "-"));
    if (json_array_size(st) == 0) {
        printf("updates:         no update status reported yet\n");
        return;
    }
    printf("updates (last event reported for each):\n");
    for (i = 0; i < json_array_size(st); i++) {
        const json_t *u = json_array_get(st, i);

        printf("  %-10s  %-36s  %-20s  ", str_or(u, "status", "-"), str_or(u, "update_id", "-"),
               str_or(u, "time", "-"));
        ctl_put_cell(str_or(u, "title", ""));
        putchar('\n');
    }
}

int cmd_computers_show(struct ctl *c, int argc, char **argv)
{
    char path[600], *e;
    int n;

    if (argc != 1)
        return ctl_usage(c);
    e = adminapi_escape(argv[0]);
    n = snprintf(path, sizeof(path), "/api/v1/computers/show?computer=%s", e);
    free(e);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ctl_fail("the computer name is too long"), 2;
    return adminapi_show(c, "GET", path, NULL, print_computer, NULL);
}

static void print_moved(const json_t *ans, void *arg)
{
    printf("moved computer %s to \"%s\"\n", (const char *)arg, str_or(ans, "group", "-"));
}

int cmd_computers_move(struct ctl *c, int argc, char **argv)
{
    const char *group = NULL;

    if (group_option(argc, argv, &group) < 0 || optind != argc || group == NULL)
        return ctl_usage(c);
    return adminapi_show(c, "POST", "/api/v1/computers/move",
                         json_pack("{s:s, s:s}", "computer", argv[optind - 1], "group", group),
                         print_moved, argv[optind - 1]);
}

static void print_removed(const json_t *ans, void *arg)
{
    printf("removed computer %s (%s) and its reported events\n", (const char *)arg,
           str_or(ans, "removed", "-"));
}

int cmd_computers_remove(struct ctl *c, int argc, char **argv)
{
    if (argc != 1)
        return ctl_usage(c);
    return adminapi_show(c, "POST", "/api/v1/computers/remove",
                         json_pack("{s:s}", "computer", argv[0]), print_removed, argv[0]);
}

/* The part of the report the servers below rolled up (their computers' update statuses). */
static void print_downstream_report(const json_t *down)
{
    const json_t *list = json_object_get(down, "updates");
    size_t i;

    if (down == NULL || json_integer_value(json_object_get(down, "computers")) == 0)
        return;
    printf("\ncomputers of the servers below (reporting rollup): %lld\n",
           (long long)json_integer_value(json_object_get(down, "computers")));
    if (json_array_size(list) == 0) {
        printf("no update status rolled up yet\n");
        return;
    }
    printf("%-36s  %-10s  %-9s  %-6s  %-10s  %-9s  %-6s  %-8s  %s\n", "UPDATE", "KB", "COMPUTERS",
           "NEEDED", "DOWNLOADED", "INSTALLED", "FAILED", "NOT APPL", "TITLE");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *u = json_array_get(list, i);

        printf("%-36s  %-10s  %-9lld  %-6lld  %-10lld  %-9lld  %-6lld  %-8lld  ",
               str_or(u, "update_id", "-"), str_or(u, "kb", "-"),
               (long long)json_integer_value(json_object_get(u, "computers")),
               (long long)json_integer_value(json_object_get(u, "needed")),
               (long long)json_integer_value(json_object_get(u, "downloaded")),
               (long long)json_integer_value(json_object_get(u, "installed")),
               (long long)json_integer_value(json_object_get(u, "failed")),
               (long long)json_integer_value(json_object_get(u, "not_applicable")));
        ctl_put_cell(str_or(u, "title", ""));
        putchar('\n');
    }
}

static void print_report(const json_t *ans, void *arg)
{
    const json_t *list = json_object_get(ans, "updates");
    size_t i;

    (void)arg;
    printf("computers: %lld, not reporting (never scanned or silent for %lld days): %lld\n",
           (long long)json_integer_value(json_object_get(ans, "computers")),
           (long long)json_integer_value(json_object_get(ans, "stale_days")),
           (long long)json_integer_value(json_object_get(ans, "not_reporting")));
    printf("needing updates: %lld, with update errors: %lld, up to date: %lld\n",
           (long long)json_integer_value(json_object_get(ans, "needing_updates")),
           (long long)json_integer_value(json_object_get(ans, "with_errors")),
           (long long)json_integer_value(json_object_get(ans, "up_to_date")));
    if (json_array_size(list) == 0)
        printf("no update is approved for install to these computers\n");
    else
        printf("%-36s  %-10s  %-8s  %-6s  %-10s  %-9s  %-6s  %-7s  %-8s  %s\n", "UPDATE", "KB",
               "APPROVED", "NEEDED", "DOWNLOADED", "INSTALLED", "FAILED", "NOT-APP", "INFERRED",
               "TITLE");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *u = json_array_get(list, i);

        printf("%-36s  %-10s  %-8lld  %-6lld  %-10lld  %-9lld  %-6lld  %-7lld  %-8lld  ",
               str_or(u, "update_id", "-"), str_or(u, "kb", "-"),
               (long long)json_integer_value(json_object_get(u, "approved")),
               (long long)json_integer_value(json_object_get(u, "needed")),
               (long long)json_integer_value(json_object_get(u, "downloaded")),
               (long long)json_integer_value(json_object_get(u, "installed")),
               (long long)json_integer_value(json_object_get(u, "failed")),
               (long long)json_integer_value(json_object_get(u, "not_applicable")),
               (long long)json_integer_value(json_object_get(u, "inferred")));
        ctl_put_cell(str_or(u, "title", ""));
        putchar('\n');
    }
    print_downstream_report(json_object_get(ans, "downstream"));
}

int cmd_report(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"group", required_argument, NULL, 'g'},
                                             {"update", required_argument, NULL, 'u'},
                                             {NULL, 0, NULL, 0}};
    const char *group = NULL, *update = NULL;
    char path[800], *g = NULL, *u = NULL;
    int ch, n;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1) {
        if (ch == 'g')
            group = optarg;
        else if (ch == 'u')
            update = optarg;
        else
            return ctl_usage(c);
    }
    if (optind - 1 != argc)
        return ctl_usage(c);
    g = group != NULL ? adminapi_escape(group) : NULL;
    u = update != NULL ? adminapi_escape(update) : NULL;
    n = snprintf(path, sizeof(path), "/api/v1/report%s%s%s%s%s", g || u ? "?" : "",
                 g ? "group=" : "", g ? g : "",
                 g && u ? "&update="
                 : u    ? "update="
                        : "",
                 u ? u : "");
    free(g);
    free(u);
    if (n < 0 || (size_t)n >= sizeof(path))
        return ctl_fail("the group or update is too long"), 2;
    return adminapi_show(c, "GET", path, NULL, print_report, NULL);
}
