#!/usr/bin/env bash
# The governance store against PostgreSQL, without HTTP: rounds of every kind written through
# services/governance/store.c by the real state machine and reloaded after a restart
# (build/tools/govstore check, tests/bench/govstore.c); the analytics views over what they
# wrote, as the role analyst; then the restart time with a generated table of
# GOV_STORE_NEURONS neurons (default 400,000; target: under 5 s) and the mirror's bytes per
# neuron; the time of a round of 10,000 claims and of the round of their answers.
source "$(dirname "$0")/../lib.sh"
require_built "$TOOLS/govstore"
pg_start

eq() { [ "$1" = "$2" ] || { echo "  got '$1', expected '$2'" >&2; return 1; }; }
as_analyst() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "SET ROLE analyst; $1"; }

check "rounds written through the store reload into the same state" \
  "$TOOLS/govstore" check

check "the outbox records the outcomes: the 20 mints answered with their blocks, the split's transfer" \
  eq "$(sql "SELECT count(*) FILTER (WHERE purpose = 'mint' AND ok AND ledger_block_index BETWEEN 100 AND 119) || ' ' || count(*) FILTER (WHERE purpose = 'transfer' AND ok AND ledger_block_index = 999)  FROM governance.intents")" \
  "20 1"

check "the purge removed the expired replay row and kept the other" \
  eq "$(sql "SELECT count(*) || ' ' || min(status) FROM governance.replay_cache")" "1 409"
check "the kept row is in the ring's partition its expiry names (the purge truncates by that name)" \
  eq "$(sql "SELECT c.relname = 'replay_cache_' || lpad((r.expiry_nanos / 30000000000 % 24)::text, 2, '0')
             FROM governance.replay_cache r JOIN pg_class c ON c.oid = r.tableoid")" "t"
sql "CREATE DATABASE gov_fail" >/dev/null
check "a round PostgreSQL refuses half-way commits nothing; its retry commits; a restart agrees" \
  env DATABASE_URL="${DATABASE_URL/dbname=nns/dbname=gov_fail}" "$TOOLS/govstore" fail

# The analytics views over the check's neurons (all of them at the check's last time: its
# genesis is 2026-01-01, so the database's clock decides "now" here).
check "every neuron is in one dissolve-delay bucket" \
  eq "$(as_analyst "SELECT sum(neurons) FROM analytics.governance_stake_by_dissolve_delay")" \
  "$(sql "SELECT count(*) FROM governance.neurons")"
check "the buckets' stake adds up to the neurons' stake" \
  eq "$(as_analyst "SELECT sum(stake_e8s) FROM analytics.governance_stake_by_dissolve_delay")" \
  "$(sql "SELECT sum(greatest(cached_neuron_stake_e8s - neuron_fees_e8s, 0) + staked_maturity_e8s_equivalent) FROM governance.neurons")"
check "stake by state has the four states and every neuron" \
  eq "$(as_analyst "SELECT string_agg(state, ',') || ' ' || sum(neurons) FROM analytics.governance_stake_by_state")" \
  "not_dissolving,dissolving,dissolved,spawning $(sql "SELECT count(*) FROM governance.neurons")"
check "maturity totals match the neurons and the disbursements in progress" \
  eq "$(as_analyst "SELECT maturity_e8s || ' ' || staked_maturity_e8s || ' ' || disbursements_in_progress || ' ' || maturity_modulation_permyriad FROM analytics.governance_maturity_totals")" \
  "$(sql "SELECT sum(maturity_e8s_equivalent) || ' ' || sum(staked_maturity_e8s_equivalent) || ' ' || (SELECT count(*) FROM governance.maturity_disbursements) || ' -250' FROM governance.neurons")"
check "neurons created per day count every neuron" \
  eq "$(as_analyst "SELECT sum(neurons) FROM analytics.governance_neurons_created_daily")" \
  "$(sql "SELECT count(*) FROM governance.neurons")"
