#include "ledger.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hmap.h"

#define NANOS 1000000000ULL

typedef struct {
    uint64_t timestamp;
    uint8_t hash[32];
} dedup_entry_t;

/* The chain tip and supply counters: committed in the ledger, tentative in a round. */
typedef struct {
    uint64_t token_pool, minted, burned, fees;
    uint64_t chain_length, tip_ts;
    bool has_tip;
    uint8_t tip_hash[32];
} chain_t;

/* A FIFO of remembered transactions, oldest first, in blocks of RING_BLOCK entries: it grows
 * by a block and shrinks by one, never by copying. As one array doubling under the write lock
 * it copied 2 million entries into 168 MB of fresh memory, a pause of the open loop
 * (docs/benchmarks.md). */
#define RING_BLOCK 65536
typedef struct {
    dedup_entry_t **blocks; /* nblocks blocks in use, of room for cap_blocks pointers */
    size_t nblocks, cap_blocks;
    size_t head;  /* the oldest entry's place in blocks[0] */
    size_t count; /* entries */
} dedup_ring_t;

/* The deduplication window holds every transaction of the last 24 hours: millions at a few
 * thousand a second. One map of them doubles by rehashing every entry under the write lock, a
 * pause of hundreds of milliseconds at millions of entries during which no round commits and no
 * balance is read (a stall of the open loop in docs/benchmarks.md). Spread over 256 maps chosen
 * by a hash's last byte (the maps place keys by their first bytes), each doubles at 1/256 of
 * the size, and the doublings of uniform digests fall in different rounds. */
#define DEDUP_SHARDS 256

struct ledger {
    ledger_config_t cfg;
    pthread_rwlock_t lock;      /* readers vs. the state thread's commit */
    hmap_t balances;            /* hash28 -> {balance, tx_count} */
    hmap_t dedup[DEDUP_SHARDS]; /* tx hash -> {height, block timestamp}, see dedup_shard */
    hmap_t allowances;          /* SHA-256(owner || spender) -> {amount, expires_at or 0} */
    dedup_ring_t ring;
    chain_t chain;
    ledger_round_t *newest; /* the last round begun and not yet committed or discarded */
};

/* A round sees committed state through the rounds begun before it and not yet committed (its
 * parent, the parent's parent...): the state thread applies round N+1 while N commits. */
struct ledger_round {
    ledger_round_t *parent, *child;
    hmap_t balances;                   /* overlay of changed accounts */
    hmap_t dedup;                      /* transactions remembered by this round */
    hmap_t allowances;                 /* overlay of changed allowances */
    ledger_allowance_rec_t *allow_log; /* every allowance change, in order */
    size_t nallow, allow_cap;
    dedup_entry_t *fresh;
    size_t nfresh, fresh_cap;
    size_t purged; /* committed ring entries this round expires */
    ledger_block_rec_t *blocks;
    size_t nblocks, blocks_cap;
    chain_t chain; /* the counters as of this round */
};

static void allowance_key(const account_id_t *owner, const account_id_t *spender, uint8_t key[32]);
static hval_t current_allowance(const ledger_t *l, const ledger_round_t *r,
                                const account_id_t *owner, const account_id_t *spender,
                                uint64_t now);
static bool icrc_fee_rules(const ledger_t *l, const ledger_round_t *r, const account_id_t *from,
                           const account_id_t *to, uint64_t amount, bool has_fee, uint64_t fee,
                           operation_t *op, nns_error_t *err);
static void set_memo(transaction_t *tx, bool has, uint8_t len, const uint8_t *memo);

/* ---- dedup ring ---- */

static hmap_t *dedup_shard(ledger_t *l, const uint8_t hash[32])
{
    return &l->dedup[hash[31] % DEDUP_SHARDS];
}

static const hval_t *dedup_get(const ledger_t *l, const uint8_t hash[32])
{
    return hmap_get(&l->dedup[hash[31] % DEDUP_SHARDS], hash);
}

static const dedup_entry_t *ring_at(const dedup_ring_t *q, size_t i)
{
    size_t j = q->head + i;
    return &q->blocks[j / RING_BLOCK][j % RING_BLOCK];
}

static bool ring_push(dedup_ring_t *q, uint64_t ts, const uint8_t hash[32])
{
    size_t j = q->head + q->count;
    if (j / RING_BLOCK == q->nblocks) { /* the last block is full (or there is none) */
        if (q->nblocks == q->cap_blocks) {
            size_t cap = q->cap_blocks ? q->cap_blocks * 2 : 16;
            dedup_entry_t **b = realloc(q->blocks, cap * sizeof *b);
            if (!b)
                return false;
            q->blocks = b;
            q->cap_blocks = cap;
        }
        if (!(q->blocks[q->nblocks] = malloc(RING_BLOCK * sizeof(dedup_entry_t))))
            return false;
        q->nblocks++;
    }
    dedup_entry_t *e = &q->blocks[j / RING_BLOCK][j % RING_BLOCK];
    e->timestamp = ts;
    memcpy(e->hash, hash, 32);
    q->count++;
    return true;
}

