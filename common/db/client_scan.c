/*
 * client_scan: NeededRevisions of a computer and the staging of SyncUpdates (see
 * client_scan.h).
 */
#include "client_scan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "db.h"
#include "strutil.h"
#include "xmalloc.h"

const char *client_action_name(int action)
{
    switch (action) {
    case CLIENT_ACTION_INSTALL:
        return "Install";
    case CLIENT_ACTION_UNINSTALL:
        return "Uninstall";
    case CLIENT_ACTION_PREDEPLOYMENT_CHECK:
        return "PreDeploymentCheck";
    default:
        return "Evaluate";
    }
}

/*
 * The computer's groups and their ancestors (depth 0 = its own), the nearest live approval of
 * each update (a Block wins only where it is nearest), the approved latest revisions (not
 * declined, not expired, in the category filter, their EULA, the EulaID of their Core
 * fragment, accepted) and the filter's own categories, then their dependencies. The filter
 * (fcat) holds its categories and every category below them (a product family's products: a
 * category names its parent as an IsCategory prerequisite). The last column is
 * the newest deployment change of the whole catalog.
 */
static const char scan_sql[] =
    "WITH RECURSIVE mine(gid) AS ("
    " SELECT group_id FROM computer_group WHERE computer_id = $1::uuid"
    " UNION ALL SELECT 'b73ca6ed-5727-47f3-84de-015e03f6a88a'::uuid WHERE NOT EXISTS"
    " (SELECT 1 FROM computer_group WHERE computer_id = $1::uuid)),"
    " fcat(uid) AS (SELECT unnest($2::uuid[]) UNION SELECT r.update_id FROM fcat"
    " JOIN revision_prerequisite p ON p.update_id = fcat.uid AND p.is_category"
    " JOIN revision r ON r.id = p.revision_id WHERE r.update_type = 'Category'),"
    " chain(gid, depth) AS (SELECT gid, 0 FROM mine UNION SELECT t.parent_id, c.depth + 1"
    " FROM chain c JOIN target_group t ON t.id = c.gid"
    " WHERE c.depth < 32 AND t.parent_id IS NOT NULL),"
    " dep AS (SELECT DISTINCT ON (d.update_id) d.update_id, d.action, d.deadline,"
    " d.is_assigned, d.go_live_time, d.deployment_guid FROM deployment d"
    " JOIN chain c ON c.gid = d.target_group_id WHERE NOT d.dead"
    " ORDER BY d.update_id, c.depth, d.action = 3, d.action, d.change_seq DESC),"
    " expl AS (SELECT r.id, dep.action, dep.deadline, dep.is_assigned, dep.go_live_time,"
    " dep.deployment_guid FROM dep JOIN LATERAL (SELECT id, publication_state FROM revision x"
    " WHERE x.update_id = dep.update_id ORDER BY x.revision_number DESC LIMIT 1) r ON true"
    " WHERE dep.action <> 3 AND r.publication_state <> 'Expired'"
    " AND NOT EXISTS (SELECT 1 FROM declined_update n WHERE n.update_id = dep.update_id)"
    " AND ($2::uuid[] IS NULL OR EXISTS (SELECT 1 FROM revision_prerequisite f"
    " WHERE f.revision_id = r.id AND f.is_category AND f.update_id IN (SELECT uid FROM fcat)))"
    " AND NOT EXISTS (SELECT 1 FROM (SELECT CASE WHEN strpos(f.xml, 'EulaID=\"') > 0 THEN"
    " lower(substring(f.xml FROM '<Properties [^>]*EulaID=\"([0-9A-Fa-f-]{36})\"')) END"
    " AS eula FROM revision_fragment f"
    " WHERE f.revision_id = r.id AND f.kind = 'core') e WHERE e.eula IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM accepted_eula a WHERE a.eula_id::text = e.eula))),"
    " seeds(id) AS (SELECT id FROM expl UNION SELECT y.id FROM unnest($2::uuid[]) fu"
    " JOIN LATERAL (SELECT id FROM revision z WHERE z.update_id = fu AND z.update_type ="
    " 'Category' ORDER BY z.revision_number DESC LIMIT 1) y ON true),"
    " chg AS (SELECT d.update_id, max(d.change_seq) AS seq FROM deployment d"
    " WHERE d.target_group_id IN (SELECT gid FROM chain) GROUP BY d.update_id),"
    " closure(id) AS (SELECT id FROM seeds UNION SELECT m.id FROM closure c"
    " JOIN LATERAL (SELECT p.update_id AS uid FROM revision_prerequisite p"
    " WHERE p.revision_id = c.id UNION SELECT b.member_update_id FROM revision_bundle b"
    " WHERE b.revision_id = c.id) x ON true"
    " JOIN LATERAL (SELECT y.id FROM revision y WHERE y.update_id = x.uid"
    " ORDER BY y.revision_number DESC LIMIT 1) m ON true)"
    " SELECT r.id, r.update_id::text, r.update_type,"
    " NOT EXISTS (SELECT 1 FROM revision_prerequisite p WHERE p.update_id = r.update_id),"
    " coalesce(e.action, 9),"
    " coalesce(('x' || substr(replace(e.deployment_guid::text, '-', ''), 1, 7))::bit(28)::int,"
    " 0), coalesce(e.is_assigned, true),"
    " coalesce(to_char(e.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " to_char(coalesce(e.go_live_time, r.stored_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
    " coalesce(g.seq, 0),"
    " coalesce((SELECT string_agg(p.clause || ':' || coalesce((SELECT q.id FROM revision q"
    " WHERE q.update_id = p.update_id ORDER BY q.revision_number DESC LIMIT 1), 0), ','"
    " ORDER BY p.clause) FROM revision_prerequisite p WHERE p.revision_id = r.id), ''),"
    " (SELECT coalesce(max(change_seq), 0) FROM deployment)"
    " FROM (SELECT DISTINCT id FROM closure) c JOIN revision r ON r.id = c.id"
    " LEFT JOIN expl e ON e.id = r.id LEFT JOIN chg g ON g.update_id = r.update_id"
    " WHERE r.update_type <> 'Driver' ORDER BY r.id";

/* "clause:member,clause:member" -> prerequisites appended to set. 0, or -1 on junk. */
static int scan_parse_prereqs(struct client_set *set, size_t *cap, const char *s)
{
    while (*s != '\0') {
        long long clause, member;
        int used = 0;

        if (sscanf(s, "%lld:%lld%n", &clause, &member, &used) != 2 || used <= 0 || clause < 0 ||
            clause > 1000000 || member < 0)
            return -1;
        s += used;
        if (*s == ',')
            s++;
        if (set->npre == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            set->pre = xreallocarray(set->pre, *cap, sizeof(*set->pre));
        }
        set->pre[set->npre].clause = (int)clause;
        set->pre[set->npre].member = (int64_t)member;
        set->npre++;
    }
    return 0;
}

/* n GUIDs as a PostgreSQL array literal "{a,b}" (malloc'd). */
static char *guid_array(const unsigned char (*ids)[16], size_t n)
{
    struct buf b;
    char g[37];
    size_t i;

    buf_init(&b, 32 + n * 40);
    buf_add_str(&b, "{");
    for (i = 0; i < n; i++) {
        str_guid_format(ids[i], g);
        buf_printf(&b, "%s%s", i ? "," : "", g);
    }
    buf_add_str(&b, "}");
    return buf_detach(&b, NULL);
}

/* Run scan_sql for computer_id into set (no cache). 0, or -1. */
static int scan_query(PGconn *db, const char *computer_id, const char *filter_arr,
                      struct client_set *set)
{
    const char *p[2] = {computer_id, filter_arr};
    PGresult *res;
    size_t cap = 0;
    int i, n;

    memset(set, 0, sizeof(*set));
    res = db_exec(db, scan_sql, 2, p);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    set->revs = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*set->revs));
    for (i = 0; i < n; i++) {
        struct client_rev *r = &set->revs[set->n];
        int64_t v;

        if (str_to_int64(PQgetvalue(res, i, 0), 1, INT32_MAX, &r->id) < 0 ||
            str_copy(r->update_id, sizeof(r->update_id), PQgetvalue(res, i, 1)) < 0)
            goto bad;
        str_copy_cut(r->update_type, sizeof(r->update_type), PQgetvalue(res, i, 2));
        r->is_leaf = PQgetvalue(res, i, 3)[0] == 't';
        if (str_to_int64(PQgetvalue(res, i, 4), 0, 9, &v) < 0)
            goto bad;
        r->action = (int)v;
        if (str_to_int64(PQgetvalue(res, i, 5), 0, INT32_MAX, &v) < 0)
            goto bad;
        r->deployment_id = (int32_t)v;
        r->is_assigned = PQgetvalue(res, i, 6)[0] == 't';
        str_copy_cut(r->deadline, sizeof(r->deadline), PQgetvalue(res, i, 7));
        str_copy_cut(r->last_change, sizeof(r->last_change), PQgetvalue(res, i, 8));
        if (str_to_int64(PQgetvalue(res, i, 9), 0, INT64_MAX, &r->change_seq) < 0)
            goto bad;
        r->pre_first = set->npre;
        if (scan_parse_prereqs(set, &cap, PQgetvalue(res, i, 10)) < 0)
            goto bad;
        r->pre_n = set->npre - r->pre_first;
        if (str_to_int64(PQgetvalue(res, i, 11), 0, INT64_MAX, &set->anchor) < 0)
            goto bad;
        set->n++;
    }
    PQclear(res);
    return 0;
bad:
    PQclear(res);
    client_set_free(set);
    return -1;
}

