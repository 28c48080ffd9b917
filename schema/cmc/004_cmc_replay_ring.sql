-- cmc.replay_cache becomes the ring of 24 partitions by expiry that the purge empties a slot at
-- a time with TRUNCATE (docs/architecture.md section 7; the function: services/common/db.c).
SELECT public.nns_replay_ring('cmc');
