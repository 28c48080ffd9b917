/*
 * cmc: state, rounds, rates, reads and loads of the cycles minting state machine (cmc.h). The
 * notify flows are in notify.c, the subnet lists and canister ids in subnets.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmc_internal.h"
#include "crypto.h"

#define DAY_SECONDS 86400ULL
#define NANOS 1000000000ULL

void cmc_config_default(cmc_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    principal_canister(CANISTER_CMC, &cfg->cmc_id);
    cfg->has_cycles_ledger = true;
    cfg->cycles_per_xdr = CMC_DEFAULT_CYCLES_PER_XDR;
    cfg->max_notifications = CMC_MAX_NOTIFY_HISTORY;
    cfg->max_purge = CMC_MAX_NOTIFY_PURGE;
    cfg->cycles_limit = CMC_CYCLES_LIMIT;
    cfg->limit_resolution = CMC_LIMIT_RESOLUTION;
    cfg->limit_max_age = CMC_LIMIT_MAX_AGE;
    cfg->src_cycles_limit = CMC_SRC_CYCLES_LIMIT;
    cfg->src_limit_resolution = CMC_SRC_LIMIT_RESOLUTION;
    cfg->src_limit_max_age = CMC_SRC_LIMIT_MAX_AGE;
    cfg->creation_fee = CMC_CREATION_FEE;
    cfg->cycles_ledger_fee = CMC_CYCLES_LEDGER_FEE;
}

/* ---- keys and helpers ---- */

void u64_key(uint64_t v, uint8_t key[8])
{
    memcpy(key, &v, 8);
}

void principal_key(const principal_t *p, uint8_t key[32])
{
    uint8_t buf[1 + PRINCIPAL_MAX_BYTES];
    buf[0] = p->len;
    memcpy(buf + 1, p->bytes, p->len);
    sha256(buf, 1u + p->len, key);
}

void account_key(const principal_t *owner, const uint8_t *subaccount, uint8_t key[32])
{
    uint8_t buf[1 + PRINCIPAL_MAX_BYTES + SUBACCOUNT_BYTES] = {0};
    buf[0] = owner->len;
    memcpy(buf + 1, owner->bytes, owner->len);
    if (subaccount)
        memcpy(buf + 1 + PRINCIPAL_MAX_BYTES, subaccount, SUBACCOUNT_BYTES);
    sha256(buf, sizeof buf, key);
}

char *u128_text(cmc_cycles_t v, char out[40])
{
    char tmp[40];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return out;
}

/* A status is stored up to the end of its reason text: most results have none, and a million
 * statuses are kept (CMC_MAX_NOTIFY_HISTORY). The reason is the last field of the record. */
_Static_assert(offsetof(cmc_notification_t, result) + sizeof(cmc_result_t) ==
                   sizeof(cmc_notification_t),
               "result is the last field of a status");
_Static_assert(offsetof(cmc_result_t, reason) + CMC_REASON_MAX <= sizeof(cmc_result_t),
               "reason is the last field of a result");

static size_t note_stored_size(const void *rec)
{
    const cmc_notification_t *n = rec;
    return offsetof(cmc_notification_t, result.reason) +
           strnlen(n->result.reason, CMC_REASON_MAX - 1) + 1;
}

/* ---- life cycle ---- */

cmc_t *cmc_new(const cmc_config_t *cfg)
{
    cmc_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = *cfg;
    if (!table_init(&c->notes, 8, sizeof(cmc_notification_t), note_stored_size) ||
        !table_init(&c->pending, 8, sizeof(cmc_pending_t), NULL) ||
        !table_init(&c->intents, 8, sizeof(cmc_intent_t), NULL) ||
        !table_init(&c->canisters, 32, sizeof(cmc_canister_t), NULL) ||
        !table_init(&c->accounts, 32, sizeof(cmc_cycles_account_t), NULL)) {
        table_free(&c->notes);
        table_free(&c->pending);
        table_free(&c->intents);
        table_free(&c->canisters);
        free(c);
        return NULL;
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    /* main.rs Default for State: the default rate is both the current and the average rate */
    c->core.rate.timestamp_seconds = CMC_DEFAULT_RATE_TIMESTAMP;
    c->core.rate.xdr_permyriad_per_icp = CMC_DEFAULT_RATE;
    c->core.has_average = true;
    c->core.average = c->core.rate;
    c->core.last_purged = cfg->last_purged_notification;
    c->core.next_intent_id = 1;
    cmc_limiter_init(&c->core.base, cfg->limit_resolution, cfg->limit_max_age);
    cmc_limiter_init(&c->core.src, cfg->src_limit_resolution, cfg->src_limit_max_age);
    c->subnets.next_range = 1; /* range 0 holds the NNS canisters */
    return c;
}

void cmc_destroy(cmc_t **cp)
{
    cmc_t *c = *cp;
    if (!c)
        return;
    table_free(&c->notes);
    table_free(&c->pending);
    table_free(&c->intents);
    table_free(&c->canisters);
    table_free(&c->accounts);
    subnets_free(&c->subnets);
    free(c->hist);
    pthread_rwlock_destroy(&c->lock);
    free(c);
    *cp = NULL;
}

const cmc_config_t *cmc_config(const cmc_t *c)
{
    return &c->cfg;
}

/* ---- history ---- */

static bool hist_append(cmc_rate_day_t **arr, size_t *n, size_t *cap, const cmc_rate_day_t *d)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        cmc_rate_day_t *a = realloc(*arr, nc * sizeof *a);
        if (!a)
            return false;
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = *d;
    return true;
}

