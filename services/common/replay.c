#include "replay.h"

#include <pthread.h>
#include <sodium.h>
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

struct replay_cache {
    pthread_mutex_t lock;
    uint8_t seed[crypto_shorthash_KEYBYTES]; /* keys the bucket hash: keys are chosen by clients */
    entry_t **buckets;
    size_t nbuckets, count;
    size_t bytes, max_bytes; /* entries and their answers; max_bytes 0: no ceiling */
    replay_waiter_fn notify;
};

replay_cache_t *replay_cache_new(replay_waiter_fn notify)
{
    replay_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nbuckets = 1 << 16;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
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
    for (size_t i = 0; i < c->nbuckets; i++)
        for (entry_t *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
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

/* Grows the table when the load factor passes 1. Called with the lock held. */
static void maybe_grow(replay_cache_t *c)
{
    if (c->count < c->nbuckets)
        return;
    size_t n = c->nbuckets * 2;
    entry_t **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* chains just get longer */
    for (size_t i = 0; i < c->nbuckets; i++)
        for (entry_t *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t b = (size_t)(e->hash & (n - 1));
            e->next = nb[b];
            nb[b] = e;
        }
    free(c->buckets);
    c->buckets = nb;
    c->nbuckets = n;
}

/* Where the entry of key (whose key_hash is h) is, or would be linked in. */
static entry_t **find(replay_cache_t *c, const uint8_t key[32], uint64_t h)
{
    entry_t **p = &c->buckets[h & (c->nbuckets - 1)];
    while (*p && ((*p)->hash != h || memcmp((*p)->key, key, 32) != 0))
        p = &(*p)->next;
    return p;
}

/* Links a new entry for key at the head of its chain. Called with the lock held. */
static void link_entry(replay_cache_t *c, entry_t *e, const uint8_t key[32], uint64_t h)
{
    memcpy(e->key, key, 32);
    e->hash = h;
    entry_t **head = &c->buckets[h & (c->nbuckets - 1)];
    e->next = *head;
    *head = e;
    c->count++;
    c->bytes += entry_bytes(e);
    maybe_grow(c);
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
    pthread_mutex_lock(&c->lock);
    entry_t **p = find(c, key, h);
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
    } else if (c->max_bytes && c->bytes + sizeof(entry_t) > c->max_bytes) {
        r = REPLAY_FULL;
    } else {
        entry_t *e = calloc(1, sizeof *e);
        r = REPLAY_ERROR;
        if (e) {
            r = REPLAY_NEW;
            e->expiry = expiry_nanos;
            link_entry(c, e, key, h);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Detaches the waiters of key's entry and, when committed, stores the answer; when abandoned,
 * removes the entry. Returns the detached waiter list. */
static waiter_t *finish(replay_cache_t *c, const uint8_t key[32], int status, const char *body,
                        size_t len, bool committed)
{
    waiter_t *ws = NULL;
    uint64_t h = key_hash(c, key);
    pthread_mutex_lock(&c->lock);
    entry_t **p = find(c, key, h);
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
            c->count--;
            entry_free(e);
        }
    }
    pthread_mutex_unlock(&c->lock);
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
    bool ok = true;
    pthread_mutex_lock(&c->lock);
    entry_t *e = *find(c, key, h);
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
    pthread_mutex_unlock(&c->lock);
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
    pthread_mutex_lock(&c->lock);
    entry_t **p = find(c, key, h);
    if (!*p) {
        entry_t *e = calloc(1, sizeof *e);
        if (e && (e->body = copy_body(body, len)) != NULL) {
            e->expiry = expiry_nanos;
            e->committed = true;
            e->status = status;
            e->len = len;
            link_entry(c, e, key, h);
        } else {
            free(e);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

size_t replay_purge(replay_cache_t *c, uint64_t wall_now_nanos)
{
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nbuckets; i++) {
        entry_t **p = &c->buckets[i];
        while (*p) {
            entry_t *e = *p;
            if (e->committed && e->expiry < wall_now_nanos) {
                *p = e->next;
                c->bytes -= entry_bytes(e);
                entry_free(e);
                c->count--;
                n++;
            } else {
                p = &e->next;
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t replay_count(replay_cache_t *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

replay_lookup_t replay_peek(replay_cache_t *c, const uint8_t key[32], int *status, char **body,
                            size_t *len)
{
    replay_lookup_t r = REPLAY_NEW;
    uint64_t h = key_hash(c, key);
    pthread_mutex_lock(&c->lock);
    entry_t *e = *find(c, key, h);
    if (e && e->committed) {
        *status = e->status;
        *body = e->body ? copy_body(e->body, e->len) : NULL;
        *len = e->len;
        r = *body ? REPLAY_COMMITTED : REPLAY_ERROR;
    } else if (e) {
        r = REPLAY_WAITING;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

void replay_set_ceiling(replay_cache_t *c, size_t max_bytes)
{
    pthread_mutex_lock(&c->lock);
    c->max_bytes = max_bytes;
    pthread_mutex_unlock(&c->lock);
}

size_t replay_bytes(replay_cache_t *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->bytes;
    pthread_mutex_unlock(&c->lock);
    return n;
}
