/*
 * xml: the one hardened way to parse XML in wsusd (libxml2). Every parse goes through
 * xml_parse(): no network, no file access, no DTD (a document with a DOCTYPE or an entity
 * declaration is rejected), no entity expansion, and limits on size, depth and element count
 * fixed by the caller. Helpers walk children by (namespace URI, local name) and read attributes
 * and text without copying. Does not validate against schemas and does not serialize.
 */
#ifndef WSUS_XML_H
#define WSUS_XML_H

#include <libxml/tree.h>
#include <stddef.h>

struct xml_limits {
    size_t max_bytes;  /* whole document, in bytes */
    int max_depth;     /* element nesting (the root is depth 1) */
    long max_elements; /* elements in the whole document */
};

/* Limits fit for one update document (the largest real ones are below 1 MB). */
#define XML_LIMITS_UPDATE ((struct xml_limits){16u * 1024 * 1024, 128, 1000000})

/* Matches any namespace in xml_child()/xml_next(). */
#define XML_NS_ANY "*"

/*
 * Make libxml2 safe for this process (refuse every external entity / DTD / network load).
 * xml_parse calls it itself; call it before using libxml2 directly (xmlTextReader).
 */
void xml_init(void);

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
