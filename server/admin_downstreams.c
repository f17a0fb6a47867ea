/*
 * admin_downstreams: the downstream servers that synchronize from this server, for
 * `wsusctl downstreams` (the "Downstream Servers" node of the WSUS console). Rows are written
 * by the DSS Authorization service at first contact and updated on every call; this file only
 * reads them (downstream_report_list).
 */
#include "admin_handlers.h"
#include "downstream_report.h"

#include <stdlib.h>

enum MHD_Result admin_downstreams_list(struct http_request *req)
{
    PGconn *db = admin_db(req);
    PGresult *r;
    json_t *list;
    int i;

    if (db == NULL)
        return MHD_YES;
    r = downstream_report_list(db);
    if (r == NULL)
        return admin_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "cannot read the downstream servers; see the wsusd log");
    list = json_array();
    for (i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:s?}", "account_guid", PQgetvalue(r, i, 0),
                      "account_name", PQgetvalue(r, i, 1), "protocol_version",
                      PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), "first_contact",
                      PQgetvalue(r, i, 3), "last_contact", PQgetvalue(r, i, 4), "last_sync",
                      PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5), "address",
                      PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6)));
    PQclear(r);
    return admin_reply(req, MHD_HTTP_OK, json_pack("{s:o}", "downstreams", list));
}
