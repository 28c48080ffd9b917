/*
 * gov_reward: the pure arithmetic of gov_reward.h. Voting rewards in f64 as upstream
 * (reward/calculation.rs); node-provider amounts in exact 128-bit integers.
 */
#include <math.h>
#include <stdlib.h>

#include "gov_reward.h"

typedef unsigned __int128 u128;

double gov_reward_rate(gov_rules_t rules, uint64_t day)
{
    /* reward/calculation.rs rewards_pool_to_distribute_in_supply_fraction_for_one_day:
     * the yearly rate falls quadratically from R0 to Rf over T days, flat afterwards. */
    const double r0 = GOV_REWARD_INITIAL_RATE / GOV_REWARD_DAYS_PER_YEAR;
    const double rf = GOV_REWARD_FINAL_RATE / GOV_REWARD_DAYS_PER_YEAR;
    const double t = GOV_REWARD_FLATTENING_DAYS;
    double d = (double)day;
    double rate = rf;
    if (d <= t) {
        double x = (d - t) / t;
        rate = rf + (r0 - rf) * x * x;
    }
    /* Mission 70 (PR #9923/#9831): the pool is multiplied by voting_rewards_adjustment_factor. */
    if (rules == GOV_RULES_CURRENT)
        rate *= GOV_REWARD_M70_ADJUSTMENT_FACTOR;
    return rate;
}

double gov_reward_fraction(gov_rules_t rules, uint64_t from_day, uint64_t to_day)
{
    /* governance.rs distribute_rewards: (last_event.day_after_genesis..day_after_genesis)
     * mapped through the daily rate and summed. */
    double sum = 0.0;
    for (uint64_t d = from_day; d < to_day; d++)
        sum += gov_reward_rate(rules, d);
    return sum;
}

double gov_reward_pool(uint64_t supply_e8s, double fraction, uint64_t rollover_e8s)
{
    /* governance.rs distribute_rewards: supply * fraction + rolling_over (f64). */
    return (double)supply_e8s * fraction + (double)rollover_e8s;
}

uint64_t gov_reward_e8s(double amount)
{
    /* Rust `as u64`: truncation toward zero, NaN -> 0, saturating at both ends. */
    if (!(amount > 0.0))
        return 0;
    if (amount >= 18446744073709551616.0)
        return UINT64_MAX;
    return (uint64_t)amount;
}

double gov_topic_reward_weight(int32_t topic)
{
    /* governance.rs Topic::reward_weight */
    switch (topic) {
    case 1: /* NeuronManagement: Ineligible, never settled */
        return 0.0;
    case GOV_TOPIC_EXCHANGE_RATE:
        return 0.01;
    case 4:  /* Governance */
    case 14: /* SnsAndCommunityFund */
        return 20.0;
    default:
        return gov_topic_valid(topic) ? 1.0 : 0.0;
    }
}

bool gov_reward_vote_counts(int32_t vote)
{
    /* distribute_voting_rewards_to_neurons: Vote::Yes | Vote::No count, Unspecified does not. */
    return vote == 1 || vote == 2;
}

uint64_t gov_reward_share(double used, double pool, double denominator)
{
    /* distribute_voting_rewards_to_neurons: (used * total_available / total_voting_rights) as
     * u64, nothing when the denominator is below 0.001. */
    if (!(denominator >= GOV_REWARD_MIN_DENOMINATOR))
        return 0;
    return gov_reward_e8s(used * pool / denominator);
}

/* Grows the output arrays to at least need entries. */
static bool grow(uint64_t **ids, uint64_t **amounts, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need)
        cap2 *= 2;
    uint64_t *a = realloc(*ids, cap2 * sizeof *a);
    if (!a)
        return false;
    *ids = a;
    uint64_t *b = realloc(*amounts, cap2 * sizeof *b);
    if (!b)
        return false;
    *amounts = b;
    *cap = cap2;
    return true;
}

