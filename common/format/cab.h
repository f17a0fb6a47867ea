/*
 * cab: Microsoft Cabinet files. Reading goes through libmspack (LZX, MSZIP, Quantum, stored)
 * with our own I/O layer, so nothing is printed and every decompressed size is checked
 * against a caller's maximum before a byte is written. Writing goes through libgcab (MSZIP).
 * Covers wsusutil export packages (files on disk) and XmlUpdateBlobCompressed (a cabinet in
 * memory holding one member "blob" = the update XML in UTF-16LE). Multi-cabinet sets are refused.
 */
#ifndef WSUS_CAB_H
#define WSUS_CAB_H

#include <stddef.h>
#include <stdint.h>

struct cab_member {
    char *name;    /* as stored in the cabinet */
    uint64_t size; /* uncompressed */
};

/*
 * List the members of the cabinet file at path. *members (caller frees with
 * cab_members_free) gets *n entries. 0, or -1 with a one-line message in err (not a cabinet,
 * truncated header, part of a multi-cabinet set).
 */
int cab_list(const char *path, struct cab_member **members, size_t *n, char *err, size_t errlen);
void cab_members_free(struct cab_member *members, size_t n);

/*
 * Extract member (exact name, case-insensitive) of the cabinet at cab_path into the new file
 * dest_path (created with mode 0600, must not exist). Refuses members larger than max_size.
 * 0, or -1 with a message in err (missing member, too large, truncated or damaged cabinet);
 * on failure dest_path is removed.
 */
int cab_extract(const char *cab_path, const char *member, const char *dest_path, uint64_t max_size,
                char *err, size_t errlen);

/*
 * Decode an XmlUpdateBlobCompressed cabinet (len bytes in memory): exactly one member
 * "blob", at most max_xml_bytes once decompressed, UTF-16LE; converted to UTF-8.
 * *xml (caller frees, NUL-terminated) gets the document and *xml_len its length.
 * 0, or -1 with a one-line reason in err.
 */
int cab_blob_decode(const unsigned char *cab, size_t len, size_t max_xml_bytes, char **xml,
                    size_t *xml_len, char *err, size_t errlen);

/*
 * The reverse, for serving downstreams: an MSZIP cabinet with one member "blob" holding xml
 * as UTF-16LE. *cab (caller frees) and *cab_len. 0, or -1 (xml not UTF-8) with err.
 */
int cab_blob_encode(const char *xml, size_t len, unsigned char **cab, size_t *cab_len, char *err,
                    size_t errlen);

/*
 * Write a new MSZIP cabinet at cab_path holding n files: member names[i] with the content of
 * the file src_paths[i]. Written to a temporary name and renamed into place, so cab_path is
 * either the complete new cabinet or untouched. 0, or -1 with err.
 */
int cab_write(const char *cab_path, const char *const *names, const char *const *src_paths,
              size_t n, char *err, size_t errlen);

#endif
