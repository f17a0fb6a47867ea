/*
 * update: parse one update document into struct update (see update.h). Reads only what the
 * catalog needs; everything else stays in the verbatim XML. Relations are deduplicated (the
 * catalog keys them), keeping document order.
 */
#include "update.h"

#include "fragment.h"
#include "strutil.h"
#include "xml.h"
#include "xmalloc.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_UPD "http://schemas.microsoft.com/msus/2002/12/Update"
#define NS_CAT "http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category"

void update_init(struct update *u)
{
    memset(u, 0, sizeof(*u));
}

void update_free(struct update *u)
{
    size_t i;

    if (u == NULL)
        return;
    free(u->update_type);
    free(u->category_type);
    free(u->default_language);
    free(u->handler);
    free(u->publication_state);
    free(u->creation_date);
    free(u->kb_article_id);
    free(u->security_bulletin_id);
    free(u->msrc_severity);
    free(u->title);
    for (i = 0; i < u->n_languages; i++)
        free(u->languages[i]);
    free(u->languages);
    for (i = 0; i < u->n_texts; i++) {
        free(u->texts[i].language);
        free(u->texts[i].title);
        free(u->texts[i].description);
    }
    free(u->texts);
    free(u->prereqs);
    free(u->bundles);
    free(u->supersedes);
    for (i = 0; i < u->n_files; i++) {
        free(u->files[i].file_name);
        free(u->files[i].modified);
        free(u->files[i].patching_type);
        free(u->files[i].mu_url);
    }
    free(u->files);
    free(u->xml);
    free(u->xml_cab);
    fragment_set_free(u->fragments);
    free(u->fragments);
    update_init(u);
}

int update_is_category(const struct update *u)
{
    return u->update_type != NULL && strcmp(u->update_type, "Category") == 0;
}

