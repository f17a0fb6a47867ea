/*
 * xml: hardened libxml2 parsing (see xml.h). A SAX wrapper counts depth and elements while
 * the tree is built and stops the parser as soon as a limit is crossed or a DTD shows up,
 * so a hostile document never gets to allocate its way past the limits. Attributes are counted
 * earlier, by a linear pre-scan of the bytes (xml_guard_scan), because libxml2 spends quadratic
 * time on one start tag before any callback runs. The external entity loader is replaced once
 * per process by one that refuses everything.
 */
#include "xml.h"

#include "strutil.h"
#include "xmalloc.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static xmlParserInputPtr xml_refuse_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

static void xml_global_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(xml_refuse_loader);
}

void xml_init(void)
{
    pthread_once(&xml_once, xml_global_init);
}

void xml_guard_stop(xmlParserCtxtPtr ctxt, const char *reason)
{
    struct xml_guard *g = ctxt->_private;

    if (g->stop_reason == NULL)
        g->stop_reason = reason;
    xmlStopParser(ctxt);
}

int xml_guard_enter(xmlParserCtxtPtr ctxt)
{
    struct xml_guard *g = ctxt->_private;

    if (g->stop_reason != NULL)
        return -1;
    if (++g->depth > g->lim->max_depth) {
        xml_guard_stop(ctxt, "elements nested too deeply");
        return -1;
    }
    if (++g->elements > g->lim->max_elements) {
        xml_guard_stop(ctxt, "too many elements");
        return -1;
    }
    return 0;
}

void xml_guard_leave(xmlParserCtxtPtr ctxt)
{
    struct xml_guard *g = ctxt->_private;

    if (g->stop_reason == NULL)
        g->depth--;
}

/* ---------- byte pre-scan ---------- */

enum xml_scan_state {
    SCAN_TEXT = 0, /* character data (or before the root) */
    SCAN_LT,       /* after '<' */
    SCAN_BANG,     /* after "<!": matching "--" or "[CDATA[" (want, sub) */
    SCAN_COMMENT,  /* inside <!-- -->; sub counts trailing '-' */
    SCAN_CDATA,    /* inside <![CDATA[ ]]>; sub counts trailing ']' */
    SCAN_DECL,     /* inside <!DOCTYPE ...> or another <!...> */
    SCAN_PI,       /* inside <? ?>; sub is 1 after '?' */
    SCAN_ETAG,     /* inside </...> */
    SCAN_STAG,     /* inside a start tag, before an attribute (or still in the element name) */
    SCAN_ANAME,    /* in an attribute name; sub counts the "xmlns" matched so far (-1: not) */
    SCAN_AEQ,      /* after an attribute name, before its value */
    SCAN_AVAL,     /* in an attribute value quoted by quote */
    SCAN_SLASH     /* after '/' in a start tag */
};

static int scan_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Stop with "<before> <n> <after>". */
static int scan_refuse(struct xml_guard *g, const char *before, long n, const char *after)
{
    snprintf(g->reason_buf, sizeof(g->reason_buf), "%s %ld %s", before, n, after);
    g->stop_reason = g->reason_buf;
    return -1;
}

/* n more bytes of the markup being read. */
static int scan_markup_len(struct xml_guard *g, long n)
{
    if ((g->scan.markup += n) > XML_MAX_MARKUP)
        return scan_refuse(g, "a tag, comment, CDATA section or PI longer than", XML_MAX_MARKUP,
                           "bytes");
    return 0;
}

/* The attribute name just ended; was it xmlns or xmlns:*? */
static int scan_name_end(struct xml_guard *g)
{
    struct xml_scan *s = &g->scan;

    if (s->sub == 5)
        s->is_ns = 1;
    s->sub = -1;
    if (!s->is_ns)
        return 0;
    s->is_ns = 0;
    s->ns_here++;
    if (++s->ns_in_scope > XML_MAX_NS_IN_SCOPE)
        return scan_refuse(g, "more than", XML_MAX_NS_IN_SCOPE, "namespace declarations in scope");
    return 0;
}

