/*
 * uss: the MS-WSUSSS client a downstream uses to talk to its upstream server (USS): another
 * wsusd, a Windows WSUS or Microsoft Update. It builds SOAP 1.1 requests, sends them with
 * libcurl (one multi handle, so several calls can be in flight and share connections), parses
 * the answers while they stream in (soapread.h: order-tolerant, both blob forms, faults) and
 * turns every failure into one line an admin understands. It owns the authorization state
 * (auth cookie, cookie, renewal before expiry). It does not store anything, decompress update
 * blobs (the cabinet bytes are handed over as received) or decide what to fetch (sync.c does).
 * Not thread-safe: one struct uss per thread.
 */
#ifndef WSUS_USS_H
#define WSUS_USS_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rollup_summary.h"

#define USS_MICROSOFT_UPDATE_URL "https://sws.update.microsoft.com"
/*
 * Tests only: when this environment variable is set (read by uss_new), upstream
 * "microsoft-update" goes to its URL instead (a local stand-in); wsusd logs a warning each time.
 */
#define USS_TEST_MU_URL_ENV  "WSUSD_TEST_MU_URL"
#define USS_PROTOCOL_VERSION "1.20"
/* Bounds on what an upstream may send us. */
#define USS_MAX_IDS    4000000     /* identities in one GetRevisionIdList answer */
#define USS_MAX_TEXT   (64u << 20) /* one element's text (an update document) */
#define USS_MAX_ANCHOR 256
/* Whole answer of a small call (authorization, GetConfigData, DownloadFiles) and of a list. */
#define USS_MAX_SMALL_ANSWER (16u << 20)
#define USS_MAX_ANSWER       ((size_t)1 << 30)
/* An answer or download that delivers less than this in one stall window has stalled. */
#define USS_MIN_WINDOW_BYTES 1024

/* Operations, for counters and messages. */
enum uss_op {
    USS_OP_GET_AUTH_CONFIG,
    USS_OP_GET_AUTHORIZATION_COOKIE,
    USS_OP_GET_COOKIE,
    USS_OP_GET_CONFIG_DATA,
    USS_OP_GET_REVISION_ID_LIST,
    USS_OP_GET_UPDATE_DATA,
    USS_OP_GET_DEPLOYMENTS,
    USS_OP_DOWNLOAD_FILES,
    /* the reporting web service (MS-WSUSSS 3.1.4.13-17), protocol >= 1.3 on both ends */
    USS_OP_GET_ROLLUP_CONFIGURATION,
    USS_OP_ROLLUP_DOWNSTREAM_SERVERS,
    USS_OP_ROLLUP_COMPUTERS,
    USS_OP_GET_OUT_OF_SYNC_COMPUTERS,
    USS_OP_ROLLUP_COMPUTER_STATUS,
    USS_OP_COUNT
};
/* "GetUpdateData", ... */
const char *uss_op_name(enum uss_op op);

enum uss_err_kind {
    USS_OK = 0,
    USS_ERR_NET,   /* could not connect, connection cut, timeout, TLS, proxy */
    USS_ERR_HTTP,  /* an HTTP status that is neither 200 nor a SOAP fault */
    USS_ERR_FAULT, /* a SOAP fault; code holds its ErrorCode ("" if none) */
    USS_ERR_PROTO  /* an answer we cannot use (not XML, missing parts, out of bounds) */
};

struct uss_error {
    enum uss_err_kind kind;
    char code[64];    /* fault ErrorCode, or for USS_ERR_NET the curl error name or one of
                         ConnectionRefused, CouldNotResolve, NoAnswer, Stalled, TLS, TLSVerify
                         (the certificate failed verification: retrying cannot help) */
    long http_status; /* 0 when no answer arrived */
    char msg[768];    /* one line for the admin, naming the upstream and the operation */
};

