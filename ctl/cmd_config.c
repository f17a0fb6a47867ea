/*
 * cmd_config: `wsusctl config get/set/reset` (the admin settings kept in the catalog) and
 * `wsusctl groups [add|remove]` (computer target groups). Both talk to wsusd's admin API; the
 * validation happens there, so the messages are the server's. Secrets arrive as "(set)";
 * `config set KEY -` reads the value from standard input (no echo on a terminal) so a password
 * stays out of the shell history and ps, and a secret given on the command line gets a warning.
 */
#include "adminapi.h"
#include "strutil.h"
#include "ctl.h"
#include "xmalloc.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define CONFIG_MAX_LINE 4098 /* one value read from standard input, with its line end */

/* "key value  (default)" or "key value  (default: X)"; empty values show as "(empty)". */
static void print_setting(const json_t *s, int width)
{
    const char *value = json_string_value(json_object_get(s, "value"));
    const char *def = json_string_value(json_object_get(s, "default"));
    int is_default = json_is_true(json_object_get(s, "is_default"));

    if (value == NULL || value[0] == '\0')
        value = "(empty)";
    if (def == NULL || def[0] == '\0')
        def = "empty";
    if (is_default)
        printf("%-*s %s  (default)\n", width, json_string_value(json_object_get(s, "key")), value);
    else
        printf("%-*s %s  (default: %s)\n", width, json_string_value(json_object_get(s, "key")),
               value, def);
}

int cmd_config_get(struct ctl *c, int argc, char **argv)
{
    json_t *ans = NULL, *list;
    char *path;
    size_t i;
    int rc;

    if (argc > 1)
        return ctl_usage(c);
    if (argc == 1) {
        char *k = adminapi_escape(argv[0]);
        path = xasprintf("/api/v1/config?key=%s", k);
        free(k);
    } else {
        path = xstrdup("/api/v1/config");
    }
    rc = adminapi_run(c, "GET", path, NULL, &ans);
    free(path);
    if (rc != 0)
        return rc;
    list = json_object_get(ans, "settings");
    if (c->json) {
        adminapi_print_json(argc == 1 ? json_array_get(list, 0) : ans);
    } else if (argc == 1) {
        const char *v = json_string_value(json_object_get(json_array_get(list, 0), "value"));
        printf("%s\n", v != NULL ? v : "");
    } else {
        for (i = 0; i < json_array_size(list); i++)
            print_setting(json_array_get(list, i), 20);
    }
    json_decref(ans);
    return 0;
}

/*
 * One line of standard input into buf (without its line end), not echoed when standard input
 * is a terminal (the prompt goes to stderr). 0, or -1 after printing why (nothing read, a
 * line longer than the buffer, a read error).
 */
/* The terminal as it was before the prompt, and what to say on Ctrl-C (set before use). */
static struct termios saved_tty;
static char interrupt_msg[256];
static size_t interrupt_len;

/*
 * SIGINT/SIGTERM at the prompt: give the terminal its echo back, say so and exit at once
 * (only async-signal-safe calls). Exiting here rather than setting a flag leaves no window in
 * which a signal arrives just before the read starts and the read then waits forever.
 */
static void on_interrupt(int sig)
{
    (void)sig;
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    if (write(STDERR_FILENO, interrupt_msg, interrupt_len) < 0)
        _exit(1);
    _exit(1);
}

static int read_value_line(const char *key, char *buf, size_t len)
{
    struct termios quiet;
    struct sigaction sa, old_int, old_term;
    sigset_t unblock, old_mask;
    int tty = isatty(STDIN_FILENO), guarded = 0, echo_off = 0, rc = -1, m;
    size_t n;

    if (tty && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
        m = snprintf(interrupt_msg, sizeof(interrupt_msg),
                     "\nwsusctl: config set %s -: interrupted; nothing was changed\n", key);
        if (m < 0 || (size_t)m >= sizeof(interrupt_msg))
            m = snprintf(interrupt_msg, sizeof(interrupt_msg),
                         "\nwsusctl: interrupted; nothing was changed\n");
        interrupt_len = m > 0 ? (size_t)m : 0;
        guarded = 1;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_interrupt;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        sigemptyset(&unblock);
        sigaddset(&unblock, SIGINT);
        sigaddset(&unblock, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &unblock, &old_mask); /* a parent may have blocked them */
        /* echo goes off before the prompt shows, so nothing typed after it is echoed */
        quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    if (tty) {
        fprintf(stderr, "%s: ", key);
        fflush(stderr);
    }
    if (fgets(buf, (int)len, stdin) == NULL) {
        ctl_fail("config set %s -: nothing on standard input; give the value as one line", key);
        goto out;
    }
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
    } else if (!feof(stdin)) {
        ctl_fail("config set %s -: the line on standard input is longer than %zu bytes", key,
                 len - 2);
        goto out;
    }
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    rc = 0;
out:
    if (echo_off)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    if (guarded) {
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    return rc;
}

static int config_change(struct ctl *c, const char *key, const char *value, int from_argv)
{
    json_t *body, *ans = NULL;
    const char *warning;
    int rc;

    body = value != NULL ? json_pack("{s:s, s:s}", "key", key, "value", value)
                         : json_pack("{s:s, s:b}", "key", key, "reset", 1);
    rc = adminapi_run(c, "POST", "/api/v1/config", body, &ans);
    json_decref(body);
    if (rc != 0)
        return rc;
    warning = json_string_value(json_object_get(ans, "warning"));
    if (warning != NULL)
        fprintf(stderr, "wsusctl: warning: %s\n", warning);
    if (from_argv && json_is_true(json_object_get(ans, "secret")))
        fprintf(stderr,
                "wsusctl: warning: %s was given on the command line, where the shell history "
                "and ps can show it; next time use wsusctl config set %s - (reads it from "
                "standard input)\n",
                key, key);
    if (c->json)
        adminapi_print_json(ans);
    else
        print_setting(ans, 0);
    json_decref(ans);
    return 0;
}

int cmd_config_set(struct ctl *c, int argc, char **argv)
{
    char line[CONFIG_MAX_LINE];
    int rc;

    if (argc != 2)
        return ctl_usage(c);
    if (strcmp(argv[1], "-") != 0)
        return config_change(c, argv[0], argv[1], 1);
    if (read_value_line(argv[0], line, sizeof(line)) < 0)
        rc = 1;
    else
        rc = config_change(c, argv[0], line, 0);
    explicit_bzero(line, sizeof(line));
    return rc;
}

int cmd_config_reset(struct ctl *c, int argc, char **argv)
{
    if (argc != 1)
        return ctl_usage(c);
    return config_change(c, argv[0], NULL, 0);
}

static void print_groups(const json_t *ans, void *arg)
{
    const json_t *list = json_object_get(ans, "groups");
    size_t i;

    (void)arg;
    printf("%-36s  %-9s  %-24s  %s\n", "ID", "APPROVALS", "PARENT", "NAME");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *g = json_array_get(list, i);
        const char *parent = json_string_value(json_object_get(g, "parent"));
        printf("%-36s  %9lld  %-24s  %s%s\n", json_string_value(json_object_get(g, "id")),
               (long long)json_integer_value(json_object_get(g, "approvals")),
               parent != NULL ? parent : "-", json_string_value(json_object_get(g, "name")),
               json_is_true(json_object_get(g, "builtin")) ? "  (built-in)" : "");
    }
}

