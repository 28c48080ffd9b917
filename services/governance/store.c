#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db_pool.h"
#include "dbstore.h"
#include "hmap.h"
#include "jsonutil.h"
#include "log.h"
#include "proposal_body.h"

/* Binary element types beyond db.h's. */
enum { OID_BOOL = 16, OID_INT2 = 21 };

/* A bigint holding a u64's bits, as numeric (schema 003: analytics.governance_u64). */
#define U64_EXPR(x)                                                                                \
    "CASE WHEN " x " < 0 THEN " x "::numeric + 18446744073709551616 ELSE " x "::numeric END"

/* ---- names of the enums in the tables (index = the enum's value; NULL = none) ---- */
static const char *const RULE_NAMES[] = {
    [GOV_RULES_CURRENT] = "current", [GOV_RULES_LEGACY] = "legacy"};
static const char *const MM_NAMES[] = {[GOV_MM_NONE] = "none",
                                       [GOV_MM_GENESIS] = "genesis",
                                       [GOV_MM_CMC] = "cmc",
                                       [GOV_MM_RATE_HISTORY] = "rate-history"};
static const char *const FLOW_NAMES[] = {[GOV_FLOW_CLAIM] = "claim",
                                         [GOV_FLOW_DISBURSE] = "disburse",
                                         [GOV_FLOW_SPLIT] = "split",
                                         [GOV_FLOW_MERGE] = "merge",
                                         [GOV_FLOW_SPAWN_MINT] = "spawn_mint",
                                         [GOV_FLOW_MATURITY_MINT] = "maturity_mint",
                                         [GOV_FLOW_GENESIS_MINT] = "genesis_mint",
                                         [GOV_FLOW_MODULATION] = "modulation",
                                         [GOV_FLOW_PROPOSAL_CALL] = "proposal_call",
                                         [GOV_FLOW_PROPOSAL_MINT] = "proposal_mint",
                                         [GOV_FLOW_REWARD_SUPPLY] = "reward_supply",
                                         [GOV_FLOW_NODE_PROVIDER_RATE] = "node_provider_rate",
                                         [GOV_FLOW_NODE_PROVIDER_MINT] = "node_provider_mint"};
static const char *const STEP_NAMES[] = {
    [GOV_STEP_BALANCE] = "balance",   [GOV_STEP_BURN_FEES] = "burn_fees",
    [GOV_STEP_TRANSFER] = "transfer", [GOV_STEP_MINT] = "mint",
    [GOV_STEP_READ] = "read",         [GOV_STEP_POST] = "post"};
static const char *const INTENT_KIND_NAMES[] = {
    [GOV_INTENT_GET] = "get", [GOV_INTENT_TRANSFER] = "transfer", [GOV_INTENT_POST] = "post"};
static const char *const PURPOSE_NAMES[] = {
    [GOV_PURPOSE_BALANCE] = "balance",           [GOV_PURPOSE_MODULATION] = "modulation",
    [GOV_PURPOSE_RATE_HISTORY] = "rate_history", [GOV_PURPOSE_BURN] = "burn",
    [GOV_PURPOSE_TRANSFER] = "transfer",         [GOV_PURPOSE_MINT] = "mint",
    [GOV_PURPOSE_CMC_POST] = "cmc_post",         [GOV_PURPOSE_SUPPLY] = "supply",
    [GOV_PURPOSE_AVERAGE_RATE] = "average_rate"};
static const char *const TARGET_NAMES[] = {
    [GOV_TARGET_LEDGER] = "ledger", [GOV_TARGET_CMC] = "cmc"};

/* The index of name in names, -1 when absent. */
static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return i;
    return -1;
}
#define NAME_INDEX(names, name) name_index(names, (int)(sizeof names / sizeof names[0]), name)
#define NAME_OF(names, v)                                                                          \
    ((size_t)(v) < sizeof names / sizeof names[0] && names[(size_t)(v)] ? names[(size_t)(v)] : "")

/* ---- multi-row statements: one binary array parameter per column ---- */

#define MR_MAX_COLS 40

/* The rows of one statement, column by column (unnest($1::type[], ...) in the SQL). */
typedef struct {
    int ncols;
    const uint32_t *oids;
    copybuf_t col[MR_MAX_COLS];
    size_t at[MR_MAX_COLS];
    size_t rows;
    /* the parameters, valid after mr_finish() */
    const char *values[MR_MAX_COLS];
    int lengths[MR_MAX_COLS];
    int formats[MR_MAX_COLS];
} multirow_t;

static void mr_init(multirow_t *m, int ncols, const uint32_t *oids)
{
    memset(m, 0, sizeof *m);
    m->ncols = ncols;
    m->oids = oids;
}

static void mr_free(multirow_t *m)
{
    for (int i = 0; i < m->ncols; i++)
        copybuf_free(&m->col[i]);
}

static void mr_reset(multirow_t *m)
{
    for (int i = 0; i < m->ncols; i++) {
        copybuf_reset(&m->col[i]);
        m->at[i] = copybuf_array_begin(&m->col[i], m->oids[i]);
    }
    m->rows = 0;
}

static bool mr_failed(const multirow_t *m)
{
    for (int i = 0; i < m->ncols; i++)
        if (m->col[i].failed)
            return true;
    return false;
}

/* Sets the element counts and the parameter arrays. */
static void mr_finish(multirow_t *m)
{
    for (int i = 0; i < m->ncols; i++) {
        copybuf_array_end(&m->col[i], m->at[i], m->rows);
        m->values[i] = m->col[i].data;
        m->lengths[i] = (int)m->col[i].len;
        m->formats[i] = 1;
    }
}

static void put_u64(copybuf_t *b, uint64_t v)
{
    copybuf_bin_numeric(b, v);
}
static void put_opt_u64(copybuf_t *b, bool has, uint64_t v)
{
    if (has)
        copybuf_bin_numeric(b, v);
    else
        copybuf_bin_null(b);
}
static void put_bool(copybuf_t *b, bool v)
{
    uint8_t x = v ? 1 : 0;
    copybuf_bin_bytes(b, &x, 1);
}
static void put_i2(copybuf_t *b, int v)
{
    uint8_t x[2] = {(uint8_t)((unsigned)v >> 8), (uint8_t)v};
    copybuf_bin_bytes(b, x, 2);
}
static void put_text(copybuf_t *b, const char *s)
{
    copybuf_bin_bytes(b, s, strlen(s));
}
static void put_principal(copybuf_t *b, const principal_t *p)
{
    copybuf_bin_bytes(b, p->bytes, p->len);
}

/* ---- the round's statements, prepared once on each write connection ---- */

#define STATE_COLUMNS                                                                              \
    "genesis_done, rule_set, genesis_timestamp_seconds, modulation_source, "                       \
    "modulation_permyriad, modulation_computed, modulation_computed_day, "                         \
    "modulation_requested_day, modulation_retry_at_seconds, limiter_available, "                   \
    "limiter_last_refill_seconds, next_intent_id, "                                                \
    "next_flow_id, last_created_at, updated_at_nanos"
#define ECONOMICS_COLUMNS                                                                          \
    "reject_cost_e8s, neuron_minimum_stake_e8s, neuron_management_fee_per_proposal_e8s, "          \
    "minimum_icp_xdr_rate, neuron_spawn_dissolve_delay_seconds, "                                  \
    "maximum_node_provider_rewards_e8s, transaction_fee_e8s, max_proposals_to_keep_per_topic, "    \
    "max_sustained_neurons_per_hour, neuron_creation_spike, "                                      \
    "start_reducing_voting_power_after_seconds, clear_following_after_seconds, "                   \
    "neuron_minimum_dissolve_delay_to_vote_seconds, updated_at_nanos"
#define NEURON_COLUMNS                                                                             \
    "id, subaccount, controller, dissolving, dissolve_delay_seconds, "                             \
    "aging_since_timestamp_seconds, when_dissolved_timestamp_seconds, cached_neuron_stake_e8s, "   \
    "neuron_fees_e8s, created_timestamp_seconds, spawn_at_timestamp_seconds, kyc_verified, "       \
    "maturity_e8s_equivalent, staked_maturity_e8s_equivalent, auto_stake_maturity, "               \
    "not_for_profit, joined_community_fund_timestamp_seconds, neuron_type, visibility, "           \
    "voting_power_refreshed_timestamp_seconds, eight_year_gang_bonus_base_e8s"
#define INFLIGHT_COLUMNS                                                                           \
    "id, kind, step, intent_id, has_request, command, caller, neuron_id, other_neuron_id, "        \
    "subaccount, controller, memo, candidate_id, to_account, amount_e8s, fee_e8s, burn_e8s, "      \
    "moved_maturity_e8s, moved_staked_maturity_e8s, moved_gang_base_e8s, "                         \
    "disbursement_timestamp_seconds, modulation_permyriad, started_at_seconds, "                   \
    "merge_source_aging_since_seconds, merge_target_aging_since_seconds, "                         \
    "merge_target_dissolve_delay_seconds, proposal_id, mints_left"
#define INTENT_COLUMNS                                                                             \
    "id, flow_id, kind, purpose, target, path, account, from_day, to_day, from_subaccount, "       \
    "to_account, amount_e8s, fee_e8s, memo, created_at_time, body"
#define EVENT_COLUMNS "neuron_id, kind, at_seconds, amount_e8s, other_neuron_id, detail"
#define HISTORY_COLUMNS                                                                            \
    "neuron_id, at_nanos, removed, stake_e8s, dissolving, dissolve_delay_seconds, "                \
    "when_dissolved_timestamp_seconds"

enum {
    STATE_NPARAMS = 15,
    ECONOMICS_NPARAMS = 14,
    NEURON_NCOLS = 21,       /* NEURON_COLUMNS */
    NEURON_WRITE_NCOLS = 22, /* NEURON_COLUMNS, reward_key */
    INFLIGHT_NCOLS = 28,
    INTENT_NCOLS = 17,
    EVENT_NCOLS = 6,
    HISTORY_NCOLS = 7
};
_Static_assert(NEURON_WRITE_NCOLS <= MR_MAX_COLS && INFLIGHT_NCOLS <= MR_MAX_COLS, "MR_MAX_COLS");

/* Column types of the multi-row statements, in NEURON_COLUMNS / INFLIGHT_COLUMNS order. */
static const uint32_t NEURON_OIDS[NEURON_WRITE_NCOLS] = {
    DB_OID_NUMERIC, DB_OID_BYTEA,   DB_OID_BYTEA,   OID_BOOL,       DB_OID_NUMERIC, DB_OID_NUMERIC,
    DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, OID_BOOL,
    DB_OID_NUMERIC, DB_OID_NUMERIC, OID_BOOL,       OID_BOOL,       DB_OID_NUMERIC, OID_INT2,
    OID_INT2,       DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_INT8};
static const uint32_t INFLIGHT_OIDS[INFLIGHT_NCOLS] = {
    DB_OID_NUMERIC, DB_OID_TEXT,    DB_OID_TEXT,    DB_OID_NUMERIC, OID_BOOL,       OID_INT2,
    DB_OID_BYTEA,   DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_BYTEA,   DB_OID_BYTEA,   DB_OID_NUMERIC,
    DB_OID_NUMERIC, DB_OID_BYTEA,   DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC,
    DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_INT4,    DB_OID_NUMERIC, DB_OID_NUMERIC,
    DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_INT8};
static const uint32_t IDS_OIDS[1] = {DB_OID_NUMERIC};
static const uint32_t HOT_KEY_OIDS[3] = {DB_OID_NUMERIC, OID_INT2, DB_OID_BYTEA};
static const uint32_t FOLLOWEE_OIDS[3] = {DB_OID_NUMERIC, DB_OID_INT4, DB_OID_TEXT};
static const uint32_t DISBURSEMENT_OIDS[6] = {DB_OID_NUMERIC, OID_INT2,       DB_OID_NUMERIC,
                                              DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_BYTEA};
static const uint32_t RESOLVED_OIDS[3] = {DB_OID_NUMERIC, OID_BOOL, DB_OID_NUMERIC};

/* ---- part 2: proposals, ballots, votes, known neurons, node providers, snapshots, rewards ---- */

#define PROPOSAL_COLUMNS                                                                           \
    "id, proposer, topic, action_type, nns_function, managed_neuron_id, status, reject_cost_e8s, " \
    "proposal_timestamp_seconds, decided_timestamp_seconds, executed_timestamp_seconds, "          \
    "failed_timestamp_seconds, failure_reason, has_wait_for_quiet, "                               \
    "wait_for_quiet_deadline_seconds, voting_period_seconds, total_potential_voting_power, "       \
    "yes_e8s, no_e8s, total_e8s, tally_timestamp_seconds, previous_ballots_timestamp_seconds, "    \
    "reward_event_round, ballots_count, ballots_held, exec_flow_id, forgotten, title, summary, "   \
    "url, action_json, action_draws, updated_at_nanos"
#define BALLOT_COLUMNS                                                                             \
    "proposal_id, at_nanos, snapshot, first_neuron_id, last_neuron_id, neuron_ids, votes, "        \
    "voting_powers, cast_at_seconds"
#define TALLY_COLUMNS                                                                              \
    "proposal_id, at_nanos, yes_e8s, no_e8s, total_e8s, timestamp_seconds, deadline_seconds"
#define NP_COLUMNS                                                                                 \
    "id, reward_account, xdr_permyriad_per_month, last_reward_amount_e8s, "                        \
    "last_reward_timestamp_seconds, last_reward_block_index"
#define EVENT2_COLUMNS                                                                             \
    "day_after_genesis, actual_timestamp_seconds, distributed_e8s_equivalent, "                    \
    "total_available_e8s_equivalent, rounds_since_last_distribution, "                             \
    "latest_round_available_e8s_equivalent, settled_proposals"
#define NPR_COLUMNS                                                                                \
    "timestamp_seconds, xdr_conversion_rate, average_xdr_permyriad_per_icp, "                      \
    "minimum_xdr_permyriad_per_icp, maximum_node_provider_rewards_e8s, node_providers, "           \
    "to_accounts, xdr_permyriad, amounts_e8s, statuses, block_indexes, flow_ids, errors"

enum { PROPOSAL_NCOLS = 33, BALLOT_NCOLS = 9, TALLY_NCOLS = 7, NP_NCOLS = 6 };
_Static_assert(PROPOSAL_NCOLS <= MR_MAX_COLS, "MR_MAX_COLS");

static const uint32_t PROPOSAL_OIDS[PROPOSAL_NCOLS] = {
    DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_INT4,    DB_OID_TEXT,    DB_OID_INT4,    DB_OID_NUMERIC,
    DB_OID_TEXT,    DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC,
    DB_OID_TEXT,    OID_BOOL,       DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC,
    DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC,
    OID_BOOL,       DB_OID_NUMERIC, OID_BOOL,       DB_OID_TEXT,    DB_OID_TEXT,    DB_OID_TEXT,
    DB_OID_TEXT,    DB_OID_TEXT,    DB_OID_NUMERIC};
static const uint32_t KNOWN_OIDS[3] = {DB_OID_NUMERIC, DB_OID_TEXT, DB_OID_TEXT};
static const uint32_t KNOWN_LINK_OIDS[3] = {DB_OID_NUMERIC, DB_OID_INT4, DB_OID_TEXT};
static const uint32_t KNOWN_TOPIC_OIDS[3] = {DB_OID_NUMERIC, DB_OID_INT4, DB_OID_INT4};
static const uint32_t NP_OIDS[NP_NCOLS] = {DB_OID_BYTEA,   DB_OID_BYTEA,   DB_OID_NUMERIC,
                                           DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_NUMERIC};
static const uint32_t BYTEA_OIDS[1] = {DB_OID_BYTEA};

/* The round's multi-row parameter sets. */
enum {
    M_NEURONS,     /* upserted neurons */
    M_NEURONS_DEL, /* removed neurons' ids */
    M_PARTS_DEL,   /* ids whose hot keys, followees and disbursements are replaced */
    M_HOT_KEYS,
    M_FOLLOWEES,
    M_DISBURSEMENTS,
    M_INFLIGHT,
    M_INFLIGHT_DEL,
    M_RESOLVED, /* finished intents with their outcome */
    M_PROPOSALS,
    M_KNOWN_DEL, /* known neurons written (replaced or removed) */
    M_KNOWN,
    M_KNOWN_LINKS,
    M_KNOWN_TOPICS,
    M_NP_DEL, /* node providers written */
    M_NP,
    M_SNAP_DEL, /* voting-power snapshots dropped */
    M_COUNT
};

enum {
    Q_STATE,
    Q_ECONOMICS,
    Q_NEURONS_DEL,
    Q_HOT_KEYS_DEL,
    Q_FOLLOWEES_DEL,
    Q_DISBURSEMENTS_DEL,
    Q_NEURONS,
    Q_HOT_KEYS,
    Q_FOLLOWEES,
    Q_DISBURSEMENTS,
    Q_INFLIGHT_DEL,
    Q_INFLIGHT,
    Q_INTENTS_DONE,
    Q_PSTATE,
    Q_PROPOSALS,
    Q_KNOWN_DEL,
    Q_KNOWN,
    Q_NP_DEL,
    Q_NP,
    Q_SNAP_DEL,
    Q_SNAP,
    Q_REWARD_EVENT,
    Q_REWARD_DIST,
    Q_REWARD_BATCH,
    Q_NPR,
    Q_COUNT
};

