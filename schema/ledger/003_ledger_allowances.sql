-- ICRC-2 allowances: the current allowance of each (owner, spender) pair. A row with amount 0
-- is a removed allowance; expires_at_nanos is NULL when the allowance does not expire.
CREATE TABLE ledger.allowances (
    owner_account     bytea NOT NULL,
    spender_account   bytea NOT NULL,
    allowance_e8s     numeric(20, 0) NOT NULL,
    expires_at_nanos  numeric(20, 0),
    PRIMARY KEY (owner_account, spender_account)
);