int cmd_groups(struct ctl *c, int argc, char **argv)
{
    if (argc != 0)
        return ctl_fail("unknown groups command \"%s\"; use wsusctl groups, groups add or "
                        "groups remove",
                        argv[0]),
               2;
    return adminapi_show(c, "GET", "/api/v1/groups", NULL, print_groups, NULL);
}

static void print_group_added(const json_t *ans, void *arg)
{
    const json_t *g = json_object_get(ans, "group");

    (void)arg;
    printf("added target group \"%s\" (%s) under \"%s\"\n",
           json_string_value(json_object_get(g, "name")),
           json_string_value(json_object_get(g, "id")),
           json_string_value(json_object_get(g, "parent")));
}

int cmd_groups_add(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"parent", required_argument, NULL, 'p'},
                                             {NULL, 0, NULL, 0}};
    const char *parent = NULL;
    int ch;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc + 1, argv - 1, ":", longopts, NULL)) != -1) {
        if (ch == 'p')
            parent = optarg;
        else
            return ctl_usage(c);
    }
    if (optind != argc)
        return ctl_usage(c);
    return adminapi_show(c, "POST", "/api/v1/groups/add",
                         json_pack("{s:s, s:s?}", "name", argv[optind - 1], "parent", parent),
                         print_group_added, NULL);
}

/* arg is the name as the admin typed it. */
static void print_group_removed(const json_t *ans, void *arg)
{
    long long n = (long long)json_integer_value(json_object_get(ans, "approvals_removed"));

    if (n > 0)
        printf("removed target group \"%s\" and its %lld approval(s)\n", (const char *)arg, n);
    else
        printf("removed target group \"%s\"\n", (const char *)arg);
}

int cmd_groups_remove(struct ctl *c, int argc, char **argv)
{
    if (argc != 1)
        return ctl_usage(c);
    return adminapi_show(c, "POST", "/api/v1/groups/remove", json_pack("{s:s}", "name", argv[0]),
                         print_group_removed, argv[0]);
}

/* The answer of GET /api/v1/categories: selected mark, id, type, title. */
static void print_categories(const json_t *ans, void *arg)
{
    const json_t *list = json_object_get(ans, "categories");
    size_t i, nsel = 0;

    (void)arg;
    printf("%-3s  %-36s  %-21s  %s\n", "SEL", "ID", "TYPE", "TITLE");
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        int sel = json_is_true(json_object_get(e, "selected"));
        nsel += sel != 0;
        printf("%-3s  %-36s  %-21s  ", sel ? "*" : "", json_string_value(json_object_get(e, "id")),
               json_string_value(json_object_get(e, "type")));
        ctl_put_cell(json_string_value(json_object_get(e, "title")));
        putchar('\n');
    }
    if (json_is_true(json_object_get(ans, "all_selected")))
        printf("%zu %ss; %s is empty, so all are synchronized\n", json_array_size(list),
               json_string_value(json_object_get(ans, "kind")),
               json_string_value(json_object_get(ans, "setting")));
    else
        printf("%zu %ss, %zu selected (wsusctl config set %s \"NAME,NAME\" changes it)\n",
               json_array_size(list), json_string_value(json_object_get(ans, "kind")), nsel,
               json_string_value(json_object_get(ans, "setting")));
}

static int list_categories(struct ctl *c, const char *verb, const char *kind, int argc, char **argv)
{
    char path[64];

    if (argc != 0)
        return ctl_fail("%s takes no arguments (got \"%s\")", verb, argv[0]), 2;
    if (str_fmt(path, sizeof(path), "/api/v1/categories?kind=%s", kind) < 0)
        return ctl_fail("internal error: the categories path does not fit");
    return adminapi_show(c, "GET", path, NULL, print_categories, NULL);
}

int cmd_products(struct ctl *c, int argc, char **argv)
{
    return list_categories(c, "products", "product", argc, argv);
}

int cmd_classifications(struct ctl *c, int argc, char **argv)
{
    return list_categories(c, "classifications", "classification", argc, argv);
}
