/*
 * hier_languages: the languages this server enables against those its upstream carries, by
 * the upstream's last GetConfigData language list (upstream_state "languages", written by the
 * sync engine). Part of the checks before data moves (hierarchy.h); used by settings.c for
 * `config set languages`, so it reads no setting itself.
 */
#ifndef WSUS_HIER_LANGUAGES_H
#define WSUS_HIER_LANGUAGES_H

#include <libpq-fe.h>

#include "hier_verdict.h"

/*
 * Languages enabled here (comma-separated short names, as settings_get("languages") gives
 * them) that the upstream does not carry, by its GetConfigData language list (upstream_json:
 * the JSON array sync.c stores as upstream_state "languages": [{"short", "enabled"}, ...];
 * NULL or unreadable: UNKNOWN). PASS when the upstream enables "all" (the specific flags are
 * then ignored, MS-WSUSSS 3.1.1). FAIL lists the languages missing and those it carries.
 */
void hier_check_languages(const char *upstream_url, const char *ours, const char *upstream_json,
                          struct hier_result *res);

/*
 * hier_check_languages against the language list the last synchronization got from upstream
 * (upstream_state "languages"), for `config set languages` before any data moves. UNKNOWN
 * when that list is not known for this upstream (never synchronized from it).
 */
void hier_check_languages_stored(PGconn *db, const char *upstream, const char *languages,
                                 struct hier_result *res);

/*
 * The languages the upstream carries by the last GetConfigData answer (upstream_state
 * "languages"): its enabled short names, comma-separated ("" when none), malloc'd. NULL when
 * that list is not known or the upstream enables "all" (no language is then left out).
 */
char *hier_upstream_languages(PGconn *db);

#endif
