/*
 * Tests for rollup_send: what the downstream side of the reporting rollup reads and records,
 * against the real PostgreSQL test cluster: servers below in parent-first order, computers due
 * (new, changed, details needed, excluded), statuses due (full, changed since) and their
 * states, the records of what was sent, the reset; the 18 summary counts of a small catalog
 * and three computers, the computer ones equal to client_report()'s totals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "client_report.h"
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
    r = rollup_send_summary(db, 1, NULL);
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

#define PC2            "aaaaaaaa-0000-4000-8000-000000000002"
#define PC3            "aaaaaaaa-0000-4000-8000-000000000003"
#define U(n)           "cccccccc-0000-4000-8000-00000000000" #n
#define SECURITY       "0fa1201d-4330-4fa8-8ae9-b877473b6441"
#define CRITICAL       "e6cf1350-c01b-414d-a61f-263d14d133b4"
#define UPDATE_ROLLUPS "28bc880e-0592-4cbf-8f95-c79b17911d5f"
#define ALL_COMPUTERS  "a0a08746-4dbe-4a37-9adf-9e7652c0b421"
#define UNASSIGNED     "b73ca6ed-5727-47f3-84de-015e03f6a88a"

/* One Software update with revision 1 of classification cls. */
static void add_update(PGconn *db, const char *uid, const char *cls)
{
    const char *p[2] = {uid, cls};

    assert_int_equal(db_cmd(db,
                            "WITH r AS (INSERT INTO revision (update_id, revision_number, "
                            "update_type, title, xml) VALUES ($1::uuid, 1, 'Software', $1, '<x/>') "
                            "RETURNING id) INSERT INTO revision_prerequisite (revision_id, clause, "
                            "update_id, is_category) SELECT id, 0, $2::uuid, true FROM r",
                            2, p),
                     0);
}

/* A file of update uid's revision 1, in state (and state_detail detail, NULL: none). */
static void add_file(PGconn *db, const char *uid, int n, const char *state, const char *detail)
{
    char sha1[8];
    const char *p[4] = {uid, sha1, state, detail};

    snprintf(sha1, sizeof(sha1), "%d", n);
    assert_int_equal(db_cmd(db,
                            "WITH f AS (INSERT INTO file (sha1, file_name, state, state_detail) "
                            "VALUES (decode(lpad($2, 40, '0'), 'hex'), $2 || '.cab', $3, $4) "
                            "RETURNING sha1) INSERT INTO revision_file (revision_id, sha1) SELECT "
                            "r.id, f.sha1 FROM revision r, f WHERE r.update_id = $1::uuid",
                            4, p),
                     0);
}

/* Approve update uid (revision 1) for install to group. */
static void approve(PGconn *db, const char *uid, const char *group)
{
    const char *p[2] = {uid, group};

    assert_int_equal(db_cmd(db,
                            "INSERT INTO deployment (deployment_guid, update_id, revision_number, "
                            "target_group_id, action) VALUES (gen_random_uuid(), $1::uuid, 1, "
                            "$2::uuid, 0)",
                            2, p),
                     0);
}

static int no_row(void *arg, const struct client_report_row *row)
{
    (void)arg;
    (void)row;
    return 0;
}

static void expect_summary(PGconn *db, int stores_files, const long want[18])
{
    PGresult *r = rollup_send_summary(db, stores_files, NULL);
    int k;

    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_int_equal(PQnfields(r), ROLLUP_SEND_SUMMARY_FIELDS);
    for (k = 0; k < ROLLUP_SEND_SUMMARY_FIELDS; k++) {
        char got[32];
        snprintf(got, sizeof(got), "%s", PQgetvalue(r, 0, k));
        if (strtol(got, NULL, 10) != want[k])
            fail_msg("summary count %d: %s, expected %ld", k + 1, got, want[k]);
    }
    PQclear(r);
}

/*
 * U1 security, approved for All Computers, its file present; U2 critical and U3 an update
 * rollup (no WSUS infrastructure update: that is no classification), not approved; U4 security,
 * declined; U5 security, approved for Unassigned Computers, its file not downloaded yet; U6
 * security, not approved, its file failed to download; U7 critical, approved, its file pending on
 * the upstream. PC1's status (156) says U1 needed; PC2's says U1, U5, U7 installed; PC3 sent no
 * status, failed U5 (161) and so needs U1 and U7 (inferred).
 */