static const db_prepared_t ROUND_SQL[Q_COUNT] = {
    [Q_STATE] = {"gov_state",
                 "INSERT INTO governance.state (id, " STATE_COLUMNS ") VALUES (1, $1, $2, $3, $4, "
                 "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (id) DO UPDATE SET "
                 "genesis_done = EXCLUDED.genesis_done, rule_set = EXCLUDED.rule_set, "
                 "genesis_timestamp_seconds = EXCLUDED.genesis_timestamp_seconds, "
                 "modulation_source = EXCLUDED.modulation_source, "
                 "modulation_permyriad = EXCLUDED.modulation_permyriad, "
                 "modulation_computed = EXCLUDED.modulation_computed, "
                 "modulation_computed_day = EXCLUDED.modulation_computed_day, "
                 "modulation_requested_day = EXCLUDED.modulation_requested_day, "
                 "modulation_retry_at_seconds = EXCLUDED.modulation_retry_at_seconds, "
                 "limiter_available = EXCLUDED.limiter_available, "
                 "limiter_last_refill_seconds = EXCLUDED.limiter_last_refill_seconds, "
                 "next_intent_id = EXCLUDED.next_intent_id, "
                 "next_flow_id = EXCLUDED.next_flow_id, "
                 "last_created_at = EXCLUDED.last_created_at, "
                 "updated_at_nanos = EXCLUDED.updated_at_nanos",
                 STATE_NPARAMS},
    [Q_ECONOMICS] =
        {"gov_economics",
         "INSERT INTO governance.economics (id, " ECONOMICS_COLUMNS ") VALUES (1, $1, $2, $3, $4, "
         "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO UPDATE SET "
         "reject_cost_e8s = EXCLUDED.reject_cost_e8s, "
         "neuron_minimum_stake_e8s = EXCLUDED.neuron_minimum_stake_e8s, "
         "neuron_management_fee_per_proposal_e8s = "
         "EXCLUDED.neuron_management_fee_per_proposal_e8s, "
         "minimum_icp_xdr_rate = EXCLUDED.minimum_icp_xdr_rate, "
         "neuron_spawn_dissolve_delay_seconds = EXCLUDED.neuron_spawn_dissolve_delay_seconds, "
         "maximum_node_provider_rewards_e8s = EXCLUDED.maximum_node_provider_rewards_e8s, "
         "transaction_fee_e8s = EXCLUDED.transaction_fee_e8s, "
         "max_proposals_to_keep_per_topic = EXCLUDED.max_proposals_to_keep_per_topic, "
         "max_sustained_neurons_per_hour = EXCLUDED.max_sustained_neurons_per_hour, "
         "neuron_creation_spike = EXCLUDED.neuron_creation_spike, "
         "start_reducing_voting_power_after_seconds = "
         "EXCLUDED.start_reducing_voting_power_after_seconds, "
         "clear_following_after_seconds = EXCLUDED.clear_following_after_seconds, "
         "neuron_minimum_dissolve_delay_to_vote_seconds = "
         "EXCLUDED.neuron_minimum_dissolve_delay_to_vote_seconds, "
         "updated_at_nanos = EXCLUDED.updated_at_nanos",
         ECONOMICS_NPARAMS},
    [Q_NEURONS_DEL] = {"gov_neurons_del",
                       "DELETE FROM governance.neurons WHERE id = ANY($1::numeric[])", 1},
    [Q_HOT_KEYS_DEL] = {"gov_hot_keys_del",
                        "DELETE FROM governance.hot_keys WHERE neuron_id = ANY($1::numeric[])", 1},
    [Q_FOLLOWEES_DEL] = {"gov_followees_del",
                         "DELETE FROM governance.followees WHERE neuron_id = ANY($1::numeric[])",
                         1},
    [Q_DISBURSEMENTS_DEL] = {"gov_disbursements_del",
                             "DELETE FROM governance.maturity_disbursements "
                             "WHERE neuron_id = ANY($1::numeric[])",
                             1},
    [Q_NEURONS] =
        {"gov_neurons",
         "INSERT INTO governance.neurons (" NEURON_COLUMNS ", reward_key) SELECT * FROM "
         "unnest($1::numeric[], "
         "$2::bytea[], $3::bytea[], $4::boolean[], $5::numeric[], $6::numeric[], $7::numeric[], "
         "$8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::boolean[], "
         "$13::numeric[], $14::numeric[], $15::boolean[], $16::boolean[], $17::numeric[], "
         "$18::smallint[], $19::smallint[], $20::numeric[], $21::numeric[], $22::bigint[]) "
         "ON CONFLICT (id) DO UPDATE SET subaccount = EXCLUDED.subaccount, "
         "controller = EXCLUDED.controller, dissolving = EXCLUDED.dissolving, "
         "dissolve_delay_seconds = EXCLUDED.dissolve_delay_seconds, "
         "aging_since_timestamp_seconds = EXCLUDED.aging_since_timestamp_seconds, "
         "when_dissolved_timestamp_seconds = EXCLUDED.when_dissolved_timestamp_seconds, "
         "cached_neuron_stake_e8s = EXCLUDED.cached_neuron_stake_e8s, "
         "neuron_fees_e8s = EXCLUDED.neuron_fees_e8s, "
         "created_timestamp_seconds = EXCLUDED.created_timestamp_seconds, "
         "spawn_at_timestamp_seconds = EXCLUDED.spawn_at_timestamp_seconds, "
         "kyc_verified = EXCLUDED.kyc_verified, "
         "maturity_e8s_equivalent = EXCLUDED.maturity_e8s_equivalent, "
         "staked_maturity_e8s_equivalent = EXCLUDED.staked_maturity_e8s_equivalent, "
         "auto_stake_maturity = EXCLUDED.auto_stake_maturity, "
         "not_for_profit = EXCLUDED.not_for_profit, "
         "joined_community_fund_timestamp_seconds = "
         "EXCLUDED.joined_community_fund_timestamp_seconds, "
         "neuron_type = EXCLUDED.neuron_type, visibility = EXCLUDED.visibility, "
         "voting_power_refreshed_timestamp_seconds = "
         "EXCLUDED.voting_power_refreshed_timestamp_seconds, "
         "eight_year_gang_bonus_base_e8s = EXCLUDED.eight_year_gang_bonus_base_e8s, "
         "reward_key = EXCLUDED.reward_key",
         NEURON_WRITE_NCOLS},
    [Q_HOT_KEYS] = {"gov_hot_keys",
                    "INSERT INTO governance.hot_keys (neuron_id, position, hot_key) "
                    "SELECT * FROM unnest($1::numeric[], $2::smallint[], $3::bytea[])",
                    3},
    /* each neuron's followees of a topic travel as the text of a numeric array ("{1,2}") */
    [Q_FOLLOWEES] = {"gov_followees",
                     "INSERT INTO governance.followees (neuron_id, topic, followees) "
                     "SELECT n, t, f::numeric(20,0)[] "
                     "FROM unnest($1::numeric[], $2::int[], $3::text[]) AS x(n, t, f)",
                     3},
    [Q_DISBURSEMENTS] = {"gov_disbursements",
                         "INSERT INTO governance.maturity_disbursements (neuron_id, position, "
                         "amount_e8s, timestamp_of_disbursement_seconds, "
                         "finalize_disbursement_timestamp_seconds, to_account) "
                         "SELECT * FROM unnest($1::numeric[], $2::smallint[], $3::numeric[], "
                         "$4::numeric[], $5::numeric[], $6::bytea[])",
                         6},
    [Q_INFLIGHT_DEL] = {"gov_inflight_del",
                        "DELETE FROM governance.in_flight WHERE id = ANY($1::numeric[])", 1},
    [Q_INFLIGHT] =
        {"gov_inflight",
         "INSERT INTO governance.in_flight (" INFLIGHT_COLUMNS ") SELECT * FROM unnest("
         "$1::numeric[], $2::text[], $3::text[], $4::numeric[], $5::boolean[], $6::smallint[], "
         "$7::bytea[], $8::numeric[], $9::numeric[], $10::bytea[], $11::bytea[], $12::numeric[], "
         "$13::numeric[], $14::bytea[], $15::numeric[], $16::numeric[], $17::numeric[], "
         "$18::numeric[], $19::numeric[], $20::numeric[], $21::numeric[], $22::int[], "
         "$23::numeric[], $24::numeric[], $25::numeric[], $26::numeric[], $27::numeric[], "
         "$28::bigint[]) ON CONFLICT (id) DO "
         "UPDATE SET kind = EXCLUDED.kind, "
         "step = EXCLUDED.step, intent_id = EXCLUDED.intent_id, "
         "has_request = EXCLUDED.has_request, command = EXCLUDED.command, "
         "caller = EXCLUDED.caller, neuron_id = EXCLUDED.neuron_id, "
         "other_neuron_id = EXCLUDED.other_neuron_id, subaccount = EXCLUDED.subaccount, "
         "controller = EXCLUDED.controller, memo = EXCLUDED.memo, "
         "candidate_id = EXCLUDED.candidate_id, to_account = EXCLUDED.to_account, "
         "amount_e8s = EXCLUDED.amount_e8s, fee_e8s = EXCLUDED.fee_e8s, "
         "burn_e8s = EXCLUDED.burn_e8s, moved_maturity_e8s = EXCLUDED.moved_maturity_e8s, "
         "moved_staked_maturity_e8s = EXCLUDED.moved_staked_maturity_e8s, "
         "moved_gang_base_e8s = EXCLUDED.moved_gang_base_e8s, "
         "disbursement_timestamp_seconds = EXCLUDED.disbursement_timestamp_seconds, "
         "modulation_permyriad = EXCLUDED.modulation_permyriad, "
         "started_at_seconds = EXCLUDED.started_at_seconds, "
         "merge_source_aging_since_seconds = EXCLUDED.merge_source_aging_since_seconds, "
         "merge_target_aging_since_seconds = EXCLUDED.merge_target_aging_since_seconds, "
         "merge_target_dissolve_delay_seconds = EXCLUDED.merge_target_dissolve_delay_seconds, "
         "proposal_id = EXCLUDED.proposal_id, mints_left = EXCLUDED.mints_left",
         INFLIGHT_NCOLS},
    [Q_INTENTS_DONE] = {"gov_intents_done",
                        "UPDATE governance.intents i SET resolved_at_nanos = $4, ok = x.ok, "
                        "ledger_block_index = x.b FROM unnest($1::numeric[], $2::boolean[], "
                        "$3::numeric[]) AS x(id, ok, b) WHERE i.id = x.id",
                        4},
    [Q_PSTATE] = {"gov_pstate",
                  "INSERT INTO governance.proposal_state (id, next_proposal_id, last_snapshot_day, "
                  "updated_at_nanos) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET "
                  "next_proposal_id = EXCLUDED.next_proposal_id, "
                  "last_snapshot_day = EXCLUDED.last_snapshot_day, "
                  "updated_at_nanos = EXCLUDED.updated_at_nanos",
                  3},
    [Q_PROPOSALS] =
        {"gov_proposals",
         "INSERT INTO governance.proposals (" PROPOSAL_COLUMNS ") SELECT * FROM "
         "unnest($1::numeric[], $2::numeric[], $3::int[], $4::text[], $5::int[], $6::numeric[], "
         "$7::text[], $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], "
         "$12::numeric[], $13::text[], $14::boolean[], $15::numeric[], $16::numeric[], "
         "$17::numeric[], $18::numeric[], $19::numeric[], $20::numeric[], $21::numeric[], "
         "$22::numeric[], $23::numeric[], $24::numeric[], $25::boolean[], $26::numeric[], "
         "$27::boolean[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[], "
         "$33::numeric[]) ON CONFLICT (id) DO UPDATE SET proposer = EXCLUDED.proposer, topic = "
         "EXCLUDED.topic, action_type = EXCLUDED.action_type, nns_function = "
         "EXCLUDED.nns_function, managed_neuron_id = EXCLUDED.managed_neuron_id, status = "
         "EXCLUDED.status, reject_cost_e8s = EXCLUDED.reject_cost_e8s, proposal_timestamp_seconds "
         "= EXCLUDED.proposal_timestamp_seconds, decided_timestamp_seconds = "
         "EXCLUDED.decided_timestamp_seconds, executed_timestamp_seconds = "
         "EXCLUDED.executed_timestamp_seconds, failed_timestamp_seconds = "
         "EXCLUDED.failed_timestamp_seconds, failure_reason = EXCLUDED.failure_reason, "
         "has_wait_for_quiet = EXCLUDED.has_wait_for_quiet, wait_for_quiet_deadline_seconds = "
         "EXCLUDED.wait_for_quiet_deadline_seconds, voting_period_seconds = "
         "EXCLUDED.voting_period_seconds, total_potential_voting_power = "
         "EXCLUDED.total_potential_voting_power, yes_e8s = EXCLUDED.yes_e8s, no_e8s = "
         "EXCLUDED.no_e8s, total_e8s = EXCLUDED.total_e8s, tally_timestamp_seconds = "
         "EXCLUDED.tally_timestamp_seconds, previous_ballots_timestamp_seconds = "
         "EXCLUDED.previous_ballots_timestamp_seconds, reward_event_round = "
         "EXCLUDED.reward_event_round, ballots_count = EXCLUDED.ballots_count, ballots_held = "
         "EXCLUDED.ballots_held, exec_flow_id = EXCLUDED.exec_flow_id, forgotten = "
         "EXCLUDED.forgotten, title = EXCLUDED.title, summary = EXCLUDED.summary, url = "
         "EXCLUDED.url, action_json = EXCLUDED.action_json, action_draws = "
         "EXCLUDED.action_draws, "
         "updated_at_nanos = EXCLUDED.updated_at_nanos",
         PROPOSAL_NCOLS},
    [Q_KNOWN_DEL] = {"gov_known_del",
                     "DELETE FROM governance.known_neurons WHERE id = ANY($1::numeric[])", 1},
    /* links and committed topics travel as (neuron id, position, value) arrays */
    [Q_KNOWN] = {"gov_known",
                 "INSERT INTO governance.known_neurons (id, name, description, links, "
                 "committed_topics) SELECT k.id, k.name, k.description, "
                 "coalesce((SELECT array_agg(l.link ORDER BY l.pos) FROM unnest($4::numeric[], "
                 "$5::int[], $6::text[]) AS l(id, pos, link) WHERE l.id = k.id), '{}'), "
                 "coalesce((SELECT array_agg(t.topic ORDER BY t.pos) FROM unnest($7::numeric[], "
                 "$8::int[], $9::int[]) AS t(id, pos, topic) WHERE t.id = k.id), '{}') "
                 "FROM unnest($1::numeric[], $2::text[], $3::text[]) AS k(id, name, description)",
                 9},
    [Q_NP_DEL] = {"gov_np_del", "DELETE FROM governance.node_providers WHERE id = ANY($1::bytea[])",
                  1},
    [Q_NP] = {"gov_np",
              "INSERT INTO governance.node_providers (" NP_COLUMNS ") SELECT * FROM "
              "unnest($1::bytea[], $2::bytea[], $3::numeric[], $4::numeric[], $5::numeric[], "
              "$6::numeric[])",
              NP_NCOLS},
    [Q_SNAP_DEL] = {"gov_snap_del",
                    "DELETE FROM governance.voting_power_snapshots "
                    "WHERE timestamp_seconds = ANY($1::numeric[])",
                    1},
    [Q_SNAP] = {"gov_snap",
                "INSERT INTO governance.voting_power_snapshots (timestamp_seconds, "
                "total_potential_voting_power, neuron_ids, voting_powers) VALUES ($1, $2, "
                "$3::bigint[], $4::bigint[]) ON CONFLICT (timestamp_seconds) DO UPDATE SET "
                "total_potential_voting_power = EXCLUDED.total_potential_voting_power, "
                "neuron_ids = EXCLUDED.neuron_ids, voting_powers = EXCLUDED.voting_powers",
                4},
    [Q_REWARD_EVENT] = {"gov_reward_event",
                        "INSERT INTO governance.reward_events (" EVENT2_COLUMNS ", at_nanos) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7::numeric[], $8)",
                        8},
    [Q_REWARD_DIST] = {"gov_reward_dist",
                       "INSERT INTO governance.reward_distributions (day_after_genesis, neurons, "
                       "neuron_ids, amounts_e8s) VALUES ($1, $2, $3::bigint[], $4::bigint[])",
                       4},
    [Q_REWARD_BATCH] = {"gov_reward_batch",
                        "INSERT INTO governance.reward_batches (day_after_genesis, batch_offset, "
                        "n, last, at_nanos, neuron_ids, amounts_e8s, staked, key) VALUES ($1, $2, "
                        "$3, $4, $5, $6::bigint[], $7::bigint[], $8::boolean[], $9)",
                        9},
    [Q_NPR] =
        {"gov_npr",
         "INSERT INTO governance.node_provider_rewards (" NPR_COLUMNS ", updated_at_nanos) "
         "VALUES ($1, $2, $3, $4, $5, $6::bytea[], $7::bytea[], $8::numeric[], "
         "$9::numeric[], $10::smallint[], $11::numeric[], $12::numeric[], $13::text[], $14) "
         "ON CONFLICT (timestamp_seconds) DO UPDATE SET "
         "xdr_conversion_rate = EXCLUDED.xdr_conversion_rate, average_xdr_permyriad_per_icp = "
         "EXCLUDED.average_xdr_permyriad_per_icp, minimum_xdr_permyriad_per_icp = "
         "EXCLUDED.minimum_xdr_permyriad_per_icp, maximum_node_provider_rewards_e8s = "
         "EXCLUDED.maximum_node_provider_rewards_e8s, node_providers = EXCLUDED.node_providers, "
         "to_accounts = EXCLUDED.to_accounts, xdr_permyriad = EXCLUDED.xdr_permyriad, amounts_e8s "
         "= EXCLUDED.amounts_e8s, statuses = EXCLUDED.statuses, block_indexes = "
         "EXCLUDED.block_indexes, flow_ids = EXCLUDED.flow_ids, errors = EXCLUDED.errors, "
         "updated_at_nanos = EXCLUDED.updated_at_nanos",
         14},
};

/* The read pool's statement: a neuron's events, newest first, below a cursor. */
static const db_pool_stmt_t EVENTS_STMT = {
    "gov_events",
    "SELECT seq, kind, at_seconds, amount_e8s, coalesce(other_neuron_id, 0), detail "
    "FROM governance.neuron_events WHERE neuron_id = $1 AND seq < $2 "
    "ORDER BY seq DESC LIMIT $3",
    3};

#define COPY_INTENTS                                                                               \
    "COPY governance.intents (" INTENT_COLUMNS ", recorded_at_nanos) FROM STDIN "                  \
    "WITH (FORMAT binary)"
#define COPY_EVENTS                                                                                \
    "COPY governance.neuron_events (" EVENT_COLUMNS ") FROM STDIN WITH (FORMAT binary)"
#define COPY_HISTORY                                                                               \
    "COPY governance.neuron_history (" HISTORY_COLUMNS ") FROM STDIN WITH (FORMAT binary)"
#define COPY_REPLAY DB_REPLAY_COPY_SQL("governance.replay_cache")
#define COPY_BALLOTS "COPY governance.ballots (" BALLOT_COLUMNS ") FROM STDIN WITH (FORMAT binary)"
#define COPY_TALLY                                                                                 \
    "COPY governance.tally_history (" TALLY_COLUMNS ") FROM STDIN WITH (FORMAT binary)"

/* The parameters of a one-row statement: text values, or binary arrays built in bin[i]. */
#define SP_MAX 16
typedef struct {
    char txt[SP_MAX][24];
    copybuf_t bin[SP_MAX];
    const char *v[SP_MAX];
    int l[SP_MAX], f[SP_MAX];
    int n;
    bool used;
} single_t;

/* The round's one-row statements. */
enum { S_PSTATE, S_SNAP, S_EVENT, S_DIST, S_BATCH, S_NPR, S_COUNT };

struct gov_store {
    uint64_t ballot_load_nanos; /* the last load's time of the held ballots (the log) */
    uint64_t ballot_wait_nanos; /* of which the load waited for (read in parallel) */
    db_store_t db;              /* the loader (closed after loading), the pool, the writer */
    copybuf_t intents, events, history, replay; /* binary COPY rows */
    multirow_t m[M_COUNT];
    gov_resolved_t *sorted; /* the round's outcomes by intent id */
    size_t capsorted;
    gov_neuron_full_t *nbuf;       /* one neuron copied out of a round, or loaded */
    copybuf_t ballots, tally, arr; /* COPY rows; arr: one array field being built */
    single_t sp[S_COUNT];
    /* reward credits: the latest batch committed, the round's batch (0: none), the fold */
    uint64_t batch_key, pending_key;
    pthread_t fold;
    bool fold_started, fold_stop, fold_kick;
    pthread_mutex_t fold_mu;
    pthread_cond_t fold_cv;
};

/* The fold of reward credits into the neurons' rows (below). */
static void fold_kick(gov_store_t *s);
static void fold_stop(gov_store_t *s);

/* A reward batch's key (schema 003: day_after_genesis * 2^20 + batch_offset). */
static uint64_t batch_key(const gov_reward_batch_t *b)
{
    return b->day_after_genesis << 20 | (uint64_t)b->offset;
}

/* ---- open / close ---- */

