/*
 * gov_stats: the neuron totals gov_info reports (stake and maturity sums, neurons by dissolve
 * state, bytes of the records), kept incrementally as neurons are loaded and rounds commit
 * (stats_t in gov_internal.h), so that GET /v1/governance and every /metrics scrape cost no scan
 * of the 400,000 neurons. gov_info_scan (gov.c) computes the same figures by a full scan: the
 * unit suite's random walk compares the two.
 *
 * The dissolve state follows the upstream DissolveStateAndAge rules of gov_dissolve_state
 * (gov_math.c): a neuron whose when_dissolved_timestamp_seconds passes moves from dissolving to
 * dissolved without any round, so the counts by state are held at a clock and moved forward by
 * the reads through a min-heap of the dissolving neurons' times.
 */
#include <stdlib.h>
#include <string.h>

#include "gov_internal.h"

void stats_init(stats_t *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

void stats_free(stats_t *s)
{
    free(s->heap);
    s->heap = NULL;
    s->nheap = s->capheap = 0;
    pthread_mutex_destroy(&s->mu);
}

static gov_neuron_state_t state_at(const gov_neuron_t *n, uint64_t t)
{
    return n->has_spawn_at ? GOV_STATE_SPAWNING : gov_dissolve_state(&n->dissolve, t);
}

static bool ent_less(stats_ent_t a, stats_ent_t b)
{
    return a.ts < b.ts || (a.ts == b.ts && a.id < b.id);
}

/* ---- the min-heap of (time, id) ---- */

static void heap_push(stats_t *s, stats_ent_t e)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? s->capheap * 2 : 1024;
        stats_ent_t *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            abort(); /* crash-only: the restart loads the neurons again */
        s->heap = h;
        s->capheap = cap;
    }
    size_t i = s->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ent_less(e, s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
}

static stats_ent_t heap_pop(stats_t *s)
{
    stats_ent_t top = s->heap[0];
    stats_ent_t e = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ent_less(s->heap[c + 1], s->heap[c]))
            c++;
        if (!ent_less(s->heap[c], e))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = e;
    return top;
}

/* ---- contributions ---- */

void stats_neuron(gov_t *g, const nrec_t *rec, int sign)
{
    stats_t *s = &g->stats;
    const gov_neuron_t *n = &rec->n;
    uint64_t k = sign > 0 ? 1 : (uint64_t)-1; /* the sums wrap: removing adds the complement */
    s->staked_e8s += k * minted_stake(n);
    s->maturity_e8s += k * n->maturity_e8s_equivalent;
    s->staked_maturity_e8s += k * n->staked_maturity_e8s_equivalent;
    s->neuron_bytes += k * (sizeof *rec + ext_size(rec->ext));
    gov_neuron_state_t st = state_at(n, s->clock);
    if ((int)st >= 1 && (int)st <= 4)
        s->by_state[st] += k;
    /* a removed dissolving neuron leaves its heap entry: stale, skipped when popped */
    if (sign > 0 && st == GOV_STATE_DISSOLVING)
        heap_push(s, (stats_ent_t){n->dissolve.when_dissolved_timestamp_seconds, n->id});
}

/* Whether a popped entry stands for a neuron counted dissolving: the neuron still dissolves at
 * that time (a neuron counted dissolving has an entry; one that stopped, spawned, changed its
 * time or was removed does not match), and the entry is not a repeat of the one popped before
 * (a neuron changed and changed back to the same time has two). */
static bool entry_live(gov_t *g, stats_ent_t e)
{
    stats_t *s = &g->stats;
    if (e.ts == s->last_popped.ts && e.id == s->last_popped.id)
        return false;
    uint8_t key[8];
    key_u64(e.id, key);
    const nrec_t *rec = table_get(&g->neurons, key);
    return rec && !rec->n.has_spawn_at && rec->n.dissolve.dissolving &&
           rec->n.dissolve.when_dissolved_timestamp_seconds == e.ts;
}

/* Rebuilds the heap from the neurons counted dissolving at the clock (no stale entries). */
static void heap_rebuild(gov_t *g)
{
    stats_t *s = &g->stats;
    s->nheap = 0;
    for (size_t i = 0; i < g->neurons.map.cap; i++) {
        const nrec_t *rec = table_slot(&g->neurons, i);
        if (rec && state_at(&rec->n, s->clock) == GOV_STATE_DISSOLVING)
            heap_push(s,
                      (stats_ent_t){rec->n.dissolve.when_dissolved_timestamp_seconds, rec->n.id});
    }
}

void stats_read(gov_t *g, uint64_t now, gov_info_t *out, uint64_t *neuron_bytes)
{
    stats_t *s = &g->stats;
    pthread_mutex_lock(&s->mu);
    if (now > s->clock) {
        s->clock = now;
        /* dissolved from when_dissolved_timestamp_seconds on (gov_dissolve_state) */
        while (s->nheap && s->heap[0].ts <= now) {
            stats_ent_t e = heap_pop(s);
            if (entry_live(g, e)) {
                s->by_state[GOV_STATE_DISSOLVING]--;
                s->by_state[GOV_STATE_DISSOLVED]++;
            }
            s->last_popped = e;
        }
    }
    if (s->nheap > 4096 && s->nheap > 2 * s->by_state[GOV_STATE_DISSOLVING])
        heap_rebuild(g);
    out->total_staked_e8s = s->staked_e8s;
    out->total_maturity_e8s = s->maturity_e8s;
    out->total_staked_maturity_e8s = s->staked_maturity_e8s;
    memcpy(out->neurons_by_state, s->by_state, sizeof out->neurons_by_state);
    if (neuron_bytes)
        *neuron_bytes = s->neuron_bytes;
    pthread_mutex_unlock(&s->mu);
}
