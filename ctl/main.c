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
    /* cmd_db.c (DB) */
    {"db migrate", "", "apply pending catalog schema migrations (works without a running wsusd)",
     NULL, cmd_db_migrate},
    {"db status", "", "the catalog database: private cluster running or not, where, how big", NULL,
     cmd_db_status},
    {"db stop", "[--force]", "stop the private PostgreSQL cluster (conninfo empty)",
     "Refused while wsusd uses it (a running wsusd starts it again when a request needs the "
     "catalog); --force stops it anyway.",
     cmd_db_stop},
    {"db backup", "FILE", "back up the catalog with pg_dump (custom format) into FILE",
     "The output says how to restore it (pg_restore).", cmd_db_backup},
    /* cmd_sync.c (SYNC) */
    {"sync now", "[--wait]",
     "synchronize from the upstream now (--wait: follow it with a progress bar)",
     "With --wait, Ctrl-C stops following, not the sync: wsusctl sync cancel stops it.",
     cmd_sync_now},
    {"sync cancel", "", "stop the running synchronization (history: cancelled)",
     "Partial files are kept; the next synchronization resumes them.", cmd_sync_cancel},
    {"sync status", "", "the running synchronization, the last result, the next scheduled time",
     NULL, cmd_sync_status},
    {"sync history", "[--limit N]", "past synchronizations with counts and failure reasons", NULL,
     cmd_sync_history},
    {"sync rollup", "",
     "report to the upstream now (reporting rollup) without synchronizing (no daemon needed)",
     "A synchronization does this at its end; this runs it alone (from cron, or after "
     "computers reported). --json prints the record of the run.",
     cmd_sync_rollup},
    /* cmd_import.c (META) */
    {"import", "PACKAGE.cab [--content DIR]",
     "import a wsusutil export package into the catalog (works without a running wsusd)", NULL,
     cmd_import},
    {"export", "PACKAGE.cab", "export the whole catalog as a wsusutil package", NULL, cmd_export},
    /* cmd_reset.c (CONTENT) */
    {"reset", "", "re-verify every stored file; quarantine corrupt ones and queue them again", NULL,
     cmd_reset},
    /* cmd_content.c (CONTENT) */
    {"content", "",
     "content store size, free space, files by state, still to download, largest updates", NULL,
     cmd_content},
    {"movecontent", "NEWDIR | --remove-old",
     "move the content to NEWDIR (verified copy, switch, old copy kept)",
     "Run it again to resume an interrupted move; the old copy stays until --remove-old. wsusd "
     "serves from NEWDIR without a restart and [storage] content_dir is set in the config file.",
     cmd_movecontent},
    /* cmd_config.c, cmd_updates.c (ADMIN); two-word verbs before a one-word prefix */
    {"config get", "[KEY]", "show admin settings with their defaults (one KEY: its value)", NULL,
     cmd_config_get},
    {"config set", "KEY VALUE", "change an admin setting (validated by wsusd)",
     "Quote a VALUE with spaces; \"\" sets an empty value. VALUE - reads the value as one line "
     "from standard input, not echoed on a terminal: use it for secrets (wsusctl config set "
     "proxy-password -), which keeps them out of the shell history and ps.",
     cmd_config_set},
    {"config reset", "KEY", "return a setting to its default", NULL, cmd_config_reset},
    {"groups add", "NAME [--parent NAME]", "add a computer target group",
     "Quote a NAME with spaces.", cmd_groups_add},
    {"groups remove", "NAME", "remove a target group (and its approvals)",
     "Quote a NAME with spaces.", cmd_groups_remove},
    {"groups", "", "list computer target groups", NULL, cmd_groups},
    {"downstreams", "", "list the downstream servers that synchronize from this server", NULL,
     cmd_downstreams},
    {"products", "", "list the products of the catalog; * marks those synchronized",
     "config set products takes names as well as GUIDs: \"Windows 11,Microsoft Defender "
     "Antivirus\".",
     cmd_products},
    {"classifications", "",
     "list the update classifications of the catalog; * marks those "
     "synchronized",
     "config set classifications takes names as well as GUIDs.", cmd_classifications},
    {"checkhealth", "[--json]",
     "check database, content, upstream path (name, proxy, TLS, Range) and sync; one line each",
     "Prints PASS, WARN, FAIL or SKIP with the detail, and the fix under each WARN and FAIL. "
     "Exit 0 when nothing failed (warnings do not fail), 1 otherwise.",
     cmd_checkhealth},
    {"computers show", "NAME|ID", "a Windows computer: groups, OS, contacts, update status", NULL,
     cmd_computers_show},
    {"computers move", "NAME|ID --group NAME", "move a Windows computer to a target group",
     "With client-targeting client the computer's policy sets its group again.",
     cmd_computers_move},
    {"computers remove", "NAME|ID", "forget a Windows computer and its reported events", NULL,
     cmd_computers_remove},
    {"computers", "[--group NAME]", "list the Windows computers that use this server", NULL,
     cmd_computers},
    {"report", "[--group NAME] [--update ID|KB]",
     "compliance: per approved update, computers needing it, downloaded, installed, failed, "
     "not applicable (their own status)",
     NULL, cmd_report},
    {"approve",
     "ID|KB... | [--classification NAME|GUID] [--product NAME|GUID] [--search WORDS] "
     "[--superseded] [--not-approved]; [--group NAME] [--action install|uninstall|block] "
     "[--deadline ISO-8601] [--revision N] [--dry-run] [--yes]",
     "approve updates (ids, KB numbers or a filter) for a group (default All Computers)",
     "Several ids, KB numbers or a filter are approved in one change; --dry-run lists them and "
     "changes nothing. On a terminal the list is confirmed; in scripts a filter needs --yes.",
     cmd_approve},
    {"unapprove", "UPDATE-ID [--group NAME]", "remove approvals (all groups unless --group)", NULL,
     cmd_unapprove},
    {"decline",
     "ID|KB... | [--classification NAME|GUID] [--product NAME|GUID] [--search WORDS] "
     "[--superseded] [--approved|--not-approved]; [--dry-run] [--yes]",
     "decline updates (removes their approvals): ids, KB numbers or a filter",
     "Several ids, KB numbers or a filter are declined in one change; --dry-run lists them and "
     "changes nothing. On a terminal the list is confirmed; in scripts a filter needs --yes.",
     cmd_decline},
    {"undecline", "UPDATE-ID", "take back a decline", NULL, cmd_undecline},
    {"accepteula", "EULA-ID", "record that the license terms were accepted", NULL, cmd_accepteula},
    {"approvals count", "", "print the number of active approvals",
     "A replica and its upstream print the same figure once the replica is consistent.",
     cmd_approvals_count},
    {"listinactiveapprovals", "",
     "list approvals of updates only for languages no longer enabled (or carried upstream)",
     "An approval is inactive when its update is specific only to languages this server does "
     "not enable or, on a replica, that its upstream no longer carries (wsusutil "
     "listinactiveapprovals). With --json: the list.",
     cmd_listinactiveapprovals},
    {"removeinactiveapprovals", "", "remove the inactive approvals and print how many",
     "Marks them removed as unapprove does. Allowed on a replica (the seed guide runs it "
     "there): afterwards approvals count matches the upstream's.",
     cmd_removeinactiveapprovals},
    {"updates list",
     "[--type software|driver|category|detectoid|all] [--product NAME|GUID] "
     "[--classification NAME|GUID] [--search WORDS|KB|ID] [--approved] [--not-approved] "
     "[--declined] [--superseded] [--hidden] [--categories] [--limit N] | --failed [--limit N]",
     "list updates with their size (default: software and drivers, newest first)",
     "--search finds titles holding every word (any order), a KB number or an update id; "
     "product and classification names are whole titles, any case. --failed: the \"red X\" "
     "list: updates with files that failed, that the upstream no longer has (gone) or has not "
     "downloaded yet (pending), each with its remedy.",
     cmd_updates_list},
    {"updates show", "UPDATE-ID", "details: size, categories, files, approvals, supersedence", NULL,
     cmd_updates_show},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *out)
{
    size_t i;

    fprintf(out,
            "usage: wsusctl [-c FILE] [--json] [-v] VERB [ARGS...]\n"
            "       wsusctl help [VERB]      wsusctl VERB --help      wsusctl --version\n"
            "\n"
            "Administer a wsusd update server (the WSUS console and wsusutil in one).\n"
            "\n"
            "options:\n"
            "  -c FILE        configuration file (default %s)\n"
            "  --json         machine-readable output (one JSON object or array)\n"
            "  -v             verbose (debug log lines on stderr)\n"
            "  -h, --help     this text\n"
            "  -V, --version  version\n"
            "\nverbs:\n",
            CONFIG_DEFAULT_PATH);
    for (i = 0; i < N_VERBS; i++)
        fprintf(out, "  %-22s %s\n", verbs[i].name, verbs[i].help);
    fprintf(out, "\n`wsusctl help VERB` shows a verb's arguments.\n"
                 "Exit status: 0 success, 1 failure (the message says why and what to do), "
                 "2 usage error.\n");
}

