/*
 * update: one update revision's XML document ("XmlUpdateBlob", MS-WSUSSS / WSUSSS-NOTES §7)
 * parsed into the fields the catalog stores: identity, type, category type, localized texts,
 * prerequisites (with the IsCategory membership clauses), bundled updates, supersedence, files.
 * The document itself is kept byte for byte (u->xml). Applicability rules and handler data are
 * not interpreted (they stay in the XML). MU URLs are not in the document: the sync engine
 * fills update_file.mu_url from GetUpdateData's fileUrls before storing.
 */
#ifndef WSUS_UPDATE_H
#define WSUS_UPDATE_H

#include <stddef.h>
#include <stdint.h>

struct fragment_set;

#define UPDATE_ID_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", stored lower case */

/* Bounds on what one document may list (real documents stay far below). */
#define UPDATE_MAX_TEXTS     256
#define UPDATE_MAX_RELATED   20000 /* prerequisites, bundle members, superseded ids each */
#define UPDATE_MAX_FILES     10000
#define UPDATE_MAX_LANGUAGES 64 /* Properties/Language of one document */

struct update_text {
    char *language;    /* "en", "pt-br", ... */
    char *title;       /* never NULL ("" when absent) */
    char *description; /* NULL when absent */
};

/* One id of a prerequisite clause (CNF: all clauses must hold, one id per clause). */
struct update_prereq {
    int clause;                        /* 0-based clause number within the document */
    int is_category;                   /* clause was AtLeastOne IsCategory="true" */
    char update_id[UPDATE_ID_LEN + 1]; /* no revision: means the latest */
};

struct update_bundle {
    int clause; /* AtLeastOne group (alternatives), 0-based */
    char update_id[UPDATE_ID_LEN + 1];
    int revision_number;
};

struct update_file {
    unsigned char sha1[20];
    unsigned char sha256[32];
    int has_sha256;
    int64_t size;        /* -1 when the document gives none */
    char *file_name;     /* never NULL */
    char *modified;      /* NULL when absent */
    char *patching_type; /* NULL when absent */
    char *mu_url;        /* NULL; set by whoever knows it (sync engine, import) */
};

struct update {
    char update_id[UPDATE_ID_LEN + 1];
    int revision_number;
    char *update_type;       /* Software | Driver | Category | Detectoid (never NULL) */
    char *category_type;     /* Company | ProductFamily | Product | UpdateClassification | NULL */
    char *default_language;  /* NULL when absent */
    char *handler;           /* NULL when absent */
    char *publication_state; /* "Published" when absent */
    char *creation_date;     /* as written, NULL when absent */
    int explicitly_deployable;
    int is_leaf; /* no bundled updates */
    char *kb_article_id;
    char *security_bulletin_id;
    char *msrc_severity;
    char *title; /* title in the default language (else the first one); never NULL */
    /*
     * Languages this revision is specific to (Properties/Language), lower case, deduplicated,
     * in document order; NULL/0 for a language-neutral update (no Language, or only "all" /
     * "NeutralLanguage", MS-WSUSSS 2.2.5.2). At most UPDATE_MAX_LANGUAGES.
     */
    char **languages;
    size_t n_languages;

    struct update_text *texts;
    size_t n_texts;
    struct update_prereq *prereqs;
    size_t n_prereqs;
    struct update_bundle *bundles;
    size_t n_bundles;
    char (*supersedes)[UPDATE_ID_LEN + 1];
    size_t n_supersedes;
    struct update_file *files;
    size_t n_files;

    char *xml; /* the document as given, NUL-terminated, byte for byte */
    size_t xml_len;
    unsigned char *xml_cab; /* original XmlUpdateBlobCompressed cabinet, or NULL */
    size_t xml_cab_len;
    /* The client fragments derived with the parse (update_parse_derive), or NULL: not derived,
     * or the document gives none (whoever stores u then derives from xml, and logs why). */
    struct fragment_set *fragments;
};

/* An empty update (everything NULL/0), ready for update_parse or update_free. */
void update_init(struct update *u);
/* Release everything u owns and make it empty again; safe on an empty update. */
void update_free(struct update *u);

/*
 * Parse the document xml (len bytes, UTF-8) with the hardened parser and XML_LIMITS_UPDATE.
 * u must be empty (update_init). On success fills u (which keeps a copy of the document) and
 * returns 0; on failure returns -1, leaves u empty and writes a one-line reason into err
 * (malformed XML, DTD, missing UpdateIdentity/UpdateType, bad GUID, bad digest, too many
 * relations...).
 */
int update_parse(struct update *u, const char *xml, size_t len, char *err, size_t errlen);

/*
 * update_parse, and from the same tree the document's client fragments (fragment_derive_doc)
 * into u->fragments: the same results as update_parse then fragment_derive on u->xml, with one
 * parse instead of two. A document whose fragments cannot be derived still parses (0, with
 * u->fragments NULL): the fragments are not part of what update_parse accepts.
 */
int update_parse_derive(struct update *u, const char *xml, size_t len, char *err, size_t errlen);

/*
 * GUIDs and digests of update documents go through strutil.h: str_guid_canon() (braces, any
 * case -> canonical), str_b64_decode_exact() and str_b64_encode().
 */

/* Is this update a category (UpdateType Category)? a detectoid? */
int update_is_category(const struct update *u);
int update_is_detectoid(const struct update *u);

/* Is u specific to languages (n_languages > 0), i.e. not language neutral? */
int update_is_language_specific(const struct update *u);

#endif
