/*
 * wusp_report: the Reporting web service (MS-WUSP 2.2.2.3.1, 3.1.5.11). ReportEventBatch
 * decodes at most CLIENT_EVENT_MAX_BATCH events (bounded strings) and stores them for the
 * computer of the cookie (the authenticated id; the events' own TargetID is not trusted).
 * Events of a computer that never registered are acknowledged and dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "client_event.h"
#include "computer.h"
#include "log.h"
#include "strutil.h"
#include "wusp.h"
#include "xmalloc.h"

static void report_copy(struct wusp_ctx *w, const xmlNode *parent, const char *name, char *out,
                        size_t outlen)
{
    char *t = wusp_text(w, parent, name, SOAP_MAX_TEXT);

    out[0] = '\0';
    if (t != NULL) {
        size_t n = strlen(str_trim(t));

        if (n >= outlen)
            n = outlen - 1;
        memcpy(out, t, n);
        out[n] = '\0';
        /* never cut a UTF-8 sequence in half */
        while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
            out[--n] = '\0';
        if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
            out[--n] = '\0';
    }
    free(t);
}

static long report_int(struct wusp_ctx *w, const xmlNode *parent, const char *name, long min,
                       long max, int *ok)
{
    char *t = wusp_text(w, parent, name, 32);
    long v = 0;

    if (t == NULL || soap_int_parse(t, min, max, &v) < 0)
        *ok = 0;
    free(t);
    return v;
}

/* One ReportingEvent into ev; 0, or -1 when a required value is missing or odd. */
static int report_event(struct wusp_ctx *w, const xmlNode *re, struct client_event *ev)
{
    const xmlNode *bd = wusp_child(w, re, "BasicData");
    const xmlNode *ed = wusp_child(w, re, "ExtendedData");
    const xmlNode *uid = wusp_child(w, bd, "UpdateID");
    const xmlNode *rs = wusp_child(w, ed, "ReplacementStrings");
    char tmp[64];
    unsigned char g[16];
    int ok = 1;

    memset(ev, 0, sizeof(*ev));
    if (bd == NULL)
        return -1;
    report_copy(w, bd, "EventInstanceID", tmp, sizeof(tmp));
    if (soap_guid_parse(tmp, g) < 0)
        return -1;
    str_guid_format(g, ev->instance_id);
    ev->event_id = (int)report_int(w, bd, "EventID", 0, 65535, &ok);
    ev->namespace_id = (int)report_int(w, bd, "NamespaceID", 0, 65535, &ok);
    ev->source_id = (int)report_int(w, bd, "SourceID", 0, 65535, &ok);
    ev->hresult = (int32_t)report_int(w, bd, "Win32HResult", -2147483647L - 1, 2147483647L, &ok);
    if (!ok)
        return -1;
    if (uid != NULL) {
        static const unsigned char zero[16];
        int rok = 1;

        report_copy(w, uid, "UpdateID", tmp, sizeof(tmp));
        if (soap_guid_parse(tmp, g) == 0 && memcmp(g, zero, 16) != 0) {
            str_guid_format(g, ev->update_id);
            ev->revision_number = (int)report_int(w, uid, "RevisionNumber", 0, 2147483647L, &rok);
        }
    }
    report_copy(w, bd, "TimeAtTarget", ev->time_at_target, sizeof(ev->time_at_target));
    if (!soap_datetime_valid(ev->time_at_target))
        ev->time_at_target[0] = '\0';
    report_copy(w, bd, "AppName", ev->app_name, sizeof(ev->app_name));
    if (rs != NULL) {
        const char *ns = w->s.info->ns;
        size_t len = 0;
        xmlNodePtr c;

        for (c = xml_child(rs, ns, "string"); c != NULL; c = xml_next(c, ns, "string")) {
            char *t = soap_text(c, CLIENT_EVENT_MAX_TEXT);
            size_t n;

            if (t == NULL)
                continue;
            n = strlen(t);
            if (len + n + 2 <= sizeof(ev->replacement)) {
                if (len > 0)
                    ev->replacement[len++] = '\n';
                memcpy(ev->replacement + len, t, n);
                len += n;
                ev->replacement[len] = '\0';
            }
            free(t);
        }
    }
    return 0;
}

