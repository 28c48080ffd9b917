/*
 * icrc3: ICRC-3 values and their representation-independent hash (ICRC-3 HASHINGVALUES.md;
 * spec/ledger.md section 4.3), for ICRC-3-style block views.
 *
 * A value is a tree: Nat, Int, Text, Blob, Array of values, Map from text keys to values.
 * hash(v) = SHA-256 of: Nat -> unsigned LEB128; Int -> signed LEB128; Text -> its UTF-8 bytes;
 * Blob -> its bytes; Array -> the concatenated hashes of the elements in order; Map -> the
 * pairs SHA-256(key) || hash(value), sorted lexicographically and concatenated.
 *
 * Life cycle and ownership: every icrc3_*_new() returns a heap value the caller owns, or NULL
 * when out of memory. icrc3_array_push() and icrc3_map_set() steal the item they are given,
 * also when they fail (the item is then destroyed) and also when the item is NULL (they then
 * just return false), so calls can be nested without leaking:
 *     ok = icrc3_map_set(map, "amt", icrc3_nat_new(42));
 * A value belongs to at most one container; once added, the container frees it. The root is
 * freed with icrc3_value_destroy(&v), which frees the whole tree and sets v to NULL.
 * Text is hashed as the bytes given (no UTF-8 validation). Setting an existing map key
 * replaces its value. Hashing recurses once per nesting level and cannot fail: the space for
 * sorting a map's pairs is reserved when entries are set, so one tree must not be hashed by two
 * threads at once (a tree that is not being hashed or changed can be read by any thread).
 */
#ifndef NNS_ICRC3_H
#define NNS_ICRC3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ICRC3_NAT,
    ICRC3_INT,
    ICRC3_TEXT,
    ICRC3_BLOB,
    ICRC3_ARRAY,
    ICRC3_MAP,
} icrc3_kind_t;

typedef struct icrc3_value icrc3_value_t;

/* Nat from a u64. NULL when out of memory. */
icrc3_value_t *icrc3_nat_new(uint64_t n);

/* Nat of any size from its big-endian magnitude (leading zero bytes allowed; len 0 is 0).
 * NULL when out of memory or when be is NULL with len > 0. */
icrc3_value_t *icrc3_nat_new_be(const uint8_t *be, size_t len);

/* Int from an int64. NULL when out of memory. */
icrc3_value_t *icrc3_int_new(int64_t i);

/* Text from a NUL-terminated string, or from len bytes (which may contain NUL). The bytes are
 * copied. NULL when out of memory or when s is NULL (with len > 0). */
icrc3_value_t *icrc3_text_new(const char *s);
icrc3_value_t *icrc3_text_new_len(const char *s, size_t len);

/* Blob of len bytes, copied. NULL when out of memory or when bytes is NULL with len > 0. */
icrc3_value_t *icrc3_blob_new(const uint8_t *bytes, size_t len);

/* Empty Array / Map. NULL when out of memory. */
icrc3_value_t *icrc3_array_new(void);
icrc3_value_t *icrc3_map_new(void);

/* Appends item to the array, taking ownership of item in every case. Returns false (item
 * destroyed) when arr is not an array, item is NULL, or memory runs out. */
bool icrc3_array_push(icrc3_value_t *arr, icrc3_value_t *item) __attribute__((warn_unused_result));

/* Sets map[key] = value, replacing (and destroying) an earlier value under the same key. Takes
 * ownership of value in every case. Returns false (value destroyed) when map is not a map, key
 * or value is NULL, or memory runs out. The key (a NUL-terminated string) is copied. */
bool icrc3_map_set(icrc3_value_t *map, const char *key, icrc3_value_t *value)
    __attribute__((warn_unused_result));

/* The kind of a value (borrowed, must not be NULL). */
icrc3_kind_t icrc3_value_kind(const icrc3_value_t *v);

/* Number of elements of an Array or entries of a Map; 0 for other kinds. */
size_t icrc3_value_count(const icrc3_value_t *v);

/* The representation-independent hash of v (must not be NULL). Cannot fail. */
void icrc3_value_hash(const icrc3_value_t *v, uint8_t out[32]);

/* Frees *v and everything it contains, and sets *v to NULL. v or *v may be NULL (no-op). */
void icrc3_value_destroy(icrc3_value_t **v);

/* LEB128 encoders, exposed for the certificate tree (`last_block_index`) and tests. Write at
 * most 10 bytes and return the number written. Cannot fail. */
size_t icrc3_uleb128(uint64_t v, uint8_t out[10]);
size_t icrc3_sleb128(int64_t v, uint8_t out[10]);

#endif
