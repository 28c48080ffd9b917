-- The replay rows as a ring of 24 partitions, one per 30 s of expiry: a row's slot is
-- (expiry_nanos / 30 s) mod 24, held by the table replay_cache_NN (replay_cache_00 to _23).
-- An expiry is at most 5 minutes ahead, so at any time 12 slots hold only expired rows, and
-- the service's purge empties those with a TRUNCATE instead of deleting rows one by one
-- (services/common/db.h: DB_REPLAY_SLOT_NANOS and DB_REPLAY_SLOTS, which match the numbers
-- here). The rows not yet expired are carried over.
ALTER TABLE cmc.replay_cache RENAME TO replay_cache_before_ring;
CREATE TABLE cmc.replay_cache (
    key           bytea NOT NULL,
    expiry_nanos  bigint NOT NULL CHECK (expiry_nanos >= 0),
    status        int NOT NULL,
    body          text NOT NULL
) PARTITION BY LIST ((expiry_nanos / 30000000000 % 24));
DO $$
BEGIN
    FOR slot IN 0..23 LOOP
        EXECUTE format('CREATE TABLE cmc.%I PARTITION OF cmc.replay_cache FOR VALUES IN (%s)',
                       'replay_cache_' || lpad(slot::text, 2, '0'), slot);
    END LOOP;
END $$;
INSERT INTO cmc.replay_cache (key, expiry_nanos, status, body)
SELECT key, expiry_nanos, status, body FROM cmc.replay_cache_before_ring
WHERE expiry_nanos >= (extract(epoch FROM now()) * 1e9)::bigint;
DROP TABLE cmc.replay_cache_before_ring;
