/*
 * gov: the governance service's state machine for neurons (spec/governance.md sections 1-3, 7,
 * 8, 10). Pure: no I/O, no threads of its own, no clock reads, no randomness (every time is an
 * argument in Unix seconds; random neuron ids and subaccounts are drawn by the API and passed in
 * the commands; an id already in use is refused with 500 IdInUse so that the API draws again).
 * The arithmetic (dissolve state, voting power, subaccounts, topics, the creation limiter) is
 * gov_math.h's.
 *
 * Committed state (gov_t): the rule set and genesis facts, the economics (data, spec defaults),
 * the neurons (by id, by subaccount, by controller), the operations in flight with their locks,
 * the intents not yet finished, the creation limiter, the maturity modulation state and the
 * counters (next intent id, next flow id, last created_at_time, next due time of periodic work).
 *
 * Changes happen in rounds, as in the cmc: gov_round_begin() opens a round; each gov_apply_*()
 * checks a command against committed state plus the round's earlier changes and records its
 * changes in the round (copy-on-write of each changed neuron); gov_round_commit() merges the
 * round (after the store wrote it) and gov_round_discard() drops it. One round at a time
 * (one_round_at_a_time = true). Reads (gov_neuron, gov_neurons_by_controller, gov_info, ...)
 * see committed state only and may run on any thread (rwlock, copying out); rounds, applies and
 * commits run on the state thread only.
 *
 * Ledger and cycles-minting calls are flows of commands and intents; the state machine never
 * waits. A command that needs a call returns a pending outcome (outcome.finished false,
 * outcome.flow_id = the token for write_suspend) and leaves intents in the round; the service
 * persists them with the round, executes them after the commit and reports each answer as an
 * internal command (gov_apply_balance_read, gov_apply_transfer_done, gov_apply_modulation_read);
 * the answer that ends a flow returns a finished outcome with the same flow_id (service_resume).
 * While a flow is in flight its neurons (and a claim's subaccount) are locked: every other
 * command on them gets 409 LedgerUpdateOngoing. Flows:
 *   claim (2.2)      BALANCE -> create / refresh / 422 InsufficientFunds;
 *   disburse (2.5)   [TRANSFER burn of fees] -> TRANSFER to the destination;
 *   split (2.6)      child created at once, TRANSFER parent -> child (revert on refusal);
 *   merge (2.8)      [TRANSFER burn of source fees] -> [TRANSFER source -> target] -> effects;
 *   spawn (2.7)      child created Spawning at once (no call); gov_apply_tick mints it later;
 *   disburse-maturity (2.10) maturity removed at once; gov_apply_tick mints it 7 days later;
 *   genesis mints    one TRANSFER (mint) per genesis neuron, its neuron locked until done;
 *   modulation       a daily GET of the cmc (legacy) or of its rate history (current rules).
 *
 * Life cycle: gov_new() -> [gov_load_*() while loading] -> rounds -> gov_destroy(&g).
 * Errors are nns_error_t: the GovernanceError names as `code` with the statuses of API.md
 * (NotAuthorized 403, HotKey 403, NotFound 404, InvalidCommand 400, InvalidPrincipal 400,
 * BadRequest 400, LedgerUpdateOngoing 409, AlreadyJoinedCommunityFund 409,
 * NotInTheCommunityFund 409, InsufficientFunds 422, PreconditionFailed 422, RequiresNotDissolving
 * / RequiresDissolving / RequiresDissolved 422, ResourceExhausted 422, Unavailable 503 with payload
 * retry_after_seconds, External 502 with payload error_code, 500 OutOfMemory / IdInUse /
 * CorruptState).
 */
#ifndef NNS_GOV_H
#define NNS_GOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "error.h"
#include "gov_math.h"
#include "principal.h"

/* ---- limits of this state machine (the spec's constants are gov_math.h's GOV_...) ---- */
#define GOV_HOT_KEYS_MAX GOV_MAX_HOT_KEYS                       /* hot keys per neuron */
#define GOV_FOLLOWEES_MAX GOV_MAX_FOLLOWEES_PER_TOPIC           /* followees per topic */
#define GOV_TOPICS GOV_TOPIC_COUNT                              /* topic ids 0..18 */
#define GOV_DISBURSEMENTS_MAX GOV_MAX_DISBURSEMENTS_IN_PROGRESS /* per neuron */
#define GOV_NEURONS_MAX 500000    /* neurons at most (ResourceExhausted beyond) */
#define GOV_EVENT_KIND_MAX 32     /* bytes of an event kind, NUL included */
#define GOV_EVENT_DETAIL_MAX 160  /* bytes of an event detail, NUL included */
#define GOV_PATH_MAX 192          /* bytes of an intent's GET path, NUL included */
#define GOV_INTENT_BODY_MAX 16384 /* most bytes of a POST intent's JSON body, NUL included */
#define GOV_LIST_MAX 100          /* neurons per page of gov_neurons_by_controller */
#define GOV_STAKED_MATURITY_RETURNS_PER_TICK GOV_STAKED_MATURITY_RETURN_BATCH
#define GOV_PRUNES_PER_TICK 1000
#define GOV_SPAWNS_PER_TICK 100
#define GOV_FINALIZATIONS_PER_TICK 100