gov_store_t *gov_store_open(const char *conninfo, unsigned pool_size, unsigned depth,
                            unsigned commit_delay_ms, nns_error_t *err)
{
    gov_store_t *s = calloc(1, sizeof *s);
    if (!s || !(s->nbuf = malloc(sizeof *s->nbuf))) {
        free(s);
        nns_error_set(err, 503, "Unavailable", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->fold_mu, NULL);
    pthread_cond_init(&s->fold_cv, NULL);
    mr_init(&s->m[M_NEURONS], NEURON_WRITE_NCOLS, NEURON_OIDS);
    mr_init(&s->m[M_NEURONS_DEL], 1, IDS_OIDS);
    mr_init(&s->m[M_PARTS_DEL], 1, IDS_OIDS);
    mr_init(&s->m[M_HOT_KEYS], 3, HOT_KEY_OIDS);
    mr_init(&s->m[M_FOLLOWEES], 3, FOLLOWEE_OIDS);
    mr_init(&s->m[M_DISBURSEMENTS], 6, DISBURSEMENT_OIDS);
    mr_init(&s->m[M_INFLIGHT], INFLIGHT_NCOLS, INFLIGHT_OIDS);
    mr_init(&s->m[M_INFLIGHT_DEL], 1, IDS_OIDS);
    mr_init(&s->m[M_RESOLVED], 3, RESOLVED_OIDS);
    mr_init(&s->m[M_PROPOSALS], PROPOSAL_NCOLS, PROPOSAL_OIDS);
    mr_init(&s->m[M_KNOWN_DEL], 1, IDS_OIDS);
    mr_init(&s->m[M_KNOWN], 3, KNOWN_OIDS);
    mr_init(&s->m[M_KNOWN_LINKS], 3, KNOWN_LINK_OIDS);
    mr_init(&s->m[M_KNOWN_TOPICS], 3, KNOWN_TOPIC_OIDS);
    mr_init(&s->m[M_NP_DEL], 1, BYTEA_OIDS);
    mr_init(&s->m[M_NP], NP_NCOLS, NP_OIDS);
    mr_init(&s->m[M_SNAP_DEL], 1, IDS_OIDS);
    db_store_config_t c = {.conninfo = conninfo,
                           .migrations = &GOVERNANCE_MIGRATIONS,
                           .pool_size = pool_size,
                           .depth = depth,
                           .commit_delay_ms = commit_delay_ms,
                           .round_sql = ROUND_SQL,
                           .nround_sql = Q_COUNT};
    if (!db_store_open(&s->db, &c, err)) {
        gov_store_close(&s);
        return NULL;
    }
    return s;
}

void gov_store_close(gov_store_t **sp)
{
    gov_store_t *s = *sp;
    if (!s)
        return;
    fold_stop(s);
    db_store_close(&s->db);
    copybuf_free(&s->intents);
    copybuf_free(&s->events);
    copybuf_free(&s->history);
    copybuf_free(&s->replay);
    for (int i = 0; i < M_COUNT; i++)
        mr_free(&s->m[i]);
    copybuf_free(&s->ballots);
    copybuf_free(&s->tally);
    copybuf_free(&s->arr);
    for (int i = 0; i < S_COUNT; i++)
        for (int j = 0; j < SP_MAX; j++)
            copybuf_free(&s->sp[i].bin[j]);
    pthread_mutex_destroy(&s->fold_mu);
    pthread_cond_destroy(&s->fold_cv);
    free(s->nbuf);
    free(s->sorted);
    free(s);
    *sp = NULL;
}

db_store_t *gov_store_db(gov_store_t *s)
{
    return &s->db;
}

/* ---- writing a round ---- */

/* The text parameters of the state and economics rows (owned by the caller's buffers). */
typedef struct {
    char v[STATE_NPARAMS][24];
    const char *p[STATE_NPARAMS];
} textrow_t;

static void tr_u64(textrow_t *t, int i, uint64_t v)
{
    snprintf(t->v[i], sizeof t->v[i], "%llu", (unsigned long long)v);
    t->p[i] = t->v[i];
}
static void tr_i64(textrow_t *t, int i, int64_t v)
{
    snprintf(t->v[i], sizeof t->v[i], "%lld", (long long)v);
    t->p[i] = t->v[i];
}
static void tr_str(textrow_t *t, int i, const char *v)
{
    t->p[i] = v;
}
static void tr_bool(textrow_t *t, int i, bool v)
{
    t->p[i] = v ? "t" : "f";
}

static void state_row(const gov_info_t *in, uint64_t now, textrow_t *t)
{
    tr_bool(t, 0, in->genesis_done);
    tr_str(t, 1, NAME_OF(RULE_NAMES, in->rules));
    tr_u64(t, 2, in->genesis_timestamp_seconds);
    tr_str(t, 3, NAME_OF(MM_NAMES, in->modulation.source));
    tr_i64(t, 4, in->modulation.permyriad);
    tr_bool(t, 5, in->modulation.computed);
    tr_u64(t, 6, in->modulation.computed_day);
    tr_u64(t, 7, in->modulation.requested_day);
    tr_u64(t, 8, in->modulation.retry_at_seconds);
    tr_u64(t, 9, in->limiter.available);
    tr_u64(t, 10, in->limiter.last_refill_seconds);
    tr_u64(t, 11, in->next_intent_id);
    tr_u64(t, 12, in->next_flow_id);
    tr_u64(t, 13, in->last_created_at);
    tr_u64(t, 14, now);
}

static void economics_row(const gov_economics_t *e, uint64_t now, textrow_t *t)
{
    tr_u64(t, 0, e->reject_cost_e8s);
    tr_u64(t, 1, e->neuron_minimum_stake_e8s);
    tr_u64(t, 2, e->neuron_management_fee_per_proposal_e8s);
    tr_u64(t, 3, e->minimum_icp_xdr_rate);
    tr_u64(t, 4, e->neuron_spawn_dissolve_delay_seconds);
    tr_u64(t, 5, e->maximum_node_provider_rewards_e8s);
    tr_u64(t, 6, e->transaction_fee_e8s);
    tr_u64(t, 7, e->max_proposals_to_keep_per_topic);
    tr_u64(t, 8, e->max_sustained_neurons_per_hour);
    tr_u64(t, 9, e->neuron_creation_spike);
    tr_u64(t, 10, e->start_reducing_voting_power_after_seconds);
    tr_u64(t, 11, e->clear_following_after_seconds);
    tr_u64(t, 12, e->neuron_minimum_dissolve_delay_to_vote_seconds);
    tr_u64(t, 13, now);
}

/* stake_e8s of spec 2.1: cached - fees + staked maturity, saturating. */
static uint64_t neuron_stake(const gov_neuron_t *n)
{
    uint64_t minted = n->cached_neuron_stake_e8s > n->neuron_fees_e8s
                          ? n->cached_neuron_stake_e8s - n->neuron_fees_e8s
                          : 0;
    uint64_t s = minted + n->staked_maturity_e8s_equivalent;
    return s < minted ? UINT64_MAX : s;
}

static void add_neuron_row(multirow_t *m, const gov_neuron_t *n, uint64_t reward_key)
{
    copybuf_t *c = m->col;
    const gov_dissolve_t *d = &n->dissolve;
    put_u64(&c[0], n->id);
    copybuf_bin_bytes(&c[1], n->subaccount, SUBACCOUNT_BYTES);
    put_principal(&c[2], &n->controller);
    put_bool(&c[3], d->dissolving);
    put_opt_u64(&c[4], !d->dissolving, d->dissolve_delay_seconds);
    put_opt_u64(&c[5], !d->dissolving, d->aging_since_timestamp_seconds);
    put_opt_u64(&c[6], d->dissolving, d->when_dissolved_timestamp_seconds);
    put_u64(&c[7], n->cached_neuron_stake_e8s);
    put_u64(&c[8], n->neuron_fees_e8s);
    put_u64(&c[9], n->created_timestamp_seconds);
    put_opt_u64(&c[10], n->has_spawn_at, n->spawn_at_timestamp_seconds);
    put_bool(&c[11], n->kyc_verified);
    put_u64(&c[12], n->maturity_e8s_equivalent);
    put_u64(&c[13], n->staked_maturity_e8s_equivalent);
    put_bool(&c[14], n->auto_stake_maturity);
    put_bool(&c[15], n->not_for_profit);
    put_opt_u64(&c[16], n->has_joined_community_fund, n->joined_community_fund_timestamp_seconds);
    put_i2(&c[17], n->neuron_type);
    put_i2(&c[18], n->visibility);
    put_u64(&c[19], n->voting_power_refreshed_timestamp_seconds);
    put_u64(&c[20], n->eight_year_gang_bonus_base_e8s);
    copybuf_bin_int8(&c[21], (int64_t)reward_key);
    m->rows++;
}

/* "{1,2,3}": a followee list as the text of a numeric array. */
static void followee_text(const gov_followees_t *f, char *out, size_t cap)
{
    size_t k = 0;
    out[k++] = '{';
    for (uint8_t i = 0; i < f->n && i < GOV_FOLLOWEES_MAX; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%llu", i ? "," : "",
                              (unsigned long long)f->ids[i]);
    snprintf(out + k, cap - k, "}");
}

static void add_parts(gov_store_t *s, const gov_neuron_full_t *f)
{
    uint64_t id = f->n.id;
    multirow_t *h = &s->m[M_HOT_KEYS], *fo = &s->m[M_FOLLOWEES], *di = &s->m[M_DISBURSEMENTS];
    for (uint8_t i = 0; i < f->nhot_keys && i < GOV_HOT_KEYS_MAX; i++) {
        put_u64(&h->col[0], id);
        put_i2(&h->col[1], i);
        put_principal(&h->col[2], &f->hot_keys[i]);
        h->rows++;
    }
    char text[2 + GOV_FOLLOWEES_MAX * 21 + 1];
    for (uint8_t i = 0; i < f->nfollowees && i < GOV_TOPICS; i++) {
        followee_text(&f->followees[i], text, sizeof text);
        put_u64(&fo->col[0], id);
        copybuf_bin_int4(&fo->col[1], f->followees[i].topic);
        put_text(&fo->col[2], text);
        fo->rows++;
    }
    for (uint8_t i = 0; i < f->ndisbursements && i < GOV_DISBURSEMENTS_MAX; i++) {
        const gov_disbursement_t *d = &f->disbursements[i];
        put_u64(&di->col[0], id);
        put_i2(&di->col[1], i);
        put_u64(&di->col[2], d->amount_e8s);
        put_u64(&di->col[3], d->timestamp_of_disbursement_seconds);
        put_u64(&di->col[4], d->finalize_disbursement_timestamp_seconds);
        copybuf_bin_bytes(&di->col[5], d->to.hash, ACCOUNT_HASH_BYTES);
        di->rows++;
    }
}

static void add_id(multirow_t *m, uint64_t id)
{
    put_u64(&m->col[0], id);
    m->rows++;
}

static void add_inflight_row(multirow_t *m, const gov_inflight_t *f)
{
    copybuf_t *c = m->col;
    put_u64(&c[0], f->id);
    put_text(&c[1], NAME_OF(FLOW_NAMES, f->kind));
    put_text(&c[2], NAME_OF(STEP_NAMES, f->step));
    put_u64(&c[3], f->intent_id);
    put_bool(&c[4], f->has_request);
    put_i2(&c[5], (int)f->command);
    put_principal(&c[6], &f->caller);
    put_u64(&c[7], f->neuron_id);
    put_u64(&c[8], f->other_neuron_id);
    copybuf_bin_bytes(&c[9], f->subaccount, SUBACCOUNT_BYTES);
    put_principal(&c[10], &f->controller);
    put_u64(&c[11], f->memo);
    put_u64(&c[12], f->candidate_id);
    copybuf_bin_bytes(&c[13], f->to.hash, ACCOUNT_HASH_BYTES);
    put_u64(&c[14], f->amount_e8s);
    put_u64(&c[15], f->fee_e8s);
    put_u64(&c[16], f->burn_e8s);
    put_u64(&c[17], f->moved_maturity_e8s);
    put_u64(&c[18], f->moved_staked_maturity_e8s);
    put_u64(&c[19], f->moved_gang_base_e8s);
    put_u64(&c[20], f->disbursement_timestamp_seconds);
    copybuf_bin_int4(&c[21], f->modulation_permyriad);
    put_u64(&c[22], f->started_at_seconds);
    put_u64(&c[23], f->merge_source_aging_since_seconds);
    put_u64(&c[24], f->merge_target_aging_since_seconds);
    put_u64(&c[25], f->merge_target_dissolve_delay_seconds);
    put_u64(&c[26], f->proposal_id);
    copybuf_bin_int8(&c[27], (int64_t)f->mints_left);
    m->rows++;
}

static void add_intent_row(copybuf_t *b, const gov_intent_t *in, uint64_t now)
{
    copybuf_bin_row(b, INTENT_NCOLS);
    put_u64(b, in->id);
    put_u64(b, in->flow_id);
    put_text(b, NAME_OF(INTENT_KIND_NAMES, in->kind));
    put_text(b, NAME_OF(PURPOSE_NAMES, in->purpose));
    put_text(b, NAME_OF(TARGET_NAMES, in->target));
    copybuf_bin_bytes(b, in->path, strnlen(in->path, GOV_PATH_MAX - 1));
    copybuf_bin_bytes(b, in->account.hash, ACCOUNT_HASH_BYTES);
    put_u64(b, in->from_day);
    put_u64(b, in->to_day);
    copybuf_bin_bytes(b, in->from_subaccount, SUBACCOUNT_BYTES);
    copybuf_bin_bytes(b, in->to.hash, ACCOUNT_HASH_BYTES);
    put_u64(b, in->amount);
    put_u64(b, in->fee);
    put_u64(b, in->memo);
    put_u64(b, in->created_at_time);
    copybuf_bin_bytes(b, in->body ? in->body : "",
                      in->body ? strnlen(in->body, GOV_INTENT_BODY_MAX - 1) : 0);
    put_u64(b, now);
}

static void add_event_row(copybuf_t *b, const gov_event_t *e)
{
    copybuf_bin_row(b, EVENT_NCOLS);
    put_u64(b, e->neuron_id);
    copybuf_bin_bytes(b, e->kind, strnlen(e->kind, GOV_EVENT_KIND_MAX - 1));
    put_u64(b, e->at_seconds);
    put_u64(b, e->amount_e8s);
    put_opt_u64(b, e->other_neuron_id != 0, e->other_neuron_id);
    copybuf_bin_bytes(b, e->detail, strnlen(e->detail, GOV_EVENT_DETAIL_MAX - 1));
}

/* The neuron as the round left it (removed: stake 0, not dissolving, no delay). */
static void add_history_row(copybuf_t *b, const gov_neuron_t *n, bool removed, uint64_t now)
{
    const gov_dissolve_t *d = &n->dissolve;
    bool dissolving = !removed && d->dissolving;
    copybuf_bin_row(b, HISTORY_NCOLS);
    put_u64(b, n->id);
    copybuf_bin_int8(b, (int64_t)(now > INT64_MAX ? INT64_MAX : now));
    put_bool(b, removed);
    put_u64(b, removed ? 0 : neuron_stake(n));
    put_bool(b, dissolving);
    put_opt_u64(b, !removed && !d->dissolving, d->dissolve_delay_seconds);
    put_opt_u64(b, dissolving, d->when_dissolved_timestamp_seconds);
}

static int resolved_cmp(const void *a, const void *b)
{
    uint64_t x = ((const gov_resolved_t *)a)->intent_id, y = ((const gov_resolved_t *)b)->intent_id;
    return x < y ? -1 : x > y;
}

/* ---- part 2's rows ---- */

static void sp_reset(single_t *p, int n)
{
    p->n = n;
    p->used = false;
    for (int i = 0; i < SP_MAX; i++)
        copybuf_reset(&p->bin[i]);
}
static void sp_u64(single_t *p, int i, uint64_t v)
{
    snprintf(p->txt[i], sizeof p->txt[i], "%llu", (unsigned long long)v);
    p->v[i] = p->txt[i];
    p->l[i] = 0;
    p->f[i] = 0;
}
static void sp_bool(single_t *p, int i, bool v)
{
    p->v[i] = v ? "t" : "f";
    p->l[i] = 0;
    p->f[i] = 0;
}
/* Parameter i is the binary array built in p->bin[i]. */
static void sp_bin(single_t *p, int i)
{
    p->v[i] = p->bin[i].data;
    p->l[i] = (int)p->bin[i].len;
    p->f[i] = 1;
}
static bool sp_failed(const single_t *p)
{
    for (int i = 0; i < SP_MAX; i++)
        if (p->bin[i].failed)
            return true;
    return false;
}

/* u64 values as a bigint[] of the same bits (schema/governance/003_proposals.sql). */
static void put_bits_array(copybuf_t *b, const uint64_t *v, size_t n)
{
    size_t at = copybuf_array_begin(b, DB_OID_INT8);
    for (size_t i = 0; i < n; i++)
        copybuf_bin_int8(b, (int64_t)v[i]);
    copybuf_array_end(b, at, n);
}

static void put_opt_text(copybuf_t *b, const char *t)
{
    if (t)
        put_text(b, t);
    else
        copybuf_bin_null(b);
}

static bool add_proposal_row(gov_store_t *s, const gov_proposal_full_t *f, bool forgotten,
                             uint64_t now)
{
    const gov_proposal_t *p = &f->p;
    /* the action is stored as submitted (action_json) with the candidates drawn for it: a
     * restart parses it again (gov_action_from_stored), no struct layout is stored */
    char *draws = gov_action_draws_json(f->action);
    if (!draws)
        return false;
    copybuf_t *c = s->m[M_PROPOSALS].col;
    const char *status = gov_proposal_status_name(gov_proposal_status(p));
    const char *type = gov_action_name(p->action_kind);
    put_u64(&c[0], p->id);
    put_u64(&c[1], p->proposer);
    copybuf_bin_int4(&c[2], p->topic);
    put_text(&c[3], type ? type : "");
    copybuf_bin_int4(&c[4], p->nns_function);
    put_u64(&c[5], p->managed_neuron_id);
    put_text(&c[6], status ? status : "");
    put_u64(&c[7], p->reject_cost_e8s);
    put_u64(&c[8], p->proposal_timestamp_seconds);
    put_u64(&c[9], p->decided_timestamp_seconds);
    put_u64(&c[10], p->executed_timestamp_seconds);
    put_u64(&c[11], p->failed_timestamp_seconds);
    put_text(&c[12], p->failure_reason);
    put_bool(&c[13], p->has_wait_for_quiet);
    put_u64(&c[14], p->wait_for_quiet_deadline_seconds);
    put_u64(&c[15], p->voting_period_seconds);
    put_u64(&c[16], p->total_potential_voting_power);
    put_u64(&c[17], p->tally.yes);
    put_u64(&c[18], p->tally.no);
    put_u64(&c[19], p->tally.total);
    put_u64(&c[20], p->tally.timestamp_seconds);
    put_opt_u64(&c[21], p->has_previous_ballots_timestamp, p->previous_ballots_timestamp_seconds);
    put_u64(&c[22], p->reward_event_round);
    put_u64(&c[23], p->ballots_count);
    put_bool(&c[24], p->ballots_held);
    put_u64(&c[25], p->exec_flow_id);
    put_bool(&c[26], forgotten);
    put_opt_text(&c[27], f->title);
    put_text(&c[28], f->summary ? f->summary : "");
    put_opt_text(&c[29], f->url);
    put_text(&c[30], f->action_json ? f->action_json : "");
    put_text(&c[31], draws);
    free(draws);
    put_u64(&c[32], now);
    s->m[M_PROPOSALS].rows++;
    return true;
}

/* The ballots a round changed for one proposal, as rows of at most GOV_STORE_BALLOT_CHUNK. */
static void add_ballot_rows(gov_store_t *s, const gov_ballot_rows_t *b, bool snapshot, uint64_t now)
{
    copybuf_t *out = &s->ballots, *a = &s->arr;
    for (size_t at = 0; at < b->n; at += GOV_STORE_BALLOT_CHUNK) {
        size_t n = b->n - at < GOV_STORE_BALLOT_CHUNK ? b->n - at : GOV_STORE_BALLOT_CHUNK;
        copybuf_bin_row(out, BALLOT_NCOLS);
        put_u64(out, b->proposal_id);
        copybuf_bin_int8(out, (int64_t)(now > INT64_MAX ? INT64_MAX : now));
        put_bool(out, snapshot);
        put_u64(out, b->neuron_ids[at]);
        put_u64(out, b->neuron_ids[at + n - 1]);
        copybuf_reset(a);
        put_bits_array(a, b->neuron_ids + at, n);
        copybuf_bin_bytes(out, a->data, a->len);
        copybuf_reset(a);
        size_t k = copybuf_array_begin(a, OID_INT2);
        for (size_t i = 0; i < n; i++)
            put_i2(a, b->votes[at + i]);
        copybuf_array_end(a, k, n);
        copybuf_bin_bytes(out, a->data, a->len);
        copybuf_reset(a);
        put_bits_array(a, b->voting_powers + at, n);
        copybuf_bin_bytes(out, a->data, a->len);
        copybuf_reset(a);
        put_bits_array(a, b->cast_at_seconds + at, n);
        copybuf_bin_bytes(out, a->data, a->len);
    }
}

static void add_known_rows(gov_store_t *s, const gov_known_neuron_t *k)
{
    multirow_t *m = &s->m[M_KNOWN], *l = &s->m[M_KNOWN_LINKS], *t = &s->m[M_KNOWN_TOPICS];
    put_u64(&m->col[0], k->id);
    put_text(&m->col[1], k->name ? k->name : "");
    put_opt_text(&m->col[2], k->description);
    m->rows++;
    for (size_t i = 0; i < k->nlinks; i++) {
        put_u64(&l->col[0], k->id);
        copybuf_bin_int4(&l->col[1], (int32_t)i);
        put_text(&l->col[2], k->links[i]);
        l->rows++;
    }
    for (size_t i = 0; i < k->ntopics; i++) {
        put_u64(&t->col[0], k->id);
        copybuf_bin_int4(&t->col[1], (int32_t)i);
        copybuf_bin_int4(&t->col[2], k->committed_topics[i]);
        t->rows++;
    }
}

static void add_np_row(multirow_t *m, const gov_node_provider_t *np)
{
    copybuf_t *c = m->col;
    put_principal(&c[0], &np->id);
    if (np->has_reward_account)
        copybuf_bin_bytes(&c[1], np->reward_account.hash, ACCOUNT_HASH_BYTES);
    else
        copybuf_bin_null(&c[1]);
    put_opt_u64(&c[2], np->has_xdr_permyriad_per_month, np->xdr_permyriad_per_month);
    put_opt_u64(&c[3], np->has_last_reward, np->last_reward_amount_e8s);
    put_opt_u64(&c[4], np->has_last_reward, np->last_reward_timestamp_seconds);
    put_opt_u64(&c[5], np->has_last_reward, np->last_reward_block_index);
    m->rows++;
}

static void npr_params(single_t *p, const gov_monthly_np_rewards_t *m, uint64_t now)
{
    sp_reset(p, 14);
    sp_u64(p, 0, m->timestamp_seconds);
    sp_u64(p, 1, m->xdr_conversion_rate);
    sp_u64(p, 2, m->average_xdr_permyriad_per_icp);
    sp_u64(p, 3, m->minimum_xdr_permyriad_per_icp);
    sp_u64(p, 4, m->maximum_node_provider_rewards_e8s);
    static const uint32_t oids[8] = {DB_OID_BYTEA, DB_OID_BYTEA,   DB_OID_NUMERIC, DB_OID_NUMERIC,
                                     OID_INT2,     DB_OID_NUMERIC, DB_OID_NUMERIC, DB_OID_TEXT};
    size_t at[8];
    for (int c = 0; c < 8; c++)
        at[c] = copybuf_array_begin(&p->bin[5 + c], oids[c]);
    size_t n = m->n < GOV_NODE_PROVIDER_REWARDS_MAX ? m->n : GOV_NODE_PROVIDER_REWARDS_MAX;
    for (size_t i = 0; i < n; i++) {
        const gov_np_reward_entry_t *e = &m->rewards[i];
        put_principal(&p->bin[5], &e->node_provider);
        copybuf_bin_bytes(&p->bin[6], e->to_account.hash, ACCOUNT_HASH_BYTES);
        put_u64(&p->bin[7], e->xdr_permyriad);
        put_u64(&p->bin[8], e->amount_e8s);
        put_i2(&p->bin[9], (int)e->status);
        put_u64(&p->bin[10], e->block_index);
        put_u64(&p->bin[11], e->flow_id);
        copybuf_bin_bytes(&p->bin[12], e->error, strnlen(e->error, sizeof e->error - 1));
    }
    for (int c = 0; c < 8; c++) {
        copybuf_array_end(&p->bin[5 + c], at[c], n);
        sp_bin(p, 5 + c);
    }
    sp_u64(p, 13, now);
    p->used = true;
}

/* Proposals, ballots, the tally history, known neurons, node providers, snapshots and rewards
 * of the round (multi-row sets, COPY rows and one-row statements). False when out of memory. */
static bool build_part2(gov_store_t *s, const gov_round_t *r, uint64_t now)
{
    bool ok = true;
    for (int i = 0; i < S_COUNT; i++)
        sp_reset(&s->sp[i], 0);
    copybuf_reset(&s->ballots);
    copybuf_reset(&s->tally);

    gov_proposal_info_t pi;
    bool changed = false;
    gov_round_proposal_info(r, &pi, &changed);
    if (changed) {
        single_t *p = &s->sp[S_PSTATE];
        sp_reset(p, 3);
        sp_u64(p, 0, pi.next_proposal_id);
        sp_u64(p, 1, pi.last_snapshot_day);
        sp_u64(p, 2, now);
        p->used = true;
    }

    size_t np = gov_round_proposal_count(r);
    bool any_ballots = false;
    for (size_t i = 0; i < np; i++) {
        bool created = false, forgotten = false;
        const gov_proposal_full_t *f = gov_round_proposal(r, i, &created, &forgotten);
        ok = ok && add_proposal_row(s, f, forgotten, now);
        gov_ballot_rows_t b;
        gov_round_ballot_changes(r, i, &b);
        if (b.n) {
            if (!any_ballots)
                copybuf_bin_begin(&s->ballots);
            any_ballots = true;
            add_ballot_rows(s, &b, created, now);
        }
    }
    if (any_ballots)
        copybuf_bin_end(&s->ballots);

    size_t n;
    const gov_tally_change_t *tc = gov_round_tally_changes(r, &n);
    if (n) {
        copybuf_bin_begin(&s->tally);
        for (size_t i = 0; i < n; i++) {
            copybuf_bin_row(&s->tally, TALLY_NCOLS);
            put_u64(&s->tally, tc[i].proposal_id);
            copybuf_bin_int8(&s->tally, (int64_t)(now > INT64_MAX ? INT64_MAX : now));
            put_u64(&s->tally, tc[i].tally.yes);
            put_u64(&s->tally, tc[i].tally.no);
            put_u64(&s->tally, tc[i].tally.total);
            put_u64(&s->tally, tc[i].tally.timestamp_seconds);
            put_u64(&s->tally, tc[i].deadline_seconds);
        }
        copybuf_bin_end(&s->tally);
    }

    n = gov_round_known_neuron_count(r);
    for (size_t i = 0; i < n; i++) {
        bool removed = false;
        const gov_known_neuron_t *k = gov_round_known_neuron(r, i, &removed);
        add_id(&s->m[M_KNOWN_DEL], k->id);
        if (!removed)
            add_known_rows(s, k);
    }
    n = gov_round_node_provider_count(r);
    for (size_t i = 0; i < n; i++) {
        bool removed = false;
        const gov_node_provider_t *x = gov_round_node_provider(r, i, &removed);
        put_principal(&s->m[M_NP_DEL].col[0], &x->id);
        s->m[M_NP_DEL].rows++;
        if (!removed)
            add_np_row(&s->m[M_NP], x);
    }

    const uint64_t *dropped = gov_round_vp_snapshots_dropped(r, &n);
    for (size_t i = 0; i < n; i++)
        add_id(&s->m[M_SNAP_DEL], dropped[i]);
    const gov_vp_snapshot_t *snap = gov_round_vp_snapshot(r);
    if (snap) {
        single_t *p = &s->sp[S_SNAP];
        sp_reset(p, 4);
        sp_u64(p, 0, snap->timestamp_seconds);
        sp_u64(p, 1, snap->total_potential_voting_power);
        put_bits_array(&p->bin[2], snap->neuron_ids, snap->n);
        sp_bin(p, 2);
        put_bits_array(&p->bin[3], snap->voting_powers, snap->n);
        sp_bin(p, 3);
        p->used = true;
    }

    const gov_reward_event_t *ev = gov_round_reward_event(r);
    if (ev) {
        single_t *p = &s->sp[S_EVENT];
        sp_reset(p, 8);
        sp_u64(p, 0, ev->day_after_genesis);
        sp_u64(p, 1, ev->actual_timestamp_seconds);
        sp_u64(p, 2, ev->distributed_e8s_equivalent);
        sp_u64(p, 3, ev->total_available_e8s_equivalent);
        sp_u64(p, 4, ev->rounds_since_last_distribution);
        sp_u64(p, 5, ev->latest_round_available_e8s_equivalent);
        size_t ns = ev->nsettled < GOV_REWARD_SETTLED_MAX ? ev->nsettled : GOV_REWARD_SETTLED_MAX;
        size_t at = copybuf_array_begin(&p->bin[6], DB_OID_NUMERIC);
        for (size_t i = 0; i < ns; i++)
            put_u64(&p->bin[6], ev->settled_proposals[i]);
        copybuf_array_end(&p->bin[6], at, ns);
        sp_bin(p, 6);
        sp_u64(p, 7, now);
        p->used = true;
    }
    uint64_t day = 0;
    const uint64_t *ids, *amounts;
    if (gov_round_reward_distribution(r, &day, &ids, &amounts, &n)) {
        single_t *p = &s->sp[S_DIST];
        sp_reset(p, 4);
        sp_u64(p, 0, day);
        sp_u64(p, 1, n);
        put_bits_array(&p->bin[2], ids, n);
        sp_bin(p, 2);
        put_bits_array(&p->bin[3], amounts, n);
        sp_bin(p, 3);
        p->used = true;
    }
    gov_reward_batch_t bt;
    if (gov_round_reward_batch(r, &bt)) {
        single_t *p = &s->sp[S_BATCH];
        sp_reset(p, 9);
        sp_u64(p, 0, bt.day_after_genesis);
        sp_u64(p, 1, bt.offset);
        sp_u64(p, 2, bt.n);
        sp_bool(p, 3, bt.last);
        sp_u64(p, 4, now > INT64_MAX ? INT64_MAX : now);
        put_bits_array(&p->bin[5], bt.neuron_ids, bt.n);
        sp_bin(p, 5);
        put_bits_array(&p->bin[6], bt.amounts_e8s, bt.n);
        sp_bin(p, 6);
        size_t at = copybuf_array_begin(&p->bin[7], OID_BOOL);
        for (size_t i = 0; i < bt.n; i++)
            put_bool(&p->bin[7], bt.staked[i] != 0);
        copybuf_array_end(&p->bin[7], at, bt.n);
        sp_bin(p, 7);
        sp_u64(p, 8, batch_key(&bt));
        p->used = true;
    }
    const gov_monthly_np_rewards_t *mr = gov_round_monthly_np_rewards(r);
    if (mr)
        npr_params(&s->sp[S_NPR], mr, now);

    ok = ok && !s->ballots.failed && !s->tally.failed && !s->arr.failed;
    for (int i = 0; i < S_COUNT; i++)
        ok = ok && !sp_failed(&s->sp[i]);
    return ok;
}

/* Builds the round's COPY rows and multi-row parameters. False when out of memory. */
static bool build_round(gov_store_t *s, const gov_round_t *r, const gov_store_extras_t *x)
{
    uint64_t now = x ? x->now : 0;
    /* the key a whole neuron's row carries: the latest batch committed, or this round's */
    gov_reward_batch_t bt;
    s->pending_key = gov_round_reward_batch(r, &bt) ? batch_key(&bt) : 0;
    uint64_t reward_key = s->pending_key > s->batch_key ? s->pending_key : s->batch_key;
    for (int i = 0; i < M_COUNT; i++)
        mr_reset(&s->m[i]);
    copybuf_reset(&s->history);
    size_t n = gov_round_neuron_count(r);
    if (n)
        copybuf_bin_begin(&s->history);
    for (size_t i = 0; i < n; i++) {
        bool removed = false, parts = false;
        gov_round_neuron(r, i, s->nbuf, &removed, &parts);
        const gov_neuron_full_t *f = s->nbuf;
        if (gov_round_neuron_reward_only(r, i))
            continue; /* a reward credit alone: the batch's arrays record it (the fold) */
        add_history_row(&s->history, &f->n, removed, now);
        if (removed) {
            add_id(&s->m[M_NEURONS_DEL], f->n.id);
            add_id(&s->m[M_PARTS_DEL], f->n.id);
        } else {
            add_neuron_row(&s->m[M_NEURONS], &f->n, reward_key);
            if (parts) {
                add_id(&s->m[M_PARTS_DEL], f->n.id);
                add_parts(s, f);
            }
        }
    }
    if (n)
        copybuf_bin_end(&s->history);
    const bool *fremoved;
    const gov_inflight_t *fl = gov_round_inflight(r, &fremoved, &n);
    for (size_t i = 0; i < n; i++) {
        if (fremoved[i])
            add_id(&s->m[M_INFLIGHT_DEL], fl[i].id);
        else
            add_inflight_row(&s->m[M_INFLIGHT], &fl[i]);
    }
    /* the outcomes the service gave, sorted by intent id for the lookups */
    size_t nsorted = x && x->resolved ? x->nresolved : 0;
    bool ok = true;
    if (nsorted > s->capsorted) {
        gov_resolved_t *v = realloc(s->sorted, nsorted * sizeof *v);
        if (v) {
            s->sorted = v;
            s->capsorted = nsorted;
        } else {
            ok = false;
            nsorted = 0;
        }
    }
    if (nsorted) {
        memcpy(s->sorted, x->resolved, nsorted * sizeof *s->sorted);
        qsort(s->sorted, nsorted, sizeof *s->sorted, resolved_cmp);
    }
    const uint64_t *done = gov_round_finished_intents(r, &n);
    multirow_t *res = &s->m[M_RESOLVED];
    for (size_t i = 0; i < n; i++) {
        gov_resolved_t key = {.intent_id = done[i]};
        const gov_resolved_t *rs =
            nsorted ? bsearch(&key, s->sorted, nsorted, sizeof key, resolved_cmp) : NULL;
        put_u64(&res->col[0], done[i]);
        if (rs)
            put_bool(&res->col[1], rs->ok);
        else
            copybuf_bin_null(&res->col[1]);
        put_opt_u64(&res->col[2], rs && rs->is_transfer && rs->has_block, rs ? rs->block_index : 0);
        res->rows++;
    }
    ok = build_part2(s, r, now) && ok;
    for (int i = 0; i < M_COUNT; i++)
        mr_finish(&s->m[i]);

    copybuf_reset(&s->intents);
    const gov_intent_t *ins = gov_round_intents(r, &n);
    if (n) {
        copybuf_bin_begin(&s->intents);
        for (size_t i = 0; i < n; i++)
            add_intent_row(&s->intents, &ins[i], now);
        copybuf_bin_end(&s->intents);
    }
    copybuf_reset(&s->events);
    const gov_event_t *ev = gov_round_events(r, &n);
    if (n) {
        copybuf_bin_begin(&s->events);
        for (size_t i = 0; i < n; i++)
            add_event_row(&s->events, &ev[i]);
        copybuf_bin_end(&s->events);
    }
    ok = ok && !s->intents.failed && !s->events.failed && !s->history.failed;
    for (int i = 0; i < M_COUNT; i++)
        ok = ok && !mr_failed(&s->m[i]);
    return ok;
}

static db_stmt_t sp_stmt(int q, const single_t *p)
{
    return (db_stmt_t){NULL, ROUND_SQL[q].name, p->n, p->v, p->l, p->f};
}

/* A statement of the pipeline from a multi-row set (prefix: leading text parameters). */
static db_stmt_t mr_stmt(int q, const multirow_t *m)
{
    return (db_stmt_t){NULL, ROUND_SQL[q].name, m->ncols, m->values, m->lengths, m->formats};
}

db_outcome_t gov_store_send_round(gov_store_t *s, const gov_round_t *r, const gov_store_extras_t *x,
                                  const replay_rec_t *replays, size_t nreplays, nns_error_t *err)
{
    PGconn *w = db_writer_conn(s->db.writer);
    if (!w) {
        nns_error_set(err, 503, "Unavailable", "database unreachable");
        return DB_NOT_COMMITTED;
    }
    uint64_t now = x ? x->now : 0;
    bool built = build_round(s, r, x);
    copybuf_reset(&s->replay);
    if (nreplays)
        db_replay_rows(&s->replay, replays, nreplays);
    if (!built || s->replay.failed) {
        nns_error_set(err, 503, "Unavailable", "out of memory building the round's rows");
        return DB_NOT_COMMITTED;
    }

    /* the pipeline: fixed rows first, then the removals before the upserts that may reuse a
     * subaccount, then the parts, the operations in flight and the finished intents */
    db_stmt_t st[Q_COUNT];
    size_t nst = 0;
    textrow_t state, econ;
    memset(&state, 0, sizeof state);
    memset(&econ, 0, sizeof econ);
    gov_info_t in;
    if (gov_round_info(r, &in)) {
        state_row(&in, now, &state);
        economics_row(&in.economics, now, &econ);
        st[nst++] = (db_stmt_t){NULL, ROUND_SQL[Q_STATE].name, STATE_NPARAMS, state.p, NULL, NULL};
        st[nst++] =
            (db_stmt_t){NULL, ROUND_SQL[Q_ECONOMICS].name, ECONOMICS_NPARAMS, econ.p, NULL, NULL};
    }
    const multirow_t *m = s->m;
    if (m[M_NEURONS_DEL].rows)
        st[nst++] = mr_stmt(Q_NEURONS_DEL, &m[M_NEURONS_DEL]);
    if (m[M_PARTS_DEL].rows) {
        st[nst++] = mr_stmt(Q_HOT_KEYS_DEL, &m[M_PARTS_DEL]);
        st[nst++] = mr_stmt(Q_FOLLOWEES_DEL, &m[M_PARTS_DEL]);
        st[nst++] = mr_stmt(Q_DISBURSEMENTS_DEL, &m[M_PARTS_DEL]);
    }
    if (m[M_NEURONS].rows)
        st[nst++] = mr_stmt(Q_NEURONS, &m[M_NEURONS]);
    if (m[M_HOT_KEYS].rows)
        st[nst++] = mr_stmt(Q_HOT_KEYS, &m[M_HOT_KEYS]);
    if (m[M_FOLLOWEES].rows)
        st[nst++] = mr_stmt(Q_FOLLOWEES, &m[M_FOLLOWEES]);
    if (m[M_DISBURSEMENTS].rows)
        st[nst++] = mr_stmt(Q_DISBURSEMENTS, &m[M_DISBURSEMENTS]);
    if (m[M_INFLIGHT_DEL].rows)
        st[nst++] = mr_stmt(Q_INFLIGHT_DEL, &m[M_INFLIGHT_DEL]);
    if (m[M_INFLIGHT].rows)
        st[nst++] = mr_stmt(Q_INFLIGHT, &m[M_INFLIGHT]);
    char resolved_at[24];
    const char *rv[4];
    int rl[4], rf[4];
    if (m[M_RESOLVED].rows) {
        snprintf(resolved_at, sizeof resolved_at, "%llu", (unsigned long long)now);
        for (int i = 0; i < 3; i++) {
            rv[i] = m[M_RESOLVED].values[i];
            rl[i] = m[M_RESOLVED].lengths[i];
            rf[i] = 1;
        }
        rv[3] = resolved_at;
        rl[3] = 0;
        rf[3] = 0;
        st[nst++] = (db_stmt_t){NULL, ROUND_SQL[Q_INTENTS_DONE].name, 4, rv, rl, rf};
    }

    if (s->sp[S_PSTATE].used)
        st[nst++] = sp_stmt(Q_PSTATE, &s->sp[S_PSTATE]);
    if (m[M_PROPOSALS].rows)
        st[nst++] = mr_stmt(Q_PROPOSALS, &m[M_PROPOSALS]);
    if (m[M_KNOWN_DEL].rows)
        st[nst++] = mr_stmt(Q_KNOWN_DEL, &m[M_KNOWN_DEL]);
    db_stmt_t known;
    const char *kv[9];
    int kl[9], kf[9];
    if (m[M_KNOWN].rows) {
        for (int i = 0; i < 3; i++) {
            kv[i] = m[M_KNOWN].values[i];
            kv[3 + i] = m[M_KNOWN_LINKS].values[i];
            kv[6 + i] = m[M_KNOWN_TOPICS].values[i];
            kl[i] = m[M_KNOWN].lengths[i];
            kl[3 + i] = m[M_KNOWN_LINKS].lengths[i];
            kl[6 + i] = m[M_KNOWN_TOPICS].lengths[i];
        }
        for (int i = 0; i < 9; i++)
            kf[i] = 1;
        known = (db_stmt_t){NULL, ROUND_SQL[Q_KNOWN].name, 9, kv, kl, kf};
        st[nst++] = known;
    }
    if (m[M_NP_DEL].rows)
        st[nst++] = mr_stmt(Q_NP_DEL, &m[M_NP_DEL]);
    if (m[M_NP].rows)
        st[nst++] = mr_stmt(Q_NP, &m[M_NP]);
    if (m[M_SNAP_DEL].rows)
        st[nst++] = mr_stmt(Q_SNAP_DEL, &m[M_SNAP_DEL]);
    static const int SP_Q[S_COUNT] = {
        [S_PSTATE] = -1,          [S_SNAP] = Q_SNAP,          [S_EVENT] = Q_REWARD_EVENT,
        [S_DIST] = Q_REWARD_DIST, [S_BATCH] = Q_REWARD_BATCH, [S_NPR] = Q_NPR};
    for (int i = S_SNAP; i < S_COUNT; i++)
        if (s->sp[i].used)
            st[nst++] = sp_stmt(SP_Q[i], &s->sp[i]);

    if (!db_writer_begin(s->db.writer, err))
        return DB_NOT_COMMITTED;
    /* one simple query for the new rows: the server goes from one COPY to the next by itself */
    const copybuf_t *copies[6];
    size_t ncopies = 0;
    char sql[sizeof COPY_INTENTS + sizeof COPY_EVENTS + sizeof COPY_HISTORY + sizeof COPY_REPLAY +
             sizeof COPY_BALLOTS + sizeof COPY_TALLY + 6];
    sql[0] = '\0';
    if (s->intents.len) {
        copies[ncopies++] = &s->intents;
        strcat(sql, COPY_INTENTS ";");
    }
    if (s->events.len) {
        copies[ncopies++] = &s->events;
        strcat(sql, COPY_EVENTS ";");
    }
    if (s->history.len) {
        copies[ncopies++] = &s->history;
        strcat(sql, COPY_HISTORY ";");
    }
    if (nreplays) {
        copies[ncopies++] = &s->replay;
        strcat(sql, COPY_REPLAY ";");
    }
    if (s->ballots.len) {
        copies[ncopies++] = &s->ballots;
        strcat(sql, COPY_BALLOTS ";");
    }
    if (s->tally.len) {
        copies[ncopies++] = &s->tally;
        strcat(sql, COPY_TALLY ";");
    }
    if (ncopies && !db_copies(w, sql, copies, ncopies, err)) {
        db_writer_abandon(s->db.writer, err);
        return DB_NOT_COMMITTED;
    }
    return db_writer_send(s->db.writer, st, nst, err);
}

db_outcome_t gov_store_wait_round(gov_store_t *s, nns_error_t *err)
{
    db_outcome_t o = db_writer_wait(s->db.writer, err);
    if (o == DB_COMMITTED && s->pending_key) {
        s->batch_key = s->pending_key;
        s->pending_key = 0;
        fold_kick(s);
    }
    return o;
}

bool gov_store_round_ready(gov_store_t *s, int timeout_ms)
{
    return db_writer_ready(s->db.writer, timeout_ms);
}

/* ---- loading ---- */

static bool corrupt(nns_error_t *err, const char *table, const char *id)
{
    return nns_error_set(err, 500, "CorruptState", "malformed %s row%s%s", table,
                         id && *id ? " " : "", id ? id : "");
}

static bool oom(nns_error_t *err, const char *what)
{
    return nns_error_set(err, 500, "OutOfMemory", "out of memory loading %s", what);
}

static bool t_u64(const PGresult *r, int row, int col, uint64_t *out)
{
    return !PQgetisnull(r, row, col) && parse_u64(PQgetvalue(r, row, col), out);
}

static bool t_i32(const PGresult *r, int row, int col, int32_t *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    char *end;
    long long v = strtoll(PQgetvalue(r, row, col), &end, 10);
    if (*end || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

static bool t_bool(const PGresult *r, int row, int col, bool *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    const char *t = PQgetvalue(r, row, col);
    *out = t[0] == 't';
    return (t[0] == 't' || t[0] == 'f') && t[1] == '\0';
}

static bool t_bytes(const PGresult *r, int row, int col, uint8_t *out, size_t len)
{
    return !PQgetisnull(r, row, col) &&
           db_bytea_value(PQgetvalue(r, row, col), out, len) == (long)len;
}

static bool t_principal(const PGresult *r, int row, int col, principal_t *p)
{
    uint8_t buf[PRINCIPAL_MAX_BYTES];
    nns_error_t e;
    if (PQgetisnull(r, row, col))
        return false;
    long n = db_bytea_value(PQgetvalue(r, row, col), buf, sizeof buf);
    return n >= 0 && principal_from_bytes(buf, (size_t)n, p, &e);
}

static bool t_name(const PGresult *r, int row, int col, const char *const *names, int nnames,
                   int *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    *out = name_index(names, nnames, PQgetvalue(r, row, col));
    return *out >= 0;
}
#define T_NAME(r, row, col, names, out)                                                            \
    t_name(r, row, col, names, (int)(sizeof names / sizeof names[0]), out)

static bool load_state(gov_store_t *s, gov_t *g, bool *fresh, nns_error_t *err)
{
    PGresult *r = db_exec(
        s->db.loader, "SELECT " STATE_COLUMNS " FROM governance.state WHERE id = 1", 0, NULL, err);
    if (!r)
        return false;
    if (PQntuples(r) == 0) {
        PQclear(r);
        *fresh = true;
        return true;
    }
    gov_info_t in;
    memset(&in, 0, sizeof in);
    int rules = 0, mm = 0;
    bool ok =
        t_bool(r, 0, 0, &in.genesis_done) && T_NAME(r, 0, 1, RULE_NAMES, &rules) && rules > 0 &&
        t_u64(r, 0, 2, &in.genesis_timestamp_seconds) && T_NAME(r, 0, 3, MM_NAMES, &mm) &&
        t_i32(r, 0, 4, &in.modulation.permyriad) && t_bool(r, 0, 5, &in.modulation.computed) &&
        t_u64(r, 0, 6, &in.modulation.computed_day) &&
        t_u64(r, 0, 7, &in.modulation.requested_day) &&
        t_u64(r, 0, 8, &in.modulation.retry_at_seconds) && t_u64(r, 0, 9, &in.limiter.available) &&
        t_u64(r, 0, 10, &in.limiter.last_refill_seconds) && t_u64(r, 0, 11, &in.next_intent_id) &&
        t_u64(r, 0, 12, &in.next_flow_id) && t_u64(r, 0, 13, &in.last_created_at);
    PQclear(r);
    if (!ok)
        return corrupt(err, "governance.state", NULL);
    in.rules = (gov_rules_t)rules;
    in.modulation.source = (gov_mm_source_t)mm;

    r = db_exec(s->db.loader, "SELECT " ECONOMICS_COLUMNS " FROM governance.economics WHERE id = 1",
                0, NULL, err);
    if (!r)
        return false;
    gov_economics_t *e = &in.economics;
    uint64_t keep = 0;
    ok = PQntuples(r) == 1 && t_u64(r, 0, 0, &e->reject_cost_e8s) &&
         t_u64(r, 0, 1, &e->neuron_minimum_stake_e8s) &&
         t_u64(r, 0, 2, &e->neuron_management_fee_per_proposal_e8s) &&
         t_u64(r, 0, 3, &e->minimum_icp_xdr_rate) &&
         t_u64(r, 0, 4, &e->neuron_spawn_dissolve_delay_seconds) &&
         t_u64(r, 0, 5, &e->maximum_node_provider_rewards_e8s) &&
         t_u64(r, 0, 6, &e->transaction_fee_e8s) && t_u64(r, 0, 7, &keep) && keep <= UINT32_MAX &&
         t_u64(r, 0, 8, &e->max_sustained_neurons_per_hour) &&
         t_u64(r, 0, 9, &e->neuron_creation_spike) &&
         t_u64(r, 0, 10, &e->start_reducing_voting_power_after_seconds) &&
         t_u64(r, 0, 11, &e->clear_following_after_seconds) &&
         t_u64(r, 0, 12, &e->neuron_minimum_dissolve_delay_to_vote_seconds);
    PQclear(r);
    if (!ok)
        return corrupt(err, "governance.economics", NULL);
    e->max_proposals_to_keep_per_topic = (uint32_t)keep;
    gov_load_info(g, &in);
    *fresh = !in.genesis_done;
    return true;
}

/* The variable parts of the neurons that have some: rows ordered by neuron, each neuron's rows
 * contiguous; map: neuron id -> (first row, count). */
typedef struct {
    PGresult *r;
    hmap_t map;
    size_t used; /* rows attached to a neuron */
} parts_t;

static bool load_parts(gov_store_t *s, const char *sql, parts_t *p, const char *table,
                       nns_error_t *err)
{
    if (!(p->r = db_exec(s->db.loader, sql, 0, NULL, err)))
        return false;
    int n = PQntuples(p->r);
    if (!hmap_init(&p->map, 8, (size_t)n))
        return oom(err, table);
    for (int i = 0; i < n; i++) {
        uint64_t id;
        if (!t_u64(p->r, i, 0, &id))
            return corrupt(err, table, PQgetvalue(p->r, i, 0));
        bool created;
        hval_t *v = hmap_put(&p->map, (const uint8_t *)&id, &created);
        if (!v)
            return oom(err, table);
        if (created)
            v->a = (uint64_t)i;
        else if (v->a + v->b != (uint64_t)i)
            return corrupt(err, table, PQgetvalue(p->r, i, 0)); /* not contiguous */
        v->b++;
    }
    return true;
}

static void parts_free(parts_t *p)
{
    if (p->r)
        PQclear(p->r);
    hmap_free(&p->map);
}

/* The followees of the neurons that have some, from one binary COPY of governance.followees in
 * the table's order (no ORDER BY: the server's sort of the numeric keys took longer than the whole
 * scan), the ids decoded in bulk into one array (no per-row allocation, no text parsing): rows[i]
 * is one (neuron, topic) row, its ids ids[off, off + n), next: the neuron's previous row + 1 (0:
 * none); map: neuron id -> (last row + 1, count). attach_parts puts a neuron's rows in topic
 * order. */
typedef struct {
    int32_t topic;
    uint32_t n;
    size_t off, next;
} fol_row_t;

typedef struct {
    fol_row_t *rows;
    size_t nrows, caprows;
    uint64_t *ids;
    size_t nids, capids;
    hmap_t map;
    size_t used; /* rows attached to a neuron */
} fols_t;

static void fols_free(fols_t *f)
{
    free(f->rows);
    free(f->ids);
    hmap_free(&f->map);
}

/* Fills f's hot keys, followees and disbursements from the parts of its id (parts[1] unused:
 * the followees come from fols). */
static bool attach_parts(parts_t parts[3], fols_t *fols, gov_neuron_full_t *f)
{
    const uint8_t *key = (const uint8_t *)&f->n.id;
    f->nhot_keys = f->nfollowees = f->ndisbursements = 0;
    hval_t *v = parts[0].map.count ? hmap_get(&parts[0].map, key) : NULL;
    if (v) {
        if (v->b > GOV_HOT_KEYS_MAX)
            return false;
        for (uint64_t i = 0; i < v->b; i++) {
            int row = (int)(v->a + i);
            if (!t_principal(parts[0].r, row, 1, &f->hot_keys[i]))
                return false;
        }
        f->nhot_keys = (uint8_t)v->b;
        parts[0].used += v->b;
    }
    v = fols->map.count ? hmap_get(&fols->map, key) : NULL;
    if (v) {
        if (v->b > GOV_TOPICS)
            return false;
        size_t k = 0;
        for (size_t r = (size_t)v->a; r != 0 && k < v->b; r = fols->rows[r - 1].next) {
            const fol_row_t *row = &fols->rows[r - 1];
            /* insertion by topic: the rows come newest first, in no particular topic order */
            size_t j = k++;
            while (j > 0 && f->followees[j - 1].topic > row->topic) {
                f->followees[j] = f->followees[j - 1];
                j--;
            }
            gov_followees_t *fo = &f->followees[j];
            fo->topic = row->topic;
            fo->n = (uint8_t)row->n;
            memcpy(fo->ids, fols->ids + row->off, (size_t)row->n * sizeof *fo->ids);
        }
        if (k != v->b)
            return false;
        f->nfollowees = (uint8_t)v->b;
        fols->used += v->b;
    }
    v = parts[2].map.count ? hmap_get(&parts[2].map, key) : NULL;
    if (v) {
        if (v->b > GOV_DISBURSEMENTS_MAX)
            return false;
        for (uint64_t i = 0; i < v->b; i++) {
            int row = (int)(v->a + i);
            gov_disbursement_t *d = &f->disbursements[i];
            if (!t_u64(parts[2].r, row, 1, &d->amount_e8s) ||
                !t_u64(parts[2].r, row, 2, &d->timestamp_of_disbursement_seconds) ||
                !t_u64(parts[2].r, row, 3, &d->finalize_disbursement_timestamp_seconds) ||
                !t_bytes(parts[2].r, row, 4, d->to.hash, ACCOUNT_HASH_BYTES))
                return false;
        }
        f->ndisbursements = (uint8_t)v->b;
        parts[2].used += v->b;
    }
    return true;
}

/* A binary COPY stream's fields. */
typedef struct {
    const uint8_t *p, *end;
} rd_t;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The next field: its bytes and length (-1: NULL); false when the row is cut short. */
static bool rd_field(rd_t *rd, const uint8_t **v, int32_t *len)
{
    if (rd->end - rd->p < 4)
        return false;
    *len = (int32_t)be32(rd->p);
    rd->p += 4;
    *v = rd->p;
    if (*len < 0) {
        *len = -1;
        return true;
    }
    if (rd->end - rd->p < *len)
        return false;
    rd->p += *len;
    return true;
}

/* A numeric field (numeric_send) as a u64: non-negative, integral, in range. */
static bool dec_numeric(const uint8_t *v, int32_t len, uint64_t *out)
{
    if (len < 8)
        return false;
    int ndigits = be16(v), weight = (int16_t)be16(v + 2), sign = be16(v + 4);
    if (sign != 0 || len != 8 + 2 * ndigits || ndigits > 5 || weight > 4 ||
        (ndigits > 0 && weight < ndigits - 1))
        return false;
    unsigned __int128 x = 0;
    for (int i = 0; i < ndigits; i++) {
        uint16_t d = be16(v + 8 + 2 * i);
        if (d >= 10000)
            return false;
        x = x * 10000 + d;
    }
    for (int i = ndigits; i <= weight; i++)
        x *= 10000;
    if (x > UINT64_MAX)
        return false;
    *out = (uint64_t)x;
    return true;
}

static bool rd_u64(rd_t *rd, uint64_t *out)
{
    const uint8_t *v;
    int32_t len;
    return rd_field(rd, &v, &len) && len >= 0 && dec_numeric(v, len, out);
}

/* An optional numeric: *has false when NULL. */
static bool rd_opt_u64(rd_t *rd, bool *has, uint64_t *out)
{
    const uint8_t *v;
    int32_t len;
    if (!rd_field(rd, &v, &len))
        return false;
    *has = len >= 0;
    *out = 0;
    return len < 0 || dec_numeric(v, len, out);
}

static bool rd_bool(rd_t *rd, bool *out)
{
    const uint8_t *v;
    int32_t len;
    if (!rd_field(rd, &v, &len) || len != 1 || v[0] > 1)
        return false;
    *out = v[0] == 1;
    return true;
}

static bool rd_i16(rd_t *rd, int32_t *out)
{
    const uint8_t *v;
    int32_t len;
    if (!rd_field(rd, &v, &len) || len != 2)
        return false;
    *out = (int16_t)be16(v);
    return true;
}

static bool rd_bytes(rd_t *rd, uint8_t *out, size_t n)
{
    const uint8_t *v;
    int32_t len;
    if (!rd_field(rd, &v, &len) || len != (int32_t)n)
        return false;
    memcpy(out, v, n);
    return true;
}

static bool rd_principal(rd_t *rd, principal_t *p)
{
    const uint8_t *v;
    int32_t len;
    nns_error_t e;
    return rd_field(rd, &v, &len) && len >= 0 && len <= PRINCIPAL_MAX_BYTES &&
           principal_from_bytes(v, (size_t)len, p, &e);
}

/* One row of the neurons' COPY (NEURON_COLUMNS) into f->n. */
static bool neuron_row(rd_t *rd, gov_neuron_full_t *f)
{
    gov_neuron_t *n = &f->n;
    gov_dissolve_t *d = &n->dissolve;
    memset(n, 0, sizeof *n);
    bool has_dd, has_aging, has_when, nt, vis;
    int32_t type = 0, visibility = 0;
    bool ok = rd_u64(rd, &n->id) && rd_bytes(rd, n->subaccount, SUBACCOUNT_BYTES) &&
              rd_principal(rd, &n->controller) && rd_bool(rd, &d->dissolving) &&
              rd_opt_u64(rd, &has_dd, &d->dissolve_delay_seconds) &&
              rd_opt_u64(rd, &has_aging, &d->aging_since_timestamp_seconds) &&
              rd_opt_u64(rd, &has_when, &d->when_dissolved_timestamp_seconds) &&
              has_dd == !d->dissolving && has_aging == !d->dissolving &&
              has_when == d->dissolving && rd_u64(rd, &n->cached_neuron_stake_e8s) &&
              rd_u64(rd, &n->neuron_fees_e8s) && rd_u64(rd, &n->created_timestamp_seconds) &&
              rd_opt_u64(rd, &n->has_spawn_at, &n->spawn_at_timestamp_seconds) &&
              rd_bool(rd, &n->kyc_verified) && rd_u64(rd, &n->maturity_e8s_equivalent) &&
              rd_u64(rd, &n->staked_maturity_e8s_equivalent) &&
              rd_bool(rd, &n->auto_stake_maturity) && rd_bool(rd, &n->not_for_profit) &&
              rd_opt_u64(rd, &n->has_joined_community_fund,
                         &n->joined_community_fund_timestamp_seconds) &&
              (nt = rd_i16(rd, &type)) && (vis = rd_i16(rd, &visibility)) &&
              rd_u64(rd, &n->voting_power_refreshed_timestamp_seconds) &&
              rd_u64(rd, &n->eight_year_gang_bonus_base_e8s) && n->id != 0;
    n->neuron_type = type;
    n->visibility = visibility;
    return ok;
}

static const uint8_t COPY_SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

/* The reward credits not yet folded into the rows (the fold, below). */
typedef struct credits credits_t;
static void apply_credits(credits_t *c, gov_neuron_t *n, uint64_t row_key);
static bool rd_elem_i64(rd_t *rd, uint64_t *out);
static bool load_followees(gov_store_t *s, fols_t *f, size_t hint, nns_error_t *err);
static size_t rel_rows_hint(gov_store_t *s, const char *rel, nns_error_t *err);

/* Streams every neuron (one binary COPY) into g with its parts and the credits its row lacks. */
static bool load_neurons(gov_store_t *s, gov_t *g, parts_t parts[3], fols_t *fols,
                         credits_t *credits, nns_error_t *err)
{
    PGresult *r = PQexec(s->db.loader, "COPY (SELECT " NEURON_COLUMNS ", reward_key FROM "
                                       "governance.neurons) TO STDOUT WITH (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        nns_error_set(err, 503, "Unavailable", "cannot read governance.neurons: %s",
                      PQresultErrorMessage(r));
        PQclear(r);
        return false;
    }
    PQclear(r);
    char *buf;
    int len;
    bool ok = true, header = false, trailer = false;
    gov_neuron_full_t *f = s->nbuf;
    while ((len = PQgetCopyData(s->db.loader, &buf, 0)) > 0) {
        rd_t rd = {(const uint8_t *)buf, (const uint8_t *)buf + len};
        if (!header) { /* the file header: signature, flags, extension */
            if (len < 19 || memcmp(buf, COPY_SIGNATURE, sizeof COPY_SIGNATURE) != 0) {
                ok = ok && corrupt(err, "governance.neurons", "(bad COPY header)");
            } else {
                rd.p += 15 + 4 + be32(rd.p + 15);
                header = true;
            }
        }
        while (ok && header && !trailer && rd.end - rd.p >= 2) {
            int16_t nf = (int16_t)be16(rd.p);
            rd.p += 2;
            if (nf == -1) {
                trailer = true;
                break;
            }
            uint64_t row_key = 0;
            if (nf != NEURON_WRITE_NCOLS || !neuron_row(&rd, f) || !rd_elem_i64(&rd, &row_key)) {
                ok = corrupt(err, "governance.neurons", "(bad field)");
                break;
            }
            apply_credits(credits, &f->n, row_key);
            if (!attach_parts(parts, fols, f)) {
                char id[24];
                snprintf(id, sizeof id, "%llu", (unsigned long long)f->n.id);
                ok = corrupt(err, "governance.hot_keys/followees/maturity_disbursements of neuron",
                             id);
                break;
            }
            if (!gov_load_neuron(g, f, err))
                ok = false;
        }
        PQfreemem(buf);
    }
    while ((r = PQgetResult(s->db.loader)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok)
            ok = nns_error_set(err, 503, "Unavailable", "cannot read governance.neurons: %s",
                               PQresultErrorMessage(r));
        PQclear(r);
    }
    if (ok && len == -2)
        ok = nns_error_set(err, 503, "Unavailable", "cannot read governance.neurons: %s",
                           PQerrorMessage(s->db.loader));
    if (ok && header && !trailer)
        ok = corrupt(err, "governance.neurons", "(COPY cut short)");
    return ok;
}

static bool load_inflight(gov_store_t *s, gov_t *g, nns_error_t *err)
{
    PGresult *r =
        db_exec(s->db.loader, "SELECT " INFLIGHT_COLUMNS " FROM governance.in_flight ORDER BY id",
                0, NULL, err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        gov_inflight_t f;
        memset(&f, 0, sizeof f);
        int kind = 0, step = 0;
        int32_t command = 0;
        uint64_t mints_left = 0;
        ok = t_u64(r, i, 0, &f.id) && T_NAME(r, i, 1, FLOW_NAMES, &kind) && kind > 0 &&
             T_NAME(r, i, 2, STEP_NAMES, &step) && step > 0 && t_u64(r, i, 3, &f.intent_id) &&
             t_bool(r, i, 4, &f.has_request) && t_i32(r, i, 5, &command) && command >= 0 &&
             t_principal(r, i, 6, &f.caller) && t_u64(r, i, 7, &f.neuron_id) &&
             t_u64(r, i, 8, &f.other_neuron_id) &&
             t_bytes(r, i, 9, f.subaccount, SUBACCOUNT_BYTES) &&
             t_principal(r, i, 10, &f.controller) && t_u64(r, i, 11, &f.memo) &&
             t_u64(r, i, 12, &f.candidate_id) && t_bytes(r, i, 13, f.to.hash, ACCOUNT_HASH_BYTES) &&
             t_u64(r, i, 14, &f.amount_e8s) && t_u64(r, i, 15, &f.fee_e8s) &&
             t_u64(r, i, 16, &f.burn_e8s) && t_u64(r, i, 17, &f.moved_maturity_e8s) &&
             t_u64(r, i, 18, &f.moved_staked_maturity_e8s) &&
             t_u64(r, i, 19, &f.moved_gang_base_e8s) &&
             t_u64(r, i, 20, &f.disbursement_timestamp_seconds) &&
             t_i32(r, i, 21, &f.modulation_permyriad) && t_u64(r, i, 22, &f.started_at_seconds) &&
             t_u64(r, i, 23, &f.merge_source_aging_since_seconds) &&
             t_u64(r, i, 24, &f.merge_target_aging_since_seconds) &&
             t_u64(r, i, 25, &f.merge_target_dissolve_delay_seconds) &&
             t_u64(r, i, 26, &f.proposal_id) && t_u64(r, i, 27, &mints_left) &&
             mints_left <= UINT32_MAX;
        if (!ok) {
            corrupt(err, "governance.in_flight", PQgetvalue(r, i, 0));
            break;
        }
        f.kind = (gov_flow_kind_t)kind;
        f.step = (gov_step_t)step;
        f.command = (gov_command_kind_t)command;
        f.mints_left = (uint32_t)mints_left;
        ok = gov_load_inflight(g, &f, err);
    }
    PQclear(r);
    return ok;
}

static bool load_intents(gov_store_t *s, gov_t *g, gov_intent_t **out, size_t *nout,
                         nns_error_t *err)
{
    PGresult *r = db_exec(s->db.loader,
                          "SELECT " INTENT_COLUMNS " FROM governance.intents "
                          "WHERE resolved_at_nanos IS NULL ORDER BY id",
                          0, NULL, err);
    if (!r)
        return false;
    size_t n = (size_t)PQntuples(r);
    gov_intent_t *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v) {
        PQclear(r);
        return oom(err, "governance.intents");
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        gov_intent_t *in = &v[i];
        int row = (int)i, kind = 0, purpose = 0, target = 0;
        size_t plen = (size_t)PQgetlength(r, row, 5);
        ok = t_u64(r, row, 0, &in->id) && t_u64(r, row, 1, &in->flow_id) &&
             T_NAME(r, row, 2, INTENT_KIND_NAMES, &kind) && kind > 0 &&
             T_NAME(r, row, 3, PURPOSE_NAMES, &purpose) && purpose > 0 &&
             T_NAME(r, row, 4, TARGET_NAMES, &target) && target > 0 && plen < GOV_PATH_MAX &&
             t_bytes(r, row, 6, in->account.hash, ACCOUNT_HASH_BYTES) &&
             t_u64(r, row, 7, &in->from_day) && t_u64(r, row, 8, &in->to_day) &&
             t_bytes(r, row, 9, in->from_subaccount, SUBACCOUNT_BYTES) &&
             t_bytes(r, row, 10, in->to.hash, ACCOUNT_HASH_BYTES) &&
             t_u64(r, row, 11, &in->amount) && t_u64(r, row, 12, &in->fee) &&
             t_u64(r, row, 13, &in->memo) && t_u64(r, row, 14, &in->created_at_time) &&
             !PQgetisnull(r, row, 15) && (size_t)PQgetlength(r, row, 15) < GOV_INTENT_BODY_MAX;
        if (!ok) {
            corrupt(err, "governance.intents", PQgetvalue(r, row, 0));
            break;
        }
        memcpy(in->path, PQgetvalue(r, row, 5), plen);
        in->path[plen] = '\0';
        in->kind = (gov_intent_kind_t)kind;
        /* a POST's body on the heap (the array owns it: gov_intents_free); "" otherwise */
        if (in->kind == GOV_INTENT_POST &&
            !(in->body = strndup(PQgetvalue(r, row, 15), (size_t)PQgetlength(r, row, 15)))) {
            ok = oom(err, "governance.intents");
            break;
        }
        in->purpose = (gov_purpose_t)purpose;
        in->target = (gov_target_t)target;
        ok = gov_load_intent(g, in, err);
    }
    PQclear(r);
    if (!ok) {
        gov_intents_free(v, n);
        return false;
    }
    *out = v;
    *nout = n;
    return true;
}

/* ---- loading part 2 ---- */

/* A binary array field's header: one dimension (or none: empty) of elem_oid; *n its elements,
 * rd left at the first element. */
static bool rd_array(rd_t *rd, uint32_t elem_oid, size_t *n, rd_t *elems)
{
    const uint8_t *v;
    int32_t len;
    if (!rd_field(rd, &v, &len) || len < 12)
        return false;
    uint32_t ndim = be32(v), oid = be32(v + 8);
    if (oid != elem_oid || ndim > 1)
        return false;
    if (ndim == 0) {
        *n = 0;
        *elems = (rd_t){v + 12, v + 12};
        return len == 12;
    }
    if (len < 20)
        return false;
    *n = be32(v + 12);
    *elems = (rd_t){v + 20, v + len};
    return true;
}

/* The next element of an int8 / int2 array. */
static bool rd_elem_i64(rd_t *rd, uint64_t *out)
{
    const uint8_t *v;
    int32_t len;
    if (!rd_field(rd, &v, &len) || len != 8)
        return false;
    *out = (uint64_t)be32(v) << 32 | be32(v + 4);
    return true;
}

/* Runs a binary COPY out on conn and calls row(ctx, rd, nfields) for each row. */
static bool copy_rows_on(PGconn *conn, const char *sql, const char *table,
                         bool (*row)(void *ctx, rd_t *rd, int nfields, nns_error_t *err), void *ctx,
                         nns_error_t *err)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        nns_error_set(err, 503, "Unavailable", "cannot read %s: %s", table,
                      PQresultErrorMessage(r));
        PQclear(r);
        return false;
    }
    PQclear(r);
    char *buf;
    int len;
    bool ok = true, header = false, trailer = false;
    while ((len = PQgetCopyData(conn, &buf, 0)) > 0) {
        rd_t rd = {(const uint8_t *)buf, (const uint8_t *)buf + len};
        if (!header) {
            if (len < 19 || memcmp(buf, COPY_SIGNATURE, sizeof COPY_SIGNATURE) != 0) {
                ok = ok && corrupt(err, table, "(bad COPY header)");
            } else {
                rd.p += 15 + 4 + be32(rd.p + 15);
                header = true;
            }
        }
        while (ok && header && !trailer && rd.end - rd.p >= 2) {
            int16_t nf = (int16_t)be16(rd.p);
            rd.p += 2;
            if (nf == -1) {
                trailer = true;
                break;
            }
            if (!row(ctx, &rd, nf, err))
                ok = false;
        }
        PQfreemem(buf);
    }
    while ((r = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok)
            ok = nns_error_set(err, 503, "Unavailable", "cannot read %s: %s", table,
                               PQresultErrorMessage(r));
        PQclear(r);
    }
    if (ok && len == -2)
        ok = nns_error_set(err, 503, "Unavailable", "cannot read %s: %s", table,
                           PQerrorMessage(conn));
    if (ok && header && !trailer)
        ok = corrupt(err, table, "(COPY cut short)");
    return ok;
}