/* Drops the oldest entry; a block emptied is freed. */
static void ring_pop(dedup_ring_t *q)
{
    q->count--;
    if (++q->head < RING_BLOCK && q->count)
        return;
    if (q->head == RING_BLOCK || !q->count) {
        free(q->blocks[0]);
        memmove(q->blocks, q->blocks + 1, (q->nblocks - 1) * sizeof *q->blocks);
        q->nblocks--;
        q->head = 0;
    }
}

static void ring_free(dedup_ring_t *q)
{
    for (size_t i = 0; i < q->nblocks; i++)
        free(q->blocks[i]);
    free(q->blocks);
    memset(q, 0, sizeof *q);
}

/* ---- life cycle ---- */

ledger_t *ledger_new(const ledger_config_t *cfg)
{
    ledger_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->cfg = *cfg;
    bool ok =
        hmap_init(&l->balances, ACCOUNT_HASH_BYTES, 1024) && hmap_init(&l->allowances, 32, 64);
    for (size_t i = 0; ok && i < DEDUP_SHARDS; i++)
        ok = hmap_init(&l->dedup[i], 32, 16);
    if (!ok) {
        hmap_free(&l->balances);
        hmap_free(&l->allowances);
        for (size_t i = 0; i < DEDUP_SHARDS; i++)
            hmap_free(&l->dedup[i]);
        free(l);
        return NULL;
    }
    /* prefer the writer: a stream of balance reads must not hold a round's merge back */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&l->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    l->chain.token_pool = UINT64_MAX;
    return l;
}

void ledger_destroy(ledger_t **lp)
{
    ledger_t *l = *lp;
    if (!l)
        return;
    hmap_free(&l->balances);
    for (size_t i = 0; i < DEDUP_SHARDS; i++)
        hmap_free(&l->dedup[i]);
    hmap_free(&l->allowances);
    ring_free(&l->ring);
    pthread_rwlock_destroy(&l->lock);
    free(l);
    *lp = NULL;
}

const ledger_config_t *ledger_config(const ledger_t *l)
{
    return &l->cfg;
}

/* ---- loading ---- */

bool ledger_load_balance(ledger_t *l, const account_id_t *id, uint64_t balance, uint64_t count)
{
    hval_t *v = hmap_put(&l->balances, id->hash, NULL);
    if (!v)
        return false;
    v->a = balance;
    v->b = count;
    return true;
}

void ledger_load_tip(ledger_t *l, uint64_t chain_length, const uint8_t tip_hash[32],
                     uint64_t tip_timestamp, uint64_t minted, uint64_t burned, uint64_t fees)
{
    l->chain.chain_length = chain_length;
    l->chain.has_tip = chain_length > 0;
    if (l->chain.has_tip)
        memcpy(l->chain.tip_hash, tip_hash, 32);
    l->chain.tip_ts = tip_timestamp;
    l->chain.minted = minted;
    l->chain.burned = burned;
    l->chain.fees = fees;
    l->chain.token_pool = UINT64_MAX - (minted - burned - fees);
}

bool ledger_load_dedup(ledger_t *l, const uint8_t tx_hash[32], uint64_t height,
                       uint64_t block_timestamp)
{
    hval_t *v = hmap_put(dedup_shard(l, tx_hash), tx_hash, NULL);
    if (!v || !ring_push(&l->ring, block_timestamp, tx_hash))
        return false;
    v->a = height;
    v->b = block_timestamp;
    return true;
}

bool ledger_load_allowance(ledger_t *l, const ledger_allowance_rec_t *a)
{
    if (a->allowance == 0)
        return true;
    uint8_t key[32];
    allowance_key(&a->owner, &a->spender, key);
    hval_t *v = hmap_put(&l->allowances, key, NULL);
    if (!v)
        return false;
    v->a = a->allowance;
    v->b = a->has_expires_at ? a->expires_at : 0;
    return true;
}

bool ledger_check(ledger_t *l, nns_error_t *err)
{
    if (l->chain.minted < l->chain.burned || l->chain.minted - l->chain.burned < l->chain.fees)
        return nns_error_set(err, 500, "CorruptState",
                             "supply counters inconsistent: minted %llu, burned %llu, fees %llu",
                             (unsigned long long)l->chain.minted,
                             (unsigned long long)l->chain.burned,
                             (unsigned long long)l->chain.fees);
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < l->balances.cap; i++)
        if (l->balances.used[i])
            sum += l->balances.vals[i].a;
    uint64_t supply = UINT64_MAX - l->chain.token_pool;
    if (sum != supply)
        return nns_error_set(err, 500, "CorruptState",
                             "balances add up to %llu but the total supply is %llu",
                             (unsigned long long)sum, (unsigned long long)supply);
    return true;
}

/* ---- reads ---- */

void ledger_balance(ledger_t *l, const account_id_t *id, uint64_t *balance, uint64_t *count)
{
    pthread_rwlock_rdlock(&l->lock);
    const hval_t *v = hmap_get(&l->balances, id->hash);
    *balance = v ? v->a : 0;
    *count = v ? v->b : 0;
    pthread_rwlock_unlock(&l->lock);
}