struct uss_options {
    const char *url;            /* "http://host:8530" (path ignored) or "microsoft-update" */
    const char *content_url;    /* base for /Content/; NULL = derived from url (WSUSSS 2.2) */
    const char *account_name;   /* our FQDN, sent as accountName */
    const char *account_guid;   /* our server id, sent as accountGuid */
    const char *proxy_url;      /* "http://proxy:3128" or NULL */
    const char *proxy_user;     /* NULL = no proxy authentication; "DOMAIN\\user" allowed */
    const char *proxy_password; /* never logged */
    const char *proxy_auth;     /* "basic" | "digest" | "ntlm" | "any" (default any) */
    const char *ca_file;        /* PEM CA certificates trusted in addition to the system store */
    long connect_timeout_s;     /* TCP (+TLS) connect; default 30 */
    long answer_timeout_s;      /* from the request to the first byte of the answer; default 60 */
    long stall_timeout_s;       /* then at least USS_MIN_WINDOW_BYTES per this many s; default 60 */
    const atomic_int *cancel;   /* non-zero: every transfer stops at once; may be NULL */
};

struct uss_id {
    char update_id[37]; /* lower case, hyphenated */
    int32_t rev;
};

struct uss_language {
    int lcid;
    char short_name[24];
    char long_name[64];
    int enabled;
};

struct uss_config {
    int catalog_only_sync;
    int lazy_sync;
    int hosts_psf_files;
    int max_updates_per_request; /* clamped to 1..1000; 100 when absent */
    int max_decryption_per_request;
    char new_config_anchor[USS_MAX_ANCHOR];
    char protocol_version[16];
    struct uss_language *languages; /* NULL when the list came back empty (unchanged) */
    size_t nlanguages;
    char *hierarchy;    /* X-Wsusd-Hierarchy header (common/hierarchy.h) as received, or NULL */
    char *subscription; /* X-Wsusd-Subscription header (common/hierarchy.h), or NULL */
};
void uss_config_free(struct uss_config *c);

struct uss_idd {
    const char *id; /* GUID */
    int delta;
};

struct uss_filter {
    int get_config;
    const char *anchor; /* NULL on the first call */
    const struct uss_idd *categories;
    size_t ncategories;
    const struct uss_idd *classifications;
    size_t nclassifications;
    const long *languages; /* LCIDs for the Languages filter (updates only); none: all */
    size_t nlanguages;
};

/*
 * One identity of a GetRevisionIdList answer, compact: the UpdateID's 16 bytes and the
 * revision (20 bytes against the 44 of struct uss_id, so a first sync's list of 1,000,000
 * takes 20 MB of the downstream's memory). uss_idlist_get gives the text form.
 */
struct uss_idc {
    unsigned char uuid[16];
    int32_t rev;
};

struct uss_idlist {
    struct uss_idc *ids;
    size_t n, cap;
    char anchor[USS_MAX_ANCHOR];
};
void uss_idlist_free(struct uss_idlist *l);
/* Append update_id (a GUID, either case) revision rev. 0, or -1 when update_id is not a GUID
 * or the list holds USS_MAX_IDS already. */
int uss_idlist_add(struct uss_idlist *l, const char *update_id, int32_t rev);
/* The identity at i (< l->n), its UpdateID in lower case hyphenated form, into out. */
void uss_idlist_get(const struct uss_idlist *l, size_t i, struct uss_id *out);

struct uss_update {
    struct uss_id id;
    char *xml;          /* XmlUpdateBlob (UTF-8), or NULL */
    unsigned char *cab; /* XmlUpdateBlobCompressed as received (a cabinet), or NULL */
    size_t cab_len;
    unsigned char (*digests)[20]; /* FileDigestList */
    size_t ndigests;
};

struct uss_fileurl {
    unsigned char sha1[20];
    char *mu_url; /* NULL when absent */
};

struct uss_update_data {
    struct uss_update *updates;
    size_t n, cap;
    struct uss_fileurl *urls;
    size_t nurls, capurls;
};
/* Free everything inside (the struct itself is the caller's). NULL is fine. */
void uss_update_data_free(struct uss_update_data *d);
/* Release one update's memory (used when items are handed over one by one). */
void uss_update_free(struct uss_update *u);

struct uss_group {
    char id[37], parent_id[37];
    char *name;
    int is_builtin;
};
struct uss_deployment {
    char update_id[37];
    int32_t rev;
    int action;
    char *admin_name;
    char deadline[40];
    int is_assigned;
    char go_live_time[40];
    char deployment_guid[37];
    char target_group_id[37];
    int download_priority;
};
struct uss_deployments {
    char anchor[USS_MAX_ANCHOR];
    struct uss_group *groups;
    size_t ngroups, capgroups;
    struct uss_deployment *deployments;
    size_t ndeployments, capdeployments;
    char (*dead)[37];
    size_t ndead, capdead;
    char (*hidden)[37];
    size_t nhidden, caphidden;
    char (*eulas)[37];
    size_t neulas, capeulas;
};
void uss_deployments_free(struct uss_deployments *d);

