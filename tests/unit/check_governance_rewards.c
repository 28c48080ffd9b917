/*
 * Unit tests of governance's rewards (gov_reward.h, spec/governance.md sections 6 and 9): the test
 * vectors 6 (reward pool fraction), 14 (reward pool) and 15 (node provider reward), the weights,
 * the shares and the saturating f64 -> e8s conversion. No database, no network.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gov_reward.h"

#define ICP 100000000ULL

/* |a - b| <= tol */
static void near(double a, double b, double tol)
{
    ck_assert_msg(fabs(a - b) <= tol, "%.9f differs from %.9f by more than %g", a, b, tol);
}

START_TEST(test_v06_reward_pool_fraction)
{
    /* day 0 -> 0.10/365.25 of the supply (legacy: no M70 factor) */
    near(gov_reward_rate(GOV_RULES_LEGACY, 0), 0.10 / 365.25, 1e-18);
    /* day 8*366 and later -> 0.05/365.25 */
    near(gov_reward_rate(GOV_RULES_LEGACY, 8 * 366), 0.05 / 365.25, 1e-18);
    near(gov_reward_rate(GOV_RULES_LEGACY, 100000), 0.05 / 365.25, 1e-18);
    /* at T exactly the quadratic term is 0 */
    near(gov_reward_rate(GOV_RULES_LEGACY, 2922), 0.05 / 365.25, 1e-18);
    /* strictly decreasing and convex before day 2922 */
    for (uint64_t d = 1; d < 2922; d++) {
        double a = gov_reward_rate(GOV_RULES_LEGACY, d - 1);
        double b = gov_reward_rate(GOV_RULES_LEGACY, d);
        double c = gov_reward_rate(GOV_RULES_LEGACY, d + 1);
        ck_assert_msg(b < a, "not decreasing at day %llu", (unsigned long long)d);
        if (d + 1 <= 2922)
            ck_assert_msg(a - b >= b - c - 1e-20, "not convex at day %llu",
                          (unsigned long long)d);
    }
    /* M70: the same schedule times 0.6329 */
    for (uint64_t d = 0; d < 4000; d += 37)
        near(gov_reward_rate(GOV_RULES_CURRENT, d), gov_reward_rate(GOV_RULES_LEGACY, d) * 0.6329,
             1e-18);
}
END_TEST

START_TEST(test_v14_reward_pool)
{
    uint64_t supply = 500000000ULL * ICP;
    /* day 0: 136 892.539 ICP */
    double pool = gov_reward_pool(supply, gov_reward_fraction(GOV_RULES_LEGACY, 0, 1), 0);
    near(pool / (double)ICP, 136892.539, 0.001);
    ck_assert_uint_eq(gov_reward_e8s(pool) / 100000, 136892539); /* 136 892.539 ICP */
    /* day 1826: rate 5.7034 %/year -> 78 075.92 ICP; M70 x0.6329 = 49 414.25 ICP */
    double rate = gov_reward_rate(GOV_RULES_LEGACY, 1826) * 365.25;
    near(rate * 100, 5.7034, 0.00005);
    pool = gov_reward_pool(supply, gov_reward_fraction(GOV_RULES_LEGACY, 1826, 1827), 0);
    near(pool / (double)ICP, 78075.92, 0.005);
    pool = gov_reward_pool(supply, gov_reward_fraction(GOV_RULES_CURRENT, 1826, 1827), 0);
    near(pool / (double)ICP, 49414.25, 0.005);
    /* several days at once are the sum of the days; the rollover is added as is */
    double f3 = gov_reward_fraction(GOV_RULES_CURRENT, 10, 13);
    near(f3,
         gov_reward_rate(GOV_RULES_CURRENT, 10) + gov_reward_rate(GOV_RULES_CURRENT, 11) +
             gov_reward_rate(GOV_RULES_CURRENT, 12),
         1e-18);
    ck_assert(gov_reward_fraction(GOV_RULES_CURRENT, 13, 13) == 0.0);
    ck_assert(gov_reward_fraction(GOV_RULES_CURRENT, 14, 13) == 0.0);
    near(gov_reward_pool(supply, f3, 12345), (double)supply * f3 + 12345.0, 1e-3);
    ck_assert(gov_reward_pool(0, f3, 777) == 777.0);
}
END_TEST