static bool copy_rows(gov_store_t *s, const char *sql, const char *table,
                      bool (*row)(void *ctx, rd_t *rd, int nfields, nns_error_t *err), void *ctx,
                      nns_error_t *err)
{
    return copy_rows_on(s->db.loader, sql, table, row, ctx, err);
}

/* One row of governance.followees (neuron_id, topic, followees numeric[]) into ctx's fols_t. */
static bool fol_row(void *ctx, rd_t *rd, int nf, nns_error_t *err)
{
    fols_t *f = ctx;
    uint64_t neuron;
    const uint8_t *v;
    int32_t len;
    size_t n;
    rd_t elems;
    if (nf != 3 || !rd_u64(rd, &neuron) || neuron == 0 || !rd_field(rd, &v, &len) || len != 4 ||
        !rd_array(rd, DB_OID_NUMERIC, &n, &elems) || n > GOV_FOLLOWEES_MAX)
        return corrupt(err, "governance.followees", "(bad field)");
    if (f->nrows == f->caprows) {
        size_t cap = f->caprows ? 2 * f->caprows : 1024;
        fol_row_t *rows = realloc(f->rows, cap * sizeof *rows);
        if (!rows)
            return oom(err, "governance.followees");
        f->rows = rows;
        f->caprows = cap;
    }
    if (f->capids - f->nids < n) {
        size_t cap = f->capids ? 2 * f->capids : 4096;
        while (cap - f->nids < n)
            cap *= 2;
        uint64_t *ids = realloc(f->ids, cap * sizeof *ids);
        if (!ids)
            return oom(err, "governance.followees");
        f->ids = ids;
        f->capids = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e;
        int32_t elen;
        if (!rd_field(&elems, &e, &elen) || elen < 0 || !dec_numeric(e, elen, &f->ids[f->nids + i]))
            return corrupt(err, "governance.followees", "(bad followee id)");
    }
    if (elems.p != elems.end)
        return corrupt(err, "governance.followees", "(bad array)");
    bool created;
    hval_t *hv = hmap_put(&f->map, (const uint8_t *)&neuron, &created);
    if (!hv)
        return oom(err, "governance.followees");
    if (created)
        hv->a = hv->b = 0;
    fol_row_t *row = &f->rows[f->nrows];
    row->topic = (int32_t)be32(v);
    row->n = (uint32_t)n;
    row->off = f->nids;
    row->next = (size_t)hv->a;
    hv->a = f->nrows + 1;
    hv->b++;
    f->nrows++;
    f->nids += n;
    return true;
}