struct uss;
struct uss_call;

/*
 * New client. NULL with a message in err->msg when the URL is unusable or o->ca_file cannot be
 * read. The certificates of o->ca_file are added to the system trust store (libcurl's default
 * CA bundle/path), never used instead of it.
 */
struct uss *uss_new(const struct uss_options *o, struct uss_error *err);
/* NULL is fine. In-flight calls must have been freed. */
void uss_free(struct uss *u);
/* The upstream root URL as configured ("http://h:8530"), without credentials. */
const char *uss_url(const struct uss *u);
/* Base URL for content downloads ("http://h:8530"), no trailing slash. */
const char *uss_content_url(const struct uss *u);
/* How many calls of op completed (any outcome) since uss_new. */
unsigned long uss_calls(const struct uss *u, enum uss_op op);
/*
 * Apply proxy, TLS verification (system store plus ca-file) and connect timeout to another
 * easy handle (downloads). u must outlive the handle's transfers.
 */
void uss_curl_setup(const struct uss *u, CURL *easy);
/*
 * 1 when a failed TLS handshake (res with curl's error text, NULL is fine) means the server
 * answered in plain HTTP: an https:// URL on an HTTP port. 0 otherwise.
 */
int uss_tls_got_plain_http(CURLcode res, const char *curl_err);
/*
 * After a failed TLS handshake with https_url whose text says nothing (the server closed the
 * connection): 1 when the same host and port answer a plain HTTP request (one HEAD /, at
 * most 10 s), 0 otherwise or when a proxy is set (its answer would prove nothing).
 */
int uss_port_answers_http(const struct uss *u, const char *https_url);

/*
 * The watch of one transfer: a curl progress callback that aborts it (CURLE_ABORTED_BY_CALLBACK)
 * when no answer arrived within the answer timeout, when less than min_bytes arrived in one
 * stall window after that, or when the client's cancel flag is set; why says which. There is
 * no total time limit, so a long download at a steady rate is never cut. The struct must stay
 * alive (not move) while the transfer runs.
 */
enum uss_watch_why { USS_WATCH_OK, USS_WATCH_NO_ANSWER, USS_WATCH_STALLED, USS_WATCH_CANCELLED };
struct uss_watch {
    const struct uss *u;
    CURL *easy;
    long min_bytes;
    int answered;
    double start, window_start; /* CLOCK_MONOTONIC seconds */
    curl_off_t window_bytes;
    enum uss_watch_why why;
};
/* Install the watch on easy (min_bytes <= 0: USS_MIN_WINDOW_BYTES). */
void uss_watch_start(const struct uss *u, CURL *easy, struct uss_watch *w, long min_bytes);
/* The timeouts in effect (for messages). */
long uss_answer_timeout(const struct uss *u);
long uss_stall_timeout(const struct uss *u);
/* Whether the client's cancel flag is set. */
int uss_cancelled(const struct uss *u);

/*
 * Authorization (WSUSSS 3.2.4.1): GetAuthConfig -> GetAuthorizationCookie at the relative
 * ServiceUrl (same origin only) -> GetCookie. uss_ensure_cookie() does nothing while the
 * cookie has more than 5 minutes left, renews it with GetCookie otherwise, and redoes the
 * whole handshake when the upstream refuses the authorization cookie. 0 or -1 (err filled).
 */
int uss_authorize(struct uss *u, struct uss_error *err);
int uss_ensure_cookie(struct uss *u, struct uss_error *err);
/* Forget the cookie (after an InvalidCookie fault) so the next ensure re-authorizes. */
void uss_drop_cookie(struct uss *u);

/* Blocking calls. Each returns 0, or -1 with err filled; outputs are the caller's to free. */
int uss_get_config_data(struct uss *u, const char *config_anchor, struct uss_config *out,
                        struct uss_error *err);
int uss_get_revision_ids(struct uss *u, const struct uss_filter *f, struct uss_idlist *out,
                         struct uss_error *err);
int uss_get_update_data(struct uss *u, const struct uss_id *ids, size_t n,
                        struct uss_update_data *out, struct uss_error *err);
