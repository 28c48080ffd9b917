-- Proposal actions reload from a stable form, not from a C struct. A restart used to decode
-- governance.proposals.action, a binary image of the state machine's gov_action_t, so any
-- change of that struct would have needed a migration of the stored bytes. Governance now
-- parses action_json (the action as submitted) again through the parser of POST /v1/proposals
-- (services/governance/proposal_body.c, gov_action_from_stored) and puts back the candidates
-- drawn at submission, kept in action_draws, a versioned JSON text:
--   {"version":1,"candidates":[{"candidate_id":"u64","candidate_subaccount":"64 hex"}
--                              | {"candidate_id":"u64","candidate_nonce":"u64"}, ...]}
-- (a ManageNeuron split's or spawn's new neuron, a RewardNodeProvider(s) reward to a neuron).
--
-- The binary column cannot be read by SQL, so the candidates of existing rows are not carried
-- over: existing rows get {"version":0} (the candidates are drawn again at load and never
-- used). That is only safe for proposals that will never execute again, so the upgrade is
-- refused while a proposal that draws candidates is open, adopted and not executed, or has an
-- execution in flight: let them finish (or fail) with the previous version first.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM governance.proposals
               WHERE action_type IN ('ManageNeuron', 'RewardNodeProvider', 'RewardNodeProviders')
                 AND (status IN ('Open', 'Adopted') OR exec_flow_id <> 0)) THEN
        RAISE EXCEPTION 'governance.proposals holds an open or executing ManageNeuron or '
                        'RewardNodeProvider(s) proposal whose drawn candidates only the binary '
                        'action column holds: let it finish with the previous version, then '
                        'upgrade';
    END IF;
END
$$;
ALTER TABLE governance.proposals ADD COLUMN action_draws text NOT NULL DEFAULT '{"version":0}';
ALTER TABLE governance.proposals ALTER COLUMN action_draws DROP DEFAULT;
ALTER TABLE governance.proposals DROP COLUMN action;
COMMENT ON COLUMN governance.proposals.action_draws IS
    'the candidates drawn for the action at submission, versioned JSON (005_action_draws.sql)';