/* Keeps the last CMC_HISTORY_KEEP days. */
static void hist_trim(cmc_t *c)
{
    if (c->nhist <= CMC_HISTORY_KEEP)
        return;
    size_t drop = c->nhist - CMC_HISTORY_KEEP;
    memmove(c->hist, c->hist + drop, CMC_HISTORY_KEEP * sizeof *c->hist);
    c->nhist = CMC_HISTORY_KEEP;
}

/* ---- loading ---- */

void cmc_load_info(cmc_t *c, const cmc_info_t *info)
{
    c->core.rate = info->rate;
    c->core.has_average = info->has_average;
    c->core.average = info->average;
    c->core.modulation = info->maturity_modulation;
    memcpy(c->core.cache, info->cache, sizeof c->core.cache);
    c->core.last_purged = info->last_purged_notification;
    c->core.total_minted = info->total_cycles_minted;
    c->core.held = info->held_cycles;
    c->core.next_intent_id = info->next_intent_id ? info->next_intent_id : 1;
    c->core.last_created_at = info->last_created_at;
    c->core.cycles_ledger_blocks = info->cycles_ledger_blocks;
    c->core.limiter_rejects = info->limiter_rejects;
    c->subnets.next_range = info->next_range ? info->next_range : 1;
}

bool cmc_load_history_day(cmc_t *c, const cmc_rate_day_t *d)
{
    if (c->nhist && d->day <= c->hist[c->nhist - 1].day)
        return false;
    if (!hist_append(&c->hist, &c->nhist, &c->caphist, d))
        return false;
    hist_trim(c);
    return true;
}

void cmc_load_limiter(cmc_t *c, int which, const cmc_limiter_t *l)
{
    if (which == 0)
        c->core.base = *l;
    else
        c->core.src = *l;
}

bool cmc_load_notification(cmc_t *c, const cmc_notification_t *n)
{
    if (n->status == CMC_STATUS_NONE)
        return false;
    if (n->block_index <= c->core.last_purged)
        return true; /* purged already: no status is kept at or below the horizon */
    uint8_t key[8];
    u64_key(n->block_index, key);
    return table_put(&c->notes, key, n);
}

bool cmc_load_pending(cmc_t *c, const cmc_pending_t *p)
{
    uint8_t key[8];
    u64_key(p->block_index, key);
    return table_put(&c->pending, key, p);
}

bool cmc_load_intent(cmc_t *c, const cmc_intent_t *i)
{
    uint8_t key[8];
    u64_key(i->id, key);
    if (i->id >= c->core.next_intent_id)
        c->core.next_intent_id = i->id + 1;
    return table_put(&c->intents, key, i);
}

bool cmc_load_canister(cmc_t *c, const cmc_canister_t *k)
{
    if (k->ncontrollers > CMC_MAX_CONTROLLERS)
        return false;
    uint8_t key[32];
    principal_key(&k->canister_id, key);
    return table_put(&c->canisters, key, k);
}

bool cmc_load_cycles_account(cmc_t *c, const cmc_cycles_account_t *a)
{
    uint8_t key[32];
    account_key(&a->account.owner, a->account.subaccount, key);
    return table_put(&c->accounts, key, a);
}

bool cmc_load_subnet_row(cmc_t *c, const cmc_subnet_row_t *row)
{
    return subnets_add_row(&c->subnets, row);
}

bool cmc_load_subnet_range(cmc_t *c, const cmc_subnet_range_t *range)
{
    if (range->range >= c->subnets.next_range)
        c->subnets.next_range = range->range + 1;
    return subnets_add_range(&c->subnets, range);
}