void ledger_allowance(ledger_t *l, const account_id_t *owner, const account_id_t *spender,
                      uint64_t now, uint64_t *allowance, bool *has_expires_at, uint64_t *expires_at)
{
    pthread_rwlock_rdlock(&l->lock);
    hval_t v = current_allowance(l, NULL, owner, spender, now);
    pthread_rwlock_unlock(&l->lock);
    *allowance = v.a;
    *has_expires_at = v.b != 0;
    *expires_at = v.b;
}

/* Fills the chain fields of out and zeroes the rest. */
static void chain_info(const chain_t *c, ledger_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->chain_length = c->chain_length;
    out->has_tip = c->has_tip;
    memcpy(out->tip_hash, c->tip_hash, 32);
    out->tip_timestamp = c->tip_ts;
    out->total_supply = UINT64_MAX - c->token_pool;
    out->minted = c->minted;
    out->burned = c->burned;
    out->fees_burned = c->fees;
}

void ledger_info(ledger_t *l, ledger_info_t *out)
{
    pthread_rwlock_rdlock(&l->lock);
    chain_info(&l->chain, out);
    out->accounts = l->balances.count;
    out->remembered_transactions = 0; /* what lookups see: the maps (the ring agrees) */
    for (size_t i = 0; i < DEDUP_SHARDS; i++)
        out->remembered_transactions += l->dedup[i].count;
    out->allowances = l->allowances.count;
    out->memory_bytes = hmap_memory(&l->balances) + hmap_memory(&l->allowances) +
                        l->ring.nblocks * RING_BLOCK * sizeof(dedup_entry_t) +
                        l->ring.cap_blocks * sizeof(dedup_entry_t *);
    for (size_t i = 0; i < DEDUP_SHARDS; i++)
        out->memory_bytes += hmap_memory(&l->dedup[i]);
    pthread_rwlock_unlock(&l->lock);
}

/* ---- rounds ---- */

ledger_round_t *ledger_round_begin(ledger_t *l)
{
    ledger_round_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!hmap_init(&r->balances, ACCOUNT_HASH_BYTES, 256) || !hmap_init(&r->dedup, 32, 256) ||
        !hmap_init(&r->allowances, 32, 16)) {
        hmap_free(&r->balances);
        hmap_free(&r->dedup);
        free(r);
        return NULL;
    }
    r->parent = l->newest;
    if (r->parent)
        r->parent->child = r;
    r->chain = r->parent ? r->parent->chain : l->chain;
    l->newest = r;
    return r;
}

static void round_free(ledger_round_t **rp)
{
    ledger_round_t *r = *rp;
    if (!r)
        return;
    hmap_free(&r->balances);
    hmap_free(&r->dedup);
    hmap_free(&r->allowances);
    free(r->allow_log);
    free(r->fresh);
    free(r->blocks);
    free(r);
    *rp = NULL;
}

/* The balance of id as of this round: the latest change of this round or an earlier pending
 * one, else the committed value. */
static hval_t current(const ledger_t *l, const ledger_round_t *r, const account_id_t *id)
{
    const hval_t *v = NULL;
    for (; r && !v; r = r->parent)
        v = hmap_get(&r->balances, id->hash);
    if (!v)
        v = hmap_get(&l->balances, id->hash);
    return v ? *v : (hval_t){0, 0};
}

static bool account_is(const account_id_t *a, const account_id_t *b)
{
    return memcmp(a->hash, b->hash, ACCOUNT_HASH_BYTES) == 0;
}

static void allowance_key(const account_id_t *owner, const account_id_t *spender, uint8_t key[32])
{
    uint8_t buf[2 * ACCOUNT_HASH_BYTES];
    memcpy(buf, owner->hash, ACCOUNT_HASH_BYTES);
    memcpy(buf + ACCOUNT_HASH_BYTES, spender->hash, ACCOUNT_HASH_BYTES);
    sha256(buf, sizeof buf, key);
}

/* The allowance as of this round at time now; an expired allowance is 0. */
static hval_t current_allowance(const ledger_t *l, const ledger_round_t *r,
                                const account_id_t *owner, const account_id_t *spender,
                                uint64_t now)
{
    uint8_t key[32];
    allowance_key(owner, spender, key);
    const hval_t *v = NULL;
    for (; r && !v; r = r->parent)
        v = hmap_get(&r->allowances, key);
    if (!v)
        v = hmap_get(&l->allowances, key);
    if (!v || v->a == 0 || (v->b != 0 && v->b <= now))
        return (hval_t){0, 0};
    return *v;
}

/* Records an allowance change; room was reserved (reserve()), so it cannot fail. */
static bool set_allowance(ledger_round_t *r, const account_id_t *owner, const account_id_t *spender,
                          uint64_t amount, uint64_t expires_at)
{
    if (r->nallow == r->allow_cap)
        return false;
    uint8_t key[32];
    allowance_key(owner, spender, key);
    hval_t *v = hmap_put(&r->allowances, key, NULL);
    if (!v)
        return false;
    v->a = amount;
    v->b = amount ? expires_at : 0;
    r->allow_log[r->nallow++] =
        (ledger_allowance_rec_t){.owner = *owner,
                                 .spender = *spender,
                                 .allowance = amount,
                                 .has_expires_at = amount && expires_at != 0,
                                 .expires_at = amount ? expires_at : 0};
    return true;
}

