/*
 * gov_table: keyed records for the governance state (internal to services/governance; the same
 * design as the cmc's table.h). A gtab_t holds committed records (each malloc'd, owned by the
 * table) in an hmap keyed by a digest or a u64; an gover_t holds a round's changes to one table: a
 * copy of each changed record (contiguous, in order of first change) and whether it was removed.
 * Lookups consult the overlay first. Not thread-safe: the state machine locks.
 */
#ifndef NNS_GOV_TABLE_H
#define NNS_GOV_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

/* The bytes of a record worth storing (a prefix of rec_size bytes; the rest reads as zero). */
typedef size_t (*gtab_size_fn)(const void *rec);

typedef struct {
    hmap_t map; /* key -> {a: record pointer, b: bytes stored} */
    size_t rec_size;
    gtab_size_fn stored_size; /* NULL: whole records */
} gtab_t;

typedef struct {
    hmap_t idx; /* key -> {a: position + 1} */
    size_t key_len, rec_size;
    uint8_t *keys;
    uint8_t *recs;
    bool *removed;
    size_t n, cap;
} gover_t;

/* False on allocation failure (nothing to free then). With stored_size, records are stored
 * truncated: read them whole with gtab_read / glookup_read only (gtab_get and gtab_slot then
 * give the stored prefix). */
bool gtab_init(gtab_t *t, size_t key_len, size_t rec_size, gtab_size_fn stored_size)
    __attribute__((warn_unused_result));
/* Frees the records and the map. */
void gtab_free(gtab_t *t);
/* The committed record of key (borrowed until the next change), or NULL. */
const void *gtab_get(const gtab_t *t, const uint8_t *key);
/* Copies the record of key into out (rec_size bytes, zero past the stored prefix); false when
 * absent. */
bool gtab_read(const gtab_t *t, const uint8_t *key, void *out);
/* Stores a copy of rec under key (replacing any). False on allocation failure (unchanged). */
bool gtab_put(gtab_t *t, const uint8_t *key, const void *rec) __attribute__((warn_unused_result));
void gtab_del(gtab_t *t, const uint8_t *key);
/* Record i of the table's slots, or NULL when the slot is empty (for i < t->map.cap). */
const void *gtab_slot(const gtab_t *t, size_t i);

bool gover_init(gover_t *o, size_t key_len, size_t rec_size) __attribute__((warn_unused_result));
void gover_free(gover_t *o);
/* Position of key in the overlay, or -1. */
long gover_find(const gover_t *o, const uint8_t *key);
/* Records rec (a copy) or its removal under key. False on allocation failure (unchanged). */
bool gover_set(gover_t *o, const uint8_t *key, const void *rec, bool removed)
    __attribute__((warn_unused_result));
static inline const void *gover_rec(const gover_t *o, size_t i)
{
    return o->recs + i * o->rec_size;
}

/* The record of key as of the round (overlay over table), or NULL when absent or removed. For
 * tables of whole records only. */
const void *glookup(const gtab_t *t, const gover_t *o, const uint8_t *key);
/* The same as a copy into out (any table); false when absent or removed. */
bool glookup_read(const gtab_t *t, const gover_t *o, const uint8_t *key, void *out);

/* Applies the overlay to the table: aborts the process on allocation failure (crash-only). */
void gover_merge(const gover_t *o, gtab_t *t);

#endif
