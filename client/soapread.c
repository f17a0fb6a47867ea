/*
 * soapread: SAX2 push parsing of SOAP answers with a bounded element path and text buffer.
 * Only the fault parts are interpreted here; everything else goes to the owner's callback.
 * The hardening (no DTD, no entities, no network, depth limit) is common/format/xml.c's guard.
 */
#include "soapread.h"
#include "buf.h"
#include "log.h"
#include "xml.h"
#include "xmalloc.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64
/* The attributes of the open elements, kept for soapread_attr (a rollup answer's ChangedComputer
 * carries its data in two of them): room for one tag as large as libxml2 is allowed to hand over
 * (XML_MAX_MARKUP), so this cap never refuses what the markup bound lets through. */
#define ATTRS_MAX ((size_t)XML_MAX_MARKUP + (64u << 10))

/*
 * Depth as the element path allows; the element count is bounded by the answer's size. Real
 * answers carry at most 2 attributes on an element (xmlns, xsi:nil) and hardly any in all: the
 * total allows one on each of USS_MAX_IDS identities.
 */
static const struct xml_limits soapread_limits = {0, SOAPREAD_MAX_DEPTH, 0x7fffffffL,
                                                  XML_DEFAULT_MAX_ATTRS, 4000000};

struct soapread {
    xmlParserCtxtPtr ctxt;
    struct xml_guard guard;
    soapread_end_fn end;
    void *arg;
    int depth; /* number of open elements */
    char names[SOAPREAD_MAX_DEPTH][NAME_MAX_LEN];
    struct buf text;
    struct buf attrs;                    /* "name\0value\0" of the open elements */
    size_t attr_off[SOAPREAD_MAX_DEPTH]; /* where each open element's attributes start */
    int in_fault;
    int is_fault;
    int stopped;
    char error[256];
    char fault_code[128];
    char fault_string[256];
    char error_code[64];
    char error_message[4096]; /* a FileDigestsMissing list of 100 digests fits */
};

static void soapread_fail(struct soapread *r, const char *msg)
{
    if (r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "%s", msg);
    r->stopped = 1;
    xmlStopParser(r->ctxt);
}

/*
 * Keep one attribute as "name\0value\0". Without entity substitution libxml2 hands an escaped
 * '&' over as "&#38;" (every other reference already resolved); a raw '&' cannot occur in a
 * value, so each "&#38;" is one '&'.
 */
static int sr_keep_attr(struct soapread *r, const char *name, const char *v, const char *end)
{
    if (buf_add(&r->attrs, name, strlen(name) + 1) < 0)
        return -1;
    while (v < end) {
        const char *amp = memchr(v, '&', (size_t)(end - v));
        size_t n = amp != NULL ? (size_t)(amp - v) : (size_t)(end - v);
        if (buf_add(&r->attrs, v, n) < 0)
            return -1;
        v += n;
        if (amp == NULL)
            break;
        if (end - v >= 5 && memcmp(v, "&#38;", 5) == 0) {
            v += 5;
        } else {
            v++;
        }
        if (buf_add(&r->attrs, "&", 1) < 0)
            return -1;
    }
    return buf_add(&r->attrs, "", 1);
}

static void sr_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    struct soapread *r = xml_guard_owner(ctx);

    (void)prefix;
    (void)uri;
    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    if (r->stopped)
        return;
    if (xml_guard_enter(r->ctxt) < 0) {
        soapread_fail(r, "answer nested too deeply");
        return;
    }
    r->attr_off[r->depth] = r->attrs.len;
    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = &attributes[i * 5]; /* localname, prefix, URI, value, end */
        if (sr_keep_attr(r, (const char *)a[0], (const char *)a[3], (const char *)a[4]) < 0) {
            soapread_fail(r, "the attributes of the answer are larger than allowed");
            return;
        }
    }
    snprintf(r->names[r->depth], NAME_MAX_LEN, "%s", (const char *)localname);
    if (r->depth == 2 && strcmp((const char *)localname, "Fault") == 0) {
        r->in_fault = 1;
        r->is_fault = 1;
    }
    r->depth++;
    buf_reset(&r->text);
}

static void sr_fault_part(struct soapread *r, const char *name, const char *text)
{
    if (strcmp(name, "faultcode") == 0 || (strcmp(name, "Value") == 0 && r->fault_code[0] == '\0'))
        snprintf(r->fault_code, sizeof(r->fault_code), "%s", text);
    else if (strcmp(name, "faultstring") == 0 || strcmp(name, "Text") == 0)
        snprintf(r->fault_string, sizeof(r->fault_string), "%s", text);
    else if (strcmp(name, "ErrorCode") == 0)
        snprintf(r->error_code, sizeof(r->error_code), "%s", text);
    else if (strcmp(name, "Message") == 0)
        snprintf(r->error_message, sizeof(r->error_message), "%s", text);
}

