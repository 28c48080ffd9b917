#include "round.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct round_loop {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    round_item_t *head, *tail;
    size_t queued_weight, max_batch;
    size_t expected; /* commands announced by round_expect() and not yet settled */
    bool gathering;  /* the state thread is waiting for them */
    bool stopping, joined;
    round_run_fn run;
    round_tick_fn tick;
    round_gate_fn gate;
    unsigned tick_ms, gather_ms;
    uint64_t last_start_ms; /* when the last round was taken */
    size_t taken_late;      /* commands the running round took with round_take() */
    void *svc;
    round_stats_t stats;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits on l->wake (l->lock held) until signalled or until the monotonic deadline. */
static void wait_until(round_loop_t *l, uint64_t deadline_ms)
{
    uint64_t now = mono_ms();
    if (now >= deadline_ms)
        return;
    uint64_t wait_ms = deadline_ms - now;
    struct timespec until; /* l->wake waits on CLOCK_MONOTONIC: wall-clock steps do not matter */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&l->wake, &l->lock, &until);
}

/* What an item counts toward max_batch: its weight, 0 counting as 1. */
static size_t item_weight(const round_item_t *it)
{
    return it->weight ? it->weight : 1;
}

static bool round_full(const round_loop_t *l)
{
    return l->max_batch && l->queued_weight >= l->max_batch;
}

/* Gathering (l->lock held, commands waiting): while announced commands are still on their way
 * (a batch whose signatures are being checked), the round waits for them, until gather_ms
 * after the previous round was taken at most, or until a full round is waiting. A round
 * costs PostgreSQL more than its rows, so fewer, larger rounds cost less CPU per transfer; a
 * round that took longer than gather_ms adds no wait at all, and with nothing announced
 * (single requests only) the round starts at once. */
static void gather(round_loop_t *l)
{
    uint64_t deadline = l->last_start_ms + l->gather_ms;
    if (!l->gather_ms || !l->expected || mono_ms() >= deadline)
        return;
    uint64_t t0 = mono_ms();
    l->gathering = true;
    while (l->expected && !l->stopping && !round_full(l) && mono_ms() < deadline)
        wait_until(l, deadline);
    l->gathering = false;
    l->stats.gather_ms += mono_ms() - t0;
}

/* Takes waiting commands in arrival order (l->lock held, at least one waiting): up to max_batch
 * in all with the taken weight already in the round, but at least one when the round is empty.
 * Returns the list; *n gets how many. */
static round_item_t *take_locked(round_loop_t *l, size_t taken, size_t *n)
{
    round_item_t *items = l->head, *last = NULL;
    size_t weight = 0;
    *n = 0;
    for (round_item_t *it = items; it; it = it->next) {
        size_t w = item_weight(it);
        if (l->max_batch && taken + weight + w > l->max_batch && (taken || *n))
            break;
        weight += w;
        last = it;
        (*n)++;
    }
    if (!last)
        return NULL;
    l->head = last->next;
    if (!l->head)
        l->tail = NULL;
    last->next = NULL;
    l->queued_weight -= weight;
    return items;
}

static void *state_thread(void *arg)
{
    round_loop_t *l = arg;
    /* the first tick at once: work a service loaded at start (its unresolved calls to another
     * service) goes out as the loop starts, not a second later */
    uint64_t next_tick = mono_ms();
    pthread_mutex_lock(&l->lock);
    for (;;) {
        if (l->gate) {
            pthread_mutex_unlock(&l->lock);
            l->gate(l->svc);
            pthread_mutex_lock(&l->lock);
        }
        while (!l->head && !l->stopping && mono_ms() < next_tick)
            wait_until(l, next_tick);
        if (l->head)
            gather(l);
        size_t n = 0;
        round_item_t *items = l->head ? take_locked(l, 0, &n) : NULL;
        if (items)
            l->last_start_ms = mono_ms();
        bool stop = l->stopping && !l->head;
        pthread_mutex_unlock(&l->lock);
        if (items) {
            l->run(l->svc, items, n);
            pthread_mutex_lock(&l->lock);
            n += l->taken_late;
            l->taken_late = 0;
            l->stats.rounds++;
            l->stats.items += n;
            if (n > l->stats.max_round)
                l->stats.max_round = n;
            pthread_mutex_unlock(&l->lock);
        }
        if (mono_ms() >= next_tick) { /* without a tick too, or the idle wait would spin */
            if (l->tick)
                l->tick(l->svc);
            next_tick = mono_ms() + l->tick_ms;
        }
        if (stop) {
            if (l->gate)
                l->gate(l->svc);
            return NULL;
        }
        pthread_mutex_lock(&l->lock);
    }
}

