-- Governance part 2 (proposals, ballots, votes, following, rewards): the mirror's tables, written
-- by services/governance/store.c with the round that made each change, read back at start (what
-- the state machine holds in memory) and by the read pool (what it no longer holds: ballots of
-- settled proposals, votes with their times, proposals forgotten after settlement).
--
-- Conventions as in 001: u64 values in columns are numeric(20,0). Large per-neuron arrays
-- (ballots, snapshots, reward distributions and batches) are bigint[] holding the u64's bits
-- (a value above 2^63 - 1 reads as negative; analytics.governance_u64() gives it back as
-- numeric): array_recv of numeric costs about ten times that of bigint, and a cascade writes
-- 400,000 ids and voting powers in one round. Those arrays are stored uncompressed out of line
-- (STORAGE EXTERNAL): compressing megabytes per round costs more than it saves here.

-- The outbox and the operations in flight gain the proposals' and rewards' kinds.
ALTER TABLE governance.intents ADD COLUMN body text NOT NULL DEFAULT '';  -- a POST's JSON body
ALTER TABLE governance.intents DROP CONSTRAINT intents_kind_check;
ALTER TABLE governance.intents ADD CONSTRAINT intents_kind_check
    CHECK (kind IN ('get', 'transfer', 'post'));
ALTER TABLE governance.intents DROP CONSTRAINT intents_purpose_check;
ALTER TABLE governance.intents ADD CONSTRAINT intents_purpose_check
    CHECK (purpose IN ('balance', 'modulation', 'rate_history', 'burn', 'transfer', 'mint',
                       'cmc_post', 'supply', 'average_rate'));
ALTER TABLE governance.in_flight ADD COLUMN proposal_id numeric(20,0) NOT NULL DEFAULT 0;
ALTER TABLE governance.in_flight ADD COLUMN mints_left bigint NOT NULL DEFAULT 0;
ALTER TABLE governance.in_flight DROP CONSTRAINT in_flight_kind_check;
ALTER TABLE governance.in_flight ADD CONSTRAINT in_flight_kind_check
    CHECK (kind IN ('claim', 'disburse', 'split', 'merge', 'spawn_mint', 'maturity_mint',
                    'genesis_mint', 'modulation', 'proposal_call', 'proposal_mint',
                    'reward_supply', 'node_provider_rate', 'node_provider_mint'));
ALTER TABLE governance.in_flight DROP CONSTRAINT in_flight_step_check;
ALTER TABLE governance.in_flight ADD CONSTRAINT in_flight_step_check
    CHECK (step IN ('balance', 'burn_fees', 'transfer', 'mint', 'read', 'post'));

-- Reward credits reach governance.neurons in the background (services/governance/store.c, the
-- fold): a round that credits a batch of voting rewards writes the batch's arrays only
-- (governance.reward_batches); reward_key is the key of the latest batch whose credits a
-- neuron's row includes (a round writing the whole neuron sets the latest committed key; the
-- fold sets it batch by batch). At start, the batches not yet folded are added to the rows whose
-- reward_key is below theirs.
ALTER TABLE governance.neurons ADD COLUMN reward_key bigint NOT NULL DEFAULT 0;

-- The proposal counters (gov_proposal_info_t up to last_snapshot_day), one row.
CREATE TABLE governance.proposal_state (
    id                int PRIMARY KEY CHECK (id = 1),
    next_proposal_id  numeric(20,0) NOT NULL,
    last_snapshot_day numeric(20,0) NOT NULL,
    updated_at_nanos  numeric(20,0) NOT NULL
);

