/*
 * fragment: MS-WUSP fragments from an update document (see fragment.h). One hardened parse,
 * then a small serializer that writes what the real server writes: element and attribute
 * names without their prefix and without namespace declarations, empty elements as
 * "<Name a="v" />", text with & < > escaped, attributes with & < > " and TAB/LF/CR escaped.
 * Core renames applicability rules of three namespaces ("b.", "m.", "d."); default namespace
 * declarations outside the msus namespaces (CBS manifests) are kept where they are declared.
 * Core and Extended rebuild Properties as the real server does (docs/wusp.md).
 */
#include "fragment.h"

#include "buf.h"
#include "xml.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_UPDATE  "http://schemas.microsoft.com/msus/2002/12/Update"
#define NS_MSUS    "http://schemas.microsoft.com/msus/"
#define NS_BASE_AR "http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules"
#define NS_MSI_AR  "http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules"
#define NS_DRIVER  "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver"
#define MODE_PLAIN 0
#define MODE_CORE  1 /* with the b./m./d. renames */

/* Properties attributes the Extended fragment leaves out: MS-WUSP 3.1.1.1, plus PerUser,
 * which the real server leaves out too (native-scan/000010, OOBE ZDP). */
static const char *const extended_dropped[] = {
    "UpdateType",
    "ExplicitlyDeployable",
    "AutoSelectOnWebSites",
    "EulaID",
    "PublicationState",
    "PublisherID",
    "CreationDate",
    "IsPublic",
    "LegacyName",
    "DetectoidType",
    "OSUpgrade",
    "PerUser",
};

void fragment_set_init(struct fragment_set *s)
{
    memset(s, 0, sizeof(*s));
}

void fragment_set_free(struct fragment_set *s)
{
    size_t i;

    if (s == NULL)
        return;
    free(s->core);
    free(s->extended);
    for (i = 0; i < s->n_localized; i++) {
        free(s->localized[i].language);
        free(s->localized[i].xml);
    }
    free(s->localized);
    for (i = 0; i < s->n_eula; i++) {
        free(s->eula[i].language);
        free(s->eula[i].geo_id);
        free(s->eula[i].xml);
    }
    free(s->eula);
    fragment_set_init(s);
}

/* ' name="value"' */
static int add_attr(struct buf *b, const char *name, const char *value)
{
    if (buf_add_str(b, " ") < 0 || buf_add_str(b, name) < 0 || buf_add_str(b, "=\"") < 0 ||
        buf_add_xml_attr(b, value, strlen(value)) < 0)
        return -1;
    return buf_add_str(b, "\"");
}

static int add_name(struct buf *b, const xmlNode *n, int mode)
{
    const char *href = n->ns != NULL && n->ns->href != NULL ? (const char *)n->ns->href : "";

    if (mode == MODE_CORE) {
        const char *pre = NULL;
        if (strcmp(href, NS_BASE_AR) == 0)
            pre = "b.";
        else if (strcmp(href, NS_MSI_AR) == 0)
            pre = "m.";
        else if (strcmp(href, NS_DRIVER) == 0)
            pre = "d.";
        if (pre != NULL && buf_add_str(b, pre) < 0)
            return -1;
    }
    return buf_add_str(b, (const char *)n->name);
}

/* The value of attribute a (its text children; entity references never reach the tree). */
static int add_attr_node(struct buf *b, const xmlAttr *a)
{
    const xmlNode *t;

    if (buf_add_str(b, " ") < 0 || buf_add_str(b, (const char *)a->name) < 0 ||
        buf_add_str(b, "=\"") < 0)
        return -1;
    for (t = a->children; t != NULL; t = t->next)
        if (t->content != NULL &&
            buf_add_xml_attr(b, (const char *)t->content, strlen((const char *)t->content)) < 0)
            return -1;
    return buf_add_str(b, "\"");
}

/* Default namespace declarations the real server keeps (CBS: asm.v3 on <assembly>). */
static int add_kept_ns(struct buf *b, const xmlNode *n)
{
    const xmlNs *ns;

    for (ns = n->nsDef; ns != NULL; ns = ns->next) {
        const char *href = ns->href != NULL ? (const char *)ns->href : "";
        if (ns->prefix != NULL || href[0] == '\0' || strncmp(href, NS_MSUS, strlen(NS_MSUS)) == 0)
            continue;
        if (add_attr(b, "xmlns", href) < 0)
            return -1;
    }
    return 0;
}

static int add_children(struct buf *b, const xmlNode *n, int mode);

