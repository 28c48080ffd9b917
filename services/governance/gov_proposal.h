/*
 * gov_proposal: proposals, ballots, votes, following, known neurons and node providers in the
 * governance state machine (spec/governance.md sections 2.13, 4, 5, 7, 9; issue 13). Part of the
 * same pure state machine as gov.h: the same rounds, the same rwlock, the same rules (every time
 * is an argument in Unix seconds; reads see committed state and may run on any thread; applies,
 * loads and commits run on the state thread).
 *
 * Committed state added by this header:
 *   - proposals by id (sequential from 1), each a gov_proposal_t with its action (a typed
 *     gov_action_t, flattened into one allocation) and, until it is settled (rewards) or
 *     forgotten, its ballots: three parallel arrays sorted by neuron id (ids u64, voting powers
 *     u64, votes u8: 17 bytes per ballot, no per-ballot allocation). The ids and voting powers
 *     never change after creation; a round that changes votes copies the proposal's vote array
 *     (copy-on-write) and records which ballots it changed.
 *   - the reverse following index (followee, topic) -> follower ids (ascending), built from the
 *     neurons at load and kept in step at each commit by the neurons whose followees the round
 *     changed (follow, set-following, split, merge, prune, removal);
 *   - the known neurons (2.13), the node providers' registry (9; the rewards table's
 *     xdr_permyriad_per_month per provider), the voting-power snapshots (4.5) and the proposal
 *     counters (next proposal id, the last snapshot day).
 *
 * recent_ballots (2.1) are not stored per neuron (a cascade would otherwise rewrite hundreds of
 * thousands of neurons): gov_neuron_recent_ballots derives them from the ballots held in memory
 * (newest first, ExchangeRate excluded); the mirror's votes serve the older ones.
 *
 * Errors: nns_error_t with the GovernanceError names and API.md's statuses: InvalidProposal 400,
 * NotAuthorized 403, NotFound 404, NeuronAlreadyVoted 409, LedgerUpdateOngoing 409,
 * InsufficientFunds 422, PreconditionFailed 422, ResourceExhausted 422, 500 OutOfMemory.
 * A failed apply leaves the round unchanged except on 500 OutOfMemory (discard the round).
 *
 * Wiring (what the service calls):
 *   API, per request, each in a round: gov_apply_submit (POST /v1/proposals), gov_apply_vote
 *   (POST /v1/proposals/{id}/votes); intent answers: gov_apply_call_done for GOV_INTENT_POST
 *   (signed POST of intent.body to the cmc at intent.path), gov_apply_transfer_done (gov.h) for
 *   the mints; gov_apply_tick (gov.h) when gov_tick_due. Reads: gov_proposals_list,
 *   gov_proposal_get, gov_proposal_ballots / gov_proposal_ballot (held ballots; else the
 *   mirror), gov_neuron_recent_ballots, gov_known_neurons / gov_known_neuron,
 *   gov_node_providers, gov_proposal_info; names: gov_*_name / gov_*_from_name,
 *   gov_action_from_name, gov_topic_from_name, gov_nns_function_topic / _is_json.
 *   Store, per committed round: gov_round_proposal_info, gov_round_proposal_count /
 *   gov_round_proposal (+ gov_action_encode of ->action for a created one),
 *   gov_round_ballot_changes, gov_round_tally_changes, gov_round_known_neuron_count /
 *   gov_round_known_neuron, gov_round_node_provider_count / gov_round_node_provider,
 *   gov_round_vp_snapshot, gov_round_vp_snapshots_dropped, and the POST intents' body (gov.h).
 *   Store, at load (after the neurons, before gov_load_done): gov_load_proposal_info,
 *   gov_load_proposal in ascending id order (not the forgotten ones; ballots only while
 *   ballots_held), gov_load_known_neuron, gov_load_node_provider, gov_load_vp_snapshot (oldest
 *   first). gov_load_done then builds the following index.
 */
#ifndef NNS_GOV_PROPOSAL_H
#define NNS_GOV_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "account.h"
#include "error.h"
#include "gov.h"
#include "principal.h"

