-- Analytics: read-only views over the ledger's mirror for analysts, and the NOLOGIN role
-- `analyst` that may read them and nothing else. Plain views (no materialisation): every query
-- sees the blocks committed so far. The views read ledger.* with the rights of their owner (the
-- role that ran this migration), so analyst needs no right on the ledger schema itself.
--
-- Conventions:
--   * amounts are e8s; sums are numeric (a day's volume can exceed 2^64 e8s);
--   * days are UTC dates; a block's time is its timestamp truncated to the microsecond,
--     to_timestamp(timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC' (integer division first, so
--     the last nanoseconds of a day never round up into the next day);
--   * accounts are shown as account_hash_hex (hex of the 28-byte account hash, as stored) and,
--     where cheap, account_identifier (the 64-hex account identifier: big-endian CRC-32 of the
--     hash followed by the hash, computed by analytics.account_identifier below);
--   * the supply counts mints and burns by amount, and the fees of transfers and approvals as
--     burned: the same rules as the ledger's counters in ledger.chain.
--
-- Operators give a person access by creating a login role that is a member of analyst, e.g.
--     CREATE ROLE alice LOGIN PASSWORD 'choose-a-password' IN ROLE analyst;
-- (or GRANT analyst TO an existing role). Members inherit analyst's rights: USAGE on schema
-- analytics, SELECT on its views and EXECUTE on its helper function. Better still, point them at
-- a read replica (roles replicate with the cluster). See docs/analytics.md.
--
-- Roles are cluster-wide: another database of the cluster may already have created analyst, so
-- the role is created only when missing. Creating it needs CREATEROLE; a service whose database
-- user lacks it starts once an operator has run `CREATE ROLE analyst NOLOGIN` beforehand.
-- Not revocable per role: PostgreSQL grants TEMPORARY on each database and USAGE on schema public
-- to PUBLIC (every role), so an analyst can create temporary tables in its own session; revoke
-- TEMPORARY from PUBLIC on the database if that matters. CREATE on schema public is revoked from
-- PUBLIC by default since PostgreSQL 15 (on older servers: REVOKE CREATE ON SCHEMA public FROM
-- PUBLIC).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'analyst') THEN
        CREATE ROLE analyst NOLOGIN;
    END IF;
EXCEPTION
    -- another database's migration created it between our check and our CREATE
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- IF NOT EXISTS: another service (the cmc) may have created it first in this database. Editing
-- this applied migration is safe: migrations are recorded by name and never run twice.
CREATE SCHEMA IF NOT EXISTS analytics;
COMMENT ON SCHEMA analytics IS
    'Read-only views over the ledger mirror for analysts (role analyst); see docs/analytics.md';

