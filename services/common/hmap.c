#include "hmap.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(const hmap_t *m, const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    h ^= h >> 29; /* digests are uniform, but fold anyway for short test keys */
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 7) & (m->cap - 1);
}

/* Fresh arrays for cap slots; on failure nothing is allocated and m's arrays are NULL (the
 * caller restores or frees what it had). */
static bool alloc_arrays(hmap_t *m, size_t cap)
{
    m->keys = malloc(cap * m->key_len);
    m->vals = malloc(cap * sizeof *m->vals);
    m->used = calloc(cap, 1);
    if (!m->keys || !m->vals || !m->used) {
        free(m->keys);
        free(m->vals);
        free(m->used);
        m->keys = NULL;
        m->vals = NULL;
        m->used = NULL;
        m->cap = 0;
        return false;
    }
    m->cap = cap;
    return true;
}

bool hmap_init(hmap_t *m, size_t key_len, size_t initial_cap)
{
    memset(m, 0, sizeof *m);
    if (key_len < 8 || key_len > 32)
        return false;
    size_t cap = 16;
    while (cap < initial_cap)
        cap *= 2;
    m->key_len = key_len;
    return alloc_arrays(m, cap);
}

void hmap_free(hmap_t *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

hval_t *hmap_get(const hmap_t *m, const uint8_t *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->used[i])
            return NULL;
        if (memcmp(hmap_key_at(m, i), key, m->key_len) == 0)
            return &m->vals[i];
    }
}

static bool grow(hmap_t *m)
{
    hmap_t old = *m;
    if (!alloc_arrays(m, old.cap * 2)) {
        *m = old;
        return false;
    }
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.used[i])
            continue;
        size_t j = slot_of(m, hmap_key_at(&old, i));
        while (m->used[j])
            j = (j + 1) & (m->cap - 1);
        m->used[j] = 1;
        memcpy(m->keys + j * m->key_len, hmap_key_at(&old, i), m->key_len);
        m->vals[j] = old.vals[i];
        m->count++;
    }
    free(old.keys);
    free(old.vals);
    free(old.used);
    return true;
}

bool hmap_reserve(hmap_t *m, size_t extra)
{
    while ((m->count + extra) * 4 > m->cap * 3)
        if (!grow(m))
            return false;
    return true;
}

hval_t *hmap_put(hmap_t *m, const uint8_t *key, bool *created)
{
    if (!hmap_reserve(m, 1))
        return NULL;
    size_t i = slot_of(m, key);
    while (m->used[i]) {
        if (memcmp(hmap_key_at(m, i), key, m->key_len) == 0) {
            if (created)
                *created = false;
            return &m->vals[i];
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->used[i] = 1;
    memcpy(m->keys + i * m->key_len, key, m->key_len);
    m->vals[i] = (hval_t){0, 0};
    m->count++;
    if (created)
        *created = true;
    return &m->vals[i];
}

bool hmap_del(hmap_t *m, const uint8_t *key)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1, i = slot_of(m, key);
    while (m->used[i] && memcmp(hmap_key_at(m, i), key, m->key_len) != 0)
        i = (i + 1) & mask;
    if (!m->used[i])
        return false;
    /* backward-shift: move later members of the cluster into the hole when allowed */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
        size_t home = slot_of(m, hmap_key_at(m, j));
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (between)
            continue;
        memcpy(m->keys + hole * m->key_len, hmap_key_at(m, j), m->key_len);
        m->vals[hole] = m->vals[j];
        hole = j;
    }
    m->used[hole] = 0;
    m->count--;
    return true;
}

void hmap_clear(hmap_t *m)
{
    if (m->count)
        memset(m->used, 0, m->cap);
    m->count = 0;
}

size_t hmap_memory(const hmap_t *m)
{
    return m->cap * (m->key_len + sizeof(hval_t) + 1);
}