int uss_get_deployments(struct uss *u, const char *deployment_anchor, const char *sync_anchor,
                        struct uss_deployments *out, struct uss_error *err);
/*
 * DownloadFiles for at most 100 SHA-1 digests: 0 when the upstream knows them all (it queues
 * their download); 1 when it answers FileDigestsMissing (MS-WSUSSS 3.1.4.11: digests it does
 * not know, the update was removed there), with gone[i] = 1 for each digest it names (all of
 * them when it names none it was asked for) and 0 for the others, which it queued; -1 on any
 * other failure (err). gone holds n bytes and may be NULL.
 */
int uss_download_files(struct uss *u, const unsigned char (*sha1)[20], size_t n,
                       unsigned char *gone, struct uss_error *err);

/*
 * Asynchronous GetUpdateData, for several batches in flight: uss_call_update_data() builds
 * and starts the call (on the client's multi handle, with the current cookie);
 * uss_wait() drives all transfers for up to timeout_ms; uss_call_done() says whether a call
 * finished; uss_call_result() then moves the parsed answer into out (0) or fills err (-1).
 * uss_call_free() cancels a call still in flight. The blocking calls above may run while
 * asynchronous ones are in flight.
 */
struct uss_call *uss_call_update_data(struct uss *u, const struct uss_id *ids, size_t n);
int uss_wait(struct uss *u, int timeout_ms);
int uss_call_done(const struct uss_call *c);
int uss_call_result(struct uss_call *c, struct uss_update_data *out, struct uss_error *err);
void uss_call_free(struct uss_call *c);

/* ---------- reporting rollup (MS-WSUSSS 3.1.4.13-3.1.4.17, the DSS side of 3.2.4.5) ---------- */

/* Windows' batch sizes (MS-WSUSSS notes <46>-<49>): never more per request, whatever the USS says.
 */
#define USS_ROLLUP_SERVERS_BATCH   5000 /* client summaries per RollupDownstreamServers */
#define USS_ROLLUP_COMPUTERS_BATCH 1500 /* ComputerRollupInfo per RollupComputers */
#define USS_ROLLUP_OUT_OF_SYNC_BATCH                                                               \
    20000                           /* ComputerLastRollupNumber per GetOutOfSyncComputers          \
                                     */
#define USS_ROLLUP_STATUS_BATCH 500 /* ComputerStatusRollupInfo per RollupComputerStatus */
/* "Never" in the rollup's dateTime fields (MS-WSUSSS 3.1.4.14.3.2). */
#define USS_ROLLUP_NEVER "1753-01-01T00:00:00Z"
/* Longest ComputerId kept (a WUSP client id is a GUID; Windows allows 256 characters). */
#define USS_ROLLUP_MAX_COMPUTER_ID 256
/* The 18 counters of DownstreamServerRollupServerSummary, in the schema's order. */
#define USS_ROLLUP_SUMMARY_FIELDS ROLLUP_SUMMARY_COUNT
/* "UpdateCount", ... "ComputersUpToDateCount" (i < USS_ROLLUP_SUMMARY_FIELDS). */
const char *uss_rollup_summary_name(int i);

/* GetRollupConfigurationResult; the batch sizes already capped to Windows' sizes (>= 1). */
struct uss_rollup_config {
    int do_detailed_rollup;
    char reset_guid[37];
    char server_id[37]; /* the USS */
    int max_servers, max_computers, max_out_of_sync, max_status;
};

/* One DownstreamServerRollupInfo (times are xsd:dateTime text, USS_ROLLUP_NEVER for never). */
struct uss_rollup_server {
    char server_id[37];
    char parent_id[37]; /* all zeros: the USS the request goes to */
    char name[256];
    char version[33];
    int is_replica;
    char last_sync[40], last_rollup[40];
    long summary[USS_ROLLUP_SUMMARY_FIELDS];
};

/* One ComputerRollupInfo; the Details only when with_details. */
struct uss_rollup_computer {
    char id[USS_ROLLUP_MAX_COMPUTER_ID + 1];
    char parent_id[37]; /* the server the computer gets its updates from */
    char last_sync[40], last_reported_status[40], last_reboot[40], last_inventory[40];
    int last_sync_result; /* 0 unknown, 1 succeeded, 2 failed */
    int with_details;
    char ip[64], name[256], os_locale[16], os_description[256];
    char make[65], model[65], bios_name[65], bios_version[65], bios_date[40];
    char architecture[51], client_version[21];
    int os_major, os_minor, os_build, sp_major, sp_minor;
    int suite_mask, old_product_type, new_product_type, system_metrics;
    char groups[8][37]; /* TargetGroupIdList */
    int ngroups;
};