check "events per day count every event, and there are creations" \
  eq "$(as_analyst "SELECT sum(events) || ' ' || (sum(events) FILTER (WHERE kind IN ('created', 'genesis')) > 0) FROM analytics.governance_events_daily")" \
  "$(sql "SELECT count(*) FROM governance.neuron_events") true"
check "the daily stake by dissolve delay ends at the neurons' stake" \
  eq "$(as_analyst "SELECT sum(stake_e8s) FROM analytics.governance_stake_by_dissolve_delay_daily WHERE day = (SELECT max(day) FROM analytics.governance_stake_by_dissolve_delay_daily)")" \
  "$(sql "SELECT sum(greatest(cached_neuron_stake_e8s - neuron_fees_e8s, 0) + staked_maturity_e8s_equivalent) FROM governance.neurons")"
check "the stake history has a row per neuron written, the last one as the neuron is" \
  eq "$(as_analyst "SELECT count(DISTINCT neuron_id) || ' ' || sum(stake_e8s) FILTER (WHERE last) FROM (SELECT neuron_id, stake_e8s, seq = max(seq) OVER (PARTITION BY neuron_id) AS last FROM analytics.governance_neuron_history) h")" \
  "$(sql "SELECT count(*) || ' ' || sum(greatest(cached_neuron_stake_e8s - neuron_fees_e8s, 0) + staked_maturity_e8s_equivalent) FROM governance.neurons")"
check "principal texts: self-authenticating ones read back as 29 bytes, and round trip" \
  eq "$(as_analyst "SELECT string_agg(length(analytics.governance_principal_bytes(t))::text || ':' || (analytics.governance_principal_text(analytics.governance_principal_bytes(t)) = t)::text, ' ') FROM (VALUES ('276yo-aswbr-igv6b-r747t-l2p5r-o7nmm-umo2n-otjkp-b5fru-3llue-rqe'), ('3qy5g-mhi5n-ni3hu-f7iie-juvhn-quvoz-s6mlu-fklxx-idb26-j3qyr-mae'), ('2vxsx-fae'), ('rrkah-fqaaa-aaaaa-aaaaq-cai')) AS v(t)")" \
  "29:true 29:true 1:true 10:true"
check "every controller's text reads back as its bytes" \
  eq "$(as_analyst "SELECT count(*) FILTER (WHERE analytics.governance_principal_bytes(controller_text) <> controller) FROM analytics.governance_neurons")" 0
check "a bad principal text is refused" \
  bash -c '! psql "$DATABASE_URL" -Atqc "SET ROLE analyst; SELECT analytics.governance_principal_bytes('"'"'rrkah-fqaaa-aaaaa-aaaaq-caj'"'"')" 2>/dev/null'
check "a controller's neurons by its principal text" \
  eq "$(as_analyst "SELECT count(*) FROM analytics.governance_neurons WHERE controller = analytics.governance_principal_bytes((SELECT controller_text FROM analytics.governance_neurons ORDER BY neuron_id LIMIT 1))")" \
  "$(sql "SELECT count(*) FROM governance.neurons WHERE controller = (SELECT controller FROM governance.neurons ORDER BY id LIMIT 1)")"
check "analyst cannot read the governance tables" \
  bash -c '! psql "$DATABASE_URL" -Atqc "SET ROLE analyst; SELECT count(*) FROM governance.neurons" 2>/dev/null'

# A round of 10,000 claims and the round of their balance answers, through the store.
sql "CREATE DATABASE gov_rounds" >/dev/null
rounds_url=${DATABASE_URL/dbname=nns/dbname=gov_rounds}
out=$(DATABASE_URL=$rounds_url "$TOOLS/govstore" rounds 10000)
echo "$out (2-core shared machine: timings are noisy)"
check "10,000 claims and their answers create 10,000 neurons in two rounds" \
  eq "$(psql "$rounds_url" -Atqc "SELECT count(*) || ' ' || (SELECT count(*) FROM governance.in_flight) || ' ' || (SELECT count(*) FROM governance.intents WHERE resolved_at_nanos IS NULL) || ' ' || (SELECT count(*) FROM governance.intents WHERE ok) FROM governance.neurons")" \
  "10000 0 0 10000"