int update_is_detectoid(const struct update *u)
{
    return u->update_type != NULL && strcmp(u->update_type, "Detectoid") == 0;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

static int parse_identity(const xmlNode *n, char id[UPDATE_ID_LEN + 1], int *rev, int need_rev,
                          char *err, size_t errlen)
{
    const char *uid = xml_attr(n, "UpdateID"), *r = xml_attr(n, "RevisionNumber");
    long v;

    if (str_guid_canon(uid, id) < 0) {
        snprintf(err, errlen, "UpdateIdentity has a missing or malformed UpdateID");
        return -1;
    }
    if (rev == NULL)
        return 0;
    if (r == NULL && !need_rev) {
        *rev = 0;
        return 0;
    }
    if (r == NULL || str_to_long(r, 0, 0x7fffffff, &v) < 0) {
        snprintf(err, errlen, "UpdateIdentity %s has a missing or malformed RevisionNumber", id);
        return -1;
    }
    *rev = (int)v;
    return 0;
}

/*
 * Properties/Language: the languages an update is specific to. "all" (the NeutralLanguage
 * value, MS-WSUSSS 2.2.5.2) and "NeutralLanguage" itself mark a neutral update and are not
 * kept; names are lower-cased and must be language names (fragment_language_ok).
 */
static int parse_languages(struct update *u, const xmlNode *p, char *err, size_t errlen)
{
    xmlNode *c;
    size_t i;

    for (c = xml_child(p, NS_UPD, "Language"); c != NULL; c = xml_next(c, NS_UPD, "Language")) {
        char *lang = xml_text_dup(c);
        int dup = 0;

        str_trim(lang);
        for (i = 0; lang[i] != '\0'; i++)
            lang[i] = (char)tolower((unsigned char)lang[i]);
        for (i = 0; i < u->n_languages; i++)
            dup |= strcmp(u->languages[i], lang) == 0;
        if (dup || !fragment_language_ok(lang) || strcmp(lang, "all") == 0 ||
            strcmp(lang, "neutrallanguage") == 0) {
            free(lang);
            continue;
        }
        if (u->n_languages >= UPDATE_MAX_LANGUAGES) {
            free(lang);
            snprintf(err, errlen, "more than %d Properties/Language elements",
                     UPDATE_MAX_LANGUAGES);
            return -1;
        }
        u->languages = xreallocarray(u->languages, u->n_languages + 1, sizeof(*u->languages));
        u->languages[u->n_languages++] = lang;
    }
    return 0;
}

static int parse_properties(struct update *u, const xmlNode *p, char *err, size_t errlen)
{
    const char *t;
    xmlNode *c;

    t = xml_attr(p, "UpdateType");
    if (t == NULL || t[0] == '\0') {
        snprintf(err, errlen, "Properties has no UpdateType");
        return -1;
    }
    u->update_type = xstrdup(t);
    u->default_language = dup_or_null(xml_attr(p, "DefaultPropertiesLanguage"));
    u->handler = dup_or_null(xml_attr(p, "Handler"));
    t = xml_attr(p, "PublicationState");
    u->publication_state = xstrdup(t != NULL && t[0] != '\0' ? t : "Published");
    u->creation_date = dup_or_null(xml_attr(p, "CreationDate"));
    t = xml_attr(p, "ExplicitlyDeployable");
    u->explicitly_deployable = t != NULL && (strcmp(t, "true") == 0 || strcmp(t, "1") == 0);
    u->msrc_severity = dup_or_null(xml_attr(p, "MsrcSeverity"));
    if ((c = xml_child(p, NS_UPD, "KBArticleID")) != NULL)
        u->kb_article_id = xml_text_dup(c);
    if ((c = xml_child(p, NS_UPD, "SecurityBulletinID")) != NULL)
        u->security_bulletin_id = xml_text_dup(c);
    return parse_languages(u, p, err, errlen);
}

static int parse_texts(struct update *u, const xmlNode *coll, char *err, size_t errlen)
{
    xmlNode *lp, *c;
    size_t i;

    for (lp = xml_child(coll, NS_UPD, "LocalizedProperties"); lp != NULL;
         lp = xml_next(lp, NS_UPD, "LocalizedProperties")) {
        char *lang;
        struct update_text *t;
        int dup = 0;

        if ((c = xml_child(lp, NS_UPD, "Language")) == NULL)
            continue;
        lang = xml_text_dup(c);
        for (i = 0; i < u->n_texts; i++)
            if (strcmp(u->texts[i].language, lang) == 0)
                dup = 1;
        if (dup || lang[0] == '\0') {
            free(lang);
            continue;
        }
        if (u->n_texts >= UPDATE_MAX_TEXTS) {
            free(lang);
            snprintf(err, errlen, "more than %d localized property sets", UPDATE_MAX_TEXTS);
            return -1;
        }
        u->texts = xreallocarray(u->texts, u->n_texts + 1, sizeof(*u->texts));
        t = &u->texts[u->n_texts++];
        t->language = lang;
        t->title = xml_text_dup(xml_child(lp, NS_UPD, "Title"));
        c = xml_child(lp, NS_UPD, "Description");
        t->description = c != NULL ? xml_text_dup(c) : NULL;
    }
    return 0;
}

static int add_prereq(struct update *u, int clause, int is_category, const char *id)
{
    size_t i;

    for (i = u->n_prereqs; i > 0; i--) {
        const struct update_prereq *p = &u->prereqs[i - 1];
        if (p->clause != clause)
            break; /* clauses are contiguous: only the current one can hold a duplicate */
        if (strcmp(p->update_id, id) == 0)
            return 0;
    }
    if (u->n_prereqs >= UPDATE_MAX_RELATED)
        return -1;
    u->prereqs = xreallocarray(u->prereqs, u->n_prereqs + 1, sizeof(*u->prereqs));
    u->prereqs[u->n_prereqs].clause = clause;
    u->prereqs[u->n_prereqs].is_category = is_category;
    memcpy(u->prereqs[u->n_prereqs].update_id, id, UPDATE_ID_LEN + 1);
    u->n_prereqs++;
    return 0;
}

static int add_bundle(struct update *u, int clause, const char *id, int rev)
{
    size_t i;

    for (i = u->n_bundles; i > 0; i--) {
        const struct update_bundle *b = &u->bundles[i - 1];
        if (b->clause != clause)
            break;
        if (strcmp(b->update_id, id) == 0 && b->revision_number == rev)
            return 0;
    }
    if (u->n_bundles >= UPDATE_MAX_RELATED)
        return -1;
    u->bundles = xreallocarray(u->bundles, u->n_bundles + 1, sizeof(*u->bundles));
    u->bundles[u->n_bundles].clause = clause;
    memcpy(u->bundles[u->n_bundles].update_id, id, UPDATE_ID_LEN + 1);
    u->bundles[u->n_bundles].revision_number = rev;
    u->n_bundles++;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, UPDATE_ID_LEN + 1);
}