round_loop_t *round_loop_new(const round_config_t *cfg, void *svc)
{
    round_loop_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &attr);
    pthread_condattr_destroy(&attr);
    l->run = cfg->run;
    l->tick = cfg->tick;
    l->gate = cfg->gate;
    l->tick_ms = cfg->tick_ms ? cfg->tick_ms : 1000;
    l->max_batch = cfg->max_batch;
    l->gather_ms = cfg->gather_ms;
    l->svc = svc;
    if (pthread_create(&l->thread, NULL, state_thread, l) != 0) {
        free(l);
        return NULL;
    }
    pthread_setname_np(l->thread, "state"); /* for top and perf */
    return l;
}

void round_loop_stop(round_loop_t *l)
{
    if (!l || l->joined)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    l->joined = true;
}

void round_loop_destroy(round_loop_t **loop)
{
    round_loop_t *l = *loop;
    if (!l)
        return;
    round_loop_stop(l);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    free(l);
    *loop = NULL;
}

bool round_submit(round_loop_t *l, round_item_t *item)
{
    item->next = NULL; /* item->weight is the caller's */
    pthread_mutex_lock(&l->lock);
    if (l->stopping) {
        pthread_mutex_unlock(&l->lock);
        return false;
    }
    if (l->tail)
        l->tail->next = item;
    else
        l->head = item;
    l->tail = item;
    l->queued_weight += item_weight(item);
    if (!l->gathering || round_full(l)) /* a gathering round waits for what it expects */
        pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    return true;
}

void round_expect(round_loop_t *l, int delta)
{
    pthread_mutex_lock(&l->lock);
    if (delta < 0 && (size_t)-delta > l->expected)
        l->expected = 0;
    else
        l->expected = (size_t)((ptrdiff_t)l->expected + delta);
    if (!l->expected && l->gathering)
        pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
}

void round_stats(round_loop_t *l, round_stats_t *out)
{
    pthread_mutex_lock(&l->lock);
    *out = l->stats;
    pthread_mutex_unlock(&l->lock);
}

size_t round_take(round_loop_t *l, size_t taken, round_item_t **items)
{
    size_t n = 0;
    pthread_mutex_lock(&l->lock);
    *items = l->head ? take_locked(l, taken, &n) : NULL;
    l->taken_late += n;
    l->stats.late_items += n;
    pthread_mutex_unlock(&l->lock);
    return n;
}

size_t round_queued(round_loop_t *l)
{
    pthread_mutex_lock(&l->lock);
    size_t w = l->queued_weight;
    pthread_mutex_unlock(&l->lock);
    return w;
}

/* Exponentially weighted moving average, weight 1/4 for the new sample: a few rounds follow a
 * change of load or of the disk, one slow round moves it by a quarter. */
static uint64_t ewma(uint64_t avg, uint64_t sample)
{
    return avg ? avg - avg / 4 + sample / 4 : sample;
}

void round_pace_sent(round_pace_t *p, uint64_t prepare_ns, uint64_t sent_ns, bool alone)
{
    p->prepare_ns = ewma(p->prepare_ns, prepare_ns);
    if (alone)
        p->head_since = sent_ns;
}

void round_pace_ended(round_pace_t *p, uint64_t end_ns, bool exact, uint64_t next_sent_ns)
{
    uint64_t took = end_ns > p->head_since ? end_ns - p->head_since : 0;
    /* a late reading is an upper bound: it may lower the estimate, never raise it (read late
     * because the next round was being prepared, it would otherwise only ever grow) */
    if (exact || !p->serial_ns || took < p->serial_ns)
        p->serial_ns = ewma(p->serial_ns, took);
    if (next_sent_ns)
        p->head_since = next_sent_ns > end_ns ? next_sent_ns : end_ns;
}

void round_pace_late(round_pace_t *p, uint64_t late_ns)
{
    p->late_ns = ewma(p->late_ns, late_ns);
}

uint64_t round_pace_late_due(const round_pace_t *p, size_t inflight)
{
    /* twice the estimate (round.h) */
    uint64_t end = p->head_since + p->serial_ns * inflight;
    uint64_t lead = 2 * p->late_ns;
    return end > lead ? end - lead : 0;
}

uint64_t round_pace_due(const round_pace_t *p, size_t inflight)
{
    /* never before half a round's time at the head: when preparing takes longer than that (a
     * busy host), a round taken at once would hold only the few commands that came since the
     * last one, and every round costs PostgreSQL its serialized part whatever its size */
    uint64_t lead = p->prepare_ns < p->serial_ns / 2 ? p->prepare_ns : p->serial_ns / 2;
    return p->head_since + p->serial_ns * inflight - lead;
}
