/*
 * wsuspkg: read and write wsusutil export packages (see wsuspkg.h). Reading streams
 * metadata.txt record by record from a private extraction directory and reads package.xml
 * with libxml2's streaming reader (no DTD, no network). Writing streams records into the
 * private directory and builds the cabinet (MSZIP) at the end.
 */
#include "wsuspkg.h"

#include "buf.h"
#include "cab.h"
#include "log.h"
#include "strutil.h"
#include "update.h"
#include "utf16.h"
#include "xml.h"
#include "xmalloc.h"

#include <errno.h>
#include <libxml/xmlreader.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_HEADER_LEN 55 /* 36 + 1 + 8 + 1 + 8 + 1 */

struct wsuspkg_reader {
    char *dir;
    char *metadata_path;
    char *package_path;
    FILE *fp;
    long number; /* records read so far */
    int failed;
    struct buf xml;
    struct wsuspkg_info info;
};

struct wsuspkg_writer {
    char *dir;
    char *server_id;
    FILE *meta;
    FILE *updates;
    struct buf langs;
    struct buf entry; /* the <Update> entry being written */
    long n_records;
};

static char *make_tmpdir(const char *prefix, char *err, size_t errlen)
{
    const char *t = getenv("TMPDIR");
    char *dir = xasprintf("%s/%s-XXXXXX", t != NULL && t[0] != '\0' ? t : "/tmp", prefix);

    if (mkdtemp(dir) == NULL) {
        snprintf(err, errlen, "cannot create a temporary directory %s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

static void remove_tmpdir(const char *dir, const char *const *names, size_t n)
{
    size_t i;

    if (dir == NULL)
        return;
    for (i = 0; i < n; i++) {
        char *p = xasprintf("%s/%s", dir, names[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
}

static const char *const reader_files[] = {"metadata.txt", "package.xml"};
static const char *const writer_files[] = {"metadata.txt", "package.xml", "updates.part"};

static int cmp_file(const void *a, const void *b)
{
    return memcmp(((const struct wsuspkg_file *)a)->sha1, ((const struct wsuspkg_file *)b)->sha1,
                  20);
}

static void free_file(struct wsuspkg_file *f)
{
    free(f->file_name);
    free(f->modified);
    free(f->mu_url);
}

static char *reader_attr(xmlTextReaderPtr tr, const char *name)
{
    xmlChar *v = xmlTextReaderGetAttribute(tr, (const xmlChar *)name);
    char *s;

    if (v == NULL)
        return NULL;
    s = xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

static void copy_attr(xmlTextReaderPtr tr, const char *name, char *out, size_t outlen)
{
    char *v = reader_attr(tr, name);

    str_copy_cut(out, outlen, v != NULL ? v : "");
    free(v);
}

static int read_package_xml(struct wsuspkg_reader *r, char *err, size_t errlen)
{
    struct wsuspkg_info *in = &r->info;
    xmlTextReaderPtr tr;
    char section[32] = "";
    int ret, rc = -1, seen_root = 0;

    xml_init();
    tr = xmlReaderForFile(r->package_path, NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (tr == NULL) {
        snprintf(err, errlen, "package.xml: cannot be read");
        return -1;
    }
    while ((ret = xmlTextReaderRead(tr)) == 1) {
        int type = xmlTextReaderNodeType(tr), depth = xmlTextReaderDepth(tr);
        const char *name;

        if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
            type == XML_READER_TYPE_ENTITY) {
            snprintf(err, errlen, "package.xml: a DOCTYPE or entity is not allowed");
            goto out;
        }
        if (type != XML_READER_TYPE_ELEMENT)
            continue;
        name = (const char *)xmlTextReaderConstLocalName(tr);
        if (depth == 0) {
            if (strcmp(name, "ExportPackage") != 0) {
                snprintf(err, errlen, "package.xml: root element is <%.40s>, not <ExportPackage>",
                         name);
                goto out;
            }
            seen_root = 1;
            copy_attr(tr, "ServerID", in->server_id, sizeof(in->server_id));
            copy_attr(tr, "CreationTime", in->creation_time, sizeof(in->creation_time));
            copy_attr(tr, "FormatVersion", in->format_version, sizeof(in->format_version));
            copy_attr(tr, "ProtocolVersion", in->protocol_version, sizeof(in->protocol_version));
        } else if (depth == 1) {
            str_copy_cut(section, sizeof(section), name);
        } else if (depth == 2 && strcmp(section, "Languages") == 0 &&
                   strcmp(name, "Language") == 0) {
            struct wsuspkg_language *l;
            char *v = reader_attr(tr, "Id"), *en = reader_attr(tr, "Enabled");
            long id = 0;
            if (in->n_languages >= 1000) {
                free(v);
                free(en);
                snprintf(err, errlen, "package.xml: more than 1000 languages");
                goto out;
            }
            if (v != NULL && str_to_long(v, 0, 0x7fffffff, &id) < 0)
                id = 0; /* a malformed Id keeps the 0 default, as wsusutil writes none */
            in->languages =
                xreallocarray(in->languages, in->n_languages + 1, sizeof(*in->languages));
            l = &in->languages[in->n_languages++];
            l->id = id;
            l->short_name = reader_attr(tr, "ShortName");
            l->long_name = reader_attr(tr, "LongName");
            l->enabled = en != NULL && (strcmp(en, "1") == 0 || strcmp(en, "true") == 0);
            if (l->short_name == NULL)
                l->short_name = xstrdup("");
            if (l->long_name == NULL)
                l->long_name = xstrdup("");
            free(v);
            free(en);
        } else if (strcmp(name, "File") == 0 && ((depth == 2 && strcmp(section, "Files") == 0) ||
                                                 (depth == 4 && strcmp(section, "Updates") == 0))) {
            struct wsuspkg_file f;
            char *d = reader_attr(tr, "Digest"), *sz = reader_attr(tr, "Size");
            memset(&f, 0, sizeof(f));
            f.size = -1;
            if (str_b64_decode_exact(d, f.sha1, 20) < 0) {
                snprintf(err, errlen, "package.xml: <File> with a missing or malformed Digest");
                free(d);
                free(sz);
                goto out;
            }
            if (sz != NULL && str_to_int64(sz, 0, INT64_MAX, &f.size) < 0)
                f.size = -1; /* a malformed Size reads as unknown */
            free(d);
            free(sz);
            if (in->n_files >= WSUSPKG_MAX_PACKAGE_FILES) {
                snprintf(err, errlen, "package.xml: more than %d files", WSUSPKG_MAX_PACKAGE_FILES);
                goto out;
            }
            f.file_name = reader_attr(tr, "FileName");
            f.modified = reader_attr(tr, "Modified");
            f.mu_url = reader_attr(tr, "MUUrl");
            in->files = xreallocarray(in->files, in->n_files + 1, sizeof(*in->files));
            in->files[in->n_files++] = f;
        } else if (depth == 2 && strcmp(section, "Updates") == 0 && strcmp(name, "Update") == 0) {
            in->n_updates++;
        }
    }
    if (ret < 0 || !seen_root) {
        snprintf(err, errlen, "package.xml: not well-formed XML (near line %d)",
                 xmlTextReaderGetParserLineNumber(tr));
        goto out;
    }
    if (in->n_files > 1) {
        size_t i, o = 1;
        qsort(in->files, in->n_files, sizeof(*in->files), cmp_file);
        for (i = 1; i < in->n_files; i++) {
            struct wsuspkg_file *keep = &in->files[o - 1], *f = &in->files[i];
            if (memcmp(keep->sha1, f->sha1, 20) != 0) {
                in->files[o++] = *f;
                continue;
            }
            if (keep->mu_url == NULL && f->mu_url != NULL) {
                keep->mu_url = f->mu_url;
                f->mu_url = NULL;
            }
            free_file(f);
        }
        in->n_files = o;
    }
    rc = 0;
out:
    xmlFreeTextReader(tr);
    return rc;
}

struct wsuspkg_reader *wsuspkg_open(const char *cab_path, char *err, size_t errlen)
{
    struct wsuspkg_reader *r = xcalloc(1, sizeof(*r));
    char e2[512];

    buf_init(&r->xml, (size_t)WSUSPKG_MAX_RECORD_UNITS * 3 + 16);
    if ((r->dir = make_tmpdir("wsuspkg", err, errlen)) == NULL)
        goto fail;
    r->metadata_path = xasprintf("%s/metadata.txt", r->dir);
    r->package_path = xasprintf("%s/package.xml", r->dir);
    if (cab_extract(cab_path, "package.xml", r->package_path, WSUSPKG_MAX_PACKAGE_XML, e2,
                    sizeof(e2)) < 0 ||
        cab_extract(cab_path, "metadata.txt", r->metadata_path, WSUSPKG_MAX_METADATA, e2,
                    sizeof(e2)) < 0) {
        /* cab messages start with the path the caller already names */
        size_t pl = strlen(cab_path);
        snprintf(err, errlen, "%s",
                 strncmp(e2, cab_path, pl) == 0 && strncmp(e2 + pl, ": ", 2) == 0 ? e2 + pl + 2
                                                                                  : e2);
        goto fail;
    }
    if (read_package_xml(r, err, errlen) < 0)
        goto fail;
    if (wsuspkg_rewind(r) < 0) {
        snprintf(err, errlen, "cannot open the extracted metadata.txt: %s", strerror(errno));
        goto fail;
    }
    return r;
fail:
    wsuspkg_close(r);
    return NULL;
}

void wsuspkg_close(struct wsuspkg_reader *r)
{
    size_t i;

    if (r == NULL)
        return;
    if (r->fp != NULL)
        fclose(r->fp);
    remove_tmpdir(r->dir, reader_files, 2);
    free(r->dir);
    free(r->metadata_path);
    free(r->package_path);
    buf_free(&r->xml);
    for (i = 0; i < r->info.n_languages; i++) {
        free(r->info.languages[i].short_name);
        free(r->info.languages[i].long_name);
    }
    free(r->info.languages);
    for (i = 0; i < r->info.n_files; i++)
        free_file(&r->info.files[i]);
    free(r->info.files);
    free(r);
}

const struct wsuspkg_info *wsuspkg_info(const struct wsuspkg_reader *r)
{
    return &r->info;
}

const struct wsuspkg_file *wsuspkg_find_file(const struct wsuspkg_reader *r,
                                             const unsigned char sha1[20])
{
    struct wsuspkg_file key;

    if (r->info.n_files == 0)
        return NULL;
    memcpy(key.sha1, sha1, 20);
    return bsearch(&key, r->info.files, r->info.n_files, sizeof(key), cmp_file);
}

int wsuspkg_rewind(struct wsuspkg_reader *r)
{
    if (r->fp != NULL)
        fclose(r->fp);
    r->fp = fopen(r->metadata_path, "rb");
    r->number = 0;
    r->failed = 0;
    if (r->fp == NULL)
        return -1;
    /* tolerate a UTF-8 BOM at the start (wsusutil writes none) */
    {
        unsigned char bom[3];
        if (fread(bom, 1, 3, r->fp) != 3 || bom[0] != 0xef || bom[1] != 0xbb || bom[2] != 0xbf)
            rewind(r->fp);
    }
    return 0;
}

static int parse_hex8(const char *s, unsigned long *out)
{
    unsigned long v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = (v << 4) | (unsigned long)d;
    }
    *out = v;
    return 0;
}

int wsuspkg_next(struct wsuspkg_reader *r, struct wsuspkg_record *rec, char *err, size_t errlen)
{
    char hdr[REC_HEADER_LEN + 1];
    char id[37];
    unsigned long rev, units, got = 0;
    size_t n;
    int c;

    if (r->failed) {
        snprintf(err, errlen, "package reader already failed");
        return -1;
    }
    memset(rec, 0, sizeof(*rec));
    c = getc(r->fp);
    if (c == EOF)
        return ferror(r->fp) ? (snprintf(err, errlen, "metadata.txt: read error"), -1) : 0;
    ungetc(c, r->fp);
    rec->number = ++r->number;
    n = fread(hdr, 1, REC_HEADER_LEN, r->fp);
    hdr[n] = '\0';
    if (n < REC_HEADER_LEN || hdr[36] != ',' || hdr[45] != ',' || hdr[54] != ',') {
        snprintf(err, errlen,
                 "record %ld: bad record header (expected \"<UpdateID>,<revision as 8 hex "
                 "digits>,<length as 8 hex digits>,\")",
                 rec->number);
        goto fail;
    }
    hdr[36] = '\0';
    if (str_guid_canon(hdr, id) < 0) {
        snprintf(err, errlen, "record %ld: bad record header: \"%.36s\" is not an UpdateID",
                 rec->number, hdr);
        goto fail;
    }
    if (parse_hex8(hdr + 37, &rev) < 0 || rev > 0x7fffffff || parse_hex8(hdr + 46, &units) < 0) {
        snprintf(err, errlen,
                 "record %ld (UpdateID %s): bad record header: revision and length must be 8 "
                 "hex digits",
                 rec->number, id);
        goto fail;
    }
    if (units == 0 || units > WSUSPKG_MAX_RECORD_UNITS) {
        snprintf(err, errlen,
                 "record %ld (UpdateID %s): XML length %lu UTF-16 units is outside 1..%u",
                 rec->number, id, units, WSUSPKG_MAX_RECORD_UNITS);
        goto fail;
    }
    buf_reset(&r->xml);
    while (got < units) {
        unsigned char seq[4];
        int len, i;

        if ((c = getc(r->fp)) == EOF)
            goto truncated;
        seq[0] = (unsigned char)c;
        len = utf8_seq_len(seq[0]);
        if (len == 0)
            goto bad_utf8;
        for (i = 1; i < len; i++) {
            if ((c = getc(r->fp)) == EOF)
                goto truncated;
            seq[i] = (unsigned char)c;
        }
        if (len > 1 && utf8_utf16_units((const char *)seq, (size_t)len) < 0)
            goto bad_utf8;
        got += len == 4 ? 2 : 1;
        if (buf_add(&r->xml, seq, (size_t)len) < 0)
            goto truncated;
    }
    if (got != units) {
        snprintf(err, errlen,
                 "record %ld (UpdateID %s): XML length does not end on a character boundary",
                 rec->number, id);
        goto fail;
    }
    c = getc(r->fp);
    if (c != EOF) {
        if (c != '\r' || getc(r->fp) != '\n') {
            snprintf(err, errlen,
                     "record %ld (UpdateID %s): record not followed by CRLF (wrong XML length?)",
                     rec->number, id);
            goto fail;
        }
    }
    memcpy(rec->update_id, id, sizeof(id));
    rec->revision_number = (int)rev;
    rec->xml = buf_str(&r->xml);
    rec->xml_len = r->xml.len;
    return 1;
truncated:
    snprintf(err, errlen, "record %ld (UpdateID %s): metadata.txt ends inside the record's XML",
             rec->number, id);
    goto fail;
bad_utf8:
    snprintf(err, errlen, "record %ld (UpdateID %s): XML is not valid UTF-8", rec->number, id);
fail:
    r->failed = 1;
    return -1;
}

struct wsuspkg_writer *wsuspkg_writer_new(const char *server_id, char *err, size_t errlen)
{
    struct wsuspkg_writer *w = xcalloc(1, sizeof(*w));
    char *p;

    buf_init(&w->langs, 1024 * 1024);
    buf_init(&w->entry, 64u * 1024 * 1024);
    w->server_id = xstrdup(server_id != NULL ? server_id : "");
    if ((w->dir = make_tmpdir("wsusexport", err, errlen)) == NULL)
        goto fail;
    p = xasprintf("%s/metadata.txt", w->dir);
    w->meta = fopen(p, "wb");
    free(p);
    p = xasprintf("%s/updates.part", w->dir);
    w->updates = fopen(p, "wb");
    free(p);
    if (w->meta == NULL || w->updates == NULL) {
        snprintf(err, errlen, "cannot create files in %s: %s", w->dir, strerror(errno));
        goto fail;
    }
    return w;
fail:
    wsuspkg_writer_free(w);
    return NULL;
}

void wsuspkg_writer_free(struct wsuspkg_writer *w)
{
    if (w == NULL)
        return;
    if (w->meta != NULL)
        fclose(w->meta);
    if (w->updates != NULL)
        fclose(w->updates);
    remove_tmpdir(w->dir, writer_files, 3);
    free(w->dir);
    free(w->server_id);
    buf_free(&w->langs);
    buf_free(&w->entry);
    free(w);
}

static void add_xml_attr(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, " %s=\"", name);
    buf_add_xml_escaped(b, value, strlen(value));
    buf_add_str(b, "\"");
}

void wsuspkg_writer_add_language(struct wsuspkg_writer *w, long id, const char *short_name,
                                 const char *long_name, int enabled)
{
    buf_printf(&w->langs, "<Language Id=\"%ld\"", id);
    add_xml_attr(&w->langs, "ShortName", short_name != NULL ? short_name : "");
    add_xml_attr(&w->langs, "LongName", long_name != NULL ? long_name : "");
    buf_printf(&w->langs, " Enabled=\"%d\" />", enabled ? 1 : 0);
}

int wsuspkg_writer_add(struct wsuspkg_writer *w, const char *update_id, int revision_number,
                       const char *xml, size_t xml_len, const struct wsuspkg_file *files,
                       size_t n_files, char *err, size_t errlen)
{
    int64_t units = utf8_utf16_units(xml, xml_len);
    char b64[STR_B64_LEN(32) + 1]; /* fits SHA-1 and SHA-256: encoding cannot fail */
    size_t i;

    if (units < 0 || units > 0xffffffffLL) {
        snprintf(err, errlen, "update %s revision %d: XML is not valid UTF-8 or too long",
                 update_id, revision_number);
        return -1;
    }
    if (fprintf(w->meta, "%s,%08x,%08x,", update_id, (unsigned)revision_number, (unsigned)units) <
            0 ||
        fwrite(xml, 1, xml_len, w->meta) != xml_len || fputs("\r\n", w->meta) == EOF)
        goto io;
    buf_reset(&w->entry);
    buf_printf(&w->entry, "<Update UpdateId=\"%s\" RevisionNumber=\"%d\">", update_id,
               revision_number);
    if (n_files == 0)
        buf_add_str(&w->entry, "<Files />");
    else
        buf_add_str(&w->entry, "<Files>");
    for (i = 0; i < n_files; i++) {
        const struct wsuspkg_file *f = &files[i];
        if (str_b64_encode(f->sha1, 20, b64, sizeof(b64)) < 0)
            abort(); /* impossible: b64 is sized for 32 bytes */
        buf_printf(&w->entry, "<File Digest=\"%s\" DigestAlgorithm=\"SHA1\"", b64);
        if (f->file_name != NULL)
            add_xml_attr(&w->entry, "FileName", f->file_name);
        if (f->size >= 0)
            buf_printf(&w->entry, " Size=\"%lld\"", (long long)f->size);
        if (f->modified != NULL)
            add_xml_attr(&w->entry, "Modified", f->modified);
        if (f->mu_url != NULL)
            add_xml_attr(&w->entry, "MUUrl", f->mu_url);
        if (f->has_sha256) {
            if (str_b64_encode(f->sha256, 32, b64, sizeof(b64)) < 0)
                abort(); /* impossible: b64 is sized for 32 bytes */
            buf_printf(&w->entry,
                       "><AdditionalDigest Algorithm=\"SHA256\">%s</AdditionalDigest></File>", b64);
        } else {
            buf_add_str(&w->entry, " />");
        }
    }
    if (n_files > 0)
        buf_add_str(&w->entry, "</Files>");
    if (fwrite(w->entry.data, 1, w->entry.len, w->updates) != w->entry.len)
        goto io;
    if (fputs("<Categories /><Classifications /></Update>", w->updates) == EOF)
        goto io;
    w->n_records++;
    return 0;
io:
    snprintf(err, errlen, "cannot write to %s: %s", w->dir, strerror(errno));
    return -1;
}

static int copy_stream(FILE *from, FILE *to)
{
    char chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), from)) > 0)
        if (fwrite(chunk, 1, n, to) != n)
            return -1;
    return ferror(from) ? -1 : 0;
}

int wsuspkg_writer_finish(struct wsuspkg_writer *w, const char *cab_path, char *err, size_t errlen)
{
    char *pkg_path = xasprintf("%s/package.xml", w->dir);
    char *meta_path = xasprintf("%s/metadata.txt", w->dir);
    char *upd_path = xasprintf("%s/updates.part", w->dir);
    const char *names[2] = {"package.xml", "metadata.txt"};
    const char *paths[2];
    struct buf head;
    FILE *pkg = NULL, *upd = NULL;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    int rc = -1;

    buf_init(&head, 1024 * 1024 * 1024);
    paths[0] = pkg_path;
    paths[1] = meta_path;
    if (fclose(w->meta) != 0 || fclose(w->updates) != 0) {
        w->meta = w->updates = NULL;
        snprintf(err, errlen, "cannot write to %s: %s", w->dir, strerror(errno));
        goto out;
    }
    w->meta = w->updates = NULL;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_add(&head, "\xef\xbb\xbf", 3);
    buf_add_str(&head, "<?xml version=\"1.0\" encoding=\"utf-8\"?><ExportPackage");
    add_xml_attr(&head, "ServerID", w->server_id);
    add_xml_attr(&head, "CreationTime", when);
    buf_add_str(&head, " FormatVersion=\"1.0\" ProtocolVersion=\"1.20\">");
    if (w->langs.len == 0)
        buf_add_str(&head, "<Languages />");
    else
        buf_printf(&head, "<Languages>%s</Languages>", buf_str(&w->langs));
    buf_add_str(&head, "<Files />");
    buf_add_str(&head, w->n_records > 0 ? "<Updates>" : "<Updates />");
    if ((pkg = fopen(pkg_path, "wb")) == NULL || (upd = fopen(upd_path, "rb")) == NULL ||
        fwrite(head.data, 1, head.len, pkg) != head.len || copy_stream(upd, pkg) < 0 ||
        fputs(w->n_records > 0 ? "</Updates></ExportPackage>" : "</ExportPackage>", pkg) == EOF) {
        snprintf(err, errlen, "cannot write package.xml in %s: %s", w->dir, strerror(errno));
        goto out;
    }
    if (fclose(pkg) != 0) {
        pkg = NULL;
        snprintf(err, errlen, "cannot write package.xml in %s: %s", w->dir, strerror(errno));
        goto out;
    }
    pkg = NULL;
    if (cab_write(cab_path, names, paths, 2, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    if (pkg != NULL)
        fclose(pkg);
    if (upd != NULL)
        fclose(upd);
    buf_free(&head);
    free(pkg_path);
    free(meta_path);
    free(upd_path);
    return rc;
}