/* Visibility (proto values). */
enum { GOV_VISIBILITY_UNSPECIFIED = 0, GOV_VISIBILITY_PRIVATE = 1, GOV_VISIBILITY_PUBLIC = 2 };

typedef struct {
    principal_t governance_id; /* rrkah-...: staking accounts are (governance_id, subaccount) */
    bool has_cmc;              /* without a cmc and a genesis modulation, modulation is 0 */
    size_t max_neurons;        /* GOV_NEURONS_MAX */
} gov_config_t;

/* governance_id = canister 1, has_cmc true, max_neurons GOV_NEURONS_MAX. Cannot fail. */
void gov_config_default(gov_config_t *cfg);

/* NetworkEconomics + VotingPowerEconomics + the creation limiter's values (spec 7, Constants):
 * data, with the spec's defaults per rule set. */
typedef struct {
    uint64_t reject_cost_e8s;
    uint64_t neuron_minimum_stake_e8s;
    uint64_t neuron_management_fee_per_proposal_e8s;
    uint64_t minimum_icp_xdr_rate;
    uint64_t neuron_spawn_dissolve_delay_seconds;
    uint64_t maximum_node_provider_rewards_e8s;
    uint64_t transaction_fee_e8s;
    uint32_t max_proposals_to_keep_per_topic;
    uint64_t max_sustained_neurons_per_hour; /* MAX_SUSTAINED_NEURONS_PER_HOUR */
    uint64_t neuron_creation_spike;          /* MAX_NEURON_CREATION_SPIKE */
    uint64_t start_reducing_voting_power_after_seconds;
    uint64_t clear_following_after_seconds;
    uint64_t neuron_minimum_dissolve_delay_to_vote_seconds;
} gov_economics_t;

/* The spec's defaults (network_economics.rs with_default_values) for a rule set. */
void gov_economics_default(gov_rules_t rules, gov_economics_t *out);

/* ---- neurons ---- */
/* One topic's followees. */
typedef struct {
    int32_t topic;
    uint8_t n;
    uint64_t ids[GOV_FOLLOWEES_MAX];
} gov_followees_t;

/* A maturity disbursement in progress (2.10): amount before modulation, minted to `to`. */
typedef struct {
    uint64_t amount_e8s;
    uint64_t timestamp_of_disbursement_seconds;
    uint64_t finalize_disbursement_timestamp_seconds;
    account_id_t to;
} gov_disbursement_t;

/* The fixed part of the spec 2.1 record (what every neuron has). Optional fields have a has_
 * flag. recent_ballots and known_neuron_data are issue 13's. */
typedef struct {
    uint64_t id; /* never 0 */
    uint8_t subaccount[SUBACCOUNT_BYTES];
    principal_t controller;
    gov_dissolve_t dissolve;
    uint64_t cached_neuron_stake_e8s;
    uint64_t neuron_fees_e8s;
    uint64_t created_timestamp_seconds;
    bool has_spawn_at;
    uint64_t spawn_at_timestamp_seconds;
    bool kyc_verified;
    bool not_for_profit;
    bool auto_stake_maturity;
    bool has_joined_community_fund;
    uint64_t joined_community_fund_timestamp_seconds;
    uint64_t maturity_e8s_equivalent;
    uint64_t staked_maturity_e8s_equivalent;
    int32_t neuron_type; /* 0 unspecified, 1 Seed, 2 ECT */
    int32_t visibility;  /* GOV_VISIBILITY_* */
    uint64_t voting_power_refreshed_timestamp_seconds;
    uint64_t eight_year_gang_bonus_base_e8s;
} gov_neuron_t;

/* What a read derives at a time `now` (types.rs). */
typedef struct {
    gov_neuron_state_t state;  /* SPAWNING when has_spawn_at */
    uint64_t stake_e8s;        /* cached - fees + staked maturity (saturating) */
    uint64_t minted_stake_e8s; /* cached - fees (saturating) */
    uint64_t dissolve_delay_seconds;
    uint64_t age_seconds;
    uint64_t potential_voting_power;
    uint64_t deciding_voting_power;
} gov_derived_t;