/* ---- limits (spec Constants "Proposals"; the ones marked "here" are this project's) ---- */
#define GOV_TITLE_MIN 5                       /* bytes */
#define GOV_TITLE_MAX 256                     /* bytes */
#define GOV_SUMMARY_MAX 15000                 /* bytes */
#define GOV_URL_MAX 2048                      /* chars */
#define GOV_MOTION_TEXT_MAX 10000             /* bytes */
#define GOV_NNS_PAYLOAD_MAX 70000             /* bytes of an ExecuteNnsFunction payload */
#define GOV_OPEN_MANAGE_NEURON_MAX 10000      /* open ManageNeuron proposals (< this) */
#define GOV_HOLDING_BALLOTS_MAX 200           /* other proposals holding ballots (< this) */
#define GOV_KNOWN_NEURON_NAME_MAX 200         /* chars (UTF-8 code points) */
#define GOV_KNOWN_NEURON_DESCRIPTION_MAX 3000 /* chars */
#define GOV_KNOWN_NEURON_LINKS_MAX 10         /* here: links per known neuron */
#define GOV_LINK_MAX 512                      /* here: bytes of a link */
#define GOV_LIST_ITEMS_MAX 1000               /* here: principals, rewards, subnets per action */
#define GOV_TEXT_MAX 1024                     /* here: other short texts (subnet types, names) */
#define GOV_FAILURE_REASON_MAX 256            /* bytes of failure_reason, NUL included */
#define GOV_SUBNETS_MAX 200                   /* here: subnets per NnsFunction 14 / 33 payload */
#define GOV_RECENT_BALLOTS_MAX GOV_MAX_RECENT_BALLOTS /* 100 */
#define GOV_PROPOSAL_LIST_MAX 100                     /* proposals per page */
#define GOV_BALLOT_PAGE_MAX 1000                      /* ballots per page */
/* Governance-level settings (spec 4.6, 4.7). */
#define GOV_WAIT_FOR_QUIET_THRESHOLD_SECONDS (4ULL * GOV_ONE_DAY) /* V of most topics */
#define GOV_SHORT_VOTING_PERIOD_SECONDS (12ULL * 3600ULL)         /* ExchangeRate */
#define GOV_NEURON_MANAGEMENT_VOTING_PERIOD_SECONDS (48ULL * 3600ULL)
#define GOV_WAIT_FOR_QUIET_DEADLINE_INCREASE_SECONDS (2ULL * GOV_ONE_DAY) /* W */
/* Voting-power snapshots (4.5). */
#define GOV_VP_SNAPSHOTS_MAX 7
#define GOV_VP_SNAPSHOT_MAX_STALENESS_SECONDS (3ULL * GOV_ONE_MONTH)
#define GOV_VP_SPIKE_NUM 3 /* factor 1.5 = 3/2 */
#define GOV_VP_SPIKE_DEN 2
#define GOV_NODE_PROVIDER_REWARD_PERIOD_SECONDS GOV_ONE_MONTH

/* Topic ids beyond gov_math.h's (the Topics table). */
enum {
    GOV_TOPIC_UNSPECIFIED = 0,
    GOV_TOPIC_NETWORK_ECONOMICS = 3,
    GOV_TOPIC_GOVERNANCE = 4,
    GOV_TOPIC_NODE_ADMIN = 5,
    GOV_TOPIC_PARTICIPANT_MANAGEMENT = 6,
    GOV_TOPIC_SUBNET_MANAGEMENT = 7,
    GOV_TOPIC_APPLICATION_CANISTER_MANAGEMENT = 8,
    GOV_TOPIC_KYC = 9,
    GOV_TOPIC_NODE_PROVIDER_REWARDS = 10,
    GOV_TOPIC_IC_OS_VERSION_DEPLOYMENT = 12,
    GOV_TOPIC_IC_OS_VERSION_ELECTION = 13,
    GOV_TOPIC_SNS_AND_COMMUNITY_FUND = 14,
    GOV_TOPIC_API_BOUNDARY_NODE_MANAGEMENT = 15,
    GOV_TOPIC_SUBNET_RENTAL = 16,
    GOV_TOPIC_PROTOCOL_CANISTER_MANAGEMENT = 17,
    GOV_TOPIC_SERVICE_NERVOUS_SYSTEM_MANAGEMENT = 18,
};

