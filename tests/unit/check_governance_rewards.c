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
#include <time.h>

#include "account.h"
#include "crypto.h"
#include "gov.h"
#include "gov_proposal.h"
#include "gov_reward.h"
#include "principal.h"

#define ICP 100000000ULL

static void setup(void)
{
    ck_assert(crypto_init());
}

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
            ck_assert_msg(a - b >= b - c - 1e-20, "not convex at day %llu", (unsigned long long)d);
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
    ck_assert_uint_eq(amounts[0], 100000); /* 100 / 9000 */
    ck_assert_uint_eq(ids[1], 2);
    ck_assert_uint_eq(amounts[1], 300000 + 6000000); /* (300 + 20 * 300) / 9000 */
    ck_assert_uint_eq(ids[2], 5);
    ck_assert_uint_eq(amounts[2], 2000000);  /* 20 * 100 / 9000 */
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
    ck_assert(
        gov_reward_distribute(&p, 1, 300.0, not_seven, NULL, &ids, &amounts, &n, &distributed));
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ids[0], 2);
    ck_assert_uint_eq(ids[1], 9);
    ck_assert_uint_eq(distributed, 200);
    free(ids);
    free(amounts);
    /* nothing settled, or a denominator below 0.001: nothing */
    ck_assert(gov_reward_distribute(NULL, 0, 300.0, NULL, NULL, &ids, &amounts, &n, &distributed));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(ids);
    uint64_t zero[] = {0, 0, 0};
    p = prop(1, 3, 0, 3, ids1, zero, v1);
    ck_assert(gov_reward_distribute(&p, 1, 300.0, NULL, NULL, &ids, &amounts, &n, &distributed));
    ck_assert_uint_eq(n, 0);
    /* NeuronManagement has weight 0: a proposal of it alone pays nothing */
    p = prop(1, 1, 30, 3, ids1, vps1, v1);
    ck_assert(gov_reward_distribute(&p, 1, 300.0, NULL, NULL, &ids, &amounts, &n, &distributed));
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
        ck_assert(
            gov_reward_distribute(ps, k, pool, NULL, NULL, &out_ids, &amounts, &n, &distributed));
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

/* ==== the state machine's rewards ==== */

#define G0 1700000000ULL /* genesis */
#define DAY GOV_ONE_DAY

static gov_t *G;

static void user(uint32_t n, principal_t *p)
{
    uint8_t der[44] = {0};
    der[40] = (uint8_t)(n >> 24);
    der[41] = (uint8_t)(n >> 16);
    der[42] = (uint8_t)(n >> 8);
    der[43] = (uint8_t)n;
    principal_self_authenticating(der, sizeof der, p);
}

/* A state machine after genesis at G0 (no modulation reads), without neurons. */
static gov_t *fresh(void)
{
    gov_config_t cfg;
    gov_config_default(&cfg);
    gov_t *g = gov_new(&cfg);
    ck_assert_ptr_nonnull(g);
    gov_info_t info;
    memset(&info, 0, sizeof info);
    info.genesis_done = true;
    info.rules = GOV_RULES_CURRENT;
    info.genesis_timestamp_seconds = G0;
    gov_economics_default(GOV_RULES_CURRENT, &info.economics);
    info.modulation.source = GOV_MM_GENESIS;
    gov_creation_limiter_init(&info.limiter, info.economics.neuron_creation_spike, G0);
    info.next_intent_id = 1;
    info.next_flow_id = 1;
    gov_load_info(g, &info);
    return g;
}

/* Neuron id with a stake; auto-stake for every third. */
static void load_neuron(gov_t *g, uint64_t id)
{
    static gov_neuron_full_t f;
    memset(&f, 0, sizeof f);
    f.n.id = id;
    memcpy(f.n.subaccount, &id, sizeof id);
    f.n.subaccount[31] = 0x5a;
    user((uint32_t)(id % 1000) + 1, &f.n.controller);
    f.n.dissolve.dissolve_delay_seconds = GOV_ONE_YEAR;
    f.n.dissolve.aging_since_timestamp_seconds = G0;
    f.n.cached_neuron_stake_e8s = 10 * ICP;
    f.n.created_timestamp_seconds = G0;
    f.n.auto_stake_maturity = id % 3 == 0;
    f.n.voting_power_refreshed_timestamp_seconds = G0;
    f.n.visibility = GOV_VISIBILITY_PRIVATE;
    nns_error_t err;
    ck_assert_msg(gov_load_neuron(g, &f, &err), "%s", err.detail);
}