/*
 * What a NeededRevisions set depends on besides the computer's groups, read in one snapshot:
 * deployments (never deleted; every change takes a new change_seq), revisions (inserted, never
 * updated; their prerequisites, bundles and fragments come in the same commit), the group tree,
 * declines and accepted EULAs (rows deleted too, hence the counts). Each part is an index
 * lookup or a count of a small table. The first column is the computer's groups, the key.
 */
static const char state_sql[] =
    "SELECT coalesce((SELECT string_agg(group_id::text, ',' ORDER BY group_id)"
    " FROM computer_group WHERE computer_id = $1::uuid), ''),"
    " concat((SELECT coalesce(max(change_seq), 0) FROM deployment), ':',"
    " (SELECT coalesce(max(change_seq), 0) FROM revision), ':',"
    " (SELECT coalesce(max(change_seq), 0) || '/' || count(*) FROM target_group), ':',"
    " (SELECT coalesce(max(change_seq), 0) || '/' || count(*) FROM declined_update), ':',"
    " (SELECT coalesce(max(change_seq), 0) || '/' || count(*) FROM accepted_eula))";

/* The scan cache: NeededRevisions per (group set, category filter), valid for one state. */
struct scan_entry {
    char *key;   /* groups "|" filter; NULL = free slot */
    char *state; /* state_sql's second column when the set was computed */
    struct client_set set;
    size_t bytes;
    uint64_t used; /* LRU clock */
    int computing; /* a thread is computing this key's set now (no set yet) */
};

