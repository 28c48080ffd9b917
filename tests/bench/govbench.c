/*
 * govbench: the governance service at scale (issue 12, "Speed"), against a running nns-ledger and
 * nns-governance that tests/bench/governance.sh starts.
 *
 *   govbench --print-genesis [--users U]       the ledger genesis funding the bench's users
 *   govbench --print-gov-genesis --neurons N [--per-controller P]
 *                                              governance's genesis: N neurons, P per controller
 *   govbench --ledger URL --governance URL --neurons N [--per-controller P] [--users U]
 *            [--claims C] [--reads R] [--lists Q] [--connections K] [--cpu NAME=PID[+]]...
 *
 * Genesis neuron i (0 <= i < N) has id GENESIS_ID0 + i, the controller whose raw principal bytes
 * are "gb" and i / P as 4 big-endian bytes (P neurons each, so a list by controller is one
 * page), memo i, 1 ICP of stake (minted by governance to its staking account at genesis),
 * dissolve delays spread over 3..24 months, and every tenth with maturity. User u is
 * identity_from_seed(SHA-256("govbench-<u>")).
 *
 * Before the timed windows: C legacy transfers of 1 ICP, transfer k by user k % U to the staking
 * account of (that user, memo 1 + k / U), computed offline (spec/governance.md 2.2). Then three
 * windows over K keep-alive connections (closed loop, one request outstanding per connection):
 *   claims  C signed POST /v1/neurons {memo}: each the whole flow, the ledger balance read
 *           through governance's calls and the commit;
 *   reads   R GET /v1/neurons/{id} of genesis neurons drawn at random (public view);
 *   lists   Q GET /v1/neurons?controller=P of random genesis controllers (P neurons each).
 * Each prints its rate with p50 and p99 latency. Every claim must answer 200 and GET
 * /v1/governance count N + C neurons afterwards; every read and list must answer 200 with the
 * right id or count. --cpu NAME=PID samples a process's CPU time over the claims window
 * (NAME=PID+: with its children, for the PostgreSQL postmaster). Loopback targets only.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "benchhttp.h"
#include "crypto.h"
#include "hex.h"
#include "jsonutil.h"
#include "keyfile.h"
#include "principal.h"

#define ICP 100000000ULL
#define USER_E8S 100000000000000ULL /* 1,000,000 ICP each */
#define GENESIS_ID0 UINT64_C(1000000000000)
#define MAX_CPU 8
#define MONTH UINT64_C(2629800)

/* The text of genesis controller c: raw bytes "gb" and c as 4 big-endian bytes. */
static void controller_text(uint32_t c, char out[PRINCIPAL_TEXT_MAX])
{
    uint8_t raw[6] = {'g',       'b', (uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8),
                      (uint8_t)c};
    principal_t p;
    nns_error_t err;
    if (!principal_from_bytes(raw, sizeof raw, &p, &err))
        abort(); /* six bytes are always a principal */
    principal_to_text(&p, out);
}

static void gov_genesis(uint64_t n, uint64_t per)
{
    char controller[PRINCIPAL_TEXT_MAX];
    printf("{\"rule_set\": \"current\", \"genesis_timestamp_seconds\": \"1700000000\",\n"
           " \"economics\": {\"max_sustained_neurons_per_hour\": 100000000, "
           "\"neuron_creation_spike\": 100000000},\n"
           " \"maturity_modulation_permyriad\": 0,\n \"neurons\": [\n");
    for (uint64_t i = 0; i < n; i++) {
        controller_text((uint32_t)(i / per), controller);
        printf("  {\"id\": \"%" PRIu64 "\", \"controller\": \"%s\", \"memo\": \"%" PRIu64
               "\", \"stake_e8s\": \"%llu\", \"dissolve_delay_seconds\": \"%" PRIu64 "\"%s}%s\n",
               GENESIS_ID0 + i, controller, i, ICP, (i % 8 + 1) * 3 * MONTH,
               i % 10 == 0 ? ", \"maturity_e8s_equivalent\": \"50000000\"" : "",
               i + 1 < n ? "," : "");
    }
    printf(" ]}\n");
}

