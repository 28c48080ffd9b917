/*
 * icrc3: ICRC-3 value trees and their representation-independent hash. See icrc3.h.
 *
 * Nat and Int keep their LEB128 encoding (computed once at construction), so hashing a number
 * is hashing its bytes, and a Nat larger than 64 bits costs nothing extra. A Map keeps, next to
 * its keys and values, one 64-byte scratch slot per entry for the sorted (hash(key) ||
 * hash(value)) pairs; reserving it in icrc3_map_set() is what lets icrc3_value_hash() not fail.
 */
#include "icrc3.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"

struct icrc3_value {
    icrc3_kind_t kind;
    uint8_t *bytes; /* Nat, Int: LEB128; Text, Blob: contents */
    size_t len;
    icrc3_value_t **items; /* Array elements; Map values */
    char **keys;           /* Map keys, parallel to items */
    uint8_t (*pairs)[64];  /* Map: scratch for hashing, one slot per entry */
    size_t count;
    size_t cap;
};

static icrc3_value_t *value_alloc(icrc3_kind_t kind)
{
    icrc3_value_t *v = calloc(1, sizeof *v);
    if (v)
        v->kind = kind;
    return v;
}

/* A value holding a copy of len bytes (Nat, Int, Text, Blob). */
static icrc3_value_t *bytes_value_new(icrc3_kind_t kind, const void *bytes, size_t len)
{
    if (!bytes && len)
        return NULL;
    icrc3_value_t *v = value_alloc(kind);
    if (!v)
        return NULL;
    v->bytes = malloc(len ? len : 1);
    if (!v->bytes) {
        free(v);
        return NULL;
    }
    if (len)
        memcpy(v->bytes, bytes, len);
    v->len = len;
    return v;
}

size_t icrc3_uleb128(uint64_t v, uint8_t out[10])
{
    size_t n = 0;
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        out[n++] = v ? (uint8_t)(b | 0x80) : b;
    } while (v);
    return n;
}

size_t icrc3_sleb128(int64_t v, uint8_t out[10])
{
    size_t n = 0;
    for (;;) {
        uint8_t b = (uint8_t)((uint64_t)v & 0x7f);
        /* arithmetic shift: gcc and clang define >> on negative values as sign-extending */
        v >>= 7;
        bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
        out[n++] = done ? b : (uint8_t)(b | 0x80);
        if (done)
            return n;
    }
}

icrc3_value_t *icrc3_nat_new(uint64_t n)
{
    uint8_t leb[10];
    size_t len = icrc3_uleb128(n, leb);
    return bytes_value_new(ICRC3_NAT, leb, len);
}

/* Bit i (0 = least significant) of the big-endian number be[0..len). */
static unsigned be_bit(const uint8_t *be, size_t len, size_t i)
{
    size_t byte = i / 8;
    if (byte >= len)
        return 0;
    return (be[len - 1 - byte] >> (i % 8)) & 1u;
}

icrc3_value_t *icrc3_nat_new_be(const uint8_t *be, size_t len)
{
    if (!be && len)
        return NULL;
    while (len && be[0] == 0) {
        be++;
        len--;
    }
    if (len == 0)
        return icrc3_nat_new(0);
    size_t bits = (len - 1) * 8;
    for (uint8_t top = be[0]; top; top >>= 1)
        bits++;
    size_t nout = (bits + 6) / 7;
    icrc3_value_t *v = bytes_value_new(ICRC3_NAT, NULL, 0);
    if (!v)
        return NULL;
    uint8_t *leb = realloc(v->bytes, nout);
    if (!leb) {
        icrc3_value_destroy(&v);
        return NULL;
    }
    v->bytes = leb;
    for (size_t k = 0; k < nout; k++) {
        uint8_t b = 0;
        for (unsigned j = 0; j < 7; j++)
            b = (uint8_t)(b | be_bit(be, len, 7 * k + j) << j);
        leb[k] = k + 1 < nout ? (uint8_t)(b | 0x80) : b;
    }
    v->len = nout;
    return v;
}

icrc3_value_t *icrc3_int_new(int64_t i)
{
    uint8_t leb[10];
    size_t len = icrc3_sleb128(i, leb);
    return bytes_value_new(ICRC3_INT, leb, len);
}

icrc3_value_t *icrc3_text_new(const char *s)
{
    return s ? bytes_value_new(ICRC3_TEXT, s, strlen(s)) : NULL;
}