/* How long a scan waits for another thread computing the same set before computing it too. */
#define CACHE_WAIT_SECONDS 30

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_cv = PTHREAD_COND_INITIALIZER; /* a computation ended */
static struct scan_entry cache[CLIENT_SCAN_CACHE_ENTRIES];
static size_t cache_bytes_used;
static uint64_t cache_clock;
static struct client_scan_stats cache_stats;

static size_t set_bytes(const struct client_set *set)
{
    return set->n * sizeof(*set->revs) + set->npre * sizeof(*set->pre);
}

static void set_copy(struct client_set *dst, const struct client_set *src)
{
    *dst = *src;
    dst->revs = xcalloc(src->n + 1, sizeof(*dst->revs));
    dst->pre = xcalloc(src->npre + 1, sizeof(*dst->pre));
    if (src->n > 0)
        memcpy(dst->revs, src->revs, src->n * sizeof(*dst->revs));
    if (src->npre > 0)
        memcpy(dst->pre, src->pre, src->npre * sizeof(*dst->pre));
}

static void entry_drop(struct scan_entry *e)
{
    cache_bytes_used -= e->bytes;
    free(e->key);
    free(e->state);
    client_set_free(&e->set);
    memset(e, 0, sizeof(*e));
}

static struct scan_entry *entry_find(const char *key)
{
    for (size_t i = 0; i < CLIENT_SCAN_CACHE_ENTRIES; i++)
        if (cache[i].key != NULL && strcmp(cache[i].key, key) == 0)
            return &cache[i];
    return NULL;
}

