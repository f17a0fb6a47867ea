/*
 * client_scan: what a Windows computer may see (MS-WUSP 3.1.1 / 3.1.5.7), the one owner of the
 * SQL that reads deployments for the client web services. client_scan_load() computes the
 * computer's NeededRevisions: the updates approved (deployment rows, not dead, action other
 * than Block) for its target groups, each group's tree walked upward to "All Computers" (the
 * nearest approval of an update wins; a computer in no group is in "Unassigned Computers"),
 * minus declined updates, expired revisions and revisions whose EULA is not accepted, plus every
 * dependency (prerequisite or bundled update, transitively) with the action Evaluate. One revision
 * per update: the latest. client_scan_stage() is the pure part: the staged answer of one
 * SyncUpdates round from the client's InstalledNonLeafUpdateIDs and OtherCachedUpdateIDs. It does
 * not speak SOAP.
 */
#ifndef WSUS_CLIENT_SCAN_H
#define WSUS_CLIENT_SCAN_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Deployment actions of a NeededRevision (the DeploymentAction names of MS-WUSP 2.2.2.2.4). */
enum client_action {
    CLIENT_ACTION_INSTALL = 0, /* deployment.action values 0..2 as stored */
    CLIENT_ACTION_UNINSTALL = 1,
    CLIENT_ACTION_PREDEPLOYMENT_CHECK = 2,
    CLIENT_ACTION_EVALUATE = 9, /* a dependency of a deployed revision */
};
const char *client_action_name(int action);

struct client_prereq {
    int clause;     /* the prerequisite group (an AtLeastOne, or one plain prerequisite) */
    int64_t member; /* revision id of a member, 0 when the catalog does not hold it */
};

struct client_rev {
    int64_t id; /* revision.id: the RevisionID of the wire */
    char update_id[37];
    char update_type[16];
    int is_leaf; /* no revision of the catalog has this update as a prerequisite */
    int action;  /* enum client_action */
    int32_t deployment_id;
    int is_assigned;
    char deadline[32];       /* "" = none */
    char last_change[16];    /* YYYY-MM-DD */
    int64_t change_seq;      /* latest change of this update's deployments for the computer */
    size_t pre_first, pre_n; /* its prerequisites in client_set.pre, ordered by clause */
};

struct client_set {
    struct client_rev *revs; /* ordered by id */
    size_t n;
    struct client_prereq *pre;
    size_t npre;
    int64_t anchor; /* the newest deployment change_seq the set reflects */
};

/*
 * NeededRevisions of computer_id (software and categories/detectoids; no drivers) into set
 * (free with client_set_free). With nfilter > 0 (SyncUpdates FilterCategoryIds), only the
 * approved updates that name one of those categories or a category below one (an IsCategory
 * prerequisite: their product or classification; a product family or company selects its
 * products) count, with their dependencies; the filter's categories (and
 * their parents) are needed too, as the real server sends them. 0, or -1 on a database error.
 */
int client_scan_load(PGconn *db, const char *computer_id, const unsigned char (*filter)[16],
                     size_t nfilter, struct client_set *set);

/*
 * The scan cache behind client_scan_load(). The set depends only on the computer's groups,
 * the category filter and the catalog/approval state (deployments, revisions, the group tree,
 * declines, accepted EULAs), so it is kept per (groups, filter) and reused while a one-snapshot
 * probe of that state (a few index lookups) reads the same. Every SyncUpdates round and
 * GetExtendedUpdateInfo call of a scan, and every computer of the same groups, share one
 * computation. Bounded: at most CLIENT_SCAN_CACHE_ENTRIES sets and CLIENT_SCAN_CACHE_BYTES in
 * all (least recently used first out; a set over a quarter of that is not kept). Per process,
 * thread-safe; callers get their own copy. One computation per key at a time: scans that need
 * a set another thread is computing wait for it (at most 30 s, then compute it themselves). The
 * environment variable WSUSD_NO_SCAN_CACHE=1 turns it off (to measure what it saves:
 * tests/bench/wusp_bench.sh NOCACHE=1).
 */
#define CLIENT_SCAN_CACHE_ENTRIES 64
#define CLIENT_SCAN_CACHE_BYTES   ((size_t)256 << 20)
struct client_scan_stats {
    uint64_t hits, misses, invalidated, evicted;
    size_t entries, bytes;
};
/* The cache's counters since the start (or the last clear) and its current size. */
void client_scan_cache_stats(struct client_scan_stats *out);
/* Drop every cached set and zero the counters (tests, and a process that wants its memory). */
void client_scan_cache_clear(void);
void client_set_free(struct client_set *set);
/* The revision with this id, or NULL (binary search). */
const struct client_rev *client_set_find(const struct client_set *set, int64_t id);

/* One SyncUpdates round (3.1.5.7). Indices are into set->revs. */
struct client_stage {
    size_t *new_idx; /* NewUpdates: needed, prerequisites met, not cached; at most max_new */
    size_t nnew;
    int truncated;       /* more were due than max_new */
    size_t *changed_idx; /* ChangedUpdates: cached and needed, deployment changed after anchor */
    size_t nchanged;
    int64_t *out_of_scope; /* cached ids that are not (or no longer) needed */
    size_t nout;
};

/*
 * Stage: a needed revision is due when each of its prerequisite clauses has a member among
 * the installed (non-leaf) revisions, or no member the catalog holds. installed and other
 * need not be sorted and may overlap. 0, or -1 when out of memory is impossible to signal
 * (never: xmalloc aborts); free with client_stage_free.
 */
int client_scan_stage(const struct client_set *set, const int64_t *installed, size_t ninst,
                      const int64_t *other, size_t nother, int64_t anchor, size_t max_new,
                      struct client_stage *st);
void client_stage_free(struct client_stage *st);

/* The GetConfig LastChange of this server (the last change of a client-visible setting), as
 * the wire writes it. 0, or -1 on error. */
int client_scan_last_change(PGconn *db, char out[40], int64_t *unix_seconds);

/* A file's location callback: SHA-1, catalog file name, Microsoft Update URL ("" = none). */
typedef int (*client_file_cb)(void *arg, const unsigned char sha1[20], const char *file_name,
                              const char *mu_url);
/* Files of n revisions, streamed to cb. 0, or -1 on error. */
int client_scan_files(PGconn *db, const int64_t *ids, size_t n, client_file_cb cb, void *arg);
/* Which of n SHA-1 digests the catalog holds, streamed to cb. 0, or -1 on error. */
int client_scan_digests(PGconn *db, const unsigned char (*sha1)[20], size_t n, client_file_cb cb,
                        void *arg);

/*
 * StartCategoryScan: the category type (Company, ProductFamily, Product,
 * UpdateClassification...) of each of n category ids into types[i] (at most 31 characters),
 * "" for an id the catalog holds no category for. 0, or -1 on error.
 */
int client_scan_category_types(PGconn *db, const unsigned char (*ids)[16], size_t n,
                               char (*types)[32]);

/* RefreshCache: the needed revisions among (update id, revision number) pairs are found with
 * client_set_find_update(). */
const struct client_rev *client_set_find_update(const struct client_set *set,
                                                const char *update_id);

#endif
