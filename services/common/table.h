/*
 * table: keyed records for a state machine whose rounds change records copy-on-write (the cmc's
 * and governance's state). A table_t holds committed records (each malloc'd, owned by the table)
 * in an hmap keyed by a digest or a u64; an overlay_t holds a round's changes to one table: a
 * copy of each changed record (contiguous, in order of first change) and whether it was removed.
 * Lookups consult the overlay first. Not thread-safe: the state machine locks.
 */
#ifndef NNS_TABLE_H
#define NNS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

/* The bytes of a record worth storing (a prefix of rec_size bytes; the rest reads as zero). */
typedef size_t (*stored_size_fn)(const void *rec);

typedef struct {
    hmap_t map; /* key -> {a: record pointer, b: bytes stored} */
    size_t rec_size;
    stored_size_fn stored_size; /* NULL: whole records */
} table_t;

typedef struct {
    hmap_t idx; /* key -> {a: position + 1} */
    size_t key_len, rec_size;
    uint8_t *keys;
    uint8_t *recs;
    bool *removed;
    size_t n, cap;
} overlay_t;

/* False on allocation failure (nothing to free then). With stored_size, records are stored
 * truncated: read them whole with table_read / lookup_read only (table_get and table_slot then
 * give the stored prefix). */
bool table_init(table_t *t, size_t key_len, size_t rec_size, stored_size_fn stored_size)
    __attribute__((warn_unused_result));
/* Frees the records and the map. */
void table_free(table_t *t);
/* The committed record of key (borrowed until the next change), or NULL. */
const void *table_get(const table_t *t, const uint8_t *key);
/* Copies the record of key into out (rec_size bytes, zero past the stored prefix); false when
 * absent. */
bool table_read(const table_t *t, const uint8_t *key, void *out);
/* Stores a copy of rec under key (replacing any). False on allocation failure (unchanged). */
bool table_put(table_t *t, const uint8_t *key, const void *rec) __attribute__((warn_unused_result));
void table_del(table_t *t, const uint8_t *key);
/* Record i of the table's slots, or NULL when the slot is empty (for i < t->map.cap). */
const void *table_slot(const table_t *t, size_t i);

bool overlay_init(overlay_t *o, size_t key_len, size_t rec_size)
    __attribute__((warn_unused_result));
void overlay_free(overlay_t *o);
/* Position of key in the overlay, or -1. */
long overlay_find(const overlay_t *o, const uint8_t *key);
/* Records rec (a copy) or its removal under key. False on allocation failure (unchanged). */
bool overlay_set(overlay_t *o, const uint8_t *key, const void *rec, bool removed)
    __attribute__((warn_unused_result));
static inline const void *overlay_rec(const overlay_t *o, size_t i)
{
    return o->recs + i * o->rec_size;
}

/* The record of key as of the round (overlay over table), or NULL when absent or removed. For
 * tables of whole records only. */
const void *overlay_lookup(const table_t *t, const overlay_t *o, const uint8_t *key);
/* The same as a copy into out (any table); false when absent or removed. */
bool overlay_lookup_read(const table_t *t, const overlay_t *o, const uint8_t *key, void *out);

/* Applies the overlay to the table: aborts the process on allocation failure (crash-only). */
void overlay_merge(const overlay_t *o, table_t *t);

#endif