/* A neuron with its variable parts, as copied out by reads, written by a round and loaded by the
 * store. Followee lists are in ascending topic order, one per topic present. */
typedef struct {
    gov_neuron_t n;
    uint8_t nhot_keys;
    principal_t hot_keys[GOV_HOT_KEYS_MAX];
    uint8_t nfollowees;
    gov_followees_t followees[GOV_TOPICS];
    uint8_t ndisbursements; /* oldest first */
    gov_disbursement_t disbursements[GOV_DISBURSEMENTS_MAX];
    /* reads only (ignored by gov_load_neuron): */
    bool locked; /* an operation in flight holds the neuron */
    gov_derived_t d;
} gov_neuron_full_t;

/* Derived values of a neuron at now under the rule set and economics. Cannot fail. */
void gov_neuron_derive(gov_rules_t rules, const gov_economics_t *e, const gov_neuron_t *n,
                       uint64_t now, gov_derived_t *out);

/* ---- commands (parsed and authenticated by the API) ---- */
/* ClaimOrRefresh by memo (2.2), POST /v1/neurons. */
typedef struct {
    principal_t caller;
    principal_t controller; /* the caller, or the body's controller (MemoAndController) */
    uint64_t memo;
    uint64_t candidate_id; /* random, non-zero: the id of a new neuron */
} gov_claim_args_t;

typedef enum {
    GOV_CMD_INCREASE_DISSOLVE_DELAY = 1,
    GOV_CMD_SET_DISSOLVE_TIMESTAMP,
    GOV_CMD_START_DISSOLVING,
    GOV_CMD_STOP_DISSOLVING,
    GOV_CMD_ADD_HOT_KEY,
    GOV_CMD_REMOVE_HOT_KEY,
    GOV_CMD_DISBURSE,
    GOV_CMD_SPLIT,
    GOV_CMD_MERGE,
    GOV_CMD_SPAWN,
    GOV_CMD_STAKE_MATURITY,
    GOV_CMD_DISBURSE_MATURITY,
    GOV_CMD_AUTO_STAKE_MATURITY,
    GOV_CMD_FOLLOW,
    GOV_CMD_SET_FOLLOWING,
    GOV_CMD_REFRESH_VOTING_POWER,
    GOV_CMD_SET_VISIBILITY,
    GOV_CMD_JOIN_COMMUNITY_FUND,
    GOV_CMD_LEAVE_COMMUNITY_FUND,
} gov_command_kind_t;

/* The command of a path segment ("increase-dissolve-delay", ...), 0 when unknown (the API answers
 * 404 NotFound). */
gov_command_kind_t gov_command_from_name(const char *name);
/* The path segment of a command; NULL when kind is not a command. */
const char *gov_command_name(gov_command_kind_t kind);

/* A followee list as parsed: n is the number of ids given, which may exceed GOV_FOLLOWEES_MAX
 * (the API stores the first GOV_FOLLOWEES_MAX ids and the real count; the state machine refuses
 * it with 400 InvalidCommand). */
typedef struct {
    int32_t topic;
    size_t n;
    uint64_t ids[GOV_FOLLOWEES_MAX];
} gov_follow_list_t;

/* POST /v1/neurons/{id}/{command}: neuron_id is the path's id (merge: the target). Optional
 * fields have a has_ flag; defaults are the state machine's (percentages 100, the caller's
 * default account as destination). */
typedef struct {
    gov_command_kind_t kind;
    principal_t caller;
    uint64_t neuron_id;
    union {
        struct {
            uint32_t additional_dissolve_delay_seconds;
        } increase_dissolve_delay;
        struct {
            uint64_t dissolve_timestamp_seconds;
        } set_dissolve_timestamp;
        struct {
            principal_t new_hot_key;
        } add_hot_key;
        struct {
            principal_t hot_key_to_remove;
        } remove_hot_key;
        struct {
            bool has_to_account;
            account_id_t to_account;
            bool has_amount;
            uint64_t amount_e8s;
        } disburse;
        struct {
            uint64_t amount_e8s;
            bool has_memo;
            uint64_t memo;
            uint64_t candidate_id;                          /* random, non-zero: the child's id */
            uint8_t candidate_subaccount[SUBACCOUNT_BYTES]; /* random: used without a memo */
        } split;
        struct {
            uint64_t source_neuron_id;
        } merge;
        struct {
            bool has_percentage;
            uint32_t percentage_to_spawn;
            bool has_new_controller;
            principal_t new_controller;
            bool has_nonce;
            uint64_t nonce;
            uint64_t candidate_id;                          /* random, non-zero */
            uint8_t candidate_subaccount[SUBACCOUNT_BYTES]; /* random: used without a nonce */
        } spawn;
        struct {
            bool has_percentage;
            uint32_t percentage_to_stake;
        } stake_maturity;
        struct {
            uint32_t percentage_to_disburse;
            bool has_to_account; /* to_account (ICRC-1) or to_account_identifier, as an id */
            account_id_t to_account;
        } disburse_maturity;
        struct {
            bool requested_setting_for_auto_stake_maturity;
        } auto_stake_maturity;
        gov_follow_list_t follow;
        struct {
            size_t n; /* entries given (may exceed GOV_TOPICS: then a topic repeats, refused) */
            gov_follow_list_t topics[GOV_TOPICS];
        } set_following;
        struct {
            int32_t visibility; /* GOV_VISIBILITY_PRIVATE or _PUBLIC; others refused */
        } set_visibility;
    } u;
} gov_command_t;