/* A free slot with room for bytes more, evicting the least recently used sets (never one being
 * computed); NULL when that cannot be had. */
static struct scan_entry *entry_room(size_t bytes)
{
    for (;;) {
        struct scan_entry *slot = NULL, *lru = NULL;

        for (size_t i = 0; i < CLIENT_SCAN_CACHE_ENTRIES; i++) {
            if (cache[i].key == NULL)
                slot = slot ? slot : &cache[i];
            else if (!cache[i].computing && (lru == NULL || cache[i].used < lru->used))
                lru = &cache[i];
        }
        if (slot != NULL && cache_bytes_used + bytes <= CLIENT_SCAN_CACHE_BYTES)
            return slot;
        if (lru == NULL)
            return NULL;
        entry_drop(lru);
        cache_stats.evicted++;
    }
}

/*
 * A copy of the kept set of key in state into set: 1. Else 0, and the caller computes it; a
 * stale set is dropped first. While another thread computes key, wait for it (at most
 * CACHE_WAIT_SECONDS), so a change costs one computation per key, not one per scan in flight.
 * *owner = 1 when the caller is now the one computing key (it must cache_put or cache_abort).
 */
static int cache_get(const char *key, const char *state, struct client_set *set, int *owner)
{
    struct scan_entry *e;
    struct timespec until;

    *owner = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CACHE_WAIT_SECONDS;
    pthread_mutex_lock(&cache_mu);
    for (;;) {
        e = entry_find(key);
        if (e != NULL && e->computing) {
            if (pthread_cond_timedwait(&cache_cv, &cache_mu, &until) != 0) {
                e = NULL; /* waited long enough: compute without the mark */
                break;
            }
            continue;
        }
        if (e != NULL && strcmp(e->state, state) == 0) {
            set_copy(set, &e->set);
            e->used = ++cache_clock;
            cache_stats.hits++;
            pthread_mutex_unlock(&cache_mu);
            return 1;
        }
        if (e != NULL) {
            entry_drop(e);
            cache_stats.invalidated++;
        }
        if ((e = entry_room(0)) != NULL) {
            e->key = xstrdup(key);
            e->state = xstrdup(state);
            e->computing = 1;
            e->used = ++cache_clock;
            *owner = 1;
        }
        break;
    }
    cache_stats.misses++;
    pthread_mutex_unlock(&cache_mu);
    return 0;
}

/* The computation of key ended without a set: forget the mark, wake the waiters. */
static void cache_abort(const char *key, int owner)
{
    struct scan_entry *e;

    if (!owner)
        return;
    pthread_mutex_lock(&cache_mu);
    if ((e = entry_find(key)) != NULL && e->computing)
        entry_drop(e);
    pthread_cond_broadcast(&cache_cv);
    pthread_mutex_unlock(&cache_mu);
}

/* Keep a copy of set for key in state (the state it was computed under), least recently used
 * sets evicted for room; wake the waiters. */
static void cache_put(const char *key, const char *state, const struct client_set *set, int owner)
{
    size_t bytes = set_bytes(set);
    struct scan_entry *e;

    pthread_mutex_lock(&cache_mu);
    e = entry_find(key);
    if (e != NULL && e->computing && !owner) {
        pthread_mutex_unlock(&cache_mu); /* another thread's computation will be kept */
        return;
    }
    if (e != NULL)
        entry_drop(e);
    if (bytes <= CLIENT_SCAN_CACHE_BYTES / 4 && (e = entry_room(bytes)) != NULL) {
        e->key = xstrdup(key);
        e->state = xstrdup(state);
        set_copy(&e->set, set);
        e->bytes = bytes;
        e->used = ++cache_clock;
        cache_bytes_used += bytes;
    }
    pthread_cond_broadcast(&cache_cv);
    pthread_mutex_unlock(&cache_mu);
}

