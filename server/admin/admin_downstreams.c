/*
 * admin_downstreams: the downstream servers that synchronize from this server, for
 * `wsusctl downstreams` (the "Downstream Servers" node of the WSUS console). Rows are written
 * by the DSS Authorization service at first contact and updated on every call; this file only
 * reads them (downstream_report_list).
 */
#include "admin_handlers.h"
#include "downstream_report.h"

#include <stdlib.h>

/* One downstream server row of downstream_report_list as the API shows it. */
static json_t *downstream_row(const PGresult *r, int i)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:s?}", "account_guid", PQgetvalue(r, i, 0),
                     "account_name", PQgetvalue(r, i, 1), "protocol_version",
                     PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), "first_contact",
                     PQgetvalue(r, i, 3), "last_contact", PQgetvalue(r, i, 4), "last_sync",
                     PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5), "address",
                     PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6));
}

enum MHD_Result admin_downstreams_list(struct http_request *req)
{
    return admin_reply_rows(req, downstream_report_list, "downstream servers", "downstreams",
                            downstream_row);
}
