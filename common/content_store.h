/*
 * content_store: the update files on disk, laid out as WSUS does:
 *     <content_dir>/WsusContent/<XX>/<SHA1HEX>.<ext>
 * XX = the last byte of the SHA-1 as two upper-case hex digits, SHA1HEX upper case, ext the
 * lower-cased extension of the catalog file name (none if it has none). A file becomes visible
 * under that name only after its size, SHA-1 and (when known) SHA-256 verified: it is written
 * to a temporary or ".partial" name in the same directory, fsync'd, then renamed.
 * It does not know the catalog (callers update the `file` table) nor HTTP.
 *
 * Partial downloads (for the sync engine's downloader), one file per digest:
 *
 *     p = content_store_partial_open(cs, sha1, sha256, size, name, err, errlen);
 *     off = content_store_partial_offset(p);      // bytes already on disk from earlier runs
 *     // ask upstream for "Range: bytes=<off>-" (no Range when off == 0)
 *     // 206 -> append the body; 200 (upstream ignored Range) -> partial_restart() first
 *     content_store_partial_append(p, data, len, err, errlen);   // as the bytes arrive
 *     content_store_partial_finish(p, err, errlen);  // verify + fsync + rename; frees p
 *     // on a network error: content_store_partial_abort(p)  -> kept, resumed next time
 *     // to give up on it:   content_store_partial_discard(p) -> deleted
 *
 * The partial lives at <XX>/<SHA1HEX>.<ext>.partial, locked (flock) while open so two
 * downloaders never write the same file; it is never served (the URL grammar excludes it).
 * All functions are thread-safe for different files; one content_partial belongs to one
 * thread at a time.
 */
#ifndef WSUS_CONTENT_STORE_H
#define WSUS_CONTENT_STORE_H

#include "attr.h"
#include <stddef.h>
#include <stdint.h>

#define CONTENT_STORE_EXT_MAX 16 /* longest extension kept (characters, without the dot) */

struct content_store; /* opaque */
struct content_partial;

/*
 * Open the store rooted at content_dir (absolute path). Creates content_dir and WsusContent/
 * when missing, then checks that the current (service) user can read, write and search both.
 * NULL on failure with one line in err naming the directory, the user, the missing permission
 * and the fix (e.g. the chown to run). Call it after privileges were dropped.
 */
struct content_store *content_store_open(const char *content_dir, char *err, size_t errlen);
/*
 * The checks of content_store_open() without opening: content_dir and its WsusContent/ exist
 * (created when missing) and the current user may read, write and search both. 0, or -1 with
 * the same one-line message (directory, user, missing permission, fix) in err.
 */
int content_store_check(const char *content_dir, char *err, size_t errlen) WSUS_MUST_USE;
/* Free the handle (files are untouched). NULL is fine. */
void content_store_close(struct content_store *cs);
/* The content_dir the store was opened with. */
const char *content_store_dir(const struct content_store *cs);

/*
 * The extension used on disk for a catalog file name: lower-cased text after the last '.'
 * when it is 1..CONTENT_STORE_EXT_MAX letters/digits, else "" (no extension). out must hold
 * CONTENT_STORE_EXT_MAX + 1 bytes. Returns out.
 */
char *content_store_ext(const char *file_name, char *out);
/* SHA-1 as 40 upper-case hex digits + NUL into out (41 bytes). Returns out. */
char *content_store_hex(const unsigned char *digest, size_t len, char *out);

/*
 * Path of the published file for a digest: <dir>/WsusContent/XX/HEX.ext (XX = last byte).
 * file_name is the catalog file name (only its extension is used; NULL = none). 0, or -1 when
 * out is too small.
 */
int content_store_path(const struct content_store *cs, const unsigned char sha1[20],
                       const char *file_name, char *out, size_t outlen) WSUS_MUST_USE;

/*
 * Publish a local file: copy src_path to a temporary file in the target directory while
 * hashing it, check the size (when size >= 0), the SHA-1 and the SHA-256 (when sha256 is not
 * NULL), fsync, rename over the final name, fsync the directory. When the final file is
 * already there and verifies, nothing is copied. 0, or -1 with a message in err (what failed,
 * expected vs actual digest) and nothing new visible.
 */
