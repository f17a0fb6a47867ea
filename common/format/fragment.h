/*
 * fragment: the MS-WUSP update fragments of one revision (MS-WUSP 3.1.1.1 "Metadata Table"),
 * derived from its stored update document as a Windows Server 2025 WSUS derives them: Core
 * (sent by SyncUpdates in UpdateInfo/Xml), Extended and one LocalizedProperties per language
 * (sent by GetExtendedUpdateInfo). Byte-compatible with the real server's fragments where they
 * were captured (docs/wusp.md lists what was checked and where the server differs from the
 * spec). Also the Eula fragments (one per EulaFile, per language and region). Pure: no
 * database, no global state. Does not wrap or escape fragments for SOAP (the caller puts them in
 * <Xml> as text), and does not store them (fragment_store.h does).
 */
#ifndef WSUS_FRAGMENT_H
#define WSUS_FRAGMENT_H

#include <libxml/tree.h>
#include <stddef.h>

/* Bounds: input as for update_parse (XML_LIMITS_UPDATE), output per fragment. */
#define FRAGMENT_MAX_INPUT     (16u * 1024 * 1024)
#define FRAGMENT_MAX_OUTPUT    (32u * 1024 * 1024)
#define FRAGMENT_MAX_LANGUAGES 256 /* LocalizedProperties per document */
#define FRAGMENT_MAX_LANG_LEN  32  /* "en", "pt-br", "ja-nec", ... */

/* The language a WSUS server always returns (MS-WUSP 2.2.2.2.6 locales: "SHOULD always
 * return the EN locale"): the fallback of fragment_set_localized(). */
#define FRAGMENT_FALLBACK_LANGUAGE "en"

struct fragment_localized {
    char *language; /* as the document writes it, lower-cased; never NULL */
    char *xml;      /* <LocalizedProperties>...</LocalizedProperties>, NUL-terminated */
    size_t len;
};

/* A Eula fragment: /Update/LocalizedPropertiesCollection/EulaFile (MS-WUSP 3.1.1.1). */
struct fragment_eula {
    char *language; /* its Language attribute, lower-cased; never NULL */
    char *geo_id;   /* its GeoId attribute (ISO-3166 region), "" = Rest of World; never NULL */
    char *xml;      /* <EulaFile ... />, NUL-terminated */
    size_t len;
};

/* All fragments of one revision. Strings are UTF-8, NUL-terminated, owned by the set. */
struct fragment_set {
    char *core; /* <UpdateIdentity/><Properties/>[<Relationships>][<ApplicabilityRules>] */
    size_t core_len;
    char *extended; /* <ExtendedProperties>[<Files>][<HandlerSpecificData>] */
    size_t extended_len;
    struct fragment_localized *localized; /* in document order, one per language */
    size_t n_localized;
    struct fragment_eula *eula; /* in document order */
    size_t n_eula;
};

/* An empty set (everything NULL/0), ready for fragment_derive or fragment_set_free. */
void fragment_set_init(struct fragment_set *s);
/* Release everything s owns and make it empty again; NULL and empty sets are fine. */
void fragment_set_free(struct fragment_set *s);

/*
 * Derive every fragment of the update document xml (len bytes, UTF-8; the revision's stored
 * XML, verbatim) with one hardened parse (xml_parse, XML_LIMITS_UPDATE). s must be empty.
 * 0 with s filled; -1 with s left empty and a one-line reason in err: too large (over
 * FRAGMENT_MAX_INPUT), too deep or too many elements, DTD or entity, not well-formed, not an
 * Update document, no UpdateIdentity or Properties/@UpdateType, more than
 * FRAGMENT_MAX_LANGUAGES languages, or a fragment over FRAGMENT_MAX_OUTPUT. A
 * LocalizedProperties without a usable Language (1 to FRAGMENT_MAX_LANG_LEN letters, digits
 * and '-') is left out, and a repeated language keeps its first LocalizedProperties. An
 * EulaFile without such a Language, or with a GeoId that is not 1 to FRAGMENT_MAX_LANG_LEN
 * letters, digits and '-', is left out; at most FRAGMENT_MAX_LANGUAGES EulaFiles.
 */
int fragment_derive(struct fragment_set *s, const char *xml, size_t len, char *err, size_t errlen);

/*
 * The same from a document the caller has already parsed (doc, from xml_parse with
 * XML_LIMITS_UPDATE, of len bytes; not modified): the same fragments and the same results
 * as fragment_derive on its text, without a second parse (update_parse_derive shares its tree).
 */
int fragment_derive_doc(struct fragment_set *s, const xmlDoc *doc, size_t len, char *err,
                        size_t errlen);

/*
 * The LocalizedProperties fragment a WSUS server sends for the requested language: the one
 * whose Language equals language (ASCII case-insensitive), else the FRAGMENT_FALLBACK_LANGUAGE
 * one, else NULL (also for language NULL: then the fallback alone is looked up). The result
 * belongs to s; its language field says which one was picked.
 */
const struct fragment_localized *fragment_set_localized(const struct fragment_set *s,
                                                        const char *language);

/* Is s (NULL: no) a language name as documents write them: 1 to FRAGMENT_MAX_LANG_LEN ASCII
 * letters, digits and '-'? (Only such names are kept, so they are safe in any query or array.) */
int fragment_language_ok(const char *s);

/*
 * The same choice over a list of n language names (the stored languages of one revision):
 * the index of the exact match, else of the fallback, else -1.
 */
int fragment_pick_language(const char *const *languages, size_t n, const char *language);

/*
 * The Eula fragments a WSUS server sends for the requested languages (n_lang, any case) and
 * region geo_id (NULL or "" = none): for each requested language, then
 * FRAGMENT_FALLBACK_LANGUAGE, the EulaFile of that language whose GeoId is geo_id, else the
 * one without a GeoId (Rest of World); each fragment once. Their indices into s->eula go to
 * out (room for s->n_eula); returns how many.
 */
size_t fragment_set_eula(const struct fragment_set *s, const char *const *languages, size_t n_lang,
                         const char *geo_id, size_t *out);

#endif