/* Every followee row into f; hint: the expected rows (the map's initial size). */
static bool load_followees(gov_store_t *s, fols_t *f, size_t hint, nns_error_t *err)
{
    memset(f, 0, sizeof *f);
    if (!hmap_init(&f->map, 8, hint ? hint : 64))
        return oom(err, "governance.followees");
    if (hint && !(f->rows = malloc(hint * sizeof *f->rows)))
        return oom(err, "governance.followees");
    f->caprows = hint;
    return copy_rows(s,
                     "COPY (SELECT neuron_id, topic, followees FROM governance.followees) TO "
                     "STDOUT WITH (FORMAT binary)",
                     "governance.followees", fol_row, f, err);
}

/* The planner's row estimate of a governance table (pg_class.reltuples, refreshed by VACUUM and
 * ANALYZE): a hint to size the maps before loading, 0 when unknown. Capped: a stale estimate
 * must not reserve much more than the load needs. */
static size_t rel_rows_hint(gov_store_t *s, const char *rel, nns_error_t *err)
{
    const char *params[1] = {rel};
    PGresult *r =
        db_exec(s->db.loader, "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", 1,
                params, err);
    if (!r)
        return 0;
    long long n = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return n > 0 && n <= GOV_NEURONS_MAX ? (size_t)n : 0;
}

