-- Analytics over governance part 2's mirror (003_proposals.sql): proposals, ballots, votes,
-- the tally history, known neurons' votes, rewards; read-only views in the schema analytics for
-- the role analyst, as 002_analytics.sql (docs/analytics.md). "Now" is that of
-- analytics.governance_neurons: the later of the database's clock and the last round's time.
--
-- The ballots are stored as arrays (one row per proposal, round and chunk of ballots):
-- analytics.governance_ballots and analytics.governance_votes unnest them. u64 values kept as
-- bigint bits in those arrays are given back as numeric by analytics.governance_u64.

CREATE FUNCTION analytics.governance_u64(v bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN v < 0 THEN v::numeric + 18446744073709551616 ELSE v::numeric END $$;
COMMENT ON FUNCTION analytics.governance_u64(bigint) IS
    'governance: a u64 stored as the bigint of its bits, as numeric';

-- Topic ids and names (spec/governance.md "Topics"; gov_math.c topic_names).
CREATE VIEW analytics.governance_topics (topic, topic_name) AS
VALUES (0, 'Unspecified'), (1, 'NeuronManagement'), (2, 'ExchangeRate'),
       (3, 'NetworkEconomics'), (4, 'Governance'), (5, 'NodeAdmin'),
       (6, 'ParticipantManagement'), (7, 'SubnetManagement'),
       (8, 'ApplicationCanisterManagement'), (9, 'Kyc'), (10, 'NodeProviderRewards'),
       (11, 'SnsDecentralizationSale'), (12, 'IcOsVersionDeployment'),
       (13, 'IcOsVersionElection'), (14, 'SnsAndCommunityFund'),
       (15, 'ApiBoundaryNodeManagement'), (16, 'SubnetRental'),
       (17, 'ProtocolCanisterManagement'), (18, 'ServiceNervousSystemManagement');
COMMENT ON VIEW analytics.governance_topics IS 'governance: the proposal topics';

-- Every proposal the mirror has (also those governance forgot after settlement), with its
-- status as the last round left it, its reward status as of now (spec 4.6) and its deadline.
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

-- Every ballot change as written: one row per (proposal, neuron) in the snapshot of the round
-- that created the proposal, and one per ballot a later vote or cascade changed.
CREATE VIEW analytics.governance_ballot_changes AS
SELECT b.proposal_id,
       analytics.governance_u64(u.neuron_id) AS neuron_id,
       CASE u.vote WHEN 1 THEN 'yes' WHEN 2 THEN 'no' ELSE 'unspecified' END AS vote,
       analytics.governance_u64(u.voting_power) AS voting_power,
       CASE WHEN u.cast_at > 0 THEN
           to_timestamp(u.cast_at::double precision) AT TIME ZONE 'UTC' END AS cast_at,
       b.snapshot,
       b.seq
FROM governance.ballots b,
     unnest(b.neuron_ids, b.votes, b.voting_powers, b.cast_at_seconds)
         AS u(neuron_id, vote, voting_power, cast_at);
COMMENT ON VIEW analytics.governance_ballot_changes IS
    'governance: the ballots as the rounds wrote them (the snapshot, then each change)';

-- The votes cast (yes or no), each once, with the time it was cast (a cascade's votes share the
-- time of the vote that caused them).
CREATE VIEW analytics.governance_votes AS
SELECT proposal_id, neuron_id, vote, voting_power, cast_at
FROM analytics.governance_ballot_changes
WHERE vote <> 'unspecified';
COMMENT ON VIEW analytics.governance_votes IS
    'governance: every vote cast, with its voting power and time';

-- Every ballot with its final vote (the snapshot's ballots, the votes applied).
CREATE VIEW analytics.governance_ballots AS
SELECT proposal_id, neuron_id,
       CASE max(CASE vote WHEN 'yes' THEN 1 WHEN 'no' THEN 2 ELSE 0 END)
           WHEN 1 THEN 'yes' WHEN 2 THEN 'no' ELSE 'unspecified' END AS vote,
       min(voting_power) AS voting_power,
       max(cast_at) AS cast_at
FROM analytics.governance_ballot_changes
GROUP BY proposal_id, neuron_id;
COMMENT ON VIEW analytics.governance_ballots IS
    'governance: every ballot of every proposal with its final vote';

-- Participation per proposal: ballots, votes cast (by count and by voting power).
CREATE VIEW analytics.governance_proposal_participation AS
WITH counts AS (
    SELECT b.proposal_id,
           count(*) FILTER (WHERE v = 1) AS yes_votes,
           count(*) FILTER (WHERE v = 2) AS no_votes
    FROM governance.ballots b, unnest(b.votes) AS v
    GROUP BY b.proposal_id
)
SELECT p.id AS proposal_id,
       p.topic,
       p.status,
       p.ballots_count,
       coalesce(c.yes_votes, 0) AS yes_votes,
       coalesce(c.no_votes, 0) AS no_votes,
       round(coalesce(c.yes_votes + c.no_votes, 0) / NULLIF(p.ballots_count, 0), 4)
           AS participation_by_ballots,
       p.yes_e8s,
       p.no_e8s,
       p.total_e8s,
       round((p.yes_e8s + p.no_e8s) / NULLIF(p.total_e8s, 0), 4) AS participation_by_voting_power
FROM governance.proposals p LEFT JOIN counts c ON c.proposal_id = p.id;
COMMENT ON VIEW analytics.governance_proposal_participation IS
    'governance: per proposal, the ballots, the votes cast and the share of voting power voted';

-- The votes of the known neurons, found through the index on the ballot rows' id ranges.
CREATE VIEW analytics.governance_known_neuron_votes AS
SELECT k.id AS neuron_id,
       k.name,
       b.proposal_id,
       p.topic,
       CASE b.votes[x.k] WHEN 1 THEN 'yes' ELSE 'no' END AS vote,
       analytics.governance_u64(b.voting_powers[x.k]) AS voting_power,
       to_timestamp(b.cast_at_seconds[x.k]::double precision) AT TIME ZONE 'UTC' AS cast_at
FROM governance.known_neurons k
JOIN governance.ballots b
  ON numrange(b.first_neuron_id, b.last_neuron_id, '[]') @> k.id
CROSS JOIN LATERAL (
    SELECT array_position(b.neuron_ids,
                          (CASE WHEN k.id > 9223372036854775807
                                THEN k.id - 18446744073709551616 ELSE k.id END)::bigint) AS k
) x
JOIN governance.proposals p ON p.id = b.proposal_id
WHERE x.k IS NOT NULL AND b.votes[x.k] <> 0;
COMMENT ON VIEW analytics.governance_known_neuron_votes IS
    'governance: every vote of a known neuron';

-- Proposals per topic and outcome.
CREATE VIEW analytics.governance_proposals_by_topic_outcome AS
SELECT p.topic, t.topic_name, p.status, count(*) AS proposals,
       min(to_timestamp(p.proposal_timestamp_seconds::double precision) AT TIME ZONE 'UTC')
           AS first_created_at,
       max(to_timestamp(p.proposal_timestamp_seconds::double precision) AT TIME ZONE 'UTC')
           AS last_created_at
FROM governance.proposals p LEFT JOIN analytics.governance_topics t ON t.topic = p.topic
GROUP BY p.topic, t.topic_name, p.status;
COMMENT ON VIEW analytics.governance_proposals_by_topic_outcome IS
    'governance: the number of proposals per topic and status';

-- The tally's history, for charting: each change with the deadline after it (a wait-for-quiet
-- extension shows as a later deadline than the previous row's).
CREATE VIEW analytics.governance_tally_history AS
SELECT h.proposal_id,
       h.seq,
       to_timestamp(h.timestamp_seconds::double precision) AT TIME ZONE 'UTC' AS tally_at,
       h.yes_e8s,
       h.no_e8s,
       h.total_e8s,
       round(h.yes_e8s / NULLIF(h.total_e8s, 0), 6) AS yes_share,
       round(h.no_e8s / NULLIF(h.total_e8s, 0), 6) AS no_share,
       to_timestamp(h.deadline_seconds::double precision) AT TIME ZONE 'UTC' AS deadline_at,
       h.deadline_seconds > lag(h.deadline_seconds) OVER w AS deadline_extended
FROM governance.tally_history h
WINDOW w AS (PARTITION BY h.proposal_id ORDER BY h.seq);
COMMENT ON VIEW analytics.governance_tally_history IS
    'governance: every tally change with the deadline after it (wait-for-quiet extensions)';

-- Voting rewards per reward event (one a day, spec 6) with their crediting.
CREATE VIEW analytics.governance_rewards_daily AS
WITH credited AS (
    SELECT b.day_after_genesis, count(DISTINCT b.batch_offset) AS batches,
           sum(analytics.governance_u64(u.a)) FILTER (WHERE NOT u.s) AS maturity_e8s,
           sum(analytics.governance_u64(u.a)) FILTER (WHERE u.s) AS staked_maturity_e8s,
           bool_or(b.last) AS complete
    FROM governance.reward_batches b, unnest(b.amounts_e8s, b.staked) AS u(a, s)
    GROUP BY b.day_after_genesis
)
SELECT e.day_after_genesis,
       (to_timestamp((s.genesis_timestamp_seconds + e.day_after_genesis * 86400)::double precision)
           AT TIME ZONE 'UTC')::date AS day,
       to_timestamp(e.actual_timestamp_seconds::double precision) AT TIME ZONE 'UTC'
           AS distributed_at,
       e.total_available_e8s_equivalent,
       e.distributed_e8s_equivalent,
       e.rounds_since_last_distribution,
       e.latest_round_available_e8s_equivalent,
       cardinality(e.settled_proposals) AS settled_proposals,
       coalesce(d.neurons, 0) AS neurons_rewarded,
       coalesce(c.batches, 0) AS batches,
       coalesce(c.maturity_e8s, 0) AS credited_maturity_e8s,
       coalesce(c.staked_maturity_e8s, 0) AS credited_staked_maturity_e8s,
       coalesce(c.complete, d.neurons IS NULL OR d.neurons = 0) AS credited_completely
FROM governance.reward_events e
CROSS JOIN governance.state s
LEFT JOIN governance.reward_distributions d USING (day_after_genesis)
LEFT JOIN credited c USING (day_after_genesis);
COMMENT ON VIEW analytics.governance_rewards_daily IS
    'governance: each reward event with its pool, amount distributed and crediting';

-- Each neuron's credited voting rewards (the batches' arrays unnested).
CREATE VIEW analytics.governance_neuron_rewards AS
SELECT b.day_after_genesis,
       analytics.governance_u64(u.id) AS neuron_id,
       analytics.governance_u64(u.a) AS amount_e8s,
       u.s AS staked,
       to_timestamp(b.at_nanos / 1e9) AT TIME ZONE 'UTC' AS credited_at
FROM governance.reward_batches b, unnest(b.neuron_ids, b.amounts_e8s, b.staked) AS u(id, a, s)
WHERE u.a <> 0;
COMMENT ON VIEW analytics.governance_neuron_rewards IS
    'governance: every voting reward credited to a neuron';

-- Monthly node-provider rewards, one row per provider and month.
CREATE VIEW analytics.governance_node_provider_rewards AS
SELECT to_timestamp(m.timestamp_seconds::double precision) AT TIME ZONE 'UTC' AS rewarded_at,
       m.xdr_conversion_rate,
       analytics.governance_principal_text(u.p) AS node_provider,
       encode(u.a, 'hex') AS to_account_hash,
       u.x AS xdr_permyriad,
       u.e AS amount_e8s,
       CASE u.st WHEN 0 THEN 'pending' WHEN 1 THEN 'minted' WHEN 2 THEN 'failed'
                 ELSE 'refused' END AS status,
       CASE WHEN u.st = 1 THEN u.b END AS block_index,
       NULLIF(u.err, '') AS error
FROM governance.node_provider_rewards m,
     unnest(m.node_providers, m.to_accounts, m.xdr_permyriad, m.amounts_e8s, m.statuses,
            m.block_indexes, m.errors) AS u(p, a, x, e, st, b, err);
COMMENT ON VIEW analytics.governance_node_provider_rewards IS
    'governance: each monthly node-provider reward with its mint';

REVOKE ALL ON ALL TABLES IN SCHEMA governance FROM analyst;
GRANT EXECUTE ON FUNCTION analytics.governance_u64(bigint) TO analyst;
GRANT SELECT ON analytics.governance_topics, analytics.governance_proposals,
    analytics.governance_ballot_changes, analytics.governance_votes,
    analytics.governance_ballots, analytics.governance_proposal_participation,
    analytics.governance_known_neuron_votes, analytics.governance_proposals_by_topic_outcome,
    analytics.governance_tally_history, analytics.governance_rewards_daily,
    analytics.governance_neuron_rewards, analytics.governance_node_provider_rewards TO analyst;