void client_scan_cache_stats(struct client_scan_stats *out)
{
    pthread_mutex_lock(&cache_mu);
    *out = cache_stats;
    out->entries = 0;
    for (size_t i = 0; i < CLIENT_SCAN_CACHE_ENTRIES; i++)
        out->entries += cache[i].key != NULL && !cache[i].computing;
    out->bytes = cache_bytes_used;
    pthread_mutex_unlock(&cache_mu);
}

void client_scan_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CLIENT_SCAN_CACHE_ENTRIES; i++)
        if (cache[i].key != NULL && !cache[i].computing)
            entry_drop(&cache[i]);
    memset(&cache_stats, 0, sizeof(cache_stats));
    pthread_mutex_unlock(&cache_mu);
}

/* state_sql for computer_id: key ("groups|filter") and state, malloc'd. 0, or -1. */
static int scan_state(PGconn *db, const char *computer_id, const char *filter_arr, char **key,
                      char **state)
{
    const char *p[1] = {computer_id};
    PGresult *res = db_exec(db, state_sql, 1, p);
    struct buf b;

    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    buf_init(&b, (size_t)PQgetlength(res, 0, 0) + (filter_arr ? strlen(filter_arr) : 0) + 8);
    if (buf_printf(&b, "%s|%s", PQgetvalue(res, 0, 0), filter_arr ? filter_arr : "") < 0) {
        buf_free(&b);
        PQclear(res);
        return -1;
    }
    *key = buf_detach(&b, NULL);
    *state = xstrdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_off;

static void cache_init(void)
{
    const char *e = getenv("WSUSD_NO_SCAN_CACHE");

    cache_off = e != NULL && e[0] != '\0' && strcmp(e, "0") != 0;
}

int client_scan_load(PGconn *db, const char *computer_id, const unsigned char (*filter)[16],
                     size_t nfilter, struct client_set *set)
{
    char *arr = nfilter > 0 ? guid_array(filter, nfilter) : NULL;
    char *key = NULL, *state = NULL, *key2 = NULL, *state2 = NULL;
    int rc = -1, owner = 0;

    memset(set, 0, sizeof(*set));
    if (scan_state(db, computer_id, arr, &key, &state) < 0)
        goto out;
    pthread_once(&cache_once, cache_init);
    if (!cache_off && cache_get(key, state, set, &owner)) {
        rc = 0;
        goto out;
    }
    /* The state and the set from one snapshot, so the set is exactly the state's. The
     * recursive closure's row estimate is far too high, and JIT compiling the plan would cost
     * ~200 ms per call on a 100,000-revision catalog (tests/bench/wusp_bench.sh). */
    if (db_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) < 0) {
        cache_abort(key, owner);
        goto out;
    }
    if (db_cmd(db, "SET LOCAL jit = off", 0, NULL) < 0 ||
        scan_state(db, computer_id, arr, &key2, &state2) < 0 ||
        scan_query(db, computer_id, arr, set) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        client_set_free(set);
        cache_abort(key, owner);
        goto out;
    }
    /* kept under the key it was marked with; a group change meanwhile gives another key at
     * the next call, which then misses */
    if (!cache_off) {
        if (strcmp(key, key2) == 0)
            cache_put(key, state2, set, owner);
        else
            cache_abort(key, owner);
    }
    rc = 0;
out:
    free(key);
    free(state);
    free(key2);
    free(state2);
    free(arr);
    return rc;
}

void client_set_free(struct client_set *set)
{
    free(set->revs);
    free(set->pre);
    memset(set, 0, sizeof(*set));
}

