/*
 * api_internal: what the governance plug-in's files share (api.c: the service, its routes of
 * part 1, commands and rounds; api_calls.c: the outbox and the calls' answers; api_proposals.c:
 * the reads of proposals, ballots, votes, reward events, known neurons and node providers).
 */
#ifndef NNS_GOV_API_INTERNAL_H
#define NNS_GOV_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "gov.h"
#include "gov_proposal.h"
#include "gov_reward.h"
#include "hmap.h"
#include "http.h"
#include "metrics.h"
#include "proposal_body.h"
#include "service.h"
#include "store.h"

#define API_CASCADE_BUCKETS 8 /* buckets of the vote cascade histogram (+Inf apart) */
#define NANOS 1000000000ULL
#define RESUBMIT_NANOS                                                                             \
    (30ULL * NANOS)        /* an intent submitted and not answered this long is                    \
                              submitted again (the runner refuses a duplicate) */
#define RATE_DAYS_MAX 1000 /* days in one rate-history answer (the cmc's page) */
/* Calls pending in the runner at most. A genesis of many neurons records a mint each: the rest
 * wait in the outbox and go out as answers make room. Kept moderate: the runner scans its
 * slots to take and to submit a call. */
#define CALLS_MAX 1024

/* ---------------------------------------------------------------- commands */

typedef enum {
    OP_CLAIM = 1,
    OP_COMMAND,
    OP_BALANCE_READ,    /* internal: a balance GET's answer */
    OP_TRANSFER_DONE,   /* internal: a transfer's answer */
    OP_MODULATION_READ, /* internal: the cmc's modulation or rate history */
    OP_TICK,            /* internal: periodic work is due */
    OP_SUBMIT,          /* POST /v1/proposals */
    OP_VOTE,            /* POST /v1/proposals/{id}/votes */
    OP_POST_DONE,       /* internal: the answer of a POST to the cmc (an adopted proposal) */
    OP_SUPPLY_READ,     /* internal: the ledger's total supply (the daily reward event) */
    OP_AVERAGE_RATE,    /* internal: the cmc's 30-day average rate (node-provider rewards) */
} gov_op_kind_t;

typedef struct {
    write_t w; /* first: the skeleton's envelope */
    gov_op_kind_t kind;
    union {
        gov_claim_args_t claim;
        gov_command_t cmd;
        struct {
            uint64_t intent_id;
            gov_balance_result_t res;
        } balance;
        struct {
            uint64_t intent_id;
            gov_transfer_result_t res;
        } transfer;
        struct {
            uint64_t intent_id;
            gov_modulation_result_t res; /* days: the app's rate_days (state thread) */
        } modulation;
        gov_submission_t *submit; /* owned: freed by op_release */
        gov_vote_args_t vote;
        struct {
            uint64_t intent_id;
            gov_call_result_t res;
        } post;
        struct {
            uint64_t intent_id;
            gov_supply_result_t res;
        } supply;
        struct {
            uint64_t intent_id;
            gov_average_rate_result_t res;
        } average;
    } u;
} gov_op_t;

/* An intent as the outbox keeps it: gov_intent_t's fields the calls need, with the outbox's own
 * copy of a POST's body. */
typedef struct {
    uint64_t id;
    gov_intent_kind_t kind;
    gov_purpose_t purpose;
    gov_target_t target;
    char path[GOV_PATH_MAX];
    uint8_t from_subaccount[SUBACCOUNT_BYTES];
    account_id_t to;
    uint64_t amount, fee, memo, created_at_time;
    char *body; /* POST: malloc'd; NULL otherwise */
} outbox_intent_t;

/* ---------------------------------------------------------------- the service's state */

/* An unresolved intent of the outbox. The array is the state thread's; call_done reads an
 * entry's purpose under out_mu. */
typedef struct {
    outbox_intent_t in;
    bool submitted;        /* given to the runner, its answer not yet through a round */
    uint64_t submitted_at; /* wall clock */
} outbox_entry_t;

enum { ANS_CLAIM, ANS_COMMAND, ANS_OK, ANS_REFUSED, ANS_N };

typedef struct {
    service_t *svc;
    gov_t *gov;
    gov_store_t *store;
    call_runner_t *runner;
    principal_t governance;
    pthread_mutex_t out_mu;
    outbox_entry_t *outbox;
    size_t nout, capout;
    hmap_t outbox_index; /* id_key(intent id) -> position in outbox (under out_mu) */
    size_t scan_at;      /* where refill's scan of the outbox resumes */
    size_t outbox_peak;  /* the most entries since the outbox last settled (outbox_settle) */
    _Atomic size_t outbox_size;
    _Atomic int crash_armed;
    uint64_t tick_sent_at; /* state thread: a tick command waits for its round (0: none) */
    /* the last rate-history answer (runner thread writes, state thread reads) */
    pthread_mutex_t days_mu;
    gov_rate_day_t *rate_days;
    size_t nrate_days;
    uint64_t rate_days_intent;
    _Atomic uint64_t claims, commands, refusals, answers_lost, ticks, external_failures;
    _Atomic uint64_t proposals_submitted, votes_cast, cmc_failures;
    /* the time of each vote's apply with its cascade (seconds): a histogram */
    pthread_mutex_t hist_mu;
    uint64_t cascade_buckets[API_CASCADE_BUCKETS + 1];
    double cascade_sum;
    uint64_t cascade_count;
} gov_app_t;

/* ---- shared by api.c and api_calls.c ---- */
/* A command for the state thread (NULL when out of memory). */
gov_op_t *new_op(service_t *svc, service_cmd_t **cmd);
/* The hash map key of an id (an intent's, a neuron's). */
void id_key(uint64_t id, uint8_t key[8]);
/* The outbox (api_calls.c): entries by intent id; add (copies, the POST body to the heap),
 * remove, and refill (submit what is not in flight). */
outbox_entry_t *outbox_find(gov_app_t *a, uint64_t id);
bool outbox_add(gov_app_t *a, const gov_intent_t *in);
void outbox_remove(gov_app_t *a, uint64_t id);
void refill(gov_app_t *a, uint64_t wall_now);
/* After a large outbox has drained (a genesis's mints: one per neuron), gives its memory back:
 * the array and its index shrink, and the heap's free pages go back to the system (state
 * thread, from the tick). */
void outbox_settle(gov_app_t *a);
/* A call's answer (a runner thread): into an internal command for the next round. */
void call_done(void *ctx, const call_answer_t *ans);

/* The service's state machine and store, from a handler's svc. */
gov_t *api_gov(void *svc);
gov_store_t *api_store(void *svc);

/* GET /v1/governance's additions (latest_reward_event, proposal counts, node-provider reward
 * progress) set on o; false when out of memory. */
bool api_governance_extras(gov_t *g, uint64_t now, json_t *o);

/* The proposal families of GET /metrics: proposals by status, ballots held, open proposals. */
void api_proposal_metrics(gov_t *g, uint64_t now, metrics_t *m);

/* The read routes (api_proposals.c). */
void api_get_proposals(http_request_t *req, void *svc);
void api_get_proposal(http_request_t *req, void *svc);
void api_get_ballots(http_request_t *req, void *svc);
void api_get_votes(http_request_t *req, void *svc);
void api_get_neuron_votes(http_request_t *req, void *svc);
void api_get_reward_events(http_request_t *req, void *svc);
void api_get_known_neurons(http_request_t *req, void *svc);
void api_get_node_providers(http_request_t *req, void *svc);

#endif
