/*
 * update_query: the read side of the catalog's update tables (revision, revision_prerequisite,
 * revision_bundle, revision_supersedes, revision_file, file, deployment, declined_update) for
 * finding updates as admins do: by id, by KB number, by title words (all of them, any order),
 * by product or classification name or id, approved/declined/superseded, with the size of
 * each update's files. It changes nothing; approvals and declines are written by
 * common/db/approvals.c. All SQL of these lookups is in update_query.c.
 */
#ifndef WSUS_UPDATE_QUERY_H
#define WSUS_UPDATE_QUERY_H

#include <libpq-fe.h>
#include <stddef.h>

/* Longest search text, product or classification name accepted. */
#define UPDATE_QUERY_TEXT_MAX 1000

/* What to look for; a NULL or 0 member does not narrow the selection. */
struct update_filter {
    const char *types;          /* update_type values as a PostgreSQL array, "{Software,Driver}" */
    const char *product;        /* a canonical category GUID (update_query_category()) */
    const char *classification; /* likewise */
    const char *search;         /* title words (every one must occur), or an update id, or a KB */
    int hidden;                 /* also bundle members that are not deployable on their own */
    int approved;   /* 1: only approved (a live install/uninstall/block), -1: only not */
    int declined;   /* 1: only declined, -1: only not declined */
    int superseded; /* 1: only updates a newer update supersedes, -1: only not */
    long limit;     /* at most this many rows (>= 1) */
    long offset;    /* skip this many rows first (paging; 0 = none) */
};

/*
 * The updates matching f, newest first (creation date, then title, then id). Columns, in
 * order: update_id, revision_number, update_type, category_type, title, kb_article_id,
 * classification names, product names (", "-joined), approved, declined, creation_date,
 * total matches (count over the whole selection, before the offset and limit), size in bytes (the
 * update's files plus those of its bundled updates, each file once), superseded. NULL on a
 * database error (logged); the caller PQclear()s the result.
 */
PGresult *update_query_list(PGconn *db, const struct update_filter *f);

/* One row: revisions (every revision in the catalog), updates (distinct update ids). NULL on a
 * database error (logged). */
PGresult *update_query_counts(PGconn *db);

/* Column numbers of update_query_list()'s result. */
enum update_query_col {
    UQ_ID,
    UQ_REVISION,
    UQ_TYPE,
    UQ_CATEGORY_TYPE,
    UQ_TITLE,
    UQ_KB,
    UQ_CLASSIFICATION,
    UQ_PRODUCTS,
    UQ_APPROVED,
    UQ_DECLINED,
    UQ_CREATED,
    UQ_TOTAL,
    UQ_SIZE,
    UQ_SUPERSEDED,
};

/*
 * Size in bytes of update_id's latest revision (its files and those of its bundled updates,
 * each file once; files of unknown size count 0) into *size. 0, or -1 on a database error.
 */
int update_query_size(PGconn *db, const char *update_id, long long *size);

/*
 * The n largest updates (software and drivers that can be approved on their own, by
 * update_query_size()'s measure), largest first. Columns: update_id, title, size, bytes of
 * those files already stored. NULL on a database error (logged).
 */
PGresult *update_query_largest(PGconn *db, int n);

/*
 * A product (kind "product": Product and ProductFamily categories) or a classification (kind
 * "classification") named by its GUID or by its title (case-insensitive, the whole title; runs
 * of white space, line breaks and the indentation some real titles carry count as one space).
 * 0 with the canonical GUID in id; 1 when nothing or several categories match, with a message
 * for the admin in err naming the candidates (titles containing the text); -1 on a database
 * error (logged, err set).
 */
int update_query_category(PGconn *db, const char *kind, const char *name, char id[37], char *err,
                          size_t errlen);

/*
 * The updates a KB number names ("KB5031356", "kb5031356" or "5031356"): every software or
 * driver update whose latest revision carries that KB and that can be approved on its own
 * (not only a bundle member). Columns: update_id, title. NULL on a database error (logged).
 * Returns NULL with *not_kb set when text is not a KB number.
 */
PGresult *update_query_kb(PGconn *db, const char *text, int *not_kb);

/*
 * The revision of update_id an approval or decline names: revision (when >= 0; that one
 * first) or the latest. At most one row: revision_number, update_type, title, every revision
 * number of the update (", "-joined), explicitly_deployable ("t"/"f"), the update id of the
 * newest bundle that carries it (NULL when none). No row when the update is not in the
 * catalog. NULL on a database error (logged); the caller PQclear()s the result.
 */
PGresult *update_query_revision(PGconn *db, const char *update_id, long revision);

/*
 * The latest revision of update_id for "updates show": at most one row with id (revision
 * key), update_id, revision_number, update_type, category_type, title, kb_article_id,
 * security_bulletin_id, msrc_severity, publication_state, creation_date,
 * explicitly_deployable, default_language, description (English first), every revision
 * number (","-joined), declined ("t"/"f"), change_seq. NULL on a database error (logged); the
 * caller PQclear()s the result (as for each function below).
 */
PGresult *update_query_detail(PGconn *db, const char *uid);

/*
 * The categories revision_id (a revision key, decimal) belongs to: update_id, category_type,
 * title (latest revision of each category), by type and title. NULL on a database error.
 */
PGresult *update_query_categories(PGconn *db, const char *revision_id);

/*
 * The files of revision_id: SHA-1 (upper-case hex), file_name, size, state, state_detail,
 * mu_url, by name. NULL on a database error.
 */
PGresult *update_query_files(PGconn *db, const char *revision_id);

/*
 * The updates revision_id supersedes: update_id, title of its latest revision (NULL when not
 * in the catalog), by id. NULL on a database error.
 */
PGresult *update_query_supersedes(PGconn *db, const char *revision_id);

/*
 * The updates whose latest revision supersedes update_id: update_id, title, by id. NULL on a
 * database error.
 */
PGresult *update_query_superseded_by(PGconn *db, const char *update_id);

#endif