# A row the neurons do not explain stops the start with CorruptState naming its table.
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "INSERT INTO governance.hot_keys VALUES (42, 0, '\\x04')"
check "a hot key of a neuron that does not exist is CorruptState" \
  bash -c "DATABASE_URL='$rounds_url' '$TOOLS/govstore' load 10000 2>&1 | grep -q 'CorruptState.*governance.hot_keys'"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "DELETE FROM governance.hot_keys WHERE neuron_id = 42"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "INSERT INTO governance.followees VALUES (42, 0, '{1,2}')"
check "followees of a neuron that does not exist are CorruptState" \
  bash -c "DATABASE_URL='$rounds_url' '$TOOLS/govstore' load 10000 2>&1 | grep -q 'CorruptState.*governance.followees'"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "DELETE FROM governance.followees WHERE neuron_id = 42"
# the followees are read in the table's order: a neuron's topics come back sorted
fid=$(psql "$rounds_url" -Atqc "SELECT id FROM governance.neurons ORDER BY id LIMIT 1")
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "INSERT INTO governance.followees VALUES ($fid, 0, '{1,2}'); INSERT INTO governance.followees VALUES ($fid, 4, '{3}'); INSERT INTO governance.followees VALUES ($fid, 2, '{4,5,6}')"
check "a neuron's followee rows in any order load" \
  bash -c "DATABASE_URL='$rounds_url' '$TOOLS/govstore' load 10000 >/dev/null"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "INSERT INTO governance.followees VALUES ($fid, 5, '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}')"
check "more followees on a topic than the limit are CorruptState" \
  bash -c "DATABASE_URL='$rounds_url' '$TOOLS/govstore' load 10000 2>&1 | grep -q 'CorruptState.*governance.followees'"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "DELETE FROM governance.followees WHERE neuron_id = $fid"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "INSERT INTO governance.neurons SELECT 43, subaccount, controller, dissolving, dissolve_delay_seconds, aging_since_timestamp_seconds, when_dissolved_timestamp_seconds, cached_neuron_stake_e8s, neuron_fees_e8s, created_timestamp_seconds, spawn_at_timestamp_seconds, kyc_verified, maturity_e8s_equivalent, staked_maturity_e8s_equivalent, auto_stake_maturity, not_for_profit, joined_community_fund_timestamp_seconds, neuron_type, visibility, voting_power_refreshed_timestamp_seconds, eight_year_gang_bonus_base_e8s FROM governance.neurons LIMIT 1"
check "two neurons with one subaccount are CorruptState" \
  bash -c "DATABASE_URL='$rounds_url' '$TOOLS/govstore' load 10000 2>&1 | grep -q 'CorruptState.*subaccount'"
psql "$rounds_url" -v ON_ERROR_STOP=1 -Atqc "DELETE FROM governance.neurons WHERE id = 43"
check "and once it is gone the same database loads" \
  bash -c "DATABASE_URL='$rounds_url' '$TOOLS/govstore' load 10000 >/dev/null"

# The restart with a generated table: neurons with random-looking 20-digit ids, staking
# subaccounts, 100,000 controllers, a quarter dissolving, 5 % with a hot key, 10 % following
# three neurons on topic 0.
n=${GOV_STORE_NEURONS:-400000}
sql "CREATE DATABASE gov_scale" >/dev/null
scale_url=${DATABASE_URL/dbname=nns/dbname=gov_scale}
DATABASE_URL=$scale_url "$TOOLS/govstore" init
t0=$(date +%s.%N)
psql "$scale_url" -v ON_ERROR_STOP=1 -q -v n="$n" <<'SQL'
CREATE TEMP TABLE ids AS
SELECT i, (i::numeric * 11400714819323198485) % 18446744073709551557 AS id
FROM generate_series(1, :n) AS i;
INSERT INTO governance.neurons
SELECT id, sha256(int8send(i)), decode(lpad(to_hex(i % 100000), 16, '0') || '0101', 'hex'),
       i % 4 = 0,
       CASE WHEN i % 4 = 0 THEN NULL ELSE least(604800 + (i % 100) * 2629800, 63115200) END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 1767225600 - i END,
       CASE WHEN i % 4 = 0 THEN 1767225600 + i ELSE NULL END,
       100000000::numeric * (1 + i % 1000), 0, 1767225600 - i, NULL, true,
       (i % 7) * 1000000, 0, false, false, NULL, 0, 1 + i % 2, 1767225600, 0