/* Remembered entries of the round's combined window, by position (oldest first): the window
 * the round started from (its parent's, or the committed ring), less the entries it expired,
 * plus the ones it added. */
static size_t window_count(const ledger_t *l, const ledger_round_t *r);

static size_t base_count(const ledger_t *l, const ledger_round_t *r)
{
    return r->parent ? window_count(l, r->parent) : l->ring.count;
}

static size_t window_count(const ledger_t *l, const ledger_round_t *r)
{
    return base_count(l, r) - r->purged + r->nfresh;
}

static uint64_t window_ts_at(const ledger_t *l, const ledger_round_t *r, size_t i)
{
    size_t old = base_count(l, r) - r->purged;
    if (i >= old)
        return r->fresh[i - old].timestamp;
    return r->parent ? window_ts_at(l, r->parent, r->purged + i)
                     : ring_at(&l->ring, r->purged + i)->timestamp;
}

/* Expires remembered transactions (spec 3.5 step 1) and applies the throttle (step 2). */
static bool purge_and_throttle(const ledger_t *l, ledger_round_t *r, uint64_t now, nns_error_t *err)
{
    size_t purged_now = 0;
    uint64_t horizon = l->cfg.window_nanos + LEDGER_PERMITTED_DRIFT_NANOS;
    while (purged_now < LEDGER_MAX_PURGE && window_count(l, r) > r->nfresh) {
        uint64_t ts = window_ts_at(l, r, 0);
        if (ts + horizon >= now)
            break;
        r->purged++;
        purged_now++;
    }
    size_t count = window_count(l, r);
    if (purged_now == 0 && count >= l->cfg.max_in_window / 2) {
        uint64_t secs = l->cfg.window_nanos / NANOS;
        uint64_t max_rate = secs ? (l->cfg.max_in_window / 2 + secs - 1) / secs : 1;
        if (max_rate == 0)
            max_rate = 1;
        if (count >= max_rate && window_ts_at(l, r, count - max_rate) + NANOS > now)
            return nns_error_set(err, 429, "TemporarilyUnavailable",
                                 "too many transactions in replay prevention window, ledger is "
                                 "throttling, please retry later");
    }
    return true;
}

/* Looks a transaction hash up in the round's window; returns its block index. */
static bool remembered(const ledger_t *l, const ledger_round_t *r, const uint8_t hash[32],
                       uint64_t *height)
{
    const hval_t *v = NULL;
    for (; r && !v; r = r->parent)
        v = hmap_get(&r->dedup, hash);
    if (!v)
        v = dedup_get(l, hash);
    if (!v)
        return false;
    *height = v->a;
    return true;
}

static bool check_time(const ledger_t *l, const ledger_round_t *r, const transaction_t *tx,
                       const uint8_t hash[32], bool legacy, uint64_t now, nns_error_t *err)
{
    if (!tx->has_created_at_time)
        return true;
    uint64_t t = tx->created_at_time;
    /* t + window < now, without the overflow that made a time near u64 max "too old": such a
     * time is in the future (the check below) */
    if (t < now && now - t > l->cfg.window_nanos) {
        nns_error_set(err, 422, legacy ? "TxTooOld" : "TooOld",
                      "transaction created at %llu is older than the %llu ns window",
                      (unsigned long long)t, (unsigned long long)l->cfg.window_nanos);
        nns_error_add(err, "allowed_window_nanos", l->cfg.window_nanos);
        return false;
    }
    if (t > now + LEDGER_PERMITTED_DRIFT_NANOS) {
        nns_error_set(err, 422, legacy ? "TxCreatedInFuture" : "CreatedInFuture",
                      "transaction created at %llu is in the future of ledger time %llu",
                      (unsigned long long)t, (unsigned long long)now);
        nns_error_add(err, "ledger_time_nanos", now);
        return false;
    }
    uint64_t dup;
    if (remembered(l, r, hash, &dup)) {
        nns_error_set(err, 409, legacy ? "TxDuplicate" : "Duplicate",
                      "transaction is a duplicate of block %llu", (unsigned long long)dup);
        nns_error_add(err, "duplicate_of", dup);
        return false;
    }
    return true;
}

static bool insufficient(nns_error_t *err, uint64_t balance, uint64_t needed)
{
    nns_error_set(err, 422, "InsufficientFunds",
                  "balance %llu e8s is less than the %llu e8s needed", (unsigned long long)balance,
                  (unsigned long long)needed);
    nns_error_add(err, "balance_e8s", balance);
    return false;
}

static bool set_balance(ledger_round_t *r, const account_id_t *id, uint64_t balance, uint64_t count)
{
    hval_t *v = hmap_put(&r->balances, id->hash, NULL);
    if (!v)
        return false;
    v->a = balance;
    v->b = count;
    return true;
}

/* Reserves room for everything one command may add (a block, a remembered transaction, three
 * balances, an allowance), so that a command either applies whole or not at all. */
