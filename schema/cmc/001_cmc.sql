-- The cycles minting service's mirror (services/cmc/store.c writes it, one transaction per
-- round). The state lives in memory (services/cmc/cmc.h); these tables hold exactly what
-- committed and are read back only at start. u64 values are numeric(20,0), cycles (u128)
-- numeric(39,0), principals and accounts their raw bytes.

CREATE SCHEMA cmc;

-- Counters, the current rate, the 30-day average, the modulation and the 60-slot daily cache
-- (cache_timestamps[i], cache_rates[i] = slot i). One row.
CREATE TABLE cmc.state (
    id                       int PRIMARY KEY CHECK (id = 1),
    rate_timestamp_seconds   numeric(20,0) NOT NULL,
    xdr_permyriad_per_icp    numeric(20,0) NOT NULL,
    has_average              boolean NOT NULL,
    average_timestamp_seconds numeric(20,0) NOT NULL,
    average_xdr_permyriad_per_icp numeric(20,0) NOT NULL,
    maturity_modulation      int NOT NULL,
    cache_timestamps         numeric(20,0)[] NOT NULL,
    cache_rates              numeric(20,0)[] NOT NULL,
    last_purged_notification numeric(20,0) NOT NULL,
    total_cycles_minted      numeric(39,0) NOT NULL,
    held_cycles              numeric(39,0) NOT NULL,
    next_intent_id           numeric(20,0) NOT NULL,
    last_created_at          numeric(20,0) NOT NULL,
    cycles_ledger_blocks     numeric(20,0) NOT NULL,
    next_range               numeric(20,0) NOT NULL,
    limiter_rejects          numeric(20,0) NOT NULL,
    updated_at_nanos         numeric(20,0) NOT NULL
);

-- The daily rate history: the first accepted rate of each UTC day.
CREATE TABLE cmc.rate_history (
    day                   bigint PRIMARY KEY,
    timestamp_seconds     numeric(20,0) NOT NULL,
    xdr_permyriad_per_icp numeric(20,0) NOT NULL
);

-- Every accepted rate (who set it, when), for analytics.
CREATE TABLE cmc.rates (
    timestamp_seconds     numeric(20,0) PRIMARY KEY,
    xdr_permyriad_per_icp numeric(20,0) NOT NULL,
    source                text NOT NULL,
    set_at_nanos          numeric(20,0) NOT NULL
);

-- The minting limiters (which: 0 base, 1 Subnet Rental): windows[i] holds counts[i] cycles.
CREATE TABLE cmc.limiters (
    which       int PRIMARY KEY,
    resolution  numeric(20,0) NOT NULL,
    max_age     numeric(20,0) NOT NULL,
    total       numeric(39,0) NOT NULL,
    windows     numeric(20,0)[] NOT NULL,
    counts      numeric(39,0)[] NOT NULL
);

-- The status record of each block index notified (above the purge horizon).
CREATE TABLE cmc.notifications (
    block_index        numeric(20,0) PRIMARY KEY,
    status             text NOT NULL CHECK (status IN ('processing', 'notified_top_up',
                         'notified_create_canister', 'notified_mint', 'not_meaningful_memo')),
    kind               text NOT NULL CHECK (kind IN ('top_up', 'create_canister', 'mint_cycles')),
    to_account         bytea,           -- the block's checked destination (28-byte hash)
    memo               numeric(20,0),   -- the block's effective memo
    refunded           boolean NOT NULL DEFAULT false,
    cycles             numeric(39,0),
    canister_id        bytea,
    mint_block_index   numeric(20,0),
    minted             numeric(39,0),
    balance            numeric(39,0),
    refund_block_index numeric(20,0),
    reason             text,
    updated_at_nanos   numeric(20,0) NOT NULL
);

