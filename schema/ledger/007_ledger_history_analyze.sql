-- ledger.blocks and ledger.account_history only grow, and the service reads them by key
-- (height, account, transaction hash), so the shape of their rows, which planner statistics
-- describe, hardly moves as they grow; their row counts are kept current by the vacuums that
-- inserts trigger. Autovacuum analyzed each table after a tenth more rows: at 10 million blocks
-- and 11,500 transfers a second, every 90 s, each time reading a sample of 30,000 random pages
-- (about 200 MB a table), and the commits of that second waited (docs/benchmarks.md). Now after
-- as many new rows as the table had.
ALTER TABLE ledger.blocks SET (autovacuum_analyze_scale_factor = 1.0);
ALTER TABLE ledger.account_history SET (autovacuum_analyze_scale_factor = 1.0);
