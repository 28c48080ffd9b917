/*
 * gov_reward: governance's rewards (spec/governance.md sections 6 and 9, Decision 5, "Rewards and
 * maturity modulation" constants). Two parts:
 *
 * 1. The arithmetic (pure): the daily voting-reward rate of a rule set, the day's pool, each
 *    neuron's share of it, and the amount of a node provider's monthly reward.
 *
 * 2. The state machine's rewards (gov.h's rounds): the daily voting-reward event and its
 *    crediting in batches, the monthly node-provider rewards, their intents, what a round
 *    changed for the store, the loads and the reads. Described before that part below.
 *
 * Voting rewards are floating point (f64) exactly as upstream (reward/calculation.rs: "this
 * module makes use of floating-point computations"): the rate, the pool, the weighted voting
 * power used and each share are doubles, truncated to e8s only at the end (an `as u64` cast:
 * toward zero, saturating). Node-provider rewards are exact integers (128-bit floor).
 *
 * Every function of part 1 is pure (no I/O, no clock, no allocation) and cannot fail unless it
 * says so.
 */
#ifndef NNS_GOV_REWARD_H
#define NNS_GOV_REWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "gov.h"
#include "gov_math.h"
#include "gov_proposal.h"

/* ---- constants (spec "Rewards and maturity modulation") ---- */
#define GOV_REWARD_PERIOD_SECONDS GOV_ONE_DAY /* REWARD_DISTRIBUTION_PERIOD_SECONDS */
#define GOV_REWARD_INITIAL_RATE 0.10          /* R0 * 365.25 */
#define GOV_REWARD_FINAL_RATE 0.05            /* Rf * 365.25 */
#define GOV_REWARD_DAYS_PER_YEAR 365.25
#define GOV_REWARD_FLATTENING_DAYS 2922.0       /* T = 8 * 365.25 */
#define GOV_REWARD_M70_ADJUSTMENT_FACTOR 0.6329 /* voting_rewards_adjustment_factor */
#define GOV_REWARD_MIN_DENOMINATOR 0.001        /* below it nothing is paid */
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

/* One settled proposal as the distribution sees it: its ballots as parallel arrays ascending by
 * neuron id (votes gov_vote_t values). */
typedef struct {
    uint64_t proposal_id;
    int32_t topic;
    uint64_t total_potential_voting_power;
    size_t n;
    const uint64_t *neuron_ids;
    const uint64_t *voting_powers;
    const uint8_t *votes;
} gov_reward_proposal_t;

/* The distribution of a pool over settled proposals (governance.rs
 * distribute_voting_rewards_to_neurons): used_i = sum over the proposals, in the given order, of
 * weight(topic) * voting power of i's Yes or No ballot; denominator = sum of weight(topic) *
 * total_potential_voting_power (the sum of the ballots' voting powers when that is 0);
 * reward_i = gov_reward_share(used_i, pool, denominator). Neurons for which exists(ctx, id) is
 * false (NULL: all exist) and zero rewards are left out. On success *ids and *amounts are
 * malloc'd arrays of *n entries ascending by neuron id (NULL when *n is 0; the caller frees
 * them) and *distributed their sum (saturating). False on allocation failure (nothing to free). */
bool gov_reward_distribute(const gov_reward_proposal_t *ps, size_t nps, double pool,
                           bool (*exists)(void *ctx, uint64_t neuron_id), void *ctx, uint64_t **ids,
                           uint64_t **amounts, size_t *n, uint64_t *distributed)
    __attribute__((warn_unused_result));

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

/* ==== 2. the state machine's rewards ====
 *
 * Daily voting rewards (spec 6; governance.rs distribute_rewards,
 * distribute_voting_rewards_to_neurons). The event of day d (= floor((now - genesis) / 86 400))
 * is due once d > the latest event's day (day 0 at genesis: the first event is day 1):
 *   1. gov_apply_tick emits a GET ledger /v1/supply intent (flow GOV_FLOW_REWARD_SUPPLY, purpose
 *      GOV_PURPOSE_SUPPLY); one at a time, an hour later again after a failed read;
 *   2. gov_apply_supply_read computes the event at once: the pool over the days
 *      [latest day, d) plus the rollover (the previous event's total when it settled nothing),
 *      the settled proposals (reward status ReadyToSettle as of genesis + d * 86 400: deadline
 *      passed, not yet settled, not NeuronManagement; at most GOV_REWARD_SETTLED_MAX, the
 *      lowest ids first, the others wait for the next event), every existing neuron's reward
 *      (sorted by neuron id, zeros left out); the proposals get reward_event_round = d and lose
 *      their ballots (the mirror keeps them). The event and the whole distribution are written
 *      by this round: the store commits them before any crediting;
 *   3. each later gov_apply_tick credits the next GOV_REWARD_BATCH_NEURONS neurons of the
 *      distribution (maturity, or staked maturity when auto_stake_maturity is set at crediting
 *      time; neurons removed since are skipped with amount 0), and writes the batch (its
 *      offset, ids, credited amounts, staked flags) in its round: the store mirrors the
 *      progress, so a restart resumes at the first batch not committed (gov_load_reward_
 *      distribution). No new event starts before the distribution is fully credited.
 * Events are kept in memory (the read of the list, the latest for GET /v1/governance) and by the
 * mirror. Credits go through the round's neuron store (a credited neuron is written by the round
 * like any changed neuron; gov_round_neuron_reward_only() tells the store which of them changed
 * by the credit alone, so that it may write those from the batch's arrays).
 */