-- Proposals (spec 4.3-4.7, gov_proposal_t), one row each, upserted by every round that changes
-- one. forgotten: governance dropped it from memory after settlement (beyond
-- max_proposals_to_keep_per_topic); the row stays, with its last state, and is not loaded.
-- status is the status the round left (Open, Rejected, Adopted, Executed, Failed); the reward
-- status depends on the time and is derived by analytics.governance_proposals. action is the
-- typed action's binary encoding (gov_action_encode), action_json the action as submitted.
CREATE TABLE governance.proposals (
    id                                 numeric(20,0) PRIMARY KEY,
    proposer                           numeric(20,0) NOT NULL,
    topic                              int NOT NULL,
    action_type                        text NOT NULL,
    nns_function                       int NOT NULL,
    managed_neuron_id                  numeric(20,0) NOT NULL,
    status                             text NOT NULL CHECK (status IN ('Open', 'Rejected',
                                           'Adopted', 'Executed', 'Failed')),
    reject_cost_e8s                    numeric(20,0) NOT NULL,
    proposal_timestamp_seconds         numeric(20,0) NOT NULL,
    decided_timestamp_seconds          numeric(20,0) NOT NULL,  -- 0: open
    executed_timestamp_seconds         numeric(20,0) NOT NULL,  -- 0: not executed
    failed_timestamp_seconds           numeric(20,0) NOT NULL,  -- 0: not failed
    failure_reason                     text NOT NULL,
    has_wait_for_quiet                 boolean NOT NULL,
    wait_for_quiet_deadline_seconds    numeric(20,0) NOT NULL,
    voting_period_seconds              numeric(20,0) NOT NULL,
    total_potential_voting_power       numeric(20,0) NOT NULL,
    yes_e8s                            numeric(20,0) NOT NULL,  -- latest_tally
    no_e8s                             numeric(20,0) NOT NULL,
    total_e8s                          numeric(20,0) NOT NULL,
    tally_timestamp_seconds            numeric(20,0) NOT NULL,
    previous_ballots_timestamp_seconds numeric(20,0),           -- NULL: the current snapshot
    reward_event_round                 numeric(20,0) NOT NULL,  -- 0: not settled
    ballots_count                      numeric(20,0) NOT NULL,
    ballots_held                       boolean NOT NULL,
    exec_flow_id                       numeric(20,0) NOT NULL,
    forgotten                          boolean NOT NULL,
    title                              text,
    summary                            text NOT NULL,
    url                                text,
    action_json                        text NOT NULL,
    action                             bytea NOT NULL,
    updated_at_nanos                   numeric(20,0) NOT NULL
);
CREATE INDEX proposals_in_memory ON governance.proposals (id) WHERE NOT forgotten;
CREATE INDEX proposals_topic ON governance.proposals (topic, id);

-- Ballots: one row per proposal, round and chunk of at most 2,048 ballots (store.h
-- GOV_STORE_BALLOT_CHUNK), the arrays parallel and ascending by neuron id. The round that created
-- the proposal writes the whole snapshot (snapshot true: every ballot, with the votes cast in
-- that round); each later round writes the ballots its votes and cascades changed, with the time
-- each was cast. A ballot is never overwritten, so a neuron's vote on a proposal is in exactly
-- one row with a non-zero vote (1 yes, 2 no; 0 unspecified in snapshot rows). The chunks keep a
-- row under the TOAST slice a lookup reads, and let a neuron's votes be found through the index
-- on the chunks' id ranges. analytics.governance_ballots unnests them.
CREATE TABLE governance.ballots (
    proposal_id     numeric(20,0) NOT NULL,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    at_nanos        bigint NOT NULL,             -- the round's time
    snapshot        boolean NOT NULL,
    first_neuron_id numeric(20,0) NOT NULL,
    last_neuron_id  numeric(20,0) NOT NULL,
    neuron_ids      bigint[] NOT NULL,           -- u64 bits
    votes           smallint[] NOT NULL,
    voting_powers   bigint[] NOT NULL,           -- u64 bits
    cast_at_seconds bigint[] NOT NULL,           -- 0 for unspecified ballots
    PRIMARY KEY (proposal_id, seq),
    CHECK (first_neuron_id <= last_neuron_id)
);
ALTER TABLE governance.ballots ALTER COLUMN neuron_ids SET STORAGE EXTERNAL,
    ALTER COLUMN votes SET STORAGE EXTERNAL, ALTER COLUMN voting_powers SET STORAGE EXTERNAL,
    ALTER COLUMN cast_at_seconds SET STORAGE EXTERNAL;
CREATE INDEX ballots_neuron_range ON governance.ballots
    USING gist (numrange(first_neuron_id, last_neuron_id, '[]'));

-- The tally history: a row per tally change (a vote and its cascade, a decision), with the
-- deadline after it, so that wait-for-quiet extensions can be charted.
CREATE TABLE governance.tally_history (
    seq               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id       numeric(20,0) NOT NULL,
    at_nanos          bigint NOT NULL,
    yes_e8s           numeric(20,0) NOT NULL,
    no_e8s            numeric(20,0) NOT NULL,
    total_e8s         numeric(20,0) NOT NULL,
    timestamp_seconds numeric(20,0) NOT NULL,
    deadline_seconds  numeric(20,0) NOT NULL
);
CREATE INDEX tally_history_proposal ON governance.tally_history (proposal_id, seq);

-- Known neurons (2.13).
CREATE TABLE governance.known_neurons (
    id               numeric(20,0) PRIMARY KEY,
    name             text NOT NULL,
    description      text,
    links            text[] NOT NULL,
    committed_topics int[] NOT NULL
);

-- Node providers (9): the registry, the rewards table's rate, the last reward minted.
CREATE TABLE governance.node_providers (
    id                            bytea PRIMARY KEY,
    reward_account                bytea CHECK (length(reward_account) = 28),  -- NULL: default
    xdr_permyriad_per_month       numeric(20,0),
    last_reward_amount_e8s        numeric(20,0),
    last_reward_timestamp_seconds numeric(20,0),
    last_reward_block_index       numeric(20,0),
    CHECK ((last_reward_amount_e8s IS NULL) = (last_reward_timestamp_seconds IS NULL))
);