/* c begins an attribute name. */
static int scan_attr_start(struct xml_guard *g, char c)
{
    struct xml_scan *s = &g->scan;
    long max = g->lim->max_attrs > 0 ? g->lim->max_attrs : XML_DEFAULT_MAX_ATTRS;
    long total =
        g->lim->max_total_attrs > 0 ? g->lim->max_total_attrs : XML_DEFAULT_MAX_TOTAL_ATTRS;

    if (++s->attrs > max)
        return scan_refuse(g, "an element has more than", max, "attributes");
    if (++s->total_attrs > total)
        return scan_refuse(g, "more than", total, "attributes in the document");
    s->state = SCAN_ANAME;
    s->sub = c == 'x' ? 1 : -1;
    s->is_ns = 0;
    return 0;
}

/* The start tag ended with '>' (empty: "/>"). */
static void scan_tag_end(struct xml_scan *s, int empty)
{
    if (empty)
        s->ns_in_scope -= s->ns_here;
    else {
        if (s->depth < XML_SCAN_DEPTH)
            s->ns_at[s->depth] = (unsigned char)s->ns_here;
        s->depth++;
    }
    s->state = SCAN_TEXT;
}

static void scan_etag_end(struct xml_scan *s)
{
    if (s->depth > 0) {
        s->depth--;
        if (s->depth < XML_SCAN_DEPTH)
            s->ns_in_scope -= s->ns_at[s->depth];
    }
    s->state = SCAN_TEXT;
}

/* One byte inside a start tag (states STAG .. SLASH). */
static int scan_tag_byte(struct xml_guard *g, char c)
{
    struct xml_scan *s = &g->scan;

    switch (s->state) {
    case SCAN_SLASH:
        if (c == '>') {
            scan_tag_end(s, 1);
            return 0;
        }
        s->state = SCAN_STAG;
        /* fall through */
    case SCAN_STAG:
        if (c == '>')
            scan_tag_end(s, 0);
        else if (c == '/')
            s->state = SCAN_SLASH;
        else if (scan_space(c))
            s->sub = 1; /* the element name has ended */
        else if (s->sub == 1)
            return scan_attr_start(g, c);
        return 0;
    case SCAN_ANAME:
        if (c == '=' || c == '>' || c == '/' || scan_space(c)) {
            if (scan_name_end(g) < 0)
                return -1;
            if (c == '>')
                scan_tag_end(s, 0);
            else
                s->state = c == '/' ? SCAN_SLASH : SCAN_AEQ;
        } else if (s->sub >= 0 && s->sub < 5 && c == "xmlns"[s->sub]) {
            s->sub++;
        } else {
            if (s->sub == 5 && c == ':')
                s->is_ns = 1;
            s->sub = -1;
        }
        return 0;
    case SCAN_AEQ:
        if (c == '"' || c == '\'') {
            s->quote = c;
            s->state = SCAN_AVAL;
        } else if (c == '>') {
            scan_tag_end(s, 0);
        } else if (c != '=' && !scan_space(c)) {
            return scan_attr_start(g, c); /* malformed; libxml2 will say so */
        }
        return 0;
    default:
        return 0;
    }
}

