/*
 * replay: the replay cache of signed writes (DESIGN.md section 5).
 *
 * Keyed by the SHA-256 of a request's signed message. An entry is either in flight (its round
 * has not committed yet; later identical requests wait for it) or committed (its status and body
 * are answered to every byte-identical resend until the request's expiry, by the wall clock).
 * Committed entries are mirrored to PostgreSQL by the service's round and loaded back at start.
 * The cache is thread-safe; it owns copies of the bodies it stores.
 *
 * Memory ceiling: the cache counts the bytes its entries and their answers hold. Past the
 * ceiling (replay_set_ceiling), replay_begin creates no new entry and answers REPLAY_FULL, so a
 * flood of distinct writes makes the service answer 429 instead of growing without limit;
 * committed entries are still answered, in-flight ones still finish (an answer staged or
 * committed may take the total a little past the ceiling), and entries loaded at start are
 * always kept (they must not run again). Purging expired entries makes room again.
 */
#ifndef NNS_REPLAY_H
#define NNS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct replay_cache replay_cache_t;

/* A committed answer to a signed write, as a service's store writes it. body is borrowed. */
typedef struct {
    uint8_t key[32];
    uint64_t expiry_nanos;
    int status;
    const char *body;
    size_t len;
} replay_rec_t;

/* What a lookup found. */
typedef enum {
    REPLAY_NEW,       /* nothing known: an in-flight entry was created; the caller runs it */
    REPLAY_WAITING,   /* an identical request is in flight: waiter was queued */
    REPLAY_COMMITTED, /* answered before: *status and *body (a malloc'd copy) are filled */
    REPLAY_ERROR,     /* out of memory: nothing may run; the caller answers 503 */
    REPLAY_FULL,      /* new, but the cache is at its ceiling: nothing may run; the caller
                       * answers 429 TemporarilyUnavailable with Retry-After */
} replay_lookup_t;

/* Called for each waiter when the in-flight entry finishes: committed (status/body valid, and
 * the waiter must answer them as replayed) or abandoned (the original was not committed; the
 * waiter should answer status/body as a normal, not replayed, response). */
typedef void (*replay_waiter_fn)(void *waiter, int status, const char *body, size_t len,
                                 bool committed);

/* Returns NULL on allocation failure. */
replay_cache_t *replay_cache_new(replay_waiter_fn notify);
void replay_cache_destroy(replay_cache_t **cache);

/* Looks key up; see replay_lookup_t. waiter is queued only for REPLAY_WAITING; a NULL waiter
 * is told REPLAY_WAITING without being queued (the caller answers "processing" itself). On
 * REPLAY_COMMITTED the caller frees *body. */
replay_lookup_t replay_begin(replay_cache_t *c, const uint8_t key[32], uint64_t expiry_nanos,
                             void *waiter, int *status, char **body, size_t *len);

/* Copies the answer of an in-flight entry before its round commits, so that replay_commit()
 * then needs no memory and a committed answer is never lost. Returns false when out of memory
 * (the round must then not commit); true also when there is no such entry. */
bool replay_stage(replay_cache_t *c, const uint8_t key[32], const char *body, size_t len)
    __attribute__((warn_unused_result));

/* The in-flight entry's round committed: store the answer (the staged copy, or a copy made
 * now) and notify waiters. */
void replay_commit(replay_cache_t *c, const uint8_t key[32], int status, const char *body,
                   size_t len);

/* The in-flight entry ended without a committed answer: remove it and pass status/body to the
 * waiters (committed = false). */
void replay_abandon(replay_cache_t *c, const uint8_t key[32], int status, const char *body,
                    size_t len);

/* Adds a committed entry loaded from the database (at start). */
void replay_load(replay_cache_t *c, const uint8_t key[32], uint64_t expiry_nanos, int status,
                 const char *body, size_t len);

/* Drops committed entries whose expiry is before wall_now; returns how many. Holds one
 * shard's lock (1/256 of the entries) at a time. */
size_t replay_purge(replay_cache_t *c, uint64_t wall_now_nanos);
/* The same for part of the cache: the shards k with k % parts == part (parts >= 1), so that
 * calls with part = 0, 1, ..., parts - 1 in turn cover it all. */
size_t replay_purge_part(replay_cache_t *c, uint64_t wall_now_nanos, unsigned part, unsigned parts);

size_t replay_count(replay_cache_t *c);

/* Looks key up without creating anything: REPLAY_COMMITTED (*status and *body, a malloc'd copy
 * the caller frees, are filled), REPLAY_WAITING (in flight), REPLAY_NEW (unknown) or
 * REPLAY_ERROR (out of memory copying the body). For a write refused before it may run (a
 * refusal budget spent): a byte-identical resend of a committed answer still gets it. */
replay_lookup_t replay_peek(replay_cache_t *c, const uint8_t key[32], int *status, char **body,
                            size_t *len);

/* Sets the memory ceiling in bytes (0: none, the default). */
void replay_set_ceiling(replay_cache_t *c, size_t max_bytes);

/* The bytes the entries and their answers hold now. */
size_t replay_bytes(replay_cache_t *c);

#endif
