/*
 * xml: the one hardened way to parse XML in wsusd (libxml2). Every parse goes through
 * xml_parse() (or, for a streaming SAX reader, a parser under xml_guard_attach()): no network,
 * no file access, no DTD (a document with a DOCTYPE or an entity declaration is rejected), no
 * entity expansion, and limits on size, depth, element and attribute counts fixed by the caller
 * (attributes are counted by a pre-scan of the bytes, before libxml2 sees them). Helpers walk
 * children by (namespace URI, local name) and read attributes and text without copying. Does not
 * validate against schemas and does not serialize.
 */
#ifndef WSUS_XML_H
#define WSUS_XML_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stddef.h>

struct xml_limits {
    size_t max_bytes;     /* whole document, in bytes */
    int max_depth;        /* element nesting (the root is depth 1) */
    long max_elements;    /* elements in the whole document */
    long max_attrs;       /* attributes (namespace declarations included) of one element;
                             0: XML_DEFAULT_MAX_ATTRS */
    long max_total_attrs; /* attributes in the whole document; 0: XML_DEFAULT_MAX_TOTAL_ATTRS */
};

/*
 * Attribute bounds. libxml2 (2.9) compares every attribute of a start tag with every earlier one
 * before any SAX callback runs: 100,000 attributes on one element cost ~24 s of CPU. Real
 * documents (update XML, WSUSSS and Windows Update SOAP) carry at most 9 attributes on an
 * element and about 4 per element in total, so 64 per element leaves a wide margin and keeps
 * the duplicate check below 2,100 comparisons per element.
 */
#define XML_DEFAULT_MAX_ATTRS       64
#define XML_DEFAULT_MAX_TOTAL_ATTRS 32768
/*
 * Namespace declarations in scope at once (on the open elements), a fixed bound: libxml2 looks
 * every prefix up linearly among them. Real documents have at most 9 in scope.
 */
#define XML_MAX_NS_IN_SCOPE 128

/* Limits fit for one update document (the largest real ones are below 1 MB). */
#define XML_LIMITS_UPDATE ((struct xml_limits){16u * 1024 * 1024, 128, 1000000, 64, 4000000})

/* Matches any namespace in xml_child()/xml_next(). */
#define XML_NS_ANY "*"

/*
 * Make libxml2 safe for this process (refuse every external entity / DTD / network load).
 * xml_parse calls it itself; call it before using libxml2 directly (xmlTextReader).
 */
void xml_init(void);

/*
 * Bytes of one piece of markup: a tag (with its attribute values), comment, CDATA section, PI or
 * declaration. libxml2's push parser rescans an unfinished one on every chunk once it passes
 * ~10 MB (a 32 MB comment fed in 16 KB chunks: 34 s); real ones have at most 388 bytes.
 * Character data is not bounded here (it is linear).
 */
#define XML_MAX_MARKUP (1L << 20)

/* Depth up to which the pre-scan tracks namespace declarations per element. */
#define XML_SCAN_DEPTH 256
/* The XML declaration must end within this many bytes (real ones have 40). */
#define XML_SCAN_HEAD 256

/* State of the byte pre-scan (xml_guard_scan) between chunks. Fields are the scanner's. */
struct xml_scan {
    int state;
    int sub;          /* progress through a delimiter ("--", "]]>", "xmlns", ...) */
    const char *want; /* the "<!" construct being matched ("--" or "[CDATA[") */
    char quote;       /* the quote of the attribute value (or DOCTYPE literal) being read */
    int is_ns;        /* the attribute being read is a namespace declaration */
    int decl_depth;   /* '[' nesting inside a DOCTYPE */
    long attrs;       /* attributes of the start tag being read */
    long total_attrs; /* attributes so far */
    int ns_here;      /* namespace declarations of the start tag being read */
    int ns_in_scope;  /* namespace declarations on the open elements */
    int depth;        /* open elements */
    long markup;      /* bytes of the markup being read (from its "<") */
    unsigned char ns_at[XML_SCAN_DEPTH]; /* namespace declarations of each open element */
    int head_done;                       /* the start of the document was found UTF-8 */
    size_t head_len;
    char head[XML_SCAN_HEAD]; /* the first bytes, until head_done */
};

/*
 * The guard xml_parse puts on its parser, for a SAX2 parser the caller drives itself (the
 * streaming reader of large upstream answers, client/soapread.c). Fields are the guard's.
 */
