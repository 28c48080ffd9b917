/*
 * round: the service's single state thread (DESIGN.md section 3).
 *
 * HTTP threads submit commands (round_item_t, embedded in the service's own command struct);
 * the state thread takes every waiting command as one round and hands the whole list to the
 * service's run callback, which applies them in order, commits once, and answers each. A tick
 * callback runs on the same thread at least every tick_ms, for periodic work. Nothing else
 * touches the service's state, so the callbacks need no locks of their own against each other.
 */
#ifndef NNS_ROUND_H
#define NNS_ROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct round_item {
    struct round_item *next;
    size_t weight; /* what the item counts toward max_batch (a batch of 100 transfers: 100);
                      0 counts as 1 */
} round_item_t;

/* Runs one round: items is a FIFO list of n commands; the callback owns them afterwards. */
typedef void (*round_run_fn)(void *svc, round_item_t *items, size_t n);
/* Periodic work on the state thread (may be NULL). */
typedef void (*round_tick_fn)(void *svc);
/* Runs on the state thread before each round is taken (whether commands are waiting or not)
 * and before the thread exits (may be NULL): the service finishes rounds still in flight, and
 * may hold the next round back meanwhile (round_queued() tells what waits). */
typedef void (*round_gate_fn)(void *svc);

typedef struct round_loop round_loop_t;

typedef struct {
    round_run_fn run;
    round_tick_fn tick; /* may be NULL */
    round_gate_fn gate; /* may be NULL */
    unsigned tick_ms;   /* 0: every second */
    size_t max_batch;   /* bounds a round's total weight (0: no bound; a single heavier item
                           still makes a round of its own) */
    unsigned gather_ms; /* while commands announced by round_expect() are on their way, a round
                           waits for them until this long after the previous round began
                           (0: never waits) */
} round_config_t;

/* Starts the state thread. Returns NULL on failure. */
round_loop_t *round_loop_new(const round_config_t *cfg, void *svc);

/* Stops taking commands, runs every command already queued, and joins the thread. The loop
 * stays valid (round_submit() then refuses) until round_loop_destroy(). Safe to call twice. */
void round_loop_stop(round_loop_t *loop);

/* Stops the loop (as round_loop_stop) and frees it. Safe on NULL. */
void round_loop_destroy(round_loop_t **loop);

/* Queues a command for the next round. Thread-safe; never blocks on a round. Returns false,
 * queuing nothing, once the loop is stopping: the caller answers the command itself. */
bool round_submit(round_loop_t *loop, round_item_t *item) __attribute__((warn_unused_result));

/* Announces commands on their way to round_submit() (delta > 0: a batch whose signatures are
 * being checked), or settles them (delta < 0, whether they were submitted or answered at
 * once). Thread-safe. A round waits for announced commands at most gather_ms. */
void round_expect(round_loop_t *loop, int delta);

/* In the run callback (state thread): takes the commands that arrived since the round was
 * handed over, in arrival order, as many as fit under max_batch with the taken weight the
 * round holds already. Returns how many (they count toward the round in the stats); *items
 * gets their list (NULL: none), which the callback owns. */
size_t round_take(round_loop_t *loop, size_t taken, round_item_t **items);

/* The weight of the commands waiting for a round (0: none). */
size_t round_queued(round_loop_t *loop);

/* Pacing the next round while rounds are in flight (the service's gate; state thread only).
 * The part of a round that holds its locks (its upserts after the guard, a commit delay, the
 * flush) runs one round after another in PostgreSQL; what a round does before that (applying
 * it, BEGIN, the COPYs) overlaps the round before. So the next round is best taken when the
 * rounds in flight are about to end, less the time it takes to prepare one: it then holds
 * everything that arrived meanwhile and is ready as the head of the pipeline ends. Taken
 * earlier, it is smaller than it could be (each round costs PostgreSQL its transaction and
 * flush); taken only once they have ended, PostgreSQL waits while it is prepared, and the
 * cycle is the serialized part plus the preparation (with 5 ms added to every commit, 11 ms
 * instead of 7: docs/benchmarks.md). Times are monotonic nanoseconds. */
typedef struct {
    uint64_t serial_ns;  /* estimate: how long a round stays the head of the pipeline (0: none) */
    uint64_t prepare_ns; /* estimate: the state thread's time to prepare and send a round */
    uint64_t late_ns;    /* estimate: taking late commands into a written round and sending it */
    uint64_t head_since; /* when the oldest round in flight became the head */
} round_pace_t;

/* A round was sent at sent_ns after prepare_ns of preparation (taking it, applying it and
 * writing it, without any wait for late commands); alone in flight, it is the head. */
void round_pace_sent(round_pace_t *p, uint64_t prepare_ns, uint64_t sent_ns, bool alone);
/* A written round took its late commands and was sent late_ns after it began taking them. */
void round_pace_late(round_pace_t *p, uint64_t late_ns);
/* Until when a written round takes late commands, with inflight rounds in flight (> 0): when
 * they are estimated to end, less twice the time its late part takes. The margin: a round
 * sent after the one before it ended leaves PostgreSQL idle for the difference, in the part
 * of every round that runs one round after another, while a round that stops taking commands
 * early only leaves the last few for the next round (with 5 ms added to every commit, the
 * estimate alone left the chain idle 16% of the time, twice it 9%: docs/benchmarks.md). */
uint64_t round_pace_late_due(const round_pace_t *p, size_t inflight);
/* The head ended at end_ns; next_sent_ns is when the round after it was sent (0: none in
 * flight), which becomes the head. exact: end_ns is when the outcome arrived; otherwise it was
 * read late (the state thread was busy), and only says the round took no longer. */
void round_pace_ended(round_pace_t *p, uint64_t end_ns, bool exact, uint64_t next_sent_ns);
/* When the next round should be taken, with inflight rounds in flight (> 0): when they are
 * estimated to end, less the preparation, but no sooner than half a round's time at the head
 * before that. */
uint64_t round_pace_due(const round_pace_t *p, size_t inflight);

/* Counters for /metrics. */
typedef struct {
    uint64_t rounds, items, max_round;
    uint64_t late_items; /* of items, those taken by round_take() */
    uint64_t gather_ms;  /* time the state thread spent waiting for announced commands */
} round_stats_t;
void round_stats(round_loop_t *loop, round_stats_t *out);

#endif