static bool reserve(ledger_round_t *r)
{
    if (!hmap_reserve(&r->balances, 3) || !hmap_reserve(&r->dedup, 1) ||
        !hmap_reserve(&r->allowances, 1))
        return false;
    if (r->nallow == r->allow_cap) {
        size_t cap = r->allow_cap ? r->allow_cap * 2 : 16;
        ledger_allowance_rec_t *a = realloc(r->allow_log, cap * sizeof *a);
        if (!a)
            return false;
        r->allow_log = a;
        r->allow_cap = cap;
    }
    if (r->nblocks == r->blocks_cap) {
        size_t cap = r->blocks_cap ? r->blocks_cap * 2 : 64;
        ledger_block_rec_t *b = realloc(r->blocks, cap * sizeof *b);
        if (!b)
            return false;
        r->blocks = b;
        r->blocks_cap = cap;
    }
    if (r->nfresh == r->fresh_cap) {
        size_t cap = r->fresh_cap ? r->fresh_cap * 2 : 64;
        dedup_entry_t *f = realloc(r->fresh, cap * sizeof *f);
        if (!f)
            return false;
        r->fresh = f;
        r->fresh_cap = cap;
    }
    return true;
}

/* Adds account to the block's named accounts (once) with its current value; returns its index. */
static int name_account(const ledger_t *l, const ledger_round_t *r, account_id_t *named,
                        hval_t *val, int *n, const account_id_t *account)
{
    for (int i = 0; i < *n; i++)
        if (account_is(&named[i], account))
            return i;
    named[*n] = *account;
    val[*n] = current(l, r, account);
    return (*n)++;
}

/* Checks time and duplicates, applies the balance effects and appends the block. */
static bool execute(ledger_t *l, ledger_round_t *r, const transaction_t *tx, bool legacy,
                    uint64_t now, uint64_t *height, nns_error_t *err)
{
    if (!reserve(r))
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    if (now < r->chain.tip_ts)
        now = r->chain.tip_ts; /* block timestamps never decrease */
    size_t purged_before = r->purged;
    if (!purge_and_throttle(l, r, now, err))
        return false;
    uint8_t tx_hash[32];
    transaction_hash(tx, tx_hash);
    if (!check_time(l, r, tx, tx_hash, legacy, now, err)) {
        r->purged = purged_before;
        return false;
    }
    const operation_t *op = &tx->op;
    uint64_t pool = r->chain.token_pool;
    /* the accounts the block names (from, to, spender), each once, with their new values */
    account_id_t named[3];
    hval_t val[3];
    int nnamed = 0;
    int ifrom = -1, ito = -1;
    if (op->kind != OP_MINT)
        ifrom = name_account(l, r, named, val, &nnamed, &op->from);
    if (op->kind == OP_MINT || op->kind == OP_TRANSFER)
        ito = name_account(l, r, named, val, &nnamed, &op->to);
    if (op->kind == OP_APPROVE || op->has_spender)
        name_account(l, r, named, val, &nnamed, &op->spender);
    for (int i = 0; i < nnamed; i++)
        val[i].b++;

    /* transfer_from: the spender's allowance covers amount (+ fee) unless it is the owner */
    bool use_allowance =
        op->has_spender && op->kind != OP_APPROVE && !account_is(&op->from, &op->spender);
    hval_t allowance = {0, 0};
    uint64_t need = op->amount + (op->kind == OP_TRANSFER ? op->fee : 0);
    if (use_allowance) {
        allowance = current_allowance(l, r, &op->from, &op->spender, now);
        if (need < op->amount || allowance.a < need) {
            r->purged = purged_before;
            nns_error_set(err, 422, "InsufficientAllowance",
                          "allowance %llu e8s is less than the %llu e8s needed",
                          (unsigned long long)allowance.a,
                          (unsigned long long)(need < op->amount ? UINT64_MAX : need));
            nns_error_add(err, "allowance_e8s", allowance.a);
            return false;
        }
    }
    switch (op->kind) {
    case OP_MINT:
        if (pool < op->amount) {
            r->purged = purged_before;
            return nns_error_set(err, 400, "InvalidTransaction",
                                 "mint of %llu e8s exceeds the token pool",
                                 (unsigned long long)op->amount);
        }
        pool -= op->amount;
        val[ito].a += op->amount;
        break;
    case OP_BURN:
        if (val[ifrom].a < op->amount) {
            r->purged = purged_before;
            return insufficient(err, val[ifrom].a, op->amount);
        }
        val[ifrom].a -= op->amount;
        pool += op->amount;
        break;
    case OP_TRANSFER: {
        uint64_t debit = op->amount + op->fee;
        if (debit < op->amount || val[ifrom].a < debit) {
            r->purged = purged_before;
            return insufficient(err, val[ifrom].a, debit < op->amount ? UINT64_MAX : debit);
        }
        val[ifrom].a -= debit;
        val[ito].a += op->amount; /* ito == ifrom for a self transfer: net -fee */
        pool += op->fee;
        break;
    }
    case OP_APPROVE: {
        if (val[ifrom].a < op->fee) {
            r->purged = purged_before;
            return insufficient(err, val[ifrom].a, op->fee);
        }
        if (op->has_expires_at && op->expires_at <= now) {
            r->purged = purged_before;
            nns_error_set(err, 422, "Expired", "approval expires at %llu, before ledger time %llu",
                          (unsigned long long)op->expires_at, (unsigned long long)now);
            nns_error_add(err, "ledger_time_nanos", now);
            return false;
        }
        hval_t cur = current_allowance(l, r, &op->from, &op->spender, now);
        if (op->has_expected_allowance && op->expected_allowance != cur.a) {
            r->purged = purged_before;
            nns_error_set(err, 409, "AllowanceChanged",
                          "the current allowance is %llu e8s, not the expected %llu e8s",
                          (unsigned long long)cur.a, (unsigned long long)op->expected_allowance);
            nns_error_add(err, "current_allowance_e8s", cur.a);
            return false;
        }
        val[ifrom].a -= op->fee;
        pool += op->fee;
        break;
    }
    }
    bool ok = true;
    for (int i = 0; i < nnamed && ok; i++)
        ok = set_balance(r, &named[i], val[i].a, val[i].b);
    if (ok && op->kind == OP_APPROVE)
        ok = set_allowance(r, &op->from, &op->spender, op->allowance,
                           op->has_expires_at ? op->expires_at : 0);
    if (ok && use_allowance)
        ok = set_allowance(r, &op->from, &op->spender, allowance.a - need, allowance.b);
    if (!ok) {
        r->purged = purged_before;
        return nns_error_set(err, 503, "Unavailable", "out of memory");
    }
    if (op->kind == OP_MINT)
        r->chain.minted += op->amount;
    else if (op->kind == OP_BURN)
        r->chain.burned += op->amount;
    else
        r->chain.fees += op->fee; /* transfers and approvals burn their fee */
    r->chain.token_pool = pool;

    ledger_block_rec_t *rec = &r->blocks[r->nblocks++];
    memset(rec, 0, sizeof *rec);
    rec->height = r->chain.chain_length;
    rec->block.has_parent = r->chain.has_tip;
    memcpy(rec->block.parent_hash, r->chain.tip_hash, 32);
    rec->block.timestamp = now;
    rec->block.tx = *tx;
    rec->encoded_len = block_encode(&rec->block, rec->encoded, sizeof rec->encoded);
    block_hash(rec->encoded, rec->encoded_len, rec->hash);
    memcpy(rec->tx_hash, tx_hash, 32);
    if (tx->has_created_at_time) {
        hval_t *d = hmap_put(&r->dedup, tx_hash, NULL);
        if (!d)
            abort(); /* room was reserved */
        d->a = rec->height;
        d->b = now;
        r->fresh[r->nfresh].timestamp = now;
        memcpy(r->fresh[r->nfresh].hash, tx_hash, 32);
        r->nfresh++;
    }
    r->chain.chain_length++;
    r->chain.has_tip = true;
    memcpy(r->chain.tip_hash, rec->hash, 32);
    r->chain.tip_ts = now;
    *height = rec->height;
    return true;
}