/* One byte of markup outside start tags (states LT .. ETAG). */
static void scan_markup_byte(struct xml_scan *s, char c)
{
    switch (s->state) {
    case SCAN_LT:
        if (c == '!') {
            s->state = SCAN_BANG;
            s->want = NULL;
            s->sub = 0;
        } else if (c == '?') {
            s->state = SCAN_PI;
            s->sub = 0;
        } else if (c == '/') {
            s->state = SCAN_ETAG;
        } else {
            s->state = SCAN_STAG;
            s->sub = 0;
            s->attrs = 0;
            s->ns_here = 0;
        }
        break;
    case SCAN_BANG:
        if (s->want == NULL)
            s->want = c == '-' ? "--" : c == '[' ? "[CDATA[" : "";
        if (s->want[s->sub] != '\0' && s->want[s->sub] == c) {
            if (s->want[++s->sub] == '\0') {
                s->state = s->want[0] == '-' ? SCAN_COMMENT : SCAN_CDATA;
                s->sub = 0;
            }
        } else {
            s->state = SCAN_DECL;
            s->quote = 0;
            s->decl_depth = 0;
            scan_markup_byte(s, c);
        }
        break;
    case SCAN_COMMENT:
    case SCAN_CDATA:
        if (c == '>' && s->sub >= 2)
            s->state = SCAN_TEXT;
        else
            s->sub = c == (s->state == SCAN_COMMENT ? '-' : ']') ? s->sub + 1 : 0;
        break;
    case SCAN_PI:
        if (c == '>' && s->sub)
            s->state = SCAN_TEXT;
        else
            s->sub = c == '?';
        break;
    case SCAN_DECL:
        if (s->quote != 0) {
            if (c == s->quote)
                s->quote = 0;
        } else if (c == '"' || c == '\'') {
            s->quote = c;
        } else if (c == '[') {
            s->decl_depth++;
        } else if (c == ']') {
            s->decl_depth--;
        } else if (c == '>' && s->decl_depth <= 0) {
            s->state = SCAN_TEXT;
        }
        break;
    case SCAN_ETAG:
        if (c == '>')
            scan_etag_end(s);
        break;
    default:
        break;
    }
}

/*
 * The pseudo-attributes of an XML declaration, p..end (between "<?xml" and "?>"): 0 when the
 * encoding is UTF-8 or not named, -1 (refused) otherwise.
 */
static int scan_xmldecl(struct xml_guard *g, const char *p, const char *end)
{
    for (;;) {
        const char *name, *v;
        size_t nlen, vlen;
        char q;

        while (p < end && scan_space(*p))
            p++;
        if (p == end)
            return 0;
        for (name = p; p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));)
            p++;
        nlen = (size_t)(p - name);
        while (p < end && scan_space(*p))
            p++;
        if (nlen == 0 || p == end || *p != '=')
            break;
        for (p++; p < end && scan_space(*p);)
            p++;
        if (p == end || (*p != '"' && *p != '\''))
            break;
        q = *p++;
        for (v = p; p < end && *p != q;)
            p++;
        if (p == end)
            break;
        vlen = (size_t)(p++ - v);
        if (nlen == 8 && memcmp(name, "encoding", 8) == 0 &&
            !(vlen == 5 && strncasecmp(v, "utf-8", 5) == 0) &&
            !(vlen == 4 && strncasecmp(v, "utf8", 4) == 0)) {
            snprintf(g->reason_buf, sizeof(g->reason_buf),
                     "the document declares encoding \"%.*s\"; only UTF-8 is accepted",
                     (int)(vlen > 32 ? 32 : vlen), v);
            g->stop_reason = g->reason_buf;
            return -1;
        }
    }
    g->stop_reason = "the XML declaration is malformed";
    return -1;
}

/*
 * Keep the first bytes until it is known that libxml2 reads the document as UTF-8: not one of
 * the starts it takes for UTF-16, UCS-4 or EBCDIC (xmlDetectCharEncoding), and an XML declaration
 * that names no other encoding. 0 (decided or not yet), -1 refused.
 */
static int scan_head(struct xml_guard *g, const char *data, size_t len)
{
    struct xml_scan *s = &g->scan;
    const unsigned char *h = (const unsigned char *)s->head;
    size_t take = len < XML_SCAN_HEAD - s->head_len ? len : XML_SCAN_HEAD - s->head_len;
    size_t n, off = 0, i;

    memcpy(s->head + s->head_len, data, take);
    n = s->head_len += take;
    if (n < 4)
        return 0;
    if (memchr(h, '\0', 4) != NULL || (h[0] == 0xfe && h[1] == 0xff) ||
        (h[0] == 0xff && h[1] == 0xfe) || memcmp(h, "\x4c\x6f\xa7\x94", 4) == 0) {
        g->stop_reason = "the document is not UTF-8 (it starts like UTF-16, UCS-4 or EBCDIC)";
        return -1;
    }
    if (h[0] == 0xef && h[1] == 0xbb && h[2] == 0xbf)
        off = 3; /* the UTF-8 byte order mark */
    if (n - off < 6)
        return 0;
    if (memcmp(h + off, "<?xml", 5) != 0 || !scan_space((char)h[off + 5])) {
        s->head_done = 1; /* no declaration: UTF-8 */
        return 0;
    }
    for (i = off + 5; i + 1 < n; i++)
        if (h[i] == '?' && h[i + 1] == '>') {
            s->head_done = 1;
            return scan_xmldecl(g, s->head + off + 5, s->head + i);
        }
    if (n == XML_SCAN_HEAD) {
        g->stop_reason = "the XML declaration is longer than 256 bytes";
        return -1;
    }
    return 0;
}

