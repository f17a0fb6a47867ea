/*
 * wsusctl: the admin command line (the WSUS console and wsusutil in one). main.c holds the
 * verb table and global options; each cmd_*.c implements a family of verbs; ctl.c the helpers
 * they share (declared here, above the verb families). Verbs that only
 * touch the catalog (db migrate, import, export) open the database themselves; the others go
 * through wsusd's admin API (adminapi.h).
 */
#ifndef WSUS_CTL_H
#define WSUS_CTL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

struct ctl {
    struct config cfg;
    const char *config_path;
    int json;                    /* --json: one JSON object/array instead of text, every verb */
    int verbose;                 /* -v */
    PGconn *db;                  /* opened by ctl_db(), closed at exit */
    const struct ctl_verb *verb; /* the verb being run (for ctl_usage) */
};

/*
 * Connection to the catalog: [database] conninfo, or the private cluster under state_dir
 * (started if needed). Pending migrations are applied. On failure prints one line with the fix
 * and exits 1, so callers never see NULL.
 */
PGconn *ctl_db(struct ctl *c);

/* Print "wsusctl: <message>" (and a newline) to stderr. Returns 1 (an exit status). */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "wsusctl: usage: wsusctl VERB ARGS" (the verb table's text, the one --help and
 * `wsusctl help VERB` show) to stderr. Returns 2 (the usage-error exit status). */
int ctl_usage(const struct ctl *c);
/* The verb's usage line ("PREFIXwsusctl NAME ARGS") on out. */
void ctl_verb_usage(const struct ctl_verb *v, FILE *out, const char *prefix);

/* Write s to stdout as one table cell: every control byte (newline, tab, escape, ...) becomes
 * a space and trailing white space is dropped, so an odd title cannot break the table. No
 * newline is added. */
void ctl_put_cell(const char *s);

/* v bytes in human units ("512 B", "1.5 MB": 1024-based, one decimal) into out. */
void ctl_human(double v, char *out, size_t len);

/* Is stdout a terminal (for progress bars)? */
int ctl_isatty(void);

struct ctl_verb {
    const char *name; /* "import", "db migrate", "sync now", ... */
    const char *args; /* usage after the name, e.g. "PACKAGE.cab [--content DIR]" */
    const char *help; /* one line for --help */
    const char *note; /* NULL, or a sentence added to this verb's usage text */
    /* argv[0] is the first argument after the verb name. Returns the exit status. */
    int (*run)(struct ctl *c, int argc, char **argv);
};

/* Verb implementations (one prototype per verb; the table lives in main.c). */
/* cmd_db.c (DB) */
int cmd_db_migrate(struct ctl *c, int argc, char **argv);
int cmd_db_status(struct ctl *c, int argc, char **argv);
int cmd_db_stop(struct ctl *c, int argc, char **argv);
int cmd_db_backup(struct ctl *c, int argc, char **argv);
/* cmd_sync.c (SYNC) */
int cmd_sync_now(struct ctl *c, int argc, char **argv);
int cmd_sync_cancel(struct ctl *c, int argc, char **argv);
int cmd_sync_status(struct ctl *c, int argc, char **argv);
int cmd_sync_history(struct ctl *c, int argc, char **argv);
int cmd_sync_rollup(struct ctl *c, int argc, char **argv);
/* cmd_import.c (META) */
int cmd_import(struct ctl *c, int argc, char **argv);
int cmd_export(struct ctl *c, int argc, char **argv);
/* cmd_reset.c (CONTENT) */
int cmd_reset(struct ctl *c, int argc, char **argv);
/* cmd_content.c (CONTENT) */
int cmd_content(struct ctl *c, int argc, char **argv);
int cmd_movecontent(struct ctl *c, int argc, char **argv);
/* cmd_config.c (ADMIN) */
int cmd_config_get(struct ctl *c, int argc, char **argv);
int cmd_config_set(struct ctl *c, int argc, char **argv);
int cmd_config_reset(struct ctl *c, int argc, char **argv);
int cmd_groups(struct ctl *c, int argc, char **argv);
int cmd_downstreams(struct ctl *c, int argc, char **argv);
/* cmd_health.c */
int cmd_checkhealth(struct ctl *c, int argc, char **argv);
int cmd_computers(struct ctl *c, int argc, char **argv);
int cmd_computers_show(struct ctl *c, int argc, char **argv);
int cmd_computers_move(struct ctl *c, int argc, char **argv);
int cmd_computers_remove(struct ctl *c, int argc, char **argv);
int cmd_report(struct ctl *c, int argc, char **argv);
int cmd_groups_add(struct ctl *c, int argc, char **argv);
int cmd_groups_remove(struct ctl *c, int argc, char **argv);
int cmd_products(struct ctl *c, int argc, char **argv);
int cmd_classifications(struct ctl *c, int argc, char **argv);
/* cmd_updates.c (ADMIN) */
int cmd_updates_list(struct ctl *c, int argc, char **argv);
int cmd_updates_show(struct ctl *c, int argc, char **argv);
int cmd_approve(struct ctl *c, int argc, char **argv);
int cmd_unapprove(struct ctl *c, int argc, char **argv);
int cmd_decline(struct ctl *c, int argc, char **argv);
int cmd_undecline(struct ctl *c, int argc, char **argv);
int cmd_accepteula(struct ctl *c, int argc, char **argv);
int cmd_approvals_count(struct ctl *c, int argc, char **argv);
int cmd_listinactiveapprovals(struct ctl *c, int argc, char **argv);
int cmd_removeinactiveapprovals(struct ctl *c, int argc, char **argv);

/* A bulk approve or decline as the verbs parsed it (cmd_updates.c fills it, cmd_bulk.c runs
 * it). Strings are borrowed from argv; NULL or 0: not given. */
struct ctl_bulk {
    int approving; /* approve (1) or decline (0) */
    char **ids;    /* update ids or KB numbers */
    int nids;
    const char *group, *action, *deadline;                /* approve only */
    const char *product, *classification, *search;        /* the filter */
    int superseded, approved, not_approved, dry_run, yes; /* approved: decline only */
};

/* Is any filter option set in b? */
int ctl_bulk_has_filter(const struct ctl_bulk *b);

/*
 * Run a bulk approve/decline through POST /api/v1/{approve,decline}/bulk: with --dry-run show
 * what would change; on a terminal without --yes show the list and ask, then change exactly
 * the listed updates; not on a terminal a filter needs --yes. Prints the count and one line
 * per update (--json: the answer). Returns the exit status.
 */
int ctl_bulk_run(struct ctl *c, const struct ctl_bulk *b);

/* Who makes a change: the sudo user, else the login of the real uid ("wsusctl" if unknown). */
const char *ctl_admin_name(void);

#endif