START_TEST(test_v15_node_provider_reward)
{
    nns_error_t err;
    uint64_t amount = 0;
    /* 100 XDR at 5 XDR/ICP -> 20 ICP */
    uint64_t rate = gov_node_provider_rate(50000, 100);
    ck_assert_uint_eq(rate, 50000);
    ck_assert(gov_node_provider_reward(1000000, rate, 100000000000000ULL, &amount, &err));
    ck_assert_uint_eq(amount, 2000000000ULL);
    /* the minimum rate (minimum_icp_xdr_rate * 100) wins over a lower average */
    rate = gov_node_provider_rate(3000, 100);
    ck_assert_uint_eq(rate, 10000);
    ck_assert(gov_node_provider_reward(1000000, rate, UINT64_MAX, &amount, &err));
    ck_assert_uint_eq(amount, 10000000000ULL);
    /* floor */
    ck_assert(gov_node_provider_reward(1, 3, UINT64_MAX, &amount, &err));
    ck_assert_uint_eq(amount, 33333333ULL);
    /* 128-bit intermediate: no overflow of xdr * 10^8 */
    ck_assert(gov_node_provider_reward(UINT64_MAX, UINT64_MAX, UINT64_MAX, &amount, &err));
    ck_assert_uint_eq(amount, ICP);
    /* above the maximum: PreconditionFailed with the amount computed */
    ck_assert(!gov_node_provider_reward(1000000, 50000, 1999999999ULL, &amount, &err));
    ck_assert_int_eq(err.status, 422);
    ck_assert_str_eq(err.code, "PreconditionFailed");
    ck_assert_uint_eq(amount, 2000000000ULL);
    /* beyond 64 bits and a zero rate */
    ck_assert(!gov_node_provider_reward(UINT64_MAX, 1, UINT64_MAX, &amount, &err));
    ck_assert_uint_eq(amount, UINT64_MAX);
    ck_assert(!gov_node_provider_reward(5, 0, UINT64_MAX, &amount, &err));
    ck_assert_str_eq(err.code, "PreconditionFailed");
    /* a saturating minimum */
    ck_assert_uint_eq(gov_node_provider_rate(7, UINT64_MAX), UINT64_MAX);
}
END_TEST

START_TEST(test_weights_and_votes)
{
    ck_assert(gov_topic_reward_weight(0) == 1.0);
    ck_assert(gov_topic_reward_weight(1) == 0.0);
    ck_assert(gov_topic_reward_weight(2) == 0.01);
    ck_assert(gov_topic_reward_weight(3) == 1.0);
    ck_assert(gov_topic_reward_weight(4) == 20.0);
    ck_assert(gov_topic_reward_weight(14) == 20.0);
    ck_assert(gov_topic_reward_weight(18) == 1.0);
    ck_assert(gov_topic_reward_weight(19) == 0.0);
    ck_assert(gov_topic_reward_weight(-1) == 0.0);
    ck_assert(!gov_reward_vote_counts(0));
    ck_assert(gov_reward_vote_counts(1));
    ck_assert(gov_reward_vote_counts(2));
    ck_assert(!gov_reward_vote_counts(3));
}
END_TEST

START_TEST(test_shares)
{
    /* two neurons of 1 and 3 voting power on one proposal of weight 1 and total 4 share 1:3 */
    ck_assert_uint_eq(gov_reward_share(1.0, 1000.0, 4.0), 250);
    ck_assert_uint_eq(gov_reward_share(3.0, 1000.0, 4.0), 750);
    /* a neuron that did not vote on part of the total: the rest is not paid (no rollover) */
    ck_assert_uint_eq(gov_reward_share(1.0, 1000.0, 8.0), 125);
    /* floor */
    ck_assert_uint_eq(gov_reward_share(1.0, 1000.0, 3.0), 333);
    /* a denominator below 0.001: nothing */
    ck_assert_uint_eq(gov_reward_share(1.0, 1000.0, 0.0009), 0);
    ck_assert_uint_eq(gov_reward_share(0.0, 1000.0, 0.0), 0);
    ck_assert_uint_eq(gov_reward_share(1.0, 1000.0, NAN), 0);
    /* conversions */
    ck_assert_uint_eq(gov_reward_e8s(-1.0), 0);
    ck_assert_uint_eq(gov_reward_e8s(NAN), 0);
    ck_assert_uint_eq(gov_reward_e8s(1.999), 1);
    ck_assert_uint_eq(gov_reward_e8s(1e30), UINT64_MAX);
    ck_assert_uint_eq(gov_reward_e8s(INFINITY), UINT64_MAX);
}
END_TEST