#define GOV_REWARD_BATCH_NEURONS 50000 /* neurons credited per round */
#define GOV_REWARD_SETTLED_MAX 256     /* proposals settled per event (< 200 hold ballots) */
#define GOV_REWARD_EVENTS_PAGE_MAX 100 /* events per page of gov_reward_events */
#define GOV_REWARD_RETRY_SECONDS 3600  /* after a failed supply read */

/* RewardEvent (spec 6). settled_proposals ascending. */
typedef struct {
    uint64_t day_after_genesis;
    uint64_t actual_timestamp_seconds;
    uint64_t distributed_e8s_equivalent;
    uint64_t total_available_e8s_equivalent;
    uint64_t rounds_since_last_distribution;
    uint64_t latest_round_available_e8s_equivalent;
    size_t nsettled;
    uint64_t settled_proposals[GOV_REWARD_SETTLED_MAX];
} gov_reward_event_t;

/* The answer of the supply read (GET ledger /v1/supply), parsed by the service: supply_e8s is
 * the answer's total_supply_e8s. ok false: the read failed (the event waits
 * GOV_REWARD_RETRY_SECONDS). */
typedef struct {
    bool ok;
    uint64_t supply_e8s;
    char error[160];
} gov_supply_result_t;

/* One round's credits of a distribution: entries [offset, offset + n) of the event's
 * distribution (neuron ids ascending), the amounts credited (0 for a neuron removed since the
 * event) and whether each went to staked maturity; last: the distribution is complete. */
typedef struct {
    uint64_t day_after_genesis;
    size_t offset, n, total;
    const uint64_t *neuron_ids;
    const uint64_t *amounts_e8s;
    const uint8_t *staked; /* 1: staked maturity, 0: maturity */
    bool last;
} gov_reward_batch_t;

/* The supply read's answer (step 2 above): true with out (finished, no request), false with err
 * only when the command is wrong (404 UnknownIntent, 409 WrongIntent) or on allocation failure
 * (500 OutOfMemory: discard the round). */
bool gov_apply_supply_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                           const gov_supply_result_t *res, uint64_t now, gov_outcome_t *out,
                           nns_error_t *err) __attribute__((warn_unused_result));

/* --- what the round changed (valid until commit/discard) --- */
/* The event the round created, NULL when none. */
const gov_reward_event_t *gov_round_reward_event(const gov_round_t *r);
/* The distribution the round created with its event: neuron ids ascending and their rewards
 * (all > 0); false when the round created none (then nothing is set). */
bool gov_round_reward_distribution(const gov_round_t *r, uint64_t *day_after_genesis,
                                   const uint64_t **neuron_ids, const uint64_t **amounts_e8s,
                                   size_t *n);
/* The batch the round credited; false when none. */
bool gov_round_reward_batch(const gov_round_t *r, gov_reward_batch_t *out);
/* Whether neuron i of gov_round_neuron() changed by a reward credit alone (its only change is
 * maturity or staked maturity grown by its amount in the round's batch). */
bool gov_round_neuron_reward_only(const gov_round_t *r, size_t i);

/* --- loads (before gov_load_done; false with err 500 CorruptState / OutOfMemory) --- */
/* The events, in ascending day order. */
bool gov_load_reward_event(gov_t *g, const gov_reward_event_t *ev, nns_error_t *err)
    __attribute__((warn_unused_result));
/* The distribution of the latest event when not fully credited: its arrays (as
 * gov_round_reward_distribution gave them) and how many entries the committed batches covered.
 * After the events. */
bool gov_load_reward_distribution(gov_t *g, uint64_t day_after_genesis, const uint64_t *neuron_ids,
                                  const uint64_t *amounts_e8s, size_t n, size_t credited,
                                  nns_error_t *err) __attribute__((warn_unused_result));

/* --- reads (any thread; committed state) --- */
/* Events with day_after_genesis < before_day (0: from the newest), newest first, at most max (<=
 * GOV_REWARD_EVENTS_PAGE_MAX) copied into out; *more tells whether older ones follow (the next
 * cursor is the last one's day). Returns how many. */