-- Voting-power snapshots (4.5): at most 7 kept (the state machine drops older ones; so does the
-- round that drops them here), each the deciding voting power of every neuron, ascending ids.
CREATE TABLE governance.voting_power_snapshots (
    timestamp_seconds            numeric(20,0) PRIMARY KEY,
    total_potential_voting_power numeric(20,0) NOT NULL,
    neuron_ids                   bigint[] NOT NULL,  -- u64 bits
    voting_powers                bigint[] NOT NULL   -- u64 bits
);
ALTER TABLE governance.voting_power_snapshots ALTER COLUMN neuron_ids SET STORAGE EXTERNAL,
    ALTER COLUMN voting_powers SET STORAGE EXTERNAL;

-- Reward events (6), kept for ever.
CREATE TABLE governance.reward_events (
    day_after_genesis                      numeric(20,0) PRIMARY KEY,
    actual_timestamp_seconds               numeric(20,0) NOT NULL,
    distributed_e8s_equivalent             numeric(20,0) NOT NULL,
    total_available_e8s_equivalent         numeric(20,0) NOT NULL,
    rounds_since_last_distribution         numeric(20,0) NOT NULL,
    latest_round_available_e8s_equivalent  numeric(20,0) NOT NULL,
    settled_proposals                      numeric(20,0)[] NOT NULL,
    at_nanos                               bigint NOT NULL
);

-- Each event's distribution as computed with it (every neuron rewarded, ascending ids), written
-- by the round of the event, before any crediting.
CREATE TABLE governance.reward_distributions (
    day_after_genesis numeric(20,0) PRIMARY KEY,
    neurons           int NOT NULL,
    neuron_ids        bigint[] NOT NULL,  -- u64 bits
    amounts_e8s       bigint[] NOT NULL   -- u64 bits
);
ALTER TABLE governance.reward_distributions ALTER COLUMN neuron_ids SET STORAGE EXTERNAL,
    ALTER COLUMN amounts_e8s SET STORAGE EXTERNAL;

-- The batches credited, one row per round: entries [batch_offset, batch_offset + n) of the
-- day's distribution, the amounts credited (0 for a neuron removed since the event) and whether
-- each went to staked maturity. Their sum of n is the distribution's progress at start. key
-- orders the batches (day_after_genesis * 2^20 + batch_offset); folded: every neuron of the
-- batch has its credit in its governance.neurons row (reward_key >= key).
CREATE TABLE governance.reward_batches (
    day_after_genesis numeric(20,0) NOT NULL,
    batch_offset      int NOT NULL,
    n                 int NOT NULL,
    last              boolean NOT NULL,
    key               bigint NOT NULL UNIQUE,
    folded            boolean NOT NULL DEFAULT false,
    at_nanos          bigint NOT NULL,
    neuron_ids        bigint[] NOT NULL,  -- u64 bits
    amounts_e8s       bigint[] NOT NULL,  -- u64 bits
    staked            boolean[] NOT NULL,
    PRIMARY KEY (day_after_genesis, batch_offset)
);
ALTER TABLE governance.reward_batches ALTER COLUMN neuron_ids SET STORAGE EXTERNAL,
    ALTER COLUMN amounts_e8s SET STORAGE EXTERNAL, ALTER COLUMN staked SET STORAGE EXTERNAL;
CREATE INDEX reward_batches_unfolded ON governance.reward_batches (key) WHERE NOT folded;

-- Monthly node-provider rewards (9), one row per month, upserted as its mints are answered.
-- statuses: 0 pending, 1 minted, 2 failed, 3 refused (gov_np_reward_status_t).
CREATE TABLE governance.node_provider_rewards (
    timestamp_seconds                 numeric(20,0) PRIMARY KEY,
    xdr_conversion_rate               numeric(20,0) NOT NULL,
    average_xdr_permyriad_per_icp     numeric(20,0) NOT NULL,
    minimum_xdr_permyriad_per_icp     numeric(20,0) NOT NULL,
    maximum_node_provider_rewards_e8s numeric(20,0) NOT NULL,
    node_providers                    bytea[] NOT NULL,
    to_accounts                       bytea[] NOT NULL,
    xdr_permyriad                     numeric(20,0)[] NOT NULL,
    amounts_e8s                       numeric(20,0)[] NOT NULL,
    statuses                          smallint[] NOT NULL,
    block_indexes                     numeric(20,0)[] NOT NULL,
    flow_ids                          numeric(20,0)[] NOT NULL,
    errors                            text[] NOT NULL,
    updated_at_nanos                  numeric(20,0) NOT NULL
);