int xml_guard_scan(struct xml_guard *g, const void *data, size_t len)
{
    struct xml_scan *s = &g->scan;
    const char *p = data, *end = p + len;

    if (g->stop_reason != NULL)
        return -1;
    if (!s->head_done && scan_head(g, data, len) < 0)
        return -1;
    while (p < end) {
        if (s->state == SCAN_TEXT || s->state == SCAN_AVAL) {
            /* the bulk of a document: jump to the byte that ends the run */
            const char *q = memchr(p, s->state == SCAN_TEXT ? '<' : s->quote, (size_t)(end - p));
            if (s->state == SCAN_AVAL && scan_markup_len(g, (q != NULL ? q + 1 : end) - p) < 0)
                return -1;
            if (q == NULL)
                break;
            if (s->state == SCAN_TEXT) {
                s->state = SCAN_LT;
                s->markup = 1;
            } else {
                s->state = SCAN_STAG;
                s->sub = 1; /* past the element name */
            }
            p = q + 1;
            continue;
        }
        if (scan_markup_len(g, 1) < 0)
            return -1;
        if (s->state >= SCAN_STAG) {
            if (scan_tag_byte(g, *p) < 0)
                return -1;
        } else {
            scan_markup_byte(s, *p);
        }
        p++;
    }
    return 0;
}

void *xml_guard_owner(void *sax_user_data)
{
    xmlParserCtxtPtr ctxt = sax_user_data;

    return ((struct xml_guard *)ctxt->_private)->owner;
}

static void xml_sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                          const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                          int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    if (xml_guard_enter(ctx) < 0)
        return;
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void xml_sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                        const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;

    if (((struct xml_guard *)ctxt->_private)->stop_reason != NULL)
        return;
    xml_guard_leave(ctxt);
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

static void xml_sax_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name;
    (void)ext;
    (void)sys;
    xml_guard_stop(ctx, "a DOCTYPE (DTD) is not allowed");
}

static void xml_sax_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
                           const xmlChar *sys, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)pub;
    (void)sys;
    (void)content;
    xml_guard_stop(ctx, "entity declarations are not allowed");
}

static void xml_sax_reference(void *ctx, const xmlChar *name)
{
    (void)name;
    xml_guard_stop(ctx, "entity references are not allowed");
}

static void xml_sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    /* processing instructions carry nothing we use; keep them out of the tree */
    (void)ctx;
    (void)target;
    (void)data;
}

void xml_guard_attach(xmlParserCtxtPtr ctxt, struct xml_guard *g, const struct xml_limits *lim,
                      void *owner)
{
    xml_init();
    memset(g, 0, sizeof(*g));
    g->lim = lim;
    g->owner = owner;
    ctxt->_private = g;
    ctxt->sax->internalSubset = xml_sax_dtd;
    ctxt->sax->externalSubset = xml_sax_dtd;
    ctxt->sax->entityDecl = xml_sax_entity;
    ctxt->sax->reference = xml_sax_reference;
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
}