/* A ChangedComputer of a RollupComputers answer. */
struct uss_changed_computer {
    char id[USS_ROLLUP_MAX_COMPUTER_ID + 1];
    int deleted; /* 1 Deleted (forget it), 0 NewParent (send its details next time) */
};
struct uss_changed_computers {
    struct uss_changed_computer *v;
    size_t n, cap;
};
/* Free the list inside (the struct is the caller's); NULL is fine. */
void uss_changed_computers_free(struct uss_changed_computers *l);

/* One ComputerLastRollupNumber. */
struct uss_rollup_number {
    const char *computer_id;
    int rollup_number;
};
/* GetOutOfSyncComputersResult: the computer ids (each one of those asked about). */
struct uss_computer_ids {
    char (*ids)[USS_ROLLUP_MAX_COMPUTER_ID + 1];
    size_t n, cap;
};
/* Free the list inside (the struct is the caller's); NULL is fine. */
void uss_computer_ids_free(struct uss_computer_ids *l);

/* One ComputerStatusRollupUpdateStatus. */
struct uss_update_state {
    char update_id[37];
    int state; /* 0-6, MS-WSUSSS 3.1.1 Update Status Table */
    char changed[40];
};
/* One ComputerStatusRollupInfo. */
struct uss_rollup_status {
    char computer_id[USS_ROLLUP_MAX_COMPUTER_ID + 1];
    char instance_id[37];
    char effective_detection[40];
    int rollup_number; /* >= 1 */
    int full;
    const struct uss_update_state *states;
    size_t nstates;
};

/*
 * The five calls of the reporting web service (/ReportingWebService/ReportingWebService.asmx),
 * each with the session's cookie (a wsusd USS identifies the downstream by it; a Windows USS
 * ignores it), or the fixed cookie of MS-WSUSSS 3.2.4.5 before any authorization. 0, or -1 with err
 * filled; an upstream without the service answers HTTP 404 (err->http_status). Outputs are the
 * caller's to free. The callers keep to the batch sizes of the configuration; the answers are
 * bounded by what was asked (an answer naming more computers than the request is refused).
 */
int uss_get_rollup_configuration(struct uss *u, struct uss_rollup_config *out,
                                 struct uss_error *err);
int uss_rollup_downstream_servers(struct uss *u, const struct uss_rollup_server *v, size_t n,
                                  struct uss_error *err);
int uss_rollup_computers(struct uss *u, const struct uss_rollup_computer *v, size_t n,
                         struct uss_changed_computers *out, struct uss_error *err);
int uss_get_out_of_sync_computers(struct uss *u, const char *parent_id,
                                  const struct uss_rollup_number *v, size_t n,
                                  struct uss_computer_ids *out, struct uss_error *err);
/* *accepted = RollupComputerStatusResult (0: the USS is busy, wait a minute and resend). */
int uss_rollup_computer_status(struct uss *u, const char *parent_id,
                               const struct uss_rollup_status *v, size_t n, int *accepted,
                               struct uss_error *err);
/* 1 when the upstream is Microsoft Update (which has no reporting web service), 0 otherwise. */
int uss_is_microsoft_update(const struct uss *u);

/* Parse helper shared with the tests (GUIDs and base64 go through strutil.h). */
/* "2026-10-04T20:33:26.65455Z" -> time_t (UTC). -1 on junk. */
time_t uss_parse_datetime(const char *s);

/*
 * Parse a complete answer body of op (for tests and replay): status is the HTTP status.
 * out must point to the result struct of op (uss_config, uss_idlist, uss_update_data,
 * uss_deployments, uss_rollup_config, uss_changed_computers, uss_computer_ids, an int for
 * RollupComputerStatus) or NULL for answers without one; the rollup answers may name at most
 * USS_ROLLUP_OUT_OF_SYNC_BATCH computers here. 0 or -1 with err filled.
 */
int uss_parse_answer(struct uss *u, enum uss_op op, long status, const char *body, size_t len,
                     void *out, struct uss_error *err);

#endif