const struct client_rev *client_set_find(const struct client_set *set, int64_t id)
{
    size_t lo = 0, hi = set->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (set->revs[mid].id == id)
            return &set->revs[mid];
        if (set->revs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct client_rev *client_set_find_update(const struct client_set *set, const char *update_id)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        if (strcasecmp(set->revs[i].update_id, update_id) == 0)
            return &set->revs[i];
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int in_sorted(const int64_t *v, size_t n, int64_t id)
{
    return n > 0 && bsearch(&id, v, n, sizeof(*v), cmp_i64) != NULL;
}

/* Sorted copy without duplicates. */
static int64_t *sorted_unique(const int64_t *a, size_t na, const int64_t *b, size_t nb, size_t *n)
{
    int64_t *v = xcalloc(na + nb + 1, sizeof(*v));
    size_t i, k = 0;

    if (na > 0)
        memcpy(v, a, na * sizeof(*v));
    if (nb > 0)
        memcpy(v + na, b, nb * sizeof(*v));
    qsort(v, na + nb, sizeof(*v), cmp_i64);
    for (i = 0; i < na + nb; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    *n = k;
    return v;
}

/* Each clause has an installed member, or no member the catalog holds. */
static int prereqs_met(const struct client_set *set, const struct client_rev *r,
                       const int64_t *inst, size_t ninst)
{
    size_t i = 0;

    while (i < r->pre_n) {
        const struct client_prereq *p = &set->pre[r->pre_first + i];
        int clause = p->clause, known = 0, met = 0;

        for (; i < r->pre_n && set->pre[r->pre_first + i].clause == clause; i++) {
            int64_t m = set->pre[r->pre_first + i].member;

            if (m == 0)
                continue;
            known = 1;
            if (in_sorted(inst, ninst, m))
                met = 1;
        }
        if (known && !met)
            return 0;
    }
    return 1;
}

int client_scan_stage(const struct client_set *set, const int64_t *installed, size_t ninst,
                      const int64_t *other, size_t nother, int64_t anchor, size_t max_new,
                      struct client_stage *st)
{
    size_t ni, nc, i;
    int64_t *inst = sorted_unique(installed, ninst, NULL, 0, &ni);
    int64_t *cached = sorted_unique(installed, ninst, other, nother, &nc);
    unsigned char *due = xcalloc(set->n + 1, 1);

    memset(st, 0, sizeof(*st));
    st->new_idx = xcalloc(max_new + 1, sizeof(*st->new_idx));
    st->changed_idx = xcalloc(set->n + 1, sizeof(*st->changed_idx));
    st->out_of_scope = xcalloc(nc + 1, sizeof(*st->out_of_scope));
    for (i = 0; i < set->n; i++) {
        const struct client_rev *r = &set->revs[i];

        if (!prereqs_met(set, r, inst, ni))
            continue;
        due[i] = 1;
        if (in_sorted(cached, nc, r->id)) {
            if (r->change_seq > anchor)
                st->changed_idx[st->nchanged++] = i;
        } else if (st->nnew < max_new) {
            st->new_idx[st->nnew++] = i;
        } else {
            st->truncated = 1;
        }
    }
    for (i = 0; i < nc; i++) {
        const struct client_rev *r = client_set_find(set, cached[i]);

        if (r == NULL || !due[r - set->revs])
            st->out_of_scope[st->nout++] = cached[i];
    }
    free(due);
    free(inst);
    free(cached);
    return 0;
}

void client_stage_free(struct client_stage *st)
{
    free(st->new_idx);
    free(st->changed_idx);
    free(st->out_of_scope);
    memset(st, 0, sizeof(*st));
}

int client_scan_last_change(PGconn *db, char out[40], int64_t *unix_seconds)
{
    PGresult *res;
    int64_t v;

    res = db_exec(db,
                  "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                  " floor(extract(epoch FROM t))::bigint FROM (SELECT coalesce(max(changed_at),"
                  " '2020-01-01 00:00:00+00'::timestamptz) AS t FROM setting"
                  " WHERE key IN ('client-targeting')) s",
                  0, NULL);
    if (res == NULL)
        return -1;
    if (str_copy(out, 40, PQgetvalue(res, 0, 0)) < 0 ||
        str_to_int64(PQgetvalue(res, 0, 1), 0, INT64_MAX, &v) < 0) {
        PQclear(res);
        return -1;
    }
    *unix_seconds = v;
    PQclear(res);
    return 0;
}

/* ids as a PostgreSQL array literal "{1,2,3}". */
static char *ids_array(const int64_t *ids, size_t n)
{
    struct buf b;
    size_t i;

    buf_init(&b, 32 + n * 21);
    buf_add_str(&b, "{");
    for (i = 0; i < n; i++)
        buf_printf(&b, "%s%lld", i ? "," : "", (long long)ids[i]);
    buf_add_str(&b, "}");
    return buf_detach(&b, NULL);
}

static int scan_file_rows(PGresult *res, client_file_cb cb, void *arg)
{
    int i, rc = 0;

    for (i = 0; i < PQntuples(res) && rc == 0; i++) {
        unsigned char sha1[20];

        if (str_hex_decode(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), sha1, 20) < 0)
            continue;
        rc = cb(arg, sha1, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    }
    PQclear(res);
    return rc;
}

int client_scan_files(PGconn *db, const int64_t *ids, size_t n, client_file_cb cb, void *arg)
{
    char *arr = ids_array(ids, n);
    const char *p[1] = {arr};
    PGresult *res;

    res = db_exec(db,
                  "SELECT DISTINCT encode(f.sha1, 'hex'), f.file_name, coalesce(f.mu_url, '')"
                  " FROM revision_file rf"
                  " JOIN file f ON f.sha1 = rf.sha1 WHERE rf.revision_id = ANY($1::bigint[])"
                  " ORDER BY 1",
                  1, p);
    free(arr);
    if (res == NULL)
        return -1;
    return scan_file_rows(res, cb, arg);
}

int client_scan_digests(PGconn *db, const unsigned char (*sha1)[20], size_t n, client_file_cb cb,
                        void *arg)
{
    struct buf b;
    char hex[41];
    const char *p[1];
    PGresult *res;
    size_t i;

    buf_init(&b, 32 + n * 44);
    buf_add_str(&b, "{");
    for (i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? "," : "", str_hex_encode(sha1[i], 20, 0, hex));
    buf_add_str(&b, "}");
    p[0] = b.data;
    res = db_exec(db,
                  "SELECT encode(sha1, 'hex'), file_name, coalesce(mu_url, '') FROM file"
                  " WHERE sha1 = ANY(SELECT"
                  " decode(h, 'hex') FROM unnest($1::text[]) h) ORDER BY 1",
                  1, p);
    buf_free(&b);
    if (res == NULL)
        return -1;
    return scan_file_rows(res, cb, arg);
}

int client_scan_category_types(PGconn *db, const unsigned char (*ids)[16], size_t n,
                               char (*types)[32])
{
    char *arr = guid_array(ids, n);
    const char *p[1] = {arr};
    PGresult *res;
    size_t i;
    int k;

    for (i = 0; i < n; i++)
        types[i][0] = '\0';
    res = db_exec(db,
                  "SELECT DISTINCT ON (update_id) update_id::text, coalesce(category_type, '')"
                  " FROM revision WHERE update_type = 'Category' AND update_id = ANY($1::uuid[])"
                  " ORDER BY update_id, revision_number DESC",
                  1, p);
    free(arr);
    if (res == NULL)
        return -1;
    for (k = 0; k < PQntuples(res); k++) {
        unsigned char id[16];

        if (str_guid_parse(PQgetvalue(res, k, 0), (size_t)PQgetlength(res, k, 0), id) < 0)
            continue;
        for (i = 0; i < n; i++)
            if (memcmp(ids[i], id, 16) == 0 &&
                str_copy(types[i], 32, PQgetvalue(res, k, 1)[0] ? PQgetvalue(res, k, 1) : "?") < 0)
                types[i][0] = '\0';
    }
    PQclear(res);
    return 0;
}