static int parse_relationships(struct update *u, const xmlNode *rel, char *err, size_t errlen)
{
    xmlNode *sec, *n, *m;
    char id[UPDATE_ID_LEN + 1];
    int clause = 0, rev;

    if ((sec = xml_child(rel, NS_UPD, "SupersededUpdates")) != NULL) {
        for (n = xml_child(sec, NS_UPD, "UpdateIdentity"); n != NULL;
             n = xml_next(n, NS_UPD, "UpdateIdentity")) {
            if (parse_identity(n, id, NULL, 0, err, errlen) < 0)
                return -1;
            if (u->n_supersedes >= UPDATE_MAX_RELATED)
                goto too_many;
            u->supersedes =
                xreallocarray(u->supersedes, u->n_supersedes + 1, sizeof(*u->supersedes));
            memcpy(u->supersedes[u->n_supersedes++], id, UPDATE_ID_LEN + 1);
        }
        if (u->n_supersedes > 1) {
            size_t i, o = 1;
            qsort(u->supersedes, u->n_supersedes, sizeof(*u->supersedes), cmp_id);
            for (i = 1; i < u->n_supersedes; i++)
                if (cmp_id(u->supersedes[i], u->supersedes[o - 1]) != 0)
                    memcpy(u->supersedes[o++], u->supersedes[i], UPDATE_ID_LEN + 1);
            u->n_supersedes = o;
        }
    }
    if ((sec = xml_child(rel, NS_UPD, "Prerequisites")) != NULL) {
        for (n = xml_child(sec, NS_UPD, NULL); n != NULL; n = xml_next(n, NS_UPD, NULL)) {
            if (xml_is(n, NS_UPD, "UpdateIdentity")) {
                if (parse_identity(n, id, NULL, 0, err, errlen) < 0 ||
                    add_prereq(u, clause, 0, id) < 0)
                    goto fail_rel;
                clause++;
            } else if (xml_is(n, NS_UPD, "AtLeastOne")) {
                const char *ic = xml_attr(n, "IsCategory");
                int is_cat = ic != NULL && (strcmp(ic, "true") == 0 || strcmp(ic, "1") == 0);
                int any = 0;
                for (m = xml_child(n, NS_UPD, "UpdateIdentity"); m != NULL;
                     m = xml_next(m, NS_UPD, "UpdateIdentity")) {
                    if (parse_identity(m, id, NULL, 0, err, errlen) < 0 ||
                        add_prereq(u, clause, is_cat, id) < 0)
                        goto fail_rel;
                    any = 1;
                }
                if (any)
                    clause++;
            }
        }
    }
    clause = 0;
    if ((sec = xml_child(rel, NS_UPD, "BundledUpdates")) != NULL) {
        for (n = xml_child(sec, NS_UPD, NULL); n != NULL; n = xml_next(n, NS_UPD, NULL)) {
            if (xml_is(n, NS_UPD, "UpdateIdentity")) {
                if (parse_identity(n, id, &rev, 1, err, errlen) < 0 ||
                    add_bundle(u, clause, id, rev) < 0)
                    goto fail_rel;
                clause++;
            } else if (xml_is(n, NS_UPD, "AtLeastOne")) {
                int any = 0;
                for (m = xml_child(n, NS_UPD, "UpdateIdentity"); m != NULL;
                     m = xml_next(m, NS_UPD, "UpdateIdentity")) {
                    if (parse_identity(m, id, &rev, 1, err, errlen) < 0 ||
                        add_bundle(u, clause, id, rev) < 0)
                        goto fail_rel;
                    any = 1;
                }
                if (any)
                    clause++;
            }
        }
    }
    return 0;
fail_rel:
    if (u->n_prereqs < UPDATE_MAX_RELATED && u->n_bundles < UPDATE_MAX_RELATED)
        return -1; /* err already says which identity was bad */
too_many:
    snprintf(err, errlen, "more than %d related updates in one relationship list",
             UPDATE_MAX_RELATED);
    return -1;
}