bool ledger_apply_transfer(ledger_t *l, ledger_round_t *r, const transfer_args_t *a, uint64_t now,
                           uint64_t *height, nns_error_t *err)
{
    const ledger_config_t *cfg = &l->cfg;
    bool legacy = a->kind == TRANSFER_LEGACY;
    if (principal_is_anonymous(&a->caller))
        return nns_error_set(err, 403, "NotAuthorized",
                             "anonymous principal cannot hold tokens on the ledger");
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    account_id_t from;
    account_id_of(&a->caller, a->from_subaccount, &from);
    bool from_minting = account_is(&from, &cfg->minting_account);
    bool to_minting = account_is(&a->to, &cfg->minting_account);
    if (legacy) {
        if (from_minting) {
            if (a->fee != 0)
                return nns_error_set(err, 400, "InvalidTransaction",
                                     "fee for minting should be zero");
            if (to_minting)
                return nns_error_set(err, 400, "InvalidTransaction",
                                     "cannot mint to the minting account");
            tx.op.kind = OP_MINT;
        } else if (to_minting) {
            if (a->fee != 0)
                return nns_error_set(err, 400, "InvalidTransaction",
                                     "fee for burning should be zero");
            if (a->amount < cfg->fee_e8s) {
                nns_error_set(err, 422, "BadBurn", "burns lower than %llu e8s are not allowed",
                              (unsigned long long)cfg->fee_e8s);
                nns_error_add(err, "min_burn_amount_e8s", cfg->fee_e8s);
                return false;
            }
            tx.op.kind = OP_BURN;
        } else {
            if (a->fee != cfg->fee_e8s) {
                nns_error_set(err, 422, "BadFee", "fee must be %llu e8s",
                              (unsigned long long)cfg->fee_e8s);
                nns_error_add(err, "expected_fee_e8s", cfg->fee_e8s);
                return false;
            }
            tx.op.kind = OP_TRANSFER;
            tx.op.fee = cfg->fee_e8s;
        }
        tx.memo = a->memo;
        tx.has_created_at_time = true;
        tx.created_at_time = a->has_created_at_time ? a->created_at_time : now;
    } else {
        if (!icrc_fee_rules(l, r, &from, &a->to, a->amount, a->has_fee, a->fee, &tx.op, err))
            return false;
        set_memo(&tx, a->has_icrc1_memo, a->icrc1_memo_len, a->icrc1_memo);
        tx.has_created_at_time = a->has_created_at_time;
        tx.created_at_time = a->created_at_time;
    }
    tx.op.from = from;
    tx.op.to = a->to;
    tx.op.amount = a->amount;
    return execute(l, r, &tx, legacy, now, height, err);
}

