-- The governance service's mirror (services/governance/store.c writes it, one transaction per
-- round). The state lives in memory (services/governance/gov.h); these tables hold exactly what
-- committed and are read back only at start (and neuron_events for GET /v1/neurons/{id}/events).
-- u64 values (ids, e8s, timestamps, memos) are numeric(20,0), principals their raw bytes,
-- accounts their 28-byte hash, subaccounts their 32 bytes.

CREATE SCHEMA IF NOT EXISTS governance;

-- The governance-wide state, one row (gov_info_t up to last_created_at): genesis, the rule set,
-- the maturity modulation and its source, the creation limiter, the outbox counters.
CREATE TABLE governance.state (
    id                          int PRIMARY KEY CHECK (id = 1),
    genesis_done                boolean NOT NULL,
    rule_set                    text NOT NULL CHECK (rule_set IN ('current', 'legacy')),
    genesis_timestamp_seconds   numeric(20,0) NOT NULL,
    modulation_source           text NOT NULL CHECK (modulation_source IN ('none', 'genesis',
                                                      'cmc', 'rate-history')),
    modulation_permyriad        int NOT NULL,
    modulation_computed         boolean NOT NULL,  -- rate-history: a value was computed
    modulation_computed_day     numeric(20,0) NOT NULL,
    modulation_requested_day    numeric(20,0) NOT NULL,
    modulation_retry_at_seconds numeric(20,0) NOT NULL,  -- after a failed read: the next try
    limiter_available           numeric(20,0) NOT NULL,
    limiter_last_refill_seconds numeric(20,0) NOT NULL,
    next_intent_id              numeric(20,0) NOT NULL,
    next_flow_id                numeric(20,0) NOT NULL,
    last_created_at             numeric(20,0) NOT NULL,  -- nanoseconds
    updated_at_nanos            numeric(20,0) NOT NULL
);

-- NetworkEconomics and VotingPowerEconomics (spec/governance.md section 7, Constants), plus the
-- creation limiter's limits: one row of data, the column defaults being the spec's defaults for
-- the current rule set (a legacy genesis stores its own minimum dissolve delay to vote).
CREATE TABLE governance.economics (
    id                                        int PRIMARY KEY CHECK (id = 1),
    reject_cost_e8s                           numeric(20,0) NOT NULL DEFAULT 100000000,
    neuron_minimum_stake_e8s                  numeric(20,0) NOT NULL DEFAULT 100000000,
    neuron_management_fee_per_proposal_e8s    numeric(20,0) NOT NULL DEFAULT 1000000,
    minimum_icp_xdr_rate                      numeric(20,0) NOT NULL DEFAULT 100,
    neuron_spawn_dissolve_delay_seconds       numeric(20,0) NOT NULL DEFAULT 604800,
    maximum_node_provider_rewards_e8s         numeric(20,0) NOT NULL DEFAULT 100000000000000,
    transaction_fee_e8s                       numeric(20,0) NOT NULL DEFAULT 10000,
    max_proposals_to_keep_per_topic           bigint NOT NULL DEFAULT 100
                                                  CHECK (max_proposals_to_keep_per_topic > 0),
    max_sustained_neurons_per_hour            numeric(20,0) NOT NULL DEFAULT 15,
    neuron_creation_spike                     numeric(20,0) NOT NULL DEFAULT 300,
    start_reducing_voting_power_after_seconds numeric(20,0) NOT NULL DEFAULT 15778800,
    clear_following_after_seconds             numeric(20,0) NOT NULL DEFAULT 2629800,
    neuron_minimum_dissolve_delay_to_vote_seconds numeric(20,0) NOT NULL DEFAULT 1209600,
    updated_at_nanos                          numeric(20,0) NOT NULL
);