/* ---- enums with the proto values (spec "Other enums") ---- */
typedef enum { GOV_VOTE_UNSPECIFIED = 0, GOV_VOTE_YES = 1, GOV_VOTE_NO = 2 } gov_vote_t;
typedef enum {
    GOV_PROPOSAL_OPEN = 1,
    GOV_PROPOSAL_REJECTED = 2,
    GOV_PROPOSAL_ADOPTED = 3,
    GOV_PROPOSAL_EXECUTED = 4,
    GOV_PROPOSAL_FAILED = 5,
} gov_proposal_status_t;
typedef enum {
    GOV_REWARD_ACCEPT_VOTES = 1,
    GOV_REWARD_READY_TO_SETTLE = 2,
    GOV_REWARD_SETTLED = 3,
    GOV_REWARD_INELIGIBLE = 4,
} gov_reward_status_t;

/* Wire names ("yes"/"no"/"unspecified"; "Open"...; "AcceptVotes"...): static strings, NULL when
 * out of range. The parsers accept the names (case as written on the wire) or the numeric
 * values in decimal, and return 0 when unknown (votes: -1). */
const char *gov_vote_name(int vote);
int gov_vote_from_name(const char *s);
const char *gov_proposal_status_name(int status);
int gov_proposal_status_from_name(const char *s);
const char *gov_reward_status_name(int status);
int gov_reward_status_from_name(const char *s);
/* Topic filter values: a topic name ("Governance") or its numeric id; -1 when unknown. */
int32_t gov_topic_from_name(const char *s);

/* ---- actions (wire contract "Actions") ---- */
typedef enum {
    GOV_ACTION_MOTION = 1,
    GOV_ACTION_MANAGE_NEURON,
    GOV_ACTION_MANAGE_NETWORK_ECONOMICS,
    GOV_ACTION_REGISTER_KNOWN_NEURON,
    GOV_ACTION_DEREGISTER_KNOWN_NEURON,
    GOV_ACTION_APPROVE_GENESIS_KYC,
    GOV_ACTION_ADD_OR_REMOVE_NODE_PROVIDER,
    GOV_ACTION_REWARD_NODE_PROVIDER,
    GOV_ACTION_REWARD_NODE_PROVIDERS,
    GOV_ACTION_EXECUTE_NNS_FUNCTION,
    GOV_ACTION_INSTALL_CODE,
    GOV_ACTION_STOP_OR_START_CANISTER,
    GOV_ACTION_UPDATE_CANISTER_SETTINGS,
    GOV_ACTION_CREATE_SERVICE_NERVOUS_SYSTEM,
    GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST,
} gov_action_kind_t;
#define GOV_ACTION_KIND_MAX GOV_ACTION_FULFILL_SUBNET_RENTAL_REQUEST

/* "Motion", "ManageNeuron", ... (the wire's `type`); 0 when unknown or obsolete
 * (SetDefaultFollowees, OpenSnsTokenSwap, SetSnsTokenSwapOpenTimeWindow: the API answers 400
 * InvalidProposal). gov_action_name: NULL when out of range. */
gov_action_kind_t gov_action_from_name(const char *name);
const char *gov_action_name(gov_action_kind_t kind);

/* NnsFunction ids executed here (JSON payloads); every other valid id carries hex bytes. */
enum {
    GOV_NNS_ICP_XDR_CONVERSION_RATE = 10,
    GOV_NNS_SET_AUTHORIZED_SUBNETWORKS = 14,
    GOV_NNS_UPDATE_NODE_REWARDS_TABLE = 20,
    GOV_NNS_UPDATE_SUBNET_TYPE = 32,
    GOV_NNS_CHANGE_SUBNET_TYPE_ASSIGNMENT = 33,
};
#define GOV_NNS_FUNCTION_MAX 57
/* The topic of an NnsFunction (the NnsFunction table), -1 when 0, unknown or obsolete. */
int32_t gov_nns_function_topic(int32_t fn);
/* Whether the function's payload is a JSON object (10, 14, 20, 32, 33). */
bool gov_nns_function_is_json(int32_t fn);

/* ManageNetworkEconomics: which fields the action sets (bit i = field i of this list, in
 * gov_economics_t order; the nested voting_power_economics fields included). Fields absent or
 * zero keep the old value (spec 7: merge field by field). */
