/*
 * cmd_sync: `wsusctl sync now [--wait]`, `sync cancel`, `sync status`, `sync history [--limit
 * N]`, all through wsusd's admin API (the sync itself runs inside wsusd). --wait follows the
 * run with a progress bar on a terminal (phase, counts, bytes, the rate wsusd measures) or
 * plain lines otherwise, and exits 0 when it succeeded, 1 when it failed (the reason is
 * printed); Ctrl-C stops following (the sync goes on in wsusd) and says how to cancel it.
 */
#include "adminapi.h"
#include "strutil.h"
#include "ctl.h"
#include "db.h"
#include "sync.h"
#include "upstream_state.h"
#include "xmalloc.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS       500
#define CANCEL_WAIT_S 60 /* how long `sync cancel` waits for the run to end */

static atomic_int interrupted; /* SIGINT while following a run */

static void on_sigint(int sig)
{
    (void)sig;
    atomic_store(&interrupted, 1);
}

static long jint(const json_t *o, const char *k)
{
    return (long)json_integer_value(json_object_get(o, k));
}

static void print_row(const json_t *row)
{
    char b[32];
    const char *err = adminapi_str(row, "error", NULL);
    const char *fin = adminapi_str(row, "finished_at", "-");

    if (strcmp(adminapi_str(row, "kind", "sync"), "import") == 0) {
        /* wsusctl import: the package instead of the upstream, what was already there */
        printf("#%-5ld %-9s %-8s %.19s  %.19s  new %ld, categories %ld, files %ld, already "
               "present %ld (%s)\n",
               jint(row, "id"), adminapi_str(row, "result", "?"), "import",
               adminapi_str(row, "started_at", "-"), fin, jint(row, "new_revisions"),
               jint(row, "categories"), jint(row, "files"),
               jint(json_object_get(row, "detail"), "already_present"),
               adminapi_str(row, "upstream", "?"));
        if (err != NULL && err[0] != '\0')
            printf("       reason: %s\n", err);
        return;
    }
    ctl_human((double)jint(row, "bytes"), b, sizeof(b));
    printf("#%-5ld %-9s %-8s %.19s  %.19s  new %ld, updated %ld, categories %ld, files %ld (%s)\n",
           jint(row, "id"), adminapi_str(row, "result", "?"), adminapi_str(row, "trigger", "?"),
           adminapi_str(row, "started_at", "-"), fin, jint(row, "new_revisions"),
           jint(row, "updated_revisions"), jint(row, "categories"), jint(row, "files"), b);
    if (err != NULL && err[0] != '\0')
        printf("       %s: %s\n",
               strcmp(adminapi_str(row, "result", ""), "succeeded") == 0 ? "note" : "reason", err);
}

/* One line of progress for a running row. */
/* Content bytes accounted for so far: received, resumed from partials, found published. */
static double bytes_had(const json_t *d)
{
    return (double)jint(d, "bytes_done") + (double)jint(d, "bytes_resumed") +
           (double)jint(d, "bytes_present");
}

static void progress_line(const json_t *row, char *out, size_t len)
{
    const json_t *d = json_object_get(row, "detail");
    double rate = (double)jint(d, "bytes_per_second");
    const char *phase = adminapi_str(row, "phase", "starting");
    char done[32], total[32], r[32];

    if (strcmp(phase, "content") == 0) {
        ctl_human(bytes_had(d), done, sizeof(done));
        ctl_human((double)jint(d, "bytes_total"), total, sizeof(total));
        ctl_human(rate, r, sizeof(r));
        snprintf(out, len, "content: files %ld/%ld, %s of %s, %s/s", jint(d, "files_done"),
                 jint(d, "files_total"), done, total, r);
    } else {
        snprintf(out, len, "%s: revisions %ld/%ld fetched (%ld listed), %ld new, %ld updated",
                 phase, jint(d, "revisions_fetched"), jint(d, "revisions_to_fetch"),
                 jint(d, "revisions_listed"), jint(row, "new_revisions"),
                 jint(row, "updated_revisions"));
    }
}

static double fraction(const json_t *row)
{
    const json_t *d = json_object_get(row, "detail");
    const char *phase = adminapi_str(row, "phase", "");

    if (strcmp(phase, "content") == 0 && jint(d, "bytes_total") > 0)
        return bytes_had(d) / (double)jint(d, "bytes_total");
    if (jint(d, "revisions_to_fetch") > 0)
        return (double)jint(d, "revisions_fetched") / (double)jint(d, "revisions_to_fetch");
    return 0;
}