/* ---- operations in flight (the locks) ---- */
typedef enum {
    GOV_FLOW_CLAIM = 1,
    GOV_FLOW_DISBURSE,
    GOV_FLOW_SPLIT,
    GOV_FLOW_MERGE,
    GOV_FLOW_SPAWN_MINT,
    GOV_FLOW_MATURITY_MINT,
    GOV_FLOW_GENESIS_MINT,
    GOV_FLOW_MODULATION,
    GOV_FLOW_PROPOSAL_CALL,      /* an adopted proposal's POST to the cmc (gov_proposal.h) */
    GOV_FLOW_PROPOSAL_MINT,      /* an adopted proposal's node-provider mints (gov_proposal.h) */
    GOV_FLOW_REWARD_SUPPLY,      /* the daily reward event's supply read (gov_reward.h) */
    GOV_FLOW_NODE_PROVIDER_RATE, /* the monthly node-provider rewards' rate read (gov_reward.h) */
    GOV_FLOW_NODE_PROVIDER_MINT, /* one node provider's reward mint (gov_reward.h) */
} gov_flow_kind_t;

typedef enum {
    GOV_STEP_BALANCE = 1, /* claim: reading the staking account's balance */
    GOV_STEP_BURN_FEES,   /* disburse, merge: burning the neuron's fees */
    GOV_STEP_TRANSFER,    /* disburse, split, merge: the stake transfer */
    GOV_STEP_MINT,        /* spawn, maturity disbursement, genesis: minting */
    GOV_STEP_READ,        /* modulation: reading the cmc */
    GOV_STEP_POST,        /* proposal execution: a POST to the cmc */
} gov_step_t;

/* An operation in flight: everything its answers need to finish or revert it. neuron_id and
 * other_neuron_id are locked (0 = none); a claim locks `subaccount`. */
typedef struct {
    uint64_t id; /* the flow id: the token of the suspended request, if any */
    gov_flow_kind_t kind;
    gov_step_t step;
    uint64_t intent_id; /* the outstanding intent */
    bool has_request;   /* a request waits for its outcome (not for tick or genesis flows) */
    gov_command_kind_t command; /* 0 for claims and internal flows */
    principal_t caller;
    uint64_t neuron_id;       /* disburse, split parent, merge target, spawn child, mint target */
    uint64_t other_neuron_id; /* split child, merge source */
    uint8_t subaccount[SUBACCOUNT_BYTES]; /* claim: the staking subaccount */
    principal_t controller;               /* claim */
    uint64_t memo;                        /* claim */
    uint64_t candidate_id;                /* claim: the new neuron's id */
    account_id_t to;                      /* disburse, maturity mint: destination */
    uint64_t amount_e8s; /* disburse/split/merge: the transfer amount; mints: the minted amount */
    uint64_t fee_e8s;    /* the transfer's fee */
    uint64_t burn_e8s;   /* disburse/merge: the fees being burned */
    uint64_t moved_maturity_e8s, moved_staked_maturity_e8s, moved_gang_base_e8s; /* split */
    uint64_t disbursement_timestamp_seconds; /* maturity mint: which disbursement */
    int32_t modulation_permyriad;            /* mints of maturity: the modulation applied */
    uint64_t started_at_seconds;
    /* merge: the effect computed at command time (merge_neurons.rs
     * calculate_merge_neurons_effect), applied when the transfers are done */
    uint64_t merge_source_aging_since_seconds;
    uint64_t merge_target_aging_since_seconds;
    uint64_t merge_target_dissolve_delay_seconds;
    /* an adopted proposal's execution (PROPOSAL_CALL, PROPOSAL_MINT, or a ManageNeuron
     * command's flow): the proposal settled Executed / Failed when the flow ends; 0 = none */
    uint64_t proposal_id;
    uint32_t mints_left; /* PROPOSAL_MINT: mints still outstanding after this one */
} gov_inflight_t;