/* A settled-able Motion proposal: created at `at`, a 4-day period (deadline at + 4 days),
 * ballots for neurons [1, n] with voting power id * 10; votes: yes for odd ids, no for ids
 * divisible by 4, none for the others. */
static void load_motion(gov_t *g, uint64_t id, int32_t topic, uint64_t at, uint64_t n)
{
    gov_action_t a;
    memset(&a, 0, sizeof a);
    a.kind = GOV_ACTION_MOTION;
    a.u.motion.motion_text = "a motion";
    uint64_t *ids = malloc(n * sizeof *ids), *vps = malloc(n * sizeof *vps);
    uint8_t *votes = malloc(n);
    ck_assert(ids && vps && votes);
    uint64_t yes = 0, no = 0, total = 0;
    for (uint64_t i = 0; i < n; i++) {
        ids[i] = i + 1;
        vps[i] = (i + 1) * 10;
        votes[i] = (uint8_t)((i + 1) % 2 == 1   ? GOV_VOTE_YES
                             : (i + 1) % 4 == 0 ? GOV_VOTE_NO
                                                : GOV_VOTE_UNSPECIFIED);
        total += vps[i];
        if (votes[i] == GOV_VOTE_YES)
            yes += vps[i];
        if (votes[i] == GOV_VOTE_NO)
            no += vps[i];
    }
    gov_proposal_t p;
    memset(&p, 0, sizeof p);
    p.id = id;
    p.proposer = 1;
    p.topic = topic;
    p.action_kind = GOV_ACTION_MOTION;
    p.reject_cost_e8s = ICP;
    p.proposal_timestamp_seconds = at;
    p.decided_timestamp_seconds = at + 1;
    p.executed_timestamp_seconds = at + 1;
    p.has_wait_for_quiet = true;
    p.voting_period_seconds = 4 * DAY;
    p.wait_for_quiet_deadline_seconds = at + 4 * DAY;
    p.total_potential_voting_power = total * 2;
    p.tally.yes = yes;
    p.tally.no = no;
    p.tally.total = total;
    p.tally.timestamp_seconds = at;
    p.ballots_count = n;
    p.ballots_held = true;
    nns_error_t err;
    ck_assert_msg(gov_load_proposal(g, &p, "a title", "a summary", NULL, "{\"type\":\"Motion\"}",
                                    &a, ids, vps, votes, n, &err),
                  "%s", err.detail);
    free(ids);
    free(vps);
    free(votes);
}

/* What the store would keep, for a reload: the events, the latest distribution and its
 * progress, the monthly rewards, the flows and intents in flight and every neuron. */
typedef struct {
    gov_reward_event_t ev[16];
    size_t nev;
    uint64_t dist_day;
    uint64_t *ids, *amounts;
    size_t n, credited;
} store_t;

static void store_round(store_t *m, const gov_round_t *r)
{
    const gov_reward_event_t *ev = gov_round_reward_event(r);
    if (ev) {
        ck_assert_uint_lt(m->nev, 16);
        m->ev[m->nev++] = *ev;
        uint64_t day;
        const uint64_t *ids, *amounts;
        size_t n;
        ck_assert(gov_round_reward_distribution(r, &day, &ids, &amounts, &n));
        ck_assert_uint_eq(day, ev->day_after_genesis);
        free(m->ids);
        free(m->amounts);
        m->ids = malloc((n ? n : 1) * sizeof *m->ids);
        m->amounts = malloc((n ? n : 1) * sizeof *m->amounts);
        if (n) {
            memcpy(m->ids, ids, n * sizeof *ids);
            memcpy(m->amounts, amounts, n * sizeof *amounts);
        }
        m->dist_day = day;
        m->n = n;
        m->credited = 0;
    }
    gov_reward_batch_t b;
    if (gov_round_reward_batch(r, &b)) {
        ck_assert_uint_eq(b.day_after_genesis, m->dist_day);
        ck_assert_uint_eq(b.offset, m->credited);
        ck_assert_uint_eq(b.total, m->n);
        for (size_t i = 0; i < b.n; i++)
            ck_assert_uint_eq(b.neuron_ids[i], m->ids[b.offset + i]);
        m->credited += b.n;
    }
}

/* Runs a tick at now; returns the intents it emitted (copied into out, at most max). */
static size_t tick(gov_t *g, uint64_t now, store_t *m, gov_intent_t *out, size_t max)
{
    gov_round_t *r = gov_round_begin(g);
    ck_assert_ptr_nonnull(r);
    bool work = false;
    nns_error_t err;
    ck_assert_msg(gov_apply_tick(g, r, now, &work, &err), "%s", err.detail);
    size_t n;
    const gov_intent_t *in = gov_round_intents(r, &n);
    size_t k = n < max ? n : max;
    for (size_t i = 0; i < k; i++)
        out[i] = in[i];
    if (m)
        store_round(m, r);
    gov_round_commit(g, &r);
    return n;
}

