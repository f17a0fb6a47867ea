/*
 * admin_health: GET /api/v1/health, the checks of wsusctl checkhealth (health.h) run inside
 * wsusd, which has the settings, the proxy password and the sync's client. The answer is
 * always 200 with every check's verdict; "healthy" says whether any check failed.
 */
#include "admin_handlers.h"
#include "health.h"

enum MHD_Result admin_health(struct http_request *req)
{
    PGconn *db = admin_db(req);

    if (db == NULL)
        return MHD_YES;
    return admin_reply(req, MHD_HTTP_OK, health_run(req->app, db));
}