bool gov_reward_distribute(const gov_reward_proposal_t *ps, size_t nps, double pool,
                           bool (*exists)(void *ctx, uint64_t neuron_id), void *ctx, uint64_t **ids,
                           uint64_t **amounts, size_t *n, uint64_t *distributed)
{
    /* governance.rs distribute_voting_rewards_to_neurons: the denominator over the settled
     * proposals (total_potential_voting_power, else the sum of the ballots), then each neuron's
     * used voting power summed proposal by proposal in the given order. The ballots are sorted
     * by neuron id, so a k-way merge visits each neuron once: O(neurons * k + ballots), no
     * per-neuron allocation. */
    *ids = *amounts = NULL;
    *n = 0;
    *distributed = 0;
    double denominator = 0.0;
    size_t maxn = 0;
    for (size_t p = 0; p < nps; p++) {
        double w = gov_topic_reward_weight(ps[p].topic);
        double total = (double)ps[p].total_potential_voting_power;
        if (ps[p].total_potential_voting_power == 0)
            for (size_t i = 0; i < ps[p].n; i++)
                total += (double)ps[p].voting_powers[i];
        denominator += w * total;
        if (ps[p].n > maxn)
            maxn = ps[p].n;
    }
    if (!(denominator >= GOV_REWARD_MIN_DENOMINATOR) || nps == 0)
        return true;
    size_t *cur = calloc(nps, sizeof *cur);
    double *weight = malloc(nps * sizeof *weight);
    size_t cap = 0, count = 0;
    uint64_t sum = 0;
    if (!cur || !weight || !grow(ids, amounts, &cap, maxn ? maxn : 1))
        goto fail;
    for (size_t p = 0; p < nps; p++)
        weight[p] = gov_topic_reward_weight(ps[p].topic);
    /* one pass over the cursors per neuron: accumulate the current smallest id and find the
     * next one */
    uint64_t min = UINT64_MAX;
    bool any = false;
    for (size_t p = 0; p < nps; p++)
        if (ps[p].n > 0 && (!any || ps[p].neuron_ids[0] < min)) {
            min = ps[p].neuron_ids[0];
            any = true;
        }
    while (any) {
        uint64_t id = min;
        double used = 0.0;
        any = false;
        min = UINT64_MAX;
        for (size_t p = 0; p < nps; p++) {
            size_t c = cur[p];
            const uint64_t *pid = ps[p].neuron_ids;
            /* a neuron has at most one ballot per proposal; equal ids are taken defensively */
            while (c < ps[p].n && pid[c] == id) {
                if (gov_reward_vote_counts(ps[p].votes[c]))
                    used += weight[p] * (double)ps[p].voting_powers[c];
                c++;
            }
            cur[p] = c;
            if (c < ps[p].n) {
                any = true;
                if (pid[c] < min)
                    min = pid[c];
            }
        }
        if (!(used > 0.0))
            continue;
        uint64_t reward = gov_reward_share(used, pool, denominator);
        if (reward == 0 || (exists && !exists(ctx, id)))
            continue;
        if (!grow(ids, amounts, &cap, count + 1))
            goto fail;
        (*ids)[count] = id;
        (*amounts)[count] = reward;
        count++;
        sum = sum > UINT64_MAX - reward ? UINT64_MAX : sum + reward;
    }
    free(cur);
    free(weight);
    if (count == 0) {
        free(*ids);
        free(*amounts);
        *ids = *amounts = NULL;
    }
    *n = count;
    *distributed = sum;
    return true;
fail:
    free(cur);
    free(weight);
    free(*ids);
    free(*amounts);
    *ids = *amounts = NULL;
    return false;
}

uint64_t gov_node_provider_rate(uint64_t average_xdr_permyriad_per_icp,
                                uint64_t minimum_icp_xdr_rate)
{
    /* governance.rs get_monthly_node_provider_rewards: max(average, minimum * 100). */
    u128 min = (u128)minimum_icp_xdr_rate * GOV_ICP_XDR_RATE_TO_BASIS_POINT_MULTIPLIER;
    uint64_t floor = min > UINT64_MAX ? UINT64_MAX : (uint64_t)min;
    return average_xdr_permyriad_per_icp > floor ? average_xdr_permyriad_per_icp : floor;
}

bool gov_node_provider_reward(uint64_t xdr_permyriad, uint64_t rate, uint64_t maximum_e8s,
                              uint64_t *amount_e8s, nns_error_t *err)
{
    /* governance.rs get_node_provider_reward: xdr_permyriad * TOKEN_SUBDIVIDABLE_BY / rate in
     * 128 bits; reward_node_provider refuses amounts above maximum_node_provider_rewards_e8s. */
    if (rate == 0) {
        *amount_e8s = 0;
        return nns_error_set(err, 422, "PreconditionFailed", "the ICP/XDR rate is zero");
    }
    u128 amount = (u128)xdr_permyriad * GOV_E8 / rate;
    if (amount > UINT64_MAX) {
        *amount_e8s = UINT64_MAX;
        return nns_error_set(err, 422, "PreconditionFailed",
                             "node provider reward does not fit 64 bits");
    }
    *amount_e8s = (uint64_t)amount;
    if (*amount_e8s > maximum_e8s)
        return nns_error_set(err, 422, "PreconditionFailed",
                             "node provider reward %llu e8s exceeds the maximum %llu e8s",
                             (unsigned long long)*amount_e8s, (unsigned long long)maximum_e8s);
    return true;
}