static int parse_files(struct update *u, const xmlNode *files, char *err, size_t errlen)
{
    xmlNode *f, *d;
    size_t i;

    for (f = xml_child(files, NS_UPD, "File"); f != NULL; f = xml_next(f, NS_UPD, "File")) {
        struct update_file uf;
        const char *alg = xml_attr(f, "DigestAlgorithm"), *name = xml_attr(f, "FileName");
        const char *size = xml_attr(f, "Size");
        int dup = 0;

        memset(&uf, 0, sizeof(uf));
        if (alg != NULL && strcmp(alg, "SHA1") != 0) {
            snprintf(err, errlen, "File has unsupported DigestAlgorithm \"%.40s\"", alg);
            return -1;
        }
        if (str_b64_decode_exact(xml_attr(f, "Digest"), uf.sha1, sizeof(uf.sha1)) < 0) {
            snprintf(err, errlen, "File \"%.100s\" has a missing or malformed Digest",
                     name != NULL ? name : "");
            return -1;
        }
        if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
            strchr(name, '\\') != NULL || strlen(name) > 255) {
            snprintf(err, errlen, "File has a missing or unsafe FileName");
            return -1;
        }
        uf.size = -1;
        if (size != NULL && str_to_int64(size, 0, INT64_MAX, &uf.size) < 0) {
            snprintf(err, errlen, "File \"%.100s\" has a malformed Size", name);
            return -1;
        }
        for (d = xml_child(f, NS_UPD, "AdditionalDigest"); d != NULL;
             d = xml_next(d, NS_UPD, "AdditionalDigest")) {
            const char *a = xml_attr(d, "Algorithm");
            char *txt;
            if (a == NULL || strcmp(a, "SHA256") != 0)
                continue;
            txt = xml_text_dup(d);
            str_trim(txt);
            if (str_b64_decode_exact(txt, uf.sha256, sizeof(uf.sha256)) < 0) {
                free(txt);
                snprintf(err, errlen, "File \"%.100s\" has a malformed SHA256 digest", name);
                return -1;
            }
            free(txt);
            uf.has_sha256 = 1;
        }
        for (i = 0; i < u->n_files; i++)
            if (memcmp(u->files[i].sha1, uf.sha1, 20) == 0)
                dup = 1;
        if (dup)
            continue;
        if (u->n_files >= UPDATE_MAX_FILES) {
            snprintf(err, errlen, "more than %d files", UPDATE_MAX_FILES);
            return -1;
        }
        uf.file_name = xstrdup(name);
        uf.modified = dup_or_null(xml_attr(f, "Modified"));
        uf.patching_type = dup_or_null(xml_attr(f, "PatchingType"));
        u->files = xreallocarray(u->files, u->n_files + 1, sizeof(*u->files));
        u->files[u->n_files++] = uf;
    }
    return 0;
}

/* update_parse, with the fragments too when derive is set. */
static int parse(struct update *u, const char *xml, size_t len, int derive, char *err,
                 size_t errlen)
{
    const struct xml_limits lim = XML_LIMITS_UPDATE;
    xmlDoc *doc;
    xmlNode *root, *n;
    size_t i;
    int rc = -1;

    update_init(u);
    doc = xml_parse(xml, len, &lim, err, errlen);
    if (doc == NULL)
        return -1;
    root = xml_root(doc);
    if (!xml_is(root, NS_UPD, "Update")) {
        snprintf(err, errlen, "root element is not upd:Update");
        goto out;
    }
    if ((n = xml_child(root, NS_UPD, "UpdateIdentity")) == NULL) {
        snprintf(err, errlen, "document has no UpdateIdentity");
        goto out;
    }
    if (parse_identity(n, u->update_id, &u->revision_number, 1, err, errlen) < 0)
        goto out;
    if ((n = xml_child(root, NS_UPD, "Properties")) == NULL) {
        snprintf(err, errlen, "document has no Properties");
        goto out;
    }
    if (parse_properties(u, n, err, errlen) < 0)
        goto out;
    if (parse_texts(u, xml_child(root, NS_UPD, "LocalizedPropertiesCollection"), err, errlen) < 0)
        goto out;
    if (parse_relationships(u, xml_child(root, NS_UPD, "Relationships"), err, errlen) < 0)
        goto out;
    if (parse_files(u, xml_child(root, NS_UPD, "Files"), err, errlen) < 0)
        goto out;
    n = xml_child(xml_child(root, NS_UPD, "HandlerSpecificData"), NS_CAT, "CategoryInformation");
    if (n != NULL) {
        const char *ct = xml_attr(n, "CategoryType");
        if (ct != NULL && ct[0] != '\0')
            u->category_type = xstrdup(ct);
    }
    u->is_leaf = u->n_bundles == 0;
    for (i = 0; i < u->n_texts && u->title == NULL; i++)
        if (u->default_language != NULL && strcmp(u->texts[i].language, u->default_language) == 0)
            u->title = xstrdup(u->texts[i].title);
    if (u->title == NULL)
        u->title = xstrdup(u->n_texts > 0 ? u->texts[0].title : "");
    u->xml = xmalloc(len + 1);
    memcpy(u->xml, xml, len);
    u->xml[len] = '\0';
    u->xml_len = len;
    if (derive) {
        char ferr[256];

        u->fragments = xmalloc(sizeof(*u->fragments));
        fragment_set_init(u->fragments);
        if (fragment_derive_doc(u->fragments, doc, len, ferr, sizeof(ferr)) < 0) {
            free(u->fragments);
            u->fragments = NULL;
        }
    }
    rc = 0;
out:
    xml_doc_free(doc);
    if (rc < 0)
        update_free(u);
    return rc;
}

int update_parse(struct update *u, const char *xml, size_t len, char *err, size_t errlen)
{
    return parse(u, xml, len, 0, err, errlen);
}

int update_parse_derive(struct update *u, const char *xml, size_t len, char *err, size_t errlen)
{
    return parse(u, xml, len, 1, err, errlen);
}

int update_is_language_specific(const struct update *u)
{
    return u->n_languages > 0;
}
