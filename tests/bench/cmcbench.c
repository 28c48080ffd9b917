/*
 * cmcbench: top-up notifications per second end to end, against a running nns-ledger and
 * nns-cmc (tests/bench/cmc.sh starts them). Issue 11, "Speed".
 *
 *   cmcbench --print-genesis [--users U]       the ledger genesis funding the bench's users
 *   cmcbench --ledger URL --cmc URL [--users U] [--notifies N] [--connections K]
 *            [--amount E8S] [--canisters C] [--cpu NAME=PID | NAME=PID+]...
 *
 * User i is identity_from_seed(SHA-256("cmcbench-<i>")). Before the timed window: C canisters
 * are created (a CREA transfer and its notify each), then N TPUP transfers of --amount e8s are
 * made (transfer k: user k % U to the deposit account of canister k % C), and N notify-top-up
 * requests are signed (notify k by user k % U, for transfer k's block). The timed window sends
 * those N notifies over K keep-alive connections (closed loop: one request outstanding per
 * connection) and ends with the last answer; each notify is the cmc's whole flow: the block
 * read from the ledger, the burn through the ledger, the commit. The rate is the successful
 * notifies divided by the window.
 *
 * --cpu NAME=PID samples the user+system CPU time of PID (NAME=PID+: PID and its children, for
 * the PostgreSQL postmaster and its backends) from /proc before and after the window, and the
 * report gives each one's CPU per notification. Afterwards the ledger's chain must have grown by
 * one burn per successful notify, and the report says so. Loopback targets only.
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

#define CREA 0x41455243ULL
#define TPUP 0x50555054ULL
#define USER_E8S 100000000000000ULL /* 1,000,000 ICP each */
#define MAX_CPU 8
#define MAX_CANISTERS 64