FROM ids;
INSERT INTO governance.hot_keys
SELECT id, 0, decode(lpad(to_hex(i), 16, '0') || '0101', 'hex') FROM ids WHERE i % 20 = 0;
INSERT INTO governance.followees
SELECT id, 0, ARRAY[(SELECT id FROM ids WHERE i = 1), (SELECT id FROM ids WHERE i = 2),
                    (SELECT id FROM ids WHERE i = 3)]
FROM ids WHERE i % 10 = 0;
VACUUM ANALYZE governance.neurons;
SQL
echo "generated $n neurons in $(echo "$(date +%s.%N) - $t0" | bc) s"
out=$(DATABASE_URL=$scale_url "$TOOLS/govstore" load "$n")
echo "restart: $out (2-core shared machine: timings are noisy)"
secs=$(echo "$out" | sed -n 's/.*load_seconds=\([0-9.]*\).*/\1/p')
check "the restart loads all $n neurons" \
  bash -c "DATABASE_URL='$scale_url' '$TOOLS/govstore' load '$n' >/dev/null"
check "the restart takes under 5 s (${secs} s)" \
  bash -c "[ \"\$(echo '$secs < 5' | bc)\" = 1 ]"
echo "PostgreSQL bytes per neuron (neurons, hot keys and followees with their indexes): $(psql "$scale_url" -Atqc \
  "SELECT round((pg_total_relation_size('governance.neurons') + pg_total_relation_size('governance.hot_keys') + pg_total_relation_size('governance.followees'))::numeric / $n) || ' (neurons table alone ' || round(pg_total_relation_size('governance.neurons')::numeric / $n) || ', heap ' || round(pg_relation_size('governance.neurons')::numeric / $n) || ')'")"

# Proposals over generated neurons (govstore proposals): neurons 1, 2 and 3 hold most of the
# stake and nine in ten others follow them on the catch-all, so that the second known vote of a
# proposal cascades to most ballots. Rounds with proposals, votes, known neurons, node providers
# and the day's rewards through the store, reloaded equal; the mirror's reads; the times of the
# ballot snapshot's round, the cascade's round, the restart with four proposals holding their
# ballots (target: under 5 s) and the reward batches' rounds.
sql "CREATE DATABASE gov_props" >/dev/null
props_url=${DATABASE_URL/dbname=nns/dbname=gov_props}
DATABASE_URL=$props_url "$TOOLS/govstore" init
psql "$props_url" -v ON_ERROR_STOP=1 -q -v n="$n" <<'SQL'
CREATE TEMP TABLE ids AS
SELECT i, (i::numeric * 11400714819323198485) % 18446744073709551557 AS id
FROM generate_series(1, :n) AS i;
INSERT INTO governance.neurons
SELECT id, sha256(int8send(i)), decode(lpad(to_hex(i % 100000), 16, '0') || '0101', 'hex'),
       i % 4 = 0,
       CASE WHEN i % 4 = 0 THEN NULL ELSE least(604800 + (i % 100) * 2629800, 63115200) END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 1767225600 - i END,
       CASE WHEN i % 4 = 0 THEN 1767225600 + i ELSE NULL END,
       CASE WHEN i <= 3 THEN 100000000000000000 ELSE 100000000::numeric * (1 + i % 1000) END,
       0, 1767225600 - i, NULL, true, (i % 7) * 1000000, 0, i % 3 = 0, false, NULL, 0, 1 + i % 2,
       1767225600, 0
FROM ids;
INSERT INTO governance.followees
SELECT id, 0, ARRAY[(SELECT id FROM ids WHERE i = 1), (SELECT id FROM ids WHERE i = 2),
                    (SELECT id FROM ids WHERE i = 3)]