/* The ballots of the proposals held in memory, rebuilt from their rows. */
typedef struct {
    uint64_t id;
    size_t count, filled;
    uint64_t *ids, *vps;
    uint8_t *votes;
} held_t;

typedef struct {
    held_t *v;
    size_t n;
} helds_t;

static held_t *held_find(helds_t *h, uint64_t id)
{
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->n && h->v[lo].id == id ? &h->v[lo] : NULL;
}

/* A row of (proposal_id, snapshot, neuron_ids, votes, voting_powers): a snapshot row appends its
 * ballots; a later row sets the votes it changed. */
static bool ballot_row(void *ctx, rd_t *rd, int nf, nns_error_t *err)
{
    helds_t *h = ctx;
    uint64_t pid = 0;
    bool snapshot = false;
    size_t ni = 0, nv = 0, np = 0;
    rd_t ids, votes, vps;
    if (nf != 5 || !rd_u64(rd, &pid) || !rd_bool(rd, &snapshot) ||
        !rd_array(rd, DB_OID_INT8, &ni, &ids) || !rd_array(rd, OID_INT2, &nv, &votes) ||
        !rd_array(rd, DB_OID_INT8, &np, &vps) || ni != nv || ni != np)
        return corrupt(err, "governance.ballots", "(bad field)");
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%llu", (unsigned long long)pid);
    held_t *p = held_find(h, pid);
    if (!p)
        return corrupt(err, "governance.ballots of proposal", idtext);
    if (snapshot && p->filled + ni > p->count)
        return corrupt(err, "governance.ballots (more than ballots_count) of proposal", idtext);
    for (size_t i = 0; i < ni; i++) {
        uint64_t id, vp;
        int32_t vote;
        if (!rd_elem_i64(&ids, &id) || !rd_i16(&votes, &vote) || !rd_elem_i64(&vps, &vp) ||
            vote < 0 || vote > 2)
            return corrupt(err, "governance.ballots of proposal", idtext);
        if (snapshot) {
            p->ids[p->filled] = id;
            p->vps[p->filled] = vp;
            p->votes[p->filled] = (uint8_t)vote;
            p->filled++;
            continue;
        }
        /* a later change: the ballot exists, was unspecified, keeps its voting power */
        size_t lo = 0, hi = p->filled;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (p->ids[mid] < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == p->filled || p->ids[lo] != id || p->votes[lo] != 0 || p->vps[lo] != vp)
            return corrupt(err, "governance.ballots (a change without its ballot) of proposal",
                           idtext);
        p->votes[lo] = (uint8_t)vote;
    }
    return true;
}

static void helds_free(helds_t *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].ids);
        free(h->v[i].vps);
        free(h->v[i].votes);
    }
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

/* t_* for an optional text column: NULL when SQL NULL. */
static const char *t_opt_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static bool t_opt_u64(const PGresult *r, int row, int col, bool *has, uint64_t *out)
{
    *has = !PQgetisnull(r, row, col);
    *out = 0;
    return !*has || t_u64(r, row, col, out);
}

/* The columns of PROPOSAL_SELECT (a proposal as loaded and as read back). */
#define PROPOSAL_SELECT                                                                            \
    "SELECT id, proposer, topic, action_type, nns_function, managed_neuron_id, "                   \
    "reject_cost_e8s, proposal_timestamp_seconds, decided_timestamp_seconds, "                     \
    "executed_timestamp_seconds, failed_timestamp_seconds, failure_reason, "                       \
    "has_wait_for_quiet, wait_for_quiet_deadline_seconds, voting_period_seconds, "                 \
    "total_potential_voting_power, yes_e8s, no_e8s, total_e8s, "                                   \
    "tally_timestamp_seconds, previous_ballots_timestamp_seconds, "                                \
    "reward_event_round, ballots_count, ballots_held, exec_flow_id, title, summary, "              \
    "url, action_json, action_draws FROM governance.proposals "

/* Row i of a PROPOSAL_SELECT result into p (the texts and the action stay in the result). */
static bool proposal_row(const PGresult *r, int i, gov_proposal_t *p)
{
    memset(p, 0, sizeof *p);
    int32_t topic = 0, fn = 0;
    size_t flen = (size_t)PQgetlength(r, i, 11);
    bool ok = t_u64(r, i, 0, &p->id) && t_u64(r, i, 1, &p->proposer) && t_i32(r, i, 2, &topic) &&
              (p->action_kind = gov_action_from_name(PQgetvalue(r, i, 3))) != 0 &&
              t_i32(r, i, 4, &fn) && t_u64(r, i, 5, &p->managed_neuron_id) &&
              t_u64(r, i, 6, &p->reject_cost_e8s) &&
              t_u64(r, i, 7, &p->proposal_timestamp_seconds) &&
              t_u64(r, i, 8, &p->decided_timestamp_seconds) &&
              t_u64(r, i, 9, &p->executed_timestamp_seconds) &&
              t_u64(r, i, 10, &p->failed_timestamp_seconds) && flen < GOV_FAILURE_REASON_MAX &&
              t_bool(r, i, 12, &p->has_wait_for_quiet) &&
              t_u64(r, i, 13, &p->wait_for_quiet_deadline_seconds) &&
              t_u64(r, i, 14, &p->voting_period_seconds) &&
              t_u64(r, i, 15, &p->total_potential_voting_power) && t_u64(r, i, 16, &p->tally.yes) &&
              t_u64(r, i, 17, &p->tally.no) && t_u64(r, i, 18, &p->tally.total) &&
              t_u64(r, i, 19, &p->tally.timestamp_seconds) &&
              t_opt_u64(r, i, 20, &p->has_previous_ballots_timestamp,
                        &p->previous_ballots_timestamp_seconds) &&
              t_u64(r, i, 21, &p->reward_event_round) && t_u64(r, i, 22, &p->ballots_count) &&
              t_bool(r, i, 23, &p->ballots_held) && t_u64(r, i, 24, &p->exec_flow_id) &&
              !PQgetisnull(r, i, 26) && !PQgetisnull(r, i, 28) && !PQgetisnull(r, i, 29);
    if (!ok)
        return false;
    p->topic = topic;
    p->nns_function = fn;
    memcpy(p->failure_reason, PQgetvalue(r, i, 11), flen + 1);
    return true;
}

/* The proposals not forgotten and the ballots of those that hold them, read on a connection of
 * its own while the main one loads the neurons (a thread: the server scans the ballots and the
 * client decodes them at the same time as the neurons), applied to the state machine after the
 * neurons (load_proposals). */
typedef struct {
    char *conninfo;
    PGconn *c;
    bool has_info, ok;
    gov_proposal_info_t pi;
    PGresult *r; /* the proposals' rows (PROPOSAL_SELECT) */
    int rows;
    gov_proposal_t *ps;
    helds_t h;
    uint64_t ballot_nanos; /* the ballots' COPY (the thread's time) */
    nns_error_t err;
    pthread_t thread;
    bool started;
} props_t;

static bool props_read(props_t *x)
{
    nns_error_t *err = &x->err;
    if (!(x->c = db_connect(x->conninfo, err)))
        return false;
    PGresult *r =
        db_exec(x->c,
                "SELECT next_proposal_id, last_snapshot_day FROM governance.proposal_state "
                "WHERE id = 1",
                0, NULL, err);
    if (!r)
        return false;
    if (PQntuples(r) == 1) {
        memset(&x->pi, 0, sizeof x->pi);
        x->has_info = true;
        if (!t_u64(r, 0, 0, &x->pi.next_proposal_id) || !t_u64(r, 0, 1, &x->pi.last_snapshot_day)) {
            PQclear(r);
            return corrupt(err, "governance.proposal_state", NULL);
        }
    }
    PQclear(r);

    if (!(x->r = db_exec(x->c, PROPOSAL_SELECT "WHERE NOT forgotten ORDER BY id", 0, NULL, err)))
        return false;
    int rows = x->rows = PQntuples(x->r);
    x->ps = rows ? calloc((size_t)rows, sizeof *x->ps) : NULL;
    x->h = (helds_t){rows ? calloc((size_t)rows, sizeof *x->h.v) : NULL, 0};
    if (rows && (!x->ps || !x->h.v))
        return oom(err, "governance.proposals");
    for (int i = 0; i < rows; i++) {
        gov_proposal_t *p = &x->ps[i];
        if (!proposal_row(x->r, i, p) || (p->ballots_held && p->ballots_count > GOV_NEURONS_MAX))
            return corrupt(err, "governance.proposals", PQgetvalue(x->r, i, 0));
        if (p->ballots_held) {
            held_t *hv = &x->h.v[x->h.n++];
            hv->id = p->id;
            hv->count = (size_t)p->ballots_count;
            size_t c = hv->count ? hv->count : 1;
            hv->ids = malloc(c * sizeof *hv->ids);
            hv->vps = malloc(c * sizeof *hv->vps);
            hv->votes = malloc(c);
            if (!hv->ids || !hv->vps || !hv->votes)
                return oom(err, "governance.ballots");
        }
    }
    uint64_t tb = clock_wall_nanos();
    bool ok = x->h.n == 0 ||
              copy_rows_on(x->c,
                           "COPY (SELECT b.proposal_id, b.snapshot, b.neuron_ids, b.votes, "
                           "b.voting_powers FROM governance.ballots b JOIN governance.proposals p "
                           "ON p.id = b.proposal_id WHERE p.ballots_held AND NOT p.forgotten "
                           "ORDER BY b.proposal_id, b.seq) TO STDOUT WITH (FORMAT binary)",
                           "governance.ballots", ballot_row, &x->h, err);
    x->ballot_nanos = clock_wall_nanos() - tb;
    return ok;
}

static void *props_main(void *arg)
{
    props_t *x = arg;
    x->ok = props_read(x);
    if (x->c) {
        PQfinish(x->c);
        x->c = NULL;
    }
    return NULL;
}

/* Starts reading the proposals on a second connection (when no thread can start, load_proposals
 * reads them on the calling thread). */
static void props_start(gov_store_t *s, props_t *x)
{
    memset(x, 0, sizeof *x);
    x->conninfo = s->db.conninfo;
    x->started = pthread_create(&x->thread, NULL, props_main, x) == 0;
}

static void props_free(props_t *x)
{
    if (x->started) {
        pthread_join(x->thread, NULL);
        x->started = false;
    }
    helds_free(&x->h);
    free(x->ps);
    x->ps = NULL;
    if (x->r)
        PQclear(x->r);
    x->r = NULL;
}

/* Applies the proposals x read (props_start; read here when no thread was started). */
static bool load_proposals(gov_store_t *s, gov_t *g, props_t *x, nns_error_t *err)
{
    uint64_t tw = clock_wall_nanos();
    if (x->started) {
        pthread_join(x->thread, NULL);
        x->started = false;
    } else {
        x->conninfo = s->db.conninfo;
        props_main(x);
    }
    s->ballot_load_nanos = x->ballot_nanos;
    s->ballot_wait_nanos = clock_wall_nanos() - tw;
    if (!x->ok) {
        *err = x->err;
        return false;
    }
    if (x->has_info)
        gov_load_proposal_info(g, &x->pi);
    PGresult *r = x->r;
    bool ok = true;
    size_t k = 0;
    for (int i = 0; ok && i < x->rows; i++) {
        const gov_proposal_t *p = &x->ps[i];
        held_t *hv = p->ballots_held ? &x->h.v[k++] : NULL;
        if (hv && hv->filled != hv->count) {
            ok = corrupt(err, "governance.ballots (fewer than ballots_count) of proposal",
                         PQgetvalue(r, i, 0));
            break;
        }
        gov_action_t *action =
            gov_action_from_stored(PQgetvalue(r, i, 28), PQgetvalue(r, i, 29), err);
        if (!action) {
            char detail[sizeof err->detail];
            snprintf(detail, sizeof detail, "%s", err->detail);
            nns_error_set(err, 500, err->status == 503 ? "OutOfMemory" : "CorruptState",
                          "governance.proposals row %s: %s", PQgetvalue(r, i, 0), detail);
            ok = false;
            break;
        }
        ok = gov_load_proposal(g, p, t_opt_text(r, i, 25), PQgetvalue(r, i, 26),
                               t_opt_text(r, i, 27), PQgetvalue(r, i, 28), action,
                               hv ? hv->ids : NULL, hv ? hv->vps : NULL, hv ? hv->votes : NULL,
                               hv ? hv->count : 0, err);
        free(action);
        if (hv) { /* loaded (copied): release its arrays now */
            free(hv->ids);
            free(hv->vps);
            free(hv->votes);
            hv->ids = hv->vps = NULL;
            hv->votes = NULL;
        }
    }
    return ok;
}

/* The rows of a text query "id, position-ordered value" grouped by id (as load_parts). */
static bool load_known_neurons(gov_store_t *s, gov_t *g, nns_error_t *err)
{
    parts_t links, topics;
    memset(&links, 0, sizeof links);
    memset(&topics, 0, sizeof topics);
    PGresult *r = NULL;
    bool ok =
        load_parts(s,
                   "SELECT k.id, l.link FROM governance.known_neurons k, "
                   "unnest(k.links) WITH ORDINALITY AS l(link, pos) ORDER BY k.id, l.pos",
                   &links, "governance.known_neurons", err) &&
        load_parts(
            s,
            "SELECT k.id, t.topic FROM governance.known_neurons k, "
            "unnest(k.committed_topics) WITH ORDINALITY AS t(topic, pos) ORDER BY k.id, t.pos",
            &topics, "governance.known_neurons", err) &&
        (r = db_exec(s->db.loader,
                     "SELECT id, name, description FROM governance.known_neurons ORDER BY id", 0,
                     NULL, err)) != NULL;
    const char *lv[GOV_KNOWN_NEURON_LINKS_MAX];
    int32_t tv[GOV_TOPICS];
    for (int i = 0; ok && r && i < PQntuples(r); i++) {
        gov_known_neuron_t k;
        memset(&k, 0, sizeof k);
        ok = t_u64(r, i, 0, &k.id) && !PQgetisnull(r, i, 1);
        const uint8_t *key = (const uint8_t *)&k.id;
        hval_t *v = ok && links.map.count ? hmap_get(&links.map, key) : NULL;
        if (ok && v) {
            ok = v->b <= GOV_KNOWN_NEURON_LINKS_MAX;
            for (uint64_t j = 0; ok && j < v->b; j++)
                lv[j] = PQgetvalue(links.r, (int)(v->a + j), 1);
            k.nlinks = (size_t)v->b;
            links.used += v->b;
        }
        v = ok && topics.map.count ? hmap_get(&topics.map, key) : NULL;
        if (ok && v) {
            ok = v->b <= GOV_TOPICS;
            for (uint64_t j = 0; ok && j < v->b; j++)
                ok = t_i32(topics.r, (int)(v->a + j), 1, &tv[j]);
            k.ntopics = (size_t)v->b;
            topics.used += v->b;
        }
        if (!ok) {
            corrupt(err, "governance.known_neurons", PQgetvalue(r, i, 0));
            break;
        }
        k.name = PQgetvalue(r, i, 1);
        k.description = t_opt_text(r, i, 2);
        k.links = lv;
        k.committed_topics = tv;
        ok = gov_load_known_neuron(g, &k, err);
    }
    if (r)
        PQclear(r);
    parts_free(&links);
    parts_free(&topics);
    return ok;
}