/* A tick's reward reads (the supply read and the conversion-rate read): how many, the first into
 * *out when not NULL. */
static size_t reward_reads(gov_t *g, uint64_t now, store_t *m, gov_intent_t *out)
{
    gov_intent_t in[8];
    size_t n = tick(g, now, m, in, 8), k = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        if (in[i].purpose == GOV_PURPOSE_SUPPLY || in[i].purpose == GOV_PURPOSE_AVERAGE_RATE) {
            if (k == 0 && out)
                *out = in[i];
            k++;
        }
    return k;
}

static void supply(gov_t *g, uint64_t intent_id, uint64_t supply_e8s, uint64_t now, store_t *m)
{
    gov_round_t *r = gov_round_begin(g);
    ck_assert_ptr_nonnull(r);
    gov_supply_result_t res = {.ok = true, .supply_e8s = supply_e8s};
    gov_outcome_t out;
    nns_error_t err;
    ck_assert_msg(gov_apply_supply_read(g, r, intent_id, &res, now, &out, &err), "%s", err.detail);
    ck_assert(out.finished && out.ok && !out.has_request);
    if (m)
        store_round(m, r);
    gov_round_commit(g, &r);
}

static uint64_t maturity(gov_t *g, uint64_t id, uint64_t *staked)
{
    static gov_neuron_full_t f;
    ck_assert(gov_neuron(g, id, G0, &f));
    *staked = f.n.staked_maturity_e8s_equivalent;
    return f.n.maturity_e8s_equivalent;
}

