#include "replay.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct waiter {
    struct waiter *next;
    void *who;
} waiter_t;

typedef struct entry {
    struct entry *next; /* hash chain */
    uint64_t hash;      /* key_hash(key): kept so that a rehash and a chain walk need no SipHash */
    uint8_t key[32];
    uint64_t expiry;
    bool committed;
    int status;
    char *body;
    size_t len;
    waiter_t *waiters;
} entry_t;

/* The cache is 256 shards, each a hash table with its own lock, chosen by a key hash's top
 * byte (a bucket by its low bits). A shard doubles at 1/256 of the whole, and the purge holds
 * one shard's lock at a time: with a single table a doubling at 4 million entries, or a purge
 * scanning all of them, held every signed request of the service for a few hundred ms
 * (docs/benchmarks.md). */
#define SHARDS 256
#define SHARD_BUCKETS 256 /* each shard's first table */

typedef struct {
    pthread_mutex_t lock;
    entry_t **buckets;
    size_t nbuckets, count;
} shard_t;

struct replay_cache {
    uint8_t seed[crypto_shorthash_KEYBYTES]; /* keys the bucket hash: keys are chosen by clients */
    /* entries, and the bytes they and their answers hold, over all shards (changed with a
     * shard's lock held) */
    _Atomic size_t count, bytes;
    _Atomic size_t max_bytes; /* 0: no ceiling */
    replay_waiter_fn notify;
    shard_t shard[SHARDS];
};

replay_cache_t *replay_cache_new(replay_waiter_fn notify)
{
    replay_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < SHARDS; i++) {
        shard_t *sh = &c->shard[i];
        sh->nbuckets = SHARD_BUCKETS;
        if (!(sh->buckets = calloc(sh->nbuckets, sizeof *sh->buckets))) {
            while (i--)
                free(c->shard[i].buckets);
            free(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < SHARDS; i++)
        pthread_mutex_init(&c->shard[i].lock, NULL);
    randombytes_buf(c->seed, sizeof c->seed);
    c->notify = notify;
    return c;
}

/* The memory an entry holds: itself and its answer (a waiter is the waiting request's). */
static size_t entry_bytes(const entry_t *e)
{
    return sizeof *e + (e->body ? e->len + 1 : 0);
}

static void entry_free(entry_t *e)
{
    while (e->waiters) {
        waiter_t *w = e->waiters;
        e->waiters = w->next;
        free(w);
    }
    free(e->body);
    free(e);
}

void replay_cache_destroy(replay_cache_t **cache)
{
    replay_cache_t *c = *cache;
    if (!c)
        return;
    for (size_t k = 0; k < SHARDS; k++) {
        shard_t *sh = &c->shard[k];
        for (size_t i = 0; i < sh->nbuckets; i++)
            for (entry_t *e = sh->buckets[i], *next; e; e = next) {
                next = e->next;
                entry_free(e);
            }
        free(sh->buckets);
        pthread_mutex_destroy(&sh->lock);
    }
    free(c);
    *cache = NULL;
}

/* The bucket of a key: SipHash with a secret per-process seed, so that clients who grind their
 * requests cannot pile entries into one bucket. */
static uint64_t key_hash(const replay_cache_t *c, const uint8_t key[32])
{
    uint8_t out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, key, 32, c->seed);
    memcpy(&h, out, sizeof h);
    return h;
}

/* The shard of a key whose key_hash is h. */
static shard_t *shard_of(replay_cache_t *c, uint64_t h)
{
    return &c->shard[h >> 56];
}

/* Grows a shard's table when its load factor passes 1. Called with its lock held. */
static void maybe_grow(shard_t *sh)
{
    if (sh->count < sh->nbuckets)
        return;
    size_t n = sh->nbuckets * 2;
    entry_t **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* chains just get longer */
    for (size_t i = 0; i < sh->nbuckets; i++)
        for (entry_t *e = sh->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t b = (size_t)(e->hash & (n - 1));
            e->next = nb[b];
            nb[b] = e;
        }
    free(sh->buckets);
    sh->buckets = nb;
    sh->nbuckets = n;
}