FROM ids WHERE i % 10 <> 0 AND i > 3;
VACUUM ANALYZE governance.neurons;
SQL
DATABASE_URL=$props_url "$TOOLS/govstore" proposals "$n" 2>&1 | grep -v ' info: ' \
  >"$TEST_TMP/proposals.out"
out=$(cat "$TEST_TMP/proposals.out")
echo "$out (2-core shared machine: timings are noisy)"
check "proposals, votes, known neurons, node providers and rewards reload equal ($n neurons)" \
  grep -q '^[0-9]* checks, 0 failed$' "$TEST_TMP/proposals.out"
secs=$(echo "$out" | sed -n 's/^restart with .* holding .*: \([0-9.]*\) s$/\1/p')
check "the restart with four proposals holding their ballots takes under 5 s (${secs} s)" \
  bash -c "[ \"\$(echo '$secs < 5' | bc)\" = 1 ]"
props() { psql "$props_url" -v ON_ERROR_STOP=1 -Atqc "SET ROLE analyst; $1"; }
check "participation counts the votes cast, as the votes view lists them" \
  eq "$(props "SELECT yes_votes || '/' || no_votes FROM analytics.governance_proposal_participation WHERE proposal_id = 3")" \
  "$(props "SELECT count(*) FILTER (WHERE vote = 'yes') || '/' || count(*) FILTER (WHERE vote = 'no') FROM analytics.governance_votes WHERE proposal_id = 3")"
check "proposal 3's votes: the proposer's, neuron 1's and 3's yes, neuron 2's no" \
  eq "$(props "SELECT string_agg(vote, ',' ORDER BY neuron_id) FROM analytics.governance_votes WHERE proposal_id = 3 AND neuron_id IN (SELECT id FROM (SELECT (i::numeric * 11400714819323198485) % 18446744073709551557 AS id FROM generate_series(1, 3) i) x)")" \
  "$(psql "$props_url" -Atqc "SELECT string_agg(CASE i WHEN 2 THEN 'no' ELSE 'yes' END, ',' ORDER BY (i::numeric * 11400714819323198485) % 18446744073709551557) FROM generate_series(1, 3) i")"
check "the known neuron's votes: Alpha on the first three proposals" \
  eq "$(props "SELECT string_agg(name || ':' || proposal_id || ':' || vote, ',' ORDER BY proposal_id) FROM analytics.governance_known_neuron_votes")" \
  "Alpha:1:yes,Alpha:2:yes,Alpha:3:yes"
check "proposals per topic and outcome count the four proposals" \
  eq "$(props "SELECT sum(proposals) FROM analytics.governance_proposals_by_topic_outcome")" 4
check "the tally history shows deadline extensions (wait-for-quiet) and ends at each proposal's tally" \
  eq "$(props "SELECT count(*) FILTER (WHERE deadline_extended) > 0 FROM analytics.governance_tally_history")/$(props "SELECT count(*) FROM analytics.governance_proposals p WHERE yes_e8s = (SELECT yes_e8s FROM analytics.governance_tally_history h WHERE h.proposal_id = p.proposal_id ORDER BY seq DESC LIMIT 1)")" \
  "t/4"
check "the day's rewards: credited in full, the neurons' rewards add up to the amount distributed" \
  eq "$(props "SELECT credited_completely || ' ' || (credited_maturity_e8s + credited_staked_maturity_e8s = distributed_e8s_equivalent) || ' ' || settled_proposals FROM analytics.governance_rewards_daily")/$(props "SELECT sum(amount_e8s) FROM analytics.governance_neuron_rewards")" \
  "true true 4/$(props "SELECT distributed_e8s_equivalent FROM analytics.governance_rewards_daily")"
check "every proposal is settled, with its reward event's day" \
  eq "$(props "SELECT string_agg(DISTINCT reward_status || ':' || reward_event_round, ',') FROM analytics.governance_proposals")" \
  "Settled:6"
