/*
 * client_event: storage of reported events (see client_event.h).
 */
#include "client_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "db.h"
#include "strutil.h"
#include "xmalloc.h"

int client_event_store(PGconn *db, const char *computer_id, const struct client_event *ev, size_t n,
                       size_t *stored)
{
    char keep[DB_PARAM_INT_LEN];
    size_t i;
    int ok = 0;

    *stored = 0;
    db_param_int(keep, CLIENT_EVENT_KEEP);
    if (db_begin(db) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        char eid[DB_PARAM_INT_LEN], ns[DB_PARAM_INT_LEN], src[DB_PARAM_INT_LEN],
            rev[DB_PARAM_INT_LEN], hr[DB_PARAM_INT_LEN];
        const char *p[11] = {computer_id,
                             ev[i].instance_id,
                             eid,
                             ns,
                             src,
                             ev[i].update_id,
                             rev,
                             hr,
                             ev[i].app_name,
                             ev[i].time_at_target,
                             ev[i].replacement};
        PGresult *res;

        db_param_int(eid, ev[i].event_id);
        db_param_int(ns, ev[i].namespace_id);
        db_param_int(src, ev[i].source_id);
        db_param_int(rev, ev[i].revision_number);
        db_param_int(hr, (int)ev[i].hresult);
        res = db_exec(db,
                      "INSERT INTO client_event (computer_id, instance_id, event_id,"
                      " namespace_id, source_id, update_id, revision_number, hresult, app_name,"
                      " time_at_target, replacement) VALUES ($1::uuid, $2::uuid, $3::int,"
                      " $4::int, $5::int, nullif($6, '')::uuid, $7::int, $8::int,"
                      " nullif($9, ''), nullif($10, '')::timestamptz, nullif($11, ''))"
                      " ON CONFLICT (computer_id, instance_id) DO NOTHING RETURNING 1",
                      11, p);
        if (res == NULL)
            goto fail;
        *stored += (size_t)PQntuples(res);
        PQclear(res);
    }
    {
        const char *p[2] = {computer_id, keep};

        if (db_cmd(db,
                   "DELETE FROM client_event WHERE computer_id = $1::uuid AND id <= (SELECT id"
                   " FROM client_event WHERE computer_id = $1::uuid ORDER BY id DESC"
                   " OFFSET $2::int LIMIT 1)",
                   2, p) < 0)
            goto fail;
    }
    ok = 1;
fail:
    if (db_end(db, ok) == 0)
        return 0;
    *stored = 0;
    return -1;
}

const char *client_state_name(int state)
{
    switch (state) {
    case CLIENT_STATE_NEEDED:
        return "needed";
    case CLIENT_STATE_DOWNLOADED:
        return "downloaded";
    case CLIENT_STATE_FAILED:
        return "failed";
    case CLIENT_STATE_PENDING_REBOOT:
        return "pending_reboot";
    case CLIENT_STATE_INSTALLED:
        return "installed";
    default:
        return NULL;
    }
}

void client_status_init(struct client_status *st)
{
    memset(st, 0, sizeof(*st));
}

void client_status_free(struct client_status *st)
{
    free(st->e);
    client_status_init(st);
}

int client_status_add(struct client_status *st, const char *misc)
{
    static const struct {
        char tag;
        int state;
    } tags[] = {{'U', CLIENT_STATE_NEEDED},
                {'h', CLIENT_STATE_DOWNLOADED},
                {'g', CLIENT_STATE_FAILED},
                {'W', CLIENT_STATE_PENDING_REBOOT},
                {'V', CLIENT_STATE_INSTALLED}};
    static const unsigned char zero[16];
    size_t i;
    int state = 0;
    const char *p;

    if (misc == NULL || misc[0] == '\0' || misc[1] != '=')
        return 0;
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (misc[0] == tags[i].tag)
            state = tags[i].state;
    if (state == 0)
        return 0;
    for (p = misc + 2; *p != '\0';) {
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        unsigned char g[16];

        while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                           p[len - 1] == '\n'))
            len--;
        if (len > 0) {
            if (str_guid_parse(p, len, g) < 0 || st->n >= CLIENT_STATUS_MAX_IDS) {
                st->dropped++;
            } else if (memcmp(g, zero, 16) != 0) {
                if (st->n == st->cap) {
                    st->cap = st->cap ? st->cap * 2 : 64;
                    st->e = xreallocarray(st->e, st->cap, sizeof(*st->e));
                }
                str_guid_format(g, st->e[st->n].update_id);
                st->e[st->n].state = state;
                st->n++;
            }
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 1;
}

/* By update id, then the strongest state first. */
static int cmp_entry(const void *a, const void *b)
{
    const struct client_status_entry *x = a, *y = b;
    int c = strcmp(x->update_id, y->update_id);

    return c != 0 ? c : y->state - x->state;
}

void client_status_finish(struct client_status *st)
{
    size_t i, k = 0;

    if (st->n == 0)
        return;
    qsort(st->e, st->n, sizeof(*st->e), cmp_entry);
    for (i = 0; i < st->n; i++)
        if (k == 0 || strcmp(st->e[k - 1].update_id, st->e[i].update_id) != 0)
            st->e[k++] = st->e[i];
    st->n = k;
}

int client_status_store(PGconn *db, const char *computer_id, const struct client_status *st)
{
    struct buf ids, states;
    const char *p[4], *q[3];
    size_t i;
    int rc = -1;

    buf_init(&ids, 64 + st->n * 38);
    buf_init(&states, 64 + st->n * 16);
    buf_add_str(&ids, "{");
    buf_add_str(&states, "{");
    for (i = 0; i < st->n; i++) {
        const char *name = client_state_name(st->e[i].state);

        if (name == NULL)
            continue;
        buf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", st->e[i].update_id);
        buf_printf(&states, "%s%s", states.len > 1 ? "," : "", name);
    }
    buf_add_str(&ids, "}");
    buf_add_str(&states, "}");
    p[0] = computer_id;
    p[1] = st->instance_id;
    p[2] = buf_str(&ids);
    p[3] = buf_str(&states);
    q[0] = computer_id;
    q[1] = p[2];
    q[2] = p[3];
    if (db_begin(db) < 0)
        goto out;
    if (db_cmd(db,
               "INSERT INTO computer_status (computer_id, instance_id) VALUES ($1::uuid, $2::uuid)"
               " ON CONFLICT (computer_id) DO UPDATE SET reported_at = now(),"
               " instance_id = EXCLUDED.instance_id",
               2, p) < 0 ||
        db_cmd(db, "DELETE FROM computer_update_status WHERE computer_id = $1::uuid", 1, p) < 0 ||
        db_cmd(db,
               "INSERT INTO computer_update_status (computer_id, update_id, state)"
               " SELECT $1::uuid, u, s FROM unnest($2::uuid[], $3::text[]) AS x(u, s)",
               3, q) < 0 ||
        db_commit(db) < 0) {
        db_rollback(db);
        goto out;
    }
    rc = 0;
out:
    buf_free(&ids);
    buf_free(&states);
    return rc;
}
