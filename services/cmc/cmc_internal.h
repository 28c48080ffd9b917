/*
 * cmc_internal: the cmc state machine's private layout, shared by cmc.c (state, rounds, rates,
 * reads, loads), notify.c (the notify flows) and subnets.c (subnet lists, canister ids). Not
 * for the store or the API: they use cmc.h only.
 *
 * Copy-on-write per round: the counters, rates and limiters (core_t) and the subnet lists
 * (subnets_t) are copied into the round on its first change (round_core, round_subnets); keyed
 * records live in tables with one overlay per round (table.h); the rate history is append-only
 * (strictly increasing timestamps make each new day later than the last).
 */
#ifndef NNS_CMC_INTERNAL_H
#define NNS_CMC_INTERNAL_H

#include <pthread.h>

#include "cmc.h"
#include "table.h"

typedef struct {
    cmc_rate_t rate;
    bool has_average;
    cmc_rate_t average;
    int32_t modulation;
    cmc_rate_t cache[CMC_CACHE_SLOTS];
    uint64_t last_purged;
    cmc_cycles_t total_minted, held;
    uint64_t next_intent_id, last_created_at, cycles_ledger_blocks, limiter_rejects;
    cmc_limiter_t base, src;
} core_t;

typedef struct {
    cmc_subnet_row_t *rows;
    size_t n, cap;
    cmc_subnet_range_t *ranges;
    size_t nr, capr;
    uint64_t next_range;
} subnets_t;

struct cmc {
    cmc_config_t cfg;
    pthread_rwlock_t lock;
    core_t core;
    subnets_t subnets;
    cmc_rate_day_t *hist; /* oldest first, at most CMC_HISTORY_KEEP */
    size_t nhist, caphist;
    table_t notes;     /* u64 block index -> cmc_notification_t */
    table_t pending;   /* u64 block index -> cmc_pending_t */
    table_t intents;   /* u64 intent id -> cmc_intent_t */
    table_t canisters; /* SHA-256(principal) -> cmc_canister_t */
    table_t accounts;  /* SHA-256(owner, subaccount) -> cmc_cycles_account_t */
};

struct cmc_round {
    cmc_t *c;
    core_t *core;       /* NULL until the round changes it */
    subnets_t *subnets; /* NULL until the round changes it */
    bool limiter_dirty;
    bool purged;
    size_t notes_live; /* statuses as of the round, above the horizon */
    uint64_t seq;      /* intents emitted in this round */
    overlay_t notes, pending, intents, canisters, accounts;
    cmc_intent_t *fresh; /* intents emitted, in order */
    size_t nfresh, capfresh;
    uint64_t *finished; /* intents finished */
    size_t nfinished, capfinished;
    cmc_rate_day_t *hist; /* days appended */
    size_t nhist, caphist;
};

/* The round's view (copy when changed, else committed). */
static inline const core_t *core_of(const cmc_t *c, const cmc_round_t *r)
{
    return r && r->core ? r->core : &c->core;
}
static inline const subnets_t *subnets_of(const cmc_t *c, const cmc_round_t *r)
{
    return r && r->subnets ? r->subnets : &c->subnets;
}
/* The round's own copy, made on first use; NULL on allocation failure. */
core_t *round_core(cmc_round_t *r);
subnets_t *round_subnets(cmc_round_t *r);

void u64_key(uint64_t v, uint8_t key[8]);
void principal_key(const principal_t *p, uint8_t key[32]);
void account_key(const principal_t *owner, const uint8_t *subaccount, uint8_t key[32]);

void subnets_free(subnets_t *s);
bool subnets_copy(subnets_t *dst, const subnets_t *src) __attribute__((warn_unused_result));
bool subnets_add_row(subnets_t *s, const cmc_subnet_row_t *row) __attribute__((warn_unused_result));
bool subnets_add_range(subnets_t *s, const cmc_subnet_range_t *range)
    __attribute__((warn_unused_result));

/* Candidate subnets for a creation (5.2 step 2): false with the upstream reason text. On
 * success *chosen is the candidate picked by seed (the stand-in for raw_rand's shuffle). */
bool subnets_choose(const subnets_t *s, const cmc_notify_args_t *a, uint64_t seed,
                    principal_t *chosen, char reason[CMC_REASON_MAX]);
/* Allocates the next canister id of subnet in the round. False on allocation failure. */
bool subnets_allocate_id(cmc_round_t *r, const principal_t *subnet, principal_t *id)
    __attribute__((warn_unused_result));

#endif