/* `wsusctl help VERB`: the verb's usage, what it does and its note. */
static void verb_help(const struct ctl_verb *v)
{
    ctl_verb_usage(v, stdout, "usage: ");
    printf("\n%s.\n", v->help);
    if (v->note != NULL)
        printf("%s\n", v->note);
}

/* Length of the first word of a verb name ("sync" of "sync now"). */
static size_t first_word(const char *name)
{
    return strcspn(name, " ");
}

/* Is word the first word of a two-word verb ("sync", "config", ...)? */
static int is_family(const char *word)
{
    size_t i;

    for (i = 0; i < N_VERBS; i++) {
        size_t n = first_word(verbs[i].name);
        if (verbs[i].name[n] == ' ' && strlen(word) == n && strncmp(verbs[i].name, word, n) == 0)
            return 1;
    }
    return 0;
}

/* Is verb v named by argv? Returns the number of words it takes (1 or 2), or 0. */
static int verb_matches(const struct ctl_verb *v, int argc, char **argv)
{
    size_t n = first_word(v->name);

    if (v->name[n] == '\0')
        return strcmp(argv[0], v->name) == 0;
    if (argc < 2 || strlen(argv[0]) != n || strncmp(argv[0], v->name, n) != 0 ||
        strcmp(argv[1], v->name + n + 1) != 0)
        return 0;
    return 2;
}

