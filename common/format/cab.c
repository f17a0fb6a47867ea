/*
 * cab: Cabinet reading (libmspack) and writing (libgcab); see cab.h. The mspack_system below
 * come in two instances: one for real files (paths), one for memory (a struct cab_mem passed
 * in place of a file name, as libmspack allows). Writes into memory stop at the buffer's
 * maximum, so a lying header cannot make us allocate more than the caller allowed.
 */
#include "cab.h"

#include "buf.h"
#include "utf16.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgcab.h>
#include <mspack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAB_MEM_MAGIC 0x43414d45u /* "CAME" */

/* A memory "file": read from data/len, or write into out. */
struct cab_mem {
    unsigned int magic;
    const unsigned char *data;
    size_t len;
    struct buf *out;
};

struct cab_handle {
    FILE *fp;            /* file handle, or NULL */
    struct cab_mem *mem; /* memory handle, or NULL */
    size_t pos;
};

/* Memory system: every "file name" is a struct cab_mem *. */
static struct mspack_file *cab_mem_open(struct mspack_system *self, const char *filename, int mode)
{
    struct cab_mem *m = (struct cab_mem *)(void *)filename;
    struct cab_handle *h;

    (void)self;
    if (m == NULL || m->magic != CAB_MEM_MAGIC ||
        (mode == MSPACK_SYS_OPEN_WRITE) != (m->out != NULL))
        return NULL;
    h = xcalloc(1, sizeof(*h));
    h->mem = m;
    return (struct mspack_file *)h;
}

/* File system: file names are paths. */
static struct mspack_file *cab_sys_open(struct mspack_system *self, const char *filename, int mode)
{
    struct cab_handle *h;