struct xml_guard {
    const struct xml_limits *lim; /* max_depth, max_elements and the attribute limits apply;
                                     max_bytes is the caller's */
    int depth;
    long elements;
    const char *stop_reason; /* why the parser was stopped, or NULL (static or in reason_buf) */
    void *owner;             /* the caller's own state */
    struct xml_scan scan;
    char reason_buf[96];
};

/*
 * Put g on ctxt: calls xml_init(), makes ctxt refuse (stop on) any DOCTYPE, entity declaration
 * and entity reference, and turns off entity substitution, DTD loading and validation. ctxt's
 * SAX user data must be ctxt itself (xmlCreatePushParserCtxt with user_data NULL); ctxt->_private
 * then points at g, which must outlive the parse. lim is borrowed; owner is for the caller's
 * callbacks (xml_guard_owner). Call it after xmlCtxtUseOptions().
 */
void xml_guard_attach(xmlParserCtxtPtr ctxt, struct xml_guard *g, const struct xml_limits *lim,
                      void *owner);
/* The owner given to xml_guard_attach, from the user data a SAX callback receives. */
void *xml_guard_owner(void *sax_user_data);
/*
 * Count an element start against the limits (from the caller's startElementNs). 0 to go on;
 * -1 once the parser is stopped (now or before), g->stop_reason says why.
 */
int xml_guard_enter(xmlParserCtxtPtr ctxt);
/* Count an element end (from the caller's endElementNs). */
void xml_guard_leave(xmlParserCtxtPtr ctxt);
/*
 * Pre-scan the next len bytes of the document before they are given to libxml2 (chunks in
 * document order; the state carries over, so a tag may be split anywhere). Counts attributes per
 * element and in total and namespace declarations in scope against g->lim, in one linear pass
 * that never looks back; it also bounds each piece of markup (XML_MAX_MARKUP). The count is only
 * true of bytes libxml2 reads as UTF-8, so the scan also refuses a document that starts like
 * UTF-16, UCS-4 or EBCDIC, or whose XML declaration names another encoding (or is malformed, or
 * longer than XML_SCAN_HEAD). 0 to go on; -1 once a bound is crossed (now or before), with
 * g->stop_reason saying which ("an element has more than 64 attributes"). Only g->lim needs to be
 * set (xml_guard_attach does it; a zeroed guard with lim set works too). The bytes are not checked
 * for well-formedness: libxml2 does that, and a malformed document can only be over-counted, which
 * libxml2 refuses anyway.
 */
int xml_guard_scan(struct xml_guard *g, const void *data, size_t len);
/* Stop the parser; the first reason given is kept (a static string). */
void xml_guard_stop(xmlParserCtxtPtr ctxt, const char *reason);

/*
 * Parse len bytes (UTF-8 unless the document declares otherwise) under lim. Returns the
 * document (caller frees it with xml_doc_free), or NULL with a one-line reason in err: too
 * large, too deep, too many elements, DTD/entity present, or the libxml2 error with its line.
 */
xmlDoc *xml_parse(const char *data, size_t len, const struct xml_limits *lim, char *err,
                  size_t errlen);
/* Free a document from xml_parse; NULL is fine. */
void xml_doc_free(xmlDoc *doc);

/* Root element of doc, or NULL. */
xmlNode *xml_root(const xmlDoc *doc);

/*
 * Is node an element with namespace URI ns (NULL: no namespace, as is an empty URI; XML_NS_ANY:
 * any) and local name name (NULL: any)?
 */
int xml_is(const xmlNode *node, const char *ns, const char *name);

/* First element child of parent that xml_is(ns, name), or NULL. parent may be NULL. */
xmlNode *xml_child(const xmlNode *parent, const char *ns, const char *name);
/* Next element sibling after node that xml_is(ns, name), or NULL. */
xmlNode *xml_next(const xmlNode *node, const char *ns, const char *name);

/*
 * Value of the attribute name without namespace, or NULL when absent. The string belongs to
 * the document (valid until xml_doc_free); "" for an empty value.
 */
const char *xml_attr(const xmlNode *node, const char *name);

/* The text content of node (all descendant text, concatenated), malloc'd; never NULL. */
char *xml_text_dup(const xmlNode *node);

#endif