/* A proposal over the given arrays. */
static gov_reward_proposal_t prop(uint64_t id, int32_t topic, uint64_t total, size_t n,
                                  const uint64_t *ids, const uint64_t *vps, const uint8_t *votes)
{
    gov_reward_proposal_t p = {.proposal_id = id,
                               .topic = topic,
                               .total_potential_voting_power = total,
                               .n = n,
                               .neuron_ids = ids,
                               .voting_powers = vps,
                               .votes = votes};
    return p;
}

static bool not_seven(void *ctx, uint64_t id)
{
    (void)ctx;
    return id != 7;
}

START_TEST(test_distribution_proportions)
{
    /* proposal 1 (topic 3, weight 1): neurons 1, 2, 3 with 100, 300, 600; 3 did not vote.
     * proposal 2 (Governance, weight 20): neurons 2, 5 with 300, 100, both voted. */
    uint64_t ids1[] = {1, 2, 3}, vps1[] = {100, 300, 600};
    uint8_t v1[] = {1, 2, 0};
    uint64_t ids2[] = {2, 5}, vps2[] = {300, 100};
    uint8_t v2[] = {1, 1};
    gov_reward_proposal_t ps[2] = {prop(1, 3, 1000, 3, ids1, vps1, v1),
                                   prop(2, 4, 400, 2, ids2, vps2, v2)};
    uint64_t *ids = NULL, *amounts = NULL, distributed = 0;
    size_t n = 0;
    double pool = 9000000.0;
    ck_assert(gov_reward_distribute(ps, 2, pool, NULL, NULL, &ids, &amounts, &n, &distributed));
    /* denominator = 1 * 1000 + 20 * 400 = 9000 */
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(ids[0], 1);
    ck_assert_uint_eq(amounts[0], 100000);          /* 100 / 9000 */
    ck_assert_uint_eq(ids[1], 2);
    ck_assert_uint_eq(amounts[1], 300000 + 6000000); /* (300 + 20 * 300) / 9000 */
    ck_assert_uint_eq(ids[2], 5);
    ck_assert_uint_eq(amounts[2], 2000000); /* 20 * 100 / 9000 */
    ck_assert_uint_eq(distributed, 8400000); /* neuron 3 did not vote: 600 000 undistributed */
    free(ids);
    free(amounts);
    /* a fallback denominator (total 0: the ballots' sum) */
    ps[0].total_potential_voting_power = 0;
    ck_assert(gov_reward_distribute(ps, 1, 1000.0, NULL, NULL, &ids, &amounts, &n, &distributed));
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(amounts[0], 100); /* 100 / 1000 */
    ck_assert_uint_eq(amounts[1], 300);
    free(ids);
    free(amounts);
}
END_TEST