/* ---- intents (the outbox) ---- */
typedef enum {
    GOV_INTENT_GET = 1, /* GET target/path; the answer: balance or modulation read */
    GOV_INTENT_TRANSFER,
    GOV_INTENT_POST, /* signed POST of `body` (JSON) to target/path; answer gov_apply_call_done */
} gov_intent_kind_t;

typedef enum { GOV_TARGET_LEDGER = 1, GOV_TARGET_CMC } gov_target_t;

typedef enum {
    GOV_PURPOSE_BALANCE = 1,  /* GET ledger /v1/accounts/{hex}: gov_apply_balance_read */
    GOV_PURPOSE_MODULATION,   /* GET cmc /v1/cycles/maturity-modulation */
    GOV_PURPOSE_RATE_HISTORY, /* GET cmc /v1/cycles/rate-history?from_day=&to_day=&limit=1000 */
    GOV_PURPOSE_BURN,         /* to the minting account, fee 0 */
    GOV_PURPOSE_TRANSFER,     /* a neuron's stake out, or between neurons */
    GOV_PURPOSE_MINT,         /* from governance's default account, fee 0 */
    GOV_PURPOSE_CMC_POST,     /* POST cmc /v1/cycles/conversion-rate, /v1/subnets/authorized,
                                 /v1/subnets/types, /v1/subnets/type-assignments */
    GOV_PURPOSE_SUPPLY,       /* GET ledger /v1/supply: gov_apply_supply_read (gov_reward.h) */
    GOV_PURPOSE_AVERAGE_RATE, /* GET cmc /v1/cycles/average-conversion-rate (gov_reward.h) */
} gov_purpose_t;

/* Work for the service layer, fixed at intent time. A TRANSFER is a legacy transfer from
 * (governance_id, from_subaccount) (all zero = the default account: a mint) to `to`, with amount,
 * fee (0 for mints and burns), memo (the flow id) and created_at_time in nanoseconds: the round's
 * now * 10^9 raised above the previous intent's, so that no two transfers are ever the ledger's
 * duplicates. A GET names its target and its path (with query). */
typedef struct {
    uint64_t id;
    uint64_t flow_id;
    gov_intent_kind_t kind;
    gov_purpose_t purpose;
    gov_target_t target;
    char path[GOV_PATH_MAX];
    account_id_t account;      /* BALANCE: the account read */
    uint64_t from_day, to_day; /* RATE_HISTORY */
    uint8_t from_subaccount[SUBACCOUNT_BYTES];
    account_id_t to;
    uint64_t amount, fee, memo, created_at_time;
    /* POST: the JSON body (shorter than GOV_INTENT_BODY_MAX), on the heap; NULL otherwise. Out
     * of line so that an intent costs what its kind needs (a genesis records one mint intent per
     * neuron). Owned by whoever holds the record: the state machine owns its committed intents'
     * and a round's new ones' (rintent and gov_load_intent copy the body they are given;
     * gov_round_intents' bodies are borrowed like the array, until commit or discard), and
     * gov_store_load's array owns its own (gov_intents_free). A by-value copy of the struct
     * shares the pointer: copy the body when the copy outlives its source. */
    char *body;
} gov_intent_t;

/* A GET intent's answer, parsed by the service. ok false: the call failed for good (the flow
 * ends with 502 External, the claim's subaccount is unlocked). */
typedef struct {
    bool ok;
    uint64_t balance_e8s;
    char error[160];
} gov_balance_result_t;

/* The modulation read's answer: legacy -> permyriad; current -> the rate-history days. */
typedef struct {
    bool ok;
    int32_t permyriad;          /* MODULATION */
    const gov_rate_day_t *days; /* RATE_HISTORY, any order */
    size_t ndays;
    char error[160];
} gov_modulation_result_t;

/* How a transfer intent ended: ok with the block, or the ledger's refusal. error starts with the
 * refusal's error name (call.h: "TxTooOld" when the transfer never happened and never will:
 * a genesis mint is then sent again as a new intent; spawn and maturity mints are retried by
 * the next tick in any case). */
typedef struct {
    bool ok;
    uint64_t block_index;
    int64_t error_code;
    char error[160];
} gov_transfer_result_t;