/* The fee rules shared by ICRC-1 transfers and transfer_from (spec 3.4 step 3): sets the
 * operation kind and recorded fee. */
static bool icrc_fee_rules(const ledger_t *l, const ledger_round_t *r, const account_id_t *from,
                           const account_id_t *to, uint64_t amount, bool has_fee, uint64_t fee,
                           operation_t *op, nns_error_t *err)
{
    const ledger_config_t *cfg = &l->cfg;
    if (account_is(to, &cfg->minting_account)) {
        if (has_fee && fee != 0) {
            nns_error_set(err, 422, "BadFee", "fee must be 0 e8s for a burn");
            nns_error_add(err, "expected_fee_e8s", 0);
            return false;
        }
        hval_t bal = current(l, r, from);
        uint64_t min_burn = bal.a < cfg->fee_e8s ? bal.a : cfg->fee_e8s;
        if (amount < min_burn || amount == 0) {
            uint64_t shown = amount == 0 ? cfg->fee_e8s : min_burn;
            nns_error_set(err, 422, "BadBurn", "burns lower than %llu e8s are not allowed",
                          (unsigned long long)shown);
            nns_error_add(err, "min_burn_amount_e8s", shown);
            return false;
        }
        op->kind = OP_BURN;
    } else if (account_is(from, &cfg->minting_account)) {
        if (has_fee && fee != 0) {
            nns_error_set(err, 422, "BadFee", "fee must be 0 e8s for a mint");
            nns_error_add(err, "expected_fee_e8s", 0);
            return false;
        }
        op->kind = OP_MINT;
    } else {
        if (has_fee && fee != cfg->fee_e8s) {
            nns_error_set(err, 422, "BadFee", "fee must be %llu e8s",
                          (unsigned long long)cfg->fee_e8s);
            nns_error_add(err, "expected_fee_e8s", cfg->fee_e8s);
            return false;
        }
        op->kind = OP_TRANSFER;
        op->fee = cfg->fee_e8s;
    }
    return true;
}

static void set_memo(transaction_t *tx, bool has, uint8_t len, const uint8_t *memo)
{
    tx->has_icrc1_memo = has;
    tx->icrc1_memo_len = has ? len : 0;
    if (has)
        memcpy(tx->icrc1_memo, memo, len);
}

bool ledger_apply_approve(ledger_t *l, ledger_round_t *r, const approve_args_t *a, uint64_t now,
                          uint64_t *height, nns_error_t *err)
{
    const ledger_config_t *cfg = &l->cfg;
    if (principal_is_anonymous(&a->caller))
        return nns_error_set(err, 403, "NotAuthorized",
                             "anonymous principal cannot hold tokens on the ledger");
    if (principal_equal(&a->caller, &a->spender_owner))
        return nns_error_set(err, 400, "InvalidTransaction", "self approval is not allowed");
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    account_id_of(&a->caller, a->from_subaccount, &tx.op.from);
    if (account_is(&tx.op.from, &cfg->minting_account))
        return nns_error_set(err, 400, "InvalidTransaction", "the minting account cannot approve");
    if (a->has_fee && a->fee != cfg->fee_e8s) {
        nns_error_set(err, 422, "BadFee", "fee must be %llu e8s", (unsigned long long)cfg->fee_e8s);
        nns_error_add(err, "expected_fee_e8s", cfg->fee_e8s);
        return false;
    }
    tx.op.kind = OP_APPROVE;
    tx.op.spender = a->spender;
    tx.op.has_spender = true;
    tx.op.allowance = a->amount;
    tx.op.has_expected_allowance = a->has_expected_allowance;
    tx.op.expected_allowance = a->expected_allowance;
    tx.op.has_expires_at = a->has_expires_at;
    tx.op.expires_at = a->expires_at;
    tx.op.fee = cfg->fee_e8s;
    set_memo(&tx, a->has_icrc1_memo, a->icrc1_memo_len, a->icrc1_memo);
    tx.has_created_at_time = a->has_created_at_time;
    tx.created_at_time = a->created_at_time;
    return execute(l, r, &tx, false, now, height, err);
}

bool ledger_apply_transfer_from(ledger_t *l, ledger_round_t *r, const transfer_from_args_t *a,
                                uint64_t now, uint64_t *height, nns_error_t *err)
{
    if (principal_is_anonymous(&a->caller))
        return nns_error_set(err, 403, "NotAuthorized",
                             "anonymous principal cannot hold tokens on the ledger");
    if (account_is(&a->from, &l->cfg.minting_account))
        return nns_error_set(err, 400, "InvalidTransaction",
                             "the minter account cannot delegate mints");
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    if (!icrc_fee_rules(l, r, &a->from, &a->to, a->amount, a->has_fee, a->fee, &tx.op, err))
        return false;
    tx.op.from = a->from;
    tx.op.to = a->to;
    tx.op.amount = a->amount;
    tx.op.has_spender = true;
    account_id_of(&a->caller, a->spender_subaccount, &tx.op.spender);
    set_memo(&tx, a->has_icrc1_memo, a->icrc1_memo_len, a->icrc1_memo);
    tx.has_created_at_time = a->has_created_at_time;
    tx.created_at_time = a->created_at_time;
    return execute(l, r, &tx, false, now, height, err);
}