static void sr_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct soapread *r = xml_guard_owner(ctx);
    const char *text;

    (void)localname;
    (void)prefix;
    (void)uri;
    if (r->stopped || r->depth == 0)
        return;
    xml_guard_leave(r->ctxt);
    r->depth--;
    text = buf_str(&r->text);
    if (r->in_fault) {
        sr_fault_part(r, r->names[r->depth], text);
        if (r->depth == 2)
            r->in_fault = 0;
    } else if (r->end(r->arg, r, r->names[r->depth], text, r->text.len) < 0) {
        soapread_fail(r, "answer rejected");
    }
    buf_reset(&r->text);
    r->attrs.len = r->attr_off[r->depth];
    if (r->attrs.data != NULL)
        r->attrs.data[r->attrs.len] = '\0';
}

static void sr_chars(void *ctx, const xmlChar *ch, int len)
{
    struct soapread *r = xml_guard_owner(ctx);

    if (r->stopped || len <= 0)
        return;
    if (buf_add(&r->text, ch, (size_t)len) < 0)
        soapread_fail(r, "an element of the answer is larger than allowed");
}

static xmlEntityPtr sr_entity(void *ctx, const xmlChar *name)
{
    (void)ctx;
    return xmlGetPredefinedEntity(name);
}

static void sr_silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

struct soapread *soapread_new(soapread_end_fn end, void *arg, size_t max_text)
{
    struct soapread *r = xcalloc(1, sizeof(*r));
    xmlSAXHandler sax;

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = sr_start;
    sax.endElementNs = sr_end;
    sax.characters = sr_chars;
    sax.cdataBlock = sr_chars;
    sax.getEntity = sr_entity;
    sax.warning = sr_silent;
    sax.error = sr_silent;
    r->end = end;
    r->arg = arg;
    buf_init(&r->text, max_text);
    buf_init(&r->attrs, ATTRS_MAX);
    xml_init();
    /* user data NULL: the callbacks get the parser, whose guard leads back to r */
    r->ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL);
    if (r->ctxt == NULL)
        fatalx("out of memory creating an XML parser");
    xmlCtxtUseOptions(r->ctxt,
                      XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xml_guard_attach(r->ctxt, &r->guard, &soapread_limits, r);
    return r;
}

void soapread_free(struct soapread *r)
{
    if (r == NULL)
        return;
    if (r->ctxt != NULL) {
        xmlFreeDoc(r->ctxt->myDoc);
        xmlFreeParserCtxt(r->ctxt);
    }
    buf_free(&r->text);
    buf_free(&r->attrs);
    free(r);
}

static void soapread_note_libxml(struct soapread *r)
{
    const xmlError *e = xmlCtxtGetLastError(r->ctxt);
    char msg[200];

    if (r->error[0] != '\0')
        return;
    if (r->guard.stop_reason != NULL) {
        snprintf(msg, sizeof(msg), "answer refused: %s", r->guard.stop_reason);
    } else if (e != NULL && e->message != NULL) {
        snprintf(msg, sizeof(msg), "answer is not well-formed XML (line %d: %s)", e->line,
                 e->message);
        msg[strcspn(msg, "\n")] = '\0';
    } else {
        snprintf(msg, sizeof(msg), "answer is not well-formed XML");
    }
    snprintf(r->error, sizeof(r->error), "%s", msg);
    r->stopped = 1;
}

int soapread_feed(struct soapread *r, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0 && !r->stopped) {
        int n = len > (1 << 20) ? (1 << 20) : (int)len;
        /* the attribute bounds hold before libxml2 sees the bytes (see xml_guard_scan) */
        if (xml_guard_scan(&r->guard, p, (size_t)n) < 0 || xmlParseChunk(r->ctxt, p, n, 0) != 0 ||
            r->ctxt->wellFormed == 0 || r->guard.stop_reason != NULL)
            soapread_note_libxml(r);
        p += n;
        len -= (size_t)n;
    }
    return r->stopped ? -1 : 0;
}

int soapread_finish(struct soapread *r)
{
    if (r->stopped)
        return -1;
    if (xmlParseChunk(r->ctxt, NULL, 0, 1) != 0 || r->ctxt->wellFormed == 0 ||
        r->guard.stop_reason != NULL) {
        soapread_note_libxml(r);
        return -1;
    }
    if (r->error[0] != '\0')
        return -1;
    return 0;
}

const char *soapread_error(const struct soapread *r)
{
    return r->error;
}

const char *soapread_parent(const struct soapread *r, int k)
{
    int i = r->depth - k;

    return (k < 1 || i < 0) ? "" : r->names[i];
}

const char *soapread_attr(const struct soapread *r, const char *name)
{
    size_t off = r->attr_off[r->depth];

    while (off < r->attrs.len) {
        const char *n = r->attrs.data + off;
        const char *v = n + strlen(n) + 1;
        if (strcmp(n, name) == 0)
            return v;
        off = (size_t)(v - r->attrs.data) + strlen(v) + 1;
    }
    return NULL;
}

int soapread_depth(const struct soapread *r)
{
    return r->depth;
}

int soapread_is_fault(const struct soapread *r)
{
    return r->is_fault;
}

const char *soapread_fault_code(const struct soapread *r)
{
    return r->fault_code;
}

const char *soapread_fault_string(const struct soapread *r)
{
    return r->fault_string;
}

const char *soapread_error_code(const struct soapread *r)
{
    return r->error_code;
}

const char *soapread_error_message(const struct soapread *r)
{
    return r->error_message;
}