/* What a command or an answer decided, for the request waiting on it. */
typedef struct {
    bool finished;              /* false: the request waits for flow_id */
    uint64_t flow_id;           /* 0 when no flow was involved */
    bool has_request;           /* the flow's request waits (false for tick and genesis flows) */
    gov_command_kind_t command; /* 0: a claim (or an internal flow) */
    bool ok;                    /* finished: ok -> the fields below; else error */
    nns_error_t error;
    uint64_t neuron_id;             /* the neuron whose full view answers (merge: the target) */
    uint64_t created_neuron_id;     /* split, spawn */
    uint64_t source_neuron_id;      /* merge */
    uint64_t transfer_block_height; /* disburse */
    uint64_t maturity_e8s, staked_maturity_e8s; /* stake-maturity */
    uint64_t amount_disbursed_e8s;              /* disburse-maturity */
    bool created;                               /* claim: a new neuron (false: refreshed) */
} gov_outcome_t;

/* ---- genesis ---- */
typedef struct {
    uint64_t id; /* non-zero, unique */
    principal_t controller;
    uint64_t memo; /* the staking subaccount's memo */
    uint64_t stake_e8s;
    uint64_t dissolve_delay_seconds;
    uint64_t maturity_e8s_equivalent;
    bool dissolving;
    int32_t visibility; /* 0 = private */
    uint8_t nhot_keys;
    principal_t hot_keys[GOV_HOT_KEYS_MAX];
    uint8_t nfollowees;
    gov_followees_t followees[GOV_TOPICS];
} gov_genesis_neuron_t;

typedef struct {
    gov_rules_t rules;
    uint64_t genesis_timestamp_seconds;
    gov_economics_t economics; /* gov_economics_default(rules) with the file's overrides */
    bool has_modulation;       /* maturity_modulation_permyriad fixes the modulation */
    int32_t maturity_modulation_permyriad;
    size_t nneurons;
    const gov_genesis_neuron_t *neurons;
} gov_genesis_t;

/* ---- maturity modulation ---- */
typedef enum {
    GOV_MM_NONE = 0,     /* no source: 0 */
    GOV_MM_GENESIS,      /* fixed by genesis */
    GOV_MM_CMC,          /* legacy: the cmc's value */
    GOV_MM_RATE_HISTORY, /* current: spec 2.11 from the cmc's rate history */
} gov_mm_source_t;

typedef struct {
    gov_mm_source_t source;
    int32_t permyriad;         /* the value in force */
    bool computed;             /* RATE_HISTORY: a value was computed (the speed limit applies) */
    uint64_t computed_day;     /* the day of the last computation / read */
    uint64_t requested_day;    /* the day of the last read intent (one per day) */
    uint64_t retry_at_seconds; /* after a failed read: the next try (an hour later) */
} gov_modulation_t;

/* ---- events (the mirror's history) ---- */
/* kinds: created, refreshed, dissolve_delay_increased, dissolve_timestamp_set,
 * dissolving_started, dissolving_stopped, fees_burned, disbursed, split, split_child,
 * split_reverted, merged, merged_into, spawned, spawn_minted, maturity_staked,
 * auto_stake_maturity_changed, maturity_disbursed, maturity_disbursement_finalized,
 * staked_maturity_returned, following_pruned, hot_key_added, hot_key_removed, following_changed,
 * voting_power_refreshed, visibility_changed, community_fund_joined, community_fund_left, genesis,
 * genesis_minted, genesis_mint_failed. */
typedef struct {
    uint64_t neuron_id;
    char kind[GOV_EVENT_KIND_MAX];
    uint64_t at_seconds;
    uint64_t amount_e8s;      /* 0 if none */
    uint64_t other_neuron_id; /* 0 if none */
    char detail[GOV_EVENT_DETAIL_MAX];
} gov_event_t;

/* ---- state facts, counters and metrics ---- */
typedef struct {
    bool genesis_done;
    gov_rules_t rules;
    uint64_t genesis_timestamp_seconds;
    gov_economics_t economics;
    gov_modulation_t modulation;
    gov_creation_limiter_t limiter;
    uint64_t next_intent_id;
    uint64_t next_flow_id;
    uint64_t last_created_at; /* created_at_time of the last transfer intent (nanoseconds) */
    /* metrics (reads only; ignored by gov_load_info): */
    uint64_t neurons;
    uint64_t total_staked_e8s; /* sum of cached - fees */
    uint64_t total_maturity_e8s;
    uint64_t total_staked_maturity_e8s;
    uint64_t neurons_by_state[5]; /* indexed by gov_neuron_state_t at the read's now */
    uint64_t in_flight, intents, locked_neurons;
    uint64_t next_due_seconds; /* periodic work: the earliest due time (0 = none) */
} gov_info_t;

