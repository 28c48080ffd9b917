/*
 * budget: how many refused writes a signer or a client address may still cause (issue 9,
 * "Hostile clients").
 *
 * A refused write (a committed 4xx outcome: InsufficientFunds, BadFee, ...) costs the service
 * as much as a transfer: a signature check, a place in a round, a replay row in memory and in
 * PostgreSQL. A budget bounds that cost per subject. Each subject (a signer's principal, a
 * client's IP address: the caller names it with a short byte key and a kind) has a token bucket
 * of `per_minute` tokens, refilled at per_minute tokens a minute; every refusal takes one token
 * (a bucket may go into debt, down to -per_minute, so a burst of refusals in flight at once is
 * paid for). A write is admitted while both its signer's and its address's buckets hold at least
 * one token; past that the caller answers 429 TemporarilyUnavailable with Retry-After.
 *
 * The table is bounded (a client making a fresh key per request cannot grow it): NSHARDS shards
 * of a fixed number of slots, each behind its own mutex, found by SipHash with a per-process
 * secret seed (keys are the client's to choose). A key is looked for in a short window of
 * slots; when the window is full, a bucket that has refilled completely (it remembers nothing)
 * gives its slot, else the one touched longest ago. Only subjects with refusals are ever stored:
 * budget_admit of an unknown subject creates nothing, so the table holds misbehaving clients.
 *
 * Thread-safe. Times are nanoseconds of any monotonic clock, given by the caller (tests pass
 * their own). Life cycle: budget_new, then any thread calls budget_admit / budget_charge,
 * budget_destroy(&b) when no thread uses it any more.
 */
#ifndef NNS_BUDGET_H
#define NNS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct budget budget_t;

/* The longest key a subject may have (a principal is at most 29 bytes, an IPv6 address 16). */
#define BUDGET_KEY_MAX 32

/* Subject kinds: the same bytes as a signer and as an address are two subjects. */
typedef enum { BUDGET_SIGNER = 1, BUDGET_ADDRESS = 2 } budget_kind_t;

/* A budget of per_minute refusals per subject (per_minute > 0), in a table of about `slots`
 * subjects (rounded to whole shards). Returns NULL when out of memory. */
budget_t *budget_new(unsigned per_minute, size_t slots) __attribute__((warn_unused_result));

/* Frees b. Safe on NULL; sets *b to NULL. */
void budget_destroy(budget_t **b);

/* True when the subject may cause one more refusal now. When not, *retry_after_s (if not NULL)
 * gets the whole seconds until it may (at least 1). Cannot fail; creates nothing. */
bool budget_admit(budget_t *b, budget_kind_t kind, const uint8_t *key, size_t key_len,
                  uint64_t now_nanos, unsigned *retry_after_s);

/* Charges n refusals to the subject. Cannot fail (a full window gives up a slot). */
void budget_charge(budget_t *b, budget_kind_t kind, const uint8_t *key, size_t key_len,
                   unsigned n, uint64_t now_nanos);

/* Subjects held now (for metrics and tests). */
size_t budget_subjects(budget_t *b);

#endif