bool ledger_apply_mint(ledger_t *l, ledger_round_t *r, const account_id_t *to, uint64_t amount,
                       uint64_t now, uint64_t *height, nns_error_t *err)
{
    if (account_is(to, &l->cfg.minting_account))
        return nns_error_set(err, 400, "InvalidTransaction", "cannot mint to the minting account");
    transaction_t tx;
    memset(&tx, 0, sizeof tx);
    tx.op.kind = OP_MINT;
    tx.op.to = *to;
    tx.op.amount = amount;
    return execute(l, r, &tx, true, now, height, err);
}

const ledger_block_rec_t *ledger_round_blocks(const ledger_round_t *r, size_t *n)
{
    *n = r->nblocks;
    return r->blocks;
}

bool ledger_round_balances(const ledger_round_t *r, ledger_balance_rec_t **outp, size_t *n)
{
    *n = 0;
    *outp = NULL;
    if (!r->balances.count)
        return true;
    ledger_balance_rec_t *out = malloc(r->balances.count * sizeof *out);
    if (!out)
        return false;
    for (size_t i = 0; i < r->balances.cap; i++) {
        if (!r->balances.used[i])
            continue;
        memcpy(out[*n].account.hash, hmap_key_at(&r->balances, i), ACCOUNT_HASH_BYTES);
        out[*n].balance = r->balances.vals[i].a;
        out[*n].tx_count = r->balances.vals[i].b;
        (*n)++;
    }
    *outp = out;
    return true;
}

bool ledger_round_allowances(const ledger_round_t *r, ledger_allowance_rec_t **outp, size_t *n)
{
    *n = 0;
    *outp = NULL;
    if (!r->nallow)
        return true;
    ledger_allowance_rec_t *out = malloc(r->nallow * sizeof *out);
    hmap_t seen;
    if (!out || !hmap_init(&seen, 32, r->nallow * 2)) {
        free(out);
        return false;
    }
    /* newest first, so the first record of each pair is its final value */
    for (size_t i = r->nallow; i-- > 0;) {
        uint8_t key[32];
        allowance_key(&r->allow_log[i].owner, &r->allow_log[i].spender, key);
        bool created = false;
        if (!hmap_put(&seen, key, &created)) {
            free(out);
            hmap_free(&seen);
            *n = 0;
            return false;
        }
        if (created)
            out[(*n)++] = r->allow_log[i];
    }
    hmap_free(&seen);
    *outp = out;
    return true;
}

void ledger_round_info(const ledger_round_t *r, ledger_info_t *out)
{
    chain_info(&r->chain, out);
}

void ledger_round_commit(ledger_t *l, ledger_round_t **rp)
{
    ledger_round_t *r = *rp;
    if (r->parent)
        abort(); /* rounds commit in the order they began */
    pthread_rwlock_wrlock(&l->lock);
    for (size_t i = 0; i < r->balances.cap; i++) {
        if (!r->balances.used[i])
            continue;
        hval_t *v = hmap_put(&l->balances, hmap_key_at(&r->balances, i), NULL);
        if (!v)
            abort();
        *v = r->balances.vals[i];
    }
    for (size_t i = 0; i < r->allowances.cap; i++) {
        if (!r->allowances.used[i])
            continue;
        const uint8_t *key = hmap_key_at(&r->allowances, i);
        if (r->allowances.vals[i].a == 0) {
            hmap_del(&l->allowances, key);
            continue;
        }
        hval_t *v = hmap_put(&l->allowances, key, NULL);
        if (!v)
            abort();
        *v = r->allowances.vals[i];
    }
    for (size_t i = 0; i < r->purged; i++) {
        const uint8_t *hash = ring_at(&l->ring, 0)->hash;
        hmap_del(dedup_shard(l, hash), hash);
        ring_pop(&l->ring);
    }
    for (size_t i = 0; i < r->nfresh; i++) {
        const hval_t *src = hmap_get(&r->dedup, r->fresh[i].hash);
        hval_t *v = hmap_put(dedup_shard(l, r->fresh[i].hash), r->fresh[i].hash, NULL);
        if (!v || !src || !ring_push(&l->ring, r->fresh[i].timestamp, r->fresh[i].hash))
            abort();
        *v = *src;
    }
    l->chain = r->chain;
    pthread_rwlock_unlock(&l->lock);
    if (r->child)
        r->child->parent = NULL; /* it now starts from committed state, which equals r's */
    if (l->newest == r)
        l->newest = NULL;
    round_free(rp);
}

void ledger_round_discard(ledger_t *l, ledger_round_t **rp)
{
    ledger_round_t *r = *rp;
    if (!r)
        return;
    if (r->child)
        abort(); /* a later round was built on this one: it is discarded first */
    if (r->parent)
        r->parent->child = NULL;
    if (l->newest == r)
        l->newest = r->parent;
    round_free(rp);
}