typedef struct gov gov_t;
typedef struct gov_round gov_round_t;

/* Returns NULL on allocation failure. cfg is copied. Before genesis or gov_load_info the rule
 * set is GOV_RULES_CURRENT with its default economics and the modulation comes from the cmc's
 * rate history (cfg.has_cmc) or is 0. Commands work before genesis; the service applies genesis
 * (the file's, or an empty one: gov_genesis_t with the default economics and no neurons) when
 * it starts without stored state, so that the rule set and genesis time are recorded. */
gov_t *gov_new(const gov_config_t *cfg);
void gov_destroy(gov_t **g);
const gov_config_t *gov_config(const gov_t *g);

/* --- loading committed state (state thread, before serving); false on allocation failure or a
 * bad value (err: 500 CorruptState / OutOfMemory) --- */
/* The facts, economics, modulation, limiter and counters (the gov_info_t fields up to
 * last_created_at). */
void gov_load_info(gov_t *g, const gov_info_t *info);
/* Sizes the neuron maps for about `neurons` neurons before gov_load_neuron (a hint: they grow
 * past it as needed). */
bool gov_load_reserve(gov_t *g, size_t neurons, nns_error_t *err)
    __attribute__((warn_unused_result));
/* A neuron with its variable parts (locked and d are ignored). */
bool gov_load_neuron(gov_t *g, const gov_neuron_full_t *n, nns_error_t *err)
    __attribute__((warn_unused_result));
/* Operations in flight: load the neurons first. */
bool gov_load_inflight(gov_t *g, const gov_inflight_t *f, nns_error_t *err)
    __attribute__((warn_unused_result));
bool gov_load_intent(gov_t *g, const gov_intent_t *i, nns_error_t *err)
    __attribute__((warn_unused_result));
/* After the last load: recomputes the next due time of periodic work. */
void gov_load_done(gov_t *g);

/* --- reads (any thread; committed state) --- */
/* The facts and totals at now. The neuron totals (sums, counts by state) are kept as neurons
 * load and rounds commit (gov_stats.c): no scan of the neurons. A now before the latest now
 * asked for reads the counts by state at that latest time. Cannot fail. */
void gov_info(gov_t *g, uint64_t now, gov_info_t *out);
/* The same figures by a scan of every neuron (for checks: gov_info must equal it). */
void gov_info_scan(gov_t *g, uint64_t now, gov_info_t *out);
bool gov_genesis_done(gov_t *g);
gov_rules_t gov_rules(gov_t *g);
void gov_economics(gov_t *g, gov_economics_t *out);
void gov_modulation(gov_t *g, gov_modulation_t *out);
/* Copies the neuron id with its variable parts and derived values at now; false when unknown. */
bool gov_neuron(gov_t *g, uint64_t id, uint64_t now, gov_neuron_full_t *out);
/* The id of the neuron with that subaccount; false when none. */
bool gov_find_by_subaccount(gov_t *g, const uint8_t subaccount[SUBACCOUNT_BYTES], uint64_t *id);
/* The controller's neurons with id > after_id (0: from the first), ascending, at most max (<=
 * GOV_LIST_MAX) copied into out; *more tells whether more follow. Returns how many. */
size_t gov_neurons_by_controller(gov_t *g, const principal_t *controller, uint64_t after_id,
                                 uint64_t now, gov_neuron_full_t *out, size_t max, bool *more);
/* Whether caller is the neuron's controller or one of its hot keys (full view). */
bool gov_is_controller_or_hot_key(const gov_neuron_full_t *n, const principal_t *caller);
/* True when gov_apply_tick has work at now (the service submits a tick only then). */
bool gov_tick_due(gov_t *g, uint64_t now);
/* Approximate bytes of neuron state (maps, records, variable parts), for the memory figure. */
size_t gov_memory(gov_t *g);
/* The same by a scan of every neuron (for checks: gov_memory must equal it). */
size_t gov_memory_scan(gov_t *g);
/* Approximate bytes of the committed intents (map, records, POST bodies). */
size_t gov_intent_memory(gov_t *g);

/* --- rounds (state thread) --- */
/* Returns NULL on allocation failure. */
gov_round_t *gov_round_begin(gov_t *g);

/* Genesis (once; 422 PreconditionFailed when done): rule set, economics, modulation, genesis
 * neurons (each with a mint intent of its stake to its staking account; its neuron is locked
 * until the mint finishes). 400 BadRequest on a bad neuron (duplicate id or subaccount, id 0,
 * stake below the minimum, more hot keys or followees than allowed, an unknown topic), a
 * modulation outside the rule set's range or zero minimum stake: the round is then partly
 * written and must be discarded. */
