/*
 * wsusctl main: global options, the verb table, dispatch. Verb logic lives in cmd_*.c.
 */
#include "ctl.h"
#include "db.h"
#include "log.h"
#include "pgcluster.h"
#include "xmalloc.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct ctl_verb verbs[] = {
    {"db migrate", "", "apply pending catalog schema migrations (works without a running wsusd)",
     cmd_db_migrate},
    /* cmd_sync.c (SYNC) */
    {"sync now", "[--wait]",
     "synchronize from the upstream now (--wait: follow it with a progress bar; Ctrl-C stops "
     "following, not the sync)",
     cmd_sync_now},
    {"sync cancel", "",
     "stop the running synchronization (history: cancelled; partial files are kept and the next "
     "sync resumes them)",
     cmd_sync_cancel},
    {"sync status", "", "the running synchronization, the last result, the next scheduled time",
     cmd_sync_status},
    {"sync history", "[--limit N]", "past synchronizations with counts and failure reasons",
     cmd_sync_history},
    /* cmd_import.c (META) */
    {"import", "PACKAGE.cab [--content DIR]",
     "import a wsusutil export package into the catalog (works without a running wsusd)",
     cmd_import},
    {"export", "PACKAGE.cab", "export the whole catalog as a wsusutil package", cmd_export},
    /* cmd_reset.c (CONTENT) */
    {"reset", "", "re-verify every stored file; quarantine corrupt ones and queue them again",
     cmd_reset},
    /* cmd_config.c, cmd_updates.c (ADMIN); two-word verbs before a one-word prefix */
    {"config get", "[KEY]", "show admin settings with their defaults (one KEY: its value)",
     cmd_config_get},
    {"config set", "KEY VALUE", "change an admin setting (validated by wsusd)", cmd_config_set},
    {"config reset", "KEY", "return a setting to its default", cmd_config_reset},
    {"groups add", "NAME [--parent NAME]", "add a computer target group", cmd_groups_add},
    {"groups remove", "NAME", "remove a target group (and its approvals)", cmd_groups_remove},
    {"groups", "", "list computer target groups", cmd_groups},
    {"downstreams", "", "list the downstream servers that synchronize from this server",
     cmd_downstreams},
    {"approve", "UPDATE-ID [--group G] [--action A]",
     "approve (A = install|uninstall|block; also --deadline ISO-8601, --revision N)", cmd_approve},
    {"unapprove", "UPDATE-ID [--group NAME]", "remove approvals (all groups unless --group)",
     cmd_unapprove},
    {"decline", "UPDATE-ID", "decline an update (removes its approvals)", cmd_decline},
    {"undecline", "UPDATE-ID", "take back a decline", cmd_undecline},
    {"accepteula", "EULA-ID", "record that the license terms were accepted", cmd_accepteula},
    {"updates list", "[--type T] [--search TEXT] [...]",
     "list updates (T = software|driver|category|detectoid|all; also --product ID, "
     "--classification ID, --approved, --declined, --hidden, --limit N, --categories)",
     cmd_updates_list},
    {"updates show", "UPDATE-ID", "details: categories, files, approvals, supersedence",
     cmd_updates_show},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

int ctl_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("wsusctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int ctl_isatty(void)
{
    return isatty(STDOUT_FILENO);
}

PGconn *ctl_db(struct ctl *c)
{
    char err[1024], conninfo[1200];
    const char *ci = c->cfg.conninfo;

    if (c->db != NULL)
        return c->db;
    if (ci[0] == '\0') {
        if (pgcluster_ensure(c->cfg.state_dir, conninfo, sizeof(conninfo), err, sizeof(err)) < 0) {
            ctl_fail("%s", err);
            exit(1);
        }
        ci = conninfo;
    }
    c->db = db_connect(ci, "wsusctl", err, sizeof(err));
    if (c->db == NULL) {
        ctl_fail("%s", err);
        exit(1);
    }
    if (db_migrate(c->db, NULL, err, sizeof(err)) < 0 || db_ensure_identity(c->db) < 0) {
        ctl_fail("cannot prepare the catalog schema: %s", err);
        exit(1);
    }
    return c->db;
}

int cmd_db_migrate(struct ctl *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ctl_db(c);
    printf("catalog schema at version %d\n", db_schema_version(c->db));
    return 0;
}

static void usage(FILE *out)
{
    size_t i;

    fprintf(out,
            "usage: wsusctl [-c FILE] [--json] [-v] VERB [ARGS...]\n"
            "\n"
            "Administer a wsusd update server (the WSUS console and wsusutil in one).\n"
            "\n"
            "options:\n"
            "  -c FILE     configuration file (default %s)\n"
            "  --json      machine-readable output for read commands\n"
            "  -v          verbose (debug log lines on stderr)\n"
            "  -h, --help  this text\n"
            "  -V          version\n"
            "\nverbs:\n",
            CONFIG_DEFAULT_PATH);
    for (i = 0; i < N_VERBS; i++) {
        char left[96];
        snprintf(left, sizeof(left), "%s %s", verbs[i].name, verbs[i].args);
        fprintf(out, "  %-44s %s\n", left, verbs[i].help);
    }
    fprintf(out, "\nExit status: 0 success, 1 failure (the message says why and what to do), "
                 "2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct ctl c;
    char err[1024];
    const char *conf = CONFIG_DEFAULT_PATH;
    int conf_given = 0, ch, rc;
    size_t i;

    memset(&c, 0, sizeof(c));
    /* "+" stops at the first verb so verbs can take their own options */
    while ((ch = getopt_long(argc, argv, "+c:jvhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            conf = optarg;
            conf_given = 1;
            break;
        case 'j':
            c.json = 1;
            break;
        case 'v':
            c.verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("wsusctl %s\n", WSUSD_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc == 0) {
        usage(stderr);
        return 2;
    }
    log_init("wsusctl", 1, c.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    config_defaults(&c.cfg);
    if (config_load(&c.cfg, conf, !conf_given, err, sizeof(err)) < 0) {
        config_free(&c.cfg);
        return ctl_fail("%s", err);
    }
    c.config_path = conf;
    for (i = 0; i < N_VERBS; i++) {
        const char *name = verbs[i].name;
        const char *sp = strchr(name, ' ');
        int words = 1;

        if (sp != NULL) {
            if (argc < 2 || strncmp(argv[0], name, (size_t)(sp - name)) != 0 ||
                argv[0][sp - name] != '\0' || strcmp(argv[1], sp + 1) != 0)
                continue;
            words = 2;
        } else if (strcmp(argv[0], name) != 0) {
            continue;
        }
        /* --json may also follow the verb */
        {
            int j, k = 0;
            for (j = words; j < argc; j++) {
                if (strcmp(argv[j], "--json") == 0)
                    c.json = 1;
                else
                    argv[words + k++] = argv[j];
            }
            argc = words + k;
        }
        rc = verbs[i].run(&c, argc - words, argv + words);
        db_close(c.db);
        config_free(&c.cfg);
        return rc;
    }
    ctl_fail("unknown verb \"%s\"; see wsusctl --help", argv[0]);
    config_free(&c.cfg);
    return 2;
}