START_TEST(test_distribution_filters_and_edges)
{
    uint64_t ids1[] = {2, 7, 9}, vps1[] = {10, 10, 10};
    uint8_t v1[] = {1, 1, 1};
    gov_reward_proposal_t p = prop(1, 3, 30, 3, ids1, vps1, v1);
    uint64_t *ids = NULL, *amounts = NULL, distributed = 0;
    size_t n = 0;
    /* a removed neuron gets nothing and nothing is redistributed */
    ck_assert(gov_reward_distribute(&p, 1, 300.0, not_seven, NULL, &ids, &amounts, &n,
                                    &distributed));
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ids[0], 2);
    ck_assert_uint_eq(ids[1], 9);
    ck_assert_uint_eq(distributed, 200);
    free(ids);
    free(amounts);
    /* nothing settled, or a denominator below 0.001: nothing */
    ck_assert(gov_reward_distribute(NULL, 0, 300.0, NULL, NULL, &ids, &amounts, &n,
                                    &distributed));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(ids);
    uint64_t zero[] = {0, 0, 0};
    p = prop(1, 3, 0, 3, ids1, zero, v1);
    ck_assert(gov_reward_distribute(&p, 1, 300.0, NULL, NULL, &ids, &amounts, &n,
                                    &distributed));
    ck_assert_uint_eq(n, 0);
    /* NeuronManagement has weight 0: a proposal of it alone pays nothing */
    p = prop(1, 1, 30, 3, ids1, vps1, v1);
    ck_assert(gov_reward_distribute(&p, 1, 300.0, NULL, NULL, &ids, &amounts, &n,
                                    &distributed));
    ck_assert_uint_eq(n, 0);
    /* a tiny pool floors every share to 0: nothing listed */
    p = prop(1, 3, 30, 3, ids1, vps1, v1);
    ck_assert(gov_reward_distribute(&p, 1, 2.0, NULL, NULL, &ids, &amounts, &n, &distributed));
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(distributed, 0);
}
END_TEST

/* The merge against a direct computation: random sparse ballot sets over 3..9 proposals. */
START_TEST(test_distribution_random_against_direct)
{
    srand(7);
    enum { N = 2000, K = 9 };
    static uint64_t ids[K][N], vps[K][N];
    static uint8_t votes[K][N];
    static double used[N + 1];
    for (int round = 0; round < 20; round++) {
        size_t k = 3 + (size_t)(rand() % 7);
        gov_reward_proposal_t ps[K];
        memset(used, 0, sizeof used);
        double denominator = 0;
        for (size_t p = 0; p < k; p++) {
            size_t n = 0;
            int32_t topic = rand() % 19;
            double w = gov_topic_reward_weight(topic);
            uint64_t total = 0;
            for (uint64_t id = 1; id <= N; id++) {
                if (rand() % 3 == 0)
                    continue;
                ids[p][n] = id;
                vps[p][n] = (uint64_t)(rand() % 100000);
                votes[p][n] = (uint8_t)(rand() % 3);
                total += vps[p][n];
                if (votes[p][n])
                    used[id] += w * (double)vps[p][n];
                n++;
            }
            total += (uint64_t)(rand() % 1000);
            denominator += w * (double)total;
            ps[p] = prop(p + 1, topic, total, n, ids[p], vps[p], votes[p]);
        }
        double pool = 1e12;
        uint64_t *out_ids = NULL, *amounts = NULL, distributed = 0, sum = 0;
        size_t n = 0, j = 0;
        ck_assert(gov_reward_distribute(ps, k, pool, NULL, NULL, &out_ids, &amounts, &n,
                                        &distributed));
        for (uint64_t id = 1; id <= N; id++) {
            uint64_t want = gov_reward_share(used[id], pool, denominator);
            if (want == 0)
                continue;
            ck_assert_uint_lt(j, n);
            ck_assert_uint_eq(out_ids[j], id);
            ck_assert_uint_eq(amounts[j], want);
            sum += want;
            j++;
        }
        ck_assert_uint_eq(j, n);
        ck_assert_uint_eq(sum, distributed);
        ck_assert(distributed <= (uint64_t)pool);
        free(out_ids);
        free(amounts);
    }
}
END_TEST

static Suite *governance_rewards_suite(void)
{
    Suite *s = suite_create("governance_rewards");
    TCase *v = tcase_create("vectors");
    tcase_add_test(v, test_v06_reward_pool_fraction);
    tcase_add_test(v, test_v14_reward_pool);
    tcase_add_test(v, test_v15_node_provider_reward);
    suite_add_tcase(s, v);
    TCase *e = tcase_create("arithmetic");
    tcase_add_test(e, test_weights_and_votes);
    tcase_add_test(e, test_shares);
    tcase_add_test(e, test_distribution_proportions);
    tcase_add_test(e, test_distribution_filters_and_edges);
    tcase_add_test(e, test_distribution_random_against_direct);
    suite_add_tcase(s, e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(governance_rewards_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