static json_t *get_row(struct ctl *c, long id, char *err, size_t errlen)
{
    char path[64];
    json_t *ans = NULL, *row;
    int st;

    if (str_fmt(path, sizeof(path), "/api/v1/sync/history?id=%ld", id) < 0) {
        snprintf(err, errlen, "internal error: the history path does not fit");
        return NULL;
    }
    st = adminapi_call(c, "GET", path, NULL, &ans, err, errlen);
    if (st != 200) {
        json_decref(ans);
        return NULL;
    }
    row = json_incref(json_array_get(json_object_get(ans, "history"), 0));
    json_decref(ans);
    if (row == NULL)
        snprintf(err, errlen, "synchronization %ld is not in the history", id);
    return row;
}

/* Follow run id until it ends; exit status 0 if it succeeded. */
static int follow(struct ctl *c, long id)
{
    int tty = ctl_isatty() && !c->json;
    char line[256], last_phase[32] = "", err[512];
    time_t last_print = 0;
    json_t *row = NULL;
    int errors = 0;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint; /* no SA_RESTART: the poll's sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    for (;;) {
        const char *result;

        if (atomic_load(&interrupted)) {
            if (tty)
                printf("\r\033[K");
            fflush(stdout);
            fprintf(stderr,
                    "wsusctl: stopped following; synchronization %ld goes on in wsusd (wsusctl "
                    "sync status shows it, wsusctl sync cancel stops it)\n",
                    id);
            json_decref(row);
            return 130;
        }
        json_decref(row);
        row = get_row(c, id, err, sizeof(err));
        if (row == NULL) {
            if (++errors > 20)
                return ctl_fail("lost track of synchronization %ld: %s", id, err);
            usleep(POLL_MS * 1000);
            continue;
        }
        errors = 0;
        result = adminapi_str(row, "result", "running");
        if (strcmp(result, "running") != 0)
            break;
        progress_line(row, line, sizeof(line));
        if (tty) {
            int width = 24, fill = (int)(fraction(row) * width), i;
            char bar[32];
            for (i = 0; i < width; i++)
                bar[i] = i < fill ? '#' : '.';
            bar[width] = '\0';
            printf("\r\033[K[%s] %s", bar, line);
            fflush(stdout);
        } else if (!c->json && (strcmp(last_phase, adminapi_str(row, "phase", "")) != 0 ||
                                time(NULL) - last_print >= 10)) {
            printf("%s\n", line);
            fflush(stdout);
            last_print = time(NULL);
        }
        snprintf(last_phase, sizeof(last_phase), "%s", adminapi_str(row, "phase", ""));
        usleep(POLL_MS * 1000);
    }
    if (tty)
        printf("\r\033[K");
    if (c->json) {
        adminapi_print_json(row);
    } else {
        printf("synchronization %ld %s\n", id, adminapi_str(row, "result", "?"));
        print_row(row);
    }
    {
        int ok = strcmp(adminapi_str(row, "result", ""), "succeeded") == 0;
        json_decref(row);
        return ok ? 0 : 1;
    }
}

int cmd_sync_now(struct ctl *c, int argc, char **argv)
{
    json_t *ans = NULL;
    char err[512];
    int wait = 0, i, st;
    long id;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--wait") == 0)
            wait = 1;
        else
            return ctl_usage(c);
    }
    st = adminapi_call(c, "POST", "/api/v1/sync/now", NULL, &ans, err, sizeof(err));
    if (st < 0)
        return ctl_fail("%s", err);
    if (st == 409 && json_object_get(ans, "running") != NULL) {
        json_t *running = json_object_get(ans, "running");
        char line[256];
        id = jint(running, "id");
        if (c->json && !wait) {
            adminapi_print_json(ans);
            json_decref(ans);
            return 1;
        }
        fprintf(stderr, "wsusctl: a synchronization is already running");
        if (json_is_string(json_object_get(running, "front_end")))
            fprintf(stderr, " on %s", adminapi_str(running, "front_end", "?"));
        if (json_is_object(running)) {
            progress_line(running, line, sizeof(line));
            fprintf(stderr, " (#%ld, %s, started %.19s): %s", id,
                    adminapi_str(running, "trigger", "?"), adminapi_str(running, "started_at", "?"),
                    line);
        }
        fputc('\n', stderr);
        json_decref(ans);
        if (!wait || id <= 0)
            return 1;
        fprintf(stderr, "wsusctl: waiting for it to finish\n");
        return follow(c, id);
    }
    if (st != 202) {
        json_decref(ans);
        return ctl_fail("%s", err);
    }
    id = jint(ans, "id");
    json_decref(ans);
    if (!wait) {
        if (c->json)
            printf("{\"id\": %ld}\n", id);
        else
            printf("synchronization %ld started; wsusctl sync status shows its progress\n", id);
        return 0;
    }
    return follow(c, id);
}

int cmd_sync_cancel(struct ctl *c, int argc, char **argv)
{
    json_t *ans = NULL, *row = NULL;
    char err[512];
    long id;
    int st, i;

    (void)argv;
    if (argc != 0)
        return ctl_usage(c);
    st = adminapi_call(c, "POST", "/api/v1/sync/cancel", NULL, &ans, err, sizeof(err));
    id = jint(ans, "id");
    json_decref(ans);
    if (st != 202)
        return ctl_fail("%s", err);
    /* the run stops within seconds: wait for its history row to say so */
    for (i = 0; id > 0 && i < CANCEL_WAIT_S * 1000 / POLL_MS; i++) {
        json_decref(row);
        row = get_row(c, id, err, sizeof(err));
        if (row != NULL && strcmp(adminapi_str(row, "result", "running"), "running") != 0)
            break;
        usleep(POLL_MS * 1000);
    }
    if (row == NULL || strcmp(adminapi_str(row, "result", "running"), "running") == 0) {
        json_decref(row);
        printf("synchronization %ld was asked to stop; wsusctl sync status shows when it has\n",
               id);
        return 0;
    }
    if (c->json) {
        adminapi_print_json(row);
    } else {
        printf("synchronization %ld %s\n", id, adminapi_str(row, "result", "?"));
        print_row(row);
    }
    json_decref(row);
    return 0;
}