-- Notifications in flight: every field of the state machine's cmc_pending_t (cmc.h) and of the
-- notify arguments it carries, one column each, read back field by field at start.
-- The arguments: caller; canister_id (top_up); controller, subnet_type (the deprecated argument),
-- subnet_selection ('subnet' with selection_subnet, or 'filter' with an optional
-- selection_subnet_type), has_settings and settings_controllers (principal texts; NULL when the
-- settings named no controllers) (create_canister); to_subaccount and deposit_memo (mint_cycles).
-- The block (NULL while phase = 'fetch'): from_account, to_account (28-byte hashes), memo (the
-- effective memo), amount_e8s. Then extra_fee_e8s (burned after a refund), auto_refund (the
-- refund of a memo that means nothing), cycles, subnet (create_canister: the chosen subnet, NULL
-- until chosen) and reason (a refund's reason, NULL when none).
CREATE TABLE cmc.pending (
    block_index           numeric(20,0) PRIMARY KEY,
    kind                  text NOT NULL CHECK (kind IN ('top_up', 'create_canister', 'mint_cycles')),
    phase                 text NOT NULL CHECK (phase IN ('fetch', 'burn', 'refund')),
    intent_id             numeric(20,0) NOT NULL,
    caller                bytea NOT NULL,
    canister_id           bytea,
    controller            bytea,
    subnet_type           text,
    subnet_selection      text CHECK (subnet_selection IN ('subnet', 'filter')),
    selection_subnet      bytea,
    selection_subnet_type text,
    has_settings          boolean NOT NULL,
    settings_controllers  text[],
    to_subaccount         bytea CHECK (length(to_subaccount) = 32),
    deposit_memo          bytea CHECK (length(deposit_memo) <= 32),
    from_account          bytea CHECK (length(from_account) = 28),
    to_account            bytea CHECK (length(to_account) = 28),
    memo                  numeric(20,0),
    amount_e8s            numeric(20,0),
    extra_fee_e8s         numeric(20,0) NOT NULL,
    auto_refund           boolean NOT NULL,
    cycles                numeric(39,0) NOT NULL,
    subnet                bytea,
    reason                text,
    CHECK ((kind = 'top_up') = (canister_id IS NOT NULL)),
    CHECK ((kind = 'create_canister') = (controller IS NOT NULL)),
    CHECK (kind = 'create_canister' OR (subnet_type IS NULL AND subnet_selection IS NULL
                                        AND NOT has_settings AND subnet IS NULL)),
    CHECK ((subnet_selection IS NOT DISTINCT FROM 'subnet') = (selection_subnet IS NOT NULL)),
    CHECK (selection_subnet_type IS NULL OR subnet_selection = 'filter'),
    CHECK (settings_controllers IS NULL OR has_settings),
    CHECK (kind = 'mint_cycles' OR (to_subaccount IS NULL AND deposit_memo IS NULL)),
    CHECK ((phase = 'fetch') = (from_account IS NULL) AND (phase = 'fetch') = (to_account IS NULL)
           AND (phase = 'fetch') = (memo IS NULL) AND (phase = 'fetch') = (amount_e8s IS NULL))
);

-- The outbox: calls to the ledger, every field fixed when the round recorded them. Unresolved
-- ones (resolved_at_nanos NULL) are submitted again at start.
CREATE TABLE cmc.intents (
    id                 numeric(20,0) PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('fetch_block', 'transfer')),
    purpose            text NOT NULL CHECK (purpose IN ('none', 'burn', 'refund', 'burn_rest')),
    block_index        numeric(20,0) NOT NULL,
    from_subaccount    bytea NOT NULL,
    to_account         bytea NOT NULL,
    amount_e8s         numeric(20,0) NOT NULL,
    fee_e8s            numeric(20,0) NOT NULL,
    memo               numeric(20,0) NOT NULL,
    created_at_time    numeric(20,0) NOT NULL,
    recorded_at_nanos  numeric(20,0) NOT NULL,
    resolved_at_nanos  numeric(20,0),
    ok                 boolean,          -- a transfer's outcome
    ledger_block_index numeric(20,0)     -- a transfer's block
);
CREATE INDEX intents_unresolved ON cmc.intents (id) WHERE resolved_at_nanos IS NULL;

-- The registry of canisters (Decision 1 of spec/cmc.md).
CREATE TABLE cmc.canisters (
    canister_id      bytea PRIMARY KEY,
    subnet           bytea NOT NULL,
    controllers      text[] NOT NULL,  -- principal texts
    cycles           numeric(39,0) NOT NULL,
    created_at_nanos numeric(20,0) NOT NULL
);

-- Cycles-ledger accounts.
CREATE TABLE cmc.cycles_accounts (
    owner      bytea NOT NULL,
    subaccount bytea NOT NULL,
    balance    numeric(39,0) NOT NULL,
    PRIMARY KEY (owner, subaccount)
);

-- Subnet bookkeeping, replaced whole when a round changes it: rows (kind default, authorized,
-- typed, type) and the canister-id range of each subnet.
CREATE TABLE cmc.subnet_rows (
    position int PRIMARY KEY,
    kind     text NOT NULL CHECK (kind IN ('default', 'authorized', 'typed', 'type')),
    who      bytea,
    type     text,
    subnet   bytea
);
CREATE TABLE cmc.subnet_ranges (
    subnet bytea PRIMARY KEY,
    range  numeric(20,0) NOT NULL,
    next   numeric(20,0) NOT NULL
);

-- Cycles minted, one row per round that minted.
CREATE TABLE cmc.minted (
    at_nanos numeric(20,0) NOT NULL,
    cycles   numeric(39,0) NOT NULL
);
CREATE INDEX minted_at ON cmc.minted (at_nanos);

-- Committed answers to signed writes, as the ledger's.
CREATE TABLE cmc.replay_cache (
    key           bytea PRIMARY KEY,
    expiry_nanos  bigint NOT NULL,
    status        int NOT NULL,
    body          text NOT NULL
);
CREATE INDEX replay_cache_expiry ON cmc.replay_cache (expiry_nanos);