check "analyst cannot read the ballots' table" \
  bash -c '! psql "'"$props_url"'" -Atqc "SET ROLE analyst; SELECT count(*) FROM governance.ballots" 2>/dev/null'
echo "PostgreSQL bytes per ballot (governance.ballots with its index): $(psql "$props_url" -Atqc \
  "SELECT round(pg_total_relation_size('governance.ballots')::numeric / greatest((SELECT sum(cardinality(neuron_ids)) FROM governance.ballots), 1), 1)")"

# Schema 005 on a database whose proposals were stored as schema 004 stored them (the binary
# action column): made with every migration, then 005 and 006 undone by hand.
sql "CREATE DATABASE gov_upgrade" >/dev/null
up_url=${DATABASE_URL/dbname=nns/dbname=gov_upgrade}
up() { psql "$up_url" -v ON_ERROR_STOP=1 -Atqc "$1"; }
DATABASE_URL=$up_url "$TOOLS/govstore" init >/dev/null 2>&1
{
  echo "DROP INDEX governance.ballots_proposal_last; DROP VIEW analytics.governance_proposals;"
  echo "ALTER TABLE governance.proposals DROP COLUMN action_draws, ADD COLUMN action bytea NOT NULL DEFAULT '\x00';"
  sed -n '/^CREATE VIEW analytics.governance_proposals AS/,/^FROM p CROSS JOIN clock/p' \
    "$ROOT/schema/governance/004_proposals_analytics.sql"
  echo "DELETE FROM public.nns_schema_migrations WHERE service = 'governance' AND name IN ('005_action_draws', '006_ballot_windows');"
  echo "INSERT INTO governance.proposals (id, proposer, topic, action_type, nns_function,
    managed_neuron_id, status, reject_cost_e8s, proposal_timestamp_seconds,
    decided_timestamp_seconds, executed_timestamp_seconds, failed_timestamp_seconds,
    failure_reason, has_wait_for_quiet, wait_for_quiet_deadline_seconds, voting_period_seconds,
    total_potential_voting_power, yes_e8s, no_e8s, total_e8s, tally_timestamp_seconds,
    reward_event_round, ballots_count, ballots_held, exec_flow_id, forgotten, summary,
    action_json, updated_at_nanos) VALUES (1, 5, 1, 'ManageNeuron', 0, 7, 'Open', 0, 0, 0, 0, 0,
    '', false, 0, 172800, 0, 0, 0, 0, 0, 0, 0, false, 0, false, 's',
    '{\"type\":\"ManageNeuron\",\"neuron_id\":\"7\",\"command\":{\"type\":\"split\",\"amount_e8s\":\"300000000\"}}', 0);"
} | psql "$up_url" -v ON_ERROR_STOP=1 -q
# the upgrade refused: the log names the reason, the binary column is still there
upgrade_refused() {
  ! DATABASE_URL=$up_url "$TOOLS/govstore" init >"$TEST_TMP/upgrade.out" 2>&1 &&
    grep -q "let it finish" "$TEST_TMP/upgrade.out" &&
    eq "$(up "SELECT count(*) FROM information_schema.columns WHERE table_name = 'proposals' AND column_name = 'action'")" 1
}
check "schema 005 refuses to drop the binary action of an open proposal with drawn candidates" \
  upgrade_refused
up "UPDATE governance.proposals SET status = 'Executed', executed_timestamp_seconds = 1" >/dev/null
upgrade_done() {
  DATABASE_URL=$up_url "$TOOLS/govstore" init >"$TEST_TMP/upgrade.out" 2>&1 &&
    eq "$(up "SELECT action_draws || ' ' || (SELECT count(*) FROM information_schema.columns WHERE table_name = 'proposals' AND column_name = 'action') || ' ' || (SELECT count(*) FROM pg_indexes WHERE indexname = 'ballots_proposal_last') FROM governance.proposals")" \
      '{"version":0} 0 1'
}
check "once it finished, 005 replaces the binary action by {\"version\":0} draws and 006 adds its index" \
  upgrade_done
finish
