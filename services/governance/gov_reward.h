/*
 * gov_reward: the arithmetic of governance's rewards (spec/governance.md sections 6 and 9,
 * Decision 5, "Rewards and maturity modulation" constants): the daily voting-reward rate of a
 * rule set, the day's pool, each neuron's share of it, and the amount of a node provider's
 * monthly reward.
 *
 * Voting rewards are floating point (f64) exactly as upstream (reward/calculation.rs: "this
 * module makes use of floating-point computations"): the rate, the pool, the weighted voting
 * power used and each share are doubles, truncated to e8s only at the end (an `as u64` cast:
 * toward zero, saturating). Node-provider rewards are exact integers (128-bit floor).
 *
 * Every function is pure (no I/O, no clock, no allocation) and cannot fail unless it says so.
 * The daily event and its batches, the monthly rewards and their intents are the state
 * machine's (gov_proposal.h's reward section, gov_reward.c).
 */
#ifndef NNS_GOV_REWARD_H
#define NNS_GOV_REWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "gov_math.h"

/* ---- constants (spec "Rewards and maturity modulation") ---- */
#define GOV_REWARD_PERIOD_SECONDS GOV_ONE_DAY /* REWARD_DISTRIBUTION_PERIOD_SECONDS */
#define GOV_REWARD_INITIAL_RATE 0.10          /* R0 * 365.25 */
#define GOV_REWARD_FINAL_RATE 0.05            /* Rf * 365.25 */
#define GOV_REWARD_DAYS_PER_YEAR 365.25
#define GOV_REWARD_FLATTENING_DAYS 2922.0               /* T = 8 * 365.25 */
#define GOV_REWARD_M70_ADJUSTMENT_FACTOR 0.6329         /* voting_rewards_adjustment_factor */
#define GOV_REWARD_MIN_DENOMINATOR 0.001                /* below it nothing is paid */
#define GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS 2629800ULL /* one month */
#define GOV_ICP_XDR_RATE_TO_BASIS_POINT_MULTIPLIER 100ULL

/* The fraction of the total supply paid for day d after genesis (reward/calculation.rs
 * rewards_pool_to_distribute_in_supply_fraction_for_one_day): Rf + (R0 - Rf) * ((d - T)/T)^2
 * per day up to T = 2922 days, Rf after; Mission 70 (GOV_RULES_CURRENT) multiplies it by
 * voting_rewards_adjustment_factor 0.6329. */
double gov_reward_rate(gov_rules_t rules, uint64_t day);

/* The sum of gov_reward_rate over the days [from_day, to_day) (0 when the range is empty), as
 * governance.rs distribute_rewards folds it, day by day in ascending order. */
double gov_reward_fraction(gov_rules_t rules, uint64_t from_day, uint64_t to_day);

/* The pool of a reward event (governance.rs distribute_rewards): supply * fraction + rollover,
 * in f64. gov_reward_e8s() truncates it for total_available_e8s_equivalent. */
double gov_reward_pool(uint64_t supply_e8s, double fraction, uint64_t rollover_e8s);

/* An f64 amount as e8s: toward zero, NaN and negatives 0, beyond 2^64 UINT64_MAX (Rust's
 * saturating `as u64`). */
uint64_t gov_reward_e8s(double amount);

/* The reward weight of a topic (governance.rs Topic::reward_weight): 20 for Governance (4) and
 * SnsAndCommunityFund (14), 0.01 for ExchangeRate (2), 0 for NeuronManagement (1, never
 * rewarded) and for unknown topics, 1 otherwise. */
double gov_topic_reward_weight(int32_t topic);

/* Whether a ballot's vote counts as used voting power (Yes or No; proto values 1 and 2). */
bool gov_reward_vote_counts(int32_t vote);

/* One neuron's reward (distribute_voting_rewards_to_neurons): floor(used * pool / denominator),
 * used = the sum over the settled proposals it voted on of weight(topic) * ballot voting power.
 * 0 when denominator < GOV_REWARD_MIN_DENOMINATOR. */
uint64_t gov_reward_share(double used, double pool, double denominator);

/* ---- node providers (spec 9) ---- */
/* The rate used (governance.rs get_monthly_node_provider_rewards): max(the cmc's 30-day average
 * in xdr permyriad per ICP, minimum_icp_xdr_rate * 100), saturating. */
uint64_t gov_node_provider_rate(uint64_t average_xdr_permyriad_per_icp,
                                uint64_t minimum_icp_xdr_rate);

/* A provider's monthly reward: floor(xdr_permyriad * 10^8 / rate) in 128 bits. False with
 * err 422 PreconditionFailed when rate is 0, when the amount does not fit 64 bits, or when it
 * exceeds maximum_e8s (maximum_node_provider_rewards_e8s); *amount_e8s is set in any case to the
 * computed amount (UINT64_MAX when it does not fit). */
bool gov_node_provider_reward(uint64_t xdr_permyriad, uint64_t rate, uint64_t maximum_e8s,
                              uint64_t *amount_e8s, nns_error_t *err)
    __attribute__((warn_unused_result));

#endif
