/*
 * soap_catalog: the catalog side of the Server Sync web service's answers. Revision lists are
 * opened as server-side cursors for soap_stream (the queries: common/sync_query.h, which also
 * opens the GetDeployments cursors); the rows are formatted here; GetUpdateData answers are
 * built here under a size budget; DownloadFiles queues known digests (file_state); the
 * downstream allow-list is matched here (settings). It holds no SQL and does not speak HTTP;
 * downstream servers are recorded by common/downstream_report.h.
 */
#ifndef WSUS_SOAP_CATALOG_H
#define WSUS_SOAP_CATALOG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "soap_req.h"
#include "soap_stream.h"

/* GetUpdateData answers stop growing past this many bytes (MS-WSUSSS product note <37>). */
#define SOAPCAT_UPDATE_DATA_BUDGET 2000000u

/*
 * Begin a read-only repeatable-read transaction on db and declare cursor "revs" listing
 * (update_id, revision_number) as GetRevisionIdList must answer for call's filter
 * (MS-WSUSSS 3.1.4.5 and WSUSSS-NOTES 4.5, 4.7). Every revision held is a candidate, not only
 * the latest of each update (as WS2025). GetConfig=true: every category and detectoid
 * revision changed after the anchor; GetConfig=false: no Categories and no Classifications =
 * every update revision, one list empty or absent = nothing, both = revisions whose own
 * IsCategory prerequisites name at least one listed category (or a sub-category of one) AND
 * one listed classification, plus the bundle closure; with an anchor, only revisions changed
 * after it, except those reached through an id whose Delta is false. 0, or -1 (logged; the
 * transaction is rolled back).
 */
int soapcat_open_revisions(PGconn *db, const struct soap_call *call);
/* Row formatter for "revs": <UpdateIdentity>...</UpdateIdentity>. */
int soapcat_row_identity(struct buf *out, const PGresult *res, int row);

/* Row formatters for the GetDeployments cursors of sync_query_open_deployments. */
int soapcat_row_group(struct buf *out, const PGresult *res, int row);
int soapcat_row_deployment(struct buf *out, const PGresult *res, int row);
/* A single uuid column as <guid>...</guid>. */
int soapcat_row_guid(struct buf *out, const PGresult *res, int row);

enum soapcat_result { SOAPCAT_OK = 0, SOAPCAT_ERROR = -1, SOAPCAT_UNKNOWN = -2 };

/*
 * Append the GetUpdateDataResult content (<updates>..</updates><fileUrls>..</fileUrls>) for
 * ids to out, in request order, duplicates included. Stored cabinets (xml_cab) go out as
 * XmlUpdateBlobCompressed, other documents as XmlUpdateBlob. Updates stop being added once
 * the answer passes SOAPCAT_UPDATE_DATA_BUDGET (at least one is always sent); *served gets
 * how many were. SOAPCAT_UNKNOWN when an identity is not in the catalog (its text in
 * missing, as "<guid> revision <n>"), SOAPCAT_ERROR on database errors.
 */
enum soapcat_result soapcat_update_data(PGconn *db, const struct soap_identity *ids, size_t n,
                                        struct buf *out, size_t *served, char *missing,
                                        size_t missinglen);

/*
 * DownloadFiles: set state='queued' for every known digest not already present or queued;
 * append the base64 of every unknown digest to missing, separated by '|'. *nmissing gets
 * their number. 0 or -1.
 */
int soapcat_queue_files(PGconn *db, const unsigned char (*digests)[20], size_t n,
                        struct buf *missing, size_t *nmissing);

/*
 * GetConfigData: append the LanguageUpdateList items (entry 0 "all" first, then every known
 * language) to out and compute the configuration number the config anchor carries. 0 or -1.
 */
int soapcat_languages(PGconn *db, struct buf *out, int64_t *config_seq);

/*
 * 1 if the downstream (account GUID text, account name and peer address; name and peer may be
 * NULL) may synchronize: the allow-list (settings allowed-downstreams, the admin's, and
 * allowed_downstreams; comma-separated; empty = everyone) names its GUID, its name, its
 * address or an IPv4 a.b.c.d/n network holding it (case-insensitive). 0 if refused, -1 on
 * database errors.
 */
int soapcat_downstream_allowed(PGconn *db, const char *guid, const char *name, const char *peer);

#endif