/* Where the entry of key (whose key_hash is h) is, or would be linked in, in its shard. */
static entry_t **find(shard_t *sh, const uint8_t key[32], uint64_t h)
{
    entry_t **p = &sh->buckets[h & (sh->nbuckets - 1)];
    while (*p && ((*p)->hash != h || memcmp((*p)->key, key, 32) != 0))
        p = &(*p)->next;
    return p;
}

/* Links a new entry for key at the head of its chain. Called with its shard's lock held. */
static void link_entry(replay_cache_t *c, shard_t *sh, entry_t *e, const uint8_t key[32],
                       uint64_t h)
{
    memcpy(e->key, key, 32);
    e->hash = h;
    entry_t **head = &sh->buckets[h & (sh->nbuckets - 1)];
    e->next = *head;
    *head = e;
    sh->count++;
    c->count++;
    c->bytes += entry_bytes(e);
    maybe_grow(sh);
}

static char *copy_body(const char *body, size_t len)
{
    char *b = malloc(len + 1);
    if (b) {
        memcpy(b, body, len);
        b[len] = '\0';
    }
    return b;
}

replay_lookup_t replay_begin(replay_cache_t *c, const uint8_t key[32], uint64_t expiry_nanos,
                             void *waiter, int *status, char **body, size_t *len)
{
    replay_lookup_t r = REPLAY_NEW;
    uint64_t h = key_hash(c, key);
    size_t max_bytes = c->max_bytes;
    shard_t *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    entry_t **p = find(sh, key, h);
    if (*p && (*p)->committed) {
        /* a committed entry whose body could not be kept (out of memory) still must not run
         * again: it answers "retry later" until it expires */
        *status = (*p)->status;
        *body = (*p)->body ? copy_body((*p)->body, (*p)->len) : NULL;
        *len = (*p)->len;
        r = *body ? REPLAY_COMMITTED : REPLAY_ERROR;
    } else if (*p && !waiter) {
        r = REPLAY_WAITING;
    } else if (*p) {
        waiter_t *w = malloc(sizeof *w);
        r = REPLAY_ERROR;
        if (w) {
            w->who = waiter;
            w->next = (*p)->waiters;
            (*p)->waiters = w;
            r = REPLAY_WAITING;
        }
    } else if (max_bytes && c->bytes + sizeof(entry_t) > max_bytes) {
        r = REPLAY_FULL;
    } else {
        entry_t *e = calloc(1, sizeof *e);
        r = REPLAY_ERROR;
        if (e) {
            r = REPLAY_NEW;
            e->expiry = expiry_nanos;
            link_entry(c, sh, e, key, h);
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return r;
}

/* Detaches the waiters of key's entry and, when committed, stores the answer; when abandoned,
 * removes the entry. Returns the detached waiter list. */
static waiter_t *finish(replay_cache_t *c, const uint8_t key[32], int status, const char *body,
                        size_t len, bool committed)
{
    waiter_t *ws = NULL;
    uint64_t h = key_hash(c, key);
    shard_t *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    entry_t **p = find(sh, key, h);
    entry_t *e = *p;
    if (e) {
        ws = e->waiters;
        e->waiters = NULL;
        c->bytes -= entry_bytes(e);
        if (committed) {
            if (!e->body || e->len != len || memcmp(e->body, body, len) != 0) {
                free(e->body); /* staged for another answer: keep the one given now */
                e->body = copy_body(body, len); /* NULL when out of memory: see replay_begin */
            }
            e->committed = true;
            e->status = status;
            e->len = len;
            c->bytes += entry_bytes(e);
        } else {
            *p = e->next;
            sh->count--;
            c->count--;
            entry_free(e);
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return ws;
}

static void notify_all(replay_cache_t *c, waiter_t *ws, int status, const char *body, size_t len,
                       bool committed)
{
    while (ws) {
        waiter_t *next = ws->next;
        c->notify(ws->who, status, body, len, committed);
        free(ws);
        ws = next;
    }
}

bool replay_stage(replay_cache_t *c, const uint8_t key[32], const char *body, size_t len)
{
    uint64_t h = key_hash(c, key);
    shard_t *sh = shard_of(c, h);
    bool ok = true;
    pthread_mutex_lock(&sh->lock);
    entry_t *e = *find(sh, key, h);
    if (e && !e->committed) {
        char *copy = copy_body(body, len);
        if (copy) {
            c->bytes -= entry_bytes(e);
            free(e->body);
            e->body = copy;
            e->len = len;
            c->bytes += entry_bytes(e);
        } else {
            ok = false;
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return ok;
}

void replay_commit(replay_cache_t *c, const uint8_t key[32], int status, const char *body,
                   size_t len)
{
    notify_all(c, finish(c, key, status, body, len, true), status, body, len, true);
}

void replay_abandon(replay_cache_t *c, const uint8_t key[32], int status, const char *body,
                    size_t len)
{
    notify_all(c, finish(c, key, status, body, len, false), status, body, len, false);
}

void replay_load(replay_cache_t *c, const uint8_t key[32], uint64_t expiry_nanos, int status,
                 const char *body, size_t len)
{
    uint64_t h = key_hash(c, key);
    shard_t *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    entry_t **p = find(sh, key, h);
    if (!*p) {
        entry_t *e = calloc(1, sizeof *e);
        if (e && (e->body = copy_body(body, len)) != NULL) {
            e->expiry = expiry_nanos;
            e->committed = true;
            e->status = status;
            e->len = len;
            link_entry(c, sh, e, key, h);
        } else {
            free(e);
        }
    }
    pthread_mutex_unlock(&sh->lock);
}

size_t replay_purge(replay_cache_t *c, uint64_t wall_now_nanos)
{
    return replay_purge_part(c, wall_now_nanos, 0, 1);
}

size_t replay_purge_part(replay_cache_t *c, uint64_t wall_now_nanos, unsigned part, unsigned parts)
{
    size_t n = 0;
    for (size_t k = part % parts; k < SHARDS; k += parts) {
        /* unlinked under the shard's lock, freed after it */
        shard_t *sh = &c->shard[k];
        entry_t *expired = NULL;
        pthread_mutex_lock(&sh->lock);
        for (size_t i = 0; i < sh->nbuckets; i++) {
            entry_t **p = &sh->buckets[i];
            while (*p) {
                entry_t *e = *p;
                if (e->committed && e->expiry < wall_now_nanos) {
                    *p = e->next;
                    c->bytes -= entry_bytes(e);
                    sh->count--;
                    c->count--;
                    e->next = expired;
                    expired = e;
                    n++;
                } else {
                    p = &e->next;
                }
            }
        }
        pthread_mutex_unlock(&sh->lock);
        for (entry_t *e = expired, *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    }
    return n;
}

size_t replay_count(replay_cache_t *c)
{
    return c->count;
}

replay_lookup_t replay_peek(replay_cache_t *c, const uint8_t key[32], int *status, char **body,
                            size_t *len)
{
    replay_lookup_t r = REPLAY_NEW;
    uint64_t h = key_hash(c, key);
    shard_t *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->lock);
    entry_t *e = *find(sh, key, h);
    if (e && e->committed) {
        *status = e->status;
        *body = e->body ? copy_body(e->body, e->len) : NULL;
        *len = e->len;
        r = *body ? REPLAY_COMMITTED : REPLAY_ERROR;
    } else if (e) {
        r = REPLAY_WAITING;
    }
    pthread_mutex_unlock(&sh->lock);
    return r;
}

void replay_set_ceiling(replay_cache_t *c, size_t max_bytes)
{
    c->max_bytes = max_bytes;
}

size_t replay_bytes(replay_cache_t *c)
{
    return c->bytes;
}
