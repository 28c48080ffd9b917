/*
 * gov_internal: the governance state machine's private layout, shared by gov.c (state, rounds,
 * loads, reads, the neuron store), gov_cmd.c (claims and manage-neuron commands) and gov_flow.c
 * (intents, answers, periodic work, genesis). Not for the store or the API: they use gov.h only.
 *
 * Neurons are nrec_t records in a table_t keyed by the id (8 bytes, little-endian): the fixed part
 * inline and the variable parts (hot keys, followees, maturity disbursements) in one immutable
 * gext_t block, NULL for the many neurons that have none. A round copies a neuron into its overlay
 * on its first change (copy-on-write); when a change touches the variable parts the round builds
 * a new gext_t (round_ext) and commit frees the replaced one, discard frees the round's. The
 * counters (core_t) are copied into the round at its start. The controller index (committed
 * state only) maps a 16-byte prefix of SHA-256(controller) to the controller's neuron ids in
 * ascending order: one id inline, or a malloc'd sorted vector.
 */
#ifndef NNS_GOV_INTERNAL_H
#define NNS_GOV_INTERNAL_H

#include <pthread.h>

#include "gov.h"
#include "gov_proposal.h"
#include "gov_reward.h"
#include "table.h"

typedef struct {
    uint8_t nhot, nfol, ndisb;
    principal_t *hot;
    gov_followees_t *fol;
    gov_disbursement_t *disb;
} gext_t;

typedef struct {
    gov_neuron_t n;
    gext_t *ext;
    bool round_ext;     /* in an overlay: ext belongs to the round */
    bool parts_changed; /* in an overlay: the variable parts changed (or the neuron is new) */
    bool reward_only;   /* in an overlay: changed by a reward credit alone (gov_reward_flow.c) */
} nrec_t;

typedef struct {
    bool genesis_done;
    gov_rules_t rules;
    uint64_t genesis_ts;
    gov_economics_t eco;
    gov_modulation_t mm;
    gov_creation_limiter_t lim;
    uint64_t next_intent_id, next_flow_id, last_created_at;
    uint64_t next_due; /* periodic work: earliest due time, UINT64_MAX = none */
    uint64_t mm_flow;  /* the modulation read in flight, 0 = none */
    uint64_t neurons;  /* count */
    /* proposals (gov_proposal.h) */
    uint64_t next_proposal_id;
    uint64_t last_snapshot_day;
} core_t;

/* ---- proposals (gov_proposal.c, gov_vote.c, gov_exec.c) ----
 * A proposal: the fixed part, texts and action in `blob` (one allocation, shared by a round's
 * copy until the round replaces it), and while held its ballots: bid (ids then voting powers, one
 * allocation of 2 * nb u64, never changed after creation, shared) and bvote (one byte per
 * ballot; a round that votes copies it). */
typedef struct {
    gov_proposal_full_t f;
    void *blob;
    size_t nb;
    uint64_t *bid; /* nb ids, then nb voting powers (bvp) */
    uint64_t *bvp;
    uint8_t *bvote;
} prop_t;

/* A round's version of a proposal. */
typedef struct {
    prop_t p;
    bool created;         /* new in the round: everything belongs to the round */
    bool forgotten;       /* dropped from memory by the round */
    bool own_votes;       /* p.bvote belongs to the round */
    bool own_blob;        /* p.blob belongs to the round (created, or texts rewritten) */
    bool settled_ballots; /* the round released the ballots (committed arrays freed at commit) */
    uint8_t *changed;     /* bitmap of ballots changed by the round (nb bits), NULL: none */
    size_t nchanged;
    uint32_t *cidx; /* change log: ballot index and time, in order of change */
    uint64_t *ctime;
    size_t nlog, caplog;
    /* gov_round_ballot_changes' arrays (built on first call) */
    bool rows_built;
    size_t nrows;
    uint64_t *rows_ids, *rows_vps, *rows_at;
    uint8_t *rows_votes;
} rprop_t;

/* A snapshot of deciding voting powers (4.5): ids then powers in one allocation. */
typedef struct {
    gov_vp_snapshot_t s;
    uint64_t *mem;
} snap_t;