/* The MiscData of a status event (EventID 156) into st, replacing what an earlier one of the
 * batch said. */
static void report_status(struct wusp_ctx *w, const xmlNode *re, const struct client_event *ev,
                          struct client_status *st)
{
    const xmlNode *misc = wusp_child(w, wusp_child(w, re, "ExtendedData"), "MiscData");
    const char *ns = w->s.info->ns;
    xmlNodePtr c;

    client_status_free(st);
    str_copy_cut(st->instance_id, sizeof(st->instance_id), ev->instance_id);
    for (c = misc != NULL ? xml_child(misc, ns, "string") : NULL; c != NULL;
         c = xml_next(c, ns, "string")) {
        char *t = soap_text(c, SOAP_MAX_TEXT);

        if (t == NULL)
            st->dropped++;
        else
            client_status_add(st, t);
        free(t);
    }
    client_status_finish(st);
}

enum MHD_Result wusp_report_event_batch(struct wusp_ctx *w)
{
    const char *ns = w->s.info->ns;
    const xmlNode *batch = wusp_child(w, w->op, "eventBatch");
    struct client_event *ev = NULL;
    struct client_status st;
    size_t cnt, n = 0, stored = 0;
    int64_t anchor;
    xmlNodePtr c;
    PGconn *db;
    char result[128];
    enum MHD_Result r;
    int reg;

    if (wusp_check_cookie(w, &r) < 0)
        return r;
    if (wusp_child(w, w->op, "clientTime") == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "clientTime: missing");
    if (batch == NULL)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "eventBatch: missing");
    cnt = soap_count(batch, ns, "ReportingEvent", CLIENT_EVENT_MAX_BATCH);
    if (cnt > CLIENT_EVENT_MAX_BATCH)
        return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS, "eventBatch: more than %d events",
                              CLIENT_EVENT_MAX_BATCH);
    ev = xcalloc(cnt + 1, sizeof(*ev));
    client_status_init(&st);
    for (c = xml_child(batch, ns, "ReportingEvent"); c != NULL && n < cnt;
         c = xml_next(c, ns, "ReportingEvent")) {
        if (report_event(w, c, &ev[n]) < 0) {
            free(ev);
            client_status_free(&st);
            return soap_svc_fault(&w->s, SOAP_ERR_INVALID_PARAMETERS,
                                  "eventBatch: event %zu needs BasicData with an "
                                  "EventInstanceID GUID, EventID, NamespaceID, SourceID and "
                                  "Win32HResult",
                                  n + 1);
        }
        if (ev[n].event_id == CLIENT_STATUS_EVENT)
            report_status(w, c, &ev[n], &st);
        n++;
    }
    db = soap_svc_db(&w->s, &r);
    if (db == NULL) {
        free(ev);
        client_status_free(&st);
        return r;
    }
    reg = computer_sync_anchor(db, w->client_id, &anchor);
    if (reg > 0 && client_event_store(db, w->client_id, ev, n, &stored) < 0)
        reg = -1;
    if (reg > 0 && st.instance_id[0] != '\0') {
        if (st.dropped > 0)
            log_warnx("wusp: status of computer %s: %zu update ids dropped (not GUIDs, or over "
                      "%d)",
                      w->client_id, st.dropped, CLIENT_STATUS_MAX_IDS);
        if (client_status_store(db, w->client_id, &st) < 0)
            reg = -1;
    }
    soap_svc_db_put(&w->s, db);
    free(ev);
    client_status_free(&st);
    if (reg < 0)
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "catalog error storing the events");
    if (reg == 0)
        log_info("wusp: %zu events of unregistered computer %s from %s dropped", n, w->client_id,
                 w->s.peer);
    else
        log_debug("wusp: %zu events (%zu new) of computer %s", n, stored, w->client_id);
    if (str_copy(result, sizeof(result), "<ReportEventBatchResult>true</ReportEventBatchResult>") <
        0)
        return soap_svc_fault(&w->s, SOAP_ERR_INTERNAL, "answer too long");
    return soap_svc_reply(&w->s, result, strlen(result));
}