START_TEST(test_daily_event_settles_and_credits)
{
    G = fresh();
    enum { N = 120 };
    for (uint64_t id = 1; id <= N; id++)
        load_neuron(G, id);
    /* 1 and 2 are ReadyToSettle at the day-1 boundary, 3 is still open then, 4 is a
     * NeuronManagement proposal (Ineligible) */
    load_motion(G, 1, GOV_TOPIC_NETWORK_ECONOMICS, G0 - 4 * DAY, N);
    load_motion(G, 2, GOV_TOPIC_GOVERNANCE, G0 - 3 * DAY - 100, 60);
    load_motion(G, 3, GOV_TOPIC_NETWORK_ECONOMICS, G0, N);
    gov_load_done(G);
    store_t m;
    memset(&m, 0, sizeof m);
    gov_intent_t in[4];
    /* nothing before a full day */
    ck_assert_uint_eq(reward_reads(G, G0 + DAY - 1, &m, NULL), 0);
    /* the supply read */
    ck_assert(gov_tick_due(G, G0 + DAY + 5));
    ck_assert_uint_eq(reward_reads(G, G0 + DAY + 5, &m, &in[0]), 1);
    ck_assert_int_eq(in[0].kind, GOV_INTENT_GET);
    ck_assert_int_eq(in[0].target, GOV_TARGET_LEDGER);
    ck_assert_int_eq(in[0].purpose, GOV_PURPOSE_SUPPLY);
    ck_assert_str_eq(in[0].path, "/v1/supply");
    /* one at a time */
    ck_assert_uint_eq(reward_reads(G, G0 + DAY + 6, &m, NULL), 0);
    uint64_t sup = 500000000ULL * ICP;
    supply(G, in[0].id, sup, G0 + DAY + 10, &m);
    gov_reward_event_t ev;
    ck_assert(gov_latest_reward_event(G, &ev));
    ck_assert_uint_eq(ev.day_after_genesis, 1);
    ck_assert_uint_eq(ev.actual_timestamp_seconds, G0 + DAY + 10);
    ck_assert_uint_eq(ev.rounds_since_last_distribution, 1);
    double pool = (double)sup * gov_reward_rate(GOV_RULES_CURRENT, 0);
    ck_assert_uint_eq(ev.total_available_e8s_equivalent, gov_reward_e8s(pool));
    ck_assert_uint_eq(ev.latest_round_available_e8s_equivalent, gov_reward_e8s(pool));
    ck_assert_uint_eq(ev.nsettled, 2);
    ck_assert_uint_eq(ev.settled_proposals[0], 1);
    ck_assert_uint_eq(ev.settled_proposals[1], 2);
    /* the proposals are settled and their ballots released; 3 is untouched */
    bool oomf = false;
    gov_proposal_full_t *p = gov_proposal_get(G, 1, &oomf);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->p.reward_event_round, 1);
    ck_assert(!p->p.ballots_held);
    ck_assert_int_eq(gov_proposal_reward_status(&p->p, G0 + DAY + 10), GOV_REWARD_SETTLED);
    free(p);
    p = gov_proposal_get(G, 3, &oomf);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->p.reward_event_round, 0);
    ck_assert(p->p.ballots_held);
    free(p);
    /* the expected rewards: weights 1 (proposal 1, total 2 * sum) and 20 (proposal 2) */
    double t1 = 0, t2 = 0;
    for (uint64_t id = 1; id <= N; id++)
        t1 += (double)(id * 10);
    for (uint64_t id = 1; id <= 60; id++)
        t2 += (double)(id * 10);
    double denominator = 1.0 * (t1 * 2) + 20.0 * (t2 * 2);
    uint64_t want[N + 1], sum = 0;
    for (uint64_t id = 1; id <= N; id++) {
        bool voted = id % 2 == 1 || id % 4 == 0;
        double used = voted ? (double)(id * 10) + (id <= 60 ? 20.0 * (double)(id * 10) : 0) : 0;
        want[id] = gov_reward_share(used, pool, denominator);
        sum += want[id];
    }
    ck_assert_uint_eq(ev.distributed_e8s_equivalent, sum);
    /* nothing is credited in the event's round */
    uint64_t st = 0;
    ck_assert_uint_eq(maturity(G, 1, &st), 0);
    uint64_t day;
    size_t credited, total;
    ck_assert(gov_reward_progress(G, &day, &credited, &total));
    ck_assert_uint_eq(day, 1);
    ck_assert_uint_eq(credited, 0);
    ck_assert_uint_eq(total, 90); /* voters: odd ids and multiples of 4 */
    /* the next tick credits (one batch covers them all) */
    ck_assert(gov_tick_due(G, G0 + DAY + 20));
    tick(G, G0 + DAY + 20, &m, in, 4);
    ck_assert(!gov_reward_progress(G, &day, &credited, &total));
    ck_assert_uint_eq(m.credited, 90);
    for (uint64_t id = 1; id <= N; id++) {
        uint64_t mat = maturity(G, id, &st);
        if (id % 3 == 0) {
            ck_assert_uint_eq(mat, 0);
            ck_assert_uint_eq(st, want[id]);
        } else {
            ck_assert_uint_eq(mat, want[id]);
            ck_assert_uint_eq(st, 0);
        }
    }
    /* the proportions: neuron 3 (yes, 30, weight 1 and 20) gets 3x what neuron 1 gets */
    ck_assert_uint_le(want[3] > 3 * want[1] ? want[3] - 3 * want[1] : 3 * want[1] - want[3], 3);
    ck_assert_uint_eq(reward_reads(G, G0 + DAY + 30, &m, NULL), 0);
    /* day 2: proposal 3 (deadline G0 + 4 days) is not ready; an event with nothing settled */
    ck_assert_uint_eq(reward_reads(G, G0 + 2 * DAY, &m, &in[0]), 1);
    supply(G, in[0].id, sup, G0 + 2 * DAY + 1, &m);
    ck_assert(gov_latest_reward_event(G, &ev));
    ck_assert_uint_eq(ev.day_after_genesis, 2);
    ck_assert_uint_eq(ev.nsettled, 0);
    ck_assert_uint_eq(ev.distributed_e8s_equivalent, 0);
    uint64_t day2 = ev.total_available_e8s_equivalent;
    ck_assert_uint_eq(day2, gov_reward_e8s((double)sup * gov_reward_rate(GOV_RULES_CURRENT, 1)));
    ck_assert(!gov_reward_progress(G, &day, &credited, &total));
    /* days 3 and 4 skipped, day 5: proposal 3 settles with the rollover and three days */
    ck_assert_uint_eq(reward_reads(G, G0 + 5 * DAY + 7, &m, &in[0]), 1);
    supply(G, in[0].id, sup, G0 + 5 * DAY + 8, &m);
    ck_assert(gov_latest_reward_event(G, &ev));
    ck_assert_uint_eq(ev.day_after_genesis, 5);
    ck_assert_uint_eq(ev.rounds_since_last_distribution, 4);
    ck_assert_uint_eq(ev.nsettled, 1);
    ck_assert_uint_eq(ev.settled_proposals[0], 3);
    double pool5 = gov_reward_pool(sup, gov_reward_fraction(GOV_RULES_CURRENT, 2, 5), day2);
    ck_assert_uint_eq(ev.total_available_e8s_equivalent, gov_reward_e8s(pool5));
    /* the list, newest first, with a keyset cursor */
    gov_reward_event_t *page = malloc(3 * sizeof *page);
    bool more = false;
    ck_assert_uint_eq(gov_reward_events(G, 0, page, 2, &more), 2);
    ck_assert(more);
    ck_assert_uint_eq(page[0].day_after_genesis, 5);
    ck_assert_uint_eq(page[1].day_after_genesis, 2);
    ck_assert_uint_eq(gov_reward_events(G, page[1].day_after_genesis, page, 3, &more), 1);
    ck_assert(!more);
    ck_assert_uint_eq(page[0].day_after_genesis, 1);
    ck_assert_uint_eq(page[0].nsettled, 2);
    free(page);
    free(m.ids);
    free(m.amounts);
    gov_destroy(&G);
}
END_TEST