    (void)self;
    if (mode == MSPACK_SYS_OPEN_READ) {
        FILE *fp = fopen(filename, "rb");
        if (fp == NULL)
            return NULL;
        h = xcalloc(1, sizeof(*h));
        h->fp = fp;
        return (struct mspack_file *)h;
    }
    if (mode == MSPACK_SYS_OPEN_WRITE) {
        int fd = open(filename, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        FILE *fp;
        if (fd < 0)
            return NULL;
        if ((fp = fdopen(fd, "wb")) == NULL) {
            close(fd);
            return NULL;
        }
        h = xcalloc(1, sizeof(*h));
        h->fp = fp;
        return (struct mspack_file *)h;
    }
    return NULL;
}

static void cab_sys_close(struct mspack_file *file)
{
    struct cab_handle *h = (struct cab_handle *)file;

    if (h == NULL)
        return;
    if (h->fp != NULL)
        fclose(h->fp);
    free(h);
}

static int cab_sys_read(struct mspack_file *file, void *buffer, int bytes)
{
    struct cab_handle *h = (struct cab_handle *)file;
    size_t n;

    if (bytes < 0)
        return -1;
    if (h->fp != NULL) {
        n = fread(buffer, 1, (size_t)bytes, h->fp);
        return ferror(h->fp) ? -1 : (int)n;
    }
    if (h->pos >= h->mem->len)
        return 0;
    n = h->mem->len - h->pos;
    if (n > (size_t)bytes)
        n = (size_t)bytes;
    memcpy(buffer, h->mem->data + h->pos, n);
    h->pos += n;
    return (int)n;
}

static int cab_sys_write(struct mspack_file *file, void *buffer, int bytes)
{
    struct cab_handle *h = (struct cab_handle *)file;

    if (bytes < 0)
        return -1;
    if (h->fp != NULL)
        return fwrite(buffer, 1, (size_t)bytes, h->fp) == (size_t)bytes ? bytes : -1;
    if (h->mem->out == NULL || buf_add(h->mem->out, buffer, (size_t)bytes) < 0)
        return -1;
    return bytes;
}

static int cab_sys_seek(struct mspack_file *file, off_t offset, int mode)
{
    struct cab_handle *h = (struct cab_handle *)file;
    off_t base;

    if (h->fp != NULL) {
        int whence = mode == MSPACK_SYS_SEEK_START ? SEEK_SET
                     : mode == MSPACK_SYS_SEEK_CUR ? SEEK_CUR
                                                   : SEEK_END;
        return fseeko(h->fp, offset, whence) == 0 ? 0 : -1;
    }
    switch (mode) {
    case MSPACK_SYS_SEEK_START:
        base = 0;
        break;
    case MSPACK_SYS_SEEK_CUR:
        base = (off_t)h->pos;
        break;
    case MSPACK_SYS_SEEK_END:
        base = (off_t)h->mem->len;
        break;
    default:
        return -1;
    }
    if (offset < -base || base + offset > (off_t)h->mem->len)
        return -1;
    h->pos = (size_t)(base + offset);
    return 0;
}

static off_t cab_sys_tell(struct mspack_file *file)
{
    struct cab_handle *h = (struct cab_handle *)file;

    if (h->fp != NULL)
        return ftello(h->fp);
    return (off_t)h->pos;
}

static void cab_sys_message(struct mspack_file *file, const char *format, ...)
{
    /* libmspack's warnings ("possibly truncated") show up as errors of the call anyway */
    (void)file;
    (void)format;
}

static void *cab_sys_alloc(struct mspack_system *self, size_t bytes)
{
    (void)self;
    return xmalloc(bytes > 0 ? bytes : 1);
}

static void cab_sys_free(void *ptr)
{
    free(ptr);
}

static void cab_sys_copy(void *src, void *dest, size_t bytes)
{
    memmove(dest, src, bytes);
}

static struct mspack_system cab_sys = {
    cab_sys_open,    cab_sys_close, cab_sys_read, cab_sys_write, cab_sys_seek, cab_sys_tell,
    cab_sys_message, cab_sys_alloc, cab_sys_free, cab_sys_copy,  NULL};
static struct mspack_system cab_mem_sys = {
    cab_mem_open,    cab_sys_close, cab_sys_read, cab_sys_write, cab_sys_seek, cab_sys_tell,
    cab_sys_message, cab_sys_alloc, cab_sys_free, cab_sys_copy,  NULL};

static const char *cab_strerror(int e)
{
    switch (e) {
    case MSPACK_ERR_OPEN:
        return "cannot open";
    case MSPACK_ERR_READ:
        return "read error or truncated cabinet";
    case MSPACK_ERR_WRITE:
        return "write error or member larger than allowed";
    case MSPACK_ERR_SEEK:
        return "seek error (truncated cabinet?)";
    case MSPACK_ERR_NOMEMORY:
        return "out of memory";
    case MSPACK_ERR_SIGNATURE:
        return "not a cabinet file (bad signature)";
    case MSPACK_ERR_DATAFORMAT:
        return "damaged or truncated cabinet (bad data format)";
    case MSPACK_ERR_CHECKSUM:
        return "checksum mismatch (damaged cabinet)";
    case MSPACK_ERR_DECRUNCH:
        return "decompression failed (damaged cabinet)";
    default:
        return "cabinet error";
    }
}

/* Open a cabinet (path or struct cab_mem *) and refuse cabinet sets. */
static struct mscabd_cabinet *cab_open(struct mscab_decompressor *d, const char *name,
                                       const char *what, char *err, size_t errlen)
{
    struct mscabd_cabinet *cab = d->open(d, name);

    if (cab == NULL) {
        snprintf(err, errlen, "%s: %s", what, cab_strerror(d->last_error(d)));
        return NULL;
    }
    if ((cab->flags & (MSCAB_HDR_PREVCAB | MSCAB_HDR_NEXTCAB)) != 0 || cab->next != NULL) {
        snprintf(err, errlen, "%s: part of a multi-cabinet set (not supported)", what);
        d->close(d, cab);
        return NULL;
    }
    return cab;
}

int cab_list(const char *path, struct cab_member **members, size_t *n, char *err, size_t errlen)
{
    struct mscab_decompressor *d = mspack_create_cab_decompressor(&cab_sys);
    struct mscabd_cabinet *cab;
    struct mscabd_file *f;
    size_t count = 0, i = 0;

    *members = NULL;
    *n = 0;
    if (d == NULL) {
        snprintf(err, errlen, "cannot create a cabinet decompressor");
        return -1;
    }
    if ((cab = cab_open(d, path, path, err, errlen)) == NULL) {
        mspack_destroy_cab_decompressor(d);
        return -1;
    }
    for (f = cab->files; f != NULL; f = f->next)
        count++;
    *members = xcalloc(count > 0 ? count : 1, sizeof(**members));
    for (f = cab->files; f != NULL; f = f->next, i++) {
        (*members)[i].name = xstrdup(f->filename);
        (*members)[i].size = f->length;
    }
    *n = count;
    d->close(d, cab);
    mspack_destroy_cab_decompressor(d);
    return 0;
}

void cab_members_free(struct cab_member *members, size_t n)
{
    size_t i;

    if (members == NULL)
        return;
    for (i = 0; i < n; i++)
        free(members[i].name);
    free(members);
}

int cab_extract(const char *cab_path, const char *member, const char *dest_path, uint64_t max_size,
                char *err, size_t errlen)
{
    struct mscab_decompressor *d = mspack_create_cab_decompressor(&cab_sys);
    struct mscabd_cabinet *cab = NULL;
    struct mscabd_file *f;
    int rc = -1, e;

    if (d == NULL) {
        snprintf(err, errlen, "cannot create a cabinet decompressor");
        return -1;
    }
    if ((cab = cab_open(d, cab_path, cab_path, err, errlen)) == NULL)
        goto out;
    for (f = cab->files; f != NULL; f = f->next)
        if (strcasecmp(f->filename, member) == 0)
            break;
    if (f == NULL) {
        snprintf(err, errlen, "%s: no member \"%s\" (is this a wsusutil export package?)", cab_path,
                 member);
        goto out;
    }
    if (f->length > max_size) {
        snprintf(err, errlen, "%s: member \"%s\" is %u bytes, more than the limit of %llu",
                 cab_path, member, f->length, (unsigned long long)max_size);
        goto out;
    }
    if ((e = d->extract(d, f, dest_path)) != MSPACK_ERR_OK) {
        snprintf(err, errlen, "%s: cannot extract \"%s\": %s", cab_path, member, cab_strerror(e));
        unlink(dest_path);
        goto out;
    }
    rc = 0;
out:
    if (cab != NULL)
        d->close(d, cab);
    mspack_destroy_cab_decompressor(d);
    return rc;
}

int cab_blob_decode(const unsigned char *data, size_t len, size_t max_xml_bytes, char **xml,
                    size_t *xml_len, char *err, size_t errlen)
{
    struct mscab_decompressor *d;
    struct mscabd_cabinet *cab = NULL;
    struct cab_mem in = {CAB_MEM_MAGIC, data, len, NULL}, out = {CAB_MEM_MAGIC, NULL, 0, NULL};
    struct buf ob;
    int rc = -1, e;

    *xml = NULL;
    *xml_len = 0;
    buf_init(&ob, max_xml_bytes);
    out.out = &ob;
    if ((d = mspack_create_cab_decompressor(&cab_mem_sys)) == NULL) {
        snprintf(err, errlen, "cannot create a cabinet decompressor");
        return -1;
    }
    if ((cab = cab_open(d, (const char *)(void *)&in, "compressed update blob", err, errlen)) ==
        NULL)
        goto out;
    if (cab->files == NULL || cab->files->next != NULL ||
        strcasecmp(cab->files->filename, "blob") != 0) {
        snprintf(err, errlen, "compressed update blob: expected exactly one member \"blob\"");
        goto out;
    }
    if (cab->files->length > max_xml_bytes) {
        snprintf(err, errlen, "compressed update blob: %u bytes once decompressed, limit %zu",
                 cab->files->length, max_xml_bytes);
        goto out;
    }
    if ((e = d->extract(d, cab->files, (const char *)(void *)&out)) != MSPACK_ERR_OK) {
        snprintf(err, errlen, "compressed update blob: %s", cab_strerror(e));
        goto out;
    }
    *xml =
        utf16le_to_utf8((const unsigned char *)(ob.data != NULL ? ob.data : ""), ob.len, xml_len);
    if (*xml == NULL) {
        snprintf(err, errlen, "compressed update blob: content is not valid UTF-16LE");
        goto out;
    }
    rc = 0;
out:
    if (cab != NULL)
        d->close(d, cab);
    mspack_destroy_cab_decompressor(d);
    buf_free(&ob);
    return rc;
}

static void cab_gerr(char *err, size_t errlen, const char *what, GError *ge)
{
    snprintf(err, errlen, "%s: %s", what, ge != NULL ? ge->message : "unknown error");
    if (ge != NULL)
        g_error_free(ge);
}

int cab_blob_encode(const char *xml, size_t len, unsigned char **cab, size_t *cab_len, char *err,
                    size_t errlen)
{
    GCabCabinet *cabinet = NULL;
    GCabFolder *folder = NULL;
    GCabFile *file = NULL;
    GBytes *bytes = NULL;
    GOutputStream *os = NULL;
    GError *ge = NULL;
    unsigned char *u16;
    size_t u16_len;
    int rc = -1;

    *cab = NULL;
    *cab_len = 0;
    if ((u16 = utf8_to_utf16le(xml, len, &u16_len)) == NULL) {
        snprintf(err, errlen, "update xml is not valid UTF-8");
        return -1;
    }
    bytes = g_bytes_new_take(u16, u16_len);
    cabinet = gcab_cabinet_new();
    folder = gcab_folder_new(GCAB_COMPRESSION_MSZIP);
    file = gcab_file_new_with_bytes("blob", bytes);
    if (!gcab_folder_add_file(folder, file, FALSE, NULL, &ge) ||
        !gcab_cabinet_add_folder(cabinet, folder, &ge)) {
        cab_gerr(err, errlen, "cannot build the blob cabinet", ge);
        goto out;
    }
    os = g_memory_output_stream_new_resizable();
    if (!gcab_cabinet_write_simple(cabinet, os, NULL, NULL, NULL, &ge) ||
        !g_output_stream_close(os, NULL, &ge)) {
        cab_gerr(err, errlen, "cannot write the blob cabinet", ge);
        goto out;
    }
    *cab_len = g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(os));
    *cab = xmalloc(*cab_len > 0 ? *cab_len : 1);
    memcpy(*cab, g_memory_output_stream_get_data(G_MEMORY_OUTPUT_STREAM(os)), *cab_len);
    rc = 0;
out:
    if (os != NULL)
        g_object_unref(os);
    if (file != NULL)
        g_object_unref(file);
    if (folder != NULL)
        g_object_unref(folder);
    if (cabinet != NULL)
        g_object_unref(cabinet);
    g_bytes_unref(bytes);
    return rc;
}

