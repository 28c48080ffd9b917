/*
 * hmap: an open-addressing hash map from fixed-size digest keys (up to 32 bytes: account hashes,
 * transaction hashes) to a pair of u64 values.
 *
 * Keys are cryptographic digests, so their first 8 bytes serve as the hash. Linear probing with
 * backward-shift deletion keeps lookups short with no tombstones. The map owns its arrays; a
 * pointer returned by hmap_get/hmap_put is valid until the next put, del or clear. Not
 * thread-safe: callers lock.
 */
#ifndef NNS_HMAP_H
#define NNS_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t a, b;
} hval_t;

typedef struct {
    size_t key_len, cap, count;
    uint8_t *keys;
    hval_t *vals;
    uint8_t *used;
} hmap_t;

/* Returns false on allocation failure. key_len <= 32; initial_cap is rounded up to a power of
 * two (at least 16). */
bool hmap_init(hmap_t *m, size_t key_len, size_t initial_cap) __attribute__((warn_unused_result));
void hmap_free(hmap_t *m);

/* The value slot of key, or NULL. */
hval_t *hmap_get(const hmap_t *m, const uint8_t *key);

/* The value slot of key, created zeroed if absent (*created tells); NULL on allocation failure. */
hval_t *hmap_put(hmap_t *m, const uint8_t *key, bool *created);

/* Makes room for extra more entries, so that many hmap_put calls cannot fail. Returns false
 * on allocation failure (the map is unchanged). */
bool hmap_reserve(hmap_t *m, size_t extra) __attribute__((warn_unused_result));

/* Removes key; returns whether it was there. */
bool hmap_del(hmap_t *m, const uint8_t *key);

/* Removes every entry, keeping the capacity. */
void hmap_clear(hmap_t *m);

/* The key stored in slot i (for iteration over i < cap where used[i]). */
static inline const uint8_t *hmap_key_at(const hmap_t *m, size_t i)
{
    return m->keys + i * m->key_len;
}

/* Bytes the map occupies. */
size_t hmap_memory(const hmap_t *m);

#endif
