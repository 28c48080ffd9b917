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
-- analytics.governance_proposals reads governance.proposals through p.*, which depends on every
-- column: it is dropped with the column and made again as 004 made it (the same columns)
DROP VIEW analytics.governance_proposals;
ALTER TABLE governance.proposals DROP COLUMN action;
CREATE VIEW analytics.governance_proposals AS
WITH clock AS (
    SELECT greatest(floor(extract(epoch FROM now()))::numeric,
                    coalesce((SELECT floor(updated_at_nanos / 1e9) FROM governance.state), 0))
               AS now_seconds
), p AS (
    SELECT p.*,
           CASE WHEN p.has_wait_for_quiet THEN p.wait_for_quiet_deadline_seconds
                ELSE p.proposal_timestamp_seconds + p.voting_period_seconds END AS deadline
    FROM governance.proposals p
)
SELECT p.id AS proposal_id,
       p.topic,
       t.topic_name,
       p.action_type,
       NULLIF(p.nns_function, 0) AS nns_function,
       p.proposer,
       p.title,
       p.status,
       CASE WHEN p.topic = 1 THEN 'Ineligible'
            WHEN p.reward_event_round > 0 THEN 'Settled'
            WHEN c.now_seconds < p.deadline THEN 'AcceptVotes'
            ELSE 'ReadyToSettle' END AS reward_status,
       to_timestamp(p.proposal_timestamp_seconds::double precision) AT TIME ZONE 'UTC'
           AS created_at,
       to_timestamp(p.deadline::double precision) AT TIME ZONE 'UTC' AS deadline_at,
       CASE WHEN p.decided_timestamp_seconds > 0 THEN
           to_timestamp(p.decided_timestamp_seconds::double precision) AT TIME ZONE 'UTC'
       END AS decided_at,
       CASE WHEN p.executed_timestamp_seconds > 0 THEN
           to_timestamp(p.executed_timestamp_seconds::double precision) AT TIME ZONE 'UTC'
       END AS executed_at,
       CASE WHEN p.failed_timestamp_seconds > 0 THEN
           to_timestamp(p.failed_timestamp_seconds::double precision) AT TIME ZONE 'UTC'
       END AS failed_at,
       NULLIF(p.failure_reason, '') AS failure_reason,
       p.yes_e8s,
       p.no_e8s,
       p.total_e8s,
       p.total_potential_voting_power,
       p.ballots_count,
       NULLIF(p.reward_event_round, 0) AS reward_event_round,
       p.reject_cost_e8s,
       p.forgotten AS forgotten_by_governance,
       p.url
FROM p CROSS JOIN clock c LEFT JOIN analytics.governance_topics t ON t.topic = p.topic;
COMMENT ON VIEW analytics.governance_proposals IS
    'governance: every proposal with its status, reward status as of now, deadline and tally';
GRANT SELECT ON analytics.governance_proposals TO analyst;
COMMENT ON COLUMN governance.proposals.action_draws IS
    'the candidates drawn for the action at submission, versioned JSON (005_action_draws.sql)';