/* A controller's ids: count 1 -> b is the id; more -> b points to a cvec_t. */
typedef struct {
    size_t n, cap;
    uint64_t ids[];
} cvec_t;

/* ---- rewards (gov_reward_flow.c) ---- */
/* A reward event as kept in memory: the settled ids in their own block. */
typedef struct {
    gov_reward_event_t ev; /* nsettled and the fixed fields; settled_proposals unused */
    uint64_t *settled;
} rw_event_t;

/* Committed reward state. */
typedef struct {
    rw_event_t *events; /* ascending day */
    size_t nevents, capevents;
    uint64_t dist_day;        /* the distribution in progress (dist_n > dist_done) */
    size_t dist_n, dist_done; /* entries, entries credited */
    uint64_t *dist_ids, *dist_amounts;
    uint64_t supply_flow;         /* the supply read in flight, 0 = none */
    uint64_t retry_at;            /* after a failed read: not before */
    gov_monthly_np_rewards_t *np; /* the most recent monthly node-provider rewards, or NULL */
    uint64_t np_flow;             /* the average-rate read in flight, 0 = none */
    uint64_t np_retry_at;
} rw_state_t;

/* A round's reward changes. */
typedef struct {
    uint64_t supply_flow, retry_at;
    size_t dist_done;
    gov_reward_event_t *event; /* created by the round (malloc'd) */
    uint64_t *new_ids, *new_amounts;
    size_t new_n; /* with event: the round's distribution (may be empty) */
    bool has_batch;
    size_t batch_off, batch_n;
    uint64_t *batch_amounts;
    uint8_t *batch_staked;
    gov_monthly_np_rewards_t *np; /* written by the round (malloc'd), or NULL */
    uint64_t np_flow, np_retry_at;
} rw_round_t;

void rw_init(gov_t *g);
void rw_free(gov_t *g);
void rw_round_begin(gov_round_t *r);
void rw_round_free(gov_round_t *r);
/* Under the write lock. */
void rw_commit(gov_t *g, gov_round_t *r);
bool rw_tick_due(const gov_t *g, uint64_t now);
bool rw_tick(gov_round_t *r, uint64_t now, bool *work, nns_error_t *err);
void rw_load_flow(gov_t *g, const gov_inflight_t *f);
/* Starts the monthly node-provider rewards now (the rate read), whatever the time since the
 * last ones: RewardNodeProviders with use_registry_derived_rewards (gov_exec.c). False with err
 * 422 PreconditionFailed when a read or mints of the previous rewards are in flight, 500
 * OutOfMemory. */
bool rw_np_request(gov_round_t *r, uint64_t now, nns_error_t *err);
/* gov_apply_transfer_done's answer of a GOV_FLOW_NODE_PROVIDER_MINT (the intent finished). */
bool rw_np_mint_done(gov_round_t *r, const gov_inflight_t *f, const gov_transfer_result_t *res,
                     uint64_t now, gov_outcome_t *out, nns_error_t *err);
size_t rw_memory(const gov_t *g);

/* ---- neuron totals kept at commit (gov_stats.c) ----
 * What gov_info reports about the neurons (stake and maturity sums, the count by state, the
 * bytes of their records), kept up to date as neurons are loaded and rounds commit, so that a
 * read costs no scan of every neuron. The state of a dissolving neuron depends on the time, so
 * the counts by state are those at `clock` (the latest time a read asked for, never lowered);
 * `heap` holds (when_dissolved_timestamp_seconds, id) of every neuron counted dissolving at
 * `clock`, all with a time after it, and stale entries of neurons changed since (skipped when
 * popped: the neuron no longer has that time, or the entry repeats the one popped before). A
 * read at a later time pops the entries due and moves them from dissolving to dissolved. The
 * heap is rebuilt from the neurons when stale entries outnumber the live ones. */
typedef struct {
    uint64_t ts, id;
} stats_ent_t;

typedef struct {
    uint64_t staked_e8s, maturity_e8s, staked_maturity_e8s; /* wrapping sums */
    uint64_t by_state[5];                                   /* at clock */
    uint64_t neuron_bytes;                                  /* records and variable parts */
    uint64_t clock;
    stats_ent_t *heap;
    size_t nheap, capheap;
    stats_ent_t last_popped;
    pthread_mutex_t mu; /* readers advance the clock under the read lock: one at a time */
} stats_t;

