/*
 * gov_internal: the governance state machine's private layout, shared by gov.c (state, rounds,
 * loads, reads, the neuron store), gov_cmd.c (claims and manage-neuron commands) and gov_flow.c
 * (intents, answers, periodic work, genesis). Not for the store or the API: they use gov.h only.
 *
 * Neurons are nrec_t records in a gtab_t keyed by the id (8 bytes, little-endian): the fixed part
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
#include "gov_table.h"

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
} core_t;

/* A controller's ids: count 1 -> b is the id; more -> b points to a cvec_t. */
typedef struct {
    size_t n, cap;
    uint64_t ids[];
} cvec_t;

struct gov {
    gov_config_t cfg;
    pthread_rwlock_t lock;
    core_t core;
    gtab_t neurons;  /* id -> nrec_t */
    hmap_t subs;     /* subaccount -> {a: id} (no record: the id is the value) */
    gtab_t flows;    /* flow id -> gov_inflight_t */
    gtab_t intents;  /* intent id -> gov_intent_t */
    gtab_t locks;    /* neuron id -> uint64 flow id */
    gtab_t sublocks; /* subaccount -> uint64 flow id */
    hmap_t ctrl;     /* SHA-256(controller)[0..16) -> {a: count, b: id or cvec_t *} */
};

struct gov_round {
    gov_t *g;
    core_t core; /* the round's counters (a copy at begin) */
    bool core_dirty;
    gover_t neurons, subs, flows, intents, locks, sublocks;
    gov_intent_t *new_intents; /* in order */
    size_t nnew, capnew;
    uint64_t *finished;
    size_t nfinished, capfinished;
    gov_event_t *events;
    size_t nevents, capevents;
    uint64_t seq; /* transfer intents emitted in this round */
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

/* ---- gov_flow.c ---- */
void outcome_pending(gov_outcome_t *out, const gov_inflight_t *f);
/* The merge flow's next step after its start or its burn (merge_neurons.rs). */
bool merge_next(gov_round_t *r, gov_inflight_t *f, uint64_t now, gov_outcome_t *out,
                nns_error_t *err);

#endif