static bool load_node_providers(gov_store_t *s, gov_t *g, nns_error_t *err)
{
    PGresult *r =
        db_exec(s->db.loader, "SELECT " NP_COLUMNS " FROM governance.node_providers ORDER BY id", 0,
                NULL, err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        gov_node_provider_t np;
        memset(&np, 0, sizeof np);
        bool has_ts = false, has_block = false;
        np.has_reward_account = !PQgetisnull(r, i, 1);
        ok = t_principal(r, i, 0, &np.id) &&
             (!np.has_reward_account ||
              t_bytes(r, i, 1, np.reward_account.hash, ACCOUNT_HASH_BYTES)) &&
             t_opt_u64(r, i, 2, &np.has_xdr_permyriad_per_month, &np.xdr_permyriad_per_month) &&
             t_opt_u64(r, i, 3, &np.has_last_reward, &np.last_reward_amount_e8s) &&
             t_opt_u64(r, i, 4, &has_ts, &np.last_reward_timestamp_seconds) &&
             t_opt_u64(r, i, 5, &has_block, &np.last_reward_block_index) &&
             has_ts == np.has_last_reward;
        if (!ok) {
            corrupt(err, "governance.node_providers", PQgetvalue(r, i, 0));
            break;
        }
        ok = gov_load_node_provider(g, &np, err);
    }
    PQclear(r);
    return ok;
}

/* Decodes count int8 elements into a malloc'd array. */
static uint64_t *rd_bits(rd_t *elems, size_t n)
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        if (!rd_elem_i64(elems, &v[i])) {
            free(v);
            return NULL;
        }
    return v;
}

typedef struct {
    gov_t *g;
} gctx_t;

/* (timestamp_seconds, total_potential_voting_power, neuron_ids, voting_powers) */
static bool snapshot_row(void *ctx, rd_t *rd, int nf, nns_error_t *err)
{
    gctx_t *c = ctx;
    gov_vp_snapshot_t sn;
    memset(&sn, 0, sizeof sn);
    size_t ni = 0, nv = 0;
    rd_t ids, vps;
    if (nf != 4 || !rd_u64(rd, &sn.timestamp_seconds) ||
        !rd_u64(rd, &sn.total_potential_voting_power) || !rd_array(rd, DB_OID_INT8, &ni, &ids) ||
        !rd_array(rd, DB_OID_INT8, &nv, &vps) || ni != nv || ni > GOV_NEURONS_MAX)
        return corrupt(err, "governance.voting_power_snapshots", "(bad field)");
    uint64_t *a = rd_bits(&ids, ni), *b = rd_bits(&vps, nv);
    bool ok = a && b;
    if (!ok)
        corrupt(err, "governance.voting_power_snapshots", "(bad array)");
    sn.n = ni;
    sn.neuron_ids = a;
    sn.voting_powers = b;
    ok = ok && gov_load_vp_snapshot(c->g, &sn, err);
    free(a);
    free(b);
    return ok;
}

/* (day, neuron_ids, amounts, credited) of the latest distribution */
static bool distribution_row(void *ctx, rd_t *rd, int nf, nns_error_t *err)
{
    gctx_t *c = ctx;
    uint64_t day = 0, credited = 0;
    size_t ni = 0, na = 0;
    rd_t ids, amounts;
    if (nf != 4 || !rd_u64(rd, &day) || !rd_array(rd, DB_OID_INT8, &ni, &ids) ||
        !rd_array(rd, DB_OID_INT8, &na, &amounts) || !rd_u64(rd, &credited) || ni != na ||
        credited > ni)
        return corrupt(err, "governance.reward_distributions", "(bad field)");
    if (credited == ni)
        return true; /* fully credited: nothing in progress */
    uint64_t *a = rd_bits(&ids, ni), *b = rd_bits(&amounts, na);
    bool ok = a && b;
    if (!ok)
        corrupt(err, "governance.reward_distributions", "(bad array)");
    ok = ok && gov_load_reward_distribution(c->g, day, a, b, ni, (size_t)credited, err);
    free(a);
    free(b);
    return ok;
}

static bool load_reward_events(gov_store_t *s, gov_t *g, nns_error_t *err)
{
    PGresult *r = db_exec(s->db.loader,
                          "SELECT " EVENT2_COLUMNS " FROM governance.reward_events "
                          "ORDER BY day_after_genesis",
                          0, NULL, err);
    if (!r)
        return false;
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        gov_reward_event_t ev;
        memset(&ev, 0, sizeof ev);
        ok = t_u64(r, i, 0, &ev.day_after_genesis) &&
             t_u64(r, i, 1, &ev.actual_timestamp_seconds) &&
             t_u64(r, i, 2, &ev.distributed_e8s_equivalent) &&
             t_u64(r, i, 3, &ev.total_available_e8s_equivalent) &&
             t_u64(r, i, 4, &ev.rounds_since_last_distribution) &&
             t_u64(r, i, 5, &ev.latest_round_available_e8s_equivalent) && !PQgetisnull(r, i, 6);
        /* "{1,2,3}" */
        const char *t = ok ? PQgetvalue(r, i, 6) : "";
        ok = ok && *t++ == '{';
        while (ok && *t && *t != '}') {
            char *end;
            ok = ev.nsettled < GOV_REWARD_SETTLED_MAX && *t >= '0' && *t <= '9';
            if (!ok)
                break;
            ev.settled_proposals[ev.nsettled++] = strtoull(t, &end, 10);
            t = end;
            if (*t == ',')
                t++;
        }
        ok = ok && *t == '}' && t[1] == '\0';
        if (!ok) {
            corrupt(err, "governance.reward_events", PQgetvalue(r, i, 0));
            break;
        }
        ok = gov_load_reward_event(g, &ev, err);
    }
    PQclear(r);
    return ok;
}

static bool load_monthly_rewards(gov_store_t *s, gov_t *g, nns_error_t *err)
{
    PGresult *r = db_exec(
        s->db.loader,
        "SELECT m.timestamp_seconds, m.xdr_conversion_rate, m.average_xdr_permyriad_per_icp, "
        "m.minimum_xdr_permyriad_per_icp, m.maximum_node_provider_rewards_e8s, "
        "cardinality(m.node_providers), u.p, u.a, u.x, u.e, u.st, u.b, u.f, u.err "
        "FROM (SELECT * FROM governance.node_provider_rewards ORDER BY timestamp_seconds DESC "
        "LIMIT 1) m LEFT JOIN LATERAL unnest(m.node_providers, m.to_accounts, m.xdr_permyriad, "
        "m.amounts_e8s, m.statuses, m.block_indexes, m.flow_ids, m.errors) WITH ORDINALITY "
        "AS u(p, a, x, e, st, b, f, err, pos) ON true ORDER BY u.pos",
        0, NULL, err);
    if (!r)
        return false;
    int rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return true;
    }
    gov_monthly_np_rewards_t *m = calloc(1, sizeof *m);
    if (!m) {
        PQclear(r);
        return oom(err, "governance.node_provider_rewards");
    }
    uint64_t count = 0;
    bool ok = t_u64(r, 0, 0, &m->timestamp_seconds) && t_u64(r, 0, 1, &m->xdr_conversion_rate) &&
              t_u64(r, 0, 2, &m->average_xdr_permyriad_per_icp) &&
              t_u64(r, 0, 3, &m->minimum_xdr_permyriad_per_icp) &&
              t_u64(r, 0, 4, &m->maximum_node_provider_rewards_e8s) &&
              (PQgetisnull(r, 0, 5) || t_u64(r, 0, 5, &count)) &&
              count <= GOV_NODE_PROVIDER_REWARDS_MAX && (count == 0 || (uint64_t)rows == count);
    for (int i = 0; ok && count && i < rows; i++) {
        gov_np_reward_entry_t *e = &m->rewards[m->n];
        int32_t st = 0;
        size_t elen = (size_t)PQgetlength(r, i, 13);
        ok = t_principal(r, i, 6, &e->node_provider) &&
             t_bytes(r, i, 7, e->to_account.hash, ACCOUNT_HASH_BYTES) &&
             t_u64(r, i, 8, &e->xdr_permyriad) && t_u64(r, i, 9, &e->amount_e8s) &&
             t_i32(r, i, 10, &st) && st >= 0 && st <= GOV_NP_REWARD_REFUSED &&
             t_u64(r, i, 11, &e->block_index) && t_u64(r, i, 12, &e->flow_id) &&
             elen < sizeof e->error;
        if (ok) {
            e->status = (gov_np_reward_status_t)st;
            memcpy(e->error, PQgetvalue(r, i, 13), elen + 1);
            m->n++;
        }
    }
    if (!ok)
        corrupt(err, "governance.node_provider_rewards", PQgetvalue(r, 0, 0));
    ok = ok && gov_load_monthly_np_rewards(g, m, err);
    free(m);
    PQclear(r);
    return ok;
}

/* Part 2's committed state: proposals (with the ballots held), known neurons, node providers,
 * voting-power snapshots, reward events, the distribution in progress, the latest monthly
 * node-provider rewards. */
static bool load_part2(gov_store_t *s, gov_t *g, props_t *props, nns_error_t *err)
{
    gctx_t c = {g};
    return load_proposals(s, g, props, err) && load_known_neurons(s, g, err) &&
           load_node_providers(s, g, err) &&
           copy_rows(s,
                     "COPY (SELECT timestamp_seconds, total_potential_voting_power, neuron_ids, "
                     "voting_powers FROM governance.voting_power_snapshots "
                     "ORDER BY timestamp_seconds) TO STDOUT WITH (FORMAT binary)",
                     "governance.voting_power_snapshots", snapshot_row, &c, err) &&
           load_reward_events(s, g, err) &&
           copy_rows(s,
                     "COPY (SELECT d.day_after_genesis, d.neuron_ids, d.amounts_e8s, "
                     "(SELECT coalesce(sum(b.n), 0)::numeric FROM governance.reward_batches b "
                     "WHERE b.day_after_genesis = d.day_after_genesis) "
                     "FROM governance.reward_distributions d WHERE d.day_after_genesis = "
                     "(SELECT max(day_after_genesis) FROM governance.reward_distributions) AND "
                     "d.neurons > (SELECT coalesce(sum(b.n), 0) FROM governance.reward_batches b "
                     "WHERE b.day_after_genesis = d.day_after_genesis)) "
                     "TO STDOUT WITH (FORMAT binary)",
                     "governance.reward_distributions", distribution_row, &c, err) &&
           load_monthly_rewards(s, g, err);
}

/* ---- the fold: reward credits into governance.neurons, in the background ----
 * A round that credits a batch of voting rewards writes the batch's arrays only; writing its
 * 50,000 neurons' rows would cost about 0.5 s of PostgreSQL time in the round. The fold (a
 * thread of the store with its own connection, started once the state is loaded) adds each
 * committed batch's credits to the neurons' rows in transactions of FOLD_CHUNK entries, setting
 * their reward_key; rows a round holds are skipped (SKIP LOCKED: the fold never waits for a
 * round) and taken at the next pass; a round's whole-neuron row carries the latest committed key
 * and so is never folded twice. A batch whose every existing neuron has reward_key >= its key is
 * marked folded. At start, the batches not folded are added to the rows below their key. */

#define FOLD_CHUNK 5000
#define FOLD_IDLE_MS 5000

static const char FOLD_SQL[] = "WITH b AS (SELECT bb.key, " U64_EXPR("u.id") " AS id, " U64_EXPR(
    "u.a") " AS a, u.s "
           "FROM governance.reward_batches bb, unnest(bb.neuron_ids[$3:$4], bb.amounts_e8s[$3:$4], "
           "bb.staked[$3:$4]) AS u(id, a, s) WHERE bb.key = $1 AND bb.batch_offset = $2), "
           "l AS (SELECT n.id FROM governance.neurons n JOIN b ON n.id = b.id "
           "WHERE n.reward_key < b.key FOR UPDATE OF n SKIP LOCKED) "
           "UPDATE governance.neurons n SET maturity_e8s_equivalent = CASE WHEN b.s "
           "THEN n.maturity_e8s_equivalent ELSE least(n.maturity_e8s_equivalent + b.a, "
           "18446744073709551615) END, staked_maturity_e8s_equivalent = CASE WHEN b.s "
           "THEN least(n.staked_maturity_e8s_equivalent + b.a, 18446744073709551615) "
           "ELSE n.staked_maturity_e8s_equivalent END, reward_key = b.key "
           "FROM b JOIN l ON l.id = b.id WHERE n.id = b.id";
static const char FOLD_DONE_SQL[] =
    "UPDATE governance.reward_batches bb SET folded = true WHERE bb.key = $1 AND NOT EXISTS "
    "(SELECT 1 FROM unnest(bb.neuron_ids) AS u(id) JOIN governance.neurons n "
    "ON n.id = " U64_EXPR("u.id") " WHERE n.reward_key < bb.key)";

static bool fold_stopping(gov_store_t *s)
{
    pthread_mutex_lock(&s->fold_mu);
    bool stop = s->fold_stop;
    pthread_mutex_unlock(&s->fold_mu);
    return stop;
}

/* One pass over the batches not folded. False when the connection failed. */
static bool fold_pass(gov_store_t *s, PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT key, batch_offset, n FROM governance.reward_batches "
                            "WHERE NOT folded ORDER BY key");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return false;
    }
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r) && !fold_stopping(s); i++) {
        const char *key = PQgetvalue(r, i, 0), *off = PQgetvalue(r, i, 1);
        long n = strtol(PQgetvalue(r, i, 2), NULL, 10);
        for (long lo = 1; ok && lo <= n && !fold_stopping(s); lo += FOLD_CHUNK) {
            char a[24], b[24];
            snprintf(a, sizeof a, "%ld", lo);
            snprintf(b, sizeof b, "%ld", lo + FOLD_CHUNK - 1);
            const char *p[4] = {key, off, a, b};
            PGresult *u = PQexecParams(c, FOLD_SQL, 4, NULL, p, NULL, NULL, 0);
            if (PQresultStatus(u) != PGRES_COMMAND_OK) {
                log_warn("governance store: the reward fold failed: %s", PQresultErrorMessage(u));
                ok = PQstatus(c) == CONNECTION_OK;
                PQclear(u);
                break;
            }
            PQclear(u);
        }
        if (ok && !fold_stopping(s)) {
            const char *p[1] = {key};
            PGresult *u = PQexecParams(c, FOLD_DONE_SQL, 1, NULL, p, NULL, NULL, 0);
            ok = PQresultStatus(u) == PGRES_COMMAND_OK || PQstatus(c) == CONNECTION_OK;
            PQclear(u);
        }
    }
    PQclear(r);
    return ok;
}

static void *fold_main(void *arg)
{
    gov_store_t *s = arg;
    PGconn *c = NULL;
    pthread_mutex_lock(&s->fold_mu);
    while (!s->fold_stop) {
        if (!s->fold_kick) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += FOLD_IDLE_MS / 1000;
            pthread_cond_timedwait(&s->fold_cv, &s->fold_mu, &until);
        }
        if (s->fold_stop)
            break;
        s->fold_kick = false;
        pthread_mutex_unlock(&s->fold_mu);
        if (!c || PQstatus(c) != CONNECTION_OK) {
            nns_error_t err;
            if (c)
                PQfinish(c);
            c = db_connect(s->db.conninfo, &err);
        }
        if (c && !fold_pass(s, c)) {
            PQfinish(c);
            c = NULL;
        }
        pthread_mutex_lock(&s->fold_mu);
    }
    pthread_mutex_unlock(&s->fold_mu);
    if (c)
        PQfinish(c);
    return NULL;
}

static void fold_start(gov_store_t *s)
{
    if (s->fold_started || !s->db.conninfo)
        return;
    s->fold_stop = false;
    s->fold_kick = true; /* a first pass at once: batches a previous run left */
    s->fold_started = pthread_create(&s->fold, NULL, fold_main, s) == 0;
    if (!s->fold_started)
        log_warn("governance store: cannot start the reward fold (credits stay in the batches)");
}

static void fold_kick(gov_store_t *s)
{
    if (!s->fold_started)
        return;
    pthread_mutex_lock(&s->fold_mu);
    s->fold_kick = true;
    pthread_cond_signal(&s->fold_cv);
    pthread_mutex_unlock(&s->fold_mu);
}

static void fold_stop(gov_store_t *s)
{
    if (!s->fold_started)
        return;
    pthread_mutex_lock(&s->fold_mu);
    s->fold_stop = true;
    pthread_cond_signal(&s->fold_cv);
    pthread_mutex_unlock(&s->fold_mu);
    pthread_join(s->fold, NULL);
    s->fold_started = false;
}

/* ---- the credits not yet folded, for the load ---- */
typedef struct {
    uint64_t id, key, amount;
    bool staked;
} credit_t;

struct credits {
    credit_t *v;
    size_t n, cap;
    hmap_t map; /* neuron id -> (first entry, count) */
};

