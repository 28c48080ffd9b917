#include "budget.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS 64
/* Slots looked at for one key: a short window keeps every operation O(1) under the lock. */
#define WINDOW 8
#define MINUTE_NANOS 60000000000.0

typedef struct {
    bool used;
    uint8_t kind, len;
    uint8_t key[BUDGET_KEY_MAX];
    uint64_t hash;
    double tokens;    /* at `touched` */
    uint64_t touched; /* nanos */
} slot_t;

typedef struct {
    pthread_mutex_t lock;
    size_t count;
    slot_t *slots;
} shard_t;

struct budget {
    double capacity, per_nano;
    size_t slots_per_shard; /* a power of two */
    uint8_t seed[crypto_shorthash_KEYBYTES];
    shard_t shards[NSHARDS];
};

budget_t *budget_new(unsigned per_minute, size_t slots)
{
    if (per_minute == 0 || sodium_init() < 0)
        return NULL;
    budget_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->capacity = per_minute;
    b->per_nano = per_minute / MINUTE_NANOS;
    size_t per_shard = WINDOW;
    while (per_shard * NSHARDS < slots)
        per_shard *= 2;
    b->slots_per_shard = per_shard;
    randombytes_buf(b->seed, sizeof b->seed);
    for (size_t i = 0; i < NSHARDS; i++) {
        pthread_mutex_init(&b->shards[i].lock, NULL);
        if (!(b->shards[i].slots = calloc(per_shard, sizeof(slot_t)))) {
            budget_destroy(&b);
            return NULL;
        }
    }
    return b;
}

void budget_destroy(budget_t **bp)
{
    budget_t *b = *bp;
    if (!b)
        return;
    for (size_t i = 0; i < NSHARDS; i++) {
        free(b->shards[i].slots);
        pthread_mutex_destroy(&b->shards[i].lock);
    }
    free(b);
    *bp = NULL;
}

static uint64_t subject_hash(const budget_t *b, budget_kind_t kind, const uint8_t *key,
                             size_t len)
{
    uint8_t in[BUDGET_KEY_MAX + 1], out[crypto_shorthash_BYTES];
    in[0] = (uint8_t)kind;
    memcpy(in + 1, key, len);
    crypto_shorthash(out, in, len + 1, b->seed);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

/* The tokens of s at now (refilled, at most the capacity). */
static double tokens_at(const budget_t *b, const slot_t *s, uint64_t now)
{
    double t = s->tokens;
    if (now > s->touched)
        t += (double)(now - s->touched) * b->per_nano;
    return t < b->capacity ? t : b->capacity;
}

/* The slot of the subject in its shard's window, or NULL. Called with the shard's lock held. */
static slot_t *find(budget_t *b, shard_t *sh, uint64_t h, budget_kind_t kind, const uint8_t *key,
                    size_t len)
{
    size_t mask = b->slots_per_shard - 1, start = (size_t)(h >> 8) & mask;
    for (size_t i = 0; i < WINDOW; i++) {
        slot_t *s = &sh->slots[(start + i) & mask];
        if (s->used && s->hash == h && s->kind == kind && s->len == len &&
            memcmp(s->key, key, len) == 0)
            return s;
    }
    return NULL;
}

bool budget_admit(budget_t *b, budget_kind_t kind, const uint8_t *key, size_t key_len,
                  uint64_t now_nanos, unsigned *retry_after_s)
{
    if (key_len > BUDGET_KEY_MAX)
        key_len = BUDGET_KEY_MAX;
    uint64_t h = subject_hash(b, kind, key, key_len);
    shard_t *sh = &b->shards[h % NSHARDS];
    pthread_mutex_lock(&sh->lock);
    const slot_t *s = find(b, sh, h, kind, key, key_len);
    double t = s ? tokens_at(b, s, now_nanos) : b->capacity;
    pthread_mutex_unlock(&sh->lock);
    if (t >= 1.0)
        return true;
    if (retry_after_s) {
        double secs = (1.0 - t) / (b->per_nano * 1e9);
        *retry_after_s = secs < 1.0 ? 1 : (unsigned)(secs + 0.999);
    }
    return false;
}

void budget_charge(budget_t *b, budget_kind_t kind, const uint8_t *key, size_t key_len,
                   unsigned n, uint64_t now_nanos)
{
    if (n == 0)
        return;
    if (key_len > BUDGET_KEY_MAX)
        key_len = BUDGET_KEY_MAX;
    uint64_t h = subject_hash(b, kind, key, key_len);
    shard_t *sh = &b->shards[h % NSHARDS];
    pthread_mutex_lock(&sh->lock);
    slot_t *s = find(b, sh, h, kind, key, key_len);
    if (!s) {
        /* a free slot of the window, else one whose bucket is full again (it remembers
         * nothing), else the one touched longest ago */
        size_t mask = b->slots_per_shard - 1, start = (size_t)(h >> 8) & mask;
        slot_t *oldest = NULL;
        for (size_t i = 0; i < WINDOW && !s; i++) {
            slot_t *c = &sh->slots[(start + i) & mask];
            if (!c->used || tokens_at(b, c, now_nanos) >= b->capacity)
                s = c;
            else if (!oldest || c->touched < oldest->touched)
                oldest = c;
        }
        if (!s)
            s = oldest;
        if (!s->used)
            sh->count++;
        s->used = true;
        s->kind = (uint8_t)kind;
        s->len = (uint8_t)key_len;
        memcpy(s->key, key, key_len);
        s->hash = h;
        s->tokens = b->capacity;
        s->touched = now_nanos;
    }
    double t = tokens_at(b, s, now_nanos) - (double)n;
    s->tokens = t < -b->capacity ? -b->capacity : t;
    if (now_nanos > s->touched)
        s->touched = now_nanos;
    pthread_mutex_unlock(&sh->lock);
}

size_t budget_subjects(budget_t *b)
{
    size_t n = 0;
    for (size_t i = 0; i < NSHARDS; i++) {
        pthread_mutex_lock(&b->shards[i].lock);
        n += b->shards[i].count;
        pthread_mutex_unlock(&b->shards[i].lock);
    }
    return n;
}
