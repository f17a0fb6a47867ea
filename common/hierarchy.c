/*
 * hierarchy: the published chain of servers (X-Wsusd-Hierarchy) and the loop check (see
 * hierarchy.h). Parsing is strict because the value comes from the upstream over the network.
 */
#include "hierarchy.h"
#include "buf.h"
#include "catalog.h"
#include "db.h"
#include "settings.h"
#include "strutil.h"
#include "upstream_state.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define K_CHAIN "upstream-chain"

static int name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > HIER_MAX_NAME)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(".-_", s[i]) == NULL)
            return 0;
    return 1;
}

int hier_chain_parse(const char *value, struct hier_chain *c)
{
    const char *p = value, *end;

    c->n = 0;
    if (value == NULL || value[0] == '\0' || strlen(value) > HIER_MAX_VALUE)
        return -1;
    for (;;) {
        const char *comma, *sp;
        char guid[37];

        while (*p == ' ' || *p == '\t')
            p++;
        comma = strchr(p, ',');
        end = comma != NULL ? comma : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        sp = memchr(p, ' ', (size_t)(end - p));
        if (sp == NULL || sp - p != 36 || snprintf(guid, sizeof(guid), "%.36s", p) != 36 ||
            str_guid_canon(guid, guid) < 0 || !name_ok(sp + 1, (size_t)(end - sp - 1))) {
            c->n = 0;
            return -1;
        }
        if (c->n < HIER_MAX_SERVERS) {
            struct hier_server *s = &c->s[c->n++];
            memcpy(s->id, guid, sizeof(s->id));
            snprintf(s->name, sizeof(s->name), "%.*s", (int)(end - sp - 1), sp + 1);
        }
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int hier_chain_format(const struct hier_chain *c, char *out, size_t outlen)
{
    size_t i, used = 0;

    if (outlen == 0)
        return -1;
    out[0] = '\0';
    for (i = 0; i < c->n; i++) {
        int k =
            snprintf(out + used, outlen - used, "%s%s %s", i ? ", " : "", c->s[i].id, c->s[i].name);
        if (k < 0 || (size_t)k >= outlen - used) {
            out[0] = '\0';
            return -1;
        }
        used += (size_t)k;
    }
    return 0;
}

void hier_check_loop(const char *own_id, const char *own_name, const char *upstream_url,
                     const struct hier_chain *up, struct hier_result *res)
{
    struct buf b;
    size_t i, at = 0;
    int found = 0;

    memset(res, 0, sizeof(*res));
    if (up == NULL || up->n == 0) {
        hier_verdict_set(res, HIER_UNKNOWN,
                         "upstream %s does not say which server it is (a Windows WSUS or Microsoft "
                         "Update): loops through it cannot be seen",
                         upstream_url);
        return;
    }
    for (i = 0; i < up->n && !found; i++)
        if (strcasecmp(up->s[i].id, own_id) == 0) {
            found = 1;
            at = i;
        }
    if (!found) {
        hier_verdict_set(
            res, HIER_PASS,
            "no loop: this server (%s) synchronizes from %s (%s), a chain of %zu server%s "
            "that does not come back to it",
            own_name, up->s[0].name, upstream_url, up->n, up->n == 1 ? "" : "s");
        return;
    }
    if (at == 0) {
        hier_verdict_set(res, HIER_FAIL,
                         "upstream %s is this server itself (%s, server id %s): a server cannot "
                         "synchronize from itself",
                         upstream_url, own_name, own_id);
        snprintf(res->fix, sizeof(res->fix),
                 "point it at another server (wsusctl config set upstream http://HOST:8530), "
                 "or make it a root (wsusctl config set upstream '')");
        return;
    }
    res->verdict = HIER_FAIL;
    buf_init(&b, sizeof(res->line));
    buf_printf(&b, "synchronization loop: this server (%s) synchronizes from %s (%s)", own_name,
               up->s[0].name, upstream_url);
    for (i = 1; i <= at; i++)
        buf_printf(&b, ", which synchronizes from %s", up->s[i].name);
    snprintf(res->line, sizeof(res->line), "%s", buf_str(&b));
    buf_free(&b);
    snprintf(res->fix, sizeof(res->fix),
             "a hierarchy must end at a root: clear the upstream of the top server (wsusctl "
             "config set upstream '') or point one of them at a server outside the loop");
}

static char *state_value(PGconn *db, const char *key);

/* The remembered chain (empty when none or unreadable: publishing must not fail on it). */
static void chain_load(PGconn *db, struct hier_chain *c)
{
    char *v = state_value(db, K_CHAIN);

    c->n = 0;
    if (v != NULL)
        hier_chain_parse(v, c);
    free(v);
}

char *hier_publish(PGconn *db, const char *own_id)
{
    struct hier_chain up, out;
    char *name = settings_get(db, "account-name");
    char *upstream = settings_get(db, "upstream");
    char *v = NULL;
    size_t i;

    if (name == NULL || upstream == NULL)
        goto done;
    memset(&out, 0, sizeof(out));
    snprintf(out.s[0].id, sizeof(out.s[0].id), "%s", own_id);
    snprintf(out.s[0].name, sizeof(out.s[0].name), "%s", name_ok(name, strlen(name)) ? name : "-");
    out.n = 1;
    up.n = 0;
    if (upstream[0] != '\0')
        chain_load(db, &up);
    for (i = 0; i < up.n && out.n < HIER_MAX_SERVERS; i++) {
        if (strcasecmp(up.s[i].id, own_id) == 0)
            break;
        out.s[out.n++] = up.s[i];
    }
    v = xmalloc(HIER_MAX_VALUE + 1);
    if (hier_chain_format(&out, v, HIER_MAX_VALUE + 1) < 0) {
        free(v);
        v = NULL;
    }
done:
    free(name);
    free(upstream);
    return v;
}

int hier_remember(PGconn *db, const struct hier_chain *up)
{
    char *v;
    int rc;

    if (up == NULL || up->n == 0)
        return upstream_state_delete(db, K_CHAIN);
    v = xmalloc(HIER_MAX_VALUE + 1);
    if (hier_chain_format(up, v, HIER_MAX_VALUE + 1) < 0) {
        free(v);
        return -1;
    }
    rc = upstream_state_set(db, K_CHAIN, v);
    free(v);
    return rc;
}

char *hier_subscription_publish(PGconn *db)
{
    char *up = settings_get(db, "upstream");
    char *p = settings_get(db, "products");
    char *c = settings_get(db, "classifications");
    char *v = NULL;

    /* a root (imports, no upstream) offers whatever it holds */
    if (up != NULL && p != NULL && c != NULL)
        v = xasprintf("products=%s; classifications=%s", up[0] ? p : "", up[0] ? c : "");
    free(up);
    free(p);
    free(c);
    return v;
}

/* The GUID list after "key=" in a published subscription, checked; NULL when malformed. */
static char *subscription_part(const char *published, const char *key)
{
    size_t kl = strlen(key);
    const char *p = published;
    struct buf b;
    char *out = NULL;

    while (p != NULL && *p != '\0') {
        p += strspn(p, " ;");
        if (strncmp(p, key, kl) == 0 && p[kl] == '=')
            break;
        p = strchr(p, ';');
    }
    if (p == NULL || *p == '\0')
        return NULL;
    p += kl + 1;
    buf_init(&b, HIER_MAX_SUBSCRIPTION);
    while (*p != '\0' && *p != ';') {
        size_t n = strcspn(p, ",;");
        char g[64], canon[37];

        if (n > 0) {
            if (n >= sizeof(g) || snprintf(g, sizeof(g), "%.*s", (int)n, p) != (int)n ||
                str_guid_canon(str_trim(g), canon) < 0)
                goto out;
            buf_printf(&b, "%s%s", b.len ? "," : "", canon);
        }
        p += n + (p[n] == ',');
    }
    out = buf_detach(&b, NULL);
out:
    buf_free(&b);
    return out;
}

void hier_check_offered(PGconn *db, const char *upstream_url, const char *published,
                        const char *products, const char *classifications, struct hier_result *res)
{
    static const char *const keys[2] = {"products", "classifications"};
    const char *ours[2] = {products, classifications};
    struct buf line, fix;
    int k, bad = 0;

    memset(res, 0, sizeof(*res));
    if (published == NULL || strlen(published) > HIER_MAX_SUBSCRIPTION) {
        hier_verdict_set(
            res, HIER_UNKNOWN,
            "upstream %s does not say what it synchronizes (a Windows WSUS or Microsoft "
            "Update): the products and classifications it offers cannot be checked",
            upstream_url);
        return;
    }
    buf_init(&line, 65536);
    buf_init(&fix, 65536);
    for (k = 0; k < 2; k++) {
        char *theirs = subscription_part(published, keys[k]);
        char *outside = NULL;

        if (theirs != NULL && theirs[0] != '\0' && ours[k] != NULL && ours[k][0] != '\0')
            outside = catalog_categories_outside(db, ours[k], theirs);
        if (outside != NULL && outside[0] != '\0') {
            char *names = catalog_category_names(db, outside);
            char *offered = catalog_category_names(db, theirs);
            buf_printf(&line,
                       "%supstream %s does not synchronize the %s %s selected here (it "
                       "synchronizes only %s)",
                       bad ? "; " : "", upstream_url, keys[k], names, offered);
            buf_printf(&fix,
                       "%sadd them to %s on the upstream and synchronize it, or remove them "
                       "here (wsusctl config set %s ...)",
                       bad ? "; " : "", keys[k], keys[k]);
            free(names);
            free(offered);
            bad = 1;
        }
        free(outside);
        free(theirs);
    }
    if (bad) {
        hier_verdict_set(res, HIER_FAIL, "%s", buf_str(&line));
        snprintf(res->fix, sizeof(res->fix), "%s", buf_str(&fix));
    } else {
        hier_verdict_set(res, HIER_PASS,
                         "upstream %s synchronizes every product and classification selected here",
                         upstream_url);
    }
    buf_free(&line);
    buf_free(&fix);
}

/* The value of an upstream_state row (malloc'd), NULL when absent or unreadable. */
static char *state_value(PGconn *db, const char *key)
{
    return upstream_state_get(db, key);
}

void hier_inactive_scope(PGconn *db, char **carried, char **upstream)
{
    char *mode = settings_get(db, "mode");

    *carried = NULL;
    *upstream = settings_get(db, "upstream");
    if (mode != NULL && strcmp(mode, "replica") == 0)
        *carried = hier_upstream_languages(db);
    free(mode);
}
