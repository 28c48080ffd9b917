#include "table.h"

#include <stdlib.h>
#include <string.h>

bool table_init(table_t *t, size_t key_len, size_t rec_size, stored_size_fn stored_size)
{
    t->rec_size = rec_size;
    t->stored_size = stored_size;
    return hmap_init(&t->map, key_len, 64);
}

void table_free(table_t *t)
{
    for (size_t i = 0; i < t->map.cap; i++)
        if (t->map.used[i])
            free((void *)(uintptr_t)t->map.vals[i].a);
    hmap_free(&t->map);
}

const void *table_get(const table_t *t, const uint8_t *key)
{
    const hval_t *v = hmap_get(&t->map, key);
    return v ? (const void *)(uintptr_t)v->a : NULL;
}

const void *table_slot(const table_t *t, size_t i)
{
    return t->map.used[i] ? (const void *)(uintptr_t)t->map.vals[i].a : NULL;
}

bool table_read(const table_t *t, const uint8_t *key, void *out)
{
    const hval_t *v = hmap_get(&t->map, key);
    if (!v)
        return false;
    memcpy(out, (const void *)(uintptr_t)v->a, (size_t)v->b);
    memset((uint8_t *)out + v->b, 0, t->rec_size - (size_t)v->b);
    return true;
}

bool table_put(table_t *t, const uint8_t *key, const void *rec)
{
    size_t size = t->stored_size ? t->stored_size(rec) : t->rec_size;
    if (size > t->rec_size)
        size = t->rec_size;
    hval_t *v = hmap_get(&t->map, key);
    if (v) {
        void *p = (void *)(uintptr_t)v->a;
        if (v->b != size) {
            void *grown = realloc(p, size);
            if (!grown)
                return false; /* p is still the record */
            p = grown;
            v->a = (uint64_t)(uintptr_t)p;
            v->b = size;
        }
        memcpy(p, rec, size);
        return true;
    }
    void *copy = malloc(size);
    if (!copy)
        return false;
    memcpy(copy, rec, size);
    v = hmap_put(&t->map, key, NULL);
    if (!v) {
        free(copy);
        return false;
    }
    v->a = (uint64_t)(uintptr_t)copy;
    v->b = size;
    return true;
}

void table_del(table_t *t, const uint8_t *key)
{
    const hval_t *v = hmap_get(&t->map, key);
    if (!v)
        return;
    free((void *)(uintptr_t)v->a);
    hmap_del(&t->map, key);
}

bool overlay_init(overlay_t *o, size_t key_len, size_t rec_size)
{
    memset(o, 0, sizeof *o);
    o->key_len = key_len;
    o->rec_size = rec_size;
    return hmap_init(&o->idx, key_len, 16);
}

void overlay_free(overlay_t *o)
{
    hmap_free(&o->idx);
    free(o->keys);
    free(o->recs);
    free(o->removed);
    memset(o, 0, sizeof *o);
}

long overlay_find(const overlay_t *o, const uint8_t *key)
{
    const hval_t *v = hmap_get(&o->idx, key);
    return v ? (long)v->a - 1 : -1;
}

static bool overlay_grow(overlay_t *o)
{
    size_t cap = o->cap ? o->cap * 2 : 16;
    uint8_t *keys = realloc(o->keys, cap * o->key_len);
    if (!keys)
        return false;
    o->keys = keys;
    uint8_t *recs = realloc(o->recs, cap * o->rec_size);
    if (!recs)
        return false;
    o->recs = recs;
    bool *removed = realloc(o->removed, cap * sizeof *removed);
    if (!removed)
        return false;
    o->removed = removed;
    o->cap = cap;
    return true;
}

bool overlay_set(overlay_t *o, const uint8_t *key, const void *rec, bool removed)
{
    long i = overlay_find(o, key);
    if (i < 0) {
        if (o->n == o->cap && !overlay_grow(o))
            return false;
        if (!hmap_reserve(&o->idx, 1))
            return false;
        hval_t *v = hmap_put(&o->idx, key, NULL);
        i = (long)o->n++;
        v->a = (uint64_t)i + 1;
        memcpy(o->keys + (size_t)i * o->key_len, key, o->key_len);
    }
    memcpy(o->recs + (size_t)i * o->rec_size, rec, o->rec_size);
    o->removed[i] = removed;
    return true;
}

const void *overlay_lookup(const table_t *t, const overlay_t *o, const uint8_t *key)
{
    long i = overlay_find(o, key);
    if (i >= 0)
        return o->removed[i] ? NULL : overlay_rec(o, (size_t)i);
    return table_get(t, key);
}

bool overlay_lookup_read(const table_t *t, const overlay_t *o, const uint8_t *key, void *out)
{
    long i = overlay_find(o, key);
    if (i >= 0) {
        if (o->removed[i])
            return false;
        memcpy(out, overlay_rec(o, (size_t)i), o->rec_size);
        return true;
    }
    return table_read(t, key, out);
}

void overlay_merge(const overlay_t *o, table_t *t)
{
    for (size_t i = 0; i < o->n; i++) {
        const uint8_t *key = o->keys + i * o->key_len;
        if (o->removed[i])
            table_del(t, key);
        else if (!table_put(t, key, overlay_rec(o, i)))
            abort();
    }
}