enum {
    GOV_ECO_REJECT_COST = 1u << 0,
    GOV_ECO_NEURON_MINIMUM_STAKE = 1u << 1,
    GOV_ECO_NEURON_MANAGEMENT_FEE = 1u << 2,
    GOV_ECO_MINIMUM_ICP_XDR_RATE = 1u << 3,
    GOV_ECO_NEURON_SPAWN_DISSOLVE_DELAY = 1u << 4,
    GOV_ECO_MAXIMUM_NODE_PROVIDER_REWARDS = 1u << 5,
    GOV_ECO_TRANSACTION_FEE = 1u << 6,
    GOV_ECO_MAX_PROPOSALS_TO_KEEP_PER_TOPIC = 1u << 7,
    GOV_ECO_MAX_SUSTAINED_NEURONS_PER_HOUR = 1u << 8,
    GOV_ECO_NEURON_CREATION_SPIKE = 1u << 9,
    GOV_ECO_START_REDUCING_VOTING_POWER_AFTER = 1u << 10,
    GOV_ECO_CLEAR_FOLLOWING_AFTER = 1u << 11,
    GOV_ECO_MIN_DISSOLVE_DELAY_TO_VOTE = 1u << 12,
};

/* How a node provider is rewarded (RewardNodeProvider reward_mode). */
typedef struct {
    principal_t node_provider;
    uint64_t amount_e8s;
    bool to_neuron;                  /* false: to_account */
    account_id_t to_account;         /* to_account mode */
    uint64_t dissolve_delay_seconds; /* to_neuron mode */
    /* to_neuron mode: drawn by the API at submission (random, non-zero; IdInUse at execution
     * fails the proposal): the new neuron's id and its staking subaccount's nonce */
    uint64_t candidate_id;
    uint64_t candidate_nonce;
} gov_np_reward_t;

/* UpdateNodeRewardsTable (NnsFunction 20) entry. */
typedef struct {
    principal_t node_provider;
    uint64_t xdr_permyriad_per_month;
} gov_rewards_table_entry_t;

/* The typed action. Pointers refer to the caller's memory in gov_submit_args_t (the state
 * machine copies them) and to the proposal's own allocation in reads and round accessors.
 * Strings are NUL-terminated UTF-8 (NULL = absent); counts are elements. */
typedef struct {
    gov_action_kind_t kind;
    union {
        struct {
            const char *motion_text;
        } motion;
        struct {
            /* command.neuron_id is the managed neuron; command.caller is ignored (execution uses
             * the managed neuron's controller, spec 2.12). Random candidates (split, spawn) are
             * drawn by the API at submission. Claims are not commands and cannot be proposed. */
            gov_command_t command;
        } manage_neuron;
        struct {
            uint32_t mask; /* GOV_ECO_* */
            gov_economics_t values;
        } economics;
        struct {
            uint64_t neuron_id;
            const char *name;
            const char *description; /* NULL: none */
            size_t nlinks;
            const char *const *links;
            size_t ntopics;
            const int32_t *committed_topics;
        } register_known_neuron;
        struct {
            uint64_t neuron_id;
        } deregister_known_neuron;
        struct {
            size_t n;
            const principal_t *principals;
        } approve_genesis_kyc;
        struct {
            bool add; /* change "add" | "remove" */
            principal_t id;
            bool has_reward_account;
            account_id_t reward_account;
        } node_provider;
        struct {
            gov_np_reward_t reward;
        } reward_node_provider;
        struct {
            size_t n;
            const gov_np_reward_t *rewards;
            bool use_registry_derived_rewards; /* preward computes and mints the table's rewards */
        } reward_node_providers;
        struct {
            int32_t nns_function;
            /* 10 */
            uint64_t xdr_permyriad_per_icp, timestamp_seconds;
            /* 14 (who), 33 (subnets) */
            bool has_who;
            principal_t who;
            size_t nsubnets;
            const principal_t *subnets;
            /* 32, 33 */
            bool add; /* "add" (true) | "remove" */
            const char *subnet_type;
            /* 20 */
            size_t nrewards;
            const gov_rewards_table_entry_t *rewards;
            /* the others: the payload bytes (hex on the wire) */
            size_t payload_len;
            const uint8_t *payload;
        } nns;
        struct {
            principal_t canister_id;
            int32_t install_mode; /* 1 install, 2 reinstall, 3 upgrade */
            bool has_wasm_module_hash;
            uint8_t wasm_module_hash[32];
            size_t arg_len;
            const uint8_t *arg;
        } install_code;
        struct {
            principal_t canister_id;
            bool stop; /* action "stop" (true) | "start" */
        } stop_or_start;
        struct {
            principal_t canister_id; /* the settings are kept in action_json only */
        } update_canister_settings;
        struct {
            const char *name;
            bool neurons_fund_participation; /* true is refused (spec 2.13) */
        } create_sns;
        struct {
            principal_t user;
        } subnet_rental;
    } u;
} gov_action_t;