int cab_write(const char *cab_path, const char *const *names, const char *const *src_paths,
              size_t n, char *err, size_t errlen)
{
    GCabCabinet *cabinet = gcab_cabinet_new();
    GCabFolder *folder = gcab_folder_new(GCAB_COMPRESSION_MSZIP);
    GFile *out = NULL;
    GOutputStream *os = NULL;
    GError *ge = NULL;
    char *tmp = xasprintf("%s.tmp%ld", cab_path, (long)getpid());
    size_t i;
    int rc = -1;

    for (i = 0; i < n; i++) {
        GFile *src = g_file_new_for_path(src_paths[i]);
        GCabFile *f = gcab_file_new_with_file(names[i], src);
        gboolean ok = gcab_folder_add_file(folder, f, FALSE, NULL, &ge);
        g_object_unref(f);
        g_object_unref(src);
        if (!ok) {
            cab_gerr(err, errlen, "cannot add a file to the cabinet", ge);
            goto out;
        }
    }
    if (!gcab_cabinet_add_folder(cabinet, folder, &ge)) {
        cab_gerr(err, errlen, "cannot build the cabinet", ge);
        goto out;
    }
    out = g_file_new_for_path(tmp);
    os = G_OUTPUT_STREAM(g_file_replace(out, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &ge));
    if (os == NULL) {
        cab_gerr(err, errlen, "cannot create the cabinet file", ge);
        goto out;
    }
    if (!gcab_cabinet_write_simple(cabinet, os, NULL, NULL, NULL, &ge) ||
        !g_output_stream_close(os, NULL, &ge)) {
        cab_gerr(err, errlen, "cannot write the cabinet", ge);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, cab_path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, cab_path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (os != NULL)
        g_object_unref(os);
    if (out != NULL)
        g_object_unref(out);
    g_object_unref(folder);
    g_object_unref(cabinet);
    free(tmp);
    return rc;
}
