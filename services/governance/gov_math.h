/*
 * gov_math: the governance service's pure arithmetic (spec/governance.md sections 2-3, 2.11 and
 * "Constants"): the dissolve state and age of a neuron, the dissolve commands, the potential and
 * deciding voting power, stake-weighted ages, the maturity modulation (applied, and the Mission 70
 * computation from the daily ICP/XDR rates), the neuron subaccounts, the topics and the neuron
 * creation rate limiter.
 *
 * Every function is pure (no I/O, no clock reads: `now` is an argument, in Unix seconds) and
 * exact: integer or exact rational arithmetic in 128 bits, floored where the spec floors, never
 * floating point. Errors are nns_error_t with the GovernanceError names of the spec as `code`
 * and the statuses of API.md.
 */
#ifndef NNS_GOV_MATH_H
#define NNS_GOV_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "principal.h"

/* ---- rule sets and states */
typedef enum { GOV_RULES_CURRENT = 1, GOV_RULES_LEGACY = 2 } gov_rules_t;
typedef enum {
    GOV_STATE_NOT_DISSOLVING = 1,
    GOV_STATE_DISSOLVING = 2,
    GOV_STATE_DISSOLVED = 3,
    GOV_STATE_SPAWNING = 4
} gov_neuron_state_t;

/* ---- constants (spec "Constants") */
/* Time and units (ic_nervous_system_common). */
#define GOV_ONE_DAY 86400ULL
#define GOV_ONE_YEAR 31557600ULL /* (4*365+1)*86400/4 */
#define GOV_ONE_MONTH 2629800ULL /* ONE_YEAR / 12 */
#define GOV_E8 100000000ULL
/* Neurons. */
#define GOV_INITIAL_NEURON_DISSOLVE_DELAY (7ULL * GOV_ONE_DAY)
#define GOV_MAX_DISSOLVE_DELAY_LEGACY (8ULL * GOV_ONE_YEAR)  /* 252 460 800 */
#define GOV_MAX_DISSOLVE_DELAY_CURRENT (2ULL * GOV_ONE_YEAR) /* 63 115 200 */
#define GOV_AGE_SATURATION (4ULL * GOV_ONE_YEAR)             /* 126 230 400 */
#define GOV_MAX_HOT_KEYS 10
#define GOV_MAX_FOLLOWEES_PER_TOPIC 15
#define GOV_MAX_NEURONS 500000ULL
#define GOV_MAX_SUSTAINED_NEURONS_PER_HOUR 15ULL
#define GOV_MAX_NEURON_CREATION_SPIKE (GOV_MAX_SUSTAINED_NEURONS_PER_HOUR * 20ULL) /* 300 */
#define GOV_MAX_RECENT_BALLOTS 100
#define GOV_MINIMUM_DISBURSEMENT_E8S GOV_E8
#define GOV_DISBURSEMENT_DELAY_SECONDS (7ULL * GOV_ONE_DAY)
#define GOV_MAX_DISBURSEMENTS_IN_PROGRESS 10
#define GOV_STAKED_MATURITY_RETURN_BATCH 100
#define GOV_DEFAULT_VOTING_POWER_REFRESHED_TIMESTAMP_SECONDS 1725148800ULL
/* Minimum dissolve delay to vote (VotingPowerEconomics defaults and allowed ranges). */
#define GOV_MIN_DISSOLVE_DELAY_TO_VOTE_LEGACY (6ULL * GOV_ONE_MONTH) /* 15 778 800 */
#define GOV_MIN_DISSOLVE_DELAY_TO_VOTE_CURRENT (14ULL * GOV_ONE_DAY) /* 1 209 600 */
#define GOV_MIN_DISSOLVE_DELAY_TO_PROPOSE (6ULL * GOV_ONE_MONTH)     /* M70 constant */
#define GOV_START_REDUCING_VOTING_POWER_AFTER (6ULL * GOV_ONE_MONTH) /* R, 15 778 800 */
#define GOV_CLEAR_FOLLOWING_AFTER GOV_ONE_MONTH                      /* C, 2 629 800 */
/* Topics: 0 (Unspecified) .. 18 (ServiceNervousSystemManagement). */
#define GOV_TOPIC_COUNT 19
#define GOV_TOPIC_NEURON_MANAGEMENT 1
#define GOV_TOPIC_EXCHANGE_RATE 2
/* Maturity modulation (permyriad). */
#define GOV_MODULATION_LEGACY_MIN (-500)
#define GOV_MODULATION_LEGACY_MAX 500
#define GOV_MODULATION_CURRENT_MIN (-1000)
#define GOV_MODULATION_CURRENT_MAX 200
#define GOV_MODULATION_SPEED_LIMIT_PER_DAY 30
#define GOV_MODULATION_SENSITIVITY_PERMYRIAD 2500 /* 0.25 */
#define GOV_MODULATION_RECENT_DAYS 7
#define GOV_MODULATION_REFERENCE_DAYS 365

/* The maximum dissolve delay of a rule set (governance.rs
 * MAX_DISSOLVE_DELAY_SECONDS_PRE/POST_MISSION_70). */
uint64_t gov_max_dissolve_delay(gov_rules_t rules);

/* ---- dissolve state and age (neuron/dissolve_state_and_age.rs). `dissolving` selects the
 * variant: false = NotDissolving{dissolve_delay_seconds, aging_since_timestamp_seconds},
 * true = DissolvingOrDissolved{when_dissolved_timestamp_seconds}; the other variant's fields are
 * kept at 0 by the functions below. */
typedef struct {
    bool dissolving;
    uint64_t dissolve_delay_seconds, aging_since_timestamp_seconds,
        when_dissolved_timestamp_seconds;
} gov_dissolve_t;

