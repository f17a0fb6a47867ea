/*
 * Tests for rollup_send: what the downstream side of the reporting rollup reads and records,
 * against the real PostgreSQL test cluster: servers below in parent-first order, computers due
 * (new, changed, details needed, excluded), statuses due (full, changed since) and their
 * states, the records of what was sent, the reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "rollup_send.h"
#include "testutil.h"

#define SELF "11111111-1111-4111-8111-111111111111"
#define MID  "22222222-2222-4222-8222-222222222222"
#define LEAF "33333333-3333-4333-8333-333333333333"
#define PC1  "aaaaaaaa-0000-4000-8000-000000000001"
#define UPD1 "bbbbbbbb-0000-4000-8000-000000000001"
#define UPD2 "bbbbbbbb-0000-4000-8000-000000000002"

static void exec(PGconn *db, const char *sql)
{
    assert_int_equal(db_cmd(db, sql, 0, NULL), 0);
}

static int rows(PGresult *r)
{
    int n;

    assert_non_null(r);
    n = PQntuples(r);
    PQclear(r);
    return n;
}

static void test_servers_in_parent_order(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_rollup_send_servers", conninfo, sizeof(conninfo));
    PGresult *r;
    int k;

    (void)state;
    /* the grandchild first in the table: the order must come from the tree */
    exec(db,
         "INSERT INTO rollup_server (server_id, parent_id, reporter_id, name, is_replica, "
         "last_sync, summary) VALUES ('" LEAF "', '" MID "', '" MID "', 'leaf', false, "
         "'2026-11-30 10:00:00.25+00', '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18}'), ('" MID
         "', '" SELF "', '" MID "', 'mid', true, NULL, "
         "'{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}'), ('44444444-4444-4444-8444-444444444444', "
         "'55555555-5555-4555-8555-555555555555', '" MID "', 'orphan', false, NULL, "
         "'{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0}')");
    r = rollup_send_servers(db, SELF);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 2); /* the orphan is not below this server */
    assert_string_equal(PQgetvalue(r, 0, 0), MID);
    assert_string_equal(PQgetvalue(r, 0, 4), "t");
    assert_string_equal(PQgetvalue(r, 0, 5), ""); /* never synchronized */
    assert_string_equal(PQgetvalue(r, 1, 0), LEAF);
    assert_string_equal(PQgetvalue(r, 1, 1), MID);
    assert_string_equal(PQgetvalue(r, 1, 5), "2026-11-30T10:00:00.250000Z");
    for (k = 0; k < ROLLUP_SEND_SUMMARY_FIELDS; k++) {
        char want[8];
        snprintf(want, sizeof(want), "%d", k + 1);
        assert_string_equal(PQgetvalue(r, 1, 7 + k), want);
    }
    PQclear(r);
    r = rollup_send_summary(db, NULL);
    assert_non_null(r);
    assert_int_equal(PQnfields(r), ROLLUP_SEND_SUMMARY_FIELDS);
    assert_string_equal(PQgetvalue(r, 0, 14), "0"); /* no computer */
    PQclear(r);
    db_close(db);
}

