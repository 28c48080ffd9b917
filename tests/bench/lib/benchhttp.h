/*
 * benchhttp: what the service benchmarks (cmcbench, govbench) share: users made from a seed,
 * signed requests, a closed loop of requests over keep-alive connections (libcurl multi), and
 * small JSON reads. Linked into every tool of tests/bench.
 */
#ifndef NNS_BENCHHTTP_H
#define NNS_BENCHHTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "account.h"
#include "keyfile.h"
#include "principal.h"

typedef struct {
    identity_t id;
    char principal[PRINCIPAL_TEXT_MAX];
    char account[ACCOUNT_HEX_LEN + 1];
} user_t;

typedef struct {
    char name[32];
    int pid;
    bool children;
    uint64_t before, after; /* clock ticks */
} cpu_t;

/* One request of a phase: method, target, body, the signature headers; the answer. */
typedef struct {
    const char *method;
    char target[160];
    char *body;
    struct curl_slist *headers;
    long status;
    char *answer;
    size_t answer_len;
    double seconds; /* latency */
} req_t;

uint64_t mono_ns(void);

uint64_t wall_ns(void);

void user_init(user_t *u, const char *prefix, unsigned i);

/* Signs r as u (expiry: the wall clock + 4 minutes, under the 5-minute bound, so a run of a few
 * minutes keeps its requests valid) and
 * builds its header list. Returns false when out of memory. */
bool sign_req(req_t *r, const user_t *u);

size_t on_data(char *p, size_t size, size_t n, void *ctx);

void req_free(req_t *r);

/* Sends every request of reqs to base over at most conns keep-alive connections, one request
 * outstanding per connection; fills status, answer and latency. Returns false on a curl setup
 * failure (a request that got no answer has status 0). */
bool run_all(const char *base, req_t *reqs, size_t n, unsigned conns);

/* One request, sent alone; true when it answered 200. */
bool run_one(const char *base, req_t *r);

/* GET base+target; the answer parsed (NULL on failure). */
json_t *get_json(const char *base, const char *target);

bool json_u64_member(json_t *o, const char *key, uint64_t *out);

#define BENCH_FEE_E8S 10000ULL /* the ledger's transfer fee */

/* A signed POST request of body by u (body is taken over; false when it is NULL or signing
 * fails). */
bool bench_post(req_t *r, const user_t *u, const char *target, char *body);
/* A legacy transfer body with the fee; created (nanoseconds) makes equal transfers distinct
 * for the ledger's deduplication. NULL when out of memory. */
char *bench_transfer_body(const char *to, uint64_t amount, uint64_t memo, uint64_t created);
/* The ledger's now_nanos and chain_length; 0 on failure. */
uint64_t bench_ledger_now(const char *ledger);
uint64_t bench_ledger_chain_length(const char *ledger);
/* c's user+system clock ticks (with c->children, those of its child processes too). */
uint64_t bench_cpu_ticks(const cpu_t *c);
/* --cpu NAME=PID (NAME=PID+: with its children, for the PostgreSQL postmaster) added as
 * cpus[*n] (at most max); false when it is malformed or there is no room. */
bool bench_cpu_arg(const char *arg, cpu_t *cpus, size_t max, size_t *n);
/* qsort's order of doubles. */
int bench_cmp_double(const void *a, const void *b);

/* A benchmark server's arguments: --threads (0: one per core) made a count, and --listen
 * (host:port, IPv6 as [addr]:port) made a socket address; false, the reason printed under the
 * tool's name, when the address does not resolve. */
bool bench_server_args(const char *tool, const char *listen, int *threads,
                       struct sockaddr_storage *ss);

#endif
