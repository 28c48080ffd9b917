-- A Refunded answer waits for the burn of the extra fee (or of the whole amount when nothing was
-- refunded), as upstream's refund_icp awaits burn_and_log before it returns: a notification in
-- flight may now be in phase 'burn_fee', holding the block of its refund until the burn ends.
ALTER TABLE cmc.pending DROP CONSTRAINT pending_phase_check;
ALTER TABLE cmc.pending ADD CONSTRAINT pending_phase_check
    CHECK (phase IN ('fetch', 'burn', 'refund', 'burn_fee'));
ALTER TABLE cmc.pending ADD COLUMN refund_block_index numeric(20,0)
    CHECK (refund_block_index IS NULL OR phase = 'burn_fee');
