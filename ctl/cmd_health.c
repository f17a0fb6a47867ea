/*
 * cmd_health: `wsusctl checkhealth [--json]`, every check of wsusd's GET /api/v1/health as one
 * line "PASS|WARN|FAIL|SKIP  <title>: <detail>", a "fix:" line under each warning and failure,
 * and a summary. Exit 0 when no check failed (warnings and skipped checks do not fail it), 1
 * when one did or wsusd could not be asked. --json prints the API's answer, same exit status.
 */
#include "adminapi.h"
#include "ctl.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *verdict_word(const char *v)
{
    if (strcmp(v, "ok") == 0)
        return "PASS";
    if (strcmp(v, "warn") == 0)
        return "WARN";
    if (strcmp(v, "fail") == 0)
        return "FAIL";
    return "SKIP";
}

int cmd_checkhealth(struct ctl *c, int argc, char **argv)
{
    const json_t *list;
    json_t *ans = NULL;
    size_t i;
    int rc;

    if (argc != 0)
        return ctl_fail("checkhealth takes no arguments (got \"%s\")", argv[0]), 2;
    rc = adminapi_run(c, "GET", "/api/v1/health", NULL, &ans);
    if (rc != 0)
        return rc;
    rc = json_is_true(json_object_get(ans, "healthy")) ? 0 : 1;
    if (c->json) {
        adminapi_print_json(ans);
        json_decref(ans);
        return rc;
    }
    list = json_object_get(ans, "checks");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *k = json_array_get(list, i);
        const char *v = adminapi_str(k, "verdict", "skipped");
        const char *fix = adminapi_str(k, "fix", "");

        printf("%s  ", verdict_word(v));
        ctl_put_cell(adminapi_str(k, "title", "?"));
        fputs(": ", stdout);
        ctl_put_cell(adminapi_str(k, "detail", ""));
        putchar('\n');
        if (fix[0] != '\0' && (strcmp(v, "warn") == 0 || strcmp(v, "fail") == 0)) {
            fputs("      fix: ", stdout);
            ctl_put_cell(fix);
            putchar('\n');
        }
    }
    printf("checkhealth: %lld passed, %lld warnings, %lld failed, %lld skipped\n",
           (long long)json_integer_value(json_object_get(ans, "ok")),
           (long long)json_integer_value(json_object_get(ans, "warn")),
           (long long)json_integer_value(json_object_get(ans, "fail")),
           (long long)json_integer_value(json_object_get(ans, "skipped")));
    json_decref(ans);
    return rc;
}