static void test_computers_and_status(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_rollup_send_computers", conninfo, sizeof(conninfo));
    PGresult *r;
    char fp[64], dfp[64], json[512], since[40];

    (void)state;
    exec(db, "INSERT INTO computer (id, name, address, os_version) VALUES ('" PC1
             "', 'pc1.test', '10.0.0.1', '10.0.26100.1')");
    exec(db, "INSERT INTO computer_group (computer_id, group_id) VALUES ('" PC1
             "', 'b73ca6ed-5727-47f3-84de-015e03f6a88a')");
    r = rollup_send_computers(db, SELF, 10);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), PC1);
    assert_string_equal(PQgetvalue(r, 0, 1), SELF);
    assert_string_equal(PQgetvalue(r, 0, 5), ""); /* no status yet */
    assert_string_equal(PQgetvalue(r, 0, 9), "10.0.26100.1");
    assert_string_equal(PQgetvalue(r, 0, 16), "b73ca6ed-5727-47f3-84de-015e03f6a88a");
    assert_string_equal(PQgetvalue(r, 0, 19), "t");
    snprintf(fp, sizeof(fp), "%s", PQgetvalue(r, 0, 17));
    snprintf(dfp, sizeof(dfp), "%s", PQgetvalue(r, 0, 18));
    PQclear(r);
    snprintf(json, sizeof(json), "[{\"id\": \"%s\", \"fp\": \"%s\", \"details\": \"%s\"}]", PC1, fp,
             dfp);
    assert_int_equal(rollup_send_computers_sent(db, json), 0);
    assert_int_equal(rows(rollup_send_computers(db, SELF, 10)), 0); /* nothing changed */
    assert_int_equal(rows(rollup_send_numbers(db)), 0);             /* no status reported */
    assert_int_equal(rows(rollup_send_status_due(db, 10)), 0);

    /* two events: the computer is due again (its last status time), without its details */
    exec(db, "INSERT INTO client_event (computer_id, instance_id, event_id, update_id, "
             "received_at) VALUES ('" PC1 "', gen_random_uuid(), 183, '" UPD1
             "', '2026-11-30 10:00:00+00'), ('" PC1 "', gen_random_uuid(), 161, '" UPD2
             "', '2026-11-30 10:00:01+00')");
    r = rollup_send_computers(db, SELF, 10);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 5), "2026-11-30T10:00:01.000000Z");
    assert_string_equal(PQgetvalue(r, 0, 19), "f");
    snprintf(json, sizeof(json), "[{\"id\": \"%s\", \"fp\": \"%s\", \"details\": null}]", PC1,
             PQgetvalue(r, 0, 17));
    PQclear(r);
    assert_int_equal(rollup_send_computers_sent(db, json), 0);
    assert_int_equal(rows(rollup_send_computers(db, SELF, 10)), 0);
    /* NewParent: due with details; Deleted: never again */
    assert_int_equal(rollup_send_details_needed(db, "[\"" PC1 "\"]"), 0);
    r = rollup_send_computers(db, SELF, 10);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 19), "t");
    PQclear(r);

    /* status: a full rollup first, with both states */
    r = rollup_send_numbers(db);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "0");
    PQclear(r);
    r = rollup_send_status_due(db, 10);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "t"); /* own */
    assert_string_equal(PQgetvalue(r, 0, 2), "1"); /* the next RollupNumber */
    assert_string_equal(PQgetvalue(r, 0, 3), "t"); /* full */
    assert_int_equal(strlen(PQgetvalue(r, 0, 5)), 36);
    PQclear(r);
    r = rollup_send_states(db, PC1, 1, NULL);
    assert_int_equal(PQntuples(r), 2);
    assert_string_equal(PQgetvalue(r, 0, 0), UPD1);
    assert_string_equal(PQgetvalue(r, 0, 1), "4"); /* installed */
    assert_string_equal(PQgetvalue(r, 1, 1), "5"); /* failed */
    PQclear(r);
    assert_int_equal(rollup_send_status_sent(db, "[{\"id\": \"" PC1 "\", \"number\": 1, \"time\": "
                                                 "\"2026-11-30T10:00:01.000000Z\"}]"),
                     0);
    assert_int_equal(rows(rollup_send_status_due(db, 10)), 0);
    /* a newer event: due, not full, only the changed state */
    exec(db, "INSERT INTO client_event (computer_id, instance_id, event_id, update_id, "
             "received_at) VALUES ('" PC1 "', gen_random_uuid(), 183, '" UPD2
             "', '2026-11-30 10:05:00+00')");
    r = rollup_send_status_due(db, 10);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 2), "2");
    assert_string_equal(PQgetvalue(r, 0, 3), "f");
    snprintf(since, sizeof(since), "%s", PQgetvalue(r, 0, 4));
    PQclear(r);
    assert_string_equal(since, "2026-11-30T10:00:01.000000Z");
    r = rollup_send_states(db, PC1, 1, since);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), UPD2);
    assert_string_equal(PQgetvalue(r, 0, 1), "4");
    PQclear(r);
    /* the upstream finds it out of sync: a full rollup again */
    assert_int_equal(rollup_send_out_of_sync(db, "[\"" PC1 "\"]"), 0);
    r = rollup_send_status_due(db, 10);
    assert_string_equal(PQgetvalue(r, 0, 3), "t");
    PQclear(r);

    assert_int_equal(rollup_send_exclude(db, "[\"" PC1 "\"]"), 0);
    assert_int_equal(rows(rollup_send_computers(db, SELF, 10)), 0);
    assert_int_equal(rows(rollup_send_status_due(db, 10)), 0);
    assert_int_equal(rollup_send_count(db), 1);
    assert_int_equal(rollup_send_forget_gone(db), 0);
    assert_int_equal(rollup_send_count(db), 1); /* still held */
    assert_int_equal(rollup_send_reset(db), 0);
    assert_int_equal(rollup_send_count(db), 0);
    assert_int_equal(rows(rollup_send_computers(db, SELF, 10)), 1); /* everything again */
    /* a removed computer's record goes */
    assert_int_equal(rollup_send_computers_sent(db, "[{\"id\": \"" PC1 "\", \"fp\": \"x\", "
                                                    "\"details\": null}, {\"id\": \"gone-pc\", "
                                                    "\"fp\": \"y\", \"details\": null}]"),
                     0);
    exec(db, "DELETE FROM computer");
    assert_int_equal(rollup_send_forget_gone(db), 0);
    assert_int_equal(rollup_send_count(db), 0);
    db_close(db);
}

