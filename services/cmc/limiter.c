/*
 * limiter: the sliding-window minting limiter (spec/cmc.md 4; rs/nns/cmc/src/limiter.rs): a
 * queue of (window, count) pairs, oldest first, and their running total.
 */
#include <string.h>

#include "cmc.h"

void cmc_limiter_init(cmc_limiter_t *l, uint64_t resolution, uint64_t max_age)
{
    memset(l, 0, sizeof *l);
    l->resolution = resolution ? resolution : 1;
    l->max_age = max_age;
}

/* limiter.rs purge_old: drop the oldest window while (window + 1) * resolution + max_age <=
 * now. */
void cmc_limiter_purge(cmc_limiter_t *l, uint64_t now_seconds)
{
    size_t k = 0;
    while (k < l->n && (l->w[k].window + 1) * l->resolution + l->max_age <= now_seconds) {
        l->total -= l->w[k].count;
        k++;
    }
    if (k) {
        memmove(l->w, l->w + k, (l->n - k) * sizeof l->w[0]);
        l->n -= k;
    }
}

/* limiter.rs add. */
void cmc_limiter_add(cmc_limiter_t *l, uint64_t now_seconds, cmc_cycles_t c)
{
    cmc_limiter_purge(l, now_seconds);
    uint64_t window = now_seconds / l->resolution;
    if (l->n > 0 && (l->w[l->n - 1].window >= window || l->n == CMC_LIMITER_MAX_WINDOWS)) {
        l->w[l->n - 1].count += c;
    } else {
        l->w[l->n].window = window;
        l->w[l->n].count = c;
        l->n++;
    }
    l->total += c;
}

/* limiter.rs check_and_add_cycles. */
bool cmc_limiter_check_and_add(cmc_limiter_t *l, uint64_t now_seconds, cmc_cycles_t c,
                               cmc_cycles_t limit)
{
    cmc_limiter_purge(l, now_seconds);
    if (l->total + c > limit || l->total + c < l->total)
        return false;
    cmc_limiter_add(l, now_seconds, c);
    return true;
}