void stats_init(stats_t *s);
void stats_free(stats_t *s);
/* Adds (sign +1) or removes (-1) a committed neuron record's contribution, at the stats'
 * clock. Under the write lock (or while loading). Aborts when the heap cannot grow
 * (crash-only, as the table's own growth at commit). */
void stats_neuron(gov_t *g, const nrec_t *rec, int sign);
/* The totals at now (the clock moved up to now; a now before the clock reads at the clock),
 * into out's neurons_by_state and sums; *neuron_bytes when not NULL. Under the read lock. */
void stats_read(gov_t *g, uint64_t now, gov_info_t *out, uint64_t *neuron_bytes);
size_t ext_size(const gext_t *e);

struct gov {
    gov_config_t cfg;
    pthread_rwlock_t lock;
    core_t core;
    table_t neurons;  /* id -> nrec_t */
    hmap_t subs;      /* subaccount -> {a: id} (no record: the id is the value) */
    table_t flows;    /* flow id -> gov_inflight_t */
    table_t intents;  /* intent id -> gov_intent_t */
    table_t locks;    /* neuron id -> uint64 flow id */
    table_t sublocks; /* subaccount -> uint64 flow id */
    hmap_t ctrl;      /* SHA-256(controller)[0..16) -> {a: count, b: id or cvec_t *} */
    /* proposals: ascending ids (sequential: appended) */
    prop_t **props;
    size_t nprops, capprops;
    /* the reverse following index: followee id (8 bytes LE) || topic (1 byte) ->
     * {a: count, b: follower id or cvec_t * (ascending)} */
    hmap_t follow;
    uint64_t follow_entries;
    gov_known_neuron_t **kns; /* ascending id; each one allocation */
    size_t nkns;
    gov_node_provider_t *nps; /* ascending (len, bytes) of the principal */
    size_t nnps;
    snap_t *snaps[GOV_VP_SNAPSHOTS_MAX]; /* oldest first */
    size_t nsnaps;
    rw_state_t rw; /* rewards */
    stats_t stats; /* neuron totals (gov_stats.c) */
};

typedef struct {
    uint64_t id;
    gov_known_neuron_t *k; /* one allocation; NULL: removed */
} kn_change_t;

typedef struct {
    gov_node_provider_t np;
    bool removed;
} np_change_t;

struct gov_round {
    gov_t *g;
    core_t core; /* the round's counters (a copy at begin) */
    bool core_dirty;
    overlay_t neurons, subs, flows, intents, locks, sublocks;
    gov_intent_t *new_intents; /* in order */
    size_t nnew, capnew;
    uint64_t *finished;
    size_t nfinished, capfinished;
    gov_event_t *events;
    size_t nevents, capevents;
    uint64_t seq; /* transfer intents emitted in this round */
    /* proposals */
    bool pdirty;      /* proposal counters changed */
    rprop_t **rprops; /* in order of first change */
    size_t nrprops, caprprops;
    gov_tally_change_t *tallies;
    size_t ntallies, captallies;
    kn_change_t *kncs;
    size_t nkncs;
    np_change_t *npcs;
    size_t nnpcs;
    snap_t *new_snap;
    uint64_t dropped_snaps[GOV_VP_SNAPSHOTS_MAX + 1];
    size_t ndropped_snaps;
    gov_proposal_full_t *rows_tmp; /* gov_round_proposal's copy (valid until the next call) */
    rw_round_t rw;                 /* rewards */
};