/* ---- reads ---- */

static void info_of(const cmc_t *c, const core_t *k, const subnets_t *s, cmc_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->rate = k->rate;
    out->has_average = k->has_average;
    out->average = k->average;
    out->maturity_modulation = k->modulation;
    memcpy(out->cache, k->cache, sizeof out->cache);
    out->last_purged_notification = k->last_purged;
    out->total_cycles_minted = k->total_minted;
    out->held_cycles = k->held;
    out->next_intent_id = k->next_intent_id;
    out->last_created_at = k->last_created_at;
    out->cycles_ledger_blocks = k->cycles_ledger_blocks;
    out->next_range = s->next_range;
    out->limiter_rejects = k->limiter_rejects;
    out->notifications = c->notes.map.count;
    out->in_flight = c->pending.map.count;
    out->canisters = c->canisters.map.count;
    out->cycles_accounts = c->accounts.map.count;
}

void cmc_info(cmc_t *c, cmc_info_t *out)
{
    pthread_rwlock_rdlock(&c->lock);
    info_of(c, &c->core, &c->subnets, out);
    pthread_rwlock_unlock(&c->lock);
}

void cmc_rate(cmc_t *c, cmc_rate_t *out)
{
    pthread_rwlock_rdlock(&c->lock);
    *out = c->core.rate;
    pthread_rwlock_unlock(&c->lock);
}

bool cmc_average_rate(cmc_t *c, cmc_rate_t *out)
{
    pthread_rwlock_rdlock(&c->lock);
    bool has = c->core.has_average;
    if (has)
        *out = c->core.average;
    pthread_rwlock_unlock(&c->lock);
    return has;
}

int32_t cmc_maturity_modulation(cmc_t *c)
{
    pthread_rwlock_rdlock(&c->lock);
    int32_t m = c->core.modulation;
    pthread_rwlock_unlock(&c->lock);
    return m;
}

size_t cmc_rate_history(cmc_t *c, uint64_t from_day, uint64_t to_day, cmc_rate_day_t *out,
                        size_t max)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < c->nhist && n < max; i++)
        if (c->hist[i].day >= from_day && c->hist[i].day <= to_day)
            out[n++] = c->hist[i];
    pthread_rwlock_unlock(&c->lock);
    return n;
}

bool cmc_notification(cmc_t *c, uint64_t block_index, cmc_notification_t *out)
{
    uint8_t key[8];
    u64_key(block_index, key);
    pthread_rwlock_rdlock(&c->lock);
    bool found = table_read(&c->notes, key, out);
    pthread_rwlock_unlock(&c->lock);
    return found;
}

bool cmc_canister(cmc_t *c, const principal_t *id, cmc_canister_t *out)
{
    uint8_t key[32];
    principal_key(id, key);
    pthread_rwlock_rdlock(&c->lock);
    const cmc_canister_t *k = table_get(&c->canisters, key);
    if (k)
        *out = *k;
    pthread_rwlock_unlock(&c->lock);
    return k != NULL;
}

cmc_cycles_t cmc_cycles_balance(cmc_t *c, const principal_t *owner, const uint8_t *subaccount)
{
    uint8_t key[32];
    account_key(owner, subaccount, key);
    pthread_rwlock_rdlock(&c->lock);
    const cmc_cycles_account_t *a = table_get(&c->accounts, key);
    cmc_cycles_t b = a ? a->balance : 0;
    pthread_rwlock_unlock(&c->lock);
    return b;
}

void cmc_minting_limit(cmc_t *c, uint64_t now_seconds, cmc_cycles_t *limit,
                       uint64_t *window_seconds, cmc_cycles_t *minted_in_window)
{
    pthread_rwlock_rdlock(&c->lock);
    cmc_limiter_t l = c->core.base; /* a copy: purging is a read here */
    pthread_rwlock_unlock(&c->lock);
    cmc_limiter_purge(&l, now_seconds);
    *limit = c->cfg.cycles_limit;
    *window_seconds = c->cfg.limit_max_age;
    *minted_in_window = l.total;
}

bool cmc_subnets(cmc_t *c, cmc_subnet_row_t **rows, size_t *n)
{
    bool ok = true;
    pthread_rwlock_rdlock(&c->lock);
    *rows = NULL;
    *n = c->subnets.n;
    if (*n) {
        *rows = malloc(*n * sizeof **rows);
        if (*rows)
            memcpy(*rows, c->subnets.rows, *n * sizeof **rows);
        else
            ok = false;
    }
    pthread_rwlock_unlock(&c->lock);
    if (!ok)
        *n = 0;
    return ok;
}