icrc3_value_t *icrc3_text_new_len(const char *s, size_t len)
{
    return bytes_value_new(ICRC3_TEXT, s, len);
}

icrc3_value_t *icrc3_blob_new(const uint8_t *bytes, size_t len)
{
    return bytes_value_new(ICRC3_BLOB, bytes, len);
}

icrc3_value_t *icrc3_array_new(void)
{
    return value_alloc(ICRC3_ARRAY);
}

icrc3_value_t *icrc3_map_new(void)
{
    return value_alloc(ICRC3_MAP);
}

/* Makes room for one more entry. The arrays are grown one by one; a failure part-way leaves
 * the larger ones in place (harmless: cap only grows once all have). */
static bool reserve_one(icrc3_value_t *c)
{
    if (c->count < c->cap)
        return true;
    size_t cap = c->cap ? 2 * c->cap : 4;
    icrc3_value_t **items = realloc(c->items, cap * sizeof *items);
    if (!items)
        return false;
    c->items = items;
    if (c->kind == ICRC3_MAP) {
        char **keys = realloc(c->keys, cap * sizeof *keys);
        if (!keys)
            return false;
        c->keys = keys;
        uint8_t(*pairs)[64] = realloc(c->pairs, cap * sizeof *pairs);
        if (!pairs)
            return false;
        c->pairs = pairs;
    }
    c->cap = cap;
    return true;
}

bool icrc3_array_push(icrc3_value_t *arr, icrc3_value_t *item)
{
    if (!arr || !item || arr->kind != ICRC3_ARRAY || !reserve_one(arr)) {
        icrc3_value_destroy(&item);
        return false;
    }
    arr->items[arr->count++] = item;
    return true;
}

bool icrc3_map_set(icrc3_value_t *map, const char *key, icrc3_value_t *value)
{
    if (!map || !key || !value || map->kind != ICRC3_MAP)
        goto fail;
    for (size_t i = 0; i < map->count; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            icrc3_value_destroy(&map->items[i]);
            map->items[i] = value;
            return true;
        }
    }
    if (!reserve_one(map))
        goto fail;
    char *copy = strdup(key);
    if (!copy)
        goto fail;
    map->keys[map->count] = copy;
    map->items[map->count] = value;
    map->count++;
    return true;
fail:
    icrc3_value_destroy(&value);
    return false;
}

icrc3_kind_t icrc3_value_kind(const icrc3_value_t *v)
{
    return v->kind;
}

size_t icrc3_value_count(const icrc3_value_t *v)
{
    return v->kind == ICRC3_ARRAY || v->kind == ICRC3_MAP ? v->count : 0;
}

static int compare_pairs(const void *a, const void *b)
{
    return memcmp(a, b, 64);
}

void icrc3_value_hash(const icrc3_value_t *v, uint8_t out[32])
{
    switch (v->kind) {
    case ICRC3_NAT:
    case ICRC3_INT:
    case ICRC3_TEXT:
    case ICRC3_BLOB:
        sha256(v->bytes, v->len, out);
        return;
    case ICRC3_ARRAY: {
        sha256_ctx_t ctx;
        sha256_init(&ctx);
        for (size_t i = 0; i < v->count; i++) {
            uint8_t h[32];
            icrc3_value_hash(v->items[i], h);
            sha256_update(&ctx, h, sizeof h);
        }
        sha256_final(&ctx, out);
        return;
    }
    case ICRC3_MAP: {
        /* v is const but its scratch is not: the pairs are a cache, not part of the value */
        for (size_t i = 0; i < v->count; i++) {
            sha256(v->keys[i], strlen(v->keys[i]), v->pairs[i]);
            icrc3_value_hash(v->items[i], v->pairs[i] + 32);
        }
        if (v->count > 1)
            qsort(v->pairs, v->count, sizeof v->pairs[0], compare_pairs);
        sha256(v->pairs, v->count * sizeof v->pairs[0], out);
        return;
    }
    }
    sha256(NULL, 0, out); /* unreachable: every kind is handled above */
}

void icrc3_value_destroy(icrc3_value_t **v)
{
    if (!v || !*v)
        return;
    icrc3_value_t *x = *v;
    for (size_t i = 0; i < x->count; i++) {
        icrc3_value_destroy(&x->items[i]);
        if (x->keys)
            free(x->keys[i]);
    }
    free(x->items);
    free(x->keys);
    free(x->pairs);
    free(x->bytes);
    free(x);
    *v = NULL;
}
