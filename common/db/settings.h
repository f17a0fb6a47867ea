/*
 * settings: the typed admin settings WSUS keeps in its database (upstream, products, schedule,
 * proxy, ...), stored as text in the `setting` table. One table lists every key with its type,
 * default, validation and documentation (Redis style); nothing else in the program spells a
 * key's rules. Validation is split from storage so it can be tested without a database.
 * It does not hold bootstrap options (config.h) nor this server's identity (server_id,
 * cookie_key: db.h), and it never logs or returns a secret's value.
 */
#ifndef WSUS_SETTINGS_H
#define WSUS_SETTINGS_H

#include <libpq-fe.h>
#include <stddef.h>

enum settings_type {
    SETTINGS_TEXT,      /* one line of text */
    SETTINGS_ENUM,      /* one of the choices */
    SETTINGS_UPSTREAM,  /* http://host:port | https://host:port | microsoft-update | "" */
    SETTINGS_HOSTNAME,  /* a DNS name */
    SETTINGS_GUID_LIST, /* comma-separated GUIDs (lower case, no duplicates) */
    SETTINGS_LANG_LIST, /* comma-separated language short names (the language table) */
    SETTINGS_SCHEDULE,  /* manual | "N/day from HH:MM" */
    SETTINGS_URL,       /* http(s)://host[:port] or "" */
    SETTINGS_PATH,      /* absolute path of a readable PEM certificate file, or "" */
    SETTINGS_HOST_LIST, /* comma-separated host names / addresses / CIDR, "" = any */
    SETTINGS_INT,       /* a decimal integer within the range "MIN..MAX" held in choices */
};

struct settings_def {
    const char *key;
    enum settings_type type;
    const char *def;      /* default value; NULL = computed (account-name: the host's FQDN) */
    const char *choices;  /* SETTINGS_ENUM: "a|b|c"; SETTINGS_INT: "MIN..MAX" */
    int secret;           /* never printed: shown as "(set)" or "" */
    int replica_locked;   /* inherited from the upstream in replica mode (ARCHITECTURE §5.2) */
    const char *category; /* SETTINGS_GUID_LIST: "product" or "classification" */
    const char *doc;      /* one line for `wsusctl config get` and the docs */
};

#define SETTINGS_MAX_VALUE   65536 /* bytes of one value (any type) */
#define SETTINGS_MAX_TEXT    1024  /* bytes of one SETTINGS_TEXT value (user names, passwords) */
#define SETTINGS_MAX_PATH    4096  /* bytes of one SETTINGS_PATH value */
#define SETTINGS_MAX_CA_FILE (64 << 20) /* bytes of the file a SETTINGS_PATH names */

/* Flags of settings_set(). */
#define SETTINGS_FROM_UPSTREAM                                                                     \
    0x1 /* written by the sync engine: no replica lock, no catalog check */

/* The definition of key, or NULL for an unknown key. */
const struct settings_def *settings_find(const char *key);
/* Number of defined settings, and the i-th (0 <= i < settings_count()) in table order. */
size_t settings_count(void);
const struct settings_def *settings_at(size_t i);

/*
 * The default of d as text (malloc'd, never NULL): the table default, or for account-name the
 * host's fully qualified name (gethostname + canonical name lookup; the plain host name when
 * the lookup fails).
 */
char *settings_default(const struct settings_def *d);

/*
 * Check value against d's syntax (no database, no file system except SETTINGS_PATH, which
 * must hold a PEM certificate) and
 * return its normal form (malloc'd: trimmed, GUIDs lower case, duplicates removed, ...). NULL
 * with a one-line message naming the key, the bad part and the fix in err.
 */
char *settings_normalize(const struct settings_def *d, const char *value, char *err, size_t errlen);

/*
 * Current value of key (malloc'd, never NULL for a known key): the stored value, else the
 * default. languages reads the enabled rows of the language table (the truth the protocol
 * serves). NULL for an unknown key or a database error (logged).
 */
char *settings_get(PGconn *db, const char *key);
/*
 * 1 if setting key is stored with value (case-insensitive; the default of a key not stored
 * does not count), 0 if not, def if the table cannot be read.
 */
int settings_stored_is(PGconn *db, const char *key, const char *value, int def);
/*
 * The downstream allow-lists as one text: the stored values of allowed-downstreams (the
 * admin's) and allowed_downstreams, each followed by ",", "" when neither is stored
 * (malloc'd; the caller splits it on commas and blanks). NULL on a database error.
 */
char *settings_downstream_allowlist(PGconn *db);
/*
 * The LCIDs of the languages enabled here (the language table), at most max into out, by
 * LCID: what a downstream sends as its GetRevisionIdList Languages filter. 0 on error.
 */
size_t settings_language_lcids(PGconn *db, long *out, size_t max);
/*
 * Every row of the language table, enabled or not, by LCID (what an export package lists).
 * Columns: lcid, short_name, long_name, enabled ("t"/"f"); also the LanguageUpdateList of
 * GetConfigData. The caller owns the result (PQclear); NULL on a database error (logged;
 * retried once on a connection found lost outside a transaction).
 */
PGresult *settings_languages_all(PGconn *db);
/* Is key stored (set explicitly) rather than defaulted? 1, 0, or -1 on error. */
int settings_is_set(PGconn *db, const char *key);

/*
 * Validate and store key = value in one transaction (conn must not be inside one). Beyond the
 * syntax: products/classifications must be categories of the right kind when the catalog has
 * categories at all; languages must be rows of the language table (and language.enabled is
 * updated to match); in replica mode the replica-locked keys are refused unless flags has
 * SETTINGS_FROM_UPSTREAM. An empty value for a key with a default stores the empty value
 * (use settings_reset() to go back to the default). 0, or -1 with a one-line message for the
 * admin (with the fix) in err; nothing changes on failure.
 */
int settings_set(PGconn *db, const char *key, const char *value, unsigned flags, char *err,
                 size_t errlen);
/* Forget the stored value so the default applies again (same checks as settings_set). */
int settings_reset(PGconn *db, const char *key, unsigned flags, char *err, size_t errlen);

/*
 * A warning to show the admin after key was set to value (e.g. basic proxy authentication
 * sends the password in clear text), or NULL. Static string.
 */
const char *settings_warning(const char *key, const char *value);

/* Value as it may be shown: secrets become "(set)" or "". Returns value or a static string. */
const char *settings_display(const struct settings_def *d, const char *value);

#endif