/* The staking account of (the user, memo), as governance computes it. */
static void staking_account(const user_t *u, uint64_t memo, char out[ACCOUNT_HEX_LEN + 1])
{
    uint8_t sub[SUBACCOUNT_BYTES];
    principal_t governance;
    account_id_t aid;
    neuron_staking_subaccount(&u->id.principal, memo, sub);
    principal_canister(CANISTER_GOVERNANCE, &governance);
    account_id_of(&governance, sub, &aid);
    account_id_to_hex(&aid, out);
}

/* One timed window: sends reqs to base, prints "govbench: NAME: ..." with the rate and the
 * latencies; *ok counts the 200 answers. Returns false on a setup failure. */
static bool window(const char *name, const char *base, req_t *reqs, uint64_t n, unsigned conns,
                   uint64_t *ok)
{
    double *lat = calloc(n ? n : 1, sizeof *lat);
    uint64_t nlat = 0;
    unsigned shown = 0;
    if (!lat)
        return false;
    uint64_t w0 = mono_ns();
    if (!run_all(base, reqs, n, conns)) {
        free(lat);
        return false;
    }
    double secs = (double)(mono_ns() - w0) / 1e9;
    for (uint64_t k = 0; k < n; k++) {
        if (reqs[k].status == 200)
            lat[nlat++] = reqs[k].seconds;
        else if (shown++ < 5)
            fprintf(stderr, "govbench: %s %" PRIu64 ": %ld %.300s\n", name, k, reqs[k].status,
                    reqs[k].answer ? reqs[k].answer : "");
    }
    qsort(lat, nlat, sizeof *lat, bench_cmp_double);
    printf("govbench: %s: %" PRIu64 " over %u connections in %.2f s: %.0f/s (%" PRIu64
           " ok, %" PRIu64 " failed)",
           name, n, conns, secs, (double)nlat / secs, nlat, n - nlat);
    if (nlat)
        printf(", latency p50 %.2f ms, p99 %.2f ms, max %.2f ms", lat[nlat / 2] * 1e3,
               lat[nlat * 99 / 100] * 1e3, lat[nlat - 1] * 1e3);
    printf("\n");
    fflush(stdout);
    *ok = nlat;
    free(lat);
    return true;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: govbench --print-genesis [--users U]\n"
        "       govbench --print-gov-genesis --neurons N [--per-controller P]\n"
        "       govbench --ledger URL --governance URL --neurons N [--per-controller P]\n"
        "                [--users U] [--claims C] [--reads R] [--lists Q] [--connections K]\n"
        "                [--cpu NAME=PID[+]]...\n"
        "governance at scale: claims, reads and lists per second (tests/bench/governance.sh)\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ledger = NULL, *gov = NULL;
    unsigned users_n = 16, conns = 32;
    uint64_t neurons = 0, per = 50, claims = 2000, reads = 50000, lists = 5000;
    bool print_genesis = false, print_gov_genesis = false;
    cpu_t cpus[MAX_CPU];
    size_t ncpu = 0;
    enum {
        O_GENESIS = 1,
        O_GOV_GENESIS,
        O_LEDGER,
        O_GOV,
        O_USERS,
        O_CONNS,
        O_NEURONS,
        O_PER,
        O_CLAIMS,
        O_READS,
        O_LISTS,
        O_CPU
    };
    static const struct option opts[] = {
        {"print-genesis", no_argument, NULL, O_GENESIS},
        {"print-gov-genesis", no_argument, NULL, O_GOV_GENESIS},
        {"ledger", required_argument, NULL, O_LEDGER},
        {"governance", required_argument, NULL, O_GOV},
        {"users", required_argument, NULL, O_USERS},
        {"connections", required_argument, NULL, O_CONNS},
        {"neurons", required_argument, NULL, O_NEURONS},
        {"per-controller", required_argument, NULL, O_PER},
        {"claims", required_argument, NULL, O_CLAIMS},
        {"reads", required_argument, NULL, O_READS},
        {"lists", required_argument, NULL, O_LISTS},
        {"cpu", required_argument, NULL, O_CPU},
        {NULL, 0, NULL, 0},
    };
    int o;
    uint64_t v;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_GENESIS:
            print_genesis = true;
            break;
        case O_GOV_GENESIS:
            print_gov_genesis = true;
            break;
        case O_LEDGER:
            ledger = optarg;
            break;
        case O_GOV:
            gov = optarg;
            break;
        case O_USERS:
        case O_CONNS:
            if (!parse_u64(optarg, &v) || v == 0 || v > 4096)
                return usage();
            *(o == O_USERS ? &users_n : &conns) = (unsigned)v;
            break;
        case O_NEURONS:
        case O_PER:
        case O_CLAIMS:
        case O_READS:
        case O_LISTS:
            if (!parse_u64(optarg, &v) || v > 100000000 || (o == O_PER && (v == 0 || v > 100)))
                return usage();
            *(o == O_NEURONS  ? &neurons
              : o == O_PER    ? &per
              : o == O_CLAIMS ? &claims
              : o == O_READS  ? &reads
                              : &lists) = v;
            break;
        case O_CPU:
            if (!bench_cpu_arg(optarg, cpus, MAX_CPU, &ncpu))
                return usage();
            break;
        default:
            return usage();
        }
    }
    if (print_gov_genesis) {
        if (neurons == 0 || optind != argc)
            return usage();
        gov_genesis(neurons, per);
        return 0;
    }
    if (!crypto_init()) {
        fprintf(stderr, "govbench: cannot initialise libsodium\n");
        return 1;
    }
    user_t *users = calloc(users_n, sizeof *users);
    if (!users)
        return 1;
    for (unsigned i = 0; i < users_n; i++)
        user_init(&users[i], "govbench", i);
    if (print_genesis) {
        printf("{\"initial_balances\": [");
        for (unsigned i = 0; i < users_n; i++)
            printf("%s{\"account\": \"%s\", \"amount_e8s\": \"%llu\"}", i ? ", " : "",
                   users[i].account, USER_E8S);
        printf("], \"fee_e8s\": \"10000\", \"token_symbol\": \"ICP\", "
               "\"token_name\": \"Internet Computer\"}\n");
        free(users);
        return 0;
    }
    if (!ledger || !gov || neurons == 0 || optind != argc)
        return usage();
    if (strncmp(ledger, "http://127.0.0.1:", 17) != 0 ||
        strncmp(gov, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "govbench: loopback targets only\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int rc = 1;
    uint64_t nreq = claims > reads ? claims : reads;
    nreq = nreq > lists ? nreq : lists;
    req_t *reqs = calloc(nreq ? nreq : 1, sizeof *reqs);
    uint64_t ok_claims = 0, ok_reads = 0, ok_lists = 0, counted = 0, wrong = 0;
    if (!reqs)
        goto out;

    /* 1. the users' transfers to their staking accounts, before the window */
    uint64_t base = bench_ledger_now(ledger);
    if (base < 1000000000ULL * 60) {
        fprintf(stderr, "govbench: no clock from %s\n", ledger);
        goto out;
    }
    base -= 1000000000ULL * 60;
    uint64_t t0 = mono_ns();
    for (uint64_t k = 0; k < claims; k++) {
        char to[ACCOUNT_HEX_LEN + 1];
        staking_account(&users[k % users_n], 1 + k / users_n, to);
        if (!bench_post(&reqs[k], &users[k % users_n], "/v1/transfers",
                        bench_transfer_body(to, ICP, 1 + k / users_n, base + k)))
            goto out;
    }
    if (!run_all(ledger, reqs, claims, conns))
        goto out;
    for (uint64_t k = 0; k < claims; k++) {
        if (reqs[k].status != 200) {
            fprintf(stderr, "govbench: transfer %" PRIu64 ": %ld %s\n", k, reqs[k].status,
                    reqs[k].answer ? reqs[k].answer : "");
            goto out;
        }
        req_free(&reqs[k]);
    }
    printf("govbench: %" PRIu64 " transfers of 1 ICP to staking accounts in %.1f s (before the "
           "window)\n",
           claims, (double)(mono_ns() - t0) / 1e9);

    /* 2. the claims, signed before the window */
    for (uint64_t k = 0; k < claims; k++) {
        char *body = NULL;
        if (asprintf(&body, "{\"memo\":\"%" PRIu64 "\"}", 1 + k / users_n) < 0 ||
            !bench_post(&reqs[k], &users[k % users_n], "/v1/neurons", body))
            goto out;
    }
    for (size_t i = 0; i < ncpu; i++)
        cpus[i].before = bench_cpu_ticks(&cpus[i]);
    if (!window("claims", gov, reqs, claims, conns, &ok_claims))
        goto out;
    for (size_t i = 0; i < ncpu; i++)
        cpus[i].after = bench_cpu_ticks(&cpus[i]);
    long hz = sysconf(_SC_CLK_TCK);
    for (size_t i = 0; i < ncpu; i++) {
        double cpu_s = (double)(cpus[i].after - cpus[i].before) / (double)hz;
        printf("govbench: CPU %-10s %.2f s in the claims window, %.0f us per claim\n", cpus[i].name,
               cpu_s, ok_claims ? cpu_s * 1e6 / (double)ok_claims : 0.0);
    }
    for (uint64_t k = 0; k < claims; k++)
        req_free(&reqs[k]);
    json_t *g = get_json(gov, "/v1/governance");
    json_t *count = json_object_get(json_object_get(g, "metrics"), "neurons");
    counted = json_is_integer(count) ? (uint64_t)json_integer_value(count) : 0;
    if (json_is_string(count) && !parse_u64(json_string_value(count), &counted))
        counted = 0;
    json_decref(g);
    printf("govbench: governance counts %" PRIu64 " neurons (%" PRIu64 " genesis + %" PRIu64
           " claimed)\n",
           counted, neurons, ok_claims);

    /* 3. reads of random genesis neurons */
    for (uint64_t k = 0; k < reads; k++) {
        reqs[k].method = "GET";
        reqs[k].body = strdup("");
        snprintf(reqs[k].target, sizeof reqs[k].target, "/v1/neurons/%" PRIu64,
                 GENESIS_ID0 +
                     randombytes_uniform((uint32_t)(neurons > UINT32_MAX ? UINT32_MAX : neurons)));
        if (!reqs[k].body)
            goto out;
    }
    if (!window("reads", gov, reqs, reads, conns, &ok_reads))
        goto out;
    for (uint64_t k = 0; k < reads; k++) {
        json_t *j = reqs[k].status == 200 ? json_loads(reqs[k].answer, 0, NULL) : NULL;
        const char *id = json_string_value(json_object_get(j, "id"));
        if (reqs[k].status == 200 && (!id || strcmp(id, reqs[k].target + strlen("/v1/neurons/"))))
            wrong++;
        json_decref(j);
        req_free(&reqs[k]);
    }

    /* 4. lists by controller */
    uint64_t ncontrollers = (neurons + per - 1) / per;
    for (uint64_t k = 0; k < lists; k++) {
        char controller[PRINCIPAL_TEXT_MAX];
        controller_text(randombytes_uniform((uint32_t)ncontrollers), controller);
        reqs[k].method = "GET";
        reqs[k].body = strdup("");
        snprintf(reqs[k].target, sizeof reqs[k].target, "/v1/neurons?controller=%s&limit=100",
                 controller);
        if (!reqs[k].body)
            goto out;
    }
    if (!window("lists", gov, reqs, lists, conns, &ok_lists))
        goto out;
    for (uint64_t k = 0; k < lists; k++) {
        json_t *j = reqs[k].status == 200 ? json_loads(reqs[k].answer, 0, NULL) : NULL;
        size_t got = json_array_size(json_object_get(j, "neurons"));
        /* the last controller may hold fewer */
        if (reqs[k].status == 200 && (got == 0 || got > per))
            wrong++;
        json_decref(j);
        req_free(&reqs[k]);
    }
    printf("govbench: %" PRIu64 " answers with the wrong neuron or count\n", wrong);
    rc = ok_claims == claims && ok_reads == reads && ok_lists == lists && wrong == 0 &&
                 counted == neurons + claims
             ? 0
             : 1;
out:
    for (uint64_t k = 0; reqs && k < nreq; k++)
        req_free(&reqs[k]);
    free(reqs);
    for (unsigned i = 0; i < users_n; i++)
        sodium_memzero(&users[i].id, sizeof users[i].id);
    free(users);
    curl_global_cleanup();
    return rc;
}
