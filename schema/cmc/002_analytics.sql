-- Analytics over the cycles minting service's mirror: read-only views in the schema analytics,
-- readable by the NOLOGIN role analyst (as schema/ledger/002_analytics.sql; docs/analytics.md).
-- The cmc may be migrated before or without the ledger, so the role and the schema are created
-- when missing. The views read cmc.* with their owner's rights: analyst needs no right on the
-- cmc schema itself. Days are UTC dates of the round that recorded the row.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'analyst') THEN
        CREATE ROLE analyst NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

CREATE SCHEMA IF NOT EXISTS analytics;

-- Every notification status kept (above the purge horizon).
CREATE VIEW analytics.cmc_notifications AS
SELECT n.block_index,
       n.kind,
       n.status,
       n.refunded,
       n.cycles,
       encode(n.canister_id, 'hex') AS canister_id_hex,
       n.minted,
       n.mint_block_index,
       n.refund_block_index,
       n.reason,
       encode(n.to_account, 'hex') AS to_hash_hex,
       n.memo,
       to_timestamp((n.updated_at_nanos / 1000)::bigint / 1e6) AT TIME ZONE 'UTC' AS updated_at
FROM cmc.notifications n;
COMMENT ON VIEW analytics.cmc_notifications IS
    'cmc: the status of each notified block index (processing, notified_*, not_meaningful_memo)';

-- The ICP/XDR rate history: the first accepted rate of each UTC day.
CREATE VIEW analytics.cmc_rate_history AS
SELECT (to_timestamp(day * 86400) AT TIME ZONE 'UTC')::date AS day,
       timestamp_seconds,
       xdr_permyriad_per_icp,
       xdr_permyriad_per_icp / 10000.0 AS xdr_per_icp
FROM cmc.rate_history;
COMMENT ON VIEW analytics.cmc_rate_history IS
    'cmc: the first accepted ICP/XDR rate of each UTC day (xdr_permyriad_per_icp / 10^4 XDR)';

-- Per UTC day: cycles minted, and ICP burned through the ledger (burns of notified ICP and of
-- the extra refund fees that succeeded).
CREATE VIEW analytics.cmc_daily_minting AS
WITH minted AS (
    SELECT (to_timestamp((at_nanos / 1000)::bigint / 1e6) AT TIME ZONE 'UTC')::date AS day,
           sum(cycles) AS cycles_minted
    FROM cmc.minted GROUP BY 1
), burned AS (
    SELECT (to_timestamp((resolved_at_nanos / 1000)::bigint / 1e6) AT TIME ZONE 'UTC')::date AS day,
           sum(amount_e8s) AS icp_burned_e8s,
           count(*) AS burns
    FROM cmc.intents
    WHERE kind = 'transfer' AND purpose IN ('burn', 'burn_rest') AND ok
    GROUP BY 1
)
SELECT coalesce(m.day, b.day) AS day,
       coalesce(m.cycles_minted, 0)::numeric AS cycles_minted,
       coalesce(b.icp_burned_e8s, 0)::numeric AS icp_burned_e8s,
       coalesce(b.burns, 0) AS burns
FROM minted m FULL JOIN burned b ON m.day = b.day;
COMMENT ON VIEW analytics.cmc_daily_minting IS
    'cmc: per UTC day, cycles minted and ICP burned (e8s) through the ledger';

-- Canisters per subnet, with their cycles.
CREATE VIEW analytics.cmc_canisters_per_subnet AS
SELECT encode(subnet, 'hex') AS subnet_hex,
       count(*) AS canisters,
       sum(cycles)::numeric AS cycles
FROM cmc.canisters
GROUP BY subnet;
COMMENT ON VIEW analytics.cmc_canisters_per_subnet IS
    'cmc: how many canisters the registry holds per subnet, and their cycles';

REVOKE ALL ON SCHEMA cmc FROM analyst;
REVOKE ALL ON ALL TABLES IN SCHEMA cmc FROM analyst;
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
GRANT USAGE ON SCHEMA analytics TO analyst;
GRANT SELECT ON analytics.cmc_notifications, analytics.cmc_rate_history,
    analytics.cmc_daily_minting, analytics.cmc_canisters_per_subnet TO analyst;