/* The deposit account of purpose for who, into out; false on failure. */
static bool deposit_account(const char *cmc, const char *purpose, const char *who, char out[65])
{
    char target[160];
    snprintf(target, sizeof target, "/v1/cycles/deposit-account?purpose=%s&principal=%s", purpose,
             who);
    json_t *o = get_json(cmc, target);
    const char *a = json_string_value(json_object_get(o, "account_identifier"));
    bool ok = a && strlen(a) == 64;
    if (ok)
        memcpy(out, a, 65);
    json_decref(o);
    return ok;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: cmcbench --print-genesis [--users U]\n"
            "       cmcbench --ledger URL --cmc URL [--users U] [--notifies N] [--connections K]\n"
            "                [--amount E8S] [--canisters C] [--cpu NAME=PID[+]]...\n"
            "top-up notifications per second end to end (tests/bench/cmc.sh)\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *ledger = NULL, *cmc = NULL;
    unsigned users_n = 16, conns = 64, canisters_n = 8;
    uint64_t notifies = 20000, amount = 100000;
    bool print_genesis = false;
    cpu_t cpus[MAX_CPU];
    size_t ncpu = 0;
    enum { O_GENESIS = 1, O_LEDGER, O_CMC, O_USERS, O_NOTIFIES, O_CONNS, O_AMOUNT, O_CANS, O_CPU };
    static const struct option opts[] = {
        {"print-genesis", no_argument, NULL, O_GENESIS},
        {"ledger", required_argument, NULL, O_LEDGER},
        {"cmc", required_argument, NULL, O_CMC},
        {"users", required_argument, NULL, O_USERS},
        {"notifies", required_argument, NULL, O_NOTIFIES},
        {"connections", required_argument, NULL, O_CONNS},
        {"amount", required_argument, NULL, O_AMOUNT},
        {"canisters", required_argument, NULL, O_CANS},
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
        case O_LEDGER:
            ledger = optarg;
            break;
        case O_CMC:
            cmc = optarg;
            break;
        case O_USERS:
        case O_CONNS:
        case O_CANS:
            if (!parse_u64(optarg, &v) || v == 0 || v > 4096)
                return usage();
            if (o == O_USERS)
                users_n = (unsigned)v;
            else if (o == O_CONNS)
                conns = (unsigned)v;
            else
                canisters_n = (unsigned)v;
            break;
        case O_NOTIFIES:
        case O_AMOUNT:
            if (!parse_u64(optarg, &v) || v == 0)
                return usage();
            *(o == O_NOTIFIES ? &notifies : &amount) = v;
            break;
        case O_CPU:
            if (!bench_cpu_arg(optarg, cpus, MAX_CPU, &ncpu))
                return usage();
            break;
        default:
            return usage();
        }
    }
    if (canisters_n > MAX_CANISTERS)
        return usage();
    if (!crypto_init()) {
        fprintf(stderr, "cmcbench: cannot initialise libsodium\n");
        return 1;
    }
    user_t *users = calloc(users_n, sizeof *users);
    if (!users)
        return 1;
    for (unsigned i = 0; i < users_n; i++)
        user_init(&users[i], "cmcbench", i);
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
    if (!ledger || !cmc || optind != argc)
        return usage();
    if (strncmp(ledger, "http://127.0.0.1:", 17) != 0 ||
        strncmp(cmc, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "cmcbench: loopback targets only\n");
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int rc = 1;
    req_t *reqs = calloc(notifies, sizeof *reqs);
    char(*cans)[PRINCIPAL_TEXT_MAX] = calloc(canisters_n, sizeof *cans);
    char(*deps)[65] = calloc(canisters_n, sizeof *deps);
    double *lat = calloc(notifies, sizeof *lat);
    uint64_t *blocks = calloc(notifies, sizeof *blocks); /* the block of each transfer */
    if (!reqs || !cans || !deps || !lat || !blocks)
        goto out;

    /* every transfer's created_at_time: distinct, and a little behind the ledger's clock */
    uint64_t base = bench_ledger_now(ledger);
    if (base < 1000000000ULL * 60) {
        fprintf(stderr, "cmcbench: no clock from %s\n", ledger);
        goto out;
    }
    base -= 1000000000ULL * 60;
    /* 1. canisters: a CREA transfer and its notify each */
    for (unsigned c = 0; c < canisters_n; c++) {
        const user_t *u = &users[c % users_n];
        char dep[65];
        req_t t, nt;
        if (!deposit_account(cmc, "create", u->principal, dep)) {
            fprintf(stderr, "cmcbench: no deposit account from %s\n", cmc);
            goto out;
        }
        if (!bench_post(&t, u, "/v1/transfers",
                        bench_transfer_body(dep, 100000000ULL, CREA, base + c)) ||
            !run_one(ledger, &t)) {
            fprintf(stderr, "cmcbench: CREA transfer: %ld %s\n", t.status,
                    t.answer ? t.answer : "");
            req_free(&t);
            goto out;
        }
        json_t *tj = json_loads(t.answer, 0, NULL);
        uint64_t b = 0;
        bool got = json_u64_member(tj, "block_index", &b);
        json_decref(tj);
        req_free(&t);
        char *body = NULL;
        if (!got || asprintf(&body, "{\"block_index\":\"%" PRIu64 "\",\"controller\":\"%s\"}", b,
                             u->principal) < 0)
            goto out;
        if (!bench_post(&nt, u, "/v1/cycles/notify-create-canister", body) || !run_one(cmc, &nt)) {
            fprintf(stderr, "cmcbench: notify-create-canister: %ld %s\n", nt.status,
                    nt.answer ? nt.answer : "");
            req_free(&nt);
            goto out;
        }
        json_t *cj = json_loads(nt.answer, 0, NULL);
        const char *id = json_string_value(json_object_get(cj, "canister_id"));
        snprintf(cans[c], PRINCIPAL_TEXT_MAX, "%s", id ? id : "");
        json_decref(cj);
        req_free(&nt);
        if (!cans[c][0] || !deposit_account(cmc, "top-up", cans[c], deps[c]))
            goto out;
    }

    /* 2. the users' ICP transfers, before the window */
    uint64_t t0 = mono_ns();
    for (uint64_t k = 0; k < notifies; k++)
        if (!bench_post(
                &reqs[k], &users[k % users_n], "/v1/transfers",
                bench_transfer_body(deps[k % canisters_n], amount, TPUP, base + MAX_CANISTERS + k)))
            goto out;
    if (!run_all(ledger, reqs, notifies, conns))
        goto out;
    for (uint64_t k = 0; k < notifies; k++) {
        json_t *j = reqs[k].answer ? json_loads(reqs[k].answer, 0, NULL) : NULL;
        bool got = reqs[k].status == 200 && json_u64_member(j, "block_index", &blocks[k]);
        json_decref(j);
        if (!got) {
            fprintf(stderr, "cmcbench: transfer %" PRIu64 ": %ld %s\n", k, reqs[k].status,
                    reqs[k].answer ? reqs[k].answer : "");
            goto out;
        }
        req_free(&reqs[k]);
    }
    printf("cmcbench: %" PRIu64 " TPUP transfers of %" PRIu64 " e8s to %u canisters in %.1f s "
           "(before the window)\n",
           notifies, amount, canisters_n, (double)(mono_ns() - t0) / 1e9);

    /* 3. the notifies, signed before the window */
    for (uint64_t k = 0; k < notifies; k++) {
        char *body = NULL;
        if (asprintf(&body, "{\"block_index\":\"%" PRIu64 "\",\"canister_id\":\"%s\"}", blocks[k],
                     cans[k % canisters_n]) < 0 ||
            !bench_post(&reqs[k], &users[k % users_n], "/v1/cycles/notify-top-up", body))
            goto out;
    }
    uint64_t len0 = bench_ledger_chain_length(ledger);

    /* 4. the window */
    for (size_t i = 0; i < ncpu; i++)
        cpus[i].before = bench_cpu_ticks(&cpus[i]);
    uint64_t w0 = mono_ns();
    if (!run_all(cmc, reqs, notifies, conns))
        goto out;
    double secs = (double)(mono_ns() - w0) / 1e9;
    for (size_t i = 0; i < ncpu; i++)
        cpus[i].after = bench_cpu_ticks(&cpus[i]);

    uint64_t ok = 0, nlat = 0;
    unsigned shown = 0;
    for (uint64_t k = 0; k < notifies; k++) {
        if (reqs[k].status == 200) {
            ok++;
            lat[nlat++] = reqs[k].seconds;
        } else if (shown++ < 5) {
            fprintf(stderr, "cmcbench: notify %" PRIu64 ": %ld %.300s\n", k, reqs[k].status,
                    reqs[k].answer ? reqs[k].answer : "");
        }
    }
    qsort(lat, nlat, sizeof *lat, bench_cmp_double);
    uint64_t len1 = bench_ledger_chain_length(ledger);
    printf("cmcbench: %" PRIu64 " top-up notifies over %u connections in %.2f s: %.0f/s "
           "(%" PRIu64 " ok, %" PRIu64 " failed)\n",
           notifies, conns, secs, (double)ok / secs, ok, notifies - ok);
    if (nlat)
        printf("cmcbench: latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", lat[nlat / 2] * 1e3,
               lat[nlat * 99 / 100] * 1e3, lat[nlat - 1] * 1e3);
    long hz = sysconf(_SC_CLK_TCK);
    for (size_t i = 0; i < ncpu; i++) {
        double cpu_s = (double)(cpus[i].after - cpus[i].before) / (double)hz;
        printf("cmcbench: CPU %-10s %.2f s in the window, %.0f us per notification\n", cpus[i].name,
               cpu_s, ok ? cpu_s * 1e6 / (double)ok : 0.0);
    }
    printf("cmcbench: the ledger grew by %" PRIu64 " blocks for %" PRIu64 " successful notifies "
           "(one burn each)\n",
           len1 - len0, ok);
    rc = ok == notifies && len1 - len0 == ok ? 0 : 1;
out:
    for (uint64_t k = 0; reqs && k < notifies; k++)
        req_free(&reqs[k]);
    free(reqs);
    free(cans);
    free(deps);
    free(lat);
    free(blocks);
    for (unsigned i = 0; i < users_n; i++)
        sodium_memzero(&users[i].id, sizeof users[i].id);
    free(users);
    curl_global_cleanup();
    return rc;
}