/* ---- gov.c: keys, the neuron store as of a round, locks, flows, intents, events ---- */
void key_u64(uint64_t v, uint8_t out[8]);
bool oom(nns_error_t *err);
/* The neuron as of the round (with its variable parts; locked and d left zero). */
bool rget(const gov_round_t *r, uint64_t id, gov_neuron_full_t *out);
bool rexists(const gov_round_t *r, uint64_t id);
/* Writes the neuron into the round (new or changed); parts_changed: the variable parts changed. */
bool rput(gov_round_t *r, const gov_neuron_full_t *f, bool parts_changed, nns_error_t *err);
bool rremove(gov_round_t *r, uint64_t id, nns_error_t *err);
/* The id of the neuron with that subaccount as of the round. */
bool rsub(const gov_round_t *r, const uint8_t sub[SUBACCOUNT_BYTES], uint64_t *id);
/* The flow locking the neuron / subaccount as of the round, 0 when none. */
uint64_t rlocked(const gov_round_t *r, uint64_t id);
uint64_t rsublocked(const gov_round_t *r, const uint8_t sub[SUBACCOUNT_BYTES]);
bool rlock(gov_round_t *r, uint64_t id, uint64_t flow, nns_error_t *err);
bool rsublock(gov_round_t *r, const uint8_t sub[SUBACCOUNT_BYTES], uint64_t flow, nns_error_t *err);
bool rflow(const gov_round_t *r, uint64_t id, gov_inflight_t *out);
/* Writes a flow (its locks are set by the caller). */
bool rflow_put(gov_round_t *r, const gov_inflight_t *f, nns_error_t *err);
/* Ends a flow: removes it and unlocks its neurons and subaccount. */
bool rflow_end(gov_round_t *r, const gov_inflight_t *f, nns_error_t *err);
/* Emits an intent (id, created_at_time set here) for flow f; sets f->intent_id. */
bool rintent(gov_round_t *r, gov_inflight_t *f, gov_intent_t *i, uint64_t now, nns_error_t *err);
bool rintent_get(const gov_round_t *r, uint64_t id, gov_intent_t *out);
bool rintent_finish(gov_round_t *r, uint64_t id, nns_error_t *err);
bool revent(gov_round_t *r, uint64_t neuron_id, const char *kind, uint64_t at, uint64_t amount,
            uint64_t other, nns_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
core_t *rcore(gov_round_t *r);
/* Lowers the round's next due time for the neuron's periodic work. */
void rdue_full(gov_round_t *r, const gov_neuron_full_t *f);
/* The neuron's own earliest periodic-work time (UINT64_MAX: none). */
uint64_t neuron_due(const core_t *c, const gov_neuron_t *n, const gext_t *e);
uint64_t neuron_due_full(const core_t *c, const gov_neuron_full_t *f);
/* Iteration over every neuron as of the round: calls fn for each (stop when fn returns false). */
typedef bool (*neuron_fn)(gov_round_t *r, const nrec_t *rec, void *ctx);
bool rforeach(gov_round_t *r, neuron_fn fn, void *ctx);
void full_from_rec(const nrec_t *rec, gov_neuron_full_t *out);
uint64_t minted_stake(const gov_neuron_t *n);
bool rules_valid(gov_rules_t rules);

uint64_t flow_new_id(gov_round_t *r);
bool modulation_due(const core_t *c, uint64_t now);
void modulation_source_default(const gov_config_t *cfg, gov_rules_t rules, gov_modulation_t *mm);

/* ---- gov_proposal.c: proposals as of a round ---- */
/* The proposal as of the round (read only), NULL when unknown or forgotten. */
const prop_t *rprop_get(const gov_round_t *r, uint64_t id);
/* The round's writable version (copy-on-write of the fixed part; votes copied when
 * want_votes), NULL on allocation failure (err set) or when unknown (err NotFound). */
rprop_t *rprop_edit(gov_round_t *r, uint64_t id, bool want_votes, nns_error_t *err);
/* Ballot index of a neuron in a proposal, -1 when none. */
long prop_ballot_index(const prop_t *p, uint64_t neuron_id);
/* Records a tally change (the tally history). */
bool rtally_log(gov_round_t *r, const prop_t *p, nns_error_t *err);
/* Whether the neuron is the proposer of an open proposal or the managed neuron of an open
 * ManageNeuron proposal as of the round (spec 2.8: merge refused). */
bool neuron_in_open_proposal(const gov_round_t *r, uint64_t id);
/* The known-neuron record of a neuron as of the round (borrowed), NULL when none. */
const gov_known_neuron_t *rknown(const gov_round_t *r, uint64_t id);
bool rknown_put(gov_round_t *r, uint64_t id, const gov_known_neuron_t *k, nns_error_t *err);
/* A node provider as of the round (copied), false when unknown. */
bool rnp_get(const gov_round_t *r, const principal_t *id, gov_node_provider_t *out);
bool rnp_put(gov_round_t *r, const gov_node_provider_t *np, bool removed, nns_error_t *err);
/* Node providers as of the round (a malloc'd array, free()), false on allocation failure. */
bool rnp_all(const gov_round_t *r, gov_node_provider_t **out, size_t *n);
/* Commit / discard / destroy parts (gov.c calls them; commit under the write lock). */
void props_commit(gov_t *g, gov_round_t *r);
void props_round_free(gov_round_t *r);
void props_destroy(gov_t *g);
size_t props_memory(const gov_t *g);
/* Takes the daily voting-power snapshot (4.5) in the round, dropping stale and surplus ones. */
bool rsnapshot_take(gov_round_t *r, uint64_t now, nns_error_t *err);
/* Settles a proposal for rewards (spec 6, for gov_reward.c): reward_event_round set, its ballots
 * released (the mirror keeps them). Read the ballots first with rprop_get (bid, bvp, bvote). */
bool rprop_settle(gov_round_t *r, uint64_t id, uint64_t reward_event_round, nns_error_t *err);
/* Releases a proposal's ballots in the round (settlement: preward; forgetting) */
bool rprop_release_ballots(gov_round_t *r, uint64_t id, nns_error_t *err);

/* ---- gov_vote.c: following index, cascade, tally, wait-for-quiet, decisions ---- */
/* (Re)builds the index from the committed neurons; false on allocation failure. */
bool follow_build(gov_t *g);
/* Applies the round's followee changes to the index (before the neurons are merged). */
void follow_commit(gov_t *g, const gov_round_t *r);
void follow_free(gov_t *g);
size_t follow_memory(const gov_t *g);
/* Casts a vote and its cascade (spec 5) on the round's version of a proposal; updates the
 * tally (not the deadline). *changed: ballots set. */
bool cast_and_cascade(gov_round_t *r, rprop_t *rp, size_t idx, uint8_t vote, uint64_t now,
                      size_t *changed, nns_error_t *err);
/* Wait-for-quiet (4.7) for a tally change old -> new at now. */
void wait_for_quiet(gov_proposal_t *p, const gov_tally_t *old, uint64_t now);
/* 4.8 */
bool can_decide(const gov_proposal_t *p, uint64_t now);
bool is_accepted(const gov_proposal_t *p);
/* process_proposal: decides when it can (refund, execution). */
bool process_proposal(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err);

/* ---- gov_exec.c ---- */
/* Starts the execution of an adopted proposal (finished at once or through a flow). */
bool execute_proposal(gov_round_t *r, rprop_t *rp, uint64_t now, nns_error_t *err);
/* Marks the proposal Executed (ok) or Failed (reason). */
bool proposal_settle_execution(gov_round_t *r, uint64_t id, bool ok, const char *reason,
                               uint64_t now, nns_error_t *err);
/* gov_apply_tick's proposal work; *work set when anything changed. */
bool proposals_tick(gov_round_t *r, uint64_t now, bool *work, nns_error_t *err);
bool proposals_due(const gov_t *g, uint64_t now);
/* The answer of a PROPOSAL_MINT flow's transfer (from gov_apply_transfer_done; the intent is
 * finished already). */
bool proposal_mint_done(gov_round_t *r, const gov_inflight_t *f, const gov_transfer_result_t *res,
                        uint64_t now, gov_outcome_t *out, nns_error_t *err);
/* "code: detail" of an error, truncated to a failure_reason. */
void error_reason(const nns_error_t *e, char out[GOV_FAILURE_REASON_MAX]);
/* Economics merged with an action's fields and validated (spec 7). */
bool economics_merge(gov_rules_t rules, const gov_economics_t *old, uint32_t mask,
                     const gov_economics_t *v, gov_economics_t *out, nns_error_t *err);

/* ---- gov_flow.c ---- */
void outcome_pending(gov_outcome_t *out, const gov_inflight_t *f);
/* The merge flow's next step after its start or its burn (merge_neurons.rs). */
bool merge_next(gov_round_t *r, gov_inflight_t *f, uint64_t now, gov_outcome_t *out,
                nns_error_t *err);

#endif