/* The topic of an action (spec 4.2; by target canister for the canister actions: NNS protocol
 * canisters -> ProtocolCanisterManagement, SNS-W and the SNS aggregator ->
 * ServiceNervousSystemManagement, others -> ApplicationCanisterManagement); -1 when none
 * (InvalidProposal). */
int32_t gov_action_topic(const gov_action_t *a);

/* Binary encoding of a typed action, in memory only: the layout of this build's structs, never
 * stored (the store keeps action_json and the draws, proposal_body.h). Used to compare two
 * actions field by field. gov_action_encoded_size: the bytes needed; gov_action_encode writes
 * them (returns the count). gov_action_decode: a malloc'd action whose pointers refer to the
 * same allocation (free() it), NULL on a bad encoding or allocation failure. */
size_t gov_action_encoded_size(const gov_action_t *a);
size_t gov_action_encode(const gov_action_t *a, uint8_t *out, size_t cap);
gov_action_t *gov_action_decode(const uint8_t *in, size_t len);
/* A deep copy of an action in one allocation (free() it); NULL when out of memory. */
gov_action_t *gov_action_copy(const gov_action_t *a);

/* ---- proposals ---- */
typedef struct {
    uint64_t yes, no, total; /* sums of ballot voting power; total = all ballots */
    uint64_t timestamp_seconds;
} gov_tally_t;

/* The fixed part of ProposalData (spec 4.3-4.7). Texts and the action are in
 * gov_proposal_full_t. */
typedef struct {
    uint64_t id; /* sequential from 1 */
    uint64_t proposer;
    int32_t topic;
    gov_action_kind_t action_kind;
    int32_t nns_function;       /* ExecuteNnsFunction: the function; else 0 */
    uint64_t managed_neuron_id; /* ManageNeuron: the managed neuron; else 0 */
    uint64_t reject_cost_e8s;   /* the fee charged (0 for ManageNeuron: never refunded) */
    uint64_t proposal_timestamp_seconds;
    uint64_t decided_timestamp_seconds;  /* 0 = open */
    uint64_t executed_timestamp_seconds; /* > 0: Executed */
    uint64_t failed_timestamp_seconds;   /* > 0: Failed (failure_reason) */
    char failure_reason[GOV_FAILURE_REASON_MAX];
    bool has_wait_for_quiet;                  /* false for ManageNeuron */
    uint64_t wait_for_quiet_deadline_seconds; /* current_deadline */
    uint64_t voting_period_seconds;           /* V */
    uint64_t total_potential_voting_power;
    gov_tally_t tally;                   /* latest_tally */
    bool has_previous_ballots_timestamp; /* the spike protection used an older snapshot */
    uint64_t previous_ballots_timestamp_seconds;
    uint64_t reward_event_round; /* 0 = not settled */
    uint64_t ballots_count;      /* ballots at creation */
    bool ballots_held;           /* the ballots are in memory (until settled or forgotten) */
    uint64_t exec_flow_id;       /* an execution in flight (intents or a ManageNeuron flow), 0 */
} gov_proposal_t;

/* A proposal with its texts and action, as copied out by reads (one allocation: free() it) and
 * as given by round accessors (owned by the round). action_json is the action as submitted
 * (rendered by the API at submission, payload included), kept and served verbatim. */
typedef struct {
    gov_proposal_t p;
    const char *title;   /* NULL when none */
    const char *summary; /* "" when empty */
    const char *url;     /* NULL when none */
    const char *action_json;
    const gov_action_t *action;
} gov_proposal_full_t;

/* Derived at now (4.3, 4.6). */
gov_proposal_status_t gov_proposal_status(const gov_proposal_t *p);
gov_reward_status_t gov_proposal_reward_status(const gov_proposal_t *p, uint64_t now);
/* The deadline: the wait-for-quiet current_deadline, else proposal time + voting period. */
uint64_t gov_proposal_deadline(const gov_proposal_t *p);