static void test_summary_counts(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_rollup_send_summary", conninfo, sizeof(conninfo));
    struct client_report_totals tot;
    const char *pending[1] = {CATALOG_FILE_PENDING};
    /* 1-6 updates, declined, approved, not approved, stale, expired; 7 critical/security and
       8 infrastructure (none) not approved; 9 client errors, 10 server errors, 11 needing files,
       12 needed by computers, 13 up to date; 14 custom groups, 15 computers; 16 needing
       updates, 17 with errors, 18 up to date */
    const long stored[18] = {7, 1, 3, 3, 0, 0, 2, 0, 1, 1, 2, 2, 3, 0, 3, 2, 1, 1};
    long not_stored[18];
    PGresult *r;

    (void)state;
    add_update(db, U(1), SECURITY);
    add_update(db, U(2), CRITICAL);
    add_update(db, U(3), UPDATE_ROLLUPS);
    add_update(db, U(4), SECURITY);
    add_update(db, U(5), SECURITY);
    add_update(db, U(6), SECURITY);
    add_update(db, U(7), CRITICAL);
    exec(db, "INSERT INTO declined_update (update_id) VALUES ('" U(4) "')");
    approve(db, U(1), ALL_COMPUTERS);
    approve(db, U(5), UNASSIGNED);
    approve(db, U(7), ALL_COMPUTERS);
    add_file(db, U(1), 1, "present", NULL);
    add_file(db, U(5), 5, "absent", NULL);
    add_file(db, U(6), 6, "failed", "HTTP 404");
    add_file(db, U(7), 7, "absent", pending[0]);
    exec(db,
         "INSERT INTO computer (id, name, address) VALUES ('" PC1 "', 'pc1', '10.0.0.1'), ('" PC2
         "', 'pc2', '10.0.0.2'), ('" PC3 "', 'pc3', '10.0.0.3')");
    exec(db, "INSERT INTO computer_status (computer_id, instance_id, reported_at) VALUES ('" PC1
             "', gen_random_uuid(), '2026-11-30 10:00:00+00'), ('" PC2
             "', gen_random_uuid(), '2026-11-30 10:00:00+00')");
    exec(db, "INSERT INTO computer_update_status (computer_id, update_id, state) VALUES ('" PC1
             "', '" U(1) "', 'needed'), ('" PC2 "', '" U(1) "', 'installed'), ('" PC2 "', '" U(
                 5) "', 'installed'), ('" PC2 "', '" U(7) "', 'installed')");
    exec(db,
         "INSERT INTO client_event (computer_id, instance_id, event_id, update_id) VALUES ('" PC3
         "', gen_random_uuid(), 161, '" U(5) "')");

    expect_summary(db, 1, stored);
    /* without a content store only the red-X files count: U7 pending upstream */
    memcpy(not_stored, stored, sizeof(not_stored));
    not_stored[10] = 1;
    expect_summary(db, 0, not_stored);

    /* wsusctl report counts the same computers */
    assert_int_equal(client_report(db, NULL, NULL, &tot, no_row, NULL), 0);
    assert_int_equal(tot.computers, 3);
    assert_int_equal(tot.needing, stored[15]);
    assert_int_equal(tot.with_errors, stored[16]);
    assert_int_equal(tot.up_to_date, stored[17]);

    /* what the rollup sends of PC1: its status's needed U1 (2), as the report counts it */
    r = rollup_send_states(db, PC1, 1, NULL);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), U(1));
    assert_string_equal(PQgetvalue(r, 0, 1), "2");
    assert_string_equal(PQgetvalue(r, 0, 2), "2026-11-30T10:00:00.000000Z");
    PQclear(r);
    /* PC3's failure goes as failed (5); PC2 up to date: installed (4) */
    r = rollup_send_states(db, PC3, 1, NULL);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 1), "5");
    PQclear(r);
    r = rollup_send_states(db, PC2, 1, "2026-11-30T09:00:00Z");
    assert_int_equal(PQntuples(r), 3);
    assert_string_equal(PQgetvalue(r, 2, 1), "4");
    PQclear(r);
    assert_int_equal(rows(rollup_send_states(db, PC2, 1, "2026-11-30T10:00:00Z")), 0);

    /* once sent, a new status event makes PC1 due again (no event of an update needed) */
    assert_int_equal(
        rollup_send_computers_sent(db, "[{\"id\": \"" PC1 "\", \"fp\": \"x\", \"details\": null}]"),
        0);
    assert_int_equal(rollup_send_status_sent(db, "[{\"id\": \"" PC1 "\", \"number\": 1, \"time\": "
                                                 "\"2026-11-30T10:00:00.000000Z\"}]"),
                     0);
    assert_int_equal(rows(rollup_send_status_due(db, 10)), 0);
    exec(db, "UPDATE computer_status SET reported_at = '2026-11-30 11:00:00+00' WHERE "
             "computer_id = '" PC1 "'");
    r = rollup_send_status_due(db, 10);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), PC1);
    PQclear(r);
    db_close(db);
}

static char *state_of(PGconn *db)
{
    char *s = rollup_send_catalog_state(db);

    assert_non_null(s);
    return s;
}

/* The summary's catalog counts: given ones are used as they are, and the catalog state that
 * keys them moves with every revision, decline and approval written or removed. */
static void test_summary_catalog_state(void **state)
{
    char conninfo[512];
    PGconn *db = testdb_create_migrated("unit_rollup_send_state", conninfo, sizeof(conninfo));
    PGresult *r;
    char *s0, *s1, *s2, *s3;

    (void)state;
    s0 = state_of(db);
    r = rollup_send_summary(db, 0, "{7,6,5,4,3,2,1}");
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "7");
    assert_string_equal(PQgetvalue(r, 0, 6), "1");
    assert_string_equal(PQgetvalue(r, 0, 14), "0"); /* the computers are counted anyway */
    PQclear(r);
    s1 = state_of(db);
    assert_string_equal(s0, s1); /* nothing written */
    exec(db, "INSERT INTO revision (update_id, revision_number, update_type, xml) VALUES "
             "('" UPD1 "', 1, 'Software', '<Update/>')");
    s2 = state_of(db);
    assert_string_not_equal(s1, s2);
    r = rollup_send_summary(db, 0, NULL);
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
        cmocka_unit_test(test_summary_catalog_state),
        cmocka_unit_test(test_servers_in_parent_order),
        cmocka_unit_test(test_computers_and_status),
        cmocka_unit_test(test_summary_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
