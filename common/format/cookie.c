/*
 * cookie: AES-256-GCM sealing of authorization cookies and cookies (see cookie.h).
 * Wire layout: version(1)=1 | kind(1) | server id(16) | nonce(12) | ciphertext | tag(16);
 * AAD = label of the kind + the 18 header bytes; plaintext = dss guid(16) | issued(8) |
 * expires(8) | proto major(2) | proto minor(2) | ngroups(2) | groups(16 each), big-endian.
 */
#include "cookie.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "log.h"

#define COOKIE_VERSION 1
#define COOKIE_HDR     18
#define COOKIE_NONCE   12
#define COOKIE_TAG     16
#define COOKIE_FIXED   (16 + 8 + 8 + 2 + 2 + 2)

static const char *cookie_label(enum cookie_kind kind)
{
    switch (kind) {
    case COOKIE_AUTH:
        return "wsusd-authorization-cookie-v1";
    case COOKIE_CLIENT_AUTH:
        return "wsusd-client-authorization-cookie-v1";
    case COOKIE_CLIENT:
        return "wsusd-client-cookie-v1";
    case COOKIE_SESSION:
        break;
    }
    return "wsusd-cookie-v1";
}

static void cookie_put64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static int64_t cookie_get64(const unsigned char *p)
{
    uint64_t u = 0;
    int i;

    for (i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
}

static void cookie_put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static unsigned cookie_get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static int cookie_aad(EVP_CIPHER_CTX *c, enum cookie_kind kind, const unsigned char *hdr)
{
    const char *label = cookie_label(kind);
    int n;

    return EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)label, (int)strlen(label)) == 1 &&
           EVP_CipherUpdate(c, NULL, &n, hdr, COOKIE_HDR) == 1;
}

int cookie_seal(const unsigned char key[32], enum cookie_kind kind,
                const struct cookie_claims *claims, unsigned char *out, size_t outmax,
                size_t *outlen)
{
    unsigned char pt[COOKIE_FIXED + 16 * COOKIE_MAX_GROUPS];
    EVP_CIPHER_CTX *c = NULL;
    size_t ptlen, i;
    int n, fin, rc = -1;

    if (claims->ngroups > COOKIE_MAX_GROUPS)
        return -1;
    ptlen = COOKIE_FIXED + 16 * claims->ngroups;
    if (outmax < COOKIE_HDR + COOKIE_NONCE + ptlen + COOKIE_TAG)
        return -1;
    memcpy(pt, claims->dss_guid, 16);
    cookie_put64(pt + 16, claims->issued);
    cookie_put64(pt + 24, claims->expires);
    cookie_put16(pt + 32, claims->proto_major);
    cookie_put16(pt + 34, claims->proto_minor);
    cookie_put16(pt + 36, (unsigned)claims->ngroups);
    for (i = 0; i < claims->ngroups; i++)
        memcpy(pt + COOKIE_FIXED + 16 * i, claims->groups[i], 16);

    out[0] = COOKIE_VERSION;
    out[1] = (unsigned char)kind;
    memcpy(out + 2, claims->uss_guid, 16);
    if (RAND_bytes(out + COOKIE_HDR, COOKIE_NONCE) != 1) {
        log_warnx("cannot get random bytes for a cookie nonce");
        goto out;
    }
    c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, COOKIE_NONCE, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, out + COOKIE_HDR) != 1 ||
        !cookie_aad(c, kind, out) ||
        EVP_EncryptUpdate(c, out + COOKIE_HDR + COOKIE_NONCE, &n, pt, (int)ptlen) != 1 ||
        EVP_EncryptFinal_ex(c, out + COOKIE_HDR + COOKIE_NONCE + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, COOKIE_TAG,
                            out + COOKIE_HDR + COOKIE_NONCE + ptlen) != 1) {
        log_warnx("cannot seal a cookie (OpenSSL AES-256-GCM failed)");
        goto out;
    }
    *outlen = COOKIE_HDR + COOKIE_NONCE + ptlen + COOKIE_TAG;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(pt, sizeof(pt));
    return rc;
}

enum cookie_status cookie_open(const unsigned char key[32], enum cookie_kind kind,
                               const unsigned char own_id[16], const unsigned char *data,
                               size_t len, int64_t now, struct cookie_claims *claims)
{
    unsigned char pt[COOKIE_FIXED + 16 * COOKIE_MAX_GROUPS];
    unsigned char tag[COOKIE_TAG];
    EVP_CIPHER_CTX *c = NULL;
    struct cookie_claims cl;
    size_t ctlen, i;
    int n, fin;
    enum cookie_status st = COOKIE_BAD;

    if (data == NULL || len < COOKIE_HDR + COOKIE_NONCE + COOKIE_FIXED + COOKIE_TAG ||
        len > COOKIE_HDR + COOKIE_NONCE + sizeof(pt) + COOKIE_TAG)
        return COOKIE_BAD;
    if (data[0] != COOKIE_VERSION || data[1] != (unsigned char)kind)
        return COOKIE_BAD;
    ctlen = len - COOKIE_HDR - COOKIE_NONCE - COOKIE_TAG;
    if ((ctlen - COOKIE_FIXED) % 16 != 0)
        return COOKIE_BAD;
    if (memcmp(data + 2, own_id, 16) != 0)
        return COOKIE_FOREIGN;
    memcpy(tag, data + len - COOKIE_TAG, COOKIE_TAG);
    c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, COOKIE_NONCE, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, key, data + COOKIE_HDR) != 1 ||
        !cookie_aad(c, kind, data) ||
        EVP_DecryptUpdate(c, pt, &n, data + COOKIE_HDR + COOKIE_NONCE, (int)ctlen) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, COOKIE_TAG, tag) != 1 ||
        EVP_DecryptFinal_ex(c, pt + n, &fin) != 1)
        goto out;
    memset(&cl, 0, sizeof(cl));
    memcpy(cl.dss_guid, pt, 16);
    memcpy(cl.uss_guid, data + 2, 16);
    cl.issued = cookie_get64(pt + 16);
    cl.expires = cookie_get64(pt + 24);
    cl.proto_major = cookie_get16(pt + 32);
    cl.proto_minor = cookie_get16(pt + 34);
    cl.ngroups = cookie_get16(pt + 36);
    if (cl.ngroups > COOKIE_MAX_GROUPS || COOKIE_FIXED + 16 * cl.ngroups != ctlen)
        goto out;
    for (i = 0; i < cl.ngroups; i++)
        memcpy(cl.groups[i], pt + COOKIE_FIXED + 16 * i, 16);
    *claims = cl;
    st = now >= cl.expires ? COOKIE_EXPIRED : COOKIE_OK;
out:
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(pt, sizeof(pt));
    return st;
}
