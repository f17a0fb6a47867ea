/*
 * Tests for the pure part of common/db/client_scan.c: the staged SyncUpdates answer (MS-WUSP
 * 3.1.5.7) from InstalledNonLeafUpdateIDs and OtherCachedUpdateIDs: prerequisites first,
 * AtLeastOne groups, prerequisites the catalog does not hold, Truncated, OutOfScope, Changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "client_scan.h"

/*
 * 10 company (no prerequisites), 20 product (needs 10), 30 bundle (needs 20 and 40),
 * 40 detectoid, 50 leaf (needs 40 or 60: one AtLeastOne group), 60 detectoid that needs 10,
 * 70 an update whose only prerequisite the catalog does not hold.
 */
static struct client_prereq pre[] = {
    {0, 10},          /* 20 */
    {0, 20}, {1, 40}, /* 30 */
    {0, 40}, {0, 60}, /* 50 */
    {0, 10},          /* 60 */
    {0, 0},           /* 70 */
};
static struct client_rev revs[] = {
    {.id = 10, .pre_first = 0, .pre_n = 0},
    {.id = 20, .pre_first = 0, .pre_n = 1},
    {.id = 30, .pre_first = 1, .pre_n = 2, .change_seq = 9},
    {.id = 40, .pre_first = 3, .pre_n = 0},
    {.id = 50, .pre_first = 3, .pre_n = 2, .change_seq = 7},
    {.id = 60, .pre_first = 5, .pre_n = 1},
    {.id = 70, .pre_first = 6, .pre_n = 1},
};
static const struct client_set set = {revs, 7, pre, 7, 9};

static void ids_of(const struct client_stage *st, int64_t *out)
{
    size_t i;

    for (i = 0; i < st->nnew; i++)
        out[i] = revs[st->new_idx[i]].id;
}

static void test_rounds(void **state)
{
    struct client_stage st;
    int64_t got[8];
    const int64_t r2_inst[] = {10, 40}, r2_other[] = {70};
    const int64_t r3_inst[] = {10, 40, 20}, r3_other[] = {70, 50, 60};

    (void)state;
    /* round 1: what has no prerequisite, or only one the catalog does not hold */
    client_scan_stage(&set, NULL, 0, NULL, 0, 100, 200, &st);
    assert_int_equal(st.nnew, 3);
    ids_of(&st, got);
    assert_int_equal(got[0], 10);
    assert_int_equal(got[1], 40);
    assert_int_equal(got[2], 70);
    assert_false(st.truncated);
    assert_int_equal(st.nout, 0);
    assert_int_equal(st.nchanged, 0);
    client_stage_free(&st);
    /* round 2: 10 and 40 installed: the product, the leaf (40 satisfies its group), 60 */
    client_scan_stage(&set, r2_inst, 2, r2_other, 1, 100, 200, &st);
    assert_int_equal(st.nnew, 3);
    ids_of(&st, got);
    assert_int_equal(got[0], 20);
    assert_int_equal(got[1], 50);
    assert_int_equal(got[2], 60);
    client_stage_free(&st);
    /* round 3: the product installed too: the bundle; then nothing */
    client_scan_stage(&set, r3_inst, 3, r3_other, 3, 100, 200, &st);
    assert_int_equal(st.nnew, 1);
    assert_int_equal(revs[st.new_idx[0]].id, 30);
    client_stage_free(&st);
}

static void test_truncated(void **state)
{
    struct client_stage st;

    (void)state;
    client_scan_stage(&set, NULL, 0, NULL, 0, 100, 2, &st);
    assert_int_equal(st.nnew, 2);
    assert_true(st.truncated);
    client_stage_free(&st);
    client_scan_stage(&set, NULL, 0, NULL, 0, 100, 3, &st);
    assert_int_equal(st.nnew, 3);
    assert_false(st.truncated);
    client_stage_free(&st);
}

static void test_out_of_scope_and_changed(void **state)
{
    struct client_stage st;
    /* 999 is unknown; 30 is cached but its product is no longer installed; 50 is due */
    const int64_t inst[] = {10, 40, 10}, other[] = {999, 30, 50, 40};

    (void)state;
    client_scan_stage(&set, inst, 3, other, 4, 5, 200, &st);
    assert_int_equal(st.nout, 2);
    assert_int_equal(st.out_of_scope[0], 30);
    assert_int_equal(st.out_of_scope[1], 999);
    /* 50 changed after anchor 5; 10 and 40 did not (change_seq 0) */
    assert_int_equal(st.nchanged, 1);
    assert_int_equal(revs[st.changed_idx[0]].id, 50);
    client_stage_free(&st);
    client_scan_stage(&set, inst, 3, other, 4, 7, 200, &st);
    assert_int_equal(st.nchanged, 0);
    client_stage_free(&st);
}

static void test_find_and_names(void **state)
{
    (void)state;
    assert_ptr_equal(client_set_find(&set, 50), &revs[4]);
    assert_null(client_set_find(&set, 51));
    assert_null(client_set_find(&set, 0));
    assert_string_equal(client_action_name(CLIENT_ACTION_INSTALL), "Install");
    assert_string_equal(client_action_name(CLIENT_ACTION_PREDEPLOYMENT_CHECK),
                        "PreDeploymentCheck");
    assert_string_equal(client_action_name(CLIENT_ACTION_EVALUATE), "Evaluate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_out_of_scope_and_changed),
        cmocka_unit_test(test_find_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