/* ---- rounds ---- */

cmc_round_t *cmc_round_begin(cmc_t *c)
{
    cmc_round_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    r->notes_live = c->notes.map.count;
    if (!overlay_init(&r->notes, 8, sizeof(cmc_notification_t)) ||
        !overlay_init(&r->pending, 8, sizeof(cmc_pending_t)) ||
        !overlay_init(&r->intents, 8, sizeof(cmc_intent_t)) ||
        !overlay_init(&r->canisters, 32, sizeof(cmc_canister_t)) ||
        !overlay_init(&r->accounts, 32, sizeof(cmc_cycles_account_t))) {
        cmc_round_discard(c, &r);
        return NULL;
    }
    return r;
}

core_t *round_core(cmc_round_t *r)
{
    if (!r->core) {
        r->core = malloc(sizeof *r->core);
        if (!r->core)
            return NULL;
        *r->core = r->c->core;
    }
    return r->core;
}

subnets_t *round_subnets(cmc_round_t *r)
{
    if (!r->subnets) {
        subnets_t *s = calloc(1, sizeof *s);
        if (!s || !subnets_copy(s, &r->c->subnets)) {
            free(s);
            return NULL;
        }
        r->subnets = s;
    }
    return r->subnets;
}

static void round_free(cmc_round_t **rp)
{
    cmc_round_t *r = *rp;
    if (!r)
        return;
    overlay_free(&r->notes);
    overlay_free(&r->pending);
    overlay_free(&r->intents);
    overlay_free(&r->canisters);
    overlay_free(&r->accounts);
    if (r->subnets) {
        subnets_free(r->subnets);
        free(r->subnets);
    }
    free(r->core);
    free(r->fresh);
    free(r->finished);
    free(r->hist);
    free(r);
    *rp = NULL;
}

void cmc_round_discard(cmc_t *c, cmc_round_t **rp)
{
    (void)c;
    round_free(rp);
}

/* Deletes the committed statuses in (old_horizon, horizon] (none is kept at or below
 * old_horizon): by key when the range is short, else by a scan of the map. */
static void purge_committed(cmc_t *c, uint64_t old_horizon, uint64_t horizon)
{
    if (horizon - old_horizon <= c->notes.map.count) {
        for (uint64_t b = old_horizon + 1; b <= horizon && b != 0; b++) {
            uint8_t key[8];
            u64_key(b, key);
            table_del(&c->notes, key);
        }
        return;
    }
    size_t n = 0;
    uint64_t *gone = malloc((c->notes.map.count + 1) * sizeof *gone);
    if (!gone)
        abort();
    for (size_t i = 0; i < c->notes.map.cap; i++) {
        const cmc_notification_t *rec = table_slot(&c->notes, i);
        if (rec && rec->block_index <= horizon)
            gone[n++] = rec->block_index;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8];
        u64_key(gone[i], key);
        table_del(&c->notes, key);
    }
    free(gone);
}

void cmc_round_commit(cmc_t *c, cmc_round_t **rp)
{
    cmc_round_t *r = *rp;
    pthread_rwlock_wrlock(&c->lock);
    uint64_t old_horizon = c->core.last_purged;
    if (r->core)
        c->core = *r->core;
    if (r->subnets) {
        subnets_free(&c->subnets);
        c->subnets = *r->subnets;
        free(r->subnets);
        r->subnets = NULL;
    }
    overlay_merge(&r->notes, &c->notes);
    if (r->purged)
        purge_committed(c, old_horizon, c->core.last_purged);
    overlay_merge(&r->pending, &c->pending);
    overlay_merge(&r->intents, &c->intents);
    overlay_merge(&r->canisters, &c->canisters);
    overlay_merge(&r->accounts, &c->accounts);
    for (size_t i = 0; i < r->nhist; i++)
        if (!hist_append(&c->hist, &c->nhist, &c->caphist, &r->hist[i]))
            abort();
    hist_trim(c);
    pthread_rwlock_unlock(&c->lock);
    round_free(rp);
}

/* ---- the round's changes ---- */

const cmc_notification_t *cmc_round_notifications(const cmc_round_t *r, size_t *n)
{
    *n = r->notes.n;
    return (const cmc_notification_t *)(const void *)r->notes.recs;
}

bool cmc_round_purged(const cmc_round_t *r, uint64_t *horizon)
{
    *horizon = core_of(r->c, r)->last_purged;
    return r->purged;
}

