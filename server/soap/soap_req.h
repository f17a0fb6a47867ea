/*
 * soap_req: the operations of the DSS Authorization and Server Sync web services and the
 * decoding of their request elements into bounded C structs. Decoding never fails fast: it
 * records the cookie it found (raw bytes) and the first invalid parameter (ErrorCode +
 * Message naming the parameter), so the service can check the cookie first, as the spec's
 * validation tables order it. Every list and string is bounded here; nothing a peer sends can
 * make this allocate more than a few hundred kilobytes. It does not query the database.
 */
#ifndef WSUS_SOAP_REQ_H
#define WSUS_SOAP_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "cookie.h"
#include "soap.h"

/* Limits of what one request may carry (beyond them: InvalidParameters). */
#define SOAPREQ_MAX_UPDATE_IDS     100  /* GetUpdateData: MaxNumberOfUpdatesPerRequest */
#define SOAPREQ_MAX_DECRYPTION_IDS 100  /* MaxUpdatesPerRequestInGetUpdateDecryptionData */
#define SOAPREQ_MAX_DIGESTS        100  /* DownloadFiles (spec: at most 100) */
#define SOAPREQ_MAX_FILTER_IDS     1000 /* Categories / Classifications / Languages each */
#define SOAPREQ_MAX_GUIDS          1000 /* GetRelatedRevisionsForUpdates, programKeys */
#define SOAPREQ_MAX_NAME           255  /* accountName (an FQDN) */

enum soap_service { SOAP_SVC_SYNC = 1, SOAP_SVC_DSSAUTH = 2 };

enum soap_op {
    SOAP_OP_GET_AUTH_CONFIG,
    SOAP_OP_GET_AUTHORIZATION_COOKIE,
    SOAP_OP_GET_COOKIE,
    SOAP_OP_GET_CONFIG_DATA,
    SOAP_OP_GET_REVISION_ID_LIST,
    SOAP_OP_GET_UPDATE_DATA,
    SOAP_OP_GET_UPDATE_DECRYPTION_DATA,
    SOAP_OP_DOWNLOAD_FILES,
    SOAP_OP_GET_DEPLOYMENTS,
    SOAP_OP_GET_RELATED_REVISIONS,
    SOAP_OP_PING,
};

struct soap_op_info {
    enum soap_op op;
    const char *ns;     /* namespace of the request element */
    const char *name;   /* local name of the request element */
    const char *action; /* SOAPAction URI (unquoted) */
    int services;       /* bit mask of enum soap_service that offer it */
};

/* Operation for a request element (namespace + local name) on a service, or NULL. */
const struct soap_op_info *soapreq_lookup(enum soap_service svc, const xmlNode *op);
/* The SOAPAction of an operation name on a service, for faults about unknown elements. */
const struct soap_op_info *soapreq_by_op(enum soap_op op);

struct soap_identity {
    unsigned char id[16];
    int32_t rev;
};

struct soap_id_delta {
    unsigned char id[16];
    int delta;
};

struct soap_call {
    const struct soap_op_info *info;
    /* first invalid parameter; SOAP_ERR_NONE when every parameter was fine */
    enum soap_error param_err;
    char param_msg[256];

    /* cookie (Server Sync operations that take one) */
    int cookie_present; /* element present, not nil, with EncryptedData */
    int cookie_decoded; /* EncryptedData was base64 of plausible length */
    unsigned char cookie[COOKIE_MAX_BYTES];
    size_t cookie_len;

    /* GetAuthorizationCookie */
    char *account_name;
    unsigned char account_guid[16];

    /* GetCookie */
    size_t n_auth_cookies;
    int auth_decoded;
    unsigned char auth_cookie[COOKIE_MAX_BYTES];
    size_t auth_len;
    unsigned proto_major, proto_minor;

    /* GetConfigData configAnchor, filter Anchor, GetDeployments deploymentAnchor */
    int has_anchor; /* present and non-empty */
    int64_t anchor;
    /* GetDeployments syncAnchor */
    int64_t sync_anchor;

    /* GetRevisionIdList filter */
    int get_config;
    struct soap_id_delta *categories;
    size_t ncategories;
    struct soap_id_delta *classifications;
    size_t nclassifications;
    long *languages; /* LanguageAndDelta Ids (LCIDs); none: every language */
    size_t nlanguages;

    /* GetUpdateData / GetUpdateDecryptionData */
    struct soap_identity *ids;
    size_t nids;

    /* DownloadFiles */
    unsigned char (*digests)[20];
    size_t ndigests;

    /* GetRelatedRevisionsForUpdates */
    size_t nguids;

    /* Ping */
    long ping_level;
};

/*
 * Decode the operation element env->op of operation info into call (which it initialises;
 * free with soapreq_free()). Never fails: problems land in call->param_err/param_msg and in
 * the cookie flags.
 */
void soapreq_decode(const struct soap_op_info *info, const xmlNode *op, struct soap_call *call);
void soapreq_free(struct soap_call *call);

/* "x.y" with x, y decimal (at most 5 digits each) -> 0, else -1. */
int soapreq_parse_version(const char *s, unsigned *major, unsigned *minor);
/* 1 if s is a non-empty FQDN made of letters, digits, '-', '.' (RFC 1035 2.3), at most 255. */
int soapreq_valid_fqdn(const char *s);

#endif
