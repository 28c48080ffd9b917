-- The ledger's mirror: every block (raw protobuf bytes and decoded columns), balances, the
-- per-account history index, the owners of accounts seen in requests, the chain counters and
-- the replay cache. Accounts are the 28-byte account hashes; u64 amounts are numeric(20,0).
CREATE SCHEMA IF NOT EXISTS ledger;

CREATE TABLE ledger.blocks (
    height                  bigint PRIMARY KEY CHECK (height >= 0),
    hash                    bytea NOT NULL CHECK (length(hash) = 32),
    parent_hash             bytea CHECK (length(parent_hash) = 32),
    timestamp_nanos         bigint NOT NULL,
    tx_hash                 bytea NOT NULL CHECK (length(tx_hash) = 32),
    op_type                 text NOT NULL CHECK (op_type IN ('transfer', 'mint', 'burn', 'approve')),
    from_account            bytea,
    to_account              bytea,
    spender_account         bytea,
    amount_e8s              numeric(20, 0),
    fee_e8s                 numeric(20, 0),
    allowance_e8s           numeric(20, 0),
    expected_allowance_e8s  numeric(20, 0),
    expires_at_nanos        numeric(20, 0),
    memo                    numeric(20, 0) NOT NULL,
    icrc1_memo              bytea,
    created_at_time_nanos   numeric(20, 0),
    raw                     bytea NOT NULL
);
CREATE INDEX blocks_tx_hash ON ledger.blocks (tx_hash);
CREATE INDEX blocks_timestamp ON ledger.blocks (timestamp_nanos);

-- One row per (account, block) the block names as from, to or spender: the ICP index's
-- per-account history, read newest first by keyset.
CREATE TABLE ledger.account_history (
    account bytea NOT NULL,
    height  bigint NOT NULL,
    PRIMARY KEY (account, height)
);

CREATE TABLE ledger.balances (
    account            bytea PRIMARY KEY CHECK (length(account) = 28),
    balance_e8s        numeric(20, 0) NOT NULL CHECK (balance_e8s >= 0),
    transaction_count  bigint NOT NULL
);

-- Owner and subaccount of accounts whose preimage the ledger has seen (senders, ICRC-1
-- recipients, genesis accounts given as ICRC-1 text): serves a principal's account list.
CREATE TABLE ledger.account_owners (
    account     bytea PRIMARY KEY,
    owner       bytea NOT NULL,
    subaccount  bytea NOT NULL
);
CREATE INDEX account_owners_owner ON ledger.account_owners (owner);

CREATE TABLE ledger.chain (
    id                   int PRIMARY KEY CHECK (id = 1),
    chain_length         bigint NOT NULL,
    tip_hash             bytea,
    tip_timestamp_nanos  bigint NOT NULL,
    minted_e8s           numeric(20, 0) NOT NULL,
    burned_e8s           numeric(20, 0) NOT NULL,
    fees_burned_e8s      numeric(20, 0) NOT NULL
);

CREATE TABLE ledger.replay_cache (
    key           bytea PRIMARY KEY,
    expiry_nanos  bigint NOT NULL,
    status        int NOT NULL,
    body          text NOT NULL
);
CREATE INDEX replay_cache_expiry ON ledger.replay_cache (expiry_nanos);

-- The deduplication window: transactions that carried created_at_time, within the last 24 h
-- (the default window) plus the permitted drift, by the database clock.
CREATE VIEW ledger.dedup_window AS
SELECT tx_hash, height, timestamp_nanos, created_at_time_nanos
FROM ledger.blocks
WHERE created_at_time_nanos IS NOT NULL
  AND timestamp_nanos >= (extract(epoch FROM now()) * 1e9)::bigint - (86400 + 60) * 1000000000::bigint;