int content_store_import_file(struct content_store *cs, const char *src_path,
                              const unsigned char sha1[20], const unsigned char *sha256,
                              int64_t size, const char *file_name, char *err,
                              size_t errlen) WSUS_MUST_USE;

enum content_verify {
    CONTENT_VERIFY_OK,      /* present, size and digests match */
    CONTENT_VERIFY_MISSING, /* no published file */
    CONTENT_VERIFY_CORRUPT, /* present but size or a digest differs (detail says which) */
    CONTENT_VERIFY_ERROR,   /* could not read it (detail has the errno text) */
};

/*
 * Re-read a published file and compare it with the catalog: size (when >= 0), SHA-1, SHA-256
 * (when not NULL). detail (may be NULL) gets a one-line reason for anything but OK.
 */
enum content_verify content_store_verify(const struct content_store *cs,
                                         const unsigned char sha1[20], const unsigned char *sha256,
                                         int64_t size, const char *file_name, char *detail,
                                         size_t detaillen);

/*
 * Move a published file out of WsusContent into <content_dir>/Quarantine/HEX.ext.<unix time>
 * (created when missing). dest (may be NULL) gets the new path. 0, -1 with a message in err;
 * a missing file is an error too.
 */
int content_store_quarantine(struct content_store *cs, const unsigned char sha1[20],
                             const char *file_name, char *dest, size_t destlen, char *err,
                             size_t errlen);

/*
 * Open (creating if needed) the partial download of a digest, with what the catalog expects:
 * size (-1 if unknown) and sha256 (NULL if unknown). Bytes already in the partial are hashed
 * now so that finish() needs no second pass; a partial longer than size is truncated to zero.
 * NULL on failure with a message in err, also when another downloader holds the partial.
 */
struct content_partial *content_store_partial_open(struct content_store *cs,
                                                   const unsigned char sha1[20],
                                                   const unsigned char *sha256, int64_t size,
                                                   const char *file_name, char *err, size_t errlen);
/* Bytes already stored: resume with "Range: bytes=<offset>-". */
int64_t content_store_partial_offset(const struct content_partial *p);
/*
 * Append len bytes. -1 with a message in err on a write error or when more bytes than the
 * expected size arrive; after a failure only abort() or discard() are allowed.
 */
int content_store_partial_append(struct content_partial *p, const void *data, size_t len, char *err,
                                 size_t errlen) WSUS_MUST_USE;
/* Throw away what the partial holds and start at offset 0 (the upstream ignored Range and
 * answered 200). 0 or -1 with a message. */
int content_store_partial_restart(struct content_partial *p, char *err,
                                  size_t errlen) WSUS_MUST_USE;
/*
 * Verify the bytes (size, SHA-1, SHA-256), fsync, rename to the published name, fsync the
 * directory. Always frees p. 0; or -1 with err saying what did not match (expected vs actual),
 * in which case the partial file is deleted (its bytes are wrong, resuming cannot help).
 */
int content_store_partial_finish(struct content_partial *p, char *err, size_t errlen) WSUS_MUST_USE;
/*
 * content_store_partial_finish for n partials at once, sharing the disk waits: all are
 * verified, their data flushed, then all renamed, then the renames flushed; a file gets its
 * published name only once its bytes are on disk, and the names are on disk when this
 * returns: writes started together, an fsync a file, then each directory fsync'd once.
 * rc[i] and the message at err + i * errlen are partial i's, as
 * content_store_partial_finish's; every p[i] is freed.
 */
void content_store_partials_finish(struct content_partial **p, size_t n, int *rc, char *err,
                                   size_t errlen);
/* Close and keep the partial on disk for a later resume. Frees p; NULL is fine. */
void content_store_partial_abort(struct content_partial *p);
/* Close and delete the partial. Frees p; NULL is fine. */
void content_store_partial_discard(struct content_partial *p);

#endif