/* Start tag without its end (no '>'): '<Name' + kept namespaces. */
static int add_open(struct buf *b, const xmlNode *n, int mode)
{
    if (buf_add_str(b, "<") < 0 || add_name(b, n, mode) < 0)
        return -1;
    return add_kept_ns(b, n);
}

/* After the attributes: " />" when n has no content, else ">" content "</Name>". */
static int add_rest(struct buf *b, const xmlNode *n, int mode)
{
    if (n->children == NULL)
        return buf_add_str(b, " />");
    if (buf_add_str(b, ">") < 0 || add_children(b, n, mode) < 0 || buf_add_str(b, "</") < 0 ||
        add_name(b, n, mode) < 0)
        return -1;
    return buf_add_str(b, ">");
}

/* n as the real server writes it. Depth is bounded by the parse (XML_LIMITS_UPDATE). */
static int add_element(struct buf *b, const xmlNode *n, int mode)
{
    const xmlAttr *a;

    if (add_open(b, n, mode) < 0)
        return -1;
    for (a = n->properties; a != NULL; a = a->next)
        if (add_attr_node(b, a) < 0)
            return -1;
    return add_rest(b, n, mode);
}

static int add_children(struct buf *b, const xmlNode *n, int mode)
{
    const xmlNode *c;

    for (c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            if (add_element(b, c, mode) < 0)
                return -1;
        } else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            if (c->content != NULL &&
                buf_add_xml_text(b, (const char *)c->content, strlen((const char *)c->content)) < 0)
                return -1;
        }
        /* comments and processing instructions are not part of any fragment */
    }
    return 0;
}