static int credit_cmp(const void *a, const void *b)
{
    const credit_t *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* (key, neuron_ids, amounts_e8s, staked) of a batch not folded */
static bool credit_row(void *ctx, rd_t *rd, int nf, nns_error_t *err)
{
    credits_t *c = ctx;
    uint64_t key = 0;
    size_t ni = 0, na = 0, ns = 0;
    rd_t ids, amounts, staked;
    if (nf != 4 || !rd_elem_i64(rd, &key) || !rd_array(rd, DB_OID_INT8, &ni, &ids) ||
        !rd_array(rd, DB_OID_INT8, &na, &amounts) || !rd_array(rd, OID_BOOL, &ns, &staked) ||
        ni != na || ni != ns || ni > GOV_NEURONS_MAX)
        return corrupt(err, "governance.reward_batches", "(bad field)");
    if (c->n + ni > c->cap) {
        size_t cap = (c->n + ni) * 2;
        credit_t *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return oom(err, "governance.reward_batches");
        c->v = v;
        c->cap = cap;
    }
    for (size_t i = 0; i < ni; i++) {
        credit_t *e = &c->v[c->n++];
        bool st = false;
        if (!rd_elem_i64(&ids, &e->id) || !rd_elem_i64(&amounts, &e->amount) ||
            !rd_bool(&staked, &st))
            return corrupt(err, "governance.reward_batches", "(bad array)");
        e->key = key;
        e->staked = st;
    }
    return true;
}

static bool load_credits(gov_store_t *s, credits_t *c, nns_error_t *err)
{
    memset(c, 0, sizeof *c);
    PGresult *r = db_exec(
        s->db.loader, "SELECT coalesce(max(key), 0) FROM governance.reward_batches", 0, NULL, err);
    if (!r)
        return false;
    bool ok = t_u64(r, 0, 0, &s->batch_key);
    PQclear(r);
    if (!ok)
        return corrupt(err, "governance.reward_batches", "(key)");
    if (!copy_rows(s,
                   "COPY (SELECT key, neuron_ids, amounts_e8s, staked FROM "
                   "governance.reward_batches WHERE NOT folded ORDER BY key) TO STDOUT WITH "
                   "(FORMAT binary)",
                   "governance.reward_batches", credit_row, c, err))
        return false;
    if (c->n)
        qsort(c->v, c->n, sizeof *c->v, credit_cmp);
    if (!hmap_init(&c->map, 8, c->n))
        return oom(err, "governance.reward_batches");
    for (size_t i = 0; i < c->n; i++) {
        bool created;
        hval_t *v = hmap_put(&c->map, (const uint8_t *)&c->v[i].id, &created);
        if (!v)
            return oom(err, "governance.reward_batches");
        if (created)
            v->a = i;
        v->b++;
    }
    return true;
}

static void credits_free(credits_t *c)
{
    free(c->v);
    hmap_free(&c->map);
    memset(c, 0, sizeof *c);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* Adds to n the credits of the batches after its row's reward_key. */
static void apply_credits(credits_t *c, gov_neuron_t *n, uint64_t row_key)
{
    hval_t *v = c->map.count ? hmap_get(&c->map, (const uint8_t *)&n->id) : NULL;
    for (uint64_t i = 0; v && i < v->b; i++) {
        const credit_t *e = &c->v[v->a + i];
        if (e->key <= row_key)
            continue;
        if (e->staked)
            n->staked_maturity_e8s_equivalent =
                sat_add(n->staked_maturity_e8s_equivalent, e->amount);
        else
            n->maturity_e8s_equivalent = sat_add(n->maturity_e8s_equivalent, e->amount);
    }
}

bool gov_store_load(gov_store_t *s, gov_t *g, replay_cache_t *rc, uint64_t wall_now, bool *fresh,
                    gov_intent_t **intents, size_t *nintents, nns_error_t *err)
{
    *intents = NULL;
    *nintents = 0;
    *fresh = false;
    if (!s->db.loader)
        return nns_error_set(err, 500, "CorruptState", "the store was loaded already");
    /* the phases' times go to the log: where a slow start spends it */
    uint64_t t0 = clock_wall_nanos();
    props_t props;
    props_start(s, &props);
    if (!load_state(s, g, fresh, err)) {
        props_free(&props);
        return false;
    }
    parts_t parts[3];
    memset(parts, 0, sizeof parts);
    fols_t fols;
    memset(&fols, 0, sizeof fols);
    credits_t credits;
    memset(&credits, 0, sizeof credits);
    /* the maps sized once from the planner's estimates, not grown (rehashed) row by row */
    size_t nneurons = rel_rows_hint(s, "governance.neurons", err);
    size_t nfollowees = rel_rows_hint(s, "governance.followees", err);
    bool ok =
        gov_load_reserve(g, nneurons, err) && load_credits(s, &credits, err) &&
        load_parts(
            s, "SELECT neuron_id, hot_key FROM governance.hot_keys ORDER BY neuron_id, position",
            &parts[0], "governance.hot_keys", err) &&
        load_followees(s, &fols, nfollowees, err) &&
        load_parts(s,
                   "SELECT neuron_id, amount_e8s, timestamp_of_disbursement_seconds, "
                   "finalize_disbursement_timestamp_seconds, to_account "
                   "FROM governance.maturity_disbursements ORDER BY neuron_id, position",
                   &parts[2], "governance.maturity_disbursements", err) &&
        load_neurons(s, g, parts, &fols, &credits, err);
    credits_free(&credits);
    if (ok && fols.used != fols.nrows)
        ok = corrupt(err, "governance.followees", "(of a neuron that does not exist)");
    fols_free(&fols);
    static const char *const PART_TABLES[3] = {"governance.hot_keys", "governance.followees",
                                               "governance.maturity_disbursements"};
    for (int i = 0; ok && i < 3; i++)
        if (parts[i].r && parts[i].used != (size_t)PQntuples(parts[i].r))
            ok = corrupt(err, PART_TABLES[i], "(of a neuron that does not exist)");
    for (int i = 0; i < 3; i++)
        parts_free(&parts[i]);
    uint64_t t1 = clock_wall_nanos();
    ok = ok && load_inflight(s, g, err) &&
         db_replay_load(s->db.loader, DB_REPLAY_LOAD_SQL("governance.replay_cache"), rc, wall_now,
                        err) &&
         load_intents(s, g, intents, nintents, err);
    uint64_t t2 = clock_wall_nanos();
    ok = ok && load_part2(s, g, &props, err);
    props_free(&props);
    if (!ok) {
        gov_intents_free(*intents, *nintents);
        *intents = NULL;
        *nintents = 0;
        return false;
    }
    uint64_t t3 = clock_wall_nanos();
    gov_load_done(g);
    uint64_t t4 = clock_wall_nanos();
    log_info("state loaded in %.3f s: neurons %.3f s, calls and replay %.3f s, proposals with "
             "their ballots and the rest of part 2 %.3f s (ballots read in %.3f s beside the "
             "neurons, %.3f s waited for), indexes %.3f s",
             (double)(t4 - t0) / 1e9, (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
             (double)(t3 - t2) / 1e9, (double)s->ballot_load_nanos / 1e9,
             (double)s->ballot_wait_nanos / 1e9, (double)(t4 - t3) / 1e9);
    db_store_loaded(&s->db); /* loaded: the rounds have connections of their own */
    fold_start(s);           /* after the load: it read the rows and the batches in one state */
    return true;
}

/* ---- the event history ---- */

bool gov_store_events(gov_store_t *s, uint64_t neuron_id, uint64_t before_seq, size_t max,
                      gov_store_event_t *out, size_t *n, bool *more, nns_error_t *err)
{
    *n = 0;
    *more = false;
    if (max < 1)
        max = 1;
    if (max > GOV_STORE_EVENTS_MAX)
        max = GOV_STORE_EVENTS_MAX;
    char id[24], before[24], limit[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)neuron_id);
    snprintf(
        before, sizeof before, "%llu",
        (unsigned long long)(before_seq == 0 || before_seq > INT64_MAX ? INT64_MAX : before_seq));
    snprintf(limit, sizeof limit, "%zu", max + 1);
    const char *p[3] = {id, before, limit};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &EVENTS_STMT, p, 0, err);
    if (!r)
        return false;
    int rows = PQntuples(r);
    bool ok = true;
    for (int i = 0; ok && i < rows && (size_t)i < max; i++) {
        gov_store_event_t *ev = &out[i];
        memset(ev, 0, sizeof *ev);
        ev->e.neuron_id = neuron_id;
        ok = t_u64(r, i, 0, &ev->seq) && t_u64(r, i, 2, &ev->e.at_seconds) &&
             t_u64(r, i, 3, &ev->e.amount_e8s) && t_u64(r, i, 4, &ev->e.other_neuron_id);
        snprintf(ev->e.kind, sizeof ev->e.kind, "%s", PQgetvalue(r, i, 1));
        snprintf(ev->e.detail, sizeof ev->e.detail, "%s", PQgetvalue(r, i, 5));
        if (ok)
            (*n)++;
    }
    *more = ok && (size_t)rows > max;
    PQclear(r);
    return ok || nns_error_set(err, 503, "Unavailable", "malformed governance.neuron_events row");
}

/* ---- reads of part 2 (read pool) ---- */

/* A bigint holding a u64's bits, as numeric (schema 003: analytics.governance_u64). */
/* A page of a proposal's ballots reads a window of neuron ids (after, hi]: hi is the last id of
 * the next few snapshot rows (the creating round's rows hold every ballot, 2,048 to a row, in
 * ascending order), and only the rows whose id range meets the window are unnested (the
 * snapshot rows of the window and the later rounds' rows of changed ballots that overlap it),
 * through the index on (proposal_id, last_neuron_id) (schema 006). Before, every row after the
 * cursor was unnested: 0.2-0.8 s a page at 400,000 ballots. */
static const db_pool_stmt_t BALLOT_BOUNDS_STMT = {
    "gov_ballot_bounds",
    "SELECT last_neuron_id FROM governance.ballots WHERE proposal_id = $1 AND snapshot AND "
    "last_neuron_id > $2 ORDER BY last_neuron_id LIMIT $3",
    3};
static const db_pool_stmt_t BALLOTS_STMT = {
    "gov_ballots_read",
    "SELECT id, max(v), min(p) FROM (SELECT " U64_EXPR(
        "u.i") " AS id, u.v, u.p "
               "FROM governance.ballots b, unnest(b.neuron_ids, b.votes, b.voting_powers) AS u(i, "
               "v, p) "
               "WHERE b.proposal_id = $1 AND b.last_neuron_id > $2 AND b.first_neuron_id <= $5) x "
               "WHERE id > $2 AND id <= $5 GROUP BY id "
               "HAVING $3::int < 0 OR max(v) = $3::int ORDER BY id LIMIT $4",
    5};
static const db_pool_stmt_t BALLOTS_ANY_STMT = {
    "gov_ballots_any", "SELECT 1 FROM governance.ballots WHERE proposal_id = $1 LIMIT 1", 1};
static const db_pool_stmt_t PROPOSAL_VOTES_STMT = {
    "gov_proposal_votes",
    "SELECT id, v, p, c FROM (SELECT " U64_EXPR(
        "u.i") " AS id, u.v, u.p, u.c "
               "FROM governance.ballots b, unnest(b.neuron_ids, b.votes, b.voting_powers, "
               "b.cast_at_seconds) AS u(i, v, p, c) WHERE b.proposal_id = $1 AND b.last_neuron_id "
               "> $2) x "
               "WHERE v <> 0 AND id > $2 ORDER BY id LIMIT $3",
    3};
/* through the index on the rows' id ranges; $2 is the id's bits as a bigint */
static const db_pool_stmt_t NEURON_VOTES_STMT = {
    "gov_neuron_votes",
    "SELECT b.proposal_id, b.votes[k], b.voting_powers[k], b.cast_at_seconds[k] "
    "FROM governance.ballots b, LATERAL array_position(b.neuron_ids, $2::bigint) AS k "
    "WHERE numrange(b.first_neuron_id, b.last_neuron_id, '[]') @> $1::numeric "
    "AND b.proposal_id < $3 AND k IS NOT NULL AND b.votes[k] <> 0 "
    "ORDER BY b.proposal_id DESC LIMIT $4",
    4};
static const db_pool_stmt_t PROPOSAL_STMT = {"gov_proposal_read", PROPOSAL_SELECT "WHERE id = $1",
                                             1};
static const db_pool_stmt_t FORGOTTEN_STMT = {
    "gov_forgotten",
    PROPOSAL_SELECT "WHERE forgotten AND id < $1 AND ($2::text[] IS NULL OR status = ANY($2)) "
                    "AND ($3::int[] IS NULL OR topic = ANY($3)) AND ($4::int[] IS NULL OR "
                    "(CASE WHEN reward_event_round > 0 THEN 3 ELSE 4 END) = ANY($4)) "
                    "ORDER BY id DESC LIMIT $5",
    5};

static size_t clamp_max(size_t max, size_t hi)
{
    return max < 1 ? 1 : max > hi ? hi : max;
}

/* A bigint's text as the u64 of its bits. */
static bool t_bits(const PGresult *r, int row, int col, uint64_t *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(PQgetvalue(r, row, col), &end, 10);
    if (*end || errno)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool gov_store_proposal_ballots(gov_store_t *s, uint64_t proposal_id, uint64_t after_id, int vote,
                                gov_ballot_t *out, size_t max, size_t *n, bool *more, bool *found,
                                nns_error_t *err)
{
    *n = 0;
    *more = false;
    *found = false;
    max = clamp_max(max, GOV_STORE_VOTES_MAX);
    char pid[24], after[24], v[16], limit[24];
    snprintf(pid, sizeof pid, "%llu", (unsigned long long)proposal_id);
    snprintf(after, sizeof after, "%llu", (unsigned long long)after_id);
    snprintf(v, sizeof v, "%d", vote < 0 ? -1 : vote);
    snprintf(limit, sizeof limit, "%zu", max + 1);
    const char *any[1] = {pid};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &BALLOTS_ANY_STMT, any, 0, err);
    if (!r)
        return false;
    *found = PQntuples(r) > 0;
    PQclear(r);
    if (!*found)
        return true;
    /* windows of snapshot rows: enough for max + 1 ballots unfiltered (the first row may hold
     * a single id after the cursor); a filtered page that is not full after a window reads the
     * next one, twice as wide, so that a rare vote costs O(log) windows */
    size_t chunks = (max + 1) / GOV_STORE_BALLOT_CHUNK + 2, got = 0;
    uint64_t lo = after_id;
    bool ok = true, last_window = false;
    while (ok && got < max + 1 && !last_window) {
        char lo_text[24], hi_text[24], nchunks[24], want[24];
        snprintf(lo_text, sizeof lo_text, "%llu", (unsigned long long)lo);
        snprintf(nchunks, sizeof nchunks, "%zu", chunks);
        const char *bp[3] = {pid, lo_text, nchunks};
        if (!(r = db_pool_exec_prepared(s->db.pool, &BALLOT_BOUNDS_STMT, bp, 0, err)))
            return false;
        int nb = PQntuples(r);
        uint64_t hi = 0;
        if (nb == 0 || !t_u64(r, nb - 1, 0, &hi)) {
            ok = nb == 0;
            PQclear(r);
            break;
        }
        last_window = (size_t)nb < chunks;
        PQclear(r);
        snprintf(hi_text, sizeof hi_text, "%llu", (unsigned long long)hi);
        snprintf(want, sizeof want, "%zu", max + 1 - got);
        const char *p[5] = {pid, lo_text, v, want, hi_text};
        if (!(r = db_pool_exec_prepared(s->db.pool, &BALLOTS_STMT, p, 0, err)))
            return false;
        int rows = PQntuples(r);
        for (int i = 0; ok && i < rows; i++) {
            int32_t vv = 0;
            gov_ballot_t b;
            memset(&b, 0, sizeof b);
            ok = t_u64(r, i, 0, &b.neuron_id) && t_i32(r, i, 1, &vv) && vv >= 0 && vv <= 2 &&
                 t_bits(r, i, 2, &b.voting_power);
            b.vote = (uint8_t)vv;
            if (ok && got < max)
                out[(*n)++] = b;
            if (ok)
                got++;
        }
        PQclear(r);
        lo = hi;
        if (vote >= 0 && chunks < 1024)
            chunks *= 2;
    }
    *more = ok && got > max;
    return ok || nns_error_set(err, 503, "Unavailable", "malformed governance.ballots row");
}

static bool vote_rows(PGresult *r, bool by_neuron, uint64_t fixed_id, gov_store_vote_t *out,
                      size_t max, size_t *n, bool *more)
{
    int rows = PQntuples(r);
    bool ok = true;
    for (int i = 0; ok && i < rows && (size_t)i < max; i++) {
        gov_store_vote_t *v = &out[i];
        memset(v, 0, sizeof *v);
        int32_t vv = 0;
        if (by_neuron) {
            v->neuron_id = fixed_id;
            ok = t_u64(r, i, 0, &v->proposal_id);
        } else {
            v->proposal_id = fixed_id;
            ok = t_u64(r, i, 0, &v->neuron_id);
        }
        ok = ok && t_i32(r, i, 1, &vv) && (vv == 1 || vv == 2) &&
             t_bits(r, i, 2, &v->voting_power) && t_bits(r, i, 3, &v->cast_at_seconds);
        v->vote = (uint8_t)vv;
        if (ok)
            (*n)++;
    }
    *more = ok && (size_t)rows > max;
    return ok;
}

bool gov_store_proposal_votes(gov_store_t *s, uint64_t proposal_id, uint64_t after_id,
                              gov_store_vote_t *out, size_t max, size_t *n, bool *more,
                              nns_error_t *err)
{
    *n = 0;
    *more = false;
    max = clamp_max(max, GOV_STORE_VOTES_MAX);
    char pid[24], after[24], limit[24];
    snprintf(pid, sizeof pid, "%llu", (unsigned long long)proposal_id);
    snprintf(after, sizeof after, "%llu", (unsigned long long)after_id);
    snprintf(limit, sizeof limit, "%zu", max + 1);
    const char *p[3] = {pid, after, limit};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &PROPOSAL_VOTES_STMT, p, 0, err);
    if (!r)
        return false;
    bool ok = vote_rows(r, false, proposal_id, out, max, n, more);
    PQclear(r);
    return ok || nns_error_set(err, 503, "Unavailable", "malformed governance.ballots row");
}

bool gov_store_neuron_votes(gov_store_t *s, uint64_t neuron_id, uint64_t before_id,
                            gov_store_vote_t *out, size_t max, size_t *n, bool *more,
                            nns_error_t *err)
{
    *n = 0;
    *more = false;
    max = clamp_max(max, GOV_STORE_VOTES_MAX);
    char id[24], bits[24], before[24], limit[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)neuron_id);
    snprintf(bits, sizeof bits, "%lld", (long long)(int64_t)neuron_id);
    if (before_id == 0)
        snprintf(before, sizeof before, "%s", "18446744073709551615");
    else
        snprintf(before, sizeof before, "%llu", (unsigned long long)before_id);
    snprintf(limit, sizeof limit, "%zu", max + 1);
    const char *p[4] = {id, bits, before, limit};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &NEURON_VOTES_STMT, p, 0, err);
    if (!r)
        return false;
    bool ok = vote_rows(r, true, neuron_id, out, max, n, more);
    PQclear(r);
    return ok || nns_error_set(err, 503, "Unavailable", "malformed governance.ballots row");
}

void gov_store_proposal_free(gov_proposal_full_t *p)
{
    if (!p)
        return;
    free((void *)(uintptr_t)p->action);
    free(p);
}

/* Row i of a PROPOSAL_SELECT result as a malloc'd copy: the record and its texts in one
 * allocation, the action decoded in a second. NULL when malformed (*bad) or out of memory. */
static gov_proposal_full_t *proposal_copy(const PGresult *r, int i, bool *bad)
{
    *bad = false;
    gov_proposal_t p;
    if (!proposal_row(r, i, &p)) {
        *bad = true;
        return NULL;
    }
    nns_error_t err;
    gov_action_t *act = gov_action_from_stored(PQgetvalue(r, i, 28), PQgetvalue(r, i, 29), &err);
    if (!act) {
        *bad = err.status != 503;
        return NULL;
    }
    const int cols[4] = {25, 26, 27, 28}; /* title, summary, url, action_json */
    size_t len[4], total = sizeof(gov_proposal_full_t);
    for (int k = 0; k < 4; k++) {
        len[k] = PQgetisnull(r, i, cols[k]) ? 0 : (size_t)PQgetlength(r, i, cols[k]) + 1;
        total += len[k];
    }
    gov_proposal_full_t *f = malloc(total);
    if (!f) {
        free(act);
        return NULL;
    }
    char *at = (char *)(f + 1);
    const char *texts[4];
    for (int k = 0; k < 4; k++) {
        texts[k] = NULL;
        if (len[k]) {
            memcpy(at, PQgetvalue(r, i, cols[k]), len[k]);
            texts[k] = at;
            at += len[k];
        }
    }
    f->p = p;
    f->title = texts[0];
    f->summary = texts[1] ? texts[1] : "";
    f->url = texts[2];
    f->action_json = texts[3] ? texts[3] : "{}";
    f->action = act;
    return f;
}

gov_proposal_full_t *gov_store_proposal(gov_store_t *s, uint64_t proposal_id, bool *found,
                                        nns_error_t *err)
{
    *found = false;
    char pid[24];
    snprintf(pid, sizeof pid, "%llu", (unsigned long long)proposal_id);
    const char *p[1] = {pid};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &PROPOSAL_STMT, p, 0, err);
    if (!r)
        return NULL;
    gov_proposal_full_t *f = NULL;
    if (PQntuples(r) == 1) {
        *found = true;
        bool bad = false;
        if (!(f = proposal_copy(r, 0, &bad)))
            nns_error_set(err, bad ? 500 : 503, bad ? "CorruptState" : "Unavailable",
                          bad ? "malformed governance.proposals row %s" : "out of memory (%s)",
                          pid);
    }
    PQclear(r);
    return f;
}

/* "{a,b}" of n small integers (the filter's validated values), or NULL (no filter). */
static const char *int_array_text(const int *v, size_t n, char *buf, size_t cap)
{
    if (n == 0)
        return NULL;
    size_t k = 0;
    buf[k++] = '{';
    for (size_t i = 0; i < n && k + 14 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%d", i ? "," : "", v[i]);
    snprintf(buf + k, cap - k, "}");
    return buf;
}

bool gov_store_forgotten_proposals(gov_store_t *s, const gov_proposal_filter_t *f,
                                   gov_proposal_full_t ***out, size_t *n, bool *more,
                                   nns_error_t *err)
{
    *out = NULL;
    *n = 0;
    *more = false;
    size_t max = clamp_max(f->limit, GOV_PROPOSAL_LIST_MAX);
    char before[24], limit[24], st[160], tp[160], rw[64];
    if (f->before_id == 0)
        snprintf(before, sizeof before, "%s", "18446744073709551615");
    else
        snprintf(before, sizeof before, "%llu", (unsigned long long)f->before_id);
    snprintf(limit, sizeof limit, "%zu", max + 1);
    /* status names: the state machine's own names of the filter's values */
    const char *status = NULL;
    if (f->nstatus) {
        size_t k = 0;
        st[k++] = '{';
        for (size_t i = 0; i < f->nstatus && i < 8; i++) {
            const char *name = gov_proposal_status_name(f->status[i]);
            k += (size_t)snprintf(st + k, sizeof st - k, "%s%s", k > 1 ? "," : "",
                                  name ? name : "None");
        }
        snprintf(st + k, sizeof st - k, "}");
        status = st;
    }
    int topics[GOV_TOPICS];
    size_t nt = f->ntopic < GOV_TOPICS ? f->ntopic : GOV_TOPICS;
    for (size_t i = 0; i < nt; i++)
        topics[i] = f->topic[i];
    const char *p[5] = {
        before, status, int_array_text(topics, nt, tp, sizeof tp),
        int_array_text(f->reward_status, f->nreward < 8 ? f->nreward : 8, rw, sizeof rw), limit};
    PGresult *r = db_pool_exec_prepared(s->db.pool, &FORGOTTEN_STMT, p, 0, err);
    if (!r)
        return false;
    int rows = PQntuples(r);
    size_t take = (size_t)rows < max ? (size_t)rows : max;
    gov_proposal_full_t **v = take ? calloc(take, sizeof *v) : NULL;
    bool ok = take == 0 || v;
    bool bad = false;
    for (size_t i = 0; ok && i < take; i++) {
        if (!(v[i] = proposal_copy(r, (int)i, &bad)))
            ok = false;
        else
            (*n)++;
    }
    *more = ok && (size_t)rows > max;
    PQclear(r);
    if (!ok) {
        for (size_t i = 0; i < *n; i++)
            gov_store_proposal_free(v[i]);
        free(v);
        *n = 0;
        return nns_error_set(err, bad ? 500 : 503, bad ? "CorruptState" : "Unavailable",
                             bad ? "malformed governance.proposals row" : "out of memory");
    }
    *out = v;
    return true;
}