/* A ballot (reads; the mirror's form is arrays). */
typedef struct {
    uint64_t neuron_id;
    uint64_t voting_power;
    uint8_t vote; /* gov_vote_t */
} gov_ballot_t;

/* A neuron's recent ballot (2.1). */
typedef struct {
    uint64_t proposal_id;
    uint8_t vote;
} gov_recent_ballot_t;

/* ---- known neurons (2.13) ---- */
typedef struct {
    uint64_t id;
    const char *name;
    const char *description; /* NULL: none */
    size_t nlinks;
    const char *const *links;
    size_t ntopics;
    const int32_t *committed_topics;
} gov_known_neuron_t;

/* ---- node providers (9) ---- */
typedef struct {
    principal_t id;
    bool has_reward_account;
    account_id_t reward_account;      /* absent: the provider's default account */
    bool has_xdr_permyriad_per_month; /* from the rewards table (NnsFunction 20) */
    uint64_t xdr_permyriad_per_month;
    bool has_last_reward; /* written by the rewards (preward) */
    uint64_t last_reward_amount_e8s, last_reward_timestamp_seconds, last_reward_block_index;
} gov_node_provider_t;

/* ---- voting-power snapshots (4.5): at most GOV_VP_SNAPSHOTS_MAX, one per day ---- */
typedef struct {
    uint64_t timestamp_seconds;
    uint64_t total_potential_voting_power;
    size_t n; /* neurons, ascending ids */
    const uint64_t *neuron_ids;
    const uint64_t *voting_powers; /* deciding voting power at the snapshot */
} gov_vp_snapshot_t;

/* ---- proposal counters (gov_load_proposal_info, gov_round_proposal_info) ---- */
typedef struct {
    uint64_t next_proposal_id;  /* 1 at first */
    uint64_t last_snapshot_day; /* day number (unix / 86400) of the newest snapshot, 0 none */
    /* metrics (reads only; ignored by gov_load_proposal_info): */
    uint64_t proposals; /* in memory */
    uint64_t open, holding_ballots, open_manage_neuron;
    uint64_t ballots; /* held in memory */
    uint64_t known_neurons, node_providers;
    uint64_t follow_index_entries; /* (followee, topic, follower) triples */
    size_t memory_bytes;           /* proposals, ballots, index, snapshots */
} gov_proposal_info_t;

/* ---- commands ---- */
/* POST /v1/proposals: the proposer neuron, texts (NUL-terminated; title and url NULL when
 * absent) and the action; action_json as the API renders it back (stored verbatim). */
typedef struct {
    principal_t caller;
    uint64_t neuron_id;
    const char *title;
    const char *summary;
    const char *url;
    gov_action_t action;
    const char *action_json;
} gov_submit_args_t;

/* POST /v1/proposals/{id}/votes. vote must be YES or NO (else 422 PreconditionFailed). */
typedef struct {
    principal_t caller;
    uint64_t proposal_id;
    uint64_t neuron_id;
    int vote;
} gov_vote_args_t;

typedef struct {
    uint64_t proposal_id;
    uint64_t neuron_id;
    int vote;
    gov_tally_t latest_tally;
    uint64_t deadline_timestamp_seconds;
    gov_proposal_status_t status;
    size_t ballots_changed; /* by this vote and its cascade */
} gov_vote_outcome_t;

/* --- applies (state thread, inside a round) --- */
/* make_proposal (spec 4.4): validates the action (400 InvalidProposal: texts, sizes, topic,
 * obsolete functions, payload shapes; 404 NotFound for an unknown managed neuron), the caller
 * (403 NotAuthorized), the fee (422 InsufficientFunds), the dissolve delay to propose (422
 * PreconditionFailed), capacity (422 ResourceExhausted), the ballots (422 PreconditionFailed "No
 * eligible voters"; ManageNeuron: the proposer must be a NeuronManagement followee), a locked
 * proposer (409 LedgerUpdateOngoing); then charges the fee, snapshots the ballots (with the
 * spike protection), casts the proposer's yes with the cascade, refreshes the proposer's voting
 * power and processes the proposal (a decision at once executes it). *proposal_id: the new id. */
