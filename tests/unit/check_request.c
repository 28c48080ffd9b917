/*
 * Unit tests of what a request's target says, below the HTTP server: the signed-path rule
 * (http_signed_target, services/common/http.h) and the ledger's query arguments and cursors
 * (services/ledger/query.h). tests/fuzz/fuzz_signed_path.c and fuzz_query.c fuzz the same
 * functions against the properties checked here.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "http.h"
#include "query.h"

START_TEST(signed_target_from_v1_with_the_query)
{
    const char *t = "/v1/transfers?limit=2";
    ck_assert_ptr_eq(http_signed_target(t, "/v1/transfers"), t);
    t = "/ledger/v1/transfers?x=1"; /* a proxy kept its prefix in the target only */
    ck_assert_str_eq(http_signed_target(t, "/v1/transfers"), "/v1/transfers?x=1");
    t = "/healthz";
    ck_assert_ptr_eq(http_signed_target(t, "/healthz"), t);
}
END_TEST

START_TEST(signed_target_refuses_another_path)
{
    ck_assert_ptr_null(http_signed_target("/v1/accounts/%61bc", "/v1/accounts/abc"));
    ck_assert_ptr_null(http_signed_target("/v1/transfers", "/v1/approvals"));
    ck_assert_ptr_null(http_signed_target("/v1/transfers/", "/v1/transfers"));
    ck_assert_ptr_null(http_signed_target("/x?/v1/a", "/v1/a")); /* "/v1/" only in the query */
    ck_assert_ptr_null(http_signed_target("", "/v1/a"));
}
END_TEST

START_TEST(limit_defaults_caps_and_counts_zero_as_one)
{
    unsigned limit;
    nns_error_t err;
    ck_assert(query_limit(NULL, &limit, &err));
    ck_assert_uint_eq(limit, QUERY_LIMIT_DEFAULT);
    ck_assert(query_limit("0", &limit, &err));
    ck_assert_uint_eq(limit, 1);
    ck_assert(query_limit("7", &limit, &err));
    ck_assert_uint_eq(limit, 7);
    ck_assert(query_limit("18446744073709551615", &limit, &err));
    ck_assert_uint_eq(limit, QUERY_LIMIT_MAX);
    static const char *const bad[] = {"", "-1", "1.5", " 1", "18446744073709551616", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(!query_limit(bad[i], &limit, &err), "accepted '%s'", bad[i]);
        ck_assert_int_eq(err.status, 400);
        ck_assert_str_eq(err.detail, "query 'limit' must be a whole number (0 counts as 1)");
    }
}
END_TEST

START_TEST(history_filter_reads_each_argument)
{
    history_filter_t f;
    nns_error_t err;
    ck_assert(query_history_filter(NULL, NULL, NULL, NULL, &f, &err));
    ck_assert_uint_eq(f.op_types, 0);
    ck_assert(!f.has_from_time && !f.has_to_time && !f.has_counterparty);
    ck_assert(query_history_filter("transfer,mint", "5", "9", "aaaaa-aa", &f, &err));
    ck_assert_uint_eq(f.op_types, (1u << OP_TRANSFER) | (1u << OP_MINT));
    ck_assert(f.has_from_time && f.from_time == 5 && f.has_to_time && f.to_time == 9);
    ck_assert(f.has_counterparty);
    principal_t p;
    account_id_t id;
    ck_assert(principal_from_text("aaaaa-aa", &p, &err));
    account_id_of(&p, NULL, &id);
    ck_assert(account_id_equal(&id, &f.counterparty));
    ck_assert(!query_history_filter("transfer,swap", NULL, NULL, NULL, &f, &err));
    ck_assert_int_eq(err.status, 400);
    ck_assert(!query_history_filter(NULL, "x", NULL, NULL, &f, &err));
    ck_assert_str_eq(err.detail, "query 'from_time' must be nanoseconds");
    ck_assert(!query_history_filter(NULL, NULL, "", NULL, &f, &err));
    ck_assert_str_eq(err.detail, "query 'to_time' must be nanoseconds");
    ck_assert(!query_history_filter(NULL, NULL, NULL, "abc", &f, &err));
    ck_assert_str_eq(err.code, "InvalidAccount");
}
END_TEST

START_TEST(cursors_read_back_what_they_write)
{
    uint64_t before, from;
    bool ascending;
    nns_error_t err;
    ck_assert(query_history_cursor(NULL, &before, &err));
    ck_assert_uint_eq(before, UINT64_MAX);
    ck_assert(query_history_cursor("42", &before, &err));
    ck_assert_uint_eq(before, 42);
    ck_assert(!query_history_cursor("a42", &before, &err));
    ck_assert_str_eq(err.detail, "query 'cursor' is not a cursor of this list");

    ck_assert(query_blocks_position(NULL, NULL, &ascending, &from, &err));
    ck_assert(!ascending && from == UINT64_MAX);
    ck_assert(query_blocks_position("3", NULL, &ascending, &from, &err));
    ck_assert(ascending && from == 3);
    ck_assert(query_blocks_position("3", "d9", &ascending, &from, &err)); /* the cursor wins */
    ck_assert(!ascending && from == 9);
    ck_assert(!query_blocks_position("x", NULL, &ascending, &from, &err));
    ck_assert_str_eq(err.detail, "query 'start' must be a block height");
    static const char *const bad[] = {"", "a", "9", "x9", "a-1", "d18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!query_blocks_position(NULL, bad[i], &ascending, &from, &err),
                      "accepted '%s'", bad[i]);

    char c[QUERY_CURSOR_MAX];
    ck_assert_uint_eq(query_blocks_cursor(true, UINT64_MAX, c), 21);
    ck_assert_str_eq(c, "a18446744073709551615");
    ck_assert(query_blocks_position(NULL, c, &ascending, &from, &err));
    ck_assert(ascending && from == UINT64_MAX);
    ck_assert_uint_eq(query_blocks_cursor(false, 0, c), 2);
    ck_assert_str_eq(c, "d0");
}
END_TEST

static Suite *request_suite(void)
{
    Suite *s = suite_create("request");
    TCase *tc = tcase_create("target and query");
    tcase_add_test(tc, signed_target_from_v1_with_the_query);
    tcase_add_test(tc, signed_target_refuses_another_path);
    tcase_add_test(tc, limit_defaults_caps_and_counts_zero_as_one);
    tcase_add_test(tc, history_filter_reads_each_argument);
    tcase_add_test(tc, cursors_read_back_what_they_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!crypto_init())
        return 1;
    SRunner *sr = srunner_create(request_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