static void print_sync_status(const json_t *ans, void *arg)
{
    const json_t *running = json_object_get(ans, "running"), *last = json_object_get(ans, "last");
    const char *next, *retry, *rollup;

    (void)arg;
    if (json_is_object(running)) {
        char line[256];
        progress_line(running, line, sizeof(line));
        printf("running: #%ld (%s, started %.19s%s%s)\n  %s\n", jint(running, "id"),
               adminapi_str(running, "trigger", "?"), adminapi_str(running, "started_at", "?"),
               json_is_string(json_object_get(running, "front_end")) ? ", on " : "",
               adminapi_str(running, "front_end", ""), line);
    } else {
        printf("running: no\n");
    }
    if (json_is_object(last)) {
        printf("last:    ");
        print_row(last);
    } else {
        printf("last:    never synchronized\n");
    }
    next = adminapi_str(ans, "next_schedule", NULL);
    retry = adminapi_str(ans, "retry_at", NULL);
    printf("schedule: %s%s%s\n", adminapi_str(ans, "schedule", "manual"), next ? ", next at " : "",
           next ? next : "");
    if (retry != NULL)
        printf("retry:   at %s (after a failure)\n", retry);
    rollup = adminapi_str(ans, "next_rollup", NULL);
    if (rollup != NULL)
        printf("rollup:  next at %s (rollup-interval-hours)\n", rollup);
}

int cmd_sync_status(struct ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return ctl_usage(c);
    return adminapi_show(c, "GET", "/api/v1/sync/status", NULL, print_sync_status, NULL);
}

int cmd_sync_history(struct ctl *c, int argc, char **argv)
{
    json_t *ans = NULL, *list;
    char path[64];
    long limit = 20;
    size_t i;
    int rc;

    for (i = 0; i < (size_t)argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < (size_t)argc) {
            char *end;
            limit = strtol(argv[++i], &end, 10);
            if (*end != '\0' || limit < 1)
                return ctl_fail("--limit needs a positive number"), 2;
        } else {
            return ctl_usage(c);
        }
    }
    if (str_fmt(path, sizeof(path), "/api/v1/sync/history?limit=%ld", limit) < 0)
        return ctl_fail("internal error: the history path does not fit");
    rc = adminapi_run(c, "GET", path, NULL, &ans);
    if (rc != 0)
        return rc;
    list = json_object_get(ans, "history");
    if (c->json) {
        adminapi_print_json(list);
    } else if (json_array_size(list) == 0) {
        printf("no synchronization or import yet\n");
    } else {
        for (i = 0; i < json_array_size(list); i++)
            print_row(json_array_get(list, i));
    }
    json_decref(ans);
    return 0;
}

int cmd_sync_rollup(struct ctl *c, int argc, char **argv)
{
    PGconn *db;
    char *id, *last;
    char msg[1024];
    int rc;

    (void)argv;
    if (argc != 0)
        return ctl_usage(c);
    db = ctl_db(c);
    id = db_setting_get(db, "server_id", "");
    rc = sync_rollup_only(db, id, NULL, msg, sizeof(msg));
    free(id);
    if (rc != 0)
        return ctl_fail("%s", msg);
    last = c->json ? upstream_state_get(db, "rollup-last") : NULL;
    printf("%s\n", last != NULL ? last : msg);
    free(last);
    return 0;
}
