/*
 * store: the governance service's PostgreSQL mirror (schema/governance). The only file of
 * governance with SQL; every value is a parameter of a prepared statement or a COPY row.
 *
 * A round is written on the state thread over a db_writer_t (dbwriter.h, depth 1: the state
 * machine's rounds do not chain): BEGIN with the round's lock, one simple query with the COPYs of
 * the round's new rows (intents, neuron events, the stake history row of every neuron written,
 * replay rows), then one pipeline of prepared statements with binary array parameters (the state
 * row and the economics; the neurons upserted and removed; their hot keys, followees and maturity
 * disbursements replaced; the operations in flight upserted and removed; the intents the round
 * finished), the round guard and COMMIT. The number of statements and round trips is the same for a
 * round of one command or of thousands. Nothing is read back while serving, except the neuron event
 * history (gov_store_events, on the read pool). Loading at start restores the state machine's
 * committed state (the neurons with one binary COPY) and returns the unresolved intents, which the
 * service submits again.
 */
#ifndef NNS_GOV_STORE_H
#define NNS_GOV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "dbstore.h"
#include "error.h"
#include "gov.h"
#include "gov_proposal.h"
#include "gov_reward.h"
#include "migrations.h"
#include "replay.h"

typedef struct gov_store gov_store_t;

/* The governance migrations, the files schema/governance/NNN_name.sql, embedded at build time. */
extern const migration_set_t GOVERNANCE_MIGRATIONS;

/* How an intent the round finished ended (for the outbox's record; optional: an intent the
 * round finished without a matching entry is recorded as resolved with no outcome). */
typedef struct {
    uint64_t intent_id;
    bool is_transfer;
    bool ok;        /* transfer: the ledger made it (GET: the read succeeded) */
    bool has_block; /* transfer: its block */
    uint64_t block_index;
} gov_resolved_t;

/* What the round did besides its state machine changes. */
typedef struct {
    uint64_t now; /* the round's time, nanoseconds */
    const gov_resolved_t *resolved;
    size_t nresolved;
} gov_store_extras_t;

/* Connects (depth round connections plus a read pool of pool_size: the event history and
 * pings) and applies the migrations. NULL with err 503 on failure. */
gov_store_t *gov_store_open(const char *conninfo, unsigned pool_size, unsigned depth,
                            unsigned commit_delay_ms, nns_error_t *err)
    __attribute__((warn_unused_result));
void gov_store_close(gov_store_t **s);
/* Its connections, for the skeleton (service_use_store()). */
db_store_t *gov_store_db(gov_store_t *s);

/* Loads committed state into g (gov_load_info, gov_load_neuron for every neuron with its hot
 * keys, followees and disbursements, gov_load_inflight, gov_load_intent, then gov_load_done)
 * and the unexpired replay entries into rc. *fresh tells a database without governance state
 * (no genesis yet: the genesis applies then). *intents (malloc'd, the caller frees; NULL when
 * none) are the unresolved intents, oldest first. False with err (503 database, 500
 * "CorruptState" naming the table and the row, 500 OutOfMemory). */
bool gov_store_load(gov_store_t *s, gov_t *g, replay_cache_t *rc, uint64_t wall_now, bool *fresh,
                    gov_intent_t **intents, size_t *nintents, nns_error_t *err)
    __attribute__((warn_unused_result));

/* Writes a round and sends its COMMIT without waiting: DB_COMMITTED means "sent";
 * DB_NOT_COMMITTED with err when nothing can commit; DB_UNKNOWN when the COMMIT may have
 * reached the server. x may be NULL only when the round finished no intent and now is 0. */
db_outcome_t gov_store_send_round(gov_store_t *s, const gov_round_t *r, const gov_store_extras_t *x,
                                  const replay_rec_t *replays, size_t nreplays, nns_error_t *err);
db_outcome_t gov_store_wait_round(gov_store_t *s, nns_error_t *err);
bool gov_store_round_ready(gov_store_t *s, int timeout_ms);

/* ---- the neuron event history (GET /v1/neurons/{id}/events), on the read pool ---- */
#define GOV_STORE_EVENTS_MAX 100 /* events per page at most */

/* An event as recorded: seq is its position in the whole history (increasing with time), the
 * keyset cursor of the listing. */
typedef struct {
    uint64_t seq;
    gov_event_t e;
} gov_store_event_t;

/* The neuron's events with seq < before_seq (0: from the newest), newest first, at most max
 * (1..GOV_STORE_EVENTS_MAX) into out; *more tells whether older ones follow (the next page's
 * before_seq is then out[n-1].seq). Returns false with err 503 when the database cannot
 * answer. Any thread. */