START_TEST(test_failed_supply_read_retries)
{
    G = fresh();
    load_neuron(G, 1);
    gov_load_done(G);
    gov_intent_t in[2];
    ck_assert_uint_eq(tick(G, G0 + DAY, NULL, in, 2), 1);
    gov_round_t *r = gov_round_begin(G);
    gov_supply_result_t res = {.ok = false};
    snprintf(res.error, sizeof res.error, "ledger down");
    gov_outcome_t out;
    nns_error_t err;
    /* a wrong intent id */
    ck_assert(!gov_apply_supply_read(G, r, in[0].id + 100, &res, G0 + DAY, &out, &err));
    ck_assert_str_eq(err.code, "UnknownIntent");
    ck_assert(gov_apply_supply_read(G, r, in[0].id, &res, G0 + DAY + 1, &out, &err));
    ck_assert(out.finished && !out.ok);
    ck_assert_str_eq(out.error.code, "External");
    gov_round_commit(G, &r);
    gov_reward_event_t ev;
    ck_assert(!gov_latest_reward_event(G, &ev));
    ck_assert(!gov_tick_due(G, G0 + DAY + 3600));
    ck_assert_uint_eq(tick(G, G0 + DAY + 3601, NULL, in, 2), 1);
    ck_assert_int_eq(in[0].purpose, GOV_PURPOSE_SUPPLY);
    gov_destroy(&G);
}
END_TEST

/* Batches across rounds, a discarded round, and a reload between batches (what the store
 * mirrors is enough to resume). */
START_TEST(test_batches_resume_after_reload)
{
    enum { N = 2 * GOV_REWARD_BATCH_NEURONS + 1234 };
    G = fresh();
    for (uint64_t id = 1; id <= N; id++)
        load_neuron(G, id);
    load_motion(G, 1, GOV_TOPIC_NETWORK_ECONOMICS, G0 - 4 * DAY, N);
    gov_load_done(G);
    store_t m;
    memset(&m, 0, sizeof m);
    gov_intent_t in[2];
    ck_assert_uint_eq(reward_reads(G, G0 + DAY, &m, &in[0]), 1);
    supply(G, in[0].id, 400000000ULL * ICP, G0 + DAY, &m);
    size_t voters = m.n;
    ck_assert_uint_gt(voters, GOV_REWARD_BATCH_NEURONS);
    /* a discarded batch changes nothing */
    gov_round_t *r = gov_round_begin(G);
    bool work = false;
    nns_error_t err;
    ck_assert(gov_apply_tick(G, r, G0 + DAY + 1, &work, &err));
    ck_assert(work);
    gov_round_discard(G, &r);
    uint64_t day;
    size_t credited, total;
    ck_assert(gov_reward_progress(G, &day, &credited, &total));
    ck_assert_uint_eq(credited, 0);
    /* one batch committed */
    tick(G, G0 + DAY + 2, &m, in, 2);
    ck_assert_uint_eq(m.credited, GOV_REWARD_BATCH_NEURONS);
    /* reload: neurons as now, the events and the distribution with its progress */
    gov_t *g2 = fresh();
    for (uint64_t id = 1; id <= N; id++) {
        static gov_neuron_full_t f;
        ck_assert(gov_neuron(G, id, G0, &f));
        ck_assert(gov_load_neuron(g2, &f, &err));
    }
    for (size_t i = 0; i < m.nev; i++)
        ck_assert(gov_load_reward_event(g2, &m.ev[i], &err));
    ck_assert(
        gov_load_reward_distribution(g2, m.dist_day, m.ids, m.amounts, m.n, m.credited, &err));
    gov_load_done(g2);
    ck_assert(gov_reward_progress(g2, &day, &credited, &total));
    ck_assert_uint_eq(credited, GOV_REWARD_BATCH_NEURONS);
    /* both finish alike; no new event starts before the distribution is done */
    store_t m2 = m;
    m2.ids = malloc(m.n * sizeof *m2.ids);
    m2.amounts = malloc(m.n * sizeof *m2.amounts);
    memcpy(m2.ids, m.ids, m.n * sizeof *m.ids);
    memcpy(m2.amounts, m.amounts, m.n * sizeof *m.amounts);
    int rounds = 0;
    size_t reads = 0, reads2 = 0;
    while (gov_reward_progress(G, &day, &credited, &total)) {
        ck_assert(gov_reward_progress(g2, &day, &credited, &total));
        /* the next day's supply read comes with the last batch, not before */
        ck_assert_uint_eq(reads, 0);
        reads += reward_reads(G, G0 + 2 * DAY + (uint64_t)rounds, &m, &in[0]);
        reads2 += reward_reads(g2, G0 + 2 * DAY + (uint64_t)rounds, &m2, NULL);
        rounds++;
    }
    ck_assert_uint_eq(reads, 1);
    ck_assert_uint_eq(reads2, 1);
    ck_assert_int_eq(in[0].purpose, GOV_PURPOSE_SUPPLY);
    ck_assert_int_eq(rounds,
                     (int)((voters - GOV_REWARD_BATCH_NEURONS + GOV_REWARD_BATCH_NEURONS - 1) /
                           GOV_REWARD_BATCH_NEURONS));
    ck_assert(!gov_reward_progress(G, &day, &credited, &total));
    ck_assert(!gov_reward_progress(g2, &day, &credited, &total));
    ck_assert_uint_eq(m.credited, voters);
    uint64_t sum = 0;
    for (uint64_t id = 1; id <= N; id++) {
        uint64_t s1, s2;
        uint64_t a = maturity(G, id, &s1), b = maturity(g2, id, &s2);
        ck_assert_uint_eq(a, b);
        ck_assert_uint_eq(s1, s2);
        sum += a + s1;
    }
    gov_reward_event_t ev;
    ck_assert(gov_latest_reward_event(G, &ev));
    ck_assert_uint_eq(sum, ev.distributed_e8s_equivalent);
    /* one read at a time */
    ck_assert_uint_eq(reward_reads(G, G0 + 2 * DAY + 10, &m, NULL), 0);
    free(m.ids);
    free(m.amounts);
    free(m2.ids);
    free(m2.amounts);
    gov_destroy(&g2);
    gov_destroy(&G);
}
END_TEST