size_t gov_reward_events(gov_t *g, uint64_t before_day, gov_reward_event_t *out, size_t max,
                         bool *more);
/* The latest event; false when none yet. */
bool gov_latest_reward_event(gov_t *g, gov_reward_event_t *out);
/* The distribution in progress: day, entries credited and total; false when none. */
bool gov_reward_progress(gov_t *g, uint64_t *day_after_genesis, size_t *credited, size_t *total);

/* ---- monthly node-provider rewards (spec 9; governance.rs
 * get_monthly_node_provider_rewards, reward_node_providers) ----
 * Due GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS after the most recent monthly rewards (after
 * genesis for the first), when the previous month's mints are all answered:
 *   1. gov_apply_tick emits a GET cmc /v1/cycles/average-conversion-rate intent (flow
 *      GOV_FLOW_NODE_PROVIDER_RATE, purpose GOV_PURPOSE_AVERAGE_RATE); an hour later again after
 *      a failed read;
 *   2. gov_apply_average_rate_read records the month's rewards at now: rate = max(the average,
 *      minimum_icp_xdr_rate * 100); for each registered provider with a rewards-table entry
 *      (UpdateNodeRewardsTable) amount = floor(xdr_permyriad_per_month * 10^8 / rate); a reward
 *      above maximum_node_provider_rewards_e8s, or of 0 e8s, is recorded as refused and not
 *      minted; the others get one mint intent each (flow GOV_FLOW_NODE_PROVIDER_MINT, fee 0) to
 *      the provider's reward account or its default account;
 *   3. gov_apply_transfer_done (gov.h) answers each mint: the entry becomes minted with its
 *      block (and the provider's last_reward is written) or failed with the ledger's error.
 * Manual RewardNodeProvider(s) proposals are executed by the proposals' code (gov_proposal.h),
 * not here. */
#define GOV_NODE_PROVIDER_REWARDS_MAX 1000 /* providers rewarded per month */

typedef enum {
    GOV_NP_REWARD_PENDING = 0, /* the mint is in flight */
    GOV_NP_REWARD_MINTED = 1,
    GOV_NP_REWARD_FAILED = 2,  /* the ledger refused the mint (error) */
    GOV_NP_REWARD_REFUSED = 3, /* not minted: above the maximum, or nothing to pay (error) */
} gov_np_reward_status_t;

typedef struct {
    principal_t node_provider;
    account_id_t to_account;
    uint64_t xdr_permyriad;
    uint64_t amount_e8s;
    gov_np_reward_status_t status;
    uint64_t block_index; /* MINTED */
    uint64_t flow_id;     /* PENDING: the mint's flow */
    char error[160];      /* FAILED, REFUSED */
} gov_np_reward_entry_t;

/* MonthlyNodeProviderRewards. */
typedef struct {
    uint64_t timestamp_seconds;
    uint64_t xdr_conversion_rate;           /* the rate used, xdr permyriad per ICP */
    uint64_t average_xdr_permyriad_per_icp; /* the cmc's 30-day average */
    uint64_t minimum_xdr_permyriad_per_icp; /* minimum_icp_xdr_rate * 100 */
    uint64_t maximum_node_provider_rewards_e8s;
    size_t n;
    gov_np_reward_entry_t rewards[GOV_NODE_PROVIDER_REWARDS_MAX];
} gov_monthly_np_rewards_t;

/* The cmc's average rate answer (GET /v1/cycles/average-conversion-rate:
 * xdr_permyriad_per_icp). ok false: the read failed, or the cmc has no average yet (its 404
 * NotFound): retried an hour later. */
typedef struct {
    bool ok;
    uint64_t xdr_permyriad_per_icp;
    char error[160];
} gov_average_rate_result_t;

/* Step 2 above: true with out (finished, no request); false with err as gov_apply_supply_read. */
bool gov_apply_average_rate_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                                 const gov_average_rate_result_t *res, uint64_t now,
                                 gov_outcome_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));

/* The monthly rewards the round wrote (recorded or changed by a mint's answer), NULL when none.
 * The store keeps the latest (and may keep each month's). */
const gov_monthly_np_rewards_t *gov_round_monthly_np_rewards(const gov_round_t *r);
/* Loads the most recent monthly rewards (after the flows: pending entries keep their flow). */
bool gov_load_monthly_np_rewards(gov_t *g, const gov_monthly_np_rewards_t *m, nns_error_t *err)
    __attribute__((warn_unused_result));
/* Copies the most recent monthly rewards into *out (large: allocate it); false when none yet. */
bool gov_monthly_np_rewards(gov_t *g, gov_monthly_np_rewards_t *out);

#endif
