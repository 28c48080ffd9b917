-- Cheaper writes on the hot path (each round appends thousands of rows):
-- * block timestamps grow with the height, so a BRIN index serves time ranges at a fraction of
--   a B-tree's insert cost and size;
-- * the replay cache is only ever read whole at start (the service keeps it in memory) and
--   purged by expiry, so it needs no unique index on its random keys (the service never writes
--   a key twice), and a BRIN index on the nearly increasing expiry serves the purge;
-- * balances are updated in place: free space in each page keeps those updates HOT.
DROP INDEX ledger.blocks_timestamp;
CREATE INDEX blocks_timestamp ON ledger.blocks USING brin (timestamp_nanos);

ALTER TABLE ledger.replay_cache DROP CONSTRAINT replay_cache_pkey;
DROP INDEX ledger.replay_cache_expiry;
CREATE INDEX replay_cache_expiry ON ledger.replay_cache USING brin (expiry_nanos);

ALTER TABLE ledger.balances SET (fillfactor = 80);