START_TEST(test_monthly_node_provider_rewards)
{
    G = fresh();
    principal_t a, b, c;
    user(501, &a);
    user(502, &b);
    user(503, &c);
    gov_node_provider_t np;
    nns_error_t err;
    memset(&np, 0, sizeof np);
    np.id = a; /* 100 XDR a month, to its default account */
    np.has_xdr_permyriad_per_month = true;
    np.xdr_permyriad_per_month = 1000000;
    ck_assert(gov_load_node_provider(G, &np, &err));
    memset(&np, 0, sizeof np);
    np.id = b; /* to a reward account; above the maximum */
    np.has_reward_account = true;
    memset(np.reward_account.hash, 7, sizeof np.reward_account.hash);
    np.has_xdr_permyriad_per_month = true;
    np.xdr_permyriad_per_month = UINT64_MAX / 2;
    ck_assert(gov_load_node_provider(G, &np, &err));
    memset(&np, 0, sizeof np);
    np.id = c; /* no rewards-table entry */
    ck_assert(gov_load_node_provider(G, &np, &err));
    gov_load_done(G);
    gov_intent_t in[4];
    /* (the daily reward events run too: skip their intents) */
    size_t n = tick(G, G0 + GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS, NULL, in, 4);
    const gov_intent_t *rate = NULL;
    for (size_t i = 0; i < n; i++)
        if (in[i].purpose == GOV_PURPOSE_AVERAGE_RATE)
            rate = &in[i];
    ck_assert_ptr_nonnull(rate);
    ck_assert_int_eq(rate->target, GOV_TARGET_CMC);
    ck_assert_str_eq(rate->path, "/v1/cycles/average-conversion-rate");
    gov_round_t *r = gov_round_begin(G);
    gov_average_rate_result_t res = {.ok = true, .xdr_permyriad_per_icp = 50000};
    gov_outcome_t out;
    uint64_t now = G0 + GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS + 5;
    ck_assert_msg(gov_apply_average_rate_read(G, r, rate->id, &res, now, &out, &err), "%s",
                  err.detail);
    ck_assert(out.finished && out.ok);
    size_t nin;
    const gov_intent_t *mints = gov_round_intents(r, &nin);
    ck_assert_uint_eq(nin, 1);
    gov_intent_t mint = mints[0];
    ck_assert_int_eq(mint.kind, GOV_INTENT_TRANSFER);
    ck_assert_int_eq(mint.purpose, GOV_PURPOSE_MINT);
    ck_assert_uint_eq(mint.amount, 2000000000ULL); /* vector 15: 20 ICP */
    ck_assert_uint_eq(mint.fee, 0);
    account_id_t acc;
    account_id_of(&a, NULL, &acc);
    ck_assert(memcmp(mint.to.hash, acc.hash, sizeof acc.hash) == 0);
    const gov_monthly_np_rewards_t *rm = gov_round_monthly_np_rewards(r);
    ck_assert_ptr_nonnull(rm);
    ck_assert_uint_eq(rm->n, 2);
    ck_assert_uint_eq(rm->xdr_conversion_rate, 50000);
    gov_round_commit(G, &r);
    /* not again while a mint is pending, even a month later */
    n = tick(G, now + 2 * GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS, NULL, in, 4);
    for (size_t i = 0; i < n && i < 4; i++)
        ck_assert_int_ne(in[i].purpose, GOV_PURPOSE_AVERAGE_RATE);
    r = gov_round_begin(G);
    gov_transfer_result_t tr = {.ok = true, .block_index = 77};
    ck_assert(gov_apply_transfer_done(G, r, mint.id, &tr, now + 10, &out, &err));
    ck_assert(out.finished && out.ok);
    gov_round_commit(G, &r);
    gov_monthly_np_rewards_t *mm = malloc(sizeof *mm);
    ck_assert(gov_monthly_np_rewards(G, mm));
    ck_assert_uint_eq(mm->timestamp_seconds, now);
    bool seen_a = false, seen_b = false;
    for (size_t i = 0; i < mm->n; i++) {
        if (principal_equal(&mm->rewards[i].node_provider, &a)) {
            seen_a = true;
            ck_assert_int_eq(mm->rewards[i].status, GOV_NP_REWARD_MINTED);
            ck_assert_uint_eq(mm->rewards[i].block_index, 77);
        }
        if (principal_equal(&mm->rewards[i].node_provider, &b)) {
            seen_b = true;
            ck_assert_int_eq(mm->rewards[i].status, GOV_NP_REWARD_REFUSED);
        }
    }
    ck_assert(seen_a && seen_b);
    free(mm);
    gov_node_provider_t *list = NULL;
    size_t nl = 0;
    ck_assert(gov_node_providers(G, &list, &nl));
    bool last = false;
    for (size_t i = 0; i < nl; i++)
        if (principal_equal(&list[i].id, &a)) {
            ck_assert(list[i].has_last_reward);
            ck_assert_uint_eq(list[i].last_reward_amount_e8s, 2000000000ULL);
            ck_assert_uint_eq(list[i].last_reward_block_index, 77);
            last = true;
        }
    ck_assert(last);
    free(list);
    /* the mints answered, the next month's read comes */
    n = tick(G, now + 2 * GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS + 1, NULL, in, 4);
    bool next = false;
    for (size_t i = 0; i < n && i < 4; i++)
        next = next || in[i].purpose == GOV_PURPOSE_AVERAGE_RATE;
    ck_assert(next);
    gov_destroy(&G);
}
END_TEST

