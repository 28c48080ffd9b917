-- A page of a settled proposal's ballots (gov_store_proposal_ballots) reads a window of neuron
-- ids: the bounds of the next snapshot rows, then only the rows whose id range meets the window.
-- Both look rows up by proposal and last_neuron_id; the rows' arrays are read only for the rows
-- that pass (services/governance/store.c, BALLOT_BOUNDS_STMT and BALLOTS_STMT).
CREATE INDEX ballots_proposal_last ON governance.ballots (proposal_id, last_neuron_id);