bool gov_store_events(gov_store_t *s, uint64_t neuron_id, uint64_t before_seq, size_t max,
                      gov_store_event_t *out, size_t *n, bool *more, nns_error_t *err)
    __attribute__((warn_unused_result));

/* ---- proposals, ballots and votes kept by the mirror (schema/governance/003_proposals.sql) ----
 * Rounds write, besides the neurons: the proposals they changed (one row each, upserted; a
 * proposal governance forgets stays, marked forgotten), the ballots they changed as arrays (one
 * row per proposal, round and chunk of at most GOV_STORE_BALLOT_CHUNK ballots ascending by
 * neuron id: the creation round's rows hold the whole snapshot, later rounds' rows the ballots
 * their votes and cascades changed, each with its time), the tally history (a row per tally
 * change with the deadline after it), known neurons, node providers, voting-power snapshots
 * (arrays), reward events, each event's distribution and the batches credited (arrays), the
 * monthly node-provider rewards. Neurons changed by a reward credit alone are written from the
 * batch's arrays (their maturity columns only). Loading restores the proposals still in memory
 * (with their ballots when held), the known neurons, node providers, snapshots, reward events,
 * the distribution in progress and the latest monthly rewards.
 *
 * The reads below serve what governance no longer holds (ballots of a settled proposal, votes
 * with their times, proposals forgotten from memory), on the read pool; any thread. Each returns
 * false with err 503 when the database cannot answer. */
#define GOV_STORE_BALLOT_CHUNK 2048 /* ballots per row of governance.ballots at most */
#define GOV_STORE_VOTES_MAX 1000    /* ballots or votes per page at most */

/* A vote as the mirror recorded it: the ballot's voting power and the time it was cast. */
typedef struct {
    uint64_t proposal_id;
    uint64_t neuron_id;
    uint8_t vote; /* GOV_VOTE_YES or GOV_VOTE_NO */
    uint64_t voting_power;
    uint64_t cast_at_seconds;
} gov_store_vote_t;

/* The ballots of a proposal as the mirror keeps them (the final vote of each ballot): neuron ids
 * > after_id, ascending, matching vote (-1: any; GOV_VOTE_UNSPECIFIED, _YES, _NO), at most max
 * (1..GOV_STORE_VOTES_MAX) into out; *more tells whether more follow (next cursor: the last
 * neuron id). *found false when the mirror has no ballots of that proposal. */
bool gov_store_proposal_ballots(gov_store_t *s, uint64_t proposal_id, uint64_t after_id, int vote,
                                gov_ballot_t *out, size_t max, size_t *n, bool *more, bool *found,
                                nns_error_t *err) __attribute__((warn_unused_result));

/* The votes cast on a proposal (yes or no, with their times), neuron ids > after_id, ascending,
 * at most max (1..GOV_STORE_VOTES_MAX); *more as above. */
bool gov_store_proposal_votes(gov_store_t *s, uint64_t proposal_id, uint64_t after_id,
                              gov_store_vote_t *out, size_t max, size_t *n, bool *more,
                              nns_error_t *err) __attribute__((warn_unused_result));

/* A neuron's votes (its own and those cast for it by following), proposal ids < before_id (0:
 * from the newest), newest proposal first, at most max (1..GOV_STORE_VOTES_MAX); *more tells
 * whether older ones follow (next cursor: the last proposal id). */
bool gov_store_neuron_votes(gov_store_t *s, uint64_t neuron_id, uint64_t before_id,
                            gov_store_vote_t *out, size_t max, size_t *n, bool *more,
                            nns_error_t *err) __attribute__((warn_unused_result));

/* A proposal as the mirror last recorded it (for one governance forgot): a malloc'd copy (free
 * it with gov_store_proposal_free: its action is a second allocation), NULL with *found false
 * when the mirror has none, NULL with err when the database cannot answer or the row is
 * malformed. */
gov_proposal_full_t *gov_store_proposal(gov_store_t *s, uint64_t proposal_id, bool *found,
                                        nns_error_t *err);
void gov_store_proposal_free(gov_proposal_full_t *p);

/* Proposals forgotten by governance (in the mirror only) with ids < f->before_id (0: from the
 * newest), matching f's status and topic filters (a forgotten proposal is settled: its reward
 * status is Settled, or Ineligible when never rewarded: f's reward-status filter applies to
 * that), newest first, at most f->limit (1..GOV_PROPOSAL_LIST_MAX): *out a malloc'd array of
 * copies (free each with gov_store_proposal_free, then the array); *more as
 * gov_proposals_list's. */
bool gov_store_forgotten_proposals(gov_store_t *s, const gov_proposal_filter_t *f,
                                   gov_proposal_full_t ***out, size_t *n, bool *more,
                                   nns_error_t *err) __attribute__((warn_unused_result));

#endif