bool gov_apply_submit(gov_t *g, gov_round_t *r, const gov_submit_args_t *a, uint64_t now,
                      uint64_t *proposal_id, nns_error_t *err) __attribute__((warn_unused_result));

/* register_vote (spec 4.6-4.8, 5): 404 NotFound (proposal or neuron), 403 NotAuthorized (caller
 * neither controller nor hot key, or the neuron has no ballot), 422 PreconditionFailed (vote not
 * yes/no, deadline passed), 409 NeuronAlreadyVoted. Casts the vote and its cascade, updates the
 * tally and the wait-for-quiet deadline, refreshes the voter's voting power and processes the
 * proposal (a decision at once executes it). */
bool gov_apply_vote(gov_t *g, gov_round_t *r, const gov_vote_args_t *a, uint64_t now,
                    gov_vote_outcome_t *out, nns_error_t *err) __attribute__((warn_unused_result));

/* The answer of a POST intent (GOV_INTENT_POST: the cmc's execution of NnsFunction 10, 14, 32,
 * 33). ok false: the proposal fails with error as failure_reason. */
typedef struct {
    bool ok;
    int status; /* HTTP status (0 when no answer) */
    char error[160];
} gov_call_result_t;
bool gov_apply_call_done(gov_t *g, gov_round_t *r, uint64_t intent_id, const gov_call_result_t *res,
                         uint64_t now, gov_outcome_t *out, nns_error_t *err)
    __attribute__((warn_unused_result));
/* Mints of RewardNodeProvider(s) are TRANSFER intents answered by gov_apply_transfer_done (gov.h);
 * the proposal is Executed when its last mint succeeds, Failed with the ledger's refusal. */

/* gov_apply_tick (gov.h) also processes proposals: decisions at deadlines (and executions),
 * the daily voting-power snapshot, the forgetting of settled proposals beyond
 * max_proposals_to_keep_per_topic. gov_tick_due accounts for the proposal deadlines. */

/* --- loads (state thread, after gov_load_neuron of every neuron, before gov_load_done) --- */
void gov_load_proposal_info(gov_t *g, const gov_proposal_info_t *info);
/* A proposal with its typed action (the store parses it from action_json and the draws:
 * gov_action_from_stored, proposal_body.h) and, when p->ballots_held, its ballots as arrays
 * ascending by neuron id (n == p->ballots_count). Copies everything. */
bool gov_load_proposal(gov_t *g, const gov_proposal_t *p, const char *title, const char *summary,
                       const char *url, const char *action_json, const gov_action_t *action,
                       const uint64_t *ballot_ids, const uint64_t *ballot_vps,
                       const uint8_t *ballot_votes, size_t nballots, nns_error_t *err)
    __attribute__((warn_unused_result));
bool gov_load_known_neuron(gov_t *g, const gov_known_neuron_t *k, nns_error_t *err)
    __attribute__((warn_unused_result));
bool gov_load_node_provider(gov_t *g, const gov_node_provider_t *np, nns_error_t *err)
    __attribute__((warn_unused_result));
bool gov_load_vp_snapshot(gov_t *g, const gov_vp_snapshot_t *s, nns_error_t *err)
    __attribute__((warn_unused_result));
/* gov_load_done (gov.h) builds the following index from the loaded neurons. */

/* --- reads (any thread; committed state) --- */
void gov_proposal_info(gov_t *g, gov_proposal_info_t *out);

/* Proposal list filters: each array holds the accepted values (n = 0: any). */
typedef struct {
    size_t nstatus, ntopic, nreward;
    int status[8];
    int32_t topic[GOV_TOPICS];
    int reward_status[8];
    uint64_t before_id; /* keyset cursor: ids < before_id (0: from the newest) */
    size_t limit;       /* <= GOV_PROPOSAL_LIST_MAX */
} gov_proposal_filter_t;
/* Proposals in memory matching f at now, newest first: *out is a malloc'd array of malloc'd
 * copies (free each with free(), then the array); *more tells whether more match (next cursor:
 * the last id). Proposals forgotten from memory are the mirror's. False on allocation failure. */
bool gov_proposals_list(gov_t *g, const gov_proposal_filter_t *f, uint64_t now,
                        gov_proposal_full_t ***out, size_t *n, bool *more);