-- The 64-hex account identifier of a 28-byte account hash: CRC-32 (IEEE, as zlib) of the hash,
-- big-endian, followed by the hash, lower-case hex. Table-driven, one step per byte.
CREATE FUNCTION analytics.account_identifier(account_hash bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    WITH RECURSIVE crc (i, c) AS (
        SELECT 0, 4294967295::bigint
        UNION ALL
        SELECT i + 1, (c >> 8) # ('{
        0,1996959894,3993919788,2567524794,124634137,1886057615,3915621685,2657392035,
        249268274,2044508324,3772115230,2547177864,162941995,2125561021,3887607047,2428444049,
        498536548,1789927666,4089016648,2227061214,450548861,1843258603,4107580753,2211677639,
        325883990,1684777152,4251122042,2321926636,335633487,1661365465,4195302755,2366115317,
        997073096,1281953886,3579855332,2724688242,1006888145,1258607687,3524101629,2768942443,
        901097722,1119000684,3686517206,2898065728,853044451,1172266101,3705015759,2882616665,
        651767980,1373503546,3369554304,3218104598,565507253,1454621731,3485111705,3099436303,
        671266974,1594198024,3322730930,2970347812,795835527,1483230225,3244367275,3060149565,
        1994146192,31158534,2563907772,4023717930,1907459465,112637215,2680153253,3904427059,
        2013776290,251722036,2517215374,3775830040,2137656763,141376813,2439277719,3865271297,
        1802195444,476864866,2238001368,4066508878,1812370925,453092731,2181625025,4111451223,
        1706088902,314042704,2344532202,4240017532,1658658271,366619977,2362670323,4224994405,
        1303535960,984961486,2747007092,3569037538,1256170817,1037604311,2765210733,3554079995,
        1131014506,879679996,2909243462,3663771856,1141124467,855842277,2852801631,3708648649,
        1342533948,654459306,3188396048,3373015174,1466479909,544179635,3110523913,3462522015,
        1591671054,702138776,2966460450,3352799412,1504918807,783551873,3082640443,3233442989,
        3988292384,2596254646,62317068,1957810842,3939845945,2647816111,81470997,1943803523,
        3814918930,2489596804,225274430,2053790376,3826175755,2466906013,167816743,2097651377,
        4027552580,2265490386,503444072,1762050814,4150417245,2154129355,426522225,1852507879,
        4275313526,2312317920,282753626,1742555852,4189708143,2394877945,397917763,1622183637,
        3604390888,2714866558,953729732,1340076626,3518719985,2797360999,1068828381,1219638859,
        3624741850,2936675148,906185462,1090812512,3747672003,2825379669,829329135,1181335161,
        3412177804,3160834842,628085408,1382605366,3423369109,3138078467,570562233,1426400815,
        3317316542,2998733608,733239954,1555261956,3268935591,3050360625,752459403,1541320221,
        2607071920,3965973030,1969922972,40735498,2617837225,3943577151,1913087877,83908371,
        2512341634,3803740692,2075208622,213261112,2463272603,3855990285,2094854071,198958881,
        2262029012,4057260610,1759359992,534414190,2176718541,4139329115,1873836001,414664567,
        2282248934,4279200368,1711684554,285281116,2405801727,4167216745,1634467795,376229701,
        2685067896,3608007406,1308918612,956543938,2808555105,3495958263,1231636301,1047427035,
        2932959818,3654703836,1088359270,936918000,2847714899,3736837829,1202900863,817233897,
        3183342108,3401237130,1404277552,615818150,3134207493,3453421203,1423857449,601450431,
        3009837614,3294710456,1567103746,711928724,3020668471,3272380065,1510334235,755167117
        }'::bigint[])[((c # get_byte(account_hash, i)) & 255) + 1]
        FROM crc
        WHERE i < length(account_hash)
    )
    SELECT lpad(to_hex(c # 4294967295), 8, '0') || encode(account_hash, 'hex')
    FROM crc
    WHERE i = length(account_hash)
$$;
COMMENT ON FUNCTION analytics.account_identifier(bytea) IS
    '64-hex account identifier (CRC-32 big-endian || hash) of a 28-byte account hash';

-- One row per block, decoded: the base of ad-hoc questions.
CREATE VIEW analytics.transactions AS
SELECT b.height,
       to_timestamp(b.timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC' AS time,
       (to_timestamp(b.timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC')::date AS day,
       b.timestamp_nanos,
       b.op_type,
       encode(b.from_account, 'hex') AS from_hash_hex,
       encode(b.to_account, 'hex') AS to_hash_hex,
       encode(b.spender_account, 'hex') AS spender_hash_hex,
       b.amount_e8s,
       b.fee_e8s,
       b.allowance_e8s,
       b.memo,
       encode(b.icrc1_memo, 'hex') AS icrc1_memo_hex,
       b.created_at_time_nanos,
       encode(b.hash, 'hex') AS block_hash_hex,
       encode(b.tx_hash, 'hex') AS tx_hash_hex
FROM ledger.blocks b;
COMMENT ON VIEW analytics.transactions IS
    'Every block, decoded; times in UTC, accounts as hex of the 28-byte hash';

-- Per UTC day and operation: how many blocks, the amounts they moved and the fees they paid.
CREATE VIEW analytics.daily_volume AS
SELECT (to_timestamp(timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC')::date AS day,
       op_type,
       count(*) AS transaction_count,
       coalesce(sum(amount_e8s), 0)::numeric AS amount_e8s,
       coalesce(sum(fee_e8s), 0)::numeric AS fees_e8s
FROM ledger.blocks
GROUP BY 1, 2;
COMMENT ON VIEW analytics.daily_volume IS
    'Per UTC day and op_type: block count, sum of amounts, sum of fees (e8s)';

-- Per UTC day: distinct accounts that sent (from: transfers, burns, approvals) or received (to:
-- transfers, mints). The minting account never appears (mints and burns do not name it).
CREATE VIEW analytics.active_accounts_daily AS
WITH named AS (
    SELECT (to_timestamp(timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC')::date AS day,
           from_account AS account, true AS sent
    FROM ledger.blocks
    WHERE from_account IS NOT NULL
    UNION ALL
    SELECT (to_timestamp(timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC')::date,
           to_account, false
    FROM ledger.blocks
    WHERE to_account IS NOT NULL
)
SELECT day,
       count(DISTINCT account) AS active_accounts,
       count(DISTINCT account) FILTER (WHERE sent) AS sending_accounts,
       count(DISTINCT account) FILTER (WHERE NOT sent) AS receiving_accounts
FROM named
GROUP BY day;
COMMENT ON VIEW analytics.active_accounts_daily IS
    'Per UTC day: distinct accounts that sent or received, and each side alone';

-- Every account with its balance, ranked by balance: rank 1 is the largest, equal balances are
-- ordered by account hash, so `WHERE rank <= 20` is exactly 20 rows. The identifier is computed
-- in the outer query, after that filter: only 20 of them are computed.
CREATE VIEW analytics.top_accounts AS
SELECT r.rank,
       encode(r.account, 'hex') AS account_hash_hex,
       analytics.account_identifier(r.account) AS account_identifier,
       r.balance_e8s,
       r.transaction_count
FROM (
    SELECT account, balance_e8s, transaction_count,
           row_number() OVER (ORDER BY balance_e8s DESC, account) AS rank
    FROM ledger.balances
) r;
COMMENT ON VIEW analytics.top_accounts IS
    'Accounts ranked by balance; account_identifier is the 64-hex form';

-- Per UTC day from the first block's day to the last's (days without blocks included): minted,
-- burned, fees burned, the net change and the total supply at the end of the day.
CREATE VIEW analytics.supply_daily AS
WITH daily AS (
    SELECT (to_timestamp(timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC')::date AS day,
           coalesce(sum(amount_e8s) FILTER (WHERE op_type = 'mint'), 0)::numeric AS minted_e8s,
           coalesce(sum(amount_e8s) FILTER (WHERE op_type = 'burn'), 0)::numeric AS burned_e8s,
           coalesce(sum(fee_e8s) FILTER (WHERE op_type IN ('transfer', 'approve')), 0)::numeric
               AS fees_burned_e8s
    FROM ledger.blocks
    GROUP BY 1
), days AS (
    SELECT generate_series(min(day)::timestamp, max(day)::timestamp, interval '1 day')::date AS day
    FROM daily
), filled AS (
    SELECT d.day,
           coalesce(x.minted_e8s, 0) AS minted_e8s,
           coalesce(x.burned_e8s, 0) AS burned_e8s,
           coalesce(x.fees_burned_e8s, 0) AS fees_burned_e8s
    FROM days d
    LEFT JOIN daily x ON x.day = d.day
)
SELECT day,
       minted_e8s,
       burned_e8s,
       fees_burned_e8s,
       minted_e8s - burned_e8s - fees_burned_e8s AS net_change_e8s,
       sum(minted_e8s) OVER w AS cumulative_minted_e8s,
       sum(burned_e8s) OVER w AS cumulative_burned_e8s,
       sum(fees_burned_e8s) OVER w AS cumulative_fees_burned_e8s,
       sum(minted_e8s - burned_e8s - fees_burned_e8s) OVER w AS total_supply_e8s
FROM filled
WINDOW w AS (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
COMMENT ON VIEW analytics.supply_daily IS
    'Per UTC day: minted, burned, fees burned, and the total supply at the end of the day';

-- Per UTC day (days without blocks included): the fees transfers and approvals burned, how many
-- blocks paid them, and the running total.
CREATE VIEW analytics.fees_burned_daily AS
WITH daily AS (
    SELECT (to_timestamp(timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE op_type IN ('transfer', 'approve')) AS fee_paying_transactions,
           coalesce(sum(fee_e8s) FILTER (WHERE op_type IN ('transfer', 'approve')), 0)::numeric
               AS fees_burned_e8s
    FROM ledger.blocks
    GROUP BY 1
), days AS (
    SELECT generate_series(min(day)::timestamp, max(day)::timestamp, interval '1 day')::date AS day
    FROM daily
)
SELECT d.day,
       coalesce(x.fee_paying_transactions, 0) AS fee_paying_transactions,
       coalesce(x.fees_burned_e8s, 0) AS fees_burned_e8s,
       sum(coalesce(x.fees_burned_e8s, 0))
           OVER (ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
           AS cumulative_fees_burned_e8s
FROM days d
LEFT JOIN daily x ON x.day = d.day;
COMMENT ON VIEW analytics.fees_burned_daily IS
    'Per UTC day: fees burned, the blocks that paid them, and the running total';

-- Transfers ranked by amount: rank 1 is the largest, equal amounts by height (earlier first).
CREATE VIEW analytics.largest_transfers AS
SELECT row_number() OVER (ORDER BY b.amount_e8s DESC, b.height) AS rank,
       b.height,
       to_timestamp(b.timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC' AS time,
       encode(b.from_account, 'hex') AS from_hash_hex,
       encode(b.to_account, 'hex') AS to_hash_hex,
       b.amount_e8s,
       b.fee_e8s,
       b.memo
FROM ledger.blocks b
WHERE b.op_type = 'transfer';
COMMENT ON VIEW analytics.largest_transfers IS
    'Transfers ranked by amount; filter with WHERE rank <= N';

-- Each account's balance after every block that named it (from, to or spender), with the
-- block's effect on it. Reads the per-account history index: filter on the raw `account` column,
-- `WHERE account = decode('<hash hex>', 'hex')`, to read one account through the index (a filter
-- on account_hash_hex works too, but scans the whole history).
CREATE VIEW analytics.account_balance_history AS
SELECT h.account,
       encode(h.account, 'hex') AS account_hash_hex,
       b.height,
       to_timestamp(b.timestamp_nanos / 1000 / 1e6) AT TIME ZONE 'UTC' AS time,
       b.op_type,
       CASE WHEN b.op_type IN ('mint', 'transfer') AND b.to_account = h.account
            THEN b.amount_e8s ELSE 0 END
       - CASE WHEN b.op_type IN ('burn', 'transfer', 'approve') AND b.from_account = h.account
              THEN coalesce(b.amount_e8s, 0) + coalesce(b.fee_e8s, 0) ELSE 0 END
           AS delta_e8s,
       sum(CASE WHEN b.op_type IN ('mint', 'transfer') AND b.to_account = h.account
                THEN b.amount_e8s ELSE 0 END
           - CASE WHEN b.op_type IN ('burn', 'transfer', 'approve') AND b.from_account = h.account
                  THEN coalesce(b.amount_e8s, 0) + coalesce(b.fee_e8s, 0) ELSE 0 END)
           OVER (PARTITION BY h.account ORDER BY b.height
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS balance_e8s
FROM ledger.account_history h
JOIN ledger.blocks b ON b.height = h.height;
COMMENT ON VIEW analytics.account_balance_history IS
    'Per account and block that named it: the change and the balance after it; filter on account';

-- Privileges: analyst reads analytics and nothing else. It was never granted anything on the
-- ledger schema or on public's tables; the revokes below say so explicitly (and undo any grant
-- an operator may have made by hand).
REVOKE ALL ON SCHEMA ledger FROM analyst;
REVOKE ALL ON ALL TABLES IN SCHEMA ledger FROM analyst;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA ledger FROM analyst;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ledger FROM analyst;
REVOKE ALL ON TABLE public.nns_schema_migrations FROM analyst;
REVOKE CREATE ON SCHEMA public FROM analyst;

REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
GRANT USAGE ON SCHEMA analytics TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO analyst;
GRANT EXECUTE ON FUNCTION analytics.account_identifier(bytea) TO analyst;
-- Views (and functions) the role running later migrations adds to analytics are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO analyst;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT EXECUTE ON FUNCTIONS TO analyst;