const cmc_pending_t *cmc_round_pending(const cmc_round_t *r, const bool **removed, size_t *n)
{
    *n = r->pending.n;
    *removed = r->pending.removed;
    return (const cmc_pending_t *)(const void *)r->pending.recs;
}

const cmc_intent_t *cmc_round_intents(const cmc_round_t *r, size_t *n)
{
    *n = r->nfresh;
    return r->fresh;
}

const uint64_t *cmc_round_finished_intents(const cmc_round_t *r, size_t *n)
{
    *n = r->nfinished;
    return r->finished;
}

const cmc_canister_t *cmc_round_canisters(const cmc_round_t *r, size_t *n)
{
    *n = r->canisters.n;
    return (const cmc_canister_t *)(const void *)r->canisters.recs;
}

const cmc_cycles_account_t *cmc_round_cycles_accounts(const cmc_round_t *r, size_t *n)
{
    *n = r->accounts.n;
    return (const cmc_cycles_account_t *)(const void *)r->accounts.recs;
}

const cmc_rate_day_t *cmc_round_history(const cmc_round_t *r, size_t *n)
{
    *n = r->nhist;
    return r->hist;
}

void cmc_round_info(const cmc_round_t *r, cmc_info_t *out)
{
    info_of(r->c, core_of(r->c, r), subnets_of(r->c, r), out);
    out->notifications = r->notes_live;
}

bool cmc_round_limiter(const cmc_round_t *r, int which, const cmc_limiter_t **out)
{
    const core_t *k = core_of(r->c, r);
    *out = which == 0 ? &k->base : &k->src;
    return r->limiter_dirty;
}

bool cmc_round_subnets(const cmc_round_t *r, const cmc_subnet_row_t **rows, size_t *nrows,
                       const cmc_subnet_range_t **ranges, size_t *nranges)
{
    const subnets_t *s = subnets_of(r->c, r);
    *rows = s->rows;
    *nrows = s->n;
    *ranges = s->ranges;
    *nranges = s->nr;
    return r->subnets != NULL;
}

/* ---- rates (2.3, 2.4) ---- */

static bool oom(nns_error_t *err)
{
    return nns_error_set(err, 500, "OutOfMemory", "out of memory");
}

/* main.rs set_icp_xdr_conversion_rate (validation) and update_recent_icp_xdr_rates (cache,
 * average, modulation); the cache is updated only for an accepted rate (spec 2.3). */
bool cmc_apply_set_rate(cmc_t *c, cmc_round_t *r, cmc_role_t role, const cmc_rate_t *rate,
                        uint64_t now, nns_error_t *err)
{
    if (role != CMC_ROLE_GOVERNANCE && role != CMC_ROLE_RATE_ORACLE)
        return nns_error_set(err, 403, "Unauthorized",
                             "only governance or the rate oracle may set the ICP/XDR rate");
    if (rate->xdr_permyriad_per_icp == 0)
        return nns_error_set(err, 400, "InvalidRate",
                             "Proposed conversion rate must be greater than 0");
    const core_t *cur = core_of(c, r);
    if (rate->timestamp_seconds <= cur->rate.timestamp_seconds)
        return nns_error_set(err, 400, "InvalidRate",
                             "Proposed conversion rate must have greater timestamp than current "
                             "one");
    uint64_t day = rate->timestamp_seconds / DAY_SECONDS;
    const cmc_rate_day_t *last = r->nhist ? &r->hist[r->nhist - 1]
                                 : c->nhist ? &c->hist[c->nhist - 1]
                                            : NULL;
    if (!last || day > last->day) {
        cmc_rate_day_t d = {day, rate->timestamp_seconds, rate->xdr_permyriad_per_icp};
        if (!hist_append(&r->hist, &r->nhist, &r->caphist, &d))
            return oom(err);
    }
    core_t *k = round_core(r);
    if (!k)
        return oom(err);
    k->rate = *rate;
    cmc_rate_t *slot = &k->cache[day % CMC_CACHE_SLOTS];
    uint64_t slot_day = slot->timestamp_seconds / DAY_SECONDS;
    if (slot_day < day || (slot_day == day && slot->timestamp_seconds > rate->timestamp_seconds)) {
        *slot = *rate;
        cmc_rate_t avg;
        if (cmc_average_at(k->cache, now / NANOS, &avg)) {
            k->has_average = true;
            k->average = avg;
        }
        k->modulation = cmc_maturity_modulation_at(k->cache, now / NANOS);
    }
    return true;
}