/* A malloc'd copy of the proposal (free()), NULL when unknown (or forgotten) or out of memory
 * (*oom). */
gov_proposal_full_t *gov_proposal_get(gov_t *g, uint64_t id, bool *oom);
/* Ballots of a proposal held in memory: neuron ids > after_id, ascending, matching vote (-1:
 * any), at most max into out. Returns the count, *more whether more follow; false in *held when
 * the proposal is unknown or holds no ballots (the mirror serves them then). */
size_t gov_proposal_ballots(gov_t *g, uint64_t id, uint64_t after_id, int vote, gov_ballot_t *out,
                            size_t max, bool *more, bool *held);
/* A neuron's ballot on a held proposal; false when none. */
bool gov_proposal_ballot(gov_t *g, uint64_t proposal_id, uint64_t neuron_id, gov_ballot_t *out);
/* The neuron's votes (yes/no) on the proposals holding ballots, newest proposal first, ExchangeRate
 * excluded, at most max (<= GOV_RECENT_BALLOTS_MAX). */
size_t gov_neuron_recent_ballots(gov_t *g, uint64_t neuron_id, gov_recent_ballot_t *out,
                                 size_t max);
/* Known neurons ascending by id: a malloc'd array of malloc'd copies (free each, then the array).
 */
bool gov_known_neurons(gov_t *g, gov_known_neuron_t ***out, size_t *n);
/* The known-neuron record of a neuron: a malloc'd copy, NULL when none (or *oom). */
gov_known_neuron_t *gov_known_neuron(gov_t *g, uint64_t id, bool *oom);
/* Node providers in principal byte order: a malloc'd array (free()). */
bool gov_node_providers(gov_t *g, gov_node_provider_t **out, size_t *n);
/* Followers of (followee, topic) in the index (for tests and diagnostics): count, copying at
 * most max ids. */
size_t gov_followers(gov_t *g, uint64_t followee, int32_t topic, uint64_t *out, size_t max);

/* --- what the round changed, for the store (valid until commit/discard) --- */
void gov_round_proposal_info(const gov_round_t *r, gov_proposal_info_t *out, bool *changed);
/* Proposals written by the round (created or changed), ascending id: *created for a new one;
 * *forgotten when the round dropped it from memory (the mirror keeps it; its other fields are
 * its last state). */
size_t gov_round_proposal_count(const gov_round_t *r);
const gov_proposal_full_t *gov_round_proposal(const gov_round_t *r, size_t i, bool *created,
                                              bool *forgotten);
/* The ballots proposal i's round changed, as parallel arrays ascending by neuron id, with the
 * time of each change (the apply's now): for a created proposal every ballot (the snapshot, with
 * the votes cast in the round). n = 0 when none. */
typedef struct {
    uint64_t proposal_id;
    size_t n;
    const uint64_t *neuron_ids;
    const uint8_t *votes;
    const uint64_t *voting_powers;
    const uint64_t *cast_at_seconds; /* 0 for ballots still unspecified */
} gov_ballot_rows_t;
void gov_round_ballot_changes(const gov_round_t *r, size_t i, gov_ballot_rows_t *out);
/* Tally changes in order (the tally history), with the deadline after each. */
typedef struct {
    uint64_t proposal_id;
    gov_tally_t tally;
    uint64_t deadline_seconds;
} gov_tally_change_t;
const gov_tally_change_t *gov_round_tally_changes(const gov_round_t *r, size_t *n);
/* Known neurons written (removed: deregistered; then only id is meaningful). */
size_t gov_round_known_neuron_count(const gov_round_t *r);
const gov_known_neuron_t *gov_round_known_neuron(const gov_round_t *r, size_t i, bool *removed);
/* Node providers written (removed: only id is meaningful). */
size_t gov_round_node_provider_count(const gov_round_t *r);
const gov_node_provider_t *gov_round_node_provider(const gov_round_t *r, size_t i, bool *removed);
/* Voting-power snapshots taken by the round (at most one) and the timestamps of those dropped. */
const gov_vp_snapshot_t *gov_round_vp_snapshot(const gov_round_t *r);
const uint64_t *gov_round_vp_snapshots_dropped(const gov_round_t *r, size_t *n);

/* ---- rewards (preward: gov_reward.c; declarations in gov_reward.h, which includes this
 * header). ---- */

#endif