/* RewardNodeProviders with use_registry_derived_rewards, adopted at once by its only voter,
 * starts the monthly rewards whatever the time since the last ones. */
START_TEST(test_registry_derived_rewards_proposal)
{
    G = fresh();
    load_neuron(G, 1); /* one year of dissolve delay: may propose */
    principal_t a;
    user(601, &a);
    gov_node_provider_t np;
    memset(&np, 0, sizeof np);
    np.id = a;
    np.has_xdr_permyriad_per_month = true;
    np.xdr_permyriad_per_month = 500000;
    nns_error_t err;
    ck_assert(gov_load_node_provider(G, &np, &err));
    gov_load_done(G);
    static gov_neuron_full_t f;
    ck_assert(gov_neuron(G, 1, G0, &f));
    gov_submit_args_t sa;
    memset(&sa, 0, sizeof sa);
    sa.caller = f.n.controller;
    sa.neuron_id = 1;
    sa.title = "registry rewards";
    sa.summary = "mint the rewards table";
    sa.action.kind = GOV_ACTION_REWARD_NODE_PROVIDERS;
    sa.action.u.reward_node_providers.use_registry_derived_rewards = true;
    sa.action_json = "{\"type\":\"RewardNodeProviders\",\"use_registry_derived_rewards\":true}";
    uint64_t now = G0 + 100;
    gov_round_t *r = gov_round_begin(G);
    uint64_t pid = 0;
    ck_assert_msg(gov_apply_submit(G, r, &sa, now, &pid, &err), "%s %s", err.code, err.detail);
    size_t n;
    const gov_intent_t *in = gov_round_intents(r, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(in[0].purpose, GOV_PURPOSE_AVERAGE_RATE);
    gov_intent_t rate = in[0];
    gov_round_commit(G, &r);
    bool oomf = false;
    gov_proposal_full_t *p = gov_proposal_get(G, pid, &oomf);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(gov_proposal_status(&p->p), GOV_PROPOSAL_EXECUTED);
    free(p);
    r = gov_round_begin(G);
    gov_average_rate_result_t res = {.ok = true, .xdr_permyriad_per_icp = 50000};
    gov_outcome_t out;
    ck_assert(gov_apply_average_rate_read(G, r, rate.id, &res, now + 1, &out, &err));
    in = gov_round_intents(r, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(in[0].amount, 1000000000ULL); /* 50 XDR at 5 XDR/ICP: 10 ICP */
    gov_round_commit(G, &r);
    /* a second such proposal while the mint is in flight fails */
    r = gov_round_begin(G);
    ck_assert(gov_apply_submit(G, r, &sa, now + 2, &pid, &err));
    gov_round_commit(G, &r);
    p = gov_proposal_get(G, pid, &oomf);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(gov_proposal_status(&p->p), GOV_PROPOSAL_FAILED);
    ck_assert_ptr_nonnull(strstr(p->p.failure_reason, "PreconditionFailed"));
    free(p);
    gov_destroy(&G);
}
END_TEST

/* The speed target (spec: 400,000 neurons, a day's distribution under 250 ms per round of its
 * batches and 5 s in all end to end): the state machine's share, printed. */
#if defined(__SANITIZE_ADDRESS__)
#define SPEED_NEURONS 40000 /* sanitizers: the same path, a tenth of the size, no timing */
#else
#define SPEED_NEURONS 400000
#endif

START_TEST(test_speed_400k)
{
    enum { N = SPEED_NEURONS, K = 10 };
    G = fresh();
    struct timespec t0, t1;
    for (uint64_t id = 1; id <= N; id++)
        load_neuron(G, id);
    for (uint64_t p = 1; p <= K; p++)
        load_motion(G, p, p == 1 ? GOV_TOPIC_GOVERNANCE : GOV_TOPIC_NETWORK_ECONOMICS, G0 - 4 * DAY,
                    N);
    gov_load_done(G);
    gov_intent_t in[2];
    ck_assert_uint_eq(reward_reads(G, G0 + DAY, NULL, &in[0]), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    supply(G, in[0].id, 500000000ULL * ICP, G0 + DAY, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double event_ms =
        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    double worst = event_ms, all = event_ms;
    int rounds = 0;
    uint64_t day;
    size_t credited, total;
    ck_assert(gov_reward_progress(G, &day, &credited, &total));
    ck_assert_uint_eq(total, N / 4 * 3); /* 3 in 4 neurons voted */
    while (gov_reward_progress(G, &day, &credited, &total)) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tick(G, G0 + DAY + 1 + (uint64_t)rounds, NULL, in, 2);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > worst)
            worst = ms;
        all += ms;
        rounds++;
    }
    printf("rewards with %d neurons, %d settled proposals: event round %.1f ms, %d credit "
           "rounds of %d neurons, worst round %.1f ms, all %.1f ms (state machine only, "
           "shared 2-core machine)\n",
           N, K, event_ms, rounds, GOV_REWARD_BATCH_NEURONS, worst, all);
    printf("target (under 250 ms a round, 5 s in all, with the store's commits): %s\n",
           worst < 250.0 && all < 5000.0 ? "met by the state machine" : "NOT met");
#if !defined(__SANITIZE_ADDRESS__)
    /* a bound that only a change of complexity breaks, on a noisy shared machine */
    ck_assert(worst < 1000.0 && all < 20000.0);
#endif
    gov_destroy(&G);
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
    TCase *m = tcase_create("state machine");
    tcase_add_checked_fixture(m, setup, NULL);
    tcase_set_timeout(m, 120);
    tcase_add_test(m, test_daily_event_settles_and_credits);
    tcase_add_test(m, test_failed_supply_read_retries);
    tcase_add_test(m, test_batches_resume_after_reload);
    tcase_add_test(m, test_monthly_node_provider_rewards);
    tcase_add_test(m, test_registry_derived_rewards_proposal);
    tcase_add_test(m, test_speed_400k);
    suite_add_tcase(s, m);
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