bool gov_apply_genesis(gov_t *g, gov_round_t *r, const gov_genesis_t *gen, uint64_t now,
                       nns_error_t *err) __attribute__((warn_unused_result));

/* ClaimOrRefresh by memo (2.2): true with a pending outcome (a BALANCE intent) or false with
 * err: 409 LedgerUpdateOngoing, 503 Unavailable (creation limiter, payload retry_after_seconds),
 * 422 ResourceExhausted (neuron count), 500 IdInUse / OutOfMemory. The balance answer finishes
 * it (created / refreshed, or 422 InsufficientFunds). */
bool gov_apply_claim(gov_t *g, gov_round_t *r, const gov_claim_args_t *a, uint64_t now,
                     gov_outcome_t *out, nns_error_t *err) __attribute__((warn_unused_result));

/* A manage-neuron command (spec 2.3-2.14, 5, 8): true with out (finished, or pending on a flow),
 * false with err (the round unchanged, except 500 OutOfMemory: discard the round). */
bool gov_apply_command(gov_t *g, gov_round_t *r, const gov_command_t *cmd, uint64_t now,
                       gov_outcome_t *out, nns_error_t *err) __attribute__((warn_unused_result));

/* The answers of intents: true with out (finished or still pending on the flow's next intent);
 * false with err only when the command itself is wrong (404 UnknownIntent, 409 WrongIntent) or
 * on allocation failure (500 OutOfMemory). A modulation read's outcome has flow_id and no
 * request. */
bool gov_apply_balance_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                            const gov_balance_result_t *res, uint64_t now, gov_outcome_t *out,
                            nns_error_t *err) __attribute__((warn_unused_result));
bool gov_apply_transfer_done(gov_t *g, gov_round_t *r, uint64_t intent_id,
                             const gov_transfer_result_t *res, uint64_t now, gov_outcome_t *out,
                             nns_error_t *err) __attribute__((warn_unused_result));
bool gov_apply_modulation_read(gov_t *g, gov_round_t *r, uint64_t intent_id,
                               const gov_modulation_result_t *res, uint64_t now, gov_outcome_t *out,
                               nns_error_t *err) __attribute__((warn_unused_result));

/* Periodic work at now (spec 10), pure and idempotent: spawns due (mint intents), maturity
 * disbursements due (mint intents), staked maturity back to maturity for dissolved neurons (at
 * most GOV_STAKED_MATURITY_RETURNS_PER_TICK), following pruned for neurons refreshed more than
 * R + C ago (at most GOV_PRUNES_PER_TICK), the daily modulation read intent. Locked neurons are
 * skipped (their turn comes at a later tick). False only on allocation failure. *work tells
 * whether anything changed. */
bool gov_apply_tick(gov_t *g, gov_round_t *r, uint64_t now, bool *work, nns_error_t *err)
    __attribute__((warn_unused_result));

/* --- what the round changed, for the store (valid until commit/discard) --- */
/* Neurons written by the round, in order of first change: copies out neuron i (with its
 * variable parts) and tells whether it was removed (then only out->n.id is meaningful) and
 * whether its variable parts (hot keys, followees, disbursements) changed. */
size_t gov_round_neuron_count(const gov_round_t *r);
void gov_round_neuron(const gov_round_t *r, size_t i, gov_neuron_full_t *out, bool *removed,
                      bool *parts_changed);
/* Operations in flight written; removed[i] tells a finished one. */
const gov_inflight_t *gov_round_inflight(const gov_round_t *r, const bool **removed, size_t *n);
/* New intents, in the order they are to be executed. */
const gov_intent_t *gov_round_intents(const gov_round_t *r, size_t *n);
/* Frees an array of intents that owns its POST bodies (gov_store_load's), bodies included. */
void gov_intents_free(gov_intent_t *v, size_t n);
/* Ids of intents finished by the round. */
const uint64_t *gov_round_finished_intents(const gov_round_t *r, size_t *n);
/* Events, in order. */
const gov_event_t *gov_round_events(const gov_round_t *r, size_t *n);
/* The round's facts and counters (as gov_load_info takes them); true when the round changed
 * them (genesis, economics, modulation, limiter, counters). */
bool gov_round_info(const gov_round_t *r, gov_info_t *out);

/* Merges the round into committed state and frees it. Aborts the process if memory runs out
 * half-way (crash-only: the restart reloads the committed state). */
void gov_round_commit(gov_t *g, gov_round_t **r);
/* Drops the round; committed state is untouched. */
void gov_round_discard(gov_t *g, gov_round_t **r);

#endif