static char *state_of(PGconn *db)
{
    char *s = rollup_send_catalog_state(db);

    assert_non_null(s);
    return s;
}

/* The summary's catalog counters: given ones are used as they are, and the catalog state that
 * keys them moves with every revision, decline and approval written or removed. */
static void test_summary_catalog_state(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_rollup_send_state", conninfo, sizeof(conninfo));
    PGresult *r;
    char *s0, *s1, *s2, *s3;

    (void)state;
    s0 = state_of(db);
    r = rollup_send_summary(db, "{7,6,5,4,3,2}");
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "7");
    assert_string_equal(PQgetvalue(r, 0, 5), "2");
    assert_string_equal(PQgetvalue(r, 0, 14), "0"); /* the computers are counted anyway */
    PQclear(r);
    s1 = state_of(db);
    assert_string_equal(s0, s1); /* nothing written */
    exec(db, "INSERT INTO revision (update_id, revision_number, update_type, xml) VALUES "
             "('" UPD1 "', 1, 'Software', '<Update/>')");
    s2 = state_of(db);
    assert_string_not_equal(s1, s2);
    r = rollup_send_summary(db, NULL);
    assert_string_equal(PQgetvalue(r, 0, 0), "1"); /* counted: one update */
    assert_string_equal(PQgetvalue(r, 0, 3), "1"); /* not approved */
    PQclear(r);
    exec(db, "INSERT INTO declined_update (update_id, admin_name) VALUES ('" UPD1 "', 'x')");
    s3 = state_of(db);
    assert_string_not_equal(s2, s3);
    free(s2);
    /* a removal takes no change number: the count of the table tells it */
    exec(db, "DELETE FROM declined_update");
    s2 = state_of(db);
    assert_string_not_equal(s2, s3);
    free(s0);
    free(s1);
    free(s2);
    free(s3);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_servers_in_parent_order),
        cmocka_unit_test(test_computers_and_status),
        cmocka_unit_test(test_summary_catalog_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