-- Neurons (spec/governance.md 2.1). The dissolve state: NotDissolving (dissolving false) keeps
-- dissolve_delay_seconds and aging_since_timestamp_seconds; DissolvingOrDissolved (dissolving
-- true) keeps when_dissolved_timestamp_seconds; the other columns of the pair are NULL.
-- Optional fields are NULL when absent. Hot keys, followees and maturity disbursements, which
-- most neurons do not have, are tables of their own. Subaccounts are unique: the state machine
-- keeps them so and checks it again when it loads the table (a duplicate is CorruptState), so
-- no index enforces it here (it would cost about 77 bytes a neuron).
CREATE TABLE governance.neurons (
    id                                      numeric(20,0) PRIMARY KEY,
    subaccount                              bytea NOT NULL CHECK (length(subaccount) = 32),
    controller                              bytea NOT NULL,
    dissolving                              boolean NOT NULL,
    dissolve_delay_seconds                  numeric(20,0),
    aging_since_timestamp_seconds           numeric(20,0),
    when_dissolved_timestamp_seconds        numeric(20,0),
    cached_neuron_stake_e8s                 numeric(20,0) NOT NULL,
    neuron_fees_e8s                         numeric(20,0) NOT NULL,
    created_timestamp_seconds               numeric(20,0) NOT NULL,
    spawn_at_timestamp_seconds              numeric(20,0),
    kyc_verified                            boolean NOT NULL,
    maturity_e8s_equivalent                 numeric(20,0) NOT NULL,
    staked_maturity_e8s_equivalent          numeric(20,0) NOT NULL,
    auto_stake_maturity                     boolean NOT NULL,
    not_for_profit                          boolean NOT NULL,
    joined_community_fund_timestamp_seconds numeric(20,0),
    neuron_type                             smallint NOT NULL,
    visibility                              smallint NOT NULL,
    voting_power_refreshed_timestamp_seconds numeric(20,0) NOT NULL,
    eight_year_gang_bonus_base_e8s          numeric(20,0) NOT NULL,
    CHECK (dissolving = (dissolve_delay_seconds IS NULL)),
    CHECK (dissolving = (aging_since_timestamp_seconds IS NULL)),
    CHECK (dissolving = (when_dissolved_timestamp_seconds IS NOT NULL))
);
-- Listing by controller (keyset on id), for operators and analysts.
CREATE INDEX neurons_controller ON governance.neurons (controller, id);

-- Hot keys, in the neuron's order (position 0 first).
CREATE TABLE governance.hot_keys (
    neuron_id numeric(20,0) NOT NULL,
    position  smallint NOT NULL,
    hot_key   bytea NOT NULL,
    PRIMARY KEY (neuron_id, position)
);
CREATE INDEX hot_keys_key ON governance.hot_keys (hot_key);

-- Followees: per neuron and topic, the followed neuron ids in order.
CREATE TABLE governance.followees (
    neuron_id numeric(20,0) NOT NULL,
    topic     int NOT NULL,
    followees numeric(20,0)[] NOT NULL,
    PRIMARY KEY (neuron_id, topic)
);

-- Maturity disbursements in progress (spec 2.10), in the neuron's order.
CREATE TABLE governance.maturity_disbursements (
    neuron_id                               numeric(20,0) NOT NULL,
    position                                smallint NOT NULL,
    amount_e8s                              numeric(20,0) NOT NULL,
    timestamp_of_disbursement_seconds       numeric(20,0) NOT NULL,
    finalize_disbursement_timestamp_seconds numeric(20,0) NOT NULL,
    to_account                              bytea NOT NULL CHECK (length(to_account) = 28),
    PRIMARY KEY (neuron_id, position)
);

-- The replay cache: committed answers to signed writes, as the ledger's and the cmc's.
CREATE TABLE governance.replay_cache (
    key           bytea PRIMARY KEY,
    expiry_nanos  bigint NOT NULL,
    status        int NOT NULL,
    body          text NOT NULL
);
CREATE INDEX replay_cache_expiry ON governance.replay_cache (expiry_nanos);

-- Operations in flight (gov_inflight_t, one column per field): the locks, and what the answers
-- of their intents need to finish or revert them. neuron_id and other_neuron_id are 0 when
-- unused; a claim locks its subaccount.
CREATE TABLE governance.in_flight (
    id                             numeric(20,0) PRIMARY KEY,  -- the flow id
    kind                           text NOT NULL CHECK (kind IN ('claim', 'disburse', 'split',
                                       'merge', 'spawn_mint', 'maturity_mint', 'genesis_mint',
                                       'modulation')),
    step                           text NOT NULL CHECK (step IN ('balance', 'burn_fees',
                                       'transfer', 'mint', 'read')),
    intent_id                      numeric(20,0) NOT NULL,
    has_request                    boolean NOT NULL,
    command                        smallint NOT NULL,  -- gov_command_kind_t, 0 for none
    caller                         bytea NOT NULL,
    neuron_id                      numeric(20,0) NOT NULL,
    other_neuron_id                numeric(20,0) NOT NULL,
    subaccount                     bytea NOT NULL CHECK (length(subaccount) = 32),
    controller                     bytea NOT NULL,
    memo                           numeric(20,0) NOT NULL,
    candidate_id                   numeric(20,0) NOT NULL,
    to_account                     bytea NOT NULL CHECK (length(to_account) = 28),
    amount_e8s                     numeric(20,0) NOT NULL,
    fee_e8s                        numeric(20,0) NOT NULL,
    burn_e8s                       numeric(20,0) NOT NULL,
    moved_maturity_e8s             numeric(20,0) NOT NULL,
    moved_staked_maturity_e8s      numeric(20,0) NOT NULL,
    moved_gang_base_e8s            numeric(20,0) NOT NULL,
    disbursement_timestamp_seconds numeric(20,0) NOT NULL,
    modulation_permyriad           int NOT NULL,
    started_at_seconds             numeric(20,0) NOT NULL,
    -- merge: the effect computed at command time, applied when the transfers are done
    merge_source_aging_since_seconds    numeric(20,0) NOT NULL,
    merge_target_aging_since_seconds    numeric(20,0) NOT NULL,
    merge_target_dissolve_delay_seconds numeric(20,0) NOT NULL
);

