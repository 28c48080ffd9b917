-- Analytics over the governance service's mirror: read-only views in the schema analytics,
-- readable by the NOLOGIN role analyst (as schema/ledger/002_analytics.sql and
-- schema/cmc/002_analytics.sql; docs/analytics.md). Governance may be migrated before or without
-- the ledger, so the role and the schema are created when missing. The views read governance.*
-- with their owner's rights: analyst needs no right on the governance schema itself.
--
-- Conventions: amounts are e8s, sums numeric; days are UTC dates. "Now" (for a neuron's state,
-- remaining dissolve delay and age) is the later of the database's clock and the time of the
-- last round that changed governance's state row, so that a service on a test clock ahead of
-- the wall clock is seen at its own time. The dissolve-delay buckets are
-- analytics.governance_dissolve_delay_buckets.

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

-- Principals in their text form (the IC's: base32 of the CRC-32 of the bytes, big-endian,
-- followed by the bytes, lower case, in groups of five joined by '-'), and back: so that an
-- analyst can show controllers as users know them and find a controller's neurons through the
-- index on (controller, id):
--   SELECT * FROM analytics.governance_neurons
--   WHERE controller = analytics.governance_principal_bytes('rrkah-fqaaa-aaaaa-aaaaq-cai');
-- CRC-32 is the IEEE one (as zlib), bit by bit: principals are at most 29 bytes.
CREATE FUNCTION analytics.governance_principal_text(p bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    alphabet constant text := 'abcdefghijklmnopqrstuvwxyz234567';
    crc bigint := 4294967295;
    data bytea;
    bits bigint := 0;
    nbits int := 0;
    b32 text := '';
    res text := '';
BEGIN
    FOR i IN 0 .. length(p) - 1 LOOP
        crc := crc # get_byte(p, i);
        FOR k IN 1 .. 8 LOOP
            crc := CASE WHEN crc & 1 = 1 THEN (crc >> 1) # 3988292384 ELSE crc >> 1 END;
        END LOOP;
    END LOOP;
    crc := crc # 4294967295;
    data := decode(lpad(to_hex(crc), 8, '0'), 'hex') || p;
    FOR i IN 0 .. length(data) - 1 LOOP
        bits := (bits << 8) | get_byte(data, i);
        nbits := nbits + 8;
        WHILE nbits >= 5 LOOP
            b32 := b32 || substr(alphabet, ((bits >> (nbits - 5)) & 31)::int + 1, 1);
            nbits := nbits - 5;
        END LOOP;
        bits := bits & ((1::bigint << nbits) - 1);
    END LOOP;
    IF nbits > 0 THEN
        b32 := b32 || substr(alphabet, ((bits << (5 - nbits)) & 31)::int + 1, 1);
    END IF;
    FOR i IN 0 .. (length(b32) - 1) / 5 LOOP
        res := res || CASE WHEN i > 0 THEN '-' ELSE '' END || substr(b32, i * 5 + 1, 5);
    END LOOP;
    RETURN res;
END
$$;

-- The bytes of a principal's text; an error when the text is not one (bad characters, wrong
-- check sum, more than 29 bytes).
CREATE FUNCTION analytics.governance_principal_bytes(t text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    alphabet constant text := 'abcdefghijklmnopqrstuvwxyz234567';
    s text := replace(lower(t), '-', '');
    bits bigint := 0;
    nbits int := 0;
    hex text := '';
    v int;
    data bytea;
BEGIN
    FOR i IN 1 .. length(s) LOOP
        v := strpos(alphabet, substr(s, i, 1)) - 1;
        IF v < 0 THEN
            RAISE EXCEPTION 'not a principal: %', t;
        END IF;
        bits := (bits << 5) | v;
        nbits := nbits + 5;
        IF nbits >= 8 THEN
            hex := hex || lpad(to_hex((bits >> (nbits - 8)) & 255), 2, '0');
            nbits := nbits - 8;
            bits := bits & ((1::bigint << nbits) - 1);
        END IF;
    END LOOP;
    data := decode(hex, 'hex');
    IF length(data) < 4 OR length(data) > 33 OR
       analytics.governance_principal_text(substr(data, 5)) <> lower(t) THEN
        RAISE EXCEPTION 'not a principal: %', t;
    END IF;
    RETURN substr(data, 5);
END
$$;

-- The dissolve-delay buckets: [min_seconds, max_seconds), in order. 14 days is the current
-- minimum to vote, 6 months the legacy one and the minimum to propose, 2 years the current
-- maximum, 8 years the legacy maximum (ONE_MONTH = 2 629 800 s, ONE_YEAR = 31 557 600 s).
CREATE VIEW analytics.governance_dissolve_delay_buckets (position, bucket, min_seconds,
                                                         max_seconds) AS
VALUES (1, '0 (dissolved)', 0::numeric, 1::numeric),
       (2, 'under 14 days', 1, 1209600),
       (3, '14 days to 3 months', 1209600, 7889400),
       (4, '3 to 6 months', 7889400, 15778800),
       (5, '6 months to 1 year', 15778800, 31557600),
       (6, '1 to 2 years', 31557600, 63115200),
       (7, '2 to 4 years', 63115200, 126230400),
       (8, '4 to 8 years', 126230400, 252460800),
       (9, '8 years and more', 252460800, 18446744073709551616);
COMMENT ON VIEW analytics.governance_dissolve_delay_buckets IS
    'governance: the dissolve-delay buckets of the stake views, [min_seconds, max_seconds)';

-- Every neuron as of now: state, stake (cached - fees + staked maturity), remaining dissolve
-- delay and age (spec/governance.md 2.1, 2.3).
CREATE VIEW analytics.governance_neurons AS
WITH clock AS (
    SELECT greatest(floor(extract(epoch FROM now()))::numeric,
                    coalesce((SELECT floor(updated_at_nanos / 1e9) FROM governance.state), 0))
               AS now_seconds
)
SELECT n.id AS neuron_id,
       n.controller,
       analytics.governance_principal_text(n.controller) AS controller_text,
       encode(n.controller, 'hex') AS controller_hex,
       CASE WHEN n.spawn_at_timestamp_seconds IS NOT NULL THEN 'spawning'
            WHEN NOT n.dissolving THEN 'not_dissolving'
            WHEN n.when_dissolved_timestamp_seconds > c.now_seconds THEN 'dissolving'
            ELSE 'dissolved' END AS state,
       greatest(n.cached_neuron_stake_e8s - n.neuron_fees_e8s, 0)
           + n.staked_maturity_e8s_equivalent AS stake_e8s,
       n.cached_neuron_stake_e8s,
       n.neuron_fees_e8s,
       n.maturity_e8s_equivalent,
       n.staked_maturity_e8s_equivalent,
       CASE WHEN n.dissolving THEN greatest(n.when_dissolved_timestamp_seconds - c.now_seconds, 0)
            ELSE n.dissolve_delay_seconds END AS dissolve_delay_seconds,
       CASE WHEN n.dissolving THEN 0
            ELSE greatest(c.now_seconds - n.aging_since_timestamp_seconds, 0) END AS age_seconds,
       n.when_dissolved_timestamp_seconds,
       to_timestamp(n.created_timestamp_seconds::double precision) AT TIME ZONE 'UTC'
           AS created_at,
       n.kyc_verified,
       n.not_for_profit,
       n.auto_stake_maturity,
       n.joined_community_fund_timestamp_seconds IS NOT NULL AS in_community_fund,
       n.neuron_type,
       CASE n.visibility WHEN 2 THEN 'public' ELSE 'private' END AS visibility,
       (SELECT count(*) FROM governance.hot_keys h WHERE h.neuron_id = n.id) AS hot_keys,
       (SELECT count(*) FROM governance.followees f WHERE f.neuron_id = n.id) AS followed_topics
FROM governance.neurons n CROSS JOIN clock c;
COMMENT ON VIEW analytics.governance_neurons IS
    'governance: every neuron as of now (state, stake, remaining dissolve delay, age)';

-- Stake by dissolve-delay bucket as of now (every bucket, empty ones with zeros).
CREATE VIEW analytics.governance_stake_by_dissolve_delay AS
SELECT b.position,
       b.bucket,
       b.min_seconds,
       b.max_seconds,
       count(n.neuron_id) AS neurons,
       coalesce(sum(n.stake_e8s), 0) AS stake_e8s,
       coalesce(sum(n.maturity_e8s_equivalent), 0) AS maturity_e8s,
       coalesce(sum(n.staked_maturity_e8s_equivalent), 0) AS staked_maturity_e8s
FROM analytics.governance_dissolve_delay_buckets b
LEFT JOIN analytics.governance_neurons n
       ON n.dissolve_delay_seconds >= b.min_seconds AND n.dissolve_delay_seconds < b.max_seconds
GROUP BY b.position, b.bucket, b.min_seconds, b.max_seconds
ORDER BY b.position;
COMMENT ON VIEW analytics.governance_stake_by_dissolve_delay IS
    'governance: neurons and stake per dissolve-delay bucket, as of now';

-- Stake by state as of now (not_dissolving, dissolving, dissolved, spawning; empty ones too).
CREATE VIEW analytics.governance_stake_by_state AS
SELECT s.state,
       count(n.neuron_id) AS neurons,
       coalesce(sum(n.stake_e8s), 0) AS stake_e8s,
       coalesce(sum(n.cached_neuron_stake_e8s), 0) AS cached_neuron_stake_e8s,
       coalesce(sum(n.neuron_fees_e8s), 0) AS neuron_fees_e8s,
       coalesce(sum(n.maturity_e8s_equivalent), 0) AS maturity_e8s,
       coalesce(sum(n.staked_maturity_e8s_equivalent), 0) AS staked_maturity_e8s
FROM (VALUES (1, 'not_dissolving'), (2, 'dissolving'), (3, 'dissolved'), (4, 'spawning'))
         AS s (position, state)
LEFT JOIN analytics.governance_neurons n ON n.state = s.state
GROUP BY s.position, s.state
ORDER BY s.position;
COMMENT ON VIEW analytics.governance_stake_by_state IS
    'governance: neurons and stake per dissolve state, as of now';

-- Maturity totals: one row.
CREATE VIEW analytics.governance_maturity_totals AS
SELECT (SELECT coalesce(sum(maturity_e8s_equivalent), 0) FROM governance.neurons)
           AS maturity_e8s,
       (SELECT coalesce(sum(staked_maturity_e8s_equivalent), 0) FROM governance.neurons)
           AS staked_maturity_e8s,
       (SELECT count(*) FROM governance.neurons WHERE maturity_e8s_equivalent > 0)
           AS neurons_with_maturity,
       (SELECT count(*) FROM governance.neurons WHERE auto_stake_maturity)
           AS auto_stake_neurons,
       (SELECT count(*) FROM governance.maturity_disbursements) AS disbursements_in_progress,
       (SELECT coalesce(sum(amount_e8s), 0) FROM governance.maturity_disbursements)
           AS disbursing_e8s,
       (SELECT modulation_permyriad FROM governance.state) AS maturity_modulation_permyriad,
       (SELECT modulation_source FROM governance.state) AS maturity_modulation_source;
COMMENT ON VIEW analytics.governance_maturity_totals IS
    'governance: maturity, staked maturity, disbursements in progress (before modulation) and '
    'the modulation in force';

-- Neurons created per UTC day (the neurons that exist, by creation time), with their stake now.
CREATE VIEW analytics.governance_neurons_created_daily AS
SELECT (to_timestamp(created_timestamp_seconds::double precision) AT TIME ZONE 'UTC')::date
           AS day,
       count(*) AS neurons,
       sum(greatest(cached_neuron_stake_e8s - neuron_fees_e8s, 0)
           + staked_maturity_e8s_equivalent) AS stake_e8s
FROM governance.neurons
GROUP BY 1;
COMMENT ON VIEW analytics.governance_neurons_created_daily IS
    'governance: neurons created per UTC day, and their stake now';

-- Every neuron event.
CREATE VIEW analytics.governance_neuron_events AS
SELECT e.seq,
       e.neuron_id,
       e.kind,
       to_timestamp(e.at_seconds::double precision) AT TIME ZONE 'UTC' AS time,
       (to_timestamp(e.at_seconds::double precision) AT TIME ZONE 'UTC')::date AS day,
       e.at_seconds,
       e.amount_e8s,
       e.other_neuron_id,
       e.detail
FROM governance.neuron_events e;
COMMENT ON VIEW analytics.governance_neuron_events IS
    'governance: the neuron event history (created, refreshed, dissolve changes, disbursed, '
    'split, merged, spawned, maturity events, ...)';

-- Every change of a neuron's stake or dissolve state: the neuron as each round that wrote it
-- left it.
CREATE VIEW analytics.governance_neuron_history AS
SELECT h.seq,
       h.neuron_id,
       to_timestamp((h.at_nanos / 1000)::double precision / 1e6) AT TIME ZONE 'UTC' AS time,
       (to_timestamp((h.at_nanos / 1000)::double precision / 1e6) AT TIME ZONE 'UTC')::date
           AS day,
       h.removed,
       h.stake_e8s,
       h.dissolving,
       h.dissolve_delay_seconds,
       h.when_dissolved_timestamp_seconds
FROM governance.neuron_history h;
COMMENT ON VIEW analytics.governance_neuron_history IS
    'governance: each neuron as every round that wrote it left it (stake, dissolve state)';

-- Events per UTC day and kind.
CREATE VIEW analytics.governance_events_daily AS
SELECT (to_timestamp(at_seconds::double precision) AT TIME ZONE 'UTC')::date AS day,
       kind,
       count(*) AS events,
       count(DISTINCT neuron_id) AS neurons,
       sum(amount_e8s) AS amount_e8s
FROM governance.neuron_events
GROUP BY 1, 2;
COMMENT ON VIEW analytics.governance_events_daily IS
    'governance: neuron events per UTC day and kind (count, distinct neurons, amounts)';

-- Stake by dissolve delay over time, from the stake history: at the end of each UTC day from the
-- first round on, the stake and the neurons of each bucket, every neuron counted in the bucket
-- of the last round that wrote it so far. A neuron that is dissolving is counted in the bucket
-- 'dissolving' (its remaining delay shrinks every day without a round); a removed or empty
-- neuron in none.
CREATE VIEW analytics.governance_stake_by_dissolve_delay_daily AS
WITH snaps AS (
    SELECT h.seq,
           h.neuron_id,
           (to_timestamp((h.at_nanos / 1000)::double precision / 1e6) AT TIME ZONE 'UTC')::date
               AS day,
           h.stake_e8s,
           CASE WHEN h.stake_e8s = 0 THEN NULL
                WHEN h.dissolving THEN 'dissolving'
                ELSE (SELECT b.bucket FROM analytics.governance_dissolve_delay_buckets b
                      WHERE h.dissolve_delay_seconds >= b.min_seconds
                        AND h.dissolve_delay_seconds < b.max_seconds) END AS bucket
    FROM governance.neuron_history h
), steps AS (
    SELECT day, bucket, stake_e8s,
           lag(bucket) OVER w AS prev_bucket,
           lag(stake_e8s) OVER w AS prev_stake
    FROM snaps
    WINDOW w AS (PARTITION BY neuron_id ORDER BY seq)
), changes AS (
    SELECT day, bucket, stake_e8s AS stake_delta, 1 AS neuron_delta
    FROM steps WHERE bucket IS NOT NULL
    UNION ALL
    SELECT day, prev_bucket, -prev_stake, -1
    FROM steps WHERE prev_bucket IS NOT NULL
), daily AS (
    SELECT day, bucket, sum(stake_delta) AS stake_delta, sum(neuron_delta) AS neuron_delta
    FROM changes GROUP BY day, bucket
), days AS (
    SELECT generate_series(min(day), max(day), interval '1 day')::date AS day FROM daily
), buckets AS (
    SELECT position, bucket FROM analytics.governance_dissolve_delay_buckets
    UNION ALL SELECT 0, 'dissolving'
)
SELECT d.day,
       b.position,
       b.bucket,
       sum(coalesce(x.neuron_delta, 0)) OVER w AS neurons,
       sum(coalesce(x.stake_delta, 0)) OVER w AS stake_e8s
FROM days d
CROSS JOIN buckets b
LEFT JOIN daily x ON x.day = d.day AND x.bucket = b.bucket
WINDOW w AS (PARTITION BY b.bucket ORDER BY d.day);
COMMENT ON VIEW analytics.governance_stake_by_dissolve_delay_daily IS
    'governance: per UTC day and dissolve-delay bucket (dissolving neurons apart), the neurons '
    'and their stake at the end of the day, from the event history';

REVOKE ALL ON SCHEMA governance FROM analyst;
REVOKE ALL ON ALL TABLES IN SCHEMA governance FROM analyst;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA governance FROM analyst;
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
GRANT USAGE ON SCHEMA analytics TO analyst;
GRANT EXECUTE ON FUNCTION analytics.governance_principal_text(bytea),
    analytics.governance_principal_bytes(text) TO analyst;
GRANT SELECT ON analytics.governance_dissolve_delay_buckets, analytics.governance_neurons,
    analytics.governance_stake_by_dissolve_delay, analytics.governance_stake_by_state,
    analytics.governance_maturity_totals, analytics.governance_neurons_created_daily,
    analytics.governance_neuron_events, analytics.governance_neuron_history,
    analytics.governance_events_daily,
    analytics.governance_stake_by_dissolve_delay_daily TO analyst;
