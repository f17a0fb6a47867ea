/*
 * wsuspkg: the `wsusutil export` package format (a cabinet with metadata.txt + package.xml).
 * metadata.txt: one record per revision, "<UpdateID>,<revision %08x>,<XML length %08x>,<xml>"
 * with CRLF between records; the length counts UTF-16 code units of the XML (the file itself
 * is UTF-8 and the XML may contain newlines). package.xml: <ExportPackage> with <Languages>,
 * the package's <Files> and one <Update> per record. See docs/import-export.md.
 * The reader extracts both members into a private temporary directory and streams the records
 * (memory bounded by the largest record). It does not parse the update XML (update.h does).
 */
#ifndef WSUS_WSUSPKG_H
#define WSUS_WSUSPKG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Limits: one record's XML, and the members' sizes once decompressed. */
#define WSUSPKG_MAX_RECORD_UNITS  (8u * 1024 * 1024) /* UTF-16 code units (16 MB) */
#define WSUSPKG_MAX_METADATA      (64ull * 1024 * 1024 * 1024)
#define WSUSPKG_MAX_PACKAGE_XML   (4ull * 1024 * 1024 * 1024)
#define WSUSPKG_MAX_PACKAGE_FILES 2000000

struct wsuspkg_language {
    long id; /* LCID, 0 for "all" */
    char *short_name;
    char *long_name;
    int enabled;
};

/*
 * A file listed in package.xml (our extension, shared with tests/tools/wsusgen.py; the real
 * export has none): <Update><Files><File Digest= DigestAlgorithm="SHA1" FileName= Size=
 * Modified= MUUrl=><AdditionalDigest Algorithm="SHA256">..</AdditionalDigest></File>. The
 * reader also accepts <File> directly under the top-level <Files>. Only MUUrl is not already
 * in the update XML.
 */
struct wsuspkg_file {
    unsigned char sha1[20];
    unsigned char sha256[32];
    int has_sha256;
    char *file_name; /* may be NULL */
    int64_t size;    /* -1 when unknown */
    char *modified;  /* may be NULL */
    char *mu_url;    /* may be NULL */
};

struct wsuspkg_info {
    char server_id[64];
    char creation_time[64];
    char format_version[16];
    char protocol_version[16];
    long n_updates; /* <Update> entries in package.xml */
    struct wsuspkg_language *languages;
    size_t n_languages;
    struct wsuspkg_file *files; /* sorted by sha1, one per digest */
    size_t n_files;
};

struct wsuspkg_record {
    long number; /* 1-based position in metadata.txt */
    char update_id[37];
    int revision_number;
    const char *xml; /* UTF-8, NUL-terminated; valid until the next wsuspkg_next */
    size_t xml_len;
};

struct wsuspkg_reader;

/*
 * Open the package at cab_path: extract metadata.txt and package.xml into a new private
 * directory under $TMPDIR (or /tmp), read package.xml's header, languages and files.
 * Returns the reader (wsuspkg_close frees it and removes the directory), or NULL with a
 * one-line message in err (not a cabinet, truncated, member missing, package.xml malformed).
 */
struct wsuspkg_reader *wsuspkg_open(const char *cab_path, char *err, size_t errlen);
void wsuspkg_close(struct wsuspkg_reader *r);
const struct wsuspkg_info *wsuspkg_info(const struct wsuspkg_reader *r);
/* Look up a package file by SHA-1; NULL when package.xml does not list it. */
const struct wsuspkg_file *wsuspkg_find_file(const struct wsuspkg_reader *r,
                                             const unsigned char sha1[20]);

/*
 * Read the next record. 1 with rec filled, 0 at the end, -1 with a message naming the record
 * ("record 12 (UpdateID ...): ...") in err for a bad header, a bad length, invalid UTF-8,
 * an over-long record or a truncated file. After -1 the reader only reports errors.
 */
int wsuspkg_next(struct wsuspkg_reader *r, struct wsuspkg_record *rec, char *err, size_t errlen);
/* Start over at the first record (for a second pass). 0 or -1. */
int wsuspkg_rewind(struct wsuspkg_reader *r);

struct wsuspkg_writer;

/*
 * Start a package of this server (server_id, may be ""). Records are streamed into a private
 * temporary directory; nothing is visible at the destination until wsuspkg_writer_finish.
 * NULL with err when the temporary directory cannot be made.
 */
struct wsuspkg_writer *wsuspkg_writer_new(const char *server_id, char *err, size_t errlen);
/* Add a language to package.xml's <Languages>. */
void wsuspkg_writer_add_language(struct wsuspkg_writer *w, long id, const char *short_name,
                                 const char *long_name, int enabled);
/*
 * Append one record (xml must be valid UTF-8) and its <Update> entry listing the files
 * (n_files entries, written in full with MUUrl). 0, or -1 with err.
 */
int wsuspkg_writer_add(struct wsuspkg_writer *w, const char *update_id, int revision_number,
                       const char *xml, size_t xml_len, const struct wsuspkg_file *files,
                       size_t n_files, char *err, size_t errlen);
/* Write package.xml and build the cabinet at cab_path (atomically). 0, or -1 with err. */
int wsuspkg_writer_finish(struct wsuspkg_writer *w, const char *cab_path, char *err, size_t errlen);
/* Discard the writer and its temporary directory; NULL is fine. */
void wsuspkg_writer_free(struct wsuspkg_writer *w);

#endif
