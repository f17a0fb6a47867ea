/*
 * cmd_downstreams: `wsusctl downstreams`, the downstream servers that synchronize from this
 * server, with first contact, last contact, last synchronization and the address it called
 * from (admin API).
 */
#include "adminapi.h"
#include "ctl.h"

#include <jansson.h>
#include <stdio.h>

static void print_downstreams(const json_t *ans, void *arg)
{
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
}

int cmd_downstreams(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return ctl_fail("downstreams takes no arguments (got \"%s\")", argv[0]), 2;
    return adminapi_show(c, "GET", "/api/v1/downstreams", NULL, print_downstreams, NULL);
}