gov_neuron_state_t gov_dissolve_state(const gov_dissolve_t *d, uint64_t now); /* never SPAWNING */
uint64_t gov_dissolve_delay(const gov_dissolve_t *d, uint64_t now);
uint64_t gov_age(const gov_dissolve_t *d, uint64_t now);

/* spec 2.3; false with err (RequiresNotDissolving 422 / RequiresDissolving 422 / InvalidCommand
 * 400) and d unchanged. `max` is the rule set's maximum dissolve delay. */
bool gov_start_dissolving(gov_dissolve_t *d, uint64_t now, nns_error_t *err);
bool gov_stop_dissolving(gov_dissolve_t *d, uint64_t now, nns_error_t *err);
bool gov_increase_dissolve_delay(gov_dissolve_t *d, uint64_t now, uint32_t additional, uint64_t max,
                                 nns_error_t *err);
bool gov_set_dissolve_timestamp(gov_dissolve_t *d, uint64_t now, uint64_t ts, uint64_t max,
                                nns_error_t *err);

/* ---- voting power (spec section 3). The potential voting power is the floor of the exact
 * rational value (UINT64_MAX when that exceeds 64 bits); the deciding one is f(t) * potential,
 * truncated. Neither can fail. */
uint64_t gov_potential_voting_power(gov_rules_t rules, uint64_t stake_e8s, uint64_t dissolve_delay,
                                    uint64_t age, uint64_t eight_year_gang_base_e8s);
uint64_t gov_deciding_voting_power(uint64_t potential, uint64_t refreshed_ts, uint64_t now,
                                   uint64_t start_reducing_after, uint64_t clear_following_after);

/* spec 2.2 update_stake_adjust_age: stake-weighted age when the stake grows (dissolving: stake
 * only); sets *cached_stake_e8s = new_stake_e8s. */
void gov_update_stake_adjust_age(gov_dissolve_t *d, uint64_t *cached_stake_e8s,
                                 uint64_t new_stake_e8s, uint64_t now);
/* spec 2.2 combine_aged_stakes, 128-bit: sum = x + y (saturating), age = floor((x*ax + y*ay) /
 * (x + y)) (0 when both are 0). */
void gov_combine_aged_stakes(uint64_t x, uint64_t ax, uint64_t y, uint64_t ay, uint64_t *sum,
                             uint64_t *age);

/* spec 2.7 floor(amount * (10000 + mm) / 10000); mm at or below -10000 gives 0, a result beyond 64
 * bits UINT64_MAX. */
uint64_t gov_apply_maturity_modulation(uint64_t amount_e8s, int32_t mm_permyriad);

/* spec 2.11 M70: days = the cmc's daily rates (day number = unix seconds / 86400, xdr permyriad
 * per ICP), any order, duplicates impossible; today = the day of the computation. recent = mean
 * of the days in (today-7, today], reference = mean of the days in (today-365, today]; returns
 * false (out untouched) when no day <= today-364 is present or no recent day exists (history too
 * short). has_prev/prev/elapsed_days: the speed limit (30 permyriad per elapsed day), skipped
 * when !has_prev; clamp [-1000, 200]. floor_toward_zero for the target. As upstream, both means
 * are floored integer means, an elapsed_days of 0 counts as 1, and a reference mean of 0 (rates of
 * zero) cannot be used: false then too. */
typedef struct {
    uint64_t day;
    uint64_t xdr_permyriad_per_icp;
} gov_rate_day_t;
bool gov_m70_modulation(const gov_rate_day_t *days, size_t n, uint64_t today, bool has_prev,
                        int32_t prev, uint64_t elapsed_days, int32_t *out);

/* ---- subaccounts (spec 2.2/2.6/2.14): SHA-256(len || domain || principal bytes || nonce BE). */
void gov_neuron_staking_subaccount(const principal_t *controller, uint64_t memo,
                                   uint8_t out[32]); /* "neuron-stake" */
void gov_split_subaccount(const principal_t *controller, uint64_t memo,
                          uint8_t out[32]); /* "split-neuron" */
void gov_disburse_to_neuron_subaccount(const principal_t *new_controller, uint64_t nonce,
                                       uint8_t out[32]); /* "neuron-split" */

/* ---- topics (spec "Topics" table) */
/* gov_topic_valid: 0..18. gov_topic_name: "Unspecified", "NeuronManagement", ... (a static
 * string); NULL when invalid. */
bool gov_topic_valid(int32_t topic);
const char *gov_topic_name(int32_t topic);

/* ---- the neuron creation rate limiter (governance.rs neuron_rate_limits,
 * MAX_SUSTAINED_NEURONS_PER_HOUR, MAX_NEURON_CREATION_SPIKE): plain data. */
typedef struct {
    uint64_t available;
    uint64_t last_refill_seconds;
} gov_creation_limiter_t;
void gov_creation_limiter_init(gov_creation_limiter_t *l, uint64_t spike, uint64_t now);
/* Refills at sustained_per_hour up to spike, then takes one; false (nothing taken) with
 * *retry_after_seconds (when not NULL) when none is available. One unit comes back every
 * 3600 / sustained_per_hour whole seconds (at least 1); a rate of 0 never refills (retry after
 * 3600). */
bool gov_creation_limiter_take(gov_creation_limiter_t *l, uint64_t sustained_per_hour,
                               uint64_t spike, uint64_t now, uint64_t *retry_after_seconds);
/* Gives back the unit of a creation that failed (never beyond spike). */
void gov_creation_limiter_give_back(gov_creation_limiter_t *l, uint64_t spike);

#endif