static int is_true(const char *v)
{
    return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* Core keeps UpdateType, the true ones of ExplicitlyDeployable and AutoSelectOnWebSites (as
 * "true", in this order whatever the document's order), then OSUpgrade and EulaID if set. */
static int add_core_properties(struct buf *b, const xmlNode *props)
{
    const char *v;

    if (buf_add_str(b, "<Properties") < 0 ||
        add_attr(b, "UpdateType", xml_attr(props, "UpdateType")) < 0)
        return -1;
    if (is_true(xml_attr(props, "ExplicitlyDeployable")) &&
        add_attr(b, "ExplicitlyDeployable", "true") < 0)
        return -1;
    if (is_true(xml_attr(props, "AutoSelectOnWebSites")) &&
        add_attr(b, "AutoSelectOnWebSites", "true") < 0)
        return -1;
    v = xml_attr(props, "OSUpgrade");
    if (v != NULL && v[0] != '\0' && strcmp(v, "false") != 0 && strcmp(v, "0") != 0 &&
        add_attr(b, "OSUpgrade", v) < 0)
        return -1;
    v = xml_attr(props, "EulaID");
    if (v != NULL && v[0] != '\0' && add_attr(b, "EulaID", v) < 0)
        return -1;
    return buf_add_str(b, " />");
}

static int extended_keeps(const xmlAttr *a)
{
    size_t i;

    for (i = 0; i < sizeof(extended_dropped) / sizeof(extended_dropped[0]); i++)
        if (strcmp((const char *)a->name, extended_dropped[i]) == 0)
            return 0;
    return 1;
}

/* <ExtendedProperties> with the attributes the Core fragment does not carry, and the
 * Properties children (InstallationBehavior, SupportUrl, KBArticleID, ...). */
static int add_extended_properties(struct buf *b, const xmlNode *props)
{
    const xmlAttr *a;

    if (buf_add_str(b, "<ExtendedProperties") < 0 || add_kept_ns(b, props) < 0)
        return -1;
    for (a = props->properties; a != NULL; a = a->next)
        if (extended_keeps(a) && add_attr_node(b, a) < 0)
            return -1;
    if (props->children == NULL)
        return buf_add_str(b, " />");
    if (buf_add_str(b, ">") < 0 || add_children(b, props, MODE_PLAIN) < 0)
        return -1;
    return buf_add_str(b, "</ExtendedProperties>");
}

/* Move b's content into *out / *len (never NULL on success). */
static void take(struct buf *b, char **out, size_t *len)
{
    *out = buf_detach(b, len);
}

int fragment_language_ok(const char *s)
{
    size_t i, n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > FRAGMENT_MAX_LANG_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return 1;
}

static void lower_ascii(char *p)
{
    for (; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static int seen_language(const struct fragment_set *s, const char *lang)
{
    size_t i;

    for (i = 0; i < s->n_localized; i++)
        if (strcasecmp(s->localized[i].language, lang) == 0)
            return 1;
    return 0;
}

static int derive_localized(struct fragment_set *s, const xmlNode *coll, struct buf *b, char *err,
                            size_t errlen)
{
    const xmlNode *lp;
    size_t n = 0;

    for (lp = xml_child(coll, NS_UPDATE, "LocalizedProperties"); lp != NULL;
         lp = xml_next(lp, NS_UPDATE, "LocalizedProperties"))
        n++;
    if (n > FRAGMENT_MAX_LANGUAGES) {
        snprintf(err, errlen, "update document lists %zu languages (limit %d)", n,
                 FRAGMENT_MAX_LANGUAGES);
        return -1;
    }
    if (n == 0)
        return 0;
    s->localized = xcalloc(n, sizeof(*s->localized));
    for (lp = xml_child(coll, NS_UPDATE, "LocalizedProperties"); lp != NULL;
         lp = xml_next(lp, NS_UPDATE, "LocalizedProperties")) {
        struct fragment_localized *f = &s->localized[s->n_localized];
        char *lang = xml_text_dup(xml_child(lp, NS_UPDATE, "Language"));

        if (!fragment_language_ok(lang) || seen_language(s, lang)) {
            free(lang);
            continue;
        }
        lower_ascii(lang);
        buf_reset(b);
        if (add_element(b, lp, MODE_PLAIN) < 0) {
            snprintf(err, errlen, "localized fragment for \"%s\" too large (limit %u bytes)", lang,
                     FRAGMENT_MAX_OUTPUT);
            free(lang);
            return -1;
        }
        f->language = lang;
        take(b, &f->xml, &f->len);
        s->n_localized++;
    }
    return 0;
}

/* The EulaFile children of the LocalizedPropertiesCollection (MS-WUSP 3.1.1.1, Eula). */
static int derive_eula(struct fragment_set *s, const xmlNode *coll, struct buf *b, char *err,
                       size_t errlen)
{
    const xmlNode *e;
    size_t n = 0;

    for (e = xml_child(coll, NS_UPDATE, "EulaFile"); e != NULL;
         e = xml_next(e, NS_UPDATE, "EulaFile"))
        n++;
    if (n > FRAGMENT_MAX_LANGUAGES) {
        snprintf(err, errlen, "update document lists %zu EULA files (limit %d)", n,
                 FRAGMENT_MAX_LANGUAGES);
        return -1;
    }
    if (n == 0)
        return 0;
    s->eula = xcalloc(n, sizeof(*s->eula));
    for (e = xml_child(coll, NS_UPDATE, "EulaFile"); e != NULL;
         e = xml_next(e, NS_UPDATE, "EulaFile")) {
        struct fragment_eula *f = &s->eula[s->n_eula];
        const char *lang = xml_attr(e, "Language"), *geo = xml_attr(e, "GeoId");

        if (!fragment_language_ok(lang) ||
            (geo != NULL && geo[0] != '\0' && !fragment_language_ok(geo)))
            continue;
        buf_reset(b);
        if (add_element(b, e, MODE_PLAIN) < 0) {
            snprintf(err, errlen, "EULA fragment too large (limit %u bytes)", FRAGMENT_MAX_OUTPUT);
            return -1;
        }
        f->language = xstrdup(lang);
        lower_ascii(f->language);
        f->geo_id = xstrdup(geo != NULL ? geo : "");
        take(b, &f->xml, &f->len);
        s->n_eula++;
    }
    return 0;
}

size_t fragment_set_eula(const struct fragment_set *s, const char *const *languages, size_t n_lang,
                         const char *geo_id, size_t *out)
{
    size_t k, i, j, n = 0;

    if (geo_id == NULL)
        geo_id = "";
    for (k = 0; k <= n_lang; k++) {
        const char *want = k < n_lang ? languages[k] : FRAGMENT_FALLBACK_LANGUAGE;
        size_t pick = s->n_eula;

        if (want == NULL)
            continue;
        for (i = 0; i < s->n_eula; i++) {
            const struct fragment_eula *e = &s->eula[i];

            if (strcasecmp(e->language, want) != 0)
                continue;
            if (geo_id[0] != '\0' && strcasecmp(e->geo_id, geo_id) == 0) {
                pick = i;
                break;
            }
            if (e->geo_id[0] == '\0' && pick == s->n_eula)
                pick = i;
        }
        if (pick == s->n_eula)
            continue;
        for (j = 0; j < n && out[j] != pick; j++)
            ;
        if (j == n)
            out[n++] = pick;
    }
    return n;
}

/* Every fragment of the parsed document doc into the empty set s (see fragment_derive). */
static int derive_tree(struct fragment_set *s, const xmlDoc *doc, char *err, size_t errlen)
{
    const xmlNode *root, *ident, *props, *n;
    struct buf b;
    int rc = -1;

    buf_init(&b, FRAGMENT_MAX_OUTPUT);
    root = xml_root(doc);
    if (!xml_is(root, NS_UPDATE, "Update")) {
        snprintf(err, errlen, "not an update document (root is not Update)");
        goto out;
    }
    ident = xml_child(root, NS_UPDATE, "UpdateIdentity");
    props = xml_child(root, NS_UPDATE, "Properties");
    if (ident == NULL || props == NULL || xml_attr(props, "UpdateType") == NULL) {
        snprintf(err, errlen, "update document without UpdateIdentity or Properties/@UpdateType");
        goto out;
    }

    if (add_element(&b, ident, MODE_CORE) < 0 || add_core_properties(&b, props) < 0 ||
        ((n = xml_child(root, NS_UPDATE, "Relationships")) != NULL &&
         add_element(&b, n, MODE_CORE) < 0) ||
        ((n = xml_child(root, NS_UPDATE, "ApplicabilityRules")) != NULL &&
         add_element(&b, n, MODE_CORE) < 0)) {
        snprintf(err, errlen, "core fragment too large (limit %u bytes)", FRAGMENT_MAX_OUTPUT);
        goto out;
    }
    take(&b, &s->core, &s->core_len);

    if (add_extended_properties(&b, props) < 0 ||
        ((n = xml_child(root, NS_UPDATE, "Files")) != NULL && add_element(&b, n, MODE_PLAIN) < 0) ||
        ((n = xml_child(root, NS_UPDATE, "HandlerSpecificData")) != NULL &&
         add_element(&b, n, MODE_PLAIN) < 0)) {
        snprintf(err, errlen, "extended fragment too large (limit %u bytes)", FRAGMENT_MAX_OUTPUT);
        goto out;
    }
    take(&b, &s->extended, &s->extended_len);

    n = xml_child(root, NS_UPDATE, "LocalizedPropertiesCollection");
    if (derive_localized(s, n, &b, err, errlen) < 0 || derive_eula(s, n, &b, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        fragment_set_free(s);
    buf_free(&b);
    return rc;
}

int fragment_derive(struct fragment_set *s, const char *xml, size_t len, char *err, size_t errlen)
{
    struct xml_limits lim = XML_LIMITS_UPDATE;
    xmlDoc *doc;
    char perr[384];
    int rc;

    if (len > FRAGMENT_MAX_INPUT) {
        snprintf(err, errlen, "update document too large (%zu bytes, limit %u)", len,
                 FRAGMENT_MAX_INPUT);
        return -1;
    }
    lim.max_bytes = FRAGMENT_MAX_INPUT;
    if ((doc = xml_parse(xml, len, &lim, perr, sizeof(perr))) == NULL) {
        snprintf(err, errlen, "update document refused: %s", perr);
        return -1;
    }
    rc = derive_tree(s, doc, err, errlen);
    xml_doc_free(doc);
    return rc;
}

int fragment_derive_doc(struct fragment_set *s, const xmlDoc *doc, size_t len, char *err,
                        size_t errlen)
{
    if (len > FRAGMENT_MAX_INPUT) {
        snprintf(err, errlen, "update document too large (%zu bytes, limit %u)", len,
                 FRAGMENT_MAX_INPUT);
        return -1;
    }
    return derive_tree(s, doc, err, errlen);
}

int fragment_pick_language(const char *const *languages, size_t n, const char *language)
{
    size_t i;

    if (language != NULL)
        for (i = 0; i < n; i++)
            if (strcasecmp(languages[i], language) == 0)
                return (int)i;
    for (i = 0; i < n; i++)
        if (strcasecmp(languages[i], FRAGMENT_FALLBACK_LANGUAGE) == 0)
            return (int)i;
    return -1;
}

const struct fragment_localized *fragment_set_localized(const struct fragment_set *s,
                                                        const char *language)
{
    const char *names[FRAGMENT_MAX_LANGUAGES];
    size_t i;
    int k;

    for (i = 0; i < s->n_localized && i < FRAGMENT_MAX_LANGUAGES; i++)
        names[i] = s->localized[i].language;
    k = fragment_pick_language(names, i, language);
    return k < 0 ? NULL : &s->localized[k];
}
