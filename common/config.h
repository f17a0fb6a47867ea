/*
 * config: the bootstrap configuration file (INI), one table for every option (Redis style).
 * Only what is needed before the database is reachable lives here: listen addresses, database
 * connection, directories, TLS files. Admin settings (upstream, products, ...) live in the
 * database (see settings.h). Parsing never exits: errors come back as a message for the admin.
 */
#ifndef WSUS_CONFIG_H
#define WSUS_CONFIG_H

#include "attr.h"
#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/wsusd/wsusd.conf"

struct config {
    char *path; /* file it was read from */
    /* [server] */
    char *listen;                     /* host:port of the protocol + content listener */
    char *https_listen;               /* host:port of the optional HTTPS listener; "" = off */
    char *tls_cert;                   /* PEM certificate for https_listen */
    char *tls_key;                    /* PEM key for https_listen */
    char *user;                       /* drop privileges to this user after binding; "" = stay */
    long max_request_bytes;           /* largest SOAP request body accepted */
    long max_rollup_request_bytes;    /* largest reporting rollup request body accepted */
    long threads;                     /* requests that may use the database at once */
    long max_connections;             /* open HTTP connections at most */
    char *threading;                  /* "pool" (epoll + workers) or "per-connection" */
    long max_connections_per_address; /* per client address (protocol listeners); 0 = off */
    long header_timeout;              /* s from accept to complete request headers */
    long body_timeout;                /* s from the headers to the complete body */
    long keepalive_timeout;           /* s an idle keep-alive connection is kept */
    long idle_timeout;                /* s without a byte either way */
    char *public_url;                 /* how downstreams reach us; "" = derived from listen */
    char *name;            /* this front-end's name; "" = config_front_end_name's default */
    char *trusted_proxies; /* load balancers whose X-Forwarded-For is believed; "" = none */
    /* [admin] */
    char *admin_listen;       /* host:port of the JSON admin API (loopback unless TLS) */
    char *admin_tls_cert;     /* PEM certificate: the admin listener speaks HTTPS; "" = HTTP */
    char *admin_tls_key;      /* PEM key for admin_tls_cert */
    char *token_file;         /* admin token, 0600; "" = <state_dir>/admin.token */
    char *console_dir;        /* the web console's static files; "" = WSUSD_CONSOLE_DIR */
    char *metrics_token_file; /* a second token that may only GET /metrics; "" = none */
    /* [database] */
    char *conninfo; /* libpq conninfo; "" = private cluster under state_dir */
    /* [storage] */
    char *state_dir;
    char *content_dir; /* "" = <state_dir>/content */
    /* [log] */
    char *log_level; /* error | warn | info | debug */
};

/* Fill cfg with every default. Always succeeds; free with config_free(). */
void config_defaults(struct config *cfg);
/*
 * Read path over the defaults already in cfg. A missing file is an error unless
 * missing_ok is set (then defaults stay). On error returns -1 and writes into err one line
 * per mistake ("file:line: message", newline-separated; every mistake of the file, as far as
 * err holds them). Derived defaults (token_file, content_dir) are resolved at the end; then
 * an [admin] listen outside loopback without [admin] tls_cert and tls_key is refused.
 */
int config_load(struct config *cfg, const char *path, int missing_ok, char *err,
                size_t errlen) WSUS_MUST_USE;
void config_free(struct config *cfg);
/* Split "host:port" ("[v6]:port" too). 0 or -1 with a message in err. host is malloc'd. */
int config_split_hostport(const char *hp, char **host, int *port, char *err,
                          size_t errlen) WSUS_MUST_USE;
/*
 * This wsusd's name among several on one database (front-ends behind a load balancer): [server]
 * name, or "<host name>:<port of [server] listen>" when that is empty. Cut to outlen - 1 bytes.
 */
void config_front_end_name(const struct config *cfg, char *out, size_t outlen);
/* Call fn(section, key, arg) for every option whose value differs between a and b (for a
 * reload: what changed in the file). */
void config_each_changed(const struct config *a, const struct config *b,
                         void (*fn)(const char *section, const char *key, void *arg), void *arg);

/* Is host (no brackets) a loopback address: 127.0.0.0/8, ::1 or localhost? */
int config_is_loopback(const char *host);

/* Length of the admin token wsusd generates: 32 random bytes as hex. */
#define CONFIG_TOKEN_LEN 64

/*
 * Read the admin token from path into out (outlen > CONFIG_TOKEN_LEN). Refused: a file that
 * is not regular, that group or others may read or write (the message says chmod 600), or
 * whose first line is not CONFIG_TOKEN_LEN hex digits. 0, or -1 with a one-line message in
 * err; when the file cannot be opened the message ends with open_hint ("" for none).
 */
int config_read_token(const char *path, const char *open_hint, char *out, size_t outlen, char *err,
                      size_t errlen) WSUS_MUST_USE;

/*
 * 1 (and a one-line warning with the fix in msg) when the config file can be read by every
 * user and [database] conninfo holds a password; 0 otherwise.
 */
int config_exposed_secret(const struct config *cfg, char *msg, size_t msglen);

/*
 * Set "key = value" in [section] of the config file at path, keeping every other line and
 * comment: an existing key line of that section is replaced, else the line is added after the
 * section header, else the section is appended. The file is rewritten atomically (a temporary
 * file with the same mode and owner, fsync, rename). value must be one line. 0, or -1 with a
 * one-line message in err (the file is unchanged).
 */
int config_set_option(const char *path, const char *section, const char *key, const char *value,
                      char *err, size_t errlen) WSUS_MUST_USE;

/* Print every option with its default and its documentation, as a sample config file. */
void config_print_sample(void *stream);

#endif