-- The outbox: calls to the ledger and the cmc, every field fixed when the round recorded them.
-- Unresolved ones (resolved_at_nanos NULL) are submitted again at start. A GET has its target
-- and path (balance: the account read; rate history: the days asked); a transfer goes from
-- (governance, from_subaccount) (all zero: a mint) to to_account.
CREATE TABLE governance.intents (
    id                 numeric(20,0) PRIMARY KEY,
    flow_id            numeric(20,0) NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('get', 'transfer')),
    purpose            text NOT NULL CHECK (purpose IN ('balance', 'modulation', 'rate_history',
                                                        'burn', 'transfer', 'mint')),
    target             text NOT NULL CHECK (target IN ('ledger', 'cmc')),
    path               text NOT NULL,
    account            bytea NOT NULL CHECK (length(account) = 28),
    from_day           numeric(20,0) NOT NULL,
    to_day             numeric(20,0) NOT NULL,
    from_subaccount    bytea NOT NULL CHECK (length(from_subaccount) = 32),
    to_account         bytea NOT NULL CHECK (length(to_account) = 28),
    amount_e8s         numeric(20,0) NOT NULL,
    fee_e8s            numeric(20,0) NOT NULL,
    memo               numeric(20,0) NOT NULL,
    created_at_time    numeric(20,0) NOT NULL,  -- nanoseconds
    recorded_at_nanos  numeric(20,0) NOT NULL,
    resolved_at_nanos  numeric(20,0),
    ok                 boolean,                 -- the outcome, when the service gave it
    ledger_block_index numeric(20,0)            -- a transfer's block
);
CREATE INDEX intents_unresolved ON governance.intents (id) WHERE resolved_at_nanos IS NULL;

-- The neuron event history (gov_event_t), appended with the round that made each event; seq
-- orders the whole history (the keyset cursor of GET /v1/neurons/{id}/events).
CREATE TABLE governance.neuron_events (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    neuron_id       numeric(20,0) NOT NULL,
    kind            text NOT NULL,
    at_seconds      numeric(20,0) NOT NULL,
    amount_e8s      numeric(20,0) NOT NULL,
    other_neuron_id numeric(20,0),  -- NULL when none
    detail          text NOT NULL
);
-- A neuron's history, newest first.
CREATE INDEX neuron_events_neuron ON governance.neuron_events (neuron_id, seq);
-- Charting by time: rows arrive in time order, so a BRIN index is a few pages.
CREATE INDEX neuron_events_at ON governance.neuron_events USING brin (at_seconds);

-- The stake history: a row for every neuron a round wrote, as the round left it (at_nanos: the
-- round's time; seq orders rows, also those of rounds at the same time under a test clock), so
-- that analysts can chart stake by dissolve delay over time without replaying
-- commands: stake_e8s (cached - fees + staked maturity; 0 once removed), dissolving, and
-- dissolve_delay_seconds (not dissolving) or when_dissolved_timestamp_seconds (dissolving).
CREATE TABLE governance.neuron_history (
    seq                              bigint GENERATED ALWAYS AS IDENTITY,
    neuron_id                        numeric(20,0) NOT NULL,
    at_nanos                         bigint NOT NULL,
    removed                          boolean NOT NULL,
    stake_e8s                        numeric(20,0) NOT NULL,
    dissolving                       boolean NOT NULL,
    dissolve_delay_seconds           numeric(20,0),
    when_dissolved_timestamp_seconds numeric(20,0)
);
CREATE INDEX neuron_history_at ON governance.neuron_history USING brin (at_nanos);
