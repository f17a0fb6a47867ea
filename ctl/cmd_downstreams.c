/*
 * cmd_downstreams: `wsusctl downstreams`, the downstream servers that synchronize from this
 * server, with first contact, last contact, last synchronization and the address it called
 * from, then the tree of servers below as they rolled it up (mode, last sync, last rollup, the
 * summary counts) (admin API).
 */
#include "adminapi.h"
#include "ctl.h"

#include <jansson.h>
#include <stdio.h>

static long long summary_n(const json_t *d, const char *key)
{
    return (long long)json_integer_value(json_object_get(json_object_get(d, "summary"), key));
}

/* One server of the tree and, indented, its children (depth bounded by the admin API). */
static void print_tree(const json_t *list, int depth)
{
    size_t i;

    for (i = 0; i < json_array_size(list) && depth < 32; i++) {
        const json_t *d = json_array_get(list, i);
        const char *sync = json_string_value(json_object_get(d, "last_sync"));
        const char *rollup = json_string_value(json_object_get(d, "last_rollup"));
        char name[300];

        if (snprintf(name, sizeof(name), "%*s%s", depth * 2, "",
                     json_string_value(json_object_get(d, "name"))) >= (int)sizeof(name))
            name[sizeof(name) - 1] = '\0';
        printf("%-32s  %-10s  %-20s  %-20s  %-7lld  %-8lld  %-9lld  %-7lld  %-6lld  %-10lld  %s\n",
               name, json_string_value(json_object_get(d, "mode")), sync != NULL ? sync : "never",
               rollup != NULL ? rollup : "never", summary_n(d, "UpdateCount"),
               summary_n(d, "ApprovedUpdateCount"), summary_n(d, "ComputerTargetCount"),
               summary_n(d, "ComputerTargetsNeedingUpdatesCount"),
               summary_n(d, "ComputerTargetsWithUpdateErrorsCount"),
               summary_n(d, "ComputersUpToDateCount"),
               json_string_value(json_object_get(d, "server_id")));
        print_tree(json_object_get(d, "children"), depth + 1);
    }
}

static void print_downstreams(const json_t *ans, void *arg)
{
    const json_t *tree = json_object_get(ans, "tree");
    const json_t *list = json_object_get(ans, "downstreams");
    size_t i;

    (void)arg;
    if (json_array_size(list) == 0)
        printf("no downstream server has synchronized from this server yet\n");
    else
        printf("%-36s  %-20s  %-20s  %-8s  %-15s  %s\n", "ACCOUNT GUID", "LAST SYNC",
               "LAST CONTACT", "PROTOCOL", "ADDRESS", "NAME");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *d = json_array_get(list, i);
        const char *last_sync = json_string_value(json_object_get(d, "last_sync"));
        const char *proto = json_string_value(json_object_get(d, "protocol_version"));
        const char *addr = json_string_value(json_object_get(d, "address"));

        printf("%-36s  %-20s  %-20s  %-8s  %-15s  %s\n",
               json_string_value(json_object_get(d, "account_guid")),
               last_sync != NULL ? last_sync : "never",
               json_string_value(json_object_get(d, "last_contact")), proto != NULL ? proto : "-",
               addr != NULL ? addr : "-", json_string_value(json_object_get(d, "account_name")));
    }
    if (json_array_size(tree) == 0)
        return;
    printf("\nservers below, as they reported themselves (reporting rollup):\n");
    printf("%-32s  %-10s  %-20s  %-20s  %-7s  %-8s  %-9s  %-7s  %-6s  %-10s  %s\n", "SERVER",
           "MODE", "LAST SYNC", "LAST ROLLUP", "UPDATES", "APPROVED", "COMPUTERS", "NEEDING",
           "ERRORS", "UP TO DATE", "SERVER ID");
    print_tree(tree, 0);
}

int cmd_downstreams(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return ctl_fail("downstreams takes no arguments (got \"%s\")", argv[0]), 2;
    return adminapi_show(c, "GET", "/api/v1/downstreams", NULL, print_downstreams, NULL);
}