static const struct ctl_verb *find_verb(int argc, char **argv, int *words)
{
    size_t i;

    for (i = 0; i < N_VERBS; i++)
        if ((*words = verb_matches(&verbs[i], argc, argv)) > 0)
            return &verbs[i];
    return NULL;
}

/* Edit distance (insertions, deletions, substitutions, adjacent transpositions), capped: any
 * distance above 3 is reported as 4. Verb names are short. */
static int edit_distance(const char *a, const char *b)
{
    enum { MAXLEN = 32 };
    int d[MAXLEN + 1][MAXLEN + 1];
    size_t la = strlen(a), lb = strlen(b), i, j;

    if (la > MAXLEN || lb > MAXLEN)
        return 4;
    for (i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (i = 1; i <= la; i++) {
        for (j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb] > 3 ? 4 : d[la][lb];
}

/* The verbs of a family, "now, status, history", into out. */
static void family_list(const char *family, char *out, size_t outlen)
{
    size_t i, used = 0, n = strlen(family);
    int w;

    out[0] = '\0';
    for (i = 0; i < N_VERBS; i++) {
        const char *name = verbs[i].name;
        if (first_word(name) != n || strncmp(name, family, n) != 0 || name[n] != ' ')
            continue;
        w = snprintf(out + used, outlen - used, "%s%s", used > 0 ? ", " : "", name + n + 1);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

/*
 * An unknown verb: say so, with the nearest verb when one is close ("did you mean"), or the
 * verbs of the family when the first word was right. Returns 2.
 */
static int unknown_verb(int argc, char **argv)
{
    const char *best = NULL;
    int best_d = 3;
    size_t k;
    char typed[160], family[256];

    if (argc >= 2 && is_family(argv[0]))
        snprintf(typed, sizeof(typed), "%s %s", argv[0], argv[1]);
    else
        snprintf(typed, sizeof(typed), "%s", argv[0]);
    for (k = 0; k < N_VERBS; k++) {
        int d = edit_distance(typed, verbs[k].name);
        if (d < best_d) {
            best_d = d;
            best = verbs[k].name;
        }
    }
    if (!is_family(argv[0])) {
        /* a typo in a family word ("snyc now"): name the family and its verbs */
        for (k = 0; k < N_VERBS; k++) {
            size_t n = first_word(verbs[k].name);
            char word[64];
            int d;
            if (verbs[k].name[n] != ' ' || n >= sizeof(word))
                continue;
            memcpy(word, verbs[k].name, n);
            word[n] = '\0';
            if ((d = edit_distance(argv[0], word)) < best_d) {
                family_list(word, family, sizeof(family));
                ctl_fail("unknown verb \"%s\"; did you mean \"%s\"? (%s verbs: %s)", argv[0], word,
                         word, family);
                return 2;
            }
        }
    } else {
        family_list(argv[0], family, sizeof(family));
        if (argc < 2)
            ctl_fail("\"%s\" needs one of: %s; see wsusctl help %s", argv[0], family, argv[0]);
        else if (best != NULL)
            ctl_fail("unknown verb \"%s\"; did you mean \"%s\"? (%s verbs: %s)", typed, best,
                     argv[0], family);
        else
            ctl_fail("unknown verb \"%s\"; %s verbs: %s", typed, argv[0], family);
        return 2;
    }
    if (best != NULL)
        ctl_fail("unknown verb \"%s\"; did you mean \"%s\"? (see wsusctl --help)", typed, best);
    else
        ctl_fail("unknown verb \"%s\"; see wsusctl --help", typed);
    return 2;
}

/* `wsusctl help [VERB...]`. */
static int cmd_help(int argc, char **argv)
{
    const struct ctl_verb *v;
    int words, shown = 0;
    size_t i, n;

    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    if ((v = find_verb(argc, argv, &words)) != NULL && words == argc) {
        verb_help(v);
        return 0;
    }
    if (argc == 1 && is_family(argv[0])) {
        n = strlen(argv[0]);
        for (i = 0; i < N_VERBS; i++) {
            if (first_word(verbs[i].name) != n || strncmp(verbs[i].name, argv[0], n) != 0)
                continue;
            if (shown++ > 0)
                putchar('\n');
            verb_help(&verbs[i]);
        }
        return 0;
    }
    return unknown_verb(argc, argv);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    struct ctl c;
    char err[1024];
    const char *conf = CONFIG_DEFAULT_PATH;
    const struct ctl_verb *verb;
    int conf_given = 0, ch, rc, words, j, k;

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
    if (strcmp(argv[0], "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    if ((verb = find_verb(argc, argv, &words)) == NULL)
        return unknown_verb(argc, argv);
    /* --json and --help may also follow the verb */
    for (j = words, k = 0; j < argc; j++) {
        if (strcmp(argv[j], "--help") == 0) {
            verb_help(verb);
            return 0;
        }
        if (strcmp(argv[j], "--json") == 0)
            c.json = 1;
        else
            argv[words + k++] = argv[j];
    }
    argc = words + k;
    log_init("wsusctl", 1, c.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
    config_defaults(&c.cfg);
    if (config_load(&c.cfg, conf, !conf_given, err, sizeof(err)) < 0) {
        config_free(&c.cfg);
        return ctl_fail("%s", err);
    }
    c.config_path = conf;
    c.verb = verb;
    rc = verb->run(&c, argc - words, argv + words);
    db_close(c.db);
    config_free(&c.cfg);
    return rc;
}