xmlDoc *xml_parse(const char *data, size_t len, const struct xml_limits *lim, char *err,
                  size_t errlen)
{
    xmlParserCtxtPtr ctxt = NULL;
    struct xml_guard g;
    xmlDoc *doc = NULL;
    const xmlError *e;

    xml_init();
    if (len > lim->max_bytes) {
        snprintf(err, errlen, "xml document too large (%zu bytes, limit %zu)", len, lim->max_bytes);
        return NULL;
    }
    if (len > 0x7fffffff) {
        snprintf(err, errlen, "xml document too large");
        return NULL;
    }
    ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
    if (ctxt == NULL) {
        snprintf(err, errlen, "cannot create an xml parser (empty document?)");
        return NULL;
    }
    ctxt->sax->startElementNs = xml_sax_start;
    ctxt->sax->endElementNs = xml_sax_end;
    ctxt->sax->processingInstruction = xml_sax_pi;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    xml_guard_attach(ctxt, &g, lim, NULL);
    if (xml_guard_scan(&g, data, len) == 0)
        xmlParseDocument(ctxt);
    if (g.stop_reason != NULL) {
        snprintf(err, errlen, "xml rejected: %s", g.stop_reason);
        goto fail;
    }
    if (!ctxt->wellFormed || ctxt->myDoc == NULL) {
        char msg[256] = "not well-formed";
        e = xmlCtxtGetLastError(ctxt);
        if (e != NULL && e->message != NULL) {
            str_copy_cut(msg, sizeof(msg), e->message);
            str_trim(msg);
        }
        snprintf(err, errlen, "xml error at line %d: %s", e != NULL ? e->line : 0, msg);
        goto fail;
    }
    if (ctxt->myDoc->intSubset != NULL || ctxt->myDoc->extSubset != NULL) {
        snprintf(err, errlen, "xml rejected: a DOCTYPE (DTD) is not allowed");
        goto fail;
    }
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    return doc;
fail:
    if (ctxt->myDoc != NULL)
        xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    return NULL;
}

void xml_doc_free(xmlDoc *doc)
{
    if (doc != NULL)
        xmlFreeDoc(doc);
}

xmlNode *xml_root(const xmlDoc *doc)
{
    return doc != NULL ? xmlDocGetRootElement(doc) : NULL;
}

int xml_is(const xmlNode *node, const char *ns, const char *name)
{
    if (node == NULL || node->type != XML_ELEMENT_NODE)
        return 0;
    if (name != NULL && strcmp((const char *)node->name, name) != 0)
        return 0;
    if (ns == NULL) /* an empty namespace name is no namespace (XML Namespaces 1.0, 6.2) */
        return node->ns == NULL || node->ns->href == NULL || node->ns->href[0] == '\0';
    if (strcmp(ns, XML_NS_ANY) == 0)
        return 1;
    return node->ns != NULL && node->ns->href != NULL &&
           strcmp((const char *)node->ns->href, ns) == 0;
}

xmlNode *xml_next(const xmlNode *node, const char *ns, const char *name)
{
    xmlNode *n;

    if (node == NULL)
        return NULL;
    for (n = node->next; n != NULL; n = n->next)
        if (xml_is(n, ns, name))
            return n;
    return NULL;
}

xmlNode *xml_child(const xmlNode *parent, const char *ns, const char *name)
{
    xmlNode *n;

    if (parent == NULL)
        return NULL;
    for (n = parent->children; n != NULL; n = n->next)
        if (xml_is(n, ns, name))
            return n;
    return NULL;
}

const char *xml_attr(const xmlNode *node, const char *name)
{
    const xmlAttr *a;

    if (node == NULL || node->type != XML_ELEMENT_NODE)
        return NULL;
    for (a = node->properties; a != NULL; a = a->next) {
        if (a->ns != NULL || strcmp((const char *)a->name, name) != 0)
            continue;
        if (a->children == NULL)
            return "";
        if (a->children->type == XML_TEXT_NODE && a->children->next == NULL)
            return a->children->content != NULL ? (const char *)a->children->content : "";
        return NULL; /* entity references in attributes never get past xml_parse */
    }
    return NULL;
}

char *xml_text_dup(const xmlNode *node)
{
    xmlChar *c;
    char *s;

    if (node == NULL)
        return xstrdup("");
    c = xmlNodeGetContent(node);
    s = xstrdup(c != NULL ? (const char *)c : "");
    xmlFree(c);
    return s;
}
