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
    size_t queued, max_batch;
    bool stopping, joined;
    round_run_fn run;
    round_tick_fn tick;
    unsigned tick_ms;
    void *svc;
    round_stats_t stats;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *state_thread(void *arg)
{
    round_loop_t *l = arg;
    uint64_t next_tick = mono_ms() + l->tick_ms;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (!l->head && !l->stopping && mono_ms() < next_tick) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            uint64_t wait_ms = next_tick - mono_ms();
            if (wait_ms > l->tick_ms)
                wait_ms = l->tick_ms;
            until.tv_sec += (time_t)(wait_ms / 1000);
            until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&l->wake, &l->lock, &until);
        }
        round_item_t *items = l->head;
        size_t n = 0;
        if (items) {
            /* take up to max_batch commands, in arrival order */
            round_item_t *last = items;
            size_t weight = items->weight ? items->weight : 1;
            n = 1;
            while (last->next) {
                size_t w = last->next->weight ? last->next->weight : 1;
                if (l->max_batch && weight + w > l->max_batch)
                    break;
                weight += w;
                last = last->next;
                n++;
            }
            l->head = last->next;
            if (!l->head)
                l->tail = NULL;
            last->next = NULL;
            l->queued -= n;
        }
        bool stop = l->stopping && !l->head;
        pthread_mutex_unlock(&l->lock);
        if (items) {
            l->run(l->svc, items, n);
            pthread_mutex_lock(&l->lock);
            l->stats.rounds++;
            l->stats.items += n;
            if (n > l->stats.max_round)
                l->stats.max_round = n;
            pthread_mutex_unlock(&l->lock);
        }
        if (l->tick && mono_ms() >= next_tick) {
            l->tick(l->svc);
            next_tick = mono_ms() + l->tick_ms;
        }
        if (stop)
            return NULL;
        pthread_mutex_lock(&l->lock);
    }
}

round_loop_t *round_loop_new(round_run_fn run, round_tick_fn tick, unsigned tick_ms,
                             size_t max_batch, void *svc)
{
    round_loop_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    l->run = run;
    l->tick = tick;
    l->tick_ms = tick_ms ? tick_ms : 1000;
    l->max_batch = max_batch;
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
    l->queued++;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    return true;
}

void round_stats(round_loop_t *l, round_stats_t *out)
{
    pthread_mutex_lock(&l->lock);
    *out = l->stats;
    pthread_mutex_unlock(&l->lock);
}
